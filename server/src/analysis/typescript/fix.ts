/**
 * Quick fixes for a leaked TypeScript handle.
 *
 * - `try { … } finally { <release> }` around the statements that follow the open (safe):
 *   offered only when the open is `const`/`let x = …` in a block, every later mention of
 *   `x` is a plain use (not handed on, not reassigned, not captured by a closure that may
 *   run after the block), and the only release, if any, is a trailing statement — which is
 *   moved into the `finally` rather than duplicated. Declarations inside the wrapped
 *   statements that are used after them would fall out of scope, so the `try` then extends
 *   to the end of the block.
 * - `await using fh = await open(…)` for FileHandles (unsafe: needs TypeScript ≥ 5.2 and a
 *   runtime with `Symbol.asyncDispose`; in JavaScript, a runtime with explicit resource
 *   management, Node.js ≥ 24).
 *
 * Both are plain JavaScript as well as TypeScript: nothing here writes a type annotation,
 * `as` or `!`, so the same edits apply to `.js`/`.mjs`/`.cjs`/`.jsx` files.
 */
import type { Fix, TextEdit } from '../../text/edits';
import type { Node } from '../../parsing/parser';
import { FUNCTION_TYPES } from './cfg';
import { collectReferences, type EffectClassifier } from './effects';
import type { FsBindings } from '../../facts/typescript/imports';
import { RELEASE_TEMPLATES, type HandleKind } from '../../knowledge/typescript-handles';

export interface FixRequest {
  text: string;
  name: string;
  kind: HandleKind;
  /** The `lexical_declaration` that opens the handle. */
  declaration: Node;
  classifier: EffectClassifier;
  bindings: FsBindings;
  /** The `fs` namespace the opening call went through (`fs` in `fs.openSync`), if any. */
  namespace?: string;
  /** JavaScript source: the fixes write plain JavaScript (they write no types in either case). */
  javascript: boolean;
  /** Mentions (node ids) passed to a call that the analysis found only uses the handle. */
  lent?: ReadonlySet<number>;
}

function statementsOf(block: Node): Node[] {
  const out: Node[] = [];
  for (const c of block.namedChildren) if (c && c.type !== 'comment') out.push(c);
  return out;
}

function insideNestedFunction(ref: Node, stop: Node): boolean {
  for (let n = ref.parent; n && n.id !== stop.id; n = n.parent) if (FUNCTION_TYPES.has(n.type)) return true;
  return false;
}

/** Names a statement declares in the enclosing block (so moving it into `try {}` hides them). */
function blockScopedNames(stmt: Node): string[] | 'function' {
  if (stmt.type === 'function_declaration' || stmt.type === 'generator_function_declaration') return 'function';
  if (stmt.type === 'class_declaration' || stmt.type === 'abstract_class_declaration' || stmt.type === 'enum_declaration') {
    const n = stmt.childForFieldName('name');
    return n ? [n.text] : [];
  }
  if (stmt.type !== 'lexical_declaration') return [];
  const out: string[] = [];
  for (const d of stmt.namedChildren) {
    if (d?.type !== 'variable_declarator') continue;
    const stack: Node[] = [];
    const name = d.childForFieldName('name');
    if (name) stack.push(name);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.type === 'identifier' || n.type === 'shorthand_property_identifier_pattern') out.push(n.text);
      else if (n.type === 'pair_pattern') {
        const v = n.childForFieldName('value');
        if (v) stack.push(v);
      } else for (const c of n.namedChildren) if (c) stack.push(c);
    }
  }
  return out;
}

function identifiersIn(stmts: Node[]): Set<string> {
  const out = new Set<string>();
  const stack = [...stmts];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === 'identifier' || n.type === 'shorthand_property_identifier' || n.type === 'type_identifier') out.add(n.text);
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return out;
}

/** Rows (0-based) that continue a multi-line template literal: re-indenting them would change a string. */
function verbatimRows(stmts: Node[]): Set<number> {
  const rows = new Set<number>();
  const stack = [...stmts];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.startPosition.row === n.endPosition.row) continue;
    if (n.type === 'template_string') {
      for (let r = n.startPosition.row + 1; r <= n.endPosition.row; r++) rows.add(r);
    }
    for (const c of n.namedChildren) if (c) stack.push(c);
  }
  return rows;
}

function leadingWhitespace(line: string): string {
  return /^[ \t]*/.exec(line)?.[0] ?? '';
}

/** Is `stmt` exactly one release of the handle (`fs.closeSync(fd);`, `await fh.close();`)? */
function isPlainRelease(stmt: Node, refs: Node[], classifier: EffectClassifier): boolean {
  if (stmt.type !== 'expression_statement' || refs.length !== 1) return false;
  let e = stmt.namedChild(0);
  if (e?.type === 'await_expression') e = e.namedChild(0);
  if (e?.type !== 'call_expression') return false;
  return classifier.classify(refs[0]) === 'release';
}

export function computeFixes(req: FixRequest): Fix[] {
  const { name, kind, declaration: decl, classifier } = req;
  const fixes: Fix[] = [];
  const keyword = decl.child(0);
  if (decl.type !== 'lexical_declaration' || !keyword || (keyword.type !== 'const' && keyword.type !== 'let')) return fixes;
  const declarators = decl.namedChildren.filter((c) => c?.type === 'variable_declarator');
  if (declarators.length !== 1 || declarators[0]?.childForFieldName('name')?.text !== name) return fixes;
  const block = decl.parent;
  if (!block || block.type !== 'statement_block') return fixes;

  const stmts = statementsOf(block);
  const i = stmts.findIndex((s) => s.id === decl.id);
  if (i < 0) return fixes;
  const names = new Set([name]);
  let last = -1;
  const releaseAt: number[] = [];
  const refsAt = new Map<number, Node[]>();
  for (let k = i + 1; k < stmts.length; k++) {
    const refs = collectReferences(stmts[k], names).get(name) ?? [];
    if (refs.length === 0) continue;
    refsAt.set(k, refs);
    last = k;
    for (const r of refs) {
      // A closure may run after the block (an event handler): closing at block end would break it.
      if (insideNestedFunction(r, stmts[k])) return fixes;
      const e = classifier.classify(r);
      if ((e === 'escape' && !req.lent?.has(r.id)) || e === 'assign') return fixes;
      if (e === 'release') releaseAt.push(k);
    }
  }
  if (last < 0) return fixes;

  const tryFix = finallyFix(req, stmts, i, last, releaseAt, refsAt);
  if (tryFix) fixes.push(tryFix);

  if (kind === 'filehandle') {
    fixes.push({
      title: req.javascript
        ? `Declare '${name}' with \`await using\` (needs a runtime with explicit resource management: Node.js ≥ 24)`
        : `Declare '${name}' with \`await using\` (needs TypeScript ≥ 5.2 and a runtime with Symbol.asyncDispose)`,
      applicability: 'unsafe',
      edits: [
        {
          range: {
            start: { line: keyword.startPosition.row, character: keyword.startPosition.column },
            end: { line: keyword.endPosition.row, character: keyword.endPosition.column },
          },
          newText: 'await using',
        },
      ],
    });
  }
  return fixes;
}

function finallyFix(req: FixRequest, stmts: Node[], i: number, lastUse: number, releaseAt: number[], refsAt: Map<number, Node[]>): Fix | null {
  const { text, name, kind, declaration: decl, classifier, bindings } = req;
  const lines = text.split('\n');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';

  // The existing release, if any, must be one plain trailing statement: it moves into `finally`.
  let trailing = -1;
  if (releaseAt.length > 0) {
    if (releaseAt.some((k) => k !== lastUse)) return null;
    if (!isPlainRelease(stmts[lastUse], refsAt.get(lastUse) ?? [], classifier)) return null;
    trailing = lastUse;
  }

  // Declarations moved into the try must not be needed after it; otherwise wrap to the block's end.
  let end = lastUse;
  const movedNames: string[] = [];
  for (let k = i + 1; k <= lastUse; k++) {
    const declared = blockScopedNames(stmts[k]);
    if (declared === 'function') return null;
    movedNames.push(...declared);
  }
  if (movedNames.length > 0) {
    const after = identifiersIn(stmts.slice(lastUse + 1));
    if (movedNames.some((d) => after.has(d))) end = stmts.length - 1;
    // The moved release runs in `finally`, outside the try block's scope.
    if (trailing >= 0) {
      const inRelease = identifiersIn([stmts[trailing]]);
      if (movedNames.some((d) => inRelease.has(d))) return null;
    }
  }
  for (let k = lastUse + 1; k <= end; k++) if (blockScopedNames(stmts[k]) === 'function') return null;

  // Only whole lines move: nothing else may share a line with the moved statements.
  const first = stmts[i + 1];
  const lastStmt = stmts[end];
  if (first.startPosition.row <= decl.endPosition.row) return null;
  const next = stmts[end + 1];
  if (next && next.startPosition.row <= lastStmt.endPosition.row) return null;
  const close = decl.parent?.lastChild;
  if (close && close.startPosition.row <= lastStmt.endPosition.row) return null;
  for (let k = i + 1; k < end; k++) if (stmts[k + 1].startPosition.row <= stmts[k].endPosition.row) return null;

  // What goes in the finally block.
  const indent = leadingWhitespace(lines[decl.startPosition.row] ?? '');
  const unit = indentUnit(lines, decl, indent);
  let releaseText: string;
  let releaseRows: [number, number] | null = null;
  if (trailing >= 0) {
    const t = stmts[trailing];
    releaseRows = [t.startPosition.row, t.endPosition.row];
    const parts: string[] = [];
    for (let r = t.startPosition.row; r <= t.endPosition.row; r++) {
      const line = (lines[r] ?? '').replace(/\s+$/, '');
      parts.push(r === t.startPosition.row ? line.slice(t.startPosition.column) : unit + line);
    }
    releaseText = parts.join(eol);
  } else {
    const template = RELEASE_TEMPLATES[kind];
    if (template.method) releaseText = template.method.replace('$', name);
    else {
      const ns = req.namespace ?? bindings.namespaceName('fs');
      const named = bindings.memberName('fs', 'closeSync');
      if (ns && template.namespaced) releaseText = template.namespaced.replace('%', ns).replace('$', name);
      else if (named && template.named) releaseText = template.named.replace('closeSync', named).replace('$', name);
      else return null;
    }
  }

  const verbatim = verbatimRows(stmts.slice(i + 1, end + 1));
  const body: string[] = [];
  for (let r = first.startPosition.row; r <= lastStmt.endPosition.row; r++) {
    if (releaseRows && r >= releaseRows[0] && r <= releaseRows[1]) continue;
    const line = lines[r] ?? '';
    if (verbatim.has(r)) body.push(line);
    else if (line.trim() === '') body.push(line.endsWith('\r') ? '\r' : '');
    else body.push(unit + line);
  }
  if (body.every((l) => l.trim() === '')) return null;
  // A release the finally now performs must not be left as a blank line at the end of the try.
  while (body.length > 0 && body[body.length - 1].trim() === '') body.pop();

  const endRow = lastStmt.endPosition.row;
  const atEof = endRow + 1 >= lines.length;
  const edit: TextEdit = {
    range: {
      start: { line: first.startPosition.row, character: 0 },
      end: atEof ? { line: endRow, character: (lines[endRow] ?? '').length } : { line: endRow + 1, character: 0 },
    },
    newText:
      `${indent}try {${eol}` +
      body.map((l) => (l.endsWith('\r') ? `${l}\n` : `${l}${eol}`)).join('') +
      `${indent}} finally {${eol}${indent}${unit}${releaseText}${eol}${indent}}` +
      (atEof ? '' : eol),
  };
  return {
    title: `Release '${name}' in a finally block`,
    applicability: 'safe',
    edits: [edit],
  };
}

function indentUnit(lines: string[], decl: Node, indent: string): string {
  const block = decl.parent;
  if (block) {
    const outer = leadingWhitespace(lines[block.startPosition.row] ?? '');
    if (indent.startsWith(outer) && indent.length > outer.length) return indent.slice(outer.length);
  }
  return indent.includes('\t') ? '\t' : '  ';
}
