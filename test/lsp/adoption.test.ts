/**
 * The language server and the CLI agree for a user who adopts the tool: the baseline the CLI
 * wrote (`hazardLens.baseline`, relative to the workspace folder) hides the same findings in
 * the editor, and fix-all applies the safe fix of a cross-file finding (the descriptor is
 * opened in one file, the fork whose child execs is in another) as `--fix` does.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { buildBaseline, baselineText } from '../../server/src/engine/baseline';
import type { Finding } from '../../server/src/analysis/results';
import { editsFor, TestClient, uriOf } from './client';

const ROOT = path.join(__dirname, '..', '..');
const FIX_ALL = 'source.fixAll.hazardLens';
const made: string[] = [];
const clients: TestClient[] = [];
after(async () => {
  for (const c of clients) await c.stop();
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function workspace(files: Record<string, string>): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-adoption-')));
  made.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const codes = (ds: Diagnostic[]) => ds.map((d) => `${d.code}@${d.range.start.line + 1}`);

/** The finding a baseline recorded: the leak of `fh = open(p)` on the file's second line. */
function recordedLeak(file: string): Finding {
  return {
    ruleId: 'unreleased-file',
    path: file,
    range: { start: { line: 1, character: 9 }, end: { line: 1, character: 16 } },
    message: 'recorded',
    severity: 'warning',
    related: [],
    fixes: [],
  };
}

describe('adopting the tool in the editor', () => {
  test('hazardLens.baseline hides the recorded findings; a new one shows', async () => {
    const old = 'def size(p):\n    fh = open(p)\n    return len(fh.read())\n';
    const fresh = 'def size(p):\n    fh = open(p)\n    return len(fh.read())\n\n\ndef head(p):\n    src = open(p)\n    return src.readline()\n';
    // Moved down by two lines since the baseline was written: still the same finding.
    const ws = workspace({ 'app/size.py': `# sizes\n\n${fresh}` });
    const recorded = recordedLeak(path.join(ws, 'app', 'size.py'));
    const base = path.join(ws, 'ci');
    fs.mkdirSync(base);
    fs.writeFileSync(path.join(base, 'baseline.json'), baselineText(buildBaseline([recorded], base, () => old)));

    const client = await TestClient.start({ rootPath: ws, settings: { baseline: 'ci/baseline.json' } });
    clients.push(client);
    const uri = uriOf(path.join(ws, 'app', 'size.py'));
    await client.open(uri, 'python', fs.readFileSync(path.join(ws, 'app', 'size.py'), 'utf8'));
    const shown = await client.waitForDiagnostics(uri, 1, (d) => d.length > 0);
    assert.deepEqual(codes(shown.diagnostics), ['unreleased-file@9']);

    // Without the baseline both are shown.
    const from = client.diagnostics.events.length;
    await client.changeSettings({});
    const all = await client.waitForDiagnostics(uri, 'any', (d) => d.length === 2, { from });
    assert.deepEqual(codes(all.diagnostics), ['unreleased-file@4', 'unreleased-file@9']);
  });

  test('a baseline named in a .hazard-lens.json above the workspace folder is found from the file, as the CLI finds it', async () => {
    const text = 'def size(p):\n    fh = open(p)\n    return len(fh.read())\n\n\ndef head(p):\n    src = open(p)\n    return src.readline()\n';
    const ws = workspace({ 'app/size.py': text, '.hazard-lens.json': '{ "baseline": "ci/baseline.json" }' });
    const recorded = recordedLeak(path.join(ws, 'app', 'size.py'));
    fs.mkdirSync(path.join(ws, 'ci'));
    fs.writeFileSync(path.join(ws, 'ci', 'baseline.json'), baselineText(buildBaseline([recorded], path.join(ws, 'ci'), () => text)));
    // The workspace folder is app/, below the file.
    const client = await TestClient.start({ rootPath: path.join(ws, 'app') });
    clients.push(client);
    const uri = uriOf(path.join(ws, 'app', 'size.py'));
    await client.open(uri, 'python', text);
    const shown = await client.waitForDiagnostics(uri, 1, (d) => d.length > 0);
    assert.deepEqual(codes(shown.diagnostics), ['unreleased-file@7']);
  });

  test('fix-all applies the safe fix of a cross-file finding', async () => {
    const incident = path.join(ROOT, 'examples', 'c-hook-runner');
    const files = Object.fromEntries(fs.readdirSync(incident).filter((f) => f.endsWith('.c')).map((f) => [f, fs.readFileSync(path.join(incident, f), 'utf8')]));
    const ws = workspace(files);
    const client = await TestClient.start({ rootPath: ws });
    clients.push(client);
    const uri = uriOf(path.join(ws, 'journal.c'));
    await client.open(uri, 'c', files['journal.c']);
    const published = await client.waitForDiagnostics(uri, 1, (d) => d.some((x) => x.code === 'fd-without-cloexec'));
    const cloexec = published.diagnostics.find((d) => d.code === 'fd-without-cloexec')!;
    // The finding needs hookd.c (the fork whose child execs the hook): journal.c alone gives none.
    assert.ok((cloexec.relatedInformation ?? []).some((r) => r.location.uri.endsWith('/hookd.c')), JSON.stringify(cloexec.relatedInformation));
    const actions = (await client.codeActions(uri, cloexec.range, { diagnostics: [], only: [FIX_ALL] })) ?? [];
    assert.equal(actions.length, 1, JSON.stringify(actions));
    const [edit] = editsFor(actions[0].edit, uri);
    assert.equal(edit.newText, files['journal.c'].replace('O_WRONLY | O_APPEND | O_CREAT, 0640', 'O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640'));
  });
});
