/**
 * The program facts of an edited Python file from those of its previous version, walking only
 * what the edit can change (the editor path, issue #14): when the text changed inside the body
 * of one function or method, the other functions and methods keep their facts (moved by the
 * lines the edit added or removed) and the walk skips them; module-level code, class bodies and
 * functions that share state with others are walked again. The result is the same list, in the
 * same order, as `extractPythonFacts` over the whole file; anything else falls back to it.
 *
 * What a function's facts depend on besides its own text, and how each is kept the same:
 * - the names the module and its classes define, in order (resolving callees, `Cls.attr = …`):
 *   a skipped definition still defines its name where it stands (`record-walk.ts`);
 * - module-level imports, bindings and class bodies: walked every time;
 * - records other functions leave for it to read: receiver bindings through `self.x = call()`
 *   or `global`, at-fork and descriptor-cache records (`fork`, `fstat`, `st_ino`, `closerange`),
 *   threads joined in another method (`self.t.join()`), unpatched originals, `nonlocal`
 *   rebinding. A definition whose text (its comments left out) shows any of these (see
 *   {@link SHARES_STATE}) is never skipped, and an edit of one (before or after) re-extracts
 *   the whole file;
 * - heartbeat loops read whether the functions they call wait, through any chain of calls:
 *   a file with anything that may be a heartbeat call is always extracted whole;
 * - a value a function received is traced to the calls of other definitions that pass or
 *   return it (`value-origins.ts`): a file where that was asked is always extracted whole;
 * - what calling a function gives (`value-kinds.ts`: `return other()`, a test's
 *   `side_effect=fake`) may be read from another definition: the two are linked, and an edit
 *   walks every definition linked to the edited one (through any chain of links) and to the
 *   ones always walked, so a reader always reads the other's current text; the others stay
 *   skipped (a new link to one of them, or a read of any from module-level code, is asked of a
 *   definition the walk skipped: such an edit re-extracts the whole file);
 * - the syntax-error state and the text shortcuts it allows: only files without errors reuse.
 * Position-bearing fields of the reused facts (ranges, the end of the statement holding a cache)
 * are moved like the text; a reused fact that points into the edited text stops the reuse.
 */
import type { Node, Tree } from '../../parsing/parser';
import type { Position } from '../../text/locations';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../../knowledge/knowledge';
import { PY_HEARTBEAT_NAME } from '../../knowledge/python-heartbeat';
import { extractPythonFacts, type PythonFact, type PythonFactReport } from './program-facts';
import type { SkippedDefinition } from './record-walk';
import { computedModuleHolders } from './computed-module-holders';
import { hasKindSourceWords } from './value-kinds';
import { escapeRegExp } from '../../text/regexp';

/** A function or method directly in the module or in a class body (nested classes included). */
export interface Definition extends SkippedDefinition {
  /** Offset of its body: the header (decorators, `def`, parameters) ends before it. */
  bodyStart: number;
  /** Enclosing classes and name (`Outer.Inner.method`). */
  key: string;
  /** Its text shows nothing other definitions read or write (and no heartbeat call). */
  selfContained: boolean;
}

/** What the next extraction of the same document starts from. */
export interface PythonFactState {
  readonly text: string;
  readonly path: string;
  readonly knowledge: Knowledge;
  readonly facts: readonly PythonFact[];
  readonly definitions: readonly Definition[];
  /** The file has something that may be a heartbeat call (never reused then). */
  readonly heartbeats: boolean;
  /** Qualified names of more than one definition (see {@link duplicatedKeys}). */
  readonly duplicated: ReadonlySet<string>;
  /** Some facts were read from values other definitions pass or return (never reused then). */
  readonly tracedValues?: boolean;
  /** Definitions that read what calling another gives, each with one it read (`[reader, read]`, qualified names). */
  readonly outcomeLinks: readonly (readonly [string, string])[];
  /** The text holds a word some kind of value starts at (`hasKindSourceWords`). */
  readonly kindSourceWords: boolean;
}

export interface IncrementalPythonFacts {
  facts: PythonFact[];
  /** Undefined when the file cannot be extracted incrementally next time (syntax errors, `setup.py`). */
  state: PythonFactState | undefined;
  /** Definitions whose facts were taken from the previous version (0: a whole extraction). */
  reused: number;
}

/**
 * Text that shares state with other definitions (see the file comment): `global`/`nonlocal`,
 * fork and descriptor-cache words, unpatched originals, attribute assignments with a call on
 * the right (receiver bindings, class caches) and `self.x.join()`/`shutdown()`.
 */
const SHARES_STATE =
  /\b(?:global|nonlocal)\b|fork|st_ino|st_dev|fstat|closerange|\boriginal\b|get_original|\.(?:[ \t]|\\\r?\n)*[A-Za-z_]\w*[ \t]*(?::[^\n=]*)?=(?!=)[^\n]*(?:\(|\\\r?\n)|\bself\s*\.\s*[A-Za-z_]\w*\s*\.\s*(?:join|shutdown)\b/;

/** A name called (`ping(`, `conn.ping (`) or imported under another name (`ping as p`). */
const CALLED_NAME = /[A-Za-z_]\w*(?=(?:[ \t\f]|\\\r?\n)*\(|\s+as\b)/g;

/** Whether the text calls (or imports to call) a name that may be a heartbeat call (`emitKeepAlives`). */
function mayHeartbeat(text: string, knowledge: Knowledge): boolean {
  const calls = knowledge.python.heartbeatCalls;
  CALLED_NAME.lastIndex = 0;
  for (let m = CALLED_NAME.exec(text); m; m = CALLED_NAME.exec(text)) {
    const id = m[0];
    if (calls.has(id) || calls.has(id.replace(/^_+/, '')) || PY_HEARTBEAT_NAME.test(id)) return true;
  }
  return false;
}

/**
 * The qualified names of the definitions an edit of `edited` walks: it, the ones always walked
 * (not self-contained), and every definition linked to one of those by reading what calling it
 * gives, or by being read so (`value-kinds.ts`), through any chain of links. A link to a name
 * that is no definition of the list (a function defined in module-level code) makes its reader
 * walked every time.
 */
function linkedWalk(definitions: readonly Definition[], edited: number, links: readonly (readonly [string, string])[]): Set<string> {
  const keys = new Set(definitions.map((d) => d.key));
  const walked = new Set<string>([definitions[edited].key]);
  for (const d of definitions) if (!d.selfContained) walked.add(d.key);
  const next = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    const list = next.get(a);
    if (list) list.push(b);
    else next.set(a, [b]);
  };
  for (const [reader, read] of links) {
    if (!keys.has(reader) || !keys.has(read)) walked.add(reader);
    link(reader, read);
    link(read, reader);
  }
  const queue = [...walked];
  while (queue.length) {
    for (const k of next.get(queue.pop()!) ?? []) {
      if (walked.has(k)) continue;
      walked.add(k);
      queue.push(k);
    }
  }
  return walked;
}

/** Whether the file calls a method on a name that may hold a module imported by computed name (`computed-module-holders.ts`). */
function callsComputedModule(root: Node, text: string): boolean {
  const holders = computedModuleHolders(root, text);
  if (holders.size === 0) return false;
  const names = [...holders].map(escapeRegExp).join('|');
  return new RegExp(`\\b(?:${names})(?:[ \\t\\f]|\\\\\\r?\\n)*\\.`).test(text);
}

/** The functions and methods of the file that can be skipped, in document order. */
export function definitionsOf(root: Node): Definition[] {
  const out: Definition[] = [];
  const visit = (container: Node, prefix: string) => {
    for (const child of container.namedChildren) {
      if (!child) continue;
      const type = child.type;
      const def = type === 'decorated_definition' ? child.childForFieldName('definition') : type === 'function_definition' || type === 'class_definition' ? child : null;
      if (!def) continue;
      const name = def.childForFieldName('name')?.text;
      const body = def.childForFieldName('body');
      if (!name || !body) continue;
      if (def.type === 'class_definition') {
        visit(body, `${prefix}${name}.`);
        continue;
      }
      if (def.type !== 'function_definition') continue;
      out.push({
        start: child.startIndex,
        end: child.endIndex,
        startPosition: child.startPosition,
        endPosition: child.endPosition,
        name,
        bodyStart: body.startIndex,
        key: prefix + name,
        selfContained: false,
      });
    }
  };
  visit(root, '');
  return out;
}

/** Definitions read per tree (the fact extraction and the handle analysis of one keystroke read the same tree). */
const DEFINITIONS = new WeakMap<Tree, { text: string; definitions: readonly Definition[] }>();

/**
 * {@link definitionsOf} the tree's root, read once per tree and text: each caller gets its own
 * copies (the fact extraction sets `selfContained` on its own).
 */
export function definitionsOfTree(tree: Tree, text: string): Definition[] {
  let known = DEFINITIONS.get(tree);
  if (known?.text !== text) DEFINITIONS.set(tree, (known = { text, definitions: definitionsOf(tree.rootNode) }));
  return known.definitions.map((d) => ({ ...d }));
}

const DEF_NAME = /\bdef[ \t]+([A-Za-z_]\w*)/g;

/** The names `def` statements (or text that looks like one) give in `text`, sorted. */
function defNames(text: string): string[] {
  return [...text.matchAll(DEF_NAME)].map((m) => m[1]).sort();
}

/**
 * Qualified names (`Cls.method`) given to more than one definition of the file (`if …: def f`
 * / `else: def f`): facts name their function by its qualified name (`enclosingFunction`),
 * so the facts of such definitions meet (`execFollows`, joins), and neither is skipped.
 * Methods of the same name in different classes do not meet.
 */
function duplicatedKeys(definitions: readonly Definition[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const d of definitions) (seen.has(d.key) ? twice : seen).add(d.key);
  return twice;
}

/**
 * Whether the definition's text shares nothing with the others (see {@link SHARES_STATE}): its
 * comments (the tree's) are not read, no fact comes from one.
 */
function selfContained(d: Definition, text: string, knowledge: Knowledge, duplicated: ReadonlySet<string>, root: Node): boolean {
  // `def application(...)` at module level is the module's WSGI entry point.
  if (d.key === 'application' || duplicated.has(d.key)) return false;
  const own = text.slice(d.start, d.end);
  if (mayHeartbeat(own, knowledge)) return false;
  return !SHARES_STATE.test(own) || !SHARES_STATE.test(withoutComments(own, d, root));
}

/** A definition's text with its comments blanked (same length). */
function withoutComments(own: string, d: Definition, root: Node): string {
  if (!own.includes('#')) return own;
  const parts: string[] = [];
  let from = d.start;
  for (const c of root.descendantsOfType('comment', d.startPosition, d.endPosition)) {
    if (!c || c.startIndex < from || c.endIndex > d.end) continue;
    parts.push(own.slice(from - d.start, c.startIndex - d.start), ' '.repeat(c.endIndex - c.startIndex));
    from = c.endIndex;
  }
  parts.push(own.slice(from - d.start));
  return parts.join('');
}

/** Whether the text outside the definitions may hold a heartbeat call. */
function restMayHeartbeat(text: string, definitions: readonly Definition[], knowledge: Knowledge): boolean {
  let from = 0;
  for (const d of definitions) {
    if (mayHeartbeat(text.slice(from, d.start), knowledge)) return true;
    from = d.end;
  }
  return mayHeartbeat(text.slice(from), knowledge);
}

function count(text: string, from: number, to: number, ch: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === ch) n++;
  return n;
}

/** Line and column of `offset`, counted from a known position at `anchor` (`anchor <= offset`). */
export function positionFrom(text: string, anchor: number, anchorPos: Node['startPosition'], offset: number): Position {
  const line = anchorPos.row + count(text, anchor, offset, 10);
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return { line, character: lineStart > anchor || line !== anchorPos.row ? offset - lineStart : anchorPos.column + (offset - anchor) };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

/** Moves the positions of a fact that lie after the edit; undefined when one lies inside it. */
export class Shift {
  constructor(
    /** First changed position (old text). */
    private readonly from: Position,
    /** End of the changed text, old and new. */
    private readonly oldEnd: Position,
    private readonly newEnd: Position,
  ) {}

  fact(f: PythonFact): PythonFact | undefined {
    return this.move(f);
  }

  /** Any plain data holding positions (`{line, character}`), moved; undefined when a position lies in the edit. */
  move<T>(v: T): T | undefined {
    const moved = this.value(v);
    return moved === INSIDE ? undefined : (moved as T);
  }

  private value(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const m = this.value(v[i]);
        if (m === INSIDE) return INSIDE;
        if (m !== v[i]) (copy ??= [...v])[i] = m;
      }
      return copy ?? v;
    }
    const o = v as Record<string, unknown>;
    if (typeof o.line === 'number' && typeof o.character === 'number') return this.position(o as unknown as Position);
    let copy: Record<string, unknown> | undefined;
    for (const k in o) {
      const m = this.value(o[k]);
      if (m === INSIDE) return INSIDE;
      if (m !== o[k]) (copy ??= { ...o })[k] = m;
    }
    return copy ?? o;
  }

  private position(p: Position): Position | typeof INSIDE {
    if (before(p, this.from)) return p;
    // At or in the changed text: what it pointed at was edited.
    if (before(p, this.oldEnd) || (p.line === this.oldEnd.line && p.character === this.oldEnd.character)) return INSIDE;
    const line = p.line + this.newEnd.line - this.oldEnd.line;
    const character = p.line === this.oldEnd.line ? p.character + this.newEnd.character - this.oldEnd.character : p.character;
    return line === p.line && character === p.character ? p : { line, character };
  }
}

const INSIDE = Symbol('inside the edit');

/**
 * The Python facts of `text` (parsed as `tree`), reusing `previous` (the state of an earlier
 * version of the same document) where the edit allows. Same result as `extractPythonFacts`.
 */
export function extractPythonFactsIncrementally(tree: Tree, text: string, path: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE, previous?: PythonFactState): IncrementalPythonFacts {
  const root = tree.rootNode;
  // `setup.py` reads its entry points from the whole tree; text shortcuts need an error-free tree.
  if (/(^|[\\/])setup\.py$/.test(path) || root.hasError || root.endIndex !== text.length) {
    return { facts: extractPythonFacts(tree, text, path, { knowledge }), state: undefined, reused: 0 };
  }
  const definitions = definitionsOfTree(tree, text);
  const whole = (): IncrementalPythonFacts => {
    const report: PythonFactReport = {};
    const facts = extractPythonFacts(tree, text, path, { knowledge, report });
    const duplicated = duplicatedKeys(definitions);
    for (const d of definitions) d.selfContained = selfContained(d, text, knowledge, duplicated, root);
    const heartbeats = definitions.some((d) => !d.selfContained && mayHeartbeat(text.slice(d.start, d.end), knowledge)) || restMayHeartbeat(text, definitions, knowledge);
    const state: PythonFactState = { text, path, knowledge, facts, definitions, heartbeats, duplicated, outcomeLinks: report.outcomeLinks ?? [], kindSourceWords: hasKindSourceWords(text) };
    if (report.tracedValues) return { facts, state: { ...state, tracedValues: true }, reused: 0 };
    return { facts, state, reused: 0 };
  };
  // (Knowledge objects are rebuilt with the settings; the fingerprint says whether the tables differ.)
  if (!previous || previous.path !== path || previous.knowledge.fingerprint !== knowledge.fingerprint || previous.heartbeats || previous.tracedValues) return whole();
  const old = previous.text;
  if (old === text) return { facts: [...previous.facts], state: previous, reused: definitions.length };
  // The first `yield` or `async` of a file (or the last one gone) changes which definitions
  // read what calling another gives (`value-kinds.ts` records none without them).
  if (previous.kindSourceWords !== hasKindSourceWords(text)) return whole();
  // A method called on a name that may hold a module imported by computed name is traced to
  // what other definitions pass or return, wherever it stands: such a file is extracted whole.
  if (callsComputedModule(root, text)) return whole();

  const located = locateEdit(old, previous.definitions, text, definitions);
  if (located === undefined) return whole();
  const { edited, p, oldEnd, newEnd } = located;
  const was = previous.definitions;
  if (edited < 0 || !was[edited].selfContained || !selfContained(definitions[edited], text, knowledge, previous.duplicated, root)) return whole();
  // The functions it defines inside itself are the same names (so the duplicated names are too).
  const e0 = was[edited];
  const e1 = definitions[edited];
  if (defNames(old.slice(e0.start, e0.end)).join() !== defNames(text.slice(e1.start, e1.end)).join()) return whole();
  for (let i = 0; i < definitions.length; i++) definitions[i].selfContained = i === edited || was[i].selfContained;
  const walkedKeys = linkedWalk(definitions, edited, previous.outcomeLinks);

  const e = e0;
  const shift = new Shift(positionFrom(old, e.start, e.startPosition, p), positionFrom(old, e.start, e.startPosition, oldEnd), positionFrom(text, e.start, e.startPosition, newEnd));
  const skippedOld: Definition[] = [];
  const skip: Definition[] = [];
  for (let i = 0; i < definitions.length; i++) {
    if (i === edited || !definitions[i].selfContained || walkedKeys.has(definitions[i].key)) continue;
    skippedOld.push(was[i]);
    skip.push(definitions[i]);
  }
  // The reused facts: those that start inside a skipped definition (old positions), moved.
  const reusedFacts: PythonFact[] = [];
  const skippedStarts = skippedOld.map((d) => posOf(d.startPosition));
  const skippedEnds = skippedOld.map((d) => posOf(d.endPosition));
  let k = 0;
  for (const f of previous.facts) {
    const start = f.range.start;
    while (k < skippedOld.length && !before(start, skippedEnds[k])) k++;
    if (k >= skippedOld.length) break;
    // (The module's own fact sits at the file's start, where a definition may start too.)
    if (before(start, skippedStarts[k]) || f.kind === 'py.module') continue;
    const moved = shift.fact(f);
    if (!moved) return whole();
    reusedFacts.push(moved);
  }
  const report: PythonFactReport = {};
  const walked = extractPythonFacts(tree, text, path, { knowledge, skip, report });
  // The edited definition now reads values other definitions pass or return, or what calling a
  // definition gives that this walk skipped: those were not walked.
  if (report.tracedValues || report.outcomeOfUnwalkedName) return whole();
  // The links between definitions this walk skipped stay; those of the walked ones are read again.
  const outcomeLinks = [...previous.outcomeLinks.filter(([reader, read]) => !walkedKeys.has(reader) && !walkedKeys.has(read)), ...(report.outcomeLinks ?? [])];
  const facts = mergeByStart(walked, reusedFacts);
  return { facts, state: { text, path, knowledge, facts, definitions, heartbeats: false, duplicated: previous.duplicated, outcomeLinks, kindSourceWords: previous.kindSourceWords }, reused: skip.length };
}

/** How many chunks of text the prefix and suffix searches compare at once (native string compares), before the last characters one by one. */
const CHUNK = 1024;

/** The length of the longest common prefix of `a` and `b`, at most `max`. */
function commonPrefix(a: string, b: string, max: number): number {
  let p = 0;
  while (p + CHUNK <= max && a.slice(p, p + CHUNK) === b.slice(p, p + CHUNK)) p += CHUNK;
  while (p < max && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  return p;
}

/** The length of the longest common suffix of `a` and `b`, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
  let s = 0;
  while (s + CHUNK <= max && a.slice(a.length - s - CHUNK, a.length - s) === b.slice(b.length - s - CHUNK, b.length - s)) s += CHUNK;
  while (s < max && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  return s;
}

/** Where an edit lies: the changed stretch (`[p, oldEnd)` of the old text became `[p, newEnd)`) and the one definition holding it in its body. */
export interface LocatedEdit {
  /** Index of the definition whose body holds the change; -1 when no single body does. */
  edited: number;
  p: number;
  oldEnd: number;
  newEnd: number;
}

/**
 * The definition an edit changed, when the definitions before and after are the same ones
 * (same keys, moved by the edit) and exactly one of them holds the change in its body
 * (`edited` -1 otherwise); undefined when the definitions differ.
 */
export function locateEdit(old: string, was: readonly Definition[], text: string, definitions: readonly Definition[]): LocatedEdit | undefined {
  // The changed stretch: [p, oldEnd) of the old text became [p, newEnd) of the new one.
  const min = Math.min(old.length, text.length);
  const p0 = commonPrefix(old, text, min);
  let p = p0;
  const s = commonSuffix(old, text, min - p0);
  let oldEnd = old.length - s;
  let newEnd = text.length - s;
  const delta = text.length - old.length;

  // The same definitions, moved by the edit, and exactly one holding it in its body (its index);
  // -1: not so for this reading of the change; undefined: the definitions differ.
  if (was.length !== definitions.length) return undefined;
  const holder = (p: number, oldEnd: number): number | undefined => {
    let edited = -1;
    for (let i = 0; i < was.length; i++) {
      const a = was[i];
      const b = definitions[i];
      if (a.key !== b.key) return undefined;
      if (a.end < p) {
        if (b.start !== a.start || b.end !== a.end) return -1;
      } else if (a.start > oldEnd) {
        if (b.start !== a.start + delta || b.end !== a.end + delta) return -1;
      } else {
        // (Text typed right after its last statement is its own when the new tree says so.)
        if (edited >= 0 || a.bodyStart > p || oldEnd > a.end || b.start !== a.start || b.bodyStart !== a.bodyStart || b.end !== a.end + delta) return -1;
        edited = i;
      }
    }
    return edited;
  };
  let edited = holder(p, oldEnd);
  // A line added after a body's last one (`\n    x()`) reads as added after the line end that
  // follows (`    x()\n`): the same change, moved back over the characters it repeats.
  for (let k = 0; edited === -1 && k < 80 && p > 0 && old.charCodeAt(oldEnd - 1) === text.charCodeAt(newEnd - 1); k++) {
    p--;
    oldEnd--;
    newEnd--;
    edited = holder(p, oldEnd);
  }
  return edited === undefined ? undefined : { edited, p, oldEnd, newEnd };
}

function posOf(p: Node['startPosition']): Position {
  return { line: p.row, character: p.column };
}

/** Two lists sorted by range start, merged (the first list's fact first on a tie). */
function mergeByStart(a: readonly PythonFact[], b: readonly PythonFact[]): PythonFact[] {
  const out: PythonFact[] = new Array<PythonFact>(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) out[n++] = before(b[j].range.start, a[i].range.start) ? b[j++] : a[i++];
  while (i < a.length) out[n++] = a[i++];
  while (j < b.length) out[n++] = b[j++];
  return out;
}
