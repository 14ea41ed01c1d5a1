/**
 * Shape 1 of the WSGI analysis, the double wrap: `environ['wsgi.file_wrapper'](x)` where `x`
 * may already be a wrapped response. Traces where a value may come from inside the file
 * (parameters to their call sites, assignments, attribute stores, returns, constructor
 * arguments, one hop through a registered callback) and reports a wrap whose argument may be a
 * sub-application's response or an earlier wrap.
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { CARRYING_CALLS, FILE_WRAPPER_KEY } from '../../knowledge/python-wsgi';
import { children, hasWsgiSignature, isField, isMethod, parameterNames, positionalArgs, unparen } from './wsgi-syntax';
import type { WsgiIndex } from './wsgi-index';
import type { WsgiFixes } from './wsgi-fixes';
import type { WsgiIssue, WsgiStep } from './wsgi-issue';

interface Src {
  kind: 'subapp' | 'wrap';
  node: Node;
  /** From the source towards the expression asked about. */
  steps: WsgiStep[];
}

const MAX_DEPTH = 8;

/** Checks the wraps of one file; the value sources traced (and the callbacks found) are kept for the file. */
export class DoubleWrapCheck {
  private adapters: { fn: Node; escape: Node; srcs: Src[] }[] | null = null;
  private readonly memo = new Map<string, Src[]>();

  constructor(
    private readonly file: WsgiIndex,
    private readonly fixes: WsgiFixes,
  ) {}

  /**
   * Where the value of `expr` (in `fn`) may come from: sub-application calls and wraps, each
   * with the shortest chain found. Memoised per expression; a cycle contributes nothing.
   */
  private sources(expr: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    if (depth > MAX_DEPTH) return [];
    const e = unparen(expr);
    const key = `${fn.id}:${e.id}`;
    const memo = this.memo.get(key);
    if (memo) return memo;
    if (seen.has(key)) return [];
    seen.add(key);
    const all = this.sourcesOf(e, fn, depth, seen);
    seen.delete(key);
    const out: Src[] = [];
    for (const kind of ['wrap', 'subapp'] as const) {
      const best = all.filter((s) => s.kind === kind).sort((a, b) => a.steps.length - b.steps.length)[0];
      if (best) out.push(best);
    }
    this.memo.set(key, out);
    return out;
  }

  private sourcesOf(e: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    switch (e.type) {
      case 'await':
      case 'boolean_operator':
      case 'conditional_expression':
      case 'list':
      case 'tuple':
        return children(e).flatMap((c) => this.sources(c, fn, depth, seen));
      case 'attribute':
      case 'subscript': {
        const base = e.childForFieldName(e.type === 'attribute' ? 'object' : 'value');
        return base ? this.sources(base, fn, depth, seen) : [];
      }
      case 'identifier':
        return this.nameSources(e.text, fn, depth, seen);
      case 'call':
        return this.callSources(e, fn, depth, seen);
      default:
        return [];
    }
  }

  private nameSources(name: string, fn: Node, depth: number, seen: Set<string>): Src[] {
    const out: Src[] = [];
    const params = parameterNames(fn);
    const index = params.indexOf(name);
    if (index >= 0 && name !== 'self' && name !== 'cls') {
      const fname = fn.childForFieldName('name')?.text ?? '';
      const offset = isMethod(fn) ? 1 : 0;
      for (const { call: n, caller } of this.file.callersOf(fn)) {
        const args = positionalArgs(n);
        const arg = args?.[index - offset];
        if (!arg) continue;
        for (const s of this.sources(arg, caller, depth + 1, seen)) {
          out.push({ ...s, steps: [...s.steps, { range: nodeRange(n), message: `passed to ${fname}() here` }] });
        }
      }
      return out;
    }
    for (const n of this.file.own(fn).assignments) {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (!left || !right) continue;
      // `name = value` and `name.attr = value` (`rs.body = body`: the object now carries it).
      const target = left.type === 'attribute' ? left.childForFieldName('object') : left;
      if (target?.type !== 'identifier' || target.text !== name) continue;
      for (const s of this.sources(right, fn, depth, seen)) {
        out.push(left.type === 'attribute' ? { ...s, steps: [...s.steps, { range: nodeRange(n), message: `stored in ${left.text} here` }] } : s);
      }
    }
    return out;
  }

  private callSources(call: Node, fn: Node, depth: number, seen: Set<string>): Src[] {
    if (this.file.isAppCall(call, fn)) return [{ kind: 'subapp', node: call, steps: [] }];
    if (this.file.wrapArgument(call, fn)) return [{ kind: 'wrap', node: call, steps: [] }];
    const defs = this.file.calleeDefs(call);
    if (defs.length > 0) {
      const out: Src[] = [];
      for (const def of defs) {
        const name = def.childForFieldName('name')?.text ?? '';
        for (const ret of this.returnValues(def)) {
          for (const s of this.sources(ret, def, depth + 1, seen)) {
            out.push({ ...s, steps: [...s.steps, { range: nodeRange(ret.parent ?? ret), message: `returned from ${name}() here` }] });
          }
        }
      }
      return out;
    }
    const callee = call.childForFieldName('function');
    const q = this.file.qualifiedCallee(call);
    const args = children(call.childForFieldName('arguments') ?? call).filter((c) => c.type !== 'keyword_argument');
    // Constructors (a response object built around the body) and adapters carry their arguments.
    if ((callee?.type === 'identifier' && (this.file.classes.has(callee.text) || /^[A-Z]/.test(callee.text))) || CARRYING_CALLS.has(q)) {
      return args.flatMap((a) => this.sources(a, fn, depth, seen));
    }
    if (this.file.isDynamicCall(call, fn)) {
      const out: Src[] = [];
      for (const a of this.escapedAdapters(seen)) {
        const name = a.fn.childForFieldName('name')?.text ?? '';
        for (const s of a.srcs) {
          out.push({
            ...s,
            steps: [
              ...s.steps,
              { range: nodeRange(a.escape), message: `${name}() is registered as a callback here` },
              { range: nodeRange(call), message: 'callbacks are called here, and what they return is used as the response' },
            ],
          });
        }
      }
      return out;
    }
    return [];
  }

  private returnValues(fn: Node): Node[] {
    const out: Node[] = [];
    for (const n of this.file.own(fn).returns) if (n.namedChildCount > 0) out.push(n.namedChild(0)!);
    return out;
  }

  /**
   * Functions of the file that are handed out as values (`options['callback'] = f`,
   * `register(f)`, decorated) and return a sub-application's response.
   */
  private escapedAdapters(seen: Set<string>): { fn: Node; escape: Node; srcs: Src[] }[] {
    if (this.adapters) return this.adapters;
    // Computed in a phase of its own: inside it a dynamic call reaches no adapter (one hop
    // only), and what is memoised meanwhile is dropped so it cannot hide the hop later.
    this.adapters = [];
    const outer = new Map(this.memo);
    this.memo.clear();
    for (const fn of this.file.functions) {
      // A WSGI callable handed out (a middleware given to a server, `CGIHandler().run(app)`)
      // is called with start_response by whoever got it, not as a route callback.
      if (hasWsgiSignature(fn)) continue;
      const name = fn.childForFieldName('name')?.text ?? '';
      let escape: Node | null = null;
      if (fn.parent?.type === 'decorated_definition') escape = fn.parent.namedChild(0);
      if (!escape) {
        for (const id of this.file.identifiers(name)) {
          const p = id.parent;
          if (!p || (p.type === 'function_definition' && isField(p, 'name', id))) continue;
          if (p.type === 'call' && isField(p, 'function', id)) continue;
          if (p.type === 'attribute' && isField(p, 'attribute', id)) continue;
          if (p.type === 'assignment' && isField(p, 'left', id)) continue;
          escape = id;
          break;
        }
      }
      if (!escape) continue;
      const srcs: Src[] = [];
      for (const ret of this.returnValues(fn)) {
        for (const s of this.sources(ret, fn, 1, seen)) {
          if (s.kind === 'subapp') srcs.push({ ...s, steps: [...s.steps, { range: nodeRange(ret.parent ?? ret), message: `returned from ${name}() here` }] });
        }
      }
      if (srcs.length > 0) this.adapters.push({ fn, escape, srcs: srcs.slice(0, 1) });
    }
    this.memo.clear();
    for (const [k, v] of outer) this.memo.set(k, v);
    return this.adapters;
  }

  /** A condition before the wrap (or around it) that tells an already wrapped value apart. */
  private guarded(wrapCall: Node, arg: Node, fn: Node): boolean {
    const argText = unparen(arg).text;
    const mentionsArg = new RegExp(`(^|[^\\w.])${argText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
    for (const n of this.file.own(fn).conditions) {
      if (n.startIndex > wrapCall.startIndex) continue;
      const cond = n.type === 'conditional_expression' ? n : n.childForFieldName('condition');
      if (!cond) continue;
      // `"wsgi.file_wrapper" in environ` only asks whether the server has a wrapper at all.
      const text = cond.text.split(FILE_WRAPPER_KEY).join('');
      if (/wrap/i.test(text) && mentionsArg.test(text)) return true;
    }
    return false;
  }

  check(call: Node, arg: Node, fn: Node): WsgiIssue | null {
    if (this.guarded(call, arg, fn)) return null;
    const srcs = this.sources(arg, fn, 0, new Set());
    // The shortest chain of each kind is the one to show; a direct re-wrap wins.
    const shortest = (kind: Src['kind']) => srcs.filter((s) => s.kind === kind).sort((a, b) => a.steps.length - b.steps.length)[0];
    const src = shortest('wrap') ?? shortest('subapp');
    if (!src) return null;
    const wrapRange = nodeRange(call);
    const steps: WsgiStep[] = [];
    let message: string;
    if (src.kind === 'wrap') {
      steps.push({ range: nodeRange(src.node), message: `first application of ${FILE_WRAPPER_KEY} here` }, ...src.steps);
      message = `environ['${FILE_WRAPPER_KEY}'] is applied to a response that was already wrapped on line ${src.node.startPosition.row + 1}; a server wrapper may take a reference each time and the file is never closed`;
    } else {
      const appLine = src.node.startPosition.row + 1;
      // The sub-application gets the same environ: if it is built on this code, its own
      // response went through this very wrap before it came back here.
      if (this.reachableFromWsgiEntry(fn)) {
        steps.push({ range: wrapRange, message: `first application: a mounted application built on this code wraps its file response here` });
      }
      steps.push({ range: nodeRange(src.node), message: 'a sub-application is called here with the same environ; its response may already be wrapped' }, ...src.steps);
      message = `environ['${FILE_WRAPPER_KEY}'] may be applied twice: the response of the application called on line ${appLine} comes back here and may already be a wrapped file, so the file can leak (check for an already wrapped response first)`;
    }
    steps.push({ range: wrapRange, message: `${FILE_WRAPPER_KEY} applied again here` });
    const fix = this.fixes.guardFix(call, arg);
    return { kind: 'double-wrap', range: wrapRange, message, steps, fixes: fix ? [fix] : [] };
  }

  /** The function is called (directly or through functions of the file) from a WSGI callable. */
  private reachableFromWsgiEntry(fn: Node): boolean {
    const seen = new Set<number>();
    const queue = [fn];
    while (queue.length > 0) {
      const f = queue.shift()!;
      if (seen.has(f.id)) continue;
      seen.add(f.id);
      if (hasWsgiSignature(f)) return true;
      for (const { caller } of this.file.callersOf(f)) queue.push(caller);
    }
    return false;
  }
}
