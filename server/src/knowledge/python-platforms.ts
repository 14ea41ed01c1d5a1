/**
 * How Python code names platforms other than Linux (the target the Python rules judge): flags
 * that hold "this is Windows", the values of `sys.platform`, `os.name` and
 * `platform.system()`, and the expressions that hold them (read by `facts/python/branch-tests.ts`).
 */

/** Names of flags that hold "this is Windows" (`_mswindows` in subprocess, `IS_WINDOWS`, `WIN32`, ...). */
export const PY_WINDOWS_FLAG = /^_*(?:ms_?windows|is_?win(?:dows|32)?|win(?:dows|32)?|on_?windows|running_?on_?windows)$/i;
/** Values of `sys.platform`, `os.name` and `platform.system()` that are not Linux. */
export const PY_OTHER_PLATFORM_VALUE = /^(?:win32|cygwin|msys|darwin|nt|java|os2|riscos|Windows|Darwin|ios|android|emscripten|wasi)$/;
/** Prefixes tested with `sys.platform.startswith(...)` that are not Linux. */
export const PY_OTHER_PLATFORM_PREFIX = /^(?:win|darwin|cygwin|freebsd|openbsd|netbsd|sunos|aix|os2|riscos)/;
/** The expressions that hold the platform's name. */
export const PY_PLATFORM_SUBJECT = /^(?:sys\.platform|os\.name|platform\.system\(\)|_?platform|PLATFORM)$/;
