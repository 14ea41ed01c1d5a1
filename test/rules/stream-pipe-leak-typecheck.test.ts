/**
 * The `stream-pipe-leak` fix writes code against Node's stream typings (`pipeline`
 * overloads, callback parameter types, imports added or extended). Parsing is not enough:
 * every expected output `test/fixtures/rules/stream-pipe-leak/*.fixed.*` must also
 * type-check with strict settings against `@types/node`, as real projects would compile it.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'test', 'fixtures', 'rules', 'stream-pipe-leak');

test('every stream-pipe-leak .fixed file type-checks under strict settings', () => {
  const files = readdirSync(DIR)
    .filter((n) => /\.fixed\.(ts|tsx|mts|cts)$/.test(n))
    .sort()
    .map((n) => join(DIR, n));
  assert.ok(files.length >= 5, `expected the fixed fixtures, found ${files.length}`);
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    esModuleInterop: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    skipLibCheck: true,
    noUnusedLocals: true,
    jsx: ts.JsxEmit.Preserve,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName.slice(DIR.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '(global)';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(diagnostics, []);
  // The check really looked at the fixed files (a vacuous program would also be clean).
  for (const f of files) assert.ok(program.getSourceFile(f), `${f} is not part of the program`);
});
