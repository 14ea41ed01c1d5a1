/**
 * Program order, approximately: may an event (a thread start, a descriptor cached) have
 * happened by the time control reaches a given call?
 *
 * - A function "may do" the event when it contains an event site or calls (transitively)
 *   a function that may. For process effects (a thread start) that is the function's
 *   call-effect summary (`c-effects.ts`); for other events (a descriptor cached) a search
 *   over the callers of the event sites.
 * - Inside one function, the event may precede call `k` when a call that may do it comes
 *   earlier in the source, or shares a loop with `k` (the next iteration runs it first).
 * - A function is "entered after" the event when some call site reaching it is (its
 *   caller was, or the event may precede that call site); a thread's start routine is
 *   entered after its thread starts; a function with no known caller in the program (a
 *   callback, a library entry) is assumed entered after the event when the program has
 *   any event site; `main` is entered first, and so is a test's body (a function a macro
 *   defines in a test file, `TEST_IMPL(name) { ... }`): test runners call it through a table
 *   and run each test in a process of its own. In a program with `main`, a function the
 *   workspace shows called only by other programs is not such an entry: it never runs there.
 *
 * "Entered after" is answered on demand by a breadth-first search over the callers of the
 * queried function (its ancestors only), so a query costs what the call chains above it
 * cost, not the whole program. Every answer has a witness, so findings can show the chain
 * ("thread started here" → "start_workers() called here" → "fork here").
 */
import type { RelatedLocation } from '../text/locations';
import { spanRange, type Span } from '../facts/c/program-types';
import { childOnlyCallSpans, isMain, isTestEntry, withTransitiveCallers, type CallSite, type CFn, type CModel, type CProgram } from './c';
import type { EffectKind, EffectSummaries } from './call-effects';

export interface EventWords {
  /** At a direct event site: "thread started here by pthread_create()". */
  site(api: string, site: CallSite): string;
  /** At a call into a function that may do the event: "start_workers() is called here and starts a thread". */
  via(callee: string): string;
  /** At a call site whose callee is entered after the event: "run_alert() is called here, after threads may have started". */
  enters(callee: string): string;
  /** At the thread start whose routine is the function. */
  routine?(fnName: string, api: string): string;
  /** At a function with no known caller. */
  unknown(fnName: string): string;
  /**
   * At a call site in a chain that starts at a thread's start routine `routine`: the caller
   * runs on that thread ("release_unit() runs on the unit_worker() thread and calls
   * spawn_alert() here"). Falls back on `enters` when absent.
   */
  entersOnThread?(caller: string, callee: string, routine: string): string;
}

type Entered = { kind: 'caller'; site: CallSite } | { kind: 'routine'; site: CallSite } | { kind: 'unknown'; site: CallSite } | { kind: 'no' };

const NO: Entered = { kind: 'no' };

/** Which functions may do the event, each with a call of it that does (directly or through a callee). */
interface MayDo {
  has(fn: CFn): boolean;
  get(fn: CFn): number | undefined;
}

/** The event is a process effect: the call-effect summaries say which functions may do it. */
export interface EffectPropagation {
  summaries: EffectSummaries<CFn>;
  kind: EffectKind;
}

/** Per-program facts every ordering of the program needs. */
interface ProgramIndex {
  /**
   * Names used as values anywhere in the program (functions whose address is taken), except a
   * use that only passes the function to workspace functions calling it (`spawn(cycle,
   * run_worker)`): that function runs where the call graph shows it called.
   */
  referenced: Set<string>;
  /** Functions of the program that hold a fork or exec site, or call (transitively) one that does. */
  reachesProcess(): Set<CFn>;
  /** Callers of a function that lie in the program. */
  callersIn(fn: CFn): CallSite[];
  /**
   * The program shows no caller of the function, which may then run at any time: a library's
   * entry (in a program without `main`), a callback, or a call the facts miss (a caller made
   * by a macro). In a program with `main`, a function the workspace shows called only by other
   * programs is none of these: it is library code this program links and does not use
   * (`uv_spawn()` in a libuv example that never spawns, called by the examples that do). A
   * caller counts when another program with `main` holds its file. Test bodies count as `main`
   * here ({@link hasEntries}): `uv_spawn()`, called only by the spawn tests, does not run in the
   * process of a fork test.
   */
  noKnownCaller(fn: CFn): boolean;
}

const PROGRAM_INDEX = new WeakMap<CProgram, ProgramIndex>();

const HAS_ENTRIES = new WeakMap<CProgram, boolean>();

/**
 * The program has a first function of its processes: a `main`, or a test body that a macro
 * defines in a test file (each test runs in a process of its own, entered there like `main`;
 * see `isTestEntry`). The tests of a file that no `main` reaches by name (libuv's runner calls
 * them through a table) form a program of their own, whose code starts at those bodies.
 */
function hasEntries(program: CProgram): boolean {
  let has = HAS_ENTRIES.get(program);
  if (has === undefined) {
    has = program.mains.length > 0 || [...program.files].some((f) => f.testFile && f.functions.some((fn) => fn !== undefined && isTestEntry(fn)));
    HAS_ENTRIES.set(program, has);
  }
  return has;
}

function programIndex(model: CModel, program: CProgram): ProgramIndex {
  let index = PROGRAM_INDEX.get(program);
  if (index) return index;
  const referenced = new Set<string>();
  // A function also kept as a value by some file (a table's initializer, a field) may be called
  // through it anywhere, whatever its other uses.
  const stored = new Set<string>();
  for (const f of program.files) for (const n of f.storedNames ?? []) stored.add(n);
  for (const f of program.files) {
    for (const fn of f.functions) {
      if (!fn) continue;
      for (const r of fn.fact.references) if (!referenced.has(r) && (stored.has(r) || !model.onlyPassedToCallers(fn, r))) referenced.add(r);
    }
  }
  const memo = new Map<CFn, CallSite[]>();
  let reaching: Set<CFn> | null = null;
  index = {
    referenced,
    reachesProcess(): Set<CFn> {
      if (reaching) return reaching;
      const sites: CFn[] = [];
      for (const f of program.files) {
        for (const site of [...f.forks, ...f.execs]) {
          const fn = f.functions[site.functionIndex];
          if (fn) sites.push(fn);
        }
      }
      reaching = withTransitiveCallers(sites, (fn) => this.callersIn(fn));
      return reaching;
    },
    callersIn(fn: CFn): CallSite[] {
      let list = memo.get(fn);
      if (!list) memo.set(fn, (list = model.callers(fn).filter((c) => program.files.has(c.fn.file))));
      return list;
    },
    noKnownCaller(fn: CFn): boolean {
      if (this.callersIn(fn).length > 0) return false;
      if (!hasEntries(program)) return true;
      // A caller in a file that no program with `main` holds (git's builtins, reached only
      // through a command table the model does not follow) may be this program's own: it shows
      // nothing. One in another program with `main` shows library code that program uses.
      return !model.callers(fn).some((c) => model.programsOf(c.fn.file).some((q) => q !== program && hasEntries(q)));
    },
  };
  PROGRAM_INDEX.set(program, index);
  return index;
}

export class Ordering {
  private readonly direct = new Map<CFn, Map<number, string>>();
  /** Functions that may do the event, with the call that does it (directly or through a callee). */
  private readonly mayDo: MayDo;
  private readonly eventCallsCache = new Map<CFn, number[]>();
  private readonly routines = new Map<CFn, CallSite>();
  private readonly enteredMemo = new Map<CFn, Entered>();
  /** Functions whose `enteredMemo` witness is only assumed (its chain ends at a function with no known caller). */
  private readonly assumedOnly = new Set<CFn>();
  /** Functions none of whose ancestors has a real witness (a search from them, or through them, saw all). */
  private readonly searched = new Set<CFn>();
  private readonly index: ProgramIndex;
  /** False when the event only ever happens in fork children (see `fromCallers`): then nothing in the program runs after it. */
  private happensInParent = true;

  constructor(
    private readonly model: CModel,
    private readonly program: CProgram,
    private readonly sites: readonly (CallSite & { api: string; routine?: string })[],
    private readonly words: EventWords,
    private readonly propagation?: EffectPropagation,
  ) {
    this.index = programIndex(model, program);
    for (const s of sites) {
      let m = this.direct.get(s.fn);
      if (!m) this.direct.set(s.fn, (m = new Map()));
      m.set(s.call, s.api);
    }
    this.mayDo = propagation ? this.fromSummaries(propagation) : this.fromCallers();
    // Thread start routines run after their thread starts.
    for (const s of sites) {
      if (!s.routine) continue;
      for (const r of model.resolveName(s.fn.file, s.routine)) {
        if (program.files.has(r.file) && !this.routines.has(r)) this.routines.set(r, s);
      }
    }
  }

  /**
   * Callers of event functions, breadth first: the witness is a shortest chain. A call that
   * only the child of a fork in its caller makes is not followed: the event (a descriptor
   * created, a cache filled) happens in that child, not in the caller's process.
   */
  private fromCallers(): MayDo {
    const mayDo = new Map<CFn, number>();
    const queue: CFn[] = [];
    for (const s of this.sites) {
      if (!mayDo.has(s.fn)) {
        mayDo.set(s.fn, s.call);
        queue.push(s.fn);
      }
    }
    for (let i = 0; i < queue.length; i++) {
      for (const c of this.index.callersIn(queue[i])) {
        if (mayDo.has(c.fn)) continue;
        // A call only a fork child of its caller makes does the event in that child alone. A
        // process body the child runs through a function pointer (`proc(cycle, data)` in a spawn
        // helper, running a worker's whole life) counts only when it never forks or runs a
        // program: a child that execs later hands the descriptor on, and is judged as if the
        // event happened in the caller.
        const call = c.fn.fact.calls[c.call];
        if (call && childOnlyCallSpans(c.fn).has(call.span.join(',')) && (call.param === undefined || !this.index.reachesProcess().has(queue[i]))) continue;
        mayDo.set(c.fn, c.call);
        queue.push(c.fn);
      }
    }
    // Does the event ever happen outside a fork child? Only when some function that may do it
    // can be entered by a process other than such a child: `main`, a function with no known
    // caller or whose address is taken (a callback, a thread's routine), or (followed above)
    // one called from outside a child region.
    this.happensInParent = [...mayDo.keys()].some((fn) => isMain(fn) || this.index.noKnownCaller(fn) || this.index.referenced.has(fn.fact.name));
    return mayDo;
  }

  /**
   * The summaries' functions with the effect (their witness: the first call that has it), and
   * the functions holding an event site the summary leaves out (one in a child that execs).
   */
  private fromSummaries({ summaries, kind }: EffectPropagation): MayDo {
    const direct = this.direct;
    return {
      has: (fn) => direct.has(fn) || summaries.has(fn, kind),
      get: (fn) => summaries.of(fn)[kind]?.call ?? direct.get(fn)?.keys().next().value,
    };
  }

  get hasEvents(): boolean {
    return this.sites.length > 0;
  }

  /** Calls of `fn` that may do the event. */
  private eventCalls(fn: CFn): number[] {
    let list = this.eventCallsCache.get(fn);
    if (list) return list;
    list = [];
    if (this.mayDo.has(fn)) {
      const direct = this.direct.get(fn);
      const callees = this.model.callees(fn);
      for (let j = 0; j < callees.length; j++) {
        if (direct?.has(j) || callees[j].some((t) => t !== fn && this.mayDo.has(t))) list.push(j);
      }
    }
    this.eventCallsCache.set(fn, list);
    return list;
  }

  /** A call of `fn` that may do the event before call `k` runs, or -1. */
  private before(fn: CFn, k: number): number {
    const list = this.eventCalls(fn);
    if (list.length === 0) return -1;
    const at = fn.fact.calls[k]?.span;
    if (!at) return -1;
    for (const j of list) {
      if (j === k) continue;
      const s = fn.fact.calls[j].span;
      if (startsBefore(s, at)) return j;
      if (fn.fact.loops.some((l) => contains(l, s) && contains(l, at))) return j;
    }
    return -1;
  }

  /** Why a function is entered after the event without looking at its callers. */
  private baseEntered(fn: CFn): Entered {
    const routine = this.routines.get(fn);
    if (routine) return { kind: 'routine', site: routine };
    // A test's body (a macro-defined function in a test file) is entered first in its own
    // process, like `main`: what another test starts does not run there (see `isTestEntry`).
    if (isMain(fn) || isTestEntry(fn) || this.sites.length === 0) return NO;
    if (this.index.noKnownCaller(fn) || this.index.referenced.has(fn.fact.name)) return { kind: 'unknown', site: this.sites[0] };
    return NO;
  }

  /**
   * Why `f` may be entered after the event: a breadth-first search over its ancestors. A
   * witness that really runs after the event (a thread's start routine, or a caller that
   * starts a thread before the call) is preferred to one that is only assumed to (a
   * function with no known caller, or one whose address is taken): when the nearest
   * witness is assumed, the search goes on through the remaining ancestors for a real one,
   * and falls back on the nearest assumed one.
   */
  private entered(f: CFn): Entered {
    const memo = this.enteredMemo.get(f);
    if (memo) return memo;
    if (this.sites.length === 0) return NO;
    // Search the ancestors of f; `down` leads from an ancestor back towards f.
    const down = new Map<CFn, { child: CFn; site: CallSite }>();
    const visited = new Set<CFn>([f]);
    const queue: CFn[] = [f];
    let source: CFn | null = null;
    let assumed: CFn | null = null;
    /** Records that `h` is entered after the event for `why`; true when that witness is real (the search may stop). */
    const found = (h: CFn, why: Entered | null, real: boolean): boolean => {
      if (why) {
        this.enteredMemo.set(h, why);
        if (!real) this.assumedOnly.add(h);
      }
      if (real) source = h;
      else assumed ??= h;
      return real;
    };
    search: for (let i = 0; i < queue.length; i++) {
      const h = queue[i];
      const known = this.enteredMemo.get(h);
      if (known && known.kind !== 'no') {
        if (found(h, null, !this.assumedOnly.has(h))) break;
        // An earlier search from h found no real witness among its ancestors.
        if (this.searched.has(h)) continue;
      } else if (known) {
        // An earlier exhaustive search showed h and all its ancestors are not entered.
        continue;
      } else {
        const base = this.baseEntered(h);
        if (base.kind !== 'no' && found(h, base, base.kind === 'routine')) break;
      }
      for (const c of this.index.callersIn(h)) {
        if (this.before(c.fn, c.call) >= 0) {
          this.enteredMemo.set(h, { kind: 'caller', site: c });
          this.assumedOnly.delete(h);
          source = h;
          break search;
        }
        if (!visited.has(c.fn)) {
          visited.add(c.fn);
          down.set(c.fn, { child: h, site: c });
          queue.push(c.fn);
        }
      }
    }
    const from: CFn | null = source ?? assumed;
    if (!from) {
      // No ancestor can be entered after the event: neither can any of them.
      for (const v of visited) if (!this.enteredMemo.has(v)) this.enteredMemo.set(v, NO);
      return NO;
    }
    const real = source !== null;
    // Without a real witness the search saw every ancestor: none of them has one either.
    if (!real) for (const v of visited) this.searched.add(v);
    for (let cur: CFn = from; cur !== f; ) {
      const step = down.get(cur);
      if (!step) break;
      this.enteredMemo.set(step.child, { kind: 'caller', site: step.site });
      if (real) this.assumedOnly.delete(step.child);
      else this.assumedOnly.add(step.child);
      cur = step.child;
    }
    return this.enteredMemo.get(f) ?? NO;
  }

  /** May the event have happened when control reaches call `k` of `fn`? */
  at(fn: CFn, k: number): boolean {
    if (!this.happensInParent) return false;
    return this.before(fn, k) >= 0 || this.entered(fn).kind !== 'no';
  }

  /**
   * True when, on every way the event may precede call `k` of `fn`, the program undoes it
   * before that call: `undone(g, after, before)` says whether `g` undoes it on every path
   * from its call `after` (-1: its start) to its call `before`. Each function that may be
   * entered after the event is asked after the last call in it that may do the event (a
   * loop that repeats the event after `k` is never undone); without such a call, its
   * callers are asked at the call sites reaching it. A thread's start routine and a
   * function with no known caller are entered at unknown times: not undone unless their
   * own code undoes it.
   */
  undoneBefore(fn: CFn, k: number, undone: (g: CFn, after: number, before: number) => boolean, depth = 0, seen = new Set<CFn>()): boolean {
    const at = fn.fact.calls[k]?.span;
    if (!at || depth > 16) return false;
    let last = -1;
    for (const j of this.eventCalls(fn)) {
      if (j === k) continue;
      const s = fn.fact.calls[j].span;
      if (startsBefore(s, at)) {
        if (last < 0 || startsBefore(fn.fact.calls[last].span, s)) last = j;
      } else if (fn.fact.loops.some((l) => contains(l, s) && contains(l, at))) {
        return false;
      }
    }
    if (last >= 0) return undone(fn, last, k);
    if (this.entered(fn).kind === 'no' || undone(fn, -1, k)) return true;
    if (this.baseEntered(fn).kind !== 'no') return false;
    if (seen.has(fn)) return true;
    seen.add(fn);
    return this.index.callersIn(fn).every((c) => this.undoneBefore(c.fn, c.call, undone, depth + 1, seen));
  }

  /** Why the event may have happened at call `k` of `fn`, as an ordered chain ending just before that call. */
  chainAt(fn: CFn, k: number, depth = 0): RelatedLocation[] {
    if (depth > 16) return [];
    const j = this.before(fn, k);
    if (j >= 0) {
      // A copy: the chain down to the site may be memoised, and its last step is reworded below.
      const chain = [...this.siteChain(fn, j, 0)];
      const last = chain[chain.length - 1];
      if (last && !startsBefore(fn.fact.calls[j].span, fn.fact.calls[k].span)) {
        chain[chain.length - 1] = { ...last, message: `${last.message} (later in the same loop, so an earlier iteration ran it)` };
      }
      return chain;
    }
    const e = this.entered(fn);
    switch (e.kind) {
      case 'caller': {
        const routine = this.words.entersOnThread ? this.routineAbove(e.site.fn) : null;
        const text = routine ? this.words.entersOnThread!(e.site.fn.fact.name, fn.fact.name, routine) : this.words.enters(fn.fact.name);
        return [...this.chainAt(e.site.fn, e.site.call, depth + 1), this.loc(e.site, text)];
      }
      case 'routine': {
        // A routine's site is one of the event sites, so it has its API.
        const api = this.direct.get(e.site.fn)!.get(e.site.call)!;
        const text = this.words.routine ? this.words.routine(fn.fact.name, api) : this.words.site(api, e.site);
        return [this.loc(e.site, text)];
      }
      case 'unknown':
        return [
          ...this.siteChain(e.site.fn, e.site.call, 0),
          { path: fn.file.path, range: spanRange(fn.fact.nameSpan), message: this.words.unknown(fn.fact.name) },
        ];
      case 'no':
        return [];
    }
  }

  /**
   * The chain a finding at call `k` of `fn` (a fork) leads with, and its rank among the chains
   * of the same call in other programs (lower reads better):
   *
   * 1. an event earlier in `fn` itself (rank 0): the most local evidence;
   * 2. when `fn` runs on a thread (it is a start routine, or its callers lead up to one), the
   *    route from that thread's start down to the call of `fn` (rank: its number of steps): the
   *    nearest routine, so a fork helper's chain names the function that runs on a thread and
   *    calls it ("release_unit() runs on the unit_worker() thread and calls spawn_alert()
   *    here"), even when a start-up path reaches the helper in fewer calls after some thread
   *    started;
   * 3. otherwise {@link chainAt} (rank Infinity).
   */
  leadChainAt(fn: CFn, k: number): { chain: RelatedLocation[]; rank: number } {
    if (this.before(fn, k) >= 0) return { chain: this.chainAt(fn, k), rank: 0 };
    const thread = this.threadChainAt(fn);
    if (thread) return { chain: thread, rank: thread.length };
    return { chain: this.chainAt(fn, k), rank: Infinity };
  }

  /**
   * The nearest thread start routine above `fn` through its callers (calls through dispatch
   * tables and stored function pointers included), with the way down from it: `fn` runs on
   * that routine's thread. Null when no caller chain of `fn` (up to 16 calls) starts at one.
   */
  threadAbove(fn: CFn): { routine: CFn; site: CallSite; path: CallSite[] } | null {
    const down = new Map<CFn, CallSite>();
    const visited = new Set<CFn>([fn]);
    const queue: { f: CFn; depth: number }[] = [{ f: fn, depth: 0 }];
    for (let i = 0; i < queue.length; i++) {
      const { f, depth } = queue[i];
      const start = this.routines.get(f);
      if (start) {
        const path: CallSite[] = [];
        for (let cur = f; cur !== fn; ) {
          const step = down.get(cur)!;
          path.push(step);
          cur = this.calleeOf(step);
        }
        return { routine: f, site: start, path };
      }
      if (depth >= 16) continue;
      for (const c of this.index.callersIn(f)) {
        if (visited.has(c.fn)) continue;
        visited.add(c.fn);
        // The step from c.fn down towards fn goes through call c (which reaches f).
        down.set(c.fn, c);
        this.stepTarget.set(c, f);
        queue.push({ f: c.fn, depth: depth + 1 });
      }
    }
    return null;
  }

  private readonly stepTarget = new Map<CallSite, CFn>();

  private calleeOf(step: CallSite): CFn {
    return this.stepTarget.get(step)!;
  }

  /**
   * A chain showing that `fn` runs on a thread: the thread start, then each call down from
   * its routine ("run_job() runs on the pool_worker() thread and calls do_commands() here"),
   * ending at the call of `fn`; null when `fn` runs on no thread the model sees.
   */
  threadChainAt(fn: CFn): RelatedLocation[] | null {
    const above = this.threadAbove(fn);
    if (!above) return null;
    const api = this.direct.get(above.site.fn)?.get(above.site.call);
    if (api === undefined) return null;
    const out: RelatedLocation[] = [this.loc(above.site, this.words.routine ? this.words.routine(above.routine.fact.name, api) : this.words.site(api, above.site))];
    const name = above.routine.fact.name;
    for (const step of above.path) {
      const callee = this.calleeOf(step).fact.name;
      out.push(this.loc(step, this.words.entersOnThread ? this.words.entersOnThread(step.fn.fact.name, callee, name) : this.words.enters(callee)));
    }
    return out;
  }

  /**
   * The start routine whose thread runs `fn`, when `fn`'s witness leads up through callers
   * to one (and no earlier event in a caller intervenes).
   */
  private routineAbove(fn: CFn): string | null {
    let cur = fn;
    for (let depth = 0; depth <= 16; depth++) {
      const e = this.enteredMemo.get(cur);
      if (!e || e.kind === 'no' || e.kind === 'unknown') return null;
      if (e.kind === 'routine') return cur.fact.name;
      if (this.before(e.site.fn, e.site.call) >= 0) return null;
      cur = e.site.fn;
    }
    return null;
  }

  /** From the event site up to call `j` of `fn`, which does (or reaches) the event. */
  private siteChain(fn: CFn, j: number, depth: number): RelatedLocation[] {
    const witness = this.propagation?.summaries.of(fn)[this.propagation.kind];
    const api = this.direct.get(fn)?.get(j) ?? (witness?.call === j ? witness.direct?.api : undefined);
    if (api !== undefined) return [this.loc({ fn, call: j }, this.words.site(api, { fn, call: j }))];
    if (depth > 16) return [];
    if (this.propagation) return this.nearestSiteChain(fn, j);
    const g = this.model.resolve(fn, j).find((t) => t !== fn && this.mayDo.has(t));
    if (!g) return [];
    return [...this.siteChain(g, this.mayDo.get(g)!, depth + 1), this.loc({ fn, call: j }, this.words.via(g.fact.name))];
  }

  /** The event call of `fn` that the chain shows: its first event site, or the summary's direct witness. */
  private directCall(fn: CFn): { call: number; api: string } | undefined {
    const sites = this.direct.get(fn);
    if (sites) {
      let best = -1;
      for (const k of sites.keys()) if (best < 0 || k < best) best = k;
      return { call: best, api: sites.get(best)! };
    }
    const witness = this.propagation?.summaries.of(fn)[this.propagation.kind];
    return witness?.direct ? { call: witness.call, api: witness.direct.api } : undefined;
  }

  private readonly nearestMemo = new Map<string, RelatedLocation[]>();

  /**
   * With summaries: the shortest way down from call `j` of `fn` to an event site (a
   * breadth-first search over the callees that have the effect), so the chain names as few
   * calls as the call graph allows; the summary's own witness (the first call) may be longer.
   */
  private nearestSiteChain(fn: CFn, j: number): RelatedLocation[] {
    const key = `${fn.id}:${j}`;
    const memo = this.nearestMemo.get(key);
    if (memo) return memo;
    const parent = new Map<CFn, CallSite>();
    const queue: CFn[] = [];
    for (const t of this.model.resolve(fn, j)) {
      if (t === fn || parent.has(t) || !this.mayDo.has(t)) continue;
      parent.set(t, { fn, call: j });
      queue.push(t);
    }
    let out: RelatedLocation[] = [];
    for (let i = 0; i < queue.length; i++) {
      const h = queue[i];
      const site = this.directCall(h);
      if (site) {
        out = [this.loc({ fn: h, call: site.call }, this.words.site(site.api, { fn: h, call: site.call }))];
        for (let cur = h; cur !== fn; ) {
          const step = parent.get(cur)!;
          out.push(this.loc(step, this.words.via(cur.fact.name)));
          cur = step.fn;
        }
        break;
      }
      const callees = this.model.callees(h);
      for (let k = 0; k < callees.length; k++) {
        for (const t of callees[k]) {
          if (t === h || t === fn || parent.has(t) || !this.mayDo.has(t)) continue;
          parent.set(t, { fn: h, call: k });
          queue.push(t);
        }
      }
    }
    this.nearestMemo.set(key, out);
    return out;
  }

  private loc(site: CallSite, message: string): RelatedLocation {
    return { path: site.fn.file.path, range: spanRange(site.fn.fact.calls[site.call].span), message };
  }
}

function startsBefore(a: Span, b: Span): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

function contains(outer: Span, inner: Span): boolean {
  const startOk = outer[0] < inner[0] || (outer[0] === inner[0] && outer[1] <= inner[1]);
  const endOk = outer[2] > inner[2] || (outer[2] === inner[2] && outer[3] >= inner[3]);
  return startOk && endOk;
}
