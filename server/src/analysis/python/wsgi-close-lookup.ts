/**
 * Where a function looks up `close()`, and whether it looks it up on the right object under the
 * right test. Two shapes of the WSGI analysis (`wsgi.ts`) live here, and the middleware shape
 * (`wsgi-middleware.ts`) asks the same questions about an inner response:
 *
 * 4. **close() looked up on a derived object**: `it = iter(iterable)` followed by
 *    `getattr(it, "close", None)` or `it.close()`, and nothing looks up `iterable.close`.
 *    `iter()` returns the iterable itself only for iterators (a generator); for a list, or a
 *    response object whose `__iter__` returns something else, the iterator has no close() or
 *    a different one, and the iterable's own close() is never called.
 * 5. **close() forwarded only when the iterable is truthy**: `if app_iter: ...close()` or
 *    `if app_iter and hasattr(app_iter, "close")` in an iterable class (one defining
 *    `__iter__`/`__next__`) for a constructor or method parameter, or in a function for a
 *    response it got from `app(environ, start_response)`. An empty response object — `len()`
 *    of 0, a closable body with nothing in it — is falsy, so its close() is dropped; the
 *    test that means "is there a response" is `is not None`.
 */
import { nodeRange, type Node } from '../../parsing/parser';
import type { Fix } from '../../text/edits';
import { children, enclosingFunction, isField, isStringLiteral, lastComponent, parameterNames, unparen, within } from './wsgi-syntax';
import type { WsgiIndex } from './wsgi-index';
import type { WsgiIssue, WsgiStep } from './wsgi-issue';

/** Calls whose result is built from their argument's items: a new object, not the iterable. */
const DERIVING_CALLS: ReadonlySet<string> = new Set(['iter', 'list', 'tuple']);

/**
 * The places in `fn`'s own scope that look up close() on `name` after offset `after`:
 * `name.close` (the call when it is called), `getattr(name, "close"…)`, `hasattr(name, "close")`.
 */
export function closeLookups(file: WsgiIndex, fn: Node, name: string, after = 0): Node[] {
  const body = fn.childForFieldName('body');
  if (!body) return [];
  // Every lookup spells `close` after the name, inside the body: a body without that word after
  // `after` has none, and the file's identifier index (a walk of the whole tree) is not needed.
  const word = file.text.indexOf('close', Math.max(after, body.startIndex));
  if (word < 0 || word + 'close'.length > body.endIndex) return [];
  const out: Node[] = [];
  for (const id of file.identifiers(name)) {
    if (id.startIndex < after || !within(id, body) || enclosingFunction(id)?.id !== fn.id) continue;
    const p = id.parent;
    if (!p) continue;
    if (p.type === 'attribute' && isField(p, 'object', id) && lastComponent(p) === 'close') {
      out.push(p.parent?.type === 'call' && isField(p.parent, 'function', p) ? p.parent : p);
      continue;
    }
    if (p.type === 'argument_list' && p.parent?.type === 'call') {
      const q = file.qualifiedCallee(p.parent);
      const args = children(p);
      if ((q === 'getattr' || q === 'hasattr') && args[0]?.id === id.id && args[1] && isStringLiteral(args[1], 'close')) out.push(p.parent);
    }
  }
  return out;
}

/** Where the value `name` holds is derived into a new object: `d = iter(name)`, `d = list(name)`, `d.extend(name)`. */
export interface Derivation {
  /** The name the derived object is bound to. */
  derived: string;
  /** The deriving call (`iter(name)`, `d.extend(name)`). */
  node: Node;
  how: 'iter' | 'list' | 'tuple' | 'extend';
}

/** The derivation whose argument is `arg` (an identifier or an expression), or null. */
export function derivationOf(file: WsgiIndex, arg: Node): Derivation | null {
  const args = arg.parent;
  const call = args?.parent;
  if (args?.type !== 'argument_list' || call?.type !== 'call' || children(args).length !== 1 || children(args)[0].id !== arg.id) return null;
  const callee = call.childForFieldName('function');
  if (!callee) return null;
  const q = file.qualifiedCallee(call);
  if (DERIVING_CALLS.has(q) && !file.definesFunction(q)) {
    const assign = unparenParent(call);
    if (assign?.type !== 'assignment' || !isField(assign, 'right', unparenTop(call))) return null;
    const left = assign.childForFieldName('left');
    if (left?.type !== 'identifier') return null;
    return { derived: left.text, node: call, how: q as Derivation['how'] };
  }
  if (callee.type === 'attribute' && lastComponent(callee) === 'extend') {
    const obj = callee.childForFieldName('object');
    if (obj?.type !== 'identifier' || obj.text === 'self') return null;
    return { derived: obj.text, node: call, how: 'extend' };
  }
  return null;
}

function unparenTop(n: Node): Node {
  let cur = n;
  while (cur.parent?.type === 'parenthesized_expression') cur = cur.parent;
  return cur;
}

function unparenParent(n: Node): Node | null {
  return unparenTop(n).parent;
}

/** What the derived object is, for the evidence chain. */
export function derivationWords(d: Derivation, source: string): string {
  switch (d.how) {
    case 'iter':
      return `'${d.derived}' is iter(${source}) here: a separate iterator object, not the iterable that owns close()`;
    case 'extend':
      return `${source === 'the response' ? 'the response' : `'${source}'`} is consumed into the list '${d.derived}' here`;
    default:
      return `'${d.derived}' is a new ${d.how} built from ${source === 'the response' ? 'the response' : `'${source}'`} here`;
  }
}

/** The close() lookups on the object derived from `arg`, after the derivation (empty when `arg` is not derived). */
export function derivedCloseLookups(file: WsgiIndex, fn: Node, arg: Node): { derivation: Derivation; lookups: Node[] } | null {
  const d = derivationOf(file, arg);
  if (!d) return null;
  const lookups = closeLookups(file, fn, d.derived, d.node.endIndex);
  return lookups.length > 0 ? { derivation: d, lookups } : null;
}

/**
 * The test of `name`'s truthiness that guards `lookup`: the condition of an `if`/`elif`/`while`
 * or a conditional expression whose true branch holds it, or the left operand of an `and`
 * whose right side holds it — when that condition is `name` itself or an `and` of which `name`
 * is an operand. Returns the `name` operand that is tested.
 */
export function truthinessGuard(lookup: Node, name: string, fn: Node): Node | null {
  let prev: Node = lookup;
  for (let p = lookup.parent; p && p.id !== fn.id; prev = p, p = p.parent) {
    if (p.type === 'function_definition' || p.type === 'lambda') return null;
    let cond: Node | null = null;
    if (p.type === 'if_statement' || p.type === 'elif_clause' || p.type === 'while_statement') {
      const c = p.childForFieldName('condition');
      const body = p.childForFieldName('consequence') ?? p.childForFieldName('body');
      if (c && body && within(lookup, body)) cond = c;
    } else if (p.type === 'conditional_expression') {
      // `a if cond else b`: the first named child is the value when true, the second the test.
      const parts = children(p);
      if (parts.length >= 2 && within(lookup, parts[0])) cond = parts[1];
    } else if (p.type === 'boolean_operator' && p.childForFieldName('operator')?.text === 'and') {
      const left = p.childForFieldName('left');
      const right = p.childForFieldName('right');
      if (left && right && within(lookup, right) && prev.id === right.id) cond = left;
    }
    if (!cond) continue;
    const tested = truthyOperand(cond, name);
    if (tested) return tested;
  }
  return null;
}

/** `name` itself, or `name` as an operand of an `and` chain. */
function truthyOperand(cond: Node, name: string): Node | null {
  const c = unparen(cond);
  if (c.type === 'identifier') return c.text === name ? c : null;
  if (c.type === 'boolean_operator' && c.childForFieldName('operator')?.text === 'and') {
    for (const side of [c.childForFieldName('left'), c.childForFieldName('right')]) {
      const t = side ? truthyOperand(side, name) : null;
      if (t) return t;
    }
  }
  return null;
}

/** `hasattr(name, "close")` among the operands of the `and` chain the tested operand belongs to. */
function guardedByHasattr(tested: Node, name: string): boolean {
  let top = tested;
  while (top.parent && (top.parent.type === 'boolean_operator' || top.parent.type === 'parenthesized_expression')) top = top.parent;
  return top
    .descendantsOfType('call')
    .some((c) => c !== null && c.childForFieldName('function')?.text === 'hasattr' && new RegExp(`^\\(\\s*${name}\\s*,\\s*['"]close['"]\\s*\\)$`).test(c.childForFieldName('arguments')?.text ?? ''));
}

/** Replace the truthiness test by `name is not None`: safe when `hasattr(name, "close")` is tested too (a falsy value without close() still skips the close). */
export function isNotNoneFix(tested: Node, name: string): Fix {
  const safe = guardedByHasattr(tested, name);
  return {
    title: `Test '${name} is not None' instead of its truthiness, so an empty response is closed too`,
    applicability: safe ? 'safe' : 'unsafe',
    edits: [{ range: nodeRange(tested), newText: `${name} is not None` }],
  };
}

/** The issue for a close() forwarded or called only when `name` is truthy. */
export function truthyIssue(name: string, tested: Node, lookup: Node, origin: WsgiStep): WsgiIssue {
  return {
    kind: 'closed-if-truthy',
    range: nodeRange(tested),
    message: `close() of '${name}' is only reached when '${name}' is truthy: an empty response (len() == 0, or a false __bool__) still has a close() that must run, so test '${name} is not None' instead (PEP 3333)`,
    steps: [
      origin,
      { range: nodeRange(tested), message: `'${name}' is tested for truthiness here; an empty but closable response is falsy` },
      { range: nodeRange(lookup), message: 'close() is only looked up or called inside that test' },
    ],
    fixes: [isNotNoneFix(tested, name)],
  };
}

/** Checks the two shapes of this file in one function (derived objects) or one class (truthiness tests). */
export class CloseLookupCheck {
  constructor(private readonly file: WsgiIndex) {}

  /**
   * Shape 4 outside middleware: `d = iter(x)` then close() looked up on `d`, never on `x`, where
   * `x` is a parameter or a local the function does not get from an application call (that one
   * is the middleware check's, which names the derived lookup in its chain).
   */
  derived(fn: Node): WsgiIssue[] {
    const out: WsgiIssue[] = [];
    for (const call of this.file.own(fn).calls) {
      if (this.file.qualifiedCallee(call) !== 'iter' || this.file.definesFunction('iter')) continue;
      const args = children(call.childForFieldName('arguments') ?? call);
      if (args.length !== 1 || args[0].type !== 'identifier') continue;
      const source = args[0].text;
      if (source === 'self') continue;
      const found = derivedCloseLookups(this.file, fn, args[0]);
      if (!found) continue;
      const origin = this.sourceOrigin(fn, source, call);
      if (!origin) continue;
      if (closeLookups(this.file, fn, source).length > 0) continue;
      const lookup = found.lookups[0];
      out.push({
        kind: 'wrong-object',
        range: nodeRange(lookup),
        message: `close() is looked up on '${found.derivation.derived}', the iterator of '${source}', not on '${source}' itself: when iter() returns a separate object (a list's iterator, a response object's iterator) the close() of '${source}' is never called (PEP 3333)`,
        steps: [
          origin,
          { range: nodeRange(found.derivation.node), message: derivationWords(found.derivation, source) },
          { range: nodeRange(lookup), message: `close() is looked up here on '${found.derivation.derived}'; nothing looks it up on '${source}'` },
        ],
        fixes: this.lookupOnSourceFix(fn, call, lookup, found.derivation.derived, source),
      });
    }
    return out;
  }

  /**
   * Where `source` comes from, or null when it is not this check's: a parameter, or a local bound
   * before `use` from something other than an application call. A source that is stored or
   * handed to another call is someone else's to close.
   */
  private sourceOrigin(fn: Node, source: string, use: Node): WsgiStep | null {
    let origin: WsgiStep | null = null;
    if (parameterNames(fn).includes(source)) {
      const params = fn.childForFieldName('parameters');
      const p = params?.descendantsOfType('identifier').find((n) => n?.text === source) ?? params;
      origin = { range: nodeRange(p ?? fn), message: `'${source}' is handed in here` };
    }
    for (const n of this.file.own(fn).assignments) {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type !== 'identifier' || left.text !== source || !right) continue;
      if (n.startIndex > use.startIndex) return null; // rebound later: the lookup may see another value
      if (right.type === 'call' && this.file.isAppCall(right, fn)) return null;
      if (['none', 'list', 'tuple', 'string', 'integer', 'list_comprehension', 'dictionary'].includes(unparen(right).type)) return null;
      origin = { range: nodeRange(right), message: `'${source}' is obtained here` };
    }
    if (!origin) return null;
    const body = fn.childForFieldName('body');
    for (const id of this.file.identifiers(source)) {
      if (!body || !within(id, body) || enclosingFunction(id)?.id !== fn.id) continue;
      const p = id.parent;
      if (p?.type === 'assignment' && isField(p, 'right', id)) return null; // stored
      if (p?.type === 'argument_list' && p.parent?.type === 'call') {
        const q = this.file.qualifiedCallee(p.parent);
        if (!['iter', 'isinstance', 'hasattr', 'getattr', 'len', 'type', 'callable', 'id'].includes(q)) return null; // handed on
      }
      if (p?.type === 'return_statement' || p?.type === 'yield' || p?.type === 'list' || p?.type === 'tuple' || p?.type === 'keyword_argument') return null;
    }
    return origin;
  }

  /** Unsafe: look close() up on the iterable instead of on its iterator (one lookup that names the derived object once). */
  private lookupOnSourceFix(fn: Node, derivation: Node, lookup: Node, derived: string, source: string): Fix[] {
    // The source must still hold the same value at the lookup.
    for (const n of this.file.own(fn).assignments) {
      const left = n.childForFieldName('left');
      if (left?.type === 'identifier' && left.text === source && n.startIndex > derivation.startIndex && n.startIndex < lookup.startIndex) return [];
    }
    const ids = lookup.descendantsOfType('identifier').filter((n): n is Node => n !== null && n.text === derived);
    if (ids.length !== 1) return [];
    return [
      {
        title: `Look up close() on '${source}' (the iterable) instead of on its iterator '${derived}'`,
        applicability: 'unsafe',
        edits: [{ range: nodeRange(ids[0]), newText: source }],
      },
    ];
  }

  /** Shape 5 in an iterable class: a method closes or forwards a parameter's close() only when the parameter is truthy. */
  truthyInClass(cls: Node): WsgiIssue[] {
    const body = cls.childForFieldName('body');
    if (!body) return [];
    const methods = children(body)
      .map((s) => (s.type === 'decorated_definition' ? s.childForFieldName('definition') : s))
      .filter((d): d is Node => d?.type === 'function_definition');
    if (!methods.some((m) => /^(__iter__|__next__|next)$/.test(m.childForFieldName('name')?.text ?? ''))) return [];
    const out: WsgiIssue[] = [];
    for (const m of methods) {
      for (const name of parameterNames(m).slice(1)) {
        if (!name) continue;
        for (const lookup of closeLookups(this.file, m, name)) {
          const tested = truthinessGuard(lookup, name, m);
          if (!tested) continue;
          const params = m.childForFieldName('parameters');
          const p = params?.descendantsOfType('identifier').find((n) => n?.text === name) ?? params ?? m;
          out.push(truthyIssue(name, tested, lookup, { range: nodeRange(p), message: `'${name}' is handed in here: the response whose close() the class takes over` }));
          break;
        }
      }
    }
    return out;
  }
}
