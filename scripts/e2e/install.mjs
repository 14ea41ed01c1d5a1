#!/usr/bin/env node
// Installs what the real-editor runs need, idempotently: Debian's chromium, libkrb5-dev (the
// `kerberos` addon of code-server builds from source) and ripgrep (see below), then the
// pinned code-server from the npm registry into the git-ignored .e2e/ folder. A second run
// with everything in place does nothing.
//
// Usage: node scripts/e2e/install.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, CODE_SERVER_VERSION, codeServerBin, codeServerPrefix, e2eDir, freshDir, log, run } from './common.mjs';

const APT_PACKAGES = ['chromium', 'libkrb5-dev', 'ripgrep'];

function dpkgInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

export function installAptPackages() {
  const missing = APT_PACKAGES.filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  const asRoot = process.getuid?.() === 0;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`apt: installing ${missing.join(', ')}`);
  const aptGet = (args) => (asRoot ? run('apt-get', args, { env }) : run('sudo', ['apt-get', ...args], { env }));
  // The package lists may be missing or stale on a fresh machine.
  aptGet(['update', '-qq']);
  aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing after installing chromium`);
}

const marker = join(codeServerPrefix, '.installed');

export function codeServerInstalled() {
  return existsSync(codeServerBin) && existsSync(marker) && readFileSync(marker, 'utf8').trim() === CODE_SERVER_VERSION;
}

export function installCodeServer() {
  if (codeServerInstalled()) {
    log(`code-server ${CODE_SERVER_VERSION} already installed in ${codeServerPrefix}`);
    return;
  }
  const t0 = Date.now();
  rmSync(codeServerPrefix, { recursive: true, force: true });
  freshDir(codeServerPrefix);
  const tmp = freshDir(join(e2eDir, 'install-tmp'), { empty: true });
  // @vscode/ripgrep's postinstall downloads a ripgrep build from a host these machines
  // cannot reach; it first looks for the asset in this cache folder, and a tarball of
  // Debian's rg (same ripgrep, statically enough linked for our use) satisfies it.
  const rgCache = freshDir(join(tmp, 'vscode-ripgrep-cache-1.15.11'));
  run('tar', ['czf', join(rgCache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz'), '-C', '/usr/bin', 'rg']);
  writeFileSync(join(codeServerPrefix, 'package.json'), JSON.stringify({ name: 'hazard-lens-e2e-code-server', private: true }, null, 2) + '\n');
  const env = {
    ...process.env,
    TMPDIR: tmp,
    // node-pty's postinstall runs `npx node-gyp`; the machine's npm config answers "no" to
    // npx prompts, which fails the install.
    npm_config_yes: 'true',
    npm_config_cache: join(e2eDir, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`];
  // Its postinstall refuses to run as root without this.
  if (process.getuid?.() === 0) args.push('--unsafe-perm');
  log(`npm: installing code-server@${CODE_SERVER_VERSION} into ${codeServerPrefix} (about a minute)`);
  run('npm', args, { cwd: codeServerPrefix, env });
  if (!existsSync(codeServerBin)) throw new Error(`code-server's entry point ${codeServerBin} is missing after the install`);
  writeFileSync(marker, CODE_SERVER_VERSION + '\n');
  rmSync(tmp, { recursive: true, force: true });
  log(`code-server installed in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

export function installAll() {
  installAptPackages();
  installCodeServer();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    installAll();
  } catch (err) {
    console.error(`install failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
