/**
 * Loading the CLI's configuration: `--config FILE`, else the nearest `.hazard-lens.json` at or
 * above the scanned folder (`engine/config-files.ts`, the same lookup the language server
 * makes for a workspace folder), and the nested files below it that decide the per-folder
 * settings of their files. The file holds the same shape as the editor settings, JSON with
 * comments. A file that cannot be read or is not valid JSON (line:column named), a bad value
 * of a known setting and a malformed model in the `knowledge` section are fatal (exit 2, with
 * the key named): a default in their place would judge the code by other settings than the
 * user wrote. Unknown settings and unknown rule ids are warnings.
 */
import * as path from 'node:path';
import { CONFIG_FILE_NAME, type ConfigScope, type HazardLensConfig } from '../engine/config';
import { commonFolder, loadNestedConfigs, loadProjectConfig } from '../engine/config-files';
import { RULE_IDS } from '../rules/index';

export { CONFIG_FILE_NAME };

export interface LoadedConfig {
  config: HazardLensConfig;
  /** Warnings for stderr. */
  problems: string[];
  /** The file read, if any (absolute). */
  file?: string;
  /** Directory `exclude` patterns are relative to. */
  base: string;
  /**
   * Set when the file cannot be read (a `--config` file, or a `.hazard-lens.json` that exists),
   * is not valid JSON, has a bad value or a malformed `knowledge` section (one line per
   * problem): a usage error.
   */
  fatal?: string;
  /**
   * The nested configuration files' scopes for the files a scan found (none with `--config`,
   * which names the one file used). Throws {@link NestedConfigError} for a bad nested file.
   */
  scopesFor(files: readonly string[]): readonly ConfigScope[];
}

/** A nested `.hazard-lens.json` is bad: the scan stops (exit 2). */
export class NestedConfigError extends Error {}

/**
 * `cwd`: the working directory (messages name paths relative to it); `explicit`: the
 * `--config` file; `scanPaths`: what is scanned (the lookup starts at their common folder).
 * `warn` receives the nested files' warnings.
 */
export function loadConfig(cwd: string, explicit?: string, scanPaths: readonly string[] = [], warn: (problem: string) => void = () => {}): LoadedConfig {
  const show = (file: string) => path.relative(cwd, file) || file;
  const roots = (scanPaths.length > 0 ? scanPaths : ['.']).map((p) => path.resolve(cwd, p));
  const start = commonFolder(roots);
  const project = loadProjectConfig(start, RULE_IDS, { explicit: explicit === undefined ? undefined : path.resolve(cwd, explicit), show, fallbackBase: cwd });
  const nestedRoot = project.file !== undefined ? path.dirname(project.file) : start;
  const scopesFor = (files: readonly string[]): readonly ConfigScope[] => {
    if (explicit !== undefined) return [];
    const nested = loadNestedConfigs(nestedRoot, files, RULE_IDS, project.config, show);
    if (nested.stops.length > 0) throw new NestedConfigError(nested.stops.join('\n'));
    for (const p of nested.problems) warn(p);
    return nested.scopes;
  };
  return {
    config: project.config,
    problems: project.problems,
    file: project.file,
    base: project.base,
    fatal: project.stops.length > 0 ? project.stops.join('\n') : undefined,
    scopesFor,
  };
}
