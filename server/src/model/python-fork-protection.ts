/**
 * Fork protections of a Python workspace: which cached descriptors are re-validated after a
 * fork (`py.fd-revalidate`) or reset by an at-fork child handler (`os.register_at_fork`,
 * `multiprocessing.util.register_after_fork`: a function, lambda, bound method or
 * `functools.partial`, followed into every workspace function it may call, in any module,
 * through the call graph of `python-effects.ts`), found once per model, so that a cache or
 * pool they cover is not reported as crossing a fork.
 */
import type { PyAtForkFact, PyFdCacheFact, PyFdRevalidateFact, PyResetTarget, PythonFact } from '../facts/python/program-facts';
import type { PythonEffects } from './python-effects';
import type { PyModule, PyModuleIndex, PySymbol } from './python-modules';

const PROTECTION_FACTS = new WeakMap<readonly PythonFact[], (PyFdRevalidateFact | PyAtForkFact)[]>();

/** The facts of a file that protections read, found once per fact array (not once per build). */
function protectionFacts(facts: readonly PythonFact[]): (PyFdRevalidateFact | PyAtForkFact)[] {
  let out = PROTECTION_FACTS.get(facts);
  if (!out) {
    out = facts.filter((f): f is PyFdRevalidateFact | PyAtForkFact => f.kind === 'py.fd-revalidate' || f.kind === 'py.at-fork');
    PROTECTION_FACTS.set(facts, out);
  }
  return out;
}

/** Precomputed per model: which caches are protected (re-validated / reset at fork). */
export class Protection {
  private readonly revalidated = new Map<PyModule, Set<string>>();
  private readonly reset = new Map<PyModule, Set<string>>();

  constructor(
    private readonly index: PyModuleIndex,
    private readonly effects: PythonEffects,
  ) {
    for (const m of index.modules) {
      for (const f of protectionFacts(m.facts)) {
        if (f.kind === 'py.fd-revalidate') {
          const set = this.revalidated.get(m) ?? new Set();
          for (const n of f.names) set.add(n);
          this.revalidated.set(m, set);
        } else if (f.kind === 'py.at-fork') {
          for (const t of f.resets ?? []) this.resetTarget(m, t);
          const sym = f.handler && f.origin ? index.resolve(m, f.handler, f.origin) : undefined;
          if (sym?.kind === 'function') this.resetBy(sym, m, f.bound);
        }
      }
    }
  }

  /**
   * What a handler function resets when the child runs it: the module variables and class
   * attributes it assigns, the pools and caches it empties or closes, the arguments bound to
   * the parameters it empties (`bound`, read in `boundIn`), and the same for every workspace
   * function it may call, however deep (calls, method calls on what a call made, `with`
   * items; a recursive helper is visited once). Imports are not followed: a module's
   * top level runs once, at its first import, not each time the handler runs.
   */
  private resetBy(sym: PySymbol & { kind: 'function' }, boundIn: PyModule, bound: readonly (PyResetTarget | null)[] | undefined): void {
    for (const i of sym.fact.resetParameters ?? []) {
      const t = bound?.[i];
      if (t) this.resetTarget(boundIn, t);
    }
    const follows = (f: PythonFact) => f.kind !== 'py.import' && f.kind !== 'py.import-computed';
    for (const fn of this.effects.reachable(this.effects.fn(sym.module, sym.name), follows)) {
      const def = fn.module.functions.get(fn.name);
      if (!def) continue;
      for (const n of def.globalAssigns ?? []) this.add(fn.module, n);
      for (const n of def.attributeAssigns ?? []) this.add(fn.module, n);
      for (const t of def.resets ?? []) this.resetTarget(fn.module, t);
    }
  }

  /** A reset target as its module sees it: a variable of another module (`store._conns`), or of this one. */
  private resetTarget(m: PyModule, t: PyResetTarget): void {
    if (t.origin !== 'import') {
      this.add(m, t.name);
      return;
    }
    const dot = t.name.lastIndexOf('.');
    if (dot <= 0) return;
    const owner = this.index.resolve(m, t.name.slice(0, dot), 'import');
    const attr = t.name.slice(dot + 1);
    if (owner?.kind === 'module') this.add(owner.module, attr);
    else if (owner?.kind === 'class') this.add(owner.module, `${owner.name}.${attr}`);
  }

  private add(m: PyModule, name: string): void {
    const set = this.reset.get(m) ?? new Set();
    set.add(name);
    this.reset.set(m, set);
  }

  /** Everything the protections say, as a string: a change invalidates every program's replay. */
  fingerprint(): string {
    const part = (map: Map<PyModule, Set<string>>) =>
      [...map].map(([m, names]) => `${m.abs}:${[...names].sort().join(',')}`).sort().join(';');
    return `${part(this.revalidated)}|${part(this.reset)}`;
  }

  why(m: PyModule, f: PyFdCacheFact): 'revalidated' | 'reset' | undefined {
    const last = f.name.slice(f.name.lastIndexOf('.') + 1);
    if (this.revalidated.get(m)?.has(last)) return 'revalidated';
    if (this.reset.get(m)?.has(f.name)) return 'reset';
    return undefined;
  }
}
