/**
 * The TypeScript program model on small in-memory workspaces: module resolution (extensions,
 * `.js`→`.ts`, index files, workspace packages), entry points from package.json, import
 * closures (type-only imports load nothing, `require` and literal `import()` do), Worker
 * scripts as programs of their own, and calls followed through re-exports and CommonJS.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { ProjectFile } from '../../server/src/model/program-context';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { typescriptModel, type TypeScriptModel } from '../../server/src/model/typescript';
import { grammarsReady } from '../harness';

const WS = '/ws';

function workspace(sources: Record<string, string>, packages: Record<string, object> = {}): { files: FileAnalysis[]; projectFiles: ProjectFile[] } {
  const files = Object.entries(sources).map(([p, text]) => {
    const a = analyzeText(`${WS}/${p}`, text);
    assert.ok(a, p);
    assert.deepEqual(a.notes, [], `${p}: notes`);
    return a;
  });
  const projectFiles = Object.entries(packages).map(([p, json]) => ({ path: `${WS}/${p}`, text: JSON.stringify(json, null, 2) }));
  return { files, projectFiles };
}

function model(sources: Record<string, string>, packages: Record<string, object> = {}): TypeScriptModel {
  const { files, projectFiles } = workspace(sources, packages);
  return typescriptModel({ files, roots: [WS], projectFiles, config: DEFAULT_CONFIG });
}

function resolved(m: TypeScriptModel, from: string, specifier: string): string | undefined {
  const mod = m.byPath(`${WS}/${from}`);
  assert.ok(mod, from);
  return m.resolveSpecifier(mod, specifier)?.path.slice(WS.length + 1);
}

function programs(m: TypeScriptModel): string[] {
  return m.programs.map((p) => `${p.root.kind} ${p.root.module.path.slice(WS.length + 1)}: ${[...p.modules].map((x) => x.path.slice(WS.length + 1)).sort().join(' ')}`);
}

before(async () => {
  await grammarsReady();
});

describe('resolving specifiers inside the workspace', () => {
  let m: TypeScriptModel;
  before(() => {
    m = layout();
  });
  const layout = () => model({
    'src/app.ts': '',
    'src/util.ts': 'export const x = 1;',
    'src/lib/index.ts': '',
    'src/view.tsx': '',
    'src/esm.mts': '',
    'src/legacy.cts': '',
    'packages/core/src/index.ts': '',
    'packages/core/src/extra.ts': '',
  }, {
    'packages/core/package.json': { name: '@ws/core', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
  });

  test('compiled .js specifiers map back to their TypeScript sources', () => {
    assert.equal(resolved(m, 'src/app.ts', './util.js'), 'src/util.ts');
    assert.equal(resolved(m, 'src/app.ts', './view.js'), 'src/view.tsx');
    assert.equal(resolved(m, 'src/app.ts', './esm.mjs'), 'src/esm.mts');
    assert.equal(resolved(m, 'src/app.ts', './legacy.cjs'), 'src/legacy.cts');
  });

  test('extensionless specifiers, index files and parent directories', () => {
    assert.equal(resolved(m, 'src/app.ts', './util'), 'src/util.ts');
    assert.equal(resolved(m, 'src/app.ts', './lib'), 'src/lib/index.ts');
    assert.equal(resolved(m, 'src/app.ts', './lib/index.js'), 'src/lib/index.ts');
    assert.equal(resolved(m, 'src/lib/index.ts', '../util'), 'src/util.ts');
  });

  test('workspace packages by name (exports → dist → src), with subpaths', () => {
    assert.equal(resolved(m, 'src/app.ts', '@ws/core'), 'packages/core/src/index.ts');
    assert.equal(resolved(m, 'src/app.ts', '@ws/core/extra'), 'packages/core/src/extra.ts');
  });

  test('built-ins, external packages and missing files do not resolve', () => {
    assert.equal(resolved(m, 'src/app.ts', 'node:fs'), undefined);
    assert.equal(resolved(m, 'src/app.ts', 'express'), undefined);
    assert.equal(resolved(m, 'src/app.ts', './missing'), undefined);
  });
});

describe('tsconfig.json paths and baseUrl (when the caller passes tsconfig.json as a project file)', () => {
  test('a path alias, a baseUrl-relative specifier, comments and trailing commas in the tsconfig', () => {
    const sources = { 'server/index.ts': '', 'server/utils/log.ts': '', 'shared/util.ts': '', 'lib/x.ts': '' };
    const files = Object.entries(sources).map(([p, text]) => analyzeText(`${WS}/${p}`, text)!);
    const tsconfig = `{
      // aliases
      "compilerOptions": {
        "baseUrl": ".",
        "paths": { "@server/*": ["./server/*"], "@shared/*": ["./shared/*",], /* the types only */ "vite": ["./node_modules/vite/index.d.ts"] },
      },
    }`;
    const m = typescriptModel({ files, roots: [WS], projectFiles: [{ path: `${WS}/tsconfig.json`, text: tsconfig }], config: DEFAULT_CONFIG });
    assert.equal(resolved(m, 'server/index.ts', '@server/utils/log'), 'server/utils/log.ts');
    assert.equal(resolved(m, 'server/index.ts', '@shared/util.js'), 'shared/util.ts');
    assert.equal(resolved(m, 'server/index.ts', 'lib/x'), 'lib/x.ts');
    assert.equal(resolved(m, 'server/index.ts', 'vite'), undefined);
  });
});

describe('programs: entry points and import closures', () => {
  test('package.json main, bin (object) and nested exports conditions; build output mapped to src', () => {
    const m = model({
      'src/index.ts': "import { a } from './a.js';",
      'src/a.ts': 'export const a = 1;',
      'src/cli.ts': "import './a';",
      'src/server.ts': '',
    }, {
      'package.json': { name: 'pkg', main: 'lib/index.js', bin: { pkg: './bin/cli.js', 'pkg-server': 'dist/server.js' }, exports: { '.': { require: './lib/index.js' } } },
    });
    assert.deepEqual(programs(m), ['bin src/cli.ts: src/a.ts src/cli.ts', 'main src/index.ts: src/a.ts src/index.ts', 'bin src/server.ts: src/server.ts']);
  });

  test('without a package.json entry, index.ts next to the package.json is the entry', () => {
    const m = model({ 'index.ts': "import './b';", 'b.ts': '', 'c.ts': '' }, { 'package.json': { name: 'x' } });
    assert.deepEqual(programs(m), ['index index.ts: b.ts index.ts', 'library c.ts: c.ts']);
  });

  test('type-only imports load nothing; require, import = require and literal import() do', () => {
    const m = model({
      'src/index.ts': [
        "import type { T } from './types';",
        "import { type U } from './types2';",
        "const r = require('./req');",
        "import eq = require('./eq');",
        'export async function later() { await import(\'./lazy.js\'); }',
        "export type { V } from './types3';",
      ].join('\n'),
      'src/types.ts': '',
      'src/types2.ts': '',
      'src/types3.ts': '',
      'src/req.ts': '',
      'src/eq.ts': '',
      'src/lazy.ts': '',
    }, { 'package.json': { main: 'src/index.ts' } });
    // `import { type U }` still loads the module (only its specifier is erased).
    assert.deepEqual(programs(m), [
      'main src/index.ts: src/eq.ts src/index.ts src/lazy.ts src/req.ts src/types2.ts',
      'library src/types.ts: src/types.ts',
      'library src/types3.ts: src/types3.ts',
    ]);
  });

  test('a Worker script is a program of its own, found from new URL(), __dirname joins and plain strings', () => {
    const m = model({
      'src/main.ts': [
        "import { Worker } from 'node:worker_threads';",
        "import * as path from 'node:path';",
        "new Worker(new URL('./w1.ts', import.meta.url));",
        "new Worker(path.join(__dirname, 'w2.js'));",
        "new Worker('./src/w3.js');",
      ].join('\n'),
      'src/w1.ts': "import { parentPort } from 'node:worker_threads';",
      'src/w2.ts': '',
      'src/w3.ts': '',
    }, { 'package.json': { main: 'src/main.ts' } });
    assert.deepEqual(programs(m), ['main src/main.ts: src/main.ts', 'worker src/w1.ts: src/w1.ts', 'worker src/w2.ts: src/w2.ts', 'worker src/w3.ts: src/w3.ts']);
  });
});

describe('calls followed across modules', () => {
  const heartbeat = "import { WebSocketServer } from 'ws';\nconst wss = new WebSocketServer({ port: 1 });\nsetInterval(() => wss.clients.forEach((c) => c.ping()), 1000);\n";

  function findings(sources: Record<string, string>): string[] {
    const { files, projectFiles } = workspace(sources, { 'package.json': { main: 'src/index.ts' } });
    return evaluate(files, DEFAULT_CONFIG, { roots: [WS], projectFiles })
      .findings.filter((f) => f.ruleId === 'heartbeat-starved-by-blocking-call')
      .map((f) => `${f.path.slice(WS.length + 1)}:${f.range.start.line + 1} ${f.related[f.related.length - 2].message}`);
  }

  test('through a named re-export, a star re-export and a default export', () => {
    const out = findings({
      'src/index.ts': heartbeat + "import express from 'express';\nimport { handler, starred } from './handlers';\nimport dflt from './handlers/dflt';\nconst app = express();\napp.get('/a', handler);\napp.get('/b', starred);\napp.get('/c', dflt);\n",
      'src/handlers/index.ts': "export { handle as handler } from './named';\nexport * from './star';\n",
      'src/handlers/named.ts': "import { execSync } from 'node:child_process';\nexport function handle() { execSync('a'); }\n",
      'src/handlers/star.ts': "import { execSync } from 'node:child_process';\nexport const starred = () => execSync('b');\n",
      'src/handlers/dflt.ts': "import { execSync } from 'node:child_process';\nexport default function () { execSync('c'); }\n",
    });
    assert.deepEqual(out, ['src/handlers/dflt.ts:2 request handler registered here (app.get())', 'src/handlers/named.ts:2 request handler registered here (app.get())', 'src/handlers/star.ts:2 request handler registered here (app.get())']);
  });

  test('through CommonJS module.exports and a namespace import', () => {
    const out = findings({
      'src/index.ts': heartbeat + "const routes = require('./routes');\nimport * as jobs from './jobs';\nconst app = require('express')();\napp.post('/r', routes.report);\nsetInterval(jobs.tick, 5000);\n",
      'src/routes.ts': "const fs = require('fs');\nfunction report() { return fs.readFileSync('r'); }\nmodule.exports = { report };\n",
      'src/jobs.ts': "import { spawnSync } from 'node:child_process';\nexport function tick() { helper(); }\nfunction helper() { spawnSync('x'); }\n",
    });
    assert.deepEqual(out, ['src/jobs.ts:3 `helper()` blocks the event loop here (spawnSync())', 'src/routes.ts:2 request handler registered here (app.post())']);
  });

  test('a wrapper named like the built-in is followed, not taken for it', () => {
    const out = findings({
      'src/index.ts': heartbeat + "import express from 'express';\nimport { execSync } from './shell';\nconst app = express();\napp.get('/', () => execSync('ls'));\n",
      'src/shell.ts': "export async function execSync(cmd: string) { return cmd; }\n",
    });
    assert.deepEqual(out, []);
  });
});

describe('classes', () => {
  function findings(sources: Record<string, string>): string[] {
    const { files, projectFiles } = workspace(sources, { 'package.json': { main: 'src/index.ts' } });
    return evaluate(files, DEFAULT_CONFIG, { roots: [WS], projectFiles })
      .findings.filter((f) => f.ruleId === 'heartbeat-starved-by-blocking-call')
      .map((f) => `${f.path.slice(WS.length + 1)}:${f.range.start.line + 1} ${f.related.map((r) => `${r.path.slice(WS.length + 1)}:${r.range.start.line + 1} ${r.message}`).join(' | ')}`);
  }

  test('a heartbeat in an imported class constructor counts; a static method used as a handler is followed', () => {
    const out = findings({
      'src/index.ts': "import { Gateway } from './gateway';\nimport express from 'express';\nconst app = express();\nconst gw = Gateway.instance();\napp.get('/x', Gateway.handle);\n",
      'src/gateway.ts': [
        "import { Server } from 'socket.io';",
        "import { readFileSync } from 'node:fs';",
        'export class Gateway {',
        '  static current?: Gateway;',
        '  io: Server;',
        "  constructor() { this.io = new Server(3000); this.cert = readFileSync('cert.pem'); }",
        '  cert: Buffer;',
        '  static instance() { return (Gateway.current ??= new Gateway()); }',
        "  static handle() { Gateway.instance(); return readFileSync('page.html'); }",
        '}',
      ].join('\n'),
    });
    // The constructor's read runs once (the singleton is created at start-up): not reported.
    assert.deepEqual(out, [
      'src/gateway.ts:9 src/gateway.ts:6 heartbeat started here (new Server() from socket.io) | src/gateway.ts:8 object created here: the constructor of `Gateway` arms a keep-alive (new Server() from socket.io) | ' +
        'src/index.ts:4 `Gateway.instance()` arms a keep-alive here (new Server() from socket.io) | package.json:2 program entry point (package.json "main") | src/index.ts:5 request handler registered here (app.get()) | ' +
        'src/gateway.ts:9 blocks the event loop here (readFileSync())',
    ]);
  });
});

describe('isMainThread branches of a file that starts itself as a Worker', () => {
  const source = [
    "import { Worker, isMainThread } from 'node:worker_threads';",
    "import { createServer } from 'node:http';",
    "import { readFileSync } from 'node:fs';",
    'if (isMainThread) {',
    '  new Worker(__filename);',
    "  createServer((req, res) => res.end(readFileSync('page.html'))).listen(8080);",
    '} else {',
    '  setInterval(() => upstream.ping(), 15_000);',
    '}',
  ].join('\n');

  function run(text: string): string[] {
    const { files, projectFiles } = workspace({ 'src/index.ts': text }, { 'package.json': { main: 'src/index.ts' } });
    const m = typescriptModel({ files, roots: [WS], projectFiles, config: DEFAULT_CONFIG });
    assert.deepEqual(m.programs.map((p) => `${p.root.kind}/${p.root.thread}`), ['main/main', 'worker/worker']);
    return evaluate(files, DEFAULT_CONFIG, { roots: [WS], projectFiles }).findings.filter((f) => f.ruleId === 'heartbeat-starved-by-blocking-call').map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1}`);
  }

  test('the heartbeat in the Worker branch does not share the main thread loop', () => {
    assert.deepEqual(run(source), []);
  });

  test('the same heartbeat outside the branches runs on the main thread too', () => {
    assert.deepEqual(run(source.replace('} else {', '}\n{')), ['6:38']);
  });
});

describe('JavaScript sources and CommonJS', () => {
  const heartbeat = "const { WebSocketServer } = require('ws');\nconst wss = new WebSocketServer({ port: 1 });\nsetInterval(() => wss.clients.forEach((c) => c.ping()), 1000);\n";

  test('require() specifiers find .js, .cjs, .mjs and index.js files; TypeScript sources first', () => {
    const m = model({
      'app.js': '',
      'a.js': '',
      'b.cjs': '',
      'c.mjs': '',
      'lib/index.js': '',
      'both.ts': '',
      'both.js': '',
    });
    assert.equal(resolved(m, 'app.js', './a'), 'a.js');
    assert.equal(resolved(m, 'app.js', './a.js'), 'a.js');
    assert.equal(resolved(m, 'app.js', './b'), 'b.cjs');
    assert.equal(resolved(m, 'app.js', './c.mjs'), 'c.mjs');
    assert.equal(resolved(m, 'app.js', './lib'), 'lib/index.js');
    assert.equal(resolved(m, 'app.js', './both'), 'both.ts');
    assert.equal(resolved(m, 'app.js', './both.js'), 'both.js');
  });

  test('package.json main, bin and exports pointing straight at .js sources are entries; a #! node script is one too', () => {
    const m = model({
      'server.js': "require('./util');",
      'util.js': '',
      'bin/cli.js': "const { x } = require('../util');",
      'lib/api.mjs': "import '../util.js';",
      'tools/deploy': "#!/usr/bin/env node\nrequire('../util');\n",
      'unused.cjs': '',
    }, {
      'package.json': { name: 'svc', main: 'server.js', bin: { svc: './bin/cli.js' }, exports: { '.': { import: './lib/api.mjs', require: './server.js' } } },
    });
    assert.deepEqual(programs(m), [
      'bin bin/cli.js: bin/cli.js util.js',
      'exports lib/api.mjs: lib/api.mjs util.js',
      'main server.js: server.js util.js',
      'script tools/deploy: tools/deploy util.js',
      'library unused.cjs: unused.cjs',
    ]);
  });

  function findings(sources: Record<string, string>): string[] {
    const { files, projectFiles } = workspace(sources, { 'package.json': { main: 'index.js' } });
    return evaluate(files, DEFAULT_CONFIG, { roots: [WS], projectFiles })
      .findings.filter((f) => f.ruleId === 'heartbeat-starved-by-blocking-call')
      .map((f) => `${f.path.slice(WS.length + 1)}:${f.range.start.line + 1} ${f.related[f.related.length - 2].message}`);
  }

  test('module.exports = fn, exports.f =, module.exports.f =, require(…).f() and require(…)() are followed', () => {
    const cp = "const { execSync } = require('child_process');\n";
    const out = findings({
      'index.js':
        heartbeat +
        "const app = require('express')();\nconst single = require('./single');\nconst { named } = require('./named');\n" +
        "app.get('/a', single);\napp.get('/b', named);\napp.get('/c', () => require('./inline').go());\napp.get('/d', () => require('./direct')());\n",
      'single.js': cp + "module.exports = function (req, res) {\n  execSync('a');\n};\n",
      'named.js': cp + "exports.named = (req, res) => {\n  execSync('b');\n};\n",
      'inline.js': cp + "module.exports.go = function () {\n  execSync('c');\n};\n",
      'direct.js': cp + "function run() {\n  execSync('d');\n}\nmodule.exports = run;\n",
      'unlinked.js': cp + "exports.never = () => {\n  execSync('e');\n};\n",
    });
    assert.deepEqual(out, [
      'direct.js:3 `run()` blocks the event loop here (execSync())',
      'inline.js:3 `go()` blocks the event loop here (execSync())',
      'named.js:3 request handler registered here (app.get())',
      'single.js:3 request handler registered here (app.get())',
    ]);
  });

  test('re-exports through module.exports = require() and exports.f = require()', () => {
    const cp = "const { execSync } = require('child_process');\n";
    const out = findings({
      'index.js': heartbeat + "const app = require('express')();\nconst api = require('./api');\napp.get('/a', api.list);\napp.get('/b', api.one);\n",
      'api/index.js': "module.exports = require('./impl');\n",
      'api/impl.js': cp + "exports.list = () => {\n  execSync('a');\n};\nexports.one = require('./one');\n",
      'api/one.js': cp + "module.exports = function () {\n  execSync('b');\n};\n",
    });
    assert.deepEqual(out, ['api/impl.js:3 request handler registered here (app.get())', 'api/one.js:3 request handler registered here (app.get())']);
  });
});
