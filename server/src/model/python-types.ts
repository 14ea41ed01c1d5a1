/**
 * The public shape of the Python program model: the roots programs start from, the programs
 * themselves, the events a replay saw (each with the chain of imports and calls that led to
 * it), the three kinds of finding the FORK/FD rules report, and the model that carries them.
 */
import type { PyCloseAllFact, PyFdCacheFact, PyForkFact, PythonFact } from '../facts/python/program-facts';
import type { PyModule, PyModuleIndex } from './python-modules';
import type { PythonEffects } from './python-effects';
import type { EntryPoint } from './python-project';
import type { ProgramStep } from './program-graph';

/** One location of an evidence chain. */
export type PyStep = ProgramStep;

/** Something that happened at a site, with the path (imports, calls) that led there from the root. */
export interface PyEvent<F extends PythonFact = PythonFact> {
  module: PyModule;
  fact: F;
  /** How the program got there: steps from the entry point, not including the site. */
  chain: PyStep[];
  /** The entry point whose program showed this. */
  root: PyRoot;
  /** True when the site ran in the "later" phase (a function not reached in program order). */
  later: boolean;
}

export interface PyThreadEvent extends PyEvent {
  api: string;
  note: string;
}

export interface PyForkEvent extends PyEvent<PyForkFact> {
  /** multiprocessing: the effective start method and where it came from. */
  method?: string;
  methodSource?: 'explicit' | 'default' | 'set_start_method';
  setter?: PyEvent;
}

export type PyCacheEvent = PyEvent<PyFdCacheFact>;
export type PyCloseAllEvent = PyEvent<PyCloseAllFact>;

export interface PyForkAfterThreads {
  fork: PyForkEvent;
  thread: PyThreadEvent;
}

export interface PyCacheAcrossFork {
  cache: PyCacheEvent;
  fork: PyForkEvent;
  closeAll?: PyCloseAllEvent;
  /** A descriptor opened after the close-all, which may get the cached number. */
  reuse?: PyCacheEvent;
}

export interface PyCloseAllWithoutExec {
  closeAll: PyCloseAllEvent;
  fork?: PyForkEvent;
  caches: PyCacheEvent[];
  /** The caller's keep-list spares only the descriptors of these objects (`keepfd=sock.fileno()`). */
  kept?: string[];
}

/** How a build shared its replays with a helper thread (`python-replay-share.ts`). */
export interface SharedReplayStats {
  /** Programs whose logs the helper recorded and this thread took as they were. */
  helperPrograms: number;
  /** Programs the helper replayed whose logs were not the ones a single pass records (replayed again here). */
  replayedAgain: number;
  /** Milliseconds this thread waited for the helper after replaying its share. */
  waitMs: number;
}

export interface PyRoot {
  module: PyModule;
  /**
   * `script`: a file without an extension whose `#!` line runs Python (`bin/deploy`);
   * `console-script`: a console or GUI script, whose function runs as the program's main;
   * `wsgi-script`: a pbr `wsgi_scripts` entry, whose function is called once at load to get
   * the WSGI application that a WSGI server embeds.
   */
  kind: 'main' | 'dunder-main' | 'script' | 'console-script' | 'wsgi-script' | 'wsgi' | 'application' | 'library' | 'tests';
  asMain: boolean;
  script?: EntryPoint;
  /** `tests`: a pytest session — its `conftest.py` modules, then its test modules, in path order. */
  session?: PyTestSession;
}

/**
 * One pytest session, below the directory of a `conftest.py` that no `conftest.py` above it
 * covers: pytest imports the conftests, collects (imports) the test modules, then runs their
 * tests one after the other in one process.
 */
export interface PyTestSession {
  conftests: PyModule[];
  tests: PyModule[];
}

export interface PyProgram {
  root: PyRoot;
  /** Every module the root can import (statically, including function-level imports). */
  modules: Set<PyModule>;
}

export interface PythonModel {
  index: PyModuleIndex;
  programs: PyProgram[];
  /** What each function's calls may do (start a thread, fork, ping), solved on first use. */
  effects: PythonEffects;
  forkAfterThreads: PyForkAfterThreads[];
  cachesAcrossFork: PyCacheAcrossFork[];
  closeAllsWithoutExec: PyCloseAllWithoutExec[];
  /**
   * Size of the work done by the build that produced this model (for the benchmark):
   * `functionRuns`/`laterRuns` count only the programs replayed by this build (both replays
   * of a program replayed again with its paths kept apart; `pathReplays` counts those programs),
   * `reusedPrograms` those whose earlier replay was reused, `changedModules` the modules
   * re-indexed since the previous build (0 after a full build).
   */
  stats: {
    modules: number;
    programs: number;
    functionRuns: number;
    laterRuns: number;
    pathReplays: number;
    reusedPrograms: number;
    changedModules: number;
    ms: number;
    /**
     * Where `ms` went: index upkeep, fork protections, program list (closures), replaying
     * programs, and checking/reusing/applying the logs of all programs.
     */
    phases: { index: number; protection: number; programs: number; replay: number; reuse: number; shared?: SharedReplayStats };
  };
}
