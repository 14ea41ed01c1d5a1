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
import { runFileTask, toWire, type FileTask, type WireOutcome } from './file-task';

export interface WorkerRequest {
  id: number;
  task: FileTask;
}

export type WorkerResponse = { id: number; ok: true; outcome: WireOutcome } | { id: number; ok: false; error: string };

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
        response = { id: msg.id, ok: true, outcome: toWire(await runFileTask(msg.task)) };
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
