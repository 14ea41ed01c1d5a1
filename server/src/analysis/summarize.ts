/**
 * The per-file entry of the handle summaries (`summaries.ts`): asks the language's handle
 * analysis for what other files need to know about this one, in every language.
 */
import type { Tree } from '../parsing/parser';
import type { LanguageId } from '../text/locations';
import type { FileHandleSummary } from './summaries';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../knowledge/knowledge';
import { summarizeTypeScriptHandles } from './typescript/handles';
import { summarizePythonHandles } from './python/handles';
import { summarizeCHandles } from './c/handles';

/** The file's handle summary, or undefined when it holds nothing (most files). */
export function summarizeHandles(language: LanguageId, tree: Tree, text: string, path: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): FileHandleSummary | undefined {
  const s =
    language === 'c'
      ? summarizeCHandles(tree, text, knowledge.c)
      : language === 'python'
        ? summarizePythonHandles(tree, text, knowledge.python)
        : summarizeTypeScriptHandles(tree, text, path, knowledge);
  return s.returnedHandles.length > 0 || s.pendingLeaks.length > 0 || s.reexportsFs || s.parametersUsedOnly || s.parametersStored || s.parametersReturned || s.parametersReleased || s.parametersForwarded || s.releasedInFunction ? s : undefined;
}
