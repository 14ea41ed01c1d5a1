/**
 * The C quick fix for `unreleased-file`: insert the release call (`fclose(fp);`) before the
 * statement where the handle is lost. Where that statement is the braceless body of an
 * `if`/`else`/loop it is wrapped in braces so the inserted call stays inside the branch.
 *
 * Where to insert is decided by `chooseFixSite` from the graph, so that the inserted call
 * never runs on a path where the handle is not held (or may be NULL for `FILE *`/`DIR *`),
 * and nothing after it still reads the handle.
 */
import type { TextEdit } from '../../text/edits';
import type { Position, Range } from '../../text/locations';
import type { HandleEffect } from '../flow';
import type { Node } from '../../parsing/parser';
import { validOn, type CFunctionGraph, type CNode, type OpenSite } from './cfg-graph';

/** Bits of the forward "is the handle from this open held here?" analysis. */
const NOT_HELD = 1;
const HELD_MAYBE_INVALID = 2;
const HELD_VALID = 4;
/** Known to hold the failure value (NULL, -1): `close(-1)` is harmless, `fclose(NULL)` is not. */
const FAILED = 8;

/**
 * For each node, which states the handle of `site` can be in when the node is entered,
 * over every path from the function entry.
 */
export function heldStates(fn: CFunctionGraph, site: OpenSite, effect: (n: CNode) => HandleEffect): Uint8Array {
  const nodes = fn.graph.nodes;
  const into = new Uint8Array(nodes.length);
  const v = site.variable;
  into[fn.entry.id] = NOT_HELD;
  const work: number[] = [fn.entry.id];
  const queued = new Uint8Array(nodes.length);
  queued[fn.entry.id] = 1;
  while (work.length > 0) {
    const id = work.pop()!;
    queued[id] = 0;
    const node = nodes[id];
    let out = into[id];
    if (node.id === site.held.id) out = HELD_MAYBE_INVALID;
    else if (out & ~NOT_HELD) {
      const eff = effect(node);
      if (eff !== 'none') out = NOT_HELD;
    }
    for (const e of node.succ) {
      let s = out;
      // On the edge where the test proved the open failed, the variable holds NULL or -1
      // whatever it held before.
      if (e.nullVars?.includes(v)) s = FAILED;
      else if (s & HELD_MAYBE_INVALID && validOn(fn, id, e.to)?.has(v)) s = (s & ~HELD_MAYBE_INVALID) | HELD_VALID;
      if ((into[e.to] | s) !== into[e.to]) {
        into[e.to] |= s;
        if (!queued[e.to]) {
          queued[e.to] = 1;
          work.push(e.to);
        }
      }
    }
  }
  return into;
}

/** True when some node reachable from `from` (itself included) reads `v` before `v` is reassigned. */
function readLater(fn: CFunctionGraph, from: CNode, v: string): boolean {
  const seen = new Set<number>([from.id]);
  const stack = [from];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const facts = node.payload?.facts;
    if (facts?.reads.has(v)) return true;
    if (facts?.assigns.has(v) && node !== from) continue;
    for (const e of node.succ) {
      if (!seen.has(e.to)) {
        seen.add(e.to);
        stack.push(fn.graph.nodes[e.to]);
      }
    }
  }
  return false;
}

export interface FixSite {
  /** The node whose entry state decides whether inserting here is sound. */
  node: CNode;
  /** The statement to insert before, or the closing brace of the body (`end`). */
  statement: Node;
  kind: 'return' | 'goto' | 'break' | 'continue' | 'end';
}

/**
 * Picks where the release goes: before the exit statement when every path reaching it holds
 * the handle (one insertion in a cleanup label covers every `goto` to it), otherwise before
 * the first jump on the leak path (`goto`, `break`, `continue`) where that is true.
 * Returns null when no place is sound.
 */
export function chooseFixSite(
  fn: CFunctionGraph,
  site: OpenSite,
  candidates: FixSite[],
  effect: (n: CNode) => HandleEffect,
): FixSite | null {
  const states = heldStates(fn, site, effect);
  const allowed = site.spec.failure === 'null' ? HELD_VALID : HELD_VALID | HELD_MAYBE_INVALID | FAILED;
  for (const c of candidates) {
    const s = states[c.node.id];
    if (s === 0 || (s & ~allowed) !== 0) continue;
    const at = c.statement.startIndex;
    if (at < site.scope.start || at > site.scope.end) continue;
    if (readLater(fn, c.node, site.variable)) continue;
    return c;
  }
  return null;
}

/** Line access for building edits (indentation, end of line style). */
export class SourceLines {
  private lines: string[] | null = null;
  readonly eol: string;

  constructor(private readonly text: string) {
    this.eol = text.includes('\r\n') ? '\r\n' : '\n';
  }

  line(row: number): string {
    this.lines ??= this.text.split('\n');
    return (this.lines[row] ?? '').replace(/\r$/, '');
  }

  indent(row: number): string {
    return /^[ \t]*/.exec(this.line(row))?.[0] ?? '';
  }

  /** True when only whitespace precedes `column` on `row`. */
  startsLine(row: number, column: number): boolean {
    return this.line(row).slice(0, column).trim() === '';
  }
}

function point(row: number, column: number): Position {
  return { line: row, character: column };
}

function insertion(at: Position, newText: string): TextEdit {
  const range: Range = { start: at, end: at };
  return { range, newText };
}

/** The statement that owns `stmt` as its braceless body, or null when `stmt` sits in a block. */
function bracelessOwner(stmt: Node): Node | null {
  const parent = stmt.parent;
  if (!parent || stmt.type === 'compound_statement') return null;
  switch (parent.type) {
    case 'if_statement':
      return parent.childForFieldName('consequence')?.equals(stmt) ? parent : null;
    case 'else_clause':
      return parent;
    case 'while_statement':
    case 'for_statement':
    case 'do_statement':
      return parent.childForFieldName('body')?.equals(stmt) ? parent : null;
    default:
      return null;
  }
}

/** Edits that insert `call` (e.g. `fclose(fp);`) so it runs right before `stmt`. */
export function insertBeforeStatement(stmt: Node, call: string, src: SourceLines): TextEdit[] {
  const start = point(stmt.startPosition.row, stmt.startPosition.column);
  const owner = bracelessOwner(stmt);
  if (!owner) {
    if (src.startsLine(stmt.startPosition.row, stmt.startPosition.column)) {
      return [insertion(start, `${call}${src.eol}${src.indent(stmt.startPosition.row)}`)];
    }
    return [insertion(start, `${call} `)];
  }
  // Keep a trailing comment on the statement's line inside the new braces.
  let endNode: Node = stmt;
  const next = stmt.nextSibling;
  if (next?.type === 'comment' && next.startPosition.row === stmt.endPosition.row) endNode = next;
  const end = point(endNode.endPosition.row, endNode.endPosition.column);
  const before = stmt.previousSibling;
  if (!before || before.endPosition.row === stmt.startPosition.row) {
    return [insertion(start, `{ ${call} `), insertion(end, ' }')];
  }
  const inner = src.indent(stmt.startPosition.row);
  const outer = src.indent(owner.startPosition.row);
  return [
    {
      range: { start: point(before.endPosition.row, before.endPosition.column), end: start },
      newText: ` {${src.eol}${inner}${call}${src.eol}${inner}`,
    },
    insertion(end, `${src.eol}${outer}}`),
  ];
}

/** Edits that insert `call` just before the closing brace of a function body. */
export function insertBeforeClosingBrace(body: Node, brace: Node, call: string, src: SourceLines): TextEdit[] {
  const row = brace.startPosition.row;
  if (!src.startsLine(row, brace.startPosition.column)) {
    return [insertion(point(row, brace.startPosition.column), `${call} `)];
  }
  let indent: string | null = null;
  for (const child of body.namedChildren) {
    if (!child || child.type === 'comment' || child.type === 'labeled_statement' || child.type.startsWith('preproc')) continue;
    if (src.startsLine(child.startPosition.row, child.startPosition.column)) {
      indent = src.indent(child.startPosition.row);
      break;
    }
  }
  if (indent === null) {
    const braceIndent = src.indent(row);
    indent = braceIndent + (braceIndent.includes('\t') ? '\t' : '  ');
  }
  return [insertion(point(row, 0), `${indent}${call}${src.eol}`)];
}
