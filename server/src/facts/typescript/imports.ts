/**
 * How the file reached Node's `fs` module: which local names are the `fs` namespace, the
 * promises namespace, or one of their functions. Covers ES imports (default, namespace,
 * named, aliased), `import fs = require('fs')`, `require('fs')` (plain, destructured,
 * `.promises`), `await import('fs')` and aliases such as `const fsp = fs.promises`.
 */
import type { Node } from '../../parsing/parser';
import { FS_MODULE_SPECIFIERS, FS_PROMISES_MEMBER, type FsModule } from '../../knowledge/typescript-handles';

/**
 * `promisified`: the local is `promisify(<fs function>)` (`const open = promisify(fs.open)`):
 * it takes the same arguments but the callback's result arrives as the promise's value.
 */
export type FsBinding = { kind: 'ns'; module: FsModule } | { kind: 'member'; module: FsModule; name: string; promisified?: boolean };

/** What a callee resolves to: an fs function, possibly wrapped by `util.promisify`. */
export interface FsFunction {
  module: FsModule;
  name: string;
  promisified?: boolean;
}

/** `promisify`, `util.promisify`, `BB.promisify` (Bluebird's has the same contract). */
function isPromisifyCallee(callee: Node | null): boolean {
  if (!callee) return false;
  if (callee.type === 'identifier') return callee.text === 'promisify';
  return callee.type === 'member_expression' && callee.childForFieldName('property')?.text === 'promisify';
}

function stringValue(node: Node | null): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  const t = node.text;
  return t.length >= 2 ? t.slice(1, -1) : undefined;
}

function unwrap(node: Node): Node {
  let n = node;
  for (;;) {
    const t = n.type;
    if (t === 'parenthesized_expression' || t === 'non_null_expression' || t === 'as_expression' || t === 'satisfies_expression' || t === 'await_expression') {
      const inner = n.namedChild(0);
      if (!inner) return n;
      n = inner;
    } else {
      return n;
    }
  }
}

export class FsBindings {
  readonly locals = new Map<string, FsBinding>();
  /**
   * Class properties bound to an fs function (`private open = fs.openSync`), called as
   * `this.open(…)`; a name bound to different values in two classes of the file is dropped.
   */
  readonly fields = new Map<string, FsFunction | null>();

  /**
   * `specifiers`: the import specifiers followed, to the module each loads (`fs`, and the
   * modules of the user's models; default: Node's file-system module alone).
   */
  constructor(private readonly specifiers: Readonly<Record<string, FsModule>> = FS_MODULE_SPECIFIERS) {}

  get isEmpty(): boolean {
    return this.locals.size === 0 && this.fields.size === 0;
  }

  /** `private open = fs.openSync;` / `openFd = fs.promises.open` (a class property; JS `field_definition`). */
  addClassField(field: Node): void {
    const name = field.childForFieldName('name') ?? field.childForFieldName('property');
    const value = field.childForFieldName('value');
    if (!name || !value || name.type !== 'property_identifier') return;
    const fn = this.resolveFunctionValue(value);
    if (!fn) return;
    const known = this.fields.get(name.text);
    if (known === undefined) this.fields.set(name.text, fn);
    else if (known && (known.module !== fn.module || known.name !== fn.name || !!known.promisified !== !!fn.promisified)) this.fields.set(name.text, null);
  }

  /** The fs function `this.<name>` is bound to, if a class property of the file binds it. */
  fieldFunction(name: string): FsFunction | undefined {
    return this.fields.get(name) ?? undefined;
  }

  /** Reads the module-level imports and declarations of a program (`root` = the tree's root). */
  addModuleLevel(root: Node): void {
    for (const stmt of root.namedChildren) {
      if (!stmt) continue;
      if (stmt.type === 'import_statement') this.addImport(stmt);
      else if (stmt.type === 'lexical_declaration' || stmt.type === 'variable_declaration') {
        for (const d of stmt.namedChildren) if (d?.type === 'variable_declarator') this.addDeclarator(d);
      }
    }
  }

  /** `import … from 'fs'` and `import fs = require('fs')`. */
  addImport(stmt: Node): void {
    let clause: Node | null = null;
    for (const c of stmt.children) {
      if (!c) continue;
      if (c.type === 'type' && !c.isNamed) return; // `import type …` binds no value
      if (c.type === 'import_clause') clause = c;
      if (c.type === 'import_require_clause') {
        const id = c.namedChild(0);
        const src = stringValue(c.childForFieldName('source'));
        const mod = src !== undefined ? this.specifiers[src] : undefined;
        if (id?.type === 'identifier' && mod) this.locals.set(id.text, { kind: 'ns', module: mod });
        return;
      }
    }
    const source = stringValue(stmt.childForFieldName('source'));
    const module = source !== undefined ? this.specifiers[source] : undefined;
    if (!module || !clause) return;
    for (const c of clause.namedChildren) {
      if (!c) continue;
      if (c.type === 'identifier') this.locals.set(c.text, { kind: 'ns', module });
      else if (c.type === 'namespace_import') {
        const id = c.namedChild(0);
        if (id) this.locals.set(id.text, { kind: 'ns', module });
      } else if (c.type === 'named_imports') {
        for (const spec of c.namedChildren) {
          if (spec?.type !== 'import_specifier') continue;
          const name = spec.childForFieldName('name');
          const alias = spec.childForFieldName('alias') ?? name;
          if (!name || !alias) continue;
          this.bindMember(alias.text, module, name.text);
        }
      }
    }
  }

  private bindMember(local: string, module: FsModule, name: string): void {
    if (name === 'default') this.locals.set(local, { kind: 'ns', module });
    else if (module === 'fs' && name === FS_PROMISES_MEMBER) this.locals.set(local, { kind: 'ns', module: 'fs/promises' });
    else this.locals.set(local, { kind: 'member', module, name });
  }

  /** `const fs = require('fs')`, `const { openSync } = require('node:fs')`, `const fsp = fs.promises`. */
  addDeclarator(decl: Node): void {
    const value = decl.childForFieldName('value');
    const name = decl.childForFieldName('name');
    if (!value || !name) return;
    const module = this.namespaceOf(value);
    if (!module) {
      if (name.type === 'identifier') this.addFunctionAlias(name.text, value);
      return;
    }
    if (name.type === 'identifier') {
      this.locals.set(name.text, { kind: 'ns', module });
      return;
    }
    if (name.type !== 'object_pattern') return;
    for (const p of name.namedChildren) {
      if (!p) continue;
      if (p.type === 'shorthand_property_identifier_pattern') this.bindMember(p.text, module, p.text);
      else if (p.type === 'pair_pattern') {
        const key = p.childForFieldName('key');
        const val = p.childForFieldName('value');
        if (key && val?.type === 'identifier') this.bindMember(val.text, module, key.text);
      }
    }
  }

  /**
   * `const createReadStream = require('graceful-fs').createReadStream` and
   * `const open = promisify(fs.open)`: a local name for one fs function, plain or promisified.
   */
  private addFunctionAlias(local: string, value: Node): void {
    const fn = this.resolveFunctionValue(value);
    if (fn) this.locals.set(local, { kind: 'member', module: fn.module, name: fn.name, ...(fn.promisified ? { promisified: true } : {}) });
  }

  /** An expression whose value is an fs function: `fs.open`, `require('fs').open`, `promisify(fs.open)`. */
  resolveFunctionValue(expr: Node): FsFunction | undefined {
    const n = unwrap(expr);
    if (n.type === 'call_expression') {
      if (!isPromisifyCallee(n.childForFieldName('function'))) return undefined;
      const args = n.childForFieldName('arguments')?.namedChildren.filter((a) => a && a.type !== 'comment') ?? [];
      const inner = args.length === 1 && args[0] ? this.resolveFunctionValue(args[0]) : undefined;
      return inner && !inner.promisified ? { ...inner, promisified: true } : undefined;
    }
    return this.resolveCallee(n);
  }

  /** Is this expression one of the fs namespaces? (`fs`, `fs.promises`, `require('fs')`, …) */
  namespaceOf(expr: Node): FsModule | undefined {
    const n = unwrap(expr);
    if (n.type === 'identifier') {
      const b = this.locals.get(n.text);
      return b?.kind === 'ns' ? b.module : undefined;
    }
    if (n.type === 'member_expression') {
      const obj = n.childForFieldName('object');
      const prop = n.childForFieldName('property');
      if (obj && prop?.text === FS_PROMISES_MEMBER && this.namespaceOf(obj) === 'fs') return 'fs/promises';
      return undefined;
    }
    if (n.type === 'call_expression') {
      const fn = n.childForFieldName('function');
      if (!fn || !(fn.type === 'import' || (fn.type === 'identifier' && fn.text === 'require'))) return undefined;
      const args = n.childForFieldName('arguments');
      return this.specifiers[stringValue(args?.namedChild(0) ?? null) ?? ''];
    }
    return undefined;
  }

  /**
   * The fs function a callee denotes, if any: `fs.openSync`, `openSync`, `fs.promises.open`,
   * and a promisified one (`promisify(fs.open)`, or a local bound to it), marked so.
   */
  resolveCallee(callee: Node): FsFunction | undefined {
    const n = unwrap(callee);
    if (n.type === 'identifier') {
      const b = this.locals.get(n.text);
      if (b?.kind !== 'member') return undefined;
      return b.promisified ? { module: b.module, name: b.name, promisified: true } : { module: b.module, name: b.name };
    }
    if (n.type === 'call_expression') return this.resolveFunctionValue(n);
    if (n.type === 'member_expression') {
      const obj = n.childForFieldName('object');
      const prop = n.childForFieldName('property');
      if (!obj || !prop || prop.type !== 'property_identifier') return undefined;
      if (obj.type === 'this') return this.fieldFunction(prop.text);
      const module = this.namespaceOf(obj);
      return module ? { module, name: prop.text } : undefined;
    }
    return undefined;
  }

  /** A local name for the `fs` namespace (for writing `fs.closeSync(fd)` in a fix). */
  namespaceName(module: FsModule): string | undefined {
    for (const [local, b] of this.locals) if (b.kind === 'ns' && b.module === module) return local;
    return undefined;
  }

  /** The local name a module function was imported as (`closeSync`), if it was. */
  memberName(module: FsModule, name: string): string | undefined {
    for (const [local, b] of this.locals) if (b.kind === 'member' && !b.promisified && b.module === module && b.name === name) return local;
    return undefined;
  }
}
