/**
 * Models as data in the engine: the `knowledge` section's validation and merge, the JSON
 * schema committed for editors, the analysis key that follows the models, worker threads
 * that see the same models as the main thread, and the persistent cache that re-analyses
 * when a model changes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { configSchemaText, DEFAULT_CONFIG, parseConfig, type HazardLensConfig } from '../../server/src/engine/config';
import { analyzeText, contentHash, ensureGrammarFor } from '../../server/src/engine/analyze';
import { BUILTIN_KNOWLEDGE, mergeKnowledge } from '../../server/src/knowledge/knowledge';
import { ASYNC_SIGNAL_SAFE, UNSAFE_IN_CHILD } from '../../server/src/knowledge/c-process';
import { parseUserKnowledge } from '../../server/src/knowledge/user-models';
import { RULE_IDS } from '../../server/src/rules/index';
import { scan } from '../../server/src/scan/scanner';
import { extractPythonFacts } from '../../server/src/facts/python/program-facts';
import { extractProgramFacts } from '../../server/src/facts/index';
import { loadGrammar, parseSync } from '../../server/src/parsing/parser';

const ROOT = path.join(__dirname, '..', '..');

const PY_LEAK = 'from vendorlib import open_blob\n\n\ndef size(p):\n    b = open_blob(p)\n    b.read()\n';
const VENDOR_MODEL = { python: { openers: [{ name: 'vendorlib.open_blob' }] } };

function configWith(knowledge: unknown): HazardLensConfig {
  const parsed = parseConfig({ knowledge }, RULE_IDS, '.hazard-lens.json');
  assert.deepEqual(parsed.errors, []);
  return parsed.config;
}

describe('knowledge models (engine)', () => {
  test('the committed JSON schema is the one generated from the zod shapes', () => {
    const committed = fs.readFileSync(path.join(ROOT, 'schemas', 'hazard-lens.schema.json'), 'utf8');
    assert.equal(committed, configSchemaText(), 'schemas/hazard-lens.schema.json is stale: run npm run schema');
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { jsonValidation: { fileMatch: string; url: string }[] } };
    assert.deepEqual(manifest.contributes.jsonValidation, [{ fileMatch: '.hazard-lens.json', url: './schemas/hazard-lens.schema.json' }]);
    const schema = JSON.parse(committed) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    assert.deepEqual(Object.keys(schema.properties.knowledge.properties ?? {}), ['c', 'python', 'typescript']);
  });

  test('malformed models are errors with their key path, never defaults', () => {
    const parsed = parseConfig({ knowledge: { python: { openers: [{ name: '' }, { method: 'open_session', name: 'x.y' }] }, typescript: { openers: [{ module: 'm' }] } } }, RULE_IDS, '.hazard-lens.json');
    assert.deepEqual(parsed.errors, [
      '.hazard-lens.json: knowledge.python.openers[0].name: expected a non-empty string',
      '.hazard-lens.json: knowledge.python.openers[1].method: expected "name" or "method", not both',
      '.hazard-lens.json: knowledge.typescript.openers[0].export: expected a non-empty string',
    ]);
    assert.equal(parsed.config.knowledge, BUILTIN_KNOWLEDGE);
    assert.deepEqual(parseUserKnowledge([]), { ok: false, errors: ['knowledge: expected an object with "c", "python" or "typescript" models'] });
    assert.deepEqual(parseUserKnowledge({ c: { owners: [{ name: 'adopt', argument: -1 }] } }), {
      ok: false,
      errors: ['knowledge.c.owners[0].argument: expected an argument index (0 for the first argument)'],
    });
  });

  test('user entries add to the built-in tables, and verdicts replace the built-in verdict', () => {
    const k = mergeKnowledge({
      c: {
        openers: [{ name: 'blob_open', releasedBy: ['blob_close', 'blob_free'] }],
        signalSafety: [
          { name: 'malloc', verdict: 'safe' },
          { name: 'write', verdict: 'unsafe' },
        ],
      },
      python: { keepAlive: [{ name: 'mylib.net.send_ping', role: 'ping' }, { name: 'mylib.clock.pause', role: 'wait' }] },
    });
    assert.deepEqual(k.c.openers.get('blob_open'), { release: 'blob_close', failure: 'null' });
    assert.ok(k.c.openers.has('fopen') && k.c.releasers.has('blob_free') && k.c.releasers.has('fclose'));
    assert.ok(UNSAFE_IN_CHILD.has('malloc') && ASYNC_SIGNAL_SAFE.has('write'), 'the built-in verdicts being overridden');
    assert.ok(k.c.signalSafe.has('malloc') && !k.c.signalUnsafe.has('malloc'));
    assert.equal(k.c.signalUnsafe.get('write'), 'is declared not async-signal-safe in .hazard-lens.json');
    assert.ok(!k.c.signalSafe.has('write'));
    assert.ok(k.python.heartbeatCalls.has('send_ping') && k.python.heartbeatCalls.has('heartbeat'));
    assert.ok(k.python.sleepCalls.has('mylib.clock.pause') && k.python.sleepCalls.has('time.sleep'));
    // The built-in tables are untouched, and equal sections give the same object.
    assert.ok(!BUILTIN_KNOWLEDGE.c.openers.has('blob_open') && BUILTIN_KNOWLEDGE.c.signalUnsafe.has('malloc'));
    assert.equal(mergeKnowledge(JSON.parse(JSON.stringify(k.user))), k);
    assert.equal(mergeKnowledge({}), BUILTIN_KNOWLEDGE);
    assert.deepEqual(JSON.parse(JSON.stringify({ knowledge: k })), { knowledge: { fingerprint: k.fingerprint } });
  });

  test('the analysis key follows the models: same text, other models, another content hash', async () => {
    const config = configWith(VENDOR_MODEL);
    assert.equal(contentHash(PY_LEAK, BUILTIN_KNOWLEDGE), contentHash(PY_LEAK), 'no models: the hash of the text alone');
    assert.notEqual(contentHash(PY_LEAK, config.knowledge), contentHash(PY_LEAK));
    await ensureGrammarFor('a.py');
    const plain = analyzeText('a.py', PY_LEAK)!;
    const modelled = analyzeText('a.py', PY_LEAK, undefined, { knowledge: config.knowledge })!;
    assert.deepEqual(plain.localFindings, []);
    assert.deepEqual(
      modelled.localFindings.map((f) => `${f.ruleId} ${f.range.start.line}:${f.range.start.character}`),
      ['unreleased-file 4:8'],
    );
    assert.equal(modelled.contentHash, contentHash(PY_LEAK, config.knowledge));
  });

  test('worker threads analyse with the same models, and the disk cache re-analyses when they change', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-knowledge-')));
    const cacheDir = path.join(dir, '.cache');
    // Enough files that the scan starts its workers after the first cache misses (`POOL_START_MISSES`).
    const FILES = 12;
    const ALL = Array.from({ length: FILES }, (_, i) => `m${i}.py`).sort();
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(dir, 'src', `m${i}.py`), PY_LEAK);
      const run = (config: HazardLensConfig) => scan({ paths: ['src'], cwd: dir, config, jobs: 2, minFilesForWorkers: 1, cacheDir, evaluationCache: false });
      const leaks = (r: Awaited<ReturnType<typeof run>>) => r.findings.filter((f) => f.ruleId === 'unreleased-file').map((f) => path.basename(f.path)).sort();

      const cold = await run({ ...DEFAULT_CONFIG });
      assert.ok((cold.stats?.jobs ?? 0) > 0, 'files went to worker threads');
      assert.deepEqual(leaks(cold), []);
      const modelled = await run(configWith(VENDOR_MODEL));
      assert.ok((modelled.stats?.jobs ?? 0) > 0, 'files went to worker threads');
      assert.deepEqual(leaks(modelled), ALL);
      assert.equal(modelled.stats?.cacheHits, 0, 'a changed model is a cache miss for every file');
      const again = await run(configWith(VENDOR_MODEL));
      assert.deepEqual(leaks(again), ALL);
      assert.equal(again.stats?.cacheHits, FILES);
      const back = await run({ ...DEFAULT_CONFIG });
      assert.deepEqual(leaks(back), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keep-alive models: a loop that pings and waits with the user\'s calls is a keep-alive loop', async () => {
    await loadGrammar('python');
    const text = 'from mylib import net, clock\n\n\ndef keep(conn):\n    while True:\n        net.poke(conn)\n        clock.pause(5)\n';
    const tree = parseSync(text, 'python');
    try {
      const keepAlives = (knowledge = BUILTIN_KNOWLEDGE) =>
        extractPythonFacts(tree, text, 'keep.py', { knowledge })
          .filter((f) => f.kind === 'py.keepalive')
          .map((f) => `${f.kind} ${'call' in f ? f.call : ''} line ${f.range.start.line + 1}`);
      assert.deepEqual(keepAlives(), []);
      const modelled = mergeKnowledge({ python: { keepAlive: [{ name: 'mylib.net.poke', role: 'ping' }, { name: 'mylib.clock.pause', role: 'wait' }] } });
      assert.deepEqual(keepAlives(modelled), ['py.keepalive net.poke() line 5']);
    } finally {
      tree.delete();
    }
  });
  test('TypeScript models reach the fact extraction: keep-alives, pings, blocking calls, handlers and thread starters', async () => {
    await loadGrammar('typescript');
    const text =
      "import { connect, touch } from 'hive-bus';\nimport { querySync } from 'ledger-db';\nimport { ThreadPool, startPool } from 'tiny-pool';\n\n" +
      "const bus = connect('hive://x');\nsetInterval(() => touch(bus), 1000);\nbus.subscribe('t', (m) => querySync(m));\nnew ThreadPool('./job.js');\nstartPool('./other.js', 2);\n";
    const tree = parseSync(text, 'typescript');
    try {
      const facts = (knowledge = BUILTIN_KNOWLEDGE) =>
        extractProgramFacts('typescript', tree, text, 'app.ts', knowledge)
          .filter((f) => ['ts.heartbeat', 'ts.blocking', 'ts.register', 'ts.worker'].includes(f.kind))
          .map((f) => `${f.kind} line ${f.range.start.line + 1}${'api' in f ? ` ${f.api}` : ''}`);
      assert.deepEqual(facts(), ['ts.register line 6 setInterval()'], 'without the ping model the timer is a plain interval');
      const modelled = mergeKnowledge({
        typescript: {
          keepAlive: [{ module: 'hive-bus', export: 'connect' }, { module: 'hive-bus', export: 'touch', role: 'ping' }],
          blocking: [{ module: 'ledger-db', export: 'querySync' }],
          handlers: [{ method: 'subscribe', context: 'message' }],
          threadStarters: [{ module: 'tiny-pool', export: 'ThreadPool' }, { module: 'tiny-pool', export: 'startPool', how: 'call' }],
        },
      });
      assert.deepEqual(facts(modelled).sort(), [
        'ts.blocking line 7 querySync() of ledger-db',
        'ts.heartbeat line 5 connect() from hive-bus',
        'ts.heartbeat line 6 setInterval()',
        'ts.register line 7 bus.subscribe()',
        'ts.worker line 8',
        'ts.worker line 9',
      ]);
      assert.notEqual(contentHash(text, modelled), contentHash(text), 'a changed model re-extracts the facts');
    } finally {
      tree.delete();
    }
  });
});
