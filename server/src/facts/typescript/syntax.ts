/**
 * Small tree-sitter helpers for the TypeScript/JavaScript fact extraction: string literal
 * values, seeing through parentheses/casts/`await`/`.bind`, how a call names its callee
 * (`CalleeRef`), anonymous-function ids, and the fact-base range helpers. `unwrap` and
 * `unbind` leave the type of the node they return in `lastType`, so callers need not ask
 * WASM for it again.
 */
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import type { TsFactBase } from './fact-types';

export const FUNCTION_NODE_TYPES: ReadonlySet<string> = new Set([
  'function_declaration',
  'generator_function_declaration',
  'function_expression',
  'generator_function',
  'arrow_function',
  'method_definition',
]);

/** How a call names what it calls. */
export type CalleeRef = { kind: 'ident'; name: string } | { kind: 'member'; obj: string; prop: string } | { kind: 'this'; prop: string };

export function stringValue(node: Node | null | undefined, type?: string): string | undefined {
  if (!node) return undefined;
  const nt = type ?? node.type;
  if (nt === 'string') {
    const t = node.text;
    return t.length >= 2 ? t.slice(1, -1) : undefined;
  }
  if (nt === 'template_string' && node.namedChildCount === 0) return node.text.slice(1, -1);
  return undefined;
}

/** The type of the node the last `unwrap`/`unbind` returned (saves asking WASM again). */
export let lastType = '';

export function unwrap(node: Node, type?: string): Node {
  let n = node;
  let t = type ?? n.type;
  for (;;) {
    if (t === 'parenthesized_expression' || t === 'non_null_expression' || t === 'as_expression' || t === 'satisfies_expression' || t === 'await_expression') {
      const inner = n.namedChild(0);
      if (!inner) break;
      n = inner;
      t = n.type;
    } else break;
  }
  lastType = t;
  return n;
}

/** Is one of the first `limit` children the keyword `type`? (Keywords lead: `async`, `await`, `default`.) */
export function hasAnonChild(node: Node, type: string, limit = 4): boolean {
  const n = Math.min(node.childCount, limit);
  for (let i = 0; i < n; i++) {
    const c = node.child(i);
    if (c && !c.isNamed && c.type === type) return true;
  }
  return false;
}

export function anonId(node: Node): string {
  return `@${node.startPosition.row}:${node.startPosition.column}`;
}

export function rangeBetween(start: Node, end: Node): Range {
  return {
    start: { line: start.startPosition.row, character: start.startPosition.column },
    end: { line: end.endPosition.row, character: end.endPosition.column },
  };
}

export function calleeRef(fn: Node, type?: string): CalleeRef | undefined {
  const n = unwrap(fn, type);
  const t = lastType;
  if (t === 'identifier') return { kind: 'ident', name: n.text };
  if (t === 'member_expression') {
    const obj = n.childForFieldName('object');
    const prop = n.childForFieldName('property');
    if (!obj || !prop || prop.type !== 'property_identifier') return undefined;
    const o = unwrap(obj);
    if (lastType === 'this') return { kind: 'this', prop: prop.text };
    if (lastType === 'call_expression') {
      const local = requireLocal(o);
      if (local) return { kind: 'member', obj: local, prop: prop.text };
    }
    return { kind: 'member', obj: o.text, prop: prop.text };
  }
  if (t === 'call_expression') {
    const local = requireLocal(n);
    if (local) return { kind: 'ident', name: local };
  }
  return undefined;
}

/**
 * The name an unbound `require('x')` call is known by (`require('./a').f()`,
 * `require('./a')()`): `require@line:column` of the call, which no identifier can spell; the
 * import fact binds it like `const a = require('./a')` would bind `a`.
 */
export function requireLocal(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  if (f?.type !== 'identifier' || f.text !== 'require') return undefined;
  const arg = call.childForFieldName('arguments')?.namedChild(0);
  if (arg?.type !== 'string') return undefined;
  return `${REQUIRE_LOCAL_PREFIX}${call.startPosition.row}:${call.startPosition.column}`;
}

export const REQUIRE_LOCAL_PREFIX = 'require@';

/** A callee object the call graph may follow: a plain name, or an unbound `require()`. */
export function followableObj(obj: string): boolean {
  return /^[\w$]+$/.test(obj) || obj.startsWith(REQUIRE_LOCAL_PREFIX);
}

/** `x.bind(this)` → `x` (sets `lastType`). */
export function unbind(node: Node, type?: string): Node {
  const n = unwrap(node, type);
  const t = lastType;
  if (t !== 'call_expression') return n;
  const f = n.childForFieldName('function');
  if (f?.type === 'member_expression' && f.childForFieldName('property')?.text === 'bind') return unwrap(f.childForFieldName('object') ?? n);
  lastType = t;
  return n;
}

/** `fillRange(base, node)`: the base with its range set from the node when still unset. */
export function fillRange(base: TsFactBase, node: Node): TsFactBase {
  if (base.range === undefined) base.range = nodeRange(node);
  return base;
}

/** A function, or a name/member that may denote one (through `.bind`). */
export function isFunctionLike(a: Node, type?: string): boolean {
  unbind(a, type);
  const t = lastType;
  return FUNCTION_NODE_TYPES.has(t) || t === 'identifier' || t === 'member_expression';
}

/** The same base at another range (key order as `{ ...base, range }`). */
export function withRange(base: TsFactBase, range: Range): TsFactBase {
  const b: TsFactBase = { range, enclosingFunction: base.enclosingFunction };
  if ('thread' in base) b.thread = base.thread;
  return b;
}
