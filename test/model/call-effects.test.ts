/**
 * The call-effect solver (server/src/model/call-effects.ts) on small hand-built graphs:
 * may-effects through callees with the first call as witness, "never returns" only when
 * every target of an always-run call never returns, cycles solved from "no effect", witness
 * chains to the direct call, and the cache reusing summaries whose text and callees did not
 * change while recomputing those whose callees did.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EffectSummaryCache, summarizeEffects, type EffectGraph, type LocalEffect } from '../../server/src/model/call-effects';

interface Fn {
  name: string;
  /** Per call: the names of the workspace functions it runs. */
  calls: string[][];
  local: LocalEffect[];
  /** Calls under a condition. */
  conditional?: number[];
  text?: string;
}

function graph(fns: Fn[]): EffectGraph<Fn> {
  const byName = new Map(fns.map((f) => [f.name, f]));
  return {
    functions: fns,
    callees: (fn) => fn.calls.map((names) => names.map((n) => byName.get(n)!)),
    localEffects: (fn) => fn.local,
    runsAlways: (fn, call) => !(fn.conditional ?? []).includes(call),
    contentKey: (fn) => `${fn.name}:${fn.text ?? ''}`,
  };
}

const names = (steps: { fn: Fn; call: number }[]): string[] => steps.map((s) => `${s.fn.name}#${s.call}`);

describe('call effects', () => {
  test('a may-effect reaches callers through callees, witnessed by the first such call', () => {
    const start: Fn = { name: 'start_workers', calls: [[]], local: [{ call: 0, kind: 'startsThread', api: 'pthread_create' }] };
    const setup: Fn = { name: 'setup', calls: [[], ['start_workers']], local: [] };
    const main: Fn = { name: 'main', calls: [['setup'], ['start_workers']], local: [] };
    const s = summarizeEffects(graph([main, setup, start]));
    assert.deepEqual(names(s.chain(main, 'startsThread')), ['main#0', 'setup#1', 'start_workers#0']);
    assert.deepEqual(s.chain(main, 'startsThread').at(-1)!.direct, { api: 'pthread_create', reason: undefined });
    assert.equal(s.has(main, 'forks'), false);
    assert.equal(s.callHas(main, 1, 'startsThread'), true);
    assert.equal(s.callHas(setup, 0, 'startsThread'), false);
  });

  test('never returns only through calls that always run, and only when every target never returns', () => {
    const die: Fn = { name: 'die', calls: [[]], local: [{ call: 0, kind: 'neverReturns', api: '_exit' }] };
    const maybeDie: Fn = { name: 'maybe_die', calls: [[]], local: [{ call: 0, kind: 'neverReturns', api: 'exit' }], conditional: [0] };
    const log: Fn = { name: 'log_it', calls: [], local: [] };
    const viaBoth: Fn = { name: 'via_both', calls: [['die', 'log_it']], local: [] };
    const viaDie: Fn = { name: 'via_die', calls: [['log_it'], ['die']], local: [] };
    const s = summarizeEffects(graph([viaBoth, viaDie, die, maybeDie, log]));
    assert.equal(s.has(die, 'neverReturns'), true);
    assert.equal(s.has(maybeDie, 'neverReturns'), false);
    assert.equal(s.has(viaBoth, 'neverReturns'), false, 'one of the targets returns');
    assert.deepEqual(names(s.chain(viaDie, 'neverReturns')), ['via_die#1', 'die#0']);
  });

  test('a cycle has an effect only when a member reaches it outside the cycle, and never "never returns" by itself', () => {
    const a: Fn = { name: 'a', calls: [['b']], local: [] };
    const b: Fn = { name: 'b', calls: [['a'], []], local: [{ call: 1, kind: 'unsafeInChild', api: 'syslog', reason: 'takes the syslog lock' }] };
    const c: Fn = { name: 'c', calls: [['d']], local: [] };
    const d: Fn = { name: 'd', calls: [['c']], local: [] };
    const s = summarizeEffects(graph([a, b, c, d]));
    assert.deepEqual(names(s.chain(a, 'unsafeInChild')), ['a#0', 'b#1']);
    assert.equal(s.chain(a, 'unsafeInChild').at(-1)!.direct!.reason, 'takes the syslog lock');
    assert.deepEqual(s.of(c), {});
    assert.deepEqual(s.of(d), {});
  });

  test('the cache reuses unchanged summaries and recomputes the callers of a changed one', () => {
    const leaf = (text: string, local: LocalEffect[]): Fn => ({ name: 'leaf', calls: [[]], local, text });
    const build = (l: Fn): Fn[] => {
      const mid: Fn = { name: 'mid', calls: [['leaf']], local: [] };
      const top: Fn = { name: 'top', calls: [['mid']], local: [] };
      const other: Fn = { name: 'other', calls: [], local: [] };
      return [top, mid, l, other];
    };
    const cache = new EffectSummaryCache();
    const first = build(leaf('v1', [{ call: 0, kind: 'waits', api: 'sleep' }]));
    assert.equal(summarizeEffects(graph(first), cache).has(first[0], 'waits'), true);
    assert.equal(cache.misses, 4);

    cache.hits = cache.misses = 0;
    const same = build(leaf('v1', [{ call: 0, kind: 'waits', api: 'sleep' }]));
    const again = summarizeEffects(graph(same), cache);
    assert.equal(cache.hits, 4);
    assert.deepEqual(names(again.chain(same[0], 'waits')), ['top#0', 'mid#0', 'leaf#0'], 'revived witnesses point into the new graph');
    assert.equal(again.chain(same[0], 'waits')[1].fn, same[1]);

    cache.hits = cache.misses = 0;
    const edited = build(leaf('v2', []));
    const after = summarizeEffects(graph(edited), cache);
    assert.equal(after.has(edited[0], 'waits'), false);
    assert.equal(cache.hits, 1, 'only `other` is reused');
    assert.equal(cache.misses, 3);
  });
});
