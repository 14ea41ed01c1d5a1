#!/usr/bin/env node
// Builds the extension for shipping (minified bundles, no source maps) and packs it with
// @vscode/vsce into hazard-lens-<version>.vsix at the repository root, then checks the
// archive: every file the installed extension needs is in it, and nothing that it does not
// need (node_modules, sources, tests, maps, scratch) slipped in.
//
// vsce lists every file under its working folder before it applies .vscodeignore; from the
// repository root that walk goes through .e2e/ (code-server) and scratch folders and takes
// over a minute. So the candidates are first copied to a staging folder (.e2e/package-stage)
// and vsce runs there, with the same .vscodeignore.
//
// Usage: node scripts/package.mjs [--no-build] [--quiet]
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { e2eDir, freshDir, log, pkg, root, run, vsixPath } from './e2e/common.mjs';

/** What is copied to the staging folder (when it exists); .vscodeignore then picks from it. */
const STAGED = ['package.json', 'CHANGELOG.md', 'LICENSE', 'LICENSE.md', 'LICENSE.txt', '.vscodeignore', 'dist', 'grammars', 'docs/rules', 'docs/knowledge.md', 'schemas', 'images'];

/**
 * The Marketplace listing's README, written for users; staged as README.md (the repository's
 * README is the developers').
 */
const LISTING_README = 'docs/marketplace/README.md';

/** Files the installed extension cannot run without (paths inside the archive). */
const REQUIRED = [
  'extension/package.json',
  'extension/readme.md',
  'extension/changelog.md',
  'extension/LICENSE.txt',
  'extension/images/icon.png',
  'extension/dist/client/extension.js',
  'extension/dist/server/server.js',
  'extension/dist/cli/cli.js',
  'extension/dist/worker/scan-worker.js',
  'extension/dist/shared/zod.js',
  // The analysis workers' code-cache loader (server/src/scan/pool.ts codeCachedWorker).
  'extension/dist/shared/code-cache.js',
  'extension/dist/tree-sitter.wasm',
  'extension/grammars/tree-sitter-c.wasm',
  'extension/grammars/tree-sitter-python.wasm',
  'extension/grammars/tree-sitter-typescript.wasm',
  'extension/grammars/tree-sitter-tsx.wasm',
  // The `jsonValidation` contribution's schema of `.hazard-lens.json`.
  'extension/schemas/hazard-lens.schema.json',
];

/** Paths that must never ship. */
const FORBIDDEN = [
  /(^|\/)node_modules\//,
  /^extension\/(client|server)\/src\//,
  /^extension\/(test|scripts|examples|out|\.e2e|\.scratch|\.ci|\.git)\//,
  /\.map$/,
  /(?<!\.d)\.ts$/,
  /\.vsix$/,
];

/** Lists the entries of a zip archive (central directory; no dependency needed). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  // End of central directory record: signature 0x06054b50, searched from the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip archive`);
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: bad central directory entry`);
    const method = buf.readUInt16LE(offset + 10);
    const compressed = buf.readUInt32LE(offset + 20);
    const size = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    const localOffset = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLen);
    entries.push({ name, size, compressed, method, localOffset });
    offset += 46 + nameLen + extraLen + commentLen;
  }
  return { buf, entries };
}

/** Reads one entry's bytes (stored or deflated). */
export function zipRead({ buf }, entry) {
  const nameLen = buf.readUInt16LE(entry.localOffset + 26);
  const extraLen = buf.readUInt16LE(entry.localOffset + 28);
  const start = entry.localOffset + 30 + nameLen + extraLen;
  const data = buf.subarray(start, start + entry.compressed);
  return entry.method === 0 ? data : inflateRawSync(data);
}

export function checkVsix(file) {
  const zip = zipEntries(file);
  const names = new Set(zip.entries.map((e) => e.name));
  const problems = [];
  for (const required of REQUIRED) if (!names.has(required)) problems.push(`missing ${required}`);
  for (const name of names) {
    if (FORBIDDEN.some((re) => re.test(name))) problems.push(`should not ship ${name}`);
  }
  const manifest = zip.entries.find((e) => e.name === 'extension/package.json');
  if (manifest) {
    const shipped = JSON.parse(zipRead(zip, manifest).toString('utf8'));
    if (shipped.version !== pkg.version) problems.push(`package.json version ${shipped.version} != ${pkg.version}`);
    // Marketplace listing: an icon, keywords, and marked as a preview while the version is 0.x.
    if (!shipped.icon) problems.push('package.json has no icon');
    if (!Array.isArray(shipped.keywords) || shipped.keywords.length === 0) problems.push('package.json has no keywords');
    if (/^0\./.test(shipped.version) && shipped.preview !== true) problems.push('a 0.x version must be marked "preview": true');
  }
  const readme = zip.entries.find((e) => e.name === 'extension/readme.md');
  if (readme && !zipRead(zip, readme).toString('utf8').includes('## Configuration')) {
    problems.push('extension/readme.md is not the listing README (docs/marketplace/README.md)');
  }
  return { entries: zip.entries, problems };
}

export function packageExtension({ build = true, quiet = false } = {}) {
  if (build) {
    log('building the bundles (production)');
    run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--production'], { cwd: root });
  }
  rmSync(vsixPath, { force: true });
  const stage = freshDir(join(e2eDir, 'package-stage'), { empty: true });
  for (const entry of STAGED) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  cpSync(join(root, LISTING_README), join(stage, 'README.md'));
  // `files` picks what the npm package ships; the .vsix is picked by .vscodeignore, and vsce
  // refuses a folder with both.
  const { files: _npmFiles, ...manifest } = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`vsce package → ${vsixPath}`);
  run(process.execPath, [join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--out', vsixPath], {
    cwd: stage,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
  });
  const { entries, problems } = checkVsix(vsixPath);
  if (!quiet) {
    for (const e of entries) console.log(`  ${String(e.size).padStart(9)}  ${e.name}`);
  }
  if (problems.length > 0) throw new Error(`the .vsix is not right:\n  ${problems.join('\n  ')}`);
  const total = entries.reduce((sum, e) => sum + e.compressed, 0);
  log(`${entries.length} files, ${(total / 1024).toFixed(0)} KiB compressed: ${vsixPath}`);
  return vsixPath;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    packageExtension({ build: !process.argv.includes('--no-build'), quiet: process.argv.includes('--quiet') });
  } catch (err) {
    console.error(`package failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
