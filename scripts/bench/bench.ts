/**
 * `npm run bench`: how fast and how big Hazard Lens is, next to ast-grep and ripgrep on the
 * same files, with the performance targets printed beside each figure. Not part of `npm test`.
 *
 * Corpora (all from the machine itself; nothing is downloaded — a missing one is skipped with
 * the apt/npm command that provides it):
 * - python-stdlib: the standard library of `python3` on PATH, without site-packages;
 * - glibc: Debian's `glibc-source` (`apt-get install glibc-source`), unpacked once into
 *   `.bench/glibc`; the corpus is the C sources outside `sysdeps/` and `iconvdata/` (the
 *   latter is 19 MB of generated charset tables);
 * - typescript: the `.ts` sources (not `.d.ts`) shipped in this repository's node_modules.
 * Each corpus is copied once into `.bench/corpus/<name>/`, keeping only the files all three
 * tools read alike (supported extension, UTF-8, under the size limit; the scanner would also
 * decode other encodings, ast-grep would not), so our CLI, ast-grep and ripgrep
 * all read exactly the same file set (checked with ast-grep's `--inspect summary` and the
 * CLI's `--stats`). Delete `.bench/corpus/` to rebuild the copies (e.g. after a Python upgrade).
 *
 * Per corpus: ripgrep (also warms the page cache), ast-grep with one pattern on 2 threads,
 * our CLI cold with 2 workers (fresh cache dir), warm (same cache dir), cold with 1 worker,
 * and the language server's peak RSS after "Scan Workspace" over the corpus. Then in-process:
 * keystroke-to-diagnostics analysis time on a 10,000-line Python file (incremental re-parse
 * with the old tree + `analyzeTree` with the document's reuse state, as the server's validation
 * does it: the facts and handle findings of functions an edit cannot reach are reused;
 * debounce excluded), and
 * the cross-file re-evaluation after an edit of a file others import (~10^5-line workspace).
 * Then medium trees: eight folders of the corpora (25,000–90,000 lines each) scanned on their own,
 * ast-grep against our cold scan, where fixed costs weigh more.
 * Then, in the language server: didChange → publishDiagnostics on a 12,000-line Python file with
 * the default settings (the debounce included), each edit sent with the server idle.
 * Last, installed packages: a small patched WSGI application that uses oslo.messaging, scanned
 * with the machine's dist-packages as its Python environment (Debian's python3-oslo.messaging),
 * first and second scan (unchanged, and after an edit of the application).
 *
 * First, start-up: `node -e 0`, `--version` and a one-file scan (cached and not), interleaved.
 *
 *   npm run bench [-- [--quick] [--repeat N] [--no-lsp] [start-up|environment|corpus-prefix...]]
 *
 * Ends with the targets table of issue #17 (every row's figure next to its target, or why it was
 * not measured). Writes `.bench/results.json` and `.bench/results.md` (the README "Performance" table).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { editPoints, listFiles, percentile, stdlibLines, type KeystrokeResult, type ReevalResult } from './in-process';

const ROOT = join(__dirname, '..', '..');
const BENCH = join(ROOT, '.bench');
const CLI = join(ROOT, 'bin', 'hazard-lens.js');
const MAX_FILE_BYTES = 1024 * 1024;

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const REPEAT = Math.max(1, Number(option('--repeat') ?? 1));
const QUICK = flag('--quick');
const wanted = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--repeat');

// ---------------------------------------------------------------------------------------------
// Corpora

interface CorpusDef {
  name: string;
  label: string;
  /** Source directory, or why it is unavailable. */
  source: () => { dir: string } | { unavailable: string };
  /** Keep this file (path relative to the source)? */
  keep: (rel: string) => boolean;
  astGrep: { lang: string; pattern: string };
  rgPattern: string;
}

const CORPORA: CorpusDef[] = [
  {
    name: 'python-stdlib',
    label: 'Python stdlib',
    source: () => {
      const r = spawnSync('python3', ['-c', 'import sysconfig, sys; print(sysconfig.get_paths()["stdlib"]); print(sys.version.split()[0])'], { encoding: 'utf8' });
      if (r.status !== 0) return { unavailable: 'python3 not found (apt-get install python3)' };
      return { dir: r.stdout.split('\n')[0].trim() };
    },
    keep: (rel) => !rel.split('/').includes('site-packages') && !rel.split('/').includes('__pycache__') && /\.(py|pyi)$/.test(rel),
    astGrep: { lang: 'python', pattern: 'open($$$)' },
    rgPattern: 'open\\(',
  },
  {
    name: 'glibc',
    label: 'glibc (without sysdeps/, iconvdata/)',
    source: () => {
      const target = join(BENCH, 'glibc');
      if (existsSync(target) && readdirSync(target).length > 0) return { dir: target };
      const srcDir = '/usr/src/glibc';
      const tarball = existsSync(srcDir) ? readdirSync(srcDir).find((n) => /^glibc-.*\.tar\.xz$/.test(n)) : undefined;
      if (!tarball) return { unavailable: 'install it with `apt-get install glibc-source`' };
      mkdirSync(target, { recursive: true });
      execOrThrow('tar', ['-xJf', join(srcDir, tarball), '-C', target, '--strip-components=1']);
      return { dir: target };
    },
    keep: (rel) => /\.[ch]$/.test(rel) && !/^(sysdeps|iconvdata)\//.test(rel),
    astGrep: { lang: 'c', pattern: 'fork()' },
    rgPattern: 'fork\\(',
  },
  {
    name: 'typescript',
    label: 'TypeScript in node_modules',
    source: () => (existsSync(join(ROOT, 'node_modules')) ? { dir: join(ROOT, 'node_modules') } : { unavailable: 'run `npm ci` first' }),
    // .tsx is left out: ast-grep's `ts` language does not read it (it is `tsx` there).
    // Nested node_modules are left out: the scanner never enters a node_modules folder.
    keep: (rel) => /\.(ts|mts|cts)$/.test(rel) && !/\.d\.[mc]?ts$/.test(rel) && !rel.startsWith('.') && !rel.split('/').includes('node_modules'),
    astGrep: { lang: 'ts', pattern: '$A.pipe($B)' },
    rgPattern: '\\.pipe\\(',
  },
];

function execOrThrow(cmd: string, argv: string[]): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface Materialised {
  def: CorpusDef;
  dir: string;
  files: number;
  bytes: number;
  lines: number;
}


/** Copies the files the scanner would read into `.bench/corpus/<name>` (once; reused after). */
function materialise(def: CorpusDef): Materialised | string {
  const target = join(BENCH, 'corpus', def.name);
  const manifest = join(BENCH, 'corpus', `${def.name}.json`);
  if (existsSync(manifest) && existsSync(target)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { files: number; bytes: number; lines: number };
    return { def, dir: target, ...m };
  }
  const src = def.source();
  if ('unavailable' in src) return src.unavailable;
  rmSync(target, { recursive: true, force: true });
  let files = 0;
  let bytes = 0;
  let lines = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const rel of listFiles(src.dir).sort()) {
    if (!def.keep(rel)) continue;
    const full = join(src.dir, rel);
    const size = statSync(full).size;
    if (size > MAX_FILE_BYTES || size === 0) continue;
    const buf = readFileSync(full);
    if (buf.includes(0)) continue;
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      continue; // not UTF-8: left out (the scanner decodes it as Windows-1252, ast-grep does not)
    }
    const dest = join(target, rel);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(full, dest);
    files++;
    bytes += size;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  }
  writeFileSync(manifest, JSON.stringify({ files, bytes, lines, source: src.dir }));
  return { def, dir: target, files, bytes, lines };
}

// ---------------------------------------------------------------------------------------------
// Timed child processes

interface Timed {
  ms: number;
  maxRssMb?: number;
  stderr: string;
  status: number | null;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs a command, measuring wall time and peak RSS (via /usr/bin/time, else /proc polling). */
function timed(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const rssFile = join(tmpdir(), `hl-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const [c, a] = TIME ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...argv]] : [cmd, argv];
    const t0 = performance.now();
    const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let polledKb = 0;
    const poll = TIME
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polledKb = Math.max(polledKb, Number(m[1]));
          } catch {
            /* exited */
          }
        }, 20);
    child.on('error', reject);
    child.on('close', (status) => {
      const ms = performance.now() - t0;
      if (poll) clearInterval(poll);
      let kb = polledKb;
      if (TIME) {
        try {
          kb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
          rmSync(rssFile, { force: true });
        } catch {
          kb = 0;
        }
      }
      resolve({ ms, maxRssMb: kb ? kb / 1024 : undefined, stderr, status });
    });
  });
}

async function median(runs: number, f: () => Promise<Timed>): Promise<Timed> {
  const all: Timed[] = [];
  for (let i = 0; i < runs; i++) all.push(await f());
  all.sort((a, b) => a.ms - b.ms);
  return all[Math.floor((all.length - 1) / 2)];
}

// ---------------------------------------------------------------------------------------------
// Our CLI

interface CliStats {
  files: number;
  bytes: number;
  analysed: number;
  cacheHits: number;
  prefiltered: number;
  skipped: number;
  jobs: number;
  ms: { discover: number; analyse: number; evaluate: number; total: number };
  maxRssMb: number;
  /** Files of installed packages joined, and how many came from the cache (builds with Python environments). */
  dependencyFiles?: number;
  dependencyCacheHits?: number;
}

const cliHelp = spawnSync(process.execPath, [CLI, 'scan', '--help'], { encoding: 'utf8' }).stdout ?? '';
const CLI_HAS = {
  jobs: cliHelp.includes('--jobs'),
  cacheDir: cliHelp.includes('--cache-dir'),
  noCache: cliHelp.includes('--no-cache'),
  stats: cliHelp.includes('--stats'),
  nodeModules: cliHelp.includes('--node-modules'),
};

interface OurRun extends Timed {
  stats?: CliStats;
}

async function ours(dir: string, opts: { jobs?: number; cacheDir?: string }): Promise<OurRun> {
  const argv = [CLI, 'scan', dir, '--format', 'json', '-o', '/dev/null', '--no-gitignore', '-q'];
  if (opts.jobs !== undefined && CLI_HAS.jobs) argv.push('--jobs', String(opts.jobs));
  if (opts.cacheDir && CLI_HAS.cacheDir) argv.push('--cache-dir', opts.cacheDir);
  else if (!opts.cacheDir && CLI_HAS.noCache) argv.push('--no-cache');
  if (CLI_HAS.stats) argv.push('--stats');
  // The corpus copies sit under this repository, whose own node_modules Node's lookup would
  // find: ast-grep reads only the corpus files, and so do we.
  if (CLI_HAS.nodeModules) argv.push('--node-modules', 'none');
  const r = await timed(process.execPath, argv);
  if (r.status !== 0 && r.status !== 1) throw new Error(`hazard-lens scan failed (${r.status}): ${r.stderr.slice(-2000)}`);
  let stats: CliStats | undefined;
  for (const line of r.stderr.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as CliStats;
      if (parsed.ms) {
        stats = parsed;
        break;
      }
    } catch {
      /* not the stats line */
    }
  }
  return { ...r, stats };
}

// ---------------------------------------------------------------------------------------------
// Installed packages: a small patched WSGI application that uses oslo.messaging, scanned with
// the machine's dist-packages (Debian's python3-oslo.messaging) as its Python environment.

const DIST_PACKAGES = '/usr/lib/python3/dist-packages';

interface EnvironmentResult {
  dependencyFiles: number;
  cold: OurRun;
  /** Unchanged workspace: the evaluation cache answers. */
  warm: OurRun;
  /** After an edit of the application: the evaluation is redone, the packages come from the cache. */
  edited: OurRun;
}

async function environmentBench(): Promise<EnvironmentResult | string> {
  if (!existsSync(join(DIST_PACKAGES, 'oslo_messaging'))) return `no oslo_messaging in ${DIST_PACKAGES} (apt-get install python3-oslo.messaging)`;
  if (!cliHelp.includes('--python-env')) return 'this CLI has no --python-env';
  const app = join(BENCH, 'environment-app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'shop'), { recursive: true });
  writeFileSync(join(app, 'shop', '__init__.py'), 'import eventlet\n\neventlet.monkey_patch()\n');
  const wsgi = join(app, 'shop', 'wsgi.py');
  const text = [
    'import oslo_messaging',
    'from oslo_config import cfg',
    '',
    'TRANSPORT = oslo_messaging.get_rpc_transport(cfg.CONF)',
    '',
    '',
    'def application(environ, start_response):',
    '    client = oslo_messaging.RPCClient(TRANSPORT, oslo_messaging.Target(topic="orders"))',
    '    client.cast({}, "place", order=environ.get("QUERY_STRING"))',
    '    start_response("202 Accepted", [])',
    '    return []',
    '',
  ].join('\n');
  writeFileSync(wsgi, text);
  const cache = freshCacheDir();
  const run = async () => {
    const r = await timed(process.execPath, [CLI, 'scan', app, '--python-env', DIST_PACKAGES, '--cache-dir', cache, '--format', 'json', '-o', '/dev/null', '-q', '--stats']);
    const line = r.stderr.split('\n').find((l) => l.startsWith('{'));
    return { ...r, stats: line ? (JSON.parse(line) as CliStats) : undefined };
  };
  try {
    const cold = await run();
    const warm = await run();
    writeFileSync(wsgi, `${text}# edited\n`);
    const edited = await run();
    return { dependencyFiles: cold.stats?.dependencyFiles ?? 0, cold, warm, edited };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function environmentLines(e: EnvironmentResult | string | undefined): string[] {
  if (e === undefined) return [];
  if (typeof e === 'string') return [`Installed packages: skipped (${e}).`];
  const deps = (r: OurRun) => (r.stats ? `${r.stats.dependencyCacheHits ?? 0} of ${r.stats.dependencyFiles ?? 0} package files from the cache` : '');
  return [
    `Installed packages (a patched WSGI application using oslo.messaging, \`--python-env ${DIST_PACKAGES}\`; ${e.dependencyFiles} package files reached): first scan ${secs(e.cold.ms)}; second, unchanged ${secs(e.warm.ms)} (evaluation cache); second, after an edit of the application ${secs(e.edited.ms)} (${deps(e.edited)}).`,
  ];
}

function freshCacheDir(): string {
  return mkdtempSync(join(tmpdir(), 'hl-bench-cache-'));
}

// ---------------------------------------------------------------------------------------------
// ast-grep and ripgrep

function astGrepBinary(): string | undefined {
  for (const p of ['node_modules/@ast-grep/cli/ast-grep', 'node_modules/.bin/ast-grep']) {
    const full = join(ROOT, p);
    if (existsSync(full)) return full;
  }
  return undefined;
}
const AST_GREP = astGrepBinary();
const RG = spawnSync('rg', ['--version']).status === 0 ? 'rg' : undefined;
const NO_IGNORE = ['--no-ignore', 'hidden', '--no-ignore', 'dot', '--no-ignore', 'vcs', '--no-ignore', 'parent', '--no-ignore', 'global', '--no-ignore', 'exclude'];

async function astGrep(c: Materialised): Promise<(Timed & { scanned?: number }) | undefined> {
  if (!AST_GREP) return undefined;
  const r = await median(REPEAT, () =>
    timed(AST_GREP, ['run', '-p', c.def.astGrep.pattern, '-l', c.def.astGrep.lang, '--threads', '2', ...NO_IGNORE, '--inspect', 'summary', c.dir]),
  );
  const m = /scannedFileCount=(\d+)/.exec(r.stderr);
  return { ...r, scanned: m ? Number(m[1]) : undefined };
}

async function ripgrep(c: Materialised): Promise<Timed | undefined> {
  if (!RG) return undefined;
  return median(REPEAT, () => timed(RG, ['--no-ignore', '--hidden', '-j', '2', '-c', c.def.rgPattern, c.dir]));
}

// ---------------------------------------------------------------------------------------------
// Medium trees: whole folders of 25,000–90,000 lines, where start-up, the worker pool's start and
// the program model weigh more than on the large corpora

/** Folders of the bench corpora, each scanned on its own as a project of that size would be. */
const MEDIUM_TREES: { corpus: string; folder: string }[] = [
  { corpus: 'python-stdlib', folder: 'idlelib' },
  { corpus: 'python-stdlib', folder: 'unittest' },
  { corpus: 'python-stdlib', folder: 'test/test_asyncio' },
  { corpus: 'glibc', folder: 'posix' },
  { corpus: 'glibc', folder: 'elf' },
  { corpus: 'glibc', folder: 'nptl' },
  { corpus: 'typescript', folder: 'zod' },
  { corpus: 'typescript', folder: '@azure' },
];

interface MediumTree {
  name: string;
  lines: number;
  astGrepMs: number;
  oursMs: number;
}

/**
 * ast-grep (the corpus's pattern, 2 threads) and our cold scan (2 workers, a fresh cache folder)
 * on each medium tree of the corpora run, interleaved, medians of `rounds`.
 */
async function mediumTrees(corpora: Materialised[], rounds = QUICK ? 1 : 3): Promise<MediumTree[] | string> {
  if (!AST_GREP) return 'ast-grep missing: npm ci installs @ast-grep/cli';
  const trees = MEDIUM_TREES.flatMap(({ corpus, folder }) => {
    const c = corpora.find((m) => m.def.name === corpus);
    const dir = c ? join(c.dir, folder) : undefined;
    return c && dir && existsSync(dir) ? [{ c, dir, name: `${corpus}/${folder}` }] : [];
  });
  if (trees.length === 0) return 'no corpus with medium trees run';
  const out: MediumTree[] = [];
  for (const t of trees) {
    const astGrepMs: number[] = [];
    const oursMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      astGrepMs.push((await timed(AST_GREP, ['run', '-p', t.c.def.astGrep.pattern, '-l', t.c.def.astGrep.lang, '--threads', '2', ...NO_IGNORE, t.dir])).ms);
      const cache = freshCacheDir();
      try {
        oursMs.push((await ours(t.dir, { jobs: 2, cacheDir: cache })).ms);
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const lines = listFiles(t.dir).reduce((n, f) => n + readFileSync(join(t.dir, f), 'utf8').split('\n').length - 1, 0);
    out.push({ name: t.name, lines, astGrepMs: mid(astGrepMs), oursMs: mid(oursMs) });
  }
  return out;
}

/** The median of the trees' ours/ast-grep ratios. */
function mediumRatio(trees: MediumTree[]): number {
  const r = trees.map((t) => t.oursMs / t.astGrepMs).sort((a, b) => a - b);
  return r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
}

function mediumLines(m: MediumTree[] | string | undefined): string[] {
  if (m === undefined) return [];
  if (typeof m === 'string') return [`Medium trees: skipped (${m}).`];
  const each = m.map((t) => `${t.name} (${t.lines.toLocaleString('en')} lines) ${secs(t.astGrepMs)} / ${secs(t.oursMs)} = ${f1(t.oursMs / t.astGrepMs, 1)}×`).join(' · ');
  return [`Medium trees, each scanned as a project (ast-grep, 1 pattern, 2 threads / ours cold, 2 workers, fresh cache; median of ${QUICK ? 1 : 3}): ${each}. Median ratio ${f1(mediumRatio(m), 1)}× (target ≤ 6×).`];
}

// ---------------------------------------------------------------------------------------------
// Language server: peak RSS after "Scan Workspace"

async function serverRss(c: Materialised): Promise<{ mb: number; ms: number; files?: number } | string> {
  const serverJs = join(ROOT, 'dist', 'server', 'server.js');
  if (!existsSync(serverJs)) return 'dist/server/server.js missing (npm run build)';
  const { TestClient } = await import('../../test/lsp/client');
  const client = await TestClient.start({ rootPath: c.dir, settings: CLI_HAS.nodeModules ? { nodeModules: 'none' } : {} });
  const pid = (client as unknown as { process: { pid: number } }).process.pid;
  try {
    const t0 = performance.now();
    const summary = await client.executeCommand<{ files?: number }>('hazardLens.scanWorkspace');
    const ms = performance.now() - t0;
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { mb: m ? Number(m[1]) / 1024 : NaN, ms, files: summary?.files };
  } finally {
    await client.stop();
  }
}

interface PublishResult {
  lines: number;
  edits: number;
  median: number;
  p95: number;
}

/**
 * didChange → publishDiagnostics in the language server (default settings, so the debounce is
 * included): a 12,000-line Python file is opened, then single-character edits (an insertion, then
 * its deletion) are sent one at a time, each timed until the diagnostics of its version arrive.
 * Each edit is sent once the server has finished with the one before (the evaluation that
 * follows it is in its log): the figure is an edit's own latency, with no earlier work queued
 * in front of it. (The server publishes a file's own findings before it extracts the program
 * facts; an edit sent the moment that publication arrives would wait for that work and the
 * evaluation, 30–40 ms on this file.)
 */
async function didChangeToPublish(stdlib: string): Promise<PublishResult | string> {
  if (!existsSync(join(ROOT, 'dist', 'server', 'server.js'))) return 'dist/server/server.js missing (npm run build)';
  const text0 = stdlibLines(stdlib, 12_000);
  if (!text0) return 'no stdlib modules to build a 12,000-line file from';
  const { TestClient, uriOf } = await import('../../test/lsp/client');
  const dir = mkdtempSync(join(tmpdir(), 'hl-bench-publish-'));
  const file = join(dir, 'edited.py');
  writeFileSync(file, text0);
  const uri = uriOf(file);
  const client = await TestClient.start({ rootPath: dir, settings: CLI_HAS.nodeModules ? { nodeModules: 'none' } : {}, initializationOptions: { verbose: true } });
  try {
    const published = (version: number, from: number) => client.diagnostics.waitFor((p) => p.uri === uri && (p.version === undefined || p.version === version), `diagnostics of version ${version}`, 60_000, from);
    await client.open(uri, 'python', text0);
    await published(1, 0);
    let text = text0;
    const points = editPoints(text);
    const positionOf = (offset: number) => {
      const before = text.slice(0, offset);
      const line = before.split('\n').length - 1;
      return { line, character: offset - (before.lastIndexOf('\n') + 1) };
    };
    const edits = QUICK ? 10 : 30;
    const times: number[] = [];
    for (let k = -4; k < edits; k++) {
      const i = Math.max(0, k);
      const pos = points[Math.floor(((Math.floor(i / 2) + 0.5) / (edits / 2)) * points.length)];
      const insert = (k & 1) === 0;
      const at = positionOf(pos);
      const range = insert ? { start: at, end: at } : { start: at, end: { line: at.line, character: at.character + 1 } };
      const from = client.diagnostics.events.length;
      const logged = client.logEvents.events.length;
      const t0 = performance.now();
      const version = await client.change(uri, [{ range, text: insert ? 'x' : '' }]);
      await published(version, from);
      if (k >= 0) times.push(performance.now() - t0); // the first four warm the server up
      // The server's work on this edit ends with the evaluation of the folder that follows
      // the log of the edit's analysis.
      const analysed = await client.logEvents.waitFor((l) => l.startsWith('analysed ') && l.includes(` v${version} in `), `the analysis of version ${version}`, 60_000, logged);
      await client.logEvents.waitFor((l) => l.startsWith('evaluated '), `the evaluation after version ${version}`, 60_000, client.logEvents.events.indexOf(analysed) + 1);
      text = insert ? text.slice(0, pos) + 'x' + text.slice(pos) : text.slice(0, pos) + text.slice(pos + 1);
    }
    times.sort((a, b) => a - b);
    return { lines: text0.split('\n').length - 1, edits, median: percentile(times, 50), p95: percentile(times, 95) };
  } finally {
    await client.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// In-process: keystroke analysis and cross-file re-evaluation, in the code that ships

/**
 * `in-process.ts` bundled as the language server is (web-tree-sitter's glue edited by
 * `scripts/tree-sitter-glue.mjs`), then run in a child process: the keystroke and
 * re-evaluation figures are those of the shipped build, not of the sources under tsx.
 */
async function inProcess(stdlibCopy: string): Promise<{ ks: KeystrokeResult | string; reeval: ReevalResult | string }> {
  const esbuild = await import('esbuild');
  const { treeSitterGluePlugin } = await import('../tree-sitter-glue.mjs');
  const outfile = join(BENCH, 'in-process.cjs');
  mkdirSync(BENCH, { recursive: true });
  await esbuild.build({
    entryPoints: [join(__dirname, 'in-process.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    absWorkingDir: ROOT,
    alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs', 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
    define: { __HAZARD_LENS_BUILD__: '"bench"' },
    plugins: [treeSitterGluePlugin],
  });
  const r = spawnSync(process.execPath, [outfile, stdlibCopy], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    const why = `in-process run failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`;
    return { ks: why, reeval: why };
  }
  return JSON.parse(r.stdout) as { ks: KeystrokeResult | string; reeval: ReevalResult | string };
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
const secs = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
const mbOf = (bytes: number) => bytes / 1024 / 1024;
const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'met' : 'MISSED');

interface CorpusResult {
  name: string;
  label: string;
  files: number;
  mb: number;
  lines: number;
  rg?: Timed;
  astGrep?: Timed & { scanned?: number };
  cold2?: OurRun;
  warm?: OurRun;
  cold1?: OurRun;
  lsp?: { mb: number; ms: number; files?: number } | string;
}

// ---------------------------------------------------------------------------------------------
// Start-up: a one-file scan next to a bare Node start

interface StartUpResult {
  rounds: number;
  /** Median wall time (ms) of each command. */
  nodeMs: number;
  versionMs: number;
  /** `scan one.py` with its analysis already in the cache folder. */
  cachedMs: number;
  /** `scan one.py` with an empty cache folder each time (the file is analysed). */
  freshMs: number;
}

/**
 * Runs `node -e 0`, `--version` and two one-file scans in turn, `rounds` times, and keeps
 * each one's median, so a change of machine load touches all four alike. The launcher's code
 * cache is warmed first (it lives in the default cache folder, whatever --cache-dir says).
 */
async function startUp(rounds = QUICK ? 7 : 21): Promise<StartUpResult> {
  const dir = mkdtempSync(join(tmpdir(), 'hl-bench-startup-'));
  const file = join(dir, 'one.py');
  writeFileSync(file, 'def read_all(path):\n    handle = open(path)\n    return handle.read()\n');
  const cached = join(dir, 'cache');
  const fresh = join(dir, 'fresh');
  const scan = (cacheDir: string) => timed(process.execPath, [CLI, 'scan', '--cache-dir', cacheDir, file]);
  await scan(cached);
  const all = { node: [] as number[], version: [] as number[], cached: [] as number[], fresh: [] as number[] };
  try {
    for (let i = 0; i < rounds; i++) {
      all.node.push((await timed(process.execPath, ['-e', '0'])).ms);
      all.version.push((await timed(process.execPath, [CLI, '--version'])).ms);
      all.cached.push((await scan(cached)).ms);
      rmSync(fresh, { recursive: true, force: true });
      all.fresh.push((await scan(fresh)).ms);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  return { rounds, nodeMs: mid(all.node), versionMs: mid(all.version), cachedMs: mid(all.cached), freshMs: mid(all.fresh) };
}

function startUpLine(r: StartUpResult): string {
  const x = (ms: number) => `${f1(ms, 0)} ms (${f1(ms / r.nodeMs, 2)}×)`;
  const ok = (ms: number) => verdict(ms / r.nodeMs <= 2);
  return `Start-up (medians of ${r.rounds} interleaved rounds): \`node -e 0\` ${f1(r.nodeMs, 0)} ms · \`--version\` ${x(r.versionMs)} · \`scan one.py\`, analysis cached ${x(r.cachedMs)} ${ok(r.cachedMs)} · \`scan one.py\`, empty cache ${x(r.freshMs)} ${ok(r.freshMs)} (target ≤ 2× a bare Node start).`;
}

async function main(): Promise<void> {
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  const header = `Hazard Lens benchmark — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} × ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, load average at start ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
  console.log(header);
  console.log(`CLI features: ${Object.entries(CLI_HAS).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}; ast-grep ${AST_GREP ? 'yes' : 'missing (npm ci)'}; ripgrep ${RG ? 'yes' : 'missing (apt-get install ripgrep)'}; /usr/bin/time ${TIME ? 'yes' : 'no (polling /proc)'}`);
  if (!existsSync(join(ROOT, 'dist', 'cli'))) throw new Error('run `npm run build` first');

  const startUpResult = wanted.length === 0 || wanted.some((w) => 'start-up'.startsWith(w)) ? await startUp() : undefined;
  if (startUpResult) console.log(`\n${startUpLine(startUpResult)}`);

  const results: CorpusResult[] = [];
  const materialised: Materialised[] = [];
  let stdlibCopy: string | undefined;
  for (const def of CORPORA) {
    if (wanted.length > 0 && !wanted.some((w) => def.name.startsWith(w))) continue;
    const c = materialise(def);
    if (typeof c === 'string') {
      console.log(`\n${def.label}: skipped (${c})`);
      continue;
    }
    if (def.name === 'python-stdlib') stdlibCopy = c.dir;
    materialised.push(c);
    console.log(`\n${def.label}: ${c.files} files, ${f1(mbOf(c.bytes))} MB, ${c.lines.toLocaleString('en')} lines  (${relative(ROOT, c.dir)})`);
    const r: CorpusResult = { name: def.name, label: def.label, files: c.files, mb: mbOf(c.bytes), lines: c.lines };
    r.rg = await ripgrep(c);
    r.astGrep = await astGrep(c);
    if (r.astGrep?.scanned !== undefined && r.astGrep.scanned !== c.files) console.log(`  WARNING: ast-grep scanned ${r.astGrep.scanned} files, the corpus has ${c.files}`);
    const cache = freshCacheDir();
    try {
      r.cold2 = await median(REPEAT, async () => {
        rmSync(cache, { recursive: true, force: true });
        mkdirSync(cache, { recursive: true });
        return ours(c.dir, { jobs: 2, cacheDir: cache });
      });
      if (CLI_HAS.cacheDir) r.warm = await median(REPEAT, () => ours(c.dir, { jobs: 2, cacheDir: cache }));
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
    if (r.cold2?.stats && r.cold2.stats.files !== c.files) console.log(`  WARNING: our scan read ${r.cold2.stats.files} files, the corpus has ${c.files}`);
    // Same cache setting as the 2-worker cold run (a fresh cache folder that is written to),
    // so the 1w/2w ratio compares like with like.
    if (CLI_HAS.jobs && !QUICK) {
      const cache1 = freshCacheDir();
      try {
        r.cold1 = await median(REPEAT, async () => {
          rmSync(cache1, { recursive: true, force: true });
          mkdirSync(cache1, { recursive: true });
          return ours(c.dir, { jobs: 1, cacheDir: cache1 });
        });
      } finally {
        rmSync(cache1, { recursive: true, force: true });
      }
    }
    if (!flag('--no-lsp') && !QUICK) {
      try {
        r.lsp = await serverRss(c);
      } catch (err) {
        r.lsp = `failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    printCorpus(r);
    results.push(r);
  }

  const medium = materialised.length > 0 ? await mediumTrees(materialised) : undefined;
  for (const l of mediumLines(medium)) console.log(`\n${l}`);

  let ks: KeystrokeResult | string | undefined;
  let reeval: ReevalResult | string | undefined;
  let publish: PublishResult | string | undefined;
  if (stdlibCopy) {
    ({ ks, reeval } = await inProcess(stdlibCopy));
    if (!flag('--no-lsp')) {
      try {
        publish = await didChangeToPublish(stdlibCopy);
      } catch (err) {
        publish = `failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
  printInProcess(ks, reeval);
  if (publish !== undefined) console.log(publishLine(publish));
  const environment = wanted.length === 0 || wanted.some((w) => 'environment'.startsWith(w)) ? await environmentBench() : undefined;
  for (const l of environmentLines(environment)) console.log(`\n${l}`);
  const endLoad = `load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
  console.log(`\n${endLoad}`);
  const targets = targetTable(startUpResult, results, medium, ks, publish);
  console.log(`\n${targets.join('\n')}`);
  const md = [
    markdown(`${header}; ${endLoad}`, results, ks, reeval),
    ...(startUpResult ? [startUpLine(startUpResult), ''] : []),
    ...mediumLines(medium).flatMap((l) => [l, '']),
    ...(publish !== undefined ? [publishLine(publish), ''] : []),
    ...environmentLines(environment),
    '',
    ...targets,
    '',
  ].join('\n');
  mkdirSync(BENCH, { recursive: true });
  writeFileSync(join(BENCH, 'results.md'), md);
  writeFileSync(join(BENCH, 'results.json'), JSON.stringify({ header, cli: CLI_HAS, startUp: startUpResult, results, mediumTrees: medium, keystroke: ks, reevaluation: reeval, publish, environment }, null, 2));
  console.log(`\nwritten: .bench/results.md, .bench/results.json`);
}

function publishLine(p: PublishResult | string): string {
  if (typeof p === 'string') return `didChange → publishDiagnostics: skipped (${p})`;
  return `didChange → publishDiagnostics in the language server (${p.lines.toLocaleString('en')}-line Python file, default settings, debounce included, ${p.edits} single-character edits): median ${f1(p.median, 0)} ms, p95 ${f1(p.p95, 0)} ms (target ≤ 100 ms ${verdict(p.median <= 100)}).`;
}

/**
 * The targets table of issue #17, each row's figure from this run next to its target: one
 * place to read whether the run met them (rows whose part was skipped say so).
 */
function targetTable(start: StartUpResult | undefined, results: CorpusResult[], medium: MediumTree[] | string | undefined, ks: KeystrokeResult | string | undefined, publish: PublishResult | string | undefined): string[] {
  const rows: [string, string, string, string][] = [];
  const skipped = (why: string) => `n/a (${why})`;
  if (start) {
    const worst = Math.max(start.cachedMs, start.freshMs) / start.nodeMs;
    rows.push(['`scan one.py` vs `node -e 0` (cached / empty cache)', `${f1(start.cachedMs / start.nodeMs, 2)}× / ${f1(start.freshMs / start.nodeMs, 2)}×`, '≤ 2× (aim 1.5×)', verdict(worst <= 2)]);
  } else rows.push(['`scan one.py` vs `node -e 0`', skipped('start-up not run'), '≤ 2×', '']);
  const withAstGrep = results.filter((r) => r.cold2 && r.astGrep);
  if (withAstGrep.length) {
    const ratios = withAstGrep.map((r) => r.cold2!.ms / r.astGrep!.ms);
    rows.push(['cold scan, every rule, vs ast-grep (2 threads)', withAstGrep.map((r, i) => `${r.name} ${f1(ratios[i], 2)}×`).join(', '), '≤ 3× on the bench corpora', verdict(ratios.every((x) => x <= 3))]);
  } else rows.push(['cold scan vs ast-grep', skipped(AST_GREP ? 'no corpus run' : 'ast-grep missing: npm ci installs @ast-grep/cli'), '≤ 3×', '']);
  if (medium && typeof medium !== 'string') rows.push([`cold scan vs ast-grep, ${medium.length} trees of 25k–90k lines`, `${f1(mediumRatio(medium), 1)}× median`, '≤ 6× median', verdict(mediumRatio(medium) <= 6)]);
  else rows.push(['cold scan vs ast-grep, medium trees', skipped(medium ?? 'no corpus run'), '≤ 6× median', '']);
  const withOne = results.filter((r) => r.cold1 && r.cold2);
  if (withOne.length) {
    const speedups = withOne.map((r) => r.cold1!.ms / r.cold2!.ms);
    rows.push(['2 workers vs 1', withOne.map((r, i) => `${r.name} ${f1(speedups[i], 2)}×`).join(', '), '≥ 1.8×', verdict(speedups.every((x) => x >= 1.8))]);
  } else rows.push(['2 workers vs 1', skipped(QUICK ? '--quick' : 'no corpus run'), '≥ 1.8×', '']);
  if (ks && typeof ks !== 'string') rows.push([`keystroke → analysis, ${ks.lines.toLocaleString('en')}-line Python file, in process`, `${f1(ks.analyseMedian)} ms median`, '≤ 25 ms', verdict(ks.analyseMedian <= 25)]);
  else rows.push(['keystroke → analysis', skipped(typeof ks === 'string' ? ks : 'no stdlib corpus'), '≤ 25 ms', '']);
  if (publish && typeof publish !== 'string') rows.push([`didChange → publishDiagnostics, ${publish.lines.toLocaleString('en')}-line file, default settings`, `${f1(publish.median, 0)} ms median`, '≤ 100 ms, debounce included', verdict(publish.median <= 100)]);
  else rows.push(['didChange → publishDiagnostics', skipped(typeof publish === 'string' ? publish : '--no-lsp or no stdlib corpus'), '≤ 100 ms', '']);
  const stdlib = results.find((r) => r.name === 'python-stdlib');
  const peak = stdlib ? Math.max(stdlib.cold2?.stats?.maxRssMb ?? 0, stdlib.cold2?.maxRssMb ?? 0) : 0;
  if (peak) rows.push(['peak RSS, Python stdlib scan (CLI, 2 workers)', `${f1(peak, 0)} MB`, '≤ 300 MB', verdict(peak <= 300)]);
  else rows.push(['peak RSS, Python stdlib scan', skipped('stdlib corpus not run'), '≤ 300 MB', '']);
  return ['Targets (issue #17), this run:', '', '| what | this run | target | |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function printCorpus(r: CorpusResult): void {
  const rate = (run: Timed | undefined) => (run ? `${Math.round(r.files / (run.ms / 1000))} files/s, ${f1(r.mb / (run.ms / 1000), 2)} MB/s` : '');
  const line = (name: string, run: Timed | undefined, extra = '') =>
    console.log(`  ${name.padEnd(30)} ${run ? secs(run.ms).padStart(9) : '      n/a'}  ${rate(run).padEnd(30)} ${run?.maxRssMb ? `peak RSS ${f1(run.maxRssMb, 0)} MB` : ''} ${extra}`);
  line('ripgrep (2 threads)', r.rg, r.rg ? '' : '(apt-get install ripgrep)');
  line(`ast-grep 1 pattern (2 threads)`, r.astGrep, r.astGrep?.scanned !== undefined ? `[scanned ${r.astGrep.scanned} files]` : '');
  const st = (run: OurRun | undefined) => (run?.stats ? `[analysed ${run.stats.analysed}, cache hits ${run.stats.cacheHits}, prefiltered ${run.stats.prefiltered}; discover ${secs(run.stats.ms.discover)}, analyse ${secs(run.stats.ms.analyse)}, evaluate ${secs(run.stats.ms.evaluate)}]` : '');
  line(`ours cold, all rules, 2 workers`, r.cold2, st(r.cold2));
  line(`ours warm (same cache)`, r.warm, st(r.warm));
  line(`ours cold, 1 worker`, r.cold1, st(r.cold1));
  const ratio = r.cold2 && r.astGrep ? r.cold2.ms / r.astGrep.ms : undefined;
  const warmRatio = r.cold2 && r.warm ? r.warm.ms / r.cold2.ms : undefined;
  const speedup = r.cold1 && r.cold2 ? r.cold1.ms / r.cold2.ms : undefined;
  console.log(`  ours/ast-grep ${f1(ratio, 2)} (target ≤ 3.0 ${verdict(ratio === undefined ? undefined : ratio <= 3)}) · warm/cold ${f1(warmRatio === undefined ? undefined : warmRatio * 100, 0)} % (target ≤ 10 % ${verdict(warmRatio === undefined ? undefined : warmRatio <= 0.1)}) · 1w/2w ${f1(speedup, 2)}× (target ≥ 1.8× ${verdict(speedup === undefined ? undefined : speedup >= 1.8)})`);
  const peak = Math.max(r.cold2?.stats?.maxRssMb ?? 0, r.cold2?.maxRssMb ?? 0);
  console.log(`  CLI peak RSS ${f1(peak, 0)} MB (target ≤ 300 MB ${verdict(peak ? peak <= 300 : undefined)})`);
  if (r.lsp !== undefined) {
    if (typeof r.lsp === 'string') console.log(`  language server: ${r.lsp}`);
    else console.log(`  language server peak RSS after Scan Workspace ${f1(r.lsp.mb, 0)} MB (scan took ${secs(r.lsp.ms)}; target ≤ 300 MB ${verdict(r.lsp.mb <= 300)})`);
  }
}

function printInProcess(ks: KeystrokeResult | string | undefined, reeval: ReevalResult | string | undefined): void {
  if (ks !== undefined) {
    if (typeof ks === 'string') console.log(`\nkeystroke: skipped (${ks})`);
    else {
      console.log(`\nkeystroke on a ${ks.lines.toLocaleString('en')}-line Python file, ${ks.edits} single-character edits (incremental re-parse + analyzeTree with the document's reuse state, as the server does it; debounce excluded; facts reused in ${ks.reusedEdits.facts}, handle findings in ${ks.reusedEdits.handles} of them):`);
      console.log(`  analysis median ${f1(ks.analyseMedian)} ms, p95 ${f1(ks.analyseP95)} ms (target ≤ 25 ms median ${verdict(ks.analyseMedian <= 25)}); re-parse median ${f1(ks.parseMedian)} ms; re-parse + analysis median ${f1(ks.totalMedian)} ms, p95 ${f1(ks.totalP95)} ms`);
      console.log(`  per phase (one whole-file pass, nothing reused): ${Object.entries(ks.phases).map(([k, v]) => `${k} ${f1(v)} ms`).join(', ')}`);
    }
  }
  if (reeval !== undefined) {
    if (typeof reeval === 'string') console.log(`cross-file re-evaluation: skipped (${reeval})`);
    else {
      console.log(`cross-file re-evaluation after editing ${reeval.edited} (imported by ${reeval.importers} files) in a ${reeval.files}-file, ${reeval.lines.toLocaleString('en')}-line stdlib workspace — ${reeval.mode}:`);
      console.log(`  median ${f1(reeval.evaluateMedian)} ms, p95 ${f1(reeval.evaluateP95)} ms (target ≤ 100 ms ${verdict(reeval.evaluateMedian <= 100)}); batch evaluate() median ${f1(reeval.batchMedian)} ms; re-analysing the edited file ${f1(reeval.analyseEditedMs)} ms`);
    }
  }
}

function markdown(header: string, results: CorpusResult[], ks: KeystrokeResult | string | undefined, reeval: ReevalResult | string | undefined): string {
  const out: string[] = [`<!-- ${header} -->`, ''];
  out.push('| corpus | files | size | ripgrep | ast-grep, 1 pattern | ours cold (2 workers) | ours/ast-grep | warm | warm/cold | 1 worker | 1w/2w | CLI peak RSS | server peak RSS |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const rate = (run: Timed | undefined) => (run ? `${secs(run.ms)} (${f1(r.mb / (run.ms / 1000), 1)} MB/s)` : 'n/a');
    const ratio = r.cold2 && r.astGrep ? f1(r.cold2.ms / r.astGrep.ms, 2) : 'n/a';
    const wc = r.cold2 && r.warm ? `${f1((100 * r.warm.ms) / r.cold2.ms, 0)} %` : 'n/a';
    const sp = r.cold1 && r.cold2 ? `${f1(r.cold1.ms / r.cold2.ms, 2)}×` : 'n/a';
    const peak = Math.max(r.cold2?.stats?.maxRssMb ?? 0, r.cold2?.maxRssMb ?? 0);
    const lsp = r.lsp === undefined ? 'n/a' : typeof r.lsp === 'string' ? 'n/a' : `${f1(r.lsp.mb, 0)} MB`;
    out.push(`| ${r.label} | ${r.files.toLocaleString('en')} | ${f1(r.mb)} MB | ${r.rg ? secs(r.rg.ms) : 'n/a'} | ${r.astGrep ? secs(r.astGrep.ms) : 'n/a'} | ${rate(r.cold2)} | ${ratio} | ${r.warm ? secs(r.warm.ms) : 'n/a'} | ${wc} | ${r.cold1 ? secs(r.cold1.ms) : 'n/a'} | ${sp} | ${peak ? `${f1(peak, 0)} MB` : 'n/a'} | ${lsp} |`);
  }
  out.push('');
  out.push('Targets (issue #14): ours/ast-grep ≤ 3.0 on these corpora · warm ≤ 10 % of cold · 1w/2w ≥ 1.8× · peak RSS ≤ 300 MB · keystroke analysis ≤ 25 ms median · cross-file re-evaluation ≤ 100 ms · one-file scan ≤ 2× a bare Node start.');
  out.push('');
  if (ks && typeof ks !== 'string') {
    out.push(`Keystroke (${ks.lines.toLocaleString('en')}-line Python file, ${ks.edits} single-character edits, the server's reuse of untouched functions included — facts in ${ks.reusedEdits.facts}, handle findings in ${ks.reusedEdits.handles} edits —, debounce excluded): analysis median ${f1(ks.analyseMedian)} ms, p95 ${f1(ks.analyseP95)} ms; incremental re-parse median ${f1(ks.parseMedian)} ms. Per phase (one whole-file pass, nothing reused): ${Object.entries(ks.phases).map(([k, v]) => `${k} ${f1(v)} ms`).join(', ')}.`);
    out.push('');
  }
  if (reeval && typeof reeval !== 'string') {
    out.push(`Cross-file re-evaluation after editing \`${reeval.edited}\` (${reeval.files} files, ${reeval.lines.toLocaleString('en')} lines; ${reeval.mode}): median ${f1(reeval.evaluateMedian)} ms, p95 ${f1(reeval.evaluateP95)} ms (batch \`evaluate()\` over the same files: ${f1(reeval.batchMedian)} ms); re-analysing the edited file: ${f1(reeval.analyseEditedMs)} ms.`);
    out.push('');
  }
  return out.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
