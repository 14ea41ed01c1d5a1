/**
 * The language server's reuse of untouched definitions across keystrokes, over a real JSON-RPC
 * connection to the built server (`node scripts/build.mjs` first). A keystroke that is undone
 * gives back a text the workspace index already has an analysis of; the server must still
 * bring its reuse state up to that text, or the next keystroke, elsewhere, differs from the
 * state in two definitions and is analysed whole. The server's own log of each pass
 * (`verbose`) says what it reused. A keystroke that indents a line past what the Python grammar
 * handles is found from the bound on nesting each edit keeps (`engine/nesting.ts`), before any
 * parse. A keystroke's own findings go out before its program facts are extracted (the order
 * of the server's messages shows it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { TestClient, uriOf } from './client';

const LEAK_RULE = 'unreleased-file';
/** Six functions; `leaky` keeps a file open on one path (line 5: `fh = open(p)`). */
const MODULE = [
  'import os',
  '',
  '',
  'def leaky(p):',
  '    fh = open(p)',
  '    if not p:',
  '        return None',
  '    data = fh.read()',
  '    fh.close()',
  '    return data',
  '',
  '',
  ...['one', 'two', 'three', 'four', 'five'].flatMap((name) => [`def ${name}(path):`, `    size = os.path.getsize(path)`, `    return size + 1`, '', '']),
].join('\n');
const LEAK_LINE = 4;
/** Line of `size = …` in `one` (the first edited function) and in `four` (the second). */
const ONE_SIZE_LINE = 13;
const FOUR_SIZE_LINE = 28;

/**
 * Runs `body` against a real server on a fresh folder holding {@link MODULE} as `module.py`,
 * opened in the editor and analysed once (its leak published), with no debounce and the
 * server's verbose log.
 */
async function withOpenModule(prefix: string, body: (client: TestClient, uri: string) => Promise<void>): Promise<void> {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const file = path.join(ws, 'module.py');
  fs.writeFileSync(file, MODULE);
  const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 0, verbose: true } });
  try {
    const uri = uriOf(file);
    await client.open(uri, 'python', MODULE);
    await client.waitForDiagnostics(uri, 1, (d) => d.some((x) => x.code === LEAK_RULE));
    await body(client, uri);
  } finally {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

describe('keystrokes in the language server: untouched definitions are reused, an undone keystroke included', () => {
  test('type in one(), undo it (the disk text again), type in four(): every pass after the first reuses the other five functions', async () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-keystroke-reuse-')));
    const file = path.join(ws, 'module.py');
    fs.writeFileSync(file, MODULE);
    assert.equal(MODULE.split('\n')[ONE_SIZE_LINE], '    size = os.path.getsize(path)');
    assert.equal(MODULE.split('\n')[FOUR_SIZE_LINE], '    size = os.path.getsize(path)');
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 0, verbose: true } });
    try {
      const uri = uriOf(file);
      // The folder is indexed first (the disk file published without a version), so the
      // disk text has an analysis in the index.
      await client.waitForDiagnostics(uri, undefined, (d) => d.some((x) => x.code === LEAK_RULE));
      await client.open(uri, 'python', MODULE);
      await client.waitForDiagnostics(uri, 1);
      /** The server's log line of the pass that analysed `version`, or undefined if none did. */
      const analysedLine = (version: number) => client.logs.find((l) => l.startsWith('analysed ') && l.includes(`module.py v${version} in `));
      // (A pass publishes the file's own findings before it extracts the program facts, and
      // logs its analysis after that: the log line may come after the diagnostics.)
      const analysedLogged = (version: number) => client.logEvents.waitFor((l) => l.startsWith('analysed ') && l.includes(`module.py v${version} in `), `the log of the pass of v${version}`);
      const type = async (line: number, insert: boolean) => {
        const at = { line, character: 5 };
        const range = insert ? { start: at, end: at } : { start: at, end: { line, character: 6 } };
        const from = client.diagnostics.events.length;
        const version = await client.change(uri, [{ range, text: insert ? 'x' : '' }]);
        const published = await client.waitForDiagnostics(uri, version, undefined, { from });
        await analysedLogged(version);
        return { version, published };
      };

      const typed = await type(ONE_SIZE_LINE, true);
      assert.ok(analysedLine(typed.version), `a pass analysed v${typed.version}`);
      const undone = await type(ONE_SIZE_LINE, false);
      // The disk text again: analysed from the reuse state, not taken from the index.
      assert.match(analysedLine(undone.version) ?? '', /\(facts of 5 functions, handle findings of 5 reused\)$/);
      assert.deepEqual(
        undone.published.diagnostics.filter((d) => d.code === LEAK_RULE).map((d) => d.range.start.line),
        [LEAK_LINE],
      );
      const elsewhere = await type(FOUR_SIZE_LINE, true);
      assert.match(analysedLine(elsewhere.version) ?? '', /\(facts of 5 functions, handle findings of 5 reused\)$/);
      assert.deepEqual(
        elsewhere.published.diagnostics.filter((d) => d.code === LEAK_RULE).map((d) => d.range.start.line),
        [LEAK_LINE],
      );
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  test('a keystroke that indents a line past what the Python grammar handles is refused without a parse, and the next one that takes it back is analysed again', () =>
    withOpenModule('hazard-lens-keystroke-nesting-', async (client, uri) => {
      const deep = ' '.repeat(300);
      const at = { line: ONE_SIZE_LINE, character: 0 };
      let from = client.diagnostics.events.length;
      const indented = await client.change(uri, [{ range: { start: at, end: at }, text: deep }]);
      const refused = await client.waitForDiagnostics(uri, indented, undefined, { from });
      assert.deepEqual(refused.diagnostics, []);
      // (Logged before the empty publication, which came after it.)
      assert.ok(
        client.logs.some((l) => l.includes('module.py: not analysed: a line is indented 304 columns deep, over the 256 columns the Python parser handles safely (generated code?)')),
        client.logs.filter((l) => l.includes('not analysed')).join('\n'),
      );
      from = client.diagnostics.events.length;
      const back = await client.change(uri, [{ range: { start: at, end: { line: ONE_SIZE_LINE, character: 300 } }, text: '' }]);
      const analysed = await client.waitForDiagnostics(uri, back, undefined, { from });
      assert.deepEqual(
        analysed.diagnostics.filter((d) => d.code === LEAK_RULE).map((d) => d.range.start.line),
        [LEAK_LINE],
      );
    }));

  test('a keystroke\'s own findings are published before its program facts are extracted, and the evaluation does not publish them again', () =>
    withOpenModule('hazard-lens-keystroke-early-', async (client, uri) => {
      // The first pass has no evaluation to take program findings from: it publishes after it.
      await client.logEvents.waitFor((l) => l.startsWith('evaluated '), 'the first evaluation');
      const at = { line: ONE_SIZE_LINE, character: 5 };
      const from = client.diagnostics.events.length;
      const version = await client.change(uri, [{ range: { start: at, end: at }, text: 'x' }]);
      const published = await client.waitForDiagnostics(uri, version, undefined, { from });
      assert.deepEqual(
        published.diagnostics.filter((d) => d.code === LEAK_RULE).map((d) => d.range.start.line),
        [LEAK_LINE],
      );
      const analysed = await client.logEvents.waitFor((l) => l.startsWith('analysed ') && l.includes(`module.py v${version} in `), `the log of the pass of v${version}`);
      const evaluated = await client.logEvents.waitFor((l) => l.startsWith('evaluated '), 'the evaluation after it', undefined, client.logEvents.events.indexOf(analysed) + 1);
      const order = client.arrivals;
      const publication = order.indexOf(`diagnostics ${uri} v${version}`);
      assert.ok(publication >= 0 && publication < order.indexOf(`log ${analysed}`), order.slice(-8).join('\n'));
      // The evaluation found the same program findings: no second publication of this version.
      assert.ok(order.lastIndexOf(`log ${evaluated}`) > publication);
      assert.equal(order.filter((a) => a === `diagnostics ${uri} v${version}`).length, 1);
    }));
});
