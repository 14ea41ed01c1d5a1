/**
 * Where a function lets its function-pointer parameters escape: the uses of a parameter other
 * than calling it (`run(arg)`), testing it (`if (run)`), passing it as a bare argument of a call
 * by name (`spawn(cycle, run)`, which the callee's facts account for) and storing it into a
 * struct field (`slot->run = run`, followed by the model through calls of that field). An escape
 * (`saved_run = run;`, `return run;`, `fn_t f = run;`, `{ run }`) means the pointer may be called
 * anywhere, at any time.
 */
import type { Node } from '../../parsing/parser';

/** Positions of the parameters in `watched` (name -> position) that escape in `body`. */
export function parameterEscapes(body: Node, watched: ReadonlyMap<string, number>): number[] {
  const out = new Set<number>();
  if (watched.size === 0) return [];
  const stack: Node[] = [body];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === 'identifier') {
      const position = watched.get(n.text);
      if (position !== undefined && !out.has(position) && escapes(n)) out.add(position);
      continue;
    }
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parents that only read a value to test or compare it (nothing keeps it). */
const TESTS = new Set(['binary_expression', 'unary_expression', 'if_statement', 'while_statement', 'do_statement', 'for_statement', 'condition_clause', 'expression_statement']);

function escapes(id: Node): boolean {
  let n = id;
  let p = n.parent;
  while (p && (p.type === 'parenthesized_expression' || p.type === 'cast_expression')) {
    n = p;
    p = p.parent;
  }
  if (!p) return false;
  switch (p.type) {
    case 'call_expression':
      // Calling it (a parameter is never the argument list itself).
      return false;
    case 'argument_list': {
      const callee = p.parent?.childForFieldName('function');
      return callee?.type !== 'identifier';
    }
    case 'assignment_expression': {
      const left = p.childForFieldName('left');
      if (left && left.startIndex === n.startIndex && left.endIndex === n.endIndex) return false;
      return left?.type !== 'field_expression';
    }
    default:
      return !TESTS.has(p.type);
  }
}
