'use strict';
// Starts a bundle from V8's code cache: the compiled code of an earlier run of the same bundle
// on the same Node, kept in the cache folder's `code/`. Used by the launcher for the CLI
// bundle (bin/hazard-lens.js) and, copied to dist/shared/ by the build, by the analysis
// workers for theirs (server/src/scan/pool.ts). Any failure of the cache itself only costs
// the compile it would have saved.
const fs = require('node:fs');
const path = require('node:path');

/** Entries of other bundles not written for this long are dropped when an entry is written. */
const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/** The file's modification time, or Infinity when it cannot be read (it is then left alone). */
function statTime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

/**
 * Runs `file` as `require` would (as a child of `parent`), compiled with the entry of `folder`
 * kept for it. Without a usable entry, the compiled code is written for the next start when
 * `writeWhen` says: `exit` (the process ends) or `first-message` (a worker thread has sent its
 * first result, by when the analysis has run once). `report`: a label to say on stderr whether
 * the entry was used (`hazard-lens: <label> missing|used|rejected: <entry>`), for tests and
 * the bench; `prepareWrite` runs just before the code is serialised; `writeIf`, when given,
 * says at that moment whether this run's code is worth keeping (else nothing is written or
 * dropped); `variant` names the V8 flags the code runs under when they are not the default
 * (the entries are kept apart).
 */
function runCodeCached(file, { folder, parent, writeWhen, report, prepareWrite, writeIf, variant = '' }) {
  const crypto = require('node:crypto');
  const Module = require('node:module');
  const vm = require('node:vm');
  const source = fs.readFileSync(file, 'utf8');
  const stat = fs.statSync(file);
  const digest = (text) => crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  // One entry per bundle and variant (the V8 flags it runs under, when the caller sets some):
  // writing one variant's entry does not drop another's.
  const prefix = `${digest(variant ? `${file}\0${variant}` : file)}-`;
  const entry = path.join(folder, `${prefix}${digest([stat.size, stat.mtimeMs, process.version, process.arch, process.versions.v8].join('\0'))}.v8`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(entry);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (report) process.stderr.write(`hazard-lens: ${report} ${cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used'}: ${entry}\n`);
  if (cachedData === undefined || script.cachedDataRejected) {
    const write = () => {
      if (writeIf && !writeIf()) return;
      try {
        fs.mkdirSync(folder, { recursive: true });
        // Older entries of this bundle (other builds, other Node versions) are dropped, and so
        // are those of other bundles not written for a month (an install moved or removed, an
        // npx folder gone): an entry still in use costs one start that compiles again.
        const stale = Date.now() - STALE_AFTER_MS;
        for (const name of fs.readdirSync(folder)) {
          const file = path.join(folder, name);
          if (name.startsWith(prefix)) fs.rmSync(file, { force: true });
          else if (name.endsWith('.v8') && statTime(file) < stale) fs.rmSync(file, { force: true });
        }
        if (prepareWrite) prepareWrite();
        const temporary = `${entry}.${process.pid}.${require('node:worker_threads').threadId}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData());
        fs.renameSync(temporary, entry);
      } catch {
        // a read-only or full disk: the next start compiles again
      }
    };
    if (writeWhen === 'exit') process.once('exit', write);
    else {
      const { parentPort } = require('node:worker_threads');
      const post = parentPort.postMessage;
      parentPort.postMessage = function (...args) {
        parentPort.postMessage = post;
        const result = post.apply(this, args);
        write();
        return result;
      };
    }
  }
  const compiled = script.runInThisContext({ displayErrors: true });
  const bundleModule = new Module(file, parent);
  bundleModule.filename = file;
  bundleModule.paths = Module._nodeModulePaths(path.dirname(file));
  bundleModule.loaded = true;
  compiled.call(bundleModule.exports, bundleModule.exports, Module.createRequire(file), bundleModule, file, path.dirname(file));
}

module.exports = { runCodeCached };
