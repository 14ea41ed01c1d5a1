/**
 * Fork protections of a Python workspace: which cached descriptors are re-validated after a
 * fork (`py.fd-revalidate`) or reset by an at-fork handler (`os.register_at_fork`), found once
 * per model, so that a cache they cover is not reported as crossing a fork.
 */
import type { PyAtForkFact, PyFdCacheFact, PyFdRevalidateFact, PythonFact } from '../facts/python/program-facts';
import type { PyModule, PyModuleIndex } from './python-modules';

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

  constructor(index: PyModuleIndex) {
    for (const m of index.modules) {
      for (const f of protectionFacts(m.facts)) {
        if (f.kind === 'py.fd-revalidate') {
          const set = this.revalidated.get(m) ?? new Set();
          for (const n of f.names) set.add(n);
          this.revalidated.set(m, set);
        } else if (f.kind === 'py.at-fork' && f.handler && f.origin) {
          const sym = index.resolve(m, f.handler, f.origin);
          if (sym?.kind !== 'function') continue;
          const set = this.reset.get(sym.module) ?? new Set();
          for (const n of sym.fact.globalAssigns ?? []) set.add(n);
          for (const n of sym.fact.attributeAssigns ?? []) set.add(n);
          this.reset.set(sym.module, set);
        }
      }
    }
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
