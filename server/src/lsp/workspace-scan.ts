/**
 * `hazardLens.scanWorkspace`: runs the one scanner (scan/scanner.ts) over every workspace
 * folder, wrapped in server-initiated `window/workDoneProgress` ("120/3400 files",
 * cancellable), with open editors' text as the overlay. Diagnostics are published for files
 * that are not open (open documents keep their own, versioned diagnostics); files a previous
 * scan reported on and this one found clean are cleared.
 */
import { readFile } from 'node:fs/promises';
import type { CancellationToken, Connection, Diagnostic } from 'vscode-languageserver';
import { analyzeText, ensureGrammarFor } from '../engine/analyze';
import type { HazardLensConfig } from '../engine/config';
import { evaluate } from '../engine/engine';
import type { Finding } from '../engine/types';
import { scan, type ScanReporter } from '../scan/scanner';
import { toDiagnostics } from './diagnostics';
import type { DocumentStore, OpenDocument } from './documents';
import { describeError, showMessage, type Logger } from './logger';
import { pathToUri } from './paths';
import type { ScanSummary } from './protocol';
import type { Publisher } from './publisher';
import type { Settings } from './settings';
import type { WorkspaceFolders } from './workspace';

/** Minimum time between two progress reports; a scan of small files would flood the pipe. */
const PROGRESS_INTERVAL_MS = 100;

export class WorkspaceScan {
  /** Path → URI of every file the scans published non-empty diagnostics for. */
  private published = new Map<string, string>();
  private current: AbortController | undefined;
  private generation = 0;
  /** Files the last complete scan analysed (so closing one of them keeps its findings visible). */
  private lastAnalysed = new Set<string>();

  constructor(
    private readonly connection: Connection,
    private readonly documents: DocumentStore,
    private readonly settings: Settings,
    private readonly folders: WorkspaceFolders,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
  ) {}

  /** Runs a scan; a scan already running is cancelled in favour of this one. */
  async run(token?: CancellationToken): Promise<ScanSummary> {
    this.current?.abort();
    const abort = new AbortController();
    this.current = abort;
    const generation = ++this.generation;
    const summary: ScanSummary = { files: 0, findings: 0, skipped: 0, cancelled: false };
    const folders = this.folders.list();
    if (folders.length === 0) return { ...summary, error: 'no workspace folder is open' };

    const progress = await this.connection.window.createWorkDoneProgress();
    const cancelRequest = token?.onCancellationRequested(() => abort.abort());
    const cancelProgress = progress.token.onCancellationRequested(() => abort.abort());
    progress.begin('Hazard Lens: scanning the workspace', 0, 'listing files', true);
    this.publisher.setScanning(true);

    const overlay = new Map<string, string>();
    for (const doc of this.documents.all()) if (doc.uri.startsWith('file:')) overlay.set(doc.path, doc.document.getText());

    const byPath = new Map<string, { findings: Finding[]; config: HazardLensConfig }>();
    const analysed = new Set<string>();
    try {
      for (let i = 0; i < folders.length; i++) {
        const folder = folders[i];
        const config = await this.settings.get(folder.uri);
        const extraExcludes = await this.settings.filesExclude(folder.uri);
        let lastReport = 0;
        const label = folders.length > 1 ? ` in ${folder.name}` : '';
        const reporter: ScanReporter = {
          onStart: (total) => progress.report(Math.floor((i / folders.length) * 100), `0/${total} files${label}`),
          onProgress: (done, total) => {
            const now = Date.now();
            if (done < total && now - lastReport < PROGRESS_INTERVAL_MS) return;
            lastReport = now;
            const fraction = total > 0 ? done / total : 1;
            progress.report(Math.min(100, Math.floor(((i + fraction) / folders.length) * 100)), `${done}/${total} files${label}`);
          },
          onSkip: (path, reason) => this.logger.debug(`scan: skipped ${path}: ${reason}`),
          onNote: (path, note) => this.logger.warn(`scan: ${path}: ${note}`),
        };
        const result = await scan(
          { paths: [folder.path], cwd: folder.path, config, respectGitignore: true, extraExcludes, signal: abort.signal, overlay },
          reporter,
        );
        summary.files += result.analyses.length;
        summary.skipped += result.skipped.length;
        for (const a of result.analyses) analysed.add(a.path);
        for (const f of result.findings) {
          let entry = byPath.get(f.path);
          if (!entry) byPath.set(f.path, (entry = { findings: [], config }));
          entry.findings.push(f);
        }
        if (result.cancelled || abort.signal.aborted) {
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
      cancelProgress.dispose();
      progress.done();
      if (this.current === abort) this.current = undefined;
      if (generation === this.generation) this.publisher.setScanning(false);
    }

    // A newer scan started meanwhile: it publishes; this one's results are dropped.
    if (generation !== this.generation) return { ...summary, cancelled: true };
    // The scanner evaluates the rules only over a complete file set (a cancelled scan has no
    // findings), so a cancelled scan leaves the previous results as they were.
    if (!summary.cancelled) {
      this.lastAnalysed = analysed;
      this.publishResults(byPath);
    }
    for (const { findings } of byPath.values()) summary.findings += findings.length;
    this.logger.info(
      `scan ${summary.cancelled ? 'cancelled' : 'finished'}: ${summary.files} files analysed, ${summary.skipped} skipped, ${summary.findings} findings`,
    );
    return summary;
  }

  private publishResults(byPath: Map<string, { findings: Finding[]; config: HazardLensConfig }>): void {
    const open = new Set(this.documents.all().map((d) => d.path));
    const next = new Map<string, string>();
    for (const [path, { findings, config }] of byPath) {
      if (open.has(path)) continue;
      const uri = this.published.get(path) ?? pathToUri(path);
      this.publisher.publish(uri, toDiagnostics(findings, path, uri, config));
      next.set(path, uri);
    }
    // Files reported on last time and clean (or gone, or now excluded) this time.
    for (const [path, uri] of this.published) {
      if (!next.has(path) && !open.has(path)) this.publisher.publish(uri, []);
    }
    this.published = next;
  }

  /** A document opened: from now on its own analysis owns its diagnostics. */
  onOpen(doc: OpenDocument): void {
    const uri = this.published.get(doc.path);
    if (uri === undefined) return;
    this.published.delete(doc.path);
    // Same file under another spelling of its URI: clear the scan's entry before the
    // document's first analysis publishes (that happens after the debounce).
    if (uri !== doc.uri) this.publisher.publish(uri, []);
  }

  /**
   * A document closed: when the last scan covered the file, its findings stay visible,
   * re-computed from the file on disk (the editor's unsaved text is gone).
   */
  async onClose(path: string, uri: string): Promise<void> {
    if (!this.lastAnalysed.has(path) || !uri.startsWith('file:')) return;
    if (!(await ensureGrammarFor(path))) return;
    if (this.documents.all().some((d) => d.path === path)) return;
    const config = await this.settings.get(uri);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return;
    }
    // Re-check: the document may have been re-opened while the file was read.
    if (this.documents.all().some((d) => d.path === path)) return;
    const analysis = analyzeText(path, text);
    if (!analysis) return;
    const findings = evaluate([analysis], config).findings.filter((f) => f.path === path);
    const diagnostics: Diagnostic[] = toDiagnostics(findings, path, uri, config);
    if (diagnostics.length === 0) return;
    this.publisher.publish(uri, diagnostics);
    this.published.set(path, uri);
  }
}
