/**
 * Recognising which code only the child of a `fork()` runs.
 *
 * A fork has three outcomes: the child (returns 0), the parent (a positive pid) and the
 * error (-1). Tests of the result (`if (pid == 0)`, `if (!pid)`, `switch (fork())`,
 * `if ((pid = fork()) < 0) ... else if (pid > 0) ...`) are evaluated for each outcome with
 * three-valued logic; a branch reached by the child and never by the parent is a `block`
 * region, and when the tests that follow the fork leave only the child (and the failed
 * fork, which is harmless) running on, the rest of the block is an `after` region.
 */
import type { Node } from '../../parsing/parser';
import { EXEC_CALLS, FORK_CALLS, SAFE_EXITS, UNSAFE_EXITS, type ForkKind } from '../../knowledge/c-process';
import { NORETURN_CALLS } from '../../knowledge/c-handles';

export type Outcome = 'child' | 'parent' | 'error';
type Tri = 'T' | 'F' | '?';

/**
 * What a test compares: the storage holding the fork's result (a variable, or a struct
 * field, array element or pointee such as `bpipe->worker_pid`, keyed by its text without
 * white space), or the fork call itself.
 */
export interface ForkSubject {
  variable?: string;
  callId: number;
  /** The fork table in use (built-in, merged with the user's models). */
  forkCalls: ReadonlyMap<string, ForkKind>;
}

/** A node the walker must treat as the start of a child region. */
export interface PendingRegion {
  shape: 'block' | 'after';
  /** For `block`: the branch statement (or the `case` node); for `after`: the block. */
  nodeId: number;
  /** For `after`: index (among the block's named children) of the first statement of the region. */
  fromIndex?: number;
  /**
   * For `after`: the child never gets here when every callee of one of these lists never
   * returns (the branches that take the child on past the tests all end in such helpers).
   */
  unless?: string[][];
  /**
   * For a `case`: the switch body's nodes that follow it up to the next `case` and still run
   * in it (the C grammar ends a `case` at a preprocessor directive, so `#ifdef … #endif`
   * and the statements after it become siblings of the `case`).
   */
  alsoNodeIds?: number[];
}

export interface ForkShape {
  call: Node;
  subject: ForkSubject;
  regions: PendingRegion[];
  /** The tests were understood: every outcome's path was followed to a branch or the block's end. */
  known: boolean;
}

const OUTCOMES: readonly Outcome[] = ['child', 'parent', 'error'];

/**
 * `unwrap` that also gives the type of the node it stops at, so the caller need not read it
 * again (each `type` read crosses into the parser's wasm). `type`: the node's own, if known.
 */
export function unwrapTyped(node: Node, type: string = node.type): { node: Node; type: string } {
  let cur = node;
  let curType = type;
  for (;;) {
    if (curType === 'parenthesized_expression') {
      const inner = cur.namedChild(0);
      if (!inner) break;
      const innerType = inner.type;
      if (innerType === 'comment') break;
      cur = inner;
      curType = innerType;
    } else if (curType === 'cast_expression') {
      const inner = cur.childForFieldName('value');
      if (!inner) break;
      cur = inner;
      curType = inner.type;
    } else break;
  }
  return { node: cur, type: curType };
}

/** Strips parentheses and casts. */
export function unwrap(node: Node): Node {
  return unwrapTyped(node).node;
}

/** The identifier callee's name of a call expression, or null. */
export function calleeName(call: Node): string | null {
  const fn = call.childForFieldName('function');
  return fn?.type === 'identifier' ? fn.text : null;
}

/** `forkCalls`: the fork table in use (the built-in one merged with the user's models). */
function isForkCall(node: Node, forkCalls: ReadonlyMap<string, ForkKind>): boolean {
  if (node.type !== 'call_expression') return false;
  const name = calleeName(node);
  return name !== null && forkCalls.get(name) === 'fork';
}

/** Expressions that name a storage place the fork's result can be kept in and tested from. */
const STORAGE_TYPES = new Set(['identifier', 'field_expression', 'subscript_expression', 'pointer_expression']);

/** The key of a storage place: its text without white space (`bpipe -> pid` is `bpipe->pid`). */
function storageKey(node: Node): string | null {
  return STORAGE_TYPES.has(node.type) ? node.text.replace(/\s+/g, '') : null;
}

/**
 * `fork()` or `place = fork()` (possibly parenthesised), with the storage it assigns: a
 * variable, a struct field (`bpipe->worker_pid = fork()`), an array element or a pointee.
 */
function forkExpression(node: Node, forkCalls: ReadonlyMap<string, ForkKind>): { call: Node; variable?: string } | null {
  const n = unwrap(node);
  if (isForkCall(n, forkCalls)) return { call: n };
  if (n.type === 'assignment_expression' && n.childForFieldName('operator')?.type === '=') {
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    const key = left ? storageKey(unwrap(left)) : null;
    if (key && right) {
      const r = unwrap(right);
      if (isForkCall(r, forkCalls)) return { call: r, variable: key };
    }
  }
  return null;
}

/** Finds `fork()`/`pid = fork()` among the operands of a condition (a few levels deep). */
function forkInCondition(node: Node, forkCalls: ReadonlyMap<string, ForkKind>, depth = 0): { call: Node; variable?: string } | null {
  if (depth > 4) return null;
  const direct = forkExpression(node, forkCalls);
  if (direct) return direct;
  const n = unwrap(node);
  if (n.type === 'binary_expression' || n.type === 'unary_expression') {
    for (const child of n.namedChildren) {
      if (!child) continue;
      const found = forkInCondition(child, forkCalls, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

function isSubject(node: Node, subject: ForkSubject): boolean {
  const n = unwrap(node);
  if (subject.variable && storageKey(n) === subject.variable) return true;
  if (n.id === subject.callId) return true;
  const f = forkExpression(n, subject.forkCalls);
  return f !== null && f.call.id === subject.callId;
}

function numberValue(node: Node): number | null {
  const n = unwrap(node);
  if (n.type === 'number_literal') {
    const v = Number(n.text.replace(/[uUlL]+$/, ''));
    return Number.isFinite(v) ? v : null;
  }
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '-') {
    const arg = n.childForFieldName('argument');
    const v = arg ? numberValue(arg) : null;
    return v === null ? null : -v;
  }
  return null;
}

/** Value range of the fork's result per outcome. */
const RANGES: Record<Outcome, [number, number]> = { child: [0, 0], parent: [1, Infinity], error: [-1, -1] };

function compare(range: [number, number], op: string, n: number): Tri {
  const [lo, hi] = range;
  const all = (p: (v: number) => boolean): Tri => {
    // Decide on the range's ends and one inside point; ranges here are a point or [1, inf).
    const samples = lo === hi ? [lo] : [lo, lo + 1, n - 1, n, n + 1, 1e9].filter((v) => v >= lo && v <= hi);
    const results = samples.map(p);
    if (results.every((r) => r)) return 'T';
    if (results.every((r) => !r)) return 'F';
    return '?';
  };
  switch (op) {
    case '==':
      return all((v) => v === n);
    case '!=':
      return all((v) => v !== n);
    case '<':
      return all((v) => v < n);
    case '<=':
      return all((v) => v <= n);
    case '>':
      return all((v) => v > n);
    case '>=':
      return all((v) => v >= n);
    default:
      return '?';
  }
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };

/** Evaluates a condition for one outcome of the fork. */
export function evalCondition(node: Node, subject: ForkSubject, outcome: Outcome): Tri {
  const n = unwrap(node);
  if (isSubject(n, subject)) return outcome === 'child' ? 'F' : 'T';
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
    const arg = n.childForFieldName('argument');
    const v = arg ? evalCondition(arg, subject, outcome) : '?';
    return v === 'T' ? 'F' : v === 'F' ? 'T' : '?';
  }
  if (n.type === 'binary_expression') {
    const op = n.childForFieldName('operator')?.type ?? '';
    const left = n.childForFieldName('left');
    const right = n.childForFieldName('right');
    if (!left || !right) return '?';
    if (op === '&&' || op === '||') {
      const a = evalCondition(left, subject, outcome);
      const b = evalCondition(right, subject, outcome);
      if (op === '&&') return a === 'F' || b === 'F' ? 'F' : a === 'T' && b === 'T' ? 'T' : '?';
      return a === 'T' || b === 'T' ? 'T' : a === 'F' && b === 'F' ? 'F' : '?';
    }
    if (!(op in FLIP)) return '?';
    if (isSubject(left, subject)) {
      const v = numberValue(right);
      return v === null ? '?' : compare(RANGES[outcome], op, v);
    }
    if (isSubject(right, subject)) {
      const v = numberValue(left);
      return v === null ? '?' : compare(RANGES[outcome], FLIP[op], v);
    }
  }
  return '?';
}

/** True when the subject is read by the condition (a test of the fork's result). */
function mentionsSubject(node: Node, subject: ForkSubject, depth = 0): boolean {
  if (depth > 6) return false;
  if (isSubject(node, subject)) return true;
  for (const child of node.namedChildren) {
    if (child && mentionsSubject(child, subject, depth + 1)) return true;
  }
  return false;
}

/** Calls that never come back: exits and aborts (not `exec*`, which returns when it fails). */
export function isNoReturn(name: string): boolean {
  return NORETURN_CALLS.has(name) || SAFE_EXITS.has(name) || UNSAFE_EXITS.has(name);
}

/**
 * When a statement leaves the straight-line flow: always (`true`: a return, goto, break, an
 * exit), never by itself (`false`), or when every callee of one of the lists never returns
 * (`[['do_exec'], ['report', 'cleanup']]`): calls of functions the syntax cannot judge, which
 * the model decides with its no-return summaries. An `exec*()` is no leave: it returns when
 * it fails.
 */
export type LeaveCondition = boolean | string[][];

/** At most this many lists, and names in a list; past that a condition is dropped (or judged never to hold). */
const MAX_LEAVE_LISTS = 16;

/**
 * Either condition leaves (a statement, then the next). Past the cap the first lists are
 * dropped (a block's no-return helper is most often its last word), which only makes the
 * condition hold less often.
 */
export function eitherLeaves(a: LeaveCondition, b: LeaveCondition): LeaveCondition {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  const byKey = new Map<string, string[]>();
  for (const names of [...a, ...b]) {
    const key = names.join(',');
    byKey.delete(key);
    byKey.set(key, names);
  }
  return [...byKey.values()].slice(-MAX_LEAVE_LISTS);
}

/** Both conditions leave (the branches of an `if`/`else`); too many combinations: never judged to hold. */
export function bothLeave(a: LeaveCondition, b: LeaveCondition): LeaveCondition {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  if (a.length * b.length > MAX_LEAVE_LISTS) return false;
  const out: string[][] = [];
  for (const x of a) for (const y of b) {
    const names = [...new Set([...x, ...y])];
    if (names.length <= MAX_LEAVE_LISTS) out.push(names);
  }
  return out.length > 0 ? out : false;
}

/** When a statement leaves the straight-line flow (see {@link LeaveCondition}). */
export function leaveCondition(stmt: Node | null, depth = 0): LeaveCondition {
  if (!stmt || depth > 8) return false;
  switch (stmt.type) {
    case 'return_statement':
    case 'goto_statement':
    case 'break_statement':
    case 'continue_statement':
      return true;
    case 'compound_statement': {
      let cond: LeaveCondition = false;
      for (const child of stmt.namedChildren) {
        if (!child) continue;
        cond = eitherLeaves(cond, leaveCondition(child, depth + 1));
        if (cond === true) return true;
      }
      return cond;
    }
    case 'expression_statement': {
      const e = stmt.namedChild(0);
      if (!e) return false;
      const call = unwrap(e);
      if (call.type !== 'call_expression') return false;
      const name = calleeName(call);
      if (name === null || EXEC_CALLS.has(name)) return false;
      return isNoReturn(name) ? true : [[name]];
    }
    case 'if_statement': {
      const alt = stmt.childForFieldName('alternative');
      if (!alt) return false;
      return bothLeave(leaveCondition(stmt.childForFieldName('consequence'), depth + 1), leaveCondition(alt.namedChildren.find((c) => c && c.type !== 'comment') ?? null, depth + 1));
    }
    case 'labeled_statement':
      return leaveCondition(stmt.namedChildren[stmt.namedChildren.length - 1] ?? null, depth + 1);
    default:
      return false;
  }
}

/** Child-only when the child reaches it and the parent never does (a failed fork is harmless). */
function childOnly(reach: ReadonlySet<Outcome>): boolean {
  return reach.has('child') && !reach.has('parent');
}

/**
 * Follows an `if`/`else if` chain; returns the outcomes that run on after it. `childRoutes`
 * gets, for each branch that takes the child on past the chain, when that branch leaves
 * all the same (its no-return helpers).
 */
function analyzeIf(node: Node, subject: ForkSubject, live: ReadonlySet<Outcome>, out: PendingRegion[], childRoutes: LeaveCondition[]): Set<Outcome> {
  const cond = node.childForFieldName('condition');
  const truth = new Map<Outcome, Tri>();
  for (const o of OUTCOMES) truth.set(o, cond ? evalCondition(cond, subject, o) : '?');
  const consReach = new Set([...live].filter((o) => truth.get(o) !== 'F'));
  const altReach = new Set([...live].filter((o) => truth.get(o) !== 'T'));
  const after = new Set<Outcome>();
  const cons = node.childForFieldName('consequence');
  if (cons && consReach.size > 0) {
    if (childOnly(consReach)) out.push({ shape: 'block', nodeId: cons.id });
    const leaves = leaveCondition(cons);
    if (leaves !== true) for (const o of consReach) after.add(o);
    if (leaves !== true && consReach.has('child')) childRoutes.push(leaves);
  }
  const altClause = node.childForFieldName('alternative');
  const alt = altClause?.namedChildren.find((c) => c && c.type !== 'comment') ?? null;
  if (!alt) {
    for (const o of altReach) after.add(o);
    if (altReach.has('child')) childRoutes.push(false);
  } else if (altReach.size > 0) {
    if (alt.type === 'if_statement') {
      for (const o of analyzeIf(alt, subject, altReach, out, childRoutes)) after.add(o);
    } else {
      if (childOnly(altReach)) out.push({ shape: 'block', nodeId: alt.id });
      const leaves = leaveCondition(alt);
      if (leaves !== true) for (const o of altReach) after.add(o);
      if (leaves !== true && altReach.has('child')) childRoutes.push(leaves);
    }
  }
  return after;
}

/** Follows a `switch` on the fork's result: `case 0` is the child, `case -1` the error (`childRoutes`: as for `analyzeIf`). */
function analyzeSwitch(node: Node, live: ReadonlySet<Outcome>, out: PendingRegion[], childRoutes: LeaveCondition[]): Set<Outcome> {
  const body = node.childForFieldName('body');
  const after = new Set<Outcome>();
  if (!body) {
    if (live.has('child')) childRoutes.push(false);
    return new Set(live);
  }
  const cases = body.namedChildren.filter((c): c is Node => c !== null && c.type === 'case_statement');
  const explicit = new Set<Outcome>();
  const caseOutcome = (c: Node): Outcome | 'default' | null => {
    const value = c.childForFieldName('value');
    if (!value) return 'default';
    const v = numberValue(value);
    if (v === 0) return 'child';
    if (v === -1) return 'error';
    return v !== null && v > 0 ? 'parent' : null;
  };
  for (const c of cases) {
    const o = caseOutcome(c);
    if (o && o !== 'default') explicit.add(o);
  }
  let hasDefault = false;
  for (const c of cases) {
    const o = caseOutcome(c);
    let reach: Set<Outcome>;
    if (o === 'default') {
      hasDefault = true;
      reach = new Set([...live].filter((x) => !explicit.has(x)));
    } else if (o === null) {
      continue;
    } else {
      reach = new Set([...live].filter((x) => x === o));
    }
    if (reach.size === 0) continue;
    // The case's trailing siblings (after a preprocessor directive ended it in the tree).
    const siblings: Node[] = [];
    for (let k = body.namedChildren.indexOf(c) + 1; k < body.namedChildren.length; k++) {
      const next = body.namedChildren[k];
      if (!next || next.type === 'comment') continue;
      if (next.type === 'case_statement') break;
      siblings.push(next);
    }
    if (childOnly(reach)) out.push({ shape: 'block', nodeId: c.id, ...(siblings.length ? { alsoNodeIds: siblings.map((n) => n.id) } : {}) });
    const stmts = [...c.namedChildren.filter((s): s is Node => s !== null && s.type !== 'comment' && s.id !== c.childForFieldName('value')?.id), ...siblings];
    let leaves: LeaveCondition = false;
    for (const s of stmts) if (s.type !== 'break_statement') leaves = eitherLeaves(leaves, leaveCondition(s));
    if (leaves !== true) for (const x of reach) after.add(x);
    if (leaves !== true && reach.has('child')) childRoutes.push(leaves);
  }
  if (!hasDefault) {
    for (const x of live) if (!explicit.has(x)) after.add(x);
    if (live.has('child') && !explicit.has('child')) childRoutes.push(false);
  }
  return after;
}

/**
 * A fork whose result an `if`/`else` stores in both branches, to the same place:
 * `if (pty) pid = forkpty(...); else pid = fork();`. One branch must call a fork function;
 * the other may call a wrapper of one (`fdforkpty()`), since every outcome is then tested
 * through the stored result. Returns the fork call and the storage, or null.
 */
function forkAssignedInBranches(ifStmt: Node, forkCalls: ReadonlyMap<string, ForkKind>): { call: Node; variable?: string } | null {
  const assigned = (branch: Node | null | undefined): { key: string; fork: { call: Node; variable?: string } | null } | null => {
    if (!branch) return null;
    const stmts = branch.type === 'compound_statement' ? branch.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment') : [branch];
    for (let k = stmts.length - 1; k >= 0; k--) {
      const st = stmts[k];
      if (st.type !== 'expression_statement') continue;
      const e = st.namedChild(0);
      const n = e ? unwrap(e) : null;
      if (n?.type !== 'assignment_expression' || n.childForFieldName('operator')?.type !== '=') continue;
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      const key = left ? storageKey(unwrap(left)) : null;
      if (!key || !right || unwrap(right).type !== 'call_expression') continue;
      return { key, fork: forkExpression(n, forkCalls) };
    }
    return null;
  };
  const cons = assigned(ifStmt.childForFieldName('consequence'));
  const altClause = ifStmt.childForFieldName('alternative');
  const alt = assigned(altClause?.namedChildren.find((c) => c && c.type !== 'comment') ?? null);
  if (!cons || !alt || cons.key !== alt.key) return null;
  const fork = cons.fork ?? alt.fork;
  return fork?.variable ? fork : null;
}

/**
 * A fork whose result every branch of an `#if`/`#else` stores to the same place, the fork on
 * one platform and a constant on another (`#if NO_FORK pid = -1; #else pid = fork(); #endif`):
 * the tests that follow the `#endif` test the fork's result. Returns the fork call and the
 * storage, or null (no `#else`, or a branch that stores elsewhere or nothing).
 */
function forkAssignedInPreprocessorBranches(directive: Node, forkCalls: ReadonlyMap<string, ForkKind>): { call: Node; variable?: string } | null {
  let key: string | null = null;
  let fork: { call: Node; variable?: string } | null = null;
  let hasElse = false;
  for (let branch: Node | null = directive; branch; ) {
    const alternative: Node | null = branch.childForFieldName('alternative');
    const stmts = branch.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment' && c.id !== alternative?.id && c.id !== branch!.childForFieldName('condition')?.id && c.id !== branch!.childForFieldName('name')?.id);
    const last = stmts.at(-1);
    const e = last?.type === 'expression_statement' ? last.namedChild(0) : null;
    const n = e ? unwrap(e) : null;
    if (n?.type !== 'assignment_expression' || n.childForFieldName('operator')?.type !== '=') return null;
    const left = n.childForFieldName('left');
    const k = left ? storageKey(unwrap(left)) : null;
    if (!k || (key !== null && k !== key)) return null;
    key = k;
    fork ??= forkExpression(n, forkCalls);
    if (branch.type === 'preproc_else') hasElse = true;
    branch = alternative && ['preproc_else', 'preproc_elif', 'preproc_elifdef'].includes(alternative.type) ? alternative : null;
  }
  return hasElse && fork?.variable ? fork : null;
}

/**
 * Recognises a fork in statement `stmts[i]` of a block and the child regions of its
 * tests among the following statements. Returns null when the statement holds no
 * `fork()`-like call in a recognised position.
 */
export function forkShapeAt(block: Node, stmts: readonly Node[], i: number, forkCalls: ReadonlyMap<string, ForkKind> = FORK_CALLS): ForkShape | null {
  const stmt = stmts[i];
  let found: { call: Node; variable?: string } | null = null;
  let selfTest = false;
  switch (stmt.type) {
    case 'expression_statement': {
      const e = stmt.namedChild(0);
      if (e) found = forkExpression(e, forkCalls);
      break;
    }
    case 'declaration': {
      for (const d of stmt.childrenForFieldName('declarator')) {
        if (d?.type !== 'init_declarator') continue;
        const name = d.childForFieldName('declarator');
        const value = d.childForFieldName('value');
        if (name?.type === 'identifier' && value && isForkCall(unwrap(value), forkCalls)) found = { call: unwrap(value), variable: name.text };
      }
      break;
    }
    case 'if_statement':
    case 'switch_statement': {
      const cond = stmt.childForFieldName('condition');
      if (cond) found = forkInCondition(cond, forkCalls);
      selfTest = found !== null;
      // `if (pty) pid = forkpty(...); else pid = fork();` and the tests that follow.
      if (!found && stmt.type === 'if_statement') found = forkAssignedInBranches(stmt, forkCalls);
      break;
    }
    case 'preproc_if':
    case 'preproc_ifdef':
      found = forkAssignedInPreprocessorBranches(stmt, forkCalls);
      break;
    case 'while_statement': {
      // `while ((pid = fork()) < 0) sleep(1);`: a retry loop; the tests follow it.
      const cond = stmt.childForFieldName('condition');
      const f = cond ? forkInCondition(cond, forkCalls) : null;
      if (f?.variable) found = f;
      break;
    }
    default:
      return null;
  }
  if (!found) return null;
  const subject: ForkSubject = { variable: found.variable, callId: found.call.id, forkCalls };
  const regions: PendingRegion[] = [];
  let live: Set<Outcome> = new Set(OUTCOMES);
  let tested = false;
  /** When the child leaves on its way through the tests (any one test's branches all leave). */
  let childLeaves: LeaveCondition = false;
  const step = (node: Node): void => {
    const routes: LeaveCondition[] = [];
    if (node.type === 'if_statement') live = analyzeIf(node, subject, live, regions, routes);
    else live = analyzeSwitch(node, live, regions, routes);
    if (routes.length > 0) childLeaves = eitherLeaves(childLeaves, routes.reduce<LeaveCondition>((a, b) => bothLeave(a, b), true));
    tested = true;
  };
  let j = i;
  if (selfTest) step(stmt);
  if (subject.variable || !selfTest) {
    for (j = i + 1; j < stmts.length && live.has('parent') && live.has('child'); j++) {
      const s = stmts[j];
      if ((s.type === 'if_statement' || s.type === 'switch_statement') && s.childForFieldName('condition') && mentionsSubject(s.childForFieldName('condition')!, subject)) {
        step(s);
        continue;
      }
      // A statement that is not a test runs in whichever processes are still live.
    }
  }
  if (tested && live.has('child') && !live.has('parent')) {
    const from = selfTest && !subject.variable ? i + 1 : j;
    if (from < stmts.length) regions.push({ shape: 'after', nodeId: block.id, fromIndex: from, ...(Array.isArray(childLeaves) ? { unless: childLeaves } : {}) });
  }
  const known = tested && (regions.length > 0 || !live.has('child'));
  return { call: found.call, subject, regions, known };
}

/**
 * The name of the call the fact extractor records after an `if`/`else` every branch of which
 * calls an `exec*()` unconditionally (`if (cmd) execl(…); else execvp(…);`): the child
 * surely replaces itself there, though no single exec is unconditional.
 */
export const EXEC_IN_EVERY_BRANCH = '(exec in every branch)';

/**
 * The name of the call the fact extractor records in a child region after an `if`/`else`
 * every branch of which ends in calls of functions the syntax cannot judge (`if (shell)
 * exec_or_die(sh); else exec_or_die(argv);`), with those calls as its `unless` lists: the
 * child gets no further when they never return, which the model decides.
 */
export const HELPERS_IN_EVERY_BRANCH = '(no-return helper in every branch)';

/** Region terminators: how a call ends the child's sequence, if it does. */
export function regionEndOf(name: string): 'exec' | 'safe-exit' | 'unsafe-exit' | null {
  if (EXEC_CALLS.has(name) || name === EXEC_IN_EVERY_BRANCH) return 'exec';
  if (SAFE_EXITS.has(name)) return 'safe-exit';
  if (UNSAFE_EXITS.has(name)) return 'unsafe-exit';
  return null;
}
