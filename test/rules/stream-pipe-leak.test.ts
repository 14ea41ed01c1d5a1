/**
 * stream-pipe-leak beyond the fixture annotations: the exact finding (range, message,
 * evidence chain in order), the division of labour with `unreleased-file`, and how the
 * fix finds or makes its `pipeline` binding in each import style.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { evaluate } from '../../server/src/engine/engine';
import { applyEdits } from '../../server/src/engine/fixes';
import type { Finding } from '../../server/src/analysis/results';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

const r = (line: number, a: number, l2: number, b: number) => ({ start: { line, character: a }, end: { line: l2, character: b } });

function findings(text: string, path = 'src/app.ts'): Finding[] {
  const analysis = analyzeText(path, text);
  assert.ok(analysis);
  assert.deepEqual(analysis.notes, []);
  return evaluate([analysis]).findings;
}

function pipeFindings(text: string, path = 'src/app.ts'): Finding[] {
  return findings(text, path).filter((f) => f.ruleId === 'stream-pipe-leak');
}

/** The text after applying the (single) finding's fix. */
function fixed(text: string, path = 'src/app.ts'): string {
  const [f] = pipeFindings(text, path);
  assert.ok(f, 'expected a finding');
  assert.equal(f.fixes.length, 1);
  assert.equal(f.fixes[0].applicability, 'unsafe');
  return applyEdits(text, f.fixes[0].edits);
}

describe('stream-pipe-leak: the finding', () => {
  test('a variable source piped into a parameter: range, message, severity and evidence chain', () => {
    const text = [
      "import * as fs from 'node:fs';", // 0
      "import type { ServerResponse } from 'node:http';", // 1
      'export function send(path: string, res: ServerResponse): void {', // 2
      '  const src = fs.createReadStream(path);', // 3
      '  src.pipe(res);', // 4
      '}', // 5
    ].join('\n');
    const [f, ...rest] = pipeFindings(text);
    assert.deepEqual(rest, []);
    assert.equal(f.severity, 'warning');
    assert.deepEqual(f.range, r(4, 2, 4, 15));
    assert.equal(
      f.message,
      "Read stream 'src' from fs.createReadStream() is piped into 'res' with .pipe(): if 'res' errors or closes early, nothing destroys 'src' and its file descriptor leaks",
    );
    assert.deepEqual(
      f.related.map((x) => [x.range, x.message]),
      [
        [r(3, 14, 3, 39), 'opened here by fs.createReadStream(); only ending or destroying the stream closes its descriptor'],
        [r(4, 6, 4, 15), "piped into 'res' here; .pipe() does not destroy the source when 'res' fails"],
        [r(2, 35, 2, 38), "'res' is declared here; an error or early close on it is not passed back to the source"],
      ],
    );
  });

  test('an inline chain: one finding on the outermost call, one step per link', () => {
    const text = [
      "import { createReadStream } from 'fs';", // 0
      "import { createGzip } from 'zlib';", // 1
      'export const handler = (path: string, res: NodeJS.WritableStream) =>', // 2
      '  createReadStream(path).pipe(createGzip()).pipe(res);', // 3
    ].join('\n');
    const [f, ...rest] = pipeFindings(text);
    assert.deepEqual(rest, []);
    assert.deepEqual(f.range, r(3, 2, 3, 53));
    assert.equal(
      f.message,
      "The read stream from createReadStream() is piped through 'createGzip()' into 'res' with .pipe(): if any of them errors or closes early, nothing destroys the stream and its file descriptor leaks",
    );
    assert.deepEqual(
      f.related.map((x) => [x.range, x.message]),
      [
        [r(3, 2, 3, 24), 'opened here by createReadStream(); only ending or destroying the stream closes its descriptor'],
        [r(3, 25, 3, 43), "piped into 'createGzip()' here"],
        [r(3, 44, 3, 53), "piped into 'res' here; .pipe() does not destroy the source when 'res' fails"],
        [r(2, 38, 2, 41), "'res' is declared here; an error or early close on it is not passed back to the source"],
      ],
    );
  });

  test('unreleased-file counts the pipe as a hand-over, so only this rule reports the piped stream', () => {
    const text = [
      "import * as fs from 'node:fs';",
      'export function send(path: string, res: NodeJS.WritableStream): void {',
      '  const src = fs.createReadStream(path);',
      '  src.pipe(res);',
      '  fs.createReadStream(path).pipe(res);',
      '}',
    ].join('\n');
    assert.deepEqual(
      findings(text).map((f) => [f.ruleId, f.range.start.line]),
      [
        ['stream-pipe-leak', 3],
        ['stream-pipe-leak', 4],
      ],
    );
  });

  test('the ReadStream constructor (JavaScript; @types/node does not declare its path argument) owns its descriptor too', () => {
    const text = [
      "const fs = require('fs');",
      'module.exports = function send(path, res) {',
      '  new fs.ReadStream(path).pipe(res);',
      '  fs.ReadStream(path).pipe(res);',
      '};',
    ].join('\n');
    assert.deepEqual(
      pipeFindings(text, 'src/send.cts').map((f) => [f.range.start.line, f.message]),
      [
        [2, "The read stream from new fs.ReadStream() is piped into 'res' with .pipe(): if 'res' errors or closes early, nothing destroys the stream and its file descriptor leaks"],
        [3, "The read stream from fs.ReadStream() is piped into 'res' with .pipe(): if 'res' errors or closes early, nothing destroys the stream and its file descriptor leaks"],
      ],
    );
  });

  test('a suppression comment silences it', () => {
    const text = [
      "import * as fs from 'node:fs';",
      'export function send(path: string, res: NodeJS.WritableStream): void {',
      '  // hazard-lens: ignore[stream-pipe-leak]',
      '  fs.createReadStream(path).pipe(res);',
      '}',
    ].join('\n');
    assert.deepEqual(findings(text), []);
  });

  test('a stream not from fs (a parameter, a socket) is not reported', () => {
    const text = [
      "import * as fs from 'node:fs';",
      "import * as net from 'node:net';",
      'export function relay(input: NodeJS.ReadableStream, res: NodeJS.WritableStream): void {',
      '  input.pipe(res);',
      "  net.connect(80, 'example.com').pipe(res);",
      '  fs.existsSync("x");',
      '}',
    ].join('\n');
    assert.deepEqual(pipeFindings(text), []);
  });
});

describe('stream-pipe-leak: the pipeline binding of the fix', () => {
  const body = ['export function send(path: string, res: NodeJS.WritableStream): void {', '  fs.createReadStream(path).pipe(res);', '}'];
  const call = ['export function send(path: string, res: NodeJS.WritableStream): void {', '  $(fs.createReadStream(path), res, (err) => {', '    if (err) console.error(err);', '  });', '}'];
  const expectCall = (callee: string, param = 'err') => call.map((l) => l.replace('$', callee).replace('(err) =>', `(${param}) =>`));

  test('reuses an existing pipeline import (no import edit)', () => {
    const head = ["import * as fs from 'node:fs';", "import { pipeline as pipe3 } from 'node:stream';"];
    assert.equal(fixed([...head, ...body].join('\n')), [...head, ...expectCall('pipe3')].join('\n'));
  });

  test('goes through a namespace import of stream', () => {
    const head = ["import * as fs from 'node:fs';", "import * as streams from 'stream';"];
    assert.equal(fixed([...head, ...body].join('\n')), [...head, ...expectCall('streams.pipeline')].join('\n'));
  });

  test('adds a new import after the last one, with the node: prefix only when the file uses it', () => {
    const plain = ["import * as fs from 'fs';", "import type { Server } from 'http';", 'export let server: Server | undefined;'];
    assert.equal(
      fixed([...plain, ...body].join('\n')),
      ["import * as fs from 'fs';", "import type { Server } from 'http';", "import { pipeline } from 'stream';", 'export let server: Server | undefined;', ...expectCall('pipeline')].join('\n'),
    );
  });

  test('aliases the binding when pipeline is taken by a local function', () => {
    const head = ["import * as fs from 'node:fs';", 'function pipeline(): void {}', 'pipeline();'];
    assert.equal(
      fixed([...head, ...body].join('\n')),
      ["import * as fs from 'node:fs';", "import { pipeline as streamPipeline } from 'node:stream';", ...head.slice(1), ...expectCall('streamPipeline')].join('\n'),
    );
  });

  test('CommonJS: a new require after the last one, keeping var, with typed callback parameters', () => {
    const head = ["var fs = require('node:fs');", "var path = require('node:path');"];
    assert.equal(
      fixed([...head, ...body].join('\n'), 'src/app.cts'),
      [...head, "var { pipeline } = require('node:stream');", ...expectCall('pipeline', 'err: Error | null')].join('\n'),
    );
  });

  test('CommonJS: an existing require of stream as a namespace is reused', () => {
    const head = ["const fs = require('fs');", "const stream = require('stream');"];
    assert.equal(fixed([...head, ...body].join('\n'), 'src/app.cts'), [...head, ...expectCall('stream.pipeline', 'err: Error | null')].join('\n'));
  });

  test('no fix when a link passes options that pipeline cannot express', () => {
    const text = ["import * as fs from 'node:fs';", 'export function send(path: string, res: NodeJS.WritableStream): void {', '  fs.createReadStream(path).pipe(res, { end: false });', '}'].join('\n');
    const [f] = pipeFindings(text);
    assert.ok(f);
    assert.deepEqual(f.fixes, []);
  });
});
