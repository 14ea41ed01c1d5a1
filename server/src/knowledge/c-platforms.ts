/**
 * The platforms C code is judged for, and the predefined macros that name each one. The
 * fact extractor evaluates `#if`/`#ifdef` conditions on these macros for every platform,
 * so the model can leave out code only compiled elsewhere (a z/OS branch, a Windows
 * emulation) and take a branch that is certainly compiled on the target as always run.
 * A macro named by no platform (`HAVE_PIPE2`, `TARGET_OS_IPHONE`) is unknown: both
 * branches stay possible.
 */

export const C_PLATFORMS = ['linux', 'macos', 'freebsd', 'openbsd', 'netbsd', 'solaris', 'aix', 'zos', 'qnx', 'windows'] as const;

export type CPlatform = (typeof C_PLATFORMS)[number];

/** The platform assumed when the configuration names none. */
export const DEFAULT_C_PLATFORM: CPlatform = 'linux';

/** Predefined macros (by the compilers in common use) that identify each platform. */
export const PLATFORM_MACROS: Readonly<Record<CPlatform, readonly string[]>> = {
  linux: ['__linux__', '__linux', 'linux', '__gnu_linux__', '__unix__', '__unix', 'unix'],
  macos: ['__APPLE__', '__MACH__'],
  freebsd: ['__FreeBSD__', '__unix__', '__unix', 'unix'],
  openbsd: ['__OpenBSD__', '__unix__', '__unix', 'unix'],
  netbsd: ['__NetBSD__', '__unix__', '__unix', 'unix'],
  solaris: ['__sun', '__sun__', 'sun', '__SVR4', '__svr4__', '__unix__', '__unix', 'unix'],
  aix: ['_AIX', '__unix__', '__unix', 'unix'],
  zos: ['__MVS__', '__TOS_MVS__'],
  qnx: ['__QNX__', '__QNXNTO__', '__unix__', '__unix', 'unix'],
  windows: ['_WIN32', '_WIN64', 'WIN32', '_MSC_VER', '__MINGW32__', '__MINGW64__'],
};

/**
 * Macros that only instrumented builds define (sanitizers): the code is judged as the
 * ordinary build compiles it, so they are undefined on every platform.
 */
export const INSTRUMENTATION_MACROS: ReadonlySet<string> = new Set(['__SANITIZE_THREAD__', '__SANITIZE_ADDRESS__']);

/**
 * Macros that only debug builds define (`DEBUG`, `_DEBUG`, `MEMCACHED_DEBUG`): code under
 * them is a developer's diagnostic, not what a user runs, so the code is judged as the
 * release build compiles it (the macro is undefined on every platform). `NDEBUG` is not one.
 */
export function isDebugBuildMacro(name: string): boolean {
  return name === 'DEBUG' || name === '_DEBUG' || /^[A-Z][A-Z0-9_]*_DEBUG$/.test(name);
}

/** Every platform macro: one of these that a platform does not list is undefined there. */
export const ALL_PLATFORM_MACROS: ReadonlySet<string> = new Set([...Object.values(PLATFORM_MACROS).flat(), ...INSTRUMENTATION_MACROS]);

/** The macros a platform defines, as a set. */
export const PLATFORM_MACRO_SETS: Readonly<Record<CPlatform, ReadonlySet<string>>> = Object.fromEntries(
  C_PLATFORMS.map((p) => [p, new Set(PLATFORM_MACROS[p])]),
) as unknown as Record<CPlatform, ReadonlySet<string>>;

/**
 * Platforms whose C library provides the POSIX functions (a workspace definition of `poll`
 * or `close` is then a stand-in for other systems, not the one linked).
 */
export const POSIX_PLATFORMS: ReadonlySet<CPlatform> = new Set(C_PLATFORMS.filter((p) => p !== 'windows'));

/**
 * System headers that exist on one platform only (or one family): a file that includes one
 * outside any `#if` compiles there alone (`gwin32appinfo.c` includes `<windows.h>`), so its
 * code is judged like code under that platform's `#ifdef`. Windows headers are matched
 * without regard to case (`<Windows.h>`); Apple frameworks by their folder.
 */
const WINDOWS_ONLY_HEADERS: ReadonlySet<string> = new Set([
  'windows.h',
  'winsock.h',
  'winsock2.h',
  'ws2tcpip.h',
  'winbase.h',
  'windef.h',
  'winternl.h',
  'winioctl.h',
  'shlobj.h',
  'shlwapi.h',
  'shellapi.h',
  'tlhelp32.h',
  'psapi.h',
  'direct.h',
]);
const APPLE_ONLY_HEADER = /^(?:CoreFoundation|CoreServices|SystemConfiguration|IOKit|Foundation|Cocoa|Security|mach-o|libkern)\//;
const BSD_FAMILY: readonly CPlatform[] = ['macos', 'freebsd', 'openbsd', 'netbsd'];

/** Other system headers of one platform or family: AIX's performance and event APIs, Solaris's kstat and event ports, QNX's kernel calls, the BSDs' kqueue. */
const PLATFORM_HEADERS: ReadonlyMap<string, readonly CPlatform[]> = new Map<string, readonly CPlatform[]>([
  ['libperfstat.h', ['aix']],
  ['procinfo.h', ['aix']],
  ['sys/ahafs_evProds.h', ['aix']],
  ['sys/pollset.h', ['aix']],
  ['kstat.h', ['solaris']],
  ['port.h', ['solaris']],
  ['sys/port.h', ['solaris']],
  ['sys/neutrino.h', ['qnx']],
  ['sys/syspage.h', ['qnx']],
  ['sys/event.h', BSD_FAMILY],
]);

/** The platforms that have a system header (`<windows.h>` → windows, `<sys/event.h>` → the BSDs and macOS), or undefined when all may. */
export function platformsOfHeader(header: string): readonly CPlatform[] | undefined {
  if (WINDOWS_ONLY_HEADERS.has(header.toLowerCase())) return ['windows'];
  if (APPLE_ONLY_HEADER.test(header)) return ['macos'];
  return PLATFORM_HEADERS.get(header);
}

/**
 * Words that name a platform in a source file's name (`ngx_darwin_init.c`, `os390-syscalls.c`,
 * `gspawn-win32.c`) or in a folder of its path (`src/win/`, `unix/aix/`), the convention Go
 * makes a build rule of (`_linux.go`): portable projects keep each platform's code in files
 * so named and let the build system pick them. The names of event interfaces only one
 * platform or family has count too (`ngx_devpoll_module.c`: Solaris's `/dev/poll`;
 * `kqueue.c`: the BSDs and macOS; `ngx_iocp_module.c`: Windows' completion ports).
 */
const PLATFORM_WORDS: ReadonlyMap<string, CPlatform | readonly CPlatform[]> = new Map<string, CPlatform | readonly CPlatform[]>([
  ['linux', 'linux'],
  ['darwin', 'macos'],
  ['macos', 'macos'],
  ['osx', 'macos'],
  ['freebsd', 'freebsd'],
  ['openbsd', 'openbsd'],
  ['netbsd', 'netbsd'],
  ['sunos', 'solaris'],
  ['solaris', 'solaris'],
  ['illumos', 'solaris'],
  ['aix', 'aix'],
  ['os390', 'zos'],
  ['zos', 'zos'],
  ['qnx', 'qnx'],
  ['win32', 'windows'],
  ['win64', 'windows'],
  ['windows', 'windows'],
  ['epoll', 'linux'],
  ['inotify', 'linux'],
  ['devpoll', 'solaris'],
  ['eventport', 'solaris'],
  ['kqueue', BSD_FAMILY],
  ['iocp', 'windows'],
]);

/**
 * The platforms a source file's path names (see {@link PLATFORM_WORDS}; a folder named `win`
 * counts too, a file named `win.c` does not: it is as often about windows on a screen), or
 * undefined when it names none. `path` is relative to the workspace folder.
 */
export function platformsOfPath(path: string): readonly CPlatform[] | undefined {
  const parts = path.split(/[\\/]/);
  const file = parts.pop() ?? '';
  const words = [...file.replace(/\.[^.]*$/, '').toLowerCase().split(/[-_.]/), ...parts.map((p) => p.toLowerCase()).flatMap((p) => (p === 'win' ? ['windows'] : p.split(/[-_.]/)))];
  const found = new Set<CPlatform>();
  for (const w of words) {
    const platforms = PLATFORM_WORDS.get(w);
    if (typeof platforms === 'string') found.add(platforms);
    else for (const p of platforms ?? []) found.add(p);
  }
  return found.size > 0 ? [...found] : undefined;
}
