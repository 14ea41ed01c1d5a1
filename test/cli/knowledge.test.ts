/**
 * Models as data, through the command line: a `knowledge` section in `.hazard-lens.json`
 * makes the analysers see the user's own openers, thread starters and async-signal-safety
 * verdicts; a malformed model stops the scan with exit 2 and a message naming the key path.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ensureBuilt, runCli, temporaryRepositories, type Tree } from './helpers';

before(() => ensureBuilt());
const workspace = temporaryRepositories();

interface JsonFinding {
  ruleId: string;
  path: string;
  /** 1-based lines and columns. */
  range: { start: { line: number; column: number }; end: { line: number; column: number } };
  message: string;
}

/** `scan --format json`: the findings, and the exit status. */
function scan(files: Tree): { status: number | null; findings: JsonFinding[]; stderr: string } {
  const dir = workspace(files);
  const r = runCli(['scan', '.', '--format', 'json', '--no-cache'], { cwd: dir });
  const findings = r.stdout.trim() ? ((JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings ?? []) : [];
  return { status: r.status, findings, stderr: r.stderr };
}

const config = (knowledge: unknown) => JSON.stringify({ knowledge }, null, 2);

function brief(f: JsonFinding): string {
  const { start, end } = f.range;
  return `${f.ruleId} ${f.path}:${start.line}:${start.column}-${end.line}:${end.column} ${f.message}`;
}

const PY_VENDOR: Tree = {
  'src/app.py': 'from vendorlib import open_blob\n\n\ndef size(p):\n    b = open_blob(p)\n    b.read()\n',
};

const JS_VENDOR: Tree = {
  'src/app.js': "const { openHandle } = require('my-fs');\n\nfunction size(p) {\n  const h = openHandle(p);\n  return h.read();\n}\nmodule.exports = { size };\n",
};

const C_VENDOR: Tree = {
  'src/blob.c':
    '#include "blob.h"\n\nint check(const char *p) {\n    struct blob *b = blob_open(p);\n    if (!b) return -1;\n    if (p[0] == 0) return -2;\n    blob_close(b);\n    return 0;\n}\n',
};

/** A thread started by a workspace-unknown function, then a fork whose child calls two functions before exec. */
const C_FORK: Tree = {
  'src/main.c':
    '#include <stdio.h>\n#include <unistd.h>\n\nstatic void *work(void *arg) { return arg; }\n\nint main(void) {\n    start_worker(work);\n    pid_t pid = fork();\n    if (pid == 0) {\n        log_child("child");\n        printf("child\\n");\n        execl("/bin/true", "true", (char *)0);\n        _exit(127);\n    }\n    return 0;\n}\n',
};

describe('knowledge models in .hazard-lens.json (CLI)', () => {
  test('a Python opener model: vendorlib.open_blob released by close', () => {
    const without = scan(PY_VENDOR);
    assert.equal(without.status, 0, without.stderr);
    assert.deepEqual(without.findings.map(brief), []);

    const withModel = scan({ ...PY_VENDOR, '.hazard-lens.json': config({ python: { openers: [{ name: 'vendorlib.open_blob', releaseMethods: ['close'] }] } }) });
    assert.equal(withModel.status, 1, withModel.stderr);
    assert.deepEqual(withModel.findings.map(brief), [
      "unreleased-file src/app.py:5:9-5:21 Handle 'b' from open_blob() is not released on every path: it leaks at the end of its scope on line 6",
    ]);

    // Closed: silent with the model too.
    const closed = scan({
      'src/app.py': 'from vendorlib import open_blob\n\n\ndef size(p):\n    b = open_blob(p)\n    try:\n        b.read()\n    finally:\n        b.close()\n',
      '.hazard-lens.json': config({ python: { openers: [{ name: 'vendorlib.open_blob' }] } }),
    });
    assert.equal(closed.status, 0, closed.stderr);
    assert.deepEqual(closed.findings.map(brief), []);
  });

  test('a JavaScript module opener model: module "my-fs" export "openHandle"', () => {
    assert.deepEqual(scan(JS_VENDOR).findings.map(brief), []);
    const withModel = scan({ ...JS_VENDOR, '.hazard-lens.json': config({ typescript: { openers: [{ module: 'my-fs', export: 'openHandle', releaseMethods: ['close'] }] } }) });
    assert.equal(withModel.status, 1, withModel.stderr);
    assert.deepEqual(withModel.findings.map(brief), [
      "unreleased-file src/app.js:4:13-4:26 Handle 'h' from openHandle() is not released on every path: it leaks at the return on line 5",
    ]);
    // A releaser of the module takes it.
    const released = scan({
      'src/app.js': "const { openHandle, closeHandle } = require('my-fs');\n\nfunction size(p) {\n  const h = openHandle(p);\n  const n = h.size;\n  closeHandle(h);\n  return n;\n}\nmodule.exports = { size };\n",
      '.hazard-lens.json': config({ typescript: { openers: [{ module: 'my-fs', export: 'openHandle' }], releasers: [{ module: 'my-fs', export: 'closeHandle' }] } }),
    });
    assert.deepEqual(released.findings.map(brief), []);
  });

  test('a C opener model: blob_open released by blob_close', () => {
    assert.deepEqual(scan(C_VENDOR).findings.map(brief), []);
    const withModel = scan({ ...C_VENDOR, '.hazard-lens.json': config({ c: { openers: [{ name: 'blob_open', releasedBy: ['blob_close'] }] } }) });
    assert.equal(withModel.status, 1, withModel.stderr);
    assert.deepEqual(withModel.findings.map(brief), [
      "unreleased-file src/blob.c:4:22-4:34 Handle 'b' from blob_open() is not released on every path: it leaks at the return on line 6",
    ]);
  });

  test('a C thread-starter model makes fork-in-threaded-program see the thread', () => {
    const without = scan(C_FORK);
    assert.deepEqual(
      without.findings.map((f) => f.ruleId),
      ['unsafe-call-in-fork-child'],
    );
    const withModel = scan({ ...C_FORK, '.hazard-lens.json': config({ c: { threadStarters: [{ name: 'start_worker', routineArgument: 0 }] } }) });
    const fork = withModel.findings.filter((f) => f.ruleId === 'fork-in-threaded-program');
    assert.deepEqual(fork.map(brief), [
      'fork-in-threaded-program src/main.c:8:17-8:23 fork() may run while other threads are running, and the child calls printf() before exec: locks held by other threads (malloc, stdio, syslog) stay locked forever in the child',
    ]);
  });

  test('a C process-starter model: the child of a fork-like wrapper is checked like fork()\'s', () => {
    const files: Tree = {
      'src/main.c':
        '#include <stdio.h>\n#include <unistd.h>\n\nint main(void) {\n    pid_t pid = spawn_helper();\n    if (pid == 0) {\n        printf("child\\n");\n        execl("/bin/true", "true", (char *)0);\n        _exit(127);\n    }\n    return 0;\n}\n',
    };
    assert.deepEqual(scan(files).findings.map(brief), []);
    const withModel = scan({ ...files, '.hazard-lens.json': config({ c: { processStarters: [{ name: 'spawn_helper', kind: 'fork' }] } }) });
    assert.deepEqual(withModel.findings.map(brief), [
      'unsafe-call-in-fork-child src/main.c:7:9-7:26 printf() runs in the child of the spawn_helper() at main.c:5 but is not async-signal-safe: it takes a stdio stream lock and may allocate; this is only safe while the process has a single thread when it forks',
    ]);
  });

  test('async-signal-safety verdicts override the built-in ones', () => {
    const verdicts = (entries: unknown[]) => config({ c: { threadStarters: [{ name: 'start_worker' }], signalSafety: entries } });
    // printf() declared safe, log_child() declared unsafe with a reason.
    const unsafe = scan({
      ...C_FORK,
      '.hazard-lens.json': verdicts([
        { name: 'log_child', verdict: 'unsafe', reason: "takes the logger's lock" },
        { name: 'printf', verdict: 'safe' },
      ]),
    });
    assert.deepEqual(unsafe.findings.map(brief), [
      'fork-in-threaded-program src/main.c:8:17-8:23 fork() may run while other threads are running, and the child calls log_child() before exec: locks held by other threads (malloc, stdio, syslog) stay locked forever in the child',
      "unsafe-call-in-fork-child src/main.c:10:9-10:27 log_child() runs in the child of the fork() at main.c:8 but is not async-signal-safe: it takes the logger's lock; threads may be running at the fork, so the child can deadlock before it execs",
    ]);
    // Both declared safe: the child is a clean spawn, nothing to report.
    const safe = scan({ ...C_FORK, '.hazard-lens.json': verdicts([{ name: 'log_child', verdict: 'safe' }, { name: 'printf', verdict: 'safe' }]) });
    assert.equal(safe.status, 0, safe.stderr);
    assert.deepEqual(safe.findings.map(brief), []);
  });

  test('a fork-child function model: its body is judged as child code, several calls down', () => {
    const lib: Tree = {
      'src/hooks.c':
        '#include <stdlib.h>\n#include <unistd.h>\n\nstatic void note(void) { free(malloc(8)); }\n\nstatic void prepare(void) { note(); }\n\nvoid child_setup(int fd) {\n    dup2(fd, 1);\n    prepare();\n}\n',
    };
    const none = scan(lib);
    assert.deepEqual(none.findings.map(brief), []);
    const declared = scan({ ...lib, '.hazard-lens.json': config({ c: { forkChildFunctions: [{ name: 'child_setup' }] } }) });
    assert.deepEqual(declared.findings.map(brief), [
      'unsafe-call-in-fork-child src/hooks.c:4:26-4:41 free() runs in child_setup() (reached through prepare() → note()), which is declared to run in a fork child before exec (forkChildFunctions in .hazard-lens.json), but is not async-signal-safe: it takes the allocator\'s lock; when the host program has threads, the child can deadlock',
      'unsafe-call-in-fork-child src/hooks.c:4:31-4:40 malloc() runs in child_setup() (reached through prepare() → note()), which is declared to run in a fork child before exec (forkChildFunctions in .hazard-lens.json), but is not async-signal-safe: it takes the allocator\'s lock; when the host program has threads, the child can deadlock',
    ]);
  });

  test('Python thread-starter and process-starter models feed fork-in-threaded-program', () => {
    const files: Tree = {
      'src/app.py':
        'import os\nfrom mylib.workers import start_worker\nfrom mylib.proc import fork_worker\n\n\ndef main():\n    start_worker(print)\n    pid = fork_worker()\n    if pid == 0:\n        print("child")\n        os._exit(0)\n\n\nif __name__ == "__main__":\n    main()\n',
    };
    assert.deepEqual(scan(files).findings.map(brief), []);
    const withModels = scan({
      ...files,
      '.hazard-lens.json': config({ python: { threadStarters: [{ name: 'mylib.workers.start_worker' }], processStarters: [{ name: 'mylib.proc.fork_worker' }] } }),
    });
    assert.deepEqual(withModels.findings.map(brief), [
      'fork-in-threaded-program src/app.py:8:11-8:24 mylib.proc.fork_worker() in a program that has already started a thread (mylib.workers.start_worker() at line 7): the child inherits locks other threads held and can deadlock',
    ]);
  });

  test('a Python process-starter model of a class whose method starts worker processes follows the start method', () => {
    const files: Tree = {
      'src/app.py':
        'import threading\nfrom mylib.gang import WorkerGang\n\n\ndef main():\n    threading.Thread(target=print, daemon=True).start()\n    gang = WorkerGang(4)\n    gang.launch("job")\n\n\nif __name__ == "__main__":\n    main()\n',
    };
    const model = config({ python: { processStarters: [{ name: 'mylib.gang.WorkerGang', how: 'method', methods: ['launch'] }] } });
    assert.deepEqual(scan(files).findings.map(brief), []);
    assert.deepEqual(scan({ ...files, '.hazard-lens.json': model }).findings.map(brief), [
      'fork-in-threaded-program src/app.py:8:5-8:23 mylib.gang.WorkerGang.launch() forks (start method "fork", the Linux default before Python 3.14) in a program that has already started a thread (threading.Thread.start() at line 6): the child inherits locks other threads held and can deadlock',
    ]);
    // The gang's processes follow the program's start method.
    const forkserver = (files['src/app.py'] as string).replace('def main():\n', 'def main():\n    import multiprocessing\n    multiprocessing.set_start_method("forkserver")\n');
    assert.deepEqual(scan({ 'src/app.py': forkserver, '.hazard-lens.json': model }).findings.map(brief), []);
  });

  test('a TypeScript keep-alive model: the connect() of a messaging client makes a blocking handler starve it', () => {
    const files: Tree = {
      'package.json': JSON.stringify({ name: 'orders', main: 'dist/index.js' }),
      'src/index.ts':
        "import { createServer } from 'node:http';\nimport { readFileSync } from 'node:fs';\nimport { connect } from 'hive-bus';\n\nconst bus = connect('hive://orders');\nbus.publish('up');\n\ncreateServer((req, res) => {\n  res.end(readFileSync('/srv/report.txt'));\n}).listen(8080);\n",
    };
    assert.deepEqual(scan(files).findings.map(brief), []);
    const withModel = scan({ ...files, '.hazard-lens.json': config({ typescript: { keepAlive: [{ module: 'hive-bus', export: 'connect', note: 'hive pings every 10 s' }] } }) });
    assert.equal(withModel.status, 1, withModel.stderr);
    assert.deepEqual(withModel.findings.map(brief), [
      'heartbeat-starved-by-blocking-call src/index.ts:9:11-9:42 readFileSync() blocks the event loop in a request handler (createServer()) of a program whose heartbeat runs on the same loop (connect() from hive-bus at line 5: hive pings every 10 s); while it runs no heartbeat is sent and the peer may drop the connection',
    ]);
    // Switched off by its option: silent.
    const off = scan({
      ...files,
      'src/index.ts': (files['src/index.ts'] as string).replace("connect('hive://orders')", "connect('hive://orders', { pingEvery: 0 })"),
      '.hazard-lens.json': config({ typescript: { keepAlive: [{ module: 'hive-bus', export: 'connect', disabledBy: 'pingEvery' }] } }),
    });
    assert.deepEqual(off.findings.map(brief), []);
  });

  test('TypeScript blocking, handler and ping models: a subscriber that calls a synchronous query beside a pinging timer', () => {
    const files: Tree = {
      'package.json': JSON.stringify({ name: 'ledger', main: 'src/main.js' }),
      'src/main.js':
        "const bus = require('hive-bus');\nconst { querySync } = require('ledger-db');\n\nconst link = bus.open('hive://ledger');\nsetInterval(() => link.touch(), 5000);\n\nlink.subscribe('entries', (entry) => {\n  return querySync('select * from entries where id = ?', entry.id);\n});\n",
    };
    assert.deepEqual(scan(files).findings.map(brief), []);
    const withModels = scan({
      ...files,
      '.hazard-lens.json': config({
        typescript: {
          keepAlive: [{ module: 'hive-bus', export: 'touch', role: 'ping' }],
          blocking: [{ module: 'ledger-db', export: 'querySync', category: 'cpu' }],
          handlers: [{ method: 'subscribe', context: 'message', module: 'hive-bus' }],
        },
      }),
    });
    assert.equal(withModels.status, 1, withModels.stderr);
    assert.deepEqual(withModels.findings.map(brief), [
      'heartbeat-starved-by-blocking-call src/main.js:8:10-8:67 querySync() of ledger-db blocks the event loop in a message handler (link.subscribe()) of a program whose heartbeat runs on the same loop (setInterval() at line 5: a timer that sends heartbeats); while it runs no heartbeat is sent and the peer may drop the connection',
    ]);
  });

  test('a TypeScript thread-starter model: the script a pool runs is a Worker program with its own event loop', () => {
    const files: Tree = {
      'package.json': JSON.stringify({ name: 'render', main: 'src/main.js' }),
      'src/main.js':
        "const { isMainThread, parentPort } = require('node:worker_threads');\nconst { readFileSync } = require('node:fs');\nconst { ThreadPool } = require('tiny-pool');\n\nif (isMainThread) {\n  new ThreadPool(__filename, { size: 2 });\n} else {\n  setInterval(() => parentPort.postMessage('heartbeat'), 1000);\n  parentPort.on('message', (job) => {\n    parentPort.postMessage(readFileSync(job.path));\n  });\n}\n",
    };
    // Without the model no Worker runs this file, so its worker branch runs nowhere.
    assert.deepEqual(scan(files).findings.map(brief), []);
    const withModel = scan({ ...files, '.hazard-lens.json': config({ typescript: { threadStarters: [{ module: 'tiny-pool', export: 'ThreadPool' }] } }) });
    assert.deepEqual(withModel.findings.map(brief), [
      "heartbeat-starved-by-blocking-call src/main.js:10:28-10:50 readFileSync() blocks the event loop in a message handler (parentPort.on('message')) of a program whose heartbeat runs on the same loop (setInterval() at line 8: a timer that sends heartbeats); while it runs no heartbeat is sent and the peer may drop the connection",
    ]);
  });

  test('malformed TypeScript models exit 2 naming the key path and what was expected', () => {
    const bad = scan({
      ...JS_VENDOR,
      '.hazard-lens.json': config({
        typescript: {
          keepAlive: [{ module: 'hive-bus', export: 'connect', how: 'constructor' }],
          blocking: [{ module: 'ledger-db', name: 'querySync' }],
          threadStarters: [{ module: 'tiny-pool', export: 'ThreadPool', scriptArgument: -1 }],
          handlers: [{ method: 'subscribe' }],
          timers: [],
        },
      }),
    });
    assert.equal(bad.status, 2);
    assert.deepEqual(bad.stderr.trimEnd().split('\n').sort(), [
      'hazard-lens: .hazard-lens.json: knowledge.typescript.blocking[0].export: expected a non-empty string',
      'hazard-lens: .hazard-lens.json: knowledge.typescript.blocking[0].name: unknown field (expected module, export, how, category)',
      'hazard-lens: .hazard-lens.json: knowledge.typescript.handlers[0].context: expected one of "request", "message", "interval"',
      'hazard-lens: .hazard-lens.json: knowledge.typescript.keepAlive[0].how: expected one of "call", "new", "method"',
      'hazard-lens: .hazard-lens.json: knowledge.typescript.threadStarters[0].scriptArgument: expected an argument index (0 for the first argument)',
      'hazard-lens: .hazard-lens.json: knowledge.typescript.timers: unknown kind (expected openers, releasers, owners, keepAlive, blocking, threadStarters, handlers)',
    ]);
    assert.deepEqual(bad.findings, []);
  });

  test('a malformed model exits 2 with the file and the key path', () => {
    const empty = scan({ ...PY_VENDOR, '.hazard-lens.json': config({ python: { openers: [{ name: '' }] } }) });
    assert.equal(empty.status, 2);
    assert.equal(empty.stderr, 'hazard-lens: .hazard-lens.json: knowledge.python.openers[0].name: expected a non-empty string\n');

    const several = scan({
      ...PY_VENDOR,
      '.hazard-lens.json': config({ rust: {}, python: { frobnicators: [] }, c: { signalSafety: [{ name: 'f', verdict: 'maybe' }], openers: [{ name: 7, releasedBy: ['x'] }] } }),
    });
    assert.equal(several.status, 2);
    assert.deepEqual(several.stderr.trimEnd().split('\n').sort(), [
      'hazard-lens: .hazard-lens.json: knowledge.c.openers[0].name: expected a non-empty string',
      'hazard-lens: .hazard-lens.json: knowledge.c.signalSafety[0].verdict: expected one of "safe", "unsafe"',
      'hazard-lens: .hazard-lens.json: knowledge.python.frobnicators: unknown kind (expected openers, releasers, owners, threadStarters, processStarters, keepAlive)',
      'hazard-lens: .hazard-lens.json: knowledge.rust: unknown language (expected c, python, typescript; "typescript" also covers JavaScript)',
    ]);
    assert.deepEqual(several.findings, []);
  });

  test('an unknown targetPlatform stops the scan (config file and --target-platform)', () => {
    const bad = scan({ ...PY_VENDOR, '.hazard-lens.json': JSON.stringify({ targetPlatform: 'plan9' }) });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^hazard-lens: \.hazard-lens\.json: "targetPlatform" is invalid \(.*"linux".*\)\n$/);
    const dir = workspace(PY_VENDOR);
    const flag = runCli(['scan', '.', '--format', 'json', '--no-cache', '--target-platform', 'plan9'], { cwd: dir });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /invalid value 'plan9' for --target-platform: expected one of linux, macos, freebsd, openbsd, netbsd, solaris, aix, zos, qnx, windows/);
  });
});
