/**
 * Pooled descriptor caches a Python file shows by itself (`py.fd-cache` facts with
 * `pidReadOnce`): objects owning descriptors kept in a long-lived container by code that reads
 * the process id once, at definition, and never compares it again. Such code expects to run
 * in several processes, so no fork in the workspace is needed to report it: the host that
 * forks is elsewhere (a pre-fork server importing the library).
 */
import type { PyFdCacheFact, PyForkFact, PythonFact } from '../facts/python/program-facts';
import type { PyModuleIndex } from './python-modules';
import type { Protection } from './python-fork-protection';
import type { PyCacheAcrossFork } from './python-types';

const POOLED = new WeakMap<readonly PythonFact[], PyFdCacheFact[]>();

function pooledFacts(facts: readonly PythonFact[]): PyFdCacheFact[] {
  let out = POOLED.get(facts);
  if (!out) {
    out = facts.filter((f): f is PyFdCacheFact => f.kind === 'py.fd-cache' && f.pidReadOnce !== undefined);
    POOLED.set(facts, out);
  }
  return out;
}

/** Every pooled cache of the workspace, with the place that reads the process id once standing for the fork. */
export function pooledCachesAcrossFork(index: PyModuleIndex, protection: Protection): PyCacheAcrossFork[] {
  const out: PyCacheAcrossFork[] = [];
  for (const module of index.modules) {
    for (const fact of pooledFacts(module.facts)) {
      if (protection.why(module, fact)) continue;
      const root = { module, kind: 'library' as const, asMain: false };
      const fork: PyForkFact = {
        kind: 'py.fork',
        range: fact.pidReadOnce!,
        enclosingFunction: '',
        api: 'a fork in any program that uses it',
        via: 'os',
        child: 'continues',
      };
      out.push({ cache: { module, fact, chain: [], root, later: true }, fork: { module, fact: fork, chain: [], root, later: true } });
    }
  }
  return out;
}
