/**
 * Multi-file Python scenarios (test/fixtures/programs/py-*): every file of a scenario is
 * analysed, then the whole folder is evaluated as one workspace. Asserts exact rule ids,
 * files, lines and evidence chains of the FORK/FD rules, and that editing one file changes
 * the findings of another.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG, type HazardLensConfig } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/analysis/results';
import { pythonModel } from '../../server/src/model/python';
import { chainLines, findingLine, grammarsReady, loadWorkspace, type LoadedWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');
const RULE_IDS = new Set(['fork-in-threaded-program', 'cached-fd-across-fork', 'close-all-fds-without-exec']);

type Scenario = LoadedWorkspace;

function load(name: string, base = PROGRAMS): Scenario {
  return loadWorkspace(join(base, name), ROOT);
}

function run(s: Scenario, config: HazardLensConfig = DEFAULT_CONFIG, projectFiles = s.projectFiles): Finding[] {
  const { findings, notes } = evaluate(s.files, config, { roots: [s.dir], projectFiles });
  assert.deepEqual(notes, []);
  return findings.filter((f) => RULE_IDS.has(f.ruleId));
}

const steps = chainLines;
const at = findingLine;

before(async () => {
  await grammarsReady();
});

describe('py-thread-at-import: a thread started at import, a fork in the importing module', () => {
  test('the fork is reported in spawner.py with the chain into metrics.py', () => {
    const s = load('py-thread-at-import');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program app/spawner.py:9']);
    const [f] = findings;
    assert.equal(f.severity, 'warning');
    assert.equal(
      f.message,
      'os.fork() in a program that has already started a thread (threading.Thread.start() at metrics.py:15): the child inherits locks other threads held and can deadlock',
    );
    assert.deepEqual(steps(s, f), [
      'app/metrics.py:15 thread started here (threading.Thread.start())',
      'app/spawner.py:4 imported from here',
      'main.py:3 imported from here',
      'main.py:12 called here',
      'main.py:7 called here',
      'app/spawner.py:9 fork here (os.fork())',
    ]);
    assert.deepEqual(
      f.fixes.map((x) => x.applicability),
      ['display-only'],
    );
  });

  test('removing the thread start from metrics.py clears the finding in spawner.py', () => {
    const s = load('py-thread-at-import');
    const metrics = s.files.find((f) => f.path.endsWith('metrics.py'))!;
    const text = readFileSync(join(ROOT, metrics.path), 'utf8').replace('_flusher.start()\n', '');
    const edited = analyzeText(metrics.path, text)!;
    const files = s.files.map((f) => (f === metrics ? edited : f));
    assert.deepEqual(run({ ...s, files }), []);
  });

  test('the programs that hold metrics.py', () => {
    const s = load('py-thread-at-import');
    const model = pythonModel({ files: s.files, roots: [s.dir], projectFiles: [], config: DEFAULT_CONFIG });
    const metrics = s.files.find((f) => f.path.endsWith('metrics.py'))!.path;
    const holding = model.programs.filter((p) => [...p.modules].some((m) => m.path === metrics));
    assert.deepEqual(
      [...new Set(holding.flatMap((p) => [...p.modules].map((m) => relative(s.dir, join(ROOT, m.path)))))].sort(),
      ['app/__init__.py', 'app/metrics.py', 'app/spawner.py', 'main.py'],
    );
  });
});

describe('py-src-layout: a console script in pyproject.toml, a src/ package, relative imports', () => {
  test('Pool after a Thread subclass started by the console script entry point', () => {
    const s = load('py-src-layout');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program src/mytool/jobs.py:9']);
    const [f] = findings;
    assert.match(f.message, /^multiprocessing\.Pool\(\) forks \(start method "fork", the Linux default before Python 3\.14\)/);
    assert.deepEqual(steps(s, f), [
      "pyproject.toml:13 console script 'mytool' calls mytool.cli:main",
      'src/mytool/background.py:14 thread started here (threading.Thread subclass Watcher.start())',
      'src/mytool/cli.py:6 called here',
      'src/mytool/cli.py:7 called here',
      'src/mytool/jobs.py:9 fork here (multiprocessing.Pool())',
    ]);
    assert.equal(f.fixes.length, 1);
    assert.equal(f.fixes[0].applicability, 'unsafe');
    assert.deepEqual(
      f.fixes[0].edits.map((e) => [e.range.start.line + 1, e.newText]),
      [[9, 'multiprocessing.get_context("forkserver").Pool']],
    );
  });

  test('silent when the target Python defaults to forkserver (3.14)', () => {
    const s = load('py-src-layout');
    assert.deepEqual(run(s, { ...DEFAULT_CONFIG, pythonVersion: '3.14' }), []);
  });

  test('without the project file, cli.py is a library root and its main() still shows the order', () => {
    const s = load('py-src-layout');
    const findings = run(s, DEFAULT_CONFIG, []);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program src/mytool/jobs.py:9']);
    assert.deepEqual(steps(s, findings[0])[0], 'src/mytool/background.py:14 thread started here (threading.Thread subclass Watcher.start())');
  });
});

describe('py-star-reexports: a package whose names come from star imports, and modules that take them by a star', () => {
  test('the calls made through star-imported names connect the thread start and the fork', () => {
    const s = load('py-star-reexports');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program relay/children.py:14']);
    assert.deepEqual(steps(s, findings[0]), [
      'main.py:10 called here',
      'main.py:6 called here',
      'relay/pump.py:16 thread started here (threading.Thread.start())',
      'relay/pump.py:18 called here',
      'relay/children.py:14 fork here (os.fork())',
    ]);
  });

  test('without the star import in pump.py, spawn_child is nobody\'s name there and the fork is not reached', () => {
    const s = load('py-star-reexports');
    const pump = s.files.find((f) => f.path.endsWith('pump.py'))!;
    const text = readFileSync(join(ROOT, pump.path), 'utf8').replace('from relay import *\n', '');
    const files = s.files.map((f) => (f === pump ? analyzeText(pump.path, text)! : f));
    assert.deepEqual(run({ ...s, files }), []);
  });
});

describe('py-daemon-cache: incident 2 — a daemonizer closes every fd under a cached descriptor', () => {
  test('the cache, the fork, the close-all and the later open that reuses the number', () => {
    const s = load('py-daemon-cache');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['close-all-fds-without-exec svc/daemon.py:12', 'cached-fd-across-fork svc/rng.py:4']);
    const cache = findings.find((f) => f.ruleId === 'cached-fd-across-fork')!;
    assert.equal(cache.severity, 'error');
    assert.deepEqual(steps(s, cache), [
      'svc/rng.py:4 descriptor cached here (os.open())',
      'beat.py:3 imported from here',
      'beat.py:16 called here',
      'beat.py:8 called here',
      'svc/daemon.py:6 fork here (os.fork()); the child keeps running',
      'svc/daemon.py:12 fds closed here (os.closerange()), the cached one included',
      'svc/stats.py:4 opened after the close-all: may be given the cached number (socket.socket())',
    ]);
    assert.deepEqual(
      cache.fixes.map((x) => x.applicability),
      ['unsafe', 'display-only'],
    );
    const closeAll = findings.find((f) => f.ruleId === 'close-all-fds-without-exec')!;
    assert.equal(closeAll.severity, 'warning');
    assert.deepEqual(steps(s, closeAll), [
      'beat.py:16 called here',
      'beat.py:8 called here',
      'svc/daemon.py:9 fork here (os.fork()); the child keeps running',
      'svc/daemon.py:12 fds closed here (os.closerange())',
      'svc/rng.py:4 descriptor cached here (os.open()) is closed by it',
    ]);
  });

  test('stats.py, imported only after daemonize(), is not reported: its socket is opened after the fork', () => {
    const s = load('py-daemon-cache');
    assert.ok(!run(s).some((f) => f.path.endsWith('stats.py')));
  });
});

describe('examples: the Python incident reproductions and their corrected versions', () => {
  const EXAMPLES = join(ROOT, 'examples');

  test('py-daemon-fd-cache: incident/ is reported with its chain, fixed/ stays silent', () => {
    const s = load('py-daemon-fd-cache', EXAMPLES);
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), [
      'cached-fd-across-fork incident/beatd/ids.py:8',
      'close-all-fds-without-exec incident/beatd/platform.py:16',
    ]);
    assert.deepEqual(steps(s, findings[0]), [
      'incident/beatd/ids.py:8 descriptor cached here (os.open())',
      'incident/beat.py:6 imported from here',
      'incident/beat.py:24 called here',
      'incident/beat.py:15 called here',
      'incident/beatd/platform.py:8 fork here (os.fork()); the child keeps running',
      'incident/beatd/platform.py:16 fds closed here (os.closerange()), the cached one included',
      'incident/beatd/metrics.py:11 opened after the close-all: may be given the cached number (socket.socket())',
    ]);
  });

  test('py-fork-after-threads: incident/ is reported with its chain, fixed/ stays silent', () => {
    const s = load('py-fork-after-threads', EXAMPLES);
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program incident/thumbs/render.py:15']);
    assert.deepEqual(steps(s, findings[0]), [
      'incident/thumbs/heartbeat.py:17 thread started here (threading.Thread.start())',
      'incident/service.py:5 imported from here',
      'incident/service.py:17 called here',
      'incident/service.py:11 called here',
      'incident/thumbs/render.py:15 fork here (multiprocessing.Pool())',
    ]);
    assert.equal(findings[0].fixes[0]?.applicability, 'unsafe');
  });
});

describe('py-detach-context: `with detach():` enters a daemonizer whose helper closes all but what its caller keeps', () => {
  test('the scheduler keeps running after the close-all: reported with the chain through the with statement', () => {
    const s = load('py-detach-context');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['close-all-fds-without-exec stationd/platform.py:12']);
    assert.match(findings[0].message, /^os\.closerange\(\) \(its caller's 'keep' spares at most stdin, stdout and stderr\) closes every descriptor in a forked child after os\.fork\(\) at line 21/);
    assert.deepEqual(steps(s, findings[0]), [
      'stationd/cmd/scheduler.py:15 called here',
      'stationd/cmd/scheduler.py:10 entered here by with: runs Detacher.__enter__ (Detacher.begin)',
      'stationd/platform.py:21 fork here (os.fork()); the child keeps running',
      'stationd/platform.py:25 called here',
      'stationd/platform.py:12 fds closed here (os.closerange())',
    ]);
  });

  test('silent when the caller keeps more than the standard streams', () => {
    const s = load('py-detach-context-keep');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('a #! script without an extension', () => {
  test('is a program entry run as __main__, with no module name: importing its name finds nothing', () => {
    const sources: Record<string, string> = {
      '/ws/bin/nightly': '#!/usr/bin/env python3\nimport os\nimport jobs\njobs.start()\nif os.fork() == 0:\n    os._exit(0)\n',
      '/ws/bin/jobs.py': 'import threading\n\n\ndef start():\n    threading.Thread(target=print).start()\n',
      '/ws/bin/other.py': 'import nightly\n',
    };
    const files = Object.entries(sources).map(([p, text]) => analyzeText(p, text)!);
    assert.deepEqual(files.map((f) => f.language), ['python', 'python', 'python']);
    const model = pythonModel({ files, roots: ['/ws'], projectFiles: [], config: DEFAULT_CONFIG });
    const roots = model.programs.map((p) => `${p.root.kind} ${p.root.module.path} ${p.root.asMain}: ${[...p.modules].map((m) => m.path).sort().join(' ')}`);
    assert.deepEqual(roots, ['script /ws/bin/nightly true: /ws/bin/jobs.py /ws/bin/nightly', 'library /ws/bin/other.py false: /ws/bin/other.py']);
    const { findings } = evaluate(files, DEFAULT_CONFIG, { roots: ['/ws'], projectFiles: [] });
    assert.deepEqual(findings.filter((f) => RULE_IDS.has(f.ruleId)).map((f) => `${f.ruleId} ${f.path}:${f.range.start.line + 1}`), ['fork-in-threaded-program /ws/bin/nightly:5']);
  });
});

describe('py-logfile-keepfd: a log handler attached before a daemonizer that keeps only the listener', () => {
  test('the close loop and the handler are both reported, each naming the other', () => {
    const s = load('py-logfile-keepfd');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)).sort(), ['cached-fd-across-fork relay/__main__.py:9', 'close-all-fds-without-exec relay/server.py:16']);
    const cache = findings.find((f) => f.ruleId === 'cached-fd-across-fork')!;
    const close = findings.find((f) => f.ruleId === 'close-all-fds-without-exec')!;
    assert.equal(cache.severity, 'error');
    assert.equal(
      cache.message,
      "Logging handler 'handler' (log file), registered on a logger, from logging.FileHandler() is created before the fork by os.fork() at server.py:13, and the child closes every descriptor at server.py:16: the cached number goes stale and a later open reuses it",
    );
    assert.deepEqual(steps(s, cache), [
      'relay/__main__.py:16 called here',
      'relay/__main__.py:9 descriptor cached here (logging.FileHandler())',
      'relay/__main__.py:12 called here (Relay.serve)',
      'relay/server.py:25 called here',
      'relay/server.py:13 fork here (os.fork()); the child keeps running',
      'relay/server.py:16 fds closed here (os.close() in a loop), the cached one included',
    ]);
    assert.equal(
      close.message,
      "os.close() in a loop (its caller's 'keepfd' spares only 'listener') closes every descriptor in a forked child after os.fork() at line 13 that keeps running without exec; it destroys the descriptor cached at __main__.py:9",
    );
    assert.deepEqual(steps(s, close), [
      'relay/__main__.py:16 called here',
      'relay/__main__.py:12 called here (Relay.serve)',
      'relay/server.py:25 called here',
      'relay/server.py:13 fork here (os.fork()); the child keeps running',
      'relay/server.py:16 fds closed here (os.close() in a loop)',
      'relay/__main__.py:9 descriptor cached here (logging.FileHandler()) is closed by it',
    ]);
  });

  test('silent when the keep-list is built from the logger\'s handlers', () => {
    const s = load('py-logfile-keepfd-keep');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-daemon-flag: a server detaches only when made with detach=True; the console builds it with False', () => {
  test('silent: the console\'s log file is attached before the background fork, but the close-all is in the detach branch LogServer(False) never takes', () => {
    const s = load('py-daemon-flag');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('only the programs whose first replay met a fork with a thread or a cached descriptor are replayed again with their paths kept apart', () => {
    const s = load('py-daemon-flag');
    const model = pythonModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    // Its one program (logd/__main__.py) meets the background fork with the console's handler cached.
    assert.deepEqual([model.stats.programs, model.stats.pathReplays], [1, 1]);
    // Three programs; only main.py's meets a fork while a thread runs.
    const computed = load('py-computed-import');
    const stats = pythonModel({ files: computed.files, roots: [computed.dir], projectFiles: computed.projectFiles, config: DEFAULT_CONFIG }).stats;
    assert.deepEqual([stats.programs, stats.pathReplays], [3, 1]);
    // A heartbeat program forks nothing: replayed once.
    const heartbeat = load('py-heartbeat-apache');
    assert.equal(pythonModel({ files: heartbeat.files, roots: [heartbeat.dir], projectFiles: heartbeat.projectFiles, config: DEFAULT_CONFIG }).stats.pathReplays, 0);
  });

  test('the same program with the foreground server made with detach=True: the console\'s handler is reported through the detach branch', () => {
    const s = edited(load('py-daemon-flag'), 'logd/console.py', (t) => t.replace('Launcher.start_direct(self.conf, False)', 'Launcher.start_direct(self.conf, True)'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)).sort(), ['cached-fd-across-fork logd/console.py:14', 'close-all-fds-without-exec logd/server.py:28']);
    const cache = findings.find((f) => f.ruleId === 'cached-fd-across-fork')!;
    assert.deepEqual(steps(s, cache), [
      'logd/__main__.py:11 called here',
      'logd/__main__.py:7 called here (Console.main_loop)',
      'logd/console.py:14 descriptor cached here (logging.handlers.WatchedFileHandler())',
      'logd/console.py:24 called here',
      'logd/console.py:25 called here',
      'logd/console.py:19 called here',
      'logd/launcher.py:18 fork here (os.fork()); the child keeps running',
      'logd/server.py:28 fds closed here (os.closerange()), the cached one included',
      'logd/server.py:19 opened after the close-all: may be given the cached number (logging.handlers.RotatingFileHandler())',
    ]);
  });
});

describe('py-daemon-flag-eager: the server attaches its log file, then detaches when made with detach=True', () => {
  test('the handler is reported through the background start (a detaching server); the foreground start (detach=False) is no part of the chain', () => {
    const s = load('py-daemon-flag-eager');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)).sort(), ['cached-fd-across-fork logd/server.py:20', 'close-all-fds-without-exec logd/server.py:29']);
    const cache = findings.find((f) => f.ruleId === 'cached-fd-across-fork')!;
    assert.equal(
      cache.message,
      "Logging handler 'handler' (log file), registered on a logger, from logging.handlers.RotatingFileHandler() is created before the fork by os.fork() at line 24, and the child closes every descriptor at line 29: the cached number goes stale and a later open reuses it",
    );
    assert.deepEqual(steps(s, cache), [
      'logd/__main__.py:11 called here',
      'logd/__main__.py:7 called here (Console.main_loop)',
      'logd/console.py:21 called here',
      'logd/console.py:12 called here',
      'logd/launcher.py:10 called here',
      'logd/server.py:20 descriptor cached here (logging.handlers.RotatingFileHandler())',
      'logd/server.py:14 called here',
      'logd/server.py:16 called here',
      'logd/server.py:24 fork here (os.fork()); the child keeps running',
      'logd/server.py:29 fds closed here (os.closerange()), the cached one included',
    ]);
    const close = findings.find((f) => f.ruleId === 'close-all-fds-without-exec')!;
    assert.deepEqual(steps(s, close), [
      'logd/__main__.py:11 called here',
      'logd/__main__.py:7 called here (Console.main_loop)',
      'logd/console.py:21 called here',
      'logd/console.py:12 called here',
      'logd/launcher.py:10 called here',
      'logd/server.py:16 called here',
      'logd/server.py:27 fork here (os.fork()); the child keeps running',
      'logd/server.py:29 fds closed here (os.closerange())',
      'logd/server.py:20 descriptor cached here (logging.handlers.RotatingFileHandler()) is closed by it',
    ]);
  });

  test('with only foreground starts (detach=False), nothing detaches: silent', () => {
    const s = edited(load('py-daemon-flag-eager'), 'logd/console.py', (t) => t.replace('Launcher.start_direct(self.conf)\n', 'Launcher.start_direct(self.conf, detach=False)\n'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-daemon-flag-commands: two start commands read the same configured mode; the foreground one starts a thread, the background one forks', () => {
  test('silent: nothing stores the mode between the two reads, so one run takes one mode and the thread never meets the fork', () => {
    const s = load('py-daemon-flag-commands');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('a command that stores the mode between them makes the foreground thread and the background fork meet: reported', () => {
    const s = edited(load('py-daemon-flag-commands'), 'ctl/client.py', (t) => t.replace('            self.process(cmd)', '            self.conf["background"] = cmd.endswith("-b")\n            self.process("start")'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program ctl/client.py:20']);
    assert.deepEqual(steps(s, findings[0]), [
      'ctl/__main__.py:13 called here',
      'ctl/__main__.py:9 called here (Client.run)',
      'ctl/client.py:25 thread started here (threading.Thread.start())',
      'ctl/client.py:30 called here',
      'ctl/client.py:35 called here',
      'ctl/client.py:41 called here',
      'ctl/client.py:20 fork here (os.fork())',
    ]);
  });
});

/** The scenario with one file's text replaced (analysed again, as an edit would). */
function edited(s: Scenario, suffix: string, change: (text: string) => string): Scenario {
  const file = s.files.find((f) => f.path.endsWith(suffix))!;
  const text = change(readFileSync(join(ROOT, file.path), 'utf8'));
  const again = analyzeText(file.path, text)!;
  return { ...s, files: s.files.map((f) => (f === file ? again : f)) };
}

describe('py-probe-pool: checks loaded by computed name run over tuples on a thread pool; one queues commands on a library scanner that starts processes', () => {
  const change = (s: Scenario, suffix: string, from: string, to: string) =>
    edited(s, suffix, (t) => {
      assert.ok(t.includes(from), `${suffix} does not contain ${from}`);
      return t.replace(from, to);
    });

  test('the queued command is a fork on a pool thread: the chain names the pool, the worker function and the factory-made scanner', () => {
    const s = load('py-probe-pool');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program checks/tls.py:16']);
    const [f] = findings;
    assert.equal(
      f.message,
      'sslyze.concurrent_scanner.ConcurrentScanner.queue_scan_command() forks (start method "fork", the Linux default before Python 3.14) in a program that has already started a thread (concurrent.futures.ThreadPoolExecutor.map() at ../probe:24): the child inherits locks other threads held and can deadlock',
    );
    assert.deepEqual(steps(s, f), [
      'probe:33 called here',
      'probe:28 called here',
      'probe:24 thread started here (concurrent.futures.ThreadPoolExecutor.map())',
      "probe:24 runs sweep.one on the pool's worker threads here",
      'probe:19 called here (probe)',
      'checks/tls.py:25 called here',
      'checks/tls.py:19 called here',
      'checks/tls.py:16 fork here (sslyze.concurrent_scanner.ConcurrentScanner.queue_scan_command())',
    ]);
  });

  test('silent when the entry script sets the forkserver start method first', () => {
    const s = change(load('py-probe-pool'), 'probe', 'if __name__ == "__main__":\n', 'if __name__ == "__main__":\n    import multiprocessing\n    multiprocessing.set_start_method("forkserver")\n');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('silent when the checks run one after another on the main thread', () => {
    const s = change(load('py-probe-pool'), 'probe', 'list(pool.map(one, jobs))', 'list(map(one, jobs))');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('silent when the factory only makes the synchronous scanner', () => {
    const s = change(load('py-probe-pool'), 'tls.py', 'scanner = ConcurrentScanner()', 'scanner = SynchronousScanner()');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-job-class-attribute: a class kept in a class attribute, a generic base, a classmethod that makes the jobs', () => {
  test('the process pool of Job._write_all is reported, reached through Dataset.job_class.plan() and job.process()', () => {
    const s = load('py-job-class-attribute');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program pipeline/jobs.py:28']);
    const [f] = findings;
    assert.match(f.message, /^concurrent\.futures\.ProcessPoolExecutor\(\) forks \(start method "fork", the Linux default before Python 3\.14\) in a program that has already started a thread \(concurrent\.futures\.ThreadPoolExecutor\.submit\(\) at line 24\)/);
    assert.deepEqual(steps(s, f), [
      'main.py:6 object created here; its methods may run later',
      'pipeline/base.py:13 called here',
      'pipeline/jobs.py:20 object created here; its methods may run later',
      'pipeline/jobs.py:24 thread started here (concurrent.futures.ThreadPoolExecutor.submit())',
      'pipeline/jobs.py:25 called here',
      'pipeline/jobs.py:28 fork here (concurrent.futures.ProcessPoolExecutor())',
    ]);
  });

  test('silent when the entry module sets the spawn start method at import', () => {
    const s = edited(load('py-job-class-attribute'), 'main.py', (t) => t.replace('import sys\n', 'import multiprocessing\nimport sys\n\nmultiprocessing.set_start_method("spawn", force=True)\n'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-pytest-session: one test leaves a thread running, a later test module forks', () => {
  test('the fork in test_beta.py is reported with the test that started the thread', () => {
    const s = load('py-pytest-session');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program tests/test_beta.py:11']);
    assert.deepEqual(steps(s, findings[0]), [
      'tests/test_alpha.py:11 thread started here (threading.Thread.start())',
      'tests/test_alpha.py:9 pytest runs test_watcher_starts here',
      'tests/test_beta.py:16 pytest runs test_worker_exits_cleanly here',
      'tests/test_beta.py:17 called here',
      'tests/test_beta.py:11 fork here (multiprocessing.Process.start())',
    ]);
    const model = pythonModel({ files: s.files, roots: [s.dir], projectFiles: [], config: DEFAULT_CONFIG });
    const session = model.programs.find((p) => p.root.kind === 'tests')!;
    assert.deepEqual(
      [...session.root.session!.conftests, ...session.root.session!.tests].map((m) => relative(s.dir, join(ROOT, m.path))),
      ['tests/conftest.py', 'tests/test_alpha.py', 'tests/test_beta.py'],
    );
  });

  test('silent when conftest.py sets the forkserver start method', () => {
    const s = edited(load('py-pytest-session'), 'conftest.py', (t) => t.replace('import pytest\n', 'import multiprocessing\n\nimport pytest\n\nmultiprocessing.set_start_method("forkserver")\n'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-singleton-telemetry: a tracing thread started through a classmethod singleton, then a process pool', () => {
  test('the pool in Runner.run is reported through Tracing.get().initialize()', () => {
    const s = load('py-singleton-telemetry');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program evals/runner.py:17']);
    assert.deepEqual(steps(s, findings[0]), [
      'main.py:14 called here',
      'main.py:9 called here (Runner.run)',
      'evals/tracing.py:19 thread started here (threading.Thread.start())',
      'evals/runner.py:16 called here (Tracing.initialize)',
      'evals/runner.py:17 fork here (concurrent.futures.ProcessPoolExecutor())',
    ]);
  });

  test('silent when the pool is given a spawn context', () => {
    const s = edited(load('py-singleton-telemetry'), 'runner.py', (t) =>
      t.replace('from concurrent.futures', 'import multiprocessing\nfrom concurrent.futures').replace('max_workers=self.workers)', 'max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))'),
    );
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-computed-import: job modules loaded by importlib.import_module("jobs." + name)', () => {
  test('a thread one job module starts at import is running when another job module forks', () => {
    const s = load('py-computed-import');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program jobs/compact.py:6']);
    assert.deepEqual(steps(s, findings[0]), [
      'main.py:14 called here',
      'jobs/mirror.py:13 thread started here (threading.Thread.start())',
      'main.py:8 imported here by a computed name',
      'main.py:9 called here (run)',
      'jobs/compact.py:6 fork here (os.fork())',
    ]);
  });

  test('silent when no job module starts a thread at import', () => {
    const s = edited(load('py-computed-import'), 'mirror.py', (t) => t.replace('threading.Thread(target=_upload_forever, daemon=True).start()\n', ''));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('a name with no constant module beginning is not followed', () => {
    const s = edited(load('py-computed-import'), 'main.py', (t) => t.replace('"jobs." + name', 'name'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-plugin-lookup: plugin classes looked up with getattr on modules imported by computed name', () => {
  const serverd = (s: Scenario, from: string, to: string) => edited(s, 'serverd.py', (t) => t.replace(from, to));

  test('a plugin whose base class starts its thread in __init__ is running when the server detaches', () => {
    const s = load('py-plugin-lookup');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program serverd.py:22']);
    assert.match(findings[0].message, /threading\.Thread subclass QueuedPlugin\.start\(\) at core\/plugin\.py:19/);
    assert.deepEqual(steps(s, findings[0]), [
      'serverd.py:39 called here',
      'core/plugin.py:19 thread started here (threading.Thread subclass QueuedPlugin.start())',
      'plugins/archive.py:7 called here',
      'serverd.py:19 instantiated here: getattr(module, name.capitalize()) may give the class Archive of plugins.archive, which runs Archive.__init__',
      'serverd.py:11 called here',
      'serverd.py:32 called here',
      'serverd.py:33 called here (Server.detach)',
      'serverd.py:22 fork here (os.fork())',
    ]);
  });

  test('silent when the plugin threads start only after the server detached', () => {
    const s = edited(load('py-plugin-lookup'), 'plugin.py', (t) => t.replace('        self.start()\n', '').replace('    def run(self):', '    def ready(self):\n        self.start()\n\n    def run(self):'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('__import__ of the dotted name, then getattr for the module and again for its class (the package\'s attribute)', () => {
    const s = serverd(load('py-plugin-lookup'), 'importlib.import_module("plugins." + name)', 'getattr(__import__("plugins.%s" % name), name)');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program serverd.py:22']);
    assert.ok(steps(s, findings[0]).includes('serverd.py:19 instantiated here: getattr(module, name.capitalize()) may give the class Archive of plugins.archive, which runs Archive.__init__'));
  });

  test('a literal member name runs that member only', () => {
    const quiet = serverd(load('py-plugin-lookup'), 'name.capitalize()', '"Motd"');
    assert.deepEqual(run(quiet).map((f) => at(quiet, f)), []);
    const loud = serverd(load('py-plugin-lookup'), 'name.capitalize()', '"Archive"');
    assert.deepEqual(run(loud).map((f) => at(loud, f)), ['fork-in-threaded-program serverd.py:22']);
  });

  test('a name made from anything else may be any class or function the candidate modules define', () => {
    const s = serverd(load('py-plugin-lookup'), 'name.capitalize()', 'self.default_class');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program serverd.py:22']);
    assert.ok(steps(s, findings[0]).includes('serverd.py:19 instantiated here: getattr(module, self.default_class) may give the class Archive of plugins.archive, which runs Archive.__init__'));
  });

  test('a lookup on anything but a module imported by computed name is not followed', () => {
    const onSelf = serverd(load('py-plugin-lookup'), 'getattr(module, name.capitalize())', 'getattr(self, "make_" + name)');
    assert.deepEqual(run(onSelf).map((f) => at(onSelf, f)), []);
    const noPrefix = serverd(load('py-plugin-lookup'), 'importlib.import_module("plugins." + name)', 'importlib.import_module(name)');
    assert.deepEqual(run(noPrefix).map((f) => at(noPrefix, f)), []);
  });
});

describe('py-at-fork-reset-elsewhere: at-fork handlers registered in another module reset the caches and the pool', () => {
  test('only the journal, whose handler runs in the parent, is reported', () => {
    const s = load('py-at-fork-reset-elsewhere');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['cached-fd-across-fork relay/journal.py:3']);
    assert.deepEqual(steps(s, findings[0]), [
      'relay/journal.py:3 descriptor cached here (open())',
      'relay/hooks.py:4 imported from here',
      'worker.py:6 imported from here',
      'worker.py:26 called here',
      'worker.py:20 fork here (os.fork()); the child keeps running',
    ]);
  });

  test('with every handler moved to the parent, the trace, the beacon and the pool are reported too', () => {
    const toParent = (t: string) => t.replaceAll('after_in_child=', 'after_in_parent=');
    const s = edited(edited(load('py-at-fork-reset-elsewhere'), 'hooks.py', toParent), 'spools.py', toParent);
    // beacon.py:9, not :3: the call in `lambda: beacon.reconnect()` is replayed where the lambda
    // is written, so reconnect()'s socket is the last one created before the fork.
    assert.deepEqual(run(s).map((f) => at(s, f)), [
      'cached-fd-across-fork relay/beacon.py:9',
      'cached-fd-across-fork relay/journal.py:3',
      'cached-fd-across-fork relay/spools.py:22',
      'cached-fd-across-fork relay/trace.py:3',
    ]);
  });
});

describe('py-pytest-mocked-fork: tests that replace os.fork with a mock reach no fork', () => {
  test('only the child runner, whose test forks for real, is reported', () => {
    const s = load('py-pytest-mocked-fork');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/children.py:6']);
    assert.deepEqual(steps(s, findings[0]), [
      'tests/test_a_watcher.py:11 thread started here (threading.Thread.start())',
      'tests/test_a_watcher.py:9 pytest runs test_watcher_starts here',
      'tests/test_b_daemon.py:23 pytest runs test_job_runs_in_child here',
      'tests/test_b_daemon.py:24 called here',
      'svc/children.py:6 fork here (os.fork())',
    ]);
  });

  test('without the patches the daemonizer, which runs first, is reported', () => {
    const s = edited(load('py-pytest-mocked-fork'), 'test_b_daemon.py', (t) => t.replace('"os.fork"', '"os.getpid"').replace('(os, "fork"', '(os, "getpid"'));
    assert.deepEqual(run(s).map((f) => at(s, f)), ['fork-in-threaded-program svc/daemon.py:6']);
  });
});

describe('py-bench-mocked-method: a method patched on an instance a factory made does not run', () => {
  test('the stubbed job runner starts no thread, so the later fork is alone', () => {
    const s = load('py-bench-mocked-method');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('without the patch the job runner\'s pool thread reaches the fork', () => {
    const s = edited(load('py-bench-mocked-method'), 'run_bench.py', (t) => t.replace('    with mock.patch.object(worker, "run_job", side_effect=stub):', '    if stub:'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/supervisor.py:7']);
    assert.equal(steps(s, findings[0])[1], 'svc/worker.py:12 thread started here (.run_in_executor())');
  });
});

describe('py-bench-stream-kind: a kind test on a value a stand-in gave takes only the matching branch', () => {
  test('the stand-in gives an async generator: the pool-draining branch does not run, the later fork is alone', () => {
    const s = load('py-bench-stream-kind');
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });

  test('a stand-in giving a plain generator drains it on the pool thread, which reaches the fork', () => {
    const s = edited(load('py-bench-stream-kind'), 'run_bench.py', (t) => t.replace('    async def pieces():', '    def pieces():'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/supervisor.py:7']);
    assert.deepEqual(steps(s, findings[0]), [
      'bench/run_bench.py:33 called here',
      'svc/streamer.py:26 thread started here (.run_in_executor())',
      'svc/streamer.py:17 called here',
      'bench/run_bench.py:24 called here (Streamer.answer)',
      'bench/run_bench.py:28 called here',
      'bench/run_bench.py:29 called here (Supervisor.spawn)',
      'svc/supervisor.py:7 fork here (os.fork())',
    ]);
  });

  test('a stand-in whose value is unknown takes every branch', () => {
    const s = edited(load('py-bench-stream-kind'), 'run_bench.py', (t) => t.replace('        return pieces()', '        return name'));
    assert.deepEqual(run(s).map((f) => at(s, f)), ['fork-in-threaded-program svc/supervisor.py:7']);
  });
});

describe('py-pytest-idle-threads: threads a test ends, and forks a test never makes, do not reach later forks', () => {
  test('only the real fork after the heartbeat thread is reported, with that thread', () => {
    const s = load('py-pytest-idle-threads');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/children.py:6']);
    assert.deepEqual(steps(s, findings[0]), [
      'tests/test_c_heartbeat.py:13 thread started here (threading.Thread.start())',
      'tests/test_c_heartbeat.py:11 pytest runs test_heartbeat_starts here',
      'tests/test_e_child.py:5 pytest runs test_job_runs_in_child here',
      'tests/test_e_child.py:6 called here',
      'svc/children.py:6 fork here (os.fork())',
    ]);
  });

  test('an awaited offload whose pool is never shut down leaves its worker running', () => {
    const s = edited(load('py-pytest-idle-threads'), 'test_a_offload.py', (t) => t.replace('off.close()', 'pass'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/children.py:6']);
    assert.equal(steps(s, findings[0])[0], 'svc/offload.py:11 thread started here (.run_in_executor())');
  });

  test('threads kept in a list but joined only on one branch stay running', () => {
    const s = edited(load('py-pytest-idle-threads'), 'test_b_fanout.py', (t) => t.replace('    for w in workers:\n        w.join()', '    if results:\n        for w in workers:\n            w.join()'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program svc/children.py:6']);
    assert.equal(steps(s, findings[0])[0], 'tests/test_b_fanout.py:15 thread started here (threading.Thread.start())');
  });

  test('without the patch, the manager test forks for real after the heartbeat thread', () => {
    const s = edited(load('py-pytest-idle-threads'), 'test_d_manager.py', (t) => t.replace('@mock.patch("svc.manager.Manager.fork_child")\n', ''));
    assert.deepEqual(run(s).map((f) => at(s, f)), ['fork-in-threaded-program svc/children.py:6', 'fork-in-threaded-program svc/manager.py:15']);
  });
});

describe('py-launcher-console-thread: a factory method hands out a Thread subclass whose own start() starts nothing', () => {
  test('the daemonizing fork is reported after the settings thread the console starts', () => {
    const s = load('py-launcher-console-thread');
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['fork-in-threaded-program relay/daemon.py:15']);
    assert.deepEqual(steps(s, findings[0]), [
      'main.py:12 called here',
      'main.py:8 called here',
      'relay/console.py:15 thread started here (threading.Thread.start())',
      'relay/launcher.py:16 called here (Console.send_settings_async)',
      'relay/launcher.py:17 called here',
      'relay/daemon.py:11 called here',
      'relay/daemon.py:15 fork here (os.fork())',
    ]);
  });

  test("silent when no settings thread is started: Console.start(argv) is the class's own method, not Thread.start", () => {
    const s = edited(load('py-launcher-console-thread'), 'launcher.py', (t) => t.replace('        console.send_settings_async()\n', ''));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});
