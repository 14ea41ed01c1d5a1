/**
 * Keyword prefilter: per language, the tokens without which an analyser cannot produce
 * anything, so a file that holds none of them skips that analyser. The contract that keeps
 * results IDENTICAL with and without the prefilter (`--no-prefilter`,
 * `HAZARD_LENS_NO_PREFILTER=1`; a test compares both on the fixture corpus):
 *
 *   an analyser may be listed for a language only if, on every file whose text contains
 *   none of its tokens (plain substrings, case-sensitive), it returns nothing.
 *
 * Tokens are matched as substrings of the whole text (comments and strings included), which
 * only ever makes the filter run an analyser more often, never less.
 *
 * FOR RULE AUTHORS: a rule that is NOT listed in {@link RULE_KEYWORDS} always runs its
 * `checkFile` (conservative default), so a new rule is correct without touching this file.
 * To let files skip it, add `'<rule-id>': { <language>: [tokens...] }` below; prefer deriving
 * the tokens from the rule's knowledge table (as `unreleased-file` does) so the filter
 * follows the table. Program facts (`facts/index.ts`) are always extracted, so every file is
 * parsed: Python, C and TypeScript facts record every import, function and call for the call
 * graph, and a file without any keyword can still be a link in a chain. Skipping the parse of
 * such files would need a first pass over the files that hold evidence (README, Performance).
 *
 * Analysers also keep their own quick checks (`quickCheck` of `knowledge/knowledge.ts` in `analysis/python/handles.ts`,
 * `analysis/python/wsgi.ts`, the `.pipe` test in `analysis/typescript/pipes.ts`, the marker test in
 * `engine/suppressions.ts`); this table is the pipeline-level view of the same contract.
 */
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../knowledge/knowledge';
import { OUT_ARRAY_OPENERS, REFCOUNT_INCREF, REFCOUNT_NEW_REF } from '../knowledge/c-handles';
import { WSGI_KEYWORDS } from '../knowledge/python-wsgi';
import type { LanguageId } from '../text/locations';
import { escapeRegExp } from '../text/regexp';

export type KeywordTable = Partial<Record<LanguageId, readonly string[]>>;

/**
 * Per rule id and language: tokens one of which must occur for the rule's per-file check to
 * find anything, with the openers of `knowledge` (the user's models included). Rules (or
 * languages of a rule) not listed always run.
 */
export function ruleKeywords(knowledge: Knowledge): Readonly<Record<string, KeywordTable>> {
  let table = KEYWORDS.get(knowledge);
  if (!table) {
    table = {
      // Every leak starts at a call of an opener from the knowledge tables, named in the text
      // (aliases such as `from os import fdopen as fo` still name it in the import). In C, a
      // reference taken for a struct field (`Py_INCREF`) is one too (`analysis/c/owned-fields.ts`).
      'unreleased-file': {
        c: [...knowledge.c.openers.keys(), ...OUT_ARRAY_OPENERS.keys(), ...REFCOUNT_INCREF, ...REFCOUNT_NEW_REF],
        python: knowledge.python.openerWords,
        typescript: [...knowledge.typescript.openerNames],
      },
      // One token of each shape's conjunction (`WSGI_SHAPE_TOKENS` in `knowledge/python-wsgi.ts`):
      // the file-wrapper key, an environ name or `yield` (a generator needs `close` as well).
      'wsgi-response-not-closed': { python: WSGI_KEYWORDS },
    };
    KEYWORDS.set(knowledge, table);
  }
  return table;
}

const KEYWORDS = new WeakMap<Knowledge, Readonly<Record<string, KeywordTable>>>();

/** {@link ruleKeywords} of the built-in knowledge. */
export const RULE_KEYWORDS: Readonly<Record<string, KeywordTable>> = ruleKeywords(BUILTIN_KNOWLEDGE);

/** Suppression comments all contain this (see `engine/suppressions.ts`, `MARKER`). */
export const SUPPRESSION_TOKEN = 'hazard-lens:';

/** True when the prefilter is switched off for the whole process (benchmarks, tests). */
export function prefilterDisabledByEnv(): boolean {
  const v = process.env.HAZARD_LENS_NO_PREFILTER;
  return v !== undefined && v !== '' && v !== '0';
}

/** Per token list: one pattern for all its tokens (null for none), so a text is read once, not once per token. */
const TOKEN_PATTERNS = new WeakMap<readonly string[], RegExp | null>();

function anyToken(text: string, tokens: readonly string[]): boolean {
  let pattern = TOKEN_PATTERNS.get(tokens);
  if (pattern === undefined) {
    pattern = tokens.length > 0 ? new RegExp(tokens.map(escapeRegExp).join('|')) : null;
    TOKEN_PATTERNS.set(tokens, pattern);
  }
  return pattern !== null && pattern.test(text);
}

/** Whether a rule's per-file check must run on this text (with `knowledge`'s openers). */
export function ruleMayApply(ruleId: string, language: LanguageId, text: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): boolean {
  const tokens = ruleKeywords(knowledge)[ruleId]?.[language];
  return tokens === undefined || anyToken(text, tokens);
}

/** Whether the text may hold a suppression comment. */
export function suppressionsMayApply(text: string): boolean {
  return text.includes(SUPPRESSION_TOKEN);
}
