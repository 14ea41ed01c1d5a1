/**
 * Applying fixes: text edits, and "fix all" to a fixpoint (ruff `fix.rs`): apply the chosen
 * fix of every finding whose edits do not overlap, re-analyse, repeat. A file with syntax
 * errors is refused, and a round whose result has more syntax errors than its input is
 * rolled back, so a fix never produces code that no longer parses.
 */
import { analyzeText } from './analyze';
import type { HazardLensConfig } from './config';
import { DEFAULT_CONFIG } from './config';
import { evaluate } from './engine';
import type { Finding } from '../analysis/results';
import type { Fix, TextEdit } from '../text/edits';
import type { Position } from '../text/locations';
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
  /** Why nothing was done, when refused. */
  refused?: string;
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
 * Only per-file findings are fixed here (program findings need the other files' facts).
 */
export function fixAll(
  path: string,
  text: string,
  options: { includeUnsafe?: boolean; maxRounds?: number; config?: HazardLensConfig; ruleIds?: ReadonlySet<string> } = {},
): FixAllResult {
  const { includeUnsafe = false, maxRounds = 10, config = DEFAULT_CONFIG } = options;
  let current = text;
  let applied = 0;
  const first = analyzeText(path, current, undefined, { knowledge: config.knowledge });
  if (!first) return { text, applied: 0, rounds: 0, converged: true, refused: 'unsupported file type' };
  if (first.syntaxErrors.length > 0) {
    return { text, applied: 0, rounds: 0, converged: true, refused: 'the file has syntax errors; fix them first' };
  }
  let analysis = first;
  for (let round = 1; round <= maxRounds; round++) {
    const findings = evaluate([analysis], config).findings.filter((f) => !options.ruleIds || options.ruleIds.has(f.ruleId));
    const starts = lineStartsOf(current);
    const chosen: { fix: Fix; span: [number, number] }[] = [];
    for (const f of findings) {
      const fix = chooseFix(f, includeUnsafe);
      if (!fix || fix.edits.length === 0) continue;
      const span = spanOf(fix, starts, current);
      // Fixes whose edits touch overlap are left for the next round, against the new text.
      if (chosen.some((c) => span[0] < c.span[1] && c.span[0] < span[1])) continue;
      chosen.push({ fix, span });
    }
    if (chosen.length === 0) return { text: current, applied, rounds: round - 1, converged: true };
    let next: string;
    try {
      next = applyEdits(
        current,
        chosen.flatMap((c) => c.fix.edits),
      );
    } catch {
      return { text: current, applied, rounds: round, converged: false, refused: 'a fix produced overlapping edits' };
    }
    const nextAnalysis = analyzeText(path, next, undefined, { knowledge: config.knowledge });
    if (!nextAnalysis || nextAnalysis.syntaxErrors.length > analysis.syntaxErrors.length) {
      return { text: current, applied, rounds: round, converged: false, refused: 'a fix would have produced code that does not parse; it was not applied' };
    }
    applied += chosen.length;
    current = next;
    analysis = nextAnalysis;
  }
  return { text: current, applied, rounds: maxRounds, converged: false };
}
