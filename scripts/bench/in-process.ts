/**
 * The in-process part of `npm run bench`: the keystroke path of the language server on a
 * 10,000-line Python file and the cross-file re-evaluation after an edit of `threading.py`.
 * `bench.ts` bundles this file as the server is bundled and runs it in a child process
 * (`node .bench/in-process.cjs STDLIB_COPY`), which prints both results as JSON.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { analyzeText, analyzeTree, contentHash } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import { IncrementalEvaluator } from '../../server/src/engine/incremental';
import { collectSuppressions } from '../../server/src/engine/suppressions';
import { extractProgramFacts } from '../../server/src/facts/index';
import { BUILTIN_KNOWLEDGE } from '../../server/src/knowledge/knowledge';
import { editFor, loadAllGrammars, parseSync, syntaxErrorRanges } from '../../server/src/parsing/parser';
import { RULES } from '../../server/src/rules/index';

/** The files under `dir`, as paths relative to `base`. */
export function listFiles(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) listFiles(full, base, out);
    else if (e.isFile()) out.push(relative(base, full));
  }
  return out;
}


export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A Python file of about `size` lines made of whole stdlib modules (deterministic). */
export function stdlibLines(stdlib: string, size = 10_000): string | undefined {
  const parts: string[] = [];
  let lines = 0;
  for (const name of ['_pydecimal.py', 'pydoc.py', 'typing.py', 'argparse.py', 'subprocess.py', 'tarfile.py']) {
    const p = join(stdlib, name);
    if (!existsSync(p)) continue;
    const t = readFileSync(p, 'utf8').split('\n');
    for (const l of t) {
      // Cut at a top-level statement once there are `size` lines (before a decorator, never
      // between it and its `def`, which would leave a syntax error at the end).
      if (lines >= size && /^(def |class |@)/.test(l)) return parts.join('\n') + '\n';
      parts.push(l);
      lines++;
    }
  }
  return lines >= size ? parts.join('\n') + '\n' : undefined;
}

/** Offsets inside the names assigned in function bodies (`        name = ...`): where the edits go. */
export function editPoints(text: string): number[] {
  const points: number[] = [];
  for (const m of text.matchAll(/^( {8,})[a-z_]\w* = /gm)) points.push(m.index + m[1].length + 1);
  return points;
}

export interface KeystrokeResult {
  lines: number;
  edits: number;
  parseMedian: number;
  analyseMedian: number;
  analyseP95: number;
  totalMedian: number;
  totalP95: number;
  /** Edits whose analysis reused the facts / the handle findings of untouched functions. */
  reusedEdits: { facts: number; handles: number };
  phases: Record<string, number>;
}

async function keystroke(stdlib: string): Promise<KeystrokeResult | string> {
  const text0 = stdlibLines(stdlib);
  if (!text0) return 'no stdlib modules to build a 10,000-line file from';
  type EditorReuse = NonNullable<Parameters<typeof analyzeTree>[5]>['factReuse'] & object;
  await loadAllGrammars();
  const path = join(tmpdir(), 'hl-bench-10k.py');
  let text = text0;
  let tree = parseSync(text, 'python');
  // What the server keeps per open document between analyses (lsp/validation.ts).
  const reuse: EditorReuse = {};
  for (let i = 0; i < 3; i++) analyzeTree(path, text, 'python', 'python', tree, { factReuse: reuse }); // warm-up (JIT)
  // Edit points: inside the names assigned in function bodies (`        name = ...`); each
  // keystroke inserts a character into one, the next deletes it again, so every state parses.
  const points = editPoints(text);
  const edits = 50;
  const parse: number[] = [];
  const analyse: number[] = [];
  const total: number[] = [];
  const reusedEdits = { facts: 0, handles: 0 };
  for (let k = 0; k < edits; k++) {
    const pos = points[Math.floor(((Math.floor(k / 2) + 0.5) / (edits / 2)) * points.length)];
    const insert = k % 2 === 0;
    const edit = insert ? editFor(text, pos, pos, 'x') : editFor(text, pos, pos + 1, '');
    const next = insert ? text.slice(0, pos) + 'x' + text.slice(pos) : text.slice(0, pos) + text.slice(pos + 1);
    const t0 = performance.now();
    tree.edit(edit);
    const newTree = parseSync(next, 'python', tree);
    const t1 = performance.now();
    analyzeTree(path, next, 'python', 'python', newTree, { factReuse: reuse });
    const t2 = performance.now();
    if (reuse.reused) reusedEdits.facts++;
    if (reuse.handles?.reused) reusedEdits.handles++;
    tree.delete();
    tree = newTree;
    text = next;
    parse.push(t1 - t0);
    analyse.push(t2 - t1);
    total.push(t2 - t0);
  }
  // Where the time goes on this file (one full pass per phase, nothing reused).
  const phases: Record<string, number> = {};
  const ctx = { path, language: 'python' as const, grammar: 'python' as const, text, tree, knowledge: BUILTIN_KNOWLEDGE };
  const time = (k: string, f: () => unknown) => {
    const ts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      f();
      ts.push(performance.now() - t);
    }
    phases[k] = ts.sort((a, b) => a - b)[2];
  };
  for (const rule of RULES) {
    if (!rule.checkFile || !rule.meta.languages.includes('python')) continue;
    time(`rule ${rule.meta.id}`, () => [...rule.checkFile!(ctx)]);
  }
  time('program facts', () => extractProgramFacts('python', tree, text, path));
  time('suppressions', () => collectSuppressions(tree, text));
  time('syntax errors', () => syntaxErrorRanges(tree));
  time('content hash', () => contentHash(text));
  tree.delete();
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  return {
    lines: text0.split('\n').length - 1,
    edits,
    parseMedian: percentile(s(parse), 50),
    analyseMedian: percentile(s(analyse), 50),
    analyseP95: percentile(s(analyse), 95),
    totalMedian: percentile(s(total), 50),
    totalP95: percentile(s(total), 95),
    reusedEdits,
    phases,
  };
}

export interface ReevalResult {
  mode: string;
  files: number;
  lines: number;
  edited: string;
  importers: number;
  analyseEditedMs: number;
  evaluateMedian: number;
  evaluateP95: number;
  /** The batch `evaluate()` over the same files, for comparison. */
  batchMedian: number;
}

/** Stdlib packages that import each other a lot, up to ~10^5 lines. */
async function crossFile(stdlibCopy: string): Promise<ReevalResult | string> {
  await loadAllGrammars();
  const pick = ['asyncio', 'concurrent', 'multiprocessing', 'email', 'logging', 'http', 'json', 'urllib', 'xml', 'unittest', 'importlib', 'sqlite3', 'ctypes', 'wsgiref', 'xmlrpc', 'dbm', 'html', 'encodings', 'tkinter', 'idlelib'];
  const top = ['threading.py', 'socket.py', 'selectors.py', 'subprocess.py', 'os.py', 'io.py', 'tempfile.py', 'shutil.py', 'signal.py', 'queue.py', 'weakref.py', 'contextlib.py', 'functools.py', 'collections/__init__.py', 'traceback.py', 'ssl.py'];
  const files: string[] = [];
  for (const t of top) if (existsSync(join(stdlibCopy, t))) files.push(join(stdlibCopy, t));
  for (const p of pick) {
    const d = join(stdlibCopy, p);
    if (existsSync(d)) for (const rel of listFiles(d).sort()) if (rel.endsWith('.py')) files.push(join(d, rel));
  }
  // Up to ~10^5 lines.
  const texts: { path: string; text: string }[] = [];
  let lines = 0;
  for (const f of files) {
    if (lines >= 100_000) break;
    const text = readFileSync(f, 'utf8');
    texts.push({ path: f, text });
    lines += text.split('\n').length - 1;
  }
  if (texts.length === 0) return 'no stdlib files';
  const analyses = texts.map(({ path, text }) => analyzeText(path, text)!).filter(Boolean);
  const edited = join(stdlibCopy, 'threading.py');
  const idx = analyses.findIndex((a) => a.path === edited);
  if (idx < 0) return 'threading.py not in the corpus';
  const importers = texts.filter((t) => /^\s*(import threading|from threading import)/m.test(t.text)).length;
  const scope = { roots: [stdlibCopy], projectFiles: [] };
  const original = texts[idx].text;
  const editedText = (k: number) => original.replace('def _newname(', k % 2 === 0 ? 'def _newname_(' : 'def _newname(');
  const times: number[] = [];
  const batchTimes: number[] = [];
  let analyseEditedMs = 0;
  const ev = new IncrementalEvaluator(DEFAULT_CONFIG, scope);
  for (const a of analyses) ev.update(a);
  ev.evaluate(); // the first, full build
  evaluate(analyses, DEFAULT_CONFIG, scope); // warm-up
  for (let k = 0; k < 11; k++) {
    const t0 = performance.now();
    analyses[idx] = analyzeText(edited, editedText(k))!;
    analyseEditedMs = performance.now() - t0;
    const t1 = performance.now();
    ev.update(analyses[idx]);
    ev.evaluate();
    times.push(performance.now() - t1);
    const t2 = performance.now();
    evaluate(analyses, DEFAULT_CONFIG, scope);
    batchTimes.push(performance.now() - t2);
  }
  times.sort((a, b) => a - b);
  batchTimes.sort((a, b) => a - b);
  return {
    mode: 'IncrementalEvaluator (engine/incremental.ts)',
    files: analyses.length,
    lines,
    edited: 'threading.py',
    importers,
    analyseEditedMs,
    evaluateMedian: percentile(times, 50),
    evaluateP95: percentile(times, 95),
    batchMedian: percentile(batchTimes, 50),
  };
}

async function main(): Promise<void> {
  const stdlibCopy = process.argv[2];
  const ks = await keystroke(stdlibCopy);
  const reeval = await crossFile(stdlibCopy);
  process.stdout.write(JSON.stringify({ ks, reeval }));
}

if (require.main === module) void main();
