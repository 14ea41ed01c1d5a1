/// <reference types="mocha" />
/**
 * Code actions as the lightbulb offers them: the fix rewrites the code and its diagnostic
 * goes away; "Disable <rule> for this line" inserts the suppression comment above the line
 * and the diagnostic goes away. Each test puts the file back as it found it.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { applyAction, describe, fileUri, openFile, quickFixes, ruleId, setText, waitForDiagnostics } from './helpers';

const unreleased = (d: vscode.Diagnostic[]) => d.filter((x) => ruleId(x) === 'unreleased-file');

/** Whether a code action is a fix of the code (not a suppression, docs link or suggestion). */
function isCodeFix(action: vscode.CodeAction): boolean {
  return !/^Disable |^Show documentation|suggestion only/.test(action.title) && action.edit !== undefined && !action.disabled;
}

suite('code actions', () => {
  test('the quick fix for the Python leak applies and the diagnostic goes away', async () => {
    const file = 'python/static_files.py';
    const uri = fileUri(file);
    const editor = await openFile(file);
    const original = editor.document.getText();
    const before = unreleased(await waitForDiagnostics(uri, (d) => unreleased(d).length === 2, 'the two Python findings'));
    const target = before.find((d) => d.range.start.line === 7);
    assert.ok(target, `no finding on line 8:\n    ${describe(before)}`);

    const actions = await quickFixes(uri, target);
    const titles = actions.map((a) => a.title);
    const fix = actions.find(isCodeFix);
    assert.ok(fix, `no code fix offered; actions: ${JSON.stringify(titles)}`);
    assert.ok(titles.some((t) => t === 'Disable unreleased-file for this line'), `no "Disable" action in ${JSON.stringify(titles)}`);
    assert.ok(titles.some((t) => t === 'Show documentation for unreleased-file'), `no docs action in ${JSON.stringify(titles)}`);
    assert.equal(fix.isPreferred, true, `the safe fix "${fix.title}" should be the preferred action`);

    try {
      await applyAction(fix);
      const text = editor.document.getText();
      assert.notEqual(text, original, 'the fix changed nothing');
      assert.match(text, /with open\(path, "rb"\) as fh:/, `the fix should open the file in a with block:\n${text}`);
      const after = await waitForDiagnostics(uri, (d) => unreleased(d).length === 1, 'one finding left after the fix');
      assert.equal(after[0]?.range.start.line, editor.document.getText().split('\n').findIndex((l) => l.includes('open(path).read()')), 'the finding left is read_version()');
    } finally {
      await setText(uri, original);
      await waitForDiagnostics(uri, (d) => unreleased(d).length === 2, 'the two findings back after restoring the file');
    }
  });

  test('the "Fix All Safely Fixable Problems in This File" command applies the safe Python fix', async () => {
    const file = 'python/static_files.py';
    const uri = fileUri(file);
    const editor = await openFile(file);
    const original = editor.document.getText();
    await waitForDiagnostics(uri, (d) => unreleased(d).length === 2, 'the two Python findings');
    try {
      await vscode.commands.executeCommand('hazardLens.fixAll');
      // read_version()'s `open(path).read()` has no safe fix: it stays.
      await waitForDiagnostics(uri, (d) => unreleased(d).length === 1, 'one finding left after fixing the file');
      assert.match(editor.document.getText(), /with open\(path, "rb"\) as fh:/);
    } finally {
      await setText(uri, original);
      await waitForDiagnostics(uri, (d) => unreleased(d).length === 2, 'the two findings back after restoring the file');
    }
  });

  test('"Disable unreleased-file for this line" inserts the comment and silences the finding', async () => {
    const file = 'c/config_reader.c';
    const uri = fileUri(file);
    const editor = await openFile(file);
    const original = editor.document.getText();
    const [target] = unreleased(await waitForDiagnostics(uri, (d) => unreleased(d).length === 1, 'the C finding'));
    assert.ok(target);
    const line = target.range.start.line;
    const indent = /^\s*/.exec(editor.document.lineAt(line).text)?.[0] ?? '';

    const actions = await quickFixes(uri, target);
    const disable = actions.find((a) => a.title === 'Disable unreleased-file for this line');
    assert.ok(disable, `no "Disable" action in ${JSON.stringify(actions.map((a) => a.title))}`);

    try {
      await applyAction(disable);
      const doc = editor.document;
      assert.equal(doc.lineAt(line).text, `${indent}// hazard-lens: ignore[unreleased-file]`, 'the comment goes on its own line above, indented like it');
      assert.match(doc.lineAt(line + 1).text, /fopen\(path, "r"\)/, 'the finding\'s line moved down by one');
      await waitForDiagnostics(uri, (d) => unreleased(d).length === 0 && !d.some((x) => ruleId(x) === 'unused-suppression'), 'the finding silenced (and the suppression used)');
    } finally {
      await setText(uri, original);
      await waitForDiagnostics(uri, (d) => unreleased(d).length === 1, 'the finding back after restoring the file');
    }
  });
});
