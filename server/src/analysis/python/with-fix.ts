/**
 * The Python quick fix: rewrite
 *
 *     f = open(p)          # comment
 *     data = f.read()
 *     f.close()
 *
 * into
 *
 *     with open(p) as f:   # comment
 *         data = f.read()
 *
 * It is offered (as `safe`) only when the rewrite keeps behaviour apart from closing the handle
 * on every path: the open is a plain `name = opener(...)` statement alone on its line(s) in a
 * block; every later use of the name is in that block, at or before the last statement moved
 * into the `with`; nothing in the moved statements returns, stores or rebinds the handle (the
 * `with` would close a handle that was meant to outlive it); and the indentation can be
 * extended without mixing tabs and spaces. A trailing `f.close()` statement is dropped; other
 * `close()` calls stay (closing twice is harmless for the handle kinds offered this fix).
 *
 * NOTE: an open inside `try:` whose close is also in the `try` body is rewritten in place
 * (the `with` stays inside the `try`): the handlers then run after the handle is closed instead
 * of with it leaked, and nothing else changes. If a handler, `else` or `finally` touches the
 * name, that use lies outside the block and no fix is offered.
 *
 * NOTE: the moved statements may hold a `yield` or an `await`. That keeps behaviour: the block
 * ends where the dropped close() was (or after the last use), and closes that were not dropped
 * stay. So at every `yield` the file is open or closed as before. Only a generator closed early
 * (GeneratorExit) or a coroutine cancelled at an `await` now closes it at once, not at garbage
 * collection (test/engine/with-fix-generators.test.ts runs both versions).
 */
import type { Fix } from '../../text/edits';
import type { Node } from '../../parsing/parser';
import { statementsOf } from './cfg';
import type { Occurrence } from './effects';

export interface WithFixInput {
  text: string;
  lines: string[];
  /** The `expression_statement` holding `name = opener(...)`. */
  stmt: Node;
  call: Node;
  variable: string;
  /** Every identifier named `variable` in the scope, with its classification. */
  occurrences: { node: Node; role: Occurrence }[];
  /** The statement is inside a loop of its scope (then earlier assignments to the name matter). */
  inLoop: boolean;
}

export function withStatementFix(input: WithFixInput): Fix | null {
  const { stmt, call, variable, lines } = input;
  if (stmt.type !== 'expression_statement' || stmt.namedChildCount !== 1) return null;
  const assign = stmt.namedChild(0);
  if (!assign || assign.type !== 'assignment' || assign.childForFieldName('type')) return null;
  const left = assign.childForFieldName('left');
  const right = assign.childForFieldName('right');
  if (!left || left.type !== 'identifier' || left.text !== variable || !right || right.id !== call.id) return null;
  const parent = stmt.parent;
  if (!parent || (parent.type !== 'block' && parent.type !== 'module')) return null;
  const first = stmt.startPosition;
  if (call.startPosition.row !== first.row) return null;
  if (!/^[ \t]*$/.test(lines[first.row].slice(0, first.column))) return null;
  if (!isTrailingComment(lines[stmt.endPosition.row].slice(stmt.endPosition.column))) return null;

  const siblings = statementsOf(parent);
  const index = siblings.findIndex((s) => s.id === stmt.id);
  if (index < 0) return null;
  let lastUse = index;
  for (let j = index + 1; j < siblings.length; j++) {
    const s = siblings[j];
    if (input.occurrences.some((o) => o.node.startIndex >= s.startIndex && o.node.endIndex <= s.endIndex)) lastUse = j;
  }
  const regionEnd = siblings[lastUse].endIndex;
  for (const o of input.occurrences) {
    if (o.node.id === left.id || o.role === 'skip') continue;
    const inside = o.node.startIndex >= stmt.startIndex && o.node.endIndex <= regionEnd;
    if (!inside) {
      if (o.node.startIndex < stmt.startIndex && !input.inLoop && o.role === 'overwrite') continue;
      return null;
    }
    if (o.role === 'escape' || o.role === 'overwrite' || o.role === 'rebind') return null;
  }
  const next = siblings[lastUse + 1];
  if (next && next.startPosition.row <= siblings[lastUse].endPosition.row) return null;

  const closeStmt = lastUse > index && isCloseStatement(siblings[lastUse], variable) ? siblings[lastUse] : null;
  if (closeStmt) {
    const row = closeStmt.startPosition.row;
    if (!/^[ \t]*$/.test(lines[row].slice(0, closeStmt.startPosition.column))) return null;
    if (!isTrailingComment(lines[closeStmt.endPosition.row].slice(closeStmt.endPosition.column))) return null;
    if (siblings[lastUse - 1].endPosition.row >= row) return null;
  }
  const keptLastRow = closeStmt ? closeStmt.startPosition.row - 1 : siblings[lastUse].endPosition.row;
  const editLastRow = closeStmt ? closeStmt.endPosition.row : keptLastRow;
  const bodyIsEmpty = (closeStmt ? lastUse - 1 : lastUse) === index;

  const unit = indentUnit(input.text, lines, stmt);
  if (unit === null) return null;
  const base = leadingWhitespace(lines[first.row]);

  // Rows that begin inside a multi-line string keep their text exactly.
  const frozen = new Set<number>();
  for (let j = index; j <= lastUse; j++) {
    for (const s of siblings[j].descendantsOfType('string')) {
      if (!s) continue;
      for (let r = s.startPosition.row + 1; r <= s.endPosition.row; r++) frozen.add(r);
    }
  }

  const rows: string[] = [];
  for (let r = first.row; r <= keptLastRow; r++) rows.push(stripCR(lines[r]));
  // 1. ` as f:` after the call (original columns), 2. `f = ` → `with `, 3. indent the rest.
  const callEnd = call.endPosition;
  const endRowIdx = callEnd.row - first.row;
  rows[endRowIdx] = `${rows[endRowIdx].slice(0, callEnd.column)} as ${variable}:${rows[endRowIdx].slice(callEnd.column)}`;
  rows[0] = `${rows[0].slice(0, first.column)}with ${rows[0].slice(call.startPosition.column)}`;
  for (let k = 1; k < rows.length; k++) {
    const r = first.row + k;
    if (frozen.has(r) || rows[k].trim() === '') continue;
    const ws = leadingWhitespace(rows[k]);
    if (ws.length > 0 && [...ws].some((ch) => ch !== unit[0])) return null;
    rows[k] = unit + rows[k];
  }
  if (bodyIsEmpty) rows.push(`${base}${unit}pass`);

  const editEndColumn = stripCR(lines[editLastRow]).length;
  const eol = lines[first.row].endsWith('\r') ? '\r\n' : '\n';
  const newText = rows.join(eol).slice(first.column);
  const callText = call.text.length <= 40 && !call.text.includes('\n') ? call.text : `${call.childForFieldName('function')?.text ?? 'open'}(...)`;
  return {
    title: `Use 'with ${callText} as ${variable}:' so the handle is closed on every path`,
    applicability: 'safe',
    edits: [
      {
        range: { start: { line: first.row, character: first.column }, end: { line: editLastRow, character: editEndColumn } },
        newText,
      },
    ],
  };
}

function isTrailingComment(rest: string): boolean {
  return /^[ \t]*(#.*)?\r?$/.test(rest);
}

function isCloseStatement(s: Node, variable: string): boolean {
  if (s.type !== 'expression_statement') return false;
  return new RegExp(`^${variable}\\s*\\.\\s*close\\s*\\(\\s*\\)$`).test(s.text);
}

function stripCR(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function leadingWhitespace(line: string): string {
  const m = /^[ \t]*/.exec(line);
  return m ? m[0] : '';
}

/**
 * One level of indentation as this file writes it: the difference between the statement's
 * indentation and its block header's, or (at module level) the first indented line's.
 */
function indentUnit(text: string, lines: string[], stmt: Node): string | null {
  const base = leadingWhitespace(lines[stmt.startPosition.row]);
  const block = stmt.parent;
  if (block && block.type === 'block' && block.parent) {
    const headerIndent = leadingWhitespace(lines[block.parent.startPosition.row]);
    if (base.startsWith(headerIndent) && base.length > headerIndent.length) {
      const unit = base.slice(headerIndent.length);
      return /^( +|\t+)$/.test(unit) ? unit : null;
    }
    return null;
  }
  const m = /^\S.*:[ \t]*(?:#.*)?\r?\n(?:[ \t]*(?:#.*)?\r?\n)*([ \t]+)\S/m.exec(text);
  const unit = m ? m[1] : '    ';
  return /^( +|\t+)$/.test(unit) ? unit : '    ';
}
