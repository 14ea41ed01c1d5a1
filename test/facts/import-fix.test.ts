/**
 * The imports fixes add (`facts/typescript/import-fix.ts`), through both fixes that add one:
 * the non-blocking variant of a blocking call (heartbeat-starved-by-blocking-call) and the
 * `pipeline(…)` rewrite (stream-pipe-leak). These are the cases where the two used to write
 * different imports — CRLF files, `node:` and bare specifiers, clashing names — with the
 * exact fixed text, which must still parse.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { applyEdits } from '../../server/src/engine/fixes';
import type { TextEdit } from '../../server/src/text/edits';
import { extractTypeScriptFacts, type TsBlockingFact } from '../../server/src/facts/typescript/program-facts';
import { analyzeTypeScriptPipes } from '../../server/src/analysis/typescript/pipes';
import { languageForPath, parseSync, syntaxErrorRanges } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

function parse(text: string, path: string) {
  const lang = languageForPath(path);
  assert.ok(lang);
  return parseSync(text, lang.grammar);
}

/** Applies `edits`, and checks the result parses. */
function apply(text: string, path: string, edits: readonly TextEdit[]): string {
  const out = applyEdits(text, edits);
  assert.deepEqual(syntaxErrorRanges(parse(out, path)), [], `the fixed text does not parse:\n${out}`);
  return out;
}

/** The text after the non-blocking fix of the (only) blocking call with one. */
function blockingFixed(lines: string[], path = 'src/app.ts', eol = '\n'): string | undefined {
  const text = lines.join(eol);
  const facts = extractTypeScriptFacts(parse(text, path), text, path);
  const fixes = facts.filter((f): f is TsBlockingFact => f.kind === 'ts.blocking' && !!f.fix);
  assert.ok(fixes.length <= 1);
  return fixes[0]?.fix ? apply(text, path, fixes[0].fix.edits) : undefined;
}

/** The text after the (only) stream-pipe-leak fix. */
function pipeFixed(lines: string[], path = 'src/app.ts', eol = '\n'): string {
  const text = lines.join(eol);
  const [leak, ...rest] = analyzeTypeScriptPipes(parse(text, path), text, path);
  assert.ok(leak, 'expected a finding');
  assert.deepEqual(rest, []);
  assert.equal(leak.fixes.length, 1);
  return apply(text, path, leak.fixes[0].edits);
}

describe('import-fix: CRLF files', () => {
  test('a new import and a joined one keep CRLF line endings (the blocking-call fix wrote LF)', () => {
    const fixed = blockingFixed(
      [
        "import { execSync } from 'node:child_process';",
        'export async function rev(): Promise<string> {',
        "  return execSync('git rev-parse HEAD', { encoding: 'utf8' });",
        '}',
        '',
      ],
      'src/app.ts',
      '\r\n',
    );
    assert.equal(
      fixed,
      [
        "import { execSync, exec } from 'node:child_process';",
        "import { promisify } from 'node:util';",
        'export async function rev(): Promise<string> {',
        "  return (await promisify(exec)('git rev-parse HEAD', { encoding: 'utf8' })).stdout;",
        '}',
        '',
      ].join('\r\n'),
    );
  });

  test('CommonJS: a new require keeps CRLF line endings', () => {
    const fixed = blockingFixed(
      ["'use strict';", "const { readFileSync } = require('fs');", 'async function load(p) {', '  return readFileSync(p);', '}', 'module.exports = { load };', ''],
      'lib/load.js',
      '\r\n',
    );
    assert.equal(
      fixed,
      [
        "'use strict';",
        "const { readFileSync } = require('fs');",
        "const { readFile } = require('fs/promises');",
        'async function load(p) {',
        '  return await readFile(p);',
        '}',
        'module.exports = { load };',
        '',
      ].join('\r\n'),
    );
  });

  test('the pipeline fix in a CRLF file', () => {
    const fixed = pipeFixed(
      ["import * as fs from 'node:fs';", 'export function send(path: string, res: NodeJS.WritableStream): void {', '  fs.createReadStream(path).pipe(res);', '}', ''],
      'src/app.ts',
      '\r\n',
    );
    assert.equal(
      fixed,
      [
        "import * as fs from 'node:fs';",
        "import { pipeline } from 'node:stream';",
        'export function send(path: string, res: NodeJS.WritableStream): void {',
        '  pipeline(fs.createReadStream(path), res, (err) => {',
        '    if (err) console.error(err);',
        '  });',
        '}',
        '',
      ].join('\r\n'),
    );
  });
});

describe('import-fix: node: and bare specifiers', () => {
  test('a file that imports built-ins without node: gets a bare specifier (the blocking-call fix always wrote node:)', () => {
    assert.equal(
      blockingFixed(["import { readFileSync } from 'fs';", 'export async function load(p: string) {', '  return readFileSync(p);', '}']),
      ["import { readFileSync } from 'fs';", "import { readFile } from 'fs/promises';", 'export async function load(p: string) {', '  return await readFile(p);', '}'].join('\n'),
    );
  });

  test('a name joins an existing import of its module whether it is written fs or node:fs', () => {
    for (const spec of ['child_process', 'node:child_process']) {
      assert.equal(
        blockingFixed([`import { execFileSync } from '${spec}';`, "import * as util from 'node:util';", 'export async function run() {', "  execFileSync('make');", '}']),
        [`import { execFileSync, execFile } from '${spec}';`, "import * as util from 'node:util';", 'export async function run() {', "  await util.promisify(execFile)('make');", '}'].join('\n'),
      );
    }
  });

  test('pipeline joins a named import of stream, bare or node:', () => {
    for (const spec of ['stream', 'node:stream']) {
      const fixed = pipeFixed([
        "import * as fs from 'fs';",
        `import { Readable } from '${spec}';`,
        'export function send(path: string, res: NodeJS.WritableStream): Readable | undefined {',
        '  fs.createReadStream(path).pipe(res);',
        '  return undefined;',
        '}',
      ]);
      assert.equal(fixed.split('\n')[1], `import { Readable, pipeline } from '${spec}';`);
    }
  });
});

describe('import-fix: clashing names', () => {
  test('a local promisify: the import is aliased (the blocking-call fix gave up)', () => {
    assert.equal(
      blockingFixed([
        "import { gzipSync } from 'node:zlib';",
        'const promisify = (f: unknown) => f;',
        'export async function pack(b: Buffer) {',
        '  return gzipSync(b);',
        '}',
        'void promisify;',
      ]),
      [
        "import { gzipSync, gzip } from 'node:zlib';",
        "import { promisify as utilPromisify } from 'node:util';",
        'const promisify = (f: unknown) => f;',
        'export async function pack(b: Buffer) {',
        '  return await utilPromisify(gzip)(b);',
        '}',
        'void promisify;',
      ].join('\n'),
    );
  });

  test('a clashing name joins an existing import under an alias', () => {
    assert.equal(
      blockingFixed(["import { readFileSync } from 'node:fs';", "import { stat } from 'node:fs/promises';", 'const readFile = 1;', 'export async function load(p: string) {', '  await stat(p);', '  return readFileSync(p, readFile ? "utf8" : undefined);', '}']),
      [
        "import { readFileSync } from 'node:fs';",
        "import { stat, readFile as fsPromisesReadFile } from 'node:fs/promises';",
        'const readFile = 1;',
        'export async function load(p: string) {',
        '  await stat(p);',
        '  return await fsPromisesReadFile(p, readFile ? "utf8" : undefined);',
        '}',
      ].join('\n'),
    );
  });

  test('CommonJS: a clashing name is required as name: alias', () => {
    assert.equal(
      blockingFixed(["const { readFileSync } = require('node:fs');", 'let readFile = 0;', 'async function load(p) {', '  return readFileSync(p);', '}'], 'lib/load.cjs'),
      [
        "const { readFileSync } = require('node:fs');",
        "const { readFile: fsPromisesReadFile } = require('node:fs/promises');",
        'let readFile = 0;',
        'async function load(p) {',
        '  return await fsPromisesReadFile(p);',
        '}',
      ].join('\n'),
    );
  });

  test('a name only in a comment or a string does not clash (the blocking-call fix gave up)', () => {
    assert.equal(
      blockingFixed(["import { deflateSync } from 'zlib';", '// promisify would be nicer', 'export async function pack(b: Buffer) {', "  console.log('promisify');", '  return deflateSync(b);', '}']),
      [
        "import { deflateSync, deflate } from 'zlib';",
        "import { promisify } from 'util';",
        '// promisify would be nicer',
        'export async function pack(b: Buffer) {',
        "  console.log('promisify');",
        '  return await promisify(deflate)(b);',
        '}',
      ].join('\n'),
    );
  });

  test('pipeline taken by the promise version: an aliased import after the last one', () => {
    const fixed = pipeFixed([
      "import * as fs from 'node:fs';",
      "import { pipeline } from 'node:stream/promises';",
      'export async function copy(a: string, b: string) {',
      '  await pipeline(fs.createReadStream(a), fs.createWriteStream(b));',
      '}',
      'export function send(path: string, res: NodeJS.WritableStream): void {',
      '  fs.createReadStream(path).pipe(res);',
      '}',
    ]);
    assert.deepEqual(fixed.split('\n').slice(0, 3), [
      "import * as fs from 'node:fs';",
      "import { pipeline } from 'node:stream/promises';",
      "import { pipeline as streamPipeline } from 'node:stream';",
    ]);
    assert.match(fixed, /^ {2}streamPipeline\(fs\.createReadStream\(path\), res, \(err\) => \{$/m);
  });
});

describe('import-fix: CommonJS or ES', () => {
  test('a name joins a require destructuring before its rest element', () => {
    assert.equal(
      blockingFixed(["const { execSync, ...cp } = require('child_process');", 'async function rev() {', "  execSync('git rev-parse HEAD');", '}', 'module.exports = { rev, cp };'], 'lib/rev.js'),
      [
        "const { execSync, exec, ...cp } = require('child_process');",
        "const { promisify } = require('util');",
        'async function rev() {',
        "  await promisify(exec)('git rev-parse HEAD');",
        '}',
        'module.exports = { rev, cp };',
      ].join('\n'),
    );
  });

  test('a JavaScript file that only requires inside functions is CommonJS: the pipeline fix writes a require after the directives', () => {
    const fixed = pipeFixed(
      ['#!/usr/bin/env node', '// Serves one file.', "'use strict';", 'function send(path, res) {', "  const fs = require('fs');", '  fs.createReadStream(path).pipe(res);', '}', 'module.exports = send;'],
      'bin/send.js',
    );
    assert.equal(
      fixed,
      [
        '#!/usr/bin/env node',
        '// Serves one file.',
        "'use strict';",
        "const { pipeline } = require('stream');",
        'function send(path, res) {',
        "  const fs = require('fs');",
        '  pipeline(fs.createReadStream(path), res, (err) => {',
        '    if (err) console.error(err);',
        '  });',
        '}',
        'module.exports = send;',
      ].join('\n'),
    );
  });
});
