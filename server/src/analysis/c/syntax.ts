/**
 * Readers of C syntax for the handle analysis: the value under casts, parentheses and
 * transparent wrapper macros, the variables an expression yields, integer literals and the
 * sentinels a handle is compared with (NULL, std streams, fd numbers), what a condition says
 * about a handle variable, and a function definition's name and parameters.
 */
import type { Node } from '../../parsing/parser';
import { declaratorName } from '../../facts/c/declarators';
import { TRANSPARENT_WRAPPERS } from '../../knowledge/c-handles';

/** The comparison operators a handle test may use. */
export const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const ALIAS_OPERANDS = new Set(['identifier', 'field_expression', 'subscript_expression', 'pointer_expression']);
const STD_STREAMS = new Set(['stdin', 'stdout', 'stderr']);
const STD_FILENOS: ReadonlyMap<string, number> = new Map([
  ['STDIN_FILENO', 0],
  ['STDOUT_FILENO', 1],
  ['STDERR_FILENO', 2],
]);

/** Strips `( )`, casts and the transparent wrapper macros around an expression. */
export function unwrapValue(node: Node): Node {
  let cur = node;
  for (;;) {
    // Each read of a node's type is a call into the parser's WASM: read it once per step.
    const type = cur.type;
    if (type === 'parenthesized_expression' || type === 'cast_expression') {
      const inner = type === 'cast_expression' ? cur.childForFieldName('value') : cur.namedChild(0);
      if (!inner || inner.type === 'comment') return cur;
      cur = inner;
      continue;
    }
    if (type === 'call_expression') {
      const fn = cur.childForFieldName('function');
      if (fn?.type === 'identifier' && TRANSPARENT_WRAPPERS.has(fn.text)) {
        const first = cur.childForFieldName('arguments')?.namedChild(0);
        if (first && first.type !== 'comment') {
          cur = first;
          continue;
        }
      }
    }
    return cur;
  }
}

/** Variables whose *value* an expression yields (`fp`, `(FILE *) fp`, `ok ? fd : -1`). */
export function valueVariables(node: Node, out: string[]): void {
  const n = unwrapValue(node);
  switch (n.type) {
    case 'identifier':
      out.push(n.text);
      return;
    case 'subscript_expression': {
      const element = elementName(n);
      if (element) out.push(element);
      return;
    }
    case 'conditional_expression': {
      const a = n.childForFieldName('consequence');
      const b = n.childForFieldName('alternative');
      if (a) valueVariables(a, out);
      if (b) valueVariables(b, out);
      return;
    }
    case 'comma_expression': {
      const r = n.childForFieldName('right');
      if (r) valueVariables(r, out);
      return;
    }
    case 'assignment_expression': {
      // `*fdp = fd = socket(...)`: the value is the new content of `fd` (and of the right side).
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      if (n.childForFieldName('operator')?.type !== '=') return;
      if (l?.type === 'identifier') out.push(l.text);
      if (r) valueVariables(r, out);
      return;
    }
    default:
      return;
  }
}

/** Parameter names in order (prototype style and K&R style lists). */
export function parameterNames(definition: Node): string[] {
  let decl = definition.childForFieldName('declarator');
  while (decl && decl.type !== 'function_declarator') {
    decl = decl.childForFieldName('declarator');
  }
  const list = decl?.childForFieldName('parameters');
  if (!list) return [];
  const out: string[] = [];
  for (const p of list.namedChildren) {
    if (!p) continue;
    if (p.type === 'parameter_declaration') out.push(declaratorName(p.childForFieldName('declarator')) ?? '');
    else if (p.type === 'identifier') out.push(p.text);
  }
  return out;
}

/** The defined function's name. */
export function functionName(definition: Node): string | null {
  let decl = definition.childForFieldName('declarator');
  while (decl) {
    if (decl.type === 'function_declarator') {
      const inner = decl.childForFieldName('declarator');
      return inner?.type === 'identifier' ? inner.text : declaratorName(inner);
    }
    decl = decl.childForFieldName('declarator');
  }
  return null;
}

/** Integer value of a literal such as `0`, `-1`, `0x0`, `2U`, or the STD*_FILENO names; otherwise null. */
export function integerValue(node: Node): number | null {
  const n = unwrapValue(node);
  const type = n.type;
  if (type === 'number_literal') {
    const text = n.text;
    const v = Number.parseInt(text.replace(/[uUlL]+$/, ''), text.startsWith('0x') || text.startsWith('0X') ? 16 : 10);
    return Number.isNaN(v) ? null : v;
  }
  if (type === 'unary_expression' && n.childForFieldName('operator')?.type === '-') {
    const arg = n.childForFieldName('argument');
    const v = arg ? integerValue(arg) : null;
    return v === null ? null : -v;
  }
  if (type === 'identifier') return STD_FILENOS.get(n.text) ?? null;
  return null;
}

type Sentinel = 'null' | 'stream' | number;

/** What a comparison operand stands for when it is not the handle: NULL, a std stream, a number. */
function sentinel(node: Node): Sentinel | null {
  const n = unwrapValue(node);
  const type = n.type;
  const text = type === 'identifier' ? n.text : '';
  if (type === 'null' || (type === 'identifier' && (text === 'NULL' || text === 'nullptr'))) return 'null';
  if (type === 'identifier' && STD_STREAMS.has(text)) return 'stream';
  const cast = castOfNegative(n);
  if (cast !== null) return cast;
  return integerValue(n);
}

/**
 * `(ngx_socket_t) -1`: a cast to a typedef the file does not declare parses as the
 * subtraction `(name) - 1`; a lone name in parentheses before a minus is read as that cast.
 */
function castOfNegative(n: Node): number | null {
  if (n.type !== 'binary_expression' || n.childForFieldName('operator')?.type !== '-') return null;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (left?.type !== 'parenthesized_expression' || left.namedChildCount !== 1 || left.namedChild(0)?.type !== 'identifier') return null;
  const value = right ? integerValue(right) : null;
  return value === null ? null : -value;
}

/** The variable a condition operand reads: `fp`, or the target of `(fp = fopen(...))`. */
function testedVariable(node: Node): string | null {
  const n = unwrapValue(node);
  const type = n.type;
  if (type === 'identifier') return n.text;
  if (type === 'subscript_expression') return elementName(n);
  if (type === 'assignment_expression' && n.childForFieldName('operator')?.type === '=') {
    const left = n.childForFieldName('left');
    return left?.type === 'identifier' ? left.text : null;
  }
  return null;
}

/**
 * What a condition operand says about a handle variable: on which edge it certainly holds
 * no handle of its own (null, negative, a standard stream or fd 0..2), and whether the other
 * edge proves it valid. `fd > 2` counts too: code that keeps fds 0..2 open on purpose
 * (`if (fd > 2) close(fd);`) is common in daemons.
 */
export function handleTest(cond: Node): { variable: string; noneWhen: boolean; validOtherwise: boolean } | null {
  const n = unwrapValue(cond);
  const direct = testedVariable(n);
  if (direct) return { variable: direct, noneWhen: false, validOtherwise: true };
  if (n.type !== 'binary_expression') return null;
  let op = n.childForFieldName('operator')?.type ?? '';
  if (!COMPARISONS.has(op)) return null;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (!left || !right) return null;
  let variable = testedVariable(left);
  let other = right;
  if (!variable) {
    variable = testedVariable(right);
    other = left;
    const flip: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=' };
    op = flip[op] ?? op;
  }
  if (!variable) return null;
  const s = sentinel(other);
  if (s === null) {
    // `if (fd2 != symfd) close(fd2);`, `if (fd != fds[i])`: when the handle equals a value
    // held elsewhere, that other place is taken to own it (the equal edge is pruned).
    const o = unwrapValue(other);
    if ((op === '==' || op === '!=') && ALIAS_OPERANDS.has(o.type)) return { variable, noneWhen: op === '==', validOtherwise: false };
    return null;
  }
  const validating = s === 'null' || (typeof s === 'number' && s <= 0);
  if (op === '==' || op === '!=') {
    if (s !== 'null' && s !== 'stream' && s > 2) return null;
    return { variable, noneWhen: op === '==', validOtherwise: validating };
  }
  if (typeof s !== 'number') return null;
  // `fd < 0`, `fd <= -1`: true means no handle; `fd <= 2`, `fd < 3`: no handle of its own
  if ((op === '<' && s <= 3) || (op === '<=' && s <= 2)) return { variable, noneWhen: true, validOtherwise: op === '<' ? s <= 0 : s < 0 };
  // `fd >= 0`, `fd > -1`, `fd > 2`, `fd >= 3`: false means no handle (or a std fd)
  if ((op === '>=' && s >= 0) || (op === '>' && s >= -1)) return { variable, noneWhen: false, validOtherwise: s <= 0 };
  return null;
}

/**
 * `fds[0]` → `'fds[0]'`: an element of a local array at a constant index, named like a
 * variable so that the handle analysis can follow descriptors that `pipe()` and
 * `socketpair()` put there. Anything else (a computed index, a field) → null.
 */
export function elementName(node: Node): string | null {
  const n = unwrapValue(node);
  if (n.type !== 'subscript_expression') return null;
  const base = n.childForFieldName('argument');
  const index = n.childForFieldName('index') ?? n.namedChildren.find((c) => c?.type === 'subscript_argument_list')?.namedChild(0) ?? null;
  if (base?.type !== 'identifier' || !index || index.type !== 'number_literal' || !/^[0-9]$/.test(index.text)) return null;
  return `${base.text}[${index.text}]`;
}

/** The array an element name belongs to: `'fds[1]'` → `'fds'`. */
export function elementBase(name: string): string {
  const i = name.indexOf('[');
  return i < 0 ? name : name.slice(0, i);
}
