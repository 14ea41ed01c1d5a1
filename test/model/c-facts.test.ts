/**
 * C program facts: what one walk over a file records (see server/src/facts/c/program-types.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { extractCFacts, type CFact } from '../../server/src/facts/c/program-facts';
import { HELPERS_IN_EVERY_BRANCH } from '../../server/src/facts/c/program-fork';
import { parseSync } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

function facts(text: string): CFact[] {
  const tree = parseSync(text, 'c');
  try {
    return extractCFacts(tree, text, 'x.c');
  } finally {
    tree.delete();
  }
}

function only<K extends CFact['kind']>(all: CFact[], kind: K): Extract<CFact, { kind: K }>[] {
  return all.filter((f): f is Extract<CFact, { kind: K }> => f.kind === kind);
}

/** Region calls as "name@line" (1-based), `?` marking calls that are conditional in the region. */
function regionCalls(text: string): { shape: string; calls: string; end?: string }[][] {
  return only(facts(text), 'c.fork').map((f) =>
    f.regions.map((r) => ({ shape: r.shape, calls: r.calls.map((c) => `${c.name}@${c.span[0] + 1}${c.unconditional ? '' : '?'}`).join(' '), ...(r.end ? { end: r.end } : {}) })),
  );
}

describe('C program facts', () => {
  test('functions, calls in evaluation order, static, loops, refs and non-local assignments', () => {
    const all = facts(`static int cache;
static void helper(int *p) { *p = 1; }
int run(int n) {
  int local = 0;
  for (int i = 0; i < n; i++) helper(&local);
  if (n) cache = compute(other(n));
  register_cb(on_event);
  return local;
}
`);
    const fns = only(all, 'c.function');
    assert.deepEqual(fns.map((f) => [f.name, f.isStatic, f.index]), [['helper', true, 0], ['run', false, 1]]);
    const run = fns[1];
    assert.deepEqual(run.calls.map((c) => `${c.name}${c.unconditional ? '' : '?'}`), ['helper?', 'other?', 'compute?', 'register_cb']);
    assert.equal(run.loops.length, 1);
    assert.deepEqual(run.references, ['on_event']);
    assert.deepEqual(run.assigns, ['cache']);
  });

  test('child regions: if (pid == 0), if (!pid), switch, else branch, and the code after tests that send the parent away', () => {
    assert.deepEqual(regionCalls(`void a(void) { pid_t pid = fork(); if (pid == 0) { closelog(); execvp(p, v); perror("x"); } }`), [
      // What follows the exec runs when it fails: still collected, the end stays the exec.
      [{ shape: 'block', calls: 'closelog@1 execvp@1 perror@1', end: 'exec' }],
    ]);
    assert.deepEqual(regionCalls(`void b(void) {\n  if (!fork()) {\n    if (x) _exit(1);\n    puts("c");\n    _exit(0);\n  }\n}`), [
      [{ shape: 'block', calls: '_exit@3? puts@4 _exit@5', end: 'safe-exit' }],
    ]);
    assert.deepEqual(regionCalls(`void c(void) {\n  switch (pid = fork()) {\n  case -1: err();\n  case 0: child();\n    exit(0);\n  default: parent();\n  }\n}`), [
      [{ shape: 'block', calls: 'child@4 exit@5', end: 'unsafe-exit' }],
    ]);
    assert.deepEqual(regionCalls(`void d(void) { pid_t pid = fork(); if (pid != 0) { parent(); } else { child(); } }`), [
      [{ shape: 'block', calls: 'child@1' }],
    ]);
    assert.deepEqual(regionCalls(`int e(void) {\n  pid_t pid = fork();\n  if (pid < 0)\n    return -1;\n  if (pid > 0)\n    return pid;\n  setsid();\n  run();\n  return 0;\n}`), [
      [{ shape: 'after', calls: 'setsid@7 run@8', end: 'return' }],
    ]);
    assert.deepEqual(regionCalls(`void f(void) {\n  if (fork() != 0)\n    exit(0);\n  setsid();\n}`), [[{ shape: 'after', calls: 'setsid@4' }]]);
    // A parent-only test followed by nothing the child runs alone.
    assert.deepEqual(regionCalls(`void g(void) { pid_t pid = fork(); if (pid > 0) wait(0); work(); }`), [[]]);
  });

  test('the code after the tests records which helper calls of the child\'s branches would keep the child from it', () => {
    const unless = (text: string) => only(facts(text), 'c.fork').map((f) => f.regions.filter((r) => r.shape === 'after').map((r) => r.unless ?? null));
    // Every branch of the child's if/else ends in a helper; the statement before is one more way out.
    assert.deepEqual(
      unless(`int a(void) {\n  pid_t pid = fork();\n  if (pid < 0) {\n    goto fail;\n  } else if (pid == 0) {\n    prepare();\n    if (shell) run_shell(); else { execv(p, v); run_or_die(); }\n  } else {\n    return 1;\n  }\n  report();\nfail:\n  return 0;\n}`),
      [[[['prepare'], ['run_shell', 'run_or_die']]]],
    );
    // A child branch without an else, or one whose last word is an exec (it returns when the exec fails): always reached.
    assert.deepEqual(unless(`int b(void) {\n  pid_t pid = fork();\n  if (pid < 0) {\n    return -1;\n  } else if (pid == 0) {\n    if (quiet) run_quietly();\n  } else {\n    return 1;\n  }\n  report();\n  return 0;\n}`), [[null]]);
    // Inside the child's block, an if/else whose every branch ends in a helper: a record the model ends the walk at.
    const [block] = only(facts(`void h(void) {\n  if (fork() == 0) {\n    if (x) run_a(1);\n    else { prepare(); run_b(); }\n    after();\n  }\n}`), 'c.fork')[0].regions;
    assert.deepEqual(
      block.calls.map((c) => `${c.name}@${c.span[0] + 1}${c.unconditional ? '' : '?'}${c.unless ? ` unless ${JSON.stringify(c.unless)}` : ''}`),
      ['run_a@3?', 'prepare@4?', 'run_b@4?', `${HELPERS_IN_EVERY_BRANCH}@3 unless [["run_a","prepare"],["run_a","run_b"]]`, 'after@5'],
    );
    assert.deepEqual(unless(`int c(void) {\n  pid_t pid = fork();\n  if (pid > 0)\n    return 1;\n  else if (pid == 0)\n    execv(p, v);\n  report();\n  return 0;\n}`), [[null]]);
  });

  test('fork sites that are not recognised shapes keep an empty region list', () => {
    const forks = only(facts(`pid_t spawn(void) { return fork(); }\nvoid d(void) { daemon(0, 0); }`), 'c.fork');
    assert.deepEqual(forks.map((f) => [f.api, f.forkKind, f.childKnown, f.regions.length]), [['fork', 'fork', false, 0], ['daemon', 'daemon', false, 0]]);
  });

  test('thread starts with their routine, exec and spawn calls, at-fork child handlers', () => {
    const all = facts(`void s(void) {
  pthread_create(&t, NULL, worker, NULL);
  g_thread_new("w", (GThreadFunc)loop, NULL);
  pthread_atfork(NULL, NULL, reset_child);
  execv(p, v);
  posix_spawn(&pid, p, NULL, NULL, v, env);
}`);
    assert.deepEqual(only(all, 'c.threadStart').map((t) => [t.api, t.routine]), [['pthread_create', 'worker'], ['g_thread_new', 'loop']]);
    assert.deepEqual(only(all, 'c.atfork').map((a) => a.child), ['reset_child']);
    assert.deepEqual(only(all, 'c.exec').map((e) => e.api), ['execv', 'posix_spawn']);
  });

  test('close-all idioms: loops (with and without keep-list), closefrom, close_range with and without CLOEXEC', () => {
    const all = facts(`void c(int keep) {
  for (int fd = 3; fd < 1024; fd++) close(fd);
  for (i = getdtablesize(); i > 2; i--) { close(i); }
  for (int fd = 3; fd < max; fd++) { if (fd == keep) continue; close(fd); }
  for (int i = 0; i < 2; i++) close(i);
  for (int i = 0; i < n; i++) close(fds[i]);
  closefrom(3);
  close_range(3, ~0U, 0);
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}`);
    assert.deepEqual(
      only(all, 'c.closeAll').map((c) => `${c.api} line ${c.range.start.line + 1} from ${c.from}${c.keepList ? ' keep' : ''}${c.cloexecOnly ? ' cloexec' : ''}`),
      [
        'loop line 2 from 3',
        'loop line 3 from getdtablesize()',
        'loop line 4 from 3 keep',
        'closefrom line 7 from 3',
        'close_range line 8 from 3',
        'close_range line 9 from 3 cloexec',
      ],
    );
  });

  test('close-all loops: own closers, filters through a value read for the descriptor, the tail above a keep-list, stdio-only ranges', () => {
    const all = facts(`#define shut(x) close(x)
static void shut_one(int d) { if (d >= 0) close(d); }
void c(int keep, void **table) {
  for (int fd = 3; fd < 512; fd++) shut(fd);
  for (int fd = 3; fd < 512; fd++) shut_one(fd);
  for (int fd = 0; fd < 512; fd++) { void *e = table[fd]; if (!e) continue; close(fd); }
  for (int fd = 3; fd < 512; fd++) { int rc = close(fd); if (rc < 0) warn(); }
  int top = keep;
  for (int fd = 3; fd <= top; fd++) { if (fd != keep) close(fd); }
  int next = top + 1;
  close_range(next, ~0U, 0);
  close_range(0, 2, 0);
  while (top > 2) close(top--);
}`);
    assert.deepEqual(
      only(all, 'c.closeAll').map((c) => `${c.api} line ${c.range.start.line + 1} from ${c.from}${c.keepList ? ' keep' : ''}`),
      [
        'loop line 4 from 3',
        'loop line 5 from 3',
        'loop line 6 from 0 keep',
        'loop line 7 from 3',
        'loop line 9 from 3 keep',
        'close_range line 11 from next keep',
        'loop line 13 from undefined',
      ],
    );
  });

  test('a close-all call that returns when it worked: what its function does after it is a fallback', () => {
    const all = facts(`#include <errno.h>
int a(int low) { if (close_range(low, ~0U, 0) == 0) return 0; return walk_fds(low); }
int b(int low) { int ret; ret = close_range(low, ~0U, 0); if (ret == 0 || errno != ENOSYS) return ret; return walk_fds(low); }
int c(int low) { int ret = close_range(low, ~0U, 0); if (!ret) { note(); return 0; } return walk_fds(low); }
int d(int low) { if (!(close_range(low, ~0U, 0))) return 0; return -1; }
int e(int low) { if (close_range(low, ~0U, 0) < 0) return -1; run_job(); return 0; }
int f(int low) { int ret = close_range(low, ~0U, 0); if (ret != 0) return ret; run_job(); return 0; }
int g(int low) { int ret = close_range(low, ~0U, 0); log_it(); if (ret == 0) return 0; return -1; }
int h(int low) { if (close_range(low, ~0U, 0) == 0) run_job(); return 0; }
void i(int low) { closefrom(low); run_job(); }`);
    assert.deepEqual(
      only(all, 'c.closeAll').map((c) => `${c.api} line ${c.range.start.line + 1}${c.returnsWhenDone ? ' returns when done' : ''}`),
      [
        'close_range line 2 returns when done',
        'close_range line 3 returns when done',
        'close_range line 4 returns when done',
        'close_range line 5 returns when done',
        'close_range line 6',
        'close_range line 7',
        'close_range line 8',
        'close_range line 9',
        'closefrom line 10',
      ],
    );
  });

  test('statement macros alone on a line are blanked, so the fork test after them is read', () => {
    const text = `#define HOOK_IN
#define HOOK_OUT
int spawn(void) {
  pid_t pid;
  HOOK_IN /* platform */
  pid = fork();
  HOOK_OUT

  if (pid == 0) {
    child_work();
    return 0;
  }
  return 1;
}`;
    assert.deepEqual(regionCalls(text), [[{ shape: 'block', calls: 'child_work@10', end: 'return' }]]);
  });

  test('resets, flags set when a variable is set, and the zero flags guarding a call', () => {
    const all = facts(`static int cache = -1;
static int quiet, verbose;
void forget(void) { if (verbose) log_it(); cache = -1; }
int lazy(void) { if (cache < 0) cache = open("x", O_RDONLY); return cache; }
void reopen(void) { cache = open("x", O_RDONLY); }
void setup(int fd) {
  if (fd) { quiet = 1; if (verbose) verbose = 2; }
  if (0 == quiet && !verbose) daemonize();
  while (!quiet) step();
}`);
    const fns = only(all, 'c.function');
    assert.deepEqual(fns.map((f) => `${f.name}: ${(f.resets ?? []).join(',')}`), ['forget: cache', 'lazy: ', 'reopen: cache', 'setup: ']);
    const setup = fns.find((f) => f.name === 'setup')!;
    // `verbose = 2` sits at the top of `if (verbose)`, not of `if (fd)`.
    assert.deepEqual(setup.flagSets, [
      { test: 'fd', flag: 'quiet' },
      { test: 'verbose', flag: 'verbose' },
    ]);
    assert.deepEqual(
      setup.calls.map((c) => `${c.name} ${(c.zeroGuards ?? []).join(',')}`),
      ['daemonize quiet,verbose', 'step quiet'],
    );
  });

  test('a macro the file defines as a static storage class makes a local long-lived', () => {
    const all = facts(`#define PER_THREAD static __thread
int next(void) {
  PER_THREAD int seq = -1;
  if (seq < 0) seq = open("/var/lib/seq", O_RDWR);
  return seq;
}`);
    assert.deepEqual(only(all, 'c.fdCache').map((c) => `${c.variable} ${c.storage}`), ['seq static-local']);
  });

  test('descriptor caches in long-lived storage, and fstat re-validation', () => {
    const all = facts(`static int rnd = -2;
int shared;
struct { int fd; } state;
int f(void) {
  static int once = -1;
  int local = open("a", O_RDONLY);
  if (rnd < 0) rnd = TEMP_FAILURE_RETRY(open("/dev/urandom", O_RDONLY));
  shared = socket(AF_UNIX, SOCK_STREAM, 0);
  state.fd = open("c", O_RDONLY);
  once = dup(local);
  return local;
}
int check(void) { struct stat st; return fstat(rnd, &st) == 0 && st.st_ino == ino; }
`);
    assert.deepEqual(
      only(all, 'c.fdCache').map((c) => `${c.variable} ${c.storage} ${c.api}${c.declarationInitializer ? ` init ${c.declarationInitializer}` : ''}`),
      ['rnd file-static open init -2', 'shared global socket', 'state.fd global open', 'once static-local dup'],
    );
    assert.deepEqual(only(all, 'c.fdCheck').map((c) => c.variable), ['rnd']);
  });

  test('descriptor-producing calls: close-on-exec judgement and fixes', () => {
    const all = facts(`#include <fcntl.h>
void o(int flags) {
  open(p, O_RDONLY);
  open(p, O_RDONLY | O_CLOEXEC);
  open(p, flags);
  socket(AF_INET, SOCK_STREAM, 0);
  fopen(p, "r");
  fopen(p, "re");
  epoll_create1(0);
  pipe(fds);
  fcntl(fd, F_GETFL);
}`);
    const opens = only(all, 'c.fdOpen');
    assert.deepEqual(
      opens.map((o) => `${o.api} ${o.cloexec}${o.fix ? ` ${o.fix.applicability}: ${o.fix.edits.map((e) => JSON.stringify(e.newText)).join(' ')}` : ''}`),
      [
        'open no safe: " | O_CLOEXEC"',
        'open yes',
        'open unknown',
        'socket no safe: " | SOCK_CLOEXEC"',
        'fopen no safe: "e"',
        'fopen yes',
        'epoll_create1 no safe: "EPOLL_CLOEXEC"',
        'pipe no unsafe: "#define _GNU_SOURCE\\n" "pipe2(fds, O_CLOEXEC)"',
      ],
    );
    const includes = only(all, 'c.includes')[0];
    assert.deepEqual([includes.headers, includes.insertLine], [['fcntl.h'], 1]);
  });

  test('descriptors handed over by number: formatted into an env entry, an argv element or NAME= text; not when only logged', () => {
    const all = facts(`#define MAPS "MAPS"
struct slot { int fd; int log_fd; };
int close_it(int fd) { return close(fd); }
void a(const char *path) {
  int ends[2];
  char n[16];
  pipe(ends);
  snprintf(n, sizeof n, "%d", ends[1]);
  setenv("CHILD_FD", n, 1);
  if (fork() == 0) { close_it(ends[0]); execl(path, path, (char *)0); }
}
void b(const char *path, char **argv) {
  char arg[16];
  char *args[3];
  int in = open(path, 0);
  int log = open("/tmp/log", 1);
  snprintf(arg, sizeof arg, "%d", in);
  fprintf(stderr, "log %d\\n", log);
  args[0] = arg;
  execv(path, args);
}
void c(struct slot *s) {
  s->fd = dup(3);
  s->log_fd = dup(4);
}
void d(struct slot *s, char *buf) {
  char *p = copy(buf, MAPS "=");
  char msg[32];
  p += sprintf(p, "%u;", s->fd);
  snprintf(msg, sizeof msg, "log fd %d", s->log_fd);
}`);
    const opens = only(all, 'c.fdOpen').map((o) => `${o.api}@${o.range.start.line + 1} ${JSON.stringify(o.byNumber ?? null)} ${o.storedField ?? ''}`);
    assert.deepEqual(opens, [
      'pipe@7 {"closedInChildBy":[[{"callIndex":4,"arg":0}]]} ',
      'open@15 {} ',
      'open@16 null ',
      'dup@23 null struct slot.fd',
      'dup@24 null struct slot.log_fd',
    ]);
    const fns = only(all, 'c.function');
    assert.deepEqual(fns.find((f) => f.name === 'close_it')?.closesParams, [0]);
    assert.deepEqual(fns.find((f) => f.name === 'd')?.handsOverFields, ['struct slot.fd']);
  });

  test('statements that are only a call carry a deletion span for whole-line removal', () => {
    const fn = only(facts(`void f(void) {\n  closelog();\n  x = g(); closelog();\n}`), 'c.function')[0];
    assert.deepEqual(fn.calls.map((c) => [c.name, c.deleteSpan]), [
      ['closelog', [1, 0, 2, 0]],
      ['g', undefined],
      ['closelog', [2, 11, 2, 22]],
    ]);
  });

  test('functions whose head a macro writes are functions named by the invocation, with their calls', () => {
    const fns = only(
      facts(`static int helper(int n) { return n; }
CASE_IMPL(drain_queue) {
  start_pool();
  return 0;
}

SUITE_CASE(queue, refill)
{
  refill();
}

BEGIN_CASE(first)
{
  one();
}
END_CASE

BEGIN_CASE(second)
{
  two();
}
END_CASE
`),
      'c.function',
    );
    assert.deepEqual(
      fns.map((f) => [f.name, f.definer, f.range.start.line + 1, f.range.end.line + 1, f.nameSpan, f.calls.map((c) => c.name).join(' ')]),
      [
        ['helper', undefined, 1, 1, [0, 11, 0, 17], ''],
        ['CASE_IMPL(drain_queue)', 'CASE_IMPL', 2, 5, [1, 0, 1, 22], 'start_pool'],
        ['SUITE_CASE(queue,refill)', 'SUITE_CASE', 7, 10, [6, 0, 6, 25], 'refill'],
        ['BEGIN_CASE(first)', 'BEGIN_CASE', 12, 15, [11, 0, 11, 17], 'one'],
        // After `END_CASE` the grammar reads a function named BEGIN_CASE whose type is END_CASE.
        ['BEGIN_CASE(second)', 'BEGIN_CASE', 18, 21, [17, 0, 17, 18], 'two'],
      ],
    );
  });

  test('an implicit-int definition, a lower-case head and a macro call ended by its semicolon are not read as macro-defined functions', () => {
    const fns = only(
      facts(`count(a, b) { tally(a); }
main(argc, argv) int argc; char **argv; { run(argc); }
Test(queue, drains) { drain(); }
DECLARE_HOOK(on_exit);
{
  stray();
}
int plain(void) { work(); return 0; }
STATUS
DOIT(handle)
{
  work();
}
`),
      'c.function',
    );
    // The grammar reads neither an implicit-int definition nor these pairs as a definition;
    // only an invocation in capitals, its `;` missing, directly before the block is taken.
    // An old-style DOIT(handle) under its return type stays DOIT: the file never used DOIT as a definer.
    assert.deepEqual(fns.map((f) => [f.name, f.definer]), [['plain', undefined], ['DOIT', undefined]]);
  });

  test('broken and unusual code never throws', () => {
    for (const text of ['int f( { fork(', 'void g(void) { if ((pid = fork()) { } }', '#if X\nvoid h(void) {\n#else\nvoid h(int a) {\n#endif\n  fork();\n}', 'K(R) int k(a) int a; { return fork(); }']) {
      assert.doesNotThrow(() => facts(text), text);
    }
  });
});
