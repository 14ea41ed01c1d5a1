/**
 * What the C handle analysis knows about libraries, in one place (architecture: "knowledge
 * about libraries lives in data tables"). The analyser in `handles.ts` and the graph
 * builder in `cfg.ts` (with its fact scan, `cfg-facts.ts`) only look names up here; adding an
 * API is a one-line change.
 */

/** How an opener reports failure: a null pointer (`FILE *`, `DIR *`) or a negative fd. */
export type FailureValue = 'null' | 'negative';

export interface OpenerSpec {
  /** The call that releases what this opener returns (used for the quick fix). */
  release: string;
  failure: FailureValue;
  /**
   * Index of an argument whose handle the opener takes over (`fdopen(fd, ...)`: the FILE
   * now owns the fd; `freopen(..., stream)` reuses the stream).
   */
  consumesArg?: number;
  /**
   * A call whose result is thrown away is an idiom, not a leak: `close(0); dup(fd);` puts a
   * copy on the lowest free number on purpose (the pre-`dup2` way to redirect stdin).
   */
  discardedIsIdiom?: boolean;
  /**
   * A workspace function read as an opener because it returns one's result
   * (`analysis/c/helper-openers.ts`): what it does with its arguments is not this table's
   * business, so they are read as for any other call of that function.
   */
  derived?: boolean;
}

/**
 * Calls that produce a handle the caller must release.
 *
 * NOTE: `freopen` is deliberately absent: it returns the stream it was given (reopened), and
 * that stream is often `stdin`/`stdout`. See `CONSUMERS` for what it does to its argument.
 *
 * NOTE: `dup2`/`dup3` are deliberately absent. They return the *target* descriptor, a
 * number the caller chose (usually 0/1/2, which must stay open), and the result is mostly
 * used as a status (`if (dup2(fd, 1) < 0)`). Treating it as a new handle would flag almost
 * every redirection. `dup` returns a fresh descriptor and is tracked. `pipe`/`socketpair`
 * fill an array and are not tracked (array elements are beyond this analysis).
 */
export const OPENERS: ReadonlyMap<string, OpenerSpec> = new Map<string, OpenerSpec>([
  // stdio streams
  ['fopen', { release: 'fclose', failure: 'null' }],
  ['fopen64', { release: 'fclose', failure: 'null' }],
  ['fdopen', { release: 'fclose', failure: 'null', consumesArg: 0 }],
  ['tmpfile', { release: 'fclose', failure: 'null' }],
  ['tmpfile64', { release: 'fclose', failure: 'null' }],
  ['fmemopen', { release: 'fclose', failure: 'null' }],
  ['open_memstream', { release: 'fclose', failure: 'null' }],
  // pipes to processes
  ['popen', { release: 'pclose', failure: 'null' }],
  // directory streams
  ['opendir', { release: 'closedir', failure: 'null' }],
  ['fdopendir', { release: 'closedir', failure: 'null', consumesArg: 0 }],
  // file descriptors
  ['open', { release: 'close', failure: 'negative' }],
  ['open64', { release: 'close', failure: 'negative' }],
  ['openat', { release: 'close', failure: 'negative' }],
  ['openat64', { release: 'close', failure: 'negative' }],
  ['creat', { release: 'close', failure: 'negative' }],
  ['creat64', { release: 'close', failure: 'negative' }],
  ['socket', { release: 'close', failure: 'negative' }],
  ['accept', { release: 'close', failure: 'negative' }],
  ['accept4', { release: 'close', failure: 'negative' }],
  ['dup', { release: 'close', failure: 'negative', discardedIsIdiom: true }],
  ['epoll_create', { release: 'close', failure: 'negative' }],
  ['epoll_create1', { release: 'close', failure: 'negative' }],
  ['inotify_init', { release: 'close', failure: 'negative' }],
  ['inotify_init1', { release: 'close', failure: 'negative' }],
  ['memfd_create', { release: 'close', failure: 'negative' }],
  ['eventfd', { release: 'close', failure: 'negative' }],
  ['timerfd_create', { release: 'close', failure: 'negative' }],
]);

/**
 * Calls that fill an array argument with two new descriptors (`int fds[2]; pipe(fds)`):
 * which argument, and what the descriptors need. Each element is a handle of its own
 * (`fds[0]`, `fds[1]`); when the call fails (`pipe(fds) < 0`) neither was opened.
 */
export const OUT_ARRAY_OPENERS: ReadonlyMap<string, { arrayArgument: number; elements: number; spec: OpenerSpec }> = new Map([
  ['pipe', { arrayArgument: 0, elements: 2, spec: { release: 'close', failure: 'negative' } }],
  ['pipe2', { arrayArgument: 0, elements: 2, spec: { release: 'close', failure: 'negative' } }],
  ['socketpair', { arrayArgument: 3, elements: 2, spec: { release: 'close', failure: 'negative' } }],
]);

/**
 * Calls that release their first argument. Besides the standard ones, glibc-internal and
 * common wrapper spellings are listed so that code using them is not reported.
 */
export const RELEASERS: ReadonlySet<string> = new Set([
  'fclose',
  'pclose',
  'closedir',
  'close',
  '__close',
  '__close_nocancel',
  '__close_nocancel_nostatus',
  'close_not_cancel',
  'close_not_cancel_no_status',
  '__fclose',
  '_IO_fclose',
  '_IO_new_fclose',
  '__closedir',
  '__pclose',
  '_IO_new_proc_close',
  'fcloseall',
]);

/**
 * Which kind of handle each standard releaser releases. A handle released by a call of
 * another family is not released at all: `fclose()` on a `popen()` stream leaves the child
 * unwaited (a zombie) and its exit status lost, `close()` on a `DIR *` or `FILE *` is
 * undefined behaviour (and leaks the stream's memory), `closedir()` on a `FILE *` likewise.
 */
export const RELEASE_FAMILIES: ReadonlyMap<string, 'stdio' | 'process-pipe' | 'directory' | 'descriptor'> = new Map([
  ['fclose', 'stdio'],
  ['__fclose', 'stdio'],
  ['_IO_fclose', 'stdio'],
  ['_IO_new_fclose', 'stdio'],
  ['pclose', 'process-pipe'],
  ['__pclose', 'process-pipe'],
  ['_IO_new_proc_close', 'process-pipe'],
  ['closedir', 'directory'],
  ['__closedir', 'directory'],
  ['close', 'descriptor'],
  ['__close', 'descriptor'],
  ['__close_nocancel', 'descriptor'],
  ['__close_nocancel_nostatus', 'descriptor'],
  ['close_not_cancel', 'descriptor'],
  ['close_not_cancel_no_status', 'descriptor'],
] as const);

/** Why a handle of each family needs its own releaser (the message of a wrong release). */
export const WRONG_RELEASE_REASONS: Readonly<Record<'stdio' | 'process-pipe' | 'directory' | 'descriptor', string>> = {
  'process-pipe': 'only pclose() is sure to wait for the child; fclose() leaves it a zombie on C libraries such as musl and the BSDs, and loses its exit status',
  directory: 'a DIR * must be released by closedir(), which closes its descriptor and frees it; any other call on it is undefined behaviour',
  stdio: 'a FILE * must be released by fclose(), which flushes and frees it and closes its descriptor',
  descriptor: 'a descriptor is released by close(); a stream releaser given a descriptor is undefined behaviour',
};

/**
 * Calls that read or change a handle without taking it over. A handle passed to any call
 * not listed here (and not defined in the same file) counts as handed over: see
 * `analysis/c/cfg-facts.ts` for why.
 */
export const NON_OWNING_USES: ReadonlySet<string> = new Set([
  // stdio
  'fread', 'fwrite', 'fprintf', 'vfprintf', 'fscanf', 'vfscanf', 'fgets', 'fputs', 'fputc',
  'fgetc', 'getc', 'putc', 'ungetc', 'fflush', 'fseek', 'fseeko', 'fseeko64', 'ftell',
  'ftello', 'ftello64', 'rewind', 'feof', 'ferror', 'clearerr', 'fileno', 'setvbuf',
  'setbuf', 'setbuffer', 'setlinebuf', 'getline', 'getdelim', 'flockfile', 'funlockfile',
  'ftrylockfile', 'fgetpos', 'fsetpos', 'fgetpos64', 'fsetpos64', 'fgetwc', 'fputwc',
  'fgetws', 'fputws', 'getwc', 'putwc', 'fwide', 'fwprintf', 'vfwprintf', 'fwscanf',
  'vfwscanf', 'ungetwc', 'putw', 'getw', 'fpurge', '__fpurge', '__fsetlocking',
  'getc_unlocked', 'putc_unlocked', 'fgetc_unlocked', 'fputc_unlocked', 'fputs_unlocked',
  'fgets_unlocked', 'fread_unlocked', 'fwrite_unlocked', 'fflush_unlocked',
  'fileno_unlocked', 'feof_unlocked', 'ferror_unlocked', 'clearerr_unlocked',
  '__getdelim', '_IO_getc', '_IO_putc', '_IO_getline', '__fxprintf', 'fprintf_unlocked',
  // directory streams
  'readdir', 'readdir64', 'readdir_r', 'readdir64_r', 'rewinddir', 'dirfd', 'telldir',
  'seekdir', '__readdir', '__readdir64', '__dirfd',
  // descriptors
  'read', 'write', 'pread', 'pwrite', 'pread64', 'pwrite64', 'readv', 'writev', 'preadv',
  'pwritev', 'fstat', 'fstat64', 'fstatat', 'fstatat64', 'fstatfs', 'fstatfs64',
  'fstatvfs', 'fstatvfs64', 'fcntl', 'fcntl64', 'ioctl', 'lseek', 'lseek64', 'fsync',
  'fdatasync', 'syncfs', 'ftruncate', 'ftruncate64', 'fchmod', 'fchown', 'fchdir', 'flock',
  'lockf', 'lockf64', 'posix_fadvise', 'posix_fadvise64', 'posix_fallocate',
  'posix_fallocate64', 'fallocate', 'readahead', 'mmap', 'mmap64', 'dprintf', 'vdprintf',
  'isatty', 'ttyname', 'ttyname_r', 'tcgetattr', 'tcsetattr', 'tcflush', 'tcdrain',
  'tcgetpgrp', 'tcsetpgrp', 'fpathconf', 'futimens', 'futimes', 'getdents', 'getdents64',
  'fgetxattr', 'fsetxattr', 'flistxattr', 'fremovexattr', 'sendfile', 'sendfile64',
  'splice', 'tee', 'copy_file_range', 'openat', 'openat64', 'fstatat', 'unlinkat',
  'mkdirat', 'mknodat', 'readlinkat', 'renameat', 'renameat2', 'fchmodat', 'fchownat',
  'faccessat', 'linkat', 'symlinkat', 'utimensat', 'futimesat', 'name_to_handle_at',
  'statx', 'dup', 'dup2', 'dup3', 'ptsname', 'ptsname_r', 'grantpt', 'unlockpt',
  'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'inotify_add_watch', 'inotify_rm_watch',
  'eventfd_read', 'eventfd_write', 'timerfd_settime', 'timerfd_gettime',
  // sockets
  'bind', 'listen', 'connect', 'send', 'recv', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg',
  'sendmmsg', 'recvmmsg', 'setsockopt', 'getsockopt', 'getsockname', 'getpeername',
  'shutdown', 'accept', 'accept4',
  // formatting and logging: a handle printed as a number or pointer is not handed over
  'printf', 'sprintf', 'snprintf', 'vprintf', 'vsprintf', 'vsnprintf', 'asprintf', 'vasprintf',
  'syslog', 'vsyslog', 'warn', 'warnx', 'perror',
  // fd sets and checks that are macros in practice
  'FD_SET', 'FD_CLR', 'FD_ISSET', 'assert',
  // glibc-internal spellings of the calls above
  '__read', '__write', '__read_nocancel', '__write_nocancel', '__pread64_nocancel',
  '__fstat64', '__fstat', '__fxstat64', '__fxstat', '__fstatat64', '__fcntl', '__fcntl64_nocancel',
  '__fcntl_nocancel', '__lseek', '__lseek64', '__ioctl', '__fstatfs', '__fstatfs64', '__fstatvfs64',
  '__mmap', '__mmap64', '__getdents', '__getdents64', '__ftruncate', '__ftruncate64',
  '__fsync', '__connect', '__send', '__recv', '__sendto', '__recvfrom', '__bind', '__getsockname',
  '__setsockopt', '__readv', '__writev', '__fchdir', '__openat', '__openat64', '__fxstatat64',
  '__fstatat', '__isatty', '__tcgetattr', '__sendmsg', '__recvmsg', '__poll',
]);

/**
 * Calls that take over (or may close) the handle passed at the given argument index, other
 * than the releasers. `freopen` closes its stream when it fails and returns the same stream
 * when it succeeds (`fp = freopen(name, "r", fp)`); the analysis stops following the
 * handle there rather than report the failure path as a leak.
 */
export const CONSUMERS: ReadonlyMap<string, number> = new Map([
  ['freopen', 2],
  ['freopen64', 2],
]);

/**
 * Macros that wrap a call without changing its value, looked through when deciding what a
 * call's result is bound to (`fd = TEMP_FAILURE_RETRY (open (...))`) or what a condition
 * tests (`if (__glibc_unlikely (fd < 0))`). The first argument is the wrapped expression.
 */
export const TRANSPARENT_WRAPPERS: ReadonlySet<string> = new Set([
  'TEMP_FAILURE_RETRY',
  '__glibc_unlikely',
  '__glibc_likely',
  '__builtin_expect',
  'likely',
  'unlikely',
  'LIKELY',
  'UNLIKELY',
]);

/** Calls after which the process (or the thread's control flow) does not come back. */
export const NORETURN_CALLS: ReadonlySet<string> = new Set([
  'exit',
  '_exit',
  '_Exit',
  'quick_exit',
  'abort',
  'err',
  'errx',
  'verr',
  'verrx',
  'pthread_exit',
  'thrd_exit',
  'longjmp',
  'siglongjmp',
  '_longjmp',
  '__longjmp_chk',
  '__builtin_unreachable',
  '__builtin_trap',
  '__assert_fail',
  '__assert_perror_fail',
  '__libc_fatal',
  '__fortify_fail',
  '__chk_fail',
  '__stack_chk_fail',
  '__exit_thread',
]);

/**
 * `error(status, ...)`-style calls that exit only when their first argument is non-zero.
 * Only a non-zero literal or `EXIT_FAILURE` counts; a variable status is assumed to return.
 */
export const EXIT_WHEN_STATUS_NONZERO: ReadonlySet<string> = new Set(['error', 'error_at_line']);

// ---------------------------------------------------------------------------------------
// Reference counting (CPython's C API): a strong reference is a handle too. A struct field
// that holds one owns it, and storing a new one over it must drop the old (`owned-fields.ts`).

/** Calls that take a new reference to their argument (`Py_INCREF(obj)`). */
export const REFCOUNT_INCREF: ReadonlySet<string> = new Set(['Py_INCREF', 'Py_XINCREF']);

/** Calls that return their argument with a new reference taken (`self->x = Py_NewRef(obj)`). */
export const REFCOUNT_NEW_REF: ReadonlySet<string> = new Set(['Py_NewRef', 'Py_XNewRef']);

/**
 * Calls that drop the reference their first argument holds (`Py_SETREF(field, new)` drops the
 * old value while storing the new one).
 */
export const REFCOUNT_DECREF: ReadonlySet<string> = new Set(['Py_DECREF', 'Py_XDECREF', 'Py_CLEAR', 'Py_SETREF', 'Py_XSETREF']);

/**
 * Callees whose result is a freshly allocated or initialised object: its fields hold nothing
 * yet, so the first store into them drops nothing (`self = (Foo *) type->tp_alloc(type, 0)`,
 * `PyObject_New`, `calloc`, `slot_init_ptr(…)`).
 */
export const FRESH_OBJECT_CALLEE = /alloc|new|create|init/i;

/** Calls that clear the struct their first argument points to (`memset(p, 0, sizeof *p)`). */
export const CLEARING_CALLS: ReadonlySet<string> = new Set(['memset', 'bzero', 'explicit_bzero']);
