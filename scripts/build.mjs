// Bundles the extension client, the language server and the CLI with esbuild, and copies
// the tree-sitter runtime wasm next to the bundles (the grammars stay in grammars/).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

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
  alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs' },
};

const builds = [
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.js', external: ['vscode'] },
  { entryPoints: ['server/src/lsp/main.ts'], outfile: 'dist/server/server.js' },
  { entryPoints: ['server/src/cli/main.ts'], outfile: 'dist/cli/cli.js' },
];

mkdirSync(join(root, 'dist'), { recursive: true });
copyFileSync(require.resolve('web-tree-sitter/tree-sitter.wasm'), join(root, 'dist', 'tree-sitter.wasm'));

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context({ ...common, ...b })));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('esbuild: watching for changes');
} else {
  await Promise.all(builds.map((b) => esbuild.build({ ...common, ...b })));
}
