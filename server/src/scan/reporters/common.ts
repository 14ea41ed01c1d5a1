/**
 * What every report format shares: the product's identity, display paths, counts.
 * Findings carry absolute paths inside the engine; reports show them relative to `cwd`.
 */
import * as path from 'node:path';
import type { HazardLensConfig } from '../../engine/config';
import { findingFingerprint, type TextOf } from '../../engine/baseline';
import { UNUSED_SUPPRESSION_ID } from '../../engine/engine';
import type { Finding, Severity } from '../../analysis/results';
import { ruleById } from '../../rules/index';
import type { ScanResult } from '../scanner';
import { PARTLY_ANALYSED } from '../../analysis/failures';

export { PRODUCT_COMMAND, PRODUCT_NAME, PRODUCT_URI, PRODUCT_VERSION } from './product';

export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info', 'hint'];

export interface ReportContext {
  /** Directory report paths are relative to (and SARIF's `%SRCROOT%`). */
  cwd: string;
  config: HazardLensConfig;
  /** Add the human summary (text format); off with `--quiet`. */
  summary?: boolean;
  /** The tool version to print; defaults to the package version (tests pin it). */
  version?: string;
  /** The scanned files' text, for finding fingerprints (SARIF, GitLab); without it they hash the rule alone. */
  textOf?: TextOf;
  /** Colour the text format (a terminal that wants it). */
  colors?: Colors;
  /** The scan ran with `--fix`: the summary does not offer `--fix` again. */
  fixRan?: boolean;
}

/** ANSI styling of the text format; identity functions when colour is off. */
export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  cyan(s: string): string;
  green(s: string): string;
}

/** A finding's fingerprint as baselines match it (rule, whitespace-free text of its lines). */
export function fingerprintOf(ctx: ReportContext, f: Finding): string {
  return findingFingerprint(f, ctx.textOf?.(f.path));
}

/** Path for display: relative to cwd with `/` separators; absolute when on another drive. */
export function displayPath(cwd: string, filePath: string): string {
  if (filePath === '') return '';
  const rel = path.relative(cwd, filePath);
  if (rel === '') return '.';
  if (path.isAbsolute(rel)) return filePath.split(path.sep).join('/');
  return rel.split(path.sep).join('/');
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0, hint: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** A short description of a finding's rule, also for the unused-suppression pseudo rule. */
export function ruleSummary(ruleId: string): string {
  if (ruleId === UNUSED_SUPPRESSION_ID) return 'A hazard-lens suppression comment suppresses nothing.';
  return ruleById(ruleId)?.meta.summary ?? ruleId;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a report needs from a scan (only the number of analyses is used). */
export type ReportInput = Pick<ScanResult, 'findings' | 'skipped'> &
  Partial<Pick<ScanResult, 'fixed'>> & { analyses: readonly unknown[]; notes?: readonly { path: string; note: string }[] };

/** The files whose analysis stopped short somewhere (a rule or analyser failed on them), sorted. */
export function partlyAnalysedFiles(input: Pick<ReportInput, 'notes'>): string[] {
  const paths = new Set<string>();
  for (const n of input.notes ?? []) if (n.path && n.note.startsWith(PARTLY_ANALYSED)) paths.add(n.path);
  return [...paths].sort();
}
