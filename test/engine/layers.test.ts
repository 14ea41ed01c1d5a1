/**
 * The layer check (`.dependency-cruiser.cjs`, run by `npm run lint:layers` in `npm test`)
 * catches what it is there for: an import that runs up a layer, a cycle, and the protocol
 * library below lsp/. Each case is a tiny server tree in a temporary folder, checked with the
 * project's own configuration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';

const root = join(__dirname, '..', '..');
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Cruises a tree made of `files` (path → text) and returns the violation lines. */
function violations(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hazard-lens-layers-'));
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = spawnSync(process.execPath, [depcruise, 'server/src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });
    return (run.stdout + run.stderr).split('\n').filter((l) => /^\s*error /.test(l)).map((l) => l.trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('layer check', () => {
  test('an import down the layers passes', () => {
    assert.deepEqual(
      violations({
        'server/src/text/locations.ts': 'export interface Range { line: number }\n',
        'server/src/facts/fact.ts': "import type { Range } from '../text/locations';\nexport type Fact = Range;\n",
        'server/src/engine/run.ts': "import type { Fact } from '../facts/fact';\nexport const facts: Fact[] = [];\n",
      }),
      [],
    );
  });

  test('an import that runs up a layer fails and names the rule of the lower layer', () => {
    assert.deepEqual(
      violations({
        'server/src/engine/config.ts': 'export const jobs = 2;\n',
        'server/src/facts/fact.ts': "import { jobs } from '../engine/config';\nexport const fact = jobs;\n",
      }),
      ['error layer-facts: server/src/facts/fact.ts → server/src/engine/config.ts'],
    );
  });

  test('a cycle inside one layer fails', () => {
    const found = violations({
      'server/src/model/a.ts': "import { b } from './b';\nexport const a = (): number => b();\n",
      'server/src/model/b.ts': "import { a } from './a';\nexport const b = (): number => a();\n",
    });
    assert.equal(found.length, 1);
    assert.match(found[0], /^error no-cycle: server\/src\/model\/[ab]\.ts →$/);
  });

  test('a folder outside the layers fails', () => {
    assert.deepEqual(
      violations({
        'server/src/helpers/x.ts': 'export const x = 1;\n',
        'server/src/facts/y.ts': "import { x } from '../helpers/x';\nexport const y = x;\n",
      }),
      ['error no-unlayered-folder: server/src/facts/y.ts → server/src/helpers/x.ts'],
    );
  });
});
