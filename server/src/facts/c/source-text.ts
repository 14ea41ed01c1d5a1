/**
 * Text-level facts about one C source file, answered without touching the tree: whether a
 * range may hold a call, an assignment or an inode-field access (so the walk can skip it),
 * whether a word occurs in a range, and how a statement sits on its lines (its indentation,
 * and whether it fills its lines alone so that deleting them removes just it).
 */
import { walkTree, type Node } from '../../parsing/parser';
import { anyIn, positionsOf, WordPositions } from '../../text/positions';
import type { Span } from './program-types';

/** A node's start and end as `[row, column, row, column]`. */
export function spanOf(node: Node): Span {
  return spanBetween(node, node);
}

/** From the start of `first` to the end of `last` (each position read once: `endPosition` asks the parser's wasm every time). */
export function spanBetween(first: Node, last: Node): Span {
  const start = first.startPosition;
  const end = last.endPosition;
  return [start.row, start.column, end.row, end.column];
}

/**
 * The function definitions under `root` (nested ones too, in tree order, as
 * `descendantsOfType` lists them) whose range passes a text test that holds for every range
 * around a passing one (`mayHold`, such as "mentions `close`"): one cursor walk that enters
 * only passing nodes, so the rest of the tree is neither visited nor turned into node objects.
 */
export function functionDefinitionsWhere(root: Node, mayHold: (start: number, end: number) => boolean): Node[] {
  const out: Node[] = [];
  walkTree(root, (cursor) => {
    const passes = mayHold(cursor.startIndex, cursor.endIndex);
    if (passes && cursor.nodeType === 'function_definition') out.push(cursor.currentNode);
    return passes;
  });
  return out;
}

export class SourceText {
  constructor(readonly text: string) {}

  /** Sorted offsets of every `(`, assignment `=` and `st_ino`/`st_dev` start (code-unit offsets, as node indices). */
  private effectPositions: number[] | null = null;

  /** Whether `start..end` may hold a call, an assignment or an `st_ino`/`st_dev` field (true when out of range). */
  mayHoldEffect(start: number, end: number): boolean {
    const text = this.text;
    if (start < 0 || end > text.length || end < start) return true;
    let positions = this.effectPositions;
    if (!positions) {
      // Found with `indexOf` (far quicker than a loop over every code unit), then merged.
      const assignments: number[] = [];
      for (let k = text.indexOf('='); k >= 0; k = text.indexOf('=', k + 1)) if (assignmentEquals(text, k)) assignments.push(k);
      const inodeFields: number[] = [];
      for (let k = text.indexOf('st_'); k >= 0; k = text.indexOf('st_', k + 1)) if (text.startsWith('st_ino', k) || text.startsWith('st_dev', k)) inodeFields.push(k);
      positions = mergeSorted(mergeSorted(positionsOf(text, '('), assignments), inodeFields);
      this.effectPositions = positions;
    }
    return anyIn(positions, start, end);
  }

  /**
   * Whether `start..end` may hold a name: a letter or `_` that no letter, digit, `_` or `.`
   * precedes (so number literals such as `0x1f`, `10UL`, `1.5e3f` hold none), outside
   * string and character literals and comments.
   */
  mayHoldName(start: number, end: number): boolean {
    const text = this.text;
    let previous = start > 0 ? text.charCodeAt(start - 1) : 32;
    for (let k = start; k < end; k++) {
      const ch = text.charCodeAt(k);
      if (isNameStart(ch) && !isNameStart(previous) && !isDigit(previous) && previous !== 46) return true;
      if (ch === 34 || ch === 39) {
        // A string or character literal: on to its closing quote, over escapes. One that does
        // not close on its line here is not a literal the parser read: say yes.
        let j = k + 1;
        for (let c = text.charCodeAt(j); j < end && c !== ch && c !== 10; c = text.charCodeAt(j)) j += c === 92 ? 2 : 1;
        if (j >= end || text.charCodeAt(j) !== ch) return true;
        k = j;
      } else if (ch === 47 && text.charCodeAt(k + 1) === 42) {
        const close = text.indexOf('*/', k + 2);
        if (close < 0 || close + 2 > end) return true;
        k = close + 1;
      } else if (ch === 47 && text.charCodeAt(k + 1) === 47) {
        const newline = text.indexOf('\n', k + 2);
        k = newline < 0 ? end : newline;
      }
      previous = text.charCodeAt(k);
    }
    return false;
  }

  /** Where words occur in the file, for text pre-checks of node ranges. */
  private words?: WordPositions;

  occursIn(word: string, start: number, end: number): boolean {
    this.words ??= new WordPositions(this.text);
    return this.words.occursIn(word, start, end);
  }

  /** Line and indentation of the statement that holds `node`, when that statement begins its line. */
  statementStart(node: Node): { line: number; indent: string } | null {
    let stmt: Node | null = node;
    while (stmt && !/(_statement|^declaration)$/.test(stmt.type)) stmt = stmt.parent;
    if (!stmt) return null;
    let a = stmt.startIndex;
    while (a > 0 && (this.text[a - 1] === ' ' || this.text[a - 1] === '\t')) a--;
    if (a > 0 && this.text[a - 1] !== '\n') return null;
    return { line: stmt.startPosition.row, indent: this.text.slice(a, stmt.startIndex) };
  }

  /** The whole lines of a statement when nothing else shares them, as a deletion span (`start`, `end`, `span`: the statement's, when the caller has them). */
  lineInfo(stmt: Node, start = stmt.startIndex, end = stmt.endIndex, span: Span = spanOf(stmt)): Span | null {
    let a = start;
    while (a > 0 && (this.text[a - 1] === ' ' || this.text[a - 1] === '\t')) a--;
    if (a > 0 && this.text[a - 1] !== '\n') return null;
    let b = end;
    while (b < this.text.length && (this.text[b] === ' ' || this.text[b] === '\t' || this.text[b] === '\r')) b++;
    if (b < this.text.length && this.text[b] !== '\n') return null;
    if (b >= this.text.length) return null;
    return [span[0], 0, span[2] + 1, 0];
  }
}

/** Whether an expression starting with this character may be a name, `&x`, `*p`, `(…)`. */
export function mayName(ch: number): boolean {
  return (ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || ch === 95 || ch === 36 || ch === 38 || ch === 42 || ch === 40 || ch >= 128 || ch === 92;
}

/** Whether the `=` at `k` may belong to an assignment operator (`=`, `+=`, `<<=`…), not a comparison. */
function assignmentEquals(text: string, k: number): boolean {
  const next = text.charCodeAt(k + 1);
  if (next === 61) return false; // `==`
  const prev = text.charCodeAt(k - 1);
  if (prev === 61 || prev === 33) return false; // `==`, `!=`
  // `<=` / `>=`, but `<<=` / `>>=` assign.
  if ((prev === 60 || prev === 62) && text.charCodeAt(k - 2) !== prev) return false;
  return true;
}

/** A letter or `_` (code unit). */
function isNameStart(ch: number): boolean {
  return (ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90) || ch === 95;
}

function isDigit(ch: number): boolean {
  return ch >= 48 && ch <= 57;
}

/** Two ascending lists of distinct offsets as one ascending list. */
function mergeSorted(a: number[], b: number[]): number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: number[] = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] < b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
