/**
 * The one place diagnostics leave the server (push model only). Remembers what was last
 * published per URI — for hover, for clearing stale scan results, and for the totals the
 * status bar shows (sent as `hazardLens/status` whenever they change).
 */
import type { Connection, Diagnostic } from 'vscode-languageserver';
import { countFindings } from './diagnostics';
import { fireAndForget, type Logger } from './logger';
import { STATUS_NOTIFICATION, type StatusParams } from './protocol';

export interface Published {
  version?: number;
  diagnostics: Diagnostic[];
}

export class Publisher {
  private readonly published = new Map<string, Published>();
  private lastStatus = '';
  private scanning = false;

  constructor(
    private readonly connection: Connection,
    private readonly logger: Logger,
  ) {}

  publish(uri: string, diagnostics: Diagnostic[], version?: number): void {
    if (diagnostics.length === 0) this.published.delete(uri);
    else this.published.set(uri, { version, diagnostics });
    const sent = this.connection.sendDiagnostics({ uri, version, diagnostics });
    this.lastSent = sent.then(
      () => undefined,
      () => undefined,
    );
    fireAndForget(sent, this.logger, `publishing diagnostics for ${uri}`);
    this.sendStatus();
  }

  /** The last publication's write to the client: settled once it is written (or failed). */
  private lastSent: Promise<void> = Promise.resolve();

  /**
   * Resolves once the last publication is written to the client. The connection writes in
   * later turns of the event loop; work that runs synchronously before then holds the
   * publication back.
   */
  written(): Promise<void> {
    return this.lastSent;
  }

  get(uri: string): Published | undefined {
    return this.published.get(uri);
  }

  uris(): string[] {
    return [...this.published.keys()];
  }

  setScanning(scanning: boolean): void {
    this.scanning = scanning;
    this.sendStatus();
  }

  sendStatus(force = false): void {
    const status: StatusParams = { findings: 0, errors: 0, warnings: 0, files: 0, scanning: this.scanning };
    for (const { diagnostics } of this.published.values()) {
      const c = countFindings(diagnostics);
      status.findings += c.findings;
      status.errors += c.errors;
      status.warnings += c.warnings;
      if (c.findings > 0) status.files++;
    }
    const key = JSON.stringify(status);
    if (!force && key === this.lastStatus) return;
    this.lastStatus = key;
    fireAndForget(this.connection.sendNotification(STATUS_NOTIFICATION, status), this.logger, 'sending the status');
  }
}
