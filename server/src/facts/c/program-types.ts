/**
 * The C program facts: what one C file contributes to the program model (`model/c.ts`).
 * Plain JSON data, cached with the file's analysis. Spans inside the bigger facts are
 * compact tuples to keep a glibc-sized scan small in memory; `spanRange` turns one into an
 * engine `Range`.
 */
import type { Range } from '../../text/locations';

/** `[startLine, startCharacter, endLine, endCharacter]`, zero-based, UTF-16 columns. */
export type Span = [number, number, number, number];

export function spanRange(s: Span): Range {
  return { start: { line: s[0], character: s[1] }, end: { line: s[2], character: s[3] } };
}

/** One call with an identifier callee, in evaluation order (arguments before the call). */
export interface CCall {
  /** Callee name as written. */
  name: string;
  /** Span of the call expression. */
  span: Span;
  /**
   * Only on the `HELPERS_IN_EVERY_BRANCH` record of a child region (spanning the `if`): the
   * child's sequence ends there when every callee of one of these lists never returns.
   */
  unless?: string[][];
  /**
   * Set when the call runs every time control reaches it from the start of the enclosing
   * sequence (the function body, or the child region for region calls): not inside a
   * branch, a loop body, a `case` or the right operand of `&&`/`||`/`?:`.
   */
  unconditional?: 1;
  /**
   * Span to delete to remove the call's statement: the whole line(s) when the statement is
   * alone on them, else the statement itself. Only for calls that are an entire statement.
   */
  deleteSpan?: Span;
  /** Text of that statement, for calls in a child region whose statement is alone on its lines (the "move before fork()" fix). */
  statementText?: string;
  /** Flags (`daemon_off`, `cfg->no_fork`) an enclosing `if`/loop condition requires to be zero for the call to run. */
  zeroGuards?: string[];
  /** Platforms (`knowledge/c-platforms.ts`) that do not compile the call: an enclosing `#if` branch is false there. */
  notOn?: string[];
  /**
   * A call through a function pointer read from a file-scope table of this file:
   * `cmds[i].func(jcr)` or `(*ops.run)()` (`name` is then `cmds.func`). It may call any
   * function the table's initializer stores in that field (`CDispatchTableFact`).
   */
  via?: { table: string; field: string };
  /**
   * A call through a struct field this file also stores function pointers into
   * (`wq->engine(item)` where `wq->engine = engine;`): `name` is then `->engine`. It may call
   * what those stores keep (`CFunctionFact.fieldStores`).
   */
  field?: string;
  /**
   * Platforms on which a call that is not `unconditional` still runs every time: only `#if`
   * branches make it conditional, and that platform compiles all of them.
   */
  takenOn?: string[];
  /**
   * The callee is the enclosing function's parameter at this position (`proc(cycle, data)` in
   * `spawn(cycle, proc, data)`): the call runs what the callers pass there, not a function of
   * that name.
   */
  param?: number;
}

/** A function definition with the calls it makes, in order. */
export interface CFunctionFact {
  kind: 'c.function';
  /** The whole definition. */
  range: Range;
  name: string;
  /** `static`: only visible in its translation unit. */
  isStatic: boolean;
  /** Platforms that do not compile the definition (it sits in an `#if` branch false there). */
  notOn?: string[];
  /** The function returns a `fork()`'s result (`return fork();`): its callers test the pid. */
  returnsFork?: 1;
  /** The comment before it says `hazard-lens: fork-child`: documented to run in a fork child before exec. */
  forkChild?: 1;
  /**
   * The macro that writes the function's head (`TEST_IMPL` for `TEST_IMPL(fork_child) { ... }`);
   * `name` is then the invocation as written and `nameSpan` covers it (see `function-names.ts`).
   */
  definer?: string;
  nameSpan: Span;
  /** Position of this function among the file's `c.function` facts (other facts refer to it). */
  index: number;
  calls: CCall[];
  /** Spans of loop statements (a call inside a loop may run after a call that follows it). */
  loops: Span[];
  /** Identifiers used as values (call arguments, right-hand sides): candidate function pointers. */
  references: string[];
  /** Non-local storage written by `=` (`fd`, `state.fd`): used to recognise at-fork resets. */
  assigns: string[];
  /**
   * Non-local storage the function sets outside any branch to a constant (`fd = -1`,
   * `log = NULL`) or to a fresh descriptor (`fd = open(...)`): a call of it forgets or
   * replaces what the storage held (a lazy `if (fd < 0) fd = open(...)` is not one).
   */
  resets?: string[];
  /**
   * Where the function forgets non-local storage on every path through it: `x = NULL`/`x = -1`
   * outside any branch, or inside `if (x != NULL) { ...; x = NULL; }` (the only branch, which
   * tests that same storage). The position orders the forget against the function's calls:
   * a descriptor cached before it and not again before a fork is not inherited by that fork.
   */
  forgets?: { variable: string; at: Span }[];
  /**
   * Flags set to a non-zero constant at the top of a block entered only when a variable is
   * set: `if (inherited_fd) { ...; no_daemon = 1; }` gives `{ test: 'inherited_fd', flag: 'no_daemon' }`.
   */
  flagSets?: { test: string; flag: string }[];
  /**
   * Function pointers the function stores into struct fields: a function's name
   * (`t->run = on_tick`) or one of its own function-pointer parameters by position
   * (`wq->engine = engine`, whose value the callers pass).
   */
  fieldStores?: { field: string; name?: string; param?: number }[];
  /**
   * Bare names the function passes as call arguments that may be function pointers: one of
   * its function-pointer parameters (`param`), or a name that is not a local (`name`, a
   * function when the model finds one): `pool_init(&pool, n, handle_request)`.
   */
  passes?: { call: number; arg: number; name?: string; param?: number }[];
  /**
   * Parameters whose close-on-exec flag the function sets (`fcntl(fd, F_SETFD, FD_CLOEXEC)`,
   * `ioctl(fd, FIOCLEX)`), also when another parameter chooses between setting and clearing it
   * (`if (set) flags = FD_CLOEXEC`): a descriptor passed there has its flag decided by the caller.
   */
  setsCloexecOf?: number[];
  /** Parameters the function closes itself (`close(fd)`): a descriptor passed there in a fork child is closed before the child execs. */
  closesParams?: number[];
  /**
   * Struct fields (`TYPE.field`, {@link CFdOpenFact.storedField}) whose descriptor number the
   * function writes into an environment entry or an argument of a program it runs
   * (`ngx_sprintf(p, "%ud", grp->map_fd)` into a buffer that starts with `NAME=`).
   */
  handsOverFields?: string[];
  /**
   * Positions of function-pointer parameters the function lets escape: stores anywhere but a
   * struct field (a global, a local alias), returns, puts in an initializer, or passes to a call
   * through an unrecorded pointer. Calling it, testing it, passing it as a bare argument of a
   * recorded call and storing it into a field are not escapes (the model follows those).
   */
  paramEscapes?: number[];
  /**
   * Names (of `references`) the function uses as values only as bare arguments of its recorded
   * calls (those in `passes`): a function passed this way is called where the callee calls it.
   */
  passedOnly?: string[];
  /** Struct fields the function calls a pointer through (`w->run(arg)`), whether or not its file stores into them. */
  fieldCalls?: string[];
  /** The function's `label:` statements, for the error paths a `goto` jumps to. */
  labels?: CLabel[];
}

/**
 * A `label:` in a function body and what runs from it: the calls `calls[from]` up to (not
 * including) `calls[to]`, ended by the first `return`, `goto` or exit at the label's own
 * nesting level (or the function's end).
 */
export interface CLabel {
  name: string;
  span: Span;
  from: number;
  to: number;
}

/** Where a child region ends: a call that replaces or ends the process, or a `return`/`goto`. */
export type RegionEnd = 'exec' | 'safe-exit' | 'unsafe-exit' | 'return';

/** Code that only the child of a fork runs. */
export interface CChildRegion {
  /** `block`: a branch taken only by the child; `after`: what follows a test whose parent branch leaves. */
  shape: 'block' | 'after';
  span: Span;
  /**
   * Calls of the region in order, up to and including the one that ends it (`unconditional`
   * is relative to the region); after an `exec*()`, also the calls that run when it fails, up
   * to the exit or return after it.
   */
  calls: CCall[];
  /** How the region's own sequence ends; absent when the child runs on past it. */
  end?: RegionEnd;
  /** `goto label;` statements met after the region's `exec*()`: the failed exec goes on at those labels. */
  gotos?: { label: string; span: Span }[];  /**
   * An `after` region the child reaches only through branches that end in calls of functions
   * the syntax cannot judge: it never runs when every callee of one of these lists never
   * returns (`[['do_exec']]`: the child's branch ends in `do_exec(…)`), as the model decides.
   */
  unless?: string[][];
}

export interface CForkFact {
  kind: 'c.fork';
  range: Range;
  api: string;
  /** `daemon`: the caller itself continues as the forked child. */
  forkKind: 'fork' | 'daemon';
  /** Index of the enclosing `c.function` fact. */
  functionIndex: number;
  /** Index of the fork call in the function's calls. */
  callIndex: number;
  regions: CChildRegion[];
  /** The pid test was understood (child regions are complete); false for shapes not recognised. */
  childKnown: boolean;
  /**
   * The call is not a known fork function but a workspace function whose name holds `fork`
   * and whose result is tested like a pid; the model keeps the fact only when that function
   * returns `fork()`'s result.
   */
  wrapper?: 1;
  /** Start of the statement holding the fork, when it begins its line: where a call moved out of the child goes. */
  before?: { line: number; indent: string };
}

export interface CThreadStartFact {
  kind: 'c.threadStart';
  range: Range;
  api: string;
  functionIndex: number;
  callIndex: number;
  /** The function the new thread runs, when named directly. */
  routine?: string;
}

export interface CExecFact {
  kind: 'c.exec';
  range: Range;
  api: string;
  functionIndex: number;
  callIndex: number;
}

export interface CCloseAllFact {
  kind: 'c.closeAll';
  /** The loop statement or the `closefrom`/`close_range` call. */
  range: Range;
  api: 'loop' | string;
  functionIndex: number;
  /** Index of the closing call (`close` in the loop, or the call itself). */
  callIndex: number;
  /** The loop skips some descriptors (`if (fd == keep) continue;`, `if (!table[fd]) continue;`). */
  keepList: boolean;
  /** What a keep-list of comparisons spares (`log_fd`, `get_log_fd()`); absent for other keep tests. */
  keeps?: string[];
  /** `close_range(..., CLOSE_RANGE_CLOEXEC)`: marks descriptors instead of closing them. */
  cloexecOnly: boolean;
  /** Text of the first descriptor closed (`3`, `STDERR_FILENO + 1`), when known. */
  from?: string;
  /**
   * The call returns from its function when it worked (`if (close_range(...) == 0) return 0;`,
   * `ret = close_range(...); if (ret == 0 || errno != ENOSYS) return ret;`): what the function
   * does after it is its fallback, run only when the call failed.
   */
  returnsWhenDone?: 1;
}

export interface CAtForkFact {
  kind: 'c.atfork';
  range: Range;
  /** Name of the child handler, when it is a plain identifier (not NULL). */
  child?: string;
}

/** Long-lived storage an fd is cached in. */
export type CacheStorage = 'static-local' | 'file-static' | 'global';

export interface CFdCacheFact {
  kind: 'c.fdCache';
  /** The producing call. */
  range: Range;
  variable: string;
  storage: CacheStorage;
  api: string;
  functionIndex: number;
  callIndex: number;
  /** The file-scope declaration (for the at-fork fix), when in this file. */
  declarationSpan?: Span;
  /** The declaration's initial value (`-2` in libuuid), used as the "not open" value. */
  declarationInitializer?: string;
}

export interface CFdOpenFact {
  kind: 'c.fdOpen';
  range: Range;
  api: string;
  functionIndex: number;
  callIndex: number;
  /** Whether close-on-exec is requested; `unknown` when the flags are not a constant expression. */
  cloexec: 'yes' | 'no' | 'unknown';
  /** Inside a fork child region: descriptors set up for the exec'd program, not judged. */
  inChild: boolean;
  /**
   * Later calls of the same function that pass the stored descriptor (`set_cloexec(fd, 1)`):
   * the call's index and the argument position. The model takes the flag as decided when such
   * a callee sets that parameter's flag ({@link CFunctionFact.setsCloexecOf}).
   */
  passedTo?: { callIndex: number; arg: number }[];
  /**
   * The same function hands the descriptor's number to a program it runs (`snprintf(buf, n, "%d",
   * p[1]); setenv("X_FD", buf, 1)`, see `fd-by-number.ts`): it is meant to be inherited. For a pair
   * (`pipe(p)`), every end not handed over is marked close-on-exec or closed in a fork child:
   * `closedInChildBy` lists, per end closed through a helper, the child's calls that pass it (the
   * model checks that one of them closes that parameter, {@link CFunctionFact.closesParams}).
   */
  byNumber?: { closedInChildBy?: { callIndex: number; arg: number }[][] };
  /** `TYPE.field` of the struct field the descriptor is stored into (`grp->map_fd`), for {@link CFunctionFact.handsOverFields}. */
  storedField?: string;
  fix?: { title: string; applicability: 'safe' | 'unsafe'; edits: { span: Span; newText: string }[] };
}

/** `fstat(fd, &st)` in a function that also compares `st_ino`/`st_dev`: the cached fd is re-validated. */
export interface CFdCheckFact {
  kind: 'c.fdCheck';
  range: Range;
  variable: string;
}

/** A call to a library that caches a descriptor inside the process (syslog, libuuid...). */
export interface CLibraryCacheFact {
  kind: 'c.libraryCache';
  range: Range;
  api: string;
  functionIndex: number;
  callIndex: number;
}

/** The file's top-level `#include`s (for fixes that need a header), one per file. */
export interface CIncludesFact {
  kind: 'c.includes';
  /** The first include (or the file start). */
  range: Range;
  /** Header names as written inside `<>`/`""`. */
  headers: string[];
  /** Line after the last top-level `#include`: where a new one (or new code) may go. */
  insertLine: number;
}

/**
 * Names the file stores as values, one per file (when any): identifiers in file-scope
 * initializers (`{ .handler = on_request }`, `= on_request`) and identifiers assigned into
 * non-local storage in its functions (`p->handle_uri = on_request;`). Those that name
 * functions are functions whose address the program keeps, to call them back.
 */
export interface CStoredNamesFact {
  kind: 'c.storedNames';
  range: Range;
  names: string[];
}

/**
 * A file-scope table whose initializer stores function names in a field: the command tables
 * of daemons (`static struct cmd cmds[] = { {"status", status_cmd}, ... };`) and operation
 * structs (`static struct ops o = { .run = run_job };`). A loop that finds an entry and calls
 * `cmds[i].func(jcr)` may call each of them. Positional entries are named by the struct's
 * field order when the struct is declared in the file, else `#<position>`.
 */
export interface CDispatchTableFact {
  kind: 'c.dispatchTable';
  /** The table's declaration. */
  range: Range;
  variable: string;
  /** Per field, the identifiers its entries store (candidate functions). */
  fields: { field: string; names: string[] }[];
}

export type CFact =
  | CIncludesFact
  | CDispatchTableFact
  | CStoredNamesFact
  | CFunctionFact
  | CForkFact
  | CThreadStartFact
  | CExecFact
  | CCloseAllFact
  | CAtForkFact
  | CFdCacheFact
  | CFdOpenFact
  | CFdCheckFact
  | CLibraryCacheFact;
