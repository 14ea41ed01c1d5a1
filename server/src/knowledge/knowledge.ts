/**
 * The knowledge an analysis runs with: the shipped tables of this folder merged with the
 * models a user declared in the `knowledge` section of `.hazard-lens.json`
 * (`user-models.ts`). User entries add to the built-in tables; async-signal-safety verdicts
 * replace the built-in verdict for the same function.
 *
 * A {@link Knowledge} is immutable and travels by value: the engine puts it in the
 * configuration, the per-file analyses get it through the rule `FileContext` and the fact
 * extractors, the program models through `ProgramSettings`. Worker threads are sent the
 * user's section (plain data) and merge it again, so they see the same tables. Its
 * `fingerprint` ('' for the built-ins alone) is part of every analysis' content hash, so a
 * changed model re-analyses the files.
 */
import { createHash } from 'node:crypto';
import { CONSUMERS, OPENERS as C_OPENERS, OUT_ARRAY_OPENERS, RELEASERS as C_RELEASERS, type OpenerSpec as COpenerSpec } from './c-handles';
import { ASYNC_SIGNAL_SAFE, FORK_CALLS, THREAD_STARTS, UNSAFE_IN_CHILD, type ForkKind, type ThreadStartSpec } from './c-process';
import { OWNER_CALLS, OWNER_METHODS, PY_OPENERS, type PyOpener } from './python-handles';
import { PY_HEARTBEAT_CALLS, PY_SLEEP_CALLS, PY_WAIT_METHODS } from './python-heartbeat';
import { PY_FORK_CALLS, PY_PROCESS_STARTERS, PY_THREAD_STARTERS, type PyProcessStarter, type PyThreadStarter } from './python-process';
import { PY_DEPENDENCY_MODELS } from './python-dependency-models';
import { BLOCKING_APIS, HEARTBEAT_LIBRARIES, type BlockingApi, type HeartbeatLibrary, type HotContext } from './typescript-heartbeat';
import { FS_ARGUMENT_EFFECTS, FS_MODULE_SPECIFIERS, HANDLE_METHOD_OPENERS, HANDLE_METHODS, OPENERS as TS_OPENERS, type OpenerSpec as TsOpenerSpec } from './typescript-handles';
import { isEmptyKnowledge, type UserKnowledge } from './user-models';
import { escapeRegExp } from '../text/regexp';

/** Where a user's model came from, in messages ("declared in .hazard-lens.json"). */
export const USER_MODEL_SOURCE = 'declared in .hazard-lens.json';

export interface CKnowledge {
  /** Calls that return a handle (`c-handles.ts` OPENERS). */
  openers: ReadonlyMap<string, COpenerSpec>;
  /** Matches an opener call in the text (global: reset `lastIndex` before use). */
  openerPattern: RegExp;
  /** Calls that release their first argument. */
  releasers: ReadonlySet<string>;
  /** Calls that take over the handle at an argument index. */
  consumers: ReadonlyMap<string, number>;
  threadStarts: ReadonlyMap<string, ThreadStartSpec>;
  forkCalls: ReadonlyMap<string, ForkKind>;
  /** Async-signal-safe functions. */
  signalSafe: ReadonlySet<string>;
  /** Functions that are not, with the reason (an `UnsafeReason` key or the user's words). */
  signalUnsafe: ReadonlyMap<string, string>;
  /** Workspace functions declared to run in a fork child before exec (the user's models). */
  forkChildFunctions: ReadonlySet<string>;
}

export interface PythonKnowledge {
  /** Openers by qualified name. */
  openers: ReadonlyMap<string, PyOpener>;
  /** Openers by method name (any receiver that is not a module). */
  methodOpeners: ReadonlyMap<string, PyOpener>;
  /** Last segments of the opener names: a file without any of them opens nothing. */
  openerWords: readonly string[];
  /** Matches one of {@link openerWords}. */
  quickCheck: RegExp;
  /** Functions that release the handle passed to them. */
  releaseCalls: ReadonlySet<string>;
  ownerCalls: ReadonlySet<string>;
  ownerMethods: ReadonlySet<string>;
  threadStarters: ReadonlyMap<string, PyThreadStarter>;
  forkCalls: ReadonlyMap<string, { pidIndex: number }>;
  /** Objects that start worker processes with multiprocessing's start method (built-in, shipped dependency models, the user's). */
  processStarters: ReadonlyMap<string, PyProcessStarter>;
  heartbeatCalls: ReadonlySet<string>;
  sleepCalls: ReadonlySet<string>;
  waitMethods: ReadonlySet<string>;
}

export interface TypeScriptKnowledge {
  /** Import specifiers of the modules whose handles are followed, to the module they load. */
  moduleSpecifiers: Readonly<Record<string, string>>;
  /** A file that names none of those modules opens nothing. */
  specifierPattern: RegExp;
  /** A file that names no opener opens nothing. */
  openerNamePattern: RegExp;
  openers: readonly TsOpenerSpec[];
  /** Every property name that can open something. */
  openerNames: ReadonlySet<string>;
  /** What passing a handle to a module function does, by `module.name`. */
  argumentEffects: Readonly<Record<string, 'release' | 'escape'>>;
  /** What a method called on a handle does. */
  handleMethods: Readonly<Record<string, 'release' | 'handoff' | 'chain'>>;
  /** Libraries whose connections keep themselves alive on the event loop (built-in rows, then the user's). */
  heartbeatLibraries: readonly HeartbeatLibrary[];
  /** Calls that hold the event loop, by the name they are called with (several modules may share one). */
  blockingByName: ReadonlyMap<string, readonly BlockingApi[]>;
  /** Cheap textual pre-check for the blocking calls and busy waits of a file. */
  blockingPattern: RegExp;
  /** The user's heartbeat-sending calls: a timer whose callback calls one is a heartbeat (undefined: none). */
  pingPattern?: RegExp;
  /** Calls that start a worker thread running a script, beyond `new Worker()` of `worker_threads` (the user's). */
  threadStarters: readonly TsThreadStarter[];
  /** Methods that register a callback run again and again, beyond the built-in ones (the user's). */
  handlerMethods: ReadonlyMap<string, readonly { context: HotContext; module?: string }[]>;
}

/** A user's call that starts a worker thread: `module`'s export `name`, constructed or called, with the script at `scriptArgument`. */
export interface TsThreadStarter {
  module: string;
  name: string;
  how: 'new' | 'call';
  scriptArgument: number;
}

export interface Knowledge {
  /** '' for the built-in tables alone; otherwise a hash of the user's models. */
  readonly fingerprint: string;
  /** The user's section as validated (plain data: what worker threads are sent). */
  readonly user: UserKnowledge;
  readonly c: CKnowledge;
  readonly python: PythonKnowledge;
  readonly typescript: TypeScriptKnowledge;
  /** Serialised (evaluation cache slots, logs), a knowledge is its fingerprint. */
  toJSON(): { fingerprint: string };
}


function lastSegment(q: string): string {
  return q.slice(q.lastIndexOf('.') + 1);
}

function build(user: UserKnowledge, fingerprint: string): Knowledge {
  // ---- C
  const c = user.c ?? {};
  const cOpeners = new Map(C_OPENERS);
  const cReleasers = new Set(C_RELEASERS);
  const consumers = new Map(CONSUMERS);
  for (const o of c.openers ?? []) {
    cOpeners.set(o.name, { release: o.releasedBy[0], failure: o.failure ?? 'null' });
    for (const r of o.releasedBy) cReleasers.add(r);
  }
  for (const r of c.releasers ?? []) cReleasers.add(r.name);
  for (const o of c.owners ?? []) consumers.set(o.name, o.argument ?? 0);
  const threadStarts = new Map(THREAD_STARTS);
  for (const t of c.threadStarters ?? []) threadStarts.set(t.name, { routineArg: t.routineArgument, library: t.library ?? USER_MODEL_SOURCE });
  const forkCalls = new Map(FORK_CALLS);
  for (const p of c.processStarters ?? []) forkCalls.set(p.name, p.kind ?? 'fork');
  const signalSafe = new Set(ASYNC_SIGNAL_SAFE);
  const signalUnsafe = new Map<string, string>(UNSAFE_IN_CHILD);
  for (const v of c.signalSafety ?? []) {
    if (v.verdict === 'safe') {
      signalSafe.add(v.name);
      signalUnsafe.delete(v.name);
    } else {
      signalSafe.delete(v.name);
      signalUnsafe.set(v.name, v.reason ?? `is declared not async-signal-safe in .hazard-lens.json`);
    }
  }

  // ---- Python
  const py = user.python ?? {};
  const pyOpeners = new Map(PY_OPENERS);
  const methodOpeners = new Map<string, PyOpener>();
  for (const o of py.openers ?? []) {
    const opener: PyOpener = { kind: 'file', withFix: o.contextManager ?? false, releaseMethods: new Set(o.releaseMethods ?? ['close']) };
    if (o.name !== undefined) pyOpeners.set(o.name, opener);
    else if (o.method !== undefined) methodOpeners.set(o.method, opener);
  }
  const openerWords = [...new Set([...[...pyOpeners.keys()].map(lastSegment), ...methodOpeners.keys()])];
  const releaseCalls = new Set((py.releasers ?? []).map((r) => r.name));
  const ownerCalls = new Set(OWNER_CALLS);
  const ownerMethods = new Set(OWNER_METHODS);
  for (const o of py.owners ?? []) {
    if (o.name !== undefined) ownerCalls.add(o.name);
    else if (o.method !== undefined) ownerMethods.add(o.method);
  }
  const threadStarters = new Map(PY_THREAD_STARTERS);
  for (const t of py.threadStarters ?? []) {
    const how = t.how ?? 'call';
    threadStarters.set(t.name, { how, methods: how === 'method' ? (t.methods ?? ['start']) : undefined, note: `starts a thread (${USER_MODEL_SOURCE})` });
  }
  const pyForkCalls = new Map(PY_FORK_CALLS);
  const pyProcessStarters = new Map(PY_PROCESS_STARTERS);
  // The shipped models of dependencies first, then the user's (same form, `user-models.ts`).
  for (const p of [...(PY_DEPENDENCY_MODELS.processStarters ?? []), ...(py.processStarters ?? [])]) {
    const how = p.how ?? 'fork';
    if (how === 'fork') pyForkCalls.set(p.name, { pidIndex: -1 });
    else pyProcessStarters.set(p.name, how === 'ctor' ? { how } : { how, methods: p.methods ?? ['start'] });
  }
  const heartbeatCalls = new Set(PY_HEARTBEAT_CALLS);
  const sleepCalls = new Set(PY_SLEEP_CALLS);
  const waitMethods = new Set(PY_WAIT_METHODS);
  for (const k of py.keepAlive ?? []) {
    if (k.role === 'ping') heartbeatCalls.add(lastSegment(k.name ?? k.method ?? ''));
    else if (k.name !== undefined) sleepCalls.add(k.name);
    else if (k.method !== undefined) waitMethods.add(k.method);
  }

  // ---- TypeScript / JavaScript
  const ts = user.typescript ?? {};
  const moduleOf = (specifier: string) => FS_MODULE_SPECIFIERS[specifier] ?? specifier;
  const moduleSpecifiers: Record<string, string> = { ...FS_MODULE_SPECIFIERS };
  const tsOpeners: TsOpenerSpec[] = [...TS_OPENERS];
  const handleMethods: Record<string, 'release' | 'handoff' | 'chain'> = { ...HANDLE_METHODS };
  const argumentEffects: Record<string, 'release' | 'escape'> = { ...FS_ARGUMENT_EFFECTS };
  const declareModule = (specifier: string) => {
    if (!Object.hasOwn(moduleSpecifiers, specifier)) moduleSpecifiers[specifier] = specifier;
  };
  for (const o of ts.openers ?? []) {
    declareModule(o.module);
    const style = o.returns === 'promise' ? 'awaited' : o.returns === 'callback' ? 'callback' : 'value';
    tsOpeners.push({ module: moduleOf(o.module), name: o.export, kind: 'object', style });
    for (const m of o.releaseMethods ?? ['close']) handleMethods[m] = 'release';
  }
  for (const r of ts.releasers ?? []) {
    declareModule(r.module);
    argumentEffects[`${moduleOf(r.module)}.${r.export}`] = 'release';
  }
  for (const o of ts.owners ?? []) {
    declareModule(o.module);
    argumentEffects[`${moduleOf(o.module)}.${o.export}`] = 'escape';
  }
  const openerNames = new Set([...tsOpeners.map((o) => o.name), ...HANDLE_METHOD_OPENERS.map((o) => o.method)]);
  const heartbeatLibraries: HeartbeatLibrary[] = [...HEARTBEAT_LIBRARIES];
  const pings: string[] = [];
  for (const k of ts.keepAlive ?? []) {
    if (k.role === 'ping') {
      pings.push(k.export);
      continue;
    }
    const how = k.how ?? 'call';
    heartbeatLibraries.push({
      module: k.module,
      ...(how === 'call' ? { calls: [k.export] } : how === 'new' ? { ctors: [k.export] } : { members: [k.export] }),
      note: k.note ?? `keep-alive ${USER_MODEL_SOURCE}`,
      disabledBy: k.disabledBy,
    });
  }
  const blockingByName = new Map<string, BlockingApi[]>();
  for (const b of BLOCKING_APIS) if (b.module !== 'Atomics') blockingByName.set(b.name, [b]);
  for (const b of ts.blocking ?? []) {
    const api: BlockingApi = { module: b.module, name: b.export, category: b.category ?? 'fs', declared: b.how ?? 'call' };
    blockingByName.set(b.export, [...(blockingByName.get(b.export) ?? []), api]);
  }
  const handlerMethods = new Map<string, { context: HotContext; module?: string }[]>();
  for (const h of ts.handlers ?? []) handlerMethods.set(h.method, [...(handlerMethods.get(h.method) ?? []), { context: h.context, module: h.module }]);

  return {
    fingerprint,
    user,
    c: {
      openers: cOpeners,
      openerPattern: new RegExp(`\\b(?:${[...cOpeners.keys(), ...OUT_ARRAY_OPENERS.keys()].map(escapeRegExp).join('|')})\\s*\\(`, 'g'),
      releasers: cReleasers,
      consumers,
      threadStarts,
      forkCalls,
      signalSafe,
      signalUnsafe,
      forkChildFunctions: new Set((c.forkChildFunctions ?? []).map((f) => f.name)),
    },
    python: {
      openers: pyOpeners,
      methodOpeners,
      openerWords,
      quickCheck: new RegExp(`\\b(?:${openerWords.map(escapeRegExp).join('|')})\\b`),
      releaseCalls,
      ownerCalls,
      ownerMethods,
      threadStarters,
      forkCalls: pyForkCalls,
      processStarters: pyProcessStarters,
      heartbeatCalls,
      sleepCalls,
      waitMethods,
    },
    typescript: {
      moduleSpecifiers,
      specifierPattern: new RegExp(`['"\`](?:${Object.keys(moduleSpecifiers).map(escapeRegExp).join('|')})['"\`]`),
      openerNamePattern: new RegExp(`\\b(?:${[...openerNames].map(escapeRegExp).join('|')})\\b`),
      openers: tsOpeners,
      openerNames,
      argumentEffects,
      handleMethods,
      heartbeatLibraries,
      blockingByName,
      blockingPattern: new RegExp(`\\b(?:${[...blockingByName.keys()].map(escapeRegExp).join('|')})\\b|Atomics\\.wait|Date\\.now|performance\\.now|new Date|hrtime`),
      pingPattern: pings.length ? new RegExp(`\\b(?:${pings.map(escapeRegExp).join('|')})\\s*\\(`) : undefined,
      threadStarters: (ts.threadStarters ?? []).map((t) => ({ module: t.module, name: t.export, how: t.how ?? 'new', scriptArgument: t.scriptArgument ?? 0 })),
      handlerMethods,
    },
    toJSON: () => ({ fingerprint }),
  };
}

/** The shipped tables alone. */
export const BUILTIN_KNOWLEDGE: Knowledge = build({}, '');

/** Recently merged knowledges by fingerprint: immutable values, so sharing them is safe. */
const MERGED = new Map<string, Knowledge>();
const MERGED_LIMIT = 16;

/** The fingerprint of a user's section ('' when it declares nothing). */
export function knowledgeFingerprint(user: UserKnowledge | undefined): string {
  if (!user || isEmptyKnowledge(user)) return '';
  return createHash('sha256').update(JSON.stringify(user)).digest('hex').slice(0, 32);
}

/**
 * The built-in tables with the user's models added (`user` must have been validated by
 * `parseUserKnowledge`). Equal sections give the same object.
 */
export function mergeKnowledge(user: UserKnowledge | undefined): Knowledge {
  const fingerprint = knowledgeFingerprint(user);
  if (fingerprint === '') return BUILTIN_KNOWLEDGE;
  const hit = MERGED.get(fingerprint);
  if (hit) return hit;
  const merged = build(user!, fingerprint);
  MERGED.set(fingerprint, merged);
  if (MERGED.size > MERGED_LIMIT) MERGED.delete(MERGED.keys().next().value!);
  return merged;
}
