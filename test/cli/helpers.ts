/**
 * Helpers for the CLI tests: temporary workspaces, running the bundled CLI
 * (`dist/cli/cli.js`, built by `npm test` before the tests run) and the SARIF Multitool.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'cli.js');
export const MULTITOOL = path.join(ROOT, 'node_modules', '@microsoft', 'sarif-multitool-linux', 'Sarif.Multitool');

/** Builds the bundles once when the tests are run on their own, without `npm test`. */
export function ensureBuilt(): void {
  if (fs.existsSync(CLI)) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (!fs.existsSync(CLI)) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
}

export type Tree = Record<string, string | Buffer>;

/** Creates a temporary directory holding `files` (paths with `/`), returns its real path. */
export function makeWorkspace(files: Tree = {}): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-cli-')));
  writeTree(dir, files);
  return dir;
}

export function writeTree(dir: string, files: Tree): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
}

export function removeWorkspace(dir: string): void {
  // Restore permissions that a test took away, so the directory can be removed.
  const restore = (p: string) => {
    try {
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return;
      fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
      if (st.isDirectory()) for (const e of fs.readdirSync(p)) restore(path.join(p, e));
    } catch {
      // already gone
    }
  };
  restore(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  timeoutMs?: number;
  /** Run as this user (the tests run as root in some containers; root reads everything). */
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs `node dist/cli/cli.js ARGS`; a hang is cut off by the time-out (status null). */
export function runCli(args: string[], options: RunOptions): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    uid: options.uid,
    gid: options.gid,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function multitoolAvailable(): boolean {
  return process.platform === 'linux' && fs.existsSync(MULTITOOL);
}

/**
 * Validates a SARIF file with the SARIF Multitool and returns the errors it reports.
 * NOTE: the Multitool exits 0 whatever it finds, so its findings are read from its own
 * SARIF output (results of level `error`) and from the `error XXXX:` lines it prints.
 */
export function validateSarif(file: string): { errors: string[]; warnings: string[]; output: string } {
  const log = `${file}.validation.sarif`;
  const r = spawnSync(MULTITOOL, ['validate', file, '--output', log, '--log', 'ForceOverwrite'], { encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw r.error;
  const errors = output.split('\n').filter((l) => /\berror [A-Z]+\d+:/.test(l));
  const warnings = output.split('\n').filter((l) => /\bwarning [A-Z]+\d+:/.test(l));
  if (!fs.existsSync(log)) {
    errors.push(`the Multitool wrote no log; it printed:\n${output}`);
    return { errors, warnings, output };
  }
  const parsed = JSON.parse(fs.readFileSync(log, 'utf8').replace(/^\uFEFF/, '')) as {
    runs: { results?: { level?: string; ruleId?: string; message?: { text?: string } }[] }[];
  };
  for (const run of parsed.runs) {
    for (const res of run.results ?? []) {
      if (res.level === 'error') {
        const text = `${res.ruleId ?? '?'}: ${res.message?.text ?? ''}`;
        if (!errors.some((e) => e.includes(res.ruleId ?? '\0'))) errors.push(text);
      }
    }
  }
  return { errors, warnings, output };
}

/** A user that cannot read a mode-000 file, when the tests run as root; undefined otherwise. */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  return { uid: 65534, gid: 65534 };
}

/**
 * Temporary repositories for one test file: the returned function makes one from a tree (a
 * `.git` marks it as a repository root, so no ignore file above it applies), and every one
 * made is removed after the file's tests.
 */
export function temporaryRepositories(): (files: Tree) => string {
  const made: string[] = [];
  after(() => {
    for (const dir of made) removeWorkspace(dir);
  });
  return (files) => {
    const dir = makeWorkspace({ '.git/HEAD': 'ref: refs/heads/main\n', ...files });
    made.push(dir);
    return dir;
  };
}
