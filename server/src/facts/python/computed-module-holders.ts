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
 * incremental extraction can ask it whatever definitions it skips.
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

/** One way a value moves: when any of `from` may hold a computed module, `to` may too. */
interface Flow {
  /** The names (and called functions' names) the value may come from. */
  from: string[];
  /** The value may be such an import itself. */
  fromImports: boolean;
  /** Names bound (assignment, loop target, list added to). */
  names: string[];
  /** Functions whose parameters receive it (by their name; every definition of that name). */
  parametersOf: string[];
  /** A function that returns it (its calls then give it). */
  returnedBy?: string;
}

const NODE_TYPES = ['assignment', 'augmented_assignment', 'for_statement', 'for_in_clause', 'call', 'return_statement', 'function_definition'];

/**
 * Where the value of an expression may come from, read the way the tracing reads it: names,
 * the parts of tuples, lists, conditionals and comprehensions, and calls (the function called,
 * whose returns give the value, or the first argument of `list(x)`-like copies). `imports` is
 * set when the value may be a computed import's result.
 */
function valueSources(n: Node | null | undefined, out: { words: Set<string>; imports: boolean }, depth = 0): void {
  if (!n || depth > 32) return;
  switch (n.type) {
    case 'identifier':
      out.words.add(n.text);
      return;
    case 'parenthesized_expression':
    case 'conditional_expression':
    case 'tuple':
    case 'expression_list':
    case 'list':
    case 'set':
      for (const c of n.namedChildren) valueSources(c, out, depth + 1);
      return;
    case 'generator_expression':
    case 'list_comprehension':
    case 'set_comprehension':
      valueSources(n.childForFieldName('body'), out, depth + 1);
      return;
    case 'call': {
      const name = lastName(n.childForFieldName('function'));
      if (!name) return;
      // Only an import whose module name can be read leads anywhere (`computedImportModule`).
      if (COMPUTED_IMPORT_CALLS.has(name) && computedImportModule(n)) out.imports = true;
      out.words.add(name);
      if (ITEM_COPIES.has(name)) valueSources(n.childForFieldName('arguments')?.namedChild(0), out, depth + 1);
      return;
    }
    default:
      return;
  }
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
 * Whether some call of the file imports a module by a name that can be read: the calls are
 * found from the text, so a file without one costs a regular-expression search.
 */
function hasReadableComputedImport(root: Node, text: string): boolean {
  if (!COMPUTED_IMPORT_WORD.test(text)) return false;
  // Node offsets are the text's own only when the tree covers it exactly.
  const exact = root.endIndex === text.length;
  const calls = exact ? [] : root.descendantsOfType('call');
  if (exact) {
    COMPUTED_IMPORT_AT.lastIndex = 0;
    for (let m = COMPUTED_IMPORT_AT.exec(text); m; m = COMPUTED_IMPORT_AT.exec(text)) {
      let n: Node | null = root.descendantForIndex(m.index);
      while (n && n.type !== 'call' && n.endIndex <= m.index + m[0].length + 1 && n.parent) n = n.parent;
      if (n?.type === 'call') calls.push(n);
    }
  }
  return calls.some((c) => {
    const name = c ? lastName(c.childForFieldName('function')) : undefined;
    return !!c && !!name && COMPUTED_IMPORT_CALLS.has(name) && !!computedImportModule(c);
  });
}

/**
 * The names that may hold a module imported by computed name, or an empty set when the file
 * has no such import. `text` is the file's text (a cheap first check).
 */
export function computedModuleHolders(root: Node, text: string): ReadonlySet<string> {
  // Asked twice per edit in the editor (the incremental extraction's check, then the
  // classifier) about the same tree: the answer is kept per tree and text.
  const known = HOLDERS_OF_TREE.get(root.tree);
  if (known && known.text === text) return known.holders;
  const holders = computeHolders(root, text);
  HOLDERS_OF_TREE.set(root.tree, { text, holders });
  return holders;
}

const HOLDERS_OF_TREE = new WeakMap<Node['tree'], { text: string; holders: ReadonlySet<string> }>();

function computeHolders(root: Node, text: string): ReadonlySet<string> {
  const holders = new Set<string>();
  if (!hasReadableComputedImport(root, text)) return holders;
  const flows: Flow[] = [];
  const parameters = new Map<string, string[]>();
  const flow = (from: Node | null | undefined, f: Omit<Flow, 'from' | 'fromImports'>) => {
    const sources = { words: new Set<string>(), imports: false };
    valueSources(from, sources);
    if (sources.words.size > 0 || sources.imports) flows.push({ from: [...sources.words], fromImports: sources.imports, ...f });
  };
  for (const n of root.descendantsOfType(NODE_TYPES)) {
    if (!n) continue;
    switch (n.type) {
      case 'assignment':
      case 'augmented_assignment':
        flow(n.childForFieldName('right'), { names: boundNames(n.childForFieldName('left')), parametersOf: [] });
        break;
      case 'for_statement':
      case 'for_in_clause':
        flow(n.childForFieldName('right'), { names: boundNames(n.childForFieldName('left')), parametersOf: [] });
        break;
      case 'return_statement': {
        const fn = enclosingFunctionName(n);
        if (fn) flow(n.namedChild(0), { names: [], parametersOf: [], returnedBy: fn });
        break;
      }
      case 'function_definition': {
        const name = n.childForFieldName('name')?.text;
        // A method's first parameter is its object, which callers do not pass as an argument.
        const names = parameterNames(n).slice(isMethod(n) ? 1 : 0);
        if (name) parameters.set(name, [...(parameters.get(name) ?? []), ...names]);
        break;
      }
      case 'call': {
        const callee = n.childForFieldName('function');
        const args = n.childForFieldName('arguments');
        if (!args || args.namedChildCount === 0) break;
        const method = lastName(callee);
        // `mods.append(m)` / `mods.extend(ms)`: the list holds them.
        const obj = callee?.type === 'attribute' ? callee.childForFieldName('object') : null;
        const list = obj?.type === 'identifier' && (method === 'append' || method === 'extend') ? [obj.text] : [];
        // The callee, and functions handed over to run (`pool.map(worker, mods)`), receive the arguments.
        const receivers = method ? [method] : [];
        for (const a of args.namedChildren) {
          const name = lastName(a ?? null);
          if (name) receivers.push(name);
        }
        for (const a of args.namedChildren) {
          if (!a) continue;
          const value = a.type === 'keyword_argument' ? a.childForFieldName('value') : a.type === 'list_splat' || a.type === 'dictionary_splat' ? a.namedChild(0) : a;
          flow(value, { names: list, parametersOf: receivers });
        }
        break;
      }
    }
  }
  let changed = true;
  const fired = new Array<boolean>(flows.length).fill(false);
  while (changed) {
    changed = false;
    for (let i = 0; i < flows.length; i++) {
      if (fired[i]) continue;
      const f = flows[i];
      if (!f.fromImports && !f.from.some((w) => holders.has(w))) continue;
      fired[i] = true;
      changed = true;
      for (const name of f.names) holders.add(name);
      if (f.returnedBy) holders.add(f.returnedBy);
      for (const fn of f.parametersOf) for (const p of parameters.get(fn) ?? []) holders.add(p);
    }
  }
  return holders;
}
