/**
 * node_modules in the language server: a workspace folder whose installed client keeps its
 * connection alive with a timer gets the same heartbeat-starved-by-blocking-call diagnostic as
 * the CLI (at the application's blocking call, the chain going through the connection call into
 * the package's file), nothing is published for the package's own files, and
 * `hazardLens.nodeModules: "none"` evaluates without the packages.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

const SCENARIO = path.join(__dirname, '..', 'fixtures', 'programs', 'ts-installed-heartbeat', 'blocking-handler');
const RULE = 'heartbeat-starved-by-blocking-call';

function starved(diagnostics: Diagnostic[]): string[] {
  return diagnostics.filter((d) => d.code === RULE).map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity}`);
}

describe('node_modules in the language server', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-node-')));
    fs.cpSync(SCENARIO, ws, { recursive: true });
    client = await TestClient.start({ rootPath: ws });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test("the keep-alive timer of an installed client is joined: the blocking handler is reported, with the chain into the package", async () => {
    const file = path.join(ws, 'index.js');
    const uri = uriOf(file);
    await client.open(uri, 'javascript', fs.readFileSync(file, 'utf8'));
    const published = await client.waitForDiagnostics(uri, 1, (d) => starved(d).length > 0);
    assert.deepEqual(starved(published.diagnostics), ['8:3 2']);
    const d = published.diagnostics.find((x) => x.code === RULE)!;
    // (The entry step — package.json "main", or the folder's index before the project files are indexed — is left out.)
    assert.deepEqual(
      (d.relatedInformation ?? []).filter((r) => !r.message.startsWith('program entry point')).map((r) => `${path.relative(ws, new URL(r.location.uri).pathname)}:${r.location.range.start.line + 1} ${r.message}`),
      [
        'index.js:5 connection set up here: calls into the installed package hopper-mq',
        'node_modules/hopper-mq/lib/heartbeat.js:6 keep-alive timer of the installed package hopper-mq started here (setInterval())',
        'node_modules/hopper-mq/lib/index.js:12 `startHeartbeat()` arms a keep-alive here (setInterval())',
        "index.js:6 message handler registered here (conn.on('message'))",
        'index.js:8 blocks the event loop here (execSync())',
      ],
    );
    // Nothing is published for the installed package's own files.
    assert.ok(![...client.diagnostics.events].some((e) => e.uri.includes('/node_modules/') && e.diagnostics.length > 0));

    // Turned off in the settings: evaluated without the package, so no keep-alive is seen.
    const from = client.diagnostics.events.length;
    await client.changeSettings({ nodeModules: 'none' });
    const off = await client.waitForDiagnostics(uri, 'any', (x) => starved(x).length === 0, { from });
    assert.deepEqual(starved(off.diagnostics), []);
  });
});
