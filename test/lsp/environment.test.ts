/**
 * Installed packages in the language server: a workspace folder with a `.venv` gets the same
 * green-heartbeat diagnostic as the CLI (at the application's call into the package, the
 * chain going into the installed file), and `hazardLens.pythonEnvironment: "none"` evaluates
 * without the environment.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

const SCENARIO = path.join(__dirname, '..', 'fixtures', 'programs', 'py-installed-heartbeat', 'green');

function heartbeats(diagnostics: Diagnostic[]): string[] {
  return diagnostics.filter((d) => d.code === 'green-heartbeat').map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity}`);
}

describe('a Python environment in the language server', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-env-')));
    fs.cpSync(SCENARIO, ws, { recursive: true });
    client = await TestClient.start({ rootPath: ws });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('the heartbeat thread of an installed package is reported at the call into it, with the chain into the package', async () => {
    const file = path.join(ws, 'shop', 'wsgi.py');
    const uri = uriOf(file);
    await client.open(uri, 'python', fs.readFileSync(file, 'utf8'));
    const published = await client.waitForDiagnostics(uri, 1, (d) => heartbeats(d).length > 0);
    assert.deepEqual(heartbeats(published.diagnostics), ['4:7 1']);
    const d = published.diagnostics.find((x) => x.code === 'green-heartbeat')!;
    const inPackage = (d.relatedInformation ?? []).filter((r) => r.location.uri.includes('/.venv/'));
    assert.deepEqual(
      inPackage.map((r) => `${path.basename(r.location.uri)}:${r.location.range.start.line + 1} ${r.message}`),
      [
        'connection.py:13 Connection.__init__() calls Connection._start_heartbeat()',
        'connection.py:18 Connection._start_heartbeat() starts the heartbeat thread',
        'connection.py:20 heartbeat thread started here, in the installed chatter (threading.Thread.start()); it is a green thread now',
        "connection.py:23 the thread's loop sends the heartbeat here (self.send_heartbeat()) and sleeps",
        '__init__.py:2 imported from here',
      ],
    );
    // Nothing is published for the installed package's own files.
    assert.ok(![...client.diagnostics.events].some((e) => e.uri.includes('/.venv/') && e.diagnostics.length > 0));

    // Turned off in the settings: evaluated without the package, so no thread is seen.
    const from = client.diagnostics.events.length;
    await client.changeSettings({ pythonEnvironment: 'none' });
    const off = await client.waitForDiagnostics(uri, 'any', (x) => heartbeats(x).length === 0, { from });
    assert.deepEqual(heartbeats(off.diagnostics), []);
  });
});
