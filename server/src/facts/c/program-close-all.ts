/**
 * Recognising loops that close every descriptor from some bound on (`for (fd = 3; fd < max;
 * fd++) close(fd);`, descending and `while` forms, with or without a keep-list test), so
 * that the `close()` in the body can be reported as a close-all idiom when the walk records it.
 * The closing call may be the file's own one-descriptor closer (`#define close_it(x) close(x)`,
 * a function of one parameter that closes it). A test on the descriptor, or on a value read
 * for it (`node = table[fd]`), spares some descriptors: a keep-list (`fd != log_fd`) or a
 * selection of the descriptors the program tagged itself (`if (!table[fd]) continue;`).
 */
import type { Node } from '../../parsing/parser';
import { CLOSE_ONE } from '../../knowledge/c-process';
import { calleeName, unwrap } from './program-fork';
import { declaratorName } from './declarators';
import { parameterNames } from './function-names';
import { functionDefinitionsWhere, type SourceText } from './source-text';

/** Loop recognised as closing every descriptor from a bound on. */
export interface CloseAllLoop {
  loop: Node;
  keepList: boolean;
  /**
   * What a keep-list spares, when every test on the descriptor is a comparison with named
   * values: the names (`log_fd`, `state->fd`) and calls (`get_log_fd()`) it is compared with.
   * Absent for other keep tests (a table lookup, a range).
   */
  keeps?: string[];
  from?: string;
  /** Names the loop's condition bounds the descriptor with (`max_fd` in `fd < max_fd`). */
  limits: string[];
}

/** `#define close_it(x) close(x)` (an optional `(void)` cast before the call). */
const CLOSER_MACRO = /^[ \t]*#[ \t]*define[ \t]+(\w+)\([ \t]*(\w+)[ \t]*\)[ \t]+(?:\(void\)[ \t]*)?(\w+)\([ \t]*\2[ \t]*\)[ \t]*$/gm;

/**
 * The file's own one-descriptor closers besides `close()`: function-like macros that expand to
 * `close(x)`, and functions of one parameter whose body closes that parameter.
 */
export function fileClosers(root: Node, source: SourceText): Set<string> {
  const out = new Set<string>();
  const text = source.text;
  if (!text.includes('close')) return out;
  for (const m of text.matchAll(CLOSER_MACRO)) if (CLOSE_ONE.has(m[3])) out.add(m[1]);
  for (const def of functionDefinitionsWhere(root, (start, end) => source.occursIn('close', start, end))) {
    const params = parameterNames(def);
    const body = def.childForFieldName('body');
    if (params.length !== 1 || !body) continue;
    const close = findCloseOfVariable(body, CLOSE_ONE);
    const name = def.childForFieldName('declarator');
    const fnName = name?.type === 'function_declarator' ? name.childForFieldName('declarator') : null;
    if (close?.variable === params[0] && fnName?.type === 'identifier') out.add(fnName.text);
  }
  return out;
}

const LOOP_TYPES = new Set(['for_statement', 'while_statement', 'do_statement']);

/**
 * `for (fd = 3; fd < max; fd++) close(fd);` and its descending and `while` variants: the
 * `close()` call of the body and what the loop closes, or null for any other loop.
 */
export function closeAllLoopAt(loop: Node, source: SourceText, closers: ReadonlySet<string> = NO_CLOSERS): { call: Node; loop: CloseAllLoop } | null {
  const body = loop.childForFieldName('body');
  const cond = loop.childForFieldName('condition');
  if (!body || !cond) return null;
  // Cheap pre-check on the text before looking at the tree.
  if (!source.occursIn('close', body.startIndex, body.endIndex) && ![...closers].some((c) => source.occursIn(c, body.startIndex, body.endIndex))) return null;
  const close = findCloseOfVariable(body, closers.size > 0 ? new Set([...CLOSE_ONE, ...closers]) : CLOSE_ONE);
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
  const limits = new Set<string>();
  identifiersIn(cond, limits);
  limits.delete(variable);
  return { call: close.call, loop: { loop, keepList: close.keepList, ...(close.keeps ? { keeps: close.keeps } : {}), from, limits: [...limits] } };
}

const NO_CLOSERS: ReadonlySet<string> = new Set();

/** The identifiers of a subtree (a few levels deep), called functions excluded. */
export function identifiersIn(node: Node, out: Set<string>, depth = 0): void {
  if (depth > 10) return;
  if (node.type === 'identifier') {
    if (node.parent?.type !== 'call_expression' || node.parent.childForFieldName('function')?.id !== node.id) out.add(node.text);
    return;
  }
  for (const c of node.namedChildren) if (c) identifiersIn(c, out, depth + 1);
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
 * skips some values (`if (v == keep) continue;`, `if (v != log_fd) close(v);`, `if
 * (!table[v]) continue;` through a local read for `v`).
 */
function findCloseOfVariable(body: Node, closeNames: ReadonlySet<string>): { call: Node; variable: string; keepList: boolean; keeps?: string[] } | null {
  let found: { call: Node; variable: string } | null = null;
  const ifConditions: Node[] = [];
  /** Locals set from an expression that mentions a name: `fdnode *n = ev->fdarray[fd];`. */
  const valueOf: { name: string; value: Node }[] = [];
  const walk = (n: Node, depth: number): void => {
    if (LOOP_TYPES.has(n.type) && depth > 0) return;
    if (n.type === 'if_statement') {
      const c = n.childForFieldName('condition');
      if (c) ifConditions.push(c);
    }
    if (n.type === 'init_declarator') {
      const name = declaratorName(n);
      const value = n.childForFieldName('value');
      if (name && value) valueOf.push({ name, value });
    }
    if (n.type === 'assignment_expression') {
      const left = n.childForFieldName('left');
      const value = n.childForFieldName('right');
      if (left?.type === 'identifier' && value) valueOf.push({ name: left.text, value });
    }
    if (n.type === 'call_expression' && !found) {
      const name = calleeName(n);
      if (name && closeNames.has(name)) {
        const args = n.childForFieldName('arguments')?.namedChildren.filter((a) => a && a.type !== 'comment') ?? [];
        let a = args.length === 1 && args[0] ? unwrap(args[0]) : null;
        // `close(fd--)`: the loop steps its descriptor in the call.
        if (a?.type === 'update_expression') a = a.childForFieldName('argument');
        if (a?.type === 'identifier') found = { call: n, variable: a.text };
      }
    }
    if (depth > 8) return;
    for (const c of n.namedChildren) if (c) walk(c, depth + 1);
  };
  walk(body, 0);
  if (!found) return null;
  const f: { call: Node; variable: string } = found;
  // Values read for the descriptor (not the close's own result: `rc = close(fd)` spares nothing).
  const derived = valueOf.filter((v) => mentions(v.value, f.variable) && !holdsCall(v.value, closeNames)).map((v) => v.name);
  const tests = ifConditions.filter((c) => mentions(c, f.variable) || derived.some((d) => mentions(c, d)));
  const keepList = tests.length > 0;
  const keeps = keepList && derived.length === 0 ? keptValues(tests, f.variable) : null;
  return { call: f.call, variable: f.variable, keepList, ...(keeps ? { keeps } : {}) };
}

/**
 * The values a keep test compares the descriptor with (`fd != log_fd && fd != get_pipe()`:
 * `log_fd`, `get_pipe()`), or null when a test on the descriptor is anything else than such
 * comparisons and bounds (`fd >= first`) joined by `&&`/`||`.
 */
function keptValues(tests: readonly Node[], variable: string): string[] | null {
  const out = new Set<string>();
  const visit = (node: Node, depth: number): boolean => {
    if (depth > 12) return false;
    const n = unwrap(node);
    if (n.type !== 'binary_expression') return !mentions(n, variable);
    const op = n.childForFieldName('operator')?.type ?? '';
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (!left || !right) return false;
    if (op === '&&' || op === '||') return visit(left, depth + 1) && visit(right, depth + 1);
    const l = unwrap(left);
    const r = unwrap(right);
    const other = l.type === 'identifier' && l.text === variable ? r : r.type === 'identifier' && r.text === variable ? l : null;
    if (!other) return !mentions(n, variable);
    if (op === '<' || op === '<=' || op === '>' || op === '>=') return true;
    if (op !== '==' && op !== '!=') return false;
    if (other.type === 'call_expression') {
      const name = calleeName(other);
      if (!name) return false;
      out.add(`${name}()`);
      return true;
    }
    if (other.type === 'identifier' || other.type === 'field_expression') {
      out.add(other.text.replace(/\s+/g, ''));
      return true;
    }
    return false;
  };
  for (const t of tests) if (!visit(t, 0)) return null;
  return out.size > 0 ? [...out] : null;
}

/** Whether a call of one of the names occurs in the subtree. */
function holdsCall(node: Node, names: ReadonlySet<string>, depth = 0): boolean {
  if (depth > 10) return false;
  if (node.type === 'call_expression') {
    const name = calleeName(node);
    if (name && names.has(name)) return true;
  }
  for (const c of node.namedChildren) if (c && holdsCall(c, names, depth + 1)) return true;
  return false;
}
