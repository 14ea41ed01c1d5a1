/**
 * The graph walks and evidence chains the program models share: a chain of steps built while
 * a walk goes deeper, the closure of a module (or several) along its edges (Python and
 * TypeScript imports, C calls), the order in which modules no entry point reaches become
 * library roots, a breadth-first walk that remembers how each module was first reached (for
 * "imported from here" chains), and the key that identifies a finding's site across programs.
 */
import type { Range } from '../text/locations';

/** One location of an evidence chain. */
export interface ProgramStep {
  path: string;
  range: Range;
  message: string;
}

/** A chain under construction: its last step and what led there (walks that branch share the parent). */
export interface ChainNode {
  step: ProgramStep;
  parent?: ChainNode;
}

export function push(chain: ChainNode | undefined, step: ProgramStep): ChainNode {
  return { step, parent: chain };
}

/** The chain's steps, first step first. */
export function toSteps(chain: ChainNode | undefined): ProgramStep[] {
  const out: ProgramStep[] = [];
  for (let c = chain; c; c = c.parent) out.push(c.step);
  return out.reverse();
}

/** A site's identity for de-duplicating findings across programs: its module and where it starts. */
export function siteKey(m: { abs: string }, f: { range: Range }): string {
  return `${m.abs}#${f.range.start.line}:${f.range.start.character}`;
}

/** `start` (a module, or several) and every module reachable from it along `next` (depth first). */
export function closure<M>(start: M | readonly M[], next: (m: M) => Iterable<M>): Set<M> {
  const starts = Array.isArray(start) ? (start as readonly M[]) : [start as M];
  const seen = new Set<M>(starts);
  const stack = [...starts];
  while (stack.length) {
    const m = stack.pop()!;
    for (const n of next(m)) if (!seen.has(n)) {
      seen.add(n);
      stack.push(n);
    }
  }
  return seen;
}

/**
 * The order in which modules no entry point reaches (`rest`) are tried as library roots:
 * those no other of them imports first, then the others (import cycles), each in `rest`'s order.
 */
export function libraryRootOrder<M>(rest: readonly M[], next: (m: M) => Iterable<M>): M[] {
  const importedByRest = new Set<M>();
  for (const m of rest) for (const n of next(m)) if (n !== m) importedByRest.add(n);
  return [...rest.filter((m) => !importedByRest.has(m)), ...rest.filter((m) => importedByRest.has(m))];
}

/** What a breadth-first walk from a root found: modules in the order reached, and the edge that first reached each. */
export interface Reach<M, E> {
  order: M[];
  via: Map<M, { from: M; edge: E } | null>;
}

/** Breadth first from `root` along `edges` (so the edge recorded for a module lies on a shortest path). */
export function reach<M, E>(root: M, edges: (m: M) => Iterable<{ to: M; edge: E }>): Reach<M, E> {
  const via = new Map<M, { from: M; edge: E } | null>([[root, null]]);
  const order = [root];
  for (let i = 0; i < order.length; i++) {
    const m = order[i];
    for (const { to, edge } of edges(m)) if (!via.has(to)) {
      via.set(to, { from: m, edge });
      order.push(to);
    }
  }
  return { order, via };
}
