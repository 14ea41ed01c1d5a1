/**
 * The command line on JavaScript and on scripts without an extension: `.js`/`.mjs`/`.cjs`
 * files are found and analysed like TypeScript, a CommonJS program is linked through
 * `require()`/`module.exports`, and `#!` Python and Node scripts are taken (only those: other
 * extensionless files, binaries and other interpreters are left alone). Exact rule ids and
 * lines, from the JSON report.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureBuilt, runCli, temporaryRepositories, type Tree } from './helpers';
import { LATIN1_C } from '../latin1-source';

before(() => ensureBuilt());
const workspace = temporaryRepositories();

interface JsonFinding {
  ruleId: string;
  path: string;
  range: { start: { line: number; column: number } };
  message: string;
  related: { path: string; range: { start: { line: number; column: number } }; message: string }[];
}

interface JsonReport {
  findings: JsonFinding[];
  skipped: { path: string; reason: string }[];
  summary: { files: number };
}

function scanJson(dir: string, args: string[] = []): JsonReport {
  const r = runCli(['scan', '--format', 'json', '--no-cache', ...args], { cwd: dir });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return JSON.parse(r.stdout) as JsonReport;
}

/** `path:line rule-id` (1-based lines), sorted: what a finding list says, in one comparable line each. */
function sites(report: JsonReport): string[] {
  return report.findings.map((f) => `${f.path}:${f.range.start.line} ${f.ruleId}`).sort();
}

/** A descriptor leaked on an early return (CommonJS). */
const JS_LEAK = [
  "const fs = require('fs');", // 1
  'function firstByte(p) {', // 2
  "  const fd = fs.openSync(p, 'r');", // 3
  '  const buf = Buffer.alloc(1);', // 4
  '  if (fs.readSync(fd, buf, 0, 1, 0) === 0) {', // 5
  '    return -1;', // 6
  '  }', // 7
  '  fs.closeSync(fd);', // 8
  '  return buf[0];', // 9
  '}', // 10
  'module.exports = { firstByte };', // 11
  '',
].join('\n');

/** The same leak in an ES module, with a FileHandle. */
const MJS_LEAK = [
  "import { open } from 'node:fs/promises';", // 1
  'export async function head(p) {', // 2
  "  const fh = await open(p, 'r');", // 3
  '  const { buffer } = await fh.read({ length: 4 });', // 4
  '  await fh.close();', // 5
  '  return buffer;', // 6
  '}', // 7
  '',
].join('\n');

/** A file stream piped into an HTTP response (CommonJS). */
const CJS_PIPE = [
  "const fs = require('node:fs');", // 1
  "const http = require('node:http');", // 2
  'http.createServer((req, res) => {', // 3
  "  fs.createReadStream('/srv/index.html').pipe(res);", // 4
  '}).listen(8080);', // 5
  '',
].join('\n');

/**
 * A CommonJS service: the heartbeat (amqplib) is in `server.js`; the blocking calls are in
 * the modules it `require()`s, reached only through `require()` and `module.exports`:
 * a namespace (`handlers.status()`), a destructured name (`{ audit }`), an unbound
 * `require('./lib/render').render()` resolved to `lib/render/index.js`, and `exports.x =`.
 */
const CJS_PROGRAM: Tree = {
  'svc/package.json': JSON.stringify({ name: 'svc', main: 'server.js' }, null, 2) + '\n',
  'svc/server.js': [
    "'use strict';", // 1
    "const http = require('node:http');", // 2
    "const amqp = require('amqplib');", // 3
    "const handlers = require('./handlers');", // 4
    "const { audit } = require('./audit.cjs');", // 5
    '', // 6
    "amqp.connect('amqp://broker', { heartbeat: 10 });", // 7
    'http.createServer((req, res) => {', // 8
    '  audit(req);', // 9
    "  if (req.url === '/status') return handlers.status(req, res);", // 10
    "  require('./lib/render').render(res);", // 11
    '}).listen(8080);', // 12
    '',
  ].join('\n'),
  'svc/handlers.js': [
    "const { execSync } = require('node:child_process');", // 1
    '', // 2
    'function status(req, res) {', // 3
    "  res.end(execSync('uptime'));", // 4
    '}', // 5
    '', // 6
    'function neverCalled() {', // 7
    "  execSync('true');", // 8
    '}', // 9
    '', // 10
    'module.exports = { status, neverCalled };', // 11
    '',
  ].join('\n'),
  'svc/audit.cjs': [
    "const fs = require('fs');", // 1
    'module.exports.audit = function (req) {', // 2
    "  fs.appendFileSync('audit.log', req.url);", // 3
    '};', // 4
    '',
  ].join('\n'),
  'svc/lib/render/index.js': [
    "const fs = require('fs');", // 1
    'exports.render = function render(res) {', // 2
    "  res.end(fs.readFileSync('page.html'));", // 3
    '};', // 4
    '',
  ].join('\n'),
};

/** An extensionless Python script: a module it imports starts a thread, then it forks. */
const PY_SCRIPT: Tree = {
  'tools/nightly': [
    '#!/usr/bin/env python3', // 1
    '"""Nightly job: start the metrics thread, then fork a worker."""', // 2
    'import os', // 3
    'import metrics', // 4
    '', // 5
    'metrics.start()', // 6
    'pid = os.fork()', // 7
    'if pid == 0:', // 8
    '    os._exit(0)', // 9
    '',
  ].join('\n'),
  'tools/metrics.py': [
    'import threading', // 1
    '', // 2
    '', // 3
    'def start():', // 4
    '    threading.Thread(target=print, daemon=True).start()', // 5
    '',
  ].join('\n'),
};

/** An extensionless Node script (`env -S` with an option): a descriptor leak. */
const NODE_SCRIPT = [
  '#!/usr/bin/env -S node --enable-source-maps', // 1
  "const fs = require('node:fs');", // 2
  'function main(p) {', // 3
  "  const fd = fs.openSync(p, 'r');", // 4
  '  if (fs.fstatSync(fd).size === 0) return;', // 5
  '  fs.closeSync(fd);', // 6
  '}', // 7
  'main(process.argv[2]);', // 8
  '',
].join('\n');

describe('scan: JavaScript files', () => {
  test('.js, .mjs and .cjs files are analysed with every TypeScript rule', () => {
    const dir = workspace({ 'src/leak.js': JS_LEAK, 'src/head.mjs': MJS_LEAK, 'src/serve.cjs': CJS_PIPE, 'src/ok.js': 'module.exports = 1;\n' });
    const report = scanJson(dir);
    assert.equal(report.summary.files, 4);
    assert.deepEqual(sites(report), ['src/head.mjs:3 unreleased-file', 'src/leak.js:3 unreleased-file', 'src/serve.cjs:4 stream-pipe-leak']);
  });

  test('--fix rewrites a .js file in plain JavaScript', () => {
    const dir = workspace({ 'src/leak.js': JS_LEAK });
    const r = runCli(['scan', '--fix', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const fixed = fs.readFileSync(path.join(dir, 'src', 'leak.js'), 'utf8');
    assert.match(fixed, /^ {2}try \{$/m);
    assert.match(fixed, /^ {2}\} finally \{\n {4}fs\.closeSync\(fd\);\n {2}\}$/m);
  });

  test('a CommonJS program: the heartbeat and the blocking calls are linked through require() and module.exports', () => {
    const dir = workspace(CJS_PROGRAM);
    const report = scanJson(dir);
    assert.deepEqual(sites(report), [
      'svc/audit.cjs:3 heartbeat-starved-by-blocking-call',
      'svc/handlers.js:4 heartbeat-starved-by-blocking-call',
      'svc/lib/render/index.js:3 heartbeat-starved-by-blocking-call',
    ]);
    const render = report.findings.find((f) => f.path === 'svc/lib/render/index.js')!;
    assert.deepEqual(
      render.related.map((r) => `${r.path}:${r.range.start.line} ${r.message}`),
      [
        'svc/server.js:7 heartbeat started here (amqplib.connect())',
        'svc/package.json:3 program entry point (package.json "main")',
        'svc/server.js:8 request handler registered here (http.createServer())',
        'svc/server.js:11 `render()` blocks the event loop here (fs.readFileSync())',
        'svc/lib/render/index.js:3 blocks the event loop here (fs.readFileSync())',
      ],
    );
    // Without the require() link nothing connects the handlers to the heartbeat.
    const alone = scanJson(dir, ['svc/handlers.js', 'svc/audit.cjs', 'svc/lib/render/index.js']);
    assert.deepEqual(sites(alone), []);
  });
});

describe('scan: scripts without an extension', () => {
  test('#! python and node scripts are analysed; other extensionless files are not read as source', () => {
    const dir = workspace({
      ...PY_SCRIPT,
      'bin/serve-file': NODE_SCRIPT,
      'bin/README': 'Scripts live here.\n',
      'bin/tool.rb': '#!/usr/bin/env ruby\nputs 1\n',
      'bin/rubytool': '#!/usr/bin/env ruby\nputs 1\n',
      'bin/blob': Buffer.concat([Buffer.from('#!/usr/bin/env node\n'), Buffer.from([0, 1, 2, 3])]),
      'bin/legacy': '#!/usr/bin/python\ndef first(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n',
    });
    const report = scanJson(dir);
    // tools/nightly, tools/metrics.py, bin/serve-file, bin/legacy.
    assert.equal(report.summary.files, 4);
    assert.deepEqual(report.skipped, []);
    assert.deepEqual(sites(report), ['bin/legacy:3 unreleased-file', 'bin/serve-file:4 unreleased-file', 'tools/nightly:7 fork-in-threaded-program']);
    const fork = report.findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    assert.deepEqual(
      fork.related.map((r) => `${r.path}:${r.range.start.line}`),
      ['tools/metrics.py:5', 'tools/nightly:6', 'tools/nightly:7'],
    );
  });

  test('a script named on the command line is taken by its #! line, or skipped with the reason', () => {
    const dir = workspace({ 'bin/serve-file': NODE_SCRIPT, 'bin/rubytool': '#!/usr/bin/env ruby\nputs 1\n' });
    const report = scanJson(dir, ['bin/serve-file', 'bin/rubytool']);
    assert.deepEqual(sites(report), ['bin/serve-file:4 unreleased-file']);
    assert.equal(report.skipped.length, 1);
    assert.equal(report.skipped[0].path, 'bin/rubytool');
    assert.match(report.skipped[0].reason, /^unsupported file type \(analysed: .*\.js .*, and scripts whose #! line runs python or node\)$/);
  });
});

describe('scan: every source file a user has, in one folder', () => {
  test('a Latin-1 C file, a #! Python script and .js/.mjs/.cjs files each report their hazard', () => {
    const dir = workspace({ 'legacy/head.c': LATIN1_C, ...PY_SCRIPT, 'web/leak.js': JS_LEAK, 'web/head.mjs': MJS_LEAK, 'web/serve.cjs': CJS_PIPE });
    const r = runCli(['scan', '--format', 'json', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /decoded as Windows-1252: legacy\/head\.c/);
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.equal(report.summary.files, 6);
    assert.deepEqual(sites(report), [
      'legacy/head.c:10 unreleased-file',
      'legacy/head.c:4 unreleased-file',
      'tools/nightly:7 fork-in-threaded-program',
      'web/head.mjs:3 unreleased-file',
      'web/leak.js:3 unreleased-file',
      'web/serve.cjs:4 stream-pipe-leak',
    ]);
    const c = report.findings.find((f) => f.path === 'legacy/head.c' && f.range.start.line === 4)!;
    assert.equal(c.range.start.column, 16, 'the column counts decoded characters');
  });
});
