/**
 * Reads from the text of a Python file, without walking its nodes, what `flag-values.ts` asks
 * of every file: the attribute names its code assigns and the container keys it stores in
 * attributes (`self.conf["k"] = …`), by offset; and how a function binds one name (a plain
 * `name = value`, or any other way). Strings and comments are blanked first. Where the text is
 * odd, the answer errs towards "assigned" and "bound": `flag-values.ts` only trusts a value
 * nothing may have changed.
 */

import { isSpaceCode, isWordCode } from '../../text/char-codes';

/** The attribute assignments (with how many) and container stores of a body, or of a module's own code. */
export interface ScannedCode {
  /** Attribute names assigned or deleted, with how many times (`x.a = …`; `*`: a computed name through `setattr`, `__dict__`, `vars()`). */
  attributes: Map<string, number>;
  /** Container stores into attributes: the attribute, the key (`#`: a number or slice, `*`: computed), where the target starts and ends. */
  stores: { attr: string; key: string; start: number; end: number }[];
}

/** Whether `text` holds one of a pattern's literal words (a cheap test before a pattern that needs one; one pass for all the words). */
function has(text: string, words: RegExp): boolean {
  return words.test(text);
}

/** The literal words some pattern below needs, each set as one pattern (no `g` flag: `test` keeps no state). */
const WORDS = {
  forDel: /for|del/,
  setattr: /setattr|delattr/,
  dict: /__dict__|vars/,
  mutators: /update|setdefault|pop|clear|__setitem__|__delitem__/,
  for: /for/,
  scopeStatements: /global|nonlocal|del|case/,
  import: /import/,
  lambda: /lambda/,
} as const;

/**
 * The attribute assignments `x.a = …`, `x.a += …`, `x.a: T = …`, `x.a[k] = …`: where the `.`
 * stands, the attribute, and where the subscript's `[` stands (-1 without one). One pass from
 * each `.`, matching what the pattern
 * `\.\s*([A-Za-z_]\w*)\s*(\[[^\]\n]*\])?\s*(?::[^=\n]*)?(?:\*\*|\/\/|<<|>>|[-+*\/%&|^@])?=(?!=)`
 * matched (a match's text, up to its `=`, is not searched again).
 */
function attributeAssignments(code: string): { at: number; attr: string; open: number }[] {
  const out: { at: number; attr: string; open: number }[] = [];
  const n = code.length;
  let dot = code.indexOf('.');
  while (dot >= 0) {
    let end = -1;
    let i = dot + 1;
    while (i < n && isSpaceCode(code.charCodeAt(i))) i++;
    const nameAt = i;
    const first = code.charCodeAt(i);
    let open = -1;
    if ((first >= 97 && first <= 122) || (first >= 65 && first <= 90) || first === 95) {
      i++;
      while (i < n && isWordCode(code.charCodeAt(i))) i++;
      const nameEnd = i;
      while (i < n && isSpaceCode(code.charCodeAt(i))) i++;
      let ok = true;
      if (code.charCodeAt(i) === 91) {
        // `[…]` with no `]` or line feed inside.
        let k = i + 1;
        while (k < n && code.charCodeAt(k) !== 93 && code.charCodeAt(k) !== 10) k++;
        if (k < n && code.charCodeAt(k) === 93) {
          open = i;
          i = k + 1;
          while (i < n && isSpaceCode(code.charCodeAt(i))) i++;
        } else ok = false;
      }
      let eq = -1;
      if (ok && code.charCodeAt(i) === 58) {
        // An annotation: up to the first `=` of the line.
        let k = i + 1;
        while (k < n && code.charCodeAt(k) !== 61 && code.charCodeAt(k) !== 10) k++;
        if (k < n && code.charCodeAt(k) === 61) eq = k;
      } else if (ok) {
        const c = code.charCodeAt(i);
        const d = code.charCodeAt(i + 1);
        if (c === d && (c === 42 || c === 47 || c === 60 || c === 62) && code.charCodeAt(i + 2) === 61) eq = i + 2;
        else if ((c === 45 || c === 43 || c === 42 || c === 47 || c === 37 || c === 38 || c === 124 || c === 94 || c === 64) && d === 61) eq = i + 1;
        else if (c === 61) eq = i;
      }
      if (eq >= 0 && code.charCodeAt(eq + 1) !== 61) {
        end = eq + 1;
        out.push({ at: dot, attr: code.slice(nameAt, nameEnd), open });
      }
    }
    dot = code.indexOf('.', end >= 0 ? end : dot + 1);
  }
  return out;
}
/**
 * The lines that start with a list of targets before their `=` (`self.a, self.b = …`; no call
 * among them, so not `f(a, b=1)`): each as the text from the line's start to that `=` and where
 * it starts. One linear pass anchored on the first `=` of a line, matching what the pattern
 * `^([ \t]*\(?[^=\n(]*?,[^=\n(]*?)(?<![=!<>:])=(?!=)` (multiline) matched: after the line's
 * blanks, at most one `(`, then no `(`, `=` or line feed up to the first `=`, a comma among them,
 * and that `=` neither part of `==`, `!=`, `<=`, `>=`, `:=` nor followed by `=`.
 */
function tupleTargets(code: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  const n = code.length;
  // Where `\n` alone ends lines, a line without a comma cannot match: the search goes straight
  // to the line of the next comma (the lines before it are passed over unread).
  const plainLines = code.indexOf('\r') < 0 && code.indexOf('\u2028') < 0 && code.indexOf('\u2029') < 0;
  let line = 0;
  while (line <= n) {
    if (plainLines) {
      const comma = code.indexOf(',', line);
      if (comma < 0) break;
      line = Math.max(line, code.lastIndexOf('\n', comma) + 1);
    }
    // (`^` of a multiline pattern also starts a line after `\r`, `\u2028` and `\u2029`.)
    let i = line;
    while (i < n && (code.charCodeAt(i) === 32 || code.charCodeAt(i) === 9)) i++;
    if (i < n && code.charCodeAt(i) === 40) i++;
    let comma = false;
    let c = 0;
    for (; i < n; i++) {
      c = code.charCodeAt(i);
      if (c === 61 || c === 10 || c === 40) break;
      if (c === 44) comma = true;
    }
    let next = i;
    if (i < n && c === 61 && comma) {
      const before = code.charCodeAt(i - 1);
      if (before !== 33 && before !== 60 && before !== 62 && before !== 58 && code.charCodeAt(i + 1) !== 61) {
        out.push({ text: code.slice(line, i), at: line });
        next = i + 1;
      }
    }
    // The next line start at or after `next` (a match's text ends at its `=`; a failed line is searched from its start).
    let k = next === i ? line : next;
    if (plainLines) k = k < n ? code.indexOf('\n', k) : -1;
    else {
      for (; k < n; k++) {
        const d = code.charCodeAt(k);
        if (d === 10 || d === 13 || d === 0x2028 || d === 0x2029) break;
      }
    }
    if (k < 0 || k >= n) break;
    line = k + 1;
  }
  return out;
}
/** A plain name before a walrus (group 2) or an assignment sign (group 3: `=`, `+=`, …). */
const ASSIGNED_NAME = /(?<![\w.])([A-Za-z_]\w*)[ \t]*(?:(:=)|((?:\*\*|\/\/|<<|>>|[-+*/%&|^@])?=)(?!=))/g;
/** An annotated assignment statement (`x: int = 5`): group 1, the name. */
const ANNOTATED = /^[ \t]*([A-Za-z_]\w*)[ \t]*:[^=\n]*=(?!=)/gm;
const MUTATORS = /\.\s*([A-Za-z_]\w*)\s*\.\s*(update|setdefault|pop|popitem|clear|__setitem__|__delitem__)\s*\(/g;

const SPACES = ' '.repeat(256);
/** What can open a comment or a string. */
const OPENERS = /[#'"]/g;

/** `n` spaces. */
function spaces(n: number): string {
  return n <= SPACES.length ? SPACES.slice(0, n) : ' '.repeat(n);
}

/** `src` with the insides of strings and comments replaced by spaces (same length, same line breaks; the quotes kept). */
export function blankStrings(src: string, from: number, to: number): string {
  const out: string[] = [];
  let last = from;
  const blank = (a: number, b: number) => {
    out.push(src.slice(last, a));
    const inside = src.slice(a, b);
    out.push(inside.includes('\n') ? inside.replace(/[^\n]+/g, (line) => spaces(line.length)) : spaces(b - a));
    last = b;
  };
  let i = from;
  while (i < to) {
    // Jump to the next `#`, `'` or `"` (everything between is code, kept as it is).
    OPENERS.lastIndex = i;
    const found = OPENERS.exec(src);
    if (!found || found.index >= to) break;
    i = found.index;
    const c = src.charCodeAt(i);
    if (c === 35) {
      // `#` to the end of the line.
      let e = src.indexOf('\n', i);
      if (e < 0 || e > to) e = to;
      blank(i, e);
      i = e;
      continue;
    }
    const q = src[i];
    const triple = src.charCodeAt(i + 1) === c && src.charCodeAt(i + 2) === c;
    const open = i + (triple ? 3 : 1);
    let e = open;
    for (;;) {
      if (triple) {
        e = src.indexOf(q + q + q, e);
        if (e < 0 || e >= to) {
          e = to;
          break;
        }
      } else {
        while (e < to) {
          const d = src.charCodeAt(e);
          if (d === c || d === 10) break;
          e += d === 92 ? 2 : 1;
        }
        if (e >= to) {
          e = to;
          break;
        }
        if (src.charCodeAt(e) === 10) break;
      }
      // An escaped quote does not close the string.
      let backslashes = 0;
      for (let k = e - 1; k >= open && src.charCodeAt(k) === 92; k--) backslashes++;
      if (backslashes % 2 === 0) break;
      e++;
    }
    blank(open, Math.min(e, to));
    i = Math.min(to, e + (e < to && src.charCodeAt(e) !== 10 ? (triple ? 3 : 1) : 0));
  }
  out.push(src.slice(last, to));
  return out.join('');
}

/** The top-level pieces of `text` split at `sep` (outside brackets), with their offsets. */
export function splitTop(text: string, base: number, sep: string): { text: string; start: number }[] {
  const parts: { text: string; start: number }[] = [];
  let depth = 0;
  let begin = 0;
  const s = sep.charCodeAt(0);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) depth = depth > 0 ? depth - 1 : 0;
    else if (depth === 0 && c === s) {
      parts.push({ text: text.slice(begin, i), start: base + begin });
      begin = i + 1;
    }
  }
  parts.push({ text: text.slice(begin), start: base + begin });
  return parts;
}

/** The literal key of a subscript's inside (`"k"` → `k`, a number or slice → `#`), from the original text; undefined when computed. */
function keyOf(original: string): string {
  const s = original.trim();
  const str = /^[rRbBuU]?(['"])(.*)\1$/s.exec(s);
  if (str) return str[2];
  if (/^-?[\d.:\s\-+]*$/.test(s) || /^-?\d/.test(s) || s.includes(':')) return '#';
  return '*';
}


/**
 * `src` with strings and comments blanked as {@link blankStrings} does, and the `skipped`
 * stretches (sorted, disjoint, each a whole statement, such as a definition) all spaces.
 */
function blankedOutside(src: string, skipped: readonly { start: number; end: number }[]): string {
  const out: string[] = [];
  let from = 0;
  for (const s of skipped) {
    if (s.start > from) out.push(blankStrings(src, from, s.start));
    out.push(spaces(s.end - Math.max(from, s.start)));
    from = s.end;
  }
  out.push(blankStrings(src, from, src.length));
  return out.join('');
}

/** The targets of `for … in` and `del …` up to `in` or the end of the line (group 1). */
const FOR_DEL_TARGET = /\b(?:for|del)\s+([^\n]*?)(?:[^\S\r\n\u2028\u2029]+in\b|$)/gm;

export class StatementScan {
  /**
   * The source with strings and comments blanked (computed once per file); the stretches not
   * to scan are all spaces (nothing is read there).
   */
  readonly code: string;

  /**
   * `skipped`: stretches of the file (sorted, disjoint, each a whole statement: the definitions
   * an incremental extraction does not walk) whose writes are not asked for: they are not
   * scanned, and nothing read elsewhere reaches into them.
   */
  constructor(
    private readonly src: string,
    skipped: readonly { start: number; end: number }[] = [],
  ) {
    this.code = skipped.length ? blankedOutside(src, skipped) : blankStrings(src, 0, src.length);
  }

  /**
   * Every attribute assignment and container store of the file, by offset, read with a few
   * patterns over the blanked text (erring towards more):
   * `x.a = …` (also `+=`, annotated, `x.a[k] = …` as a store), targets of tuple assignments,
   * `for … in`, `del`, `with … as x.a`, `setattr`/`delattr`, `__dict__`/`vars()` stores, and
   * container mutators (`x.conf.update(…)`).
   */
  writes(): { at: number; attr?: string; store?: { attr: string; key: string; start: number; end: number } }[] {
    const code = this.code;
    const out: { at: number; attr?: string; store?: { attr: string; key: string; start: number; end: number } }[] = [];
    const attrsIn = (text: string, base: number) => {
      for (const m of text.matchAll(/\.\s*([A-Za-z_]\w*)(\s*\[)?/g)) {
        if (m[2]) {
          const at = base + (m.index ?? 0);
          const open = at + m[0].length - 1;
          const close = this.closing(open + 1);
          out.push({ at, store: { attr: m[1], key: keyOf(this.src.slice(open + 1, close)), start: at + 1, end: close + 1 } });
        } else out.push({ at: base + (m.index ?? 0), attr: m[1] });
      }
    };
    for (const { at, attr, open } of attributeAssignments(code)) {
      if (open >= 0) {
        const close = this.closing(open + 1);
        out.push({ at, store: { attr, key: keyOf(this.src.slice(open + 1, close)), start: at + 1, end: close + 1 } });
      } else out.push({ at, attr });
    }
    for (const m of tupleTargets(code)) attrsIn(m.text, m.at);
    // (Each pattern below runs only where the text holds its literal word.)
    // (Before `in`, whitespace within the line only: `\s+in` tried at every step of the lazy
    // target would run over the whole blank stretch after the line — the skipped definitions —
    // each time. A target that `\s+in` ended at a line break ends there at `$`, the same but
    // for trailing blanks, which hold no attribute.)
    if (has(code, WORDS.forDel)) for (const m of code.matchAll(FOR_DEL_TARGET)) attrsIn(m[1], (m.index ?? 0) + m[0].indexOf(m[1]));
    for (const m of code.matchAll(/\bas\s+[A-Za-z_][\w.]*\.\s*([A-Za-z_]\w*)/g)) out.push({ at: m.index ?? 0, attr: m[1] });
    if (has(code, WORDS.setattr)) for (const m of code.matchAll(/\b(?:setattr|delattr)\s*\(/g)) {
      const argsAt = (m.index ?? 0) + m[0].length;
      const args = splitTop(this.src.slice(argsAt, this.closing(argsAt)), argsAt, ',');
      const name = args[1] ? /^\s*[rRuU]?(['"])([A-Za-z_]\w*)\1\s*$/.exec(args[1].text)?.[2] : undefined;
      out.push({ at: m.index ?? 0, attr: name ?? '*' });
    }
    if (has(code, WORDS.dict)) for (const m of code.matchAll(/__dict__\s*(?:\[|\.\s*(?:update|setdefault)\b)|\bvars\s*\([^)]*\)\s*(?:\[|\.\s*update\b)/g)) out.push({ at: m.index ?? 0, attr: '*' });
    if (has(code, WORDS.mutators)) for (const m of code.matchAll(MUTATORS)) {
      const argsAt = (m.index ?? 0) + m[0].length;
      const keyed = m[2] === 'setdefault' || m[2] === 'pop' || m[2] === '__setitem__' || m[2] === '__delitem__';
      const first = keyed ? splitTop(this.src.slice(argsAt, this.closing(argsAt)), argsAt, ',')[0] : undefined;
      const key = first && /^\s*[rRbBuU]?(['"]).*\1\s*$/s.test(first.text) ? keyOf(first.text) : '*';
      out.push({ at: m.index ?? 0, store: { attr: m[1], key, start: (m.index ?? 0) + 1, end: argsAt - 1 } });
    }
    return out.sort((a, b) => a.at - b.at);
  }

  /**
   * How the code in `[from, to)` (a function's definition) binds names: where the values of
   * plain `name = value` statements start, and the names bound any other way (`+=`, annotated,
   * chained or tuple targets, loops and comprehensions, `as`, walrus, `global`, `nonlocal`,
   * `del`, imports, `case`, nested `def`/`class` names and `lambda` parameters). Read with a few
   * patterns over the blanked text, erring towards "bound".
   */
  bindings(from: number, to: number): { simple: Map<string, number[]>; other: Set<string> } {
    const code = this.code.slice(from, to);
    const simple = new Map<string, number[]>();
    const other = new Set<string>();
    const words = (text: string) => {
      for (const id of text.match(/[A-Za-z_]\w*/g) ?? []) other.add(id);
    };
    for (const m of code.matchAll(ASSIGNED_NAME)) {
      const at = m.index ?? 0;
      const name = m[1];
      // What comes before the name on its line: nothing (a statement), `(`/`,` (a keyword argument, or a tuple target, read below), `=` (a chained target).
      let k = at - 1;
      while (k >= 0 && (code.charCodeAt(k) === 32 || code.charCodeAt(k) === 9)) k--;
      const before = k < 0 ? '\n' : code[k];
      if (m[2]) other.add(name);
      else if (before === '(' || before === ',') continue;
      else if ((before === '\n' || before === ';' || before === ':') && m[3] === '=') {
        const valueAt = at + m[0].length;
        const list = simple.get(name) ?? [];
        list.push(from + valueAt + (/^[ \t]*/.exec(code.slice(valueAt, valueAt + 40))?.[0].length ?? 0));
        simple.set(name, list);
      } else other.add(name);
    }
    for (const m of code.matchAll(ANNOTATED)) other.add(m[1]);
    for (const m of tupleTargets(code)) words(m.text);
    // (Each pattern below runs only where the text holds its literal word.)
    if (has(code, WORDS.for)) for (const m of code.matchAll(/\bfor\s([^\n]*?)\sin\b/g)) words(m[1]);
    for (const m of code.matchAll(/\bas\s+([A-Za-z_]\w*)/g)) other.add(m[1]);
    if (has(code, WORDS.scopeStatements)) for (const m of code.matchAll(/^[ \t]*(?:global|nonlocal|del|case)\b([^\n]*)/gm)) words(m[1]);
    // `import a.b`, `import a as b`, `from m import a, b as c`: the first name of each, or its alias.
    if (has(code, WORDS.import)) for (const m of code.matchAll(/^[ \t]*(?:from[ \t]+\S+[ \t]+)?import\b([^\n]*)/gm)) {
      for (const part of m[1].replace(/[()\\]/g, ' ').split(',')) {
        const named = /^\s*([A-Za-z_]\w*)(?:\.[\w.]*)?(?:\s+as\s+([A-Za-z_]\w*))?/.exec(part);
        if (named) other.add(named[2] ?? named[1]);
      }
    }
    for (const m of code.matchAll(/\b(?:def|class)\s+([A-Za-z_]\w*)/g)) other.add(m[1]);
    if (has(code, WORDS.lambda)) for (const m of code.matchAll(/\blambda\b([^:\n]*)/g)) words(m[1]);
    return { simple, other };
  }

  /** Offset of the `)` closing the call whose arguments start at `at`. */
  private closing(at: number): number {
    const code = this.code;
    let depth = 1;
    for (let i = at; i < code.length; i++) {
      const c = code.charCodeAt(i);
      if (c === 40 || c === 91 || c === 123) depth++;
      else if ((c === 41 || c === 93 || c === 125) && --depth === 0) return i;
    }
    return code.length;
  }
}
