/**
 * Which files without an extension are scripts: the `#!` lines that name Python or Node,
 * the bounded read of a file's head, and what is never taken (other interpreters, binaries,
 * dotfiles, files with an extension).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { isJavaScriptPath, languageForFile, languageForPath } from '../../server/src/parsing/parser';
import { mayBeScript, readHeadSync, SHEBANG_READ_BYTES, shebangLanguage } from '../../server/src/parsing/shebang';

test('#! lines that run Python or Node', () => {
  const cases: [string, string | undefined][] = [
    ['#!/usr/bin/env python3\n', 'python'],
    ['#!/usr/bin/python\n', 'python'],
    ['#!/usr/bin/env python\n', 'python'],
    ['#! /usr/bin/python3.12 -u\n', 'python'],
    ['#!/usr/bin/env python2.7\r\n', 'python'],
    ['\ufeff#!/usr/bin/env python3\n', 'python'],
    ['#!/usr/bin/env node\n', 'javascript'],
    ['#!/usr/bin/node\n', 'javascript'],
    ['#!/usr/bin/env -S node --enable-source-maps\n', 'javascript'],
    ['#!/usr/bin/env -S NODE_ENV=production node\n', 'javascript'],
    ['#!/usr/bin/env -u HOME node', 'javascript'],
    ['#!/usr/bin/env ruby\n', undefined],
    ['#!/bin/sh\nexec node "$0"\n', undefined],
    ['#!/usr/bin/env bash\n', undefined],
    ['#!/usr/bin/env\n', undefined],
    ['# not a shebang\n', undefined],
    ['import os\n', undefined],
    ['', undefined],
  ];
  for (const [head, lang] of cases) assert.equal(shebangLanguage(head), lang, JSON.stringify(head));
});

test('a head holding a NUL byte is a binary', () => {
  assert.equal(shebangLanguage(Buffer.from('#!/usr/bin/env node\n\0\0\0')), undefined);
  assert.equal(shebangLanguage(Buffer.from('#!/usr/bin/env node\nconsole.log(1);\n')), 'javascript');
});

test('only names without an extension are looked into; JavaScript paths', () => {
  assert.equal(mayBeScript('bin/deploy'), true);
  assert.equal(mayBeScript('bin/.profile'), false);
  assert.equal(mayBeScript('bin/tool.sh'), false);
  assert.equal(languageForPath('bin/tool.sh', '#!/usr/bin/env python3\n'), undefined);
  assert.deepEqual(languageForPath('bin/deploy', '#!/usr/bin/env python3\n'), { language: 'python', grammar: 'python' });
  assert.deepEqual(languageForPath('bin/serve', '#!/usr/bin/env node\n'), { language: 'typescript', grammar: 'typescript' });
  assert.equal(languageForPath('bin/serve'), undefined);
  assert.deepEqual(languageForPath('a.cjs'), { language: 'typescript', grammar: 'typescript' });
  assert.deepEqual(languageForPath('a.jsx'), { language: 'typescript', grammar: 'tsx' });
  for (const p of ['a.js', 'a.mjs', 'a.cjs', 'a.jsx', 'bin/serve']) assert.equal(isJavaScriptPath(p), true, p);
  for (const p of ['a.ts', 'a.mts', 'a.cts', 'a.tsx']) assert.equal(isJavaScriptPath(p), false, p);
});

test('a file on disk: at most the head is read; FIFOs are not opened for reading', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-shebang-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, '#!/usr/bin/env node\n' + 'x'.repeat(100_000));
  assert.equal(readHeadSync(big)?.length, SHEBANG_READ_BYTES);
  assert.deepEqual(languageForFile(big), { language: 'typescript', grammar: 'typescript' });
  const long = path.join(dir, 'long');
  fs.writeFileSync(long, '#!/usr/bin/env ' + ' '.repeat(SHEBANG_READ_BYTES) + 'node\n');
  assert.equal(languageForFile(long), undefined);
  assert.equal(languageForFile(path.join(dir, 'missing')), undefined);
  if (process.platform !== 'win32') {
    const fifo = path.join(dir, 'fifo');
    const r = spawnSync('mkfifo', [fifo]);
    if (r.status === 0) assert.equal(languageForFile(fifo), undefined);
  }
});
