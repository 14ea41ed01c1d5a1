/**
 * The workspace scanner, called directly with a collecting reporter: which files are taken,
 * which are skipped and why, and that odd file-system shapes never stop or hang a scan.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG, type HazardLensConfig } from '../../server/src/engine/config';
import { scan, type ScanOptions, type ScanReporter, type ScanResult } from '../../server/src/scan/scanner';
import { decodeSource, decodeWindows1252, encodeSource, firstInvalidUtf8, writeSourceFile } from '../../server/src/scan/read';
import { temporaryRepositories, writeTree } from './helpers';

const workspace = temporaryRepositories();

interface Collected {
  result: ScanResult;
  events: string[];
  /** Analysed files, relative, in order. */
  files: string[];
  skipped: Record<string, string>;
}

function config(overrides: Partial<HazardLensConfig> = {}): HazardLensConfig {
  return { ...DEFAULT_CONFIG, rules: {}, exclude: [], ...overrides };
}

async function run(dir: string, options: Partial<ScanOptions> = {}): Promise<Collected> {
  const events: string[] = [];
  const rel = (p: string) => (p === '' ? '' : path.relative(dir, p).split(path.sep).join('/'));
  const reporter: ScanReporter = {
    onStart: (total) => events.push(`start ${total}`),
    onProgress: (done, total, p) => events.push(`progress ${done}/${total} ${rel(p)}`),
    onSkip: (p, reason) => events.push(`skip ${rel(p)}: ${reason}`),
    onNote: (p, note) => events.push(`note ${rel(p)}: ${note}`),
  };
  const result = await scan({ paths: [], cwd: dir, config: config(), ...options }, reporter);
  return {
    result,
    events,
    files: result.analyses.map((a) => rel(a.path)),
    skipped: Object.fromEntries(result.skipped.map((s) => [rel(s.path), s.reason])),
  };
}

const PY = 'x = 1\n';

describe('file discovery', () => {
  test('supported extensions only, sorted, node_modules and VCS directories never entered', async () => {
    const dir = workspace({
      'b.py': PY,
      'a.c': 'int x;\n',
      'z/y.ts': 'export {};\n',
      'z/w.tsx': 'export {};\n',
      'z/h.h': '\n',
      'z/s.pyi': PY,
      'README.md': '# no\n',
      'script.sh': 'echo\n',
      'node_modules/dep/index.ts': 'export {};\n',
      'sub/node_modules/x.py': PY,
      '.git/hooks/hook.py': PY,
      '.svn/x.py': PY,
    });
    const { files, result, events } = await run(dir);
    assert.deepEqual(files, ['a.c', 'b.py', 'z/h.h', 'z/s.pyi', 'z/w.tsx', 'z/y.ts']);
    assert.deepEqual(result.skipped, []);
    assert.equal(result.cancelled, false);
    assert.deepEqual(events, [
      'start 6',
      'progress 1/6 a.c',
      'progress 2/6 b.py',
      'progress 3/6 z/h.h',
      'progress 4/6 z/s.pyi',
      'progress 5/6 z/w.tsx',
      'progress 6/6 z/y.ts',
    ]);
  });

  test('.gitignore files are honoured, nested ones too, with negation', async () => {
    const dir = workspace({
      '.gitignore': 'build/\n*.gen.py\n!keep.gen.py\n/top-only.py\n',
      'build/out.py': PY,
      'src/build/deep.py': PY,
      'src/a.gen.py': PY,
      'src/keep.gen.py': PY,
      'top-only.py': PY,
      'src/top-only.py': PY,
      'pkg/.gitignore': 'local.py\n!b.gen.py\n',
      'pkg/local.py': PY,
      'pkg/b.gen.py': PY,
      'pkg/sub/local.py': PY,
      'pkg/main.py': PY,
      'other/local.py': PY,
      '.git/info/exclude': 'secret.py\n',
      'secret.py': PY,
    });
    const { files } = await run(dir);
    assert.deepEqual(files, ['other/local.py', 'pkg/b.gen.py', 'pkg/main.py', 'src/keep.gen.py', 'src/top-only.py']);
    const all = await run(dir, { respectGitignore: false });
    assert.deepEqual(all.files, [
      'build/out.py',
      'other/local.py',
      'pkg/b.gen.py',
      'pkg/local.py',
      'pkg/main.py',
      'pkg/sub/local.py',
      'secret.py',
      'src/a.gen.py',
      'src/build/deep.py',
      'src/keep.gen.py',
      'src/top-only.py',
      'top-only.py',
    ]);
  });

  test('ignore files above a scanned subdirectory apply, up to the repository root', async () => {
    const dir = workspace({ '.gitignore': '*.gen.py\n', 'src/a.py': PY, 'src/b.gen.py': PY });
    const { files } = await run(dir, { paths: ['src'] });
    assert.deepEqual(files, ['src/a.py']);
  });

  test('a directory named explicitly is scanned even when an ignore file above it ignores it', async () => {
    const dir = workspace({ '.gitignore': 'scratch/\n*.gen.py\n', 'scratch/a.py': PY, 'scratch/sub/b.py': PY, 'scratch/c.gen.py': PY });
    assert.deepEqual((await run(dir)).files, []);
    assert.deepEqual((await run(dir, { paths: ['scratch'] })).files, ['scratch/a.py', 'scratch/sub/b.py']);
  });

  test('config exclude and extra excludes (gitignore syntax, relative to excludeBase)', async () => {
    const dir = workspace({ 'gen/a.py': PY, 'src/b.py': PY, 'src/c_test.py': PY, 'src/gen/d.py': PY, 'e.py': PY });
    const { files } = await run(dir, { config: config({ exclude: ['/gen/', '*_test.py'] }), extraExcludes: ['e.py'] });
    assert.deepEqual(files, ['src/b.py', 'src/gen/d.py']);
    const based = await run(dir, { config: config({ exclude: ['/gen/'] }), excludeBase: path.join(dir, 'src') });
    assert.deepEqual(based.files, ['e.py', 'gen/a.py', 'src/b.py', 'src/c_test.py']);
    // Naming an excluded directory scans it; the other patterns still apply inside it.
    const named = await run(dir, { paths: ['gen', 'src'], config: config({ exclude: ['gen/', '*_test.py'] }) });
    assert.deepEqual(named.files, ['gen/a.py', 'src/b.py']);
    // A .gitignore negation does not undo the scan's own excludes.
    writeTree(dir, { '.gitignore': '!*_test.py\n' });
    assert.deepEqual((await run(dir, { config: config({ exclude: ['*_test.py'] }) })).files, ['e.py', 'gen/a.py', 'src/b.py', 'src/gen/d.py']);
  });

  test('explicit files are analysed even when ignored, unless forceExclude', async () => {
    const dir = workspace({ '.gitignore': 'ignored.py\n', 'ignored.py': PY, 'node_modules/m.py': PY, 'README.md': '' });
    const explicit = await run(dir, { paths: ['ignored.py', 'node_modules/m.py', 'README.md'] });
    assert.deepEqual(explicit.files, ['ignored.py', 'node_modules/m.py']);
    assert.match(explicit.skipped['README.md'], /^unsupported file type \(analysed: \.c \.h \.py/);
    const forced = await run(dir, { paths: ['ignored.py', 'node_modules/m.py', 'node_modules'], forceExclude: true });
    assert.deepEqual(forced.files, []);
    const twice = await run(dir, { paths: ['ignored.py', path.join(dir, 'ignored.py')] });
    assert.deepEqual(twice.files, ['ignored.py']);
  });

  test('a path that does not exist is skipped with a reason', async () => {
    const dir = workspace({ 'a.py': PY });
    const { files, skipped } = await run(dir, { paths: ['missing.py', 'a.py'] });
    assert.deepEqual(files, ['a.py']);
    assert.deepEqual(skipped, { 'missing.py': 'no such file or directory' });
  });
});

describe('files that are not analysed', () => {
  test('binary, too large, broken UTF-8 after a BOM, FIFO and broken symbolic link: skipped with a reason, the rest analysed', async (t) => {
    const dir = workspace({
      'bin.py': Buffer.from('x = 1\n\0\0\0'),
      'big.py': `x = "${'a'.repeat(3000)}"\n`,
      'latin1.py': Buffer.from('# caf\xe9\nx = 1\n', 'latin1'),
      'overlong.py': Buffer.from([0x78, 0x3d, 0xc0, 0xaf, 0x0a]),
      'marked.py': Buffer.from([0xef, 0xbb, 0xbf, 0x78, 0x3d, 0xc0, 0xaf, 0x0a]),
      'ok.py': PY,
    });
    fs.symlinkSync('nowhere.py', path.join(dir, 'dangling.py'));
    fs.symlinkSync('nowhere', path.join(dir, 'dangling-dir'));
    let fifo = false;
    try {
      execFileSync('mkfifo', [path.join(dir, 'pipe.py')]);
      fifo = true;
    } catch {
      t.diagnostic('mkfifo is not available; the FIFO case is not exercised');
    }
    const { files, skipped, events } = await run(dir, { config: config({ maxFileSizeKb: 2 }) });
    // Not UTF-8 and no NUL: decoded as Windows-1252 (an overlong UTF-8 form is just two such bytes).
    assert.deepEqual(files, ['latin1.py', 'ok.py', 'overlong.py']);
    const expected: Record<string, string> = {
      'big.py': 'file is 3 KB, over the 2 KB limit (maxFileSizeKb)',
      'bin.py': 'binary file (NUL byte in the first 8 KB)',
      'dangling.py': 'broken symbolic link',
      'marked.py': 'not valid UTF-8 although it starts with a UTF-8 byte order mark (invalid byte 0xc0 on line 1)',
    };
    if (fifo) expected['pipe.py'] = 'a named pipe (FIFO)';
    assert.deepEqual(skipped, expected);
    // Every file of the list is counted by the progress, skipped or not.
    const total = 6;
    assert.ok(events.includes(`start ${total}`), events.join('\n'));
    assert.ok(events.includes(`progress ${total}/${total} overlong.py`), events.join('\n'));
  });

  test('a FIFO named explicitly is skipped, not opened', async (t) => {
    const dir = workspace({});
    try {
      execFileSync('mkfifo', [path.join(dir, 'pipe.py')]);
    } catch {
      t.skip('mkfifo is not available');
      return;
    }
    const { files, skipped } = await run(dir, { paths: ['pipe.py'] });
    assert.deepEqual(files, []);
    assert.deepEqual(skipped, { 'pipe.py': 'a named pipe (FIFO)' });
  });

  test('unreadable file and directory (as a user without the permission)', async (t) => {
    if (typeof process.getuid === 'function' && process.getuid() === 0) {
      t.skip('running as root, which reads everything; the CLI test covers this as an unprivileged user');
      return;
    }
    const dir = workspace({ 'secret.py': PY, 'locked/a.py': PY, 'ok.py': PY });
    fs.chmodSync(path.join(dir, 'secret.py'), 0o000);
    fs.chmodSync(path.join(dir, 'locked'), 0o000);
    const { files, skipped } = await run(dir);
    assert.deepEqual(files, ['ok.py']);
    assert.deepEqual(skipped, { locked: 'cannot read directory (permission denied)', 'secret.py': 'permission denied' });
  });

  test('UTF-8 decoding: BOM removed, invalid sequences found', () => {
    assert.deepEqual(decodeSource(Buffer.from('\uFEFFx = "é"\n')), { ok: true, text: 'x = "é"\n', bom: true, encoding: 'utf-8' });
    assert.deepEqual(decodeSource(Buffer.from('x = "😀"\n')), { ok: true, text: 'x = "😀"\n', bom: false, encoding: 'utf-8' });
    assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0); // a UTF-16 surrogate
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xf4, 0x90, 0x80, 0x80])), 1); // past U+10FFFF
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82])), 1); // truncated
    assert.equal(firstInvalidUtf8(Buffer.from('aé€😀')), -1);
  });
});

describe('sources that are not UTF-8', () => {
  const ALL_BYTES = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));

  test('Windows-1252: every byte but NUL decodes to one character and encodes back to itself', () => {
    const text = decodeWindows1252(ALL_BYTES);
    assert.equal(text.length, 255);
    // The WHATWG table where Windows-1252 and Latin-1 differ; the unassigned bytes stay C1 controls.
    assert.equal(text[0x80 - 1], '€');
    assert.equal(text[0x81 - 1], '\u0081');
    assert.equal(text[0x97 - 1], '—');
    assert.equal(text[0x9d - 1], '\u009d');
    assert.equal(text[0xe9 - 1], 'é');
    assert.deepEqual(encodeSource(text, 'windows-1252', false), { ok: true, bytes: ALL_BYTES });
    const decoded = decodeSource(Buffer.from('s = "caf\xe9 \x80"\n', 'latin1'));
    assert.deepEqual(decoded, { ok: true, text: 's = "café €"\n', bom: false, encoding: 'windows-1252' });
  });

  test('Windows-1252: a character it cannot represent is refused, and nothing is written', async () => {
    const refused = encodeSource('x = 1\ns = "café ✓"\n', 'windows-1252', false);
    assert.deepEqual(refused, {
      ok: false,
      reason: "the fixed text has U+2713 '✓' (line 2, column 11), which Windows-1252, the file's encoding, cannot represent",
    });
    const dir = workspace({ 'a.py': Buffer.from('s = "\xe9"\n', 'latin1') });
    const file = path.join(dir, 'a.py');
    await assert.rejects(writeSourceFile(file, 's = "é ✓"\n', false, 'windows-1252'), /U\+2713 .*cannot represent; the file was left unchanged/);
    assert.deepEqual(fs.readFileSync(file), Buffer.from('s = "\xe9"\n', 'latin1'));
    await writeSourceFile(file, 's = "è€"\n', false, 'windows-1252');
    assert.deepEqual(fs.readFileSync(file), Buffer.from('s = "\xe8\x80"\n', 'latin1'));
  });

  test('UTF-16 with a byte order mark is decoded, and written back with it', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('x = "é"\n', 'utf16le')]);
    assert.deepEqual(decodeSource(le), { ok: true, text: 'x = "é"\n', bom: true, encoding: 'utf-16le' });
    const be = Buffer.from(le).swap16();
    assert.deepEqual(decodeSource(be), { ok: true, text: 'x = "é"\n', bom: true, encoding: 'utf-16be' });
    assert.deepEqual(encodeSource('x = "é"\n', 'utf-16le', true), { ok: true, bytes: le });
    assert.deepEqual(encodeSource('x = "é"\n', 'utf-16be', true), { ok: true, bytes: be });
    assert.deepEqual(decodeSource(Buffer.from([0xff, 0xfe, 0x78])), { ok: false, reason: 'not valid UTF-16LE (it starts with a UTF-16LE byte order mark)' });
    assert.deepEqual(decodeSource(Buffer.from([0xff, 0xfe, 0x00, 0x00])), { ok: false, reason: 'binary file (NUL character in UTF-16LE text)' });
  });

  test('the scanner reports decoded files and analyses them', async () => {
    const dir = workspace({ 'latin.py': Buffer.from('# caf\xe9\nfh = open("x")\n', 'latin1'), 'ok.py': PY });
    const { files, skipped, result } = await run(dir);
    assert.deepEqual(files, ['latin.py', 'ok.py']);
    assert.deepEqual(skipped, {});
    assert.deepEqual(result.decoded, [{ path: path.join(dir, 'latin.py'), encoding: 'windows-1252' }]);
    assert.equal(result.stats?.decoded, 1);
  });
});

describe('symbolic links', () => {
  test('loops end with a reason; each real directory and file is scanned once, under its real name', async () => {
    const dir = workspace({ 'a/b/c.py': PY, 'real/r.py': PY, 'z.py': PY });
    fs.symlinkSync('..', path.join(dir, 'a', 'b', 'up'));
    fs.symlinkSync('.', path.join(dir, 'self'));
    fs.symlinkSync('real', path.join(dir, 'alias'));
    fs.symlinkSync('z.py', path.join(dir, 'a-link.py'));
    fs.symlinkSync(path.join(dir, 'loop2'), path.join(dir, 'loop1'));
    fs.symlinkSync(path.join(dir, 'loop1'), path.join(dir, 'loop2'));
    fs.symlinkSync('loop1', path.join(dir, 'loop.py'));
    const started = Date.now();
    const { files, skipped } = await run(dir);
    assert.ok(Date.now() - started < 20_000);
    assert.deepEqual(files, ['a/b/c.py', 'real/r.py', 'z.py']);
    assert.deepEqual(skipped, {
      'a-link.py': "same file as 'z.py' (reached through a symbolic link)",
      'a/b/up': "symbolic link loop: it points to 'a', a directory that contains it",
      alias: "symbolic link to a directory already scanned as 'real'",
      'loop.py': 'symbolic link loop (too many levels of symbolic links)',
      self: "symbolic link loop: it points to '.', a directory that contains it",
    });
  });

  test('links out of the scanned tree are skipped with a reason, and followed only when asked', async () => {
    const outside = workspace({ 'lib/x.py': PY, 'secret.py': PY });
    const dir = workspace({ 'main.py': PY, 'inner/y.py': PY });
    fs.symlinkSync(path.join(outside, 'lib'), path.join(dir, 'vendor'));
    fs.symlinkSync(path.join(outside, 'secret.py'), path.join(dir, 'secret.py'));
    fs.symlinkSync(path.join(dir, 'inner'), path.join(dir, 'inner-link')); // stays inside: followed
    const contained = await run(dir);
    assert.deepEqual(contained.files, ['inner/y.py', 'main.py']);
    assert.deepEqual(
      contained.events.filter((e) => e.startsWith('skip')).sort(),
      [
        `skip inner-link: symbolic link to a directory already scanned as 'inner'`,
        `skip secret.py: symbolic link to '${fs.realpathSync(path.join(outside, 'secret.py'))}', outside the scanned folder (not followed; --follow-external-symlinks follows it)`,
        `skip vendor: symbolic link to '${fs.realpathSync(path.join(outside, 'lib'))}', outside the scanned folder (not followed; --follow-external-symlinks follows it)`,
      ],
    );
    const followed = await run(dir, { followExternalSymlinks: true });
    assert.deepEqual(followed.files, ['inner/y.py', 'main.py', 'secret.py', 'vendor/x.py']);
  });
});

describe('analysis', () => {
  test('findings carry absolute paths; overlays replace the disk text; cancelling stops', async () => {
    const dir = workspace({ 'a.py': '# hazard-lens: ignore[unreleased-file]\nx = 1\n', 'b.py': PY });
    const disk = await run(dir);
    assert.deepEqual(
      disk.result.findings.map((f) => [f.ruleId, f.path, f.range.start.line, f.severity]),
      [['unused-suppression', path.join(dir, 'a.py'), 0, 'hint']],
    );
    const overlay = new Map([[path.join(dir, 'a.py'), 'x = 1\n']]);
    assert.deepEqual((await run(dir, { overlay })).result.findings, []);
    const controller = new AbortController();
    controller.abort();
    const cancelled = await run(dir, { signal: controller.signal });
    assert.equal(cancelled.result.cancelled, true);
    assert.deepEqual(cancelled.result.findings, []);
  });

  test('rules switched off in the config are not reported', async () => {
    const dir = workspace({ 'a.py': '# hazard-lens: ignore[no-such-rule]\nx = 1\n' });
    const on = await run(dir);
    assert.equal(on.result.findings.length, 1);
    const off = await run(dir, { config: config({ reportUnusedSuppressions: false }) });
    assert.equal(off.result.findings.length, 0);
  });
});

describe('program rules see the workspace', () => {
  const fixture = path.join(__dirname, '..', 'fixtures', 'programs', 'c-two-programs');

  test('project files found by the scan (compile_commands.json) split the programs', async () => {
    const dir = workspace({});
    fs.cpSync(fixture, dir, { recursive: true });
    const summary = (r: Collected) =>
      r.result.findings.filter((f) => f.ruleId !== 'fd-without-cloexec').map((f) => `${f.ruleId} ${path.relative(dir, f.path)}:${f.range.start.line + 1}`);
    assert.deepEqual(summary(await run(dir)), ['unsafe-call-in-fork-child tool/editor.c:8']);
    // Without the compile commands the two programs merge and the server's thread taints the tool.
    fs.rmSync(path.join(dir, 'tool', 'compile_commands.json'));
    fs.rmSync(path.join(dir, 'server', 'compile_commands.json'));
    assert.deepEqual(summary(await run(dir)), ['fork-in-threaded-program tool/editor.c:6', 'unsafe-call-in-fork-child tool/editor.c:8']);
  });
});
