/**
 * Entry point of the bundled CLI (`dist/cli/cli.js`, launched by `bin/hazard-lens.js`).
 * Sets `process.exitCode` instead of calling `process.exit()` so a large report written to
 * a pipe is flushed completely before the process ends.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAIN_HELP } from './main-help';
import { earlyUsageProblem } from './arguments';
import { PRODUCT_COMMAND, PRODUCT_VERSION } from '../scan/reporters/product';

async function startLanguageServer(): Promise<void> {
  // NOTE: `createConnection()` reads the transport from process.argv, which holds `--stdio`.
  // The built CLI loads the server's own bundle (dist/server/server.js starts the server when
  // loaded), so the CLI bundle does not carry the LSP code that a scan never runs.
  const serverBundle = path.join(__dirname, '..', 'server', 'server.js');
  if (__filename.endsWith('.js') && fs.existsSync(serverBundle)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path at run time, which the bundler leaves alone
    require(serverBundle);
    return;
  }
  // From source (tsx): the module itself. The name is not a literal, so the bundler leaves it out.
  const serverModule = '../lsp/server';
  const { startServer } = (await import(serverModule)) as typeof import('../lsp/server');
  startServer();
}

// `hazard-lens scan | head`: a reader that goes away is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// Ctrl-C: what the running command registered (the progress line) is undone, then exit 130
// as a shell expects of a process ended by SIGINT.
const onInterrupt = new Set<() => void>();
process.on('SIGINT', () => {
  for (const cleanup of onInterrupt) cleanup();
  process.exit(130);
});

const argv = process.argv.slice(2);
// The answers that need no analyser come first (runCli gives the same ones): the rest of the
// CLI is imported only for a command, so its modules are not initialised for these.
if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) process.stdout.write(MAIN_HELP);
else if (argv.length === 1 && (argv[0] === '-V' || argv[0] === '--version')) process.stdout.write(`${PRODUCT_COMMAND} ${PRODUCT_VERSION}\n`);
else if (argv.length === 0) {
  process.stderr.write(MAIN_HELP);
  process.exitCode = 2;
} else {
  // Arguments the option tables alone reject (`scan --bogus`) are answered here, as runCli would.
  const problem = earlyUsageProblem(argv);
  if (problem !== undefined) {
    process.stderr.write(`${PRODUCT_COMMAND}: ${problem}\n`);
    process.exitCode = 2;
  } else void runCommand(argv);
}

async function runCommand(args: string[]): Promise<void> {
  try {
    const { runCli } = await import('./cli');
    process.exitCode = await runCli(args, {
      stdout: process.stdout,
      stderr: process.stderr,
      cwd: process.cwd(),
      env: process.env,
      startLanguageServer,
      oneShotProcess: true,
      onInterrupt: (cleanup) => {
        onInterrupt.add(cleanup);
        return () => onInterrupt.delete(cleanup);
      },
    });
  } catch (err) {
    process.stderr.write(`hazard-lens: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  }
}
