/**
 * Shared test helpers: inline-expectation parsing for fixture files (Semgrep-style
 * annotations on the line before the target), grammar loading, workspace loading, and the
 * plain-JavaScript check of fixed `.js` files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import ts from 'typescript';
import { analyzeText } from '../server/src/engine/analyze';
import type { ProjectFile } from '../server/src/model/program-context';
import type { FileAnalysis, Finding } from '../server/src/analysis/results';
import { loadAllGrammars } from '../server/src/parsing/parser';
import { isProjectFileName } from '../server/src/scan/project-files';

export const ANNOTATION = /(?:#|\/\/|\/\*)\s*(ruleid|ok|todoruleid):\s*([\w-]+(?:\s*,\s*[\w-]+)*)/;

export interface Expectation {
  kind: 'ruleid' | 'ok' | 'todoruleid';
  ruleId: string;
  /** Zero-based line the expectation is about: the next line that is not itself an annotation. */
  line: number;
  /** Zero-based line of the annotation comment. */
  annotationLine: number;
}

export function parseExpectations(text: string): Expectation[] {
  const lines = text.split('\n');
  const out: Expectation[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = ANNOTATION.exec(lines[i]);
    if (!m) continue;
    let target = i + 1;
    while (target < lines.length && ANNOTATION.test(lines[target]) && lines[target].trim().match(/^(#|\/\/|\/\*)/)) target++;
    for (const id of m[2].split(',').map((s) => s.trim())) {
      out.push({ kind: m[1] as Expectation['kind'], ruleId: id, line: target, annotationLine: i });
    }
  }
  return out;
}

let grammars: Promise<void> | undefined;
export function grammarsReady(): Promise<void> {
  grammars ??= loadAllGrammars();
  return grammars;
}

/** Every file below `dir`, recursively, in sorted order (fixture programs, examples). */
export function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, out);
    else out.push(p);
  }
  return out;
}

export interface LoadedWorkspace {
  dir: string;
  files: FileAnalysis[];
  projectFiles: ProjectFile[];
  /** The folder the analyses' paths are relative to. */
  relativeTo: string;
}

/**
 * Analyses every source file below `dir` and collects the project files the scanner would
 * (same predicate), with paths relative to `relativeTo` as the CLI reports them. With
 * `cleanNotes`, an analysis note (parse time-out, failing rule) fails the test.
 */
export function loadWorkspace(dir: string, relativeTo: string, options: { cleanNotes?: boolean } = {}): LoadedWorkspace {
  const files: FileAnalysis[] = [];
  const projectFiles: ProjectFile[] = [];
  for (const abs of listFiles(dir)) {
    const rel = relative(relativeTo, abs);
    const text = readFileSync(abs, 'utf8');
    if (isProjectFileName(abs)) projectFiles.push({ path: rel, text });
    const a = analyzeText(rel, text);
    if (!a) continue;
    if (options.cleanNotes) assert.deepEqual(a.notes, [], `${rel}: analysis notes`);
    files.push(a);
  }
  return { dir, files, projectFiles, relativeTo };
}

/**
 * The workspace's analyses with `file` (a path inside the workspace folder, `/`-separated)
 * analysed again after replacing `from` by `to` in its text; the replacement must apply.
 */
export function analysesAfterEdit(ws: LoadedWorkspace, file: string, from: string, to: string): FileAnalysis[] {
  const target = ws.files.find((f) => relative(ws.dir, join(ws.relativeTo, f.path)).split('\\').join('/') === file);
  assert.ok(target, file);
  const text = readFileSync(join(ws.relativeTo, target.path), 'utf8');
  assert.ok(text.includes(from), `${file} does not contain ${from}`);
  const again = analyzeText(target.path, text.replace(from, to))!;
  return ws.files.map((f) => (f === target ? again : f));
}

/**
 * Syntax errors the TypeScript compiler reports for `text` read as a JavaScript file named
 * `fileName` (`.js`, `.mjs`, `.cjs`, `.jsx`): besides plain syntax errors, every piece of
 * TypeScript-only syntax (type annotations, `as`, non-null `!`, `import type`) is one. This
 * is how tests prove that a fix applied to a JavaScript file leaves plain JavaScript.
 */
export function javascriptSyntaxErrors(fileName: string, text: string): string[] {
  const name = join('/hazard-lens-js-check', basename(fileName));
  const options: ts.CompilerOptions = { allowJs: true, noEmit: true, noLib: true, types: [], jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.NodeNext };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (f === name ? ts.createSourceFile(f, text, lang, true) : getSourceFile(f, lang, ...rest));
  host.fileExists = (f) => f === name;
  host.readFile = (f) => (f === name ? text : undefined);
  const program = ts.createProgram([name], options, host);
  const source = program.getSourceFile(name);
  assert.ok(source, `${fileName}: not read as a source file`);
  return program.getSyntacticDiagnostics(source).map((d) => {
    const at = d.start !== undefined ? source.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${at ? `${at.line + 1}:${at.character + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

/** A finding's evidence chain as `path:line message` lines (1-based, paths relative to the workspace folder). */
export function chainLines(ws: LoadedWorkspace, f: Finding): string[] {
  return f.related.map((r) => `${relative(ws.dir, join(ws.relativeTo, r.path))}:${r.range.start.line + 1} ${r.message}`);
}

/** A finding as `rule-id path:line` (1-based, the path relative to the workspace folder). */
export function findingLine(ws: LoadedWorkspace, f: Finding): string {
  return `${f.ruleId} ${relative(ws.dir, join(ws.relativeTo, f.path))}:${f.range.start.line + 1}`;
}
