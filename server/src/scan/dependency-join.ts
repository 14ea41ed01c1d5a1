/**
 * What the two dependency joiners (`python-dependencies.ts` for site-packages,
 * `node-dependencies.ts` for `node_modules`) are given by the scan: how to analyse one file
 * the way the scan does, the persistent cache their per-package entries live in, and where
 * their notes go.
 */
import type { DiskCache } from '../engine/cache';
import type { FileOutcome } from './file-task';

export interface DependencyJoinOptions {
  /** Analyses one file as the scan does (read, parse, facts). */
  analyseFile: (file: string) => Promise<FileOutcome>;
  cache?: DiskCache;
  note: (text: string) => void;
}

/** A cache entry of one installed package: an object with a `files` record (the joiners check the records' values themselves). */
export function hasFilesRecord(v: unknown): v is { files: Record<string, unknown> } {
  return !!v && typeof v === 'object' && !!(v as { files?: unknown }).files && typeof (v as { files?: unknown }).files === 'object';
}
