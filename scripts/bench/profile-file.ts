/**
 * Profiles the analysis of one file without parsing (as on a keystroke, where the tree is
 * re-parsed incrementally): `node --cpu-prof --import tsx scripts/bench/profile-file.ts FILE [N]`.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { analyzeTree } from '../../server/src/engine/analyze';
import { languageForPath, loadAllGrammars, parseSync } from '../../server/src/parsing/parser';

async function main(): Promise<void> {
  const [file, n] = process.argv.slice(2);
  await loadAllGrammars();
  const text = readFileSync(file, 'utf8');
  const lang = languageForPath(file)!;
  const tree = parseSync(text, lang.grammar);
  const times: number[] = [];
  for (let i = 0; i < Number(n ?? 30); i++) {
    const t = performance.now();
    analyzeTree(file, text, lang.language, lang.grammar, tree);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${file}: median ${times[times.length >> 1].toFixed(1)} ms, min ${times[0].toFixed(1)} ms`);
  tree.delete();
}

void main();
