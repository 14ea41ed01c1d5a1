/**
 * Small readers of the Python tree for the WSGI analysis: fields and children, the nodes of a
 * function's own scope, enclosing functions and classes, parameters, call arguments and string
 * literals. Pure functions of the nodes they are given.
 */
import type { Node } from '../../parsing/parser';
import { ENVIRON_NAMES, START_RESPONSE_PATTERN } from '../../knowledge/python-wsgi';

export function isField(parent: Node, field: string, child: Node): boolean {
  const f = parent.childForFieldName(field);
  return f !== null && f.id === child.id;
}

export function children(n: Node): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < n.namedChildCount; i++) {
    const c = n.namedChild(i);
    if (c) out.push(c);
  }
  return out;
}

/** The nodes of a function's own scope the analysis asks about, each kind in document order. */
export interface OwnNodes {
  calls: Node[];
  assignments: Node[];
  yields: Node[];
  /** Nested functions, lambdas and classes (their insides belong to them). */
  scopes: Node[];
  returns: Node[];
  fors: Node[];
  /** `if`, `elif`, `while` and conditional expressions. */
  conditions: Node[];
}

const OWN_TYPES = [
  'call',
  'assignment',
  'yield',
  'function_definition',
  'lambda',
  'class_definition',
  'return_statement',
  'for_statement',
  'if_statement',
  'elif_clause',
  'while_statement',
  'conditional_expression',
];

/**
 * The nodes of `fn`'s own scope (its body; nested functions, lambdas and classes are listed but
 * not entered). One search on the wasm side; the results come in document order, so the nodes
 * inside a nested scope directly follow it and start before its end.
 */
export function collectOwn(fn: Node): OwnNodes {
  const own: OwnNodes = { calls: [], assignments: [], yields: [], scopes: [], returns: [], fors: [], conditions: [] };
  const body = fn.childForFieldName('body');
  if (!body) return own;
  let insideUntil = -1;
  for (const n of body.descendantsOfType(OWN_TYPES)) {
    if (!n || n.startIndex < insideUntil) continue;
    switch (n.type) {
      case 'call':
        own.calls.push(n);
        break;
      case 'assignment':
        own.assignments.push(n);
        break;
      case 'yield':
        // The keyword token has the same type name as the expression.
        if (n.isNamed) own.yields.push(n);
        break;
      case 'lambda':
      case 'function_definition':
      case 'class_definition':
        // The `lambda` keyword token has the same type name as the expression.
        if (!n.isNamed) break;
        own.scopes.push(n);
        insideUntil = n.endIndex;
        break;
      case 'return_statement':
        own.returns.push(n);
        break;
      case 'for_statement':
        own.fors.push(n);
        break;
      default:
        own.conditions.push(n);
    }
  }
  return own;
}

export function enclosingFunction(n: Node): Node | null {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return p;
    if (p.type === 'lambda' || p.type === 'class_definition') return null;
  }
  return null;
}

function enclosingClass(fn: Node): Node | null {
  const p = fn.parent?.type === 'decorated_definition' ? fn.parent.parent : fn.parent;
  if (p?.type === 'block' && p.parent?.type === 'class_definition') return p.parent;
  return null;
}

export function lastComponent(n: Node): string {
  if (n.type === 'identifier') return n.text;
  if (n.type === 'attribute') return n.childForFieldName('attribute')?.text ?? '';
  return '';
}

export function unparen(n: Node): Node {
  let cur = n;
  while (cur.type === 'parenthesized_expression' && cur.namedChildCount === 1) cur = cur.namedChild(0)!;
  return cur;
}

/** Parameter names of a function, in order (`self` included). */
export function parameterNames(fn: Node): string[] {
  const params = fn.childForFieldName('parameters');
  if (!params) return [];
  const out: string[] = [];
  for (const p of children(params)) {
    if (p.type === 'identifier') out.push(p.text);
    else if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') out.push(p.childForFieldName('name')?.text ?? '');
    else if (p.type === 'typed_parameter') out.push(children(p).find((c) => c.type === 'identifier')?.text ?? '');
    else out.push('');
  }
  return out;
}

/** `def app(environ, start_response)` (a method's `self`/`cls` aside): a WSGI callable itself. */
export function hasWsgiSignature(fn: Node): boolean {
  const params = parameterNames(fn).filter((p) => p !== 'self' && p !== 'cls');
  return params.length >= 2 && ENVIRON_NAMES.has(params[0]) && START_RESPONSE_PATTERN.test(params[1]);
}

export function isMethod(fn: Node): boolean {
  return enclosingClass(fn) !== null;
}

export function isStringLiteral(n: Node, value: string): boolean {
  if (n.type !== 'string') return false;
  const inner = n.text.replace(/^[rbuRBU]*(['"]{1,3})/, '').replace(/(['"]{1,3})$/, '');
  return inner === value;
}

/** The positional arguments of a call, or null when it has keywords or splats. */
export function positionalArgs(call: Node): Node[] | null {
  const args = call.childForFieldName('arguments');
  if (!args || args.type !== 'argument_list') return null;
  const out = children(args).filter((c) => c.type !== 'comment');
  if (out.some((c) => c.type === 'keyword_argument' || c.type === 'list_splat' || c.type === 'dictionary_splat')) return null;
  return out;
}

export function ancestorOfType(n: Node, type: string, stop: Node): Node | null {
  for (let p = n.parent; p && p.id !== stop.id; p = p.parent) if (p.type === type) return p;
  return null;
}

export function within(n: Node, outer: Node): boolean {
  return n.startIndex >= outer.startIndex && n.endIndex <= outer.endIndex;
}

/** The statement of `block` that contains `n`. */
export function statementIn(block: Node, n: Node): Node | null {
  let cur: Node | null = n;
  while (cur && cur.parent && cur.parent.id !== block.id) cur = cur.parent;
  return cur && cur.parent?.id === block.id ? cur : null;
}
