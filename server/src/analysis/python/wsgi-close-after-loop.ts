/**
 * Shape 3 of the WSGI analysis: a generator that closes what it holds (a parameter, an inner
 * response, a handle) only after its loop. When the server closes the generator early,
 * GeneratorExit is raised at the yield and the close never runs. Stays silent where
 * `unreleased-file` already reports the handle.
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { GENERATOR_EXIT_CATCHERS } from '../../knowledge/python-wsgi';
import { anyIn, positionsOf } from '../../text/positions';
import { analyzePythonHandles } from './handles';
import { ancestorOfType, children, lastComponent, parameterNames, positionalArgs, unparen, within } from './wsgi-syntax';
import type { WsgiIndex } from './wsgi-index';
import type { WsgiFixes } from './wsgi-fixes';
import type { WsgiIssue } from './wsgi-issue';

/** Checks the generators of one file; `unreleased-file`'s analysis is asked at most once for the file. */
export class CloseAfterLoopCheck {
  private handleLeaks: { start: number; end: number }[] | null = null;
  private lineStarts: number[] | null = null;

  constructor(
    private readonly file: WsgiIndex,
    private readonly fixes: WsgiFixes,
  ) {}

  check(fn: Node): WsgiIssue[] {
    const out: WsgiIssue[] = [];
    const yields = this.file.yields(fn);
    if (yields.length === 0) return out;
    // `@contextmanager` / test fixtures: the code after the yield is their teardown, resumed by
    // next() (pytest) or thrown into on error (contextlib) — not a response generator.
    // Generator-based coroutines (`@gen.coroutine`, `@gen_test`, `@asyncio.coroutine`) yield
    // futures to their scheduler, which resumes them to the end: not response generators either.
    const deco = fn.parent?.type === 'decorated_definition' ? fn.parent.text.slice(0, fn.startIndex - fn.parent.startIndex) : '';
    if (/contextmanager|fixture|hookimpl|hookwrapper|coroutine|gen_test|inlineCallbacks/.test(deco)) return out;
    const closes: { call: Node; name: string }[] = [];
    const closePositions = positionsOf(this.file.text.slice(fn.startIndex, fn.endIndex), 'close').map((p) => p + fn.startIndex);
    for (const n of this.file.own(fn).calls) {
      // `x.close()`: the word lies inside the call.
      if (!anyIn(closePositions, n.startIndex, n.endIndex)) continue;
      if ((positionalArgs(n)?.length ?? 1) !== 0) continue;
      const callee = n.childForFieldName('function');
      if (callee?.type !== 'attribute' || lastComponent(callee) !== 'close') continue;
      const obj = callee.childForFieldName('object');
      if (obj?.type === 'identifier' && obj.text !== 'self') closes.push({ call: n, name: obj.text });
    }
    const done = new Set<string>();
    for (const { call, name } of closes) {
      if (done.has(name)) continue;
      const all = closes.filter((c) => c.name === name);
      if (all.some((c) => this.protectedClose(c.call, fn))) continue;
      if (this.yieldProtected(yields, name, fn)) continue;
      // Yields that can leave the generator suspended with the close still ahead: in a loop, or
      // delegating to another iterable. `yield from name` passes GeneratorExit on to iter(name)
      // only: that is `name` itself when `name` is an iterator (a generator, an `iter()` result),
      // but a separate object for a list or a response object whose __iter__ returns another.
      const before = yields.filter(
        (y) =>
          y.startIndex < call.startIndex &&
          !within(call, y) &&
          !(this.yieldsFrom(y, name) && this.isOwnIterator(name, y, fn)) &&
          (this.inLoop(y, fn) || this.yieldsFrom(y, null)),
      );
      if (before.length === 0) continue;
      // The yield must be able to run while the name holds what is closed later.
      const binding = this.bindingBefore(name, before[0], fn);
      if (binding === 'none') continue;
      if (binding !== 'param' && this.reportedByUnreleasedFile(binding)) continue;
      done.add(name);
      const isResponse = binding !== 'param' && binding.type === 'call' && this.file.isAppCall(binding, fn);
      const firstYield = before[0];
      const ownedRange = binding === 'param' ? nodeRange(this.paramNode(fn, name) ?? fn) : nodeRange(binding);
      const what = isResponse ? 'the inner response' : `'${name}'`;
      // A second close in a handler would run twice once this one moves into finally.
      const fix = all.length === 1 ? this.fixes.finallyFix(fn, call, name, binding) : null;
      const delegated = this.yieldsFrom(firstYield, name);
      const handlerCloses = all.filter((c) => c.call.id !== call.id && ancestorOfType(c.call, 'except_clause', fn));
      out.push({
        kind: 'close-after-loop',
        range: nodeRange(call),
        message: `Generator ${fn.childForFieldName('name')?.text ?? ''}() closes ${what} only after its last yield: if the response is closed early (client gone), ${name}.close() never runs`,
        steps: [
          { range: ownedRange, message: binding === 'param' ? `'${name}' is handed in here and the generator closes it` : isResponse ? 'the inner application returns its response here' : `'${name}' is obtained here` },
          {
            range: nodeRange(firstYield),
            message: delegated
              ? `close() on the generator raises GeneratorExit here and skips the rest; yield from passes close() on only to iter(${name}), which need not be ${name} itself`
              : 'close() on the generator raises GeneratorExit here and skips the rest',
          },
          ...handlerCloses.map((c) => ({
            range: nodeRange(c.call),
            message: 'this close runs for the exceptions its handler catches; GeneratorExit is a BaseException and passes it by',
          })),
          { range: nodeRange(call), message: 'closed only here, after full iteration' },
        ],
        fixes: fix ? [fix] : [],
      });
    }
    return out;
  }

  /** `yield from <name>` (any iterable when `name` is null). */
  private yieldsFrom(y: Node, name: string | null): boolean {
    if (!/^yield\s+from\b/.test(y.text)) return false;
    if (name === null) return true;
    const value = y.namedChild(y.namedChildCount - 1);
    return value !== null && unparen(value).text === name;
  }

  /**
   * `name` holds an iterator at `use`, so iter(name) is name and `yield from` closes it: bound
   * from `iter(...)`, a generator expression, or a call of a generator function of the file.
   */
  private isOwnIterator(name: string, use: Node, fn: Node): boolean {
    const b = this.bindingBefore(name, use, fn);
    if (b === 'none' || b === 'param') return false;
    if (b.type === 'generator_expression') return true;
    if (b.type !== 'call') return false;
    if (this.file.qualifiedCallee(b) === 'iter' && !this.file.definesFunction('iter')) return true;
    const defs = this.file.calleeDefs(b);
    return defs.length > 0 && defs.every((d) => this.file.isGenerator(d));
  }

  private inLoop(n: Node, fn: Node): boolean {
    for (let p = n.parent; p && p.id !== fn.id; p = p.parent) if (p.type === 'for_statement' || p.type === 'while_statement') return true;
    return false;
  }

  private paramNode(fn: Node, name: string): Node | null {
    const params = fn.childForFieldName('parameters');
    if (!params) return null;
    for (const p of children(params)) {
      if (p.text === name) return p;
      const n = p.childForFieldName('name') ?? children(p).find((c) => c.type === 'identifier');
      if (n?.text === name) return n;
    }
    return null;
  }

  /** What `name` holds at `use`: a parameter, the right side of its last assignment before it, or nothing known. */
  private bindingBefore(name: string, use: Node, fn: Node): Node | 'param' | 'none' {
    let best: Node | null = null;
    for (const n of this.file.own(fn).assignments) {
      if (n.startIndex > use.startIndex) continue;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'identifier' && left.text === name && right) best = right;
    }
    if (best) {
      const b = unparen(best as Node);
      // `f = None` placeholders hold nothing to close.
      if (b.type === 'none' || b.type === 'string' || b.type === 'integer') return 'none';
      return b;
    }
    if (parameterNames(fn).includes(name)) return 'param';
    return 'none';
  }

  /** A close inside `finally`, inside an `except` that sees `GeneratorExit`, or in a `with` exit. */
  private protectedClose(call: Node, fn: Node): boolean {
    for (let p = call.parent; p && p.id !== fn.id; p = p.parent) {
      if (p.type === 'finally_clause') return true;
      if (p.type === 'except_clause') {
        const header = p.text.slice(0, p.text.indexOf(':'));
        if (/^except\s*$/.test(header) || [...GENERATOR_EXIT_CATCHERS].some((e) => header.includes(e))) return true;
      }
      if (p.type === 'lambda' || p.type === 'function_definition') return true;
    }
    return false;
  }

  /** Every yield runs inside `with name` / `with closing(name)` or a `try` whose finally closes it. */
  private yieldProtected(yields: Node[], name: string, fn: Node): boolean {
    return yields.every((y) => {
      for (let p = y.parent; p && p.id !== fn.id; p = p.parent) {
        if (p.type === 'with_statement') {
          const items = p.text.slice(0, p.text.indexOf(':'));
          if (new RegExp(`\\b${name}\\b`).test(items)) return true;
        }
        if (p.type === 'try_statement') {
          for (const c of children(p)) if (c.type === 'finally_clause' && new RegExp(`\\b${name}\\s*\\.\\s*close\\b`).test(c.text)) return true;
        }
      }
      return false;
    });
  }

  /** Offset of a line and character, counting each line of `text.split('\\n')` plus one. */
  private offsetOf(line: number, character: number): number {
    if (!this.lineStarts) {
      const starts = [0];
      for (const l of this.file.lines) starts.push(starts[starts.length - 1] + l.length + 1);
      this.lineStarts = starts;
    }
    return this.lineStarts[Math.min(Math.max(line, 0), this.file.lines.length)] + character;
  }

  private reportedByUnreleasedFile(binding: Node): boolean {
    this.handleLeaks ??= analyzePythonHandles(this.file.tree, this.file.text).map((l) => ({
      start: this.offsetOf(l.openRange.start.line, l.openRange.start.character),
      end: this.offsetOf(l.openRange.end.line, l.openRange.end.character),
    }));
    const s = this.offsetOf(binding.startPosition.row, binding.startPosition.column);
    const e = this.offsetOf(binding.endPosition.row, binding.endPosition.column);
    return this.handleLeaks.some((l) => l.start >= s && l.end <= e);
  }
}
