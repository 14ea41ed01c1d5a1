/**
 * Benchmark: how long the program model takes on a large workspace (`npm run bench`).
 *
 * Corpora, all obtainable on a fresh machine without downloads from elsewhere:
 * - python-stdlib: the machine's own Python standard library (`python3` on PATH), without
 *   its site-packages;
 * - glibc: Debian's `glibc-source` package (`apt-get install glibc-source`), unpacked once
 *   into `.bench/glibc` (git-ignored);
 * - typescript: the `.ts` sources shipped inside this repository's node_modules.
 * A corpus that is not available is skipped with the command that would provide it.
 *
 * Phases measured per corpus: discovery (walk + ignore rules), read (size/binary/UTF-8
 * checks), per-file analysis (parse, per-file rules, program facts), and evaluation (the
 * program model across files, program rules, suppressions). Peak RSS is sampled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { FileAnalysis } from '../../server/src/engine/types';
import { loadAllGrammars } from '../../server/src/parsing/parser';
import { readSourceFile } from '../../server/src/scan/read';
import { discoverFiles } from '../../server/src/scan/walk';

const ROOT = join(__dirname, '..', '..');

interface Corpus {
  name: string;
  dir?: string;
  unavailable?: string;
}

function pythonStdlib(): Corpus {
  try {
    const dir = execFileSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
    return { name: 'python-stdlib', dir };
  } catch {
    return { name: 'python-stdlib', unavailable: 'python3 not found' };
  }
}

function glibc(): Corpus {
  const target = join(ROOT, '.bench', 'glibc');
  if (existsSync(target) && readdirSync(target).length > 0) return { name: 'glibc', dir: target };
  const srcDir = '/usr/src/glibc';
  const tarball = existsSync(srcDir) ? readdirSync(srcDir).find((n) => /^glibc-.*\.tar\.xz$/.test(n)) : undefined;
  if (!tarball) return { name: 'glibc', unavailable: 'install it with `apt-get install glibc-source`' };
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xJf', join(srcDir, tarball), '-C', target, '--strip-components=1']);
  return { name: 'glibc', dir: target };
}

function typescriptSources(): Corpus {
  return { name: 'typescript (node_modules)', dir: join(ROOT, 'node_modules') };
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

async function run(corpus: Corpus): Promise<void> {
  if (!corpus.dir) {
    console.log(`${corpus.name}: skipped (${corpus.unavailable})`);
    return;
  }
  const t0 = performance.now();
  // node_modules is never walked by the scanner, so the TypeScript corpus names it explicitly.
  // The standard library proper: third-party packages installed into it are not part of the corpus.
  const excludes = corpus.name === 'python-stdlib' ? ['site-packages/'] : [];
  const walk = await discoverFiles({ roots: [corpus.dir], cwd: corpus.dir, respectGitignore: false, excludes, excludeBase: corpus.dir, forceExclude: false });
  const files = corpus.name.startsWith('typescript') ? await tsFiles(corpus.dir) : walk.files;
  const t1 = performance.now();
  const texts: { path: string; text: string }[] = [];
  let bytes = 0;
  for (const f of files) {
    const r = await readSourceFile(f, DEFAULT_CONFIG.maxFileSizeKb * 1024);
    if (r.ok) {
      texts.push({ path: f, text: r.text });
      bytes += r.text.length;
    }
  }
  const t2 = performance.now();
  const analyses: FileAnalysis[] = [];
  let facts = 0;
  for (const { path, text } of texts) {
    const a = analyzeText(path, text);
    if (a) {
      analyses.push(a);
      facts += a.facts.length;
    }
  }
  const t3 = performance.now();
  const { findings } = evaluate(analyses, DEFAULT_CONFIG, { roots: [corpus.dir], projectFiles: [] });
  const t4 = performance.now();
  const byRule = new Map<string, number>();
  for (const f of findings) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
  const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(2);
  console.log(`\n${corpus.name}: ${analyses.length} files, ${mb(bytes)} MB of text, ${facts} program facts`);
  console.log(`  discover ${secs(t0, t1)} s · read ${secs(t1, t2)} s · analyse ${secs(t2, t3)} s (${(analyses.length / ((t3 - t2) / 1000)).toFixed(0)} files/s, ${(bytes / 1024 / 1024 / ((t3 - t2) / 1000)).toFixed(2)} MB/s)`);
  console.log(`  program model + rules (evaluate) ${secs(t3, t4)} s`);
  console.log(`  findings: ${[...byRule].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = (d: string, depth: number) => {
    if (depth > 12) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) visit(full, depth + 1);
      else if (e.isFile() && /\.(ts|tsx|mts|cts)$/.test(e.name) && !/\.d\.[mc]?ts$/.test(e.name)) out.push(full);
    }
  };
  visit(dir, 0);
  await Promise.resolve();
  return out.sort();
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  await loadAllGrammars();
  const corpora = [pythonStdlib(), glibc(), typescriptSources()].filter((c) => wanted.length === 0 || wanted.some((w) => c.name.startsWith(w)));
  console.log(`Hazard Lens benchmark — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
  for (const c of corpora) await run(c);
  clearInterval(sampler);
  console.log(`\npeak RSS ${mb(peakRss)} MB`);
}

main().catch((err: unknown) => {
  clearInterval(sampler);
  console.error(err);
  process.exit(1);
});
