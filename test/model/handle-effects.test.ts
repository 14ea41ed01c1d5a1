/**
 * The handle summaries on the call-effect solver (server/src/model/handle-effects.ts) on small
 * hand-built graphs whose functions sit in files: a fresh handle and a parameter passed
 * through functions of two files, an opener two calls deep with its witness chain, cycles
 * solved from "no effect", the defaults of an unknown callee (no fresh handle; passing a
 * parameter to it hands the handle over), and the cache reviving witnesses into a new graph.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EffectSummaryCache } from '../../server/src/model/call-effects';
import { summarizeHandleEffects, type HandleCall, type HandleGraph, type OwnHandleFacts } from '../../server/src/model/handle-effects';

interface Fn {
  /** `file:function`. */
  name: string;
  /** Per call: the names of the functions it runs (empty: an unknown callee). */
  calls: string[][];
  own: Omit<OwnHandleFacts, 'calls'>;
  /** Per call: what the function does with it (parallel to `calls`). */
  uses?: HandleCall[];
  text?: string;
}

function graph(fns: Fn[], roots = fns): HandleGraph<Fn> {
  const byName = new Map(fns.map((f) => [f.name, f]));
  return {
    functions: roots,
    callees: (fn) => fn.calls.map((names) => names.map((n) => byName.get(n)!)),
    own: (fn) => ({ ...fn.own, calls: fn.uses ?? [] }),
    contentKey: (fn) => `${fn.name}:${fn.text ?? ''}`,
  };
}

const names = (steps: { fn: Fn; call?: number; parameter?: number }[]): string[] =>
  steps.map((s) => `${s.fn.name}${s.call !== undefined ? `#${s.call}` : ''}${s.parameter !== undefined ? `(p${s.parameter})` : ''}`);

describe('handle summaries on the call-effect solver', () => {
  test('a fresh handle and a parameter pass through a function of another file', () => {
    // io.ts: openLog() opens; closeQuietly(h) releases; identity(h) returns h.
    const openLog: Fn = { name: 'io.ts:openLog', calls: [], own: { opens: {} } };
    const closeQuietly: Fn = { name: 'io.ts:closeQuietly', calls: [], own: { releases: [0] } };
    const identity: Fn = { name: 'io.ts:identity', calls: [], own: { returnsParameters: [0] } };
    // app.ts: open() { return openLog(); }  done(x, h) { closeQuietly(h); }  pick(h) { return identity(h); }
    const open: Fn = { name: 'app.ts:open', calls: [['io.ts:openLog']], own: {}, uses: [{ returned: true }] };
    const done: Fn = { name: 'app.ts:done', calls: [['io.ts:closeQuietly']], own: {}, uses: [{ passes: [{ parameter: 1, argument: 0 }] }] };
    const pick: Fn = { name: 'app.ts:pick', calls: [['io.ts:identity']], own: {}, uses: [{ returned: true, passes: [{ parameter: 0, argument: 0 }] }] };
    const s = summarizeHandleEffects(graph([open, done, pick, openLog, closeQuietly, identity]));
    assert.deepEqual(names(s.chain(open, 'returnsFreshHandle')), ['app.ts:open#0', 'io.ts:openLog']);
    assert.deepEqual(names(s.parameterChain(done, 'releasesParameter', 1)), ['app.ts:done#0(p1)', 'io.ts:closeQuietly(p0)']);
    assert.deepEqual(s.parameterChain(done, 'releasesParameter', 0), [], 'the other parameter is not released');
    assert.deepEqual(names(s.parameterChain(pick, 'returnsParameter', 0)), ['app.ts:pick#0(p0)', 'io.ts:identity(p0)']);
    assert.equal(s.of(done).returnsFreshHandle, undefined);
  });

  test('a fresh-handle opener two calls deep, with its witness chain and the slot of an array result', () => {
    const leaf: Fn = { name: 'fsutil.py:open_pair', calls: [], own: { opens: { slot: 0 } } };
    const mid: Fn = { name: 'store.py:open_store', calls: [[], ['fsutil.py:open_pair']], own: {}, uses: [{}, { returned: true }] };
    const top: Fn = { name: 'app.py:load', calls: [['store.py:open_store']], own: {}, uses: [{ returned: true }] };
    const s = summarizeHandleEffects(graph([top, mid, leaf]));
    assert.deepEqual(names(s.chain(top, 'returnsFreshHandle')), ['app.py:load#0', 'store.py:open_store#1', 'fsutil.py:open_pair']);
    assert.equal(s.of(top).returnsFreshHandle!.slot, 0);
    assert.equal(s.of(top).returnsFreshHandle!.via, mid);
    // A call whose result is not returned passes nothing on.
    const notReturned: Fn = { name: 'app.py:peek', calls: [['fsutil.py:open_pair']], own: {}, uses: [{}] };
    assert.equal(summarizeHandleEffects(graph([notReturned, leaf])).of(notReturned).returnsFreshHandle, undefined);
  });

  test('a cycle starts from "no effect": a fact holds only when a member reaches it outside the cycle', () => {
    // m.ts: a() returns b(); n.ts: b() returns a() — neither opens anything.
    const a: Fn = { name: 'm.ts:a', calls: [['n.ts:b']], own: {}, uses: [{ returned: true }] };
    const b: Fn = { name: 'n.ts:b', calls: [['m.ts:a']], own: {}, uses: [{ returned: true }] };
    const s = summarizeHandleEffects(graph([a, b]));
    assert.deepEqual(s.of(a), {});
    assert.deepEqual(s.of(b), {});
    assert.deepEqual(s.chain(a, 'returnsFreshHandle'), []);
    // c() returns d() or open(); d() returns c(): both return a fresh handle, witnessed outside the cycle.
    const opener: Fn = { name: 'o.ts:open', calls: [], own: { opens: {} } };
    const c: Fn = { name: 'o.ts:c', calls: [['o.ts:d'], ['o.ts:open']], own: {}, uses: [{ returned: true }, { returned: true }] };
    const d: Fn = { name: 'o.ts:d', calls: [['o.ts:c']], own: {}, uses: [{ returned: true }] };
    const t = summarizeHandleEffects(graph([d, c, opener]));
    assert.deepEqual(names(t.chain(d, 'returnsFreshHandle')), ['o.ts:d#0', 'o.ts:c#1', 'o.ts:open']);
    // walk(h) reads h and passes it to walk_more(h), which passes it back: "only uses" is never proved by the cycle alone.
    const walk: Fn = { name: 'w.c:walk', calls: [['w.c:walk_more']], own: { usesOnly: [0] }, uses: [{ passes: [{ parameter: 0, argument: 0 }] }] };
    const walkMore: Fn = { name: 'w.c:walk_more', calls: [['w.c:walk']], own: { usesOnly: [0] }, uses: [{ passes: [{ parameter: 0, argument: 0 }] }] };
    const u = summarizeHandleEffects(graph([walk, walkMore]));
    assert.equal(u.of(walk).onlyUses, undefined);
    assert.equal(u.of(walkMore).onlyUses, undefined);
  });

  test('an unknown callee returns no fresh handle, and passing a parameter to it hands the handle over', () => {
    const reader: Fn = { name: 'r.c:read_all', calls: [], own: { usesOnly: [0] } };
    // wrap() returns what an unknown function returns; slurp(fd) reads fd and passes it to read_all() and to an unknown log_fd().
    const wrap: Fn = { name: 'w.c:wrap', calls: [[]], own: {}, uses: [{ returned: true }] };
    const slurp: Fn = {
      name: 'w.c:slurp',
      calls: [['r.c:read_all'], []],
      own: { usesOnly: [0] },
      uses: [{ passes: [{ parameter: 0, argument: 0 }] }, { passes: [{ parameter: 0, argument: 0 }] }],
    };
    const readOnly: Fn = { ...slurp, name: 'w.c:slurp_known', calls: [['r.c:read_all']], uses: [{ passes: [{ parameter: 0, argument: 0 }] }] };
    const s = summarizeHandleEffects(graph([wrap, slurp, readOnly, reader]));
    assert.equal(s.of(wrap).returnsFreshHandle, undefined);
    assert.equal(s.of(slurp).onlyUses, undefined, 'the unknown log_fd() may keep or close it');
    assert.deepEqual(s.of(slurp).storesParameter, undefined, 'nor is it known to keep it');
    assert.deepEqual(s.of(slurp).releasesParameter, undefined);
    assert.deepEqual(Object.keys(s.of(readOnly).onlyUses ?? {}), ['0'], 'every callee it passes the handle to only reads it');
  });

  test('the cache reuses unchanged summaries, revives their witnesses into the new graph, and re-solves the callers of a changed one', () => {
    const build = (leafText: string, opens: boolean): Fn[] => [
      { name: 'a.ts:top', calls: [['a.ts:mid']], own: {}, uses: [{ returned: true }] },
      { name: 'a.ts:mid', calls: [['b.ts:leaf']], own: {}, uses: [{ returned: true }] },
      { name: 'b.ts:leaf', calls: [], own: opens ? { opens: {} } : {}, text: leafText },
      { name: 'b.ts:other', calls: [], own: { stores: [1] } },
    ];
    const cache = new EffectSummaryCache();
    const first = build('v1', true);
    assert.equal(summarizeHandleEffects(graph(first), cache).of(first[0]).returnsFreshHandle?.via, first[1]);
    assert.equal(cache.misses, 4);

    cache.hits = cache.misses = 0;
    const same = build('v1', true);
    const again = summarizeHandleEffects(graph(same), cache);
    assert.equal(cache.hits, 4);
    assert.deepEqual(names(again.chain(same[0], 'returnsFreshHandle')), ['a.ts:top#0', 'a.ts:mid#0', 'b.ts:leaf']);
    assert.equal(again.chain(same[0], 'returnsFreshHandle')[1].fn, same[1], 'revived witnesses point into the new graph');
    assert.deepEqual(Object.keys(again.of(same[3]).storesParameter ?? {}), ['1']);

    cache.hits = cache.misses = 0;
    const edited = build('v2', false);
    const after = summarizeHandleEffects(graph(edited), cache);
    assert.equal(after.of(edited[0]).returnsFreshHandle, undefined);
    assert.equal(cache.hits, 1, 'only `other` is reused');
    assert.equal(cache.misses, 3);
  });
});
