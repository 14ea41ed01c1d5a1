/**
 * Recognising loops that close every descriptor from some bound on (`for (fd = 3; fd < max;
 * fd++) close(fd);`, descending and `while` forms, with or without a keep-list test), so
 * that the `close()` in the body can be reported as a close-all idiom when the walk records it.
 */
import type { Node } from '../../parsing/parser';
import { CLOSE_ONE } from '../../knowledge/c-process';
import { calleeName, unwrap } from './program-fork';
import { declaratorName } from './declarators';
import type { SourceText } from './source-text';

/** Loop recognised as closing every descriptor from a bound on. */
export interface CloseAllLoop {
  loop: Node;
  keepList: boolean;
  from?: string;
}

const LOOP_TYPES = new Set(['for_statement', 'while_statement', 'do_statement']);

/**
 * `for (fd = 3; fd < max; fd++) close(fd);` and its descending and `while` variants: the
 * `close()` call of the body and what the loop closes, or null for any other loop.
 */
export function closeAllLoopAt(loop: Node, source: SourceText): { call: Node; loop: CloseAllLoop } | null {
  const body = loop.childForFieldName('body');
  const cond = loop.childForFieldName('condition');
  if (!body || !cond) return null;
  // Cheap pre-check on the text before looking at the tree.
  if (!source.occursIn('close', body.startIndex, body.endIndex)) return null;
  const close = findCloseOfVariable(body);
  if (!close) return null;
  const variable = close.variable;
  if (!mentions(cond, variable)) return null;
  let from: string | undefined;
  const init = loop.childForFieldName('initializer');
  if (init) {
    if (init.type === 'declaration') {
      for (const d of init.childrenForFieldName('declarator')) {
        if (d?.type === 'init_declarator' && declaratorName(d) === variable) from = d.childForFieldName('value')?.text;
      }
    } else if (init.type === 'assignment_expression' && init.childForFieldName('left')?.text === variable) {
      from = init.childForFieldName('right')?.text;
    }
  }
  // `for (i = 0; i < 2; i++) close(i)` closes a known pair, not "everything".
  const c = unwrap(cond);
  if (c.type === 'binary_expression') {
    const right = c.childForFieldName('right');
    const op = c.childForFieldName('operator')?.type;
    if (right?.type === 'number_literal' && (op === '<' || op === '<=') && Number(right.text) <= 3) return null;
  }
  return { call: close.call, loop: { loop, keepList: close.keepList, from } };
}

/** Whether an identifier with the name occurs in the subtree. */
function mentions(node: Node, name: string, depth = 0): boolean {
  if (depth > 10) return false;
  if (node.type === 'identifier') return node.text === name;
  for (const c of node.namedChildren) if (c && mentions(c, name, depth + 1)) return true;
  return false;
}

/**
 * In a loop body, a `close(v)` whose argument is a plain variable, and whether the body
 * skips some values (`if (v == keep) continue;`, `if (v != log_fd) close(v);`).
 */
function findCloseOfVariable(body: Node): { call: Node; variable: string; keepList: boolean } | null {
  let found: { call: Node; variable: string } | null = null;
  const ifConditions: Node[] = [];
  const walk = (n: Node, depth: number): void => {
    if (LOOP_TYPES.has(n.type) && depth > 0) return;
    if (n.type === 'if_statement') {
      const c = n.childForFieldName('condition');
      if (c) ifConditions.push(c);
    }
    if (n.type === 'call_expression' && !found) {
      const name = calleeName(n);
      if (name && CLOSE_ONE.has(name)) {
        const args = n.childForFieldName('arguments')?.namedChildren.filter((a) => a && a.type !== 'comment') ?? [];
        const a = args.length === 1 && args[0] ? unwrap(args[0]) : null;
        if (a?.type === 'identifier') found = { call: n, variable: a.text };
      }
    }
    if (depth > 8) return;
    for (const c of n.namedChildren) if (c) walk(c, depth + 1);
  };
  walk(body, 0);
  if (!found) return null;
  const f: { call: Node; variable: string } = found;
  const keepList = ifConditions.some((c) => mentions(c, f.variable));
  return { call: f.call, variable: f.variable, keepList };
}
