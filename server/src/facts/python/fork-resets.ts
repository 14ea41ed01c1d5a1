/**
 * What an at-fork child handler resets: for every function, the pools and caches it empties,
 * closes or re-binds (`pool.clear()`, `sock.close()`, `os.close(fd)`, `nonlocal pool; pool = {}`)
 * and which of its parameters it empties; for every registration
 * (`os.register_at_fork(after_in_child=...)`, `multiprocessing.util.register_after_fork(obj, fn)`),
 * the handler it gives the child — a function, a lambda, a bound method (`pool.clear`,
 * `self._reset`) or a `functools.partial` — with the arguments the handler receives.
 */
import type { Node } from '../../parsing/parser';
import { PY_CLOSE_ONE_CALLS, PY_PARTIAL_CALLS, PY_RESET_METHODS } from '../../knowledge/python-process';
import type { PyAtForkFact, PyResetTarget } from './fact-types';
import type { PySourceText } from './source-text';
import { argsOf, parameterNames } from './syntax-helpers';
import { anyIn, positionsOf } from '../../text/positions';
import { resolve, type CollectedRecords, type RawCall, type Scope } from './walk-records';

/** What a registration hands the child. */
export type PyHandlerReading = Pick<PyAtForkFact, 'handler' | 'origin' | 'bound' | 'resets'>;

export class ForkResets {
  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
  ) {}

  /** Fills `resets` / `resetParameters` of every function fact (after the calls are resolved). */
  emitFunctionResets(): void {
    const params = new Map<Scope, string[]>();
    const paramsOf = (s: Scope) => {
      let p = params.get(s);
      if (!p) params.set(s, (p = s.defNode ? parameterNames(s.defNode) : []));
      return p;
    };
    for (const c of this.rec.calls) {
      const fn = c.scope.kind === 'function' ? c.scope.functionFact : undefined;
      if (!fn) continue;
      const receiver = this.resetReceiver(c);
      if (!receiver) continue;
      const at = paramsOf(c.scope).indexOf(receiver);
      if (at >= 0) {
        if (!fn.resetParameters?.includes(at)) (fn.resetParameters ??= []).push(at);
      } else if (!c.scope.bindings.has(receiver) || c.scope.globals?.has(receiver)) {
        addTarget((fn.resets ??= []), resolve(receiver, c.scope));
      }
    }
    if (this.t.src.includes('nonlocal')) this.nonlocalResets();
  }

  /** The handler of a registration: `h` is the argument that runs in the child, `bound` what it is called with. */
  handlerOf(h: Node, scope: Scope, bound: (PyResetTarget | null)[], depth = 0): PyHandlerReading {
    if (h.type === 'call' && depth < 3) {
      const fn = this.t.dotted(h.childForFieldName('function'));
      if (fn && PY_PARTIAL_CALLS.has(resolve(fn, scope).name)) {
        const [inner, ...given] = argsOf(h).positional;
        if (!inner) return {};
        return this.handlerOf(inner, scope, [...given.map((g) => this.targetOf(g, scope)), ...bound], depth + 1);
      }
      return {};
    }
    if (h.type === 'lambda') return this.lambdaHandler(h, scope, bound);
    const d = this.t.dotted(h);
    if (!d) return {};
    const out: PyHandlerReading = {};
    const dot = d.lastIndexOf('.');
    // `pool.clear`, `sock.close`: the bound method empties or closes its object.
    if (dot > 0 && PY_RESET_METHODS.has(d.slice(dot + 1))) out.resets = [resolve(d.slice(0, dot), scope)];
    const r = resolve(d, scope);
    out.handler = r.name;
    out.origin = r.origin;
    // `self._reset`: the method's first parameter is the object itself.
    const args = /^(self|cls)\./.test(d) ? [null, ...bound] : bound;
    if (args.length) out.bound = args;
    return out;
  }

  /** `lambda: pool.clear()`, `lambda obj: obj.clear()`, `lambda: reopen()`. */
  private lambdaHandler(h: Node, scope: Scope, bound: (PyResetTarget | null)[]): PyHandlerReading {
    const body = h.childForFieldName('body');
    if (!body) return {};
    const params = parameterNames(h);
    const out: PyHandlerReading = {};
    const resets: PyResetTarget[] = [];
    for (const c of this.rec.calls) {
      if (c.node.startIndex < body.startIndex || c.node.endIndex > body.endIndex) continue;
      const receiver = this.resetReceiver(c);
      if (receiver) {
        const at = params.indexOf(receiver);
        const target = at >= 0 ? bound[at] : resolve(receiver, scope);
        if (target) addTarget(resets, target);
      } else if (!out.handler && c.resolved && c.resolved.origin !== 'builtin') {
        out.handler = c.resolved.name;
        out.origin = c.resolved.origin;
      }
    }
    if (resets.length) out.resets = resets;
    return out;
  }

  /** A dotted name as a reset target (`pool`, `store._conns`), or null for anything else. */
  targetOf(n: Node, scope: Scope): PyResetTarget | null {
    const d = this.t.dotted(n);
    return d ? resolve(d, scope) : null;
  }

  /** The object a call empties or closes: `x` of `x.clear()` / `x.close()` / `os.close(x)`. */
  private resetReceiver(c: RawCall): string | undefined {
    if (c.resolved && PY_CLOSE_ONE_CALLS.has(c.resolved.name)) return this.t.dotted(argsOf(c.node).positional[0] ?? null) ?? undefined;
    if (c.method && c.callee && PY_RESET_METHODS.has(c.method)) {
      const receiver = c.callee.slice(0, c.callee.length - c.method.length - 1);
      return receiver || undefined;
    }
    return undefined;
  }

  /** `nonlocal pool` then `pool = ...` in the same function: a closure's pool is re-bound. */
  private nonlocalResets(): void {
    // (Where the text spells `nonlocal`: a definition holds one when one starts at least 8 before its end.)
    const at = this.t.exact ? positionsOf(this.t.src, 'nonlocal') : undefined;
    for (const s of this.rec.scopes) {
      const def = s.defNode;
      if (!def || !s.functionFact || !(at ? anyIn(at, def.startIndex, s.until - 7) : def.text.includes('nonlocal'))) continue;
      const names = new Set<string>();
      for (const n of def.descendantsOfType('nonlocal_statement')) {
        if (n && ownFunction(n)?.id === def.id) for (const id of n.namedChildren) if (id?.type === 'identifier') names.add(id.text);
      }
      if (!names.size) continue;
      for (const a of def.descendantsOfType('assignment')) {
        const left = a?.childForFieldName('left');
        if (left?.type === 'identifier' && names.has(left.text) && ownFunction(a!)?.id === def.id) {
          addTarget((s.functionFact.resets ??= []), { name: left.text, origin: 'builtin' });
        }
      }
    }
  }
}

function addTarget(list: PyResetTarget[], t: PyResetTarget): void {
  if (!list.some((x) => x.name === t.name && x.origin === t.origin)) list.push({ name: t.name, origin: t.origin });
}

/** The innermost `def` around a node. */
function ownFunction(n: Node): Node | null {
  let fn: Node | null = n.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  return fn;
}

