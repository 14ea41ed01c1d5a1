/**
 * The Python program model as a call-effect graph (`call-effects.ts`): one node per function
 * body of the module index (`''`: a module's import-time code), whose calls, in body order,
 * are its facts — a call runs the workspace function or `__init__` it resolves to, a method
 * call on what a call made runs that method (or a member of a module imported by computed
 * name), a `with` item runs the object's `__enter__`, a workspace object's `.start()` runs
 * its `start` method, and an import (plain or by computed name) may run the imported
 * module's top level, its packages' `__init__` first. Callables passed as arguments are not
 * calls: they run later, if ever.
 *
 * Local effects come from the facts the knowledge tables produced:
 * - `startsThread`: a thread start that the function does not join before it returns
 *   (`threading.Thread.start`, executors, timers), a started object whose class derives
 *   from a thread starter, a library connection whose heartbeat runs in a thread of its own,
 *   a process pool's helper threads;
 * - `forks`: `os.fork` and friends, daemonizers, `multiprocessing` starts whose start method
 *   forks (the literal `fork`, the version's default where that is `fork`, or an unknown one),
 *   a started object whose class derives from a process starter that forks by default;
 * - `neverReturns`: `os._exit`, `sys.exit`, `os.exec*` outside an `except` clause, only
 *   where the call runs on every path (not under a condition, not in a main block);
 * - `pings` (a keep-alive loop, `reason: 'loop'`, or a call that drives a connection's I/O
 *   loop, `reason: 'drive'`) and `waits` (a keep-alive loop waits between beats).
 *
 * Defaults (those of the solver): a call that resolves to no workspace function does
 * nothing; a recursive cycle has an effect only when one of its members reaches it outside
 * the cycle. The content key of a function is its module, its name and the shape of its
 * facts (not their positions), so the language server's summary cache reuses the summaries
 * of functions an edit did not touch.
 */
import type { PyCallFact, PyComputedModule, PyImportFact, PyMethodCallFact, PyNameOrigin, PythonFact, PyWithEnterFact } from '../facts/python/program-facts';
import { defaultStartMethod, PY_FORKING_START_METHODS } from '../knowledge/python-process';
import { summarizeEffects, type EffectGraph, type EffectKind, type EffectSummaries, type EffectSummaryCache, type LocalEffect } from './call-effects';
import { functionKey, type PyModule, type PyModuleIndex } from './python-modules';
import type { ProgramStep } from './program-graph';

/** A function body of the program: `name` is the qualified function name, `''` a module's top level. */
export interface PyFn {
  readonly module: PyModule;
  readonly name: string;
}

/** How calls resolve to workspace code: the model builder's memoised lookups (the same the replay uses). */
export interface PyCallResolver {
  callTarget(m: PyModule, f: PyCallFact): { module: PyModule; name: string } | undefined;
  methodCallTargets(m: PyModule, f: PyMethodCallFact): { module: PyModule; name: string }[];
  enterTarget(m: PyModule, f: PyWithEnterFact): { module: PyModule; name: string } | undefined;
  importTargets(m: PyModule, f: PyImportFact): PyModule[];
  computedImportTargets(m: PyModule, name: PyComputedModule): PyModule[];
  classify(m: PyModule, ctor: string, origin: PyNameOrigin, method: string): { kind: 'thread' | 'process'; base: string } | undefined;
}

/** The facts that run other workspace code (the graph's edges). */
const CALL_KINDS: ReadonlySet<PythonFact['kind']> = new Set(['py.call', 'py.method-call', 'py.with-enter', 'py.import', 'py.import-computed', 'py.object-start']);

const NO_CALLS: readonly PyFn[] = [];

/** The call-effect graph of one Python model and its summaries, computed when first asked for. */
export class PythonEffects {
  private readonly fns = new Map<string, PyFn>();
  private readonly calleeMemo = new Map<PyFn, readonly (readonly PyFn[])[]>();
  private readonly localMemo = new Map<PyFn, readonly LocalEffect[]>();
  private solved: EffectSummaries<PyFn> | undefined;
  readonly graph: EffectGraph<PyFn>;

  constructor(
    private readonly index: PyModuleIndex,
    private readonly resolver: PyCallResolver,
    private readonly pythonVersion: string,
    private readonly cache?: EffectSummaryCache,
  ) {
    const allFunctions = () => this.allFunctions();
    this.graph = {
      // Read once per solve: listing every body of a large index is left until then.
      get functions() {
        return allFunctions();
      },
      callees: (fn) => this.callees(fn),
      localEffects: (fn) => this.localEffects(fn),
      runsAlways: (fn, call) => runsAlways(fn, this.body(fn)[call]),
      contentKey: (fn) => `${fn.module.abs}#${fn.name}#${shapeOf(this.body(fn))}`,
    };
  }

  /** The node of function `name` of `m` (`''`: its top level); the same object on every call. */
  fn(module: PyModule, name: string): PyFn {
    const key = functionKey(module, name);
    let f = this.fns.get(key);
    if (!f) this.fns.set(key, (f = { module, name }));
    return f;
  }

  /** The facts of `fn`'s body, in order: call `i` of the graph is fact `i`. */
  body(fn: PyFn): readonly PythonFact[] {
    return fn.module.bodies.get(fn.name) ?? [];
  }

  /** The summaries of every function of the index (solved once, on the first call). */
  summaries(): EffectSummaries<PyFn> {
    return (this.solved ??= summarizeEffects(this.graph, this.cache));
  }

  /** Summaries of a variant of the graph whose local effects are filtered (solved from `roots` only). */
  summariesWith(keep: (e: LocalEffect) => boolean, roots: readonly PyFn[]): EffectSummaries<PyFn> {
    return summarizeEffects({
      functions: roots,
      callees: (fn) => this.callees(fn),
      localEffects: (fn) => this.localEffects(fn).filter(keep),
      runsAlways: (fn, call) => runsAlways(fn, this.body(fn)[call]),
    });
  }

  /** Every function `fn` may run through calls (itself included), following the edges `follow` accepts. */
  reachable(fn: PyFn, follow: (f: PythonFact) => boolean = () => true): PyFn[] {
    const seen = new Set<PyFn>([fn]);
    const out = [fn];
    for (let i = 0; i < out.length; i++) {
      const cur = out[i];
      const body = this.body(cur);
      this.callees(cur).forEach((targets, call) => {
        if (!targets.length || !follow(body[call])) return;
        for (const t of targets) {
          if (seen.has(t)) continue;
          seen.add(t);
          out.push(t);
        }
      });
    }
    return out;
  }

  /**
   * The evidence of `fn`'s effect: one step per call from `fn` down to the call that has it
   * directly ("`_start_reporter()` starts a thread here (threading.Thread.start)"), the
   * direct call last. `words` says what the effect does ("starts a thread").
   */
  steps(summaries: EffectSummaries<PyFn>, fn: PyFn, kind: EffectKind, words: string): ProgramStep[] {
    const chain = summaries.chain(fn, kind);
    const api = chain.at(-1)?.direct?.api ?? '';
    return chain.map((s) => {
      const f = this.body(s.fn)[s.call];
      const message = s.direct ? `${words} here (${api})` : `${callWords(f)} ${words} here (${api})`;
      return { path: s.fn.module.path, range: f.range, message };
    });
  }

  private allFunctions(): PyFn[] {
    const out: PyFn[] = [];
    for (const m of this.index.modules) for (const name of m.bodies.keys()) out.push(this.fn(m, name));
    return out;
  }

  private callees(fn: PyFn): readonly (readonly PyFn[])[] {
    let out = this.calleeMemo.get(fn);
    if (out) return out;
    const m = fn.module;
    out = this.body(fn).map((f): readonly PyFn[] => {
      if (!CALL_KINDS.has(f.kind)) return NO_CALLS;
      switch (f.kind) {
        case 'py.call': {
          const t = this.resolver.callTarget(m, f);
          return t ? [this.fn(t.module, t.name)] : NO_CALLS;
        }
        case 'py.method-call':
          return this.resolver.methodCallTargets(m, f).map((t) => this.fn(t.module, t.name));
        case 'py.with-enter': {
          const t = this.resolver.enterTarget(m, f);
          return t ? [this.fn(t.module, t.name)] : NO_CALLS;
        }
        case 'py.import':
          return this.moduleBodies(this.resolver.importTargets(m, f));
        case 'py.import-computed':
          return this.moduleBodies(this.resolver.computedImportTargets(m, f));
        case 'py.object-start': {
          // `Worker(...).start()` on a workspace class that is no thread or process: its own `start`.
          if (this.resolver.classify(m, f.constructorName, f.origin, f.method)) return NO_CALLS;
          const sym = this.index.resolve(m, f.constructorName, f.origin);
          const meth = sym?.kind === 'class' ? this.index.method(sym.module, sym.name, f.method) : undefined;
          return meth?.kind === 'function' ? [this.fn(meth.module, meth.name)] : NO_CALLS;
        }
        default:
          return NO_CALLS;
      }
    });
    this.calleeMemo.set(fn, out);
    return out;
  }

  /** The top levels an import may run: each module's packages' `__init__` first, then the module. */
  private moduleBodies(targets: readonly PyModule[]): readonly PyFn[] {
    if (!targets.length) return NO_CALLS;
    const out: PyFn[] = [];
    for (const t of targets) for (const m of [...t.parents, t]) if (m.bodies.has('')) out.push(this.fn(m, ''));
    return out;
  }

  private localEffects(fn: PyFn): readonly LocalEffect[] {
    let out = this.localMemo.get(fn);
    if (out) return out;
    const list: LocalEffect[] = [];
    this.body(fn).forEach((f, call) => {
      const add = (kind: EffectKind, api: string, reason?: string) => list.push(reason === undefined ? { call, kind, api } : { call, kind, api, reason });
      switch (f.kind) {
        case 'py.thread-start':
          // Joined before the function returns: the caller never sees it running.
          if (!f.joined) add('startsThread', f.api, f.note);
          break;
        case 'py.object-start': {
          const what = this.resolver.classify(fn.module, f.constructorName, f.origin, f.method);
          const shown = `${f.constructorName.replace(/^\.+/, '')}.${f.method}()`;
          if (what?.kind === 'thread') add('startsThread', shown, `a ${what.base} subclass`);
          else if (what?.kind === 'process' && PY_FORKING_START_METHODS.has(defaultStartMethod(this.pythonVersion))) add('forks', shown, `a ${what.base} subclass`);
          break;
        }
        case 'py.hb-connection':
          if (f.background && !f.onUse) add('startsThread', f.api, f.note);
          break;
        case 'py.fork': {
          const method = f.startMethod === 'default' ? defaultStartMethod(this.pythonVersion) : f.startMethod;
          if (f.via !== 'multiprocessing' || method === 'unknown' || PY_FORKING_START_METHODS.has(method ?? '')) add('forks', f.api);
          if (f.threadsAfter) add('startsThread', f.api, 'starts helper threads in the parent');
          break;
        }
        case 'py.exec':
          if (!f.onError) add('neverReturns', f.exits ? 'exit' : 'exec', f.exits ? 'ends the process' : 'replaces the process');
          break;
        case 'py.keepalive':
          add('pings', f.call, f.how);
          if (f.how === 'loop') add('waits', f.waitsThrough?.wait ?? f.call, 'between heartbeats');
          break;
        default:
          break;
      }
    });
    out = list;
    this.localMemo.set(fn, out);
    return out;
  }
}

/** A fact runs on every path through its body: not under a condition, an `except`, or a main block. */
function runsAlways(fn: PyFn, f: PythonFact | undefined): boolean {
  if (!f || f.conditional) return false;
  if (f.underMainGuard && fn.name === '') return false;
  return !(f.kind === 'py.exec' && f.onError);
}

const SHAPES = new WeakMap<readonly PythonFact[], string>();

/** The shape of a body for the summary cache: what each fact is and names, without positions. */
function shapeOf(body: readonly PythonFact[]): string {
  let s = SHAPES.get(body);
  if (s === undefined) {
    s = body.map(factShape).join(';');
    SHAPES.set(body, s);
  }
  return s;
}

function factShape(f: PythonFact): string {
  const flags = `${f.conditional ? 'c' : ''}${f.underMainGuard ? 'm' : ''}`;
  switch (f.kind) {
    case 'py.call':
    case 'py.with-enter':
      return `${f.kind}:${f.origin}:${f.callee}${flags}`;
    case 'py.method-call':
      return `${f.kind}:${f.origin}:${f.producer}.${f.method}:${f.module ? `${f.module.name}${f.module.prefix ? '*' : ''}` : ''}${flags}`;
    case 'py.import':
      return `${f.kind}:${f.level}:${f.module}${flags}`;
    case 'py.import-computed':
      return `${f.kind}:${f.name}${f.prefix ? '*' : ''}${flags}`;
    case 'py.object-start':
      return `${f.kind}:${f.origin}:${f.constructorName}.${f.method}${flags}`;
    default:
      return `${f.kind}${flags}`;
  }
}

/** How a call is named in evidence: "`_start_reporter()`", "`conn.run()`", "importing `plugins.beat`". */
function callWords(f: PythonFact): string {
  const short = (name: string) => name.replace(/^\.+/, '').split('.').slice(-2).join('.');
  switch (f.kind) {
    case 'py.call':
      return `${short(f.callee)}()`;
    case 'py.method-call':
      return `${f.method}()`;
    case 'py.with-enter':
      return `entering ${short(f.callee)}()`;
    case 'py.object-start':
      return `${short(f.constructorName)}.${f.method}()`;
    case 'py.import':
      return `importing ${'.'.repeat(f.level)}${f.module}`;
    case 'py.import-computed':
      return `importing ${f.name}${f.prefix ? '…' : ''}`;
    default:
      return 'this call';
  }
}
