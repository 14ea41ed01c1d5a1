/**
 * green-heartbeat: a program that monkey-patches threading starts a heartbeat thread (or a
 * library connection whose heartbeat runs in a thread), which therefore becomes a green
 * thread that runs only while something drives the hub (incident 4: nova-api under Apache
 * mod_wsgi; oslo.messaging's RabbitMQ heartbeat stopped between requests and the broker
 * dropped the connection).
 *
 * The evidence — patch site, heartbeat start, WSGI entry — usually sits in three files; the
 * joins are in `model/python-heartbeat.ts`.
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import type { Fix, TextEdit } from '../text/edits';
import type { RelatedLocation } from '../text/locations';
import { heartbeatModel, type GreenHeartbeat, type HbSite, type LibraryGreenHeartbeat } from '../model/python-heartbeat';
import type { PyThreadStartFact } from '../facts/python/program-facts';
import { ensureImport, where } from '../model/python-evidence';

const RULE_ID = 'green-heartbeat';

function hubName(g: GreenHeartbeat): string {
  return g.patch.fact.library === 'eventlet' ? 'eventlet hub' : 'gevent hub';
}

function hostWords(g: GreenHeartbeat): string {
  const h = g.host;
  if (h.config?.server === 'apache') return 'Apache mod_wsgi';
  if (h.config?.server === 'uwsgi') return 'uWSGI without a green loop';
  if (h.kind === 'wsgi-script' && h.script) return `a WSGI server through the WSGI script '${h.script.name}' (${h.script.group}, which calls ${h.script.module}:${h.script.object}() for the application)`;
  return h.kind === 'wsgi' ? `a WSGI server through ${h.root.path.split(/[\\/]/).pop()}` : `a WSGI server (${h.root.path.split(/[\\/]/).pop()} defines application)`;
}

function message(g: GreenHeartbeat): string {
  const path = g.anchor?.path ?? g.start.module.path;
  const patch = `${g.patch.fact.api} at ${where(g.patch, path)} makes threads green`;
  const tail = g.host.embedded
    ? `the program is embedded in ${hostWords(g)}, where nothing runs the ${hubName(g)} between requests, so the heartbeat stops and the peer drops the connection`
    : `the thread runs only while the program yields to the ${hubName(g)}, so the heartbeat stalls whenever the program blocks or idles`;
  if (g.anchor) {
    const a = g.anchor;
    const loop = g.loop ? (g.loop.fact.how === 'drive' ? `it drives the connection through ${g.loop.fact.call}` : `its loop calls ${g.loop.fact.call}`) : 'a heartbeat thread';
    const lead =
      a.via === 'connection'
        ? `${a.what} sets up a connection of the installed ${a.distribution}`
        : a.via === 'call'
          ? `${a.what} runs code of the installed ${a.distribution} (${(a.steps ?? []).map((s) => `${s.name}()`).join(' → ')})`
          : `This import leads into the installed ${a.distribution}`;
    return `${lead}, which starts its heartbeat thread with ${g.api} (${where(g.start, path)}, ${loop}) in a program where ${patch}; ${tail}`;
  }
  if (g.start.fact.kind === 'py.hb-connection' && g.use) {
    return `${g.api} creates a transport whose heartbeat thread starts when the program first uses it (${g.use.fact.call} ${g.use.words}) in a program where ${patch}; ${tail}`;
  }
  if (g.start.fact.kind === 'py.hb-connection') {
    return `${g.api} starts a heartbeat thread (${g.start.fact.note}) in a program where ${patch}; ${tail}`;
  }
  const how = g.loop?.fact.how === 'drive' ? `it drives a ${g.connection?.fact.library} connection with heartbeats through ${g.loop.fact.call}` : `its loop calls ${g.loop?.fact.call}`;
  return `${g.api} starts a heartbeat thread (${how}) in a program where ${patch}; ${tail}`;
}

function related(g: GreenHeartbeat): RelatedLocation[] {
  const out: RelatedLocation[] = [{ path: g.patch.module.path, range: g.patch.fact.range, message: `threads patched here (${g.patch.fact.api})` }];
  if (g.anchor?.via === 'connection') out.push({ path: g.anchor.path, range: g.anchor.range, message: `connection of the installed ${g.anchor.distribution} set up here (${g.anchor.what})` });
  if (g.anchor?.via === 'call') {
    out.push({ path: g.anchor.path, range: g.anchor.range, message: `calls into the installed ${g.anchor.distribution} here (${g.anchor.what})` });
    const steps = g.anchor.steps ?? [];
    steps.forEach((s, i) => out.push({ path: s.path, range: s.range, message: i + 1 < steps.length ? `${s.name}() calls ${steps[i + 1].name}()` : `${s.name}() starts the heartbeat thread` }));
  }
  const startMsg = g.anchor
    ? `heartbeat thread started here, in the installed ${g.anchor.distribution} (${g.api}); it is a green thread now`
    : g.start.fact.kind !== 'py.hb-connection'
      ? `heartbeat thread started here (${g.api}); it is a green thread now`
      : g.use
        ? `transport created here (${g.api}); ${g.start.fact.note}, green now`
        : `heartbeat connection created here (${g.api}); its heartbeat thread is green`;
  out.push({ path: g.start.module.path, range: g.start.fact.range, message: startMsg });
  // From the program's code to the function that starts the thread.
  for (const step of g.callSteps ?? []) out.push({ ...step });
  // From the program's entry to the first use of the transport, which opens the connection.
  for (const step of g.use?.steps ?? []) out.push({ ...step });
  if (g.connection) out.push({ path: g.connection.module.path, range: g.connection.fact.range, message: `connection with heartbeats created here (${g.connection.fact.api})` });
  if (g.loop) {
    // From the thread's function down to the function that runs the loop.
    for (const step of g.loopSteps ?? []) out.push({ ...step });
    const through = g.loop.fact.waitsThrough;
    const m =
      g.loop.fact.how !== 'loop'
        ? `the thread drives the connection here (${g.loop.fact.call})`
        : through
          ? `the thread's loop sends the heartbeat here (${g.loop.fact.call}) and waits in ${through.call} (${through.wait} at line ${through.line + 1})`
          : `the thread's loop sends the heartbeat here (${g.loop.fact.call}) and sleeps`;
    out.push({ path: g.loop.module.path, range: g.loop.fact.range, message: m });
  }
  // Up the imports from the heartbeat's module to the entry point.
  for (let i = g.chain.length - 1; i >= 0; i--) out.push({ ...g.chain[i] });
  if (g.host.entry) out.push({ ...g.host.entry });
  if (g.host.config) out.push({ ...g.host.config.step });
  const seen = new Set<string>();
  return out.filter((r) => {
    const k = `${r.path}:${r.range.start.line}:${r.range.start.character}:${r.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The fix that creates the thread from the unpatched original (eventlet's `patcher.original`,
 * gevent's `get_original`) at the constructor the thread start names.
 */
function originalThreadFix(module: HbSite['module'], f: PyThreadStartFact, library: 'eventlet' | 'gevent', why: string): Fix | undefined {
  if (!f.constructorCallee) return undefined;
  const api = f.api.replace(/(\.start)?\(\)$/, '');
  const dot = api.lastIndexOf('.');
  const mod = api.slice(0, dot);
  const attr = api.slice(dot + 1);
  if (!mod || !attr) return undefined;
  const imp = ensureImport(module, library === 'eventlet' ? 'eventlet' : 'gevent.monkey');
  const expr = library === 'eventlet' ? `${imp.name}.patcher.original("${mod}").${attr}` : `${imp.name}.get_original("${mod}", "${attr}")`;
  return { title: `Create the heartbeat thread from ${expr} so it stays a native thread${why}`, applicability: 'unsafe', edits: [...imp.edits, { range: f.constructorCallee, newText: expr }] };
}

function fixes(g: GreenHeartbeat): Fix[] {
  const out: Fix[] = [];
  // The thread starts in an installed package: nothing there is ours to edit, and the patch
  // call's own fix below needs the start in the patching module.
  if (g.anchor) return out;
  const f = g.start.fact;
  if (f.kind === 'py.thread-start') {
    const fix = originalThreadFix(g.start.module, f, g.patch.fact.library, '');
    if (fix) out.push(fix);
  }
  const tf = g.patch.fact.threadFix;
  if (tf && g.patch.module.path === g.start.module.path) {
    const edit: TextEdit =
      tf.kind === 'replace'
        ? { range: tf.range, newText: 'False' }
        : { range: { start: tf.insertAt, end: tf.insertAt }, newText: `${tf.needsComma ? ', ' : ''}${tf.keyword}=False` };
    out.push({ title: `Keep threads native: pass ${tf.keyword}=False to ${g.patch.fact.api.replace(/\(\)$/, '')}`, applicability: 'unsafe', edits: [edit] });
  }
  return out;
}

export const greenHeartbeat: Rule = {
  meta: {
    id: RULE_ID,
    family: 'HEARTBEAT',
    languages: ['python'],
    defaultSeverity: 'warning',
    summary: 'A heartbeat thread runs in a program that monkey-patches threading, so it is a green thread that stalls when nothing drives the hub.',
    fixes: ['unsafe'],
    tags: ['CWE-400', 'CWE-667'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    if (!ctx.files.some((f) => f.language === 'python')) return [];
    const model = heartbeatModel(ctx);
    return [...model.greenHeartbeats.map((g): RawFinding => ({
      ruleId: RULE_ID,
      path: g.anchor?.path ?? g.start.module.path,
      range: g.anchor?.range ?? g.start.fact.range,
      message: message(g),
      severity: g.host.embedded ? 'error' : 'warning',
      related: related(g),
      fixes: fixes(g),
    })), ...model.libraryHeartbeats.map(libraryFinding)];
  },
};

/** A library's heartbeat thread that a green host makes green (no host program in the workspace). */
function libraryFinding(l: LibraryGreenHeartbeat): RawFinding {
  const f = l.start.fact;
  const out: RawFinding = {
    ruleId: RULE_ID,
    path: l.start.module.path,
    range: f.range,
    message: `${f.api} starts a heartbeat thread (its loop calls ${l.loop.fact.call}) from the threading module, in library code that expects monkey-patched hosts (it imports ${l.awareness.module}): in every host program that patches threading this is a green thread, which stalls whenever the host does not run the hub, and the peer drops the connection`,
    severity: 'warning',
    related: [
      { path: l.start.module.path, range: l.awareness.range, message: `adapts to green hosts here (imports ${l.awareness.module})` },
      ...(l.loopSteps ?? []).map((s) => ({ ...s })),
      { path: l.loop.module.path, range: l.loop.fact.range, message: `the thread's loop sends the heartbeat here (${l.loop.fact.call})` },
    ],
    fixes: [],
  };
  const fix = originalThreadFix(l.start.module, f, 'eventlet', ' in patched hosts');
  if (fix) out.fixes = [fix];
  return out;
}
