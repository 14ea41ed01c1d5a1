/// <reference types="mocha" />
/**
 * Settings take effect without a restart: `hazardLens.rules` turns a rule off and changes
 * its severity, and the open files are re-analysed at once. The workspace's
 * `.hazard-lens.json` is read too, with the editor's settings layered on top (the client sends
 * only the settings the user set, so package.json defaults never hide the file's values).
 * `hazardLens.enable` stops and starts the language server.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fileUri, openFile, ruleId, setSetting, waitForDiagnostics, workspaceRoot } from './helpers';

const FILE = 'python/static_files.py';
const unreleased = (d: vscode.Diagnostic[]) => d.filter((x) => ruleId(x) === 'unreleased-file');

suite('settings', () => {
  suiteSetup(async () => {
    await openFile(FILE);
    await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 2, 'the two Python findings');
  });

  suiteTeardown(async () => {
    await setSetting('rules', undefined);
  });

  test('"off" removes the rule\'s diagnostics', async () => {
    await setSetting('rules', { 'unreleased-file': 'off' });
    await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 0, 'no unreleased-file diagnostics with the rule off');
  });

  test('a severity setting changes the diagnostics\' severity', async () => {
    await setSetting('rules', { 'unreleased-file': 'error' });
    const d = await waitForDiagnostics(
      fileUri(FILE),
      (all) => unreleased(all).length === 2 && unreleased(all).every((x) => x.severity === vscode.DiagnosticSeverity.Error),
      'two unreleased-file errors',
    );
    assert.equal(unreleased(d).length, 2);
  });

  test('removing the setting restores the default severity', async () => {
    await setSetting('rules', undefined);
    await waitForDiagnostics(
      fileUri(FILE),
      (all) => unreleased(all).length === 2 && unreleased(all).every((x) => x.severity === vscode.DiagnosticSeverity.Warning),
      'two unreleased-file warnings again',
    );
  });

  test('the workspace .hazard-lens.json applies, and an editor setting layers over it', async () => {
    const config = vscode.Uri.joinPath(workspaceRoot(), '.hazard-lens.json');
    await vscode.workspace.fs.writeFile(config, Buffer.from('{\n  // from the file\n  "rules": { "unreleased-file": "off" },\n}\n'));
    try {
      await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 0, 'the file switches the rule off');
      await setSetting('rules', { 'unreleased-file': 'info' });
      await waitForDiagnostics(
        fileUri(FILE),
        (all) => unreleased(all).length === 2 && unreleased(all).every((x) => x.severity === vscode.DiagnosticSeverity.Information),
        'the editor setting over the file: two infos',
      );
      await setSetting('rules', undefined);
      await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 0, 'the file decides again');
    } finally {
      await vscode.workspace.fs.delete(config);
    }
    await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 2, 'the default again without the file');
  });

  test('hazardLens.enable false stops the server and clears its diagnostics; back to true, they return', async () => {
    await setSetting('enable', false);
    try {
      await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 0, 'no diagnostics while Hazard Lens is off');
    } finally {
      await setSetting('enable', undefined);
    }
    await waitForDiagnostics(fileUri(FILE), (d) => unreleased(d).length === 2, 'the findings again once Hazard Lens is on');
  });
});
