/**
 * Failures the per-file analysers catch so that one unexpected shape does not cost a whole
 * file: each is recorded here instead of being swallowed, and the engine turns what a file's
 * analysis recorded into a "partly analysed" note (reported by the CLI in every format and by
 * the language server's output channel). Analysis of one file is synchronous, so the list
 * always belongs to the file being analysed.
 */

const recorded: string[] = [];

/** Notes of a file that could not be fully analysed start with this. */
export const PARTLY_ANALYSED = 'partly analysed: ';

/** Records that `what` failed on the current file (and goes on without its results). */
export function recordAnalysisFailure(what: string, err: unknown): void {
  recorded.push(`${what} failed (${describeFailure(err)})`);
}

/** How many failures are recorded and not yet taken (an incremental analysis reuses nothing from a run that failed somewhere). */
export function pendingAnalysisFailures(): number {
  return recorded.length;
}

/** The failures recorded since the last call, oldest first; the list is emptied. */
export function takeAnalysisFailures(): string[] {
  return recorded.splice(0, recorded.length);
}

/** A failure in a person's words: a stack overflow says which limit the file hit. */
export function describeFailure(err: unknown): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'the code is nested too deeply for this analysis';
  return err instanceof Error ? err.message : String(err);
}
