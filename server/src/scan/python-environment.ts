/**
 * The Python environment a project runs in (a virtualenv: `.venv/`, `venv/`, `$VIRTUAL_ENV`,
 * or the folder the `pythonEnvironment` setting names) and the part of its installed
 * packages that the project's code reaches: what the program model joins as read-only
 * program parts (issue #10). Nothing is executed: the environment is found by its
 * `pyvenv.cfg`, packages by their `*.dist-info`/`*.egg-info` metadata, and what is reached
 * by following the import statements of the analysed files, level by level, and the
 * entry-point groups (stevedore drivers, `importlib.metadata` plugins) whose name a reached
 * file spells out.
 *
 * Only files that some import reaches are analysed, never the whole `site-packages`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FileAnalysis } from '../analysis/results';
import type { PyImportFact } from '../facts/python/program-facts';
import type { DependencyDistribution, DependencyPluginLink } from '../model/program-context';
import { entryPointsTxt, kindOfGroup } from '../model/python-project';
import type { Range } from '../text/locations';

/** Folder names a project's environment is looked for in, in each scanned root. */
export const ENVIRONMENT_FOLDER_NAMES = ['.venv', 'venv', 'env'];
/** The setting value that turns the environment off. */
export const NO_ENVIRONMENT = 'none';
/** At most this many dependency files are analysed for one scan (a note says when the closure was cut). */
export const MAX_DEPENDENCY_FILES = 5000;

export interface PythonEnvironment {
  /** The environment's folder (holds `pyvenv.cfg`, or is a bare `site-packages`). */
  prefix: string;
  /** Its `site-packages` folders. */
  sitePackages: string[];
  /** How it was found, for the notes: `setting`, `VIRTUAL_ENV` or the folder name detected. */
  foundBy: string;
  distributions: DependencyDistribution[];
}

export type EnvironmentLookup = { environment?: PythonEnvironment; error?: undefined } | { environment?: undefined; error: string };

/** Whether a folder is a Python environment (a virtualenv has a `pyvenv.cfg` at its top). */
export function isPythonEnvironmentFolder(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, 'pyvenv.cfg')).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** The `site-packages` folders of an environment (POSIX `lib/python3.X/`, `lib64/...`; Windows `Lib/`), or the folder itself when it is one. */
export function sitePackagesOf(prefix: string): string[] {
  if (path.basename(prefix) === 'site-packages' || path.basename(prefix) === 'dist-packages') return [prefix];
  const out: string[] = [];
  for (const lib of ['lib', 'lib64']) {
    for (const py of listDir(path.join(prefix, lib))) {
      if (!/^(python|pypy)3(\.\d+)?t?$/.test(py)) continue;
      const sp = path.join(prefix, lib, py, 'site-packages');
      if (isDirectory(sp) && !out.some((o) => fs.realpathSync(o) === fs.realpathSync(sp))) out.push(sp);
    }
  }
  const win = path.join(prefix, 'Lib', 'site-packages');
  if (isDirectory(win)) out.push(win);
  return out;
}

/**
 * Finds the environment: the setting (`pythonEnvironment`, `--python-env`) when given — a
 * folder that is not an environment is an error, never ignored; `none` turns it off —,
 * else `$VIRTUAL_ENV`, else the first of {@link ENVIRONMENT_FOLDER_NAMES} in a scanned root
 * that holds a `pyvenv.cfg`.
 */
export function findPythonEnvironment(setting: string, roots: readonly string[], env: NodeJS.ProcessEnv, cwd: string): EnvironmentLookup {
  if (setting === NO_ENVIRONMENT) return {};
  const found = (prefix: string, foundBy: string): EnvironmentLookup => {
    const sitePackages = sitePackagesOf(prefix);
    if (!sitePackages.length) return { error: `${prefix} has no site-packages folder (expected lib/python3.X/site-packages)` };
    return { environment: { prefix, sitePackages, foundBy, distributions: sitePackages.flatMap(readDistributions) } };
  };
  if (setting) {
    const prefix = path.resolve(cwd, setting);
    if (!isDirectory(prefix)) return { error: `the Python environment ${setting} is not a folder` };
    return found(prefix, 'setting');
  }
  const virtualEnv = env.VIRTUAL_ENV;
  if (virtualEnv && isDirectory(virtualEnv) && sitePackagesOf(virtualEnv).length) return found(virtualEnv, 'VIRTUAL_ENV');
  for (const root of roots) {
    for (const name of ENVIRONMENT_FOLDER_NAMES) {
      const prefix = path.join(root, name);
      if (isPythonEnvironmentFolder(prefix) && sitePackagesOf(prefix).length) return found(prefix, name);
    }
  }
  return {};
}

/** `Name: x` and `Version: y` of a METADATA / PKG-INFO file. */
function metadataField(text: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:\\s*(.+?)\\s*$`, 'mi').exec(text);
  return m?.[1];
}

function readText(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** The distributions installed in one `site-packages`, from their metadata folders. */
function readDistributions(sitePackages: string): DependencyDistribution[] {
  const out: DependencyDistribution[] = [];
  for (const entry of listDir(sitePackages)) {
    const m = /^(.+?)-([^-]+?)\.(dist-info|egg-info)$/.exec(entry);
    if (!m) continue;
    const dir = path.join(sitePackages, entry);
    if (!isDirectory(dir)) continue;
    const metadata = readText(path.join(dir, m[3] === 'dist-info' ? 'METADATA' : 'PKG-INFO')) ?? '';
    const name = metadataField(metadata, 'Name') ?? m[1];
    const version = metadataField(metadata, 'Version') ?? m[2];
    const topLevel = (readText(path.join(dir, 'top_level.txt')) ?? '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (!topLevel.length) {
      for (const line of (readText(path.join(dir, 'RECORD')) ?? '').split(/\r?\n/)) {
        const first = line.split(',')[0].split('/')[0];
        if (first && !first.includes('.dist-info') && !first.startsWith('..') && !topLevel.includes(first.replace(/\.py$/, ''))) topLevel.push(first.replace(/\.py$/, ''));
      }
    }
    if (!topLevel.length) topLevel.push(name.replace(/[-.]/g, '_').toLowerCase());
    const entryPointsPath = path.join(dir, 'entry_points.txt');
    const entryText = readText(entryPointsPath);
    const plugins = entryText
      ? entryPointsTxt(entryPointsPath, entryText).entries.filter((e) => kindOfGroup(e.group) === 'plugin').map((e) => ({ group: e.group, name: e.name, module: e.module }))
      : [];
    out.push({ name, version, sitePackages, metadataDir: dir, topLevel, plugins });
  }
  return out;
}

/** Dotted module names an analysed file imports (relative imports resolved against its own package). */
function importedNames(a: FileAnalysis, sitePackages: string | undefined): string[] {
  const out: string[] = [];
  const own = sitePackages ? path.relative(sitePackages, a.path).replace(/\.py$/, '').split(path.sep) : undefined;
  if (own && own[own.length - 1] === '__init__') own.pop();
  const isPackage = path.basename(a.path) === '__init__.py';
  for (const f of a.facts as { kind?: string }[]) {
    if (f.kind !== 'py.import') continue;
    const imp = f as PyImportFact;
    let base = imp.module;
    if (imp.level > 0) {
      if (!own) continue; // the workspace's own relative imports stay in the workspace
      const pkg = isPackage ? own : own.slice(0, -1);
      const up = pkg.slice(0, pkg.length - (imp.level - 1));
      if (up.length < pkg.length - (imp.level - 1)) continue;
      base = [...up, ...(imp.module ? [imp.module] : [])].join('.');
    }
    if (!base) continue;
    out.push(base);
    for (const n of imp.names ?? []) if (n.name !== '*') out.push(`${base}.${n.name}`);
  }
  return out;
}

/** The top-level names the Python files of a workspace import (what decides which packages a scan joins), sorted. */
export function importedTopLevelNames(files: readonly FileAnalysis[]): string[] {
  const names = new Set<string>();
  for (const a of files) {
    if (a.language !== 'python') continue;
    let own = TOP_LEVEL_IMPORTS.get(a);
    if (!own) TOP_LEVEL_IMPORTS.set(a, (own = [...new Set(importedNames(a, undefined).map((n) => n.split('.')[0]))]));
    for (const n of own) names.add(n);
  }
  return [...names].sort();
}

/** Per analysis (the language server asks on every evaluation): the top-level names it imports. */
const TOP_LEVEL_IMPORTS = new WeakMap<FileAnalysis, string[]>();

/** The files that make up module `dotted` in a `site-packages` (its packages' `__init__.py` first), or none. */
function moduleFiles(sitePackages: string, dotted: string): string[] {
  const parts = dotted.split('.');
  const files: string[] = [];
  let dir = sitePackages;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const pkgDir = path.join(dir, parts[i]);
    if (isDirectory(pkgDir)) {
      const init = path.join(pkgDir, '__init__.py');
      if (fs.existsSync(init)) files.push(init);
      dir = pkgDir;
      continue;
    }
    const file = path.join(dir, `${parts[i]}.py`);
    if (last && fs.existsSync(file)) {
      files.push(file);
      return files;
    }
    // `from pkg import name` where name is not a module: the package's files are enough.
    return i === 0 ? [] : files;
  }
  return files;
}

/** Where a workspace file's imports are looked up: the top-level names the workspace itself defines are its own. */
export function workspaceTopLevelNames(roots: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const r of roots) {
    for (const dir of [r, path.join(r, 'src')]) {
      for (const e of listDir(dir)) names.add(e.replace(/\.py$/, ''));
    }
  }
  return names;
}

export interface DependencyClosure {
  /** Dependency files reached, in the order they were reached. */
  files: ReachedDependencyFile[];
  /** Plugin groups a reached file names, joined to the modules that declare themselves for it. */
  pluginLinks: DependencyPluginLink[];
  /** The closure was cut at {@link MAX_DEPENDENCY_FILES}. */
  truncated: boolean;
}

/** A dependency file's analysis, and where its text spells the name of an entry-point group. */
export interface ReachedDependencyFile {
  analysis: FileAnalysis;
  groupRefs: { group: string; range: Range }[];
}

/** Where `text` spells one of `groups` as a quoted string (`'oslo.messaging.drivers'`), first place per group. */
export function groupReferences(text: string, groups: readonly string[]): { group: string; range: Range }[] {
  const out: { group: string; range: Range }[] = [];
  for (const group of groups) {
    const single = text.indexOf(`'${group}'`);
    const double = text.indexOf(`"${group}"`);
    const at = single < 0 ? double : double < 0 ? single : Math.min(single, double);
    if (at < 0) continue;
    const line = text.slice(0, at).split('\n').length - 1;
    const character = at - (text.lastIndexOf('\n', at - 1) + 1);
    out.push({ group, range: { start: { line, character }, end: { line, character: character + group.length + 2 } } });
  }
  return out;
}

/** The entry-point groups the environment's distributions declare plugins for. */
export function pluginGroups(environment: PythonEnvironment): string[] {
  return [...new Set(environment.distributions.flatMap((d) => d.plugins.map((p) => p.group)))].sort();
}

/**
 * Follows imports from the analysed workspace files into the environment, one level at a
 * time: `analyse` is called with each new level's files and returns their analyses (and
 * where they name plugin groups), whose imports make the next level. A file that spells an
 * entry-point group of an installed distribution reaches that group's plugin modules too.
 */
export async function dependencyClosure(
  environment: PythonEnvironment,
  workspace: readonly FileAnalysis[],
  workspaceNames: ReadonlySet<string>,
  analyse: (files: string[]) => Promise<ReachedDependencyFile[]>,
): Promise<DependencyClosure> {
  const seen = new Set<string>();
  const reached: ReachedDependencyFile[] = [];
  const pluginLinks: DependencyPluginLink[] = [];
  const groups = new Map<string, string[]>();
  for (const d of environment.distributions) for (const p of d.plugins) groups.set(p.group, [...(groups.get(p.group) ?? []), p.module]);
  let truncated = false;
  const add = (dotted: string, next: string[]) => {
    for (const sp of environment.sitePackages) {
      const found = moduleFiles(sp, dotted);
      if (!found.length) continue;
      for (const f of found) {
        if (seen.has(f)) continue;
        if (seen.size >= MAX_DEPENDENCY_FILES) {
          truncated = true;
          return;
        }
        seen.add(f);
        next.push(f);
      }
      return;
    }
  };
  let level: string[] = [];
  for (const a of workspace) {
    if (a.language !== 'python') continue;
    for (const name of importedNames(a, undefined)) if (!workspaceNames.has(name.split('.')[0])) add(name, level);
  }
  while (level.length) {
    const files = await analyse(level);
    reached.push(...files);
    const next: string[] = [];
    for (const { analysis, groupRefs } of files) {
      const sp = environment.sitePackages.find((s) => analysis.path.startsWith(s + path.sep));
      for (const name of importedNames(analysis, sp)) add(name, next);
      for (const ref of groupRefs) {
        const modules = groups.get(ref.group) ?? [];
        pluginLinks.push({ from: analysis.path, group: ref.group, range: ref.range, modules });
        for (const m of modules) add(m, next);
      }
    }
    level = next;
  }
  return { files: reached, pluginLinks, truncated };
}

/** What identifies one installation of a distribution: name, version, metadata folder and its time (a reinstall changes it). */
export function installationOf(d: DependencyDistribution): string {
  let mtime = 0;
  try {
    mtime = fs.statSync(d.metadataDir).mtimeMs;
  } catch {
    // gone since it was listed: a new identity either way
  }
  return JSON.stringify([d.name, d.version, d.metadataDir, mtime]);
}

/** What identifies an environment's contents for the evaluation cache: each installed distribution's installation. */
export function environmentFingerprint(environment: PythonEnvironment): string {
  return `${environment.prefix}\u0001${environment.distributions.map(installationOf).join('\u0001')}`;
}

/** Time stamps of an environment's `site-packages` folders: installing or removing a package changes them. */
function sitePackagesStamp(sitePackages: readonly string[]): string {
  return sitePackages
    .map((sp) => {
      try {
        return `${sp}:${fs.statSync(sp).mtimeMs}`;
      } catch {
        return `${sp}:gone`;
      }
    })
    .join('\u0001');
}

const LOOKUPS = new Map<string, { lookup: EnvironmentLookup; stamp: string }>();

/**
 * {@link findPythonEnvironment} for callers that ask again and again (the language server, on
 * every evaluation): the same lookup object while the setting, `$VIRTUAL_ENV` and the
 * environment's `site-packages` folders (their time stamps) are unchanged, so no metadata
 * file is read again on the keystroke path.
 */
export function cachedPythonEnvironment(setting: string, roots: readonly string[], env: NodeJS.ProcessEnv, cwd: string): EnvironmentLookup {
  const key = JSON.stringify([setting, roots, env.VIRTUAL_ENV ?? '', cwd]);
  const held = LOOKUPS.get(key);
  if (held && held.stamp === sitePackagesStamp(held.lookup.environment?.sitePackages ?? [])) return held.lookup;
  const lookup = findPythonEnvironment(setting, roots, env, cwd);
  // Only a found environment is kept: without one the lookup is a few stats, and a `.venv`
  // created later (or a setting's folder) must be seen.
  if (lookup.environment) LOOKUPS.set(key, { lookup, stamp: sitePackagesStamp(lookup.environment.sitePackages) });
  else LOOKUPS.delete(key);
  return lookup;
}
