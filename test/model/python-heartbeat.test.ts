/**
 * HEARTBEAT rules over multi-file Python scenarios (test/fixtures/programs/py-heartbeat-*,
 * py-late-patch) and the incident-4 example: the patch in one module, the heartbeat in
 * another, the WSGI entry and the server configuration elsewhere make one finding with its
 * chain. Also: the configuration readers, an edit in one file changing the finding in
 * another, and the CLI reporting the example.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { ProjectFile } from '../../server/src/model/program-context';
import type { FileAnalysis, Finding } from '../../server/src/analysis/results';
import { pythonModel } from '../../server/src/model/python';
import { wsgiConfigEntries } from '../../server/src/model/python-heartbeat';
import { ensureBuilt, runCli } from '../cli/helpers';
import { grammarsReady, loadWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = join(ROOT, 'test', 'fixtures', 'programs');
const EXAMPLES = join(ROOT, 'examples');
const RULE_IDS = new Set(['green-heartbeat', 'late-monkey-patch']);

interface Scenario {
  dir: string;
  files: FileAnalysis[];
  projectFiles: ProjectFile[];
}

function load(dir: string): Scenario {
  return loadWorkspace(dir, ROOT);
}

function run(s: Scenario, files = s.files): Finding[] {
  const { findings, notes } = evaluate(files, undefined, { roots: [s.dir], projectFiles: s.projectFiles });
  // Only these rules' failures concern this file (the other rules have their own tests).
  assert.deepEqual(notes.filter((n) => /green-heartbeat|late-monkey-patch/.test(n)), []);
  return findings.filter((f) => RULE_IDS.has(f.ruleId));
}

function steps(s: Scenario, f: Finding): string[] {
  return f.related.map((r) => `${relative(s.dir, join(ROOT, r.path))}:${r.range.start.line + 1} ${r.message}`);
}

function at(s: Scenario, f: Finding): string {
  return `${f.ruleId} ${f.severity} ${relative(s.dir, join(ROOT, f.path))}:${f.range.start.line + 1}`;
}

/** Replaces a file's analysis with one of edited text (what the language server does on a change). */
function edited(s: Scenario, rel: string, edit: (text: string) => string): FileAnalysis[] {
  const path = relative(ROOT, join(s.dir, rel));
  return s.files.map((f) => (f.path === path ? analyzeText(path, edit(readFileSync(join(ROOT, path), 'utf8')))! : f));
}

before(async () => {
  await grammarsReady();
});

describe('py-heartbeat-apache: patch, heartbeat thread and .wsgi entry in three files, served by Apache', () => {
  test('one error at the thread start, with the chain patch → heartbeat → WSGI entry → Apache', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-apache'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat error api/messaging.py:22']);
    const [f] = findings;
    assert.equal(
      f.message,
      'threading.Thread.start() starts a heartbeat thread (its loop calls self.send_heartbeat()) in a program where eventlet.monkey_patch() at patch.py:4 makes threads green; ' +
        'the program is embedded in Apache mod_wsgi, where nothing runs the eventlet hub between requests, so the heartbeat stops and the peer drops the connection',
    );
    assert.deepEqual(steps(s, f), [
      'api/patch.py:4 threads patched here (eventlet.monkey_patch())',
      'api/messaging.py:22 heartbeat thread started here (threading.Thread.start()); it is a green thread now',
      'api/app.py:5 messaging.Connection() creates an object here; its methods may be called later',
      "api/messaging.py:16 the thread's loop sends the heartbeat here (self.send_heartbeat()) and sleeps",
      'api/app.py:3 imported from here',
      'api.wsgi:1 imported from here',
      'api.wsgi:3 WSGI entry point: the server loads api.wsgi and calls its application per request',
      'apache-api.conf:5 Apache loads it here in mod_wsgi daemon processes (WSGIScriptAlias): requests run on native threads and nothing runs the hub between them',
    ]);
    // The patch is in another file: only the fix in this file is offered.
    assert.deepEqual(f.fixes.map((x) => [x.applicability, x.title]), [
      ['unsafe', 'Create the heartbeat thread from eventlet.patcher.original("threading").Thread so it stays a native thread'],
    ]);
    assert.deepEqual(f.fixes[0].edits.map((e) => [e.range.start.line + 1, e.newText]), [
      [4, 'import eventlet\n'],
      [21, 'eventlet.patcher.original("threading").Thread'],
    ]);
  });

  test('editing the patch module to keep threads native clears the finding in messaging.py', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-apache'));
    const files = edited(s, 'api/patch.py', (t) => t.replace('eventlet.monkey_patch()', 'eventlet.monkey_patch(thread=False)'));
    assert.deepEqual(run(s, files), []);
    const model = pythonModel({ files: s.files, roots: [s.dir], projectFiles: s.projectFiles, config: DEFAULT_CONFIG });
    // One program holds both: an edit of patch.py changes what messaging.py's program shows.
    const holds = (p: (typeof model.programs)[number], f: string) => [...p.modules].some((m) => m.path === relative(ROOT, join(s.dir, f)));
    assert.ok(model.programs.some((p) => holds(p, 'api/patch.py') && holds(p, 'api/messaging.py')));
  });

  test('without the Apache configuration the .wsgi entry alone still makes it an error', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-apache'));
    const { findings } = evaluate(s.files, undefined, { roots: [s.dir], projectFiles: [] });
    const f = findings.filter((x) => x.ruleId === 'green-heartbeat');
    assert.deepEqual(f.map((x) => at(s, x)), ['green-heartbeat error api/messaging.py:22']);
    assert.equal(steps(s, f[0]).at(-1), 'api.wsgi:3 WSGI entry point: the server loads api.wsgi and calls its application per request');
  });
});

describe('py-heartbeat-uwsgi: a kombu keep-alive thread in a uWSGI module', () => {
  test('prefork uWSGI (no green loop): error with the ini line in the chain', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-uwsgi'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat error svc/broker.py:16']);
    assert.deepEqual(steps(s, findings[0]), [
      'svc/green.py:3 threads patched here (gevent.monkey.patch_all())',
      'svc/broker.py:16 heartbeat thread started here (threading.Thread.start()); it is a green thread now',
      'svc/wsgi.py:4 broker.connect() is called here',
      "svc/broker.py:8 the thread's loop sends the heartbeat here (conn.heartbeat_check()) and sleeps",
      'svc/wsgi.py:2 imported from here',
      'svc/wsgi.py:1 WSGI entry point loaded by the server configuration',
      'uwsgi.ini:2 uWSGI loads it here; its workers run no green loop, so nothing runs the hub between requests',
    ]);
    assert.equal(findings[0].fixes[0].title, 'Create the heartbeat thread from gevent.monkey.get_original("threading", "Thread") so it stays a native thread');
  });

  test('uWSGI with a gevent loop runs the hub between requests: silent', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-uwsgi-gevent'));
    assert.deepEqual(run(s), []);
  });

  test('without any server configuration the module is a library: a warning', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-uwsgi'));
    const { findings } = evaluate(s.files, undefined, { roots: [s.dir], projectFiles: [] });
    assert.deepEqual(findings.filter((x) => x.ruleId === 'green-heartbeat').map((x) => at(s, x)), ['green-heartbeat warning svc/broker.py:16']);
  });
});

describe('py-heartbeat-patch-in-tests: the patch function is only called by the test suite', () => {
  test('the served program never patches: silent', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-patch-in-tests'));
    assert.deepEqual(run(s), []);
  });

  test('once the application calls it too, the finding is there', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-patch-in-tests'));
    const files = edited(s, 'svc/wsgi.py', (t) => t.replace('from svc import green  # noqa: F401', 'from svc.green import setup_green\n\nsetup_green()'));
    assert.deepEqual(run(s, files).map((f) => at(s, f)), ['green-heartbeat error svc/broker.py:16']);
  });
});

describe('py-heartbeat-gunicorn-gevent: a gunicorn configuration with gevent workers', () => {
  test('the workers run the gevent hub: silent', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-gunicorn-gevent'));
    assert.deepEqual(run(s), []);
  });

  test('with the sync worker class the application module makes it an error', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-gunicorn-gevent'));
    const files = edited(s, 'gunicorn.conf.py', (t) => t.replace('"gevent"', '"sync"'));
    assert.deepEqual(run(s, files).map((f) => at(s, f)), ['green-heartbeat error app/wsgi.py:15']);
  });
});

describe('py-late-patch: the entry point imports a module that makes a lock before the patching module', () => {
  test('reported at the patch with the chain through main.py; the fix is display-only (another file)', () => {
    const s = load(join(PROGRAMS, 'py-late-patch'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['late-monkey-patch warning svc/green.py:3']);
    assert.equal(
      findings[0].message,
      'eventlet.monkey_patch() runs after a lock was created (threading.Lock()) at clients.py:4, and it stays native: the program mixes native and green primitives; make the patch the first statement of the entry point',
    );
    assert.deepEqual(steps(s, findings[0]), [
      'main.py:2 imported from here',
      'svc/clients.py:4 a lock was created (threading.Lock()) here, before the patch',
      'main.py:3 imported from here',
      'svc/green.py:3 patch call here (eventlet.monkey_patch())',
    ]);
    assert.deepEqual(findings[0].fixes.map((x) => x.applicability), ['display-only']);
  });

  test('swapping the two imports of main.py clears it', () => {
    const s = load(join(PROGRAMS, 'py-late-patch'));
    const files = edited(s, 'main.py', (t) => t.replace('from svc import clients\nfrom svc import green  # noqa: F401\n', 'from svc import green  # noqa: F401\nfrom svc import clients\n'));
    assert.deepEqual(run(s, files), []);
  });
});

describe('py-late-patch-package-init: the patch is the first statement of a console script, but its package imports first', () => {
  test('reported at the patch with the chain through the package __init__', () => {
    const s = load(join(PROGRAMS, 'py-late-patch-package-init'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['late-monkey-patch warning tracker/serve.py:4']);
    assert.equal(
      findings[0].message,
      'gevent.monkey.patch_all() runs after `requests` was imported at engine.py:2, and it imports urllib3, which binds the native ssl and socket names: the program mixes native and green primitives; make the patch the first statement of the entry point',
    );
    assert.deepEqual(steps(s, findings[0]), [
      'tracker/__init__.py:2 imported from here',
      'tracker/engine.py:2 `requests` was imported here, before the patch',
      'tracker/serve.py:4 patch call here (gevent.monkey.patch_all())',
    ]);
  });

  test('an empty package __init__ clears it', () => {
    const s = load(join(PROGRAMS, 'py-late-patch-package-init'));
    assert.deepEqual(run(s, edited(s, 'tracker/__init__.py', () => '')), []);
  });
});

describe('py-late-patch-command: a CLI command imports the module that patches, after the program loaded', () => {
  test('reported at the patch; the chain runs through the registered command', () => {
    const s = load(join(PROGRAMS, 'py-late-patch-command'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['late-monkey-patch warning app/push.py:4']);
    assert.equal(
      findings[0].message,
      'eventlet.monkey_patch() runs after sleep was bound with `from time import` at store.py:2, and that name keeps the native object: the program mixes native and green primitives; make the patch the first statement of the entry point',
    );
    assert.deepEqual(steps(s, findings[0]), [
      'manage.py:4 imported from here',
      'app/store.py:2 sleep was bound with `from time import` here, before the patch',
      'manage.py:13 push_server() registered by its decorator: it runs when its command, route or callback is invoked, after start-up',
      'manage.py:14 imported from here',
      'app/push.py:4 patch call here (eventlet.monkey_patch())',
    ]);
  });

  test('running the push server as a program of its own clears it', () => {
    const s = load(join(PROGRAMS, 'py-late-patch-command'));
    const files = edited(s, 'manage.py', (t) => t.replace('    from app.push import serve\n    serve()\n', '    import subprocess\n    subprocess.run(["python", "-m", "app.push"], check=True)\n'));
    assert.deepEqual(run(s, files), []);
  });
});

describe('WSGI server configurations', () => {
  test('Apache and uWSGI entries name workspace modules, with the green loop told apart', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-apache'));
    const index = pythonModel({ files: s.files, roots: [s.dir], projectFiles: [], config: DEFAULT_CONFIG }).index;
    const entries = wsgiConfigEntries(index, [
      { path: 'x/site.conf', text: 'WSGIScriptAlias /api "/srv/api/api.wsgi" process-group=api\n# WSGIScriptAlias / /nowhere.wsgi\n' },
      { path: 'x/uwsgi.ini', text: '[uwsgi]\nwsgi-file = api.wsgi\nloop = gevent\n[other]\nmodule = api.app\n' },
      { path: 'x/app.ini', text: '[uwsgi]\nmodule = api.app:make_app()\n' },
      { path: 'x/tox.ini', text: '[tox]\nmodule = api.app\n' },
    ]);
    assert.deepEqual(
      entries.map((e) => [e.server, relative(s.dir, join(ROOT, e.module.path)), e.green, e.step.range.start.line]),
      [
        ['apache', 'api.wsgi', false, 0],
        ['uwsgi', 'api.wsgi', true, 1],
        ['uwsgi', 'api/app.py', false, 1],
      ],
    );
  });
});

describe('example py-eventlet-heartbeat-wsgi (incident 4)', () => {
  test('incident/ is reported with its chain, fixed/ stays silent', () => {
    const s = load(join(EXAMPLES, 'py-eventlet-heartbeat-wsgi'));
    const findings = evaluate(s.files, undefined, { roots: [s.dir], projectFiles: s.projectFiles }).findings;
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat error incident/compute_api/amqp.py:26']);
    assert.deepEqual(steps(s, findings[0]), [
      'incident/compute_api/monkey_patch.py:7 threads patched here (eventlet.monkey_patch())',
      'incident/compute_api/amqp.py:26 heartbeat thread started here (threading.Thread.start()); it is a green thread now',
      'incident/compute-api.wsgi:4 wsgi_app.init_application() is called here',
      'incident/compute_api/wsgi_app.py:6 rpc.init() is called here',
      'incident/compute_api/rpc.py:9 amqp.RabbitConnection() creates an object here; its methods may be called later',
      "incident/compute_api/amqp.py:18 the thread's loop sends the heartbeat here (self.connection.heartbeat_check()) and sleeps",
      'incident/compute_api/rpc.py:2 imported from here',
      'incident/compute_api/wsgi_app.py:2 imported from here',
      'incident/compute-api.wsgi:2 imported from here',
      'incident/compute-api.wsgi:4 WSGI entry point: the server loads compute-api.wsgi and calls its application per request',
      'incident/compute-api.conf:8 Apache loads it here in mod_wsgi daemon processes (WSGIScriptAlias): requests run on native threads and nothing runs the hub between them',
    ]);
  });

  test('the CLI reports the incident with the full chain and fails the run', () => {
    ensureBuilt();
    const r = runCli(['scan', 'py-eventlet-heartbeat-wsgi', '--format', 'json', '--quiet'], { cwd: EXAMPLES });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { findings: { ruleId: string; severity: string; path: string; range: { start: { line: number } }; related: { path: string; range: { start: { line: number } } }[] }[] };
    assert.deepEqual(
      report.findings.map((f) => `${f.ruleId} ${f.severity} ${f.path}:${f.range.start.line}`),
      ['green-heartbeat error py-eventlet-heartbeat-wsgi/incident/compute_api/amqp.py:26'],
    );
    assert.deepEqual(
      report.findings[0].related.map((x) => `${x.path.replace('py-eventlet-heartbeat-wsgi/incident/', '')}:${x.range.start.line}`),
      ['compute_api/monkey_patch.py:7', 'compute_api/amqp.py:26', 'compute-api.wsgi:4', 'compute_api/wsgi_app.py:6', 'compute_api/rpc.py:9', 'compute_api/amqp.py:18', 'compute_api/rpc.py:2', 'compute_api/wsgi_app.py:2', 'compute-api.wsgi:2', 'compute-api.wsgi:4', 'compute-api.conf:8'],
    );
  });
});

describe('py-heartbeat-wait-in-helper: the keep-alive loop waits inside the helpers it calls (the shape of the oslo author\'s reproducer)', () => {
  test('a warning at the thread start whose chain names the loop and the wait two calls down', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-wait-in-helper'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat warning beacon/link.py:12']);
    assert.deepEqual(steps(s, findings[0]), [
      'beacon/__main__.py:14 threads patched here (eventlet.monkey_patch())',
      'beacon/link.py:12 heartbeat thread started here (threading.Thread.start()); it is a green thread now',
      'beacon/__main__.py:19 main() is called here',
      'beacon/__main__.py:15 link.Link() is called here',
      "beacon/link.py:22 the thread's loop sends the heartbeat here (self._keepalive_tick()) and waits in self._keepalive_tick() (time.sleep() at line 15)",
      'beacon/__main__.py:6 imported from here',
    ]);
  });

  test('silent when the thread comes from the unpatched original threading module', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-wait-in-helper-native'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-late-patch-test-entry: a unit test imports a library before the patched service', () => {
  test('the test runner is not how the service starts: silent, while the entry point patches first', () => {
    const s = load(join(PROGRAMS, 'py-late-patch-test-entry'));
    assert.deepEqual(run(s).map((f) => at(s, f)), []);
  });
});

describe('py-heartbeat-unused-launcher: a green launcher defined in an imported module but never called by the WSGI entry', () => {
  test('does not keep the hub running: the transport is an error under the WSGI server', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-unused-launcher'));
    const findings = run(s);
    assert.deepEqual(findings.map((f) => at(s, f)), ['green-heartbeat error svc/app.py:8']);
    assert.deepEqual(steps(s, findings[0]), [
      'svc/service.py:5 threads patched here (eventlet.monkey_patch())',
      'svc/app.py:8 transport created here (oslo_messaging.get_rpc_transport()); its RabbitMQ driver runs a heartbeat thread for every connection it opens, green now',
      'api.wsgi:3 app.build() is called here',
      'svc/app.py:16 a transport is used here, in a module the program loads: orders.cast() sends an RPC cast (an RPC client); the request handlers its web framework calls are not followed, so a use in its modules is taken as what a request may do',
      'api.wsgi:1 imported from here',
      'api.wsgi:3 WSGI entry point: the server loads api.wsgi and calls its application per request',
    ]);
  });
});

describe('py-heartbeat-transport-use: a transport opens its connection (and heartbeat) only when used', () => {
  const RPC = 'ledger/common/rpc.py';
  test('the WSGI API reaches a cast through its request hook: an error at the transport, with the calls to the use', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-transport-use'));
    const findings = run(s);
    // The notification transport is never used by a notifier the API reaches: silent.
    assert.deepEqual(findings.map((f) => at(s, f)), [`green-heartbeat error ${RPC}:11`]);
    assert.match(findings[0].message, /^oslo_messaging\.get_rpc_transport\(\) creates a transport whose heartbeat thread starts when the program first uses it \(cctxt\.cast\(\) sends an RPC cast \(an RPC client, made by get_client\(\)\)\)/);
    assert.deepEqual(steps(s, findings[0]), [
      'ledger/common/service.py:5 threads patched here (eventlet.monkey_patch())',
      `${RPC}:11 transport created here (oslo_messaging.get_rpc_transport()); its RabbitMQ driver runs a heartbeat thread for every connection it opens, green now`,
      'ledger/api/app.wsgi:6 service.prepare() is called here',
      'ledger/common/service.py:12 rpc.init() is called here',
      'ledger/api/app.wsgi:8 app.Application() is called here',
      'ledger/api/app.py:7 hooks.WorkerHook() creates an object here; its methods may be called later',
      'ledger/api/hooks.py:7 rpcapi.WorkerAPI() creates an object here; its methods may be called later',
      'ledger/api/rpcapi.py:11 the transport is first used here: cctxt.cast() sends an RPC cast (an RPC client, made by get_client()), which opens a connection and starts its heartbeat thread',
      'ledger/common/service.py:7 imported from here',
      'ledger/api/app.wsgi:4 imported from here',
      'ledger/api/app.wsgi:8 WSGI entry point: the server loads app.wsgi and calls its application per request',
    ]);
  });

  test('the console script that only sets the transports up is silent', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-transport-use'));
    const withoutApi = s.files.filter((f) => !f.path.endsWith('app.wsgi'));
    assert.deepEqual(run(s, withoutApi).map((f) => at(s, f)), []);
  });

  test('once the console script sends a notification, its notification transport is reported (a warning: no WSGI server)', () => {
    const s = load(join(PROGRAMS, 'py-heartbeat-transport-use'));
    const files = edited(s, 'ledger/cmd/manage.py', (t) =>
      t.replace('    upgrade(conf)\n', '    upgrade(conf)\n    rpc.get_notifier("manage").info({}, "schema.upgraded", {})\n').replace('from ledger.common import service\n', 'from ledger.common import rpc, service\n'),
    ).filter((f) => !f.path.endsWith('app.wsgi'));
    const findings = run(s, files);
    assert.deepEqual(findings.map((f) => at(s, f)), [`green-heartbeat warning ${RPC}:12`]);
    assert.deepEqual(steps(s, findings[0]), [
      'ledger/common/service.py:5 threads patched here (eventlet.monkey_patch())',
      `${RPC}:12 transport created here (oslo_messaging.get_notification_transport()); its RabbitMQ driver runs a heartbeat thread for every connection it opens, green now`,
      "setup.cfg:6 console script 'ledger-manage' calls ledger.cmd.manage:main",
      'ledger/cmd/manage.py:13 service.prepare() is called here',
      'ledger/common/service.py:12 rpc.init() is called here',
      'ledger/cmd/manage.py:15 the transport is first used here: rpc.get_notifier("manage").info() sends a notification (a notifier, made by get_notifier()), which opens a connection and starts its heartbeat thread',
      'ledger/cmd/manage.py:5 imported from here',
    ]);
  });
});

describe('transport-use facts: what a file tells about the uses of a messaging transport', () => {
  test('sends through clients and notifiers, wrappers, lazy attributes and transport internals', () => {
    const text = [
      'import logging',
      'import oslo_messaging as om',
      'from svc import rpc',
      'LOG = logging.getLogger(__name__)',
      'NOTIFIER = None',
      '',
      'def init(conf):',
      '    global NOTIFIER',
      '    t = om.get_notification_transport(conf)',
      '    NOTIFIER = om.Notifier(t)',
      '    t._driver._get_connection()',
      '',
      'def get_notifier():',
      '    return NOTIFIER.prepare(publisher_id="x")',
      '',
      'class API:',
      '    def __init__(self):',
      '        self.client = rpc.get_client("jobs")',
      '    def go(self, ctx):',
      '        LOG.info("going")',
      '        cctxt = self.client.prepare(version="1.1")',
      '        cctxt.cast(ctx, "go")',
      '        self.lazy.call(ctx, "ping")',
      '        om.Notifier(None).prepare().error(ctx, "e", {})',
    ].join('\n');
    const facts = (analyzeText('/ws/m.py', text)!.facts as { kind: string; range: { start: { line: number } } }[])
      .filter((f) => f.kind === 'py.transport-use' || f.kind === 'py.returns-transport-user' || f.kind === 'py.hb-connection')
      .map((f) => {
        const { range, kind, ...rest } = f as unknown as Record<string, unknown> & { range: { start: { line: number } }; kind: string };
        delete rest.enclosingFunction;
        return `${range.start.line + 1} ${kind} ${JSON.stringify(rest)}`;
      });
    assert.deepEqual(facts, [
      '9 py.hb-connection {"api":"oslo_messaging.get_notification_transport()","library":"oslo.messaging","background":true,"onUse":true,"usedBy":"notification","note":"its RabbitMQ driver runs a heartbeat thread for every connection it opens"}',
      '11 py.transport-use {"call":"t._driver._get_connection()","method":"_driver._get_connection","user":"transport"}',
      '14 py.returns-transport-user {"user":"oslo_messaging.Notifier"}',
      '22 py.transport-use {"call":"cctxt.cast()","method":"cast","producer":{"name":"svc.rpc.get_client","origin":"import"}}',
      '23 py.transport-use {"call":"self.lazy.call()","method":"call","producer":{"name":"API.lazy","origin":"local"}}',
      '24 py.transport-use {"call":"om.Notifier(None).prepare().error()","method":"error","user":"oslo_messaging.Notifier"}',
    ]);
  });
});
