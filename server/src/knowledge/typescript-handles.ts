/**
 * What Node's file APIs do to a handle, in one table: which calls open one, which release
 * it, which hand it on to something that will release it, and which merely use it.
 * The analyser (`handles.ts`) and the fixer (`fix.ts`) read these tables; nothing else in
 * the TypeScript front end names an `fs` function.
 */

/**
 * The module a binding refers to, after `node:` prefixes and `fs.promises` are folded: Node's
 * file system, or a module whose openers the user declared in `.hazard-lens.json` (`knowledge.ts`).
 */
export type FsModule = 'fs' | 'fs/promises' | (string & {});

/**
 * Import specifiers that load Node's file-system module, or a package that is a drop-in
 * copy of it: `graceful-fs` has the same functions (it queues opens on EMFILE and retries),
 * so its descriptors and streams are owned the same way (npm's write-file-atomic opens
 * through it).
 */
export const FS_MODULE_SPECIFIERS: Readonly<Record<string, FsModule>> = {
  fs: 'fs',
  'node:fs': 'fs',
  'fs/promises': 'fs/promises',
  'node:fs/promises': 'fs/promises',
  'graceful-fs': 'fs',
};

/** Cheap textual pre-check: a file that never names one of those modules cannot open a handle. */
export const FS_SPECIFIER_PATTERN = new RegExp(`['"\`](?:${Object.keys(FS_MODULE_SPECIFIERS).join('|')})['"\`]`);

/**
 * Second pre-check: no opener name anywhere means nothing to track (aliases still name it in
 * the import). The analysers read these through `knowledge.ts` (`TypeScriptKnowledge`), which
 * adds the modules and openers of the user's models; the constants here are the built-in view.
 */
export const OPENER_NAME_PATTERN = /\b(?:openSync|open|createReadStream|createWriteStream)\b/;

/** Member of the `fs` namespace that is itself the promises namespace (`fs.promises`). */
export const FS_PROMISES_MEMBER = 'promises';

/** `object`: a handle from a module the user declared, released by the methods they named. */
export type HandleKind = 'fd' | 'filehandle' | 'read-stream' | 'write-stream' | 'object';

/**
 * How the handle reaches the program:
 * - `value`: the call returns it (`const fd = fs.openSync(p)`, `createReadStream`);
 * - `awaited`: the call returns a promise of it (`await fsp.open(p)`, or `.then(fh => …)`);
 * - `callback`: it arrives as the second parameter of the last-argument callback
 *   (`fs.open(p, 'r', (err, fd) => …)`).
 */
export type OpenerStyle = 'value' | 'awaited' | 'callback';

export interface OpenerSpec {
  module: FsModule;
  name: string;
  kind: HandleKind;
  style: OpenerStyle;
}

/** Module functions that produce a handle the caller owns. */
export const OPENERS: readonly OpenerSpec[] = [
  { module: 'fs', name: 'openSync', kind: 'fd', style: 'value' },
  { module: 'fs', name: 'open', kind: 'fd', style: 'callback' },
  { module: 'fs/promises', name: 'open', kind: 'filehandle', style: 'awaited' },
  { module: 'fs', name: 'createReadStream', kind: 'read-stream', style: 'value' },
  { module: 'fs', name: 'createWriteStream', kind: 'write-stream', style: 'value' },
];

/** Methods of an owned handle that produce a new owned handle (and take over the receiver). */
export const HANDLE_METHOD_OPENERS: readonly { on: HandleKind; method: string; kind: HandleKind }[] = [
  { on: 'filehandle', method: 'createReadStream', kind: 'read-stream' },
  { on: 'filehandle', method: 'createWriteStream', kind: 'write-stream' },
];

/** Every property name that can open something; used to pre-filter calls during the walk. */
export const OPENER_NAMES: ReadonlySet<string> = new Set([
  ...OPENERS.map((o) => o.name),
  ...HANDLE_METHOD_OPENERS.map((o) => o.method),
]);

export function findOpener(module: FsModule, name: string): OpenerSpec | undefined {
  return OPENERS.find((o) => o.module === module && o.name === name);
}

/**
 * What passing a handle as an argument to a module function does, by (module, name).
 * `release`: closes it (argument 0 only). `escape`: something else now owns it
 * (`createReadStream(null, { fd })` closes the fd when the stream ends).
 * Module functions not listed only use the handle (`readSync(fd, …)`, `fstat`,
 * `writeFileSync(fd, …)`, `fsp.readFile(fh)`): they never close what they are given.
 */
export const FS_ARGUMENT_EFFECTS: Readonly<Record<string, 'release' | 'escape'>> = {
  'fs.closeSync': 'release',
  'fs.close': 'release',
  'fs.createReadStream': 'escape',
  'fs.createWriteStream': 'escape',
};

/**
 * Methods called on the handle itself.
 * - release: ends the handle's life now (or arranges it: `end()` closes a write stream
 *   once its buffer is flushed).
 * - handoff: the handle is now consumed by something that releases it at its end.
 *   NOTE: a read stream that is piped, resumed or read through `'data'`/`'readable'`
 *   listeners closes its descriptor itself when it ends (`autoClose` defaults to true), so
 *   we count consumption as handing the stream on. What happens when the *destination*
 *   fails first is the business of the separate `stream-pipe-leak` rule.
 * - chain: returns the receiver, so the call's value is still the handle (`.on(…).pipe(…)`).
 */
export const HANDLE_METHODS: Readonly<Record<string, 'release' | 'handoff' | 'chain'>> = {
  close: 'release',
  destroy: 'release',
  end: 'release',
  pipe: 'handoff',
  resume: 'handoff',
  createReadStream: 'handoff',
  createWriteStream: 'handoff',
  // FileHandle.readLines() reads through a stream that closes the handle at its end (the
  // Node documentation's own example never calls close()).
  readLines: 'handoff',
  on: 'chain',
  once: 'chain',
  addListener: 'chain',
  prependListener: 'chain',
  prependOnceListener: 'chain',
  off: 'chain',
  removeListener: 'chain',
  setEncoding: 'chain',
  setDefaultEncoding: 'chain',
  pause: 'chain',
  cork: 'chain',
  uncork: 'chain',
};

/**
 * Calls that do not throw for I/O reasons: a stream opens its file asynchronously and
 * reports failure through its 'error' event, so creating a second stream right after a
 * first one does not put the first at risk.
 */
export const ASYNC_ERROR_CALLS: ReadonlySet<string> = new Set(['createReadStream', 'createWriteStream']);

/**
 * Calls treated as not throwing between an open and its release (callee text, or a
 * receiver with `.*`). They can only fail on arguments a type-checked program does not
 * pass, and counting them would report a "leak on exception" after nearly every open.
 */
export const NON_THROWING_CALLEES: readonly string[] = [
  'Buffer.alloc',
  'Buffer.allocUnsafe',
  'Buffer.from',
  'Buffer.concat',
  'Buffer.byteLength',
  'Buffer.isBuffer',
  'Math.*',
  'Date.now',
  'Number.*',
  'String',
  'Number',
  'Boolean',
  'Array.isArray',
  'Object.keys',
  'Object.values',
  'Object.entries',
  'console.*',
  'path.*',
  'crypto.randomUUID',
  'zlib.createGzip',
  'zlib.createGunzip',
  'zlib.createDeflate',
  'zlib.createInflate',
  'zlib.createUnzip',
  'zlib.createBrotliCompress',
  'zlib.createBrotliDecompress',
];

/** Listening to these events starts the flow of a readable: the stream is consumed. */
export const CONSUMING_EVENTS: ReadonlySet<string> = new Set(['data', 'readable']);

/** Listener-registering methods, checked for {@link CONSUMING_EVENTS}. */
export const LISTENER_METHODS: ReadonlySet<string> = new Set(['on', 'once', 'addListener', 'prependListener', 'prependOnceListener']);

/**
 * Callees that look at a value and keep no reference to it, matched on the callee text
 * (`console.log`) or, with a trailing `.*`, on its receiver (`console.*`). Anything not
 * listed, not an fs function and not a function of the same file is assumed to take
 * ownership (see `handles.ts` for why).
 */
export const NON_OWNING_CALLEES: readonly string[] = [
  'console.*',
  'assert',
  'assert.*',
  'expect',
  'String',
  'Number',
  'Boolean',
  'isNaN',
  'isFinite',
  'Number.*',
  'JSON.stringify',
  'util.inspect',
  'util.format',
  'util.types.*',
  // stream.finished only watches the stream; the caller still owns it.
  'finished',
  'stream.finished',
  'Object.keys',
  'Array.isArray',
];

/**
 * Methods that call their callback before returning; a closure passed to them does not
 * outlive the statement, so what it captures is not handed on.
 */
export const SYNC_CALLBACK_METHODS: ReadonlySet<string> = new Set([
  'forEach',
  'map',
  'filter',
  'some',
  'every',
  'find',
  'findIndex',
  'findLast',
  'findLastIndex',
  'reduce',
  'reduceRight',
  'flatMap',
  'sort',
]);

/**
 * Methods treated as not throwing on any receiver: registering listeners, and the plain
 * array/string/Map/Set operations that fill the space between an open and its close.
 */
export const NON_THROWING_METHODS: ReadonlySet<string> = new Set([
  'push',
  'pop',
  'shift',
  'unshift',
  'join',
  'slice',
  'concat',
  'includes',
  'indexOf',
  'lastIndexOf',
  'startsWith',
  'endsWith',
  'trim',
  'trimStart',
  'trimEnd',
  'toLowerCase',
  'toUpperCase',
  'split',
  'padStart',
  'padEnd',
  'replace',
  'replaceAll',
  'toString',
  'toFixed',
  'charAt',
  'charCodeAt',
  'substring',
  'at',
  'has',
  'get',
  'set',
  'add',
  'keys',
  'values',
  'entries',
  'on',
  'once',
  'addListener',
  'prependListener',
  'prependOnceListener',
  'off',
  'removeListener',
  'removeAllListeners',
  'setEncoding',
  'setDefaultEncoding',
  'pause',
  // `src.pipe(dest)` wires listeners and reports failures through events: a write stream
  // piped into is at risk from the source failing, not from this call throwing.
  'pipe',
]);

/**
 * Callees (by their last name: `pipeline`, `stream.pipeline`, `stream.promises.pipeline`)
 * that take the streams they are given over for good: they destroy every one of them when
 * any fails. Passing a handle to one is a hand-over even when the caller destroys it later.
 */
export const STREAM_TAKEOVER_FUNCTIONS: ReadonlySet<string> = new Set(['pipeline', 'compose']);

/** How the fixer writes a release for each kind (`$` is the variable, `%` the fs namespace). */
export const RELEASE_TEMPLATES: Readonly<Record<HandleKind, { namespaced?: string; named?: string; method?: string }>> = {
  fd: { namespaced: '%.closeSync($);', named: 'closeSync($);' },
  filehandle: { method: 'await $.close();' },
  'read-stream': { method: '$.destroy();' },
  'write-stream': { method: '$.end();' },
  // A user-declared handle: no fix is offered (its release call is the user's to write).
  object: {},
};

// ---------------------------------------------------------------------------------------
// `.pipe()` (the `stream-pipe-leak` rule, `pipes.ts`).

/**
 * `fs` functions (or constructors, `new fs.ReadStream(p)`) whose readable owns its file
 * descriptor and closes it only when it ends or is destroyed. A FileHandle's
 * `createReadStream()` is recognised separately (`pipes.ts`).
 */
export const FS_PIPE_SOURCES: ReadonlySet<string> = new Set(['createReadStream', 'ReadStream']);

/** Cheap pre-check: no source name anywhere (aliases still name it in the import) means no pipe source. */
export const PIPE_SOURCE_NAME_PATTERN = /\b(?:createReadStream|ReadStream)\b/;

/**
 * Destinations whose failure ends the process: an unhandled 'error' on the process's own
 * stdout/stderr (EPIPE) is thrown, and exiting closes every descriptor.
 */
export const PIPE_EXEMPT_DESTINATIONS: ReadonlySet<string> = new Set(['process.stdout', 'process.stderr']);

/**
 * Calls whose stream is an in-memory sink that never fails or closes on its own (a hash
 * only finishes when its input ends), so a `.pipe()` into it cannot strand the source.
 */
export const NEVER_FAILING_SINKS: readonly string[] = ['crypto.createHash', 'crypto.createHmac', 'createHash', 'createHmac'];

/**
 * Methods that release what an object holds: a class with one of them and a handle kept in
 * `this.<field>` must release the field there, or in a method of the class it calls.
 */
export const OWNER_RELEASE_METHODS: ReadonlySet<string> = new Set(['close', 'dispose', 'destroy', 'shutdown', 'release', 'cleanup', 'terminate', 'stop']);
