/**
 * Findings of an earlier version of a document carried over to its current text: the
 * positions (range, related locations and fix edits in the same file) after the edited
 * stretch move with the lines and columns the edit added or removed; a finding that points
 * into the edited stretch is dropped (its rule decides again). Used to publish an edited
 * file's own findings before the program evaluation, with the program findings it had.
 */
import type { Finding } from '../analysis/results';
import type { Position } from '../text/locations';

function positionAt(text: string, offset: number): Position {
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return { line, character: offset - (text.lastIndexOf('\n', offset - 1) + 1) };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

/** `findings` of `path` computed on `oldText`, moved to `newText`. */
export function moveFindings(findings: readonly Finding[], path: string, oldText: string, newText: string): Finding[] {
  if (oldText === newText || findings.length === 0) return [...findings];
  const min = Math.min(oldText.length, newText.length);
  let p = 0;
  while (p < min && oldText.charCodeAt(p) === newText.charCodeAt(p)) p++;
  let s = 0;
  while (s < min - p && oldText.charCodeAt(oldText.length - 1 - s) === newText.charCodeAt(newText.length - 1 - s)) s++;
  const from = positionAt(oldText, p);
  const oldEnd = positionAt(oldText, oldText.length - s);
  const newEnd = positionAt(newText, newText.length - s);
  const insertion = p === oldText.length - s;
  let dropped = false;
  const move = (q: Position): Position => {
    if (before(q, from)) return q;
    // Inside the edited stretch, or at the point of an insertion: what it pointed at changed.
    if (before(q, oldEnd) || (insertion && q.line === from.line && q.character === from.character)) {
      dropped = true;
      return q;
    }
    return { line: q.line + newEnd.line - oldEnd.line, character: q.line === oldEnd.line ? q.character + newEnd.character - oldEnd.character : q.character };
  };
  const out: Finding[] = [];
  for (const f of findings) {
    dropped = false;
    const range = { start: move(f.range.start), end: move(f.range.end) };
    const related = f.related.map((r) => (r.path === path ? { ...r, range: { start: move(r.range.start), end: move(r.range.end) } } : r));
    const fixes = f.fixes.map((x) => ({ ...x, edits: x.edits.map((e) => ({ ...e, range: { start: move(e.range.start), end: move(e.range.end) } })) }));
    if (!dropped) out.push({ ...f, range, related, fixes });
  }
  return out;
}
