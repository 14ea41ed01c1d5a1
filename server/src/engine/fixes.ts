/**
 * Applying fixes: text edits, and "fix all" to a fixpoint (ruff `fix.rs`): apply the chosen
 * fix of every finding whose edits do not overlap, re-analyse, repeat. The parser may fail to
 * read parts of valid code (macros, `#if` inside statements): those regions are left alone
 * (a fix that touches one is not applied), and a round that makes the parser fail somewhere
 * it read before is rolled back, so a fix never produces code that no longer parses.
 */
import { analyzeText } from './analyze';
import type { HazardLensConfig } from './config';
import { DEFAULT_CONFIG } from './config';
import { evaluate } from './engine';
import type { Finding } from '../analysis/results';
import type { Fix, TextEdit } from '../text/edits';
import type { Position, Range } from '../text/locations';
import { lineStartsOf } from '../text/positions';


export function offsetAt(starts: number[], text: string, pos: Position): number {
  if (pos.line >= starts.length) return text.length;
  const lineStart = starts[pos.line];
  const lineEnd = pos.line + 1 < starts.length ? starts[pos.line + 1] : text.length;
  return Math.min(lineStart + pos.character, lineEnd);
}

/** Applies non-overlapping edits; throws on overlap (a defect in the fix that produced them). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const starts = lineStartsOf(text);
  const resolved = edits
    .map((e) => ({ start: offsetAt(starts, text, e.range.start), end: offsetAt(starts, text, e.range.end), text: e.newText }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < resolved.length; i++) {
    if (resolved[i].start < resolved[i - 1].end) throw new Error('overlapping edits');
  }
  let out = '';
  let cursor = 0;
  for (const r of resolved) {
    out += text.slice(cursor, r.start) + r.text;
    cursor = r.end;
  }
  return out + text.slice(cursor);
}

/** The fix "fix all" applies for a finding: the first safe one, or with `includeUnsafe` the first applicable one. */
export function chooseFix(finding: Finding, includeUnsafe: boolean): Fix | undefined {
  return (
    finding.fixes.find((f) => f.applicability === 'safe') ??
    (includeUnsafe ? finding.fixes.find((f) => f.applicability === 'unsafe') : undefined)
  );
}

export interface FixAllResult {
  text: string;
  /** Number of fixes applied over all rounds. */
  applied: number;
  rounds: number;
  /** False when the rounds ran out while fixes were still being produced. */
  converged: boolean;
  /** Why nothing (more) was done, when a round was refused. */
  refused?: string;
  /** Fixes left alone because their edits touch a region the parser could not read (one line each). */
  untouched?: string[];
}

/** Zero-based inclusive line spans of the parser's error regions. */
function errorLines(ranges: readonly Range[]): [number, number][] {
  return ranges.map((r) => [r.start.line, Math.max(r.start.line, r.end.character === 0 && r.end.line > r.start.line ? r.end.line - 1 : r.end.line)]);
}

/** "lines 4–9" (one-based), or "line 4". */
export function describeLines(span: readonly [number, number]): string {
  return span[0] === span[1] ? `line ${span[0] + 1}` : `lines ${span[0] + 1}–${span[1] + 1}`;
}

function linesOf(edits: readonly TextEdit[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of edits) {
    lo = Math.min(lo, e.range.start.line);
    hi = Math.max(hi, e.range.end.line);
  }
  return [lo, hi];
}

const meets = (a: readonly [number, number], b: readonly [number, number]) => a[0] <= b[1] && b[0] <= a[1];

/**
 * The error regions of the text after `edits` that the parser did not already fail on before
 * them: each region before is carried to the new text (shifted by the lines the edits added or
 * removed above it, grown by those inside it); a region after that meets none of them is new.
 */
export function introducedErrors(before: readonly Range[], after: readonly Range[], edits: readonly TextEdit[]): [number, number][] {
  const delta = (e: TextEdit) => e.newText.split('\n').length - 1 - (e.range.end.line - e.range.start.line);
  const carried = errorLines(before).map(([lo, hi]): [number, number] => {
    let start = lo;
    let end = hi;
    for (const e of edits) {
      const d = delta(e);
      if (e.range.end.line < lo) {
        start += d;
        end += d;
      } else if (e.range.start.line <= hi) end += Math.max(0, d);
    }
    return [start, end];
  });
  return errorLines(after).filter((span) => !carried.some((c) => meets(c, span)));
}

function spanOf(fix: Fix, starts: number[], text: string): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of fix.edits) {
    lo = Math.min(lo, offsetAt(starts, text, e.range.start));
    hi = Math.max(hi, offsetAt(starts, text, e.range.end));
  }
  return [lo, hi];
}

/**
 * Applies fixes of one file to a fixpoint. The grammar for `path` must be loaded.
 * The rules are evaluated over this file alone; `programFindings` are this file's findings of
 * the whole program's evaluation (cross-file findings this file alone does not give), computed
 * against `text`: their fixes join the first round.
 */
export function fixAll(
  path: string,
  text: string,
  options: {
    includeUnsafe?: boolean;
    maxRounds?: number;
    config?: HazardLensConfig;
    ruleIds?: ReadonlySet<string>;
    programFindings?: readonly Finding[];
  } = {},
): FixAllResult {
  const { includeUnsafe = false, maxRounds = 10, config = DEFAULT_CONFIG } = options;
  let current = text;
  let applied = 0;
  const first = analyzeText(path, current, undefined, { knowledge: config.knowledge });
  if (!first) return { text, applied: 0, rounds: 0, converged: true, refused: 'unsupported file type' };
  if (first.notAnalysed !== undefined) return { text, applied: 0, rounds: 0, converged: true, refused: `the file could not be parsed: ${first.notAnalysed}` };
  const untouched = new Set<string>();
  const result = (r: Omit<FixAllResult, 'untouched'>): FixAllResult => (untouched.size > 0 ? { ...r, untouched: [...untouched] } : r);
  let analysis = first;
  for (let round = 1; round <= maxRounds; round++) {
    const own = evaluate([analysis], config).findings;
    const findings = (round === 1 && options.programFindings ? [...own, ...options.programFindings] : own).filter(
      (f) => !options.ruleIds || options.ruleIds.has(f.ruleId),
    );
    const starts = lineStartsOf(current);
    const unreadable = errorLines(analysis.syntaxErrors);
    const chosen: { fix: Fix; span: [number, number] }[] = [];
    const seen = new Set<string>();
    for (const f of findings) {
      const fix = chooseFix(f, includeUnsafe);
      if (!fix || fix.edits.length === 0) continue;
      // The same finding from this file's evaluation and the program's: one fix.
      const key = JSON.stringify(fix.edits);
      if (seen.has(key)) continue;
      seen.add(key);
      // Where the parser could not read the code, the tree (and so the fix) is a guess.
      const blocked = unreadable.find((u) => meets(u, linesOf(fix.edits)));
      if (blocked) {
        untouched.add(`${f.ruleId} at line ${f.range.start.line + 1}: the parser could not read ${describeLines(blocked)}`);
        continue;
      }
      const span = spanOf(fix, starts, current);
      // Fixes whose edits touch overlap are left for the next round, against the new text.
      if (chosen.some((c) => span[0] < c.span[1] && c.span[0] < span[1])) continue;
      chosen.push({ fix, span });
    }
    if (chosen.length === 0) return result({ text: current, applied, rounds: round - 1, converged: true });
    let next: string;
    try {
      next = applyEdits(
        current,
        chosen.flatMap((c) => c.fix.edits),
      );
    } catch {
      return result({ text: current, applied, rounds: round, converged: false, refused: 'a fix produced overlapping edits' });
    }
    const nextAnalysis = analyzeText(path, next, undefined, { knowledge: config.knowledge });
    const edits = chosen.flatMap((c) => c.fix.edits);
    const introduced = nextAnalysis && nextAnalysis.notAnalysed === undefined ? introducedErrors(analysis.syntaxErrors, nextAnalysis.syntaxErrors, edits) : [[0, 0] as [number, number]];
    if (!nextAnalysis || introduced.length > 0) {
      const where = nextAnalysis && introduced.length > 0 ? ` (the parser could not read ${describeLines(introduced[0])} of the result)` : '';
      return result({ text: current, applied, rounds: round, converged: false, refused: `a fix would have produced code that does not parse${where}; it was not applied` });
    }
    applied += chosen.length;
    current = next;
    analysis = nextAnalysis;
  }
  return result({ text: current, applied, rounds: maxRounds, converged: false });
}
