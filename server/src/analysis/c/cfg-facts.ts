/**
 * The fact scan of the C flow-graph builder: reads a statement or expression once, when its
 * graph node is created, and records what it does to handle variables (releases, hands over,
 * overwrites, reads, opens, passes to a function of the same file) and whether it never
 * returns, so the path search later asks nothing of the tree.
 */
import type { Node } from '../../parsing/parser';
import { declaratorIdentifier, declaratorName } from '../../facts/c/declarators';
import { EXIT_WHEN_STATUS_NONZERO, NON_OWNING_USES, NORETURN_CALLS, OUT_ARRAY_OPENERS, TRANSPARENT_WRAPPERS, type OpenerSpec } from '../../knowledge/c-handles';
import type { CKnowledge } from '../../knowledge/knowledge';
import type { NodeFacts } from './cfg-graph';
import { COMPARISONS, elementName, integerValue, unwrapValue, valueVariables } from './syntax';

/** Looks up facts about other functions of the same file (ownership of parameters, no-return). */
export interface FileContextForCfg {
  isLocalFunction(name: string): boolean;
  isNoreturn(name: string): boolean;
  /** The opener, releaser and owner tables (the built-ins merged with the user's models). */
  readonly knowledge: CKnowledge;
}

/** Expressions whose insides never hold a handle use. */
const OPAQUE_EXPRESSIONS = new Set(['sizeof_expression', 'alignof_expression', 'offsetof_expression', 'string_literal', 'concatenated_string', 'char_literal', 'number_literal', 'comment']);
/** Node kinds the fact scan looks at more closely. */
const SCANNED_KINDS = new Set(['call_expression', 'assignment_expression', 'declaration', 'init_declarator', 'initializer_list', 'return_statement', 'pointer_expression']);

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

/** Scans the nodes of one function's graph; `localScope` answers whether a name is a local there. */
export class NodeFactScanner {
  constructor(
    private readonly ctx: FileContextForCfg,
    private readonly text: string,
    private readonly localScope: (name: string, index: number) => { start: number; end: number } | null,
  ) {}

  /**
   * Scans an expression or simple statement once. A tree cursor visits every node; only the
   * few node kinds that matter are turned into `Node` objects (each one costs a trip into
   * WASM), identifiers are read straight from the text.
   */
  scan(tree: Node): NodeFacts {
    const facts: NodeFacts = {
      releases: new Set(),
      releasedBy: new Map(),
      escapes: new Set(),
      presumed: [],
      firmEscapes: new Set(),
      assigns: new Set(),
      reads: new Set(),
      localCalls: [],
      opens: [],
      adopts: [],
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
        const target = left?.type === 'identifier' ? left.text : left ? elementName(left) : null;
        if (target && left) {
          facts.assigns.add(target);
          targets.add(left.startIndex);
        }
        if (right) {
          const vals: string[] = [];
          valueVariables(right, vals);
          for (const v of vals) if (v !== target) addFirmEscape(facts, v);
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
          for (const v of vals) addFirmEscape(facts, v);
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
          for (const v of vals) addFirmEscape(facts, v);
        }
        return;
      case 'return_statement': {
        const value = n.namedChild(0);
        if (value && value.type !== 'comment') {
          const vals: string[] = [];
          valueVariables(value, vals);
          for (const v of vals) addFirmEscape(facts, v);
        }
        return;
      }
      case 'pointer_expression': {
        const arg = n.childForFieldName('argument');
        if (n.childForFieldName('operator')?.type === '&' && arg) {
          const inner = unwrapValue(arg);
          if (inner.type === 'identifier') addFirmEscape(facts, inner.text);
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
        const name = inner.type === 'identifier' ? inner.text : elementName(inner);
        if (name) {
          this.classifyArgument(callee, index, name, facts);
          if (callee && facts.releases.has(name) && !facts.releasedBy.has(name)) facts.releasedBy.set(name, { callee, call });
        }
        index++;
      }
    }
    if (!callee) return;
    const spec = this.ctx.knowledge.openers.get(callee);
    if (spec) this.classifyOpen(call, callee, spec, facts);
    const filler = OUT_ARRAY_OPENERS.get(callee);
    if (filler) this.classifyArrayOpen(call, callee, filler, facts);
  }

  /**
   * `pipe(fds)` on a local array, checked where it is called (`if (pipe(fds) < 0)`) or not
   * at all: `fds[0]` and `fds[1]` are opened. A result kept for a later test (`r = pipe(fds)`)
   * is not followed: where that test says "failed" is beyond this analysis.
   */
  private classifyArrayOpen(call: Node, api: string, filler: { arrayArgument: number; elements: number; spec: OpenerSpec }, facts: NodeFacts): void {
    const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
    const array = args[filler.arrayArgument] ? unwrapValue(args[filler.arrayArgument]) : null;
    if (array?.type !== 'identifier' || !this.localScope(array.text, call.startIndex)) return;
    let cur: Node = call;
    while (cur.parent && (cur.parent.type === 'parenthesized_expression' || cur.parent.type === 'unary_expression')) cur = cur.parent;
    const p = cur.parent;
    const checkedHere =
      p?.type === 'expression_statement' || p?.type === 'if_statement' || p?.type === 'condition_clause' || (p?.type === 'binary_expression' && COMPARISONS.has(p.childForFieldName('operator')?.type ?? ''));
    if (!checkedHere) return;
    for (let i = 0; i < filler.elements; i++) facts.opens.push({ variable: `${array.text}[${i}]`, api, spec: filler.spec, call });
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
      addFirmEscape(facts, v);
      return;
    }
    const k = this.ctx.knowledge;
    if (k.releasers.has(callee)) {
      facts.releases.add(v);
      return;
    }
    const spec = k.openers.get(callee);
    if (spec && !spec.derived) {
      if (spec.consumesArg === index) addFirmEscape(facts, v);
      return;
    }
    const consumed = k.consumers.get(callee);
    if (consumed !== undefined) {
      if (consumed === index) addFirmEscape(facts, v);
      return;
    }
    if (NON_OWNING_USES.has(callee) || NORETURN_CALLS.has(callee) || EXIT_WHEN_STATUS_NONZERO.has(callee) || TRANSPARENT_WRAPPERS.has(callee)) return;
    if (this.ctx.isLocalFunction(callee)) {
      facts.localCalls.push({ callee, index, variable: v });
      return;
    }
    facts.escapes.add(v);
    facts.presumed.push({ callee, index, variable: v });
  }

  /** `f = fdopen(fd, …)` bound to a local: `f` adopts `fd` (see {@link NodeFacts.adopts}). */
  private adoption(call: Node, spec: OpenerSpec, by: string, facts: NodeFacts): void {
    if (spec.consumesArg === undefined) return;
    const args = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
    const arg = args[spec.consumesArg];
    const inner = arg ? unwrapValue(arg) : null;
    if (inner?.type === 'identifier') facts.adopts.push({ variable: inner.text, by });
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
          if (this.localScope(left.text, call.startIndex)) {
            facts.opens.push({ variable: left.text, api, spec, call });
            this.adoption(call, spec, left.text, facts);
          }
        }
        return;
      }
      case 'init_declarator': {
        const name = declaratorName(parent.childForFieldName('declarator'));
        if (name && parent.childForFieldName('value')?.equals(cur) && this.localScope(name, call.startIndex)) {
          facts.opens.push({ variable: name, api, spec, call });
          this.adoption(call, spec, name, facts);
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
        if (user?.type === 'identifier' && NON_OWNING_USES.has(user.text) && !this.ctx.knowledge.openers.has(user.text)) facts.unbound.push({ api, call });
        return;
      }
      default:
        return;
    }
  }
}

/** A certain hand-over of `v` (stored, returned, given to a known taker). */
function addFirmEscape(facts: NodeFacts, v: string): void {
  facts.escapes.add(v);
  facts.firmEscapes.add(v);
}
