/**
 * Reads the conditions the Python fact walk acts on: whether an `if` tests the result of
 * a fork (and which branch is the child), whether a `for`/`while` loop runs over a whole
 * descriptor range (so closing its variable closes every descriptor), and whether a
 * definition exists only on platforms other than Linux (`if _mswindows: def ...`).
 */
import type { Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import { PY_FD_DIRECTORIES } from '../../knowledge/python-process';
import { PY_OTHER_PLATFORM_PREFIX, PY_OTHER_PLATFORM_VALUE, PY_PLATFORM_SUBJECT, PY_WINDOWS_FLAG } from '../../knowledge/python-platforms';
import type { PySourceText } from './source-text';
import { argsOf, closesOnlyStdio, identifiersIn, stringValue } from './syntax-helpers';
import type { IfRecord, LoopCtx, Scope } from './walk-records';

/**
 * Recognises tests of a fork's result: `pid == 0`, `not pid`, `pid`, `pid > 0`,
 * `os.fork() == 0`, `if os.fork():` ... The subject is a pid variable of this scope or
 * the fork call itself (resolved after the walk).
 */
export function forkTest(t: PySourceText, cond: Node, scope: Scope): { subject: IfRecord['subject']; childWhenTrue: boolean } | undefined {
  let negate = false;
  let n: Node | null = cond;
  while (n && n.type === 'parenthesized_expression') n = n.namedChild(0);
  if (n?.type === 'not_operator') {
    negate = true;
    n = n.childForFieldName('argument');
  }
  if (!n) return undefined;
  const subjectOf = (x: Node | null): IfRecord['subject'] | undefined => {
    if (!x) return undefined;
    if (x.type === 'identifier' && scope.pidVars?.has(x.text)) return { name: x.text };
    if (x.type === 'call') {
      const fnText = t.dotted(x.childForFieldName('function'));
      if (fnText && /(^|\.)fork(pty)?$/.test(fnText)) return { call: x.id };
    }
    return undefined;
  };
  let s = subjectOf(n);
  if (s) return { subject: s, childWhenTrue: negate }; // `if pid:` → parent when true
  if (n.type !== 'comparison_operator') return undefined;
  const parts = n.namedChildren.filter((c): c is Node => !!c);
  if (parts.length !== 2) return undefined;
  const op = n.child(1)?.type;
  let [left, right] = parts;
  let flipped = false;
  s = subjectOf(left);
  if (!s) {
    s = subjectOf(right);
    [left, right] = [right, left];
    flipped = true;
  }
  if (!s || right.type !== 'integer') return undefined;
  const k = Number(right.text);
  let childWhenTrue: boolean | undefined;
  if (k === 0 && (op === '==' || op === 'is')) childWhenTrue = true;
  else if (k === 0 && (op === '!=' || op === 'is not')) childWhenTrue = false;
  else if (k === 0 && ((op === '>' && !flipped) || (op === '<' && flipped))) childWhenTrue = false;
  if (childWhenTrue === undefined) return undefined;
  return { subject: s, childWhenTrue: negate ? !childWhenTrue : childWhenTrue };
}

/** Calls that hand back the same items in another order (or container). */
const ORDER_WRAPPERS: ReadonlySet<string> = new Set(['reversed', 'sorted', 'list', 'tuple']);

export function loopContext(t: PySourceText, node: Node, type: string, until: number, range: Range): LoopCtx | undefined {
  // Only `range(...)`/`listdir`/`scandir` loops and `while i < n` loops qualify: their words come first.
  const body = t.exact ? t.src.slice(node.startIndex, until) : undefined;
  if (type === 'for_statement') {
    if (body !== undefined && !body.includes('range') && !body.includes('listdir') && !body.includes('scandir')) return undefined;
    const left = node.childForFieldName('left');
    let right = node.childForFieldName('right');
    if (left?.type !== 'identifier' || right?.type !== 'call') return undefined;
    let fn = t.dotted(right.childForFieldName('function'));
    // `reversed(range(n))`, `sorted(os.listdir(...))`, `list(...)`: the same descriptors, in another order.
    for (let depth = 0; depth < 2 && fn && ORDER_WRAPPERS.has(fn); depth++) {
      const inner: Node | undefined = argsOf(right).positional[0];
      if (inner?.type !== 'call') return undefined;
      right = inner;
      fn = t.dotted(right.childForFieldName('function'));
    }
    // `range(3)`: only the standard streams.
    if (fn === 'range' && closesOnlyStdio(right)) return undefined;
    let blanket = fn === 'range';
    if (!blanket && fn && /(^|\.)(listdir|scandir)$/.test(fn)) {
      const arg = argsOf(right).positional[0];
      const v = stringValue(arg)?.value;
      blanket = v !== undefined && PY_FD_DIRECTORIES.some((d) => v.replace(/\/$/, '') === d);
    }
    if (!blanket) return undefined;
    return { node, range, variable: left.text, blanket, keep: false, reported: false };
  }
  if (body !== undefined && !body.includes('<')) return undefined;
  const cond = node.childForFieldName('condition');
  if (cond?.type === 'comparison_operator') {
    const first = cond.namedChild(0);
    const op = cond.child(1)?.type;
    if (first?.type === 'identifier' && (op === '<' || op === '<=')) return { node, range, variable: first.text, blanket: true, keep: false, reported: false };
  }
  return undefined;
}

/**
 * Whether a condition holds only on a platform other than Linux (the target the Python rules
 * judge): `_mswindows`, `sys.platform == "win32"`, `os.name == "nt"`,
 * `sys.platform.startswith("darwin")`, `sys.platform in ("win32", "cygwin")`. Unknown
 * conditions are not (both branches may run).
 */
export function otherPlatformTest(cond: Node): boolean {
  let n: Node | null = cond;
  while (n && n.type === 'parenthesized_expression') n = n.namedChild(0);
  if (!n) return false;
  if (n.type === 'identifier' || n.type === 'attribute') return PY_WINDOWS_FLAG.test(n.text.slice(n.text.lastIndexOf('.') + 1));
  if (n.type === 'boolean_operator' && n.childForFieldName('operator')?.text === 'or') {
    const l = n.childForFieldName('left');
    const r = n.childForFieldName('right');
    return !!l && !!r && otherPlatformTest(l) && otherPlatformTest(r);
  }
  if (n.type === 'call') {
    const fn = n.childForFieldName('function');
    if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'startswith') return false;
    const subject = fn.childForFieldName('object')?.text.replace(/\s+/g, '') ?? '';
    const arg = argsOf(n).positional[0];
    const value = arg ? stringValue(arg)?.value : undefined;
    return PY_PLATFORM_SUBJECT.test(subject) && value !== undefined && PY_OTHER_PLATFORM_PREFIX.test(value);
  }
  if (n.type !== 'comparison_operator') return false;
  const parts = n.namedChildren.filter((c): c is Node => !!c);
  if (parts.length !== 2) return false;
  const op = n.children.slice(1, -1).map((c) => c?.text).join(' ');
  const subject = parts[0].text.replace(/\s+/g, '');
  if (!PY_PLATFORM_SUBJECT.test(subject)) return false;
  if (op === '==') {
    const value = stringValue(parts[1])?.value;
    return value !== undefined && PY_OTHER_PLATFORM_VALUE.test(value);
  }
  if (op === 'in' && (parts[1].type === 'tuple' || parts[1].type === 'list' || parts[1].type === 'set')) {
    const values = parts[1].namedChildren.map((c) => (c ? stringValue(c)?.value : undefined));
    return values.length > 0 && values.every((v) => v !== undefined && PY_OTHER_PLATFORM_VALUE.test(v));
  }
  return false;
}

/**
 * Whether a text may hold a test {@link otherPlatformTest} accepts: every such test names a
 * Windows flag (`win`), a platform subject (`platform`) or `os.name`. A file without any of
 * these words has no definition for other platforms only, and its definitions need not be
 * looked up (a parent lookup costs a trip into the parser's memory).
 */
export function mayTestOtherPlatform(text: string): boolean {
  return /win|platform|\.\s*name\b/i.test(text);
}

/**
 * Whether a definition sits directly in an `if`/`elif` branch that only other platforms take
 * (`if _mswindows: def _communicate(...)`): its body is not walked as code that runs here.
 */
export function definedOnlyForOtherPlatforms(def: Node): boolean {
  let holder: Node | null = def.parent;
  if (holder?.type === 'decorated_definition') holder = holder.parent;
  if (holder?.type !== 'block') return false;
  const branch = holder.parent;
  if (branch?.type === 'if_statement' && branch.childForFieldName('consequence')?.id === holder.id) {
    const cond = branch.childForFieldName('condition');
    return !!cond && otherPlatformTest(cond);
  }
  if (branch?.type === 'elif_clause') {
    const cond = branch.childForFieldName('condition');
    return !!cond && otherPlatformTest(cond);
  }
  return false;
}

/**
 * Whether a statement only runs on platforms other than Linux: some `if`/`elif` branch that
 * holds it (at any depth, up to the module) tests for another platform
 * (`elif os.name == "nt": eventlet.monkey_patch(os=False)`). `else` branches are not judged:
 * the condition they negate says nothing about the platform on its own.
 */
export function runsOnlyOnOtherPlatforms(node: Node): boolean {
  for (let holder = node.parent; holder; holder = holder.parent) {
    if (holder.type !== 'block') continue;
    const branch = holder.parent;
    if (branch?.type === 'if_statement' && branch.childForFieldName('consequence')?.id === holder.id) {
      const cond = branch.childForFieldName('condition');
      if (cond && otherPlatformTest(cond)) return true;
    } else if (branch?.type === 'elif_clause') {
      const cond = branch.childForFieldName('condition');
      if (cond && otherPlatformTest(cond)) return true;
    }
  }
  return false;
}

/**
 * The plain names a fork call is guarded by (`if frk: pid = os.fork()`): the conditions of
 * the `if`s whose first branch holds it, in its own function, when the function assigns the
 * name nowhere after the fork. A forked child has seen each of them true, so a later
 * `if frk:` in the child surely takes its first branch.
 */
export function forkFlags(fork: Node, fnBody: Node | null | undefined): Set<string> {
  const flags = new Set<string>();
  for (let n: Node | null = fork; n && n.id !== fnBody?.id; n = n.parent) {
    const p = n.parent;
    if (n.type !== 'block' || p?.type !== 'if_statement' || p.childForFieldName('consequence')?.id !== n.id) continue;
    let cond = p.childForFieldName('condition');
    while (cond?.type === 'parenthesized_expression') cond = cond.namedChild(0);
    if (cond?.type === 'identifier') flags.add(cond.text);
  }
  if (!flags.size || !fnBody) return flags;
  // A name assigned again after the fork may have changed.
  const stack: Node[] = [fnBody];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.id !== fnBody.id && (n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition')) continue;
    if ((n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement') && n.startIndex > fork.startIndex) {
      const left = n.childForFieldName('left');
      for (const name of left ? identifiersIn(left) : []) flags.delete(name);
    }
    for (let i = 0; i < n.namedChildCount; i++) {
      const c = n.namedChild(i);
      if (c) stack.push(c);
    }
  }
  return flags;
}

/**
 * Whether the `if` starting at `start` around `inner` is one a forked child surely takes:
 * its condition is one of the fork's flags and `inner` is in its first branch.
 */
export function takenWithFork(inner: Node, start: Range['start'], flags: ReadonlySet<string>): boolean {
  if (!flags.size) return false;
  for (let n: Node | null = inner; n; n = n.parent) {
    const p = n.parent;
    if (p?.type !== 'if_statement' || p.startPosition.row !== start.line || p.startPosition.column !== start.character) continue;
    let cond = p.childForFieldName('condition');
    while (cond?.type === 'parenthesized_expression') cond = cond.namedChild(0);
    return p.childForFieldName('consequence')?.id === n.id && cond?.type === 'identifier' && flags.has(cond.text);
  }
  return false;
}
