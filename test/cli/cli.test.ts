/**
 * The command line, run as users run it: `node dist/cli/cli.js` in a temporary workspace.
 * `npm test` builds dist/ first; run alone, the tests build it when it is missing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { ProgressLine } from '../../server/src/cli/progress';
import { CLI, ensureBuilt, multitoolAvailable, runCli, temporaryRepositories, unprivilegedUser, validateSarif, writeTree, type Tree } from './helpers';
import { LATIN1_C } from '../latin1-source';
import { RULES } from '../../server/src/rules/index';

const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const DOCS = 'https://github.com/hazard-lens/hazard-lens/blob/main/docs/rules';

before(() => ensureBuilt());
const workspace = temporaryRepositories();

/** Findings here come from the engine alone (unused suppressions), not from any analyser. */
const BASIC: Tree = {
  '.gitignore': 'build/\n',
  'app/sup.py': 'x = 1  # hazard-lens: ignore[unreleased-file]\n# hazard-lens: ignore[no-such-rule]\ny = 2\n',
  'lib/ok.ts': 'export const a = 1;\n',
  'build/gen.py': '# hazard-lens: ignore[no-such-rule]\nx = 1\n',
  'notes.md': 'not analysed\n',
};

const SUP1 = "Suppression of 'unreleased-file' is unused: no such finding on the line it covers";
const SUP2 = "Suppression names unknown rule 'no-such-rule', so it suppresses nothing";

/** A leak the C analyser reports (an early return skips the fclose). */
const C_LEAK: Tree = {
  'src/leak.c': '#include <stdio.h>\nint f(const char *p) {\n    FILE *fp = fopen(p, "r");\n    if (!fp) return -1;\n    if (p[0] == 0) return -2;\n    fclose(fp);\n    return 0;\n}\n',
};

/** The Python example: the early return leaks `fh`. */
const PY_LEAK = 'def f(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';

describe('usage', () => {
  test('--help, --version, help <command>', () => {
    const help = runCli(['--help'], { cwd: workspace({}) });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: hazard-lens <command> \[options\]/);
    assert.match(help.stdout, /scan \[paths\.\.\.\]/);
    const version = runCli(['--version'], { cwd: workspace({}) });
    assert.equal(version.status, 0);
    assert.equal(version.stdout, `hazard-lens ${VERSION}\n`);
    const scanHelp = runCli(['scan', '--help'], { cwd: workspace({}) });
    assert.equal(scanHelp.status, 0);
    for (const flag of ['--format', '--output', '--severity-threshold', '--config', '--fix', '--max-file-size', '--no-gitignore', '--quiet']) {
      assert.ok(scanHelp.stdout.includes(flag), `scan --help mentions ${flag}`);
    }
    assert.equal(runCli(['help', 'rules'], { cwd: workspace({}) }).status, 0);
  });

  test('usage errors exit with 2 and a clear message on stderr', () => {
    const dir = workspace(BASIC);
    const cases: [string[], RegExp][] = [
      [[], /^Usage: hazard-lens/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['scan', '--bogus'], /^hazard-lens: unknown option '--bogus'\nRun 'hazard-lens scan --help' for usage\.\n$/],
      [['scan', '--format', 'xml'], /invalid value 'xml' for --format: expected one of text, json, sarif, github, gitlab, junit/],
      [['scan', '--severity-threshold', 'fatal'], /invalid value 'fatal' for --severity-threshold: expected one of error, warning, info, hint/],
      [['scan', '--max-file-size', '0'], /invalid value '0' for --max-file-size/],
      [['scan', '--max-file-size', 'ten'], /invalid value 'ten' for --max-file-size/],
      [['scan', '--format'], /^hazard-lens: option '--format' needs a value\n/],
      [['scan', '-f'], /^hazard-lens: option '--format' needs a value\n/],
      [['scan', '--fix=yes'], /^hazard-lens: option '--fix' takes no value\n/],
      [['rules', 'a', 'b'], /^hazard-lens: unexpected argument 'b'\n/],
      [['rules', 'no-such-rule'], /^hazard-lens: unknown rule 'no-such-rule' \(rules: unreleased-file, /],
      [['scan', '--select', 'NOPE'], /^hazard-lens: --select: unknown rule or family 'NOPE' \(families: LEAK, FORK, FD, HEARTBEAT; rules: /],
      [['scan', '--ignore', 'FORK,bogus-rule'], /^hazard-lens: --ignore: unknown rule or family 'bogus-rule'/],
      [['scan', '--unsafe-fixes'], /^hazard-lens: --unsafe-fixes is used with --fix or --diff\n/],
      [['scan', '--baseline', 'none.json'], /^hazard-lens: cannot read the baseline none\.json: no such file\n/],
      [['scan', 'missing-dir'], /missing-dir: no such file or directory/],
      [['scan', '--config', 'nope.json'], /cannot read config file nope\.json: no such file/],
      [['rules', '--format', 'sarif'], /invalid value 'sarif' for --format: expected one of text, json/],
      [['lsp'], /lsp needs --stdio/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args, { cwd: dir });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      // Node's own argument-parser wording never reaches the user.
      assert.doesNotMatch(r.stderr, /<value>|ERR_PARSE_ARGS|To specify a positional argument|\bat parseArgs\b/, args.join(' '));
    }
  });
});

describe('scan: formats', () => {
  test('text: findings, summary, skipped files on stderr, .gitignore honoured', () => {
    const dir = workspace({ ...BASIC, 'app/blob.py': Buffer.from([0x78, 0, 0x79]) });
    const r = runCli(['scan'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `app/sup.py:1:8: hint unused-suppression ${SUP1}`,
        `app/sup.py:2:1: hint unused-suppression ${SUP2}`,
        '',
        '2 findings (0 errors, 0 warnings, 0 info, 2 hints) in 2 files analysed, 1 skipped.',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, 'hazard-lens: skipped app/blob.py: binary file (NUL byte in the first 8 KB)\n');
  });

  test('--quiet prints the report only; --no-gitignore scans ignored files', () => {
    const dir = workspace({ ...BASIC, 'app/blob.py': Buffer.from([0x78, 0, 0x79]) });
    const quiet = runCli(['scan', '-q'], { cwd: dir });
    assert.equal(quiet.status, 0);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, `app/sup.py:1:8: hint unused-suppression ${SUP1}\napp/sup.py:2:1: hint unused-suppression ${SUP2}\n`);
    const all = runCli(['scan', '--no-gitignore', '-q'], { cwd: dir });
    assert.match(all.stdout, /^build\/gen\.py:1:1: hint unused-suppression /m);
  });

  test('json', () => {
    const dir = workspace(BASIC);
    const r = runCli(['scan', '--format', 'json'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      version: 1,
      tool: { name: 'hazard-lens', version: VERSION },
      findings: [
        {
          ruleId: 'unused-suppression',
          severity: 'hint',
          path: 'app/sup.py',
          range: { start: { line: 1, column: 8 }, end: { line: 1, column: 46 } },
          message: SUP1,
          related: [],
          fixes: [],
          docsUrl: `${DOCS}/unused-suppression.md`,
        },
        {
          ruleId: 'unused-suppression',
          severity: 'hint',
          path: 'app/sup.py',
          range: { start: { line: 2, column: 1 }, end: { line: 2, column: 36 } },
          message: SUP2,
          related: [],
          fixes: [],
          docsUrl: `${DOCS}/unused-suppression.md`,
        },
      ],
      skipped: [],
      notes: [],
      summary: { files: 2, partlyAnalysed: 0, skipped: 0, findings: 2, bySeverity: { error: 0, warning: 0, info: 0, hint: 2 } },
    });
  });

  test('github', () => {
    const dir = workspace(BASIC);
    const r = runCli(['scan', '--format', 'github'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `::notice file=app/sup.py,line=1,col=8,endLine=1,endColumn=46,title=unused-suppression::${SUP1}\n` +
        `::notice file=app/sup.py,line=2,col=1,endLine=2,endColumn=36,title=unused-suppression::${SUP2}\n`,
    );
  });

  test('the examples as SARIF: cross-file chains as codeFlows, valid for the SARIF Multitool', (t) => {
    const examples = path.join(__dirname, '..', '..', 'examples');
    const out = path.join(workspace({}), 'examples.sarif');
    const r = runCli(['scan', '.', '--format', 'sarif', '--output', out, '--quiet'], { cwd: examples });
    assert.equal(r.status, 1, r.stderr);
    const results = (JSON.parse(fs.readFileSync(out, 'utf8')) as { runs: { results: { ruleId: string; codeFlows?: unknown[] }[] }[] }).runs[0].results;
    assert.ok(results.some((x) => x.ruleId === 'fork-in-threaded-program' && x.codeFlows?.length === 1));
    if (!multitoolAvailable()) return t.skip('the SARIF Multitool binary is not installed');
    assert.deepEqual(validateSarif(out).errors, []);
  });

  test('sarif to --output, valid for the SARIF Multitool', (t) => {
    const dir = workspace({ ...BASIC, ...C_LEAK, 'big.py': `x = "${'a'.repeat(2100)}"\n` });
    const r = runCli(['scan', '--format', 'sarif', '--output', 'out/report.sarif', '--max-file-size', '2'], { cwd: dir });
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^hazard-lens: skipped big\.py: file is 3 KB, over the 2 KB limit \(maxFileSizeKb\)$/m);
    const file = path.join(dir, 'out', 'report.sarif');
    const log = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      version: string;
      runs: {
        tool: { driver: { name: string; version: string; rules: { id: string; helpUri: string }[] } };
        originalUriBaseIds: Record<string, { uri: string }>;
        results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId: string } } }[] }[];
        invocations: { toolExecutionNotifications: { message: { text: string } }[] }[];
      }[];
    };
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0];
    assert.equal(run.tool.driver.name, 'Hazard Lens');
    assert.equal(run.tool.driver.version, VERSION);
    assert.equal(run.originalUriBaseIds['%SRCROOT%'].uri, `file://${dir}/`);
    assert.deepEqual(
      run.tool.driver.rules.map((x) => [x.id, x.helpUri]),
      [...RULES.map((r) => r.meta.id), 'unused-suppression'].map((id) => [id, `${DOCS}/${id}.md`]),
    );
    const sup = run.results.filter((x) => x.ruleId === 'unused-suppression');
    assert.deepEqual(
      sup.map((x) => [x.ruleIndex, x.level, x.locations[0].physicalLocation.artifactLocation]),
      [
        [RULES.length, 'note', { uri: 'app/sup.py', uriBaseId: '%SRCROOT%' }],
        [RULES.length, 'note', { uri: 'app/sup.py', uriBaseId: '%SRCROOT%' }],
      ],
    );
    assert.deepEqual(
      run.invocations[0].toolExecutionNotifications.map((n) => n.message.text),
      ['Skipped: file is 3 KB, over the 2 KB limit (maxFileSizeKb).'],
    );
    if (!multitoolAvailable()) {
      t.skip('the SARIF Multitool for this platform is not installed');
      return;
    }
    const { errors } = validateSarif(file);
    assert.deepEqual(errors, []);
  });
});

describe('scan: exit codes and threshold', () => {
  test('hints do not fail by default; --severity-threshold hint makes them fail', () => {
    const dir = workspace(BASIC);
    assert.equal(runCli(['scan', '-q'], { cwd: dir }).status, 0);
    assert.equal(runCli(['scan', '-q', '--severity-threshold', 'info'], { cwd: dir }).status, 0);
    assert.equal(runCli(['scan', '-q', '--severity-threshold', 'hint'], { cwd: dir }).status, 1);
  });

  test('a warning fails by default, not with --severity-threshold error; config severities count', () => {
    const dir = workspace(C_LEAK);
    const r = runCli(['scan'], { cwd: dir });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^src\/leak\.c:3:16: warning unreleased-file Handle 'fp' from fopen\(\) is not released on every path/m);
    assert.match(r.stdout, /^ {2}src\/leak\.c:3:16: opened here by fopen\(\)$/m);
    assert.match(r.stdout, /^1 finding \(0 errors, 1 warning, 0 info, 0 hints\) in 1 file analysed\.$/m);
    assert.equal(runCli(['scan', '--severity-threshold', 'error'], { cwd: dir }).status, 0);
    writeTree(dir, { '.hazard-lens.json': JSON.stringify({ rules: { 'unreleased-file': 'error' } }) });
    assert.equal(runCli(['scan', '--severity-threshold', 'error'], { cwd: dir }).status, 1);
    writeTree(dir, { 'other.json': JSON.stringify({ rules: { 'unreleased-file': 'off' } }) });
    const off = runCli(['scan', '--config', 'other.json'], { cwd: dir });
    assert.equal(off.status, 0);
    assert.equal(off.stdout, 'No findings in 1 file analysed.\n');
  });

  test('unknown settings are warnings; bad values and bad JSON stop the scan (test/cli/bad-input.test.ts)', () => {
    const dir = workspace({ ...BASIC, '.hazard-lens.json': JSON.stringify({ colour: true, exclude: ['app/'] }) });
    const r = runCli(['scan'], { cwd: dir });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'hazard-lens: warning: .hazard-lens.json: unknown setting "colour" ignored\n');
    // The rest (exclude) applies.
    assert.equal(r.stdout, 'No findings in 1 file analysed.\n');
    writeTree(dir, { '.hazard-lens.json': '{ "exclude": [' });
    const broken = runCli(['scan', '-q'], { cwd: dir });
    assert.equal(broken.status, 2);
    assert.match(broken.stderr, /^hazard-lens: \.hazard-lens\.json:1:15: invalid JSON \(.*\)$/m);
    assert.equal(broken.stdout, '');
  });
});

describe('scan: files that cannot be analysed', () => {
  test('unreadable file and directory are skipped with a reason', (t) => {
    const user = unprivilegedUser();
    const dir = workspace({ 'secret.py': 'x = 1\n', 'locked/a.py': 'x = 1\n', 'ok.py': 'x = 1\n' });
    if (user) {
      // Root reads everything: run the CLI as `nobody`, who must be able to reach the workspace.
      // Only the folders below the temporary directory: changing /tmp itself (sticky, 1777) to
      // 0755 broke every later tool that writes there as another user (apt's key check).
      const tmp = path.dirname(dir) + path.sep;
      for (let d = dir; d.startsWith(tmp); d = path.dirname(d)) fs.chmodSync(d, 0o755);
      fs.chmodSync(path.join(dir, 'ok.py'), 0o644);
      t.diagnostic(`running as root: the CLI runs as uid ${user.uid}`);
    }
    fs.chmodSync(path.join(dir, 'secret.py'), 0o000);
    fs.chmodSync(path.join(dir, 'locked'), 0o000);
    const r = runCli(['scan', '--no-cache'], { cwd: dir, ...(user ?? {}) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'hazard-lens: skipped locked: cannot read directory (permission denied)\nhazard-lens: skipped secret.py: permission denied\n');
    assert.equal(r.stdout, 'No findings in 1 file analysed, 2 skipped.\n');
  });

  test('symbolic link loops do not hang the scan', () => {
    const dir = workspace({ 'a/b/c.py': 'x = 1\n' });
    fs.symlinkSync('.', path.join(dir, 'self'));
    fs.symlinkSync('../..', path.join(dir, 'a', 'b', 'up'));
    const r = runCli(['scan'], { cwd: dir, timeoutMs: 20_000 });
    assert.equal(r.signal, null, 'the scan was cut off by the time-out');
    assert.equal(r.status, 0);
    assert.equal(
      r.stderr,
      "hazard-lens: skipped a/b/up: symbolic link loop: it points to '.', a directory that contains it\n" +
        "hazard-lens: skipped self: symbolic link loop: it points to '.', a directory that contains it\n",
    );
    assert.equal(r.stdout, 'No findings in 1 file analysed, 2 skipped.\n');
  });

  test('huge files, binaries and broken UTF-8 are skipped; Latin-1 is decoded', () => {
    const dir = workspace({
      'big.py': `x = "${'a'.repeat(5000)}"\n`,
      'latin.py': Buffer.from('s = "\xe9"\n', 'latin1'),
      // A UTF-8 byte order mark declares UTF-8: broken UTF-8 after it is not guessed at.
      'marked.py': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('s = "\xe9"\n', 'latin1')]),
      // Not UTF-8, and a NUL past the first 8 KB: a binary, not Windows-1252.
      'nul.py': Buffer.concat([Buffer.from(`# ${'a'.repeat(9000)}\n\xe9`, 'latin1'), Buffer.from([0])]),
      'ok.py': 'x = 1\n',
    });
    const r = runCli(['scan', '--max-file-size', '12', '--no-cache', '--stats'], { cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const [messages, statsLine] = [r.stderr.split('\n').slice(0, -2).join('\n'), r.stderr.split('\n').at(-2)!];
    assert.equal(
      messages,
      'hazard-lens: decoded as Windows-1252: latin.py\n' +
        'hazard-lens: skipped marked.py: not valid UTF-8 although it starts with a UTF-8 byte order mark (invalid byte 0xe9 on line 1)\n' +
        'hazard-lens: skipped nul.py: binary file (not UTF-8, and a NUL byte)',
    );
    assert.equal((JSON.parse(statsLine) as { decoded: number; skipped: number }).decoded, 1);
    assert.equal((JSON.parse(statsLine) as { decoded: number; skipped: number }).skipped, 2);
    const small = runCli(['scan', '--max-file-size', '4', '--no-cache', 'big.py'], { cwd: dir });
    assert.equal(small.stderr, 'hazard-lens: skipped big.py: file is 5 KB, over the 4 KB limit (maxFileSizeKb)\n');
  });

  test('no supported files: a warning, exit 0', () => {
    const dir = workspace({ 'README.md': 'hi\n' });
    const r = runCli(['scan'], { cwd: dir });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /^hazard-lens: warning: no files to analyse/);
  });

  test('the progress line is only drawn on a terminal', () => {
    const dir = workspace(BASIC);
    assert.ok(!runCli(['scan'], { cwd: dir }).stderr.includes('\r'));
    const chunks: string[] = [];
    const line = new ProgressLine({ write: (c: string) => chunks.push(c), isTTY: true, columns: 80 }, true, 0);
    line.update(1, 2);
    line.update(2, 2);
    line.clear();
    assert.deepEqual(chunks, ['\r\x1b[2Khazard-lens: 1/2 files', '\r\x1b[2Khazard-lens: 2/2 files', '\r\x1b[2K']);
  });
});


/** A program that forks and execs, in Windows-1252 (\x97 is an em dash, \x92 a right quote; \x81 and \x9d are unassigned). */
const CP1252_C = Buffer.from(
  '#include <fcntl.h>\n' +
    '#include <unistd.h>\n' +
    '/* Modifi\xe9 par Fran\xe7ois \x97 2003 \x80 \x81\x9d */\n' +
    'int main(int argc, char **argv) {\n' +
    '    int fd = open(argv[1], O_RDONLY); /* fichier d\x92entr\xe9e */\n' +
    '    pid_t pid = fork();\n' +
    '    if (pid == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }\n' +
    '    close(fd);\n' +
    '    return 0;\n' +
    '}\n',
  'latin1',
);

describe('scan: sources that are not UTF-8', () => {
  test('a Latin-1 C file is decoded and analysed; columns count decoded characters', () => {
    const dir = workspace({ 'src/legacy.c': LATIN1_C, 'src/ok.c': 'int x;\n' });
    const r = runCli(['scan', '--format', 'json', '--no-cache', '--stats'], { cwd: dir });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.split('\n')[0], 'hazard-lens: decoded as Windows-1252: src/legacy.c');
    const stats = JSON.parse(r.stderr.split('\n').at(-2)!) as { decoded: number; skipped: number; analysed: number };
    assert.deepEqual([stats.decoded, stats.skipped, stats.analysed], [1, 0, 2]);
    const findings = (JSON.parse(r.stdout) as { findings: { ruleId: string; path: string; range: { start: { line: number; column: number } } }[] }).findings;
    assert.deepEqual(
      findings.map((f) => [f.ruleId, f.path, f.range.start.line, f.range.start.column]),
      [
        ['unreleased-file', 'src/legacy.c', 4, 16],
        // `/* été */ int g(...) { FILE *q = ` is 43 characters (46 bytes in UTF-8, 43 in Latin-1).
        ['unreleased-file', 'src/legacy.c', 10, 44],
      ],
    );
    const text = runCli(['scan', '--no-cache'], { cwd: dir });
    assert.match(text.stdout, /^src\/legacy\.c:10:44: warning unreleased-file Handle 'q' from fopen\(\) is not released on every path: it leaks at the return on line 10$/m);
    assert.match(text.stdout, /^ {2}src\/legacy\.c:10:88: returns here with the handle still open$/m);
  });

  test('the cache: a warm scan still says what it decoded, and a changed accented byte is analysed again', () => {
    const dir = workspace({ 'src/legacy.c': LATIN1_C });
    const cache = path.join(dir, '.cache-dir');
    const args = ['scan', '--cache-dir', cache, '--stats', '--format', 'json'];
    const statsOf = (stderr: string) => JSON.parse(stderr.split('\n').at(-2)!) as { decoded: number; analysed: number; cacheHits: number; evaluationCache: string };
    const cold = runCli(args, { cwd: dir });
    assert.equal(cold.status, 1, cold.stderr);
    assert.deepEqual(statsOf(cold.stderr), { ...statsOf(cold.stderr), decoded: 1, analysed: 1, evaluationCache: 'miss' });
    const warm = runCli(args, { cwd: dir });
    assert.equal(warm.stderr.split('\n')[0], 'hazard-lens: decoded as Windows-1252: src/legacy.c');
    assert.deepEqual(statsOf(warm.stderr), { ...statsOf(warm.stderr), decoded: 1, analysed: 0, evaluationCache: 'hit' });
    assert.equal(warm.stdout, cold.stdout);
    // é (0xE9) → è (0xE8): same length, another text; then without the evaluation cache's answer.
    const changed = Buffer.from(LATIN1_C);
    changed[changed.indexOf(0xe9)] = 0xe8;
    fs.writeFileSync(path.join(dir, 'src', 'legacy.c'), changed);
    const again = runCli(args, { cwd: dir });
    assert.deepEqual(statsOf(again.stderr), { ...statsOf(again.stderr), decoded: 1, analysed: 1, cacheHits: 0, evaluationCache: 'miss' });
    // The same text in UTF-8 has the same content hash (that of the decoded text): the cached
    // evaluation answers, and nothing is said to be decoded.
    fs.writeFileSync(path.join(dir, 'src', 'legacy.c'), changed.toString('latin1'), 'utf8');
    const utf8 = runCli(args, { cwd: dir });
    assert.deepEqual(statsOf(utf8.stderr), { ...statsOf(utf8.stderr), decoded: 0, analysed: 0, evaluationCache: 'hit' });
    assert.equal(utf8.stdout, again.stdout);
  });

  test('shards: the joined scan reports the decoded files and the same findings', () => {
    const dir = workspace({ 'src/legacy.c': LATIN1_C, 'src/ok.c': 'int x;\n' });
    const whole = runCli(['scan', '--no-cache'], { cwd: dir });
    for (const i of [1, 2]) assert.equal(runCli(['scan', '--no-cache', '-q', '--shard', `${i}/2`, '--facts-out', `f${i}.json`], { cwd: dir }).status, 0);
    const joined = runCli(['scan', '--facts', 'f1.json', 'f2.json', '--stats'], { cwd: dir });
    assert.equal(joined.stdout, whole.stdout);
    assert.equal(joined.stderr.split('\n')[0], 'hazard-lens: decoded as Windows-1252: src/legacy.c');
    assert.equal((JSON.parse(joined.stderr.split('\n').at(-2)!) as { decoded: number }).decoded, 1);
  });

  test('--fix writes a Windows-1252 file back in Windows-1252, every other byte unchanged', () => {
    const dir = workspace({ 'src/tool.c': CP1252_C });
    const r = runCli(['scan', '--fix', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, 'hazard-lens: decoded as Windows-1252: src/tool.c\nhazard-lens: applied 1 fix to 1 file\n');
    const at = CP1252_C.indexOf('O_RDONLY') + 'O_RDONLY'.length;
    const expected = Buffer.concat([CP1252_C.subarray(0, at), Buffer.from(' | O_CLOEXEC'), CP1252_C.subarray(at)]);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'src', 'tool.c')), expected);
  });
});

/**
 * A service whose programs exist only as declared entry points: `main()` and
 * `init_application()` patch threading with eventlet and start a messaging heartbeat, and no
 * module calls them. Without the declarations they are library functions nothing runs.
 */
const ENTRY_SERVICE: Tree = {
  'svc/__init__.py': '',
  'svc/cmd/__init__.py': '',
  'svc/api/__init__.py': '',
  'svc/messaging.py': [
    'import threading',
    'import time',
    '',
    '',
    'class Connection:',
    '    def __init__(self, url, heartbeat=60):',
    '        self.url = url',
    '        self.heartbeat = heartbeat',
    '',
    '    def send_heartbeat(self):',
    '        pass',
    '',
    '    def _heartbeat_loop(self):',
    '        while True:',
    '            self.send_heartbeat()',
    '            time.sleep(self.heartbeat / 2)',
    '',
    '    def start_heartbeat(self):',
    '        threading.Thread(target=self._heartbeat_loop, daemon=True).start()',
    '',
  ].join('\n'),
  'svc/cmd/agent.py': [
    'import eventlet',
    '',
    'from svc import messaging',
    '',
    '',
    'def main():',
    '    eventlet.monkey_patch()',
    '    messaging.Connection("amqp://rabbit/").start_heartbeat()',
    '',
  ].join('\n'),
  'svc/api/wsgi.py': [
    'from svc import messaging',
    '',
    '',
    'def init_application():',
    '    import eventlet',
    '',
    '    eventlet.monkey_patch()',
    '    messaging.Connection("amqp://rabbit/").start_heartbeat()',
    '',
    '    def app(environ, start_response):',
    '        start_response("200 OK", [])',
    '        return [b""]',
    '',
    '    return app',
    '',
  ].join('\n'),
};

const HEARTBEAT_START = "svc/messaging.py:19:9: {severity} green-heartbeat threading.Thread.start() starts a heartbeat thread (its loop calls self.send_heartbeat()) in a program where eventlet.monkey_patch() at {patch} makes threads green; ";

describe('scan: Python entry points declared only in project metadata', () => {
  test('without a declaration, the patching functions are library code nothing runs: no finding', () => {
    const dir = workspace(ENTRY_SERVICE);
    const r = runCli(['scan', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, 'No findings in 6 files analysed.\n');
  });

  test('a setup.cfg console script (pbr [entry_points]) makes main() the program: green-heartbeat', () => {
    const dir = workspace({
      ...ENTRY_SERVICE,
      'setup.cfg': '[metadata]\nname = svc\n\n[entry_points]\nconsole_scripts =\n    svc-agent = svc.cmd.agent:main\n',
    });
    const r = runCli(['scan', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(
      r.stdout,
      HEARTBEAT_START.replace('{severity}', 'warning').replace('{patch}', 'cmd/agent.py:7') +
        'the thread runs only while the program yields to the eventlet hub, so the heartbeat stalls whenever the program blocks or idles\n' +
        '  svc/cmd/agent.py:7:5: threads patched here (eventlet.monkey_patch())\n' +
        '  svc/messaging.py:19:9: heartbeat thread started here (threading.Thread.start()); it is a green thread now\n' +
        // The calls from the script's function to the thread start.
        "  setup.cfg:6:1: console script 'svc-agent' calls svc.cmd.agent:main\n" +
        '  svc/cmd/agent.py:8:5: messaging.Connection() creates an object here; its methods may be called later\n' +
        "  svc/messaging.py:14:9: the thread's loop sends the heartbeat here (self.send_heartbeat()) and sleeps\n" +
        '  svc/cmd/agent.py:3:1: imported from here\n' +
        '  fix (unsafe): Create the heartbeat thread from eventlet.patcher.original("threading").Thread so it stays a native thread\n' +
        '\n' +
        '1 finding (0 errors, 1 warning, 0 info, 0 hints) in 6 files analysed.\n',
    );
  });

  test('a pbr wsgi_scripts entry embeds init_application() in a WSGI server: green-heartbeat as an error', () => {
    const dir = workspace({
      ...ENTRY_SERVICE,
      'setup.cfg': '[metadata]\nname = svc\n\n[entry_points]\nwsgi_scripts =\n    svc-api-wsgi = svc.api.wsgi:init_application\n',
    });
    const r = runCli(['scan', '--no-cache', '--format', 'json'], { cwd: dir });
    assert.equal(r.status, 1, r.stderr);
    const findings = (JSON.parse(r.stdout) as { findings: { ruleId: string; severity: string; path: string; range: { start: { line: number; column: number } }; message: string; related: { path: string; range: { start: { line: number } }; message: string }[] }[] }).findings;
    assert.deepEqual(
      findings.map((f) => [f.ruleId, f.severity, f.path, f.range.start.line, f.range.start.column]),
      [['green-heartbeat', 'error', 'svc/messaging.py', 19, 9]],
    );
    assert.match(
      findings[0].message,
      /embedded in a WSGI server through the WSGI script 'svc-api-wsgi' \(wsgi_scripts, which calls svc\.api\.wsgi:init_application\(\) for the application\), where nothing runs the eventlet hub between requests/,
    );
    // The script is where the program's calls start: the first call step after the thread start.
    assert.deepEqual(findings[0].related[2], {
      path: 'setup.cfg',
      range: { start: { line: 6, column: 1 }, end: { line: 6, column: 49 } },
      message: "WSGI script 'svc-api-wsgi' (wsgi_scripts) calls svc.api.wsgi:init_application() to get the application a WSGI server embeds",
    });
  });

  test('setup.py and a dist-info entry_points.txt declare scripts too; what cannot be read is a note', () => {
    const viaSetupPy = workspace({
      ...ENTRY_SERVICE,
      'setup.py': 'from setuptools import setup\n\nsetup(\n    name="svc",\n    entry_points={"console_scripts": ["svc-agent = svc.cmd.agent:main"]},\n)\n',
    });
    const a = runCli(['scan', '--no-cache'], { cwd: viaSetupPy });
    assert.equal(a.status, 1, a.stderr);
    assert.match(a.stdout, /^svc\/messaging\.py:19:9: warning green-heartbeat /m);
    assert.match(a.stdout, /^ {2}setup\.py:5:39: console script 'svc-agent' calls svc\.cmd\.agent:main$/m);
    const viaMetadata = workspace({
      ...ENTRY_SERVICE,
      'svc-1.0.dist-info/entry_points.txt': '[console_scripts]\nsvc-agent = svc.cmd.agent:main\n',
      'setup.cfg': '[entry_points]\nconsole_scripts =\n    svc-broken\n',
    });
    const b = runCli(['scan', '--no-cache'], { cwd: viaMetadata });
    assert.equal(b.status, 1, b.stderr);
    assert.match(b.stdout, /^ {2}svc-1\.0\.dist-info\/entry_points\.txt:2:1: console script 'svc-agent' calls svc\.cmd\.agent:main$/m);
    assert.equal(b.stderr, "hazard-lens: note: entry points: setup.cfg:3: 'svc-broken' in group 'console_scripts' is not 'name = module:attr'; not read\n");
  });
});

describe('scan: Python leaks and --fix', () => {
  test('the leak is reported and fails the scan', () => {
    const dir = workspace({ 'app/leak.py': PY_LEAK });
    const r = runCli(['scan'], { cwd: dir });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^app\/leak\.py:2:10: warning unreleased-file Handle 'fh' from open\(\) is not released on every path: it leaks at the return on line 4$/m);
    assert.match(r.stdout, /^ {2}app\/leak\.py:2:10: opened here by open\(\)$/m);
    assert.match(r.stdout, /^ {2}app\/leak\.py:4:9: returns here with the handle still open$/m);
  });

  test('--fix rewrites the file with a with-statement and reports what remains', () => {
    const dir = workspace({ 'app/leak.py': PY_LEAK, 'app/clean.py': 'x = 1\n' });
    const r = runCli(['scan', '--fix'], { cwd: dir });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /^hazard-lens: applied 1 fix to 1 file$/m);
    assert.equal(r.stdout, 'No findings in 2 files analysed.\n');
    const fixed = fs.readFileSync(path.join(dir, 'app', 'leak.py'), 'utf8');
    assert.notEqual(fixed, PY_LEAK);
    assert.match(fixed, /with open\(p\) as fh:/);
    assert.equal(fs.readFileSync(path.join(dir, 'app', 'clean.py'), 'utf8'), 'x = 1\n');
    const again = runCli(['scan', '--fix'], { cwd: dir });
    assert.equal(again.status, 0);
    assert.match(again.stderr, /^hazard-lens: no fixes applied$/m);
    assert.equal(fs.readFileSync(path.join(dir, 'app', 'leak.py'), 'utf8'), fixed);
  });
});

describe('scan: --fix without safe fixes', () => {
  test('files are left alone', () => {
    const dir = workspace({ ...C_LEAK });
    const before = fs.readFileSync(path.join(dir, 'src', 'leak.c'), 'utf8');
    const r = runCli(['scan', '--fix'], { cwd: dir });
    assert.match(r.stderr, /^hazard-lens: no fixes applied$/m);
    // The C fix is unsafe: `--fix` applies safe fixes only.
    assert.equal(fs.readFileSync(path.join(dir, 'src', 'leak.c'), 'utf8'), before);
  });
});

describe('rules', () => {
  test('text and json', () => {
    const dir = workspace({});
    const text = runCli(['rules'], { cwd: dir });
    assert.equal(text.status, 0);
    assert.match(text.stdout, /^unreleased-file \(warning; c, python, typescript\)$/m);
    assert.ok(text.stdout.includes(`  Docs: ${DOCS}/unreleased-file.md\n`));
    const json = JSON.parse(runCli(['rules', '--format', 'json'], { cwd: dir }).stdout) as {
      rules: { id: string; languages: string[]; defaultSeverity: string; summary: string; docsUrl: string }[];
    };
    const rule = json.rules.find((x) => x.id === 'unreleased-file');
    assert.ok(rule);
    assert.deepEqual(rule.languages, ['c', 'python', 'typescript']);
    assert.equal(rule.defaultSeverity, 'warning');
    assert.equal(rule.docsUrl, `${DOCS}/unreleased-file.md`);
    writeTree(dir, { '.hazard-lens.json': JSON.stringify({ docsUrlTemplate: 'https://docs.example/{id}', rules: { 'unreleased-file': 'error' } }) });
    assert.match(runCli(['rules'], { cwd: dir }).stdout, /^unreleased-file \(error, default warning; c, python, typescript\)\n.*\n.*\n {2}Docs: https:\/\/docs\.example\/unreleased-file$/m);
  });
});

describe('lsp', () => {
  test('lsp --stdio answers initialize', async () => {
    const dir = workspace({});
    const child = spawn(process.execPath, [CLI, 'lsp', '--stdio'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    const send = (msg: object) => {
      const body = JSON.stringify({ jsonrpc: '2.0', ...msg });
      child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    let buffer = '';
    const response = new Promise<{ id?: number; result?: { capabilities?: object; serverInfo?: { name: string } } }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no initialize response; stderr: ${stderr}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        for (;;) {
          const header = /^Content-Length: (\d+)\r\n(?:[^\r\n]+\r\n)*\r\n/.exec(buffer);
          if (!header) return;
          const length = Number(header[1]);
          const start = header[0].length;
          if (Buffer.byteLength(buffer.slice(start)) < length) return;
          const body = buffer.slice(start, start + length);
          buffer = buffer.slice(start + length);
          const msg = JSON.parse(body) as { id?: number; result?: { capabilities?: object } };
          if (msg.id === 1) {
            clearTimeout(timer);
            resolve(msg);
            return;
          }
        }
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}; stderr: ${stderr}`)));
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      send({ id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, workspaceFolders: null } });
      const msg = await response;
      assert.ok(msg.result?.capabilities, 'initialize result has capabilities');
      send({ method: 'initialized', params: {} });
      send({ id: 2, method: 'shutdown' });
      send({ method: 'exit' });
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
      assert.notEqual(code, 'timeout', 'the server did not exit after shutdown/exit');
    } finally {
      child.kill();
    }
  });
});
