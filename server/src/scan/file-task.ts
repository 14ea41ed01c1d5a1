/**
 * One file's work, the same in a worker thread and in the main thread (`--jobs 0`): read the
 * file (the text is never shipped between threads), hash it, look the analysis up in the
 * persistent cache, otherwise parse and analyse it (the tree is freed before returning) and
 * store the result. Grammars are loaded on first use.
 */
import { analyzeText, contentHash, ensureGrammarFor, noAnalysisTimes, type AnalysisTimes } from '../engine/analyze';
import { DiskCache } from '../engine/cache';
import type { FileAnalysis } from '../analysis/results';
import { mergeKnowledge } from '../knowledge/knowledge';
import type { UserKnowledge } from '../knowledge/user-models';
import { languageForPath } from '../parsing/parser';
import { checkSource, decodeSource, readSourceFileBytesSync, type SourceEncoding } from './read';

export interface FileTask {
  path: string;
  maxBytes: number;
  /** Text held in memory (an open editor buffer); read from disk otherwise. */
  text?: string;
  /** Parse budget in progress checks (see `parsing/parser.ts`); the size-based default otherwise. */
  parseBudget?: number;
  prefilter: boolean;
  /** Persistent cache folder; none: no cache. */
  cacheDir?: string;
  /** Build fingerprint of the cache entries (the main thread's `buildFingerprint()`). */
  fingerprint?: string;
  /** The caller looked the cache up already (and missed): only write the new analysis. */
  cacheProbed?: boolean;
  /**
   * Content hashes whose analyses the caller already holds (the language server's index):
   * for these the result is `known` and nothing is parsed.
   */
  knownHashes?: readonly string[];
  /**
   * The user's models (`knowledge` of `.hazard-lens.json`, validated): plain data, so a worker
   * thread is sent it and merges it with the built-in tables as the main thread does.
   */
  knowledge?: UserKnowledge;
}

/**
 * Milliseconds (wall, in the thread that did each step) of one file's trip through a scan:
 * the analysis steps, and reading (read, decode, hash), the cache, the JSON text the analysis
 * travels as (`serialize` in the worker, `transfer` = parsing it in the main thread) and
 * loading grammars. Summed per phase for `--stats` (`scanner.ts`).
 */
export interface FileTimes extends AnalysisTimes {
  read: number;
  grammar: number;
  cacheRead: number;
  cacheWrite: number;
  serialize: number;
  transfer: number;
}

export function noFileTimes(): FileTimes {
  return { ...noAnalysisTimes(), read: 0, grammar: 0, cacheRead: 0, cacheWrite: 0, serialize: 0, transfer: 0 };
}

export type FileOutcome =
  | { kind: 'skip'; reason: string }
  | { kind: 'known'; contentHash: string; bytes: number; encoding: SourceEncoding }
  | {
      kind: 'analysis';
      analysis: FileAnalysis;
      bytes: number;
      /** The file began with a byte order mark (restored when `--fix` writes it back). */
      bom: boolean;
      /** How the file's bytes were decoded (`utf-8` for texts held in memory). */
      encoding: SourceEncoding;
      cache: 'hit' | 'miss' | 'off';
      /** Why a cache entry was not trusted (it was recomputed and overwritten). */
      corrupt?: string;
      prefiltered: boolean;
      /**
       * `JSON.stringify(analysis)` when it was made anyway (for the cache entry): a worker
       * sends this string instead of the object (see `worker.ts`).
       */
      json?: string;
      /** What each step took (see {@link FileTimes}). */
      times?: FileTimes;
    };

/** A {@link FileOutcome} on its way to the main thread: an analysis travels as JSON text. */
export type WireOutcome = Exclude<FileOutcome, { kind: 'analysis' }> | (Omit<Extract<FileOutcome, { kind: 'analysis' }>, 'analysis' | 'json'> & { json: string });

/** The outcome to send: analyses as JSON text. */
export function toWire(outcome: FileOutcome): WireOutcome {
  if (outcome.kind !== 'analysis') return outcome;
  const { analysis, json, ...rest } = outcome;
  if (json !== undefined) return { ...rest, json };
  const t = performance.now();
  const text = JSON.stringify(analysis);
  if (rest.times) rest.times = { ...rest.times, serialize: rest.times.serialize + performance.now() - t };
  return { ...rest, json: text };
}

/** The outcome received (in the main thread); `parse` reads the analysis's JSON text (`JSON.parse` by default). */
export function fromWire(outcome: WireOutcome | FileOutcome, parse: (json: string) => unknown = JSON.parse): FileOutcome {
  if (outcome.kind !== 'analysis' || !('json' in outcome) || 'analysis' in outcome) return outcome as FileOutcome;
  const { json, ...rest } = outcome;
  const t = performance.now();
  const analysis = parse(json) as FileAnalysis;
  if (rest.times) rest.times = { ...rest.times, transfer: rest.times.transfer + performance.now() - t };
  // The text stays with the outcome: a scan may hand it on to a worker replaying Python programs.
  return { ...rest, analysis, json };
}

/**
 * What a file is without analysing it: the reason it is skipped, or its content hash. UTF-8
 * bytes are checked (size, binary, encoding) and hashed but not decoded: the cheap first look
 * of a scan that may be answered by the evaluation cache. Files in another encoding are
 * decoded and their text hashed, as {@link probeFileTask} does: the content hash is always
 * that of the decoded text (its UTF-8 bytes), whatever the file's encoding.
 */
export type FileIdentity = { skip: string } | { skip?: undefined; contentHash: string; bytes: number; encoding: SourceEncoding };

export function identifyFile(task: FileTask): FileIdentity {
  // In `probeFileTask`'s order, so that a skipped file gets the same reason.
  let hash: string;
  let bytes: number;
  let head: string | Uint8Array | undefined = task.text;
  let encoding: SourceEncoding = 'utf-8';
  const knowledge = mergeKnowledge(task.knowledge);
  if (task.text !== undefined) {
    bytes = Buffer.byteLength(task.text);
    hash = contentHash(task.text, knowledge);
  } else {
    const read = readSourceFileBytesSync(task.path, task.maxBytes);
    if (!read.ok) return { skip: read.reason };
    const checked = checkSource(read.bytes);
    if (!checked.ok) return { skip: checked.reason };
    bytes = read.bytes.length;
    encoding = checked.encoding;
    // The UTF-8 fast path hashes the bytes: they are the UTF-8 encoding of the text.
    hash = checked.text !== undefined ? contentHash(checked.text, knowledge) : contentHash(read.bytes.subarray(checked.start), knowledge);
    head = checked.text ?? read.bytes.subarray(checked.start);
  }
  if (!languageForPath(task.path, head)) return { skip: 'unsupported file type' };
  return { contentHash: hash, bytes, encoding };
}

const caches = new Map<string, DiskCache>();

/**
 * The caches of this thread read their pack indexes again at their next lookup: called when a
 * scan (or a language server index build) starts, since other processes may have written
 * entries since the last one.
 */
export function rereadCacheIndexes(): void {
  for (const c of caches.values()) c.rereadIndex();
}

function cacheFor(dir: string, fingerprint: string | undefined): DiskCache {
  const id = `${dir}\0${fingerprint ?? ''}`;
  let c = caches.get(id);
  if (!c) {
    c = new DiskCache(dir, fingerprint);
    caches.set(id, c);
  }
  return c;
}

/**
 * What can be answered without parsing: the file cannot be read (skip), its content hash is
 * `known`, or its analysis is in the cache. Otherwise `miss`, with the text for the caller
 * that analyses it here (a worker re-reads it: texts are not shipped between threads).
 */
export type Probe =
  | { done: FileOutcome }
  | { done?: undefined; text: string; bom: boolean; encoding: SourceEncoding; bytes: number; hash: string; key?: string; cache?: DiskCache; corrupt?: string; times: FileTimes };

export function probeFileTask(task: FileTask): Probe {
  const times = noFileTimes();
  const t0 = performance.now();
  let text: string;
  let bom = false;
  let encoding: SourceEncoding = 'utf-8';
  let bytes: number;
  if (task.text !== undefined) {
    text = task.text;
    bytes = Buffer.byteLength(text);
  } else {
    const read = readSourceFileBytesSync(task.path, task.maxBytes);
    if (!read.ok) return { done: { kind: 'skip', reason: read.reason } };
    bytes = read.bytes.length;
    const decoded = decodeSource(read.bytes);
    if (!decoded.ok) return { done: { kind: 'skip', reason: decoded.reason } };
    text = decoded.text;
    bom = decoded.bom;
    encoding = decoded.encoding;
  }
  // Discovery only takes supported files: this is a file named explicitly.
  if (!languageForPath(task.path, text)) return { done: { kind: 'skip', reason: 'unsupported file type' } };
  // The hash of the decoded text, as `identifyFile` computes it: the analysis depends on the
  // text only (the encoding is reported from this probe, never from the cache).
  const hash = contentHash(text, mergeKnowledge(task.knowledge));
  const t1 = performance.now();
  times.read = t1 - t0;
  if (task.knownHashes?.includes(hash)) return { done: { kind: 'known', contentHash: hash, bytes, encoding } };
  const cache = task.cacheDir ? cacheFor(task.cacheDir, task.fingerprint) : undefined;
  const key = cache?.key(task.path, hash, task.prefilter);
  let corrupt: string | undefined;
  if (cache && key && !task.cacheProbed) {
    const found = cache.read(key, task.path, hash);
    times.cacheRead = performance.now() - t1;
    if (found.status === 'hit') return { done: { kind: 'analysis', analysis: found.analysis, bytes, bom, encoding, cache: 'hit', prefiltered: false, times } };
    if (found.status === 'corrupt') corrupt = found.reason;
  }
  return { text, bom, encoding, bytes, hash, key, cache, corrupt, times };
}

/**
 * The analysis of `path` with content hash `hash` in the cache, or undefined (a worker
 * replaying Python programs reads the facts this way: other threads of this scan wrote them,
 * so a key not yet in the index read is looked for in what the indexes gained).
 */
export function readCachedAnalysis(cacheDir: string, fingerprint: string | undefined, prefilter: boolean, path: string, hash: string, parse?: (body: string) => unknown): FileAnalysis | undefined {
  const cache = cacheFor(cacheDir, fingerprint);
  const found = cache.read(cache.key(path, hash, prefilter), path, hash, parse, true);
  return found.status === 'hit' ? found.analysis : undefined;
}

export async function runFileTask(task: FileTask): Promise<FileOutcome> {
  const probe = probeFileTask(task);
  return probe.done ?? analyseProbed(task, probe);
}

/** Parses and analyses a file whose probe missed, and stores the analysis in the cache. */
export async function analyseProbed(task: FileTask, probe: Exclude<Probe, { done: FileOutcome }>): Promise<FileOutcome> {
  const { text, bom, encoding, bytes, key, cache, corrupt } = probe;
  const times = { ...probe.times };
  // Grammars load on first use: a scan served from the cache never compiles them.
  let t = performance.now();
  await ensureGrammarFor(task.path, text);
  times.grammar = performance.now() - t;
  const out = { prefiltered: false, times };
  const analysis = analyzeText(task.path, text, task.parseBudget, { prefilter: task.prefilter, out, knowledge: mergeKnowledge(task.knowledge) });
  if (!analysis) return { kind: 'skip', reason: 'unsupported file type' };
  // One serialisation for the cache entry and for the trip to the main thread.
  t = performance.now();
  const json = cache && key ? JSON.stringify(analysis) : undefined;
  const t2 = performance.now();
  times.serialize = t2 - t;
  // A file that could not be parsed is tried again next time (a crash or the budget may not recur).
  if (cache && key && analysis.notAnalysed === undefined) cache.write(key, analysis, json);
  times.cacheWrite = performance.now() - t2;
  return { kind: 'analysis', analysis, bytes, bom, encoding, cache: cache ? 'miss' : 'off', corrupt, prefiltered: out.prefiltered, json, times };
}
