/**
 * Whether a `closefrom()`/`close_range()` call returns from its function when it worked, so
 * that what the function does after it is a fallback that runs only when the call failed
 * (glib's `g_closefrom`: `ret = close_range (lowfd, G_MAXUINT, 0); if (ret == 0 || errno !=
 * ENOSYS) return ret;` then walks `/proc/self/fd` itself). Read from the syntax: the call (or
 * the variable its result is assigned to in that statement) is tested for success (`== 0`,
 * `!x`) in one `||` alternative of an `if` whose branch returns — the `if` around the call,
 * or the statement right after the assignment.
 */
import type { Node } from '../../parsing/parser';
import { unwrap } from './program-fork';

/** Node types the call's value passes through on its way to the `if` condition. */
const VALUE_WRAPPERS = new Set(['parenthesized_expression', 'binary_expression', 'unary_expression', 'assignment_expression', 'cast_expression', 'condition_clause']);

export function returnsOnSuccess(call: Node): boolean {
  // `if (close_range(...) == 0) return 0;`
  let cur: Node = call;
  while (cur.parent && VALUE_WRAPPERS.has(cur.parent.type)) cur = cur.parent;
  const parent = cur.parent;
  if (parent?.type === 'if_statement' && parent.childForFieldName('condition')?.id === cur.id) {
    return returnsIn(parent) && testsSuccess(cur, (n) => n.id === call.id || (n.type === 'assignment_expression' && unwrap(n.childForFieldName('right') ?? n).id === call.id));
  }
  // `ret = close_range(...);` or `int ret = close_range(...);`, then `if (ret == 0 || …) return ret;`
  const assigned = assignedName(call);
  if (!assigned) return false;
  const next = assigned.statement.nextNamedSibling;
  if (next?.type !== 'if_statement') return false;
  const condition = next.childForFieldName('condition');
  return !!condition && returnsIn(next) && testsSuccess(condition, (n) => n.type === 'identifier' && n.text === assigned.name);
}

/** The variable a statement of its own assigns the call's result to, and that statement. */
function assignedName(call: Node): { name: string; statement: Node } | null {
  const parent = call.parent;
  if (parent?.type === 'assignment_expression' && parent.childForFieldName('right')?.id === call.id) {
    const left = parent.childForFieldName('left');
    const statement = parent.parent;
    if (left?.type === 'identifier' && statement?.type === 'expression_statement') return { name: left.text, statement };
  }
  if (parent?.type === 'init_declarator' && parent.childForFieldName('value')?.id === call.id) {
    const name = parent.childForFieldName('declarator');
    const statement = parent.parent;
    if (name?.type === 'identifier' && statement?.type === 'declaration') return { name: name.text, statement };
  }
  return null;
}

/** The `if`'s own branch is a `return` (or a block that ends with one). */
function returnsIn(ifStatement: Node): boolean {
  const branch = ifStatement.childForFieldName('consequence');
  if (!branch) return false;
  if (branch.type === 'return_statement') return true;
  if (branch.type !== 'compound_statement') return false;
  const statements = branch.namedChildren.filter((n): n is Node => n !== null && n.type !== 'comment');
  return statements[statements.length - 1]?.type === 'return_statement';
}

/** One `||` alternative of `condition` is a success test of the result: `x == 0`, `0 == x`, `!x`. */
function testsSuccess(condition: Node, isResult: (n: Node) => boolean): boolean {
  const n = unwrap(condition.type === 'condition_clause' ? (condition.childForFieldName('value') ?? condition.namedChild(0) ?? condition) : condition);
  if (n.type === 'binary_expression') {
    const op = n.childForFieldName('operator')?.type;
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (!left || !right) return false;
    if (op === '||') return testsSuccess(left, isResult) || testsSuccess(right, isResult);
    if (op === '==') return (isResult(unwrap(left)) && right.text === '0') || (isResult(unwrap(right)) && left.text === '0');
    return false;
  }
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
    const arg = n.childForFieldName('argument');
    return !!arg && isResult(unwrap(arg));
  }
  return false;
}
