/** C program facts (placeholder until the program-model work lands). */
import type { Range } from '../../engine/types';
import type { Tree } from '../../parsing/parser';

export interface CFact {
  kind: `c.${string}`;
  range: Range;
}

export function extractCFacts(_tree: Tree, _text: string, _path: string): CFact[] {
  return [];
}
