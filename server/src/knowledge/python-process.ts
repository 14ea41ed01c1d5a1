/**
 * What Hazard Lens knows about processes, threads and descriptors in Python, in one place
 * (architecture: knowledge lives in data tables). Names are fully qualified the way the fact
 * extractor spells them after resolving the file's imports: `threading.Thread` is also
 * `import threading as th; th.Thread` and `from threading import Thread`.
 *
 * The FORK and FD rules (`fork-in-threaded-program`, `cached-fd-across-fork`,
 * `close-all-fds-without-exec`) read these tables through the Python fact extractor
 * (`facts/python/program-facts.ts`) and the program model (`model/python.ts`).
 */

/**
 * How a library call starts threads:
 * - `call`: the call itself starts a thread (`_thread.start_new_thread`);
 * - `ctor`: constructing the object starts threads (`multiprocessing.pool.ThreadPool`);
 * - `method`: a method on the constructed object starts them (`Thread(...).start()`,
 *   `ThreadPoolExecutor(...).submit()`); `methods` lists which.
 */
export interface PyThreadStarter {
  how: 'call' | 'ctor' | 'method';
  methods?: readonly string[];
  /** Only when this keyword argument is passed (and is not `0`/`None`/`False`). */
  whenKeyword?: string;
  /** With `whenKeyword`: only when its value is one of these string literals. */
  whenValues?: readonly string[];
  /** Why it counts, for the finding's evidence ("starts worker threads"). */
  note: string;
  /** Where the call takes the function the thread runs: the keyword, else the positional index. */
  target?: { keyword?: string; index: number };
  /**
   * With `how: 'method'`: the position of the starting method's argument that is the function
   * the worker threads run (`pool.map(fn, items)`, `pool.submit(fn, ...)`): it runs while the
   * pool's threads do.
   */
  runs?: number;
  /**
   * With `how: 'method'`: the object's other methods give another object of the same kind
   * (a lazy dask collection's `set_index()`, `map_partitions()`), whose `methods` start the
   * threads too.
   */
  chains?: boolean;
}

const START = ['start'] as const;

/**
 * oslo.messaging's transport getters: its RabbitMQ driver runs a heartbeat thread for every
 * connection a transport opens (incident 4's heartbeat). The package's own names start
 * threads here; the heartbeat connections (`knowledge/python-heartbeat.ts`) take these and
 * the getter's defining module, `oslo_messaging.transport.get_transport`.
 */
export const OSLO_TRANSPORT_GETTERS: readonly string[] = [
  'oslo_messaging.get_transport',
  'oslo_messaging.get_rpc_transport',
  'oslo_messaging.get_notification_transport',
];

const DASK_POOL_NOTE = "computes on dask's local thread pool, whose worker threads stay alive";
/** Functions that compute dask collections or delayed values passed to them. */
const DASK_COMPUTES: readonly string[] = ['dask.compute', 'dask.persist', 'dask.base.compute', 'dask.base.persist'];
/** Functions that make a dask collection (a dataframe, array or bag that computes lazily). */
const DASK_COLLECTION_MAKERS: readonly string[] = [
  'dask.dataframe.from_pandas',
  'dask.dataframe.read_parquet',
  'dask.dataframe.read_csv',
  'dask.array.from_array',
  'dask.bag.from_sequence',
  'dask_geopandas.from_geopandas',
  'dask_geopandas.from_dask_dataframe',
  'dask_geopandas.read_parquet',
  'dask_geopandas.read_file',
];
/** Methods of a dask collection that compute it now. */
const DASK_COMPUTING_METHODS: readonly string[] = ['compute', 'persist', 'to_parquet', 'to_csv', 'to_zarr', 'to_hdf', 'to_sql'];

/**
 * Calls that start native threads: the standard library and well-known libraries whose
 * objects run background threads. Deliberately absent: `kombu.Connection(heartbeat=...)` and
 * pika connections — their heartbeats are driven by the caller's event loop or
 * `drain_events()`, not by a thread of their own (the heartbeat threads seen in practice come
 * from oslo.messaging or Celery, listed here).
 */
export const PY_THREAD_STARTERS: ReadonlyMap<string, PyThreadStarter> = new Map<string, PyThreadStarter>([
  // Standard library.
  ['threading.Thread', { how: 'method', methods: START, note: 'starts a thread', target: { keyword: 'target', index: 1 } }],
  ['threading.Timer', { how: 'method', methods: START, note: 'starts a timer thread', target: { keyword: 'function', index: 1 } }],
  ['_thread.start_new_thread', { how: 'call', note: 'starts a thread', target: { keyword: 'function', index: 0 } }],
  ['_thread.start_new', { how: 'call', note: 'starts a thread', target: { keyword: 'function', index: 0 } }],
  ['_thread.start_joinable_thread', { how: 'call', note: 'starts a thread' }],
  ['threading._start_new_thread', { how: 'call', note: 'starts a thread' }],
  ['concurrent.futures.ThreadPoolExecutor', { how: 'method', methods: ['submit', 'map'], note: 'starts worker threads', runs: 0 }],
  ['concurrent.futures.thread.ThreadPoolExecutor', { how: 'method', methods: ['submit', 'map'], note: 'starts worker threads', runs: 0 }],
  ['multiprocessing.pool.ThreadPool', { how: 'ctor', note: 'starts worker threads' }],
  ['multiprocessing.dummy.Pool', { how: 'ctor', note: 'starts worker threads' }],
  ['logging.handlers.QueueListener', { how: 'method', methods: START, note: 'starts a listener thread' }],
  // logutils: the backport of QueueListener for older Pythons.
  ['logutils.queue.QueueListener', { how: 'method', methods: START, note: 'starts a listener thread' }],
  ['asyncio.to_thread', { how: 'call', note: 'runs the function in the default executor\'s worker thread' }],
  ['socketserver.ThreadingTCPServer', { how: 'method', methods: ['serve_forever'], note: 'starts a thread per request' }],
  ['socketserver.ThreadingUDPServer', { how: 'method', methods: ['serve_forever'], note: 'starts a thread per request' }],
  ['socketserver.ThreadingUnixStreamServer', { how: 'method', methods: ['serve_forever'], note: 'starts a thread per request' }],
  ['socketserver.ThreadingUnixDatagramServer', { how: 'method', methods: ['serve_forever'], note: 'starts a thread per request' }],
  ['http.server.ThreadingHTTPServer', { how: 'method', methods: ['serve_forever'], note: 'starts a thread per request' }],
  // gRPC: a server runs its handlers on the executor's threads; channels start the C core's
  // polling threads (gRPC documents fork support as limited: GRPC_ENABLE_FORK_SUPPORT).
  ['grpc.server', { how: 'method', methods: START, note: 'starts the gRPC server threads' }],
  ['grpc.insecure_channel', { how: 'ctor', note: 'starts gRPC core threads' }],
  ['grpc.secure_channel', { how: 'ctor', note: 'starts gRPC core threads' }],
  ['grpc.aio.server', { how: 'method', methods: START, note: 'starts gRPC core threads' }],
  // oslo.messaging: RPC servers run a threading executor; the transports' RabbitMQ connections
  // run heartbeat threads.
  ['oslo_messaging.get_rpc_server', { how: 'method', methods: START, note: 'starts RPC server threads' }],
  ['oslo_messaging.get_notification_listener', { how: 'method', methods: START, note: 'starts listener threads' }],
  ...OSLO_TRANSPORT_GETTERS.map((name) => [name, { how: 'ctor', note: 'its RabbitMQ connections run a heartbeat thread' }] as const),
  // Celery's embedded beat service and its timer are threads.
  ['celery.beat.EmbeddedService', { how: 'method', methods: START, note: 'starts the beat thread' }],
  ['celery.utils.timer2.Timer', { how: 'method', methods: START, note: 'starts a timer thread' }],
  // Other common libraries whose objects are (or own) threads.
  ['apscheduler.schedulers.background.BackgroundScheduler', { how: 'method', methods: START, note: 'starts the scheduler thread' }],
  ['watchdog.observers.Observer', { how: 'method', methods: START, note: 'starts the observer thread' }],
  ['prometheus_client.start_http_server', { how: 'call', note: 'serves metrics from a daemon thread' }],
  ['prometheus_client.exposition.start_http_server', { how: 'call', note: 'serves metrics from a daemon thread' }],
  ['kazoo.client.KazooClient', { how: 'method', methods: START, note: 'starts connection threads' }],
  ['paho.mqtt.client.Client', { how: 'method', methods: ['loop_start'], note: 'starts the network loop thread' }],
  ['zmq.Context', { how: 'ctor', note: 'starts libzmq I/O threads' }],
  ['zmq.Context.instance', { how: 'ctor', note: 'starts libzmq I/O threads' }],
  // GPU management: initialising NVML (pynvml, nvidia-ml-py) starts the driver library's own threads.
  ['pynvml.nvmlInit', { how: 'call', note: 'initialises NVML, whose library starts native threads' }],
  ['pynvml.nvmlInitWithFlags', { how: 'call', note: 'initialises NVML, whose library starts native threads' }],
  // Telemetry: OpenTelemetry's batching span processor and periodic metric reader export from
  // a daemon thread started by their constructor; Laminar (lmnr) sets one up when initialised.
  ['opentelemetry.sdk.trace.export.BatchSpanProcessor', { how: 'ctor', note: 'starts the span export thread' }],
  ['opentelemetry.sdk.metrics.export.PeriodicExportingMetricReader', { how: 'ctor', note: 'starts the metric export thread' }],
  // Bottle's `run()` serves the application's routes until it stops; with these server
  // adapters it does so on a pool of threads (`numthreads=`), its default `wsgiref` on one.
  ['bottle.run', { how: 'call', whenKeyword: 'server', whenValues: ['cherrypy', 'cheroot', 'paste', 'waitress'], note: 'serves requests on a pool of threads' }],
  ['lmnr.Laminar.initialize', { how: 'call', note: 'sets up OpenTelemetry tracing with a batching span export thread' }],
  // dask: computing a collection with the default local scheduler runs its tasks on a
  // module-level thread pool that dask creates on first use and never shuts down, so the
  // threads outlive the call. Collections are made by the readers and converters below; writing
  // one out (`to_parquet`, ...) computes it too.
  ...DASK_COMPUTES.map((name) => [name, { how: 'call', note: DASK_POOL_NOTE }] as const),
  ...DASK_COLLECTION_MAKERS.map((name) => [name, { how: 'method', methods: DASK_COMPUTING_METHODS, chains: true, note: DASK_POOL_NOTE }] as const),
]);

/** Calls that import the module their first argument names (computed at run time) and return it. */
export const PY_COMPUTED_IMPORTS: ReadonlySet<string> = new Set(['importlib.import_module', '__import__']);

/** Calls that return a callable running their first argument (`self.run = functools.partial(helper, ...)`). */
export const PY_PARTIAL_CALLS: ReadonlySet<string> = new Set(['functools.partial']);

/**
 * Methods that wait for the threads of the object they are called on: `Thread.join()`,
 * `ThreadPoolExecutor.shutdown()` (unless `wait=False`), `ThreadPool.join()`.
 */
export const PY_THREAD_JOINS: ReadonlySet<string> = new Set(['join', 'shutdown']);

/** Method names that, called on any object, hand work to an executor thread (`loop.run_in_executor`). */
export const PY_THREAD_METHODS: ReadonlyMap<string, string> = new Map([['run_in_executor', 'runs the function on an executor thread']]);

/**
 * Calls that replace an attribute with a mock for a test: `target` names it as a dotted string
 * (`mock.patch("os.fork")`), `object` by owner and attribute (`mock.patch.object(os, "fork")`,
 * `monkeypatch.setattr(os, "fork", ...)`, which also takes `"os.fork"` first). A name that
 * starts with `.` is a method on any receiver (`monkeypatch` is a pytest fixture argument).
 */
export const PY_PATCHERS: ReadonlyMap<string, 'target' | 'object'> = new Map([
  ['unittest.mock.patch', 'target'],
  ['mock.patch', 'target'],
  ['unittest.mock.patch.object', 'object'],
  ['mock.patch.object', 'object'],
  ['.setattr', 'object'],
]);

/** Plain fork calls; `returnsPid` tells which element of the result is the pid. */
export const PY_FORK_CALLS: ReadonlyMap<string, { pidIndex: number }> = new Map([
  ['os.fork', { pidIndex: -1 }],
  ['os.forkpty', { pidIndex: 0 }],
  ['pty.fork', { pidIndex: 0 }],
]);

/**
 * multiprocessing entry points that create processes with the program's start method:
 * - `method`: the process starts when a method is called (`Process(...).start()`);
 * - `ctor`: constructing the object starts processes (`Pool`, `Manager`);
 * `contextKeyword` is the keyword that takes a context (`mp_context=` / `context=`).
 * `threadsAfter`: the object also starts helper threads in the parent (Pool's handler
 * threads, the executor's manager thread), so a later fork is a fork after threads.
 */
export interface PyProcessStarter {
  how: 'ctor' | 'method';
  methods?: readonly string[];
  contextKeyword?: string;
  /** The attribute on a context object that creates it (`ctx.Process`), when there is one. */
  contextAttr?: string;
  threadsAfter?: boolean;
}

export const PY_PROCESS_STARTERS: ReadonlyMap<string, PyProcessStarter> = new Map<string, PyProcessStarter>([
  ['multiprocessing.Process', { how: 'method', methods: START, contextAttr: 'Process' }],
  ['multiprocessing.context.Process', { how: 'method', methods: START, contextAttr: 'Process' }],
  ['multiprocessing.process.BaseProcess', { how: 'method', methods: START }],
  ['multiprocessing.Pool', { how: 'ctor', contextAttr: 'Pool', contextKeyword: 'context', threadsAfter: true }],
  ['multiprocessing.pool.Pool', { how: 'ctor', contextAttr: 'Pool', contextKeyword: 'context', threadsAfter: true }],
  ['multiprocessing.Manager', { how: 'ctor', contextAttr: 'Manager' }],
  ['multiprocessing.managers.SyncManager', { how: 'method', methods: START }],
  ['concurrent.futures.ProcessPoolExecutor', { how: 'ctor', contextKeyword: 'mp_context', threadsAfter: true }],
  ['concurrent.futures.process.ProcessPoolExecutor', { how: 'ctor', contextKeyword: 'mp_context', threadsAfter: true }],
]);

/** Attributes of a multiprocessing context object that start processes (`ctx.Process(...)`). */
export const PY_CONTEXT_PROCESS_ATTRS: ReadonlyMap<string, PyProcessStarter> = new Map<string, PyProcessStarter>([
  ['Process', { how: 'method', methods: START, contextAttr: 'Process' }],
  ['Pool', { how: 'ctor', contextAttr: 'Pool', threadsAfter: true }],
  ['Manager', { how: 'ctor', contextAttr: 'Manager' }],
]);

/** Calls that return a multiprocessing context; the first argument (or `method=`) names the start method. */
export const PY_CONTEXT_GETTERS: ReadonlySet<string> = new Set(['multiprocessing.get_context', 'multiprocessing.context.get_context']);

/** Calls that set the program-wide start method. */
export const PY_START_METHOD_SETTERS: ReadonlySet<string> = new Set(['multiprocessing.set_start_method']);

/** Start methods that fork the parent (and so inherit its threads' locks and its descriptors). */
export const PY_FORKING_START_METHODS: ReadonlySet<string> = new Set(['fork']);

/**
 * multiprocessing's default start method on Linux: `fork` up to Python 3.13, `forkserver`
 * from 3.14 on (macOS has used `spawn` since 3.8; Hazard Lens assumes Linux, where the
 * hazards are real).
 */
export function defaultStartMethod(pythonVersion: string): string {
  const m = /^3\.(\d+)/.exec(pythonVersion);
  const minor = m ? Number(m[1]) : 12;
  return minor >= 14 ? 'forkserver' : 'fork';
}

/**
 * Daemonizers: objects that fork (detach) and close every descriptor not listed in a
 * keep-list. `keepKeyword` is the keep-list keyword; `method` the call that detaches when
 * it is not the constructor itself (`with DaemonContext():` and `.open()` detach; the
 * constructor is where the keep-list is given, so the finding sits there).
 */
export interface PyDaemonizer {
  /** The constructor keyword that takes the keep-list; absent when it has none. */
  keepKeyword?: string;
  /** An attribute of the object that holds the keep-list when it is set after construction (`ctx.files_preserve = [...]`). */
  keepAttribute: string;
  note: string;
}

export const PY_DAEMONIZERS: ReadonlyMap<string, PyDaemonizer> = new Map<string, PyDaemonizer>([
  ['daemon.DaemonContext', { keepKeyword: 'files_preserve', keepAttribute: 'files_preserve', note: 'python-daemon detaches and closes every other descriptor' }],
  ['daemon.daemon.DaemonContext', { keepKeyword: 'files_preserve', keepAttribute: 'files_preserve', note: 'python-daemon detaches and closes every other descriptor' }],
  ['daemonize.Daemonize', { keepKeyword: 'keep_fds', keepAttribute: 'keep_fds', note: 'daemonize detaches and closes every other descriptor' }],
  // python-daemon's runner builds a DaemonContext from the app's paths, without files_preserve.
  ['daemon.runner.DaemonRunner', { keepAttribute: 'daemon_context.files_preserve', note: "python-daemon's runner detaches through a DaemonContext that closes every other descriptor" }],
]);

/** Calls that close a whole range of descriptors. */
export const PY_CLOSE_RANGE_CALLS: ReadonlySet<string> = new Set(['os.closerange']);

/**
 * Library functions that close every descriptor except those passed to them (`keepKeyword`,
 * or the first positional argument): `close_open_fds(keep)`. What the call passes decides:
 * nothing, or only stdin/stdout/stderr, makes it a close-all; anything more is a keep-list.
 */
export const PY_CLOSE_ALL_HELPERS: ReadonlyMap<string, { keepKeyword: string; note: string }> = new Map([
  ['billiard.compat.close_open_fds', { keepKeyword: 'keep', note: "billiard's close_open_fds closes every descriptor not in keep" }],
  ['billiard.close_open_fds', { keepKeyword: 'keep', note: "billiard's close_open_fds closes every descriptor not in keep" }],
]);

/**
 * Parameter names that carry the descriptors a close-all function spares (`keep`,
 * `files_preserve`, `pass_fds`, `exclude`): a close-all inside a function with such a parameter
 * is a close-all or a keep-list depending on what each caller passes.
 */
export const PY_KEEP_PARAMETER = /^_*(keep\w*|\w*_keep|preserve\w*|\w*_preserve|files_preserve|pass_fds|exclude\w*|except\w*|skip\w*|retain\w*|fds_to_keep)$/i;

/**
 * Names of functions whose call passes a keep argument worth reading at the call site (the
 * workspace's own close-all helpers: `close_open_fds`, `close_fds`, `closeall`, `_close_all_fds`).
 */
export const PY_CLOSE_HELPER_NAME = /(^|_)clos(e|ing)_?(all|open)?_?(fds|files|descriptors)\b|^_*close_?all\b|^_*closerange/i;

/** Expressions that name the standard streams or their numbers: keeping only these keeps nothing a library cached. */
export const PY_STDIO_NAMES: ReadonlySet<string> = new Set([
  'sys.stdin', 'sys.stdout', 'sys.stderr', 'sys.__stdin__', 'sys.__stdout__', 'sys.__stderr__',
  'STDIN_FILENO', 'STDOUT_FILENO', 'STDERR_FILENO', '0', '1', '2',
]);

/** Closing one descriptor; inside a loop over a range of numbers it is a close-all idiom. */
export const PY_CLOSE_ONE_CALLS: ReadonlySet<string> = new Set(['os.close']);

/** Directories whose listing enumerates the process's open descriptors. */
export const PY_FD_DIRECTORIES: readonly string[] = ['/proc/self/fd', '/dev/fd'];

/** Calls that replace the process image; after them no Python code of the program runs. */
export const PY_EXEC_CALLS: ReadonlySet<string> = new Set([
  'os.execl',
  'os.execle',
  'os.execlp',
  'os.execlpe',
  'os.execv',
  'os.execve',
  'os.execvp',
  'os.execvpe',
]);

/** Calls that end the process without running the rest of the program. */
export const PY_EXIT_CALLS: ReadonlySet<string> = new Set(['os._exit', 'sys.exit', 'exit', 'quit', 'os.abort']);

/** `os.setsid()` between two forks marks the double-fork daemon recipe. */
export const PY_SETSID_CALLS: ReadonlySet<string> = new Set(['os.setsid', 'os.setpgrp']);

/**
 * Calls that produce a descriptor (or an object that owns one). Cached in module, class or
 * `global` storage they outlive a fork. `what` words the evidence.
 */
export const PY_FD_SOURCES: ReadonlyMap<string, string> = new Map([
  ['os.open', 'file descriptor'],
  ['os.dup', 'file descriptor'],
  ['os.pipe', 'pipe'],
  ['os.openpty', 'pseudo-terminal'],
  ['os.eventfd', 'eventfd'],
  ['os.memfd_create', 'memfd'],
  ['open', 'file'],
  ['io.open', 'file'],
  ['io.FileIO', 'file'],
  ['codecs.open', 'file'],
  ['os.fdopen', 'file'],
  ['socket.socket', 'socket'],
  ['socket.create_connection', 'socket'],
  ['socket.create_server', 'socket'],
  ['socket.socketpair', 'socket pair'],
  ['socket.fromfd', 'socket'],
  ['select.epoll', 'epoll descriptor'],
  ['select.kqueue', 'kqueue descriptor'],
  ['select.devpoll', 'devpoll descriptor'],
  ['tempfile.TemporaryFile', 'temporary file'],
  ['tempfile.NamedTemporaryFile', 'temporary file'],
  ['mmap.mmap', 'memory map'],
  ['logging.FileHandler', 'log file'],
  ['logging.handlers.WatchedFileHandler', 'log file'],
  ['logging.handlers.RotatingFileHandler', 'log file'],
  ['logging.handlers.TimedRotatingFileHandler', 'log file'],
  ['logging.handlers.SysLogHandler', 'syslog socket'],
  ['logging.handlers.DatagramHandler', 'UDP socket'],
  ['logging.handlers.SocketHandler', 'socket'],
  ['statsd.StatsClient', 'UDP socket'],
  ['statsd.client.StatsClient', 'UDP socket'],
  ['datadog.dogstatsd.DogStatsd', 'UDP socket'],
]);

/**
 * Methods that register an object in a process-wide registry: a logging handler added to a
 * logger lives as long as the process, so its descriptor is cached even when the variable
 * that held it was local.
 */
export const PY_HANDLER_REGISTRATIONS: ReadonlySet<string> = new Set(['addHandler']);

/** The descriptor sources that are logging handlers (what {@link PY_HANDLER_REGISTRATIONS} register). */
export const PY_LOG_HANDLER_SOURCES: ReadonlySet<string> = new Set([...PY_FD_SOURCES.keys()].filter((k) => k.startsWith('logging.')));

/** `os.fstat(fd)` plus a comparison of these fields re-validates a cached descriptor. */
export const PY_FSTAT_CALLS: ReadonlySet<string> = new Set(['os.fstat']);
export const PY_IDENTITY_FIELDS: ReadonlySet<string> = new Set(['st_ino', 'st_dev']);

/** Registration of fork handlers; `childKeyword` names the handler that runs in the child. */
export const PY_AT_FORK_CALLS: ReadonlyMap<string, { childKeyword?: string; childArg?: number; beforeKeyword?: string }> = new Map([
  ['os.register_at_fork', { childKeyword: 'after_in_child', beforeKeyword: 'before' }],
  ['multiprocessing.util.register_after_fork', { childArg: 1 }],
]);

/**
 * `multiprocessing.util.register_after_fork(obj, fn)`: the child calls `fn(obj)`; the position
 * of `obj`, which becomes the handler's first argument.
 */
export const PY_AT_FORK_OBJECT_ARG: ReadonlyMap<string, number> = new Map([['multiprocessing.util.register_after_fork', 0]]);

/**
 * Methods that, called on a pool or cache in an at-fork child handler, leave the child without
 * the parent's descriptors: the container is emptied, the object closed or disposed.
 */
export const PY_RESET_METHODS: ReadonlySet<string> = new Set(['clear', 'close', 'dispose']);
