#!/usr/bin/env node
// Scans real library code installed from Debian's packages with the built CLI and prints how
// many findings each rule gives per package — the precision check behind the rule docs'
// "When not to use it" sections. Not part of CI: it needs the packages below installed
// (`npm run real-libs -- --install` runs apt-get for them) and `npm run build` first.
//
//   node scripts/real-libs.mjs [--install] [--list] [--rule <id>] [--json <file>]
//
// --list prints every finding (path:line rule message) under its package, for judging;
// --rule narrows the listing to one rule; --json writes the raw reports for later comparison.
// Each package is scanned as its own workspace with dist-packages as the import root, so
// module names resolve as they do when installed (`oslo_messaging.transport`, ...).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'hazard-lens.js');
const DIST_PACKAGES = '/usr/lib/python3/dist-packages';

/** Debian package → what it installs under dist-packages. */
const PACKAGES = [
  { deb: 'python3-oslo.messaging', paths: ['oslo_messaging'] },
  { deb: 'python3-eventlet', paths: ['eventlet'] },
  { deb: 'python3-kombu', paths: ['kombu'] },
  { deb: 'python3-amqp', paths: ['amqp'] },
  { deb: 'python3-bottle', paths: ['bottle.py'] },
  { deb: 'python3-celery', paths: ['celery'] },
];

const args = process.argv.slice(2);
const list = args.includes('--list');
const ruleIndex = args.indexOf('--rule');
const onlyRule = ruleIndex >= 0 ? args[ruleIndex + 1] : undefined;
const jsonIndex = args.indexOf('--json');
const jsonOut = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined;

if (args.includes('--install')) {
  const r = spawnSync('apt-get', ['install', '-y', '-q', ...PACKAGES.map((p) => p.deb)], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    console.error('apt-get failed; install the packages by hand: apt-get install ' + PACKAGES.map((p) => p.deb).join(' '));
    process.exit(2);
  }
}
if (!existsSync(join(ROOT, 'dist', 'cli', 'cli.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}

const reports = {};
const totals = new Map();
const rows = [];
let missing = 0;
for (const pkg of PACKAGES) {
  const present = pkg.paths.filter((p) => existsSync(join(DIST_PACKAGES, p)));
  if (!present.length) {
    console.log(`${pkg.deb}: not installed (apt-get install ${pkg.deb}, or run with --install)`);
    missing++;
    continue;
  }
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'scan', ...present, '--format', 'json', '--severity-threshold', 'hint', '--no-cache'], {
    cwd: DIST_PACKAGES,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  // Exit codes 0 (nothing found) and 1 (findings) both carry a report.
  if (r.status !== 0 && r.status !== 1) {
    // An older CLI without --no-cache: retry without it.
    const retry = spawnSync(process.execPath, [CLI, 'scan', ...present, '--format', 'json', '--severity-threshold', 'hint'], { cwd: DIST_PACKAGES, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (retry.status !== 0 && retry.status !== 1) {
      console.log(`${pkg.deb}: scan failed (exit ${r.status}): ${(r.stderr || retry.stderr).trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    r.stdout = retry.stdout;
  }
  const report = JSON.parse(r.stdout);
  reports[pkg.deb] = report;
  const byRule = new Map();
  for (const f of report.findings) {
    byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
    totals.set(f.ruleId, (totals.get(f.ruleId) ?? 0) + 1);
  }
  rows.push({ pkg: pkg.deb, files: report.summary.files, skipped: report.summary.skipped, ms: Date.now() - started, byRule });
  if (list) {
    console.log(`\n## ${pkg.deb} (${present.join(', ')})`);
    for (const f of report.findings) {
      if (onlyRule && f.ruleId !== onlyRule) continue;
      console.log(`${f.path}:${f.range.start.line} ${f.ruleId} [${f.severity}] ${f.message}`);
    }
  }
}

console.log('\npackage                   files  time    findings by rule');
for (const row of rows) {
  const rules = [...row.byRule].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, n]) => `${id} ${n}`).join(', ') || '—';
  console.log(`${row.pkg.padEnd(24)} ${String(row.files).padStart(6)} ${(row.ms / 1000).toFixed(1).padStart(5)} s  ${rules}`);
}
console.log(`${'all'.padEnd(24)} ${''.padStart(6)} ${''.padStart(7)}  ${[...totals].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, n]) => `${id} ${n}`).join(', ') || '—'}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(reports, null, 1));
if (missing) process.exitCode = 2;
