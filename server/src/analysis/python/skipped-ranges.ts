/**
 * Parts of a file an incremental analysis leaves out because it takes their results from the
 * previous version of the file (`handles-incremental.ts`).
 */

/**
 * Offsets `[start, end)` of definitions whose findings and summary entries an incremental
 * analysis takes from the previous version (`handles-incremental.ts`): what lies in them is
 * not reported; sorted, not overlapping.
 */
export type SkippedRanges = readonly (readonly [number, number])[];

/** Whether `index` lies in one of the ranges. */
export function inSkipped(skip: SkippedRanges | undefined, index: number): boolean {
  if (!skip || skip.length === 0) return false;
  let lo = 0;
  let hi = skip.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = skip[mid];
    if (index < a) hi = mid - 1;
    else if (index >= b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The stretches of a text of `length` outside the ranges, in order (the whole text without any). */
export function outside(skip: SkippedRanges | undefined, length: number): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  for (const [a, b] of skip ?? []) {
    if (a > from) out.push([from, a]);
    from = Math.max(from, b);
  }
  if (from < length || out.length === 0) out.push([from, length]);
  return out;
}

/**
 * The matches of a global pattern over the text outside the ranges, indices counted in the
 * whole text: each stretch is searched on its own. The same matches, outside the ranges, as a
 * search of the whole text for a pattern with no anchors that a stretch's ends could change
 * and no match that reaches across a range's start (a definition's keyword or decorator) or
 * across its end from inside it (after its last token).
 */
export function* matchesOutside(text: string, pattern: RegExp, skip: SkippedRanges | undefined): Generator<RegExpExecArray> {
  for (const [from, to] of outside(skip, text.length)) {
    const part = from === 0 && to === text.length ? text : text.slice(from, to);
    pattern.lastIndex = 0;
    for (let m = pattern.exec(part); m !== null; m = pattern.exec(part)) {
      if (m[0].length === 0) pattern.lastIndex++;
      m.index += from;
      yield m;
    }
  }
}
