/**
 * The Python program model: which files run together (programs), in what order their code
 * runs, and the FORK/FD evidence that order reveals.
 *
 * - A **program** starts at an entry point — a module with an `if __name__ == "__main__":`
 *   block, a package's `__main__.py`, a script without an extension (analysed only for its
 *   `#!` python line; it runs as `__main__`), a console or GUI script declared in
 *   `pyproject.toml`, `setup.cfg`, `setup.py` or an `entry_points.txt` (`python-project.ts`), a
 *   pbr `wsgi_scripts` entry, a `*.wsgi` file, a module that defines a WSGI `application` — and
 *   spans what it imports. Entry points of other groups are plugins a host program imports:
 *   they start no program of their own.
 *   A module that no entry point imports is analysed as a **library root** of its own (with
 *   what it imports), so library code is judged by the evidence it carries itself.
 * - **Program order** is replayed, not guessed from positions: a module's top-level statements
 *   run in order when it is first imported (its packages' `__init__` first), a call to a
 *   workspace function runs that function's body at that point, and the main block runs last
 *   only for the module that is `__main__`. This is the "ordered" phase.
 * - Functions the ordered phase never reaches (request handlers, callbacks, library API) run
 *   "later", at an unknown time after it: each is replayed on its own from the state the
 *   ordered phase ended in (threads already started stay started).
 *
 * The replay records the hazards the FORK/FD rules report, each with its evidence chain:
 * a fork after a thread start, a descriptor cached before a fork whose child keeps running,
 * and a close-all in a forked child that no `exec` follows.
 *
 * This file keeps the model up to date across builds ({@link PythonModelCache}) and hands it
 * to the rules ({@link pythonModel}); the parts live beside it: the public types in
 * `python-types.ts`, the programs in `python-programs.ts`, program order in
 * `python-program-order.ts`, the replay in `python-simulation.ts`, the builder its replays
 * share in `python-model-builder.ts`, fork protections in `python-fork-protection.ts`, and
 * the call-effect summaries ("does this call start a thread, fork, ping") in `python-effects.ts`.
 */
import type { ProgramContext } from './program-context';
import type { FileAnalysis } from '../analysis/results';
import type { PyModule, PyModuleIndex } from './python-modules';
import { ModelBuilder, type ProgramLog } from './python-model-builder';
import { indexForProgram, replayShared, type Replayed, type ReplayHelper } from './python-replay-share';
import { buildPrograms, ClosureCache, staticImports } from './python-programs';
import { pooledCachesAcrossFork } from './python-pooled-caches';
import { EffectSummaryCache } from './call-effects';
import type { PyProgram, PyRoot, PythonModel } from './python-types';

export type * from './python-types';
export { classifyStarted } from './python-model-builder';
export { importEdges } from './python-programs';
export { MAX_CALL_DEPTH, ProgramOrder, scriptStep, type RunCtx } from './python-program-order';

/** Identity of a program across builds: its root and how the root runs. */
function rootKey(r: PyRoot): string {
  const session = r.session ? [...r.session.conftests, ...r.session.tests].map((m) => m.abs).join('\u0002') : '';
  return `${r.module.abs}\u0001${r.kind}\u0001${r.asMain ? 1 : 0}\u0001${r.script ? JSON.stringify(r.script) : ''}\u0001${session}`;
}

function contextKey(ctx: ProgramContext): string {
  return [
    ctx.config.pythonVersion,
    ctx.config.knowledge?.fingerprint ?? '',
    ctx.roots.join('\u0001'),
    ctx.projectFiles.map((p) => `${p.path}:${p.text.length}:${p.text}`).join('\u0001'),
    dependencyKey(ctx.dependencies),
  ].join('\u0002');
}

/** What identifies the installed packages joined to the program (computed once per joined set). */
function dependencyKey(dependencies: ProgramContext['dependencies']): string {
  if (!dependencies) return '';
  let key = DEPENDENCY_KEYS.get(dependencies);
  if (key === undefined) {
    key = [...dependencies.files.map((f) => `${f.path}:${f.contentHash}`), ...dependencies.pluginLinks.map((l) => `${l.from}>${l.group}`)].join('\u0001');
    DEPENDENCY_KEYS.set(dependencies, key);
  }
  return key;
}

const DEPENDENCY_KEYS = new WeakMap<NonNullable<ProgramContext['dependencies']>, string>();

function isPythonSource(f: FileAnalysis): boolean {
  return f.language === 'python' && !/\.pyi$/i.test(f.path);
}

/**
 * The Python model of one workspace, kept up to date across evaluations: after some files
 * changed, only what depends on them is recomputed, and the result is the one a fresh build
 * of the same files gives.
 *
 * - **Module index**: kept while the set of Python paths, the roots, the project files and
 *   the configuration stay the same (else rebuilt); a changed file's module is re-indexed in
 *   place ({@link PyModuleIndex.updateFacts}), so other modules and cached results keep
 *   pointing at the same object. Its name resolutions are kept too, except those that read
 *   a changed module.
 * - **Program replays**: each program's replay is logged: what it recorded, which later
 *   replays it claimed, and every module whose facts it read ({@link TouchTracker}: memoised
 *   lookups shared between programs carry the modules they read, so nothing is missed). A
 *   program is replayed again only when it read a changed module, when the fork protections
 *   of the workspace changed, or when the programs before it now claim later replays
 *   differently; otherwise its log is reused. Logs are applied in program order, exactly as
 *   a single pass records them.
 * - **Program closures** (static imports) are kept per root and dropped when they hold a
 *   changed module; fork protections read per-file fact lists found once per content.
 * - Caveat: name resolution memoises through import cycles (a cycle resolves to nothing
 *   along the path that closed it), so in a workspace with re-export cycles an answer can in
 *   principle depend on the order of lookups, which differs between an incremental and a
 *   fresh build. The edit-sequence tests and the stdlib comparison found no difference.
 * - Facts are not copied: modules hold the analyses' fact arrays.
 *
 * A model returned by {@link model} stays valid until the next call with different files
 * (the index is updated in place).
 */
export class PythonModelCache {
  private index: PyModuleIndex | undefined;
  private shape = '';
  private protectionKey = '';
  private logs = new Map<string, ProgramLog>();
  private closures = new ClosureCache();
  private programs: PyProgram[] | undefined;
  /** Call-effect summaries of the previous builds, by function content (`python-effects.ts`). */
  private readonly summaries = new EffectSummaryCache();
  private last: { files: readonly FileAnalysis[]; key: string; model: PythonModel } | undefined;

  /** The model for these files; the same object while called with the same `files` array and context. */
  model(ctx: ProgramContext): PythonModel {
    const key = contextKey(ctx);
    if (this.last && this.last.files === ctx.files && this.last.key === key) return this.last.model;
    this.last = undefined;
    try {
      const model = this.build(ctx, key);
      this.last = { files: ctx.files, key, model };
      return model;
    } catch (err) {
      // The index may already hold the new facts while the logs are the old ones: start over.
      this.index = undefined;
      throw err;
    }
  }

  /**
   * {@link model} for a model built once (a scan), with the program replays shared with
   * `helper` when there is one (a worker thread replaying the last programs while this thread
   * replays the first ones; see `python-replay-share.ts`). The model is the one {@link model}
   * builds: a helper's log is used only when it is the log this thread would have recorded.
   * It is built without what keeping it up to date needs (which modules each replay read, the
   * replays' logs: about a third of the model's memory on the Python standard library). Later
   * calls of {@link model} with the same files and context return it; with other files they
   * build from scratch.
   */
  async modelOnce(ctx: ProgramContext, helper?: ReplayHelper): Promise<PythonModel> {
    if (this.index || this.last) return this.model(ctx);
    const key = contextKey(ctx);
    try {
      const prepared = this.prepare(ctx, key, false);
      const replayed = helper ? await replayShared(prepared.index, prepared.builder, prepared.programs, helper) : this.replay(prepared, false);
      const model = this.finish(prepared, replayed);
      this.last = { files: ctx.files, key, model };
      return model;
    } finally {
      // Built untracked and without logs: a build with other files starts over.
      this.index = undefined;
    }
  }

  private build(ctx: ProgramContext, key: string): PythonModel {
    const prepared = this.prepare(ctx, key);
    return this.finish(prepared, this.replay(prepared));
  }

  /** The module index (kept or rebuilt), the builder and the program list: everything before the replays. */
  private prepare(ctx: ProgramContext, key: string, tracked = true): Prepared {
    const started = Date.now();
    const py = ctx.files.filter(isPythonSource);
    const shape = `${key}\u0003${py.map((f) => f.path).join('\u0001')}`;
    let index = this.index;
    const changed = new Set<PyModule>();
    if (!index || shape !== this.shape) {
      index = indexForProgram(ctx, tracked);
      this.index = index;
      this.shape = shape;
      this.logs = new Map();
      this.closures = new ClosureCache();
      this.programs = undefined;
    } else {
      let structural = false;
      for (const f of py) {
        const m = index.byPath(f.path);
        if (!m || (m.contentHash === f.contentHash && m.facts === f.facts)) continue;
        // New fact objects count as a change even for the same text: cached results hold facts
        // by identity, and mixing two copies of one fact would break the de-duplication.
        changed.add(m);
        const setup = (x: PyModule) => (x.moduleFact?.setupEntryPoints ? JSON.stringify(x.moduleFact.setupEntryPoints.entries) : '');
        const before = { edges: this.closures.edges.get(m), main: m.moduleFact?.mainGuard, app: m.moduleFact?.application, setup: setup(m) };
        index.updateFacts(m, f);
        // Programs (entry points, closures) depend on the static imports and the entry-point
        // flags only: when an edit keeps both, the program list stays as it is.
        const edges = staticImports(index, m);
        if (!before.edges || before.edges.length !== edges.length || before.edges.some((x, i) => x !== edges[i])) structural = true;
        if (before.main !== m.moduleFact?.mainGuard || before.app !== m.moduleFact?.application) structural = true;
        // A setup.py's entry points are entry points of the program list.
        if (before.setup !== setup(m)) structural = true;
        this.closures.edges.set(m, edges);
      }
      if (structural) {
        this.closures.forget(changed);
        this.programs = undefined;
      }
    }
    const tIndex = Date.now();
    // A model built once (`tracked` false) is never updated: keeping every summary by content
    // for a later build (keys of every function's text) would cost it time and memory for nothing.
    const builder = new ModelBuilder(index, ctx.config, tracked ? this.summaries : undefined);
    const protectionKey = builder.protection.fingerprint();
    if (protectionKey !== this.protectionKey) {
      this.logs = new Map();
      this.protectionKey = protectionKey;
    }
    const tProtection = Date.now();
    const programs = (this.programs ??= buildPrograms(index, ctx.projectFiles, this.closures));
    const tPrograms = Date.now();
    return { started, index, changed, builder, programs, tIndex, tProtection, tPrograms };
  }

  /** Replays (or reuses the logs of) every program in this thread, in program order. */
  private replay(p: Prepared, keepLogs = true): Replayed {
    const { index, builder, programs, changed } = p;
    const logs: ProgramLog[] = [];
    let reused = 0;
    const stale = (log: ProgramLog) => changed.size > 0 && log.touched.some((m) => changed.has(m));
    let runMs = 0;
    if (index.modules.length) {
      const keys = programKeys(programs);
      for (let i = 0; i < programs.length; i++) {
        const old = this.logs.get(keys[i]);
        let log: ProgramLog;
        if (old && !stale(old) && builder.reuse(old)) {
          log = old;
          reused++;
        } else {
          const t = performance.now();
          log = builder.runProgram(programs[i].root);
          runMs += performance.now() - t;
        }
        builder.apply(log);
        if (keepLogs) logs.push(log);
      }
    }
    return { logs, reused, runMs };
  }

  private finish(p: Prepared, replayed: Replayed): PythonModel {
    const { index, builder, programs, started } = p;
    const keys = programKeys(programs);
    this.logs = new Map(replayed.logs.map((log, i) => [keys[i], log]));
    const tReplay = Date.now();
    return {
      index,
      programs,
      effects: builder.effects,
      forkAfterThreads: [...builder.results.forkAfterThreads.values()],
      cachesAcrossFork: [...builder.results.caches.values(), ...pooledCachesAcrossFork(index, builder.protection)],
      closeAllsWithoutExec: [...builder.results.closeAlls.values()],
      stats: {
        modules: index.modules.length,
        programs: programs.length,
        functionRuns: builder.stats.functionRuns,
        laterRuns: builder.stats.laterRuns,
        pathReplays: builder.stats.pathReplays,
        reusedPrograms: replayed.reused,
        changedModules: p.changed.size,
        ms: Date.now() - started,
        phases: {
          index: p.tIndex - started,
          protection: p.tProtection - p.tIndex,
          programs: p.tPrograms - p.tProtection,
          replay: Math.round(replayed.runMs),
          reuse: Math.max(0, tReplay - p.tPrograms - Math.round(replayed.runMs)),
          ...(replayed.shared ? { shared: replayed.shared } : {}),
        },
      },
    };
  }
}

/** What {@link PythonModelCache} has before the replays. */
interface Prepared {
  started: number;
  index: PyModuleIndex;
  changed: Set<PyModule>;
  builder: ModelBuilder;
  programs: PyProgram[];
  tIndex: number;
  tProtection: number;
  tPrograms: number;
}

/** Each program's key across builds: its root's, numbered when two programs share a root. */
function programKeys(programs: readonly PyProgram[]): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const p of programs) {
    let k = rootKey(p.root);
    for (let n = 2; seen.has(k); n++) k = `${rootKey(p.root)}#${n}`;
    seen.add(k);
    keys.push(k);
  }
  return keys;
}

const BATCH = new WeakMap<readonly unknown[], PythonModelCache>();

/**
 * The Python model of a workspace. With `ctx.cache` (the language server's incremental
 * evaluator, or one batch evaluation) the model lives in that cache and is updated
 * incrementally between evaluations ({@link PythonModelCache}); the rules of one evaluation
 * share it. Without one it is memoised on the `files` array.
 */
export function pythonModel(ctx: ProgramContext): PythonModel {
  if (ctx.cache) return ctx.cache.get(PYTHON_MODEL_KEY, () => new PythonModelCache()).model(ctx);
  let cache = BATCH.get(ctx.files);
  if (!cache) BATCH.set(ctx.files, (cache = new PythonModelCache()));
  return cache.model(ctx);
}

/**
 * {@link pythonModel} for a scan: built now, once (never updated afterwards, see
 * {@link PythonModelCache.modelOnce}), with the program replays shared with `helper` when
 * there is one (see `python-replay-share.ts`), and kept in `ctx.cache`, where the rules of the
 * evaluation that follows find it. The same model {@link pythonModel} builds.
 */
export function pythonModelOnce(ctx: ProgramContext & { cache: NonNullable<ProgramContext['cache']> }, helper?: ReplayHelper): Promise<PythonModel> {
  return ctx.cache.get(PYTHON_MODEL_KEY, () => new PythonModelCache()).modelOnce(ctx, helper);
}

/** Key of the Python model in a {@link ModelCache}. */
export const PYTHON_MODEL_KEY = 'model:python';
