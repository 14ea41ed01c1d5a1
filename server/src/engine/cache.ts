/**
 * The persistent analysis cache: one file per {@link FileAnalysis}, keyed by the build
 * fingerprint, the file's path and its content hash.
 *
 * Location (NOTE: decided for the user's cache folder rather than `.hazard-lens-cache/` in the
 * workspace, so a scan never writes into the tree it scans and no `.gitignore` entry is
 * needed): `--cache-dir`, else `$HAZARD_LENS_CACHE_DIR`, else `$XDG_CACHE_HOME/hazard-lens`,
 * else `~/.cache/hazard-lens` (macOS: `~/Library/Caches/hazard-lens`; Windows:
 * `%LOCALAPPDATA%\hazard-lens\cache`). Inside it, `v1/<fingerprint>/<2 hex>/<key>.analysis`.
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
 *   recomputed by the caller and overwritten;
 * - writes go to a temporary file in the same directory and are renamed over the entry, so
 *   concurrent scans (or workers) never see half an entry; the last writer wins with an
 *   identical entry.
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
 *
 * Size: {@link pruneCache} runs at the end of a scan that wrote entries (and after a language
 * server index build), at most once an hour: it removes the folders of other fingerprints
 * unused for a day and, when the whole cache is over its budget (default 512 MB), the folders
 * of other builds, least recently used first, then this build's least recently used entries
 * (hits refresh an entry's time). Only folders the cache made (CACHEDIR.TAG, a marker per
 * build) are ever touched.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { ANALYZER_VERSION } from './analyze';
import { makeDirectory } from './directories';
import type { FileAnalysis, Finding } from '../analysis/results';

/** Bump when the entry layout changes. */
export const CACHE_FORMAT = 1;

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
const ENTRY_NAME = /^[0-9a-f]{64}\.(analysis|evaluation)$/;

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

/** One cache folder for one build fingerprint. Synchronous: it runs in workers (or the main thread of a `--jobs 0` scan). */
export class DiskCache {
  readonly root: string;
  private readonly dirs = new Set<string>();

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

  /** The key of an analysis of `path` whose text has `contentHash`. */
  key(path: string, contentHash: string, prefilter: boolean): string {
    return sha256(`${this.fingerprint}\0${prefilter ? 'p' : 'f'}\0${path}\0${contentHash}`);
  }

  private file(key: string): string {
    return nodePath.join(this.root, key.slice(0, 2), `${key}.analysis`);
  }

  /** The analysis stored under `key`; `parse` reads the JSON body (the replaying worker packs its ranges, `scan/packed-ranges.ts`). */
  read(key: string, path: string, contentHash: string, parse: (body: string) => unknown = JSON.parse): CacheLookup {
    const entry = this.load(this.file(key), key, undefined, parse);
    if (entry.status !== 'found') return entry;
    if (!isFileAnalysisShape(entry.value)) return { status: 'corrupt', reason: 'body is not an analysis' };
    const analysis = entry.value as FileAnalysis;
    if (analysis.path !== path || analysis.contentHash !== contentHash) return { status: 'corrupt', reason: 'analysis of another file or text' };
    return { status: 'hit', analysis };
  }

  /**
   * Reads an entry: header for this key (and `inputs`, when given), checksum, JSON body.
   * A hit refreshes the entry's time (least recently used pruning goes by it).
   */
  private load(file: string, key: string, inputs?: string, parse: (body: string) => unknown = JSON.parse): { status: 'found'; value: unknown } | { status: 'miss' } | { status: 'corrupt'; reason: string } {
    // Most lookups of a cold scan miss: no exception (with its stack) for each of them.
    if (!fs.existsSync(file)) return { status: 'miss' };
    let raw: string;
    try {
      raw = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? { status: 'miss' } : { status: 'corrupt', reason: `unreadable (${code ?? String(err)})` };
    }
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
    let value: unknown;
    try {
      value = parse(body);
    } catch {
      return { status: 'corrupt', reason: 'body is not JSON' };
    }
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // read-only cache: fine
    }
    return { status: 'found', value };
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

  /**
   * Stores an analysis; never throws (a cache that cannot be written only costs time).
   * `json`: `JSON.stringify(analysis)` when the caller has it already.
   */
  write(key: string, analysis: FileAnalysis, json?: string): boolean {
    if (analysis.notes.length > 0 || analysis.notAnalysed !== undefined) return false;
    return this.store(this.file(key), { format: CACHE_FORMAT, key }, json ?? JSON.stringify(analysis));
  }

  /** Writes an entry (header line, then the body) atomically; never throws. */
  private store(file: string, header: Record<string, unknown>, body: string): boolean {
    const dir = nodePath.dirname(file);
    const text = `${JSON.stringify({ ...header, check: sha256(body) })}\n${body}`;
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

/**
 * Keeps the cache bounded (see the module comment). Never throws; returns how many entries
 * and folders it removed.
 */
export async function pruneCache(baseDir: string, options: PruneOptions = {}): Promise<{ removed: number }> {
  const { maxBytes = DEFAULT_CACHE_MAX_BYTES, staleMs = 24 * 3600_000, intervalMs = 3600_000, now = Date.now() } = options;
  const cache = new DiskCache(baseDir);
  const versionDir = nodePath.dirname(cache.root);
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
    // Other fingerprints (an older build): dropped once unused for a while.
    const others: { dir: string; last: number; size: number }[] = [];
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
    // This fingerprint: least recently used entries out when over budget.
    const entries: { file: string; size: number; mtime: number }[] = [];
    let total = 0;
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
          if (!ENTRY_NAME.test(name)) continue;
          entries.push({ file, size: st.size, mtime: st.mtimeMs });
          total += st.size;
        } catch {
          // removed meanwhile
        }
      }
    }
    // The budget covers every build: other builds go first (least recently used first), then
    // this build's least recently used entries.
    let all = total + others.reduce((n, o) => n + o.size, 0);
    if (all > maxBytes) {
      const target = maxBytes * 0.8;
      others.sort((a, b) => a.last - b.last);
      for (const o of others) {
        if (all <= target) break;
        await fs.promises.rm(o.dir, { recursive: true, force: true });
        all -= o.size;
        removed++;
      }
      entries.sort((a, b) => a.mtime - b.mtime);
      for (const e of entries) {
        if (all <= target) break;
        await fs.promises.rm(e.file, { force: true });
        all -= e.size;
        removed++;
      }
    }
  } catch {
    // a cache that cannot be pruned is left as it is
  }
  return { removed };
}
