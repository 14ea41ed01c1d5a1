/**
 * Entry of the analysis worker thread (bundled as `dist/worker/scan-worker.js`; see `pool.ts`).
 * Runs {@link runFileTask} for each request, in arrival order; grammars load once, on first use.
 *
 * An analysis goes back as its JSON text, not as an object: the structured clone of a large
 * object graph costs the worker more than `JSON.stringify` (made anyway for the cache entry),
 * and the main thread's `JSON.parse` builds objects that take ~30 % less memory and that the
 * program model evaluates about twice as fast (strings short enough are internalised, so equal
 * names are one string; cloned objects are not) — measured on the Python standard library.
 */
import { parentPort } from 'node:worker_threads';
import { inflateRawSync } from 'node:zlib';
import type { FileAnalysis } from '../analysis/results';
import { mergeKnowledge } from '../knowledge/knowledge';
import type { UserKnowledge } from '../knowledge/user-models';
import type { ProgramDependencies, ProgramSettings, ProjectFile } from '../model/program-context';
import { replayShare, type SharedReplay } from '../model/python-replay-share';
import { StringInterner } from './intern';
import { PackedRanges } from './packed-ranges';
import { readCachedAnalysis, runFileTask, toWire, type FileTask, type WireOutcome } from './file-task';

/**
 * The work a worker does once the files are analysed: replay a share of the Python programs
 * (`model/python-replay-share.ts`). It is a worker of its own, started after the analysis
 * workers have stopped (it never parses, so it holds no parser memory), and this one request
 * brings it the Python analyses: each one as its JSON text, deflated, in one transferred
 * buffer ({@link PackedAnalyses}; a tenth of the text's size while the scan holds it), or as
 * where to find it in the cache (which the scan has just written: read here, it costs the
 * main thread nothing).
 */
export interface ReplayRequest {
  roots: readonly string[];
  projectFiles: readonly ProjectFile[];
  /** The Python part of the scan's dependencies (their analyses included). */
  dependencies?: ProgramDependencies;
  settings: Omit<ProgramSettings, 'knowledge'>;
  /** The user's models, merged with the built-in tables here as in the main thread. */
  knowledge?: UserKnowledge;
  /** Shared with the main thread (`ReplayHelper.claims`). */
  claims: Int32Array;
  /** The scan's Python analyses, in the scan's order. */
  analyses: PackedAnalyses;
}

/**
 * Analyses on their way to the replaying worker, in the scan's order: `bytes` holds the
 * deflated JSON texts one after the other (`deflateRawSync`), and each entry says where its
 * text ends in `bytes` (it starts where the previous one ended) or where the analysis is in
 * the cache.
 */
export interface PackedAnalyses {
  bytes: Uint8Array;
  entries: (number | { path: string; hash: string })[];
  cache?: ReplayCache;
}

/** The cache the replay's analyses are read from. */
export interface ReplayCache {
  dir: string;
  fingerprint?: string;
  prefilter: boolean;
}

export type WorkerRequest = { id: number; task: FileTask } | { id: number; replay: ReplayRequest };

export type WorkerResponse = { id: number; ok: true; outcome: WireOutcome } | { id: number; ok: true; replayed: SharedReplay } | { id: number; ok: false; error: string };

/** The analyses of a replay request, with only what the model reads of each; undefined when one cannot be read. */
function unpackAnalyses(packed: PackedAnalyses): FileAnalysis[] | undefined {
  const out: FileAnalysis[] = [];
  // One copy of each repeated string across the facts, as the main thread keeps its analyses
  // (`intern.ts`), and their ranges packed (`packed-ranges.ts`): on the Python standard library
  // the facts take 36 MB of live heap here instead of 111.
  const interner = new StringInterner();
  const ranges = new PackedRanges();
  const parse = (text: string) => ranges.parse(text);
  let start = 0;
  for (const entry of packed.entries) {
    let a: FileAnalysis | undefined;
    try {
      if (typeof entry === 'number') {
        a = parse(inflateRawSync(packed.bytes.subarray(start, entry)).toString('utf8')) as FileAnalysis;
        start = entry;
      } else a = packed.cache && readCachedAnalysis(packed.cache.dir, packed.cache.fingerprint, packed.cache.prefilter, entry.path, entry.hash, parse);
    } catch {
      a = undefined;
    }
    if (!a) return undefined;
    out.push({ path: a.path, language: a.language, contentHash: a.contentHash, facts: interner.internStrings(a.facts), syntaxErrors: [], suppressions: [], localFindings: [], notes: [] });
  }
  return out;
}

/** Runs one request. */
async function handle(msg: WorkerRequest): Promise<WorkerResponse> {
  if ('replay' in msg) {
    const r = msg.replay;
    const files = unpackAnalyses(r.analyses);
    // An analysis that cannot be read: this worker cannot build the same model, and replays nothing.
    if (!files) return { id: msg.id, ok: true, replayed: { modules: -1, logs: [] } };
    const config: ProgramSettings = { ...r.settings, knowledge: mergeKnowledge(r.knowledge) };
    const replayed = replayShare({ files, roots: r.roots, projectFiles: r.projectFiles, dependencies: r.dependencies, config }, r.claims);
    return { id: msg.id, ok: true, replayed };
  }
  return { id: msg.id, ok: true, outcome: toWire(await runFileTask(msg.task)) };
}

/**
 * Results are sent in small batches: each message costs the worker ~0.1 ms whatever its size
 * (it wakes the main thread, which on a busy machine takes the core from a worker), 12 % of
 * its time on glibc's 6,360 small files when sent one by one. A batch goes when this worker
 * has nothing else queued, holds {@link BATCH} results, or its first result is
 * {@link BATCH_MS} old when the next one is ready.
 */
const BATCH = 4;
const BATCH_MS = 20;

const port = parentPort;
if (port) {
  // Requests are handled one at a time in arrival order; the pool keeps several in flight per
  // worker so that the next one is here when this one is done. They are queued and handled
  // from `setImmediate`, not in the message event itself: Node runs the microtasks after each
  // message event, so a handler that starts right away would finish a file before the next
  // request of the same delivery is even seen, and every batch would hold one result.
  const queue: WorkerRequest[] = [];
  let draining = false;
  let batch: WorkerResponse[] = [];
  let since = 0;
  const flush = () => {
    if (batch.length === 0) return;
    port.postMessage(batch);
    batch = [];
  };
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const drain = async () => {
    while (queue.length > 0) {
      const msg = queue.shift()!;
      let response: WorkerResponse;
      try {
        response = await handle(msg);
      } catch (err) {
        response = { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      if (batch.length === 0) since = Date.now();
      batch.push(response);
      // Requests sent while this file was analysed come in now.
      if (queue.length === 0) await turn();
      if (queue.length === 0 || batch.length >= BATCH || Date.now() - since >= BATCH_MS) flush();
    }
    draining = false;
  };
  port.on('message', (msg: WorkerRequest) => {
    queue.push(msg);
    if (draining) return;
    draining = true;
    setImmediate(() => void drain());
  });
}
