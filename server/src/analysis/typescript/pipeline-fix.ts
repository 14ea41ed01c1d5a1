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
 * An existing `pipeline` from `stream`/`node:stream` is reused, then a namespace
 * (`stream.pipeline`); otherwise `import-fix.ts` adds the name in the file's own style (a
 * clash with another `pipeline`, the promise version or a local function, gets an alias).
 */
import type { Fix, TextEdit } from '../../text/edits';
import { nodeRange, type Node } from '../../parsing/parser';
import { FileImports, isBuiltinSpecifier } from '../../facts/typescript/import-fix';

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
  /** The file's path (`.cjs`/`.mjs` decide how a name is imported). */
  path: string;
}

interface Plan {
  callee: string;
  edits: TextEdit[];
  /** The binding comes from `require()`, which TypeScript types as `any`: the callback needs its own types. */
  untyped?: boolean;
}

/** How the fixed code names `pipeline`, and the edits that make the name exist. */
function planBinding(root: Node, text: string, path: string): Plan | undefined {
  const imports = new FileImports(root, text, path);
  let existing: string | undefined;
  let namespace: string | undefined;
  let fromRequire = false;
  for (const s of imports.statements) {
    // `const { pipeline } = require('stream').promises` is not the callback form.
    if (s.typeOnly || s.member !== undefined || !isBuiltinSpecifier(s.specifier, 'stream')) continue;
    for (const b of s.bindings) {
      if (b.name === 'pipeline' && existing === undefined) existing = b.local;
      else if ((b.name === '*' || b.name === 'default') && namespace === undefined) namespace = b.local;
      else continue;
      if (s.kind === 'require') fromRequire = true;
    }
  }
  if (existing) return { callee: existing, edits: [], untyped: fromRequire };
  if (namespace) return { callee: `${namespace}.pipeline`, edits: [], untyped: fromRequire };
  const plan = imports.plan();
  const callee = plan.name('stream', 'pipeline');
  const edits = plan.edits();
  return edits && { callee, edits, untyped: plan.commonJs || undefined };
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
  const plan = planBinding(root, text, req.path);
  if (!plan) return [];
  const lines = text.split('\n');
  const indent = leadingWhitespace(lines[outer.startPosition.row] ?? '');
  const unit = indentUnit(lines, outer, indent);
  const args = [source, ...dests].map((n) => n.text).join(', ');
  // `require()` is `any` to TypeScript, so the parameter is annotated there (strict mode
  // rejects an implicit `any`); `Error | null` accepts what pipeline passes.
  const param = plan.untyped && req.typescript ? 'err: Error | null' : 'err';
  const callback = `(${param}) => {${eol}${indent}${unit}if (err) console.error(err);${eol}${indent}}`;
  const edits: TextEdit[] = [...plan.edits, { range: nodeRange(outer), newText: `${plan.callee}(${args}, ${callback})` }];
  return [
    {
      title: `Replace .pipe() with ${plan.callee}(), which destroys every stream when one of them fails`,
      applicability: 'unsafe',
      edits,
    },
  ];
}
