/**
 * Creating a folder and its missing parents without `mkdir -p` semantics from Node: Node's
 * recursive `mkdir` spins forever at full CPU under `/proc` (the kernel answers ENOENT for a
 * parent that `stat` says exists, and Node retries). Here each missing folder is made with one
 * plain `mkdir`, top down, so every failure is an error with the folder's name in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeFsError } from './fs-errors';

/**
 * Makes `dir` and its missing parents. Throws an Error whose message names the folder that
 * could not be made and why; a path that exists but is not a folder is an error too.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot create ${dir}: ${describe(err)}`);
    }
    if (stat) {
      if (!stat.isDirectory()) throw new Error(`cannot create ${dir}: ${current} is not a folder`);
      break;
    }
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      fs.mkdirSync(folder);
    } catch (err) {
      // Another process may have made it meanwhile; anything else is the answer.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(folder).isDirectory()) continue;
      throw new Error(`cannot create ${folder}: ${describe(err)}`);
    }
  }
}

/** Why `dir` cannot serve as a writable folder (it cannot be made, or is not writable), or undefined. */
export function writableFolderProblem(dir: string): string | undefined {
  try {
    makeDirectory(dir);
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EROFS' ? `${dir} is not writable` : err instanceof Error ? err.message : String(err);
  }
}

/** Why a folder could not be made: ENOENT where the parent exists means the file system allows none there (`/proc`). */
function describe(err: unknown): string {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file system does not allow folders there' : describeFsError(err);
}
