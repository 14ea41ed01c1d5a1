// Bundles the extension client, the language server and the CLI with esbuild, and copies
// the tree-sitter runtime wasm next to the bundles (the grammars stay in grammars/).
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeSitterGluePlugin } from './tree-sitter-glue.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// `npm pack` and `npm publish` run `prepare` after `prepack`: the production build prepack
// made is the one that ships, so prepare does not replace it with a development build.
if (process.env.npm_lifecycle_event === 'prepare' && ['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/**
 * The analyser's build fingerprint (a hash of server/src), stamped into the bundles so the
 * persistent analysis cache never trusts entries written by another build (engine/cache.ts).
 * Watch builds are stamped `watch`: the cache then hashes the bundle itself.
 */
function sourceFingerprint() {
  const src = join(root, 'server', 'src');
  const hash = createHash('sha256');
  const visit = (dir) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) visit(full);
      else if (e.name.endsWith('.ts')) hash.update(full.slice(src.length + 1).split('\\').join('/')).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  visit(src);
  return `build-${hash.digest('hex').slice(0, 16)}`;
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
  // NOTE: web-tree-sitter's ESM build reads import.meta.url, which is undefined in a CJS
  // bundle; its CJS build does not.
  // jsonc-parser's UMD build (its `main`) requires its parts at run time, which a bundle
  // cannot resolve; its ESM build bundles.
  alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs', 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
  define: { __HAZARD_LENS_BUILD__: JSON.stringify(watch ? 'watch' : sourceFingerprint()) },
};

const builds = [
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.js', external: ['vscode'] },
  { entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server/server.js' },
  // The CLI and the analysis workers are started for every scan: without comments and
  // indentation (names kept) their bundles are a third smaller and pure ASCII, which V8 reads
  // and checks against the launcher's code cache in half the time (`npm run bench`, start-up).
  { entryPoints: ['server/src/cli/main.ts'], outfile: 'dist/cli/cli.js', minifyWhitespace: true },
  // Analysis worker threads of the CLI and the server (scan/pool.ts finds it from dist/cli and dist/server).
  { entryPoints: ['server/src/scan/worker.ts'], outfile: 'dist/worker/scan-worker.js', minifyWhitespace: true },
  // zod, required by the bundles above only when a shape is first built (knowledge/zod.ts): kept
  // apart, it is not read nor deserialised at each start (it was 40 % of the CLI bundle).
  { entryPoints: ['zod'], outfile: 'dist/shared/zod.js', minifyWhitespace: true },
];

/** The bundles reach zod as the separate `dist/shared/zod.js` (see above). */
const sharedZod = {
  name: 'shared-zod',
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, (args) => (args.kind === 'require-call' ? { path: '../shared/zod.js', external: true } : undefined));
  },
};
const pluginsOf = (b) => [directBuiltins, treeSitterGluePlugin, ...(b.outfile === 'dist/shared/zod.js' || b.outfile.startsWith('dist/client/') ? [] : [sharedZod])];

mkdirSync(join(root, 'dist'), { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), join(root, 'dist', 'tree-sitter.wasm'));
// The code-cache loader of the launcher, for the analysis workers (scan/pool.ts codeCachedWorker).
mkdirSync(join(root, 'dist', 'shared'), { recursive: true });
copyFileSync(join(root, 'bin', 'code-cache.js'), join(root, 'dist', 'shared', 'code-cache.js'));

/**
 * `import * as fs from 'node:fs'` becomes `__toESM(require("node:fs"))` in a CommonJS bundle:
 * a copy of the module object, one getter per export, made at load for each of the ~50
 * modules that import fs or path that way — about 15 ms of a CLI start (issue #17). The
 * sources only read properties of these namespaces (never `default`: a default import of a
 * built-in is refused here), so the module object itself does the same job.
 */
const directBuiltins = {
  name: 'direct-builtins',
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      const file = join(root, build.initialOptions.outfile);
      const text = readFileSync(file, 'utf8');
      // Padded with spaces to the same length, so the source map's columns still hold.
      const direct = text.replace(/__toESM\d*\(require\("(node:[\w/]+)"\)\)/g, (call, name) => `require("${name}")`.padEnd(call.length));
      if (direct !== text) writeFileSync(file, direct);
    });
  },
};
for (const dir of ['server/src', 'client/src']) {
  const visit = (d) => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true })) {
      const rel = `${d}/${e.name}`;
      if (e.isDirectory()) visit(rel);
      else if (/\.tsx?$/.test(e.name) && /^import\s+(?!type\b)[\w$]+\s*(,[^;]*)?\s+from\s+'node:/m.test(readFileSync(join(root, rel), 'utf8'))) {
        throw new Error(`${rel}: a default import of a Node built-in; import it as a namespace (\`import * as x\`) or by name (scripts/build.mjs directBuiltins)`);
      }
    }
  };
  visit(dir);
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context({ ...common, ...b, plugins: pluginsOf(b) })));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('esbuild: watching for changes');
} else {
  await Promise.all(builds.map((b) => esbuild.build({ ...common, ...b, plugins: pluginsOf(b) })));
}
