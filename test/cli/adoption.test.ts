/**
 * What a user adopting the CLI on an existing project relies on, run against copies of
 * `examples/`: `--fix` applies every safe fix it counts (cross-file findings too), `--diff`
 * and `--unsafe-fixes`, `--select`/`--ignore`, `--statistics`, baselines (matched by content,
 * not line numbers), SARIF fingerprints that equal the baseline's, colours only when wanted,
 * the summary on stderr with `-o`, Ctrl-C, and `rules <id>`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli as runInProcess } from '../../server/src/cli/cli';
import { loadAllGrammars } from '../../server/src/parsing/parser';
import { CLI, ensureBuilt, ROOT, runCli, writeTree } from './helpers';

before(() => ensureBuilt());

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of examples/ (a repository root of its own, so no outer ignore file applies). */
function examples(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-adoption-')));
  made.push(dir);
  fs.cpSync(path.join(ROOT, 'examples'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, '.git'));
  fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

const scan = (cwd: string, ...args: string[]) => runCli(['scan', '--no-cache', ...args], { cwd });
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

const ESC = '\u001b';
const CROSS_FILE = 'c-hook-runner/journal.c';

describe('--fix applies every safe fix it counts', () => {
  test('the examples: three safe fixes, one of them for a cross-file finding, and no promise left over', () => {
    const dir = examples();
    const before = scan(dir);
    assert.equal(before.status, 1);
    assert.match(before.stdout, /^18 findings \(4 errors, 14 warnings, 0 info, 0 hints\) in 59 files analysed\. 3 findings can be fixed with --fix\.$/m);
    const fixed = scan(dir, '--fix');
    assert.match(fixed.stderr, /^hazard-lens: applied 3 fixes to 3 files$/m, fixed.stderr);
    // The descriptor is opened in journal.c and the fork and exec are in hookd.c: only the program sees it.
    assert.match(read(dir, CROSS_FILE), /journal_fd = open\(path, O_WRONLY \| O_APPEND \| O_CREAT \| O_CLOEXEC, 0640\);/);
    assert.match(read(dir, 'python/static_files.py'), /with open\(path, "rb"\) as fh:/);
    assert.match(read(dir, 'typescript/download.ts'), /\} finally \{\n {4}await fh\.close\(\);/);
    assert.match(fixed.stdout, /^15 findings \(4 errors, 11 warnings, 0 info, 0 hints\) in 59 files analysed\.$/m);
    assert.doesNotMatch(fixed.stdout, /can be fixed/);
    const again = scan(dir, '--fix');
    assert.match(again.stderr, /^hazard-lens: no fixes applied$/m);
  });

  test('--diff prints unified diffs, writes nothing and exits 1; with nothing to fix it exits 0', () => {
    const dir = examples();
    const original = read(dir, CROSS_FILE);
    const r = scan(dir, '--diff');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(read(dir, CROSS_FILE), original);
    assert.ok(
      r.stdout.includes(
        [
          `--- a/${CROSS_FILE}`,
          `+++ b/${CROSS_FILE}`,
          '@@ -7,7 +7,7 @@',
          ' ',
          ' void journal_open(const char *path)',
          ' {',
          '-  journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);',
          '+  journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);',
        ].join('\n'),
      ),
      r.stdout,
    );
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => l.startsWith('+++ ')),
      [`+++ b/${CROSS_FILE}`, '+++ b/python/static_files.py', '+++ b/typescript/download.ts'],
    );
    assert.equal(r.stderr, 'hazard-lens: would apply 3 fixes to 3 files\n');
    scan(dir, '--fix');
    const none = scan(dir, '--diff');
    assert.deepEqual([none.status, none.stdout, none.stderr], [0, '', 'hazard-lens: no fixes to apply\n']);
  });

  test('--unsafe-fixes adds the fixes that change behaviour (here: the C close before the early return)', () => {
    const dir = examples();
    const safe = scan(dir, '--diff', 'c/config_reader.c');
    assert.equal(safe.status, 0);
    const unsafe = scan(dir, '--diff', '--unsafe-fixes', 'c/config_reader.c');
    assert.equal(unsafe.status, 1);
    assert.match(unsafe.stdout, /^\+ +fclose\(fp\);$/m, unsafe.stdout);
  });
});

describe('choosing rules and counting', () => {
  test('--select takes families and ids, --ignore removes from them', () => {
    const dir = examples();
    const ids = (r: { stdout: string }) => [...new Set(JSON.parse(r.stdout).findings.map((f: { ruleId: string }) => f.ruleId))].sort();
    assert.deepEqual(ids(scan(dir, '-f', 'json', '--select', 'FORK', '--select', 'stream-pipe-leak')), ['fork-in-threaded-program', 'stream-pipe-leak', 'unsafe-call-in-fork-child']);
    assert.deepEqual(ids(scan(dir, '-f', 'json', '--select', 'FD,LEAK', '--ignore', 'unreleased-file,cached-fd-across-fork')), [
      'close-all-fds-without-exec',
      'fd-without-cloexec',
      'stream-pipe-leak',
      'wsgi-response-not-closed',
    ]);
    const none = scan(dir, '--ignore', 'FORK,FD,LEAK,HEARTBEAT');
    assert.equal(none.status, 0);
    assert.match(none.stdout, /^No findings in 59 files analysed\.$/m);
  });

  test('--statistics: findings per rule, most first, with the fixable ones', () => {
    const r = scan(examples(), '--statistics', '--select', 'LEAK');
    assert.equal(r.status, 1);
    assert.equal(
      r.stdout,
      [
        '6  unreleased-file           A file, socket, process or stream handle is not released on every path out of its scope. [2 fixable]',
        '1  stream-pipe-leak          A file stream is piped with .pipe(), which leaks its descriptor when the destination fails or closes early.',
        "1  wsgi-response-not-closed  A WSGI response's close() is lost: wrapped twice by wsgi.file_wrapper, dropped by middleware, skipped when a generator is closed early or the body raises, or looked up on the wrong object.",
        '',
      ].join('\n'),
    );
  });
});

describe('baselines', () => {
  test('only findings not in the baseline are reported; unrelated edits that move lines change nothing', () => {
    const dir = examples();
    const written = scan(dir, '--write-baseline', 'ci/baseline.json');
    assert.equal(written.status, 0);
    assert.equal(written.stderr, 'hazard-lens: wrote 18 findings to the baseline ci/baseline.json\n');
    const baseline = JSON.parse(read(dir, 'ci/baseline.json'));
    assert.equal(baseline.version, 1);
    assert.deepEqual(Object.keys(baseline.findings[0]).sort(), ['fingerprint', 'line', 'message', 'path', 'rule']);
    assert.equal(baseline.findings[0].path, '../c-bpipe-fork/incident/bpipe.c');

    // Lines added above the findings, and one re-indented: nothing new.
    const file = path.join(dir, 'python', 'static_files.py');
    fs.writeFileSync(file, `# served by the static handler\n\n${fs.readFileSync(file, 'utf8')}`);
    const same = scan(dir, '--baseline', 'ci/baseline.json');
    assert.equal(same.status, 0, same.stdout);
    assert.equal(same.stdout, 'No findings in 59 files analysed.\n');
    assert.equal(same.stderr, 'hazard-lens: 18 findings in the baseline ci/baseline.json not reported\n');

    // A new leak is reported alone, and fails.
    fs.appendFileSync(file, '\n\ndef first_line(p):\n    src = open(p)\n    return src.readline()\n');
    const added = scan(dir, '--baseline', 'ci/baseline.json', '-f', 'json');
    assert.equal(added.status, 1);
    const findings = JSON.parse(added.stdout).findings as { ruleId: string; path: string }[];
    assert.deepEqual(
      findings.map((f) => `${f.ruleId} ${f.path}`),
      ['unreleased-file python/static_files.py'],
    );

    // The configuration's "baseline" (relative to the config file) does the same.
    writeTree(dir, { '.hazard-lens.json': '{ "baseline": "ci/baseline.json" }\n' });
    const configured = scan(dir, '-q');
    assert.equal(configured.status, 1);
    assert.equal(configured.stdout.split('\n').filter((l) => / (error|warning) /.test(l) && !l.startsWith(' ')).length, 1);
  });

  test('a baseline that is not one stops the scan (exit 2)', () => {
    const dir = examples();
    writeTree(dir, { 'bad.json': '{"findings": 3}' });
    const r = scan(dir, '--baseline', 'bad.json');
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'hazard-lens: bad.json: expected {"version": 1, "findings": [...]} as written by --write-baseline\n');
  });

  test('SARIF partialFingerprints are the baseline fingerprints', () => {
    const dir = examples();
    scan(dir, '--write-baseline', 'baseline.json');
    const sarif = JSON.parse(scan(dir, '-f', 'sarif').stdout);
    const fromSarif = sarif.runs[0].results.map((r: { partialFingerprints: Record<string, string> }) => r.partialFingerprints['hazardLensFingerprint/v1']);
    const fromBaseline = JSON.parse(read(dir, 'baseline.json')).findings.map((f: { fingerprint: string }) => f.fingerprint);
    assert.deepEqual(fromSarif, fromBaseline);
    assert.equal(new Set(fromSarif).size, fromSarif.length, 'different findings, different fingerprints');
  });
});

describe('the terminal', () => {
  test('colours: on with FORCE_COLOR, off with NO_COLOR (it wins) and when stdout is not a terminal', () => {
    const dir = examples();
    const forced = runCli(['scan', '--no-cache', 'python'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    assert.ok(forced.stdout.startsWith('\x1b[1mpython/static_files.py:8:10\x1b[22m: \x1b[1m\x1b[33mwarning\x1b[39m\x1b[22m \x1b[36munreleased-file\x1b[39m'), JSON.stringify(forced.stdout.slice(0, 120)));
    const plain = runCli(['scan', '--no-cache', 'python'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    assert.ok(!plain.stdout.includes(ESC));
    const both = runCli(['scan', '--no-cache', 'python'], { cwd: dir, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    assert.ok(!both.stdout.includes(ESC));
    assert.equal(forced.stdout.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), ''), plain.stdout);
    // A report written to a file is never coloured.
    runCli(['scan', '--no-cache', 'python', '-o', 'out.txt'], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    assert.ok(!read(dir, 'out.txt').includes(ESC));
  });

  test('-o FILE: the report goes to the file and the summary to stderr', () => {
    const dir = examples();
    const r = scan(dir, '-f', 'sarif', '-o', 'reports/scan.sarif');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'hazard-lens: 18 findings (4 errors, 14 warnings, 0 info, 0 hints) in 59 files analysed. 3 findings can be fixed with --fix. Report written to reports/scan.sarif.\n',
    );
    assert.equal(JSON.parse(read(dir, 'reports/scan.sarif')).version, '2.1.0');
    assert.equal(scan(dir, '-f', 'sarif', '-o', 'reports/scan.sarif', '-q').stderr, '');
  });

  test('Ctrl-C clears the progress line, says so and exits 130', async () => {
    await loadAllGrammars();
    const dir = examples();
    const writes: string[] = [];
    let cleanup: (() => void) | undefined;
    let interrupted = false;
    const stderr = {
      isTTY: true,
      columns: 80,
      write(chunk: string) {
        writes.push(chunk);
        // The first progress line drawn: the user presses Ctrl-C.
        if (!interrupted && chunk.includes(' files') && cleanup) {
          interrupted = true;
          const onSignal = cleanup;
          // A signal arrives between two writes, never inside one.
          setImmediate(onSignal);
        }
        return true;
      },
    };
    await runInProcess(['scan', '--no-cache', '-j', '0', '.'], {
      stdout: { write: () => true },
      stderr,
      cwd: dir,
      onInterrupt: (c) => {
        cleanup = c;
        return () => {
          cleanup = undefined;
        };
      },
    });
    const at = writes.findIndex((w) => w === 'hazard-lens: interrupted\n');
    assert.ok(at > 0, JSON.stringify(writes.slice(0, 5)));
    assert.match(writes[at - 2], new RegExp(`^\\r${ESC}\\[2Khazard-lens: \\d+/59 files$`));
    assert.equal(writes[at - 1], '\r\x1b[2K');

    // The real process: SIGINT ends it with 130. It is sent once the scan is under way (the
    // skipped binary file is told while the files are read).
    fs.writeFileSync(path.join(dir, 'aaa-binary.py'), Buffer.from([0x70, 0, 0x71]));
    const child = spawn(process.execPath, [CLI, 'scan', '--no-cache', '-j', '0', '.'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('skipped aaa-binary.py')) child.kill('SIGINT');
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // A machine fast enough to finish first exits 1 (findings) instead.
    if (code !== 1) {
      assert.equal(code, 130, err);
      assert.match(err, /hazard-lens: interrupted\n$/);
    }
  });

  test('rules <id> explains the rule from its documentation page', () => {
    const r = runCli(['rules', 'fd-without-cloexec'], { cwd: os.tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'fd-without-cloexec: A descriptor is opened without close-on-exec in a program that may fork or execute another program afterwards.',
      '  Family: FD. Languages: c. Severity: warning. Fixes: safe, unsafe.',
      '  Documentation: https://github.com/hazard-lens/hazard-lens/blob/main/docs/rules/fd-without-cloexec.md',
    ]);
    // The page follows, headings without their marks.
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'rules', 'fd-without-cloexec.md'), 'utf8');
    const firstHeading = /^## (.*)$/m.exec(doc)![1];
    assert.ok(lines.includes(firstHeading), firstHeading);
    assert.ok(!lines.some((l) => l.startsWith('## ')));
    const json = JSON.parse(runCli(['rules', 'fd-without-cloexec', '-f', 'json'], { cwd: os.tmpdir() }).stdout);
    assert.equal(json.rules.length, 1);
    assert.equal(json.rules[0].documentation, doc);
  });
});
