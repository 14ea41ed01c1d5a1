/**
 * Handle summaries in the language server, over a real JSON-RPC connection to the built
 * server: a leak in one file through another file's helper is a diagnostic with its chain
 * into the helper's file, and an edit of the helper (open in the editor, not saved) makes it
 * go and come back. Every wait is for an event, never a sleep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

const LEAK_RULE = 'unreleased-file';
/** A helper that hands out an open file. */
const STORE = ['def open_blob(path):', '    blob = open(path, "rb")', '    return blob', ''].join('\n');
/** The helper, closing the file itself instead (what it returns is no handle). */
const STORE_CLOSING = ['def open_blob(path):', '    with open(path, "rb") as blob:', '        return blob.name', ''].join('\n');
/** A caller that closes the helper's file, but not when read() raises. */
const READER = ['from store import open_blob', '', '', 'def magic(path):', '    blob = open_blob(path)', '    head = blob.read(4)', '    blob.close()', '    return head', ''].join('\n');
const OPEN_LINE = 4;

function leaks(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((d) => d.code === LEAK_RULE);
}

describe('handle summaries in the language server', () => {
  test('a leak through another module’s helper follows unsaved edits of the helper', async () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-summaries-')));
    fs.writeFileSync(path.join(ws, 'store.py'), STORE);
    fs.writeFileSync(path.join(ws, 'reader.py'), READER);
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 0 } });
    try {
      const store = uriOf(path.join(ws, 'store.py'));
      const reader = uriOf(path.join(ws, 'reader.py'));
      const found = await client.waitForDiagnostics(reader, undefined, (d) => leaks(d).length === 1);
      const [leak] = leaks(found.diagnostics);
      assert.equal(leak.range.start.line, OPEN_LINE);
      assert.equal(leak.message, "Handle 'blob' from open_blob() is not released on every path: it leaks at an exception raised on line 6");
      const steps = (leak.relatedInformation ?? []).map((r) => `${path.basename(r.location.uri)}:${r.location.range.start.line + 1} ${r.message}`);
      assert.deepEqual(steps, ['reader.py:5 opened here by open_blob()', 'store.py:2 open_blob() returns a new handle from open() here', 'reader.py:6 an exception here leaves the handle open']);

      await client.open(store, 'python', STORE);
      await client.waitForDiagnostics(store, 1);
      let from = client.diagnostics.events.length;
      const v2 = await client.change(store, [{ text: STORE_CLOSING }]);
      await client.waitForDiagnostics(store, v2, undefined, { from });
      await client.waitForDiagnostics(reader, undefined, (d) => leaks(d).length === 0, { from });

      from = client.diagnostics.events.length;
      const v3 = await client.change(store, [{ text: STORE }]);
      await client.waitForDiagnostics(store, v3, undefined, { from });
      const back = await client.waitForDiagnostics(reader, undefined, (d) => leaks(d).length === 1, { from });
      assert.equal(leaks(back.diagnostics)[0].range.start.line, OPEN_LINE);
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
