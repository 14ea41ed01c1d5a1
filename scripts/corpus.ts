// The real-world yardstick: scans every project of test/corpus/cases.tsv as a user would
// open it (the whole repository, or the monorepo package that holds the case's file, at
// the case's commit) with the built CLI, and scores each case. A hazard is found when a
// finding of an expected rule starts in the case's lines or names them in its evidence
// chain; a clean case is flagged when a finding of one of its rules starts in its lines.
// Prints a per-case table and recall / false alarms per rule, family and language, and
// writes docs/corpus.md. Not part of CI: it needs the repositories' git mirrors.
//
//   HAZARD_LENS_MIRRORS=DIR npm run corpus -- [options]     (tsx scripts/corpus.ts)
//
//   --mirrors DIR   folder of git mirrors (else $HAZARD_LENS_MIRRORS); a repository owner/name
//                   is looked up as DIR/owner+name/repo, DIR/owner+name, DIR/owner/name.git
//                   or DIR/owner/name (bare or not)
//   --only TEXT     only the cases whose id contains TEXT (docs/corpus.md is then not written)
//   --cases FILE    another cases file of the same form (docs/corpus.md is then not written)
//   --list          print, under each case, the findings in its file near its lines
//   --json FILE     write the scored cases as JSON
//   --no-write      do not write docs/corpus.md
//   --cli FILE      the hazard-lens CLI to judge (default: this checkout's bin/hazard-lens.js),
//                   e.g. an older build's, to measure a change before and after
//   --parallel N    scans at a time (default: half the CPUs, at least 1)
//   --missing       print the repositories whose mirror is missing, one per line, and exit
//
// A case may run with a Python environment (test/corpus/environments.tsv): the project is then
// extracted into a folder of its own with a `.venv` that holds the listed packages of another
// repository at another commit, installed the way pip lays them out (the package folders in
// site-packages, a `*.dist-info` with METADATA, top_level.txt and the entry points of the
// repository's setup.cfg), so the scan joins them as the project's dependencies. A row whose
// distribution is `npm:<name>` lays one folder of the repository (its `packages` column, `.`
// for the whole tree, holding the package.json) into the project's `node_modules/<name>`.
//
// Extractions (`git archive` of the project folder at the commit) are kept in the
// git-ignored .corpus/extract/, and the CLI's analysis cache in .corpus/cache/, so a second
// run re-scans only with a changed build. Exit code: 0 when every case that could be run
// scored as expected, 1 otherwise, 2 on a usage error.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createHash } from 'node:crypto';
import { setupCfgEntryPoints } from '../server/src/model/python-project';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'bin', 'hazard-lens.js');
const CASES = join(ROOT, 'test', 'corpus', 'cases.tsv');
const ENVIRONMENTS = join(ROOT, 'test', 'corpus', 'environments.tsv');
const ENVIRONMENT_COLUMNS = ['case', 'repo', 'commit', 'packages', 'distribution', 'version'] as const;
const WORK = join(ROOT, '.corpus');
const COLUMNS = ['id', 'repo', 'commit', 'project', 'path', 'lines', 'verdict', 'rules', 'lang', 'reference', 'why'] as const;

/** One row of cases.tsv, with its lines and rules parsed. */
export interface CorpusCase {
  id: string;
  repo: string;
  commit: string;
  project: string;
  path: string;
  lines: string;
  verdict: 'hazard' | 'clean';
  rules: string;
  lang: string;
  reference: string;
  why: string;
  first: number;
  last: number;
  ruleIds: string[];
  /** Installed packages the project is scanned with (environments.tsv); none by default. */
  environment?: CorpusEnvironment[];
}

/** One installed package of a case's Python environment (a row of environments.tsv). */
export interface CorpusEnvironment {
  case: string;
  repo: string;
  commit: string;
  /** Top-level package folders (or modules) of the repository to install. */
  packages: string[];
  distribution: string;
  version: string;
  /** An npm package (`npm:<name>` in the distribution column): `packages` holds the one folder to lay into `node_modules/<name>`. */
  npm?: boolean;
}

/** Reads environments.tsv; a malformed row stops the run with its line number. */
export function readEnvironments(text: string, caseIds: ReadonlySet<string>): CorpusEnvironment[] {
  const lines = text.split('\n');
  if (lines[0].split('\t').join('\t') !== ENVIRONMENT_COLUMNS.join('\t')) throw new Error(`environments.tsv: the header must be: ${ENVIRONMENT_COLUMNS.join(' ')}`);
  const out: CorpusEnvironment[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n];
    if (!line.trim() || line.startsWith('#')) continue;
    const cells = line.split('\t').map((c) => c.trim());
    const where = `environments.tsv line ${n + 1}`;
    if (cells.length !== ENVIRONMENT_COLUMNS.length) throw new Error(`${where}: ${cells.length} columns, expected ${ENVIRONMENT_COLUMNS.length}`);
    const [id, repo, commit, packages, distribution, version] = cells;
    if (!caseIds.has(id)) throw new Error(`${where}: no case ${id} in cases.tsv`);
    if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error(`${where}: repo must be owner/name`);
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`${where}: commit must be 40 hex digits`);
    if (distribution.startsWith('npm:')) {
      const name = distribution.slice(4);
      if (!/^(?:@[\w.-]+\/)?[\w.-]+$/.test(name)) throw new Error(`${where}: npm:<name> must name an npm package`);
      if (!/^[\w./-]+$/.test(packages) || packages.split('/').includes('..')) throw new Error(`${where}: packages must be the package's folder in the repository (. for its top)`);
      if (!/^[\w.+!-]+$/.test(version)) throw new Error(`${where}: version must be a version`);
      out.push({ case: id, repo, commit, packages: [packages], distribution: name, version, npm: true });
      continue;
    }
    const list = packages.split(',').map((p) => p.trim()).filter(Boolean);
    if (!list.length || !list.every((p) => /^[A-Za-z_]\w*$/.test(p))) throw new Error(`${where}: packages must be top-level package names, comma-separated`);
    if (!/^[A-Za-z0-9][\w.-]*$/.test(distribution) || !/^[\w.+!-]+$/.test(version)) throw new Error(`${where}: distribution and version must be a name and a version`);
    out.push({ case: id, repo, commit, packages: list, distribution, version });
  }
  return out;
}

/** What makes two environments the same (cases with the same project and environment share a scan). */
function environmentKey(env: readonly CorpusEnvironment[] | undefined): string {
  return (env ?? []).map((e) => `${e.repo}@${e.commit}:${e.packages.join(',')}`).sort().join(';');
}

/** A finding as the CLI's JSON report gives it (1-based lines). */
export interface ReportFinding {
  ruleId: string;
  path: string;
  message: string;
  range: { start: { line: number; column: number } };
  related?: { path: string; range: { start: { line: number } }; message: string }[];
}

/** How one rule of one case scored. */
export interface RuleScore {
  ok: boolean;
  result: 'found' | 'found (chain)' | 'missed' | 'silent' | 'FLAGGED';
}

interface Scored {
  case: CorpusCase;
  status: 'ran' | 'no mirror' | 'not extracted' | 'scan failed' | 'no file';
  detail?: string;
  perRule: Record<string, RuleScore>;
  nearby?: ReportFinding[];
}

interface Options {
  cases: string;
  cli: string;
  parallel: number;
  mirrors: string | undefined;
  only: string | undefined;
  list: boolean;
  json: string | undefined;
  write: boolean;
  missing: boolean;
}

/** Rule id → family, as the catalog groups them. */
export const FAMILIES: Record<string, 'FORK' | 'FD' | 'LEAK' | 'HEARTBEAT'> = {
  'fork-in-threaded-program': 'FORK',
  'unsafe-call-in-fork-child': 'FORK',
  'cached-fd-across-fork': 'FD',
  'close-all-fds-without-exec': 'FD',
  'fd-without-cloexec': 'FD',
  'unreleased-file': 'LEAK',
  'wsgi-response-not-closed': 'LEAK',
  'stream-pipe-leak': 'LEAK',
  'green-heartbeat': 'HEARTBEAT',
  'late-monkey-patch': 'HEARTBEAT',
  'heartbeat-starved-by-blocking-call': 'HEARTBEAT',
};
export const LANGS = ['c', 'python', 'typescript', 'javascript'];

function usage(message: string): never {
  console.error(`corpus: ${message}`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { cases: CASES, cli: CLI, parallel: Math.max(1, Math.floor(availableParallelism() / 2)), mirrors: process.env.HAZARD_LENS_MIRRORS, only: undefined, list: false, json: undefined, write: true, missing: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--mirrors') opts.mirrors = value();
    else if (a === '--only') opts.only = value();
    else if (a === '--list') opts.list = true;
    else if (a === '--json') opts.json = value();
    else if (a === '--no-write') opts.write = false;
    else if (a === '--missing') opts.missing = true;
    else if (a === '--cli') opts.cli = value();
    else if (a === '--cases') opts.cases = value();
    else if (a === '--parallel') {
      opts.parallel = Number(value());
      if (!Number.isInteger(opts.parallel) || opts.parallel < 1) usage('--parallel takes a whole number from 1');
    }
    else usage(`unknown option ${a}`);
  }
  if (!opts.mirrors) usage('set HAZARD_LENS_MIRRORS (or --mirrors DIR) to the folder of git mirrors; see test/corpus/README.md');
  if (opts.only || opts.cases !== CASES) opts.write = false;
  return opts;
}

/** Reads cases.tsv into objects; a malformed row stops the run with its line number. */
export function readCases(text: string): CorpusCase[] {
  const lines = text.split('\n');
  const header = lines[0].split('\t');
  if (header.join('\t') !== COLUMNS.join('\t')) throw new Error(`cases.tsv: the header must be: ${COLUMNS.join(' ')}`);
  const cases: CorpusCase[] = [];
  const ids = new Set<string>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n];
    if (!line.trim() || line.startsWith('#')) continue;
    const cells = line.split('\t');
    const where = `cases.tsv line ${n + 1}`;
    if (cells.length !== COLUMNS.length) throw new Error(`${where}: ${cells.length} columns, expected ${COLUMNS.length}`);
    const c = Object.fromEntries(COLUMNS.map((k, i) => [k, cells[i].trim()])) as unknown as CorpusCase;
    if (ids.has(c.id)) throw new Error(`${where}: duplicate id ${c.id}`);
    ids.add(c.id);
    if (!/^[0-9a-f]{40}$/.test(c.commit)) throw new Error(`${where}: commit must be 40 hex digits`);
    if (!/^[\w.-]+\/[\w.-]+$/.test(c.repo)) throw new Error(`${where}: repo must be owner/name`);
    const m = /^(\d+)(?:-(\d+))?$/.exec(c.lines);
    if (!m) throw new Error(`${where}: lines must be N or N-M`);
    c.first = Number(m[1]);
    c.last = Number(m[2] ?? m[1]);
    if (c.last < c.first) throw new Error(`${where}: lines run backwards`);
    if ((c.verdict as string) !== 'hazard' && (c.verdict as string) !== 'clean') throw new Error(`${where}: verdict must be hazard or clean`);
    c.ruleIds = c.rules.split(',').map((r) => r.trim()).filter(Boolean);
    for (const r of c.ruleIds) if (!FAMILIES[r]) throw new Error(`${where}: unknown rule ${r}`);
    if (!c.ruleIds.length) throw new Error(`${where}: no rules`);
    if (!LANGS.includes(c.lang)) throw new Error(`${where}: lang must be one of ${LANGS.join(', ')}`);
    c.project = c.project === '' ? '.' : c.project.replace(/\/+$/, '');
    cases.push(c);
  }
  return cases;
}

export function findMirror(mirrors: string, repo: string): string | undefined {
  const [owner, name] = repo.split('/');
  const candidates = [join(mirrors, `${owner}+${name}`, 'repo'), join(mirrors, `${owner}+${name}`), join(mirrors, owner, `${name}.git`), join(mirrors, owner, name)];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects'))) return dir;
    if (existsSync(join(dir, '.git', 'HEAD'))) return join(dir, '.git');
  }
  return undefined;
}

/** Extracts the project folder of repo@commit once (with its environment, if any); returns the folder or an error text. */
function extract(gitDir: string, c: CorpusCase, mirrors: string): { dir: string; error?: undefined } | { error: string; dir?: undefined } {
  const envKey = environmentKey(c.environment);
  const envSuffix = envKey ? `+env-${createHash('sha256').update(envKey).digest('hex').slice(0, 10)}` : '';
  const key = `${c.repo.replace('/', '+')}@${c.commit.slice(0, 12)}${c.project === '.' ? '' : '-' + c.project.replace(/[^\w.-]+/g, '_')}${envSuffix}`;
  const dest = join(WORK, 'extract', key);
  if (existsSync(join(dest, '.corpus-complete'))) return { dir: dest };
  rmSync(dest, { recursive: true, force: true });
  const tmp = `${dest}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const archive = spawnSync('git', ['--git-dir', gitDir, 'archive', '--format=tar', c.commit, ...(c.project === '.' ? [] : [c.project])], { maxBuffer: 1 << 30 });
  let note = '';
  if (archive.status === 0) {
    const untar = spawnSync('tar', ['-x', '-C', tmp], { input: archive.stdout, maxBuffer: 1 << 20 });
    if (untar.status !== 0) return { error: `tar failed: ${String(untar.stderr).trim().split('\n')[0]}` };
  } else {
    // A mirror may lack some blobs (stored snapshots leave out very large files): write the
    // files it has one by one, and say which are missing.
    const written = extractBlobs(gitDir, c, tmp);
    if (typeof written === 'string') return { error: `git archive failed (${String(archive.stderr).trim().split('\n')[0]}), and so did reading blobs: ${written}` };
    note = written.missing.length ? `missing from the mirror: ${written.missing.join(', ')}\n` : '';
  }
  for (const e of c.environment ?? []) {
    const depGit = findMirror(mirrors, e.repo);
    if (!depGit) return { error: `no mirror of ${e.repo} (the environment of ${c.id})` };
    const installed = (e.npm ? installNpmPackage : installPackage)(depGit, e, join(tmp, c.project === '.' ? '' : c.project));
    if (installed) return { error: `cannot install ${e.distribution} from ${e.repo}@${e.commit.slice(0, 12)}: ${installed}` };
  }
  writeFileSync(join(tmp, '.corpus-complete'), `${c.repo} ${c.commit} ${c.project}${envKey ? ` with ${envKey}` : ''}\n${note}`);
  renameSync(tmp, dest);
  return { dir: dest };
}

/**
 * Installs packages of a repository at a commit into `<project>/.venv` as pip lays them out:
 * the package folders in `lib/python3/site-packages`, and a `*.dist-info` with METADATA,
 * top_level.txt and the entry points of the repository's setup.cfg (`[entry_points]`, pbr's,
 * or `[options.entry_points]`). Returns an error text, or undefined.
 */
function installPackage(gitDir: string, e: CorpusEnvironment, projectDir: string): string | undefined {
  const venv = join(projectDir, '.venv');
  const site = join(venv, 'lib', 'python3', 'site-packages');
  mkdirSync(site, { recursive: true });
  writeFileSync(join(venv, 'pyvenv.cfg'), 'home = /usr/bin\ninclude-system-site-packages = false\n');
  const archive = spawnSync('git', ['--git-dir', gitDir, 'archive', '--format=tar', e.commit, ...e.packages], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) return String(archive.stderr).trim().split('\n')[0];
  const untar = spawnSync('tar', ['-x', '-C', site], { input: archive.stdout, maxBuffer: 1 << 20 });
  if (untar.status !== 0) return `tar failed: ${String(untar.stderr).trim().split('\n')[0]}`;
  const info = join(site, `${e.distribution.replace(/-/g, '_')}-${e.version}.dist-info`);
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${e.distribution}\nVersion: ${e.version}\n`);
  writeFileSync(join(info, 'top_level.txt'), `${e.packages.join('\n')}\n`);
  const cfg = spawnSync('git', ['--git-dir', gitDir, 'show', `${e.commit}:setup.cfg`], { maxBuffer: 1 << 24 });
  if (cfg.status === 0) writeFileSync(join(info, 'entry_points.txt'), entryPointsOfSetupCfg(cfg.stdout.toString('utf8')));
  return undefined;
}

/**
 * Lays one folder of a repository at a commit into `<project>/node_modules/<name>`, as npm
 * installs a package (its package.json at the top; one is written when the folder has none).
 * Returns an error text, or undefined.
 */
function installNpmPackage(gitDir: string, e: CorpusEnvironment, projectDir: string): string | undefined {
  const dest = join(projectDir, 'node_modules', ...e.distribution.split('/'));
  mkdirSync(dest, { recursive: true });
  const folder = e.packages[0] === '.' ? '' : e.packages[0].replace(/\/+$/, '');
  const archive = spawnSync('git', ['--git-dir', gitDir, 'archive', '--format=tar', folder ? `${e.commit}:${folder}` : e.commit], { maxBuffer: 1 << 30 });
  if (archive.status !== 0) return String(archive.stderr).trim().split('\n')[0];
  const untar = spawnSync('tar', ['-x', '-C', dest], { input: archive.stdout, maxBuffer: 1 << 20 });
  if (untar.status !== 0) return `tar failed: ${String(untar.stderr).trim().split('\n')[0]}`;
  if (!existsSync(join(dest, 'package.json'))) writeFileSync(join(dest, 'package.json'), `${JSON.stringify({ name: e.distribution, version: e.version }, null, 2)}\n`);
  return undefined;
}

/**
 * The `entry_points.txt` text of a setup.cfg's `[entry_points]` (pbr) / `[options.entry_points]`
 * sections, read by the same reader the program model uses for project files.
 */
export function entryPointsOfSetupCfg(text: string): string {
  const groups = new Map<string, string[]>();
  for (const e of setupCfgEntryPoints('setup.cfg', text).entries) {
    const lines = groups.get(e.group) ?? [];
    lines.push(`${e.name} = ${e.module}${e.object ? `:${e.object}` : ''}`);
    groups.set(e.group, lines);
  }
  return `${[...groups].map(([group, lines]) => [`[${group}]`, ...lines].join('\n')).join('\n\n')}\n`;
}

/** Writes the regular files of the project folder at the commit blob by blob; returns the paths whose blobs are missing. */
function extractBlobs(gitDir: string, c: CorpusCase, dest: string): { missing: string[] } | string {
  const tree = spawnSync('git', ['--git-dir', gitDir, 'ls-tree', '-r', '-z', '--full-tree', c.commit, ...(c.project === '.' ? [] : [c.project])], { maxBuffer: 1 << 28 });
  if (tree.status !== 0) return String(tree.stderr).trim().split('\n')[0];
  const entries: { sha: string; path: string }[] = [];
  for (const line of tree.stdout.toString('utf8').split('\0')) {
    const m = /^(\d+) blob ([0-9a-f]+)\t(.*)$/s.exec(line);
    if (m && m[1] !== '120000') entries.push({ sha: m[2], path: m[3] });
  }
  const batch = spawnSync('git', ['--git-dir', gitDir, 'cat-file', '--batch'], { input: entries.map((e) => e.sha).join('\n') + '\n', maxBuffer: 1 << 30 });
  if (batch.status !== 0) return String(batch.stderr).trim().split('\n')[0];
  const out = batch.stdout;
  const missing: string[] = [];
  let at = 0;
  for (const e of entries) {
    const eol = out.indexOf(10, at);
    const header = out.subarray(at, eol).toString('utf8');
    at = eol + 1;
    const size = /^[0-9a-f]+ blob (\d+)$/.exec(header);
    if (!size) {
      missing.push(e.path);
      continue;
    }
    const n = Number(size[1]);
    const file = join(dest, e.path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, out.subarray(at, at + n));
    at += n + 1;
  }
  return { missing };
}

/**
 * `--node-modules` for a project: its own `node_modules` when its environment laid one there
 * (an npm row of environments.tsv), else none — the extractions sit inside this repository, and
 * Node's upward lookup would otherwise find the tool's own packages. Left out for a CLI that
 * predates the option (`--cli` of an older build).
 */
function nodeModulesArgs(cli: string, c: CorpusCase, projectDir: string): string[] {
  NODE_MODULES_OPTION[cli] ??= String(spawnSync(process.execPath, [cli, '--help']).stdout).includes('--node-modules');
  if (!NODE_MODULES_OPTION[cli]) return [];
  const own = join(projectDir, 'node_modules');
  return ['--node-modules', (c.environment ?? []).some((e) => e.npm) && existsSync(own) ? own : 'none'];
}

const NODE_MODULES_OPTION: Record<string, boolean> = {};

/** Scans a project folder as a user would (the folder is the workspace); resolves with the JSON report. */
function scan(cli: string, projectDir: string, extraArgs: readonly string[] = []): Promise<{ report?: { findings: ReportFinding[]; summary?: { files?: number } }; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'scan', '.', '--format', 'json', '--quiet', '--severity-threshold', 'hint', '--cache-dir', join(WORK, 'cache'), ...extraArgs], { cwd: projectDir });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e) => resolve({ error: `scan did not start: ${e.message}`, ms: Date.now() - started }));
    child.on('close', (code) => {
      const ms = Date.now() - started;
      // Exit codes 0 (nothing found) and 1 (findings) both carry a report.
      if (code !== 0 && code !== 1) return resolve({ error: `scan exited ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`, ms });
      try {
        resolve({ report: JSON.parse(Buffer.concat(out).toString('utf8')), ms });
      } catch (e) {
        resolve({ error: `unreadable report: ${(e as Error).message}`, ms });
      }
    });
  });
}

/** The finding's locations as repository paths: [primary, ...chain]. */
function locations(finding: ReportFinding, project: string): { path: string; line: number; primary: boolean }[] {
  const toRepo = (p: string) => posix.normalize(project === '.' ? p : posix.join(project, p));
  return [
    { path: toRepo(finding.path), line: finding.range.start.line, primary: true },
    ...(finding.related ?? []).map((r) => ({ path: toRepo(r.path), line: r.range.start.line, primary: false })),
  ];
}

/** Scores one case against its project's findings: per rule, found / missed / silent / flagged. */
export function scoreCase(c: CorpusCase, findings: readonly ReportFinding[]): Record<string, RuleScore> {
  const perRule: Record<string, RuleScore> = {};
  for (const rule of c.ruleIds) {
    const ofRule = findings.filter((f) => f.ruleId === rule);
    if (c.verdict === 'hazard') {
      let how: 'at' | 'chain' | undefined;
      for (const f of ofRule) {
        const locs = locations(f, c.project);
        const hit = locs.find((l) => l.path === c.path && l.line >= c.first && l.line <= c.last);
        if (hit) {
          how = hit.primary ? 'at' : 'chain';
          if (hit.primary) break;
        }
      }
      perRule[rule] = how ? { ok: true, result: how === 'at' ? 'found' : 'found (chain)' } : { ok: false, result: 'missed' };
    } else {
      const flagged = ofRule.filter((f) => {
        const p = locations(f, c.project)[0];
        return p.path === c.path && p.line >= c.first && p.line <= c.last;
      });
      perRule[rule] = flagged.length ? { ok: false, result: 'FLAGGED' } : { ok: true, result: 'silent' };
    }
  }
  return perRule;
}

function pct(n: number, d: number): string {
  return d ? `${Math.round((100 * n) / d)} %` : '—';
}

/** Recall and false alarms grouped by a key of each (case, rule) pair. */
interface Tally {
  hazards: number;
  found: number;
  clean: number;
  flagged: number;
}

function tally(scored: Scored[], keyOf: (c: CorpusCase, rule: string) => string): [string, Tally][] {
  const groups = new Map<string, Tally>();
  for (const s of scored) {
    if (s.status !== 'ran') continue;
    for (const [rule, r] of Object.entries(s.perRule)) {
      const key = keyOf(s.case, rule);
      const g = groups.get(key) ?? { hazards: 0, found: 0, clean: 0, flagged: 0 };
      if (s.case.verdict === 'hazard') {
        g.hazards++;
        if (r.ok) g.found++;
      } else {
        g.clean++;
        if (!r.ok) g.flagged++;
      }
      groups.set(key, g);
    }
  }
  return [...groups].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function tallyTable(title: string, rows: [string, Tally][]): string {
  const out = [`| ${title} | hazards | found | recall | clean | flagged |`, '|---|---|---|---|---|---|'];
  for (const [key, g] of rows) out.push(`| ${key} | ${g.hazards} | ${g.found} | ${pct(g.found, g.hazards)} | ${g.clean} | ${g.flagged} |`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let cases: CorpusCase[];
  try {
    cases = readCases(readFileSync(opts.cases, 'utf8'));
  } catch (e) {
    usage((e as Error).message);
  }
  // Environments are listed by case id, checked against the cases of cases.tsv (a --cases
  // file may hold a subset of them).
  try {
    const known = opts.cases === CASES ? cases : readCases(readFileSync(CASES, 'utf8'));
    const environments = readEnvironments(readFileSync(ENVIRONMENTS, 'utf8'), new Set(known.map((c) => c.id)));
    for (const c of cases) {
      const env = environments.filter((e) => e.case === c.id);
      if (env.length) c.environment = env;
    }
  } catch (e) {
    usage((e as Error).message);
  }
  const only = opts.only;
  if (only) cases = cases.filter((c) => c.id.includes(only));
  if (opts.missing) {
    const missing = [...new Set(cases.flatMap((c) => [c.repo, ...(c.environment ?? []).map((e) => e.repo)]))].filter((r) => !findMirror(opts.mirrors!, r));
    for (const r of missing) console.log(r);
    return;
  }
  if (!existsSync(join(ROOT, 'dist', 'cli', 'cli.js'))) usage('dist/ is missing: run `npm run build` first');

  // One scan per (repository, commit, project): several cases often share a project.
  const groups = new Map<string, CorpusCase[]>();
  for (const c of cases) {
    const envKey = environmentKey(c.environment);
    const key = `${c.repo}@${c.commit}:${c.project}${envKey ? ` with ${envKey}` : ''}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(c);
  }
  const scored: Scored[] = [];
  const scans: { key: string; files: number; ms: number; findings: number }[] = [];
  let done = 0;
  const runGroup = async (key: string, group: CorpusCase[]): Promise<void> => {
    const c0 = group[0];
    const gitDir = findMirror(opts.mirrors!, c0.repo);
    const fail = (status: Scored['status'], detail: string) => group.forEach((c) => scored.push({ case: c, status, detail, perRule: {} }));
    const say = (text: string) => process.stderr.write(`[${++done}/${groups.size}] ${key}: ${text}\n`);
    if (!gitDir) {
      say('no mirror');
      return fail('no mirror', `no mirror of ${c0.repo} under ${opts.mirrors}`);
    }
    const ex = extract(gitDir, c0, opts.mirrors!);
    if (ex.error) {
      say(ex.error);
      return fail('not extracted', ex.error);
    }
    const projectDir = c0.project === '.' ? ex.dir! : join(ex.dir!, c0.project);
    const result = await scan(opts.cli, projectDir, nodeModulesArgs(opts.cli, c0, projectDir));
    if (result.error || !result.report) {
      say(result.error ?? 'no report');
      return fail('scan failed', result.error ?? 'no report');
    }
    const report = result.report;
    say(`${report.findings.length} findings, ${(result.ms / 1000).toFixed(1)} s`);
    scans.push({ key, files: report.summary?.files ?? 0, ms: result.ms, findings: report.findings.length });
    for (const c of group) {
      const inFile = report.findings.filter((f) => locations(f, c.project).some((l) => l.path === c.path));
      if (!existsSync(join(ex.dir!, c.path))) {
        scored.push({ case: c, status: 'no file', detail: `${c.path} is not in the extraction`, perRule: {} });
        continue;
      }
      scored.push({ case: c, status: 'ran', perRule: scoreCase(c, report.findings), nearby: inFile });
    }
  };
  const queue = [...groups];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(opts.parallel, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await runGroup(next[0], next[1]);
    }),
  );
  const wallMs = Date.now() - started;
  // Report in the order of cases.tsv, whatever order the scans finished in.
  const order = new Map(cases.map((c, i) => [c.id, i]));
  scored.sort((a, b) => order.get(a.case.id)! - order.get(b.case.id)!);

  // Per-case table.
  const caseRows = ['| case | verdict | rules | lang | result |', '|---|---|---|---|---|'];
  for (const s of scored) {
    const c = s.case;
    const result = s.status !== 'ran' ? s.status : Object.entries(s.perRule).map(([rule, r]) => (c.ruleIds.length > 1 ? `${rule}: ${r.result}` : r.result)).join('; ');
    caseRows.push(`| ${c.id} | ${c.verdict} | ${c.ruleIds.join(', ')} | ${c.lang} | ${result} |`);
  }
  for (const s of scored) {
    const c = s.case;
    const bad = s.status !== 'ran' || Object.values(s.perRule).some((r) => !r.ok);
    console.log(`${bad ? '✗' : '✓'} ${c.id.padEnd(44)} ${c.verdict.padEnd(6)} ${c.lang.padEnd(10)} ${s.status !== 'ran' ? `${s.status}: ${s.detail}` : Object.entries(s.perRule).map(([rule, r]) => `${rule} ${r.result}`).join(', ')}`);
    if (opts.list && s.nearby) {
      for (const f of s.nearby) {
        const near = locations(f, c.project).some((l) => l.path === c.path && Math.abs(l.line - c.first) <= 40);
        if (near) console.log(`      ${f.ruleId} ${f.path}:${f.range.start.line}: ${f.message.slice(0, 160)}`);
      }
    }
  }
  const byRule = tally(scored, (_c, rule) => rule);
  const byFamily = tally(scored, (_c, rule) => FAMILIES[rule]);
  const byLang = tally(scored, (c) => c.lang);
  const byFamilyLang = tally(scored, (c, rule) => `${FAMILIES[rule]} / ${c.lang}`);
  const notRun = scored.filter((s) => s.status !== 'ran');
  const summary = [tallyTable('family', byFamily), tallyTable('family / language', byFamilyLang), tallyTable('rule', byRule), tallyTable('language', byLang)].join('\n\n');
  console.log(`\n${summary}\n`);
  const hazards = scored.filter((s) => s.status === 'ran' && s.case.verdict === 'hazard');
  const cleans = scored.filter((s) => s.status === 'ran' && s.case.verdict === 'clean');
  const allFound = hazards.filter((s) => Object.values(s.perRule).every((r) => r.ok)).length;
  const anyFlagged = cleans.filter((s) => Object.values(s.perRule).some((r) => !r.ok)).length;
  const headline = `${cases.length} cases (${cases.filter((c) => c.verdict === 'hazard').length} hazards, ${cases.filter((c) => c.verdict === 'clean').length} clean) in ${groups.size} project scans (${(wallMs / 1000).toFixed(0)} s); hazards fully found: ${allFound}/${hazards.length}; clean cases flagged: ${anyFlagged}/${cleans.length}; not run: ${notRun.length}`;
  console.log(headline);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(scored.map((s) => ({ id: s.case.id, verdict: s.case.verdict, lang: s.case.lang, status: s.status, detail: s.detail, perRule: s.perRule })), null, 1));
  if (opts.write) {
    const totalMs = scans.reduce((a, s) => a + s.ms, 0);
    const md = [
      '# Real-world corpus: the last full run',
      '',
      'Written by `npm run corpus` (see [`test/corpus/README.md`](../test/corpus/README.md) for the case format, how',
      'projects are extracted and how cases are scored). Do not edit by hand: run it again.',
      '',
      `Run on ${new Date().toISOString().slice(0, 10)} with hazard-lens ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} at commit ${gitHead()}: ${headline}. Scans took ${(totalMs / 1000).toFixed(0)} s in all.`,
      '',
      'A hazard counts as found for a rule when a finding of that rule starts in the case\'s lines or names',
      'them in its evidence chain ("found (chain)"); a clean case is flagged when a finding of one of its',
      'rules starts in its lines. Figures count (case, rule) pairs.',
      '',
      '## By family',
      '',
      tallyTable('family', byFamily),
      '',
      '## By family and language',
      '',
      tallyTable('family / language', byFamilyLang),
      '',
      '## By rule',
      '',
      tallyTable('rule', byRule),
      '',
      '## By language',
      '',
      tallyTable('language', byLang),
      '',
      '## Every case',
      '',
      caseRows.join('\n'),
      '',
    ].join('\n');
    writeFileSync(join(ROOT, 'docs', 'corpus.md'), md);
    console.log('wrote docs/corpus.md');
  }
  const failures = scored.filter((s) => s.status === 'ran' && Object.values(s.perRule).some((r) => !r.ok)).length;
  process.exitCode = failures ? 1 : 0;
}

function gitHead(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  });
}
