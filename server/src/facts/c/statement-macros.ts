/**
 * Statement-like macros. A macro used as a statement of its own, without a semicolon, on a
 * line by itself (`BEGIN_SECTION`, a portability hook `#define`d to nothing on most systems)
 * is read by tree-sitter as the type of whatever follows: `HOOK if (pid == 0) {...}` becomes
 * a nested function named `if`, and the fork test, the child region and every call in it
 * are lost. This finds such macros and blanks their lines (spaces, so every position stays
 * the same) for a second parse that the fact walk reads instead.
 */
import { parseSync, type Node, type Tree } from '../../parsing/parser';
import { anyIn, positionsOf } from '../../text/positions';
import { functionDefinitionsWhere } from './source-text';

/** A line holding only a macro-like name (capitals), maybe with a comment after it. */
const BARE_NAME_LINE = /^[ \t]*([A-Z][A-Z0-9_]{2,})[ \t]*(?:\/\*.*?\*\/[ \t]*|\/\/.*)?$/gm;

/** `#define NAME` with an empty body (an object-like macro that expands to nothing). */
const EMPTY_DEFINE = /^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]*(?:\/\*.*?\*\/[ \t]*|\/\/.*)?$/gm;

/** Statement keywords tree-sitter takes for a function's name after a stray type name. */
const STATEMENT_KEYWORDS = new Set(['if', 'while', 'for', 'switch', 'do', 'return']);

/**
 * Names used as statement macros: the type of a function definition nested in a block whose
 * "name" is a statement keyword (the misparse above), and names the file itself defines as
 * empty. Only names standing alone on a line are kept.
 */
function statementMacroNames(tree: Tree, text: string, bare: ReadonlySet<string>): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(EMPTY_DEFINE)) if (bare.has(m[1])) names.add(m[1]);
  // Such a definition's type is one of the bare names: only definitions holding one are read.
  const positions = [...bare].flatMap((name) => positionsOf(text, name)).sort((x, y) => x - y);
  for (const def of functionDefinitionsWhere(tree.rootNode, (start, end) => anyIn(positions, start, end))) {
    if (!insideBlock(def)) continue;
    const type = def.childForFieldName('type');
    const declarator = def.childForFieldName('declarator');
    const name = declarator?.type === 'function_declarator' ? declarator.childForFieldName('declarator') : null;
    if (type?.type === 'type_identifier' && name && STATEMENT_KEYWORDS.has(name.text) && bare.has(type.text)) names.add(type.text);
  }
  return names;
}

function insideBlock(node: Node): boolean {
  for (let p = node.parent; p; p = p.parent) if (p.type === 'compound_statement') return true;
  return false;
}

/**
 * The file's text with its statement-macro lines blanked, or null when it has none. `tree`
 * is the parse of `text`.
 */
export function blankStatementMacros(tree: Tree, text: string): string | null {
  const bare = new Set<string>();
  for (const m of text.matchAll(BARE_NAME_LINE)) bare.add(m[1]);
  if (bare.size === 0) return null;
  const names = statementMacroNames(tree, text, bare);
  if (names.size === 0) return null;
  let changed = false;
  const blanked = text.replace(BARE_NAME_LINE, (line: string, name: string) => {
    if (!names.has(name)) return line;
    changed = true;
    const at = line.indexOf(name);
    return line.slice(0, at) + ' '.repeat(name.length) + line.slice(at + name.length);
  });
  return changed ? blanked : null;
}

/**
 * The tree the C fact walk should read: a second parse with the statement macros blanked when
 * the file has any (the caller deletes it), else null. A parse that fails keeps the first one.
 */
export function reparseWithoutStatementMacros(tree: Tree, text: string): { tree: Tree; text: string } | null {
  const blanked = blankStatementMacros(tree, text);
  if (blanked === null) return null;
  try {
    return { tree: parseSync(blanked, 'c'), text: blanked };
  } catch {
    return null;
  }
}
