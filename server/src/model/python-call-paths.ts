/**
 * Shortest call paths through a Python program: breadth first from the code that runs (module
 * bodies, a script's function, a WSGI `application`) through the workspace functions and
 * methods it calls, the methods of what a call produced (`x = make(); x.m()`), the methods of
 * the workspace objects it creates (they may be called later: a framework hook, an API object
 * a handler keeps) and the functions it passes on (callbacks). Each edge is a step of an
 * evidence chain ("`rpc.init()` is called here"). Used by the HEARTBEAT joins to say how a
 * program reaches a transport use or the function that starts a heartbeat thread.
 *
 * NOTE: this walk stays apart from the call-effect solver (`call-effects.ts`), which answers
 * "what may this call do" with one summary per function, bottom-up, and a witness that is the
 * first such call in the function's order. The questions here are of another kind:
 * - they ask for a *shortest path to a place*, top-down from one program's entries: the chain
 *   is the breadth-first path from the entry, and a summary's witness (the first call in body
 *   order, then that callee's first, ...) is in general another, longer path, so the chains
 *   the HEARTBEAT rules show would change;
 * - the place is a query, not an effect of the code: "reaches the body of this function"
 *   (`python-heartbeat.ts`, for the function that starts a heartbeat thread) has one answer
 *   per target, and a per-function summary would need one effect per target function;
 * - what runs depends on the program: `runs` drops import-time code under another module's
 *   main guard, which differs with the program's `__main__`, so a summary of a module's top
 *   level would differ per program, where the solver's summaries are per function;
 * - its edges are not the solver's calls: the methods of an object a call creates count as
 *   reached (they may be called later), and so do functions passed on as callbacks, which the
 *   effect graph deliberately leaves out ("callables passed as arguments are not calls").
 */
import type { PythonFact } from '../facts/python/program-facts';
import { PY_TEST_FILE } from '../knowledge/python-heartbeat';
import type { PyModule, PyModuleIndex } from './python-modules';
import type { PyStep } from './python-types';

/** Where a search starts: a function body that runs (`''`: a module's import-time code) and the step that shows why. */
export interface CallSearchStart {
  module: PyModule;
  fn: string;
  step?: PyStep;
}

/** How many functions one search visits at most (a whole large service stays well below). */
const MAX_VISITED = 50_000;

/** The last part of a dotted callee, for messages (`self.rpcapi.cast` → `cast`, `rpc.init` kept). */
export function shortName(name: string): string {
  return name.replace(/^\.+/, '').split('.').slice(-2).join('.');
}

/**
 * Visits, breadth first, every function the program reaches from `starts`; `visit` is asked
 * about each fact of each reached body and returns a result to stop with. The result comes
 * with the steps from the start to the function whose fact matched.
 */
export function firstReached<T>(
  index: PyModuleIndex,
  starts: readonly CallSearchStart[],
  visit: (m: PyModule, fn: string, f: PythonFact) => T | undefined,
  runs: (m: PyModule, f: PythonFact) => boolean = () => true,
  methodTargets?: (m: PyModule, f: Extract<PythonFact, { kind: 'py.method-call' }>) => { module: PyModule; name: string }[],
): { found: T; steps: PyStep[] } | undefined {
  const parent = new Map<string, { from?: string; step?: PyStep }>();
  const queue: { m: PyModule; fn: string; key: string }[] = [];
  const add = (m: PyModule, fn: string, from: string | undefined, step: PyStep | undefined) => {
    const key = `${m.abs}#${fn}`;
    if (parent.has(key) || parent.size >= MAX_VISITED) return;
    parent.set(key, { from, step });
    queue.push({ m, fn, key });
  };
  for (const s of starts) if (!PY_TEST_FILE.test(s.module.path)) add(s.module, s.fn, undefined, s.step);
  const stepsTo = (key: string): PyStep[] => {
    const out: PyStep[] = [];
    for (let k: string | undefined = key; k; k = parent.get(k)?.from) {
      const step = parent.get(k)?.step;
      if (step) out.push(step);
    }
    return out.reverse();
  };
  for (let qi = 0; qi < queue.length; qi++) {
    const { m, fn, key } = queue[qi];
    for (const f of m.bodies.get(fn) ?? []) {
      // Import-time code under another module's main guard does not run.
      if (fn === '' && !runs(m, f)) continue;
      const found = visit(m, fn, f);
      if (found !== undefined) return { found, steps: stepsTo(key) };
      if (f.kind === 'py.call') {
        const sym = index.resolve(m, f.callee, f.origin);
        const target = index.runs(sym);
        if (target && !PY_TEST_FILE.test(target.module.path)) add(target.module, target.name, key, { path: m.path, range: f.range, message: `${shortName(f.callee)}() is called here` });
        if (sym?.kind === 'class' && !PY_TEST_FILE.test(sym.module.path)) {
          const step = { path: m.path, range: f.range, message: `${shortName(f.callee)}() creates an object here; its methods may be called later` };
          for (const meth of index.allMethods(sym.module, sym.name)) add(meth.module, meth.name, key, step);
        }
      } else if (f.kind === 'py.method-call' && methodTargets) {
        for (const t of methodTargets(m, f)) add(t.module, t.name, key, { path: m.path, range: f.range, message: `${f.method}() is called here` });
      } else if (f.kind === 'py.ref') {
        const target = index.runs(index.resolve(m, f.name, f.origin));
        if (target && !PY_TEST_FILE.test(target.module.path)) add(target.module, target.name, key, { path: m.path, range: f.range, message: `${shortName(f.name)} is passed here and may be called back` });
      }
    }
  }
  return undefined;
}
