/**
 * The Python program model: which files run together (programs), in what order their code
 * runs, and the FORK/FD evidence that order reveals.
 *
 * - A **program** starts at an entry point — a module with an `if __name__ == "__main__":`
 *   block, a package's `__main__.py`, a console script from `pyproject.toml`/`setup.cfg`,
 *   a `*.wsgi` file, a module that defines a WSGI `application` — and spans what it imports.
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
import type { HazardLensConfig } from '../engine/config';
import type { ProgramContext } from '../engine/rule';
import type { Range } from '../engine/types';
import type {
  PyCallFact,
  PyCloseAllFact,
  PyFdCacheFact,
  PyForkFact,
  PyImportFact,
  PythonFact,
} from '../facts/python/program-facts';
import { defaultStartMethod, PY_PROCESS_STARTERS, PY_THREAD_STARTERS } from '../knowledge/python-process';
import { PyModuleIndex, type PyModule } from './python-modules';
import { consoleScripts, type ConsoleScript } from './python-project';
import * as nodePath from 'node:path';

/** One location of an evidence chain. */
export interface PyStep {
  path: string;
  range: Range;
  message: string;
}

interface ChainNode {
  step: PyStep;
  parent?: ChainNode;
  length: number;
}

function push(chain: ChainNode | undefined, step: PyStep): ChainNode {
  return { step, parent: chain, length: (chain?.length ?? 0) + 1 };
}

function toSteps(chain: ChainNode | undefined): PyStep[] {
  const out: PyStep[] = [];
  for (let c = chain; c; c = c.parent) out.push(c.step);
  return out.reverse();
}

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
  kind: 'main' | 'dunder-main' | 'console-script' | 'wsgi' | 'application' | 'library';
  asMain: boolean;
  script?: ConsoleScript;
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
  /** Paths whose findings may change when `path` changes (programs that contain it). */
  dependents(path: string): string[];
  /** Size of the work done (for the benchmark). */
  stats: { modules: number; programs: number; functionRuns: number; laterRuns: number; ms: number };
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

interface RunCtx {
  chain: ChainNode | undefined;
  /** An exec/_exit follows the current call in some caller. */
  execAfter: boolean;
  depth: number;
  asMain: boolean;
}

const MAX_CALL_DEPTH = 24;

function siteKey(m: PyModule, f: { range: Range }): string {
  return `${m.abs}#${f.range.start.line}:${f.range.start.character}`;
}

class Results {
  readonly forkAfterThreads = new Map<string, PyForkAfterThreads>();
  readonly caches = new Map<string, PyCacheAcrossFork>();
  readonly closeAlls = new Map<string, PyCloseAllWithoutExec>();
}

/** Precomputed per model: which caches are protected (re-validated / reset at fork). */
class Protection {
  private readonly revalidated = new Map<PyModule, Set<string>>();
  private readonly reset = new Map<PyModule, Set<string>>();

  constructor(index: PyModuleIndex) {
    for (const m of index.modules) {
      for (const f of m.facts) {
        if (f.kind === 'py.fd-revalidate') {
          const set = this.revalidated.get(m) ?? new Set();
          for (const n of f.names) set.add(n);
          this.revalidated.set(m, set);
        } else if (f.kind === 'py.at-fork' && f.handler && f.origin) {
          const sym = index.resolve(m, f.handler, f.origin);
          if (sym?.kind !== 'function') continue;
          const set = this.reset.get(sym.module) ?? new Set();
          for (const n of sym.fact.globalAssigns ?? []) set.add(n);
          for (const n of sym.fact.attrAssigns ?? []) set.add(n);
          this.reset.set(sym.module, set);
        }
      }
    }
  }

  why(m: PyModule, f: PyFdCacheFact): 'revalidated' | 'reset' | undefined {
    const last = f.name.split('.').pop() ?? f.name;
    if (this.revalidated.get(m)?.has(last)) return 'revalidated';
    if (this.reset.get(m)?.has(f.name)) return 'reset';
    return undefined;
  }
}

/** Replays one program (one root). */
class ProgramSim {
  private readonly loaded = new Set<PyModule>();
  private readonly loadOrder: PyModule[] = [];
  private readonly executed = new Set<string>();
  private readonly running = new Set<string>();
  private readonly memo = new Map<string, LiveThread | null>();
  private state: SimState = { live: new Map(), hits: [], later: false };
  /** Functions that may run later (callbacks, methods of created objects, registered functions). */
  private readonly candidates: { module: PyModule; name: string; chain: ChainNode | undefined }[] = [];
  private readonly candidateKeys = new Set<string>();

  constructor(
    private readonly model: ModelBuilder,
    private readonly root: PyRoot,
  ) {}

  run(): void {
    const { root } = this;
    const ctx: RunCtx = { chain: undefined, execAfter: false, depth: 0, asMain: false };
    this.runModule(root.module, ctx, root.asMain);
    if (root.script?.object) {
      const step: PyStep = { path: root.script.path, range: root.script.range, message: `console script '${root.script.name}' calls ${root.script.module}:${root.script.object}` };
      const sym = this.model.index.member(root.module, root.script.object.split('.'));
      if (sym?.kind === 'function') this.runFunction(sym.module, sym.name, { ...ctx, chain: push(undefined, step) });
    }
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

  private runModule(m: PyModule, ctx: RunCtx, asMain = false): void {
    if (this.loaded.has(m)) return;
    for (const p of m.parents) this.runModule(p, ctx);
    if (this.loaded.has(m)) return;
    this.loaded.add(m);
    this.loadOrder.push(m);
    this.runBody(m, '', { ...ctx, asMain });
    for (const [name, fn] of m.functions) {
      if (fn.registered) this.addCandidate(m, name, push(undefined, { path: m.path, range: fn.range, message: 'registered by a decorator here; it may run later' }));
    }
  }

  private runFunction(m: PyModule, name: string, ctx: RunCtx): void {
    if (ctx.depth > MAX_CALL_DEPTH) return;
    if (!this.loaded.has(m)) this.runModule(m, ctx);
    const key = `${m.abs}#${name}`;
    if (this.running.has(key)) return;
    const st = this.state;
    const memoKey = `${key}|${st.threads ? 1 : 0}${st.lastFork ? 1 : 0}${st.lastCloseAll ? 1 : 0}${ctx.execAfter ? 1 : 0}|${st.later ? 1 : 0}|${st.live.size}`;
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

  private runBody(m: PyModule, fn: string, ctx: RunCtx): void {
    const steps = m.bodies.get(fn);
    if (!steps) return;
    let lastExec = -1;
    for (let i = steps.length - 1; i >= 0; i--) {
      const s = steps[i];
      if (s.kind === 'py.exec' && (!s.main || fn !== '' || ctx.asMain)) {
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
      if (f.main && fn === '' && !ctx.asMain) continue;
      switch (f.kind) {
        case 'py.import': {
          const targets = this.model.importTargets(m, f);
          if (!targets.length || targets.every((t) => this.loaded.has(t))) break;
          const chain = push(ctx.chain, { path: m.path, range: f.range, message: 'imported from here' });
          for (const t of targets) this.runModule(t, { ...ctx, chain });
          break;
        }
        case 'py.call': {
          const t = this.model.callTarget(m, f);
          if (!t) break;
          const chain = push(ctx.chain, { path: m.path, range: f.range, message: 'called here' });
          const cls = notes ? this.model.classOf(m, f) : undefined;
          if (cls) this.addClass(cls.module, cls.name, push(ctx.chain, { path: m.path, range: f.range, message: 'object created here; its methods may run later' }));
          this.runFunction(t.module, t.name, { ...ctx, chain, execAfter: ctx.execAfter || lastExec > i });
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
          const sym = notes ? this.model.symbolOf(m, f, f.ctor, f.origin) : undefined;
          if (sym?.kind === 'class') this.addClass(sym.module, sym.name, push(ctx.chain, { path: m.path, range: f.range, message: 'started here; its methods may run later' }));
          const what = this.model.classify(m, f.ctor, f.origin, f.method);
          const shown = f.ctor.replace(/^\.+/, '');
          if (what?.kind === 'thread') this.threadStarted({ ...this.live(m, f, ctx), api: `${what.base} subclass ${shown}.${f.method}()`, note: 'starts a thread' });
          else if (what?.kind === 'process') {
            const synthetic: PyForkFact = {
              kind: 'py.fork',
              range: f.range,
              fn: f.fn,
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
          this.closeAll(this.live(m, f, ctx), ctx.execAfter || lastExec > i);
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
      let method = f.startMethod ?? 'default';
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
    const forking = f.via !== 'multiprocessing' || ev.method === 'fork';
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

  private closeAll(ev: Live<PyCloseAllFact>, execAfter: boolean): void {
    const f = ev.fact;
    const s = this.state;
    if (f.keepList || f.execFollows || execAfter) return;
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

class ModelBuilder {
  readonly results = new Results();
  readonly protection: Protection;
  private readonly interestMemo = new Map<string, boolean>();
  private readonly classMemo = new Map<string, { kind: 'thread' | 'process'; base: string } | null>();

  constructor(
    readonly index: PyModuleIndex,
    readonly config: HazardLensConfig,
  ) {
    this.protection = new Protection(index);
  }

  private readonly callMemo = new Map<PythonFact, { target?: { module: PyModule; name: string }; cls?: { module: PyModule; name: string } }>();
  private readonly importMemo = new Map<PythonFact, PyModule[]>();
  private readonly refMemo = new Map<PythonFact, ReturnType<PyModuleIndex['resolve']> | null>();

  private call(m: PyModule, f: PyCallFact): { target?: { module: PyModule; name: string }; cls?: { module: PyModule; name: string } } {
    let c = this.callMemo.get(f);
    if (!c) {
      c = {};
      const sym = this.index.resolve(m, f.callee, f.origin);
      if (sym?.kind === 'function') c.target = { module: sym.module, name: sym.name };
      else if (sym?.kind === 'class') {
        c.cls = { module: sym.module, name: sym.name };
        const init = this.index.method(sym.module, sym.name, '__init__');
        if (init?.kind === 'function') c.target = { module: init.module, name: init.name };
      }
      this.callMemo.set(f, c);
    }
    return c;
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
    let r = this.refMemo.get(f);
    if (r === undefined) {
      r = this.index.resolve(m, name, origin) ?? null;
      this.refMemo.set(f, r);
    }
    return r ?? undefined;
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
   */
  interesting(m: PyModule, fn: string, depth = 0): boolean {
    const key = `${m.abs}#${fn}`;
    const known = this.interestMemo.get(key);
    if (known !== undefined) return known;
    if (depth > MAX_CALL_DEPTH) return false;
    this.interestMemo.set(key, false); // cycles: assume not while computing
    let result = false;
    for (const f of m.bodies.get(fn) ?? []) {
      if (f.kind === 'py.fork' || f.kind === 'py.close-all') result = true;
      else if (f.kind === 'py.object-start') result = this.classify(m, f.ctor, f.origin, f.method)?.kind === 'process';
      else if (f.kind === 'py.call') {
        const t = this.callTarget(m, f);
        if (t) result = this.interesting(t.module, t.name, depth + 1);
      } else if (f.kind === 'py.import') {
        for (const t of this.importTargets(m, f)) if (this.moduleInteresting(t, depth + 1)) result = true;
      }
      if (result) break;
    }
    this.interestMemo.set(key, result);
    return result;
  }

  /** Does importing this module (its packages first) run a fork or a close-all at import time? */
  moduleInteresting(m: PyModule, depth = 0): boolean {
    if (m.parents.some((p) => this.interesting(p, '', depth + 1))) return true;
    return this.interesting(m, '', depth + 1);
  }

  /** Is `ctor` (used in `m`) a workspace class deriving from a Thread or a Process? */
  classify(m: PyModule, ctor: string, origin: 'import' | 'local' | 'builtin', method: string): { kind: 'thread' | 'process'; base: string } | undefined {
    const key = `${m.abs}#${ctor}#${origin}#${method}`;
    const known = this.classMemo.get(key);
    if (known !== undefined) return known ?? undefined;
    let out: { kind: 'thread' | 'process'; base: string } | undefined;
    const sym = this.index.resolve(m, ctor, origin);
    if (sym?.kind === 'class') {
      const isThread = (n: string) => PY_THREAD_STARTERS.get(n)?.methods?.includes(method) ?? false;
      const isProcess = (n: string) => PY_PROCESS_STARTERS.get(n)?.methods?.includes(method) ?? false;
      const self = sym.module.names.length ? `${sym.module.names[0]}.${sym.name}` : sym.name;
      if (isThread(self)) out = { kind: 'thread', base: self };
      else if (isProcess(self)) out = { kind: 'process', base: self };
      else {
        const t = this.index.externalAncestor(sym.module, sym.name, isThread);
        if (t) out = { kind: 'thread', base: t };
        else {
          const p = this.index.externalAncestor(sym.module, sym.name, isProcess);
          if (p) out = { kind: 'process', base: p };
        }
      }
    }
    this.classMemo.set(key, out ?? null);
    return out;
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

  recordForkAfterThreads(root: PyRoot, fork: LiveFork, thread: LiveThread): void {
    const key = siteKey(fork.module, fork.fact);
    if (this.results.forkAfterThreads.has(key)) return;
    this.results.forkAfterThreads.set(key, {
      fork: this.forkEvent(root, fork),
      thread: { ...this.event(root, thread), api: thread.api, note: thread.note },
    });
  }

  recordCloseAll(root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[]): void {
    const key = siteKey(ev.module, ev.fact);
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

  recordCache(root: PyRoot, h: Hit): void {
    const key = siteKey(h.cache.module, h.cache.fact);
    const old = this.results.caches.get(key);
    if (old && (old.closeAll || !h.closeAll)) return;
    const r: PyCacheAcrossFork = { cache: this.event(root, h.cache), fork: this.forkEvent(root, h.fork) };
    if (h.closeAll) r.closeAll = this.event(root, h.closeAll);
    if (h.reuse) r.reuse = this.event(root, h.reuse);
    this.results.caches.set(key, r);
  }

  runProgram(root: PyRoot): void {
    new ProgramSim(this, root).run();
  }

  private readonly laterReplays = new Set<string>();

  /** True the first time a (function, starting state) pair is replayed in the later phase. */
  firstLaterReplay(key: string): boolean {
    if (this.laterReplays.has(key)) return false;
    this.laterReplays.add(key);
    return true;
  }

  /** Counters for the benchmark and for tuning (not part of the results). */
  readonly stats = { programs: 0, functionRuns: 0, laterRuns: 0 };
}

// ---------------------------------------------------------------------------------------
// Programs: entry points and library roots
// ---------------------------------------------------------------------------------------

function staticImports(index: PyModuleIndex, m: PyModule): PyModule[] {
  const out: PyModule[] = [...m.parents];
  for (const f of m.facts) if (f.kind === 'py.import') out.push(...index.importTargets(m, f));
  return out;
}

function closure(index: PyModuleIndex, start: PyModule, edges: Map<PyModule, PyModule[]>): Set<PyModule> {
  const seen = new Set<PyModule>([start]);
  const stack = [start];
  while (stack.length) {
    const m = stack.pop()!;
    let next = edges.get(m);
    if (!next) {
      next = staticImports(index, m);
      edges.set(m, next);
    }
    for (const n of next) if (!seen.has(n)) {
      seen.add(n);
      stack.push(n);
    }
  }
  return seen;
}

function entryPoints(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): PyRoot[] {
  const roots: PyRoot[] = [];
  for (const m of index.modules) {
    const base = nodePath.basename(m.abs);
    if (base === '__main__.py') roots.push({ module: m, kind: 'dunder-main', asMain: true });
    else if (/\.wsgi$/i.test(base)) roots.push({ module: m, kind: 'wsgi', asMain: false });
    else if (m.moduleFact?.mainGuard) roots.push({ module: m, kind: 'main', asMain: true });
    else if (m.moduleFact?.application) roots.push({ module: m, kind: 'application', asMain: false });
  }
  for (const script of consoleScripts(projectFiles)) {
    const m = index.moduleByName(script.module);
    if (m) roots.push({ module: m, kind: 'console-script', asMain: false, script });
  }
  return roots;
}

function buildPrograms(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): PyProgram[] {
  const edges = new Map<PyModule, PyModule[]>();
  const entries = entryPoints(index, projectFiles).sort((a, b) => (a.module.path < b.module.path ? -1 : a.module.path > b.module.path ? 1 : 0));
  const programs: PyProgram[] = entries.map((root) => ({ root, modules: closure(index, root.module, edges) }));
  const reached = new Set<PyModule>();
  for (const p of programs) for (const m of p.modules) reached.add(m);
  // Library roots: unreached modules that no other unreached module imports; then whatever
  // is left (import cycles), in path order.
  const rest = index.modules.filter((m) => !reached.has(m)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const importedByRest = new Set<PyModule>();
  for (const m of rest) for (const n of staticImports(index, m)) if (n !== m) importedByRest.add(n);
  const candidates = [...rest.filter((m) => !importedByRest.has(m)), ...rest.filter((m) => importedByRest.has(m))];
  for (const m of candidates) {
    if (reached.has(m)) continue;
    const root: PyRoot = { module: m, kind: 'library', asMain: false };
    const mods = closure(index, m, edges);
    for (const x of mods) reached.add(x);
    programs.push({ root, modules: mods });
  }
  return programs;
}

// ---------------------------------------------------------------------------------------

const CACHE = new WeakMap<readonly unknown[], { key: string; model: PythonModel }>();

function contextKey(ctx: ProgramContext): string {
  return [ctx.config.pythonVersion, ctx.roots.join('\u0001'), ctx.projectFiles.map((p) => `${p.path}:${p.text.length}:${p.text}`).join('\u0001')].join('\u0002');
}

/**
 * The Python model of a workspace, built once per evaluation (memoised on the `files` array
 * of the context, so the three FORK/FD rules share it).
 */
export function pythonModel(ctx: ProgramContext): PythonModel {
  const key = contextKey(ctx);
  const hit = CACHE.get(ctx.files);
  if (hit && hit.key === key) return hit.model;
  const model = buildPythonModel(ctx);
  CACHE.set(ctx.files, { key, model });
  return model;
}

export function buildPythonModel(ctx: ProgramContext): PythonModel {
  const started = Date.now();
  const projectDirs = ctx.projectFiles.map((p) => nodePath.dirname(p.path));
  const index = new PyModuleIndex(ctx.files, ctx.roots, projectDirs);
  const programs = buildPrograms(index, ctx.projectFiles);
  const builder = new ModelBuilder(index, ctx.config);
  if (index.modules.length) for (const p of programs) builder.runProgram(p.root);
  const byModule = new Map<PyModule, PyProgram[]>();
  for (const p of programs) for (const m of p.modules) {
    const list = byModule.get(m) ?? [];
    list.push(p);
    byModule.set(m, list);
  }
  return {
    index,
    programs,
    forkAfterThreads: [...builder.results.forkAfterThreads.values()],
    cachesAcrossFork: [...builder.results.caches.values()],
    closeAllsWithoutExec: [...builder.results.closeAlls.values()],
    stats: { modules: index.modules.length, programs: programs.length, functionRuns: builder.stats.functionRuns, laterRuns: builder.stats.laterRuns, ms: Date.now() - started },
    dependents(path: string): string[] {
      const m = index.byPath(path);
      if (!m) return [];
      const out = new Set<string>();
      for (const p of byModule.get(m) ?? []) for (const x of p.modules) out.add(x.path);
      return [...out].sort();
    },
  };
}
