/// <reference types="mocha" />
/**
 * Settings take effect without a restart: `hazardLens.rules` turns a rule off and changes
 * its severity, and the open files are re-analysed at once.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fileUri, openFile, ruleId, setSetting, waitForDiagnostics } from './helpers';

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
});
