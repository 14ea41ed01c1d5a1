/**
 * Which parameters a Python function keeps (`unreleased-file` summaries): a helper that
 * stores what it is given in long-lived storage — a container it does not create
 * (`_registry.append(f)`, `OPEN[key] = f`), an object's field (`self.f = f`, `owner.f = f`),
 * or a module global (`global CURRENT; CURRENT = f`) — takes the handle over, so a caller that
 * passes a handle to it is not leaking it. Syntactic and per function: the parameter itself
 * must be the stored value (not something computed from it). Methods count their parameters
 * after `self`/`cls`, as their callers pass them.
 */
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { UsedOnlyParameters } from '../summaries';
import { inSkipped, outside, type SkippedRanges } from './skipped-ranges';
import { isSpaceCode, isWordCode } from '../../text/char-codes';
import { parameterNames } from '../../facts/python/syntax-helpers';

/** Container methods that keep their argument. */
const STORING_METHODS = new Set(['append', 'appendleft', 'add', 'insert', 'extend', 'put', 'put_nowait', 'setdefault', 'register', 'push']);

/**
 * Lines that may store a plain name where it outlives the call: `x.append(name)` (and the
 * other storing methods), `obj.attr = name`, `table[key] = name`, `name = …` under `global`.
 * Group 1 or 2 is the stored name.
 */
const STORE_LINE = new RegExp(`\\.(?:${[...STORING_METHODS].join('|')})\\((?:[^()\\n]*,)?\\s*([A-Za-z_]\\w*)\\s*[,)]|(?:[\\w\\]]\\.[A-Za-z_]\\w*|\\])\\s*=\\s*([A-Za-z_]\\w*)[ \\t]*(?:#.*)?$`, 'gm');

/** {@link STORE_LINE} tried at one offset (sticky): see {@link storeLineMatches}. */
const STORE_AT = new RegExp(STORE_LINE.source, 'my');

/** The start of a storing call as {@link STORE_LINE} spells it, up to its bracket. */
const STORING_CALL = new RegExp(`\\.(?:${[...STORING_METHODS].join('|')})\\(`, 'g');

/**
 * The offsets where a match of {@link STORE_LINE} can start, in order (a superset): each
 * storing call's dot, and for each `=` whose left side, blanks skipped, ends a `x.attr` or a
 * `]`, the start of that (the character before the dot, or the bracket). Only in the stretch
 * `[from, to)`.
 */
function storeLineStarts(text: string, from: number, to: number): number[] {
  const starts: number[] = [];
  const part = from === 0 && to === text.length ? text : text.slice(from, to);
  for (const m of part.matchAll(STORING_CALL)) starts.push(from + m.index);
  for (let eq = text.indexOf('=', from); eq >= 0 && eq < to; eq = text.indexOf('=', eq + 1)) {
    let last = eq - 1;
    while (last >= 0 && isSpaceCode(text.charCodeAt(last))) last--;
    if (last < 0) continue;
    const c = text.charCodeAt(last);
    if (c === 93) {
      starts.push(last);
      continue;
    }
    if (!isWordCode(c)) continue;
    let first = last;
    while (first > 0 && isWordCode(text.charCodeAt(first - 1))) first--;
    const lead = text.charCodeAt(first);
    if (first < 2 || text.charCodeAt(first - 1) !== 46 || (lead >= 48 && lead <= 57)) continue;
    const before = text.charCodeAt(first - 2);
    if (isWordCode(before) || before === 93) starts.push(first - 2);
  }
  return starts.sort((a, b) => a - b);
}

/**
 * The matches of {@link STORE_LINE} over the text, the same as `text.matchAll(STORE_LINE)`:
 * the pattern is tried only where a match can start (a pattern whose alternatives begin with
 * a word character tries every offset of the text), each from where the last match ended.
 */
function* storeLineMatches(text: string, from = 0, to = text.length): Generator<RegExpExecArray> {
  let next = 0;
  for (const at of storeLineStarts(text, from, to)) {
    if (at < next) continue;
    STORE_AT.lastIndex = at;
    const m = STORE_AT.exec(text);
    if (!m) continue;
    yield m;
    next = at + m[0].length;
  }
}

/** `NAME = value` on a line of its own (a module global when the def declares `global NAME`); group 2 is the value. */
const GLOBAL_STORE_LINE = /^[ \t]*[A-Za-z_]\w*[ \t]*=[ \t]*()([A-Za-z_]\w*)[ \t]*(?:#.*)?$/gm;

/**
 * A def other modules can name: its export path (`['track']`, `['Pool', 'adopt']`) and its
 * plain parameter names as callers pass them (a method's `self`/`cls` left out); undefined
 * when other modules cannot name it.
 */
export function exportedSignature(def: Node, exportPathOf: (def: Node) => string[] | undefined): { path: string[]; names: string[] } | undefined {
  const path = exportPathOf(def);
  if (!path) return undefined;
  const names = parameterNames(def);
  return { path, names: path.length === 2 && (names[0] === 'self' || names[0] === 'cls') ? names.slice(1) : names };
}

/** The innermost def around a position (`exportPathOf` then says whether other modules can name it). */
export function enclosingDef(root: Node, index: number): Node | undefined {
  let def: Node | null = root.descendantForIndex(index);
  while (def && def.type !== 'function_definition') def = def.parent;
  return def ?? undefined;
}

/** What a parameter scan keeps per def: the def, its export path and its parameters as callers count them. */
export interface ExportedDefEntry {
  def: Node;
  path: string[];
  names: string[];
}

/**
 * The entry (in `byDef`, by def id) of the innermost def around position `at`, made by `make`
 * the first time that def is met; undefined when no def holds `at` or other modules cannot name it.
 */
export function exportedDefEntry<E extends ExportedDefEntry>(
  root: Node,
  at: number,
  byDef: Map<number, E>,
  exportPathOf: (def: Node) => string[] | undefined,
  make: (entry: ExportedDefEntry) => E,
): E | undefined {
  const def = enclosingDef(root, at);
  if (!def) return undefined;
  let entry = byDef.get(def.id);
  if (!entry) {
    const signature = exportedSignature(def, exportPathOf);
    if (!signature) return undefined;
    byDef.set(def.id, (entry = make({ def, ...signature })));
  }
  return entry;
}

/** Spaces and tabs, the only blanks a `def` header line holds before its bracket. */
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
}

/** Where a line starts for a multiline `^`: the text's start, or after `\n`, `\r`, U+2028 or U+2029. */
function isLineStart(text: string, index: number): boolean {
  if (index === 0) return true;
  const c = text.charCodeAt(index - 1);
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/** `[A-Za-z_]` (`word`: or a digit, `\w`). */
function isNameChar(code: number, word: boolean): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || (word && code >= 48 && code <= 57);
}

/**
 * The `def name(` line whose `def` word is at `word`, if it is one: a match of
 * `^([ \t]*)(?:async[ \t]+)?def[ \t]+[A-Za-z_]\w*[ \t]*\(` (multiline) there, found from the
 * word (a pattern anchored at line starts tries every offset of the text). `at` is the line's
 * start, `indent` its leading blanks, `open` the offset after the bracket.
 */
function defHeaderAt(text: string, word: number): { at: number; indent: string; open: number } | undefined {
  // After the word: blanks, a name, blanks, the bracket.
  let end = word + 3;
  while (end < text.length && isBlank(text.charCodeAt(end))) end++;
  if (end === word + 3 || !isNameChar(text.charCodeAt(end), false)) return undefined;
  end++;
  while (end < text.length && isNameChar(text.charCodeAt(end), true)) end++;
  while (end < text.length && isBlank(text.charCodeAt(end))) end++;
  if (text.charCodeAt(end) !== 40) return undefined;
  // Before it: blanks to the line's start, or blanks, `async` and blanks to it.
  let start = word;
  while (start > 0 && isBlank(text.charCodeAt(start - 1))) start--;
  let indentEnd = word;
  if (!isLineStart(text, start)) {
    if (start === word || start < 5 || !text.startsWith('async', start - 5)) return undefined;
    start -= 5;
    indentEnd = start;
    while (start > 0 && isBlank(text.charCodeAt(start - 1))) start--;
    if (!isLineStart(text, start)) return undefined;
  }
  return { at: start, indent: text.slice(start, indentEnd), open: end + 1 };
}

/** The longest parameter list read (a header that never closes its bracket is read this far). */
const MAX_PARAMETER_LIST = 4096;

/**
 * The text of a parameter list from just after its `(` to the bracket that closes it, brackets
 * in defaults included (`version=(1, 1)`, `key=lambda x: f(g(x))`); brackets in strings count
 * too, which only reads more words as names.
 */
function parameterListText(text: string, from: number): string {
  let depth = 1;
  const end = Math.min(text.length, from + MAX_PARAMETER_LIST);
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) depth++;
    else if ((c === 41 || c === 93 || c === 125) && --depth === 0) return text.slice(from, i);
  }
  return text.slice(from, end);
}

/**
 * A textual pre-check, before any look at the tree: could `name`, at offset `at`, be a
 * parameter of the def around it? The def around it is one of the `def` lines above, each
 * indented less than the one after it and the first less than the line of `at` (nested defs
 * that ended before are indented more and are passed over). `self` and `cls` pass too: the
 * tree decides whether a method's first parameter counts.
 */
export function parameterCheck(text: string): (at: number, name: string) => boolean {
  // Asked by several passes over one file (stored, returned, released and forwarded parameters).
  if (lastCheck?.text === text) return lastCheck.check;
  const check = parameterCheckOf(text);
  lastCheck = { text, check };
  return check;
}

let lastCheck: { text: string; check: (at: number, name: string) => boolean } | undefined;

/** A `def` line as the parameter pre-check reads it. */
interface CheckedHeader {
  /** Offset of its `def` word, of its line's start; its indentation (a tab counts 8). */
  word: number;
  at: number;
  indent: number;
  open: number;
  names?: Set<string>;
  /** The nearest `def` line above indented less (null: none), once known. */
  parent?: CheckedHeader | null;
}

function parameterCheckOf(text: string): (at: number, name: string) => boolean {
  // The `def` lines, read as asked (from the line asked about upwards), once each. (The `def`
  // words never overlap: the same words whichever way they are searched.)
  const headers = new Map<number, CheckedHeader | null>();
  const headerAt = (word: number): CheckedHeader | null => {
    let h = headers.get(word);
    if (h === undefined) {
      const found = defHeaderAt(text, word);
      h = found ? { word, at: found.at, indent: found.indent.replace(/\t/g, '        ').length, open: found.open } : null;
      headers.set(word, h);
    }
    return h;
  };
  /** The nearest `def` line whose `def` word starts at or before `from`. */
  const headerFrom = (from: number): CheckedHeader | null => {
    // (`lastIndexOf` reads a negative start as 0.)
    if (from < 0) return null;
    for (let word = text.lastIndexOf('def', from); word >= 0; word = word > 0 ? text.lastIndexOf('def', word - 1) : -1) {
      const h = headerAt(word);
      if (h) return h;
    }
    return null;
  };
  /** The nearest `def` line above `h` indented less (every line between is indented at least as much as `h`). */
  const parentOf = (h: CheckedHeader): CheckedHeader | null => {
    if (h.parent !== undefined) return h.parent;
    const level: CheckedHeader[] = [h];
    let g = headerFrom(h.word - 1);
    while (g && g.indent >= h.indent) {
      if (g.indent === h.indent) level.push(g);
      g = g.parent !== undefined ? g.parent : headerFrom(g.word - 1);
    }
    for (const same of level) same.parent = g;
    return g;
  };
  const namesOf = (h: CheckedHeader) => {
    if (h.names) return h.names;
    const names = new Set<string>();
    // Every word after a comma, inside a default's brackets too: a generous pre-check.
    for (const part of parameterListText(text, h.open).split(',')) {
      const w = /^[ \t\r\n*]*([A-Za-z_]\w*)/.exec(part);
      if (w) names.add(w[1]);
    }
    return (h.names = names);
  };
  return (at, name) => {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    const indent = /^[ \t]*/.exec(text.slice(lineStart, at))![0].replace(/\t/g, '        ').length;
    // Every def above (its line starting before `at`) indented less than the line so far may
    // hold it (a nested def that ended before the line is indented more than the def that holds
    // both): any of them naming it passes. Those indented as much or more are passed over, with
    // every line between one of them and its parent.
    let within = indent;
    const lineEnd = text.indexOf('\n', at);
    let h = headerFrom(lineEnd < 0 ? text.length : lineEnd);
    while (h && h.at >= at) h = headerFrom(h.word - 1);
    while (h && within > 0) {
      if (h.indent >= within) {
        h = parentOf(h);
        continue;
      }
      if (namesOf(h).has(name)) return true;
      within = h.indent;
      h = parentOf(h);
    }
    return false;
  };
}

/** Is `node` (the stored value) stored by its statement: into a field, an element, a storing call, a declared global? */
function storedBy(value: Node, body: Node): boolean {
  const p = value.parent;
  if (p?.type === 'assignment' && p.childForFieldName('right')?.id === value.id) {
    const left = p.childForFieldName('left');
    if (left?.type === 'attribute' || left?.type === 'subscript') return true;
    if (left?.type === 'identifier') return body.descendantsOfType('global_statement').some((g) => g?.namedChildren.some((c) => c?.text === left.text));
    return false;
  }
  const call = p?.type === 'argument_list' ? p.parent : null;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
  return fn?.type === 'attribute' && STORING_METHODS.has(fn.childForFieldName('attribute')?.text ?? '');
}

/**
 * The module-level functions and methods of module-level classes that keep some of their
 * parameters. `exportPathOf` names a def as other modules reach it (`['track']`, `['Pool', 'adopt']`).
 * Found from the storing lines of the text (one pass), not by walking every def.
 */
export function storedParameters(tree: Tree, text: string, exportPathOf: (def: Node) => string[] | undefined, skip?: SkippedRanges): UsedOnlyParameters[] {
  const byDef = new Map<number, ExportedDefEntry & { stored: Set<string> }>();
  const root = tree.rootNode;
  const isParameter = parameterCheck(text);
  // Only the stretches outside the skipped ranges (what lies in them is not reported), each
  // with its first line whole (the lines are matched whole; a skipped definition ends inside one).
  const lines: RegExpExecArray[] = [];
  // (A store into a module global needs a `global` statement in the same def, so in the same stretch.)
  for (const [from, to] of outside(skip, text.length)) {
    lines.push(...storeLineMatches(text, from, to));
    const lineStart = text.lastIndexOf('\n', from - 1) + 1;
    const part = lineStart === 0 && to === text.length ? text : text.slice(lineStart, to);
    if (!/\bglobal[ \t]/.test(part)) continue;
    for (const m of part.matchAll(GLOBAL_STORE_LINE)) {
      m.index += lineStart;
      lines.push(m);
    }
  }
  for (const m of lines) {
    const name = m[1] || m[2];
    if (!name) continue;
    const at = m.index + m[0].lastIndexOf(name);
    if (!isParameter(at, name) || inSkipped(skip, at)) continue;
    const entry = exportedDefEntry(root, at, byDef, exportPathOf, (e) => ({ ...e, stored: new Set<string>() }));
    if (!entry || !entry.names.includes(name) || entry.stored.has(name)) continue;
    const def = entry.def;
    let value: Node | null = root.descendantForIndex(at, at + name.length);
    while (value && value.type !== 'identifier' && value.startIndex === at) value = value.parent;
    const body = def.childForFieldName('body');
    if (value?.type === 'identifier' && value.text === name && body && storedBy(value, body)) entry.stored.add(name);
  }
  const out: UsedOnlyParameters[] = [];
  // Document order (two passes over the text found them).
  for (const { def, path, names, stored } of [...byDef.values()].sort((a, b) => a.def.startIndex - b.def.startIndex)) {
    if (stored.size === 0) continue;
    const nameNode = def.childForFieldName('name') ?? def;
    out.push({ exportPath: path, functionName: path.join('.'), parameters: names.flatMap((n, i) => (stored.has(n) ? [i] : [])), range: nodeRange(nameNode) });
  }
  return out;
}
