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
import { extractProgramFacts, extractProgramFactsReusing, type FactReuse } from '../facts/index';
import { summarizeHandles } from '../analysis/summarize';
import { analyzePythonHandlesReusing, type HandleReuse } from '../analysis/python/handles-incremental';
import type { FileHandleSummary } from '../analysis/summaries';
import type { ProgramFact } from '../facts/types';
import { RULES } from '../rules/index';
import type { FileContext } from '../rules/rule';
import { prefilterDisabledByEnv, ruleMayApply, suppressionsMayApply } from './prefilter';
import { collectSuppressions } from './suppressions';
import { nestingOf, nestingReason, type Nesting } from './nesting';
import { describeFailure, PARTLY_ANALYSED, takeAnalysisFailures } from '../analysis/failures';
import type { FileAnalysis, Finding } from '../analysis/results';
import type { LanguageId } from '../text/locations';
import { textForParsing } from '../text/positions';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../knowledge/knowledge';

/** Options of {@link analyzeTree} / {@link analyzeText}. */
export interface AnalyzeOptions {
  /**
   * Skip analysers whose keywords the text lacks (`engine/prefilter.ts`); the result is the
   * same either way. Default: on, unless `HAZARD_LENS_NO_PREFILTER` is set.
   */
  prefilter?: boolean;
  /** Set to true when the prefilter skipped a rule's check or the fact extraction (for `--stats`; the cheap suppression walk is not counted). */
  out?: { prefiltered: boolean; times?: AnalysisTimes };
  /** The tables the analysers read: the built-ins merged with the user's models (default: the built-ins). */
  knowledge?: Knowledge;
  /**
   * An open document's facts and handle analysis from its previous analysis (the editor): the
   * functions an edit did not touch keep their facts (`facts/python/incremental.ts`) and their
   * handle findings (`analysis/python/handles-incremental.ts`); updated in place.
   */
  factReuse?: EditorReuse;
}

/** What an open document keeps between two analyses (see {@link AnalyzeOptions.factReuse}). */
export interface EditorReuse extends FactReuse {
  handles?: HandleReuse;
}

/**
 * Milliseconds (wall, in the thread that did the work) each step of one file's analysis took,
 * filled in when the caller passes `out.times` (`--stats` phases; see `scan/file-task.ts`).
 */
export interface AnalysisTimes {
  parse: number;
  /** Every rule's per-file check. */
  rules: number;
  /** Program facts (`facts/`). */
  facts: number;
  /** Handle summaries (`analysis/summarize.ts`). */
  summaries: number;
  /** Suppression comments and syntax-error ranges. */
  suppressions: number;
}

/** An {@link AnalysisTimes} of nothing yet. */
export function noAnalysisTimes(): AnalysisTimes {
  return { parse: 0, rules: 0, facts: 0, summaries: 0, suppressions: 0 };
}

/** Bump when fact or finding shapes change, so persisted caches are not trusted across versions. */
export const ANALYZER_VERSION = '26';

/**
 * The key of a file's analysis: its text, the analyser version and, when the user declared
 * models, the knowledge's fingerprint (changing a model re-analyses every file; without models
 * the hash is the same as before models existed).
 */
export function contentHash(text: string | Uint8Array, knowledge?: Pick<Knowledge, 'fingerprint'>): string {
  const hash = createHash('sha256').update(ANALYZER_VERSION).update('\0');
  if (knowledge?.fingerprint) hash.update(`knowledge:${knowledge.fingerprint}`).update('\0');
  return hash.update(text).digest('hex');
}

/**
 * Analyses a file whose tree the caller already has (the language server keeps trees of
 * open documents for incremental parsing). The caller keeps ownership of the tree.
 */
export function analyzeTree(path: string, originalText: string, language: LanguageId, grammar: GrammarName, tree: Tree, options: AnalyzeOptions = {}): FileAnalysis {
  return analyzeTreeInParts(path, originalText, language, grammar, tree, options).complete();
}

/** An analysis made in two steps: {@link analyzeTreeInParts}. */
export interface AnalysisInParts {
  /**
   * What the file's own findings need: the per-file rules' findings, the suppressions and the
   * syntax errors, with no program facts or handle summary yet (and only the rules' notes).
   */
  local: FileAnalysis;
  /**
   * Extracts the program facts and the handle summary from the same tree, which must still be
   * alive, and returns the whole analysis: the one {@link analyzeTree} gives.
   */
  complete(): FileAnalysis;
}

/**
 * {@link analyzeTree} in two steps, so that the editor can publish a file's own findings before
 * the program facts, which only the evaluation of the workspace reads, are extracted.
 */
export function analyzeTreeInParts(path: string, originalText: string, language: LanguageId, grammar: GrammarName, tree: Tree, options: AnalyzeOptions = {}): AnalysisInParts {
  // The analysers count lines at `\n`, as the parser does; a lone `\r` (old Mac line ends) is
  // a line break for editors, so it is one for them too; NULs are blanks, as for the parser.
  // Same length: offsets do not move.
  const text = textForParsing(originalText);
  takeAnalysisFailures(); // left over from an analysis that threw past its caller
  const notes: string[] = [];
  const localFindings: Finding[] = [];
  const knowledge = options.knowledge ?? BUILTIN_KNOWLEDGE;
  const ctx: FileContext = { path, language, grammar, text, tree, knowledge };
  const filter = options.prefilter ?? !prefilterDisabledByEnv();
  const skipped = () => {
    if (options.out) options.out.prefiltered = true;
  };
  const times = options.out?.times;
  let t = times ? performance.now() : 0;
  /** Adds the time since the last lap to `phase` (only when timing). */
  const lap = (phase: keyof AnalysisTimes) => {
    if (!times) return;
    const now = performance.now();
    times[phase] += now - t;
    t = now;
  };
  // The editor: the handle analysis from the previous version's, remembered for this tree, so
  // `unreleased-file` and the handle summary below read it instead of analysing the whole file.
  if (options.factReuse && language === 'python') analyzePythonHandlesReusing(tree, text, knowledge.python, (options.factReuse.handles ??= {}));
  for (const rule of RULES) {
    if (!rule.checkFile || !rule.meta.languages.includes(language)) continue;
    if (filter && !ruleMayApply(rule.meta.id, language, text, knowledge)) {
      skipped();
      continue;
    }
    try {
      for (const raw of rule.checkFile(ctx)) {
        localFindings.push({ ...raw, severity: raw.severity ?? rule.meta.defaultSeverity });
      }
    } catch (err) {
      // A defect in one rule must not hide the others' findings or stop a scan.
      notes.push(`${PARTLY_ANALYSED}rule ${rule.meta.id} failed on this file (${describeFailure(err)})`);
    }
  }
  lap('rules');
  // What the analyses of the rules could not do, kept until the analysis is complete (another
  // file may be analysed between the two steps).
  const ruleFailures = takeAnalysisFailures();
  // The walk over every comment costs about as much as parsing; most files hold no marker.
  const suppressions = !filter || suppressionsMayApply(text) ? collectSuppressions(tree, text) : [];
  const syntaxErrors = syntaxErrorRanges(tree);
  lap('suppressions');
  const local: FileAnalysis = { path, language, contentHash: contentHash(originalText, knowledge), facts: [], syntaxErrors, suppressions, localFindings, notes: [...notes] };
  const complete = (): FileAnalysis => {
    if (times) t = performance.now();
    takeAnalysisFailures(); // left over from another file's analysis in between
    let facts: ProgramFact[] = [];
    try {
      facts = options.factReuse ? extractProgramFactsReusing(language, tree, text, path, knowledge, options.factReuse) : extractProgramFacts(language, tree, text, path, knowledge);
    } catch (err) {
      if (options.factReuse) options.factReuse.state = undefined;
      notes.push(`${PARTLY_ANALYSED}program facts could not be extracted (${describeFailure(err)})`);
    }
    lap('facts');
    let handleSummary: FileHandleSummary | undefined;
    try {
      handleSummary = summarizeHandles(language, tree, text, path, knowledge);
    } catch (err) {
      notes.push(`${PARTLY_ANALYSED}handle summaries could not be computed (${describeFailure(err)})`);
    }
    lap('summaries');
    for (const failure of new Set([...ruleFailures, ...takeAnalysisFailures()])) notes.push(`${PARTLY_ANALYSED}${failure}; findings in this file may be missing`);
    return {
      path,
      language,
      contentHash: local.contentHash,
      facts,
      ...(handleSummary ? { handleSummary } : {}),
      syntaxErrors,
      suppressions,
      localFindings,
      notes,
    };
  };
  return { local, complete };
}

/**
 * The not-analysed result of a file nested beyond what the analyses (and the Python grammar)
 * handle, or undefined: checked before parsing, by every caller that parses. `nesting`: the
 * text's, when the caller has measured it (the editor keeps it per document).
 */
export function refusedForNesting(path: string, language: LanguageId, text: string, options: AnalyzeOptions = {}, nesting: Nesting = nestingOf(text, language)): FileAnalysis | undefined {
  const tooDeep = nestingReason(nesting, language);
  return tooDeep ? notAnalysed(path, language, text, options, tooDeep) : undefined;
}

/** The empty analysis of a file that could not be analysed, saying why. */
function notAnalysed(path: string, language: LanguageId, text: string, options: AnalyzeOptions, reason: string): FileAnalysis {
  return { path, language, contentHash: contentHash(text, options.knowledge), syntaxErrors: [], suppressions: [], localFindings: [], facts: [], notes: [], notAnalysed: reason };
}

/** Parses and analyses; the grammar must be loaded (see {@link ensureGrammarFor}). */
export function analyzeText(path: string, text: string, parseBudget?: number, options: AnalyzeOptions = {}): FileAnalysis | undefined {
  const lang = languageForPath(path, text);
  if (!lang) return undefined;
  const refused = refusedForNesting(path, lang.language, text, options);
  if (refused) return refused;
  let tree: Tree;
  const times = options.out?.times;
  const t = times ? performance.now() : 0;
  try {
    tree = parseSync(text, lang.grammar, null, parseBudget);
    if (times) times.parse += performance.now() - t;
  } catch (err) {
    return notAnalysed(path, lang.language, text, options, err instanceof Error ? err.message : String(err));
  }
  try {
    return analyzeTree(path, text, lang.language, lang.grammar, tree, options);
  } finally {
    tree.delete();
  }
}

/** Loads the grammar a path (with its text, for a `#!` script) needs; returns false for unsupported files. */
export async function ensureGrammarFor(path: string, text?: string): Promise<boolean> {
  const lang = languageForPath(path, text);
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

  /** The analyses held for a path (any content). */
  forPath(path: string): FileAnalysis[] {
    const out: FileAnalysis[] = [];
    for (const a of this.map.values()) if (a.path === path) out.push(a);
    return out;
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
