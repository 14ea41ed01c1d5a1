// Runs every test file (except the real-editor suite under test/e2e) with Node's test
// runner through tsx, shows the spec report, and ends with a plain "N passed, N failed"
// line for CI. Exit code: non-zero when any test failed or none ran.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name === 'fixtures' || name === 'e2e') continue;
      out.push(...collect(full));
    } else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = (only.length ? only : collect(join(root, 'test')).map((f) => relative(root, f))).sort();
const tap = join(mkdtempSync(join(tmpdir(), 'hazard-lens-tests-')), 'report.tap');
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
let report = '';
try {
  report = readFileSync(tap, 'utf8');
} catch {
  // no report: the runner itself failed to start
}
const count = (key) => Number(/^# (\w+) (\d+)$/m.test(report) ? (report.match(new RegExp(`^# ${key} (\\d+)$`, 'm'))?.[1] ?? 0) : 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped');
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(result.status !== 0 || failed > 0 || passed === 0 ? 1 : 0);
