/**
 * Multi-file TypeScript scenarios (test/fixtures/programs/ts-*): every file of a scenario is
 * analysed, then the folder is evaluated as one workspace with its package.json. Asserts the
 * exact findings of heartbeat-starved-by-blocking-call with their evidence chains, the
 * programs the model builds, and that editing one file changes the findings of another.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/analysis/results';
import { typescriptModel } from '../../server/src/model/typescript';
import { analysesAfterEdit, grammarsReady, loadWorkspace, type LoadedWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');
const RULE_ID = 'heartbeat-starved-by-blocking-call';

type Scenario = LoadedWorkspace;

function load(name: string): Scenario {
  return loadWorkspace(join(PROGRAMS, name), ROOT, { cleanNotes: true });
}

function run(s: Scenario, files = s.files, projectFiles = s.projectFiles): Finding[] {
  const { findings, notes } = evaluate(files, DEFAULT_CONFIG, { roots: [s.dir], projectFiles });
  assert.deepEqual(notes, []);
  return findings.filter((f) => f.ruleId === RULE_ID);
}

function rel(s: Scenario, p: string): string {
  return relative(s.dir, join(ROOT, p)).split('\\').join('/');
}

/** `path:line message` (1-based lines, paths relative to the scenario). */
function steps(s: Scenario, f: Finding): string[] {
  return f.related.map((r) => `${rel(s, r.path)}:${r.range.start.line + 1} ${r.message}`);
}

function at(s: Scenario, f: Finding): string {
  return `${f.ruleId} ${rel(s, f.path)}:${f.range.start.line + 1}:${f.range.start.character + 1}`;
}

const edited = analysesAfterEdit;

before(async () => {
  await grammarsReady();
});

describe('ts-heartbeat-service: heartbeat in one module, blocking route handler two calls away in another', () => {
  test('the blocking call in reports.ts is reported with the chain from package.json "main"', () => {
    const s = load('ts-heartbeat-service');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/routes/reports.ts:5:10`]);
    const [f] = findings;
    assert.equal(f.severity, 'warning');
    assert.equal(
      f.message,
      'execFileSync() blocks the event loop in a request handler (app.get()) of a program whose heartbeat runs on the same loop ' +
        '(setInterval() at ../heartbeat.ts:5: a timer that sends heartbeats); while it runs no heartbeat is sent and the peer may drop the connection',
    );
    assert.deepEqual(steps(s, f), [
      'src/heartbeat.ts:5 heartbeat started here (setInterval())',
      'src/index.ts:12 `startHeartbeat()` arms a keep-alive here (setInterval())',
      'package.json:4 program entry point (package.json "main")',
      'src/index.ts:13 called here',
      'src/routes/index.ts:6 request handler registered here (app.get())',
      'src/routes/reports.ts:9 `render()` blocks the event loop here (execFileSync())',
      'src/routes/reports.ts:5 blocks the event loop here (execFileSync())',
    ]);
    // render() is not async: only the worker-thread suggestion is offered.
    assert.deepEqual(f.fixes.map((x) => x.applicability), ['display-only']);
  });

  test('the entry maps dist/index.js back to src/index.ts; the program holds every module', () => {
    const s = load('ts-heartbeat-service');
    const model = typescriptModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    assert.deepEqual(
      model.programs.map((p) => `${p.root.kind} ${rel(s, p.root.module.path)}: ${[...p.modules].map((m) => rel(s, m.path)).sort().join(', ')}`),
      ['main src/index.ts: src/heartbeat.ts, src/index.ts, src/routes/index.ts, src/routes/reports.ts'],
    );
  });

  test('a heartbeat that no longer pings clears the finding in reports.ts', () => {
    const s = load('ts-heartbeat-service');
    assert.deepEqual(run(s, edited(s, 'src/heartbeat.ts', 'client.ping()', 'client.send(Date.now())')), []);
  });

  test('the async variant in reports.ts is silent', () => {
    const s = load('ts-heartbeat-service');
    const files = edited(s, 'src/routes/reports.ts', "execFileSync('wkhtmltopdf', [`/reports/${id}.html`, '-'])", 'Buffer.alloc(0)');
    assert.deepEqual(run(s, files), []);
  });

  test('without package.json, src/index.ts under the workspace root is the entry and the chain starts there', () => {
    const s = load('ts-heartbeat-service');
    const findings = run(s, s.files, []);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/routes/reports.ts:5:10`]);
    assert.deepEqual(steps(s, findings[0]).slice(0, 3), ['src/heartbeat.ts:5 heartbeat started here (setInterval())', 'src/index.ts:12 `startHeartbeat()` arms a keep-alive here (setInterval())', 'src/index.ts:13 called here']);
  });
});

describe('ts-heartbeat-plugin-registry: a probe runs the check a lookup table holds, beside socket.io', () => {
  test('the blocking check is reached through the named instance and the table dispatch', () => {
    const s = load('ts-heartbeat-plugin-registry');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/checks/dns.js:7:20`]);
    const [f] = findings;
    assert.equal(
      f.message,
      'spawnSync() blocks the event loop in a timer callback (setTimeout()) of a program whose heartbeat runs on the same loop ' +
        '(new Server() from socket.io at ../server.js:9: engine.io pings, every 25 s by default); while it runs no heartbeat is sent and the peer may drop the connection',
    );
    assert.deepEqual(steps(s, f), [
      'src/server.js:9 heartbeat started here (new Server() from socket.io)',
      'package.json:4 program entry point (package.json "main")',
      'src/server.js:17 called here',
      'src/server.js:13 called here',
      'src/probe.js:12 called here',
      'src/probe.js:10 timer callback registered here (setTimeout())',
      'src/probe.js:8 called here on an object taken from a table: may run DnsCheck.perform, which blocks the event loop (spawnSync())',
      'src/checks/dns.js:7 blocks the event loop here (spawnSync())',
    ]);
  });

  test('a check class that does not override the base method is not dispatched to', () => {
    const s = load('ts-heartbeat-plugin-registry');
    assert.deepEqual(run(s, edited(s, 'src/checks/dns.js', 'class DnsCheck extends Check {', 'class DnsCheck {')), []);
  });

  test('a receiver not named after the class leaves Probe.run unreached', () => {
    const s = load('ts-heartbeat-plugin-registry');
    const files = edited(s, 'src/server.js', '  const probe = await store.load(id);\n  probe.run(io);', '  const row = await store.load(id);\n  row.run(io);');
    assert.deepEqual(run(s, files), []);
  });

  test("started at start-up, the probe's own heartbeat-named timer starves socket.io; without socket.io it is silent", () => {
    const s = load('ts-heartbeat-plugin-registry');
    let files = edited(s, 'src/probe.js', 'this.timer = setTimeout', 'this.heartbeatTimer = setTimeout');
    const server = files.find((f) => rel(s, f.path) === 'src/server.js')!;
    const text = readFileSync(join(ROOT, server.path), 'utf8').replace("  socket.on('resume', (id) => resumeProbe(id));\n", '').replace('httpServer.listen(3001);', 'resumeProbe(1);\nhttpServer.listen(3001);');
    files = files.map((f) => (f === server ? analyzeText(server.path, text)! : f));
    const findings = run(s, files);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/checks/dns.js:7:20`]);
    assert.deepEqual(steps(s, findings[0]).slice(-4), [
      'src/probe.js:12 called here',
      'src/probe.js:10 timer callback registered here (setTimeout())',
      'src/probe.js:8 called here on an object taken from a table: may run DnsCheck.perform, which blocks the event loop (spawnSync())',
      'src/checks/dns.js:7 blocks the event loop here (spawnSync())',
    ]);
    assert.match(findings[0].message, /new Server\(\) from socket\.io/);
    const noSocketIo = analyzeText(server.path, text.replace('const io = new Server(httpServer);', 'const io = { emit() {} };'))!;
    assert.deepEqual(run(s, files.map((f) => (f.path === server.path ? noSocketIo : f))), []);
  });
});

describe('ts-heartbeat-injected-seams: a #! daemon whose beacon and probe are parameter defaults', () => {
  test('the probe reader is reported through the injected clock and the default reader', () => {
    const s = load('ts-heartbeat-injected-seams');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} probe.mjs:12:10`]);
    const [f] = findings;
    assert.equal(
      f.message,
      'execFileSync() blocks the event loop in a timer callback (setInterval()) of a program whose heartbeat runs on the same loop ' +
        '(setInterval() at beacon.mjs:11: a timer that sends heartbeats); while it runs no heartbeat is sent and the peer may drop the connection',
    );
    assert.deepEqual(steps(s, f), [
      'beacon.mjs:11 heartbeat started here (setInterval())',
      'daemon.mjs:8 `startBeacon()` arms a keep-alive here (setInterval())',
      'daemon.mjs:1 program entry point (its #! line runs it: /usr/bin/env node)',
      'daemon.mjs:24 called here',
      'daemon.mjs:17 called here',
      'daemon.mjs:9 called here',
      'probe.mjs:23 timer callback registered here (setInterval())',
      'probe.mjs:21 passed here; it may be called later, and `readProcessLines()` blocks the event loop (execFileSync())',
      'probe.mjs:12 blocks the event loop here (execFileSync())',
    ]);
  });

  test('the #! script is a program of its own', () => {
    const s = load('ts-heartbeat-injected-seams');
    const model = typescriptModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    assert.deepEqual(
      model.programs.map((p) => `${p.root.kind} ${rel(s, p.root.module.path)}`),
      ['script daemon.mjs'],
    );
  });

  test('defaults that do not name the blocking reader are silent', () => {
    const s = load('ts-heartbeat-injected-seams');
    const path = s.files.find((f) => rel(s, f.path) === 'probe.mjs')!.path;
    const text = readFileSync(join(ROOT, path), 'utf8').replace('function countWorkers(lines = readProcessLines)', 'function countWorkers(lines)').replace('lines = readProcessLines, limit', 'lines = () => [], limit');
    assert.deepEqual(run(s, s.files.map((f) => (f.path === path ? analyzeText(path, text)! : f))), []);
  });
});

describe('ts-bin-consumer: a package.json "bin" CLI whose consume command runs an amqplib consumer', () => {
  test('only the consumer callback is reported; start-up reads and one-shot commands are not', () => {
    const s = load('ts-bin-consumer');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/consumer.ts:8:19`]);
    const [f] = findings;
    assert.equal(
      f.message,
      'fs.readFileSync() blocks the event loop in a message handler (channel.consume()) of a program whose heartbeat runs on the same loop ' +
        '(amqplib.connect() at queue.ts:4: AMQP heartbeats, 60 s by default on RabbitMQ); while it runs no heartbeat is sent and the peer may drop the connection',
    );
    assert.deepEqual(steps(s, f), [
      'src/queue.ts:4 heartbeat started here (amqplib.connect())',
      'src/consumer.ts:5 `openChannel()` arms a keep-alive here (amqplib.connect())',
      'package.json:5 program entry point (package.json "bin")',
      'src/cli.ts:11 called here',
      'src/consumer.ts:6 message handler registered here (channel.consume())',
      'src/consumer.ts:8 blocks the event loop here (fs.readFileSync())',
    ]);
    assert.deepEqual(f.fixes.map((x) => x.applicability), ['unsafe', 'display-only']);
    assert.equal(f.fixes[0].title, 'Use the non-blocking variant: await fs.promises.readFile(…)');
    assert.deepEqual(
      f.fixes[0].edits.map((e) => [e.range.start.line + 1, e.range.start.character + 1, e.newText]),
      [[8, 19, 'await fs.promises.readFile(msg.content.toString())']],
    );
  });

  test('programs: the bin entry (lib/cli.js → src/cli.ts) and the unimported script as a library root', () => {
    const s = load('ts-bin-consumer');
    const model = typescriptModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    assert.deepEqual(
      model.programs.map((p) => `${p.root.kind} ${rel(s, p.root.module.path)} (${p.modules.size})`),
      ['bin src/cli.ts (4)', 'library scripts/seed.ts (1)'],
    );
  });

  test('moving the blocking read into the one-shot doctor command is silent', () => {
    const s = load('ts-bin-consumer');
    const files = edited(s, 'src/consumer.ts', 'const image = fs.readFileSync(msg.content.toString());', 'const image = msg.content;');
    assert.deepEqual(run(s, files), []);
  });
});

describe('ts-worker-heartbeat: the heartbeat runs in a worker_threads Worker', () => {
  test('silent: the Worker script is a program of its own, with its own event loop', () => {
    const s = load('ts-worker-heartbeat');
    assert.deepEqual(run(s), []);
    const model = typescriptModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    assert.deepEqual(
      model.programs.map((p) => `${p.root.kind} ${rel(s, p.root.module.path)}: ${[...p.modules].map((m) => rel(s, m.path)).sort().join(', ')}`),
      ['main src/main.ts: src/main.ts, src/render.ts', 'worker src/upstream-worker.ts: src/upstream-worker.ts'],
    );
  });

  test('importing the worker module into the main thread instead reports the blocking render', () => {
    const s = load('ts-worker-heartbeat');
    const files = edited(s, 'src/main.ts', "const upstream = new Worker(new URL('./upstream-worker.ts', import.meta.url));", "import './upstream-worker';\nconst upstream = new Worker('./noop.js');");
    const findings = run(s, files);
    assert.deepEqual(findings.map((f) => at(s, f)), [`${RULE_ID} src/render.ts:4:10`]);
    assert.deepEqual(steps(s, findings[0]), [
      'src/upstream-worker.ts:5 heartbeat started here (setInterval())',
      'src/main.ts:6 imported from here',
      'package.json:3 program entry point (package.json "main")',
      'src/main.ts:10 request handler registered here (createServer())',
      'src/main.ts:11 `renderPage()` blocks the event loop here (readFileSync())',
      'src/render.ts:4 blocks the event loop here (readFileSync())',
    ]);
  });
});
