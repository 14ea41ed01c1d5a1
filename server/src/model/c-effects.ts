/**
 * The C program model as a call-effect graph (see `call-effects.ts`): what calling a C
 * function may do to the process, solved once per model bottom-up over the workspace call
 * graph. The fork-child walks (`c-child.ts`) judge a helper deeper than they follow through
 * its summary, and the thread ordering (`c-order.ts`) asks it which functions may start a
 * thread.
 *
 * Local effects (calls that resolve to no workspace function, read from the knowledge tables
 * and the model's facts):
 * - `startsThread`: a thread start the facts recorded (`pthread_create`, a user's
 *   `threadStarters` model);
 * - `forks`: a fork the facts recorded (`fork`, `vfork`, `daemon`, a fork wrapper's call);
 * - `neverReturns`: an `exec*` or an exit (`_exit`, `exit`) that runs on every path through
 *   the function (`CModel.runsAlways`, so `#if` branches count for the target platform);
 * - `unsafeInChild`: a call that is not async-signal-safe, with the reason the fork-child
 *   rule shows (`closelog` takes syslog's lock; a thread start is one too, "thread").
 *
 * What a function's summary leaves out:
 * - calls the target platform does not compile;
 * - calls after an `exec*` or exit written in the function that runs on every path: they run
 *   only when the exec fails (the child walks report that code within their depth) or never
 *   (a call of a never-returning workspace helper does not cut what follows it: that needs
 *   the helper's summary, which the graph does not read);
 * - the calls of a fork child made in the function that ends in that function (execs or
 *   exits): they run in another process, which that fork's own walk judges.
 *
 * Defaults (from `call-effects.ts`): a call that resolves to no workspace function and that
 * the tables do not describe has no effect and returns; the functions of a recursive cycle
 * have an effect only when some member reaches it outside the cycle, and never "never return"
 * by the cycle alone.
 *
 * Summaries are memoised per model; the language server's model cache keeps an
 * `EffectSummaryCache` between rebuilt models, keyed by each function's own calls, so a C
 * edit re-solves only the functions whose text or callees' summaries changed.
 */
import { createHash } from 'node:crypto';
import { regionEndOf } from '../facts/c/program-fork';
import type { CFunctionFact } from '../facts/c/program-types';
import { isIgnoredCallee } from '../knowledge/c-process';
import { summarizeEffects, type EffectGraph, type EffectSummaries, type LocalEffect } from './call-effects';
import type { CFn, CModel } from './c';

/** What the graph keeps of one function: its live call indexes, and its local effects. */
interface FnView {
  /** Calls past this index are left out (after one that always runs and never returns). */
  liveUntil: number;
  /** Indexes of calls inside a fork child of the function that ends there. */
  otherProcess: Set<number> | null;
  local: LocalEffect[];
}

const NO_CALLS: readonly (readonly CFn[])[] = [];

/** The C model's effect graph (functions in model order; call indexes are the facts' call indexes). */
export function cEffectGraph(model: CModel): EffectGraph<CFn> {
  const views = new Map<CFn, FnView>();
  const view = (fn: CFn): FnView => {
    let v = views.get(fn);
    if (!v) views.set(fn, (v = describe(model, fn)));
    return v;
  };
  const calleeLists = new Map<CFn, readonly (readonly CFn[])[]>();
  return {
    functions: relevantFunctions(model),
    callees(fn) {
      let list = calleeLists.get(fn);
      if (list) return list;
      if (fn.fact.notOn?.includes(model.platform)) list = NO_CALLS;
      else {
        const v = view(fn);
        const all = model.callees(fn);
        list = v.liveUntil >= all.length - 1 && !v.otherProcess ? all : all.map((targets, i) => (i > v.liveUntil || v.otherProcess?.has(i) ? NONE : targets));
      }
      calleeLists.set(fn, list);
      return list;
    },
    localEffects: (fn) => (fn.fact.notOn?.includes(model.platform) ? [] : view(fn).local),
    runsAlways: (fn, call) => {
      const c = fn.fact.calls[call];
      return c !== undefined && model.runsAlways(c);
    },
    contentKey: (fn) => contentKey(fn.fact, model.platform),
  };
}

const NONE: readonly CFn[] = [];

/**
 * The functions whose summaries a rule may ask for: those of the programs holding a fork or
 * an exec, and the functions declared to run in a fork child (with everything they call, which
 * the solver reaches from them). A glibc-sized workspace with few such programs solves little.
 */
function relevantFunctions(model: CModel): CFn[] {
  const out: CFn[] = [];
  const files = new Set(model.programs().flatMap((p) => [...p.files]));
  for (const fn of model.fns) {
    if (files.has(fn.file) || fn.fact.forkChild || model.knowledge.forkChildFunctions.has(fn.fact.name)) out.push(fn);
  }
  return out;
}

function describe(model: CModel, fn: CFn): FnView {
  const calls = fn.fact.calls;
  const callees = model.callees(fn);
  const knowledge = model.knowledge;
  const otherProcess = endedChildCalls(fn);
  const local: LocalEffect[] = [];
  let liveUntil = calls.length - 1;
  for (const t of fn.file.threads) if (t.functionIndex === fn.fact.index) local.push({ call: t.callIndex, kind: 'startsThread', api: t.api });
  for (const f of fn.file.forks) if (f.functionIndex === fn.fact.index && f.callIndex >= 0) local.push({ call: f.callIndex, kind: 'forks', api: f.api });
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    if (otherProcess?.has(i) || !model.compiled(call)) continue;
    const name = call.name;
    const end = regionEndOf(name);
    if (end) {
      if (model.runsAlways(call)) {
        local.push({ call: i, kind: 'neverReturns', api: name });
        if (end === 'unsafe-exit') local.push({ call: i, kind: 'unsafeInChild', api: name, reason: knowledge.signalUnsafe.get(name) ?? 'exit' });
        liveUntil = i;
        break;
      }
      if (end === 'unsafe-exit') local.push({ call: i, kind: 'unsafeInChild', api: name, reason: knowledge.signalUnsafe.get(name) ?? 'exit' });
      continue;
    }
    if (callees[i].length > 0 || knowledge.signalSafe.has(name)) continue;
    const reason = knowledge.signalUnsafe.get(name) ?? (!isIgnoredCallee(name) && knowledge.threadStarts.has(name) ? 'thread' : undefined);
    if (reason) local.push({ call: i, kind: 'unsafeInChild', api: name, reason });
  }
  const live = local.filter((e) => e.call <= liveUntil && !otherProcess?.has(e.call));
  live.sort((a, b) => a.call - b.call);
  return { liveUntil, otherProcess, local: live };
}

/**
 * Indexes of the calls of `fn` that only the child of a fork made in `fn` runs, when that
 * child execs or exits before leaving `fn` (null when there are none). A child that returns
 * or runs on (a daemonizing helper) keeps its calls: that child is the process that goes on.
 */
function endedChildCalls(fn: CFn): Set<number> | null {
  let out: Set<number> | null = null;
  for (const fork of fn.file.forks) {
    if (fork.functionIndex !== fn.fact.index) continue;
    for (const region of fork.regions) {
      if (!region.end || region.end === 'return') continue;
      const spans = new Set(region.calls.map((c) => c.span.join(',')));
      fn.fact.calls.forEach((c, i) => {
        if (spans.has(c.span.join(','))) (out ??= new Set()).add(i);
      });
    }
  }
  return out;
}

const KEYS = new WeakMap<CFunctionFact, string>();

/**
 * A function's own text as the summary sees it: its name, static-ness and calls (callee,
 * conditions, `#if` platforms, the table or field called through), without positions, so an
 * edit elsewhere in the file keeps the key.
 */
function contentKey(fact: CFunctionFact, platform: string): string {
  let key = KEYS.get(fact);
  if (key === undefined) {
    const calls = fact.calls.map((c) => [c.name, c.unconditional ?? 0, c.takenOn ?? 0, c.notOn ?? 0, c.via ?? 0, c.field ?? 0]);
    // Hashed: the solver joins callee keys into each caller's signature, so keys stay short.
    key = createHash('sha1').update(JSON.stringify([fact.name, fact.isStatic, fact.notOn ?? 0, calls])).digest('base64');
    KEYS.set(fact, key);
  }
  return `${platform}|${key}`;
}

const SUMMARIES = new WeakMap<CModel, EffectSummaries<CFn>>();

/** The model's call-effect summaries, solved once (with the model cache's summaries of the previous model). */
export function cEffects(model: CModel): EffectSummaries<CFn> {
  let s = SUMMARIES.get(model);
  if (!s) SUMMARIES.set(model, (s = summarizeEffects(cEffectGraph(model), model.effectCache)));
  return s;
}
