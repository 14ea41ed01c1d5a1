/**
 * One configuration for the CLI and the language server: the same folder with a project
 * `.hazard-lens.json` (JSON with comments; a rule switched off, a severity changed) and a
 * nested folder with its own nearer file gives the same findings from `hazard-lens scan` and
 * from the server's workspace scan; the editor's settings layer over the files; a bad file is
 * shown (window message and log), the last good settings stay in use, and a rule the user
 * switched off never reports because of a typo.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { runCli } from '../cli/helpers';
import { TestClient, uriOf } from './client';

// A thread started before a fork (fork-in-threaded-program) and a file left open (unreleased-file).
const PROGRAM = ['import os', 'import threading', '', '', 'def work():', '    pass', '', '', 'def main(p):', '    threading.Thread(target=work).start()', '    f = open(p)', '    f.read()', '    return os.fork()', ''].join('\n');

const PROJECT_CONFIG = `{
  // Forks are reviewed by hand here; leaks fail the build.
  "rules": {
    "fork-in-threaded-program": "off",
    "unreleased-file": "error",
  },
}
`;
// Nearest file wins: its rules replace the project's (fork-in-threaded-program is back at its default).
const NESTED_CONFIG = '{ "rules": { "unreleased-file": "off" } }';

const CHANGED = 2;
const SEVERITY_NAMES: Record<number, string> = { 1: 'error', 2: 'warning', 3: 'info', 4: 'hint' };

interface Seen {
  path: string;
  line: number;
  ruleId: string;
  severity: string;
}

const byKey = (a: Seen, b: Seen) => (a.path + a.line + a.ruleId < b.path + b.line + b.ruleId ? -1 : 1);

function workspace(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-config-')));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'app.py'), PROGRAM);
  fs.writeFileSync(path.join(dir, 'sub', 'worker.py'), PROGRAM);
  fs.writeFileSync(path.join(dir, '.hazard-lens.json'), PROJECT_CONFIG);
  fs.writeFileSync(path.join(dir, 'sub', '.hazard-lens.json'), NESTED_CONFIG);
  return dir;
}

function cliFindings(dir: string): Seen[] {
  const r = runCli(['scan', '--no-cache', '-q', '-f', 'json'], { cwd: dir });
  assert.equal(r.stderr, '');
  const report = JSON.parse(r.stdout) as { findings: { path: string; ruleId: string; severity: string; range: { start: { line: number } } }[] };
  return report.findings.map((f) => ({ path: f.path, line: f.range.start.line, ruleId: f.ruleId, severity: f.severity })).sort(byKey);
}

function seen(dir: string, file: string, diagnostics: Diagnostic[]): Seen[] {
  return diagnostics.map((d) => ({ path: file, line: d.range.start.line + 1, ruleId: String(d.code), severity: SEVERITY_NAMES[d.severity ?? 1] }));
}

/** The server's diagnostics of both files after a workspace scan, from event `from` on. */
async function serverFindings(client: TestClient, dir: string, predicate: (all: Seen[]) => boolean = () => true): Promise<Seen[]> {
  for (let attempt = 0; ; attempt++) {
    const from = client.diagnostics.events.length;
    const summary = await client.executeCommand<{ findings: number; error?: string }>('hazardLens.scanWorkspace');
    assert.equal(summary.error, undefined, summary.error);
    const all: Seen[] = [];
    for (const file of ['app.py', 'sub/worker.py']) {
      const published = await client.waitForDiagnostics(uriOf(path.join(dir, ...file.split('/'))), 'any', () => true, { from });
      all.push(...seen(dir, file, published.diagnostics));
    }
    all.sort(byKey);
    if (predicate(all) || attempt >= 20) return all;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const EXPECTED: Seen[] = [
  { path: 'app.py', line: 11, ruleId: 'unreleased-file', severity: 'error' },
  { path: 'sub/worker.py', line: 13, ruleId: 'fork-in-threaded-program', severity: 'warning' },
];

describe('one configuration for the CLI and the language server', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = workspace();
    client = await TestClient.start({ rootPath: ws, settings: {} });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('the CLI and the server give the same findings: rule off, severity changed, the nested file nearer', async () => {
    assert.deepEqual(cliFindings(ws), EXPECTED);
    assert.deepEqual(await serverFindings(client, ws), EXPECTED);
  });

  test('the editor settings layer over the files, rule by rule', async () => {
    await client.changeSettings({ rules: { 'unreleased-file': 'info' } });
    const layered = await serverFindings(client, ws, (all) => all.some((f) => f.severity === 'info'));
    assert.deepEqual(layered, [
      { path: 'app.py', line: 11, ruleId: 'unreleased-file', severity: 'info' },
      { path: 'sub/worker.py', line: 11, ruleId: 'unreleased-file', severity: 'info' },
      { path: 'sub/worker.py', line: 13, ruleId: 'fork-in-threaded-program', severity: 'warning' },
    ]);
    await client.changeSettings({});
    assert.deepEqual(await serverFindings(client, ws, (all) => !all.some((f) => f.severity === 'info')), EXPECTED);
  });

  test('a misspelt severity and invalid JSON are shown, and the last good settings stay (the switched-off rule stays off)', async () => {
    const config = path.join(ws, '.hazard-lens.json');
    for (const [bad, error] of [
      ['{ "rules": { "fork-in-threaded-program": "of", "unreleased-file": "error" } }', '"rules.fork-in-threaded-program" is invalid (expected one of "off", "error", "warning", "info", "hint", got "of")'],
      ['{\n  "rules": { "fork-in-threaded-program": "off" }\n  "exclude": []\n}\n', '.hazard-lens.json:3:3: invalid JSON (comma expected)'],
    ]) {
      const messagesBefore = client.messages.events.length;
      fs.writeFileSync(config, bad);
      await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(config), type: CHANGED }] });
      const shown = await client.messages.waitFor((m) => m.type === 1 && m.message.includes(error), `the error message (${error})`, undefined, messagesBefore);
      assert.match(shown.message, /has errors, so its last valid settings are kept until it is fixed/);
      assert.ok(client.logs.some((l) => l.includes(error)), 'the error is in the log');
      assert.deepEqual(await serverFindings(client, ws), EXPECTED);
      // The CLI stops on the same file.
      const r = runCli(['scan', '--no-cache', '-q'], { cwd: ws });
      assert.equal(r.status, 2);
      assert.ok(r.stderr.includes(error), r.stderr);
    }
    fs.writeFileSync(config, PROJECT_CONFIG);
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(config), type: CHANGED }] });
  });

  test('a bad nested file is shown too, and its folder keeps the file\'s last good rules', async () => {
    const nested = path.join(ws, 'sub', '.hazard-lens.json');
    const error = '"rules.unreleased-file" is invalid (expected one of "off", "error", "warning", "info", "hint", got "of")';
    const messagesBefore = client.messages.events.length;
    fs.writeFileSync(nested, '{ "rules": { "unreleased-file": "of" } }');
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(nested), type: CHANGED }] });
    const shown = await client.messages.waitFor((m) => m.type === 1 && m.message.includes(error), 'the error message about the nested file', undefined, messagesBefore);
    assert.ok(shown.message.includes(nested), shown.message);
    assert.deepEqual(await serverFindings(client, ws), EXPECTED);
    fs.writeFileSync(nested, NESTED_CONFIG);
    await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(nested), type: CHANGED }] });
  });
});

describe('a misspelt severity when the server starts', () => {
  let ws = '';
  let client: TestClient;
  before(async () => {
    ws = workspace();
    fs.writeFileSync(path.join(ws, '.hazard-lens.json'), '{ "rules": { "fork-in-threaded-program": "of", "unreleased-file": "error" } }');
    client = await TestClient.start({ rootPath: ws, settings: {} });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('fails closed: the rule is off (never reported), the other rules keep their settings, and the error is shown', async () => {
    assert.deepEqual(await serverFindings(client, ws), EXPECTED);
    const shown = await client.messages.waitFor((m) => m.type === 1 && m.message.includes('rules.fork-in-threaded-program'), 'the error message');
    assert.match(shown.message, /so what could be read is used until it is fixed \(a rule with a misspelt severity is off\)/);
  });
});
