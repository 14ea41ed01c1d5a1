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
import type { FileAnalysis } from '../analysis/results';
import { mergeKnowledge } from '../knowledge/knowledge';
import type { UserKnowledge } from '../knowledge/user-models';
import type { ProgramDependencies, ProgramSettings, ProjectFile } from '../model/program-context';
import { replayShare, type SharedReplay } from '../model/python-replay-share';
import { readCachedAnalysis, runFileTask, toWire, type FileTask, type WireOutcome } from './file-task';

/**
 * The work a worker does once the files are analysed: replay a share of the Python programs
 * (`model/python-replay-share.ts`). The Python analyses come first, in batches
 * (`replayFacts`) sent while the scan goes on, each one as its JSON text or as where to find
 * it in the cache (which the scan has just written: read here, it costs the main thread
 * nothing), then this request.
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
  /** How many analyses were sent: fewer arrived (a replaced worker), and this worker replays nothing. */
  expected: number;
}

/**
 * One analysis for a replay: its JSON text, or its path and content hash in the cache
 * (`ReplayCache`); `at` is its place in the scan's order (they arrive as files finish).
 */
export interface ReplayFact {
  at: number;
  fact: string | { path: string; hash: string };
}

/** The cache the replay's analyses are read from. */
export interface ReplayCache {
  dir: string;
  fingerprint?: string;
  prefilter: boolean;
}

export type WorkerRequest =
  | { id: number; task: FileTask }
  | { id: number; replayFacts: ReplayFact[]; cache?: ReplayCache }
  | { id: number; replay: ReplayRequest };

export type WorkerResponse = { id: number; ok: true; outcome: WireOutcome } | { id: number; ok: true; replayed: SharedReplay } | { id: number; ok: false; error: string };

/** The Python analyses received for a replay, by place (dropped once it is done); only what the model reads of each is kept. */
let replayFiles: FileAnalysis[] = [];
let replayCount = 0;
/** An analysis could not be read from the cache: this worker cannot build the same model, and replays nothing. */
let replayIncomplete = false;

/** Runs one request; the answer, or undefined for a message that needs none. */
async function handle(msg: WorkerRequest): Promise<WorkerResponse | undefined> {
  if ('replayFacts' in msg) {
    for (const { at, fact } of msg.replayFacts) {
      let a: FileAnalysis | undefined;
      try {
        a = typeof fact === 'string' ? (JSON.parse(fact) as FileAnalysis) : msg.cache && readCachedAnalysis(msg.cache.dir, msg.cache.fingerprint, msg.cache.prefilter, fact.path, fact.hash);
      } catch {
        a = undefined;
      }
      if (!a) replayIncomplete = true;
      else {
        replayFiles[at] = { path: a.path, language: a.language, contentHash: a.contentHash, facts: a.facts, syntaxErrors: [], suppressions: [], localFindings: [], notes: [] };
        replayCount++;
      }
    }
    return undefined;
  }
  if ('replay' in msg) {
    const r = msg.replay;
    // In the scan's order (the array has holes where other files are).
    const files = replayFiles.filter((a) => a !== undefined);
    const incomplete = replayIncomplete || replayCount !== r.expected;
    replayFiles = [];
    replayCount = 0;
    replayIncomplete = false;
    if (incomplete) return { id: msg.id, ok: true, replayed: { modules: -1, logs: [] } };
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
      let response: WorkerResponse | undefined;
      try {
        response = await handle(msg);
      } catch (err) {
        response = { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      if (response) {
        if (batch.length === 0) since = Date.now();
        batch.push(response);
      }
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
