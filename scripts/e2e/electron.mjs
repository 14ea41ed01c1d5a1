#!/usr/bin/env node
// `npm run test:e2e:electron`: the same integration suite (test/e2e) in desktop VS Code,
// downloaded by @vscode/test-electron. For machines that can download VS Code (a developer's
// desktop, public CI); the build machines here cannot, so `npm run test:e2e` (code-server)
// is what .ci/run uses. See test/e2e/README.md.
//
// Usage: node scripts/e2e/electron.mjs [--vscode-version V] [--grep PATTERN]
//   --vscode-version V   VS Code to download (default 1.100.3, the oldest engines.vscode accepts;
//                        "stable" for the newest)
//   --grep PATTERN       run only the tests whose title matches
// On Linux without a display, run it under `xvfb-run -a`.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSuite } from './build-suite.mjs';
import { e2eDir, freshDir, log, root, run } from './common.mjs';

const { values: opts } = parseArgs({
  options: {
    'vscode-version': { type: 'string', default: '1.100.3' },
    grep: { type: 'string' },
  },
});

let exitCode = 1;
try {
  const { runTests } = await import('@vscode/test-electron');
  log('building the extension');
  run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });
  const base = freshDir(join(e2eDir, 'runs', 'electron'), { empty: true });
  const suiteIndex = await buildSuite({ out: join(base, 'suite') });
  const workspace = join(base, 'workspace');
  cpSync(join(root, 'examples'), workspace, { recursive: true });

  exitCode = await runTests({
    version: opts['vscode-version'],
    // The downloaded VS Code is cached here between runs.
    cachePath: join(e2eDir, 'vscode-test'),
    extensionDevelopmentPath: root,
    extensionTestsPath: suiteIndex,
    extensionTestsEnv: opts.grep ? { HAZARD_LENS_E2E_GREP: opts.grep } : {},
    launchArgs: [
      workspace,
      // Only the extension under test: no other installed extension interferes.
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      `--user-data-dir=${join(base, 'user-data')}`,
      `--extensions-dir=${join(base, 'extensions')}`,
    ],
  });
  // The suite itself printed the "N passed, N failed" line (test/e2e/index.ts).
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`e2e (electron) failed: ${message}`);
  // runTests rejects on a non-zero exit too; the suite printed its counts then. Otherwise
  // (no VS Code download, a crash before the suite ran) count the run as one failure.
  if (!/^Test run failed with code \d+/.test(message)) console.log('0 passed, 1 failed');
  exitCode = 1;
}
process.exit(exitCode);
