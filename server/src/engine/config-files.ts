/**
 * Finding and reading `.hazard-lens.json` files, the same way for the CLI and the language
 * server. The project's file is the nearest one at or above the scanned folder (the workspace
 * folder in the editor), as ruff and ESLint find theirs; it decides every setting. A file in a
 * folder below it decides the per-folder settings (`PER_FOLDER_KEYS`: `rules`,
 * `reportUnusedSuppressions`) for the files under that folder, the nearest file winning whole
 * (its `rules` replace the project's, they are not merged). The other settings describe the
 * whole program (platform, Python version, models) and are read from the project's file only:
 * a nested file that sets one gets a warning.
 *
 * Nothing here stops or shows anything: problems are returned as `problems` (warnings) and
 * `stops` (the CLI exits 2 on them, the editor shows them and keeps the last good settings).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE_NAME, PER_FOLDER_KEYS, parseConfigText, type ConfigScope, type HazardLensConfig, type ParsedConfig } from './config';

/** How a path is named in messages (the CLI: relative to the working directory). */
export type ShowPath = (file: string) => string;

export type ConfigFileRead = { kind: 'missing' } | { kind: 'unreadable'; reason: string } | { kind: 'read'; parsed: ParsedConfig };

/** Reads and parses one configuration file. */
export function readConfigFile(file: string, ruleIds: readonly string[], show: ShowPath = (f) => f): ConfigFileRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    const reason = code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : err instanceof Error ? err.message : String(err);
    return { kind: 'unreadable', reason };
  }
  return { kind: 'read', parsed: parseConfigText(text, ruleIds, show(file)) };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The nearest `.hazard-lens.json` in `startDir` or a folder above it, or undefined. */
export function findConfigFile(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE_NAME);
    if (isFile(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The deepest folder that holds every path (a file's own folder for a lone file). */
export function commonFolder(paths: readonly string[]): string {
  const folders = paths.map((p) => {
    const abs = path.resolve(p);
    try {
      return fs.statSync(abs).isDirectory() ? abs : path.dirname(abs);
    } catch {
      return path.dirname(abs);
    }
  });
  let common = folders[0] ?? process.cwd();
  for (const f of folders.slice(1)) {
    while (common !== path.dirname(common) && f !== common && !f.startsWith(common.endsWith(path.sep) ? common : common + path.sep)) common = path.dirname(common);
  }
  return common;
}

export interface ProjectConfig {
  /** The project's settings (defaults where the file sets nothing, or when there is no file). */
  config: HazardLensConfig;
  /** The settings the file set (for layering the editor's settings over them). */
  set: ParsedConfig['set'];
  /** The file read (absolute), if any. */
  file?: string;
  /** The folder `exclude` patterns and relative paths of the file are relative to. */
  base: string;
  /** Warnings (unknown settings, unknown rule ids). */
  problems: string[];
  /** Errors: the file cannot be read, is not valid JSON, has a bad value or a malformed model. */
  stops: string[];
}

/**
 * The project's configuration: `explicit` (a file named with `--config`), else the nearest
 * `.hazard-lens.json` at or above `startDir`. `fallbackBase` is the base without a file.
 */
export function loadProjectConfig(startDir: string, ruleIds: readonly string[], options: { explicit?: string; show?: ShowPath; fallbackBase?: string } = {}): ProjectConfig {
  const show = options.show ?? ((f: string) => f);
  const file = options.explicit ?? findConfigFile(startDir);
  const none = (stops: string[]): ProjectConfig => ({ config: freshDefaults(), set: new Set(), base: options.fallbackBase ?? startDir, problems: [], stops });
  if (file === undefined) return none([]);
  const read = readConfigFile(file, ruleIds, show);
  if (read.kind === 'missing') return options.explicit !== undefined ? none([`cannot read config file ${show(file)}: no such file`]) : none([]);
  if (read.kind === 'unreadable') return none([`cannot read config file ${show(file)}: ${read.reason}`]);
  const { parsed } = read;
  return { config: parsed.config, set: parsed.set, file, base: path.dirname(file), problems: parsed.problems, stops: [...parsed.settingErrors, ...parsed.errors] };
}

function freshDefaults(): HazardLensConfig {
  return parseConfigText('{}', [], '').config;
}

export interface NestedConfigs {
  /** Deepest folder first (as `HazardLensConfig.scopes` wants them). */
  scopes: ConfigScope[];
  problems: string[];
  stops: string[];
  /** Per nested file: its own errors (the editor keeps a bad file's last good scope). */
  stopsOf: Map<string, string[]>;
}

/**
 * The configuration files in folders strictly below `projectDir` that hold one of `files`
 * (absolute paths), read as scopes. `projectConfig` gives the per-folder defaults a nested
 * file that leaves a per-folder key unset falls back to.
 */
export function loadNestedConfigs(projectDir: string, files: Iterable<string>, ruleIds: readonly string[], projectConfig: HazardLensConfig, show: ShowPath = (f) => f): NestedConfigs {
  const root = path.resolve(projectDir);
  const checked = new Map<string, boolean>();
  const found: string[] = [];
  for (const file of files) {
    let dir = path.dirname(file);
    while (dir !== root && dir.startsWith(root + path.sep) && !checked.has(dir)) {
      const candidate = path.join(dir, CONFIG_FILE_NAME);
      const exists = isFile(candidate);
      checked.set(dir, exists);
      if (exists) found.push(candidate);
      dir = path.dirname(dir);
    }
  }
  const scopes: ConfigScope[] = [];
  const problems: string[] = [];
  const stops: string[] = [];
  const stopsOf = new Map<string, string[]>();
  for (const file of found) {
    const read = readConfigFile(file, ruleIds, show);
    if (read.kind === 'missing') continue;
    if (read.kind === 'unreadable') {
      const stop = `cannot read config file ${show(file)}: ${read.reason}`;
      stops.push(stop);
      stopsOf.set(file, [stop]);
      continue;
    }
    const { parsed } = read;
    problems.push(...parsed.problems);
    const own = [...parsed.settingErrors, ...parsed.errors];
    stops.push(...own);
    if (own.length > 0) stopsOf.set(file, own);
    for (const key of parsed.set) {
      if (!(PER_FOLDER_KEYS as readonly string[]).includes(key)) {
        problems.push(`${show(file)}: "${key}" applies to the whole program and is read from the project's configuration file only; ignored here (a nested file decides ${PER_FOLDER_KEYS.map((k) => `"${k}"`).join(' and ')})`);
      }
    }
    scopes.push({
      dir: path.dirname(file),
      file,
      rules: parsed.set.has('rules') ? parsed.config.rules : {},
      reportUnusedSuppressions: parsed.set.has('reportUnusedSuppressions') ? parsed.config.reportUnusedSuppressions : projectConfig.reportUnusedSuppressions,
    });
  }
  // Deepest first, then by path, so the nearest file wins and the order is stable.
  scopes.sort((a, b) => b.dir.length - a.dir.length || (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  return { scopes, problems, stops, stopsOf };
}

/**
 * `exclude` patterns written relative to `fromDir` (a configuration file's folder), made
 * relative to `toDir` below it (a workspace folder the editor matches paths against).
 * Unanchored patterns (`*.pb.py`, `generated/`, `**\/x`) match at any depth and stay as they
 * are; an anchored one (`/build`, `src/gen/`) is kept, anchored, when it lies inside `toDir`
 * and dropped when it names another folder. Anchored patterns whose leading folders hold
 * wildcards are kept unchanged (an approximation: they are rare in an exclude list).
 */
export function rebaseExcludes(patterns: readonly string[], fromDir: string, toDir: string): string[] {
  const rel = path.relative(fromDir, toDir).split(path.sep).join('/');
  if (rel === '' || rel.startsWith('..')) return [...patterns];
  const out: string[] = [];
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    const body = pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
    const anchored = body.includes('/');
    if (!anchored || body.startsWith('**/')) {
      out.push(raw);
      continue;
    }
    const inner = body.replace(/^\//, '');
    const rest = pattern.endsWith('/') ? '/' : '';
    if (inner === rel) {
      // The whole folder: everything in it.
      out.push(negated ? '!**' : '**');
    } else if (inner.startsWith(`${rel}/`)) {
      out.push(`${negated ? '!' : ''}/${inner.slice(rel.length + 1)}${rest}`);
    } else if (/[*?[]/.test(inner.split('/')[0])) {
      out.push(raw);
    }
    // else: a folder elsewhere, nothing under toDir matches it.
  }
  return out;
}
