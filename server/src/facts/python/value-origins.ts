/**
 * Where a value a function receives comes from, within one file: the calls that may have
 * made the object a plain name holds when the name has no call assigned to it in its own
 * scope — a parameter (what the file's callers pass, or the items a pool's `map()` /
 * `submit()` hands the function it runs), a name unpacked from a tuple (`a, b = params`,
 * `info, scanner = make(...)` with `make` returning a tuple), a loop variable (the items of
 * what it loops over: a list literal, a comprehension, a list filled with `append()`), or a
 * variable of an enclosing function (a closure). The process classifier asks it for the
 * receivers of calls that may start processes or run plugin modules.
 */
import type { Node } from '../../parsing/parser';
import { argsOf, parameterNames } from './syntax-helpers';
import type { PySourceText } from './source-text';
import { resolve, type CollectedRecords, type RawCall, type Scope } from './walk-records';

/** A step from a value to a part of it: an element of a tuple, or an item of an iterable. */
type Selector = { elem: number } | { item: true };

/** How many steps one question follows at most. */
const MAX_STEPS = 24;

/** Calls that give the items of their first argument back (`list(x)`, `sorted(x)`). */
const ITEM_COPIES: ReadonlySet<string> = new Set(['list', 'tuple', 'sorted', 'set', 'frozenset', 'reversed']);

/** Pool methods that run the function they are given (their first argument) on worker threads or processes. */
const POOL_RUNS: ReadonlyMap<string, 'items' | 'arguments'> = new Map([
  ['map', 'items'],
  ['submit', 'arguments'],
]);

/** What binds a name in one scope (nested functions and classes left out). */
interface NameBinding {
  /** The value assigned or looped over. */
  value: Node;
  /** What the name is, as a part of `value`. */
  path: Selector[];
}

interface ScopeIndex {
  bindings: Map<string, NameBinding[]>;
  /** Values of the scope's own `return` statements. */
  returns: Node[];
  /** `name.append(x)` / `name.extend(xs)`: what is added to the list a name holds. */
  additions: Map<string, NameBinding[]>;
}

const NESTED = new Set(['function_definition', 'class_definition', 'lambda']);

/** Nodes whose children may hold the statements an index reads (assignments, loops, returns, `append` calls). */
const STATEMENT_HOLDERS = new Set([
  'module',
  'block',
  'expression_statement',
  'if_statement',
  'elif_clause',
  'else_clause',
  'for_statement',
  'while_statement',
  'try_statement',
  'except_clause',
  'except_group_clause',
  'finally_clause',
  'with_statement',
  'match_statement',
  'case_clause',
  'decorated_definition',
]);

export class ValueOrigins {
  private readonly indexes = new Map<Scope, ScopeIndex>();
  private readonly functionScopes = new Map<string, Scope>();
  private byCallee: Map<string, RawCall[]> | undefined;
  private pools: RawCall[] | undefined;
  private steps = 0;

  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
  ) {
    for (const s of rec.scopes) if (s.kind === 'function') this.functionScopes.set(s.name, s);
  }

  /** Answers already given, per scope and name (a function often calls several methods of one parameter). */
  private readonly answers = new Map<Scope, Map<string, RawCall[]>>();
  /** The arguments of calls, read once per call node. */
  private readonly argsMemo = new Map<number, ReturnType<typeof argsOf>>();

  /** The calls of this file that may have made the object `name` holds in `scope` (none when nothing is known). */
  callsBehind(name: string, scope: Scope): RawCall[] {
    let byName = this.answers.get(scope);
    if (!byName) this.answers.set(scope, (byName = new Map()));
    const known = byName.get(name);
    if (known) return known;
    this.steps = 0;
    const out = new Set<RawCall>();
    this.ofName(name, scope, [], out, new Set());
    const answer = [...out];
    byName.set(name, answer);
    return answer;
  }

  private argsOfCall(c: RawCall): ReturnType<typeof argsOf> {
    let a = this.argsMemo.get(c.node.id);
    if (!a) this.argsMemo.set(c.node.id, (a = argsOf(c.node)));
    return a;
  }

  private ofExpr(n: Node | null | undefined, scope: Scope, path: Selector[], out: Set<RawCall>, seen: Set<string>): void {
    if (!n || ++this.steps > MAX_STEPS) return;
    const key = `${n.id}|${JSON.stringify(path)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const [first, ...rest] = path;
    switch (n.type) {
      case 'parenthesized_expression':
        this.ofExpr(n.namedChild(0), scope, path, out, seen);
        return;
      case 'conditional_expression': {
        const parts = n.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
        this.ofExpr(parts[0], scope, path, out, seen);
        this.ofExpr(parts[2], scope, path, out, seen);
        return;
      }
      case 'tuple':
      case 'expression_list':
      case 'list':
      case 'set': {
        const parts = n.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
        if (first && 'elem' in first) this.ofExpr(parts[first.elem], scope, rest, out, seen);
        else if (first) for (const p of parts) this.ofExpr(p, scope, rest, out, seen);
        return;
      }
      case 'generator_expression':
      case 'list_comprehension':
      case 'set_comprehension':
        if (first && 'item' in first) this.ofExpr(n.childForFieldName('body'), scope, rest, out, seen);
        return;
      case 'identifier':
        this.ofName(n.text, scope, path, out, seen);
        return;
      case 'call': {
        const idx = this.rec.callIndex.get(n.id);
        const c = idx === undefined ? undefined : this.rec.calls[idx];
        if (!c) return;
        if (!path.length) out.add(c);
        const callee = c.resolved;
        if (first && 'item' in first && callee?.origin === 'builtin' && ITEM_COPIES.has(callee.name)) {
          this.ofExpr(argsOf(c.node).positional[0], c.scope, path, out, seen);
          return;
        }
        // A function of this file: what its `return` statements give (a tuple's element, a list's items).
        const fn = callee?.origin === 'local' ? this.functionScopes.get(callee.name) : undefined;
        if (fn) for (const r of this.index(fn).returns) this.ofExpr(r, fn, path, out, seen);
        return;
      }
      default:
        return;
    }
  }

  private ofName(name: string, scope: Scope, path: Selector[], out: Set<RawCall>, seen: Set<string>): void {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class') continue;
      const idx = this.index(s);
      const bound = idx.bindings.get(name);
      const param = s.kind === 'function' ? this.parameterIndex(s, name) : -1;
      if (!bound && param < 0) continue;
      for (const b of bound ?? []) this.ofExpr(b.value, s, [...b.path, ...path], out, seen);
      if (path[0] && 'item' in path[0]) for (const a of idx.additions.get(name) ?? []) this.ofExpr(a.value, s, [...a.path, ...path.slice(1)], out, seen);
      if (param >= 0) this.ofParameter(s, param, name, path, out, seen);
      return;
    }
  }

  /** What the file passes for parameter `i` of the function `fn`: its calls' arguments, the items or arguments a pool hands it. */
  private ofParameter(fn: Scope, i: number, name: string, path: Selector[], out: Set<RawCall>, seen: Set<string>): void {
    const self = fn.cls !== undefined && fn.parent?.kind === 'class' ? 1 : 0;
    for (const c of this.callsOf(fn.name)) {
      if (this.steps > MAX_STEPS) return;
      const a = this.argsOfCall(c);
      this.ofExpr(a.keywords.get(name) ?? a.positional[i - self], c.scope, path, out, seen);
    }
    for (const c of this.poolCalls()) {
      if (this.steps > MAX_STEPS) return;
      const runs = POOL_RUNS.get(c.method!);
      const a = this.argsOfCall(c);
      const given = a.positional[0];
      const d = given ? this.t.dotted(given) : undefined;
      const r = d ? resolve(d, c.scope) : undefined;
      if (r?.origin !== 'local' || r.name !== fn.name) continue;
      if (runs === 'items') this.ofExpr(a.positional[1 + i], c.scope, [{ item: true }, ...path], out, seen);
      else this.ofExpr(a.positional[1 + i], c.scope, path, out, seen);
    }
  }

  /** The file's calls of its own function `name`, indexed once (a question must not read every call's arguments). */
  private callsOf(name: string): readonly RawCall[] {
    if (!this.byCallee) {
      this.byCallee = new Map();
      for (const c of this.rec.calls) {
        if (c.resolved?.origin !== 'local') continue;
        const list = this.byCallee.get(c.resolved.name);
        if (list) list.push(c);
        else this.byCallee.set(c.resolved.name, [c]);
      }
    }
    return this.byCallee.get(name) ?? [];
  }

  /** The file's `x.map(...)` / `x.submit(...)` calls (a pool may run one of its functions). */
  private poolCalls(): readonly RawCall[] {
    return (this.pools ??= this.rec.calls.filter((c) => c.method !== undefined && POOL_RUNS.has(c.method)));
  }

  /** Position of `name` among the positional parameters of `fn` (`self` included), or -1. */
  private parameterIndex(fn: Scope, name: string): number {
    return fn.defNode ? parameterNames(fn.defNode).indexOf(name) : -1;
  }

  /** The bindings, returns and list additions of one scope, read once from its body. */
  private index(s: Scope): ScopeIndex {
    let idx = this.indexes.get(s);
    if (idx) return idx;
    idx = { bindings: new Map(), returns: [], additions: new Map() };
    this.indexes.set(s, idx);
    let body: Node | null | undefined = s.kind === 'function' ? s.defNode?.childForFieldName('body') : undefined;
    if (s.kind === 'module') {
      body = this.rec.calls[0]?.node ?? null;
      while (body?.parent) body = body.parent;
    }
    if (!body) return idx;
    const add = (map: Map<string, NameBinding[]>, name: string, b: NameBinding) => {
      const list = map.get(name);
      if (list) list.push(b);
      else map.set(name, [b]);
    };
    const bindTarget = (target: Node, value: Node, path: Selector[]) => {
      if (target.type === 'identifier') add(idx.bindings, target.text, { value, path });
      else if (target.type === 'pattern_list' || target.type === 'tuple_pattern' || target.type === 'list_pattern') {
        const parts = target.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
        parts.forEach((p, k) => bindTarget(p, value, [...path, { elem: k }]));
      }
    };
    const stack: Node[] = [body];
    while (stack.length) {
      const n = stack.pop()!;
      if (n !== body && NESTED.has(n.type)) continue;
      if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (left && right && right.type !== 'assignment') bindTarget(left, right, []);
      } else if (n.type === 'for_statement') {
        const left = n.childForFieldName('left');
        const right = n.childForFieldName('right');
        if (left && right) bindTarget(left, right, [{ item: true }]);
      } else if (n.type === 'return_statement') {
        const v = n.namedChild(0);
        if (v) idx.returns.push(v);
      } else if (n.type === 'call') {
        const f = n.childForFieldName('function');
        const obj = f?.type === 'attribute' ? f.childForFieldName('object') : null;
        const method = f?.type === 'attribute' ? f.childForFieldName('attribute')?.text : undefined;
        if (obj?.type === 'identifier' && (method === 'append' || method === 'extend')) {
          const arg = argsOf(n).positional[0];
          if (arg) add(idx.additions, obj.text, method === 'append' ? { value: arg, path: [] } : { value: arg, path: [{ item: true }] });
        }
      }
      // Statements and the blocks that hold them: expressions inside are not bindings.
      if (n !== body && !STATEMENT_HOLDERS.has(n.type)) continue;
      for (let i = n.namedChildCount - 1; i >= 0; i--) {
        const c = n.namedChild(i);
        if (c) stack.push(c);
      }
    }
    return idx;
  }
}
