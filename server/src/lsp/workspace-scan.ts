/**
 * Building the workspace index, in two forms:
 * - background indexing after `initialized`, after a settings change and when folders or
 *   `.gitignore` files change: server-initiated `window/workDoneProgress` "indexing", shown
 *   only when it takes a while, cancellable; files unchanged since the last build are neither
 *   read nor parsed again;
 * - `hazardLens.scanWorkspace`: the same build with every file read again (an explicit request
 *   must not trust modification times), progress shown at once, and afterwards every file
 *   with findings published, changed or not. Returns the scan summary.
 * Either way the index reports each folder it completed, and the group evaluator publishes
 * what changed (files not open without a version; open documents keep their versioned ones).
 */
import type { CancellationToken, Connection } from 'vscode-languageserver';
import type { GroupEvaluator } from './evaluation';
import { describeError, showMessage, type Logger } from './logger';
import { WorkspaceProgress } from './progress';
import type { ScanSummary } from './protocol';
import type { Publisher } from './publisher';
import type { WorkspaceIndex } from './workspace-index';
import type { Folder, WorkspaceFolders } from './workspace';

export class WorkspaceScan {
  /** Bumped by each indexing job and each scan; an older indexing job stops at its next folder. */
  private indexGeneration = 0;
  /** Bumped by each scan; an older scan reports itself cancelled. */
  private scanGeneration = 0;
  /** The scan running, if any: background indexing waits for it rather than cancel it. */
  private scanning: Promise<ScanSummary> | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly folders: WorkspaceFolders,
    private readonly index: WorkspaceIndex,
    private readonly evaluator: GroupEvaluator,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    private readonly progressDelayMs = 500,
  ) {}

  /**
   * Indexes `folders` (default: every folder) in the background. A scan or a newer indexing
   * job takes over: this one stops.
   */
  async indexInBackground(folders?: readonly Folder[]): Promise<void> {
    const generation = ++this.indexGeneration;
    while (this.scanning) await this.scanning;
    if (generation !== this.indexGeneration) return;
    this.index.syncFolders();
    const targets = (folders ?? this.folders.list()).filter((f) => this.folders.list().some((known) => known.uri === f.uri));
    if (targets.length === 0) return;
    const abort = new AbortController();
    const progress = new WorkspaceProgress(this.connection, this.logger, 'Hazard Lens: indexing the workspace', this.progressDelayMs, () => abort.abort());
    try {
      for (let i = 0; i < targets.length; i++) {
        if (generation !== this.indexGeneration || abort.signal.aborted) return;
        const folder = targets[i];
        const outcome = await this.index.buildFolder(folder, {
          progress,
          label: targets.length > 1 ? ` in ${folder.name}` : '',
          span: [i / targets.length, (i + 1) / targets.length],
          signal: abort.signal,
        });
        if (outcome.cancelled) {
          // Cancelled by the user, or superseded by a scan or a newer indexing job.
          if (abort.signal.aborted) this.logger.info('indexing cancelled: cross-file findings consider open files only until "Hazard Lens: Scan Workspace" runs');
          return;
        }
      }
    } finally {
      progress.done();
    }
  }

  /** `hazardLens.scanWorkspace`: a scan already running is cancelled in favour of this one. */
  run(token?: CancellationToken): Promise<ScanSummary> {
    const scan = this.scan(token);
    this.scanning = scan;
    const clear = () => {
      if (this.scanning === scan) this.scanning = undefined;
    };
    void scan.then(clear, clear);
    return scan;
  }

  private async scan(token?: CancellationToken): Promise<ScanSummary> {
    const generation = ++this.scanGeneration;
    // Background indexing stops; this scan indexes every folder anyway.
    ++this.indexGeneration;
    this.index.cancelAll();
    const summary: ScanSummary = { files: 0, findings: 0, skipped: 0, cancelled: false };
    this.index.syncFolders();
    const folders = this.folders.list();
    if (folders.length === 0) return { ...summary, error: 'no workspace folder is open' };

    const abort = new AbortController();
    const cancelRequest = token?.onCancellationRequested(() => abort.abort());
    const progress = new WorkspaceProgress(this.connection, this.logger, 'Hazard Lens: scanning the workspace', 0, () => abort.abort());
    progress.report(0, 'listing files');
    await progress.ready;
    this.publisher.setScanning(true);
    try {
      for (let i = 0; i < folders.length; i++) {
        const folder = folders[i];
        const outcome = await this.index.buildFolder(folder, {
          forceRead: true,
          progress,
          label: folders.length > 1 ? ` in ${folder.name}` : '',
          span: [i / folders.length, (i + 1) / folders.length],
          signal: abort.signal,
        });
        summary.files += outcome.files;
        summary.skipped += outcome.skipped;
        if (outcome.cancelled || generation !== this.scanGeneration) {
          summary.cancelled = true;
          break;
        }
      }
    } catch (err) {
      this.logger.error('the workspace scan failed', err);
      showMessage(this.connection, 'error', `Hazard Lens: the workspace scan failed: ${err instanceof Error ? err.message : String(err)}`, this.logger);
      return { ...summary, error: describeError(err) };
    } finally {
      cancelRequest?.dispose();
      progress.done();
      if (generation === this.scanGeneration) this.publisher.setScanning(false);
    }

    // A cancelled scan leaves the previous results as they were (a folder whose index is
    // incomplete keeps its previous one).
    if (!summary.cancelled) {
      const results = await Promise.all(folders.map((f) => this.evaluator.schedule(f.uri, { republish: true })));
      for (const r of results) summary.findings += r.findings;
    }
    this.logger.info(
      `scan ${summary.cancelled ? 'cancelled' : 'finished'}: ${summary.files} files analysed, ${summary.skipped} skipped, ${summary.findings} findings`,
    );
    return summary;
  }
}
