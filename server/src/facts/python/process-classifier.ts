/**
 * The process and descriptor side of the Python facts: from the collected calls it tells
 * thread and process starts, forks (and what their child runs), close-all sites with their
 * keep-lists, exec/_exit calls, at-fork handlers, start-method settings, calls into other
 * workspace code, and descriptors cached in long-lived storage and their re-validation.
 */
import type { Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import {
  PY_AT_FORK_CALLS,
  PY_AT_FORK_OBJECT_ARG,
  PY_CLOSE_ALL_HELPERS,
  PY_CLOSE_HELPER_NAME,
  PY_CLOSE_ONE_CALLS,
  PY_CLOSE_RANGE_CALLS,
  PY_CONTEXT_GETTERS,
  PY_CONTEXT_PROCESS_ATTRS,
  PY_DAEMONIZERS,
  PY_EXEC_CALLS,
  PY_EXIT_CALLS,
  PY_FD_SOURCES,
  PY_FORK_CALLS,
  PY_FORKING_START_METHODS,
  PY_FSTAT_CALLS,
  PY_HANDLER_REGISTRATIONS,
  PY_KEEP_PARAMETER,
  PY_LOG_HANDLER_SOURCES,
  PY_COMPUTED_IMPORTS,
  PY_PARTIAL_CALLS,
  PY_PROCESS_STARTERS,
  PY_SETSID_CALLS,
  PY_START_METHOD_SETTERS,
  PY_STDIO_NAMES,
  PY_THREAD_JOINS,
  PY_THREAD_METHODS,
  PY_THREAD_STARTERS,
  type PyProcessStarter,
  type PyThreadStarter,
} from '../../knowledge/python-process';
import { PY_THREAD_TARGETS } from '../../knowledge/python-heartbeat';
import { escapeRegExp } from '../../text/regexp';
import { BUILTIN_KNOWLEDGE, type PythonKnowledge } from '../../knowledge/knowledge';
import type {
  PyAtForkFact,
  PyCallFact,
  PyCloseAllFact,
  PyExecFact,
  PyFactBase,
  PyForkFact,
  PyKeepArgument,
  PyComputedModule,
  PyComputedMemberCallFact,
  PyMethodCallFact,
  PyNameOrigin,
  PyStartMethodFact,
  PyThreadStartFact,
} from './fact-types';
import { forkFlags, takenWithFork } from './branch-tests';
import { ForkResets } from './fork-resets';
import { computedImportModule, computedModuleHolders, constantBeginning } from './computed-module-holders';
import { ValueOrigins } from './value-origins';
import type { PySourceText } from './source-text';
import { argsOf, before, closesOnlyStdio, identifiersIn, keywordInsert, parameterNames, rangeEq, startsAtStdio, stringValue, within } from './syntax-helpers';
import { callBase, classScope, factBase, pickBinding, resolve, withBase, type CollectedRecords, type LoopCtx, type RawCall, type Resolved, type Scope } from './walk-records';

/** Names the tables already describe: never worth a `py.call` fact. */
const KNOWN_NOT_WORKSPACE: ReadonlySet<string> = new Set([...PY_FD_SOURCES.keys(), ...PY_SETSID_CALLS, ...PY_CLOSE_ONE_CALLS, ...PY_FSTAT_CALLS]);

/** Every name `classify` looks up by itself (one look-up rules them all out for most calls). */
const CLASSIFY_NAMES: ReadonlySet<string> = new Set([
  ...PY_FORK_CALLS.keys(),
  ...PY_EXEC_CALLS,
  ...PY_EXIT_CALLS,
  ...PY_DAEMONIZERS.keys(),
  ...PY_CLOSE_RANGE_CALLS,
  ...PY_CLOSE_ALL_HELPERS.keys(),
  ...PY_START_METHOD_SETTERS,
  ...PY_AT_FORK_CALLS.keys(),
  ...PY_FSTAT_CALLS,
]);
/** Every name `ctorKind` looks up. */
const CTOR_NAMES: ReadonlySet<string> = new Set([...PY_THREAD_STARTERS.keys(), ...PY_PROCESS_STARTERS.keys(), ...PY_CONTEXT_GETTERS]);

const NON_CTOR_NAMES = new Set(['super', 'type', 'object', 'getattr', 'setattr', 'property', 'staticmethod', 'classmethod']);

/**
 * The names a module-level function of this file calls (`def _before_fork(): for s in
 * SERVERS: s._stop_for_fork()` → `_stop_for_fork`), when `handler` names one; else undefined.
 */
function callsOfFileFunction(call: Node, handler: Node | undefined): string[] | undefined {
  if (handler?.type !== 'identifier') return undefined;
  let root: Node = call;
  while (root.parent) root = root.parent;
  for (const d of root.namedChildren) {
    const def = d?.type === 'decorated_definition' ? d.childForFieldName('definition') : d;
    if (def?.type !== 'function_definition' || def.childForFieldName('name')?.text !== handler.text) continue;
    const names = new Set<string>();
    for (const n of def.descendantsOfType('call')) {
      const f = n?.childForFieldName('function');
      const last = f?.type === 'attribute' ? f.childForFieldName('attribute') : f;
      if (last?.type === 'identifier') names.add(last.text);
    }
    return names.size ? [...names] : undefined;
  }
  return undefined;
}

/** A join or shutdown that waits for the threads (`shutdown(wait=False)` does not). */
function waits(j: RawCall): boolean {
  if (j.method !== 'shutdown') return true;
  const a = argsOf(j.node);
  const wait = a.keywords.get('wait') ?? a.positional[0];
  return !wait || (wait.type !== 'false' && wait.text !== '0');
}

/**
 * The call's result is awaited in its own statement: `await f(...)`, also through a wrapper
 * that waits for it (`await asyncio.wait_for(f(...), timeout)`, `await asyncio.shield(f(...))`).
 */
function awaitedHere(call: Node): boolean {
  for (let n: Node | null = call.parent, depth = 0; n && depth < 6; n = n.parent, depth++) {
    if (n.type === 'await') return true;
    if (n.type.endsWith('_statement') || n.type === 'block' || n.type === 'lambda') return false;
  }
  return false;
}

/** A module imported by computed name, and the names its computed part is made of. */
interface ComputedOrigin {
  module: PyComputedModule;
  variables: string[];
}

/** How many bindings and lookups {@link ProcessClassifier.computedOrigin} follows back at most. */
const MAX_ORIGIN_STEPS = 6;

/** A fact of one of these kinds and the call it was made for. */
export type CallFacts<F> = { fact: F; call: RawCall }[];

export class ProcessClassifier {
  /** What at-fork handlers reset (`fork-resets.ts`). */
  readonly resets: ForkResets;

  /** `knowledge`: the thread-starter and fork tables (the built-ins merged with the user's models). */
  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
    private readonly knowledge: PythonKnowledge = BUILTIN_KNOWLEDGE.python,
  ) {
    this.resets = new ForkResets(rec, t);
  }

  private receiverCtor(c: RawCall): RawCall | undefined {
    const r = c.recv;
    if (!r) return undefined;
    if ('chained' in r) {
      const idx = this.rec.callIndex.get(r.chained);
      return idx === undefined ? undefined : this.rec.calls[idx];
    }
    const pos = c.node.startIndex;
    if ('selfAttr' in r) {
      const cls = classScope(c.scope);
      return pickBinding(cls?.bindings.get(`self.${r.selfAttr}`), pos);
    }
    for (let s: Scope | undefined = c.scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== c.scope) continue;
      const b = pickBinding(s.bindings.get(r.name), pos);
      if (b) return b;
    }
    return undefined;
  }

  /**
   * `client = Client(...); ...; return client`: the function hands out the object a workspace
   * class call made, like `return Client(...)` (a `py.returns-object` fact).
   */
  emitReturnedObjects(): void {
    for (const r of this.rec.returnedNames) {
      const b = pickBinding(r.scope.bindings.get(r.name), r.at);
      const name = b?.resolved?.name;
      if (!b || !name || b.resolved!.origin === 'builtin') continue;
      if (this.ctorKind(b)?.kind !== 'unknown' || KNOWN_NOT_WORKSPACE.has(name)) continue;
      if (!/^_*[A-Z]/.test(name.slice(name.lastIndexOf('.') + 1))) continue;
      this.rec.facts.push({ ...r.base, kind: 'py.returns-object', constructorName: name, origin: b.resolved!.origin });
    }
  }

  /** What constructing `c` makes: a known thread/process object, a context, or an unknown class. */
  private ctorKind(
    c: RawCall,
    depth = 0,
  ):
    | { kind: 'thread'; api: string; starter: PyThreadStarter }
    | { kind: 'process'; api: string; starter: PyProcessStarter; method: string; literal?: Range }
    | { kind: 'context'; method: string; literal?: Range }
    | { kind: 'unknown'; ctor: string; origin: PyNameOrigin }
    | undefined {
    const name = c.resolved?.name;
    if (name && (CTOR_NAMES.has(name) || this.knowledge.threadStarters.has(name) || this.knowledge.processStarters.has(name))) {
      const t = this.knowledge.threadStarters.get(name);
      if (t) return { kind: 'thread', api: name, starter: t };
      const p = this.knowledge.processStarters.get(name);
      if (p) {
        const m = this.contextMethodOfKeyword(c, p.contextKeyword);
        return { kind: 'process', api: name, starter: p, method: m.method, literal: m.literal };
      }
      if (PY_CONTEXT_GETTERS.has(name)) return { kind: 'context', ...this.methodArgument(c) };
    }
    // `ctx.Process(...)` / `get_context("spawn").Pool(...)`
    if (c.method && c.recv) {
      const attr = PY_CONTEXT_PROCESS_ATTRS.get(c.method);
      const ctor = attr ? this.receiverCtor(c) : undefined;
      if (attr && ctor?.resolved && PY_CONTEXT_GETTERS.has(ctor.resolved.name)) {
        const m = this.methodArgument(ctor);
        return { kind: 'process', api: `multiprocessing.get_context().${c.method}`, starter: attr, method: m.method, literal: m.literal };
      }
    }
    if (name && c.resolved!.origin !== 'builtin' && !NON_CTOR_NAMES.has(name)) return { kind: 'unknown', ctor: name, origin: c.resolved!.origin };
    // `ddf = ddf.spatial_shuffle(...)`: a method of a chaining thread starter (a lazy dask
    // collection) gives another object of the same kind.
    if (c.method && c.recv && depth < 8) {
      const ctor = this.receiverCtor(c);
      const ck = ctor && ctor !== c ? this.ctorKind(ctor, depth + 1) : undefined;
      if (ck?.kind === 'thread' && ck.starter.chains && !ck.starter.methods?.includes(c.method)) return ck;
    }
    return undefined;
  }

  /** The start method named by a context getter's argument. */
  private methodArgument(getter: RawCall): { method: string; literal?: Range } {
    const a = argsOf(getter.node);
    const arg = a.positional[0] ?? a.keywords.get('method');
    if (!arg || arg.type === 'none') return { method: 'default' };
    const s = stringValue(arg);
    return s ? { method: s.value, literal: s.content } : { method: 'unknown' };
  }

  /** `mp_context=` / `context=`: a getter call, a name bound to one, or absent (default). */
  private contextMethodOfKeyword(c: RawCall, keyword: string | undefined): { method: string; literal?: Range } {
    if (!keyword) return { method: 'default' };
    const v = argsOf(c.node).keywords.get(keyword);
    if (!v || v.type === 'none') return { method: 'default' };
    let getter: RawCall | undefined;
    if (v.type === 'call') {
      const idx = this.rec.callIndex.get(v.id);
      getter = idx === undefined ? undefined : this.rec.calls[idx];
    } else if (v.type === 'identifier') {
      getter = this.receiverCtor({ ...c, recv: { name: v.text } });
    }
    if (getter?.resolved && PY_CONTEXT_GETTERS.has(getter.resolved.name)) return this.methodArgument(getter);
    return { method: 'unknown' };
  }

  classify(c: RawCall, execs: CallFacts<PyExecFact>, forks: CallFacts<PyForkFact>, closeAlls: CallFacts<PyCloseAllFact>): void {
    const name = c.resolved?.name;
    if (name && PY_COMPUTED_IMPORTS.has(name)) {
      const module = this.computedModule(c);
      if (module) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.import-computed', ...module });
      return;
    }
    if (name && c.resolved && (CLASSIFY_NAMES.has(name) || this.knowledge.forkCalls.has(name))) {
      if (this.knowledge.forkCalls.has(name)) {
        const fact: PyForkFact = { ...callBase(c, this.t), kind: 'py.fork', api: `${name}()`, via: 'os', child: 'continues' };
        this.rec.facts.push(fact);
        forks.push({ fact, call: c });
        return;
      }
      if (PY_EXEC_CALLS.has(name) || (PY_EXIT_CALLS.has(name) && (c.resolved.origin !== 'local'))) {
        const fact: PyExecFact = { ...callBase(c, this.t), kind: 'py.exec', exits: !PY_EXEC_CALLS.has(name) };
        if (c.flags.handler) fact.onError = true;
        this.rec.facts.push(fact);
        execs.push({ fact, call: c });
        return;
      }
      const daemon = PY_DAEMONIZERS.get(name);
      if (daemon) {
        const args = argsOf(c.node);
        // When the workspace holds the daemonizer's own code, the model runs that instead of
        // this description (the call comes first: facts at one position keep their order).
        if (c.resolved.origin === 'import') this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.call', callee: name, origin: 'import' });
        const fact: PyForkFact = { ...callBase(c, this.t), kind: 'py.fork', api: `${name}()`, via: 'daemonizer', child: 'continues', parentExits: true };
        this.rec.facts.push(fact);
        forks.push({ fact, call: c });
        const keep = daemon.keepKeyword ? args.keywords.get(daemon.keepKeyword) : undefined;
        const ca: PyCloseAllFact = {
          ...callBase(c, this.t),
          kind: 'py.close-all',
          api: `${name}()`,
          keepList: (!!keep && keep.type !== 'none') || this.keepAssignedLater(c, daemon.keepAttribute),
          execFollows: false,
          inChild: true,
        };
        const ins = daemon.keepKeyword ? keywordInsert(args.node, daemon.keepKeyword) : undefined;
        if (ins) ca.keepInsert = ins;
        this.rec.facts.push(ca);
        closeAlls.push({ fact: ca, call: c });
        return;
      }
      if (PY_CLOSE_RANGE_CALLS.has(name)) {
        // `closerange(0, 3)`: only the standard streams, nothing a library cached.
        if (closesOnlyStdio(c.node)) return;
        // Closing the gaps between kept descriptors (in a loop, or several ranges starting past
        // the standard streams) is a keep-list, unless the function spares what its caller
        // passes: then each call decides. Several ranges that all start at the standard
        // streams are alternatives (one per branch), each closing everything.
        const keepParameter = this.keepParameterOf(c.scope);
        const ranges = (c.scope.closeRanges ?? []).filter((r) => !closesOnlyStdio(r.node));
        // A loop over computed bounds (`for lo, hi in gaps: os.closerange(lo, hi)`) closes the gaps too.
        const keep = !keepParameter && (!!c.loop || !!c.loops?.length || ranges.length > 1) && !ranges.every((r) => startsAtStdio(r.node));
        const fact: PyCloseAllFact = { ...callBase(c, this.t), kind: 'py.close-all', api: `${name}()`, keepList: keep, execFollows: false };
        if (keepParameter) fact.keepParameter = keepParameter;
        this.rec.facts.push(fact);
        closeAlls.push({ fact, call: c });
        return;
      }
      const helper = PY_CLOSE_ALL_HELPERS.get(name);
      if (helper) {
        const fact: PyCloseAllFact = { ...callBase(c, this.t), kind: 'py.close-all', api: `${name}()`, keepList: ['other', 'named'].includes(this.keepArgumentOf(c, helper.keepKeyword)), execFollows: false };
        this.rec.facts.push(fact);
        closeAlls.push({ fact, call: c });
        return;
      }
      if (PY_START_METHOD_SETTERS.has(name)) {
        const m = this.methodArgument(c);
        const fact: PyStartMethodFact = { ...callBase(c, this.t), kind: 'py.start-method', method: m.method === 'default' ? 'unknown' : m.method };
        this.rec.facts.push(fact);
        return;
      }
      const atFork = PY_AT_FORK_CALLS.get(name);
      if (atFork) {
        const a = argsOf(c.node);
        const h = atFork.childKeyword ? a.keywords.get(atFork.childKeyword) : a.positional[atFork.childArg ?? -1];
        const beforeCalls = atFork.beforeKeyword ? callsOfFileFunction(c.node, a.keywords.get(atFork.beforeKeyword)) : undefined;
        if (!h && !beforeCalls) return;
        // `register_after_fork(obj, fn)`: the child calls `fn(obj)`.
        const objectAt = PY_AT_FORK_OBJECT_ARG.get(name);
        const obj = objectAt === undefined ? undefined : a.positional[objectAt];
        const fact: PyAtForkFact = { ...callBase(c, this.t), kind: 'py.at-fork', ...(h ? this.resets.handlerOf(h, c.scope, obj ? [this.resets.targetOf(obj, c.scope)] : []) : {}) };
        if (beforeCalls) fact.beforeCalls = beforeCalls;
        this.rec.facts.push(fact);
        return;
      }
      if (PY_FSTAT_CALLS.has(name)) return;
    }
    // Constructors that start threads or processes by themselves.
    const kind = this.ctorKind(c);
    if (kind?.kind === 'thread' && kind.starter.how !== 'method') {
      if (kind.starter.whenKeyword) {
        const v = argsOf(c.node).keywords.get(kind.starter.whenKeyword);
        if (!v || v.type === 'none' || v.type === 'false' || v.text === '0') return;
        const value = kind.starter.whenValues ? stringValue(v)?.value : undefined;
        if (kind.starter.whenValues && (value === undefined || !kind.starter.whenValues.includes(value))) return;
      }
      this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.thread-start', api: `${kind.api}()`, note: kind.starter.note, ...this.threadExtras(c, kind.api) });
      return;
    }
    if (kind?.kind === 'process' && kind.starter.how === 'ctor') {
      this.pushProcessFork(c, c, kind, callBase(c, this.t), forks);
      return;
    }
    // Methods that start what their receiver was built as.
    if (c.method && c.recv) {
      const ctor = this.receiverCtor(c);
      if (!ctor && 'name' in c.recv && this.receivedValueCall(c, c.recv.name, forks)) return;
      const ck = ctor ? this.ctorKind(ctor) : undefined;
      if (ctor && ck?.kind === 'thread' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        const start: PyThreadStartFact = { ...callBase(c, this.t), kind: 'py.thread-start', api: `${ck.api}.${c.method}()`, note: ck.starter.note, ...this.threadExtras(ctor, ck.api) };
        const work = ck.starter.runs === undefined ? undefined : this.t.dotted(argsOf(c.node).positional[ck.starter.runs] ?? null);
        if (work) {
          const r = resolve(work, c.scope);
          if (r.origin !== 'builtin') start.runs = { name: r.name, origin: r.origin };
        }
        if (this.joinedBeforeReturn(c, ctor)) start.joined = true;
        else {
          const by = this.joiningMethods(c);
          if (by.length) start.joinedBy = by;
        }
        this.rec.facts.push(start);
        return;
      }
      if (ctor && ck?.kind === 'process' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        this.pushProcessFork(c, ctor, ck, callBase(c, this.t), forks);
        return;
      }
      if (ctor && ck?.kind === 'unknown' && c.method === 'start' && /^[A-Z_]/.test(ck.ctor.split('.').pop() ?? '')) {
        ctor.matched = true;
        this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.object-start', constructorName: ck.ctor, origin: ck.origin, method: c.method });
        return;
      }
      const tm = PY_THREAD_METHODS.get(c.method);
      if (tm) {
        const start: PyThreadStartFact = { ...callBase(c, this.t), kind: 'py.thread-start', api: `.${c.method}()`, note: tm };
        const by = this.executorShutdownMethods(c);
        if (by.length) start.joinedBy = by;
        this.rec.facts.push(start);
        return;
      }
      // A method of what a workspace call made: the model looks the class up.
      if (ctor?.resolved && ck?.kind === 'unknown' && !KNOWN_NOT_WORKSPACE.has(ck.ctor)) {
        const call: PyMethodCallFact = withBase(callBase(c, this.t), { kind: 'py.method-call', producer: ck.ctor, origin: ck.origin, method: c.method });
        if (this.rec.returnedCalls.has(c.node.id)) call.returned = true;
        const module = PY_COMPUTED_IMPORTS.has(ck.ctor) ? this.computedModule(ctor) : undefined;
        if (module) call.module = module;
        this.rec.facts.push(call);
        return;
      }
    }
    // `self.start()` inside a class: the class itself may be a Thread/Process subclass.
    if (c.callee === 'self.start' && c.scope.cls) {
      this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.object-start', constructorName: c.scope.cls, origin: 'local', method: 'start' });
      return;
    }
    // `plug = getattr(mod, name); plug(core)` with `mod` imported by computed name.
    if (!c.method && (!c.resolved || c.resolved.origin === 'builtin')) {
      const member = this.computedMemberCall(c);
      if (member) {
        this.rec.facts.push(member);
        return;
      }
    }
    if (name && c.resolved && c.resolved.origin !== 'builtin') {
      if (c.recv && 'chained' in c.recv) return;
      if (kind && kind.kind !== 'unknown') return;
      if (KNOWN_NOT_WORKSPACE.has(name)) return;
      // `self.run = functools.partial(helper, ...)` in the class, then `self.run(...)`: runs `helper`.
      const callee = this.partialTarget(c) ?? c.resolved;
      const call: PyCallFact = withBase(callBase(c, this.t), { kind: 'py.call', callee: callee.name, origin: callee.origin });
      const last = name.slice(name.lastIndexOf('.') + 1);
      if (PY_CLOSE_HELPER_NAME.test(last) || this.passesKeepKeyword(c)) Object.assign(call, this.keepArgumentFact(c));
      if (this.rec.returnedCalls.has(c.node.id)) call.returned = true;
      this.rec.facts.push(call);
      if (this.rec.withCalls.has(c.node.id)) this.rec.facts.push(withBase(callBase(c, this.t), { kind: 'py.with-enter', callee: callee.name, origin: callee.origin }));
      if (this.rec.returnedCalls.has(c.node.id) && /^_*[A-Z]/.test(last)) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.returns-object', constructorName: name, origin: c.resolved.origin });
    }
  }

  private origins: ValueOrigins | undefined;
  /** Some call's facts were read from the values other definitions of the file pass or return. */
  tracedValues = false;
  private processMethods: ReadonlySet<string> | undefined;
  /** Names that may hold a module imported by computed name (`computed-module-holders.ts`). */
  private moduleHolders: ReadonlySet<string> | undefined;

  /**
   * `x.m(...)` where `x` holds a value the function received rather than made (a parameter, a
   * tuple element unpacked from one, a loop variable over one, a closure variable): the calls
   * of this file that may have made it (`value-origins.ts`) decide. A process starter whose
   * method this is starts processes here (`scanner.queue_scan_command()` with `scanner` the
   * `ConcurrentScanner()` a factory returned in a tuple); a module imported by computed name
   * runs its function of that name (`check.probe()` with `check` one of the plugin modules a
   * pool hands its worker function). Only asked when the method is a known process starter's
   * or the name may hold a module imported by computed name (a forward pass from those
   * imports, over the whole file). True when a fact was recorded.
   */
  private receivedValueCall(c: RawCall, name: string, forks: CallFacts<PyForkFact>): boolean {
    // Only calls of this file can be found: without a process starter whose method this is, or
    // an import by computed name, there is nothing to look for.
    if (!this.processMethods) {
      const methods = new Set<string>();
      for (const x of this.rec.calls) {
        // (Only a process starter's name or a context's process attribute makes a process.)
        const r = x.resolved?.name;
        if (!(r && this.knowledge.processStarters.has(r)) && !(x.method && x.recv && PY_CONTEXT_PROCESS_ATTRS.has(x.method))) continue;
        const ck = this.ctorKind(x);
        if (ck?.kind === 'process' && ck.starter.how === 'method') for (const m of ck.starter.methods ?? []) methods.add(m);
      }
      this.processMethods = methods;
    }
    this.moduleHolders ??= computedModuleHolders(this.t.tree.rootNode, this.t.src);
    if (!this.moduleHolders.has(name) && !this.processMethods.has(c.method!)) return false;
    this.tracedValues = true;
    this.origins ??= new ValueOrigins(this.rec, this.t);
    const made = this.origins.callsBehind(name, c.scope);
    // Any of the objects may be the one: a forking one (by a start method not named, or `fork`) first.
    const starters = made.flatMap((m) => {
      const ck = this.ctorKind(m);
      return ck?.kind === 'process' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method!) ? [{ m, ck }] : [];
    });
    const starter = starters.find((s) => PY_FORKING_START_METHODS.has(s.ck.method) || s.ck.method === 'default' || s.ck.method === 'unknown') ?? starters[0];
    if (starter) {
      starter.m.matched = true;
      this.pushProcessFork(c, starter.m, starter.ck, callBase(c, this.t), forks);
      return true;
    }
    for (const m of made) {
      const module = m.resolved && PY_COMPUTED_IMPORTS.has(m.resolved.name) ? this.computedModule(m) : undefined;
      if (module) {
        const call: PyMethodCallFact = { ...callBase(c, this.t), kind: 'py.method-call', producer: m.resolved!.name, origin: 'import', method: c.method!, module };
        if (this.rec.returnedCalls.has(c.node.id)) call.returned = true;
        this.rec.facts.push(call);
        return true;
      }
    }
    return false;
  }

  /** `ctx = DaemonContext(); ctx.files_preserve = [...]`: the keep-list set on the object the call made. */
  private keepAssignedLater(c: RawCall, attribute: string): boolean {
    const parent = c.node.parent;
    const left = parent?.type === 'assignment' ? parent.childForFieldName('left') : null;
    if (!left || (left.type !== 'identifier' && left.type !== 'attribute')) return false;
    const target = left.text.replace(/\s+/g, '');
    const re = new RegExp(`(^|[^\\w.])${escapeRegExp(`${target}.${attribute}`)}\\s*=[^=]`, 'm');
    return re.test(this.t.src);
  }

  /**
   * What the keep condition of a close loop spares (`if fd not in self.keep_fds:`,
   * `if fd != sock.fileno():`): the operands compared with the loop variable, read like a
   * keep argument. `named` (with the objects' names, and `fromCaller` when a value is what
   * a caller passed) when every operand is readable; undefined otherwise.
   */
  private loopKeep(loop: LoopCtx): { names: string[]; fromCaller: boolean } | undefined {
    if (!loop.keepGuards?.length) return undefined;
    const kept = new Set<string>();
    const caller = { used: false };
    for (const g of loop.keepGuards) {
      if (g.type !== 'comparison_operator') return undefined;
      const operands = g.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
      if (operands.length !== 2 || operands[0].text !== loop.variable) return undefined;
      const op = g.children.slice(1, -1).map((c) => c?.type).join(' ');
      if (op !== 'not in' && op !== '!=' && op !== 'is not') return undefined;
      let v = this.keepValue(operands[1], operands[1], 0, kept, caller);
      // `fd != keep`: one descriptor, read like a one-element list.
      if (v === 'none' && op !== 'not in') v = 'named';
      if (v === 'other') return undefined;
    }
    return { names: [...kept].sort(), fromCaller: caller.used };
  }

  /**
   * The module an `importlib.import_module(...)` call names: a string literal, or the constant
   * beginning of an f-string, a `+` concatenation or a `%` format (`"plugins." + name`).
   * Relative names (`package=`) and names with no constant beginning are not read.
   */
  private computedModule(c: RawCall): PyComputedModule | undefined {
    return computedImportModule(c.node);
  }

  /**
   * Where a value comes from when it is a module imported by computed name, or reached from one:
   * the import call itself, an attribute of it (`__import__("app.plugins." + n).plugins`: the
   * top package's attribute), a `getattr(...)` on it, or a local name bound to one of those
   * (any of its assignments: a `try` and its `except` often bind the same name).
   */
  private computedOrigin(n: Node | null, scope: Scope, steps = 0): ComputedOrigin | undefined {
    if (!n || steps > MAX_ORIGIN_STEPS) return undefined;
    if (n.type === 'parenthesized_expression' || n.type === 'attribute') {
      return this.computedOrigin(n.type === 'attribute' ? n.childForFieldName('object') : n.namedChild(0), scope, steps + 1);
    }
    if (n.type === 'call') {
      const idx = this.rec.callIndex.get(n.id);
      const c = idx === undefined ? undefined : this.rec.calls[idx];
      const name = c?.resolved?.name;
      if (!c || !name) return undefined;
      if (PY_COMPUTED_IMPORTS.has(name)) {
        const module = this.computedModule(c);
        const a = argsOf(c.node);
        const arg = a.positional[0] ?? a.keywords.get('name');
        return module && arg ? { module, variables: identifiersIn(arg) } : undefined;
      }
      if (name === 'getattr' && c.resolved!.origin === 'builtin') return this.computedOrigin(argsOf(c.node).positional[0] ?? null, c.scope, steps + 1);
      return undefined;
    }
    if (n.type !== 'identifier') return undefined;
    for (const b of this.bindingsOf(n.text, scope)) {
      const o = this.computedOrigin(b.node, b.scope, steps + 1);
      if (o) return o;
    }
    return undefined;
  }

  /** The calls assigned to a local name, in the nearest scope that assigns it. */
  private bindingsOf(name: string, scope: Scope): readonly RawCall[] {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== scope) continue;
      const list = s.bindings.get(name);
      if (list?.length) return list;
    }
    return [];
  }

  /**
   * `getattr(mod, name)(...)`, or `plug(...)` after `plug = getattr(mod, name)`, where `mod` is
   * a module imported by computed name: the call runs a member of one of its candidate modules.
   * Which member is read from the looked-up name: a literal, a constant beginning, a name made
   * from the same variable as the module's name (a plugin named like its module), or any.
   */
  private computedMemberCall(c: RawCall): PyComputedMemberCallFact | undefined {
    if (!this.mayCallComputedMember()) return undefined;
    const fn = c.node.childForFieldName('function');
    let lookups: readonly RawCall[] = [];
    if (fn?.type === 'call') {
      const idx = this.rec.callIndex.get(fn.id);
      if (idx !== undefined) lookups = [this.rec.calls[idx]];
    } else if (fn?.type === 'identifier') lookups = this.bindingsOf(fn.text, c.scope);
    for (const g of lookups) {
      if (g.resolved?.name !== 'getattr' || g.resolved.origin !== 'builtin') continue;
      const [obj, attr] = argsOf(g.node).positional;
      if (!attr) continue;
      const origin = this.computedOrigin(obj, g.scope);
      if (!origin) continue;
      const literal = stringValue(attr);
      const lead = literal ? undefined : constantBeginning(attr);
      let member: PyComputedMemberCallFact['member'];
      if (literal) member = { kind: 'named', name: literal.value };
      else if (lead) member = { kind: 'prefix', prefix: lead.name };
      else {
        const used = identifiersIn(attr);
        member = used.length && origin.variables.includes(used[0]) ? { kind: 'like-module' } : { kind: 'any' };
      }
      const text = this.t.text(g.node).replace(/\s+/g, ' ');
      const fact: PyComputedMemberCallFact = {
        ...callBase(c, this.t),
        kind: 'py.computed-member-call',
        module: origin.module,
        member,
        lookup: text.length > 60 ? `${text.slice(0, 57)}...` : text,
      };
      if (this.rec.returnedCalls.has(c.node.id)) fact.returned = true;
      return fact;
    }
    return undefined;
  }

  /** Whether the file calls both the builtin `getattr` and an import by computed name (asked once). */
  private computedMembersPossible: boolean | undefined;

  /**
   * A computed member call needs a builtin `getattr(...)` call and a call importing by computed
   * name among the file's calls: without both, no call is looked at.
   */
  private mayCallComputedMember(): boolean {
    if (this.computedMembersPossible === undefined) {
      let getattr = false;
      let computed = false;
      for (const x of this.rec.calls) {
        const r = x.resolved;
        if (!r) continue;
        if (r.name === 'getattr' && r.origin === 'builtin') getattr = true;
        if (PY_COMPUTED_IMPORTS.has(r.name)) computed = true;
      }
      this.computedMembersPossible = getattr && computed;
    }
    return this.computedMembersPossible;
  }

  /**
   * `self.name(...)` where every assignment of `self.name` in the class is a
   * `functools.partial(fn, ...)`: the function the call runs (`fn`, resolved where it was bound).
   */
  private partialTarget(c: RawCall): Resolved | undefined {
    if (!c.callee || !c.callee.startsWith('self.') || c.callee.indexOf('.', 5) >= 0) return undefined;
    const bound = classScope(c.scope)?.bindings.get(c.callee);
    if (!bound?.length || !bound.every((b) => b.resolved && PY_PARTIAL_CALLS.has(b.resolved.name))) return undefined;
    const d = this.t.dotted(argsOf(bound[0].node).positional[0] ?? null);
    if (!d) return undefined;
    const r = resolve(d, bound[0].scope);
    return r.origin === 'builtin' ? undefined : r;
  }

  /** The keep parameter of a function (`def close_open_fds(keep=None)`), read once from its `def`. */
  private keepParameterOf(scope: Scope): string | undefined {
    if (scope.kind !== 'function' || !scope.defNode) return undefined;
    if (scope.keepParameter === undefined) {
      scope.keepParameter = null;
      for (const p of scope.defNode.childForFieldName('parameters')?.namedChildren ?? []) {
        if (!p) continue;
        const nameNode = p.type === 'identifier' ? p : (p.childForFieldName('name') ?? p.namedChild(0));
        if (nameNode?.type === 'identifier' && PY_KEEP_PARAMETER.test(nameNode.text)) {
          scope.keepParameter = nameNode.text;
          break;
        }
      }
    }
    return scope.keepParameter ?? undefined;
  }

  /** What a close-all call's keep argument spares: the keyword (or a keep-like one), else the first positional argument. */
  private keepArgumentOf(c: RawCall, keyword?: string, kept?: Set<string>): PyKeepArgument {
    const args = argsOf(c.node);
    let arg: Node | null | undefined = keyword ? args.keywords.get(keyword) : undefined;
    if (!arg) for (const [k, v] of args.keywords) if (PY_KEEP_PARAMETER.test(k)) arg = v;
    arg ??= args.positional[0];
    return arg ? this.keepValue(arg, c.node, 0, kept ?? new Set()) : 'none';
  }

  /** A call's keep argument read at the call site, with the objects whose descriptors it names (`named`). */
  private keepArgumentFact(c: RawCall): Pick<PyCallFact, 'keepArgument' | 'keepNames'> {
    const kept = new Set<string>();
    const keepArgument = this.keepArgumentOf(c, undefined, kept);
    return keepArgument === 'named' ? { keepArgument, keepNames: [...kept].sort() } : { keepArgument };
  }

  /** Whether a call passes a keep-like keyword (`keepfd=`, `keep_fds=`, `files_preserve=`). */
  private passesKeepKeyword(c: RawCall): boolean {
    if (c.argsAt >= 0 && !/\b(keep|preserve|exclude|except|skip|retain|pass_fds)/i.test(this.t.src.slice(c.argsAt, c.end))) return false;
    for (const k of argsOf(c.node).keywords.keys()) if (PY_KEEP_PARAMETER.test(k)) return true;
    return false;
  }

  /**
   * What an expression passed as a keep-list spares: literals of the standard streams,
   * `list(...)`/`sorted(...)` of them, sums, and names or `self.` attributes assigned one of
   * these (in the function, or in the class) are read; anything else spares `other`.
   */
  private keepValue(node: Node, at: Node, depth: number, kept: Set<string>, caller?: { used: boolean }): PyKeepArgument {
    if (depth > 4) return 'other';
    const rank: PyKeepArgument[] = ['none', 'stdio-only', 'named', 'other'];
    const join = (a: PyKeepArgument, b: PyKeepArgument): PyKeepArgument => (rank.indexOf(a) >= rank.indexOf(b) ? a : b);
    // `sock.fileno()` / `self._sock.fileno()`: the descriptor of one named object.
    const named = (n: Node): string | undefined => {
      if (n.type !== 'call' || argsOf(n).positional.length) return undefined;
      const m = /^(?:self\.)?([A-Za-z_]\w*)\.fileno$/.exec(this.t.dotted(n.childForFieldName('function')) ?? '');
      return m?.[1];
    };
    const stdio = (n: Node): boolean => {
      const t = n.text.replace(/\s+/g, '');
      return PY_STDIO_NAMES.has(t) || (t.endsWith('.fileno()') && PY_STDIO_NAMES.has(t.slice(0, -'.fileno()'.length)));
    };
    switch (node.type) {
      case 'none':
        return 'none';
      case 'parenthesized_expression': {
        const inner = node.namedChild(0);
        return inner ? this.keepValue(inner, at, depth + 1, kept, caller) : 'none';
      }
      case 'tuple':
      case 'list':
      case 'set': {
        let out: PyKeepArgument = 'none';
        for (const el of node.namedChildren) {
          if (!el || el.type === 'comment') continue;
          const name = named(el);
          if (name) kept.add(name);
          out = join(out, stdio(el) ? 'stdio-only' : name ? 'named' : el.type === 'list_splat' && el.namedChild(0) ? this.keepValue(el.namedChild(0)!, at, depth + 1, kept, caller) : 'other');
        }
        return out;
      }
      case 'call': {
        const fn = this.t.dotted(node.childForFieldName('function'));
        if (fn && ['list', 'tuple', 'set', 'frozenset', 'sorted'].includes(fn)) {
          const first = argsOf(node).positional[0];
          return first ? this.keepValue(first, at, depth + 1, kept, caller) : 'none';
        }
        if (stdio(node)) return 'stdio-only';
        const name = named(node);
        if (name) kept.add(name);
        return name ? 'named' : 'other';
      }
      case 'conditional_expression': {
        // `keep if keep else []`: either value.
        const a = node.namedChild(0);
        const b = node.namedChild(2);
        return a && b ? join(this.keepValue(a, at, depth + 1, kept, caller), this.keepValue(b, at, depth + 1, kept, caller)) : 'other';
      }
      case 'binary_operator': {
        const l = node.childForFieldName('left');
        const r = node.childForFieldName('right');
        return l && r ? join(this.keepValue(l, at, depth + 1, kept, caller), this.keepValue(r, at, depth + 1, kept, caller)) : 'other';
      }
      case 'identifier':
      case 'attribute': {
        if (stdio(node)) return 'stdio-only';
        const isSelf = node.type === 'attribute' && /^self\.\w+$/.test(node.text);
        if (node.type === 'attribute' && !isSelf) return 'other';
        // The last assignment before the call in the function, or (for `self.x`) any in the class.
        let owner: Node | null = at.parent;
        const ownerType = isSelf ? 'class_definition' : 'function_definition';
        while (owner && owner.type !== ownerType) owner = owner.parent;
        if (!owner) return 'other';
        let value: Node | null = null;
        const values: Node[] = [];
        for (const a of owner.descendantsOfType('assignment')) {
          if (!a || (!isSelf && a.startIndex > at.startIndex)) continue;
          if (a.childForFieldName('left')?.text === node.text) {
            value = a.childForFieldName('right');
            if (value) values.push(value);
          }
        }
        if (caller) {
          // Reading a keep condition: every value the attribute may hold, each read where it
          // is assigned; a parameter there is what the caller passes.
          if (isSelf) return values.length ? values.map((v) => this.keepValue(v, v, depth + 1, kept, caller)).reduce(join) : 'other';
          if (!value && node.type === 'identifier' && owner.type === 'function_definition' && parameterNames(owner, 'all').includes(node.text)) {
            caller.used = true;
            return 'named';
          }
        }
        return value ? this.keepValue(value, at, depth + 1, kept, caller) : 'other';
      }
      default:
        return stdio(node) ? 'stdio-only' : 'other';
    }
  }

  private pushProcessFork(
    at: RawCall,
    ctor: RawCall,
    kind: { api: string; starter: PyProcessStarter; method: string; literal?: Range },
    b: PyFactBase,
    forks: CallFacts<PyForkFact>,
  ): void {
    const api = at === ctor ? `${kind.api}()` : `${kind.api}.${at.method}()`;
    const fact: PyForkFact = { ...b, kind: 'py.fork', api, via: 'multiprocessing', startMethod: kind.method, child: 'continues' };
    // A pool used as a `with` item joins its helper threads when the block ends; one a function
    // returns (`return ProcessPoolExecutor(...)`) is the caller's to shut down, often with `with`.
    if (kind.starter.threadsAfter && !this.rec.withCalls.has(ctor.node.id) && !this.rec.returnedCalls.has(ctor.node.id)) fact.threadsAfter = true;
    // How to switch to forkserver in this file.
    if (kind.literal && kind.method === 'fork') fact.fix = { kind: 'literal', range: kind.literal };
    else if (kind.method === 'default') {
      if (kind.starter.contextKeyword === 'mp_context') {
        const ins = keywordInsert(argsOf(ctor.node).node, 'mp_context');
        if (ins) fact.fix = { kind: 'kwarg', ...ins };
      } else if (kind.starter.contextAttr && ctor.resolved && PY_PROCESS_STARTERS.has(ctor.resolved.name)) {
        const fnNode = ctor.node.childForFieldName('function');
        if (fnNode) fact.fix = { kind: 'callee', range: this.t.range(fnNode), attribute: kind.starter.contextAttr };
      }
    }
    this.rec.facts.push(fact);
    forks.push({ fact, call: at });
  }

  /**
   * A Thread/Process built where its `.start()` cannot be matched (`[Thread(...) for ...]`
   * then `for t in threads: t.start()`): when the same scope starts some object, the
   * constructor stands for the start.
   */
  fallbackStarts(forks: CallFacts<PyForkFact>): void {
    const unresolvedStarts = new Set<Scope>();
    for (const c of this.rec.calls) {
      if (c.method !== 'start' || !c.recv) continue;
      const ctor = this.receiverCtor(c);
      if (!ctor) unresolvedStarts.add(c.scope);
    }
    if (!unresolvedStarts.size) return;
    for (const c of this.rec.calls) {
      if (c.matched || !unresolvedStarts.has(c.scope)) continue;
      const k = this.ctorKind(c);
      if (!k) continue;
      const b = factBase(this.t.rangeOf(c.node, c.end), c.flags, c.scope);
      if (k.kind === 'thread' && k.starter.how === 'method' && k.starter.methods?.includes('start')) {
        this.rec.facts.push({ ...b, kind: 'py.thread-start', api: `${k.api}.start()`, note: k.starter.note, ...this.threadExtras(c, k.api) });
      } else if (k.kind === 'process' && k.starter.how === 'method') {
        this.pushProcessFork(c, c, k, b, forks);
      } else if (k.kind === 'unknown' && /^[A-Z]/.test(k.ctor.split('.').pop() ?? '') && !this.isAssignedToBinding(c)) {
        this.rec.facts.push({ ...b, kind: 'py.object-start', constructorName: k.ctor, origin: k.origin, method: 'start' });
      }
    }
  }

  private isAssignedToBinding(c: RawCall): boolean {
    for (let s: Scope | undefined = c.scope; s; s = s.parent) for (const list of s.bindings.values()) if (list.includes(c)) return true;
    const cls = classScope(c.scope);
    if (cls) for (const list of cls.bindings.values()) if (list.includes(c)) return true;
    return false;
  }

  /**
   * Decides, for each `os.fork()`-like call, what its child does and whether the parent
   * exits, from the `if` that tests the pid: the child's code is its branch, plus what
   * follows the `if` when the child branch falls through or the parent branch leaves.
   * Then marks forks and close-alls that run only in such a child, and close-alls that an
   * `exec*`/`_exit` follows in the same function.
   */
  childRegions(
    forks: CallFacts<PyForkFact>,
    execRecords: CallFacts<PyExecFact>,
    closeAlls: CallFacts<PyCloseAllFact>,
  ): void {
    /** Code that only a child runs (for forks nested in it), and code a child runs (for close-alls). */
    const execs = execRecords.map((e) => e.fact);
    const callOf = new Map(execRecords.map((e) => [e.fact, e.call]));
    /** The names the fork being read is guarded by (`if frk: pid = os.fork()`). */
    let flags: ReadonlySet<string> = new Set();
    /**
     * An exec/exit that surely runs when `r` runs: no branch between `r` and it but `if`s on
     * a name that guarded the fork (the child takes their first branch).
     */
    const surely = (e: PyExecFact, r: Range) => {
      const c = callOf.get(e);
      return !(c?.branches ?? []).some((b) => within(b, r) && !rangeEq(b, r) && !takenWithFork(c!.node, b.start, flags));
    };
    const exclusive: { scope: Scope; range: Range }[] = [];
    const shared: { scope: Scope; range: Range }[] = [];
    for (const { fact, call } of forks) {
      if (fact.via !== 'os') continue;
      const scope = call.scope;
      const callId = call.node.id;
      flags = forkFlags(call.node, scope.defNode?.childForFieldName('body'));
      let pidVar: string | undefined;
      for (const [v, id] of scope.pidVars ?? []) if (id === callId) pidVar = v;
      const test = this.rec.ifs.find(
        (r) =>
          r.scope === scope &&
          (('call' in r.subject && r.subject.call === callId) ||
            ('name' in r.subject && r.subject.name === pidVar && r.node.startIndex > call.node.startIndex)),
      );
      const mine = (f: PyFactBase, r: Range | undefined) => !!r && f.enclosingFunction === scope.fn && within(f.range, r);
      const rest: Range = { start: fact.range.end, end: scope.end };
      if (!test) {
        // Parent and child both run what follows.
        shared.push({ scope, range: rest });
        continue;
      }
      const childBranch = test.childWhenTrue ? test.consequence : test.alternative;
      const parentBranch = test.childWhenTrue ? test.alternative : test.consequence;
      const after: Range = { start: this.t.posEnd(test.node, test.end), end: scope.end };
      const parentExits = !!parentBranch && execs.some((e) => e.exits && mine(e, parentBranch) && surely(e, parentBranch));
      const parentLeaves = parentExits || (!!parentBranch && (scope.leaves ?? []).some((l) => within(l, parentBranch)));
      if (parentExits) fact.parentExits = true;
      const childLeaves = (r: Range) => execs.some((e) => mine(e, r)) || (scope.leaves ?? []).some((l) => within(l, r));
      // The child's code ends where a later fork of this function takes over (double fork).
      const nextFork = forks.find((o) => o.call.scope === scope && o.call.node.startIndex > call.node.startIndex);
      const cut = (r: Range): Range => (nextFork && before(nextFork.fact.range.start, r.end) && before(r.start, nextFork.fact.range.start) ? { start: r.start, end: nextFork.fact.range.start } : r);
      const regions: Range[] = [];
      if (childBranch) regions.push(cut(childBranch));
      if (!childBranch || !childLeaves(childBranch)) regions.push(cut(after));
      const first = execs
        .filter((e) => regions.some((r) => mine(e, r) && surely(e, r)))
        .sort((a, b) => (before(a.range.start, b.range.start) ? -1 : 1))[0];
      fact.child = !first ? 'continues' : first.exits ? 'exit' : 'exec';
      // A child that runs program code before it exits keeps running the program meanwhile.
      if (fact.child === 'exit' && first) {
        const exitCall = execRecords.find((e) => e.fact === first)?.call;
        const busy = this.rec.calls.some(
          (c) =>
            c.scope === scope &&
            c !== exitCall &&
            c.node.startIndex < (exitCall?.end ?? 0) &&
            regions.some((r) => within(this.t.rangeOf(c.node, c.end), r)),
        );
        if (busy) fact.child = 'continues';
      }
      if (childBranch) exclusive.push({ scope, range: childBranch });
      if (parentLeaves) exclusive.push({ scope, range: after });
      for (const r of regions) shared.push({ scope, range: r });
    }
    const inside = (list: { scope: Scope; range: Range }[], f: PyFactBase, scope: Scope) =>
      list.some((c) => c.scope === scope && within(f.range, c.range) && !rangeEq(f.range, c.range));
    for (const { fact, call } of forks) if (inside(exclusive, fact, call.scope)) fact.inChild = true;
    for (const { fact, call } of forks) {
      if (fact.via !== 'os' || !fact.parentExits || fact.inChild) continue;
      const second = forks.find((o) => o.call.scope === call.scope && o.fact.inChild && o.fact.parentExits && before(fact.range.end, o.fact.range.start));
      const setsid = this.rec.calls.some(
        (c) => c.scope === call.scope && !!c.resolved && PY_SETSID_CALLS.has(c.resolved.name) && c.node.startIndex > call.node.startIndex,
      );
      if (second && setsid) fact.daemonize = true;
    }
    for (const { fact, call } of closeAlls) {
      if (inside(shared, fact, call.scope) || inside(exclusive, fact, call.scope)) fact.inChild = true;
      // An exit in an `except` clause runs only when something failed: not "exec follows".
      fact.execFollows = execs.some((e) => !e.onError && e.enclosingFunction === call.scope.fn && before(fact.range.end, e.range.start));
    }
  }


  /**
   * The thread `start` starts is waited for before its function returns: the object is a `with`
   * item (a pool joins its threads when the block ends), or the same function later calls
   * `name.join()` / `name.shutdown()` (not `wait=False`) on every path the start is on.
   */
  private joinedBeforeReturn(start: RawCall, ctor: RawCall): boolean {
    if (this.rec.withCalls.has(ctor.node.id)) return true;
    const r = start.recv;
    if (!r || !('name' in r)) return false;
    if (this.joinedThroughList(start, r.name)) return true;
    return this.rec.calls.some((j) => {
      if (j.scope !== start.scope || !j.recv || !('name' in j.recv) || j.recv.name !== r.name) return false;
      if (!j.method || !PY_THREAD_JOINS.has(j.method) || j.node.startIndex < start.node.endIndex) return false;
      if (!j.branches.every((b) => start.branches.some((a) => rangeEq(a, b)))) return false;
      return this.receiverCtor(j) === ctor && waits(j);
    });
  }

  /**
   * The collect-then-join idiom: the thread kept in `name` is appended to a local list
   * (`threads.append(t)`) in the function that starts it, and later in that function, outside
   * any branch the start is not in, a `for x in threads:` loop calls `x.join()` (not
   * `shutdown(wait=False)`) at its top level.
   */
  private joinedThroughList(start: RawCall, name: string): boolean {
    const lists = new Set<string>();
    for (const a of this.rec.calls) {
      if (a.scope !== start.scope || a.method !== 'append' || !a.recv || !('name' in a.recv)) continue;
      const arg = argsOf(a.node).positional[0];
      if (arg?.type === 'identifier' && arg.text === name) lists.add(a.recv.name);
    }
    if (lists.size === 0) return false;
    return this.rec.calls.some((j) => {
      if (j.scope !== start.scope || !j.method || !PY_THREAD_JOINS.has(j.method) || !waits(j) || j.node.startIndex < start.node.endIndex) return false;
      if (!j.recv || !('name' in j.recv)) return false;
      // The join is a statement of the loop's own body: `for x in threads: x.join()`.
      const stmt = j.node.parent;
      const body = stmt?.type === 'expression_statement' ? stmt.parent : null;
      const loop = body?.type === 'block' ? body.parent : null;
      if (loop?.type !== 'for_statement') return false;
      const left = loop.childForFieldName('left');
      const right = loop.childForFieldName('right');
      if (left?.type !== 'identifier' || left.text !== j.recv.name || right?.type !== 'identifier' || !lists.has(right.text)) return false;
      const outside = j.branches.filter((b) => !(b.start.line === loop.startPosition.row && b.start.character === loop.startPosition.column));
      return outside.every((b) => start.branches.some((a) => rangeEq(a, b)));
    });
  }

  /** The methods of the class that join the thread `start` keeps in `self.<attr>` (`self._thread.join()`). */
  private joiningMethods(start: RawCall): string[] {
    const r = start.recv;
    const cls = start.scope.cls;
    if (!r || !('selfAttr' in r) || !cls) return [];
    const out = new Set<string>();
    for (const j of this.rec.calls) {
      if (j.scope.cls !== cls || j.scope.kind !== 'function' || !j.method || !PY_THREAD_JOINS.has(j.method)) continue;
      if (j.recv && 'selfAttr' in j.recv && j.recv.selfAttr === r.selfAttr && waits(j)) out.add(j.scope.fn);
    }
    return [...out].sort();
  }

  /**
   * `await loop.run_in_executor(self._pool, fn)`: the work is finished when the `await`
   * returns, so what is left of the start are the pool's idle workers, which end when a
   * method of the class shuts the pool in `self._pool` down — with any `wait`: idle workers
   * exit at once. The methods that do; none when the result is not awaited right there (the
   * work may still run) or the pool is not kept in `self`.
   */
  private executorShutdownMethods(start: RawCall): string[] {
    const cls = start.scope.cls;
    const pool = argsOf(start.node).positional[0];
    if (!cls || !pool || pool.type !== 'attribute' || pool.childForFieldName('object')?.text !== 'self') return [];
    const attr = pool.childForFieldName('attribute')?.text;
    if (!attr || !awaitedHere(start.node)) return [];
    const out = new Set<string>();
    for (const j of this.rec.calls) {
      if (j.scope.cls !== cls || j.scope.kind !== 'function' || j.method !== 'shutdown') continue;
      if (j.recv && 'selfAttr' in j.recv && j.recv.selfAttr === attr) out.add(j.scope.fn);
    }
    return [...out].sort();
  }

  /** Target, nativeness and constructor text of a thread start made by `ctor`. */
  private threadExtras(ctor: RawCall, api: string): Partial<PyThreadStartFact> {
    const out: Partial<PyThreadStartFact> = {};
    if (ctor.resolved?.native) out.native = true;
    const t = PY_THREAD_TARGETS.get(api);
    if (t) {
      const a = argsOf(ctor.node);
      const v = (t.keyword ? a.keywords.get(t.keyword) : undefined) ?? a.positional[t.index];
      const d = this.t.dotted(v ?? null);
      if (d) {
        const r = resolve(d, ctor.scope);
        out.target = { name: r.name, origin: r.origin };
      }
    }
    const fnNode = ctor.node.childForFieldName('function');
    if (fnNode && (fnNode.type === 'identifier' || fnNode.type === 'attribute')) out.constructorCallee = this.t.range(fnNode);
    return out;
  }


  /** One `py.close-all` per loop that closes each descriptor of a range (`for fd in range(...): os.close(fd)`). */
  emitLoopCloses(closeAlls: CallFacts<PyCloseAllFact>): void {
    for (const { call, loop } of this.rec.loopCloses) {
      if (loop.reported || !call.resolved || !PY_CLOSE_ONE_CALLS.has(call.resolved.name)) continue;
      loop.reported = true;
      const keepParameter = this.keepParameterOf(call.scope);
      const fact: PyCloseAllFact = {
        ...factBase(loop.range, call.flags, call.scope),
        kind: 'py.close-all',
        api: `${call.resolved.name}() in a loop`,
        keepList: !keepParameter && loop.keep,
        execFollows: false,
      };
      if (keepParameter) fact.keepParameter = keepParameter;
      else if (loop.keep) {
        // A keep condition we can read spares only what it names: a close-all for the rest.
        const read = this.loopKeep(loop);
        if (read) {
          fact.keepList = false;
          fact.keepNames = read.names;
          if (read.fromCaller) fact.keepFromCaller = true;
        }
      }
      this.rec.facts.push(fact);
      closeAlls.push({ fact, call });
    }
  }

  emitCaches(): void {
    for (const p of this.rec.pendingCaches) {
      const idx = this.rec.callIndex.get(p.callId);
      if (idx === undefined) continue;
      const call = this.rec.calls[idx];
      const name = call.resolved?.name;
      const what = name ? PY_FD_SOURCES.get(name) : undefined;
      if (!what || !call.resolved || call.resolved.origin === 'local') continue;
      this.rec.facts.push({
        ...factBase(this.t.rangeOf(call.node, call.end), call.flags, call.scope),
        kind: 'py.fd-cache',
        name: p.name,
        storage: p.storage,
        api: `${name}()`,
        what,
        lazy: p.lazy,
        rightHandSide: this.t.exact ? this.t.src.slice(call.node.startIndex, call.end) : call.node.text,
        topStatementEnd: p.topStatementEnd,
      });
    }
  }

  /**
   * Logging handlers registered on a logger (`logger.addHandler(h)` with `h = FileHandler(...)`
   * earlier in the scope, or the handler built in the call): the logging module keeps them,
   * so their descriptors are cached for the life of the process. One already cached in
   * module, class or `global` storage is reported as such.
   */
  emitRegisteredHandlers(): void {
    const cached = new Set(this.rec.pendingCaches.map((p) => p.callId));
    const done = new Set<number>();
    for (const c of this.rec.calls) {
      if (!c.method || !PY_HANDLER_REGISTRATIONS.has(c.method)) continue;
      const arg = argsOf(c.node).positional[0];
      let handler: RawCall | undefined;
      let name: string | undefined;
      if (arg?.type === 'call') {
        const idx = this.rec.callIndex.get(arg.id);
        handler = idx === undefined ? undefined : this.rec.calls[idx];
      } else if (arg?.type === 'identifier') {
        name = arg.text;
        handler = this.receiverCtor({ ...c, recv: { name } });
        if (handler && handler.scope !== c.scope) handler = undefined;
      }
      const api = handler?.resolved?.name;
      if (!handler || !api || handler.resolved!.origin === 'local' || !PY_LOG_HANDLER_SOURCES.has(api)) continue;
      if (cached.has(handler.node.id) || done.has(handler.node.id)) continue;
      done.add(handler.node.id);
      const range = this.t.rangeOf(handler.node, handler.end);
      this.rec.facts.push({
        ...factBase(range, handler.flags, handler.scope),
        kind: 'py.fd-cache',
        name: name ?? api.slice(api.lastIndexOf('.') + 1),
        storage: 'registry',
        api: `${api}()`,
        what: PY_FD_SOURCES.get(api)!,
        lazy: handler.scope.kind === 'function',
        rightHandSide: this.t.exact ? this.t.src.slice(handler.node.startIndex, handler.end) : handler.node.text,
        topStatementEnd: range.end,
      });
    }
  }

  /**
   * Descriptor-owning objects pooled in a container that outlives the call that fills it
   * (`files[key] = Store(path)` where `Store.__init__` keeps `self._f = open(...)` and `files`
   * belongs to an enclosing function or the module), in a function that reads the process id
   * once, when it is defined (`def factory(pid=os.getpid())`), and compares no process id
   * afterwards: the pool was meant per process, but a forked child keeps the parent's.
   */
  emitPooledCaches(): void {
    // The pool must be filled in a function whose default reads the process id (`pidDefault`):
    // a file that never spells `getpid` has none, and its calls need not be looked at.
    if (!this.t.src.includes('getpid')) return;
    for (const c of this.rec.calls) {
      const assign = c.node.parent;
      if (c.scope.kind !== 'function' || assign?.type !== 'assignment' || assign.childForFieldName('right')?.id !== c.node.id) continue;
      const left = assign.childForFieldName('left');
      const container = left?.type === 'subscript' ? left.childForFieldName('value') : null;
      if (container?.type !== 'identifier' || !c.resolved || c.resolved.origin !== 'local') continue;
      const owned = this.ownedDescriptor(c.resolved.name);
      if (!owned) continue;
      // The container is not the function's own local: an enclosing function's (a closure) or the module's.
      const own = c.scope.defNode;
      if (!own || this.assigns(own, container.text)) continue;
      let outer: Node | null = own.parent;
      while (outer && !(outer.type === 'function_definition' && this.assigns(outer, container.text))) outer = outer.parent;
      if (!outer) continue;
      const pid = this.pidDefault(outer);
      if (!pid || this.comparesPid(outer)) continue;
      const range = this.t.rangeOf(c.node, c.end);
      this.rec.facts.push({
        ...factBase(range, c.flags, c.scope),
        kind: 'py.fd-cache',
        name: container.text,
        storage: 'pool',
        api: `${c.resolved.name}()`,
        what: `${owned} held by ${c.resolved.name.slice(c.resolved.name.lastIndexOf('.') + 1)} objects`,
        lazy: true,
        rightHandSide: this.t.exact ? this.t.src.slice(c.node.startIndex, c.end) : c.node.text,
        topStatementEnd: range.end,
        pidReadOnce: this.t.range(pid),
      });
    }
  }

  /** What descriptor a class of this file keeps from its `__init__` (`self._f = open(...)`). */
  private ownedDescriptor(cls: string): string | undefined {
    for (const c of this.rec.calls) {
      if (c.scope.fn !== `${cls}.__init__` || !c.resolved || c.resolved.origin === 'local') continue;
      const what = PY_FD_SOURCES.get(c.resolved.name);
      const assign = c.node.parent;
      if (what && assign?.type === 'assignment' && /^self\.\w+$/.test(assign.childForFieldName('left')?.text ?? '')) return what;
    }
    return undefined;
  }

  /** `name = ...` directly in `def` (not in a function nested in it). */
  private assigns(def: Node, name: string): boolean {
    for (const a of def.descendantsOfType('assignment')) {
      if (!a || a.childForFieldName('left')?.text !== name) continue;
      let fn: Node | null = a.parent;
      while (fn && fn.type !== 'function_definition') fn = fn.parent;
      if (fn?.id === def.id) return true;
    }
    return false;
  }

  /** A parameter default that reads the process id when the function is defined (`pid=os.getpid()`). */
  private pidDefault(def: Node): Node | undefined {
    for (const p of def.childForFieldName('parameters')?.namedChildren ?? []) {
      const v = p?.type === 'default_parameter' || p?.type === 'typed_default_parameter' ? p.childForFieldName('value') : null;
      if (v?.type === 'call' && /(^|\.)getpid$/.test(this.t.dotted(v.childForFieldName('function')) ?? '')) return v;
    }
    return undefined;
  }

  /** A comparison that involves a process id anywhere in `def` (`if self._pid != os.getpid():`). */
  private comparesPid(def: Node): boolean {
    return def.descendantsOfType('comparison_operator').some((n) => !!n && /pid/i.test(n.text));
  }

  emitRevalidations(): void {
    for (const s of this.rec.scopes) {
      if (!s.usesIdentityFields || !s.fstatCalls) continue;
      const names = new Set<string>();
      for (const c of s.fstatCalls) {
        if (!c.resolved || !PY_FSTAT_CALLS.has(c.resolved.name)) continue;
        const arg = argsOf(c.node).positional[0];
        if (arg) for (const id of identifiersIn(arg)) if (id !== 'self' && id !== 'cls') names.add(id);
        // `os.fstat(self._fd)`: the attribute name is what identifies the cache.
        if (arg) for (const part of arg.text.split(/[^A-Za-z0-9_]+/)) if (part && part !== 'self' && part !== 'cls') names.add(part);
      }
      if (!names.size) continue;
      const first = s.fstatCalls[0];
      this.rec.facts.push({ ...factBase(this.t.rangeOf(first.node, first.end), first.flags, s), kind: 'py.fd-revalidate', names: [...names].sort() });
    }
  }
}
