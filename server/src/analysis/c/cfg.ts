/**
 * Control-flow graphs of C function bodies for the handle analysis, built on the generic
 * `FlowGraph` of `analysis/flow.ts`.
 *
 * One graph node per statement or per condition operand (`a && b` is split so that
 * `if ((fd = open(p, 0)) < 0 || fstat(fd, &st) < 0)` is seen to leak `fd` when `fstat`
 * fails). While a node is created, its expressions are scanned once into `NodeFacts`
 * (what it releases, hands over, overwrites, opens), so the path search later asks
 * nothing of the tree.
 *
 * Modelled: blocks, if/else, while/do/for (constant conditions included), switch with
 * fallthrough, break/continue, return, goto/labels, `#if`/`#else` branches as alternative
 * paths (`#if 0` skipped), calls that never return (`exit`, `abort`, `err`, functions of the
 * same file whose every path ends in one of those) as process exits. C has no exceptions,
 * so no edge is `exceptional`.
 */
import { FlowGraph, type FlowNode, type HandleEffect, findLeak } from '../flow';
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import { declaratorIdentifier, declaratorName } from '../../facts/c/declarators';
import {
  CONSUMERS,
  EXIT_WHEN_STATUS_NONZERO,
  NON_OWNING_USES,
  NORETURN_CALLS,
  OPENERS,
  RELEASERS,
  TRANSPARENT_WRAPPERS,
  type OpenerSpec,
} from '../../knowledge/c-handles';

/** A handle-producing call whose result is bound to a local variable. */
export interface OpenSite {
  variable: string;
  api: string;
  spec: OpenerSpec;
  call: Node;
  /** The node that evaluates the call (revisiting it means the variable is overwritten). */
  evalNode: FlowNode<CPayload>;
  /** The node right after it: the handle is held from here on (the path search starts here). */
  held: FlowNode<CPayload>;
  /** Start/end index of the block that declares the variable (a fix must stay inside it). */
  scope: { start: number; end: number };
}

/** A handle-producing call whose result is dropped (`fopen(p, "w");`, `if (open(p, 0) < 0)`). */
export interface UnboundSite {
  api: string;
  call: Node;
  evalNode: FlowNode<CPayload>;
}

/** What one graph node does, computed once when the node is created. */
export interface NodeFacts {
  releases: Set<string>;
  escapes: Set<string>;
  /** Variables given a new value by `=` or an initialiser. */
  assigns: Set<string>;
  /** Variables whose value is read (anything but the target of `=` or a declarator). */
  reads: Set<string>;
  /** Handles passed to functions defined in this file; resolved lazily through summaries. */
  localCalls: { callee: string; index: number; variable: string }[];
  opens: { variable: string; api: string; spec: OpenerSpec; call: Node }[];
  unbound: { api: string; call: Node }[];
  /** The statement is a call that does not return. */
  noreturn: boolean;
}

export type PayloadKind =
  | 'entry'
  | 'eval'
  | 'held'
  | 'return'
  | 'goto'
  | 'break'
  | 'continue'
  | 'label'
  | 'join'
  | 'exit'
  /** the closing brace of a block that declares variables: their scope ends here */
  | 'block-end';

export interface CPayload {
  kind: PayloadKind;
  /** The statement or expression the node evaluates (or the statement it stands for). */
  tree?: Node;
  facts?: NodeFacts;
  /** Label name for `goto`/`label` nodes. */
  label?: string;
  /** For a `return` exit: the return statement; for `end`/`block-end`: the closing brace. */
  site?: Node;
  /** For `break`/`continue`: start index of the loop or switch they leave; for `block-end`: of the block. */
  leaves?: number;
}

export type CNode = FlowNode<CPayload>;

interface Pending {
  from: CNode;
  nullVars?: string[];
  /** Variables known to hold a valid (non-null, non-negative) handle along this edge. */
  validVars?: string[];
}

/** Looks up facts about other functions of the same file (ownership of parameters, no-return). */
export interface FileContextForCfg {
  isLocalFunction(name: string): boolean;
  isNoreturn(name: string): boolean;
}

export interface CFunctionGraph {
  name: string;
  definition: Node;
  body: Node;
  graph: FlowGraph<CPayload>;
  entry: CNode;
  endExit: CNode;
  params: string[];
  openSites: OpenSite[];
  unboundSites: UnboundSite[];
  /**
   * For condition nodes only: successor id → variables proven valid on every edge to it
   * (`null` when some edge proves nothing). See {@link validOn}.
   */
  validOnEdge: Map<number, Map<number, Set<string> | null>>;
  /** Label name → the labeled statement's start index (to tell forward from backward gotos). */
  labelStarts: Map<string, number>;
  reachable: Set<number>;
}

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);
/** Expressions whose insides never hold a handle use. */
const OPAQUE_EXPRESSIONS = new Set(['sizeof_expression', 'alignof_expression', 'offsetof_expression', 'string_literal', 'concatenated_string', 'char_literal', 'number_literal', 'comment']);
/** Node kinds the fact scan looks at more closely. */
const SCANNED_KINDS = new Set(['call_expression', 'assignment_expression', 'declaration', 'init_declarator', 'initializer_list', 'return_statement', 'pointer_expression']);
const AUTO_CLEANUP = /\b(?:cleanup|__cleanup__)\b/;
const ALIAS_OPERANDS = new Set(['identifier', 'field_expression', 'subscript_expression', 'pointer_expression']);
const STD_STREAMS = new Set(['stdin', 'stdout', 'stderr']);
const STD_FILENOS: ReadonlyMap<string, number> = new Map([
  ['STDIN_FILENO', 0],
  ['STDOUT_FILENO', 1],
  ['STDERR_FILENO', 2],
]);
const SKIPPED_STATEMENTS = new Set([
  'comment',
  'preproc_call',
  'preproc_def',
  'preproc_function_def',
  'preproc_include',
  'type_definition',
  'struct_specifier',
  'union_specifier',
  'enum_specifier',
  ';',
]);

/** Strips `( )`, casts and the transparent wrapper macros around an expression. */
export function unwrapValue(node: Node): Node {
  let cur = node;
  for (;;) {
    if (cur.type === 'parenthesized_expression' || cur.type === 'cast_expression') {
      const inner = cur.type === 'cast_expression' ? cur.childForFieldName('value') : cur.namedChild(0);
      if (!inner || inner.type === 'comment') return cur;
      cur = inner;
      continue;
    }
    if (cur.type === 'call_expression') {
      const fn = cur.childForFieldName('function');
      if (fn?.type === 'identifier' && TRANSPARENT_WRAPPERS.has(fn.text)) {
        const first = cur.childForFieldName('arguments')?.namedChild(0);
        if (first && first.type !== 'comment') {
          cur = first;
          continue;
        }
      }
    }
    return cur;
  }
}

/** Variables whose *value* an expression yields (`fp`, `(FILE *) fp`, `ok ? fd : -1`). */
function valueVariables(node: Node, out: string[]): void {
  const n = unwrapValue(node);
  switch (n.type) {
    case 'identifier':
      out.push(n.text);
      return;
    case 'conditional_expression': {
      const a = n.childForFieldName('consequence');
      const b = n.childForFieldName('alternative');
      if (a) valueVariables(a, out);
      if (b) valueVariables(b, out);
      return;
    }
    case 'comma_expression': {
      const r = n.childForFieldName('right');
      if (r) valueVariables(r, out);
      return;
    }
    case 'assignment_expression': {
      // `*fdp = fd = socket(...)`: the value is the new content of `fd` (and of the right side).
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      if (n.childForFieldName('operator')?.type !== '=') return;
      if (l?.type === 'identifier') out.push(l.text);
      if (r) valueVariables(r, out);
      return;
    }
    default:
      return;
  }
}

/** Parameter names in order (prototype style and K&R style lists). */
export function parameterNames(definition: Node): string[] {
  let decl = definition.childForFieldName('declarator');
  while (decl && decl.type !== 'function_declarator') {
    decl = decl.childForFieldName('declarator');
  }
  const list = decl?.childForFieldName('parameters');
  if (!list) return [];
  const out: string[] = [];
  for (const p of list.namedChildren) {
    if (!p) continue;
    if (p.type === 'parameter_declaration') out.push(declaratorName(p.childForFieldName('declarator')) ?? '');
    else if (p.type === 'identifier') out.push(p.text);
  }
  return out;
}

/** The defined function's name. */
export function functionName(definition: Node): string | null {
  let decl = definition.childForFieldName('declarator');
  while (decl) {
    if (decl.type === 'function_declarator') {
      const inner = decl.childForFieldName('declarator');
      return inner?.type === 'identifier' ? inner.text : declaratorName(inner);
    }
    decl = decl.childForFieldName('declarator');
  }
  return null;
}

/** Integer value of a literal such as `0`, `-1`, `0x0`, `2U`, or the STD*_FILENO names; otherwise null. */
function integerValue(node: Node): number | null {
  const n = unwrapValue(node);
  if (n.type === 'number_literal') {
    const v = Number.parseInt(n.text.replace(/[uUlL]+$/, ''), n.text.startsWith('0x') || n.text.startsWith('0X') ? 16 : 10);
    return Number.isNaN(v) ? null : v;
  }
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '-') {
    const arg = n.childForFieldName('argument');
    const v = arg ? integerValue(arg) : null;
    return v === null ? null : -v;
  }
  if (n.type === 'identifier') return STD_FILENOS.get(n.text) ?? null;
  return null;
}

type Sentinel = 'null' | 'stream' | number;

/** What a comparison operand stands for when it is not the handle: NULL, a std stream, a number. */
function sentinel(node: Node): Sentinel | null {
  const n = unwrapValue(node);
  if (n.type === 'null' || (n.type === 'identifier' && (n.text === 'NULL' || n.text === 'nullptr'))) return 'null';
  if (n.type === 'identifier' && STD_STREAMS.has(n.text)) return 'stream';
  return integerValue(n);
}

/** The variable a condition operand reads: `fp`, or the target of `(fp = fopen(...))`. */
function testedVariable(node: Node): string | null {
  const n = unwrapValue(node);
  if (n.type === 'identifier') return n.text;
  if (n.type === 'assignment_expression' && n.childForFieldName('operator')?.type === '=') {
    const left = n.childForFieldName('left');
    return left?.type === 'identifier' ? left.text : null;
  }
  return null;
}

/**
 * What a condition operand says about a handle variable: on which edge it certainly holds
 * no handle of its own (null, negative, a standard stream or fd 0..2), and whether the other
 * edge proves it valid. `fd > 2` counts too: code that keeps fds 0..2 open on purpose
 * (`if (fd > 2) close(fd);`) is common in daemons.
 */
export function handleTest(cond: Node): { variable: string; noneWhen: boolean; validOtherwise: boolean } | null {
  const n = unwrapValue(cond);
  const direct = testedVariable(n);
  if (direct) return { variable: direct, noneWhen: false, validOtherwise: true };
  if (n.type !== 'binary_expression') return null;
  let op = n.childForFieldName('operator')?.type ?? '';
  if (!COMPARISONS.has(op)) return null;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (!left || !right) return null;
  let variable = testedVariable(left);
  let other = right;
  if (!variable) {
    variable = testedVariable(right);
    other = left;
    const flip: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
    op = flip[op] ?? op;
  }
  if (!variable) return null;
  const s = sentinel(other);
  if (s === null) {
    // `if (fd2 != symfd) close(fd2);`, `if (fd != fds[i])`: when the handle equals a value
    // held elsewhere, that other place is taken to own it (the equal edge is pruned).
    const o = unwrapValue(other);
    if ((op === '==' || op === '!=') && ALIAS_OPERANDS.has(o.type)) return { variable, noneWhen: op === '==', validOtherwise: false };
    return null;
  }
  const validating = s === 'null' || (typeof s === 'number' && s <= 0);
  if (op === '==' || op === '!=') {
    if (s !== 'null' && s !== 'stream' && s > 2) return null;
    return { variable, noneWhen: op === '==', validOtherwise: validating };
  }
  if (typeof s !== 'number') return null;
  // `fd < 0`, `fd <= -1`: true means no handle; `fd <= 2`, `fd < 3`: no handle of its own
  if ((op === '<' && s <= 3) || (op === '<=' && s <= 2)) return { variable, noneWhen: true, validOtherwise: op === '<' ? s <= 0 : s < 0 };
  // `fd >= 0`, `fd > -1`, `fd > 2`, `fd >= 3`: false means no handle (or a std fd)
  if ((op === '>=' && s >= 0) || (op === '>' && s >= -1)) return { variable, noneWhen: false, validOtherwise: s <= 0 };
  return null;
}

function isExitCall(call: Node, ctx: FileContextForCfg): boolean {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'identifier') return false;
  const name = fn.text;
  if (NORETURN_CALLS.has(name)) return true;
  if (EXIT_WHEN_STATUS_NONZERO.has(name)) {
    const status = call.childForFieldName('arguments')?.namedChild(0);
    if (!status) return false;
    if (status.type === 'identifier') return status.text === 'EXIT_FAILURE';
    const v = integerValue(status);
    return v !== null && v !== 0;
  }
  return ctx.isLocalFunction(name) && ctx.isNoreturn(name);
}

/**
 * Builds the graph of one function definition. Returns null when the body has syntax
 * errors (a guessed graph would produce false reports) or no body.
 */
export function buildFunctionGraph(definition: Node, ctx: FileContextForCfg, text: string): CFunctionGraph | null {
  const body = definition.childForFieldName('body');
  if (!body || body.hasError) return null;
  return new Builder(definition, body, ctx, text).build();
}

interface LoopFrame {
  breaks: Pending[];
  continueTo: CNode | null;
  /** Start index of the statement `break` leaves and of the loop `continue` restarts. */
  breakOwner: number;
  continueOwner: number;
}

interface SwitchFrame {
  head: CNode;
  hasDefault: boolean;
}

class Builder {
  private readonly graph = new FlowGraph<CPayload>();
  private readonly labels = new Map<string, CNode>();
  private readonly labelStarts = new Map<string, number>();
  private readonly validOnEdge = new Map<number, Map<number, Set<string> | null>>();
  /** Nodes whose outgoing edges carry test results (condition operands). */
  private readonly testNodes = new Set<number>();
  private readonly loops: LoopFrame[] = [];
  private readonly switches: SwitchFrame[] = [];
  private readonly openSites: OpenSite[] = [];
  private readonly unboundSites: UnboundSite[] = [];
  /** Local (automatic) variables: name → declaring blocks, innermost last in text order. */
  private readonly locals = new Map<string, { start: number; end: number; at: number }[]>();
  private readonly params: string[];
  /** Blocks (by start index) that declare at least one local. */
  private readonly declaringBlocks = new Set<number>();

  constructor(
    private readonly definition: Node,
    private readonly body: Node,
    private readonly ctx: FileContextForCfg,
    private readonly text: string,
  ) {
    this.params = parameterNames(definition);
    for (const p of this.params) if (p) this.addLocal(p, body, definition.startIndex);
  }

  build(): CFunctionGraph {
    const entry = this.graph.add(null, { kind: 'entry' });
    const out = this.statement(this.body, [{ from: entry }], this.body);
    const close = this.body.lastChild;
    const endRange: Range = close ? nodeRange(close) : nodeRange(this.body);
    const endExit = this.graph.add(endRange, { kind: 'exit', site: close ?? this.body }, 'end');
    this.connect(out, endExit);
    const reachable = new Set<number>([entry.id]);
    const stack = [entry.id];
    while (stack.length > 0) {
      const id = stack.pop()!;
      for (const e of this.graph.nodes[id].succ) {
        if (!reachable.has(e.to)) {
          reachable.add(e.to);
          stack.push(e.to);
        }
      }
    }
    return {
      name: functionName(this.definition) ?? '',
      definition: this.definition,
      body: this.body,
      graph: this.graph,
      entry,
      endExit,
      params: this.params,
      openSites: this.openSites,
      unboundSites: this.unboundSites,
      validOnEdge: this.validOnEdge,
      labelStarts: this.labelStarts,
      reachable,
    };
  }

  // ---- helpers -------------------------------------------------------------------------

  private addLocal(name: string, scope: Node, at: number): void {
    let list = this.locals.get(name);
    if (!list) {
      list = [];
      this.locals.set(name, list);
    }
    list.push({ start: scope.startIndex, end: scope.endIndex, at });
    this.declaringBlocks.add(scope.startIndex);
  }

  /** The block that declares `name` as seen from `index`, or null when it is not a local. */
  private localScope(name: string, index: number): { start: number; end: number } | null {
    const list = this.locals.get(name);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i];
      if (s.at <= index && s.start <= index && index <= s.end) return s;
    }
    return null;
  }

  private connect(preds: Pending[], to: CNode): void {
    for (const p of preds) {
      this.graph.edge(p.from, to, p.nullVars ? { nullVars: p.nullVars } : {});
      if (!this.testNodes.has(p.from.id)) continue;
      let byTarget = this.validOnEdge.get(p.from.id);
      if (!byTarget) {
        byTarget = new Map();
        this.validOnEdge.set(p.from.id, byTarget);
      }
      const here = p.validVars && p.validVars.length > 0 ? new Set(p.validVars) : null;
      const known = byTarget.get(to.id);
      if (known === undefined) byTarget.set(to.id, here);
      else if (known !== null) {
        if (here === null) byTarget.set(to.id, null);
        else for (const v of known) if (!here.has(v)) known.delete(v);
      }
    }
  }

  private join(preds: Pending[], kind: PayloadKind = 'join', tree?: Node): CNode {
    const node = this.graph.add(tree ? nodeRange(tree) : null, { kind, tree });
    this.connect(preds, node);
    return node;
  }

  private labelNode(name: string): CNode {
    let node = this.labels.get(name);
    if (!node) {
      node = this.graph.add(null, { kind: 'label', label: name });
      this.labels.set(name, node);
    }
    return node;
  }

  /**
   * A node that evaluates `tree`; returns the node and the tail that outgoing edges leave
   * from (a separate `held` node when the expression opens a handle).
   */
  private evaluate(tree: Node, preds: Pending[], kind: PayloadKind = 'eval'): { node: CNode; tail: CNode } {
    const facts = this.scan(tree);
    const node = this.graph.add(nodeRange(tree), { kind, tree, facts });
    this.connect(preds, node);
    for (const u of facts.unbound) this.unboundSites.push({ api: u.api, call: u.call, evalNode: node });
    if (facts.opens.length === 0) return { node, tail: node };
    const held = this.graph.add(nodeRange(tree), { kind: 'held', tree });
    this.graph.edge(node, held);
    for (const o of facts.opens) {
      // Stored or released by the same statement (`*fdp = fd = socket(...)`): nothing to follow.
      if (facts.escapes.has(o.variable) || facts.releases.has(o.variable)) continue;
      const scope = this.localScope(o.variable, o.call.startIndex);
      if (scope) this.openSites.push({ ...o, evalNode: node, held, scope: { start: scope.start, end: scope.end } });
    }
    return { node, tail: held };
  }

  private exit(kind: 'return' | 'process-exit', tree: Node): CNode {
    return this.graph.add(nodeRange(tree), { kind: 'exit', site: tree }, kind);
  }

  // ---- statements ----------------------------------------------------------------------

  private sequence(children: (Node | null)[], preds: Pending[], scope: Node): Pending[] {
    let cur = preds;
    for (const child of children) {
      if (child?.isNamed) cur = this.statement(child, cur, scope);
    }
    return cur;
  }

  private statement(n: Node, preds: Pending[], scope: Node): Pending[] {
    switch (n.type) {
      case 'compound_statement': {
        const out = this.sequence(n.namedChildren, preds, n);
        if (n.startIndex === this.body.startIndex || !this.declaringBlocks.has(n.startIndex)) return out;
        const brace = n.lastChild;
        const end = this.graph.add(nodeRange(brace ?? n), { kind: 'block-end', site: brace ?? n, leaves: n.startIndex });
        this.connect(out, end);
        return [{ from: end }];
      }
      case 'expression_statement': {
        if (n.namedChildCount === 0) return preds;
        const { tail, node } = this.evaluate(n, preds);
        if (node.payload?.facts?.noreturn) {
          this.graph.edge(tail, this.exit('process-exit', n));
          return [];
        }
        return [{ from: tail }];
      }
      case 'declaration': {
        this.declare(n, scope);
        const { tail } = this.evaluate(n, preds);
        return [{ from: tail }];
      }
      case 'if_statement': {
        // `else if` chains are walked in a loop: generated code can chain thousands.
        const out: Pending[] = [];
        let current = n;
        let incoming = preds;
        for (;;) {
          const cond = current.childForFieldName('condition');
          const condId = this.graph.nodes.length;
          const branches = cond ? this.condition(cond, incoming) : { t: [...incoming], f: [...incoming] };
          const consequence = current.childForFieldName('consequence');
          const firstId = this.graph.nodes.length;
          const t = consequence ? this.statement(consequence, branches.t, scope) : branches.t;
          for (const p of t) out.push(p);
          const alternative = current.childForFieldName('alternative');
          if (!alternative) {
            if (t.length > 0) this.trustGuardedRelease(condId, firstId, branches.f);
            for (const p of branches.f) out.push(p);
            return out;
          }
          const inner = alternative.namedChildren.filter((c) => c?.type !== 'comment');
          if (inner.length === 1 && inner[0]?.type === 'if_statement') {
            current = inner[0];
            incoming = branches.f;
            continue;
          }
          for (const p of this.sequence(alternative.namedChildren, branches.f, scope)) out.push(p);
          return out;
        }
      }
      case 'while_statement': {
        const head = this.join(preds);
        const cond = n.childForFieldName('condition');
        const branches = cond ? this.condition(cond, [{ from: head }]) : { t: [{ from: head }], f: [] };
        const frame: LoopFrame = { breaks: [], continueTo: head, breakOwner: n.startIndex, continueOwner: n.startIndex };
        this.loops.push(frame);
        const bodyNode = n.childForFieldName('body');
        const out = bodyNode ? this.statement(bodyNode, branches.t, scope) : branches.t;
        this.loops.pop();
        this.connect(out, head);
        return [...branches.f, ...frame.breaks];
      }
      case 'do_statement': {
        const top = this.join(preds);
        const again = this.graph.add(null, { kind: 'join' });
        const frame: LoopFrame = { breaks: [], continueTo: again, breakOwner: n.startIndex, continueOwner: n.startIndex };
        this.loops.push(frame);
        const bodyNode = n.childForFieldName('body');
        const out = bodyNode ? this.statement(bodyNode, [{ from: top }], scope) : [{ from: top }];
        this.loops.pop();
        this.connect(out, again);
        const cond = n.childForFieldName('condition');
        const branches = cond ? this.condition(cond, [{ from: again }]) : { t: [], f: [{ from: again }] };
        this.connect(branches.t, top);
        return [...branches.f, ...frame.breaks];
      }
      case 'for_statement':
        return this.forStatement(n, preds);
      case 'switch_statement': {
        const cond = n.childForFieldName('condition');
        const head = cond ? this.evaluate(cond, preds).tail : this.join(preds);
        const sw: SwitchFrame = { head, hasDefault: false };
        const outer = this.loops.at(-1);
        const frame: LoopFrame = {
          breaks: [],
          continueTo: outer?.continueTo ?? null,
          breakOwner: n.startIndex,
          continueOwner: outer?.continueOwner ?? n.startIndex,
        };
        this.switches.push(sw);
        this.loops.push(frame);
        const bodyNode = n.childForFieldName('body');
        const out = bodyNode ? this.statement(bodyNode, [], scope) : [];
        this.loops.pop();
        this.switches.pop();
        const result = [...out, ...frame.breaks];
        if (!sw.hasDefault) result.push({ from: head });
        return result;
      }
      case 'case_statement': {
        const entry = this.join(preds);
        const sw = this.switches.at(-1);
        if (sw) {
          this.graph.edge(sw.head, entry);
          if (!n.childForFieldName('value')) sw.hasDefault = true;
        }
        const children: Node[] = [];
        for (let i = 0; i < n.childCount; i++) {
          const c = n.child(i);
          if (c?.isNamed && n.fieldNameForChild(i) !== 'value') children.push(c);
        }
        return this.sequence(children, [{ from: entry }], scope);
      }
      case 'break_statement': {
        const node = this.join(preds, 'break', n);
        const frame = this.loops.at(-1);
        if (node.payload) node.payload.leaves = frame?.breakOwner;
        if (frame) frame.breaks.push({ from: node });
        return [];
      }
      case 'continue_statement': {
        const node = this.join(preds, 'continue', n);
        if (node.payload) node.payload.leaves = this.loops.at(-1)?.continueOwner;
        const target = this.loops.at(-1)?.continueTo;
        if (target) this.graph.edge(node, target);
        return [];
      }
      case 'return_statement': {
        const { tail } = this.evaluate(n, preds, 'return');
        this.graph.edge(tail, this.exit('return', n));
        return [];
      }
      case 'goto_statement': {
        const label = n.childForFieldName('label');
        const node = this.graph.add(nodeRange(n), { kind: 'goto', tree: n, label: label?.text });
        this.connect(preds, node);
        // A computed goto (`goto *p;`) cannot be followed: end the path silently.
        this.graph.edge(node, label ? this.labelNode(label.text) : this.exit('process-exit', n));
        return [];
      }
      case 'labeled_statement': {
        const label = n.childForFieldName('label');
        if (!label) return this.sequence(n.namedChildren, preds, scope);
        const node = this.labelNode(label.text);
        node.payload = { kind: 'label', label: label.text, tree: n };
        node.range = nodeRange(label);
        this.labelStarts.set(label.text, n.startIndex);
        this.connect(preds, node);
        const children: Node[] = [];
        for (let i = 0; i < n.childCount; i++) {
          const c = n.child(i);
          if (c?.isNamed && n.fieldNameForChild(i) !== 'label') children.push(c);
        }
        return this.sequence(children, [{ from: node }], scope);
      }
      case 'attributed_statement':
        return this.sequence(
          n.namedChildren.filter((c) => c?.type !== 'attribute_declaration'),
          preds,
          scope,
        );
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_elif':
      case 'preproc_elifdef':
        return this.preprocessorBranch(n, preds, scope);
      case 'preproc_else':
        return this.sequence(n.namedChildren, preds, scope);
      default:
        if (SKIPPED_STATEMENTS.has(n.type)) return preds;
        return [{ from: this.evaluate(n, preds).tail }];
    }
  }

  /**
   * `if (madesock) close(sock);`, `if (fd < 0) close(newfd);`: a branch without `else` that
   * releases a handle and then carries on where the skipped branch carries on. The condition
   * is the author's record of when the handle is owned (a flag, another variable); the path
   * that skips the release is taken to hold no handle of its own. Branches that release and
   * then leave (`{ fclose(fp); return -1; }`) are not affected.
   */
  private trustGuardedRelease(condId: number, firstId: number, skipping: Pending[]): void {
    const released = new Set<string>();
    for (let id = firstId; id < this.graph.nodes.length; id++) {
      const facts = this.graph.nodes[id].payload?.facts;
      if (facts) for (const v of facts.releases) released.add(v);
    }
    // A condition that reads the handle itself (`if (f != NULL && fscanf(f, ...) == 1)`)
    // is about the handle, not about ownership: its other edges are followed as usual.
    for (let id = condId; id < firstId; id++) {
      const facts = this.graph.nodes[id].payload?.facts;
      if (facts) for (const v of facts.reads) released.delete(v);
    }
    if (released.size === 0) return;
    for (let i = 0; i < skipping.length; i++) {
      const p = skipping[i];
      const extra = [...released].filter((v) => !p.nullVars?.includes(v));
      if (extra.length > 0) skipping[i] = { ...p, nullVars: [...(p.nullVars ?? []), ...extra] };
    }
  }

  /** `#if A ... #elif B ... #else ... #endif` inside a body: each branch is an alternative path. */
  private preprocessorBranch(n: Node, preds: Pending[], scope: Node): Pending[] {
    const condition = n.childForFieldName('condition');
    const disabled = condition !== null && condition.type === 'number_literal' && integerValue(condition) === 0;
    const children: Node[] = [];
    for (let i = 0; i < n.childCount; i++) {
      const c = n.child(i);
      const field = n.fieldNameForChild(i);
      if (c?.isNamed && field !== 'condition' && field !== 'name' && field !== 'alternative') children.push(c);
    }
    const taken = disabled ? [] : this.sequence(children, preds, scope);
    const alternative = n.childForFieldName('alternative');
    const other = alternative ? this.statement(alternative, preds, scope) : preds;
    return [...taken, ...other];
  }

  private forStatement(n: Node, preds: Pending[]): Pending[] {
    let cur = preds;
    const init = n.childForFieldName('initializer');
    if (init) {
      if (init.type === 'declaration') this.declare(init, n);
      cur = [{ from: this.evaluate(init, cur).tail }];
    }
    const head = this.join(cur);
    const cond = n.childForFieldName('condition');
    const branches = cond ? this.condition(cond, [{ from: head }]) : { t: [{ from: head }], f: [] };
    const updateTree = n.childForFieldName('update');
    const update = updateTree ? this.evaluate(updateTree, []) : null;
    if (update) this.graph.edge(update.tail, head);
    const frame: LoopFrame = { breaks: [], continueTo: update ? update.node : head, breakOwner: n.startIndex, continueOwner: n.startIndex };
    this.loops.push(frame);
    const bodyNode = n.childForFieldName('body');
    const out = bodyNode ? this.statement(bodyNode, branches.t, n) : branches.t;
    this.loops.pop();
    this.connect(out, update ? update.node : head);
    return [...branches.f, ...frame.breaks];
  }

  /** Splits a condition on `!`, `&&`, `||` and constants; each operand becomes a node. */
  private condition(expr: Node, preds: Pending[]): { t: Pending[]; f: Pending[] } {
    const n = unwrapValue(expr);
    if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
      const arg = n.childForFieldName('argument');
      if (arg) {
        const inner = this.condition(arg, preds);
        return { t: inner.f, f: inner.t };
      }
    }
    if (n.type === 'binary_expression') {
      const op = n.childForFieldName('operator')?.type;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left && right && op === '&&') {
        const a = this.condition(left, preds);
        const b = this.condition(right, a.t);
        for (const p of b.f) a.f.push(p);
        return { t: b.t, f: a.f };
      }
      if (left && right && op === '||') {
        const a = this.condition(left, preds);
        const b = this.condition(right, a.f);
        for (const p of b.t) a.t.push(p);
        return { t: a.t, f: b.f };
      }
    }
    if (n.type === 'number_literal' || n.type === 'true' || n.type === 'false') {
      const truthy = n.type === 'true' || (n.type === 'number_literal' && integerValue(n) !== 0);
      return truthy ? { t: [...preds], f: [] } : { t: [], f: [...preds] };
    }
    const { tail } = this.evaluate(n, preds);
    const test = handleTest(n);
    if (!test) return { t: [{ from: tail }], f: [{ from: tail }] };
    this.testNodes.add(tail.id);
    const none: Pending = { from: tail, nullVars: [test.variable] };
    const some: Pending = { from: tail, validVars: test.validOtherwise ? [test.variable] : undefined };
    return test.noneWhen ? { t: [none], f: [some] } : { t: [some], f: [none] };
  }

  private declare(decl: Node, scope: Node): void {
    for (const c of decl.namedChildren) {
      if (c?.type === 'storage_class_specifier' && (c.text === 'static' || c.text === 'extern')) return;
      // `__attribute__((cleanup(fclosep)))`, `g_autoptr(...)`: the compiler releases it.
      if ((c?.type === 'attribute_specifier' || c?.type === 'attribute_declaration') && AUTO_CLEANUP.test(c.text)) return;
    }
    for (const d of decl.childrenForFieldName('declarator')) {
      const name = d ? declaratorName(d) : null;
      if (name && d) this.addLocal(name, scope, d.startIndex);
    }
  }

  // ---- facts ---------------------------------------------------------------------------

  /**
   * Scans an expression or simple statement once. A tree cursor visits every node; only the
   * few node kinds that matter are turned into `Node` objects (each one costs a trip into
   * WASM), identifiers are read straight from the text.
   */
  private scan(tree: Node): NodeFacts {
    const facts: NodeFacts = {
      releases: new Set(),
      escapes: new Set(),
      assigns: new Set(),
      reads: new Set(),
      localCalls: [],
      opens: [],
      unbound: [],
      noreturn: false,
    };
    if (tree.type === 'expression_statement') {
      const e = tree.namedChild(0);
      const call = e ? unwrapValue(e) : null;
      if (call?.type === 'call_expression' && isExitCall(call, this.ctx)) facts.noreturn = true;
    }
    /** Start indices of identifiers that are written, not read (`fp = ...`, declarators). */
    const targets = new Set<number>();
    const cursor = tree.walk();
    try {
      for (;;) {
        const type = cursor.nodeType;
        let enter = true;
        if (type === 'identifier') {
          const start = cursor.startIndex;
          if (!targets.has(start)) facts.reads.add(this.text.slice(start, cursor.endIndex));
          enter = false;
        } else if (OPAQUE_EXPRESSIONS.has(type)) {
          enter = false;
        } else if (SCANNED_KINDS.has(type)) {
          this.scanNode(cursor.currentNode, facts, targets);
        }
        if (enter && cursor.gotoFirstChild()) continue;
        let moved = false;
        do {
          if (cursor.gotoNextSibling()) {
            moved = true;
            break;
          }
        } while (cursor.gotoParent());
        if (!moved) break;
      }
    } finally {
      cursor.delete();
    }
    return facts;
  }

  private scanNode(n: Node, facts: NodeFacts, targets: Set<number>): void {
    switch (n.type) {
      case 'call_expression':
        this.scanCall(n, facts);
        return;
      case 'assignment_expression': {
        if (n.childForFieldName('operator')?.type !== '=') return;
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        const target = left?.type === 'identifier' ? left.text : null;
        if (target && left) {
          facts.assigns.add(target);
          targets.add(left.startIndex);
        }
        if (right) {
          const vals: string[] = [];
          valueVariables(right, vals);
          for (const v of vals) if (v !== target) facts.escapes.add(v);
        }
        return;
      }
      case 'declaration':
        for (const d of n.childrenForFieldName('declarator')) {
          const id = d && d.type !== 'init_declarator' ? declaratorIdentifier(d) : null;
          if (id) targets.add(id.startIndex);
        }
        return;
      case 'init_declarator': {
        const declarator = n.childForFieldName('declarator');
        const name = declaratorName(declarator);
        const id = declaratorIdentifier(declarator);
        if (id) targets.add(id.startIndex);
        const value = n.childForFieldName('value');
        if (name && value) facts.assigns.add(name);
        if (value && value.type !== 'initializer_list') {
          const vals: string[] = [];
          valueVariables(value, vals);
          for (const v of vals) facts.escapes.add(v);
        }
        return;
      }
      case 'initializer_list':
        for (const item of n.namedChildren) {
          if (!item) continue;
          const value = item.type === 'initializer_pair' ? item.childForFieldName('value') : item;
          if (!value || value.type === 'initializer_list') continue;
          const vals: string[] = [];
          valueVariables(value, vals);
          for (const v of vals) facts.escapes.add(v);
        }
        return;
      case 'return_statement': {
        const value = n.namedChild(0);
        if (value && value.type !== 'comment') {
          const vals: string[] = [];
          valueVariables(value, vals);
          for (const v of vals) facts.escapes.add(v);
        }
        return;
      }
      case 'pointer_expression': {
        const arg = n.childForFieldName('argument');
        if (n.childForFieldName('operator')?.type === '&' && arg) {
          const inner = unwrapValue(arg);
          if (inner.type === 'identifier') facts.escapes.add(inner.text);
        }
        return;
      }
      default:
        return;
    }
  }

  private scanCall(call: Node, facts: NodeFacts): void {
    const fn = call.childForFieldName('function');
    const callee = fn?.type === 'identifier' ? fn.text : null;
    const args = call.childForFieldName('arguments');
    if (args) {
      let index = 0;
      for (const arg of args.namedChildren) {
        if (!arg || arg.type === 'comment') continue;
        const inner = unwrapValue(arg);
        if (inner.type === 'identifier') this.classifyArgument(callee, index, inner.text, facts);
        index++;
      }
    }
    if (!callee) return;
    const spec = OPENERS.get(callee);
    if (spec) this.classifyOpen(call, callee, spec, facts);
  }

  /**
   * What passing handle `v` as argument `index` of `callee` does.
   *
   * NOTE (precision choice): a handle passed to a function this file does not define and the
   * tables do not list is taken to be handed over (the callee may store or close it). That
   * trades missed leaks for silence on the many project-specific wrappers (`xclose`,
   * `conn_attach(fd)`, `add_to_poll_set(fd)`) whose behaviour cannot be seen from here.
   * Functions of the same file are summarised instead: they take over the handle only
   * when they release or hand it on along every path.
   */
  private classifyArgument(callee: string | null, index: number, v: string, facts: NodeFacts): void {
    if (callee === null) {
      facts.escapes.add(v);
      return;
    }
    if (RELEASERS.has(callee)) {
      facts.releases.add(v);
      return;
    }
    const spec = OPENERS.get(callee);
    if (spec) {
      if (spec.consumesArg === index) facts.escapes.add(v);
      return;
    }
    const consumed = CONSUMERS.get(callee);
    if (consumed !== undefined) {
      if (consumed === index) facts.escapes.add(v);
      return;
    }
    if (NON_OWNING_USES.has(callee) || NORETURN_CALLS.has(callee) || EXIT_WHEN_STATUS_NONZERO.has(callee) || TRANSPARENT_WRAPPERS.has(callee)) return;
    if (this.ctx.isLocalFunction(callee)) {
      facts.localCalls.push({ callee, index, variable: v });
      return;
    }
    facts.escapes.add(v);
  }

  /** Decides what the result of an opener call is bound to. */
  private classifyOpen(call: Node, api: string, spec: OpenerSpec, facts: NodeFacts): void {
    let cur: Node = call;
    let parent = cur.parent;
    while (parent) {
      if (parent.type === 'parenthesized_expression' || parent.type === 'cast_expression') {
        cur = parent;
        parent = cur.parent;
        continue;
      }
      if (parent.type === 'argument_list') {
        const wrapper = parent.parent;
        const wfn = wrapper?.childForFieldName('function');
        if (wrapper && wfn?.type === 'identifier' && TRANSPARENT_WRAPPERS.has(wfn.text) && parent.namedChild(0)?.equals(cur)) {
          cur = wrapper;
          parent = cur.parent;
          continue;
        }
      }
      break;
    }
    if (!parent) return;
    switch (parent.type) {
      case 'assignment_expression': {
        const left = parent.childForFieldName('left');
        const right = parent.childForFieldName('right');
        if (parent.childForFieldName('operator')?.type === '=' && right?.equals(cur) && left?.type === 'identifier') {
          if (this.localScope(left.text, call.startIndex)) facts.opens.push({ variable: left.text, api, spec, call });
        }
        return;
      }
      case 'init_declarator': {
        const name = declaratorName(parent.childForFieldName('declarator'));
        if (name && parent.childForFieldName('value')?.equals(cur) && this.localScope(name, call.startIndex)) {
          facts.opens.push({ variable: name, api, spec, call });
        }
        return;
      }
      case 'expression_statement':
        if (!spec.discardedIsIdiom) facts.unbound.push({ api, call });
        return;
      case 'binary_expression':
        if (COMPARISONS.has(parent.childForFieldName('operator')?.type ?? '')) facts.unbound.push({ api, call });
        return;
      case 'argument_list': {
        const user = parent.parent?.childForFieldName('function');
        if (user?.type === 'identifier' && NON_OWNING_USES.has(user.text) && !OPENERS.has(user.text)) facts.unbound.push({ api, call });
        return;
      }
      default:
        return;
    }
  }
}

/** Variables proven valid (non-null, non-negative) on the edge `from` → `to`. */
export function validOn(fn: CFunctionGraph, from: number, to: number): Set<string> | null | undefined {
  return fn.validOnEdge.get(from)?.get(to);
}

/** Answers "what does node `n` do to variable `v`", resolving same-file calls lazily. */
export function effectOf(
  n: CNode,
  v: string,
  takesOwnership: (callee: string, index: number) => boolean,
): HandleEffect {
  const facts = n.payload?.facts;
  if (!facts) return 'none';
  if (facts.releases.has(v)) return 'release';
  if (facts.escapes.has(v)) return 'escape';
  for (const c of facts.localCalls) {
    if (c.variable === v && takesOwnership(c.callee, c.index)) return 'escape';
  }
  if (facts.assigns.has(v)) return 'overwrite';
  return 'none';
}

/** True when the function takes over parameter `index` on every path (closes it or hands it on). */
export function ownsParameter(
  fn: CFunctionGraph,
  index: number,
  takesOwnership: (callee: string, index: number) => boolean,
): boolean {
  const name = fn.params[index];
  if (!name) return true;
  const leak = findLeak(fn.graph, fn.entry, name, (n) => effectOf(n, name, takesOwnership));
  return leak === null;
}

/** True when no `return` or end of body is reachable: every path ends in a process exit. */
export function neverReturns(fn: CFunctionGraph): boolean {
  for (const id of fn.reachable) {
    const exit = fn.graph.nodes[id].exit;
    if (exit === 'return' || exit === 'end') return false;
  }
  return true;
}
