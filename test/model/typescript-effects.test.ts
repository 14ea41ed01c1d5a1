/**
 * The TypeScript program model on the call-effect summaries (server/src/model/typescript-effects.ts):
 * local effects of a function (blocking calls, keep-alives, Workers, `child_process.fork`,
 * `Atomics.wait`), witness chains through helpers in other modules, and the heartbeat rule's
 * evidence worded through them on ts-heartbeat-deep-chain — a request handler five calls and
 * four modules above its blocking read, a keep-alive armed four calls below `openLink()` —
 * with its silent counterparts and a cache that follows an edit.
 */
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { FileAnalysis, Finding } from '../../server/src/analysis/results';
import { buildTypeScriptModel } from '../../server/src/model/typescript';
import { functionKey } from '../../server/src/model/typescript-effects';
import { analysesAfterEdit, grammarsReady, loadWorkspace, type LoadedWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');
const RULE_ID = 'heartbeat-starved-by-blocking-call';

type Scenario = LoadedWorkspace;

const load = (name: string): Scenario => loadWorkspace(join(PROGRAMS, name), ROOT, { cleanNotes: true });
const rel = (s: Scenario, p: string) => relative(s.dir, join(ROOT, p)).split('\\').join('/');

function run(s: Scenario, files = s.files): Finding[] {
  const { findings, notes } = evaluate(files, DEFAULT_CONFIG, { roots: [s.dir], projectFiles: s.projectFiles });
  assert.deepEqual(notes, []);
  return findings.filter((f) => f.ruleId === RULE_ID);
}

const edited = analysesAfterEdit;

before(async () => {
  await grammarsReady();
});

describe('ts-heartbeat-deep-chain: chains through summaries, several modules deep', () => {
  test('the blocking read five calls below the handler is reported; every step names the callee that blocks or pings', () => {
    const s = load('ts-heartbeat-deep-chain');
    const findings = run(s);
    assert.deepEqual(
      findings.map((f) => `${rel(s, f.path)}:${f.range.start.line + 1}:${f.range.start.character + 1}`),
      ['src/store/ledger.ts:8:10'],
    );
    assert.deepEqual(
      findings[0].related.map((r) => `${rel(s, r.path)}:${r.range.start.line + 1} ${r.message}`),
      [
        'src/bus/timers.ts:8 heartbeat started here (setInterval())',
        'src/bus/timers.ts:4 `scheduleKeepAlive()` arms a keep-alive here (setInterval())',
        'src/bus/options.ts:4 `armTimers()` arms a keep-alive here (setInterval())',
        'src/bus/link.ts:5 `configureLink()` arms a keep-alive here (setInterval())',
        'src/main.ts:5 `openLink()` arms a keep-alive here (setInterval())',
        'package.json:4 program entry point (package.json "main")',
        'src/main.ts:7 request handler registered here (createServer())',
        'src/main.ts:8 `handleExport()` blocks the event loop here (readFileSync())',
        'src/handlers/export.ts:4 `buildReport()` blocks the event loop here (readFileSync())',
        'src/report/build.ts:4 `collectRows()` blocks the event loop here (readFileSync())',
        'src/report/rows.ts:4 `loadLedger()` blocks the event loop here (readFileSync())',
        'src/store/ledger.ts:4 `readLedgerFile()` blocks the event loop here (readFileSync())',
        'src/store/ledger.ts:8 blocks the event loop here (readFileSync())',
      ],
    );
  });

  test('silent when the ledger is read asynchronously, or when the timer no longer pings', () => {
    const s = load('ts-heartbeat-deep-chain');
    assert.deepEqual(run(s, edited(s, 'src/store/ledger.ts', "return readFileSync(file, 'utf8');", "return String(file.length);")), []);
    assert.deepEqual(run(s, edited(s, 'src/bus/timers.ts', 'setInterval(() => socket.ping(), 10_000);', 'setInterval(() => console.log(socket), 10_000);')), []);
  });

  test('the summaries: blocksEventLoop and pings with their witness chains; an edit re-solves the callers', () => {
    const s = load('ts-heartbeat-deep-chain');
    const model = (files: FileAnalysis[]) => buildTypeScriptModel({ files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    const m = model(s.files);
    const mod = (p: string) => m.modules.find((x) => rel(s, x.path) === p)!;
    const effects = m.callEffects('main');
    const handleExport = functionKey(mod('src/handlers/export.ts'), 'handleExport');
    const openLink = functionKey(mod('src/bus/link.ts'), 'openLink');
    const chain = (fn: string, kind: 'blocksEventLoop' | 'pings') =>
      effects.summaries.chain(fn, kind).map((step) => `${step.fn.slice(step.fn.lastIndexOf('/') + 1)}#${step.call}${step.direct ? ` ${step.direct.api}` : ''}`);
    assert.deepEqual(chain(handleExport, 'blocksEventLoop'), ['export.ts#handleExport#0', 'build.ts#buildReport#0', 'rows.ts#collectRows#0', 'ledger.ts#loadLedger#0', 'ledger.ts#readLedgerFile#0 readFileSync()']);
    assert.deepEqual(chain(openLink, 'pings'), ['link.ts#openLink#0', 'options.ts#configureLink#0', 'timers.ts#armTimers#0', 'timers.ts#scheduleKeepAlive#0 setInterval()']);
    assert.equal(effects.has(openLink, 'blocksEventLoop'), false);
    assert.equal(effects.has(handleExport, 'pings'), false);

    // The summaries survive a rebuild (cached by content) and follow an edit of the leaf.
    const again = model(s.files).callEffects('main');
    assert.equal(again.has(handleExport, 'blocksEventLoop'), true);
    const after = model(edited(s, 'src/store/ledger.ts', "return readFileSync(file, 'utf8');", 'return file;')).callEffects('main');
    assert.equal(after.has(handleExport, 'blocksEventLoop'), false);
    assert.equal(after.has(openLink, 'pings'), true);
  });
});

describe('local effects of one file', () => {
  test('Workers start threads, child_process.fork forks, Atomics.wait blocks and waits; a local fork() is not child_process', async () => {
    const dir = join(PROGRAMS, 'ts-heartbeat-deep-chain');
    const text =
      "import { Worker } from 'node:worker_threads';\nimport * as cp from 'node:child_process';\n\n" +
      "export function startPool(): void {\n  new Worker('./job.js');\n}\n\nexport function spawnHelper(): void {\n  cp.fork('./helper.js');\n}\n\n" +
      'export function pause(view: Int32Array): void {\n  Atomics.wait(view, 0, 0, 50);\n}\n\nexport function local(): void {\n  fork();\n}\n\nfunction fork(): void {}\n';
    const path = relative(ROOT, join(dir, 'src', 'effects-probe.ts'));
    const file = analyzeText(path, text)!;
    const model = buildTypeScriptModel({ files: [file], roots: [dir], projectFiles: [], config: DEFAULT_CONFIG });
    const effects = model.callEffects('main');
    const of = (id: string) => Object.entries(effects.summaries.of(functionKey(model.modules[0], id))).map(([kind, w]) => `${kind}:${w!.direct?.api ?? `via ${String(w!.via)}`}`);
    assert.deepEqual(of('startPool'), ['startsThread:new Worker()']);
    assert.deepEqual(of('spawnHelper'), ['forks:cp.fork()']);
    assert.deepEqual(of('pause'), ['blocksEventLoop:Atomics.wait()', 'waits:Atomics.wait()']);
    assert.deepEqual(of('local'), []);
  });
});
