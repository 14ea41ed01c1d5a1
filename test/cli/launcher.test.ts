/**
 * The launcher `bin/hazard-lens.js`: `--version` without the analyser, and the V8 code cache it
 * starts the bundle from (kept under the default cache folder, reused while the bundle and
 * Node are the same, rewritten when V8 rejects it, harmless when it cannot be written).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCacheDir } from '../../server/src/engine/cache';
import { ensureBuilt, makeWorkspace, removeWorkspace, ROOT } from './helpers';

const LAUNCHER = path.join(ROOT, 'bin', 'hazard-lens.js');
const LEAK = 'def read_all(p):\n    fh = open(p)\n    return fh.read()\n';

let work: string;
before(() => {
  ensureBuilt();
  work = makeWorkspace({ 'app.py': LEAK });
});
after(() => removeWorkspace(work));

function launch(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: work, HAZARD_LENS_CODE_CACHE_REPORT: '1', ...env },
  });
  const report = /hazard-lens: code cache (missing|used|rejected): (.*)/.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, state: report?.[1], entry: report?.[2] };
}

test('--version answers from package.json', () => {
  const r = launch(['--version'], {});
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`);
  assert.equal(r.state, undefined, 'the bundle is not loaded');
});

test('the code cache is written on the first start, used on the next, and the findings are the same', () => {
  const cacheHome = path.join(work, 'xdg');
  const env = { XDG_CACHE_HOME: cacheHome };
  const first = launch(['scan', '--no-cache', 'app.py'], env);
  assert.equal(first.status, 1);
  assert.equal(first.state, 'missing');
  // The folder is the analyser's own default cache folder.
  assert.equal(path.dirname(first.entry ?? ''), path.join(defaultCacheDir({ XDG_CACHE_HOME: cacheHome }, process.platform), 'code'));
  assert.ok(fs.statSync(first.entry ?? '').size > 100_000, 'compiled code was kept');

  const second = launch(['scan', '--no-cache', 'app.py'], env);
  assert.equal(second.state, 'used');
  assert.equal(second.stdout, first.stdout);
  assert.match(second.stdout, /^app\.py:2:10: warning unreleased-file /);

  const off = launch(['scan', '--no-cache', 'app.py'], { ...env, HAZARD_LENS_NO_CODE_CACHE: '1' });
  assert.equal(off.state, undefined);
  assert.equal(off.stdout, first.stdout);
});

test('a damaged cache entry is rejected and replaced; HAZARD_LENS_CACHE_DIR moves it', () => {
  const cacheDir = path.join(work, 'own-cache');
  const env = { HAZARD_LENS_CACHE_DIR: cacheDir };
  const first = launch(['scan', '--no-cache', 'app.py'], env);
  assert.equal(path.dirname(first.entry ?? ''), path.join(cacheDir, 'code'));
  fs.writeFileSync(first.entry ?? '', Buffer.alloc(4096, 7));
  const damaged = launch(['scan', '--no-cache', 'app.py'], env);
  assert.equal(damaged.state, 'rejected');
  assert.equal(damaged.stdout, first.stdout);
  assert.equal(launch(['scan', '--no-cache', 'app.py'], env).state, 'used');
});

test('a cache folder that cannot be written costs nothing but the compile', () => {
  const blocker = path.join(work, 'not-a-folder');
  fs.writeFileSync(blocker, 'a file where the cache folder would be');
  const r = launch(['scan', '--no-cache', 'app.py'], { HAZARD_LENS_CACHE_DIR: blocker });
  assert.equal(r.status, 1);
  assert.equal(r.state, 'missing');
  assert.match(r.stdout, /unreleased-file/);
  assert.equal(launch(['scan', '--no-cache', 'app.py'], { HAZARD_LENS_CACHE_DIR: blocker }).state, 'missing');
});

test('the analysis workers start from a code cache of their own bundle too: written by the first, used by the next, same findings; the launcher keeps the code of short scans only, which a scan with workers then uses', () => {
  // Enough files for the worker pool (scan/pool.ts POOL_MIN_FILES), one of them leaking.
  const files: Record<string, string> = { 'many/leak.py': LEAK };
  for (let i = 0; i < 70; i++) files[`many/m${i}.py`] = `def f${i}(x):\n    return x + ${i}\n`;
  const dir = makeWorkspace(files);
  try {
    const env = { XDG_CACHE_HOME: path.join(dir, 'xdg') };
    const run = () => {
      const r = spawnSync(process.execPath, [LAUNCHER, 'scan', '--no-cache', '-j', '1', '-f', 'json', 'many'], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, HAZARD_LENS_CODE_CACHE_REPORT: '1', ...env },
      });
      const report = /hazard-lens: worker code cache (missing|used|rejected): (.*)/.exec(r.stderr);
      const launcher = /hazard-lens: code cache (missing|used|rejected): /.exec(r.stderr);
      return { status: r.status, stdout: r.stdout, state: report?.[1], entry: report?.[2], launcherState: launcher?.[1] };
    };
    const first = run();
    assert.equal(first.status, 1);
    assert.equal(first.state, 'missing');
    assert.equal(path.dirname(first.entry ?? ''), path.join(defaultCacheDir(env, process.platform), 'code'));
    assert.ok(fs.statSync(first.entry ?? '').size > 50_000, 'compiled code was kept');
    const second = run();
    assert.equal(second.state, 'used');
    // The launcher keeps no code of a scan that started workers (scan/pool.ts
    // ONE_SHOT_SCAN_STARTED_WORKERS): its entry is still missing, until a short scan writes it.
    assert.equal(first.launcherState, 'missing');
    assert.equal(second.launcherState, 'missing');
    const short = spawnSync(process.execPath, [LAUNCHER, 'scan', '--no-cache', 'many/leak.py'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, HAZARD_LENS_CODE_CACHE_REPORT: '1', ...env } });
    assert.match(short.stderr, /hazard-lens: code cache missing: /);
    // The workers ran with their own interrupt budget, and the scans with their heap growth;
    // the short scan's entry, stamped with V8's default flags, is used by the next scan.
    const third = run();
    assert.equal(third.state, 'used');
    assert.equal(third.launcherState, 'used');
    assert.equal(second.stdout, first.stdout);
    assert.equal(third.stdout, first.stdout);
    assert.match(second.stdout, /unreleased-file/);
  } finally {
    removeWorkspace(dir);
  }
});

test('writing an entry drops the entries of other bundles not written for a month, and keeps the recent ones', () => {
  const cacheDir = path.join(work, 'pruned-cache');
  const code = path.join(cacheDir, 'code');
  fs.mkdirSync(code, { recursive: true });
  const old = path.join(code, '0123456789abcdef-0123456789abcdef.v8');
  const recent = path.join(code, 'fedcba9876543210-fedcba9876543210.v8');
  const notOurs = path.join(code, 'notes.txt');
  for (const f of [old, recent, notOurs]) fs.writeFileSync(f, 'x');
  const monthAgo = (Date.now() - 31 * 24 * 3600 * 1000) / 1000;
  fs.utimesSync(old, monthAgo, monthAgo);
  fs.utimesSync(notOurs, monthAgo, monthAgo);
  const dayAgo = (Date.now() - 24 * 3600 * 1000) / 1000;
  fs.utimesSync(recent, dayAgo, dayAgo);
  const r = launch(['scan', '--no-cache', 'app.py'], { HAZARD_LENS_CACHE_DIR: cacheDir });
  assert.equal(r.state, 'missing');
  assert.deepEqual(fs.readdirSync(code).sort(), [path.basename(r.entry ?? ''), path.basename(recent), path.basename(notOurs)].sort());
});

test('a bundle run under other V8 flags (a variant) keeps an entry of its own: writing one variant\'s entry keeps the other\'s', () => {
  const dir = path.join(work, 'variants');
  const folder = path.join(dir, 'code');
  fs.mkdirSync(dir, { recursive: true });
  const bundle = path.join(dir, 'bundle.js');
  fs.writeFileSync(bundle, 'module.exports = function twice(x) { return 2 * x; };\nprocess.stdout.write(String(module.exports(21)));\n');
  const loader = path.join(ROOT, 'bin', 'code-cache.js');
  // The heap flag the CLI sets for a scan with workers, run as a worker of that scan would be.
  const run = (variant: string) => {
    const flags = variant ? [`--heap-growing-percent=50`] : [];
    const script = `require(${JSON.stringify(loader)}).runCodeCached(${JSON.stringify(bundle)}, { folder: ${JSON.stringify(folder)}, parent: module, writeWhen: 'exit', report: 'variant'${variant ? `, variant: ${JSON.stringify(variant)}` : ''} })`;
    const r = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' });
    assert.equal(r.stdout, '42');
    const report = /hazard-lens: variant (missing|used|rejected): (.*)/.exec(r.stderr);
    return { state: report?.[1], entry: report?.[2] };
  };
  const plain = run('');
  const flagged = run('heap-growing-percent-50');
  assert.deepEqual([plain.state, flagged.state], ['missing', 'missing']);
  assert.notEqual(plain.entry, flagged.entry);
  assert.deepEqual([run('').state, run('heap-growing-percent-50').state], ['used', 'used']);
  assert.deepEqual(fs.readdirSync(folder).sort(), [path.basename(plain.entry ?? ''), path.basename(flagged.entry ?? '')].sort());
});
