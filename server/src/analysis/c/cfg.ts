/**
 * Builds the control-flow graphs of C function bodies for the handle analysis, on the generic
 * `FlowGraph` of `analysis/flow.ts`.
 *
 * One graph node per statement or per condition operand (`a && b` is split so that
 * `if ((fd = open(p, 0)) < 0 || fstat(fd, &st) < 0)` is seen to leak `fd` when `fstat`
 * fails). While a node is created, its expressions are scanned once into `NodeFacts`
 * (what it releases, hands over, overwrites, opens; see `cfg-facts.ts`), so the path search
 * later asks nothing of the tree. The graph's types and the questions asked of a built graph
 * are in `cfg-graph.ts`; the readers of C expressions and tests in `syntax.ts`.
 *
 * Modelled: blocks, if/else, while/do/for (constant conditions included), switch with
 * fallthrough, break/continue, return, goto/labels, `#if`/`#else` branches as alternative
 * paths (`#if 0` skipped), calls that never return (`exit`, `abort`, `err`, functions of the
 * same file whose every path ends in one of those) as process exits. C has no exceptions,
 * so no edge is `exceptional`.
 */
import { FlowGraph } from '../flow';
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import { declaratorName } from '../../facts/c/declarators';
import type { CFunctionGraph, CNode, CPayload, OpenSite, PayloadKind, UnboundSite } from './cfg-graph';
import { NodeFactScanner, type FileContextForCfg } from './cfg-facts';
import { elementBase, functionName, handleTest, integerValue, parameterNames, unwrapValue } from './syntax';
import { OUT_ARRAY_OPENERS } from '../../knowledge/c-handles';

interface Pending {
  from: CNode;
  nullVars?: string[];
  /** Variables known to hold a valid (non-null, non-negative) handle along this edge. */
  validVars?: string[];
}

const AUTO_CLEANUP = /\b(?:cleanup|__cleanup__)\b/;
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

/**
 * Builds the graph of one function definition. Returns null when the body has no body or
 * syntax errors that could change its control flow (a guessed graph would produce false
 * reports); see {@link onlyMissingCallSemicolons} for the one recovery that is trusted.
 */
export function buildFunctionGraph(definition: Node, ctx: FileContextForCfg, text: string): CFunctionGraph | null {
  const body = definition.childForFieldName('body');
  if (!body || (body.hasError && !onlyMissingCallSemicolons(body))) return null;
  return new Builder(definition, body, ctx, text).build();
}

/**
 * Whether the only syntax errors under `node` are semicolons missing after a call statement.
 * Statement-like macros are often written without one (`TRACE(("no socket"))` in Dropbear,
 * whose expansion brings its own `;` or nothing); the parser recovers by inserting the `;`
 * and keeps the next statement as it is, so the graph is the one the compiler sees. Any
 * other error (an ERROR node, another missing token) keeps the function out of the analysis.
 */
function onlyMissingCallSemicolons(node: Node): boolean {
  if (node.isMissing) {
    const statement = node.parent;
    return node.type === ';' && statement?.type === 'expression_statement' && statement.firstNamedChild?.type === 'call_expression';
  }
  if (node.isError) return false;
  if (!node.hasError) return true;
  for (const child of node.children) {
    if (child && !onlyMissingCallSemicolons(child)) return false;
  }
  return true;
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
  /** The flag conditions (`flags & JOB_PTY` true/false) the branch being built runs under. */
  private readonly branchConditions: { key: string; value: boolean }[] = [];
  /** For each handle variable, the flag conditions of every place it was opened so far. */
  private readonly openedUnder = new Map<string, { key: string; value: boolean }[][]>();
  private readonly unboundSites: UnboundSite[] = [];
  /** Local (automatic) variables: name → declaring blocks, innermost last in text order. */
  private readonly locals = new Map<string, { start: number; end: number; at: number }[]>();
  private readonly params: string[];
  /** Blocks (by start index) that declare at least one local. */
  private readonly declaringBlocks = new Set<number>();
  private readonly facts: NodeFactScanner;
  /** The function's text spells an array-filling opener (`pipe`, `socketpair`): only then can a condition test one. */
  private readonly fillsArrays: boolean;

  constructor(
    private readonly definition: Node,
    private readonly body: Node,
    ctx: FileContextForCfg,
    text: string,
  ) {
    this.facts = new NodeFactScanner(ctx, text, (name, index) => this.localScope(name, index));
    this.params = parameterNames(definition);
    const start = definition.startIndex;
    const end = definition.endIndex;
    this.fillsArrays = [...OUT_ARRAY_OPENERS.keys()].some((name) => {
      const at = text.indexOf(name, start);
      return at >= 0 && at + name.length <= end;
    });
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
    const list = this.locals.get(elementBase(name));
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i];
      if (s.at <= index && s.start <= index && index <= s.end) return s;
    }
    return null;
  }

  /**
   * A later test of a flag that decided where a handle was opened: `if (flags & PTY) … else
   * pipe(fds)`, then `if (~flags & PTY) close(fds[1]); else …`. On the edge where the flag
   * says the other branch was taken, a handle opened only under it does not exist.
   */
  private correlate(flag: { key: string; negated: boolean }, branches: { t: Pending[]; f: Pending[] }): void {
    for (const [variable, sites] of this.openedUnder) {
      let opposite: boolean | undefined;
      for (const conds of sites) {
        const c = conds.find((x) => x.key === flag.key);
        if (!c || (opposite !== undefined && opposite !== !c.value)) {
          opposite = undefined;
          break;
        }
        opposite = !c.value;
      }
      if (opposite === undefined) continue;
      // The edge on which the flag has the value the opens did not run under.
      const edgeValueTrue = flag.negated ? !opposite : opposite;
      const list = edgeValueTrue ? branches.t : branches.f;
      for (let i = 0; i < list.length; i++) list[i] = { ...list[i], nullVars: [...(list[i].nullVars ?? []), variable] };
    }
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
    const facts = this.facts.scan(tree);
    const node = this.graph.add(nodeRange(tree), { kind, tree, facts });
    this.connect(preds, node);
    for (const u of facts.unbound) this.unboundSites.push({ api: u.api, call: u.call, evalNode: node });
    if (facts.opens.length === 0) return { node, tail: node };
    const held = this.graph.add(nodeRange(tree), { kind: 'held', tree });
    this.graph.edge(node, held);
    for (const o of facts.opens) {
      // Stored or released by the same statement (`*fdp = fd = socket(...)`): nothing to follow.
      if (facts.escapes.has(o.variable) || facts.releases.has(o.variable)) continue;
      // `int make_pipe(int fds[2]) { pipe(fds); … }`: the caller's array, the caller's descriptors.
      if (o.variable.includes('[') && this.params.includes(elementBase(o.variable))) continue;
      const scope = this.localScope(o.variable, o.call.startIndex);
      if (scope) {
        this.openSites.push({ ...o, evalNode: node, held, scope: { start: scope.start, end: scope.end } });
        const under = this.openedUnder.get(o.variable) ?? [];
        under.push([...this.branchConditions]);
        this.openedUnder.set(o.variable, under);
      }
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
          const flag = cond ? flagCondition(cond) : null;
          if (flag) this.correlate(flag, branches);
          const consequence = current.childForFieldName('consequence');
          const firstId = this.graph.nodes.length;
          if (flag) this.branchConditions.push({ key: flag.key, value: !flag.negated });
          const t = consequence ? this.statement(consequence, branches.t, scope) : branches.t;
          if (flag) this.branchConditions.pop();
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
          if (flag) this.branchConditions.push({ key: flag.key, value: flag.negated });
          for (const p of this.sequence(alternative.namedChildren, branches.f, scope)) out.push(p);
          if (flag) this.branchConditions.pop();
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
    const filled = this.fillsArrays ? arrayOpenTest(n) : null;
    if (filled) {
      // `if (pipe(fds) < 0)`: on the failing edge neither descriptor exists.
      this.testNodes.add(tail.id);
      const failed: Pending = { from: tail, nullVars: filled.variables };
      return filled.failsWhenTrue ? { t: [failed], f: [{ from: tail }] } : { t: [{ from: tail }], f: [failed] };
    }
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
}

/**
 * A condition that tests the result of an array-filling opener where it is called:
 * `pipe(fds) < 0`, `pipe(fds) == -1`, `pipe(fds) != 0`, `pipe(fds)` (non-zero is failure),
 * `!pipe(fds)` and `pipe(fds) == 0` / `>= 0` (true is success). Returns the elements it
 * opens and on which edge the call failed.
 */
function arrayOpenTest(cond: Node): { variables: string[]; failsWhenTrue: boolean } | null {
  let n = unwrapValue(cond);
  let negated = false;
  while (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
    negated = !negated;
    const arg = n.childForFieldName('argument');
    if (!arg) return null;
    n = unwrapValue(arg);
  }
  let call = n;
  let failsWhenTrue = true;
  if (n.type === 'binary_expression') {
    const op = n.childForFieldName('operator')?.type ?? '';
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const value = right ? integerValue(right) : null;
    if (!left || value === null) return null;
    call = unwrapValue(left);
    if ((op === '<' && value === 0) || (op === '==' && value === -1) || (op === '!=' && value === 0) || (op === '<=' && value === -1)) failsWhenTrue = true;
    else if ((op === '==' && value === 0) || (op === '>=' && value === 0) || (op === '!=' && value === -1) || (op === '>' && value === -1)) failsWhenTrue = false;
    else return null;
  }
  if (call.type !== 'call_expression') return null;
  const fn = call.childForFieldName('function');
  const filler = fn?.type === 'identifier' ? OUT_ARRAY_OPENERS.get(fn.text) : undefined;
  if (!filler) return null;
  const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
  const array = args[filler.arrayArgument] ? unwrapValue(args[filler.arrayArgument]) : null;
  if (array?.type !== 'identifier') return null;
  const variables = Array.from({ length: filler.elements }, (_, i) => `${array.text}[${i}]`);
  return { variables, failsWhenTrue: negated ? !failsWhenTrue : failsWhenTrue };
}

/**
 * A condition that tests a flag rather than a handle, reduced to a key and a polarity so
 * two tests of the same flag can be matched: `flags & PTY` and `~flags & PTY` (or
 * `!(flags & PTY)`, `(flags & PTY) == 0`) share the key `flags&PTY`, the latter negated.
 * Plain names and fields count too (`if (use_pipe)`); calls and assignments never do.
 */
function flagCondition(cond: Node): { key: string; negated: boolean } | null {
  let n = unwrapValue(cond);
  let negated = false;
  for (let guard = 0; guard < 8; guard++) {
    if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
      const arg = n.childForFieldName('argument');
      if (!arg) return null;
      negated = !negated;
      n = unwrapValue(arg);
      continue;
    }
    if (n.type === 'binary_expression') {
      const op = n.childForFieldName('operator')?.type;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (!left || !right) return null;
      if ((op === '==' || op === '!=') && integerValue(right) === 0) {
        if (op === '==') negated = !negated;
        n = unwrapValue(left);
        continue;
      }
      if (op !== '&') return null;
      const l = unwrapValue(left);
      const r = unwrapValue(right);
      const complement = (x: Node) => (x.type === 'unary_expression' && x.childForFieldName('operator')?.type === '~' ? x.childForFieldName('argument') : null);
      const lc = complement(l);
      const rc = complement(r);
      const a = lc ?? l;
      const b = rc ?? r;
      if (lc || rc) negated = !negated;
      const parts = [plainOperand(a), plainOperand(b)];
      if (parts.some((x) => x === null)) return null;
      return { key: (parts as string[]).sort().join('&'), negated };
    }
    const key = plainOperand(n);
    return key === null ? null : { key, negated };
  }
  return null;
}

/** `flags`, `opts->pty`, `JOB_PTY`: a name or field chain, as text; anything else → null. */
function plainOperand(n: Node): string | null {
  const u = unwrapValue(n);
  if (u.type === 'identifier' || u.type === 'field_expression') return u.text.replace(/\s+/g, '');
  return null;
}
