/**
 * The `knowledge` section of `.hazard-lens.json` ("models as data"): the shapes a user writes
 * to describe their own libraries, validated with zod, and the messages a malformed entry
 * gets (`knowledge.python.openers[0].name: expected a non-empty string`). What the entries do
 * to the built-in tables is `knowledge.ts`'s business; the JSON schema of the configuration
 * file is generated from these shapes (`engine/config.ts`, `schemas/hazard-lens.schema.json`).
 */
import type { z } from 'zod';
import { zod } from './zod';

const NON_EMPTY = 'expected a non-empty string';

/** A non-empty string (a function, module or method name). */
const name = (description: string) => zod().string({ error: NON_EMPTY }).min(1, { error: NON_EMPTY }).describe(description);

/** A list of non-empty strings (at least one). */
const names = (description: string) =>
  zod()
    .array(zod().string({ error: NON_EMPTY }).min(1, { error: NON_EMPTY }), { error: 'expected an array of non-empty strings' })
    .min(1, { error: 'expected at least one name' })
    .describe(description);

/** An argument position, counted from 0. */
const argument = (description: string) =>
  zod()
    .number({ error: 'expected an argument index (0 for the first argument)' })
    .int({ error: 'expected an argument index (0 for the first argument)' })
    .min(0, { error: 'expected an argument index (0 for the first argument)' })
    .max(64, { error: 'expected an argument index (0 for the first argument)' })
    .describe(description);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, description: string) =>
  zod().enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}` }).describe(description);

const list = <T extends z.ZodType>(entry: T, description: string) => zod().array(entry, { error: 'expected an array of entries' }).describe(description).optional();

/**
 * The zod shapes, built on first use (a configuration with a `knowledge` section, the JSON
 * schema), not when the CLI starts: building them cost more than a one-file scan (issue #17).
 */
function buildShapes() {
  const z = zod();
  // ---- C ----------------------------------------------------------------------------------

  const cOpener = z.strictObject({
    name: name('The C function that returns a handle the caller must release, e.g. "blob_open".'),
    releasedBy: names('Functions that release the handle when it is passed as their first argument; the first one is used by the quick fix.'),
    failure: oneOf(['null', 'negative'], 'How the function reports failure: a NULL pointer (the default) or a negative number (a descriptor).').optional(),
  });
  const cReleaser = z.strictObject({
    name: name('A C function that releases the handle passed as its first argument, e.g. "blob_close".'),
  });
  const cOwner = z.strictObject({
    name: name('A C function that takes ownership of a handle passed to it (passing the handle there is a hand-over, not a leak).'),
    argument: argument('The position of the handle argument, 0 for the first (the default).').optional(),
  });
  const cThreadStarter = z.strictObject({
    name: name('A C function that starts a thread (directly or as a side effect), e.g. "worker_pool_start".'),
    routineArgument: argument('The position of the argument naming the function the thread runs, when there is one.').optional(),
    library: name('Who starts the thread, for messages (default: "declared in .hazard-lens.json").').optional(),
  });
  const cProcessStarter = z.strictObject({
    name: name('A C function that forks, e.g. "spawn_helper".'),
    kind: oneOf(['fork', 'daemon'], '"fork": returns 0 in the child and the pid in the parent, like fork() (the default); "daemon": the caller goes on as the child, like daemon().').optional(),
  });
  const cSignalSafety = z.strictObject({
    name: name('A C function whose async-signal-safety you know.'),
    verdict: oneOf(['safe', 'unsafe'], '"safe": may be called in a fork child of a threaded program; "unsafe": must not be.'),
    reason: name('Why it is unsafe, completing "<name>() ..." in the message, e.g. "takes the logger\'s lock".').optional(),
  });

  const cForkChildFunction = z.strictObject({
    name: name('A C function documented to run in a fork child between fork() and exec (a set-up hook your library offers other programs), e.g. "prepare_child".'),
  });

  const cModels = z
    .strictObject({
      openers: list(cOpener, 'Functions that return a handle (a pointer or descriptor) the caller must release.'),
      releasers: list(cReleaser, 'Functions that release the handle passed as their first argument.'),
      owners: list(cOwner, 'Functions that take ownership of a handle argument.'),
      threadStarters: list(cThreadStarter, 'Functions that start threads (fork-in-threaded-program, unsafe-call-in-fork-child).'),
      processStarters: list(cProcessStarter, 'Functions that fork like fork() or daemon().'),
      signalSafety: list(cSignalSafety, 'Async-signal-safety verdicts; they override the built-in ones.'),
      forkChildFunctions: list(cForkChildFunction, 'Functions that run in a fork child before exec (unsafe-call-in-fork-child judges their bodies); the comment /* hazard-lens: fork-child */ before a definition does the same.'),
    })
    .describe('Models of C functions.');

  // ---- Python -----------------------------------------------------------------------------

  const pyCallable = {
    name: name('A dotted callable as the code imports it, e.g. "mylib.storage.open_blob".').optional(),
    method: name('A method name, matched on any receiver, e.g. "open_session".').optional(),
  };

  /** `name` or `method`, exactly one. */
  function oneCallable(value: { name?: string; method?: string }, ctx: { addIssue: (issue: { code: 'custom'; message: string; path: PropertyKey[] }) => void }): void {
    if (value.name === undefined && value.method === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected "name" (a dotted callable) or "method" (a method name)', path: ['name'] });
    } else if (value.name !== undefined && value.method !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected "name" or "method", not both', path: ['method'] });
    }
  }

  const pyOpener = z
    .strictObject({
      ...pyCallable,
      releaseMethods: names('Methods of the returned handle that release it (default: ["close"]).').optional(),
      contextManager: z
        .boolean({ error: 'expected true or false' })
        .describe('The handle is a context manager whose exit releases it, so the quick fix may write `with ... as name:` (default: false).')
        .optional(),
    })
    .superRefine(oneCallable);
  const pyReleaser = z.strictObject({
    name: name('A dotted function that releases the handle passed to it, e.g. "mylib.storage.free_blob".'),
  });
  const pyOwner = z.strictObject({ ...pyCallable }).superRefine(oneCallable);
  const pyThreadStarter = z.strictObject({
    name: name('A dotted callable that starts a thread, e.g. "mylib.workers.start_worker".'),
    how: oneOf(['call', 'ctor', 'method'], '"call": calling it starts the thread (the default); "ctor": constructing the object starts threads; "method": a method of the constructed object starts them.').optional(),
    methods: names('For "method": the methods that start the threads (default: ["start"]).').optional(),
  });
  const pyProcessStarter = z.strictObject({
    name: name('A dotted function that forks like os.fork() and returns the pid (0 in the child), e.g. "mylib.proc.fork_worker"; with "how", a class whose objects start worker processes, e.g. "mylib.workers.ProcessGang".'),
    how: oneOf(
      ['fork', 'ctor', 'method'],
      '"fork": calling it forks like os.fork() (the default); "ctor": constructing the object starts worker processes with multiprocessing; "method": a method of the constructed object starts them. Worker processes follow the program\'s multiprocessing start method (fork by default on Linux before Python 3.14).',
    ).optional(),
    methods: names('For "method": the methods that start the worker processes (default: ["start"]).').optional(),
  });
  const pyKeepAlive = z
    .strictObject({
      ...pyCallable,
      role: oneOf(['ping', 'wait'], '"ping": sends or checks a heartbeat; "wait": paces a keep-alive loop, like time.sleep().'),
    })
    .superRefine(oneCallable);

  const pythonModels = z
    .strictObject({
      openers: list(pyOpener, 'Callables (or methods) that return a handle the caller must release.'),
      releasers: list(pyReleaser, 'Functions that release the handle passed to them.'),
      owners: list(pyOwner, 'Callables or methods that take ownership of a handle passed to them.'),
      threadStarters: list(pyThreadStarter, 'Callables that start native threads.'),
      processStarters: list(pyProcessStarter, 'Functions that fork like os.fork().'),
      keepAlive: list(pyKeepAlive, 'Calls of heartbeat loops: pings and waits (green-heartbeat).'),
    })
    .describe('Models of Python callables.');

  // ---- TypeScript / JavaScript ------------------------------------------------------------

  const tsExport = {
    module: name('The module specifier as imported or required, e.g. "my-fs".'),
    export: name('The exported function, e.g. "openHandle".'),
  };
  const tsOpener = z.strictObject({
    ...tsExport,
    returns: oneOf(['value', 'promise', 'callback'], 'How the handle arrives: returned (the default), as a promise, or as the second parameter of the last-argument callback.').optional(),
    releaseMethods: names('Methods of the handle that release it (default: ["close"]).').optional(),
  });
  const tsReleaser = z.strictObject({ ...tsExport });
  const tsOwner = z.strictObject({ ...tsExport });
  const tsKeepAlive = z.strictObject({
    ...tsExport,
    export: name('The exported function, class or method, e.g. "connect".'),
    how: oneOf(
      ['call', 'new', 'method'],
      '"call": calling the export opens the connection (the default); "new": constructing it does; "method": a method of that name, called on anything in a file that imports the module, does.',
    ).optional(),
    role: oneOf(['connection', 'ping'], '"connection": the call opens a connection that keeps itself alive with timers on the event loop (the default); "ping": the call sends a heartbeat, so a timer whose callback calls it is a heartbeat.').optional(),
    note: name('What keeps the connection alive and how often, for messages (default: "keep-alive declared in .hazard-lens.json").').optional(),
    disabledBy: name('An option of the call that switches the keep-alive off when it is 0 or false, e.g. "keepalive".').optional(),
  });
  const tsBlocking = z.strictObject({
    ...tsExport,
    export: name('The exported function (or, with "how": "method", the method name), e.g. "querySync".'),
    how: oneOf(['call', 'method'], '"call": the module export (the default); "method": a method of that name, called on anything in a file that imports the module.').optional(),
    category: oneOf(['fs', 'child-process', 'cpu'], 'What it blocks on, for messages: file I/O (the default), a child process, or computation.').optional(),
  });
  const tsThreadStarter = z.strictObject({
    ...tsExport,
    export: name('The exported class or function that starts a worker thread running a script, e.g. "WorkerPool".'),
    how: oneOf(['new', 'call'], '"new": constructing it starts the thread, like new Worker() (the default); "call": calling it does.').optional(),
    scriptArgument: argument('The position of the argument naming the script the thread runs, 0 for the first (the default).').optional(),
  });
  const tsHandler = z.strictObject({
    method: name('A method whose last function argument runs again and again once the program is up, e.g. "subscribe".'),
    context: oneOf(['request', 'message', 'interval'], 'What runs it: a request, a message, or a timer.'),
    module: name('Only in files that import this module specifier (default: any file).').optional(),
  });

  const typescriptModels = z
    .strictObject({
      openers: list(tsOpener, 'Module functions that return a handle the caller must release.'),
      releasers: list(tsReleaser, 'Module functions that release the handle passed as their first argument.'),
      owners: list(tsOwner, 'Module functions that take ownership of a handle passed to them.'),
      keepAlive: list(tsKeepAlive, 'Calls that open a self-keeping-alive connection, or that send a heartbeat (heartbeat-starved-by-blocking-call).'),
      blocking: list(tsBlocking, 'Calls that hold the event loop until they finish (heartbeat-starved-by-blocking-call).'),
      threadStarters: list(tsThreadStarter, 'Calls that start a worker thread with its own event loop running a script (heartbeat-starved-by-blocking-call).'),
      handlers: list(tsHandler, 'Methods that register a callback run per request, per message or on a timer (heartbeat-starved-by-blocking-call).'),
    })
    .describe('Models of TypeScript and JavaScript modules.');

  /** The `knowledge` section. */
  const knowledge = z
    .strictObject({
      c: cModels.optional(),
      python: pythonModels.optional(),
      typescript: typescriptModels.optional(),
    })
    .describe('Models of your own libraries, added to the built-in knowledge (see docs/knowledge.md).');

  return { knowledge, languages: { c: cModels, python: pythonModels, typescript: typescriptModels } as const };
}

let shapes: ReturnType<typeof buildShapes> | undefined;

function zodShapes(): ReturnType<typeof buildShapes> {
  shapes ??= buildShapes();
  return shapes;
}

/** The zod shape of the `knowledge` section (the JSON schema of the configuration file is generated from it). */
export function userKnowledgeSchema(): ReturnType<typeof buildShapes>['knowledge'] {
  return zodShapes().knowledge;
}

export type UserKnowledge = z.infer<ReturnType<typeof buildShapes>['knowledge']>;
export type UserLanguage = keyof UserKnowledge;

export const USER_LANGUAGES: readonly UserLanguage[] = ['c', 'python', 'typescript'];

/** Field names of an entry of `kind` in `language`, for "unknown field" messages. */
function entryFields(language: string, kind: string): string[] | undefined {
  const lang = zodShapes().languages[language as UserLanguage];
  const field = lang?.shape[kind as keyof typeof lang.shape] as z.ZodOptional<z.ZodArray<z.ZodType>> | undefined;
  const entry = field?.unwrap().element as unknown as { shape?: Record<string, unknown>; def?: { in?: { shape?: Record<string, unknown> } } } | undefined;
  const shape = entry?.shape ?? entry?.def?.in?.shape;
  return shape ? Object.keys(shape) : undefined;
}

/** `knowledge.python.openers[0].name`. */
export function keyPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function quoteList(values: readonly string[]): string {
  return values.join(', ');
}

export type UserKnowledgeResult = { ok: true; value: UserKnowledge } | { ok: false; errors: string[] };

/**
 * Validates a `knowledge` section. Every problem becomes one message `<key path>: <what is
 * wrong>`, the path starting at `knowledge`; the caller prefixes the file name.
 */
export function parseUserKnowledge(raw: unknown): UserKnowledgeResult {
  const result = zodShapes().knowledge.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const errors: string[] = [];
  for (const issue of result.error.issues) {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const at = keyPath('knowledge', [...path, key]);
        if (path.length === 0) errors.push(`${at}: unknown language (expected ${quoteList(USER_LANGUAGES)}; "typescript" also covers JavaScript)`);
        else if (path.length === 1) {
          const kinds = Object.keys(zodShapes().languages[path[0] as UserLanguage]?.shape ?? {});
          errors.push(`${at}: unknown kind (expected ${quoteList(kinds)})`);
        } else {
          const fields = entryFields(String(path[0]), String(path[1]));
          errors.push(`${at}: unknown field${fields ? ` (expected ${quoteList(fields)})` : ''}`);
        }
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && path.length === 0) message = 'expected an object with "c", "python" or "typescript" models';
    else if (issue.code === 'invalid_type' && path.length === 1) message = 'expected an object of model lists';
    else if (issue.code === 'invalid_type' && path.length === 3) message = 'expected an object';
    errors.push(`${keyPath('knowledge', path)}: ${message}`);
  }
  return { ok: false, errors };
}

/** True when the section declares nothing. */
export function isEmptyKnowledge(user: UserKnowledge | undefined): boolean {
  if (!user) return true;
  return USER_LANGUAGES.every((lang) => {
    const models = user[lang] as Record<string, unknown[] | undefined> | undefined;
    return !models || Object.values(models).every((entries) => !entries || entries.length === 0);
  });
}
