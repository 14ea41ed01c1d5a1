/**
 * Return summaries of one TypeScript/JavaScript file for the handle analysis: which of its
 * functions return a fresh handle (an fs opener's result, directly, through a local
 * variable, as an element of a returned array, wrapped in an owner object of this file, or
 * through another such function), which names are imports of other workspace modules,
 * what the file exports under which names, and whether the file is the `fs` module under
 * another name. `handles.ts` uses the local part to treat calls to such helpers as openers;
 * the exported part goes into the file's {@link FileHandleSummary} for other files.
 */
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { HandleKind } from '../../knowledge/typescript-handles';
import type { ForwardedParameter, ImportedFunction, ReexportOfFs, ReturnedHandle, UsedOnlyParameters } from '../summaries';
import { stringValue, unwrap } from '../../facts/typescript/syntax';
import type { FileIndex } from './file-index';
import { argumentsOf, compact } from './file-index';
import { FUNCTION_TYPES } from './cfg';
import { parameterName, parametersOf } from './effects';

/** What a call or a returned expression yields when it is a fresh handle. */
export interface FreshHandle {
  /** The opener as written (`fs.createReadStream`) — of the innermost open. */
  api: string;
  kind: HandleKind;
  /** The innermost opening call. */
  open: Node;
  /** The handle is this element of an array value. */
  tupleIndex?: number;
  /** The helper functions passed through, outermost first (`getStreamFor`, `getFileStream`). */
  via: string[];
  /** The value is an object of this file's class that owns the handle (`new FilePoly(fd)`). */
  ownerClass?: string;
}

function isRelative(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..';
}

/** `require('./x')` → `'./x'`. */
function requireSpecifier(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  const n = unwrap(node);
  if (n.type !== 'call_expression') return undefined;
  const fn = n.childForFieldName('function');
  if (fn?.type !== 'identifier' || fn.text !== 'require') return undefined;
  return stringValue(argumentsOf(n)[0]);
}


export class ReturnSummaries {
  /** Local names bound to another workspace module (or one of its exports). */
  readonly imports = new Map<string, { specifier: string; exportPath: string[] }>();
  private readonly classes = new Map<string, Node>();
  private readonly memo = new Map<number, FreshHandle | null>();
  private readonly resultOfMemo = new Map<number, ImportedFunction | null>();
  /** The exported functions and each function's returned values, read once per analysis (several summaries ask). */
  private exportedMemo: { path: string[]; fn: Node; name: string }[] | undefined;
  private readonly returnedMemo = new Map<number, Node[]>();

  constructor(
    private readonly file: FileIndex,
    private readonly tree: Tree,
  ) {
    for (const stmt of tree.rootNode.namedChildren) {
      if (!stmt) continue;
      if (stmt.type === 'import_statement') this.addImport(stmt);
      else if (stmt.type === 'lexical_declaration' || stmt.type === 'variable_declaration') {
        for (const d of stmt.namedChildren) if (d?.type === 'variable_declarator') this.addRequire(d);
      }
      const cls = stmt.type === 'export_statement' ? stmt.namedChildren.find((c) => c?.type === 'class_declaration') : stmt.type === 'class_declaration' ? stmt : undefined;
      const name = cls?.childForFieldName('name');
      if (cls && name) this.classes.set(name.text, cls);
    }
  }

  private addImport(stmt: Node): void {
    const specifier = stringValue(stmt.childForFieldName('source'));
    if (!specifier || !isRelative(specifier)) return;
    if (stmt.children.some((c) => c?.type === 'type' && !c.isNamed)) return;
    const clause = stmt.namedChildren.find((c) => c?.type === 'import_clause');
    if (!clause) return;
    for (const c of clause.namedChildren) {
      if (!c) continue;
      if (c.type === 'identifier') this.imports.set(c.text, { specifier, exportPath: ['default'] });
      else if (c.type === 'namespace_import') {
        const id = c.namedChild(0);
        if (id) this.imports.set(id.text, { specifier, exportPath: [] });
      } else if (c.type === 'named_imports') {
        for (const spec of c.namedChildren) {
          if (spec?.type !== 'import_specifier') continue;
          const name = spec.childForFieldName('name');
          const alias = spec.childForFieldName('alias') ?? name;
          if (name && alias) this.imports.set(alias.text, { specifier, exportPath: [name.text] });
        }
      }
    }
  }

  private addRequire(decl: Node): void {
    const specifier = requireSpecifier(decl.childForFieldName('value'));
    const name = decl.childForFieldName('name');
    if (!specifier || !isRelative(specifier) || !name) return;
    if (name.type === 'identifier') this.imports.set(name.text, { specifier, exportPath: [] });
    else if (name.type === 'object_pattern') {
      for (const p of name.namedChildren) {
        if (p?.type === 'shorthand_property_identifier_pattern') this.imports.set(p.text, { specifier, exportPath: [p.text] });
        else if (p?.type === 'pair_pattern') {
          const key = p.childForFieldName('key');
          const val = p.childForFieldName('value');
          if (key && val?.type === 'identifier') this.imports.set(val.text, { specifier, exportPath: [key.text] });
        }
      }
    }
  }

  /** `X(…)` / `X.m(…)` with `X` an import of a workspace module: the function it names. */
  importedCallee(call: Node): ImportedFunction | undefined {
    const callee = call.childForFieldName('function');
    if (!callee) return undefined;
    if (callee.type === 'identifier') {
      const imp = this.imports.get(callee.text);
      return imp ? { specifier: imp.specifier, exportPath: imp.exportPath, display: callee.text } : undefined;
    }
    if (callee.type === 'member_expression') {
      const obj = callee.childForFieldName('object');
      const prop = callee.childForFieldName('property');
      if (obj?.type !== 'identifier' || prop?.type !== 'property_identifier') return undefined;
      const imp = this.imports.get(obj.text);
      return imp ? { specifier: imp.specifier, exportPath: [...imp.exportPath, prop.text], display: compact(callee) } : undefined;
    }
    return undefined;
  }

  /** The function of this file a call runs, when there is exactly one candidate. */
  private localCallee(call: Node): { fn: Node; name: string } | undefined {
    const callee = call.childForFieldName('function');
    if (!callee) return undefined;
    if (callee.type === 'identifier') {
      const c = this.file.functions.byName.get(callee.text);
      return c && c.length === 1 ? { fn: c[0], name: callee.text } : undefined;
    }
    if (callee.type === 'member_expression') {
      const obj = callee.childForFieldName('object');
      const prop = callee.childForFieldName('property');
      if (!obj || !prop) return undefined;
      if (obj.type !== 'this' && !(obj.type === 'identifier' && this.classes.has(obj.text))) return undefined;
      const c = this.file.functions.methods.get(prop.text);
      return c && c.length === 1 ? { fn: c[0], name: compact(callee) } : undefined;
    }
    return undefined;
  }

  /** An fs opener call, including `util.promisify(fs.open)(…)`. */
  openerCall(call: Node): { api: string; kind: HandleKind } | undefined {
    const callee = call.childForFieldName('function');
    if (!callee) return undefined;
    const resolved = this.file.bindings.resolveCallee(callee);
    if (resolved) {
      const spec = this.openerSpec(resolved.module, resolved.name);
      // `promisify(fs.open)` (inline or bound to a name) resolves the callback's handle.
      const usable = spec && (spec.style !== 'callback' || resolved.promisified);
      return usable ? { api: compact(callee), kind: spec.kind } : undefined;
    }
    // `promisify(fs.open)(path, flags)` resolves to the descriptor, like `fs.promises.open` to a FileHandle.
    const inner = unwrap(callee);
    if (inner.type !== 'call_expression') return undefined;
    const fn = inner.childForFieldName('function');
    if (!fn || !/^(?:\w+\.)?promisify$/.test(compact(fn))) return undefined;
    const target = argumentsOf(inner)[0];
    const r = target ? this.file.bindings.resolveCallee(target) : undefined;
    const spec = r ? this.openerSpec(r.module, r.name) : undefined;
    return spec?.style === 'callback' ? { api: compact(callee), kind: spec.kind } : undefined;
  }

  private openerSpec(module: string, name: string) {
    return this.file.knowledge.openers.find((o) => o.module === module && o.name === name);
  }

  /** The fresh handle a call returns: an opener, or a function of this file that returns one. */
  ofCall(call: Node, depth = 0): FreshHandle | undefined {
    const opener = this.openerCall(call);
    if (opener) return { ...opener, open: call, via: [] };
    const local = this.localCallee(call);
    if (!local) return undefined;
    const r = this.ofFunction(local.fn, depth);
    return r ? { ...r, via: [local.name, ...r.via] } : undefined;
  }

  /** A function (declaration, arrow, method) that returns a fresh handle on some path. */
  ofFunction(fn: Node, depth = 0): FreshHandle | undefined {
    const memo = this.memo.get(fn.id);
    if (memo !== undefined) return memo ?? undefined;
    if (depth > 6) return undefined;
    this.memo.set(fn.id, null); // a recursive helper returns nothing new through itself
    let found: FreshHandle | undefined;
    for (const value of this.returnedValues(fn)) {
      found = this.freshValue(value, fn, depth + 1);
      if (found) break;
    }
    this.memo.set(fn.id, found ?? null);
    return found;
  }

  private freshValue(expr: Node, fn: Node, depth: number): FreshHandle | undefined {
    const n = unwrap(expr);
    switch (n.type) {
      case 'call_expression':
        return this.ofCall(n, depth);
      case 'array': {
        const items = n.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
        for (let i = 0; i < items.length; i++) {
          const r = this.freshValue(items[i], fn, depth);
          if (r && r.tupleIndex === undefined) return { ...r, tupleIndex: i };
        }
        return undefined;
      }
      case 'new_expression': {
        const ctor = n.childForFieldName('constructor');
        const cls = ctor?.type === 'identifier' ? this.classes.get(ctor.text) : undefined;
        if (!cls || !classReleases(cls, this.file.knowledge.handleMethods)) return undefined;
        for (const a of argumentsOf(n)) {
          const r = this.freshValue(a, fn, depth);
          if (r && r.tupleIndex === undefined) return { ...r, ownerClass: ctor!.text };
        }
        return undefined;
      }
      case 'identifier': {
        const init = localInitializer(fn, n.text);
        return init ? this.freshValue(init, fn, depth) : undefined;
      }
      default:
        return undefined;
    }
  }

  /** A function that returns what an imported function returns (`return X.open(p)`). */
  resultOfImported(fn: Node): ImportedFunction | undefined {
    const memo = this.resultOfMemo.get(fn.id);
    if (memo !== undefined) return memo ?? undefined;
    let found: ImportedFunction | undefined;
    for (const value of this.returnedValues(fn)) {
      const n = unwrap(value);
      if (n.type === 'call_expression') found = this.importedCallee(n);
      if (found) break;
    }
    this.resultOfMemo.set(fn.id, found ?? null);
    return found;
  }

  /** Exported functions that return a fresh handle (or an imported function's result). */
  exportedReturns(): ReturnedHandle[] {
    const out: ReturnedHandle[] = [];
    for (const { path, fn, name } of this.exportedFunctions()) {
      const fresh = this.ofFunction(fn);
      const functionId = factIdOf(fn);
      if (fresh) {
        out.push({ exportPath: path, functionName: name, functionId, api: fresh.api, openRange: nodeRange(fresh.open), tupleIndex: fresh.tupleIndex });
        continue;
      }
      const imported = this.resultOfImported(fn);
      if (imported) out.push({ exportPath: path, functionName: name, functionId, api: imported.display, openRange: nodeRange(fn), returnsResultOf: imported });
    }
    return out;
  }

  /**
   * Exported functions that return an imported function's result with one of their
   * parameters as a plain argument (`return inner.ensureFd(fd)`): a pass-through if that
   * function is one (linked by the program, `model/handle-summaries.ts`).
   */
  forwardedParameters(): ForwardedParameter[] {
    if (this.imports.size === 0) return [];
    const out: ForwardedParameter[] = [];
    for (const { path, fn, name } of this.exportedFunctions()) {
      const names = parametersOf(fn).map((p) => parameterName(p));
      for (const value of this.returnedValues(fn)) {
        const call = unwrap(value);
        const callee = call.type === 'call_expression' ? this.importedCallee(call) : undefined;
        if (!callee) continue;
        argumentsOf(call).forEach((a, argument) => {
          const arg = unwrap(a);
          const parameter = arg.type === 'identifier' ? names.indexOf(arg.text) : -1;
          if (parameter >= 0) out.push({ exportPath: path, functionName: name, functionId: factIdOf(fn), parameter, callee, argument, returned: true, range: nodeRange(call) });
        });
      }
    }
    return out;
  }

  /** The file's exported functions with the names other modules reach them by. */
  exportedFunctions(): { path: string[]; fn: Node; name: string }[] {
    return (this.exportedMemo ??= exportedFunctions(this.tree.rootNode, this.classes));
  }

  /** {@link returnedValues} of `fn`, kept for the analysis. */
  returnedValues(fn: Node): Node[] {
    let values = this.returnedMemo.get(fn.id);
    if (!values) this.returnedMemo.set(fn.id, (values = returnedValues(fn)));
    return values;
  }

  /** Is this file the fs module under another name? */
  reexportsFs(): ReexportOfFs | undefined {
    for (const stmt of this.tree.rootNode.namedChildren) {
      if (!stmt) continue;
      if (stmt.type === 'export_statement' && stmt.children.some((c) => c?.type === '*')) {
        const src = stringValue(stmt.childForFieldName('source'));
        if (src && this.file.knowledge.moduleSpecifiers[src] === 'fs') return { direct: true, range: nodeRange(stmt) };
        if (src && isRelative(src)) return { specifier: src, range: nodeRange(stmt) };
      }
      if (stmt.type !== 'expression_statement') continue;
      const e = unwrap(stmt.namedChild(0) ?? stmt);
      if (e.type === 'assignment_expression' && compact(e.childForFieldName('left') ?? e) === 'module.exports') {
        const r = this.fsValue(e.childForFieldName('right'));
        if (r) return { ...r, range: nodeRange(stmt) };
      }
      if (e.type === 'call_expression' && compact(e.childForFieldName('function') ?? e) === 'Object.assign') {
        const [target, ...sources] = argumentsOf(e);
        if (!target || !/^(?:module\.)?exports$/.test(compact(target))) continue;
        for (const s of sources) {
          const r = this.fsValue(s);
          if (r) return { ...r, range: nodeRange(stmt) };
        }
      }
    }
    return undefined;
  }

  private fsValue(node: Node | null | undefined): { direct: true } | { specifier: string } | undefined {
    if (!node) return undefined;
    if (this.file.bindings.namespaceOf(node) === 'fs') return { direct: true };
    const spec = requireSpecifier(node);
    if (spec && isRelative(spec)) return { specifier: spec };
    const n = unwrap(node);
    if (n.type === 'identifier') {
      const imp = this.imports.get(n.text);
      if (imp && imp.exportPath.length === 0) return { specifier: imp.specifier };
    }
    return undefined;
  }
}

/** Does a class of this file have a method that releases (`close`, `destroy`, `end`)? */
function classReleases(cls: Node, handleMethods: Readonly<Record<string, string>>): boolean {
  const body = cls.childForFieldName('body');
  if (!body) return false;
  return body.namedChildren.some((m) => m?.type === 'method_definition' && handleMethods[m.childForFieldName('name')?.text ?? ''] === 'release');
}

/** The expressions a function returns (its `return` values, or an arrow's expression body). */
export function returnedValues(fn: Node): Node[] {
  const body = fn.childForFieldName('body');
  if (!body) return [];
  if (body.type !== 'statement_block') return [body];
  // Every return statement spells the keyword: a block without it has none to look for.
  if (!body.text.includes('return')) return [];
  const out: Node[] = [];
  // One native search, then the returns of the function itself (not of a nested function or
  // class, nor inside another return), last first: callers take the first value that fits, and
  // this is the order they have always been read in.
  const returns = body.descendantsOfType('return_statement');
  for (let i = returns.length - 1; i >= 0; i--) {
    const r = returns[i];
    if (!r || !returnOf(r, body)) continue;
    const v = r.namedChildren.find((c) => c && c.type !== 'comment');
    if (v) out.push(v);
  }
  return out;
}

/** Whether a return statement inside `body` returns from `body`'s function: no function, class or return lies between. */
function returnOf(ret: Node, body: Node): boolean {
  for (let n = ret.parent; n && n.id !== body.id; n = n.parent) {
    const type = n.type;
    if (FUNCTION_TYPES.has(type) || type === 'class_declaration' || type === 'class' || type === 'return_statement') return false;
  }
  return true;
}

/** `const name = <init>` declared once in `fn` itself (not in nested functions). */
function localInitializer(fn: Node, name: string): Node | undefined {
  const body = fn.childForFieldName('body');
  if (!body) return undefined;
  let found: Node | undefined;
  let count = 0;
  const stack: Node[] = [body];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.id !== body.id && FUNCTION_TYPES.has(n.type)) continue;
    if (n.type === 'variable_declarator' && n.childForFieldName('name')?.text === name) {
      count++;
      found = n.childForFieldName('value') ?? undefined;
    } else if (n.type === 'assignment_expression' && n.childForFieldName('left')?.text === name) count++;
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return count === 1 ? found : undefined;
}

/** The file's exported functions with the names other modules reach them by. */
function exportedFunctions(root: Node, classes: ReadonlyMap<string, Node>): { path: string[]; fn: Node; name: string }[] {
  const out: { path: string[]; fn: Node; name: string }[] = [];
  const topFunctions = new Map<string, Node>();
  for (const stmt of root.namedChildren) {
    if (!stmt) continue;
    const decl = stmt.type === 'export_statement' ? (stmt.childForFieldName('declaration') ?? stmt.namedChildren.find((c) => c && c.type.endsWith('declaration'))) : stmt;
    if (decl?.type === 'function_declaration') {
      const name = decl.childForFieldName('name');
      if (name) topFunctions.set(name.text, decl);
    } else if (decl && (decl.type === 'lexical_declaration' || decl.type === 'variable_declaration')) {
      for (const d of decl.namedChildren) {
        const v = d?.childForFieldName('value');
        const name = d?.childForFieldName('name');
        if (d?.type === 'variable_declarator' && name?.type === 'identifier' && v && (v.type === 'arrow_function' || v.type === 'function_expression')) topFunctions.set(name.text, v);
      }
    }
  }
  const addClass = (prefix: string[], cls: Node, className: string) => {
    const body = cls.childForFieldName('body');
    for (const m of body?.namedChildren ?? []) {
      if (m?.type !== 'method_definition' || !m.children.some((c) => c?.type === 'static')) continue;
      const name = m.childForFieldName('name')?.text;
      if (name) out.push({ path: [...prefix, name], fn: m, name: `${className}.${name}` });
    }
  };
  const addValue = (path: string[], value: Node | null | undefined) => {
    if (!value) return;
    const v = unwrap(value);
    if (v.type === 'identifier') {
      const fn = topFunctions.get(v.text);
      if (fn) out.push({ path, fn, name: v.text });
      const cls = classes.get(v.text);
      if (cls) addClass(path, cls, v.text);
    } else if (v.type === 'arrow_function' || v.type === 'function_expression' || v.type === 'function') {
      out.push({ path, fn: v, name: path.join('.') || 'module.exports' });
    } else if (v.type === 'object') {
      for (const p of v.namedChildren) {
        if (p?.type === 'shorthand_property_identifier') addValue([...path, p.text], p);
        else if (p?.type === 'pair') addValue([...path, p.childForFieldName('key')?.text ?? ''], p.childForFieldName('value'));
        else if (p?.type === 'method_definition') {
          const name = p.childForFieldName('name')?.text;
          if (name) out.push({ path: [...path, name], fn: p, name });
        }
      }
    }
  };
  for (const stmt of root.namedChildren) {
    if (!stmt) continue;
    if (stmt.type === 'export_statement') {
      const isDefault = stmt.children.some((c) => c?.type === 'default');
      const decl = stmt.childForFieldName('declaration') ?? stmt.namedChildren.find((c) => c && (c.type.endsWith('declaration') || c.type === 'class'));
      if (decl?.type === 'function_declaration') {
        const name = decl.childForFieldName('name')?.text ?? 'default';
        out.push({ path: [isDefault ? 'default' : name], fn: decl, name });
      } else if (decl?.type === 'class_declaration' || decl?.type === 'class') {
        const name = decl.childForFieldName('name')?.text ?? 'default';
        addClass([isDefault ? 'default' : name], decl, name);
      } else if (decl && (decl.type === 'lexical_declaration' || decl.type === 'variable_declaration')) {
        for (const d of decl.namedChildren) {
          const name = d?.childForFieldName('name');
          if (d?.type === 'variable_declarator' && name?.type === 'identifier') addValue([name.text], d.childForFieldName('value'));
        }
      } else if (isDefault) {
        const value = stmt.childForFieldName('value') ?? stmt.namedChildren.find((c) => c && c.type !== 'comment');
        addValue(['default'], value);
      } else {
        const clause = stmt.namedChildren.find((c) => c?.type === 'export_clause');
        for (const spec of clause?.namedChildren ?? []) {
          if (spec?.type !== 'export_specifier') continue;
          const name = spec.childForFieldName('name');
          const alias = spec.childForFieldName('alias') ?? name;
          if (name && alias) addValue([alias.text], name);
        }
      }
      continue;
    }
    if (stmt.type !== 'expression_statement') continue;
    const e = unwrap(stmt.namedChild(0) ?? stmt);
    if (e.type !== 'assignment_expression') continue;
    const left = compact(e.childForFieldName('left') ?? e);
    const right = e.childForFieldName('right');
    if (left === 'module.exports') addValue([], right);
    else {
      const m = /^(?:module\.)?exports\.([\w$]+)$/.exec(left);
      if (m) addValue([m[1]], right);
    }
  }
  return out;
}

/**
 * The id the fact extractor gives a function (`facts/typescript/module-structure.ts`), so the
 * program model's call resolution finds its summary: a declaration's or `const f = …`'s name
 * (qualified by the functions around it), `Class.method`, `exports.x = function` → `x`.
 */
export function factIdOf(fn: Node): string | undefined {
  const parent = fn.parent;
  let own: string | undefined;
  if (fn.type === 'function_declaration' || fn.type === 'generator_function_declaration') own = fn.childForFieldName('name')?.text;
  else if (fn.type === 'method_definition') {
    const cls = parent?.type === 'class_body' ? parent.parent : null;
    const className = cls?.childForFieldName('name')?.text;
    const name = fn.childForFieldName('name')?.text;
    return className && name && (cls?.type === 'class_declaration' || cls?.type === 'class') ? `${className}.${name}` : undefined;
  } else if (parent?.type === 'variable_declarator' && parent.childForFieldName('name')?.type === 'identifier') own = parent.childForFieldName('name')?.text;
  else if (parent?.type === 'assignment_expression') return /^(?:module\.)?exports\.([\w$]+)$/.exec(compact(parent.childForFieldName('left') ?? parent))?.[1];
  if (!own) return undefined;
  for (let n = parent; n; n = n.parent) {
    if (FUNCTION_TYPES.has(n.type) || n.type === 'method_definition') {
      const outer = factIdOf(n);
      return outer ? `${outer}.${own}` : undefined;
    }
  }
  return own;
}

/** `return name` (or an arrow's `=> name`), and the file exports something: it may hand a parameter back. */
export const PASS_THROUGH_PATTERN = /\breturn\s+[A-Za-z_$][\w$]*\s*(?:;|\}|\n)|=>\s*[A-Za-z_$][\w$]*\s*(?:;|,|\)|\n)/;
const EXPORTS_PATTERN = /\bexport\b|\bmodule\.exports\b|\bexports\.[A-Za-z_$]/;

/**
 * The file's exported functions that return one of their parameters as it is (a
 * pass-through: `export function ensureOpen(fd) { assertFd(fd); return fd; }`): for a caller
 * in another module, the handle it passes goes on in the result. Read from the top-level
 * statements and the returns of exported functions only; `at` is the return.
 */
export function passThroughParameters(tree: Tree, text: string, returns?: ReturnSummaries): UsedOnlyParameters[] {
  if (!PASS_THROUGH_PATTERN.test(text) || !EXPORTS_PATTERN.test(text)) return [];
  let exported: { path: string[]; fn: Node; name: string }[];
  if (returns) exported = returns.exportedFunctions();
  else {
    // The same classes as ReturnSummaries reads (its exported functions are these).
    const classes = new Map<string, Node>();
    for (const stmt of tree.rootNode.namedChildren) {
      const cls = stmt?.type === 'export_statement' ? stmt.namedChildren.find((c) => c?.type === 'class_declaration') : stmt?.type === 'class_declaration' ? stmt : undefined;
      const name = cls?.childForFieldName('name');
      if (cls && name) classes.set(name.text, cls);
    }
    exported = exportedFunctions(tree.rootNode, classes);
  }
  const out: UsedOnlyParameters[] = [];
  for (const { path, fn, name } of exported) {
    const names = parametersOf(fn).map((p) => parameterName(p));
    // Without parameters there is none to hand back.
    if (names.length === 0) continue;
    const parameters: number[] = [];
    const at = [];
    for (const value of returns ? returns.returnedValues(fn) : returnedValues(fn)) {
      const v = unwrap(value);
      const index = v.type === 'identifier' ? names.indexOf(v.text) : -1;
      if (index < 0 || parameters.includes(index)) continue;
      parameters.push(index);
      at.push(nodeRange(value.parent?.type === 'return_statement' ? value.parent : value));
    }
    if (parameters.length > 0) out.push({ exportPath: path, functionName: name, functionId: factIdOf(fn), parameters, range: nodeRange(fn.childForFieldName('name') ?? fn), at });
  }
  return out;
}
