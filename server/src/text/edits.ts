/**
 * Changes to source text: edits and the fixes that group them. Fact extractors and
 * analyses build them, the engine applies them, the editor and CLI offer them.
 */
import type { Range } from './locations';

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
