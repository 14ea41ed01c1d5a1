/**
 * Code whose host is not shown by the call graph. Library code: a file under a `lib…` folder
 * below the workspace root (`libuuid/src/`, `lib/`, `shlibs/`), linked into hosts the
 * workspace does not show, so the FD rules judge what it keeps open without knowing whether its
 * host forks, daemonizes or runs other programs. Modules: a file no program reaches by name
 * that calls into a program's files (a server's plugin, called back through a table of
 * function pointers), which runs inside that program.
 */
import * as nodePath from 'node:path';
import { isMain, type CFile, type CModel, type CProgram } from './c';

/** Whether a path (relative to the workspace root) lies under a library folder. */
export function isLibraryPath(path: string): boolean {
  return path.split(/[\\/]/).slice(0, -1).some((seg) => /^(lib|lib[a-z0-9][\w-]*|shlibs)$/i.test(seg));
}

/**
 * Whether a file is library code. Folders are read below the workspace root that holds the
 * file, so a checkout inside some `lib/` folder is not all library code.
 */
export function isLibraryFile(roots: readonly string[], path: string): boolean {
  const abs = nodePath.resolve(path);
  const root = roots.map((r) => nodePath.resolve(r)).find((r) => abs === r || abs.startsWith(r + nodePath.sep));
  return isLibraryPath(root ? nodePath.relative(root, abs) : path);
}

/**
 * The programs a file outside every program runs in as a module: those holding a file its
 * functions call by name (a plugin calling its server's helpers). Empty for a file that is in
 * a program, for one that calls nothing of the workspace, and for one that does not store
 * one of its own functions as a value (a field assignment or a file-scope initializer, as a
 * plugin's init fills its table of handlers): a file that only shares helpers with a program
 * (a test that `#include`s a skeleton with the `main`) is not called back by it. The store
 * must be in the file itself: a name stored elsewhere may be another file's function of the
 * same name. A file that defines `main` is a program of its own (one that neither forks nor
 * runs a program, or it would be in one), never another program's module: jemalloc's unit
 * tests each link the library with their own `main`.
 */
export function hostPrograms(model: CModel, file: CFile): CProgram[] {
  if (model.programsOf(file).length > 0) return [];
  if (file.functions.some((fn) => fn && isMain(fn))) return [];
  const stored = new Set(file.storedNames ?? []);
  if (!file.functions.some((fn) => fn && stored.has(fn.fact.name))) return [];
  const called = new Set<CFile>();
  for (const fn of file.functions) {
    if (!fn) continue;
    for (const callees of model.callees(fn)) for (const t of callees) if (t.file !== file) called.add(t.file);
  }
  return model.programs().filter((p) => p.mains.length > 0 && [...called].some((f) => p.files.has(f)));
}
