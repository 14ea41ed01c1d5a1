/**
 * The pieces of the Python program model on their own: project-file readers (console
 * scripts), module naming and resolution (packages, namespace packages, src/ layouts,
 * relative imports, re-exports, star imports), entry points, the facts one file yields, and
 * what the incremental model records of its reads (the touch tracker, name resolutions kept
 * across an edit).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import type { FileAnalysis } from '../../server/src/analysis/results';
import type { PythonFact } from '../../server/src/facts/python/program-facts';
import { PythonModelCache } from '../../server/src/model/python';
import { PyModuleIndex, TouchTracker, type PyModule } from '../../server/src/model/python-modules';
import { pyprojectEntryPoints, setupCfgEntryPoints, type EntryPoint } from '../../server/src/model/python-project';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

const isScript = (e: EntryPoint) => e.kind === 'console' || e.kind === 'gui';

function analyse(files: Record<string, string>): FileAnalysis[] {
  return Object.entries(files).map(([path, text]) => {
    const a = analyzeText(path, text);
    assert.ok(a, path);
    return a;
  });
}

function facts(text: string): PythonFact[] {
  return analyzeText('/ws/m.py', text)!.facts as PythonFact[];
}

describe('console scripts from project files', () => {
  test('pyproject.toml: [project.scripts], gui-scripts, poetry, inline tables, comments', () => {
    const text = [
      '[project]',
      'name = "x"',
      'gui-scripts = { "x-gui" = "x.gui:run" }',
      '',
      '[project.scripts]',
      '# a comment',
      'x = "x.cli:main"   # trailing comment',
      '"x-admin" = \'x.admin:App.run [extra]\'',
      'bad = 42',
      '',
      '[tool.poetry.scripts]',
      'px = "x.p:go"',
      'pc = { callable = "x.pc:start" }',
      '',
      '[tool.other]',
      'y = "not.a:script"',
    ].join('\n');
    assert.deepEqual(
      pyprojectEntryPoints('pyproject.toml', text).entries.filter(isScript).map((s) => [s.name, s.module, s.object, s.range.start.line + 1]),
      [
        ['x-gui', 'x.gui', 'run', 3],
        ['x', 'x.cli', 'main', 7],
        ['x-admin', 'x.admin', 'App.run', 8],
        ['px', 'x.p', 'go', 12],
        ['pc', 'x.pc', 'start', 13],
      ],
    );
  });

  test('setup.cfg: console_scripts and gui_scripts under [options.entry_points]', () => {
    const text = [
      '[metadata]',
      'name = x',
      '',
      '[options.entry_points]',
      'console_scripts =',
      '    x = x.cli:main',
      '    x-dev = x.dev:main [dev]',
      'gui_scripts = xg = x.gui:run',
      'other.group =',
      '    y = y:z',
      '',
      '[options]',
      'packages = find:',
    ].join('\n');
    assert.deepEqual(
      setupCfgEntryPoints('setup.cfg', text).entries.filter(isScript).map((s) => [s.name, s.module, s.object, s.range.start.line + 1]),
      [
        ['x', 'x.cli', 'main', 6],
        ['x-dev', 'x.dev', 'main', 7],
        ['xg', 'x.gui', 'run', 8],
      ],
    );
  });
});

describe('module naming and resolution', () => {
  const files = () =>
    analyse({
      '/ws/src/pkg/__init__.py': 'from .impl import start\nfrom .helpers import *\n',
      '/ws/src/pkg/impl.py': 'def start():\n    pass\n',
      '/ws/src/pkg/helpers.py': 'def helper():\n    pass\nclass Tool:\n    def run(self):\n        pass\n',
      '/ws/src/pkg/sub/__init__.py': '',
      '/ws/src/pkg/sub/deep.py': 'from ..impl import start as go\nfrom .. import helpers\n',
      '/ws/ns/plugins/alpha.py': 'def load():\n    pass\n',
      '/ws/app.py': 'import pkg\nimport ns.plugins.alpha as alpha\nfrom pkg.sub import deep\n',
    });

  test('src/ layout packages, namespace packages and plain modules get their dotted names', () => {
    const index = new PyModuleIndex(files(), ['/ws']);
    const names = (p: string) => index.byPath(p)!.names;
    assert.ok(names('/ws/src/pkg/__init__.py').includes('pkg'));
    assert.ok(names('/ws/src/pkg/sub/deep.py').includes('pkg.sub.deep'));
    assert.ok(names('/ws/ns/plugins/alpha.py').includes('ns.plugins.alpha'));
    assert.deepEqual(names('/ws/app.py'), ['app']);
    assert.deepEqual(
      index.byPath('/ws/src/pkg/sub/deep.py')!.parents.map((m) => m.abs),
      ['/ws/src/pkg/__init__.py', '/ws/src/pkg/sub/__init__.py'],
    );
  });

  test('absolute, relative, re-exported and star-imported names resolve to workspace functions', () => {
    const index = new PyModuleIndex(files(), ['/ws']);
    const app = index.byPath('/ws/app.py')!;
    const deep = index.byPath('/ws/src/pkg/sub/deep.py')!;
    const where = (sym: ReturnType<PyModuleIndex['resolve']>) => (sym && sym.kind !== 'module' ? `${sym.module.abs}#${sym.name}` : sym?.kind === 'module' ? sym.module.abs : undefined);
    assert.equal(where(index.resolve(app, 'pkg.start', 'import')), '/ws/src/pkg/impl.py#start');
    assert.equal(where(index.resolve(app, 'pkg.helper', 'import')), '/ws/src/pkg/helpers.py#helper');
    assert.equal(where(index.resolve(app, 'pkg.Tool.run', 'import')), '/ws/src/pkg/helpers.py#Tool.run');
    assert.equal(where(index.resolve(app, 'ns.plugins.alpha.load', 'import')), '/ws/ns/plugins/alpha.py#load');
    assert.equal(where(index.resolve(deep, '..impl.start', 'import')), '/ws/src/pkg/impl.py#start');
    assert.equal(where(index.resolve(deep, '..helpers', 'import')), '/ws/src/pkg/helpers.py');
    assert.equal(index.resolve(app, 'os.fork', 'import'), undefined);
  });
});

describe('entry points', () => {
  test('__main__ guards, package __main__.py, *.wsgi files, module-level application objects, library roots', () => {
    const model = new PythonModelCache().model({
      files: analyse({
        '/ws/tool/__init__.py': '',
        '/ws/tool/__main__.py': 'from . import core\ncore.run()\n',
        '/ws/tool/core.py': 'def run():\n    pass\n',
        '/ws/site.wsgi': 'from web import app as application\n',
        '/ws/web.py': 'def app(environ, start_response):\n    return []\n',
        '/ws/wsgi_app.py': 'def _app(environ, start_response):\n    return []\napplication = _app\n',
        '/ws/script.py': 'def main():\n    pass\nif __name__ == "__main__":\n    main()\n',
        '/ws/lib/util.py': 'def helper():\n    pass\n',
      }),
      roots: ['/ws'],
      projectFiles: [],
      config: DEFAULT_CONFIG,
    });
    assert.deepEqual(
      model.programs.map((p) => [p.root.module.abs, p.root.kind]),
      [
        ['/ws/script.py', 'main'],
        ['/ws/site.wsgi', 'wsgi'],
        ['/ws/tool/__main__.py', 'dunder-main'],
        ['/ws/wsgi_app.py', 'application'],
        ['/ws/lib/util.py', 'library'],
      ],
    );
    const tool = model.programs.find((p) => p.root.kind === 'dunder-main')!;
    assert.deepEqual([...tool.modules].map((m) => m.abs).sort(), ['/ws/tool/__init__.py', '/ws/tool/__main__.py', '/ws/tool/core.py']);
  });
});

describe('facts of one file', () => {
  test('in a module that star-imports, a called name bound nowhere else is a name of the module (a builtin\'s name stays a builtin)', () => {
    const calls = (text: string) => facts(text).flatMap((x) => (x.kind === 'py.call' ? [`${x.callee} ${x.origin}`] : []));
    const body = ['def serve(job, on_exit):', '    spawn_child(job)', '    print(len(job))', '    Worker(job).run()', '    fh = open(job)', '    fh.close()', '    done = make_done()', '    done()', '    on_exit()'];
    // A dotted name (`fh.close`), a name the function binds to a call (`done`) and a parameter (`on_exit`) are not the star's.
    assert.deepEqual(calls(['from relay import *', ...body].join('\n')), ['spawn_child local', 'Worker local', 'make_done local']);
    // Without the star import those names are nobody's: no call facts.
    assert.deepEqual(calls(body.join('\n')), []);
  });

  test('imports: levels, aliases, names, conditional and function-level imports', () => {
    const f = facts(
      [
        'import os.path as p, threading',
        'from ..pkg import mod as m, other',
        'from . import sibling',
        'try:',
        '    import ujson as json',
        'except ImportError:',
        '    import json',
        'from typing import TYPE_CHECKING',
        'if TYPE_CHECKING:',
        '    import never_run',
        'def f():',
        '    import late',
      ].join('\n'),
    ).filter((x) => x.kind === 'py.import');
    assert.deepEqual(
      f.map((x) => (x.kind === 'py.import' ? [x.module, x.level, x.boundName ?? (x.names ?? []).map((n) => n.alias ?? n.name).join(','), x.enclosingFunction, !!x.conditional] : [])),
      [
        ['os.path', 0, 'p', '', false],
        ['threading', 0, 'threading', '', false],
        ['pkg', 2, 'm,other', '', false],
        ['', 1, 'sibling', '', false],
        ['ujson', 0, 'json', '', true],
        ['json', 0, 'json', '', true],
        ['typing', 0, 'TYPE_CHECKING', '', false],
        ['late', 0, 'late', 'f', false],
      ],
    );
  });

  test('fork sites know what the child does', () => {
    const f = facts(
      [
        'import os, pty',
        'def a(cmd):',
        '    pid = os.fork()',
        '    if pid == 0:',
        '        os.execvp(cmd[0], cmd)',
        '    return pid',
        'def b():',
        '    if os.fork():',
        '        os._exit(0)',
        '    os.setsid()',
        '    if os.fork() > 0:',
        '        os._exit(0)',
        'def c(job):',
        '    if not os.fork():',
        '        job()',
        '        os._exit(0)',
        'def d():',
        '    pid, fd = pty.fork()',
        '    if pid == 0:',
        '        os.execv("/bin/sh", ["sh"])',
      ].join('\n'),
    ).filter((x) => x.kind === 'py.fork');
    assert.deepEqual(
      f.map((x) => (x.kind === 'py.fork' ? [x.enclosingFunction, x.range.start.line + 1, x.child, !!x.parentExits, !!x.inChild, !!x.daemonize] : [])),
      [
        ['a', 3, 'exec', false, false, false],
        ['b', 8, 'continues', true, false, true],
        ['b', 11, 'continues', true, true, false],
        ['c', 14, 'continues', false, false, false],
        ['d', 18, 'exec', false, false, false],
      ],
    );
  });

  test('multiprocessing start methods: default, explicit context, mp_context, unknown', () => {
    const f = facts(
      [
        'import multiprocessing as mp',
        'from concurrent.futures import ProcessPoolExecutor',
        'def run(method):',
        '    mp.Process(target=run).start()',
        '    ctx = mp.get_context("spawn")',
        '    ctx.Pool(2)',
        '    ProcessPoolExecutor(mp_context=mp.get_context("fork"))',
        '    mp.get_context(method).Process(target=run).start()',
      ].join('\n'),
    ).filter((x) => x.kind === 'py.fork');
    assert.deepEqual(
      f.map((x) => (x.kind === 'py.fork' ? [x.api, x.startMethod, x.fix?.kind] : [])),
      [
        ['multiprocessing.Process.start()', 'default', 'callee'],
        ['multiprocessing.get_context().Pool()', 'spawn', undefined],
        ['concurrent.futures.ProcessPoolExecutor()', 'fork', 'literal'],
        ['multiprocessing.get_context().Process.start()', 'unknown', undefined],
      ],
    );
  });

  test('descriptor caches: module, class, global, lazily opened; re-validation; at-fork handlers', () => {
    const f = facts(
      [
        'import os, socket',
        '_fd = os.open("/dev/urandom", os.O_RDONLY)',
        'class C:',
        '    sock = socket.socket()',
        '_lazy = None',
        'def get():',
        '    global _lazy',
        '    if _lazy is None:',
        '        _lazy = open("/dev/urandom", "rb")',
        '    st = os.fstat(_lazy.fileno())',
        '    return st.st_ino',
        'def reset():',
        '    global _fd',
        '    _fd = -1',
        'os.register_at_fork(after_in_child=reset)',
      ].join('\n'),
    );
    assert.deepEqual(
      f.filter((x) => x.kind === 'py.fd-cache').map((x) => (x.kind === 'py.fd-cache' ? [x.name, x.storage, x.api, x.lazy] : [])),
      [
        ['_fd', 'module', 'os.open()', false],
        ['C.sock', 'class', 'socket.socket()', false],
        ['_lazy', 'global', 'open()', true],
      ],
    );
    const reval = f.find((x) => x.kind === 'py.fd-revalidate');
    assert.ok(reval?.kind === 'py.fd-revalidate' && reval.names.includes('_lazy'));
    const atFork = f.find((x) => x.kind === 'py.at-fork');
    assert.ok(atFork?.kind === 'py.at-fork' && atFork.handler === 'reset' && atFork.origin === 'local');
    const reset = f.find((x) => x.kind === 'py.function' && x.name === 'reset');
    assert.ok(reset?.kind === 'py.function' && reset.globalAssigns?.includes('_fd'));
  });

  test('at-fork handlers: lambda, bound method, functools.partial, register_after_fork, self method; what functions reset', () => {
    const f = facts(
      [
        'import functools, os',
        'from multiprocessing import util',
        'import store',
        'def forget(pool, extra):',
        '    pool.clear()',
        '    os.close(extra)',
        '    store._conns.close()',
        'def rebind():',
        '    cache = {}',
        '    def again():',
        '        nonlocal cache',
        '        cache = {}',
        '    local = open("x")',
        '    local.close()',
        'os.register_at_fork(after_in_child=lambda: store.reset())',
        'os.register_at_fork(after_in_child=_pool.clear)',
        'os.register_at_fork(after_in_child=functools.partial(forget, _pool))',
        'util.register_after_fork(_sock, lambda s: s.close())',
        'os.register_at_fork(after_in_parent=_pool.clear)',
        'class Pool:',
        '    def __init__(self):',
        '        os.register_at_fork(after_in_child=self._reset)',
        '    def _reset(self):',
        '        self._conns.clear()',
      ].join('\n'),
    );
    const fn = (name: string) => f.find((x) => x.kind === 'py.function' && x.name === name);
    const forget = fn('forget');
    assert.ok(forget?.kind === 'py.function');
    assert.deepEqual([forget.resets, forget.resetParameters], [[{ name: 'store._conns', origin: 'import' }], [0, 1]]);
    const again = fn('rebind.again');
    assert.ok(again?.kind === 'py.function');
    assert.deepEqual(again.resets, [{ name: 'cache', origin: 'builtin' }]);
    const rebind = fn('rebind');
    assert.ok(rebind?.kind === 'py.function' && rebind.resets === undefined, 'a local closed in its own function is not a reset');
    assert.deepEqual(
      f.filter((x) => x.kind === 'py.at-fork').map((x) => (x.kind === 'py.at-fork' ? [x.handler, x.origin, x.bound, x.resets] : [])),
      [
        ['store.reset', 'import', undefined, undefined],
        ['_pool.clear', 'builtin', undefined, [{ name: '_pool', origin: 'builtin' }]],
        ['forget', 'local', [{ name: '_pool', origin: 'builtin' }], undefined],
        [undefined, undefined, undefined, [{ name: '_sock', origin: 'builtin' }]],
        ['Pool._reset', 'local', [null], undefined],
      ],
    );
  });

  test('tests that patch a fork call: decorators on the test or its class, with-blocks, monkeypatch', () => {
    const f = facts(
      [
        'import os',
        'import mock',
        'from unittest.mock import patch',
        '@patch("os.fork")',
        'class TestDaemon:',
        '    def test_a(self, fork):',
        '        pass',
        'def test_b():',
        '    with mock.patch("pty.fork"):',
        '        pass',
        'def test_c(monkeypatch):',
        '    monkeypatch.setattr("os.forkpty", None)',
        '@mock.patch("os.getpid")',
        'def test_d(getpid):',
        '    pass',
      ].join('\n'),
    );
    assert.deepEqual(
      f.filter((x) => x.kind === 'py.function').map((x) => (x.kind === 'py.function' ? [x.name, x.patchedForks] : [])),
      [
        ['TestDaemon.test_a', ['os.fork']],
        ['test_b', ['pty.fork']],
        ['test_c', ['os.forkpty']],
        ['test_d', undefined],
      ],
    );
  });

  test('extraction never throws on broken code', () => {
    const a = analyzeText('/ws/broken.py', 'def f(:\n    os.fork(\nclass\n  x = = 1\n');
    assert.ok(a);
    assert.deepEqual(a.notes, []);
  });
});

describe('reads recorded for the incremental model', () => {
  const mod = (abs: string) => ({ abs }) as unknown as PyModule;

  test('a memo list added at one level is still added to a computation opened after it', () => {
    const [a, b, c] = [mod('/a.py'), mod('/b.py'), mod('/c.py')];
    const shared = [a, b];
    const t = new TouchTracker();
    t.begin();
    t.add(shared);
    t.begin();
    t.add(shared);
    t.add(shared);
    t.touch(c);
    assert.deepEqual(t.end().map((m) => m.abs), ['/a.py', '/b.py', '/c.py']);
    t.add([c]);
    assert.deepEqual(t.end().map((m) => m.abs), ['/a.py', '/b.py', '/c.py']);
  });

  // a.py and b.py star-import each other; only c.py (star-imported by b.py) defines `x`.
  const cycle = () =>
    analyse({
      '/ws/a.py': 'from b import *\n',
      '/ws/b.py': 'from a import *\nfrom c import *\n',
      '/ws/c.py': 'def x():\n    pass\n',
      '/ws/d.py': 'def y():\n    pass\n',
      '/ws/app.py': 'from d import y\n',
    });
  const where = (sym: ReturnType<PyModuleIndex['resolve']>) => (sym && sym.kind !== 'module' ? `${sym.module.abs}#${sym.name}` : undefined);
  /** From now on, the module members `index` looks up (`module:name`), as they happen. */
  const recordLookups = (index: PyModuleIndex): string[] => {
    const looked: string[] = [];
    const member = index.member.bind(index);
    index.member = (m, segments, depth) => {
      looked.push(`${m.abs}:${segments.join('.')}`);
      return member(m, segments, depth);
    };
    return looked;
  };

  test('an edit drops the resolutions that read the edited module, those cut by a cycle included, and keeps the others', () => {
    const files = cycle();
    const index = new PyModuleIndex(files, ['/ws']);
    index.tracker = new TouchTracker();
    const [a, b, app] = ['/ws/a.py', '/ws/b.py', '/ws/app.py'].map((p) => index.byPath(p)!);
    // Asked first, `x` in a.py finds c's `x`. Inside that, `a.x` in b.py met the lookup of
    // `b.x` in a.py in progress and got nothing: a fresh index asked `a.x` first finds c's.
    assert.equal(where(index.resolve(a, 'x', 'local')), '/ws/c.py#x');
    assert.equal(where(index.resolve(b, 'a.x', 'import')), undefined);
    const fresh = new PyModuleIndex(files, ['/ws']);
    assert.equal(where(fresh.resolve(fresh.byPath('/ws/b.py')!, 'a.x', 'import')), '/ws/c.py#x');
    assert.equal(where(index.resolve(app, 'd.y', 'import')), '/ws/d.py#y');
    const looked = recordLookups(index);
    // The same text analysed again (new facts for a.py): the cut answer is dropped with the
    // others that read a.py, and asked first now, `a.x` gets what a fresh index gives.
    index.updateFacts(a, analyse({ '/ws/a.py': 'from b import *\n' })[0]);
    assert.equal(where(index.resolve(b, 'a.x', 'import')), '/ws/c.py#x');
    assert.ok(looked.includes('/ws/a.py:x'), looked.join(' '));
    // `d.y` read d.py only: kept, not looked up again.
    looked.length = 0;
    assert.equal(where(index.resolve(app, 'd.y', 'import')), '/ws/d.py#y');
    assert.deepEqual(looked, []);
  });

  test('without a recording tracker, an edit drops every resolution', () => {
    const index = new PyModuleIndex(cycle(), ['/ws']);
    const [a, app] = ['/ws/a.py', '/ws/app.py'].map((p) => index.byPath(p)!);
    assert.equal(where(index.resolve(app, 'd.y', 'import')), '/ws/d.py#y');
    index.tracker = new TouchTracker();
    const looked = recordLookups(index);
    index.updateFacts(a, analyse({ '/ws/a.py': 'def x():\n    pass\n' })[0]);
    assert.equal(where(index.resolve(app, 'd.y', 'import')), '/ws/d.py#y');
    assert.deepEqual(looked, ['/ws/d.py:y']);
  });
});
