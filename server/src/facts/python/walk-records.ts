/**
 * The records the Python fact walk collects (scopes, calls, `if`s that test a fork's pid,
 * pending bindings and caches) and the few look-ups every later phase shares: resolving a
 * name in a scope, the fact base of a record, the receiver binding in force at a call.
 */
import type { Position, Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import type { PyClassFact, PyFactBase, PyFunctionFact, PyModuleFact, PyNameOrigin, PythonFact } from './fact-types';
import type { PySourceText } from './source-text';
import { PYTHON_BUILTIN_NAMES } from '../../knowledge/python-builtins';

export interface Scope {
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
  /** In a function: module globals it rebinds to another name (`global threading; threading = stdlib_threading`). */
  globalAliases?: Map<string, string>;
  /**
   * At module level: imported names that some function rebinds to an unpatched original
   * (`threading` → `threading`): the module means them native, so they resolve as originals
   * before the import.
   */
  rebindsToOriginal?: Map<string, string>;
  /** Import bindings made in this scope (function-level imports). */
  imports?: Map<string, string>;
  /** At module level: the module star-imports another (`from pkg import *`), which may bind any name. */
  starImports?: boolean;
  /** For classes: the class's fact (class-body attributes that name a class are added to it). */
  classFact?: PyClassFact;
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

export interface LoopCtx {
  node: Node;
  range: Range;
  variable: string;
  blanket: boolean;
  keep: boolean;
  /** The conditions on the loop variable that make `keep` (`fd not in keep_fds`). */
  keepGuards?: Node[];
  reported: boolean;
}

export interface RawCall {
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

export interface Flags {
  main?: boolean;
  cond?: boolean;
  typeOnly?: boolean;
  /** Inside an `except` clause: runs only when the `try` body failed. */
  handler?: boolean;
}

export interface Resolved {
  name: string;
  origin: PyNameOrigin;
  /** Reached through an unpatched original (`eventlet.patcher.original('threading')`). */
  native?: boolean;
}

export interface IfRecord {
  node: Node;
  end: number;
  scope: Scope;
  subject: { name: string } | { call: number };
  childWhenTrue: boolean;
  consequence: Range;
  alternative?: Range;
}

export interface PendingCache {
  callId: number;
  name: string;
  storage: 'module' | 'class' | 'global';
  lazy: boolean;
  topStatementEnd: Position;
}

/** An assignment target: its node, or (read from the text) its name. */
export interface Target {
  node?: Node;
  type: string;
  text?: string;
}

/** What the walk hands to the phases that classify its records into facts. */
export interface CollectedRecords {
  /** The facts so far (the walk's own: module, imports, functions, classes, method aliases). */
  readonly facts: PythonFact[];
  readonly calls: readonly RawCall[];
  /** Call node id → index in `calls`. */
  readonly callIndex: ReadonlyMap<number, number>;
  readonly ifs: readonly IfRecord[];
  /** `if` statements whose condition may test a value's kind (`inspect.isgenerator(x)`). */
  readonly kindTests: readonly { node: Node; scope: Scope }[];
  /** Where each function and class scope's definition starts and ends (offsets). */
  readonly scopeSpans: readonly { scope: Scope; start: number; end: number }[];
  /** Definitions the walk skipped (`incremental.ts`): their facts come from an earlier extraction. */
  readonly skippedDefinitions: readonly { start: number; end: number }[];
  /** `if` statements with `elif`/`else` branches in functions, outside loops: one run takes one branch. */
  readonly branchChains: readonly { node: Node; scope: Scope }[];
  /** `if` statements whose condition may test a flag (`if daemon:`, `if not self._daemon:`). */
  readonly flagTests: readonly { node: Node; scope: Scope }[];
  /** Close-one calls on the variable of a loop over a descriptor range. */
  readonly loopCloses: readonly { call: RawCall; loop: LoopCtx }[];
  readonly scopes: readonly Scope[];
  readonly moduleFact: PyModuleFact;
  /** Calls used as `with` items: their objects are shut down when the block ends. */
  readonly withCalls: ReadonlySet<number>;
  /** Calls whose value a function returns (`return Cls(...)`). */
  readonly returnedCalls: ReadonlySet<number>;
  /** `return self.attr` in methods (lazy properties that hand out what they stored). */
  readonly returnedSelfAttributes: readonly { scope: Scope; attr: string; base: PyFactBase }[];
  readonly returnedNames: readonly { scope: Scope; name: string; at: number; base: PyFactBase }[];
  readonly pendingBindings: readonly { scope: Scope; key: string; callId: number }[];
  readonly pendingBases: readonly { fact: PyClassFact; scope: Scope; raw: string[] }[];
  readonly pendingClassAttributes: readonly { fact: PyClassFact; scope: Scope; name: string; raw: string }[];
  readonly pendingCaches: readonly PendingCache[];
}

export function factBase(range: Range, flags: Flags, scope: Scope): PyFactBase {
  const b: PyFactBase = { range, enclosingFunction: scope.fn };
  if (flags.main) b.underMainGuard = true;
  if (flags.cond) b.conditional = true;
  return b;
}

/**
 * A fact made of a base and its own fields, in that key order (`{ ...base, ...own }`). Built
 * with `Object.assign` on a fresh object: on the busiest fact sites (a call, a function, a
 * reference) V8 makes the spread of a base followed by more fields tens of times slower.
 */
export function withBase<T extends object>(base: PyFactBase, own: T): PyFactBase & T {
  return Object.assign({}, base, own);
}

/** The fact base of a call (computed for calls that become facts only). */
export function callBase(c: RawCall, t: PySourceText): PyFactBase {
  return (c.base ??= factBase(t.rangeOf(c.node, c.end), c.flags, c.scope));
}

/** Resolves a dotted name used in `scope` against imports and definitions of this file. */
export function resolve(raw: string, scope: Scope): Resolved {
  const dot = raw.indexOf('.');
  const first = dot < 0 ? raw : raw.slice(0, dot);
  const rest = dot < 0 ? '' : raw.slice(dot);
  if ((first === 'self' || first === 'cls') && scope.cls) return { name: scope.cls + rest, origin: 'local' };
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (s.kind === 'class' && s !== scope) continue; // class bodies do not enclose methods' names
    const rebound = s.rebindsToOriginal?.get(first);
    if (rebound !== undefined) return { name: rebound + rest, origin: 'import', native: true };
    const imp = s.imports?.get(first);
    if (imp !== undefined) return { name: imp + rest, origin: 'import' };
    if (s.defs.has(first)) return { name: (s.name ? `${s.name}.${first}` : first) + rest, origin: 'local' };
    const orig = s.originals?.get(first);
    if (orig !== undefined) return { name: orig + rest, origin: 'import', native: true };
  }
  return { name: raw, origin: 'builtin' };
}

/**
 * {@link resolve} for the name a call calls. A name bound nowhere is a builtin, except in a
 * module that star-imports another: there a plain name (no dots) may be one the star brings
 * (`from relay import *` then `spawn_child(job)`), and it stays a name of this module, which
 * the program model looks up along the module's star imports as Python does — unless it is a
 * builtin's name, a parameter of a function around the call, or a name such a function binds
 * to a call's result. (A dotted name, `fh.close`, is mostly a local variable's method.)
 */
export function resolveCallee(raw: string, scope: Scope): Resolved {
  const r = resolve(raw, scope);
  if (r.origin !== 'builtin' || raw.includes('.') || PYTHON_BUILTIN_NAMES.has(raw) || !moduleScopeOf(scope).starImports || boundInFunctions(raw, scope)) return r;
  return { name: raw, origin: 'local' };
}

function moduleScopeOf(scope: Scope): Scope {
  let s = scope;
  while (s.parent) s = s.parent;
  return s;
}

/** Whether a function around `scope` (or `scope` itself) has a parameter named `name` or assigns `name` a call's result. */
function boundInFunctions(name: string, scope: Scope): boolean {
  // (A parameter list that mentions the name anywhere, a default or an annotation, counts too.)
  const mention = new RegExp(`(?:^|[^\\w.])${name}\\b`);
  for (let s: Scope | undefined = scope; s && s.kind !== 'module'; s = s.parent) {
    if (s.kind !== 'function') continue;
    if (s.bindings.has(name)) return true;
    const parameters = s.defNode?.childForFieldName('parameters')?.text;
    if (parameters && mention.test(parameters)) return true;
  }
  return false;
}

export function classScope(scope: Scope): Scope | undefined {
  let s: Scope | undefined = scope;
  while (s && s.kind !== 'class') s = s.parent;
  return s;
}

/** The last binding made before `pos`, else the last one. */
export function pickBinding(list: RawCall[] | undefined, pos: number): RawCall | undefined {
  if (!list?.length) return undefined;
  let best: RawCall | undefined;
  for (const b of list) if (b.node.startIndex < pos) best = b;
  return best ?? list[list.length - 1];
}
