/**
 * Modules a Python file imports by computed name (`importlib.import_module("plugins." + name)`,
 * `__import__(...)`): the module name such a call gives when it can be read
 * ({@link computedImportModule}), and the names of the file that may hold such a module
 * ({@link computedModuleHolders}), found by a forward pass from those calls.
 *
 * The holders are the gate that decides where `value-origins.ts` is asked about `x.m()`. The
 * pass follows, by name and without scopes, every way the tracing can carry a value:
 * assignments and unpacking, `for` loops and comprehensions, `append`/`extend` into a list,
 * the parameters of the file's functions a call (or a pool's `map`/`submit`) passes a holder
 * to, and the functions that return one. It may name more than the tracing would find (a name
 * is a name in every scope; a function handed a holder counts all its parameters), never
 * less: a name not in the set cannot hold such a module. Computed over the whole tree, so the
 * incremental extraction can ask it whatever definitions it skips. The pass goes name by name:
 * each new holder is looked up where the text spells it and only the flows it takes part in
 * are read, so a file whose imported modules reach a few names costs a few look-ups.
 */
import type { Node } from '../../parsing/parser';
import type { PyComputedModule } from './fact-types';
import { argsOf, parameterNames, stringValue } from './syntax-helpers';

/** Last names of the calls that import a module by computed name. */
const COMPUTED_IMPORT_CALLS: ReadonlySet<string> = new Set(['import_module', '__import__']);
const COMPUTED_IMPORT_WORD = /\b(?:import_module|__import__)\b/;

/** Calls that give the items of their first argument back (`list(x)`, `sorted(x)`), as the tracing reads them. */
const ITEM_COPIES: ReadonlySet<string> = new Set(['list', 'tuple', 'sorted', 'set', 'frozenset', 'reversed']);

/**
 * A string expression read up to its first computed part: the whole literal (`prefix: false`),
 * or the constant beginning of an f-string, a `+` concatenation or a `%` format
 * (`"plugins." + name` → `plugins.`, prefix). Undefined when it starts with a computed part.
 */
export function constantBeginning(n: Node): PyComputedModule | undefined {
  if (n.type === 'parenthesized_expression') {
    const inner = n.namedChild(0);
    return inner ? constantBeginning(inner) : undefined;
  }
  if (n.type === 'string') {
    const whole = stringValue(n);
    if (whole) return { name: whole.value, prefix: false };
    const first = n.namedChildren.find((x) => x?.type === 'string_content' || x?.type === 'interpolation');
    return first?.type === 'string_content' ? { name: first.text, prefix: true } : undefined;
  }
  if (n.type === 'binary_operator') {
    const left = n.childForFieldName('left');
    const op = n.childForFieldName('operator')?.text;
    const l = left ? constantBeginning(left) : undefined;
    if (!l) return undefined;
    if (op === '+') return { name: l.name, prefix: true };
    if (op === '%') return { name: l.name.split('%')[0], prefix: true };
  }
  return undefined;
}

/**
 * The module (or the constant beginning of its name) that a call importing by computed name
 * (`importlib.import_module("plugins." + name)`) gives, when its name is readable as an
 * absolute module path; undefined otherwise (a relative name, a `package` argument, a name
 * that starts with a computed part).
 */
export function computedImportModule(call: Node): PyComputedModule | undefined {
  const a = argsOf(call);
  const arg = a.positional[0] ?? a.keywords.get('name');
  if (!arg || a.positional[1] || a.keywords.has('package')) return undefined;
  const m = constantBeginning(arg);
  if (!m || m.name.startsWith('.') || (m.prefix && !m.name.includes('.'))) return undefined;
  return m;
}

/** The plain names a target binds (`a`, `a, (b, c)`), not attributes or subscripts. */
function boundNames(target: Node | null, out: string[] = []): string[] {
  if (!target) return out;
  if (target.type === 'identifier') out.push(target.text);
  else if (target.type === 'pattern_list' || target.type === 'tuple_pattern' || target.type === 'list_pattern' || target.type === 'tuple' || target.type === 'list' || target.type === 'parenthesized_expression' || target.type === 'list_splat_pattern') {
    for (const c of target.namedChildren) boundNames(c, out);
  }
  return out;
}

/** The name of the function a node is in (the nearest `def`), if any. */
function enclosingFunctionName(n: Node): string | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (p.type === 'function_definition') return p.childForFieldName('name')?.text;
    if (p.type === 'lambda') return undefined;
  }
  return undefined;
}

/** A `def` directly in a class body (decorated or not). */
function isMethod(def: Node): boolean {
  let p = def.parent;
  if (p?.type === 'decorated_definition') p = p.parent;
  return p?.type === 'block' && p.parent?.type === 'class_definition';
}

/** The last name of a callee (`helper`, `self.helper`, `pool.map` → `map`). */
function lastName(callee: Node | null): string | undefined {
  if (!callee) return undefined;
  if (callee.type === 'identifier') return callee.text;
  if (callee.type === 'attribute') return callee.childForFieldName('attribute')?.text;
  return undefined;
}

/** Where the text calls a computed import (`import_module(`, `__import__ (`): the offset of the name. */
const COMPUTED_IMPORT_AT = /\b(?:import_module|__import__)\s*\(/g;

/**
 * The names that may hold a module imported by computed name, or an empty set when the file
 * has no such import. `text` is the file's text (a cheap first check).
 */
export function computedModuleHolders(root: Node, text: string): ReadonlySet<string> {
  // Asked twice per edit in the editor (the incremental extraction's check, then the
  // classifier) about the same tree: the answer is kept per tree and text.
  const known = HOLDERS_OF_TREE.get(root.tree);
  if (known && known.text === text) return known.holders;
  const holders = computeHoldersByName(root, text);
  HOLDERS_OF_TREE.set(root.tree, { text, holders });
  return holders;
}

const HOLDERS_OF_TREE = new WeakMap<Node['tree'], { text: string; holders: ReadonlySet<string> }>();

/** Node types whose named children are all where their value may come from (`valueSources`). */
const SPREADING = new Set(['parenthesized_expression', 'conditional_expression', 'tuple', 'expression_list', 'list', 'set']);
const COMPREHENSIONS = new Set(['generator_expression', 'list_comprehension', 'set_comprehension']);

/** Where a value read as a flow's source ends up: the node the flow reads (`from`) and what it binds. */
interface FlowSite {
  /** The statement or argument that makes the flow (one flow per site, as the walk makes it). */
  key: string;
  names: string[];
  parametersOf: string[];
  returnedBy?: string;
}

/**
 * The flows a value node takes part in as a source: it is climbed through the expressions
 * `valueSources` reads into (tuples, conditionals, comprehension bodies, `list(x)`-like
 * copies) up to the assignment, loop, `return` or call argument whose value it is. `depth`
 * counts the levels below that value, which `valueSources` reads up to 32 deep.
 */
function flowSitesOf(value: Node, out: FlowSite[]): void {
  let v = value;
  for (let depth = 0; depth <= 32; depth++) {
    const p = v.parent;
    if (!p) return;
    if (SPREADING.has(p.type)) {
      v = p;
      continue;
    }
    if (COMPREHENSIONS.has(p.type)) {
      if (p.childForFieldName('body')?.id !== v.id) return;
      // `f(x for x in xs)`: the generator is the call's argument list, and its body an argument.
      const call = p.parent;
      if (call?.type === 'call' && call.childForFieldName('arguments')?.id === p.id) {
        argumentSite(p, v, out);
        const name = lastName(call.childForFieldName('function'));
        if (!name || !ITEM_COPIES.has(name) || p.namedChild(0)?.id !== v.id) return;
        v = call;
        continue;
      }
      v = p;
      continue;
    }
    switch (p.type) {
      case 'assignment':
      case 'augmented_assignment':
      case 'for_statement':
      case 'for_in_clause':
        if (p.childForFieldName('right')?.id === v.id) out.push({ key: `${p.id}`, names: boundNames(p.childForFieldName('left')), parametersOf: [] });
        return;
      case 'return_statement': {
        const fn = enclosingFunctionName(p);
        if (fn && p.namedChild(0)?.id === v.id) out.push({ key: `${p.id}`, names: [], parametersOf: [], returnedBy: fn });
        return;
      }
      case 'keyword_argument':
        if (p.childForFieldName('value')?.id !== v.id) return;
        if (p.parent?.type === 'argument_list') argumentSite(p.parent, v, out);
        return;
      case 'list_splat':
      case 'dictionary_splat':
        if (p.namedChild(0)?.id !== v.id) return;
        if (p.parent?.type === 'argument_list') argumentSite(p.parent, v, out);
        return;
      case 'argument_list': {
        argumentSite(p, v, out);
        // `list(x)`-like copies give their first argument's items back: the call is a value too.
        const call = p.parent;
        const name = call?.type === 'call' ? lastName(call.childForFieldName('function')) : undefined;
        if (!call || !name || !ITEM_COPIES.has(name) || p.namedChild(0)?.id !== v.id) return;
        v = call;
        continue;
      }
      default:
        return;
    }
  }
}

/** A call argument's flow: the list appended to, and the functions that receive the arguments. */
function argumentSite(args: Node, value: Node, out: FlowSite[]): void {
  const call = args.parent;
  if (call?.type !== 'call') return;
  const callee = call.childForFieldName('function');
  const method = lastName(callee);
  const obj = callee?.type === 'attribute' ? callee.childForFieldName('object') : null;
  const names = obj?.type === 'identifier' && (method === 'append' || method === 'extend') ? [obj.text] : [];
  const parametersOf = method ? [method] : [];
  for (const a of args.namedChildren) {
    const name = lastName(a ?? null);
    if (name) parametersOf.push(name);
  }
  out.push({ key: `${call.id}:${value.id}`, names, parametersOf });
}

/**
 * The value nodes an identifier stands for as a source: itself, or the call it names
 * (`w(...)`, `obj.w(...)`: its result comes from `w`'s returns). Undefined when the
 * identifier is not read as a value there (an attribute's object, a binding, a parameter).
 */
function valueNodeOf(id: Node): Node | undefined {
  const p = id.parent;
  if (!p) return id;
  if (p.type === 'call' && p.childForFieldName('function')?.id === id.id) return p;
  if (p.type === 'attribute') {
    if (p.childForFieldName('attribute')?.id !== id.id) return undefined;
    const call = p.parent;
    return call?.type === 'call' && call.childForFieldName('function')?.id === p.id ? call : undefined;
  }
  return id;
}

/**
 * The holders, forwards from the computed imports: each flow a holder takes part in as a
 * source (an assignment, a loop, a `return`, a call argument) fires once and makes its bound
 * names, the returning function and the receiving functions' parameters holders too.
 */
function computeHoldersByName(root: Node, text: string): ReadonlySet<string> {
  const holders = new Set<string>();
  const imports = readableComputedImports(root, text);
  if (imports.length === 0) return holders;
  const fired = new Set<string>();
  const words = new WordIndex(text);
  const work: string[] = [];
  const add = (name: string) => {
    if (holders.has(name)) return;
    holders.add(name);
    work.push(name);
  };
  const parametersMemo = new Map<string, string[]>();
  const parametersOf = (fn: string): string[] => {
    let names = parametersMemo.get(fn);
    if (names) return names;
    names = [];
    for (const at of words.defsOf(fn)) {
      // (The `def` keyword's token; its parent is the definition.)
      const def = root.descendantForIndex(at)?.parent;
      if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === fn) names.push(...parameterNames(def).slice(isMethod(def) ? 1 : 0));
    }
    parametersMemo.set(fn, names);
    return names;
  };
  const fire = (sites: FlowSite[]) => {
    for (const f of sites) {
      if (fired.has(f.key)) continue;
      fired.add(f.key);
      for (const name of f.names) add(name);
      if (f.returnedBy) add(f.returnedBy);
      for (const fn of f.parametersOf) for (const p of parametersOf(fn)) add(p);
    }
  };
  for (const call of imports) {
    const sites: FlowSite[] = [];
    flowSitesOf(call, sites);
    fire(sites);
  }
  while (work.length > 0) {
    const word = work.pop()!;
    for (const at of words.offsetsOf(word)) {
      const id = root.descendantForIndex(at, at + word.length);
      if (id?.type !== 'identifier' || id.text !== word) continue;
      const value = valueNodeOf(id);
      if (!value) continue;
      const sites: FlowSite[] = [];
      flowSitesOf(value, sites);
      fire(sites);
    }
  }
  return holders;
}

/** A run of letters, digits and underscores; a word made of nothing else. */
const WORD_RUN = /[\p{L}\p{N}_]+/gu;
const PLAIN_WORD = /^[\p{L}\p{N}_]+$/u;
/** `def` and the blanks after it, with the run of word characters that follows. */
const DEF_RUN = /\bdef[ \t]+(?=([\p{L}\p{N}_]+))/gu;

/** A letter, a digit or an underscore (a whole code point). */
const WORD_CHAR = /^[\p{L}\p{N}_]$/u;

function isWordCodePoint(cp: number | undefined): boolean {
  if (cp === undefined) return false;
  if (cp < 128) return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

/** The code point that ends right before `i` (a surrogate pair read whole), if any. */
function codePointBefore(text: string, i: number): number | undefined {
  if (i <= 0) return undefined;
  const low = text.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = text.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(i - 2);
  }
  return low;
}

/**
 * Offsets of a plain `word` not inside a longer run of letters, digits and underscores (what
 * `(?<![\p{L}\p{N}_])word(?![\p{L}\p{N}_])` with the `u` flag finds), in order. Two such
 * occurrences never overlap.
 */
function standingAlone(text: string, word: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
    if (!isWordCodePoint(codePointBefore(text, i)) && !isWordCodePoint(text.codePointAt(i + word.length))) out.push(i);
  }
  return out;
}

/** How many words are searched for one by one before the text is indexed once for all. */
const SEARCHES_BEFORE_INDEX = 3;

/**
 * Where the text spells a word (not inside a longer run of letters, digits and underscores),
 * and where it has `def word`. The first few words are searched for one by one; past them
 * the text is read once for all the words the pass still looks up (a file whose imported
 * modules reach many names). A word with other characters (a combining mark) is always
 * searched for by itself.
 */
class WordIndex {
  private runs: Map<string, number[]> | undefined;
  private defs: Map<string, number[]> | undefined;
  private wordSearches = 0;
  private defSearches = 0;

  constructor(private readonly text: string) {}

  /** Offsets of `word` standing alone, in order. */
  offsetsOf(word: string): readonly number[] {
    if (!PLAIN_WORD.test(word)) return [...this.text.matchAll(new RegExp(`(?<![\\p{L}\\p{N}_])${word}(?![\\p{L}\\p{N}_])`, 'gu'))].map((m) => m.index);
    if (!this.runs && ++this.wordSearches <= SEARCHES_BEFORE_INDEX) return standingAlone(this.text, word);
    this.runs ??= WordIndex.index(this.text, WORD_RUN, 0);
    return this.runs.get(word) ?? [];
  }

  /** Offsets of the `def` of each `def name` (name standing alone), in order. */
  defsOf(name: string): readonly number[] {
    if (!PLAIN_WORD.test(name) || (!this.defs && ++this.defSearches <= SEARCHES_BEFORE_INDEX)) {
      return [...this.text.matchAll(new RegExp(`\\bdef[ \\t]+${name}(?![\\p{L}\\p{N}_])`, 'gu'))].map((m) => m.index);
    }
    this.defs ??= WordIndex.index(this.text, DEF_RUN, 1);
    return this.defs.get(name) ?? [];
  }

  private static index(text: string, re: RegExp, group: number): Map<string, number[]> {
    const out = new Map<string, number[]>();
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const key = m[group];
      const list = out.get(key);
      if (list) list.push(m.index);
      else out.set(key, [m.index]);
    }
    return out;
  }
}

/** The calls of the file that import a module by a name that can be read (`computedImportModule`). */
function readableComputedImports(root: Node, text: string): Node[] {
  if (!(text.includes('import_module') || text.includes('__import__')) || !COMPUTED_IMPORT_WORD.test(text)) return [];
  const exact = root.endIndex === text.length;
  const calls: (Node | null)[] = exact ? [] : root.descendantsOfType('call');
  if (exact) {
    COMPUTED_IMPORT_AT.lastIndex = 0;
    for (let m = COMPUTED_IMPORT_AT.exec(text); m; m = COMPUTED_IMPORT_AT.exec(text)) {
      let n: Node | null = root.descendantForIndex(m.index);
      while (n && n.type !== 'call' && n.endIndex <= m.index + m[0].length + 1 && n.parent) n = n.parent;
      if (n?.type === 'call') calls.push(n);
    }
  }
  return calls.filter((c): c is Node => {
    const name = c ? lastName(c.childForFieldName('function')) : undefined;
    return !!c && !!name && COMPUTED_IMPORT_CALLS.has(name) && !!computedImportModule(c);
  });
}
