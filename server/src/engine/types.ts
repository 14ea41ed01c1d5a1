/**
 * Plain, serialisable data shared by every layer: facts, findings, fixes.
 * Nothing here may reference tree-sitter objects or LSP types, so results can be
 * cached on disk, sent between worker threads and used by the CLI unchanged.
 */

/** Languages Hazard Lens analyses. TSX is parsed by its own grammar but is TypeScript to the rules. */
export type LanguageId = 'c' | 'python' | 'typescript';

/** Zero-based position; `character` counts UTF-16 code units (LSP's default and tree-sitter's in JS). */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Location {
  /** Workspace-relative or absolute path, as given to the engine. */
  path: string;
  range: Range;
}

/** One step of a finding's evidence chain ("opened here", "leaks on this return"). */
export interface RelatedLocation extends Location {
  message: string;
}

export type Severity = 'error' | 'warning' | 'info' | 'hint';
export type SeveritySetting = Severity | 'off';

export const SEVERITY_ORDER: Record<Severity, number> = { hint: 0, info: 1, warning: 2, error: 3 };

/**
 * Fix applicability, as in the catalog:
 * - `safe`: keeps behaviour; may be applied in bulk (fix-all, `--fix`);
 * - `unsafe`: changes behaviour; applied only when a person picks it;
 * - `display-only`: shown as a suggestion, never applied.
 */
export type FixApplicability = 'safe' | 'unsafe' | 'display-only';

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface Fix {
  title: string;
  applicability: FixApplicability;
  /** Edits against the text the finding was computed from; non-overlapping. */
  edits: TextEdit[];
}

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

import type { ProgramFact } from '../facts/types';

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
  /** Problems met while analysing (parse time-out, ...): reported, never thrown. */
  notes: string[];
}
