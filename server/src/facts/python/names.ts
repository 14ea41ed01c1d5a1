/**
 * Resolves the names a Python file calls to qualified names (`s.socket` → `socket.socket` after
 * `import socket as s`; `TF` → `tempfile.TemporaryFile` after `from tempfile import
 * TemporaryFile as TF`). Imports are collected file-wide, whatever the scope they appear in: a
 * function-local `from subprocess import Popen` is common, and a name imported in one function
 * and used in another with another meaning is rare enough to ignore.
 */
import type { Node, Tree } from '../../parsing/parser';
import { escapeRegExp, lineLocalMatches } from '../../text/regexp';

/**
 * An import statement's line (`import m`, `from m import x`); {@link IMPORT_WORDS}: the words every such line spells.
 * (Also how the incremental handle analysis tells whether an edit changed the table's imports.)
 */
export const IMPORT_LINE = /^[ \t]*(?:from|import)[ \t\\]/gm;
const IMPORT_WORDS = /from|import/g;
/** `m = importlib.import_module("m")` on a line of its own; {@link IMPORT_WORD}: the word every such line spells. */
const DYNAMIC_IMPORT_LINE = /^([A-Za-z_]\w*)[ \t]*=[ \t]*[\w.]*import\w*\([ \t]*['"]([\w.]+)['"]/gm;
const IMPORT_WORD = /import/g;

export class PyNames {
  /** local name → qualified name (a module, or `module.member`) */
  private readonly bindings = new Map<string, string>();
  /** local name → the model's canonical spelling of a relative import (`.store.open_blob`, `.x`) */
  private readonly relative = new Map<string, string>();
  /** modules imported with `from m import *` */
  private readonly wildcards: string[] = [];
  /** per name: bound at module level by `def`, `class` or assignment (it shadows a builtin) */
  private readonly shadowed = new Map<string, boolean>();

  /**
   * Import statements are found by a line regex and confirmed on the tree (a query would walk
   * the whole tree in every file; imports are a handful of lines).
   */
  constructor(tree: Tree, private readonly text: string, positionOf: (index: number) => { row: number; column: number }) {
    const root = tree.rootNode;
    // (Only the lines that spell `from` or `import` are read: a pattern anchored at line starts tries every offset of a whole text.)
    for (const { m, offset } of lineLocalMatches(text, IMPORT_LINE, IMPORT_WORDS)) {
      const keywordIndex = offset + m.index! + m[0].length - m[0].trimStart().length;
      let node: Node | null = root.descendantForPosition(positionOf(keywordIndex));
      for (let depth = 0; node && depth < 3; depth++, node = node.parent) {
        if (node.type === 'import_statement' || node.type === 'import_from_statement') {
          this.addImport(node);
          break;
        }
      }
    }
    // `asyncore = import_helper.import_module('asyncore')`, `m = importlib.import_module("m")`
    for (const { m } of lineLocalMatches(text, DYNAMIC_IMPORT_LINE, IMPORT_WORD)) this.bindings.set(m[1], canonicalModule(m[2]));
  }

  /** Whether `name` is bound by an import of this file (a module or a member of one). */
  isImported(name: string): boolean {
    return this.bindings.has(name);
  }

  /** Local names bound by imports (to extend the cheap text pre-check with aliases). */
  localNames(): IterableIterator<[string, string]> {
    return this.bindings.entries();
  }

  private addImport(node: Node): void {
    if (node.type === 'import_statement') {
      for (const child of node.childrenForFieldName('name')) {
        if (!child) continue;
        if (child.type === 'aliased_import') {
          const name = child.childForFieldName('name');
          const alias = child.childForFieldName('alias');
          if (name && alias) this.bindings.set(alias.text, canonicalModule(dotted(name)));
        } else if (child.type === 'dotted_name') {
          // `import os.path` binds `os`.
          const first = child.namedChild(0);
          if (first) this.bindings.set(first.text, canonicalModule(first.text));
        }
      }
      return;
    }
    const moduleNode = node.childForFieldName('module_name');
    if (!moduleNode) return;
    // Relative imports name workspace modules; they never resolve to a library opener.
    const module = moduleNode.type === 'relative_import' ? `.${moduleNode.text}` : canonicalModule(dotted(moduleNode));
    for (const child of node.namedChildren) {
      if (!child) continue;
      if (child.type === 'wildcard_import') this.wildcards.push(module);
    }
    for (const child of node.childrenForFieldName('name')) {
      if (!child) continue;
      if (child.type === 'aliased_import') {
        const name = child.childForFieldName('name');
        const alias = child.childForFieldName('alias');
        if (name && alias) this.bindings.set(alias.text, `${module}.${dotted(name)}`);
        if (name && alias && moduleNode.type === 'relative_import') this.relative.set(alias.text, joinRelative(moduleNode.text, dotted(name)));
      } else if (child.type === 'dotted_name') {
        this.bindings.set(child.text, `${module}.${dotted(child)}`);
        if (moduleNode.type === 'relative_import') this.relative.set(child.text, joinRelative(moduleNode.text, dotted(child)));
      }
    }
  }

  /**
   * The qualified name of an expression made of names and attributes, or null when it does not
   * start with a name (a call result, a subscript, ...). A name that is neither imported nor a
   * wildcard member is returned as written: it is a builtin, or a local/global of this file
   * (then prefixed with `.` when a module-level definition shadows a builtin of that name).
   */
  qualify(node: Node): string | null {
    if (node.type === 'identifier') return this.qualifyName(node.text);
    if (node.type === 'attribute') {
      const object = node.childForFieldName('object');
      const attribute = node.childForFieldName('attribute');
      if (!object || !attribute) return null;
      const base = this.qualify(object);
      return base === null ? null : `${base}.${attribute.text}`;
    }
    if (node.type === 'parenthesized_expression' && node.namedChildCount === 1) {
      const inner = node.namedChild(0);
      return inner ? this.qualify(inner) : null;
    }
    return null;
  }

  /**
   * The name an imported callee has in the workspace, spelled as the program model spells
   * imports (absolute `pkg.store.open_blob`, relative `.store.open_blob`), or null when the
   * expression does not start with an imported name.
   */
  importedName(node: Node): string | null {
    if (node.type === 'identifier') return this.relative.get(node.text) ?? this.bindings.get(node.text) ?? null;
    if (node.type !== 'attribute') return null;
    const object = node.childForFieldName('object');
    const attribute = node.childForFieldName('attribute');
    const base = object ? this.importedName(object) : null;
    return base === null || !attribute ? null : `${base}.${attribute.text}`;
  }

  /** Qualified name of a bare identifier (see {@link qualify}). */
  qualifyName(name: string): string {
    const bound = this.bindings.get(name);
    if (bound !== undefined) return bound;
    if (this.isShadowed(name)) return `.${name}`;
    const member = this.wildcardMember(name);
    if (member !== null) return member;
    // `from gzip import *` brings in gzip's own `open`: a bare `open` is then not the builtin.
    // Other star-imported modules are assumed not to redefine builtins.
    if (this.wildcards.some((m) => WILDCARD_SHADOWS.get(m.slice(m.lastIndexOf('.') + 1))?.has(name))) return `?${name}`;
    return name;
  }

  /**
   * Whether the module defines `name` itself by `def`, `class` or a plain assignment at the
   * start of a line. Found with a regex: a false hit only makes a builtin look shadowed (fewer
   * findings, never more).
   */
  private isShadowed(name: string): boolean {
    let known = this.shadowed.get(name);
    if (known === undefined) {
      const n = escapeRegExp(name);
      known = new RegExp(`^(?:(?:async[ \\t]+)?def[ \\t]+${n}\\b|class[ \\t]+${n}\\b|${n}[ \\t]*(?::[^=\\n]*)?=(?!=))`, 'm').test(this.text);
      this.shadowed.set(name, known);
    }
    return known;
  }

  /** `from m import *` members we know of: any name is assumed to come from the last such module that could define it. */
  private wildcardMember(name: string): string | null {
    for (const module of this.wildcards) {
      if (WILDCARD_MEMBERS.get(module)?.has(name)) return `${module}.${name}`;
    }
    return null;
  }
}

/** Members of modules commonly star-imported that matter to the handle analysis. */
const WILDCARD_MEMBERS = new Map<string, ReadonlySet<string>>([
  ['socket', new Set(['socket', 'create_connection', 'create_server', 'fromfd', 'error'])],
  ['subprocess', new Set(['Popen', 'PIPE'])],
  ['tempfile', new Set(['TemporaryFile', 'NamedTemporaryFile', 'SpooledTemporaryFile'])],
  ['os', new Set(['open', 'fdopen', 'popen', 'close', '_exit', 'abort', 'error'])],
  ['io', new Set(['open', 'FileIO', 'TextIOWrapper', 'BufferedReader', 'BufferedWriter', 'BufferedRandom', 'BufferedRWPair'])],
]);

/** Modules (by last name) that define a function named like a builtin the analysis resolves. */
const WILDCARD_SHADOWS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  ['gzip', 'bz2', 'lzma', 'tarfile', 'codecs', 'webbrowser', 'dbm', 'shelve', 'wave', 'aifc', 'sunau', 'tokenize', 'fileinput'].map(
    (m) => [m, new Set(['open'])] as const,
  ),
);

/** Implementation modules re-exported under a public name (`from posix import *` is `os`). */
const MODULE_ALIASES: ReadonlyMap<string, string> = new Map([
  ['posix', 'os'],
  ['nt', 'os'],
  ['_io', 'io'],
  ['_socket', 'socket'],
]);

function canonicalModule(module: string): string {
  const head = module.split('.')[0];
  const alias = MODULE_ALIASES.get(head);
  return alias === undefined ? module : alias + module.slice(head.length);
}

function dotted(node: Node): string {
  return node.text.replace(/\s+/g, '');
}


/** `from .store import x` → `.store.x`; `from . import x` → `.x` (the model's canonical form). */
function joinRelative(module: string, name: string): string {
  return module.endsWith('.') ? module + name : `${module}.${name}`;
}
