/**
 * What a fork child does: the calls of a child region in order, followed into workspace
 * functions (a few levels deep), up to the call that replaces (`exec*`) or ends (`_exit`,
 * `exit`) the child. A workspace function deeper than the walk follows is judged through its
 * call-effect summary (`c-effects.ts`): its first call that is not async-signal-safe joins
 * the walk with the chain of calls leading to it, and a helper that always execs or exits
 * ends the child. Shared by the FORK and FD rules, together with the per-program "threads
 * may be running here" ordering.
 */
import * as nodePath from 'node:path';
import type { RelatedLocation } from '../text/locations';
import { isIgnoredCallee, SPAWN_CALLS } from '../knowledge/c-process';
import type { CKnowledge } from '../knowledge/knowledge';
import { regionEndOf } from '../facts/c/program-fork';
import { spanRange, type CCall, type CChildRegion, type CFdCacheFact, type CForkFact, type RegionEnd, type Span } from '../facts/c/program-types';
import { calledName, childOnlyCallSpans, isMain, isTestEntry, withTransitiveCallers, type CallSite, type CFile, type CFn, type CModel, type CProgram } from './c';
import { Ordering, type EventWords } from './c-order';
import { cEffects } from './c-effects';
import type { EffectStep } from './call-effects';

/**
 * How deep the walk follows workspace functions from the child region (the region is level 0),
 * call by call; deeper, a workspace function is judged through its summary.
 */
export const CHILD_CALL_DEPTH = 4;

/** One workspace call on the way to an event: `owner` calls `target` at `call`. */
export interface ChildPathStep {
  owner: CFn;
  call: CCall;
  target: CFn;
  /** The step comes from a call-effect summary (the walk did not go that deep). */
  summary?: true;
}

export interface ChildEvent {
  /** The function whose body holds the call. */
  owner: CFn;
  call: CCall;
  /** Workspace calls that led here, outermost first (empty for calls written in the region). */
  path: ChildPathStep[];
  /** Workspace functions the call resolves to (the walk went into the first). */
  targets: CFn[];
  /** The event runs at an error label that a `goto` after a failed exec jumped to. */
  goto?: ErrorLabelJump;
  /** Found through a summary: the witness of a function the walk did not enter (its steps are in `path`). */
  summary?: true;
}

/** A `goto label;` after a failed exec in the child, and the label it goes on at. */
export interface ErrorLabelJump {
  fn: CFn;
  label: string;
  /** The `goto` statement. */
  span: Span;
  /** The label's name in its `label:` statement. */
  labelSpan: Span;
}

export interface ChildWalk {
  events: ChildEvent[];
  /** The call that replaces or ends the child, when the child certainly reaches one. */
  end?: { kind: Exclude<RegionEnd, 'return'>; event: ChildEvent };
  /**
   * When `end` is an exec: what the child runs if that exec fails (a missing program is
   * enough), up to the exit after it — walked like the rest, kept apart from `events` so
   * that only the questions about async-signal safety read it.
   */
  failedExec?: ChildEvent[];
}

/**
 * Walks one child region of a fork in `forkFn`. When the child returns from that function
 * (a `return` in the region, or an `after` region that runs to the end of the body), the
 * walk goes on in the caller after the call (the first caller in `program`): a daemonizing
 * helper returns into the code that then runs as the daemon.
 */
export function walkRegion(model: CModel, forkFn: CFn, region: CChildRegion, program?: CProgram): ChildWalk {
  const out: ChildWalk = { events: [] };
  const stack = new Set<CFn>([forkFn]);
  const ended = walkSequence(model, forkFn, region.calls, [], 0, stack, out);
  if (region.end === 'exec' && region.gotos) followErrorLabels(model, forkFn, region.gotos, out);
  const returns = region.end === 'return' || (region.end === undefined && region.shape === 'after' && fallsOffEnd(forkFn, region));
  if (!ended && !out.end && returns && program) {
    const caller = model.callers(forkFn).find((c) => program.files.has(c.fn.file) && c.fn !== forkFn);
    if (caller) walkSequence(model, caller.fn, ownCalls(caller.fn, caller.fn.fact.calls.slice(caller.call + 1)), [], 1, new Set([caller.fn, forkFn]), out);
  }
  return out;
}

/**
 * `execvp(...); goto fail;`: when the exec fails the child goes on at the label, so the
 * labelled statements (up to the `return`, `goto` or exit that ends them) join what runs
 * after a failed exec, each event marked with the jump that led there.
 */
function followErrorLabels(model: CModel, fn: CFn, gotos: NonNullable<CChildRegion['gotos']>, out: ChildWalk): void {
  const seen = new Set<string>();
  for (const g of gotos) {
    if (seen.has(g.label)) continue;
    seen.add(g.label);
    const label = fn.fact.labels?.find((l) => l.name === g.label);
    if (!label || label.to <= label.from) continue;
    const walk: ChildWalk = { events: [] };
    walkSequence(model, fn, ownCalls(fn, fn.fact.calls.slice(label.from, label.to)), [], 0, new Set([fn]), walk);
    const jump: ErrorLabelJump = { fn, label: g.label, span: g.span, labelSpan: label.span };
    const tail = [...walk.events, ...(walk.failedExec ?? [])].map((e) => ({ ...e, goto: jump }));
    if (tail.length) out.failedExec = [...(out.failedExec ?? []), ...tail];
  }
}

/** The region reaches the closing brace of the function body (not of an inner block). */
function fallsOffEnd(fn: CFn, region: CChildRegion): boolean {
  const end = fn.fact.range.end;
  return region.span[2] === end.line && region.span[3] === end.character - 1;
}

/**
 * Whether the child of a fork in `fn` reaches region `region`: not an `after` region whose
 * way in is only through branches that end in workspace helpers that never return
 * (`region.unless`: every callee of one of its lists never returns).
 */
export function childReaches(model: CModel, fn: CFn, region: CChildRegion): boolean {
  return !region.unless || neverReturningList(model, fn, region.unless) === null;
}

/** The first of `lists` (callee names as written in `fn`) whose every callee is a workspace function that never returns, or null. */
function neverReturningList(model: CModel, fn: CFn, lists: readonly string[][]): string[] | null {
  const effects = cEffects(model);
  const stops = (name: string): boolean => {
    const targets = model.resolveName(fn.file, name);
    return targets.length > 0 && targets.every((t) => neverReturnsEvenIfExecFails(model, effects, t, 0));
  };
  return lists.find((names) => names.every(stops)) ?? null;
}

/**
 * A child region's `if`/`else` whose every branch ends in calls of workspace helpers
 * (`HELPERS_IN_EVERY_BRANCH`): when those never return, the event that ends the walk there,
 * named after the first helper, and how the helpers end the child (an `exit()` among them
 * makes it an unsafe exit, else an exec among them an exec).
 */
function helpersEnd(model: CModel, owner: CFn, call: CCall, path: ChildPathStep[]): ChildWalk['end'] | null {
  const names = call.unless ? neverReturningList(model, owner, call.unless) : null;
  if (!names || names.length === 0) return null;
  const effects = cEffects(model);
  const kinds = new Set<Exclude<RegionEnd, 'return'>>();
  for (const name of names) {
    for (const t of model.resolveName(owner.file, name)) {
      const chain = effects.chain(t, 'neverReturns');
      const api = chain[chain.length - 1]?.direct?.api;
      const kind = api ? regionEndOf(api) : null;
      if (kind) kinds.add(kind);
    }
  }
  const kind = kinds.has('unsafe-exit') ? 'unsafe-exit' : kinds.has('exec') ? 'exec' : 'safe-exit';
  const event: ChildEvent = { owner, call: { ...call, name: names[0] }, path, targets: model.resolveName(owner.file, names[0]) };
  return { kind, event };
}

/**
 * `fn` never returns, even when an exec it reaches fails: its summary's no-return witness is
 * an exit, or after the exec (or the helper that execs) an exit or a never-returning helper
 * always follows (`execv(…); _exit(127);`). A helper whose exec is its last word returns.
 */
function neverReturnsEvenIfExecFails(model: CModel, effects: ReturnType<typeof cEffects>, fn: CFn, depth: number): boolean {
  const witness = effects.of(fn).neverReturns;
  if (!witness || depth > CHILD_CALL_DEPTH) return false;
  if (witness.direct && regionEndOf(witness.direct.api) !== 'exec') return true;
  if (witness.via && neverReturnsEvenIfExecFails(model, effects, witness.via, depth + 1)) return true;
  const calls = fn.fact.calls;
  const callees = model.callees(fn);
  for (let j = witness.call + 1; j < calls.length; j++) {
    const call = calls[j];
    if (!model.compiled(call) || !model.runsAlways(call)) continue;
    const end = regionEndOf(call.name);
    if (end === 'safe-exit' || end === 'unsafe-exit') return true;
    const targets = callees[j] ?? [];
    if (targets.length > 0 && targets.every((t) => t !== fn && neverReturnsEvenIfExecFails(model, effects, t, depth + 1))) return true;
  }
  return false;
}

/** Walks what runs after call `from` of `fn` (the continuation of `daemon()`). */
export function walkAfter(model: CModel, fn: CFn, from: number): ChildWalk {
  const out: ChildWalk = { events: [] };
  walkSequence(model, fn, ownCalls(fn, fn.fact.calls.slice(from + 1)), [], 0, new Set([fn]), out);
  return out;
}

/** The calls of `fn` that the process entering it runs itself (not those of its own fork children). */
function ownCalls(fn: CFn, calls: readonly CCall[]): readonly CCall[] {
  const nested = childOnlyCallSpans(fn);
  return nested.size ? calls.filter((c) => !nested.has(c.span.join(','))) : calls;
}

/** Returns true when the sequence certainly ends the process (the caller must stop too). */
function walkSequence(
  model: CModel,
  owner: CFn,
  calls: readonly CCall[],
  path: ChildPathStep[],
  depth: number,
  stack: Set<CFn>,
  out: ChildWalk,
): boolean {
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    if (!model.compiled(call)) continue;
    if (call.unless) {
      const ended = model.runsAlways(call) ? helpersEnd(model, owner, call, path) : null;
      if (!ended) continue;
      out.events.push(ended.event);
      out.end = ended;
      return true;
    }
    const end = regionEndOf(call.name);
    const targets = end ? [] : model.resolveName(owner.file, call.name);
    const event: ChildEvent = { owner, call, path, targets };
    out.events.push(event);
    const always = model.runsAlways(call);
    if (end && always) {
      out.end = { kind: end, event };
      if (end === 'exec') {
        // The rest of this sequence runs when the exec fails, up to the exit that ends it.
        const failed: ChildWalk = { events: [] };
        walkSequence(model, owner, calls.slice(i + 1), path, depth, stack, failed);
        const tail = [...failed.events, ...(failed.failedExec ?? [])];
        if (tail.length) out.failedExec = [...(out.failedExec ?? []), ...tail];
      }
      return true;
    }
    const target = targets[0];
    // A function already on the walk's stack (recursion) has its calls in the walk already.
    if (!target || stack.has(target)) continue;
    if (depth < CHILD_CALL_DEPTH) {
      stack.add(target);
      const ended = walkSequence(model, target, ownCalls(target, target.fact.calls), [...path, { owner, call, target }], depth + 1, stack, out);
      stack.delete(target);
      if (ended && always) return true;
      if (ended) delete out.end;
    } else if (throughSummary(model, target, [...path, { owner, call, target }], always, out)) {
      return true;
    }
  }
  return false;
}

/**
 * A call of `target` deeper than the walk follows, judged through its summary: its first call
 * that is not async-signal-safe (directly or through its callees) becomes an event whose path
 * names each call on the way; when the call always runs and `target` never returns, the call
 * that ends the process ends the walk. Returns true when the walk ends.
 */
function throughSummary(model: CModel, target: CFn, path: ChildPathStep[], always: boolean, out: ChildWalk): boolean {
  const effects = cEffects(model);
  const unsafe = effects.chain(target, 'unsafeInChild');
  const unsafeEvent = unsafe.length ? summaryEvent(unsafe, path) : undefined;
  if (unsafeEvent) out.events.push(unsafeEvent);
  if (!always) return false;
  const ends = effects.chain(target, 'neverReturns');
  const last = ends[ends.length - 1];
  const kind = last?.direct ? regionEndOf(last.direct.api) : null;
  if (!last || !kind) return false;
  const same = unsafeEvent && unsafe[unsafe.length - 1].fn === last.fn && unsafe[unsafe.length - 1].call === last.call;
  const event = same ? unsafeEvent : summaryEvent(ends, path);
  if (!same) out.events.push(event);
  out.end = { kind, event };
  return true;
}

/** The event at the end of a summary's witness chain, reached along `path` and then the chain's steps. */
function summaryEvent(steps: EffectStep<CFn>[], path: ChildPathStep[]): ChildEvent {
  const full = [...path];
  for (let k = 0; k + 1 < steps.length; k++) full.push({ owner: steps[k].fn, call: steps[k].fn.fact.calls[steps[k].call], target: steps[k + 1].fn, summary: true });
  const last = steps[steps.length - 1];
  return { owner: last.fn, call: last.fn.fact.calls[last.call], path: full, targets: [], summary: true };
}

/** How a call in a fork child is judged. */
export type Verdict = { kind: 'safe' } | { kind: 'unsafe'; reason: string } | { kind: 'unknown' } | { kind: 'workspace' };

/** `knowledge`: the model's tables (`CModel.knowledge`: the built-in verdicts with the user's overrides). */
export function judge(event: ChildEvent, knowledge: CKnowledge): Verdict {
  const name = event.call.name;
  if (event.targets.length > 0) return { kind: 'workspace' };
  if (regionEndOf(name) === 'exec' || regionEndOf(name) === 'safe-exit') return { kind: 'safe' };
  if (knowledge.signalSafe.has(name)) return { kind: 'safe' };
  // Before the macro check: a user may declare a macro unsafe.
  const reason = knowledge.signalUnsafe.get(name);
  if (reason) return { kind: 'unsafe', reason };
  if (isIgnoredCallee(name)) return { kind: 'safe' };
  if (knowledge.threadStarts.has(name)) return { kind: 'unsafe', reason: 'thread' };
  return { kind: 'unknown' };
}

/**
 * A child that only makes async-signal-safe calls and then execs or `_exit`s: the shape
 * `posix_spawn` implements, safe even in a threaded program.
 */
export function isCleanSpawn(walk: ChildWalk, knowledge: CKnowledge): boolean {
  if (!walk.end || walk.end.kind === 'unsafe-exit') return false;
  return [...walk.events, ...(walk.failedExec ?? [])].every((e) => {
    const v = judge(e, knowledge);
    return v.kind === 'safe' || v.kind === 'workspace';
  });
}

/**
 * Whether the child keeps running program code after event `index` (-1: from its start):
 * it never reaches an exec or exit, or it does more than async-signal-safe calls before an
 * exit. A child that execs right after is done with this program. `harmless`: reasons a call
 * is not async-signal-safe that do not count here (`close-all-fds-without-exec` passes the
 * ones that touch no descriptor).
 */
export function runsProgramAfter(walk: ChildWalk, index: number, knowledge: CKnowledge, harmless: ReadonlySet<string> = NO_REASONS): boolean {
  if (!walk.end) return true;
  if (walk.end.kind === 'exec') return false;
  const endAt = walk.events.indexOf(walk.end.event);
  for (let i = index + 1; i < endAt; i++) {
    const v = judge(walk.events[i], knowledge);
    if (v.kind === 'unknown' || (v.kind === 'unsafe' && !harmless.has(v.reason))) return true;
  }
  return false;
}

const NO_REASONS: ReadonlySet<string> = new Set();

/**
 * The functions the walk is in at event `index`, innermost first, each with the depth of its
 * own calls in the walk: the event's function, then each caller on its path, then the caller
 * the child returns into from the forking function (`walkRegion`). What these functions call
 * after the event runs after it, once the event's call returns.
 */
function levelsAt(walk: ChildWalk, index: number): { owner: CFn; depth: number }[] {
  const e = walk.events[index];
  const levels = [{ owner: e.owner, depth: e.path.length }];
  for (let d = e.path.length - 1; d >= 0; d--) levels.push({ owner: e.path[d].owner, depth: d });
  const root = levels[levels.length - 1].owner;
  const caller = walk.events.slice(index + 1).find((f) => f.path.length === 0 && f.owner !== root);
  if (caller) levels.push({ owner: caller.owner, depth: 0 });
  return levels;
}

/** The depth of event `f` among `levels` of event `e` (a call written in one of those functions, on the same call path), or -1. */
function levelOf(e: ChildEvent, levels: readonly { owner: CFn; depth: number }[], f: ChildEvent): number {
  if (f.summary) return -1;
  const level = levels.find((l) => l.depth === f.path.length && l.owner === f.owner);
  if (!level) return -1;
  for (let k = 0; k < level.depth; k++) if (f.path[k].call !== e.path[k].call) return -1;
  return level.depth;
}

/**
 * Whether event `f` attempts an exec: an `exec*` call, or a call whose every workspace callee
 * {@link attemptsExec}.
 */
function callAttemptsExec(model: CModel, f: ChildEvent): boolean {
  if (regionEndOf(f.call.name) === 'exec') return true;
  return f.targets.length > 0 && f.targets.every((t) => attemptsExec(model, t, 0, new Set()));
}

/**
 * `fn` replaces the process on its way through: it calls an `exec*` (or a helper that does),
 * and either that call always runs or nothing it calls otherwise is async-signal-unsafe —
 * when it does not exec it only gives up and returns (`g_execute`-like: an early `return -1`
 * for an empty name, execve in every branch of a search). A helper that execs in one branch
 * and serves in another (allocates, logs) is no exec helper.
 */
function attemptsExec(model: CModel, fn: CFn, depth: number, seen: Set<CFn>): boolean {
  if (depth > CHILD_CALL_DEPTH || seen.has(fn)) return false;
  seen.add(fn);
  const calls = fn.fact.calls;
  const callees = model.callees(fn);
  let reaches = false;
  for (let j = 0; j < calls.length; j++) {
    const call = calls[j];
    if (!model.compiled(call)) continue;
    const targets = callees[j] ?? [];
    const execs = regionEndOf(call.name) === 'exec' || (targets.length > 0 && targets.every((t) => attemptsExec(model, t, depth + 1, seen)));
    if (!execs) continue;
    if (model.runsAlways(call)) return true;
    reaches = true;
  }
  return reaches && !cEffects(model).has(fn, 'unsafeInChild');
}

/** Whether event `f` always runs and never returns: an exit, or workspace helpers that end the process even when an exec in them fails. */
function neverReturnsAt(model: CModel, f: ChildEvent): boolean {
  if (!model.runsAlways(f.call)) return false;
  const end = regionEndOf(f.call.name);
  if (end === 'safe-exit' || end === 'unsafe-exit') return true;
  const effects = cEffects(model);
  return f.targets.length > 0 && f.targets.every((t) => neverReturnsEvenIfExecFails(model, effects, t, 0));
}

/**
 * Whether the child execs after event `index` (a close-all) and ends when that exec fails: a
 * function on the way to the event (its own, or a caller on its path) goes on, after the
 * event, to a call that always runs and attempts an exec — an `exec*` or a helper that
 * {@link attemptsExec} — and either that helper never returns even if its exec fails, or the
 * next call made after it (in the same function, or when it is that function's last call, in
 * its caller) is an exit or a never-returning helper that always runs:
 * `g_closefrom(4); …; g_execute(argv); write_err_and_exit(fd, EXEC_FAILED);`, across files.
 * What the exec helper does when its exec fails (it returns an error) and an error `return`
 * between the close-all and the exec are not the child running on.
 */
export function execsAfter(model: CModel, walk: ChildWalk, index: number): boolean {
  const e = walk.events[index];
  const levels = levelsAt(walk, index);
  for (let j = index + 1; j < walk.events.length; j++) {
    const f = walk.events[j];
    const depth = levelOf(e, levels, f);
    if (depth < 0 || !model.runsAlways(f.call) || !callAttemptsExec(model, f)) continue;
    if (f.targets.length > 0 && f.targets.every((t) => neverReturnsEvenIfExecFails(model, cEffects(model), t, 0))) return true;
    if (diesNext(model, walk, e, levels, j, depth)) return true;
  }
  return false;
}

/**
 * After event `j` at `depth`: the next call at that depth (skipping what `j`'s own call ran),
 * or when there is none the next one at the depth above, is an exit that always runs; another
 * exec attempt on the way is passed over (`execv(a); execv(b); _exit(127);`).
 */
function diesNext(model: CModel, walk: ChildWalk, e: ChildEvent, levels: readonly { owner: CFn; depth: number }[], j: number, depth: number): boolean {
  let at = depth;
  for (let k = j + 1; k < walk.events.length && at >= 0; k++) {
    const g = walk.events[k];
    const d = levelOf(e, levels, g);
    if (d < 0 || d > at) continue;
    if (neverReturnsAt(model, g)) return true;
    if (model.runsAlways(g.call) && callAttemptsExec(model, g)) {
      at = d;
      continue;
    }
    return false;
  }
  return false;
}

/**
 * The first descriptor source after event `index` that runs every time the child goes on
 * from it: a call that always runs in one of the functions on the way to the event, or
 * inside calls that all always run there. A source in a branch (the close-all's own fallback
 * when it fails, an error path of a later call) is not sure to follow the close-all.
 */
export function surelyAfter(model: CModel, walk: ChildWalk, index: number, test: (event: ChildEvent) => boolean): ChildEvent | undefined {
  const e = walk.events[index];
  const levels = levelsAt(walk, index);
  for (let j = index + 1; j < walk.events.length; j++) {
    const f = walk.events[j];
    if (f.summary || !test(f) || !model.runsAlways(f.call)) continue;
    // The deepest function of `f`'s path that is one of the levels, then every call below it always runs.
    let base = -1;
    for (let d = Math.min(f.path.length, e.path.length); d >= 0 && base < 0; d--) {
      const owner = d === f.path.length ? f.owner : f.path[d].owner;
      const level = levels.find((l) => l.depth === d && l.owner === owner);
      if (level && f.path.slice(0, d).every((p, k) => p.call === e.path[k].call)) base = d;
    }
    if (base >= 0 && f.path.slice(base).every((p) => model.runsAlways(p.call))) return f;
  }
  return undefined;
}

/**
 * The last event of what the rest of event `index`'s own function runs (its later calls and
 * what they run), or `index` when the function makes no call after it: past it, the walk is
 * back in a caller.
 */
export function lastInOwnFunction(walk: ChildWalk, index: number): number {
  const e = walk.events[index];
  const d = e.path.length;
  let j = index;
  for (; j + 1 < walk.events.length; j++) {
    const f = walk.events[j + 1];
    const owner = f.path.length > d ? f.path[d].owner : f.path.length === d ? f.owner : null;
    if (owner !== e.owner || !e.path.every((p, k) => f.path[k].call === p.call)) break;
  }
  return j;
}

/** A related location at a call. */
export function callLocation(fn: CFn, call: CCall, message: string): RelatedLocation {
  return { path: fn.file.path, range: spanRange(call.span), message };
}

const THREAD_WORDS: EventWords = {
  site: (api) => `thread started here by ${api}()`,
  via: (callee) => `${callee}() is called here and starts a thread`,
  enters: (callee) => `${callee}() is called here, after threads may have started`,
  routine: (fnName, api) => `thread started here by ${api}(); it runs ${fnName}()`,
  unknown: (fnName) => `${calledName(fnName)} has no known caller in this program, so it may run while threads run`,
  entersOnThread: (caller, callee, routine) =>
    caller === routine ? `${callee}() is called here on the ${routine}() thread` : `${calledName(caller)} runs on the ${routine}() thread and calls ${callee}() here`,
};

const THREAD_ORDERINGS = new WeakMap<CProgram, Ordering>();

/** "Threads may be running here" for one program. */
export function threadOrdering(model: CModel, program: CProgram): Ordering {
  let o = THREAD_ORDERINGS.get(program);
  if (o) return o;
  const sites: (CallSite & { api: string; routine?: string })[] = [];
  for (const f of program.files) {
    for (const t of f.threads) {
      const fn = f.functions[t.functionIndex];
      if (fn) sites.push({ fn, call: t.callIndex, api: t.api, routine: t.routine });
    }
  }
  o = new Ordering(model, program, sites, THREAD_WORDS, { summaries: cEffects(model), kind: 'startsThread' });
  THREAD_ORDERINGS.set(program, o);
  return o;
}

/** A fork site with everything the rules need about it, per program. */
export interface ForkSite {
  program: CProgram;
  fn: CFn;
  fact: CForkFact;
  /** Walks of each child region the child reaches (in the order of `fact.regions`). */
  walks: ChildWalk[];
  /** The child keeps running the program (daemonizes, or a region neither execs nor exits). */
  continues: boolean;
  /** Threads may be running at the fork. */
  threaded: boolean;
}

/**
 * `bpipe.c:12`, for messages: the base name keeps a message the same whatever paths the
 * engine was given (the evidence chain carries the full location).
 */
export function forkSiteLabel(site: ForkSite): string {
  return `${nodePath.basename(site.fn.file.path)}:${site.fact.range.start.line + 1}`;
}

const FORK_SITES = new WeakMap<CProgram, ForkSite[]>();

export function forkSites(model: CModel, program: CProgram): ForkSite[] {
  let list = FORK_SITES.get(program);
  if (list) return list;
  list = [];
  // Built at the first fork: most programs of a large tree (test programs, tools) fork nowhere.
  let order: Ordering | undefined;
  for (const f of program.files) {
    for (const fact of f.forks) {
      const fn = f.functions[fact.functionIndex];
      if (!fn || fact.callIndex < 0) continue;
      const walks = fact.regions.filter((r) => childReaches(model, fn, r)).map((r) => walkRegion(model, fn, r, program));
      const continues = fact.forkKind === 'daemon' || walks.some((w) => runsProgramAfter(w, -1, model.knowledge));
      order ??= threadOrdering(model, program);
      list.push({ program, fn, fact, walks, continues, threaded: order.at(fn, fact.callIndex) });
    }
  }
  FORK_SITES.set(program, list);
  return list;
}

const PROGRAM_RUNNERS = new WeakMap<CModel, Set<CFn>>();

/**
 * The functions that may run another program: they call an `exec*` or a spawn call (`system`,
 * `popen`, `posix_spawn`, `uv_spawn`, …), or call, at any depth, a function that does (a fork
 * helper whose child execs among them). Calls the workspace does not show, and calls through
 * pointers the model does not resolve, run no program.
 */
export function programRunners(model: CModel): Set<CFn> {
  let out = PROGRAM_RUNNERS.get(model);
  if (out) return out;
  const execing: CFn[] = [];
  for (const f of model.files) for (const e of f.execs) if (f.functions[e.functionIndex]) execing.push(f.functions[e.functionIndex]!);
  out = withTransitiveCallers(execing, (f) => model.callers(f));
  PROGRAM_RUNNERS.set(model, out);
  return out;
}

/**
 * Whether the child of fork `fact` (in `fn`) may run another program, which then inherits what
 * the child holds. It may unless every child region it reaches surely ends without one:
 * - its calls, in order, reach an exit that always runs (`_exit`, `exit`, `abort`, or workspace
 *   helpers that never return, even when an exec in them fails) before any call that may run a
 *   program (an `exec*` or spawn call, or a workspace function of {@link programRunners});
 * - or the region ends in a `return` from, or falls out into the rest of, a function that is
 *   the first code of its process (`main`, or a test body that a macro defines in a test file):
 *   returning from it ends the process, so only the rest of that body is read the same way: what
 *   follows the region, up to its end, and (the fork may sit in a loop the child goes round
 *   again) what precedes the fork, where no call may run a program.
 * A `daemon()`, a child whose pid test was not understood, and a child that returns from, or
 * runs on past its region in, any other function (a daemonizing helper: the child goes on
 * into the program, which may exec anywhere later) may run a program.
 */
export function childMayRunProgram(model: CModel, fn: CFn, fact: CForkFact): boolean {
  let memo = CHILD_RUNS_PROGRAM.get(model);
  if (!memo) CHILD_RUNS_PROGRAM.set(model, (memo = new Map()));
  let runs = memo.get(fact);
  if (runs === undefined) memo.set(fact, (runs = childRegionsMayRunProgram(model, fn, fact)));
  return runs;
}

/** Per model, like the other memos of this file. */
const CHILD_RUNS_PROGRAM = new WeakMap<CModel, Map<CForkFact, boolean>>();

function childRegionsMayRunProgram(model: CModel, fn: CFn, fact: CForkFact): boolean {
  if (fact.forkKind === 'daemon' || !fact.childKnown) return true;
  const regions = fact.regions.filter((r) => childReaches(model, fn, r));
  if (regions.length === 0) return true;
  const entry = isMain(fn) || isTestEntry(fn);
  return regions.some((region) => {
    const own = programInCalls(model, fn, region.calls);
    if (own !== 'runs-on') return own === 'runs-program';
    if (region.end === 'exec') return true;
    if (region.end === 'safe-exit' || region.end === 'unsafe-exit') return false;
    if (!entry) return true;
    if (region.end === 'return') return false;
    const [endLine, endChar] = [region.span[2], region.span[3]];
    const rest = fn.fact.calls.filter((c) => c.span[0] > endLine || (c.span[0] === endLine && c.span[1] >= endChar));
    const after = programInCalls(model, fn, rest);
    if (after !== 'runs-on') return after === 'runs-program';
    // The fork may sit in a loop that the child goes round again.
    return programInCalls(model, fn, fn.fact.calls.slice(0, fact.callIndex), false) === 'runs-program';
  });
}

/** What a sequence of `fn`'s calls does first: runs a program, surely ends the process, or neither (runs on past them). */
function programInCalls(model: CModel, fn: CFn, calls: readonly CCall[], mayEnd = true): 'runs-program' | 'ends' | 'runs-on' {
  const runners = programRunners(model);
  const effects = cEffects(model);
  const indexBySpan = new Map(fn.fact.calls.map((c, i) => [c.span.join(','), i]));
  for (const call of calls) {
    if (!model.compiled(call)) continue;
    if (call.unless) {
      const helpers = call.unless.flat().flatMap((name) => model.resolveName(fn.file, name));
      if (helpers.some((t) => runners.has(t))) return 'runs-program';
      if (mayEnd && model.runsAlways(call) && neverReturningList(model, fn, call.unless)) return 'ends';
      continue;
    }
    const end = regionEndOf(call.name);
    if (end === 'exec' || SPAWN_CALLS.has(call.name)) return 'runs-program';
    const index = indexBySpan.get(call.span.join(','));
    const targets = index !== undefined ? model.resolve(fn, index) : model.resolveName(fn.file, call.name);
    if (targets.some((t) => runners.has(t))) return 'runs-program';
    if (!mayEnd || !model.runsAlways(call)) continue;
    if (end === 'safe-exit' || end === 'unsafe-exit') return 'ends';
    if (targets.length > 0 && targets.every((t) => neverReturnsEvenIfExecFails(model, effects, t, 0))) return 'ends';
  }
  return 'runs-on';
}

/** Per model (a fork's facts outlive a model rebuilt around them). */
const LEAD_CHAINS = new WeakMap<CModel, Map<CForkFact, RelatedLocation[]>>();

/**
 * Why threads may be running at a fork, as the chain its findings lead with: among the programs
 * holding the fork where threads may be running there, the chain {@link Ordering.leadChainAt}
 * ranks best (a thread started earlier in the forking function, else the shortest route from a
 * thread's start down to the forking function, so a helper's chain names the function that runs
 * on a thread and calls it), the first such program on a tie. Empty when threads may be running
 * in none of them.
 */
export function forkLeadChain(model: CModel, site: ForkSite): RelatedLocation[] {
  let memo = LEAD_CHAINS.get(model);
  if (!memo) LEAD_CHAINS.set(model, (memo = new Map()));
  let chain = memo.get(site.fact);
  if (chain) return chain;
  let best: { chain: RelatedLocation[]; rank: number } | null = null;
  for (const program of model.programsOf(site.fn.file)) {
    const order = threadOrdering(model, program);
    if (!order.at(site.fn, site.fact.callIndex)) continue;
    const lead = order.leadChainAt(site.fn, site.fact.callIndex);
    if (!best || lead.rank < best.rank) best = lead;
    if (best.rank === 0) break;
  }
  chain = best?.chain ?? [];
  memo.set(site.fact, chain);
  return chain;
}

/**
 * A function declared to run in a fork child before exec, in someone else's program (a
 * library's "call between fork and exec" hook): by the comment `hazard-lens: fork-child`
 * before its definition, or by a `forkChildFunctions` model. Its whole body is walked as
 * child code.
 */
export interface DeclaredChildSite {
  fn: CFn;
  walk: ChildWalk;
  how: 'annotation' | 'model';
}

const DECLARED_SITES = new WeakMap<CModel, DeclaredChildSite[]>();

/** Every declared fork-child function of the workspace (a library need not fork itself). */
export function declaredChildSites(model: CModel): DeclaredChildSite[] {
  let list = DECLARED_SITES.get(model);
  if (list) return list;
  list = [];
  for (const f of model.files) {
    for (const fn of f.functions) {
      if (!fn || fn.fact.notOn?.includes(model.platform)) continue;
      const how = fn.fact.forkChild ? 'annotation' : model.knowledge.forkChildFunctions.has(fn.fact.name) ? 'model' : null;
      if (how) list.push({ fn, walk: walkAfter(model, fn, -1), how });
    }
  }
  DECLARED_SITES.set(model, list);
  return list;
}

/** The continuation of a fork site's child, as walks: its regions, or what follows `daemon()`. */
export function childWalks(model: CModel, site: ForkSite): ChildWalk[] {
  if (site.fact.forkKind === 'daemon') return [walkAfter(model, site.fn, site.fact.callIndex)];
  return site.walks;
}

const EVENT_ORDERINGS = new WeakMap<CProgram, Map<string, Ordering>>();

/** An ordering for another kind of event (a descriptor cached, a library cache filled), memoised per program and key. */
export function eventOrdering(
  model: CModel,
  program: CProgram,
  key: string,
  sites: () => (CallSite & { api: string })[],
  words: EventWords,
): Ordering {
  let byKey = EVENT_ORDERINGS.get(program);
  if (!byKey) EVENT_ORDERINGS.set(program, (byKey = new Map()));
  let o = byKey.get(key);
  if (!o) byKey.set(key, (o = new Ordering(model, program, sites(), words)));
  return o;
}

/** Key of a call for matching walk events with facts: function id and start position. */
export function callKey(fn: CFn, call: CCall): string {
  return `${fn.id}:${call.span[0]}:${call.span[1]}`;
}

/**
 * A cached descriptor that a fork cannot strand: re-validated (`fstat` and an
 * `st_dev`/`st_ino` comparison in its file), or reset by a `pthread_atfork` child handler
 * (directly or through one helper).
 */
export function cacheSurvivesFork(model: CModel, program: CProgram, file: CFile, cache: CFdCacheFact): boolean {
  if (file.checks.some((c) => c.variable === cache.variable)) return true;
  for (const f of program.files) {
    for (const a of f.atforks) {
      if (!a.child) continue;
      for (const h of model.resolveName(f, a.child)) {
        if (h.fact.assigns.includes(cache.variable)) return true;
        for (let i = 0; i < h.fact.calls.length; i++) {
          if (model.resolve(h, i).some((t) => t.fact.assigns.includes(cache.variable))) return true;
        }
      }
    }
  }
  return false;
}
