/**
 * The boolean flags a Python function's branches test, and the literal flags its calls pass,
 * so that the program model can keep one path's decisions consistent (issue #9): a branch of
 * `if daemon:` / `if not self._daemon:` (its `elif`s and `else` too) carries the flag and the
 * truth value it runs for (`flagGuards`); a call passing `False` or one of the caller's own
 * parameters records it (`flagArgs`); a function whose flags come from its parameters records
 * them (`params`); an `__init__` that keeps a parameter or literal in `self.x` unconditionally
 * records the store (`flagStores`); every function, and the module's own code, records the
 * attribute names it assigns (`attributeWrites`), so that the model trusts a stored flag only
 * when nothing else anywhere assigns that attribute.
 *
 * Everything read here is the text of one definition (or of the module's own code): the
 * incremental extraction may reuse a skipped definition's facts unchanged.
 */
import type { Node } from '../../parsing/parser';
import type { Position } from '../../text/locations';
import type { PyCallFact, PyFlag, PyFlagArgument, PyFlagGuard, PyMethodCallFact, PyObjectStartFact, PyParameter, PythonFact } from './fact-types';
import type { PySourceText } from './source-text';
import { argsOf, stringValue, within } from './syntax-helpers';
import { callBase, type CollectedRecords, type RawCall, type Scope } from './walk-records';
import { splitTop, StatementScan, type ScannedCode } from './statement-scan';

/** A condition that may be a flag test (`x`, `not self.x`, `(flag)`): the cheap filter of the walk. */
export const FLAG_TEST_TEXT = /^[(\s]*(?:not[\s(]+)*(?:self\s*\.\s*)?[A-Za-z_]\w*[)\s]*$/;

/** `self.name`: a call of a method on the caller's own object. */
const SELF_METHOD = /^self\.[A-Za-z_]\w*$/;

/** A call fact (`py.call`, `py.method-call`, `py.object-start`) and the call it was made of. */
export interface CallFact {
  fact: PyCallFact | PyMethodCallFact | PyObjectStartFact;
  call: RawCall;
}

/** Nodes that open a scope of their own: what they bind or assign is not the enclosing function's. */
const NESTED = new Set(['function_definition', 'lambda', 'class_definition']);

/** The literal flag a node is, if any. */
export function literalFlag(n: Node | null | undefined): PyFlag | undefined {
  while (n?.type === 'parenthesized_expression') n = n.namedChild(0);
  if (n?.type === 'true') return true;
  if (n?.type === 'false') return false;
  if (n?.type === 'none') return null;
  return undefined;
}

/** The name an attribute of `self` is stored under: a class-private `__x` as Python mangles it, kept apart per class (`Server.__x`). */
export function attributeKey(attr: string, cls: string | undefined): string {
  if (cls && attr.startsWith('__') && !attr.endsWith('__')) return `${cls.slice(cls.lastIndexOf('.') + 1)}.${attr}`;
  return attr;
}

/** Nodes whose bodies run as functions: the module's own code leaves them out. */
const FUNCTIONS = new Set(['function_definition', 'lambda']);

/** The named nodes below `n` (those inside `skip` nodes left out), `n` included. */
function* ownNodes(n: Node, skip: ReadonlySet<string> = NESTED): Generator<Node> {
  const stack: Node[] = [n];
  while (stack.length) {
    const x = stack.pop()!;
    yield x;
    for (let i = x.namedChildCount - 1; i >= 0; i--) {
      const c = x.namedChild(i);
      if (c && !skip.has(c.type)) stack.push(c);
    }
  }
}

/** The names a binding target binds (plain names only: `a`, `a, b`, `[a, *b]`). */
function boundNames(target: Node | null, out: string[]): void {
  if (!target) return;
  if (target.type === 'identifier') out.push(target.text);
  else if (target.type === 'pattern_list' || target.type === 'tuple_pattern' || target.type === 'list_pattern' || target.type === 'list_splat_pattern' || target.type === 'parenthesized_expression' || target.type === 'tuple' || target.type === 'list') {
    for (const c of target.namedChildren) boundNames(c, out);
  }
}

/** The attribute nodes a target assigns (`x.a = …`, `x.a, y.b = …`). */
function assignedAttributes(target: Node | null, out: Node[]): void {
  if (!target) return;
  if (target.type === 'attribute') out.push(target);
  else if (target.type === 'pattern_list' || target.type === 'tuple_pattern' || target.type === 'list_pattern' || target.type === 'list_splat_pattern' || target.type === 'parenthesized_expression' || target.type === 'tuple' || target.type === 'list') {
    for (const c of target.namedChildren) assignedAttributes(c, out);
  }
}

/**
 * The plain names a node binds in its function (assignment and loop targets, `with … as x`,
 * `except … as x`, walrus, `global`/`nonlocal`/`del`/`import` names), or none.
 */
function namesBoundBy(n: Node, out: string[]): void {
  switch (n.type) {
    case 'assignment':
    case 'augmented_assignment':
    case 'for_statement':
    case 'for_in_clause':
      boundNames(n.childForFieldName('left'), out);
      break;
    case 'named_expression':
      boundNames(n.childForFieldName('name'), out);
      break;
    case 'as_pattern': {
      const alias = n.childForFieldName('alias') ?? n.namedChildren.at(-1) ?? null;
      for (const id of alias?.text.match(/[A-Za-z_]\w*/g) ?? []) out.push(id);
      break;
    }
    case 'except_clause': {
      // `except E as x:` (older grammars: no `as_pattern` node): the name after `as`, before the body.
      const head = n.text.slice(0, Math.max(0, (n.childForFieldName('body') ?? n.namedChildren.at(-1))!.startIndex - n.startIndex));
      const m = /\bas\s+([A-Za-z_]\w*)/.exec(head);
      if (m) out.push(m[1]);
      break;
    }
    case 'global_statement':
    case 'nonlocal_statement':
    case 'delete_statement':
      for (const id of n.text.match(/[A-Za-z_]\w*/g) ?? []) out.push(id);
      break;
    case 'import_statement':
    case 'import_from_statement':
      // `import a.b` binds `a`, `from m import a` binds `a`, `... as x` binds `x`.
      for (const name of n.childrenForFieldName('name')) {
        const alias = name?.type === 'aliased_import' ? name.childForFieldName('alias') : null;
        const text = alias?.text ?? name?.text ?? '';
        const first = n.type === 'import_statement' || alias ? text : text.slice(text.lastIndexOf('.') + 1);
        out.push(first.split('.')[0].trim());
      }
      if (n.text.includes('*')) out.push('*');
      break;
    default:
      break;
  }
}

/**
 * The attribute names a scanned body assigns, as {@link FlagValues} keys them: a class-private
 * `__x` both as spelled and as its class keeps it, `_Cls__x` as `Cls.__x` too; one assignment
 * of each `__init__` flag store (`kept`) left out.
 */
function scannedWrites(scan: ScannedWrites, cls: string | undefined, kept: readonly string[]): string[] {
  const out = new Set<string>();
  for (const [name, count] of scan.attributes) {
    const key = attributeKey(name, cls);
    if (kept.includes(key) && count === 1) continue;
    out.add(name);
    if (key !== name) out.add(key);
    const mangled = /^_([A-Za-z0-9]\w*?)(__\w+)$/.exec(name);
    if (mangled) out.add(`${mangled[1]}.${mangled[2]}`);
  }
  return [...out];
}

const IDENTIFIERS = /[A-Za-z_]\w*/g;
/** `def name(`: where a definition's parameter list opens. */
const DEF_HEADER = /\bdef\s+[A-Za-z_]\w*\s*\(/g;

/** Parameters read per scope (scopes live as long as one extraction). */
const PARAMETERS = new WeakMap<Scope, PyParameter[]>();
const PARAMETER_NAMES = new WeakMap<Scope, Set<string>>();

/** `self.conf["k"]`, `self.conf.get("k", …)`, `self.flag` read from an argument's text (as {@link FlagValues} keys reads). */
function stateReadOfText(value: string): string | undefined {
  const m = /^self\s*\.\s*([A-Za-z_]\w*)\s*(?:\[\s*[rRuU]?(['"])([^'"\\]*)\2\s*\]|\.\s*get\s*\(\s*[rRuU]?(['"])([^'"\\]*)\4\s*(?:,[^()]*)?\))?$/s.exec(value);
  if (!m) return undefined;
  const key = m[3] ?? m[5];
  return key === undefined ? m[1] : `${m[1]}[${key}]`;
}

/** The attribute assignments (with how many) and container stores of a body, or of the module's own code. */
type ScannedWrites = Pick<ScannedCode, 'attributes' | 'stores'>;

/** What {@link FlagValues} reads of the whole file's text. */
interface FileWrites {
  scanner: StatementScan;
  code: string;
  module: ScannedWrites;
  functions: Map<Scope, ScannedWrites>;
}

/** A body that assigns and stores nothing. */
const EMPTY_WRITES: ScannedWrites = { attributes: new Map(), stores: [] };

/** Methods that store in (or take from) the container they are called on. */
const CONTAINER_WRITES: ReadonlySet<string> = new Set(['update', 'setdefault', 'pop', 'popitem', 'clear', '__setitem__', '__delitem__']);

/** A subscript's key: a string literal's value, `#` for a number or slice (never a string key), undefined when computed. */
function subscriptKey(k: Node | null): string | undefined {
  const v = stringValue(k)?.value;
  if (v !== undefined) return v;
  if (k && (k.type === 'integer' || k.type === 'float' || k.type === 'slice' || (k.type === 'unary_operator' && /^-\s*\d/.test(k.text)))) return '#';
  return undefined;
}

/** The key a store into `recv[key]` writes: `conf[k]` for a container held in an attribute (`x.conf`); none through a plain name. */
function containerKey(recv: Node, key: string | undefined): string | undefined {
  const attr = recv.type === 'attribute' ? recv.childForFieldName('attribute')?.text : undefined;
  return attr ? `${attr}[${key ?? '*'}]` : undefined;
}

export class FlagValues {
  /** Per function scope: the parameters it never re-binds (memoised). */
  private readonly steady = new Map<Scope, Set<string>>();
  /** Per function scope: the parameters its guards, stores and calls read as flags. */
  private readonly used = new Map<Scope, Set<string>>();
  private scanned: FileWrites | undefined;
  private spans: Map<Scope, { start: number; end: number }> | undefined;
  /** Per function: how it binds names (memoised). */
  private readonly bound = new Map<Scope, { simple: Map<string, number[]>; other: Set<string> }>();

  /** Whether the file may name `staticmethod` or `classmethod` (when its text is the tree's and names neither, no method is either). */
  private readonly mayDecorate: boolean;

  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
  ) {
    this.mayDecorate = !t.exact || t.src.includes('staticmethod') || t.src.includes('classmethod');
  }

  /** The file's text read once (`t.exact` only): blanked, and its attribute assignments and container stores by function. */
  private fileScan(): FileWrites | undefined {
    if (!this.t.exact) return undefined;
    if (!this.scanned) {
      // (A write in a skipped definition is left out below: the scan passes over them.)
      const scanner = new StatementScan(this.t.src, this.rec.skippedDefinitions);
      // The functions walked and the definitions skipped: a write belongs to the innermost one around it.
      const spans: { start: number; end: number; scope?: Scope }[] = [
        ...this.rec.scopeSpans.filter((x) => x.scope.kind === 'function').map((x) => ({ start: x.start, end: x.end, scope: x.scope })),
        ...this.rec.skippedDefinitions.map((d) => ({ start: d.start, end: d.end })),
      ];
      spans.sort((a, b) => a.start - b.start || b.end - a.end);
      const module: ScannedWrites = { attributes: new Map(), stores: [] };
      const functions = new Map<Scope, ScannedWrites>();
      const open: (typeof spans)[number][] = [];
      let next = 0;
      for (const w of scanner.writes()) {
        while (next < spans.length && spans[next].start <= w.at) {
          while (open.length && open[open.length - 1].end <= spans[next].start) open.pop();
          open.push(spans[next++]);
        }
        while (open.length && open[open.length - 1].end <= w.at) open.pop();
        const inner = open[open.length - 1];
        let out: ScannedWrites | undefined = module;
        if (inner) {
          // A write in a `def` the walk did not make a scope of (skipped, or only for other platforms) is left out.
          out = inner.scope ? functions.get(inner.scope) : undefined;
          if (inner.scope && !out) functions.set(inner.scope, (out = { attributes: new Map(), stores: [] }));
        }
        if (!out) continue;
        if (w.attr) out.attributes.set(w.attr, (out.attributes.get(w.attr) ?? 0) + 1);
        if (w.store) out.stores.push(w.store);
      }
      this.scanned = { scanner, code: scanner.code, module, functions };
    }
    return this.scanned;
  }

  /** How a function binds `name`, read from its text when it is the tree's (undefined otherwise: the node walk answers). */
  private bindingsOf(s: Scope, name: string): { simple: number[]; other: boolean } | undefined {
    const file = this.fileScan();
    if (!file) return undefined;
    let b = this.bound.get(s);
    if (!b) {
      if (!this.spans) {
        this.spans = new Map();
        for (const x of this.rec.scopeSpans) this.spans.set(x.scope, x);
      }
      const span = this.spans.get(s);
      if (!span) return undefined;
      this.bound.set(s, (b = file.scanner.bindings(span.start, span.end)));
    }
    return { simple: b.simple.get(name) ?? [], other: b.other.has(name) };
  }

  /** The function scope a scope runs in (the scope itself for a function). */
  private static fnScope(s: Scope): Scope | undefined {
    return s.kind === 'function' ? s : undefined;
  }

  /** Whether `def` is a method directly in a class body (its first parameter is the object or class). */
  private static isMethod(s: Scope): boolean {
    return s.kind === 'function' && s.parent?.kind === 'class';
  }

  /** `@staticmethod` / `@classmethod` on a method (none in a file that names neither). */
  private methodKind(def: Node): 'static' | 'class' | undefined {
    if (!this.mayDecorate) return undefined;
    const p = def.parent;
    if (p?.type !== 'decorated_definition') return undefined;
    for (const d of p.namedChildren) {
      if (d?.type !== 'decorator') continue;
      const text = d.text.replace(/^@\s*/, '').trim();
      if (text === 'staticmethod') return 'static';
      if (text === 'classmethod') return 'class';
    }
    return undefined;
  }

  /** The parameters a call binds (after `self`/`cls` for methods), with literal defaults (memoised per scope). */
  private parameters(s: Scope): PyParameter[] {
    let out = PARAMETERS.get(s);
    if (!out) PARAMETERS.set(s, (out = this.readParameters(s)));
    return out;
  }

  /** The names of {@link parameters} (memoised per scope). */
  private parameterNames(s: Scope): Set<string> {
    let out = PARAMETER_NAMES.get(s);
    if (!out) PARAMETER_NAMES.set(s, (out = new Set(this.parameters(s).map((p) => p.name))));
    return out;
  }

  private readParameters(s: Scope): PyParameter[] {
    const def = s.defNode!;
    const out: PyParameter[] = [];
    let keywordOnly = false;
    let skip = FlagValues.isMethod(s) && this.methodKind(def) !== 'static' ? 1 : 0;
    for (const p of def.childForFieldName('parameters')?.namedChildren ?? []) {
      if (!p) continue;
      if (p.type === 'keyword_separator' || p.type === 'list_splat_pattern') {
        keywordOnly = true;
        continue;
      }
      if (p.type === 'dictionary_splat_pattern' || p.type === 'positional_separator') continue;
      const n = p.type === 'identifier' ? p : (p.childForFieldName('name') ?? p.namedChild(0));
      if (n?.type !== 'identifier') continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      const param: PyParameter = { name: n.text };
      if (keywordOnly) param.keywordOnly = true;
      const d = literalFlag(p.childForFieldName('value'));
      if (d !== undefined) param.default = d;
      out.push(param);
    }
    return out;
  }

  /** The parameters of a function scope that its body never binds again. */
  private steadyParameters(s: Scope): Set<string> {
    let out = this.steady.get(s);
    if (out) return out;
    out = new Set(this.parameters(s).map((p) => p.name));
    const text = out.size > 0 && !!this.fileScan();
    const body = text ? undefined : s.defNode?.childForFieldName('body');
    if (text) {
      for (const name of [...out]) {
        const b = this.bindingsOf(s, name);
        if (!b || b.other || b.simple.length) out.delete(name);
      }
    } else if (body && out.size) {
      const bound: string[] = [];
      for (const n of ownNodes(body)) namesBoundBy(n, bound);
      for (const name of bound) out.delete(name);
    }
    this.steady.set(s, out);
    return out;
  }

  private use(s: Scope, param: string): void {
    let u = this.used.get(s);
    if (!u) this.used.set(s, (u = new Set()));
    u.add(param);
  }

  /** The flag a condition tests in a function scope, and whether it is negated. */
  private flagOf(cond: Node | null, s: Scope): { subject: PyFlagGuard['subject']; negated: boolean } | undefined {
    let n = cond;
    let negated = false;
    for (;;) {
      while (n?.type === 'parenthesized_expression') n = n.namedChild(0);
      if (n?.type !== 'not_operator') break;
      negated = !negated;
      n = n.childForFieldName('argument');
    }
    if (n?.type === 'identifier') {
      if (!this.steadyParameters(s).has(n.text)) return undefined;
      this.use(s, n.text);
      return { subject: { param: n.text }, negated };
    }
    if (n?.type === 'attribute' && FlagValues.isMethod(s) && this.methodKind(s.defNode!) === undefined) {
      const obj = n.childForFieldName('object');
      const attr = n.childForFieldName('attribute');
      if (obj?.type === 'identifier' && obj.text === 'self' && attr) return { subject: { attr: attributeKey(attr.text, s.cls) }, negated };
    }
    return undefined;
  }

  /**
   * Marks the facts of the branches of an `if` that tests a flag: the first branch runs when
   * the flag is truthy (falsy under `not`), the `elif`s and the `else` when it is not.
   */
  emitFlagGuards(ifNode: Node, scope: Scope, facts: readonly PythonFact[]): void {
    const s = FlagValues.fnScope(scope);
    if (!s) return;
    facts = this.factsOf(facts, s.fn);
    const test = this.flagOf(ifNode.childForFieldName('condition'), s);
    const consequence = ifNode.childForFieldName('consequence');
    if (!test || !consequence) return;
    const branches: { range: ReturnType<PySourceText['range']>; truthy: boolean }[] = [{ range: this.t.range(consequence), truthy: !test.negated }];
    for (const alt of ifNode.childrenForFieldName('alternative')) if (alt) branches.push({ range: this.t.range(alt), truthy: test.negated });
    for (const f of facts) {
      if (f.enclosingFunction !== s.fn || f.kind === 'py.function' || f.kind === 'py.class') continue;
      const b = branches.find((x) => within(f.range, x.range));
      if (b) (f.flagGuards ??= []).push({ subject: test.subject, truthy: b.truthy });
    }
  }

  private byFunction: Map<string, PythonFact[]> | undefined;

  /** The facts a function's body runs (its own, not its nested functions'), grouped once. */
  private factsOf(facts: readonly PythonFact[], fn: string): readonly PythonFact[] {
    if (!this.byFunction) {
      this.byFunction = new Map();
      for (const f of facts) {
        if (f.kind === 'py.function' || f.kind === 'py.class' || f.enclosingFunction === '') continue;
        let list = this.byFunction.get(f.enclosingFunction);
        if (!list) this.byFunction.set(f.enclosingFunction, (list = []));
        list.push(f);
      }
    }
    return this.byFunction.get(fn) ?? [];
  }

  /**
   * Marks the facts of the branches of `if`/`elif`/`else` chains (outside loops) with the
   * chain and the branch they are in: one run of the function takes one branch per chain.
   */
  emitBranches(chains: readonly { node: Node; scope: Scope }[], facts: readonly PythonFact[]): void {
    for (const { node, scope } of chains) {
      const consequence = node.childForFieldName('consequence');
      const list = this.factsOf(facts, scope.fn);
      if (!consequence || !list) continue;
      const at = this.t.range(node).start;
      const parts = [consequence, ...node.childrenForFieldName('alternative').filter((a): a is Node => !!a)].map((b) => this.t.range(b));
      for (const f of list) {
        const index = parts.findIndex((r) => within(f.range, r));
        if (index >= 0) (f.branches ??= []).push({ at, index });
      }
    }
  }

  /** `self.conf["k"]`, `self.conf.get("k", …)`, `self.flag`: the caller's own state the argument reads. */
  private stateRead(v: Node): string | undefined {
    let n: Node | null = v;
    let key: string | undefined;
    if (n.type === 'subscript') {
      const k = stringValue(n.childForFieldName('subscript'))?.value;
      if (k === undefined) return undefined;
      key = k;
      n = n.childForFieldName('value');
    } else if (n.type === 'call') {
      const fn = n.childForFieldName('function');
      const k = stringValue(argsOf(n).positional[0])?.value;
      if (fn?.type !== 'attribute' || fn.childForFieldName('attribute')?.text !== 'get' || k === undefined) return undefined;
      key = k;
      n = fn.childForFieldName('object');
    }
    if (n?.type !== 'attribute' || n.childForFieldName('object')?.text !== 'self') return undefined;
    const attr = n.childForFieldName('attribute')?.text;
    if (!attr) return undefined;
    return key === undefined ? attr : `${attr}[${key}]`;
  }

  /**
   * Every argument of a call, when one is a literal flag or a steady parameter of the caller
   * (the others recorded as passed, value unknown), or none is passed (`[]`: the callee's
   * defaults hold). Undefined for other calls and for calls with `*args`/`**kwargs` or a bare
   * generator argument: the model binds nothing there.
   */
  flagArguments(c: RawCall): PyFlagArgument[] | undefined {
    const s = FlagValues.fnScope(c.scope);
    // Read from the text when it is the tree's: most calls pass nothing of the kind.
    const code = this.fileScan()?.code;
    if (code && c.argsAt >= 0 && this.t.src.charCodeAt(c.end - 1) === 41) return this.flagArgumentsOfText(c, s, code);
    const a = argsOf(c.node);
    if (a.node?.type !== 'argument_list') return undefined;
    const out: PyFlagArgument[] = [];
    let flags = 0;
    const read = (at: number | string, v: Node) => {
      const lit = literalFlag(v);
      if (lit !== undefined) {
        flags++;
        out.push({ at, value: lit });
      } else if (v.type === 'identifier' && s && this.steadyParameters(s).has(v.text)) {
        flags++;
        this.use(s, v.text);
        out.push({ at, param: v.text });
      } else {
        const read = s && c.scope.cls ? this.stateRead(v) : undefined;
        if (read) flags++;
        out.push(read ? { at, read } : { at });
      }
    };
    for (let i = 0; i < a.positional.length; i++) {
      const v = a.positional[i];
      if (v.type === 'list_splat' || v.type === 'dictionary_splat' || v.type === 'parenthesized_list_splat') return undefined;
      read(i, v);
    }
    for (const [k, v] of a.keywords) read(k, v);
    return flags || !out.length ? out : undefined;
  }

  /** Per function scope: the words of its parameter list (memoised; a superset of its parameters' names). */
  private readonly header = new Map<Scope, Set<string> | undefined>();

  /** The words between the brackets of a function's `def name(…)`, read from the blanked text (undefined where it is not found). */
  private headerWords(s: Scope, code: string): Set<string> | undefined {
    if (this.header.has(s)) return this.header.get(s);
    if (!this.spans) {
      this.spans = new Map();
      for (const x of this.rec.scopeSpans) this.spans.set(x.scope, x);
    }
    const span = this.spans.get(s);
    let out: Set<string> | undefined;
    if (span) {
      DEF_HEADER.lastIndex = span.start;
      const m = DEF_HEADER.exec(code);
      if (m && m.index < span.end) {
        const open = m.index + m[0].length;
        let depth = 1;
        let i = open;
        for (; i < span.end && depth > 0; i++) {
          const c = code.charCodeAt(i);
          if (c === 40 || c === 91 || c === 123) depth++;
          else if (c === 41 || c === 93 || c === 125) depth--;
        }
        if (depth === 0) out = new Set(code.slice(open, i - 1).match(IDENTIFIERS) ?? []);
      }
    }
    this.header.set(s, out);
    return out;
  }

  /** Whether `text` holds one of `names` at all (as part of a longer word too): a test without allocation before the identifiers are split out. */
  private mentionsAny(text: string, names: ReadonlySet<string>): boolean {
    for (const name of names) if (text.includes(name)) return true;
    return false;
  }

  /** {@link flagArguments} read from the text of the argument list (`code`: the file with strings and comments blanked). */
  private flagArgumentsOfText(c: RawCall, s: Scope | undefined, code: string): PyFlagArgument[] | undefined {
    const from = c.argsAt + 1;
    const inside = code.slice(from, c.end - 1);
    if (!inside.trim()) return [];
    // Without a literal flag or `self`, only a parameter passed on can make the call's arguments count:
    // the parameter names (steady or not) are a cheap first test before how the body binds them is read.
    const literal = /\b(?:True|False|None|self)\b/.test(inside);
    // At module level nothing but a literal flag counts (and an argument list of nothing but commas, as none passed).
    if (!s && !literal && /[^\s,]/.test(inside)) return undefined;
    if (s && !literal) {
      // The words of the definition's parameter list (read from the text; the names among them) before its nodes are read.
      const words = this.headerWords(s, code);
      if (words && !this.mentionsAny(inside, words)) return undefined;
      const names = this.parameterNames(s);
      if (!names.size || !this.mentionsAny(inside, names) || !(inside.match(IDENTIFIERS) ?? []).some((id) => names.has(id))) return undefined;
      const steady = this.steadyParameters(s);
      if (!steady.size || !(inside.match(IDENTIFIERS) ?? []).some((id) => steady.has(id))) return undefined;
    }
    const out: PyFlagArgument[] = [];
    let flags = 0;
    let position = 0;
    for (const part of splitTop(inside, from, ',')) {
      const text = part.text.trim();
      if (!text) continue;
      // `*args`, `**kw`, a bare generator: what binds where is not known.
      if (text.startsWith('*') || /(?:^|[\s)\]}])for\s/.test(text)) return undefined;
      const kw = /^([A-Za-z_]\w*)\s*=(?!=)/.exec(text);
      const at: number | string = kw ? kw[1] : position++;
      const valueAt = part.start + part.text.indexOf(text) + (kw ? kw[0].length : 0);
      const value = this.t.src.slice(valueAt, part.start + part.text.length).trim();
      if (value === 'True' || value === 'False' || value === 'None') {
        flags++;
        out.push({ at, value: value === 'None' ? null : value === 'True' });
      } else if (s && this.parameterNames(s).has(value) && this.steadyParameters(s).has(value)) {
        flags++;
        this.use(s, value);
        out.push({ at, param: value });
      } else {
        const read = s && c.scope.cls ? stateReadOfText(value) : undefined;
        if (read) flags++;
        out.push(read ? { at, read } : { at });
      }
    }
    return flags || !out.length ? out : undefined;
  }

  /**
   * Where the call that made a method call's receiver starts, when the receiver is a local
   * name of the function bound to that call and otherwise only to `None`.
   */
  producerAt(c: RawCall, ctor: RawCall): Position | undefined {
    if (!c.recv || !('name' in c.recv)) return undefined;
    const s = FlagValues.fnScope(c.scope);
    if (!s || ctor.scope !== s) return undefined;
    const name = c.recv.name;
    const b = this.fileScan() ? this.bindingsOf(s, name) : undefined;
    if (b) {
      if (b.other || this.parameters(s).some((p) => p.name === name)) return undefined;
      const ctorAt = ctor.node.startIndex;
      if (!b.simple.includes(ctorAt) || !b.simple.every((at) => at === ctorAt || /^None\b/.test(this.t.src.slice(at, at + 5)))) return undefined;
      return callBase(ctor, this.t).range.start;
    }
    const body = s.defNode?.childForFieldName('body');
    if (!body) return undefined;
    for (const n of ownNodes(body)) {
      if (n.type === 'assignment') {
        const left = n.childForFieldName('left');
        if (left?.type === 'identifier' && left.text === name) {
          let right = n.childForFieldName('right');
          while (right?.type === 'parenthesized_expression') right = right.namedChild(0);
          if (right?.id === ctor.node.id || literalFlag(right) === null) continue;
          return undefined;
        }
      }
      const names: string[] = [];
      namesBoundBy(n, names);
      if (names.includes(name)) return undefined;
    }
    if (this.steadyParameters(s).has(name)) return undefined;
    return callBase(ctor, this.t).range.start;
  }

  /** The attribute names assigned below `root` (nested scopes left out); `except`: assignments not to count. */
  private attributeWrites(root: Node, cls: string | undefined, except: ReadonlySet<number>, skip: ReadonlySet<string> = NESTED, containers?: { node: Node; key: string }[]): string[] {
    const out = new Set<string>();
    /** A container store: a fact where it stands (in a function), else one more name. */
    const store = (node: Node, key: string | undefined) => {
      if (key === undefined) return;
      if (containers) containers.push({ node, key });
      else out.add(key);
    };
    for (const n of ownNodes(root, skip)) {
      const attrs: Node[] = [];
      if ((n.type === 'assignment' || n.type === 'augmented_assignment') && !except.has(n.id)) assignedAttributes(n.childForFieldName('left'), attrs);
      else if (n.type === 'for_statement' || n.type === 'for_in_clause') assignedAttributes(n.childForFieldName('left'), attrs);
      else if (n.type === 'as_pattern' || n.type === 'delete_statement') {
        for (const c of n.namedChildren) assignedAttributes(c?.type === 'as_pattern_target' ? c.namedChild(0) : c, attrs);
      } else if (n.type === 'call') {
        const fn = this.t.dotted(n.childForFieldName('function'));
        if (fn === 'setattr' || fn === 'delattr' || fn === 'object.__setattr__') {
          const name = argsOf(n).positional[1];
          const v = name ? stringValue(name)?.value : undefined;
          out.add(v === undefined ? '*' : attributeKey(v, cls));
        } else if (/(?:__dict__|\bvars\s*\([^)]*\))\s*\.\s*(?:update|setdefault)$/.test(n.childForFieldName('function')?.text ?? '')) out.add('*');
      } else if (n.type === 'subscript' && (n.parent?.type === 'assignment' || n.parent?.type === 'augmented_assignment' || n.parent?.type === 'delete_statement' || n.parent?.type === 'pattern_list' || n.parent?.type === 'tuple_pattern')) {
        if (n.parent.type.endsWith('assignment') && n.parent.childForFieldName('left')?.id !== n.id) continue;
        const v = n.childForFieldName('value');
        if (v && /__dict__$|^vars\(/.test(v.text)) out.add('*');
        if (v) store(n, containerKey(v, subscriptKey(n.childForFieldName('subscript'))));
      }
      if (n.type === 'call') {
        // `x.conf.update(…)`, `conf.setdefault("k", …)`, `conf.pop("k")`: stores in a container.
        const fn = n.childForFieldName('function');
        const method = fn?.type === 'attribute' ? fn.childForFieldName('attribute')?.text : undefined;
        const recv = fn?.childForFieldName('object');
        if (method && recv && CONTAINER_WRITES.has(method)) {
          const k = method === 'setdefault' || method === 'pop' || method === '__setitem__' || method === '__delitem__' ? stringValue(argsOf(n).positional[0])?.value : undefined;
          store(n, containerKey(recv, k));
        }
      }
      for (const a of attrs) {
        const name = a.childForFieldName('attribute')?.text;
        const obj = a.childForFieldName('object');
        if (name) out.add(obj?.type === 'identifier' && obj.text === 'self' ? attributeKey(name, cls) : name);
        // `x._Server__daemon = …`: the class-private attribute spelled as Python mangles it.
        const mangled = name ? /^_([A-Za-z0-9]\w*?)(__\w+)$/.exec(name) : null;
        if (mangled) out.add(`${mangled[1]}.${mangled[2]}`);
        // A class-private name assigned through another object is still that class's attribute.
        if (name && cls && obj?.text !== 'self') out.add(attributeKey(name, cls));
      }
    }
    return [...out];
  }

  /**
   * Fills the function facts of the walked functions: the attributes each assigns, an
   * `__init__`'s flag stores, and the parameters of those that read one as a flag.
   */
  emitFunctionFlags(): void {
    for (const s of this.rec.scopes) {
      const fact = s.kind === 'function' ? s.functionFact : undefined;
      const def = s.defNode;
      const body = def?.childForFieldName('body');
      if (!fact || !def || !body) continue;
      const kind = FlagValues.isMethod(s) ? this.methodKind(def) : undefined;
      if (kind) fact.methodKind = kind;
      const storeNodes = new Set<number>();
      if (FlagValues.isMethod(s) && fact.name.endsWith('.__init__') && !kind) {
        const stores = new Map<string, { attr: string; param?: string; value?: PyFlag }>();
        const twice = new Set<string>();
        for (const st of body.namedChildren) {
          const a = st?.type === 'expression_statement' ? st.namedChild(0) : null;
          if (a?.type !== 'assignment') continue;
          const left = a.childForFieldName('left');
          const right = a.childForFieldName('right');
          if (left?.type !== 'attribute' || left.childForFieldName('object')?.text !== 'self' || a.childForFieldName('type')) continue;
          const attr = attributeKey(left.childForFieldName('attribute')?.text ?? '', s.cls);
          const lit = literalFlag(right);
          const param = right?.type === 'identifier' && this.steadyParameters(s).has(right.text) ? right.text : undefined;
          // (`self.x = None` is mostly "not set yet": only booleans and parameters are kept.)
          if ((lit === undefined || lit === null) && !param) continue;
          if (stores.has(attr)) twice.add(attr);
          stores.set(attr, param ? { attr, param } : { attr, value: lit });
          if (param) this.use(s, param);
          storeNodes.add(a.id);
        }
        for (const attr of twice) stores.delete(attr);
        const kept = [...stores.values()];
        if (kept.length) fact.flagStores = kept;
        // A store kept twice counts as an assignment elsewhere.
        for (const st of body.namedChildren) {
          const a = st?.type === 'expression_statement' ? st.namedChild(0) : null;
          const left = a?.childForFieldName('left');
          if (a && left?.type === 'attribute' && twice.has(attributeKey(left.childForFieldName('attribute')?.text ?? '', s.cls))) storeNodes.delete(a.id);
        }
      }
      const file = this.fileScan();
      if (file) {
        const scan = file.functions.get(s) ?? EMPTY_WRITES;
        const writes = scannedWrites(scan, s.cls, fact.flagStores?.map((f) => f.attr) ?? []);
        if (writes.length) fact.attributeWrites = writes;
        for (const st of scan.stores) this.rec.facts.push({ range: { start: this.t.posAt(st.start), end: this.t.posAt(st.end) }, enclosingFunction: s.fn, conditional: true, kind: 'py.store', key: `${st.attr}[${st.key}]` });
        continue;
      }
      const containers: { node: Node; key: string }[] = [];
      const writes = this.attributeWrites(body, s.cls, storeNodes, NESTED, containers);
      if (writes.length) fact.attributeWrites = writes;
      for (const c of containers) this.rec.facts.push({ range: this.t.range(c.node), enclosingFunction: s.fn, conditional: true, kind: 'py.store', key: c.key });
    }
  }

  /**
   * The flag arguments of the call facts, whether a call runs on the caller's own object
   * (`self.m()`), and which call made a method call's receiver.
   */
  emitCallFlags(callFacts: readonly CallFact[]): void {
    for (const { fact: f, call: c } of callFacts) {
      const args = this.flagArguments(c);
      if (args) f.flagArgs = args;
      if (f.kind === 'py.call' && c.scope.cls && c.callee?.startsWith('self.') && SELF_METHOD.test(c.callee)) f.onSelf = true;
      if (f.kind !== 'py.call' && c.recv && 'name' in c.recv) {
        const list = c.scope.bindings.get(c.recv.name);
        const at = list?.length === 1 ? this.producerAt(c, list[0]) : undefined;
        if (at) f.producerAt = at;
      }
    }
  }

  /** After guards, stores and calls are read: the parameters of the functions that use one as a flag. */
  emitParameters(): void {
    for (const [s] of this.used) {
      const fact = s.functionFact;
      if (fact) fact.params = this.parameters(s);
    }
  }

  /** The attribute names the module's own code (class bodies included, functions left out) assigns. */
  moduleAttributeWrites(root: Node): string[] {
    const scan = this.fileScan()?.module;
    if (!scan) return this.attributeWrites(root, undefined, new Set(), FUNCTIONS);
    return [...scannedWrites(scan, undefined, []), ...new Set(scan.stores.map((st) => `${st.attr}[${st.key}]`))];
  }
}
