/**
 * Handle summaries on the call-effect solver (`call-effects.ts`): what calling a function
 * does with handles, parameter by parameter, solved once per program bottom-up over the
 * strongly connected components of its call graph, with witnesses for the evidence chain.
 * The unreleased-file links across files (`handle-summaries.ts`) ask this layer instead of
 * following calls on their own.
 *
 * A function's summary ({@link HandleSummary}) says whether it
 * - `returnsFreshHandle`: returns a handle its caller must release — one it opens itself, or
 *   the result of a call it returns as it is whose callee returns one (a *may* fact; `slot` is
 *   the element of an array result that holds it, `return [stream, size]`);
 * - `returnsParameter` i: returns its parameter i as it is, itself or through a call it returns
 *   whose callee returns the argument it got the parameter as (may);
 * - `releasesParameter` i: releases (closes) its parameter i, itself or through some callee
 *   it passes it to that releases it (may);
 * - `storesParameter` i: keeps its parameter i (a global, a registry, a field), itself or
 *   through some callee it passes it to that keeps it (may);
 * - `onlyUses` i: neither releases nor keeps its parameter i: its own uses are reads, and
 *   every call it passes the parameter to runs only workspace functions that only use it (a
 *   *must* fact: one call that may hand it over is enough to lose it).
 * A module's exports are a node too: `exportsFs` holds when the module re-exports the `fs`
 * module, itself or by re-exporting (returning as it is) a module whose exports are fs.
 *
 * Defaults:
 * - An unknown callee (a call that resolves to no function of the graph) returns no fresh
 *   handle and no parameter, releases and keeps nothing; passing a parameter to it counts as
 *   handing the handle over, so the caller does not "only use" that parameter.
 * - A cycle starts from "no effect" (no fresh handle, no parameter returned, released or kept,
 *   and no "only uses"): a may fact holds in a cycle only when some member reaches it outside
 *   the cycle, and "only uses" holds for a member only through calls that leave the cycle.
 *   Where the links followed chains of returned results up to a fixed depth, a chain of any
 *   length is now followed, and a cycle of functions returning each other's results is "no
 *   fresh handle", as before.
 *
 * With {@link HandleGraph.contentKey} and an `EffectSummaryCache` kept between runs, a function
 * whose own facts and callees' summaries did not change reuses its summary.
 */
import { solveBottomUp, type EffectSummaryCache, type SummaryDomain, type SummaryGraph } from './call-effects';

/** What one call of a function does with handles, besides running its callees. */
export interface HandleCall {
  /** The function returns the call's result as it is (`return open_log(p)`, `module.exports = require('./fs')`). */
  returned?: boolean;
  /** The function's parameter `parameter` is the call's argument `argument` (both 0-based). */
  passes?: readonly { parameter: number; argument: number }[];
  /** Followed for the parameter facts only (whole-result facts such as a fresh handle are not read through it). */
  parametersOnly?: boolean;
}

/** What a function does with handles by itself (not through its calls of graph functions). */
export interface OwnHandleFacts {
  /** It returns a handle it opens (at element `slot` of an array result). */
  opens?: { slot?: number };
  /** Its module re-exports the `fs` module itself (a module node). */
  exportsFs?: boolean;
  /** Parameters it returns as they are. */
  returnsParameters?: readonly number[];
  /** Parameters it releases. */
  releases?: readonly number[];
  /** Parameters it keeps. */
  stores?: readonly number[];
  /** Parameters whose own uses are reads (calls that receive them are judged by their callees). */
  usesOnly?: readonly number[];
  /** Its calls, in the order of {@link HandleGraph.callees}. */
  calls?: readonly HandleCall[];
}

/** The call graph as the handle summaries need it. */
export interface HandleGraph<Fn> extends SummaryGraph<Fn> {
  own(fn: Fn): OwnHandleFacts;
}

/** Why a function has a fact: by itself (no `call`), or through its call `call` and the callee `via` (its argument `argument`). */
export interface HandleWitness<Fn> {
  call?: number;
  via?: Fn;
  /** The callee's parameter the fact is about (parameter-indexed facts through a call). */
  argument?: number;
}

/** A function's handle summary; parameter-indexed facts map the parameter's index to the witness. */
export type HandleSummary<Fn> = Summary<HandleWitness<Fn>>;

/** The facts of a summary, whatever its witnesses are (functions, or indexes in the cache). */
type Summary<W> = {
  returnsFreshHandle?: W & { slot?: number };
  exportsFs?: W;
} & Partial<Record<ParameterFact, Readonly<Record<number, W>>>>;

type WholeFact = 'returnsFreshHandle' | 'exportsFs';
type ParameterFact = 'returnsParameter' | 'releasesParameter' | 'storesParameter' | 'onlyUses';
const WHOLE_FACTS: readonly WholeFact[] = ['returnsFreshHandle', 'exportsFs'];
const PARAMETER_FACTS: readonly ParameterFact[] = ['returnsParameter', 'releasesParameter', 'storesParameter', 'onlyUses'];

/** One step of a witness chain: `fn` has the fact through its call `call` (absent on the last step, where `fn` has it by itself). */
export interface HandleStep<Fn> {
  fn: Fn;
  call?: number;
  /** For a parameter-indexed fact: the parameter of `fn` it is about. */
  parameter?: number;
}

/** The solved handle summaries of one program. */
export class HandleSummaries<Fn> {
  constructor(private readonly summaries: ReadonlyMap<Fn, HandleSummary<Fn>>) {}

  /** `fn`'s summary (empty for a function that was not solved). */
  of(fn: Fn): HandleSummary<Fn> {
    return this.summaries.get(fn) ?? {};
  }

  /** The chain from `fn` to the function that opens the handle it returns, or re-exports fs (empty when `fn` lacks the fact). */
  chain(fn: Fn, fact: WholeFact): HandleStep<Fn>[] {
    const steps: HandleStep<Fn>[] = [];
    const seen = new Set<Fn>();
    for (let f: Fn | undefined = fn; f !== undefined && !seen.has(f); ) {
      seen.add(f);
      const w: HandleWitness<Fn> | undefined = this.summaries.get(f)?.[fact];
      if (!w) return [];
      steps.push({ fn: f, call: w.call });
      f = w.via;
    }
    return steps;
  }

  /** The chain of a parameter-indexed fact from `fn`'s parameter `parameter` to the function that has it by itself. */
  parameterChain(fn: Fn, fact: ParameterFact, parameter: number): HandleStep<Fn>[] {
    const steps: HandleStep<Fn>[] = [];
    for (let f: Fn | undefined = fn, p = parameter; f !== undefined && !steps.some((s) => s.fn === f && s.parameter === p); ) {
      const w: HandleWitness<Fn> | undefined = this.summaries.get(f)?.[fact]?.[p];
      if (!w) return [];
      steps.push({ fn: f, call: w.call, parameter: p });
      f = w.via;
      p = w.argument ?? p;
    }
    return steps;
  }
}

/** Solves the handle summaries of `graph` bottom-up; see the module comment for the defaults. */
export function summarizeHandleEffects<Fn>(graph: HandleGraph<Fn>, cache?: EffectSummaryCache): HandleSummaries<Fn> {
  return new HandleSummaries(solveBottomUp(graph, handleDomain(graph), cache));
}

function handleDomain<Fn>(graph: HandleGraph<Fn>): SummaryDomain<Fn, HandleSummary<Fn>> {
  return {
    none: () => ({}),
    solve: (fn, known) => solveHandles(graph, fn, known),
    grow(now, next) {
      let changed = false;
      const into = now as Record<string, unknown>;
      for (const fact of WHOLE_FACTS) if (next[fact] && !now[fact]) {
        into[fact] = next[fact];
        changed = true;
      }
      for (const fact of PARAMETER_FACTS) {
        const add = next[fact];
        if (!add) continue;
        const have = { ...(now[fact] ?? {}) };
        for (const [p, w] of Object.entries(add)) if (!have[Number(p)]) {
          have[Number(p)] = w;
          changed = true;
        }
        into[fact] = have;
      }
      return changed;
    },
    ownSignature: (fn) => JSON.stringify(graph.own(fn)),
    signature: summarySignature,
    serialise: (fn, summary) => mapWitnesses<HandleWitness<Fn>, SerialWitness>(summary, (w) => ({ call: w.call, argument: w.argument, viaCallee: w.via !== undefined && w.call !== undefined ? graph.callees(fn)[w.call].indexOf(w.via) : undefined })),
    revive: (fn, data) =>
      mapWitnesses<SerialWitness, HandleWitness<Fn>>(data as SerialSummary, (w) => ({
        call: w.call,
        argument: w.argument,
        via: w.viaCallee !== undefined && w.call !== undefined ? graph.callees(fn)[w.call][w.viaCallee] : undefined,
      })),
  };
}

function solveHandles<Fn>(graph: HandleGraph<Fn>, fn: Fn, known: ReadonlyMap<Fn, HandleSummary<Fn>>): HandleSummary<Fn> {
  const own = graph.own(fn);
  const callees = graph.callees(fn);
  const calls = own.calls ?? [];
  const out: { -readonly [K in keyof HandleSummary<Fn>]: HandleSummary<Fn>[K] } = {};
  // Whole-result facts: by itself, else the first returned call with a callee that has it.
  if (own.opens) out.returnsFreshHandle = { slot: own.opens.slot };
  if (own.exportsFs) out.exportsFs = {};
  for (let call = 0; call < calls.length; call++) {
    if (!calls[call].returned || calls[call].parametersOnly) continue;
    for (const via of callees[call] ?? []) {
      const s = known.get(via);
      if (!out.returnsFreshHandle && s?.returnsFreshHandle) out.returnsFreshHandle = { call, via, slot: s.returnsFreshHandle.slot };
      if (!out.exportsFs && s?.exportsFs) out.exportsFs = { call, via };
    }
  }
  // May facts per parameter: by itself, else the first call that passes it to a callee that has it for that argument.
  const may = (fact: 'returnsParameter' | 'releasesParameter' | 'storesParameter', self: readonly number[] | undefined, onlyReturned: boolean) => {
    const found: Record<number, HandleWitness<Fn>> = {};
    for (const p of self ?? []) found[p] = {};
    for (let call = 0; call < calls.length; call++) {
      const c = calls[call];
      if (onlyReturned && !c.returned) continue;
      for (const { parameter, argument } of c.passes ?? []) {
        if (found[parameter]) continue;
        const via = (callees[call] ?? []).find((t) => known.get(t)?.[fact]?.[argument]);
        if (via !== undefined) found[parameter] = { call, via, argument };
      }
    }
    if (Object.keys(found).length > 0) out[fact] = found;
  };
  may('returnsParameter', own.returnsParameters, true);
  may('releasesParameter', own.releases, false);
  may('storesParameter', own.stores, false);
  // "Only uses": its own uses are reads, and every call it passes the parameter to runs only functions that only use it.
  const only: Record<number, HandleWitness<Fn>> = {};
  for (const p of own.usesOnly ?? []) {
    let holds = true;
    for (let call = 0; call < calls.length && holds; call++) {
      for (const { parameter, argument } of calls[call].passes ?? []) {
        if (parameter !== p) continue;
        const targets = callees[call] ?? [];
        if (targets.length === 0 || !targets.every((t) => known.get(t)?.onlyUses?.[argument])) holds = false;
      }
    }
    if (holds) only[p] = {};
  }
  if (Object.keys(only).length > 0) out.onlyUses = only;
  return out;
}

function summarySignature<Fn>(s: HandleSummary<Fn>): string {
  const parts: string[] = [];
  if (s.returnsFreshHandle) parts.push(`fresh:${s.returnsFreshHandle.slot ?? ''}`);
  if (s.exportsFs) parts.push('fs');
  for (const fact of PARAMETER_FACTS) {
    const m = s[fact];
    if (m) parts.push(`${fact}:${Object.keys(m).join('.')}`);
  }
  return parts.join(',');
}

/** A witness in the cache: the callee as an index into the witness call's callees. */
interface SerialWitness {
  call?: number;
  argument?: number;
  viaCallee?: number;
}

type SerialSummary = Summary<SerialWitness>;

/** The summary with each witness mapped (for the cache's plain data and back). */
function mapWitnesses<A, B>(s: Summary<A>, f: (w: A) => B): Summary<B> {
  const out: Summary<B> = {};
  if (s.returnsFreshHandle) out.returnsFreshHandle = { ...f(s.returnsFreshHandle), slot: s.returnsFreshHandle.slot };
  if (s.exportsFs) out.exportsFs = f(s.exportsFs);
  for (const fact of PARAMETER_FACTS) {
    const m = s[fact];
    if (!m) continue;
    const mapped: Record<number, B> = {};
    for (const [p, w] of Object.entries(m)) mapped[Number(p)] = f(w);
    out[fact] = mapped;
  }
  return out;
}
