/**
 * Reads what a stretch of Python code (a function body, or a module's own code) binds and
 * stores from its text, without walking its nodes: the plain names it binds (and which of
 * them only by a plain `name = value`), the attribute names it assigns, and the container
 * keys it stores in attributes (`self.conf["k"] = …`). Strings and comments are blanked first;
 * nested `def` blocks are left out (they are scanned as their own functions). Where the text
 * is odd, the answer errs towards "bound" and "stored": `flag-values.ts` only trusts a value
 * nothing may have changed.
 */

/** What one stretch of code binds and stores. */
export interface ScannedCode {
  /** Names bound by `name = value` (a single plain target): where each value starts. */
  simple: Map<string, number[]>;
  /** Names bound any other way (tuple targets, `+=`, loops, `as`, imports, `global`, walrus, `del`, `case`). */
  otherBound: Set<string>;
  /** Attribute names assigned or deleted, with how many statements do (`x.a = …`; `*`: a computed name through `setattr`, `__dict__`, `vars()`). */
  attributes: Map<string, number>;
  /** Container stores into attributes: the attribute, the key (`#`: a number or slice, `*`: computed), where the target starts and ends. */
  stores: { attr: string; key: string; start: number; end: number }[];
}

const OPEN = new Set(['(', '[', '{']);
const CLOSE = new Set([')', ']', '}']);
const IDENT = /[A-Za-z_]\w*/g;
const COMPOUND = /^(?:async\s+)?(?:if|elif|else|for|while|with|try|except|finally|def|class|match|case)\b/;
const BINDING_WORD = /^\s*(?:del|import|from|global|nonlocal)\b|;\s*(?:del|import|from|global|nonlocal)\b/;
const MUTATORS = /\.\s*([A-Za-z_]\w*)\s*\.\s*(update|setdefault|pop|popitem|clear|__setitem__|__delitem__)\s*\(/g;

/** `src` with the insides of strings and comments replaced by spaces (same length, same line breaks; the quotes kept). */
export function blankStrings(src: string, from: number, to: number): string {
  const out: string[] = [];
  let last = from;
  const blank = (a: number, b: number) => {
    out.push(src.slice(last, a));
    const inside = src.slice(a, b);
    out.push(inside.includes('\n') ? inside.replace(/[^\n]/g, ' ') : ' '.repeat(b - a));
    last = b;
  };
  let i = from;
  while (i < to) {
    const c = src.charCodeAt(i);
    if (c === 35) {
      // `#` to the end of the line.
      let e = src.indexOf('\n', i);
      if (e < 0 || e > to) e = to;
      blank(i, e);
      i = e;
      continue;
    }
    if (c !== 34 && c !== 39) {
      i++;
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

function addAttribute(out: ScannedCode, name: string): void {
  out.attributes.set(name, (out.attributes.get(name) ?? 0) + 1);
}

export class StatementScan {
  /** The source with strings and comments blanked (computed once per file). */
  readonly code: string;

  constructor(private readonly src: string) {
    this.code = blankStrings(src, 0, src.length);
  }

  /**
   * One pass over the file: what the module's own code (class bodies included) binds and
   * stores, and the same for the body of each `def` whose keyword starts at an offset of
   * `defs` (a nested `def` is its own; a `def` not in `defs` belongs to its enclosing one).
   */
  scanFile<K>(defs: ReadonlyMap<number, K>): { module: ScannedCode; functions: Map<K, ScannedCode>; code: string } {
    const fresh = (): ScannedCode => ({ simple: new Map(), otherBound: new Set(), attributes: new Map(), stores: [] });
    const module = fresh();
    const functions = new Map<K, ScannedCode>();
    /** Open `def` bodies: the header's indentation and where their statements go. */
    const open: { indent: number; out: ScannedCode }[] = [];
    for (const st of this.statements(this.code, 0)) {
      while (open.length && st.indent <= open[open.length - 1].indent) open.pop();
      const out = open.length ? open[open.length - 1].out : module;
      this.statement(st, out, (key) => {
        // A `def` the walk made no scope of (not walked, or only for other platforms): its body is left out.
        let body = key === undefined ? fresh() : functions.get(key);
        if (!body) functions.set(key!, (body = fresh()));
        open.push({ indent: st.indent, out: body });
        return body;
      }, defs);
    }
    return { module, functions, code: this.code };
  }

  /** One logical line: a `def` header opens its body (`enter`), other headers bind, what follows is simple statements. */
  private statement<K>(st: { text: string; start: number; indent: number }, out: ScannedCode, enter: (key: K | undefined) => ScannedCode, defs: ReadonlyMap<number, K>): void {
    let text = st.text;
    let start = st.start;
    const trimmed = text.trimStart();
    const head = COMPOUND.exec(trimmed);
    if (head) {
      const word = head[0].replace(/^async\s+/, '');
      const colon = this.headerEnd(text);
      if (word === 'def') {
        // The function's name is bound where it is defined; its body goes to its own entry.
        const name = /def\s+([A-Za-z_]\w*)/.exec(text)?.[1];
        if (name) out.otherBound.add(name);
        const body = enter(defs.get(start + text.length - trimmed.length));
        if (colon >= 0 && text.slice(colon + 1).trim()) this.simpleStatements(text.slice(colon + 1), start + colon + 1, body);
        return;
      }
      const header = colon < 0 ? text : text.slice(0, colon);
      this.header(word, header, start, out);
      this.calls(header, start, out);
      if (colon < 0) return;
      text = text.slice(colon + 1);
      start += colon + 1;
      if (!text.trim()) return;
    }
    this.simpleStatements(text, start, out);
  }

  private simpleStatements(text: string, start: number, out: ScannedCode): void {
    // (Most statements are calls: no `=` and no binding keyword, nothing to read but the calls.)
    if (text.includes('=') || BINDING_WORD.test(text)) {
      if (text.includes(';')) for (const simple of splitTop(text, start, ';')) this.simpleStatement(simple.text, simple.start, out);
      else this.simpleStatement(text, start, out);
    }
    this.calls(text, start, out);
  }

  /** What expressions bind or store: walrus and comprehension variables, `setattr`, `__dict__`, container mutators. */
  private calls(code: string, from: number, out: ScannedCode): void {
    if (code.includes(':=')) for (const m of code.matchAll(/([A-Za-z_]\w*)\s*:=/g)) out.otherBound.add(m[1]);
    if (code.includes('for')) for (const m of code.matchAll(/\bfor\s+([\w\s,()[\]*.]+?)\s+in\b/g)) for (const id of m[1].match(IDENT) ?? []) out.otherBound.add(id);
    if (code.includes('attr')) {
      for (const m of code.matchAll(/\b(?:setattr|delattr)\s*\(/g)) {
        const argsAt = from + (m.index ?? 0) + m[0].length;
        const args = splitTop(this.src.slice(argsAt, this.closing(argsAt)), argsAt, ',');
        const name = args[1] ? /^\s*[rRuU]?(['"])([A-Za-z_]\w*)\1\s*$/.exec(args[1].text)?.[2] : undefined;
        addAttribute(out, name ?? '*');
      }
    }
    if ((code.includes('__dict__') || code.includes('vars')) && /__dict__\s*(?:\[|\.\s*(?:update|setdefault)\b)|\bvars\s*\([^)]*\)\s*(?:\[|\.\s*update\b)/.test(code)) addAttribute(out, '*');
    if (!/\.\s*(?:update|setdefault|pop|popitem|clear|__setitem__|__delitem__)\s*\(/.test(code)) return;
    for (const m of code.matchAll(MUTATORS)) {
      const argsAt = from + (m.index ?? 0) + m[0].length;
      const keyed = m[2] === 'setdefault' || m[2] === 'pop' || m[2] === '__setitem__' || m[2] === '__delitem__';
      const first = keyed ? splitTop(this.src.slice(argsAt, this.closing(argsAt)), argsAt, ',')[0] : undefined;
      const key = first && /^\s*[rRbBuU]?(['"]).*\1\s*$/s.test(first.text) ? keyOf(first.text) : '*';
      const at = from + (m.index ?? 0);
      out.stores.push({ attr: m[1], key, start: at + 1, end: argsAt - 1 });
    }
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

  /** The logical lines of `code` (brackets and backslashes continue them), with their indentation. */
  private *statements(code: string, base: number): Generator<{ text: string; start: number; indent: number }> {
    let depth = 0;
    let begin = 0;
    const n = code.length;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? code.charCodeAt(i) : 10;
      if (c === 40 || c === 91 || c === 123) depth++;
      else if (c === 41 || c === 93 || c === 125) depth = depth > 0 ? depth - 1 : 0;
      else if (c === 10 && (i === n || (depth === 0 && code.charCodeAt(i - 1) !== 92 && !(code.charCodeAt(i - 1) === 13 && code.charCodeAt(i - 2) === 92)))) {
        let first = begin;
        while (first < i && (code.charCodeAt(first) === 32 || code.charCodeAt(first) === 9 || code.charCodeAt(first) === 13 || code.charCodeAt(first) === 12)) first++;
        if (first < i) {
          // The column of its first character.
          const indent = base + first - (this.src.lastIndexOf('\n', base + first - 1) + 1);
          yield { text: code.slice(begin, i), start: base + begin, indent };
        }
        begin = i + 1;
      }
    }
  }

  /** Where a compound statement's header ends: its top-level `:` (not `:=`, not a slice or a lambda's). */
  private headerEnd(text: string): number {
    if (!text.includes(':')) return -1;
    let depth = 0;
    let lambdas = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 40 || c === 91 || c === 123) depth++;
      else if (c === 41 || c === 93 || c === 125) depth = depth > 0 ? depth - 1 : 0;
      else if (c === 108 && depth === 0 && text.startsWith('lambda', i) && !/\w/.test(text[i - 1] ?? '') && !/\w/.test(text[i + 6] ?? '')) lambdas++;
      else if (c === 58 && depth === 0 && text.charCodeAt(i + 1) !== 61) {
        if (lambdas > 0) lambdas--;
        else return i;
      }
    }
    return -1;
  }

  /** The names a compound statement's header binds. */
  private header(word: string, header: string, start: number, out: ScannedCode): void {
    if (word === 'for') {
      const m = /^\s*(?:async\s+)?for\s+(.*?)\s+in\b/s.exec(header);
      if (m) this.targets(m[1], start + header.indexOf(m[1]), out, false);
    } else if (word === 'case') for (const id of header.match(IDENT) ?? []) out.otherBound.add(id);
    else if (word === 'class') {
      const name = /class\s+([A-Za-z_]\w*)/.exec(header)?.[1];
      if (name) out.otherBound.add(name);
    }
    for (const m of header.matchAll(/\bas\s+([A-Za-z_][\w.]*)/g)) {
      if (m[1].includes('.')) addAttribute(out, m[1].slice(m[1].lastIndexOf('.') + 1));
      else out.otherBound.add(m[1]);
    }
  }

  /** One simple statement: assignments, `del`, imports, `global`/`nonlocal`. */
  private simpleStatement(text: string, start: number, out: ScannedCode): void {
    const t = text.trimStart();
    const lead = start + text.length - t.length;
    const word = /^[A-Za-z_]\w*/.exec(t)?.[0];
    if (word === 'global' || word === 'nonlocal') {
      for (const id of t.slice(word.length).match(IDENT) ?? []) out.otherBound.add(id);
      return;
    }
    if (word === 'import' || (word === 'from' && /\bimport\b/.test(t))) {
      const names = word === 'import' ? t.slice(6) : t.slice(t.search(/\bimport\b/) + 6);
      for (const part of names.replace(/[()]/g, ' ').split(',')) {
        const alias = /\bas\s+([A-Za-z_]\w*)/.exec(part)?.[1];
        const first = part.trim().split(/[\s.]/)[0];
        if (alias) out.otherBound.add(alias);
        else if (first && first !== '*') out.otherBound.add(first);
      }
      return;
    }
    if (word === 'del') {
      this.targets(t.slice(3), lead + 3, out, false);
      return;
    }
    // Assignments: every part before the last top-level `=` is a target (`a = b = value`).
    const eqs = this.assignmentSigns(t);
    if (!eqs.length) return;
    const augmented = eqs.length === 1 && eqs[0].augmented;
    let from = 0;
    for (const eq of eqs) {
      let target = t.slice(from, eq.at);
      // `x: int = 5`: the annotation is no target.
      const colon = this.headerEnd(target);
      if (colon >= 0) target = target.slice(0, colon);
      const valueAt = eq.at + eq.length;
      const plain = /^\s*([A-Za-z_]\w*)\s*$/.exec(target);
      if (plain && !augmented && eqs.length === 1) {
        const value = t.slice(valueAt);
        const list = out.simple.get(plain[1]) ?? [];
        list.push(lead + valueAt + (value.length - value.trimStart().length));
        out.simple.set(plain[1], list);
      } else this.targets(target, lead + from, out, augmented);
      from = valueAt;
    }
  }

  /** The top-level assignment signs of a statement (`=`, `+=`, …; not `==`, `<=`, `:=`, keyword arguments). */
  private assignmentSigns(t: string): { at: number; length: number; augmented: boolean }[] {
    const out: { at: number; length: number; augmented: boolean }[] = [];
    let depth = 0;
    let lambdas = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 40 || c === 91 || c === 123) depth++;
      else if (c === 41 || c === 93 || c === 125) depth = depth > 0 ? depth - 1 : 0;
      else if (c === 108 && depth === 0 && t.startsWith('lambda', i) && !/\w/.test(t[i - 1] ?? '')) lambdas++;
      else if (c === 61 && depth === 0 && lambdas === 0 && t.charCodeAt(i + 1) !== 61) {
        const prev = t[i - 1] ?? '';
        if (prev === '=' || prev === '!' || prev === ':') continue;
        if (prev === '<' || prev === '>') {
          // `<<=`, `>>=` assign; `<=`, `>=` compare.
          if (t[i - 2] === prev) out.push({ at: i - 2, length: 3, augmented: true });
          continue;
        }
        const op = /(\*\*|\/\/|[-+*/%&|^@])$/.exec(t.slice(Math.max(0, i - 2), i));
        if (op) out.push({ at: i - op[1].length, length: op[1].length + 1, augmented: true });
        else out.push({ at: i, length: 1, augmented: false });
      }
    }
    return out;
  }

  /** Reads assignment targets (`a, self.b, c[k]`): names bound, attributes assigned, container stores. */
  private targets(text: string, start: number, out: ScannedCode, augmented: boolean): void {
    for (const part of splitTop(text, start, ',')) {
      let p = part.text;
      let at = part.start;
      const lead = p.length - p.trimStart().length;
      p = p.trim();
      at += lead;
      if (!p) continue;
      if (p.startsWith('*')) {
        p = p.replace(/^\*\s*/, '');
        at = part.start + part.text.indexOf(p);
      }
      if ((p.startsWith('(') && p.endsWith(')')) || (p.startsWith('[') && p.endsWith(']') && !/\w\s*\[/.test(p))) {
        this.targets(p.slice(1, -1), at + 1, out, augmented);
        continue;
      }
      if (/^[A-Za-z_]\w*$/.test(p)) {
        out.otherBound.add(p);
        continue;
      }
      if (p.endsWith(']')) {
        // `base[key]`: the `[` that opens the last subscript.
        let depth = 0;
        let open = -1;
        for (let i = p.length - 1; i >= 0; i--) {
          if (CLOSE.has(p[i])) depth++;
          else if (OPEN.has(p[i]) && --depth === 0) {
            open = i;
            break;
          }
        }
        const base = open > 0 ? p.slice(0, open).trimEnd() : '';
        const attr = /\.\s*([A-Za-z_]\w*)$/.exec(base)?.[1];
        if (attr) out.stores.push({ attr, key: keyOf(this.src.slice(at + open + 1, at + p.length - 1)), start: at, end: at + p.length });
        continue;
      }
      const attr = /\.\s*([A-Za-z_]\w*)$/.exec(p)?.[1];
      if (attr) addAttribute(out, attr);
    }
  }
}
