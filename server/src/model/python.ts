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
 */
import type { ProgramContext, ProgramSettings } from './program-context';
import type { FileAnalysis } from '../analysis/results';
import type { Range } from '../text/locations';
import type {
  PyAtForkFact,
  PyCallFact,
  PyFdRevalidateFact,
  PyCloseAllFact,
  PyFdCacheFact,
  PyForkFact,
  PyImportFact,
  PyKeepArgument,
  PythonFact,
  PyWithEnterFact,
} from '../facts/python/program-facts';
import { defaultStartMethod, PY_FORKING_START_METHODS, PY_PROCESS_STARTERS, PY_THREAD_STARTERS } from '../knowledge/python-process';
import { PyModuleIndex, TouchTracker, type PyModule, type PySymbol } from './python-modules';
import { projectEntryPoints, type EntryPoint } from './python-project';
import { closure, libraryRootOrder, push, siteKey, toSteps, type ChainNode, type ProgramStep } from './program-graph';
import * as nodePath from 'node:path';

/** One location of an evidence chain. */
export type PyStep = ProgramStep;

/** Something that happened at a site, with the path (imports, calls) that led there from the root. */
export interface PyEvent<F extends PythonFact = PythonFact> {
  module: PyModule;
  fact: F;
  /** How the program got there: steps from the entry point, not including the site. */
  chain: PyStep[];
  /** The entry point whose program showed this. */
  root: PyRoot;
  /** True when the site ran in the "later" phase (a function not reached in program order). */
  later: boolean;
}

export interface PyThreadEvent extends PyEvent {
  api: string;
  note: string;
}

export interface PyForkEvent extends PyEvent<PyForkFact> {
  /** multiprocessing: the effective start method and where it came from. */
  method?: string;
  methodSource?: 'explicit' | 'default' | 'set_start_method';
  setter?: PyEvent;
}

export type PyCacheEvent = PyEvent<PyFdCacheFact>;
export type PyCloseAllEvent = PyEvent<PyCloseAllFact>;

export interface PyForkAfterThreads {
  fork: PyForkEvent;
  thread: PyThreadEvent;
}

export interface PyCacheAcrossFork {
  cache: PyCacheEvent;
  fork: PyForkEvent;
  closeAll?: PyCloseAllEvent;
  /** A descriptor opened after the close-all, which may get the cached number. */
  reuse?: PyCacheEvent;
}

export interface PyCloseAllWithoutExec {
  closeAll: PyCloseAllEvent;
  fork?: PyForkEvent;
  caches: PyCacheEvent[];
}

export interface PyRoot {
  module: PyModule;
  /**
   * `script`: a file without an extension whose `#!` line runs Python (`bin/deploy`);
   * `console-script`: a console or GUI script, whose function runs as the program's main;
   * `wsgi-script`: a pbr `wsgi_scripts` entry, whose function is called once at load to get
   * the WSGI application that a WSGI server embeds.
   */
  kind: 'main' | 'dunder-main' | 'script' | 'console-script' | 'wsgi-script' | 'wsgi' | 'application' | 'library';
  asMain: boolean;
  script?: EntryPoint;
}

/** The step of an evidence chain where a script entry point calls its function. */
export function scriptStep(script: EntryPoint): PyStep {
  const target = `${script.module}:${script.object}`;
  const message =
    script.kind === 'wsgi'
      ? `WSGI script '${script.name}' (${script.group}) calls ${target}() to get the application a WSGI server embeds`
      : `${script.kind === 'gui' ? 'GUI' : 'console'} script '${script.name}' calls ${target}`;
  return { path: script.path, range: script.range, message };
}

export interface PyProgram {
  root: PyRoot;
  /** Every module the root can import (statically, including function-level imports). */
  modules: Set<PyModule>;
}

export interface PythonModel {
  index: PyModuleIndex;
  programs: PyProgram[];
  forkAfterThreads: PyForkAfterThreads[];
  cachesAcrossFork: PyCacheAcrossFork[];
  closeAllsWithoutExec: PyCloseAllWithoutExec[];
  /**
   * Size of the work done by the build that produced this model (for the benchmark):
   * `functionRuns`/`laterRuns` count only the programs replayed by this build,
   * `reusedPrograms` those whose earlier replay was reused, `changedModules` the modules
   * re-indexed since the previous build (0 after a full build).
   */
  stats: {
    modules: number;
    programs: number;
    functionRuns: number;
    laterRuns: number;
    reusedPrograms: number;
    changedModules: number;
    ms: number;
    /**
     * Where `ms` went: index upkeep, fork protections, program list (closures), replaying
     * programs, and checking/reusing/applying the logs of all programs.
     */
    phases: { index: number; protection: number; programs: number; replay: number; reuse: number };
  };
}

// ---------------------------------------------------------------------------------------

interface Live<F extends PythonFact = PythonFact> {
  module: PyModule;
  fact: F;
  chain: ChainNode | undefined;
  later: boolean;
}

interface LiveThread extends Live {
  api: string;
  note: string;
}

interface LiveFork extends Live<PyForkFact> {
  method?: string;
  methodSource?: PyForkEvent['methodSource'];
  setter?: Live;
}

interface Hit {
  cache: Live<PyFdCacheFact>;
  key: string;
  fork: LiveFork;
  closeAll?: Live<PyCloseAllFact>;
  reuse?: Live<PyFdCacheFact>;
  cancelled?: boolean;
}

interface SimState {
  threads?: LiveThread;
  lastFork?: LiveFork;
  startMethod?: { method: string; at: Live };
  live: Map<string, Live<PyFdCacheFact>>;
  hits: Hit[];
  lastCloseAll?: Live<PyCloseAllFact>;
  later: boolean;
}

export interface RunCtx {
  chain: ChainNode | undefined;
  /** An exec/_exit follows the current call in some caller. */
  execAfter: boolean;
  depth: number;
  asMain: boolean;
  /** What the call that entered this function passed as its keep-list (close-all helpers). */
  keepArgument?: PyKeepArgument;
}

/** How deep a replay follows calls. */
export const MAX_CALL_DEPTH = 24;

class Results {
  readonly forkAfterThreads = new Map<string, PyForkAfterThreads>();
  readonly caches = new Map<string, PyCacheAcrossFork>();
  readonly closeAlls = new Map<string, PyCloseAllWithoutExec>();
}

const PROTECTION_FACTS = new WeakMap<readonly PythonFact[], (PyFdRevalidateFact | PyAtForkFact)[]>();

/** The facts of a file that protections read, found once per fact array (not once per build). */
function protectionFacts(facts: readonly PythonFact[]): (PyFdRevalidateFact | PyAtForkFact)[] {
  let out = PROTECTION_FACTS.get(facts);
  if (!out) {
    out = facts.filter((f): f is PyFdRevalidateFact | PyAtForkFact => f.kind === 'py.fd-revalidate' || f.kind === 'py.at-fork');
    PROTECTION_FACTS.set(facts, out);
  }
  return out;
}

/** Precomputed per model: which caches are protected (re-validated / reset at fork). */
class Protection {
  private readonly revalidated = new Map<PyModule, Set<string>>();
  private readonly reset = new Map<PyModule, Set<string>>();

  constructor(index: PyModuleIndex) {
    for (const m of index.modules) {
      for (const f of protectionFacts(m.facts)) {
        if (f.kind === 'py.fd-revalidate') {
          const set = this.revalidated.get(m) ?? new Set();
          for (const n of f.names) set.add(n);
          this.revalidated.set(m, set);
        } else if (f.kind === 'py.at-fork' && f.handler && f.origin) {
          const sym = index.resolve(m, f.handler, f.origin);
          if (sym?.kind !== 'function') continue;
          const set = this.reset.get(sym.module) ?? new Set();
          for (const n of sym.fact.globalAssigns ?? []) set.add(n);
          for (const n of sym.fact.attributeAssigns ?? []) set.add(n);
          this.reset.set(sym.module, set);
        }
      }
    }
  }

  /** Everything the protections say, as a string: a change invalidates every program's replay. */
  fingerprint(): string {
    const part = (map: Map<PyModule, Set<string>>) =>
      [...map].map(([m, names]) => `${m.abs}:${[...names].sort().join(',')}`).sort().join(';');
    return `${part(this.revalidated)}|${part(this.reset)}`;
  }

  why(m: PyModule, f: PyFdCacheFact): 'revalidated' | 'reset' | undefined {
    const last = f.name.slice(f.name.lastIndexOf('.') + 1);
    if (this.revalidated.get(m)?.has(last)) return 'revalidated';
    if (this.reset.get(m)?.has(f.name)) return 'reset';
    return undefined;
  }
}

/**
 * Program order of one root, the skeleton of a replay: the root module runs (its packages'
 * `__init__` first), then a declared script's function; an import runs the modules it names
 * that have not run yet. A replay says what the facts of a body do ({@link runBody}) and how a
 * call enters a function ({@link runFunction}); one that sets `stopped` runs nothing more.
 */
export abstract class ProgramOrder {
  protected readonly loaded = new Set<PyModule>();
  protected stopped = false;

  constructor(
    protected readonly index: PyModuleIndex,
    protected readonly root: PyRoot,
  ) {}

  run(): void {
    const { root } = this;
    const ctx: RunCtx = { chain: undefined, execAfter: false, depth: 0, asMain: false };
    this.runModule(root.module, ctx, root.asMain);
    if (root.script?.object && !this.stopped) {
      const step = scriptStep(root.script);
      const sym = this.index.member(root.module, root.script.object.split('.'));
      if (sym?.kind === 'function') this.runFunction(sym.module, sym.name, { ...ctx, chain: push(undefined, step) });
    }
  }

  /** Runs a module's top level the first time it is imported; `asMain`: it runs as `__main__`. */
  protected runModule(m: PyModule, ctx: RunCtx, asMain = false): void {
    if (this.loaded.has(m) || this.stopped) return;
    this.index.tracker?.touch(m);
    for (const p of m.parents) this.runModule(p, ctx);
    if (this.loaded.has(m) || this.stopped) return;
    this.loaded.add(m);
    this.runBody(m, '', { ...ctx, asMain });
    this.moduleRan(m);
  }

  /** An import statement of `m` that names `targets`. */
  protected runImport(m: PyModule, f: PyImportFact, targets: readonly PyModule[], ctx: RunCtx): void {
    if (!targets.length || targets.every((t) => this.loaded.has(t))) return;
    const chain = push(ctx.chain, { path: m.path, range: f.range, message: 'imported from here' });
    for (const t of targets) this.runModule(t, { ...ctx, chain });
  }

  /** After a module's top level ran. */
  protected moduleRan(_m: PyModule): void {}

  protected abstract runFunction(m: PyModule, name: string, ctx: RunCtx): void;

  protected abstract runBody(m: PyModule, fn: string, ctx: RunCtx): void;
}

/** Replays one program (one root). */
class ProgramSim extends ProgramOrder {
  private readonly executed = new Set<string>();
  private readonly running = new Set<string>();
  private readonly memo = new Map<string, LiveThread | null>();
  private state: SimState = { live: new Map(), hits: [], later: false };
  /** Functions that may run later (callbacks, methods of created objects, registered functions). */
  private readonly candidates: { module: PyModule; name: string; chain: ChainNode | undefined }[] = [];
  private readonly candidateKeys = new Set<string>();

  constructor(
    private readonly model: ModelBuilder,
    root: PyRoot,
  ) {
    super(model.index, root);
  }

  override run(): void {
    const { root } = this;
    super.run();
    this.commit();
    // The "later" phase: functions that program order did not reach but that may run after
    // it — the root module's own functions, callables passed as arguments, methods of objects
    // the program created, functions registered by decorators — each replayed from the state
    // program order ended in (and what those replays reach, in turn). A function already
    // replayed from the same kind of state (by this program or an earlier one) is not replayed
    // again: its findings are recorded with the evidence of the first program that showed them.
    const end = this.state;
    const signature = `${end.threads ? 1 : 0}${end.lastFork ? 1 : 0}|${end.startMethod?.method ?? ''}|${[...end.live.keys()].sort().join(',')}`;
    for (const name of root.module.functions.keys()) this.addCandidate(root.module, name, undefined);
    for (const cls of root.module.classes.keys()) this.addClass(root.module, cls, undefined);
    for (let i = 0; i < this.candidates.length; i++) {
      const { module: m, name, chain } = this.candidates[i];
      const key = `${m.abs}#${name}`;
      if (this.executed.has(key) || !this.model.interesting(m, name)) continue;
      if (!this.model.firstLaterReplay(`${key}|${signature}`)) continue;
      this.state = {
        threads: end.threads,
        lastFork: end.lastFork,
        startMethod: end.startMethod,
        live: new Map(end.live),
        hits: [],
        lastCloseAll: end.lastCloseAll,
        later: true,
      };
      this.model.stats.laterRuns++;
      this.runFunction(m, name, { chain, execAfter: false, depth: 0, asMain: false });
      this.commit();
    }
  }

  private addCandidate(module: PyModule, name: string, chain: ChainNode | undefined): void {
    const key = `${module.abs}#${name}`;
    if (this.candidateKeys.has(key)) return;
    this.candidateKeys.add(key);
    this.candidates.push({ module, name, chain });
  }

  private addClass(module: PyModule, cls: string, chain: ChainNode | undefined): void {
    for (const meth of this.model.index.allMethods(module, cls)) this.addCandidate(meth.module, meth.name, chain);
  }

  private live<F extends PythonFact>(m: PyModule, f: F, ctx: RunCtx): Live<F> {
    return { module: m, fact: f, chain: ctx.chain, later: this.state.later };
  }

  protected override moduleRan(m: PyModule): void {
    for (const [name, fn] of m.functions) {
      if (fn.registered) this.addCandidate(m, name, push(undefined, { path: m.path, range: fn.range, message: 'registered by a decorator here; it may run later' }));
    }
  }

  protected runFunction(m: PyModule, name: string, ctx: RunCtx): void {
    if (ctx.depth > MAX_CALL_DEPTH) return;
    if (!this.loaded.has(m)) this.runModule(m, ctx);
    const key = `${m.abs}#${name}`;
    if (this.running.has(key)) return;
    const st = this.state;
    const memoKey = `${key}|${st.threads ? 1 : 0}${st.lastFork ? 1 : 0}${st.lastCloseAll ? 1 : 0}${ctx.execAfter ? 1 : 0}|${st.later ? 1 : 0}|${st.live.size}|${ctx.keepArgument ?? ''}`;
    const seen = this.memo.get(memoKey);
    if (seen !== undefined) {
      if (seen && !this.state.threads) this.state.threads = seen;
      return;
    }
    this.executed.add(key);
    this.running.add(key);
    this.model.stats.functionRuns++;
    const before = this.state.threads;
    this.runBody(m, name, { ...ctx, depth: ctx.depth + 1, asMain: false });
    this.running.delete(key);
    this.memo.set(memoKey, !before && this.state.threads ? this.state.threads : null);
  }

  protected runBody(m: PyModule, fn: string, ctx: RunCtx): void {
    this.model.tracker.touch(m);
    const steps = m.bodies.get(fn);
    if (!steps) return;
    let lastExec = -1;
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i];
      if (s.kind === 'py.exec' && (!s.underMainGuard || fn !== '' || ctx.asMain)) {
        lastExec = i;
        break;
      }
    }
    // Callables passed and objects created at import time of other modules are library
    // plumbing (a module-level default context, an atexit hook): only those of the root module
    // and of code that actually runs in a function count as "may run later".
    const notes = fn !== '' || m === this.root.module;
    for (let i = 0; i < steps.length; i++) {
      const f = steps[i];
      // The main block runs only in the module that is `__main__` (functions defined inside
      // it carry the flag too, but run whenever they are called).
      if (f.underMainGuard && fn === '' && !ctx.asMain) continue;
      switch (f.kind) {
        case 'py.import':
          this.runImport(m, f, this.model.importTargets(m, f), ctx);
          break;
        case 'py.call': {
          const t = this.model.callTarget(m, f);
          if (!t) break;
          const chain = push(ctx.chain, { path: m.path, range: f.range, message: 'called here' });
          const cls = notes ? this.model.classOf(m, f) : undefined;
          if (cls) this.addClass(cls.module, cls.name, push(ctx.chain, { path: m.path, range: f.range, message: 'object created here; its methods may run later' }));
          this.runFunction(t.module, t.name, { ...ctx, chain, execAfter: ctx.execAfter || lastExec > i, keepArgument: f.keepArgument });
          break;
        }
        case 'py.with-enter': {
          // `with detached(...):` runs the entered object's `__enter__` right after the call.
          const t = this.model.enterTarget(m, f);
          if (!t) break;
          const chain = push(ctx.chain, { path: m.path, range: f.range, message: `entered here by with: runs ${t.name.replace(/\.[^.]+$/, '')}.__enter__ (${t.name})` });
          this.runFunction(t.module, t.name, { ...ctx, chain, execAfter: ctx.execAfter || lastExec > i, keepArgument: undefined });
          break;
        }
        case 'py.ref': {
          if (!notes) break;
          const sym = this.model.symbolOf(m, f, f.name, f.origin);
          const chain = push(ctx.chain, { path: m.path, range: f.range, message: 'passed here; it may be called later' });
          if (sym?.kind === 'function') this.addCandidate(sym.module, sym.name, chain);
          else if (sym?.kind === 'class') this.addClass(sym.module, sym.name, chain);
          break;
        }
        case 'py.thread-start':
          this.threadStarted({ ...this.live(m, f, ctx), api: f.api, note: f.note });
          break;
        case 'py.object-start': {
          const sym = notes ? this.model.symbolOf(m, f, f.constructorName, f.origin) : undefined;
          if (sym?.kind === 'class') this.addClass(sym.module, sym.name, push(ctx.chain, { path: m.path, range: f.range, message: 'started here; its methods may run later' }));
          const what = this.model.classify(m, f.constructorName, f.origin, f.method);
          const shown = f.constructorName.replace(/^\.+/, '');
          if (what?.kind === 'thread') this.threadStarted({ ...this.live(m, f, ctx), api: `${what.base} subclass ${shown}.${f.method}()`, note: 'starts a thread' });
          else if (what?.kind === 'process') {
            const synthetic: PyForkFact = {
              kind: 'py.fork',
              range: f.range,
              enclosingFunction: f.enclosingFunction,
              api: `${shown}.${f.method}() (a ${what.base} subclass)`,
              via: 'multiprocessing',
              startMethod: 'default',
              child: 'continues',
            };
            this.fork({ ...this.live(m, synthetic, ctx) });
          }
          break;
        }
        case 'py.fork':
          this.fork(this.live(m, f, ctx));
          break;
        case 'py.close-all':
          this.closeAll(this.live(m, f, ctx), ctx.execAfter || lastExec > i, ctx.keepArgument);
          break;
        case 'py.fd-cache':
          this.cached(this.live(m, f, ctx));
          break;
        case 'py.start-method':
          if (f.method !== 'unknown') this.state.startMethod = { method: f.method, at: this.live(m, f, ctx) };
          break;
        default:
          break;
      }
    }
  }

  private threadStarted(t: LiveThread): void {
    if (!this.state.threads) this.state.threads = t;
  }

  private fork(ev: LiveFork): void {
    const f = ev.fact;
    const s = this.state;
    if (f.via === 'multiprocessing') {
      // The extractor gives every multiprocessing fork a start method ('default' when none is named).
      let method = f.startMethod!;
      if (method === 'default') {
        if (s.startMethod) {
          method = s.startMethod.method;
          ev.methodSource = 'set_start_method';
          ev.setter = s.startMethod.at;
        } else {
          method = defaultStartMethod(this.model.config.pythonVersion);
          ev.methodSource = 'default';
        }
      } else ev.methodSource = 'explicit';
      ev.method = method;
    }
    const forking = f.via !== 'multiprocessing' || PY_FORKING_START_METHODS.has(ev.method!);
    if (forking) {
      const threads = f.inChild ? undefined : s.threads;
      if (threads) this.model.recordForkAfterThreads(this.root, ev, threads);
      const continues = f.via !== 'os' || f.child === 'continues';
      if (continues) {
        s.lastFork = ev;
        for (const [key, cache] of s.live) s.hits.push({ cache, key, fork: ev });
      }
      if (f.parentExits) s.threads = undefined;
    }
    if (f.threadsAfter && !s.threads) s.threads = { ...ev, api: f.api, note: 'starts helper threads in the parent' };
  }

  private closeAll(ev: Live<PyCloseAllFact>, execAfter: boolean, keepArgument: PyKeepArgument | undefined): void {
    const f = ev.fact;
    const s = this.state;
    if (f.keepList || f.execFollows || execAfter) return;
    // A helper that spares what its caller passes: a close-all only when that is nothing or
    // only the standard streams (a caller we cannot see is given the benefit of the doubt).
    if (f.keepParameter && keepArgument !== 'none' && keepArgument !== 'stdio-only') return;
    if (!s.lastFork && !f.inChild) return;
    const caches = [...s.live.values()].filter((c) => !this.model.protection.why(c.module, c.fact));
    this.model.recordCloseAll(this.root, ev, s.lastFork, caches);
    for (const h of s.hits) if (!h.closeAll && !h.cancelled) h.closeAll = ev;
    s.lastCloseAll = ev;
  }

  private cached(ev: Live<PyFdCacheFact>): void {
    const s = this.state;
    const key = `${ev.module.abs}#${ev.fact.name}`;
    for (const h of s.hits) {
      if (h.key === key) h.cancelled = true;
      else if (h.closeAll && !h.reuse) h.reuse = ev;
    }
    s.live.set(key, ev);
  }

  private commit(): void {
    for (const h of this.state.hits) {
      if (h.cancelled) continue;
      if (this.model.protection.why(h.cache.module, h.cache.fact)) continue;
      // A cache opened lazily inside a function only counts in the ordered phase, where we
      // know it was opened before the fork.
      this.model.recordCache(this.root, h);
    }
    this.state.hits = [];
  }
}

/** One recorded result; `key` is the site it is about (computed once, when recorded). */
type LogOp =
  | { k: 'fork'; key: string; root: PyRoot; fork: LiveFork; thread: LiveThread }
  | { k: 'close'; key: string; root: PyRoot; ev: Live<PyCloseAllFact>; fork: LiveFork | undefined; caches: Live<PyFdCacheFact>[] }
  | { k: 'cache'; key: string; root: PyRoot; h: Hit };

/** What replaying one program produced: kept by the incremental model while its inputs stay the same. */
interface ProgramLog {
  ops: LogOp[];
  /** Later-phase replays asked for, in order, and whether this program was the first to ask. */
  queries: [string, boolean][];
  /** Every module whose facts the replay read (directly or through memoised lookups). */
  touched: readonly PyModule[];
}

/** A memoised answer and the modules whose facts computing it read. */
interface Memo<T> {
  v: T;
  t: readonly PyModule[];
}

type CallInfo = { target?: { module: PyModule; name: string }; cls?: { module: PyModule; name: string } };

class ModelBuilder {
  readonly results = new Results();
  readonly protection: Protection;
  readonly tracker: TouchTracker;
  private readonly interestMemo = new Map<string, Memo<boolean>>();
  private readonly classMemo = new Map<string, Memo<{ kind: 'thread' | 'process'; base: string } | undefined>>();

  constructor(
    readonly index: PyModuleIndex,
    readonly config: ProgramSettings,
  ) {
    this.tracker = index.tracker ??= new TouchTracker();
    this.protection = new Protection(index);
  }

  private readonly callMemo = new Map<PythonFact, Memo<CallInfo>>();
  private readonly importMemo = new Map<PythonFact, PyModule[]>();
  private readonly refMemo = new Map<PythonFact, Memo<ReturnType<PyModuleIndex['resolve']>>>();
  private readonly enterMemo = new Map<PythonFact, Memo<{ module: PyModule; name: string } | undefined>>();

  /** Memoised `compute`, recording (and on a hit, replaying) the modules it read into the open computations. */
  private memo<K, T>(map: Map<K, Memo<T>>, key: K, compute: () => T): T {
    const hit = map.get(key);
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
    this.tracker.begin();
    const v = compute();
    map.set(key, { v, t: this.tracker.end() });
    return v;
  }

  private call(m: PyModule, f: PyCallFact): CallInfo {
    return this.memo(this.callMemo, f, () => {
      const c: CallInfo = {};
      const sym = this.index.resolve(m, f.callee, f.origin);
      if (sym?.kind === 'class') c.cls = { module: sym.module, name: sym.name };
      const target = this.index.runs(sym);
      if (target) c.target = { module: target.module, name: target.name };
      return c;
    });
  }

  /**
   * The `__enter__` a `with` item runs: the class's own (or its alias, `__enter__ = open`) when
   * the call makes an object of a workspace class, or the one of the class a called function
   * returns an object of (`def detached(...): return DaemonContext(...)`).
   */
  enterTarget(m: PyModule, f: PyWithEnterFact): { module: PyModule; name: string } | undefined {
    return this.memo(this.enterMemo, f, () => {
      const enterOf = (sym: PySymbol | undefined) => {
        if (sym?.kind !== 'class') return undefined;
        const enter = this.index.method(sym.module, sym.name, '__enter__');
        return enter?.kind === 'function' ? { module: enter.module, name: enter.name } : undefined;
      };
      const sym = this.index.resolve(m, f.callee, f.origin);
      if (sym?.kind === 'class') return enterOf(sym);
      if (sym?.kind !== 'function') return undefined;
      for (const step of sym.module.bodies.get(sym.name) ?? []) {
        if (step.kind !== 'py.returns-object') continue;
        const found = enterOf(this.index.resolve(sym.module, step.constructorName, step.origin));
        if (found) return found;
      }
      return undefined;
    });
  }

  /** The workspace function a call runs (a class call runs its `__init__`), memoised per fact. */
  callTarget(m: PyModule, f: PyCallFact): { module: PyModule; name: string } | undefined {
    return this.call(m, f).target;
  }

  /** The workspace class a call instantiates, if any. */
  classOf(m: PyModule, f: PyCallFact): { module: PyModule; name: string } | undefined {
    return this.call(m, f).cls;
  }

  /** What a name passed as an argument (or a started object's class) refers to, memoised per fact. */
  symbolOf(m: PyModule, f: PythonFact, name: string, origin: 'import' | 'local' | 'builtin'): ReturnType<PyModuleIndex['resolve']> {
    return this.memo(this.refMemo, f, () => this.index.resolve(m, name, origin));
  }

  importTargets(m: PyModule, f: PyImportFact): PyModule[] {
    let t = this.importMemo.get(f);
    if (!t) {
      t = this.index.importTargets(m, f);
      this.importMemo.set(f, t);
    }
    return t;
  }

  /**
   * Can running this function (with what it calls and imports) reach a fork or a close-all?
   * Only such functions are replayed in the "later" phase: a thread start or a cache there
   * matters only when a fork follows in the same replay.
   *
   * Plain reachability over the call/import graph, memoised so that the answer never depends
   * on which function was asked first (a memo filled while a cycle was still open would):
   * the incremental model replays only some programs, in a fresh builder, and must get the
   * answers a full build gets.
   */
  interesting(m: PyModule, fn: string): boolean {
    const start = `${m.abs}#${fn}`;
    const known = this.interestMemo.get(start);
    if (known) {
      this.tracker.add(known.t);
      return known.v;
    }
    this.tracker.begin();
    const parent = new Map<string, string | null>([[start, null]]);
    const queue: { m: PyModule; fn: string; key: string }[] = [{ m, fn, key: start }];
    let found: string | undefined;
    search: for (let qi = 0; qi < queue.length; qi++) {
      const cur = queue[qi];
      this.tracker.touch(cur.m);
      const visit = (t: PyModule, tfn: string): boolean => {
        const key = `${t.abs}#${tfn}`;
        const memo = this.interestMemo.get(key);
        if (memo) this.tracker.add(memo.t);
        if (memo?.v === true) return true;
        if (memo || parent.has(key)) return false;
        parent.set(key, cur.key);
        queue.push({ m: t, fn: tfn, key });
        return false;
      };
      for (const f of cur.m.bodies.get(cur.fn) ?? []) {
        let hit = false;
        if (f.kind === 'py.fork' || f.kind === 'py.close-all') hit = true;
        else if (f.kind === 'py.object-start') hit = this.classify(cur.m, f.constructorName, f.origin, f.method)?.kind === 'process';
        else if (f.kind === 'py.call') {
          const t = this.callTarget(cur.m, f);
          if (t) hit = visit(t.module, t.name);
        } else if (f.kind === 'py.with-enter') {
          const t = this.enterTarget(cur.m, f);
          if (t) hit = visit(t.module, t.name);
        } else if (f.kind === 'py.import') {
          for (const t of this.importTargets(cur.m, f)) {
            for (const p of t.parents) if (visit(p, '')) hit = true;
            if (visit(t, '')) hit = true;
          }
        }
        if (hit) {
          found = cur.key;
          break search;
        }
      }
    }
    // Every answer memoised here read at most what the whole search read.
    const t = this.tracker.end();
    if (found === undefined) {
      for (const key of parent.keys()) this.interestMemo.set(key, { v: false, t });
      return false;
    }
    for (let k: string | null | undefined = found; k; k = parent.get(k)) this.interestMemo.set(k, { v: true, t });
    return true;
  }

  /** {@link classifyStarted}, memoised. */
  classify(m: PyModule, ctor: string, origin: 'import' | 'local' | 'builtin', method: string): { kind: 'thread' | 'process'; base: string } | undefined {
    return this.memo(this.classMemo, `${m.abs}#${ctor}#${origin}#${method}`, () => classifyStarted(this.index, m, ctor, origin, method));
  }

  private event<F extends PythonFact>(root: PyRoot, l: Live<F>): PyEvent<F> {
    return { module: l.module, fact: l.fact, chain: toSteps(l.chain), root, later: l.later };
  }

  private forkEvent(root: PyRoot, l: LiveFork): PyForkEvent {
    const e: PyForkEvent = this.event(root, l);
    if (l.method) e.method = l.method;
    if (l.methodSource) e.methodSource = l.methodSource;
    if (l.setter) e.setter = this.event(root, l.setter);
    return e;
  }

  /** The log of the program being replayed: what it records, and which later replays it claimed. */
  log: ProgramLog | undefined;

  recordForkAfterThreads(root: PyRoot, fork: LiveFork, thread: LiveThread): void {
    this.log?.ops.push({ k: 'fork', key: siteKey(fork.module, fork.fact), root, fork, thread });
  }

  recordCloseAll(root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[]): void {
    this.log?.ops.push({ k: 'close', key: siteKey(ev.module, ev.fact), root, ev, fork, caches });
  }

  recordCache(root: PyRoot, h: Hit): void {
    this.log?.ops.push({ k: 'cache', key: siteKey(h.cache.module, h.cache.fact), root, h: { cache: h.cache, key: h.key, fork: h.fork, closeAll: h.closeAll, reuse: h.reuse } });
  }

  /** Applies the logs of the programs, in program order, to the results (first program wins, as in a single pass). */
  apply(log: ProgramLog): void {
    for (const op of log.ops) {
      if (op.k === 'fork') this.applyForkAfterThreads(op.key, op.root, op.fork, op.thread);
      else if (op.k === 'close') this.applyCloseAll(op.key, op.root, op.ev, op.fork, op.caches);
      else this.applyCache(op.key, op.root, op.h);
    }
  }

  private applyForkAfterThreads(key: string, root: PyRoot, fork: LiveFork, thread: LiveThread): void {
    if (this.results.forkAfterThreads.has(key)) return;
    this.results.forkAfterThreads.set(key, {
      fork: this.forkEvent(root, fork),
      thread: { ...this.event(root, thread), api: thread.api, note: thread.note },
    });
  }

  private applyCloseAll(key: string, root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[]): void {
    let r = this.results.closeAlls.get(key);
    if (!r) {
      r = { closeAll: this.event(root, ev), caches: [] };
      if (fork) r.fork = this.forkEvent(root, fork);
      this.results.closeAlls.set(key, r);
    } else if (!r.fork && fork) r.fork = this.forkEvent(root, fork);
    for (const c of caches) {
      if (!r.caches.some((x) => x.module === c.module && x.fact === c.fact)) r.caches.push(this.event(root, c));
    }
  }

  private applyCache(key: string, root: PyRoot, h: Hit): void {
    const old = this.results.caches.get(key);
    if (old && (old.closeAll || !h.closeAll)) return;
    const r: PyCacheAcrossFork = { cache: this.event(root, h.cache), fork: this.forkEvent(root, h.fork) };
    if (h.closeAll) r.closeAll = this.event(root, h.closeAll);
    if (h.reuse) r.reuse = this.event(root, h.reuse);
    this.results.caches.set(key, r);
  }

  /** Replays one program, returning its log (not yet applied to the results). */
  runProgram(root: PyRoot): ProgramLog {
    const log: ProgramLog = { ops: [], queries: [], touched: [] };
    this.log = log;
    const level = this.tracker.begin();
    try {
      new ProgramSim(this, root).run();
    } finally {
      this.log = undefined;
      log.touched = this.tracker.endAt(level);
    }
    return log;
  }

  /**
   * Reuses the log of a program replayed by an earlier build, when the later replays it
   * claimed and skipped are still claimed and skipped the same way by the programs before it
   * (a program skips a later replay an earlier program already did): then its replay would
   * go exactly as before. Returns false (and changes nothing) otherwise.
   */
  reuse(log: ProgramLog): boolean {
    const added: string[] = [];
    for (const [key, first] of log.queries) {
      const now = !this.laterReplays.has(key);
      if (now !== first) {
        for (const k of added) this.laterReplays.delete(k);
        return false;
      }
      if (now) {
        this.laterReplays.add(key);
        added.push(key);
      }
    }
    return true;
  }

  private readonly laterReplays = new Set<string>();

  /** True the first time a (function, starting state) pair is replayed in the later phase. */
  firstLaterReplay(key: string): boolean {
    const first = !this.laterReplays.has(key);
    if (first) this.laterReplays.add(key);
    this.log?.queries.push([key, first]);
    return first;
  }

  /** Counters for the benchmark and for tuning (not part of the results). */
  readonly stats = { functionRuns: 0, laterRuns: 0 };
}

/**
 * Is `ctor` (used in `m`) a workspace class that `method` starts as a thread or a process: a
 * class known as a thread or process starter (the library as workspace), or one deriving from
 * such a class? `base` names that class.
 */
export function classifyStarted(index: PyModuleIndex, m: PyModule, ctor: string, origin: 'import' | 'local' | 'builtin', method: string): { kind: 'thread' | 'process'; base: string } | undefined {
  let out: { kind: 'thread' | 'process'; base: string } | undefined;
  const sym = index.resolve(m, ctor, origin);
  if (sym?.kind === 'class') {
    const isThread = (n: string) => PY_THREAD_STARTERS.get(n)?.methods?.includes(method) ?? false;
    const isProcess = (n: string) => PY_PROCESS_STARTERS.get(n)?.methods?.includes(method) ?? false;
    const self = sym.module.names.length ? `${sym.module.names[0]}.${sym.name}` : sym.name;
    if (isThread(self)) out = { kind: 'thread', base: self };
    else if (isProcess(self)) out = { kind: 'process', base: self };
    else {
      const t = index.externalAncestor(sym.module, sym.name, isThread);
      if (t) out = { kind: 'thread', base: t };
      else {
        const p = index.externalAncestor(sym.module, sym.name, isProcess);
        if (p) out = { kind: 'process', base: p };
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Programs: entry points and library roots
// ---------------------------------------------------------------------------------------

const NO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/**
 * What running `m` imports, with where: its packages' `__init__` modules (at the module
 * itself), then the targets of each import statement in order.
 */
export function* importEdges(index: PyModuleIndex, m: PyModule): Generator<{ to: PyModule; edge: Range }> {
  for (const p of m.parents) yield { to: p, edge: m.moduleFact?.range ?? NO_RANGE };
  for (const f of m.facts) if (f.kind === 'py.import') for (const t of index.importTargets(m, f)) yield { to: t, edge: f.range };
}

function staticImports(index: PyModuleIndex, m: PyModule): PyModule[] {
  return Array.from(importEdges(index, m), (e) => e.to);
}

/** The declared entry points: project files, and the `setup.py` facts of the indexed modules. */
function declaredEntryPoints(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): EntryPoint[] {
  const setups = index.modules.filter((m) => m.moduleFact?.setupEntryPoints).map((m) => ({ path: m.path, language: 'python', facts: [m.moduleFact!] }));
  return projectEntryPoints(projectFiles, setups).entries;
}

function entryPoints(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): PyRoot[] {
  const roots: PyRoot[] = [];
  for (const m of index.modules) {
    const base = nodePath.basename(m.abs);
    if (base === '__main__.py') roots.push({ module: m, kind: 'dunder-main', asMain: true });
    else if (/\.wsgi$/i.test(base)) roots.push({ module: m, kind: 'wsgi', asMain: false });
    else if (m.moduleFact?.mainGuard) roots.push({ module: m, kind: 'main', asMain: true });
    // Only a `#!` line makes a file without an extension Python: it is run, not imported.
    else if (nodePath.extname(base) === '') roots.push({ module: m, kind: 'script', asMain: true });
    else if (m.moduleFact?.application) roots.push({ module: m, kind: 'application', asMain: false });
  }
  for (const script of declaredEntryPoints(index, projectFiles)) {
    if (script.kind === 'plugin') continue;
    const m = index.moduleByName(script.module);
    if (m) roots.push({ module: m, kind: script.kind === 'wsgi' ? 'wsgi-script' : 'console-script', asMain: false, script });
  }
  return roots;
}

/**
 * Static import edges and closures kept between builds; `forget` drops what a changed module
 * invalidates (its edges, and every closure holding it).
 */
class ClosureCache {
  readonly edges = new Map<PyModule, PyModule[]>();
  private readonly closures = new Map<PyModule, Set<PyModule>>();

  /** The static imports of `m`, computed once while it is unchanged. */
  imports(index: PyModuleIndex, m: PyModule): PyModule[] {
    let next = this.edges.get(m);
    if (!next) this.edges.set(m, (next = staticImports(index, m)));
    return next;
  }

  closure(index: PyModuleIndex, start: PyModule): Set<PyModule> {
    let c = this.closures.get(start);
    if (!c) this.closures.set(start, (c = closure(start, (m) => this.imports(index, m))));
    return c;
  }

  forget(changed: ReadonlySet<PyModule>): void {
    if (!changed.size) return;
    for (const m of changed) this.edges.delete(m);
    for (const [start, c] of this.closures) {
      for (const m of changed) {
        if (c.has(m)) {
          this.closures.delete(start);
          break;
        }
      }
    }
  }
}

function buildPrograms(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles'], cache = new ClosureCache()): PyProgram[] {
  const entries = entryPoints(index, projectFiles).sort((a, b) => (a.module.path < b.module.path ? -1 : a.module.path > b.module.path ? 1 : 0));
  const programs: PyProgram[] = entries.map((root) => ({ root, modules: cache.closure(index, root.module) }));
  const reached = new Set<PyModule>();
  for (const p of programs) for (const m of p.modules) reached.add(m);
  // Library roots: unreached modules that no other unreached module imports; then whatever
  // is left (import cycles), in path order.
  const rest = index.modules.filter((m) => !reached.has(m)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const m of libraryRootOrder(rest, (x) => cache.imports(index, x))) {
    if (reached.has(m)) continue;
    const root: PyRoot = { module: m, kind: 'library', asMain: false };
    const mods = cache.closure(index, m);
    for (const x of mods) reached.add(x);
    programs.push({ root, modules: mods });
  }
  return programs;
}

// ---------------------------------------------------------------------------------------

/** Identity of a program across builds: its root and how the root runs. */
function rootKey(r: PyRoot): string {
  return `${r.module.abs}\u0001${r.kind}\u0001${r.asMain ? 1 : 0}\u0001${r.script ? JSON.stringify(r.script) : ''}`;
}

function contextKey(ctx: ProgramContext): string {
  return [ctx.config.pythonVersion, ctx.roots.join('\u0001'), ctx.projectFiles.map((p) => `${p.path}:${p.text.length}:${p.text}`).join('\u0001')].join('\u0002');
}

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
 *   pointing at the same object.
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

  private build(ctx: ProgramContext, key: string): PythonModel {
    const started = Date.now();
    const py = ctx.files.filter(isPythonSource);
    const shape = `${key}\u0003${py.map((f) => f.path).join('\u0001')}`;
    let index = this.index;
    const changed = new Set<PyModule>();
    if (!index || shape !== this.shape) {
      const projectDirs = ctx.projectFiles.map((p) => nodePath.dirname(p.path));
      index = new PyModuleIndex(ctx.files, ctx.roots, projectDirs);
      index.tracker = new TouchTracker();
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
    const builder = new ModelBuilder(index, ctx.config);
    const protectionKey = builder.protection.fingerprint();
    if (protectionKey !== this.protectionKey) {
      this.logs = new Map();
      this.protectionKey = protectionKey;
    }
    const tProtection = Date.now();
    const programs = (this.programs ??= buildPrograms(index, ctx.projectFiles, this.closures));
    const tPrograms = Date.now();
    const logs = new Map<string, ProgramLog>();
    let reused = 0;
    const stale = (log: ProgramLog) => changed.size > 0 && log.touched.some((m) => changed.has(m));
    let runMs = 0;
    if (index.modules.length) {
      for (const p of programs) {
        let k = rootKey(p.root);
        for (let n = 2; logs.has(k); n++) k = `${rootKey(p.root)}#${n}`;
        const old = this.logs.get(k);
        let log: ProgramLog;
        if (old && !stale(old) && builder.reuse(old)) {
          log = old;
          reused++;
        } else {
          const t = performance.now();
          log = builder.runProgram(p.root);
          runMs += performance.now() - t;
        }
        builder.apply(log);
        logs.set(k, log);
      }
    }
    this.logs = logs;
    const tReplay = Date.now();
    return {
      index,
      programs,
      forkAfterThreads: [...builder.results.forkAfterThreads.values()],
      cachesAcrossFork: [...builder.results.caches.values()],
      closeAllsWithoutExec: [...builder.results.closeAlls.values()],
      stats: {
        modules: index.modules.length,
        programs: programs.length,
        functionRuns: builder.stats.functionRuns,
        laterRuns: builder.stats.laterRuns,
        reusedPrograms: reused,
        changedModules: changed.size,
        ms: Date.now() - started,
        phases: {
          index: tIndex - started,
          protection: tProtection - tIndex,
          programs: tPrograms - tProtection,
          replay: Math.round(runMs),
          reuse: Math.max(0, tReplay - tPrograms - Math.round(runMs)),
        },
      },
    };
  }
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

/** Key of the Python model in a {@link ModelCache}. */
export const PYTHON_MODEL_KEY = 'model:python';
