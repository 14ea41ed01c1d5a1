/**
 * Per-file analysis: parse once, collect syntax errors and suppressions, run every rule's
 * per-file check. The result is plain data keyed by content hash, so it can be cached and
 * reused until the text changes. Nothing here throws on bad input: a parse time-out or a
 * failing rule becomes a note on the result.
 */
import { createHash } from 'node:crypto';
import {
  languageForPath,
  loadGrammar,
  parseSync,
  syntaxErrorRanges,
  type GrammarName,
  type Tree,
} from '../parsing/parser';
import { extractProgramFacts } from '../facts/index';
import type { ProgramFact } from '../facts/types';
import { RULES } from '../rules/index';
import type { FileContext } from './rule';
import { collectSuppressions } from './suppressions';
import type { FileAnalysis, Finding, LanguageId } from './types';

/** Bump when fact or finding shapes change, so persisted caches are not trusted across versions. */
export const ANALYZER_VERSION = '2';

export function contentHash(text: string): string {
  return createHash('sha256').update(ANALYZER_VERSION).update('\0').update(text).digest('hex');
}

/**
 * Analyses a file whose tree the caller already has (the language server keeps trees of
 * open documents for incremental parsing). The caller keeps ownership of the tree.
 */
export function analyzeTree(path: string, text: string, language: LanguageId, grammar: GrammarName, tree: Tree): FileAnalysis {
  const notes: string[] = [];
  const localFindings: Finding[] = [];
  const ctx: FileContext = { path, language, grammar, text, tree };
  for (const rule of RULES) {
    if (!rule.checkFile || !rule.meta.languages.includes(language)) continue;
    try {
      for (const raw of rule.checkFile(ctx)) {
        localFindings.push({ ...raw, severity: raw.severity ?? rule.meta.defaultSeverity });
      }
    } catch (err) {
      // A defect in one rule must not hide the others' findings or stop a scan.
      notes.push(`rule ${rule.meta.id} failed on this file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let facts: ProgramFact[] = [];
  try {
    facts = extractProgramFacts(language, tree, text, path);
  } catch (err) {
    notes.push(`program facts could not be extracted: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    path,
    language,
    contentHash: contentHash(text),
    facts,
    syntaxErrors: syntaxErrorRanges(tree),
    suppressions: collectSuppressions(tree, text),
    localFindings,
    notes,
  };
}

/** Parses and analyses; the grammar must be loaded (see {@link ensureGrammarFor}). */
export function analyzeText(path: string, text: string, timeoutMs?: number): FileAnalysis | undefined {
  const lang = languageForPath(path);
  if (!lang) return undefined;
  let tree: Tree;
  try {
    tree = parseSync(text, lang.grammar, null, timeoutMs);
  } catch (err) {
    return {
      path,
      language: lang.language,
      contentHash: contentHash(text),
      syntaxErrors: [],
      suppressions: [],
      localFindings: [],
      facts: [],
      notes: [`not analysed: ${err instanceof Error ? err.message : String(err)}`],
    };
  }
  try {
    return analyzeTree(path, text, lang.language, lang.grammar, tree);
  } finally {
    tree.delete();
  }
}

/** Loads the grammar a path needs; returns false for unsupported paths. */
export async function ensureGrammarFor(path: string): Promise<boolean> {
  const lang = languageForPath(path);
  if (!lang) return false;
  await loadGrammar(lang.grammar);
  return true;
}

/** Bounded in-memory cache of analyses keyed by path and content hash (least recently used out). */
export class AnalysisCache {
  private readonly map = new Map<string, FileAnalysis>();
  constructor(private readonly capacity = 5000) {}

  get(path: string, hash: string): FileAnalysis | undefined {
    const key = `${path}\0${hash}`;
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
    }
    return hit;
  }

  set(analysis: FileAnalysis): void {
    const key = `${analysis.path}\0${analysis.contentHash}`;
    this.map.delete(key);
    this.map.set(key, analysis);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }
}
