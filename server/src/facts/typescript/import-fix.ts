/**
 * The imports a fix adds: making names from Node's built-in modules exist in a TypeScript or
 * JavaScript file, in the file's own style. The one place that writes imports, for the
 * `pipeline(…)` rewrite (`analysis/typescript/pipeline-fix.ts`) and the non-blocking variants
 * of blocking calls (`heartbeats-and-blocking.ts`).
 *
 * - A name joins an existing named import of its module (`import { a, name } from 'fs'`), or
 *   in a CommonJS file its `require` destructuring (`const { a, name } = require('fs')`);
 *   otherwise a new statement goes after the last import (ES) or `require` declaration
 *   (CommonJS), or before the first statement (after comments, a `#!` line and directives).
 * - CommonJS or ES: `.cjs` and `.mjs` files are what their extension says; otherwise a file
 *   that calls `require()` and has no `import`, `export … from` or `export { … }` is CommonJS. A new `require` keeps
 *   the `var` of the file's last one.
 * - The specifier is `node:x` when the file already writes `node:` specifiers and the bare
 *   `x` otherwise (which every Node.js version resolves).
 * - Line endings follow the file (CRLF when it has any).
 * - A name already declared or used in the file gets an alias made of the module and the
 *   name (`pipeline as streamPipeline`, then `streamPipeline2`, …).
 * Whether the file already has a name is the callers' question (`FileImports.statements`
 * lists the top-level bindings; the fact extractor's `file-symbols.ts` has its own).
 */
import type { Position } from '../../text/locations';
import type { TextEdit } from '../../text/edits';
import { nodeRange, type Node } from '../../parsing/parser';

/** One top-level `import` or `require` declaration, as the callers need it. */
export interface ModuleStatement {
  stmt: Node;
  specifier: string;
  kind: 'import' | 'require';
  /** `import type …`: binds no value. */
  typeOnly: boolean;
  /** `require('x').member`: the bindings are of that member, not of the module. */
  member?: string;
  /** Local names in order: `name` is the exported name, `*` the namespace, `default`. Type-only specifiers are left out. */
  bindings: { local: string; name: string }[];
  /** The `{ … }` a name can join: `named_imports`, or the `object_pattern` of a `require`. */
  list?: Node;
}

/** Does a specifier name the built-in `module` (`fs`, `node:fs`)? */
export function isBuiltinSpecifier(specifier: string, module: string): boolean {
  return specifier === module || specifier === `node:${module}`;
}

function stringValue(node: Node | null | undefined): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  return node.text.slice(1, -1);
}

function hasKeyword(node: Node, keyword: string): boolean {
  return node.children.some((c) => c?.type === keyword && !c.isNamed);
}

const WRAPPERS: ReadonlySet<string> = new Set(['parenthesized_expression', 'as_expression', 'satisfies_expression', 'non_null_expression']);

/** `require('x')` → `x` (also `require('x') as typeof import('x')`). */
function requiredModule(node: Node | null | undefined): string | undefined {
  let value = node;
  while (value && WRAPPERS.has(value.type)) value = value.namedChild(0);
  if (value?.type !== 'call_expression') return undefined;
  const fn = value.childForFieldName('function');
  if (fn?.type !== 'identifier' || fn.text !== 'require') return undefined;
  return stringValue(value.childForFieldName('arguments')?.namedChild(0));
}

function isDirective(stmt: Node): boolean {
  return stmt.type === 'expression_statement' && stmt.namedChild(0)?.type === 'string';
}

function insertAt(node: Node, where: 'start' | 'end', newText: string): TextEdit {
  const r = nodeRange(node);
  const p = where === 'start' ? r.start : r.end;
  return { range: { start: p, end: p }, newText };
}

function importStatement(stmt: Node): ModuleStatement | undefined {
  let req: Node | undefined;
  let clause: Node | undefined;
  for (const c of stmt.namedChildren) {
    if (c?.type === 'import_require_clause') req = c;
    else if (c?.type === 'import_clause') clause = c;
  }
  const specifier = stringValue(stmt.childForFieldName('source')) ?? stringValue(req?.childForFieldName('source'));
  if (specifier === undefined) return undefined;
  const out: ModuleStatement = { stmt, specifier, kind: 'import', typeOnly: hasKeyword(stmt, 'type'), bindings: [] };
  if (req) {
    const id = req.namedChild(0);
    if (id?.type === 'identifier') out.bindings.push({ local: id.text, name: '*' });
    return out;
  }
  for (const c of clause?.namedChildren ?? []) {
    if (!c) continue;
    if (c.type === 'identifier') out.bindings.push({ local: c.text, name: 'default' });
    else if (c.type === 'namespace_import') {
      const id = c.namedChild(0);
      if (id) out.bindings.push({ local: id.text, name: '*' });
    } else if (c.type === 'named_imports') {
      out.list ??= c;
      for (const s of c.namedChildren) {
        if (s?.type !== 'import_specifier' || hasKeyword(s, 'type')) continue;
        const name = s.childForFieldName('name')?.text;
        const alias = s.childForFieldName('alias')?.text ?? name;
        if (name && alias) out.bindings.push({ local: alias, name });
      }
    }
  }
  return out;
}

/** The `require` declarators of a top-level `const`/`let`/`var`. */
function requireStatements(stmt: Node): ModuleStatement[] {
  const out: ModuleStatement[] = [];
  for (const d of stmt.namedChildren) {
    if (d?.type !== 'variable_declarator') continue;
    const value = d.childForFieldName('value');
    const name = d.childForFieldName('name');
    let specifier = requiredModule(value);
    let member: string | undefined;
    let v = value;
    while (v && WRAPPERS.has(v.type)) v = v.namedChild(0);
    if (specifier === undefined && v?.type === 'member_expression') {
      specifier = requiredModule(v.childForFieldName('object'));
      member = v.childForFieldName('property')?.text ?? '';
    }
    if (specifier === undefined) continue;
    const s: ModuleStatement = { stmt, specifier, kind: 'require', typeOnly: false, bindings: [] };
    if (member !== undefined) s.member = member;
    if (name?.type === 'identifier') s.bindings.push({ local: name.text, name: member ?? '*' });
    else if (name?.type === 'object_pattern' && member === undefined) {
      s.list = name;
      for (const p of name.namedChildren) {
        if (p?.type === 'shorthand_property_identifier_pattern') s.bindings.push({ local: p.text, name: p.text });
        else if (p?.type === 'pair_pattern') {
          const key = p.childForFieldName('key');
          const v = p.childForFieldName('value');
          if (key && v?.type === 'identifier') s.bindings.push({ local: v.text, name: key.text });
        }
      }
    }
    out.push(s);
  }
  return out;
}

/** What the whole file says: the names it uses, and whether it is written as an ES module or CommonJS. */
export interface FileSyntax {
  taken: Set<string>;
  esm: boolean;
  requires: boolean;
}

function readSyntax(root: Node): FileSyntax {
  const out: FileSyntax = { taken: new Set(), esm: false, requires: false };
  const cursor = root.walk();
  try {
    for (;;) {
      const t = cursor.nodeType;
      if (t === 'identifier' || t === 'shorthand_property_identifier_pattern' || t === 'shorthand_property_identifier' || t === 'type_identifier') out.taken.add(cursor.currentNode.text);
      else if (t === 'import_statement') out.esm = true;
      else if (t === 'export_statement' && !out.esm) {
        // `export … from 'x'` and `export { a }` (not `export type { T }`). NOTE: an exported
        // declaration is no sign: TypeScript compiles `export function` to CommonJS as well.
        const n = cursor.currentNode;
        if (!hasKeyword(n, 'type') && (n.childForFieldName('source') || n.namedChildren.some((c) => c?.type === 'export_clause'))) out.esm = true;
      } else if (t === 'call_expression' && !out.requires) {
        const n = cursor.currentNode;
        const f = n.childForFieldName('function');
        const arg = n.childForFieldName('arguments')?.namedChildren.find((c) => c && c.type !== 'comment');
        if (f?.type === 'identifier' && f.text === 'require' && (arg?.type === 'string' || (arg?.type === 'template_string' && arg.namedChildCount === 0))) out.requires = true;
      }
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return out;
    }
  } finally {
    cursor.delete();
  }
}

function camelCase(module: string): string {
  return module.replace(/[/_-]+(\w)/g, (_m, c: string) => c.toUpperCase());
}

/** The top-level imports and requires of one file, read once; {@link plan} adds names. */
export class FileImports {
  /** Top-level `import` statements and `require` declarations, in order. */
  readonly statements: ModuleStatement[] = [];
  private read?: FileSyntax;

  constructor(
    readonly root: Node,
    readonly text: string,
    /** The file's path (`.cjs`/`.mjs` decide the module system). */
    readonly path: string,
  ) {
    for (const stmt of root.namedChildren) {
      if (!stmt) continue;
      if (stmt.type === 'import_statement') {
        const s = importStatement(stmt);
        if (s) this.statements.push(s);
        else this.statements.push({ stmt, specifier: '', kind: 'import', typeOnly: hasKeyword(stmt, 'type'), bindings: [] });
      } else if (stmt.type === 'lexical_declaration' || stmt.type === 'variable_declaration') {
        this.statements.push(...requireStatements(stmt));
      }
    }
  }

  /** A new set of names to add (one fix's). */
  plan(): ImportPlan {
    return new ImportPlan(this);
  }

  /** The names the file uses and its module syntax: a walk over the whole tree, made once, when a name is added. */
  get syntax(): FileSyntax {
    return (this.read ??= readSyntax(this.root));
  }
}

/** The names one fix imports, and the edits that make them exist. */
export class ImportPlan {
  private readonly wanted: { module: string; name: string; local: string }[] = [];
  private readonly mine = new Set<string>();

  constructor(private readonly file: FileImports) {}

  /** The file is written as CommonJS: new names come from `require()` (which TypeScript types as `any`). */
  get commonJs(): boolean {
    const path = this.file.path;
    if (/\.cjs$/i.test(path)) return true;
    if (/\.mjs$/i.test(path)) return false;
    return !this.file.syntax.esm && this.file.syntax.requires;
  }

  /** Imports `name` from the built-in `module`: the local name the fixed code calls it by. */
  name(module: string, name: string): string {
    const taken = (n: string) => this.file.syntax.taken.has(n) || this.mine.has(n);
    let local = name;
    const base = `${camelCase(module)}${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    for (let k = 1; taken(local); k++) local = k === 1 ? base : `${base}${k}`;
    this.mine.add(local);
    this.wanted.push({ module, name, local });
    return local;
  }

  /** The edits that add the imported names; undefined when the file has no statement to put an import before. */
  edits(): TextEdit[] | undefined {
    if (this.wanted.length === 0) return [];
    const { root, text } = this.file;
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const cjs = this.commonJs;
    const statements = this.file.statements;
    const nodePrefix = statements.some((s) => s.specifier.startsWith('node:'));
    const edits: TextEdit[] = [];
    const fresh = new Map<string, string[]>();
    for (const w of this.wanted) {
      const target = statements.find((s) => !s.typeOnly && s.list && s.kind === (cjs ? 'require' : 'import') && isBuiltinSpecifier(s.specifier, w.module));
      if (target?.list) {
        edits.push(this.join(target, w.name, w.local));
        continue;
      }
      const item = w.local === w.name ? w.name : cjs ? `${w.name}: ${w.local}` : `${w.name} as ${w.local}`;
      fresh.set(w.module, [...(fresh.get(w.module) ?? []), item]);
    }
    if (fresh.size === 0) return edits;
    const lines: string[] = [];
    const lastRequire = [...statements].reverse().find((s) => s.kind === 'require');
    const keyword = lastRequire?.stmt.child(0)?.type === 'var' ? 'var' : 'const';
    for (const [module, items] of fresh) {
      const specifier = `'${nodePrefix ? `node:${module}` : module}'`;
      lines.push(cjs ? `${keyword} { ${items.join(', ')} } = require(${specifier});` : `import { ${items.join(', ')} } from ${specifier};`);
    }
    const anchor = [...statements].reverse().find((s) => s.kind === (cjs ? 'require' : 'import'));
    if (anchor) {
      edits.push(insertAt(anchor.stmt, 'end', lines.map((l) => `${eol}${l}`).join('')));
      return edits;
    }
    const first = root.namedChildren.find((c) => !!c && c.type !== 'comment' && c.type !== 'hash_bang_line' && !isDirective(c));
    if (!first) return undefined;
    const at: Position = { line: first.startPosition.row, character: 0 };
    edits.push({ range: { start: at, end: at }, newText: lines.map((l) => `${l}${eol}`).join('') });
    return edits;
  }

  /** `{ a }` → `{ a, name }` (`name as local` / `name: local` when aliased). */
  private join(target: ModuleStatement, name: string, local: string): TextEdit {
    const list = target.list!;
    const require = target.kind === 'require';
    const item = local === name ? name : require ? `${name}: ${local}` : `${name} as ${local}`;
    const entries = list.namedChildren.filter((c): c is Node => !!c && (require ? c.type !== 'comment' : c.type === 'import_specifier'));
    // A rest element (`...others`) must stay last.
    const rest = entries.find((c) => c.type === 'rest_pattern');
    const before = entries.filter((c) => c.type !== 'rest_pattern');
    const last = before[before.length - 1];
    if (last) return insertAt(last, 'end', `, ${item}`);
    if (rest) return insertAt(rest, 'start', `${item}, `);
    return insertAt(list.child(0)!, 'end', ` ${item} `);
  }
}
