/**
 * The environ names the WSGI analysis looks for (`environWords` in
 * `analysis/python/wsgi-tokens.ts`) are found with one `indexOf` scan widened to whole
 * identifiers: they must be exactly the whole-word matches of a pattern of every name, on every
 * Python fixture and on seeded strings built of name pieces.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { environWords } from '../../server/src/analysis/python/wsgi-tokens';
import { ENVIRON_NAMES } from '../../server/src/knowledge/python-wsgi';
import { pythonFiles, random } from '../random-edits';

/** The reference: each name as a whole ASCII word, longest first. */
const WHOLE_WORD = new RegExp(`(?<![A-Za-z0-9_])(?:${[...ENVIRON_NAMES].sort((a, b) => b.length - a.length).join('|')})(?![A-Za-z0-9_])`, 'g');
const byPattern = (text: string) => [...text.matchAll(WHOLE_WORD)].map((m) => m.index);

test('environ words: the whole-word matches, at their starts (next to a non-ASCII letter too)', () => {
  const text = 'environ env_x environment wsgi_env(wsgi_environ) my_env envé env1 _env 9env wsgi_envx\nenv';
  assert.deepEqual(environWords(text), [0, 14, 26, 35, 56, 86]);
  assert.deepEqual(environWords(text), byPattern(text));
});

test('environ words: every Python fixture and seeded strings of name pieces', () => {
  for (const file of [...pythonFiles(join(__dirname, '..', 'fixtures')), ...pythonFiles(join(__dirname, '..', '..', 'examples'))]) {
    const text = readFileSync(file, 'utf8');
    assert.deepEqual(environWords(text), byPattern(text), file);
  }
  const pieces = ['env', 'iron', 'ment', 'wsgi_', '_', 'x', ' ', '.', 'é', '1', 'environ', '(', 'E', 'nv'];
  const rnd = random(11);
  for (let k = 0; k < 20000; k++) {
    let text = '';
    for (let j = 1 + Math.floor(rnd() * 8); j > 0; j--) text += pieces[Math.floor(rnd() * pieces.length)];
    assert.deepEqual(environWords(text), byPattern(text), JSON.stringify(text));
  }
});
