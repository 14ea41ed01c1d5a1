/**
 * The Python handle analysis (`handles.ts`, behind `unreleased-file` and the handle summaries)
 * of an edited file from the previous version's result (the editor path, issue #14), the way
 * `facts/python/incremental.ts` reuses facts: when an edit changed the body of one function or
 * method, the definitions whose result cannot depend on that body keep their findings and
 * summary entries (moved by the lines the edit added or removed), and the analysis skips them.
 * The result is the same, in the same order, as a whole analysis; anything else falls back to one.
 *
 * What a definition's result reads besides its own text, and how each is kept the same:
 * - other definitions, by name only: the analysis looks a callee up among the file's definitions
 *   (a callee that may take a handle over, a helper returning a fresh one, `__init__` through its
 *   class name, a method through `self`, `cls` or a class of the file) and records each name it
 *   looked up and where ({@link PythonHandleRun.lookups}). A definition that looked up a name the
 *   edited one defines (its own, its nested defs' and classes', its class's for `__init__`; before
 *   or after the edit) is analysed again, and so, in turn, is every definition that looked up one
 *   of its names: names spelled only in comments, strings or as a method of some other object
 *   (`x.add(f)`) are never looked up and pull nothing. Lookups are kept per definition from run
 *   to run (a kept definition's are those of the run that analysed it);
 * - the helpers found to return a fresh handle are searched for by name in the whole text
 *   (`\bname\s*\(`, comments and strings included): every definition spelling such a helper's
 *   name that way is analysed with it; a kept helper's name spelled so in a definition analysed
 *   again, or a helper that returns a fresh handle only after the edit spelled so in a kept one,
 *   falls back to a whole analysis;
 * - the class, for handles kept in fields (`self.f = open(p)`): every method of a class that
 *   held one before the edit is analysed again; a field store appearing in a class without one
 *   falls back to a whole analysis;
 * - imports and the names the module binds at the start of a line: the edited body's import
 *   statements (as the names table and the text checks read them) and its lines at column 0
 *   must be the same before and after, or a whole analysis;
 * - the file's gate (whether it names an opener, closes something): the same before and after,
 *   or a whole analysis;
 * - syntax errors: only error-free trees reuse.
 * The whole-text searches of the analysis run only over the text outside the kept definitions.
 * Module-level code and class bodies are analysed every time.
 */
import type { Node, Tree } from '../../parsing/parser';
import { escapeRegExp } from '../../text/regexp';
import { definitionsOfTree, locateEdit, positionFrom, Shift, type Definition } from '../../facts/python/incremental';
import { IMPORT_LINE } from '../../facts/python/names';
import type { PythonKnowledge } from '../../knowledge/knowledge';
import type { Position } from '../../text/locations';
import { pendingAnalysisFailures, recordAnalysisFailure } from '../failures';
import type { HandleLeak } from '../handles';
import type { FileHandleSummary, ForwardedParameter, PendingLeak, ReturnedHandle, UsedOnlyParameters } from '../summaries';
import { handleMode, rememberPythonHandleResult, runPythonHandles, type PythonHandleResult, type PythonHandleRun } from './handles';

/** What the next analysis of the same document starts from. */
export interface PythonHandleState {
  readonly text: string;
  readonly knowledge: PythonKnowledge;
  readonly run: PythonHandleRun;
  readonly definitions: readonly Definition[];
  /** Per definition (same index): the names the analysis looked up from its calls, in this run or an earlier one (see {@link PythonHandleRun.lookups}). */
  readonly lookedUp: readonly ReadonlySet<string>[];
  /** {@link handleMode} of the text. */
  readonly mode: ReturnType<typeof handleMode>;
  /** Where the first match of the knowledge's quick check (an opener's name) ends, or -1. */
  readonly quickEnd: number;
  /** Per definition: its import statements as the names table reads them (see {@link importsOf}); empty for most. */
  readonly imports: readonly string[];
}

/** The state after a run, or none when the run recorded a failure (a partial result is not reused). */
function stateAfter(failuresBefore: number, state: PythonHandleState): PythonHandleState | undefined {
  return pendingAnalysisFailures() > failuresBefore ? undefined : state;
}

/** What an open document keeps between two handle analyses (updated in place). */
export interface HandleReuse {
  state?: PythonHandleState;
  /** Definitions whose result the last analysis took from the one before (0: a whole analysis). */
  reused?: number;
}

/** Lines and statements that spell an import, as the text checks read them (`handles.ts`: `onlyStandardImports`, `IMPORT_STATEMENT`). */
const IMPORT_TEXT = [/^[ \t]*(?:from|import)\b[^\n]*/gm, /^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(?:\([^)]*\)|[^\n]*)/gm];
/** Text at column 0 after the first line, whole lines (a module-level binding the names table would read: `NAME = …`, `m = import_module(…)`). */
const COLUMN_ZERO = /\n[^ \t\r\n][^\n]*/g;

/**
 * The import statements of `[from, to)` the names table reads (an import line's keyword, confirmed
 * on the tree), then the text checks' import lines: all that a body gives the file's names.
 */
function importsOf(root: Node, text: string, from: number, to: number): string {
  const part = text.slice(from, to);
  if (!part.includes('import')) return '';
  const out: string[] = [];
  for (const m of part.matchAll(IMPORT_LINE)) {
    let node: Node | null = root.descendantForIndex(from + m.index + m[0].length - m[0].trimStart().length);
    for (let depth = 0; node && depth < 3; depth++, node = node.parent) {
      if (node.type === 'import_statement' || node.type === 'import_from_statement') {
        out.push(node.text);
        break;
      }
    }
  }
  for (const re of IMPORT_TEXT) out.push('', ...(part.match(re) ?? []));
  return out.join('\n');
}

/** Where the first match of `knowledge.quickCheck` (not global) ends in the text, or -1. */
function quickEndOf(text: string, knowledge: PythonKnowledge): number {
  const m = knowledge.quickCheck.exec(text);
  return m ? m.index + m[0].length : -1;
}

/** Every definition's {@link importsOf}. */
function importsOfAll(root: Node, text: string, definitions: readonly Definition[]): string[] {
  return definitions.map((d) => importsOf(root, text, d.start, d.end));
}

/** The body's lines that start at column 0 (after its first line). */
function columnZero(body: string): string {
  return (body.match(COLUMN_ZERO) ?? []).join('');
}

const DEFINED = /\b(?:def|class)[ \t]+([A-Za-z_]\w*)/g;

/** Names a definition gives others to look up: its own, its nested defs' and classes' (or text that looks like one), and its class's for `__init__`. */
function namesOf(d: Definition, text: string): string[] {
  const out = [...text.matchAll(DEFINED)].map((m) => m[1]);
  out.push(d.name);
  if (d.name === '__init__') out.push(...d.key.split('.').slice(0, -1));
  return out;
}

/** The names each definition looked up in `run`, added to `into` (copied where it grows). */
function addLookups(definitions: readonly Definition[], run: PythonHandleRun, into: ReadonlySet<string>[]): void {
  const copied = new Set<number>();
  for (const { at, name } of run.lookups) {
    const i = holding(definitions, at);
    if (i < 0 || into[i].has(name)) continue;
    if (!copied.has(i)) {
      into[i] = new Set(into[i]);
      copied.add(i);
    }
    (into[i] as Set<string>).add(name);
  }
}

/**
 * The definitions (indices) where a name of `names` is spelled as the searches for helpers
 * that return a fresh handle find their calls (`\bname\s*\(`, `\bname\b[\w.]*\s*\(`: in
 * code, comments and strings alike), per name.
 */
function calledIn(text: string, definitions: readonly Definition[], names: Iterable<string>): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const list = [...names];
  for (const n of list) out.set(n, new Set());
  if (list.length === 0) return out;
  const re = new RegExp(`\\b(?:${list.map(escapeRegExp).join('|')})\\b(?=[\\w.]*\\s*\\()`, 'g');
  for (const m of text.matchAll(re)) {
    const i = holding(definitions, m.index);
    if (i >= 0) out.get(m[0])!.add(i);
  }
  return out;
}

/** Whether a name of `names` is spelled as {@link calledIn} reads it in one of the `among` definitions (a 1 per index). */
function calledInAny(text: string, definitions: readonly Definition[], names: readonly string[], among: Uint8Array): boolean {
  if (names.length === 0) return false;
  // (The end of a definition's text counts as a bracket: what follows it may be one.)
  const re = new RegExp(`\\b(?:${names.map(escapeRegExp).join('|')})\\b(?=[\\w.]*\\s*(?:\\(|$))`);
  return definitions.some((d, i) => among[i] === 1 && re.test(text.slice(d.start, d.end)));
}

/** The top-level class of a method (`Outer` for `Outer.Inner.m`), undefined for a function. */
function classOf(d: Definition): string | undefined {
  const dot = d.key.indexOf('.');
  return dot < 0 ? undefined : d.key.slice(0, dot);
}

/** No name looked up. */
const NOTHING: ReadonlySet<string> = new Set();

/** The definition (index) holding `offset`, or -1. */
function holding(definitions: readonly Definition[], offset: number): number {
  let lo = 0;
  let hi = definitions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (offset < definitions[mid].start) hi = mid - 1;
    else if (offset >= definitions[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function beforePos(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

/** The definition (index) holding a position, or -1. */
function holdingPosition(definitions: readonly Definition[], p: Position): number {
  let lo = 0;
  let hi = definitions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const d = definitions[mid];
    if (beforePos(p, { line: d.startPosition.row, character: d.startPosition.column })) hi = mid - 1;
    else if (!beforePos(p, { line: d.endPosition.row, character: d.endPosition.column })) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Two lists in order by `key`, merged (the first list's item first on a tie). */
function merge<T>(a: readonly T[], b: readonly T[], before: (x: T, y: T) => boolean): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(before(b[j], a[i]) ? b[j++] : a[i++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/**
 * The handle analysis of `text` (parsed as `tree`), reusing `reuse.state` (an earlier version of
 * the same document) where the edit allows, and remembered for the tree so that the rule and the
 * summary read it. Same result as a whole analysis; never throws.
 */
export function analyzePythonHandlesReusing(tree: Tree, text: string, knowledge: PythonKnowledge, reuse: HandleReuse): PythonHandleResult {
  let result: PythonHandleResult;
  try {
    const r = incrementally(tree, text, knowledge, reuse.state);
    reuse.state = r.state;
    reuse.reused = r.reused;
    result = r.run.result;
  } catch (err) {
    recordAnalysisFailure('the Python handle analysis', err);
    reuse.state = undefined;
    reuse.reused = 0;
    result = { leaks: [], summary: { returnedHandles: [], pendingLeaks: [] } };
  }
  rememberPythonHandleResult(tree, text, knowledge, result);
  return result;
}

/** Exported for the tests: the run, the next state and how many definitions were reused. */
export function incrementally(tree: Tree, text: string, knowledge: PythonKnowledge, previous?: PythonHandleState): { run: PythonHandleRun; state: PythonHandleState | undefined; reused: number } {
  const root = tree.rootNode;
  if (root.hasError || root.endIndex !== text.length) return { run: runPythonHandles(tree, text, knowledge), state: undefined, reused: 0 };
  const definitions = definitionsOfTree(tree, text);
  const failuresBefore = pendingAnalysisFailures();
  const whole = () => {
    const run = runPythonHandles(tree, text, knowledge);
    const lookedUp: ReadonlySet<string>[] = definitions.map(() => NOTHING);
    addLookups(definitions, run, lookedUp);
    const quickEnd = quickEndOf(text, knowledge);
    const state = { text, knowledge, run, definitions, lookedUp, mode: handleMode(text, knowledge, quickEnd >= 0), quickEnd, imports: importsOfAll(root, text, definitions) };
    return { run, state: stateAfter(failuresBefore, state), reused: 0 };
  };
  if (!previous || previous.knowledge !== knowledge) return whole();
  const old = previous.text;
  if (old === text) return { run: previous.run, state: previous, reused: definitions.length };
  const located = locateEdit(old, previous.definitions, text, definitions);
  if (!located || located.edited < 0) return whole();
  const { edited, p, oldEnd, newEnd } = located;
  const was = previous.definitions;
  const e0 = was[edited];
  const e1 = definitions[edited];
  const oldBody = old.slice(e0.bodyStart, e0.end);
  const newBody = text.slice(e1.bodyStart, e1.end);
  // The names the module binds (imports anywhere, names at column 0): the same, or start afresh.
  if (columnZero(oldBody) !== columnZero(newBody)) return whole();
  const importsNow = importsOf(root, text, e1.start, e1.end);
  if (importsNow !== previous.imports[edited]) return whole();
  const oldText = old.slice(e0.start, e0.end);
  const newText = text.slice(e1.start, e1.end);
  const defined = (t: string) => [...t.matchAll(DEFINED)].map((m) => m[1]).sort().join();
  if (defined(oldText) !== defined(newText)) return whole();
  const modeOld = previous.mode;
  // An opener's name before the edit (the text before it is the same): the mode of any such text.
  const quickKept = previous.quickEnd >= 0 && previous.quickEnd < p;
  const quickEnd = quickKept ? previous.quickEnd : quickEndOf(text, knowledge);
  const modeNew = handleMode(text, knowledge, quickEnd >= 0);
  if (modeOld?.opens !== modeNew?.opens || modeOld?.releases !== modeNew?.releases) return whole();

  // Classes that held handles in fields: their methods go together.
  const fieldClasses = new Set<string>();
  for (const at of previous.run.fieldCalls) {
    const i = holding(was, at);
    const c = i >= 0 ? classOf(was[i]) : undefined;
    if (c) fieldClasses.add(c);
  }
  // What a definition's result reads of the others: the definitions named as it looked up
  // (through any chain of lookups: an owner's callees decide whether it keeps a handle), and
  // for a helper that returned a fresh handle, every definition the search for its calls
  // reaches (any call-shaped spelling of its name).
  const prev = previous.run;
  const freshBefore = new Set(prev.freshDefs.map((f) => f.name));
  const lookedUp = previous.lookedUp;
  const dirty = new Uint8Array(definitions.length);
  const names: string[] = [];
  const mark = (i: number) => {
    if (dirty[i]) return;
    dirty[i] = 1;
    names.push(...namesOf(definitions[i], text.slice(definitions[i].start, definitions[i].end)));
    const c = classOf(definitions[i]);
    if (c && fieldClasses.has(c)) definitions.forEach((d, j) => classOf(d) === c && mark(j));
  };
  mark(edited);
  names.push(...namesOf(e0, oldText));
  const seen = new Set<string>();
  const freshReached: string[] = [];
  for (;;) {
    while (names.length > 0) {
      const name = names.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (freshBefore.has(name)) freshReached.push(name);
      for (let i = 0; i < definitions.length; i++) if (!dirty[i] && lookedUp[i].has(name)) mark(i);
    }
    if (freshReached.length === 0) break;
    for (const callers of calledIn(text, definitions, freshReached.splice(0)).values()) for (const i of callers) mark(i);
  }

  const skip: [number, number][] = [];
  const cleanOld: Definition[] = [];
  for (let i = 0; i < definitions.length; i++) {
    if (dirty[i]) continue;
    skip.push([definitions[i].start, definitions[i].end]);
    cleanOld.push(was[i]);
  }
  if (skip.length === 0) return whole();
  const delta = text.length - old.length;
  const moveOffset = (o: number) => (o >= oldEnd ? o + delta : o);
  const inCleanOld = (offset: number) => holding(cleanOld, offset) >= 0;
  const freshNames = prev.freshDefs.filter((f) => inCleanOld(f.start)).map((f) => f.name);
  // A definition analysed again that calls a kept helper returning a fresh handle reports that
  // helper's open (in a skipped range) as what it returns, and the search for such helpers'
  // callers reaches it from the helper's name: only a whole analysis has both.
  if (calledInAny(text, definitions, freshNames, dirty)) return whole();
  for (const name of freshNames) if (definitions.some((_, i) => dirty[i] && lookedUp[i].has(name))) return whole();
  // The names table of the previous run: the imports and the lines at column 0 are the same.
  const run = runPythonHandles(tree, text, knowledge, skip, freshNames, { mode: modeNew, names: prev.names });
  // A helper that returns a fresh handle only after the edit: the definitions the search for its
  // calls reaches must all have been analysed again.
  const freshAfter = run.freshDefs.map((f) => f.name).filter((n) => !freshBefore.has(n));
  for (const callers of calledIn(text, definitions, freshAfter).values()) for (const i of callers) if (!dirty[i]) return whole();
  // A field store where the class's methods were not taken together: start afresh.
  for (const at of run.fieldCalls) {
    const i = holding(definitions, at);
    const c = i >= 0 ? classOf(definitions[i]) : undefined;
    if (c && !fieldClasses.has(c)) return whole();
  }

  const e = e0;
  const shift = new Shift(positionFrom(old, e.start, e.startPosition, p), positionFrom(old, e.start, e.startPosition, oldEnd), positionFrom(text, e.start, e.startPosition, newEnd));
  let inside = false;
  const move = <T>(v: T): T => {
    const m = shift.move(v);
    if (m === undefined) inside = true;
    return m ?? v;
  };
  const cleanAt = (pos: Position) => holdingPosition(cleanOld, pos) >= 0;
  const moveLeak = (l: HandleLeak): HandleLeak => {
    const m = move(l);
    return m === l ? l : { ...m, leakLine: l.leakLine + m.leakRange.start.line - l.leakRange.start.line };
  };
  const leaks = prev.result.leaks.filter((l) => cleanAt(l.openRange.start)).map(moveLeak);
  const pending = prev.result.summary.pendingLeaks
    .filter((pl) => cleanAt(pl.leak.openRange.start))
    .map((pl): PendingLeak => {
      const leak = moveLeak(pl.leak);
      return leak === pl.leak ? pl : { ...pl, leak };
    });
  const returned: { owner: number; handle: ReturnedHandle }[] = [];
  prev.result.summary.returnedHandles.forEach((h, i) => {
    if (inCleanOld(prev.returnedOwners[i])) returned.push({ owner: moveOffset(prev.returnedOwners[i]), handle: move(h) });
  });
  const kept = (list: readonly UsedOnlyParameters[] | undefined) => (list ?? []).filter((s) => cleanAt(s.range.start)).map((s) => move(s));
  const stored = kept(prev.result.summary.parametersStored);
  const returnedParameters = kept(prev.result.summary.parametersReturned);
  const releasedParameters = kept(prev.result.summary.parametersReleased);
  const forwardedParameters = (prev.result.summary.parametersForwarded ?? []).filter((f) => cleanAt(f.range.start)).map((f) => move(f));
  if (inside) return whole();

  const byOpen = (a: { openRange: { start: Position } }, b: { openRange: { start: Position } }) => beforePos(a.openRange.start, b.openRange.start);
  const now = run.result;
  const newReturned = now.summary.returnedHandles.map((handle, i) => ({ owner: run.returnedOwners[i], handle }));
  const mergedReturned = merge(newReturned, returned, (a, b) => a.owner < b.owner);
  const byRange = (a: UsedOnlyParameters, b: UsedOnlyParameters) => beforePos(a.range.start, b.range.start);
  const parametersStored: UsedOnlyParameters[] = merge(now.summary.parametersStored ?? [], stored, byRange);
  const parametersReturned: UsedOnlyParameters[] = merge(now.summary.parametersReturned ?? [], returnedParameters, byRange);
  const parametersReleased: UsedOnlyParameters[] = merge(now.summary.parametersReleased ?? [], releasedParameters, byRange);
  const parametersForwarded: ForwardedParameter[] = merge(now.summary.parametersForwarded ?? [], forwardedParameters, (a, b) => beforePos(a.range.start, b.range.start));
  const summary: FileHandleSummary = {
    returnedHandles: mergedReturned.map((r) => r.handle),
    pendingLeaks: merge(now.summary.pendingLeaks, pending, (a, b) => byOpen(a.leak, b.leak)),
    ...(parametersStored.length > 0 ? { parametersStored } : {}),
    ...(parametersReturned.length > 0 ? { parametersReturned } : {}),
    ...(parametersReleased.length > 0 ? { parametersReleased } : {}),
    ...(parametersForwarded.length > 0 ? { parametersForwarded } : {}),
  };
  const nextLookedUp = [...lookedUp];
  addLookups(definitions, run, nextLookedUp);
  const merged: PythonHandleRun = {
    result: { leaks: merge(now.leaks, leaks, byOpen), summary },
    returnedOwners: mergedReturned.map((r) => r.owner),
    freshDefs: merge(
      run.freshDefs,
      prev.freshDefs.filter((f) => inCleanOld(f.start)).map((f) => ({ start: moveOffset(f.start), name: f.name })),
      (a, b) => a.start < b.start,
    ),
    fieldCalls: merge(run.fieldCalls, prev.fieldCalls.filter(inCleanOld).map(moveOffset), (a, b) => a < b),
    lookups: run.lookups,
    ...(run.names ? { names: run.names } : {}),
  };
  return { run: merged, state: stateAfter(failuresBefore, { text, knowledge, run: merged, definitions, lookedUp: nextLookedUp, mode: modeNew, quickEnd, imports: previous.imports.map((s, i) => (i === edited ? importsNow : s)) }), reused: skip.length };
}
