/// <reference types="mocha" />
/**
 * Crash recovery: the language server process is killed; the client starts a new one and
 * the diagnostics come back from it (an edit after the restart is analysed).
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { diagnosticsAfter, fileUri, log, openFile, ruleId, serverPids, setText, waitForDiagnostics } from './helpers';

const FILE = 'python/static_files.py';
const linesOf = (d: vscode.Diagnostic[]) =>
  d
    .filter((x) => ruleId(x) === 'unreleased-file')
    .map((x) => x.range.start.line)
    .sort((a, b) => a - b)
    .join(',');

suite('server restart', () => {
  test('the server restarts after its process is killed and diagnostics come back', async () => {
    const uri = fileUri(FILE);
    const editor = await openFile(FILE);
    const original = editor.document.getText();
    await waitForDiagnostics(uri, (d) => linesOf(d) === '7,34', 'the two Python findings');

    const before = serverPids();
    assert.equal(before.length, 1, `expected one language server process, found ${JSON.stringify(before)}`);
    log(`      killing the language server (pid ${before[0]})`);
    // The restarted server re-reads the open documents and publishes their diagnostics again.
    await diagnosticsAfter(uri, () => Promise.resolve(process.kill(before[0], 'SIGKILL')), (d) => linesOf(d) === '7,34', 'diagnostics from the restarted server');
    const after = serverPids();
    assert.equal(after.length, 1, `expected one language server process after the restart, found ${JSON.stringify(after)}`);
    assert.notEqual(after[0], before[0], 'a new server process');

    // The new server analyses edits: a line inserted at the top moves both findings down.
    try {
      await setText(uri, `# edited after the restart\n${original}`);
      await waitForDiagnostics(uri, (d) => linesOf(d) === '8,35', 'the findings moved down by one line');
    } finally {
      await setText(uri, original);
      await waitForDiagnostics(uri, (d) => linesOf(d) === '7,34', 'the findings back in place');
    }
  });
});
