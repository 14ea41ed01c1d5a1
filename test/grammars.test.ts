import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

test('pinned grammars match grammars/provenance.json', () => {
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'scripts', 'update-grammars.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /4 grammars match/);
});
