/**
 * What calling a function of the file gives, read from its definition (an `async def` with
 * `yield` makes an async generator, a `def` with `yield` a generator, an `async def` a
 * coroutine; a function whose every path returns such a call gives what that call gives), and
 * the branches of `if inspect.isgenerator(x): ... elif inspect.isasyncgen(x): ... else: ...`
 * chains whose subject `x` holds what one call of the same function gave. The facts inside
 * such a branch carry the kinds of value it runs for (`valueGuards`), so the program model
 * takes only the matching branch when it knows what that call returned; a value it does not
 * know takes every branch.
 */
import type { Node } from '../../parsing/parser';
import type { PyCallOutcome, PyValueKind, PythonFact } from './fact-types';
import type { PySourceText } from './source-text';
import { within } from './syntax-helpers';
import { escapeRegExp } from '../../text/regexp';
import { isWordCode } from '../../text/char-codes';
import { anyIn } from '../../text/positions';
import { callBase, resolve, type CollectedRecords, type Scope } from './walk-records';

const ALL_KINDS: readonly PyValueKind[] = ['generator', 'async-generator', 'coroutine'];

/** Tests of a value's kind, by resolved name: the kinds for which they hold. */
const KIND_TESTS: ReadonlyMap<string, readonly PyValueKind[]> = new Map([
  ['inspect.isgenerator', ['generator']],
  ['inspect.isasyncgen', ['async-generator']],
  ['inspect.iscoroutine', ['coroutine']],
  ['asyncio.iscoroutine', ['coroutine']],
]);

/** The words a condition must contain to be read as a kind test (cheap filter for the walk). */
export const KIND_TEST_WORDS = /is(generator|asyncgen|coroutine)\b/;

/** Nodes that open a body of their own: their `yield`s and `return`s are not the enclosing function's. */
const NESTED = new Set(['function_definition', 'lambda', 'class_definition']);
const YIELDS_RETURNS_NESTED = ['yield', 'return_statement', ...NESTED];

/**
 * Words without which no function of a file gives a known kind (such a file records no
 * outcome links either: `incremental.ts` extracts whole the edit that brings one in).
 */
const KIND_SOURCE_WORDS = /\byield\b|\basync\b/;

/** The text last asked about, and its answer: a keystroke asks of the same text twice (the incremental extraction, then the walk). */
let lastAsked: { text: string; has: boolean } | undefined;

/** Whether `text` holds one of {@link KIND_SOURCE_WORDS} (a plain search for each word first). */
export function hasKindSourceWords(text: string): boolean {
  if (lastAsked?.text !== text) lastAsked = { text, has: (text.includes('yield') || text.includes('async')) && KIND_SOURCE_WORDS.test(text) };
  return lastAsked.has;
}

/** `def`, blanks, and the run of word characters after them (captured without being consumed). */
const DEF_WORDS = /\bdef[ \t]+(?=(\w+))/g;

/** How many calls deep an outcome follows `return other()`. */
const MAX_DEPTH = 4;

/** What awaiting a call with this outcome gives (awaiting a non-coroutine gives the value itself). */
export function awaitedKind(o: PyCallOutcome): PyValueKind | undefined {
  return o.gives === 'coroutine' ? o.resolves : o.gives;
}

export class ValueKinds {
  /** Function scopes by qualified name (null: defined more than once, so unknown). */
  private readonly byName = new Map<string, Scope | null>();
  private readonly outcomes = new Map<Scope, PyCallOutcome>();
  /**
   * Definitions (qualified names of the functions and methods directly in the module or a
   * class body, as `incremental.ts` keys them) that read an outcome from another one
   * (`return other()`, `side_effect=fake`), and the ones they read it from: the reader's facts
   * change when the other changes, and it is read only when both are walked. Reader to the
   * ones it read.
   */
  readonly outcomeLinks = new Map<string, Set<string>>();
  /** An outcome was asked of a local name that no walked function defines (see {@link localFunction}). */
  unreadLocal = false;

  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
  ) {
    for (const s of rec.scopes) {
      if (s.kind !== 'function' || !s.defNode) continue;
      this.byName.set(s.name, this.byName.has(s.name) ? null : s);
    }
  }

  /** Fills `outcome` of the file's functions whose definitions say what calling them gives. */
  emitFunctionOutcomes(): void {
    // Every kind starts at a `yield` or an `async def` of the file (`return other()` only
    // passes one on): a file with neither word has no outcome to find.
    const src = this.t.src;
    if (!hasKindSourceWords(src)) return;
    for (const s of this.rec.scopes) {
      if (s.kind !== 'function' || !s.functionFact) continue;
      const o = this.outcomeOf(s, 0);
      if (o.gives || o.resolves) s.functionFact.outcome = o;
    }
  }

  /** What calling the function a name (`side_effect=fake_execute`) refers to in `scope` gives, when known. */
  outcomeOfName(value: Node, scope: Scope): PyCallOutcome | undefined {
    const fn = this.localFunction(value, scope);
    if (!fn) return undefined;
    this.noteRead(scope, fn);
    const o = this.outcomeOf(fn, 0);
    return o.gives || o.resolves ? o : undefined;
  }

  private readonly defined = new Map<string, boolean>();

  /** Whether the file has a `def` of the last part of `name` (a class of that name does not count). */
  private definesFunction(name: string): boolean {
    const last = name.slice(name.lastIndexOf('.') + 1);
    let has = this.defined.get(last);
    if (has === undefined) {
      // A plain name is looked up among the names the text defines (read once); `\b` after
      // it holds where the run of word characters after `def` ends.
      if (/^\w+$/.test(last)) has = (this.definedNames ??= new Set(Array.from(this.t.src.matchAll(DEF_WORDS), (m) => m[1]))).has(last);
      else has = new RegExp(`\\bdef[ \\t]+${escapeRegExp(last)}\\b`).test(this.t.src);
      this.defined.set(last, has);
    }
    return has;
  }

  /** The run of word characters after each `def` of the text. */
  private definedNames: Set<string> | undefined;

  /** `reader` read what calling `fn` gives: both are recorded when they are different definitions. */
  private noteRead(reader: Scope, fn: Scope): void {
    const from = definitionOf(reader);
    const to = definitionOf(fn);
    if (!from || !to || from === to) return;
    const read = this.outcomeLinks.get(from.name);
    if (read) read.add(to.name);
    else this.outcomeLinks.set(from.name, new Set([to.name]));
  }

  private localFunction(n: Node | null, scope: Scope): Scope | undefined {
    const d = n ? this.t.dotted(n) : null;
    if (!d) return undefined;
    const r = resolve(d, scope);
    if (r.origin !== 'local') return undefined;
    // A name of the file that no walked function has: a class, a variable, or a definition an
    // incremental extraction skipped (whose outcome this walk cannot read).
    if (!this.byName.has(r.name) && this.definesFunction(r.name)) this.unreadLocal = true;
    return this.byName.get(r.name) ?? undefined;
  }

  private outcomeOf(s: Scope, depth: number): PyCallOutcome {
    const known = this.outcomes.get(s);
    if (known) return known;
    const o: PyCallOutcome = {};
    // Set before reading the returns: a recursive function reads itself as unknown.
    this.outcomes.set(s, o);
    const def = s.defNode!;
    // (Without syntax errors a definition starts with its first child, `async` or `def`.)
    const isAsync = this.t.fast ? this.t.src.startsWith('async', def.startIndex) : def.child(0)?.type === 'async';
    // Without the word `yield` in its text the function yields nothing, and what it returns
    // counts only when its body ends with a `return`: most functions need no walk at all.
    // Without syntax errors the body is there, and a function with no `return` (the walk
    // notes them in `leaves`) does not end with one.
    const spellsYield = this.spellsYield(def, s.until);
    if (this.t.fast && !spellsYield && !s.leaves?.length) {
      if (isAsync) o.gives = 'coroutine';
      return o;
    }
    const body = def.childForFieldName('body');
    if (!body) return o;
    if (!spellsYield) {
      // Every `return` must give one known kind: the last one is read first, and the body is
      // walked for the others only when it does.
      const last = lastStatement(body);
      if (last?.type !== 'return_statement' || depth >= MAX_DEPTH || !this.kindOfExpression(last.namedChild(0), s, depth)) {
        if (isAsync) o.gives = 'coroutine';
        return o;
      }
    }
    const { yields, returns } = this.t.fast ? this.yieldsAndReturnsFound(body) : this.yieldsAndReturnsWalked(body);
    if (yields) {
      o.gives = isAsync ? 'async-generator' : 'generator';
      return o;
    }
    const returned = depth < MAX_DEPTH ? this.returnedKind(s, body, returns, depth) : undefined;
    if (isAsync) {
      o.gives = 'coroutine';
      if (returned) o.resolves = returned;
    } else if (returned) o.gives = returned;
    return o;
  }

  /**
   * The body's own `yield`s (whether any) and `return`s, nested definitions and lambdas left
   * out: a walk over its named nodes, which meets the `return`s last first.
   */
  private yieldsAndReturnsWalked(body: Node): { yields: boolean; returns: Node[] } {
    const returns: Node[] = [];
    let yields = false;
    const stack: Node[] = [body];
    while (stack.length) {
      const n = stack.pop()!;
      if (n !== body && NESTED.has(n.type)) continue;
      if (n.type === 'yield') yields = true;
      else if (n.type === 'return_statement') returns.push(n);
      for (let i = 0; i < n.namedChildCount; i++) {
        const c = n.namedChild(i);
        if (c) stack.push(c);
      }
    }
    return { yields, returns };
  }

  /**
   * {@link yieldsAndReturnsWalked} from one look-up of the nodes of those types (in document
   * order; the nested ones' insides are passed by their end offsets): the same answer, the
   * `return`s in the same order (last first; one never holds another), for a tree without
   * syntax errors.
   */
  private yieldsAndReturnsFound(body: Node): { yields: boolean; returns: Node[] } {
    const returns: Node[] = [];
    let yields = false;
    let skipUntil = -1;
    for (const n of body.descendantsOfType(YIELDS_RETURNS_NESTED)) {
      if (!n || n.startIndex < skipUntil) continue;
      const type = n.type;
      if (NESTED.has(type)) skipUntil = n.endIndex;
      else if (type === 'yield') yields = true;
      else returns.push(n);
    }
    returns.reverse();
    return { yields, returns };
  }

  /** Offsets of the word `yield` in the text (when node offsets are the text's), in order. */
  private yieldOffsets: number[] | undefined;

  /** Whether the word `yield` appears in the definition's text, which ends at `end` (found among the file's offsets, without copying the text out of the tree). */
  private spellsYield(def: Node, end: number): boolean {
    if (!this.t.exact) return /\byield\b/.test(def.text);
    const at = (this.yieldOffsets ??= wordOffsets(this.t.src, 'yield'));
    return anyIn(at, def.startIndex, end);
  }

  /** The kind every path of a body returns: each `return` gives a call of the same known kind, and the body ends with a `return`. */
  private returnedKind(s: Scope, body: Node, returns: Node[], depth: number): PyValueKind | undefined {
    const last = body.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment').at(-1);
    if (last?.type !== 'return_statement' || !returns.length) return undefined;
    let kind: PyValueKind | undefined;
    for (const r of returns) {
      const k = this.kindOfExpression(r.namedChild(0), s, depth);
      if (!k || (kind && k !== kind)) return undefined;
      kind = k;
    }
    return kind;
  }

  private kindOfExpression(n: Node | null, s: Scope, depth: number): PyValueKind | undefined {
    while (n?.type === 'parenthesized_expression') n = n.namedChild(0);
    if (!n) return undefined;
    const awaited = n.type === 'await';
    const call = awaited ? n.namedChild(0) : n;
    if (call?.type !== 'call') return undefined;
    const fn = this.localFunction(call.childForFieldName('function'), s);
    if (!fn) return undefined;
    this.noteRead(s, fn);
    const o = this.outcomeOf(fn, depth + 1);
    return awaited ? awaitedKind(o) : o.gives;
  }

  /**
   * Marks the facts inside the branches of a kind-test chain (`if inspect.isgenerator(x):`,
   * its `elif`s and `else`) with the kinds each branch runs for. A chain whose subject is
   * not a name bound once in its function, to one call's value, marks nothing; a clause that
   * tests something else ends the marking (what follows it runs for any kind).
   */
  emitValueGuards(ifNode: Node, scope: Scope, facts: readonly PythonFact[]): void {
    if (scope.kind !== 'function') return;
    const clauses: { cond?: Node; body: Node }[] = [];
    const consequence = ifNode.childForFieldName('consequence');
    const cond = ifNode.childForFieldName('condition');
    if (!consequence || !cond) return;
    clauses.push({ cond, body: consequence });
    for (const alt of ifNode.childrenForFieldName('alternative')) {
      const b = alt?.childForFieldName(alt.type === 'elif_clause' ? 'consequence' : 'body');
      if (!alt || !b) continue;
      clauses.push({ cond: alt.type === 'elif_clause' ? (alt.childForFieldName('condition') ?? undefined) : undefined, body: b });
    }
    let subjectName: string | undefined;
    let remaining = [...ALL_KINDS];
    for (const clause of clauses) {
      let kinds: PyValueKind[];
      if (clause.cond) {
        const test = this.kindTest(clause.cond, scope);
        if (!test || (subjectName !== undefined && test.subject !== subjectName)) return;
        subjectName = test.subject;
        kinds = remaining.filter((k) => test.holds.includes(k));
        remaining = remaining.filter((k) => !test.holds.includes(k));
      } else kinds = remaining;
      if (kinds.length === ALL_KINDS.length || subjectName === undefined) continue;
      const subject = this.boundCall(subjectName, scope, ifNode);
      if (!subject) return;
      const range = this.t.range(clause.body);
      for (const f of facts) {
        if (f.enclosingFunction !== scope.fn || f.kind === 'py.function' || f.kind === 'py.class' || !within(f.range, range)) continue;
        (f.valueGuards ??= []).push({ subject: subject.at, awaited: subject.awaited, kinds });
      }
    }
  }

  /** `inspect.isgenerator(x)` / `not asyncio.iscoroutine(x)`: the name tested and the kinds for which the condition holds. */
  private kindTest(cond: Node, scope: Scope): { subject: string; holds: PyValueKind[] } | undefined {
    let n: Node | null = cond;
    let negate = false;
    for (;;) {
      while (n?.type === 'parenthesized_expression') n = n.namedChild(0);
      if (n?.type !== 'not_operator') break;
      negate = !negate;
      n = n.childForFieldName('argument');
    }
    if (n?.type !== 'call') return undefined;
    const fn = this.t.dotted(n.childForFieldName('function'));
    const holds = fn ? KIND_TESTS.get(resolve(fn, scope).name) : undefined;
    const args = n.childForFieldName('arguments')?.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment') ?? [];
    if (!holds || args.length !== 1 || args[0].type !== 'identifier') return undefined;
    return { subject: args[0].text, holds: negate ? ALL_KINDS.filter((k) => !holds.includes(k)) : [...holds] };
  }

  /**
   * The call whose value `name` holds at `at`: the name's only binding in the function is
   * `name = call(...)` or `name = await call(...)`, before `at` (a parameter, a loop
   * variable, a second assignment or any other binding: unknown).
   */
  private boundCall(name: string, scope: Scope, at: Node): { at: PythonFact['range']['start']; awaited: boolean } | undefined {
    const def = scope.defNode;
    const body = def?.childForFieldName('body');
    if (!def || !body) return undefined;
    const params = def.childForFieldName('parameters');
    if (params && /\w/.test(params.text) && new RegExp(`(^|[^\\w.])${name}\\b`).test(params.text)) return undefined;
    let found: Node | undefined;
    let other = false;
    const stack: Node[] = [body];
    while (stack.length && !other) {
      const n = stack.pop()!;
      if (n !== body && NESTED.has(n.type)) continue;
      const binds = (target: Node | null) => !!target && new RegExp(`(^|[^\\w.])${name}\\b`).test(target.text);
      switch (n.type) {
        case 'assignment': {
          const left = n.childForFieldName('left');
          if (left?.type === 'identifier' && left.text === name) {
            if (found) other = true;
            else found = n;
          } else if (left && left.type !== 'attribute' && left.type !== 'subscript' && binds(left)) other = true;
          break;
        }
        case 'augmented_assignment':
        case 'for_statement':
        case 'for_in_clause':
          if (binds(n.childForFieldName('left'))) other = true;
          break;
        case 'named_expression':
          if (n.childForFieldName('name')?.text === name) other = true;
          break;
        case 'as_pattern':
        case 'global_statement':
        case 'nonlocal_statement':
        case 'except_clause':
        case 'delete_statement':
          if (binds(n)) other = true;
          break;
        default:
          break;
      }
      for (let i = 0; i < n.namedChildCount; i++) {
        const c = n.namedChild(i);
        if (c) stack.push(c);
      }
    }
    if (other || !found || found.startIndex >= at.startIndex) return undefined;
    let value: Node | null = found.childForFieldName('right');
    while (value?.type === 'parenthesized_expression') value = value.namedChild(0);
    const awaited = value?.type === 'await';
    const call = awaited ? value!.namedChild(0) : value;
    if (call?.type !== 'call') return undefined;
    const idx = this.rec.callIndex.get(call.id);
    const raw = idx === undefined ? undefined : this.rec.calls[idx];
    if (!raw) return undefined;
    return { at: callBase(raw, this.t).range.start, awaited };
  }
}

/**
 * The definition a scope is in, as the incremental extraction skips them: the outermost
 * function directly in the module or in a class body (undefined at module or class level).
 */
function definitionOf(s: Scope): Scope | undefined {
  let def: Scope | undefined;
  for (let x: Scope | undefined = s; x && x.kind !== 'module'; x = x.parent) if (x.kind === 'function') def = x;
  return def;
}

/** Offsets of `word` (made of word characters) standing alone in `text` (`\bword\b`), in order. */
function wordOffsets(text: string, word: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
    if ((i === 0 || !isWordCode(text.charCodeAt(i - 1))) && !isWordCode(text.charCodeAt(i + word.length))) out.push(i);
  }
  return out;
}

/** The last statement of a block (comments left out). */
function lastStatement(body: Node): Node | null {
  for (let i = body.namedChildCount - 1; i >= 0; i--) {
    const c = body.namedChild(i);
    if (c && c.type !== 'comment') return c;
  }
  return null;
}
