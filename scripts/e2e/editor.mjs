#!/usr/bin/env node
// `npm run editor`: the quickest way to see Hazard Lens. Installs code-server if needed,
// builds and packs the extension, installs the .vsix into a private extensions folder,
// starts code-server on 127.0.0.1 with examples/ open and prints the URL to open in a
// browser. Ctrl-C (or SIGTERM) stops code-server and everything it started.
//
// Usage: node scripts/e2e/editor.mjs [--port N] [--no-build] [--folder DIR]
//   --port N      listen on this port (default: a free one)
//   --no-build    reuse the existing .vsix
//   --folder DIR  open this folder instead of examples/
//
// Settings and state live in .e2e/editor/ and are kept between runs; the extension is
// reinstalled from the current build each time.
import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { e2eDir, freePort, freshDir, installVsix, isolatedEnv, log, root, startCodeServer, vsixPath, waitForHealthz, workbenchUrl, writeUserSettings } from './common.mjs';
import { installAll } from './install.mjs';
import { packageExtension } from '../package.mjs';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    folder: { type: 'string' },
  },
});

let server;
let stopping = false;

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping code-server`);
  await server?.stop();
  process.exit(0);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(signal));

try {
  installAll();
  if (!opts['no-build'] || !existsSync(vsixPath)) packageExtension({ quiet: true });

  const base = freshDir(join(e2eDir, 'editor'));
  const env = isolatedEnv(base);
  if (!existsSync(join(base, 'user-data', 'User', 'settings.json'))) writeUserSettings(base);
  // A fresh extensions folder each time: exactly the current build, nothing left over.
  const extensionsDir = freshDir(join(base, 'extensions'), { empty: true });
  installVsix(base, extensionsDir, vsixPath, env);

  const folder = resolve(opts.folder ?? join(root, 'examples'));
  const port = opts.port ? Number(opts.port) : await freePort();
  const serverLog = join(base, 'code-server.log');
  server = startCodeServer({ base, extensionsDir, port, env, logStream: createWriteStream(serverLog, { flags: 'a' }) });
  await waitForHealthz(server);
  console.log('');
  console.log(`Hazard Lens is running in code-server: ${workbenchUrl(server.url, folder)}`);
  console.log(`(log: ${serverLog}; press Ctrl-C to stop)`);
  const { code, signal } = await server.exitPromise;
  if (!stopping) {
    console.error(`code-server exited on its own (${code ?? signal}); see ${serverLog}`);
    await server.stop();
    process.exit(1);
  }
} catch (err) {
  console.error(`editor failed: ${err instanceof Error ? err.message : String(err)}`);
  await server?.stop();
  process.exit(1);
}
