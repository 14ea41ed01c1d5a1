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
 * Every fact carries `fn`: the qualified name of the function whose body executes it
 * (`''` for module level, including class bodies at module level), so the program model can
 * replay a module's import-time statements and a function's body in source order.
 */
import type { Position, Range } from '../../engine/types';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  PY_AT_FORK_CALLS,
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
  PY_PROCESS_STARTERS,
  PY_SETSID_CALLS,
  PY_START_METHOD_SETTERS,
  PY_THREAD_METHODS,
  PY_THREAD_STARTERS,
  type PyProcessStarter,
  type PyThreadStarter,
} from '../../knowledge/python-process';
import {
  PY_CONNECTION_DRIVERS,
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

// ---------------------------------------------------------------------------------------
// Fact shapes (plain JSON)
// ---------------------------------------------------------------------------------------

interface PyFactBase {
  range: Range;
  /** Qualified name of the function whose body runs this (`''`: module level / class body). */
  fn: string;
  /** Inside the module's `if __name__ == "__main__":` block. */
  main?: boolean;
  /** Under an `if`/`try`/loop/`with` of its scope (it may not run). */
  cond?: boolean;
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
}

/**
 * `import a.b as c` → module `a.b`, bound `c`; `import a.b` → bound `a`;
 * `from ..m import x as y` → level 2, module `m`, names [{name:x, alias:y}].
 */
export interface PyImportFact extends PyFactBase {
  kind: 'py.import';
  module: string;
  level: number;
  bound?: string;
  names?: { name: string; alias?: string }[];
  star?: boolean;
}

export interface PyFunctionFact extends PyFactBase {
  kind: 'py.function';
  /** Qualified name: `f`, `C.m`, `f.inner`. */
  name: string;
  cls?: string;
  /** Module-level names this function assigns through `global`. */
  globalAssigns?: string[];
  /** Class attributes it assigns (`Cls.attr = ...`, `cls.attr = ...`), qualified `Cls.attr`. */
  attrAssigns?: string[];
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
  /** The constructor's callee as written (`threading.Thread`), where a fix may swap in the original. */
  ctor?: { range: Range; text: string };
}

/**
 * `eventlet.monkey_patch(...)`, `gevent.monkey.patch_all(...)`, `patch_thread()`: whether
 * threads become green, read from the literal keywords (`unknown` when they are computed).
 */
export interface PyMonkeyPatchFact extends PyFactBase {
  kind: 'py.monkey-patch';
  api: string;
  lib: 'eventlet' | 'gevent';
  threads: 'yes' | 'no' | 'unknown';
  /** How to make the call keep threads native: insert `thread=False`, or replace the keyword's value. */
  threadFix?: { kind: 'insert'; insertAt: Position; needsComma: boolean; keyword: string } | { kind: 'replace'; range: Range; keyword: string };
  /** The module-level statement holding the call, alone on its lines: full-line range and text. */
  stmt?: { range: Range; text: string };
  /** Where the module's first statement goes (after its docstring and `from __future__` imports). */
  firstStatement: Position;
  /** The local name the callee is reached through (`eventlet`, `monkey`). */
  head: string;
}

/**
 * A function whose body keeps a connection alive: a loop that sends a heartbeat/ping and
 * waits (`how: 'loop'`), or a call that runs a connection's I/O loop (`how: 'drive'`).
 * The range is the loop (or the driving call); `fn` is the function.
 */
export interface PyKeepAliveFact extends PyFactBase {
  kind: 'py.keepalive';
  how: 'loop' | 'drive';
  /** The heartbeat or driving call as written (`conn.heartbeat_check()`). */
  call: string;
}

/** A library connection with heartbeats (`knowledge/python-heartbeat.ts`). */
export interface PyHeartbeatConnectionFact extends PyFactBase {
  kind: 'py.hb-connection';
  api: string;
  lib: string;
  /** The library runs the heartbeat in a thread of its own. */
  background: boolean;
  note: string;
}

/** A call that keeps a green hub running (a green server loop). */
export interface PyHubDriverFact extends PyFactBase {
  kind: 'py.hub-driver';
  api: string;
  note: string;
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
  ctor: string;
  origin: PyNameOrigin;
  method: string;
}

/** How a fork fix edits this file (multiprocessing only). */
export type PyForkFix =
  | { kind: 'callee'; range: Range; attr: string }
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
}

export interface PyExecFact extends PyFactBase {
  kind: 'py.exec';
  api: string;
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
  rhs: string;
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
  literal?: Range;
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
  | PyNativePrimitiveFact;

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
}

interface LoopCtx {
  node: Node;
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
}

interface RawCall {
  node: Node;
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

function isTypeCheckingGuard(cond: Node | null): boolean {
  if (!cond) return false;
  const t = cond.text;
  return t === 'TYPE_CHECKING' || t === 'typing.TYPE_CHECKING';
}

/** Identifiers an expression mentions (shallow enough for guards and fstat arguments). */
function identifiersIn(node: Node, out: string[] = []): string[] {
  if (node.type === 'identifier') out.push(node.text);
  for (const c of node.namedChildren) if (c) identifiersIn(c, out);
  return out;
}

/** Names the tables already describe: never worth a `py.call` fact. */
const KNOWN_NOT_WORKSPACE: readonly ReadonlySet<string>[] = [
  new Set(PY_FD_SOURCES.keys()),
  PY_SETSID_CALLS,
  PY_CLOSE_ONE_CALLS,
  PY_FSTAT_CALLS,
];

const NON_CTOR_NAMES = new Set(['super', 'type', 'object', 'getattr', 'setattr', 'property', 'staticmethod', 'classmethod']);

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

  constructor(
    private readonly tree: Tree,
    text: string,
  ) {
    this.mentionsIdentity = /\bst_(ino|dev)\b/.test(text);
    this.module = { kind: 'module', name: '', fn: '', until: 0, defs: new Set(), bindings: new Map(), end: posOf(tree.rootNode.endPosition) };
    this.scopes.push(this.module);
    this.frames.push({ until: 0, scope: this.module });
    const root = tree.rootNode;
    this.moduleFact = {
      kind: 'py.module',
      fn: '',
      range: { start: posOf(root.startPosition), end: posOf(root.startPosition) },
      importInsert: { line: 0, character: 0 },
    };
    this.facts.push(this.moduleFact);
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
      if (fr.guard) out.push(fr.guard);
      if (fr.scope) break;
    }
    return out;
  }

  private base(range: Range, flags: Flags, scope: Scope): PyFactBase {
    const b: PyFactBase = { range, fn: scope.fn };
    if (flags.main) b.main = true;
    if (flags.cond) b.cond = true;
    return b;
  }

  /**
   * One pass over the nodes of interest. They come from a single `descendantsOfType` call
   * (one trip into WASM, in document order); nesting (scopes, conditions, loops) is rebuilt
   * from their end offsets, so no JavaScript walk over every node is needed.
   */
  walk(): void {
    const root = this.tree.rootNode;
    const types = [...INTERESTING];
    if (this.mentionsIdentity) types.push('attribute');
    const tops = root.children.filter((c): c is Node => !!c).map((c) => ({ end: c.endIndex, pos: posOf(c.endPosition) }));
    let top = 0;
    let skipUntil = -1;
    for (const node of root.descendantsOfType(types)) {
      if (!node) continue;
      const start = node.startIndex;
      if (start < skipUntil) continue;
      while (this.frames.length > 1 && this.frames[this.frames.length - 1].until <= start) this.frames.pop();
      while (top < tops.length - 1 && tops[top].end <= start) top++;
      if (tops.length) this.topEnd = tops[top].pos;
      if (!this.visit(node, node.type, node.endIndex)) skipUntil = node.endIndex;
    }
  }

  /**
   * Handles one node of interest; returns false to skip the nodes inside it. `until` is
   * the node's end offset: frames pushed here last until the walk passes it.
   */
  private visit(node: Node, type: string, until: number): boolean {
    const scope = this.scope();
    switch (type) {
      case 'import_statement':
      case 'import_from_statement':
        this.visitImport(node, scope);
        return false;
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
        this.frames.push({ until, cond: true, guard: node.childForFieldName('condition') ?? undefined, branch: nodeRange(node) });
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
        this.frames.push({ until, cond: true, branch: nodeRange(node) });
        return true;
      case 'for_statement':
      case 'while_statement': {
        const r = nodeRange(node);
        this.frames.push({ until, cond: true, loop: this.loopContext(node), branch: r, loopRange: r });
        return true;
      }
      case 'call':
        this.visitCall(node, scope);
        return true;
      case 'assignment':
        this.visitAssignment(node, scope);
        return true;
      case 'return_statement':
      case 'raise_statement':
        (scope.leaves ??= []).push(nodeRange(node));
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

  private visitImport(node: Node, scope: Scope): void {
    const flags = this.flags();
    if (flags.typeOnly) return;
    const range = nodeRange(node);
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
          this.facts.push({ ...b, kind: 'py.import', module: mod, level: 0, bound: first });
        } else if (c.type === 'aliased_import') {
          const mod = c.childForFieldName('name')?.text ?? '';
          const alias = c.childForFieldName('alias')?.text ?? mod;
          bind(alias, mod);
          this.facts.push({ ...b, kind: 'py.import', module: mod, level: 0, bound: alias });
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

  private visitFunction(node: Node, until: number, parent: Scope): void {
    const nameNode = node.childForFieldName('name');
    const simple = nameNode?.text ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.flags();
    const fact: PyFunctionFact = {
      ...this.base(nameNode ? nodeRange(nameNode) : nodeRange(node), flags, parent),
      kind: 'py.function',
      name: qual,
    };
    const cls = parent.kind === 'class' ? parent.name : undefined;
    if (cls) fact.cls = cls;
    // `def application(environ, start_response):` at module level is a WSGI entry point too.
    if (parent.kind === 'module' && simple === 'application' && !flags.main && !flags.cond && nameNode) this.moduleFact.application ??= nodeRange(nameNode);
    if (node.parent?.type === 'decorated_definition' && isRegisteringDecorator(node.parent)) fact.registered = true;
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
      end: posOf(node.endPosition),
    };
    this.scopes.push(scope);
    this.frames.push({ until, scope });
  }

  private visitClass(node: Node, until: number, parent: Scope): void {
    const nameNode = node.childForFieldName('name');
    const simple = nameNode?.text ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.flags();
    const raw: string[] = [];
    const sup = node.childForFieldName('superclasses');
    if (sup) for (const b of sup.namedChildren) {
      const d = dotted(b ?? null);
      if (d) raw.push(d);
    }
    const fact: PyClassFact = { ...this.base(nameNode ? nodeRange(nameNode) : nodeRange(node), flags, parent), kind: 'py.class', name: qual, bases: [] };
    this.facts.push(fact);
    this.pendingBases.push({ fact, scope: parent, raw });
    const scope: Scope = { kind: 'class', name: qual, fn: parent.fn, cls: qual, parent, until, defs: new Set(), bindings: new Map(), end: parent.end };
    this.scopes.push(scope);
    this.frames.push({ until, scope });
  }

  private readonly pendingBases: { fact: PyClassFact; scope: Scope; raw: string[] }[] = [];

  private visitIf(node: Node, until: number, scope: Scope): void {
    const cond = node.childForFieldName('condition');
    if (scope.kind === 'module' && isMainGuard(cond) && !this.flags().cond) {
      this.moduleFact.mainGuard = nodeRange(node);
      this.frames.push({ until, main: true });
      return;
    }
    if (isTypeCheckingGuard(cond)) {
      this.frames.push({ until, cond: true, typeOnly: true });
      return;
    }
    this.frames.push({ until, cond: true, guard: cond ?? undefined, branch: nodeRange(node) });
    if (!cond) return;
    // `if fd in keep: continue` inside a close-all loop: a keep-list.
    const loop = this.loop();
    if (loop && identifiersIn(cond).includes(loop.variable)) loop.keep = true;
    const test = this.forkTest(cond, scope);
    if (!test) return;
    const consequence = node.childForFieldName('consequence');
    if (!consequence) return;
    let alternative: Range | undefined;
    for (const alt of node.childrenForFieldName('alternative')) {
      if (alt?.type === 'else_clause') {
        const body = alt.childForFieldName('body');
        if (body) alternative = nodeRange(body);
      }
    }
    this.ifs.push({ node, scope, subject: test.subject, childWhenTrue: test.childWhenTrue, consequence: nodeRange(consequence), alternative });
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
        const fnText = dotted(x.childForFieldName('function'));
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

  private loopContext(node: Node): LoopCtx | undefined {
    if (node.type === 'for_statement') {
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      if (left?.type !== 'identifier' || right?.type !== 'call') return undefined;
      const fn = dotted(right.childForFieldName('function'));
      let blanket = fn === 'range';
      if (!blanket && fn && /(^|\.)(listdir|scandir)$/.test(fn)) {
        const arg = argsOf(right).positional[0];
        const v = stringValue(arg)?.value;
        blanket = v !== undefined && PY_FD_DIRECTORIES.some((d) => v.replace(/\/$/, '') === d);
      }
      if (!blanket) return undefined;
      return { node, variable: left.text, blanket, keep: false, reported: false };
    }
    const cond = node.childForFieldName('condition');
    if (cond?.type === 'comparison_operator') {
      const first = cond.namedChild(0);
      const op = cond.child(1)?.type;
      if (first?.type === 'identifier' && (op === '<' || op === '<=')) return { node, variable: first.text, blanket: true, keep: false, reported: false };
    }
    return undefined;
  }

  private visitWith(node: Node, scope: Scope): void {
    for (const clause of node.namedChildren) {
      if (clause?.type !== 'with_clause') continue;
      for (const item of clause.namedChildren) {
        const value = item?.childForFieldName('value');
        if (value?.type === 'call') this.withCalls.add(value.id);
        if (value?.type !== 'as_pattern') continue;
        const call = value.namedChild(0);
        const target = value.childForFieldName('alias')?.namedChild(0);
        if (call?.type === 'call' && target?.type === 'identifier') this.bind(scope, target.text, call);
        if (call?.type === 'call') this.withCalls.add(call.id);
      }
    }
  }

  /** Calls used as `with` items: their objects are shut down when the block ends. */
  private readonly withCalls = new Set<number>();

  private readonly pendingBindings: { scope: Scope; key: string; callId: number }[] = [];

  private bind(scope: Scope, key: string, call: Node): void {
    this.pendingBindings.push({ scope, key, callId: call.id });
  }

  private readonly pendingRefs: { raw: string; node: Node; scope: Scope; flags: Flags }[] = [];

  /** Inner links of `a = b = c = ...` chains, already handled with the outermost one. */
  private readonly chainedAssignments = new Set<number>();

  private visitAssignment(node: Node, scope: Scope): void {
    if (this.chainedAssignments.delete(node.id)) return;
    let right = node.childForFieldName('right');
    // Only three things matter: a call on the right (caches, bindings, pids), targets a
    // function assigns through `global`/class attributes, and a module-level `application`.
    if (right?.type !== 'call' && right?.type !== 'assignment' && scope.kind === 'class') return;
    const left = node.childForFieldName('left');
    if (right?.type !== 'call' && right?.type !== 'assignment' && scope.kind === 'function' && !scope.globals && left?.type !== 'attribute') return;
    // `a = b = call()`: every target gets the call.
    const targets: Node[] = left ? [left] : [];
    while (right?.type === 'assignment') {
      this.chainedAssignments.add(right.id);
      const l = right.childForFieldName('left');
      if (l) targets.push(l);
      right = right.childForFieldName('right');
    }
    const flags = this.flags();
    for (const t of targets) {
      if (scope.kind === 'module' && !flags.main && t.type === 'identifier' && t.text === 'application') {
        this.moduleFact.application = nodeRange(t);
      }
      const names: Node[] = t.type === 'pattern_list' || t.type === 'tuple_pattern' ? t.namedChildren.filter((c): c is Node => !!c) : [t];
      for (const n of names) this.noteAssignTarget(n, scope);
    }
    if (scope.kind === 'module' && right?.type === 'string' && targets.some((t) => t.type === 'identifier' && t.text === 'worker_class')) {
      const v = stringValue(right)?.value;
      if (v) this.moduleFact.workerClass = v;
    }
    if (right?.type !== 'call') return;
    const fnText = dotted(right.childForFieldName('function'));
    for (const t of targets) {
      // Bindings for receivers (`t = Thread(...)`, `self._t = Thread(...)`, `ctx = get_context(...)`).
      if (t.type === 'identifier') this.bind(scope, t.text, right);
      else if (t.type === 'attribute') {
        const obj = t.childForFieldName('object');
        const attr = t.childForFieldName('attribute');
        if (obj?.type === 'identifier' && obj.text === 'self' && attr && scope.cls) {
          const clsScope = this.classScope(scope);
          if (clsScope) this.bind(clsScope, `self.${attr.text}`, right);
        }
      }
      // pid variables: `pid = os.fork()`, `pid, fd = pty.fork()`.
      if (fnText && /(^|\.)fork(pty)?$/.test(fnText)) {
        const pidNode = t.type === 'pattern_list' || t.type === 'tuple_pattern' ? t.namedChild(0) : t;
        if (pidNode?.type === 'identifier') (scope.pidVars ??= new Map()).set(pidNode.text, right.id);
      }
      this.noteCacheCandidate(t, right, scope);
    }
  }

  private classScope(scope: Scope): Scope | undefined {
    let s: Scope | undefined = scope;
    while (s && s.kind !== 'class') s = s.parent;
    return s;
  }

  private noteAssignTarget(n: Node, scope: Scope): void {
    if (scope.kind !== 'function') return;
    if (n.type === 'identifier' && scope.globals?.has(n.text)) (scope.globalAssigns ??= new Set()).add(n.text);
    if (n.type === 'attribute') {
      const obj = n.childForFieldName('object');
      const attr = n.childForFieldName('attribute');
      if (!obj || !attr || obj.type !== 'identifier') return;
      const cls = obj.text === 'cls' ? scope.cls : this.module.defs.has(obj.text) ? obj.text : undefined;
      if (cls) (scope.attrAssigns ??= new Set()).add(`${cls}.${attr.text}`);
    }
  }

  private noteCacheCandidate(target: Node, call: Node, scope: Scope): void {
    const guards = this.guards();
    const topEnd = this.topEnd;
    const first =
      target.type === 'pattern_list' || target.type === 'tuple_pattern' ? target.namedChildren.find((c): c is Node => !!c) : target;
    if (!first) return;
    // Opened on first use: under a condition that tests the cache itself (`if _fd is None:`).
    const guarded = (name: string) => guards.some((g) => identifiersIn(g).includes(name));
    const add = (name: string, storage: PendingCache['storage'], lazy: boolean) =>
      this.pendingCaches.push({ callId: call.id, name, storage, lazy, topStatementEnd: topEnd });
    if (first.type === 'identifier') {
      if (scope.kind === 'module') add(first.text, 'module', false);
      else if (scope.kind === 'class') add(`${scope.name}.${first.text}`, 'class', false);
      else if (scope.globals?.has(first.text)) add(first.text, 'global', guarded(first.text));
    } else if (first.type === 'attribute' && scope.kind === 'function') {
      const obj = first.childForFieldName('object');
      const attr = first.childForFieldName('attribute');
      if (obj?.type !== 'identifier' || !attr) return;
      const cls = obj.text === 'cls' ? scope.cls : this.module.defs.has(obj.text) ? obj.text : undefined;
      if (cls) add(`${cls}.${attr.text}`, 'class', guarded(attr.text));
    }
  }

  private readonly pendingCaches: PendingCache[] = [];

  /** End of the module-level statement being walked. */
  private topEnd: Position = { line: 0, character: 0 };
  /** Whether the file mentions `st_ino`/`st_dev` at all (cheap pre-check for re-validation). */
  private readonly mentionsIdentity: boolean;



  private visitCall(node: Node, scope: Scope): void {
    const fnNode = node.childForFieldName('function');
    const rec: RawCall = { node, callee: dotted(fnNode), scope, flags: this.flags(), loop: this.loop(), branches: this.branches() };
    const loops = this.loopRanges();
    if (loops) rec.loops = loops;
    if (fnNode?.type === 'attribute') {
      const obj = fnNode.childForFieldName('object');
      const attr = fnNode.childForFieldName('attribute');
      rec.method = attr?.text;
      if (obj?.type === 'identifier') rec.recv = { name: obj.text };
      else if (obj?.type === 'attribute') {
        const o2 = obj.childForFieldName('object');
        const a2 = obj.childForFieldName('attribute');
        if (o2?.type === 'identifier' && o2.text === 'self' && a2) rec.recv = { selfAttr: a2.text };
      } else if (obj?.type === 'call') rec.recv = { chained: obj.id };
    }
    if (rec.flags.typeOnly) return;
    this.callIndex.set(node.id, this.calls.length);
    this.calls.push(rec);
    // Callables passed as arguments (resolved after the walk; most are plain local values).
    const args = node.childForFieldName('arguments');
    if (args?.type === 'argument_list') {
      for (const a of args.namedChildren) {
        const v = a?.type === 'keyword_argument' ? a.childForFieldName('value') : a;
        if (v && (v.type === 'identifier' || v.type === 'attribute')) {
          const d = dotted(v);
          if (d && d !== 'self' && d !== 'cls') this.pendingRefs.push({ raw: d, node: v, scope, flags: rec.flags });
        }
      }
    }
    // Close-one inside a loop over a descriptor range: note it against the loop.
    const loop = rec.loop;
    if (loop && rec.callee && /(^|\.)close$/.test(rec.callee)) {
      const arg = argsOf(node).positional[0];
      let v: Node | null | undefined = arg;
      if (v?.type === 'call' && dotted(v.childForFieldName('function')) === 'int') v = argsOf(v).positional[0];
      if (v?.type === 'identifier' && v.text === loop.variable) {
        // A condition on the loop variable between the loop and the close is a keep-list.
        const guards = this.guards();
        for (const g of guards) if (within(nodeRange(g), nodeRange(loop.node)) && identifiersIn(g).includes(loop.variable)) loop.keep = true;
        this.loopCloses.push({ call: rec, loop });
      }
    }
    if (rec.callee && /(^|\.)fstat$/.test(rec.callee)) (scope.fstatCalls ??= []).push(rec);
    if (rec.callee && /(^|\.)closerange$/.test(rec.callee)) (scope.closeRanges ??= []).push(rec);
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
      if (s.attrAssigns?.size) s.functionFact.attrAssigns = [...s.attrAssigns].sort();
    }
    this.resolveOriginals();
    for (const c of this.calls) if (c.callee) c.resolved ??= this.resolve(c.callee, c.scope);
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
      const fact: PyCloseAllFact = {
        ...this.base(nodeRange(loop.node), call.flags, call.scope),
        kind: 'py.close-all',
        api: `${call.resolved.name}() in a loop`,
        keepList: loop.keep,
        execFollows: false,
      };
      this.facts.push(fact);
      closeAlls.push({ fact, call });
    }
    for (const r of this.pendingRefs) {
      const res = this.resolve(r.raw, r.scope);
      if (res.origin === 'builtin') continue;
      this.facts.push({ ...this.base(nodeRange(r.node), r.flags, r.scope), kind: 'py.ref', name: res.name, origin: res.origin });
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
    const pick = (list: RawCall[] | undefined) => {
      if (!list?.length) return undefined;
      let best: RawCall | undefined;
      for (const b of list) if (b.node.startIndex < pos) best = b;
      return best ?? list[list.length - 1];
    };
    if ('selfAttr' in r) {
      const cls = this.classScope(c.scope);
      return pick(cls?.bindings.get(`self.${r.selfAttr}`));
    }
    for (let s: Scope | undefined = c.scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== c.scope) continue;
      const b = pick(s.bindings.get(r.name));
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
    if (name) {
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

  private classify(c: RawCall, execs: { fact: PyExecFact; call: RawCall }[], forks: { fact: PyForkFact; call: RawCall }[], closeAlls: { fact: PyCloseAllFact; call: RawCall }[]): void {
    const name = c.resolved?.name;
    // The range costs a trip into WASM: computed only for calls that become facts.
    let base: PyFactBase | undefined;
    const b = (): PyFactBase => (base ??= this.base(nodeRange(c.node), c.flags, c.scope));
    if (name && c.resolved) {
      if (PY_FORK_CALLS.has(name)) {
        const fact: PyForkFact = { ...b(), kind: 'py.fork', api: `${name}()`, via: 'os', child: 'continues' };
        this.facts.push(fact);
        forks.push({ fact, call: c });
        return;
      }
      if (PY_EXEC_CALLS.has(name) || (PY_EXIT_CALLS.has(name) && (c.resolved.origin !== 'local'))) {
        const fact: PyExecFact = { ...b(), kind: 'py.exec', api: `${name}()`, exits: !PY_EXEC_CALLS.has(name) };
        this.facts.push(fact);
        execs.push({ fact, call: c });
        return;
      }
      const daemon = PY_DAEMONIZERS.get(name);
      if (daemon) {
        const args = argsOf(c.node);
        const fact: PyForkFact = { ...b(), kind: 'py.fork', api: `${name}()`, via: 'daemonizer', child: 'continues', parentExits: true };
        this.facts.push(fact);
        forks.push({ fact, call: c });
        const keep = args.keywords.get(daemon.keepKeyword);
        const ca: PyCloseAllFact = {
          ...b(),
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
        // Closing the gaps between kept descriptors (in a loop, or several ranges) is a keep-list.
        const keep = !!c.loop || (c.scope.closeRanges?.length ?? 0) > 1;
        const fact: PyCloseAllFact = { ...b(), kind: 'py.close-all', api: `${name}()`, keepList: keep, execFollows: false };
        this.facts.push(fact);
        closeAlls.push({ fact, call: c });
        return;
      }
      if (PY_START_METHOD_SETTERS.has(name)) {
        const m = this.methodArgument(c);
        const fact: PyStartMethodFact = { ...b(), kind: 'py.start-method', method: m.method === 'default' ? 'unknown' : m.method };
        if (m.literal) fact.literal = m.literal;
        this.facts.push(fact);
        return;
      }
      const atFork = PY_AT_FORK_CALLS.get(name);
      if (atFork) {
        const a = argsOf(c.node);
        const h = atFork.childKeyword ? a.keywords.get(atFork.childKeyword) : a.positional[atFork.childArg ?? -1];
        if (!h) return;
        const fact: PyAtForkFact = { ...b(), kind: 'py.at-fork' };
        const d = dotted(h);
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
      this.facts.push({ ...b(), kind: 'py.thread-start', api: `${kind.api}()`, note: kind.starter.note, ...this.threadExtras(c, kind.api) });
      return;
    }
    if (kind?.kind === 'process' && kind.starter.how === 'ctor') {
      this.pushProcessFork(c, c, kind, b(), forks);
      return;
    }
    // Methods that start what their receiver was built as.
    if (c.method && c.recv) {
      const ctor = this.receiverCtor(c);
      const ck = ctor ? this.ctorKind(ctor) : undefined;
      if (ctor && ck?.kind === 'thread' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        this.facts.push({ ...b(), kind: 'py.thread-start', api: `${ck.api}.${c.method}()`, note: ck.starter.note, ...this.threadExtras(ctor, ck.api) });
        return;
      }
      if (ctor && ck?.kind === 'process' && ck.starter.how === 'method' && ck.starter.methods?.includes(c.method)) {
        ctor.matched = true;
        this.pushProcessFork(c, ctor, ck, b(), forks);
        return;
      }
      if (ctor && ck?.kind === 'unknown' && c.method === 'start' && /^[A-Z_]/.test(ck.ctor.split('.').pop() ?? '')) {
        ctor.matched = true;
        this.facts.push({ ...b(), kind: 'py.object-start', ctor: ck.ctor, origin: ck.origin, method: c.method });
        return;
      }
      const tm = PY_THREAD_METHODS.get(c.method);
      if (tm) {
        this.facts.push({ ...b(), kind: 'py.thread-start', api: `.${c.method}()`, note: tm });
        return;
      }
    }
    // `self.start()` inside a class: the class itself may be a Thread/Process subclass.
    if (c.callee === 'self.start' && c.scope.cls) {
      this.facts.push({ ...b(), kind: 'py.object-start', ctor: c.scope.cls, origin: 'local', method: 'start' });
      return;
    }
    if (name && c.resolved && c.resolved.origin !== 'builtin') {
      if (c.recv && 'chained' in c.recv) return;
      if (kind && kind.kind !== 'unknown') return;
      if (KNOWN_NOT_WORKSPACE.some((t) => t.has(name))) return;
      this.facts.push({ ...b(), kind: 'py.call', callee: name, origin: c.resolved.origin });
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
        if (fnNode) fact.fix = { kind: 'callee', range: nodeRange(fnNode), attr: kind.starter.contextAttr };
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
      const b = this.base(nodeRange(c.node), c.flags, c.scope);
      if (k.kind === 'thread' && k.starter.how === 'method' && k.starter.methods?.includes('start')) {
        this.facts.push({ ...b, kind: 'py.thread-start', api: `${k.api}.start()`, note: k.starter.note, ...this.threadExtras(c, k.api) });
      } else if (k.kind === 'process' && k.starter.how === 'method') {
        this.pushProcessFork(c, c, k, b, forks);
      } else if (k.kind === 'unknown' && /^[A-Z]/.test(k.ctor.split('.').pop() ?? '') && !this.isAssignedToBinding(c)) {
        this.facts.push({ ...b, kind: 'py.object-start', ctor: k.ctor, origin: k.origin, method: 'start' });
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
      const mine = (f: PyFactBase, r: Range | undefined) => !!r && f.fn === scope.fn && within(f.range, r);
      const rest: Range = { start: fact.range.end, end: scope.end };
      if (!test) {
        // Parent and child both run what follows.
        shared.push({ scope, range: rest });
        continue;
      }
      const childBranch = test.childWhenTrue ? test.consequence : test.alternative;
      const parentBranch = test.childWhenTrue ? test.alternative : test.consequence;
      const after: Range = { start: posOf(test.node.endPosition), end: scope.end };
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
            c.node.startIndex < (exitCall?.node.endIndex ?? 0) &&
            regions.some((r) => within(nodeRange(c.node), r)),
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
      fact.execFollows = execs.some((e) => e.fn === call.scope.fn && before(fact.range.end, e.range.start));
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
      const d = dotted(v ?? null);
      if (d) {
        const r = this.resolve(d, ctor.scope);
        out.target = { name: r.name, origin: r.origin };
      }
    }
    const fnNode = ctor.node.childForFieldName('function');
    if (fnNode && (fnNode.type === 'identifier' || fnNode.type === 'attribute')) out.ctor = { range: nodeRange(fnNode), text: fnNode.text };
    return out;
  }

  /** Monkey patches, heartbeat connections, hub drivers and native primitives. */
  private classifyHeartbeat(c: RawCall): void {
    const r = c.resolved;
    if (!r || r.origin === 'builtin') return;
    const name = r.name;
    const b = () => this.base(nodeRange(c.node), c.flags, c.scope);
    if (r.origin === 'import') {
      const patcher = PY_MONKEY_PATCHERS.get(name);
      if (patcher) {
        this.pushMonkeyPatch(c, name, patcher.lib, patcher.threads, patcher.threadKeyword, b());
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
        this.facts.push({ ...b(), kind: 'py.hb-connection', api: `${name}()`, lib: conn.lib, background: conn.background, note: conn.note });
        return;
      }
      const hub = PY_HUB_DRIVERS.get(name);
      if (hub) {
        this.facts.push({ ...b(), kind: 'py.hub-driver', api: `${name}()`, note: hub });
        return;
      }
      const prim = PY_NATIVE_PRIMITIVES.get(name);
      if (prim && !r.native) this.facts.push({ ...b(), kind: 'py.native-primitive', api: `${name}()`, what: prim });
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
    const fact: PyMonkeyPatchFact = { ...base, kind: 'py.monkey-patch', api: `${api}()`, lib, threads, firstStatement: this.firstStatementPos(), head: (c.callee ?? api).split('.')[0] };
    if (threadKeyword && threads === 'yes' && how !== 'always') {
      if (tk) {
        if (tk.type === 'true') fact.threadFix = { kind: 'replace', range: nodeRange(tk), keyword: threadKeyword };
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
        fact.stmt = { range: { start: { line: st.startPosition.row, character: 0 }, end: { line: endLine + 1, character: 0 } }, text: st.text };
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

  /** One `py.keepalive` per function: a loop that sends a heartbeat and waits, or a call that drives a connection. */
  private emitKeepAlives(): void {
    const byScope = new Map<Scope, { pings: RawCall[]; waits: RawCall[]; drives: RawCall[] }>();
    const entry = (s: Scope) => {
      let e = byScope.get(s);
      if (!e) byScope.set(s, (e = { pings: [], waits: [], drives: [] }));
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
      if (PY_HEARTBEAT_CALLS.has(last) || PY_HEARTBEAT_NAME.test(last)) entry(c.scope).pings.push(c);
      else if ((c.resolved && PY_SLEEP_CALLS.has(c.resolved.name)) || (c.method && PY_WAIT_METHODS.has(c.method) && (argsOf(c.node).positional.length > 0 || argsOf(c.node).keywords.has('timeout')))) {
        entry(c.scope).waits.push(c);
      }
    }
    const text = (c: RawCall) => `${c.node.childForFieldName('function')?.text ?? this.lastName(c)}()`;
    for (const [scope, e] of byScope) {
      let done = false;
      // Names from the table (`_heartbeat_check` → heartbeat_check) before mere look-alikes (`for_heartbeat`).
      const exact = (c: RawCall) => PY_HEARTBEAT_CALLS.has((this.lastName(c) ?? '').replace(/^_+/, ''));
      e.pings.sort((x, y) => Number(exact(y)) - Number(exact(x)));
      for (const p of e.pings) {
        for (const loop of p.loops ?? []) {
          if (!e.waits.some((w) => within(nodeRange(w.node), loop))) continue;
          this.facts.push({ ...this.base(loop, p.flags, scope), kind: 'py.keepalive', how: 'loop', call: text(p) });
          done = true;
          break;
        }
        if (done) break;
      }
      if (done || !e.drives.length) continue;
      const d = e.drives[0];
      this.facts.push({ ...this.base(d.loops?.[d.loops.length - 1] ?? nodeRange(d.node), d.flags, scope), kind: 'py.keepalive', how: 'drive', call: text(d) });
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
        ...this.base(nodeRange(call.node), call.flags, call.scope),
        kind: 'py.fd-cache',
        name: p.name,
        storage: p.storage,
        api: `${name}()`,
        what,
        lazy: p.lazy,
        rhs: call.node.text,
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
      this.facts.push({ ...this.base(nodeRange(first.node), first.flags, s), kind: 'py.fd-revalidate', names: [...names].sort() });
    }
  }
}

/** Decorators that only wrap or describe a function; the rest may register it to run later. */
const NON_REGISTERING_DECORATORS = /^(property|staticmethod|classmethod|abstractmethod|abc\.\w+|functools\.\w+|wraps|cache|lru_cache|cached_property|contextmanager|asynccontextmanager|contextlib\.\w+|overload|typing\.\w+|final|override|dataclass|dataclasses\.\w+|\w+\.(setter|getter|deleter)|unittest\.\w+|pytest\.\w+|mock\.\w+|patch|skip\w*|support\.\w+|(\w+\.)*cpython_only)$/;

function isRegisteringDecorator(decorated: Node): boolean {
  for (const d of decorated.namedChildren) {
    if (d?.type !== 'decorator') continue;
    const expr = d.namedChild(0);
    const target = expr?.type === 'call' ? expr.childForFieldName('function') : expr;
    const name = dotted(target ?? null);
    if (name && !NON_REGISTERING_DECORATORS.test(name)) return true;
  }
  return false;
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
export function extractPythonFacts(tree: Tree, text: string, _path: string): PythonFact[] {
  const ex = new Extractor(tree, text);
  ex.walk();
  ex.finish();
  return ex.facts;
}
