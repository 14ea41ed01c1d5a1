/**
 * Folders the CLI creates (the cache, `-o`, `--facts-out`): a place where no folder can be made
 * (`/proc`, where Node's recursive mkdir spins forever) is an error for an output (exit 2,
 * before the scan) and a warning for the cache (the scan runs without it); the cache folder
 * is never taken from the scanned project's own configuration.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeDirectory, writableFolderProblem } from '../../server/src/engine/directories';
import { runCli } from './helpers';

const LEAK = 'def read_all(p):\n    fh = open(p)\n    return fh.read()\n';
const HAS_PROC = fs.existsSync('/proc/self');
const PROC_SKIP = HAS_PROC ? false : 'no /proc on this system (the hang only exists there)';

describe('folders the CLI creates', () => {
  let dir: string;
  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hl-folders-')));
    fs.writeFileSync(path.join(dir, 'a.py'), LEAK);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('makeDirectory makes every missing parent and names the one it cannot make', () => {
    const deep = path.join(dir, 'made', 'b', 'c');
    makeDirectory(deep);
    assert.ok(fs.statSync(deep).isDirectory());
    makeDirectory(deep); // already there: nothing to do
    assert.throws(() => makeDirectory(path.join(dir, 'a.py', 'x')), { message: `cannot create ${path.join(dir, 'a.py', 'x')}: a component of the path is not a directory` });
  });

  test('under /proc: an error, never a hang', { skip: PROC_SKIP }, () => {
    assert.throws(() => makeDirectory('/proc/hazard-lens-test/x'), { message: 'cannot create /proc/hazard-lens-test: the file system does not allow folders there' });
    assert.equal(writableFolderProblem('/proc/self/hazard-lens'), 'cannot create /proc/self/hazard-lens: the file system does not allow folders there');
  });

  test('--cache-dir under /proc: a warning, and the scan runs without a cache', { skip: PROC_SKIP }, () => {
    const r = runCli(['scan', '.', '--cache-dir', '/proc/hazard-lens-cache'], { cwd: dir, timeoutMs: 30_000 });
    assert.equal(r.signal, null, 'the scan hung');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /warning: the cache is off for this run: cannot create \/proc\/hazard-lens-cache: the file system does not allow folders there/);
    assert.match(r.stdout, /a\.py:2:10: warning unreleased-file/);
  });

  for (const [flags, shown] of [
    [['-o', '/proc/hazard-lens-out/report.json'], '/proc/hazard-lens-out/report.json'],
    [['--shard', '1/2', '--facts-out', '/proc/hazard-lens-out/facts.json'], '/proc/hazard-lens-out/facts.json'],
  ] as const) {
    test(`${flags[flags.length - 2]} under /proc: exit 2 with the reason`, { skip: PROC_SKIP }, () => {
      const r = runCli(['scan', '.', ...flags], { cwd: dir, timeoutMs: 30_000 });
      assert.equal(r.signal, null, 'the scan hung');
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `hazard-lens: cannot write ${shown}: cannot create /proc/hazard-lens-out: the file system does not allow folders there\n`);
    });
  }

  test('a repository\'s own cacheDir is not used; the one of a config file named with -c is', () => {
    const project = path.join(dir, 'project');
    const elsewhere = path.join(dir, 'written-by-the-repository');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'b.py'), LEAK);
    fs.writeFileSync(path.join(project, '.hazard-lens.json'), JSON.stringify({ cacheDir: elsewhere }));
    const env = { HAZARD_LENS_CACHE_DIR: path.join(dir, 'user-cache') };
    const r = runCli(['scan', '.'], { cwd: project, env });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /note: "cacheDir" in \.hazard-lens\.json is not used: the cache folder comes from --cache-dir, HAZARD_LENS_CACHE_DIR or a config file named with -c/);
    assert.equal(fs.existsSync(elsewhere), false, 'the repository chose where the scan writes');
    assert.ok(fs.existsSync(path.join(dir, 'user-cache')), 'the user\'s cache folder was not used');

    const chosen = runCli(['scan', '.', '-c', '.hazard-lens.json'], { cwd: project, env });
    assert.equal(chosen.status, 1, chosen.stderr);
    assert.doesNotMatch(chosen.stderr, /is not used/);
    assert.ok(fs.existsSync(elsewhere), 'a config file the user named is the user\'s choice');
  });
});
