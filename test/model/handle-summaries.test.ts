/**
 * Handle summaries across files (test/fixtures/programs/ts-leak-through-helpers,
 * js-fs-wrapper-module, py-leak-through-helpers, c-leak-through-helpers, c-helper-returns-handle, py-helper-stores-handle
 * and the pass-through fixtures py-, ts- and c-pass-through-helpers): a handle returned by another module's
 * helper, or opened through a module that re-exports fs, is the caller's to release; a handle
 * passed through another module's helper that returns it goes on in the result, and one passed
 * to another module's helper that closes it is released. Asserts the exact unreleased-file
 * findings with their chains into the other files, the silent counterparts, and that
 * editing the helper's module changes the caller's findings.
 */
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { Finding } from '../../server/src/analysis/results';
import { analysesAfterEdit, grammarsReady, loadWorkspace, type LoadedWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');

type Scenario = LoadedWorkspace;

function load(name: string): Scenario {
  return loadWorkspace(join(PROGRAMS, name), ROOT, { cleanNotes: true });
}

function rel(s: Scenario, p: string): string {
  return relative(s.dir, join(ROOT, p)).split('\\').join('/');
}

function leaks(s: Scenario, files = s.files): Finding[] {
  const { findings, notes } = evaluate(files, DEFAULT_CONFIG, { roots: [s.dir], projectFiles: s.projectFiles });
  assert.deepEqual(notes, []);
  return findings.filter((f) => f.ruleId === 'unreleased-file');
}

/** `path:line:col message` and the chain as `path:line message`. */
function describeFinding(s: Scenario, f: Finding): string[] {
  return [`${rel(s, f.path)}:${f.range.start.line + 1}:${f.range.start.character + 1} ${f.message}`, ...f.related.map((r) => `  ${rel(s, r.path)}:${r.range.start.line + 1} ${r.message}`)];
}

const edited = analysesAfterEdit;

describe('handle summaries across modules', () => {
  before(grammarsReady);

  test('a helper in another module that returns a fresh handle (directly, wrapped, or through another helper) is an opener', () => {
    const s = load('ts-leak-through-helpers');
    assert.deepEqual(leaks(s).filter((f) => rel(s, f.path) !== 'src/check.ts').flatMap((f) => describeFinding(s, f)), [
      "src/index.ts:6:22 Handle 'blob' from BlobFile.openForRead() is not released on every path: it leaks at an exception raised on line 7",
      '  src/index.ts:6 opened here by BlobFile.openForRead()',
      '  src/io/blob-file.ts:9 BlobFile.openForRead() returns a new handle from promisify(fs.open)() here',
      '  src/index.ts:7 an exception here leaves the handle open',
      "src/index.ts:25:22 Handle 'blob' from openBlob() is not released on every path: it leaks at an exception raised on line 26",
      '  src/index.ts:25 opened here by openBlob()',
      '  src/io/streams.ts:10 openBlob() returns what BlobFile.openForRead() returns',
      '  src/io/blob-file.ts:9 BlobFile.openForRead() returns a new handle from promisify(fs.open)() here',
      '  src/index.ts:26 an exception here leaves the handle open',
      "src/index.ts:32:15 Handle 'out' from openExport() is not released on every path: it leaks at an exception raised on line 33",
      '  src/index.ts:32 opened here by openExport()',
      '  src/io/streams.ts:6 openExport() returns a new handle from fs.createWriteStream() here',
      '  src/index.ts:33 an exception here leaves the handle open',
    ]);
  });

  test('the caller’s finding follows an edit of the helper’s module', () => {
    const s = load('ts-leak-through-helpers');
    const files = edited(s, 'src/io/streams.ts', 'const out = fs.createWriteStream(path);', 'const out = process.stdout as unknown as fs.WriteStream;');
    assert.deepEqual(
      leaks(s, files).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1}`),
      ['src/check.ts:6', 'src/check.ts:30', 'src/index.ts:6', 'src/index.ts:25'],
    );
  });

  test('a handle passed to another module’s helper that only reads it is still the caller’s to close', () => {
    const s = load('ts-leak-through-helpers');
    const found = leaks(s).filter((f) => rel(s, f.path) === 'src/check.ts' && f.range.start.line + 1 === 30);
    assert.deepEqual(found.flatMap((f) => describeFinding(s, f)), [
      "src/check.ts:30:14 Handle 'fd' from fs.openSync() is not released on every path: it leaks at the return on line 31",
      '  src/check.ts:30 opened here by fs.openSync()',
      '  src/io/inspect.ts:6 readMagicBytes() only uses the handle passed to it (argument 1): it neither closes nor keeps it',
      '  src/check.ts:31 returns here with the handle still open',
    ]);
    const keeps = edited(s, 'src/io/inspect.ts', 'fs.readSync(fd, buf, 0, 4, 0);', 'fs.readSync(fd, buf, 0, 4, 0);\n  parked.push(fd);');
    assert.deepEqual(
      leaks(s, keeps)
        .filter((f) => rel(s, f.path) === 'src/check.ts')
        .map((f) => f.range.start.line + 1),
      [6],
    );
  });

  test('a module that re-exports fs opens real descriptors; a look-alike module does not', () => {
    const s = load('js-fs-wrapper-module');
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "lib/util/times.js:6:14 Handle 'fd' from fs.openSync() is not released on every path: it leaks at an exception raised on line 7",
      '  lib/util/times.js:6 opened here by fs.openSync()',
      "  lib/fs/index.js:4 this module re-exports the fs module, so '../fs' opens real descriptors",
      '  lib/util/times.js:7 an exception here leaves the handle open',
    ]);
    const without = edited(s, 'lib/fs/index.js', 'Object.assign(exports, fs)', 'exports.stat = fs.stat');
    assert.deepEqual(leaks(s, without), []);
  });

  test('Python: an imported helper that returns an open file, directly or passed on by another module, is an opener', () => {
    const s = load('py-leak-through-helpers');
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "pkg/reader.py:8:12 Handle 'blob' from store.open_blob() is not released on every path: it leaks at an exception raised on line 9",
      '  pkg/reader.py:8 opened here by store.open_blob()',
      '  pkg/store.py:5 open_blob() returns a new handle from open() here',
      '  pkg/reader.py:9 an exception here leaves the handle open',
      "pkg/reader.py:22:12 Handle 'blob' from fetch_blob() is not released on every path: it leaks at an exception raised on line 23",
      '  pkg/reader.py:22 opened here by fetch_blob()',
      '  pkg/api.py:6 fetch_blob() returns what open_blob() returns',
      '  pkg/store.py:5 open_blob() returns a new handle from open() here',
      '  pkg/reader.py:23 an exception here leaves the handle open',
    ]);
    const closedInHelper = edited(s, 'pkg/store.py', 'blob = open(path, "rb")\n    return blob', 'with open(path, "rb") as blob:\n        return blob.name');
    assert.deepEqual(leaks(s, closedInHelper), []);
  });

  test('C: a descriptor passed to a function of another file that only reads it is still the caller’s to close', () => {
    const s = load('c-leak-through-helpers');
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "loader.c:10:14 Handle 'fd' from open() is not released on every path: it leaks at the return on line 14",
      '  loader.c:10 opened here by open()',
      '  io.c:6 read_header() only uses the handle passed to it (argument 1): it neither closes nor keeps it',
      '  loader.c:14 returns here with the handle still open',
    ]);
    const keeps = edited(s, 'io.c', 'return (int)read(fd, buf, len);', 'table[0] = fd;\n    return (int)read(fd, buf, len);');
    assert.deepEqual(leaks(s, keeps), []);
  });
  test('C: a function of another file that returns a fresh handle (declared in a header) is an opener at its call sites', () => {
    const s = load('c-helper-returns-handle');
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "writer.c:9:14 Handle 'fd' from spool_open() is not released on every path: it leaks at the return on line 13",
      '  writer.c:9 opened here by spool_open()',
      '  spool.c:12 spool_open() returns a new handle from open() here',
      '  writer.c:13 returns here with the handle still open',
      "writer.c:30:15 Handle 'f' from spool_stream() is not released on every path: it leaks at the return on line 35",
      '  writer.c:30 opened here by spool_stream()',
      '  spool.c:20 spool_stream() returns a new handle from fopen() here',
      '  writer.c:35 returns here with the handle still open',
    ]);
    // A helper that hands out a descriptor it keeps is no opener: the caller's findings go.
    const cached = edited(s, 'spool.c', 'return fd;', 'cached_fd = fd;\n    return cached_fd;');
    assert.deepEqual(leaks(s, cached).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1}`), ['writer.c:30']);
  });
  test('Python: a function of another module that keeps the handle it is given (a list, a dict, a global) takes it over', () => {
    const s = load('py-helper-stores-handle');
    const registry = s.files.find((f) => rel(s, f.path) === 'journal/registry.py');
    assert.deepEqual(
      registry?.handleSummary?.parametersStored?.map((p) => `${p.functionName}: ${p.parameters.join(',')}`),
      ['keep: 0', 'keep_named: 1', 'make_current: 0'],
    );
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "journal/writer.py:22:15 Handle 'segment' from open() is not released on every path: it leaks at the return on line 23",
      '  journal/writer.py:22 opened here by open()',
      '  journal/writer.py:23 returns here with the handle still open',
    ]);
    // A registry that forgets what it is given: the handle passed to it leaks.
    const forgets = edited(s, 'journal/registry.py', '_OPEN_FILES.append(handle)', 'print(label(handle))');
    assert.deepEqual(leaks(s, forgets).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1}`), ['journal/writer.py:7', 'journal/writer.py:22']);
  });

  test('Python: a handle passed through another module’s helper goes on in its result; one given to a helper that closes it is released', () => {
    const s = load('py-pass-through-helpers');
    const summary = (p: string) => s.files.find((f) => rel(s, f.path) === p)?.handleSummary;
    assert.deepEqual(summary('media/util.py')?.parametersReturned?.map((p) => `${p.functionName}: ${p.parameters.join(',')}`), ['ensure_open: 0']);
    assert.deepEqual(summary('media/io_util.py')?.parametersReleased?.map((p) => `${p.functionName}: ${p.parameters.join(',')}`), ['close_quietly: 0', 'close_and_note: 0']);
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      // Through two modules: compat.py returns what util.py's pass-through returns.
      "media/archive.py:6:9 Handle 'stream' from open() is not released on every path: it leaks at the return on line 8",
      '  media/archive.py:6 opened here by open()',
      '  media/compat.py:7 ensure_readable() returns what util.ensure_open() returns for its argument 1',
      '  media/util.py:7 ensure_open() returns its argument 1 here, so the handle goes on in its result',
      "  media/archive.py:7 the handle goes on as 'stream' here: ensure_readable() returns it",
      '  media/archive.py:8 returns here with the handle still open',
      "media/loader.py:7:9 Handle 'checked' from open() is not released on every path: it leaks at the return on line 10",
      '  media/loader.py:7 opened here by open()',
      '  media/util.py:7 ensure_open() returns its argument 1 here, so the handle goes on in its result',
      "  media/loader.py:8 the handle goes on as 'checked' here: ensure_open() returns it",
      '  media/loader.py:10 returns here with the handle still open',
      "media/loader.py:31:9 Handle 'f' from open() is not released on every path: it leaks at the return on line 33",
      '  media/loader.py:31 opened here by open()',
      '  media/loader.py:33 returns here with the handle still open',
      "media/loader.py:37:9 Handle 'f' from open() is not released on every path: it leaks at the return on line 41",
      '  media/loader.py:37 opened here by open()',
      '  media/loader.py:41 returns here with the handle still open',
    ]);
    // A helper that no longer hands the stream back: the handle stays 'f', which nobody closes.
    const notPassedOn = edited(s, 'media/util.py', '    return stream\n', '    return stream.name\n');
    assert.deepEqual(leaks(s, notPassedOn).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1} ${f.related.at(-1)?.message}`), [
      'media/archive.py:6 returns here with the handle still open',
      'media/loader.py:7 returns here with the handle still open',
      'media/loader.py:14 returns here with the handle still open',
      'media/loader.py:31 returns here with the handle still open',
      'media/loader.py:37 returns here with the handle still open',
    ]);
    // A "closer" that only flushes: the stream given to it leaks.
    const flushes = edited(s, 'media/io_util.py', '        stream.close()', '        stream.flush()');
    // (compat.py's release() passes it on to close_quietly(): that stream leaks too.)
    assert.deepEqual(leaks(s, flushes).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1}`), [
      'media/archive.py:6',
      'media/archive.py:12',
      'media/loader.py:7',
      'media/loader.py:23',
      'media/loader.py:31',
      'media/loader.py:37',
    ]);
    const summary2 = s.files.find((f) => rel(s, f.path) === 'media/compat.py')?.handleSummary;
    assert.deepEqual(summary2?.parametersForwarded?.map((p) => `${p.functionName}(${p.parameter}) -> ${p.callee.display}(${p.argument})${p.returned ? ' returned' : ''}`), [
      'ensure_readable(0) -> util.ensure_open(0) returned',
      'release(0) -> close_quietly(0)',
    ]);
  });

  test('TypeScript: a descriptor passed through another module’s helper that returns it goes on in its result', () => {
    const s = load('ts-pass-through-helpers');
    const util = s.files.find((f) => rel(s, f.path) === 'src/fd-util.ts');
    assert.deepEqual(util?.handleSummary?.parametersReturned?.map((p) => `${p.functionName}: ${p.parameters.join(',')}`), ['ensureFd: 0']);
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "src/archive.ts:6:14 Handle 'readable' from fs.openSync() is not released on every path: it leaks at the return on line 8",
      '  src/archive.ts:6 opened here by fs.openSync()',
      '  src/compat.ts:5 ensureReadable() returns what ensureFd() returns for its argument 1',
      '  src/fd-util.ts:6 ensureFd() returns its argument 1 here, so the handle goes on in its result',
      "  src/archive.ts:7 the handle goes on as 'readable' here: ensureReadable() returns it",
      '  src/archive.ts:8 returns here with the handle still open',
      "src/index.ts:7:14 Handle 'checked' from fs.openSync() is not released on every path: it leaks at the return on line 9",
      '  src/index.ts:7 opened here by fs.openSync()',
      '  src/fd-util.ts:6 ensureFd() returns its argument 1 here, so the handle goes on in its result',
      "  src/index.ts:8 the handle goes on as 'checked' here: ensureFd() returns it",
      '  src/index.ts:9 returns here with the handle still open',
      "src/index.ts:32:14 Handle 'fd' from fs.openSync() is not released on every path: it leaks at the return on line 34",
      '  src/index.ts:32 opened here by fs.openSync()',
      '  src/fd-util.ts:9 readMagic() only uses the handle passed to it (argument 1): it neither closes nor keeps it',
      '  src/index.ts:34 returns here with the handle still open',
    ]);
    // A helper that returns a number computed from the descriptor only uses it: 'fd' itself leaks.
    const computed = edited(s, 'src/fd-util.ts', '  return fd;', '  return fd + 0;');
    assert.deepEqual(leaks(s, computed).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1} '${f.message.split("'")[1]}'`), [
      "src/index.ts:7 'fd'",
      "src/index.ts:13 'fd'",
      "src/index.ts:32 'fd'",
    ]);
  });

  test('C: a descriptor passed through a function of another file that returns it goes on in its result', () => {
    const s = load('c-pass-through-helpers');
    const util = s.files.find((f) => rel(s, f.path) === 'fdutil.c');
    assert.deepEqual(util?.handleSummary?.parametersReturned?.map((p) => `${p.functionName}: ${p.parameters.join(',')}`), ['checked_fd: 0']);
    assert.deepEqual(leaks(s).flatMap((f) => describeFinding(s, f)), [
      "archive.c:8:14 Handle 'in' from open() is not released on every path: it leaks at the return on line 14",
      '  archive.c:8 opened here by open()',
      '  compat.c:7 checked_readable() returns what checked_fd() returns for its argument 1',
      '  fdutil.c:10 checked_fd() returns its argument 1 here, so the handle goes on in its result',
      "  archive.c:11 the handle goes on as 'in' here: checked_readable() returns it",
      '  archive.c:14 returns here with the handle still open',
      "loader.c:8:14 Handle 'in' from open() is not released on every path: it leaks at the return on line 14",
      '  loader.c:8 opened here by open()',
      '  fdutil.c:10 checked_fd() returns its argument 1 here, so the handle goes on in its result',
      "  loader.c:11 the handle goes on as 'in' here: checked_fd() returns it",
      '  loader.c:14 returns here with the handle still open',
      "loader.c:33:14 Handle 'fd' from open() is not released on every path: it leaks at the return on line 37",
      '  loader.c:33 opened here by open()',
      '  fdutil.c:13 read_magic() only uses the handle passed to it (argument 1): it neither closes nor keeps it',
      '  loader.c:37 returns here with the handle still open',
    ]);
    const computed = edited(s, 'fdutil.c', '    return fd;', '    return fd + 0;');
    assert.deepEqual(leaks(s, computed).map((f) => `${rel(s, f.path)}:${f.range.start.line + 1} '${f.message.split("'")[1]}'`), ["loader.c:8 'fd'", "loader.c:21 'fd'", "loader.c:33 'fd'"]);
  });
});
