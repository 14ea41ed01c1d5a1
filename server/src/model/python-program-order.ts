/**
 * Program order, the skeleton every Python replay shares: a root module runs (its packages'
 * `__init__` first), then a declared script's function; an import runs the modules it names
 * the first time. Subclasses (the FORK/FD replay, the heartbeat model's late replay) say what
 * a body's facts do and how a call enters a function.
 */
import type { PyCallOutcome, PyImportFact, PyKeepArgument } from '../facts/python/program-facts';
import type { PyModule, PyModuleIndex } from './python-modules';
import type { EntryPoint } from './python-project';
import { push, type ChainNode } from './program-graph';
import type { FlagEnv } from './python-flag-env';
import type { PyRoot, PyStep, PyTestSession } from './python-types';

/** The step of an evidence chain where a script entry point calls its function. */
export function scriptStep(script: EntryPoint): PyStep {
  const target = `${script.module}:${script.object}`;
  const message =
    script.kind === 'wsgi'
      ? `WSGI script '${script.name}' (${script.group}) calls ${target}() to get the application a WSGI server embeds`
      : `${script.kind === 'gui' ? 'GUI' : 'console'} script '${script.name}' calls ${target}`;
  return { path: script.path, range: script.range, message };
}

export interface RunCtx {
  chain: ChainNode | undefined;
  /** An exec/_exit follows the current call in some caller. */
  execAfter: boolean;
  depth: number;
  asMain: boolean;
  /** What the call that entered this function passed as its keep-list (close-all helpers). */
  keepArgument?: PyKeepArgument;
  /** With `keepArgument: 'named'`: the objects whose descriptors that call keeps. */
  keepNames?: readonly string[];
  /** Fork calls a test running further up replaced with a mock (`@mock.patch("os.fork")`): `os.fork`. */
  patchedForks?: readonly string[];
  /**
   * The pytest test whose own body runs (`abs#name`): objects it creates live only while it
   * runs, so their other methods are not replayed later, after the test.
   */
  testBody?: string;
  /** Workspace functions and methods such a test replaced with a mock, by dotted name: they do not run. */
  patchedCallables?: readonly string[];
  /** Of those, the ones a test patched with a stand-in of known outcome (`side_effect=fake`). */
  patchedResults?: readonly (PyCallOutcome & { target: string })[];
  /** The flags the function being replayed knows (`python-flag-env.ts`); set by each call. */
  flags?: FlagEnv;
  /** The branch decisions on flags of unknown value the path here took (`python-simulation.ts`). */
  decisions?: readonly string[];
}

/**
 * A context at the start of a replay (a program, or a function run later). Every field of
 * {@link RunCtx} is present, in one order, here and in {@link derivedCtx}: the replays make one
 * context per call and per module, and objects of one shape are made and read far faster than
 * spreads of objects whose optional fields come and go.
 */
export function startCtx(chain: ChainNode | undefined, flags?: FlagEnv): RunCtx {
  return { chain, execAfter: false, depth: 0, asMain: false, keepArgument: undefined, keepNames: undefined, patchedForks: undefined, testBody: undefined, patchedCallables: undefined, patchedResults: undefined, flags, decisions: undefined };
}

/**
 * `ctx` with the chain, exec flag, depth, main flag and keep-list given (the patches, the test
 * body and the path's decisions kept); `flags`: those the called function runs with (by
 * default the ones it has, for a body or module run by the same function).
 */
export function derivedCtx(
  ctx: RunCtx,
  chain: ChainNode | undefined,
  execAfter: boolean,
  depth: number,
  asMain: boolean,
  keepArgument: PyKeepArgument | undefined,
  keepNames: readonly string[] | undefined,
  flags: FlagEnv | undefined = ctx.flags,
): RunCtx {
  return { chain, execAfter, depth, asMain, keepArgument, keepNames, patchedForks: ctx.patchedForks, testBody: ctx.testBody, patchedCallables: ctx.patchedCallables, patchedResults: ctx.patchedResults, flags, decisions: ctx.decisions };
}

/** How deep a replay follows calls. */
export const MAX_CALL_DEPTH = 24;

/**
 * Program order of one root, the skeleton of a replay: the root module runs (its packages'
 * `__init__` first), then a declared script's function; an import runs the modules it names
 * that have not run yet. A replay says what the facts of a body do ({@link runBody}) and how a
 * call enters a function ({@link runFunction}); one that sets `stopped` runs nothing more.
 */
export abstract class ProgramOrder {
  protected readonly loaded = new Set<PyModule>();
  protected stopped = false;

  constructor(
    protected readonly index: PyModuleIndex,
    protected readonly root: PyRoot,
  ) {}

  run(): void {
    const { root } = this;
    const ctx = startCtx(undefined);
    if (root.session) {
      this.runSession(root.session, ctx);
      return;
    }
    this.runModule(root.module, ctx, root.asMain);
    if (root.script?.object && !this.stopped) {
      const step = scriptStep(root.script);
      const sym = this.index.member(root.module, root.script.object.split('.'));
      if (sym?.kind === 'function') this.runFunction(sym.module, sym.name, derivedCtx(ctx, push(undefined, step), ctx.execAfter, ctx.depth, ctx.asMain, ctx.keepArgument, ctx.keepNames));
    }
  }

  /**
   * A pytest session: the conftests run, the test modules are collected (imported), then each
   * module's tests run in source order — its `test*` functions and the `test*` methods of its
   * `Test*` classes — all in one process, so what one test started is running in the next.
   */
  private runSession(session: PyTestSession, ctx: RunCtx): void {
    for (const m of session.conftests) this.runModule(m, ctx);
    for (const m of session.tests) this.runModule(m, ctx);
    for (const m of session.tests) {
      for (const [name, fn] of m.functions) {
        if (this.stopped) return;
        const isTest = fn.className ? /^Test/.test(fn.className) && !fn.className.includes('.') && /^test/.test(name.slice(fn.className.length + 1)) : fn.enclosingFunction === '' && /^test/.test(name);
        if (!isTest) continue;
        this.runFunction(m, name, { ...ctx, testBody: `${m.abs}#${name}`, chain: push(undefined, { path: m.path, range: fn.range, message: `pytest runs ${name} here` }) });
      }
    }
  }

  /** Runs a module's top level the first time it is imported; `asMain`: it runs as `__main__`. */
  protected runModule(m: PyModule, ctx: RunCtx, asMain = false): void {
    if (this.loaded.has(m) || this.stopped) return;
    this.index.tracker?.touch(m);
    for (const p of m.parents) this.runModule(p, ctx);
    if (this.loaded.has(m) || this.stopped) return;
    this.loaded.add(m);
    this.runBody(m, '', derivedCtx(ctx, ctx.chain, ctx.execAfter, ctx.depth, asMain, ctx.keepArgument, ctx.keepNames));
    this.moduleRan(m);
  }

  /** An import statement of `m` that names `targets`. */
  protected runImport(m: PyModule, f: Pick<PyImportFact, 'range'>, targets: readonly PyModule[], ctx: RunCtx, message = 'imported from here'): void {
    if (this.allLoaded(targets)) return;
    const chain = push(ctx.chain, { path: m.path, range: f.range, message });
    for (const t of targets) this.runModule(t, derivedCtx(ctx, chain, ctx.execAfter, ctx.depth, ctx.asMain, ctx.keepArgument, ctx.keepNames));
  }

  /** Every one of `targets` (none: true) has run already: an import of them runs nothing. */
  private allLoaded(targets: readonly PyModule[]): boolean {
    for (const t of targets) if (!this.loaded.has(t)) return false;
    return true;
  }

  /** After a module's top level ran. */
  protected moduleRan(_m: PyModule): void {}

  protected abstract runFunction(m: PyModule, name: string, ctx: RunCtx): void;

  protected abstract runBody(m: PyModule, fn: string, ctx: RunCtx): void;
}
