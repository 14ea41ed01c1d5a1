/**
 * The install route a user takes: `npm pack` (which builds the bundles through `prepack`),
 * the tarball installed into an empty project with `npm install --offline` (the package has
 * no run-time dependencies: everything is bundled, the grammars ship beside the bundles), and
 * from there `npx hazard-lens scan` reports a leak and `hazard-lens lsp --stdio` answers
 * initialize and publishes the same finding for an opened file.
 *
 * The repository is packed from a staging copy (sources and build script, with the
 * repository's node_modules linked in), so the test never rewrites the dist/ other tests run.
 * It takes some 20-40 seconds and runs in `npm test`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type PublishDiagnosticsParams } from 'vscode-languageserver/node';

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; files: string[] };
/** What the prepack build reads, besides what `files` ships. */
const BUILD_INPUTS = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'tsconfig.json', 'bin', 'scripts/build.mjs', 'scripts/tree-sitter-glue.mjs', 'server/src', 'client/src', 'grammars', 'schemas', 'docs/rules', 'docs/knowledge.md'];

const LEAK = 'def size(p):\n    f = open(p)\n    return len(f.read())\n';
const FINDING = "leak.py:2:9: warning unreleased-file Handle 'f' from open() is not released on every path: it leaks at the return on line 3";

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the npm package, installed from its tarball into an empty project', () => {
  let work = '';
  let project = '';
  let tarball = '';
  let files: string[] = [];

  before(() => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-package-')));
    const stage = path.join(work, 'stage');
    for (const entry of BUILD_INPUTS) fs.cpSync(path.join(ROOT, entry), path.join(stage, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
    const packed = run('npm', ['pack', '--json', '--pack-destination', work], stage);
    assert.equal(packed.status, 0, `npm pack failed:\n${packed.stderr}`);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, info[0].filename);
    files = info[0].files.map((f) => f.path).sort();

    project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'tryout', version: '1.0.0', private: true }));
    fs.writeFileSync(path.join(project, 'leak.py'), LEAK);
    // Offline: the package has no dependencies to fetch, so nothing may come from the registry.
    const installed = run('npm', ['install', '--offline', '--no-save', tarball], project);
    assert.equal(installed.status, 0, `npm install failed:\n${installed.stderr}`);
  });
  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds the bundles, the grammars, the schema and the docs, and nothing else', () => {
    for (const needed of ['bin/hazard-lens.js', 'bin/code-cache.js', 'dist/cli/cli.js', 'dist/server/server.js', 'dist/worker/scan-worker.js', 'dist/shared/zod.js', 'dist/shared/code-cache.js', 'dist/tree-sitter.wasm', 'grammars/tree-sitter-python.wasm', 'grammars/tree-sitter-c.wasm', 'schemas/hazard-lens.schema.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      assert.ok(files.includes(needed), `${needed} is not in the tarball:\n${files.join('\n')}`);
    }
    const stray = files.filter((f) => /^(server|client|test|scripts|examples|node_modules)\/|\.map$|\.ts$/.test(f));
    assert.deepEqual(stray, []);
    // The production build of prepack ships (minified, no source map references), not a development build.
    assert.doesNotMatch(fs.readFileSync(path.join(project, 'node_modules', pkg.name, 'dist', 'cli', 'cli.js'), 'utf8'), /sourceMappingURL/);
    assert.deepEqual(Object.keys((JSON.parse(fs.readFileSync(path.join(project, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { dependencies?: object }).dependencies ?? {}), []);
  });

  test('npx hazard-lens scan reports the leak', () => {
    const r = run('npx', ['--offline', 'hazard-lens', 'scan', 'leak.py', '--no-cache', '-q'], project);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 1);
    assert.equal(r.stdout.split('\n')[0], FINDING);
  });

  test('hazard-lens lsp --stdio: initialize, then didOpen publishes the finding', async () => {
    const bin = path.join(project, 'node_modules', '.bin', 'hazard-lens');
    const child = spawn(bin, ['lsp', '--stdio'], { cwd: project, stdio: 'pipe', env: { ...process.env, HAZARD_LENS_CACHE_DIR: path.join(work, 'cache') } });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
    const file = path.join(project, 'leak.py');
    const uri = pathToFileURL(file).href;
    const published = new Promise<PublishDiagnosticsParams>((resolve) =>
      connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
        if (p.uri === uri && p.diagnostics.length > 0) resolve(p);
      }),
    );
    connection.listen();
    try {
      const init = await connection.sendRequest<{ serverInfo?: { name: string } }>('initialize', {
        processId: process.pid,
        rootUri: pathToFileURL(project).href,
        capabilities: { workspace: { configuration: true } },
        workspaceFolders: [{ uri: pathToFileURL(project).href, name: 'project' }],
      });
      assert.ok(init.serverInfo?.name, 'the server names itself');
      await connection.sendNotification('initialized', {});
      await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text: LEAK } });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no diagnostics within 30 s')), 30_000).unref());
      const diagnostics = (await Promise.race([published, timeout])).diagnostics;
      assert.deepEqual(
        diagnostics.map((d) => ({ code: d.code, line: d.range.start.line, character: d.range.start.character, severity: d.severity })),
        [{ code: 'unreleased-file', line: 1, character: 8, severity: 2 }],
      );
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
    } finally {
      connection.dispose();
      if (child.exitCode === null) child.kill();
    }
  });
});
