/**
 * The C control-flow graph of one function as the handle analysis uses it: the payload of a
 * node (what it evaluates and the facts scanned from it), the open sites found while building,
 * and the questions asked of a built graph: is a variable proven valid on an edge, what does a
 * node do to a handle, does the function take over a parameter, does it never return.
 * The graph is built in `cfg.ts`.
 */
import { findLeak, type FlowGraph, type FlowNode, type HandleEffect } from '../flow';
import type { Node } from '../../parsing/parser';
import type { OpenerSpec } from '../../knowledge/c-handles';

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
  /** The call that released each variable of {@link releases}, with its range. */
  releasedBy: Map<string, { callee: string; call: Node }>;
  escapes: Set<string>;
  /**
   * Handles passed to a function this file does not define and the tables do not know
   * (counted in {@link escapes}: presumed handed over). A summary of that function in
   * another file may show it only uses them.
   */
  presumed: { callee: string; index: number; variable: string }[];
  /** Escapes for another reason than {@link presumed}: certain hand-overs. */
  firmEscapes: Set<string>;
  /** Variables given a new value by `=` or an initialiser. */
  assigns: Set<string>;
  /** Variables whose value is read (anything but the target of `=` or a declarator). */
  reads: Set<string>;
  /** Handles passed to functions defined in this file; resolved lazily through summaries. */
  localCalls: { callee: string; index: number; variable: string }[];
  opens: { variable: string; api: string; spec: OpenerSpec; call: Node }[];
  /**
   * `f = fdopen(fd, …)`: the stream `by` owns `variable` from here on, but only if the call
   * succeeded — where `by` is null, `variable` is still the caller's to close.
   */
  adopts: { variable: string; by: string }[];
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
