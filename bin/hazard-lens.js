#!/usr/bin/env node
'use strict';
// Launcher of the bundled CLI (`npm run build` makes dist/, `npm ci` runs it through `prepare`).
// It answers `--version` without loading the analyser, and it starts the bundle from V8's code
// cache: the compiled code of the last run is kept in the cache folder, so a start does not
// re-compile the bundle. HAZARD_LENS_NO_CODE_CACHE=1 turns the code cache off;
// HAZARD_LENS_CODE_CACHE_REPORT=1 says on stderr whether the start used it (tests, bench).
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'cli', 'cli.js');
const args = process.argv.slice(2);

if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require(path.join(root, 'package.json')).version}\n`);
  return;
}
if (!fs.existsSync(bundle)) {
  process.stderr.write('hazard-lens: the CLI is not built yet; run `npm run build` first\n');
  process.exit(2);
}
if (process.env.HAZARD_LENS_NO_CODE_CACHE === '1') {
  require(bundle);
  return;
}
runWithCodeCache(bundle);

/**
 * The cache folder the analyser uses by default (engine/cache.ts `defaultCacheDir`; the test
 * test/cli/launcher.test.ts keeps the two in step).
 */
function defaultCacheDir(env) {
  if (env.HAZARD_LENS_CACHE_DIR) return env.HAZARD_LENS_CACHE_DIR;
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'hazard-lens');
  const home = require('node:os').homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'hazard-lens');
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'hazard-lens', 'cache');
  return path.join(home, '.cache', 'hazard-lens');
}

/**
 * Runs the bundle compiled with the cached data of an earlier run of the same bundle on the
 * same Node (`code-cache.js`); when there was none (or V8 rejected it), the code compiled by
 * the time the process exits is written for the next start.
 */
function runWithCodeCache(file) {
  require('./code-cache.js').runCodeCached(file, {
    folder: path.join(defaultCacheDir(process.env), 'code'),
    parent: module,
    writeWhen: 'exit',
    report: process.env.HAZARD_LENS_CODE_CACHE_REPORT === '1' ? 'code cache' : undefined,
    // V8 stamps the cached data with a hash of its flags. A short scan turns on
    // --liftoff-only while it runs (parsing/parser.ts preferBaselineWasm); back at the default,
    // the stamp matches the next start's flags and the entry is not rejected.
    // The analysis workers' interrupt budget (scan/pool.ts WORKER_RUN_INTERRUPT_BUDGET) and a
    // pooled scan's heap growth (ONE_SHOT_SCAN_HEAP_GROWING_PERCENT; 0 is V8's own factor) go
    // back to V8's defaults the same way.
    prepareWrite: () => require('node:v8').setFlagsFromString('--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering --interrupt-budget=67584 --heap-growing-percent=0'),
    // Not after a scan that started workers (scan/pool.ts prepareOneShotScanWithWorkers): the
    // code its main thread compiled serves the short scans a start must be quick for worse
    // than the code of a short scan does.
    writeIf: () => globalThis[Symbol.for('hazard-lens.one-shot-scan-started-workers')] !== true,
  });
}
