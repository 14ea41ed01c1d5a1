/**
 * Builds a statement-level control-flow graph ({@link FlowGraph}) for one Python scope: a
 * function body, a class body or the module's top level. Nested functions and classes are one
 * node each (their bodies are separate scopes).
 *
 * Modelled: if/elif/else, while/for (+else, `while True`), break/continue, return, raise,
 * try/except/else/finally, with, match, `sys.exit()`-like calls. A statement that may raise
 * (see {@link mayRaise}) gets `exceptional` edges to the handlers of the innermost `try`, or to
 * the copy of its `finally` block that re-raises, or to the scope's `raise` exit. A `finally`
 * block is built once per way it is entered (normal, raise, return, break, continue), so a path
 * that enters it by `return` leaves it by `return`.
 */
import { FlowGraph, type FlowNode } from '../flow';
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import { BROAD_EXCEPTIONS, NON_RAISING_FUNCTIONS, NON_RAISING_METHODS, PROCESS_EXIT_CALLS } from '../../knowledge/python-handles';
import type { PyNames } from '../../facts/python/names';

export interface PyPayload {
  /** `stmt`: a simple statement; `header`: the head of a compound statement; `def`: a nested definition; `join`: synthetic. */
  kind: 'stmt' | 'header' | 'def' | 'join' | 'entry';
  /** The statement (or clause) this node stands for. */
  stmt: Node;
  /** Subtrees whose names belong to this node (the condition of an `if`, the whole of a simple statement, ...). */
  roots: Node[];
  /** Names bound by a nested `def`/`class`. */
  binds?: string[];
}

export type PyNode = FlowNode<PyPayload>;

interface Jump {
  node: PyNode;
  nullVars?: string[];
}

interface Ctx {
  raise(from: Jump): void;
  ret(from: Jump): void;
  brk(from: Jump): void;
  cont(from: Jump): void;
}

/** Handles known not to be held when a flag is true / false. */
export interface FlagGuard {
  whenTrue: string[];
  whenFalse: string[];
}

export interface ScopeGraph {
  graph: FlowGraph<PyPayload>;
  entry: PyNode;
  /** For each split statement (a tracked open), the synthetic node right after it, one per copy. */
  afterStatement: Map<number, PyNode[]>;
  /** Where falling off the end of the scope is reported. */
  endRange: Range;
  /** The scope was too large to model (the node budget ran out): analyse nothing in it. */
  truncated: boolean;
}

/** Statement node types whose evaluation can raise (calls, subscripts, awaits, ...). */
// NOTE: imports are left out: a failing import is an installation problem, not a path to handle.
const RAISING_TYPES = ['call', 'subscript', 'await', 'raise_statement', 'assert_statement'];

/** Beyond this many nodes a scope is given up (generated code, pathological nesting). */
const NODE_BUDGET = 20000;

class BudgetExceeded extends Error {}

export interface BuildOptions {
  names: PyNames;
  /** Statements (by node id) that open a tracked handle: they get a synthetic successor. */
  splitStatements: ReadonlySet<number>;
  /** Names of handles tracked in this scope: iterating them (`for line in f:`) may raise. */
  trackedNames: ReadonlySet<string>;
  /**
   * Boolean flags that say whether a handle is open: `close_source = True` right after the
   * open (where the flag is false the handle was never opened), or `closed = False` after the
   * open and `closed = True` after each release (where the flag is true it was released).
   * Also keyed by a condition's text: the condition of `open(p) if <cond> else sys.stdin`.
   */
  flagGuards?: ReadonlyMap<string, FlagGuard>;
}

/** Builds the graph of `scope` (a `function_definition`, `class_definition` or `module`). */
export function buildScopeGraph(scope: Node, text: string, options: BuildOptions): ScopeGraph {
  const builder = new Builder(text, options);
  return builder.build(scope);
}

class Builder {
  private readonly graph = new FlowGraph<PyPayload>();
  private readonly afterStatement = new Map<number, PyNode[]>();
  private returnExit!: PyNode;
  private raiseExit!: PyNode;
  private processExit!: PyNode;
  private inCleanup = false;

  constructor(
    private readonly text: string,
    private readonly options: BuildOptions,
  ) {}

  build(scope: Node): ScopeGraph {
    const body = scope.type === 'module' ? scope : scope.childForFieldName('body');
    const entry = this.graph.add(null, { kind: 'entry', stmt: scope, roots: [] });
    const endRange = this.endRangeOf(body ?? scope);
    this.returnExit = this.graph.add(null, undefined, 'return');
    this.raiseExit = this.graph.add(null, undefined, 'raise');
    this.processExit = this.graph.add(null, undefined, 'process-exit');
    const endExit = this.graph.add(endRange, undefined, 'end');
    const ctx: Ctx = {
      raise: (j) => this.edge(j, this.raiseExit, true),
      ret: (j) => this.edge(j, this.returnExit),
      brk: () => undefined,
      cont: () => undefined,
    };
    let truncated = false;
    try {
      const end = body ? this.block(statementsOf(body), [{ node: entry }], ctx) : [{ node: entry }];
      for (const j of end) this.edge(j, endExit);
    } catch (err) {
      if (!(err instanceof BudgetExceeded)) throw err;
      truncated = true;
    }
    return { graph: this.graph, entry, afterStatement: this.afterStatement, endRange, truncated };
  }

  /** The last line of the scope's body, from its first non-blank character. */
  private endRangeOf(body: Node): Range {
    const end = body.endPosition;
    const lineStart = this.text.lastIndexOf('\n', body.endIndex - 1) + 1;
    let col = 0;
    while (lineStart + col < body.endIndex && (this.text[lineStart + col] === ' ' || this.text[lineStart + col] === '\t')) col++;
    return { start: { line: end.row, character: Math.min(col, end.column) }, end: { line: end.row, character: end.column } };
  }

  private add(range: Range | null, payload: PyPayload): PyNode {
    if (this.graph.nodes.length > NODE_BUDGET) throw new BudgetExceeded();
    return this.graph.add(range, payload);
  }

  private edge(from: Jump, to: PyNode, exceptional = false): void {
    const options: { exceptional?: boolean; nullVars?: string[] } = {};
    if (exceptional) options.exceptional = true;
    if (from.nullVars && from.nullVars.length > 0) options.nullVars = from.nullVars;
    this.graph.edge(from.node, to, options);
  }

  private connect(pending: Jump[], to: PyNode): void {
    for (const j of pending) this.edge(j, to);
  }

  private block(stmts: Node[], pending: Jump[], ctx: Ctx): Jump[] {
    for (const s of stmts) pending = this.statement(s, pending, ctx);
    return pending;
  }

  private statement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    switch (s.type) {
      case 'if_statement':
        return this.ifStatement(s, pending, ctx);
      case 'while_statement':
        return this.whileStatement(s, pending, ctx);
      case 'for_statement':
        return this.forStatement(s, pending, ctx);
      case 'try_statement':
        return this.tryStatement(s, pending, ctx);
      case 'with_statement':
        return this.withStatement(s, pending, ctx);
      case 'match_statement':
        return this.matchStatement(s, pending, ctx);
      case 'function_definition':
      case 'class_definition':
      case 'decorated_definition':
        return this.definition(s, pending, ctx);
      case 'return_statement': {
        const node = this.simpleNode(s, pending, ctx);
        ctx.ret({ node });
        return [];
      }
      case 'raise_statement': {
        const node = this.add(nodeRange(s), { kind: 'stmt', stmt: s, roots: [s] });
        this.connect(pending, node);
        if (/^raise\s+SystemExit\b/.test(s.text)) this.graph.edge(node, this.processExit);
        else ctx.raise({ node });
        return [];
      }
      case 'break_statement': {
        const node = this.simpleNode(s, pending, ctx);
        ctx.brk({ node });
        return [];
      }
      case 'continue_statement': {
        const node = this.simpleNode(s, pending, ctx);
        ctx.cont({ node });
        return [];
      }
      default: {
        if (this.isProcessExit(s)) {
          const node = this.add(nodeRange(s), { kind: 'stmt', stmt: s, roots: [s] });
          this.connect(pending, node);
          this.graph.edge(node, this.processExit);
          return [];
        }
        const node = this.simpleNode(s, pending, ctx);
        if (this.options.splitStatements.has(s.id)) {
          const after = this.add(null, { kind: 'join', stmt: s, roots: [] });
          this.graph.edge(node, after);
          let list = this.afterStatement.get(s.id);
          if (!list) this.afterStatement.set(s.id, (list = []));
          list.push(after);
          return [{ node: after }];
        }
        return [{ node }];
      }
    }
  }

  private simpleNode(s: Node, pending: Jump[], ctx: Ctx): PyNode {
    const node = this.add(nodeRange(s), { kind: 'stmt', stmt: s, roots: [s] });
    this.connect(pending, node);
    if (this.mayRaise([s])) ctx.raise({ node });
    return node;
  }

  private isProcessExit(s: Node): boolean {
    if (s.type !== 'expression_statement') return false;
    const call = s.namedChild(0);
    if (!call || call.type !== 'call') return false;
    const fn = call.childForFieldName('function');
    const q = fn ? this.options.names.qualify(fn) : null;
    return q !== null && PROCESS_EXIT_CALLS.has(q);
  }

  /** A header node for a compound statement, covering `stmt` from its start to the end of `roots`. */
  private header(stmt: Node, roots: Node[], pending: Jump[], ctx: Ctx, raises?: boolean): PyNode {
    const last = roots.length > 0 ? roots[roots.length - 1] : stmt;
    const range: Range = {
      start: { line: stmt.startPosition.row, character: stmt.startPosition.column },
      end: { line: last.endPosition.row, character: last.endPosition.column },
    };
    const node = this.add(range, { kind: 'header', stmt, roots });
    this.connect(pending, node);
    if (raises ?? this.mayRaise(roots)) ctx.raise({ node });
    return node;
  }

  private ifStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const cond = s.childForFieldName('condition');
    const head = this.header(s, cond ? [cond] : [], pending, ctx);
    const guard = cond ? nullGuard(cond, this.options.flagGuards) : EMPTY_GUARD;
    const consequence = s.childForFieldName('consequence');
    const out = consequence ? this.block(statementsOf(consequence), [jump(head, guard.whenTrue)], ctx) : [jump(head, guard.whenTrue)];
    let otherwise: Jump[] = [jump(head, guard.whenFalse)];
    for (const alt of s.childrenForFieldName('alternative')) {
      if (!alt) continue;
      if (alt.type === 'elif_clause') {
        const c = alt.childForFieldName('condition');
        const elifHead = this.header(alt, c ? [c] : [], otherwise, ctx);
        const g = c ? nullGuard(c, this.options.flagGuards) : EMPTY_GUARD;
        const body = alt.childForFieldName('consequence');
        out.push(...(body ? this.block(statementsOf(body), [jump(elifHead, g.whenTrue)], ctx) : [jump(elifHead, g.whenTrue)]));
        otherwise = [jump(elifHead, g.whenFalse)];
      } else if (alt.type === 'else_clause') {
        const body = alt.childForFieldName('body');
        otherwise = body ? this.block(statementsOf(body), otherwise, ctx) : otherwise;
      }
    }
    out.push(...otherwise);
    return out;
  }

  private loop(s: Node, head: PyNode, bodyStart: Jump[], exitJumps: Jump[], ctx: Ctx): Jump[] {
    const breaks: Jump[] = [];
    const loopCtx: Ctx = {
      raise: ctx.raise,
      ret: ctx.ret,
      brk: (j) => breaks.push(j),
      cont: (j) => this.edge(j, head),
    };
    const body = s.childForFieldName('body');
    const end = body ? this.block(statementsOf(body), bodyStart, loopCtx) : bodyStart;
    this.connect(end, head);
    let out = exitJumps;
    const alt = s.childForFieldName('alternative');
    const altBody = alt?.childForFieldName('body');
    if (altBody) out = this.block(statementsOf(altBody), exitJumps, ctx);
    return [...out, ...breaks];
  }

  private whileStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const cond = s.childForFieldName('condition');
    const head = this.header(s, cond ? [cond] : [], pending, ctx);
    const guard = cond ? nullGuard(cond, this.options.flagGuards) : EMPTY_GUARD;
    const forever = cond !== null && /^(True|1)$/.test(cond.text);
    return this.loop(s, head, [jump(head, guard.whenTrue)], forever ? [] : [jump(head, guard.whenFalse)], ctx);
  }

  private forStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const left = s.childForFieldName('left');
    const right = s.childForFieldName('right');
    const roots = [left, right].filter((n): n is Node => n !== null);
    // Iterating may raise when the iterable is a handle (`for line in f:` reads).
    const raises = this.mayRaise(roots) || (right !== null && right.type === 'identifier' && this.options.trackedNames.has(right.text));
    const head = this.header(s, roots, pending, ctx, raises);
    return this.loop(s, head, [{ node: head }], [{ node: head }], ctx);
  }

  private withStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const clause = s.namedChildren.find((c) => c?.type === 'with_clause') ?? null;
    const head = this.header(s, clause ? [clause] : [], pending, ctx);
    const body = s.childForFieldName('body');
    return body ? this.block(statementsOf(body), [{ node: head }], ctx) : [{ node: head }];
  }

  private matchStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const subjects = s.childrenForFieldName('subject').filter((n): n is Node => n !== null);
    const head = this.header(s, subjects, pending, ctx);
    const body = s.childForFieldName('body');
    const out: Jump[] = [];
    let next: Jump[] = [{ node: head }];
    for (const clause of body ? body.namedChildren : []) {
      if (!clause || clause.type !== 'case_clause') continue;
      const roots = clause.namedChildren.filter((n): n is Node => n !== null && n.type !== 'block' && n.type !== 'comment');
      const caseHead = this.header(clause, roots, next, ctx);
      const consequence = clause.childForFieldName('consequence');
      out.push(...(consequence ? this.block(statementsOf(consequence), [{ node: caseHead }], ctx) : [{ node: caseHead }]));
      const guard = clause.childForFieldName('guard');
      const patterns = clause.namedChildren.filter((n) => n?.type === 'case_pattern');
      const irrefutable = !guard && patterns.length === 1 && /^(_|[A-Za-z_]\w*)$/.test(patterns[0]?.text ?? '') && !/^[A-Z]/.test(patterns[0]?.text ?? '');
      next = irrefutable ? [] : [{ node: caseHead }];
    }
    out.push(...next);
    return out;
  }

  private definition(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
    const roots: Node[] = [];
    for (const child of s.namedChildren) if (child?.type === 'decorator') roots.push(child);
    const params = def?.childForFieldName('parameters');
    if (params) {
      for (const p of params.namedChildren) {
        const value = p?.childForFieldName('value');
        if (value) roots.push(value);
      }
    }
    const supers = def?.childForFieldName('superclasses');
    if (supers) roots.push(supers);
    const name = def?.childForFieldName('name');
    const node = this.add(nodeRange(name ?? s), { kind: 'def', stmt: s, roots, binds: name ? [name.text] : [] });
    this.connect(pending, node);
    if (this.mayRaise(roots)) ctx.raise({ node });
    return [{ node }];
  }

  private tryStatement(s: Node, pending: Jump[], ctx: Ctx): Jump[] {
    const handlers: Node[] = [];
    let elseClause: Node | null = null;
    let finallyClause: Node | null = null;
    for (const child of s.namedChildren) {
      if (!child) continue;
      if (child.type === 'except_clause' || child.type === 'except_group_clause') handlers.push(child);
      else if (child.type === 'else_clause') elseClause = child;
      else if (child.type === 'finally_clause') finallyClause = child;
    }
    const finallyStmts = finallyClause ? statementsOf(blockOf(finallyClause) ?? finallyClause) : [];
    // One copy of the finally block per way of entering it.
    const copies = new Map<string, PyNode>();
    const through = (key: 'raise' | 'return' | 'break' | 'continue', onEnd: (j: Jump) => void) => (j: Jump) => {
      let entry = copies.get(key);
      if (!entry) {
        entry = this.add(null, { kind: 'join', stmt: finallyClause ?? s, roots: [] });
        copies.set(key, entry);
        const end = this.cleanup(() => this.block(finallyStmts, [{ node: entry! }], ctx));
        for (const e of end) onEnd(e);
      }
      this.edge(j, entry, key === 'raise');
    };
    const outer: Ctx = finallyClause
      ? {
          raise: through('raise', (e) => ctx.raise(e)),
          ret: through('return', (e) => ctx.ret(e)),
          brk: through('break', (e) => ctx.brk(e)),
          cont: through('continue', (e) => ctx.cont(e)),
        }
      : ctx;

    const heads: PyNode[] = [];
    let broad = false;
    for (const h of handlers) {
      const value = h.childForFieldName('value');
      const roots = value ? [value] : [];
      const range: Range = {
        start: { line: h.startPosition.row, character: h.startPosition.column },
        end: value ? { line: value.endPosition.row, character: value.endPosition.column } : { line: h.startPosition.row, character: h.startPosition.column + 6 },
      };
      heads.push(this.add(range, { kind: 'header', stmt: h, roots }));
      if (!value || isBroad(value)) broad = true;
    }
    const bodyCtx: Ctx =
      heads.length === 0
        ? outer
        : {
            ...outer,
            raise: (j) => {
              for (const head of heads) this.edge(j, head, true);
              if (!broad) outer.raise(j);
            },
          };
    const body = s.childForFieldName('body');
    let ends = body ? this.block(statementsOf(body), pending, bodyCtx) : pending;
    const elseBody = elseClause?.childForFieldName('body');
    if (elseBody) ends = this.block(statementsOf(elseBody), ends, outer);
    handlers.forEach((h, i) => {
      const b = blockOf(h);
      ends.push(...(b ? this.block(statementsOf(b), [{ node: heads[i] }], outer) : [{ node: heads[i] }]));
    });
    if (!finallyClause) return ends;
    if (ends.length === 0) return [];
    const entry = this.add(null, { kind: 'join', stmt: finallyClause, roots: [] });
    this.connect(ends, entry);
    return this.cleanup(() => this.block(finallyStmts, [{ node: entry }], ctx));
  }

  /**
   * Builds a `finally` block. NOTE: its statements get no exception edges: a cleanup step that
   * fails (`p.kill()` before `p.wait()`, one close before the next) is not reported as leaking
   * what the following steps release; `raise` statements still raise.
   */
  private cleanup<T>(build: () => T): T {
    const outer = this.inCleanup;
    this.inCleanup = true;
    try {
      return build();
    } finally {
      this.inCleanup = outer;
    }
  }

  /**
   * Whether evaluating these subtrees may raise: they call (methods of the handle included),
   * subscript, await, raise or assert. Reading a plain attribute (`f.name`, `p.stdout`) is
   * taken not to raise.
   */
  private mayRaise(roots: Node[]): boolean {
    if (this.inCleanup) return false;
    for (const root of roots) {
      if (RAISING_TYPES.includes(root.type) && raises(root)) return true;
      for (const d of root.descendantsOfType(RAISING_TYPES)) if (d && raises(d)) return true;
    }
    return false;
  }
}

/** Whether one raising-kind node really may raise (calls to a few harmless builtins and methods do not). */
function raises(node: Node): boolean {
  if (node.type !== 'call') return true;
  const fn = node.childForFieldName('function');
  if (!fn) return true;
  if (fn.type === 'identifier') {
    // getattr with a default does not raise AttributeError
    if (fn.text === 'getattr') return (node.childForFieldName('arguments')?.namedChildCount ?? 0) < 3;
    return !(NON_RAISING_FUNCTIONS.has(fn.text) || /(Error|Exception|Warning)$/.test(fn.text));
  }
  if (fn.type === 'attribute') {
    const name = fn.childForFieldName('attribute')?.text ?? '';
    return !(NON_RAISING_METHODS.has(name) || /(Error|Exception|Warning)$/.test(name));
  }
  return true;
}

function jump(node: PyNode, nullVars: string[]): Jump {
  return nullVars.length > 0 ? { node, nullVars } : { node };
}

/** The statements of a block (or of the module), comments left out. */
export function statementsOf(block: Node): Node[] {
  const out: Node[] = [];
  for (const child of block.namedChildren) if (child && child.type !== 'comment') out.push(child);
  return out;
}

function blockOf(clause: Node): Node | null {
  for (const child of clause.namedChildren) if (child?.type === 'block') return child;
  return null;
}

function isBroad(value: Node): boolean {
  let v = value;
  if (v.type === 'as_pattern') v = v.namedChild(0) ?? v;
  const names = v.type === 'tuple' || v.type === 'parenthesized_expression' ? v.namedChildren : [v];
  return names.some((n) => n !== null && BROAD_EXCEPTIONS.has(n.text.replace(/\s+/g, '')));
}

interface NullGuard {
  /** variables known to hold None (or nothing) when the condition is true */
  whenTrue: string[];
  /** ... when it is false */
  whenFalse: string[];
}

const EMPTY_GUARD: NullGuard = { whenTrue: [], whenFalse: [] };

/**
 * What a condition says about names being None: `f is None`, `f is not None`, `not f`, `f`,
 * `f == None`, combined with `and`/`or`.
 */
export function nullGuard(cond: Node, flags?: ReadonlyMap<string, FlagGuard>): NullGuard {
  // A condition an opener depended on (`f = open(p) if p != '-' else sys.stdin`), tested again.
  const keyed = cond.type !== 'identifier' && cond.type !== 'parenthesized_expression' && cond.type !== 'not_operator' ? flags?.get(cond.text) : undefined;
  if (keyed) return { whenTrue: keyed.whenTrue, whenFalse: keyed.whenFalse };
  switch (cond.type) {
    case 'parenthesized_expression': {
      const inner = cond.namedChild(0);
      return inner && cond.namedChildCount === 1 ? nullGuard(inner, flags) : EMPTY_GUARD;
    }
    case 'identifier':
      return { whenTrue: flags?.get(cond.text)?.whenTrue ?? [], whenFalse: [cond.text, ...(flags?.get(cond.text)?.whenFalse ?? [])] };
    case 'not_operator': {
      const arg = cond.childForFieldName('argument');
      if (!arg) return EMPTY_GUARD;
      const g = nullGuard(arg, flags);
      return { whenTrue: g.whenFalse, whenFalse: g.whenTrue };
    }
    case 'comparison_operator': {
      if (cond.namedChildCount !== 2) return EMPTY_GUARD;
      const a = cond.namedChild(0);
      const b = cond.namedChild(1);
      const op = cond.childrenForFieldName('operators').map((o) => o?.text ?? '').join(' ');
      if (!a || !b) return EMPTY_GUARD;
      if (op === 'is' || op === 'is not') {
        // A fresh handle is neither None nor any other existing object: `f is X` is false.
        const names = [a, b].filter((n) => n.type === 'identifier').map((n) => n.text);
        return op === 'is' ? { whenTrue: names, whenFalse: [] } : { whenTrue: [], whenFalse: names };
      }
      const name = a.type === 'identifier' && b.type === 'none' ? a.text : b.type === 'identifier' && a.type === 'none' ? b.text : null;
      if (!name) return EMPTY_GUARD;
      if (op === '==') return { whenTrue: [name], whenFalse: [] };
      if (op === '!=') return { whenTrue: [], whenFalse: [name] };
      return EMPTY_GUARD;
    }
    case 'boolean_operator': {
      const l = cond.childForFieldName('left');
      const r = cond.childForFieldName('right');
      const op = cond.childForFieldName('operator')?.text;
      if (!l || !r) return EMPTY_GUARD;
      const gl = nullGuard(l, flags);
      const gr = nullGuard(r, flags);
      if (op === 'and') return { whenTrue: [...gl.whenTrue, ...gr.whenTrue], whenFalse: [] };
      if (op === 'or') return { whenTrue: [], whenFalse: [...gl.whenFalse, ...gr.whenFalse] };
      return EMPTY_GUARD;
    }
    default:
      return EMPTY_GUARD;
  }
}
