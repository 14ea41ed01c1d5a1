/**
 * Where things are in source text: languages, positions, ranges and locations. The
 * vocabulary every layer shares, from the parser up; plain serialisable data with no
 * tree-sitter or LSP types, so results can be cached on disk, sent between worker threads
 * and used by the CLI unchanged.
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
