/**
 * The `stream-pipe-leak` fix: `src.pipe(a).pipe(b)` → `pipeline(src, a, b, (err) => { … })`
 * from Node's callback-style `stream` module.
 *
 * NOTE (choice): the callback form, not `await pipeline(…)` from `stream/promises`. It fits
 * every place a `.pipe()` call can stand — a synchronous handler, an expression whose value
 * is used (`pipeline` returns the last stream, as `.pipe()` does) — and it keeps the
 * function from waiting for the transfer, which `await` would change. The callback reports
 * the error with `console.error`: once `pipeline` listens for errors, an error no longer
 * crashes the process as an unhandled 'error' event would, so it must not vanish silently.
 *
 * The binding is found or made in the file's own style: an existing `pipeline` from
 * `stream`/`node:stream` is reused, then a namespace (`stream.pipeline`); otherwise the name
 * is added to an existing named import or `require` destructuring of that module, or a new
 * `import` (ES modules) or `const … = require(…)` (CommonJS) is added after the last one. A
 * clash with another `pipeline` (the promise version, a local function) gets an alias.
 */
import type { Fix, TextEdit } from '../../text/edits';
import { nodeRange, type Node } from '../../parsing/parser';
import { STREAM_MODULE_SPECIFIERS } from '../../knowledge/typescript-handles';

export interface PipelineFixRequest {
  text: string;
  root: Node;
  /** The outermost `.pipe()` call, replaced as a whole. */
  outer: Node;
  /** The chain's first source, as written (listeners on it are kept). */
  source: Node;
  /** Each link's destination, in order. */
  dests: Node[];
  /** TypeScript (not JavaScript) source: type annotations may be written. */
  typescript: boolean;
}

interface Plan {
  callee: string;
  edit?: TextEdit;
  /** The binding comes from `require()`, which TypeScript types as `any`: the callback needs its own types. */
  untyped?: boolean;
}

function stringValue(node: Node | null | undefined): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  return node.text.slice(1, -1);
}

/** `require('x')` → `x`. */
function requiredModule(value: Node | null | undefined): string | undefined {
  if (value?.type !== 'call_expression') return undefined;
  const fn = value.childForFieldName('function');
  if (fn?.type !== 'identifier' || fn.text !== 'require') return undefined;
  return stringValue(value.childForFieldName('arguments')?.namedChild(0));
}

function isTypeOnly(importStmt: Node): boolean {
  return importStmt.children.some((c) => c?.type === 'type' && !c.isNamed);
}

function identifiersOf(root: Node): Set<string> {
  const out = new Set<string>();
  const cursor = root.walk();
  try {
    for (;;) {
      const t = cursor.nodeType;
      if (t === 'identifier' || t === 'shorthand_property_identifier_pattern' || t === 'shorthand_property_identifier' || t === 'type_identifier') out.add(cursor.currentNode.text);
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return out;
    }
  } finally {
    cursor.delete();
  }
}

function insertAt(node: Node, where: 'start' | 'end', newText: string): TextEdit {
  const r = nodeRange(node);
  const p = where === 'start' ? r.start : r.end;
  return { range: { start: p, end: p }, newText };
}

/** How the fixed code names `pipeline`, and the edit that makes the name exist. */
function planBinding(root: Node, eol: string): Plan | undefined {
  let namespace: string | undefined;
  let existing: string | undefined;
  let namedImports: Node | undefined;
  let requirePattern: Node | undefined;
  let lastImport: Node | undefined;
  let lastRequire: Node | undefined;
  let nodePrefix = false;
  let fromRequire = false;
  for (const stmt of root.namedChildren) {
    if (!stmt) continue;
    if (stmt.type === 'import_statement') {
      const source = stringValue(stmt.childForFieldName('source'));
      let req: Node | undefined;
      for (const c of stmt.namedChildren) if (c?.type === 'import_require_clause') req = c;
      const spec = source ?? stringValue(req?.childForFieldName('source'));
      if (spec?.startsWith('node:')) nodePrefix = true;
      lastImport = stmt;
      if (isTypeOnly(stmt)) continue;
      if (!spec || !STREAM_MODULE_SPECIFIERS.has(spec)) continue;
      if (req) {
        const id = req.namedChild(0);
        if (id?.type === 'identifier') namespace ??= id.text;
        continue;
      }
      const clause = stmt.namedChildren.find((c) => c?.type === 'import_clause');
      for (const c of clause?.namedChildren ?? []) {
        if (!c) continue;
        if (c.type === 'identifier') namespace ??= c.text;
        else if (c.type === 'namespace_import') namespace ??= c.namedChild(0)?.text;
        else if (c.type === 'named_imports') {
          namedImports ??= c;
          for (const s of c.namedChildren) {
            if (s?.type !== 'import_specifier' || s.children.some((k) => k?.type === 'type' && !k.isNamed)) continue;
            const name = s.childForFieldName('name')?.text;
            const alias = s.childForFieldName('alias')?.text ?? name;
            if (name === 'pipeline' && alias) existing ??= alias;
            if (name === 'default' && alias) namespace ??= alias;
          }
        }
      }
    } else if (stmt.type === 'lexical_declaration' || stmt.type === 'variable_declaration') {
      for (const d of stmt.namedChildren) {
        if (d?.type !== 'variable_declarator') continue;
        const value = d.childForFieldName('value');
        const spec = requiredModule(value);
        // `const { pipeline } = require('stream').promises` is not the callback form.
        if (spec === undefined && value?.type === 'member_expression') {
          const inner = requiredModule(value.childForFieldName('object'));
          if (inner !== undefined) lastRequire = stmt;
          if (inner?.startsWith('node:')) nodePrefix = true;
          continue;
        }
        if (spec === undefined) continue;
        lastRequire = stmt;
        if (spec.startsWith('node:')) nodePrefix = true;
        if (!STREAM_MODULE_SPECIFIERS.has(spec)) continue;
        const name = d.childForFieldName('name');
        if (name?.type === 'identifier' && !namespace) {
          namespace = name.text;
          fromRequire = true;
        } else if (name?.type === 'object_pattern') {
          requirePattern ??= name;
          for (const p of name.namedChildren) {
            if (p?.type === 'shorthand_property_identifier_pattern' && p.text === 'pipeline' && !existing) {
              existing = 'pipeline';
              fromRequire = true;
            } else if (p?.type === 'pair_pattern' && p.childForFieldName('key')?.text === 'pipeline' && !existing) {
              const v = p.childForFieldName('value');
              if (v?.type === 'identifier') {
                existing = v.text;
                fromRequire = true;
              }
            }
          }
        }
      }
    }
  }
  if (existing) return { callee: existing, untyped: fromRequire };
  if (namespace) return { callee: `${namespace}.pipeline`, untyped: fromRequire && !existing };

  const taken = identifiersOf(root);
  let local = 'pipeline';
  for (let k = 1; taken.has(local); k++) local = k === 1 ? 'streamPipeline' : `streamPipeline${k}`;
  const specifier = `'${nodePrefix ? 'node:stream' : 'stream'}'`;

  if (namedImports) {
    const specs = namedImports.namedChildren.filter((c): c is Node => c?.type === 'import_specifier');
    const item = local === 'pipeline' ? 'pipeline' : `pipeline as ${local}`;
    const lastSpec = specs[specs.length - 1];
    const edit = lastSpec ? insertAt(lastSpec, 'end', `, ${item}`) : insertAt(namedImports.child(0)!, 'end', ` ${item} `);
    return { callee: local, edit };
  }
  if (requirePattern && !lastImport) {
    const props = requirePattern.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
    const item = local === 'pipeline' ? 'pipeline' : `pipeline: ${local}`;
    const lastProp = props[props.length - 1];
    const edit = lastProp ? insertAt(lastProp, 'end', `, ${item}`) : insertAt(requirePattern.child(0)!, 'end', ` ${item} `);
    return { callee: local, edit, untyped: true };
  }
  const binding = local === 'pipeline' ? '{ pipeline }' : `{ pipeline as ${local} }`;
  if (lastImport || !lastRequire) {
    const line = `import ${binding} from ${specifier};`;
    if (lastImport) return { callee: local, edit: insertAt(lastImport, 'end', `${eol}${line}`) };
    const first = root.namedChildren.find((c) => !!c && c.type !== 'comment' && c.type !== 'hash_bang_line' && !isDirective(c));
    if (!first) return undefined;
    return { callee: local, edit: { range: { start: { line: first.startPosition.row, character: 0 }, end: { line: first.startPosition.row, character: 0 } }, newText: `${line}${eol}` } };
  }
  const keyword = lastRequire.child(0)?.type === 'var' ? 'var' : 'const';
  const pattern = local === 'pipeline' ? '{ pipeline }' : `{ pipeline: ${local} }`;
  return { callee: local, edit: insertAt(lastRequire, 'end', `${eol}${keyword} ${pattern} = require(${specifier});`), untyped: true };
}

function isDirective(stmt: Node): boolean {
  return stmt.type === 'expression_statement' && stmt.namedChild(0)?.type === 'string';
}

function leadingWhitespace(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

/** The file's indentation step, guessed from the line of `node` and its enclosing block. */
function indentUnit(lines: string[], node: Node, indent: string): string {
  for (let b = node.parent; b; b = b.parent) {
    if (b.type !== 'statement_block' || b.startPosition.row === node.startPosition.row) continue;
    const outer = leadingWhitespace(lines[b.startPosition.row] ?? '');
    if (indent.startsWith(outer) && indent.length > outer.length) return indent.slice(outer.length);
    break;
  }
  return indent.includes('\t') ? '\t' : '  ';
}

export function pipelineFix(req: PipelineFixRequest): Fix[] {
  const { text, root, outer, source, dests } = req;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const plan = planBinding(root, eol);
  if (!plan) return [];
  const lines = text.split('\n');
  const indent = leadingWhitespace(lines[outer.startPosition.row] ?? '');
  const unit = indentUnit(lines, outer, indent);
  const args = [source, ...dests].map((n) => n.text).join(', ');
  // `require()` is `any` to TypeScript, so the parameter is annotated there (strict mode
  // rejects an implicit `any`); `Error | null` accepts what pipeline passes.
  const param = plan.untyped && req.typescript ? 'err: Error | null' : 'err';
  const callback = `(${param}) => {${eol}${indent}${unit}if (err) console.error(err);${eol}${indent}}`;
  const edits: TextEdit[] = [{ range: nodeRange(outer), newText: `${plan.callee}(${args}, ${callback})` }];
  if (plan.edit) edits.unshift(plan.edit);
  return [
    {
      title: `Replace .pipe() with ${plan.callee}(), which destroys every stream when one of them fails`,
      applicability: 'unsafe',
      edits,
    },
  ];
}
