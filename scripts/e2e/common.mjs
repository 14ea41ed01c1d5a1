// Shared plumbing of the real-editor scripts: where things live under the git-ignored .e2e/
// folder, the environment that keeps code-server's files out of the home folder, a free
// port, starting code-server in its own process group and stopping that whole group, and
// launching Debian's Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const e2eDir = join(root, '.e2e');
export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The code-server release: the last whose engines.node accepts Node 20 (VS Code 1.100.3). */
export const CODE_SERVER_VERSION = '4.100.3';
export const codeServerPrefix = join(e2eDir, `code-server-${CODE_SERVER_VERSION}`);
export const codeServerBin = join(codeServerPrefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = '/usr/bin/chromium';

/** The .vsix `npm run package` writes for the current version. */
export const vsixPath = join(root, `${pkg.name}-${pkg.version}.vsix`);
/** Folder name of the extension once installed into an extensions dir. */
export const installedExtensionName = `${pkg.publisher}.${pkg.name}-${pkg.version}`;

/** Prints a progress line to stderr with the time since the script started. */
const started = Date.now();
export function log(message) {
  process.stderr.write(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}

/** Makes (and optionally empties) a folder. */
export function freshDir(dir, { empty = false } = {}) {
  if (empty) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Environment for code-server and its children: XDG folders and TMPDIR inside `base` so
 * nothing lands in the home folder or the system temp folder.
 */
export function isolatedEnv(base) {
  const env = { ...process.env };
  for (const [key, sub] of [
    ['XDG_CONFIG_HOME', 'xdg-config'],
    ['XDG_DATA_HOME', 'xdg-data'],
    ['XDG_CACHE_HOME', 'xdg-cache'],
    ['XDG_STATE_HOME', 'xdg-state'],
    ['TMPDIR', 'tmp'],
  ]) {
    env[key] = freshDir(join(base, sub));
  }
  // The extension host inherits this environment; VS Code's own launch variables would
  // confuse it if this script itself runs inside a VS Code terminal.
  for (const key of Object.keys(env)) {
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE') delete env[key];
  }
  return env;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(address.port));
    });
  });
}

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

/** The command line that starts code-server with our node (engines.node 20 matches). */
export function codeServerArgs(base, extensionsDir, extra = []) {
  return [
    codeServerBin,
    '--config', join(base, 'cs.yaml'),
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', join(base, 'user-data'),
    '--extensions-dir', extensionsDir,
    ...extra,
  ];
}

/**
 * User settings of a run: no gallery lookups (the marketplace is not reachable), no welcome
 * page, no tips, no telemetry, no trust prompt.
 */
export function writeUserSettings(base, extra = {}) {
  const dir = freshDir(join(base, 'user-data', 'User'));
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'security.workspace.trust.enabled': false,
    'git.enabled': false,
    ...extra,
  };
  writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
}

/** Installs a .vsix into an extensions dir with code-server's own CLI. */
export function installVsix(base, extensionsDir, vsix, env) {
  run(process.execPath, [...codeServerArgs(base, extensionsDir), '--install-extension', vsix], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const installed = join(extensionsDir, installedExtensionName);
  if (!existsSync(join(installed, 'package.json'))) throw new Error(`the .vsix did not install into ${installed}`);
  return installed;
}

/**
 * Starts code-server on 127.0.0.1:port in a new process group (setsid through `detached`),
 * with its output appended to `logFile` (or inherited). Returns a handle whose stop() kills
 * the whole group: code-server, the extension host, the language server, file watchers.
 */
export function startCodeServer({ base, extensionsDir, port, workspace, env, logStream }) {
  const args = codeServerArgs(base, extensionsDir, ['--bind-addr', `127.0.0.1:${port}`]);
  if (workspace) args.push(workspace);
  const child = spawn(process.execPath, args, {
    env,
    detached: true,
    stdio: logStream ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  if (logStream) {
    child.stdout.pipe(logStream, { end: false });
    child.stderr.pipe(logStream, { end: false });
  }
  let exited = false;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    exited: () => exited,
    exitPromise,
    /** SIGTERM to the whole group, SIGKILL after `graceMs` if anything is left. */
    async stop(graceMs = 5000) {
      const pgid = child.pid;
      if (pgid === undefined) return;
      const signalGroup = (signal) => {
        try {
          process.kill(-pgid, signal);
          return true;
        } catch {
          return false; // the group is gone
        }
      };
      if (!signalGroup('SIGTERM')) return;
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        if (!signalGroup(0)) return;
      }
      signalGroup('SIGKILL');
    },
  };
}

/** Polls /healthz until code-server answers (or throws after `timeoutMs`). */
export async function waitForHealthz(handle, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle.exited()) throw new Error('code-server exited before it answered /healthz');
    try {
      const res = await fetch(`${handle.url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer ${handle.url}/healthz within ${timeoutMs} ms`);
}

/** Launches headless Chromium through playwright-core with a fresh profile under `base`. */
export async function launchChromium(base) {
  const { chromium } = await import('playwright-core');
  const profile = freshDir(join(base, 'chromium-profile'), { empty: true });
  // launchPersistentContext is the way to give Chromium its own user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The scripts handle these signals themselves (they must also stop code-server's process
    // group); playwright's own handlers would exit the process first.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    viewport: { width: 1400, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    env: { ...process.env, XDG_CONFIG_HOME: join(base, 'xdg-config'), XDG_CACHE_HOME: join(base, 'xdg-cache'), TMPDIR: join(base, 'tmp') },
  });
  return context;
}

/** Workbench URL that opens `folder` (slashes kept readable), with an optional test payload. */
export function workbenchUrl(baseUrl, folder, payload) {
  let url = `${baseUrl}/?folder=${encodeURIComponent(folder).replace(/%2F/g, '/')}`;
  if (payload) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}
