/**
 * The C program model as a call-effect graph (server/src/model/c-effects.ts): thread starts,
 * never-returning helpers and calls that are not async-signal-safe summarised through workspace
 * calls; code after an exit and a fork child that execs inside the function left out; recursion
 * solved from "no effect"; and a rebuilt model (one file edited) reusing the summaries of the
 * functions whose calls did not change.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { cModel, type CFn, type CModel } from '../../server/src/model/c';
import { cEffects } from '../../server/src/model/c-effects';
import { MapModelCache } from '../../server/src/model/program-context';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

const TOOLS = `#include <pthread.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>
static void *spin(void *a) { return a; }
void start_pool(void) { pthread_t t; pthread_create(&t, 0, spin, 0); }
void setup(void) { puts("setup"); start_pool(); }
void leave_now(int code) { _exit(code); }
void die(const char *why) { syslog(LOG_ERR, "%s", why); leave_now(1); }
void maybe_die(int bad) { if (bad) leave_now(2); }
void after_exit(void) { _exit(3); start_pool(); }
int spawn_quiet(char *const argv[]) {
  pid_t pid = fork();
  if (pid == 0) { closelog(); execv(argv[0], argv); _exit(127); }
  return pid;
}
int walk_up(int n);
int walk_down(int n) { return n > 0 ? walk_up(n - 1) : 0; }
int walk_up(int n) { write(1, "x", 1); return walk_down(n); }
int count_up(int n) { if (n == 0) free(0); return n ? count_up(n - 1) : 0; }
`;

function files(texts: Record<string, string>): FileAnalysis[] {
  return Object.entries(texts).map(([path, text]) => analyzeText(path, text)!);
}

function model(analyses: FileAnalysis[], cache = new MapModelCache()): CModel {
  return cModel({ files: analyses, roots: [], projectFiles: [], config: DEFAULT_CONFIG, cache });
}

function fn(m: CModel, name: string): CFn {
  return m.fns.find((f) => f.fact.name === name)!;
}

describe('C call effects', () => {
  test('effects reach callers through workspace calls, with the chain down to the direct call', () => {
    const m = model(files({ 'tools.c': TOOLS }));
    const s = cEffects(m);
    assert.ok(s.has(fn(m, 'setup'), 'startsThread'));
    assert.deepEqual(
      s.chain(fn(m, 'setup'), 'startsThread').map((step) => `${step.fn.fact.name}:${step.fn.fact.calls[step.call].name}`),
      ['setup:start_pool', 'start_pool:pthread_create'],
    );
    // puts() is the first unsafe call of setup(); a thread start is unsafe in a child too.
    assert.deepEqual(s.of(fn(m, 'setup')).unsafeInChild?.direct, { api: 'puts', reason: 'stdio' });
    assert.deepEqual(s.of(fn(m, 'start_pool')).unsafeInChild?.direct, { api: 'pthread_create', reason: 'thread' });
    // die() never returns (through leave_now()), and is unsafe at syslog().
    assert.ok(s.has(fn(m, 'die'), 'neverReturns'));
    assert.equal(s.chain(fn(m, 'die'), 'neverReturns').at(-1)?.direct?.api, '_exit');
    assert.equal(s.of(fn(m, 'die')).unsafeInChild?.direct?.api, 'syslog');
    // A conditional exit returns.
    assert.ok(!s.has(fn(m, 'maybe_die'), 'neverReturns'));
  });

  test('calls after an exit written in the function and a fork child that execs there are not the function\'s effects', () => {
    const m = model(files({ 'tools.c': TOOLS }));
    const s = cEffects(m);
    assert.ok(s.has(fn(m, 'after_exit'), 'neverReturns'));
    assert.ok(!s.has(fn(m, 'after_exit'), 'startsThread'));
    // closelog() runs in spawn_quiet()'s own child, judged at its fork; the caller only forks.
    assert.ok(!s.has(fn(m, 'spawn_quiet'), 'unsafeInChild'));
    assert.ok(!s.has(fn(m, 'spawn_quiet'), 'neverReturns'));
    assert.equal(s.of(fn(m, 'spawn_quiet')).forks?.direct?.api, 'fork');
  });

  test('recursion: a cycle has an effect only when a member reaches it outside the cycle', () => {
    const m = model(files({ 'tools.c': TOOLS }));
    const s = cEffects(m);
    assert.deepEqual(s.of(fn(m, 'walk_down')), {});
    assert.deepEqual(s.of(fn(m, 'walk_up')), {});
    assert.equal(s.of(fn(m, 'count_up')).unsafeInChild?.direct?.api, 'free');
    assert.ok(!s.has(fn(m, 'count_up'), 'neverReturns'));
  });

  test('a rebuilt model reuses the summaries of functions whose calls did not change', () => {
    const cache = new MapModelCache();
    const tools = analyzeText('tools.c', TOOLS)!;
    const other = (body: string) => analyzeText('other.c', `void helper(void) { ${body} }\nvoid entry(void) { helper(); }\n`)!;
    // A one-shot scan keeps no summaries; the first rebuild (an edit in the editor) starts to.
    const m1 = model([tools, other('')], cache);
    cEffects(m1);
    assert.equal(m1.effectCache, undefined);
    const m2 = model([tools, other('leave_now(0);')], cache);
    cEffects(m2);
    const stats = m2.effectCache!;
    const [hitsBefore, missesBefore] = [stats.hits, stats.misses];
    // other.c now calls die(): its two functions are solved again, tools.c's are reused.
    const m3 = model([tools, other('die("x");')], cache);
    assert.notEqual(m3, m2);
    const s3 = cEffects(m3);
    assert.equal(stats.misses - missesBefore, 2, 'helper() and entry() are solved again');
    // Every function of tools.c but the recursive ones (never cached) is reused.
    assert.equal(stats.hits - hitsBefore, 8);
    assert.ok(s3.has(fn(m3, 'entry'), 'neverReturns'));
    assert.equal(s3.chain(fn(m3, 'entry'), 'unsafeInChild').at(-1)?.direct?.api, 'syslog');
  });
});
