/**
 * Regression guard for analyser optimisations (not part of the bench output): analyses a file
 * set and writes every per-file analysis (facts, local findings, suppressions, syntax errors)
 * and the evaluated findings as JSON lines, so two trees can be compared byte for byte.
 *
 *   tsx scripts/bench/snapshot.ts OUT.jsonl DIR...
 *
 * (`analyse-only.ts --phases` times the analysers one by one.)
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { languageForPath, loadAllGrammars } from '../../server/src/parsing/parser';
import { readSourceFile } from '../../server/src/scan/read';

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'site-packages' || e.name === '.git') continue;
      walk(full, out);
    } else if (e.isFile() && languageForPath(full) && !/\.d\.[mc]?ts$/.test(e.name)) out.push(full);
  }
}

async function main(): Promise<void> {
  const [out, ...dirs] = process.argv.slice(2);
  await loadAllGrammars();
  const files: string[] = [];
  for (const d of dirs) walk(d, files);
  files.sort();
  const lines: string[] = [];
  const analyses: FileAnalysis[] = [];
  let ms = 0;
  let bytes = 0;
  for (const f of files) {
    const r = await readSourceFile(f, 1024 * 1024);
    if (!r.ok) continue;
    bytes += r.text.length;
    const t = performance.now();
    const a = analyzeText(f, r.text);
    ms += performance.now() - t;
    if (!a) continue;
    analyses.push(a);
    lines.push(JSON.stringify(a));
  }
  const { findings } = evaluate(analyses, DEFAULT_CONFIG, { roots: dirs, projectFiles: [] });
  for (const f of findings) lines.push(JSON.stringify(f));
  writeFileSync(out, lines.join('\n') + '\n');
  console.log(`${analyses.length} files, ${(bytes / 1e6).toFixed(1)} MB, analyse ${(ms / 1000).toFixed(2)} s (${(bytes / 1e6 / (ms / 1000)).toFixed(2)} MB/s), ${findings.length} findings`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
