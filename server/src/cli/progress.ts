/**
 * A one-line progress indicator on stderr ("hazard-lens: 120/3400 files"), rewritten in
 * place. Used only when stderr is a terminal; messages printed meanwhile clear it first.
 */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressLine {
  private shown = false;
  private lastDraw = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly enabled: boolean,
    private readonly intervalMs = 80,
  ) {}

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < total && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const width = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 80;
    const text = `hazard-lens: ${done}/${total} files`.slice(0, Math.max(10, width - 1));
    this.stream.write(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  /** Removes the line so that a message can be printed in its place. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
