#!/usr/bin/env node
// Bundles the integration suite with esbuild: test/e2e/index.ts (with Mocha inside) to
// out/test/e2e/index.js and each test/e2e/suite/*.test.ts to out/test/e2e/suite/*.test.js.
// `vscode` stays external: the extension host provides it.
//
// Usage: node scripts/e2e/build-suite.mjs [--src DIR] [--out DIR]
//   --src  folder holding index.ts and suite/ (default test/e2e)
//   --out  output folder (default out/test/e2e)
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { root } from './common.mjs';

export const defaultSuiteOut = join(root, 'out', 'test', 'e2e');

export async function buildSuite({ src = join(root, 'test', 'e2e'), out = defaultSuiteOut } = {}) {
  rmSync(out, { recursive: true, force: true });
  const suiteSrc = join(src, 'suite');
  const suiteFiles = readdirSync(suiteSrc).filter((f) => f.endsWith('.test.ts')).map((f) => join(suiteSrc, f));
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    logLevel: 'warning',
    // Mocha's parallel mode (unused here) resolves worker files at run time.
    logOverride: { 'require-resolve-not-external': 'silent' },
    absWorkingDir: root,
  };
  await esbuild.build({ ...common, entryPoints: [join(src, 'index.ts')], outfile: join(out, 'index.js') });
  await esbuild.build({ ...common, entryPoints: suiteFiles, outdir: join(out, 'suite') });
  return join(out, 'index.js');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { src: { type: 'string' }, out: { type: 'string' } } });
  const index = await buildSuite({
    src: values.src ? resolve(values.src) : undefined,
    out: values.out ? resolve(values.out) : undefined,
  });
  console.log(index);
}
