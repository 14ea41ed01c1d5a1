/**
 * The workspace scanner. One scanner, many reporters: the CLI wraps it in a terminal
 * progress bar, the language server in `window/workDoneProgress`, the tests in a collecting
 * reporter. It never prints: everything worth telling goes through {@link ScanReporter}.
 *
 * Steps: discover files (`walk.ts`: ignore files, excludes, symbolic links), read each one
 * (`read.ts`: size limit, binary and encoding checks), analyse it (`analyzeText`), optionally
 * apply safe fixes and write the file back, then evaluate the program-level rules,
 * severities and suppressions over every analysis at once (`evaluate`).
 */
import * as path from 'node:path';
import type { HazardLensConfig } from '../engine/config';
import { analyzeText } from '../engine/analyze';
import { evaluate } from '../engine/engine';
import { chooseFix, fixAll } from '../engine/fixes';
import type { FileAnalysis, Finding } from '../engine/types';
import { loadAllGrammars } from '../parsing/parser';
import { collectProjectFiles, readProjectFile, yielder } from './project-files';
import { readSourceFile, writeSourceFile } from './read';
import { discoverFiles } from './walk';

export interface ScanReporter {
  /** Called once the file list is known. */
  onStart?(total: number): void;
  /** Called after each file was analysed (or skipped); `done` counts both. */
  onProgress?(done: number, total: number, path: string): void;
  /** A file that was not analysed, with a reason a person understands. */
  onSkip?(path: string, reason: string): void;
  /**
   * Something worth telling about a file that was analysed (a parse time-out, a failing rule).
   * `path` is the empty string for notes about the whole program (a program-level rule failed).
   */
  onNote?(path: string, note: string): void;
  /** With `fix`: fixes were applied to this file and it was written back. */
  onFixed?(path: string, applied: number): void;
}

export interface ScanOptions {
  /** Files or directories; directories are walked. Absolute, or relative to `cwd`. Empty: `cwd`. */
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
  /**
   * Directory the `exclude` / `extraExcludes` patterns are relative to (the config file's
   * directory, the workspace folder). Default: `cwd`.
   */
  excludeBase?: string;
  /**
   * Apply `.gitignore` and exclude patterns to paths named in `paths` too. Default false:
   * a file or directory named explicitly is analysed even when a pattern matches it.
   */
  forceExclude?: boolean;
  /**
   * Apply safe fixes (to a fixpoint, per file) and write the files back before analysing
   * them. Files held in `overlay` are never written. Default false.
   */
  fix?: boolean;
  /** Parse time limit per file, in milliseconds (the parser's default otherwise). */
  parseTimeoutMs?: number;
}

export interface ScanResult {
  /** Analyses of every analysed file (absolute paths). */
  analyses: FileAnalysis[];
  /** Findings after configuration and suppressions, sorted. Empty when cancelled. */
  findings: Finding[];
  /** Sorted by path. */
  skipped: { path: string; reason: string }[];
  cancelled: boolean;
  /** With `fix`: files written back and how many fixes each received, sorted by path. */
  fixed?: { path: string; applied: number }[];
  /** Notes (rule failures, parse time-outs, refused fixes) as reported through `onNote`. */
  notes?: { path: string; note: string }[];
}

function hasSafeFix(analysis: FileAnalysis, config: HazardLensConfig): boolean {
  return evaluate([analysis], config).findings.some((f) => chooseFix(f, false)?.edits.length);
}

/** Scans files and directories and evaluates every rule over what it found. */
export async function scan(options: ScanOptions, reporter: ScanReporter = {}): Promise<ScanResult> {
  const cwd = path.resolve(options.cwd);
  const config = options.config;
  const skipped: { path: string; reason: string }[] = [];
  const notes: { path: string; note: string }[] = [];
  const fixed: { path: string; applied: number }[] = [];
  const analyses: FileAnalysis[] = [];
  const skip = (p: string, reason: string) => {
    skipped.push({ path: p, reason });
    reporter.onSkip?.(p, reason);
  };
  const note = (p: string, text: string) => {
    notes.push({ path: p, note: text });
    reporter.onNote?.(p, text);
  };
  const finish = (cancelled: boolean, findings: Finding[]): ScanResult => {
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    fixed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const result: ScanResult = { analyses, findings, skipped, cancelled, notes };
    if (options.fix) result.fixed = fixed;
    return result;
  };

  await loadAllGrammars();

  const roots = (options.paths.length > 0 ? options.paths : ['.']).map((p) => path.resolve(cwd, p));
  const walk = await discoverFiles({
    roots,
    cwd,
    respectGitignore: options.respectGitignore ?? true,
    excludes: [...config.exclude, ...(options.extraExcludes ?? [])],
    excludeBase: path.resolve(cwd, options.excludeBase ?? cwd),
    forceExclude: options.forceExclude ?? false,
    signal: options.signal,
  });
  for (const s of walk.skipped) skip(s.path, s.reason);
  if (options.signal?.aborted) return finish(true, []);

  const files = walk.files;
  const total = files.length;
  reporter.onStart?.(total);
  const maxBytes = config.maxFileSizeKb * 1024;
  const pause = yielder();
  let done = 0;
  for (const file of files) {
    if (options.signal?.aborted) return finish(true, []);
    const held = options.overlay?.get(file);
    let text: string;
    let bom = false;
    if (held !== undefined) text = held;
    else {
      const read = await readSourceFile(file, maxBytes);
      if (!read.ok) {
        skip(file, read.reason);
        reporter.onProgress?.(++done, total, file);
        continue;
      }
      text = read.text;
      bom = read.bom;
    }
    let analysis = analyzeText(file, text, options.parseTimeoutMs);
    if (analysis && options.fix && held === undefined && hasSafeFix(analysis, config)) {
      const result = fixAll(file, text, { config });
      if (result.refused) note(file, `fixes not applied: ${result.refused}`);
      else if (!result.converged) note(file, `fixes did not settle after ${result.rounds} rounds; the file may need another --fix`);
      if (result.applied > 0 && result.text !== text) {
        try {
          await writeSourceFile(file, result.text, bom);
          fixed.push({ path: file, applied: result.applied });
          reporter.onFixed?.(file, result.applied);
          analysis = analyzeText(file, result.text, options.parseTimeoutMs);
        } catch (err) {
          note(file, `fixes not written: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    if (!analysis) {
      // Discovery only takes supported extensions, so this is a file named explicitly.
      skip(file, 'unsupported file type');
    } else {
      analyses.push(analysis);
      for (const n of analysis.notes) note(file, n);
    }
    reporter.onProgress?.(++done, total, file);
    await pause();
  }

  const dirRoots = roots.filter((r) => walk.files.some((f) => f.startsWith(r + path.sep)));
  const projectFiles = await collectProjectFiles(dirRoots, walk.files, (f) => readProjectFile(f, maxBytes));
  const evaluation = evaluate(analyses, config, { roots: dirRoots, projectFiles });
  for (const n of evaluation.notes) note('', n);
  return finish(false, evaluation.findings);
}
