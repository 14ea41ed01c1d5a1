/**
 * What the two dependency joiners (`python-dependencies.ts` for site-packages,
 * `node-dependencies.ts` for `node_modules`) are given by the scan: how to analyse one file
 * the way the scan does, the persistent cache their per-package entries live in, and where
 * their notes go.
 */
import type { DiskCache } from '../engine/cache';
import type { FileOutcome } from './file-task';

export interface DependencyJoinOptions {
  /**
   * Analyses one file as the scan does (read, parse, facts). The joiners ask for a whole level
   * of the import closure at once, so a scan with workers analyses it in parallel.
   */
  analyseFile: (file: string) => Promise<FileOutcome>;
  cache?: DiskCache;
  note: (text: string) => void;
}

/** A cache entry of one installed package: an object with a `files` record (the joiners check the records' values themselves). */
export function hasFilesRecord(v: unknown): v is { files: Record<string, unknown> } {
  return !!v && typeof v === 'object' && !!(v as { files?: unknown }).files && typeof (v as { files?: unknown }).files === 'object';
}

/**
 * Starts the analyses of `files` at once (in their order) and gives each one's outcome when
 * asked: the joiners then take the outcomes one by one, in the order a one-at-a-time join
 * would, so the result does not depend on which worker finished first. A failure is reported
 * when its file's outcome is asked for, as before (none goes unhandled in the meantime).
 */
export function startAnalyses(files: readonly string[], analyseFile: (file: string) => Promise<FileOutcome>): Map<string, Promise<FileOutcome>> {
  const started = new Map<string, Promise<FileOutcome>>();
  for (const file of files) {
    if (started.has(file)) continue;
    const outcome = analyseFile(file);
    outcome.catch(() => undefined);
    started.set(file, outcome);
  }
  return started;
}
