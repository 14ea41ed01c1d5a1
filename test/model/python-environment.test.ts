/**
 * Installed packages as read-only program parts (issue #10): the project's virtualenv is
 * found, the packages its imports reach (and the plugin drivers those load by entry-point
 * group) join the Python model, a heartbeat thread that an installed package starts is
 * reported at the workspace code that leads there with the chain going into the package,
 * nothing is reported inside the package, and a second scan reads none of its files again.
 * Scenarios: test/fixtures/programs/py-installed-heartbeat/<workspace>/ (each with a `.venv`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { scan, type ScanOptions, type ScanResult } from '../../server/src/scan/scanner';
import { cachedPythonEnvironment, findPythonEnvironment, sitePackagesOf } from '../../server/src/scan/python-environment';
import { ensureBuilt, runCli } from '../cli/helpers';

const ROOT = path.join(__dirname, '..', '..');
const SCENARIOS = path.join(ROOT, 'test', 'fixtures', 'programs', 'py-installed-heartbeat');
const SITE = path.join('.venv', 'lib', 'python3.12', 'site-packages');

async function scanWorkspace(name: string, options: Partial<ScanOptions> = {}): Promise<ScanResult> {
  const dir = path.join(SCENARIOS, name);
  return scan({ paths: [], cwd: dir, config: { ...DEFAULT_CONFIG, rules: {}, exclude: [] }, jobs: 0, env: {}, ...options });
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

const site = (file: string) => `${SITE.split(path.sep).join('/')}/${file}`;

describe('a heartbeat thread started by an installed package', () => {
  test('a call into the package that reaches the thread start is reported, with the calls inside the package', async () => {
    const result = await scanWorkspace('green');
    assert.deepEqual(shown('green', result), [
      'green-heartbeat error shop/wsgi.py:4:7',
      '  shop/__init__.py:4 threads patched here (eventlet.monkey_patch())',
      '  shop/wsgi.py:4 calls into the installed chatter here (chatter.Connection())',
      `  ${site('chatter/connection.py')}:13 Connection.__init__() calls Connection._start_heartbeat()`,
      `  ${site('chatter/connection.py')}:18 Connection._start_heartbeat() starts the heartbeat thread`,
      `  ${site('chatter/connection.py')}:20 heartbeat thread started here, in the installed chatter (threading.Thread.start()); it is a green thread now`,
      `  ${site('chatter/connection.py')}:23 the thread's loop sends the heartbeat here (self.send_heartbeat()) and sleeps`,
      `  ${site('chatter/__init__.py')}:2 imported from here`,
      '  shop/wsgi.py:2 imported from here',
      '  shop/wsgi.py:7 WSGI entry point: the server imports this module and calls application per request',
    ]);
    assert.match(result.findings[0].message, /^chatter\.Connection\(\) runs code of the installed chatter \(Connection\.__init__\(\) → Connection\._start_heartbeat\(\)\), which starts its heartbeat thread with threading\.Thread\.start\(\)/);
    // The package's own leak (`open(path).read()` in trace_file) is not the workspace's to fix.
    assert.ok(!result.findings.some((f) => f.path.includes('.venv')));
    // The environment's files are dependencies, not sources of the workspace.
    assert.deepEqual(result.analyses.map((a) => path.relative(path.join(SCENARIOS, 'green'), a.path)).sort(), ['shop/__init__.py', 'shop/wsgi.py']);
    // chatter's two files, and eventlet's: its own import-time lock is not a late patch of the application.
    assert.equal(result.stats?.dependencyFiles, 3);
    assert.ok(result.notes?.some((n) => /^Python environment .*green\/\.venv \(found as \.venv\): 3 files of 2 installed packages joined to the program$/.test(n.note)));
  });

  test('the same program with a release that takes its thread from eventlet.patcher.original is silent', async () => {
    assert.deepEqual(shown('native', await scanWorkspace('native')), []);
  });

  test('importing the package without calling into it starts no heartbeat: silent', async () => {
    assert.deepEqual(shown('imported-only', await scanWorkspace('imported-only')), []);
  });

  test('a modelled transport call that the program uses reaches the driver the package loads by entry-point group (not its server-side threads); a transport used only by the package itself (its log handler) is silent', async () => {
    assert.deepEqual(shown('modelled-driver', await scanWorkspace('modelled-driver')), [
      'green-heartbeat error billing/rpc.py:10:17',
      '  billing/__init__.py:4 threads patched here (eventlet.monkey_patch())',
      '  billing/rpc.py:10 connection of the installed oslo.messaging set up here (oslo_messaging.get_rpc_transport())',
      `  ${site('oslo_messaging/_drivers/impl_fast.py')}:10 heartbeat thread started here, in the installed oslo.messaging (threading.Thread.start()); it is a green thread now`,
      '  billing/api.py:7 the WSGI server calls application() for every request',
      '  billing/api.py:8 rpc.charge() is called here',
      '  billing/rpc.py:17 the transport is first used here: client.cast() sends an RPC cast (an RPC client), which opens a connection and starts its heartbeat thread',
      `  ${site('oslo_messaging/_drivers/impl_fast.py')}:13 the thread's loop sends the heartbeat here (self.heartbeat_check()) and sleeps`,
      `  ${site('oslo_messaging/transport.py')}:6 loads the plugins of entry-point group 'oslo.messaging.drivers' here (oslo_messaging._drivers.impl_fast)`,
      `  ${site('oslo_messaging/__init__.py')}:5 imported from here`,
      '  billing/rpc.py:2 imported from here',
      '  billing/api.py:2 imported from here',
      '  billing/api.py:7 WSGI entry point: the server imports this module and calls application per request',
    ]);
  });

  test('a driver that rebinds its threading module to the unpatched original is silent, and so are the package server threads', async () => {
    assert.deepEqual(shown('modelled-driver-native', await scanWorkspace('modelled-driver-native')), []);
  });

  test('without the environment the call model stands in for the package (and names no thread inside it)', async () => {
    const lines = shown('modelled-driver', await scanWorkspace('modelled-driver', { pythonEnvironment: 'none' }));
    assert.equal(lines[0], 'green-heartbeat error billing/rpc.py:10:17');
    assert.ok(!lines.some((l) => l.includes('.venv')));
  });

  test('a second scan takes the installed package from the cache without reading its files', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-deps-'));
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-ws-'));
    try {
      fs.cpSync(path.join(SCENARIOS, 'green'), copy, { recursive: true });
      const config = { ...DEFAULT_CONFIG, rules: {}, exclude: [] };
      const run = () => scan({ paths: [], cwd: copy, config, jobs: 0, env: {}, cacheDir, evaluationCache: false });
      const first = await run();
      assert.deepEqual([first.stats?.dependencyFiles, first.stats?.dependencyCacheHits], [3, 0]);
      // Emptied in place (the installation's metadata is untouched): a scan that read them
      // again would find no heartbeat thread.
      for (const f of ['chatter/__init__.py', 'chatter/connection.py']) fs.writeFileSync(path.join(copy, SITE, f), '');
      const second = await run();
      assert.deepEqual([second.stats?.dependencyFiles, second.stats?.dependencyCacheHits], [3, 3]);
      assert.equal(second.findings.length, 1);
      assert.deepEqual(second.findings, first.findings);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('finding the environment', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hl-env-'));

  test('a .venv of the scanned root, $VIRTUAL_ENV first, none when asked', () => {
    const root = tmp();
    try {
      fs.mkdirSync(path.join(root, '.venv', 'lib', 'python3.11', 'site-packages'), { recursive: true });
      fs.writeFileSync(path.join(root, '.venv', 'pyvenv.cfg'), 'home = /usr/bin\n');
      const other = path.join(root, 'elsewhere');
      fs.mkdirSync(path.join(other, 'lib', 'python3.13', 'site-packages'), { recursive: true });
      assert.equal(findPythonEnvironment('', [root], {}, root).environment?.foundBy, '.venv');
      assert.deepEqual(findPythonEnvironment('', [root], {}, root).environment?.sitePackages, [path.join(root, '.venv', 'lib', 'python3.11', 'site-packages')]);
      assert.equal(findPythonEnvironment('', [root], { VIRTUAL_ENV: other }, root).environment?.prefix, other);
      assert.deepEqual(findPythonEnvironment('none', [root], { VIRTUAL_ENV: other }, root), {});
      // A folder named like an environment without pyvenv.cfg is not one.
      fs.rmSync(path.join(root, '.venv', 'pyvenv.cfg'));
      assert.deepEqual(findPythonEnvironment('', [root], {}, root), {});
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the language server asks on every evaluation: the same lookup until a package is installed or removed', () => {
    const root = tmp();
    try {
      const sp = path.join(root, '.venv', 'lib', 'python3.11', 'site-packages');
      fs.mkdirSync(sp, { recursive: true });
      fs.writeFileSync(path.join(root, '.venv', 'pyvenv.cfg'), 'home = /usr/bin\n');
      const first = cachedPythonEnvironment('', [root], {}, root);
      assert.equal(cachedPythonEnvironment('', [root], {}, root), first);
      assert.deepEqual(first.environment?.distributions, []);
      // Installing a package adds a folder to site-packages (its time stamp changes).
      const later = Date.now() / 1000 + 5;
      fs.mkdirSync(path.join(sp, 'bus-1.0.dist-info'));
      fs.writeFileSync(path.join(sp, 'bus-1.0.dist-info', 'METADATA'), 'Name: bus\nVersion: 1.0\n');
      fs.utimesSync(sp, later, later);
      const second = cachedPythonEnvironment('', [root], {}, root);
      assert.notEqual(second, first);
      assert.deepEqual(second.environment?.distributions.map((d) => `${d.name}==${d.version}`), ['bus==1.0']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a setting that names no environment is an error, never ignored', () => {
    const root = tmp();
    try {
      assert.deepEqual(findPythonEnvironment('missing-env', [root], {}, root), { error: 'the Python environment missing-env is not a folder' });
      assert.deepEqual(findPythonEnvironment(root, [root], {}, root), { error: `${root} has no site-packages folder (expected lib/python3.X/site-packages)` });
      // A bare site-packages folder is accepted as it is.
      const sp = path.join(root, 'site-packages');
      fs.mkdirSync(sp);
      assert.deepEqual(sitePackagesOf(sp), [sp]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('CLI: --python-env naming no environment stops with exit 2; none scans without it', () => {
    ensureBuilt();
    const dir = path.join(SCENARIOS, 'green');
    const bad = runCli(['scan', '.', '--python-env', 'no-such-env', '--no-cache'], { cwd: dir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--python-env: the Python environment no-such-env is not a folder/);
    const off = runCli(['scan', '.', '--python-env', 'none', '--no-cache'], { cwd: dir });
    assert.equal(off.status, 0, off.stderr);
    const on = runCli(['scan', '.', '--no-cache', '--format', 'json'], { cwd: dir, env: { VIRTUAL_ENV: '' } });
    assert.equal(on.status, 1, on.stderr);
    assert.deepEqual(JSON.parse(on.stdout).findings.map((f: { ruleId: string; path: string }) => `${f.ruleId} ${f.path}`), ['green-heartbeat shop/wsgi.py']);
  });
});
