/**
 * Analysis of open documents (vscode-anycode `validation.ts`): one pending pass per document,
 * debounced; a newer request cancels the pending one; results are published with the
 * document version they were computed for, and dropped when the document moved on meanwhile.
 *
 * A pass analyses the document (incremental tree, per-file rules), puts the analysis in the
 * workspace index in place of the disk file's, and asks the group evaluator to evaluate the
 * document's folder: the document is published at its version, and every other file whose
 * cross-file findings changed is republished too. The delay before a pass is the
 * `hazardLens.debounceMs` setting (default {@link DEFAULT_DEBOUNCE_MS}); when the last pass was
 * slow (a very large file, a big program model), it grows to half that pass's cost, so typing
 * never queues work faster than it can be done ({@link passDelay}).
 */
import * as path from 'node:path';
import ignore from 'ignore';
import { analyzeTreeInParts, contentHash, refusedForNesting, type AnalysisInParts, type EditorReuse } from '../engine/analyze';
import { knownWithinBudget, nestingOf } from '../engine/nesting';
import type { FileAnalysis } from '../analysis/results';
import { DEFAULT_CONFIG, MAX_DEBOUNCE_MS, type HazardLensConfig } from '../engine/config';
import { loadGrammar, type Tree } from '../parsing/parser';
import type { DocumentStore, OpenDocument } from './documents';
import type { GroupEvaluator } from './evaluation';
import type { Logger } from './logger';
import type { Publisher } from './publisher';
import type { Settings } from './settings';
import type { WorkspaceIndex } from './workspace-index';
import type { WorkspaceFolders } from './workspace';

/** Delay between the last change and a document's analysis when passes are cheap (`hazardLens.debounceMs`). */
export const DEFAULT_DEBOUNCE_MS = DEFAULT_CONFIG.debounceMs;

/**
 * The wait before a pass: the debounce, or half the last pass's cost when that is longer (at
 * most {@link MAX_DEBOUNCE_MS}). A pass that cost up to twice the debounce starts after the
 * debounce alone (on a 12,000-line Python file that is the whole wait); a slower one starts only
 * after a pause half as long as itself, so while typing goes on the server is busy at most two
 * thirds of the time and answers other requests in between.
 */
export function passDelay(debounceMs: number, lastCostMs: number): number {
  return Math.max(debounceMs, Math.min(MAX_DEBOUNCE_MS, Math.round(lastCostMs / 2)));
}

/** Why a pass was requested; `change` passes are skipped when `hazardLens.run` is `onSave`. */
export type Trigger = 'open' | 'change' | 'save' | 'config';

interface Pending {
  timer: NodeJS.Timeout;
  trigger: Trigger;
}

export class Validator {
  private readonly pending = new Map<string, Pending>();
  /** Bumped per request, so a pass that finishes after a newer request drops its results. */
  private readonly generation = new Map<string, number>();
  private counter = 0;
  private readonly excludeMatchers = new WeakMap<HazardLensConfig, ignore.Ignore>();
  /** Version of each document last logged as skipped, so the reason is logged once per version. */
  private readonly reportedSkips = new Map<string, number>();

  constructor(
    private readonly documents: DocumentStore,
    private readonly settings: Settings,
    private readonly folders: WorkspaceFolders,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    private readonly index: WorkspaceIndex,
    private readonly evaluator: GroupEvaluator,
    /** Replaces the `hazardLens.debounceMs` setting (the `debounceMs` initialization option, for tests and benchmarks). */
    private readonly debounceOverride?: number,
  ) {}

  /** Per document: the `hazardLens.debounceMs` of its last pass's settings (read when scheduling, which cannot wait for them). */
  private readonly debounceSetting = new Map<string, number>();

  /** Per document: its last fact extraction, which the next one reuses where the edit allows. */
  private readonly factReuse = new Map<string, EditorReuse>();

  /** Milliseconds the last analysis of each document took (its parse and per-file rules). */
  private readonly analysisCost = new Map<string, number>();

  /**
   * The debounce, lengthened by what the last pass cost (the document's own analysis plus the
   * evaluation of its folder): see {@link passDelay}.
   */
  private delayFor(uri: string): number {
    const debounce = this.debounceOverride ?? this.debounceSetting.get(uri) ?? DEFAULT_DEBOUNCE_MS;
    const doc = this.documents.get(uri);
    if (!doc) return debounce;
    const cost = (this.analysisCost.get(uri) ?? 0) + this.evaluator.cost(this.index.groupOf(doc.path, uri));
    return passDelay(debounce, cost);
  }

  /** Requests a pass after the debounce delay, replacing any pass still waiting. */
  schedule(uri: string, trigger: Trigger): void {
    const previous = this.pending.get(uri);
    // A save or settings pass must not be lost to a keystroke right after it.
    const effective: Trigger = previous && previous.trigger !== 'change' && trigger === 'change' ? previous.trigger : trigger;
    if (previous) clearTimeout(previous.timer);
    const generation = this.bump(uri);
    const timer = setTimeout(() => {
      this.pending.delete(uri);
      this.run(uri, effective, generation).catch((err: unknown) => this.logger.error(`analysing ${uri} failed`, err));
    }, this.delayFor(uri));
    this.pending.set(uri, { timer, trigger: effective });
  }

  /** Cancels what is pending for a document (it was closed). */
  cancel(uri: string): void {
    const previous = this.pending.get(uri);
    if (previous) clearTimeout(previous.timer);
    this.pending.delete(uri);
    this.generation.delete(uri);
    this.reportedSkips.delete(uri);
    this.analysisCost.delete(uri);
    this.debounceSetting.delete(uri);
    this.factReuse.delete(uri);
    this.texts.delete(uri);
  }

  /** Re-validates every open document (settings changed). */
  revalidateAll(): void {
    for (const doc of this.documents.all()) this.schedule(doc.uri, 'config');
  }

  dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private bump(uri: string): number {
    // One counter for all documents: a pass from before a close/re-open can never match.
    const next = ++this.counter;
    this.generation.set(uri, next);
    return next;
  }

  private async run(uri: string, trigger: Trigger, generation: number): Promise<void> {
    const initial = this.documents.get(uri);
    if (!initial?.grammar) return;
    const version = initial.document.version;
    const current = (): OpenDocument | undefined => {
      const doc = this.documents.get(uri);
      return doc && doc.document.version === version && this.generation.get(uri) === generation ? doc : undefined;
    };

    const config = await this.settings.get(uri);
    this.debounceSetting.set(uri, config.debounceMs);
    if (!current()) return;
    if (trigger === 'change' && config.run === 'onSave') return;

    const skip = this.skipReason(initial, config);
    if (skip) {
      if (this.reportedSkips.get(uri) !== version) {
        this.reportedSkips.set(uri, version);
        this.logger.info(`not analysing ${initial.path}: ${skip}`);
      }
      this.publisher.publish(uri, [], version);
      // Out of the index: the other files of its folder are re-evaluated without it.
      this.evaluator.forget(initial.path);
      const group = this.index.removeOpen(initial.path);
      if (group) void this.evaluator.schedule(group);
      return;
    }

    await loadGrammar(initial.grammar);
    const doc = current();
    if (!doc?.grammar || !doc.language) return;

    const started = Date.now();
    const text = doc.document.getText();
    const hash = contentHash(text, config.knowledge);
    // An analysis of the same text from the index (a keystroke undone, the disk file's text
    // again) is taken only when it leaves no reuse state behind: serving it would keep the
    // state of an older text, and the next keystroke, two edits away from that, would be
    // analysed whole. Analysed again from the state, it costs one definition's work.
    let analysis = this.reuseFallsBehind(uri, text) ? undefined : this.index.reusableAnalysis(doc.path, hash);
    /** The document's own findings went out before its program facts were extracted (below). */
    let publishedEarly = false;
    if (!analysis) {
      let parts: AnalysisInParts | undefined;
      let tree: Tree | undefined;
      try {
        // Nesting beyond the budget is refused before the parse (a deep Python file can make
        // the grammar write out of bounds). The bound the edits kept answers when it is within
        // the budget; otherwise the text is measured (and the measure kept).
        if (!knownWithinBudget(doc.nesting, doc.language)) doc.nesting = nestingOf(text, doc.language);
        analysis = refusedForNesting(doc.path, doc.language, text, { knowledge: config.knowledge }, doc.nesting);
        if (!analysis) {
          tree = this.documents.treeFor(doc);
          parts = analyzeTreeInParts(doc.path, text, doc.language, doc.grammar, tree, { knowledge: config.knowledge, factReuse: this.reuseFor(uri) });
        }
        this.index.countParse();
      } catch (err) {
        // A parse over budget, a parser crash or an engine defect: say so, keep the editor
        // usable. The parser was restarted, so the next document (or edit) parses afresh.
        this.logger.error(`analysis of ${doc.path} (version ${version}) failed; the file is not analysed`, err);
        return;
      }
      let work = Date.now() - started;
      if (parts && tree) {
        // The file's own findings first, before its program facts are extracted: only the
        // evaluation of the workspace reads those, and it publishes again if they change
        // the file's findings.
        publishedEarly = this.publishFirst(doc.path, uri, parts.local, version, text);
        if (publishedEarly) {
          // The publication goes out first; an edit meanwhile has a pass of its own, and a tree
          // that is no longer the document's (an edit parsed, or the tree evicted) is not read.
          await this.publisher.written();
          if (!current() || !this.documents.holdsTree(doc, tree)) return;
        }
        const resumed = Date.now();
        try {
          analysis = parts.complete();
        } catch (err) {
          this.logger.error(`analysis of ${doc.path} (version ${version}) failed; the file is not analysed`, err);
          return;
        }
        work += Date.now() - resumed;
      }
      if (!analysis) return;
      if (analysis.notAnalysed !== undefined) this.logger.warn(`${doc.path}: not analysed: ${analysis.notAnalysed}`);
      for (const note of analysis.notes) this.logger.warn(`${doc.path}: ${note}`);
      this.analysisCost.set(uri, work);
      const reuse = this.factReuse.get(uri);
      const reused = [reuse?.reused ? `facts of ${reuse.reused} functions` : '', reuse?.handles?.reused ? `handle findings of ${reuse.handles.reused}` : ''].filter(Boolean).join(', ');
      this.logger.debug(`analysed ${doc.path} v${version} in ${work} ms${reused ? ` (${reused} reused)` : ''}`);
    }
    // Synchronous since `current()`: the analysis is of this version.
    this.index.setOpen(doc.path, uri, version, analysis);
    const group = this.index.groupOf(doc.path, uri);
    // The file's own findings first (with the program findings it had), unless they went out
    // already; the evaluation then publishes it again only if its program findings changed.
    const published = publishedEarly || this.publishFirst(doc.path, uri, analysis, version, text);
    void this.evaluator.schedule(group, published ? {} : { force: [uri] });
  }

  /**
   * Publishes the document's own findings at once, with the program findings the last
   * evaluation gave it (`GroupEvaluator.publishFirst`); false when they must wait for the
   * evaluation. The text is kept by its analysis's content hash for the evaluations to come.
   */
  private publishFirst(filePath: string, uri: string, analysis: FileAnalysis, version: number, text: string): boolean {
    const group = this.index.groupOf(filePath, uri);
    const texts = this.recentTexts(uri);
    texts.set(analysis.contentHash, text);
    return this.evaluator.publishFirst(group, uri, analysis, version, text, (hash) => texts.get(hash));
  }

  /** Per document: the texts of its last analysed versions, by content hash (the last evaluation saw one of them). */
  private readonly texts = new Map<string, Map<string, string>>();

  private recentTexts(uri: string): Map<string, string> {
    let m = this.texts.get(uri);
    if (!m) this.texts.set(uri, (m = new Map()));
    // A few versions: evaluations are coalesced, so the last one may have seen an older version.
    while (m.size >= 4) m.delete(m.keys().next().value!);
    return m;
  }

  /** The document keeps a reuse state (Python facts or handles) of a text other than `text`. */
  private reuseFallsBehind(uri: string, text: string): boolean {
    const reuse = this.factReuse.get(uri);
    const stateText = reuse?.state?.text ?? reuse?.handles?.state?.text;
    return stateText !== undefined && stateText !== text;
  }

  private reuseFor(uri: string): EditorReuse {
    let r = this.factReuse.get(uri);
    if (!r) this.factReuse.set(uri, (r = {}));
    return r;
  }

  /** Why a document is not analysed (excluded, too large), or undefined. */
  skipReason(doc: OpenDocument, config: HazardLensConfig): string | undefined {
    const size = Buffer.byteLength(doc.document.getText(), 'utf8');
    if (size > config.maxFileSizeKb * 1024) {
      return `it is ${Math.round(size / 1024)} KB, above hazardLens.maxFileSizeKb (${config.maxFileSizeKb})`;
    }
    if (config.exclude.length > 0) {
      let matcher = this.excludeMatchers.get(config);
      if (!matcher) {
        matcher = ignore().add(config.exclude);
        this.excludeMatchers.set(config, matcher);
      }
      // Outside every workspace folder, match the file name (patterns like `*.gen.py` still apply).
      const inFolder = doc.uri.startsWith('file:') ? this.folders.folderOf(doc.path)?.relative : undefined;
      const relative = inFolder ?? path.basename(doc.path);
      if (relative && matcher.ignores(relative)) return 'it matches hazardLens.exclude';
    }
    return undefined;
  }
}
