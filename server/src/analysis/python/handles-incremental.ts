/**
 * The Python handle analysis (`handles.ts`, behind `unreleased-file` and the handle summaries)
 * of an edited file from the previous version's result (the editor path, issue #14), the way
 * `facts/python/incremental.ts` reuses facts: when an edit changed the body of one function or
 * method, the definitions whose result cannot depend on that body keep their findings and
 * summary entries (moved by the lines the edit added or removed), and the analysis skips them.
 * The result is the same, in the same order, as a whole analysis; anything else falls back to one.
 *
 * What a definition's result reads besides its own text, and how each is kept the same:
 * - other definitions, by name only (callees that take a handle over, helpers returning a fresh
 *   one, `__init__` through its class name): a definition that spells a name the edited body
 *   defines (or the edited function's own name, or its class's when it is `__init__`) is
 *   analysed again, and so, in turn, is every definition spelling one of its names;
 * - the class, for handles kept in fields (`self.f = open(p)`): every method of a class that
 *   held one before the edit is analysed again; a field store appearing in a class without one
 *   falls back to a whole analysis;
 * - imports and the names the module binds at the start of a line: an edited body that holds an
 *   import line or any text at column 0 (before or after) falls back;
 * - the file's gate (whether it names an opener, closes something): the same before and after,
 *   or a whole analysis;
 * - syntax errors: only error-free trees reuse.
 * Module-level code and class bodies are analysed every time.
 */
import type { Tree } from '../../parsing/parser';
import { definitionsOfTree, locateEdit, positionFrom, Shift, type Definition } from '../../facts/python/incremental';
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
  /** Per word: the definitions (indices) whose text spells it. */
  readonly spelledIn: ReadonlyMap<string, readonly number[]>;
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

const WORD = /[A-Za-z_]\w*/g;
const IMPORT_LINE = /^[ \t]*(?:from|import)[ \t\\]/m;
/** Text at column 0 after the first line (a module-level binding the names table would read). */
const COLUMN_ZERO = /\n[^ \t\r\n]/;
const DEFINED = /\b(?:def|class)[ \t]+([A-Za-z_]\w*)/g;

function wordsOf(text: string): Set<string> {
  return new Set(text.match(WORD) ?? []);
}

/** Names a definition gives others to spell: its own, its nested defs' and classes', and its class's for `__init__`. */
function namesOf(d: Definition, text: string): string[] {
  const out = [...text.matchAll(DEFINED)].map((m) => m[1]);
  out.push(d.name);
  if (d.name === '__init__') out.push(...d.key.split('.').slice(0, -1));
  return out;
}

function spelledIndex(definitions: readonly Definition[], text: string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  definitions.forEach((d, i) => {
    for (const w of wordsOf(text.slice(d.start, d.end))) {
      const list = index.get(w);
      if (list) list.push(i);
      else index.set(w, [i]);
    }
  });
  return index;
}

/** The top-level class of a method (`Outer` for `Outer.Inner.m`), undefined for a function. */
function classOf(d: Definition): string | undefined {
  const dot = d.key.indexOf('.');
  return dot < 0 ? undefined : d.key.slice(0, dot);
}

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
    return { run, state: stateAfter(failuresBefore, { text, knowledge, run, definitions, spelledIn: spelledIndex(definitions, text) }), reused: 0 };
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
  if (IMPORT_LINE.test(oldBody) || IMPORT_LINE.test(newBody) || COLUMN_ZERO.test(oldBody) || COLUMN_ZERO.test(newBody)) return whole();
  const oldText = old.slice(e0.start, e0.end);
  const newText = text.slice(e1.start, e1.end);
  const defined = (t: string) => [...t.matchAll(DEFINED)].map((m) => m[1]).sort().join();
  if (defined(oldText) !== defined(newText)) return whole();
  const modeOld = handleMode(old, knowledge);
  const modeNew = handleMode(text, knowledge);
  if (modeOld?.opens !== modeNew?.opens || modeOld?.releases !== modeNew?.releases) return whole();

  // The words index, with the edited definition's words replaced.
  const spelledIn = new Map<string, number[]>();
  const oldWords = wordsOf(oldText);
  const newWords = wordsOf(newText);
  for (const [w, list] of previous.spelledIn) spelledIn.set(w, oldWords.has(w) && !newWords.has(w) ? list.filter((i) => i !== edited) : [...list]);
  for (const w of newWords) {
    if (oldWords.has(w)) continue;
    const list = spelledIn.get(w);
    if (list) {
      list.push(edited);
      list.sort((a, b) => a - b);
    } else spelledIn.set(w, [edited]);
  }

  // Classes that held handles in fields: their methods go together.
  const fieldClasses = new Set<string>();
  for (const at of previous.run.fieldCalls) {
    const i = holding(was, at);
    const c = i >= 0 ? classOf(was[i]) : undefined;
    if (c) fieldClasses.add(c);
  }
  const dirty = new Uint8Array(definitions.length);
  const names: string[] = [];
  const mark = (i: number, ...texts: string[]) => {
    if (dirty[i]) return;
    dirty[i] = 1;
    for (const t of texts) names.push(...namesOf(definitions[i], t));
    const c = classOf(definitions[i]);
    if (c && fieldClasses.has(c)) definitions.forEach((d, j) => classOf(d) === c && mark(j, text.slice(d.start, d.end)));
  };
  mark(edited, oldText, newText);
  const seen = new Set<string>();
  while (names.length > 0) {
    const name = names.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    // (Both versions' spellings: what spelled it before the edit read the edited body too.)
    for (const i of [...(previous.spelledIn.get(name) ?? []), ...(spelledIn.get(name) ?? [])]) {
      if (!dirty[i]) mark(i, text.slice(definitions[i].start, definitions[i].end));
    }
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
  const prev = previous.run;
  const freshNames = prev.freshDefs.filter((f) => inCleanOld(f.start)).map((f) => f.name);
  // A definition analysed again that calls a kept helper returning a fresh handle reports that
  // helper's open (in a skipped range) as what it returns: only a whole analysis has it.
  for (const name of freshNames) {
    const word = name.slice(name.lastIndexOf('.') + 1);
    if ((spelledIn.get(word) ?? []).some((i) => dirty[i])) return whole();
  }
  const run = runPythonHandles(tree, text, knowledge, skip, freshNames);
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
  const merged: PythonHandleRun = {
    result: { leaks: merge(now.leaks, leaks, byOpen), summary },
    returnedOwners: mergedReturned.map((r) => r.owner),
    freshDefs: merge(
      run.freshDefs,
      prev.freshDefs.filter((f) => inCleanOld(f.start)).map((f) => ({ start: moveOffset(f.start), name: f.name })),
      (a, b) => a.start < b.start,
    ),
    fieldCalls: merge(run.fieldCalls, prev.fieldCalls.filter(inCleanOld).map(moveOffset), (a, b) => a < b),
  };
  return { run: merged, state: stateAfter(failuresBefore, { text, knowledge, run: merged, definitions, spelledIn }), reused: skip.length };
}
