#!/usr/bin/env node
// Runs the integration suite (test/e2e) inside a real VS Code extension host: code-server
// (pinned, installed into .e2e/ by install.mjs) driven headless by Debian's Chromium through
// playwright-core.
//
//   1. installs what is missing (apt packages, code-server), builds, packs the .vsix;
//   2. installs the .vsix with code-server's CLI into a scratch folder, so what is tested is
//      the shipped artefact; code-server itself then runs with an EMPTY --extensions-dir and
//      loads that installed copy as the development extension (installed AND loaded for
//      development, an extension would run twice);
//   3. opens a throwaway copy of examples/ with the test payload in the URL
//      (extensionDevelopmentPath + extensionTestsPath); the extension host awaits the suite's
//      run(), and the page reports the exit code through window.codeAutomationExit and the
//      extension host's console through window.codeAutomationLog;
//   4. prints the suite's output, then a plain `N passed, N failed` line; exits non-zero on
//      any failure, a crash or a timeout. code-server runs in its own process group, which
//      is killed as a whole at the end.
//
// Usage: node scripts/e2e/run.mjs [options]
//   --grep PATTERN        run only the tests whose title matches
//   --no-build            reuse dist/ and the existing .vsix
//   --suite-src DIR       suite sources (index.ts + suite/); default test/e2e
//   --extension DIR       load this extension folder instead of the packed .vsix
//   --timeout SECONDS     whole-run ceiling (default 900)
//   --keep                leave code-server running at the end (prints its URL; Ctrl-C stops it)
import { cpSync, createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format, parseArgs } from 'node:util';
import { buildSuite } from './build-suite.mjs';
import {
  e2eDir,
  freePort,
  freshDir,
  installVsix,
  isolatedEnv,
  launchChromium,
  log,
  root,
  startCodeServer,
  vsixPath,
  waitForHealthz,
  workbenchUrl,
  writeUserSettings,
} from './common.mjs';
import { installAll } from './install.mjs';
import { packageExtension } from '../package.mjs';

const RESULT_PREFIX = 'hazard-lens-e2e-result ';
/** test/e2e/index.ts prefixes the extension host's console lines with this. */
const LOG_PREFIX = 'e2e| ';
const SUMMARY_LINE = /^\d+ passed, \d+ failed(, \d+ skipped)?$/;

const { values: opts } = parseArgs({
  options: {
    grep: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'suite-src': { type: 'string' },
    extension: { type: 'string' },
    timeout: { type: 'string', default: '900' },
    keep: { type: 'boolean', default: false },
  },
});

const t0 = Date.now();
let counts;
let server;
let browser;

let finished = false;

/** The closing line CI reads; printed once, whatever happened. */
function finish(exitCode, reason) {
  if (finished) return exitCode;
  finished = true;
  if (reason) console.log(`e2e run failed: ${reason}`);
  const passed = counts?.passes ?? 0;
  let failed = counts?.failures ?? 0;
  if (exitCode !== 0 && failed === 0) failed = 1; // a crash or timeout counts as a failure
  console.log(`e2e run took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`${passed} passed, ${failed} failed${counts?.pending ? `, ${counts.pending} skipped` : ''}`);
  return exitCode;
}

async function cleanup() {
  await browser?.close().catch(() => undefined);
  await server?.stop();
}

async function main() {
  installAll();

  let extensionPath;
  const base = freshDir(join(e2eDir, 'runs', 'test'), { empty: true });
  const env = isolatedEnv(base);
  writeUserSettings(base);
  if (opts.extension) {
    extensionPath = resolve(opts.extension);
  } else {
    if (!opts['no-build'] || !existsSync(vsixPath)) packageExtension({ quiet: true });
    log('installing the .vsix into a scratch extensions folder');
    extensionPath = installVsix(base, join(base, 'installed-extensions'), vsixPath, env);
  }
  const suiteIndex = await buildSuite({ src: opts['suite-src'] ? resolve(opts['suite-src']) : undefined, out: join(base, 'suite') });

  // Tests edit files: they get a copy of the examples.
  const workspace = join(base, 'workspace');
  cpSync(join(root, 'examples'), workspace, { recursive: true });

  const port = await freePort();
  const extensionsDir = freshDir(join(base, 'extensions'));
  // code-server does not hand its environment to the extension host: options go in a file
  // next to the suite's entry point.
  writeFileSync(join(base, 'suite', 'e2e-options.json'), JSON.stringify({ logPrefix: LOG_PREFIX, grep: opts.grep }));
  const serverLog = join(base, 'code-server.log');
  const workbenchLog = createWriteStream(join(base, 'workbench-console.log'));
  log(`starting code-server on 127.0.0.1:${port} (log: ${serverLog})`);
  server = startCodeServer({ base, extensionsDir, port, env, logStream: createWriteStream(serverLog) });
  await waitForHealthz(server);

  browser = await launchChromium(base);
  const page = browser.pages()[0] ?? (await browser.newPage());
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  // Everything the workbench logs arrives here; the suite's lines carry LOG_PREFIX and go to
  // stdout, the rest (workbench chatter, gallery lookups that cannot reach the network) to a file.
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = Array.isArray(args) ? format(...args) : String(args);
    for (const line of text.split('\n')) {
      const at = line.indexOf(LOG_PREFIX);
      if (at < 0) {
        workbenchLog.write(`[${type}] ${line}\n`);
        continue;
      }
      const own = line.slice(at + LOG_PREFIX.length);
      if (own.startsWith(RESULT_PREFIX)) counts = JSON.parse(own.slice(RESULT_PREFIX.length));
      // The suite's own summary line is replaced by the one finish() prints.
      else if (!SUMMARY_LINE.test(own.trim())) process.stdout.write(`${own}\n`);
    }
  });
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit({ code }));
  page.on('pageerror', (err) => log(`page error: ${err.message}`));

  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(suiteIndex)],
  ];
  log('opening the workbench with the test payload');
  await page.goto(workbenchUrl(server.url, workspace, payload));

  const timeoutMs = Number(opts.timeout) * 1000;
  const outcome = await Promise.race([
    exited,
    server.exitPromise.then(({ code, signal }) => ({ error: `code-server exited (${code ?? signal}) during the run` })),
    new Promise((r) => setTimeout(() => r({ error: `no result after ${opts.timeout} s` }), timeoutMs)),
  ]);
  if (opts.keep) {
    log(`code-server is still running: ${workbenchUrl(server.url, workspace)} (Ctrl-C stops it)`);
    await new Promise((r) => {
      process.once('SIGINT', r);
      process.once('SIGTERM', r);
    });
  }
  const logs = `see ${serverLog} and ${join(base, 'workbench-console.log')}`;
  if ('error' in outcome) return finish(1, `${outcome.error}; ${logs}`);
  if (outcome.code !== 0) return finish(outcome.code || 1, counts ? undefined : `the extension host exited with ${outcome.code} before the suite reported; ${logs}`);
  if (!counts) return finish(1, `the extension host exited with 0 but the suite reported no counts; ${logs}`);
  return finish(0);
}

// Ctrl-C / SIGTERM: stop code-server's whole process group before leaving.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (opts.keep && server) return; // --keep waits for this signal itself
    finish(130, `interrupted by ${signal}`);
    void cleanup().then(() => process.exit(130));
  });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  exitCode = finish(1, err instanceof Error ? err.stack ?? err.message : String(err));
} finally {
  await cleanup();
}
process.exit(exitCode);
