/**
 * Where the WSGI analysis may look, read from the text alone: the quick check that rules a file
 * out without a tree walk, the positions of each shape's tokens, and the functions whose text
 * ranges hold them (the only ones the shapes are checked in).
 */
import type { Node, Tree } from '../../parsing/parser';
import { ENVIRON_BUILDER, ENVIRON_NAMES, FILE_WRAPPER_KEY, ITER_CALL, ITERABLE_CLASS, WSGI_SHAPE_TOKENS } from '../../knowledge/python-wsgi';
import { anyIn, positionsOf } from '../../text/positions';
import { isWordCode } from '../../text/char-codes';

/**
 * Cheap text test: without every token of at least one shape (see `WSGI_SHAPE_TOKENS`) no shape
 * can match. The functions to look at are then chosen the same way, by the tokens inside
 * their text ranges (see `Tokens`).
 */
export function mayApply(text: string): boolean {
  return QUICK_CHECK.some((all) => all.every((t) => text.includes(t)));
}

/** Whether a text holding every token of `a` holds every token of `b` (each of `b`'s is inside one of `a`'s). */
function implies(a: readonly string[], b: readonly string[]): boolean {
  return b.every((o) => a.some((t) => t.includes(o)));
}

/**
 * {@link WSGI_SHAPE_TOKENS} without the entries that imply a weaker one: a text holding
 * `environ` also holds `env`, so `[env]` alone answers for every environ name (one scan of the
 * text instead of five). Of entries that imply each other, the first stays.
 */
const QUICK_CHECK: readonly (readonly string[])[] = WSGI_SHAPE_TOKENS.filter(
  (all, i) => !WSGI_SHAPE_TOKENS.some((other, j) => j !== i && implies(all, other) && (!implies(other, all) || j < i)),
);

/**
 * An environ name as a whole word (not inside a longer ASCII identifier; next to a non-ASCII
 * letter it still counts, which only adds candidates). One regular expression scan: much faster
 * than an `indexOf` loop per name for such short names (used when no name is inside all others).
 */
const ENVIRON_WORD = new RegExp(
  `(?<![A-Za-z0-9_])(?:${[...ENVIRON_NAMES]
    .sort((a, b) => b.length - a.length)
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|')})(?![A-Za-z0-9_])`,
  'g',
);

/**
 * The shortest environ name when every other holds it (`env`): one `indexOf` scan for it, each
 * hit widened to the whole ASCII identifier around it, finds the same words as
 * {@link ENVIRON_WORD} without trying the pattern at every offset of the text.
 */
const ENVIRON_CORE: string | undefined = (() => {
  const shortest = [...ENVIRON_NAMES].sort((a, b) => a.length - b.length)[0];
  return shortest && /^\w+$/.test(shortest) && [...ENVIRON_NAMES].every((n) => n.includes(shortest)) ? shortest : undefined;
})();

/** The longest environ name: a longer identifier is none. */
const MAX_ENVIRON_NAME = Math.max(...[...ENVIRON_NAMES].map((n) => n.length));

/** Offsets (ascending) of the environ names standing as whole identifiers in `text`: the matches of {@link ENVIRON_WORD}. */
export function environWords(text: string): number[] {
  const out: number[] = [];
  if (ENVIRON_CORE === undefined) {
    for (const m of text.matchAll(ENVIRON_WORD)) out.push(m.index);
    return out;
  }
  for (let i = text.indexOf(ENVIRON_CORE); i >= 0; ) {
    let start = i;
    while (start > 0 && isWordCode(text.charCodeAt(start - 1))) start--;
    let end = i + ENVIRON_CORE.length;
    while (end < text.length && isWordCode(text.charCodeAt(end))) end++;
    if (end - start <= MAX_ENVIRON_NAME && ENVIRON_NAMES.has(text.slice(start, end))) out.push(start);
    // (The identifier holds no other name: the next one starts after it.)
    i = text.indexOf(ENVIRON_CORE, end);
  }
  return out;
}

/** A call of an environ builder (`ENVIRON_BUILDER`, e.g. `make_environ(`), as a whole word. */
const ENVIRON_BUILDER_CALL = new RegExp(`(?<![A-Za-z0-9_])${ENVIRON_BUILDER.source.replace(/^\^|\$$/g, '')}(?=\\s*\\()`, 'g');

/**
 * Token positions of a file, for selecting functions by their text range: an identifier, a
 * string or a keyword of a function's own scope lies inside the function's range, so a
 * function whose range holds none of a shape's tokens cannot show that shape (a range holding
 * one only makes the function a candidate; the checks below decide).
 */
export class Tokens {
  readonly wrapKey: number[];
  readonly environ: number[];
  readonly yields: number[];
  /** `close`, when the text holds a `yield` or an `iter(` that it completes. */
  readonly closes: number[];
  readonly iters: number[];
  /** Whether an iterable class may forward close() under a truthiness test (`__iter__` and `close`). */
  readonly iterableClasses: boolean;

  constructor(text: string) {
    this.wrapKey = positionsOf(text, FILE_WRAPPER_KEY);
    this.environ = environWords(text);
    // `self.make_environ(request)` builds the environ argument of an application call.
    if (text.includes('_environ')) {
      for (const m of text.matchAll(ENVIRON_BUILDER_CALL)) this.environ.push(m.index);
      this.environ.sort((a, b) => a - b);
    }
    // A generator that closes after its loop needs both `yield` and `close`; a close looked up
    // on an iterator needs `iter(` and `close`.
    const closes = text.includes('yield') || text.includes(ITER_CALL) ? positionsOf(text, 'close') : [];
    this.yields = closes.length > 0 ? positionsOf(text, 'yield') : [];
    this.iters = closes.length > 0 ? positionsOf(text, ITER_CALL) : [];
    this.closes = this.yields.length > 0 || this.iters.length > 0 ? closes : [];
    this.iterableClasses = text.includes(ITERABLE_CLASS) && text.includes('close');
  }
}

/**
 * The functions whose text range holds the tokens of a shape, in document order, with the
 * shapes each may show. The functions around a position are the function definitions among
 * the ancestors of the smallest node at it, so only the token positions are looked up, not
 * every function of the file.
 */
export function candidateFunctions(tree: Tree, tokens: Tokens): { fn: Node; wrap: boolean; app: boolean; gen: boolean; derived: boolean }[] {
  type Candidate = { fn: Node; end: number; wrap: boolean; app: boolean; yields: boolean; gen: boolean; iters: boolean; derived: boolean };
  const byId = new Map<number, Candidate>();
  const root = tree.rootNode;
  const mark = (positions: readonly number[], flag: 'wrap' | 'app' | 'yields' | 'iters') => {
    for (const p of positions) {
      for (let n: Node | null = root.descendantForIndex(p); n; n = n.parent) {
        if (n.type !== 'function_definition') continue;
        let c = byId.get(n.id);
        if (!c) byId.set(n.id, (c = { fn: n, end: n.endIndex, wrap: false, app: false, yields: false, gen: false, iters: false, derived: false }));
        // The enclosing functions were marked by an earlier position inside this one.
        if (c[flag]) break;
        c[flag] = true;
      }
    }
  };
  mark(tokens.wrapKey, 'wrap');
  mark(tokens.environ, 'app');
  mark(tokens.yields, 'yields');
  mark(tokens.iters, 'iters');
  for (const c of byId.values()) {
    const closes = (c.yields || c.iters) && anyIn(tokens.closes, c.fn.startIndex, c.end);
    c.gen = c.yields && closes;
    c.derived = c.iters && closes;
  }
  return [...byId.values()].filter((c) => c.wrap || c.app || c.gen || c.derived).sort((a, b) => a.fn.startIndex - b.fn.startIndex);
}
