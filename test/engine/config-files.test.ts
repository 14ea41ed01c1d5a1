/**
 * Finding configuration files (`engine/config-files.ts`): the nearest file at or above a
 * folder, nested files below it as scopes (deepest first, program-wide keys warned about),
 * the common folder of scanned paths, and `exclude` patterns rebased to a workspace folder
 * below the file's.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, rulesFor } from '../../server/src/engine/config';
import { commonFolder, findConfigFile, loadNestedConfigs, rebaseExcludes } from '../../server/src/engine/config-files';
import { RULE_IDS } from '../../server/src/rules/index';

function tree(files: Record<string, string>): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-config-files-')));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('configuration files', () => {
  test('the nearest .hazard-lens.json at or above a folder', () => {
    const dir = tree({ '.hazard-lens.json': '{}', 'a/b/x.py': '', 'a/.hazard-lens.json': '{}' });
    assert.equal(findConfigFile(path.join(dir, 'a', 'b')), path.join(dir, 'a', '.hazard-lens.json'));
    assert.equal(findConfigFile(dir), path.join(dir, '.hazard-lens.json'));
    fs.rmSync(dir, { recursive: true });
  });

  test('the common folder of scanned paths', () => {
    const dir = tree({ 'a/b/x.py': '', 'a/c/y.py': '' });
    assert.equal(commonFolder([path.join(dir, 'a', 'b', 'x.py'), path.join(dir, 'a', 'c')]), path.join(dir, 'a'));
    assert.equal(commonFolder([path.join(dir, 'a', 'b', 'x.py')]), path.join(dir, 'a', 'b'));
    fs.rmSync(dir, { recursive: true });
  });

  test('nested files become scopes, deepest first; the nearest decides a file\'s rules; program-wide keys are warned about', () => {
    const dir = tree({
      'x.py': '',
      'a/.hazard-lens.json': '{ "rules": { "unreleased-file": "off" } }',
      'a/y.py': '',
      'a/b/.hazard-lens.json': '{ "rules": { "unreleased-file": "error" }, "targetPlatform": "macos" }',
      'a/b/z.py': '',
    });
    const files = ['x.py', 'a/y.py', 'a/b/z.py'].map((f) => path.join(dir, f));
    const nested = loadNestedConfigs(dir, files, RULE_IDS, DEFAULT_CONFIG, (f) => path.relative(dir, f));
    assert.deepEqual(nested.scopes.map((s) => path.relative(dir, s.dir)), [path.join('a', 'b'), 'a']);
    assert.deepEqual(nested.stops, []);
    assert.deepEqual(nested.problems, [
      'a/b/.hazard-lens.json: "targetPlatform" applies to the whole program and is read from the project\'s configuration file only; ignored here (a nested file decides "rules" and "reportUnusedSuppressions")',
    ]);
    const config = { ...DEFAULT_CONFIG, rules: { 'unreleased-file': 'info' as const }, scopes: nested.scopes };
    assert.equal(rulesFor(config, files[0])['unreleased-file'], 'info');
    assert.equal(rulesFor(config, files[1])['unreleased-file'], 'off');
    assert.equal(rulesFor(config, files[2])['unreleased-file'], 'error');
    // A sibling folder whose name starts like a scope's is not in it.
    assert.equal(rulesFor(config, path.join(dir, 'ab', 'w.py'))['unreleased-file'], 'info');
    fs.rmSync(dir, { recursive: true });
  });

  test('exclude patterns rebased to a workspace folder below the file', () => {
    assert.deepEqual(rebaseExcludes(['*.pb.py', 'generated/', '**/vendor', '/sub/build/', 'sub/gen/x.py', 'other/', '!sub/keep.py', '/sub', '*/tmp'], '/p', '/p/sub'), [
      '*.pb.py',
      'generated/',
      '**/vendor',
      '/build/',
      '/gen/x.py',
      'other/',
      '!/keep.py',
      '**',
      '*/tmp',
    ]);
    assert.deepEqual(rebaseExcludes(['/build'], '/p', '/p'), ['/build']);
  });
});
