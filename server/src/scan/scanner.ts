/**
 * The workspace scanner (placeholder: the contract is fixed, the implementation lands with
 * the CLI work). One scanner, many reporters: the CLI wraps it in a terminal progress bar,
 * the language server in `window/workDoneProgress`, the tests in a collecting reporter.
 */
import type { HazardLensConfig } from '../engine/config';
import type { FileAnalysis, Finding } from '../engine/types';

export interface ScanReporter {
  /** Called once the file list is known. */
  onStart?(total: number): void;
  /** Called after each file was analysed (or skipped); `done` counts both. */
  onProgress?(done: number, total: number, path: string): void;
  /** A file that was not analysed, with a reason a person understands. */
  onSkip?(path: string, reason: string): void;
  /** Something worth telling about a file that was analysed (a parse time-out, a failing rule). */
  onNote?(path: string, note: string): void;
}

export interface ScanOptions {
  /** Files or directories; directories are walked. Absolute, or relative to `cwd`. */
  paths: string[];
  cwd: string;
  config: HazardLensConfig;
  /** Honour `.gitignore` files (default true). */
  respectGitignore?: boolean;
  /** Extra exclude globs (gitignore syntax), e.g. VS Code's `files.exclude`. */
  extraExcludes?: string[];
  /** Cancels the scan between files. */
  signal?: AbortSignal;
  /** Text of files held in memory (open editor buffers) by absolute path; read from disk otherwise. */
  overlay?: ReadonlyMap<string, string>;
}

export interface ScanResult {
  /** Analyses of every analysed file (absolute paths). */
  analyses: FileAnalysis[];
  /** Findings after configuration and suppressions, sorted. */
  findings: Finding[];
  skipped: { path: string; reason: string }[];
  cancelled: boolean;
}

export async function scan(_options: ScanOptions, _reporter: ScanReporter = {}): Promise<ScanResult> {
  await Promise.resolve();
  throw new Error('scan: not implemented yet');
}
