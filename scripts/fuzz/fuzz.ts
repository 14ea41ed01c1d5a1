/**
 * `npm run fuzz [-- --count N --seed S --slow-ms MS]`: the long run of the mutation fuzzer
 * (`scripts/fuzz/mutants.ts`). Prints the figures and exits 1 on any crash, analysis error,
 * slow mutant or worker/main-thread difference.
 */
import { parseArgs } from 'node:util';
import { fuzz } from './mutants';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, 'slow-ms': { type: 'string' } } });
  const count = Number(values.count ?? 10_000);
  const seed = Number(values.seed ?? 20261206);
  const slowMs = Number(values['slow-ms'] ?? 10_000);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || !(slowMs > 0)) {
    process.stderr.write('usage: npm run fuzz -- [--count N] [--seed S] [--slow-ms MS]\n');
    return 2;
  }
  const started = performance.now();
  const r = await fuzz({ seed, count, slowMs });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  process.stdout.write(
    `fuzz: ${r.mutants} mutants from seed ${r.seed} in ${seconds} s: ${r.crashes.length} crashes, ${r.analysisErrors.length} analysis errors, ` +
      `${r.slow.length} slower than ${slowMs} ms, ${r.notAnalysed} reported as not analysed, workers ${r.workerDifference ? 'DIFFER' : 'identical'}\n`,
  );
  for (const c of r.crashes.slice(0, 10)) process.stdout.write(`crash ${c.mutant}: ${c.error}\n`);
  for (const e of r.analysisErrors.slice(0, 10)) process.stdout.write(`analysis error ${e.mutant}: ${e.note}\n`);
  for (const s of r.slow.slice(0, 10)) process.stdout.write(`slow ${s.mutant}: ${s.ms} ms\n`);
  if (r.workerDifference) process.stdout.write(`${r.workerDifference}\n`);
  return r.crashes.length || r.analysisErrors.length || r.slow.length || r.workerDifference ? 1 : 0;
}

void main().then((code) => process.exit(code));
