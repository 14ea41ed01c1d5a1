/**
 * The only module that touches tree-sitter (architecture: vscode-anycode `trees.ts`).
 * - the runtime is initialised once, grammars load lazily and are then reused;
 * - compiled queries are cached per grammar and a query that fails to compile is reported
 *   as an error value instead of crashing the caller;
 * - every parse has a work budget (counted, not timed); a parser that traps is replaced;
 *   the caller owns the returned tree and must `delete()` it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Language, Parser, Query, type Node, type Tree, type TreeCursor, type Edit } from 'web-tree-sitter';
import type { LanguageId, Range } from '../text/locations';
import { textForParsing } from '../text/positions';
import { mayBeScript, readHead, readHeadSync, shebangLanguage } from './shebang';

export type { Node, Tree, TreeCursor, Edit, Query };

/**
 * A grammar file under `grammars/`. TSX needs its own grammar; `.h` parses as C; JavaScript
 * parses with the TypeScript grammars (`.jsx` with TSX) and is analysed as `typescript`.
 */
export type GrammarName = 'c' | 'python' | 'typescript' | 'tsx';

const EXTENSIONS: Record<string, { language: LanguageId; grammar: GrammarName }> = {
  '.c': { language: 'c', grammar: 'c' },
  '.h': { language: 'c', grammar: 'c' },
  '.py': { language: 'python', grammar: 'python' },
  '.pyi': { language: 'python', grammar: 'python' },
  '.wsgi': { language: 'python', grammar: 'python' },
  '.ts': { language: 'typescript', grammar: 'typescript' },
  '.mts': { language: 'typescript', grammar: 'typescript' },
  '.cts': { language: 'typescript', grammar: 'typescript' },
  '.tsx': { language: 'typescript', grammar: 'tsx' },
  '.js': { language: 'typescript', grammar: 'typescript' },
  '.mjs': { language: 'typescript', grammar: 'typescript' },
  '.cjs': { language: 'typescript', grammar: 'typescript' },
  '.jsx': { language: 'typescript', grammar: 'tsx' },
};

const SHEBANG_LANGUAGES = {
  python: EXTENSIONS['.py'],
  javascript: EXTENSIONS['.js'],
} as const;

/** File extensions the scanner considers, with the leading dot. */
export const SUPPORTED_EXTENSIONS = Object.keys(EXTENSIONS);

/**
 * Which language and grammar a path is analysed with, or undefined when unsupported. A file
 * without an extension is a script when `head` (its text, or its first bytes) opens with a
 * `#!` line naming Python or Node (`parsing/shebang.ts`).
 */
export function languageForPath(filePath: string, head?: string | Uint8Array): { language: LanguageId; grammar: GrammarName } | undefined {
  const byExtension = EXTENSIONS[path.extname(filePath).toLowerCase()];
  if (byExtension || head === undefined || !mayBeScript(filePath)) return byExtension;
  const lang = shebangLanguage(head);
  return lang ? SHEBANG_LANGUAGES[lang] : undefined;
}

/** {@link languageForPath} for a file on disk: an extensionless one has its first line read (bounded). */
export function languageForFile(filePath: string): { language: LanguageId; grammar: GrammarName } | undefined {
  const byExtension = languageForPath(filePath);
  if (byExtension || !mayBeScript(filePath)) return byExtension;
  const head = readHeadSync(filePath);
  return head ? languageForPath(filePath, head) : undefined;
}

/** Async {@link languageForFile} (the workspace walk). */
export async function languageForFileAsync(filePath: string): Promise<{ language: LanguageId; grammar: GrammarName } | undefined> {
  const byExtension = languageForPath(filePath);
  if (byExtension || !mayBeScript(filePath)) return byExtension;
  const head = await readHead(filePath);
  return head ? languageForPath(filePath, head) : undefined;
}

/**
 * Is a file analysed as `typescript` really JavaScript, where fixes must not write type
 * syntax? Everything but `.ts`/`.tsx`/`.mts`/`.cts`: `.js`/`.mjs`/`.cjs`/`.jsx`, a file
 * without an extension (a `#!` Node script), an editor document with the `javascript`
 * language id under another name. Plain JavaScript is valid TypeScript, so erring this way
 * is safe.
 */
export function isJavaScriptPath(filePath: string): boolean {
  return !/\.[cm]?tsx?$/i.test(filePath);
}

/**
 * The parse budget, counted in tree-sitter's progress checks (one per 100 parser operations),
 * never in time: the same file gets the same verdict on an idle and on a loaded machine.
 * Measured on the bench corpora (python-stdlib, glibc, typescript; 5,700 files), real files
 * need 0.002–0.017 checks per character (about 30 checks per millisecond); the budget is a
 * fixed part (about 0.7 s of work) plus 0.5 per character, 30 times the worst real file, so
 * only pathological input (a grammar's exponential corner) runs out of it.
 */
export const PARSE_BUDGET_FIXED_CHECKS = 20_000;
export const PARSE_BUDGET_CHECKS_PER_CHARACTER = 0.5;

/** The progress checks a text of this length may use before its parse is abandoned. */
export function parseBudgetFor(textLength: number): number {
  return PARSE_BUDGET_FIXED_CHECKS + Math.ceil(PARSE_BUDGET_CHECKS_PER_CHARACTER * textLength);
}

let runtime: Promise<void> | undefined;
const languages = new Map<GrammarName, Promise<Language>>();
const loadedLanguages = new Map<GrammarName, Language>();
const parsers = new Map<GrammarName, Parser>();
const queryCache = new Map<string, Query | Error>();
let parserRestarts = 0;

/**
 * Finds a file that ships next to the bundle (`dist/`) or, when running from source,
 * in the repository (`grammars/`, `node_modules/web-tree-sitter/`).
 */
function locate(relativeCandidates: string[]): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    for (const candidate of relativeCandidates) {
      const full = path.join(dir, candidate);
      if (fs.existsSync(full)) return full;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`Hazard Lens: cannot find ${relativeCandidates.join(' or ')} near ${__dirname}`);
}

/** Directory that holds the pinned `.wasm` grammars. */
export function grammarDirectory(): string {
  return path.dirname(locate([path.join('grammars', 'tree-sitter-c.wasm')]));
}

/**
 * For a short scan in this thread: compile the wasm parser with V8's baseline tier only. The
 * optimising tier re-compiles the parser's hot functions in the background (about 0.2 s of CPU,
 * and the process waits for those jobs at exit), which a scan of a few files never earns back.
 * V8 flags are process-wide, so a caller that may start analysis workers must not ask; it has
 * no effect once the runtime is compiled.
 */
export function preferBaselineWasm(): void {
  if (runtime) return;
  v8.setFlagsFromString('--liftoff-only');
}

function initRuntime(): Promise<void> {
  runtime ??= Parser.init({
    locateFile: (name: string) =>
      locate([path.join('dist', name), name, path.join('node_modules', 'web-tree-sitter', name)]),
  });
  return runtime;
}

/** Loads (once) the grammar; later calls return the same language object. */
export async function loadGrammar(grammar: GrammarName): Promise<Language> {
  await initRuntime();
  let pending = languages.get(grammar);
  if (!pending) {
    // The bytes, not the path: web-tree-sitter reads a path through a dynamic `import()`,
    // which a bundle started from V8's code cache (bin/hazard-lens.js) cannot do.
    const file = path.join(grammarDirectory(), `tree-sitter-${grammar}.wasm`);
    pending = fs.promises.readFile(file).then((bytes) => Language.load(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))).then((lang) => {
      loadedLanguages.set(grammar, lang);
      return lang;
    });
    languages.set(grammar, pending);
  }
  return pending;
}

/** Loads every grammar; the CLI and workers call this once so parsing can stay synchronous. */
export async function loadAllGrammars(): Promise<void> {
  await Promise.all((['c', 'python', 'typescript', 'tsx'] as const).map((g) => loadGrammar(g)));
}

/** The parse used up its budget ({@link parseBudgetFor}) and was abandoned. */
export class ParseBudgetError extends Error {}

/** The grammar trapped on this file twice, with a fresh parser the second time. */
export class ParserCrashError extends Error {}

/**
 * Parses synchronously; the grammar must have been loaded with {@link loadGrammar}.
 * Pass the previous tree (already `edit()`ed) for an incremental re-parse.
 * Throws {@link ParseBudgetError} when the parse uses up its budget (by default
 * {@link parseBudgetFor} the text's length), {@link ParserCrashError} when the grammar traps
 * even with a fresh parser.
 */
export function parseSync(text: string, grammar: GrammarName, oldTree?: Tree | null, budget = parseBudgetFor(text.length)): Tree {
  const language = loadedLanguages.get(grammar);
  if (!language) throw new Error(`Hazard Lens: grammar ${grammar} used before loadGrammar()`);
  try {
    return parseWith(parserFor(grammar, language), text, oldTree, budget);
  } catch (err) {
    if (err instanceof ParseBudgetError) throw err;
    // A trap inside the grammar (an out-of-bounds access in an external scanner) leaves the
    // parser's state corrupt: every later parse with it would fail or, worse, give wrong
    // trees. Throw that parser away and try once more with a fresh one.
    discardParser(grammar);
    try {
      // The old tree of an incremental parse may share the corruption: parse from scratch.
      return parseWith(parserFor(grammar, language), text, null, budget);
    } catch (again) {
      if (again instanceof ParseBudgetError) throw again;
      discardParser(grammar);
      // Not the inner message (a trap, or a tree that does not cover the text): it depends on
      // what the parser did before, and the report must not depend on the order of files.
      throw new ParserCrashError(`the ${grammar} parser crashed on this file; it was restarted for the next file`);
    }
  }
}

/** The reusable parser of a grammar, made on first use. */
function parserFor(grammar: GrammarName, language: Language): Parser {
  let parser = parsers.get(grammar);
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(language);
    parsers.set(grammar, parser);
  }
  return parser;
}

/** Forgets a grammar's parser after a crash; freeing it may trap too, which is ignored on purpose. */
function discardParser(grammar: GrammarName): void {
  const parser = parsers.get(grammar);
  parsers.delete(grammar);
  parserRestarts++;
  try {
    parser?.delete();
  } catch {
    // The parser's memory is what the crash corrupted; not freeing it is the safe choice.
  }
}

function parseWith(parser: Parser, text: string, oldTree: Tree | null | undefined, budget: number): Tree {
  let checks = 0;
  // tree-sitter counts rows at `\n` only; editors (and our positions) also break lines at a
  // lone `\r`; and a NUL would end its input. Same length, so every offset stays valid for the
  // original text.
  const tree = parser.parse(textForParsing(text), oldTree ?? null, {
    // NOTE: the callback's declared return type is void, but returning true cancels.
    progressCallback: (() => ++checks > budget) as unknown as () => void,
  });
  if (!tree) {
    parser.reset();
    throw new ParseBudgetError(`the parser gave up after ${budget} progress checks, far more work than a file of this size needs (a construct the grammar handles in exponential time?)`);
  }
  if (!treeLooksIntact(tree, text)) {
    tree.delete();
    throw new Error('the parser returned a tree that does not cover the text');
  }
  return tree;
}

/**
 * A sound tree's root ends exactly at the end of the text (checked on the test fixtures and
 * on 6,700 files of the bench corpora). A parser whose memory a trap corrupted returns roots
 * that end elsewhere, on impossible rows, or typed `ERROR` without `hasError`: such a tree
 * would silently read as an empty file.
 */
function treeLooksIntact(tree: Tree, text: string): boolean {
  const root = tree.rootNode;
  if (root.endIndex !== text.length || root.endPosition.row > text.length) return false;
  return root.type !== 'ERROR' || root.hasError;
}

/** How many times a crashed parser was thrown away in this process (tests and diagnostics). */
export function parserRestartCount(): number {
  return parserRestarts;
}

/** Parses after making sure the grammar is loaded. */
export async function parse(text: string, grammar: GrammarName, oldTree?: Tree | null, budget?: number): Promise<Tree> {
  await loadGrammar(grammar);
  return parseSync(text, grammar, oldTree, budget);
}

/**
 * Returns the compiled query, compiling it once per grammar. A query that does not compile
 * yields the Error (cached too) so the caller can report it and go on.
 */
export function getQuery(grammar: GrammarName, source: string): Query | Error {
  const key = `${grammar}\u0000${source}`;
  let q = queryCache.get(key);
  if (!q) {
    const language = loadedLanguages.get(grammar);
    if (!language) return new Error(`grammar ${grammar} not loaded`);
    try {
      q = new Query(language, source);
    } catch (err) {
      q = err instanceof Error ? err : new Error(String(err));
    }
    queryCache.set(key, q);
  }
  return q;
}

/** Converts a node's span to an engine range. */
export function nodeRange(node: Node): Range {
  return {
    start: { line: node.startPosition.row, character: node.startPosition.column },
    end: { line: node.endPosition.row, character: node.endPosition.column },
  };
}

/**
 * Visits every node of `tree` (or below and including a node) in pre-order with one cursor, so
 * no node object is made unless `visit` asks the cursor for one. `visit` says whether to go
 * into the node's children, or `'stop'` to end the walk.
 */
export function walkTree(tree: Tree | Node, visit: (cursor: TreeCursor) => boolean | 'stop'): void {
  const cursor = tree.walk();
  try {
    for (;;) {
      const into = visit(cursor);
      if (into === 'stop') return;
      if (into && cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) return;
      }
    }
  } finally {
    cursor.delete();
  }
}

/** Ranges of ERROR and MISSING nodes (tree-sitter recovers; the rest is still analysed). */
export function syntaxErrorRanges(tree: Tree, limit = 100): Range[] {
  const out: Range[] = [];
  if (!tree.rootNode.hasError) return out;
  walkTree(tree, (cursor) => {
    const node = cursor.currentNode;
    if (node.isError || node.isMissing) {
      out.push(nodeRange(node));
      return out.length >= limit ? 'stop' : false;
    }
    return node.hasError;
  });
  return out;
}

/**
 * Converts an LSP-style content change (range + text) into a tree-sitter edit. Lines break at
 * `\n`, `\r\n` and a lone `\r`; an edit next to a `\r` or `\n` is widened by that character,
 * so whether a `\r` is lone never changes outside the edit.
 */
export function editFor(oldText: string, startOffset: number, oldEndOffset: number, newText: string): Edit {
  let start = startOffset;
  let oldEnd = oldEndOffset;
  let inserted = newText;
  if (start > 0 && oldText.charCodeAt(start - 1) === 13) {
    start--;
    inserted = `\r${inserted}`;
  }
  if (oldEnd < oldText.length && oldText.charCodeAt(oldEnd) === 10) {
    oldEnd++;
    inserted = `${inserted}\n`;
  }
  const newEnd = start + inserted.length;
  // The text before the edit is read once; the ends are counted on from its start. The new end
  // is counted over the insertion and one character after it (a `\r` at the end of the
  // insertion is lone unless that character is `\n`).
  const startPosition = pointFrom(oldText, 0, { row: 0, column: 0 }, start);
  return {
    startIndex: start,
    oldEndIndex: oldEnd,
    newEndIndex: newEnd,
    startPosition,
    oldEndPosition: pointFrom(oldText, start, startPosition, oldEnd),
    newEndPosition: pointFrom(inserted + oldText.slice(oldEnd, oldEnd + 1), 0, startPosition, inserted.length),
  } as Edit;
}

/**
 * Row and column of `offset` in `text` as the parser counts them (every `\n`, and every lone
 * `\r`), counted on from `from`, which stands at the known point `at` (`from <= offset`).
 */
function pointFrom(text: string, from: number, at: { row: number; column: number }, offset: number): { row: number; column: number } {
  let row = at.row;
  let lineStart = from - at.column;
  for (let i = from; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      row++;
      lineStart = i + 1;
    }
  }
  return { row, column: offset - lineStart };
}
