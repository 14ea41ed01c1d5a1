/**
 * The editor path measured through the real language server over stdio (issue #14, rows
 * "keystroke → analysis" and "didChange → publishDiagnostics"): a 10,000-line and a
 * 12,000-line Python file made of whole standard-library modules are opened in a fresh
 * workspace folder, characters are typed into function bodies one at a time, and each
 * keystroke is timed from `didChange` to the `publishDiagnostics` of its version (debounce
 * included, default settings) and by the server's own log of the analysis (incremental
 * re-parse + per-file analysis, as `lsp/validation.ts` logs it with `verbose`).
 *
 * Exported for `bench.ts`; also runs alone: `npx tsx scripts/bench/keystroke-lsp.ts [N]`
 * (needs `npm run build` for `dist/server/server.js` and `python3` for the source files).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = join(__dirname, '..', '..');

/** Whole stdlib modules, in this order, until `lines` lines (cut before a top-level `def`/`class`). */
export function stdlibFile(stdlib: string, lines: number): string | undefined {
  const parts: string[] = [];
  let count = 0;
  for (const name of ['_pydecimal.py', 'pydoc.py', 'typing.py', 'argparse.py', 'subprocess.py', 'tarfile.py', 'inspect.py']) {
    const p = join(stdlib, name);
    if (!existsSync(p)) continue;
    for (const l of readFileSync(p, 'utf8').split('\n')) {
      // Before a top-level definition (its decorators included), so the file still parses.
      if (count >= lines && /^(def|class|@)/.test(l)) return parts.join('\n') + '\n';
      parts.push(l);
      count++;
    }
  }
  return count >= lines ? parts.join('\n') + '\n' : undefined;
}

/** The standard library of `python3` on PATH, or undefined. */
export function pythonStdlib(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export interface EditorRun {
  lines: number;
  keystrokes: number;
  /** The server's analysis of each version (re-parse + per-file analysis), from its log. */
  analysisMedian: number;
  analysisP95: number;
  /** `didChange` sent → `publishDiagnostics` for that version received (debounce included). */
  publishMedian: number;
  publishP95: number;
  /** The server's evaluation of the folder after each keystroke (program rules), from its log. */
  evaluationMedian: number;
}

export interface EditorBench {
  tenK?: EditorRun;
  twelveK?: EditorRun;
  skipped?: string;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
}

/** Offsets inside function bodies where a character can be typed (`        name = ...`), spread over the file. */
function typingPoints(text: string, count: number): number[] {
  const all: number[] = [];
  for (const m of text.matchAll(/^( {8,})[a-z_]\w* = /gm)) all.push(m.index + m[1].length + 1);
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push(all[Math.floor(((k + 0.5) / count) * all.length)]);
  return out;
}

function positionAt(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: offset - lineStart };
}

/** Opens `text` in a fresh server and types `keystrokes` characters (each one awaited). */
async function run(text: string, keystrokes: number): Promise<EditorRun> {
  const { TestClient, uriOf } = await import('../../test/lsp/client');
  const dir = mkdtempSync(join(tmpdir(), 'hl-bench-editor-'));
  const file = join(dir, 'big_module.py');
  writeFileSync(file, text);
  const client = await TestClient.start({ rootPath: dir, initializationOptions: { verbose: true } });
  const uri = uriOf(file);
  try {
    await client.open(uri, 'python', text);
    await client.diagnostics.waitFor((d) => d.uri === uri && d.version === 1, 'first publish', 120_000);
    const analysis: number[] = [];
    const evaluation: number[] = [];
    const publish: number[] = [];
    const points = typingPoints(text, keystrokes);
    // Warm-up: a few keystrokes not counted (JIT, first incremental evaluation).
    for (let k = -4; k < keystrokes; k++) {
      // Pairs of keystrokes: a character typed, then deleted again (every state parses).
      const at = points[Math.floor((k + 4) / 2) % points.length];
      const current = client.text(uri);
      const insert = (k + 4) % 2 === 0;
      const pos = positionAt(current, at);
      const range = insert ? { start: pos, end: pos } : { start: pos, end: { line: pos.line, character: pos.character + 1 } };
      const logFrom = client.logs.length;
      const eventsFrom = client.logEvents.events.length;
      const t0 = performance.now();
      const version = await client.change(uri, [{ range, text: insert ? 'x' : '' }]);
      await client.diagnostics.waitFor((d) => d.uri === uri && d.version === version, `publish of v${version}`, 60_000);
      const ms = performance.now() - t0;
      // The pass logs its analysis after the publish (the program facts come after the file's
      // own findings), and the evaluation after that: wait for the evaluation's line.
      const analysed = await client.logEvents.waitFor((l) => l.startsWith('analysed ') && l.includes(` v${version} in `), `the analysis of v${version}`, 60_000, eventsFrom);
      await client.logEvents.waitFor((l) => l.startsWith('evaluated '), `the evaluation after v${version}`, 60_000, client.logEvents.events.indexOf(analysed) + 1);
      if (k < 0) continue;
      publish.push(ms);
      for (const line of client.logs.slice(logFrom)) {
        const a = / v\d+ in (\d+(?:\.\d+)?) ms/.exec(line);
        if (a && line.startsWith('analysed ')) analysis.push(Number(a[1]));
        const e = /^evaluated .*: \d+ files in (\d+(?:\.\d+)?) ms/.exec(line);
        if (e) evaluation.push(Number(e[1]));
      }
    }
    return {
      lines: text.split('\n').length - 1,
      keystrokes,
      analysisMedian: quantile(analysis, 0.5),
      analysisP95: quantile(analysis, 0.95),
      publishMedian: quantile(publish, 0.5),
      publishP95: quantile(publish, 0.95),
      evaluationMedian: quantile(evaluation, 0.5),
    };
  } finally {
    await client.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both rows: a 10,000-line file (keystroke → analysis) and a 12,000-line one (didChange → publish). */
export async function editorBench(keystrokes = 30): Promise<EditorBench> {
  if (!existsSync(join(ROOT, 'dist', 'server', 'server.js'))) return { skipped: 'dist/server/server.js missing (npm run build)' };
  const stdlib = pythonStdlib();
  if (!stdlib) return { skipped: 'python3 not found (apt-get install python3)' };
  const ten = stdlibFile(stdlib, 10_000);
  const twelve = stdlibFile(stdlib, 12_000);
  if (!ten || !twelve) return { skipped: `too few modules in ${stdlib} for a 12,000-line file` };
  return { tenK: await run(ten, keystrokes), twelveK: await run(twelve, keystrokes) };
}

/** Lines for the bench report, targets beside the figures. */
export function editorLines(b: EditorBench): string[] {
  if (b.skipped) return [`editor path: skipped (${b.skipped})`];
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  if (b.tenK) {
    out.push(
      `keystroke → analysis in the server, ${b.tenK.lines.toLocaleString('en')}-line Python file: median ${f(b.tenK.analysisMedian)} ms, p95 ${f(b.tenK.analysisP95)} ms (target ≤ 25 ms); folder evaluation median ${f(b.tenK.evaluationMedian)} ms`,
    );
  }
  if (b.twelveK) {
    out.push(
      `didChange → publishDiagnostics, ${b.twelveK.lines.toLocaleString('en')}-line Python file, default settings: median ${f(b.twelveK.publishMedian)} ms, p95 ${f(b.twelveK.publishP95)} ms (target ≤ 100 ms, debounce included); analysis median ${f(b.twelveK.analysisMedian)} ms`,
    );
  }
  return out;
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 30);
  editorBench(n)
    .then((b) => {
      for (const l of editorLines(b)) console.log(l);
      console.log(JSON.stringify(b));
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
