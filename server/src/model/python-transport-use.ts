/**
 * Where a Python program first uses a messaging transport. An oslo.messaging transport opens
 * its connection — and its RabbitMQ driver starts that connection's heartbeat thread — only
 * when something sends, notifies or serves through it, not when `get_transport()` returns; a
 * program that only sets transports up (a database migration tool sharing the service's
 * start-up code) never starts a heartbeat. This module finds the use a program reaches, with
 * the call steps from the program's entry, for `green-heartbeat`.
 *
 * What counts as a use comes from the facts (`py.transport-use`: a send or start on what a
 * transport user made, directly or through a workspace function that returns one,
 * `py.returns-transport-user`) and the tables in `knowledge/python-heartbeat.ts`. The search
 * is the shortest-path walk of `python-call-paths.ts`, not the call-effect solver (its header
 * says why).
 */
import type { PythonFact, PyTransportUseFact } from '../facts/python/program-facts';
import { PY_TRANSPORT_OPENERS, PY_TRANSPORT_USERS, PY_TEST_FILE, type TransportKind } from '../knowledge/python-heartbeat';
import type { PyModule, PyModuleIndex } from './python-modules';
import type { PyStep } from './python-types';
import { firstReached, type CallSearchStart } from './python-call-paths';

/** A use of a transport and how the program gets there. */
export interface TransportUse {
  module: PyModule;
  fact: PyTransportUseFact;
  /** Words for the use: `sends an RPC cast (an RPC client)`. */
  words: string;
  /** Steps from the entry to the use (the use itself last). */
  steps: PyStep[];
  /** Reached through calls from the entry (`reached`), or only present in a module a request-serving program loads (`loaded`). */
  how: 'reached' | 'loaded';
}

/** Where a search starts (see `python-call-paths.ts`). */
export type UseSearchStart = CallSearchStart;

/** What a use fact uses, when it is one: words for the chain, and whether it sends (rather than serves). */
export function transportUseOf(index: PyModuleIndex, m: PyModule, f: PyTransportUseFact): { words: string; sends: boolean; carries: TransportKind } | undefined {
  if (f.user === 'transport') return PY_TRANSPORT_OPENERS.get(f.method);
  let userName = f.user;
  let via = '';
  if (!userName && f.producer) {
    const fn = producerFunction(index, m, f.producer.name, f.producer.origin);
    const ret = fn && (fn.module.bodies.get(fn.name) ?? []).find((s) => s.kind === 'py.returns-transport-user');
    if (ret?.kind !== 'py.returns-transport-user') return undefined;
    userName = ret.user;
    via = `, made by ${fn!.name.split('.').pop()}()`;
  }
  const user = userName ? PY_TRANSPORT_USERS.get(userName) : undefined;
  const does = user?.uses.get(f.method);
  return user && does ? { words: `${does} (${user.what}${via})`, sends: user.sends, carries: user.carries } : undefined;
}

/**
 * The workspace function a producer names: a function or method (`rpc.get_client`,
 * `Cls.build_handler`), or a property found along the class's bases (`Cls.client`, where a
 * base defines `@property def client`).
 */
function producerFunction(index: PyModuleIndex, m: PyModule, name: string, origin: 'import' | 'local' | 'builtin'): { module: PyModule; name: string } | undefined {
  const sym = index.resolve(m, name, origin);
  if (sym?.kind === 'function') return sym;
  if (sym || origin !== 'local') return undefined;
  const dot = name.lastIndexOf('.');
  if (dot < 0) return undefined;
  const found = index.method(m, name.slice(0, dot), name.slice(dot + 1));
  return found?.kind === 'function' ? found : undefined;
}

/**
 * The first transport use the program reaches through calls from `starts`: module bodies,
 * workspace functions and methods they call, methods of what a call produced
 * (`x = make(); x.m()`), and the methods of the workspace objects they create (an object's
 * methods may be called later: a framework hook, an RPC API object a handler keeps). Breadth
 * first, so the chain is a shortest one.
 */
export function reachedTransportUse(
  index: PyModuleIndex,
  starts: readonly UseSearchStart[],
  kind: TransportKind,
  runs: (m: PyModule, f: PythonFact) => boolean = () => true,
): TransportUse | undefined {
  const reached = firstReached(
    index,
    starts,
    (m, _fn, f) => {
      if (f.kind !== 'py.transport-use') return undefined;
      const use = transportUseOf(index, m, f);
      return use && carriesKind(use.carries, kind) ? { m, f, words: use.words } : undefined;
    },
    runs,
    (m, f) => methodTargets(index, m, f.producer, f.origin, f.method),
  );
  if (!reached) return undefined;
  const { m, f, words } = reached.found;
  return { module: m, fact: f, words, how: 'reached', steps: [...reached.steps, useStep(m, f, words)] };
}

/** A transport send anywhere in `modules` (the evidence for programs whose request handlers are not followed). */
export function loadedTransportUse(index: PyModuleIndex, modules: readonly PyModule[], kind: TransportKind): TransportUse | undefined {
  for (const m of modules) {
    // The program's own request handlers, not an installed library's internals (its logging
    // handler that sends notifications when configured to).
    if (PY_TEST_FILE.test(m.path) || m.dependency) continue;
    for (const f of m.facts) {
      if (f.kind !== 'py.transport-use') continue;
      // A request handler sends; starting a server or listener is not what a request does.
      const use = transportUseOf(index, m, f);
      if (!use?.sends || !carriesKind(use.carries, kind)) continue;
      const words = use.words;
      const step: PyStep = {
        path: m.path,
        range: f.range,
        message: `a transport is used here, in a module the program loads: ${f.call} ${words}; the request handlers its web framework calls are not followed, so a use in its modules is taken as what a request may do`,
      };
      return { module: m, fact: f, words, how: 'loaded', steps: [step] };
    }
  }
  return undefined;
}

/** A use of what `carried` travels on a transport of kind `kind` (a `get_transport` transport carries both). */
function carriesKind(carried: TransportKind, kind: TransportKind): boolean {
  return kind === 'any' || carried === 'any' || carried === kind;
}

function useStep(m: PyModule, f: PyTransportUseFact, words: string): PyStep {
  return { path: m.path, range: f.range, message: `the transport is first used here: ${f.call} ${words}, which opens a connection and starts its heartbeat thread` };
}

/** The methods a call of `method` on what `producer` made runs: a workspace class's, or that of the class a function returns objects of. */
function methodTargets(index: PyModuleIndex, m: PyModule, producer: string, origin: 'import' | 'local' | 'builtin', method: string): { module: PyModule; name: string }[] {
  const methodOf = (sym: ReturnType<PyModuleIndex['resolve']>) => {
    if (sym?.kind !== 'class') return undefined;
    const found = index.method(sym.module, sym.name, method);
    return found?.kind === 'function' ? { module: found.module, name: found.name } : undefined;
  };
  const sym = index.resolve(m, producer, origin);
  if (sym?.kind === 'class') {
    const t = methodOf(sym);
    return t ? [t] : [];
  }
  if (sym?.kind !== 'function') return [];
  for (const step of sym.module.bodies.get(sym.name) ?? []) {
    if (step.kind !== 'py.returns-object') continue;
    const t = methodOf(index.resolve(sym.module, step.constructorName, step.origin));
    if (t) return [t];
  }
  return [];
}
