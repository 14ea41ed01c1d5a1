/**
 * Loading the CLI's configuration: `--config FILE`, or `.hazard-lens.json` in the current
 * directory when present. The file holds the same shape as the editor settings and is
 * parsed by the same `parseConfig`. A file that cannot be read or is not valid JSON, a bad value
 * of a known setting and a malformed model in the `knowledge` section are fatal (exit 2, with
 * the key named): a default in their place would judge the code by other settings than the
 * user wrote. Unknown settings and unknown rule ids are warnings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE_NAME, DEFAULT_CONFIG, parseConfigText, type HazardLensConfig } from '../engine/config';
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
}

function freshDefaults(): HazardLensConfig {
  return { ...DEFAULT_CONFIG, rules: {}, exclude: [] };
}

export function loadConfig(cwd: string, explicit?: string): LoadedConfig {
  const file = explicit !== undefined ? path.resolve(cwd, explicit) : path.join(cwd, CONFIG_FILE_NAME);
  const shown = path.relative(cwd, file) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
    if (explicit !== undefined) return { config: freshDefaults(), problems: [], base: cwd, fatal: `cannot read config file ${shown}: ${reason}` };
    if (code === 'ENOENT') return { config: freshDefaults(), problems: [], base: cwd };
    return { config: freshDefaults(), problems: [], base: cwd, fatal: `cannot read config file ${shown}: ${reason}` };
  }
  const base = path.dirname(file);
  const parsed = parseConfigText(text, RULE_IDS, shown);
  const stops = [...parsed.errors, ...parsed.settingErrors];
  const fatal = stops.length > 0 ? stops.join('\n') : undefined;
  return { config: parsed.config, problems: parsed.problems, file, base, fatal };
}
