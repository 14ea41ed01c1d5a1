/**
 * The TypeScript/JavaScript program model plugged into the call-effect summaries
 * (`call-effects.ts`): what calling a workspace function may do to its event loop, solved
 * once per workspace and thread, bottom-up over the model's call graph.
 *
 * - **Functions** are every function of every module (installed packages included) and each
 *   module's top level (id `''`), keyed `<absolute path>#<id>`.
 * - **Calls**, in source order: the resolved `ts.call` facts (a function passed as an argument
 *   counts: it may be called later; a method called on a table lookup may run each workspace
 *   override), the anonymous functions a function holds (they run where their holder runs),
 *   and the facts with a local effect:
 *   - `blocksEventLoop`: a `ts.blocking` fact (sync `fs`/`child_process`/`zlib`/`crypto`, a busy
 *     wait, `Atomics.wait`, a user's `blocking` model); `Atomics.wait` also `waits`;
 *   - `pings`: a `ts.heartbeat` fact (a timer that pings, a self-keeping-alive connection);
 *   - `startsThread`: a `ts.worker` fact (`new Worker()`, a user's `threadStarters` model);
 *   - `forks`: a `ts.fork` fact (`child_process.fork`).
 * - Facts inside an `isMainThread` branch belong to one thread: the graph is built per thread
 *   (`main`, `worker`), and only for a thread a program of the workspace runs.
 *
 * The summaries over-approximate what one program sees (a table dispatch may name an override
 * in a module outside the program; an installed package's modelled connection may defer to its
 * own code): the model's walks (`typescript.ts`) follow only calls whose callee has the effect
 * and keep checking the program at each step, so the summaries prune and word the chain; they
 * never add a finding by themselves. `contentKey` is the function's own facts, so with the
 * module-level cache an edit re-solves the edited functions and the callers whose callees'
 * summaries changed.
 */
import { createHash } from 'node:crypto';
import { EffectSummaryCache, summarizeEffects, type EffectGraph, type EffectKind, type EffectSummaries, type LocalEffect } from './call-effects';
import type { TsCallFact, TsFact, TsFunctionFact } from '../facts/typescript/program-facts';
import type { Range } from '../text/locations';

/** What the solver needs of a module (the model's `TsModule` is one). */
export interface EffectModule {
  abs: string;
  path: string;
  facts: readonly TsFact[];
  functions: ReadonlyMap<string, TsFunctionFact>;
}

/** A workspace function. */
export interface EffectFnRef<M extends EffectModule> {
  module: M;
  id: string;
}

/** How the model resolves what a function runs (its function index). */
export interface EffectSource<M extends EffectModule> {
  readonly modules: readonly M[];
  /** The facts run by the function `key` (not its nested functions'). */
  factsOf(key: string): readonly { module: M; fact: TsFact }[];
  /** The anonymous functions (and object-literal methods) the function `key` holds. */
  anonymousOf(key: string): readonly EffectFnRef<M>[];
  /** The function a call runs, if it resolves into the workspace. */
  target(m: M, fact: TsCallFact): EffectFnRef<M> | undefined;
  /** The workspace overrides a method call on a table lookup may run. */
  overrides(method: string): readonly EffectFnRef<M>[];
}

/** One call of a function, in its call order: a resolved call, a held anonymous function, or a site with a local effect. */
export interface EffectCall<M extends EffectModule> {
  module: M;
  range: Range;
  /** The call fact (undefined for a held anonymous function or a local-effect site). */
  fact?: TsCallFact;
  targets: readonly EffectFnRef<M>[];
}

export type Thread = 'main' | 'worker';

/** The key of a function: `<absolute path>#<id>` (`''`: the module's top level). */
export function functionKey(m: { abs: string }, id: string): string {
  return `${m.abs}#${id}`;
}

const CACHES: Record<Thread, EffectSummaryCache> = { main: new EffectSummaryCache(), worker: new EffectSummaryCache() };

/** The call-effect summaries of a workspace's TypeScript/JavaScript functions on one thread. */
export class TsCallEffects<M extends EffectModule> {
  readonly summaries: EffectSummaries<string>;
  private readonly calls = new Map<string, EffectCall<M>[]>();
  private readonly locals = new Map<string, LocalEffect[]>();
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly source: EffectSource<M>,
    readonly thread: Thread,
  ) {
    const functions: string[] = [];
    for (const m of source.modules) {
      functions.push(functionKey(m, ''));
      for (const id of m.functions.keys()) functions.push(functionKey(m, id));
    }
    for (const fn of functions) this.build(fn);
    const graph: EffectGraph<string> = {
      functions,
      callees: (fn) => (this.calls.get(fn) ?? []).map((c) => c.targets.map((t) => functionKey(t.module, t.id))),
      localEffects: (fn) => this.locals.get(fn) ?? [],
      contentKey: (fn) => this.keys.get(fn) ?? fn,
    };
    this.summaries = summarizeEffects(graph, CACHES[thread]);
  }

  private build(fn: string): void {
    const entries: { at: Range; call: EffectCall<M>; effects: Omit<LocalEffect, 'call'>[] }[] = [];
    for (const { module: m, fact } of this.source.factsOf(fn)) {
      if (fact.thread && fact.thread !== this.thread) continue;
      const site = { module: m, range: fact.range, targets: [] as EffectFnRef<M>[] };
      switch (fact.kind) {
        case 'ts.call': {
          const targets = fact.dispatch !== undefined ? this.source.overrides(fact.dispatch) : [this.source.target(m, fact)].filter((t): t is EffectFnRef<M> => t !== undefined);
          if (targets.length) entries.push({ at: fact.range, call: { ...site, fact, targets }, effects: [] });
          break;
        }
        case 'ts.blocking':
          entries.push({
            at: fact.range,
            call: site,
            effects: [{ kind: 'blocksEventLoop', api: fact.api, reason: fact.category }, ...(fact.category === 'atomics' ? [{ kind: 'waits' as const, api: fact.api }] : [])],
          });
          break;
        case 'ts.heartbeat':
          entries.push({ at: fact.range, call: site, effects: [{ kind: 'pings', api: fact.api, reason: fact.note }] });
          break;
        case 'ts.worker':
          entries.push({ at: fact.range, call: site, effects: [{ kind: 'startsThread', api: 'new Worker()' }] });
          break;
        case 'ts.fork':
          entries.push({ at: fact.range, call: site, effects: [{ kind: 'forks', api: fact.api }] });
          break;
      }
    }
    for (const child of this.source.anonymousOf(fn)) {
      const f = child.module.functions.get(child.id);
      if (f) entries.push({ at: f.range, call: { module: child.module, range: f.range, targets: [child] }, effects: [] });
    }
    entries.sort((a, b) => a.at.start.line - b.at.start.line || a.at.start.character - b.at.start.character);
    const calls: EffectCall<M>[] = [];
    const locals: LocalEffect[] = [];
    for (const e of entries) {
      for (const effect of e.effects) locals.push({ ...effect, call: calls.length });
      calls.push(e.call);
    }
    this.calls.set(fn, calls);
    this.locals.set(fn, locals);
    // The function's own facts and held functions: what its summary depends on besides its callees'.
    const own = JSON.stringify([
      this.thread,
      entries.map((e) => [e.at.start.line, e.at.start.character, e.call.fact?.callee ?? e.call.fact?.target ?? e.call.fact?.dispatch ?? '', e.effects.map((x) => `${x.kind}:${x.api}`)]),
    ]);
    this.keys.set(fn, `${fn}|${createHash('sha1').update(own).digest('hex')}`);
  }

  /** The calls of `fn` in the order its summary's witnesses count them. */
  callsOf(fn: string): readonly EffectCall<M>[] {
    return this.calls.get(fn) ?? [];
  }

  has(fn: string, kind: EffectKind): boolean {
    return this.summaries.has(fn, kind);
  }

  /** The call that has the effect directly at the end of `fn`'s witness chain (`execFileSync()`, `setInterval()`). */
  witness(fn: string, kind: EffectKind): { api: string; reason?: string } | undefined {
    return this.summaries.chain(fn, kind).at(-1)?.direct;
  }
}

const WORDS: Partial<Record<EffectKind, string>> = {
  blocksEventLoop: 'blocks the event loop',
  pings: 'arms a keep-alive',
  startsThread: 'starts a worker thread',
  forks: 'forks a process',
  waits: 'waits',
};

/**
 * The evidence step at a call whose callee has `kind` through its summary:
 * "`render()` blocks the event loop here (execFileSync())".
 */
export function effectStepWords<M extends EffectModule>(effects: TsCallEffects<M>, call: TsCallFact, target: EffectFnRef<M>, kind: EffectKind): string | undefined {
  const direct = effects.witness(functionKey(target.module, target.id), kind);
  if (!direct) return undefined;
  const fn = target.module.functions.get(target.id);
  // `Link.arm()` for a method, `render()` for a function, the id for an anonymous one.
  const shown = fn?.name && !fn.id.startsWith('@') ? (fn.className ? `${fn.className}.${fn.name}` : fn.name) : target.id;
  const name = `\`${shown}()\``;
  const does = `${WORDS[kind] ?? kind} (${direct.api})`;
  if (call.dispatch !== undefined) return `called here on an object taken from a table: may run ${target.id}, which ${does}`;
  if (call.passedAsArgument) return `passed here; it may be called later, and ${name} ${does}`;
  if (call.constructorCall) return `object created here: the constructor of \`${fn?.className ?? target.id}\` ${does}`;
  return `${name} ${WORDS[kind] ?? kind} here (${direct.api})`;
}
