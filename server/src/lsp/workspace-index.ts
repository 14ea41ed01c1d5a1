/**
 * The workspace index: path → FileAnalysis for every supported file of the workspace folders,
 * plus the project files the program model reads (`pyproject.toml`, `setup.cfg`,
 * `compile_commands.json`, `package.json`, `*.ini`, `*.conf`), so program-level rules see the
 * whole program in the editor, as they do in a scan.
 *
 * - Files are found with the scanner's walker (`scan/walk.ts`: `.gitignore`, `hazardLens.exclude`,
 *   `files.exclude`, symbolic links) and read with its reader (`scan/read.ts`: size limit,
 *   binary and encoding checks; a file that is not UTF-8 is decoded as Windows-1252, or as
 *   UTF-16 after its byte order mark, and the log says so). Built in the background after `initialized`, cancellable,
 *   one folder after the other; a folder's files count for program rules only once its index
 *   is complete (until then, as before the index existed, only its open documents do).
 * - Open documents override the disk: their analyses (computed by the validator from the
 *   editor's text and incremental tree) replace the disk file's for as long as they are open.
 * - Analyses are plain data keyed by content hash: a file whose size and modification time
 *   are unchanged is not even read again, and a file whose text hashes the same is not parsed
 *   again. No tree is kept for files that are not open.
 * - Disk files are read and analysed by the scanner's file task (`scan/file-task.ts`): in
 *   worker threads (`hazardLens.jobs`, `scan/pool.ts`) when a build has many files, and with
 *   the persistent analysis cache (`hazardLens.cache`, `hazardLens.cacheDir`), so a restart
 *   does not parse an unchanged workspace again.
 * - Disk changes arrive through `workspace/didChangeWatchedFiles` and update single entries.
 *
 * Files are grouped per workspace folder (the innermost one holding them): each folder is
 * one program with its own settings. A document outside every folder is a group of its own.
 * The index publishes nothing itself; it tells `onDidChange` which group changed.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { AnalysisCache } from '../engine/analyze';
import { buildFingerprint, defaultCacheDir, pruneCache } from '../engine/cache';
import { writableFolderProblem } from '../engine/directories';
import type { HazardLensConfig } from '../engine/config';
import type { Knowledge } from '../knowledge/knowledge';
import { prefilterDisabledByEnv } from '../engine/prefilter';
import type { ProjectFile } from '../model/program-context';
import type { FileAnalysis } from '../analysis/results';
import { languageForFileAsync, languageForPath, loadAllGrammars } from '../parsing/parser';
import { rereadCacheIndexes, runFileTask, type FileOutcome, type FileTask } from '../scan/file-task';
import { AnalysisPool, defaultJobs, POOL_MIN_FILES, workerScript } from '../scan/pool';
import { collectProjectFiles, isProjectFileName, readProjectFile, yielder } from '../scan/project-files';
import { ENCODING_LABELS, type SourceEncoding } from '../scan/read';
import { discoverFiles } from '../scan/walk';
import type { Logger } from './logger';
import { relativePosix } from './paths';
import type { IndexStats } from './protocol';
import type { ProgressSink } from './progress';
import type { Settings } from './settings';
import type { Folder, WorkspaceFolders } from './workspace';

/** Key of a group of files evaluated together: a folder URI, or `doc:<uri>` for a lone document. */
export type GroupKey = string;

const LONE_PREFIX = 'doc:';



interface DiskEntry {
  analysis: FileAnalysis;
  size: number;
  mtimeMs: number;
  /** How the file's bytes were decoded. */
  encoding: SourceEncoding;
  /** The fingerprint of the knowledge it was analysed with (a changed model re-analyses it). */
  knowledge: string;
}

export interface OpenEntry {
  uri: string;
  /** Document version the analysis was computed for. */
  version: number;
  analysis: FileAnalysis;
}

interface FolderState {
  folder: Folder;
  /** Every file of the folder was indexed once: program rules see the folder's disk files. */
  ready: boolean;
  files: Map<string, DiskEntry>;
  /** Replaced (never mutated) when a project file changes, so its identity says "unchanged". */
  projectFiles: readonly ProjectFile[];
  /** The build running for the folder, if any. */
  build?: { abort: AbortController; done: Promise<BuildOutcome> };
  /** Matches `hazardLens.exclude` + `files.exclude` of the last build (for project files and new files). */
  excludes?: Ignore;
  config?: HazardLensConfig;
}

export interface BuildOutcome {
  /** Files analysed (or taken unchanged from the previous build). */
  files: number;
  skipped: number;
  cancelled: boolean;
}

export interface BuildOptions {
  /** Read every file even when its size and modification time are unchanged (an explicit scan). */
  forceRead?: boolean;
  progress?: ProgressSink;
  /** Label appended to progress messages (the folder name when there are several). */
  label?: string;
  /** Progress fraction range [from, to) this folder covers in a multi-folder job. */
  span?: [number, number];
  signal?: AbortSignal;
}

export interface IndexOptions {
  maxFiles: number;
  /** Builds of fewer files analyse in the main thread (default {@link POOL_MIN_FILES}). */
  minFilesForWorkers?: number;
}

type Runner = (task: FileTask) => Promise<FileOutcome>;

/** How files of a folder are analysed: where the persistent cache is, whether to prefilter. */
interface LoadContext {
  maxBytes: number;
  run: Runner;
  cacheDir?: string;
  /** The folder's knowledge (the built-in tables merged with its `.hazard-lens.json` models). */
  knowledge: Knowledge;
}

export class WorkspaceIndex {
  private readonly states = new Map<string, FolderState>();
  private readonly open = new Map<string, OpenEntry>();
  /** Recently replaced analyses, so flipping between two contents (save, undo) costs no parse. */
  private readonly cache = new AnalysisCache(512);
  /** Cache folders checked for use: why each cannot be used, or undefined. */
  private readonly cacheFolderProblems = new Map<string, string | undefined>();
  /** Disk-change handling runs one batch at a time, after any build of the folders it touches. */
  private queue: Promise<void> = Promise.resolve();
  private parsed = 0;
  private reused = 0;
  private disposed = false;

  constructor(
    private readonly folders: WorkspaceFolders,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly options: IndexOptions,
    /** Called when the files or project files of a group changed outside a validator pass. */
    private readonly onDidChange: (group: GroupKey) => void,
  ) {}

  // ---- groups ---------------------------------------------------------------------------

  /** The group a file belongs to: its innermost workspace folder, or itself. */
  groupOf(filePath: string, uri: string): GroupKey {
    if (uri.startsWith('file:')) {
      const owner = this.folders.folderOf(filePath);
      if (owner) return owner.folder.uri;
    }
    return `${LONE_PREFIX}${uri}`;
  }

  /** The folder of a group, undefined for a lone document. */
  folderOfGroup(group: GroupKey): Folder | undefined {
    if (group.startsWith(LONE_PREFIX)) return undefined;
    return this.folders.list().find((f) => f.uri === group);
  }

  /** The URI whose settings apply to a group. */
  scopeOf(group: GroupKey): string {
    return group.startsWith(LONE_PREFIX) ? group.slice(LONE_PREFIX.length) : group;
  }

  /**
   * The analyses program rules see for a group: the folder's disk files once its index is
   * complete, with open documents in place of their disk text.
   */
  groupFiles(group: GroupKey): FileAnalysis[] {
    if (group.startsWith(LONE_PREFIX)) {
      const uri = group.slice(LONE_PREFIX.length);
      return [...this.open.values()].filter((o) => o.uri === uri).map((o) => o.analysis);
    }
    const byPath = new Map<string, FileAnalysis>();
    const state = this.states.get(group);
    if (state?.ready) for (const [p, e] of state.files) byPath.set(p, e.analysis);
    for (const [p, o] of this.open) if (this.groupOf(p, o.uri) === group) byPath.set(p, o.analysis);
    return [...byPath.values()];
  }

  /** Project files of a group; the same array as long as none of them changed. */
  projectFiles(group: GroupKey): readonly ProjectFile[] {
    const state = this.states.get(group);
    return state?.ready ? state.projectFiles : [];
  }

  /** True when the group's folder index is complete (lone documents: always). */
  isReady(group: GroupKey): boolean {
    return group.startsWith(LONE_PREFIX) || this.states.get(group)?.ready === true;
  }

  openEntry(filePath: string): OpenEntry | undefined {
    return this.open.get(filePath);
  }

  stats(): IndexStats {
    return {
      folders: [...this.states.values()].map((s) => ({
        uri: s.folder.uri,
        ready: s.ready,
        files: s.files.size,
        decoded: [...s.files].filter(([, e]) => e.encoding !== 'utf-8').map(([p, e]) => ({ path: p, encoding: e.encoding })),
        projectFiles: s.projectFiles.map((p) => p.path),
      })),
      open: this.open.size,
      parsed: this.parsed,
      reused: this.reused,
    };
  }

  // ---- open documents ----------------------------------------------------------------------

  /**
   * An analysis already held for this text (the document's previous one, the disk file's, a
   * recent one), so re-opening a file or a settings change costs no parse.
   */
  reusableAnalysis(filePath: string, hash: string): FileAnalysis | undefined {
    const open = this.open.get(filePath);
    if (open?.analysis.contentHash === hash) return open.analysis;
    const disk = this.diskEntry(filePath);
    if (disk?.analysis.contentHash === hash) return disk.analysis;
    return this.cache.get(filePath, hash);
  }

  /** Counts an analysis the validator computed for an open document (for {@link stats}). */
  countParse(): void {
    this.parsed++;
  }

  /** An open document's analysis for `version` replaces the disk file's. */
  setOpen(filePath: string, uri: string, version: number, analysis: FileAnalysis): void {
    const previous = this.open.get(filePath);
    if (previous && previous.analysis !== analysis) this.cache.set(previous.analysis);
    this.open.set(filePath, { uri, version, analysis });
  }

  /**
   * The document is closed, or no longer analysed (excluded, too large): the disk file counts
   * again. Its size and time are checked, since a save may not have been reported. Returns the
   * group to re-evaluate, or undefined when the document was not in the index.
   */
  removeOpen(filePath: string): GroupKey | undefined {
    const entry = this.open.get(filePath);
    if (!entry) return undefined;
    this.open.delete(filePath);
    this.cache.set(entry.analysis);
    const group = this.groupOf(filePath, entry.uri);
    // Indexed or not yet (created while no watcher reported it): the disk decides now.
    if (entry.uri.startsWith('file:') && this.isReady(group)) this.enqueue(() => this.refresh([filePath], []));
    return group;
  }

  // ---- building --------------------------------------------------------------------------

  /** Brings the folder states in line with the workspace folders; returns the folders added. */
  syncFolders(): Folder[] {
    const current = new Map(this.folders.list().map((f) => [f.uri, f]));
    const removed: GroupKey[] = [];
    for (const [uri, state] of this.states) {
      if (current.has(uri)) continue;
      state.build?.abort.abort();
      this.states.delete(uri);
      removed.push(uri);
    }
    const added: Folder[] = [];
    for (const [uri, folder] of current) {
      if (this.states.has(uri)) continue;
      this.states.set(uri, { folder, ready: false, files: new Map(), projectFiles: [] });
      added.push(folder);
    }
    for (const uri of removed) this.onDidChange(uri);
    return added;
  }

  /** Cancels every build. */
  cancelAll(): void {
    for (const s of this.states.values()) s.build?.abort.abort();
  }

  /**
   * (Re-)indexes a folder; a build already running for it is cancelled in favour of this one.
   * Files unchanged since the last build are neither read (same size and time) nor parsed
   * (same content hash). Calls `onDidChange` for the folder when the build completes.
   */
  buildFolder(folder: Folder, options: BuildOptions = {}): Promise<BuildOutcome> {
    let state = this.states.get(folder.uri);
    if (!state) {
      state = { folder, ready: false, files: new Map(), projectFiles: [] };
      this.states.set(folder.uri, state);
    }
    state.build?.abort.abort();
    const abort = new AbortController();
    const external = options.signal;
    if (external) {
      if (external.aborted) abort.abort();
      else external.addEventListener('abort', () => abort.abort(), { once: true });
    }
    const target = state;
    const done = this.runBuild(target, abort.signal, options).finally(() => {
      if (target.build?.abort === abort) target.build = undefined;
    });
    target.build = { abort, done };
    return done;
  }

  private async runBuild(state: FolderState, signal: AbortSignal, options: BuildOptions): Promise<BuildOutcome> {
    const folder = state.folder;
    const outcome: BuildOutcome = { files: 0, skipped: 0, cancelled: false };
    const [from, to] = options.span ?? [0, 1];
    const label = options.label ?? '';
    const config = await this.settings.get(folder.uri);
    const filesExclude = await this.settings.filesExclude(folder.uri);
    if (signal.aborted || this.disposed) return { ...outcome, cancelled: true };
    await loadAllGrammars();
    const excludes = [...config.exclude, ...filesExclude];
    const started = Date.now();
    const walk = await discoverFiles({
      roots: [folder.path],
      cwd: folder.path,
      respectGitignore: true,
      excludes,
      excludeBase: folder.path,
      forceExclude: false,
      signal,
    });
    if (signal.aborted || this.disposed) return { ...outcome, cancelled: true };
    for (const s of walk.skipped) this.logger.debug(`index: skipped ${s.path}: ${s.reason}`);
    outcome.skipped += walk.skipped.length;
    // A nested workspace folder indexes its own files (with its own settings).
    const files = walk.files.filter((p) => this.folders.folderOf(p)?.folder.uri === folder.uri);
    if (files.length > this.options.maxFiles) {
      this.logger.warn(
        `index: ${folder.path} holds ${files.length} files, more than the ${this.options.maxFiles} indexed per folder; ` +
          'cross-file findings there consider open files only (run "Hazard Lens: Scan Workspace" for a full scan)',
      );
      state.ready = false;
      state.files = new Map();
      state.projectFiles = [];
      this.onDidChange(folder.uri);
      return { ...outcome, skipped: outcome.skipped + files.length };
    }

    const total = files.length;
    const report = (done: number, force = false) =>
      options.progress?.report(from + (to - from) * (total > 0 ? done / total : 1), `${done}/${total} files${label}`, force);
    report(0, true);
    const entries: (DiskEntry | undefined)[] = new Array(files.length);
    const pause = yielder();
    let done = 0;
    const jobs = config.jobs === 'auto' ? defaultJobs() : config.jobs;
    const script = jobs > 0 && total >= (this.options.minFilesForWorkers ?? POOL_MIN_FILES) ? workerScript() : undefined;
    const workers = Math.min(jobs, total);
    // Started by the first file that needs analysing: a re-index after a settings change or a
    // restart with a warm cache finds most files unchanged (their stat) or cached, and then
    // starts no thread at all.
    let pool: AnalysisPool | undefined;
    // A worker that failed on a file: that file once more in this thread.
    const run: Runner = script ? (task) => (pool ??= new AnalysisPool(workers, script)).run(task).catch(() => runFileTask(task)) : runFileTask;
    const ctx = this.loadContext(folder, config, run);
    // Another process (a CLI scan, a second window) may have added entries since the last build.
    if (ctx.cacheDir) rereadCacheIndexes();
    // A bounded window of files in flight, enough to keep every worker busy.
    const window = script ? workers * 4 : 1;
    const inFlight = new Set<Promise<void>>();
    let cancelled = false;
    try {
      for (let i = 0; i < files.length; i++) {
        if (signal.aborted || this.disposed) {
          cancelled = true;
          break;
        }
        while (inFlight.size >= window) await Promise.race(inFlight);
        const index = i;
        const file = files[i];
        const p: Promise<void> = this.load(file, ctx, options.forceRead === true, this.anyDiskEntry(file))
          .then((entry) => {
            if (typeof entry === 'string') {
              // Unsupported or excluded files are routine; a file the parser could not read is not.
              if (entry.startsWith('not analysed')) this.logger.warn(`index: ${file}: ${entry}`);
              else this.logger.debug(`index: skipped ${file}: ${entry}`);
              outcome.skipped++;
            } else {
              entries[index] = entry;
              outcome.files++;
            }
            done++;
            report(done, done === total);
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (!script) await p;
        await pause();
      }
      await Promise.all(inFlight);
    } finally {
      await pool?.close();
    }
    if (cancelled) return { ...outcome, cancelled: true };
    // Keeps the persistent cache bounded (at most once an hour; never throws).
    if (ctx.cacheDir) void pruneCache(ctx.cacheDir);
    // In discovery order, whatever order the workers finished in.
    const next = new Map<string, DiskEntry>();
    for (let i = 0; i < files.length; i++) {
      const e = entries[i];
      if (e) next.set(files[i], e);
    }
    const matcher = ignore().add(excludes);
    const projectFiles = await this.collectProjectFiles(folder, files, matcher, config);
    if (signal.aborted || this.disposed) return { ...outcome, cancelled: true };

    // Files that left the index (now ignored, deleted) stay cheap to bring back for a while.
    for (const [p, e] of state.files) if (!next.has(p)) this.cache.set(e.analysis);
    state.files = next;
    state.excludes = matcher;
    state.config = config;
    if (!sameProjectFiles(state.projectFiles, projectFiles)) state.projectFiles = projectFiles;
    state.ready = true;
    this.logger.info(
      `indexed ${folder.path}: ${outcome.files} files, ${projectFiles.length} project files, ${outcome.skipped} skipped in ${Date.now() - started} ms`,
    );
    this.onDidChange(folder.uri);
    return outcome;
  }

  /** Why a cache folder cannot be used (checked, and told in the output channel, once per folder), or undefined. */
  private cacheFolderProblem(dir: string): string | undefined {
    if (!this.cacheFolderProblems.has(dir)) {
      const problem = writableFolderProblem(dir);
      if (problem) this.logger.warn(`analysis cache off: ${problem}`);
      this.cacheFolderProblems.set(dir, problem);
    }
    return this.cacheFolderProblems.get(dir);
  }

  /** The persistent cache folder a folder's analyses use under these settings (none when off or unusable). */
  analysisCacheDir(folder: Folder, config: HazardLensConfig): string | undefined {
    return this.loadContext(folder, config).cacheDir;
  }

  /** Where and how a folder's files are analysed (its settings). */
  private loadContext(folder: Folder, config: HazardLensConfig, run: Runner = runFileTask): LoadContext {
    let cacheDir = config.cache ? (config.cacheDir ? nodePath.resolve(folder.path, config.cacheDir) : defaultCacheDir()) : undefined;
    if (cacheDir !== undefined && this.cacheFolderProblem(cacheDir) !== undefined) cacheDir = undefined;
    return { maxBytes: config.maxFileSizeKb * 1024, run, cacheDir, knowledge: config.knowledge };
  }

  /**
   * Reads and analyses one disk file, re-using what is held: the previous entry when size and
   * time are unchanged (unless `forceRead`), an analysis of the same content otherwise (held
   * in memory, or in the persistent cache). Returns the reason when the file is not analysed.
   */
  private async load(file: string, ctx: LoadContext, forceRead: boolean, previous: DiskEntry | undefined): Promise<DiskEntry | string> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch (err) {
      return `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
    if (!forceRead && previous && previous.size === st.size && previous.mtimeMs === st.mtimeMs && previous.knowledge === ctx.knowledge.fingerprint) return previous;
    // Analyses held here by content hash: the worker hashes the text and answers `known`.
    const known = new Map<string, FileAnalysis>();
    for (const a of this.cache.forPath(file)) known.set(a.contentHash, a);
    const open = this.open.get(file);
    if (open) known.set(open.analysis.contentHash, open.analysis);
    if (previous) known.set(previous.analysis.contentHash, previous.analysis);
    const outcome = await ctx.run({
      path: file,
      maxBytes: ctx.maxBytes,
      prefilter: !prefilterDisabledByEnv(),
      cacheDir: ctx.cacheDir,
      fingerprint: ctx.cacheDir ? buildFingerprint() : undefined,
      knownHashes: [...known.keys()],
      knowledge: ctx.knowledge.user,
    });
    if (outcome.kind === 'skip') return outcome.reason;
    if (outcome.kind === 'analysis' && outcome.analysis.notAnalysed !== undefined) return `not analysed: ${outcome.analysis.notAnalysed}`;
    let analysis: FileAnalysis;
    if (outcome.kind === 'known') {
      analysis = known.get(outcome.contentHash)!;
      this.reused++;
    } else {
      analysis = outcome.analysis;
      if (outcome.cache === 'hit') this.reused++;
      else this.parsed++;
      if (outcome.corrupt) this.logger.warn(`analysis cache: entry for ${file} not used (${outcome.corrupt}); analysed again`);
      for (const note of analysis.notes) this.logger.warn(`${file}: ${note}`);
    }
    if (previous && previous.analysis !== analysis) this.cache.set(previous.analysis);
    if (outcome.encoding !== 'utf-8' && outcome.encoding !== previous?.encoding) this.logger.info(`index: decoded as ${ENCODING_LABELS[outcome.encoding]}: ${file}`);
    return { analysis, size: st.size, mtimeMs: st.mtimeMs, encoding: outcome.encoding, knowledge: ctx.knowledge.fingerprint };
  }

  /**
   * Project files in the folder root and in every directory that holds an indexed file (or
   * lies between such a directory and the root): the walker lists only source files, so the
   * directories it took are the ones not ignored. The exclude patterns apply to the files.
   */
  private collectProjectFiles(folder: Folder, files: readonly string[], excludes: Ignore, config: HazardLensConfig): Promise<ProjectFile[]> {
    return collectProjectFiles([folder.path], files, (full) => this.readProjectFile(full, excludes, config));
  }

  private async readProjectFile(full: string, excludes: Ignore | undefined, config: HazardLensConfig | undefined): Promise<ProjectFile | undefined> {
    const owner = this.folders.folderOf(full);
    if (!owner || (excludes && excludes.ignores(owner.relative))) return undefined;
    const read = await readProjectFile(full, (config?.maxFileSizeKb ?? 1024) * 1024);
    if (!read) this.logger.debug(`index: project file ${full} not read`);
    return read;
  }

  // ---- disk changes ------------------------------------------------------------------------

  /**
   * Files created, changed or deleted on disk (`workspace/didChangeWatchedFiles`, as paths).
   * Handled in order, one batch at a time; each touched group is re-evaluated once.
   */
  onDiskChanges(changed: readonly string[], deleted: readonly string[]): void {
    this.enqueue(() => this.refresh(changed, deleted));
  }

  /** `.gitignore` files changed: which files are indexed may have changed. */
  needsRebuild(paths: readonly string[]): Folder[] {
    const out = new Map<string, Folder>();
    for (const p of paths) {
      const owner = this.folders.folderOf(p);
      if (owner && this.states.has(owner.folder.uri)) out.set(owner.folder.uri, owner.folder);
      // A .gitignore above a folder applies to all of it.
      for (const f of this.folders.list()) if (relativePosix(nodePath.dirname(p), f.path) !== undefined) out.set(f.uri, f);
    }
    return [...out.values()];
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: unknown) => this.logger.error('updating the workspace index failed', err));
  }

  private async refresh(changed: readonly string[], deleted: readonly string[]): Promise<void> {
    if (this.disposed) return;
    const touched = new Set<GroupKey>();
    // Wait for builds of the folders concerned: their result would overwrite these updates.
    const owners = new Set<FolderState>();
    for (const p of [...changed, ...deleted]) {
      const owner = this.folders.folderOf(p);
      const state = owner ? this.states.get(owner.folder.uri) : undefined;
      if (state) owners.add(state);
    }
    for (const state of owners) if (state.build) await state.build.done.catch(() => undefined);

    for (const p of deleted) {
      for (const state of this.states.values()) {
        for (const file of [...state.files.keys()]) {
          if (file === p || relativePosix(p, file) !== undefined) {
            this.cache.set(state.files.get(file)!.analysis);
            state.files.delete(file);
            touched.add(state.folder.uri);
          }
        }
        const remaining = state.projectFiles.filter((pf) => pf.path !== p && relativePosix(p, pf.path) === undefined);
        if (remaining.length !== state.projectFiles.length) {
          state.projectFiles = remaining;
          touched.add(state.folder.uri);
        }
      }
    }

    const fresh: { path: string; state: FolderState }[] = [];
    for (const p of changed) {
      const owner = this.folders.folderOf(p);
      const state = owner ? this.states.get(owner.folder.uri) : undefined;
      if (!state?.config) continue;
      if (isProjectFileName(p)) {
        if (await this.updateProjectFile(state, p)) touched.add(state.folder.uri);
        continue;
      }
      if (!languageForPath(p) && !(state.files.has(p) || (await languageForFileAsync(p)))) continue;
      const previous = state.files.get(p);
      if (previous) {
        const entry = await this.load(p, this.loadContext(state.folder, state.config), false, previous);
        if (typeof entry === 'string') state.files.delete(p);
        else if (entry === previous || entry.analysis === previous.analysis) {
          state.files.set(p, entry);
          continue;
        } else state.files.set(p, entry);
        touched.add(state.folder.uri);
      } else fresh.push({ path: p, state });
    }

    // New files: taken when the walker would take them (ignore files, excludes).
    const byState = new Map<FolderState, string[]>();
    for (const { path: p, state } of fresh) byState.set(state, [...(byState.get(state) ?? []), p]);
    for (const [state, paths] of byState) {
      const config = state.config;
      if (!config) continue;
      const excludes = [...config.exclude, ...(await this.settings.filesExclude(state.folder.uri))];
      const walk = await discoverFiles({
        roots: paths,
        cwd: state.folder.path,
        respectGitignore: true,
        excludes,
        excludeBase: state.folder.path,
        forceExclude: true,
      });
      for (const p of walk.files) {
        if (this.folders.folderOf(p)?.folder.uri !== state.folder.uri) continue;
        const entry = await this.load(p, this.loadContext(state.folder, config), true, undefined);
        if (typeof entry === 'string') continue;
        state.files.set(p, entry);
        touched.add(state.folder.uri);
      }
    }
    for (const group of touched) this.onDidChange(group);
  }

  /** Re-reads (or drops) one project file; true when the folder's project files changed. */
  private async updateProjectFile(state: FolderState, p: string): Promise<boolean> {
    const read = await this.readProjectFile(p, state.excludes, state.config);
    const others = state.projectFiles.filter((pf) => pf.path !== p);
    const next = read ? [...others, read].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : others;
    if (sameProjectFiles(state.projectFiles, next)) return false;
    state.projectFiles = next;
    return true;
  }

  private diskEntry(filePath: string): DiskEntry | undefined {
    const owner = this.folders.folderOf(filePath);
    return owner ? this.states.get(owner.folder.uri)?.files.get(filePath) : undefined;
  }

  /** The entry of a path in any folder (a folder added inside another takes its files over). */
  private anyDiskEntry(filePath: string): DiskEntry | undefined {
    for (const s of this.states.values()) {
      const e = s.files.get(filePath);
      if (e) return e;
    }
    return undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.cancelAll();
  }
}

function sameProjectFiles(a: readonly ProjectFile[], b: readonly ProjectFile[]): boolean {
  return a.length === b.length && a.every((x, i) => x.path === b[i].path && x.text === b[i].text);
}
