/**
 * Text pre-checks shared by the fact extractors: where a word occurs in a file, whether it
 * occurs inside a node's range, and the line and column of an offset. Offsets are UTF-16 code units, the unit of tree-sitter's
 * `startIndex`/`endIndex` in JavaScript, so a node's range can be tested without asking the
 * tree for its text (every node read crosses into WebAssembly).
 */

/** Sorted start offsets of every occurrence of `token` in `text`. */
export function positionsOf(text: string, token: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(token); i >= 0; i = text.indexOf(token, i + 1)) out.push(i);
  return out;
}

/** Whether one of the sorted positions lies in [start, end). */
export function anyIn(positions: readonly number[], start: number, end: number): boolean {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < positions.length && positions[lo] < end;
}

/** {@link positionsOf} computed once per word for one file, so repeated range checks stay linear. */
export class WordPositions {
  private readonly byWord = new Map<string, number[]>();

  constructor(private readonly text: string) {}

  /** Whether `word` occurs in [start, end). */
  occursIn(word: string, start: number, end: number): boolean {
    let list = this.byWord.get(word);
    if (!list) {
      list = positionsOf(this.text, word);
      this.byWord.set(word, list);
    }
    return anyIn(list, start, end);
  }
}

/**
 * Offsets of the first character of each line. A line ends at `\n`, `\r\n` or a lone `\r`, as
 * in the LSP (the parser is given lone `\r`s as `\n`, see `parsing/parser.ts`, so its rows agree).
 */
export function lineStartsOf(text: string): number[] {
  const out = [0];
  if (!text.includes('\r')) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
    return out;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) out.push(i + 1);
  }
  return out;
}

/** The text with every lone `\r` (not followed by `\n`) turned into `\n`: same length, same offsets. */
export function withLoneCarriageReturnsAsNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

/**
 * The text the parser and the analysers read: {@link withLoneCarriageReturnsAsNewlines}, and
 * every NUL turned into a space. Tree-sitter's lexers take a NUL for the end of the input, so
 * one NUL in a comment past the binary sniff (read.ts) cut the rest of a C file off as an error
 * and its leaks were lost; GCC ignores NULs ("null character(s) ignored"), and here they are
 * blanks. Same length, same offsets, so findings and fixes apply to the original text.
 */
export function textForParsing(text: string): string {
  const lines = withLoneCarriageReturnsAsNewlines(text);
  return lines.includes('\0') ? lines.replace(/\0/g, ' ') : lines;
}

/** Zero-based line and UTF-16 column of an offset, given the text's {@link lineStartsOf}. */
export function positionAt(lineStarts: readonly number[], offset: number): { line: number; character: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - lineStarts[lo] };
}
