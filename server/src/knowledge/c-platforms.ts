/**
 * The platforms C code is judged for, and the predefined macros that name each one. The
 * fact extractor evaluates `#if`/`#ifdef` conditions on these macros for every platform,
 * so the model can leave out code only compiled elsewhere (a z/OS branch, a Windows
 * emulation) and take a branch that is certainly compiled on the target as always run.
 * A macro named by no platform (`HAVE_PIPE2`, `TARGET_OS_IPHONE`) is unknown: both
 * branches stay possible.
 */

export const C_PLATFORMS = ['linux', 'macos', 'freebsd', 'openbsd', 'netbsd', 'solaris', 'aix', 'zos', 'windows'] as const;

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
