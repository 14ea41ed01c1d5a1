/**
 * Entry point of the integration suite, in the shape `@vscode/test-electron` expects for
 * `extensionTestsPath`: the extension host requires this module and awaits `run()`; a
 * rejected promise makes it exit non-zero. code-server's extension host (scripts/e2e/run.mjs)
 * loads the same module through the workbench's test payload.
 *
 * Options, from `e2e-options.json` next to this file (written by the code-server runner:
 * code-server does not pass its own environment to the extension host) or else from the
 * environment (`@vscode/test-electron`'s `extensionTestsEnv`):
 * - `grep` / `HAZARD_LENS_E2E_GREP`: run only the tests whose full title matches;
 * - `logPrefix` / `HAZARD_LENS_E2E_LOG_PREFIX`: prefix of every console line of the extension
 *   host, so the code-server runner can tell them from the workbench's own messages.
 */
import Mocha from 'mocha';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

/** Prefix of the line that carries the counts to scripts/e2e/run.mjs. */
export const RESULT_PREFIX = 'hazard-lens-e2e-result ';

/**
 * The suite's console: one preformatted string per call (the workbench forwards the extension
 * host's console without applying `%s` formats), each line prefixed so the code-server runner
 * can pick them out of the workbench's log. The extension host's `console` methods cannot be
 * replaced (VS Code guards them with getters), so Mocha's reporter and the tests (through
 * `globalThis.hazardLensE2eLog`, see suite/helpers.ts) call this function instead.
 */
function makeLogger(prefix: string): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    const text = format(...args);
    console.log(prefix ? text.split('\n').map((line) => prefix + line).join('\n') : text);
  };
}

interface Options {
  grep?: string;
  logPrefix?: string;
}

function readOptions(): Options {
  const file = join(__dirname, 'e2e-options.json');
  const fromFile: Options = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Options) : {};
  return {
    grep: fromFile.grep ?? process.env.HAZARD_LENS_E2E_GREP,
    logPrefix: fromFile.logPrefix ?? process.env.HAZARD_LENS_E2E_LOG_PREFIX,
  };
}

export async function run(): Promise<void> {
  const options = readOptions();
  const log = makeLogger(options.logPrefix ?? '');
  Mocha.reporters.Base.consoleLog = log;
  (globalThis as { hazardLensE2eLog?: typeof log }).hazardLensE2eLog = log;
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    reporter: 'spec',
    // Generous per-test ceiling; every wait inside a test has its own, shorter timeout with
    // a message saying what it waited for.
    timeout: 120_000,
    slow: 10_000,
  });
  if (options.grep) mocha.grep(options.grep);

  const suiteDir = join(__dirname, 'suite');
  for (const file of readdirSync(suiteDir).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(join(suiteDir, file));
  }

  const stats = await new Promise<{ passes: number; failures: number; pending: number }>((resolve, reject) => {
    try {
      const runner = mocha.run(() => {
        resolve({ passes: runner.stats?.passes ?? 0, failures: runner.stats?.failures ?? 0, pending: runner.stats?.pending ?? 0 });
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });

  log(`${RESULT_PREFIX}${JSON.stringify(stats)}`);
  // The plain closing line CI counts (Mocha's "N passing" is not read).
  log(`${stats.passes} passed, ${stats.failures} failed${stats.pending ? `, ${stats.pending} skipped` : ''}`);
  if (stats.failures > 0) throw new Error(`${stats.failures} integration test(s) failed`);
  if (stats.passes === 0) throw new Error('no integration test ran');
}
