/**
 * Where descriptors are kept: the variable or field an expression stores to, the
 * descriptor-producing call a stored value comes from, and the `c.fdCache` fact for a
 * descriptor cached in long-lived storage (a static local, a file-static or a global).
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { FD_SOURCES } from '../../knowledge/c-process';
import { TRANSPARENT_WRAPPERS } from '../../knowledge/c-handles';
import { calleeName, unwrap, unwrapTyped } from './program-fork';
import type { CacheStorage, CFdCacheFact, CFunctionFact, Span } from './program-types';

/** A variable declared at file scope. */
export interface FileVar {
  isStatic: boolean;
  declSpan: Span;
  init?: string;
}

/** The stored-to expression's text (`fd`, `state.fd`, `g->fd`) and its base identifier. */
export interface StorageTarget {
  text: string;
  base: string;
}

/** `fd`, `state.fd`, `g->fd`: the stored-to expression's text and its base identifier. `type`: the node's, if known. */
export function storageTarget(node: Node, type?: string): StorageTarget | null {
  const { node: n, type: t } = unwrapTyped(node, type);
  if (t === 'identifier') {
    const text = n.text;
    return { text, base: text };
  }
  if (t === 'field_expression') {
    const arg = n.childForFieldName('argument');
    const field = n.childForFieldName('field');
    const a = arg ? unwrap(arg) : null;
    if (a?.type === 'identifier' && field) return { text: `${a.text}${n.text.includes('->') ? '->' : '.'}${field.text}`, base: a.text };
  }
  return null;
}

/** The fd-producing call an expression's value comes from (through parens, casts and wrappers). */
export function fdSourceCall(node: Node): Node | null {
  let n = unwrap(node);
  for (let i = 0; i < 4; i++) {
    if (n.type !== 'call_expression') return null;
    const name = calleeName(n);
    if (!name) return null;
    // `fcntl(fd, F_GETFL)` returns flags: only the F_DUPFD commands make a descriptor.
    if (name === 'fcntl') return /^F_DUPFD/.test(n.childForFieldName('arguments')?.namedChild(1)?.text ?? '') ? n : null;
    if (FD_SOURCES.has(name)) return n;
    if (!TRANSPARENT_WRAPPERS.has(name)) return null;
    const first = n.childForFieldName('arguments')?.namedChild(0);
    if (!first) return null;
    n = unwrap(first);
  }
  return null;
}

/** A value that marks storage as holding no descriptor: `-1`, `0`, `NULL`, a capitalised constant (`INVALID_FD`), through casts. */
export function isResetValue(node: Node): boolean {
  let n = unwrap(node);
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '-') {
    const arg = n.childForFieldName('argument');
    if (!arg) return false;
    n = unwrap(arg);
  }
  return n.type === 'number_literal' || n.type === 'null' || (n.type === 'identifier' && /^[A-Z_][A-Z0-9_]*$/.test(n.text));
}

/**
 * The cache fact for `target = <descriptor call>` in function `fn` when `right` is such a
 * call (`staticLocal`: the target's base is a static local of the function), else null.
 */
export function fdCacheFact(right: Node, target: StorageTarget, fn: CFunctionFact, staticLocal: boolean, fileVars: ReadonlyMap<string, FileVar>): CFdCacheFact | null {
  const source = fdSourceCall(right);
  if (!source) return null;
  let storage: CacheStorage;
  if (staticLocal) storage = 'static-local';
  else storage = fileVars.get(target.base)?.isStatic ? 'file-static' : 'global';
  const fileVar = fileVars.get(target.base);
  const index = fn.calls.findIndex((c) => c.span[0] === source.startPosition.row && c.span[1] === source.startPosition.column);
  return {
    kind: 'c.fdCache',
    range: nodeRange(source),
    variable: target.text,
    storage,
    api: calleeName(source) ?? '',
    functionIndex: fn.index,
    callIndex: index,
    declarationSpan: storage !== 'static-local' && fileVar && target.base === target.text ? fileVar.declSpan : undefined,
    declarationInitializer: storage !== 'static-local' && fileVar ? fileVar.init : undefined,
  };
}
