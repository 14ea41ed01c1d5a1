/**
 * What Hazard Lens knows about green threads and heartbeats in Python, in one place: the
 * monkey-patch APIs of eventlet and gevent (and which of their keywords keeps threads native),
 * the getters of the unpatched originals, connections whose heartbeats need a thread, the
 * method names that send a heartbeat, the calls that keep a green hub running, and what a
 * module may create at import time that a later patch call cannot convert.
 *
 * Read by the Python fact extractor (`facts/python/program-facts.ts`) and the heartbeat model
 * (`model/python-heartbeat.ts`) behind `green-heartbeat` and `late-monkey-patch`. Names are
 * fully qualified the way the extractor spells them after resolving the file's imports.
 */

import { OSLO_TRANSPORT_GETTERS, PY_THREAD_STARTERS } from './python-process';

/**
 * How a patch call decides whether `threading`/`_thread` become green:
 * - `eventlet`: every module is patched unless some keyword is `True` (then only those) or
 *   the module's keyword is `False` — `monkey_patch(thread=False)` keeps threads native;
 * - `gevent-all`: `patch_all(thread=True)` by default; `thread=False` keeps them native;
 * - `always`: the call patches threads (`gevent.monkey.patch_thread()`).
 */
export interface PyMonkeyPatcher {
  lib: 'eventlet' | 'gevent';
  threads: 'eventlet' | 'gevent-all' | 'always';
  /** The keyword that selects thread patching. */
  threadKeyword?: string;
}

export const PY_MONKEY_PATCHERS: ReadonlyMap<string, PyMonkeyPatcher> = new Map<string, PyMonkeyPatcher>([
  ['eventlet.monkey_patch', { lib: 'eventlet', threads: 'eventlet', threadKeyword: 'thread' }],
  ['eventlet.patcher.monkey_patch', { lib: 'eventlet', threads: 'eventlet', threadKeyword: 'thread' }],
  ['gevent.monkey.patch_all', { lib: 'gevent', threads: 'gevent-all', threadKeyword: 'thread' }],
  ['gevent.monkey.patch_thread', { lib: 'gevent', threads: 'always' }],
]);

/**
 * Getters of the unpatched modules/objects: a thread made from what they return stays a
 * native thread after patching (the fix of `green-heartbeat`).
 * - `module`: `eventlet.patcher.original('threading')` returns the module;
 * - `attr`: `gevent.monkey.get_original('threading', 'Thread')` returns the attribute.
 */
export const PY_ORIGINAL_GETTERS: ReadonlyMap<string, 'module' | 'attr'> = new Map([
  ['eventlet.patcher.original', 'module'],
  ['gevent.monkey.get_original', 'attr'],
]);

/** Where a thread starter takes the function the thread runs (the `target` of its {@link PY_THREAD_STARTERS} entry). */
export const PY_THREAD_TARGETS: ReadonlyMap<string, { keyword?: string; index: number }> = new Map(
  [...PY_THREAD_STARTERS].flatMap(([name, s]) => (s.target ? [[name, s.target] as const] : [])),
);

/**
 * Library connections whose heartbeats need someone to run them.
 * - `background`: the library starts its own heartbeat thread (oslo.messaging's RabbitMQ
 *   driver does for every connection) — under thread patching that thread is green;
 * - otherwise the connection only *has* heartbeats when `keyword` is set (not 0/None), and
 *   they are sent only while some thread drives the connection (`drain_events`,
 *   `heartbeat_check`, `process_data_events`, an I/O loop): that thread is the heartbeat.
 */
export interface PyHeartbeatConnection {
  lib: string;
  background: boolean;
  /**
   * The connection is opened (and its heartbeat thread started) only when the object is first
   * used, not when it is created: an oslo.messaging transport connects when a client sends,
   * a notifier notifies or a server starts through it ({@link PY_TRANSPORT_USERS}).
   */
  onUse?: boolean;
  /**
   * With `onUse`: which objects use it — `rpc` (RPC clients and servers), `notification`
   * (notifiers and listeners) or `any` (a transport from `get_transport`, used for both).
   */
  usedBy?: TransportKind;
  keyword?: string;
  /** Keyword spellings of older releases (pika < 1.0: `heartbeat_interval`). */
  aliases?: readonly string[];
  note: string;
}

/** What a transport carries: RPC, notifications, or (an older `get_transport`) either. */
export type TransportKind = 'rpc' | 'notification' | 'any';

export const PY_HEARTBEAT_CONNECTIONS: ReadonlyMap<string, PyHeartbeatConnection> = new Map<string, PyHeartbeatConnection>([
  ...[...OSLO_TRANSPORT_GETTERS, 'oslo_messaging.transport.get_transport'].map((name) => {
    const usedBy: TransportKind = /notification/.test(name) ? 'notification' : /rpc/.test(name) ? 'rpc' : 'any';
    return [name, { lib: 'oslo.messaging', background: true, onUse: true, usedBy, note: 'its RabbitMQ driver runs a heartbeat thread for every connection it opens' }] as const;
  }),
  ['kombu.Connection', { lib: 'kombu', background: false, keyword: 'heartbeat', note: 'heartbeats are sent only while a thread calls heartbeat_check()/drain_events()' }],
  ['kombu.BrokerConnection', { lib: 'kombu', background: false, keyword: 'heartbeat', note: 'heartbeats are sent only while a thread calls heartbeat_check()/drain_events()' }],
  ['kombu.connection.Connection', { lib: 'kombu', background: false, keyword: 'heartbeat', note: 'heartbeats are sent only while a thread calls heartbeat_check()/drain_events()' }],
  ['amqp.Connection', { lib: 'py-amqp', background: false, keyword: 'heartbeat', note: 'heartbeats are sent only while a thread calls heartbeat_tick()/drain_events()' }],
  ['amqp.connection.Connection', { lib: 'py-amqp', background: false, keyword: 'heartbeat', note: 'heartbeats are sent only while a thread calls heartbeat_tick()/drain_events()' }],
  ['pika.ConnectionParameters', { lib: 'pika', background: false, keyword: 'heartbeat', aliases: ['heartbeat_interval'], note: 'heartbeats are sent only while a thread runs the connection\'s I/O loop' }],
  ['pika.connection.ConnectionParameters', { lib: 'pika', background: false, keyword: 'heartbeat', aliases: ['heartbeat_interval'], note: 'heartbeats are sent only while a thread runs the connection\'s I/O loop' }],
]);

/**
 * What uses an oslo.messaging transport, and so makes it open a connection (whose RabbitMQ
 * heartbeat thread then starts): the objects built on a transport and their methods that send
 * or serve. Creating the object opens nothing; its first use does.
 * - `uses`: methods whose call opens the connection, with words for the chain;
 * - `derives`: methods that give another object of the same kind (`client.prepare(...)`,
 *   `notifier.prepare(...)`), whose uses count the same.
 */
export interface PyTransportUser {
  /** Words for the chain: `an RPC client`. */
  what: string;
  uses: ReadonlyMap<string, string>;
  derives: ReadonlySet<string>;
  /** Its uses send (clients, notifiers) rather than serve (servers, listeners): what a request handler does. */
  sends: boolean;
  /** The transports it is built on. */
  carries: 'rpc' | 'notification';
}

const RPC_CLIENT: PyTransportUser = {
  what: 'an RPC client',
  uses: new Map([
    ['call', 'sends an RPC call'],
    ['cast', 'sends an RPC cast'],
  ]),
  derives: new Set(['prepare']),
  sends: true,
  carries: 'rpc',
};
const NOTIFIER: PyTransportUser = {
  what: 'a notifier',
  uses: new Map(['audit', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'sample'].map((m) => [m, 'sends a notification'] as const)),
  derives: new Set(['prepare']),
  sends: true,
  carries: 'notification',
};
const RPC_SERVER: PyTransportUser = { what: 'an RPC server', uses: new Map([['start', 'starts the server, which listens on the transport']]), derives: new Set(), sends: false, carries: 'rpc' };
const LISTENER: PyTransportUser = { what: 'a notification listener', uses: new Map([['start', 'starts the listener, which listens on the transport']]), derives: new Set(), sends: false, carries: 'notification' };

export const PY_TRANSPORT_USERS: ReadonlyMap<string, PyTransportUser> = new Map<string, PyTransportUser>([
  ['oslo_messaging.RPCClient', RPC_CLIENT],
  ['oslo_messaging.rpc.RPCClient', RPC_CLIENT],
  ['oslo_messaging.rpc.client.RPCClient', RPC_CLIENT],
  ['oslo_messaging.get_rpc_client', RPC_CLIENT],
  ['oslo_messaging.rpc.get_rpc_client', RPC_CLIENT],
  ['oslo_messaging.rpc.client.get_rpc_client', RPC_CLIENT],
  ['oslo_messaging.Notifier', NOTIFIER],
  ['oslo_messaging.notify.Notifier', NOTIFIER],
  ['oslo_messaging.notify.notifier.Notifier', NOTIFIER],
  ['oslo_messaging.get_rpc_server', RPC_SERVER],
  ['oslo_messaging.rpc.get_rpc_server', RPC_SERVER],
  ['oslo_messaging.rpc.server.get_rpc_server', RPC_SERVER],
  ['oslo_messaging.get_notification_listener', LISTENER],
  ['oslo_messaging.notify.get_notification_listener', LISTENER],
  ['oslo_messaging.notify.listener.get_notification_listener', LISTENER],
  ['oslo_messaging.get_batch_notification_listener', LISTENER],
  ['oslo_messaging.notify.get_batch_notification_listener', LISTENER],
  ['oslo_messaging.notify.listener.get_batch_notification_listener', LISTENER],
]);

/**
 * Calls on a transport itself (`transport.<path>(...)`) that open a connection: the internal
 * entry points that clients, notifiers and servers go through, which reproducers call directly
 * (`transport._driver._get_connection()`).
 */
export const PY_TRANSPORT_OPENERS: ReadonlyMap<string, { words: string; sends: boolean; carries: TransportKind }> = new Map<string, { words: string; sends: boolean; carries: TransportKind }>([
  ['_driver._get_connection', { words: "takes a connection from the transport's driver", sends: true, carries: 'any' }],
  ['_send', { words: 'sends through the transport', sends: true, carries: 'rpc' }],
  ['_send_notification', { words: 'sends a notification through the transport', sends: true, carries: 'notification' }],
  ['_listen', { words: 'listens on the transport', sends: false, carries: 'rpc' }],
  ['_listen_for_notifications', { words: 'listens for notifications on the transport', sends: false, carries: 'notification' }],
]);

/**
 * Method or function names (last segment) that send or check a heartbeat: a loop that calls
 * one and sleeps is a keep-alive loop. Besides this list, any name made of `heartbeat`,
 * `keepalive`/`keep_alive` or `ping` with a prefix or suffix (`_send_heartbeat`, `ping_server`).
 */
export const PY_HEARTBEAT_CALLS: ReadonlySet<string> = new Set([
  'heartbeat',
  'heartbeat_check',
  'heartbeat_tick',
  'send_heartbeat',
  'ping',
  'keepalive',
  'keep_alive',
  'send_keepalive',
]);

export const PY_HEARTBEAT_NAME = /^_*([a-z0-9]+_)*(heartbeat|heart_beat|keepalive|keep_alive|ping)(_[a-z0-9]+)*$/i;

/**
 * Calls that run a connection's I/O for a while and so service its heartbeats; with a
 * timeout they are also the loop's wait (`drain_events(timeout=1)`), and `start_consuming()` /
 * `ioloop.start()` loop by themselves.
 */
export const PY_CONNECTION_DRIVERS: ReadonlyMap<string, { loops: boolean }> = new Map([
  ['drain_events', { loops: false }],
  ['process_data_events', { loops: false }],
  ['start_consuming', { loops: true }],
]);

/** Waits that pace a loop: `time.sleep(n)`, the green sleeps, and `event.wait(n)` (any `.wait` with an argument). */
export const PY_SLEEP_CALLS: ReadonlySet<string> = new Set(['time.sleep', 'eventlet.sleep', 'eventlet.greenthread.sleep', 'gevent.sleep']);
export const PY_WAIT_METHODS: ReadonlySet<string> = new Set(['wait']);

/**
 * Calls that keep the green hub running for the life of the process (a green server loop),
 * so green heartbeats are scheduled by design: eventlet's and gevent's WSGI/stream servers,
 * `gevent.joinall`/`gevent.wait` on long-lived greenlets (load-testing tools run like this),
 * oslo.service launchers (OpenStack services outside a WSGI server).
 */
export const PY_HUB_DRIVERS: ReadonlyMap<string, string> = new Map([
  ['eventlet.wsgi.server', 'eventlet.wsgi.server() runs the eventlet hub'],
  ['eventlet.serve', 'eventlet.serve() runs the eventlet hub'],
  ['gevent.pywsgi.WSGIServer', 'a gevent WSGI server runs the gevent hub'],
  ['gevent.wsgi.WSGIServer', 'a gevent WSGI server runs the gevent hub'],
  ['gevent.server.StreamServer', 'a gevent stream server runs the gevent hub'],
  ['gevent.server.DatagramServer', 'a gevent datagram server runs the gevent hub'],
  ['gevent.joinall', 'gevent.joinall() runs the gevent hub'],
  ['gevent.wait', 'gevent.wait() runs the gevent hub'],
  ['gevent.get_hub', 'the program runs the gevent hub itself'],
  // oslo.service's launchers run the service in green threads and wait on the hub.
  ['oslo_service.service.launch', 'an oslo.service launcher runs the eventlet hub'],
  ['oslo_service.service.ServiceLauncher', 'an oslo.service launcher runs the eventlet hub'],
  ['oslo_service.service.ProcessLauncher', 'an oslo.service launcher runs the eventlet hub'],
  ['oslo_service.wsgi.Server', 'an oslo.service WSGI server runs the eventlet hub'],
]);

/**
 * Calls that run the eventlet hub only with a green executor: oslo.messaging servers and
 * listeners given `executor='eventlet'` dispatch in green threads and wait on the hub, so
 * a program that runs one keeps the hub turning. `position` is the executor's positional index.
 */
export const PY_EXECUTOR_HUB_DRIVERS: ReadonlyMap<string, { position: number; note: string }> = new Map([
  ['oslo_messaging.get_rpc_server', { position: 3, note: "an oslo.messaging RPC server with executor='eventlet' runs the eventlet hub" }],
  ['oslo_messaging.rpc.get_rpc_server', { position: 3, note: "an oslo.messaging RPC server with executor='eventlet' runs the eventlet hub" }],
  ['oslo_messaging.rpc.server.get_rpc_server', { position: 3, note: "an oslo.messaging RPC server with executor='eventlet' runs the eventlet hub" }],
  ['oslo_messaging.get_notification_listener', { position: 3, note: "an oslo.messaging notification listener with executor='eventlet' runs the eventlet hub" }],
  ['oslo_messaging.notify.get_notification_listener', { position: 3, note: "an oslo.messaging notification listener with executor='eventlet' runs the eventlet hub" }],
  ['oslo_messaging.get_batch_notification_listener', { position: 3, note: "an oslo.messaging notification listener with executor='eventlet' runs the eventlet hub" }],
]);

/**
 * uWSGI options that run requests on a green loop (the hub then runs between requests), and
 * the values of `loop` that mean the same.
 */
export const UWSGI_GREEN_OPTIONS: ReadonlySet<string> = new Set(['gevent', 'gevent-early-monkey-patch', 'greenlet', 'ugreen', 'eventlet']);
export const UWSGI_GREEN_LOOPS: ReadonlySet<string> = new Set(['gevent', 'greenlet', 'eventlet', 'ugreen']);

/** uWSGI options that name the WSGI entry: a file, or a module (`pkg.mod:app`). */
export const UWSGI_FILE_OPTIONS: ReadonlySet<string> = new Set(['wsgi-file', 'file', 'mount']);
export const UWSGI_MODULE_OPTIONS: ReadonlySet<string> = new Set(['module', 'wsgi']);

/** Apache mod_wsgi directives that embed a WSGI script (prefork or daemon processes). */
export const APACHE_WSGI_DIRECTIVES: ReadonlySet<string> = new Set(['WSGIScriptAlias', 'WSGIScriptAliasMatch', 'WSGIImportScript']);

/**
 * Calls that create a native primitive: made before a patch call, the object stays native
 * afterwards (a lock a green thread then blocks on, a socket that blocks the hub).
 */
export const PY_NATIVE_PRIMITIVES: ReadonlyMap<string, string> = new Map([
  ['threading.Lock', 'a lock'],
  ['threading.RLock', 'a lock'],
  ['threading.Condition', 'a condition variable'],
  ['threading.Semaphore', 'a semaphore'],
  ['threading.BoundedSemaphore', 'a semaphore'],
  ['threading.Event', 'an event'],
  ['threading.Barrier', 'a barrier'],
  ['_thread.allocate_lock', 'a lock'],
  ['queue.Queue', 'a queue (with its locks)'],
  ['socket.socket', 'a socket'],
  ['socket.create_connection', 'a socket'],
  ['socket.socketpair', 'a socket pair'],
  ['ssl.create_default_context', 'an SSL context'],
  ['ssl.SSLContext', 'an SSL context'],
]);

/**
 * Names that a patch call replaces in their modules: bound with `from m import name` before
 * the patch, the importer keeps the native object (`from time import sleep` blocks the hub).
 * Only names the patch swaps out: `threading.Thread`, `Event` and `Condition` are not listed
 * because they look up the (patched) lock and thread functions of their module when called.
 */
export const PY_PATCHED_NAMES: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['threading', new Set(['Lock', 'local', 'get_ident', 'current_thread', 'currentThread'])],
  ['_thread', new Set(['start_new_thread', 'start_new', 'allocate_lock', 'get_ident'])],
  ['socket', new Set(['socket', 'create_connection', 'socketpair', 'fromfd'])],
  ['time', new Set(['sleep'])],
  ['select', new Set(['select', 'poll', 'epoll'])],
  ['ssl', new Set(['SSLContext', 'SSLSocket', 'wrap_socket'])],
]);

/**
 * Third-party and standard modules that bind patched names or create SSL state when
 * imported, so importing them before the patch call leaves native objects behind (gevent
 * warns "Monkey-patching ssl after ssl has already been imported may lead to errors,
 * including RecursionError"; requests/urllib3 keep the native `ssl.SSLContext`).
 */
export const PY_EARLY_IMPORT_MODULES: ReadonlyMap<string, string> = new Map([
  ['ssl', 'binds the native SSL classes'],
  ['requests', 'imports urllib3, which binds the native ssl and socket names'],
  ['urllib3', 'binds the native ssl and socket names'],
  ['botocore', 'imports urllib3, which binds the native ssl and socket names'],
  ['boto3', 'imports urllib3, which binds the native ssl and socket names'],
  ['web3', 'imports requests and urllib3 for its HTTP provider, which bind the native ssl and socket names'],
  ['grpc', 'loads the gRPC core, whose threads and sockets stay native'],
]);

/**
 * Third-party packages whose import before a patch call is no cause of a late patch: the
 * green-thread packages themselves (importing them is how the call is written) and pure
 * compatibility shims that create nothing and bind no patched name at import.
 */
export const PY_INERT_BEFORE_PATCH: ReadonlySet<string> = new Set(['gevent', 'eventlet', 'greenlet', '__future__', 'six', 'typing_extensions', 'mypy_extensions']);

/**
 * Test code: a patch call there patches a test run, not a deployment (eventlet-based projects
 * patch in `tests/__init__.py` so the whole suite runs green). Patch sites in such files are
 * not evidence for the HEARTBEAT rules. Deliberately not `test/`: that name also holds
 * fixtures and sample programs.
 */
export const PY_TEST_FILE = /(^|[\\/])(tests|testing)[\\/]|(^|[\\/])(test_[^\\/]*|[^\\/]*_test|conftest)\.py$/;

/**
 * Modules whose import shows that library code adapts to green (monkey-patched) hosts itself:
 * the green-thread packages, and oslo.utils' helpers that pick green or native primitives.
 */
export const PY_GREEN_AWARE_IMPORT = /^(eventlet|gevent)(\.|$)|^oslo_utils\.eventletutils$/;

/** gunicorn worker classes that run each worker on a green hub (`worker_class` in a gunicorn config file). */
export const GUNICORN_GREEN_WORKERS = /(^|[.:])(eventlet|gevent|gevent_wsgi|gevent_pywsgi|GeventWorker|GeventPyWSGIWorker|EventletWorker)$/;
