/**
 * Entry point of the bundled CLI (`dist/cli/cli.js`, launched by `bin/hazard-lens.js`).
 * Sets `process.exitCode` instead of calling `process.exit()` so a large report written to
 * a pipe is flushed completely before the process ends.
 */
import { runCli } from './cli';

async function startLanguageServer(): Promise<void> {
  // Loaded only for `lsp`: the scan path does not pay for the LSP libraries.
  // NOTE: `createConnection()` reads the transport from process.argv, which holds `--stdio`.
  const { startServer } = await import('../lsp/server');
  startServer();
}

// `hazard-lens scan | head`: a reader that goes away is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  startLanguageServer,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hazard-lens: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
