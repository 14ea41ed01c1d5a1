/**
 * Multi-file C scenarios (test/fixtures/programs/c-*): the program model connects a thread
 * start in one file with a fork in another, keeps "daemonize, then start threads" silent,
 * lets compile_commands.json split programs, and links a cached descriptor in a library
 * file with a daemonizer in another. Findings are asserted with their files, lines and
 * evidence chains.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG, type HazardLensConfig } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import { cModel, type CModel } from '../../server/src/model/c';
import { threadOrdering } from '../../server/src/model/c-child';
import type { ProjectFile } from '../../server/src/model/program-context';
import type { FileAnalysis, Finding } from '../../server/src/analysis/results';
import { grammarsReady } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');
const C_RULES = new Set(['fork-in-threaded-program', 'unsafe-call-in-fork-child', 'cached-fd-across-fork', 'close-all-fds-without-exec', 'fd-without-cloexec']);

before(async () => {
  await grammarsReady();
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...filesUnder(full));
    else out.push(full);
  }
  return out;
}

/** Analyses a scenario folder as one workspace; paths are relative to the repository. */
function scan(
  scenario: string,
  options: { withCompileCommands?: boolean; config?: Partial<HazardLensConfig>; dirs?: string[]; syntaxErrorsExpected?: boolean } = {},
): { findings: Finding[]; rel: (f: string) => string; neighbours: (f: string) => string[]; model: () => CModel } {
  const dir = join(PROGRAMS, scenario);
  const analyses: FileAnalysis[] = [];
  const projectFiles: ProjectFile[] = [];
  for (const file of (options.dirs ?? [dir]).flatMap(filesUnder)) {
    const rel = relative(ROOT, file);
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('compile_commands.json')) {
      if (options.withCompileCommands !== false) projectFiles.push({ path: rel, text });
      continue;
    }
    const a = analyzeText(rel, text);
    if (!a) continue;
    assert.deepEqual(a.notes, [], `${rel}: analysis notes`);
    if (!options.syntaxErrorsExpected) assert.deepEqual(a.syntaxErrors, [], `${rel}: syntax errors`);
    analyses.push(a);
  }
  const config = { ...DEFAULT_CONFIG, ...options.config };
  const evaluation = evaluate(analyses, config, { roots: options.dirs ?? [dir], projectFiles });
  assert.deepEqual(evaluation.notes, [], 'rule failures');
  const rel = (f: string) => relative(ROOT, join(dir, f));
  // The files that share a fork- or exec-holding program with `f` (itself included).
  const neighbours = (f: string) => {
    const model = cModel({ files: analyses, roots: [dir], projectFiles, config });
    const file = model.files.find((x) => x.path === rel(f));
    if (!file) return [];
    const out = new Set<string>([rel(f)]);
    for (const program of model.programsOf(file)) for (const x of program.files) out.add(x.path);
    return [...out].sort();
  };
  const model = () => cModel({ files: analyses, roots: [dir], projectFiles, config });
  return { findings: evaluation.findings.filter((f) => C_RULES.has(f.ruleId)), rel, neighbours, model };
}

/** `file:line` (1-based) of a finding or a related location. */
function at(x: { path: string; range: { start: { line: number } } }): string {
  return `${x.path}:${x.range.start.line + 1}`;
}

function summary(findings: Finding[]): string[] {
  return findings.map((f) => `${f.ruleId} ${at(f)}`).sort();
}

describe('C program model', () => {
  test('incident 1: threads started in jobs.c, fork and closelog() in bpipe.c', () => {
    const { findings, rel } = scan('c-bpipe-threads');
    assert.deepEqual(summary(findings), [
      `fd-without-cloexec ${rel('bpipe.c')}:10`,
      `fork-in-threaded-program ${rel('bpipe.c')}:12`,
      `unsafe-call-in-fork-child ${rel('bpipe.c')}:16`,
    ]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.equal(unsafe.severity, 'error');
    assert.match(unsafe.message, /^closelog\(\) runs in the child of the fork\(\)/);
    assert.deepEqual(
      unsafe.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('jobs.c')}:23 thread started here by pthread_create(); it runs job_thread()`,
        `${rel('jobs.c')}:16 send_alert() is called here on the job_thread() thread`,
        `${rel('alert.c')}:11 send_alert() runs on the job_thread() thread and calls open_bpipe() here`,
        `${rel('bpipe.c')}:12 fork() here; the child starts below`,
        `${rel('bpipe.c')}:16 closelog() here is not async-signal-safe`,
      ],
    );
    assert.deepEqual(
      unsafe.fixes.map((f) => `${f.applicability}: ${f.title}`),
      [
        "unsafe: Remove closelog() from the child (the exec'd program opens its own syslog connection)",
        'unsafe: Move closelog() before the fork() call (it then runs in the parent)',
      ],
    );
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    assert.deepEqual(
      fork.related.map((r) => at(r)),
      [`${rel('jobs.c')}:23`, `${rel('jobs.c')}:16`, `${rel('alert.c')}:11`, `${rel('bpipe.c')}:12`],
    );
    assert.deepEqual(fork.fixes.map((f) => f.applicability), ['display-only']);
    const cloexec = findings.find((f) => f.ruleId === 'fd-without-cloexec')!;
    assert.deepEqual(
      cloexec.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('bpipe.c')}:10 descriptor created here by pipe()`,
        `${rel('bpipe.c')}:12 the program forks here (fork()); a child that execs inherits the descriptor`,
      ],
    );
  });

  test('daemonize, then start threads: nothing fires', () => {
    const { findings } = scan('c-daemonize-then-threads');
    assert.deepEqual(summary(findings), []);
  });

  test('assumeMultithreaded raises a single-threaded child to an error', () => {
    const { findings, rel } = scan('c-two-programs', { config: { assumeMultithreaded: true } });
    const unsafe = findings.filter((f) => f.ruleId === 'unsafe-call-in-fork-child');
    assert.deepEqual(unsafe.map((f) => `${at(f)} ${f.severity}`), [`${rel('tool/editor.c')}:8 error`]);
  });

  test('compile_commands.json splits programs: the server thread does not taint the tool', () => {
    const split = scan('c-two-programs');
    // What a language server re-evaluates when a file changes: the files of its programs.
    assert.deepEqual(split.neighbours('tool/editor.c'), [split.rel('tool/editor.c'), split.rel('tool/tool.c')]);
    assert.deepEqual(split.neighbours('server/logging.c'), [split.rel('server/logging.c')]);
    assert.deepEqual(summary(split.findings), [`unsafe-call-in-fork-child ${split.rel('tool/editor.c')}:8`]);
    assert.equal(split.findings[0].severity, 'warning');
    assert.deepEqual(split.findings[0].related.map((r) => at(r)), [`${split.rel('tool/editor.c')}:6`, `${split.rel('tool/editor.c')}:8`]);

    // Without the compile commands, the tool's init_logging() resolves to the server's.
    const merged = scan('c-two-programs', { withCompileCommands: false });
    assert.deepEqual(summary(merged.findings), [
      `fork-in-threaded-program ${merged.rel('tool/editor.c')}:6`,
      `unsafe-call-in-fork-child ${merged.rel('tool/editor.c')}:8`,
    ]);
    const unsafe = merged.findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.equal(unsafe.severity, 'error');
    assert.equal(at(unsafe.related[0]), `${merged.rel('server/logging.c')}:11`);
  });

  test('incident 2: a cached /dev/urandom fd in rng.c and a daemonizer that closes every fd in detach.c', () => {
    const { findings, rel } = scan('c-static-fd-daemon');
    assert.deepEqual(summary(findings), [
      `cached-fd-across-fork ${rel('rng.c')}:12`,
      `close-all-fds-without-exec ${rel('detach.c')}:14`,
    ]);
    const cached = findings.find((f) => f.ruleId === 'cached-fd-across-fork')!;
    // The child closes every descriptor, so the reuse is certain: an error, as on the Python side.
    assert.equal(cached.severity, 'error');
    assert.match(cached.message, /\(fork\(\) at detach\.c:7\)/);
    assert.deepEqual(
      cached.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('rng.c')}:12 descriptor cached in 'urandom_fd' here`,
        `${rel('main.c')}:12 rng_bytes() is called here and fills the cache`,
        `${rel('main.c')}:13 detach() is called here, after the descriptor may have been cached`,
        `${rel('detach.c')}:7 fork() here; the child keeps running with the cached descriptor`,
        `${rel('detach.c')}:14 descriptors closed here in the child, the cached one included; its number is free for the next open`,
      ],
    );
    assert.deepEqual(cached.fixes.map((f) => f.applicability), ['unsafe', 'display-only']);
    const closeAll = findings.find((f) => f.ruleId === 'close-all-fds-without-exec')!;
    assert.deepEqual(
      closeAll.related.map((r) => at(r)),
      [`${rel('detach.c')}:7`, `${rel('detach.c')}:14`, `${rel('rng.c')}:12`, `${rel('main.c')}:14`],
    );
  });

  test('a child that closes every descriptor through a helper in another file, then execs through a search helper and exits when it returns, is silent; a job child sharing that helper is reported', () => {
    const scenario = join(PROGRAMS, 'c-spawn-close-then-exec');
    // Without the job runner: close_from()'s close_range() is followed in launch()'s child by
    // exec_search() (execv on its normal path, -1 when nothing ran) and fail_child() (_exit).
    const launcherOnly = scan('c-spawn-close-then-exec', { dirs: [join(scenario, 'lib'), join(scenario, 'launcher')] });
    assert.deepEqual(summary(launcherOnly.findings), []);
    const { findings, rel } = scan('c-spawn-close-then-exec');
    assert.deepEqual(summary(findings), [`close-all-fds-without-exec ${rel('lib/fdutil.c')}:18`]);
    const closeAll = findings[0];
    assert.match(closeAll.message, /\(fork\(\) at jobs\.c:29\)/);
    // The descriptor that takes a freed number is the job's output file, not the open() of
    // close_from()'s own fallback, which runs only when close_range() failed.
    assert.deepEqual(
      closeAll.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('jobs/jobs.c')}:29 fork() here; the child keeps running the program`,
        `${rel('jobs/jobs.c')}:32 close_from() is called in the child here`,
        `${rel('lib/fdutil.c')}:18 descriptors closed here; the child goes on without exec`,
        `${rel('launcher/main.c')}:12 openlog() here makes the library cache syslog's socket to /dev/log; the close-all frees its number`,
        `${rel('launcher/main.c')}:13 syslog() here makes the library cache syslog's socket to /dev/log; the close-all frees its number`,
        `${rel('jobs/jobs.c')}:18 open() here gets one of the freed numbers`,
      ],
    );
  });

  test('examples: the incident reproductions report their chains, the corrected versions nothing', () => {
    const examples = join(ROOT, 'examples');
    const { findings } = scan('', { dirs: [join(examples, 'c-bpipe-fork'), join(examples, 'c-static-fd-daemon')] });
    assert.deepEqual(summary(findings), [
      'cached-fd-across-fork examples/c-static-fd-daemon/incident/uuid.c:13',
      'close-all-fds-without-exec examples/c-static-fd-daemon/incident/detach.c:18',
      'fd-without-cloexec examples/c-bpipe-fork/incident/bpipe.c:10',
      'fork-in-threaded-program examples/c-bpipe-fork/incident/bpipe.c:12',
      'unsafe-call-in-fork-child examples/c-bpipe-fork/incident/bpipe.c:20',
    ]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.deepEqual(unsafe.related.map((r) => at(r)), [
      'examples/c-bpipe-fork/incident/jobs.c:27',
      'examples/c-bpipe-fork/incident/jobs.c:20',
      'examples/c-bpipe-fork/incident/alert.c:14',
      'examples/c-bpipe-fork/incident/bpipe.c:12',
      'examples/c-bpipe-fork/incident/bpipe.c:20',
    ]);
    const closeAll = findings.find((f) => f.ruleId === 'close-all-fds-without-exec')!;
    assert.deepEqual(closeAll.related.map((r) => at(r)), [
      'examples/c-static-fd-daemon/incident/detach.c:9',
      'examples/c-static-fd-daemon/incident/detach.c:18',
      'examples/c-static-fd-daemon/incident/uuid.c:13',
      'examples/c-static-fd-daemon/incident/detach.c:20',
    ]);
  });
});

describe('C library code (a lib… folder) is judged without its hosts', () => {
  test('a static descriptor cache in library code is reported once per cache; the re-validated one is not', () => {
    const { findings, rel } = scan('c-library-fd-cache');
    assert.deepEqual(summary(findings), [`cached-fd-across-fork ${rel('libentropy/entropy.c')}:10`]);
    assert.match(findings[0].message, /^'dev' caches a descriptor from open\(\) in a static local variable of library code, which cannot know its host/);
    assert.deepEqual(findings[0].related.map((r) => at(r)), [`${rel('libentropy/entropy.c')}:10`]);
  });

  test('the same files outside a lib… folder are part of the program only, which never forks: silent', () => {
    const { findings } = scan('c-library-fd-cache', { dirs: [join(PROGRAMS, 'c-library-fd-cache', 'libentropy')] });
    assert.deepEqual(summary(findings), []);
  });

  test('library code keeping a descriptor in per-thread static storage without close-on-exec, no host in sight', () => {
    // `PER_THREAD int seq_fd` (a storage-class macro) does not parse as a declaration on its own.
    const { findings, rel } = scan('c-fd-library-clock', { syntaxErrorsExpected: true });
    const stamp = rel('libstamp/src/stamp.c');
    assert.deepEqual(summary(findings), [`cached-fd-across-fork ${stamp}:18`, `cached-fd-across-fork ${stamp}:30`, `fd-without-cloexec ${stamp}:18`]);
    const cloexec = findings.find((f) => f.ruleId === 'fd-without-cloexec')!;
    assert.equal(cloexec.message, "open() creates a descriptor without close-on-exec and library code keeps it open in 'seq_fd', so every program its host process runs later inherits it");
    assert.deepEqual(
      cloexec.related.map((r) => `${at(r)} ${r.message}`),
      [`${stamp}:18 descriptor created here by open() and kept in 'seq_fd' (a static local); library code cannot know whether its host runs other programs`],
    );
  });

  test('a module reached only through function pointers runs in the program whose helpers it calls', () => {
    const { findings, rel } = scan('c-fd-plugin-module');
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('mod_upload.c')}:17`]);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('mod_upload.c')}:17 descriptor created here by open(); no call by name reaches this file, but it calls into the program of ${rel('server.c')} and runs in it as a module (called back through function pointers), at any time`,
        `${rel('server.c')}:16 the program runs another program here (execv()), which inherits the descriptor`,
      ],
    );
  });

  test('a file that calls a program\'s helpers but whose functions nothing stores as pointers is no module of it', () => {
    // test_read_config.c calls harness.c's expect(); harness.c's main reaches the test only
    // through a macro, and no table or field keeps run_test(): its open() is not judged there.
    const { findings } = scan('c-fd-shared-helpers');
    assert.deepEqual(summary(findings), []);
  });

  test('a test program with its own main that stores a hook and calls the server\'s helper is no module of the server', () => {
    // check_spool.c would pass as a module of server.c (it stores its function in a field and
    // calls note()), but it defines main: a program of its own, which never runs another program.
    const { findings } = scan('c-fd-test-with-own-main');
    assert.deepEqual(summary(findings), []);
  });

  test('a fork helper called from several places: the threaded callers are named, each child call of a dying helper too, a compat poll() is the C library one', () => {
    const { findings, rel } = scan('c-fork-helper-callers');
    assert.deepEqual(summary(findings), [
      `fd-without-cloexec ${rel('spawn.c')}:10`,
      `fork-in-threaded-program ${rel('spawn.c')}:12`,
      `unsafe-call-in-fork-child ${rel('report.c')}:11`,
      `unsafe-call-in-fork-child ${rel('report.c')}:11`,
      `unsafe-call-in-fork-child ${rel('report.c')}:12`,
      `unsafe-call-in-fork-child ${rel('report.c')}:13`,
    ]);
    // The chain of the fork leads with the caller that runs on a thread (finish_job() on the
    // worker() thread), then names every other call of the forking function that may run while
    // threads run (main.c:9, before the threads, is not one).
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    assert.deepEqual(
      fork.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('workers.c')}:22 thread started here by pthread_create(); it runs worker()`,
        `${rel('workers.c')}:14 finish_job() is called here on the worker() thread`,
        `${rel('workers.c')}:9 finish_job() runs on the worker() thread and calls run_piped() here`,
        `${rel('spawn.c')}:12 fork() here copies only the calling thread`,
        `${rel('main.c')}:11 run_piped() is also called here while threads may be running, in main()`,
      ],
    );
    // exit() in die_with() is reached from two calls of the child: both are named.
    const exit = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child' && f.message.startsWith('exit()'))!;
    assert.deepEqual(
      exit.related.slice(3).map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('spawn.c')}:12 fork() here; the child starts below`,
        `${rel('spawn.c')}:15 die_with() is called in the child here`,
        `${rel('report.c')}:13 exit() here is not async-signal-safe`,
        `${rel('spawn.c')}:17 die_with() is also called in the child here and reaches exit()`,
      ],
    );
    // wait_readable() calls poll(): compat.c's stand-in (which allocates) is not what Linux links.
    assert.ok(!findings.some((f) => f.path === rel('compat.c')));
  });

  test('targetPlatform: #if branches are judged for the chosen platform', () => {
    const file = join(ROOT, 'test', 'fixtures', 'rules', 'fork-in-threaded-program', 'c-platform-branches.c');
    const rel = relative(ROOT, file);
    const analysis = analyzeText(rel, readFileSync(file, 'utf8'))!;
    const forkLines = (targetPlatform: HazardLensConfig['targetPlatform']) =>
      evaluate([analysis], { ...DEFAULT_CONFIG, targetPlatform }, { roots: [dirname(file)], projectFiles: [] })
        .findings.filter((f) => f.ruleId === 'fork-in-threaded-program')
        .map((f) => f.range.start.line + 1);
    assert.deepEqual(forkLines('linux'), [59]);
    // z/OS compiles the allocation in release_fd() and not the Linux-only one.
    assert.deepEqual(forkLines('zos'), [25]);
  });

  test('a fork wrapper in another file: the caller\'s pid test gives the child, the wrapper\'s own fork is not reported', () => {
    const { findings, rel } = scan('c-fork-wrapper');
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('main.c')}:18`, `unsafe-call-in-fork-child ${rel('main.c')}:20`]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.match(unsafe.message, /^snprintf\(\) runs in the child of the counted_fork\(\) at main\.c:18 /);
    assert.deepEqual(
      unsafe.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('main.c')}:17 thread started here by pthread_create()`,
        `${rel('main.c')}:18 counted_fork() here; the child starts below`,
        `${rel('main.c')}:20 snprintf() here is not async-signal-safe`,
      ],
    );
  });

  test('the child\'s branch ends in a helper in another file that never returns: the code after the pid test is no child\'s; a helper that can return leaves it to the failed child', () => {
    const { findings, rel } = scan('c-child-helper-elsewhere');
    // spawn.c:23 (after become_worker(), which execs and then calls an exiting helper) is silent,
    // and the fork at spawn.c:12 is a clean spawn; try_worker() returns when execv() fails.
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('spawn.c')}:32`, `unsafe-call-in-fork-child ${rel('spawn.c')}:41`]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.match(unsafe.message, /^fprintf\(\) runs in the child of the fork\(\) at spawn\.c:32 /);
    assert.deepEqual(
      unsafe.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('main.c')}:15 thread started here by pthread_create()`,
        `${rel('main.c')}:18 spawn_worker_unchecked() is called here, after threads may have started`,
        `${rel('spawn.c')}:32 fork() here; the child starts below`,
        `${rel('spawn.c')}:41 fprintf() here is not async-signal-safe`,
      ],
    );
  });

  test('a failed exec that jumps to an error label: the chain names the exec, the goto and the label', () => {
    const file = join(ROOT, 'test', 'fixtures', 'rules', 'unsafe-call-in-fork-child', 'c-failed-exec-label.c');
    const rel = relative(ROOT, file);
    const analysis = analyzeText(rel, readFileSync(file, 'utf8'))!;
    const findings = evaluate([analysis], DEFAULT_CONFIG, { roots: [dirname(file)], projectFiles: [] }).findings.filter((f) => f.ruleId === 'unsafe-call-in-fork-child');
    assert.deepEqual(summary(findings), [`unsafe-call-in-fork-child ${rel}:29`, `unsafe-call-in-fork-child ${rel}:31`]);
    const perror = findings.find((f) => f.message.startsWith('perror()'))!;
    assert.match(perror.message, /^perror\(\) runs in the child of the fork\(\) at c-failed-exec-label\.c:16 when execvp\(\) fails \(at its error label exec_failed\) but is not async-signal-safe/);
    assert.deepEqual(
      perror.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel}:55 thread started here by pthread_create()`,
        `${rel}:58 launch_helper() is called here, after threads may have started`,
        `${rel}:16 fork() here; the child starts below`,
        `${rel}:22 execvp() here returns only when it fails`,
        `${rel}:23 goto exec_failed here: the child goes on at that label`,
        `${rel}:27 exec_failed: the error path the child runs`,
        `${rel}:29 perror() here is not async-signal-safe`,
      ],
    );
    assert.deepEqual(perror.fixes, []);
    const exit = findings.find((f) => f.message.startsWith('exit()'))!;
    assert.deepEqual(exit.fixes.map((f) => `${f.applicability}: ${f.title}`), ['safe: Use _exit() in the child (skips atexit handlers and stdio flushing, which belong to the parent)']);
  });

  test('a fork helper with an uncalled entry point and a caller on a worker thread: the chain leads with the thread caller', () => {
    const { findings, rel } = scan('c-fork-helper-thread-caller');
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('notify.c')}:7`, `unsafe-call-in-fork-child ${rel('notify.c')}:9`]);
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    // notify_now() (no caller) is nearer the fork, but release_unit() really runs on a thread.
    assert.deepEqual(
      fork.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('units.c')}:20 thread started here by pthread_create(); it runs unit_worker()`,
        `${rel('units.c')}:13 release_unit() is called here on the unit_worker() thread`,
        `${rel('units.c')}:8 release_unit() runs on the unit_worker() thread and calls spawn_notifier() here`,
        `${rel('notify.c')}:7 fork() here copies only the calling thread`,
        `${rel('notify.c')}:19 spawn_notifier() is also called here while threads may be running, in notify_now()`,
      ],
    );
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.deepEqual(unsafe.related.slice(0, 3), fork.related.slice(0, 3));
  });

  test('test cases defined through a macro: a thread one case starts does not make another case threaded', () => {
    const { findings, rel, model } = scan('c-test-macro-bodies');
    // The cases are functions, so the fork helper has a caller: the case that forks.
    const m = model();
    const helper = m.files.find((f) => f.path === rel('test/test-pool.c'))!.byName.get('fork_and_report')![0];
    assert.deepEqual(
      m.callers(helper).map((c) => `${c.fn.fact.name} ${c.fn.fact.definer}`),
      ['CASE_IMPL(child_reports) CASE_IMPL'],
    );
    // Each case runs first in a process of its own: the drainer started by pool_drains is not
    // running when child_reports forks. The fork is not reported, and the short child's unsafe
    // calls are judged as in a single-threaded process (warnings, with no thread in the chain).
    assert.deepEqual(summary(findings), [`unsafe-call-in-fork-child ${rel('test/test-pool.c')}:29`, `unsafe-call-in-fork-child ${rel('test/test-pool.c')}:30`]);
    for (const f of findings) {
      assert.equal(f.severity, 'warning');
      assert.match(f.message, /only safe while the process has a single thread/);
      assert.deepEqual(f.related.map((r) => at(r))[0], `${rel('test/test-pool.c')}:27`);
    }
  });

  test('a test case that starts a thread through a plain helper and then forks; a macro-defined callback outside tests', () => {
    // `SUITE_CASE(pool, fork_after_start)` is read as a call missing its `;`, then a block.
    const { findings, rel } = scan('c-test-macro-thread-then-fork', { syntaxErrorsExpected: true });
    const test = (line: number) => `${rel('test/test-pool.c')}:${line}`;
    const src = (line: number) => `${rel('src/reload.c')}:${line}`;
    assert.deepEqual(summary(findings), [
      `fork-in-threaded-program ${src(22)}`,
      `fork-in-threaded-program ${test(26)}`,
      `unsafe-call-in-fork-child ${src(23)}`,
      `unsafe-call-in-fork-child ${test(28)}`,
      `unsafe-call-in-fork-child ${test(29)}`,
    ]);
    const chain = (line: string) => findings.find((f) => f.ruleId === 'fork-in-threaded-program' && at(f) === line)!.related.map((r) => `${at(r)} ${r.message}`);
    // The case's own body starts the thread (through a plain helper) before it forks.
    assert.deepEqual(chain(test(26)), [
      `${test(18)} thread started here by pthread_create()`,
      `${test(25)} start_drainer() is called here and starts a thread`,
      `${test(26)} fork() here copies only the calling thread`,
    ]);
    // Outside a test file the macro-defined function is a callback like any other, named as written.
    assert.deepEqual(chain(src(22)), [
      `${src(18)} thread started here by pthread_create()`,
      `${src(28)} ON_SIGNAL(hup) has no known caller in this program, so it may run while threads run`,
      `${src(29)} spawn_reloader() is called here, after threads may have started`,
      `${src(22)} fork() here copies only the calling thread`,
    ]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child' && at(f) === test(28))!;
    assert.equal(unsafe.severity, 'error');
  });

  test('a fork helper run from a start-up loop and from pool threads: the chain leads with the nearest caller on a thread', () => {
    const { findings, rel, model } = scan('c-fork-helper-startup-and-pool');
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('hooks.c')}:18`, `unsafe-call-in-fork-child ${rel('hooks.c')}:20`]);
    // run_hook() starts a timer thread after its fork, and load_settings() calls it twice in a
    // loop, so a start-up route exists (one include's timer runs while the next include forks);
    // the chain leads instead with the function that runs on a pool thread and calls the helper,
    // the nearest one (close_volume(), three calls below the routine; rotate_logs() is four).
    const lead = [
      `${rel('pool.c')}:26 thread started here by pthread_create(); it runs pool_worker()`,
      `${rel('pool.c')}:18 serve_request() is called here on the pool_worker() thread`,
      `${rel('pool.c')}:11 serve_request() runs on the pool_worker() thread and calls close_volume() here`,
      `${rel('volume.c')}:7 close_volume() runs on the pool_worker() thread and calls run_hook() here`,
    ];
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    assert.deepEqual(fork.related.map((r) => `${at(r)} ${r.message}`), [
      ...lead,
      `${rel('hooks.c')}:18 fork() here copies only the calling thread`,
      `${rel('admin.c')}:6 rotate_logs() runs on the pool_worker() thread and calls run_hook() here`,
      `${rel('settings.c')}:15 run_hook() is also called here while threads may be running, in read_source()`,
    ]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.deepEqual(unsafe.related.slice(0, lead.length).map((r) => `${at(r)} ${r.message}`), lead);
    // The start-up route is still what "threads may be running here" answers, and asking twice
    // words its loop step once.
    const m = model();
    const program = m.programs()[0];
    const runHook = m.fns.find((fn) => fn.fact.name === 'run_hook')!;
    const forkCall = runHook.fact.calls.findIndex((c) => c.name === 'fork');
    const order = threadOrdering(m, program);
    const startUp = () => order.chainAt(runHook, forkCall).map((r) => `${at(r)} ${r.message}`);
    const first = startUp();
    assert.deepEqual(startUp(), first);
    assert.deepEqual(first, [
      `${rel('hooks.c')}:27 thread started here by pthread_create()`,
      `${rel('settings.c')}:15 run_hook() is called here and starts a thread`,
      `${rel('settings.c')}:25 read_source() is called here and starts a thread (later in the same loop, so an earlier iteration ran it)`,
      `${rel('settings.c')}:23 read_source() is called here, after threads may have started`,
      `${rel('settings.c')}:15 run_hook() is called here, after threads may have started`,
    ]);
  });

  test('a fork helper reached from a command table that a pool thread dispatches: the chain names the caller on that thread', () => {
    const { findings, rel } = scan('c-fork-helper-command-table');
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('alert.c')}:8`, `unsafe-call-in-fork-child ${rel('alert.c')}:10`]);
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    // The pool keeps the handler main() passes (`p->handler = handler`) and its thread calls it;
    // the handler runs a command through the table (`commands[i].run(job)`).
    assert.deepEqual(
      fork.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('pool.c')}:17 thread started here by pthread_create(); it runs pool_worker()`,
        `${rel('pool.c')}:9 serve_connection() is called here on the pool_worker() thread`,
        `${rel('commands.c')}:35 serve_connection() runs on the pool_worker() thread and calls eject_cmd() here`,
        `${rel('commands.c')}:9 eject_cmd() runs on the pool_worker() thread and calls finish_volume() here`,
        `${rel('volume.c')}:7 finish_volume() runs on the pool_worker() thread and calls run_alert() here`,
        `${rel('alert.c')}:8 fork() here copies only the calling thread`,
      ],
    );
  });

  test('a command table dispatched only before the pool starts, and one its threads dispatch without the fork helper: no fork among threads', () => {
    const { findings, rel } = scan('c-fork-helper-table-before-threads');
    assert.deepEqual(summary(findings), [`unsafe-call-in-fork-child ${rel('alert.c')}:10`]);
    assert.equal(findings[0].severity, 'warning');
  });

  test('a child whose helpers go deeper than the walk: the summaries judge them, a helper chain ending in _exit() ends the child', () => {
    const { findings, rel } = scan('c-deep-child-helpers');
    assert.deepEqual(summary(findings), [`fork-in-threaded-program ${rel('hook.c')}:9`, `unsafe-call-in-fork-child ${rel('trace.c')}:12`]);
    const unsafe = findings.find((f) => f.ruleId === 'unsafe-call-in-fork-child')!;
    assert.equal(unsafe.severity, 'error');
    assert.match(unsafe.message, /^syslog\(\) runs in the child of the fork\(\) at hook\.c:9 \(reached through apply_environment\(\) → export_setting\(\) → record_setting\(\) → trace_setting\(\) → emit_trace\(\)\)/);
    assert.deepEqual(
      unsafe.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('pollers.c')}:13 thread started here by pthread_create()`,
        `${rel('main.c')}:6 start_pollers() is called here and starts a thread`,
        `${rel('main.c')}:7 run_hook() is called here, after threads may have started`,
        `${rel('hook.c')}:9 fork() here; the child starts below`,
        `${rel('hook.c')}:11 apply_environment() is called in the child here`,
        `${rel('env.c')}:6 export_setting() is called in the child here`,
        `${rel('env.c')}:11 record_setting() is called in the child here`,
        `${rel('env.c')}:16 trace_setting() is called in the child here`,
        `${rel('trace.c')}:7 emit_trace() is called in the child here`,
        `${rel('trace.c')}:12 emit_trace() calls syslog() here, which is not async-signal-safe`,
      ],
    );
    // fprintf() after abandon_child() never runs: five calls down, leave_process() calls _exit().
    assert.ok(!findings.some((f) => f.message.startsWith('fprintf()')));
    const fork = findings.find((f) => f.ruleId === 'fork-in-threaded-program')!;
    assert.match(fork.message, /the child calls syslog\(\) before exec/);
  });

  test('the same deep helpers when they only write(): silent', () => {
    const { findings } = scan('c-deep-child-helpers-safe');
    assert.deepEqual(summary(findings), []);
  });

  test('a pre-fork server: process bodies passed to the spawn helper run where it calls them, worker descriptors never reach the exec', () => {
    const { findings, rel, model } = scan('c-prefork-server');
    // The worker's eventfd() and accept()s exist only in worker processes (a child of
    // start_child() that never execs); the upgrade body's execv() runs in a child the master
    // forks, so only what the master holds open is inherited by the new binary.
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('master.c')}:19`]);
    const status = findings[0];
    assert.deepEqual(
      status.related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('master.c')}:19 descriptor created here by open()`,
        `${rel('master.c')}:21 start_child() is called here, after the descriptor may have been created`,
        `${rel('children.c')}:19 the program forks here (fork()); a child that execs inherits the descriptor`,
      ],
    );
    // `body(srv, arg)` runs what the callers pass: the worker loop and the upgrade body.
    const m = model();
    const spawn = m.fns.find((f) => f.fact.name === 'start_child')!;
    const call = spawn.fact.calls.findIndex((c) => c.name === 'body');
    assert.deepEqual(m.resolve(spawn, call).map((f) => f.fact.name).sort(), ['upgrade_body', 'worker_main']);
  });

  test('a pre-fork worker that runs a program after accepting: the connection is inherited, with the chain inside the worker', () => {
    const { findings, rel } = scan('c-prefork-worker-runs-program');
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('server.c')}:27`]);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('server.c')}:27 descriptor created here by accept()`,
        `${rel('server.c')}:31 the program runs another program here (system()), which inherits the descriptor`,
      ],
    );
  });
});

describe('C programs: close-on-exec set by a helper in another file', () => {
  test('a descriptor passed to a helper that sets or clears its flag is decided there; one passed to a logging helper is still reported', () => {
    const { findings, rel } = scan('c-cloexec-helper-elsewhere');
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('server.c')}:16`]);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('server.c')}:16 descriptor created here by mkstemp()`,
        `${rel('main.c')}:19 make_scratch() is called here and creates it`,
        `${rel('main.c')}:20 run_hook() is called here, after the descriptor may have been created`,
        `${rel('main.c')}:9 the program forks here (fork()); a child that execs inherits the descriptor`,
      ],
    );
  });
});

describe('C programs: a descriptor handed to the next program by number', () => {
  test('a table descriptor stored into a struct field that another file lists in a NAME= environment entry is meant to be inherited; the logged statistics descriptor is not', () => {
    const { findings, rel, model } = scan('c-fd-number-in-env');
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('adopt.c')}:12`]);
    assert.match(findings[0].message, /^open\(\) creates a descriptor/);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('adopt.c')}:12 descriptor created here by open()`,
        `${rel('main.c')}:18 slots_adopt() is called here and creates it`,
        `${rel('main.c')}:20 restart() is called here, after the descriptor may have been created`,
        `${rel('main.c')}:8 the program forks here (fork()); a child that execs inherits the descriptor`,
      ],
    );
    const publish = model().files.find((f) => f.path === rel('publish.c'))!;
    assert.deepEqual(
      publish.functions.filter((f) => f.fact.handsOverFields).map((f) => `${f.fact.name} ${f.fact.handsOverFields!.join(',')}`),
      ['slots_publish struct table_slot.fd'],
    );
  });
});

describe('C programs: files that only other platforms build', () => {
  test('a file whose path (a platform name, or an event interface only it has) or system headers give it to other platforms is left out on the target, and counts on its own', () => {
    const linux = scan('c-platform-files');
    assert.deepEqual(summary(linux.findings), [`fork-in-threaded-program ${linux.rel('spawn.c')}:7`, `unsafe-call-in-fork-child ${linux.rel('spawn.c')}:9`]);
    assert.deepEqual(
      linux.findings[0].related.map((r) => `${at(r)} ${r.message}`)[0],
      `${linux.rel('linux/workers.c')}:13 thread started here by pthread_create()`,
    );
    // On AIX the workers' file is not built: no thread runs at the fork (the child's fprintf()
    // is still reported, as for any program); the kept descriptor of the AIX-only file counts.
    const aix = scan('c-platform-files', { config: { targetPlatform: 'aix' } });
    assert.deepEqual(summary(aix.findings), [`fd-without-cloexec ${aix.rel('aix.c')}:9`, `unsafe-call-in-fork-child ${aix.rel('spawn.c')}:9`]);
    const freebsd = scan('c-platform-files', { config: { targetPlatform: 'freebsd' } });
    assert.deepEqual(summary(freebsd.findings), [`fd-without-cloexec ${freebsd.rel('watch.c')}:9`, `unsafe-call-in-fork-child ${freebsd.rel('spawn.c')}:9`]);
    // `devpoll.c` is named after Solaris's /dev/poll: only a Solaris build keeps that descriptor.
    const solaris = scan('c-platform-files', { config: { targetPlatform: 'solaris' } });
    assert.deepEqual(summary(solaris.findings), [`fd-without-cloexec ${solaris.rel('devpoll.c')}:9`, `unsafe-call-in-fork-child ${solaris.rel('spawn.c')}:9`]);
  });
});

describe('C programs: a function run by a run-once call', () => {
  test('a check handed to a pthread_once() wrapper is called at the wrapper call: a log opened before the job that runs it is inherited by its exec', () => {
    const { findings, rel, model } = scan('c-once-wrapper');
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('main.c')}:9`]);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('main.c')}:9 descriptor created here by fopen()`,
        `${rel('main.c')}:12 run_job() is called here, after the descriptor may have been created`,
        `${rel('probe.c')}:24 check_tool() is called here, after the descriptor may have been created`,
        `${rel('probe.c')}:12 the program forks here (vfork()); a child that execs inherits the descriptor`,
      ],
    );
    // `job_once(&tool_checked, check_tool)` calls job_once() and, through it, check_tool().
    const m = model();
    const runJob = m.fns.find((f) => f.fact.name === 'run_job')!;
    const call = runJob.fact.calls.findIndex((c) => c.name === 'job_once');
    assert.deepEqual(m.resolve(runJob, call).map((f) => f.fact.name), ['job_once', 'check_tool']);
  });

  test('the same check run before the log is opened: no process starts after it, nothing is reported', () => {
    const { findings } = scan('c-once-wrapper-before-open');
    assert.deepEqual(summary(findings), []);
  });
});

describe('C programs: library code only other programs call', () => {
  test('a spawning library function only another program calls is not an entry of a program with main: the viewer that links it and never runs a tool is silent', () => {
    const { findings, rel, neighbours } = scan('c-unused-library-spawn');
    // Both programs hold the library file (both call jobs_init()).
    assert.ok(neighbours('viewer/main.c').includes(rel('jobs/jobs.c')));
    assert.deepEqual(summary(findings), [`fd-without-cloexec ${rel('runner/main.c')}:10`]);
    assert.deepEqual(
      findings[0].related.map((r) => `${at(r)} ${r.message}`),
      [
        `${rel('runner/main.c')}:10 descriptor created here by fopen()`,
        `${rel('runner/main.c')}:13 run_tool() is called here, after the descriptor may have been created`,
        `${rel('jobs/jobs.c')}:15 the program forks here (fork()); a child that execs inherits the descriptor`,
      ],
    );
  });
});

describe('C programs: fork children that run no program', () => {
  test('a fork child that uses its pipe and ends without exec passes it to no program; one that returns into the program does', () => {
    const { findings, rel, neighbours } = scan('c-fd-test-child-without-exec');
    // The library file is the tool's (its main reads through it), so each test file makes a
    // program of its own with it: the channel case's program holds no caller of proc_run().
    assert.deepEqual(neighbours('test/test-channel.c'), [rel('src/lib.c'), rel('test/test-channel.c')]);
    // test-channel.c:17: the child reads the pipe with the library's loop and returns from the
    // case, which ends its process; proc_run() is called only by a case of test-tools.c (another
    // program whose processes start at its cases), so it does not run here either. Not reported.
    assert.deepEqual(summary(findings.filter((f) => f.ruleId === 'fd-without-cloexec')), [
      `fd-without-cloexec ${rel('daemon/main.c')}:21`,
      `fd-without-cloexec ${rel('test/test-tools.c')}:11`,
    ]);
    const chain = (file: string) => findings.find((f) => f.ruleId === 'fd-without-cloexec' && f.path === rel(file))!.related.map((r) => `${at(r)} ${r.message}`);
    // The case's log is open when the library's child execs the tool.
    assert.deepEqual(chain('test/test-tools.c'), [
      `${rel('test/test-tools.c')}:11 descriptor created here by fopen()`,
      `${rel('test/test-tools.c')}:12 proc_run() is called here, after the descriptor may have been created`,
      `${rel('src/lib.c')}:9 the program forks here (fork()); a child that execs inherits the descriptor`,
    ]);
    // The worker returns from start_worker() into main, which may run a program: the fork counts.
    assert.deepEqual(chain('daemon/main.c'), [
      `${rel('daemon/main.c')}:21 descriptor created here by pipe()`,
      `${rel('daemon/main.c')}:23 start_worker() is called here, after the descriptor may have been created`,
      `${rel('daemon/main.c')}:11 the program forks here (fork()); a child that execs inherits the descriptor`,
    ]);
  });
});
