/**
 * What the C program model knows about processes, threads and descriptors, in one place
 * (architecture: "knowledge about libraries lives in data tables"). The fact extractor
 * (`facts/c/program-facts.ts`), the model (`model/c.ts`) and the FORK/FD rules only look
 * names up here; adding an API is a one-line change.
 */

// ---------------------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------------------

export interface ThreadStartSpec {
  /** Index of the argument naming the function the new thread runs, when there is one. */
  routineArg?: number;
  /** Where the call comes from, for messages ("POSIX threads", "GLib", ...). */
  library: string;
}

/**
 * Calls that start a thread, directly or as a documented side effect (a library that runs
 * a helper thread). Workspace functions that reach one of these count too (the model
 * follows the call graph).
 */
export const THREAD_STARTS: ReadonlyMap<string, ThreadStartSpec> = new Map<string, ThreadStartSpec>([
  ['pthread_create', { routineArg: 2, library: 'POSIX threads' }],
  ['thrd_create', { routineArg: 1, library: 'C11 threads' }],
  ['g_thread_new', { routineArg: 1, library: 'GLib' }],
  ['g_thread_try_new', { routineArg: 1, library: 'GLib' }],
  ['g_thread_create', { routineArg: 0, library: 'GLib' }],
  ['g_thread_create_full', { routineArg: 0, library: 'GLib' }],
  ['g_thread_pool_new', { routineArg: 0, library: 'GLib (thread pool)' }],
  ['g_task_run_in_thread', { library: 'GLib (GTask worker thread)' }],
  ['uv_thread_create', { routineArg: 1, library: 'libuv' }],
  ['uv_thread_create_ex', { routineArg: 2, library: 'libuv' }],
  ['uv_queue_work', { library: 'libuv (thread pool)' }],
  ['apr_thread_create', { routineArg: 2, library: 'APR' }],
  ['SDL_CreateThread', { routineArg: 0, library: 'SDL' }],
  ['PR_CreateThread', { routineArg: 1, library: 'NSPR' }],
  ['zmq_ctx_new', { library: 'ZeroMQ (I/O threads)' }],
  ['zmq_init', { library: 'ZeroMQ (I/O threads)' }],
  ['rd_kafka_new', { library: 'librdkafka (background threads)' }],
  ['getaddrinfo_a', { library: 'glibc (asynchronous lookup threads)' }],
  // glibc implements POSIX AIO with helper threads.
  ['aio_read', { library: 'glibc AIO (helper threads)' }],
  ['aio_write', { library: 'glibc AIO (helper threads)' }],
  ['aio_fsync', { library: 'glibc AIO (helper threads)' }],
  ['lio_listio', { library: 'glibc AIO (helper threads)' }],
  ['aio_read64', { library: 'glibc AIO (helper threads)' }],
  ['aio_write64', { library: 'glibc AIO (helper threads)' }],
  ['lio_listio64', { library: 'glibc AIO (helper threads)' }],
]);

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/**
 * How a fork site creates the child.
 * - `fork`: returns 0 in the child, the pid in the parent (child regions are recognised);
 * - `daemon`: the caller continues *as* the child (a forked process that keeps running).
 */
export type ForkKind = 'fork' | 'daemon';

export const FORK_CALLS: ReadonlyMap<string, ForkKind> = new Map<string, ForkKind>([
  ['fork', 'fork'],
  ['vfork', 'fork'],
  ['_Fork', 'fork'],
  ['forkpty', 'fork'],
  ['__fork', 'fork'],
  ['__libc_fork', 'fork'],
  ['__vfork', 'fork'],
  ['daemon', 'daemon'],
  ['__daemon', 'daemon'],
  ['apr_proc_detach', 'daemon'],
]);

/** The exec family: the child image is replaced, so what the child inherited no longer matters. */
export const EXEC_CALLS: ReadonlySet<string> = new Set([
  'execl',
  'execle',
  'execlp',
  'execv',
  'execve',
  'execvp',
  'execvpe',
  'execveat',
  'fexecve',
  '__execve',
  '__execvpe',
  '__fexecve',
]);

/** Calls that end the child without running atexit handlers or flushing stdio (async-signal-safe). */
export const SAFE_EXITS: ReadonlySet<string> = new Set(['_exit', '_Exit', 'abort', '__exit', '_exit_group']);

/** Calls that end the process but run handlers in it first (not async-signal-safe). */
export const UNSAFE_EXITS: ReadonlySet<string> = new Set(['exit', 'quick_exit']);

/** Calls that run another program without forking this one (the process "execs" for `fd-without-cloexec`). */
export const SPAWN_CALLS: ReadonlySet<string> = new Set([
  'posix_spawn',
  'posix_spawnp',
  'system',
  'popen',
  'g_spawn_async',
  'g_spawn_sync',
  'g_spawn_command_line_async',
  'g_spawn_command_line_sync',
  'g_spawn_async_with_pipes',
  'uv_spawn',
  'apr_proc_create',
]);

/**
 * Run-once calls: `pthread_once(&once, init)` runs `init` on the calling thread, before it
 * returns (or has run it already at an earlier call of the same guard), and keeps no pointer
 * to it. The value is the index of the argument naming the function run. The model links
 * that function as called at the call, like a call by name; so does a workspace wrapper that
 * hands its own parameter to one of these (`uv_once(guard, cb)` calling
 * `pthread_once(guard, cb)`).
 */
export const RUN_ONCE_CALLS: ReadonlyMap<string, number> = new Map([
  ['pthread_once', 1],
  ['__pthread_once', 1],
  ['call_once', 1],
  ['uv_once', 1],
  ['apr_thread_once', 1],
  ['CRYPTO_THREAD_run_once', 1],
  ['g_once', 1],
  ['g_once_impl', 1],
]);

/** `pthread_atfork(prepare, parent, child)`-style registrations and the index of the child handler. */
export const ATFORK_CALLS: ReadonlyMap<string, number> = new Map([
  ['pthread_atfork', 2],
  ['__register_atfork', 2],
]);

// ---------------------------------------------------------------------------------------
// Async-signal safety (signal-safety(7))
// ---------------------------------------------------------------------------------------

/**
 * Functions a fork child of a multi-threaded process may call before `exec*`/`_exit`:
 * the POSIX list of async-signal-safe functions (signal-safety(7)), plus Linux system-call
 * wrappers that take no user-space lock (marked below).
 */
export const ASYNC_SIGNAL_SAFE: ReadonlySet<string> = new Set([
  // POSIX.1 list
  '_Exit', '_exit', 'abort', 'accept', 'access', 'aio_error', 'aio_return', 'aio_suspend',
  'alarm', 'bind', 'cfgetispeed', 'cfgetospeed', 'cfsetispeed', 'cfsetospeed', 'chdir',
  'chmod', 'chown', 'clock_gettime', 'close', 'connect', 'creat', 'dup', 'dup2', 'execl',
  'execle', 'execv', 'execve', 'faccessat', 'fchdir', 'fchmod', 'fchmodat', 'fchown',
  'fchownat', 'fcntl', 'fdatasync', 'fexecve', 'ffs', 'fork', 'fstat', 'fstatat', 'fsync',
  'ftruncate', 'futimens', 'getegid', 'geteuid', 'getgid', 'getgroups', 'getpeername',
  'getpgrp', 'getpid', 'getppid', 'getsockname', 'getsockopt', 'getuid', 'htonl', 'htons',
  'kill', 'link', 'linkat', 'listen', 'longjmp', 'lseek', 'lstat', 'memccpy', 'memchr',
  'memcmp', 'memcpy', 'memmove', 'memset', 'mkdir', 'mkdirat', 'mkfifo', 'mkfifoat', 'mknod',
  'mknodat', 'ntohl', 'ntohs', 'open', 'openat', 'pause', 'pipe', 'poll', 'posix_trace_event',
  'pselect', 'pthread_kill', 'pthread_self', 'pthread_sigmask', 'raise', 'read', 'readlink',
  'readlinkat', 'recv', 'recvfrom', 'recvmsg', 'rename', 'renameat', 'rmdir', 'select',
  'sem_post', 'send', 'sendmsg', 'sendto', 'setgid', 'setpgid', 'setsid', 'setsockopt',
  'setuid', 'shutdown', 'sigaction', 'sigaddset', 'sigdelset', 'sigemptyset', 'sigfillset',
  'sigismember', 'siglongjmp', 'signal', 'sigpause', 'sigpending', 'sigprocmask', 'sigqueue',
  'sigset', 'sigsuspend', 'sleep', 'sockatmark', 'socket', 'socketpair', 'stat', 'stpcpy',
  'stpncpy', 'strcat', 'strchr', 'strcmp', 'strcpy', 'strcspn', 'strlen', 'strncat',
  'strncmp', 'strncpy', 'strnlen', 'strpbrk', 'strrchr', 'strspn', 'strstr', 'strtok_r',
  'symlink', 'symlinkat', 'tcdrain', 'tcflow', 'tcflush', 'tcgetattr', 'tcgetpgrp',
  'tcsendbreak', 'tcsetattr', 'tcsetpgrp', 'time', 'timer_getoverrun', 'timer_gettime',
  'timer_settime', 'times', 'umask', 'uname', 'unlink', 'unlinkat', 'utime', 'utimensat',
  'utimes', 'wait', 'waitpid', 'wcpcpy', 'wcpncpy', 'wcscat', 'wcschr', 'wcscmp', 'wcscpy',
  'wcscspn', 'wcslen', 'wcsncat', 'wcsncmp', 'wcsncpy', 'wcsnlen', 'wcspbrk', 'wcsrchr',
  'wcsspn', 'wcsstr', 'wcstok', 'wmemchr', 'wmemcmp', 'wmemcpy', 'wmemmove', 'wmemset',
  'write', 'vfork', '_Fork',
  // Linux system-call wrappers without user-space locks
  'accept4', 'dup3', 'pipe2', 'close_range', 'closefrom', 'prctl', 'setresuid', 'setresgid',
  'setreuid', 'setregid', 'setgroups', 'setfsuid', 'setfsgid', 'getrlimit', 'setrlimit',
  'prlimit', 'ioctl', 'syscall', 'chroot', 'unshare', 'setns', 'sigaltstack', 'nanosleep',
  'clock_nanosleep', 'getresuid', 'getresgid', 'sched_setaffinity', 'sched_setscheduler',
  'setpriority', 'getpriority', 'nice', 'personality', 'readv', 'writev', 'pread', 'pwrite',
  'pread64', 'pwrite64', 'open64', 'openat64', 'fstat64', 'stat64', 'lstat64', 'lseek64',
  'ftruncate64', 'sigtimedwait', 'sigwaitinfo', 'rt_sigprocmask', 'getrandom', 'mount',
  'umount', 'umount2', 'pivot_root', 'capset', 'capget', 'seccomp', 'execveat', 'tgkill',
  'gettid', 'ptrace', 'mprotect', 'munmap', 'mmap', 'mmap64', 'madvise', 'brk', 'getdents64',
  'sendfile', 'splice', 'epoll_ctl', 'wait4', 'waitid', 'wait3', 'reboot',
  // in practice read-only and lock-free in glibc (used to size close-all loops)
  'sysconf', 'getdtablesize',
  // glibc-internal spellings of the calls above
  '__close', '__close_nocancel', '__close_nocancel_nostatus', '__dup2', '__read', '__write',
  '__read_nocancel', '__write_nocancel', '__open', '__open64', '__open_nocancel',
  '__open64_nocancel', '__openat', '__openat64', '__fcntl', '__getpid', '__kill', '__setsid',
  '__sigprocmask', '__sigaction', '__libc_sigaction', '__chdir', '__fchdir', '__setpgid',
  '__errno_location', '__sigemptyset', '__sigaddset', '__sigfillset', '__sigdelset',
  '__mempcpy', 'mempcpy', '__stpcpy', '__strnlen', '__strchrnul', 'strchrnul', '__close_range',
  '__closefrom', '__dup3', '__pipe2', '__ioctl', '__prctl', '__execve', '__fexecve', '__waitpid',
  '__libc_open', '__libc_close', '__libc_read', '__libc_write',
]);

/** Why a function must not run in a fork child of a threaded process: the lock or state it touches. */
export type UnsafeReason =
  | 'heap'
  | 'stdio'
  | 'format'
  | 'syslog'
  | 'exit'
  | 'nss'
  | 'dlopen'
  | 'lock'
  | 'thread'
  | 'time'
  | 'env'
  | 'locale'
  | 'dir'
  | 'process'
  | 'random';

export const UNSAFE_REASON_TEXT: Record<UnsafeReason, string> = {
  heap: "takes the allocator's lock",
  stdio: 'takes a stdio stream lock and may allocate',
  format: 'is not async-signal-safe (it reads locale data and may allocate)',
  syslog: "takes syslog's internal lock",
  exit: 'runs atexit handlers and flushes stdio, taking their locks',
  nss: 'goes through NSS, which locks, allocates and may load modules',
  dlopen: "takes the dynamic loader's lock",
  lock: 'takes or releases a lock whose owner thread does not exist in the child',
  thread: 'uses the threads runtime, which the child inherited mid-operation',
  time: "takes the time-zone lock",
  env: "takes the environment lock and may allocate",
  locale: 'reads locale or message-catalogue data under a lock',
  dir: 'allocates a directory stream',
  process: 'forks again and allocates',
  random: "takes the random generator's lock",
};

/**
 * Functions known NOT to be async-signal-safe, with the reason shown in the finding. A
 * call found in neither table and not defined in the workspace is "unknown": the
 * `unsafe-call-in-fork-child` rule stays silent on it, while `fork-in-threaded-program`
 * does not count the child as proven safe.
 */
export const UNSAFE_IN_CHILD: ReadonlyMap<string, UnsafeReason> = new Map<string, UnsafeReason>([
  ...(['malloc', 'calloc', 'realloc', 'reallocarray', 'free', 'posix_memalign', 'aligned_alloc',
    'memalign', 'valloc', 'pvalloc', 'strdup', 'strndup', 'asprintf', 'vasprintf', 'getline',
    'getdelim', 'realpath', 'canonicalize_file_name', 'scandir', 'glob', 'globfree', 'wordexp',
    'regcomp', 'regexec', 'qsort', 'xmalloc', 'xcalloc', 'xrealloc', 'xstrdup', 'g_malloc',
    'g_malloc0', 'g_free', 'g_strdup', 'g_strdup_printf'] as const).map((n) => [n, 'heap'] as const),
  ...(['printf', 'fprintf', 'vprintf', 'vfprintf', 'puts', 'fputs', 'fputc', 'putc', 'putchar',
    'fwrite', 'fread', 'fgets', 'fgetc', 'getc', 'getchar', 'fflush', 'fopen', 'fopen64',
    'fdopen', 'freopen', 'fclose', 'fcloseall', 'perror', 'setvbuf', 'setbuf', 'fscanf',
    'scanf', 'tmpfile', 'fseek', 'ftell', 'rewind', 'fileno', 'g_print', 'g_printerr',
    'g_message', 'g_warning'] as const).map((n) => [n, 'stdio'] as const),
  ...(['sprintf', 'snprintf', 'vsprintf', 'vsnprintf', 'dprintf', 'vdprintf', 'sscanf',
    'strtod', 'strtof', 'atof'] as const).map((n) => [n, 'format'] as const),
  ...(['syslog', 'vsyslog', 'openlog', 'closelog', 'setlogmask'] as const).map((n) => [n, 'syslog'] as const),
  ...(['exit', 'quick_exit', 'atexit', 'on_exit', 'at_quick_exit'] as const).map((n) => [n, 'exit'] as const),
  ...(['getpwnam', 'getpwuid', 'getpwnam_r', 'getpwuid_r', 'getpwent', 'getgrnam', 'getgrgid',
    'getgrnam_r', 'getgrgid_r', 'getgrent', 'getgrouplist', 'initgroups', 'getspnam',
    'getaddrinfo', 'freeaddrinfo', 'getnameinfo', 'gethostbyname', 'gethostbyname2',
    'gethostbyname_r', 'gethostbyaddr', 'getservbyname', 'getprotobyname', 'getlogin',
    'getlogin_r', 'cuserid', 'res_init', 'res_query'] as const).map((n) => [n, 'nss'] as const),
  ...(['dlopen', 'dlsym', 'dlclose', 'dlerror', 'dladdr', 'dl_iterate_phdr'] as const).map((n) => [n, 'dlopen'] as const),
  ...(['pthread_mutex_lock', 'pthread_mutex_unlock', 'pthread_mutex_trylock',
    'pthread_mutex_timedlock', 'pthread_rwlock_rdlock', 'pthread_rwlock_wrlock',
    'pthread_rwlock_unlock', 'pthread_cond_wait', 'pthread_cond_timedwait',
    'pthread_cond_signal', 'pthread_cond_broadcast', 'pthread_spin_lock',
    'pthread_spin_unlock', 'pthread_once', 'sem_wait', 'sem_timedwait', 'sem_trywait',
    'flockfile', 'funlockfile', 'mtx_lock', 'mtx_unlock', 'g_mutex_lock', 'g_mutex_unlock'] as const).map((n) => [n, 'lock'] as const),
  ...(['pthread_create', 'pthread_join', 'pthread_detach', 'pthread_key_create',
    'pthread_setspecific', 'pthread_cancel', 'thrd_create', 'g_thread_new'] as const).map((n) => [n, 'thread'] as const),
  ...(['localtime', 'localtime_r', 'ctime', 'ctime_r', 'asctime', 'strftime', 'mktime', 'tzset',
    'timegm', 'gmtime'] as const).map((n) => [n, 'time'] as const),
  ...(['setenv', 'unsetenv', 'putenv', 'clearenv'] as const).map((n) => [n, 'env'] as const),
  ...(['setlocale', 'newlocale', 'strerror', 'strerror_r', 'strsignal', 'psignal', 'psiginfo',
    'gettext', 'dgettext', 'dcgettext', 'ngettext', 'catopen', 'catgets'] as const).map((n) => [n, 'locale'] as const),
  ...(['opendir', 'fdopendir', 'readdir', 'readdir_r', 'closedir', 'rewinddir'] as const).map((n) => [n, 'dir'] as const),
  ...(['system', 'popen', 'pclose', 'posix_spawn', 'posix_spawnp'] as const).map((n) => [n, 'process'] as const),
  ...(['rand', 'random', 'srand', 'srandom', 'drand48', 'lrand48', 'mrand48'] as const).map((n) => [n, 'random'] as const),
]);

/** `closelog`/`openlog` only manage syslog's connection, so removing them from a child keeps its function. */
export const REMOVABLE_IN_CHILD: ReadonlySet<string> = new Set(['closelog', 'openlog']);

// ---------------------------------------------------------------------------------------
// Descriptors
// ---------------------------------------------------------------------------------------

/**
 * How a descriptor-producing call requests close-on-exec, and the safe fix.
 * - `flag-arg`: an integer flags argument (`open`, `socket`, `accept4`, ...); the fix ORs
 *   in `flag` (or replaces a literal `0`);
 * - `mode-e`: an `fopen` mode string; the fix appends `e`;
 * - `replace`: the call has no way to ask for it; the fix calls the variant that does
 *   (`accept` → `accept4`, `pipe` → `pipe2`, `dup` → `fcntl(F_DUPFD_CLOEXEC)`, ...);
 * - `fcntl-dupfd`: `fcntl(fd, F_DUPFD, n)` → `F_DUPFD_CLOEXEC`.
 */
export type CloexecStyle = 'flag-arg' | 'mode-e' | 'replace' | 'fcntl-dupfd';

export interface FdProducerSpec {
  style: CloexecStyle;
  /** The flags (or mode) argument's index for `flag-arg`/`mode-e`. */
  arg?: number;
  /** The constant that requests close-on-exec (`flag-arg`). */
  flag?: string;
  /** Other spellings of the flag that count as present (`O_CLOEXEC` for `pipe2`, ...). */
  alsoAccepted?: readonly string[];
  /**
   * For `replace`: the replacement call; `$0`, `$1`... stand for the original arguments'
   * text. The replacement asks for close-on-exec and otherwise behaves the same.
   */
  replacement?: string;
  /** Argument count the replacement template needs. */
  arity?: number;
}

export const FD_PRODUCERS: ReadonlyMap<string, FdProducerSpec> = new Map<string, FdProducerSpec>([
  ['open', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['open64', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['openat', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['openat64', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['__open', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['__open64', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['__open_nocancel', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['__open64_nocancel', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['__openat', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['__openat64', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['__openat_nocancel', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['__openat64_nocancel', { style: 'flag-arg', arg: 2, flag: 'O_CLOEXEC' }],
  ['creat', { style: 'replace', replacement: 'open($0, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, $1)', arity: 2 }],
  ['creat64', { style: 'replace', replacement: 'open64($0, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, $1)', arity: 2 }],
  ['socket', { style: 'flag-arg', arg: 1, flag: 'SOCK_CLOEXEC' }],
  ['__socket', { style: 'flag-arg', arg: 1, flag: 'SOCK_CLOEXEC' }],
  ['socketpair', { style: 'flag-arg', arg: 1, flag: 'SOCK_CLOEXEC' }],
  ['accept', { style: 'replace', replacement: 'accept4($0, $1, $2, SOCK_CLOEXEC)', arity: 3 }],
  ['accept4', { style: 'flag-arg', arg: 3, flag: 'SOCK_CLOEXEC' }],
  ['pipe', { style: 'replace', replacement: 'pipe2($0, O_CLOEXEC)', arity: 1 }],
  ['pipe2', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
  ['dup', { style: 'replace', replacement: 'fcntl($0, F_DUPFD_CLOEXEC, 0)', arity: 1 }],
  ['fcntl', { style: 'fcntl-dupfd' }],
  ['fopen', { style: 'mode-e', arg: 1 }],
  ['fopen64', { style: 'mode-e', arg: 1 }],
  ['epoll_create', { style: 'replace', replacement: 'epoll_create1(EPOLL_CLOEXEC)', arity: 1 }],
  ['epoll_create1', { style: 'flag-arg', arg: 0, flag: 'EPOLL_CLOEXEC', alsoAccepted: ['O_CLOEXEC'] }],
  ['inotify_init', { style: 'replace', replacement: 'inotify_init1(IN_CLOEXEC)', arity: 0 }],
  ['inotify_init1', { style: 'flag-arg', arg: 0, flag: 'IN_CLOEXEC', alsoAccepted: ['O_CLOEXEC'] }],
  ['memfd_create', { style: 'flag-arg', arg: 1, flag: 'MFD_CLOEXEC' }],
  ['eventfd', { style: 'flag-arg', arg: 1, flag: 'EFD_CLOEXEC', alsoAccepted: ['O_CLOEXEC'] }],
  ['timerfd_create', { style: 'flag-arg', arg: 1, flag: 'TFD_CLOEXEC', alsoAccepted: ['O_CLOEXEC'] }],
  ['signalfd', { style: 'flag-arg', arg: 2, flag: 'SFD_CLOEXEC', alsoAccepted: ['O_CLOEXEC'] }],
  ['mkstemp', { style: 'replace', replacement: 'mkostemp($0, O_CLOEXEC)', arity: 1 }],
  ['mkostemp', { style: 'flag-arg', arg: 1, flag: 'O_CLOEXEC' }],
]);

/** Calls that produce a descriptor a cache may keep (a superset of {@link FD_PRODUCERS}' names). */
export const FD_SOURCES: ReadonlySet<string> = new Set([
  ...FD_PRODUCERS.keys(),
  'dup2',
  'dup3',
  'posix_openpt',
  'open_tree',
  'pidfd_open',
  'perf_event_open',
  'userfaultfd',
  'fanotify_init',
  'bpf',
]);

/** Calls that close every descriptor from a bound on (`close_range` only with the CLOEXEC flag is harmless). */
export const CLOSE_ALL_CALLS: ReadonlySet<string> = new Set(['closefrom', 'close_range', '__closefrom', '__close_range', 'fdwalk']);

/** The flag that makes `close_range` mark descriptors close-on-exec instead of closing them. */
export const CLOSE_RANGE_CLOEXEC = 'CLOSE_RANGE_CLOEXEC';

/** Calls that close one descriptor (the body of a close-all loop). */
export const CLOSE_ONE: ReadonlySet<string> = new Set(['close', '__close', '__close_nocancel', '__close_nocancel_nostatus', 'close_not_cancel_no_status']);

/** `fstat`-style calls whose first argument is a descriptor: with an `st_ino`/`st_dev` comparison they re-validate a cached fd. */
export const FSTAT_CALLS: ReadonlySet<string> = new Set(['fstat', 'fstat64', '__fstat', '__fstat64', '__fxstat', '__fxstat64', 'fstatat', 'statx']);

/**
 * Library calls that make a system library cache a descriptor inside the process: the
 * workspace never shows the cache, but a blanket close in a forked child destroys it
 * (incident 2: libuuid's `/dev/urandom` fd).
 */
export const LIBRARY_FD_CACHES: ReadonlyMap<string, string> = new Map([
  ['openlog', "syslog's socket to /dev/log"],
  ['syslog', "syslog's socket to /dev/log"],
  ['vsyslog', "syslog's socket to /dev/log"],
  ['uuid_generate', "libuuid's /dev/urandom descriptor (util-linux before 2.23)"],
  ['uuid_generate_random', "libuuid's /dev/urandom descriptor (util-linux before 2.23)"],
  ['uuid_generate_time', "libuuid's /dev/urandom descriptor and clock file (util-linux before 2.23)"],
  ['sd_journal_print', "systemd-journald's socket"],
  ['sd_journal_send', "systemd-journald's socket"],
  ['getpwnam', "glibc's nscd socket and mapped cache"],
  ['getpwuid', "glibc's nscd socket and mapped cache"],
]);

// ---------------------------------------------------------------------------------------
// Waits
// ---------------------------------------------------------------------------------------

/**
 * Calls that block the calling thread until time passes or something happens (the `waits`
 * call effect, `model/c-effects.ts`), with what they wait for. A call with a zero timeout
 * (`poll(fds, n, 0)`) still counts: the arguments are not read.
 */
export const WAIT_CALLS: ReadonlyMap<string, string> = new Map([
  ...(['sleep', 'usleep', 'nanosleep', 'clock_nanosleep', 'thrd_sleep', 'g_usleep'] as const).map((n) => [n, 'sleeps'] as const),
  ...(['select', 'pselect', 'poll', 'ppoll', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2'] as const).map((n) => [n, 'waits for descriptors'] as const),
  ...(['pthread_cond_wait', 'pthread_cond_timedwait', 'pthread_cond_clockwait', 'cnd_wait', 'cnd_timedwait', 'sem_wait', 'sem_timedwait', 'sem_clockwait', 'pthread_barrier_wait'] as const).map((n) => [n, 'waits on a condition'] as const),
  ...(['pthread_join', 'thrd_join'] as const).map((n) => [n, 'waits for a thread'] as const),
  ...(['wait', 'waitpid', 'wait3', 'wait4', 'waitid'] as const).map((n) => [n, 'waits for a child process'] as const),
  ...(['pause', 'sigsuspend', 'sigwait', 'sigwaitinfo', 'sigtimedwait'] as const).map((n) => [n, 'waits for a signal'] as const),
]);

/** Lower-case macros and operators that look like calls. */
const IGNORED_CALLEES: ReadonlySet<string> = new Set(['sizeof', 'offsetof', 'alignof', '_Alignof', 'va_start', 'va_end', 'va_arg', 'va_copy', 'assert', 'static_assert', '_Static_assert', 'likely', 'unlikely']);

/** Names whose calls are macros or compiler built-ins, never judged in a fork child. */
export function isIgnoredCallee(name: string): boolean {
  return /^[A-Z_][A-Z0-9_]*$/.test(name) || name.startsWith('__builtin_') || name.startsWith('__glibc_') || IGNORED_CALLEES.has(name);
}
