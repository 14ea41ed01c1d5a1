/**
 * Edits typed faster than the server analyses them, over a real JSON-RPC connection to the built
 * server (`node scripts/build.mjs` first): passes overlap with edits (a pass publishes the
 * file's own findings, then extracts the program facts; an edit in between ends it, and the
 * tree is parsed again at each change). However they interleave, the diagnostics the server
 * ends with are those a fresh server gives for the final text.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver/node';
import { TestClient, uriOf } from './client';

/** A class of 30 small methods, each assigning a local at 8 columns (where the edits go). */
const START = `import socket\n\n\nclass Worker:\n${Array.from({ length: 30 }, (_, i) => `    def step${i}(self, path):\n        size = ${i}\n        return size\n\n`).join('')}`;

/** A small deterministic generator, so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** The diagnostics as comparable lines, in a fixed order. */
function lines(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => `${String(d.code)} ${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character} ${d.message}`).sort();
}

/** Opens `text` as `module.py` in a fresh server (debounce `debounceMs`, verbose log) once its first diagnostics are in. */
async function openModule(text: string, debounceMs: number): Promise<{ client: TestClient; uri: string; ws: string }> {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-rapid-edits-')));
  const file = path.join(ws, 'module.py');
  fs.writeFileSync(file, text);
  const client = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs, verbose: true } });
  const uri = uriOf(file);
  await client.open(uri, 'python', text);
  await client.waitForDiagnostics(uri, 1);
  return { client, uri, ws };
}

/**
 * The last diagnostics published for `uri` once the server is done with `version`: its pass has
 * logged the analysis, and the evaluation after it (which may publish again) has logged too.
 */
async function settled(client: TestClient, uri: string, version: number): Promise<Diagnostic[]> {
  await client.waitForDiagnostics(uri, version);
  const analysed = await client.logEvents.waitFor((l) => l.startsWith('analysed ') && l.includes(`module.py v${version} in `), `the analysis of v${version}`);
  await client.logEvents.waitFor((l) => l.startsWith('evaluated '), `the evaluation after v${version}`, undefined, client.logEvents.events.indexOf(analysed) + 1);
  return [...client.diagnostics.events].reverse().find((p) => p.uri === uri)!.diagnostics;
}

for (const [seed, debounceMs] of [
  [1, 0],
  [2, 20],
] as const) {
  test(`edits sent faster than they are analysed end in a fresh server's diagnostics (seed ${seed}, debounce ${debounceMs} ms)`, async () => {
    const random = rng(seed);
    let text = START;
    const { client, uri, ws } = await openModule(text, debounceMs);
    let version = 1;
    try {
      for (let k = 0; k < 40; k++) {
        const places = [...text.matchAll(/^( {8,})[a-z_]\w* = /gm)].map((m) => ({ at: m.index, indent: m[1] }));
        const place = places[random(places.length)];
        const kind = random(4);
        // A letter typed into a name, or a whole line added before one: a file opened and kept, a
        // file stored in a field, a socket.
        const at = kind === 0 ? place.at + place.indent.length + 1 : place.at;
        const inserted = [
          'x',
          `${place.indent}f${k} = open(path)\n`,
          `${place.indent}self.log${k} = open(path)\n`,
          `${place.indent}s${k} = socket.socket()\n`,
        ][kind];
        const before = text.slice(0, at);
        const position = { line: before.split('\n').length - 1, character: at - (before.lastIndexOf('\n') + 1) };
        version = await client.change(uri, [{ range: { start: position, end: position }, text: inserted }]);
        text = before + inserted + text.slice(at);
        // Now and then a pause, so that some passes run between edits and some edits land in a pass.
        if (random(3) === 0) await new Promise((resolve) => setTimeout(resolve, random(60)));
      }
      const ended = await settled(client, uri, version);
      const fresh = await openModule(text, 0);
      try {
        // A document just opened is published once its analysis and evaluation are done (or,
        // when the folder's index evaluated the file on disk first, with the same findings).
        const expected = (await fresh.client.waitForDiagnostics(fresh.uri, 1)).diagnostics;
        assert.ok(expected.length >= 10, `the edits leave findings to compare (${expected.length})`);
        assert.deepEqual(lines(ended), lines(expected));
      } finally {
        await fresh.client.stop();
        fs.rmSync(fresh.ws, { recursive: true, force: true });
      }
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
}
