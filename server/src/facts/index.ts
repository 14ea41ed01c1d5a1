/** Dispatches program-fact extraction to the language front end. */
import type { LanguageId } from '../text/locations';
import type { Tree } from '../parsing/parser';
import { extractCFacts } from './c/program-facts';
import { extractPythonFacts } from './python/program-facts';
import { extractTypeScriptFacts } from './typescript/program-facts';
import type { ProgramFact } from './types';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../knowledge/knowledge';

/** `knowledge`: the built-in tables merged with the user's models (thread and fork starters, keep-alive calls). */
export function extractProgramFacts(language: LanguageId, tree: Tree, text: string, path: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): ProgramFact[] {
  switch (language) {
    case 'python':
      return extractPythonFacts(tree, text, path, { knowledge });
    case 'c':
      return extractCFacts(tree, text, path, knowledge);
    case 'typescript':
      return extractTypeScriptFacts(tree, text, path, knowledge);
  }
}
