/**
 * Entry points a Python project declares, read statically from each format: `pyproject.toml`
 * (PEP 621 scripts and entry-points, Poetry scripts and plugins), `setup.cfg` (setuptools
 * `[options.entry_points]`, pbr `[entry_points]`), `setup.py` (literal `entry_points=` read
 * from the syntax tree), and `*.egg-info` / `*.dist-info` `entry_points.txt`; what the
 * program model makes of them (console scripts, pbr WSGI scripts, plugin entries); and notes,
 * never exceptions, for what cannot be read.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { FileAnalysis } from '../../server/src/analysis/results';
import type { PythonFact } from '../../server/src/facts/python/program-facts';
import { PythonModelCache, type PythonModel } from '../../server/src/model/python';
import {
  entryPointsTxt,
  isEntryPointsTxt,
  projectEntryPoints,
  pyprojectEntryPoints,
  setupCfgEntryPoints,
  setupPyEntryPoints,
  type EntryPoint,
} from '../../server/src/model/python-project';
import { collectProjectFiles, isProjectFileName, readProjectFile } from '../../server/src/scan/project-files';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

/** `group kind name module:object @line` (1-based). */
function show(entries: readonly EntryPoint[]): string[] {
  return entries.map((e) => `${e.group} ${e.kind} ${e.name} ${e.module}:${e.object} @${e.range.start.line + 1}`);
}

function analyse(files: Record<string, string>): FileAnalysis[] {
  return Object.entries(files).map(([p, text]) => {
    const a = analyzeText(p, text);
    assert.ok(a, p);
    return a;
  });
}

function setupPy(text: string): ReturnType<typeof setupPyEntryPoints> {
  const a = analyzeText('/ws/setup.py', text)!;
  const mod = (a.facts as PythonFact[]).find((f) => f.kind === 'py.module');
  assert.ok(mod?.kind === 'py.module');
  return setupPyEntryPoints('/ws/setup.py', mod.setupEntryPoints ?? { entries: [], notes: [] });
}

describe('pyproject.toml', () => {
  test('scripts, gui-scripts, entry-points groups (quoted, dotted, inline), Poetry scripts and plugins', () => {
    const text = [
      '[project]',
      'name = "svc"',
      'gui-scripts = { "svc-gui" = "svc.gui:run" }',
      '',
      '[project.scripts]',
      'svc = "svc.cli:main"',
      '',
      '[project.entry-points."oslo.messaging.drivers"]',
      'rabbit = "svc.drivers.rabbit:RabbitDriver"',
      '',
      "[project.entry-points.'wsgi_scripts']",
      'svc-api = "svc.api:init_application"',
      '',
      '[project.entry-points]',
      '"svc.hooks" = { pre = "svc.hooks:pre", post = "svc.hooks:post" }',
      '',
      '[tool.poetry.scripts]',
      'psvc = { callable = "svc.p:go" }',
      '',
      '[tool.poetry.plugins."svc.plugins"]',
      '"alpha" = "svc.plugins.alpha"',
      '',
      '[tool.poetry.plugins]',
      '"beta.group" = { b = "svc.beta:B" }',
      '',
      '[tool.other]',
      'x = "not.an:entry"',
    ].join('\n');
    const read = pyprojectEntryPoints('/ws/pyproject.toml', text);
    assert.deepEqual(show(read.entries), [
      'gui_scripts gui svc-gui svc.gui:run @3',
      'console_scripts console svc svc.cli:main @6',
      'oslo.messaging.drivers plugin rabbit svc.drivers.rabbit:RabbitDriver @9',
      'wsgi_scripts wsgi svc-api svc.api:init_application @12',
      'svc.hooks plugin pre svc.hooks:pre @15',
      'svc.hooks plugin post svc.hooks:post @15',
      'console_scripts console psvc svc.p:go @18',
      'svc.plugins plugin alpha svc.plugins.alpha: @21',
      'beta.group plugin b svc.beta:B @24',
    ]);
    assert.deepEqual(read.notes, []);
  });

  test('values it cannot read are notes with the line, never guesses or exceptions', () => {
    const text = [
      '[project.scripts]',
      'bad = 42',
      'worse = "not a reference"',
      '[project.entry-points."unterminated]',
      'x = "a:b"',
      '[project.entry-points."ok"]',
      'y = "m:f"',
    ].join('\n');
    const read = pyprojectEntryPoints('/ws/pyproject.toml', text);
    assert.deepEqual(show(read.entries), ['ok plugin y m:f @7']);
    assert.deepEqual(read.notes, [
      "pyproject.toml:2: entry point 'bad' of group 'console_scripts' is not a string (or a table with callable =); not read",
      "pyproject.toml:3: entry point 'worse' of group 'console_scripts' has the value 'not a reference', which is not 'module:attr'; not read",
      'pyproject.toml:4: table header [project.entry-points."unterminated] cannot be read; its entries are not read',
    ]);
    // Garbage does not throw.
    assert.doesNotThrow(() => pyprojectEntryPoints('/ws/pyproject.toml', '[[[\n= =\n[project.scripts\n"x = \n\u0000'));
  });
});

describe('setup.cfg', () => {
  test('pbr [entry_points]: console_scripts, wsgi_scripts and plugin groups; setuptools [options.entry_points]', () => {
    const text = [
      '[metadata]',
      'name = svc',
      '',
      '[entry_points]',
      'console_scripts =',
      '    svc-agent = svc.cmd.agent:main',
      '    svc-manage = svc.cmd.manage:main  # comment',
      'wsgi_scripts =',
      '    svc-api-wsgi = svc.api.wsgi:init_application',
      'oslo.messaging.drivers =',
      '    rabbit = svc.drivers.impl_rabbit:RabbitDriver',
      'oslo.config.opts = svc = svc.opts:list_opts',
      '',
      '[options.entry_points]',
      'gui_scripts =',
      '    svc-gui = svc.gui:run [qt]',
    ].join('\n');
    const read = setupCfgEntryPoints('/ws/setup.cfg', text);
    assert.deepEqual(show(read.entries), [
      'console_scripts console svc-agent svc.cmd.agent:main @6',
      'console_scripts console svc-manage svc.cmd.manage:main @7',
      'wsgi_scripts wsgi svc-api-wsgi svc.api.wsgi:init_application @9',
      'oslo.messaging.drivers plugin rabbit svc.drivers.impl_rabbit:RabbitDriver @11',
      'oslo.config.opts plugin svc svc.opts:list_opts @12',
      'gui_scripts gui svc-gui svc.gui:run @16',
    ]);
    assert.deepEqual(read.notes, []);
  });

  test('malformed lines are notes', () => {
    const text = ['[entry_points]', 'console_scripts =', '    just-a-name', '    ok = m:f', '    bad = not valid', '= nothing'].join('\n');
    const read = setupCfgEntryPoints('/ws/setup.cfg', text);
    assert.deepEqual(show(read.entries), ['console_scripts console ok m:f @4']);
    assert.deepEqual(read.notes, [
      "setup.cfg:3: 'just-a-name' in group 'console_scripts' is not 'name = module:attr'; not read",
      "setup.cfg:5: entry point 'bad' of group 'console_scripts' has the value 'not valid', which is not 'module:attr'; not read",
      "setup.cfg:6: '= nothing' in [entry_points] is not 'group =' followed by entry points; not read",
    ]);
  });
});

describe('setup.py (literals from the syntax tree; nothing executed)', () => {
  test('a dict of lists, a group in INI form, a whole INI string, a module-level name', () => {
    const text = [
      'from setuptools import setup',
      '',
      'PLUGINS = {"svc.plugins": ("alpha = svc.plugins.alpha:Alpha",)}',
      '',
      'setup(',
      '    name="svc",',
      '    entry_points={',
      '        "console_scripts": ["svc = svc.cli:main", r"svc-x=svc.x:run"],',
      "        'wsgi_scripts': '''",
      '            svc-api = svc.api:init_application',
      "        ''',",
      '    },',
      ')',
      'setuptools.setup(entry_points=PLUGINS)',
      'setup(entry_points="""',
      '[oslo.config.opts]',
      'svc = svc.opts:list_opts',
      '""")',
    ].join('\n');
    const read = setupPy(text);
    assert.deepEqual(show(read.entries), [
      'console_scripts console svc svc.cli:main @8',
      'console_scripts console svc-x svc.x:run @8',
      'wsgi_scripts wsgi svc-api svc.api:init_application @10',
      'svc.plugins plugin alpha svc.plugins.alpha:Alpha @3',
      'oslo.config.opts plugin svc svc.opts:list_opts @17',
    ]);
    // Ranges: the string literal of a list item; the line of an INI entry (without its indent).
    assert.deepEqual(read.entries[0].range, { start: { line: 7, character: 28 }, end: { line: 7, character: 48 } });
    assert.deepEqual(read.entries[2].range, { start: { line: 9, character: 12 }, end: { line: 9, character: 46 } });
    assert.deepEqual(read.notes, []);
  });

  test('values that are not literals are notes', () => {
    const text = [
      'from setuptools import setup',
      'setup(entry_points=get_entry_points())',
      'setup(entry_points=UNBOUND)',
      'setup(entry_points={"console_scripts": SCRIPTS, **EXTRA, "g": [f"x = {m}:f", "y = m:g"]})',
    ].join('\n');
    const read = setupPy(text);
    assert.deepEqual(show(read.entries), ['g plugin y m:g @4']);
    assert.deepEqual(read.notes, [
      'setup.py: entry_points (line 2) is not a literal dict or string; its entry points are not read',
      'setup.py: entry_points=UNBOUND (line 3) is not bound to a literal at module level; its entry points are not read',
      "setup.py: the entry points of group 'console_scripts' (line 4) are not a literal list or string; not read",
      'setup.py: an entry_points item that is not a literal pair (line 4) is not read',
      "setup.py: an entry point of group 'g' that is not a string literal (line 4) is not read",
    ]);
  });

  test('only a file named setup.py is read', () => {
    const a = analyzeText('/ws/other.py', 'from setuptools import setup\nsetup(entry_points={"console_scripts": ["x = m:f"]})\n')!;
    const mod = (a.facts as PythonFact[]).find((f) => f.kind === 'py.module');
    assert.equal(mod?.kind === 'py.module' ? mod.setupEntryPoints : 'no module fact', undefined);
  });
});

describe('entry_points.txt of *.egg-info and *.dist-info', () => {
  test('INI sections are groups', () => {
    const text = '[console_scripts]\nsvc = svc.cli:main\n\n[wsgi_scripts]\nsvc-api = svc.api:init\n\n[svc.plugins]\nalpha = svc.plugins.alpha\n';
    const read = entryPointsTxt('/ws/svc.egg-info/entry_points.txt', text);
    assert.deepEqual(show(read.entries), [
      'console_scripts console svc svc.cli:main @2',
      'wsgi_scripts wsgi svc-api svc.api:init @5',
      'svc.plugins plugin alpha svc.plugins.alpha: @8',
    ]);
    assert.deepEqual(entryPointsTxt('/ws/svc.egg-info/entry_points.txt', '[g]\nnot an entry\n').notes, [
      "svc.egg-info/entry_points.txt:2: 'not an entry' in group 'g' is not 'name = module:attr'; not read",
    ]);
    assert.ok(isEntryPointsTxt('/ws/svc.egg-info/entry_points.txt'));
    assert.ok(isEntryPointsTxt('/ws/svc-1.0.dist-info/entry_points.txt'));
    assert.ok(!isEntryPointsTxt('/ws/svc/entry_points.txt'));
    assert.ok(isProjectFileName('/ws/svc-1.0.dist-info/entry_points.txt'));
    assert.ok(!isProjectFileName('/ws/docs/entry_points.txt'));
  });

  test('the scanner collects them next to the sources; a declaration read twice counts once, with the written one as evidence', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-ep-')));
    try {
      fs.mkdirSync(path.join(dir, 'svc'));
      fs.mkdirSync(path.join(dir, 'svc.egg-info'));
      fs.writeFileSync(path.join(dir, 'svc', '__init__.py'), '');
      fs.writeFileSync(path.join(dir, 'setup.cfg'), '[entry_points]\nconsole_scripts =\n    svc = svc.cli:main\n');
      fs.writeFileSync(path.join(dir, 'svc.egg-info', 'entry_points.txt'), '[console_scripts]\nsvc = svc.cli:main\nsvc-extra = svc.extra:main\n');
      fs.writeFileSync(path.join(dir, 'svc.egg-info', 'PKG-INFO'), 'Name: svc\n');
      const pfs = await collectProjectFiles([dir], [path.join(dir, 'svc', '__init__.py')], (f) => readProjectFile(f, 1 << 20));
      assert.deepEqual(
        pfs.map((p) => path.relative(dir, p.path)),
        ['setup.cfg', path.join('svc.egg-info', 'entry_points.txt')],
      );
      const all = projectEntryPoints(pfs);
      assert.deepEqual(
        all.entries.map((e) => `${e.name} ${path.relative(dir, e.path)}:${e.range.start.line + 1}`),
        ['svc setup.cfg:3', `svc-extra ${path.join('svc.egg-info', 'entry_points.txt')}:3`],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the program model', () => {
  const files = () =>
    analyse({
      '/ws/svc/__init__.py': '',
      '/ws/svc/cmd/__init__.py': '',
      '/ws/svc/cmd/agent.py': 'def main():\n    pass\n',
      '/ws/svc/api/__init__.py': '',
      '/ws/svc/api/wsgi.py': 'def init_application():\n    return None\n',
      '/ws/svc/drivers.py': 'class RabbitDriver:\n    pass\n',
      '/ws/svc/tool.py': 'def run():\n    pass\n',
      '/ws/setup.py': 'from setuptools import setup\nsetup(entry_points={"console_scripts": ["svc-tool = svc.tool:run"]})\n',
    });
  const projectFiles = [
    {
      path: '/ws/setup.cfg',
      text: [
        '[entry_points]',
        'console_scripts =',
        '    svc-agent = svc.cmd.agent:main',
        'wsgi_scripts =',
        '    svc-api-wsgi = svc.api.wsgi:init_application',
        'oslo.messaging.drivers =',
        '    rabbit = svc.drivers:RabbitDriver',
        '    kafka = elsewhere.kafka:KafkaDriver',
      ].join('\n'),
    },
  ];

  test('console scripts (setup.cfg, setup.py) and pbr WSGI scripts are program roots; plugin groups are not', () => {
    const model = new PythonModelCache().model({ files: files(), roots: ['/ws'], projectFiles, config: DEFAULT_CONFIG });
    const roots = model.programs
      .filter((p) => p.root.kind !== 'library')
      .map((p) => `${p.root.kind} ${p.root.module.path} ${p.root.script?.name ?? ''}`)
      .sort();
    assert.deepEqual(roots, [
      'console-script /ws/svc/cmd/agent.py svc-agent',
      'console-script /ws/svc/tool.py svc-tool',
      'wsgi-script /ws/svc/api/wsgi.py svc-api-wsgi',
    ]);
  });

  test('an edit of setup.py changes the programs of an incremental model as a fresh build does', () => {
    const cache = new PythonModelCache();
    const ctx = { roots: ['/ws'], projectFiles: [], config: DEFAULT_CONFIG };
    const first = files();
    const roots = (m: PythonModel) =>
      m.programs.map((p) => `${p.root.kind} ${p.root.module.path}`).sort();
    assert.ok(roots(cache.model({ ...ctx, files: first })).includes('console-script /ws/svc/tool.py'));
    const editedSetup = analyzeText('/ws/setup.py', 'from setuptools import setup\nsetup(entry_points={"wsgi_scripts": ["svc-tool = svc.tool:run"]})\n')!;
    const second = first.map((f) => (f.path === '/ws/setup.py' ? editedSetup : f));
    const incremental = roots(cache.model({ ...ctx, files: second }));
    assert.ok(incremental.includes('wsgi-script /ws/svc/tool.py'), incremental.join('\n'));
    assert.ok(!incremental.includes('console-script /ws/svc/tool.py'), incremental.join('\n'));
    assert.deepEqual(incremental, roots(new PythonModelCache().model({ ...ctx, files: second })));
  });

  test('what cannot be read is an evaluation note, and nothing crashes', () => {
    const broken = [
      { path: '/ws/setup.cfg', text: '[entry_points]\nconsole_scripts =\n    svc-agent\n' },
      { path: '/ws/pyproject.toml', text: '[project.scripts]\nx = 1\n[project.entry-points."open\n' },
    ];
    const fs2 = analyse({ '/ws/setup.py': 'from setuptools import setup\nsetup(entry_points=load())\n', '/ws/m.py': 'x = 1\n' });
    const { notes } = evaluate(fs2, DEFAULT_CONFIG, { roots: ['/ws'], projectFiles: broken });
    assert.deepEqual(notes, [
      "entry points: setup.cfg:3: 'svc-agent' in group 'console_scripts' is not 'name = module:attr'; not read",
      "entry points: pyproject.toml:2: entry point 'x' of group 'console_scripts' is not a string (or a table with callable =); not read",
      'entry points: pyproject.toml:3: table header [project.entry-points."open cannot be read; its entries are not read',
      'entry points: setup.py: entry_points (line 2) is not a literal dict or string; its entry points are not read',
    ]);
  });
});
