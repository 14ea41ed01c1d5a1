/**
 * How deeply a text nests, and whether that is beyond what the analyses (and the Python
 * grammar) handle: measured over a whole text, or bounded after an edit from the measure of the
 * text before it (the editor's keystrokes then need no pass over the whole text).
 */
import type { LanguageId } from '../text/locations';

/**
 * Brackets nested deeper than this are not analysed: the analyses walk the syntax tree
 * recursively, and their time grows faster than the nesting. Real code stays far below (the
 * deepest in the bench corpora: 76 levels in the Python standard library's tests, 49 in glibc,
 * 15 in the TypeScript packages); generated or hostile files do not.
 */
export const MAX_BRACKET_NESTING = 256;

/**
 * Python lines indented deeper than this many columns are not parsed: past about 500 nested
 * blocks the Python grammar's indentation scanner writes out of bounds, which can corrupt the
 * parser for later files too. The deepest line in the Python standard library is indented 88
 * columns; a nested block takes at least one.
 */
export const MAX_PYTHON_INDENT_COLUMNS = 256;

/** How deeply a text nests, or (after edits, see {@link nestingAfterEdit}) at most how deeply. */
export interface Nesting {
  /** The deepest bracket nesting; brackets in strings and comments count too, which only errs upward. */
  brackets: number;
  /**
   * Python only (0 otherwise): the deepest indentation of a line that holds more than blanks, in
   * columns, when some line is indented past {@link MAX_PYTHON_INDENT_COLUMNS}; otherwise at most that.
   */
  indentColumns: number;
}

/** Any bracket: a regular expression search passes over the other characters natively, faster than a loop over every character. */
const BRACKET = /[()[\]{}]/g;

/**
 * A line's leading blanks when there are enough of them to reach past
 * {@link MAX_PYTHON_INDENT_COLUMNS} (a tab advances at most 8 columns, so 33 for 256) and the line
 * holds more than blanks. Both `\n` and `\r` end a line here.
 */
const DEEP_INDENT = new RegExp(`(?:^|[\\r\\n])([ \\t]{${Math.floor(MAX_PYTHON_INDENT_COLUMNS / 8) + 1},})[^ \\t\\r\\n]`, 'g');

/** The deepest bracket nesting of the text: an unmatched closing bracket does not go below zero. */
function deepestBrackets(text: string): number {
  let depth = 0;
  let deepest = 0;
  BRACKET.lastIndex = 0;
  // (`test` leaves the match's end in `lastIndex` and makes no match object.)
  while (BRACKET.test(text)) {
    const c = text.charCodeAt(BRACKET.lastIndex - 1);
    if (c === 40 || c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth;
    } else if (depth > 0) depth--;
  }
  return deepest;
}

/** {@link Nesting.indentColumns} of the text (its first line starts at its start). */
function deepestIndentPastBudget(text: string): number {
  let deepest = 0;
  DEEP_INDENT.lastIndex = 0;
  for (let m = DEEP_INDENT.exec(text); m; m = DEEP_INDENT.exec(text)) {
    const blanks = m[1];
    let columns = 0;
    for (let i = 0; i < blanks.length; i++) columns = blanks.charCodeAt(i) === 9 ? columns + 8 - (columns % 8) : columns + 1;
    if (columns > deepest) deepest = columns;
  }
  return deepest;
}

/** How deeply the whole text nests (a search for brackets, and for Python one for deeply indented lines). */
export function nestingOf(text: string, language?: LanguageId): Nesting {
  return { brackets: deepestBrackets(text), indentColumns: language === 'python' ? deepestIndentPastBudget(text) : 0 };
}

/** Why a text that nests so deeply is not analysed, or undefined when it is within the budget. */
export function nestingReason(nesting: Nesting, language?: LanguageId): string | undefined {
  if (nesting.brackets > MAX_BRACKET_NESTING) return `brackets are nested ${nesting.brackets} levels deep, over the ${MAX_BRACKET_NESTING} levels the analyses handle (generated code?)`;
  if (language === 'python' && nesting.indentColumns > MAX_PYTHON_INDENT_COLUMNS) {
    return `a line is indented ${nesting.indentColumns} columns deep, over the ${MAX_PYTHON_INDENT_COLUMNS} columns the Python parser handles safely (generated code?)`;
  }
  return undefined;
}

/** Whether a bound is known and within the budget (a text that nests no deeper may be parsed). */
export function knownWithinBudget(nesting: Nesting | undefined, language?: LanguageId): nesting is Nesting {
  return nesting !== undefined && nestingReason(nesting, language) === undefined;
}

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}

/**
 * At most how deeply `newText` nests, where an edit replaced `removed` at `start` by `inserted`
 * in a text that nested at most as `before` says:
 * - brackets: the running depth (never below zero) goes up by at most one after each opening
 *   bracket inserted and each closing bracket removed, and no other change raises it;
 * - indentation: a line the edit did not touch keeps its own, so only the lines from the one
 *   holding `start` to the one holding the insertion's end are measured.
 * When the bound is over the budget, the text is measured whole ({@link nestingOf}) before
 * anything is refused.
 */
export function nestingAfterEdit(before: Nesting, newText: string, start: number, removed: string, inserted: string, language?: LanguageId): Nesting {
  let raised = 0;
  for (let i = 0; i < inserted.length; i++) {
    const c = inserted.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) raised++;
  }
  for (let i = 0; i < removed.length; i++) {
    const c = removed.charCodeAt(i);
    if (c === 41 || c === 93 || c === 125) raised++;
  }
  let indentColumns = before.indentColumns;
  if (language === 'python') {
    let from = start;
    while (from > 0 && !isLineBreak(newText.charCodeAt(from - 1))) from--;
    let to = start + inserted.length;
    while (to < newText.length && !isLineBreak(newText.charCodeAt(to))) to++;
    indentColumns = Math.max(indentColumns, deepestIndentPastBudget(newText.slice(from, to)));
  }
  return { brackets: before.brackets + raised, indentColumns };
}
