/**
 * Functions and classes a Python file passes as call arguments (`Thread(target=work)`),
 * as `py.ref` facts: read from the argument text where it is plain, from the nodes where
 * not, and only for calls whose argument text names something bound in their scope.
 */
import type { Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import { anyIn } from '../../text/positions';
import type { PythonFact } from './fact-types';
import type { PySourceText } from './source-text';
import { DOTTED_RE, KEYWORD_ARG_RE, SPACED_DOTTED_RE, TOKEN_RE, plainSegments } from './syntax-helpers';
import { factBase, resolve, withBase, type Flags, type RawCall, type Scope } from './walk-records';

export class ArgumentRefs {
  /** Callables passed as arguments: the node, or (read from the text) the offset of the name. */
  private readonly pendingRefs: { raw: string; node?: Node; at?: number; scope: Scope; flags: Flags }[] = [];

  constructor(private readonly t: PySourceText) {}

  /** Offsets of the text's non-ASCII characters (where identifiers may hide from `TOKEN_RE`). */
  private nonAscii?: number[];

  /**
   * Functions and classes passed as arguments (`Thread(target=work)`), in call order. A call
   * whose argument text names nothing that resolves in its scope (see `resolve`) passes none,
   * and its arguments are not read.
   */
  collect(c: RawCall): void {
    if (c.argsAt >= 0 && (!this.mayPassBoundName(c) || this.plainArgumentRefs(c))) return;
    const args = c.node.childForFieldName('arguments');
    if (args?.type !== 'argument_list') return;
    for (const a of args.namedChildren) {
      const v = a?.type === 'keyword_argument' ? a.childForFieldName('value') : a;
      const vt = v?.type;
      if (v && (vt === 'identifier' || vt === 'attribute')) {
        const d = this.t.dotted(v);
        if (d && d !== 'self' && d !== 'cls') this.pendingRefs.push({ raw: d, node: v, scope: c.scope, flags: c.flags });
      }
    }
  }

  /**
   * The refs of an argument list read from its text: split at the commas outside brackets
   * and strings, a value that is a plain dotted name is a ref (its node is an identifier or
   * attribute); anything with a bracket or a string is not. False, with nothing collected,
   * where the text needs the nodes: comments, line joins, f-strings, non-ASCII names,
   * commas of lambdas or comprehensions, or a value that might be a dotted name with blanks
   * inside (`a . b`).
   */
  private plainArgumentRefs(c: RawCall): boolean {
    const src = this.t.src;
    const to = c.end - 1;
    if (src.charCodeAt(c.argsAt) !== 40 || src.charCodeAt(to) !== 41) return false;
    const parts: number[] = [];
    let partStart = c.argsAt + 1;
    let depth = 0;
    let i = partStart;
    while (i < to) {
      const ch = src.charCodeAt(i);
      if (ch === 34 || ch === 39) {
        // A string: to its closing quote (a backslash always skips the next character).
        const triple = src.charCodeAt(i + 1) === ch && src.charCodeAt(i + 2) === ch;
        let j = i + (triple ? 3 : 1);
        for (;;) {
          if (j >= to) return false;
          const cj = src.charCodeAt(j);
          if (cj === 92) j += 2;
          else if (cj === ch && (!triple || (src.charCodeAt(j + 1) === ch && src.charCodeAt(j + 2) === ch))) break;
          else if (cj === 10 && !triple) return false;
          else j++;
        }
        i = j + (triple ? 3 : 1);
        continue;
      }
      if ((ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || ch === 95) {
        let j = i + 1;
        for (let cj = src.charCodeAt(j); (cj >= 65 && cj <= 90) || (cj >= 97 && cj <= 122) || (cj >= 48 && cj <= 57) || cj === 95; cj = src.charCodeAt(++j));
        const next = src.charCodeAt(j);
        if (next === 34 || next === 39) {
          // A string prefix: f-strings hold expressions, left to the nodes.
          for (let k = i; k < j; k++) if ((src.charCodeAt(k) | 32) === 102) return false;
        } else if (depth === 0 && j - i <= 6) {
          const w = src.slice(i, j);
          if (w === 'lambda' || w === 'for') return false;
        }
        i = j;
        continue;
      }
      if (ch === 40 || ch === 91 || ch === 123) depth++;
      else if (ch === 41 || ch === 93 || ch === 125) depth--;
      else if (ch === 44 && depth === 0) {
        parts.push(partStart, i);
        partStart = i + 1;
      } else if (ch === 35 || ch === 92 || ch > 126) return false;
      i++;
    }
    parts.push(partStart, to);
    const found: { raw: string; at: number }[] = [];
    for (let k = 0; k < parts.length; k += 2) {
      const part = src.slice(parts[k], parts[k + 1]);
      KEYWORD_ARG_RE.lastIndex = 0;
      const kw = KEYWORD_ARG_RE.exec(part);
      const vStart = kw ? kw[0].length : 0;
      const value = part.slice(vStart).trim();
      if (!value) continue;
      if (DOTTED_RE.test(value)) {
        if (!plainSegments(value)) {
          if (value === 'None' || value === 'True' || value === 'False') continue;
          return false;
        }
        if (value !== 'self' && value !== 'cls') found.push({ raw: value, at: parts[k] + vStart + part.slice(vStart).indexOf(value) });
      } else if (SPACED_DOTTED_RE.test(value)) return false;
    }
    for (const f of found) this.pendingRefs.push({ raw: f.raw, at: f.at, scope: c.scope, flags: c.flags });
    return true;
  }

  /** Whether `resolve(first...)` in `scope` finds more than a builtin (`self`/`cls` aside). */
  private bindsName(first: string, scope: Scope): boolean {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== scope) continue;
      if (s.imports?.has(first) || s.defs.has(first) || s.originals?.has(first)) return true;
    }
    return false;
  }

  /**
   * False when no identifier in the call's argument text resolves: neither a name bound in
   * its scope nor `self.`/`cls.` inside a class (a bare `self` is not passed on).
   */
  private mayPassBoundName(c: RawCall): boolean {
    if (!this.nonAscii) {
      this.nonAscii = [];
      const re = /[\u0080-\uffff]/g;
      for (let m = re.exec(this.t.src); m; m = re.exec(this.t.src)) this.nonAscii.push(m.index);
    }
    const from = c.argsAt;
    const to = c.end;
    const na = this.nonAscii!;
    if (anyIn(na, from, to)) return true;
    const src = this.t.src;
    const inClass = !!c.scope.cls;
    TOKEN_RE.lastIndex = from;
    for (let m = TOKEN_RE.exec(src); m && m.index < to; m = TOKEN_RE.exec(src)) {
      const t = m[0];
      if (inClass && (t === 'self' || t === 'cls')) {
        // Followed by a `.` (across blanks, line joins and comments, which are kept as may).
        let i = TOKEN_RE.lastIndex;
        let ch = src.charCodeAt(i);
        while (ch === 32 || ch === 9 || ch === 10 || ch === 13 || ch === 12 || ch === 92) ch = src.charCodeAt(++i);
        if (ch === 46 || ch === 35) return true;
      } else if (this.bindsName(t, c.scope)) return true;
    }
    return false;
  }

  /** The collected refs that resolve to more than a builtin, as facts. */
  emit(facts: PythonFact[]): void {
    for (const r of this.pendingRefs) {
      const res = resolve(r.raw, r.scope);
      if (res.origin === 'builtin') continue;
      const range: Range = r.node ? this.t.range(r.node) : { start: this.t.posAt(r.at!), end: this.t.posAt(r.at! + r.raw.length) };
      facts.push(withBase(factBase(range, r.flags, r.scope), { kind: 'py.ref', name: res.name, origin: res.origin }));
    }
  }
}
