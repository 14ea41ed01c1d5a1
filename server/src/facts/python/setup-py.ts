/**
 * The `entry_points` a `setup.py` declares, read statically from its syntax tree: the
 * `entry_points=` argument of a `setup(...)` call (`setup`, `setuptools.setup`,
 * `distutils.core.setup`) when it is a literal, or a module-level name bound to one. Nothing
 * is executed and nothing is guessed: a value that is not a literal is left out with a note.
 *
 * Literal forms (as setuptools accepts them):
 * - a dict of group → list (or tuple) of `"name = module:attr"` strings;
 * - a dict of group → one string in INI form (`name = module:attr` lines);
 * - one string in INI form with `[group]` headers.
 */
import type { Position, Range } from '../../text/locations';
import type { Node, Tree } from '../../parsing/parser';
import { lineStartsOf, positionAt } from '../../text/positions';

/** One `name = module:attr` of a `setup.py`, with where it is written. */
export interface PySetupEntryPoint {
  group: string;
  name: string;
  /** `module:attr [extras]`, as written. */
  value: string;
  range: Range;
}

export interface PySetupEntryPoints {
  entries: PySetupEntryPoint[];
  /** What was there but could not be read (not a literal, a line that is not `name = value`). */
  notes: string[];
}

const SETUP_CALLEES = new Set(['setup', 'setuptools.setup', 'distutils.core.setup', 'core.setup']);

/** Reads a string literal: its text (escapes decoded) and the raw text between the quotes. */
interface StringValue {
  value: string;
  /** Offset in the file of the first character after the opening quote. */
  contentStart: number;
  raw: string;
  escapes: boolean;
}

function decodeEscapes(s: string): string {
  return s.replace(/\\(\r?\n|[\\'"abfnrtv])/g, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'a':
      case 'b':
      case 'f':
      case 'v':
        return '';
      case '\\':
      case "'":
      case '"':
        return c;
      default:
        return ''; // a backslash-newline continues the line
    }
  });
}

function stringValue(node: Node, text: string): StringValue | undefined {
  if (node.type !== 'string') return undefined;
  const start = node.namedChildren.find((c) => c?.type === 'string_start');
  const end = node.namedChildren.find((c) => c?.type === 'string_end');
  if (!start || !end) return undefined;
  if (node.namedChildren.some((c) => c?.type === 'interpolation')) return undefined;
  const prefix = start.text.replace(/['"]+$/, '').toLowerCase();
  if (prefix.includes('b')) return undefined;
  const raw = text.slice(start.endIndex, end.startIndex);
  const isRaw = prefix.includes('r');
  return { value: isRaw ? raw : decodeEscapes(raw), contentStart: start.endIndex, raw, escapes: !isRaw };
}


class Reader {
  readonly entries: PySetupEntryPoint[] = [];
  readonly notes: string[] = [];
  private starts?: number[];
  /** Module-level `NAME = <expr>` (the last one wins), for `entry_points=NAME`. */
  private readonly assigned = new Map<string, Node>();

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
  ) {
    for (const st of tree.rootNode.namedChildren) {
      if (st?.type !== 'expression_statement') continue;
      const a = st.namedChildren[0];
      if (a?.type !== 'assignment') continue;
      const left = a.childForFieldName('left');
      const right = a.childForFieldName('right');
      if (left?.type === 'identifier' && right) this.assigned.set(left.text, right);
    }
  }

  private pos(offset: number): Position {
    return positionAt((this.starts ??= lineStartsOf(this.text)), offset);
  }

  private range(from: number, to: number): Range {
    return { start: this.pos(from), end: this.pos(to) };
  }

  private where(node: Node): string {
    return `line ${this.pos(node.startIndex).line + 1}`;
  }

  run(): void {
    for (const call of this.tree.rootNode.descendantsOfType('call')) {
      if (!call) continue;
      const fn = call.childForFieldName('function');
      if (!fn || !SETUP_CALLEES.has(fn.text.replace(/\s+/g, ''))) continue;
      const args = call.childForFieldName('arguments');
      for (const arg of args?.namedChildren ?? []) {
        if (arg?.type !== 'keyword_argument' || arg.childForFieldName('name')?.text !== 'entry_points') continue;
        const value = arg.childForFieldName('value');
        if (value) this.entryPoints(value, arg);
      }
    }
  }

  private entryPoints(value: Node, at: Node): void {
    let v = value;
    if (v.type === 'identifier') {
      const bound = this.assigned.get(v.text);
      if (!bound) {
        this.notes.push(`setup.py: entry_points=${v.text} (${this.where(at)}) is not bound to a literal at module level; its entry points are not read`);
        return;
      }
      v = bound;
    }
    if (v.type === 'dictionary') {
      for (const item of v.namedChildren) {
        if (!item || item.type === 'comment') continue;
        if (item.type !== 'pair') {
          this.notes.push(`setup.py: an entry_points item that is not a literal pair (${this.where(item)}) is not read`);
          continue;
        }
        const keyNode = item.childForFieldName('key');
        const key = keyNode ? stringValue(keyNode, this.text) : undefined;
        const val = item.childForFieldName('value');
        if (!key || !val) {
          this.notes.push(`setup.py: an entry_points group whose name is not a string literal (${this.where(item)}) is not read`);
          continue;
        }
        this.group(key.value.trim(), val);
      }
      return;
    }
    const s = stringValue(v, this.text);
    if (s) {
      this.ini(s, undefined);
      return;
    }
    this.notes.push(`setup.py: entry_points (${this.where(at)}) is not a literal dict or string; its entry points are not read`);
  }

  private group(group: string, val: Node): void {
    if (val.type === 'list' || val.type === 'tuple') {
      for (const el of val.namedChildren) {
        if (!el || el.type === 'comment') continue;
        const s = stringValue(el, this.text);
        if (!s) {
          this.notes.push(`setup.py: an entry point of group '${group}' that is not a string literal (${this.where(el)}) is not read`);
          continue;
        }
        this.line(group, s.value, el.startIndex, el.endIndex, el);
      }
      return;
    }
    const s = stringValue(val, this.text);
    if (s) {
      this.ini(s, group);
      return;
    }
    this.notes.push(`setup.py: the entry points of group '${group}' (${this.where(val)}) are not a literal list or string; not read`);
  }

  /** An INI-form string: `[group]` headers (unless the group is given) and `name = value` lines. */
  private ini(s: StringValue, given: string | undefined): void {
    let group = given;
    let offset = s.contentStart;
    for (const rawLine of s.raw.split('\n')) {
      const lineStart = offset;
      offset += rawLine.length + 1;
      for (const decoded of (s.escapes ? decodeEscapes(rawLine) : rawLine).split('\n')) {
        const line = decoded.replace(/^\s+|\s*[#;].*$/g, '').trim();
        if (!line) continue;
        const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
        if (header) {
          if (given === undefined) group = header[1];
          continue;
        }
        if (group === undefined) {
          this.notes.push(`setup.py: entry point '${line}' (line ${this.pos(lineStart).line + 1}) is not under a [group] header; not read`);
          continue;
        }
        const indent = rawLine.length - rawLine.trimStart().length;
        this.line(group, line, lineStart + indent, lineStart + rawLine.trimEnd().length, undefined);
      }
    }
  }

  private line(group: string, text: string, from: number, to: number, node: Node | undefined): void {
    const m = /^([^=\s][^=]*?)\s*=\s*(.+)$/.exec(text.trim());
    if (!m) {
      this.notes.push(`setup.py: entry point '${text.trim()}' of group '${group}' (line ${this.pos(node?.startIndex ?? from).line + 1}) is not 'name = module:attr'; not read`);
      return;
    }
    this.entries.push({ group, name: m[1], value: m[2].trim(), range: this.range(from, to) });
  }
}

/** The entry points of a `setup.py` tree; undefined when no `setup(..., entry_points=...)` is there. */
export function extractSetupPyEntryPoints(tree: Tree, text: string): PySetupEntryPoints | undefined {
  if (!text.includes('entry_points')) return undefined;
  const r = new Reader(tree, text);
  r.run();
  if (!r.entries.length && !r.notes.length) return undefined;
  return { entries: r.entries, notes: r.notes };
}
