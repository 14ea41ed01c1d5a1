/**
 * The FORK/FD replay of one Python program: walks the program in order, then replays the
 * functions it may run later, keeping the state that matters (threads started, the last
 * fork, the start method, descriptors cached and still open, close-alls) and handing every
 * hazard it meets to the model being built ({@link SimModel}).
 */
import type { ProgramSettings } from './program-context';
import { awaitedKind } from '../facts/python/program-facts';
import type { PyFunctionFact, PyCallFact, PyCallOutcome, PyValueGuard, PyCloseAllFact, PyComputedMemberCallFact, PyComputedModule, PyFdCacheFact, PyForkFact, PyImportFact, PyKeepArgument, PyMethodCallFact, PythonFact, PyWithEnterFact } from '../facts/python/program-facts';
import { defaultStartMethod, PY_FORKING_START_METHODS } from '../knowledge/python-process';
import { functionKey, type PyModule, type PyModuleIndex, type TouchTracker } from './python-modules';
import { push, type ChainNode } from './program-graph';
import type { Protection } from './python-fork-protection';
import type { PyFn, PythonEffects } from './python-effects';
import { derivedCtx, MAX_CALL_DEPTH, ProgramOrder, startCtx, type RunCtx } from './python-program-order';
import type { PyForkEvent, PyRoot } from './python-types';
import { AttributeWrites, bindCall, bindReads, envKey, guardsHold, objectFlags, storeEntries, storesAffecting, type FlagEnv } from './python-flag-env';

/** A class-private method (`__daemonize`): only the class's own methods can call it, so it never runs "later" by itself. */
function classPrivateMethod(name: string): boolean {
  const last = name.slice(name.lastIndexOf('.') + 1);
  return last.startsWith('__') && !last.endsWith('__');
}

/** Per model being built: the attributes its workspace assigns (one pass over the index, on first use). */
const attributeWrites = new WeakMap<SimModel, AttributeWrites>();

/** The keep-list a call passes, as a number for the replay memo's state code. */
const KEEP_ARGUMENT_CODE: Record<PyKeepArgument | '', number> = { '': 0, none: 1, 'stdio-only': 2, named: 3, other: 4 };

/** Both sites are in methods of the same class. */
function sameClass(a: Live, b: Live): boolean {
  const cls = (f: PythonFact) => f.enclosingFunction.slice(0, Math.max(0, f.enclosingFunction.lastIndexOf('.')));
  return a.module === b.module && cls(a.fact) !== '' && cls(a.fact) === cls(b.fact);
}

/**
 * The running thread is stopped before every fork: its own file registers an
 * `os.register_at_fork(before=…)` handler that calls a method joining it (the thread start's
 * `joinedBy`), as a server thread that shuts down for each fork and restarts in the parent.
 */
function stoppedBeforeEveryFork(t: Live): boolean {
  const f = t.fact;
  if (f.kind !== 'py.thread-start' || !f.joinedBy?.length) return false;
  const joiners = new Set(f.joinedBy.map((n) => n.slice(n.lastIndexOf('.') + 1)));
  return t.module.facts.some((g) => g.kind === 'py.at-fork' && (g.beforeCalls?.some((n) => joiners.has(n)) ?? false));
}

/** An object a replayed call made: which one (for reads of its state) and the flags its `__init__` kept. */
interface MadeObject {
  id: number;
  flags?: FlagEnv['self'];
}

export interface Live<F extends PythonFact = PythonFact> {
  module: PyModule;
  fact: F;
  chain: ChainNode | undefined;
  later: boolean;
  /**
   * The branch decisions on flags of unknown value the path to it took (`frame:subject=T|F`):
   * two events whose decisions take one flag of one body run both ways are on exclusive paths.
   */
  decisions?: readonly string[];
}

/** How many branch decisions an event keeps (the innermost): fewer known decisions only make fewer paths exclusive. */
const MAX_DECISIONS = 32;

/** How many other running threads a replay keeps for forks on paths the first one's path excludes. */
const MAX_ALSO_THREADS = 8;

/** How many earlier reads of the same state a read is compared with (fewer only name fewer values alike). */
const MAX_READS = 8;

/**
 * Whether two events lie on exclusive paths: both decided one question (`what=answer`: a flag
 * of one body run, a branch chain of one body run, one value a read of program state gave)
 * with different answers.
 */
export function exclusive(a: { decisions?: readonly string[] } | undefined, b: { decisions?: readonly string[] } | undefined): boolean {
  if (!a?.decisions?.length || !b?.decisions?.length) return false;
  const mine = new Map<string, string>();
  for (const d of a.decisions) {
    const eq = d.lastIndexOf('=');
    mine.set(d.slice(0, eq), d.slice(eq + 1));
  }
  return b.decisions.some((d) => {
    const eq = d.lastIndexOf('=');
    const other = mine.get(d.slice(0, eq));
    return other !== undefined && other !== d.slice(eq + 1);
  });
}

export interface LiveThread extends Live {
  api: string;
  note: string;
  /** Joined before the function that started it returns: it is gone once that function ends. */
  untilReturn?: boolean;
}

export interface LiveFork extends Live<PyForkFact> {
  method?: string;
  methodSource?: PyForkEvent['methodSource'];
  setter?: Live;
}

export interface Hit {
  cache: Live<PyFdCacheFact>;
  key: string;
  fork: LiveFork;
  closeAll?: Live<PyCloseAllFact>;
  reuse?: Live<PyFdCacheFact>;
  cancelled?: boolean;
}

interface SimState {
  threads?: LiveThread;
  /** Threads started while another one was already running on a path with decisions (a fork picks one its path can share). */
  alsoThreads?: readonly LiveThread[];
  lastFork?: LiveFork;
  startMethod?: { method: string; at: Live };
  live: Map<string, Live<PyFdCacheFact>>;
  hits: Hit[];
  lastCloseAll?: Live<PyCloseAllFact>;
  later: boolean;
}

/** One member a lookup on a module imported by computed name may give, and what calling it runs. */
export interface ComputedMember {
  /** For messages: `class Stats of app.plugins.stats`. */
  what: string;
  /** The function the call runs (a class's `__init__`), when the workspace defines one. */
  run?: { module: PyModule; name: string };
  /** The class, when the member is one: the call makes an object of it. */
  cls?: { module: PyModule; name: string };
}

/** What a call runs (`target`; a class call runs its `__init__`) and the workspace class it instantiates (`cls`). */
export type CallInfo = { target?: { module: PyModule; name: string }; cls?: { module: PyModule; name: string } };

/**
 * The memoised lookups of one body's call and import facts, by their position in the body:
 * a replay walking the body finds them there without a lookup per fact in the memos of every
 * fact (millions of entries on a large workspace). Each holds the same answer, and for a call
 * the same modules read (`t`), as the memo of the fact.
 */
export interface BodyLookups {
  calls: ({ v: CallInfo; t: readonly PyModule[] } | undefined)[];
  imports: (PyModule[] | undefined)[];
}

/** What a replay asks of the model being built: its lookups (memoised there), counters, and where hazards go. */
export interface SimModel {
  readonly index: PyModuleIndex;
  readonly config: ProgramSettings;
  readonly tracker: TouchTracker;
  readonly protection: Protection;
  /** What a call may do, for calls past the replay's depth. */
  readonly effects: PythonEffects;
  readonly stats: { functionRuns: number; laterRuns: number };
  /** Whether running `fn` of `m` can reach a fork or a close-all; `key` is its {@link functionKey}. */
  interesting(m: PyModule, fn: string, key?: string): boolean;
  firstLaterReplay(key: string): boolean;
  /** The memoised lookups of a body's facts by position, for {@link callInfoAt} and {@link importTargetsAt}. */
  bodyLookups(steps: readonly PythonFact[]): BodyLookups;
  /** The workspace function the call fact at position `i` of a body runs, and the workspace class it instantiates. */
  callInfoAt(m: PyModule, f: PyCallFact, lookups: BodyLookups, i: number): CallInfo;
  /** The workspace modules the import fact at position `i` of a body names. */
  importTargetsAt(m: PyModule, f: PyImportFact, lookups: BodyLookups, i: number): PyModule[];
  /** Methods of a workspace class and of its workspace bases (a shared list). */
  allMethods(m: PyModule, cls: string): readonly { module: PyModule; name: string; key: string }[];
  enterTarget(m: PyModule, f: PyWithEnterFact): { module: PyModule; name: string } | undefined;
  methodCallTargets(m: PyModule, f: PyMethodCallFact): { module: PyModule; name: string }[];
  computedImportTargets(m: PyModule, name: PyComputedModule): PyModule[];
  computedMemberTargets(m: PyModule, f: PyComputedMemberCallFact): ComputedMember[];
  symbolOf(m: PyModule, f: PythonFact, name: string, origin: 'import' | 'local' | 'builtin'): ReturnType<PyModuleIndex['resolve']>;
  /** The modules of every function `fn` may reach through calls (what its summary depends on). */
  reachedModules(fn: PyFn): readonly PyModule[];
  classify(m: PyModule, ctor: string, origin: 'import' | 'local' | 'builtin', method: string): { kind: 'thread' | 'process'; base: string } | undefined;
  recordForkAfterThreads(root: PyRoot, fork: LiveFork, thread: LiveThread): void;
  recordCloseAll(root: PyRoot, ev: Live<PyCloseAllFact>, fork: LiveFork | undefined, caches: Live<PyFdCacheFact>[], kept?: readonly string[]): void;
  recordCache(root: PyRoot, h: Hit): void;
}

/** Replays one program (one root). */
export class ProgramSim extends ProgramOrder {
  private readonly executed = new Set<string>();
  private readonly running = new Set<string>();
  private readonly memo = new Map<string, LiveThread | null>();
  /** {@link memo} for calls without patches or keep-names: per function, by a code of the state (see runFunction). */
  private readonly plainMemo = new Map<string, Map<number, LiveThread | null>>();
  private state: SimState = { live: new Map(), hits: [], later: false };
  /** Functions that may run later (callbacks, methods of created objects, registered functions). */
  private readonly candidates: { module: PyModule; name: string; key: string; chain: ChainNode | undefined; self?: FlagEnv['self'] }[] = [];
  private readonly candidateKeys = new Set<string>();
  /** Classes whose methods are candidates already, with the flags their object was made with (adding one again adds nothing). */
  private readonly classesAdded = new Set<string>();
  /** Body runs so far (names the branch decisions of each). */
  private frames = 0;
  /** Caches and continuing forks in the order the replay met them (a memoised call's share is weakened on reuse). */
  private readonly met: Live[] = [];
  /** Per memoised call: where its share of {@link met} begins and ends. */
  private readonly memoMet = new Map<string, [number, number]>();
  /** Order of the replay's stores and reads. */
  private seq = 0;
  /** Stores the replay ran, in order ({@link stored}); per memoised call, its share. */
  private readonly storeLog: { key: string; seq: number; decisions?: readonly string[] }[] = [];
  private readonly memoStores = new Map<string, [number, number]>();
  /** The same stores, by every index entry ({@link storeEntries}). */
  private readonly stores = new Map<string, { seq: number; decisions?: readonly string[] }[]>();
  /** Reads of program state by object and state (`3|conf[background]`), with the value each gave. */
  private readonly reads = new Map<string, { seq: number; decisions?: readonly string[]; id: number }[]>();
  /** Names of read values and of objects made so far. */
  private values = 0;
  private objects = 0;
  /**
   * Whether the replay met a fork while a thread ran or a descriptor was cached, or a close-all
   * in a child: only then can keeping paths apart change what it finds.
   */
  metCandidate = false;

  /**
   * `consistentPaths`: keep each path's decisions consistent (flags bound through calls, the
   * branch taken per `if` chain, values read of program state). Without it every branch runs
   * on one path, as a replay that knows no flags: cheaper, and it finds a superset, so the
   * builder replays with it only the programs where this one met something to find ({@link metCandidate}).
   */
  constructor(
    private readonly model: SimModel,
    root: PyRoot,
    private readonly consistentPaths = true,
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
    for (const name of root.module.functions.keys()) if (!classPrivateMethod(name)) this.addCandidate(root.module, name, undefined);
    for (const cls of root.module.classes.keys()) this.addClass(root.module, cls, undefined);
    for (let i = 0; i < this.candidates.length; i++) {
      const { module: m, name, key, chain, self } = this.candidates[i];
      if (this.executed.has(key) || !this.model.interesting(m, name, key)) continue;
      const flags: FlagEnv | undefined = self ? { self } : undefined;
      if (!this.model.firstLaterReplay(flags ? `${key}|${signature}|${envKey(flags)}` : `${key}|${signature}|`)) continue;
      this.state = {
        threads: end.threads,
        alsoThreads: end.alsoThreads,
        lastFork: end.lastFork,
        startMethod: end.startMethod,
        live: new Map(end.live),
        hits: [],
        lastCloseAll: end.lastCloseAll,
        later: true,
      };
      this.model.stats.laterRuns++;
      this.runFunction(m, name, startCtx(chain, flags));
      this.commit();
    }
  }

  private addCandidate(module: PyModule, name: string, chain: ChainNode | undefined, self?: FlagEnv['self'], key = functionKey(module, name)): void {
    const seen = self ? `${key}|${envKey({ self })}` : key;
    if (this.candidateKeys.has(seen)) return;
    this.candidateKeys.add(seen);
    this.candidates.push(self ? { module, name, key, chain, self } : { module, name, key, chain });
  }

  /**
   * The methods of an object of `cls` the program made may run later (with the flags the call
   * that made it gave, when known); class-private ones only through the others.
   */
  private addClass(module: PyModule, cls: string, chain: ChainNode | undefined, self?: FlagEnv['self']): void {
    const classKey = functionKey(module, cls);
    const seen = self ? `${classKey}|${envKey({ self })}` : classKey;
    if (this.classesAdded.has(seen)) return;
    this.classesAdded.add(seen);
    for (const meth of this.model.allMethods(module, cls)) if (!classPrivateMethod(meth.name)) this.addCandidate(meth.module, meth.name, chain, self, meth.key);
  }

  /** Whether nothing in the workspace assigns `attr` besides an `__init__`'s flag store (the answer reads every module). */
  private steadyAttribute(attr: string): boolean {
    let w = attributeWrites.get(this.model);
    if (!w) attributeWrites.set(this.model, (w = new AttributeWrites(this.model.index)));
    if (this.model.tracker.records) this.model.tracker.add(this.model.index.modules);
    return w.steady(attr);
  }

  /**
   * The flags a call of `t` runs with: its parameters bound by the call (positionally unless
   * `Cls.method(...)` names an instance method through its class), and its `self`: the
   * caller's own for `self.m()`, the made object's for a method of it, none otherwise.
   */
  private calleeFlags(t: { module: PyModule; name: string }, args: PyCallFact['flagArgs'], ctx: RunCtx, how: 'call' | 'self' | 'init' | 'method', obj?: MadeObject): FlagEnv | undefined {
    if (!this.consistentPaths) return undefined;
    const fn = t.module.functions.get(t.name);
    const positional = how !== 'call' || !fn?.className || fn.methodKind !== undefined;
    const params = bindCall(args, fn, ctx.flags, positional);
    const selfId = ctx.flags?.selfId;
    const reads = selfId === undefined ? undefined : bindReads(args, fn, positional, (read) => this.readValue(selfId, read, ctx));
    const own = how === 'self' ? { flags: ctx.flags?.self, id: selfId } : how === 'method' || how === 'init' ? obj : undefined;
    const env: FlagEnv = {};
    if (params) env.params = params;
    if (reads) env.reads = reads;
    if (own?.flags) env.self = own.flags;
    if (own?.id !== undefined) env.selfId = own.id;
    return Object.keys(env).length ? env : undefined;
  }

  private live<F extends PythonFact>(m: PyModule, f: F, ctx: RunCtx): Live<F> {
    const l: Live<F> = { module: m, fact: f, chain: ctx.chain, later: this.state.later };
    if (ctx.decisions?.length) l.decisions = ctx.decisions;
    return l;
  }

  /**
   * `ctx` with the decisions a step takes (`frame`: the body run they belong to): the branch of
   * each `if`/`else` chain it is in, the truth value of each flag of unknown value it tests (a
   * parameter bound to a read of program state is named by the value that read gave).
   */
  private decided(ctx: RunCtx, frame: number, f: PythonFact): RunCtx {
    const added: string[] = [];
    for (const b of f.branches ?? []) added.push(`${frame}:b${b.at.line}.${b.at.character}=${b.index}`);
    for (const g of f.flagGuards ?? []) {
      const known = 'param' in g.subject ? ctx.flags?.params?.has(g.subject.param) : ctx.flags?.self?.has(g.subject.attr);
      if (known) continue;
      const read = 'param' in g.subject ? ctx.flags?.reads?.get(g.subject.param) : undefined;
      const what = read !== undefined ? `v${read}` : 'param' in g.subject ? `${frame}:p:${g.subject.param}` : `${frame}:a:${g.subject.attr}`;
      added.push(`${what}=${g.truthy ? 'T' : 'F'}`);
    }
    return added.length ? { ...ctx, decisions: [...(ctx.decisions ?? []), ...added].slice(-MAX_DECISIONS) } : ctx;
  }

  /** Stores into program state the replay has run, by {@link storeEntries} (what a memoised or summarised call stores too). */
  private stored(keys: readonly string[] | undefined, ctx: RunCtx): void {
    if (!keys || !this.consistentPaths) return;
    for (const key of keys) {
      const w = { seq: ++this.seq, decisions: ctx.decisions };
      this.storeLog.push({ key, ...w });
      for (const e of storeEntries(key)) {
        let list = this.stores.get(e);
        if (!list) this.stores.set(e, (list = []));
        list.push(w);
      }
    }
  }

  /**
   * The name of the value a read of the program state of object `selfId` gives on the path of
   * `ctx`: the name an earlier read of the same state gave, when every store the replay ran
   * since that read lies on a path exclusive with it or with this one; else a new name.
   */
  private readValue(selfId: number, read: string, ctx: RunCtx): number {
    const key = `${selfId}|${read}`;
    let list = this.reads.get(key);
    if (!list) this.reads.set(key, (list = []));
    const here = { decisions: ctx.decisions };
    const affecting = storesAffecting(read);
    for (let i = list.length - 1; i >= Math.max(0, list.length - MAX_READS); i--) {
      const r = list[i];
      const changed = affecting.some((e) => {
        const stores = this.stores.get(e) ?? [];
        for (let k = stores.length - 1; k >= 0 && stores[k].seq > r.seq; k--) if (!exclusive(stores[k], r) && !exclusive(stores[k], here)) return true;
        return false;
      });
      if (changed) continue;
      list.push({ seq: ++this.seq, decisions: ctx.decisions, id: r.id });
      return r.id;
    }
    const id = ++this.values;
    list.push({ seq: ++this.seq, decisions: ctx.decisions, id });
    return id;
  }

  protected override moduleRan(m: PyModule): void {
    for (const { name, fn } of registeredFunctions(m)) {
      this.addCandidate(m, name, push(undefined, { path: m.path, range: fn.range, message: 'registered by a decorator here; it may run later' }));
    }
  }

  protected runFunction(m: PyModule, name: string, outer: RunCtx): void {
    if (outer.depth > MAX_CALL_DEPTH) {
      this.beyondDepth(m, name, outer);
      return;
    }
    if (!this.loaded.has(m)) this.runModule(m, outer);
    const key = functionKey(m, name);
    if (this.running.has(key)) return;
    // A test patched this function or method with a mock: the mock runs instead.
    if (outer.patchedCallables?.some((p) => m.names.some((n) => p === `${n}.${name}`))) return;
    const fnFact = m.functions.get(name);
    const patched = fnFact?.patchedForks;
    const mocked = fnFact?.patchedCallables;
    let ctx = patched ? { ...outer, patchedForks: [...(outer.patchedForks ?? []), ...patched] } : outer;
    // A method whose object the replay did not see made: one object all the same (reads of its state in this run are of it).
    if (this.consistentPaths && fnFact?.className && fnFact.methodKind !== 'static' && ctx.flags?.selfId === undefined) ctx = { ...ctx, flags: { ...ctx.flags, selfId: ++this.objects } };
    if (mocked) ctx = { ...ctx, patchedCallables: [...(ctx.patchedCallables ?? []), ...mocked] };
    const standIns = fnFact?.patchedResults;
    if (standIns) ctx = { ...ctx, patchedResults: [...(ctx.patchedResults ?? []), ...standIns] };
    const st = this.state;
    // What the replay of this function depends on, besides the function: the flags it knows,
    // the patches in force, which kinds of state are set, the number of live caches and the
    // keep-list passed in. Without flags, patches and keep-names (nearly every call), as one
    // number in a map per function.
    const env = ctx.flags ? envKey(ctx.flags) : '';
    const plain = !env && !ctx.patchedForks?.length && !ctx.patchedCallables?.length && !ctx.patchedResults?.length && !ctx.keepNames?.length;
    let byState: Map<number, LiveThread | null> | undefined;
    let stateCode = 0;
    let memoKey = '';
    if (plain) {
      stateCode = (st.threads ? 1 : 0) | (st.lastFork ? 2 : 0) | (st.lastCloseAll ? 4 : 0) | (ctx.execAfter ? 8 : 0) | (st.later ? 16 : 0) | (KEEP_ARGUMENT_CODE[ctx.keepArgument ?? ''] << 5) | (st.live.size << 8);
      byState = this.plainMemo.get(key);
      if (!byState) this.plainMemo.set(key, (byState = new Map()));
    } else {
      memoKey = `${key}|${env}|${ctx.patchedForks?.join(',') ?? ''}|${ctx.patchedCallables?.join(',') ?? ''}|${ctx.patchedResults?.map((r) => `${r.target}:${r.gives ?? ''}:${r.resolves ?? ''}`).join(',') ?? ''}|${st.threads ? 1 : 0}${st.lastFork ? 1 : 0}${st.lastCloseAll ? 1 : 0}${ctx.execAfter ? 1 : 0}|${st.later ? 1 : 0}|${st.live.size}|${ctx.keepArgument ?? ''}${ctx.keepNames?.join(',') ?? ''}`;
    }
    const seen = byState ? byState.get(stateCode) : this.memo.get(memoKey);
    /** The memo entry, as the shares of what its first run met and stored are kept (only by a replay that keeps paths apart). */
    const shareKey = !this.consistentPaths ? '' : byState ? `${key}|#${stateCode}` : memoKey;
    if (seen !== undefined) {
      if (seen) this.threadStarted(seen);
      // What the first run cached or forked happens on this path too: only the decisions both paths took still hold.
      const share = this.consistentPaths ? this.memoMet.get(shareKey) : undefined;
      if (share) for (const l of this.met.slice(share[0], share[1])) if (l.decisions) l.decisions = common(l.decisions, ctx.decisions);
      const stores = this.consistentPaths ? this.memoStores.get(shareKey) : undefined;
      if (stores) this.stored([...new Set(this.storeLog.slice(stores[0], stores[1]).map((w) => w.key))], ctx);
      this.joinedBy(m, name);
      return;
    }
    this.executed.add(key);
    this.running.add(key);
    this.model.stats.functionRuns++;
    const before = this.state.threads;
    const metFrom = this.met.length;
    const storesFrom = this.storeLog.length;
    this.runBody(m, name, derivedCtx(ctx, ctx.chain, ctx.execAfter, ctx.depth + 1, false, ctx.keepArgument, ctx.keepNames));
    if (this.consistentPaths && this.met.length > metFrom) this.memoMet.set(shareKey, [metFrom, this.met.length]);
    if (this.consistentPaths && this.storeLog.length > storesFrom) this.memoStores.set(shareKey, [storesFrom, this.storeLog.length]);
    this.running.delete(key);
    const started = (!before || before.untilReturn) && this.state.threads && this.state.threads !== before ? this.state.threads : null;
    if (byState) byState.set(stateCode, started);
    else this.memo.set(memoKey, started);
    this.joinedBy(m, name);
  }

  /**
   * A call past the replay's depth: its body is not replayed, but its summary
   * (`python-effects.ts`) says whether it forks or leaves a thread running, and the replay
   * keeps that, with the summary's steps as evidence. A fork is applied before a thread
   * start: the summary does not say which comes first, and this order reports no fork after
   * a thread the callee may only start later.
   */
  private beyondDepth(m: PyModule, name: string, ctx: RunCtx): void {
    // What it stores is not known: any state.
    this.stored(['*', '*[*]'], ctx);
    const effects = this.model.effects;
    const fn = effects.fn(m, name);
    // The answer depends on every function the call may reach.
    if (this.model.tracker.records) this.model.tracker.add(this.model.reachedModules(fn));
    const summaries = effects.summaries();
    const direct = (kind: 'forks' | 'startsThread', words: string) => {
      const last = summaries.chain(fn, kind).at(-1);
      if (!last?.direct) return undefined;
      let chain = ctx.chain;
      // The last step is the site itself (the event names it).
      for (const step of effects.steps(summaries, fn, kind, words).slice(0, -1)) chain = push(chain, step);
      return { module: last.fn.module, fact: effects.body(last.fn)[last.call], chain, later: this.state.later, api: last.direct.api, note: last.direct.reason ?? words };
    };
    const fork = direct('forks', 'forks');
    if (fork?.fact.kind === 'py.fork') this.fork({ module: fork.module, fact: fork.fact, chain: fork.chain, later: fork.later });
    const thread = direct('startsThread', 'starts a thread');
    if (thread) this.threadStarted(thread);
  }

  /** `name` joins the running thread (a `stop()` calling `self._thread.join()`): it is gone afterwards. */
  private joinedBy(m: PyModule, name: string): void {
    const t = this.state.threads;
    if (t?.module === m && t.fact.kind === 'py.thread-start' && t.fact.joinedBy?.includes(name)) this.state.threads = undefined;
  }

  protected runBody(m: PyModule, fn: string, ctx: RunCtx): void {
    this.model.tracker.touch(m);
    const steps = m.bodies.get(fn);
    if (!steps) return;
    const plan = bodyPlan(steps);
    const lookups = this.model.bodyLookups(steps);
    const lastExec = fn !== '' || ctx.asMain ? plan.lastExec : plan.lastExecOutsideMainGuard;
    // Callables passed and objects created at import time of other modules are library
    // plumbing (a module-level default context, an atexit hook): only those of the root module
    // and of code that actually runs in a function count as "may run later".
    const notes = fn !== '' || m === this.root.module;
    // Objects a test creates in its own body end with the test: their methods run only as called there.
    const createsForLater = notes && ctx.testBody !== `${m.abs}#${fn}`;
    /** Where a call ran workspace code: a daemonizer's description at the same place is replaced by it. */
    let ranCode: PythonFact['range'] | undefined;
    // Threads started by a conditional `return helper()`: that path leaves the function, so
    // the statements after it run without them; the caller continues after either path.
    let leftWith: LiveThread | undefined;
    /** Threads this body starts and joins before it returns. */
    let joinedHere: LiveThread | undefined;
    /** What the calls of this body gave, when known (by where each call starts): `if inspect.isgenerator(x):` branches read it. */
    let gave: Map<string, PyCallOutcome> | undefined;
    /** The objects made here, by where the call that made each starts (`x = Server(False)`; kept by a replay that keeps paths apart). */
    const made = this.consistentPaths ? new Map<string, MadeObject>() : undefined;
    /** This run of the body, as the branch decisions taken in it name it. */
    const frame = ++this.frames;
    if (this.consistentPaths) this.stored(fn === '' ? m.moduleFact?.attributeWrites : m.functions.get(fn)?.attributeWrites, ctx);
    for (const i of plan.acting) {
      const f = steps[i];
      // A branch for other kinds of value than the one a call here is known to have given.
      if (f.valueGuards && f.valueGuards.some((g) => !branchRuns(g, gave))) continue;
      // A branch of `if flag:` for the other truth value than the one this call knows.
      if (f.flagGuards && !guardsHold(f.flagGuards, ctx.flags)) continue;
      // A branch of a flag whose value this call does not know: what runs in it is on that side of the test.
      const sctx = this.consistentPaths && (f.flagGuards || f.branches) ? this.decided(ctx, frame, f) : ctx;
      // The main block runs only in the module that is `__main__` (functions defined inside
      // it carry the flag too, but run whenever they are called).
      if (f.underMainGuard && fn === '' && !sctx.asMain) continue;
      switch (f.kind) {
        case 'py.import':
          this.runImport(m, f, this.model.importTargetsAt(m, f, lookups, i), sctx);
          break;
        case 'py.call': {
          const info = this.model.callInfoAt(m, f, lookups, i);
          const t = info.target;
          // `Server(False)`: the object's `__init__` keeps flags its methods test.
          const init = t && t.name.endsWith('.__init__') && !f.callee.endsWith('__init__');
          // The object: its flags are what its `__init__` keeps of the arguments.
          const obj: MadeObject | undefined = init && made ? { id: ++this.objects } : undefined;
          const flags = t ? this.calleeFlags(t, f.flagArgs, sctx, init ? 'init' : f.onSelf ? 'self' : 'call', obj) : undefined;
          const objectSelf = init && t && this.consistentPaths ? objectFlags(t.module.functions.get(t.name), flags?.params, (a) => this.steadyAttribute(a)) : undefined;
          if (obj) {
            if (objectSelf) obj.flags = objectSelf;
            made?.set(positionKey(f.range.start), obj);
          }
          // An object of a workspace class (with or without an `__init__` of its own).
          const cls = createsForLater ? info.cls : undefined;
          if (cls) this.addClass(cls.module, cls.name, push(sctx.chain, { path: m.path, range: f.range, message: 'object created here; its methods may run later' }), objectSelf);
          if (!t) break;
          gave = this.noteOutcome(gave, f, t, sctx);
          ranCode = f.range;
          const chain = push(sctx.chain, { path: m.path, range: f.range, message: 'called here' });
          const before = this.state.threads;
          this.runFunction(t.module, t.name, derivedCtx(sctx, chain, sctx.execAfter || lastExec > i, sctx.depth, sctx.asMain, f.keepArgument, f.keepNames, flags));
          if (f.returned && f.conditional && this.state.threads !== before) {
            leftWith ??= this.state.threads;
            this.state.threads = before;
          }
          break;
        }
        case 'py.import-computed':
          this.runImport(m, f, this.model.computedImportTargets(m, f), sctx, 'imported here by a computed name');
          break;
        case 'py.method-call': {
          const targets = this.model.methodCallTargets(m, f);
          if (!targets.length) break;
          gave = this.noteOutcome(gave, f, targets, sctx);
          const before = this.state.threads;
          const obj = f.producerAt ? made?.get(positionKey(f.producerAt)) : undefined;
          for (const t of targets) {
            const chain = push(sctx.chain, { path: m.path, range: f.range, message: `called here (${t.name})` });
            this.runFunction(t.module, t.name, derivedCtx(sctx, chain, sctx.execAfter || lastExec > i, sctx.depth, sctx.asMain, undefined, sctx.keepNames, this.calleeFlags(t, f.flagArgs, sctx, 'method', obj)));
          }
          if (f.returned && f.conditional && this.state.threads !== before) {
            leftWith ??= this.state.threads;
            this.state.threads = before;
          }
          break;
        }
        case 'py.computed-member-call': {
          // `plug = getattr(mod, name); plug(core)`: each member the lookup may give runs here.
          const targets = this.model.computedMemberTargets(m, f);
          const before = this.state.threads;
          for (const t of targets) {
            const verb = t.cls ? 'instantiated' : 'called';
            if (t.cls && createsForLater) this.addClass(t.cls.module, t.cls.name, push(sctx.chain, { path: m.path, range: f.range, message: `object created here (${t.what}); its methods may run later` }));
            if (!t.run) continue;
            const message = `${verb} here: ${f.lookup} may give the ${t.what}${t.cls ? `, which runs ${t.run.name}` : ''}`;
            this.runFunction(t.run.module, t.run.name, derivedCtx(sctx, push(sctx.chain, { path: m.path, range: f.range, message }), sctx.execAfter || lastExec > i, sctx.depth, sctx.asMain, undefined, undefined, undefined));
          }
          if (f.returned && f.conditional && this.state.threads !== before) {
            leftWith ??= this.state.threads;
            this.state.threads = before;
          }
          break;
        }
        case 'py.with-enter': {
          // `with detached(...):` runs the entered object's `__enter__` right after the call.
          const t = this.model.enterTarget(m, f);
          if (!t) break;
          const chain = push(sctx.chain, { path: m.path, range: f.range, message: `entered here by with: runs ${t.name.replace(/\.[^.]+$/, '')}.__enter__ (${t.name})` });
          this.runFunction(t.module, t.name, derivedCtx(sctx, chain, sctx.execAfter || lastExec > i, sctx.depth, sctx.asMain, undefined, undefined, undefined));
          break;
        }
        case 'py.ref': {
          if (!notes) break;
          const sym = this.model.symbolOf(m, f, f.name, f.origin);
          const chain = push(sctx.chain, { path: m.path, range: f.range, message: 'passed here; it may be called later' });
          if (sym?.kind === 'function') this.addCandidate(sym.module, sym.name, chain);
          else if (sym?.kind === 'class') this.addClass(sym.module, sym.name, chain);
          break;
        }
        case 'py.thread-start': {
          if (f.joined) {
            if (!this.state.threads) this.state.threads = joinedHere = { ...this.live(m, f, sctx), api: f.api, note: f.note, untilReturn: true };
          } else this.threadStarted({ ...this.live(m, f, sctx), api: f.api, note: f.note });
          // `pool.map(work, jobs)`: `work` runs on the pool's threads, beside the other workers.
          const runs = f.runs ? this.model.symbolOf(m, f, f.runs.name, f.runs.origin) : undefined;
          if (runs?.kind === 'function') {
            const chain = push(sctx.chain, { path: m.path, range: f.range, message: `runs ${runs.name} on the pool's worker threads here` });
            const before = this.state.threads;
            this.state.threads = { ...this.live(m, f, sctx), api: f.api, note: f.note, untilReturn: true };
            this.runFunction(runs.module, runs.name, derivedCtx(sctx, chain, sctx.execAfter || lastExec > i, sctx.depth, sctx.asMain, undefined, undefined, undefined));
            // What the work leaves running outlives it; the pool's own threads are as before.
            if (this.state.threads?.fact === f && this.state.threads.module === m) this.state.threads = before;
          }
          break;
        }
        case 'py.object-start': {
          const sym = notes ? this.model.symbolOf(m, f, f.constructorName, f.origin) : undefined;
          const what = this.model.classify(m, f.constructorName, f.origin, f.method);
          if (sym?.kind === 'class' && createsForLater) this.addClass(sym.module, sym.name, push(sctx.chain, { path: m.path, range: f.range, message: 'started here; its methods may run later' }));
          if (sym?.kind === 'class' && !what) {
            // No thread or process: the class's own `start()` runs here, like any method called
            // on the object (in a test's own body, under the test's patches).
            const meth = this.model.allMethods(sym.module, sym.name).find((x) => x.name.endsWith(`.${f.method}`));
            const obj = f.producerAt ? made?.get(positionKey(f.producerAt)) : undefined;
            if (meth) this.runFunction(meth.module, meth.name, derivedCtx(sctx, push(sctx.chain, { path: m.path, range: f.range, message: 'called here' }), sctx.execAfter, sctx.depth, sctx.asMain, sctx.keepArgument, sctx.keepNames, this.calleeFlags(meth, f.flagArgs, sctx, 'method', obj)));
          }
          const shown = f.constructorName.replace(/^\.+/, '');
          if (what?.kind === 'thread') this.threadStarted({ ...this.live(m, f, sctx), api: `${what.base} subclass ${shown}.${f.method}()`, note: 'starts a thread' });
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
            this.fork({ ...this.live(m, synthetic, sctx) });
          }
          break;
        }
        case 'py.fork':
          if (f.via === 'daemonizer' && sameRange(ranCode, f.range)) break;
          // A test further up replaced this call with a mock: no process is made.
          if (sctx.patchedForks?.some((p) => f.api === `${p}()`)) break;
          this.fork(this.live(m, f, sctx));
          break;
        case 'py.close-all':
          if (f.inChild && sameRange(ranCode, f.range)) break;
          this.closeAll(this.live(m, f, sctx), sctx.execAfter || lastExec > i, sctx.keepArgument, sctx.keepNames);
          break;
        case 'py.fd-cache':
          this.cached(this.live(m, f, sctx));
          break;
        case 'py.store':
          this.stored([f.key], sctx);
          break;
        case 'py.start-method':
          if (f.method !== 'unknown') this.state.startMethod = { method: f.method, at: this.live(m, f, sctx) };
          break;
        default:
          break;
      }
    }
    if (joinedHere && this.state.threads === joinedHere) this.state.threads = undefined;
    if (leftWith) this.threadStarted(leftWith);
  }

  /**
   * Notes what a call gives when every function it may run says the same: a function a test
   * patched gives what its stand-in gives (awaiting a patched `async def` awaits the stand-in's
   * value, as `AsyncMock` does); another gives what its definition says.
   */
  private noteOutcome(gave: Map<string, PyCallOutcome> | undefined, f: PythonFact, called: readonly { module: PyModule; name: string }[] | { module: PyModule; name: string }, ctx: RunCtx): Map<string, PyCallOutcome> | undefined {
    let common: PyCallOutcome | undefined;
    if ('module' in called) common = outcomeOf(called, ctx);
    else {
      for (const t of called) {
        const o = outcomeOf(t, ctx);
        if (!o || (common && (common.gives !== o.gives || common.resolves !== o.resolves))) return gave;
        common = o;
      }
    }
    if (common) (gave ??= new Map()).set(positionKey(f.range.start), common);
    return gave;
  }

  /** A thread that outlives its function replaces one that is joined before its function returns. */
  private threadStarted(t: LiveThread): void {
    const running = this.state.threads;
    if (!running || (running.untilReturn && !t.untilReturn)) {
      this.state.threads = t;
      if (!running) this.state.alsoThreads = undefined;
    }
    else if (running.decisions?.length && !t.untilReturn) {
      const also = this.state.alsoThreads ?? [];
      if (also.length < MAX_ALSO_THREADS && !also.includes(t)) this.state.alsoThreads = [...also, t];
    }
  }

  private fork(ev: LiveFork): void {
    const f = ev.fact;
    const s = this.state;
    // A fork with nothing running and nothing cached finds nothing, on any path.
    if (s.threads || s.live.size) this.metCandidate = true;
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
      // The running thread a path to this fork can share (one started on an exclusive path is not
      // running there; the others started while it ran are kept only as long as it runs).
      const threads = f.inChild || !s.threads ? undefined : [s.threads, ...(s.alsoThreads ?? [])].find((t) => !exclusive(t, ev));
      if (threads && !stoppedBeforeEveryFork(threads)) this.model.recordForkAfterThreads(this.root, ev, threads);
      const continues = f.via !== 'os' || f.child === 'continues';
      if (continues) {
        s.lastFork = ev;
        this.met.push(ev);
        for (const [key, cache] of s.live) if (!exclusive(cache, ev)) s.hits.push({ cache, key, fork: ev });
      }
      if (f.parentExits) {
        s.threads = undefined;
        s.alsoThreads = undefined;
      }
    }
    if (f.threadsAfter) this.threadStarted({ ...ev, api: f.api, note: 'starts helper threads in the parent' });
  }

  private closeAll(ev: Live<PyCloseAllFact>, execAfter: boolean, keepArgument: PyKeepArgument | undefined, keepNames: readonly string[] | undefined): void {
    const f = ev.fact;
    const s = this.state;
    if (f.keepList || f.execFollows || execAfter) return;
    // A helper that spares what its caller passes: a close-all only when that is nothing or
    // only the standard streams (a caller we cannot see is given the benefit of the doubt).
    // A caller that keeps only the descriptors of named objects (`keepfd=sock.fileno()`)
    // spares those: it is a close-all for every cached descriptor it does not name.
    // A keep condition read in the loop itself (`fd not in self.keep_fds`) works the same way;
    // what a caller passed in may hold anything, except the descriptors the close-all's own
    // class opens itself (the caller never sees those).
    const fromCall = f.keepParameter !== undefined && keepArgument === 'named';
    const named = fromCall || f.keepNames !== undefined;
    if (f.keepParameter && keepArgument !== 'none' && keepArgument !== 'stdio-only' && !named) return;
    if (!s.lastFork && !f.inChild) return;
    this.metCandidate = true;
    const names = fromCall ? (keepNames ?? []) : (f.keepNames ?? []);
    const kept = (c: Live<PyFdCacheFact>) =>
      named && (names.includes(c.fact.name.slice(c.fact.name.lastIndexOf('.') + 1)) || (!!f.keepFromCaller && !sameClass(c, ev)));
    const caches = [...s.live.values()].filter((c) => !this.model.protection.why(c.module, c.fact) && !kept(c) && !exclusive(c, ev));
    // What the named keep-list spares is all we can see to be open: nothing cached is lost.
    if (named && !caches.length) return;
    this.model.recordCloseAll(this.root, ev, s.lastFork, caches, named ? names : undefined);
    for (const h of s.hits) if (!h.closeAll && !h.cancelled && !kept(h.cache) && !exclusive(h.cache, ev) && !exclusive(h.fork, ev)) h.closeAll = ev;
    s.lastCloseAll = ev;
  }

  private cached(ev: Live<PyFdCacheFact>): void {
    const s = this.state;
    const key = `${ev.module.abs}#${ev.fact.name}`;
    for (const h of s.hits) {
      // (A re-open on a path the hit's fork or close-all cannot share re-opens nothing there.)
      if (exclusive(ev, h.fork) || exclusive(ev, h.closeAll)) continue;
      if (h.key === key) h.cancelled = true;
      else if (h.closeAll && !h.reuse) h.reuse = ev;
    }
    this.met.push(ev);
    s.live.set(key, ev);
  }

  private commit(): void {
    for (const h of this.state.hits) {
      if (h.cancelled) continue;
      if (this.model.protection.why(h.cache.module, h.cache.fact)) continue;
      // A logging handler shared with a child is still the same open file there; it goes
      // wrong only when the child closes it behind the logger's back.
      if (h.cache.fact.storage === 'registry' && !h.closeAll) continue;
      // A cache opened lazily inside a function only counts in the ordered phase, where we
      // know it was opened before the fork.
      this.model.recordCache(this.root, h);
    }
    this.state.hits = [];
  }
}

/** The decisions both lists hold. */
function common(a: readonly string[], b: readonly string[] | undefined): readonly string[] | undefined {
  if (!b?.length) return undefined;
  const theirs = new Set(b);
  const out = a.filter((d) => theirs.has(d));
  return out.length ? out : undefined;
}

/** What calling `t` gives: what its definition says, or for a function a test patched, what the stand-in gives (see {@link ProgramSim.noteOutcome}). */
function outcomeOf(t: { module: PyModule; name: string }, ctx: RunCtx): PyCallOutcome | undefined {
  const real = t.module.functions.get(t.name)?.outcome;
  const patched = ctx.patchedCallables?.length ? ctx.patchedCallables.find((p) => t.module.names.some((n) => p === `${n}.${t.name}`)) : undefined;
  if (!patched) return real;
  const standIn = ctx.patchedResults?.find((r) => r.target === patched);
  return standIn ? { gives: real?.gives === 'coroutine' ? 'coroutine' : standIn.gives, resolves: awaitedKind(standIn) } : undefined;
}

const REGISTERED = new WeakMap<PyModule['functions'], { name: string; fn: PyFunctionFact }[]>();

/** The functions of a module registered by a decorator (they may run later), in definition order; listed once per module. */
function registeredFunctions(m: PyModule): readonly { name: string; fn: PyFunctionFact }[] {
  let out = REGISTERED.get(m.functions);
  if (!out) {
    out = [];
    for (const [name, fn] of m.functions) if (fn.registered) out.push({ name, fn });
    REGISTERED.set(m.functions, out);
  }
  return out;
}

/** Two ranges are the same (the first may be missing). */
function sameRange(a: PythonFact['range'] | undefined, b: PythonFact['range']): boolean {
  return !!a && a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** The kinds of step a replay acts on (the others, definitions and the like, do nothing in {@link ProgramSim.runBody}). */
const ACTING_KINDS: ReadonlySet<PythonFact['kind']> = new Set<PythonFact['kind']>([
  'py.import',
  'py.call',
  'py.import-computed',
  'py.method-call',
  'py.computed-member-call',
  'py.with-enter',
  'py.ref',
  'py.thread-start',
  'py.object-start',
  'py.fork',
  'py.close-all',
  'py.fd-cache',
  'py.start-method',
  'py.store',
]);

/** What a replay needs to know of a body before walking it, computed once per body. */
interface BodyPlan {
  /** Where the last exec or `_exit` is (-1: none), those under the main guard included (a function's body, or the module running as `__main__`). */
  lastExec: number;
  /** The same without those under the main guard. */
  lastExecOutsideMainGuard: number;
  /** The positions of the steps of {@link ACTING_KINDS}, in order. */
  acting: readonly number[];
}

const BODY_PLANS = new WeakMap<readonly PythonFact[], BodyPlan>();

/** {@link BodyPlan} of a body. An exit in an `except` clause does not end the normal path. */
function bodyPlan(steps: readonly PythonFact[]): BodyPlan {
  let plan = BODY_PLANS.get(steps);
  if (plan) return plan;
  plan = { lastExec: -1, lastExecOutsideMainGuard: -1, acting: [] };
  const acting: number[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (ACTING_KINDS.has(s.kind)) acting.push(i);
    if (s.kind !== 'py.exec' || s.onError) continue;
    plan.lastExec = i;
    if (!s.underMainGuard) plan.lastExecOutsideMainGuard = i;
  }
  plan.acting = acting;
  BODY_PLANS.set(steps, plan);
  return plan;
}

function positionKey(p: PyValueGuard['subject']): string {
  return `${p.line}:${p.character}`;
}

/** Whether a branch guarded by `g` may run: the value it tests is unknown, or of one of its kinds. */
function branchRuns(g: PyValueGuard, gave: ReadonlyMap<string, PyCallOutcome> | undefined): boolean {
  const o = gave?.get(positionKey(g.subject));
  const kind = o ? (g.awaited ? awaitedKind(o) : o.gives) : undefined;
  return kind === undefined || g.kinds.includes(kind);
}
