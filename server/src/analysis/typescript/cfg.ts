/**
 * Control-flow graphs of TypeScript/JavaScript function bodies, built on `analysis/flow.ts`.
 *
 * One flow node per simple statement and per header of a compound statement (an `if`
 * condition, a loop's test, a `switch` value). Modelled: if/else, while, do, for, for-in/of
 * (including `for await`), switch with fall-through, labelled break/continue, return,
 * throw, try/catch/finally and `process.exit()`. Every statement that contains a call,
 * `new` or `await` gets an exceptional edge to the innermost handler. A `finally` body is
 * built once per way of leaving its `try` (fall-through, return, each break/continue target,
 * rethrow), so a path through a copy only continues where it really goes.
 * Leaving a block that declared a tracked `let`/`const` goes through a `scope-exit` node.
 */
import { FlowGraph, type FlowNode } from '../flow';
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import { ASYNC_ERROR_CALLS, NON_THROWING_CALLEES, NON_THROWING_METHODS } from '../../knowledge/typescript-handles';

export type PartKind =
  /** a simple statement, or a `return`/`throw`/`break`/`continue` */
  | 'stmt'
  /** the header expression of a compound statement */
  | 'cond'
  /** a synthetic node: function entry, loop head, catch or finally entry */
  | 'entry'
  /** split off the front of a statement that produces a handle: only its assignment */
  | 'pre'
  /** tracked block-scoped names go out of scope */
  | 'scope-exit';

export interface TsPayload {
  kind: PartKind;
  /** The tree node this flow node evaluates (statement or header expression). */
  node: Node | null;
  /** For `scope-exit`: the names that go out of scope. */
  names?: readonly string[];
}

export type TsFlowNode = FlowNode<TsPayload>;

type Pending = { from: TsFlowNode; nullVars?: string[] };
type Target =
  | { kind: 'return' }
  | { kind: 'raise' }
  | { kind: 'break'; label: string | null }
  | { kind: 'continue'; label: string | null };

type Frame =
  | { type: 'loop'; labels: string[]; breaks: Pending[]; continueTo: TsFlowNode }
  | { type: 'breakable'; labels: string[]; isSwitch: boolean; breaks: Pending[] }
  | { type: 'catch'; entry: TsFlowNode }
  | { type: 'finally'; body: Node; copies: Map<string, TsFlowNode> }
  | { type: 'scope'; names: string[]; markers: Map<string, TsFlowNode> };

/** Node types that own a body with its own control flow. */
export const FUNCTION_TYPES: ReadonlySet<string> = new Set([
  'function_declaration',
  'function_expression',
  'arrow_function',
  'method_definition',
  'generator_function_declaration',
  'generator_function',
  'class_static_block',
]);

/** Owners whose top-level declarations live as long as the module (long-lived by design). */
export const MODULE_TYPES: ReadonlySet<string> = new Set(['program', 'internal_module']);

const SKIPPED_STATEMENTS: ReadonlySet<string> = new Set([
  'empty_statement',
  'function_declaration',
  'generator_function_declaration',
  'class_declaration',
  'abstract_class_declaration',
  'interface_declaration',
  'type_alias_declaration',
  'import_statement',
  'comment',
  'ambient_declaration',
  'internal_module',
  'module',
  'debugger_statement',
  'function_signature',
]);

const LOOP_TYPES: ReadonlySet<string> = new Set(['while_statement', 'do_statement', 'for_statement', 'for_in_statement']);

/** Narrowing facts of a condition: which names are falsy / truthy on each branch. */
interface Narrowing {
  whenTrue: { falsy: string[]; truthy: string[] };
  whenFalse: { falsy: string[]; truthy: string[] };
}

const NO_NARROWING: Narrowing = { whenTrue: { falsy: [], truthy: [] }, whenFalse: { falsy: [], truthy: [] } };

export interface FunctionCfg {
  graph: FlowGraph<TsPayload>;
  owner: Node;
  entry: TsFlowNode;
  /** Tree node id → the (first) flow node that evaluates it. */
  byTreeNode: Map<number, TsFlowNode>;
  /** Where falling off the end is reported (closing brace, or the end of the file). */
  endRange: Range;
}

/** Concise-bodied arrows and other expression owners have a body that is an expression. */
function ownerBody(owner: Node): Node | null {
  if (owner.type === 'program') return owner;
  return owner.childForFieldName('body');
}

function namedChildrenOf(node: Node): Node[] {
  const out: Node[] = [];
  for (const c of node.namedChildren) if (c && c.type !== 'comment') out.push(c);
  return out;
}

const NON_THROWING_EXACT = new Set(NON_THROWING_CALLEES.filter((c) => !c.endsWith('.*')));
const NON_THROWING_RECEIVERS = new Set(NON_THROWING_CALLEES.filter((c) => c.endsWith('.*')).map((c) => c.slice(0, -2)));

function isNonThrowing(callee: Node): boolean {
  if (callee.type === 'identifier') return NON_THROWING_EXACT.has(callee.text);
  if (callee.type !== 'member_expression') return false;
  const obj = callee.childForFieldName('object');
  if (obj?.type !== 'identifier') return false;
  return NON_THROWING_RECEIVERS.has(obj.text) || NON_THROWING_EXACT.has(`${obj.text}.${callee.childForFieldName('property')?.text ?? ''}`);
}

/** Does evaluating this expression/statement possibly throw? (calls, `new`, `await`, `throw`) */
export function mayThrow(node: Node): boolean {
  const stack: Node[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const t = n.type;
    if (t === 'call_expression') {
      // Stream constructors report open errors through an 'error' event, not by throwing.
      const f = n.childForFieldName('function');
      const isMember = f?.type === 'member_expression';
      const name = isMember ? f.childForFieldName('property')?.text : f?.type === 'identifier' ? f.text : undefined;
      if (!name || !(ASYNC_ERROR_CALLS.has(name) || (isMember && NON_THROWING_METHODS.has(name)) || (f && isNonThrowing(f)))) return true;
    } else if (t === 'new_expression') {
      // `new Promise(executor)` turns anything the executor throws into a rejection.
      if (n.childForFieldName('constructor')?.text !== 'Promise') return true;
    } else if (t === 'await_expression' || t === 'throw_statement') return true;
    if (n !== node && (FUNCTION_TYPES.has(t) || t === 'class' || t === 'class_declaration')) continue;
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return false;
}

function unwrapParens(node: Node): Node {
  let n = node;
  while (n.type === 'parenthesized_expression' || n.type === 'non_null_expression' || n.type === 'as_expression') {
    const inner = n.namedChild(0);
    if (!inner) break;
    n = inner;
  }
  return n;
}

function isNullish(node: Node): boolean {
  return node.type === 'null' || node.type === 'undefined' || (node.type === 'identifier' && node.text === 'undefined');
}

/** What a condition says about plain names on its true and false branches. */
function narrow(cond: Node | null): Narrowing {
  if (!cond) return NO_NARROWING;
  const n = unwrapParens(cond);
  if (n.type === 'identifier') return { whenTrue: { falsy: [], truthy: [n.text] }, whenFalse: { falsy: [n.text], truthy: [] } };
  if (n.type === 'unary_expression' && n.child(0)?.type === '!') {
    const inner = n.childForFieldName('argument');
    const r = narrow(inner);
    return { whenTrue: r.whenFalse, whenFalse: r.whenTrue };
  }
  if (n.type === 'member_expression' || n.type === 'call_expression') return NO_NARROWING;
  if (n.type === 'binary_expression') {
    const op = n.childForFieldName('operator')?.type ?? '';
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (!left || !right) return NO_NARROWING;
    if (op === '&&') {
      const a = narrow(left);
      const b = narrow(right);
      return {
        whenTrue: { falsy: [...a.whenTrue.falsy, ...b.whenTrue.falsy], truthy: [...a.whenTrue.truthy, ...b.whenTrue.truthy] },
        whenFalse: { falsy: [], truthy: [] },
      };
    }
    if (op === '||') {
      const a = narrow(left);
      const b = narrow(right);
      return {
        whenTrue: { falsy: [], truthy: [] },
        whenFalse: { falsy: [...a.whenFalse.falsy, ...b.whenFalse.falsy], truthy: [...a.whenFalse.truthy, ...b.whenFalse.truthy] },
      };
    }
    const l = unwrapParens(left);
    const r = unwrapParens(right);
    // Descriptor checks: `fd >= 0`, `fd < 0`, `fd !== -1` (an fd is never negative once open).
    if (l.type === 'identifier' && (r.type === 'number' || r.type === 'unary_expression')) {
      const k = r.text.replace(/\s+/g, '');
      const valid = (op === '>=' && k === '0') || (op === '>' && k === '-1') || ((op === '!==' || op === '!=') && k === '-1');
      const invalid = (op === '<' && k === '0') || (op === '<=' && k === '-1') || ((op === '===' || op === '==') && k === '-1');
      if (valid) return { whenTrue: { falsy: [], truthy: [] }, whenFalse: { falsy: [l.text], truthy: [] } };
      if (invalid) return { whenTrue: { falsy: [l.text], truthy: [] }, whenFalse: { falsy: [], truthy: [] } };
    }
    const eq = op === '===' || op === '==';
    const ne = op === '!==' || op === '!=';
    if (!eq && !ne) return NO_NARROWING;
    // `typeof fd === 'number'` / `typeof fh !== 'undefined'`
    const typeofOf = (x: Node): string | null => {
      if (x.type !== 'unary_expression' || x.child(0)?.type !== 'typeof') return null;
      const arg = x.childForFieldName('argument');
      return arg?.type === 'identifier' ? arg.text : null;
    };
    const tName = typeofOf(l) ?? typeofOf(r);
    const lit = typeofOf(l) ? r : l;
    if (tName && lit.type === 'string') {
      const present = lit.text.slice(1, -1) !== 'undefined';
      const whenEqual = present ? { falsy: [], truthy: [tName] } : { falsy: [tName], truthy: [] };
      const whenNot = present ? { falsy: [tName], truthy: [] } : { falsy: [], truthy: [tName] };
      return eq ? { whenTrue: whenEqual, whenFalse: whenNot } : { whenTrue: whenNot, whenFalse: whenEqual };
    }
    let name: string | null = null;
    if (l.type === 'identifier' && isNullish(r) && l.text !== 'undefined') name = l.text;
    else if (r.type === 'identifier' && isNullish(l) && r.text !== 'undefined') name = r.text;
    if (!name) return NO_NARROWING;
    const isNull = { falsy: [name], truthy: [] };
    const notNull = { falsy: [], truthy: [name] };
    return eq ? { whenTrue: isNull, whenFalse: notNull } : { whenTrue: notNull, whenFalse: isNull };
  }
  return NO_NARROWING;
}

/** Names declared with `let`/`const` directly in a block (not `var`: that is function-scoped). */
function lexicalNames(stmts: Node[], interesting: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const s of stmts) {
    if (s.type !== 'lexical_declaration') continue;
    for (const d of s.namedChildren) {
      if (d?.type !== 'variable_declarator') continue;
      const name = d.childForFieldName('name');
      if (name?.type === 'identifier' && interesting.has(name.text)) out.push(name.text);
    }
  }
  return out;
}

function isProcessExit(stmt: Node): boolean {
  if (stmt.type !== 'expression_statement') return false;
  const e = stmt.namedChild(0);
  if (e?.type !== 'call_expression') return false;
  const f = e.childForFieldName('function');
  return f?.type === 'member_expression' && /^process\s*\.\s*(exit|abort)$/.test(f.text);
}

function targetKey(t: Target): string {
  return t.kind === 'break' || t.kind === 'continue' ? `${t.kind}:${t.label ?? ''}` : t.kind;
}

class CfgBuilder {
  readonly graph = new FlowGraph<TsPayload>();
  readonly byTreeNode = new Map<number, TsFlowNode>();
  private frames: Frame[] = [];
  private readonly returnExit: TsFlowNode;
  private readonly raiseExit: TsFlowNode;
  private readonly endExit: TsFlowNode;
  private readonly processExit: TsFlowNode;

  constructor(
    private readonly interesting: ReadonlySet<string>,
    endRange: Range,
    private readonly truthyMeansNull: ReadonlyMap<string, readonly string[]>,
  ) {
    this.returnExit = this.graph.add(null, { kind: 'entry', node: null }, 'return');
    this.raiseExit = this.graph.add(null, { kind: 'entry', node: null }, 'raise');
    this.endExit = this.graph.add(endRange, { kind: 'entry', node: null }, 'end');
    this.processExit = this.graph.add(null, { kind: 'entry', node: null }, 'process-exit');
  }

  build(owner: Node): TsFlowNode {
    const entry = this.graph.add(null, { kind: 'entry', node: null });
    const body = ownerBody(owner);
    let tails: Pending[] = [{ from: entry }];
    if (body) {
      if (body.type === 'statement_block' || body.type === 'program') tails = this.sequence(namedChildrenOf(body), tails);
      else tails = this.simple(body, tails);
    }
    this.connect(tails, this.endExit);
    return entry;
  }

  private node(kind: PartKind, tree: Node | null, range?: Range | null, names?: readonly string[]): TsFlowNode {
    const n = this.graph.add(range !== undefined ? range : tree ? nodeRange(tree) : null, { kind, node: tree, names });
    if (tree && !this.byTreeNode.has(tree.id)) this.byTreeNode.set(tree.id, n);
    return n;
  }

  private connect(pending: Pending[], to: TsFlowNode, exceptional = false): void {
    for (const p of pending) {
      const options: { exceptional?: boolean; nullVars?: string[] } = {};
      if (exceptional) options.exceptional = true;
      if (p.nullVars && p.nullVars.length > 0) options.nullVars = p.nullVars;
      this.graph.edge(p.from, to, options);
    }
  }

  /** Sends control that leaves by `target` through the enclosing frames (finally, catch, scopes). */
  private route(pending: Pending[], target: Target, exceptional: boolean): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      switch (f.type) {
        case 'loop':
          if ((target.kind === 'break' || target.kind === 'continue') && (target.label === null || f.labels.includes(target.label))) {
            if (target.kind === 'break') f.breaks.push(...pending);
            else this.connect(pending, f.continueTo);
            return;
          }
          break;
        case 'breakable':
          if (target.kind === 'break' && (target.label === null ? f.isSwitch : f.labels.includes(target.label))) {
            f.breaks.push(...pending);
            return;
          }
          break;
        case 'catch':
          if (target.kind === 'raise') {
            this.connect(pending, f.entry, exceptional);
            return;
          }
          break;
        case 'finally':
          this.connect(pending, this.finallyCopy(f, i, target), exceptional);
          return;
        case 'scope':
          if (target.kind !== 'return') {
            this.connect(pending, this.scopeMarker(f, i, target), exceptional);
            return;
          }
          break;
      }
    }
    if (target.kind === 'return') this.connect(pending, this.returnExit, exceptional);
    else if (target.kind === 'raise') this.connect(pending, this.raiseExit, exceptional);
    // An unmatched break/continue is a syntax error: the edge is dropped.
  }

  private withFrames<T>(frames: Frame[], fn: () => T): T {
    const saved = this.frames;
    this.frames = frames;
    try {
      return fn();
    } finally {
      this.frames = saved;
    }
  }

  private finallyCopy(f: Extract<Frame, { type: 'finally' }>, index: number, target: Target): TsFlowNode {
    const key = targetKey(target);
    const existing = f.copies.get(key);
    if (existing) return existing;
    const entry = this.graph.add(nodeRange(f.body), { kind: 'entry', node: null });
    f.copies.set(key, entry);
    this.withFrames(this.frames.slice(0, index), () => {
      const tails = this.block(f.body, [{ from: entry }]);
      this.route(tails, target, false);
    });
    return entry;
  }

  private scopeMarker(f: Extract<Frame, { type: 'scope' }>, index: number, target: Target): TsFlowNode {
    const key = targetKey(target);
    const existing = f.markers.get(key);
    if (existing) return existing;
    const marker = this.graph.add(null, { kind: 'scope-exit', node: null, names: f.names });
    f.markers.set(key, marker);
    this.withFrames(this.frames.slice(0, index), () => this.route([{ from: marker }], target, false));
    return marker;
  }

  private sequence(stmts: Node[], preds: Pending[]): Pending[] {
    let cur = preds;
    for (const s of stmts) cur = this.statement(s, cur);
    return cur;
  }

  /** A `{ … }` block; tracked `let`/`const` names declared in it get a scope exit. */
  private block(block: Node, preds: Pending[]): Pending[] {
    const stmts = namedChildrenOf(block);
    const names = lexicalNames(stmts, this.interesting);
    if (names.length === 0) return this.sequence(stmts, preds);
    this.frames.push({ type: 'scope', names, markers: new Map() });
    let tails: Pending[];
    try {
      tails = this.sequence(stmts, preds);
    } finally {
      this.frames.pop();
    }
    if (tails.length === 0) return tails;
    const close = block.lastChild;
    const end = this.node('scope-exit', null, close ? nodeRange(close) : nodeRange(block), names);
    this.connect(tails, end);
    return [{ from: end }];
  }

  /** A statement evaluated as one step. */
  private simple(stmt: Node, preds: Pending[]): Pending[] {
    const n = this.node('stmt', stmt);
    this.connect(preds, n);
    if (isProcessExit(stmt)) {
      this.graph.edge(n, this.processExit);
      return [];
    }
    if (mayThrow(stmt)) this.route([{ from: n }], { kind: 'raise' }, true);
    return [{ from: n }];
  }

  private header(expr: Node, preds: Pending[]): TsFlowNode {
    const n = this.node('cond', expr);
    this.connect(preds, n);
    if (mayThrow(expr)) this.route([{ from: n }], { kind: 'raise' }, true);
    return n;
  }

  private statement(stmt: Node, preds: Pending[]): Pending[] {
    const t = stmt.type;
    if (SKIPPED_STATEMENTS.has(t)) return preds;
    switch (t) {
      case 'statement_block':
        return this.block(stmt, preds);
      case 'export_statement': {
        const decl = stmt.childForFieldName('declaration');
        if (decl) return this.statement(decl, preds);
        const value = stmt.childForFieldName('value');
        return value ? this.simple(stmt, preds) : preds;
      }
      case 'if_statement':
        return this.ifStatement(stmt, preds);
      case 'while_statement':
      case 'do_statement':
      case 'for_statement':
      case 'for_in_statement':
        return this.loop(stmt, preds, []);
      case 'labeled_statement':
        return this.labeled(stmt, preds, []);
      case 'switch_statement':
        return this.switchStatement(stmt, preds, []);
      case 'break_statement':
      case 'continue_statement': {
        const n = this.node('stmt', stmt);
        this.connect(preds, n);
        const label = stmt.childForFieldName('label')?.text ?? null;
        this.route([{ from: n }], { kind: t === 'break_statement' ? 'break' : 'continue', label }, false);
        return [];
      }
      case 'return_statement': {
        const n = this.node('stmt', stmt);
        this.connect(preds, n);
        if (mayThrow(stmt)) this.route([{ from: n }], { kind: 'raise' }, true);
        this.route([{ from: n }], { kind: 'return' }, false);
        return [];
      }
      case 'throw_statement': {
        const n = this.node('stmt', stmt);
        this.connect(preds, n);
        this.route([{ from: n }], { kind: 'raise' }, true);
        return [];
      }
      case 'try_statement':
        return this.tryStatement(stmt, preds);
      default:
        return this.simple(stmt, preds);
    }
  }

  private ifStatement(stmt: Node, preds: Pending[]): Pending[] {
    const cond = stmt.childForFieldName('condition');
    const c = cond ? this.header(cond, preds) : this.node('entry', null);
    if (!cond) this.connect(preds, c);
    const nw = narrow(cond);
    const consequence = stmt.childForFieldName('consequence');
    const alternative = stmt.childForFieldName('alternative');
    const onTrue: Pending[] = [{ from: c, nullVars: this.nullOn(nw.whenTrue) }];
    const onFalse: Pending[] = [{ from: c, nullVars: this.nullOn(nw.whenFalse) }];
    const a = consequence ? this.statement(consequence, onTrue) : onTrue;
    let b = onFalse;
    if (alternative) {
      // `else_clause` wraps the statement.
      const inner = alternative.type === 'else_clause' ? namedChildrenOf(alternative)[0] : alternative;
      if (inner) b = this.statement(inner, onFalse);
    }
    return [...a, ...b];
  }

  /** Names that hold no handle on a branch: the falsy ones, and the fd of a truthy `err`. */
  private nullOn(facts: { falsy: string[]; truthy: string[] }): string[] {
    const out = [...facts.falsy];
    for (const t of facts.truthy) out.push(...(this.truthyMeansNull.get(t) ?? []));
    return out;
  }

  private labeled(stmt: Node, preds: Pending[], labels: string[]): Pending[] {
    const label = stmt.childForFieldName('label')?.text;
    const all = label ? [...labels, label] : labels;
    const body = stmt.childForFieldName('body');
    if (!body) return preds;
    if (LOOP_TYPES.has(body.type)) return this.loop(body, preds, all);
    if (body.type === 'labeled_statement') return this.labeled(body, preds, all);
    if (body.type === 'switch_statement') return this.switchStatement(body, preds, all);
    const frame: Frame = { type: 'breakable', labels: all, isSwitch: false, breaks: [] };
    this.frames.push(frame);
    let tails: Pending[];
    try {
      tails = this.statement(body, preds);
    } finally {
      this.frames.pop();
    }
    return [...tails, ...frame.breaks];
  }

  private loopBody(body: Node | null, preds: Pending[], frame: Extract<Frame, { type: 'loop' }>): Pending[] {
    this.frames.push(frame);
    try {
      return body ? this.statement(body, preds) : preds;
    } finally {
      this.frames.pop();
    }
  }

  private loop(stmt: Node, preds: Pending[], labels: string[]): Pending[] {
    const body = stmt.childForFieldName('body');
    switch (stmt.type) {
      case 'while_statement': {
        const cond = stmt.childForFieldName('condition');
        const c = cond ? this.header(cond, preds) : this.node('entry', null);
        if (!cond) this.connect(preds, c);
        const frame = { type: 'loop' as const, labels, breaks: [] as Pending[], continueTo: c };
        const tails = this.loopBody(body, [{ from: c }], frame);
        this.connect(tails, c);
        return [{ from: c }, ...frame.breaks];
      }
      case 'do_statement': {
        const head = this.node('entry', null);
        this.connect(preds, head);
        const cond = stmt.childForFieldName('condition');
        const c = cond ? this.node('cond', cond) : this.node('entry', null);
        const frame = { type: 'loop' as const, labels, breaks: [] as Pending[], continueTo: c };
        const tails = this.loopBody(body, [{ from: head }], frame);
        this.connect(tails, c);
        if (cond && mayThrow(cond)) this.route([{ from: c }], { kind: 'raise' }, true);
        this.graph.edge(c, head);
        return [{ from: c }, ...frame.breaks];
      }
      case 'for_statement': {
        let cur = preds;
        const init = stmt.childForFieldName('initializer');
        if (init && init.type !== 'empty_statement') cur = this.simple(init, cur);
        let cond = stmt.childForFieldName('condition');
        if (cond && (cond.type === 'empty_statement' || (cond.type === 'expression_statement' && !cond.namedChild(0)))) cond = null;
        const c = cond ? this.header(cond, cur) : this.node('entry', null);
        if (!cond) this.connect(cur, c);
        const incr = stmt.childForFieldName('increment');
        const u = incr ? this.node('stmt', incr) : null;
        if (u && incr && mayThrow(incr)) this.route([{ from: u }], { kind: 'raise' }, true);
        if (u) this.graph.edge(u, c);
        const frame = { type: 'loop' as const, labels, breaks: [] as Pending[], continueTo: u ?? c };
        const tails = this.loopBody(body, [{ from: c }], frame);
        this.connect(tails, u ?? c);
        return cond ? [{ from: c }, ...frame.breaks] : frame.breaks;
      }
      default: {
        // for-in / for-of / for await: the header evaluates the iterable and takes the next item.
        const right = stmt.childForFieldName('right');
        const r = right ? this.node('cond', right) : this.node('entry', null);
        this.connect(preds, r);
        // Taking the next item throws only for `for await` (a stream error) or a computed iterable.
        const isAwait = stmt.children.some((c) => c?.type === 'await' && !c.isNamed);
        if (right && (isAwait || mayThrow(right))) this.route([{ from: r }], { kind: 'raise' }, true);
        const frame = { type: 'loop' as const, labels, breaks: [] as Pending[], continueTo: r };
        const tails = this.loopBody(body, [{ from: r }], frame);
        this.connect(tails, r);
        return [{ from: r }, ...frame.breaks];
      }
    }
  }

  private switchStatement(stmt: Node, preds: Pending[], labels: string[]): Pending[] {
    const value = stmt.childForFieldName('value');
    const v = value ? this.header(value, preds) : this.node('entry', null);
    if (!value) this.connect(preds, v);
    const frame: Frame = { type: 'breakable', labels, isSwitch: true, breaks: [] };
    this.frames.push(frame);
    let fall: Pending[] = [];
    let hasDefault = false;
    try {
      const body = stmt.childForFieldName('body');
      for (const c of body ? namedChildrenOf(body) : []) {
        if (c.type !== 'switch_case' && c.type !== 'switch_default') continue;
        if (c.type === 'switch_default') hasDefault = true;
        const caseValue = c.childForFieldName('value');
        const stmts = namedChildrenOf(c).filter((s) => !caseValue || s.id !== caseValue.id);
        fall = this.sequence(stmts, [{ from: v }, ...fall]);
      }
    } finally {
      this.frames.pop();
    }
    return [...fall, ...frame.breaks, ...(hasDefault ? [] : [{ from: v }])];
  }

  private tryStatement(stmt: Node, preds: Pending[]): Pending[] {
    const body = stmt.childForFieldName('body');
    const handler = stmt.childForFieldName('handler');
    const finalizer = stmt.childForFieldName('finalizer');
    const finallyBody = finalizer?.childForFieldName('body') ?? null;
    const finallyFrame: Frame | null = finallyBody ? { type: 'finally', body: finallyBody, copies: new Map() } : null;
    const catchEntry = handler ? this.graph.add(nodeRange(handler), { kind: 'entry', node: null }) : null;
    if (finallyFrame) this.frames.push(finallyFrame);
    let tails: Pending[];
    try {
      if (catchEntry) this.frames.push({ type: 'catch', entry: catchEntry });
      try {
        tails = body ? this.block(body, preds) : preds;
      } finally {
        if (catchEntry) this.frames.pop();
      }
      if (handler && catchEntry) {
        const hb = handler.childForFieldName('body');
        tails = [...tails, ...(hb ? this.block(hb, [{ from: catchEntry }]) : [{ from: catchEntry }])];
      }
    } finally {
      if (finallyFrame) this.frames.pop();
    }
    if (finallyBody && tails.length > 0) {
      const entry = this.graph.add(nodeRange(finallyBody), { kind: 'entry', node: null });
      this.connect(tails, entry);
      tails = this.block(finallyBody, [{ from: entry }]);
    }
    return tails;
  }
}

/** Builds the graph of one function (or the module top level). */
export function buildFunctionCfg(
  owner: Node,
  interesting: ReadonlySet<string>,
  truthyMeansNull: ReadonlyMap<string, readonly string[]> = new Map(),
): FunctionCfg {
  const body = ownerBody(owner);
  let endRange: Range;
  if (owner.type === 'program' || !body) {
    const end = (owner.lastNamedChild ?? owner).endPosition;
    endRange = { start: { line: end.row, character: end.column }, end: { line: end.row, character: end.column } };
  } else if (body.type === 'statement_block' && body.lastChild) {
    endRange = nodeRange(body.lastChild);
  } else {
    endRange = nodeRange(body);
  }
  const builder = new CfgBuilder(interesting, endRange, truthyMeansNull);
  const entry = builder.build(owner);
  return { graph: builder.graph, owner, entry, byTreeNode: builder.byTreeNode, endRange };
}

/** Splits a flow node into `pre` (its assignment only) → original, so loop re-entry is seen. */
export function splitStatement(cfg: FunctionCfg, node: TsFlowNode): TsFlowNode {
  if (node.payload?.kind !== 'stmt') return node;
  const start = cfg.graph.add(node.range, { kind: 'stmt', node: node.payload.node });
  start.succ.push(...node.succ);
  node.succ.length = 0;
  node.succ.push({ to: start.id });
  node.payload = { kind: 'pre', node: node.payload.node };
  if (node.payload.node) cfg.byTreeNode.set(node.payload.node.id, node);
  return start;
}
