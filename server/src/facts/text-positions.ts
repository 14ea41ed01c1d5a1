/**
 * Text pre-checks shared by the fact extractors: where a word occurs in a file, and whether
 * it occurs inside a node's range. Offsets are UTF-16 code units, the unit of tree-sitter's
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
