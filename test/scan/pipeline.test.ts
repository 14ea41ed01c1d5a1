/**
 * The scan pipeline: worker threads, the persistent analysis cache, the keyword prefilter
 * and sharding must not change a scan's result. Every variant is compared with a plain scan
 * (main thread, no cache, prefilter on) of the same multi-language corpus, which holds
 * program-level findings: `examples/`, `test/fixtures/programs/` and a few files with
 * suppression comments, copied to a temporary workspace.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../server/src/cli/cli';
import { DiskCache, MAX_PACKS, pruneCache } from '../../server/src/engine/cache';
import { DEFAULT_CONFIG, type HazardLensConfig } from '../../server/src/engine/config';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { readCachedAnalysis } from '../../server/src/scan/file-task';
import { AnalysisPool } from '../../server/src/scan/pool';
import { formatReport } from '../../server/src/scan/reporters/index';
import { extractFacts, scan, type ScanOptions, type ScanResult, type ScanStats } from '../../server/src/scan/scanner';

const ROOT = path.join(__dirname, '..', '..');
const temps: string[] = [];
after(() => {
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  temps.push(dir);
  return dir;
}

let corpus = '';
let baseline = '';
let baselineResult: ScanResult;
/** The baseline's analyses in full (a scan keeps only path, language and hash of each). */
let baselineAnalyses: FileAnalysis[];
let fileCount = 0;

const config: HazardLensConfig = { ...DEFAULT_CONFIG, rules: {}, exclude: [] };

function json(result: ScanResult): string {
  return formatReport('json', result, { cwd: corpus, config, summary: true });
}

function run(options: Partial<ScanOptions>): Promise<ScanResult> {
  return scan({ paths: [], cwd: corpus, config, jobs: 0, minFilesForWorkers: 1, ...options });
}

function stats(result: ScanResult): ScanStats {
  assert.ok(result.stats, 'the scan reports statistics');
  return result.stats;
}

/** Cache entries of the current build, as files. */
function entries(cacheDir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) visit(full);
      else out.push(full);
    }
  };
  visit(new DiskCache(cacheDir).root);
  return out.sort();
}

/** An analysis as the cache gives it back (JSON: no `undefined` fields). */
function asStored(analysis: FileAnalysis): FileAnalysis {
  return JSON.parse(JSON.stringify(analysis)) as FileAnalysis;
}

/** The pack files of the current build's cache. */
function packs(cacheDir: string): string[] {
  return entries(cacheDir).filter((e) => e.endsWith('.pack'));
}

/** The text of the analysis entry stored under `key`, with where it is. */
function packedEntry(cacheDir: string, key: string): { file: string; offset: number; length: number; text: string } {
  const cache = new DiskCache(cacheDir);
  const at = cache.analysisEntries().get(key);
  assert.ok(at, `an entry for ${key}`);
  const file = path.join(cache.packsDir, at.pack);
  const text = fs.readFileSync(file).subarray(at.offset, at.offset + at.length).toString('utf8');
  return { file, offset: at.offset, length: at.length, text };
}

/** Appends an entry's text to a pack and a line naming it under `key` to the pack's index (a newer entry of the key). */
function appendEntry(pack: string, key: string, text: string): void {
  const offset = fs.statSync(pack).size;
  fs.appendFileSync(pack, `${text}\n`);
  fs.appendFileSync(pack.replace(/\.pack$/, '.index'), `${key} ${offset} ${Buffer.byteLength(text)}\n`);
}

/** Runs the CLI in this process; stdout and stderr are collected. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c), isTTY: false },
    cwd: corpus,
  });
  return { code, stdout, stderr };
}

before(async () => {
  corpus = tempDir('hazard-lens-pipeline-');
  fs.mkdirSync(path.join(corpus, '.git'));
  fs.writeFileSync(path.join(corpus, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.cpSync(path.join(ROOT, 'examples'), path.join(corpus, 'examples'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'programs'), path.join(corpus, 'programs'), { recursive: true });
  // Suppressions (used and unused) and files without any keyword, for the prefilter.
  fs.mkdirSync(path.join(corpus, 'extra'));
  fs.writeFileSync(
    path.join(corpus, 'extra', 'suppressed.py'),
    'def read(p):\n    # hazard-lens: ignore[unreleased-file]\n    f = open(p)\n    return f.read()\n\n\n# hazard-lens: ignore[fork-in-threaded-program]\nx = 1\n',
  );
  fs.writeFileSync(path.join(corpus, 'extra', 'plain.py'), 'import os\n\n\ndef add(a, b):\n    return os.path.join(a, b)\n');
  fs.writeFileSync(path.join(corpus, 'extra', 'plain.ts'), 'export function add(a: number, b: number): number {\n  return a + b;\n}\n');
  fs.writeFileSync(path.join(corpus, 'extra', 'plain.c'), 'int add(int a, int b) { return a + b; } // hazard-lens: ignore-file[unreleased-file]\n');
  baselineResult = await run({});
  baseline = json(baselineResult);
  fileCount = baselineResult.analyses.length;
  baselineAnalyses = (await extractFacts({ paths: [], cwd: corpus, config, jobs: 0 })).analyses;
});

describe('the corpus', () => {
  test('holds program-level and per-file findings in three languages, and suppressions', () => {
    const ids = new Set(baselineResult.findings.map((f) => f.ruleId));
    for (const id of ['fork-in-threaded-program', 'cached-fd-across-fork', 'unreleased-file', 'unused-suppression']) assert.ok(ids.has(id), `corpus has ${id}`);
    const languages = new Set(baselineAnalyses.filter((a) => a.localFindings.length > 0).map((a) => a.language));
    assert.deepEqual(
      baselineResult.analyses,
      baselineAnalyses.map((a) => ({ path: a.path, language: a.language, contentHash: a.contentHash })),
    );
    assert.deepEqual([...languages].sort(), ['c', 'python', 'typescript']);
    assert.ok(fileCount > 40, `${fileCount} files`);
    assert.equal(stats(baselineResult).jobs, 0);
    assert.equal(stats(baselineResult).analysed, fileCount);
  });
});

describe('worker threads', () => {
  test('two workers give the same report as the main thread', async () => {
    const result = await run({ jobs: 2 });
    assert.equal(stats(result).jobs, 2);
    assert.equal(stats(result).analysed, fileCount);
    assert.equal(json(result), baseline);
    assert.deepEqual(result.notes, baselineResult.notes);
  });

  test('a worker that dies fails its request and is replaced', async () => {
    const script = `const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (m) => {
        if (m.task.path === 'crash') throw new Error('boom');
        parentPort.postMessage({ id: m.id, ok: true, outcome: { kind: 'skip', reason: 'fine' } });
      });`;
    const pool = new AnalysisPool(1, { file: script, eval: true });
    try {
      const task = { maxBytes: 1, prefilter: true };
      await assert.rejects(pool.run({ ...task, path: 'crash' }), /boom/);
      assert.deepEqual(await pool.run({ ...task, path: 'ok' }), { kind: 'skip', reason: 'fine' });
    } finally {
      await pool.close();
    }
  });

  test('asked to, a worker shares the Python program replays, with the same report (facts sent as text, or read from the cache); by default it does not', async () => {
    for (const cacheDir of [undefined, tempDir('hazard-lens-cache-')]) {
      const result = await run({ jobs: 1, minPythonFilesForSharedReplay: 1, shareReplays: true, cacheDir, evaluationCache: false });
      const s = stats(result);
      assert.equal(s.jobs, 1);
      // How many programs the worker took depends on timing; the report does not.
      assert.ok(s.phases['model.python.helperPrograms'] !== undefined, JSON.stringify(s.phases));
      assert.ok(s.phases['model.python'] !== undefined && s.phases['parse.python'] !== undefined);
      assert.equal(json(result), baseline);
      assert.deepEqual(result.notes, baselineResult.notes);
    }
    const off = await run({ jobs: 1, minPythonFilesForSharedReplay: 1, shareReplays: false });
    assert.equal(stats(off).phases['model.python.helperPrograms'], undefined);
    assert.equal(json(off), baseline);
    const byDefault = await run({ jobs: 1, minPythonFilesForSharedReplay: 1 });
    assert.equal(stats(byDefault).phases['model.python.helperPrograms'], undefined);
  });

  test('a replaying worker that runs out of memory leaves its share to the main thread: same report, and the scan goes on', async () => {
    // 1 MB of old generation: the worker dies at start-up or on its facts, whether or not the
    // main thread is still waiting for it (its failure must not go unhandled either way).
    const result = await run({ jobs: 1, minPythonFilesForSharedReplay: 1, shareReplays: true, replayWorkerHeapMb: 1, evaluationCache: false });
    assert.equal(stats(result).phases['model.python.helperPrograms'], 0);
    assert.equal(json(result), baseline);
    assert.deepEqual(result.notes, baselineResult.notes);
  });

  test('a small scan does not start workers', async () => {
    const result = await run({ jobs: 2, minFilesForWorkers: undefined, paths: ['extra'] });
    assert.equal(stats(result).jobs, 0);
  });
});

describe('keyword prefilter', () => {
  test('skips analysers on files without their keywords, and the report is the same without it', async () => {
    const off = await run({ prefilter: false });
    assert.equal(stats(off).prefiltered, 0);
    assert.ok(stats(baselineResult).prefiltered > 0, 'some files skipped an analyser');
    assert.equal(json(off), baseline);
    assert.deepEqual(off.analyses, baselineResult.analyses.map((a) => a));
  });
});

describe('persistent cache', () => {
  test('the second scan reads every analysis from the cache, with the same report', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const cold = await run({ cacheDir, jobs: 2, evaluationCache: false });
    assert.equal(stats(cold).cacheHits, 0);
    assert.equal(stats(cold).evaluationCache, 'off');
    assert.equal(stats(cold).jobs, 2, 'misses go to the workers');
    assert.equal(stats(cold).analysed, fileCount);
    assert.equal(json(cold), baseline);
    assert.equal(new DiskCache(cacheDir).analysisEntries().size, fileCount);
    // One pack per writing thread (the two workers, and the main thread for the first misses), not a file per analysis.
    assert.ok(packs(cacheDir).length >= 2 && packs(cacheDir).length <= 3, `${packs(cacheDir).length} packs`);
    for (const jobs of [0, 2]) {
      const warm = await run({ cacheDir, jobs, evaluationCache: false });
      assert.equal(stats(warm).cacheHits, fileCount, `jobs ${jobs}`);
      assert.equal(stats(warm).analysed, 0);
      assert.equal(stats(warm).jobs, 0, 'a scan served from the cache starts no worker');
      assert.equal(json(warm), baseline);
    }
  });

  test('an edited file misses the cache; the others hit', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    const file = path.join(corpus, 'extra', 'plain.py');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, `${original}\n\nY = 2\n`);
      const warm = await run({ cacheDir });
      assert.equal(stats(warm).evaluationCache, 'miss');
      assert.equal(stats(warm).analysed, 1);
      assert.equal(stats(warm).cacheHits, fileCount - 1);
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test('corrupted entries are recomputed, counted and written again, never trusted', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    const cache = new DiskCache(cacheDir);
    const keys = baselineAnalyses.map((a) => cache.key(a.path, a.contentHash, true));
    const [truncated, tampered, garbage, shape, stolen] = keys;
    assert.equal(packs(cacheDir).length, 1, 'a scan in the main thread writes one pack');
    const [pack] = packs(cacheDir);
    const { createHash } = await import('node:crypto');
    // A newer entry of the key that stops half-way.
    const whole = packedEntry(cacheDir, truncated).text;
    appendEntry(pack, truncated, whole.slice(0, Math.floor(whole.length / 2)));
    // Same header, one character of the analysis changed in place: the checksum no longer matches.
    const t = packedEntry(cacheDir, tampered);
    const at = t.text.indexOf('"path":"') + '"path":"'.length;
    const changed = t.text.slice(0, at) + (t.text[at] === 'x' ? 'y' : 'x') + t.text.slice(at + 1);
    const fd = fs.openSync(pack, 'r+');
    fs.writeSync(fd, changed, t.offset);
    // Garbage over an entry, in place.
    const g = packedEntry(cacheDir, garbage);
    fs.writeSync(fd, '\u0000\u0001 not json at all {'.padEnd(g.length, ' '), g.offset);
    fs.closeSync(fd);
    // A well-formed entry (header, matching checksum) whose body is not an analysis.
    const body = JSON.stringify({ path: 'x', facts: 'no' });
    appendEntry(pack, shape, `${JSON.stringify({ format: 2, key: shape, check: createHash('sha256').update(body).digest('hex') })}\n${body}`);
    // Another file's valid entry under this key.
    appendEntry(pack, stolen, packedEntry(cacheDir, keys[keys.length - 1]).text);
    // An index line that places the entry far past the pack's end (read as damage, nothing allocated).
    fs.appendFileSync(pack.replace(/\.pack$/, '.index'), `${keys[5]} 0 ${2 ** 40}\n`);
    const far = baselineAnalyses[5];
    assert.deepEqual(new DiskCache(cacheDir).read(keys[5], far.path, far.contentHash), { status: 'corrupt', reason: 'the index places it past the end of its pack' });
    // A line cut short (a writer stopped mid-line) is not read.
    fs.appendFileSync(pack.replace(/\.pack$/, '.index'), `${keys[keys.length - 1]} 0 1`);

    const result = await run({ cacheDir, jobs: 2, evaluationCache: false });
    assert.equal(stats(result).cacheCorrupt, 6);
    assert.equal(stats(result).analysed, 6);
    assert.equal(stats(result).cacheHits, fileCount - 6);
    assert.equal(json(result), baseline);
    const again = await run({ cacheDir, evaluationCache: false });
    assert.equal(stats(again).cacheCorrupt, 0);
    assert.equal(stats(again).cacheHits, fileCount);
    assert.equal(stats(again).analysed, 0);
  });

  test('an entry whose pack is gone is a miss, and the scan writes it again', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir, evaluationCache: false });
    const cache = new DiskCache(cacheDir);
    const key = cache.key(baselineAnalyses[0].path, baselineAnalyses[0].contentHash, true);
    assert.equal(cache.read(key, baselineAnalyses[0].path, baselineAnalyses[0].contentHash).status, 'hit');
    for (const pack of packs(cacheDir)) fs.rmSync(pack);
    // The index was read before the packs went: a miss, not corrupt.
    assert.deepEqual(cache.read(key, baselineAnalyses[0].path, baselineAnalyses[0].contentHash), { status: 'miss' });
    const r = await run({ cacheDir, evaluationCache: false });
    assert.equal(stats(r).cacheCorrupt, 0);
    assert.equal(stats(r).analysed, fileCount);
    assert.equal(json(r), baseline);
    assert.equal(stats(await run({ cacheDir, evaluationCache: false })).cacheHits, fileCount);
  });

  test('concurrent scans writing one cache do not corrupt it', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const results = await Promise.all([run({ cacheDir, jobs: 2 }), run({ cacheDir, jobs: 2 }), run({ cacheDir, jobs: 0 })]);
    for (const r of results) assert.equal(json(r), baseline);
    assert.deepEqual(
      entries(cacheDir).filter((e) => e.endsWith('.tmp')),
      [],
      'no temporary file is left',
    );
    const warm = await run({ cacheDir, evaluationCache: false });
    assert.equal(stats(warm).cacheCorrupt, 0);
    assert.equal(stats(warm).cacheHits, fileCount);
  });

  test('an analysis with notes (a parse time-out, a failing rule) is not stored', () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const cache = new DiskCache(cacheDir);
    const analysis = { ...baselineAnalyses[0] };
    const key = cache.key(analysis.path, analysis.contentHash, true);
    assert.equal(cache.write(key, { ...analysis, notes: ['not analysed: parsing took longer than 5000 ms and was abandoned'] }), false);
    assert.deepEqual(cache.read(key, analysis.path, analysis.contentHash), { status: 'miss' });
    assert.equal(cache.write(key, analysis), true);
    assert.deepEqual(cache.read(key, analysis.path, analysis.contentHash), { status: 'hit', analysis });
    assert.equal(cache.read(key, analysis.path, '0'.repeat(64)).status, 'corrupt');
  });

  test('the first look-ups search the index files, later ones a parsed map: both find the newest entry of a key', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const older = new DiskCache(cacheDir);
    const keyOf = (a: FileAnalysis) => older.key(a.path, a.contentHash, true);
    for (const a of baselineAnalyses) assert.equal(older.write(keyOf(a), a), true);
    assert.ok(baselineAnalyses.length > 40, 'enough keys to pass the searched look-ups');
    // A newer writer (its name sorts later) holds a damaged entry of the first key and a good one of the second;
    // the older one holds a damaged entry of the second key, written before its good one.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newer = new DiskCache(cacheDir);
    const [first, second] = baselineAnalyses;
    assert.equal(newer.write(keyOf(second), second), true);
    appendEntry(newer.written()!.packFile, keyOf(first), 'garbage');
    const lookAll = (reader: DiskCache) => baselineAnalyses.map((a) => reader.read(keyOf(a), a.path, a.contentHash).status);
    const expected = baselineAnalyses.map((_, i) => (i === 0 ? 'corrupt' : 'hit'));
    // From the first look-up on (searching), and after the map is built.
    const reader = new DiskCache(cacheDir);
    assert.deepEqual(lookAll(reader), expected);
    assert.deepEqual(lookAll(reader), expected);
    // A line not yet ended is not read in either way.
    fs.appendFileSync(newer.written()!.indexFile, `${keyOf(second)} 0 1`);
    const late = new DiskCache(cacheDir);
    assert.deepEqual(late.read(keyOf(second), second.path, second.contentHash), { status: 'hit', analysis: asStored(second) });
    assert.deepEqual(lookAll(late), expected);
  });

  test("a hit refreshes its pack's time once, and again after rereadIndex (a long-lived server keeps its packs recent)", () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const writer = new DiskCache(cacheDir);
    const [a] = baselineAnalyses;
    const key = writer.key(a.path, a.contentHash, true);
    assert.equal(writer.write(key, a), true);
    const index = writer.written()!.indexFile;
    const reader = new DiskCache(cacheDir);
    const old = new Date(Date.now() - 3 * 3600_000);
    const age = () => Date.now() - fs.statSync(index).mtimeMs;
    fs.utimesSync(index, old, old);
    assert.equal(reader.read(key, a.path, a.contentHash).status, 'hit');
    assert.ok(age() < 60_000, 'the first hit refreshes the time');
    fs.utimesSync(index, old, old);
    assert.equal(reader.read(key, a.path, a.contentHash).status, 'hit');
    assert.ok(age() > 3600_000, 'not again within the same scan');
    reader.rereadIndex();
    assert.equal(reader.read(key, a.path, a.contentHash).status, 'hit');
    assert.ok(age() < 60_000, 'again in the next scan');
  });

  test("another writer's entries are found after rereadIndex, or by a fresh lookup", () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const reader = new DiskCache(cacheDir);
    const writer = new DiskCache(cacheDir);
    const [a, b] = baselineAnalyses;
    const keyA = reader.key(a.path, a.contentHash, true);
    const keyB = reader.key(b.path, b.contentHash, true);
    assert.deepEqual(reader.read(keyA, a.path, a.contentHash), { status: 'miss' });
    assert.equal(writer.write(keyA, a), true);
    assert.equal(writer.write(keyB, b), true);
    // The reader read the (empty) indexes before the writer wrote.
    assert.deepEqual(reader.read(keyA, a.path, a.contentHash), { status: 'miss' });
    assert.deepEqual(reader.read(keyA, a.path, a.contentHash, JSON.parse, true), { status: 'hit', analysis: asStored(a) });
    reader.rereadIndex();
    assert.deepEqual(reader.read(keyB, b.path, b.contentHash), { status: 'hit', analysis: asStored(b) });
    // One writer, one pack and one index.
    assert.deepEqual(fs.readdirSync(reader.packsDir).map((n) => path.extname(n)).sort(), ['.index', '.pack']);
    // The replaying worker's look-up finds what another thread wrote after its indexes were read.
    const c = baselineAnalyses[2];
    assert.deepEqual(readCachedAnalysis(cacheDir, reader.fingerprint, true, a.path, a.contentHash), asStored(a));
    assert.equal(writer.write(reader.key(c.path, c.contentHash, true), c), true);
    assert.deepEqual(readCachedAnalysis(cacheDir, reader.fingerprint, true, c.path, c.contentHash), asStored(c));
  });
});

describe('evaluation cache', () => {
  const evaluationEntries = (cacheDir: string) => entries(cacheDir).filter((e) => e.endsWith('.evaluation'));

  test('a warm scan of an unchanged workspace loads the findings without reading any analysis', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const cold = await run({ cacheDir, jobs: 2 });
    assert.equal(stats(cold).evaluationCache, 'miss');
    assert.equal(json(cold), baseline);
    assert.equal(evaluationEntries(cacheDir).length, 1);
    for (const jobs of [0, 2]) {
      const warm = await run({ cacheDir, jobs });
      assert.equal(stats(warm).evaluationCache, 'hit', `jobs ${jobs}`);
      assert.equal(stats(warm).cacheHits, 0);
      assert.equal(stats(warm).analysed, 0);
      assert.equal(stats(warm).jobs, 0);
      assert.equal(stats(warm).bytes, stats(cold).bytes);
      assert.equal(json(warm), baseline);
      assert.deepEqual(warm.analyses, baselineResult.analyses);
      assert.deepEqual(warm.notes, baselineResult.notes);
    }
  });

  test('an edit misses it and gives the findings of a cold scan; undoing the edit misses again', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    // A new file with a program-level finding (a fork in a program that starts a thread).
    const file = path.join(corpus, 'extra', 'edited.py');
    fs.writeFileSync(file, 'import os\nimport threading\n\nthreading.Thread(target=print).start()\nos.fork()\n');
    try {
      const edited = await run({ cacheDir });
      assert.equal(stats(edited).evaluationCache, 'miss');
      assert.equal(stats(edited).analysed, 1);
      const coldEdited = await run({});
      assert.equal(json(edited), json(coldEdited));
      assert.notEqual(json(edited), baseline);
      assert.equal(stats(await run({ cacheDir })).evaluationCache, 'hit');
      fs.writeFileSync(file, 'import os\n\nos.getpid()\n');
      const changed = await run({ cacheDir });
      assert.equal(stats(changed).evaluationCache, 'miss');
      assert.equal(json(changed), json(await run({})));
      // One entry per workspace and settings: replaced, not accumulated.
      assert.equal(evaluationEntries(cacheDir).length, 1);
    } finally {
      fs.rmSync(file, { force: true });
    }
    assert.equal(stats(await run({ cacheDir })).evaluationCache, 'miss');
    assert.equal(json(await run({ cacheDir })), baseline);
  });

  test('settings that change findings, and a project file, are part of the key', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    const off = { ...config, rules: { 'unreleased-file': 'off' as const } };
    const r = await scan({ paths: [], cwd: corpus, config: off, jobs: 0, cacheDir });
    assert.equal(stats(r).evaluationCache, 'miss');
    assert.ok(!r.findings.some((f) => f.ruleId === 'unreleased-file'));
    assert.equal(stats(await run({ cacheDir, prefilter: false })).evaluationCache, 'miss');
    assert.equal(stats(await run({ cacheDir })).evaluationCache, 'hit');
    const project = path.join(corpus, 'extra', 'setup.cfg');
    fs.writeFileSync(project, '[metadata]\nname = extra\n');
    try {
      assert.equal(stats(await run({ cacheDir })).evaluationCache, 'miss');
    } finally {
      fs.rmSync(project, { force: true });
    }
  });

  test('--fix never uses it', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    const fixCorpus = tempDir('hazard-lens-fix-');
    const file = path.join(fixCorpus, 'a.py');
    fs.writeFileSync(file, 'def read(p):\n    f = open(p)\n    return f.read()\n');
    const warmUp = await scan({ paths: [], cwd: fixCorpus, config, jobs: 0, cacheDir });
    assert.equal(stats(warmUp).evaluationCache, 'miss');
    const fixed = await scan({ paths: [], cwd: fixCorpus, config, jobs: 0, cacheDir, fix: true });
    assert.equal(stats(fixed).evaluationCache, 'off');
    assert.notEqual(fs.readFileSync(file, 'utf8'), 'def read(p):\n    f = open(p)\n    return f.read()\n', 'the safe fix was applied');
    // The next scan sees the fixed file: not the evaluation stored before the fix.
    const after = await scan({ paths: [], cwd: fixCorpus, config, jobs: 0, cacheDir });
    assert.equal(stats(after).evaluationCache, 'miss');
    assert.deepEqual(after.findings, (await scan({ paths: [], cwd: fixCorpus, config, jobs: 0 })).findings);
  });

  test('a corrupted entry is evaluated again, counted and overwritten', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    await run({ cacheDir });
    const [entry] = evaluationEntries(cacheDir);
    const text = fs.readFileSync(entry, 'utf8');
    const header = JSON.parse(text.split('\n')[0]) as { key: string; inputs: string };
    const { createHash } = await import('node:crypto');
    const wellFormed = (body: string) => `${JSON.stringify({ format: 1, key: header.key, inputs: header.inputs, check: createHash('sha256').update(body).digest('hex') })}\n${body}`;
    for (const bad of [
      text.slice(0, Math.floor(text.length / 2)),
      text.replace('"ruleId":"', '"ruleId":"x'),
      'garbage',
      wellFormed(JSON.stringify({ findings: [{ ruleId: 1 }], notes: [] })),
    ]) {
      fs.writeFileSync(entry, bad);
      const r = await run({ cacheDir });
      assert.equal(stats(r).evaluationCache, 'corrupt');
      assert.equal(json(r), baseline);
      assert.equal(stats(await run({ cacheDir })).evaluationCache, 'hit', 'overwritten');
    }
  });
});

describe('cache pruning', () => {
  test('other builds and formats go once unused for a day, or first when over budget; then the least recently used packs', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const half = Math.floor(baselineAnalyses.length / 2);
    const store = (analyses: FileAnalysis[]) => {
      const cache = new DiskCache(cacheDir);
      for (const a of analyses) assert.equal(cache.write(cache.key(a.path, a.contentHash, true), a), true);
      return cache.written()!;
    };
    const used = store(baselineAnalyses.slice(0, half));
    const recent = store(baselineAnalyses.slice(half));
    const bytes = (w: { packFile: string; indexFile: string }) => fs.statSync(w.packFile).size + fs.statSync(w.indexFile).size;
    // The first pack was last used an hour ago (its index's time), the second just now.
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(used.indexFile, old, old);
    const versionDir = path.dirname(new DiskCache(cacheDir).root);
    const build = (versionName: string, name: string, ageMs: number) => {
      const dir = path.join(cacheDir, versionName, name);
      fs.mkdirSync(path.join(dir, 'ab'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'ab', `${'a'.repeat(64)}.analysis`), 'x');
      fs.writeFileSync(path.join(dir, '.hazard-lens-cache'), '');
      const t = new Date(Date.now() - ageMs);
      for (const f of [path.join(dir, '.hazard-lens-cache'), dir]) fs.utimesSync(f, t, t);
      return dir;
    };
    const staleBuild = build(path.basename(versionDir), 'stale-build', 2 * 24 * 3600_000);
    const staleFormat = build('v1', 'format-one-build', 2 * 24 * 3600_000);
    const recentBuild = build(path.basename(versionDir), 'recent-build', 60_000);
    // Not made by the cache (no marker): never removed, however old.
    const foreign = path.join(versionDir, 'foreign');
    fs.mkdirSync(foreign);
    const dayAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    fs.utimesSync(foreign, dayAgo, dayAgo);
    const total = bytes(used) + bytes(recent);

    // Under budget: only the builds unused for a day go (this format's and an older one's).
    assert.deepEqual(await pruneCache(cacheDir, { maxBytes: total * 10, intervalMs: 0 }), { removed: 2 });
    assert.equal(fs.existsSync(staleBuild), false, 'the stale build is removed');
    assert.equal(fs.existsSync(staleFormat), false, 'a stale build of an older format is removed');
    assert.equal(fs.existsSync(recentBuild), true, 'a build used recently stays while the cache is under budget');
    assert.equal(new DiskCache(cacheDir).analysisEntries().size, baselineAnalyses.length);

    // Over budget: other builds first, then this build's least recently used pack. The
    // budget's target (80 %) is exactly what the recent pack takes.
    const { removed } = await pruneCache(cacheDir, { maxBytes: (bytes(recent) + 0.5) / 0.8, intervalMs: 0 });
    assert.equal(removed, 2);
    assert.deepEqual(packs(cacheDir), [recent.packFile], 'the pack used long ago is removed, the recent one kept');
    const reader = new DiskCache(cacheDir);
    for (const [i, a] of baselineAnalyses.entries()) assert.equal(reader.read(reader.key(a.path, a.contentHash, true), a.path, a.contentHash).status, i < half ? 'miss' : 'hit');
    assert.equal(fs.existsSync(recentBuild), false, 'over budget, another build goes first');
    assert.equal(fs.existsSync(foreign), true, 'a folder the cache did not make stays');
    // Within the interval, pruning does nothing.
    assert.deepEqual(await pruneCache(cacheDir, { maxBytes: 1 }), { removed: 0 });
  });

  test('many packs: the idle ones are merged into one, every entry still found; their writers start new packs', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const count = MAX_PACKS + 3;
    assert.ok(baselineAnalyses.length > count + 1, 'enough analyses for one pack each');
    const writers = baselineAnalyses.slice(0, count).map((a) => {
      const cache = new DiskCache(cacheDir);
      assert.equal(cache.write(cache.key(a.path, a.contentHash, true), a), true);
      return cache;
    });
    // Two writers are still at work (appended within the hour); the others are idle.
    const idleTime = new Date(Date.now() - 2 * 3600_000);
    for (const w of writers.slice(2)) fs.utimesSync(w.written()!.packFile, idleTime, idleTime);
    assert.equal(packs(cacheDir).length, count);
    // One idle pack's entry is damaged (a byte of its body changed): it is not carried over.
    const damaged = writers[3].written()!.packFile;
    const bytes = fs.readFileSync(damaged);
    bytes[bytes.length - 3] ^= 1;
    fs.writeFileSync(damaged, bytes);
    fs.utimesSync(damaged, idleTime, idleTime);
    assert.deepEqual(await pruneCache(cacheDir, { intervalMs: 0 }), { removed: 0 });
    assert.equal(packs(cacheDir).length, 3, 'the idle packs are one now; the two active ones stay');
    assert.ok(packs(cacheDir).includes(writers[0].written()!.packFile));
    const reader = new DiskCache(cacheDir);
    for (const [i, a] of baselineAnalyses.slice(0, count).entries()) {
      const expected = i === 3 ? { status: 'miss' } : { status: 'hit', analysis: asStored(a) };
      assert.deepEqual(reader.read(reader.key(a.path, a.contentHash, true), a.path, a.contentHash), expected, a.path);
    }
    // A writer whose pack was merged away writes its next entry to a new pack.
    const next = baselineAnalyses[count];
    const merged = writers[5];
    assert.equal(merged.write(merged.key(next.path, next.contentHash, true), next), true);
    assert.equal(packs(cacheDir).length, 4);
    assert.deepEqual(new DiskCache(cacheDir).read(reader.key(next.path, next.contentHash, true), next.path, next.contentHash), { status: 'hit', analysis: asStored(next) });
  });

  test('a folder without the cache tag is never pruned', async () => {
    const dir = tempDir('hazard-lens-not-a-cache-');
    const precious = path.join(dir, 'v1', 'old-project', 'data.txt');
    fs.mkdirSync(path.dirname(precious), { recursive: true });
    fs.writeFileSync(precious, 'keep me');
    const dayAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    fs.utimesSync(path.dirname(precious), dayAgo, dayAgo);
    assert.deepEqual(await pruneCache(dir, { maxBytes: 1, intervalMs: 0 }), { removed: 0 });
    assert.equal(fs.readFileSync(precious, 'utf8'), 'keep me');
  });
});

describe('the CLI', () => {
  test('--stats prints one JSON line with the counters; --jobs, --cache-dir and --no-cache are honoured', async () => {
    const cacheDir = tempDir('hazard-lens-cache-');
    const first = await cli(['scan', '--format', 'json', '--jobs', '2', '--cache-dir', cacheDir, '--stats', '-q']);
    assert.equal(first.code, 1);
    const lines = first.stderr.trim().split('\n');
    assert.equal(lines.length, 1);
    const s = JSON.parse(lines[0]) as ScanStats;
    assert.deepEqual(
      Object.keys(s).sort(),
      ['analysed', 'bytes', 'cacheCorrupt', 'cacheHits', 'decoded', 'dependencyCacheHits', 'dependencyFiles', 'evaluationCache', 'files', 'jobs', 'maxRssMb', 'ms', 'notAnalysed', 'phases', 'prefiltered', 'shardFiles', 'skipped'].sort(),
    );
    assert.equal(s.evaluationCache, 'miss');
    assert.deepEqual(Object.keys(s.ms).sort(), ['analyse', 'dependencies', 'discover', 'evaluate', 'total']);
    // No Python environment here: nothing installed was joined.
    assert.deepEqual([s.dependencyFiles, s.dependencyCacheHits, s.ms.dependencies], [0, 0, 0]);
    assert.equal(s.files, fileCount);
    assert.equal(s.jobs, 2);
    assert.ok(s.maxRssMb > 0 && s.bytes > 0);
    assert.equal(first.stdout, baseline);
    const second = await cli(['scan', '--format', 'json', '-j', '0', '--cache-dir', cacheDir, '--stats', '-q']);
    const s2 = JSON.parse(second.stderr) as ScanStats;
    assert.equal(s2.evaluationCache, 'hit');
    assert.equal(s2.cacheHits, 0, 'no analysis is read when the evaluation is cached');
    assert.equal(s2.files, fileCount);
    assert.equal(second.stdout, baseline);
    const none = await cli(['scan', '--format', 'json', '-j', '0', '--cache-dir', cacheDir, '--no-cache', '--no-prefilter', '--stats', '-q']);
    const n = JSON.parse(none.stderr) as ScanStats;
    assert.equal(n.cacheHits, 0);
    assert.equal(n.evaluationCache, 'off');
    assert.equal(n.prefiltered, 0);
    assert.equal(none.stdout, baseline);
  });

  test('three shards joined give the report of one scan', async () => {
    const out = tempDir('hazard-lens-shards-');
    const facts = [1, 2, 3].map((i) => path.join(out, `facts-${i}.json`));
    let total = 0;
    for (let i = 1; i <= 3; i++) {
      const r = await cli(['scan', '--shard', `${i}/3`, '--facts-out', facts[i - 1], '--no-cache', '--jobs', '0', '--stats', '-q']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      const s = JSON.parse(r.stderr) as ScanStats;
      assert.equal(s.files, fileCount);
      assert.ok(s.shardFiles < fileCount);
      total += s.shardFiles;
    }
    assert.equal(total, fileCount, 'every file is in exactly one shard');
    const joined = await cli(['scan', '--format', 'json', '-q', '--facts', facts[2], facts[0], facts[1]]);
    assert.equal(joined.stdout, baseline);
    assert.equal(joined.code, 1);
    const sarifJoined = await cli(['scan', '--format', 'sarif', '-q', '--facts', ...facts]);
    const sarifSingle = await cli(['scan', '--format', 'sarif', '-q', '--no-cache', '-j', '0']);
    assert.equal(sarifJoined.stdout, sarifSingle.stdout);
  });

  test('--shard and --facts errors are usage errors with a clear message', async () => {
    const out = tempDir('hazard-lens-shards-');
    const f = (name: string) => path.join(out, name);
    const usage = async (args: string[], message: RegExp) => {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    };
    await usage(['scan', '--shard', '0/3', '--facts-out', f('x.json')], /--shard: I must be from 1 to 3/);
    await usage(['scan', '--shard', '4/3', '--facts-out', f('x.json')], /--shard: I must be from 1 to 3/);
    await usage(['scan', '--shard', '1/0', '--facts-out', f('x.json')], /N must be from 1/);
    await usage(['scan', '--shard', 'a/b', '--facts-out', f('x.json')], /expected I\/N/);
    await usage(['scan', '--shard', '1/2'], /--shard needs --facts-out/);
    await usage(['scan', '--facts-out', f('x.json')], /--facts-out is only used with --shard/);
    await usage(['scan', '--shard', '1/2', '--facts-out', f('x.json'), '--facts', f('y.json')], /cannot be combined with --shard/);
    await usage(['scan', '--shard', '1/2', '--facts-out', f('x.json'), '--fix'], /--fix cannot be combined/);
    await usage(['scan', '--jobs', 'many'], /invalid value 'many' for --jobs/);

    for (let i = 1; i <= 2; i++) assert.equal((await cli(['scan', '--shard', `${i}/2`, '--facts-out', f(`s${i}.json`), '--no-cache', '-q'])).code, 0);
    await usage(['scan', '--facts', f('s1.json')], /shard 2\/2 missing/);
    await usage(['scan', '--facts', f('s1.json'), f('s1.json'), f('s2.json')], /both shard 1\/2/);
    await usage(['scan', '--facts', f('nope.json')], /cannot read facts file .*no such file/);
    fs.writeFileSync(f('bad.json'), '{ not json');
    await usage(['scan', '--facts', f('bad.json')], /is not a facts file \(invalid JSON\)/);
    const data = JSON.parse(fs.readFileSync(f('s1.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(f('old.json'), JSON.stringify({ ...data, hazardLensFacts: 99 }));
    await usage(['scan', '--facts', f('old.json'), f('s2.json')], /has facts format 99, this hazard-lens reads format 1/);
    fs.writeFileSync(f('other.json'), JSON.stringify({ ...data, build: 'another-build' }));
    await usage(['scan', '--facts', f('other.json'), f('s2.json')], /written by another build of hazard-lens \(another-build/);
    fs.writeFileSync(f('shape.json'), JSON.stringify({ ...data, analyses: [{ path: 1 }] }));
    await usage(['scan', '--facts', f('shape.json'), f('s2.json')], /is not a valid facts file \(analyses\.0\.path/);
    fs.writeFileSync(f('three.json'), JSON.stringify({ ...data, shard: { index: 0, count: 3 } }));
    await usage(['scan', '--facts', f('three.json'), f('s2.json')], /is of 3 shards/);
  });
});
