/**
 * Small syntax helpers for the Python fact walk: position arithmetic, reading dotted names,
 * strings and argument lists off tree-sitter nodes, and the regexes that read the same
 * shapes straight from the source text when the tree has no syntax error.
 */
import type { Position, Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';

export function posOf(p: { row: number; column: number }): Position {
  return { line: p.row, character: p.column };
}

export function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

export function within(inner: Range, outer: Range): boolean {
  return !before(inner.start, outer.start) && !before(outer.end, inner.end);
}

/** `a.b.c` for identifier/attribute chains, else null. */
export function dotted(node: Node | null): string | null {
  if (!node) return null;
  if (node.type === 'identifier') return node.text;
  if (node.type === 'attribute') {
    const obj = dotted(node.childForFieldName('object'));
    const attr = node.childForFieldName('attribute');
    return obj && attr ? `${obj}.${attr.text}` : null;
  }
  return null;
}

export function stringValue(node: Node | null | undefined): { value: string; content: Range } | undefined {
  if (!node || node.type !== 'string') return undefined;
  let content: Node | undefined;
  for (const c of node.namedChildren) {
    if (!c) continue;
    if (c.type === 'interpolation') return undefined;
    if (c.type === 'string_content') content = c;
  }
  if (!content) {
    // An empty string: the content range is the empty span before the closing quote.
    const end = node.namedChildren.find((c) => c?.type === 'string_end');
    if (!end) return undefined;
    const p = posOf(end.startPosition);
    return { value: '', content: { start: p, end: p } };
  }
  return { value: content.text, content: nodeRange(content) };
}

export interface Args {
  positional: Node[];
  keywords: Map<string, Node>;
  node: Node | null;
}

export function argsOf(call: Node): Args {
  const out: Args = { positional: [], keywords: new Map(), node: call.childForFieldName('arguments') };
  if (!out.node || out.node.type !== 'argument_list') return out;
  for (const a of out.node.namedChildren) {
    if (!a || a.type === 'comment') continue;
    if (a.type === 'keyword_argument') {
      const n = a.childForFieldName('name');
      const v = a.childForFieldName('value');
      if (n && v) out.keywords.set(n.text, v);
    } else out.positional.push(a);
  }
  return out;
}

/** Where to add `keyword=value` to a call's argument list. */
export function keywordInsert(args: Node | null, keyword: string): { keyword: string; insertAt: Position; needsComma: boolean } | undefined {
  if (!args || args.type !== 'argument_list') return undefined;
  const close = args.lastChild;
  if (!close || close.type !== ')') return undefined;
  const named = args.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
  const last = args.child(args.childCount - 2);
  const trailingComma = last?.type === ',';
  return { keyword, insertAt: posOf(close.startPosition), needsComma: named.length > 0 && !trailingComma };
}

export function isMainGuard(cond: Node | null): boolean {
  if (!cond || cond.type !== 'comparison_operator') return false;
  const parts = cond.namedChildren.filter((c): c is Node => !!c);
  if (parts.length !== 2 || cond.child(1)?.type !== '==') return false;
  const [a, b] = parts;
  const isName = (n: Node) => n.type === 'identifier' && n.text === '__name__';
  const isMain = (n: Node) => stringValue(n)?.value === '__main__';
  return (isName(a) && isMain(b)) || (isMain(a) && isName(b));
}

/** Identifiers an expression mentions (shallow enough for guards and fstat arguments). */
export function identifiersIn(node: Node, out: string[] = []): string[] {
  if (node.type === 'identifier') out.push(node.text);
  for (const c of node.namedChildren) if (c) identifiersIn(c, out);
  return out;
}

/**
 * Text shortcuts. `extractPythonFacts` gets the text the tree was parsed from, and
 * web-tree-sitter's offsets are UTF-16 code units of it (as are its columns), so a node's
 * text is a slice and a position is a line-table lookup: no trip into WASM. Where the tree
 * has no syntax error, a few node shapes are also read from the text (a dotted name, a
 * callee, a `def`'s name); any text that is not plainly one of them is read from the nodes.
 */
export const DOTTED_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** A call's text starting with a dotted callee right before its `(`. */
export const CALLEE_RE = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\(/y;
export const DEF_RE = /(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?=[([ \t])/y;
export const CLASS_RE = /class[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?=[(:[ \t])/y;
export const TOKEN_RE = /[A-Za-z_][A-Za-z0-9_]*/g;
/** `name=` at the start of an argument. */
export const KEYWORD_ARG_RE = /^\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)/y;
/** A dotted name with blanks around its dots (`a . b`, `a.\n b`). */
export const SPACED_DOTTED_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+$/;
/** What may separate a decorator from its definition. */
export const DECORATOR_GAP_RE = /^(?:[ \t\r\n\f\v]|\\\r?\n|#[^\n]*(?=\n|$))*$/;
/** `name =` / `a.b =` at the start of an assignment (then blanks up to the right side). */
export const ASSIGN_RE = /([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)[ \t]*=(?!=)[ \t]*/y;
/** Words that are not plain identifiers (keywords, literals): dotted text with one is read from the nodes. */
const NOT_NAMES = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);

export function plainSegments(chain: string): boolean {
  let i = 0;
  for (;;) {
    const dot = chain.indexOf('.', i);
    if (NOT_NAMES.has(dot < 0 ? chain.slice(i) : chain.slice(i, dot))) return false;
    if (dot < 0) return true;
    i = dot + 1;
  }
}

/** `x.attr` → x, attr (a dotted name of two parts only). */
export function partsOfDotted(t: string): { obj: string; attr: string } | undefined {
  const dot = t.indexOf('.');
  return dot >= 0 && dot === t.lastIndexOf('.') ? { obj: t.slice(0, dot), attr: t.slice(dot + 1) } : undefined;
}

/** Decorators that only wrap or describe a function; the rest may register it to run later. */
export const NON_REGISTERING_DECORATORS = /^(property|staticmethod|classmethod|abstractmethod|abc\.\w+|functools\.\w+|wraps|cache|lru_cache|cached_property|contextmanager|asynccontextmanager|contextlib\.\w+|overload|typing\.\w+|final|override|dataclass|dataclasses\.\w+|\w+\.(setter|getter|deleter)|unittest\.\w+|pytest\.\w+|mock\.\w+|patch|skip\w*|support\.\w+|(\w+\.)*cpython_only)$/;

export function rangeEq(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

export function joinName(prefix: string, name: string): string {
  if (!prefix) return name;
  return prefix.endsWith('.') ? prefix + name : `${prefix}.${name}`;
}

/** An integer literal's value (`3`, `0x3`), else undefined. */
function intLiteral(n: Node | null | undefined): number | undefined {
  if (n?.type !== 'integer') return undefined;
  const v = Number(n.text.replace(/_/g, '').replace(/[lL]$/, ''));
  return Number.isInteger(v) ? v : undefined;
}

/** `closerange(lo, hi)` / `range(lo, hi)` with a literal upper bound of 3 or less: only stdin, stdout and stderr. */
export function closesOnlyStdio(call: Node): boolean {
  const a = argsOf(call).positional;
  const hi = intLiteral(a.length >= 2 ? a[1] : a[0]);
  return hi !== undefined && hi <= 3;
}

/** `closerange(lo, ...)` whose lower bound is a literal at or below 3: it leaves no kept descriptor below it. */
export function startsAtStdio(call: Node): boolean {
  const lo = intLiteral(argsOf(call).positional[0]);
  return lo !== undefined && lo <= 3;
}

/**
 * Parameter names of a `def` or `lambda`, `self` included: the positional ones (as callers
 * pass them: up to `*args` or a bare `*`), or with `'all'` every named one (keyword-only,
 * `*args`, `**kwargs` too).
 */
export function parameterNames(def: Node, which: 'positional' | 'all' = 'positional'): string[] {
  const out: string[] = [];
  for (const p of def.childForFieldName('parameters')?.namedChildren ?? []) {
    if (!p) continue;
    if (which === 'positional' && (p.type === 'keyword_separator' || p.type === 'list_splat_pattern' || p.type === 'dictionary_splat_pattern')) break;
    const n = p.type === 'identifier' ? p : (p.childForFieldName('name') ?? p.namedChild(0));
    if (n?.type === 'identifier') out.push(n.text);
  }
  return out;
}
