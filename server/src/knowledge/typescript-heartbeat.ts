/**
 * What the HEARTBEAT family knows about Node, in one place: which calls block the event
 * loop (and their non-blocking variants), which libraries keep a connection alive with
 * timers on the event loop, and which calls register code that runs again and again (request
 * handlers, message consumers, intervals). `program-facts.ts` reads these tables (the ones a
 * user can extend through `knowledge.ts`, merged with their models); nothing else in the
 * TypeScript front end names these APIs.
 */

/** Node built-in modules by every specifier that loads them. */
export function builtinModule(specifier: string): string | undefined {
  const s = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  return BUILTINS.has(s) ? s : undefined;
}

const BUILTINS: ReadonlySet<string> = new Set(['child_process', 'fs', 'fs/promises', 'zlib', 'crypto', 'util', 'worker_threads', 'timers', 'http', 'https', 'http2', 'net', 'tls']);

export type BlockingCategory = 'child-process' | 'fs' | 'cpu' | 'atomics';

/**
 * How to write the non-blocking variant of a call:
 * - `promisify`: `await promisify(<module>.<name>)(…args)` (`result` picks a field of the
 *   promise's value, e.g. `stdout` for `exec`);
 * - `promises`: `await <fs/promises>.<name>(…args)`;
 * - `member`: `await <receiver>.<name>(…args)<suffix>` (`Atomics.waitAsync(…).value`).
 */
export type AsyncVariant =
  | { style: 'promisify'; name: string; result?: string }
  | { style: 'promises'; name: string }
  | { style: 'member'; name: string; suffix: string };

export interface BlockingApi {
  /** The module that exports it (`Atomics` for the global). */
  module: string;
  name: string;
  category: BlockingCategory;
  /** Undefined: no drop-in non-blocking variant (the rule offers only the worker-thread fix). */
  variant?: AsyncVariant;
  /**
   * A user's model (`knowledge.typescript.blocking`): `module` is the specifier the code
   * imports; `call` is that module's export, `method` a method of that name on anything in a
   * file that imports the module.
   */
  declared?: 'call' | 'method';
}

/**
 * Calls that hold the event loop until they finish. Metadata-only fs calls (`existsSync`,
 * `statSync`, `mkdirSync`, `unlinkSync`, …) are left out on purpose: they are short on a
 * local disk and flagging them would drown the calls that read, write or run something.
 */
export const BLOCKING_APIS: readonly BlockingApi[] = [
  { module: 'child_process', name: 'execSync', category: 'child-process', variant: { style: 'promisify', name: 'exec', result: 'stdout' } },
  { module: 'child_process', name: 'execFileSync', category: 'child-process', variant: { style: 'promisify', name: 'execFile', result: 'stdout' } },
  { module: 'child_process', name: 'spawnSync', category: 'child-process' },
  { module: 'fs', name: 'readFileSync', category: 'fs', variant: { style: 'promises', name: 'readFile' } },
  { module: 'fs', name: 'writeFileSync', category: 'fs', variant: { style: 'promises', name: 'writeFile' } },
  { module: 'fs', name: 'appendFileSync', category: 'fs', variant: { style: 'promises', name: 'appendFile' } },
  { module: 'fs', name: 'readdirSync', category: 'fs', variant: { style: 'promises', name: 'readdir' } },
  { module: 'fs', name: 'copyFileSync', category: 'fs', variant: { style: 'promises', name: 'copyFile' } },
  { module: 'fs', name: 'cpSync', category: 'fs', variant: { style: 'promises', name: 'cp' } },
  { module: 'fs', name: 'rmSync', category: 'fs', variant: { style: 'promises', name: 'rm' } },
  { module: 'fs', name: 'readSync', category: 'fs' },
  { module: 'fs', name: 'writeSync', category: 'fs' },
  { module: 'fs', name: 'fsyncSync', category: 'fs' },
  { module: 'zlib', name: 'gzipSync', category: 'cpu', variant: { style: 'promisify', name: 'gzip' } },
  { module: 'zlib', name: 'gunzipSync', category: 'cpu', variant: { style: 'promisify', name: 'gunzip' } },
  { module: 'zlib', name: 'deflateSync', category: 'cpu', variant: { style: 'promisify', name: 'deflate' } },
  { module: 'zlib', name: 'inflateSync', category: 'cpu', variant: { style: 'promisify', name: 'inflate' } },
  { module: 'zlib', name: 'brotliCompressSync', category: 'cpu', variant: { style: 'promisify', name: 'brotliCompress' } },
  { module: 'zlib', name: 'brotliDecompressSync', category: 'cpu', variant: { style: 'promisify', name: 'brotliDecompress' } },
  { module: 'crypto', name: 'pbkdf2Sync', category: 'cpu', variant: { style: 'promisify', name: 'pbkdf2' } },
  { module: 'crypto', name: 'scryptSync', category: 'cpu', variant: { style: 'promisify', name: 'scrypt' } },
  { module: 'crypto', name: 'generateKeyPairSync', category: 'cpu', variant: { style: 'promisify', name: 'generateKeyPair' } },
  { module: 'crypto', name: 'generatePrimeSync', category: 'cpu', variant: { style: 'promisify', name: 'generatePrime' } },
  { module: 'Atomics', name: 'wait', category: 'atomics', variant: { style: 'member', name: 'waitAsync', suffix: '.value' } },
];

/** Blocking APIs by function name (every name above is unique to its module; `knowledge.ts` adds the user's). */
export const BLOCKING_BY_NAME: ReadonlyMap<string, BlockingApi> = new Map(BLOCKING_APIS.filter((b) => b.module !== 'Atomics').map((b) => [b.name, b]));

/** Cheap textual pre-check for the blocking calls and busy waits of a file. */
export const BLOCKING_PATTERN = new RegExp(`\\b(?:${[...BLOCKING_BY_NAME.keys()].join('|')})\\b|Atomics\\.wait|Date\\.now|performance\\.now|new Date|hrtime`);

/** Conditions that read the clock: a loop on one with an empty body is a busy wait. */
export const CLOCK_PATTERN = /\bDate\.now\s*\(|\bperformance\.now\s*\(|\bnew Date\s*\(|\bprocess\.hrtime\b/;

/**
 * A library whose connections keep themselves alive with timers on the event loop: if the
 * loop is blocked for longer than the peer's timeout, the peer drops the connection.
 * `calls` are module functions (`amqp.connect()`), `ctors` classes (`new Server()`),
 * `members` methods called on anything once the module is imported (`kafka.consumer()`).
 */
export interface HeartbeatLibrary {
  module: string;
  calls?: readonly string[];
  ctors?: readonly string[];
  /** The module's default export is itself the factory (`require('socket.io')(server)`). */
  callableDefault?: boolean;
  members?: readonly string[];
  /** What keeps the connection alive and how often, for the message. */
  note: string;
  /** An option that switches it off when set to 0 / false (`keepalive: 0`). */
  disabledBy?: string;
  /**
   * The package's own code shows its keep-alive as a timer the model recognises (checked
   * against a release): with the package in `node_modules` its code decides — a release with
   * no keep-alive timer is silent. Without it the row decides, installed or not: kafkajs
   * heartbeats from its consumer loop between messages (no timer), mqtt arms its keep-alive
   * through a pluggable timer object (`timer.set(…)`), and socket.io's engine.io was not checked.
   */
  codeShowsKeepAlive?: boolean;
}

export const HEARTBEAT_LIBRARIES: readonly HeartbeatLibrary[] = [
  // amqplib accepts the heartbeat the server proposes when the client asks for none
  // (RabbitMQ proposes 60 s), so every connection has one; `heartbeat=0` does not veto it.
  // amqplib's lib/heartbeat.js arms `setInterval` (checked: 2.0.1); the connection manager wraps amqplib.
  { module: 'amqplib', calls: ['connect'], note: 'AMQP heartbeats, 60 s by default on RabbitMQ', codeShowsKeepAlive: true },
  { module: 'amqplib/callback_api', calls: ['connect'], note: 'AMQP heartbeats, 60 s by default on RabbitMQ', codeShowsKeepAlive: true },
  { module: 'amqp-connection-manager', calls: ['connect'], note: 'AMQP heartbeats, 60 s by default on RabbitMQ', codeShowsKeepAlive: true },
  { module: 'mqtt', calls: ['connect', 'connectAsync'], note: 'MQTT keep-alive pings, every 60 s by default', disabledBy: 'keepalive' },
  { module: 'socket.io', ctors: ['Server'], callableDefault: true, note: 'engine.io pings, every 25 s by default' },
  { module: 'kafkajs', members: ['consumer'], note: 'Kafka consumer-group heartbeats, every 3 s with a 30 s session timeout by default' },
];

/** Names in a timer callback (or the variable it is stored in) that make it a heartbeat. */
export const HEARTBEAT_NAME_PATTERN = /heart_?beat|keep_?alive|ping/i;

/**
 * Files of an installed package whose intervals are heartbeats whatever their callbacks are
 * called: a client library's keep-alive module (amqplib's `lib/heartbeat.js` arms
 * `setInterval(beat, …)`). Only under `node_modules/`: in a workspace the name says less (a
 * test named `no-heartbeat.ts`), and its timers are judged by what they do. "ping" is left
 * out: monitors name their probes so (`tailscale-ping.js`).
 */
export const HEARTBEAT_FILE_PATTERN = /[/\\]node_modules[/\\](?:.*[/\\])?[^/\\]*(?:heart_?beat|keep_?alive)[^/\\]*\.[cm]?[jt]sx?$/i;

/**
 * Calls and literals inside a timer callback that send a heartbeat: `ws.ping()`,
 * `sendHeartbeat()`, any call whose name holds "heartbeat" or "keepalive"
 * (`emitHeartbeatEvent()`, `writeKeepAliveFrame()`), `send('ping')`.
 */
export const HEARTBEAT_BODY_PATTERN = /\.\s*(?:ping|sendPing)\s*\(|\b(?:sendPing|ping)\s*\(|\b[\w$]*(?:heart_?beat|keep_?alive)[\w$]*\s*\(|['"`](?:ping|heartbeat|keepalive|keep-alive|hb)['"`]/i;

/** Registration context of a callback: where code runs again and again once the program is up. */
export type HotContext = 'request' | 'message' | 'interval';

/** `app.get('/path', handler)`-style routing methods (express, koa-router, fastify, restify). */
export const ROUTE_METHODS: ReadonlySet<string> = new Set(['get', 'post', 'put', 'delete', 'del', 'patch', 'all', 'options', 'head', 'use']);

/** `createServer(handler)` of http, https, http2, net, tls. */
export const SERVER_FACTORIES: ReadonlySet<string> = new Set(['createServer', 'createSecureServer']);

/** Events whose listeners run per request, connection or message. */
export const HOT_EVENTS: Readonly<Record<string, HotContext>> = {
  request: 'request',
  connection: 'request',
  upgrade: 'request',
  stream: 'request',
  message: 'message',
  data: 'message',
  line: 'message',
};

export const LISTENER_METHODS: ReadonlySet<string> = new Set(['on', 'once', 'addListener', 'prependListener', 'addEventListener']);

/** Methods whose function argument consumes messages (amqplib `channel.consume`, bull `queue.process`). */
export const CONSUMER_METHODS: ReadonlySet<string> = new Set(['consume', 'process']);

/** Object-literal properties whose function value is a handler (`route({ handler })`, kafkajs `run({ eachMessage })`). */
export const HANDLER_PROPERTIES: Readonly<Record<string, HotContext>> = {
  handler: 'request',
  eachMessage: 'message',
  eachBatch: 'message',
};
