/**
 * The shapes of the Python program facts: plain JSON records, one kind per thing a file can
 * contribute to the whole-program model (imports, functions, calls, thread and process
 * starts, fork/close-all/exec sites, descriptor caches, heartbeat and monkey-patch evidence).
 */
import type { Position, Range } from '../../text/locations';
import type { PySetupEntryPoints } from './setup-py';

export interface PyFactBase {
  range: Range;
  /** Qualified name of the function whose body runs this (`''`: module level / class body). */
  enclosingFunction: string;
  /** Inside the module's `if __name__ == "__main__":` block. */
  underMainGuard?: boolean;
  /** Under an `if`/`try`/loop/`with` of its scope (it may not run). */
  conditional?: boolean;
  /**
   * Inside branches that test what a call of its scope gave (`if inspect.isgenerator(result):`
   * with `result = await self.execute(...)`): it runs only when that value is of one of the
   * branch's kinds (`value-kinds.ts`).
   */
  valueGuards?: PyValueGuard[];
  /**
   * Inside branches of `if flag:` / `if not self.flag:` (their `else`/`elif` too), where the
   * flag is a parameter the function never re-binds or an attribute of `self`: it runs only
   * when the flag has the truth value given (`flag-values.ts`). A flag whose value the program
   * model does not know takes every branch.
   */
  flagGuards?: PyFlagGuard[];
  /**
   * Inside branches of `if`/`elif`/`else` chains (not inside a loop of its function): the
   * chain (where its `if` starts) and the branch (0: the first). One run of the function takes
   * one branch of each such chain (`flag-values.ts`).
   */
  branches?: PyBranch[];
}

/** One branch of an `if`/`elif`/`else` chain. */
export interface PyBranch {
  at: Position;
  index: number;
}

/** A literal a flag may hold: `True`, `False`, `None`. */
export type PyFlag = boolean | null;

/** A branch taken only when a flag has one truth value. */
export interface PyFlagGuard {
  /** A parameter of the function (`if daemon:`) or an attribute of `self` (`if self._daemon:`). */
  subject: { param: string } | { attr: string };
  /** The branch runs when the flag is truthy (`if x:`), or when it is falsy (`else:`, `if not x:`). */
  truthy: boolean;
}

/** One argument of a call (`flagArgs` lists them all): a literal flag, a parameter of the caller, or another value. */
export interface PyFlagArgument {
  /** Its position among the positional arguments, or its keyword. */
  at: number | string;
  /** A literal `True`/`False`/`None`. */
  value?: PyFlag;
  /** A parameter of the calling function, passed on unchanged (never re-bound there). */
  param?: string;
  /** A read of the caller's own state: `self.conf["k"]` / `self.conf.get("k", …)` → `conf[k]`, `self.flag` → `flag`. */
  read?: string;
}

/** A parameter a call can bind (those after `self`/`cls` for methods), with its literal default. */
export interface PyParameter {
  name: string;
  /** Keyword-only (after `*` or `*args`). */
  keywordOnly?: boolean;
  /** A literal `True`/`False`/`None` default. */
  default?: PyFlag;
}

/** What calling a function gives, when its definition says: a generator, an async generator, a coroutine. */
export type PyValueKind = 'generator' | 'async-generator' | 'coroutine';

/** A branch taken only for some kinds of the value one call gave. */
export interface PyValueGuard {
  /** Where the call starts (the range start of its call fact). */
  subject: Position;
  /** The branch tests `await call(...)`'s value, not the call's. */
  awaited: boolean;
  /** The kinds for which the branch runs (an unknown value takes it too). */
  kinds: PyValueKind[];
}

/** What calling a function gives (`gives`), and for a coroutine what awaiting it gives (`resolves`). */
export interface PyCallOutcome {
  gives?: PyValueKind;
  resolves?: PyValueKind;
}

/** One per file. */
export interface PyModuleFact extends PyFactBase {
  kind: 'py.module';
  /** The `if __name__ == "__main__":` statement, when present. */
  mainGuard?: Range;
  /** A module-level `application = ...` or `def application(...)` (a WSGI entry point). */
  application?: Range;
  /** Where a fix may insert an `import` line (after the last module-level import). */
  importInsert: Position;
  /** A gunicorn configuration's module-level `worker_class = "..."` (`gevent`, `eventlet`, ...). */
  workerClass?: string;
  /** A `setup.py`: the literal `entry_points` of its `setup(...)` call (`setup-py.ts`). */
  setupEntryPoints?: PySetupEntryPoints;
  /**
   * Attribute names the module's own code assigns (`conf.daemon = True`; `*`: a computed name)
   * and the container keys it stores (as {@link PyStoreFact.key}).
   */
  attributeWrites?: string[];
}

/**
 * `import a.b as c` → module `a.b`, bound `c`; `import a.b` → bound `a`;
 * `from ..m import x as y` → level 2, module `m`, names [{name:x, alias:y}].
 */
export interface PyImportFact extends PyFactBase {
  kind: 'py.import';
  module: string;
  level: number;
  boundName?: string;
  names?: { name: string; alias?: string }[];
  star?: boolean;
}

export interface PyFunctionFact extends PyFactBase {
  kind: 'py.function';
  /** Qualified name: `f`, `C.m`, `f.inner`. */
  name: string;
  className?: string;
  /** Module-level names this function assigns through `global`. */
  globalAssigns?: string[];
  /** Class attributes it assigns (`Cls.attr = ...`, `cls.attr = ...`), qualified `Cls.attr`. */
  attributeAssigns?: string[];
  /** Registered by a decorator (`@app.route(...)`, `@atexit.register`): it may run later. */
  registered?: boolean;
  /**
   * What it empties, closes or re-binds besides its own locals (`pool.clear()`, `sock.close()`,
   * `os.close(fd)`, `nonlocal pool; pool = {}`): read when it runs as an at-fork child handler.
   */
  resets?: PyResetTarget[];
  /** Positions of the parameters it empties or closes (`def forget(pool): pool.clear()`). */
  resetParameters?: number[];
  /** Fork calls it replaces with a mock while it runs (`@mock.patch("os.fork")` on a test): `os.fork`. */
  patchedForks?: string[];
  /** Other dotted names it replaces with a mock while it runs (`@mock.patch("app.Arbiter.spawn_worker")`). */
  patchedCallables?: string[];
  /**
   * Of those, the ones patched with a function of this file as `side_effect=` (or `new=`):
   * what calling (and awaiting) that stand-in gives.
   */
  patchedResults?: (PyCallOutcome & { target: string })[];
  /** What calling it gives, read from its definition (`async def` with `yield`: an async generator). */
  outcome?: PyCallOutcome;
  /**
   * The parameters calls bind, when a flag this function tests, stores or passes on is one of
   * them (`flag-values.ts`).
   */
  params?: PyParameter[];
  /** A `@staticmethod` (`Cls.m(a)` binds `a` to its first parameter) or `@classmethod`. */
  methodKind?: 'static' | 'class';
  /**
   * An `__init__`'s unconditional `self.flag = parameter` / `self.flag = False` statements
   * (directly in its body): an object made with known arguments has these attributes.
   */
  flagStores?: { attr: string; param?: string; value?: PyFlag }[];
  /** Attribute names it assigns on any object (`x.a = …`, `setattr(x, "a", …)`; `*`: a computed name). */
  attributeWrites?: string[];
  /**
   * A method that calls its base class's method of the same name (`super().start()`,
   * `threading.Thread.start(self)`): it extends the inherited method instead of replacing it.
   */
  callsBase?: boolean;
}

/**
 * A name an at-fork handler resets, as the handler's scope resolves it: `import` (another
 * module's variable, `store._conns`), `local` (`Cls.attr`), `builtin` (a variable of the
 * handler's own module or an enclosing function's).
 */
export interface PyResetTarget {
  name: string;
  origin: PyNameOrigin;
}

export interface PyClassFact extends PyFactBase {
  kind: 'py.class';
  name: string;
  /** Base classes, resolved like callees (`threading.Thread`, `.base.Worker`, `Local`). */
  bases: { name: string; origin: PyNameOrigin }[];
  /**
   * Class-body attributes that hold a class: `job_class = Job`, `job_class: type[Job]`
   * (`self.job_class.make()` and `self.job_class(...)` reach that class). Resolved like bases.
   */
  classAttributes?: { name: string; value: string; origin: PyNameOrigin }[];
}

/**
 * How a name was resolved: `import` (through an import of this file: absolute dotted or
 * relative with leading dots), `local` (a def/class of this file: `f`, `C.m`), `builtin`
 * (not bound in the file).
 */
export type PyNameOrigin = 'import' | 'local' | 'builtin';

/** A call that may reach workspace code (knowledge-table calls become their own facts). */
export interface PyCallFact extends PyFactBase {
  kind: 'py.call';
  callee: string;
  origin: PyNameOrigin;
  /**
   * For calls of close-all helpers (by name, `knowledge/python-process.ts`
   * PY_CLOSE_HELPER_NAME): what the keep argument spares: `none` (absent or empty),
   * `stdio-only` (stdin/stdout/stderr only), `named` (besides those, only the descriptors of
   * the objects in `keepNames`: `keepfd=sock.fileno()`), `other` (anything more, or unknown).
   * Also read for any call that passes a keep-like keyword (`keepfd=`).
   */
  keepArgument?: PyKeepArgument;
  /** With `keepArgument: 'named'`: the objects whose descriptors are kept (`sock` for `sock.fileno()`). */
  keepNames?: string[];
  /** `return f(...)`: the function leaves right after this call. */
  returned?: boolean;
  /**
   * Every argument, when one is a literal flag or the caller's own parameter, or none is
   * passed (`[]`); absent otherwise (`flag-values.ts`).
   */
  flagArgs?: PyFlagArgument[];
  /** `self.m(...)`: the callee runs on the caller's own object. */
  onSelf?: boolean;
}

/** What a close-all call's keep argument spares. */
export type PyKeepArgument = 'none' | 'stdio-only' | 'named' | 'other';

/**
 * `with factory(...):` / `with Cls(...) as x:`: the object the call gives is entered, so its
 * class's `__enter__` runs right after the call (`with detached(...)` runs the daemonizer).
 */
export interface PyWithEnterFact extends PyFactBase {
  kind: 'py.with-enter';
  callee: string;
  origin: PyNameOrigin;
}

/**
 * `x.m(...)` where `x` is what a call gave (`Cls(...).m()`, `x = make(); x.m()`,
 * `with make() as x: x.m()`, `self.x = make()` then `self.x.m()`): the program model runs the
 * method `m` of the class `producer` makes — the class itself, or the class of the objects a
 * function or classmethod returns (`py.returns-object`).
 */
export interface PyMethodCallFact extends PyFactBase {
  kind: 'py.method-call';
  /** The call that made the receiver, resolved like a callee. */
  producer: string;
  origin: PyNameOrigin;
  method: string;
  /** `return x.m(...)`: the function leaves right after this call. */
  returned?: boolean;
  /** The receiver is a module imported by computed name (`importlib.import_module(...)`). */
  module?: PyComputedModule;
  /**
   * Where the call that made the receiver starts, when the receiver is a local name bound only
   * to that call (or `None`): the object's flags are the ones that call gave it.
   */
  producerAt?: Position;
  /** Every argument, as for {@link PyCallFact.flagArgs}. */
  flagArgs?: PyFlagArgument[];
}

/** A module named at run time: the whole name when it is a literal, else its constant beginning. */
export interface PyComputedModule {
  name: string;
  prefix: boolean;
}

/**
 * `importlib.import_module("plugins." + name)` / `__import__(name)`: imports a module whose
 * name is computed; the model runs the workspace modules the name can denote.
 */
export interface PyComputedImportFact extends PyFactBase, PyComputedModule {
  kind: 'py.import-computed';
}

/**
 * `plug = getattr(mod, name); plug(core)` (or `getattr(mod, name)(core)`), where `mod` is a
 * module imported by computed name (through names, attributes and further `getattr` lookups:
 * `getattr(__import__("app.plugins." + n).plugins, n)`): the call runs a member of one of the
 * modules the name can denote — a function, or a class's `__init__` (it makes an object).
 */
export interface PyComputedMemberCallFact extends PyFactBase {
  kind: 'py.computed-member-call';
  /** The computed module name the lookup starts from. */
  module: PyComputedModule;
  /**
   * Which member: `named` a literal (`getattr(mod, "Plugin")`), members starting with a
   * constant beginning (`"cmd_" + verb`), members `like-module` — named like their module
   * (the name looked up is made from the same variable as the module's name:
   * `import_module("jobs." + name)`, `getattr(mod, name)`) — or `any` top-level member.
   */
  member: { kind: 'named'; name: string } | { kind: 'prefix'; prefix: string } | { kind: 'like-module' } | { kind: 'any' };
  /** The lookup as written, for messages (`getattr(mod, name)`). */
  lookup: string;
  returned?: boolean;
}

/**
 * `return Cls(...)` in a function: the function hands out an object of that (likely) class;
 * in a method, `return cls(...)` and the singleton `return cls._instance` (after
 * `cls._instance = cls(...)`) hand out one of its own class.
 */
export interface PyReturnsObjectFact extends PyFactBase {
  kind: 'py.returns-object';
  constructorName: string;
  origin: PyNameOrigin;
}

/** `__enter__ = open` in a class body: the special method is another method of the class. */
export interface PyMethodAliasFact extends PyFactBase {
  kind: 'py.method-alias';
  className: string;
  alias: string;
  target: string;
}

/**
 * A function or class passed as an argument (`Thread(target=work)`, `signal.signal(s, h)`,
 * `atexit.register(f)`): it may run later, when the callee calls it back.
 */
export interface PyRefFact extends PyFactBase {
  kind: 'py.ref';
  name: string;
  origin: PyNameOrigin;
}

export interface PyThreadStartFact extends PyFactBase {
  kind: 'py.thread-start';
  /** The starter as named in the knowledge table, plus the method when one starts it. */
  api: string;
  note: string;
  /** The function the thread runs (`Thread(target=f)`, `Timer(5, f)`), resolved like a callee. */
  target?: { name: string; origin: PyNameOrigin };
  /**
   * A pool's method given the function its worker threads run (`pool.map(work, jobs)`),
   * resolved like a callee: the function runs while the pool's threads do.
   */
  runs?: { name: string; origin: PyNameOrigin };
  /** Made from an unpatched original (`eventlet.patcher.original('threading').Thread`): stays native under monkey patching. */
  native?: boolean;
  /** Where the constructor's callee is written (`threading.Thread`): a fix may swap in the original. */
  constructorCallee?: Range;
  /**
   * The function waits for the thread before it returns: `t.join()` / `pool.shutdown()` later
   * in it on every path the start is on, or a pool used as a `with` item (joined when the block ends).
   */
  joined?: boolean;
  /**
   * Kept in `self.<attr>` and joined by these methods of the class (`Cls.stop` calling
   * `self._thread.join()`): the thread ends when program order runs one of them.
   */
  joinedBy?: string[];
}

/**
 * `eventlet.monkey_patch(...)`, `gevent.monkey.patch_all(...)`, `patch_thread()`: whether
 * threads become green, read from the literal keywords (`unknown` when they are computed).
 */
export interface PyMonkeyPatchFact extends PyFactBase {
  kind: 'py.monkey-patch';
  api: string;
  library: 'eventlet' | 'gevent';
  threads: 'yes' | 'no' | 'unknown';
  /** How to make the call keep threads native: insert `thread=False`, or replace the keyword's value. */
  threadFix?: { kind: 'insert'; insertAt: Position; needsComma: boolean; keyword: string } | { kind: 'replace'; range: Range; keyword: string };
  /** The module-level statement holding the call, alone on its lines: full-line range and text. */
  statement?: { range: Range; text: string };
  /** Where the module's first statement goes (after its docstring and `from __future__` imports). */
  firstStatement: Position;
  /** The local name the callee is reached through (`eventlet`, `monkey`). */
  localName: string;
}

/**
 * A function whose body keeps a connection alive: a loop that sends a heartbeat/ping and
 * waits (`how: 'loop'`), or a call that runs a connection's I/O loop (`how: 'drive'`).
 * The range is the loop (or the driving call); `enclosingFunction` is the function.
 */
export interface PyKeepAliveFact extends PyFactBase {
  kind: 'py.keepalive';
  how: 'loop' | 'drive';
  /** The heartbeat or driving call as written (`conn.heartbeat_check()`). */
  call: string;
  /**
   * When the loop waits inside a function of this file that it calls rather than in the loop
   * itself: that call as written and the wait it reaches (`self._check()` → `time.sleep()`).
   */
  waitsThrough?: { call: string; wait: string; line: number };
}

/** A library connection with heartbeats (`knowledge/python-heartbeat.ts`). */
export interface PyHeartbeatConnectionFact extends PyFactBase {
  kind: 'py.hb-connection';
  api: string;
  library: string;
  /** The library runs the heartbeat in a thread of its own. */
  background: boolean;
  /** The connection opens (and its heartbeat starts) only when the object is first used (`py.transport-use`). */
  onUse?: boolean;
  /** With `onUse`: what uses it (`rpc`, `notification`, `any`). */
  usedBy?: 'rpc' | 'notification' | 'any';
  note: string;
}

/**
 * A call that uses an oslo.messaging transport, so that it opens a connection: a send or a
 * server start on an object built on it (`client.prepare(...).cast()`, `notifier.info()`,
 * `server.start()`), or a transport internal that connects (`transport._driver._get_connection()`).
 * The object is known in this file (`user`), or it came from a call of `producer` (a wrapper
 * such as `rpc.get_client(...)`): the model then asks whether that function returns one
 * (`py.returns-transport-user`).
 */
export interface PyTransportUseFact extends PyFactBase {
  kind: 'py.transport-use';
  /** The call as written, shortened (`cctxt.cast()`). */
  call: string;
  /** The method called on the user (`cast`), or for a transport internal its path (`_driver._get_connection`). */
  method: string;
  /** The knowledge-table name of what the receiver is (`oslo_messaging.RPCClient`), or `transport` for a transport internal. */
  user?: string;
  producer?: { name: string; origin: PyNameOrigin };
}

/** `return oslo_messaging.RPCClient(...)` (or `return NOTIFIER.prepare(...)` of a notifier): the function hands out a transport user. */
export interface PyReturnsTransportUserFact extends PyFactBase {
  kind: 'py.returns-transport-user';
  user: string;
}

/** A call that keeps a green hub running (a green server loop). */
export interface PyHubDriverFact extends PyFactBase {
  kind: 'py.hub-driver';
}

/** A native primitive created (lock, socket, SSL context): created before a patch call, it stays native. */
export interface PyNativePrimitiveFact extends PyFactBase {
  kind: 'py.native-primitive';
  api: string;
  what: string;
}

/** `.start()` on an object whose class is not in the tables (maybe a workspace Thread/Process subclass). */
export interface PyObjectStartFact extends PyFactBase {
  kind: 'py.object-start';
  constructorName: string;
  origin: PyNameOrigin;
  method: string;
  /** As for {@link PyMethodCallFact.producerAt}. */
  producerAt?: Position;
  /** Every argument, as for {@link PyCallFact.flagArgs}. */
  flagArgs?: PyFlagArgument[];
}

/** How a fork fix edits this file (multiprocessing only). */
export type PyForkFix =
  | { kind: 'callee'; range: Range; attribute: string }
  | { kind: 'kwarg'; keyword: string; insertAt: Position; needsComma: boolean }
  | { kind: 'literal'; range: Range };

export interface PyForkFact extends PyFactBase {
  kind: 'py.fork';
  api: string;
  via: 'os' | 'multiprocessing' | 'daemonizer';
  /** multiprocessing: `default`, `unknown`, or the literal method (`fork`, `spawn`, `forkserver`). */
  startMethod?: string;
  /** What the child does: replaces itself, exits, or keeps running the program. */
  child: 'exec' | 'exit' | 'continues';
  /** The parent exits right after the fork (daemonizing): the code after it is the child's. */
  parentExits?: boolean;
  /** This fork runs inside the child of an earlier fork of the same function (double fork). */
  inChild?: boolean;
  /** The first fork of the double-fork daemon recipe (`fork`, `setsid`, `fork`, parents exit). */
  daemonize?: boolean;
  /** The object also starts helper threads in the parent (Pool, ProcessPoolExecutor). */
  threadsAfter?: boolean;
  fix?: PyForkFix;
}

export interface PyCloseAllFact extends PyFactBase {
  kind: 'py.close-all';
  api: string;
  /** Descriptors to keep are excluded (a keep-list, `files_preserve=`). */
  keepList: boolean;
  /** An `exec*`/`os._exit` follows in the same function. */
  execFollows: boolean;
  /** It runs in the child of a fork of the same function. */
  inChild?: boolean;
  /** For daemonizers: where `files_preserve=[...]` could be inserted. */
  keepInsert?: { keyword: string; insertAt: Position; needsComma: boolean };
  /**
   * The enclosing function spares the descriptors its caller passes in this parameter
   * (`def close_open_fds(keep=None)`): each call's keep argument decides (PyCallFact.keepArgument).
   */
  keepParameter?: string;
  /**
   * A loop whose keep condition we can read: it spares only the descriptors of these objects
   * (`fd != sock.fileno()`), and with `keepFromCaller` what a caller passed in
   * (`fd not in self.keep_fds`, assigned from a parameter); every other cached descriptor is closed.
   */
  keepNames?: string[];
  keepFromCaller?: boolean;
}

export interface PyExecFact extends PyFactBase {
  kind: 'py.exec';
  /** True for `_exit`/`sys.exit`, false for `exec*`. */
  exits: boolean;
  /** In an `except` clause: it runs only when the `try` body raised, not on the normal path. */
  onError?: boolean;
}

export interface PyFdCacheFact extends PyFactBase {
  kind: 'py.fd-cache';
  /**
   * The variable (`_fd`) or class attribute (`Cls._fd`); for a `registry` handler, the local
   * name it was bound to (or the handler class when it is built in the call).
   */
  name: string;
  /**
   * `registry`: a logging handler added to a logger (`logger.addHandler(h)`): the logging
   * module keeps it for the life of the process, wherever the variable was.
   */
  storage: 'module' | 'class' | 'global' | 'registry' | 'pool';
  api: string;
  what: string;
  /** Opened on first use (`if _fd is None: _fd = ...`) or inside a function. */
  lazy: boolean;
  /** The right-hand side as written (for the re-open fix). */
  rightHandSide: string;
  /**
   * `pool`: objects owning descriptors kept in a container that outlives the call (`files[k] =
   * Store(path)`, `files` a closure or module variable), in code that reads the process id
   * once, here (`def factory(pid=os.getpid())`), and never compares it again: a forked child
   * goes on using the parent's objects.
   */
  pidReadOnce?: Range;
  /** End of the module-level statement that holds the cache (where a fix may add code). */
  topStatementEnd: Position;
}

/** `os.fstat(<names>)` in a function that compares `st_ino`/`st_dev`. */
export interface PyFdRevalidateFact extends PyFactBase {
  kind: 'py.fd-revalidate';
  names: string[];
}

export interface PyAtForkFact extends PyFactBase {
  kind: 'py.at-fork';
  /** The child handler, resolved like a callee (or the function a lambda or `functools.partial` calls). */
  handler?: string;
  origin?: PyNameOrigin;
  /**
   * The positional arguments the handler gets (`functools.partial(forget, pool)`;
   * `register_after_fork(obj, fn)` calls `fn(obj)`): a reset of that parameter resets them.
   */
  bound?: (PyResetTarget | null)[];
  /** What the handler resets by itself: `pool.clear` as the handler, a lambda's `sock.close()`. */
  resets?: PyResetTarget[];
  /**
   * Names the `before` handler calls when it is a function of this file (`_before_fork` calling
   * `server._stop_for_fork()` → `_stop_for_fork`): a thread of this file joined by one of them
   * is stopped before every fork.
   */
  beforeCalls?: string[];
}

export interface PyStartMethodFact extends PyFactBase {
  kind: 'py.start-method';
  method: string;
}

export type PythonFact =
  | PyModuleFact
  | PyImportFact
  | PyFunctionFact
  | PyClassFact
  | PyCallFact
  | PyMethodCallFact
  | PyComputedImportFact
  | PyComputedMemberCallFact
  | PyRefFact
  | PyThreadStartFact
  | PyObjectStartFact
  | PyForkFact
  | PyCloseAllFact
  | PyExecFact
  | PyFdCacheFact
  | PyFdRevalidateFact
  | PyAtForkFact
  | PyStartMethodFact
  | PyMonkeyPatchFact
  | PyKeepAliveFact
  | PyHeartbeatConnectionFact
  | PyTransportUseFact
  | PyReturnsTransportUserFact
  | PyHubDriverFact
  | PyNativePrimitiveFact
  | PyWithEnterFact
  | PyReturnsObjectFact
  | PyMethodAliasFact
  | PyStoreFact;

/**
 * A store into a container held in an attribute, inside a function: `self.conf["k"] = …` →
 * `conf[k]`, a computed key or `x.conf.update(…)` → `conf[*]`, a number or slice → `conf[#]`.
 * The program model keeps reads of the same state apart across it (`flag-values.ts`).
 */
export interface PyStoreFact extends PyFactBase {
  kind: 'py.store';
  key: string;
}
