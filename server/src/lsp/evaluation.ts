/**
 * Evaluation of a group of files (a workspace folder, or a document outside every folder)
 * and publication of what changed. Per-file findings are already in each FileAnalysis;
 * what is recomputed here is the program-level part, incrementally: each group keeps an
 * `IncrementalEvaluator` (engine/incremental.ts) holding its analyses and model caches, so
 * an edit costs the program rules of the edited file's language and, inside the models, the
 * programs that can reach the edited file. Every file whose findings changed is then
 * republished — open documents with the version their analysis was computed for, other
 * files without a version — not only the file that was edited; files whose findings did not
 * change are not looked at (unless the settings or the set of open documents changed, which
 * change the diagnostics of unchanged findings).
 *
 * Requests are coalesced per group (several documents validated in the same turn, a burst of
 * disk changes cost one evaluation). An open document whose analysis is older than its text
 * (a pass is pending for it, or `run` is `onSave`) is left alone: its own pass publishes it,
 * so a stale version is never published.
 */
import type { Diagnostic } from 'vscode-languageserver';
import type { HazardLensConfig } from '../engine/config';
import { IncrementalEvaluator } from '../engine/incremental';
import { finishFindings } from '../engine/engine';
import { moveFindings } from './moved-findings';
import { buildFingerprint, DiskCache } from '../engine/cache';
import type { FileAnalysis } from '../analysis/results';
import { combinedDependencies, type ProgramDependencies } from '../model/program-context';
import * as nodePath from 'node:path';
import { runFileTask } from '../scan/file-task';
import { joinDependencies } from '../scan/python-dependencies';
import { findNodeModules, nodeModulesFingerprint } from '../scan/node-modules';
import { importedBareSpecifiers, joinNodeDependencies } from '../scan/node-dependencies';
import { cachedPythonEnvironment, importedTopLevelNames, type PythonEnvironment } from '../scan/python-environment';
import { toDiagnostics } from './diagnostics';
import { BaselineStore } from './baseline';
import { sourceTexts } from '../scan/source-texts';
import type { DocumentStore } from './documents';
import type { Logger } from './logger';
import { pathToUri } from './paths';
import type { Publisher } from './publisher';
import type { Settings } from './settings';
import type { GroupKey, WorkspaceIndex } from './workspace-index';
import type { Folder } from './workspace';

export interface EvaluationRequest {
  /** URIs of open documents to publish even when their diagnostics did not change (a new version was analysed). */
  force?: readonly string[];
  /** Publish every file with findings that is not open, changed or not (an explicit scan). */
  republish?: boolean;
}

export interface GroupResult {
  /** Findings over the whole group (every file, open or not), unused-suppression hints included. */
  findings: number;
}

interface Pending {
  timer: NodeJS.Timeout | NodeJS.Immediate;
  immediate: boolean;
  force: Set<string>;
  republish: boolean;
  waiters: ((result: GroupResult) => void)[];
}

function sameDiagnostics(a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

export class GroupEvaluator {
  /** Path → where its non-empty diagnostics were published, and by which group. */
  private readonly published = new Map<string, { uri: string; group: GroupKey }>();
  private readonly pending = new Map<GroupKey, Pending>();
  /** Duration of each group's last evaluation (ms), for the validator's adaptive delay. */
  private readonly durations = new Map<GroupKey, number>();
  private readonly lastNotes = new Map<GroupKey, string>();
  /** `hazardLens.baseline`: the findings it records are not published. */
  private readonly baselines: BaselineStore;
  /** Per group: its incremental evaluator, and what the last publication pass depended on. */
  private readonly evaluators = new Map<GroupKey, { evaluator: IncrementalEvaluator; config?: HazardLensConfig; openKey?: string }>();
  /** Per group: the installed packages joined, and what they were joined for (environment and imports). */
  private readonly dependencies = new Map<GroupKey, { environment: PythonEnvironment; key: string; value: ProgramDependencies }>();
  /** Per group: the node_modules packages joined, and what they were joined for (folders and bare imports). */
  private readonly nodeDependencies = new Map<GroupKey, { key: string; value: ProgramDependencies | undefined }>();
  /** Per group: the environment setting's error last logged (logged once, not per evaluation). */
  private readonly environmentErrors = new Map<GroupKey, string>();

  constructor(
    private readonly index: WorkspaceIndex,
    private readonly documents: DocumentStore,
    private readonly settings: Settings,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
  ) {
    this.baselines = new BaselineStore(logger);
  }

  /**
   * The installed packages a workspace folder's Python imports reach in its environment
   * (`hazardLens.pythonEnvironment`, `$VIRTUAL_ENV`, a `.venv`/`venv`/`env` folder): joined again
   * only when the environment or the set of names the folder imports changed. An environment
   * setting that names no environment is logged as an error and the folder is evaluated
   * without one.
   */
  private async dependenciesOf(group: GroupKey, folder: Folder, config: HazardLensConfig, files: readonly FileAnalysis[]): Promise<ProgramDependencies | undefined> {
    const lookup = cachedPythonEnvironment(config.pythonEnvironment, [folder.path], process.env, folder.path);
    if (lookup.error !== undefined) {
      const message = `"hazardLens.pythonEnvironment": ${lookup.error}; evaluating without installed packages`;
      if (this.environmentErrors.get(group) !== message) this.logger.error(`${folder.path}: ${message}`);
      this.environmentErrors.set(group, message);
      this.dependencies.delete(group);
      return undefined;
    }
    this.environmentErrors.delete(group);
    const environment = lookup.environment;
    if (!environment) {
      this.dependencies.delete(group);
      return undefined;
    }
    // The same environment object while nothing was installed or removed (no file read here).
    const key = importedTopLevelNames(files).join('\u0001');
    const held = this.dependencies.get(group);
    if (held?.environment === environment && held.key === key) return held.value;
    const cacheDir = this.index.analysisCacheDir(folder, config);
    const joined = await joinDependencies(environment, files, [folder.path], {
      analyseFile: (file) => runFileTask({ path: file, maxBytes: config.maxFileSizeKb * 1024, prefilter: true, cacheDir, fingerprint: cacheDir ? buildFingerprint() : undefined, knowledge: config.knowledge.user }),
      cache: cacheDir ? new DiskCache(cacheDir) : undefined,
      note: (text) => this.logger.info(`${folder.path}: ${text}`),
    });
    this.dependencies.set(group, { environment, key, value: joined.dependencies });
    return joined.dependencies;
  }

  /**
   * The `node_modules` packages a workspace folder's TypeScript/JavaScript imports reach
   * (`hazardLens.nodeModules`, else the folders Node would look in): joined again only when a
   * `node_modules` folder changed (its time stamp) or the set of bare specifiers the folder
   * imports did. A setting that names no folder is logged and the folder is evaluated without.
   */
  private async nodeDependenciesOf(group: GroupKey, folder: Folder, config: HazardLensConfig, files: readonly FileAnalysis[]): Promise<ProgramDependencies | undefined> {
    const lookup = findNodeModules(config.nodeModules && config.nodeModules !== 'none' ? nodePath.resolve(folder.path, config.nodeModules) : config.nodeModules, [folder.path], folder.path);
    if (lookup.error !== undefined) {
      const message = `"hazardLens.nodeModules": ${lookup.error}; evaluating without node_modules`;
      if (this.environmentErrors.get(`${group}\0node`) !== message) this.logger.error(`${folder.path}: ${message}`);
      this.environmentErrors.set(`${group}\0node`, message);
      this.nodeDependencies.delete(group);
      return undefined;
    }
    this.environmentErrors.delete(`${group}\0node`);
    const layout = lookup.layout;
    if (!layout) {
      this.nodeDependencies.delete(group);
      return undefined;
    }
    const key = `${nodeModulesFingerprint(layout)}\u0002${importedBareSpecifiers(files).join('\u0001')}`;
    const held = this.nodeDependencies.get(group);
    if (held?.key === key) return held.value;
    const cacheDir = this.index.analysisCacheDir(folder, config);
    const joined = await joinNodeDependencies(layout, files, [folder.path], {
      analyseFile: (file) => runFileTask({ path: file, maxBytes: config.maxFileSizeKb * 1024, prefilter: true, cacheDir, fingerprint: cacheDir ? buildFingerprint() : undefined, knowledge: config.knowledge.user }),
      cache: cacheDir ? new DiskCache(cacheDir) : undefined,
      note: (text) => this.logger.info(`${folder.path}: ${text}`),
    });
    this.nodeDependencies.set(group, { key, value: joined.dependencies });
    return joined.dependencies;
  }

  /** How long the group's last (incremental) evaluation took, in milliseconds. */
  cost(group: GroupKey): number {
    return this.durations.get(group) ?? 0;
  }

  /**
   * Requests an evaluation of the group after `delayMs` (0: in the next turn of the event
   * loop), merged with any request still waiting. Resolves when it ran.
   */
  schedule(group: GroupKey, request: EvaluationRequest = {}, delayMs = 0): Promise<GroupResult> {
    return new Promise((resolve) => {
      let p = this.pending.get(group);
      if (p && !p.immediate && delayMs === 0) {
        // A sooner request wins the timing; the two merge.
        clearTimeout(p.timer as NodeJS.Timeout);
        p.timer = setImmediate(() => this.fire(group));
        p.immediate = true;
      }
      if (!p) {
        const immediate = delayMs <= 0;
        p = {
          timer: immediate ? setImmediate(() => this.fire(group)) : setTimeout(() => this.fire(group), delayMs),
          immediate,
          force: new Set(),
          republish: false,
          waiters: [],
        };
        this.pending.set(group, p);
      }
      for (const uri of request.force ?? []) p.force.add(uri);
      p.republish ||= request.republish === true;
      p.waiters.push(resolve);
    });
  }

  private fire(group: GroupKey): void {
    const p = this.pending.get(group);
    if (!p) return;
    this.pending.delete(group);
    this.run(group, p.force, p.republish)
      .catch((err: unknown) => {
        this.logger.error(`evaluating ${group} failed`, err);
        return { findings: 0 };
      })
      .then((result) => {
        for (const w of p.waiters) w(result);
      })
      .catch((err: unknown) => this.logger.error(`evaluating ${group} failed`, err));
  }

  private async run(group: GroupKey, force: ReadonlySet<string>, republish: boolean): Promise<GroupResult> {
    const settings = await this.settings.get(this.index.scopeOf(group));
    const folder = this.index.folderOfGroup(group);
    // Nested .hazard-lens.json files decide the rules of the files under them (as in the CLI).
    const config = folder ? this.settings.scoped(settings, folder.path, this.index.groupFiles(group).map((a) => a.path)) : settings;
    // The installed packages the folder's imports reach (read from disk, or the cache, when the
    // environment or the imports changed): before the synchronous part below.
    const python = folder ? await this.dependenciesOf(group, folder, config, this.index.groupFiles(group)) : undefined;
    const node = folder ? await this.nodeDependenciesOf(group, folder, config, this.index.groupFiles(group)) : undefined;
    const dependencies = combinedDependencies(python, node);
    // From here on everything is synchronous: the index cannot change under the evaluation.
    const started = Date.now();
    const files = this.index.groupFiles(group);
    let state = this.evaluators.get(group);
    const first = !state;
    if (!state) this.evaluators.set(group, (state = { evaluator: new IncrementalEvaluator(config) }));
    const incremental = state.evaluator;
    incremental.setConfig(config);
    incremental.setRoots(folder ? [folder.path] : []);
    incremental.setProjectFiles(this.index.projectFiles(group));
    incremental.setDependencies(dependencies);
    incremental.setFiles(files);
    const evaluation = incremental.evaluate();
    const notes = evaluation.notes.join('\n');
    if (notes !== (this.lastNotes.get(group) ?? '')) {
      for (const note of evaluation.notes) this.logger.warn(`${folder?.path ?? group}: ${note}`);
      this.lastNotes.set(group, notes);
    }
    const byPath = evaluation.byPath;
    const uriOf = (p: string) => this.index.openEntry(p)?.uri ?? pathToUri(p);
    const inGroup = new Set<string>();
    const hashOf = new Map<string, string>();
    for (const analysis of files) {
      inGroup.add(analysis.path);
      hashOf.set(analysis.path, analysis.contentHash);
    }
    // Diagnostics of a file can change without its findings changing when the settings (docs
    // links, severities) or the open documents (URIs of related locations) changed.
    const openInGroup = files.filter((a) => this.index.openEntry(a.path)).map((a) => a.path);
    const baselineFile = BaselineStore.fileOf(config.baseline, folder?.path);
    const { baseline, key: baselineKey } = this.baselines.get(baselineFile);
    const openKey = `${openInGroup.map((p) => `${p}\u0000${this.index.openEntry(p)?.uri ?? ''}`).join('\u0001')}\u0002${baselineKey}`;
    const diskTexts = sourceTexts();
    const textOf = (p: string) => {
      const open = this.index.openEntry(p);
      return (open && this.documents.get(open.uri)?.document.getText()) ?? diskTexts(p);
    };
    const everything = republish || state.config !== config || state.openKey !== openKey;
    state.config = config;
    state.openKey = openKey;
    const candidates = everything ? [...inGroup] : [...new Set([...evaluation.changed, ...openInGroup])].filter((p) => inGroup.has(p));
    let changed = 0;
    for (const p of candidates) {
      const findings = this.baselines.filter(byPath.get(p) ?? [], baselineFile, baseline, textOf);
      const open = this.index.openEntry(p);
      // Quiet before and after (most files of a workspace): nothing to convert or compare.
      if (!open && findings.length === 0 && !this.published.has(p)) continue;
      if (open) {
        const doc = this.documents.get(open.uri);
        // Analysed for an older version: the document's own pending pass publishes it.
        if (!doc || doc.document.version !== open.version) continue;
        const diagnostics = toDiagnostics([...findings], p, open.uri, config, open.version, uriOf);
        if (this.publish(group, p, open.uri, diagnostics, open.version, force.has(open.uri))) changed++;
      } else {
        const uri = pathToUri(p);
        const diagnostics = toDiagnostics([...findings], p, uri, config, undefined, uriOf, hashOf.get(p));
        if (this.publish(group, p, uri, diagnostics, undefined, republish && diagnostics.length > 0)) changed++;
      }
    }
    // Files this group reported on that left it (deleted, excluded, closed and not on disk).
    for (const [p, record] of this.published) {
      if (record.group !== group || inGroup.has(p)) continue;
      this.published.delete(p);
      if (this.index.openEntry(p)) continue;
      this.publisher.publish(record.uri, []);
      changed++;
    }
    const elapsed = Date.now() - started;
    if (files.length === 0 && !folder) {
      // A lone document that was closed, or a folder removed: nothing of its group is left
      // to remember (its evaluator holds the group's model caches).
      this.durations.delete(group);
      this.lastNotes.delete(group);
      this.evaluators.delete(group);
    } else if (!first) this.durations.set(group, elapsed);
    // (The first evaluation of a group builds its models from scratch: its time says nothing
    // about what an edit will cost, so it does not lengthen the debounce.)
    const { rulesRun } = evaluation.stats;
    this.logger.debug(`evaluated ${folder?.path ?? group}: ${files.length} files in ${elapsed} ms (rules run: ${rulesRun.join(', ') || 'none'}), ${evaluation.changed.size} files changed, ${changed} publications`);
    return { findings: evaluation.findings.length };
  }

  /**
   * Publishes a newly analysed version of an open document at once, before its group is
   * evaluated again: its own (per-file) findings, fresh, with the program findings the last
   * evaluation gave it, moved by the edit since (`moved-findings.ts`) — the evaluation that
   * follows publishes again only if the program findings changed. False (nothing published)
   * before the group's first evaluation, or when the text the last evaluation saw is unknown
   * (`textOf` gives the texts of the document's recent versions by content hash).
   */
  publishFirst(group: GroupKey, uri: string, analysis: FileAnalysis, version: number, text: string, textOf: (contentHash: string) => string | undefined): boolean {
    const state = this.evaluators.get(group);
    const config = state?.config;
    const last = state?.evaluator.lastEvaluated(analysis.path);
    if (!config || !last) return false;
    const before = last.analysis.contentHash === analysis.contentHash ? text : textOf(last.analysis.contentHash);
    if (before === undefined) return false;
    const program = moveFindings(last.programFindings, analysis.path, before, text);
    const findings = finishFindings([...analysis.localFindings, ...program], [analysis], config);
    const folder = this.index.folderOfGroup(group);
    const baselineFile = BaselineStore.fileOf(config.baseline, folder?.path);
    const { baseline } = this.baselines.get(baselineFile);
    const diskTexts = sourceTexts();
    const kept = this.baselines.filter(findings, baselineFile, baseline, (p) => (p === analysis.path ? text : diskTexts(p)));
    const uriOf = (p: string) => this.index.openEntry(p)?.uri ?? pathToUri(p);
    this.publish(group, analysis.path, uri, toDiagnostics([...kept], analysis.path, uri, config, version, uriOf), version, true);
    return true;
  }

  /** Publishes when the diagnostics differ from what the client has (or when forced); true when sent. */
  private publish(group: GroupKey, filePath: string, uri: string, diagnostics: Diagnostic[], version: number | undefined, force: boolean): boolean {
    const previous = this.published.get(filePath);
    if (previous && previous.uri !== uri) {
      // The same file under another spelling of its URI (opened with the editor's own).
      this.publisher.publish(previous.uri, []);
      this.published.delete(filePath);
    }
    if (diagnostics.length > 0) this.published.set(filePath, { uri, group });
    else this.published.delete(filePath);
    const current = this.publisher.get(uri);
    const same = current ? current.version === version && sameDiagnostics(current.diagnostics, diagnostics) : diagnostics.length === 0;
    if (same && !force) return false;
    this.publisher.publish(uri, diagnostics, version);
    return true;
  }

  /** A document closed: what was published for it is the client's to drop (already cleared). */
  forget(filePath: string): void {
    this.published.delete(filePath);
  }

  dispose(): void {
    this.evaluators.clear();
    for (const p of this.pending.values()) {
      if (p.immediate) clearImmediate(p.timer as NodeJS.Immediate);
      else clearTimeout(p.timer as NodeJS.Timeout);
    }
    this.pending.clear();
  }
}
