/**
 * The module structure of one TypeScript/JavaScript file, read during the walk: its imports
 * (ES `import`/`export … from`, `require`, literal dynamic `import()`, `import x = require()`),
 * its exports (ES and CommonJS), and its functions and classes with their ids and the names
 * they are exported under. Facts go straight to the fact list; functions, classes and import
 * bindings go to `FileSymbols` for the resolution after the walk. Where a node sits (the
 * enclosing function and class) comes from the walk through `Scope`.
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { WordPositions } from '../../text/positions';
import type { TsBinding, TsFact, TsFactBase, TsFunctionFact, TsImportFact } from './fact-types';
import type { FileSymbols } from './file-symbols';
import { FUNCTION_NODE_TYPES as FUNCTION_TYPES, anonId, hasAnonChild, lastType, requireLocal, stringValue, unwrap } from './syntax';

/** What the structure visitors read of the walk's position. */
export interface Scope {
  /** Id of the innermost enclosing function (`''`: module level). */
  fnId(): string;
  /** Name of the innermost enclosing class. */
  className(): string | undefined;
  /** A fact base for `node` at the current position. */
  base(node: Node): TsFactBase;
}

const EXPORTS_TARGET = /^(?:module\.)?exports(?:\.([A-Za-z_$][\w$]*))?$/;

export class ModuleStructure {
  /** The file mentions `export` (an `export_statement` may hold a declaration). */
  private readonly mayExport: boolean;

  constructor(
    private readonly scope: Scope,
    private readonly symbols: FileSymbols,
    private readonly facts: TsFact[],
    private readonly text: string,
  ) {
    this.mayExport = text.includes('export');
  }

  /** A class: recorded (and exported when its statement exports it); returns its name. */
  visitClass(node: Node): string {
    const name = node.childForFieldName('name')?.text ?? anonId(node);
    this.symbols.classes.add(name);
    const heritage = node.namedChildren.find((c) => c?.type === 'class_heritage');
    const base = heritage ? /^\s*extends\s+([\w$]+(?:\.[\w$]+)*)/.exec(heritage.text)?.[1] : undefined;
    if (base) this.facts.push({ kind: 'ts.class', ...this.scope.base(node), range: nodeRange(node.childForFieldName('name') ?? node), name, base });
    if (node.parent?.type === 'export_statement') {
      this.symbols.exportedClasses.add(name);
      this.facts.push({ kind: 'ts.export', ...this.scope.base(node), range: nodeRange(node.childForFieldName('name') ?? node), name: hasAnonChild(node.parent, 'default') ? 'default' : name, local: name });
    }
    return name;
  }

  private qualify(name: string): string {
    const parent = this.scope.fnId();
    return parent ? `${parent}.${name}` : name;
  }

  /** A function: its fact, recorded in the symbols; returns its id. */
  visitFunction(node: Node): string {
    const parentId = this.scope.fnId();
    let name: string | undefined;
    let id: string | undefined;
    let cls: string | undefined;
    const exports: string[] = [];
    let api = false;
    const parent = node.parent;
    const parentType = parent ? parent.type : undefined;
    const type = node.type;
    if (type === 'function_declaration' || type === 'generator_function_declaration') {
      name = node.childForFieldName('name')?.text;
      if (name) id = this.qualify(name);
      if (parent && parentType === 'export_statement' && name) exports.push(hasAnonChild(parent, 'default') ? 'default' : name);
    } else if (type === 'method_definition') {
      name = node.childForFieldName('name')?.text;
      const c = parentType === 'class_body' ? this.scope.className() : undefined;
      if (c && name) {
        cls = c;
        id = `${c}.${name}`;
        api = this.symbols.exportedClasses.has(c);
      } else if (parent && name && parentType === 'object') this.objectExport(parent, name, exports);
    } else if (parent) {
      // Function and arrow expressions take the name of what holds them.
      if (parentType === 'variable_declarator') {
        const n = parent.childForFieldName('name');
        if (n?.type === 'identifier') {
          name = n.text;
          id = this.qualify(name);
          if (this.mayExport && parent.parent?.parent?.type === 'export_statement') exports.push(name);
        }
      } else if (parentType === 'public_field_definition') {
        const c = this.scope.className();
        const n = parent.childForFieldName('name')?.text;
        if (c && n) {
          name = n;
          cls = c;
          id = `${c}.${n}`;
          api = this.symbols.exportedClasses.has(c);
        }
      } else if (parentType === 'assignment_expression') {
        const m = EXPORTS_TARGET.exec(parent.childForFieldName('left')?.text ?? '');
        if (m) {
          if (m[1]) {
            name = m[1];
            id = m[1];
          }
          exports.push(m[1] ?? 'default');
        }
      } else if (parentType === 'pair') {
        const key = parent.childForFieldName('key')?.text;
        if (key && parent.parent?.type === 'object') this.objectExport(parent.parent, key, exports);
      }
    }
    if (parent && !exports.length && parentType === 'export_statement' && hasAnonChild(parent, 'default')) exports.push('default');
    if (!id || this.symbols.functions.has(id)) id = id ? `${id}${anonId(node)}` : anonId(node);
    const fact: TsFunctionFact = { kind: 'ts.function', ...this.scope.base(node), id, parent: parentId };
    if (name) fact.name = name;
    if (cls) fact.className = cls;
    const end = node.endIndex;
    // `async` is a keyword child: only look when the word occurs in the function's text.
    if (this.occursIn('async', node.startIndex, end) && hasAnonChild(node, 'async')) fact.async = true;
    if (exports.length) fact.exports = exports;
    if (api) fact.exportedClassMethod = true;
    // The fact's range is the function's head (up to its body), not the whole body.
    const body = node.childForFieldName('body');
    if (body) fact.range = { start: fact.range.start, end: { line: body.startPosition.row, character: body.startPosition.column } };
    this.facts.push(fact);
    this.symbols.addFunction(fact, node);
    this.parameterDefaults(node, id);
    return id;
  }

  /**
   * Parameters whose default value names a function (`run = defaultRun`, `{ clock = realClock,
   * read = () => … } = {}`): a call of the parameter runs the default when the caller passes
   * nothing, the injection seam of code written for tests.
   */
  private parameterDefaults(fn: Node, id: string): void {
    const params = fn.childForFieldName('parameters');
    if (!params || !params.text.includes('=')) return;
    const found = new Map<string, Node>();
    const visit = (n: Node, depth: number): void => {
      if (depth > 6 || FUNCTION_TYPES.has(n.type)) return;
      let name: Node | null = null;
      let value: Node | null = null;
      if (n.type === 'assignment_pattern' || n.type === 'object_assignment_pattern') {
        name = n.childForFieldName('left');
        value = n.childForFieldName('right');
      } else if (n.type === 'required_parameter' || n.type === 'optional_parameter') {
        name = n.childForFieldName('pattern');
        value = n.childForFieldName('value');
      }
      if (name && value && (name.type === 'identifier' || name.type === 'shorthand_property_identifier_pattern')) {
        const v = unwrap(value);
        const vt = lastType;
        if (vt === 'identifier' || vt === 'member_expression' || FUNCTION_TYPES.has(vt)) found.set(name.text, v);
        return;
      }
      for (const c of n.namedChildren) if (c) visit(c, depth + 1);
    };
    visit(params, 0);
    if (found.size) this.symbols.parameterDefaults.set(id, found);
  }

  /** Where words occur in the file, for text pre-checks of node ranges. */
  private words?: WordPositions;

  private occursIn(word: string, start: number, end: number): boolean {
    this.words ??= new WordPositions(this.text);
    return this.words.occursIn(word, start, end);
  }

  /** A method or property of the object assigned to `module.exports` is exported under its key. */
  private objectExport(obj: Node, key: string, exports: string[]): void {
    const a = obj.parent;
    if (a?.type === 'assignment_expression' && /^(?:module\.)?exports$/.test(a.childForFieldName('left')?.text ?? '')) exports.push(key);
  }

  visitImport(node: Node): void {
    const bindings: TsBinding[] = [];
    let specifier: string | undefined;
    for (const c of node.children) {
      if (!c) continue;
      if (c.type === 'type' && !c.isNamed) return; // `import type …` loads nothing at run time
      if (c.type === 'import_require_clause') {
        const id = c.namedChild(0);
        specifier = stringValue(c.childForFieldName('source'));
        if (id?.type === 'identifier') bindings.push({ local: id.text, name: '*' });
      } else if (c.type === 'import_clause') {
        for (const k of c.namedChildren) {
          if (!k) continue;
          if (k.type === 'identifier') bindings.push({ local: k.text, name: 'default' });
          else if (k.type === 'namespace_import') {
            const id = k.namedChild(0);
            if (id) bindings.push({ local: id.text, name: '*' });
          } else if (k.type === 'named_imports') {
            const specs = k.namedChildren;
            let kEnd = -1;
            for (let i = 0; i < specs.length; i++) {
              const s = specs[i];
              if (s?.type !== 'import_specifier') continue;
              // `import { type T }`: look for the keyword only when the word is there.
              const next = i + 1 < specs.length ? specs[i + 1] : null;
              const bound = next ? next.startIndex : kEnd < 0 ? (kEnd = k.endIndex) : kEnd;
              if (this.occursIn('type', s.startIndex, bound) && hasAnonChild(s, 'type')) continue;
              const n = s.childForFieldName('name');
              const a = s.childForFieldName('alias') ?? n;
              if (n && a) bindings.push({ local: a.text, name: n.text });
            }
          }
        }
      }
    }
    specifier ??= stringValue(node.childForFieldName('source'));
    if (specifier === undefined) return;
    this.addImport(node, specifier, bindings);
  }

  private addImport(node: Node, specifier: string, bindings: TsBinding[], extra: Partial<TsImportFact> = {}): void {
    for (const b of bindings) this.symbols.bindings.set(b.local, { specifier, name: b.name });
    this.facts.push({ kind: 'ts.import', ...this.scope.base(node), specifier, bindings, ...extra });
  }

  visitExport(node: Node): void {
    if (hasAnonChild(node, 'type')) return;
    const source = stringValue(node.childForFieldName('source'));
    const clause = node.namedChildren.find((c) => c?.type === 'export_clause') ?? null;
    if (source !== undefined) {
      if (!clause) {
        const ns = node.namedChildren.find((c) => c?.type === 'namespace_export');
        this.addImport(node, source, [], ns ? {} : { star: true });
        return;
      }
      const reexports: { name: string; as: string }[] = [];
      for (const s of clause.namedChildren) {
        if (s?.type !== 'export_specifier') continue;
        const n = s.childForFieldName('name');
        const a = s.childForFieldName('alias') ?? n;
        if (n && a) reexports.push({ name: n.text, as: a.text });
      }
      this.addImport(node, source, [], { reexports });
      return;
    }
    if (clause) {
      for (const s of clause.namedChildren) {
        if (s?.type !== 'export_specifier') continue;
        const n = s.childForFieldName('name');
        const a = s.childForFieldName('alias') ?? n;
        if (n && a) this.facts.push({ kind: 'ts.export', ...this.scope.base(s), name: a.text, local: n.text });
      }
      return;
    }
    const value = node.childForFieldName('value');
    if (value?.type === 'identifier' && hasAnonChild(node, 'default')) this.facts.push({ kind: 'ts.export', ...this.scope.base(value), name: 'default', local: value.text });
  }

  visitAssignment(node: Node): void {
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    if (!left || !right) return;
    const m = EXPORTS_TARGET.exec(left.text);
    if (!m) return;
    const r = unwrap(right);
    if (r.type === 'identifier') {
      this.facts.push({ kind: 'ts.export', ...this.scope.base(node), name: m[1] ?? 'default', local: r.text });
    } else if (r.type === 'object' && !m[1]) {
      for (const p of r.namedChildren) {
        if (!p) continue;
        if (p.type === 'shorthand_property_identifier') this.facts.push({ kind: 'ts.export', ...this.scope.base(p), name: p.text, local: p.text });
        else if (p.type === 'pair') {
          const key = p.childForFieldName('key');
          const val = p.childForFieldName('value');
          if (key && val?.type === 'identifier') this.facts.push({ kind: 'ts.export', ...this.scope.base(p), name: key.text, local: val.text });
        }
      }
    }
  }

  visitRequire(node: Node, specifier: string, dynamic: boolean): void {
    let p = node.parent;
    while (p && (p.type === 'await_expression' || p.type === 'parenthesized_expression' || p.type === 'as_expression')) p = p.parent;
    const bindings: TsBinding[] = [];
    let extra: Partial<TsImportFact> = {};
    if (p?.type === 'variable_declarator') {
      const n = p.childForFieldName('name');
      if (n?.type === 'identifier') bindings.push({ local: n.text, name: '*' });
      else if (n?.type === 'object_pattern') {
        for (const c of n.namedChildren) {
          if (c?.type === 'shorthand_property_identifier_pattern') bindings.push({ local: c.text, name: c.text });
          else if (c?.type === 'pair_pattern') {
            const k = c.childForFieldName('key');
            const v = c.childForFieldName('value');
            if (k && v?.type === 'identifier') bindings.push({ local: v.text, name: k.text });
          }
        }
      }
    } else if (p?.type === 'member_expression' && p.parent?.type === 'variable_declarator') {
      const prop = p.childForFieldName('property')?.text;
      const n = p.parent.childForFieldName('name');
      if (prop && n?.type === 'identifier') bindings.push({ local: n.text, name: prop });
    } else if (!dynamic && p?.type === 'assignment_expression' && p.childForFieldName('right')?.id === node.id) {
      // `module.exports = require('./impl')` re-exports everything; `exports.f = require('./f')` one name.
      const m = EXPORTS_TARGET.exec(p.childForFieldName('left')?.text ?? '');
      if (m) extra = m[1] ? { reexports: [{ name: 'default', as: m[1] }] } : { star: true };
    } else if (!dynamic && p && (p.type === 'member_expression' || p.type === 'call_expression')) {
      // `require('./a').f()`, `require('./a')()`: the call graph knows the module by a made-up name.
      const local = requireLocal(node);
      if (local) bindings.push({ local, name: '*' });
    }
    this.addImport(node, specifier, bindings, dynamic ? {} : extra);
  }
}
