/**
 * The fact shapes a TypeScript/JavaScript file contributes to the program model
 * (`model/typescript.ts`): plain JSON records for imports, functions, exports, calls that may
 * reach workspace code, hot-path registrations, heartbeats, blocking calls and Workers.
 * `program-facts.ts` re-exports them; every module of the extraction shares them from here.
 */
import type { Range } from '../../text/locations';
import type { TextEdit } from '../../text/edits';
import type { BlockingCategory, HotContext } from '../../knowledge/typescript-heartbeat';

export interface TsFactBase {
  range: Range;
  /** Id of the function whose body runs this (`''`: module level). */
  enclosingFunction: string;
  /** Inside an `isMainThread` branch: runs only on the main thread, or only in a Worker. */
  thread?: 'main' | 'worker';
}

/** A local name bound by an import: `name` is the exported name, `*` the namespace, `default`. */
export interface TsBinding {
  local: string;
  name: string;
}

export interface TsImportFact extends TsFactBase {
  kind: 'ts.import';
  specifier: string;
  bindings: TsBinding[];
  /** `export { a as b } from 'x'` → [{name: a, as: b}]. */
  reexports?: { name: string; as: string }[];
  /** `export * from 'x'`. */
  star?: boolean;
}

export interface TsFunctionFact extends TsFactBase {
  kind: 'ts.function';
  id: string;
  /** Simple name (declarations, `const f = () => …`, methods), when it has one. */
  name?: string;
  /** Id of the lexically enclosing function (`''`: module level). */
  parent: string;
  className?: string;
  async?: boolean;
  /** Names it is exported under (`default` for the default export / `module.exports = f`). */
  exports?: string[];
  /** A method of an exported class (part of the module's API). */
  exportedClassMethod?: boolean;
}

/** `export { local as name }`, `export default local`, `module.exports = { name: local }`. */
export interface TsExportFact extends TsFactBase {
  kind: 'ts.export';
  name: string;
  local: string;
}

/**
 * A call (or a function passed as an argument) that may run workspace code: `target` is a
 * function of this file, `callee` an imported name (`f`, `ns.f`) the model resolves.
 */
export interface TsCallFact extends TsFactBase {
  kind: 'ts.call';
  target?: string;
  callee?: string;
  /** The function is passed as an argument rather than called here. */
  passedAsArgument?: boolean;
  /** `new X()`: `callee` names a class, whose constructor runs. */
  constructorCall?: boolean;
  /**
   * `table[key].m()` / `const x = table[key]; x.m()`: a method called on an object taken from a
   * lookup table, which runs whichever workspace subclass overrides `m` (plugin registries).
   * Neither `target` nor `callee` is set; the model finds the overrides.
   */
  dispatch?: string;
}

/** `class A extends B`: `base` as written (`B`, `ns.B`), for method dispatch through overrides. */
export interface TsClassFact extends TsFactBase {
  kind: 'ts.class';
  name: string;
  base: string;
}

/** A callback registered to run per request, per message, or on an interval. */
export interface TsRegisterFact extends TsFactBase {
  kind: 'ts.register';
  context: HotContext;
  /** How it was registered, for messages: `app.get()`, `http.createServer()`, `on('message')`. */
  api: string;
  target?: string;
  callee?: string;
}

export interface TsHeartbeatFact extends TsFactBase {
  kind: 'ts.heartbeat';
  /** `setInterval()`, `amqplib.connect()`, … */
  api: string;
  /** What keeps the connection alive, for messages. */
  note: string;
  /** The timer callback (a blocking call there does not starve this heartbeat). */
  callback?: string;
  /**
   * For a modelled library call (`amqplib.connect()`) whose package's code shows its keep-alive
   * timer (`codeShowsKeepAlive` of the table): the module of the row it matched
   * (`amqplib/callback_api`), so that the installed package's own code can decide.
   */
  library?: string;
}

export interface TsBlockingFact extends TsFactBase {
  kind: 'ts.blocking';
  /** `execSync()`, `fs.readFileSync()`, `Atomics.wait()`, `busy-wait loop`. */
  api: string;
  category: BlockingCategory | 'busy-wait';
  /** The long-running loop of its function it sits in (`while (true)`, `for await`). */
  loop?: { range: Range; label: string };
  /** The non-blocking variant, when the call is in an async function and one exists. */
  fix?: { title: string; edits: TextEdit[] };
}

/** `new Worker(…)` of `worker_threads` with a script the model can find. */
export interface TsWorkerFact extends TsFactBase {
  kind: 'ts.worker';
  specifier?: string;
  /** `file`: relative to this file (`new URL(…, import.meta.url)`, `__dirname`); `cwd`: a plain string. */
  base?: 'file' | 'cwd';
  /** `new Worker(__filename)`: this file again, in a Worker. */
  self?: boolean;
}

/** `child_process.fork(…)`: starts a Node child process (the `forks` call effect). */
export interface TsForkFact extends TsFactBase {
  kind: 'ts.fork';
  /** `fork()`, `child_process.fork()`, for evidence. */
  api: string;
}

/**
 * The file runs as a program of its own: its first line is a `#!` line that starts Node (or
 * Bun, Deno, tsx, ts-node), or it runs itself when started directly (`require.main === module`,
 * `import.meta.main`). The range is that line or that test.
 */
export interface TsEntryFact extends TsFactBase {
  kind: 'ts.entry';
  how: 'shebang' | 'main-guard';
  /** The `#!` line or the test, for messages. */
  text: string;
}

export type TsFact =
  | TsEntryFact
  | TsClassFact
  | TsImportFact
  | TsFunctionFact
  | TsExportFact
  | TsCallFact
  | TsRegisterFact
  | TsHeartbeatFact
  | TsBlockingFact
  | TsWorkerFact
  | TsForkFact;
