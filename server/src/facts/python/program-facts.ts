/**
 * Python program facts: what one file contributes to the whole-program model — its imports,
 * functions and classes, the calls that may reach other workspace code, and the FORK/FD
 * evidence (thread starts, fork sites, close-all sites, exec/_exit calls, descriptors cached
 * in long-lived storage, their re-validation, at-fork handlers, start-method settings).
 *
 * The tree is walked ONCE with a cursor; only the node types that matter are materialised.
 * Names are then resolved against the file's own imports in a pass over the collected
 * records (not over the tree), so `th.Thread` after `import threading as th` reads
 * `threading.Thread` and the knowledge tables (`knowledge/python-process.ts`) apply.
 *
 * Every fact carries `enclosingFunction`: the qualified name of the function whose body executes it
 * (`''` for module level, including class bodies at module level), so the program model can
 * replay a module's import-time statements and a function's body in source order.
 */
import type { Position, Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  PY_AT_FORK_CALLS,
  PY_CLOSE_ALL_HELPERS,
  PY_CLOSE_HELPER_NAME,
  PY_CLOSE_ONE_CALLS,
  PY_CLOSE_RANGE_CALLS,
  PY_CONTEXT_GETTERS,
  PY_CONTEXT_PROCESS_ATTRS,
  PY_DAEMONIZERS,
  PY_EXEC_CALLS,
  PY_EXIT_CALLS,
  PY_FD_DIRECTORIES,
  PY_FD_SOURCES,
  PY_FORK_CALLS,
  PY_FSTAT_CALLS,
  PY_IDENTITY_FIELDS,
  PY_KEEP_PARAMETER,
  PY_PROCESS_STARTERS,
  PY_SETSID_CALLS,
  PY_START_METHOD_SETTERS,
  PY_STDIO_NAMES,
  PY_THREAD_METHODS,
  PY_THREAD_STARTERS,
  type PyProcessStarter,
  type PyThreadStarter,
} from '../../knowledge/python-process';
import {
  PY_CONNECTION_DRIVERS,
  PY_EXECUTOR_HUB_DRIVERS,
  PY_HEARTBEAT_CALLS,
  PY_HEARTBEAT_CONNECTIONS,
  PY_HEARTBEAT_NAME,
  PY_HUB_DRIVERS,
  PY_MONKEY_PATCHERS,
  PY_NATIVE_PRIMITIVES,
  PY_ORIGINAL_GETTERS,
  PY_SLEEP_CALLS,
  PY_THREAD_TARGETS,
  PY_WAIT_METHODS,
} from '../../knowledge/python-heartbeat';
import { anyIn, lineStartsOf, positionAt } from '../../text/positions';
import { extractSetupPyEntryPoints, type PySetupEntryPoints } from './setup-py';

// ---------------------------------------------------------------------------------------
// Fact shapes (plain JSON)
// ---------------------------------------------------------------------------------------

interface PyFactBase {
  range: Range;
  /** Qualified name of the function whose body runs this (`''`: module level / class body). */
  enclosingFunction: string;
  /** Inside the module's `if __name__ == "__main__":` block. */
  underMainGuard?: boolean;
  /** Under an `if`/`try`/loop/`with` of its scope (it may not run). */
  conditional?: boolean;
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
}

export interface PyClassFact extends PyFactBase {
  kind: 'py.class';
  name: string;
  /** Base classes, resolved like callees (`threading.Thread`, `.base.Worker`, `Local`). */
  bases: { name: string; origin: PyNameOrigin }[];
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
   * `stdio-only` (stdin/stdout/stderr only), `other` (anything more, or unknown).
   */
  keepArgument?: PyKeepArgument;
}

/** What a close-all call's keep argument spares. */
export type PyKeepArgument = 'none' | 'stdio-only' | 'other';

/**
 * `with factory(...):` / `with Cls(...) as x:`: the object the call gives is entered, so its
 * class's `__enter__` runs right after the call (`with detached(...)` runs the daemonizer).
 */
export interface PyWithEnterFact extends PyFactBase {
  kind: 'py.with-enter';
  callee: string;
  origin: PyNameOrigin;
}

/** `return Cls(...)` in a function: the function hands out an object of that (likely) class. */
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
  /** Made from an unpatched original (`eventlet.patcher.original('threading').Thread`): stays native under monkey patching. */
  native?: boolean;
  /** Where the constructor's callee is written (`threading.Thread`): a fix may swap in the original. */
  constructorCallee?: Range;
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
  note: string;
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
}

export interface PyExecFact extends PyFactBase {
  kind: 'py.exec';
  /** True for `_exit`/`sys.exit`, false for `exec*`. */
  exits: boolean;
}

export interface PyFdCacheFact extends PyFactBase {
  kind: 'py.fd-cache';
  /** The variable (`_fd`) or class attribute (`Cls._fd`). */
  name: string;
  storage: 'module' | 'class' | 'global';
  api: string;
  what: string;
  /** Opened on first use (`if _fd is None: _fd = ...`) or inside a function. */
  lazy: boolean;
  /** The right-hand side as written (for the re-open fix). */
  rightHandSide: string;
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
  /** The child handler, resolved like a callee. */
  handler?: string;
  origin?: PyNameOrigin;
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
  | PyHubDriverFact
  | PyNativePrimitiveFact
  | PyWithEnterFact
  | PyReturnsObjectFact
  | PyMethodAliasFact;

// ---------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------

interface Scope {
  kind: 'module' | 'function' | 'class';
  /** Qualified name ('' for the module). */
  name: string;
  /** The executing function ('' at module level / class bodies at module level). */
  fn: string;
  cls?: string;
  parent?: Scope;
  until: number;
  globals?: Set<string>;
  globalAssigns?: Set<string>;
  attrAssigns?: Set<string>;
  /** Names defined by def/class directly in this scope. */
  defs: Set<string>;
  /** Names bound to unpatched originals: `th = eventlet.patcher.original('threading')` → th → `threading`. */
  originals?: Map<string, string>;
  /** Import bindings made in this scope (function-level imports). */
  imports?: Map<string, string>;
  /** Receiver bindings: name → constructor calls assigned to it. */
  bindings: Map<string, RawCall[]>;
  /** pid variables: name → id of the fork call that produced it. */
  pidVars?: Map<string, number>;
  /** End of the function/class (or the file). */
  end: Position;
  /** `return`/`raise` statements directly in this function. */
  leaves?: Range[];
  usesIdentityFields?: boolean;
  fstatCalls?: RawCall[];
  closeRanges?: RawCall[];
  functionFact?: PyFunctionFact;
  /** For functions: the `def` node (parameters are read from it only when asked). */
  defNode?: Node;
  /** For functions: the keep parameter (`keep`, `files_preserve`), null when none; unset until asked. */
  keepParameter?: string | null;
}

interface LoopCtx {
  node: Node;
  range: Range;
  variable: string;
  blanket: boolean;
  keep: boolean;
  reported: boolean;
}

interface Frame {
  until: number;
  scope?: Scope;
  cond?: boolean;
  main?: boolean;
  typeOnly?: boolean;
  loop?: LoopCtx;
  /** The condition/guard expression of a conditional (to tell lazy caches). */
  guard?: Node;
  /** A branching construct: code under it may not run. */
  branch?: Range;
  /** A `for`/`while` loop (its range). */
  loopRange?: Range;
  /** An `elif` whose condition is the guard (looked up only when a guard is needed). */
  guardOf?: Node;
  /** What the walk derives from the frames while this one is on top (null: none). */
  memoScope?: Scope;
  memoFlags?: Flags;
  memoLoop?: LoopCtx | null;
  memoBranches?: Range[];
  memoLoops?: Range[] | null;
}

interface RawCall {
  node: Node;
  /** The call's end offset. */
  end: number;
  /** Offset of the `(` of its argument list when the text shows it (no syntax error), else -1. */
  argsAt: number;
  callee: string | null;
  /** `x.m()` / `self.x.m()` / `Ctor(...).m()`: how the receiver is reached. */
  recv?: { name: string } | { selfAttr: string } | { chained: number };
  method?: string;
  scope: Scope;
  flags: Flags;
  loop?: LoopCtx;
  /** Ranges of the branching statements (if/elif/else/loops) around the call in its scope. */
  branches: Range[];
  resolved?: Resolved;
  matched?: boolean;
  /** Enclosing `for`/`while` loops of its scope, innermost first. */
  loops?: Range[];
  base?: PyFactBase;
}

interface Flags {
  main?: boolean;
  cond?: boolean;
  typeOnly?: boolean;
}

interface Resolved {
  name: string;
  origin: PyNameOrigin;
  /** Reached through an unpatched original (`eventlet.patcher.original('threading')`). */
  native?: boolean;
}

interface IfRecord {
  node: Node;
  end: number;
  scope: Scope;
  subject: { name: string } | { call: number };
  childWhenTrue: boolean;
  consequence: Range;
  alternative?: Range;
}

interface PendingCache {
  callId: number;
  name: string;
  storage: 'module' | 'class' | 'global';
  lazy: boolean;
  topStatementEnd: Position;
}

const INTERESTING = new Set([
  'import_statement',
  'import_from_statement',
  'function_definition',
  'class_definition',
  'if_statement',
  'elif_clause',
  'else_clause',
  'for_statement',
  'while_statement',
  'try_statement',
  'with_statement',
  'match_statement',
  'call',
  'assignment',
  'global_statement',
  'lambda',
  'conditional_expression',
  'list_comprehension',
  'generator_expression',
  'set_comprehension',
  'dictionary_comprehension',
  'return_statement',
  'raise_statement',
]);

function posOf(p: { row: number; column: number }): Position {
  return { line: p.row, character: p.column };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

function within(inner: Range, outer: Range): boolean {
  return !before(inner.start, outer.start) && !before(outer.end, inner.end);
}

/** `a.b.c` for identifier/attribute chains, else null. */
function dotted(node: Node | null): string | null {
  if (!node) return null;
  if (node.type === 'identifier') return node.text;
  if (node.type === 'attribute') {
    const obj = dotted(node.childForFieldName('object'));
    const attr = node.childForFieldName('attribute');
    return obj && attr ? `${obj}.${attr.text}` : null;
  }
  return null;
}

function stringValue(node: Node | null | undefined): { value: string; content: Range } | undefined {
  if (!node || node.type !== 'string') return undefined;
  let content: Node | undefined;
  for (const c of node.namedChildren) {
    if (!c) continue;
    if (c.type === 'interpolation') return undefined;
    if (c.type === 'string_content') content = c;
  }
  if (!content) {
    // An empty string: the content range is the empty span before the closing quote.
    const end = node.namedChildren.find((c) => c?.type === 'string_end');
    if (!end) return undefined;
    const p = posOf(end.startPosition);
    return { value: '', content: { start: p, end: p } };
  }
  return { value: content.text, content: nodeRange(content) };
}

interface Args {
  positional: Node[];
  keywords: Map<string, Node>;
  node: Node | null;
}

function argsOf(call: Node): Args {
  const out: Args = { positional: [], keywords: new Map(), node: call.childForFieldName('arguments') };
  if (!out.node || out.node.type !== 'argument_list') return out;
  for (const a of out.node.namedChildren) {
    if (!a || a.type === 'comment') continue;
    if (a.type === 'keyword_argument') {
      const n = a.childForFieldName('name');
      const v = a.childForFieldName('value');
      if (n && v) out.keywords.set(n.text, v);
    } else out.positional.push(a);
  }
  return out;
}

/** Where to add `keyword=value` to a call's argument list. */
function keywordInsert(args: Node | null, keyword: string): { keyword: string; insertAt: Position; needsComma: boolean } | undefined {
  if (!args || args.type !== 'argument_list') return undefined;
  const close = args.lastChild;
  if (!close || close.type !== ')') return undefined;
  const named = args.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
  const last = args.child(args.childCount - 2);
  const trailingComma = last?.type === ',';
  return { keyword, insertAt: posOf(close.startPosition), needsComma: named.length > 0 && !trailingComma };
}

function isMainGuard(cond: Node | null): boolean {
  if (!cond || cond.type !== 'comparison_operator') return false;
  const parts = cond.namedChildren.filter((c): c is Node => !!c);
  if (parts.length !== 2 || cond.child(1)?.type !== '==') return false;
  const [a, b] = parts;
  const isName = (n: Node) => n.type === 'identifier' && n.text === '__name__';
  const isMain = (n: Node) => stringValue(n)?.value === '__main__';
  return (isName(a) && isMain(b)) || (isMain(a) && isName(b));
}

/** Identifiers an expression mentions (shallow enough for guards and fstat arguments). */
function identifiersIn(node: Node, out: string[] = []): string[] {
  if (node.type === 'identifier') out.push(node.text);
  for (const c of node.namedChildren) if (c) identifiersIn(c, out);
  return out;
}

/** Names the tables already describe: never worth a `py.call` fact. */
const KNOWN_NOT_WORKSPACE: ReadonlySet<string> = new Set([...PY_FD_SOURCES.keys(), ...PY_SETSID_CALLS, ...PY_CLOSE_ONE_CALLS, ...PY_FSTAT_CALLS]);

/** Every name `classify` looks up by itself (one look-up rules them all out for most calls). */
const CLASSIFY_NAMES: ReadonlySet<string> = new Set([
  ...PY_FORK_CALLS.keys(),
  ...PY_EXEC_CALLS,
  ...PY_EXIT_CALLS,
  ...PY_DAEMONIZERS.keys(),
  ...PY_CLOSE_RANGE_CALLS,
  ...PY_CLOSE_ALL_HELPERS.keys(),
  ...PY_START_METHOD_SETTERS,
  ...PY_AT_FORK_CALLS.keys(),
  ...PY_FSTAT_CALLS,
]);
/** Every name `ctorKind` looks up. */
const CTOR_NAMES: ReadonlySet<string> = new Set([...PY_THREAD_STARTERS.keys(), ...PY_PROCESS_STARTERS.keys(), ...PY_CONTEXT_GETTERS]);
/** Every name `classifyHeartbeat` looks up. */
const HEARTBEAT_NAMES: ReadonlySet<string> = new Set([
  ...PY_MONKEY_PATCHERS.keys(),
  ...PY_HEARTBEAT_CONNECTIONS.keys(),
  ...PY_HUB_DRIVERS.keys(),
  ...PY_EXECUTOR_HUB_DRIVERS.keys(),
  ...PY_NATIVE_PRIMITIVES.keys(),
]);

const NON_CTOR_NAMES = new Set(['super', 'type', 'object', 'getattr', 'setattr', 'property', 'staticmethod', 'classmethod']);

/**
 * Text shortcuts. `extractPythonFacts` gets the text the tree was parsed from, and
 * web-tree-sitter's offsets are UTF-16 code units of it (as are its columns), so a node's
 * text is a slice and a position is a line-table lookup: no trip into WASM. Where the tree
 * has no syntax error, a few node shapes are also read from the text (a dotted name, a
 * callee, a `def`'s name); any text that is not plainly one of them is read from the nodes.
 */
const DOTTED_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A call's text starting with a dotted callee right before its `(`. */
const CALLEE_RE = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\(/y;
const DEF_RE = /(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?=[([ \t])/y;
const CLASS_RE = /class[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?=[(:[ \t])/y;
const TOKEN_RE = /[A-Za-z_][A-Za-z0-9_]*/g;
/** `name=` at the start of an argument. */
const KEYWORD_ARG_RE = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)/y;
/** A dotted name with blanks around its dots (`a . b`, `a.\n b`). */
const SPACED_DOTTED_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+$/;
/** What may separate a decorator from its definition. */
const DECORATOR_GAP_RE = /^(?:[ \t\r\n\f\v]|\\\r?\n|#[^\n]*(?=\n|$))*$/;
/** `name =` / `a.b =` at the start of an assignment (then blanks up to the right side). */
const ASSIGN_RE = /([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)[ \t]*=(?!=)[ \t]*/y;
/** Words that are not plain identifiers (keywords, literals): dotted text with one is read from the nodes. */
const NOT_NAMES = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);

function plainSegments(chain: string): boolean {
  let i = 0;
  for (;;) {
    const dot = chain.indexOf('.', i);
    if (NOT_NAMES.has(dot < 0 ? chain.slice(i) : chain.slice(i, dot))) return false;
    if (dot < 0) return true;
    i = dot + 1;
  }
}

/** `x.attr` → x, attr (a dotted name of two parts only). */
function partsOfDotted(t: string): { obj: string; attr: string } | undefined {
  const dot = t.indexOf('.');
  return dot >= 0 && dot === t.lastIndexOf('.') ? { obj: t.slice(0, dot), attr: t.slice(dot + 1) } : undefined;
}

/** An assignment target: its node, or (read from the text) its name. */
interface Target {
  node?: Node;
  type: string;
  text?: string;
}


class Extractor {
  readonly facts: PythonFact[] = [];
  private readonly calls: RawCall[] = [];
  private readonly callIndex = new Map<number, number>();
  private readonly ifs: IfRecord[] = [];
  private readonly loopCloses: { call: RawCall; loop: LoopCtx }[] = [];
  private readonly scopes: Scope[] = [];
  private readonly module: Scope;
  private readonly moduleFact: PyModuleFact;
  private readonly frames: Frame[] = [];
  private readonly src: string;
  /** `src` is the tree's text (offsets and positions can be computed from it). */
  private readonly exact: boolean;
  /** `exact` and the tree has no syntax error: node shapes can be read from the text. */
  private readonly fast: boolean;
  private lineStarts?: number[];
  /** The nodes the walk visits (with their types and end offsets, read once) and the index of the current one. */
  private nodes: (Node | null)[] = [];
  private types: string[] = [];
  private ends: number[] = [];
  private cur = 0;
  /** Start offset of the node being visited. */
  private curStart = 0;
  /** Start/end offsets of the function and class scopes (for names found in the text after the walk). */
  private readonly scopeSpans: { scope: Scope; start: number; end: number }[] = [];
  /** Module-level import statements, last one (fast mode: the import insertion point). */
  private lastTopImport?: { node: Node; end: number };

  constructor(
    private readonly tree: Tree,
    text: string,
    textShortcuts: boolean,
  ) {
    this.src = text;
    const root = tree.rootNode;
    this.exact = root.endIndex === text.length;
    this.fast = textShortcuts && this.exact && !root.hasError;
    this.mentionsIdentity = /\bst_(ino|dev)\b/.test(text);
    this.mayDecorate = text.includes('@');
    this.module = { kind: 'module', name: '', fn: '', until: 0, defs: new Set(), bindings: new Map(), end: posOf(root.endPosition) };
    this.scopes.push(this.module);
    this.frames.push({ until: 0, scope: this.module });
    this.moduleFact = {
      kind: 'py.module',
      enclosingFunction: '',
      range: { start: posOf(root.startPosition), end: posOf(root.startPosition) },
      importInsert: { line: 0, character: 0 },
    };
    this.facts.push(this.moduleFact);
  }

  // -------------------------------------------------------------------------------------
  // Text and positions
  // -------------------------------------------------------------------------------------

  /** Position of a UTF-16 offset of the text (rows advance at `\n` only, as in tree-sitter). */
  private posAt(index: number): Position {
    return positionAt((this.lineStarts ??= lineStartsOf(this.src)), index);
  }

  /** End position of `node`, whose end offset is `end`. */
  private posEnd(node: Node, end: number): Position {
    return this.exact ? this.posAt(end) : posOf(node.endPosition);
  }

  /** Range of `node`, whose end offset is `end` (`nodeRange` without the trip into WASM). */
  private rangeOf(node: Node, end: number): Range {
    if (!this.exact) return nodeRange(node);
    const p = node.startPosition;
    return { start: { line: p.row, character: p.column }, end: this.posAt(end) };
  }

  private range(node: Node): Range {
    return this.exact ? this.rangeOf(node, node.endIndex) : nodeRange(node);
  }

  private text(node: Node): string {
    return this.exact ? this.src.slice(node.startIndex, node.endIndex) : node.text;
  }

  /** `node.text === word`, mostly without the trip into WASM. */
  private textIs(node: Node, word: string): boolean {
    if (!this.exact) return node.text === word;
    return this.src.startsWith(word, node.startIndex) && node.endIndex === node.startIndex + word.length;
  }

  /** `dotted(node)`, read from the text when it is a plain dotted name. */
  private dotted(node: Node | null): string | null {
    if (!node) return null;
    if (this.fast) {
      const t = this.src.slice(node.startIndex, node.endIndex);
      if (DOTTED_RE.test(t) && plainSegments(t)) return t;
    }
    return dotted(node);
  }

  /** `x.attr` with `x` an identifier: both names (else undefined). */
  private attrParts(node: Node): { obj: string; attr: string } | undefined {
    if (this.fast) {
      const t = this.src.slice(node.startIndex, node.endIndex);
      if (DOTTED_RE.test(t) && plainSegments(t)) return partsOfDotted(t);
    }
    const obj = node.childForFieldName('object');
    const attr = node.childForFieldName('attribute');
    if (!obj || !attr || obj.type !== 'identifier') return undefined;
    return { obj: obj.text, attr: attr.text };
  }

  // -------------------------------------------------------------------------------------
  // Frames
  // -------------------------------------------------------------------------------------

  /**
   * What the frames say about the current node, memoised on the top frame (the frames
   * under it do not change while it is on top).
   */
  private curScope(): Scope {
    const top = this.frames[this.frames.length - 1];
    return (top.memoScope ??= this.scope());
  }

  private curFlags(): Flags {
    const top = this.frames[this.frames.length - 1];
    return (top.memoFlags ??= this.flags());
  }

  private curLoop(): LoopCtx | undefined {
    const top = this.frames[this.frames.length - 1];
    if (top.memoLoop === undefined) top.memoLoop = this.loop() ?? null;
    return top.memoLoop ?? undefined;
  }

  private curBranches(): Range[] {
    const top = this.frames[this.frames.length - 1];
    return (top.memoBranches ??= this.branches());
  }

  private curLoops(): Range[] | undefined {
    const top = this.frames[this.frames.length - 1];
    if (top.memoLoops === undefined) top.memoLoops = this.loopRanges() ?? null;
    return top.memoLoops ?? undefined;
  }

  private scope(): Scope {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const s = this.frames[i].scope;
      if (s) return s;
    }
    return this.module;
  }

  private flags(): Flags {
    const f: Flags = {};
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.main) f.main = true;
      if (fr.typeOnly) f.typeOnly = true;
      if (fr.scope) break;
      if (fr.cond) f.cond = true;
    }
    // The main guard sits at module level; a class body inside it still counts.
    if (!f.main) for (const fr of this.frames) if (fr.main) f.main = true;
    return f;
  }

  private loop(): LoopCtx | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.loop) return fr.loop;
      if (fr.scope) return undefined;
    }
    return undefined;
  }

  private branches(): Range[] {
    const out: Range[] = [];
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.branch) out.push(fr.branch);
      if (fr.scope) break;
    }
    return out;
  }

  /** Ranges of the `for`/`while` loops around the current node in its scope, innermost first. */
  private loopRanges(): Range[] | undefined {
    let out: Range[] | undefined;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.loopRange) (out ??= []).push(fr.loopRange);
      if (fr.scope) break;
    }
    return out;
  }

  private guards(): Node[] {
    const out: Node[] = [];
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.guardOf) {
        fr.guard = fr.guardOf.childForFieldName('condition') ?? undefined;
        fr.guardOf = undefined;
      }
      if (fr.guard) out.push(fr.guard);
      if (fr.scope) break;
    }
    return out;
  }

  private base(range: Range, flags: Flags, scope: Scope): PyFactBase {
    const b: PyFactBase = { range, enclosingFunction: scope.fn };
    if (flags.main) b.underMainGuard = true;
    if (flags.cond) b.conditional = true;
    return b;
  }

  /**
   * One pass over the nodes of interest. They come from a single `descendantsOfType` call
   * (one trip into WASM, in document order); nesting (scopes, conditions, loops) is rebuilt
   * from their end offsets, so no JavaScript walk over every node is needed.
   */
  walk(): void {
    const root = this.tree.rootNode;
    // `return`/`raise` only matter to the child of an `os.fork()` (see `childRegions`).
    const types = this.src.includes('fork') ? [...INTERESTING] : [...INTERESTING].filter((t) => t !== 'return_statement' && t !== 'raise_statement');
    // Without syntax errors, `st_ino`/`st_dev` are found in the text after the walk.
    if (this.mentionsIdentity && !this.fast) types.push('attribute');
    if (this.fast) types.push('future_import_statement');
    if (this.fast && this.mayDecorate) types.push('decorator');
    const nodes = (this.nodes = root.descendantsOfType(types));
    this.types = new Array<string>(nodes.length);
    this.ends = new Array<number>(nodes.length);
    let skipUntil = -1;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (!node) continue;
      const start = node.startIndex;
      if (start < skipUntil) continue;
      while (this.frames.length > 1 && this.frames[this.frames.length - 1].until <= start) this.frames.pop();
      this.cur = i;
      this.curStart = start;
      const end = this.endAt(i);
      if (!this.visit(node, this.typeAt(i), end)) skipUntil = end;
    }
    if (this.fast && this.mentionsIdentity) this.findIdentityFields();
    this.nodes = [];
    this.types = [];
    this.ends = [];
  }

  private typeAt(i: number): string {
    return (this.types[i] ??= this.nodes[i]!.type);
  }

  private endAt(i: number): number {
    return (this.ends[i] ??= this.nodes[i]!.endIndex);
  }

  private tops?: { end: number; pos: Position }[];

  /** End of the module-level statement that holds the current node. */
  private topEnd(): Position {
    if (!this.tops) {
      this.tops = [];
      for (const c of this.tree.rootNode.children) {
        if (!c) continue;
        const end = c.endIndex;
        this.tops.push({ end, pos: this.posEnd(c, end) });
      }
    }
    const tops = this.tops;
    if (!tops.length) return { line: 0, character: 0 };
    // The first statement that ends after the node starts (else the last one).
    let lo = 0;
    let hi = tops.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tops[mid].end <= this.curStart) lo = mid + 1;
      else hi = mid;
    }
    return tops[lo].pos;
  }

  /**
   * Handles one node of interest; returns false to skip the nodes inside it. `until` is
   * the node's end offset: frames pushed here last until the walk passes it.
   */
  private visit(node: Node, type: string, until: number): boolean {
    const scope = this.curScope();
    switch (type) {
      case 'import_statement':
      case 'import_from_statement':
        if (this.fast && this.frames.length === 1) this.lastTopImport = { node, end: until };
        this.visitImport(node, scope);
        return false;
      case 'future_import_statement':
        if (this.frames.length === 1) this.lastTopImport = { node, end: until };
        return true;
      case 'decorator':
        this.lastDecoratorEnd = until;
        return true;
      case 'function_definition':
        this.visitFunction(node, until, scope);
        return true;
      case 'class_definition':
        this.visitClass(node, until, scope);
        return true;
      case 'if_statement':
        this.visitIf(node, until, scope);
        return true;
      case 'elif_clause': {
        this.frames.push({ until, cond: true, guardOf: node, branch: this.rangeOf(node, until) });
        return true;
      }
      case 'with_statement':
        this.visitWith(node, scope);
        this.frames.push({ until, cond: true });
        return true;
      case 'try_statement':
        this.frames.push({ until, cond: true });
        return true;
      case 'else_clause':
      case 'match_statement':
      case 'lambda':
      case 'conditional_expression':
      case 'list_comprehension':
      case 'generator_expression':
      case 'set_comprehension':
      case 'dictionary_comprehension':
        this.frames.push({ until, cond: true, branch: this.rangeOf(node, until) });
        return true;
      case 'for_statement':
      case 'while_statement': {
        const r = this.rangeOf(node, until);
        this.frames.push({ until, cond: true, loop: this.loopContext(node, type, until, r), branch: r, loopRange: r });
        return true;
      }
      case 'call':
        this.visitCall(node, scope, until);
        return true;
      case 'assignment':
        this.visitAssignment(node, scope, until);
        return true;
      case 'return_statement':
      case 'raise_statement':
        (scope.leaves ??= []).push(this.rangeOf(node, until));
        if (type === 'return_statement' && scope.kind === 'function') {
          const value = node.namedChild(0);
          if (value?.type === 'call') this.returnedCalls.add(value.id);
        }
        return true;
      case 'global_statement':
        scope.globals ??= new Set();
        for (const c of node.namedChildren) if (c?.type === 'identifier') scope.globals.add(c.text);
        return false;
      case 'attribute': {
        // `st.st_ino` / `st.st_dev` (only collected when the file mentions them at all).
        const attr = node.childForFieldName('attribute');
        if (attr && PY_IDENTITY_FIELDS.has(attr.text)) scope.usesIdentityFields = true;
        return true;
      }
    }
    return true;
  }

  /**
   * `st.st_ino` / `st.st_dev` found in the text instead of visiting every attribute node:
   * each mention that is the attribute of an attribute node marks the scope around that node.
   */
  private findIdentityFields(): void {
    if (!this.scopes.some((s) => s.fstatCalls)) return; // only read next to `os.fstat` calls
    const root = this.tree.rootNode;
    const re = /\bst_(ino|dev)\b/g;
    for (let m = re.exec(this.src); m; m = re.exec(this.src)) {
      const start = m.index;
      const end = start + m[0].length;
      if (!PY_IDENTITY_FIELDS.has(m[0])) continue;
      const id = root.descendantForIndex(start, end);
      if (!id || id.startIndex !== start || id.endIndex !== end || id.type !== 'identifier') continue;
      const attr = id.parent;
      if (!attr || attr.type !== 'attribute' || attr.childForFieldName('attribute')?.id !== id.id) continue;
      // The innermost function or class whose definition holds the attribute node.
      const at = attr.startIndex;
      let scope = this.module;
      let best = -1;
      for (const s of this.scopeSpans) if (s.start <= at && at < s.end && s.start >= best) {
        scope = s.scope;
        best = s.start;
      }
      scope.usesIdentityFields = true;
    }
  }

  private visitImport(node: Node, scope: Scope): void {
    const flags = this.curFlags();
    if (flags.typeOnly) return;
    const range = this.range(node);
    const b = this.base(range, flags, scope);
    const table = scope.kind === 'function' ? (scope.imports ??= new Map()) : (this.module.imports ??= new Map());
    const bind = (local: string, target: string) => table.set(local, target);
    if (node.type === 'import_statement') {
      for (const c of node.childrenForFieldName('name')) {
        if (!c) continue;
        if (c.type === 'dotted_name') {
          const mod = c.text;
          const first = mod.split('.')[0];
          bind(first, first);
          this.facts.push({ ...b, kind: 'py.import', module: mod, level: 0, boundName: first });
        } else if (c.type === 'aliased_import') {
          const mod = c.childForFieldName('name')?.text ?? '';
          const alias = c.childForFieldName('alias')?.text ?? mod;
          bind(alias, mod);
          this.facts.push({ ...b, kind: 'py.import', module: mod, level: 0, boundName: alias });
        }
      }
    } else {
      const modNode = node.childForFieldName('module_name');
      let level = 0;
      let mod = '';
      if (modNode?.type === 'relative_import') {
        for (const c of modNode.children) {
          if (c?.type === 'import_prefix') level = c.text.length;
          else if (c?.type === 'dotted_name') mod = c.text;
        }
      } else if (modNode) mod = modNode.text;
      const prefix = '.'.repeat(level) + mod;
      const names: { name: string; alias?: string }[] = [];
      let star = false;
      for (const c of node.children) {
        if (!c || c === modNode) continue;
        if (c.type === 'wildcard_import') star = true;
      }
      for (const c of node.childrenForFieldName('name')) {
        if (!c) continue;
        if (c.type === 'dotted_name') {
          names.push({ name: c.text });
          bind(c.text, joinName(prefix, c.text));
        } else if (c.type === 'aliased_import') {
          const n = c.childForFieldName('name')?.text ?? '';
          const alias = c.childForFieldName('alias')?.text ?? n;
          names.push({ name: n, alias });
          bind(alias, joinName(prefix, n));
        }
      }
      const fact: PyImportFact = { ...b, kind: 'py.import', module: mod, level, names };
      if (star) fact.star = true;
      this.facts.push(fact);
    }
  }

  /** The name of a `def`/`class` and its range: from the text when it is plain, else the `name` node. */
  private defName(node: Node, re: RegExp): { name: string; range: Range } | undefined {
    if (this.fast) {
      re.lastIndex = node.startIndex;
      const m = re.exec(this.src);
      if (m) {
        const p = node.startPosition;
        const col = p.column + m[0].length - m[1].length;
        return { name: m[1], range: { start: { line: p.row, character: col }, end: { line: p.row, character: col + m[1].length } } };
      }
    }
    const nameNode = node.childForFieldName('name');
    return nameNode ? { name: nameNode.text, range: nodeRange(nameNode) } : undefined;
  }

  private visitFunction(node: Node, until: number, parent: Scope): void {
    const nameInfo = this.defName(node, DEF_RE);
    const simple = nameInfo?.name ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.curFlags();
    const fact: PyFunctionFact = {
      ...this.base(nameInfo ? nameInfo.range : this.rangeOf(node, until), flags, parent),
      kind: 'py.function',
      name: qual,
    };
    const cls = parent.kind === 'class' ? parent.name : undefined;
    if (cls) fact.className = cls;
    // `def application(environ, start_response):` at module level is a WSGI entry point too.
    if (parent.kind === 'module' && simple === 'application' && !flags.main && !flags.cond && nameInfo) this.moduleFact.application ??= nameInfo.range;
    if (this.mayDecorate && (!this.fast || this.followsDecorator(node.startIndex))) {
      const p = node.parent;
      if (p?.type === 'decorated_definition' && this.isRegisteringDecorator(p)) fact.registered = true;
    }
    this.facts.push(fact);
    const scope: Scope = {
      kind: 'function',
      name: qual,
      fn: qual,
      cls,
      parent,
      until,
      defs: new Set(),
      bindings: new Map(),
      functionFact: fact,
      defNode: node,
      end: this.posEnd(node, until),
    };
    this.scopes.push(scope);
    this.scopeSpans.push({ scope, start: node.startIndex, end: until });
    this.frames.push({ until, scope });
  }

  /** Whether the file has a `@` at all (decorators). */
  private readonly mayDecorate: boolean;
  /** End of the last decorator the walk passed (fast mode). */
  private lastDecoratorEnd = -1;

  /**
   * Only blanks and comments between the last decorator and `start`: a decorated definition.
   * (The first definition after decorators is theirs: it consumes them.)
   */
  private followsDecorator(start: number): boolean {
    const end = this.lastDecoratorEnd;
    this.lastDecoratorEnd = -1;
    return end >= 0 && end <= start && DECORATOR_GAP_RE.test(this.src.slice(end, start));
  }

  private isRegisteringDecorator(decorated: Node): boolean {
    for (const d of decorated.namedChildren) {
      if (d?.type !== 'decorator') continue;
      const expr = d.namedChild(0);
      const target = expr?.type === 'call' ? expr.childForFieldName('function') : expr;
      const name = this.dotted(target ?? null);
      if (name && !NON_REGISTERING_DECORATORS.test(name)) return true;
    }
    return false;
  }

  private visitClass(node: Node, until: number, parent: Scope): void {
    const nameInfo = this.defName(node, CLASS_RE);
    this.lastDecoratorEnd = -1; // a decorated class consumes its decorators
    const simple = nameInfo?.name ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.curFlags();
    const raw: string[] = [];
    const sup = node.childForFieldName('superclasses');
    if (sup) for (const b of sup.namedChildren) {
      const d = this.dotted(b ?? null);
      if (d) raw.push(d);
    }
    const fact: PyClassFact = { ...this.base(nameInfo ? nameInfo.range : this.rangeOf(node, until), flags, parent), kind: 'py.class', name: qual, bases: [] };
    this.facts.push(fact);
    this.pendingBases.push({ fact, scope: parent, raw });
    const scope: Scope = { kind: 'class', name: qual, fn: parent.fn, cls: qual, parent, until, defs: new Set(), bindings: new Map(), end: parent.end };
    this.scopes.push(scope);
    this.scopeSpans.push({ scope, start: node.startIndex, end: until });
    this.frames.push({ until, scope });
  }

  private readonly pendingBases: { fact: PyClassFact; scope: Scope; raw: string[] }[] = [];

  private visitIf(node: Node, until: number, scope: Scope): void {
    const cond = node.childForFieldName('condition');
    const condText = cond ? this.text(cond) : '';
    // (Each test below needs its words in the condition's text: checked first, it is cheap.)
    if (scope.kind === 'module' && condText.includes('__name__') && condText.includes('__main__') && isMainGuard(cond) && !this.curFlags().cond) {
      this.moduleFact.mainGuard = this.rangeOf(node, until);
      this.frames.push({ until, main: true });
      return;
    }
    if (cond && (condText === 'TYPE_CHECKING' || condText === 'typing.TYPE_CHECKING')) {
      this.frames.push({ until, cond: true, typeOnly: true });
      return;
    }
    this.frames.push({ until, cond: true, guard: cond ?? undefined, branch: this.rangeOf(node, until) });
    if (!cond) return;
    // `if fd in keep: continue` inside a close-all loop: a keep-list.
    const loop = this.curLoop();
    if (loop && condText.includes(loop.variable) && identifiersIn(cond).includes(loop.variable)) loop.keep = true;
    if (!scope.pidVars && !condText.includes('fork')) return;
    const test = this.forkTest(cond, scope);
    if (!test) return;
    const consequence = node.childForFieldName('consequence');
    if (!consequence) return;
    let alternative: Range | undefined;
    for (const alt of node.childrenForFieldName('alternative')) {
      if (alt?.type === 'else_clause') {
        const body = alt.childForFieldName('body');
        if (body) alternative = this.range(body);
      }
    }
    this.ifs.push({ node, end: until, scope, subject: test.subject, childWhenTrue: test.childWhenTrue, consequence: this.range(consequence), alternative });
  }

  /**
   * Recognises tests of a fork's result: `pid == 0`, `not pid`, `pid`, `pid > 0`,
   * `os.fork() == 0`, `if os.fork():` ... The subject is a pid variable of this scope or
   * the fork call itself (resolved after the walk).
   */
  private forkTest(cond: Node, scope: Scope): { subject: IfRecord['subject']; childWhenTrue: boolean } | undefined {
    let negate = false;
    let n: Node | null = cond;
    while (n && n.type === 'parenthesized_expression') n = n.namedChild(0);
    if (n?.type === 'not_operator') {
      negate = true;
      n = n.childForFieldName('argument');
    }
    if (!n) return undefined;
    const subjectOf = (x: Node | null): IfRecord['subject'] | undefined => {
      if (!x) return undefined;
      if (x.type === 'identifier' && scope.pidVars?.has(x.text)) return { name: x.text };
      if (x.type === 'call') {
        const fnText = this.dotted(x.childForFieldName('function'));
        if (fnText && /(^|\.)fork(pty)?$/.test(fnText)) return { call: x.id };
      }
      return undefined;
    };
    let s = subjectOf(n);
    if (s) return { subject: s, childWhenTrue: negate }; // `if pid:` → parent when true
    if (n.type !== 'comparison_operator') return undefined;
    const parts = n.namedChildren.filter((c): c is Node => !!c);
    if (parts.length !== 2) return undefined;
    const op = n.child(1)?.type;
    let [left, right] = parts;
    let flipped = false;
    s = subjectOf(left);
    if (!s) {
      s = subjectOf(right);
      [left, right] = [right, left];
      flipped = true;
    }
    if (!s || right.type !== 'integer') return undefined;
    const k = Number(right.text);
    let childWhenTrue: boolean | undefined;
    if (k === 0 && (op === '==' || op === 'is')) childWhenTrue = true;
    else if (k === 0 && (op === '!=' || op === 'is not')) childWhenTrue = false;
    else if (k === 0 && ((op === '>' && !flipped) || (op === '<' && flipped))) childWhenTrue = false;
    if (childWhenTrue === undefined) return undefined;
    return { subject: s, childWhenTrue: negate ? !childWhenTrue : childWhenTrue };
  }

  private loopContext(node: Node, type: string, until: number, range: Range): LoopCtx | undefined {
    // Only `range(...)`/`listdir`/`scandir` loops and `while i < n` loops qualify: their words come first.
    const body = this.exact ? this.src.slice(node.startIndex, until) : undefined;
    if (type === 'for_statement') {
      if (body !== undefined && !body.includes('range') && !body.includes('listdir') && !body.includes('scandir')) return undefined;
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (left?.type !== 'identifier' || right?.type !== 'call') return undefined;
      const fn = this.dotted(right.childForFieldName('function'));
      let blanket = fn === 'range';
      if (!blanket && fn && /(^|\.)(listdir|scandir)$/.test(fn)) {
        const arg = argsOf(right).positional[0];
        const v = stringValue(arg)?.value;
        blanket = v !== undefined && PY_FD_DIRECTORIES.some((d) => v.replace(/\/$/, '') === d);
      }
      if (!blanket) return undefined;
      return { node, range, variable: left.text, blanket, keep: false, reported: false };
    }
    if (body !== undefined && !body.includes('<')) return undefined;
    const cond = node.childForFieldName('condition');
    if (cond?.type === 'comparison_operator') {
      const first = cond.namedChild(0);
      const op = cond.child(1)?.type;
      if (first?.type === 'identifier' && (op === '<' || op === '<=')) return { node, range, variable: first.text, blanket: true, keep: false, reported: false };
    }
    return undefined;
  }

  private visitWith(node: Node, scope: Scope): void {
    for (const clause of node.namedChildren) {
      if (clause?.type !== 'with_clause') continue;
      for (const item of clause.namedChildren) {
        const value = item?.childForFieldName('value');
        const vt = value?.type;
        if (vt === 'call') this.withCalls.add(value!.id);
        if (vt !== 'as_pattern') continue;
        const call = value!.namedChild(0);
        const target = value!.childForFieldName('alias')?.namedChild(0);
        const ct = call?.type;
        if (ct === 'call' && target?.type === 'identifier') this.bind(scope, this.text(target), call!);
        if (ct === 'call') this.withCalls.add(call!.id);
      }
    }
  }

  /** Calls used as `with` items: their objects are shut down when the block ends. */
  private readonly withCalls = new Set<number>();

  /** Calls whose value a function returns (`return Cls(...)`). */
  private readonly returnedCalls = new Set<number>();

  private readonly pendingBindings: { scope: Scope; key: string; callId: number }[] = [];

  private bind(scope: Scope, key: string, call: Node): void {
    this.pendingBindings.push({ scope, key, callId: call.id });
  }

  /** Callables passed as arguments: the node, or (read from the text) the offset of the name. */
  private readonly pendingRefs: { raw: string; node?: Node; at?: number; scope: Scope; flags: Flags }[] = [];

  /** Inner links of `a = b = c = ...` chains, already handled with the outermost one. */
  private readonly chainedAssignments = new Set<number>();

  private visitAssignment(node: Node, scope: Scope, until: number): void {
    if (this.chainedAssignments.delete(node.id)) return;
    if (scope.kind === 'class') {
      // `__enter__ = open`: the with protocol runs another method of the class.
      const alias = /^(__(?:enter|exit)__)\s*=\s*([A-Za-z_]\w*)\s*$/.exec(this.src.slice(node.startIndex, until));
      if (alias) this.facts.push({ ...this.base(this.rangeOf(node, until), this.curFlags(), scope), kind: 'py.method-alias', className: scope.name, alias: alias[1], target: alias[2] });
    }
    if (this.fast && this.visitPlainAssignment(node, scope, until)) return;
    let right = node.childForFieldName('right');
    let rt = right?.type;
    // Only three things matter: a call on the right (caches, bindings, pids), targets a
    // function assigns through `global`/class attributes, and a module-level `application`.
    if (rt !== 'call' && rt !== 'assignment' && scope.kind === 'class') return;
    const left = node.childForFieldName('left');
    const lt = left?.type;
    if (rt !== 'call' && rt !== 'assignment' && scope.kind === 'function' && !scope.globals && lt !== 'attribute') return;
    // `a = b = call()`: every target gets the call.
    const targets: Target[] = left ? [{ node: left, type: lt! }] : [];
    while (right && rt === 'assignment') {
      this.chainedAssignments.add(right.id);
      const l = right.childForFieldName('left');
      if (l) targets.push({ node: l, type: l.type });
      right = right.childForFieldName('right');
      rt = right?.type;
    }
    const flags = this.curFlags();
    for (const t of targets) {
      if (scope.kind === 'module' && !flags.main && t.type === 'identifier' && this.textIs(t.node!, 'application')) {
        this.moduleFact.application = this.range(t.node!);
      }
      if (scope.kind !== 'function') continue;
      if (t.type === 'pattern_list' || t.type === 'tuple_pattern') {
        for (const c of t.node!.namedChildren) if (c) this.noteAssignTarget({ node: c, type: c.type }, scope);
      } else this.noteAssignTarget(t, scope);
    }
    if (scope.kind === 'module' && rt === 'string' && targets.some((t) => t.type === 'identifier' && this.textIs(t.node!, 'worker_class'))) {
      const v = stringValue(right)?.value;
      if (v) this.moduleFact.workerClass = v;
    }
    if (!right || rt !== 'call') return;
    // Only a fork's result makes a pid variable (its name is in the text).
    const forkCall =
      (!this.exact || this.src.slice(node.startIndex, until).includes('fork')) && /(^|\.)fork(pty)?$/.test(this.dotted(right.childForFieldName('function')) ?? '');
    for (const t of targets) {
      // pid variables: `pid = os.fork()`, `pid, fd = pty.fork()`.
      const pidNode = forkCall ? (t.type === 'pattern_list' || t.type === 'tuple_pattern' ? t.node!.namedChild(0) : t.node!) : null;
      this.noteCallTarget(t, right, pidNode?.type === 'identifier' ? pidNode.text : undefined, scope);
    }
  }

  /**
   * `name = ...` / `a.b = ...` read from the text (one plain target, no annotation): the
   * right side is a call when the next node of interest starts right after the `=` and
   * ends with the assignment. False when the statement has another shape (nothing done).
   */
  private visitPlainAssignment(node: Node, scope: Scope, until: number): boolean {
    const start = node.startIndex;
    ASSIGN_RE.lastIndex = start;
    const m = ASSIGN_RE.exec(this.src);
    if (!m) return false;
    const left = m[1];
    if (!plainSegments(left)) return false;
    const rs = start + m[0].length;
    const ch = this.src.charCodeAt(rs);
    // The right side starts here (not after a comment, line join or other blank).
    if (rs >= until || !(ch > 32 && ch < 127) || ch === 92 || ch === 35) return false;
    // `worker_class = "..."` at module level reads the string: left to the nodes.
    if (scope.kind === 'module' && left === 'worker_class') return false;
    const j = this.cur + 1;
    const next = this.nodes[j];
    let right: Node | undefined;
    if (next && next.startIndex === rs && this.endAt(j) === until) {
      const t = this.typeAt(j);
      if (t === 'assignment') return false; // `a = b = ...`
      if (t === 'call') right = next;
    }
    const type = left.includes('.') ? 'attribute' : 'identifier';
    if (!right && scope.kind === 'class') return true;
    if (!right && scope.kind === 'function' && !scope.globals && type !== 'attribute') return true;
    const target: Target = { type, text: left };
    if (scope.kind === 'module' && type === 'identifier' && left === 'application' && !this.curFlags().main) {
      const p = node.startPosition;
      this.moduleFact.application = { start: { line: p.row, character: p.column }, end: { line: p.row, character: p.column + left.length } };
    }
    if (scope.kind === 'function') this.noteAssignTarget(target, scope);
    if (!right) return true;
    const forkCall = this.src.slice(start, until).includes('fork') && /(^|\.)fork(pty)?$/.test(this.dotted(right.childForFieldName('function')) ?? '');
    this.noteCallTarget(target, right, forkCall && type === 'identifier' ? left : undefined, scope);
    return true;
  }

  /** A target assigned a call: receiver bindings, pid variables, cache candidates. */
  private noteCallTarget(t: Target, right: Node, pid: string | undefined, scope: Scope): void {
    // Bindings for receivers (`t = Thread(...)`, `self._t = Thread(...)`, `ctx = get_context(...)`).
    if (t.type === 'identifier') this.bind(scope, this.targetText(t), right);
    else if (t.type === 'attribute' && scope.cls) {
      const parts = this.targetParts(t);
      if (parts && parts.obj === 'self') {
        const clsScope = this.classScope(scope);
        if (clsScope) this.bind(clsScope, `self.${parts.attr}`, right);
      }
    }
    // pid variables: `pid = os.fork()`, `pid, fd = pty.fork()`.
    if (pid !== undefined) (scope.pidVars ??= new Map()).set(pid, right.id);
    this.noteCacheCandidate(t, right, scope);
  }

  private classScope(scope: Scope): Scope | undefined {
    let s: Scope | undefined = scope;
    while (s && s.kind !== 'class') s = s.parent;
    return s;
  }

  private targetText(t: Target): string {
    return (t.text ??= this.text(t.node!));
  }

  private targetParts(t: Target): { obj: string; attr: string } | undefined {
    return t.node ? this.attrParts(t.node) : partsOfDotted(t.text!);
  }

  private noteAssignTarget(t: Target, scope: Scope): void {
    if (scope.kind !== 'function') return;
    if (t.type === 'identifier' && scope.globals) {
      const name = this.targetText(t);
      if (scope.globals.has(name)) (scope.globalAssigns ??= new Set()).add(name);
    }
    if (t.type === 'attribute') {
      const parts = this.targetParts(t);
      if (!parts) return;
      const cls = parts.obj === 'cls' ? scope.cls : this.module.defs.has(parts.obj) ? parts.obj : undefined;
      if (cls) (scope.attrAssigns ??= new Set()).add(`${cls}.${parts.attr}`);
    }
  }

  private noteCacheCandidate(target: Target, call: Node, scope: Scope): void {
    let first = target;
    if (target.type === 'pattern_list' || target.type === 'tuple_pattern') {
      const n = target.node!.namedChildren.find((c): c is Node => !!c);
      if (!n) return;
      first = { node: n, type: n.type };
    }
    if (first.type === 'identifier') {
      if (scope.kind === 'module') this.addCache(call, this.targetText(first), 'module', false);
      else if (scope.kind === 'class') this.addCache(call, `${scope.name}.${this.targetText(first)}`, 'class', false);
      else if (scope.globals) {
        const t = this.targetText(first);
        if (scope.globals.has(t)) this.addCache(call, t, 'global', this.guarded(t));
      }
    } else if (first.type === 'attribute' && scope.kind === 'function') {
      const parts = this.targetParts(first);
      if (!parts) return;
      const cls = parts.obj === 'cls' ? scope.cls : this.module.defs.has(parts.obj) ? parts.obj : undefined;
      if (cls) this.addCache(call, `${cls}.${parts.attr}`, 'class', this.guarded(parts.attr));
    }
  }

  /** Opened on first use: under a condition that tests the cache itself (`if _fd is None:`). */
  private guarded(name: string): boolean {
    return this.guards().some((g) => identifiersIn(g).includes(name));
  }

  private addCache(call: Node, name: string, storage: PendingCache['storage'], lazy: boolean): void {
    this.pendingCaches.push({ callId: call.id, name, storage, lazy, topStatementEnd: this.topEnd() });
  }

  private readonly pendingCaches: PendingCache[] = [];

  /** Whether the file mentions `st_ino`/`st_dev` at all (cheap pre-check for re-validation). */
  private readonly mentionsIdentity: boolean;

  private visitCall(node: Node, scope: Scope, end: number): void {
    const flags = this.curFlags();
    if (flags.typeOnly) return;
    const rec: RawCall = { node, end, argsAt: -1, callee: null, scope, flags, loop: this.curLoop(), branches: this.curBranches() };
    const loops = this.curLoops();
    if (loops) rec.loops = loops;
    const start = node.startIndex;
    // `name(`, `a.b.c(`: the callee from the text, unless a call starts here too (`f(x)(y)`, `super().m(`).
    const next = this.nodes[this.cur + 1];
    let match: RegExpExecArray | null = null;
    if (this.fast && !(next && next.startIndex === start)) {
      CALLEE_RE.lastIndex = start;
      match = CALLEE_RE.exec(this.src);
    }
    const chain = match ? match[0].slice(0, -1) : undefined;
    if (chain !== undefined && plainSegments(chain)) {
      rec.callee = chain;
      rec.argsAt = start + chain.length;
      const d1 = chain.indexOf('.');
      if (d1 >= 0) {
        const last = chain.lastIndexOf('.');
        rec.method = chain.slice(last + 1);
        if (d1 === last) rec.recv = { name: chain.slice(0, d1) };
        else if (chain.indexOf('.', d1 + 1) === last && chain.slice(0, d1) === 'self') rec.recv = { selfAttr: chain.slice(d1 + 1, last) };
      }
    } else {
      const fnNode = node.childForFieldName('function');
      rec.callee = this.dotted(fnNode);
      if (this.fast && fnNode) {
        const e = fnNode.endIndex;
        if (this.src.charCodeAt(e) === 40) rec.argsAt = e;
      }
      if (fnNode?.type === 'attribute') {
        const obj = fnNode.childForFieldName('object');
        const attr = fnNode.childForFieldName('attribute');
        rec.method = attr?.text;
        const ot = obj?.type;
        if (ot === 'identifier') rec.recv = { name: obj!.text };
        else if (ot === 'attribute') {
          const o2 = obj!.childForFieldName('object');
          const a2 = obj!.childForFieldName('attribute');
          if (o2?.type === 'identifier' && o2.text === 'self' && a2) rec.recv = { selfAttr: a2.text };
        } else if (ot === 'call') rec.recv = { chained: obj!.id };
      }
    }
    this.callIndex.set(node.id, this.calls.length);
    this.calls.push(rec);
    // Callables passed as arguments are collected after the walk (`collectRefs`).
    // Close-one inside a loop over a descriptor range: note it against the loop.
    const loop = rec.loop;
    if (loop && rec.callee && /(^|\.)close$/.test(rec.callee)) {
      const arg = argsOf(node).positional[0];
      let v: Node | null | undefined = arg;
      if (v?.type === 'call' && this.dotted(v.childForFieldName('function')) === 'int') v = argsOf(v).positional[0];
      if (v?.type === 'identifier' && v.text === loop.variable) {
        // A condition on the loop variable between the loop and the close is a keep-list.
        const guards = this.guards();
        for (const g of guards) if (within(this.range(g), loop.range) && identifiersIn(g).includes(loop.variable)) loop.keep = true;
        this.loopCloses.push({ call: rec, loop });
      }
    }
    if (rec.callee && /(^|\.)fstat$/.test(rec.callee)) (scope.fstatCalls ??= []).push(rec);
    if (rec.callee && /(^|\.)closerange$/.test(rec.callee)) (scope.closeRanges ??= []).push(rec);
  }

  /** Offsets of the text's non-ASCII characters (where identifiers may hide from `TOKEN_RE`). */
  private nonAscii?: number[];

  /**
   * Functions and classes passed as arguments (`Thread(target=work)`), in call order. A call
   * whose argument text names nothing that resolves in its scope (see `resolve`) passes none,
   * and its arguments are not read.
   */
  private collectRefs(c: RawCall): void {
    if (c.argsAt >= 0 && (!this.mayPassBoundName(c) || this.plainArgumentRefs(c))) return;
    const args = c.node.childForFieldName('arguments');
    if (args?.type !== 'argument_list') return;
    for (const a of args.namedChildren) {
      const v = a?.type === 'keyword_argument' ? a.childForFieldName('value') : a;
      const vt = v?.type;
      if (v && (vt === 'identifier' || vt === 'attribute')) {
        const d = this.dotted(v);
        if (d && d !== 'self' && d !== 'cls') this.pendingRefs.push({ raw: d, node: v, scope: c.scope, flags: c.flags });
      }
    }
  }

  /**
   * The refs of an argument list read from its text: split at the commas outside brackets
   * and strings, a value that is a plain dotted name is a ref (its node is an identifier or
   * attribute); anything with a bracket or a string is not. False, with nothing collected,
   * where the text needs the nodes: comments, line joins, f-strings, non-ASCII names,
   * commas of lambdas or comprehensions, or a value that might be a dotted name with blanks
   * inside (`a . b`).
   */
  private plainArgumentRefs(c: RawCall): boolean {
    const src = this.src;
    const to = c.end - 1;
    if (src.charCodeAt(c.argsAt) !== 40 || src.charCodeAt(to) !== 41) return false;
    const parts: number[] = [];
    let partStart = c.argsAt + 1;
    let depth = 0;
    let i = partStart;
    while (i < to) {
      const ch = src.charCodeAt(i);
      if (ch === 34 || ch === 39) {
        // A string: to its closing quote (a backslash always skips the next character).
        const triple = src.charCodeAt(i + 1) === ch && src.charCodeAt(i + 2) === ch;
        let j = i + (triple ? 3 : 1);
        for (;;) {
          if (j >= to) return false;
          const cj = src.charCodeAt(j);
          if (cj === 92) j += 2;
          else if (cj === ch && (!triple || (src.charCodeAt(j + 1) === ch && src.charCodeAt(j + 2) === ch))) break;
          else if (cj === 10 && !triple) return false;
          else j++;
        }
        i = j + (triple ? 3 : 1);
        continue;
      }
      if ((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || ch === 95) {
        let j = i + 1;
        for (let cj = src.charCodeAt(j); (cj >= 65 && cj <= 90) || (cj >= 97 && cj <= 122) || (cj >= 48 && cj <= 57) || cj === 95; cj = src.charCodeAt(++j));
        const next = src.charCodeAt(j);
        if (next === 34 || next === 39) {
          // A string prefix: f-strings hold expressions, left to the nodes.
          for (let k = i; k < j; k++) if ((src.charCodeAt(k) | 32) === 102) return false;
        } else if (depth === 0 && j - i <= 6) {
          const w = src.slice(i, j);
          if (w === 'lambda' || w === 'for') return false;
        }
        i = j;
        continue;
      }
      if (ch === 40 || ch === 91 || ch === 123) depth++;
      else if (ch === 41 || ch === 93 || ch === 125) depth--;
      else if (ch === 44 && depth === 0) {
        parts.push(partStart, i);
        partStart = i + 1;
      } else if (ch === 35 || ch === 92 || ch > 126) return false;
      i++;
    }
    parts.push(partStart, to);
    const found: { raw: string; at: number }[] = [];
    for (let k = 0; k < parts.length; k += 2) {
      const part = src.slice(parts[k], parts[k + 1]);
      KEYWORD_ARG_RE.lastIndex = 0;
      const kw = KEYWORD_ARG_RE.exec(part);
      const vStart = kw ? kw[0].length : 0;
      const value = part.slice(vStart).trim();
      if (!value) continue;
      if (DOTTED_RE.test(value)) {
        if (!plainSegments(value)) {
          if (value === 'None' || value === 'True' || value === 'False') continue;
          return false;
        }
        if (value !== 'self' && value !== 'cls') found.push({ raw: value, at: parts[k] + vStart + part.slice(vStart).indexOf(value) });
      } else if (SPACED_DOTTED_RE.test(value)) return false;
    }
    for (const f of found) this.pendingRefs.push({ raw: f.raw, at: f.at, scope: c.scope, flags: c.flags });
    return true;
  }

  /** Whether `resolve(first...)` in `scope` finds more than a builtin (`self`/`cls` aside). */
  private bindsName(first: string, scope: Scope): boolean {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== scope) continue;
      if (s.imports?.has(first) || s.defs.has(first) || s.originals?.has(first)) return true;
    }
    return false;
  }

  /**
   * False when no identifier in the call's argument text resolves: neither a name bound in
   * its scope nor `self.`/`cls.` inside a class (a bare `self` is not passed on).
   */
  private mayPassBoundName(c: RawCall): boolean {
    if (!this.nonAscii) {
      this.nonAscii = [];
      const re = /[\u0080-\uffff]/g;
      for (let m = re.exec(this.src); m; m = re.exec(this.src)) this.nonAscii.push(m.index);
    }
    const from = c.argsAt;
    const to = c.end;
    const na = this.nonAscii!;
    if (anyIn(na, from, to)) return true;
    const src = this.src;
    const inClass = !!c.scope.cls;
    TOKEN_RE.lastIndex = from;
    for (let m = TOKEN_RE.exec(src); m && m.index < to; m = TOKEN_RE.exec(src)) {
      const t = m[0];
      if (inClass && (t === 'self' || t === 'cls')) {
        // Followed by a `.` (across blanks, line joins and comments, which are kept as may).
        let i = TOKEN_RE.lastIndex;
        let ch = src.charCodeAt(i);
        while (ch === 32 || ch === 9 || ch === 10 || ch === 13 || ch === 12 || ch === 92) ch = src.charCodeAt(++i);
        if (ch === 46 || ch === 35) return true;
      } else if (this.bindsName(t, c.scope)) return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------------------
  // After the walk: resolve names, classify calls, emit facts
  // -------------------------------------------------------------------------------------

  finish(): void {
    this.moduleFact.importInsert = this.importInsertPoint();
    for (const b of this.pendingBindings) {
      const idx = this.callIndex.get(b.callId);
      if (idx === undefined) continue;
      const list = b.scope.bindings.get(b.key) ?? [];
      list.push(this.calls[idx]);
      b.scope.bindings.set(b.key, list);
    }
    for (const p of this.pendingBases) p.fact.bases = p.raw.map((raw) => this.resolve(raw, p.scope));
    for (const s of this.scopes) {
      if (!s.functionFact) continue;
      if (s.globalAssigns?.size) s.functionFact.globalAssigns = [...s.globalAssigns].sort();
      if (s.attrAssigns?.size) s.functionFact.attributeAssigns = [...s.attrAssigns].sort();
    }
    this.resolveOriginals();
    // (The same callee is often called again in a scope: resolved once per scope.)
    const resolvedIn = new Map<Scope, Map<string, Resolved>>();
    for (const c of this.calls) {
      if (!c.callee || c.resolved) continue;
      let m = resolvedIn.get(c.scope);
      if (!m) resolvedIn.set(c.scope, (m = new Map()));
      let r = m.get(c.callee);
      if (!r) m.set(c.callee, (r = this.resolve(c.callee, c.scope)));
      c.resolved = r;
    }
    // `eventlet.patcher.original('threading').Thread(...)`: the callee is a call of a getter.
    for (const c of this.calls) {
      if (c.resolved || !c.method || !c.recv || !('chained' in c.recv)) continue;
      const idx = this.callIndex.get(c.recv.chained);
      const getter = idx === undefined ? undefined : this.calls[idx];
      const target = getter ? this.originalTarget(getter) : undefined;
      if (target) c.resolved = { name: `${target}.${c.method}`, origin: 'import', native: true };
    }
    const execs: { fact: PyExecFact; call: RawCall }[] = [];
    const forks: { fact: PyForkFact; call: RawCall }[] = [];
    const closeAlls: { fact: PyCloseAllFact; call: RawCall }[] = [];
    for (const c of this.calls) {
      this.classifyHeartbeat(c);
      this.classify(c, execs, forks, closeAlls);
    }
    this.fallbackStarts(forks);
    for (const { call, loop } of this.loopCloses) {
      if (loop.reported || !call.resolved || !PY_CLOSE_ONE_CALLS.has(call.resolved.name)) continue;
      loop.reported = true;
      const keepParameter = this.keepParameterOf(call.scope);
      const fact: PyCloseAllFact = {
        ...this.base(loop.range, call.flags, call.scope),
        kind: 'py.close-all',
        api: `${call.resolved.name}() in a loop`,
        keepList: !keepParameter && loop.keep,
        execFollows: false,
      };
      if (keepParameter) fact.keepParameter = keepParameter;
      this.facts.push(fact);
      closeAlls.push({ fact, call });
    }
    for (const c of this.calls) this.collectRefs(c);
    for (const r of this.pendingRefs) {
      const res = this.resolve(r.raw, r.scope);
      if (res.origin === 'builtin') continue;
      const range: Range = r.node ? this.range(r.node) : { start: this.posAt(r.at!), end: this.posAt(r.at! + r.raw.length) };
      this.facts.push({ ...this.base(range, r.flags, r.scope), kind: 'py.ref', name: res.name, origin: res.origin });
    }
    this.childRegions(forks, execs, closeAlls);
    this.emitCaches();
    this.emitRevalidations();
    this.emitKeepAlives();
    // Facts in source order (stable for equal starts: insertion order).
    this.facts.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  }

  /** After the last module-level import (or the docstring): where a fix adds `import x`. */
  private importInsertPoint(): Position {
    let after: Position | undefined;
    let first = true;
    if (this.fast) {
      // The walk noted the last module-level import; else the docstring, if it comes first.
      const root = this.tree.rootNode;
      if (this.lastTopImport) after = this.posEnd(this.lastTopImport.node, this.lastTopImport.end);
      else {
        let st = root.firstNamedChild;
        while (st && st.type === 'comment') st = st.nextNamedSibling;
        if (st && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string') after = posOf(st.endPosition);
      }
      return after ? { line: after.line + 1, character: 0 } : { line: 0, character: 0 };
    }
    for (const st of this.tree.rootNode.namedChildren) {
      if (!st) continue;
      if (st.type === 'import_statement' || st.type === 'import_from_statement' || st.type === 'future_import_statement') after = posOf(st.endPosition);
      else if (first && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string') after = posOf(st.endPosition);
      if (st.type !== 'comment') first = false;
    }
    return after ? { line: after.line + 1, character: 0 } : { line: 0, character: 0 };
  }

  /** Resolves a dotted name used in `scope` against imports and definitions of this file. */
  resolve(raw: string, scope: Scope): Resolved {
    const dot = raw.indexOf('.');
    const first = dot < 0 ? raw : raw.slice(0, dot);
    const rest = dot < 0 ? '' : raw.slice(dot);
    if ((first === 'self' || first === 'cls') && scope.cls) return { name: scope.cls + rest, origin: 'local' };
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== scope) continue; // class bodies do not enclose methods' names
      const imp = s.imports?.get(first);
      if (imp !== undefined) return { name: imp + rest, origin: 'import' };
      if (s.defs.has(first)) return { name: (s.name ? `${s.name}.${first}` : first) + rest, origin: 'local' };
      const orig = s.originals?.get(first);
      if (orig !== undefined) return { name: orig + rest, origin: 'import', native: true };
    }
    return { name: raw, origin: 'builtin' };
  }

  private receiverCtor(c: RawCall): RawCall | undefined {
    const r = c.recv;
    if (!r) return undefined;
    if ('chained' in r) {
      const idx = this.callIndex.get(r.chained);
      return idx === undefined ? undefined : this.calls[idx];
    }
    const pos = c.node.startIndex;
    if ('selfAttr' in r) {
      const cls = this.classScope(c.scope);
      return pickBinding(cls?.bindings.get(`self.${r.selfAttr}`), pos);
    }
    for (let s: Scope | undefined = c.scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== c.scope) continue;
      const b = pickBinding(s.bindings.get(r.name), pos);
      if (b) return b;
    }
    return undefined;
  }

  /** What constructing `c` makes: a known thread/process object, a context, or an unknown class. */
  private ctorKind(
    c: RawCall,
  ):
    | { kind: 'thread'; api: string; starter: PyThreadStarter }
    | { kind: 'process'; api: string; starter: PyProcessStarter; method: string; literal?: Range }
    | { kind: 'context'; method: string; literal?: Range }
    | { kind: 'unknown'; ctor: string; origin: PyNameOrigin }
    | undefined {
    const name = c.resolved?.name;
    if (name && CTOR_NAMES.has(name)) {
      const t = PY_THREAD_STARTERS.get(name);
      if (t) return { kind: 'thread', api: name, starter: t };
      const p = PY_PROCESS_STARTERS.get(name);
      if (p) {
        const m = this.contextMethodOfKeyword(c, p.contextKeyword);
        return { kind: 'process', api: name, starter: p, method: m.method, literal: m.literal };
      }
      if (PY_CONTEXT_GETTERS.has(name)) return { kind: 'context', ...this.methodArgument(c) };
    }
    // `ctx.Process(...)` / `get_context("spawn").Pool(...)`
    if (c.method && c.recv) {
      const attr = PY_CONTEXT_PROCESS_ATTRS.get(c.method);
      const ctor = attr ? this.receiverCtor(c) : undefined;
      if (attr && ctor?.resolved && PY_CONTEXT_GETTERS.has(ctor.resolved.name)) {
        const m = this.methodArgument(ctor);
        return { kind: 'process', api: `multiprocessing.get_context().${c.method}`, starter: attr, method: m.method, literal: m.literal };
      }
    }
    if (name && c.resolved!.origin !== 'builtin' && !NON_CTOR_NAMES.has(name)) return { kind: 'unknown', ctor: name, origin: c.resolved!.origin };
    return undefined;
  }

  /** The start method named by a context getter's argument. */
  private methodArgument(getter: RawCall): { method: string; literal?: Range } {
    const a = argsOf(getter.node);
    const arg = a.positional[0] ?? a.keywords.get('method');
    if (!arg || arg.type === 'none') return { method: 'default' };
    const s = stringValue(arg);
    return s ? { method: s.value, literal: s.content } : { method: 'unknown' };
  }

  /** `mp_context=` / `context=`: a getter call, a name bound to one, or absent (default). */
  private contextMethodOfKeyword(c: RawCall, keyword: string | undefined): { method: string; literal?: Range } {
    if (!keyword) return { method: 'default' };
    const v = argsOf(c.node).keywords.get(keyword);
    if (!v || v.type === 'none') return { method: 'default' };
    let getter: RawCall | undefined;
    if (v.type === 'call') {
      const idx = this.callIndex.get(v.id);
      getter = idx === undefined ? undefined : this.calls[idx];
    } else if (v.type === 'identifier') {
      getter = this.receiverCtor({ ...c, recv: { name: v.text } });
    }
    if (getter?.resolved && PY_CONTEXT_GETTERS.has(getter.resolved.name)) return this.methodArgument(getter);
    return { method: 'unknown' };
  }

  /** The fact base of a call (computed for calls that become facts only). */
  private callBase(c: RawCall): PyFactBase {
    return (c.base ??= this.base(this.rangeOf(c.node, c.end), c.flags, c.scope));
  }

  private classify(c: RawCall, execs: { fact: PyExecFact; call: RawCall }[], forks: { fact: PyForkFact; call: RawCall }[], closeAlls: { fact: PyCloseAllFact; call: RawCall }[]): void {
    const name = c.resolved?.name;
    if (name && c.resolved && CLASSIFY_NAMES.has(name)) {
      if (PY_FORK_CALLS.has(name)) {
        const fact: PyForkFact = { ...this.callBase(c), kind: 'py.fork', api: `${name}()`, via: 'os', child: 'continues' };
        this.facts.push(fact);
        forks.push({ fact, call: c });
        return;
      }
      if (PY_EXEC_CALLS.has(name) || (PY_EXIT_CALLS.has(name) && (c.resolved.origin !== 'local'))) {
        const fact: PyExecFact = { ...this.callBase(c), kind: 'py.exec', exits: !PY_EXEC_CALLS.has(name) };
        this.facts.push(fact);
        execs.push({ fact, call: c });
        return;
      }
      const daemon = PY_DAEMONIZERS.get(name);
      if (daemon) {
        const args = argsOf(c.node);
        const fact: PyForkFact = { ...this.callBase(c), kind: 'py.fork', api: `${name}()`, via: 'daemonizer', child: 'continues', parentExits: true };
        this.facts.push(fact);
        forks.push({ fact, call: c });
        const keep = args.keywords.get(daemon.keepKeyword);
        const ca: PyCloseAllFact = {
          ...this.callBase(c),
          kind: 'py.close-all',
          api: `${name}()`,
          keepList: !!keep && keep.type !== 'none',
          execFollows: false,
          inChild: true,
        };
        const ins = keywordInsert(args.node, daemon.keepKeyword);
        if (ins) ca.keepInsert = ins;
        this.facts.push(ca);
        closeAlls.push({ fact: ca, call: c });
        return;
      }
      if (PY_CLOSE_RANGE_CALLS.has(name)) {
        // Closing the gaps between kept descriptors (in a loop, or several ranges) is a keep-list,
        // unless the function spares what its caller passes: then each call decides.
        const keepParameter = this.keepParameterOf(c.scope);
        const keep = !keepParameter && (!!c.loop || (c.scope.closeRanges?.length ?? 0) > 1);
        const fact: PyCloseAllFact = { ...this.callBase(c), kind: 'py.close-all', api: `${name}()`, keepList: keep, execFollows: false };
        if (keepParameter) fact.keepParameter = keepParameter;
        this.facts.push(fact);
        closeAlls.push({ fact, call: c });
        return;
      }
      const helper = PY_CLOSE_ALL_HELPERS.get(name);
      if (helper) {
        const fact: PyCloseAllFact = { ...this.callBase(c), kind: 'py.close-all', api: `${name}()`, keepList: this.keepArgumentOf(c, helper.keepKeyword) === 'other', execFollows: false };
        this.facts.push(fact);
        closeAlls.push({ fact, call: c });
        return;
      }
      if (PY_START_METHOD_SETTERS.has(name)) {
        const m = this.methodArgument(c);
        const fact: PyStartMethodFact = { ...this.callBase(c), kind: 'py.start-method', method: m.method === 'default' ? 'unknown' : m.method };
        this.facts.push(fact);
        return;
      }
      const atFork = PY_AT_FORK_CALLS.get(name);
      if (atFork) {
        const a = argsOf(c.node);
        const h = atFork.childKeyword ? a.keywords.get(atFork.childKeyword) : a.positional[atFork.childArg ?? -1];
        if (!h) return;
        const fact: PyAtForkFact = { ...this.callBase(c), kind: 'py.at-fork' };
        const d = this.dotted(h);
        if (d) {
          const r = this.resolve(d, c.scope);
          fact.handler = r.name;
          fact.origin = r.origin;
        }
        this.facts.push(fact);
        return;
      }
      if (PY_FSTAT_CALLS.has(name)) return;
    }
    // Constructors that start threads or processes by themselves.
    const kind = this.ctorKind(c);
    if (kind?.kind === 'thread' && kind.starter.how !== 'method') {
      if (kind.starter.whenKeyword) {
        const v = argsOf(c.node).keywords.get(kind.starter.whenKeyword);
        if (!v || v.type === 'none' || v.type === 'false' || v.text === '0') return;
      }
      this.facts.push({ ...this.callBase(c), kind: 'py.thread-start', api: `${kind.api}()`, note: kind.starter.note, ...this.threadExtras(c, kind.api) });
      return;
    }
    if (kind?.kind === 'process' && kind.starter.how === 'ctor') {
      this.pushProcessFork(c, c, kind, this.callBase(c), forks);
      return;
    }
    // Methods that start what their receiver was built as.
    if (c.method && c.recv) {
      const ctor = this.receiverCtor(c);
      const ck = ctor ? this.ctorKind(ctor) : undefined;
      if (ctor && ck?.kind === 'thread' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        this.facts.push({ ...this.callBase(c), kind: 'py.thread-start', api: `${ck.api}.${c.method}()`, note: ck.starter.note, ...this.threadExtras(ctor, ck.api) });
        return;
      }
      if (ctor && ck?.kind === 'process' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        this.pushProcessFork(c, ctor, ck, this.callBase(c), forks);
        return;
      }
      if (ctor && ck?.kind === 'unknown' && c.method === 'start' && /^[A-Z_]/.test(ck.ctor.split('.').pop() ?? '')) {
        ctor.matched = true;
        this.facts.push({ ...this.callBase(c), kind: 'py.object-start', constructorName: ck.ctor, origin: ck.origin, method: c.method });
        return;
      }
      const tm = PY_THREAD_METHODS.get(c.method);
      if (tm) {
        this.facts.push({ ...this.callBase(c), kind: 'py.thread-start', api: `.${c.method}()`, note: tm });
        return;
      }
    }
    // `self.start()` inside a class: the class itself may be a Thread/Process subclass.
    if (c.callee === 'self.start' && c.scope.cls) {
      this.facts.push({ ...this.callBase(c), kind: 'py.object-start', constructorName: c.scope.cls, origin: 'local', method: 'start' });
      return;
    }
    if (name && c.resolved && c.resolved.origin !== 'builtin') {
      if (c.recv && 'chained' in c.recv) return;
      if (kind && kind.kind !== 'unknown') return;
      if (KNOWN_NOT_WORKSPACE.has(name)) return;
      const call: PyCallFact = { ...this.callBase(c), kind: 'py.call', callee: name, origin: c.resolved.origin };
      const last = name.slice(name.lastIndexOf('.') + 1);
      if (PY_CLOSE_HELPER_NAME.test(last)) call.keepArgument = this.keepArgumentOf(c);
      this.facts.push(call);
      if (this.withCalls.has(c.node.id)) this.facts.push({ ...this.callBase(c), kind: 'py.with-enter', callee: name, origin: c.resolved.origin });
      if (this.returnedCalls.has(c.node.id) && /^_*[A-Z]/.test(last)) this.facts.push({ ...this.callBase(c), kind: 'py.returns-object', constructorName: name, origin: c.resolved.origin });
    }
  }

  /** The keep parameter of a function (`def close_open_fds(keep=None)`), read once from its `def`. */
  private keepParameterOf(scope: Scope): string | undefined {
    if (scope.kind !== 'function' || !scope.defNode) return undefined;
    if (scope.keepParameter === undefined) {
      scope.keepParameter = null;
      for (const p of scope.defNode.childForFieldName('parameters')?.namedChildren ?? []) {
        if (!p) continue;
        const nameNode = p.type === 'identifier' ? p : (p.childForFieldName('name') ?? p.namedChild(0));
        if (nameNode?.type === 'identifier' && PY_KEEP_PARAMETER.test(nameNode.text)) {
          scope.keepParameter = nameNode.text;
          break;
        }
      }
    }
    return scope.keepParameter ?? undefined;
  }

  /** What a close-all call's keep argument spares: the keyword (or a keep-like one), else the first positional argument. */
  private keepArgumentOf(c: RawCall, keyword?: string): PyKeepArgument {
    const args = argsOf(c.node);
    let arg: Node | null | undefined = keyword ? args.keywords.get(keyword) : undefined;
    if (!arg) for (const [k, v] of args.keywords) if (PY_KEEP_PARAMETER.test(k)) arg = v;
    arg ??= args.positional[0];
    return arg ? this.keepValue(arg, c.node, 0) : 'none';
  }

  /**
   * What an expression passed as a keep-list spares: literals of the standard streams,
   * `list(...)`/`sorted(...)` of them, sums, and names or `self.` attributes assigned one of
   * these (in the function, or in the class) are read; anything else spares `other`.
   */
  private keepValue(node: Node, at: Node, depth: number): PyKeepArgument {
    if (depth > 4) return 'other';
    const join = (a: PyKeepArgument, b: PyKeepArgument): PyKeepArgument => (a === 'other' || b === 'other' ? 'other' : a === 'stdio-only' || b === 'stdio-only' ? 'stdio-only' : 'none');
    const stdio = (n: Node): boolean => {
      const t = n.text.replace(/\s+/g, '');
      return PY_STDIO_NAMES.has(t) || (t.endsWith('.fileno()') && PY_STDIO_NAMES.has(t.slice(0, -'.fileno()'.length)));
    };
    switch (node.type) {
      case 'none':
        return 'none';
      case 'parenthesized_expression': {
        const inner = node.namedChild(0);
        return inner ? this.keepValue(inner, at, depth + 1) : 'none';
      }
      case 'tuple':
      case 'list':
      case 'set': {
        let out: PyKeepArgument = 'none';
        for (const el of node.namedChildren) {
          if (!el || el.type === 'comment') continue;
          out = join(out, stdio(el) ? 'stdio-only' : el.type === 'list_splat' && el.namedChild(0) ? this.keepValue(el.namedChild(0)!, at, depth + 1) : 'other');
        }
        return out;
      }
      case 'call': {
        const fn = this.dotted(node.childForFieldName('function'));
        if (fn && ['list', 'tuple', 'set', 'frozenset', 'sorted'].includes(fn)) {
          const first = argsOf(node).positional[0];
          return first ? this.keepValue(first, at, depth + 1) : 'none';
        }
        return stdio(node) ? 'stdio-only' : 'other';
      }
      case 'binary_operator': {
        const l = node.childForFieldName('left');
        const r = node.childForFieldName('right');
        return l && r ? join(this.keepValue(l, at, depth + 1), this.keepValue(r, at, depth + 1)) : 'other';
      }
      case 'identifier':
      case 'attribute': {
        if (stdio(node)) return 'stdio-only';
        const isSelf = node.type === 'attribute' && /^self\.\w+$/.test(node.text);
        if (node.type === 'attribute' && !isSelf) return 'other';
        // The last assignment before the call in the function, or (for `self.x`) any in the class.
        let owner: Node | null = at.parent;
        const ownerType = isSelf ? 'class_definition' : 'function_definition';
        while (owner && owner.type !== ownerType) owner = owner.parent;
        if (!owner) return 'other';
        let value: Node | null = null;
        for (const a of owner.descendantsOfType('assignment')) {
          if (!a || (!isSelf && a.startIndex > at.startIndex)) continue;
          if (a.childForFieldName('left')?.text === node.text) value = a.childForFieldName('right');
        }
        return value ? this.keepValue(value, at, depth + 1) : 'other';
      }
      default:
        return stdio(node) ? 'stdio-only' : 'other';
    }
  }

  private pushProcessFork(
    at: RawCall,
    ctor: RawCall,
    kind: { api: string; starter: PyProcessStarter; method: string; literal?: Range },
    b: PyFactBase,
    forks: { fact: PyForkFact; call: RawCall }[],
  ): void {
    const api = at === ctor ? `${kind.api}()` : `${kind.api}.${at.method}()`;
    const fact: PyForkFact = { ...b, kind: 'py.fork', api, via: 'multiprocessing', startMethod: kind.method, child: 'continues' };
    // A pool used as a `with` item joins its helper threads when the block ends.
    if (kind.starter.threadsAfter && !this.withCalls.has(ctor.node.id)) fact.threadsAfter = true;
    // How to switch to forkserver in this file.
    if (kind.literal && kind.method === 'fork') fact.fix = { kind: 'literal', range: kind.literal };
    else if (kind.method === 'default') {
      if (kind.starter.contextKeyword === 'mp_context') {
        const ins = keywordInsert(argsOf(ctor.node).node, 'mp_context');
        if (ins) fact.fix = { kind: 'kwarg', ...ins };
      } else if (kind.starter.contextAttr && ctor.resolved && PY_PROCESS_STARTERS.has(ctor.resolved.name)) {
        const fnNode = ctor.node.childForFieldName('function');
        if (fnNode) fact.fix = { kind: 'callee', range: this.range(fnNode), attribute: kind.starter.contextAttr };
      }
    }
    this.facts.push(fact);
    forks.push({ fact, call: at });
  }

  /**
   * A Thread/Process built where its `.start()` cannot be matched (`[Thread(...) for ...]`
   * then `for t in threads: t.start()`): when the same scope starts some object, the
   * constructor stands for the start.
   */
  private fallbackStarts(forks: { fact: PyForkFact; call: RawCall }[]): void {
    const unresolvedStarts = new Set<Scope>();
    for (const c of this.calls) {
      if (c.method !== 'start' || !c.recv) continue;
      const ctor = this.receiverCtor(c);
      if (!ctor) unresolvedStarts.add(c.scope);
    }
    if (!unresolvedStarts.size) return;
    for (const c of this.calls) {
      if (c.matched || !unresolvedStarts.has(c.scope)) continue;
      const k = this.ctorKind(c);
      if (!k) continue;
      const b = this.base(this.rangeOf(c.node, c.end), c.flags, c.scope);
      if (k.kind === 'thread' && k.starter.how === 'method' && k.starter.methods?.includes('start')) {
        this.facts.push({ ...b, kind: 'py.thread-start', api: `${k.api}.start()`, note: k.starter.note, ...this.threadExtras(c, k.api) });
      } else if (k.kind === 'process' && k.starter.how === 'method') {
        this.pushProcessFork(c, c, k, b, forks);
      } else if (k.kind === 'unknown' && /^[A-Z]/.test(k.ctor.split('.').pop() ?? '') && !this.isAssignedToBinding(c)) {
        this.facts.push({ ...b, kind: 'py.object-start', constructorName: k.ctor, origin: k.origin, method: 'start' });
      }
    }
  }

  private isAssignedToBinding(c: RawCall): boolean {
    for (let s: Scope | undefined = c.scope; s; s = s.parent) for (const list of s.bindings.values()) if (list.includes(c)) return true;
    const cls = this.classScope(c.scope);
    if (cls) for (const list of cls.bindings.values()) if (list.includes(c)) return true;
    return false;
  }

  /**
   * Decides, for each `os.fork()`-like call, what its child does and whether the parent
   * exits, from the `if` that tests the pid: the child's code is its branch, plus what
   * follows the `if` when the child branch falls through or the parent branch leaves.
   * Then marks forks and close-alls that run only in such a child, and close-alls that an
   * `exec*`/`_exit` follows in the same function.
   */
  private childRegions(
    forks: { fact: PyForkFact; call: RawCall }[],
    execRecords: { fact: PyExecFact; call: RawCall }[],
    closeAlls: { fact: PyCloseAllFact; call: RawCall }[]): void {
    /** Code that only a child runs (for forks nested in it), and code a child runs (for close-alls). */
    const execs = execRecords.map((e) => e.fact);
    const branchesOf = new Map(execRecords.map((e) => [e.fact, e.call.branches]));
    /** An exec/exit that surely runs when `r` runs: no branch between `r` and it. */
    const surely = (e: PyExecFact, r: Range) => !(branchesOf.get(e) ?? []).some((b) => within(b, r) && !rangeEq(b, r));
    const exclusive: { scope: Scope; range: Range }[] = [];
    const shared: { scope: Scope; range: Range }[] = [];
    for (const { fact, call } of forks) {
      if (fact.via !== 'os') continue;
      const scope = call.scope;
      const callId = call.node.id;
      let pidVar: string | undefined;
      for (const [v, id] of scope.pidVars ?? []) if (id === callId) pidVar = v;
      const test = this.ifs.find(
        (r) =>
          r.scope === scope &&
          (('call' in r.subject && r.subject.call === callId) ||
            ('name' in r.subject && r.subject.name === pidVar && r.node.startIndex > call.node.startIndex)),
      );
      const mine = (f: PyFactBase, r: Range | undefined) => !!r && f.enclosingFunction === scope.fn && within(f.range, r);
      const rest: Range = { start: fact.range.end, end: scope.end };
      if (!test) {
        // Parent and child both run what follows.
        shared.push({ scope, range: rest });
        continue;
      }
      const childBranch = test.childWhenTrue ? test.consequence : test.alternative;
      const parentBranch = test.childWhenTrue ? test.alternative : test.consequence;
      const after: Range = { start: this.posEnd(test.node, test.end), end: scope.end };
      const parentExits = !!parentBranch && execs.some((e) => e.exits && mine(e, parentBranch) && surely(e, parentBranch));
      const parentLeaves = parentExits || (!!parentBranch && (scope.leaves ?? []).some((l) => within(l, parentBranch)));
      if (parentExits) fact.parentExits = true;
      const childLeaves = (r: Range) => execs.some((e) => mine(e, r)) || (scope.leaves ?? []).some((l) => within(l, r));
      // The child's code ends where a later fork of this function takes over (double fork).
      const nextFork = forks.find((o) => o.call.scope === scope && o.call.node.startIndex > call.node.startIndex);
      const cut = (r: Range): Range => (nextFork && before(nextFork.fact.range.start, r.end) && before(r.start, nextFork.fact.range.start) ? { start: r.start, end: nextFork.fact.range.start } : r);
      const regions: Range[] = [];
      if (childBranch) regions.push(cut(childBranch));
      if (!childBranch || !childLeaves(childBranch)) regions.push(cut(after));
      const first = execs
        .filter((e) => regions.some((r) => mine(e, r) && surely(e, r)))
        .sort((a, b) => (before(a.range.start, b.range.start) ? -1 : 1))[0];
      fact.child = !first ? 'continues' : first.exits ? 'exit' : 'exec';
      // A child that runs program code before it exits keeps running the program meanwhile.
      if (fact.child === 'exit' && first) {
        const exitCall = execRecords.find((e) => e.fact === first)?.call;
        const busy = this.calls.some(
          (c) =>
            c.scope === scope &&
            c !== exitCall &&
            c.node.startIndex < (exitCall?.end ?? 0) &&
            regions.some((r) => within(this.rangeOf(c.node, c.end), r)),
        );
        if (busy) fact.child = 'continues';
      }
      if (childBranch) exclusive.push({ scope, range: childBranch });
      if (parentLeaves) exclusive.push({ scope, range: after });
      for (const r of regions) shared.push({ scope, range: r });
    }
    const inside = (list: { scope: Scope; range: Range }[], f: PyFactBase, scope: Scope) =>
      list.some((c) => c.scope === scope && within(f.range, c.range) && !rangeEq(f.range, c.range));
    for (const { fact, call } of forks) if (inside(exclusive, fact, call.scope)) fact.inChild = true;
    for (const { fact, call } of forks) {
      if (fact.via !== 'os' || !fact.parentExits || fact.inChild) continue;
      const second = forks.find((o) => o.call.scope === call.scope && o.fact.inChild && o.fact.parentExits && before(fact.range.end, o.fact.range.start));
      const setsid = this.calls.some(
        (c) => c.scope === call.scope && !!c.resolved && PY_SETSID_CALLS.has(c.resolved.name) && c.node.startIndex > call.node.startIndex,
      );
      if (second && setsid) fact.daemonize = true;
    }
    for (const { fact, call } of closeAlls) {
      if (inside(shared, fact, call.scope) || inside(exclusive, fact, call.scope)) fact.inChild = true;
      fact.execFollows = execs.some((e) => e.enclosingFunction === call.scope.fn && before(fact.range.end, e.range.start));
    }
  }

  // -------------------------------------------------------------------------------------
  // HEARTBEAT facts (green-heartbeat, late-monkey-patch)
  // -------------------------------------------------------------------------------------

  /** What an original getter call returns: `threading` (module form) or `threading.Thread` (attribute form). */
  private originalTarget(c: RawCall): string | undefined {
    const form = c.resolved ? PY_ORIGINAL_GETTERS.get(c.resolved.name) : undefined;
    if (!form) return undefined;
    const a = argsOf(c.node);
    const mod = stringValue(a.positional[0] ?? a.keywords.get('modname') ?? a.keywords.get('mod_name'))?.value;
    if (!mod) return undefined;
    if (form === 'module') return mod;
    const attr = stringValue(a.positional[1] ?? a.keywords.get('item_name'))?.value;
    return attr ? `${mod}.${attr}` : undefined;
  }

  /** Names bound to original getters (`th = eventlet.patcher.original('threading')`), per scope. */
  private resolveOriginals(): void {
    let any = false;
    for (const c of this.calls) {
      if (!c.callee || !/(^|\.)(original|get_original)$/.test(c.callee)) continue;
      c.resolved = this.resolve(c.callee, c.scope);
      if (PY_ORIGINAL_GETTERS.has(c.resolved.name)) any = true;
    }
    if (!any) return;
    for (const s of this.scopes) {
      for (const [key, list] of s.bindings) {
        if (key.includes('.')) continue;
        for (const call of list) {
          const t = this.originalTarget(call);
          if (t) (s.originals ??= new Map()).set(key, t);
        }
      }
    }
  }

  /** Target, nativeness and constructor text of a thread start made by `ctor`. */
  private threadExtras(ctor: RawCall, api: string): Partial<PyThreadStartFact> {
    const out: Partial<PyThreadStartFact> = {};
    if (ctor.resolved?.native) out.native = true;
    const t = PY_THREAD_TARGETS.get(api);
    if (t) {
      const a = argsOf(ctor.node);
      const v = (t.keyword ? a.keywords.get(t.keyword) : undefined) ?? a.positional[t.index];
      const d = this.dotted(v ?? null);
      if (d) {
        const r = this.resolve(d, ctor.scope);
        out.target = { name: r.name, origin: r.origin };
      }
    }
    const fnNode = ctor.node.childForFieldName('function');
    if (fnNode && (fnNode.type === 'identifier' || fnNode.type === 'attribute')) out.constructorCallee = this.range(fnNode);
    return out;
  }

  /** Monkey patches, heartbeat connections, hub drivers and native primitives. */
  private classifyHeartbeat(c: RawCall): void {
    const r = c.resolved;
    if (!r || r.origin === 'builtin') return;
    const name = r.name;
    if (r.origin === 'import' && HEARTBEAT_NAMES.has(name)) {
      const patcher = PY_MONKEY_PATCHERS.get(name);
      if (patcher) {
        this.pushMonkeyPatch(c, name, patcher.lib, patcher.threads, patcher.threadKeyword, this.callBase(c));
        return;
      }
      const conn = PY_HEARTBEAT_CONNECTIONS.get(name);
      if (conn) {
        if (!conn.background) {
          const a = argsOf(c.node);
          let v: Node | undefined;
          for (const k of [conn.keyword, ...(conn.aliases ?? [])]) if (k && a.keywords.has(k)) v = a.keywords.get(k);
          if (!v || v.type === 'none' || v.type === 'false' || /^0+(\.0*)?$/.test(v.text)) return;
        }
        this.facts.push({ ...this.callBase(c), kind: 'py.hb-connection', api: `${name}()`, library: conn.lib, background: conn.background, note: conn.note });
        return;
      }
      const hub = PY_HUB_DRIVERS.get(name);
      if (hub) {
        this.facts.push({ ...this.callBase(c), kind: 'py.hub-driver' });
        return;
      }
      const byExecutor = PY_EXECUTOR_HUB_DRIVERS.get(name);
      if (byExecutor) {
        const a = argsOf(c.node);
        if (stringValue(a.keywords.get('executor') ?? a.positional[byExecutor.position])?.value === 'eventlet') {
          this.facts.push({ ...this.callBase(c), kind: 'py.hub-driver' });
        }
        return;
      }
      const prim = PY_NATIVE_PRIMITIVES.get(name);
      if (prim && !r.native) this.facts.push({ ...this.callBase(c), kind: 'py.native-primitive', api: `${name}()`, what: prim });
    }
  }

  private pushMonkeyPatch(c: RawCall, api: string, lib: 'eventlet' | 'gevent', how: 'eventlet' | 'gevent-all' | 'always', threadKeyword: string | undefined, base: PyFactBase): void {
    const a = argsOf(c.node);
    const lit = (n: Node | undefined): boolean | undefined => (n?.type === 'true' ? true : n?.type === 'false' ? false : undefined);
    const splat = !!a.node?.namedChildren.some((n) => n?.type === 'dictionary_splat' || n?.type === 'list_splat');
    let threads: PyMonkeyPatchFact['threads'] = 'yes';
    const tk = threadKeyword ? a.keywords.get(threadKeyword) : undefined;
    if (how === 'eventlet') {
      // eventlet: a keyword set to True selects only the modules so named; False leaves one out.
      let anyTrue = false;
      let unknown = splat || a.positional.length > 0;
      for (const [k, v] of a.keywords) {
        const l = lit(v);
        if (l === undefined) {
          if (k === threadKeyword || k === 'all') unknown = true;
          else if (!tk) unknown = true;
        } else if (l && k !== 'all') anyTrue = true;
      }
      const all = lit(a.keywords.get('all'));
      const t = lit(tk);
      if (t === true || all === true) threads = 'yes';
      else if (t === false) threads = 'no';
      else if (unknown) threads = 'unknown';
      else threads = anyTrue ? 'no' : 'yes';
    } else if (how === 'gevent-all') {
      const t = lit(tk);
      threads = t === false ? 'no' : tk && t === undefined ? 'unknown' : splat && !tk ? 'unknown' : 'yes';
    }
    const fact: PyMonkeyPatchFact = { ...base, kind: 'py.monkey-patch', api: `${api}()`, library: lib, threads, firstStatement: this.firstStatementPos(), localName: (c.callee ?? api).split('.')[0] };
    if (threadKeyword && threads === 'yes' && how !== 'always') {
      if (tk) {
        if (tk.type === 'true') fact.threadFix = { kind: 'replace', range: this.range(tk), keyword: threadKeyword };
      } else if (!splat) {
        const ins = keywordInsert(a.node, threadKeyword);
        if (ins) fact.threadFix = { kind: 'insert', ...ins };
      }
    }
    const st = c.node.parent;
    if (st?.type === 'expression_statement' && st.parent?.type === 'module' && st.startPosition.column === 0) {
      const endLine = st.endPosition.row;
      const lines = this.tree.rootNode.text.split('\n', endLine + 2);
      const rest = (lines[endLine] ?? '').slice(st.endPosition.column);
      if (/^\s*(#.*)?$/.test(rest)) {
        fact.statement = { range: { start: { line: st.startPosition.row, character: 0 }, end: { line: endLine + 1, character: 0 } }, text: st.text };
      }
    }
    this.facts.push(fact);
  }

  private firstStatement?: Position;

  /** Start of the first statement that is not the docstring or a `from __future__` import. */
  private firstStatementPos(): Position {
    if (this.firstStatement) return this.firstStatement;
    let pos: Position = posOf(this.tree.rootNode.endPosition);
    let first = true;
    for (const st of this.tree.rootNode.namedChildren) {
      if (!st || st.type === 'comment') continue;
      const docstring = first && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string';
      first = false;
      if (docstring || st.type === 'future_import_statement') continue;
      pos = { line: st.startPosition.row, character: 0 };
      break;
    }
    this.firstStatement = pos;
    return pos;
  }

  /** Last segment of what a call names: `conn.heartbeat_check()` → `heartbeat_check`. */
  private lastName(c: RawCall): string | undefined {
    if (c.method) return c.method;
    const n = c.resolved?.name ?? c.callee;
    return n ? n.slice(n.lastIndexOf('.') + 1) : undefined;
  }

  /** A call that waits or sleeps: `time.sleep(n)`, `event.wait(timeout)`, `cond.wait(5)`. */
  private isWait(c: RawCall): boolean {
    if (c.resolved && PY_SLEEP_CALLS.has(c.resolved.name)) return true;
    return !!c.method && PY_WAIT_METHODS.has(c.method) && (argsOf(c.node).positional.length > 0 || argsOf(c.node).keywords.has('timeout'));
  }

  /**
   * The function of this file a call runs, by qualified scope name: `self.m()`/`cls.m()` in a
   * method is the class's `m`, a plain `f()` a module-level function; undefined otherwise.
   */
  private sameFileTarget(c: RawCall, functions: ReadonlyMap<string, Scope>): Scope | undefined {
    const fnText = c.node.childForFieldName('function')?.text ?? '';
    const self = /^(self|cls)\.([A-Za-z_]\w*)$/.exec(fnText);
    if (self) {
      let cls: Scope | undefined = c.scope;
      while (cls && cls.kind !== 'class') cls = cls.parent;
      return cls ? functions.get(`${cls.name}.${self[2]}`) : undefined;
    }
    return /^[A-Za-z_]\w*$/.test(fnText) ? functions.get(fnText) : undefined;
  }

  /**
   * Functions of this file (by qualified name) that wait, themselves or through the functions
   * of this file they call (a fixpoint over same-file calls), each with the wait it reaches.
   */
  private waitingFunctions(functions: ReadonlyMap<string, Scope>): Map<Scope, RawCall> {
    const waiting = new Map<Scope, RawCall>();
    for (const c of this.calls) if (c.scope.kind === 'function' && !waiting.has(c.scope) && this.isWait(c)) waiting.set(c.scope, c);
    for (let round = 0, changed = true; changed && round < 4; round++) {
      changed = false;
      for (const c of this.calls) {
        if (c.scope.kind !== 'function' || waiting.has(c.scope)) continue;
        const target = this.sameFileTarget(c, functions);
        const wait = target && target !== c.scope ? waiting.get(target) : undefined;
        if (wait) {
          waiting.set(c.scope, wait);
          changed = true;
        }
      }
    }
    return waiting;
  }

  /** One `py.keepalive` per function: a loop that sends a heartbeat and waits, or a call that drives a connection. */
  private emitKeepAlives(): void {
    const byScope = new Map<Scope, { pings: RawCall[]; waits: RawCall[]; drives: RawCall[]; inLoops: RawCall[] }>();
    const entry = (s: Scope) => {
      let e = byScope.get(s);
      if (!e) byScope.set(s, (e = { pings: [], waits: [], drives: [], inLoops: [] }));
      return e;
    };
    for (const c of this.calls) {
      if (c.scope.kind !== 'function') continue;
      const last = this.lastName(c);
      if (!last) continue;
      const driver = PY_CONNECTION_DRIVERS.get(last);
      if (driver) {
        if (driver.loops || c.loops) entry(c.scope).drives.push(c);
        if (argsOf(c.node).positional.length || argsOf(c.node).keywords.size) entry(c.scope).waits.push(c);
        continue;
      }
      if (!c.loops) continue;
      entry(c.scope).inLoops.push(c);
      if (PY_HEARTBEAT_CALLS.has(last) || PY_HEARTBEAT_NAME.test(last)) entry(c.scope).pings.push(c);
      else if (this.isWait(c)) entry(c.scope).waits.push(c);
    }
    const text = (c: RawCall) => `${c.node.childForFieldName('function')?.text ?? this.lastName(c)}()`;
    let functions: Map<string, Scope> | undefined;
    let waiting: Map<Scope, RawCall> | undefined;
    for (const [scope, e] of byScope) {
      let done = false;
      // Names from the table (`_heartbeat_check` → heartbeat_check) before mere look-alikes (`for_heartbeat`).
      const exact = (c: RawCall) => PY_HEARTBEAT_CALLS.has((this.lastName(c) ?? '').replace(/^_+/, ''));
      e.pings.sort((x, y) => Number(exact(y)) - Number(exact(x)));
      for (const p of e.pings) {
        for (const loop of p.loops ?? []) {
          if (!e.waits.some((w) => within(this.rangeOf(w.node, w.end), loop))) continue;
          this.facts.push({ ...this.base(loop, p.flags, scope), kind: 'py.keepalive', how: 'loop', call: text(p) });
          done = true;
          break;
        }
        if (done) break;
      }
      // The loop pings but waits in a function of this file that it calls (the ping itself, or
      // a helper): `while ...: self._heartbeat_check()` where `_heartbeat_check` sleeps.
      if (!done && e.pings.length) {
        functions ??= new Map([...this.scopes].filter((s) => s.kind === 'function').map((s) => [s.name, s]));
        waiting ??= this.waitingFunctions(functions);
        for (const p of e.pings) {
          for (const loop of p.loops ?? []) {
            let wait: RawCall | undefined;
            const through = e.inLoops.find((c) => {
              if (!within(this.rangeOf(c.node, c.end), loop)) return false;
              const target = this.sameFileTarget(c, functions!);
              wait = target && target !== scope ? waiting!.get(target) : undefined;
              return wait !== undefined;
            });
            if (!through || !wait) continue;
            this.facts.push({
              ...this.base(loop, p.flags, scope),
              kind: 'py.keepalive',
              how: 'loop',
              call: text(p),
              waitsThrough: { call: text(through), wait: text(wait), line: wait.node.startPosition.row },
            });
            done = true;
            break;
          }
          if (done) break;
        }
      }
      if (done || !e.drives.length) continue;
      const d = e.drives[0];
      this.facts.push({ ...this.base(d.loops?.[d.loops.length - 1] ?? this.rangeOf(d.node, d.end), d.flags, scope), kind: 'py.keepalive', how: 'drive', call: text(d) });
    }
  }

  private emitCaches(): void {
    for (const p of this.pendingCaches) {
      const idx = this.callIndex.get(p.callId);
      if (idx === undefined) continue;
      const call = this.calls[idx];
      const name = call.resolved?.name;
      const what = name ? PY_FD_SOURCES.get(name) : undefined;
      if (!what || !call.resolved || call.resolved.origin === 'local') continue;
      this.facts.push({
        ...this.base(this.rangeOf(call.node, call.end), call.flags, call.scope),
        kind: 'py.fd-cache',
        name: p.name,
        storage: p.storage,
        api: `${name}()`,
        what,
        lazy: p.lazy,
        rightHandSide: this.exact ? this.src.slice(call.node.startIndex, call.end) : call.node.text,
        topStatementEnd: p.topStatementEnd,
      });
    }
  }

  private emitRevalidations(): void {
    for (const s of this.scopes) {
      if (!s.usesIdentityFields || !s.fstatCalls) continue;
      const names = new Set<string>();
      for (const c of s.fstatCalls) {
        if (!c.resolved || !PY_FSTAT_CALLS.has(c.resolved.name)) continue;
        const arg = argsOf(c.node).positional[0];
        if (arg) for (const id of identifiersIn(arg)) if (id !== 'self' && id !== 'cls') names.add(id);
        // `os.fstat(self._fd)`: the attribute name is what identifies the cache.
        if (arg) for (const part of arg.text.split(/[^A-Za-z0-9_]+/)) if (part && part !== 'self' && part !== 'cls') names.add(part);
      }
      if (!names.size) continue;
      const first = s.fstatCalls[0];
      this.facts.push({ ...this.base(this.rangeOf(first.node, first.end), first.flags, s), kind: 'py.fd-revalidate', names: [...names].sort() });
    }
  }
}

/** Decorators that only wrap or describe a function; the rest may register it to run later. */
const NON_REGISTERING_DECORATORS = /^(property|staticmethod|classmethod|abstractmethod|abc\.\w+|functools\.\w+|wraps|cache|lru_cache|cached_property|contextmanager|asynccontextmanager|contextlib\.\w+|overload|typing\.\w+|final|override|dataclass|dataclasses\.\w+|\w+\.(setter|getter|deleter)|unittest\.\w+|pytest\.\w+|mock\.\w+|patch|skip\w*|support\.\w+|(\w+\.)*cpython_only)$/;

/** The last binding made before `pos`, else the last one. */
function pickBinding(list: RawCall[] | undefined, pos: number): RawCall | undefined {
  if (!list?.length) return undefined;
  let best: RawCall | undefined;
  for (const b of list) if (b.node.startIndex < pos) best = b;
  return best ?? list[list.length - 1];
}

function rangeEq(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

function joinName(prefix: string, name: string): string {
  if (!prefix) return name;
  return prefix.endsWith('.') ? prefix + name : `${prefix}.${name}`;
}

/**
 * Extracts the program facts of one Python file. Never throws on odd code: unknown shapes
 * are skipped. Facts are sorted by position.
 */
/**
 * `textShortcuts: false` forces the node-reading path that files with syntax errors take, so a
 * test can check that both paths give the same facts on valid code.
 */
export function extractPythonFacts(tree: Tree, text: string, path: string, options: { textShortcuts?: boolean } = {}): PythonFact[] {
  const ex = new Extractor(tree, text, options.textShortcuts ?? true);
  ex.walk();
  ex.finish();
  if (/(^|[\\/])setup\.py$/.test(path)) {
    const eps = extractSetupPyEntryPoints(tree, text);
    const mod = ex.facts.find((f): f is PyModuleFact => f.kind === 'py.module');
    if (eps && mod) mod.setupEntryPoints = eps;
  }
  return ex.facts;
}
