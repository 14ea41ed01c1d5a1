/**
 * Runs only the per-file analysis (parse + per-file rules + program facts) over directories,
 * for profiling: `node --cpu-prof --import tsx scripts/bench/analyse-only.ts DIR...`.
 * With `--phases` it also times parsing alone, each rule's per-file check (without the keyword
 * prefilter), the program facts and the handle summaries (after the rules: what they left to do).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeText } from '../../server/src/engine/analyze';
import type { FileContext } from '../../server/src/rules/rule';
import { BUILTIN_KNOWLEDGE } from '../../server/src/knowledge/knowledge';
import { extractProgramFacts } from '../../server/src/facts/index';
import { languageForPath, loadAllGrammars, parseSync } from '../../server/src/parsing/parser';
import { collectSuppressions } from '../../server/src/engine/suppressions';
import { summarizeHandles } from '../../server/src/analysis/summarize';
import { RULES } from '../../server/src/rules/index';

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
  const args = process.argv.slice(2);
  const phases = args.includes('--phases');
  const dirs = args.filter((a) => !a.startsWith('--'));
  await loadAllGrammars();
  const files: string[] = [];
  for (const d of dirs) walk(d, files);
  files.sort();
  const texts = files.map((f) => ({ f, text: readFileSync(f, 'utf8') })).filter((x) => x.text.length <= 1024 * 1024);
  const bytes = texts.reduce((a, x) => a + x.text.length, 0);
  const t0 = performance.now();
  if (!phases) {
    for (const { f, text } of texts) analyzeText(f, text);
  } else {
    const times = new Map<string, number>();
    const add = (k: string, t: number) => times.set(k, (times.get(k) ?? 0) + t);
    for (const { f, text } of texts) {
      const lang = languageForPath(f)!;
      let t = performance.now();
      const tree = parseSync(text, lang.grammar);
      add('parse', performance.now() - t);
      const ctx: FileContext = { path: f, language: lang.language, grammar: lang.grammar, text, tree, knowledge: BUILTIN_KNOWLEDGE };
      for (const rule of RULES) {
        if (!rule.checkFile || !rule.meta.languages.includes(lang.language)) continue;
        t = performance.now();
        try {
          for (const f of rule.checkFile(ctx)) void f;
        } catch {
          /* as analyzeTree */
        }
        add(`rule ${rule.meta.id}`, performance.now() - t);
      }
      t = performance.now();
      extractProgramFacts(lang.language, tree, text, f);
      add('program facts', performance.now() - t);
      t = performance.now();
      summarizeHandles(lang.language, tree, text, f);
      add('handle summaries', performance.now() - t);
      t = performance.now();
      collectSuppressions(tree, text);
      add('suppressions', performance.now() - t);
      tree.delete();
    }
    const total = [...times.values()].reduce((a, b) => a + b, 0);
    for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(2).padStart(6)} s  ${k}`);
  }
  const ms = performance.now() - t0;
  console.log(`${texts.length} files, ${(bytes / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s: ${(bytes / 1e6 / (ms / 1000)).toFixed(2)} MB/s`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
