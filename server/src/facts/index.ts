/** Dispatches program-fact extraction to the language front end. */
import type { LanguageId } from '../text/locations';
import type { Tree } from '../parsing/parser';
import { extractCFacts } from './c/program-facts';
import { extractPythonFacts } from './python/program-facts';
import { extractTypeScriptFacts } from './typescript/program-facts';
import type { ProgramFact } from './types';

export function extractProgramFacts(language: LanguageId, tree: Tree, text: string, path: string): ProgramFact[] {
  switch (language) {
    case 'python':
      return extractPythonFacts(tree, text, path);
    case 'c':
      return extractCFacts(tree, text, path);
    case 'typescript':
      return extractTypeScriptFacts(tree, text, path);
  }
}
