/**
 * Analyses the installed packages a workspace's imports reach in its Python environment and
 * joins them to the program as read-only parts (`python-environment.ts` finds the environment
 * and follows the imports). Analyses of an installed distribution are kept in the cache per
 * distribution, version and installation, so a second scan of the same environment reads none
 * of its files again: only the files' existence is checked while the imports are followed.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { FileAnalysis } from '../analysis/results';
import type { DependencyDistribution, ProgramDependencies } from '../model/program-context';
import type { Range } from '../text/locations';
import { hasFilesRecord, startAnalyses, type DependencyJoinOptions } from './dependency-join';
import { dependencyClosure, groupReferences, installationOf, pluginGroups, workspaceTopLevelNames, type PythonEnvironment, type ReachedDependencyFile } from './python-environment';

export interface DependencyJoin {
  dependencies: ProgramDependencies;
  /** Dependency files joined, and how many of them came from the cache (no read at all). */
  files: number;
  cacheHits: number;
}


/** What the cache keeps of one installed distribution: per file (relative to site-packages), its analysis and group references. */
interface PackageEntry {
  files: Record<string, { analysis: FileAnalysis; groupRefs: { group: string; range: Range }[] }>;
}

function isPackageEntry(v: unknown): v is PackageEntry {
  return hasFilesRecord(v);
}

/** The distribution that installed a file (by its top-level package), if known. */
export function distributionOf(environment: PythonEnvironment, file: string): DependencyDistribution | undefined {
  for (const d of environment.distributions) {
    if (!file.startsWith(d.sitePackages + path.sep)) continue;
    const top = path.relative(d.sitePackages, file).split(path.sep)[0].replace(/\.py$/, '');
    if (d.topLevel.includes(top)) return d;
  }
  return undefined;
}

export async function joinDependencies(environment: PythonEnvironment, workspace: readonly FileAnalysis[], roots: readonly string[], options: DependencyJoinOptions): Promise<DependencyJoin> {
  const groups = pluginGroups(environment);
  const cache = options.cache;
  // Cached entries per distribution, loaded on first use; `dirty` ones are written back.
  const entries = new Map<DependencyDistribution, { slot: string; entry: PackageEntry; dirty: boolean }>();
  const entryFor = (d: DependencyDistribution) => {
    let e = entries.get(d);
    if (!e && cache) {
      const slot = cache.packageSlot(installationOf(d));
      const stored = cache.readPackage(slot);
      e = { slot, entry: isPackageEntry(stored) ? stored : { files: {} }, dirty: false };
      entries.set(d, e);
    }
    return e;
  };
  let cacheHits = 0;
  const closure = await dependencyClosure(environment, workspace, workspaceTopLevelNames(roots), async (files) => {
    const level: ReachedDependencyFile[] = [];
    const knownOf = (file: string): ReachedDependencyFile | undefined => {
      const d = distributionOf(environment, file);
      const known = d ? entryFor(d)?.entry.files[path.relative(d.sitePackages, file)] : undefined;
      return known && known.analysis.path === file ? known : undefined;
    };
    const started = startAnalyses(
      files.filter((file) => !knownOf(file)),
      options.analyseFile,
    );
    for (const file of files) {
      const d = distributionOf(environment, file);
      const e = d ? entryFor(d) : undefined;
      const rel = d ? path.relative(d.sitePackages, file) : '';
      const known = e?.entry.files[rel];
      if (known && known.analysis.path === file) {
        cacheHits++;
        level.push(known);
        continue;
      }
      const outcome = await (started.get(file) ?? options.analyseFile(file));
      if (outcome.kind !== 'analysis' || outcome.analysis.notAnalysed !== undefined) continue;
      let text = '';
      try {
        text = groups.length ? fs.readFileSync(file, 'utf8') : '';
      } catch {
        // read just now by the analysis; if it went away, it names no group
      }
      const reached = { analysis: outcome.analysis, groupRefs: groupReferences(text, groups) };
      level.push(reached);
      if (e && outcome.analysis.notes.length === 0) {
        e.entry.files[rel] = reached;
        e.dirty = true;
      }
    }
    return level;
  });
  if (cache) for (const e of entries.values()) if (e.dirty) cache.writePackage(e.slot, e.entry);
  const analyses = closure.files.map((f) => f.analysis);
  const packages = new Set(analyses.map((a) => distributionOf(environment, a.path)?.name ?? path.relative(environment.prefix, a.path).split(path.sep)[0]));
  options.note(
    `Python environment ${environment.prefix} (${environment.foundBy === 'setting' ? 'from the settings' : `found as ${environment.foundBy}`}): ${analyses.length} file${analyses.length === 1 ? '' : 's'} of ${packages.size} installed package${packages.size === 1 ? '' : 's'} joined to the program`,
  );
  if (closure.truncated) options.note(`Python environment: only the first ${analyses.length} dependency files reached were joined; the rest of the import closure is left out`);
  return {
    dependencies: { files: analyses, sitePackages: environment.sitePackages, distributions: environment.distributions, pluginLinks: closure.pluginLinks },
    files: analyses.length,
    cacheHits,
  };
}
