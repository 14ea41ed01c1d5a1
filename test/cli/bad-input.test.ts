/**
 * The bad-input corpus (issue #13): every kind of file, name and setting a hostile or broken
 * workspace can hold, each built in its own temporary folder beside `good.py` (a leak), and
 * scanned with the CLI as users run it (`node dist/cli/cli.js scan`). Each row states the
 * exact lines the CLI prints about the bad input, its exit code, and whether the leak in
 * `good.py` is still reported: a scan never stops at one bad file, never hangs (every run has
 * a time-out) and never reads forever. Settings the CLI cannot honour stop it with exit 2 and
 * a message naming the key.
 *
 * 100,000 empty files: `npm test` makes HAZARD_LENS_BAD_INPUT_FILES of them (10,000 by
 * default, to keep the suite fast on a small machine); set it to 100000 for the full case.
 * The test prints which count it used.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { ensureBuilt, runCli, temporaryRepositories, unprivilegedUser, type RunResult } from './helpers';

before(() => ensureBuilt());
const workspace = temporaryRepositories();

/** The leak every folder holds next to its bad input, and the report line it gives. */
const GOOD = 'def read(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';
const leakLine = (file: string, line = 2, column = 10) =>
  `${file}:${line}:${column}: warning unreleased-file Handle 'fh' from open() is not released on every path: it leaks at the return on line ${line + 2}`;
const GOOD_LINE = leakLine('good.py');

/** A C leak: the early return on its line 6 skips the fclose (the finding is on line 3, at fopen). */
function cLeak(): string {
  return '#include <stdio.h>\nint first(const char *p) {\n    FILE *f = fopen(p, "r");\n    if (!f) return -1;\n    int c = fgetc(f);\n    if (c < 0) return -2;\n    fclose(f);\n    return c;\n}\n';
}

interface Case {
  name: string;
  /** Makes the bad input in `dir` (which already holds good.py); may return a clean-up. */
  build: (dir: string, t: TestContext) => void | (() => void) | Promise<void | (() => void)> | 'skip';
  args?: string[];
  status: number;
  /** The exact stderr (hazard-lens: lines), in order. */
  stderr: string[];
  /** Lines that must be in stdout (finding lines); by default the good file's leak. */
  stdout?: string[];
  /** Run as this user (unreadable files when the tests run as root). */
  user?: { uid: number; gid: number };
  timeoutMs?: number;
  /** More to check on the folder after the run. */
  check?: (dir: string) => void;
}

const bytes = (...parts: (string | number[] | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

const CASES: Case[] = [
  {
    name: 'binary file',
    build: (dir) => fs.writeFileSync(path.join(dir, 'blob.py'), bytes([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2])),
    status: 1,
    stderr: ['hazard-lens: skipped blob.py: binary file (NUL byte in the first 8 KB)'],
  },
  {
    name: 'invalid UTF-8 without a byte order mark: decoded as Windows-1252 and analysed',
    build: (dir) => fs.writeFileSync(path.join(dir, 'latin.py'), Buffer.from(`# caf\xe9\n${GOOD}`, 'latin1')),
    status: 1,
    stderr: ['hazard-lens: decoded as Windows-1252: latin.py'],
    stdout: [GOOD_LINE, leakLine('latin.py', 3)],
  },
  {
    name: 'invalid UTF-8 after a UTF-8 byte order mark',
    build: (dir) => fs.writeFileSync(path.join(dir, 'marked.py'), bytes([0xef, 0xbb, 0xbf], Buffer.from('s = "\xe9"\n', 'latin1'))),
    status: 1,
    stderr: ['hazard-lens: skipped marked.py: not valid UTF-8 although it starts with a UTF-8 byte order mark (invalid byte 0xe9 on line 1)'],
  },
  {
    name: 'UTF-8 byte order mark: removed, columns unchanged',
    build: (dir) => fs.writeFileSync(path.join(dir, 'bom.py'), bytes([0xef, 0xbb, 0xbf], GOOD)),
    status: 1,
    stderr: [],
    stdout: [leakLine('bom.py'), GOOD_LINE],
  },
  {
    name: 'UTF-16LE and UTF-16BE with a byte order mark',
    build: (dir) => {
      const le = Buffer.from(`\uFEFF${GOOD}`, 'utf16le');
      fs.writeFileSync(path.join(dir, 'le.py'), le);
      fs.writeFileSync(path.join(dir, 'be.py'), Buffer.from(le).swap16());
    },
    status: 1,
    stderr: ['hazard-lens: decoded as UTF-16BE: be.py', 'hazard-lens: decoded as UTF-16LE: le.py'],
    stdout: [leakLine('be.py'), GOOD_LINE, leakLine('le.py')],
  },
  {
    name: 'UTF-16 byte order mark on bytes that are not UTF-16',
    build: (dir) => fs.writeFileSync(path.join(dir, 'odd.py'), bytes([0xff, 0xfe, 0x41])),
    status: 1,
    stderr: ['hazard-lens: skipped odd.py: not valid UTF-16LE (it starts with a UTF-16LE byte order mark)'],
  },
  {
    name: 'CRLF and lone CR line ends: the same lines as with LF',
    build: (dir) => {
      fs.writeFileSync(path.join(dir, 'crlf.py'), GOOD.replace(/\n/g, '\r\n'));
      fs.writeFileSync(path.join(dir, 'cr.py'), GOOD.replace(/\n/g, '\r'));
    },
    status: 1,
    stderr: [],
    stdout: [leakLine('cr.py'), leakLine('crlf.py'), GOOD_LINE],
  },
  {
    // No message: tree-sitter recovers, and C files with macros it cannot read are common.
    name: 'code that does not parse: analysed as far as it goes, the leak after the error found',
    build: (dir) => {
      fs.writeFileSync(path.join(dir, 'broken.py'), `def f(:\n    return ]]]\n\n\n${GOOD}`);
      fs.writeFileSync(path.join(dir, 'broken.c'), `int main( { return }}}} \n${cLeak()}`);
      fs.writeFileSync(
        path.join(dir, 'broken.ts'),
        "export const = => {{{ ;\nimport * as fs from 'fs';\nexport function f(p: string, x: number) {\n  const fd = fs.openSync(p, 'r');\n  if (x > 3) return -2;\n  fs.closeSync(fd);\n  return 0;\n}\n",
      );
    },
    status: 1,
    stderr: [],
    stdout: [
      "broken.c:4:15: warning unreleased-file Handle 'f' from fopen() is not released on every path: it leaks at the return on line 7",
      leakLine('broken.py', 6),
      "broken.ts:4:14: warning unreleased-file Handle 'fd' from fs.openSync() is not released on every path: it leaks at the return on line 5",
      GOOD_LINE,
    ],
  },
  {
    name: 'a file over the size limit (1024 KB by default)',
    build: (dir) => fs.writeFileSync(path.join(dir, 'huge.py'), `x = "${'a'.repeat(1024 * 1024)}"\n`),
    status: 1,
    stderr: ['hazard-lens: skipped huge.py: file is 1025 KB, over the 1024 KB limit (maxFileSizeKb)'],
  },
  {
    name: 'nesting deeper than the guard: not analysed, with the reason',
    build: (dir) => fs.writeFileSync(path.join(dir, 'deep.c'), `int f(void) ${'{'.repeat(300)}${'}'.repeat(300)}\n`),
    status: 1,
    stderr: ['hazard-lens: skipped deep.c: not analysed: brackets are nested 300 levels deep, over the 256 levels the analyses handle (generated code?)'],
  },
  {
    name: 'a NUL byte past the first 8 KB of a C file: analysed, the leak after it found',
    build: (dir) => fs.writeFileSync(path.join(dir, 'late-nul.c'), bytes(`/* ${'x'.repeat(9000)} `, [0], ' */\n', cLeak())),
    status: 1,
    stderr: [],
    stdout: [GOOD_LINE, "late-nul.c:4:15: warning unreleased-file Handle 'f' from fopen() is not released on every path: it leaks at the return on line 7"],
  },
  {
    name: 'a NUL byte past 8 KB in a file that is not UTF-8: skipped as binary, with the reason',
    build: (dir) => fs.writeFileSync(path.join(dir, 'nul-latin.c'), bytes(Buffer.from(`/* ${'x'.repeat(9000)} \xe9`, 'latin1'), [0], ' */\n')),
    status: 1,
    stderr: ['hazard-lens: skipped nul-latin.c: binary file (not UTF-8, and a NUL byte)'],
  },
  {
    name: 'a FIFO: skipped, never opened (no hang)',
    build: (dir, t) => {
      try {
        execFileSync('mkfifo', [path.join(dir, 'pipe.py')]);
      } catch {
        t.diagnostic('skipped: mkfifo is not available');
        return 'skip';
      }
    },
    status: 1,
    stderr: ['hazard-lens: skipped pipe.py: a named pipe (FIFO)'],
    timeoutMs: 30_000,
  },
  {
    name: 'a FIFO named on the command line',
    build: (dir, t) => {
      try {
        execFileSync('mkfifo', [path.join(dir, 'pipe.py')]);
      } catch {
        t.diagnostic('skipped: mkfifo is not available');
        return 'skip';
      }
    },
    args: ['pipe.py', 'good.py'],
    status: 1,
    stderr: ['hazard-lens: skipped pipe.py: a named pipe (FIFO)'],
    timeoutMs: 30_000,
  },
  {
    name: 'a symbolic link to /dev/zero: a device, never opened',
    build: (dir) => fs.symlinkSync('/dev/zero', path.join(dir, 'zero.py')),
    status: 1,
    stderr: ['hazard-lens: skipped zero.py: a character device'],
    timeoutMs: 30_000,
  },
  {
    name: 'a symbolic link to /dev/zero, followed: a device, never read',
    build: (dir) => fs.symlinkSync('/dev/zero', path.join(dir, 'zero.py')),
    args: ['--follow-external-symlinks'],
    status: 1,
    stderr: ['hazard-lens: skipped zero.py: a character device'],
    timeoutMs: 30_000,
  },
  {
    name: 'a Unix socket',
    build: async (dir) => {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path.join(dir, 'sock.py'), resolve);
      });
      return () => server.close();
    },
    status: 1,
    stderr: ['hazard-lens: skipped sock.py: a socket'],
    timeoutMs: 30_000,
  },
  {
    name: 'symbolic link loops: a directory link to its parent, and two file links to each other',
    build: (dir) => {
      fs.mkdirSync(path.join(dir, 'a'));
      fs.symlinkSync('..', path.join(dir, 'a', 'up'));
      fs.symlinkSync('b.py', path.join(dir, 'a.py'));
      fs.symlinkSync('a.py', path.join(dir, 'b.py'));
    },
    status: 1,
    stderr: [
      'hazard-lens: skipped a.py: symbolic link loop (too many levels of symbolic links)',
      'hazard-lens: skipped b.py: symbolic link loop (too many levels of symbolic links)',
      "hazard-lens: skipped a/up: symbolic link loop: it points to '.', a directory that contains it",
    ],
    timeoutMs: 30_000,
  },
  {
    name: 'a symbolic link out of the scanned folder: skipped unless --follow-external-symlinks',
    build: (dir) => {
      const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-outside-')));
      fs.writeFileSync(path.join(outside, 'secret.py'), GOOD);
      fs.symlinkSync(path.join(outside, 'secret.py'), path.join(dir, 'linked.py'));
      return () => fs.rmSync(outside, { recursive: true, force: true });
    },
    status: 1,
    stderr: [/^hazard-lens: skipped linked\.py: symbolic link to '\/.*\/hazard-lens-outside-\w+\/secret\.py', outside the scanned folder \(not followed; --follow-external-symlinks follows it\)$/.source],
  },
  {
    name: 'a symbolic link out of the scanned folder, with --follow-external-symlinks: analysed',
    build: (dir) => {
      const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-outside-')));
      fs.writeFileSync(path.join(outside, 'secret.py'), GOOD);
      fs.symlinkSync(path.join(outside, 'secret.py'), path.join(dir, 'linked.py'));
      return () => fs.rmSync(outside, { recursive: true, force: true });
    },
    args: ['--follow-external-symlinks'],
    status: 1,
    stderr: [],
    stdout: [GOOD_LINE, leakLine('linked.py')],
  },
  {
    name: 'an unreadable file and an unreadable folder (chmod 000)',
    build: (dir, t) => {
      fs.writeFileSync(path.join(dir, 'secret.py'), GOOD);
      fs.mkdirSync(path.join(dir, 'locked'));
      fs.writeFileSync(path.join(dir, 'locked', 'inner.py'), GOOD);
      const user = unprivilegedUser();
      if (user) {
        // Root reads everything: the CLI runs as `nobody`, who must reach the workspace (only
        // the folders below the temporary directory are opened up; /tmp itself is left alone).
        const tmp = path.dirname(dir) + path.sep;
        for (let d = dir; d.startsWith(tmp); d = path.dirname(d)) fs.chmodSync(d, 0o755);
        fs.chmodSync(path.join(dir, 'good.py'), 0o644);
        t.diagnostic(`running as root, which reads every file: the CLI runs as uid ${user.uid}`);
      }
      fs.chmodSync(path.join(dir, 'secret.py'), 0o000);
      fs.chmodSync(path.join(dir, 'locked'), 0o000);
    },
    user: unprivilegedUser(),
    status: 1,
    stderr: ['hazard-lens: skipped locked: cannot read directory (permission denied)', 'hazard-lens: skipped secret.py: permission denied'],
  },
  {
    name: 'a file name that is not UTF-8: scanned, shown with the byte escaped',
    build: (dir) => fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.py')]), GOOD),
    status: 1,
    stderr: [],
    stdout: [leakLine('"caf\\xe9.py"'), GOOD_LINE],
  },
  {
    name: 'a file name that is not UTF-8: --fix writes the fix to that file',
    build: (dir) => fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.py')]), 'def read(p):\n    fh = open(p)\n    return fh.read()\n'),
    args: ['--fix', 'good.py', '.'],
    status: 0,
    stderr: ['hazard-lens: applied 2 fixes to 2 files'],
    stdout: [],
    check: (dir) => {
      const fixed = fs.readFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.py')]), 'utf8');
      assert.equal(fixed, 'def read(p):\n    with open(p) as fh:\n        return fh.read()\n');
    },
  },
  {
    name: 'a folder name that is not UTF-8',
    build: (dir) => {
      const folder = Buffer.concat([Buffer.from(`${dir}/d`), Buffer.from([0xff])]);
      fs.mkdirSync(folder);
      fs.writeFileSync(Buffer.concat([folder, Buffer.from('/inner.py')]), GOOD);
    },
    status: 1,
    stderr: [],
    stdout: [leakLine('"d\\xff/inner.py"'), GOOD_LINE],
  },
  {
    name: 'a newline and other control characters in file names: one report line each',
    build: (dir) => {
      fs.writeFileSync(path.join(dir, 'new\nline.py'), GOOD);
      fs.writeFileSync(path.join(dir, 'tab\there.py'), GOOD);
      fs.writeFileSync(path.join(dir, '\u202eyp.evil.py'), GOOD);
    },
    status: 1,
    stderr: [],
    stdout: [GOOD_LINE, leakLine('"new\\nline.py"'), leakLine('"tab\\there.py"'), leakLine('"\\u202eyp.evil.py"')],
  },
  {
    name: 'a skipped file with a newline in its name: one stderr line',
    build: (dir) => fs.writeFileSync(path.join(dir, 'bin\nary.py'), bytes([0, 1, 2])),
    status: 1,
    stderr: ['hazard-lens: skipped "bin\\nary.py": binary file (NUL byte in the first 8 KB)'],
  },
  {
    name: 'settings: invalid JSON stops the scan at its line:column',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), '{ "exclude": ['),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json:1:15: invalid JSON (close bracket expected)', 'hazard-lens: .hazard-lens.json:1:15: invalid JSON (close brace expected)'],
    stdout: [],
  },
  {
    name: 'settings: a missing comma is named at its line:column',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), '{\n  "rules": { "unreleased-file": "off" }\n  "exclude": []\n}\n'),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json:3:3: invalid JSON (comma expected)'],
    stdout: [],
  },
  {
    name: 'settings: comments and trailing commas are allowed (JSON with comments, as tsconfig.json)',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), '{\n  // switched off while the team migrates\n  "rules": { "unreleased-file": "off", },\n  /* none */\n}\n'),
    status: 0,
    stderr: [],
    stdout: [],
  },
  {
    name: 'settings: a misspelt severity stops the scan, naming the key, and does not drop the rest of "rules"',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), JSON.stringify({ rules: { 'unreleased-file': 'off', 'fd-without-cloexec': 'eror' } })),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json: "rules.fd-without-cloexec" is invalid (expected one of "off", "error", "warning", "info", "hint", got "eror")'],
    stdout: [],
  },
  {
    name: 'settings: a bad nested .hazard-lens.json stops the scan too',
    build: (dir) => {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'inner.py'), GOOD);
      fs.writeFileSync(path.join(dir, 'sub', '.hazard-lens.json'), '{ "rules": { "unreleased-file": "of" } }');
    },
    status: 2,
    stderr: ['hazard-lens: sub/.hazard-lens.json: "rules.unreleased-file" is invalid (expected one of "off", "error", "warning", "info", "hint", got "of")'],
    stdout: [],
  },
  {
    name: 'settings: a nested .hazard-lens.json that sets a program-wide key is warned about; its rules apply',
    build: (dir) => {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'inner.py'), GOOD);
      fs.writeFileSync(path.join(dir, 'sub', '.hazard-lens.json'), JSON.stringify({ rules: { 'unreleased-file': 'off' }, targetPlatform: 'macos' }));
    },
    status: 1,
    stderr: [
      'hazard-lens: warning: sub/.hazard-lens.json: "targetPlatform" applies to the whole program and is read from the project\'s configuration file only; ignored here (a nested file decides "rules" and "reportUnusedSuppressions")',
    ],
    stdout: [GOOD_LINE],
  },
  {
    name: 'settings: an unknown rule severity',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), JSON.stringify({ rules: { 'unreleased-file': 'fatal' } })),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json: "rules.unreleased-file" is invalid (expected one of "off", "error", "warning", "info", "hint", got "fatal")'],
    stdout: [],
  },
  {
    name: 'settings: a bad targetPlatform',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), JSON.stringify({ targetPlatform: 'amiga' })),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json: "targetPlatform" is invalid (Invalid option: expected one of "linux"|"macos"|"freebsd"|"openbsd"|"netbsd"|"solaris"|"aix"|"zos"|"qnx"|"windows")'],
    stdout: [],
  },
  {
    name: 'settings: a docsUrlTemplate that is a script URL',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), JSON.stringify({ docsUrlTemplate: 'javascript:alert("{id}")' })),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json: "docsUrlTemplate" is invalid (must start with https://, http:// or file://)'],
    stdout: [],
  },
  {
    name: 'settings: not an object',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), '[]'),
    status: 2,
    stderr: ['hazard-lens: .hazard-lens.json: expected an object, got an array'],
    stdout: [],
  },
  {
    name: 'settings: a .hazard-lens.json that cannot be read',
    build: (dir, t) => {
      fs.writeFileSync(path.join(dir, '.hazard-lens.json'), '{}');
      const user = unprivilegedUser();
      if (user) {
        const tmp = path.dirname(dir) + path.sep;
        for (let d = dir; d.startsWith(tmp); d = path.dirname(d)) fs.chmodSync(d, 0o755);
        t.diagnostic(`running as root, which reads every file: the CLI runs as uid ${user.uid}`);
      }
      fs.chmodSync(path.join(dir, '.hazard-lens.json'), 0o000);
    },
    user: unprivilegedUser(),
    status: 2,
    stderr: ['hazard-lens: cannot read config file .hazard-lens.json: permission denied'],
    stdout: [],
  },
  {
    name: 'settings: an unknown setting is only a warning',
    build: (dir) => fs.writeFileSync(path.join(dir, '.hazard-lens.json'), JSON.stringify({ colour: true })),
    status: 1,
    stderr: ['hazard-lens: warning: .hazard-lens.json: unknown setting "colour" ignored'],
  },
];

/** The lines of the CLI's stderr, each matched exactly (or as a pattern, for paths that vary). */
function assertStderr(actual: string, expected: string[], context: string): void {
  const lines = actual.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, expected.length, `${context}: stderr was\n${actual}`);
  expected.forEach((want, i) => {
    if (want.startsWith('^')) assert.match(lines[i], new RegExp(want), context);
    else assert.equal(lines[i], want, context);
  });
}

describe('bad input: each case beside a good file', () => {
  for (const c of CASES) {
    test(c.name, async (t) => {
      const dir = workspace({ 'good.py': GOOD });
      const built = await c.build(dir, t);
      if (built === 'skip') {
        t.skip('see the diagnostic');
        return;
      }
      let r: RunResult;
      try {
        r = runCli(['scan', '--no-cache', ...(c.args ?? [])], { cwd: dir, timeoutMs: c.timeoutMs ?? 60_000, ...(c.user ?? {}) });
      } finally {
        if (typeof built === 'function') built();
      }
      assert.equal(r.signal, null, `${c.name}: cut off by the time-out (a hang)`);
      assertStderr(r.stderr, c.stderr, c.name);
      assert.equal(r.status, c.status, `${c.name}: exit code; stdout:\n${r.stdout}`);
      const findingLines = r.stdout.split('\n').filter((l) => /^\S.*:\d+:\d+: /.test(l));
      assert.deepEqual(findingLines, c.stdout ?? [GOOD_LINE], c.name);
      c.check?.(dir);
    });
  }
});

describe('bad input: many empty files', () => {
  const count = Number(process.env.HAZARD_LENS_BAD_INPUT_FILES ?? 10_000);
  let dir: string;
  before(() => {
    dir = workspace({ 'good.py': GOOD });
    const folder = path.join(dir, 'empty');
    fs.mkdirSync(folder);
    // All in one folder: the walk lists and sorts them at once.
    for (let i = 0; i < count; i++) fs.closeSync(fs.openSync(path.join(folder, `e${i}.py`), 'w'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the scan finishes and reports the good file', (t) => {
    t.diagnostic(`${count} empty files (HAZARD_LENS_BAD_INPUT_FILES=100000 for the full case)`);
    const started = Date.now();
    const r = runCli(['scan', '--no-cache'], { cwd: dir, timeoutMs: 600_000 });
    t.diagnostic(`scanned in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(r.signal, null, 'cut off by the time-out');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 1);
    assert.ok(r.stdout.startsWith(`${GOOD_LINE}\n`), r.stdout);
    assert.match(r.stdout, new RegExp(`^1 finding \\(0 errors, 1 warning, 0 info, 0 hints\\) in ${count + 1} files analysed\\.`, 'm'));
  });
});

/**
 * Issue #13 item 3: the nesting guard (256 levels) is the analyses' depth budget. A file just
 * under it must be analysed fully, and the same way on the main thread (`-j 0`) as in worker
 * threads, whose stacks differ in size.
 */
describe('nesting just under the guard', () => {
  const depth = 254;
  const files: Record<string, string> = {
    'blocks.c': `#include <stdio.h>\nint f(const char *p, int x) {\n${'if (x) {\n'.repeat(depth)}FILE *fp = fopen(p, "r");\nif (!fp) return -1;\nif (x > 3) return -2;\nfclose(fp);\n${'}\n'.repeat(depth)}return 0;\n}\n`,
    'blocks.ts': `import * as fs from 'fs';\nexport function f(p: string, x: number) {\n${'if (x) {\n'.repeat(depth)}const fd = fs.openSync(p, 'r');\nif (x > 3) return -2;\nfs.closeSync(fd);\n${'}\n'.repeat(depth)}return 0;\n}\n`,
    // One space per level: Python lines indented past 256 columns are not parsed (the guard).
    'blocks.py': `def f(p, x):\n${Array.from({ length: depth - 1 }, (_, i) => `${' '.repeat(i + 1)}if x:\n`).join('')}${' '.repeat(depth)}fh = open(p)\n${' '.repeat(depth)}if x > 3:\n${' '.repeat(depth + 1)}return None\n${' '.repeat(depth)}fh.close()\n`,
    'calls.c': `#include <stdio.h>\nint g(int);\nint h(const char *p, int x) {\nFILE *fp = fopen(p, "r");\nint v = ${'g('.repeat(depth)}x${')'.repeat(depth)};\nif (v) return 1;\nfclose(fp);\nreturn 0;\n}\n`,
    'calls.ts': `import * as fs from 'fs';\nexport function h(p: string, x: number) {\nconst fd = fs.openSync(p, 'r');\nconst v = ${'g('.repeat(depth)}x${')'.repeat(depth)};\nif (v) return 1;\nfs.closeSync(fd);\nreturn 0;\n}\nfunction g(n: number) { return n; }\n`,
    'calls.py': `def h(p, x):\n fh = open(p)\n v = ${'g('.repeat(depth)}x${')'.repeat(depth)}\n if v:\n  return 1\n fh.close()\n`,
  };

  test(`${depth} nested blocks and calls in C, Python and TypeScript: fully analysed, the same with -j 0 and 2 workers`, () => {
    const dir = workspace(files);
    const runs = ['0', '2'].map((jobs) => runCli(['scan', '--no-cache', '-j', jobs, '--format', 'json'], { cwd: dir, timeoutMs: 120_000 }));
    for (const r of runs) {
      assert.equal(r.signal, null, 'cut off by the time-out');
      assert.equal(r.stderr, '');
      assert.equal(r.status, 1);
    }
    assert.equal(runs[1].stdout, runs[0].stdout, 'worker threads and the main thread report the same');
    const report = JSON.parse(runs[0].stdout) as { findings: { path: string; ruleId: string; range: { start: { line: number } } }[]; summary: { partlyAnalysed: number; skipped: number } };
    assert.deepEqual(report.summary.partlyAnalysed, 0);
    assert.deepEqual(report.summary.skipped, 0);
    assert.deepEqual(
      report.findings.map((f) => `${f.path}:${f.range.start.line} ${f.ruleId}`),
      ['blocks.c:257 unreleased-file', 'blocks.py:255 unreleased-file', 'blocks.ts:257 unreleased-file', 'calls.c:4 unreleased-file', 'calls.py:2 unreleased-file', 'calls.ts:3 unreleased-file'],
    );
  });
});
