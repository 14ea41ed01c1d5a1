/**
 * The order of publications after an edit, over a real JSON-RPC connection to the built server
 * (`node scripts/build.mjs` first): the edited file's own findings are published first — fresh,
 * with the program findings it had, moved by the edit — and the program evaluation publishes
 * the file again only when its program findings changed. Every wait is for an event.
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
/** A module that starts a thread when it is imported. */
const WORKER = ['import threading', '', '', 'def heartbeat():', '    pass', '', '', 'threading.Thread(target=heartbeat, daemon=True).start()', ''].join('\n');
/** A program that imports the worker, then forks (a program finding on line 5). */
const MAIN = ['import os', '', 'import worker', '', 'if __name__ == "__main__":', '    pid = os.fork()', '    if pid == 0:', '        os._exit(0)', '    os.waitpid(pid, 0)', ''].join('\n');
const FORK_LINE = 5;
/** A function that leaks its file on the early return (a per-file finding on its second line). */
const LEAKY = 'def read(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';

function lines(diagnostics: Diagnostic[], rule: string): number[] {
  return diagnostics.filter((d) => d.code === rule).map((d) => d.range.start.line);
}

describe('publication order: the edited file first, the program findings when ready', () => {
  test('an edit that adds a per-file and a program finding publishes the per-file one first, then both', async () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-order-')));
    fs.writeFileSync(path.join(ws, 'worker.py'), WORKER);
    fs.writeFileSync(path.join(ws, 'main.py'), MAIN);
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 0, verbose: true } });
    try {
      const main = uriOf(path.join(ws, 'main.py'));
      await client.open(main, 'python', MAIN);
      const first = await client.waitForDiagnostics(main, 1, (d) => lines(d, FORK_RULE).length === 1);
      assert.deepEqual(lines(first.diagnostics, FORK_RULE), [FORK_LINE]);

      // One change at the end: a second fork in the main block, and a function that leaks its file.
      const from = client.diagnostics.events.length;
      const end = MAIN.split('\n').length - 1;
      const v2 = await client.change(main, [{ range: { start: { line: end, character: 0 }, end: { line: end, character: 0 } }, text: `    pid2 = os.fork()\n\n\n${LEAKY}` }]);
      const leakLine = end + 4;
      const both = await client.waitForDiagnostics(main, v2, (d) => lines(d, FORK_RULE).length === 2, { from });
      const atV2 = client.diagnostics.events.slice(from).filter((e) => e.uri === main && e.version === v2);
      assert.ok(atV2.length >= 2, `expected two publications at version ${v2}, got ${atV2.length}`);
      // First: the new per-file finding, with the fork finding the file had.
      assert.deepEqual(lines(atV2[0].diagnostics, LEAK_RULE), [leakLine]);
      assert.deepEqual(lines(atV2[0].diagnostics, FORK_RULE), [FORK_LINE]);
      // Then the evaluation's: both forks, the per-file finding kept.
      assert.equal(atV2[atV2.length - 1], both);
      assert.deepEqual(lines(both.diagnostics, LEAK_RULE), [leakLine]);
      assert.deepEqual(lines(both.diagnostics, FORK_RULE), [FORK_LINE, end]);

      // A line added at the top moves every finding down; no program finding changes: published
      // once, by the first publication, with the program findings moved.
      const from3 = client.diagnostics.events.length;
      const logFrom = client.logs.length;
      const v3 = await client.change(main, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'import json\n' }]);
      const third = await client.waitForDiagnostics(main, v3, undefined, { from: from3 });
      assert.deepEqual(lines(third.diagnostics, LEAK_RULE), [leakLine + 1]);
      assert.deepEqual(lines(third.diagnostics, FORK_RULE), [FORK_LINE + 1, end + 1]);
      // The evaluation after it logs when it is done (verbose): it published nothing more.
      await waitUntil(() => client.logs.slice(logFrom).some((l) => l.startsWith('evaluated ')), 10_000);
      const atV3 = client.diagnostics.events.slice(from3).filter((e) => e.uri === main && e.version === v3);
      assert.equal(atV3.length, 1, `published ${atV3.length} times at version ${v3}`);
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});

/** Polls a condition the server's log makes true (bounded; not a fixed sleep). */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!condition() && Date.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 10));
}
