/**
 * Models as data in the language server: the `knowledge` section of the workspace folder's
 * `.hazard-lens.json` decides the diagnostics, is read again when the file changes, and a
 * malformed model is reported to the client (an error message) while the last good models
 * stay in use: the server keeps running.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

const LEAK = 'from vendorlib import open_blob\n\n\ndef size(p):\n    b = open_blob(p)\n    b.read()\n';
const MODEL = JSON.stringify({ knowledge: { python: { openers: [{ name: 'vendorlib.open_blob', releaseMethods: ['close'] }] } } });
const MALFORMED = JSON.stringify({ knowledge: { python: { openers: [{ name: '' }] } } });
const MESSAGE = "Handle 'b' from open_blob() is not released on every path: it leaks at the end of its scope on line 6";
const CHANGED = 2;
const CREATED = 1;

function leaks(diagnostics: Diagnostic[]): { line: number; character: number; endCharacter: number; message: string }[] {
  return diagnostics
    .filter((d) => d.code === 'unreleased-file')
    .map((d) => ({ line: d.range.start.line, character: d.range.start.character, endCharacter: d.range.end.character, message: d.message }));
}

function workspace(files: Record<string, string>): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-knowledge-')));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

async function configChanged(client: TestClient, file: string, type: number): Promise<void> {
  await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(file), type }] });
}

describe('knowledge models in the language server', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = workspace({ 'app.py': LEAK, 'never_opened.py': LEAK });
    client = await TestClient.start({ rootPath: ws });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('the leak is a diagnostic (open and indexed files) only while the workspace .hazard-lens.json declares the opener', async () => {
    const uri = uriOf(path.join(ws, 'app.py'));
    await client.open(uri, 'python', LEAK);
    const first = await client.waitForDiagnostics(uri, 1);
    assert.deepEqual(leaks(first.diagnostics), []);

    const config = path.join(ws, '.hazard-lens.json');
    let from = client.diagnostics.events.length;
    fs.writeFileSync(config, MODEL);
    await configChanged(client, config, CREATED);
    const modelled = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length > 0, { from });
    assert.deepEqual(leaks(modelled.diagnostics), [{ line: 4, character: 8, endCharacter: 20, message: MESSAGE }]);
    // The workspace index analyses the files never opened with the models too (a workspace scan publishes them).
    const summary = await client.executeCommand<{ findings: number; error?: string }>('hazardLens.scanWorkspace');
    assert.equal(summary.error, undefined, summary.error);
    assert.equal(summary.findings, 2);
    const indexed = await client.waitForDiagnostics(uriOf(path.join(ws, 'never_opened.py')), undefined, (d) => leaks(d).length > 0, { from });
    assert.deepEqual(leaks(indexed.diagnostics), [{ line: 4, character: 8, endCharacter: 20, message: MESSAGE }]);

    // A malformed model: an error message to the client, the last good models are kept.
    const messagesBefore = client.messages.events.length;
    fs.writeFileSync(config, MALFORMED);
    await configChanged(client, config, CHANGED);
    const shown = await client.messages.waitFor(
      (m) => m.type === 1 && m.message.includes('knowledge.python.openers[0].name: expected a non-empty string'),
      'the error message about the malformed model',
      undefined,
      messagesBefore,
    );
    assert.match(shown.message, /^Hazard Lens: \/.*\/\.hazard-lens\.json has errors, so its last valid settings are kept until it is fixed\. \/.*\.hazard-lens\.json: knowledge\.python\.openers\[0\]\.name: expected a non-empty string$/);
    assert.ok(client.logs.some((l) => l.includes('knowledge.python.openers[0].name: expected a non-empty string')), 'the error is in the log');
    // Still serving, still with the last good models: an edit is analysed with them.
    from = client.diagnostics.events.length;
    const version = await client.change(uri, [{ text: `# edited\n${LEAK}` }]);
    const edited = await client.waitForDiagnostics(uri, version, () => true, { from });
    assert.deepEqual(leaks(edited.diagnostics), [{ line: 5, character: 8, endCharacter: 20, message: MESSAGE.replace('line 6', 'line 7') }]);

    // The file removed: no models, no leak.
    from = client.diagnostics.events.length;
    fs.rmSync(config);
    await configChanged(client, config, 3);
    const removed = await client.waitForDiagnostics(uri, version, (d) => leaks(d).length === 0, { from });
    assert.deepEqual(leaks(removed.diagnostics), []);
  });
});

const HIVE_APP =
  "import { createServer } from 'node:http';\nimport { readFileSync } from 'node:fs';\nimport { connect } from 'hive-bus';\n\nconst bus = connect('hive://orders');\nbus.publish('up');\n\ncreateServer((req, res) => {\n  res.end(readFileSync('/srv/report.txt'));\n}).listen(8080);\n";
const HIVE_MODEL = JSON.stringify({ knowledge: { typescript: { keepAlive: [{ module: 'hive-bus', export: 'connect', note: 'hive pings every 10 s' }] } } });
const HIVE_MALFORMED = JSON.stringify({ knowledge: { typescript: { keepAlive: [{ module: 'hive-bus', export: 'connect', role: 'beat' }] } } });

function starved(diagnostics: Diagnostic[]): { line: number; character: number; message: string; related: string[] }[] {
  return diagnostics
    .filter((d) => d.code === 'heartbeat-starved-by-blocking-call')
    .map((d) => ({ line: d.range.start.line, character: d.range.start.character, message: d.message, related: (d.relatedInformation ?? []).map((r) => `${r.location.range.start.line + 1} ${r.message}`) }));
}

describe('a TypeScript keep-alive model in the language server', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = workspace({ 'package.json': JSON.stringify({ name: 'orders', main: 'index.js' }), 'index.ts': HIVE_APP });
    // (Indexing progress shown at once, so the test can wait for the index.)
    client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0 } });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test("the messaging client's connect() is a heartbeat only while the model declares it; a malformed model is an error", async () => {
    const uri = uriOf(path.join(ws, 'index.ts'));
    await client.open(uri, 'typescript', HIVE_APP);
    const first = await client.waitForDiagnostics(uri, 1);
    assert.deepEqual(starved(first.diagnostics), []);
    // The program's entry (package.json "main") is known once the workspace is indexed; the
    // model is declared after that, so the chain below does not depend on which came first.
    await client.indexingDone();

    const config = path.join(ws, '.hazard-lens.json');
    const from = client.diagnostics.events.length;
    fs.writeFileSync(config, HIVE_MODEL);
    await configChanged(client, config, CREATED);
    const modelled = await client.waitForDiagnostics(uri, 1, (d) => starved(d).length > 0, { from });
    assert.deepEqual(starved(modelled.diagnostics), [
      {
        line: 8,
        character: 10,
        message:
          'readFileSync() blocks the event loop in a request handler (createServer()) of a program whose heartbeat runs on the same loop (connect() from hive-bus at line 5: hive pings every 10 s); while it runs no heartbeat is sent and the peer may drop the connection',
        related: [
          '5 heartbeat started here (connect() from hive-bus)',
          '1 program entry point (package.json "main")',
          '8 request handler registered here (createServer())',
          '9 blocks the event loop here (readFileSync())',
        ],
      },
    ]);

    const messagesBefore = client.messages.events.length;
    fs.writeFileSync(config, HIVE_MALFORMED);
    await configChanged(client, config, CHANGED);
    await client.messages.waitFor(
      (m) => m.type === 1 && m.message.includes('knowledge.typescript.keepAlive[0].role: expected one of "connection", "ping"'),
      'the error message about the malformed TypeScript model',
      undefined,
      messagesBefore,
    );
  });
});

describe('a malformed model when the server starts', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = workspace({ 'app.py': LEAK, '.hazard-lens.json': MALFORMED });
    client = await TestClient.start({ rootPath: ws });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('is reported to the client, and the file is analysed without models', async () => {
    const uri = uriOf(path.join(ws, 'app.py'));
    await client.open(uri, 'python', LEAK);
    const published = await client.waitForDiagnostics(uri, 1);
    assert.deepEqual(leaks(published.diagnostics), []);
    const shown = await client.messages.waitFor((m) => m.type === 1 && m.message.includes('knowledge.python.openers[0].name'), 'the error message');
    assert.match(shown.message, /so what could be read is used until it is fixed/);
  });
});
