/**
 * A small control-flow graph shared by the language front ends, and the path search that
 * asks "can this handle reach an exit of its owner without being released?".
 *
 * Each language builds its own graph from tree-sitter (statements, branches, loops,
 * `return`/`goto`/`raise`/`throw`, `try`/`finally`, `with`); this module knows nothing of
 * syntax. Edges marked `exceptional` model "this statement may raise": they are searched in
 * a second pass so a plain early-return leak is reported in preference to an exception path.
 */
import type { Range } from '../text/locations';

export type FlowExitKind =
  /** `return` (or falling off the end is `end`) */
  | 'return'
  | 'end'
  /** an exception/throw leaving the function */
  | 'raise'
  /** C `exit()`/`abort()`-like process exit (handles are reclaimed; usually not a leak) */
  | 'process-exit';

export interface FlowNode<P = unknown> {
  id: number;
  /** Span used when this node is reported as evidence. */
  range: Range | null;
  /** Set on exit nodes only. */
  exit?: FlowExitKind;
  succ: FlowEdge[];
  /** Language-specific data (usually the tree-sitter node); never serialised. */
  payload?: P;
}

export interface FlowEdge {
  to: number;
  /** Taken only when the statement raises/throws. */
  exceptional?: boolean;
  /**
   * Names of variables known to hold *no* handle along this edge (the branch of
   * `if (!fp)`, `if (fd < 0)`, `if f is None`): a path that holds one of them is pruned.
   */
  nullVars?: string[];
}

export class FlowGraph<P = unknown> {
  readonly nodes: FlowNode<P>[] = [];

  add(range: Range | null, payload?: P, exit?: FlowExitKind): FlowNode<P> {
    const node: FlowNode<P> = { id: this.nodes.length, range, succ: [], payload, exit };
    this.nodes.push(node);
    return node;
  }

  edge(from: FlowNode<P>, to: FlowNode<P>, options: Omit<FlowEdge, 'to'> = {}): void {
    if (from.succ.some((e) => e.to === to.id && !!e.exceptional === !!options.exceptional && !e.nullVars && !options.nullVars)) return;
    from.succ.push({ to: to.id, ...options });
  }
}

/** What a statement does to the tracked handle. */
export type HandleEffect =
  /** closes it (`close`, `fclose`, `.destroy()`, `with f:` entry, ...) */
  | 'release'
  /** ownership leaves this function (returned, stored in an attribute/global/container, handed to a closer) */
  | 'escape'
  /** the variable is overwritten while it still holds the handle */
  | 'overwrite'
  | 'none';

export interface LeakPath<P> {
  kind: 'exit' | 'overwrite';
  /** The exit node reached, or the statement that overwrote the handle. */
  node: FlowNode<P>;
  /** True when the leak needs an exception/throw edge somewhere on the path. */
  exceptional: boolean;
  /** Nodes from the open to the leak, both included. */
  path: FlowNode<P>[];
}

/**
 * Searches for a path from `start` (the statement that produced the handle, held in
 * `variable`) to an exit on which the handle is neither released nor handed on.
 * Exit kinds listed in `ignoredExits` end a path without a leak (a C `main()` return).
 * Returns null when every path releases it.
 */
export function findLeak<P>(
  graph: FlowGraph<P>,
  start: FlowNode<P>,
  variable: string,
  effect: (node: FlowNode<P>) => HandleEffect,
  ignoredExits: ReadonlySet<FlowExitKind> = new Set(['process-exit']),
): LeakPath<P> | null {
  for (const allowExceptional of [false, true]) {
    const parent = new Map<number, number>();
    const seen = new Set<number>([start.id]);
    const queue: number[] = [];
    let viaException = new Set<number>();
    const push = (from: FlowNode<P>, e: FlowEdge, exceptionalSoFar: boolean) => {
      if (e.exceptional && !allowExceptional) return;
      if (e.nullVars?.includes(variable)) return;
      if (seen.has(e.to)) return;
      seen.add(e.to);
      parent.set(e.to, from.id);
      if (exceptionalSoFar || e.exceptional) viaException.add(e.to);
      queue.push(e.to);
    };
    // The producing statement's own exception edges mean "the open failed": no handle yet.
    for (const e of start.succ) if (!e.exceptional) push(start, e, false);
    while (queue.length > 0) {
      const id = queue.shift()!;
      const node = graph.nodes[id];
      const pathTo = () => {
        const path: FlowNode<P>[] = [];
        for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) path.unshift(graph.nodes[cur]);
        return path;
      };
      if (node.exit) {
        if (ignoredExits.has(node.exit)) continue;
        return { kind: 'exit', node, exceptional: viaException.has(id), path: pathTo() };
      }
      const eff = effect(node);
      if (eff === 'release' || eff === 'escape') continue;
      if (eff === 'overwrite') return { kind: 'overwrite', node, exceptional: viaException.has(id), path: pathTo() };
      for (const e of node.succ) push(node, e, viaException.has(id));
    }
    viaException = new Set();
  }
  return null;
}
