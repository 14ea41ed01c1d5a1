/**
 * The builder of one Python model: memoised lookups the replays share (call and `with`
 * targets, imports, names, which functions can reach a fork, whether a started object is a
 * thread or a process), the log each program's replay records, and the results those logs
 * add up to, first program first.
 */
import type { ProgramSettings } from './program-context';
import type { PyCallFact, PyCloseAllFact, PyComputedMemberCallFact, PyComputedModule, PyFdCacheFact, PyImportFact, PyMethodCallFact, PyNameOrigin, PythonFact, PyWithEnterFact } from '../facts/python/program-facts';
import { PY_PROCESS_STARTERS, PY_THREAD_STARTERS, type PyThreadStarter } from '../knowledge/python-process';
import { functionKey, TouchTracker, type PyModule, type PyModuleIndex, type PySymbol } from './python-modules';
import { siteKey, toSteps } from './program-graph';
import { Protection } from './python-fork-protection';
import { PythonEffects, type PyFn } from './python-effects';
import type { EffectSummaryCache } from './call-effects';
import { ProgramSim, type BodyLookups, type CallInfo, type ComputedMember, type Hit, type Live, type LiveFork, type LiveThread, type SimModel } from './python-simulation';
import type { PyCacheAcrossFork, PyCloseAllWithoutExec, PyEvent, PyForkAfterThreads, PyForkEvent, PyRoot } from './python-types';

/** The answer for a call that runs no workspace code and makes no workspace object (shared: never changed). */
const NO_CALL: CallInfo = Object.freeze({});
/** Its memo when computing it read no module. */
const NO_CALL_MEMO: Memo<CallInfo> = Object.freeze({ v: NO_CALL, t: Object.freeze([]) as readonly PyModule[] });

/** How many members one lookup on a module imported by computed name may stand for. */
const MAX_COMPUTED_MEMBERS = 64;

class Results {
  readonly forkAfterThreads = new Map<string, PyForkAfterThreads>();
  readonly caches = new Map<string, PyCacheAcrossFork>();
  readonly closeAlls = new Map<string, PyCloseAllWithoutExec>();
}

/** One recorded result; `key` is the site it is about (computed once, when recorded). */
type LogOp =
  | { k: 'fork'; key: string; root: PyRoot; fork: LiveFork; thread: LiveThread }
  | { k: 'close'; key: string; root: PyRoot; ev: Live<PyCloseAllFact>; fork: LiveFork | undefined; caches: Live<PyFdCacheFact>[]; kept?: readonly string[] }
  | { k: 'cache'; key: string; root: PyRoot; h: Hit };

/** What replaying one program produced: kept by the incremental model while its inputs stay the same. */
export interface ProgramLog {
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


export class ModelBuilder implements SimModel {
  readonly results = new Results();
  readonly protection: Protection;
  readonly tracker: TouchTracker;
  /** The call-effect graph over these lookups, and its summaries (`python-effects.ts`). */
  readonly effects: PythonEffects;
  private readonly interestMemo = new Map<string, Memo<boolean>>();
  private readonly classMemo = new Map<string, Memo<{ kind: 'thread' | 'process'; base: string } | undefined>>();

  constructor(
    readonly index: PyModuleIndex,
    readonly config: ProgramSettings,
    summaryCache?: EffectSummaryCache,
  ) {
    this.tracker = index.tracker ??= new TouchTracker();
    this.effects = new PythonEffects(index, this, config.pythonVersion, summaryCache);
    this.protection = new Protection(index, this.effects);
  }

  private readonly callMemo = new Map<PythonFact, Memo<CallInfo>>();
  private readonly importMemo = new Map<PythonFact, PyModule[]>();
  private readonly refMemo = new Map<PythonFact, Memo<ReturnType<PyModuleIndex['resolve']>>>();
  private readonly enterMemo = new Map<PythonFact, Memo<{ module: PyModule; name: string } | undefined>>();
  private readonly methodCallMemo = new Map<PythonFact, Memo<{ module: PyModule; name: string }[]>>();

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

  /** What a call runs and what object it makes, memoised per fact (the hit checked first: no closure per call). */
  callInfo(m: PyModule, f: PyCallFact): CallInfo {
    const hit = this.callMemo.get(f);
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
    this.tracker.begin();
    const sym = this.index.resolve(m, f.callee, f.origin);
    const cls = sym?.kind === 'class' ? sym : undefined;
    const target = this.index.runs(sym);
    const t = this.tracker.end();
    // Calls with the same answer share it, and when computing it read no module (always, in a
    // model built once: `UntrackedReads`), its memo: on the Python standard library 191,000 call
    // facts have a few thousand answers (the memos took 24 MB, one answer and memo per call).
    let memo: Memo<CallInfo> | undefined;
    if (!target && !cls) memo = t.length ? { v: NO_CALL, t } : NO_CALL_MEMO;
    else {
      const key = `${target ? functionKey(target.module, target.name) : ''}\u0002${cls ? functionKey(cls.module, cls.name) : ''}`;
      const shared = t.length ? undefined : this.callAnswers.get(key);
      // The same key names the same modules' functions (and keys are per module): checked anyway.
      if (shared && shared.v.target?.module === target?.module && shared.v.cls?.module === cls?.module) memo = shared;
      else {
        const v: CallInfo = {};
        if (cls) v.cls = { module: cls.module, name: cls.name };
        if (target) v.target = { module: target.module, name: target.name };
        memo = { v, t };
        if (!t.length && !shared) this.callAnswers.set(key, memo);
      }
    }
    this.callMemo.set(f, memo);
    return memo.v;
  }

  /** The memos of the calls' answers that read no module, by the functions they name (see {@link callInfo}). */
  private readonly callAnswers = new Map<string, Memo<CallInfo>>();

  /**
   * The `__enter__` a `with` item runs: the class's own (or its alias, `__enter__ = open`) when
   * the call makes an object of a workspace class, or the one of the class a called function
   * returns an object of (`def detached(...): return DaemonContext(...)`).
   */
  enterTarget(m: PyModule, f: PyWithEnterFact): { module: PyModule; name: string } | undefined {
    return this.memo(this.enterMemo, f, () => this.methodOfProduct(m, f.callee, f.origin, '__enter__'));
  }

  /**
   * The method a call of `method` on what `producer` made runs (`x = make(); x.run()`): the
   * method of the class `producer` names, or of the class whose objects the function or
   * classmethod `producer` returns (`py.returns-object`), looked up along the class's bases.
   */
  methodCallTargets(m: PyModule, f: PyMethodCallFact): { module: PyModule; name: string }[] {
    const hit = this.methodCallMemo.get(f);
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
    return this.memo(this.methodCallMemo, f, () => {
      // `mod = importlib.import_module(...); mod.run()`: `run` of each module the name can denote.
      if (f.module) {
        const out: { module: PyModule; name: string }[] = [];
        for (const t of this.computedImportTargets(m, f.module)) {
          const sym = this.index.runs(this.index.member(t, [f.method]));
          if (sym) out.push({ module: sym.module, name: sym.name });
        }
        return out;
      }
      const t = this.methodOfProduct(m, f.producer, f.origin, f.method);
      return t ? [t] : [];
    });
  }

  /** The workspace modules an import by computed name can run, memoised per fact. */
  computedImportTargets(m: PyModule, name: PyComputedModule): PyModule[] {
    // Module names depend on paths only (a change of paths rebuilds the model): nothing to track.
    let t = this.computedMemo.get(name);
    if (!t) this.computedMemo.set(name, (t = this.index.modulesNamed(name.name, name.prefix, m)));
    return t;
  }

  private readonly computedMemo = new WeakMap<PyComputedModule, PyModule[]>();

  /**
   * What a call of a member looked up on a module imported by computed name runs
   * (`plug = getattr(mod, name); plug(core)`): for each candidate module, the member the
   * lookup names — a literal, or (named like its module) the module's last name segment, in
   * any case — or every function and class the module defines at top level (those starting
   * with the constant beginning of the name, when it has one); at most
   * {@link MAX_COMPUTED_MEMBERS}.
   * A class call runs its `__init__` (looked up along its bases) and makes an object.
   */
  computedMemberTargets(m: PyModule, f: PyComputedMemberCallFact): ComputedMember[] {
    return this.memo(this.memberMemo, f, () => {
      const out: ComputedMember[] = [];
      for (const t of this.computedImportTargets(m, f.module)) {
        // The members read here are the module's facts: an edit that adds one must redo this.
        this.tracker.touch(t);
        const moduleName = t.names[0] ?? t.path;
        const defined = [...t.classes.keys(), ...t.functions.keys()].filter((n) => !n.includes('.'));
        let names: string[];
        if (f.member.kind === 'named') names = [f.member.name];
        else if (f.member.kind === 'like-module') {
          // The module's last name segment, also spelled in another case (`name.capitalize()`).
          const fold = (n: string) => n.replaceAll('_', '').toLowerCase();
          const tail = moduleName.slice(moduleName.lastIndexOf('.') + 1);
          names = !t.names.length ? [] : defined.includes(tail) ? [tail] : defined.filter((n) => fold(n) === fold(tail));
        } else {
          const prefix = f.member.kind === 'prefix' ? f.member.prefix : '';
          names = defined.filter((n) => n.startsWith(prefix));
        }
        for (const name of names) {
          const sym = this.index.member(t, [name]);
          if (!sym || sym.kind === 'module') continue;
          const run = this.index.runs(sym);
          const member: ComputedMember = { what: `${sym.kind} ${sym.name} of ${moduleName}` };
          if (run) member.run = { module: run.module, name: run.name };
          if (sym.kind === 'class') member.cls = { module: sym.module, name: sym.name };
          out.push(member);
          if (out.length >= MAX_COMPUTED_MEMBERS) return out;
        }
      }
      return out;
    });
  }

  private readonly memberMemo = new Map<PythonFact, Memo<ComputedMember[]>>();

  private methodOfProduct(m: PyModule, producer: string, origin: PyNameOrigin, method: string): { module: PyModule; name: string } | undefined {
    const methodOf = (sym: PySymbol | undefined) => {
      if (sym?.kind !== 'class') return undefined;
      const found = this.index.method(sym.module, sym.name, method);
      return found?.kind === 'function' ? { module: found.module, name: found.name } : undefined;
    };
    const sym = this.index.resolve(m, producer, origin);
    if (sym?.kind === 'class') return methodOf(sym);
    if (sym?.kind !== 'function') return undefined;
    for (const step of sym.module.bodies.get(sym.name) ?? []) {
      if (step.kind !== 'py.returns-object') continue;
      const found = methodOf(this.index.resolve(sym.module, step.constructorName, step.origin));
      if (found) return found;
    }
    return undefined;
  }

  /** The lookups of one body's facts, by position, kept for the replays (see {@link BodyLookups}). */
  bodyLookups(steps: readonly PythonFact[]): BodyLookups {
    let out = this.bodyMemos.get(steps);
    if (!out) this.bodyMemos.set(steps, (out = { calls: [], imports: [] }));
    return out;
  }

  private readonly bodyMemos = new WeakMap<readonly PythonFact[], BodyLookups>();

  /** {@link callInfo} of the call fact at position `i` of the body `lookups` belongs to. */
  callInfoAt(m: PyModule, f: PyCallFact, lookups: BodyLookups, i: number): CallInfo {
    const hit = lookups.calls[i];
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
    const v = this.callInfo(m, f);
    lookups.calls[i] = this.callMemo.get(f);
    return v;
  }

  /** {@link importTargets} of the import fact at position `i` of the body `lookups` belongs to. */
  importTargetsAt(m: PyModule, f: PyImportFact, lookups: BodyLookups, i: number): PyModule[] {
    return (lookups.imports[i] ??= this.importTargets(m, f));
  }

  /** The workspace function a call runs (a class call runs its `__init__`), memoised per fact. */
  callTarget(m: PyModule, f: PyCallFact): { module: PyModule; name: string } | undefined {
    return this.callInfo(m, f).target;
  }

  /** {@link PyModuleIndex.allMethods} of a class, memoised (the list is shared: callers do not change it). */
  allMethods(m: PyModule, cls: string): readonly { module: PyModule; name: string; key: string }[] {
    const key = functionKey(m, cls);
    const hit = this.methodsMemo.get(key);
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
    return this.memo(this.methodsMemo, key, () => this.index.allMethods(m, cls).map((x) => this.methodEntry(x.module, x.name)));
  }

  /**
   * One entry per method for all the classes' lists: a method is listed for every class that
   * inherits it (on the Python standard library the lists held 22 MB of copies).
   */
  private methodEntry(module: PyModule, name: string): { module: PyModule; name: string; key: string } {
    const key = functionKey(module, name);
    const known = this.methodEntries.get(key);
    if (known?.module === module) return known;
    const entry = { module, name, key };
    if (!known) this.methodEntries.set(key, entry);
    return entry;
  }

  private readonly methodEntries = new Map<string, { module: PyModule; name: string; key: string }>();

  private readonly methodsMemo = new Map<string, Memo<{ module: PyModule; name: string; key: string }[]>>();

  /** The workspace class a call instantiates, if any. */
  classOf(m: PyModule, f: PyCallFact): { module: PyModule; name: string } | undefined {
    return this.callInfo(m, f).cls;
  }

  /** What a name passed as an argument (or a started object's class) refers to, memoised per fact. */
  symbolOf(m: PyModule, f: PythonFact, name: string, origin: 'import' | 'local' | 'builtin'): ReturnType<PyModuleIndex['resolve']> {
    const hit = this.refMemo.get(f);
    if (hit) {
      this.tracker.add(hit.t);
      return hit.v;
    }
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
  interesting(m: PyModule, fn: string, key?: string): boolean {
    const start = key ?? functionKey(m, fn);
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
        const key = functionKey(t, tfn);
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
        else if (f.kind === 'py.thread-start' && f.runs) {
          // `pool.map(work, jobs)` runs `work` right there, on the pool's threads.
          const sym = this.symbolOf(cur.m, f, f.runs.name, f.runs.origin);
          if (sym?.kind === 'function') hit = visit(sym.module, sym.name);
        }
        else if (f.kind === 'py.call') {
          const t = this.callTarget(cur.m, f);
          if (t) hit = visit(t.module, t.name);
          // An object it creates: its methods may run later (the replay adds them as candidates).
          const cls = hit ? undefined : this.classOf(cur.m, f);
          if (cls) for (const meth of this.allMethods(cls.module, cls.name)) if (visit(meth.module, meth.name)) hit = true;
        } else if (f.kind === 'py.with-enter') {
          const t = this.enterTarget(cur.m, f);
          if (t) hit = visit(t.module, t.name);
        } else if (f.kind === 'py.method-call') {
          for (const t of this.methodCallTargets(cur.m, f)) if (visit(t.module, t.name)) hit = true;
        } else if (f.kind === 'py.computed-member-call') {
          for (const t of this.computedMemberTargets(cur.m, f)) {
            if (t.run && visit(t.run.module, t.run.name)) hit = true;
            if (t.cls) for (const meth of this.allMethods(t.cls.module, t.cls.name)) if (visit(meth.module, meth.name)) hit = true;
          }
        } else if (f.kind === 'py.import-computed') {
          for (const t of this.computedImportTargets(cur.m, f)) {
            for (const p of t.parents) if (visit(p, '')) hit = true;
            if (visit(t, '')) hit = true;
          }
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

  private readonly reachedMemo = new Map<PyFn, readonly PyModule[]>();

  /** The modules of every function `fn` may reach through calls, memoised (what its summary depends on). */
  reachedModules(fn: PyFn): readonly PyModule[] {
    let out = this.reachedMemo.get(fn);
    if (!out) this.reachedMemo.set(fn, (out = [...new Set(this.effects.reachable(fn).map((f) => f.module))]));
    return out;
  }

  /** {@link classifyStarted}, memoised. */
  classify(m: PyModule, ctor: string, origin: 'import' | 'local' | 'builtin', method: string): { kind: 'thread' | 'process'; base: string } | undefined {
    return this.memo(this.classMemo, `${m.abs}#${ctor}#${origin}#${method}`, () => classifyStarted(this.index, m, ctor, origin, method, this.config.knowledge?.python.threadStarters));
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

  recordCloseAll(root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[], kept?: readonly string[]): void {
    this.log?.ops.push({ k: 'close', key: siteKey(ev.module, ev.fact), root, ev, fork, caches, kept });
  }

  recordCache(root: PyRoot, h: Hit): void {
    this.log?.ops.push({ k: 'cache', key: siteKey(h.cache.module, h.cache.fact), root, h: { cache: h.cache, key: h.key, fork: h.fork, closeAll: h.closeAll, reuse: h.reuse } });
  }

  /** Applies the logs of the programs, in program order, to the results (first program wins, as in a single pass). */
  apply(log: ProgramLog): void {
    for (const op of log.ops) {
      if (op.k === 'fork') this.applyForkAfterThreads(op.key, op.root, op.fork, op.thread);
      else if (op.k === 'close') this.applyCloseAll(op.key, op.root, op.ev, op.fork, op.caches, op.kept);
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

  private applyCloseAll(key: string, root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[], kept: readonly string[] | undefined): void {
    let r = this.results.closeAlls.get(key);
    if (!r) {
      r = { closeAll: this.event(root, ev), caches: [] };
      if (fork) r.fork = this.forkEvent(root, fork);
      if (kept) r.kept = [...kept];
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
      // First without keeping paths apart (cheap; it finds a superset). A program where that
      // met a fork with threads or caches, or a close-all, is replayed again with them kept apart,
      // as if the first replay had not been made: the later replays it claimed are given back.
      const plain = new ProgramSim(this, root, false);
      plain.run();
      if (plain.metCandidate) {
        this.stats.pathReplays++;
        for (const [key, first] of log.queries) if (first) this.laterReplays.delete(key);
        log.ops = [];
        log.queries = [];
        new ProgramSim(this, root, true).run();
      }
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

  /**
   * Forgets which later-phase replays were made: a helper thread replaying a block of
   * programs whose predecessors it did not see starts each block this way
   * (`python-replay-share.ts`).
   */
  forgetLaterReplays(): void {
    this.laterReplays.clear();
  }

  /** True the first time a (function, starting state) pair is replayed in the later phase. */
  firstLaterReplay(key: string): boolean {
    const first = !this.laterReplays.has(key);
    if (first) this.laterReplays.add(key);
    this.log?.queries.push([key, first]);
    return first;
  }

  /** Counters for the benchmark and for tuning (not part of the results). */
  readonly stats = { functionRuns: 0, laterRuns: 0, pathReplays: 0 };
}

/**
 * Is `ctor` (used in `m`) a workspace class that `method` starts as a thread or a process: a
 * class known as a thread or process starter (the library as workspace), or one deriving from
 * such a class? `base` names that class.
 */
export function classifyStarted(
  index: PyModuleIndex,
  m: PyModule,
  ctor: string,
  origin: 'import' | 'local' | 'builtin',
  method: string,
  threadStarters: ReadonlyMap<string, PyThreadStarter> = PY_THREAD_STARTERS,
): { kind: 'thread' | 'process'; base: string } | undefined {
  let out: { kind: 'thread' | 'process'; base: string } | undefined;
  const sym = index.resolve(m, ctor, origin);
  if (sym?.kind === 'class') {
    const isThread = (n: string) => threadStarters.get(n)?.methods?.includes(method) ?? false;
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
      if (out && replacesStarter(index, sym.module, sym.name, method, out.kind === 'thread' ? isThread : isProcess)) out = undefined;
    }
  }
  return out;
}

/**
 * Does the workspace class define `method` itself (or inherit it from a workspace base that is
 * not a known starter), without handing over to the base's method (`super().start()`)? Then
 * calling it runs that method, not the library's: `class Client(Thread)` with its own
 * `def start(self, argv)` starts no thread.
 */
function replacesStarter(index: PyModuleIndex, m: PyModule, cls: string, method: string, isStarter: (name: string) => boolean): boolean {
  const own = index.method(m, cls, method);
  if (own?.kind !== 'function' || own.fact.callsBase) return false;
  const owner = own.fact.className;
  if (!owner) return false;
  const qualified = own.module.names.length ? `${own.module.names[0]}.${owner}` : owner;
  return !isStarter(qualified);
}
