/**
 * Settings: the project's `.hazard-lens.json` (found as the CLI finds it, `engine/config-files.ts`:
 * the nearest one at or above the workspace folder, or above a lone document), with the
 * editor's settings layered on top (`layerConfig`: each editor setting that is set replaces
 * the file's; `rules` are merged rule by rule). The editor's settings are pulled from the client
 * with `workspace/configuration` (scope: the resource). The VS Code extension answers with the
 * settings the user set only (not the package.json defaults; `client/src/extension.ts`), so a
 * default never hides the file's value; other clients send what their user configured.
 * Parsed once per change, cached per resource until the next `didChangeConfiguration` or a
 * change of any `.hazard-lens.json`.
 *
 * Nested `.hazard-lens.json` files below the project's decide the rules of the files under
 * them (`scoped`, asked by the evaluator with the group's files), as in the CLI.
 *
 * Bad configuration fails closed and is never silent: a file that is not valid JSON (line:column
 * named), has a bad value or a malformed knowledge model is shown as an error (a window
 * message, and the log), and the last good reading of that file stays in use; before any good
 * reading, what could be read is used, with a misspelt rule severity switching its rule off.
 */
import * as nodePath from 'node:path';
import type { Connection } from 'vscode-languageserver';
import { CONFIG_FILE_NAME, layerConfig, parseConfig, type ConfigScope, type HazardLensConfig } from '../engine/config';
import { loadNestedConfigs, loadProjectConfig, rebaseExcludes, type ProjectConfig } from '../engine/config-files';
import { RULE_IDS } from '../rules/index';
import { showMessage, type Logger } from './logger';
import { uriToPath } from './paths';
import { SETTINGS_SECTION } from './protocol';
import type { WorkspaceFolders } from './workspace';

/**
 * Keys the client puts in the `hazardLens` section that are not analysis settings:
 * `trace.server` is read by vscode-languageclient itself.
 */
const CLIENT_ONLY_KEYS = new Set(['trace']);

export class Settings {
  private readonly cache = new Map<string, Promise<HazardLensConfig>>();
  private readonly excludeCache = new Map<string, Promise<string[]>>();
  private readonly shownProblems = new Set<string>();
  /** Settings pushed by clients that cannot be asked (`didChangeConfiguration` payload / init options). */
  private pushed: unknown;
  /** Per folder the lookup starts in: the project configuration read (once per invalidation). */
  private readonly projectReads = new Map<string, ProjectConfig>();
  /** Per configuration file: its last reading without errors (kept while the file is bad). */
  private readonly lastGood = new Map<string, ProjectConfig>();
  /** Per nested configuration file: its last scope without errors. */
  private readonly lastGoodScopes = new Map<string, ConfigScope>();
  /** Per configuration file: the errors last shown (shown again once the file was valid in between). */
  private readonly shownFileErrors = new Map<string, string>();
  /** Per folder: the nested files' scopes for a set of file folders, and the config they were joined to. */
  private readonly scopeCache = new Map<string, { dirsKey: string; scopes: readonly ConfigScope[]; base?: HazardLensConfig; joined?: HazardLensConfig }>();

  /** `folders`: where each resource's `.hazard-lens.json` is looked for (none: the file is not read). */
  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
    private readonly canPull: boolean,
    initial?: unknown,
    private readonly folders?: WorkspaceFolders,
  ) {
    this.pushed = initial;
  }

  /** The parsed settings for a document or folder URI (undefined: the window's). */
  get(scopeUri?: string): Promise<HazardLensConfig> {
    const key = scopeUri ?? '';
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.load(scopeUri);
      this.cache.set(key, pending);
    }
    return pending;
  }

  /**
   * The client's `files.exclude` patterns that are switched on (value `true`); patterns with a
   * `when` clause are conditional on sibling files and are left to the client's own views.
   */
  filesExclude(scopeUri?: string): Promise<string[]> {
    const key = scopeUri ?? '';
    let pending = this.excludeCache.get(key);
    if (!pending) {
      pending = this.loadFilesExclude(scopeUri);
      this.excludeCache.set(key, pending);
    }
    return pending;
  }

  /** Forgets everything parsed; `settings` is the notification's payload, when a client pushes it. */
  invalidate(settings?: unknown): void {
    if (settings && typeof settings === 'object' && SETTINGS_SECTION in settings) {
      this.pushed = (settings as Record<string, unknown>)[SETTINGS_SECTION];
    }
    this.cache.clear();
    this.excludeCache.clear();
    this.projectReads.clear();
    this.scopeCache.clear();
  }

  /** True for a `.hazard-lens.json` anywhere (watched: a change re-reads the settings). */
  isConfigFile(path: string): boolean {
    return nodePath.basename(path) === CONFIG_FILE_NAME;
  }

  /**
   * `config` (a folder's settings from {@link get}) with the scopes of the nested configuration
   * files that hold `files` below the project's file. The same object while nothing changed, so
   * callers can compare by identity.
   */
  scoped(config: HazardLensConfig, folderPath: string, files: readonly string[]): HazardLensConfig {
    const project = this.projectReads.get(folderPath);
    const projectDir = project?.file !== undefined ? nodePath.dirname(project.file) : folderPath;
    const dirs = [...new Set(files.map((f) => nodePath.dirname(f)))].sort();
    const dirsKey = dirs.join('\n');
    let entry = this.scopeCache.get(folderPath);
    if (!entry || entry.dirsKey !== dirsKey) {
      const nested = loadNestedConfigs(projectDir, files, RULE_IDS, config);
      for (const p of nested.problems) this.logger.warn(p);
      const scopes = nested.scopes.map((scope) => {
        const stops = nested.stopsOf.get(scope.file);
        if (!stops) {
          this.lastGoodScopes.set(scope.file, scope);
          this.shownFileErrors.delete(scope.file);
          return scope;
        }
        const kept = this.lastGoodScopes.get(scope.file);
        this.reportFileErrors(scope.file, stops, kept !== undefined);
        return kept ?? scope;
      });
      entry = { dirsKey, scopes };
      this.scopeCache.set(folderPath, entry);
    }
    if (entry.scopes.length === 0) return config;
    if (entry.base !== config || !entry.joined) {
      // The editor's rules layer over every file's, the nested ones too.
      const editorRules = this.editorRules.get(config);
      const scopes = editorRules ? entry.scopes.map((s) => ({ ...s, rules: { ...s.rules, ...editorRules } })) : entry.scopes;
      entry.base = config;
      entry.joined = { ...config, scopes };
    }
    return entry.joined ?? config;
  }

  /** Per merged config: the rules the editor set (layered over nested files' rules too). */
  private readonly editorRules = new WeakMap<HazardLensConfig, HazardLensConfig['rules']>();

  private async load(scopeUri: string | undefined): Promise<HazardLensConfig> {
    let raw: unknown = this.pushed;
    if (this.canPull) {
      try {
        raw = await this.connection.workspace.getConfiguration({ scopeUri, section: SETTINGS_SECTION });
      } catch (err) {
        this.logger.error('could not read the hazardLens settings; using defaults', err);
        raw = undefined;
      }
    }
    if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
      const copy: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
      for (const key of CLIENT_ONLY_KEYS) delete copy[key];
      raw = copy;
    }
    const editor = parseConfig(raw, RULE_IDS, SETTINGS_SECTION);
    // A bad editor value is reported (its default, or the file's value, is used until it is fixed).
    if (editor.problems.length > 0 || editor.errors.length > 0 || editor.settingErrors.length > 0) this.report([...editor.problems, ...editor.errors, ...editor.settingErrors]);
    // A bad editor value does not replace the file's (its default would).
    const editorSet = new Set([...editor.set].filter((k) => !editor.settingErrors.some((e) => e.startsWith(`${SETTINGS_SECTION}: "${k}" is invalid`))));
    // The file is looked for from the workspace folder (the index asks with the folder's URI),
    // or from a lone document's folder.
    const scopePath = scopeUri?.startsWith('file:') ? uriToPath(scopeUri) : undefined;
    const folder = scopePath === undefined ? undefined : (this.folders?.list().find((f) => f.path === scopePath) ?? this.folders?.folderOf(scopePath)?.folder);
    const start = folder?.path ?? (scopePath !== undefined ? nodePath.dirname(scopePath) : undefined);
    const project = start !== undefined ? this.project(start) : undefined;
    // The file's `exclude` patterns are relative to its folder; the editor matches paths relative
    // to the workspace folder, which may lie below it.
    // Its paths (baseline, environments) are relative to its own folder, as in the CLI; an
    // editor setting's are relative to the workspace folder.
    const fileConfig =
      project?.file !== undefined && folder && nodePath.dirname(project.file) !== folder.path
        ? {
            ...project.config,
            ...filePathsFrom(project.config, nodePath.dirname(project.file)),
            exclude: rebaseExcludes(project.config.exclude, nodePath.dirname(project.file), folder.path),
          }
        : project?.config;
    const merged = project && fileConfig ? layerConfig(fileConfig, editor.config, editorSet) : editor.config;
    if (project && editorSet.has('rules')) this.editorRules.set(merged, editor.config.rules);
    return merged;
  }

  /** The project configuration for a folder: read once per invalidation; a bad file keeps its last good reading. */
  private project(start: string): ProjectConfig {
    const cached = this.projectReads.get(start);
    if (cached) return cached;
    let project = loadProjectConfig(start, RULE_IDS);
    if (project.file !== undefined) {
      for (const p of project.problems) this.logger.warn(p);
      if (project.stops.length > 0) {
        const kept = this.lastGood.get(project.file);
        this.reportFileErrors(project.file, project.stops, kept !== undefined);
        if (kept) project = kept;
      } else {
        this.lastGood.set(project.file, project);
        this.shownFileErrors.delete(project.file);
        if (project.set.size > 0) this.logger.info(`${project.file}: settings in use (${[...project.set].join(', ')})`);
      }
    }
    this.projectReads.set(start, project);
    return project;
  }

  /** Shows a configuration file's errors (once per distinct set) and logs them. */
  private reportFileErrors(file: string, stops: readonly string[], keptLastGood: boolean): void {
    for (const e of stops) this.logger.error(e);
    const key = stops.join('\n');
    if (this.shownFileErrors.get(file) === key) return;
    this.shownFileErrors.set(file, key);
    const keeping = keptLastGood
      ? 'its last valid settings are kept until it is fixed'
      : 'what could be read is used until it is fixed (a rule with a misspelt severity is off)';
    showMessage(this.connection, 'error', `Hazard Lens: ${file} has errors, so ${keeping}. ${stops.join(' ')}`, this.logger);
  }

  private async loadFilesExclude(scopeUri: string | undefined): Promise<string[]> {
    if (!this.canPull) return [];
    try {
      const raw: unknown = await this.connection.workspace.getConfiguration({ scopeUri, section: 'files.exclude' });
      if (!raw || typeof raw !== 'object') return [];
      return Object.entries(raw as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([pattern]) => pattern);
    } catch (err) {
      this.logger.error('could not read files.exclude', err);
      return [];
    }
  }

  private report(problems: string[]): void {
    const key = problems.join('\n');
    for (const p of problems) this.logger.warn(p);
    if (this.shownProblems.has(key)) return;
    this.shownProblems.add(key);
    const text = `Hazard Lens: invalid settings were replaced by their defaults. ${problems.join(' ')}`;
    showMessage(this.connection, 'warning', text, this.logger);
  }
}

/** The settings of a configuration file that name a path, each made absolute from the file's folder (`none` and empty stay). */
function filePathsFrom(config: HazardLensConfig, fileDir: string): Pick<HazardLensConfig, 'baseline' | 'pythonEnvironment' | 'nodeModules'> {
  const absolute = (value: string) => (value === '' || value === 'none' || nodePath.isAbsolute(value) ? value : nodePath.resolve(fileDir, value));
  return { baseline: absolute(config.baseline), pythonEnvironment: absolute(config.pythonEnvironment), nodeModules: absolute(config.nodeModules) };
}
