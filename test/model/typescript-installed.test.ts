/**
 * `node_modules` packages as read-only program parts (issue #10, the Node half): the bare
 * imports of a workspace resolve into its `node_modules` as Node resolves them, only the files
 * that import closure reaches are analysed, a keep-alive timer inside an installed client is
 * reported at the application's blocking call with the chain going through the application's
 * connection call into the package's file and line, nothing is reported inside the package,
 * and a second scan reads none of its files again.
 * Scenarios: test/fixtures/programs/ts-installed-heartbeat/<workspace>/ (each with a committed
 * stand-in `node_modules/`, written for these tests).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { scan, type ScanOptions, type ScanResult } from '../../server/src/scan/scanner';
import { NodeResolver, bareSpecifier, findNodeModules } from '../../server/src/scan/node-modules';
import { ensureBuilt, runCli } from '../cli/helpers';

const ROOT = path.join(__dirname, '..', '..');
const SCENARIOS = path.join(ROOT, 'test', 'fixtures', 'programs', 'ts-installed-heartbeat');
const RULE = 'heartbeat-starved-by-blocking-call';

async function scanWorkspace(name: string, options: Partial<ScanOptions> = {}): Promise<ScanResult> {
  const dir = path.join(SCENARIOS, name);
  return scan({ paths: [], cwd: dir, config: { ...DEFAULT_CONFIG, rules: {}, exclude: [] }, jobs: 0, env: {}, pythonEnvironment: 'none', ...options });
}

/** `rule severity file:line:col`, then each chain step as `file:line message`, paths relative to the workspace. */
function shown(name: string, result: ScanResult): string[] {
  const dir = path.join(SCENARIOS, name);
  const rel = (p: string) => path.relative(dir, path.resolve(dir, p)).split(path.sep).join('/');
  return result.findings.flatMap((f) => [
    `${f.ruleId} ${f.severity} ${rel(f.path)}:${f.range.start.line + 1}:${f.range.start.character + 1}`,
    ...f.related.map((r) => `  ${rel(r.path)}:${r.range.start.line + 1} ${r.message}`),
  ]);
}

describe('a keep-alive timer inside an installed package', () => {
  test('a blocking call in the handler of a connection whose package keeps it alive with a timer is reported, with the chain into node_modules', async () => {
    const result = await scanWorkspace('blocking-handler');
    assert.deepEqual(shown('blocking-handler', result), [
      `${RULE} warning index.js:8:3`,
      '  index.js:5 connection set up here: calls into the installed package hopper-mq',
      '  node_modules/hopper-mq/lib/heartbeat.js:6 keep-alive timer of the installed package hopper-mq started here (setInterval())',
      '  node_modules/hopper-mq/lib/index.js:12 `startHeartbeat()` arms a keep-alive here (setInterval())',
      '  package.json:5 program entry point (package.json "main")',
      "  index.js:6 message handler registered here (conn.on('message'))",
      '  index.js:8 blocks the event loop here (execSync())',
    ]);
    assert.equal(
      result.findings[0].message,
      "execSync() blocks the event loop in a message handler (conn.on('message')) of a program whose heartbeat runs on the same loop (setInterval() of the installed package hopper-mq at node_modules/hopper-mq/lib/heartbeat.js:6, for the connection set up at line 5: a timer that sends heartbeats); while it runs no heartbeat is sent and the peer may drop the connection",
    );
    assert.deepEqual(
      result.findings[0].fixes.map((f) => `${f.applicability}: ${f.title}`),
      ['display-only: Move the blocking work to a worker_threads Worker (or use the asynchronous API): the keep-alive timer of hopper-mq runs on this event loop'],
    );
    // The package's files are dependencies: not workspace sources, only the two its import closure reaches (never its .d.ts).
    assert.deepEqual(result.analyses.map((a) => path.relative(path.join(SCENARIOS, 'blocking-handler'), a.path)), ['index.js']);
    assert.equal(result.stats?.dependencyFiles, 2);
    assert.ok(result.notes?.some((n) => /^node_modules \(.*blocking-handler\/node_modules.*\): 2 files of 1 installed package joined to the program$/.test(n.note)));
  });

  test('with a worker running, the dependency files (a level of the import closure at a time) give the same finding and chain', async () => {
    ensureBuilt();
    const inThread = await scanWorkspace('blocking-handler');
    const withWorkers = await scanWorkspace('blocking-handler', { jobs: 2, minFilesForWorkers: 1 });
    // (One workspace file: a pool of one worker, kept for the two package files.)
    assert.equal(withWorkers.stats?.jobs, 1);
    assert.equal(withWorkers.stats?.dependencyFiles, 2);
    assert.equal(shown('blocking-handler', withWorkers).length, 7);
    assert.deepEqual(shown('blocking-handler', withWorkers), shown('blocking-handler', inThread));
  });

  test('the same service awaiting the asynchronous API in its handler is silent', async () => {
    const result = await scanWorkspace('worker-offload');
    assert.deepEqual(shown('worker-offload', result), []);
    assert.equal(result.stats?.dependencyFiles, 2);
  });

  test('a package imported but never connected starts no timer: silent', async () => {
    const result = await scanWorkspace('imported-not-connected');
    assert.deepEqual(shown('imported-not-connected', result), []);
  });

  test('a modelled client (amqplib.connect()) with the package installed: the chain goes from the connection call to the package\'s timer', async () => {
    const result = await scanWorkspace('modelled-client');
    assert.deepEqual(shown('modelled-client', result), [
      `${RULE} warning index.ts:11:17`,
      '  index.ts:6 connection created here (amqplib.connect())',
      '  node_modules/amqplib/lib/heartbeat.js:6 keep-alive timer of the installed package amqplib started here (setInterval())',
      '  package.json:5 program entry point (package.json "main")',
      '  index.ts:16 called here',
      '  index.ts:8 message handler registered here (channel.consume())',
      '  index.ts:11 blocks the event loop here (pbkdf2Sync())',
    ]);
    assert.match(result.findings[0].message, /\(setInterval\(\) of the installed package amqplib at node_modules\/amqplib\/lib\/heartbeat\.js:6, for the connection set up at line 6: AMQP heartbeats, 60 s by default on RabbitMQ\)/);
  });

  test('with the package installed its own code decides: a release without a keep-alive timer is silent, where the model alone reports', async () => {
    const installed = await scanWorkspace('modelled-client-no-timer');
    assert.deepEqual(shown('modelled-client-no-timer', installed), []);
    const modelOnly = await scanWorkspace('modelled-client-no-timer', { nodeModules: 'none' });
    assert.deepEqual(shown('modelled-client-no-timer', modelOnly), [
      `${RULE} warning index.ts:11:17`,
      '  index.ts:6 heartbeat started here (amqplib.connect())',
      '  package.json:5 program entry point (package.json "main")',
      '  index.ts:16 called here',
      '  index.ts:8 message handler registered here (channel.consume())',
      '  index.ts:11 blocks the event loop here (pbkdf2Sync())',
    ]);
    assert.equal(modelOnly.stats?.dependencyFiles, 0);
  });

  test('a second scan takes the installed package from the cache without reading its files', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-node-deps-'));
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-node-ws-'));
    try {
      fs.cpSync(path.join(SCENARIOS, 'blocking-handler'), copy, { recursive: true });
      const config = { ...DEFAULT_CONFIG, rules: {}, exclude: [] };
      const run = () => scan({ paths: [], cwd: copy, config, jobs: 0, env: {}, cacheDir, evaluationCache: false, pythonEnvironment: 'none' });
      const first = await run();
      assert.deepEqual([first.stats?.dependencyFiles, first.stats?.dependencyCacheHits], [2, 0]);
      // Unreadable now: a second scan that read them would lose the finding.
      for (const f of ['index.js', 'heartbeat.js']) fs.chmodSync(path.join(copy, 'node_modules', 'hopper-mq', 'lib', f), 0o000);
      const second = await run();
      assert.deepEqual([second.stats?.dependencyFiles, second.stats?.dependencyCacheHits], [2, 2]);
      assert.deepEqual(
        second.findings.map((f) => `${f.ruleId} ${path.basename(f.path)}:${f.range.start.line + 1}`),
        [`${RULE} index.js:8`],
      );
    } finally {
      for (const f of ['index.js', 'heartbeat.js']) fs.chmodSync(path.join(copy, 'node_modules', 'hopper-mq', 'lib', f), 0o644);
      fs.rmSync(cacheDir, { recursive: true, force: true });
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('finding node_modules and resolving specifiers', () => {
  test('bare specifiers: scoped names and subpaths; relative, node: and built-in ones are not packages', () => {
    assert.deepEqual(bareSpecifier('amqplib/callback_api'), { name: 'amqplib', sub: 'callback_api' });
    assert.deepEqual(bareSpecifier('@acme/queue/lib/x'), { name: '@acme/queue', sub: 'lib/x' });
    for (const s of ['./a', '../b', '/abs', 'node:fs', 'fs', 'fs/promises', 'child_process', '#internal']) assert.equal(bareSpecifier(s), undefined, s);
  });

  test('package.json exports (conditions, subpath patterns) before main, JavaScript before declarations, index last', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-resolve-'));
    try {
      const write = (rel: string, text = '') => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      write('app/index.js');
      write('node_modules/exp/package.json', JSON.stringify({ name: 'exp', version: '1.0.0', main: 'old.js', exports: { '.': { types: './x.d.ts', require: './cjs/main.cjs', import: './esm/main.mjs' }, './feature/*': './lib/*.js' } }));
      write('node_modules/exp/cjs/main.cjs');
      write('node_modules/exp/esm/main.mjs');
      write('node_modules/exp/lib/ping.js');
      write('node_modules/plain/package.json', JSON.stringify({ name: 'plain', version: '2.0.0', main: 'lib/entry', types: 'lib/entry.d.ts' }));
      write('node_modules/plain/lib/entry.d.ts');
      write('node_modules/plain/lib/entry.js');
      write('node_modules/plain/util/index.js');
      write('node_modules/bare/index.js');
      write('node_modules/typed-only/package.json', JSON.stringify({ name: 'typed-only', version: '1.0.0', types: 'index.d.ts' }));
      write('node_modules/typed-only/index.d.ts');
      const lookup = findNodeModules('', [path.join(dir, 'app')], dir);
      assert.ok(lookup.layout?.folders.includes(path.join(dir, 'node_modules')));
      const r = new NodeResolver(lookup.layout!);
      const from = path.join(dir, 'app', 'index.js');
      const to = (s: string) => {
        const x = r.resolve(from, s);
        return x ? `${path.relative(dir, x.file)} ${x.pkg.name}@${x.pkg.version}` : undefined;
      };
      assert.equal(to('exp'), 'node_modules/exp/cjs/main.cjs exp@1.0.0');
      assert.equal(to('exp/feature/ping'), 'node_modules/exp/lib/ping.js exp@1.0.0');
      assert.equal(to('exp/old'), undefined); // not exported
      assert.equal(to('plain'), 'node_modules/plain/lib/entry.js plain@2.0.0');
      assert.equal(to('plain/util'), 'node_modules/plain/util/index.js plain@2.0.0');
      assert.equal(to('bare'), 'node_modules/bare/index.js bare@0.0.0');
      assert.equal(to('typed-only'), undefined);
      assert.equal(to('missing'), undefined);
      // Pointed at one folder: only that folder.
      const elsewhere = findNodeModules(path.join(dir, 'node_modules'), [path.join(dir, 'app')], dir);
      assert.equal(elsewhere.layout?.foundBy, 'setting');
      assert.deepEqual(findNodeModules('none', [dir], dir), {});
      assert.match(findNodeModules('no-such-folder', [dir], dir).error ?? '', /the node_modules folder no-such-folder is not a folder/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CLI: --node-modules naming no folder stops with exit 2; none scans without it', () => {
    ensureBuilt();
    const dir = path.join(SCENARIOS, 'blocking-handler');
    const bad = runCli(['scan', '.', '--node-modules', 'no-such-folder', '--no-cache'], { cwd: dir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--node-modules: the node_modules folder no-such-folder is not a folder/);
    const off = runCli(['scan', '.', '--node-modules', 'none', '--no-cache'], { cwd: dir });
    assert.equal(off.status, 0, off.stderr);
    const on = runCli(['scan', '.', '--no-cache', '--format', 'json', '--python-env', 'none'], { cwd: dir });
    assert.equal(on.status, 1, on.stderr);
    const report = JSON.parse(on.stdout) as { findings: { ruleId: string; path: string; range: { start: { line: number } } }[] };
    assert.deepEqual(
      report.findings.map((f) => `${f.ruleId} ${f.path}:${f.range.start.line}`),
      [`${RULE} index.js:8`],
    );
  });
});
