/**
 * Path arithmetic the program models share: how near two directories are, which breaks ties
 * between candidates by the directory they share (C call resolution, WSGI configurations).
 */
import * as nodePath from 'node:path';

/** How many leading path segments `a` and `b` share. */
export function commonPrefixLength(a: string, b: string): number {
  const pa = a.split(nodePath.sep);
  const pb = b.split(nodePath.sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return i;
}
