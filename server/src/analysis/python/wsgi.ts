/**
 * WSGI response lifetime analysis for Python (`wsgi-response-not-closed`), per file.
 *
 * PEP 3333 gives whoever holds a response iterable one duty: call its `close()` when done,
 * whether the response was fully sent or abandoned. Three shapes lose that duty:
 *
 * 1. **Double wrap** (incident 3, Bottle + uWSGI): `environ['wsgi.file_wrapper'](x)` where
 *    `x` may already be a wrapped response — typically the response of a mounted
 *    sub-application, which received the same `environ` and may have wrapped its own file,
 *    coming back into the function that wraps. The value is traced backwards inside the file:
 *    through parameters (to every call site of the function), local assignments, attribute
 *    stores (`rs.body = body`), returns of functions of the file, constructor arguments, and
 *    one dynamic hop (a call through a local object, `route.call(**args)`, may reach any
 *    function of the file that is registered as a callback and returns a sub-application's
 *    response — Bottle's `mountpoint_wrapper`).
 * 2. **Middleware** that calls `app(environ, start_response)` and then iterates, consumes,
 *    drops or replaces the inner response without calling its `close()`. Silent when the
 *    response is returned unchanged, `yield from`-ed, stored or handed to an owner, closed
 *    (any `close` reference counts: `r.close()`, `getattr(r, 'close')`, `r.close` passed on),
 *    wrapped in a class that forwards `close`, or passed to a generator of the file that
 *    closes it in `finally`.
 * 3. **Generators** that close something they own only after their loop: the server calls
 *    `close()` on the generator when the client goes away, `GeneratorExit` is raised at the
 *    `yield`, and the statement after the loop never runs.
 *
 * NOTE: shape 3 overlaps `unreleased-file` when the handle is opened inside the generator: that
 * rule already reports such an open (a read or an iteration may raise) and offers the `with`
 * rewrite, so this analysis stays silent for every handle `unreleased-file` reports and only
 * speaks for what that rule does not track — a file handed in as a parameter, an inner response,
 * a handle from a call it does not know, or an open with no raising step before the `yield`.
 */
import type { Fix } from '../../text/edits';
import type { Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  CARRYING_CALLS,
  CONSUMING_CALLS,
  ENVIRON_NAMES,
  FILE_WRAPPER_KEY,
  GENERATOR_EXIT_CATCHERS,
  NON_FORWARDING_WRAPPERS,
  START_RESPONSE_PATTERN,
  WSGI_SHAPE_TOKENS,
} from '../../knowledge/python-wsgi';
import { analyzePythonHandles } from './handles';
import { anyIn, positionsOf } from '../../text/positions';

export type WsgiIssueKind = 'double-wrap' | 'iterated' | 'dropped' | 'lost-in-wrapper' | 'close-after-loop';

export interface WsgiStep {
  range: Range;
  message: string;
}

export interface WsgiIssue {
  kind: WsgiIssueKind;
  range: Range;
  message: string;
  steps: WsgiStep[];
  fixes: Fix[];
}

/**
 * Cheap text test: without every token of at least one shape (see `WSGI_SHAPE_TOKENS`) no shape
 * below can match. The functions to look at are then chosen the same way, by the tokens inside
 * their text ranges (see `Tokens`).
 */
function mayApply(text: string): boolean {
  return QUICK_CHECK.some((all) => all.every((t) => text.includes(t)));
}

/** Whether a text holding every token of `a` holds every token of `b` (each of `b`'s is inside one of `a`'s). */
function implies(a: readonly string[], b: readonly string[]): boolean {
  return b.every((o) => a.some((t) => t.includes(o)));
}

/**
 * {@link WSGI_SHAPE_TOKENS} without the entries that imply a weaker one: a text holding
 * `environ` also holds `env`, so `[env]` alone answers for every environ name (one scan of the
 * text instead of five). Of entries that imply each other, the first stays.
 */
const QUICK_CHECK: readonly (readonly string[])[] = WSGI_SHAPE_TOKENS.filter(
  (all, i) => !WSGI_SHAPE_TOKENS.some((other, j) => j !== i && implies(all, other) && (!implies(other, all) || j < i)),
);

/** Never throws: a file the analysis cannot handle yields no findings. */
export function analyzeWsgi(tree: Tree, text: string): WsgiIssue[] {
  if (!mayApply(text)) return [];
  try {
    return new WsgiFile(tree, text).run();
  } catch {
    return [];
  }
}

/** Same as {@link analyzeWsgi} but lets errors through (tests and measurements). */
export function analyzeWsgiStrict(tree: Tree, text: string): WsgiIssue[] {
  if (!mayApply(text)) return [];
  return new WsgiFile(tree, text).run();
}

// ---- where the tokens are -------------------------------------------------------------------

/**
 * An environ name as a whole word (not inside a longer ASCII identifier; next to a non-ASCII
 * letter it still counts, which only adds candidates). One regular expression scan: much faster
 * than an `indexOf` loop per name for such short names.
 */
const ENVIRON_WORD = new RegExp(
  `(?<![A-Za-z0-9_])(?:${[...ENVIRON_NAMES]
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|')})(?![A-Za-z0-9_])`,
  'g',
);

/**
 * Token positions of a file, for selecting functions by their text range: an identifier, a
 * string or a keyword of a function's own scope lies inside the function's range, so a
 * function whose range holds none of a shape's tokens cannot show that shape (a range holding
 * one only makes the function a candidate; the checks below decide).
 */
class Tokens {
  readonly wrapKey: number[];
  readonly environ: number[];
  readonly yields: number[];
  readonly closes: number[];

  constructor(text: string) {
    this.wrapKey = positionsOf(text, FILE_WRAPPER_KEY);
    this.environ = [];
    for (const m of text.matchAll(ENVIRON_WORD)) this.environ.push(m.index);
    // Both are needed by a generator that closes after its loop.
    const closes = text.includes('yield') ? positionsOf(text, 'close') : [];
    this.yields = closes.length > 0 ? positionsOf(text, 'yield') : [];
    this.closes = this.yields.length > 0 ? closes : [];
  }
}

// ---- small tree helpers -------------------------------------------------------------------

function isField(parent: Node, field: string, child: Node): boolean {
  const f = parent.childForFieldName(field);
  return f !== null && f.id === child.id;
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < n.namedChildCount; i++) {
    const c = n.namedChild(i);
    if (c) out.push(c);
  }
  return out;
}

/** The nodes of a function's own scope the analysis asks about, each kind in document order. */
interface OwnNodes {
  calls: Node[];
  assignments: Node[];
  yields: Node[];
  /** Nested functions, lambdas and classes (their insides belong to them). */
  scopes: Node[];
  returns: Node[];
  fors: Node[];
  /** `if`, `elif`, `while` and conditional expressions. */
  conditions: Node[];
}

const OWN_TYPES = [
  'call',
  'assignment',
  'yield',
  'function_definition',
  'lambda',
  'class_definition',
  'return_statement',
  'for_statement',
  'if_statement',
  'elif_clause',
  'while_statement',
  'conditional_expression',
];

/**
 * The nodes of `fn`'s own scope (its body; nested functions, lambdas and classes are listed but
 * not entered). One search on the wasm side; the results come in document order, so the nodes
 * inside a nested scope directly follow it and start before its end.
 */
function collectOwn(fn: Node): OwnNodes {
  const own: OwnNodes = { calls: [], assignments: [], yields: [], scopes: [], returns: [], fors: [], conditions: [] };
  const body = fn.childForFieldName('body');
  if (!body) return own;
  let insideUntil = -1;
  for (const n of body.descendantsOfType(OWN_TYPES)) {
    if (!n || n.startIndex < insideUntil) continue;
    switch (n.type) {
      case 'call':
        own.calls.push(n);
        break;
      case 'assignment':
        own.assignments.push(n);
        break;
      case 'yield':
        // The keyword token has the same type name as the expression.
        if (n.isNamed) own.yields.push(n);
        break;
      case 'lambda':
      case 'function_definition':
      case 'class_definition':
        // The `lambda` keyword token has the same type name as the expression.
        if (!n.isNamed) break;
        own.scopes.push(n);
        insideUntil = n.endIndex;
        break;
      case 'return_statement':
        own.returns.push(n);
        break;
      case 'for_statement':
        own.fors.push(n);
        break;
      default:
        own.conditions.push(n);
    }
  }
  return own;
}

function enclosingFunction(n: Node): Node | null {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return p;
    if (p.type === 'lambda' || p.type === 'class_definition') return null;
  }
  return null;
}

function enclosingClass(fn: Node): Node | null {
  const p = fn.parent?.type === 'decorated_definition' ? fn.parent.parent : fn.parent;
  if (p?.type === 'block' && p.parent?.type === 'class_definition') return p.parent;
  return null;
}

function lastComponent(n: Node): string {
  if (n.type === 'identifier') return n.text;
  if (n.type === 'attribute') return n.childForFieldName('attribute')?.text ?? '';
  return '';
}

function unparen(n: Node): Node {
  let cur = n;
  while (cur.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChild(0)!;
  return cur;
}

/** Parameter names of a function, in order (`self` included). */
function parameterNames(fn: Node): string[] {
  const params = fn.childForFieldName('parameters');
  if (!params) return [];
  const out: string[] = [];
  for (const p of children(params)) {
    if (p.type === 'identifier') out.push(p.text);
    else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') out.push(p.childForFieldName('name')?.text ?? '');
    else if (p.type === 'typed_parameter') out.push(children(p).find((c) => c.type === 'identifier')?.text ?? '');
    else out.push('');
  }
  return out;
}

/** `def app(environ, start_response)` (a method's `self`/`cls` aside): a WSGI callable itself. */
function hasWsgiSignature(fn: Node): boolean {
  const params = parameterNames(fn).filter((p) => p !== 'self' && p !== 'cls');
  return params.length >= 2 && ENVIRON_NAMES.has(params[0]) && START_RESPONSE_PATTERN.test(params[1]);
}

function isMethod(fn: Node): boolean {
  return enclosingClass(fn) !== null;
}

function isStringLiteral(n: Node, value: string): boolean {
  if (n.type !== 'string') return false;
  const inner = n.text.replace(/^[rbuRBU]*(['"]{1,3})/, '').replace(/(['"]{1,3})$/, '');
  return inner === value;
}

/** The positional arguments of a call, or null when it has keywords or splats. */
function positionalArgs(call: Node): Node[] | null {
  const args = call.childForFieldName('arguments');
  if (!args || args.type !== 'argument_list') return null;
  const out = children(args).filter((c) => c.type !== 'comment');
  if (out.some((c) => c.type === 'keyword_argument' || c.type === 'list_splat' || c.type === 'dictionary_splat')) return null;
  return out;
}

function ancestorOfType(n: Node, type: string, stop: Node): Node | null {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) if (p.type === type) return p;
  return null;
}

function within(n: Node, outer: Node): boolean {
  return n.startIndex >= outer.startIndex && n.endIndex <= outer.endIndex;
}

/** The statement of `block` that contains `n`. */
function statementIn(block: Node, n: Node): Node | null {
  let cur: Node | null = n;
  while (cur && cur.parent && cur.parent.id !== block.id) cur = cur.parent;
  return cur && cur.parent?.id === block.id ? cur : null;
}

// ---- the analysis -------------------------------------------------------------------------

interface Src {
  kind: 'subapp' | 'wrap';
  node: Node;
  /** From the source towards the expression asked about. */
  steps: WsgiStep[];
}

interface Fate {
  kind: 'returned' | 'moved' | 'closed' | 'iterated' | 'consumed' | 'dropped' | 'lost' | 'wrapper-no-close' | 'generator-no-close' | 'use';
  node: Node;
  /** For `lost`: the adapter's name; for `wrapper-no-close`: the class; for `generator-no-close`: the generator's issue. */
  detail?: string;
  cls?: Node;
  argIndex?: number;
  inner?: WsgiStep[];
}

const MAX_DEPTH = 8;

const DATA_METHODS: ReadonlySet<string> = new Set(['next', '__next__', 'read', 'readline', 'readlines', 'get', 'pop', 'popleft', 'copy', 'send', 'items', 'keys', 'values', 'split', 'strip', 'encode', 'decode', 'format', 'join']);

class WsgiFile {
  private linesCache: string[] | null = null;
  private functionsCache: Node[] | null = null;
  private classesCache: Map<string, Node> | null = null;
  private byNameCache: Map<string, Node[]> | null = null;
  private handleLeaks: { start: number; end: number }[] | null = null;
  private adapters: { fn: Node; escape: Node; srcs: Src[] }[] | null = null;
  private readonly memo = new Map<string, Src[]>();
  /** Per function id: the nodes of its own scope (see {@link collectOwn}). */
  private readonly ownCache = new Map<number, OwnNodes>();
  private idsByName: Map<string, Node[]> | null = null;
  private callers: Map<number, { call: Node; caller: Node }[]> | null = null;
  private lineStarts: number[] | null = null;

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
  ) {}

  /** Every function of the file, in document order (one search of the whole tree: only asked for by the cross-function steps). */
  private get functions(): Node[] {
    if (!this.functionsCache) {
      this.functionsCache = [];
      for (const n of this.tree.rootNode.descendantsOfType('function_definition')) if (n) this.functionsCache.push(n);
      this.functionsCache.sort((a, b) => a.startIndex - b.startIndex);
    }
    return this.functionsCache;
  }

  private get lines(): string[] {
    return (this.linesCache ??= this.text.split('\n'));
  }

  /** Classes of the file by name (the last definition of a name wins). */
  private get classes(): Map<string, Node> {
    if (!this.classesCache) {
      this.classesCache = new Map();
      for (const n of this.tree.rootNode.descendantsOfType('class_definition')) if (n) this.classesCache.set(n.childForFieldName('name')?.text ?? '', n);
    }
    return this.classesCache;
  }

  /** Functions of the file by name, in document order. */
  private get byName(): Map<string, Node[]> {
    if (!this.byNameCache) {
      this.byNameCache = new Map();
      for (const n of this.functions) {
        const name = n.childForFieldName('name')?.text ?? '';
        let list = this.byNameCache.get(name);
        if (!list) this.byNameCache.set(name, (list = []));
        list.push(n);
      }
    }
    return this.byNameCache;
  }

  /** The nodes of `fn`'s own scope, cached: the analysis asks about the same functions many times. */
  private own(fn: Node): OwnNodes {
    let own = this.ownCache.get(fn.id);
    if (!own) this.ownCache.set(fn.id, (own = collectOwn(fn)));
    return own;
  }

  /** Identifiers of the whole file by name (one tree walk for the file). */
  private identifiers(name: string): Node[] {
    if (!this.idsByName) {
      this.idsByName = new Map();
      for (const id of this.tree.rootNode.descendantsOfType('identifier')) {
        if (!id) continue;
        let list = this.idsByName.get(id.text);
        if (!list) this.idsByName.set(id.text, (list = []));
        list.push(id);
      }
    }
    return this.idsByName.get(name) ?? [];
  }

  /** The calls of the file that may reach `fn` by name, with the function that makes each. */
  private callersOf(fn: Node): { call: Node; caller: Node }[] {
    if (!this.callers) {
      this.callers = new Map();
      for (const caller of this.functions) {
        for (const n of this.own(caller).calls) {
          for (const d of this.calleeDefs(n)) {
            let list = this.callers.get(d.id);
            if (!list) this.callers.set(d.id, (list = []));
            list.push({ call: n, caller });
          }
        }
      }
    }
    return this.callers.get(fn.id) ?? [];
  }

  run(): WsgiIssue[] {
    const out: WsgiIssue[] = [];
    const reported = new Set<string>();
    const push = (issue: WsgiIssue | null) => {
      if (!issue) return;
      const key = `${issue.range.start.line}:${issue.range.start.character}`;
      if (reported.has(key)) return;
      reported.add(key);
      out.push(issue);
    };
    // Only functions whose text holds a shape's tokens can show it (see `Tokens`); the others
    // are skipped without visiting their bodies.
    const tokens = new Tokens(this.text);
    for (const { fn, wrap, app, gen } of this.candidates(tokens)) {
      if (wrap || app) {
        for (const n of this.own(fn).calls) {
          const wrapped = wrap ? this.wrapArgument(n, fn) : null;
          if (wrapped) push(this.doubleWrap(n, wrapped, fn));
          // The environ argument lies inside the call.
          if (app && anyIn(tokens.environ, n.startIndex, n.endIndex) && this.isAppCall(n, fn)) push(this.middleware(n, fn));
        }
      }
      if (gen && this.isGenerator(fn)) for (const issue of this.closeAfterLoop(fn)) push(issue);
    }
    out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    return out;
  }

  /**
   * The functions whose text range holds the tokens of a shape, in document order, with the
   * shapes each may show. The functions around a position are the function definitions among
   * the ancestors of the smallest node at it, so only the token positions are looked up, not
   * every function of the file.
   */
  private candidates(tokens: Tokens): { fn: Node; wrap: boolean; app: boolean; gen: boolean }[] {
    type Candidate = { fn: Node; end: number; wrap: boolean; app: boolean; yields: boolean; gen: boolean };
    const byId = new Map<number, Candidate>();
    const root = this.tree.rootNode;
    const mark = (positions: readonly number[], flag: 'wrap' | 'app' | 'yields') => {
      for (const p of positions) {
        for (let n: Node | null = root.descendantForIndex(p); n; n = n.parent) {
          if (n.type !== 'function_definition') continue;
          let c = byId.get(n.id);
          if (!c) byId.set(n.id, (c = { fn: n, end: n.endIndex, wrap: false, app: false, yields: false, gen: false }));
          // The enclosing functions were marked by an earlier position inside this one.
          if (c[flag]) break;
          c[flag] = true;
        }
      }
    };
    mark(tokens.wrapKey, 'wrap');
    mark(tokens.environ, 'app');
    mark(tokens.yields, 'yields');
    for (const c of byId.values()) c.gen = c.yields && anyIn(tokens.closes, c.fn.startIndex, c.end);
    return [...byId.values()].filter((c) => c.wrap || c.app || c.gen).sort((a, b) => a.fn.startIndex - b.fn.startIndex);
  }

  // ---- recognisers ------------------------------------------------------------------------

  /** `X['wsgi.file_wrapper'](arg)`, `X.get('wsgi.file_wrapper')(arg)`, `fw(arg)` with `fw` bound from either. */
  private wrapArgument(call: Node, fn: Node): Node | null {
    const callee = call.childForFieldName('function');
    if (!callee) return null;
    const args = positionalArgs(call);
    const first = args?.[0] ?? children(call.childForFieldName('arguments') ?? call).find((c) => c.type !== 'keyword_argument' && c.type !== 'comment');
    if (!first) return null;
    if (this.isFileWrapperExpr(callee)) return first;
    if (callee.type === 'identifier') {
      const name = callee.text;
      for (const n of this.own(fn).assignments) {
        const left = n.childForFieldName('left');
        if (left?.type !== 'identifier' || left.text !== name) continue;
        const right = n.childForFieldName('right');
        if (right && this.isFileWrapperExpr(right)) return first;
      }
    }
    return null;
  }

  private isFileWrapperExpr(n: Node): boolean {
    const e = unparen(n);
    if (e.type === 'subscript') {
      const idx = e.childForFieldName('subscript');
      return idx !== null && isStringLiteral(idx, FILE_WRAPPER_KEY);
    }
    if (e.type === 'call') {
      const callee = e.childForFieldName('function');
      const args = children(e.childForFieldName('arguments') ?? e);
      return callee?.type === 'attribute' && lastComponent(callee) === 'get' && args.length > 0 && isStringLiteral(args[0], FILE_WRAPPER_KEY);
    }
    if (e.type === 'boolean_operator') return children(e).some((c) => this.isFileWrapperExpr(c));
    return false;
  }

  /** `app(environ, start_response)`: two positional arguments, an environ and a start_response. */
  private isAppCall(call: Node, fn: Node): boolean {
    const args = positionalArgs(call);
    if (!args || args.length !== 2) return false;
    const callee = call.childForFieldName('function');
    if (!callee || START_RESPONSE_PATTERN.test(lastComponent(callee))) return false;
    const [env, sr] = args;
    if (!(env.type === 'identifier' || env.type === 'attribute') || !ENVIRON_NAMES.has(lastComponent(env))) return false;
    if (!this.isStartResponse(sr, fn)) return false;
    // A class called like an application builds an object; it is not a response.
    return !(callee.type === 'identifier' && this.classes.has(callee.text));
  }

  private isStartResponse(sr: Node, fn: Node): boolean {
    if (sr.type === 'lambda') return true;
    if (sr.type !== 'identifier' && sr.type !== 'attribute') return false;
    if (START_RESPONSE_PATTERN.test(lastComponent(sr))) return true;
    // A start_response written as a nested function of an enclosing function.
    for (let f: Node | null = fn; f; f = enclosingFunction(f)) {
      if (this.own(f).scopes.some((n) => n.type === 'function_definition' && n.childForFieldName('name')?.text === sr.text)) return true;
    }
    return false;
  }

  private isGenerator(fn: Node): boolean {
    return this.own(fn).yields.length > 0;
  }

  private yields(fn: Node): Node[] {
    return this.own(fn).yields;
  }

  /** In-file functions a call may reach by name: `f(...)`, `self.f(...)`, `cls.f(...)`. */
  private calleeDefs(call: Node): Node[] {
    const callee = call.childForFieldName('function');
    if (!callee) return [];
    if (callee.type === 'identifier') return (this.byName.get(callee.text) ?? []).filter((f) => !isMethod(f));
    if (callee.type === 'attribute') {
      const obj = callee.childForFieldName('object');
      if (obj?.type === 'identifier' && (obj.text === 'self' || obj.text === 'cls')) {
        return (this.byName.get(lastComponent(callee)) ?? []).filter((f) => isMethod(f));
      }
    }
    return [];
  }

  private qualifiedCallee(call: Node): string {
    return (call.childForFieldName('function')?.text ?? '').replace(/\s+/g, '');
  }

  /** A call through a value the file does not define: `route.call(**args)`, `handler(req)`. */
  private isDynamicCall(call: Node, fn: Node): boolean {
    const callee = call.childForFieldName('function');
    if (!callee) return false;
    let base: Node | null = callee;
    if (callee.type === 'attribute') base = callee.childForFieldName('object');
    if (!base || base.type !== 'identifier') return false;
    // Protocol methods of iterators, files and containers return data, not handlers' results.
    if (callee.type === 'attribute' && DATA_METHODS.has(lastComponent(callee))) return false;
    const name = base.text;
    if (name === 'self' || name === 'cls') return false;
    if (callee.type === 'identifier' && /^[A-Z]/.test(name)) return false;
    // A parameter or local of the function (it shadows a module-level function of that name).
    return parameterNames(fn).includes(name) || this.isLocal(fn, name);
  }

  /** Bound in `fn` by an assignment (plain or unpacking) or a `for` target. */
  private isLocal(fn: Node, name: string): boolean {
    const own = this.own(fn);
    for (const n of [...own.assignments, ...own.fors]) {
      const target = n.childForFieldName('left');
      if (!target) continue;
      if (target.type === 'identifier' ? target.text === name : target.descendantsOfType('identifier').some((d) => d?.text === name)) return true;
    }
    return false;
  }

  // ---- value sources (double wrap) --------------------------------------------------------

  /**
   * Where the value of `expr` (in `fn`) may come from: sub-application calls and wraps, each
   * with the shortest chain found. Memoised per expression; a cycle contributes nothing.
   */
  private sources(expr: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    if (depth > MAX_DEPTH) return [];
    const e = unparen(expr);
    const key = `${fn.id}:${e.id}`;
    const memo = this.memo.get(key);
    if (memo) return memo;
    if (seen.has(key)) return [];
    seen.add(key);
    const all = this.sourcesOf(e, fn, depth, seen);
    seen.delete(key);
    const out: Src[] = [];
    for (const kind of ['wrap', 'subapp'] as const) {
      const best = all.filter((s) => s.kind === kind).sort((a, b) => a.steps.length - b.steps.length)[0];
      if (best) out.push(best);
    }
    this.memo.set(key, out);
    return out;
  }

  private sourcesOf(e: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    switch (e.type) {
      case 'await':
      case 'boolean_operator':
      case 'conditional_expression':
      case 'list':
      case 'tuple':
        return children(e).flatMap((c) => this.sources(c, fn, depth, seen));
      case 'attribute':
      case 'subscript': {
        const base = e.childForFieldName(e.type === 'attribute' ? 'object' : 'value');
        return base ? this.sources(base, fn, depth, seen) : [];
      }
      case 'identifier':
        return this.nameSources(e.text, fn, depth, seen);
      case 'call':
        return this.callSources(e, fn, depth, seen);
      default:
        return [];
    }
  }

  private nameSources(name: string, fn: Node, depth: number, seen: Set<string>): Src[] {
    const out: Src[] = [];
    const params = parameterNames(fn);
    const index = params.indexOf(name);
    if (index >= 0 && name !== 'self' && name !== 'cls') {
      const fname = fn.childForFieldName('name')?.text ?? '';
      const offset = isMethod(fn) ? 1 : 0;
      for (const { call: n, caller } of this.callersOf(fn)) {
        const args = positionalArgs(n);
        const arg = args?.[index - offset];
        if (!arg) continue;
        for (const s of this.sources(arg, caller, depth + 1, seen)) {
          out.push({ ...s, steps: [...s.steps, { range: nodeRange(n), message: `passed to ${fname}() here` }] });
        }
      }
      return out;
    }
    for (const n of this.own(fn).assignments) {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (!left || !right) continue;
      // `name = value` and `name.attr = value` (`rs.body = body`: the object now carries it).
      const target = left.type === 'attribute' ? left.childForFieldName('object') : left;
      if (target?.type !== 'identifier' || target.text !== name) continue;
      for (const s of this.sources(right, fn, depth, seen)) {
        out.push(left.type === 'attribute' ? { ...s, steps: [...s.steps, { range: nodeRange(n), message: `stored in ${left.text} here` }] } : s);
      }
    }
    return out;
  }

  private callSources(call: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    if (this.isAppCall(call, fn)) return [{ kind: 'subapp', node: call, steps: [] }];
    if (this.wrapArgument(call, fn)) return [{ kind: 'wrap', node: call, steps: [] }];
    const defs = this.calleeDefs(call);
    if (defs.length > 0) {
      const out: Src[] = [];
      for (const def of defs) {
        const name = def.childForFieldName('name')?.text ?? '';
        for (const ret of this.returnValues(def)) {
          for (const s of this.sources(ret, def, depth + 1, seen)) {
            out.push({ ...s, steps: [...s.steps, { range: nodeRange(ret.parent ?? ret), message: `returned from ${name}() here` }] });
          }
        }
      }
      return out;
    }
    const callee = call.childForFieldName('function');
    const q = this.qualifiedCallee(call);
    const args = children(call.childForFieldName('arguments') ?? call).filter((c) => c.type !== 'keyword_argument');
    // Constructors (a response object built around the body) and adapters carry their arguments.
    if ((callee?.type === 'identifier' && (this.classes.has(callee.text) || /^[A-Z]/.test(callee.text))) || CARRYING_CALLS.has(q)) {
      return args.flatMap((a) => this.sources(a, fn, depth, seen));
    }
    if (this.isDynamicCall(call, fn)) {
      const out: Src[] = [];
      for (const a of this.escapedAdapters(seen)) {
        const name = a.fn.childForFieldName('name')?.text ?? '';
        for (const s of a.srcs) {
          out.push({
            ...s,
            steps: [
              ...s.steps,
              { range: nodeRange(a.escape), message: `${name}() is registered as a callback here` },
              { range: nodeRange(call), message: 'callbacks are called here, and what they return is used as the response' },
            ],
          });
        }
      }
      return out;
    }
    return [];
  }

  private returnValues(fn: Node): Node[] {
    const out: Node[] = [];
    for (const n of this.own(fn).returns) if (n.namedChildCount > 0) out.push(n.namedChild(0)!);
    return out;
  }

  /**
   * Functions of the file that are handed out as values (`options['callback'] = f`,
   * `register(f)`, decorated) and return a sub-application's response.
   */
  private escapedAdapters(seen: Set<string>): { fn: Node; escape: Node; srcs: Src[] }[] {
    if (this.adapters) return this.adapters;
    // Computed in a phase of its own: inside it a dynamic call reaches no adapter (one hop
    // only), and what is memoised meanwhile is dropped so it cannot hide the hop later.
    this.adapters = [];
    const outer = new Map(this.memo);
    this.memo.clear();
    for (const fn of this.functions) {
      // A WSGI callable handed out (a middleware given to a server, `CGIHandler().run(app)`)
      // is called with start_response by whoever got it, not as a route callback.
      if (hasWsgiSignature(fn)) continue;
      const name = fn.childForFieldName('name')?.text ?? '';
      let escape: Node | null = null;
      if (fn.parent?.type === 'decorated_definition') escape = fn.parent.namedChild(0);
      if (!escape) {
        for (const id of this.identifiers(name)) {
          const p = id.parent;
          if (!p || (p.type === 'function_definition' && isField(p, 'name', id))) continue;
          if (p.type === 'call' && isField(p, 'function', id)) continue;
          if (p.type === 'attribute' && isField(p, 'attribute', id)) continue;
          if (p.type === 'assignment' && isField(p, 'left', id)) continue;
          escape = id;
          break;
        }
      }
      if (!escape) continue;
      const srcs: Src[] = [];
      for (const ret of this.returnValues(fn)) {
        for (const s of this.sources(ret, fn, 1, seen)) {
          if (s.kind === 'subapp') srcs.push({ ...s, steps: [...s.steps, { range: nodeRange(ret.parent ?? ret), message: `returned from ${name}() here` }] });
        }
      }
      if (srcs.length > 0) this.adapters.push({ fn, escape, srcs: srcs.slice(0, 1) });
    }
    this.memo.clear();
    for (const [k, v] of outer) this.memo.set(k, v);
    return this.adapters;
  }

  /** A condition before the wrap (or around it) that tells an already wrapped value apart. */
  private guarded(wrapCall: Node, arg: Node, fn: Node): boolean {
    const argText = unparen(arg).text;
    const mentionsArg = new RegExp(`(^|[^\\w.])${argText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
    for (const n of this.own(fn).conditions) {
      if (n.startIndex > wrapCall.startIndex) continue;
      const cond = n.type === 'conditional_expression' ? n : n.childForFieldName('condition');
      if (!cond) continue;
      // `"wsgi.file_wrapper" in environ` only asks whether the server has a wrapper at all.
      const text = cond.text.split(FILE_WRAPPER_KEY).join('');
      if (/wrap/i.test(text) && mentionsArg.test(text)) return true;
    }
    return false;
  }

  private doubleWrap(call: Node, arg: Node, fn: Node): WsgiIssue | null {
    if (this.guarded(call, arg, fn)) return null;
    const srcs = this.sources(arg, fn, 0, new Set());
    // The shortest chain of each kind is the one to show; a direct re-wrap wins.
    const shortest = (kind: Src['kind']) => srcs.filter((s) => s.kind === kind).sort((a, b) => a.steps.length - b.steps.length)[0];
    const src = shortest('wrap') ?? shortest('subapp');
    if (!src) return null;
    const wrapRange = nodeRange(call);
    const steps: WsgiStep[] = [];
    let message: string;
    if (src.kind === 'wrap') {
      steps.push({ range: nodeRange(src.node), message: `first application of ${FILE_WRAPPER_KEY} here` }, ...src.steps);
      message = `environ['${FILE_WRAPPER_KEY}'] is applied to a response that was already wrapped on line ${src.node.startPosition.row + 1}; a server wrapper may take a reference each time and the file is never closed`;
    } else {
      const appLine = src.node.startPosition.row + 1;
      // The sub-application gets the same environ: if it is built on this code, its own
      // response went through this very wrap before it came back here.
      if (this.reachableFromWsgiEntry(fn)) {
        steps.push({ range: wrapRange, message: `first application: a mounted application built on this code wraps its file response here` });
      }
      steps.push({ range: nodeRange(src.node), message: 'a sub-application is called here with the same environ; its response may already be wrapped' }, ...src.steps);
      message = `environ['${FILE_WRAPPER_KEY}'] may be applied twice: the response of the application called on line ${appLine} comes back here and may already be a wrapped file, so the file can leak (check for an already wrapped response first)`;
    }
    steps.push({ range: wrapRange, message: `${FILE_WRAPPER_KEY} applied again here` });
    const fix = this.guardFix(call, arg);
    return { kind: 'double-wrap', range: wrapRange, message, steps, fixes: fix ? [fix] : [] };
  }

  /** The function is called (directly or through functions of the file) from a WSGI callable. */
  private reachableFromWsgiEntry(fn: Node): boolean {
    const seen = new Set<number>();
    const queue = [fn];
    while (queue.length > 0) {
      const f = queue.shift()!;
      if (seen.has(f.id)) continue;
      seen.add(f.id);
      if (hasWsgiSignature(f)) return true;
      for (const { caller } of this.callersOf(f)) queue.push(caller);
    }
    return false;
  }

  /**
   * Display-only: remember the wrapped response in the (shared) environ and return a value that
   * is already it. Offered when the wrap is the value of a `return` statement alone on its line.
   */
  private guardFix(call: Node, arg: Node): Fix | null {
    const stmt = call.parent;
    if (!stmt || stmt.type !== 'return_statement' || unparen(arg).type !== 'identifier') return null;
    const callee = unparen(call.childForFieldName('function')!);
    let env: string | null = null;
    if (callee.type === 'subscript') env = callee.childForFieldName('value')?.text ?? null;
    else if (callee.type === 'call' && callee.childForFieldName('function')?.type === 'attribute') {
      env = callee.childForFieldName('function')!.childForFieldName('object')?.text ?? null;
    }
    if (!env) return null;
    const row = stmt.startPosition.row;
    const indent = /^[ \t]*/.exec(this.lines[row])![0];
    if (indent.length !== stmt.startPosition.column || stmt.endPosition.row !== row) return null;
    const value = unparen(arg).text;
    const key = '"app.file_wrapped"';
    const newText = [
      `${indent}if ${value} is ${env}.get(${key}):`,
      `${indent}    return ${value}  # already wrapped for this request`,
      `${indent}${env}[${key}] = ${call.text}`,
      `${indent}return ${env}[${key}]`,
    ].join('\n');
    return {
      title: `Guard against wrapping '${value}' twice (remember the wrapped response in ${env})`,
      applicability: 'display-only',
      edits: [{ range: { start: { line: row, character: 0 }, end: nodeRange(stmt).end }, newText }],
    };
  }

  // ---- middleware ---------------------------------------------------------------------------

  private middleware(call: Node, fn: Node): WsgiIssue | null {
    const fate = this.valueFate(call, fn, 0);
    if (!fate) return null;
    const callRange = nodeRange(call);
    const came = { range: callRange, message: 'the inner application returns its response here' };
    const callee = call.childForFieldName('function')?.text ?? 'app';
    switch (fate.kind) {
      case 'iterated':
      case 'consumed': {
        const verb = fate.kind === 'iterated' ? 'iterated' : 'consumed';
        const fix = this.closeInFinallyFix(call, fn);
        return {
          kind: 'iterated',
          range: callRange,
          message: `The response of ${callee}() is ${verb} but its close() is never called (PEP 3333 requires it, or the inner application leaks what its response holds)`,
          steps: [came, { range: nodeRange(fate.node), message: `${verb} here; nothing calls its close()` }],
          fixes: fix ? [fix] : [],
        };
      }
      case 'dropped': {
        const fix = this.closeBeforeFix(call, fate.node);
        return {
          kind: 'dropped',
          range: callRange,
          message: `The response of ${callee}() is replaced without calling its close() (PEP 3333), so what it holds leaks`,
          steps: [came, { range: nodeRange(fate.node), message: fate.node.type === 'return_statement' ? 'another response is returned here; the inner one is never closed' : 'the response is dropped here without close()' }],
          fixes: fix ? [fix] : [],
        };
      }
      case 'lost':
        return {
          kind: 'lost-in-wrapper',
          range: callRange,
          message: `The response of ${callee}() is wrapped in ${fate.detail}(), which does not forward close(), so the inner response is never closed`,
          steps: [came, { range: nodeRange(fate.node), message: `wrapped here by ${fate.detail}(); the result has no close()` }],
          fixes: [],
        };
      case 'wrapper-no-close': {
        const fix = fate.cls ? this.forwardCloseFix(fate.cls, fate.argIndex ?? 0) : null;
        return {
          kind: 'lost-in-wrapper',
          range: callRange,
          message: `The response of ${callee}() is wrapped in ${fate.detail}, which has no close() method, so the server cannot close the inner response`,
          steps: [
            came,
            { range: nodeRange(fate.node), message: `wrapped here in ${fate.detail}` },
            ...(fate.cls ? [{ range: nodeRange(fate.cls.childForFieldName('name') ?? fate.cls), message: `${fate.detail} defines no close()` }] : []),
          ],
          fixes: fix ? [fix] : [],
        };
      }
      case 'generator-no-close':
        return {
          kind: 'iterated',
          range: callRange,
          message: `The response of ${callee}() is passed to ${fate.detail}(), a generator that iterates it without calling its close()`,
          steps: [came, { range: nodeRange(fate.node), message: `passed to ${fate.detail}() here` }, ...(fate.inner ?? [])],
          fixes: [],
        };
      default:
        return null;
    }
  }

  /** What happens to the value of `expr` in `fn` (null: nothing to report). */
  private valueFate(expr: Node, fn: Node, depth: number): Fate | null {
    let cur = expr;
    for (;;) {
      const p = cur.parent;
      if (!p) return null;
      switch (p.type) {
        case 'parenthesized_expression':
        case 'await':
        case 'conditional_expression':
        case 'boolean_operator':
          cur = p;
          continue;
        case 'return_statement':
        case 'yield':
          return { kind: 'returned', node: p };
        case 'expression_statement':
          return { kind: 'dropped', node: p };
        case 'for_statement':
          return isField(p, 'right', cur) ? { kind: 'iterated', node: p.childForFieldName('right') ?? p } : null;
        case 'for_in_clause':
          return isField(p, 'right', cur) ? { kind: 'iterated', node: cur } : null;
        case 'argument_list':
          return this.argumentFate(p, cur, fn, depth);
        case 'assignment': {
          const left = p.childForFieldName('left');
          if (!isField(p, 'right', cur) || !left) return null;
          if (left.type !== 'identifier') return null; // stored in an attribute, item or unpacked
          return this.nameFate(left.text, p, fn, depth);
        }
        default:
          return null; // containers, comparisons, keyword arguments...: handed on or not a response
      }
    }
  }

  private argumentFate(args: Node, arg: Node, fn: Node, depth: number): Fate | null {
    const call = args.parent;
    if (!call || call.type !== 'call') return null;
    const callee = call.childForFieldName('function');
    if (!callee) return null;
    const q = this.qualifiedCallee(call);
    const last = lastComponent(callee);
    if (CONSUMING_CALLS.has(q) || (callee.type === 'attribute' && last === 'join')) return { kind: 'consumed', node: call };
    if (NON_FORWARDING_WRAPPERS.has(q) && !this.byName.has(q)) {
      // `iter(r)` / `next(iter(r))` peek at it; what matters is what the result becomes.
      if (q === 'iter' || q === 'enumerate' || q === 'reversed') return { kind: 'iterated', node: call };
      return { kind: 'lost', node: call, detail: q };
    }
    const index = positionalArgs(call)?.findIndex((a) => a.id === arg.id) ?? -1;
    const cls = callee.type === 'identifier' ? this.classes.get(callee.text) : undefined;
    if (cls) {
      if (this.classForwardsClose(cls)) return null;
      return { kind: 'wrapper-no-close', node: call, detail: `class ${callee.text}`, cls, argIndex: index };
    }
    const defs = this.calleeDefs(call);
    if (defs.length === 1 && index >= 0 && depth < 3 && this.isGenerator(defs[0])) {
      const def = defs[0];
      const params = parameterNames(def);
      const pname = params[index + (isMethod(def) ? 1 : 0)];
      if (!pname) return null;
      const inner = this.nameFate(pname, null, def, depth + 1);
      if (inner && (inner.kind === 'iterated' || inner.kind === 'consumed')) {
        return {
          kind: 'generator-no-close',
          node: call,
          detail: def.childForFieldName('name')?.text ?? '',
          inner: [{ range: nodeRange(inner.node), message: 'iterated here; nothing calls its close()' }],
        };
      }
      return null;
    }
    return null; // handed to something else: its owner now
  }

  /** A class whose instances forward close: it defines `close`, `__getattr__`, or has bases we cannot see. */
  private classForwardsClose(cls: Node): boolean {
    const supers = cls.childForFieldName('superclasses');
    if (supers && children(supers).some((s) => s.text !== 'object')) {
      // A base class of this file is checked too; one from elsewhere may well define close().
      return children(supers).some((s) => !this.classes.has(s.text) || this.classForwardsClose(this.classes.get(s.text)!));
    }
    const body = cls.childForFieldName('body');
    if (!body) return true;
    for (const s of children(body)) {
      const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
      if (def?.type === 'function_definition' && /^(close|__getattr__|__getattribute__)$/.test(def.childForFieldName('name')?.text ?? '')) return true;
      // `self.close = inner.close` style forwarding in the class body or __init__.
      if (/\bclose\b/.test(s.text) && /\bclose\s*=|['"]close['"]/.test(s.text)) return true;
    }
    return false;
  }

  /** Where the response bound to `name` (at `binding`, or a parameter) goes in `fn`. */
  private nameFate(name: string, binding: Node | null, fn: Node, depth: number): Fate | null {
    const after = binding ? binding.endIndex : 0;
    const occurrences: Node[] = [];
    const body = fn.childForFieldName('body');
    if (!body) return null;
    let closedInNested = false;
    for (const id of this.identifiers(name)) {
      if (!within(id, body) || id.startIndex < after) continue;
      if (enclosingFunction(id)?.id !== fn.id) {
        // Used by a nested function or lambda: a closure may well close it; do not guess.
        closedInNested = true;
        continue;
      }
      occurrences.push(id);
    }
    if (closedInNested) return null;
    let firstIteration: Fate | null = null;
    let returned = false;
    let closed = false;
    let lost: Fate | null = null;
    let moved = false;
    for (const id of occurrences) {
      const p = id.parent;
      if (p?.type === 'attribute' && isField(p, 'object', id)) {
        if (lastComponent(p) === 'close') closed = true;
        continue;
      }
      if (p?.type === 'argument_list' && p.parent?.type === 'call') {
        const q = this.qualifiedCallee(p.parent);
        const args = children(p);
        if ((q === 'getattr' || q === 'hasattr') && args[1] && isStringLiteral(args[1], 'close')) {
          if (q === 'getattr') closed = true;
          continue;
        }
        if (q === 'hasattr' || q === 'getattr' || q === 'isinstance' || q === 'len' || q === 'type' || q === 'callable' || q === 'id') continue;
      }
      if (p?.type === 'assignment' && isField(p, 'left', id)) continue; // a rebinding
      if (p?.type === 'comparison_operator' || p?.type === 'not_operator' || (p?.type === 'if_statement' && isField(p, 'condition', id))) continue;
      if (p?.type === 'boolean_operator' && p.parent?.type !== 'assignment' && p.parent?.type !== 'return_statement') continue;
      const fate = this.valueFate(id, fn, depth);
      if (fate === null) {
        moved = true; // stored or handed to an owner: theirs to close
        continue;
      }
      if (fate.kind === 'returned') {
        returned = true;
        continue;
      }
      if (fate.kind === 'iterated' || fate.kind === 'consumed') firstIteration ??= fate;
      else if (fate.kind === 'lost' || fate.kind === 'wrapper-no-close' || fate.kind === 'generator-no-close') lost ??= fate;
      else if (fate.kind === 'dropped') continue; // `r` alone as a statement, or a chained call
    }
    if (closed) return null; // closing after a loop in a generator is the close-after-loop check's
    if (lost) return lost;
    if (moved) return null;
    if (returned) {
      const replaced = binding ? this.replacingReturn(name, binding, fn) : null;
      return replaced ? { kind: 'dropped', node: replaced } : null;
    }
    if (firstIteration) return firstIteration;
    if (!binding) return null;
    return { kind: 'dropped', node: this.replacingReturn(name, binding, fn) ?? binding.parent ?? binding };
  }

  /** A `return` after the binding that returns something else (outside the handlers of a `try` around the binding). */
  private replacingReturn(name: string, binding: Node, fn: Node): Node | null {
    const tries: Node[] = [];
    for (let p = binding.parent; p && p.id !== fn.id; p = p.parent) if (p.type === 'try_statement') tries.push(p);
    const mentions = new RegExp(`\\b${name}\\b`);
    for (const n of this.own(fn).returns) {
      if (n.startIndex < binding.endIndex) continue;
      if (mentions.test(n.text)) continue;
      // A handler of a try whose body binds the name runs when the call itself failed.
      if (tries.some((t) => within(n, t) && !within(n, t.childForFieldName('body') ?? t) && !(ancestorOfType(n, 'finally_clause', t) || ancestorOfType(n, 'else_clause', t)))) continue;
      return n;
    }
    return null;
  }

  // ---- generators that close only after the loop ---------------------------------------------

  private closeAfterLoop(fn: Node): WsgiIssue[] {
    const out: WsgiIssue[] = [];
    const yields = this.yields(fn);
    if (yields.length === 0) return out;
    // `@contextmanager` / test fixtures: the code after the yield is their teardown, resumed by
    // next() (pytest) or thrown into on error (contextlib) — not a response generator.
    // Generator-based coroutines (`@gen.coroutine`, `@gen_test`, `@asyncio.coroutine`) yield
    // futures to their scheduler, which resumes them to the end: not response generators either.
    const deco = fn.parent?.type === 'decorated_definition' ? fn.parent.text.slice(0, fn.startIndex - fn.parent.startIndex) : '';
    if (/contextmanager|fixture|hookimpl|hookwrapper|coroutine|gen_test|inlineCallbacks/.test(deco)) return out;
    const closes: { call: Node; name: string }[] = [];
    const closePositions = positionsOf(this.text.slice(fn.startIndex, fn.endIndex), 'close').map((p) => p + fn.startIndex);
    for (const n of this.own(fn).calls) {
      // `x.close()`: the word lies inside the call.
      if (!anyIn(closePositions, n.startIndex, n.endIndex)) continue;
      if ((positionalArgs(n)?.length ?? 1) !== 0) continue;
      const callee = n.childForFieldName('function');
      if (callee?.type !== 'attribute' || lastComponent(callee) !== 'close') continue;
      const obj = callee.childForFieldName('object');
      if (obj?.type === 'identifier' && obj.text !== 'self') closes.push({ call: n, name: obj.text });
    }
    const done = new Set<string>();
    for (const { call, name } of closes) {
      if (done.has(name)) continue;
      const all = closes.filter((c) => c.name === name);
      if (all.some((c) => this.protectedClose(c.call, fn))) continue;
      if (this.yieldProtected(yields, name, fn)) continue;
      // Yields that can leave the generator suspended with the close still ahead: in a loop, or
      // delegating to another iterable. `yield from name` closes `name` itself on GeneratorExit.
      const before = yields.filter(
        (y) =>
          y.startIndex < call.startIndex &&
          !within(call, y) &&
          !this.yieldsFrom(y, name) &&
          (this.inLoop(y, fn) || this.yieldsFrom(y, null)),
      );
      if (before.length === 0) continue;
      // The yield must be able to run while the name holds what is closed later.
      const binding = this.bindingBefore(name, before[0], fn);
      if (binding === 'none') continue;
      if (binding !== 'param' && this.reportedByUnreleasedFile(binding)) continue;
      done.add(name);
      const isResponse = binding !== 'param' && binding.type === 'call' && this.isAppCall(binding, fn);
      const firstYield = before[0];
      const ownedRange = binding === 'param' ? nodeRange(this.paramNode(fn, name) ?? fn) : nodeRange(binding);
      const what = isResponse ? 'the inner response' : `'${name}'`;
      const fix = this.finallyFix(fn, call, name, binding);
      out.push({
        kind: 'close-after-loop',
        range: nodeRange(call),
        message: `Generator ${fn.childForFieldName('name')?.text ?? ''}() closes ${what} only after its last yield: if the response is closed early (client gone), ${name}.close() never runs`,
        steps: [
          { range: ownedRange, message: binding === 'param' ? `'${name}' is handed in here and the generator closes it` : isResponse ? 'the inner application returns its response here' : `'${name}' is obtained here` },
          { range: nodeRange(firstYield), message: 'close() on the generator raises GeneratorExit here and skips the rest' },
          { range: nodeRange(call), message: 'closed only here, after full iteration' },
        ],
        fixes: fix ? [fix] : [],
      });
    }
    return out;
  }

  /** `yield from <name>` (any iterable when `name` is null). */
  private yieldsFrom(y: Node, name: string | null): boolean {
    if (!/^yield\s+from\b/.test(y.text)) return false;
    if (name === null) return true;
    const value = y.namedChild(y.namedChildCount - 1);
    return value !== null && unparen(value).text === name;
  }

  private inLoop(n: Node, fn: Node): boolean {
    for (let p = n.parent; p && p.id !== fn.id; p = p.parent) if (p.type === 'for_statement' || p.type === 'while_statement') return true;
    return false;
  }

  private paramNode(fn: Node, name: string): Node | null {
    const params = fn.childForFieldName('parameters');
    if (!params) return null;
    for (const p of children(params)) {
      if (p.text === name) return p;
      const n = p.childForFieldName('name') ?? children(p).find((c) => c.type === 'identifier');
      if (n?.text === name) return n;
    }
    return null;
  }

  /** What `name` holds at `use`: a parameter, the right side of its last assignment before it, or nothing known. */
  private bindingBefore(name: string, use: Node, fn: Node): Node | 'param' | 'none' {
    let best: Node | null = null;
    for (const n of this.own(fn).assignments) {
      if (n.startIndex > use.startIndex) continue;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'identifier' && left.text === name && right) best = right;
    }
    if (best) {
      const b = unparen(best as Node);
      // `f = None` placeholders hold nothing to close.
      if (b.type === 'none' || b.type === 'string' || b.type === 'integer') return 'none';
      return b;
    }
    if (parameterNames(fn).includes(name)) return 'param';
    return 'none';
  }

  /** A close inside `finally`, inside an `except` that sees `GeneratorExit`, or in a `with` exit. */
  private protectedClose(call: Node, fn: Node): boolean {
    for (let p = call.parent; p && p.id !== fn.id; p = p.parent) {
      if (p.type === 'finally_clause') return true;
      if (p.type === 'except_clause') {
        const header = p.text.slice(0, p.text.indexOf(':'));
        if (/^except\s*$/.test(header) || [...GENERATOR_EXIT_CATCHERS].some((e) => header.includes(e))) return true;
      }
      if (p.type === 'lambda' || p.type === 'function_definition') return true;
    }
    return false;
  }

  /** Every yield runs inside `with name` / `with closing(name)` or a `try` whose finally closes it. */
  private yieldProtected(yields: Node[], name: string, fn: Node): boolean {
    return yields.every((y) => {
      for (let p = y.parent; p && p.id !== fn.id; p = p.parent) {
        if (p.type === 'with_statement') {
          const items = p.text.slice(0, p.text.indexOf(':'));
          if (new RegExp(`\\b${name}\\b`).test(items)) return true;
        }
        if (p.type === 'try_statement') {
          for (const c of children(p)) if (c.type === 'finally_clause' && new RegExp(`\\b${name}\\s*\\.\\s*close\\b`).test(c.text)) return true;
        }
      }
      return false;
    });
  }

  /** Offset of a line and character, counting each line of `text.split('\\n')` plus one. */
  private offsetOf(line: number, character: number): number {
    if (!this.lineStarts) {
      const starts = [0];
      for (const l of this.lines) starts.push(starts[starts.length - 1] + l.length + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts[Math.min(Math.max(line, 0), this.lines.length)] + character;
  }

  private reportedByUnreleasedFile(binding: Node): boolean {
    this.handleLeaks ??= analyzePythonHandles(this.tree, this.text).map((l) => ({
      start: this.offsetOf(l.openRange.start.line, l.openRange.start.character),
      end: this.offsetOf(l.openRange.end.line, l.openRange.end.character),
    }));
    const s = this.offsetOf(binding.startPosition.row, binding.startPosition.column);
    const e = this.offsetOf(binding.endPosition.row, binding.endPosition.column);
    return this.handleLeaks.some((l) => l.start >= s && l.end <= e);
  }

  // ---- fixes ----------------------------------------------------------------------------------

  private indentUnit(block: Node): string | null {
    const header = block.parent;
    if (!header) return null;
    const base = /^[ \t]*/.exec(this.lines[block.startPosition.row])![0];
    const headerIndent = /^[ \t]*/.exec(this.lines[header.startPosition.row])![0];
    if (!base.startsWith(headerIndent) || base.length <= headerIndent.length) return null;
    const unit = base.slice(headerIndent.length);
    return /^( +|\t+)$/.test(unit) ? unit : null;
  }

  /** Rows `from..to` can be indented without changing a string's content. */
  private indentable(block: Node, fromRow: number, toRow: number): boolean {
    for (const s of block.descendantsOfType('string')) {
      if (!s || s.startPosition.row === s.endPosition.row) continue;
      if (s.endPosition.row > fromRow && s.startPosition.row < toRow + 1) return false;
    }
    return true;
  }

  private indentRows(fromRow: number, toRow: number, unit: string): string[] {
    const out: string[] = [];
    for (let r = fromRow; r <= toRow; r++) {
      const line = this.lines[r].replace(/\r$/, '');
      out.push(line.trim() === '' ? '' : unit + line);
    }
    return out;
  }

  /**
   * Safe: move the existing close into a `finally` around the statements from the binding (or
   * the start of the block) up to it. The close runs as before on full iteration, and also when
   * the generator is closed early or fails.
   */
  private finallyFix(fn: Node, close: Node, name: string, binding: Node | 'param'): Fix | null {
    // The block where the close follows the statement that yields (the loop).
    let block: Node | null = null;
    let closeStmt: Node | null = null;
    for (let b = close.parent; b && b.id !== fn.id; b = b.parent) {
      if (b.type !== 'block') continue;
      const st = statementIn(b, close);
      if (st && children(b).some((c) => c.startIndex < st.startIndex && c.descendantsOfType('yield').some((y) => y && enclosingFunction(y)?.id === fn.id))) {
        block = b;
        closeStmt = st;
        break;
      }
    }
    if (!block || !closeStmt || !this.onlyCloses(closeStmt, close, name)) return null;
    const stmts = children(block).filter((c) => c.type !== 'comment');
    const ci = stmts.findIndex((s) => s.id === closeStmt.id);
    if (ci <= 0) return null;
    let start = 0;
    if (binding !== 'param') {
      const bstmt = statementIn(block, binding);
      if (bstmt) start = stmts.findIndex((s) => s.id === bstmt.id) + 1;
      else if (!(block.parent?.id === fn.id)) return null;
    }
    if (block.parent?.id === fn.id && start === 0 && stmts[0]?.type === 'expression_statement' && stmts[0].namedChild(0)?.type === 'string') start = 1;
    if (start >= ci) return null;
    const first = stmts[start];
    const prev = stmts[ci - 1];
    if (prev.endPosition.row >= closeStmt.startPosition.row) return null;
    const indent = /^[ \t]*/.exec(this.lines[first.startPosition.row])![0];
    if (indent.length !== first.startPosition.column || indent.length !== closeStmt.startPosition.column) return null;
    const unit = this.indentUnit(block);
    if (!unit || !this.indentable(block, first.startPosition.row, closeStmt.endPosition.row)) return null;
    const bodyRows = this.indentRows(first.startPosition.row, prev.endPosition.row, unit);
    // Comments between the loop and the close belong to the close: they move into the finally.
    const between = this.indentRows(prev.endPosition.row + 1, closeStmt.startPosition.row - 1, unit).filter((r) => r !== '');
    const closeRows = [...between, ...this.indentRows(closeStmt.startPosition.row, closeStmt.endPosition.row, unit)];
    const newText = [`${indent}try:`, ...bodyRows, `${indent}finally:`, ...closeRows].join('\n');
    return {
      title: `Close '${name}' in a finally block, so it is also closed when the generator is closed early`,
      applicability: 'safe',
      edits: [{ range: { start: { line: first.startPosition.row, character: 0 }, end: nodeRange(closeStmt).end }, newText }],
    };
  }

  /** `x.close()`, or `if hasattr(x, "close"): x.close()` / `if x is not None: x.close()` without else. */
  private onlyCloses(stmt: Node, close: Node, name: string): boolean {
    if (stmt.type === 'expression_statement') return stmt.text === close.text;
    if (stmt.type !== 'if_statement' || children(stmt).some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) return false;
    const cond = stmt.childForFieldName('condition');
    const body = stmt.childForFieldName('consequence');
    if (!cond || !body || !new RegExp(`\\b${name}\\b`).test(cond.text)) return false;
    const inner = children(body).filter((c) => c.type !== 'comment');
    return inner.length === 1 && inner[0].text === close.text;
  }

  /** Unsafe: call the response's close() in a finally around what follows its binding. */
  private closeInFinallyFix(call: Node, fn: Node): Fix | null {
    const assign = call.parent;
    if (assign?.type !== 'assignment') return null;
    const left = assign.childForFieldName('left');
    const stmt = assign.parent;
    if (left?.type !== 'identifier' || stmt?.type !== 'expression_statement') return null;
    const block = stmt.parent;
    if (block?.type !== 'block' || block.parent?.id !== fn.id) return null;
    const stmts = children(block).filter((c) => c.type !== 'comment');
    const i = stmts.findIndex((s) => s.id === stmt.id);
    if (i < 0 || i === stmts.length - 1) return null;
    const first = stmts[i + 1];
    const last = stmts[stmts.length - 1];
    if (first.startPosition.row <= stmt.endPosition.row) return null;
    const indent = /^[ \t]*/.exec(this.lines[first.startPosition.row])![0];
    const unit = this.indentUnit(block);
    if (!unit || indent.length !== first.startPosition.column) return null;
    if (!this.indentable(block, first.startPosition.row, last.endPosition.row)) return null;
    const name = left.text;
    const rows = this.indentRows(first.startPosition.row, last.endPosition.row, unit);
    const newText = [
      `${indent}try:`,
      ...rows,
      `${indent}finally:`,
      `${indent}${unit}if hasattr(${name}, "close"):`,
      `${indent}${unit}${unit}${name}.close()`,
    ].join('\n');
    return {
      title: `Call ${name}.close() in a finally block (PEP 3333)`,
      applicability: 'unsafe',
      edits: [{ range: { start: { line: first.startPosition.row, character: 0 }, end: nodeRange(last).end }, newText }],
    };
  }

  /** Unsafe: close the inner response before the return that replaces it. */
  private closeBeforeFix(call: Node, ret: Node): Fix | null {
    const assign = call.parent;
    const left = assign?.type === 'assignment' ? assign.childForFieldName('left') : null;
    if (left?.type !== 'identifier' || ret.type !== 'return_statement') return null;
    const row = ret.startPosition.row;
    const indent = /^[ \t]*/.exec(this.lines[row])![0];
    if (indent.length !== ret.startPosition.column) return null;
    const block = ret.parent;
    const unit = block?.type === 'block' ? this.indentUnit(block) : null;
    if (!unit) return null;
    const name = left.text;
    return {
      title: `Call ${name}.close() before returning another response`,
      applicability: 'unsafe',
      edits: [{ range: { start: { line: row, character: 0 }, end: { line: row, character: 0 } }, newText: `${indent}if hasattr(${name}, "close"):\n${indent}${unit}${name}.close()\n` }],
    };
  }

  /** Unsafe: give a wrapper class a close() that forwards to the wrapped response. */
  private forwardCloseFix(cls: Node, argIndex: number): Fix | null {
    const body = cls.childForFieldName('body');
    if (!body || argIndex < 0) return null;
    const init = children(body)
      .map((s) => (s.type === 'decorated_definition' ? s.childForFieldName('definition') : s))
      .find((d) => d?.type === 'function_definition' && d.childForFieldName('name')?.text === '__init__');
    if (!init) return null;
    const pname = parameterNames(init)[argIndex + 1];
    if (!pname) return null;
    let attr: string | null = null;
    for (const n of this.own(init).assignments) {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'attribute' && left.childForFieldName('object')?.text === 'self' && right?.type === 'identifier' && right.text === pname) {
        attr = lastComponent(left);
        if (attr) break;
      }
    }
    if (!attr) return null;
    const unit = this.indentUnit(body);
    const indent = /^[ \t]*/.exec(this.lines[body.startPosition.row])![0];
    if (!unit) return null;
    const end = nodeRange(body).end;
    const newText = `\n\n${indent}def close(self):\n${indent}${unit}if hasattr(self.${attr}, "close"):\n${indent}${unit}${unit}self.${attr}.close()`;
    return {
      title: `Add close() to ${cls.childForFieldName('name')?.text ?? 'the wrapper'}, forwarding to the wrapped response`,
      applicability: 'unsafe',
      edits: [{ range: { start: end, end }, newText }],
    };
  }
}
