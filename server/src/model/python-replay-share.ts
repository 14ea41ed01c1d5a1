/**
 * Sharing the program replays of one Python model build with a helper thread: this thread
 * replays programs from the first one on, the helper (a worker thread with a copy of the facts)
 * from the last one back, and they meet in the middle. The model is exactly the one a single
 * pass builds:
 *
 * - Each program is claimed once, in a shared array ({@link ReplayHelper.claims}): this thread
 *   claims 0, 1, 2, … and the helper claims blocks from the end; the first program this
 *   thread cannot claim is where the helper's share starts.
 * - A replay depends on the facts (the same in both threads) and on which later-phase replays
 *   the programs before it already made (`ModelBuilder.firstLaterReplay`). The helper cannot
 *   know the second for the programs this thread replays, so it guesses "none before this
 *   block" and records its answers in the log. Here each helper log is checked in program
 *   order with `ModelBuilder.reuse` — the check the incremental model makes before reusing
 *   a log — and a log whose answers differ from a single pass's is thrown away and the
 *   program replayed here. On the Python standard library that is a handful of 1,228.
 * - Logs hold modules, facts and roots by position (the index and the program list are built
 *   from the same files in the same order in both threads; a disagreement in the counts
 *   drops every helper log) and evidence chains by value.
 */
import * as nodePath from 'node:path';
import type { PyCloseAllFact, PyFdCacheFact, PythonFact } from '../facts/python/program-facts';
import type { ProgramContext } from './program-context';
import { push, toSteps, type ChainNode, type ProgramStep } from './program-graph';
import { ModelBuilder, type ProgramLog } from './python-model-builder';
import { PyModuleIndex, TouchTracker, UntrackedReads, type PyModule } from './python-modules';
import { buildPrograms } from './python-programs';
import type { Hit, Live, LiveFork, LiveThread } from './python-simulation';
import type { PyProgram, PyRoot, SharedReplayStats } from './python-types';

/**
 * The module index of a program's Python files (and its installed packages), as every build
 * makes it. `tracked`: it records which modules each computation reads, which a model kept up
 * to date across edits needs and a model built once does not ({@link UntrackedReads}).
 */
export function indexForProgram(ctx: ProgramContext, tracked = true): PyModuleIndex {
  const projectDirs = ctx.projectFiles.map((p) => nodePath.dirname(p.path));
  const index = new PyModuleIndex(ctx.files, ctx.roots, [...projectDirs, ...(ctx.dependencies?.sitePackages ?? [])], ctx.dependencies);
  index.tracker = tracked ? new TouchTracker() : new UntrackedReads();
  return index;
}

/**
 * A helper replaying programs elsewhere. `claims` is shared with it: `claims[0]` is the
 * number of programs (0 until this thread knows it; -1: nothing to do), `claims[1 + i]` who
 * replays program `i` (0 nobody yet, 1 this thread, 2 the helper). `result` resolves with the
 * helper's logs once it has no more programs to claim (undefined when it failed).
 */
export interface ReplayHelper {
  claims: Int32Array;
  result: Promise<SharedReplay | undefined>;
}

/** The claims array for at most `programs` programs. */
export function replayClaims(programs: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (programs + 1)));
}

/** An upper bound of the programs of a workspace: one per module and per declared entry point, plus test sessions. */
export function maxPrograms(pythonFiles: number, projectFiles: number): number {
  return 2 * pythonFiles + 64 * projectFiles + 1024;
}

/** What the helper sends back. */
export interface SharedReplay {
  /** Modules of its index: logs are used only when it equals this thread's. */
  modules: number;
  logs: LogCode[];
}

/** A module's facts are referred to by position; a fact the replay made up (a started process) travels whole. */
type FactRef = number | PythonFact;

interface LiveCode {
  m: number;
  f: FactRef;
  c: ProgramStep[];
  l: boolean;
  /** The other fields of the live site (api, note, start method, ...), plain values. */
  x?: Record<string, unknown>;
  /** A fork's `set_start_method` site. */
  s?: LiveCode;
}

type OpCode =
  | { k: 'fork'; key: string; fork: LiveCode; thread: LiveCode }
  | { k: 'close'; key: string; ev: LiveCode; fork?: LiveCode; caches: LiveCode[]; kept?: readonly string[] }
  | { k: 'cache'; key: string; h: { cache: LiveCode; key: string; fork: LiveCode; closeAll?: LiveCode; reuse?: LiveCode } };

/** One program's log on its way between threads. */
export interface LogCode {
  program: number;
  /** The program's root, to check both threads mean the same program. */
  root: string;
  ops: OpCode[];
  queries: [string, boolean][];
  touched: number[];
  functionRuns: number;
  laterRuns: number;
  pathReplays: number;
}

/** Programs replayed per block claimed by the helper: the first programs of a block may guess wrong (see the file comment). */
export const HELPER_BLOCK = 8;

const rootId = (r: PyRoot) => `${r.module.abs}|${r.kind}|${r.asMain ? 1 : 0}`;

/**
 * The helper's side: builds the index and the program list of `ctx`, waits until the other
 * thread has announced the program count, then claims blocks of programs from the end and
 * replays each block in program order, until it meets the other thread.
 */
export function replayShare(ctx: ProgramContext, claims: Int32Array, block = HELPER_BLOCK): SharedReplay {
  // A first build, never updated: nothing to track (the other thread's build is untracked too).
  const index = indexForProgram(ctx, false);
  const builder = new ModelBuilder(index, ctx.config);
  const programs = buildPrograms(index, ctx.projectFiles);
  Atomics.wait(claims, 0, 0);
  const n = Atomics.load(claims, 0);
  const out: SharedReplay = { modules: index.modules.length, logs: [] };
  if (n !== programs.length || n > claims.length - 1) return out;
  const codec = new LogEncoder(index);
  let hi = n;
  while (hi > 0) {
    let lo = hi;
    let met = false;
    while (lo > 0 && hi - lo < block) {
      if (Atomics.compareExchange(claims, lo, 0, 2) !== 0) {
        met = true;
        break;
      }
      lo--;
    }
    // Nothing is known of the programs before this block: its replays start from no later replays made.
    builder.forgetLaterReplays();
    for (let i = lo; i < hi; i++) {
      const runs = { ...builder.stats };
      const log = builder.runProgram(programs[i].root);
      out.logs.push(codec.log(i, programs[i].root, log, { functionRuns: builder.stats.functionRuns - runs.functionRuns, laterRuns: builder.stats.laterRuns - runs.laterRuns, pathReplays: builder.stats.pathReplays - runs.pathReplays }));
    }
    if (met || lo === hi) break;
    hi = lo;
  }
  return out;
}

/** Logs of the replays made here, with the helper's where they are the same. */
export interface Replayed {
  logs: ProgramLog[];
  reused: number;
  runMs: number;
  shared?: SharedReplayStats;
}

/**
 * This thread's side (a build made once, untracked: nothing to reuse, no log kept): announces the program count, replays
 * programs from the first on while it can claim them, then takes the helper's logs of the
 * rest in program order, replaying here each one that a single pass would not have recorded.
 */
export async function replayShared(index: PyModuleIndex, builder: ModelBuilder, programs: readonly PyProgram[], helper: ReplayHelper): Promise<Replayed> {
  const { claims } = helper;
  const n = programs.length;
  // A build made once: the logs are applied and let go (none is kept for a later build).
  const logs: ProgramLog[] = [];
  let runMs = 0;
  const run = (i: number) => {
    const t = performance.now();
    const log = builder.runProgram(programs[i].root);
    runMs += performance.now() - t;
    builder.apply(log);
  };
  const usable = index.modules.length > 0 && n > 0 && n <= claims.length - 1;
  Atomics.store(claims, 0, usable ? n : -1);
  Atomics.notify(claims, 0);
  if (!index.modules.length) return { logs, reused: 0, runMs };
  let i = 0;
  while (i < n && (!usable || Atomics.compareExchange(claims, 1 + i, 0, 1) === 0)) run(i++);
  const shared: SharedReplayStats = { helperPrograms: 0, replayedAgain: 0, waitMs: 0 };
  if (i < n) {
    const t = performance.now();
    const sent = await helper.result.catch(() => undefined);
    shared.waitMs = Math.round(performance.now() - t);
    const codes = new Map<number, LogCode>();
    if (sent?.modules === index.modules.length) for (const c of sent.logs) codes.set(c.program, c);
    const decoder = new LogDecoder(index);
    for (; i < n; i++) {
      const code = codes.get(i);
      const log = code && code.root === rootId(programs[i].root) ? decoder.log(code, programs[i].root) : undefined;
      if (log && builder.reuse(log)) {
        builder.apply(log);
        builder.stats.functionRuns += code!.functionRuns;
        builder.stats.laterRuns += code!.laterRuns;
        builder.stats.pathReplays += code!.pathReplays;
        shared.helperPrograms++;
      } else {
        if (code) shared.replayedAgain++;
        run(i);
      }
    }
  }
  return { logs, reused: 0, runMs, shared };
}

class LogEncoder {
  private readonly modulePositions = new Map<PyModule, number>();
  private readonly factPositions = new Map<PyModule, Map<PythonFact, number>>();

  constructor(index: PyModuleIndex) {
    index.modules.forEach((m, i) => this.modulePositions.set(m, i));
  }

  log(program: number, root: PyRoot, log: ProgramLog, runs: { functionRuns: number; laterRuns: number; pathReplays: number }): LogCode {
    const ops: OpCode[] = log.ops.map((op) => {
      if (op.k === 'fork') return { k: 'fork', key: op.key, fork: this.live(op.fork), thread: this.live(op.thread) };
      if (op.k === 'close') {
        const code: OpCode = { k: 'close', key: op.key, ev: this.live(op.ev), caches: op.caches.map((c) => this.live(c)) };
        if (op.fork) code.fork = this.live(op.fork);
        if (op.kept) code.kept = op.kept;
        return code;
      }
      const h: Extract<OpCode, { k: 'cache' }>['h'] = { cache: this.live(op.h.cache), key: op.h.key, fork: this.live(op.h.fork) };
      if (op.h.closeAll) h.closeAll = this.live(op.h.closeAll);
      if (op.h.reuse) h.reuse = this.live(op.h.reuse);
      return { k: 'cache', key: op.key, h };
    });
    return { program, root: rootId(root), ops, queries: log.queries, touched: log.touched.map((m) => this.module(m)), ...runs };
  }

  private module(m: PyModule): number {
    const at = this.modulePositions.get(m);
    if (at === undefined) throw new Error(`module ${m.path} is not in the index`);
    return at;
  }

  private fact(m: PyModule, f: PythonFact): FactRef {
    let positions = this.factPositions.get(m);
    if (!positions) {
      positions = new Map();
      m.facts.forEach((x, i) => positions!.set(x, i));
      this.factPositions.set(m, positions);
    }
    return positions.get(f) ?? f;
  }

  private live(l: Live): LiveCode {
    const { module, fact, chain, later, setter, ...extra } = l as Live & { setter?: Live };
    const code: LiveCode = { m: this.module(module), f: this.fact(module, fact), c: toSteps(chain), l: later };
    if (Object.keys(extra).length) code.x = extra;
    if (setter) code.s = this.live(setter);
    return code;
  }
}

class LogDecoder {
  constructor(private readonly index: PyModuleIndex) {}

  log(code: LogCode, root: PyRoot): ProgramLog {
    const ops: ProgramLog['ops'] = code.ops.map((op) => {
      if (op.k === 'fork') return { k: 'fork', key: op.key, root, fork: this.live<LiveFork>(op.fork), thread: this.live<LiveThread>(op.thread) };
      if (op.k === 'close') {
        const fork = op.fork ? this.live<LiveFork>(op.fork) : undefined;
        return { k: 'close', key: op.key, root, ev: this.live<Live<PyCloseAllFact>>(op.ev), fork, caches: op.caches.map((c) => this.live<Live<PyFdCacheFact>>(c)), kept: op.kept };
      }
      const h: Hit = {
        cache: this.live<Live<PyFdCacheFact>>(op.h.cache),
        key: op.h.key,
        fork: this.live<LiveFork>(op.h.fork),
        closeAll: op.h.closeAll ? this.live<Live<PyCloseAllFact>>(op.h.closeAll) : undefined,
        reuse: op.h.reuse ? this.live<Live<PyFdCacheFact>>(op.h.reuse) : undefined,
      };
      return { k: 'cache', key: op.key, root, h };
    });
    return { ops, queries: code.queries, touched: code.touched.map((i) => this.index.modules[i]) };
  }

  private live<L extends Live>(code: LiveCode): L {
    const module = this.index.modules[code.m];
    const fact = typeof code.f === 'number' ? (module.facts[code.f] as PythonFact) : code.f;
    let chain: ChainNode | undefined;
    for (const step of code.c) chain = push(chain, step);
    const live = { module, fact, chain, later: code.l, ...code.x } as Live & { setter?: Live };
    if (code.s) live.setter = this.live(code.s);
    return live as L;
  }
}
