/**
 * The workspace index of the language server, over a real JSON-RPC connection to the built
 * server (`node scripts/build.mjs` first): files never opened are indexed in the background
 * (honouring .gitignore), disk changes reported through `workspace/didChangeWatchedFiles`
 * update single entries without re-parsing unchanged files, open documents override the
 * disk, and cross-file findings (fork-in-threaded-program) follow edits in another file,
 * open or only on disk. Every wait is for an event, never a sleep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver/node';
import { TestClient, uriOf, type Registration } from './client';
import { LATIN1_C } from '../latin1-source';

const LEAK = 'def f(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';
const CLEAN = 'def f(p):\n    with open(p) as fh:\n        return fh.read()\n';
const LEAK_RULE = 'unreleased-file';
const FORK_RULE = 'fork-in-threaded-program';
const INDEX_STATS = 'hazardLens/indexStats';
const WATCHED_FILES = { didChangeWatchedFiles: { dynamicRegistration: true } };
const CREATED = 1;
const CHANGED = 2;
const DELETED = 3;

/** A module that starts a thread when it is imported. */
const WORKER = [
  'import threading',
  '',
  '',
  'def heartbeat():',
  '    pass',
  '',
  '',
  'threading.Thread(target=heartbeat, daemon=True).start()',
  '',
].join('\n');
/** The same module without the thread start. */
const WORKER_QUIET = WORKER.replace('threading.Thread(target=heartbeat, daemon=True).start()\n', '');
/** A program that imports the worker, then forks. */
const MAIN = [
  'import os',
  '',
  'import worker',
  '',
  'if __name__ == "__main__":',
  '    pid = os.fork()',
  '    if pid == 0:',
  '        os._exit(0)',
  '    os.waitpid(pid, 0)',
  '',
].join('\n');
const FORK_LINE = 5;

interface IndexStats {
  folders: { uri: string; ready: boolean; files: number; projectFiles: string[] }[];
  open: number;
  parsed: number;
  reused: number;
}


function makeWorkspace(files: Record<string, string>): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-index-')));
  for (const [rel, text] of Object.entries(files)) write(ws, rel, text);
  return ws;
}

function write(ws: string, rel: string, text: string): string {
  const p = path.join(ws, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

function byRule(diagnostics: Diagnostic[], rule: string): Diagnostic[] {
  return diagnostics.filter((d) => d.code === rule);
}

async function watched(client: TestClient, changes: { path: string; type: number }[]): Promise<void> {
  await client.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: changes.map((c) => ({ uri: uriOf(c.path), type: c.type })) });
}

function stats(client: TestClient): Promise<IndexStats> {
  return client.connection.sendRequest<IndexStats>(INDEX_STATS, null);
}

/** Publications for `uri` recorded from event `from` on. */
function publishedSince(client: TestClient, uri: string, from: number): PublishDiagnosticsParams[] {
  return client.diagnostics.events.slice(from).filter((p) => p.uri === uri);
}

describe('workspace index', () => {
  let ws: string;
  let client: TestClient;
  const uri = (rel: string) => uriOf(path.join(ws, rel));

  before(async () => {
    ws = makeWorkspace({
      'leaky.py': LEAK,
      'clean.py': CLEAN,
      'disk_leak.py': LEAK,
      'pkg/mod.py': CLEAN,
      'pkg/setup.cfg': '[metadata]\nname = pkg\n',
      'pyproject.toml': '[project]\nname = "demo"\n',
      '.gitignore': 'build/\n',
      'build/generated.py': LEAK,
      'node_modules/dep/index.ts': 'export const x = 1;\n',
    });
    client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0 }, workspaceCapabilities: WATCHED_FILES });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('registers file watchers for sources, project files and .gitignore', async () => {
    const registration: Registration = await client.registrations.waitFor((r) => r.method === 'workspace/didChangeWatchedFiles', 'watcher registration');
    const globs = (registration.registerOptions as { watchers: { globPattern: string }[] }).watchers.map((w) => w.globPattern);
    assert.ok(globs.includes('**/*.{c,h,py,pyi,wsgi,ts,mts,cts,tsx,js,mjs,cjs,jsx}'), globs.join(' '));
    assert.ok(globs.includes('**/{pyproject.toml,setup.cfg,compile_commands.json,package.json}'), globs.join(' '));
    assert.ok(globs.includes('**/*.{ini,conf}'), globs.join(' '));
    assert.ok(globs.includes('**/*.{egg-info,dist-info}/entry_points.txt'), globs.join(' '));
    assert.ok(globs.includes('**/.gitignore'), globs.join(' '));
  });

  test('indexes files never opened in the background, with progress, honouring .gitignore', async () => {
    await client.indexingDone();
    const published = await client.waitForDiagnostics(uri('leaky.py'), undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    assert.equal(published.version, undefined, 'files that are not open are published without a version');
    const s = await stats(client);
    assert.equal(s.folders.length, 1);
    assert.equal(s.folders[0].ready, true);
    assert.equal(s.folders[0].files, 4, 'leaky.py, clean.py, disk_leak.py, pkg/mod.py');
    assert.deepEqual(s.folders[0].projectFiles, [path.join(ws, 'pkg', 'setup.cfg'), path.join(ws, 'pyproject.toml')]);
    assert.equal(s.parsed, 4);
    const uris = new Set(client.diagnostics.events.map((p) => p.uri));
    for (const silent of ['clean.py', 'pkg/mod.py', 'build/generated.py']) assert.ok(!uris.has(uri(silent)), `${silent} must not be published`);
  });

  test('a disk change re-analyses only that file; an unchanged file is not parsed again', async () => {
    await client.indexingDone();
    await client.waitForDiagnostics(uri('leaky.py'), undefined, (d) => d.length > 0);
    const before = await stats(client);
    const from = client.diagnostics.events.length;
    const leaky = write(ws, 'leaky.py', CLEAN);
    // clean.py is reported as changed but its content is the same.
    await watched(client, [
      { path: path.join(ws, 'clean.py'), type: CHANGED },
      { path: leaky, type: CHANGED },
    ]);
    await client.waitForDiagnostics(uri('leaky.py'), undefined, (d) => d.length === 0, { from });
    const after = await stats(client);
    assert.equal(after.parsed, before.parsed + 1, 'only leaky.py was parsed again');
    assert.deepEqual(publishedSince(client, uri('clean.py'), from), []);
    assert.deepEqual(publishedSince(client, uri('disk_leak.py'), from), [], 'unchanged diagnostics are not republished');
  });

  test('created files are indexed unless ignored; deleted files are dropped and cleared', async () => {
    await client.indexingDone();
    const from = client.diagnostics.events.length;
    const created = write(ws, 'created.py', LEAK);
    const ignored = write(ws, 'build/more.py', LEAK);
    await watched(client, [
      { path: created, type: CREATED },
      { path: ignored, type: CREATED },
    ]);
    await client.waitForDiagnostics(uri('created.py'), undefined, (d) => byRule(d, LEAK_RULE).length === 1, { from });
    const s = await stats(client);
    assert.equal(s.folders[0].files, 5, 'created.py is indexed, build/more.py is not');
    assert.deepEqual(publishedSince(client, uri('build/more.py'), from), []);

    fs.rmSync(created);
    await watched(client, [{ path: created, type: DELETED }]);
    await client.waitForDiagnostics(uri('created.py'), undefined, (d) => d.length === 0, { from });
    assert.equal((await stats(client)).folders[0].files, 4);
  });

  test('an open document overrides the disk, and the disk counts again once it is closed', async () => {
    await client.indexingDone();
    const target = uri('disk_leak.py');
    await client.waitForDiagnostics(target, undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    // The editor's text (clean) wins over the leaking text on disk.
    await client.open(target, 'python', CLEAN);
    await client.waitForDiagnostics(target, 1, (d) => d.length === 0);
    const v2 = await client.change(target, [{ range: { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } }, text: LEAK }]);
    await client.waitForDiagnostics(target, v2, (d) => byRule(d, LEAK_RULE).length === 1);
    const parsedBefore = (await stats(client)).parsed;
    const from = client.diagnostics.events.length;
    await client.close(target);
    // Closed: cleared, then the disk file's findings are back (unversioned); the disk text
    // is the same as before, so it is not parsed again.
    await client.waitForDiagnostics(target, undefined, (d) => byRule(d, LEAK_RULE).length === 1, { from });
    assert.equal((await stats(client)).parsed, parsedBefore);
  });

  test('project files follow the disk like sources', async () => {
    await client.indexingDone();
    const from = client.diagnostics.events.length;
    const ini = write(ws, 'uwsgi.ini', '[uwsgi]\nmodule = app\n');
    const setupCfg = path.join(ws, 'pkg', 'setup.cfg');
    fs.rmSync(setupCfg);
    const marker = write(ws, 'marker.py', LEAK);
    // One batch: the source file's publication says the whole batch was applied.
    await watched(client, [
      { path: ini, type: CREATED },
      { path: setupCfg, type: DELETED },
      { path: marker, type: CREATED },
    ]);
    await client.waitForDiagnostics(uri('marker.py'), undefined, (d) => d.length > 0, { from });
    assert.deepEqual((await stats(client)).folders[0].projectFiles, [path.join(ws, 'pyproject.toml'), ini]);
  });

  test('a .gitignore change re-indexes: newly ignored files are dropped and cleared', async () => {
    await client.indexingDone();
    const target = uri('marker.py');
    await client.waitForDiagnostics(target, undefined, (d) => d.length > 0);
    const from = client.diagnostics.events.length;
    const parsedBefore = (await stats(client)).parsed;
    const ignoreFile = write(ws, '.gitignore', 'build/\nmarker.py\n');
    await watched(client, [{ path: ignoreFile, type: CHANGED }]);
    await client.waitForDiagnostics(target, undefined, (d) => d.length === 0, { from });
    const s = await stats(client);
    assert.equal(s.folders[0].files, 4);
    assert.equal(s.parsed, parsedBefore, 're-indexing parses no unchanged file');
    write(ws, '.gitignore', 'build/\n');
    await watched(client, [{ path: ignoreFile, type: CHANGED }]);
    await client.waitForDiagnostics(target, undefined, (d) => d.length > 0, { from });
    assert.equal((await stats(client)).parsed, parsedBefore, 'the analysis of marker.py was kept by content hash');
  });

  test('opening a file that is on disk unchanged costs no parse', async () => {
    await client.indexingDone();
    const target = uri('pkg/mod.py');
    const before = await stats(client);
    await client.open(target, 'python', CLEAN);
    await client.waitForDiagnostics(target, 1);
    const after = await stats(client);
    assert.equal(after.parsed, before.parsed);
    assert.equal(after.open, 1);
    await client.close(target);
  });
});

describe('cross-file findings follow edits in another file', () => {
  test('both files open: removing the thread start in worker.py clears the fork finding in main.py', async () => {
    const ws = makeWorkspace({ 'worker.py': WORKER, 'main.py': MAIN });
    const client = await TestClient.start({ rootPath: ws, workspaceCapabilities: WATCHED_FILES });
    try {
      const main = uriOf(path.join(ws, 'main.py'));
      const worker = uriOf(path.join(ws, 'worker.py'));
      await client.open(worker, 'python', WORKER);
      await client.open(main, 'python', MAIN);
      const found = await client.waitForDiagnostics(main, 1, (d) => byRule(d, FORK_RULE).length === 1);
      const [fork] = byRule(found.diagnostics, FORK_RULE);
      assert.equal(fork.range.start.line, FORK_LINE, 'on os.fork()');
      const related = fork.relatedInformation ?? [];
      const inWorker = related.filter((r) => r.location.uri === worker);
      assert.ok(inWorker.length > 0, `the evidence chain points into worker.py: ${JSON.stringify(related, null, 1)}`);
      assert.equal(inWorker[0].location.range.start.line, 7, 'the thread start');

      // Edit worker.py only: main.py is republished (same version) without the finding.
      const from = client.diagnostics.events.length;
      const line = WORKER.split('\n').indexOf('threading.Thread(target=heartbeat, daemon=True).start()');
      const v2 = await client.change(worker, [{ range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: '' }]);
      assert.equal(client.text(worker), WORKER_QUIET);
      await client.waitForDiagnostics(worker, v2, undefined, { from });
      const cleared = await client.waitForDiagnostics(main, 1, (d) => byRule(d, FORK_RULE).length === 0, { from });
      assert.equal(cleared.version, 1, 'main.py was neither edited nor reopened');
      assert.equal(client.version(main), 1);
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  test('worker.py only on disk: the finding comes from the index and goes with a disk change', async () => {
    const ws = makeWorkspace({ 'worker.py': WORKER, 'main.py': MAIN });
    const client = await TestClient.start({ rootPath: ws, workspaceCapabilities: WATCHED_FILES });
    try {
      const main = uriOf(path.join(ws, 'main.py'));
      const worker = uriOf(path.join(ws, 'worker.py'));
      await client.open(main, 'python', MAIN);
      const found = await client.waitForDiagnostics(main, 1, (d) => byRule(d, FORK_RULE).length === 1);
      const related = byRule(found.diagnostics, FORK_RULE)[0].relatedInformation ?? [];
      assert.ok(
        related.some((r) => r.location.uri === worker),
        `the evidence chain points into worker.py: ${JSON.stringify(related, null, 1)}`,
      );

      const from = client.diagnostics.events.length;
      const p = write(ws, 'worker.py', WORKER_QUIET);
      await watched(client, [{ path: p, type: CHANGED }]);
      const cleared = await client.waitForDiagnostics(main, 1, (d) => byRule(d, FORK_RULE).length === 0, { from });
      assert.equal(cleared.version, 1);
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});

/** C, three translation units: main() starts a thread (threads.c), then a helper forks (spawn.c). */
const C_THREADS = [
  '#include <pthread.h>',
  '',
  'static void *work(void *arg)',
  '{',
  '  return arg;',
  '}',
  '',
  'void start_workers(void)',
  '{',
  '  pthread_t t;',
  '  pthread_create(&t, NULL, work, NULL);',
  '}',
  '',
].join('\n');
const C_SPAWN = [
  '#include <syslog.h>',
  '#include <unistd.h>',
  '',
  'int run_helper(char *prog, char **argv)',
  '{',
  '  pid_t pid = fork();',
  '  if (pid == 0) {',
  '    syslog(LOG_INFO, "starting %s", prog);',
  '    execv(prog, argv);',
  '    _exit(127);',
  '  }',
  '  return pid;',
  '}',
  '',
].join('\n');
const C_MAIN = [
  'void start_workers(void);',
  'int run_helper(char *prog, char **argv);',
  '',
  'int main(void)',
  '{',
  '  char *argv[] = { "/bin/true", 0 };',
  '  start_workers();',
  '  run_helper(argv[0], argv);',
  '  return 0;',
  '}',
  '',
].join('\n');
const CHILD_RULE = 'unsafe-call-in-fork-child';
const SYSLOG_LINE = 7;
const PTHREAD_LINE = 10;

describe('cross-file findings in C (unsafe-call-in-fork-child)', () => {
  test('the thread start in another file raises the finding to an error; editing, then closing that file follows it', async () => {
    const ws = makeWorkspace({ 'threads.c': C_THREADS, 'spawn.c': C_SPAWN, 'main.c': C_MAIN });
    const client = await TestClient.start({ rootPath: ws, workspaceCapabilities: WATCHED_FILES });
    try {
      const spawnUri = uriOf(path.join(ws, 'spawn.c'));
      const threadsUri = uriOf(path.join(ws, 'threads.c'));
      const onSyslog = (d: Diagnostic[]) => byRule(d, CHILD_RULE).filter((x) => x.range.start.line === SYSLOG_LINE);
      await client.open(spawnUri, 'c', C_SPAWN);
      // threads.c is only on disk: the index brings it in.
      const threaded = await client.waitForDiagnostics(spawnUri, 1, (d) => onSyslog(d)[0]?.severity === 1);
      const related = onSyslog(threaded.diagnostics)[0].relatedInformation ?? [];
      assert.ok(
        related.some((r) => r.location.uri === threadsUri && r.location.range.start.line === PTHREAD_LINE),
        `the chain starts at the thread start in threads.c: ${JSON.stringify(related, null, 1)}`,
      );

      // Remove the thread start in the editor (not saved): spawn.c is republished at its own
      // version, no longer an error.
      await client.open(threadsUri, 'c', C_THREADS);
      await client.waitForDiagnostics(threadsUri, 1);
      let from = client.diagnostics.events.length;
      await client.change(threadsUri, [{ range: { start: { line: PTHREAD_LINE, character: 0 }, end: { line: PTHREAD_LINE + 1, character: 0 } }, text: '' }]);
      const single = await client.waitForDiagnostics(spawnUri, 1, (d) => onSyslog(d).every((x) => x.severity !== 1), { from });
      for (const d of onSyslog(single.diagnostics)) {
        assert.ok(!(d.relatedInformation ?? []).some((r) => r.location.uri === threadsUri), 'no thread chain any more');
      }

      // Closed without saving: the disk text (with the thread start) counts again.
      from = client.diagnostics.events.length;
      await client.close(threadsUri);
      await client.waitForDiagnostics(spawnUri, 1, (d) => onSyslog(d)[0]?.severity === 1, { from });
      assert.equal(client.version(spawnUri), 1, 'spawn.c was never edited');
    } finally {
      await client.stop();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});

describe('indexing a larger workspace', () => {
  const FILES = 600;
  let ws: string;
  before(() => {
    const files: Record<string, string> = {};
    for (let i = 0; i < FILES; i++) files[`pkg${i % 20}/mod${i}.py`] = `import os\n\n\ndef f${i}(p):\n    return os.path.join(p, "${i}")\n`;
    ws = makeWorkspace(files);
  });
  after(() => fs.rmSync(ws, { recursive: true, force: true }));

  test('an open document is diagnosed while the index is still being built', async () => {
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0, debounceMs: 0 } });
    try {
      const begin = await client.progress.waitFor((e) => e.value.kind === 'begin' && /indexing/.test(e.value.title ?? ''), 'indexing to begin');
      const doc = uriOf(path.join(ws, 'open_me.py'));
      await client.open(doc, 'python', LEAK);
      await client.waitForDiagnostics(doc, 1, (d) => byRule(d, LEAK_RULE).length === 1);
      const ended = client.progress.events.some((e) => e.token === begin.token && e.value.kind === 'end');
      assert.equal(ended, false, 'the diagnostics did not wait for the index');
      await client.progress.waitFor((e) => e.token === begin.token && e.value.kind === 'end', 'indexing to end');
      const s = await stats(client);
      assert.equal(s.folders[0].ready, true);
      assert.equal(s.folders[0].files, FILES);
    } finally {
      await client.stop();
    }
  });

  test('cancelling the indexing progress stops the build; the folder then counts open files only', async () => {
    const client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0 } });
    try {
      const begin = await client.progress.waitFor((e) => e.value.kind === 'begin' && /indexing/.test(e.value.title ?? ''), 'indexing to begin');
      await client.connection.sendNotification('window/workDoneProgress/cancel', { token: begin.token });
      await client.progress.waitFor((e) => e.token === begin.token && e.value.kind === 'end', 'indexing to end');
      const s = await stats(client);
      assert.equal(s.folders[0].ready, false);
      assert.ok(s.parsed + s.reused < FILES, `stopped early (${s.parsed} parsed and ${s.reused} reused of ${FILES})`);
      // A scan indexes the folder after all.
      const summary = await client.executeCommand<{ files: number; cancelled: boolean }>('hazardLens.scanWorkspace');
      assert.equal(summary.cancelled, false);
      assert.equal(summary.files, FILES);
      assert.equal((await stats(client)).folders[0].ready, true);
    } finally {
      await client.stop();
    }
  });
});

describe('the analysis cache on disk', () => {
  test('a restarted server reads the analyses of unchanged files from the cache instead of parsing them', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 80; i++) files[`pkg/mod${i}.py`] = `import os\n\n\ndef f${i}(p):\n    return os.path.join(p, "${i}")\n`;
    const ws = makeWorkspace(files);
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-lsp-shared-cache-'));
    try {
      for (const run of ['cold', 'warm'] as const) {
        const client = await TestClient.start({ rootPath: ws, cacheDir, initializationOptions: { indexProgressDelayMs: 0 } });
        try {
          await client.progress.waitFor((e) => e.value.kind === 'end', 'indexing to end');
          const s = await stats(client);
          assert.equal(s.folders[0].ready, true);
          if (run === 'cold') assert.deepEqual({ parsed: s.parsed, reused: s.reused }, { parsed: 80, reused: 0 });
          else assert.deepEqual({ parsed: s.parsed, reused: s.reused }, { parsed: 0, reused: 80 });
        } finally {
          await client.stop();
        }
      }
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('settings per workspace folder', () => {
  let first: string;
  let second: string;
  let client: TestClient;
  before(async () => {
    first = makeWorkspace({ 'a.py': LEAK });
    second = makeWorkspace({ 'b.py': LEAK });
    client = await TestClient.start({ folders: [first, second], initializationOptions: { indexProgressDelayMs: 0 }, workspaceCapabilities: WATCHED_FILES });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(first, { recursive: true, force: true });
    fs.rmSync(second, { recursive: true, force: true });
  });

  test('each folder is evaluated with its own settings', async () => {
    const a = uriOf(path.join(first, 'a.py'));
    const b = uriOf(path.join(second, 'b.py'));
    await client.waitForDiagnostics(a, undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    await client.waitForDiagnostics(b, undefined, (d) => byRule(d, LEAK_RULE).length === 1);
    const secondUri = uriOf(second);
    client.scopedSettings = (scope) => (scope?.startsWith(secondUri) ? { rules: { [LEAK_RULE]: 'error' } } : undefined);
    const from = client.diagnostics.events.length;
    await client.changeSettings({});
    const raised = await client.waitForDiagnostics(b, undefined, (d) => byRule(d, LEAK_RULE)[0]?.severity === 1, { from });
    assert.equal(byRule(raised.diagnostics, LEAK_RULE).length, 1);
    // The first folder (evaluated before the second) keeps the default severity: nothing
    // changed, nothing republished.
    assert.deepEqual(publishedSince(client, a, from), []);
  });
});

describe('workspace index: sources that are not UTF-8', () => {
  let ws: string;
  let client: TestClient;
  before(async () => {
    ws = makeWorkspace({ 'ok.py': CLEAN });
    fs.writeFileSync(path.join(ws, 'legacy.c'), LATIN1_C);
    client = await TestClient.start({ rootPath: ws, initializationOptions: { indexProgressDelayMs: 0 }, workspaceCapabilities: WATCHED_FILES });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('a Latin-1 file is decoded as Windows-1252, logged, and its findings sit under the right characters', async () => {
    await client.indexingDone();
    const file = path.join(ws, 'legacy.c');
    const published = await client.waitForDiagnostics(uriOf(file), undefined, (d) => byRule(d, LEAK_RULE).length === 2);
    assert.deepEqual(
      byRule(published.diagnostics, LEAK_RULE).map((d) => [d.range.start.line, d.range.start.character]),
      // Line 10: `/* été */ int g(...) { FILE *q = ` is 43 UTF-16 code units before `fopen`.
      [
        [3, 15],
        [9, 43],
      ],
    );
    const s = await stats(client);
    assert.deepEqual((s.folders[0] as { decoded?: unknown }).decoded, [{ path: file, encoding: 'windows-1252' }]);
    assert.ok(client.logs.includes(`index: decoded as Windows-1252: ${file}`), client.logs.join('\n'));
  });
});
