/**
 * The mutation fuzzer behind `npm run fuzz` and `test/scan/fuzz.test.ts`: seeded mutants of
 * the fixtures and examples (deletions, duplications, inserted tokens, deep nesting,
 * truncation, other line ends) are analysed one by one in this thread and scanned as one
 * workspace with and without worker threads. It counts crashes (an analysis that throws),
 * analysis errors (a "partly analysed" note other than deep nesting: an analyser failed on
 * the mutant), slow mutants, and differences between the worker and main-thread reports.
 * A fixed seed gives the same mutants on every machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { loadAllGrammars } from '../../server/src/parsing/parser';
import { formatReport } from '../../server/src/scan/reporters/index';
import { scan } from '../../server/src/scan/scanner';

const ROOT = path.join(__dirname, '..', '..');
const SOURCE_EXTENSIONS = new Set(['.c', '.h', '.py', '.ts', '.tsx', '.js', '.mjs', '.cjs']);

/** Tokens worth inserting: brackets, keywords, the calls the rules look for, line ends, odd characters. */
const TOKENS = [
  '{', '}', '(', ')', '[', ']', ':', ';', ',', '\n', '\r', '\r\n', '"', "'", '"""', '`', '/*', '*/', '#',
  '#if 0\n', '#endif\n', '#define X(a) a\n', 'def ', 'class C:\n', 'if x:\n', 'else:\n', 'return ', 'yield ',
  'with ', 'try:\n', 'except:\n', 'fork()', 'os.fork()', 'open(p)', 'fopen(p, "r")', 'fs.openSync(p)',
  'pthread_create(&t, 0, f, 0);', 'threading.Thread(target=f).start()', 'close(fd);', 'exit(1);',
  'async ', 'await ', '=>', '<T>', '${', '\t', ' '.repeat(16), 'é', '😀', '\u2028', '\\',
];

/** A small deterministic generator (numerical recipes' LCG), so a failure reproduces from its seed. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The seed files: every source fixture and example (test/fixtures, examples). */
export function seedFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (SOURCE_EXTENSIONS.has(path.extname(e.name)) && !e.name.includes('.fixed.')) out.push(full);
    }
  };
  walk(path.join(ROOT, 'test', 'fixtures'));
  walk(path.join(ROOT, 'examples'));
  return out.sort();
}

/** One mutation of `text`, chosen by `next`. */
export function mutate(text: string, next: () => number): string {
  const at = () => Math.floor(next() * (text.length + 1));
  const span = () => {
    const a = at();
    const b = Math.min(text.length, a + Math.floor(next() * 200));
    return [a, b] as const;
  };
  switch (Math.floor(next() * 7)) {
    case 0: {
      const [a, b] = span();
      return text.slice(0, a) + text.slice(b);
    }
    case 1: {
      const [a, b] = span();
      return text.slice(0, b) + text.slice(a, b) + text.slice(b);
    }
    case 2: {
      const i = at();
      return text.slice(0, i) + TOKENS[Math.floor(next() * TOKENS.length)] + text.slice(i);
    }
    case 3: {
      // Deep nesting: a span wrapped in many brackets, or indented under many blocks.
      const [a, b] = span();
      const depth = 20 + Math.floor(next() * 600);
      if (next() < 0.5) return text.slice(0, a) + '{('.repeat(depth) + text.slice(a, b) + ')}'.repeat(depth) + text.slice(b);
      const lines = text.slice(a, b).split('\n');
      const nested = Array.from({ length: depth }, (_, d) => `${' '.repeat(d)}if x:`).join('\n');
      return `${text.slice(0, a)}\n${nested}\n${lines.map((l) => ' '.repeat(depth) + l).join('\n')}\n${text.slice(b)}`;
    }
    case 4:
      return text.slice(0, at());
    case 5:
      return text.replace(/\n/g, next() < 0.5 ? '\r' : '\r\n');
    default: {
      const [a, b] = span();
      return text.slice(0, a) + text.slice(a, b).split('').reverse().join('') + text.slice(b);
    }
  }
}

export interface FuzzReport {
  seed: number;
  mutants: number;
  crashes: { mutant: string; error: string }[];
  analysisErrors: { mutant: string; note: string }[];
  notAnalysed: number;
  /** Mutants whose analysis took longer than `slowMs` (reported by the script, never asserted in tests). */
  slow: { mutant: string; ms: number }[];
  /** Empty when the worker-thread scan reported exactly what the main-thread scan did. */
  workerDifference: string;
}

/** Writes `count` mutants from `seed` into a new folder; returns the folder and the mutant paths. */
export function writeMutants(seed: number, count: number): { dir: string; files: string[] } {
  const seeds = seedFiles();
  const next = random(seed);
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-fuzz-')));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = seeds[Math.floor(next() * seeds.length)];
    let text = fs.readFileSync(from, 'utf8');
    const rounds = 1 + Math.floor(next() * 3);
    for (let r = 0; r < rounds; r++) text = mutate(text, next);
    const file = path.join(dir, `m${String(i).padStart(5, '0')}${path.extname(from)}`);
    fs.writeFileSync(file, text);
    files.push(file);
  }
  return { dir, files };
}

/** Analyses every mutant in this thread, then scans them all with and without workers. */
export async function fuzz(options: { seed: number; count: number; slowMs?: number; compareWorkers?: boolean }): Promise<FuzzReport> {
  await loadAllGrammars();
  const { dir, files } = writeMutants(options.seed, options.count);
  const report: FuzzReport = { seed: options.seed, mutants: files.length, crashes: [], analysisErrors: [], notAnalysed: 0, slow: [], workerDifference: '' };
  try {
    for (const file of files) {
      const name = path.basename(file);
      const started = performance.now();
      try {
        const analysis = analyzeText(file, fs.readFileSync(file, 'utf8'));
        if (analysis?.notAnalysed !== undefined) report.notAnalysed++;
        for (const note of analysis?.notes ?? []) {
          if (!/nested too deeply/.test(note)) report.analysisErrors.push({ mutant: name, note });
        }
      } catch (err) {
        report.crashes.push({ mutant: name, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
      const ms = performance.now() - started;
      if (options.slowMs !== undefined && ms > options.slowMs) report.slow.push({ mutant: name, ms: Math.round(ms) });
    }
    if (options.compareWorkers !== false) {
      const config = { ...DEFAULT_CONFIG, rules: {}, exclude: [] };
      const json = async (jobs: number) =>
        formatReport('json', await scan({ paths: [], cwd: dir, config, jobs, minFilesForWorkers: 1 }), { cwd: dir, config, summary: true });
      const main = await json(0);
      const workers = await json(2);
      if (main !== workers) report.workerDifference = firstDifference(main, workers);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `main thread: …${a.slice(Math.max(0, i - 120), i + 120)}…\nworkers: …${b.slice(Math.max(0, i - 120), i + 120)}…`;
}
