/**
 * The mutation fuzzer (`scripts/fuzz/mutants.ts`) with a small budget and a fixed seed, so a
 * failure reproduces: no mutant of the fixtures and examples may crash an analysis, make an
 * analyser fail (a "partly analysed" note other than deep nesting), or give a different report
 * with worker threads than in the main thread. `npm run fuzz` is the long run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz, mutate, random } from '../../scripts/fuzz/mutants';

test('mutants are the same for the same seed', () => {
  const text = 'def f(p):\n    fh = open(p)\n    return fh.read()\n';
  const a = random(42);
  const b = random(42);
  assert.deepEqual([mutate(text, a), mutate(text, a)], [mutate(text, b), mutate(text, b)]);
});

test('300 seeded mutants: no crash, no analyser failure, workers report what the main thread does', async () => {
  const report = await fuzz({ seed: 20261206, count: 300 });
  assert.equal(report.mutants, 300);
  assert.deepEqual(report.crashes, []);
  assert.deepEqual(report.analysisErrors, []);
  assert.equal(report.workerDifference, '');
});
