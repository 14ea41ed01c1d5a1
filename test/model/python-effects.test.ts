/**
 * The Python call-effect graph (server/src/model/python-effects.ts) on multi-file scenarios:
 * summaries through calls across modules and through recursion, "never returns" only where
 * the exit always runs, the summary cache reusing what an edit did not touch, and the rules
 * that moved onto the summaries — the keep-alive a heartbeat thread runs (green-heartbeat)
 * and the at-fork handlers' resets (cached-fd-across-fork) — found however deep the helpers
 * are, with their evidence, and silent where the helpers do nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/analysis/results';
import { PythonModelCache, pythonModel } from '../../server/src/model/python';
import { chainLines, findingLine, grammarsReady, loadWorkspace, type LoadedWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');

type Scenario = LoadedWorkspace;

function load(name: string): Scenario {
  return loadWorkspace(join(PROGRAMS, name), ROOT);
}

function run(s: Scenario, rule: string): Finding[] {
  const { findings } = evaluate(s.files, DEFAULT_CONFIG, { roots: [s.dir], projectFiles: s.projectFiles });
  return findings.filter((f) => f.ruleId === rule);
}

const steps = chainLines;
const at = findingLine;

before(async () => {
  await grammarsReady();
});

describe('Python call-effect summaries', () => {
  test('a keep-alive five calls away, across three modules and through a recursive retry, is what the thread\'s function does', () => {
    const s = load('py-heartbeat-deep-helpers');
    const model = pythonModel({ files: s.files, roots: [s.dir], projectFiles: [], config: DEFAULT_CONFIG });
    const module = (rel: string) => model.index.modules.find((m) => relative(s.dir, join(ROOT, m.path)) === rel)!;
    const effects = model.effects;
    const summaries = effects.summaries();
    const keepOpen = effects.fn(module('courier/session.py'), 'keep_open');
    assert.equal(summaries.has(keepOpen, 'pings'), true);
    assert.equal(summaries.has(keepOpen, 'waits'), true);
    assert.equal(summaries.has(keepOpen, 'startsThread'), false);
    // attempt() and settle() call each other: both reach the beat outside their cycle.
    assert.equal(summaries.has(effects.fn(module('courier/retry.py'), 'settle'), 'pings'), true);
    assert.deepEqual(
      effects.steps(summaries, keepOpen, 'pings', 'runs the heartbeat loop').map((p) => `${relative(s.dir, join(ROOT, p.path))}:${p.range.start.line + 1} ${p.message}`),
      [
        'courier/session.py:21 _with_backoff() runs the heartbeat loop here (link.ping())',
        'courier/session.py:25 retry.attempt() runs the heartbeat loop here (link.ping())',
        'courier/retry.py:8 beat.start_beating() runs the heartbeat loop here (link.ping())',
        'courier/beat.py:6 _warm_up() runs the heartbeat loop here (link.ping())',
        'courier/beat.py:10 _beat() runs the heartbeat loop here (link.ping())',
        'courier/beat.py:14 runs the heartbeat loop here (link.ping())',
      ],
    );
    // main() starts the thread itself; the module's import-time code runs main() only as __main__.
    const main = effects.fn(module('courier/__main__.py'), 'main');
    assert.deepEqual(summaries.chain(main, 'startsThread').map((c) => c.direct?.api), ['threading.Thread.start()']);
  });

  test('forks, threads and exits through calls, method calls and with items; "never returns" only for an exit on every path', () => {
    const sources: Record<string, string> = {
      '/ws/svc/boot.py': [
        'import os',
        'import threading',
        'from svc import tools',
        '',
        'def _spin():',
        '    pass',
        '',
        'def start_pump():',
        '    threading.Thread(target=_spin, daemon=True).start()',
        '',
        'def leave():',
        '    os._exit(0)',
        '',
        'def maybe_leave(code):',
        '    if code:',
        '        os._exit(code)',
        '',
        'def run():',
        '    tools.Spawner().spawn()',
        '    with tools.detached():',
        '        start_pump()',
        '    leave()',
        '',
        'def quiet():',
        '    maybe_leave(0)',
      ].join('\n'),
      '/ws/svc/tools.py': [
        'import os',
        '',
        'class Spawner:',
        '    def spawn(self):',
        '        return os.fork()',
        '',
        'class _Detach:',
        '    def __enter__(self):',
        '        os.setsid()',
        '        return self',
        '',
        '    def __exit__(self, *exc):',
        '        return False',
        '',
        'def detached():',
        '    return _Detach()',
      ].join('\n'),
      '/ws/svc/__init__.py': '',
    };
    const files = Object.entries(sources).map(([p, text]) => analyzeText(p, text)!);
    const model = pythonModel({ files, roots: ['/ws'], projectFiles: [], config: DEFAULT_CONFIG });
    const boot = model.index.modules.find((m) => m.path === '/ws/svc/boot.py')!;
    const effects = model.effects;
    const summaries = effects.summaries();
    const run = effects.fn(boot, 'run');
    assert.deepEqual(
      effects.steps(summaries, run, 'forks', 'forks').map((p) => `${p.path}:${p.range.start.line + 1} ${p.message}`),
      ['/ws/svc/boot.py:19 spawn() forks here (os.fork())', '/ws/svc/tools.py:5 forks here (os.fork())'],
    );
    assert.equal(summaries.has(run, 'startsThread'), true);
    assert.equal(summaries.has(run, 'neverReturns'), true, 'leave() always runs and always exits');
    assert.equal(summaries.has(effects.fn(boot, 'quiet'), 'neverReturns'), false, 'the exit is under a condition');
  });

  test('the summary cache reuses the summaries of functions an edit did not touch', () => {
    const s = load('py-heartbeat-deep-helpers');
    const cache = new PythonModelCache();
    const ctx = { files: s.files, roots: [s.dir], projectFiles: [], config: DEFAULT_CONFIG };
    const first = cache.model(ctx).effects;
    first.summaries();
    const edited = s.files.map((f) => (f.path.endsWith('session.py') ? analyzeText(f.path, `${readFileSync(join(ROOT, f.path), 'utf8')}\n\ndef spare():\n    pass\n`)! : f));
    const second = cache.model({ ...ctx, files: edited }).effects;
    const summaries = second.summaries();
    const cacheOf = (second as unknown as { cache: { hits: number; misses: number } }).cache;
    assert.ok(cacheOf.hits > 0, 'unchanged functions reuse their summaries');
    const session = cache.model({ ...ctx, files: edited }).index.modules.find((m) => m.path.endsWith('session.py'))!;
    assert.equal(summaries.has(second.fn(session, 'keep_open'), 'pings'), true);
  });
});

describe('green-heartbeat through deep helpers', () => {
  test('py-heartbeat-deep-helpers: the thread reaches its loop five calls away; the chain shows each call', () => {
    const s = load('py-heartbeat-deep-helpers');
    const findings = run(s, 'green-heartbeat');
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat courier/__main__.py:14']);
    assert.deepEqual(steps(s, findings[0]), [
      'courier/__main__.py:9 threads patched here (eventlet.monkey_patch())',
      'courier/__main__.py:14 heartbeat thread started here (threading.Thread.start()); it is a green thread now',
      'courier/__main__.py:19 main() is called here',
      'courier/session.py:21 _with_backoff() runs the heartbeat loop here (link.ping())',
      'courier/session.py:25 retry.attempt() runs the heartbeat loop here (link.ping())',
      'courier/retry.py:8 beat.start_beating() runs the heartbeat loop here (link.ping())',
      'courier/beat.py:6 _warm_up() runs the heartbeat loop here (link.ping())',
      'courier/beat.py:10 _beat() runs the heartbeat loop here (link.ping())',
      "courier/beat.py:14 the thread's loop sends the heartbeat here (link.ping()) and sleeps",
    ]);
  });

  test('py-heartbeat-deep-helpers-once: the same helpers ping once and return: silent', () => {
    const s = load('py-heartbeat-deep-helpers-once');
    assert.deepEqual(run(s, 'green-heartbeat').map((f) => at(s, f)), []);
  });
});

describe('cached-fd-across-fork with an at-fork handler that resets through deep helpers', () => {
  test('py-at-fork-deep-reset: the ledger, reset four calls and a recursion away in other modules, is not reported; the outbox is', () => {
    const s = load('py-at-fork-deep-reset');
    const findings = run(s, 'cached-fd-across-fork');
    assert.deepEqual(findings.map((f) => at(s, f)), ['cached-fd-across-fork depot/outbox.py:2']);
    assert.deepEqual(steps(s, findings[0]), [
      'depot/outbox.py:2 descriptor cached here (open())',
      'runner.py:7 imported from here',
      'runner.py:25 called here',
      'runner.py:19 fork here (os.fork()); the child keeps running',
    ]);
  });
});
