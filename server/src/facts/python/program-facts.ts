/** Python program facts (placeholder until the program-model work lands). */
import type { Range } from '../../engine/types';
import type { Tree } from '../../parsing/parser';

export interface PythonFact {
  kind: `py.${string}`;
  range: Range;
}

export function extractPythonFacts(_tree: Tree, _text: string, _path: string): PythonFact[] {
  return [];
}
