/**
 * Call-effect summaries: what calling a function may do to the process, computed once per
 * program bottom-up over its call graph, for every language. The fork-child walks, the
 * thread orderings and the heartbeat joins ask this layer "what does this call do" instead of
 * each following calls on its own.
 *
 * A language model describes its graph ({@link EffectGraph}): its functions, the workspace
 * functions each call may run, and the effects of calls into code outside the workspace that
 * its knowledge tables know (`pthread_create` starts a thread, `closelog` is not
 * async-signal-safe, `execv` never returns). {@link summarizeEffects} propagates them:
 *
 * - *May* effects (every kind except `neverReturns`) hold for a function when one of its calls
 *   has them, directly or through any callee. The witness is the first such call in the
 *   function's order, a direct one preferred at the same call.
 * - `neverReturns` is a *must* effect: it holds when a call that always runs (not under a
 *   condition, per {@link EffectGraph.runsAlways}) never returns, directly or because every
 *   workspace function it may run never returns.
 *
 * Defaults: a call that resolves to no workspace function and that the knowledge tables do
 * not describe has no effect and returns. Recursion: the functions of a cycle are solved
 * together from "no effect", so a may-effect holds only if some member reaches it outside
 * the cycle, and a cycle never counts as "never returns" by itself.
 *
 * Summaries are plain data keyed by function. With {@link EffectGraph.contentKey} and a
 * {@link EffectSummaryCache} kept between runs, a function whose own text and whose callees'
 * summaries did not change reuses its previous summary, so an edit recomputes only the
 * edited functions and those whose callees' summaries changed.
 */

/** What a call can do that a FORK, FD or HEARTBEAT rule asks about. */
export type EffectKind =
  /** starts a thread (or a library's background thread) */
  | 'startsThread'
  /** forks the process (`fork`, `os.fork`, `multiprocessing` with the fork start method) */
  | 'forks'
  /** always replaces (`exec*`) or ends (`_exit`, `exit`, `os._exit`) the process: it never returns */
  | 'neverReturns'
  /** calls a function that is not async-signal-safe (locks, allocates, logs) */
  | 'unsafeInChild'
  /** waits or sleeps (blocks the calling thread) */
  | 'waits'
  /** sends a keep-alive or heartbeat */
  | 'pings'
  /** blocks a JavaScript event loop (synchronous I/O, busy loops, `Atomics.wait`) */
  | 'blocksEventLoop';

export const EFFECT_KINDS: readonly EffectKind[] = ['startsThread', 'forks', 'neverReturns', 'unsafeInChild', 'waits', 'pings', 'blocksEventLoop'];

/** An effect of one call of a function into code the knowledge tables describe. */
export interface LocalEffect {
  /** The call's index in the function's call list (the order {@link EffectGraph.callees} uses). */
  call: number;
  kind: EffectKind;
  /** The callee as written, for evidence (`closelog`, `threading.Thread.start`). */
  api: string;
  /** Why, for evidence ("takes the syslog lock"). */
  reason?: string;
}

/** Why a function has an effect: its call `call` has it directly, or through the workspace function `via`. */
export interface EffectWitness<Fn> {
  call: number;
  /** Set when the call itself has the effect. */
  direct?: { api: string; reason?: string };
  /** Set when the call has the effect because the workspace function `via` has it. */
  via?: Fn;
}

/** A function's effects, each with its witness. */
export type CallEffects<Fn> = Partial<Record<EffectKind, EffectWitness<Fn>>>;

/** The call graph of one program as the summaries need it. */
export interface EffectGraph<Fn> {
  /** Every function of the program, in a fixed order (the order decides ties, so results are deterministic). */
  functions: readonly Fn[];
  /** For each call of `fn`, in order: the workspace functions it may run (empty when none). */
  callees(fn: Fn): readonly (readonly Fn[])[];
  /** The effects of `fn`'s calls into code outside the workspace. */
  localEffects(fn: Fn): readonly LocalEffect[];
  /** Whether call `call` of `fn` runs on every path through `fn` (default: no, so nothing is a must effect). */
  runsAlways?(fn: Fn, call: number): boolean;
  /** A key for `fn`'s own text and context; with a cache, equal keys and equal callee summaries reuse the summary. */
  contentKey?(fn: Fn): string;
}

/** One step of a witness chain: call `call` of `fn`. The last step is the direct one. */
export interface EffectStep<Fn> {
  fn: Fn;
  call: number;
  /** On the last step: what the call does. */
  direct?: { api: string; reason?: string };
}

/** Summaries of the previous run, by content key, so that an edit recomputes only what changed. */
export class EffectSummaryCache {
  private entries = new Map<string, { signature: string; effects: SerialEffects }>();
  private used = new Map<string, { signature: string; effects: SerialEffects }>();
  hits = 0;
  misses = 0;

  /** @internal */
  lookup(key: string, signature: string): SerialEffects | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.signature === signature) {
      this.used.set(key, hit);
      this.hits++;
      return hit.effects;
    }
    this.misses++;
    return undefined;
  }

  /** @internal */
  store(key: string, signature: string, effects: SerialEffects): void {
    this.used.set(key, { signature, effects });
  }

  /** Drops the entries the last run did not use (call after each run). */
  endRun(): void {
    this.entries = this.used;
    this.used = new Map();
  }
}

/** Effects with `via` as an index into the callees of the witness call (so they survive a rebuilt graph). */
type SerialEffects = Partial<Record<EffectKind, { call: number; direct?: { api: string; reason?: string }; viaCallee?: number }>>;

/** The solved summaries of one program. */
export class EffectSummaries<Fn> {
  constructor(
    private readonly graph: EffectGraph<Fn>,
    private readonly effects: Map<Fn, CallEffects<Fn>>,
  ) {}

  /** `fn`'s effects (empty for a function outside the graph). */
  of(fn: Fn): CallEffects<Fn> {
    return this.effects.get(fn) ?? {};
  }

  has(fn: Fn, kind: EffectKind): boolean {
    return this.effects.get(fn)?.[kind] !== undefined;
  }

  /** Whether call `call` of `fn` has the effect, directly or through a workspace callee. */
  callHas(fn: Fn, call: number, kind: EffectKind): boolean {
    if (this.graph.localEffects(fn).some((e) => e.call === call && e.kind === kind)) return true;
    const targets = this.graph.callees(fn)[call] ?? [];
    if (kind === 'neverReturns') return targets.length > 0 && targets.every((t) => this.has(t, kind));
    return targets.some((t) => this.has(t, kind));
  }

  /** The witness chain from `fn` to the call that has the effect directly (empty when `fn` lacks it). */
  chain(fn: Fn, kind: EffectKind): EffectStep<Fn>[] {
    const steps: EffectStep<Fn>[] = [];
    const seen = new Set<Fn>();
    for (let f: Fn | undefined = fn; f !== undefined && !seen.has(f); ) {
      seen.add(f);
      const w: EffectWitness<Fn> | undefined = this.effects.get(f)?.[kind];
      if (!w) return [];
      steps.push({ fn: f, call: w.call, direct: w.direct });
      f = w.via;
    }
    return steps;
  }
}

/** Solves the summaries of `graph` bottom-up (strongly connected components in reverse topological order). */
export function summarizeEffects<Fn>(graph: EffectGraph<Fn>, cache?: EffectSummaryCache): EffectSummaries<Fn> {
  const effects = new Map<Fn, CallEffects<Fn>>();
  const keys = new Map<Fn, string>();
  for (const component of componentsBottomUp(graph)) {
    if (component.length === 1 && !selfCalls(graph, component[0])) {
      const fn = component[0];
      const signature = cache && graph.contentKey ? calleeSignature(graph, fn, keys, effects) : undefined;
      const key = signature !== undefined ? graph.contentKey!(fn) : undefined;
      const cached = key !== undefined ? cache!.lookup(key, signature!) : undefined;
      const solved = cached ? revive(graph, fn, cached) : solveOne(graph, fn, effects);
      effects.set(fn, solved);
      if (key !== undefined) {
        keys.set(fn, `${key}|${effectsSignature(solved)}`);
        if (!cached) cache!.store(key, signature!, serialise(graph, fn, solved));
      }
      continue;
    }
    // A cycle: iterate from "no effect" until nothing changes; a witness, once set, stays.
    for (const fn of component) effects.set(fn, {});
    for (let changed = true; changed; ) {
      changed = false;
      for (const fn of component) {
        const now = effects.get(fn)!;
        const next = solveOne(graph, fn, effects);
        for (const kind of EFFECT_KINDS) if (next[kind] && !now[kind]) {
          now[kind] = next[kind];
          changed = true;
        }
      }
    }
    // Cycle members are not cached: their keys would depend on each other.
  }
  cache?.endRun();
  return new EffectSummaries(graph, effects);
}

function solveOne<Fn>(graph: EffectGraph<Fn>, fn: Fn, known: Map<Fn, CallEffects<Fn>>): CallEffects<Fn> {
  const out: CallEffects<Fn> = {};
  const local = new Map<number, LocalEffect[]>();
  for (const e of graph.localEffects(fn)) local.set(e.call, [...(local.get(e.call) ?? []), e]);
  const callees = graph.callees(fn);
  const calls = Math.max(callees.length, ...[...local.keys()].map((k) => k + 1));
  for (let call = 0; call < calls; call++) {
    for (const e of local.get(call) ?? []) {
      if (e.kind === 'neverReturns' && !graph.runsAlways?.(fn, call)) continue;
      out[e.kind] ??= { call, direct: { api: e.api, reason: e.reason } };
    }
    const targets = callees[call] ?? [];
    for (const kind of EFFECT_KINDS) {
      if (out[kind]) continue;
      if (kind === 'neverReturns') {
        if (targets.length && graph.runsAlways?.(fn, call) && targets.every((t) => known.get(t)?.neverReturns)) out[kind] = { call, via: targets[0] };
        continue;
      }
      const via = targets.find((t) => known.get(t)?.[kind]);
      if (via !== undefined) out[kind] = { call, via };
    }
  }
  return out;
}

function selfCalls<Fn>(graph: EffectGraph<Fn>, fn: Fn): boolean {
  return graph.callees(fn).some((targets) => targets.includes(fn));
}

/** What a function's summary depends on besides its own text: its callees' keys and summaries. */
function calleeSignature<Fn>(graph: EffectGraph<Fn>, fn: Fn, keys: Map<Fn, string>, effects: Map<Fn, CallEffects<Fn>>): string | undefined {
  const parts: string[] = [JSON.stringify(graph.localEffects(fn))];
  for (const targets of graph.callees(fn)) {
    const ids: string[] = [];
    for (const t of targets) {
      const k = keys.get(t);
      if (k === undefined) {
        // A callee in a cycle (uncached): fall back on its summary alone.
        if (!effects.has(t)) return undefined;
        ids.push(`~${effectsSignature(effects.get(t)!)}`);
      } else ids.push(k);
    }
    parts.push(ids.join(','));
  }
  return parts.join(';');
}

function effectsSignature<Fn>(effects: CallEffects<Fn>): string {
  return EFFECT_KINDS.filter((k) => effects[k]).join(',');
}

function serialise<Fn>(graph: EffectGraph<Fn>, fn: Fn, effects: CallEffects<Fn>): SerialEffects {
  const out: SerialEffects = {};
  for (const kind of EFFECT_KINDS) {
    const w = effects[kind];
    if (!w) continue;
    out[kind] = { call: w.call, direct: w.direct, viaCallee: w.via !== undefined ? graph.callees(fn)[w.call].indexOf(w.via) : undefined };
  }
  return out;
}

function revive<Fn>(graph: EffectGraph<Fn>, fn: Fn, cached: SerialEffects): CallEffects<Fn> {
  const out: CallEffects<Fn> = {};
  for (const kind of EFFECT_KINDS) {
    const w = cached[kind];
    if (!w) continue;
    out[kind] = { call: w.call, direct: w.direct, via: w.viaCallee !== undefined ? graph.callees(fn)[w.call][w.viaCallee] : undefined };
  }
  return out;
}

/** Tarjan's strongly connected components, callees before callers, iteratively (deep graphs must not overflow the stack). */
function componentsBottomUp<Fn>(graph: EffectGraph<Fn>): Fn[][] {
  const index = new Map<Fn, number>();
  const low = new Map<Fn, number>();
  const onStack = new Set<Fn>();
  const stack: Fn[] = [];
  const out: Fn[][] = [];
  let counter = 0;
  const successors = (fn: Fn): Fn[] => graph.callees(fn).flat().filter((t) => t !== fn);
  for (const root of graph.functions) {
    if (index.has(root)) continue;
    const work: { fn: Fn; next: Fn[]; i: number }[] = [];
    const enter = (fn: Fn): void => {
      index.set(fn, counter);
      low.set(fn, counter++);
      stack.push(fn);
      onStack.add(fn);
      work.push({ fn, next: successors(fn), i: 0 });
    };
    enter(root);
    while (work.length) {
      const top = work[work.length - 1];
      if (top.i < top.next.length) {
        const t = top.next[top.i++];
        if (!index.has(t)) enter(t);
        else if (onStack.has(t)) low.set(top.fn, Math.min(low.get(top.fn)!, index.get(t)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].fn;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.fn)!));
      }
      if (low.get(top.fn) === index.get(top.fn)) {
        const component: Fn[] = [];
        let member: Fn;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== top.fn);
        out.push(component.reverse());
      }
    }
  }
  return out;
}
