/**
 * Settings, declared once in package.json (`hazardLens.*`) and parsed and defaulted once
 * here. Bad values never throw: each problem becomes a message and the default is used.
 * The CLI and the language server read the same shape from `.hazard-lens.json` (found by
 * `config-files.ts`); the editor's settings are layered on top (`layerConfig`). The exception is the `knowledge`
 * section (models of the user's own libraries, `knowledge/user-models.ts`): a malformed model
 * is an error the caller must stop on (the CLI exits 2, the language server keeps the last
 * good models), never a silent default.
 */
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import type { z } from 'zod';
import { zod } from '../knowledge/zod';
import type { SeveritySetting } from '../analysis/results';
import type { ProgramSettings } from '../model/program-context';
import { BUILTIN_KNOWLEDGE, mergeKnowledge } from '../knowledge/knowledge';
import { parseUserKnowledge, userKnowledgeSchema } from '../knowledge/user-models';
import { C_PLATFORMS, DEFAULT_C_PLATFORM } from '../knowledge/c-platforms';

export const SEVERITY_SETTINGS = ['off', 'error', 'warning', 'info', 'hint'] as const;

export interface HazardLensConfig extends ProgramSettings {
  /** Per-rule severity or `off`; rules not listed use their default severity. */
  rules: Record<string, SeveritySetting>;
  /** Glob patterns (gitignore syntax) of files never analysed. */
  exclude: string[];
  /** When the editor re-analyses: on every change (debounced) or on save. */
  run: 'onType' | 'onSave';
  /**
   * Editor only: milliseconds without a change before an open document is analysed; a pass
   * that cost more than twice this lengthens the wait to half its cost (`lsp/validation.ts`).
   */
  debounceMs: number;
  /** Files larger than this are skipped with a reason. */
  maxFileSizeKb: number;
  /** Report suppression comments that suppress nothing, as hints. */
  reportUnusedSuppressions: boolean;
  /** Where rule documentation is linked; `{id}` is replaced by the rule id. */
  docsUrlTemplate: string;
  /**
   * The Python version the code runs on, e.g. "3.12": multiprocessing's default start
   * method on Linux is `fork` before 3.14 and `forkserver` from 3.14 on.
   */
  pythonVersion: string;
  /**
   * Treat every program as possibly multi-threaded (a library cannot know its host):
   * raises fork-child findings to errors even where no thread start is seen.
   */
  assumeMultithreaded: boolean;
  /**
   * Report every descriptor opened without close-on-exec, not only in programs that may
   * fork or exec after opening it (for libraries, whose host may do either).
   */
  cloexecEverywhere: boolean;
  /**
   * Worker threads that analyse files in a scan or workspace index: `auto` (one per
   * available CPU) or a number; 0 analyses in the main thread.
   */
  jobs: 'auto' | number;
  /** Keep per-file analyses in the persistent cache (`engine/cache.ts`) between runs. */
  cache: boolean;
  /** Folder of the persistent cache; empty: the user's cache folder (`~/.cache/hazard-lens`). */
  cacheDir: string;
  /**
   * The project's Python environment, whose installed packages the program model joins as
   * read-only parts (`scan/python-environment.ts`): a folder (a virtualenv, or a
   * `site-packages`); empty: `$VIRTUAL_ENV`, else a `.venv`/`venv`/`env` folder of the
   * scanned root; `none`: no environment.
   */
  pythonEnvironment: string;
  /**
   * Where a Node project's bare imports load from, joined as read-only program parts
   * (`scan/node-modules.ts`): a `node_modules` folder; empty: the `node_modules` folders
   * Node itself would look in (the importing file's folder and each one above it); `none`: none.
   */
  nodeModules: string;
  /**
   * A baseline file (written by `hazard-lens scan --write-baseline`), relative to the config
   * file or the workspace folder: the findings it records are not reported. Empty: none.
   */
  baseline: string;
  /**
   * Configuration files nested below the project's (`config-files.ts`), deepest folder first:
   * for files under `dir`, that file's `rules` and `reportUnusedSuppressions` replace the
   * project's (the nearest file wins). Not a setting: filled in by the caller after the walk.
   */
  scopes?: readonly ConfigScope[];
}

/** A nested `.hazard-lens.json`: the per-file settings it decides for the files under `dir`. */
export interface ConfigScope {
  /** Absolute folder of the file. */
  dir: string;
  /** Absolute path of the file. */
  file: string;
  rules: Record<string, SeveritySetting>;
  reportUnusedSuppressions: boolean;
}

/** The keys a nested configuration file decides for its folder; every other key is the project's. */
export const PER_FOLDER_KEYS = ['rules', 'reportUnusedSuppressions'] as const;

/** The scope that decides `filePath`'s rules: the deepest nested file above it, else the project's settings. */
function scopeOf(config: Pick<HazardLensConfig, 'scopes'>, filePath: string): ConfigScope | undefined {
  if (!config.scopes) return undefined;
  for (const s of config.scopes) {
    if (filePath.startsWith(s.dir) && (filePath.length === s.dir.length || filePath[s.dir.length] === '/' || filePath[s.dir.length] === '\\')) return s;
  }
  return undefined;
}

/** The severity settings that apply to a file (its nearest configuration file's). */
export function rulesFor(config: Pick<HazardLensConfig, 'rules' | 'scopes'>, filePath: string): Record<string, SeveritySetting> {
  return scopeOf(config, filePath)?.rules ?? config.rules;
}

/** Whether unused suppressions are reported in a file (its nearest configuration file's setting). */
export function reportsUnusedSuppressions(config: Pick<HazardLensConfig, 'reportUnusedSuppressions' | 'scopes'>, filePath: string): boolean {
  return scopeOf(config, filePath)?.reportUnusedSuppressions ?? config.reportUnusedSuppressions;
}

/** True when a rule is `off` for every file (the project's settings and every nested file): it need not run. */
export function ruleOffEverywhere(config: Pick<HazardLensConfig, 'rules' | 'scopes'>, ruleId: string): boolean {
  return config.rules[ruleId] === 'off' && (config.scopes ?? []).every((s) => s.rules[ruleId] === 'off');
}

/** The longest `debounceMs` accepted (and the longest wait the editor's adaptation makes). */
export const MAX_DEBOUNCE_MS = 2000;

export const DEFAULT_DOCS_URL_TEMPLATE = 'https://github.com/hazard-lens/hazard-lens/blob/main/docs/rules/{id}.md';

export const DEFAULT_CONFIG: HazardLensConfig = {
  rules: {},
  exclude: [],
  run: 'onType',
  debounceMs: 50,
  maxFileSizeKb: 1024,
  reportUnusedSuppressions: true,
  docsUrlTemplate: DEFAULT_DOCS_URL_TEMPLATE,
  pythonVersion: '3.12',
  assumeMultithreaded: false,
  cloexecEverywhere: false,
  targetPlatform: DEFAULT_C_PLATFORM,
  jobs: 'auto',
  cache: true,
  cacheDir: '',
  pythonEnvironment: '',
  nodeModules: '',
  baseline: '',
  knowledge: BUILTIN_KNOWLEDGE,
};

/**
 * The zod shape of each setting, built on first use (a configuration file or editor settings
 * that set something, the JSON schema), not when the CLI starts (issue #17).
 */
function buildFieldSchemas() {
  const z = zod();
  return {
    rules: z.record(z.string(), z.enum(SEVERITY_SETTINGS)),
    exclude: z.array(z.string()),
    run: z.enum(['onType', 'onSave']),
    debounceMs: z.number().int().min(0).max(MAX_DEBOUNCE_MS),
    maxFileSizeKb: z.number().int().positive().max(1024 * 1024),
    reportUnusedSuppressions: z.boolean(),
    docsUrlTemplate: z
      .string()
      .refine((s) => s.includes('{id}'), { message: 'must contain {id}' })
      // The link reaches SARIF viewers and the editor's hover: a web page or a bundled file, never script.
      .refine((s) => /^(?:https?:\/\/|file:\/\/)/i.test(s), { message: 'must start with https://, http:// or file://' }),
    pythonVersion: z.string().regex(/^3\.\d{1,2}$/, { message: 'expected a version such as "3.12"' }),
    assumeMultithreaded: z.boolean(),
    cloexecEverywhere: z.boolean(),
    targetPlatform: z.enum(C_PLATFORMS),
    jobs: z.union([z.literal('auto'), z.number().int().min(0).max(256)]),
    cache: z.boolean(),
    cacheDir: z.string(),
    pythonEnvironment: z.string(),
    nodeModules: z.string(),
    baseline: z.string(),
    knowledge: userKnowledgeSchema(),
  } satisfies { [K in Exclude<keyof HazardLensConfig, 'scopes'>]: z.ZodType };
}

let fieldSchemaCache: ReturnType<typeof buildFieldSchemas> | undefined;

function fieldSchemas(): ReturnType<typeof buildFieldSchemas> {
  fieldSchemaCache ??= buildFieldSchemas();
  return fieldSchemaCache;
}

type SettingKey = keyof ReturnType<typeof buildFieldSchemas>;

export interface ParsedConfig {
  config: HazardLensConfig;
  /** Warnings that do not stop anything: unknown settings, unknown rule ids (a newer or older version's). */
  problems: string[];
  /**
   * Malformed models in the `knowledge` section, one message per problem naming its key path
   * (`settings: knowledge.python.openers[0].name: expected a non-empty string`). When there are
   * any, `config.knowledge` is the built-in knowledge alone; the caller must not go on silently.
   */
  errors: string[];
  /**
   * Settings whose value is wrong (or a file that is not a JSON object), one message naming the
   * key each: a default in their place would silently judge other code (another platform, rules
   * switched back on, another size limit), so the CLI stops on them (exit 2) and the editor
   * reports them and uses the defaults. Kept apart from `errors`, which are about the models.
   */
  settingErrors: string[];
  /** The settings the input set (valid or not): what a layer above another replaces (`layerConfig`). */
  set: Set<SettingKey>;
}

/** The JSON schema of the configuration file (`.hazard-lens.json`), generated from the zod shapes. */
export function configJsonSchema(): Record<string, unknown> {
  const z = zod();
  const file = z
    .strictObject({
      $schema: z.string().describe('The JSON schema of this file (an editor hint).').optional(),
      ...Object.fromEntries(Object.entries(fieldSchemas()).map(([key, schema]) => [key, schema.describe(FIELD_DESCRIPTIONS[key as SettingKey]).optional()])),
    })
    .describe('Hazard Lens configuration (.hazard-lens.json). See README "Configuration" and docs/knowledge.md.');
  return z.toJSONSchema(file, { target: 'draft-07', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** The committed form of {@link configJsonSchema} (`schemas/hazard-lens.schema.json`). */
export function configSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

const FIELD_DESCRIPTIONS: Record<SettingKey, string> = {
  rules: 'Severity per rule id, or "off" to switch a rule off. A .hazard-lens.json in a subfolder decides the rules of the files under it (the nearest file wins).',
  exclude: 'Files never analysed: patterns in .gitignore syntax, relative to this file.',
  run: 'When the editor analyses open files (editor settings only).',
  debounceMs: `Milliseconds without a change before the editor analyses an open file (0-${MAX_DEBOUNCE_MS}); a file whose analysis took longer than twice this waits half that long (editor settings only).`,
  maxFileSizeKb: 'Files larger than this (in KB) are not analysed.',
  reportUnusedSuppressions: 'Report hazard-lens: ignore[...] comments that suppress nothing.',
  docsUrlTemplate: 'Where rule documentation links point; {id} is replaced by the rule id.',
  pythonVersion: 'The Python version the code runs on, e.g. "3.12".',
  assumeMultithreaded: 'Treat every program as possibly multi-threaded.',
  cloexecEverywhere: 'Report every descriptor opened without close-on-exec.',
  targetPlatform: `The platform C code is judged for (${C_PLATFORMS.join(', ')}): #if branches only compiled elsewhere are left out.`,
  jobs: 'Worker threads: "auto" (one per CPU) or a number; 0 analyses in the main thread.',
  cache: 'Keep per-file analyses in a cache on disk.',
  cacheDir: 'Folder of the analysis cache, used only from a config file named with -c (never from the scanned project); empty for the user\'s cache folder.',
  pythonEnvironment: 'The Python environment whose installed packages join the program model (a virtualenv folder, relative to this file); empty: $VIRTUAL_ENV or a .venv/venv/env folder of the scanned root; "none": no environment.',
  nodeModules: 'The node_modules folder whose installed packages join the program model (relative to this file); empty: the node_modules folders Node would look in from each file upward; "none": none.',
  baseline: 'A baseline file written by hazard-lens scan --write-baseline (relative to this file): the findings it records are not reported.',
  knowledge: 'Models of your own libraries, added to the built-in knowledge (docs/knowledge.md).',
};

/** The settings, in the order they are checked (the order of their zod shapes). */
const SETTING_KEYS = Object.keys(FIELD_DESCRIPTIONS) as SettingKey[];

/**
 * Validates raw settings field by field so one bad value does not discard the others.
 * `ruleIds` are the ids of the registry the caller runs (`"rules"` may only name those);
 * `source` names where the values came from, for the messages.
 */
export function parseConfig(raw: unknown, ruleIds: readonly string[], source = 'settings'): ParsedConfig {
  const config: HazardLensConfig = { ...DEFAULT_CONFIG, rules: {}, exclude: [] };
  const problems: string[] = [];
  const errors: string[] = [];
  const settingErrors: string[] = [];
  const set = new Set<SettingKey>();
  if (raw === undefined || raw === null) return { config, problems, errors, settingErrors, set };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { config, problems, errors, settingErrors: [`${source}: expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`], set };
  }
  const obj = raw as Record<string, unknown>;
  const known = new Set<string>(SETTING_KEYS);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) problems.push(`${source}: unknown setting "${key}" ignored`);
  }
  const describe = (issues: readonly z.core.$ZodIssue[]) => issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');
  for (const key of SETTING_KEYS) {
    if (obj[key] === undefined) continue;
    set.add(key);
    if (key === 'knowledge') {
      const user = parseUserKnowledge(obj[key]);
      if (user.ok) config.knowledge = mergeKnowledge(user.value);
      else errors.push(...user.errors.map((e) => `${source}: ${e}`));
      continue;
    }
    if (key === 'rules' && obj.rules !== null && typeof obj.rules === 'object' && !Array.isArray(obj.rules)) {
      // Entry by entry: one misspelt severity must not drop the others (a rule set to "off"
      // would report again). A bad entry switches its rule off until it is fixed (fail closed:
      // never a finding the user may have switched off); the CLI stops on it, the editor shows it.
      for (const [id, value] of Object.entries(obj.rules as Record<string, unknown>)) {
        const severity = zod().enum(SEVERITY_SETTINGS).safeParse(value);
        if (severity.success) config.rules[id] = severity.data;
        else {
          settingErrors.push(`${source}: "rules.${id}" is invalid (expected one of ${SEVERITY_SETTINGS.map((v) => `"${v}"`).join(', ')}, got ${JSON.stringify(value)})`);
          config.rules[id] = 'off';
        }
      }
    } else {
      const result = fieldSchemas()[key].safeParse(obj[key]);
      if (!result.success) {
        // A default in its place would silently judge other code (a wrong platform, rules switched
        // back on, another size limit): the CLI stops, the editor reports it and keeps its last good value.
        settingErrors.push(`${source}: "${key}" is invalid (${describe(result.error.issues)})`);
        continue;
      }
      (config as unknown as Record<string, unknown>)[key] = result.data;
    }
  }
  const knownIds = new Set(ruleIds);
  for (const id of Object.keys(config.rules)) {
    if (!knownIds.has(id)) {
      problems.push(`${source}: "rules" names unknown rule "${id}" (known: ${[...knownIds].join(', ')})`);
      delete config.rules[id];
    }
  }
  return { config, problems, errors, settingErrors, set };
}

/**
 * Layers settings over others: every setting `top` sets replaces the one of `base`, except
 * `rules`, which is merged rule by rule (the editor's `{ "x": "error" }` changes rule x only).
 */
export function layerConfig(base: HazardLensConfig, top: HazardLensConfig, topSet: ReadonlySet<SettingKey>): HazardLensConfig {
  const merged: HazardLensConfig = { ...base };
  for (const key of topSet) {
    if (key === 'rules') merged.rules = { ...base.rules, ...top.rules };
    else (merged as unknown as Record<string, unknown>)[key] = top[key];
  }
  if (topSet.has('rules') && merged.scopes) merged.scopes = merged.scopes.map((s) => ({ ...s, rules: { ...s.rules, ...top.rules } }));
  return merged;
}

export const CONFIG_FILE_NAME = '.hazard-lens.json';

/** Line and column (1-based) of an offset in a text. */
function lineColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return `${line}:${offset - start + 1}`;
}

/**
 * Parses the text of a configuration file (`.hazard-lens.json`): JSON with comments and
 * trailing commas (as tsconfig.json), a byte order mark and the `$schema` key are allowed. A
 * syntax error is a setting error naming its line:column (`.hazard-lens.json:3:5: ...`); the
 * settings are then what the parser could still read (the editor uses them while the file has
 * never been valid; the CLI stops). `source` names the file in the messages.
 */
export function parseConfigText(text: string, ruleIds: readonly string[], source: string): ParsedConfig {
  const body = text.replace(/^\uFEFF/, '');
  const syntax: ParseError[] = [];
  let raw: unknown = parseJsonc(body, syntax, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const syntaxErrors = syntax.map((e) => `${source}:${lineColumn(body, e.offset)}: invalid JSON (${describeJsonError(printParseErrorCode(e.error))})`);
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && '$schema' in raw) {
    // An editor hint, not a setting.
    const { $schema: _schema, ...rest } = raw as Record<string, unknown>;
    raw = rest;
  }
  const parsed = parseConfig(raw === undefined && syntaxErrors.length > 0 ? {} : raw, ruleIds, source);
  return { ...parsed, settingErrors: [...syntaxErrors, ...parsed.settingErrors] };
}

/** jsonc-parser's error codes (`PropertyNameExpected`) in words. */
function describeJsonError(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.replace(/^invalid symbol$/, 'unexpected character').replace(/^end of file expected$/, 'text after the end of the object');
}

/** The documentation URL of a rule: the one place that derives it. */
export function docsUrl(ruleId: string, config: Pick<HazardLensConfig, 'docsUrlTemplate'> = DEFAULT_CONFIG): string {
  return config.docsUrlTemplate.replace('{id}', encodeURIComponent(ruleId));
}
