/// <reference types="mocha" />
/**
 * Activation: the extension starts on C, Python and TypeScript files and its server answers
 * for each language. Runs first (files run in name order): nothing has activated it yet.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, fileUri, log, openFile, waitForActivation, waitForDiagnostics } from './helpers';

suite('activation', () => {
  test('declares activation on C, Python and TypeScript', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
    const events = (ext.packageJSON as { activationEvents?: string[] }).activationEvents ?? [];
    for (const language of ['c', 'python', 'typescript']) {
      assert.ok(events.includes(`onLanguage:${language}`), `activationEvents lacks onLanguage:${language}: ${JSON.stringify(events)}`);
    }
  });

  test('activates when a C file is opened', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    log(`      (active before opening a file: ${ext.isActive})`);
    await openFile('c/config_reader.c');
    await waitForActivation(ext, 'opening c/config_reader.c');
    await waitForDiagnostics(fileUri('c/config_reader.c'), (d) => d.length > 0, 'diagnostics of the C example');
  });

  for (const [language, file] of [
    ['python', 'python/static_files.py'],
    ['typescript', 'typescript/download.ts'],
  ] as const) {
    test(`analyses ${language} files when they are opened`, async () => {
      const editor = await openFile(file);
      assert.equal(editor.document.languageId, language);
      await waitForDiagnostics(fileUri(file), (d) => d.length > 0, `diagnostics of the ${language} example`);
    });
  }
});
