/**
 * The HEARTBEAT joins over the Python program model: which programs monkey-patch threading,
 * which of their threads (or library connections) carry a heartbeat, whether a WSGI server
 * embeds the program (a `*.wsgi` file, a module-level `application`, a pbr `wsgi_scripts`
 * entry point, an Apache `WSGIScriptAlias`, a uWSGI ini) and whether anything keeps the green
 * hub running; and, in
 * program order, whether a patch call comes after the program already created native threads,
 * locks, sockets or SSL state.
 *
 * Built on `pythonModel(ctx)` (`index`, `programs`) without touching its replay: the few
 * things these rules need (import chains from an entry point, a replay in program order,
 * {@link ProgramOrder}, that stops at the patch call) are cheap, and computed only when some
 * file patches at all.
 */
import * as nodePath from 'node:path';
import { normalisedDistributionName, type ProgramContext, type ProjectFile } from './program-context';
import type { Range } from '../text/locations';
import type {
  PyCallFact,
  PyHeartbeatConnectionFact,
  PyKeepAliveFact,
  PyMonkeyPatchFact,
  PyObjectStartFact,
  PythonFact,
  PyThreadStartFact,
} from '../facts/python/program-facts';
import {
  APACHE_WSGI_DIRECTIVES,
  PY_EARLY_IMPORT_MODULES,
  PY_PATCHED_NAMES,
  PY_INERT_BEFORE_PATCH,
  PY_TEST_FILE,
  GUNICORN_GREEN_WORKERS,
  PY_GREEN_AWARE_IMPORT,
  UWSGI_FILE_OPTIONS,
  UWSGI_GREEN_LOOPS,
  UWSGI_GREEN_OPTIONS,
  UWSGI_MODULE_OPTIONS,
  type TransportKind,
} from '../knowledge/python-heartbeat';
import { STDLIB_MODULES } from '../knowledge/python-handles';
import { classifyStarted, importEdges, MAX_CALL_DEPTH, ProgramOrder, pythonModel, scriptStep, type PyRoot, type PyStep, type RunCtx } from './python';
import { commonPrefixLength } from './paths';
import { firstReached, type CallSearchStart } from './python-call-paths';
import { push, reach, siteKey, toSteps, type Reach } from './program-graph';
import type { EntryPoint } from './python-project';
import type { PyModule, PyModuleIndex } from './python-modules';
import type { PythonEffects } from './python-effects';
import { loadedTransportUse, reachedTransportUse, type TransportUse } from './python-transport-use';

/** A fact at its module. */
export interface HbSite<F extends PythonFact = PythonFact> {
  module: PyModule;
  fact: F;
}

/** A WSGI server configuration that loads a module of the workspace. */
export interface WsgiConfigEntry {
  module: PyModule;
  /** The directive or option that names it (evidence). */
  step: PyStep;
  server: 'apache' | 'uwsgi';
  /** The server runs requests on a green loop (uWSGI `gevent = N`, `loop = gevent`). */
  green: boolean;
}

/** How a program is hosted, for the severity and the last steps of the chain. */
export interface HbHost {
  root: PyModule;
  kind: PyRoot['kind'] | 'config';
  asMain: boolean;
  /** Embedded in a WSGI server that does not run the hub between requests. */
  embedded: boolean;
  /** The entry step (the `.wsgi` file / `application` / the configured module / the declared script). */
  entry?: PyStep;
  config?: WsgiConfigEntry;
  /** The console, GUI or WSGI script entry point whose function the program runs. */
  script?: EntryPoint;
}

export interface GreenHeartbeat {
  patch: HbSite<PyMonkeyPatchFact>;
  /** Where the heartbeat starts: a thread start, a started Thread subclass, or a library connection. */
  start: HbSite<PyThreadStartFact | PyObjectStartFact | PyHeartbeatConnectionFact>;
  /** How the start is named in messages (`threading.Thread.start()`). */
  api: string;
  /** The keep-alive loop the thread runs (thread heartbeats). */
  loop?: HbSite<PyKeepAliveFact>;
  /** When the loop is in a function the thread's function calls: those calls, the thread's function first. */
  loopSteps?: PyStep[];
  /** The connection with heartbeats that the thread drives (`how: 'drive'` loops). */
  connection?: HbSite<PyHeartbeatConnectionFact>;
  host: HbHost;
  /** Import steps from the host's entry point down to the heartbeat's module (entry first). */
  chain: PyStep[];
  /**
   * For a heartbeat started inside an installed package (a module of the Python environment):
   * the workspace code the finding is reported at — the call that sets up the library's
   * connection (a modelled connection call of that package), else the import that leads into it.
   */
  anchor?: HeartbeatAnchor;
  /** For a connection that opens when first used (an oslo.messaging transport): the use the program reaches. */
  use?: TransportUse;
  /**
   * For a thread started in a function of the workspace: the calls from the program's code to
   * that function (absent when no call path reaches it: it may run later, as a handler).
   */
  callSteps?: PyStep[];
}

/** Where a heartbeat that starts in a dependency is reported: the workspace's own code that leads there. */
export interface HeartbeatAnchor {
  path: string;
  range: Range;
  /**
   * `connection`: a modelled call into the package that sets up a connection; `call`: a call
   * into the package whose calls there reach the thread start (`steps` names them); `import`:
   * the import that leads into it (for a thread the package starts at import time).
   */
  via: 'connection' | 'call' | 'import';
  /** With `call`: the package's functions the call runs, from the one called to the one that starts the thread. */
  steps?: { path: string; range: Range; name: string }[];
  /** What the anchor does, for messages (`oslo_messaging.get_rpc_transport()`, `import oslo_messaging`). */
  what: string;
  /** The installed distribution the heartbeat lives in. */
  distribution: string;
  /** With `connection`: the modelled call's fact (a transport that opens on first use needs a use). */
  connection?: PyHeartbeatConnectionFact;
}

/** Something created or bound before the patch call that stays native. */
export interface LateCause {
  module: PyModule;
  range: Range;
  /** Words for the message: "`requests` is imported", "a lock is created (threading.Lock())". */
  what: string;
  /** Why it matters. */
  why: string;
  chain: PyStep[];
  /** Thread/lock causes do not matter when the patch keeps threads native. */
  threadOnly: boolean;
}

export interface LatePatch {
  patch: HbSite<PyMonkeyPatchFact>;
  patchChain: PyStep[];
  cause: LateCause;
  root: PyModule;
  rootKind: PyRoot['kind'];
}

export interface HeartbeatModel {
  greenHeartbeats: GreenHeartbeat[];
  /** Heartbeat threads of library code that adapts to green hosts but starts them patchable. */
  libraryHeartbeats: LibraryGreenHeartbeat[];
  latePatches: LatePatch[];
}

/**
 * A heartbeat thread started from the patchable `threading` in a module that adapts to
 * eventlet or gevent hosts itself (it imports `eventlet`, `gevent` or `oslo_utils.eventletutils`),
 * when an object's set-up starts it (its class's `__init__`, directly or through one method):
 * the library expects to run in monkey-patched programs, where this thread is green. Judged on
 * the library's own evidence, with no host program in the workspace (oslo.messaging's RabbitMQ
 * driver before `heartbeat_in_pthread`).
 */
export interface LibraryGreenHeartbeat {
  start: HbSite<PyThreadStartFact>;
  loop: HbSite<PyKeepAliveFact>;
  /** When the loop is in a function the thread's function calls: those calls, the thread's function first. */
  loopSteps?: PyStep[];
  /** The import that shows the module adapts to green hosts. */
  awareness: { range: Range; module: string };
}

// ---------------------------------------------------------------------------------------
// WSGI server configurations
// ---------------------------------------------------------------------------------------

function lineStep(pf: ProjectFile, line: number, text: string, message: string): PyStep {
  return { path: pf.path, range: { start: { line, character: 0 }, end: { line, character: text.length } }, message };
}

/** Splits a directive's arguments, honouring double quotes. */
function tokens(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2]);
  return out;
}

/**
 * The workspace module a configured script path names: the same absolute path, else the
 * module with the longest matching path suffix, ties broken by the directory it shares with
 * the configuration file (deployment paths rarely match the checkout's).
 */
function moduleForScript(index: PyModuleIndex, script: string, configPath: string): PyModule | undefined {
  const exact = index.byPath(script);
  if (exact) return exact;
  const want = script.split(/[\\/]+/).filter(Boolean);
  const confDir = nodePath.dirname(nodePath.resolve(configPath));
  let best: { m: PyModule; suffix: number; near: number } | undefined;
  for (const m of index.modules) {
    const parts = m.abs.split(nodePath.sep);
    let suffix = 0;
    while (suffix < want.length && suffix < parts.length && want[want.length - 1 - suffix] === parts[parts.length - 1 - suffix]) suffix++;
    if (!suffix) continue;
    const near = commonPrefixLength(nodePath.dirname(m.abs), confDir);
    if (!best || suffix > best.suffix || (suffix === best.suffix && near > best.near)) best = { m, suffix, near };
  }
  return best?.m;
}

function moduleForReference(index: PyModuleIndex, ref: string, configPath: string): PyModule | undefined {
  const mod = ref.split(':')[0].trim();
  if (!/^[A-Za-z_][\w.]*$/.test(mod)) return undefined;
  const candidates = index.modules.filter((m) => m.names.includes(mod));
  if (candidates.length <= 1) return candidates[0];
  const confDir = nodePath.dirname(nodePath.resolve(configPath));
  return candidates.sort((a, b) => commonPrefixLength(nodePath.dirname(b.abs), confDir) - commonPrefixLength(nodePath.dirname(a.abs), confDir))[0];
}

/** Apache `WSGIScriptAlias` (and friends) and uWSGI `[uwsgi]` sections that load workspace modules. */
export function wsgiConfigEntries(index: PyModuleIndex, projectFiles: readonly ProjectFile[]): WsgiConfigEntry[] {
  const out: WsgiConfigEntry[] = [];
  for (const pf of projectFiles) {
    const ext = nodePath.extname(pf.path).toLowerCase();
    if (ext !== '.conf' && ext !== '.ini') continue;
    const lines = pf.text.split(/\r?\n/);
    if (ext === '.conf' || /^\s*WSGI\w+/im.test(pf.text)) {
      const daemon = lines.some((l) => /^\s*WSGIDaemonProcess\s/i.test(l));
      lines.forEach((raw, i) => {
        const m = /^\s*(\w+)\s+(.*)$/.exec(raw);
        if (!m || ![...APACHE_WSGI_DIRECTIVES].some((d) => d.toLowerCase() === m[1].toLowerCase())) return;
        const args = tokens(m[2]);
        const script = m[1].toLowerCase() === 'wsgiimportscript' ? args[0] : args[1];
        if (!script) return;
        const module = moduleForScript(index, script, pf.path);
        if (!module) return;
        const mode = daemon ? 'in mod_wsgi daemon processes' : 'in mod_wsgi';
        out.push({ module, server: 'apache', green: false, step: lineStep(pf, i, raw, `Apache loads it here ${mode} (${m[1]}): requests run on native threads and nothing runs the hub between them`) });
      });
    }
    if (ext !== '.ini') continue;
    let section = '';
    let green = false;
    const pending: { ref: string; file: boolean; line: number; raw: string }[] = [];
    const flush = () => {
      for (const p of pending) {
        const module = p.file ? moduleForScript(index, p.ref, pf.path) : moduleForReference(index, p.ref, pf.path);
        if (!module) continue;
        const msg = green
          ? 'uWSGI loads it here and runs requests on a green loop, which keeps the hub running'
          : 'uWSGI loads it here; its workers run no green loop, so nothing runs the hub between requests';
        out.push({ module, server: 'uwsgi', green, step: lineStep(pf, p.line, p.raw, msg) });
      }
      pending.length = 0;
      green = false;
    };
    lines.forEach((raw, i) => {
      const line = raw.replace(/^\s+|\s*[;#].*$/g, '');
      const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
      if (header) {
        if (section === 'uwsgi') flush();
        section = header[1].toLowerCase();
        return;
      }
      if (section !== 'uwsgi') return;
      const kv = /^([\w-]+)\s*=\s*(.*)$/.exec(line);
      if (!kv) return;
      const key = kv[1].toLowerCase();
      const value = kv[2].trim();
      if (UWSGI_GREEN_OPTIONS.has(key) && !/^(false|0|no|off)$/i.test(value)) green = true;
      if (key === 'loop' && UWSGI_GREEN_LOOPS.has(value.toLowerCase())) green = true;
      if (UWSGI_FILE_OPTIONS.has(key)) pending.push({ ref: key === 'mount' ? value.slice(value.indexOf('=') + 1) : value, file: true, line: i, raw });
      if (UWSGI_MODULE_OPTIONS.has(key)) pending.push({ ref: value, file: false, line: i, raw });
    });
    if (section === 'uwsgi') flush();
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Import closures with chains
// ---------------------------------------------------------------------------------------

/** Import steps from the walk's root down to `m` (each module reached first by the import statement recorded). */
function chainOf(r: Reach<PyModule, Range>, m: PyModule, index?: PyModuleIndex): PyStep[] {
  const out: PyStep[] = [];
  let to = m;
  for (let v = r.via.get(m); v; to = v.from, v = r.via.get(v.from)) {
    const plugin = index?.pluginEdges(v.from).find((p) => p.to === to && p.edge === v.edge);
    out.push({ path: v.from.path, range: v.edge, message: plugin ? `${PLUGIN_STEP} '${plugin.group}' here (${to.names[to.names.length - 1] ?? nodePath.basename(to.path)})` : 'imported from here' });
  }
  return out.reverse();
}

/** A function of an installed package a walk reached, and the key of the function that called it (none for the first). */
interface WalkStep {
  from?: string;
  module: PyModule;
  name: string;
}

/** How many functions of installed packages one workspace call is followed through. */
const MAX_DEPENDENCY_FUNCTIONS = 400;

/**
 * Workspace calls into installed packages, and which of the packages' functions each one
 * runs (through the calls those functions make inside the packages, breadth first and
 * bounded): what tells that `chatter.Connection(url)` in the application starts the
 * heartbeat thread that `Connection._start_heartbeat` creates. Calls the packages make into
 * code that is not installed (a plugin manager that is absent) end the walk.
 */
class DependencyCallers {
  private readonly walks = new Map<string, Map<string, WalkStep>>();

  constructor(
    private readonly index: PyModuleIndex,
    private readonly modules: readonly PyModule[],
  ) {}

  /** The workspace calls (in this program's modules) that reach function `fn` of dependency module `m`, with the functions they pass through. */
  reaching(m: PyModule, fn: string): { module: PyModule; fact: PyCallFact; steps: { path: string; range: Range; name: string }[] }[] {
    const target = `${m.abs}#${fn}`;
    const out: { module: PyModule; fact: PyCallFact; steps: { path: string; range: Range; name: string }[] }[] = [];
    for (const wm of this.modules) {
      if (wm.dependency || PY_TEST_FILE.test(wm.path)) continue;
      for (const f of wm.facts) {
        if (f.kind !== 'py.call') continue;
        const entry = this.index.callTarget(wm, f.callee, f.origin);
        if (!entry?.module.dependency) continue;
        const walk = this.walk(entry.module, entry.name);
        if (!walk.has(target)) continue;
        const steps: { path: string; range: Range; name: string }[] = [];
        for (let v = walk.get(target); v; v = v.from === undefined ? undefined : walk.get(v.from)) {
          const def = v.module.functions.get(v.name);
          if (def) steps.unshift({ path: v.module.path, range: def.range, name: v.name });
        }
        out.push({ module: wm, fact: f, steps });
      }
    }
    return out;
  }

  /** Functions of installed packages reached from `name` in `m`, each with the function that called it first. */
  private walk(m: PyModule, name: string): Map<string, WalkStep> {
    const start = `${m.abs}#${name}`;
    let seen = this.walks.get(start);
    if (seen) return seen;
    seen = new Map([[start, { module: m, name }]]);
    const queue: { module: PyModule; name: string; key: string }[] = [{ module: m, name, key: start }];
    for (let i = 0; i < queue.length && seen.size < MAX_DEPENDENCY_FUNCTIONS; i++) {
      const cur = queue[i];
      for (const f of cur.module.bodies.get(cur.name) ?? []) {
        if (f.kind !== 'py.call') continue;
        const t = this.index.callTarget(cur.module, f.callee, f.origin);
        if (!t?.module.dependency) continue;
        const key = `${t.module.abs}#${t.name}`;
        if (seen.has(key)) continue;
        seen.set(key, { from: cur.key, module: t.module, name: t.name });
        queue.push({ module: t.module, name: t.name, key });
      }
    }
    this.walks.set(start, seen);
    return seen;
  }
}

const PLUGIN_STEP = 'loads the plugins of entry-point group';

function isPluginStep(s: PyStep): boolean {
  return s.message.startsWith(PLUGIN_STEP);
}

/** Whether a heartbeat start inside a package, reached by `chain`, is a better pick than one reached by `than`. */
function betterDependencyStart(chain: readonly PyStep[], than: readonly PyStep[]): boolean {
  const viaPlugin = (c: readonly PyStep[]) => c.some(isPluginStep);
  if (viaPlugin(chain) !== viaPlugin(than)) return viaPlugin(chain);
  return chain.length < than.length;
}

/**
 * The workspace code a heartbeat inside an installed package is reported at: a modelled
 * connection call of that package that the program runs, else — only for a thread the
 * package starts at import time — the last import on the chain that is the workspace's own
 * (the step that leads into the package). A thread started in a function of the package
 * with no call into it that sets up a connection is not claimed: importing starts nothing.
 */
function anchorsFor(
  g: { start: HbSite },
  chain: readonly PyStep[],
  connections: readonly HbSite<PyHeartbeatConnectionFact>[],
  dependencyPaths: ReadonlySet<string>,
  callers: DependencyCallers,
): HeartbeatAnchor[] {
  const distribution = g.start.module.dependency!;
  const calls = connections.filter((c) => !c.module.dependency && normalisedDistributionName(c.fact.library) === normalisedDistributionName(distribution));
  if (calls.length) return calls.map((c) => ({ path: c.module.path, range: c.fact.range, via: 'connection', what: c.fact.api, distribution, connection: c.fact }));
  const reaching = g.start.fact.enclosingFunction === '' ? [] : callers.reaching(g.start.module, g.start.fact.enclosingFunction);
  if (reaching.length) return reaching.map((c) => ({ path: c.module.path, range: c.fact.range, via: 'call', what: `${c.fact.callee.replace(/^\.+/, '')}()`, distribution, steps: c.steps }));
  // Importing the package starts nothing unless the thread starts at import time.
  if (g.start.fact.enclosingFunction !== '') return [];
  for (let i = chain.length - 1; i >= 0; i--) {
    if (dependencyPaths.has(chain[i].path)) continue;
    return [{ path: chain[i].path, range: chain[i].range, via: 'import', what: `the import at line ${chain[i].range.start.line + 1}`, distribution }];
  }
  return [];
}

// ---------------------------------------------------------------------------------------
// green-heartbeat
// ---------------------------------------------------------------------------------------

/** A keep-alive a function runs, and the calls that lead from the function to it (empty when it is in the function itself). */
interface KeepAlive {
  loop: HbSite<PyKeepAliveFact>;
  steps: PyStep[];
}

/**
 * The keep-alive a function runs, itself or through any workspace function it may call
 * (`python-effects.ts` summaries: however deep, recursion included): a heartbeat loop when
 * one is reachable, else a call that drives a connection's I/O loop.
 */
function keepAliveIn(effects: PythonEffects, m: PyModule, fn: string): KeepAlive | undefined {
  const start = effects.fn(m, fn);
  let summaries = effects.summaries();
  let chain = summaries.chain(start, 'pings');
  if (!chain.length) return undefined;
  if (chain[chain.length - 1].direct?.reason !== 'loop') {
    // The first keep-alive is a drive: a loop further on wins.
    const loops = effects.summariesWith((e) => e.kind !== 'pings' || e.reason === 'loop', [start]);
    if (loops.has(start, 'pings')) {
      summaries = loops;
      chain = loops.chain(start, 'pings');
    }
  }
  const last = chain[chain.length - 1];
  const fact = effects.body(last.fn)[last.call];
  if (fact?.kind !== 'py.keepalive') return undefined;
  const words = fact.how === 'loop' ? 'runs the heartbeat loop' : 'drives the connection';
  return { loop: { module: last.fn.module, fact }, steps: effects.steps(summaries, start, 'pings', words).slice(0, -1) };
}

function entryStep(root: PyModule, kind: HbHost['kind'], script?: EntryPoint): PyStep | undefined {
  if (kind === 'wsgi-script' && script) return scriptStep(script);
  const app = root.moduleFact?.application;
  const range = app ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const name = nodePath.basename(root.path);
  if (kind === 'wsgi') return { path: root.path, range, message: `WSGI entry point: the server loads ${name} and calls its application per request` };
  if (kind === 'application') return { path: root.path, range, message: 'WSGI entry point: the server imports this module and calls application per request' };
  if (kind === 'config') return { path: root.path, range, message: `WSGI entry point loaded by the server configuration` };
  return undefined;
}

/**
 * Functions that the import-time code (module level or a main block) of `modules` reaches
 * through calls of workspace functions: a patch call inside a function counts only when it
 * is one of these for the program at hand (a helper only tests or another program call
 * patches nothing here).
 */
function reachedFunctions(index: PyModuleIndex, modules: readonly PyModule[], also: readonly { m: PyModule; fn: string }[] = []): Set<string> {
  const seen = new Set<string>();
  const work: { m: PyModule; fn: string }[] = modules.filter((m) => !PY_TEST_FILE.test(m.path)).map((m) => ({ m, fn: '' }));
  for (const a of also) {
    seen.add(`${a.m.abs}#${a.fn}`);
    work.push(a);
  }
  while (work.length) {
    const { m, fn } = work.pop()!;
    for (const f of m.bodies.get(fn) ?? []) {
      if (f.kind !== 'py.call') continue;
      const target = index.callTarget(m, f.callee, f.origin);
      if (!target) continue;
      const key = `${target.module.abs}#${target.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      work.push({ m: target.module, fn: target.name });
    }
  }
  return seen;
}

function greenHeartbeats(index: PyModuleIndex, effects: PythonEffects, programs: { root: PyRoot; modules: Set<PyModule> }[], configs: WsgiConfigEntry[]): GreenHeartbeat[] {
  // Distributions whose code the Python environment holds, and the files of that code.
  const installed = new Set<string>();
  const dependencyPaths = new Set<string>();
  for (const m of index.modules) {
    if (!m.dependency) continue;
    installed.add(normalisedDistributionName(m.dependency));
    dependencyPaths.add(m.path);
  }
  const patchModules = new Set<PyModule>();
  for (const m of index.modules) if (!PY_TEST_FILE.test(m.path)) for (const f of m.facts) if (f.kind === 'py.monkey-patch' && f.threads === 'yes') patchModules.add(m);
  if (!patchModules.size) return [];
  const hosts: HbHost[] = [];
  const configured = new Map<PyModule, WsgiConfigEntry[]>();
  for (const c of configs) configured.set(c.module, [...(configured.get(c.module) ?? []), c]);
  for (const p of programs) {
    if (configured.has(p.root.module) || PY_TEST_FILE.test(p.root.module.path)) continue;
    if (![...patchModules].some((m) => p.modules.has(m))) continue;
    const embedded = p.root.kind === 'wsgi' || p.root.kind === 'application' || p.root.kind === 'wsgi-script';
    hosts.push({
      root: p.root.module,
      kind: p.root.kind,
      asMain: p.root.asMain,
      embedded,
      // A declared script is the program's entry, embedded or not: it shows where the program starts.
      entry: embedded ? entryStep(p.root.module, p.root.kind, p.root.script) : p.root.script ? scriptStep(p.root.script) : undefined,
      script: p.root.script,
    });
  }
  for (const [module, list] of configured) {
    // A green loop anywhere wins: the hub runs between requests there.
    const config = list.find((c) => c.green) ?? list[0];
    const kind: HbHost['kind'] = /\.wsgi$/i.test(module.path) ? 'wsgi' : module.moduleFact?.application ? 'application' : 'config';
    hosts.push({ root: module, kind, asMain: false, embedded: !config.green, entry: entryStep(module, kind), config });
  }
  // gunicorn configurations with a green worker class: the apps below their directory run on a hub.
  const greenDirs = index.modules
    .filter((m) => m.moduleFact?.workerClass && GUNICORN_GREEN_WORKERS.test(m.moduleFact.workerClass))
    .map((m) => nodePath.dirname(m.abs));
  const underGreenGunicorn = (m: PyModule) => greenDirs.some((d) => m.abs.startsWith(d + nodePath.sep));
  const out = new Map<string, GreenHeartbeat>();
  for (const host of hosts) {
    if (host.config?.green || underGreenGunicorn(host.root)) continue;
    const r = reach(host.root, (m) => importEdges(index, m));
    let patch: HbSite<PyMonkeyPatchFact> | undefined;
    let hubDriven = false;
    const connections: HbSite<PyHeartbeatConnectionFact>[] = [];
    const runs = (m: PyModule, f: PythonFact) => !f.underMainGuard || (host.asMain && m === host.root);
    let reached: Set<string> | undefined;
    // A script entry point's function runs too (and what it calls).
    const scriptSym = host.script?.object ? index.member(host.root, host.script.object.split('.')) : undefined;
    const scriptFn = scriptSym?.kind === 'function' ? [{ m: scriptSym.module, fn: scriptSym.name }] : [];
    const patchRuns = (m: PyModule, f: PyMonkeyPatchFact) => f.enclosingFunction === '' || (reached ??= reachedFunctions(index, r.order, scriptFn)).has(`${m.abs}#${f.enclosingFunction}`);
    for (const m of r.order) {
      for (const f of m.facts) {
        if (!runs(m, f)) continue;
        if (f.kind === 'py.monkey-patch' && f.threads === 'yes' && !patch && patchModules.has(m) && patchRuns(m, f)) patch = { module: m, fact: f };
        // A green server keeps the hub turning only when the program runs it: at import time,
        // or in a function the program's code calls (not merely defined in an imported module).
        else if (f.kind === 'py.hub-driver' && (f.enclosingFunction === '' || (reached ??= reachedFunctions(index, r.order, scriptFn)).has(`${m.abs}#${f.enclosingFunction}`))) hubDriven = true;
        else if (f.kind === 'py.hb-connection') connections.push({ module: m, fact: f });
      }
    }
    if (!patch || hubDriven) continue;
    // Threads started at import time before the patch ran are native threads.
    const order = new LateReplay(index, { module: host.root, kind: host.kind === 'config' ? 'library' : host.kind, asMain: host.asMain, script: host.script });
    order.run();
    const found: Omit<GreenHeartbeat, 'patch' | 'host' | 'chain'>[] = [];
    // Packages whose connection heartbeat runs in a plugin driver they load (natively or not).
    const pluginHeartbeats = new Set<string>();
    let callers: DependencyCallers | undefined;
    // How the program's code reaches the function that starts a thread (a chain of calls).
    const entryStarts = hostStarts(host, r.order, scriptFn).starts;
    const callStepsTo = (start: HbSite): PyStep[] | undefined => {
      const fn = start.fact.enclosingFunction;
      if (fn === '' || start.module.dependency) return undefined;
      return firstReached(index, entryStarts, (m, at) => (m === start.module && at === fn ? true : undefined), runs)?.steps;
    };
    for (const m of r.order) {
      if (PY_TEST_FILE.test(m.path)) continue;
      for (const f of m.facts) {
        if (!runs(m, f) || order.before.has(f)) continue;
        if (f.kind === 'py.thread-start' && f.target) {
          const sym = index.resolve(m, f.target.name, f.target.origin);
          if (sym?.kind !== 'function') continue;
          const keep = keepAliveIn(effects, sym.module, sym.name);
          if (!keep) continue;
          const { loop } = keep;
          const loopSteps = keep.steps.length ? { loopSteps: keep.steps } : {};
          // A package's heartbeat in a driver it loads as a plugin marks the package's connection
          // heartbeat, native or not (see below).
          if (m.dependency && chainOf(r, m, index).some(isPluginStep)) pluginHeartbeats.add(m.dependency);
          if (f.native) continue;
          if (loop.fact.how === 'drive') {
            const conn = connections.find((c) => !c.fact.background);
            if (conn) found.push({ start: { module: m, fact: f }, api: f.api, loop, ...loopSteps, connection: conn });
          } else found.push({ start: { module: m, fact: f }, api: f.api, loop, ...loopSteps });
        } else if (f.kind === 'py.object-start') {
          const sym = index.resolve(m, f.constructorName, f.origin);
          if (sym?.kind !== 'class' || classifyStarted(index, m, f.constructorName, f.origin, f.method)?.kind !== 'thread') continue;
          const run = index.method(sym.module, sym.name, 'run');
          if (run?.kind !== 'function') continue;
          const keep = keepAliveIn(effects, run.module, run.name);
          if (!keep || keep.loop.fact.how === 'drive') continue;
          found.push({ start: { module: m, fact: f }, api: `${f.constructorName.replace(/^\.+/, '')}.${f.method}()`, loop: keep.loop, ...(keep.steps.length ? { loopSteps: keep.steps } : {}) });
        } else if (f.kind === 'py.hb-connection' && f.background) {
          // With the library installed in the environment, its own code says whether its
          // heartbeat thread is green; the model of the call only stands in for absent code.
          if (installed.has(normalisedDistributionName(f.library))) continue;
          found.push({ start: { module: m, fact: f }, api: f.api });
        }
      }
    }
    // A transport opens its connection (and starts the heartbeat) only when the program uses it.
    const uses = new Map<TransportKind, TransportUse | undefined>();
    const useOf = (kind: TransportKind): TransportUse | undefined => {
      if (!uses.has(kind)) uses.set(kind, programTransportUse(index, host, r.order, scriptFn, runs, kind));
      return uses.get(kind);
    };
    // A connection's heartbeat runs in the driver the package loads for it: when a package's
    // heartbeat threads include one in a plugin it loads by entry-point group, the package's
    // other threads (servers, dispatchers) run on paths the connection call does not set up.
    for (const g of found) {
      const chain = chainOf(r, g.start.module, index);
      if (g.start.module.dependency && pluginHeartbeats.has(g.start.module.dependency) && !chain.some(isPluginStep)) continue;
      let use: TransportUse | undefined;
      if (g.start.fact.kind === 'py.hb-connection' && g.start.fact.onUse) {
        use = useOf(g.start.fact.usedBy ?? 'any');
        if (!use) continue;
      }
      const anchors: (HeartbeatAnchor | undefined)[] = g.start.module.dependency ? anchorsFor(g, chain, connections, dependencyPaths, (callers ??= new DependencyCallers(index, r.order))) : [undefined];
      for (const anchor of anchors) {
        // The modelled call sets up a transport that connects on first use: it needs one too.
        let anchorUse = use;
        if (anchor?.connection?.onUse) {
          anchorUse = useOf(anchor.connection.usedBy ?? 'any');
          if (!anchorUse) continue;
        }
        // One finding per workspace anchor: of the package's heartbeat threads, the one in a
        // plugin it loads (the driver behind the connection), else the nearest.
        const key = anchor ? `@${anchor.path}:${anchor.range.start.line}:${anchor.range.start.character}` : siteKey(g.start.module, g.start.fact);
        const old = out.get(key);
        if (old && old.host.embedded && !host.embedded) continue;
        if (old && old.host.embedded === host.embedded && (!anchor || !betterDependencyStart(chain, old.chain))) continue;
        const callSteps = anchor ? undefined : callStepsTo(g.start);
        out.set(key, { ...g, patch, host, chain, anchor, ...(anchorUse ? { use: anchorUse } : {}), ...(callSteps?.length ? { callSteps } : {}) });
      }
    }
  }
  return [...out.values()];
}

/**
 * The first transport use a program reaches: from its import-time code, its declared script's
 * function and a WSGI `def application` (called per request), through calls. A program a WSGI
 * server embeds serves requests through handlers its web framework calls (routes, controllers
 * named in configuration), which calls do not reach: there a use in any module it loads counts.
 */
function programTransportUse(
  index: PyModuleIndex,
  host: HbHost,
  modules: readonly PyModule[],
  scriptFn: readonly { m: PyModule; fn: string }[],
  runs: (m: PyModule, f: PythonFact) => boolean,
  kind: TransportKind,
): TransportUse | undefined {
  const { starts, servesRequests } = hostStarts(host, modules, scriptFn);
  return reachedTransportUse(index, starts, kind, runs) ?? (servesRequests ? loadedTransportUse(index, modules, kind) : undefined);
}

/**
 * Where a host program's code starts running: every module's import-time code, the declared
 * script's function and, for a program that serves requests, a module-level `def application`.
 */
function hostStarts(host: HbHost, modules: readonly PyModule[], scriptFn: readonly { m: PyModule; fn: string }[]): { starts: CallSearchStart[]; servesRequests: boolean } {
  const starts: CallSearchStart[] = modules.map((m) => ({ module: m, fn: '' }));
  for (const s of scriptFn) starts.push({ module: s.m, fn: s.fn, step: host.script ? scriptStep(host.script) : undefined });
  const servesRequests = host.embedded || host.kind === 'wsgi' || host.kind === 'application' || host.kind === 'wsgi-script' || host.kind === 'config';
  const app = host.root.functions.get('application');
  if (servesRequests && app && app.enclosingFunction === '') {
    starts.push({ module: host.root, fn: 'application', step: { path: host.root.path, range: app.range, message: 'the WSGI server calls application() for every request' } });
  }
  return { starts, servesRequests };
}

/**
 * Whether function `fn` runs when an object of its class is made: it is the class's
 * `__init__`, or `__init__` calls it (directly or through one more method of the module). A
 * heartbeat started there runs for the object's whole life, whenever the host idles (a
 * connection's); one started elsewhere (per dispatched request) runs while the host is busy
 * serving.
 */
function startedWithItsObject(index: PyModuleIndex, m: PyModule, fn: string): boolean {
  const cls = m.functions.get(fn)?.className;
  if (!cls) return false;
  if (fn === `${cls}.__init__`) return true;
  const calls = (from: string) =>
    (m.bodies.get(from) ?? []).flatMap((f) => {
      if (f.kind !== 'py.call') return [];
      const t = index.callTarget(m, f.callee, f.origin);
      return t && t.module === m ? [t.name] : [];
    });
  const direct = calls(`${cls}.__init__`);
  return direct.includes(fn) || direct.some((d) => calls(d).includes(fn));
}


/**
 * Heartbeat threads of library code that knows green hosts (it imports eventlet, gevent or
 * eventletutils) but starts them from the patchable `threading`: reported once, at the
 * start, unless a host program of the workspace already reports that start.
 */
function libraryHeartbeats(index: PyModuleIndex, effects: PythonEffects, reported: readonly GreenHeartbeat[]): LibraryGreenHeartbeat[] {
  const taken = new Set(reported.map((g) => siteKey(g.start.module, g.start.fact)));
  const out: LibraryGreenHeartbeat[] = [];
  for (const m of index.modules) {
    if (m.dependency || PY_TEST_FILE.test(m.path)) continue;
    // A module that is a program of its own, patches or runs a hub decides its own threads'
    // fate: the host joins above judge it. Library code is what is left.
    const mf = m.moduleFact;
    if (mf?.mainGuard || mf?.application || /(^|[\\/])__main__\.py$|\.wsgi$/i.test(m.path)) continue;
    if (m.facts.some((f) => f.kind === 'py.monkey-patch' || f.kind === 'py.hub-driver')) continue;
    let awareness: LibraryGreenHeartbeat['awareness'] | undefined;
    for (const f of m.facts) {
      if (f.kind !== 'py.import' || f.level !== 0) continue;
      const names = [f.module, ...(f.names ?? []).map((n) => `${f.module}.${n.name}`)];
      const aware = names.find((n) => PY_GREEN_AWARE_IMPORT.test(n));
      if (aware) {
        awareness = { range: f.range, module: aware };
        break;
      }
    }
    if (!awareness) continue;
    for (const f of m.facts) {
      if (f.kind !== 'py.thread-start' || f.native || !f.target || !/^threading\./.test(f.api) || taken.has(siteKey(m, f))) continue;
      if (!startedWithItsObject(index, m, f.enclosingFunction)) continue;
      const sym = index.resolve(m, f.target.name, f.target.origin);
      if (sym?.kind !== 'function') continue;
      const keep = keepAliveIn(effects, sym.module, sym.name);
      if (keep?.loop.fact.how !== 'loop') continue;
      out.push({ start: { module: m, fact: f }, loop: keep.loop, ...(keep.steps.length ? { loopSteps: keep.steps } : {}), awareness });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// late-monkey-patch: replay import-time code in order up to the patch call
// ---------------------------------------------------------------------------------------

/** Program order up to the first patch call: what ran before it, and the first cause that makes it late. */
class LateReplay extends ProgramOrder {
  private readonly running = new Set<string>();
  /**
   * Functions already replayed: running one again adds nothing (the first cause is kept,
   * `before` holds its facts, a patch inside it would have stopped the replay), and without
   * this a call graph that calls the same functions on several paths replays exponentially.
   */
  private readonly done = new Set<string>();
  private cause?: LateCause;
  /**
   * Per module, the first third-party package it imported before the patch: when nothing more
   * specific came first, such an import in the patching module itself (the patch written
   * below a block of imports) makes the patch late — its import-time code is not in the
   * workspace, and gevent and eventlet ask to be patched before anything else is imported.
   */
  private readonly opaque = new Map<PyModule, LateCause>();
  result?: LatePatch;
  /** Thread starts and connections that ran at import time before the replay reached a patch call. */
  readonly before = new Set<PythonFact>();

  /**
   * After start-up, the functions a decorator registered in the modules the program loaded
   * (`@cli.command()` commands, routes) run too: a patch call they reach (a command that
   * imports the module that patches) comes after everything the program imported first.
   */
  runRegistered(): void {
    this.run();
    for (const m of [...this.loaded]) {
      if (this.stopped) break;
      if (PY_TEST_FILE.test(m.path)) continue;
      for (const f of m.facts) {
        if (this.stopped) break;
        if (f.kind !== 'py.function' || !f.registered) continue;
        const step = { path: m.path, range: f.range, message: `${f.name}() registered by its decorator: it runs when its command, route or callback is invoked, after start-up` };
        this.runFunction(m, f.name, { chain: push(undefined, step), execAfter: false, depth: 0, asMain: false });
      }
    }
  }

  private note(c: Omit<LateCause, 'chain'>, ctx: RunCtx): void {
    if (!this.cause) this.cause = { ...c, chain: toSteps(ctx.chain) };
  }

  /** A call enters the function one level deeper (a module's top level is level 0, wherever it is imported). */
  protected runFunction(m: PyModule, name: string, ctx: RunCtx): void {
    this.runBody(m, name, { ...ctx, depth: ctx.depth + 1 });
  }

  protected runBody(m: PyModule, fn: string, outer: RunCtx): void {
    const ctx = fn === '' ? { ...outer, depth: 0 } : outer;
    const key = `${m.abs}#${fn}`;
    if (ctx.depth > MAX_CALL_DEPTH || this.running.has(key) || this.done.has(key)) return;
    this.running.add(key);
    for (const f of m.bodies.get(fn) ?? []) {
      if (this.stopped) break;
      if (f.underMainGuard && fn === '' && !(this.root.asMain && m === this.root.module)) continue;
      if (f.kind === 'py.thread-start' || f.kind === 'py.object-start' || f.kind === 'py.hb-connection') this.before.add(f);
      switch (f.kind) {
        case 'py.import': {
          if (f.level === 0) {
            const top = f.module.split('.')[0];
            const why = PY_EARLY_IMPORT_MODULES.get(f.module) ?? PY_EARLY_IMPORT_MODULES.get(top);
            if (why) this.note({ module: m, range: f.range, what: `\`${f.module}\` was imported`, why: `it ${why}`, threadOnly: false }, ctx);
            if (!why && !this.opaque.has(m) && !f.conditional && !STDLIB_MODULES.has(top) && !PY_INERT_BEFORE_PATCH.has(top)) {
              const targets = this.index.importTargets(m, f);
              if (!targets.length) this.opaque.set(m, { module: m, range: f.range, what: `the third-party package \`${top}\` was imported`, why: 'its import-time code, outside the workspace, may already have created locks or bound the native socket, ssl and threading names', threadOnly: false, chain: toSteps(ctx.chain) });
            }
            const patched = PY_PATCHED_NAMES.get(f.module);
            const bound = (f.names ?? []).filter((n) => patched?.has(n.name)).map((n) => n.name);
            if (bound.length) {
              const threadOnly = f.module === 'threading' || f.module === '_thread' || f.module === 'queue';
              this.note({ module: m, range: f.range, what: `${bound.join(', ')} ${bound.length > 1 ? 'were' : 'was'} bound with \`from ${f.module} import\``, why: `${bound.length > 1 ? 'these names keep' : 'that name keeps'} the native object${bound.length > 1 ? 's' : ''}`, threadOnly }, ctx);
            }
          }
          // An installed package that is inert before the patch (eventlet, gevent themselves:
          // importing them is how the patch is written) is not replayed: what its own
          // import-time code creates is its business, not a late patch.
          const targets = this.index.importTargets(m, f);
          const inertPackage = f.level === 0 && PY_INERT_BEFORE_PATCH.has(f.module.split('.')[0]);
          this.runImport(m, f, inertPackage ? targets.filter((t) => !t.dependency) : targets, ctx);
          break;
        }
        case 'py.native-primitive':
          this.note({ module: m, range: f.range, what: `${f.what} was created (${f.api})`, why: 'it stays native', threadOnly: !/socket|SSL/.test(f.what) }, ctx);
          break;
        case 'py.thread-start':
          if (!f.native) this.note({ module: m, range: f.range, what: `a thread was started (${f.api})`, why: 'it stays a native thread', threadOnly: true }, ctx);
          break;
        case 'py.call': {
          const target = this.index.callTarget(m, f.callee, f.origin);
          if (target) this.runFunction(target.module, target.name, { ...ctx, chain: push(ctx.chain, { path: m.path, range: f.range, message: 'called here' }) });
          break;
        }
        case 'py.monkey-patch': {
          const known = this.cause && !(this.cause.threadOnly && f.threads === 'no') ? this.cause : undefined;
          const cause = known ?? this.opaque.get(m);
          if (cause && !PY_TEST_FILE.test(m.path)) this.result = { patch: { module: m, fact: f }, patchChain: toSteps(ctx.chain), cause, root: this.root.module, rootKind: this.root.kind };
          this.stopped = true;
          break;
        }
        default:
          break;
      }
    }
    this.running.delete(key);
    this.done.add(key);
  }
}

function latePatches(index: PyModuleIndex, programs: { root: PyRoot; modules: Set<PyModule> }[]): LatePatch[] {
  const patchModules = new Set<PyModule>();
  for (const m of index.modules) if (!PY_TEST_FILE.test(m.path)) for (const f of m.facts) if (f.kind === 'py.monkey-patch') patchModules.add(m);
  if (!patchModules.size) return [];
  const out = new Map<string, LatePatch>();
  for (const p of programs) {
    // A test module run as a program (by a test runner) is not how the program starts.
    if (PY_TEST_FILE.test(p.root.module.path)) continue;
    if (![...patchModules].some((m) => p.modules.has(m))) continue;
    const replay = new LateReplay(index, p.root);
    replay.runRegistered();
    const r = replay.result;
    if (!r) continue;
    const key = siteKey(r.patch.module, r.patch.fact);
    if (!out.has(key)) out.set(key, r);
  }
  return [...out.values()];
}

// ---------------------------------------------------------------------------------------

const CACHE = new WeakMap<object, HeartbeatModel>();

/** The HEARTBEAT joins of a workspace, memoised per Python model (both rules share them). */
export function heartbeatModel(ctx: ProgramContext): HeartbeatModel {
  const model = pythonModel(ctx);
  const hit = CACHE.get(model);
  if (hit) return hit;
  const configs = wsgiConfigEntries(model.index, ctx.projectFiles);
  const green = greenHeartbeats(model.index, model.effects, model.programs, configs);
  const result: HeartbeatModel = {
    greenHeartbeats: green,
    libraryHeartbeats: libraryHeartbeats(model.index, model.effects, green),
    latePatches: latePatches(model.index, model.programs),
  };
  CACHE.set(model, result);
  return result;
}
