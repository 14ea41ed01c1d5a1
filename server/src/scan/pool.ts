/**
 * A pool of analysis worker threads (`worker.ts`).
 *
 * NOTE: built on `node:worker_threads` directly rather than piscina. piscina starts its own
 * wrapper script (`piscina/dist/worker.js`) that then `require`s the task file; bundled by
 * esbuild, that wrapper is not next to the bundle, so it would have to be shipped and located
 * separately in dist/ and in the .vsix, and running from source (tsx) it would need a loader
 * in every worker. The pool needed here is small: a few requests in flight per worker (so a
 * worker never waits for the main thread between two files), results back by id, a crashed
 * worker's requests failed (the scanner then analyses those files in the main thread) and the
 * worker replaced. Analyses come back as JSON text and are parsed here (see `worker.ts`).
 *
 * The worker code is `dist/worker/scan-worker.js` next to the CLI and server bundles
 * (`dist/cli/`, `dist/server/`); running from source, `worker.ts` through tsx's CommonJS hook.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { defaultCacheDir } from '../engine/cache';
import { fromWire, type FileOutcome, type FileTask } from './file-task';
import type { SharedReplay } from '../model/python-replay-share';
import type { ReplayRequest, WorkerRequest, WorkerResponse } from './worker';

/** Below this many files a scan runs in the main thread: starting workers (~100 ms each, grammars included) would cost more than it saves. */
export const POOL_MIN_FILES = 64;

/**
 * With a cache, the workers start at the this-many-th file that is not in the cache (the
 * first ones are analysed in the main thread): a warm scan with an edit or two starts none.
 */
export const POOL_START_MISSES = 4;

/** Default `--jobs`: one worker per available CPU. */
export function defaultJobs(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * How the worker is started, or undefined when its code cannot be found (then: main thread).
 * The bundled worker starts from V8's code cache, as the CLI bundle does in `bin/hazard-lens.js`
 * ({@link codeCachedWorker}), unless `HAZARD_LENS_NO_CODE_CACHE=1`.
 */
export function workerScript(env: NodeJS.ProcessEnv = process.env): { file: string; eval: boolean } | undefined {
  if (__filename.endsWith('.ts')) {
    const source = path.join(__dirname, 'worker.ts');
    return { file: `require('tsx/cjs'); require(${JSON.stringify(source)});`, eval: true };
  }
  for (const candidate of [path.join(__dirname, '..', 'worker', 'scan-worker.js'), path.join(__dirname, 'worker', 'scan-worker.js')]) {
    if (!fs.existsSync(candidate)) continue;
    if (env.HAZARD_LENS_NO_CODE_CACHE === '1') return { file: candidate, eval: false };
    const variant = heapGrowthLimited ? `heap-growing-percent-${ONE_SHOT_SCAN_HEAP_GROWING_PERCENT}` : undefined;
    return { file: codeCachedWorker(candidate, path.join(defaultCacheDir(env), 'code'), env.HAZARD_LENS_CODE_CACHE_REPORT === '1', variant), eval: true };
  }
  return undefined;
}

/**
 * The source of a worker that runs the bundle `file` from V8's code cache in `folder`, with
 * the launcher's loader (`bin/code-cache.js`, copied next to the bundles as
 * `dist/shared/code-cache.js`): without a usable entry, the code compiled once the worker has
 * sent its first results (the analysis of a file has run by then) is written for the next
 * worker. `report`: say on stderr whether the cache was used (tests). `variant`: the V8 flags
 * the workers run under, when not the default (V8 rejects code cached under other flags):
 * each variant keeps an entry of its own.
 */
export function codeCachedWorker(file: string, folder: string, report = false, variant?: string): string {
  const loader = path.join(path.dirname(file), '..', 'shared', 'code-cache.js');
  const options = `{ folder: ${JSON.stringify(folder)}, parent: module, writeWhen: 'first-message'${report ? ", report: 'worker code cache'" : ''}${variant ? `, variant: ${JSON.stringify(variant)}` : ''} }`;
  return `'use strict';\nrequire(${JSON.stringify(loader)}).runCodeCached(${JSON.stringify(file)}, ${options});\n`;
}

/**
 * Requests in flight per worker: the worker starts the next file as soon as it has sent a
 * result, instead of idling while the result crosses to the main thread and the next request
 * comes back (measured: ~10 % of a worker's time on glibc's 6,360 small files with one), and
 * it can send its results in batches (`worker.ts`).
 */
export const PER_WORKER_IN_FLIGHT = 8;

interface Pending {
  resolve: (o: FileOutcome) => void;
  reject: (e: Error) => void;
  /** A replay request's answer goes here instead. */
  replayed?: (r: SharedReplay) => void;
}

interface Slot {
  worker: Worker;
  busy: Map<number, Pending>;
}

/**
 * The analysis workers' heap limits. A worker's live heap is small (the facts of the file at
 * hand; ~10 MB between files on the Python standard library), but with V8's defaults its heap
 * grew to 60-85 MB of garbage between collections, in each worker. With a young generation of
 * 16 MB and an old generation capped (V8 then grows the heap in smaller steps) it stays near
 * 45 MB; the cap itself is far above what one file needs, and a worker that runs out of memory
 * is replaced and its file analysed in the main thread, as after any worker failure. (A young
 * generation of 8 MB saved ~10 MB more of peak but cost ~20 % more CPU in collections.)
 */
export const ANALYSIS_WORKER_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 512 };

/**
 * V8's interrupt budget while analysis workers run (its default: 67,584). The analyser's hottest
 * functions are large, and V8 optimises them before their type feedback has seen the cases that
 * come later: each new case throws the optimised code away and TurboFan compiles it again (one
 * function of the C facts 11 times in a glibc scan; compiling took a fifth to a quarter of a
 * scan's CPU, on threads that compete with the workers for the cores). With four times the
 * budget a function is optimised once its feedback has settled. Set only where workers start:
 * the budget also delays baseline compilation, which a short scan in the main thread pays for
 * (a one-file scan took 130 → 168 ms with it). V8 flags are process-wide; the launcher puts the
 * default back before it writes its code cache (bin/hazard-lens.js), so that cache's stamp
 * stays the default's.
 */
export const WORKER_RUN_INTERRUPT_BUDGET = 270_000;

/**
 * How much V8 lets a heap grow past what the last full collection left alive, in a CLI scan
 * that starts workers: 50 % (V8's own factor moves between 10 % and 300 % with how fast it
 * collects). The main thread receives the analyses as JSON texts, parses them and interns
 * their strings: most of what it allocates is garbage at once, and with V8's factor its heap
 * grew to two or three times what was alive (on the Python standard library 104–131 MB of
 * heap at the end of the file analysis for 49 MB alive, and 200–320 MB during the program
 * model), which made the scan's peak RSS 331–464 MB from run to run. V8 flags are
 * process-wide: the workers, whose heaps are capped anyway ({@link ANALYSIS_WORKER_LIMITS}),
 * get it too; their code cache entry is kept apart from the language server's workers',
 * which run without it ({@link codeCachedWorker}), and the launcher, which writes its own
 * after short scans only ({@link ONE_SHOT_SCAN_STARTED_WORKERS}), puts the default back first
 * (bin/hazard-lens.js). Not in a long-lived process (the language server), whose heap holds
 * the workspace's index between scans.
 */
export const ONE_SHOT_SCAN_HEAP_GROWING_PERCENT = 50;

/**
 * Set on `globalThis` once a CLI scan starts workers: the launcher then does not write its
 * code cache at exit (bin/hazard-lens.js). The code the main thread compiles in such a scan
 * (the pool, the program model over many files, and not much of the per-file analysis) served
 * a one-file scan worse than the code of a one-file scan: with an empty analysis cache
 * 161–164 ms against 134–147 ms, and with the analysis cached up to 145 ms against 102 ms
 * (`node -e 0`: 68–77 ms); written by a scan with workers, the entry stayed until the bundle
 * changed.
 */
export const ONE_SHOT_SCAN_STARTED_WORKERS = Symbol.for('hazard-lens.one-shot-scan-started-workers');

/**
 * For a CLI scan about to start workers: applies {@link ONE_SHOT_SCAN_HEAP_GROWING_PERCENT}
 * to this process and marks it ({@link ONE_SHOT_SCAN_STARTED_WORKERS}).
 */
export function prepareOneShotScanWithWorkers(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${ONE_SHOT_SCAN_HEAP_GROWING_PERCENT}`);
  heapGrowthLimited = true;
  (globalThis as Record<symbol, unknown>)[ONE_SHOT_SCAN_STARTED_WORKERS] = true;
}

/** {@link prepareOneShotScanWithWorkers} ran in this process: workers compile under its flag. */
let heapGrowthLimited = false;

export class AnalysisPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: { task: FileTask; resolve: (o: FileOutcome) => void; reject: (e: Error) => void }[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly script: { file: string; eval: boolean },
    /** V8 heap limits of each worker (`worker_threads` `resourceLimits`); Node's defaults otherwise. */
    private readonly limits?: ResourceLimits,
    /** Reads the JSON text of an analysis a worker sends (`JSON.parse` otherwise; see `fromWire`). */
    private readonly parse?: (json: string) => unknown,
  ) {
    v8.setFlagsFromString(`--interrupt-budget=${WORKER_RUN_INTERRUPT_BUDGET}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.script.file, { eval: this.script.eval, resourceLimits: this.limits });
    // Idle workers must not keep the process alive.
    worker.unref();
    const slot: Slot = { worker, busy: new Map() };
    const receive = (msg: WorkerResponse) => {
      const pending = slot.busy.get(msg.id);
      if (!pending) return;
      slot.busy.delete(msg.id);
      if (slot.busy.size === 0) worker.unref();
      if (msg.ok && 'replayed' in msg) pending.replayed?.(msg.replayed);
      else if (msg.ok) {
        let outcome: FileOutcome;
        try {
          outcome = fromWire(msg.outcome, this.parse);
        } catch (err) {
          pending.reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        pending.resolve(outcome);
      } else pending.reject(new Error(msg.error));
    };
    // A batch of responses (`worker.ts`), or a single one.
    worker.on('message', (msg: WorkerResponse | WorkerResponse[]) => {
      if (Array.isArray(msg)) for (const m of msg) receive(m);
      else receive(msg);
      this.pump();
    });
    const fail = (err: Error) => {
      const pending = [...slot.busy.values()];
      slot.busy.clear();
      for (const p of pending) p.reject(err);
      if (this.closed) return;
      // Replace the worker that died (out of memory, a crash in the wasm runtime).
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn();
      this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`analysis worker exited with code ${code}`));
    });
    return slot;
  }

  /** Analyses one file in a worker. Rejects when the worker failed on it. */
  run(task: FileTask): Promise<FileOutcome> {
    if (this.closed) return Promise.reject(new Error('the analysis pool is closed'));
    return new Promise<FileOutcome>((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    // Least loaded worker first, so that the work spreads evenly.
    while (this.waiting.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.slots) if (s.busy.size < PER_WORKER_IN_FLIGHT && (!slot || s.busy.size < slot.busy.size)) slot = s;
      if (!slot) return;
      const next = this.waiting.shift()!;
      const id = this.nextId++;
      slot.busy.set(id, { resolve: next.resolve, reject: next.reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, task: next.task } satisfies WorkerRequest);
    }
  }

  /**
   * Asks this pool's first worker to replay a share of the Python programs
   * (`model/python-replay-share.ts`; the scan starts a pool of one for it, after the analysis
   * workers have stopped). The packed analyses' buffer is transferred, not copied. Resolves
   * with the worker's logs; rejects when the worker failed.
   */
  replay(request: ReplayRequest): Promise<SharedReplay> {
    if (this.closed) return Promise.reject(new Error('the analysis pool is closed'));
    const slot = this.slots[0];
    return new Promise<SharedReplay>((resolve, reject) => {
      const id = this.nextId++;
      slot.busy.set(id, { resolve: () => reject(new Error('a replay was answered with an analysis')), reject, replayed: resolve });
      slot.worker.ref();
      slot.worker.postMessage({ id, replay: request } satisfies WorkerRequest, [request.analyses.bytes.buffer as ArrayBuffer]);
    });
  }

  /** Requests this pool can usefully hold at once (the scanner's window). */
  get capacity(): number {
    return this.size * PER_WORKER_IN_FLIGHT;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('the analysis pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}
