/**
 * What analysis produces: findings with their evidence, suppression comments, and the
 * per-file analysis record (facts, local findings, syntax errors) that the engine caches by
 * content hash and the program model links across files. Plain serialisable data.
 */
import type { ProgramFact } from '../facts/types';
import type { FileHandleSummary } from './summaries';
import type { Fix } from '../text/edits';
import type { LanguageId, Range, RelatedLocation } from '../text/locations';

export type Severity = 'error' | 'warning' | 'info' | 'hint';
export type SeveritySetting = Severity | 'off';

export const SEVERITY_ORDER: Record<Severity, number> = { hint: 0, info: 1, warning: 2, error: 3 };

export interface Finding {
  ruleId: string;
  path: string;
  range: Range;
  /** One line that stands alone (no "see above"). */
  message: string;
  severity: Severity;
  /** Evidence chain, in order. */
  related: RelatedLocation[];
  fixes: Fix[];
}

/** A suppression comment found on a comment node of the tree. */
export interface Suppression {
  /** `line`: applies to the next line that holds code; `file`: to the whole file. */
  scope: 'line' | 'file';
  ruleIds: string[];
  /** Range of the comment itself (reported when unused). */
  range: Range;
  /** For `line` scope: the zero-based line it covers. */
  targetLine: number;
}

/** Per-file result of the language front end; cached by content hash. */
export interface FileAnalysis {
  path: string;
  language: LanguageId;
  contentHash: string;
  /** Ranges of ERROR/MISSING nodes; analysis still ran on the rest of the file. */
  syntaxErrors: Range[];
  suppressions: Suppression[];
  /** Findings of rules that only need this file (computed with the tree at hand). */
  localFindings: Finding[];
  /** What this file contributes to the program model (see `facts/types.ts`). */
  facts: ProgramFact[];
  /** Handle summaries for other files, and this file's pending leaks (absent when empty). */
  handleSummary?: FileHandleSummary;
  /** Problems met while analysing (a rule or analyser that failed, ...): reported, never thrown. */
  notes: string[];
  /**
   * Why the file could not be parsed at all (over the parse budget, the parser crashed); the
   * analysis is then empty and a scan reports the file as not analysed, never as clean.
   */
  notAnalysed?: string;
}
