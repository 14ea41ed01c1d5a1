/**
 * The language server on JavaScript and on scripts without an extension, over a real
 * JSON-RPC connection to the built server (`node scripts/build.mjs` first): a `javascript`
 * document is analysed like TypeScript and its quick fix writes plain JavaScript; an
 * extensionless document with the `python` language id (with or without a `#!` line) is
 * analysed; the workspace index takes `.js` files and `#!` scripts it was never told about,
 * and leaves other extensionless files alone. Every wait is for an event, never a sleep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CodeAction, Diagnostic } from 'vscode-languageserver/node';
import { TestClient, applyTextEdits, editsFor, uriOf } from './client';
import { javascriptSyntaxErrors } from '../harness';
import { LATIN1_C } from '../latin1-source';

const LEAK_RULE = 'unreleased-file';
const FORK_RULE = 'fork-in-threaded-program';
const INDEX_STATS = 'hazardLens/indexStats';

/** A descriptor leaked on an early return, in CommonJS JavaScript (the open is on line 4). */
const JS_LEAK = [
  "const fs = require('fs');",
  '',
  'function firstByte(p) {',
  "  const fd = fs.openSync(p, 'r');",
  '  const buf = Buffer.alloc(1);',
  '  if (fs.readSync(fd, buf, 0, 1, 0) === 0) return -1;',
  '  fs.closeSync(fd);',
  '  return buf[0];',
  '}',
  '',
  'module.exports = { firstByte };',
  '',
].join('\n');

/** A Python script without an extension: a thread, then a fork (line 5). */
const PY_SCRIPT = ['#!/usr/bin/env python3', 'import os', 'import threading', 'threading.Thread(target=print).start()', 'pid = os.fork()', ''].join('\n');

/** The same script without a `#!` line: only its language id says it is Python. */
const PY_NO_SHEBANG = PY_SCRIPT.split('\n').slice(1).join('\n');

/** A Node script without an extension; the descriptor leaks on the early return (open on line 4). */
const NODE_SCRIPT = ['#!/usr/bin/env node', "const fs = require('node:fs');", 'function main(p) {', "  const fd = fs.openSync(p, 'r');", '  if (fs.fstatSync(fd).size === 0) return;', '  fs.closeSync(fd);', '}', 'main(process.argv[2]);', ''].join('\n');


/** An ES module whose descriptor leaks on the early return (open on line 4). */
const MJS_LEAK = ["import { openSync, closeSync, fstatSync } from 'node:fs';", '', 'export function size(p) {', "  const fd = openSync(p, 'r');", '  if (fstatSync(fd).size === 0) return 0;', '  closeSync(fd);', '  return 1;', '}', ''].join('\n');

interface IndexStats {
  folders: { uri: string; ready: boolean; files: number; projectFiles: string[] }[];
}

function byRule(diagnostics: Diagnostic[], rule: string): Diagnostic[] {
  return diagnostics.filter((d) => d.code === rule);
}

describe('language server: JavaScript and #! scripts', () => {
  let ws: string;
  let client: TestClient;
  const uri = (rel: string) => uriOf(path.join(ws, rel));

  before(async () => {
    ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-js-')));
    const files: Record<string, string | Buffer> = {
      'web/leak.js': JS_LEAK,
      'web/ok.mjs': 'export const a = 1;\n',
      'web/size.mjs': MJS_LEAK,
      'legacy/head.c': LATIN1_C,
      'tools/nightly': PY_SCRIPT,
      'bin/tail-file': NODE_SCRIPT,
      'bin/README': 'Scripts.\n',
      'bin/rubytool': '#!/usr/bin/env ruby\nputs 1\n',
      'bin/blob': Buffer.concat([Buffer.from('#!/usr/bin/env python3\n'), Buffer.from([0, 0, 0])]),
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
      fs.writeFileSync(path.join(ws, rel), text);
    }
    client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0 } });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('the workspace index takes .js files and #! scripts, and publishes their findings unopened', async () => {
    const leak = await client.waitForDiagnostics(uri('web/leak.js'), undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    assert.equal(byRule(leak.diagnostics, LEAK_RULE)[0].range.start.line, 3);
    const fork = await client.waitForDiagnostics(uri('tools/nightly'), undefined, (d) => byRule(d, FORK_RULE).length === 1);
    assert.equal(byRule(fork.diagnostics, FORK_RULE)[0].range.start.line, 4);
    const tail = await client.waitForDiagnostics(uri('bin/tail-file'), undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    assert.equal(byRule(tail.diagnostics, LEAK_RULE)[0].range.start.line, 3);
    const mjs = await client.waitForDiagnostics(uri('web/size.mjs'), undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    assert.equal(byRule(mjs.diagnostics, LEAK_RULE)[0].range.start.line, 3);
    // The Latin-1 file is decoded, and the column counts the decoded characters.
    const c = await client.waitForDiagnostics(uri('legacy/head.c'), undefined, (d) => byRule(d, LEAK_RULE).length === 2);
    assert.deepEqual(byRule(c.diagnostics, LEAK_RULE).map((d) => d.range.start).sort((a, b) => a.line - b.line), [{ line: 3, character: 15 }, { line: 9, character: 43 }]);
    const s = await client.connection.sendRequest<IndexStats>(INDEX_STATS, null);
    assert.equal(s.folders[0].ready, true);
    assert.equal(s.folders[0].files, 6, 'web/leak.js, web/ok.mjs, web/size.mjs, legacy/head.c, tools/nightly, bin/tail-file');
    const uris = new Set(client.diagnostics.events.map((p) => p.uri));
    for (const other of ['bin/README', 'bin/rubytool', 'bin/blob']) assert.ok(!uris.has(uri(other)), `${other} must not be published`);
  });

  test('a javascript document is analysed, and its quick fix writes plain JavaScript', async () => {
    const doc = uri('web/open-leak.js');
    await client.open(doc, 'javascript', JS_LEAK);
    const { diagnostics } = await client.waitForDiagnostics(doc, 1, (d) => byRule(d, LEAK_RULE).length === 1);
    const d = byRule(diagnostics, LEAK_RULE)[0];
    assert.equal(d.range.start.line, 3);
    const actions = ((await client.codeActions(doc, d.range, { diagnostics: [d], only: ['quickfix'] })) ?? []) as CodeAction[];
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, JSON.stringify(actions, null, 1));
    const fixed = applyTextEdits(JS_LEAK, editsFor(preferred[0].edit, doc));
    assert.match(fixed, /\} finally \{/);
    assert.deepEqual(javascriptSyntaxErrors('open-leak.js', fixed), []);
    const version = await client.applyEdits(doc, editsFor(preferred[0].edit, doc));
    const after = await client.waitForDiagnostics(doc, version);
    assert.deepEqual(byRule(after.diagnostics, LEAK_RULE), []);
  });

  test('an extensionless python document is analysed, with or without a #! line', async () => {
    for (const [name, text] of [
      ['tools/open-script', PY_SCRIPT],
      ['tools/no-shebang', PY_NO_SHEBANG],
    ] as const) {
      const doc = uri(name);
      await client.open(doc, 'python', text);
      const { diagnostics } = await client.waitForDiagnostics(doc, 1, (d) => byRule(d, FORK_RULE).length === 1);
      assert.equal(byRule(diagnostics, FORK_RULE)[0].range.start.line, text === PY_SCRIPT ? 4 : 3, name);
    }
  });

  test('an extensionless javascript document is analysed like a #! node script', async () => {
    const doc = uri('bin/open-tail');
    await client.open(doc, 'javascript', NODE_SCRIPT);
    const { diagnostics } = await client.waitForDiagnostics(doc, 1, (d) => byRule(d, LEAK_RULE).length === 1);
    assert.equal(byRule(diagnostics, LEAK_RULE)[0].range.start.line, 3);
  });
});
