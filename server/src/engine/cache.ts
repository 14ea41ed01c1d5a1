/**
 * The persistent analysis cache: every {@link FileAnalysis} stored under a key of the build
 * fingerprint, the file's path and its content hash, in append-only pack files.
 *
 * Location (NOTE: decided for the user's cache folder rather than `.hazard-lens-cache/` in the
 * workspace, so a scan never writes into the tree it scans and no `.gitignore` entry is
 * needed): `--cache-dir`, else `$HAZARD_LENS_CACHE_DIR`, else `$XDG_CACHE_HOME/hazard-lens`,
 * else `~/.cache/hazard-lens` (macOS: `~/Library/Caches/hazard-lens`; Windows:
 * `%LOCALAPPDATA%\hazard-lens\cache`). Inside it, `v2/<fingerprint>/`.
 *
 * Packs (NOTE: format 1 kept one file per analysis; creating thousands of small files in a
 * burst cost a cold scan of glibc's 6,360 files about 3 s of kernel time on ext4, where
 * appending the same bytes to a few files costs 0.1 s):
 * - each writer (one {@link DiskCache} in one thread: a worker, the main thread, the language
 *   server) appends its entries to its own `packs/<writer>.pack` and one line per entry,
 *   `<key> <offset> <length>`, to `packs/<writer>.index`. Writer names begin with the time,
 *   so that read in name order, a newer entry of a key replaces an older one. No two writers
 *   share a file; a writer that finds its pack changed under it starts another;
 * - a reader's first look-ups search the index files' bytes for the key (a one-file scan does
 *   not parse a large cache's indexes); later ones use every index parsed into a map. The
 *   indexes are read again at the start of each scan (`rereadIndex`), and a look-up that must
 *   find an entry written meanwhile by another thread asks for `fresh` (the map then takes in
 *   only what the indexes gained). The entry's bytes are read at its offset. An index line
 *   that does not end its line (a writer stopped mid-line) is not read.
 *
 * Trust:
 * - the key hashes the build fingerprint ({@link buildFingerprint}: a hash of the analyser
 *   sources stamped in at build time), the prefilter switch, the path and the content hash,
 *   so a rebuilt analyser, another file or other text never finds the entry;
 * - NOTE: no stat-based shortcut: every file is read and hashed (SHA-256 runs at ~1 GB/s, a
 *   small part of a warm scan), so an edit that keeps size and modification time is never
 *   missed;
 * - an entry is a header line `{"format","key","check"}` followed by the analysis JSON; it is
 *   used only if the header parses, names this key, `check` is the SHA-256 of the rest, the
 *   rest parses and has the shape of a FileAnalysis ({@link isFileAnalysisShape}), for this path and content hash.
 *   Anything else (truncated, garbage, tampered, wrong shape) is reported as `corrupt`,
 *   recomputed by the caller and written again (the newer entry wins);
 * - an entry whose pack is gone (pruned, merged) is a miss.
 * - Analyses with notes (a parse time-out, a failing rule) are not stored: they may come out
 *   differently next time.
 *
 * Evaluations: besides the analyses, a scan keeps its evaluation (findings and program-rule
 * notes) in `<slot>.evaluation`, one entry per build, scanned roots and settings (the slot),
 * so edits replace it rather than pile up. Its header also names the `inputs`: a hash of the
 * slot, every analysed file's path and content hash in evaluation order (with the build, that
 * fixes each analysis) and the project files' contents. An entry for other inputs is a miss;
 * otherwise it is checked as an analysis is (checksum, shape) and `corrupt` if unusable.
 * A scan stores it only when no analysis had notes, and never with `--fix` (`scanner.ts`).
 * Evaluations and installed packages' entries (`.package`) are one file each, written to a
 * temporary file and renamed over the entry (a scan writes one or two).
 *
 * Size: {@link pruneCache} runs at the end of a scan that wrote entries (and after a language
 * server index build), at most once an hour:
 * - it removes the folders of other fingerprints and of older formats unused for a day;
 * - it merges the packs no writer appended to for an hour into one when there are more than
 *   {@link MAX_PACKS} (a scan that analyses anything starts one or more);
 * - when the whole cache is over its budget (default 512 MB), it removes the folders of other
 *   builds, least recently used first, then this build's least recently used packs and
 *   entries (a hit refreshes its pack's index time). An entry of a file edited since stays
 *   until its pack goes.
 * Only folders the cache made (CACHEDIR.TAG, a marker per build) are ever touched.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { threadId } from 'node:worker_threads';
import { ANALYZER_VERSION } from './analyze';
import { makeDirectory } from './directories';
import type { FileAnalysis, Finding } from '../analysis/results';

/** Bump when the entry layout changes. */
export const CACHE_FORMAT = 2;

declare const __HAZARD_LENS_BUILD__: string | undefined;

let fingerprint: string | undefined;

/**
 * Identifies the analyser code: the hash of `server/src` stamped in by `scripts/build.mjs`
 * (esbuild `define`), or, when running from source (tsx, the tests), a hash of the source
 * files computed once; ANALYZER_VERSION when neither is available.
 */
export function buildFingerprint(): string {
  if (fingerprint) return fingerprint;
  let stamped: string | undefined;
  try {
    stamped = typeof __HAZARD_LENS_BUILD__ === 'string' ? __HAZARD_LENS_BUILD__ : undefined;
  } catch {
    stamped = undefined;
  }
  // `watch`: a `npm run watch` bundle, rebuilt under the same stamp; its own bytes identify it.
  const id = stamped === 'watch' ? fileFingerprint(__filename) : (stamped ?? sourceFingerprint() ?? fileFingerprint(__filename));
  fingerprint = `${ANALYZER_VERSION}-${id}`;
  return fingerprint;
}

function fileFingerprint(file: string): string {
  try {
    return `file-${createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16)}`;
  } catch {
    return `run-${process.pid}-${Date.now()}`;
  }
}

/** Hash of the `.ts` files under `server/src` when this module runs from there. */
function sourceFingerprint(): string | undefined {
  const src = nodePath.resolve(__dirname, '..');
  if (nodePath.basename(src) !== 'src' || !__filename.endsWith('.ts')) return undefined;
  const hash = createHash('sha256');
  const visit = (dir: string) => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = nodePath.join(dir, e.name);
      if (e.isDirectory()) visit(full);
      else if (e.name.endsWith('.ts')) hash.update(nodePath.relative(src, full)).update('\0').update(fs.readFileSync(full)).update('\0');
    }
  };
  try {
    visit(src);
  } catch {
    return undefined;
  }
  return `src-${hash.digest('hex').slice(0, 16)}`;
}

/** Bytes of the files under a folder (never throws). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  try {
    for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
      const full = nodePath.join(dir, e.name);
      if (e.isDirectory()) total += await folderBytes(full);
      else if (e.isFile()) total += (await fs.promises.stat(full)).size;
    }
  } catch {
    // removed meanwhile
  }
  return total;
}

/** The default cache folder (see the module comment). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HAZARD_LENS_CACHE_DIR) return env.HAZARD_LENS_CACHE_DIR;
  if (env.XDG_CACHE_HOME && nodePath.isAbsolute(env.XDG_CACHE_HOME)) return nodePath.join(env.XDG_CACHE_HOME, 'hazard-lens');
  const home = os.homedir();
  if (platform === 'darwin') return nodePath.join(home, 'Library', 'Caches', 'hazard-lens');
  if (platform === 'win32') return nodePath.join(env.LOCALAPPDATA ?? nodePath.join(home, 'AppData', 'Local'), 'hazard-lens', 'cache');
  return nodePath.join(home, '.cache', 'hazard-lens');
}

// ---- shape of an entry -------------------------------------------------------------------
//
// NOTE: plain predicates rather than zod schemas: they are checked on every cache hit, and
// building zod schemas at start-up cost a one-file scan more than its analysis (issue #17).
// They accept what the zod shapes of `scan/facts-file.ts` accept (test/engine/cache-shape.test.ts
// compares the two); unknown keys are allowed, as zod's `object` allows them.

type Check = (value: unknown) => boolean;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isInteger: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v);
const isCount: Check = (v) => isInteger(v) && (v as number) >= 0;
const oneOf = (values: readonly string[]): Check => (v) => typeof v === 'string' && values.includes(v);
const arrayOf = (each: Check): Check => (v) => Array.isArray(v) && v.every(each);
/** An object whose listed keys pass their checks (a missing key is `undefined`). */
const objectOf = (shape: Record<string, Check>): Check => {
  const entries = Object.entries(shape);
  return (v) => isRecord(v) && entries.every(([key, check]) => check(v[key]));
};
const optional = (check: Check): Check => (v) => v === undefined || check(v);

const isPosition = objectOf({ line: isCount, character: isCount });
const isRange = objectOf({ start: isPosition, end: isPosition });
const isEdit = objectOf({ range: isRange, newText: isString });
const isFinding = objectOf({
  ruleId: isString,
  path: isString,
  range: isRange,
  message: isString,
  severity: oneOf(['error', 'warning', 'info', 'hint']),
  related: arrayOf(objectOf({ path: isString, range: isRange, message: isString })),
  fixes: arrayOf(objectOf({ title: isString, applicability: oneOf(['safe', 'unsafe', 'display-only']), edits: arrayOf(isEdit) })),
});
const isStringArray = arrayOf(isString);

/** The shape of a {@link FileAnalysis}; facts are checked loosely (each language owns its kinds). */
export const isFileAnalysisShape: Check = objectOf({
  path: isString,
  language: oneOf(['c', 'python', 'typescript']),
  contentHash: (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v),
  syntaxErrors: arrayOf(isRange),
  suppressions: arrayOf(objectOf({ scope: oneOf(['line', 'file']), ruleIds: isStringArray, range: isRange, targetLine: isInteger })),
  localFindings: arrayOf(isFinding),
  facts: arrayOf(objectOf({ kind: isString })),
  handleSummary: optional(
    objectOf({
      returnedHandles: arrayOf(objectOf({ exportPath: isStringArray })),
      pendingLeaks: arrayOf(objectOf({ requires: objectOf({ kind: isString }) })),
    }),
  ),
  notes: isStringArray,
});

/** The header line of an entry. */
interface EntryHeader {
  format: typeof CACHE_FORMAT;
  key: string;
  inputs?: string;
  check: string;
}

const isHeader = objectOf({ format: (v) => v === CACHE_FORMAT, key: isString, inputs: optional(isString), check: isString }) as (v: unknown) => v is EntryHeader;

/** The cache directory tag (https://bford.info/cachedir/): backup tools skip the folder, and pruning requires it. */
const CACHEDIR_TAG = 'Signature: 8a477f597d28d172789f06886806bc55\n# This folder is a cache of Hazard Lens analyses; it can be deleted at any time.\n';
/** Marks a fingerprint folder as ours: pruning removes only folders that hold it. */
const OWNED_MARKER = '.hazard-lens-cache';
const ENTRY_NAME = /^[0-9a-f]{64}\.(evaluation|package)$/;
/** The folder of the packs, in a build's folder. */
const PACKS = 'packs';
const INDEX_LINE = /^([0-9a-f]{64}) (\d+) (\d+)$/;
/**
 * An index file larger than this is not read (not one of ours, or damaged: the whole cache's
 * budget holds about a hundred thousand entries, whose index lines take some 9 MB).
 */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/**
 * Look-ups a cache answers by searching the index files' bytes before it parses them into a
 * map: on 6,360 entries (glibc's, three index files) a look-up by search took under 0.15 ms with
 * the entry read, reading the index files 0.5–1.6 ms once, and parsing them into a map 5–22 ms.
 */
const SEARCHED_LOOKUPS = 32;
/** More packs than this, and {@link pruneCache} merges the idle ones. */
export const MAX_PACKS = 32;
/** A pack appended to within this long is not merged (its writer may still be at work). */
const PACK_IDLE_MS = 3600_000;

/** Where an entry is: its pack file's name (in `packs/`), the offset and length of its bytes. */
export interface PackedEntry {
  pack: string;
  offset: number;
  length: number;
}

/** The pack file of an index file's name, and back. */
const packOf = (indexName: string) => `${indexName.slice(0, -'.index'.length)}.pack`;
const indexOf = (packName: string) => `${packName.slice(0, -'.pack'.length)}.index`;

/**
 * A new writer's name: the time first (base 36, fixed width), so that names sort in the order
 * writers started; then the process, the thread and random bytes, so no two writers share one.
 */
function writerName(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`;
}

/**
 * The complete lines of an index's text, as entries of `pack`, into `into`; returns how many
 * bytes of `text` they took (a line without its end is read next time, once it is whole).
 */
function readIndexLines(text: Buffer, pack: string, into: Map<string, PackedEntry>): number {
  let start = 0;
  for (;;) {
    const nl = text.indexOf(10, start);
    if (nl < 0) return start;
    const m = INDEX_LINE.exec(text.toString('latin1', start, nl));
    if (m) into.set(m[1], { pack, offset: Number(m[2]), length: Number(m[3]) });
    start = nl + 1;
  }
}


export type CacheLookup = { status: 'hit'; analysis: FileAnalysis } | { status: 'miss' } | { status: 'corrupt'; reason: string };

/** What is cached of an evaluation (`engine.ts` `Evaluation`): the findings and the notes of program rules. */
export interface CachedEvaluation {
  findings: Finding[];
  notes: string[];
}

const isEvaluationShape = objectOf({ findings: arrayOf(isFinding), notes: isStringArray });

export type EvaluationLookup = { status: 'hit'; evaluation: CachedEvaluation } | { status: 'miss' } | { status: 'corrupt'; reason: string };

/** What an evaluation slot is for (see {@link DiskCache.evaluationSlot}). */
export interface EvaluationSlotParts {
  /** The scanned roots (absolute). */
  roots: readonly string[];
  /** Everything besides the files that decides the findings: settings, options; JSON-serialisable. */
  settings: unknown;
}

/**
 * Hashes what an evaluation reads besides the slot's settings: every analysis (by path and
 * content hash, in evaluation order; with the build in the key, that fixes the analysis) and
 * the project files' contents.
 */
export function evaluationInputs(slot: string, analyses: Iterable<{ path: string; contentHash: string }>, projectFiles: Iterable<{ path: string; text: string }>): string {
  const hash = createHash('sha256').update(slot).update('\0');
  for (const a of analyses) hash.update(`a\0${a.path}\0${a.contentHash}\n`);
  for (const p of projectFiles) hash.update(`p\0${p.path}\0${sha256(p.text)}\n`);
  return hash.digest('hex');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

type EntryLookup = { status: 'found'; value: unknown } | { status: 'miss' } | { status: 'corrupt'; reason: string };

/** An entry's text: the header line (with the body's checksum), then the body. */
function entryText(header: Record<string, unknown>, body: string): string {
  return `${JSON.stringify({ ...header, check: sha256(body) })}\n${body}`;
}

/** Checks an entry's text: a header for this key (and `inputs`, when given), the checksum, a JSON body. */
function checkEntry(raw: string, key: string, inputs: string | undefined, parse: (body: string) => unknown): EntryLookup {
  const nl = raw.indexOf('\n');
  if (nl < 0) return { status: 'corrupt', reason: 'no header line (truncated?)' };
  let header: EntryHeader;
  try {
    const parsed: unknown = JSON.parse(raw.slice(0, nl));
    if (!isHeader(parsed)) return { status: 'corrupt', reason: 'bad header' };
    header = parsed;
  } catch {
    return { status: 'corrupt', reason: 'header is not JSON' };
  }
  if (header.key !== key) return { status: 'corrupt', reason: 'entry is for another key' };
  // An evaluation of other inputs (the workspace changed since): replaced, not corrupt.
  if (inputs !== undefined && header.inputs !== inputs) return { status: 'miss' };
  const body = raw.slice(nl + 1);
  if (sha256(body) !== header.check) return { status: 'corrupt', reason: 'checksum mismatch (truncated or modified)' };
  try {
    return { status: 'found', value: parse(body) };
  } catch {
    return { status: 'corrupt', reason: 'body is not JSON' };
  }
}

/** A file's bytes from `start` to its end; undefined when it cannot be read or that is more than `maxBytes`. */
function readFrom(file: string, start: number, maxBytes = Infinity): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= start) return Buffer.alloc(0);
    if (size - start > maxBytes) return undefined;
    const bytes = Buffer.allocUnsafe(size - start);
    const n = fs.readSync(fd, bytes, 0, bytes.length, start);
    return bytes.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** A file's size in bytes, -1 when it is not there. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

/** One cache folder for one build fingerprint. Synchronous: it runs in workers (or the main thread of a `--jobs 0` scan). */
export class DiskCache {
  readonly root: string;
  private readonly dirs = new Set<string>();
  /**
   * Where each key's entry is, once a cache has been asked more than {@link SEARCHED_LOOKUPS}
   * times: every index parsed (read once, then only what was appended since, when stale).
   */
  private packIndex?: Map<string, PackedEntry>;
  /** Bytes of each index file read into {@link packIndex} so far. */
  private readonly indexBytesRead = new Map<string, number>();
  /** Until then: the bytes of each index file, in name order, searched key by key. */
  private indexBytes?: { pack: string; bytes: Buffer }[];
  /** Look-ups answered by searching {@link indexBytes}. */
  private searches = 0;
  /** The entries this cache wrote since its indexes were last read again (looked at first). */
  private readonly own = new Map<string, PackedEntry>();
  /** The indexes are read again (their new lines) at the next lookup. */
  private indexStale = false;
  /** This cache's pack, once it wrote an entry: its files and how many bytes it holds. */
  private writer?: { pack: string; packFile: string; indexFile: string; bytes: number };
  /** Packs whose index time this cache refreshed already since its indexes were last read again (once is enough). */
  private readonly touchedPacks = new Set<string>();

  /**
   * `fingerprint`: the build's ({@link buildFingerprint}, the default). Workers are handed the
   * main thread's, so that one scan uses one fingerprint even when the sources change under
   * it (running from source).
   */
  constructor(
    readonly baseDir: string,
    readonly fingerprint: string = buildFingerprint(),
  ) {
    this.root = nodePath.join(baseDir, `v${CACHE_FORMAT}`, fingerprint.replace(/[^A-Za-z0-9._-]/g, '_'));
  }

  /** The folder of the packs. */
  get packsDir(): string {
    return nodePath.join(this.root, PACKS);
  }

  /** The key of an analysis of `path` whose text has `contentHash`. */
  key(path: string, contentHash: string, prefilter: boolean): string {
    return sha256(`${this.fingerprint}\0${prefilter ? 'p' : 'f'}\0${path}\0${contentHash}`);
  }

  /**
   * The indexes are read again at the next lookup (a new scan: other processes may have
   * written since). This cache's own entries are in them: from then on the newest line of a
   * key wins, whoever wrote it.
   */
  rereadIndex(): void {
    this.indexStale = true;
    this.own.clear();
    // A long-lived process (the language server) refreshes the packs' times again for each scan.
    this.touchedPacks.clear();
  }

  /**
   * The analysis stored under `key`; `parse` reads the JSON body (the replaying worker packs
   * its ranges, `scan/packed-ranges.ts`). `fresh`: a key not found is looked for again in what
   * the indexes gained since they were read (an entry another thread wrote during this scan).
   */
  read(key: string, path: string, contentHash: string, parse: (body: string) => unknown = JSON.parse, fresh = false): CacheLookup {
    let at = this.locate(key);
    if (!at && fresh) {
      this.indexStale = true;
      at = this.locate(key);
    }
    if (!at) return { status: 'miss' };
    const raw = this.readPacked(at);
    if (raw === undefined) {
      // Its pack was pruned or merged since the index was read.
      this.packIndex?.delete(key);
      this.own.delete(key);
      return { status: 'miss' };
    }
    if (typeof raw !== 'string') return { status: 'corrupt', reason: raw.unreadable };
    const entry = checkEntry(raw, key, undefined, parse);
    if (entry.status !== 'found') return entry;
    if (!isFileAnalysisShape(entry.value)) return { status: 'corrupt', reason: 'body is not an analysis' };
    const analysis = entry.value as FileAnalysis;
    if (analysis.path !== path || analysis.contentHash !== contentHash) return { status: 'corrupt', reason: 'analysis of another file or text' };
    this.touchPack(at.pack);
    return { status: 'hit', analysis };
  }

  /** The files of this cache's pack, once it wrote one. */
  written(): { packFile: string; indexFile: string } | undefined {
    return this.writer && { packFile: this.writer.packFile, indexFile: this.writer.indexFile };
  }

  /** Every analysis entry the indexes list now (the newest of each key), read afresh. */
  analysisEntries(): Map<string, PackedEntry> {
    this.indexStale = true;
    return new Map(this.index());
  }

  /**
   * Where `key`'s entry is: this cache's own, else the newest index line of the key. The first
   * {@link SEARCHED_LOOKUPS} look-ups search the index files' bytes (a scan of one file, or a
   * warm scan with an edit, does not parse every index of a large cache); later ones use the
   * parsed {@link index}.
   */
  private locate(key: string): PackedEntry | undefined {
    const mine = this.own.get(key);
    if (mine) return mine;
    if (this.packIndex || this.searches >= SEARCHED_LOOKUPS) {
      this.indexBytes = undefined;
      return this.index().get(key);
    }
    this.searches++;
    if (!this.indexBytes || this.indexStale) {
      this.indexStale = false;
      this.indexBytes = this.indexNames().map((name) => ({ pack: packOf(name), bytes: readFrom(nodePath.join(this.packsDir, name), 0, MAX_INDEX_BYTES) ?? Buffer.alloc(0) }));
    }
    // Newest first: the last index file, its last line. Keys are 64 hex digits and the other
    // fields of a line are short numbers, so a key found is the start of a line; a line not
    // yet ended (a writer mid-line) is passed over.
    for (let i = this.indexBytes.length - 1; i >= 0; i--) {
      const { pack, bytes } = this.indexBytes[i];
      for (let at = bytes.lastIndexOf(key, undefined, 'latin1'); at >= 0; at = at > 0 ? bytes.lastIndexOf(key, at - 1, 'latin1') : -1) {
        const end = bytes.indexOf(10, at);
        const m = end < 0 ? null : INDEX_LINE.exec(bytes.toString('latin1', at, end));
        if (m) return { pack, offset: Number(m[2]), length: Number(m[3]) };
      }
    }
    return undefined;
  }

  /** The index files' names, in the order their writers started (older first). */
  private indexNames(): string[] {
    try {
      return fs
        .readdirSync(this.packsDir)
        .filter((n) => n.endsWith('.index'))
        .sort();
    } catch {
      return [];
    }
  }

  /** Where each key's entry is: the indexes read once, then (when stale) only what they gained. */
  private index(): Map<string, PackedEntry> {
    if (this.packIndex && !this.indexStale) return this.packIndex;
    this.packIndex ??= new Map();
    this.indexStale = false;
    for (const name of this.indexNames()) {
      const done = this.indexBytesRead.get(name) ?? 0;
      const tail = readFrom(nodePath.join(this.packsDir, name), done, MAX_INDEX_BYTES);
      if (tail && tail.length > 0) this.indexBytesRead.set(name, done + readIndexLines(tail, packOf(name), this.packIndex));
    }
    return this.packIndex;
  }

  /** An entry's bytes as text; undefined when its pack is gone. An entry its index places past the pack's end is unreadable (never allocated). */
  private readPacked(at: PackedEntry): string | { unreadable: string } | undefined {
    let fd: number;
    try {
      fd = fs.openSync(nodePath.join(this.packsDir, at.pack), 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : { unreadable: `unreadable (${code ?? String(err)})` };
    }
    try {
      if (at.offset + at.length > fs.fstatSync(fd).size) return { unreadable: 'the index places it past the end of its pack' };
      const bytes = Buffer.allocUnsafe(at.length);
      const n = fs.readSync(fd, bytes, 0, at.length, at.offset);
      return bytes.toString('utf8', 0, n);
    } catch (err) {
      return { unreadable: `unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A hit refreshes its pack's index time (least recently used pruning goes by it); once per pack. */
  private touchPack(pack: string): void {
    if (this.touchedPacks.has(pack)) return;
    this.touchedPacks.add(pack);
    try {
      const now = new Date();
      fs.utimesSync(nodePath.join(this.packsDir, indexOf(pack)), now, now);
    } catch {
      // read-only cache, or the pack went meanwhile: fine
    }
  }

  /**
   * Stores an analysis; never throws (a cache that cannot be written only costs time).
   * `json`: `JSON.stringify(analysis)` when the caller has it already.
   */
  write(key: string, analysis: FileAnalysis, json?: string): boolean {
    if (analysis.notes.length > 0 || analysis.notAnalysed !== undefined) return false;
    return this.append(key, entryText({ format: CACHE_FORMAT, key }, json ?? JSON.stringify(analysis)));
  }

  /**
   * Appends an entry's text to this cache's pack, then its index line; never throws. A pack
   * that is not as this writer left it (merged or pruned away, or grown by another hand) is
   * left, and a new one started.
   */
  append(key: string, text: string): boolean {
    const length = Buffer.byteLength(text);
    try {
      let w = this.writer;
      if (w && fileSize(w.packFile) !== w.bytes) w = undefined;
      if (!w) {
        if (!this.dirs.has(this.packsDir)) {
          makeDirectory(this.packsDir);
          this.markOwned();
          this.dirs.add(this.packsDir);
        }
        const name = writerName();
        w = { pack: `${name}.pack`, packFile: nodePath.join(this.packsDir, `${name}.pack`), indexFile: nodePath.join(this.packsDir, `${name}.index`), bytes: 0 };
        // Made (empty) before its index: an index never names a pack that was not there.
        fs.writeFileSync(w.packFile, '', { flag: 'wx' });
        this.writer = w;
      }
      const offset = w.bytes;
      // A newline after each entry keeps a pack readable as lines; it is not part of the entry.
      fs.appendFileSync(w.packFile, `${text}\n`);
      w.bytes += length + 1;
      fs.appendFileSync(w.indexFile, `${key} ${offset} ${length}\n`);
      this.own.set(key, { pack: w.pack, offset, length });
      return true;
    } catch {
      this.writer = undefined;
      return false;
    }
  }

  /**
   * Reads a file entry (an evaluation, a package): header for this key (and `inputs`, when
   * given), checksum, JSON body. A hit refreshes the entry's time (least recently used
   * pruning goes by it).
   */
  private load(file: string, key: string, inputs?: string): EntryLookup {
    // Most lookups of a cold scan miss: no exception (with its stack) for each of them.
    if (!fs.existsSync(file)) return { status: 'miss' };
    let raw: string;
    try {
      raw = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? { status: 'miss' } : { status: 'corrupt', reason: `unreadable (${code ?? String(err)})` };
    }
    const entry = checkEntry(raw, key, inputs, JSON.parse);
    if (entry.status !== 'found') return entry;
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // read-only cache: fine
    }
    return entry;
  }

  // ---- evaluations ------------------------------------------------------------------------

  /**
   * The slot of a workspace's evaluation: one entry per build, scanned roots and settings,
   * replaced whenever the workspace changes (so edits do not pile up entries).
   */
  evaluationSlot(parts: EvaluationSlotParts): string {
    return sha256(JSON.stringify(['evaluation', this.fingerprint, parts.roots, parts.settings]));
  }

  private evaluationFile(slot: string): string {
    return nodePath.join(this.root, slot.slice(0, 2), `${slot}.evaluation`);
  }

  /** The evaluation stored in `slot` for exactly these `inputs` (see `evaluationInputs`). */
  readEvaluation(slot: string, inputs: string): EvaluationLookup {
    const entry = this.load(this.evaluationFile(slot), slot, inputs);
    if (entry.status !== 'found') return entry;
    if (!isEvaluationShape(entry.value)) return { status: 'corrupt', reason: 'body is not an evaluation' };
    return { status: 'hit', evaluation: entry.value as CachedEvaluation };
  }

  /** Stores the evaluation of `inputs` in `slot`; never throws. */
  writeEvaluation(slot: string, inputs: string, evaluation: CachedEvaluation): boolean {
    return this.store(this.evaluationFile(slot), { format: CACHE_FORMAT, key: slot, inputs }, JSON.stringify(evaluation));
  }

  // ---- installed packages -----------------------------------------------------------------

  /**
   * The slot of an installed distribution's analyses (`scan/python-environment.ts`): one per
   * build, distribution name and version, and its metadata folder as installed (path and
   * time), so a reinstall or an upgrade starts a new entry.
   */
  packageSlot(identity: string): string {
    return sha256(JSON.stringify(['package', this.fingerprint, identity]));
  }

  private packageFile(slot: string): string {
    return nodePath.join(this.root, slot.slice(0, 2), `${slot}.package`);
  }

  /** What was stored for an installed distribution (the caller checks the shape), or undefined. */
  readPackage(slot: string): unknown {
    const entry = this.load(this.packageFile(slot), slot);
    return entry.status === 'found' ? entry.value : undefined;
  }

  /** Stores what was learnt of an installed distribution; never throws. */
  writePackage(slot: string, value: unknown): boolean {
    return this.store(this.packageFile(slot), { format: CACHE_FORMAT, key: slot }, JSON.stringify(value));
  }

  /** Tags the folders as a cache (once per process and folder; idempotent). */
  private markOwned(): void {
    const tag = nodePath.join(this.baseDir, 'CACHEDIR.TAG');
    if (!fs.existsSync(tag)) fs.writeFileSync(tag, CACHEDIR_TAG);
    // Also says when this build last wrote (pruning drops builds unused for a day).
    fs.writeFileSync(nodePath.join(this.root, OWNED_MARKER), '');
  }

  /** Writes a file entry (header line, then the body) atomically; never throws. */
  private store(file: string, header: Record<string, unknown>, body: string): boolean {
    const dir = nodePath.dirname(file);
    const text = entryText(header, body);
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      if (!this.dirs.has(dir)) {
        makeDirectory(dir);
        if (this.dirs.size === 0) this.markOwned();
        this.dirs.add(dir);
      }
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, file);
      return true;
    } catch {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // nothing to clean
      }
      return false;
    }
  }
}

export interface PruneOptions {
  /** Budget for the current fingerprint's entries, in bytes. */
  maxBytes?: number;
  /** Folders of other fingerprints unused for longer than this are removed. */
  staleMs?: number;
  /** Run at most this often (a marker file keeps the time). 0: always. */
  intervalMs?: number;
  now?: number;
}

export const DEFAULT_CACHE_MAX_BYTES = 512 * 1024 * 1024;

/** A removable unit of this build's cache: a pack with its index, or a file entry. */
interface PrunedUnit {
  files: string[];
  size: number;
  /** Last use: the index's time for a pack (hits refresh it), the entry's for a file. */
  last: number;
}

/**
 * Keeps the cache bounded (see the module comment). Never throws; returns how many entries,
 * packs and folders it removed.
 */
export async function pruneCache(baseDir: string, options: PruneOptions = {}): Promise<{ removed: number }> {
  const { maxBytes = DEFAULT_CACHE_MAX_BYTES, staleMs = 24 * 3600_000, intervalMs = 3600_000, now = Date.now() } = options;
  const cache = new DiskCache(baseDir);
  const marker = nodePath.join(cache.root, '.last-prune');
  let removed = 0;
  try {
    // NOTE: only a folder that this cache created is pruned (its CACHEDIR.TAG, and a marker in
    // each build folder): `--cache-dir` pointed at a folder of other files must never lose any.
    if (!fs.existsSync(nodePath.join(baseDir, 'CACHEDIR.TAG'))) return { removed };
    if (intervalMs > 0) {
      try {
        if (now - fs.statSync(marker).mtimeMs < intervalMs) return { removed };
      } catch {
        // never pruned
      }
    }
    makeDirectory(cache.root);
    fs.writeFileSync(marker, '');
    // Other fingerprints (an older build) and older formats: dropped once unused for a while.
    const others: { dir: string; last: number; size: number }[] = [];
    for (const version of await fs.promises.readdir(baseDir, { withFileTypes: true })) {
      if (!version.isDirectory() || !/^v\d+$/.test(version.name)) continue;
      const versionDir = nodePath.join(baseDir, version.name);
      for (const e of await fs.promises.readdir(versionDir, { withFileTypes: true })) {
        const full = nodePath.join(versionDir, e.name);
        const owned = nodePath.join(full, OWNED_MARKER);
        if (!e.isDirectory() || full === cache.root || !fs.existsSync(owned)) continue;
        let last = fs.statSync(full).mtimeMs;
        for (const marker of [owned, nodePath.join(full, '.last-prune')]) {
          try {
            last = Math.max(last, fs.statSync(marker).mtimeMs);
          } catch {
            // no such marker
          }
        }
        if (now - last > staleMs) {
          await fs.promises.rm(full, { recursive: true, force: true });
          removed++;
        } else others.push({ dir: full, last, size: await folderBytes(full) });
      }
    }
    // This fingerprint: its packs (idle ones merged when there are many) and file entries.
    const packs = await listPacks(cache, now);
    removed += packs.removed;
    const units: PrunedUnit[] = packs.units;
    for (const sub of await fs.promises.readdir(cache.root, { withFileTypes: true })) {
      if (!sub.isDirectory() || !/^[0-9a-f]{2}$/.test(sub.name)) continue;
      const dir = nodePath.join(cache.root, sub.name);
      for (const name of await fs.promises.readdir(dir)) {
        const file = nodePath.join(dir, name);
        try {
          const st = await fs.promises.stat(file);
          // Temporary files of a crashed writer.
          if (name.endsWith('.tmp') && name.startsWith(sub.name) && now - st.mtimeMs > 3600_000) {
            await fs.promises.rm(file, { force: true });
            removed++;
            continue;
          }
          if (ENTRY_NAME.test(name)) units.push({ files: [file], size: st.size, last: st.mtimeMs });
        } catch {
          // removed meanwhile
        }
      }
    }
    // The budget covers every build: other builds go first (least recently used first), then
    // this build's least recently used packs and entries.
    let all = units.reduce((n, u) => n + u.size, 0) + others.reduce((n, o) => n + o.size, 0);
    if (all > maxBytes) {
      const target = maxBytes * 0.8;
      others.sort((a, b) => a.last - b.last);
      for (const o of others) {
        if (all <= target) break;
        await fs.promises.rm(o.dir, { recursive: true, force: true });
        all -= o.size;
        removed++;
      }
      units.sort((a, b) => a.last - b.last);
      for (const u of units) {
        if (all <= target) break;
        for (const f of u.files) await fs.promises.rm(f, { force: true });
        all -= u.size;
        removed++;
      }
    }
  } catch {
    // a cache that cannot be pruned is left as it is
  }
  return { removed };
}

/**
 * This build's packs as units to prune: a pack without its index (a writer that stopped
 * before its first index line) and an index without its pack are removed once an hour old;
 * when there are more than {@link MAX_PACKS}, the idle ones are merged into one pack.
 */
async function listPacks(cache: DiskCache, now: number): Promise<{ units: PrunedUnit[]; removed: number }> {
  const dir = cache.packsDir;
  let names: string[];
  try {
    names = (await fs.promises.readdir(dir)).sort();
  } catch {
    return { units: [], removed: 0 };
  }
  let removed = 0;
  const present = new Set(names);
  const pairs: { pack: string; index: string; size: number; last: number; written: number }[] = [];
  for (const name of names) {
    const isPack = name.endsWith('.pack');
    if (!isPack && !name.endsWith('.index')) continue;
    const partner = isPack ? indexOf(name) : packOf(name);
    try {
      const st = await fs.promises.stat(nodePath.join(dir, name));
      if (!present.has(partner)) {
        if (now - st.mtimeMs > 3600_000) {
          await fs.promises.rm(nodePath.join(dir, name), { force: true });
          removed++;
        }
        continue;
      }
      if (!isPack) continue;
      const index = await fs.promises.stat(nodePath.join(dir, partner));
      pairs.push({ pack: name, index: partner, size: st.size + index.size, last: index.mtimeMs, written: st.mtimeMs });
    } catch {
      // removed meanwhile
    }
  }
  const idle = pairs.filter((p) => now - p.written > PACK_IDLE_MS);
  if (pairs.length > MAX_PACKS && idle.length > 1) {
    const merged = mergePacks(cache, idle.map((p) => p.pack));
    if (merged) {
      const last = Math.max(...idle.map((p) => p.last));
      try {
        fs.utimesSync(merged.indexFile, new Date(last), new Date(last));
      } catch {
        // its time stays now
      }
      for (const p of idle) {
        await fs.promises.rm(nodePath.join(dir, p.index), { force: true });
        await fs.promises.rm(nodePath.join(dir, p.pack), { force: true });
      }
      const kept = pairs.filter((p) => !idle.includes(p)).map((p) => unitOf(dir, p));
      return { units: [...kept, { files: [merged.indexFile, merged.packFile], size: merged.size, last }], removed };
    }
  }
  return { units: pairs.map((p) => unitOf(dir, p)), removed };
}

/** A pack with its index, as a unit to prune. */
function unitOf(dir: string, p: { pack: string; index: string; size: number; last: number }): PrunedUnit {
  return { files: [nodePath.join(dir, p.index), nodePath.join(dir, p.pack)], size: p.size, last: p.last };
}

/**
 * Copies the sound entries of `packs` (in name order, so the newest entry of a key wins) into
 * one new pack; undefined when that failed (the packs are then left as they are).
 */
function mergePacks(cache: DiskCache, packs: readonly string[]): { packFile: string; indexFile: string; size: number } | undefined {
  const entries = new Map<string, PackedEntry>();
  for (const pack of packs) {
    const index = readFrom(nodePath.join(cache.packsDir, indexOf(pack)), 0);
    if (index) readIndexLines(index, pack, entries);
  }
  const target = new DiskCache(cache.baseDir, cache.fingerprint);
  const byPack = new Map<string, [string, PackedEntry][]>();
  for (const [key, at] of entries) {
    const list = byPack.get(at.pack) ?? [];
    list.push([key, at]);
    byPack.set(at.pack, list);
  }
  for (const [pack, list] of byPack) {
    const bytes = readFrom(nodePath.join(cache.packsDir, pack), 0);
    if (!bytes) continue;
    for (const [key, at] of list) {
      if (at.offset + at.length > bytes.length) continue;
      const text = bytes.toString('utf8', at.offset, at.offset + at.length);
      // A damaged entry is left behind (its header and checksum are checked; the body is not parsed).
      if (checkEntry(text, key, undefined, () => undefined).status !== 'found') continue;
      if (!target.append(key, text)) return undefined;
    }
  }
  const written = target.written();
  return written && { ...written, size: fileSize(written.packFile) + fileSize(written.indexFile) };
}
