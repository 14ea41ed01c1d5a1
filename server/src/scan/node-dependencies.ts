/**
 * Analyses the `node_modules` files a workspace's imports reach and joins them to the program
 * as read-only parts (`node-modules.ts` finds the folders and resolves the specifiers): the
 * Node counterpart of `python-dependencies.ts`. The closure is followed level by level — the
 * workspace's bare imports, then the imports (relative and bare) of the files they reach —
 * and cut at {@link MAX_NODE_DEPENDENCY_FILES} with a note. Analyses are kept in the cache per
 * package name, version and installation (its `package.json` path and time), so a second scan
 * reads no dependency source file again: only package manifests are read and files' existence
 * checked while the imports are followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileAnalysis } from '../analysis/results';
import type { TsImportFact } from '../facts/typescript/program-facts';
import type { NodeDependencyPackage, NodeResolution, ProgramDependencies } from '../model/program-context';
import { hasFilesRecord, startAnalyses, type DependencyJoinOptions } from './dependency-join';
import { MAX_NODE_DEPENDENCY_FILES, NodeResolver, bareSpecifier, moduleFile, packageDirOf, type InstalledPackage, type NodeModulesLayout } from './node-modules';

export interface NodeDependencyJoin {
  /** Undefined when the workspace's imports reach no installed package. */
  dependencies?: ProgramDependencies;
  /** Dependency files joined, and how many of them came from the cache (no read at all). */
  files: number;
  cacheHits: number;
}


/** What the cache keeps of one installed package: per file (relative to the package folder), its analysis. */
interface PackageEntry {
  files: Record<string, FileAnalysis>;
}

function isPackageEntry(v: unknown): v is PackageEntry {
  return hasFilesRecord(v);
}

/** What identifies one installation of a package: name, version, its manifest (or folder) and that file's time. */
export function nodeInstallationOf(p: InstalledPackage): string {
  const file = p.manifest ?? p.dir;
  let mtime = 0;
  try {
    mtime = fs.statSync(file).mtimeMs;
  } catch {
    // gone since it was read: a new identity either way
  }
  return JSON.stringify(['npm', p.name, p.version, file, mtime]);
}

function importsOf(a: FileAnalysis): TsImportFact[] {
  return (a.facts as { kind?: string }[]).filter((f): f is TsImportFact => f.kind === 'ts.import');
}

/** The bare specifiers the TypeScript/JavaScript files of a workspace import (what decides which packages are joined), sorted. */
export function importedBareSpecifiers(files: readonly FileAnalysis[]): string[] {
  const out = new Set<string>();
  for (const a of files) {
    if (a.language !== 'typescript') continue;
    for (const imp of importsOf(a)) if (bareSpecifier(imp.specifier)) out.add(imp.specifier);
  }
  return [...out].sort();
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export async function joinNodeDependencies(layout: NodeModulesLayout, workspace: readonly FileAnalysis[], roots: readonly string[], options: DependencyJoinOptions): Promise<NodeDependencyJoin> {
  const resolver = new NodeResolver(layout);
  const cache = options.cache;
  const realRoots = roots.map((r) => realpath(path.resolve(r)));
  // A workspace package linked into node_modules (npm/yarn workspaces) is the workspace's own code.
  const isWorkspaceFile = (file: string) => {
    const real = realpath(file);
    return !real.split(path.sep).includes('node_modules') && realRoots.some((r) => real === r || real.startsWith(r + path.sep));
  };
  const packages = new Map<string, InstalledPackage>();
  const entries = new Map<string, { slot: string; entry: PackageEntry; dirty: boolean }>();
  const entryFor = (p: InstalledPackage) => {
    let e = entries.get(p.dir);
    if (!e && cache) {
      const slot = cache.packageSlot(nodeInstallationOf(p));
      const stored = cache.readPackage(slot);
      e = { slot, entry: isPackageEntry(stored) ? stored : { files: {} }, dirty: false };
      entries.set(p.dir, e);
    }
    return e;
  };
  const packageOf = (file: string): InstalledPackage | undefined => {
    const dir = packageDirOf(file);
    if (!dir) return undefined;
    const known = packages.get(dir);
    if (known) return known;
    const p = resolver.packageAt(dir, path.relative(path.dirname(dir), dir));
    if (p) packages.set(dir, p);
    return p;
  };
  const seen = new Set<string>();
  const resolutions: NodeResolution[] = [];
  let truncated = false;
  const add = (file: string, next: string[]) => {
    if (seen.has(file)) return;
    if (seen.size >= MAX_NODE_DEPENDENCY_FILES) {
      truncated = true;
      return;
    }
    seen.add(file);
    next.push(file);
  };
  const follow = (from: string, imports: readonly TsImportFact[], next: string[], inDependency: boolean) => {
    for (const imp of imports) {
      const spec = imp.specifier;
      if (inDependency && (spec.startsWith('./') || spec.startsWith('../'))) {
        const f = moduleFile(path.resolve(path.dirname(from), spec));
        if (f && packageOf(f)) add(f, next);
        continue;
      }
      const r = resolver.resolve(from, spec);
      if (!r || isWorkspaceFile(r.file)) continue;
      packages.set(r.pkg.dir, r.pkg);
      resolutions.push({ from: path.resolve(from), specifier: spec, to: r.file });
      add(r.file, next);
    }
  };
  let level: string[] = [];
  for (const a of workspace) if (a.language === 'typescript') follow(a.path, importsOf(a), level, false);
  const reached: FileAnalysis[] = [];
  let cacheHits = 0;
  while (level.length) {
    const next: string[] = [];
    const cachedAnalysis = (file: string): FileAnalysis | undefined => {
      const p = packageOf(file);
      const analysis = p ? entryFor(p)?.entry.files[path.relative(p.dir, file)] : undefined;
      return analysis && analysis.path === file ? analysis : undefined;
    };
    const started = startAnalyses(
      level.filter((file) => packageOf(file) && !cachedAnalysis(file)),
      options.analyseFile,
    );
    for (const file of level) {
      const p = packageOf(file);
      if (!p) continue;
      const e = entryFor(p);
      const rel = path.relative(p.dir, file);
      let analysis: FileAnalysis | undefined = e?.entry.files[rel];
      if (analysis && analysis.path === file) cacheHits++;
      else {
        const outcome = await (started.get(file) ?? options.analyseFile(file));
        if (outcome.kind !== 'analysis' || outcome.analysis.notAnalysed !== undefined) continue;
        analysis = outcome.analysis;
        if (e && analysis.notes.length === 0) {
          e.entry.files[rel] = analysis;
          e.dirty = true;
        }
      }
      if (analysis.language !== 'typescript') continue;
      reached.push(analysis);
      follow(file, importsOf(analysis), next, true);
    }
    level = next;
  }
  if (cache) for (const e of entries.values()) if (e.dirty) cache.writePackage(e.slot, e.entry);
  if (!reached.length) return { files: 0, cacheHits: 0 };
  const joined = new Set(reached.map((a) => packageDirOf(a.path)));
  const nodePackages: NodeDependencyPackage[] = [...packages.values()].filter((p) => joined.has(p.dir)).map((p) => ({ name: p.name, version: p.version, dir: path.resolve(p.dir) }));
  const where = layout.foundBy === 'setting' ? `${layout.folder} (from the settings)` : `node_modules (${layout.folders.length === 1 ? layout.folders[0] : `${layout.folders.length} folders from ${layout.folders[0]} up`})`;
  options.note(`${where}: ${reached.length} file${reached.length === 1 ? '' : 's'} of ${nodePackages.length} installed package${nodePackages.length === 1 ? '' : 's'} joined to the program`);
  if (truncated) options.note(`node_modules: only the first ${reached.length} dependency files reached were joined; the rest of the import closure is left out`);
  return {
    dependencies: { files: reached, sitePackages: [], distributions: [], pluginLinks: [], nodePackages, nodeResolutions: resolutions },
    files: reached.length,
    cacheHits,
  };
}
