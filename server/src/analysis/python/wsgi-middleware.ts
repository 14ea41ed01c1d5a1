/**
 * Shape 2 of the WSGI analysis, middleware: a function calls `app(environ, start_response)` and
 * then iterates, consumes, drops or replaces the inner response, or wraps it in something that
 * does not forward close(), without calling its close(). Follows the value to its fate in the
 * function (and into a generator of the file it is handed to).
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { CONSUMING_CALLS, CONSUMING_METHODS, NON_FORWARDING_WRAPPERS } from '../../knowledge/python-wsgi';
import { ancestorOfType, children, enclosingFunction, isField, isMethod, isStringLiteral, lastComponent, parameterNames, positionalArgs, within } from './wsgi-syntax';
import type { WsgiIndex } from './wsgi-index';
import type { WsgiFixes } from './wsgi-fixes';
import type { WsgiIssue, WsgiStep } from './wsgi-issue';
import { closeLookups, derivationWords, derivedCloseLookups, truthinessGuard, truthyIssue } from './wsgi-close-lookup';

interface Fate {
  kind:
    | 'returned'
    | 'moved'
    | 'closed'
    | 'iterated'
    | 'consumed'
    | 'dropped'
    | 'lost'
    | 'wrapper-no-close'
    | 'generator-no-close'
    | 'close-not-in-finally'
    | 'closed-if-truthy'
    | 'use';
  node: Node;
  /** For `iterated`/`consumed` by a call: the argument the response is passed as. */
  arg?: Node;
  /** For `close-not-in-finally`: the close call; for `closed-if-truthy`: the guarded lookup. */
  close?: Node;
  /** For `close-not-in-finally` / `closed-if-truthy`: the name the response is bound to. */
  name?: string;
  /** For `lost`: the adapter's name; for `wrapper-no-close`: the class; for `generator-no-close`: the generator's issue. */
  detail?: string;
  cls?: Node;
  argIndex?: number;
  inner?: WsgiStep[];
}

/** Checks the application calls of one file: what becomes of each inner response. */
export class MiddlewareCheck {
  constructor(
    private readonly file: WsgiIndex,
    private readonly fixes: WsgiFixes,
  ) {}

  check(call: Node, fn: Node): WsgiIssue | null {
    const fate = this.valueFate(call, fn, 0);
    if (!fate) return null;
    const callRange = nodeRange(call);
    const came = { range: callRange, message: 'the inner application returns its response here' };
    const callee = call.childForFieldName('function')?.text ?? 'app';
    switch (fate.kind) {
      case 'iterated':
      case 'consumed': {
        const verb = fate.kind === 'iterated' ? 'iterated' : 'consumed';
        // close() looked up on what the response was turned into, not on the response.
        const derived = fate.arg ? derivedCloseLookups(this.file, fn, fate.arg) : null;
        if (derived) {
          const d = derived.derivation;
          return {
            kind: 'wrong-object',
            range: callRange,
            message: `The response of ${callee}() is ${d.how === 'iter' ? 'turned into an iterator' : `copied into '${d.derived}'`} and close() is looked up on '${d.derived}' instead of on the response, so the response's own close() is never called (PEP 3333)`,
            steps: [
              came,
              { range: nodeRange(d.node), message: derivationWords(d, 'the response') },
              { range: nodeRange(derived.lookups[0]), message: `close() is looked up here on '${d.derived}', not on the response` },
            ],
            fixes: [],
          };
        }
        const fix = this.fixes.closeInFinallyFix(call, fn);
        return {
          kind: 'iterated',
          range: callRange,
          message: `The response of ${callee}() is ${verb} but its close() is never called (PEP 3333 requires it, or the inner application leaks what its response holds)`,
          steps: [came, { range: nodeRange(fate.node), message: `${verb} here; nothing calls its close()` }],
          fixes: fix ? [fix] : [],
        };
      }
      case 'dropped': {
        const fix = this.fixes.closeBeforeFix(call, fate.node);
        return {
          kind: 'dropped',
          range: callRange,
          message: `The response of ${callee}() is replaced without calling its close() (PEP 3333), so what it holds leaks`,
          steps: [came, { range: nodeRange(fate.node), message: fate.node.type === 'return_statement' ? 'another response is returned here; the inner one is never closed' : 'the response is dropped here without close()' }],
          fixes: fix ? [fix] : [],
        };
      }
      case 'lost':
        return {
          kind: 'lost-in-wrapper',
          range: callRange,
          message: `The response of ${callee}() is wrapped in ${fate.detail}(), which does not forward close(), so the inner response is never closed`,
          steps: [came, { range: nodeRange(fate.node), message: `wrapped here by ${fate.detail}(); the result has no close()` }],
          fixes: [],
        };
      case 'wrapper-no-close': {
        const fix = fate.cls ? this.fixes.forwardCloseFix(fate.cls, fate.argIndex ?? 0) : null;
        return {
          kind: 'lost-in-wrapper',
          range: callRange,
          message: `The response of ${callee}() is wrapped in ${fate.detail}, which has no close() method${fate.cls?.childForFieldName('superclasses') ? ' of its own that forwards to it' : ''}, so the server cannot close the inner response`,
          steps: [
            came,
            { range: nodeRange(fate.node), message: `wrapped here in ${fate.detail}` },
            ...(fate.cls ? [{ range: nodeRange(fate.cls.childForFieldName('name') ?? fate.cls), message: `${fate.detail} defines no close()` }] : []),
            ...this.reyieldingSteps(fate.cls),
          ],
          fixes: fix ? [fix] : [],
        };
      }
      case 'close-not-in-finally': {
        const name = fate.name ?? 'response';
        const fix = fate.close ? this.fixes.finallyFix(fn, fate.close, name, call, fate.node) : null;
        return {
          kind: 'close-not-in-finally',
          range: callRange,
          message: `The response of ${callee}() is consumed and only then closed, outside a finally: an exception raised while it is iterated skips ${name}.close() (PEP 3333)`,
          steps: [
            came,
            { range: nodeRange(fate.node), message: 'consumed here; an exception raised by its iterator or by this code leaves before the close' },
            ...(fate.close ? [{ range: nodeRange(fate.close), message: 'closed only here, on the path without an exception' }] : []),
          ],
          fixes: fix ? [fix] : [],
        };
      }
      case 'closed-if-truthy':
        return truthyIssue(fate.name ?? 'response', fate.node, fate.close ?? fate.node, came);
      case 'generator-no-close':
        return {
          kind: 'iterated',
          range: callRange,
          message: `The response of ${callee}() is passed to ${fate.detail}(), a generator that iterates it without calling its close()`,
          steps: [came, { range: nodeRange(fate.node), message: `passed to ${fate.detail}() here` }, ...(fate.inner ?? [])],
          fixes: [],
        };
      default:
        return null;
    }
  }

  /** What happens to the value of `expr` in `fn` (null: nothing to report). */
  private valueFate(expr: Node, fn: Node, depth: number): Fate | null {
    let cur = expr;
    for (;;) {
      const p = cur.parent;
      if (!p) return null;
      switch (p.type) {
        case 'parenthesized_expression':
        case 'await':
        case 'conditional_expression':
        case 'boolean_operator':
          cur = p;
          continue;
        case 'return_statement':
        case 'yield':
          return { kind: 'returned', node: p };
        case 'expression_statement':
          return { kind: 'dropped', node: p };
        case 'for_statement':
          return isField(p, 'right', cur) ? { kind: 'iterated', node: p.childForFieldName('right') ?? p } : null;
        case 'for_in_clause':
          return isField(p, 'right', cur) ? { kind: 'iterated', node: cur } : null;
        case 'argument_list':
          return this.argumentFate(p, cur, fn, depth);
        case 'assignment': {
          const left = p.childForFieldName('left');
          if (!isField(p, 'right', cur) || !left) return null;
          if (left.type !== 'identifier') return null; // stored in an attribute, item or unpacked
          return this.nameFate(left.text, p, fn, depth);
        }
        default:
          return null; // containers, comparisons, keyword arguments...: handed on or not a response
      }
    }
  }

  private argumentFate(args: Node, arg: Node, fn: Node, depth: number): Fate | null {
    const call = args.parent;
    if (!call || call.type !== 'call') return null;
    const callee = call.childForFieldName('function');
    if (!callee) return null;
    const q = this.file.qualifiedCallee(call);
    const last = lastComponent(callee);
    if (CONSUMING_CALLS.has(q) || (callee.type === 'attribute' && (last === 'join' || CONSUMING_METHODS.has(last)))) return { kind: 'consumed', node: call, arg };
    if (NON_FORWARDING_WRAPPERS.has(q) && !this.file.definesFunction(q)) {
      // `iter(r)` / `next(iter(r))` peek at it; what matters is what the result becomes.
      if (q === 'iter' || q === 'enumerate' || q === 'reversed') return { kind: 'iterated', node: call, arg };
      return { kind: 'lost', node: call, detail: q };
    }
    const index = positionalArgs(call)?.findIndex((a) => a.id === arg.id) ?? -1;
    const cls = callee.type === 'identifier' ? this.file.classes.get(callee.text) : undefined;
    if (cls) {
      if (this.classForwardsClose(cls)) return null;
      return { kind: 'wrapper-no-close', node: call, detail: `class ${callee.text}`, cls, argIndex: index };
    }
    const defs = this.file.calleeDefs(call);
    if (defs.length === 1 && index >= 0 && depth < 3 && this.file.isGenerator(defs[0])) {
      const def = defs[0];
      const params = parameterNames(def);
      const pname = params[index + (isMethod(def) ? 1 : 0)];
      if (!pname) return null;
      const inner = this.nameFate(pname, null, def, depth + 1);
      if (inner && (inner.kind === 'iterated' || inner.kind === 'consumed')) {
        return {
          kind: 'generator-no-close',
          node: call,
          detail: def.childForFieldName('name')?.text ?? '',
          inner: [{ range: nodeRange(inner.node), message: 'iterated here; nothing calls its close()' }],
        };
      }
      return null;
    }
    return null; // handed to something else: its owner now
  }

  /**
   * A class whose instances forward close: it defines `close`, `__getattr__`, or has bases we
   * cannot see — unless its own `__iter__` re-yields what it holds through a generator (see
   * {@link reyieldingIter}): a base class from elsewhere cannot know the attribute it keeps the
   * response in.
   */
  private classForwardsClose(cls: Node): boolean {
    const body = cls.childForFieldName('body');
    if (!body) return true;
    for (const s of children(body)) {
      const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
      if (def?.type === 'function_definition' && /^(close|__getattr__|__getattribute__)$/.test(def.childForFieldName('name')?.text ?? '')) return true;
      // `self.close = inner.close` style forwarding in the class body or __init__.
      if (/\bclose\b/.test(s.text) && /\bclose\s*=|['"]close['"]/.test(s.text)) return true;
    }
    if (this.reyieldingIter(cls)) return false;
    const supers = cls.childForFieldName('superclasses');
    if (supers && children(supers).some((s) => s.text !== 'object')) {
      // A base class of this file is checked too; one from elsewhere may well define close().
      return children(supers).some((s) => !this.file.classes.has(s.text) || this.classForwardsClose(this.file.classes.get(s.text)!));
    }
    return false;
  }

  private reyieldingSteps(cls: Node | undefined): WsgiStep[] {
    const iter = cls ? this.reyieldingIter(cls) : null;
    if (!iter) return [];
    return [
      {
        range: nodeRange(iter.childForFieldName('name') ?? iter),
        message: 'its __iter__ re-yields the response through a generator: closing that generator does not close the response, and a base class cannot know where the response is kept',
      },
    ];
  }

  /** The class's own `__iter__` when it is a generator over an attribute of `self` (`for part in self._body: yield part`). */
  private reyieldingIter(cls: Node): Node | null {
    const body = cls.childForFieldName('body');
    if (!body) return null;
    for (const s of children(body)) {
      const def = s.type === 'decorated_definition' ? s.childForFieldName('definition') : s;
      if (def?.type !== 'function_definition' || def.childForFieldName('name')?.text !== '__iter__' || !this.file.isGenerator(def)) continue;
      const iterated = [
        ...this.file.own(def).fors.map((f) => f.childForFieldName('right')),
        ...this.file.yields(def).filter((y) => /^yield\s+from\b/.test(y.text)).map((y) => y.namedChild(y.namedChildCount - 1)),
      ];
      if (iterated.some((n) => n !== null && /^self\.\w+$/.test(n.text))) return def;
    }
    return null;
  }

  /** Where the response bound to `name` (at `binding`, or a parameter) goes in `fn`. */
  private nameFate(name: string, binding: Node | null, fn: Node, depth: number): Fate | null {
    const after = binding ? binding.endIndex : 0;
    const occurrences: Node[] = [];
    const body = fn.childForFieldName('body');
    if (!body) return null;
    let closedInNested = false;
    for (const id of this.file.identifiers(name)) {
      if (!within(id, body) || id.startIndex < after) continue;
      if (enclosingFunction(id)?.id !== fn.id) {
        // Used by a nested function or lambda: a closure may well close it; do not guess.
        closedInNested = true;
        continue;
      }
      occurrences.push(id);
    }
    if (closedInNested) return null;
    let firstIteration: Fate | null = null;
    let returned = false;
    let closed = false;
    let lost: Fate | null = null;
    let moved = false;
    for (const id of occurrences) {
      const p = id.parent;
      if (p?.type === 'attribute' && isField(p, 'object', id)) {
        if (lastComponent(p) === 'close') closed = true;
        continue;
      }
      if (p?.type === 'argument_list' && p.parent?.type === 'call') {
        const q = this.file.qualifiedCallee(p.parent);
        const args = children(p);
        if ((q === 'getattr' || q === 'hasattr') && args[1] && isStringLiteral(args[1], 'close')) {
          if (q === 'getattr') closed = true;
          continue;
        }
        if (q === 'hasattr' || q === 'getattr' || q === 'isinstance' || q === 'len' || q === 'type' || q === 'callable' || q === 'id') continue;
      }
      if (p?.type === 'assignment' && isField(p, 'left', id)) continue; // a rebinding
      if (p?.type === 'comparison_operator' || p?.type === 'not_operator' || (p?.type === 'if_statement' && isField(p, 'condition', id))) continue;
      if (p?.type === 'boolean_operator' && p.parent?.type !== 'assignment' && p.parent?.type !== 'return_statement') continue;
      const fate = this.valueFate(id, fn, depth);
      if (fate === null) {
        moved = true; // stored or handed to an owner: theirs to close
        continue;
      }
      if (fate.kind === 'returned') {
        returned = true;
        continue;
      }
      if (fate.kind === 'iterated' || fate.kind === 'consumed') firstIteration ??= fate;
      else if (fate.kind === 'lost' || fate.kind === 'wrapper-no-close' || fate.kind === 'generator-no-close') lost ??= fate;
      else if (fate.kind === 'dropped') continue; // `r` alone as a statement, or a chained call
    }
    if (closed) return binding ? this.closedFate(name, binding, fn, firstIteration) : null;
    if (lost) return lost;
    if (moved) return null;
    if (returned) {
      const replaced = binding ? this.replacingReturn(name, binding, fn) : null;
      return replaced ? { kind: 'dropped', node: replaced } : null;
    }
    if (firstIteration) return firstIteration;
    if (!binding) return null;
    return { kind: 'dropped', node: this.replacingReturn(name, binding, fn) ?? binding.parent ?? binding };
  }

  /**
   * The response bound to `name` is closed somewhere: reported when every close() is reached
   * only through a truthiness test of `name`, or when it is consumed and every close() follows
   * outside `finally`/`except`/`with` (a generator whose yields come between is the
   * close-after-loop check's).
   */
  private closedFate(name: string, binding: Node, fn: Node, consumed: Fate | null): Fate | null {
    const lookups = closeLookups(this.file, fn, name, binding.endIndex);
    if (lookups.length === 0) return null;
    const guards = lookups.map((l) => truthinessGuard(l, name, fn));
    if (guards.every((g) => g !== null)) return { kind: 'closed-if-truthy', node: guards[0]!, close: lookups[0], name };
    if (!consumed) return null;
    if (lookups.some((l) => this.protectedLookup(l, fn))) return null;
    // The `name.close()` calls (not `hasattr`/`getattr` lookups): all of them after the consumption.
    const closeCalls = lookups.filter((l) => l.type === 'call' && l.childForFieldName('function')?.type === 'attribute');
    const calls = closeCalls.filter((l) => l.startIndex > consumed.node.endIndex);
    if (calls.length === 0 || calls.length !== closeCalls.length) return null;
    const close = calls[0];
    // Only the statements of the function, not a nested try that the close lies outside of, can raise past it.
    if (this.file.isGenerator(fn) && this.file.yields(fn).some((y) => y.startIndex > consumed.node.startIndex && y.startIndex < close.startIndex)) return null;
    if (ancestorOfType(consumed.node, 'with_statement', fn)) return null;
    return { kind: 'close-not-in-finally', node: consumed.node, close, name };
  }

  /** A close() lookup in a `finally`, in an `except` handler, or in a nested function. */
  private protectedLookup(lookup: Node, fn: Node): boolean {
    for (let p = lookup.parent; p && p.id !== fn.id; p = p.parent) {
      if (p.type === 'finally_clause' || p.type === 'except_clause' || p.type === 'function_definition' || p.type === 'lambda') return true;
    }
    return false;
  }

  /** A `return` after the binding that returns something else (outside the handlers of a `try` around the binding). */
  private replacingReturn(name: string, binding: Node, fn: Node): Node | null {
    const tries: Node[] = [];
    for (let p = binding.parent; p && p.id !== fn.id; p = p.parent) if (p.type === 'try_statement') tries.push(p);
    const mentions = new RegExp(`\\b${name}\\b`);
    for (const n of this.file.own(fn).returns) {
      if (n.startIndex < binding.endIndex) continue;
      if (mentions.test(n.text)) continue;
      // A handler of a try whose body binds the name runs when the call itself failed.
      if (tries.some((t) => within(n, t) && !within(n, t.childForFieldName('body') ?? t) && !(ancestorOfType(n, 'finally_clause', t) || ancestorOfType(n, 'else_clause', t)))) continue;
      return n;
    }
    return null;
  }
}
