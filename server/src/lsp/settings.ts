/**
 * Settings: pulled from the client with `workspace/configuration` (scope: the resource),
 * parsed and defaulted ONCE per change by `parseConfig`, cached per resource until the next
 * `didChangeConfiguration`. Bad values never break anything: the defaults are used and the
 * problems are shown once per distinct set of messages.
 */
import type { Connection } from 'vscode-languageserver';
import { parseConfig, type HazardLensConfig } from '../engine/config';
import { RULE_IDS } from '../rules/index';
import { showMessage, type Logger } from './logger';
import { SETTINGS_SECTION } from './protocol';

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

  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
    private readonly canPull: boolean,
    initial?: unknown,
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
    const { config, problems } = parseConfig(raw, RULE_IDS, SETTINGS_SECTION);
    if (problems.length > 0) this.report(problems);
    return config;
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
