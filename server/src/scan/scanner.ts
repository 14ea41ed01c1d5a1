/**
 * The workspace scanner. One scanner, many reporters: the CLI wraps it in a terminal
 * progress bar, the language server in `window/workDoneProgress`, the tests in a collecting
 * reporter. It never prints: everything worth telling goes through {@link ScanReporter}.
 *
 * Steps: discover files (`walk.ts`: ignore files, excludes, symbolic links), read each one
 * (`read.ts`: size limit, binary and encoding checks, Windows-1252/UTF-16 decoding), analyse it (`file-task.ts`: persistent
 * cache, keyword prefilter, `analyzeText`) in worker threads (`pool.ts`) or in the main
 * thread, optionally apply safe fixes and write the file back, then evaluate the
 * program-level rules, severities and suppressions over every analysis at once (`evaluate`).
 *
 * The main thread never holds a file's text (except to fix it): workers read, parse, analyse
 * and return plain-data analyses; at most a few requests per worker are in flight, so the
 * memory held is the analyses, not the queue. Results are kept in discovery order whatever
 * order the workers finish in, so a scan's output does not depend on `jobs`.
 *
 * With a cache folder (and without `fix`), the evaluation is cached too: the main thread first
 * reads and hashes every file (no analysis; only files that are not UTF-8 are decoded) and, when the evaluation of exactly
 * these contents, project files and settings is stored, reports it without reading a single
 * analysis (see `engine/cache.ts`). Otherwise the scan goes on as above and stores its
 * evaluation. Of each analysis only path, language and hash outlive the evaluation.
 *
 * A scan can also be split (`extractFacts` with `shard`): each shard analyses a deterministic
 * share of the files, and `evaluate` over the joined analyses gives what one scan gives.
 */
import { createHash } from 'node:crypto';
import { StringInterner } from './intern';
import { PackedRanges } from './packed-ranges';
import * as path from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import type { ConfigScope, HazardLensConfig } from '../engine/config';
import { analyzeText } from '../engine/analyze';
import { buildFingerprint, DiskCache, evaluationInputs, pruneCache, type CachedEvaluation } from '../engine/cache';
import { evaluate } from '../engine/engine';
import { ruleOffEverywhere } from '../engine/config';
import { RULES } from '../rules/index';
import { MapModelCache, type ModelCache, type ProgramContext } from '../model/program-context';
import { pythonModelOnce, type PythonModel } from '../model/python';
import { maxPrograms, replayClaims, type ReplayHelper } from '../model/python-replay-share';
import { chooseFix, fixAll } from '../engine/fixes';
import { prefilterDisabledByEnv } from '../engine/prefilter';
import type { ProjectFile } from '../model/program-context';
import type { FileAnalysis, Finding } from '../analysis/results';
import type { LanguageId } from '../text/locations';
import { languageForFile, loadAllGrammars, preferBaselineWasm } from '../parsing/parser';
import { analyseProbed, identifyFile, probeFileTask, rereadCacheIndexes, runFileTask, type FileOutcome, type FileTask, type FileTimes, type Probe } from './file-task';
import { deflateRawSync } from 'node:zlib';
import type { PackedAnalyses, ReplayCache } from './worker';
import { AnalysisPool, ANALYSIS_WORKER_LIMITS, defaultJobs, prepareOneShotScanWithWorkers, POOL_MIN_FILES, POOL_START_MISSES, workerScript } from './pool';
import { collectProjectFiles, readProjectFile, yielder } from './project-files';
import { readSourceFile, writeSourceFile, type SourceEncoding } from './read';
import { discoverFiles } from './walk';
import { combinedDependencies, type ProgramDependencies } from '../model/program-context';
import { environmentFingerprint, findPythonEnvironment, type PythonEnvironment } from './python-environment';
import { joinDependencies } from './python-dependencies';
import { findNodeModules, nodeModulesFingerprint, type NodeModulesLayout } from './node-modules';
import { joinNodeDependencies } from './node-dependencies';

export interface ScanReporter {
  /** Called once the file list is known. */
  onStart?(total: number): void;
  /** Called after each file was analysed (or skipped); `done` counts both. */
  onProgress?(done: number, total: number, path: string): void;
  /** A file that was not analysed, with a reason a person understands. */
  onSkip?(path: string, reason: string): void;
  /**
   * Something worth telling about a file that was analysed (a parse time-out, a failing rule).
   * `path` is the empty string for notes about the whole program (a program-level rule failed).
   */
  onNote?(path: string, note: string): void;
  /** With `fix`: fixes were applied to this file and it was written back. */
  onFixed?(path: string, applied: number): void;
  /** A file that is not UTF-8 was decoded (`read.ts`: Windows-1252, UTF-16) and analysed. */
  onDecoded?(path: string, encoding: SourceEncoding): void;
}

/** `--shard i/n`: this run analyses the files whose path hashes to share `index` of `count`. */
export interface Shard {
  /** Zero-based. */
  index: number;
  count: number;
}

export interface ScanOptions {
  /** Files or directories; directories are walked. Absolute, or relative to `cwd`. Empty: `cwd`. */
  paths: string[];
  cwd: string;
  config: HazardLensConfig;
  /** Honour `.gitignore` files (default true). */
  respectGitignore?: boolean;
  /** Extra exclude globs (gitignore syntax), e.g. VS Code's `files.exclude`. */
  extraExcludes?: string[];
  /** Cancels the scan between files. */
  signal?: AbortSignal;
  /** Text of files held in memory (open editor buffers) by absolute path; read from disk otherwise. */
  overlay?: ReadonlyMap<string, string>;
  /**
   * Directory the `exclude` / `extraExcludes` patterns are relative to (the config file's
   * directory, the workspace folder). Default: `cwd`.
   */
  excludeBase?: string;
  /**
   * Apply `.gitignore` and exclude patterns to paths named in `paths` too. Default false:
   * a file or directory named explicitly is analysed even when a pattern matches it.
   */
  forceExclude?: boolean;
  /** Follow symbolic links that lead out of the scanned folders (`--follow-external-symlinks`). */
  followExternalSymlinks?: boolean;
  /**
   * Apply safe fixes (to a fixpoint, per file) and write the files back before analysing
   * them; then the fixes of the program's findings (cross-file findings, each an edit in one
   * file), re-analysing and re-evaluating what changed. Files held in `overlay` are never
   * written. Default false.
   */
  fix?: boolean;
  /** With `fix`: unsafe fixes too (`--unsafe-fixes`). */
  unsafeFixes?: boolean;
  /** With `fix`: compute the fixed texts (in `ScanResult.fixedTexts`) but write nothing (`--diff`). */
  fixDryRun?: boolean;
  /** Parse budget per file, in tree-sitter progress checks (`parseBudgetFor` its length otherwise; tests set it). */
  parseBudget?: number;
  /**
   * Worker threads for per-file analysis: 0 analyses in the main thread; default one per
   * available CPU. Scans of fewer than {@link POOL_MIN_FILES} files run in the main thread.
   */
  jobs?: number;
  /** Scans of fewer files run in the main thread (default {@link POOL_MIN_FILES}; tests lower it). */
  minFilesForWorkers?: number;
  /** Persistent analysis cache folder (`engine/cache.ts`); none: no persistent cache. */
  cacheDir?: string;
  /**
   * The process exists for this one scan (the CLI): a scan that stays in the main thread
   * compiles the wasm parser with the baseline tier only (`preferBaselineWasm`), and one that
   * starts workers keeps the heaps from growing far past what is alive
   * (`prepareOneShotScanWithWorkers`). Never set in a long-lived process, whose later parses
   * would be slower for it and whose heap holds more between scans.
   */
  quickStart?: boolean;
  /** Keyword prefilter (`engine/prefilter.ts`); results are the same either way. Default on. */
  prefilter?: boolean;
  /** Analyse only this share of the files (see {@link extractFacts}). */
  shard?: Shard;
  /**
   * Share the Python model's program replays with a worker (`model/python-replay-share.ts`)
   * when the pool is running and the workspace has at least {@link HELPER_MIN_PYTHON_FILES}
   * Python files. Faster on two cores or more. The Python analyses are kept deflated while the
   * files are analysed (a tenth of their JSON text) and handed to a worker started once the
   * analysis workers have stopped; that worker then holds a second copy of the Python facts
   * (strings interned, ranges packed: `packed-ranges.ts`) and of the model's lookups, in a heap
   * capped in proportion to the facts, and the scan's peak moves to the end of the replays (on
   * the Python standard library ~75 MB more at the peak, see README). Results are the same either way. Default off
   * (that memory is more than the replays save on two cores); `HAZARD_LENS_SHARED_REPLAY=1`
   * turns it on.
   */
  shareReplays?: boolean;
  /** Fewer Python files than this keep the replays in the main thread (default {@link HELPER_MIN_PYTHON_FILES}; tests lower it). */
  minPythonFilesForSharedReplay?: number;
  /** The replaying worker's old-generation limit in MB (default: from the Python facts, see `replayWorkerLimits`; tests set one too small). */
  replayWorkerHeapMb?: number;
  /**
   * With `cacheDir`: also keep the evaluation (findings and notes) in the cache, keyed by
   * everything it reads, so that a scan of an unchanged workspace only reads and hashes the
   * files (default true; never with `fix` or `shard`).
   */
  evaluationCache?: boolean;
  /**
   * The Python environment to join (see `python-environment.ts`): a folder (absolute, or
   * relative to `cwd`), `none`, or empty to find one (`$VIRTUAL_ENV`, `.venv`, ...). Default:
   * the configuration's `pythonEnvironment`. A folder that is not an environment throws.
   */
  pythonEnvironment?: string;
  /**
   * Where bare imports of TypeScript/JavaScript files load from (see `node-modules.ts`): a
   * `node_modules` folder (absolute, or relative to `cwd`), `none`, or empty for Node's own
   * lookup. Default: the configuration's `nodeModules`. A value that is not a folder throws.
   */
  nodeModules?: string;
  /** Environment variables the environment is looked up in (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /**
   * The nested configuration files' scopes for the files found (`engine/config-files.ts`),
   * asked once after the walk; they join `config` as its `scopes`. May throw (a bad nested file).
   */
  configScopes?: (files: readonly string[]) => readonly ConfigScope[];
}

/** What `--stats` prints (one JSON line). */
export interface ScanStats {
  /** Files discovered (all shards). */
  files: number;
  /** Bytes of the files read for this run. */
  bytes: number;
  /** Files parsed and analysed (not taken from the cache). */
  analysed: number;
  /** Analyses read from the cache (none when the evaluation cache answered). */
  cacheHits: number;
  /** Cache entries found unusable (truncated, tampered, wrong shape): recomputed and overwritten. */
  cacheCorrupt: number;
  /**
   * The evaluation cache: `hit` (findings loaded; no analysis was read or made), `miss`,
   * `corrupt` (an unusable entry: evaluated again and overwritten) or `off`.
   */
  evaluationCache: 'hit' | 'miss' | 'corrupt' | 'off';
  /** Files on which the prefilter skipped at least one analyser. */
  prefiltered: number;
  /** Files read but not analysed: over the parse budget, or the parser crashed on them (also in `skipped`). */
  notAnalysed: number;
  skipped: number;
  /** Files analysed that are not UTF-8 (decoded as Windows-1252 or UTF-16). */
  decoded: number;
  /** Worker threads used (0: the main thread). */
  jobs: number;
  /** Files of this shard (equal to `files` without `--shard`). */
  shardFiles: number;
  /** Dependency files (of the Python environment and node_modules) joined to the program, and how many of them came from the cache. */
  dependencyFiles: number;
  dependencyCacheHits: number;
  ms: { discover: number; analyse: number; dependencies: number; evaluate: number; total: number };
  /**
   * Where the time went, in milliseconds summed over the threads that did each step (wall
   * time of each step in its thread, so on a busy machine it counts waiting for a core too):
   * `read` (read, decode, hash), `identify` (the evaluation cache's first look at every file),
   * `cacheRead`, `grammar`, `parse.<language>`, `rules.<language>` (per-file checks),
   * `facts.<language>`, `summaries.<language>`, `suppressions`, `serialize` (the analysis as
   * JSON text in the worker), `transfer` (that text parsed in the main thread), `cacheWrite`,
   * `model.python.<phase>` (the Python program model: index, protection, programs, replay,
   * reuse, and with helpers `helpers`, the wait for them), `programRules` (the program rules
   * and the rest of the evaluation), `evaluationCacheWrite`. Steps that did not run are absent.
   */
  phases: Record<string, number>;
  maxRssMb: number;
}

/** Counters of a run that has done nothing yet; callers fill in what they did. */
export function emptyScanStats(): ScanStats {
  return {
    files: 0,
    bytes: 0,
    analysed: 0,
    cacheHits: 0,
    cacheCorrupt: 0,
    evaluationCache: 'off',
    prefiltered: 0,
    notAnalysed: 0,
    skipped: 0,
    decoded: 0,
    jobs: 0,
    shardFiles: 0,
    dependencyFiles: 0,
    dependencyCacheHits: 0,
    ms: { discover: 0, analyse: 0, dependencies: 0, evaluate: 0, total: 0 },
    phases: {},
    maxRssMb: 0,
  };
}

/** A file that was analysed (or whose analysis the evaluation cache stands for). */
export interface AnalysedFile {
  /** Absolute. */
  path: string;
  language: LanguageId;
  contentHash: string;
}

export interface ScanResult {
  /**
   * Every analysed file, in discovery order. Only this much of each analysis is kept once the
   * rules are evaluated (the facts are what a scan's memory goes to).
   */
  analyses: AnalysedFile[];
  /** Findings after configuration and suppressions, sorted. Empty when cancelled. */
  findings: Finding[];
  /** Sorted by path. */
  skipped: { path: string; reason: string }[];
  /** Files analysed that are not UTF-8, with the encoding they were decoded from; sorted by path. */
  decoded?: { path: string; encoding: SourceEncoding }[];
  cancelled: boolean;
  /** With `fix`: files written back (or that would be, with `fixDryRun`) and how many fixes each received, sorted by path. */
  fixed?: { path: string; applied: number }[];
  /** With `fix`: each fixed file's text before and after, sorted by path. */
  fixedTexts?: FixedText[];
  /** Notes (rule failures, parse time-outs, refused fixes) as reported through `onNote`. */
  notes?: { path: string; note: string }[];
  stats?: ScanStats;
}

/** What {@link extractFacts} found: everything `evaluate` needs besides the configuration. */
export interface Extraction {
  analyses: FileAnalysis[];
  /** Every file discovered (all shards), sorted: the order analyses are evaluated in. */
  files: string[];
  /** Directories scanned that hold files (roots of the program model). */
  roots: string[];
  projectFiles: ProjectFile[];
  /** The installed packages the workspace reaches (none without a Python environment or node_modules). */
  dependencies?: ProgramDependencies;
  skipped: { path: string; reason: string }[];
  decoded: { path: string; encoding: SourceEncoding }[];
  notes: { path: string; note: string }[];
  fixed: { path: string; applied: number }[];
  /** With `fix`: the files fixed, by path. */
  fixedTexts?: Map<string, FixedText & { bom: boolean; encoding: SourceEncoding }>;
  cancelled: boolean;
  stats: ScanStats;
}

export interface FixedText {
  path: string;
  before: string;
  after: string;
}

function hasFix(analysis: FileAnalysis, config: HazardLensConfig, includeUnsafe: boolean): boolean {
  return evaluate([analysis], config).findings.some((f) => chooseFix(f, includeUnsafe)?.edits.length);
}

/** Adds `applied` fixes of `file` to the sorted list of fixed files. */
function countFixes(fixed: { path: string; applied: number }[], file: string, applied: number): void {
  const entry = fixed.find((f) => f.path === file);
  if (entry) entry.applied += applied;
  else fixed.push({ path: file, applied });
  fixed.sort(byPath);
}

const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** The shard a file belongs to: by a hash of its path relative to `cwd` (with `/`), so every shard agrees. */
export function shardOf(file: string, cwd: string, count: number): number {
  const rel = path.relative(cwd, file).split(path.sep).join('/');
  return createHash('sha256').update(rel).digest().readUInt32BE(0) % count;
}

/** Adds `ms` to the phase `name` of `stats` (rounded when printed: see {@link roundPhases}). */
export function addPhase(stats: ScanStats, name: string, ms: number): void {
  if (ms > 0) stats.phases[name] = (stats.phases[name] ?? 0) + ms;
}

/** Adds one file's step times to the phases (the analysis steps under its language). */
function addFileTimes(stats: ScanStats, language: LanguageId, times: FileTimes): void {
  for (const [step, ms] of Object.entries(times)) {
    const perLanguage = step === 'parse' || step === 'rules' || step === 'facts' || step === 'summaries';
    addPhase(stats, perLanguage ? `${step}.${language}` : step, ms);
  }
}

/** Whole milliseconds, phases in name order (printed and compared that way). */
function roundPhases(stats: ScanStats): void {
  const sorted: Record<string, number> = {};
  for (const name of Object.keys(stats.phases).sort()) sorted[name] = Math.round(stats.phases[name]);
  stats.phases = sorted;
}

function rssMb(): number {
  // resourceUsage().maxRSS is in kilobytes.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Scans files and directories and evaluates every rule over what it found. */
export async function scan(options: ScanOptions, reporter: ScanReporter = {}): Promise<ScanResult> {
  const started = performance.now();
  // NOTE: never with --fix: the files are rewritten while they are analysed, and the fixes
  // come from the analyses, which an evaluation cache hit would skip.
  const evaluationCache = options.cacheDir !== undefined && options.evaluationCache !== false && !options.fix && !options.shard;
  let scopes: readonly ConfigScope[] | undefined;
  const askScopes = options.configScopes;
  const withScopes: ScanOptions = askScopes ? { ...options, configScopes: (files) => (scopes = askScopes(files)) } : options;
  const extraction = await collect(withScopes, reporter, { forScan: true, evaluationCache });
  const config = scopes ? { ...options.config, scopes } : options.config;
  const note = (text: string) => {
    extraction.notes.push({ path: '', note: text });
    reporter.onNote?.('', text);
  };
  const result: ScanResult = {
    analyses: extraction.cached?.files ?? extraction.analyses.map(summary),
    findings: [],
    skipped: extraction.skipped,
    decoded: extraction.decoded,
    cancelled: extraction.cancelled,
    notes: extraction.notes,
    stats: extraction.stats,
  };
  if (extraction.cancelled) {
    if (options.fix) result.fixed = extraction.fixed;
    return result;
  }
  const t = performance.now();
  let evaluation: CachedEvaluation;
  if (extraction.cached) evaluation = extraction.cached.evaluation;
  else {
    // The Python model first (timed on its own, its replays shared with a worker when the
    // analyses were packed for one), then the rules, which find it in `models`.
    const models = new MapModelCache();
    await buildPythonModel(extraction, config, models, options.replayWorkerHeapMb);
    const tRules = performance.now();
    evaluation = evaluate(extraction.analyses, config, { roots: extraction.roots, projectFiles: extraction.projectFiles, dependencies: extraction.dependencies, cache: models });
    const tWrite = performance.now();
    addPhase(extraction.stats, 'programRules', tWrite - tRules);
    const slot = extraction.evaluationSlot;
    // Analyses with notes (a parse time-out, a failing rule) may come out differently next
    // time, and their notes must be told again: such an evaluation is not kept.
    // Nor is one that lacks a file the parser could not read: it is not the answer for that file.
    if (slot && extraction.stats.notAnalysed === 0 && extraction.analyses.every((a) => a.notes.length === 0)) {
      slot.cache.writeEvaluation(slot.slot, evaluationInputs(slot.slot, extraction.analyses, extraction.projectFiles), evaluation);
      addPhase(extraction.stats, 'evaluationCacheWrite', performance.now() - tWrite);
    }
  }
  if (options.fix) {
    evaluation = await fixProgramFindings(options, extraction, evaluation, reporter);
    result.analyses = extraction.analyses.map(summary);
    result.fixed = extraction.fixed;
    result.fixedTexts = [...(extraction.fixedTexts?.values() ?? [])].map(({ path: p, before, after }) => ({ path: p, before, after })).sort(byPath);
  }
  // The analyses are no longer needed (the report only counts them): let them go.
  extraction.analyses.length = 0;
  for (const n of evaluation.notes) note(n);
  result.findings = evaluation.findings;
  extraction.stats.ms.evaluate = Math.round(performance.now() - t);
  extraction.stats.ms.total = Math.round(performance.now() - started);
  extraction.stats.maxRssMb = rssMb();
  roundPhases(extraction.stats);
  return result;
}

const summary = (a: FileAnalysis): AnalysedFile => ({ path: a.path, language: a.language, contentHash: a.contentHash });

/** Rounds of program fixes: a fix can make another finding's fix applicable, rarely more. */
const PROGRAM_FIX_ROUNDS = 3;

/**
 * The second half of `fix`: the findings of the whole program's evaluation that still offer a
 * fix (cross-file findings a file alone does not give) are fixed file by file, each file is
 * re-analysed and the program evaluated again. Returns the evaluation of the fixed files.
 */
async function fixProgramFindings(options: ScanOptions, extraction: Extraction, evaluation: CachedEvaluation, reporter: ScanReporter): Promise<CachedEvaluation> {
  const config = options.config;
  const includeUnsafe = options.unsafeFixes === true;
  const prefilter = options.prefilter ?? !prefilterDisabledByEnv();
  const maxBytes = config.maxFileSizeKb * 1024;
  const texts = (extraction.fixedTexts ??= new Map());
  const told = new Set<string>();
  const note = (file: string, text: string) => {
    if (told.has(`${file}\0${text}`)) return;
    told.add(`${file}\0${text}`);
    extraction.notes.push({ path: file, note: text });
    reporter.onNote?.(file, text);
  };
  for (let round = 0; round < PROGRAM_FIX_ROUNDS; round++) {
    const byFile = new Map<string, Finding[]>();
    for (const f of evaluation.findings) {
      if (options.overlay?.has(f.path) || !chooseFix(f, includeUnsafe)?.edits.length) continue;
      byFile.set(f.path, [...(byFile.get(f.path) ?? []), f]);
    }
    let changed = false;
    for (const [file, findings] of byFile) {
      const index = extraction.analyses.findIndex((a) => a.path === file);
      if (index < 0) continue;
      await loadAllGrammars();
      let entry = texts.get(file);
      if (!entry) {
        const read = await readSourceFile(file, maxBytes);
        if (!read.ok) continue;
        entry = { path: file, before: read.text, after: read.text, bom: read.bom, encoding: read.encoding };
      }
      const result = fixAll(file, entry.after, { config, includeUnsafe, programFindings: findings });
      if (result.refused) note(file, `fixes not applied: ${result.refused}`);
      for (const u of result.untouched ?? []) note(file, `fix not applied: ${u}`);
      if (result.applied === 0 || result.text === entry.after) continue;
      if (!options.fixDryRun) {
        try {
          await writeSourceFile(file, result.text, entry.bom, entry.encoding);
        } catch (err) {
          note(file, `fixes not written: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
      }
      texts.set(file, { ...entry, after: result.text });
      countFixes(extraction.fixed, file, result.applied);
      reporter.onFixed?.(file, result.applied);
      const fresh = analyzeText(file, result.text, options.parseBudget, { prefilter, knowledge: config.knowledge });
      if (fresh) extraction.analyses[index] = { ...fresh, syntaxErrors: [] };
      changed = true;
    }
    if (!changed) break;
    evaluation = evaluate(extraction.analyses, config, { roots: extraction.roots, projectFiles: extraction.projectFiles, dependencies: extraction.dependencies });
  }
  return evaluation;
}

/**
 * What decides the findings besides the files and the project files: the settings that
 * matter to rules (not where or how the work is done) and the analysis options.
 */
function evaluationSettings(config: HazardLensConfig, prefilter: boolean, parseBudget: number | undefined, environment: PythonEnvironment | undefined, nodeModules: NodeModulesLayout | undefined): unknown {
  const { jobs: _jobs, cache: _cache, cacheDir: _cacheDir, run: _run, baseline: _baseline, ...rest } = config;
  return {
    config: rest,
    prefilter,
    parseBudget: parseBudget ?? null,
    environment: environment ? environmentFingerprint(environment) : null,
    ...(nodeModules ? { nodeModules: nodeModulesFingerprint(nodeModules) } : {}),
  };
}

interface Slot {
  analysis?: FileAnalysis;
  notes: string[];
  /** A Python analysis kept for the replaying worker (see `packForReplay`). */
  packed?: Uint8Array | { path: string; hash: string };
}

/**
 * Discovers the files and analyses them (this shard's share with `shard`), without
 * evaluating the rules: the first half of {@link scan}, and what `--facts-out` writes.
 */
export function extractFacts(options: ScanOptions, reporter: ScanReporter = {}): Promise<Extraction> {
  return collect(options, reporter, { forScan: false, evaluationCache: false });
}

/** {@link extractFacts}, and for {@link scan} the evaluation cache's answer. */
interface Collected extends Extraction {
  /** The evaluation cache had the answer: no analysis was read or made. */
  cached?: { evaluation: CachedEvaluation; files: AnalysedFile[] };
  /** Where this scan's evaluation is kept (on a miss). */
  evaluationSlot?: { cache: DiskCache; slot: string };
  /**
   * The Python analyses packed for a worker that replays a share of the Python programs
   * ({@link buildPythonModel}), when the scan shares them.
   */
  replayAnalyses?: PackedAnalyses;
}

async function collect(options: ScanOptions, reporter: ScanReporter, mode: { forScan: boolean; evaluationCache: boolean }): Promise<Collected> {
  const evaluationOnly = mode.forScan;
  const t0 = performance.now();
  const cwd = path.resolve(options.cwd);
  let config = options.config;
  const skipped: { path: string; reason: string }[] = [];
  const fixed: { path: string; applied: number }[] = [];
  const fixedTexts: NonNullable<Extraction['fixedTexts']> = new Map();
  const stats = emptyScanStats();
  const skip = (p: string, reason: string) => {
    skipped.push({ path: p, reason });
    reporter.onSkip?.(p, reason);
  };
  const decoded: { path: string; encoding: SourceEncoding }[] = [];
  const decodedFrom = (p: string, encoding: SourceEncoding) => {
    if (encoding === 'utf-8') return;
    decoded.push({ path: p, encoding });
    reporter.onDecoded?.(p, encoding);
  };
  const extraction = (cancelled: boolean, files: string[], slots: Slot[], roots: string[], projectFiles: ProjectFile[]): Extraction => {
    skipped.sort(byPath);
    decoded.sort(byPath);
    fixed.sort(byPath);
    const analyses: FileAnalysis[] = [];
    const notes: { path: string; note: string }[] = [];
    for (const s of slots) {
      if (!s.analysis) continue;
      analyses.push(s.analysis);
      for (const n of s.notes) notes.push({ path: s.analysis.path, note: n });
    }
    stats.skipped = skipped.length;
    stats.decoded = decoded.length;
    stats.ms.total = Math.round(performance.now() - t0);
    stats.maxRssMb = rssMb();
    roundPhases(stats);
    return { analyses, files, roots, projectFiles, skipped, decoded, notes, fixed, fixedTexts, cancelled, stats };
  };
  /**
   * Whether a worker replays a share of the Python programs (decided once the files are
   * known); the Python analyses are packed for it as the files finish (`packForReplay`).
   */
  let shareReplays = false;

  const roots = (options.paths.length > 0 ? options.paths : ['.']).map((p) => path.resolve(cwd, p));
  const walk = await discoverFiles({
    roots,
    cwd,
    respectGitignore: options.respectGitignore ?? true,
    excludes: [...config.exclude, ...(options.extraExcludes ?? [])],
    excludeBase: path.resolve(cwd, options.excludeBase ?? cwd),
    forceExclude: options.forceExclude ?? false,
    followExternalSymlinks: options.followExternalSymlinks ?? false,
    signal: options.signal,
  });
  if (options.configScopes) config = { ...config, scopes: options.configScopes(walk.files) };
  stats.ms.discover = Math.round(performance.now() - t0);
  stats.files = walk.files.length;
  // Shards join their facts later without an environment; a fix re-reads only workspace files.
  const lookup = options.shard ? {} : findPythonEnvironment(options.pythonEnvironment ?? config.pythonEnvironment, roots, options.env ?? process.env, cwd);
  if (lookup.error !== undefined) throw new Error(lookup.error);
  const environment = lookup.environment;
  const nodeLookup = options.shard ? {} : findNodeModules(options.nodeModules ?? config.nodeModules, roots, cwd);
  if (nodeLookup.error !== undefined) throw new Error(nodeLookup.error);
  const nodeModules = nodeLookup.layout;
  // In a sharded run, shard 0 reports the walk's own skips (they are the same in every shard).
  if (!options.shard || options.shard.index === 0) for (const s of walk.skipped) skip(s.path, s.reason);
  if (options.signal?.aborted) return extraction(true, walk.files, [], [], []);

  const shard = options.shard;
  const files = shard ? walk.files.filter((f) => shardOf(f, cwd, shard.count) === shard.index) : walk.files;
  stats.shardFiles = files.length;
  const total = files.length;
  reporter.onStart?.(total);
  const maxBytes = config.maxFileSizeKb * 1024;
  const prefilter = options.prefilter ?? !prefilterDisabledByEnv();
  const requested = options.jobs ?? defaultJobs();
  const canPool = requested > 0 && total >= (options.minFilesForWorkers ?? POOL_MIN_FILES);
  // A scan of many Python files shares the program replays with a worker: the JSON texts the
  // workers send are kept for it, deflated (see `buildPythonModel`).
  shareReplays = (options.shareReplays ?? sharedReplayEnabledByEnv()) && evaluationOnly && canPool && !options.fix && pythonModelUsed(config) && files.filter((f) => languageForFile(f)?.language === 'python').length >= (options.minPythonFilesForSharedReplay ?? HELPER_MIN_PYTHON_FILES);
  if (!canPool && options.quickStart) preferBaselineWasm();
  // A scan's evaluation reads the Python facts' ranges but never lists or copies them: they
  // are held packed (`packed-ranges.ts`; 44 MB of the 86 the stdlib's facts take otherwise),
  // each range made when read and not kept with its fact (the last few thousand are reused),
  // so that the replays' reads do not keep them either.
  const packFacts = evaluationOnly && !options.fix ? new PackedRanges({ keep: false }) : undefined;
  let pool: AnalysisPool | undefined;
  let poolTried = false;
  const startPool = (remaining: number) => {
    if (poolTried) return;
    poolTried = true;
    if (options.quickStart) prepareOneShotScanWithWorkers();
    const script = workerScript();
    if (script) pool = new AnalysisPool(Math.max(1, Math.min(requested, remaining)), script, ANALYSIS_WORKER_LIMITS, packFacts ? (json) => packFacts!.parseAnalysis(json) : undefined);
    stats.jobs = pool?.size ?? 0;
  };
  const inMain = (task: FileTask) => runFileTask(task);
  // Other processes may have added entries since this thread's last scan.
  if (options.cacheDir) rereadCacheIndexes();
  const tAnalyse = performance.now();
  const slots: Slot[] = files.map(() => ({ notes: [] }));
  const pause = yielder();
  let done = 0;

  const interner = new StringInterner();
  const finishFile = async (index: number, outcome: FileOutcome) => {
    const file = files[index];
    const slot = slots[index];
    if (outcome.kind === 'skip') {
      skip(file, outcome.reason);
    } else if (outcome.kind === 'analysis' && outcome.analysis.notAnalysed !== undefined) {
      // Parsed to nothing (over budget, the parser crashed): not analysed, and said so.
      stats.notAnalysed++;
      skip(file, `not analysed: ${outcome.analysis.notAnalysed}`);
    } else if (outcome.kind === 'analysis') {
      stats.bytes += outcome.bytes;
      decodedFrom(file, outcome.encoding);
      if (outcome.cache === 'hit') stats.cacheHits++;
      else stats.analysed++;
      if (outcome.corrupt) stats.cacheCorrupt++;
      if (outcome.prefiltered) stats.prefiltered++;
      if (outcome.times) addFileTimes(stats, outcome.analysis.language, outcome.times);
      const held = options.overlay?.has(file) === true;
      if (options.fix && !held && hasFix(outcome.analysis, config, options.unsafeFixes === true)) {
        const fixedOutcome = await fixFile(file, outcome.analysis, slot);
        if (fixedOutcome) outcome = { ...outcome, analysis: fixedOutcome };
      }
      let analysis = outcome.analysis;
      // Only fixes read syntax errors, and a fix re-analyses the file: a scan's evaluation
      // does not need them (glibc: 0.8 MB of ranges).
      if (evaluationOnly && analysis.syntaxErrors.length > 0) analysis = { ...analysis, syntaxErrors: [] };
      // One copy of each repeated string across the held analyses (scan/intern.ts).
      slot.analysis = interner.internStrings(analysis);
      if (shareReplays && isPythonSource(analysis)) packForReplay(slot, outcome.json);
      for (const n of outcome.analysis.notes) {
        slot.notes.push(n);
        reporter.onNote?.(file, n);
      }
    }
    reporter.onProgress?.(++done, total, file);
  };

  /** Applies safe fixes in the main thread (rare: only files with a safe fix get here). */
  const fixFile = async (file: string, analysis: FileAnalysis, slot: Slot): Promise<FileAnalysis | undefined> => {
    const note = (text: string) => {
      slot.notes.push(text);
      reporter.onNote?.(file, text);
    };
    await loadAllGrammars();
    const read = await readSourceFile(file, maxBytes);
    if (!read.ok) return undefined;
    const result = fixAll(file, read.text, { config, includeUnsafe: options.unsafeFixes === true });
    if (result.refused) note(`fixes not applied: ${result.refused}`);
    else if (!result.converged) note(`fixes did not settle after ${result.rounds} rounds; the file may need another --fix`);
    for (const u of result.untouched ?? []) note(`fix not applied: ${u}`);
    if (result.applied > 0 && result.text !== read.text) {
      try {
        if (!options.fixDryRun) await writeSourceFile(file, result.text, read.bom, read.encoding);
        fixedTexts.set(file, { path: file, before: read.text, after: result.text, bom: read.bom, encoding: read.encoding });
        fixed.push({ path: file, applied: result.applied });
        reporter.onFixed?.(file, result.applied);
        return analyzeText(file, result.text, options.parseBudget, { prefilter, knowledge: config.knowledge }) ?? analysis;
      } catch (err) {
        note(`fixes not written: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return undefined;
  };

  const fingerprint = options.cacheDir ? buildFingerprint() : undefined;
  const replayCache: ReplayCache | undefined = options.cacheDir ? { dir: options.cacheDir, fingerprint, prefilter } : undefined;
  /**
   * Keeps a finished Python analysis for the replaying worker: where it is in the cache (every
   * analysis without notes was just written or found there), else its JSON text, deflated
   * (the stdlib's 79 MB of Python analyses take 8 MB so; the worker inflates them).
   */
  function packForReplay(slot: Slot, json: string | undefined): void {
    const analysis = slot.analysis!;
    // A copy of the exact size: zlib's output buffer is larger (16 kB at least).
    slot.packed = replayCache && analysis.notes.length === 0 ? { path: analysis.path, hash: analysis.contentHash } : new Uint8Array(deflateRawSync(json ?? JSON.stringify(analysis), { level: 1 }));
  }
  const taskFor = (file: string): FileTask => ({
    path: file,
    maxBytes,
    text: options.overlay?.get(file),
    parseBudget: options.parseBudget,
    prefilter,
    cacheDir: options.cacheDir,
    fingerprint,
    knowledge: config.knowledge.user,
  });

  // The evaluation cache: the main thread reads and hashes every file (no decoding, no
  // analysis), and when the evaluation of exactly these contents is stored, that is the answer.
  let dirRoots: string[] | undefined;
  let projectFiles: ProjectFile[] | undefined;
  let evaluationSlot: Collected['evaluationSlot'];
  if (mode.evaluationCache && options.cacheDir) {
    const cache = new DiskCache(options.cacheDir, fingerprint);
    dirRoots = rootsWithFiles(roots, walk.files);
    projectFiles = await collectProjectFiles(dirRoots, walk.files, (f) => readProjectFile(f, maxBytes));
    const slot = cache.evaluationSlot({ roots: dirRoots, settings: evaluationSettings(config, prefilter, options.parseBudget, environment, nodeModules) });
    evaluationSlot = { cache, slot };
    const ids = [];
    for (const file of files) {
      if (options.signal?.aborted) return extraction(true, walk.files, [], [], []);
      const t = performance.now();
      ids.push(identifyFile(taskFor(file)));
      addPhase(stats, 'identify', performance.now() - t);
      await pause();
    }
    const analysed: AnalysedFile[] = [];
    for (let i = 0; i < files.length; i++) {
      const id = ids[i];
      const language = languageForFile(files[i])?.language;
      if (id.skip === undefined && language) analysed.push({ path: files[i], language, contentHash: id.contentHash });
    }
    const found = cache.readEvaluation(slot, evaluationInputs(slot, analysed, projectFiles));
    stats.evaluationCache = found.status;
    if (found.status === 'hit') {
      for (let i = 0; i < files.length; i++) {
        const id = ids[i];
        if (id.skip !== undefined) skip(files[i], id.skip);
        else {
          stats.bytes += id.bytes;
          decodedFrom(files[i], id.encoding);
        }
        reporter.onProgress?.(++done, total, files[i]);
      }
      stats.ms.analyse = Math.round(performance.now() - tAnalyse);
      return { ...extraction(false, walk.files, [], dirRoots, projectFiles), cached: { evaluation: found.evaluation, files: analysed } };
    }
  }

  // With a cache, the main thread looks each file up itself (read, hash, cache entry) and
  // hands only the misses to the workers, which read the file again: a warm scan then starts
  // no worker at all. Without a cache every file is a miss and goes straight to a worker.
  const probeInMain = options.cacheDir !== undefined;
  if (!probeInMain && canPool) startPool(total);
  let misses = 0;
  let cancelled = false;
  let chain: Promise<void> = Promise.resolve();
  // Results are taken one at a time, in completion order (fixing writes files).
  const settle = (index: number, outcome: FileOutcome, corrupt: string | undefined) => {
    if (corrupt && outcome.kind === 'analysis' && !outcome.corrupt) outcome = { ...outcome, corrupt };
    const o = outcome;
    chain = chain.then(() => finishFile(index, o));
    return chain;
  };
  const inFlight = new Map<number, Promise<void>>();
  try {
    for (let i = 0; i < files.length; i++) {
      if (options.signal?.aborted) {
        cancelled = true;
        break;
      }
      const task = taskFor(files[i]);
      let probe: Exclude<Probe, { done: FileOutcome }> | undefined;
      if (probeInMain || !pool) {
        const looked = probeFileTask(task);
        if (looked.done) {
          await settle(i, looked.done, undefined);
          await pause();
          continue;
        }
        probe = looked;
        // A few misses are analysed here; more, and the workers start.
        if (canPool && ++misses >= POOL_START_MISSES) startPool(files.length - i);
      }
      const current = pool;
      if (!current) {
        await settle(i, await analyseProbed(task, probe!), undefined);
        await pause();
        continue;
      }
      // A bounded window of requests in flight: enough to keep every worker busy (and one
      // more per worker queued), few enough that a scan of 10⁵ files holds no more than a
      // handful of pending results.
      while (inFlight.size >= current.capacity + current.size) await Promise.race(inFlight.values());
      const index = i;
      const corrupt = probe?.corrupt;
      const sent: FileTask = probe ? { ...task, cacheProbed: true } : task;
      const p = current
        .run(sent)
        // A worker that crashed on this file: once more in the main thread.
        .catch(() => inMain(sent))
        .then((outcome) => settle(index, outcome, corrupt))
        .finally(() => inFlight.delete(index));
      inFlight.set(index, p);
    }
    await Promise.all(inFlight.values());
    await chain;
  } catch (err) {
    await (pool as AnalysisPool | undefined)?.close();
    throw err;
  }
  stats.ms.analyse = Math.round(performance.now() - tAnalyse);
  // The workers stay for the dependencies the workspace's imports reach (analysed a level at a time).
  try {
    if (cancelled) return extraction(true, walk.files, slots, [], []);
    return await finishCollect();
  } finally {
    await (pool as AnalysisPool | undefined)?.close();
  }

  /** A dependency file, analysed by a worker when the workers run (in this thread when one fails on it, as for workspace files). */
  function analyseDependency(file: string): Promise<FileOutcome> {
    const task = taskFor(file);
    const current = pool as AnalysisPool | undefined;
    return current ? current.run(task).catch(() => inMain(task)) : inMain(task);
  }

  /** The rest of the collection: project files, dependencies, the analyses packed for the replaying worker. */
  async function finishCollect(): Promise<Collected> {
    // Without dependencies to join, the workers have nothing left to do: their memory goes now.
    if (!environment && !nodeModules) await (pool as AnalysisPool | undefined)?.close();
    dirRoots ??= rootsWithFiles(roots, walk.files);
    projectFiles ??= await collectProjectFiles(dirRoots, walk.files, (f) => readProjectFile(f, maxBytes));
    const result: Collected = { ...extraction(false, walk.files, slots, dirRoots, projectFiles), evaluationSlot };
    if (environment) {
      const tDeps = performance.now();
      const joined = await joinDependencies(environment, result.analyses, dirRoots.length ? dirRoots : roots, {
        analyseFile: analyseDependency,
        cache: options.cacheDir ? new DiskCache(options.cacheDir, fingerprint) : undefined,
        note: (text) => {
          result.notes.push({ path: '', note: text });
          reporter.onNote?.('', text);
        },
      });
      result.dependencies = joined.dependencies;
      stats.dependencyFiles = joined.files;
      stats.dependencyCacheHits = joined.cacheHits;
      stats.ms.dependencies = Math.round(performance.now() - tDeps);
    }
    if (nodeModules) {
      const tDeps = performance.now();
      const joined = await joinNodeDependencies(nodeModules, result.analyses, dirRoots.length ? dirRoots : roots, {
        analyseFile: analyseDependency,
        cache: options.cacheDir ? new DiskCache(options.cacheDir, fingerprint) : undefined,
        note: (text) => {
          result.notes.push({ path: '', note: text });
          reporter.onNote?.('', text);
        },
      });
      result.dependencies = combinedDependencies(result.dependencies, joined.dependencies);
      stats.dependencyFiles += joined.files;
      stats.dependencyCacheHits += joined.cacheHits;
      stats.ms.dependencies += Math.round(performance.now() - tDeps);
    }
    if (options.cacheDir && stats.analysed > 0) await pruneCache(options.cacheDir);
    if (shareReplays) result.replayAnalyses = packAnalyses(slots, replayCache);
    return result;
  }
}


/** Below this many Python files the program replays stay in the main thread (a worker would first have to take in every file's facts). */
export const HELPER_MIN_PYTHON_FILES = 256;

/** True when sharing the Python replays with a worker is switched on for the process (`HAZARD_LENS_SHARED_REPLAY=1`). */
export function sharedReplayEnabledByEnv(): boolean {
  const v = process.env.HAZARD_LENS_SHARED_REPLAY;
  return v !== undefined && v !== '' && v !== '0';
}

/** Files of the Python program model (stubs are not). */
function isPythonSource(a: { language: LanguageId; path: string }): boolean {
  return a.language === 'python' && !/\.pyi$/i.test(a.path);
}

/** Some Python program rule is on (else no Python model is built). */
function pythonModelUsed(config: HazardLensConfig): boolean {
  return RULES.some((r) => r.checkProgram && r.meta.languages.includes('python') && !ruleOffEverywhere(config, r.meta.id));
}

/**
 * The replaying worker's heap limits. Its young generation: V8's default (up to 48 MB on a
 * large heap) is resident memory the replays, which allocate mostly small short-lived objects,
 * do not need. Its old generation: V8 lets a heap grow well past what is live before it
 * collects (on the Python standard library the worker held 150–170 MB of heap for about 100
 * MB live), and a limit makes it collect sooner. The limit is what the replays need, which
 * grows with the Python facts ({@link REPLAY_HEAP_BASE_MB} plus {@link REPLAY_HEAP_BYTES_PER_FACT}
 * a fact; ~150 MB on the stdlib, whose worker needs ~105 MB live). A worker that needs more
 * fails, and this thread replays its share, as after any failure of the worker.
 */
function replayWorkerLimits(extraction: Collected, heapMb: number | undefined): ResourceLimits {
  let facts = 0;
  for (const a of extraction.analyses) if (isPythonSource(a)) facts += a.facts.length;
  for (const a of extraction.dependencies?.files ?? []) if (isPythonSource(a)) facts += a.facts.length;
  const old = heapMb ?? Math.ceil(REPLAY_HEAP_BASE_MB + (facts * REPLAY_HEAP_BYTES_PER_FACT) / 2 ** 20);
  return { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: old };
}

/** The replaying worker's old generation before its facts: the bundle's code and data, the settings (see {@link replayWorkerLimits}). */
const REPLAY_HEAP_BASE_MB = 48;
/** The replaying worker's old generation per Python fact (facts, index, memoised lookups; see {@link replayWorkerLimits}). */
const REPLAY_HEAP_BYTES_PER_FACT = 300;

/** The analyses {@link Slot.packed} holds, in the scan's order, in one buffer (transferred to the worker, not copied). */
function packAnalyses(slots: readonly Slot[], cache: ReplayCache | undefined): PackedAnalyses {
  let size = 0;
  for (const s of slots) if (s.packed instanceof Uint8Array) size += s.packed.length;
  const bytes = new Uint8Array(size);
  const entries: PackedAnalyses['entries'] = [];
  let end = 0;
  for (const s of slots) {
    if (!s.packed || !s.analysis) continue;
    if (s.packed instanceof Uint8Array) {
      bytes.set(s.packed, end);
      end += s.packed.length;
      entries.push(end);
    } else entries.push(s.packed);
    s.packed = undefined;
  }
  return { bytes, entries, cache };
}

/**
 * Builds the Python program model before the evaluation, into `models` (where the rules find
 * it), timing its phases; with a kept pool, one worker replays a share of the programs
 * (`model/python-replay-share.ts`). A model that fails to build is left to the rules, whose
 * failure notes say so as before.
 */
async function buildPythonModel(extraction: Collected, config: HazardLensConfig, models: ModelCache, heapMb?: number): Promise<void> {
  const packed = extraction.replayAnalyses;
  extraction.replayAnalyses = undefined;
  if (!pythonModelUsed(config) || !extraction.analyses.some(isPythonSource)) return;
  const ctx: ProgramContext & { cache: ModelCache } = {
    files: extraction.analyses,
    roots: extraction.roots,
    projectFiles: extraction.projectFiles,
    config,
    cache: models,
    dependencies: extraction.dependencies,
  };
  const t = performance.now();
  let model: PythonModel;
  // The replaying worker: one of its own, started now that the analysis workers have stopped.
  const script = packed ? workerScript() : undefined;
  const pool = script ? new AnalysisPool(1, script, replayWorkerLimits(extraction, heapMb)) : undefined;
  try {
    if (pool && packed) {
      const deps = extraction.dependencies;
      const depFiles = deps?.files.filter(isPythonSource).length ?? 0;
      const claims = replayClaims(maxPrograms(packed.entries.length + depFiles, extraction.projectFiles.length));
      const { pythonVersion, assumeMultithreaded, cloexecEverywhere, targetPlatform } = config;
      const result = pool.replay({
        roots: extraction.roots,
        projectFiles: extraction.projectFiles,
        dependencies: deps ? { ...deps, files: deps.files.filter(isPythonSource) } : undefined,
        settings: { pythonVersion, assumeMultithreaded, cloexecEverywhere, targetPlatform },
        knowledge: config.knowledge.user,
        claims,
        analyses: packed,
      });
      // A worker that fails after this thread has claimed every program is not waited for:
      // its rejection must not go unhandled (it would end the process).
      result.catch(() => undefined);
      const helper: ReplayHelper = { claims, result };
      model = await pythonModelOnce(ctx, helper);
    } else model = await pythonModelOnce(ctx);
  } catch {
    return;
  } finally {
    await pool?.close();
  }
  const stats = extraction.stats;
  const { phases } = model.stats;
  addPhase(stats, 'model.python.index', phases.index);
  addPhase(stats, 'model.python.protection', phases.protection);
  addPhase(stats, 'model.python.programs', phases.programs);
  addPhase(stats, 'model.python.replay', phases.replay);
  addPhase(stats, 'model.python.reuse', phases.reuse);
  if (phases.shared) {
    addPhase(stats, 'model.python.wait', phases.shared.waitMs);
    // Counts, not times: how the replays were shared.
    stats.phases['model.python.helperPrograms'] = phases.shared.helperPrograms;
    stats.phases['model.python.replayedAgain'] = phases.shared.replayedAgain;
  }
  addPhase(stats, 'model.python', performance.now() - t);
}

/** The roots that hold discovered files (directories: the roots of the program model). */
function rootsWithFiles(roots: readonly string[], files: readonly string[]): string[] {
  return roots.filter((r) => files.some((f) => f.startsWith(r + path.sep)));
}
