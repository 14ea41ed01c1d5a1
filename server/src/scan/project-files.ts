/**
 * Project files for the program model (pyproject.toml, setup.cfg, compile_commands.json,
 * package.json, *.ini, *.conf, and the entry_points.txt of *.egg-info / *.dist-info folders):
 * read from every directory between a root and the source files found below it. They are only read, never executed. Shared by the scanner and the
 * language server's workspace index.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_FILE_EXTENSIONS, PROJECT_FILE_NAMES, PROJECT_METADATA_DIR_SUFFIXES, type ProjectFile } from '../model/program-context';
import { readSourceFile } from './read';
import { fsPath, nameFromBytes } from '../text/file-names';

/** A generated `compile_commands.json` of a large C project runs to tens of megabytes. */
export const COMPILE_COMMANDS_MAX_BYTES = 64 * 1024 * 1024;

/** True for the names of the files that {@link ProjectFile}s are made of. */
export function isProjectFileName(filePath: string): boolean {
  const base = path.basename(filePath);
  return PROJECT_FILE_NAMES.includes(base) || PROJECT_FILE_EXTENSIONS.includes(path.extname(base).toLowerCase()) || isMetadataEntryPoints(filePath);
}

/** A distribution's `entry_points.txt` (`pkg.egg-info/entry_points.txt`, `pkg-1.0.dist-info/entry_points.txt`). */
function isMetadataEntryPoints(filePath: string): boolean {
  return path.basename(filePath) === 'entry_points.txt' && isMetadataDir(path.basename(path.dirname(filePath)));
}

function isMetadataDir(name: string): boolean {
  return PROJECT_METADATA_DIR_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length);
}

/** Reads one project file with the scanner's checks (size, binary, UTF-8); undefined when unreadable. */
export async function readProjectFile(full: string, maxBytes: number): Promise<ProjectFile | undefined> {
  const limit = path.basename(full) === 'compile_commands.json' ? COMPILE_COMMANDS_MAX_BYTES : maxBytes;
  const read = await readSourceFile(full, limit);
  return read.ok ? { path: full, text: read.text } : undefined;
}

/** Gives the event loop a turn now and then, so cancellation and LSP messages get through. */
export function yielder(): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < 15) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

/**
 * Collects the project files of the directories that hold `files` and of their parents up
 * to the enclosing root, sorted by path. `read` decides per file (exclusion, size) and
 * returns undefined to leave one out; unreadable directories are passed over.
 */
export async function collectProjectFiles(
  roots: readonly string[],
  files: readonly string[],
  read: (absPath: string) => Promise<ProjectFile | undefined>,
): Promise<ProjectFile[]> {
  const dirs = new Set<string>(roots);
  for (const f of files) {
    const root = roots.find((r) => f.startsWith(r + path.sep));
    if (!root) continue;
    for (let d = path.dirname(f); d.length >= root.length && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
  }
  const out: ProjectFile[] = [];
  const pause = yielder();
  for (const dir of [...dirs].sort()) {
    let entries: fs.Dirent<Buffer>[];
    try {
      // As bytes: a folder whose name is not UTF-8 is read too (see text/file-names.ts).
      entries = await fs.promises.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
    } catch {
      continue;
    }
    for (const e of entries) {
      const name = nameFromBytes(e.name);
      if (e.isDirectory() && isMetadataDir(name)) {
        // The walker takes no file of these folders: their entry points are read here.
        const txt = path.join(dir, name, 'entry_points.txt');
        if (!fs.existsSync(fsPath(txt))) continue;
        const pf = await read(txt);
        if (pf) out.push(pf);
        continue;
      }
      if (e.isDirectory() || !isProjectFileName(name)) continue;
      const pf = await read(path.join(dir, name));
      if (pf) out.push(pf);
    }
    await pause();
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
