/**
 * Settings: pulled from the client with `workspace/configuration` (scope: the resource),
 * parsed and defaulted ONCE per change by `parseConfig`, cached per resource until the next
 * `didChangeConfiguration` (or a change of a `.hazard-lens.json`). Bad values never break
 * anything: the defaults are used and the problems are shown once per distinct set of messages.
 *
 * The `knowledge` section of `.hazard-lens.json` at the root of the resource's workspace
 * folder (models of the user's libraries, `knowledge/user-models.ts`) is layered in: the
 * editor settings have no such key. NOTE: only that section is read from the file. The other
 * keys stay with the editor settings, because `workspace/configuration` answers every key
 * with the package.json default filled in, so "set in the editor" cannot be told from "left
 * at its default" and the file's values could never be layered under the editor's correctly.
 * A malformed model is an error shown in the log and as a window message; the folder keeps
 * its last good models (none before the first good read).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { Connection } from 'vscode-languageserver';
import { CONFIG_FILE_NAME, parseConfig, parseConfigText, type HazardLensConfig } from '../engine/config';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../knowledge/knowledge';
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
  /** Per workspace folder path: the knowledge of its last well-formed `.hazard-lens.json`. */
  private readonly lastGoodKnowledge = new Map<string, Knowledge>();
  /** Per folder path: the `.hazard-lens.json` read in flight (one read for every resource of the folder). */
  private readonly knowledgeReads = new Map<string, Promise<Knowledge>>();
  /** Per folder path: the model errors last shown (shown again once the file was valid in between). */
  private readonly shownKnowledgeErrors = new Map<string, string>();

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
    this.knowledgeReads.clear();
  }

  /** True for a path that is a workspace folder's `.hazard-lens.json` (watched: a change re-reads the settings). */
  isConfigFile(path: string): boolean {
    if (nodePath.basename(path) !== CONFIG_FILE_NAME) return false;
    return (this.folders?.list() ?? []).some((f) => nodePath.join(f.path, CONFIG_FILE_NAME) === path);
  }

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
    const { config, problems, errors, settingErrors } = parseConfig(raw, RULE_IDS, SETTINGS_SECTION);
    // Models belong in `.hazard-lens.json`; a client that sends some anyway hears about bad ones.
    // A wrong targetPlatform is reported too (the default is used until it is fixed).
    if (problems.length > 0 || errors.length > 0 || settingErrors.length > 0) this.report([...problems, ...errors, ...settingErrors]);
    // The scope is a document or a workspace folder itself (the index asks with the folder's URI).
    const scopePath = scopeUri?.startsWith('file:') ? uriToPath(scopeUri) : undefined;
    const folder = scopePath === undefined ? undefined : (this.folders?.list().find((f) => f.path === scopePath) ?? this.folders?.folderOf(scopePath)?.folder);
    if (folder) config.knowledge = await this.folderKnowledge(folder.path);
    return config;
  }

  /** The knowledge of a folder's `.hazard-lens.json` (read once per invalidation). */
  private folderKnowledge(folderPath: string): Promise<Knowledge> {
    let pending = this.knowledgeReads.get(folderPath);
    if (!pending) {
      pending = this.readKnowledge(folderPath);
      this.knowledgeReads.set(folderPath, pending);
    }
    return pending;
  }

  private async readKnowledge(folderPath: string): Promise<Knowledge> {
    const file = nodePath.join(folderPath, CONFIG_FILE_NAME);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.error(`could not read ${file}; its knowledge models are not used`, err);
      this.lastGoodKnowledge.delete(folderPath);
      this.shownKnowledgeErrors.delete(folderPath);
      return BUILTIN_KNOWLEDGE;
    }
    const parsed = parseConfigText(text, RULE_IDS, file);
    // Invalid JSON is a problem for the other keys (defaults) but leaves the models unknown.
    const errors = [...parsed.errors, ...parsed.settingErrors.filter((p) => p.startsWith(`${file}: invalid JSON`))];
    if (errors.length > 0) {
      const kept = this.lastGoodKnowledge.get(folderPath) ?? BUILTIN_KNOWLEDGE;
      for (const e of errors) this.logger.error(e);
      const key = errors.join('\n');
      if (this.shownKnowledgeErrors.get(folderPath) !== key) {
        this.shownKnowledgeErrors.set(folderPath, key);
        const keeping = kept === BUILTIN_KNOWLEDGE ? 'no models from it are used' : 'the last valid models are kept';
        showMessage(this.connection, 'error', `Hazard Lens: ${CONFIG_FILE_NAME} has invalid knowledge models, so ${keeping}. ${errors.join(' ')}`, this.logger);
      }
      return kept;
    }
    const knowledge = parsed.config.knowledge;
    this.lastGoodKnowledge.set(folderPath, knowledge);
    this.shownKnowledgeErrors.delete(folderPath);
    if (knowledge !== BUILTIN_KNOWLEDGE) this.logger.info(`${file}: knowledge models in use (${knowledge.fingerprint.slice(0, 8)})`);
    return knowledge;
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
