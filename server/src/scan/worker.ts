/**
 * Entry of the analysis worker thread (bundled as `dist/worker/scan-worker.js`; see `pool.ts`).
 * Runs {@link runFileTask} for each request, one at a time; grammars load once, on first use.
 */
import { parentPort } from 'node:worker_threads';
import { runFileTask, type FileTask } from './file-task';

export interface WorkerRequest {
  id: number;
  task: FileTask;
}

export type WorkerResponse = { id: number; ok: true; outcome: Awaited<ReturnType<typeof runFileTask>> } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  // Requests are handled in arrival order; the pool sends one at a time per worker.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: WorkerRequest) => {
    chain = chain.then(async () => {
      let response: WorkerResponse;
      try {
        response = { id: msg.id, ok: true, outcome: await runFileTask(msg.task) };
      } catch (err) {
        response = { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      port.postMessage(response);
    });
  });
}
