/** Dispatches program-fact extraction to the language front end. */
import type { LanguageId } from '../text/locations';
import type { Tree } from '../parsing/parser';
import { extractCFacts } from './c/program-facts';
import { extractPythonFacts } from './python/program-facts';
import { extractPythonFactsIncrementally, type PythonFactState } from './python/incremental';
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

/**
 * What an editor keeps per open document between two fact extractions: the last extraction's
 * state (in), replaced by this one's (out), and how many definitions kept their facts.
 * Only Python reuses facts so far; other languages are extracted whole.
 */
export interface FactReuse {
  state?: PythonFactState;
  /** Definitions (functions, methods) whose facts the last extraction took from the one before. */
  reused?: number;
}

/** {@link extractProgramFacts}, reusing what `reuse.state` allows; the result is the same. */
export function extractProgramFactsReusing(language: LanguageId, tree: Tree, text: string, path: string, knowledge: Knowledge, reuse: FactReuse): ProgramFact[] {
  if (language !== 'python') {
    reuse.state = undefined;
    reuse.reused = 0;
    return extractProgramFacts(language, tree, text, path, knowledge);
  }
  const r = extractPythonFactsIncrementally(tree, text, path, knowledge, reuse.state);
  reuse.state = r.state;
  reuse.reused = r.reused;
  return r.facts;
}
