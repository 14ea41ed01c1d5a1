/**
 * Incremental re-evaluation in the language server, over a real JSON-RPC connection to the
 * built server (`node scripts/build.mjs` first): an edit of one file updates the findings of
 * the files that depend on it — a file only on disk included — removing a finding, then
 * adding it back, while a file that does not depend on the edit is not republished. Every
 * wait is for an event, never a sleep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

const FORK_RULE = 'fork-in-threaded-program';
const LEAK_RULE = 'unreleased-file';
const THREAD_START = 'threading.Thread(target=heartbeat, daemon=True).start()';
/** A module that starts a thread when it is imported. */
const WORKER = ['import threading', '', '', 'def heartbeat():', '    pass', '', '', THREAD_START, ''].join('\n');
const THREAD_LINE = 7;
/** A program that imports the worker, then forks. */
const MAIN = ['import os', '', 'import worker', '', 'if __name__ == "__main__":', '    pid = os.fork()', '    if pid == 0:', '        os._exit(0)', '    os.waitpid(pid, 0)', ''].join('\n');
const FORK_LINE = 5;
/** A file of its own (no import of the worker) with a finding, so it has been published. */
const OTHER = 'def f(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';

function byRule(diagnostics: Diagnostic[], rule: string): Diagnostic[] {
  return diagnostics.filter((d) => d.code === rule);
}

describe('incremental re-evaluation: an edit updates the findings of dependent files, and only those', () => {
  test('removing, then restoring, the thread start in worker.py (open) removes and re-adds the finding in main.py (on disk); other.py is left alone', async () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-incremental-')));
    fs.writeFileSync(path.join(ws, 'worker.py'), WORKER);
    fs.writeFileSync(path.join(ws, 'main.py'), MAIN);
    fs.writeFileSync(path.join(ws, 'other.py'), OTHER);
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 0 } });
    try {
      const worker = uriOf(path.join(ws, 'worker.py'));
      const main = uriOf(path.join(ws, 'main.py'));
      const other = uriOf(path.join(ws, 'other.py'));
      // Files never opened are published without a version once the folder is indexed.
      const found = await client.waitForDiagnostics(main, undefined, (d) => byRule(d, FORK_RULE).length === 1);
      assert.equal(byRule(found.diagnostics, FORK_RULE)[0].range.start.line, FORK_LINE);
      await client.waitForDiagnostics(other, undefined, (d) => byRule(d, LEAK_RULE).length === 1);
      await client.open(worker, 'python', WORKER);
      await client.waitForDiagnostics(worker, 1);
      /** Publications for a URI from event `from` on, once the server has answered a request sent after them. */
      const publishedSince = async (uri: string, from: number) => {
        // The server is single-threaded and publishes a whole evaluation in one turn: once a
        // request sent now is answered, every publication of the pass before it has arrived.
        await client.hover(worker, { line: 0, character: 0 });
        return client.diagnostics.events.slice(from).filter((e) => e.uri === uri);
      };

      // An edit that REMOVES a finding in another file.
      let from = client.diagnostics.events.length;
      const v2 = await client.change(worker, [{ range: { start: { line: THREAD_LINE, character: 0 }, end: { line: THREAD_LINE + 1, character: 0 } }, text: '' }]);
      await client.waitForDiagnostics(worker, v2, undefined, { from });
      const cleared = await client.waitForDiagnostics(main, undefined, (d) => byRule(d, FORK_RULE).length === 0, { from });
      assert.deepEqual(cleared.diagnostics, [], 'main.py has no other finding');
      assert.deepEqual(await publishedSince(other, from), [], 'other.py does not depend on worker.py: not republished');
      assert.equal((await publishedSince(main, from)).length, 1, 'main.py republished once');

      // An edit that ADDS it back, with the chain into worker.py.
      from = client.diagnostics.events.length;
      const v3 = await client.change(worker, [{ range: { start: { line: THREAD_LINE, character: 0 }, end: { line: THREAD_LINE, character: 0 } }, text: `${THREAD_START}\n` }]);
      assert.equal(client.text(worker), WORKER);
      await client.waitForDiagnostics(worker, v3, undefined, { from });
      const back = await client.waitForDiagnostics(main, undefined, (d) => byRule(d, FORK_RULE).length === 1, { from });
      const [fork] = byRule(back.diagnostics, FORK_RULE);
      assert.equal(fork.range.start.line, FORK_LINE);
      const inWorker = (fork.relatedInformation ?? []).filter((r) => r.location.uri === worker);
      assert.equal(inWorker[0]?.location.range.start.line, THREAD_LINE, `the chain starts at the thread start: ${JSON.stringify(fork.relatedInformation)}`);
      assert.deepEqual(await publishedSince(other, from), [], 'other.py not republished');

      // An edit of worker.py that changes no finding anywhere republishes nothing but worker.py.
      from = client.diagnostics.events.length;
      const v4 = await client.change(worker, [{ range: { start: { line: 4, character: 8 }, end: { line: 4, character: 8 } }, text: '  # idle' }]);
      await client.waitForDiagnostics(worker, v4, undefined, { from });
      assert.deepEqual(await publishedSince(main, from), [], 'main.py: same findings, not republished');
      assert.deepEqual(await publishedSince(other, from), []);
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
