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
