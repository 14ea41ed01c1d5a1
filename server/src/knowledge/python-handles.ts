/**
 * What the Python handle analysis knows about libraries, in one place (architecture: knowledge
 * lives in data tables). Names are fully qualified as the import resolver spells them:
 * `open` is the builtin, `io.open` is `from io import open` or `io.open`, `socket.socket` is
 * also `import socket as s; s.socket` and `from socket import socket`.
 */
import { PY_EXEC_CALLS, PY_EXIT_CALLS } from './python-process';

/**
 * How a handle is released:
 * - `file`: file-like objects (`close()`, `with`);
 * - `socket`: sockets (`close()`, `with`, `detach()` hands the descriptor on);
 * - `process`: `subprocess.Popen` (see {@link PROCESS_RELEASE_METHODS});
 * - `fd`: a raw integer descriptor from `os.open` (`os.close(fd)`, or ownership moves to
 *   `os.fdopen(fd)`/`open(fd)`).
 */
export type PyHandleKind = 'file' | 'socket' | 'process' | 'fd';

export interface PyOpener {
  kind: PyHandleKind;
  /**
   * `with <call> as name:` keeps behaviour: the object is a context manager whose exit only
   * closes it. False for `Popen` (its `__exit__` also waits for the child, which the original
   * code may not do) and for `os.open` (an int is not a context manager).
   */
  withFix: boolean;
  /**
   * Methods that release it besides those of its kind ({@link RELEASE_METHODS}): set for the
   * openers a user declares in `.hazard-lens.json` (`knowledge.ts`).
   */
  releaseMethods?: ReadonlySet<string>;
}

const FILE: PyOpener = { kind: 'file', withFix: true };
const SOCKET: PyOpener = { kind: 'socket', withFix: true };

/**
 * A method named `open` called on a value that is not a module, with a file mode as its first
 * argument or as `mode=`: `pathlib.Path.open("rb")`, and the same method of path-like and
 * file-system objects (`zipfile.Path`, fsspec file systems, paramiko's SFTP client). It
 * returns a file object, as the builtin `open()` does; without a mode (`webbrowser.open(url)`,
 * a dialog's `open()`) nothing says it is a file.
 */
export const FILE_MODE_OPENER: { method: string; mode: RegExp; opener: PyOpener } = {
  method: 'open',
  mode: /^(?=[^rwax]*[rwax][^rwax]*$)[rwaxbtU+]{1,4}$/,
  opener: { kind: 'file', withFix: true },
};

/**
 * Decorators that make a generator a context manager or a fixture: what it yields is lent to
 * the `with` body (or the test) and comes back, and the code after the `yield` is where the
 * generator must release what it opened. A `yield` in any other generator hands the value on.
 */
export const LENDING_GENERATOR_DECORATORS: ReadonlySet<string> = new Set([
  'contextlib.contextmanager',
  'contextlib.asynccontextmanager',
  'pytest.fixture',
  'pytest_asyncio.fixture',
]);

/** Calls that produce a handle the caller must release. */
export const PY_OPENERS: ReadonlyMap<string, PyOpener> = new Map<string, PyOpener>([
  ['open', FILE],
  ['builtins.open', FILE],
  ['io.open', FILE],
  ['io.FileIO', FILE],
  ['codecs.open', FILE],
  ['os.fdopen', FILE],
  // os.popen returns a wrapper whose close() also waits for the shell; it is a context manager.
  ['os.popen', FILE],
  ['tempfile.TemporaryFile', FILE],
  ['tempfile.NamedTemporaryFile', FILE],
  ['tempfile.SpooledTemporaryFile', FILE],
  ['gzip.open', FILE],
  ['bz2.open', FILE],
  ['lzma.open', FILE],
  ['zipfile.ZipFile', FILE],
  ['tarfile.open', FILE],
  ['socket.socket', SOCKET],
  ['socket.create_connection', SOCKET],
  ['socket.create_server', SOCKET],
  ['socket.fromfd', SOCKET],
  ['subprocess.Popen', { kind: 'process', withFix: false }],
  ['os.open', { kind: 'fd', withFix: false }],
]);

/**
 * Last segments of every opener name. An alias always spells the original name in its import
 * statement, so a file whose text contains none of these words cannot open a handle: the
 * analyser returns at once without walking the tree. (The built-in openers only: the analyser
 * reads `knowledge.ts` `PythonKnowledge.openerWords`, which adds the user's models.)
 */
export const OPENER_WORDS: readonly string[] = [...new Set([...PY_OPENERS.keys()].map((q) => q.slice(q.lastIndexOf('.') + 1)))];

/** Methods that release a handle of the given kind when called on it. */
export const RELEASE_METHODS: Record<PyHandleKind, ReadonlySet<string>> = {
  file: new Set(['close', '__exit__', '__aexit__']),
  socket: new Set(['close', '__exit__']),
  // NOTE: what really releases a Popen. It holds up to three pipe descriptors (when created
  // with stdin/stdout/stderr=PIPE) and the child process (a zombie until it is reaped).
  // - `with Popen(...) as p:` and `p.__exit__` close the pipes and wait: released.
  // - `p.communicate()` reads the pipes to EOF, closes them and waits: released.
  // - `p.wait()` reaps the child but leaves the pipes open: it releases a Popen only when it
  //   was created without any PIPE (then the child is the only resource) — see
  //   PROCESS_RELEASE_WHEN_NO_PIPES.
  // - `p.kill()`, `p.terminate()`, `p.poll()` release nothing.
  process: new Set(['__exit__', 'communicate']),
  fd: new Set<string>(),
};

/** Popen methods that release it only when no stream was created with `PIPE`. */
export const PROCESS_RELEASE_WHEN_NO_PIPES: ReadonlySet<string> = new Set(['wait']);

/** Popen keyword arguments whose value `PIPE` makes the parent own a descriptor. */
export const PROCESS_PIPE_KEYWORDS: ReadonlySet<string> = new Set(['stdin', 'stdout', 'stderr']);

/** Methods that hand the underlying descriptor to the caller (ownership moves). */
export const DETACH_METHODS: ReadonlySet<string> = new Set(['detach']);

/**
 * Attributes that, read without calling them, give someone else the duty to close
 * (`stack.callback(f.close)`, `self.addCleanup(f.close)`, `weakref.finalize(o, f.close)`).
 */
export const CLOSER_ATTRIBUTES: ReadonlySet<string> = new Set(['close', '__exit__', '__aexit__', 'communicate', 'wait', 'detach']);

/** Calls that release an `os.open` descriptor passed to them. */
export const FD_RELEASE_CALLS: ReadonlySet<string> = new Set(['os.close', 'os.closerange']);

/** Calls that take over an `os.open` descriptor (they close it when they are closed). */
export const FD_OWNER_CALLS: ReadonlySet<string> = new Set([
  'os.fdopen',
  'open',
  'builtins.open',
  'io.open',
  'io.FileIO',
  'socket.socket',
  'socket.fromfd',
]);

/**
 * Calls that take ownership of a handle passed to them: closers and wrappers that close what
 * they wrap (an `io.TextIOWrapper` closes its buffer; a `GzipFile` does not close a `fileobj`,
 * so it is not listed).
 */
export const OWNER_CALLS: ReadonlySet<string> = new Set([
  'contextlib.closing',
  'contextlib.aclosing',
  'weakref.finalize',
  'atexit.register',
  'setattr',
  'io.TextIOWrapper',
  'io.BufferedReader',
  'io.BufferedWriter',
  'io.BufferedRandom',
  'io.BufferedRWPair',
  'codecs.StreamReaderWriter',
  'codecs.StreamReader',
  'codecs.StreamWriter',
  // lower-case classes that keep what they are given
  'asyncore.dispatcher',
  'asyncore.dispatcher_with_send',
  'asynchat.async_chat',
  'urllib.response.addinfourl',
  'urllib.response.addinfo',
  'urllib.response.addbase',
  'urllib.response.addclosehook',
]);

/**
 * Methods (on any receiver) that hand a handle to another owner: an `ExitStack`, a test's
 * cleanups, a container, a selector or event loop that closes what it was given.
 */
export const OWNER_METHODS: ReadonlySet<string> = new Set([
  'enter_context',
  'enter_async_context',
  'push',
  'push_async_exit',
  'callback',
  'push_async_callback',
  'addCleanup',
  'addClassCleanup',
  'addAsyncCleanup',
  'enterContext',
  'enterClassContext',
  'enterAsyncContext',
  'append',
  'appendleft',
  'add',
  'insert',
  'extend',
  'setdefault',
  'put',
  'put_nowait',
  'register',
  // `super().__init__(sock)`, `Base.__init__(self, sock)`: the object being built keeps it.
  '__init__',
  // ssl: the SSLSocket detaches the wrapped socket's descriptor and owns it.
  'wrap_socket',
  // asyncio event loops: a transport or server takes over the socket/pipe it is given.
  'create_server',
  'create_connection',
  'create_datagram_endpoint',
  'create_unix_server',
  'create_unix_connection',
  'connect_accepted_socket',
  'start_server',
  'start_unix_server',
  'open_connection',
  'open_unix_connection',
  'connect_read_pipe',
  'connect_write_pipe',
]);

/** Calls that return their (last) argument unchanged: the handle flows through them. */
export const PASSTHROUGH_CALLS: ReadonlySet<string> = new Set(['typing.cast', 'typing_extensions.cast']);

/**
 * Capitalised callees are taken to be classes that keep (and later close) a handle passed to
 * their constructor; these well-known ones only borrow it.
 */
export const BORROWING_CLASSES: ReadonlySet<string> = new Set([
  'pickle.Pickler',
  'pickle.Unpickler',
  'csv.DictReader',
  'csv.DictWriter',
  'zipfile.ZipFile',
  'tarfile.TarFile',
  'gzip.GzipFile',
  'bz2.BZ2File',
  'lzma.LZMAFile',
  'wave.Wave_read',
  'wave.Wave_write',
  'configparser.ConfigParser',
  'xml.etree.ElementTree.ElementTree',
]);

/** Calls after which the process is gone (its descriptors are reclaimed): like C `exit()`; the exits and execs of the FORK/FD tables. */
export const PROCESS_EXIT_CALLS: ReadonlySet<string> = new Set([...PY_EXIT_CALLS, ...PY_EXEC_CALLS]);

/**
 * Exception names taken to cover whatever a handle's operations raise. A `try` whose handlers
 * include one of them sends the body's exceptions to those handlers only; with narrower
 * handlers (`except ValueError:`) other exceptions also leave the `try`.
 */
export const BROAD_EXCEPTIONS: ReadonlySet<string> = new Set([
  'Exception',
  'BaseException',
  'OSError',
  'IOError',
  'EnvironmentError',
  'error',
  'socket.error',
  'os.error',
  'select.error',
]);

/**
 * Calls taken not to raise, so they add no exception edge between an open and its close:
 * builtins and container/string methods whose failure would be a programming error rather than
 * a condition to handle. (Everything else that calls, subscripts or awaits may raise.)
 */
export const NON_RAISING_FUNCTIONS: ReadonlySet<string> = new Set([
  'len',
  'isinstance',
  'issubclass',
  'id',
  'hasattr',
  'callable',
  'type',
  'repr',
  'str',
  'bool',
  'print',
  'super',
  'locals',
  'globals',
  'range',
  'enumerate',
  'zip',
  'reversed',
]);

export const NON_RAISING_METHODS: ReadonlySet<string> = new Set([
  'append',
  'appendleft',
  'add',
  'discard',
  'extend',
  'get',
  'items',
  'keys',
  'values',
  'copy',
  'setdefault',
  'clear',
  'lower',
  'upper',
  'strip',
  'lstrip',
  'rstrip',
  'startswith',
  'endswith',
  'split',
  'rsplit',
  'splitlines',
  'replace',
  // Closing one handle in a finally before closing the next is the universal idiom; a close
  // that fails (a flush error) is not modelled as leaking the next one.
  'close',
  'addCleanup',
  // Socket mode setters fail only on a closed socket or a wrong argument type.
  'setblocking',
  'settimeout',
]);

/**
 * Methods by which an object releases what it holds (`Log.close()`, `__exit__`): a class
 * that keeps a handle in a field of its own must release the field in one of them, or in a
 * method of the class they call.
 */
export const OWNER_RELEASE_METHODS: ReadonlySet<string> = new Set(['close', 'aclose', '__exit__', '__aexit__', 'shutdown', 'cleanup', 'release', 'dispose', 'terminate']);

/**
 * Top-level modules of the Python standard library (CPython 3.11's
 * `sys.stdlib_module_names`, private ones left out). A call through one of them is never a
 * workspace helper whose summary could make its result a handle, so the analysis does not
 * follow it as one (the openers among them are in the tables above).
 */
export const STDLIB_MODULES: ReadonlySet<string> = new Set([
  'abc', 'aifc', 'antigravity', 'argparse', 'array', 'ast', 'asynchat', 'asyncio', 'asyncore',
  'atexit', 'audioop', 'base64', 'bdb', 'binascii', 'bisect', 'builtins', 'bz2', 'cProfile',
  'calendar', 'cgi', 'cgitb', 'chunk', 'cmath', 'cmd', 'code', 'codecs', 'codeop', 'collections',
  'colorsys', 'compileall', 'concurrent', 'configparser', 'contextlib', 'contextvars', 'copy',
  'copyreg', 'crypt', 'csv', 'ctypes', 'curses', 'dataclasses', 'datetime', 'dbm', 'decimal',
  'difflib', 'dis', 'distutils', 'doctest', 'email', 'encodings', 'ensurepip', 'enum', 'errno',
  'faulthandler', 'fcntl', 'filecmp', 'fileinput', 'fnmatch', 'fractions', 'ftplib', 'functools',
  'gc', 'genericpath', 'getopt', 'getpass', 'gettext', 'glob', 'graphlib', 'grp', 'gzip',
  'hashlib', 'heapq', 'hmac', 'html', 'http', 'idlelib', 'imaplib', 'imghdr', 'imp', 'importlib',
  'inspect', 'io', 'ipaddress', 'itertools', 'json', 'keyword', 'lib2to3', 'linecache', 'locale',
  'logging', 'lzma', 'mailbox', 'mailcap', 'marshal', 'math', 'mimetypes', 'mmap', 'modulefinder',
  'msilib', 'msvcrt', 'multiprocessing', 'netrc', 'nis', 'nntplib', 'nt', 'ntpath', 'nturl2path',
  'numbers', 'opcode', 'operator', 'optparse', 'os', 'ossaudiodev', 'pathlib', 'pdb', 'pickle',
  'pickletools', 'pipes', 'pkgutil', 'platform', 'plistlib', 'poplib', 'posix', 'posixpath',
  'pprint', 'profile', 'pstats', 'pty', 'pwd', 'py_compile', 'pyclbr', 'pydoc', 'pydoc_data',
  'pyexpat', 'queue', 'quopri', 'random', 're', 'readline', 'reprlib', 'resource', 'rlcompleter',
  'runpy', 'sched', 'secrets', 'select', 'selectors', 'shelve', 'shlex', 'shutil', 'signal',
  'site', 'smtpd', 'smtplib', 'sndhdr', 'socket', 'socketserver', 'spwd', 'sqlite3', 'sre_compile',
  'sre_constants', 'sre_parse', 'ssl', 'stat', 'statistics', 'string', 'stringprep', 'struct',
  'subprocess', 'sunau', 'symtable', 'sys', 'sysconfig', 'syslog', 'tabnanny', 'tarfile',
  'telnetlib', 'tempfile', 'termios', 'textwrap', 'this', 'threading', 'time', 'timeit', 'tkinter',
  'token', 'tokenize', 'tomllib', 'trace', 'traceback', 'tracemalloc', 'tty', 'turtle',
  'turtledemo', 'types', 'typing', 'unicodedata', 'unittest', 'urllib', 'uu', 'uuid', 'venv',
  'warnings', 'wave', 'weakref', 'webbrowser', 'winreg', 'winsound', 'wsgiref', 'xdrlib', 'xml',
  'xmlrpc', 'zipapp', 'zipfile', 'zipimport', 'zlib', 'zoneinfo',
]);
