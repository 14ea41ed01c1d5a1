/**
 * Server-initiated `window/workDoneProgress` for long workspace jobs (indexing, scanning):
 * cancellable, throttled, and optionally shown only once the job has run for a while, so a
 * small workspace is indexed without a progress bar flashing by.
 */
import type { Connection, WorkDoneProgressServerReporter } from 'vscode-languageserver';
import { fireAndForget, type Logger } from './logger';

/** Minimum time between two reports; a job over small files would flood the pipe. */
const REPORT_INTERVAL_MS = 100;

export interface ProgressSink {
  /** Fraction done (0..1) and a message such as "120/3400 files". */
  report(fraction: number, message: string, force?: boolean): void;
}

export class WorkspaceProgress implements ProgressSink {
  private reporter: WorkDoneProgressServerReporter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private lastReport = 0;
  private latest = { percentage: 0, message: '' };
  private cancelSubscription: { dispose(): void } | undefined;
  /** Settles once the progress was created (at once for a delayed progress not created yet). */
  readonly ready: Promise<void>;

  /**
   * @param delayMs the progress is created only when the job still runs after this delay (0: at once)
   * @param onCancel called when the user cancels the progress
   */
  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
    private readonly title: string,
    delayMs: number,
    private readonly onCancel: () => void,
  ) {
    if (delayMs <= 0) this.ready = this.create();
    else {
      this.timer = setTimeout(() => fireAndForget(this.create(), this.logger, `creating the progress "${this.title}"`), delayMs);
      this.ready = Promise.resolve();
    }
  }

  report(fraction: number, message: string, force = false): void {
    const percentage = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    this.latest = { percentage, message };
    const now = Date.now();
    if (!this.reporter || (!force && now - this.lastReport < REPORT_INTERVAL_MS)) return;
    this.lastReport = now;
    this.reporter.report(percentage, message);
  }

  done(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.cancelSubscription?.dispose();
    this.cancelSubscription = undefined;
    this.reporter?.done();
    this.reporter = undefined;
  }

  private async create(): Promise<void> {
    this.timer = undefined;
    if (this.finished) return;
    let reporter: WorkDoneProgressServerReporter;
    try {
      reporter = await this.connection.window.createWorkDoneProgress();
    } catch (err) {
      // No progress is no reason to fail the job.
      this.logger.warn(`could not create the progress "${this.title}": ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    // The job may have ended while the client was asked for a token.
    if (this.finished) {
      reporter.begin(this.title, 100, undefined, false);
      reporter.done();
      return;
    }
    this.reporter = reporter;
    this.cancelSubscription = reporter.token.onCancellationRequested(() => this.onCancel());
    reporter.begin(this.title, this.latest.percentage, this.latest.message || undefined, true);
    this.lastReport = Date.now();
  }
}
