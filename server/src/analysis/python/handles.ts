/**
 * Handle-lifetime analysis for Python (`unreleased-file`).
 *
 * 1. A text pre-check: a file that never spells an opener's name cannot open a handle.
 * 2. Imports are resolved (`import socket as s`, `from io import open`), then opener calls are
 *    found by a regex over the text and confirmed on the tree — no full walk in JavaScript.
 * 3. Each opener call is judged by its syntactic context: `with ...`, returned, yielded, stored
 *    in an attribute or container, handed to an owner → silent; `open(p).read()`,
 *    `json.load(open(p))`, `for line in open(p)` → `unbound`; `name = opener(...)` → tracked.
 * 4. For each scope (function, class body, module) holding a tracked open, a control-flow graph
 *    is built once and {@link findLeak} searches for a path on which the name is neither
 *    released nor handed on (normal paths first, then exception paths).
 *
 * Decisions (NOTE):
 * - `open(p, 'w').write(data)` is reported like `open(p).read()`. CPython's reference counting
 *   closes both at the end of the statement, but only as an implementation detail: PyPy and
 *   GraalPy close them at some later garbage collection (a written file may stay unflushed and
 *   a process can run out of descriptors), and CPython itself emits ResourceWarning for both.
 * - `open(p).close()` (touch/truncate idiom) is silent: the handle is closed at once.
 * - Module level and class bodies: a handle bound to a module global (or class attribute) is
 *   reachable from other modules for the life of the interpreter, like a C `main()`'s handles
 *   that live until exit, and is `cached-fd-across-fork`'s concern. Only an overwrite (which
 *   loses the previous handle for good) and unbound opens are reported there.
 * - Handles opened in `__enter__`/`__aenter__` are the object's to close in `__exit__`.
 * - `subprocess.Popen`: only a Popen created with a `PIPE` is a handle (see RELEASE_METHODS in
 *   knowledge.ts for what releases it). Without pipes it holds no descriptor in the parent and
 *   dropping it unwaited is a deliberate fire-and-forget (subprocess reaps the child later).
 * - Exceptions: calls, subscripts, awaits, `raise` and `assert` may raise, except a short list
 *   of harmless builtins/methods (knowledge.ts); statements inside a `finally` block are not
 *   given exception edges (a failing cleanup step is not reported as leaking the next one); a
 *   `try` whose handlers include a broad one (`Exception`, `OSError`, bare) keeps its body's
 *   exceptions, a `try` with only narrow handlers also lets them escape.
 * - Passing the handle to a function is a use (`json.load(f)`), except: closers and wrappers
 *   (knowledge tables), container/registration methods, setters (`x.setStream(f)`), class
 *   constructors (capitalised), `self.method(f)` defined elsewhere (a base class keeps it), and
 *   functions of this file whose graph shows they close or keep that parameter on every path.
 * - Silenced as tests of failure or mocks: a bare opener under `with self.assertRaises(...)`
 *   or in a `try` with handlers, any opener under `mock.patch(...)` naming it.
 */
import { findLeak, type FlowExitKind, type HandleEffect, type LeakPath } from '../flow';
import type { Range } from '../../text/locations';
import { nodeRange, walkTree, type Node, type Tree } from '../../parsing/parser';
import { ownerKeepsLeak, type HandleAnalyzer, type HandleLeak, type LeakKind } from '../handles';
import { buildScopeGraph, type FlagGuard, type PyNode, type PyPayload, type ScopeGraph } from './cfg';
import { callSink, classifyOccurrence, identifiersOf, lendingGenerator, payloadEffect, type CalleeRole, type EffectEnv, type Occurrence, type Subject } from './effects';
import {
  DETACH_METHODS,
  FILE_MODE_OPENER,
  PASSTHROUGH_CALLS,
  PROCESS_PIPE_KEYWORDS,
  PROCESS_RELEASE_WHEN_NO_PIPES,
  RELEASE_METHODS,
  type PyOpener,
  OWNER_RELEASE_METHODS,
  STDLIB_MODULES,
} from '../../knowledge/python-handles';
import { BUILTIN_KNOWLEDGE, type PythonKnowledge } from '../../knowledge/knowledge';
import { PyNames } from '../../facts/python/names';
import type { FileHandleSummary, ForwardedParameter, ImportedFunction, PendingLeak, ReturnedHandle, SummaryCondition } from '../summaries';
import { withStatementFix } from './with-fix';
import { positionAt } from '../../text/positions';
import { isWordCode } from '../../text/char-codes';
import { escapeRegExp, lineLocalMatches } from '../../text/regexp';
import { recordAnalysisFailure } from '../failures';
import { overwrittenFields } from './field-overwrites';
import { parameterCheck, storedParameters } from './stored-parameters';
import { parameterNames } from '../../facts/python/syntax-helpers';
import { parameterEffects } from './parameter-effects';
import { inSkipped, matchesOutside, outside, type SkippedRanges } from './skipped-ranges';

export type { SkippedRanges } from './skipped-ranges';

interface Candidate {
  call: Node;
  api: string;
  opener: PyOpener;
  hasPipes: boolean;
  /** A helper of this file returned the handle: the step that shows where it was opened. */
  returnedBy?: { range: Range; message: string };
  /** The leak is real only if this holds in another module (a pending leak). */
  requires?: SummaryCondition;
}

/** What a function of this file returns when it returns a fresh handle. */
interface FreshReturn {
  opener: PyOpener;
  api: string;
  open: Node;
  hasPipes: boolean;
  /** Helpers passed through, outermost first. */
  via: string[];
  /** Some path returns None instead (`open(p) if p else None`): `with helper() as f` would fail. */
  mayBeNone?: boolean;
}

/** One file's leaks and summary (see `analysis/summaries.ts`). */
export interface PythonHandleResult {
  leaks: HandleLeak[];
  summary: FileHandleSummary;
}

/** The text of a line before a call whose result it binds: `    f = `, `f: IO = await self.`. */
const ASSIGNED_CALL_PREFIX = /^[ \t]*[A-Za-z_]\w*[ \t]*(?::[^=\n]*)?=[ \t]*(?:await[ \t]+)?(?:[A-Za-z_]\w*\.)*$/;

/** A returned-handle summary entry and the offset of the def it describes. */
interface OwnedReturn {
  owner: number;
  handle: ReturnedHandle;
}

/** Stands for a skipped def's fresh return in the helper-name table (only the names are read). */
const SKIPPED_FRESH = {} as FreshReturn;

function comparePositions(a: { line: number; character: number }, b: { line: number; character: number }): number {
  return a.line - b.line || a.character - b.character;
}

/** What an imported helper's handle is taken to be until its summary says otherwise. */
const IMPORTED_HELPER_OPENER: PyOpener = { kind: 'file', withFix: false };

/** "`open_blob()` returns the handle from open() opened here" (through its helpers). */
function returnedMessage(callee: string, r: FreshReturn): string {
  const chain = [callee, ...r.via].map((v) => `${v}()`).join(' → ');
  return `${chain} returns the handle from ${r.api}() opened here`;
}

/**
 * Does the statement of `value` (a call, through `await`) run on every path of the function
 * whose body is `body` that returns: a statement of its own block, or of the `finally` of a `try` statement there, with
 * no `return` of `def` before it?
 */
function runsOnEveryPath(value: Node, body: Node, returns: readonly Node[]): boolean {
  const stmt = value.parent;
  if (stmt?.type !== 'expression_statement') return false;
  const block = stmt.parent;
  const inFinally = block?.type === 'block' && block.parent?.type === 'finally_clause' && block.parent.parent?.type === 'try_statement' && block.parent.parent.parent?.id === body.id;
  if (block?.id !== body.id && !inFinally) return false;
  // A `return` in the `try` whose `finally` holds the statement runs it too.
  const tryStatement = inFinally ? block.parent!.parent! : undefined;
  const escapes = (r: Node) => r.startIndex < stmt.startIndex && !(tryStatement && r.startIndex >= tryStatement.startIndex && r.endIndex <= tryStatement.endIndex);
  return !returns.some(escapes);
}

/** A statement that starts with a call (`return await m.f(`, `close_quietly(`); group 1 is the `return`, group 2 the callee's first name. */
const STATEMENT_CALL = /^[ \t]*(return[ \t]+)?(?:await[ \t]+)?([A-Za-z_]\w*)[\w.]*[ \t]*\(/gm;

/** Every `return` statement of the function whose body is `body` (nested functions and classes excluded). */
function returnStatements(body: Node): Node[] {
  if (!body.text.includes('return')) return [];
  return body.descendantsOfType('return_statement').filter((r): r is Node => !!r && ownedBy(r, body));
}

/** Is `node` directly in `body`'s function (not in a nested function, class or lambda)? */
function ownedBy(node: Node, body: Node): boolean {
  for (let n = node.parent; n && n.id !== body.id; n = n.parent) {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
  }
  return true;
}

/** The kinds of node that open a scope of their own inside a body. */
const NESTED_SCOPE_TYPES = new Set(['function_definition', 'lambda', 'class_definition']);

/**
 * The outermost functions, lambdas and classes inside `body`, in document order. `mostlyNested`
 * (a module's or a class's body, which are mostly functions): one walk that does not enter
 * them, instead of a search that also returns every method of every class, each made into a
 * node object; a function's body is mostly its own statements, and the native search over it
 * is faster.
 */
function outermostNestedScopes(body: Node, mostlyNested: boolean): Node[] {
  const out: Node[] = [];
  if (!mostlyNested) {
    let coveredUntil = -1;
    for (const nested of body.descendantsOfType([...NESTED_SCOPE_TYPES])) {
      if (!nested || nested.startIndex < coveredUntil) continue;
      coveredUntil = nested.endIndex;
      out.push(nested);
    }
    return out;
  }
  walkTree(body, (cursor) => {
    const nested = NESTED_SCOPE_TYPES.has(cursor.nodeType);
    if (nested) out.push(cursor.currentNode);
    return !nested;
  });
  return out;
}

/** The `return` values of a function body (nested functions and classes excluded). */
function returnValues(body: Node): Node[] {
  if (!body.text.includes('return')) return [];
  const out: Node[] = [];
  for (const r of body.descendantsOfType('return_statement')) {
    const v = r && ownedBy(r, body) ? r.namedChild(0) : null;
    if (v) out.push(v);
  }
  return out;
}

function containsYield(body: Node): boolean {
  if (!body.text.includes('yield')) return false;
  return body.descendantsOfType('yield').some((y) => !!y && ownedBy(y, body));
}

/** The nodes that bind a name in a body (see {@link singleAssignment}). */
const BINDING_TYPES = ['assignment', 'augmented_assignment', 'for_statement', 'as_pattern_target'];

/** `name = <value>` when it is the only binding of `name` in the body (nested functions, classes and lambdas excluded). */
function singleAssignment(body: Node, name: string): Node | undefined {
  let found: Node | undefined;
  let count = 0;
  // One native search for the binding kinds instead of a walk over every node of the body.
  for (const n of body.descendantsOfType(BINDING_TYPES)) {
    if (!n) continue;
    const binds = n.type === 'as_pattern_target' ? n.text === name : n.childForFieldName('left')?.text === name;
    if (!binds || !ownedBy(n, body)) continue;
    count++;
    if (n.type !== 'for_statement' && n.type !== 'as_pattern_target') found = n.type === 'assignment' ? (n.childForFieldName('right') ?? undefined) : undefined;
    if (count > 1) return undefined;
  }
  return count === 1 ? found : undefined;
}

/** How other modules name a def: `['open_blob']` at module level, `['Store', 'open']` in a top-level class. */
function exportPathOf(def: Node): string[] | undefined {
  const name = def.childForFieldName('name')?.text;
  if (!name || name.startsWith('__')) return undefined;
  let p = def.parent;
  if (p?.type === 'decorated_definition') p = p.parent;
  if (p?.type === 'module') return [name];
  if (p?.type === 'block' && p.parent?.type === 'class_definition' && p.parent.parent?.type === 'module') {
    const cls = p.parent.childForFieldName('name')?.text;
    return cls ? [cls, name] : undefined;
  }
  return undefined;
}

/** The methods that release a file (what an imported helper's handle is taken to be), as a regex alternation. */
const FILE_RELEASE_METHOD_NAMES = [...RELEASE_METHODS.file].map(escapeRegExp).join('|');

/** Does the scope release `name` itself somewhere (`name.close()`, `with name`, `closing(name)`)? */
function releasesSomewhere(scopeText: string, name: string): boolean {
  if (!scopeText.includes(`${name}.`) && !scopeText.includes('closing(') && !scopeText.includes('with')) return false;
  const n = escapeRegExp(name);
  return new RegExp(`\\b${n}\\.(?:${FILE_RELEASE_METHOD_NAMES})\\(|\\bwith\\b[^\\n:]*\\b${n}\\b|\\bclosing\\(\\s*${n}\\b`).test(scopeText);
}

/**
 * `f = open(p) if c else sys.stdin`: the handle is opened only where `condition` has the value
 * `when`; on the other arm the variable holds an object the scope does not own.
 */
interface OpenedArm {
  condition: Node;
  when: boolean;
}

interface Tracked extends Candidate {
  stmt: Node;
  variable: string;
  scope: Node;
  arm?: OpenedArm;
  /** Followed into the result of a pass-through helper of another module (`g = ensure_open(f)`): the handle it came from and the call. */
  passedFrom?: { tracked: Tracked; call: Node };
}

/** A call that passes a handle to a function of another workspace module (see `PythonFile.passedToImported`). */
interface PassedToImported {
  callee: ImportedFunction;
  /** The argument: its position, identifier node and text. */
  argument: { index: number; node: Node; text: string };
  call: Node;
  /** `g = helper(f)`: the name the result is bound to and the statement. */
  bound?: { name: string; stmt: Node };
}

/**
 * Whether the function around a bare descriptor open closed descriptor 0 before it
 * (`os.closerange(0, n)`, `os.close(0)`, `sys.stdin.close()`) or duplicates descriptor 0
 * after it (`os.dup2(0, 1)`): the open then deliberately takes number 0.
 */
function reopensStdin(stmt: Node): boolean {
  let fn: Node | null = stmt.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'module') fn = fn.parent;
  if (!fn) return false;
  const text = fn.text;
  const at = stmt.startIndex - fn.startIndex;
  const before = text.slice(0, at);
  const after = text.slice(at + stmt.text.length);
  return /\b(closerange|close_range)\(\s*0\s*,|\bclose\(\s*0\s*\)|\bstdin\.close\(\)/.test(before) || /\bdup2\(\s*0\s*,/.test(after);
}

type Context =
  | { type: 'silent' }
  | { type: 'unbound'; stmt: Node }
  | { type: 'tracked'; stmt: Node; variable: string; arm?: OpenedArm }
  /** `self.log = open(p)`: the object owns it (see {@link PythonFile.unreleasedFields}). */
  | { type: 'field'; stmt: Node; field: string };

/**
 * The last result per tree: `unreleased-file` and `wsgi-response-not-closed` (which leaves a
 * generator's file to it) both ask during one analysis of a file, and it is computed once.
 */
const LAST = new WeakMap<Tree, { text: string; knowledge: PythonKnowledge; result: PythonHandleResult }>();

const EMPTY: PythonHandleResult = { leaks: [], summary: { returnedHandles: [], pendingLeaks: [] } };

/** Never throws: a file the analysis cannot handle yields no findings. */
export const analyzePythonHandles: HandleAnalyzer = (tree, text, _path, knowledge = BUILTIN_KNOWLEDGE) => analyzePythonFile(tree, text, knowledge.python).leaks;

/** The file's handle summary for other files (and its pending leaks). */
export function summarizePythonHandles(tree: Tree, text: string, knowledge: PythonKnowledge = BUILTIN_KNOWLEDGE.python): FileHandleSummary {
  return analyzePythonFile(tree, text, knowledge).summary;
}

/** Both halves, once per tree; never throws. */
export function analyzePythonFile(tree: Tree, text: string, knowledge: PythonKnowledge = BUILTIN_KNOWLEDGE.python): PythonHandleResult {
  const hit = LAST.get(tree);
  if (hit && hit.text === text && hit.knowledge === knowledge) return hit.result;
  let result: PythonHandleResult;
  try {
    result = analyzePythonFileStrict(tree, text, knowledge);
  } catch (err) {
    recordAnalysisFailure('the Python handle analysis', err);
    result = EMPTY;
  }
  LAST.set(tree, { text, knowledge, result });
  return result;
}

/** Makes `result` the one {@link analyzePythonFile} gives for this tree and text (an incremental analysis computed it). */
export function rememberPythonHandleResult(tree: Tree, text: string, knowledge: PythonKnowledge, result: PythonHandleResult): void {
  LAST.set(tree, { text, knowledge, result });
}

/** Same as {@link analyzePythonHandles} but lets errors through (tests and measurements). */
export function analyzePythonHandlesStrict(tree: Tree, text: string, knowledge: PythonKnowledge = BUILTIN_KNOWLEDGE.python): HandleLeak[] {
  return analyzePythonFileStrict(tree, text, knowledge).leaks;
}

/**
 * A file that names no opener can still leak a handle another module's helper returns, if
 * it imports something and closes something (`f = store.open_blob(p) … f.close()`).
 */
const IMPORTED_HELPER_CHECK = /^[ \t]*(?:from|import)[ \t]/m;
const RELEASE_CHECK = /\.close\(|\bclosing\(|\bwith[ \t]+[A-Za-z_]\w*[ \t]*(?::|as\b)/;
/** A line that returns a call's result with a plain name among its arguments (`return util.ensure_open(f)`); group 1 is the callee's first name. */
const RETURNS_CALL_LINE = /^[ \t]*return[ \t]+(?:await[ \t]+)?([A-Za-z_]\w*)[\w.]*[ \t]*\((?:[^()\n]*,)?[ \t]*[A-Za-z_]\w*[ \t]*[,)]/gm;
/** An import statement (a parenthesised name list may span lines). */
const IMPORT_STATEMENT = /^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+(?:\([^)]*\)|[^\n]*)/gm;

/**
 * A cheap text check before the handle analysis's names are built for a file it would not
 * otherwise analyse: some `return callee(…, name, …)` calls a name one of its imports binds, and
 * the file imports something besides the standard library.
 */
function returnsImportedCall(text: string): boolean {
  if (!text.includes('return') || !IMPORTED_HELPER_CHECK.test(text) || onlyStandardImports(text)) return false;
  const callees = new Set([...text.matchAll(RETURNS_CALL_LINE)].map((m) => m[1]));
  if (callees.size === 0) return false;
  const imported = new Set<string>();
  for (const m of text.matchAll(IMPORT_STATEMENT)) for (const w of m[0].matchAll(/[A-Za-z_]\w*/g)) imported.add(w[0]);
  for (const c of callees) if (imported.has(c)) return true;
  return false;
}
/** `return helper(…)`: the file may pass an imported helper's handle on. */
const RETURNS_CALL = /\breturn[ \t]+[A-Za-z_][\w.]*[ \t]*\(/g;

/** Every import of the file names a standard-library module: no workspace helper to follow. */
function onlyStandardImports(text: string): boolean {
  for (const m of text.matchAll(/^[ \t]*(?:from[ \t]+(\.*)([A-Za-z_]\w*)?|import[ \t]+([A-Za-z_]\w*))/gm)) {
    if (m[1]) return false;
    const root = m[2] ?? m[3];
    if (root && !STDLIB_MODULES.has(root) && root !== '__future__') return false;
  }
  return true;
}

function analyzePythonFileStrict(tree: Tree, text: string, knowledge: PythonKnowledge): PythonHandleResult {
  return runPythonHandles(tree, text, knowledge).result;
}

/**
 * Which parts of the file an analysis looks at: whether it names an opener (`opens`), and
 * whether it closes something (`releases`); `undefined` when nothing in it can leak.
 * `namesOpener`: whether `knowledge.quickCheck` matches the text, when the caller knows.
 */
export function handleMode(text: string, knowledge: PythonKnowledge, namesOpener = knowledge.quickCheck.test(text)): { opens: boolean; releases: boolean } | undefined {
  if (namesOpener) return { opens: true, releases: true };
  if (!IMPORTED_HELPER_CHECK.test(text) || onlyStandardImports(text)) return undefined;
  const releases = RELEASE_CHECK.test(text);
  RETURNS_CALL.lastIndex = 0;
  const passesOn = RETURNS_CALL.test(text);
  return releases || passesOn ? { opens: false, releases } : undefined;
}

/** One run of the handle analysis, with what an incremental analysis needs to reuse parts of it. */
export interface PythonHandleRun {
  result: PythonHandleResult;
  /** Per `result.summary.returnedHandles` entry: the offset of the def it describes. */
  returnedOwners: number[];
  /** Defs found to return a fresh handle: offset and name (their names find helper calls). */
  freshDefs: { start: number; name: string }[];
  /** Offsets of `self.<field> = <opener>` calls (classes that hold handles in fields). */
  fieldCalls: number[];
  /**
   * Every name the analysis looked up among the file's definitions (a callee, a receiver class)
   * and where the call or callee that asked starts: what reads another definition of the file
   * by name (an incremental analysis follows these).
   */
  lookups: { at: number; name: string }[];
  /** The names table the run read, if it built one. */
  names?: PyNames;
}

/**
 * What an incremental analysis knows already of the text (`handles-incremental.ts`): its
 * {@link handleMode}, and a names table equal to the one the text would give (the imports and
 * the lines at column 0 are those of the version it was built from).
 */
export interface KnownParts {
  mode: ReturnType<typeof handleMode>;
  names?: PyNames;
}

/**
 * The handle analysis of the file; with `skip`, what lies in those ranges is left out of the
 * result (an incremental analysis takes it from the previous version), and `freshNames` are
 * names of skipped defs that return a fresh handle (their callers elsewhere are candidates).
 * Summary lists are in document order.
 */
export function runPythonHandles(tree: Tree, text: string, knowledge: PythonKnowledge, skip?: SkippedRanges, freshNames: readonly string[] = [], known?: KnownParts): PythonHandleRun {
  const mode = known ? known.mode : handleMode(text, knowledge);
  const names = known?.names;
  let file = mode ? new PythonFile(tree, text, knowledge, skip, freshNames, names) : undefined;
  const run: PythonHandleRun = file && mode ? file.runAll(mode.opens, mode.releases) : { result: EMPTY, returnedOwners: [], freshDefs: [], fieldCalls: [], lookups: [] };
  const stored = storedParameters(tree, text, exportPathOf, skip);
  const { returned, released } = parameterEffects(tree, text, exportPathOf, (def, name, descriptor) => (file ??= new PythonFile(tree, text, knowledge, skip, [], names)).releasesParameter(def, name, descriptor), skip);
  // Parameters passed on to other modules' functions: returned results wherever `return helper(` is
  // spelled; releases where the handle analysis runs anyway (it has the names and graphs at hand).
  const forwards = file || returnsImportedCall(text) ? (file ??= new PythonFile(tree, text, knowledge, skip, [], names)).forwardedParameters(exportPathOf, !mode) : [];
  if (file) {
    run.lookups = file.lookups;
    run.names = file.names;
  }
  if (stored.length > 0 || returned.length > 0 || released.length > 0 || forwards.length > 0) {
    run.result = {
      ...run.result,
      summary: {
        ...run.result.summary,
        ...(stored.length > 0 ? { parametersStored: stored } : {}),
        ...(returned.length > 0 ? { parametersReturned: returned } : {}),
        ...(released.length > 0 ? { parametersReleased: released } : {}),
        ...(forwards.length > 0 ? { parametersForwarded: forwards } : {}),
      },
    };
  }
  return run;
}

function isField(parent: Node, field: string, child: Node): boolean {
  const f = parent.childForFieldName(field);
  return f !== null && f.id === child.id;
}

/** A line that starts a `def` or `class` (after its indentation and an optional `async`), up to the defined name. */
const DEFINITION_HEADER = /^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+/gm;

/** One header line: where its keyword (`async`, `def` or `class`) and the defined name start. */
interface DefinitionHeader {
  keywordAt: number;
  nameAt: number;
}

/** Every header line of the text, in document order: one scan, which each name asked then filters. */
function definitionHeaders(text: string): DefinitionHeader[] {
  const out: DefinitionHeader[] = [];
  for (const m of text.matchAll(DEFINITION_HEADER)) out.push({ keywordAt: m.index + m[0].length - m[0].trimStart().length, nameAt: m.index + m[0].length });
  return out;
}

/** Whether a word boundary (`\b`) lies at `index` of `text`, as a regular expression sees it. */
function wordEndsAt(text: string, index: number): boolean {
  const before = index > 0 && isWordCode(text.charCodeAt(index - 1));
  const after = index < text.length && isWordCode(text.charCodeAt(index));
  return before !== after;
}

const SCOPE_TYPES = new Set(['function_definition', 'class_definition', 'module']);
const LOOP_TYPES = new Set(['for_statement', 'while_statement']);

interface DefIndex {
  functions: Node[];
  methods: Node[];
  classes: Node[];
}


class PythonFile implements EffectEnv {
  readonly names: PyNames;
  private linesMemo: string[] | undefined;
  private readonly lineStarts: number[] = [0];
  private readonly defs = new Map<string, DefIndex>();
  /** The file's `def` and `class` header lines (see {@link definitionHeaders}), read on the first {@link definitions} asked. */
  private headers: DefinitionHeader[] | undefined;
  private readonly ownerMemo = new Map<string, boolean>();
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    readonly knowledge: PythonKnowledge,
    /** Ranges left out of the result (see {@link runPythonHandles}). */
    private readonly skip?: SkippedRanges,
    /** Names of skipped defs that return a fresh handle. */
    private readonly skippedFreshNames: readonly string[] = [],
    names?: PyNames,
  ) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.names = names ?? new PyNames(tree, text, (index) => this.positionOf(index));
  }

  /** The file's lines (only the `with` fix needs them). */
  private get lines(): string[] {
    return (this.linesMemo ??= this.text.split('\n'));
  }

  private readonly pending: PendingLeak[] = [];
  private readonly freshMemo = new Map<number, FreshReturn | null>();

  /**
   * Leaks and summary. `opens`: the file names an opener (else only imported helpers can
   * leak); `releases`: it closes something (else no pending leak can be kept).
   */
  runAll(opens: boolean, releases: boolean): PythonHandleRun {
    const openers = opens ? this.candidates() : [];
    this.openerCalls = openers.map((c) => c.call);
    const candidates = [...openers, ...(opens || releases ? this.helperCandidates(opens) : [])];
    const leaks = this.run(candidates);
    const returned = opens ? this.returnedHandles() : this.passedOnResults();
    // Document order (of the def each entry describes; of the open for pending leaks), so that
    // a list merged from reused and new parts is the list of a whole analysis.
    const order = returned.map((r, i) => i).sort((a, b) => returned[a].owner - returned[b].owner || a - b);
    const pending = this.pending
      .map((p, i) => ({ p, i }))
      .sort((a, b) => comparePositions(a.p.leak.openRange.start, b.p.leak.openRange.start) || a.i - b.i)
      .map(({ p }) => p);
    const freshDefs: { start: number; name: string }[] = [];
    if (opens) {
      for (const def of this.freshDefinitions().keys()) {
        const name = def.childForFieldName('name')?.text;
        if (name) freshDefs.push({ start: def.startIndex, name });
      }
    }
    return {
      result: { leaks, summary: { returnedHandles: order.map((i) => returned[i].handle), pendingLeaks: pending } },
      returnedOwners: order.map((i) => returned[i].owner),
      freshDefs,
      fieldCalls: this.fieldCalls,
      lookups: this.lookups,
    };
  }

  /** Offsets of the field stores' opener calls ({@link PythonHandleRun.fieldCalls}). */
  private fieldCalls: number[] = [];

  run(candidates: Candidate[]): HandleLeak[] {
    const out: HandleLeak[] = [];
    const byScope = new Map<number, { scope: Node; tracked: Tracked[] }>();
    const fields: { c: Candidate; field: string; method: Node; stmt: Node }[] = [];
    for (const c of candidates) {
      const scope = enclosingScope(c.call);
      if (scope.type === 'function_definition' && /^__a?enter__$/.test(scope.childForFieldName('name')?.text ?? '')) continue;
      if (underMockPatch(c.call, c.api.slice(c.api.lastIndexOf('.') + 1))) continue;
      // Inside a region the parser could not make sense of, the context is unreliable.
      if (insideError(c.call)) continue;
      const ctx = this.contextOf(c);
      if (ctx.type === 'unbound') {
        if (c.requires || c.returnedBy) continue; // a helper's result used once is the helper's business
        out.push(this.unboundLeak(c, ctx.stmt));
      } else if (ctx.type === 'field') {
        if (!c.requires && scope.type === 'function_definition') fields.push({ c, field: ctx.field, method: scope, stmt: ctx.stmt });
      } else if (ctx.type === 'tracked') {
        if (c.requires && !releasesSomewhere(this.text.slice(scope.startIndex, scope.endIndex), ctx.variable)) continue;
        let group = byScope.get(scope.id);
        if (!group) byScope.set(scope.id, (group = { scope, tracked: [] }));
        // `with (open(p) if c else sys.stdin) as f` would close the object on the other arm too.
        const opener = ctx.arm ? { ...c.opener, withFix: false } : c.opener;
        group.tracked.push({ ...c, opener, stmt: ctx.stmt, variable: ctx.variable, scope, ...(ctx.arm ? { arm: ctx.arm } : {}) });
      }
    }
    for (const { scope, tracked } of byScope.values()) {
      for (const { leak, requires } of this.analyseScope(scope, tracked)) {
        if (requires) this.pending.push({ leak, requires });
        else out.push(leak);
      }
    }
    this.fieldCalls = fields.map((f) => f.c.call.startIndex);
    const overwritten = fields.length > 1 ? overwrittenFields(fields.map(({ c, field, method, stmt }) => ({ call: c.call, api: c.api, field, method, stmt }))) : [];
    const stranded = new Set(overwritten.map((l) => `${l.openRange.start.line}:${l.openRange.start.character}`));
    out.push(...overwritten, ...this.unreleasedFields(fields.filter((f) => !stranded.has(`${f.c.call.startPosition.row}:${f.c.call.startPosition.column}`))));
    out.sort((a, b) => a.openRange.start.line - b.openRange.start.line || a.openRange.start.character - b.openRange.start.character);
    return out;
  }

  /**
   * Owned fields: a class that keeps a handle in `self.<field>` and has a method that
   * releases what the object holds (`close`, `__exit__`, …) must release that field there,
   * or in a method of the class it calls (`self._cleanup()`). Any mention of the field in
   * those methods other than assigning it counts as handling it (`self.f.close()`,
   * `closing(self.f)`, `for f in (self.a, self.b): f.close()`, `if self.f: …`); setting it
   * to None alone does not. A class whose release method calls `super()` and that has a base
   * class is left alone (the base may release it).
   */
  private unreleasedFields(fields: { c: Candidate; field: string; method: Node }[]): HandleLeak[] {
    const out: HandleLeak[] = [];
    const reported = new Set<string>();
    for (const { c, field, method } of fields) {
      let cls: Node | null = method.parent;
      while (cls && cls.type !== 'class_definition' && cls.type !== 'function_definition') cls = cls.parent;
      if (cls?.type !== 'class_definition') continue; // a nested function's `self`, or none
      const body = cls?.childForFieldName('body');
      const className = cls?.childForFieldName('name')?.text;
      if (!cls || !body || !className || OWNER_RELEASE_METHODS.has(method.childForFieldName('name')?.text ?? '')) continue;
      const methods = new Map<string, Node>();
      for (const child of body.namedChildren) {
        const def = child?.type === 'decorated_definition' ? child.childForFieldName('definition') : child;
        const name = def?.type === 'function_definition' ? def.childForFieldName('name')?.text : undefined;
        if (def && name) methods.set(name, def);
      }
      const releasers = [...methods.entries()].filter(([name]) => OWNER_RELEASE_METHODS.has(name));
      if (releasers.length === 0) continue;
      const hasBase = (cls.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => b && b.text !== 'object');
      // The methods each releaser runs, through `self.m()` calls of this class.
      const handled = (start: Node): boolean => {
        const seen = new Set<string>();
        const queue = [start];
        const mention = new RegExp(`\\bself\\.${escapeRegExp(field)}\\b(?!\\s*=(?!=))`);
        while (queue.length > 0) {
          const def = queue.shift()!;
          const text = def.text;
          if (mention.test(text.slice(text.indexOf(':') + 1))) return true;
          if (hasBase && /\bsuper\(\)/.test(text)) return true;
          for (const m of text.matchAll(/\bself\.([A-Za-z_]\w*)\s*\(/g)) {
            const next = methods.get(m[1]);
            if (next && !seen.has(m[1])) {
              seen.add(m[1]);
              queue.push(next);
            }
          }
        }
        return false;
      };
      // Released somewhere else in the class (`self.f.close()` in another method, or looked up
      // by name: `getattr(self, 'f', None)`): the class manages it; not second-guessed here.
      const f = escapeRegExp(field);
      if (new RegExp(`\\bself\\.${f}\\s*\\.\\s*(?:close|shutdown|release|detach)\\s*\\(|\\bclose\\w*\\(\\s*self\\.${f}\\b|['"]${f}['"]`).test(body.text)) continue;
      for (const [name, def] of releasers) {
        if (handled(def)) continue;
        const key = `${cls.id}:${field}`;
        if (reported.has(key)) break;
        reported.add(key);
        out.push(ownerKeepsLeak({ variable: `self.${field}`, api: c.api, call: c.call }, def, `${className}.${name}`));
        break;
      }
    }
    return out;
  }

  // ---- finding opener calls ---------------------------------------------------------------

  private candidates(): Candidate[] {
    const openers = this.knowledge.openers;
    const words = new Set(this.knowledge.openerWords);
    for (const [local, qualified] of this.names.localNames()) if (openers.has(qualified)) words.add(local);
    const re = new RegExp(`\\b(?:${[...words].map(escapeRegExp).join('|')})\\s*\\(`, 'g');
    const seen = new Set<number>();
    const out: Candidate[] = [];
    const root = this.tree.rootNode;
    for (const m of matchesOutside(this.text, re, this.skip)) {
      const node = root.descendantForPosition(this.positionOf(m.index));
      if (!node || node.type !== 'identifier') continue;
      const p = node.parent;
      let callee: Node | null = null;
      if (p && p.type === 'call' && isField(p, 'function', node)) callee = node;
      else if (p && p.type === 'attribute' && node.startIndex !== p.startIndex && p.parent?.type === 'call' && isField(p.parent, 'function', p)) callee = p;
      if (!callee) continue;
      const call = callee.parent;
      if (!call || seen.has(call.id)) continue;
      const q = this.names.qualify(callee);
      const opener = (q === null ? undefined : openers.get(q)) ?? this.methodOpener(callee) ?? this.fileModeOpener(callee, call);
      if (!opener) continue;
      seen.add(call.id);
      const hasPipes = opener.kind === 'process' && hasPipeArgument(call);
      // NOTE: a Popen created without any PIPE holds no descriptor in the parent; dropping it
      // unwaited is a deliberate fire-and-forget (subprocess reaps the child later, and a
      // detached browser or daemon is meant to outlive us). Only Popens with pipes are handles.
      if (opener.kind === 'process' && !hasPipes) continue;
      // `open(fd, closefd=False)` / `io.FileIO(fd, closefd=False)` wrap a descriptor they never close.
      if (opener.kind === 'file' && /\bclosefd\s*=\s*False\b/.test(call.childForFieldName('arguments')?.text ?? '')) continue;
      out.push({ call, api: callee.text.replace(/\s+/g, ''), opener, hasPipes });
    }
    return out;
  }

  /** `client.open_session()`: a method the user declared an opener, on a receiver that is not a module. */
  private methodOpener(callee: Node): PyOpener | undefined {
    if (callee.type !== 'attribute' || this.knowledge.methodOpeners.size === 0) return undefined;
    const opener = this.knowledge.methodOpeners.get(callee.childForFieldName('attribute')?.text ?? '');
    const object = callee.childForFieldName('object');
    if (!opener || !object || (object.type === 'identifier' && this.names.isImported(object.text))) return undefined;
    return opener;
  }

  /** `path.open("rb")`: see {@link FILE_MODE_OPENER}. */
  private fileModeOpener(callee: Node, call: Node): PyOpener | undefined {
    if (callee.type !== 'attribute' || callee.childForFieldName('attribute')?.text !== FILE_MODE_OPENER.method) return undefined;
    const object = callee.childForFieldName('object');
    if (!object || (object.type === 'identifier' && this.names.isImported(object.text))) return undefined;
    const args = call.childForFieldName('arguments');
    const first = args?.namedChild(0);
    const mode =
      first && first.type !== 'keyword_argument'
        ? first
        : args?.namedChildren.find((a) => a?.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'mode')?.childForFieldName('value');
    if (mode?.type !== 'string' || mode.namedChildCount > 3) return undefined;
    const content = mode.namedChildren.find((c) => c?.type === 'string_content')?.text ?? '';
    return FILE_MODE_OPENER.mode.test(content) ? FILE_MODE_OPENER.opener : undefined;
  }

  private positionOf(index: number): { row: number; column: number } {
    const p = positionAt(this.lineStarts, index);
    return { row: p.line, column: p.character };
  }

  /** Where the value of the opener call goes. */
  private contextOf(c: Candidate): Context {
    const subject: Subject = { name: '', kind: c.opener.kind, hasPipes: c.hasPipes, releaseMethods: c.opener.releaseMethods };
    let cur = c.call;
    let arm: OpenedArm | undefined;
    for (;;) {
      const p = cur.parent;
      if (!p) return { type: 'silent' };
      switch (p.type) {
        case 'parenthesized_expression':
        case 'await':
        case 'keyword_argument':
          cur = p;
          continue;
        case 'conditional_expression': {
          if (p.namedChild(1)?.id === cur.id) return { type: 'unbound', stmt: statementOf(p) };
          // `f = open(p) if p else None` is followed like `f = open(p)`. With an object that
          // exists already on the other arm (`sys.stdin`, a parameter), the handle is opened
          // only where the condition picks this arm: followed with that condition as a flag
          // (`if c: f.close()`, `if f is not sys.stdin: f.close()` release it). Another call
          // on the other arm, or a second such expression, is not modelled.
          const consequence = p.namedChild(0)?.id === cur.id;
          const other = consequence ? p.namedChild(2) : p.namedChild(0);
          const condition = p.namedChild(1);
          if (other?.type !== 'none') {
            if (arm || !condition || !other || !isExistingObject(other)) return { type: 'silent' };
            arm = { condition, when: consequence };
          }
          cur = p;
          continue;
        }
        case 'attribute': {
          const method = p.childForFieldName('attribute')?.text ?? '';
          const gp = p.parent;
          const called = gp !== null && gp.type === 'call' && isField(gp, 'function', p);
          if (called) {
            if (RELEASE_METHODS[c.opener.kind].has(method) || c.opener.releaseMethods?.has(method) || method === 'close') return { type: 'silent' };
            if (c.opener.kind === 'process' && !c.hasPipes && PROCESS_RELEASE_WHEN_NO_PIPES.has(method)) return { type: 'silent' };
            if (DETACH_METHODS.has(method) || method === '__enter__') return { type: 'silent' };
          }
          return { type: 'unbound', stmt: statementOf(p) };
        }
        case 'argument_list': {
          const call = p.parent;
          if (!call || call.type !== 'call') return { type: 'silent' };
          const fn = call.childForFieldName('function');
          const q = fn ? this.names.qualify(fn) : null;
          if (q !== null && PASSTHROUGH_CALLS.has(q)) {
            cur = call;
            continue;
          }
          const sink = callSink(call, cur, subject, this);
          return sink === 'use' ? { type: 'unbound', stmt: statementOf(call) } : { type: 'silent' };
        }
        case 'call':
          return { type: 'unbound', stmt: statementOf(p) };
        case 'tuple':
        case 'list':
        case 'set':
        case 'dictionary':
        case 'pair':
        case 'expression_list':
        case 'list_splat':
        case 'dictionary_splat':
        case 'parenthesized_list_splat':
        case 'list_comprehension':
        case 'set_comprehension':
        case 'dictionary_comprehension':
        case 'generator_expression':
        case 'boolean_operator':
          return { type: 'silent' };
        case 'for_in_clause':
        case 'for_statement':
          return isField(p, 'right', cur) ? { type: 'unbound', stmt: statementOf(p) } : { type: 'silent' };
        case 'yield':
          // A context manager's generator lends what it yields and must close it after the
          // `yield`; an opener yielded directly leaves it no name to close it with.
          return lendingGenerator(p, this.names) ? { type: 'unbound', stmt: statementOf(p) } : { type: 'silent' };
        case 'as_pattern':
        case 'with_item':
        case 'return_statement':
        case 'lambda':
        case 'default_parameter':
        case 'typed_default_parameter':
        case 'decorator':
        case 'augmented_assignment':
        case 'named_expression':
          return { type: 'silent' };
        case 'assignment': {
          if (!isField(p, 'right', cur)) return { type: 'silent' };
          const left = p.childForFieldName('left');
          const stmt = p.parent;
          if (left?.type === 'attribute' && left.childForFieldName('object')?.text === 'self' && stmt?.type === 'expression_statement') {
            if (arm) return { type: 'silent' };
            const field = left.childForFieldName('attribute')?.text;
            return field ? { type: 'field', stmt, field } : { type: 'silent' };
          }
          if (!left || left.type !== 'identifier' || !stmt || stmt.type !== 'expression_statement') return { type: 'silent' };
          if (expectsFailure(stmt, false)) return { type: 'silent' };
          return { type: 'tracked', stmt, variable: left.text, ...(arm ? { arm } : {}) };
        }
        case 'expression_statement':
          // A bare `open(p)` under `with self.assertRaises(...)` (or in a `try` with handlers)
          // is a test that the open fails.
          if (expectsFailure(p, true)) return { type: 'silent' };
          // A daemonizer's bare `os.open(os.devnull, ...)` after closing descriptor 0 gets
          // number 0: it is the new stdin, owned by the process, not a lost handle.
          if (c.api === 'os.open' && reopensStdin(p)) return { type: 'silent' };
          return { type: 'unbound', stmt: p };
        default:
          return { type: 'unbound', stmt: statementOf(p) };
      }
    }
  }

  private unboundLeak(c: Candidate, stmt: Node): HandleLeak {
    const simple = !COMPOUND_TYPES.has(stmt.type);
    const leakRange: Range = simple
      ? nodeRange(stmt)
      : { start: { line: stmt.startPosition.row, character: stmt.startPosition.column }, end: { line: c.call.endPosition.row, character: c.call.endPosition.column } };
    return {
      variable: '',
      api: c.api,
      openRange: nodeRange(c.call),
      leakRange,
      leakKind: 'unbound',
      leakLine: (simple ? stmt.endPosition.row : c.call.endPosition.row) + 1,
      fixes: [],
    };
  }

  // ---- path analysis of one scope -----------------------------------------------------

  private analyseScope(scope: Node, opened: Tracked[]): { leak: HandleLeak; requires?: SummaryCondition }[] {
    // Calls that pass each handle to a function of another workspace module, and the names
    // their results are bound to: a pass-through helper hands the handle on to that name.
    const importedCalls = new Map<Tracked, PassedToImported[]>();
    for (const t of opened) importedCalls.set(t, this.passedToImported(scope, t.variable));
    const all = [...opened, ...opened.flatMap((t) => this.passedThroughHandles(t, importedCalls.get(t)!))];
    const names = new Set(all.map((t) => t.variable));
    const { globals, captured } = this.scopeFacts(scope, names);
    const tracked = all.filter((t) => !globals.has(t.variable) && !captured.has(t.variable));
    if (tracked.length === 0) return [];
    const sg = buildScopeGraph(scope, this.text, {
      names: this.names,
      splitStatements: new Set(tracked.map((t) => t.stmt.id)),
      trackedNames: new Set(tracked.map((t) => t.variable)),
      flagGuards: flagGuards(scope, tracked),
    });
    if (sg.truncated) {
      recordAnalysisFailure('the Python handle analysis of one function', new Error('the function is too large for the flow graph budget'));
      return [];
    }
    const ignored: ReadonlySet<FlowExitKind> =
      scope.type === 'function_definition' ? new Set(['process-exit']) : new Set(['process-exit', 'end', 'raise', 'return']);
    const out: { leak: HandleLeak; requires?: SummaryCondition }[] = [];
    const occurrenceMemo = new Map<string, { node: Node; role: Occurrence }[]>();
    for (const t of tracked) {
      // A Popen whose pipes this scope closes itself (`p.stdout.close()`, `with p.stdin:`) is
      // released by `wait()` like one without pipes.
      const hasPipes = t.hasPipes && !closesPipes(scope.text, t.variable);
      const subject: Subject = { name: t.variable, kind: t.opener.kind, hasPipes, releaseMethods: t.opener.releaseMethods };
      const effect = (node: PyNode): HandleEffect => (node.payload ? payloadEffect(node.payload, subject, this) : 'none');
      const search = (eff: (node: PyNode) => HandleEffect): LeakPath<PyPayload> | null => {
        for (const start of sg.afterStatement.get(t.stmt.id) ?? []) {
          const found = findLeak(sg.graph, start, t.variable, eff, ignored);
          if (found) return found;
        }
        return null;
      };
      const leak = search(effect);
      if (!leak) continue;
      const calls = importedCalls.get(t) ?? this.passedToImported(scope, t.variable);
      // Passed to another module's function: a leak only if none of them keeps it.
      const kept = calls.map(({ callee, argument }): SummaryCondition => ({ kind: 'not-stored', callee, argument: argument.index }));
      const base = [...(t.requires ? [t.requires] : []), ...kept];
      // A leak whose path runs through such calls is real only if none on it closes the handle
      // or returns it into another name (a pass-through): each path found is one alternative.
      const alternatives = this.throughImportedCalls(leak, calls, effect, search).map(({ leak: found, conditions }) => {
        const result = this.describe(t, found, sg);
        this.passedOnSteps(t, result);
        if (t.returnedBy) result.steps = [t.returnedBy, ...(result.steps ?? [])];
        return { result, requires: [...base, ...conditions] };
      });
      if (alternatives.some((a) => a.requires.length > 0)) {
        for (const { result, requires } of alternatives) out.push({ leak: result, requires: requires.length === 1 ? requires[0] : { kind: 'all-of', conditions: requires } });
        continue;
      }
      const result = alternatives[0].result;
      if (t.opener.withFix) {
        let occ = occurrenceMemo.get(t.variable);
        if (!occ) occurrenceMemo.set(t.variable, (occ = this.occurrences(scope, subject)));
        const fix = withStatementFix({
          text: this.text,
          lines: this.lines,
          stmt: t.stmt,
          call: t.call,
          variable: t.variable,
          occurrences: occ,
          inLoop: insideLoop(t.stmt, scope),
        });
        if (fix) result.fixes.push(fix);
      }
      out.push({ leak: result });
    }
    return out;
  }

  /**
   * Calls in `scope` that pass `variable` as a plain positional argument to a function of
   * another workspace module (not the standard library, not an opener): the callee, the
   * argument, and the name the call's result is bound to (`g = helper(f)`), if any.
   */
  private passedToImported(scope: Node, variable: string): PassedToImported[] {
    const out: PassedToImported[] = [];
    const text = this.text.slice(scope.startIndex, scope.endIndex);
    for (const m of text.matchAll(new RegExp(`[(,]\\s*(${escapeRegExp(variable)})\\s*[,)]`, 'g'))) {
      const at = scope.startIndex + m.index + m[0].indexOf(variable, 1);
      const id = this.tree.rootNode.descendantForIndex(at, at + variable.length);
      const args = id?.type === 'identifier' ? id.parent : null;
      const call = args?.type === 'argument_list' ? args.parent : null;
      const callee = call?.type === 'call' ? call.childForFieldName('function') : null;
      if (!args || !callee || !call) continue;
      const positional = args.namedChildren.filter((a) => a?.type !== 'comment');
      const index = positional.findIndex((a) => a?.id === id!.id);
      if (index < 0 || positional.slice(0, index).some((a) => a?.type === 'keyword_argument' || a?.type === 'list_splat')) continue;
      const name = this.names.importedName(callee);
      if (name === null) continue;
      const q = this.names.qualify(callee);
      if (q !== null && (this.knowledge.openers.has(q) || STDLIB_MODULES.has(q.slice(0, q.indexOf('.') >>> 0)))) continue;
      let value: Node = call;
      while (value.parent?.type === 'await' || value.parent?.type === 'parenthesized_expression') value = value.parent;
      const assignment = value.parent?.type === 'assignment' && isField(value.parent, 'right', value) ? value.parent : null;
      const left = assignment?.childForFieldName('left');
      const bound = left?.type === 'identifier' && assignment?.parent?.type === 'expression_statement' ? { name: left.text, stmt: assignment.parent } : undefined;
      out.push({ callee: { specifier: name, exportPath: [], display: callee.text.replace(/\s+/g, '') }, argument: { index, node: id!, text: variable }, call, ...(bound ? { bound } : {}) });
    }
    return out;
  }

  /**
   * `g = ensure_open(f)` with `ensure_open` a function of another module: if it returns its
   * argument, the handle goes on as `g` (followed from that statement, pending on the callee's
   * summary). Only where `f` is not named again after the statement, so that `g` is the one
   * name left holding it.
   */
  private passedThroughHandles(t: Tracked, calls: readonly PassedToImported[]): Tracked[] {
    const out: Tracked[] = [];
    for (const c of calls) {
      const bound = c.bound;
      if (!bound || bound.name === t.variable || c.call.startIndex < t.stmt.endIndex) continue;
      const rest = this.text.slice(bound.stmt.endIndex, t.scope.endIndex);
      if (new RegExp(`\\b${escapeRegExp(t.variable)}\\b`).test(rest)) continue;
      const through: SummaryCondition = { kind: 'returns-parameter', callee: c.callee, argument: c.argument.index };
      out.push({
        ...t,
        opener: { ...t.opener, withFix: false },
        stmt: bound.stmt,
        variable: bound.name,
        requires: t.requires ? { kind: 'all-of', conditions: [t.requires, through] } : through,
        passedFrom: { tracked: t, call: c.call },
      });
    }
    return out;
  }

  /** For a handle followed into a pass-through helper's result: the step where it went on. */
  private passedOnSteps(t: Tracked, result: HandleLeak): void {
    if (!t.passedFrom) return;
    const fn = t.passedFrom.call.childForFieldName('function')?.text.replace(/\s+/g, '') ?? 'the helper';
    result.steps = [{ range: nodeRange(t.passedFrom.call), message: `the handle goes on as '${t.variable}' here: ${fn}() returns it` }, ...(result.steps ?? [])];
  }

  /**
   * The leak `first` (found reading calls of other modules' functions as uses), as
   * alternatives each with what must hold of the calls on its path: the callee neither closes
   * the handle nor, where its result is bound to another name, returns it. A path that runs
   * through none of them needs nothing. Up to three paths are searched, each avoiding the
   * calls of the ones before.
   */
  private throughImportedCalls(
    first: LeakPath<PyPayload>,
    calls: readonly PassedToImported[],
    effect: (node: PyNode) => HandleEffect,
    search: (eff: (node: PyNode) => HandleEffect) => LeakPath<PyPayload> | null,
  ): { leak: LeakPath<PyPayload>; conditions: SummaryCondition[] }[] {
    if (calls.length === 0) return [{ leak: first, conditions: [] }];
    const byArgument = new Map<number, PassedToImported>();
    for (const c of calls) byArgument.set(c.argument.node.id, c);
    const onPath = (path: LeakPath<PyPayload>): PassedToImported[] => {
      const found: PassedToImported[] = [];
      for (const n of path.path) {
        if (!n.payload) continue;
        for (const id of identifiersOf(n.payload)) {
          const c = byArgument.get(id.id);
          if (c && !found.includes(c)) found.push(c);
        }
      }
      return found;
    };
    const out: { leak: LeakPath<PyPayload>; conditions: SummaryCondition[] }[] = [];
    const blocked = new Set<number>();
    let leak: LeakPath<PyPayload> | null = first;
    for (let round = 0; leak && round < 3; round++) {
      const through = onPath(leak);
      out.push({
        leak,
        conditions: through.flatMap((c): SummaryCondition[] => [
          { kind: 'not-released', callee: c.callee, argument: c.argument.index },
          ...(c.bound && c.bound.name !== c.argument.text ? [{ kind: 'not-returned' as const, callee: c.callee, argument: c.argument.index }] : []),
        ]),
      });
      if (through.length === 0) break;
      for (const c of through) blocked.add(c.argument.node.id);
      leak = search((node) => (node.payload && identifiersOf(node.payload).some((id) => blocked.has(id.id)) ? 'release' : effect(node)));
    }
    // A path through none of the calls is a leak whatever they do: it alone is kept.
    const plain = out.find((a) => a.conditions.length === 0);
    return plain ? [plain] : out;
  }

  // ---- helpers that return a fresh handle -------------------------------------------------

  /**
   * Calls of helpers that return a fresh handle: functions and methods of this file (their
   * summary is here), and imported functions of other workspace modules (a pending leak,
   * kept only where the caller releases the value somewhere itself).
   */
  private helperCandidates(opens: boolean): Candidate[] {
    const out: Candidate[] = [];
    const fresh = new Map<string, FreshReturn>();
    if (opens) {
      for (const [def, r] of this.freshDefinitions()) {
        const name = def.childForFieldName('name')?.text;
        if (name && !fresh.has(name)) fresh.set(name, r);
      }
    }
    // Imports of other workspace modules: not an opener, not the standard library.
    const imported = [...this.names.localNames()]
      .filter(([, q]) => !this.knowledge.openers.has(q) && !STDLIB_MODULES.has(q.slice(0, q.indexOf('.') >>> 0)))
      .map(([local]) => local);
    if (opens) for (const name of this.skippedFreshNames) if (!fresh.has(name)) fresh.set(name, SKIPPED_FRESH);
    const words = [...new Set([...fresh.keys(), ...imported])];
    if (words.length === 0) return out;
    const re = new RegExp(`\\b(?:${words.map(escapeRegExp).join('|')})\\b[\\w.]*\\s*\\(`, 'g');
    const root = this.tree.rootNode;
    const seen = new Set<number>();
    for (const m of matchesOutside(this.text, re, this.skip)) {
      // Only `name = helper(…)` can hold the handle (with, return and one-off uses are silent).
      const lineStart = this.text.lastIndexOf('\n', m.index) + 1;
      if (!ASSIGNED_CALL_PREFIX.test(this.text.slice(lineStart, m.index))) continue;
      const open = this.text.indexOf('(', m.index + m[0].length - 1);
      let node: Node | null = root.descendantForPosition(this.positionOf(open));
      while (node && node.type !== 'call') node = node.parent;
      const callee = node?.childForFieldName('function');
      if (!node || !callee || seen.has(node.id) || callee.endIndex > open + 1 || callee.startIndex > m.index) continue;
      seen.add(node.id);
      const local = this.localHelper(callee);
      const r = local ? this.freshReturn(local) : undefined;
      if (r) {
        out.push({
          call: node,
          api: callee.text.replace(/\s+/g, ''),
          opener: r.mayBeNone ? { ...r.opener, withFix: false } : r.opener,
          hasPipes: r.hasPipes,
          returnedBy: { range: nodeRange(r.open), message: returnedMessage(callee.text.replace(/\s+/g, ''), r) },
        });
        continue;
      }
      const q = this.names.qualify(callee);
      if (q !== null && this.knowledge.openers.has(q)) continue;
      const name = this.names.importedName(callee);
      // A class is constructed, not opened: owner classes are a separate question.
      if (name === null || /^[A-Z]/.test(name.slice(name.lastIndexOf('.') + 1))) continue;
      const display = callee.text.replace(/\s+/g, '');
      out.push({ call: node, api: display, opener: IMPORTED_HELPER_OPENER, hasPipes: false, requires: { kind: 'returns-handle', callee: { specifier: name, exportPath: [], display } } });
    }
    return out;
  }

  /** The function of this file a callee names: a module-level `def`, or `self.m` / `cls.m` / `Class.m`. */
  private localHelper(callee: Node): Node | undefined {
    if (callee.type === 'identifier') {
      if (this.names.isImported(callee.text)) return undefined;
      const fns = this.definitions(callee.text, callee.startIndex).functions;
      return fns.length === 1 ? fns[0] : undefined;
    }
    if (callee.type !== 'attribute') return undefined;
    const object = callee.childForFieldName('object');
    const attr = callee.childForFieldName('attribute');
    if (object?.type !== 'identifier' || !attr) return undefined;
    if (object.text !== 'self' && object.text !== 'cls' && this.definitions(object.text, callee.startIndex).classes.length === 0) return undefined;
    const methods = this.definitions(attr.text, callee.startIndex).methods;
    return methods.length === 1 ? methods[0] : undefined;
  }

  private freshDefs: Map<Node, FreshReturn> | undefined;
  /** The opener calls of the file (set by {@link runAll}): where fresh handles can start. */
  private openerCalls: Node[] = [];

  /**
   * The defs that return a fresh handle. Only a def that holds an opener call, or a call of a
   * helper already found, can (`open_journal_for` → `open_journal` → `open`): a few rounds
   * outward from the opener calls, never a walk over every def.
   */
  private freshDefinitions(): Map<Node, FreshReturn> {
    if (this.freshDefs) return this.freshDefs;
    const out = new Map<Node, FreshReturn>();
    const tried = new Set<number>();
    let frontier = this.openerCalls;
    for (let round = 0; round < 4 && frontier.length > 0; round++) {
      const found: string[] = [];
      for (const call of frontier) {
        let def: Node | null = call.parent;
        while (def && def.type !== 'function_definition') def = def.parent;
        if (!def || tried.has(def.id)) continue;
        tried.add(def.id);
        const r = this.freshReturn(def);
        const name = def.childForFieldName('name')?.text;
        if (r && name) {
          out.set(def, r);
          found.push(name);
        }
      }
      if (found.length === 0) break;
      frontier = [];
      const re = new RegExp(`\\b(?:${found.map(escapeRegExp).join('|')})\\s*\\(`, 'g');
      const root = this.tree.rootNode;
      for (let m = re.exec(this.text); m !== null; m = re.exec(this.text)) {
        const node = root.descendantForPosition(this.positionOf(m.index));
        if (node) frontier.push(node);
      }
    }
    this.freshDefs = out;
    return out;
  }

  /**
   * Does `def` return a fresh handle on some path: an opener's result directly, through a
   * local name bound once, as the live arm of `x if c else None`, or another helper's?
   * Generators, `__enter__` and context-manager factories lend rather than return.
   */
  private freshReturn(def: Node, depth = 0): FreshReturn | undefined {
    const known = this.freshMemo.get(def.id);
    if (known !== undefined) return known ?? undefined;
    if (depth > 6) return undefined;
    this.freshMemo.set(def.id, null);
    let found: FreshReturn | undefined;
    const name = def.childForFieldName('name')?.text ?? '';
    const body = def.childForFieldName('body');
    if (body && !/^__a?enter__$/.test(name) && !containsYield(body)) {
      for (const value of returnValues(body)) {
        found = this.freshValue(value, body, depth);
        if (found) break;
      }
    }
    this.freshMemo.set(def.id, found ?? null);
    return found;
  }

  private freshValue(value: Node, body: Node, depth: number): FreshReturn | undefined {
    let v = value;
    while (v.type === 'parenthesized_expression' && v.namedChild(0)) v = v.namedChild(0)!;
    if (v.type === 'conditional_expression') {
      const a = v.namedChild(0);
      const b = v.namedChild(2);
      const live = b?.type === 'none' ? a : a?.type === 'none' ? b : null;
      const r = live ? this.freshValue(live, body, depth) : undefined;
      return r ? { ...r, mayBeNone: true } : undefined;
    }
    if (v.type === 'identifier') {
      const init = singleAssignment(body, v.text);
      return init ? this.freshValue(init, body, depth) : undefined;
    }
    if (v.type !== 'call') return undefined;
    const callee = v.childForFieldName('function');
    if (!callee) return undefined;
    const q = this.names.qualify(callee);
    const opener = (q === null ? undefined : this.knowledge.openers.get(q)) ?? this.methodOpener(callee) ?? this.fileModeOpener(callee, v);
    if (opener) {
      const hasPipes = opener.kind === 'process' && hasPipeArgument(v);
      if (opener.kind === 'process' && !hasPipes) return undefined;
      return { opener, api: callee.text.replace(/\s+/g, ''), open: v, hasPipes, via: [] };
    }
    const helper = this.localHelper(callee);
    const inner = helper ? this.freshReturn(helper, depth + 1) : undefined;
    return inner ? { ...inner, via: [callee.text.replace(/\s+/g, ''), ...inner.via] } : undefined;
  }

  /** Module-level functions and class methods that return a fresh handle, for other modules. */
  private returnedHandles(): OwnedReturn[] {
    const out: OwnedReturn[] = [];
    for (const [def, r] of this.freshDefinitions()) {
      const path = exportPathOf(def);
      if (path && !inSkipped(this.skip, def.startIndex)) out.push({ owner: def.startIndex, handle: { exportPath: path, functionName: path.join('.'), api: r.api, openRange: nodeRange(r.open) } });
    }
    return [...out, ...this.passedOnResults()];
  }

  /** Functions that return what an imported function returns (`return store.open_blob(p)`). */
  private passedOnResults(): OwnedReturn[] {
    const out: OwnedReturn[] = [];
    const done = new Set<number>();
    const root = this.tree.rootNode;
    for (const m of matchesOutside(this.text, RETURNS_CALL, this.skip)) {
      const first = /^[A-Za-z_]\w*/.exec(m[0].slice(6).trimStart())?.[0];
      if (!first || !this.names.isImported(first)) continue;
      let ret: Node | null = root.descendantForPosition(this.positionOf(m.index));
      while (ret && ret.type !== 'return_statement') ret = ret.parent;
      const value = ret?.namedChild(0);
      let def: Node | null = ret?.parent ?? null;
      while (def && def.type !== 'function_definition') def = def.parent;
      if (!value || value.type !== 'call' || !def || done.has(def.id) || this.freshMemo.get(def.id) || inSkipped(this.skip, def.startIndex)) continue;
      const path = exportPathOf(def);
      const body = def.childForFieldName('body');
      const callee = value.childForFieldName('function');
      const name = callee ? this.names.importedName(callee) : null;
      if (!path || !body || !callee || name === null || containsYield(body)) continue;
      done.add(def.id);
      const display = callee.text.replace(/\s+/g, '');
      out.push({ owner: def.startIndex, handle: { exportPath: path, functionName: path.join('.'), api: display, openRange: nodeRange(value), returnsResultOf: { specifier: name, exportPath: [], display } } });
    }
    return out;
  }

  private describe(t: Tracked, leak: LeakPath<PyPayload>, sg: ScopeGraph): HandleLeak {
    const path = leak.path;
    let firstRaise = -1;
    for (let i = 0; i + 1 < path.length && firstRaise < 0; i++) {
      const next = path[i + 1].id;
      if (path[i].range && path[i].succ.some((e) => e.to === next && e.exceptional)) firstRaise = i;
    }
    let leakKind: LeakKind;
    let leakRange: Range;
    if (leak.kind === 'overwrite') {
      leakKind = 'overwrite';
      leakRange = leak.node.range ?? nodeRange(t.stmt);
    } else if (leak.node.exit === 'return') {
      leakKind = 'return';
      const ret = [...path].reverse().find((n) => n.payload?.stmt.type === 'return_statement' && n.range);
      leakRange = ret?.range ?? nodeRange(t.stmt);
    } else if (leak.node.exit === 'raise') {
      leakKind = 'raise';
      leakRange = firstRaise >= 0 ? (path[firstRaise].range ?? nodeRange(t.stmt)) : nodeRange(t.stmt);
    } else {
      leakKind = 'end';
      leakRange = sg.endRange;
    }
    const steps: { range: Range; message: string }[] = [];
    if (leakKind !== 'raise' && firstRaise >= 0) {
      const r = path[firstRaise].range;
      if (r) steps.push({ range: r, message: 'an exception here is handled while the handle is still open' });
    }
    return {
      variable: t.variable,
      api: t.api,
      openRange: nodeRange(t.call),
      leakRange,
      leakKind,
      leakLine: leakRange.start.line + 1,
      ...(steps.length > 0 ? { steps } : {}),
      fixes: [],
    };
  }

  /** Whether the text of `node` holds `word`. */
  private spellsWithin(word: string, node: Node): boolean {
    const at = this.text.indexOf(word, node.startIndex);
    return at >= 0 && at + word.length <= node.endIndex;
  }

  /** Names declared global/nonlocal in the scope, and tracked names that nested functions/lambdas/classes refer to. */
  private scopeFacts(scope: Node, names: ReadonlySet<string>): { globals: Set<string>; captured: Set<string> } {
    const body = scope.type === 'module' ? scope : scope.childForFieldName('body');
    const globals = new Set<string>();
    const captured = new Set<string>();
    if (!body) return { globals, captured };
    // Each such statement spells its keyword: a body without either word has none.
    if (scope.type !== 'module' && (this.spellsWithin('global', body) || this.spellsWithin('nonlocal', body))) {
      for (const g of body.descendantsOfType(['global_statement', 'nonlocal_statement'])) {
        for (const id of g?.namedChildren ?? []) if (id) globals.add(id.text);
      }
    }
    for (const nested of outermostNestedScopes(body, scope.type !== 'function_definition')) {
      const nestedText = nested.text;
      for (const name of names) {
        if (captured.has(name) || !new RegExp(`\\b${escapeRegExp(name)}\\b`).test(nestedText)) continue;
        for (const id of nested.descendantsOfType('identifier')) {
          if (!id || id.text !== name) continue;
          const p = id.parent;
          if (p && p.type === 'attribute' && id.startIndex !== p.startIndex) continue;
          if (p && p.type === 'keyword_argument' && isField(p, 'name', id)) continue;
          captured.add(name);
          break;
        }
      }
    }
    return { globals, captured };
  }

  private occurrences(scope: Node, subject: Subject): { node: Node; role: Occurrence }[] {
    const body = scope.type === 'module' ? scope : scope.childForFieldName('body');
    const out: { node: Node; role: Occurrence }[] = [];
    for (const id of body?.descendantsOfType('identifier') ?? []) {
      if (id && id.text === subject.name) out.push({ node: id, role: classifyOccurrence(id, subject, this) });
    }
    return out;
  }

  // ---- same-file callees ----------------------------------------------------------------

  sameFileCallee(call: Node, arg: Node, subject: Subject): CalleeRole {
    const fn = call.childForFieldName('function');
    if (!fn) return 'unknown';
    const targets: { def: Node; offset: number }[] = [];
    if (fn.type === 'identifier') {
      const index = this.definitions(fn.text, call.startIndex);
      for (const def of index.functions) targets.push({ def, offset: 0 });
      if (targets.length === 0) {
        for (const cls of index.classes) {
          const init = methodOf(cls, '__init__');
          if (init) targets.push({ def: init, offset: 1 });
        }
      }
    } else if (fn.type === 'attribute') {
      const object = fn.childForFieldName('object');
      const attr = fn.childForFieldName('attribute');
      if (object && attr && object.type === 'identifier' && (object.text === 'self' || object.text === 'cls')) {
        for (const def of this.definitions(attr.text, call.startIndex).methods) targets.push({ def, offset: isStatic(def) ? 0 : 1 });
      } else if (object && attr && object.type === 'identifier' && this.definitions(object.text, call.startIndex).classes.length > 0) {
        // `Base.method(self, f)`: the instance is passed explicitly.
        for (const def of this.definitions(attr.text, call.startIndex).methods) targets.push({ def, offset: 0 });
      }
    }
    if (targets.length === 0) return 'unknown';
    for (const { def, offset } of targets) {
      const param = parameterFor(def, arg, offset);
      if (param === null) return 'unknown';
      if (!this.takesOwnership(def, param, subject)) return 'borrower';
    }
    return 'owner';
  }

  /** `callee` names a function of another workspace module (not the standard library, not an opener). */
  private importedWorkspaceCallee(callee: Node): string | undefined {
    const name = this.names.importedName(callee);
    if (name === null) return undefined;
    const q = this.names.qualify(callee);
    if (q !== null && (this.knowledge.openers.has(q) || STDLIB_MODULES.has(q.slice(0, q.indexOf('.') >>> 0)))) return undefined;
    return name;
  }

  /**
   * Exported functions that pass a parameter to a function of another workspace module:
   * returning that call's result (`return util.ensure_open(f)`), or in a call that runs on
   * every path that returns (a statement of the function's own block, or of the `finally` of
   * a `try` there, with no `return` before it), which then releases the parameter if the
   * callee does. Syntactic on purpose: no flow graph per forwarded parameter. See
   * {@link FileHandleSummary.parametersForwarded}; `returnedOnly` limits the search to the
   * first kind (a file whose handle analysis did not run).
   */
  forwardedParameters(exportPath: (def: Node) => string[] | undefined, returnedOnly: boolean): ForwardedParameter[] {
    const out: ForwardedParameter[] = [];
    const isParameter = parameterCheck(this.text);
    const imported = new Set(
      [...this.names.localNames()].filter(([, q]) => !this.knowledge.openers.has(q) && !STDLIB_MODULES.has(q.slice(0, q.indexOf('.') >>> 0))).map(([local]) => local),
    );
    if (imported.size === 0) return out;
    const root = this.tree.rootNode;
    const byDef = new Map<number, { path?: string[]; names: string[]; returns?: Node[] }>();
    // Statements that start with a call of an imported name and pass a plain name that is some
    // def's parameter (`return util.ensure_open(f)`, `close_quietly(f)`): one scan of the lines
    // that spell `return` (when only returns count) or an imported name.
    const words = returnedOnly ? /return/g : new RegExp([...imported].map(escapeRegExp).join('|'), 'g');
    for (const { m, offset } of lineLocalMatches(this.text, STATEMENT_CALL, words, this.skip && this.skip.length > 0 ? outside(this.skip, this.text.length) : undefined)) {
      const at = offset + m.index!;
      if ((returnedOnly && !m[1]) || !imported.has(m[2]) || inSkipped(this.skip, at)) continue;
      const lineEnd = this.text.indexOf('\n', at);
      const rest = this.text.slice(at + m[0].length - 1, lineEnd < 0 ? undefined : lineEnd);
      if (![...rest.matchAll(/[(,][ \t]*([A-Za-z_]\w*)[ \t]*(?=[,)])/g)].some((a) => isParameter(at + m[0].length - 1, a[1]))) continue;
      const open = at + m[0].length - 1;
      let call: Node | null = root.descendantForIndex(open, open + 1);
      while (call && call.type !== 'call') call = call.parent;
      const callee = call?.childForFieldName('function');
      if (!call || !callee || callee.endIndex > open + 1) continue;
      let def: Node | null = call.parent;
      while (def && def.type !== 'function_definition') def = def.parent;
      const body = def?.childForFieldName('body');
      if (!def || !body || !ownedBy(call, body)) continue;
      let facts = byDef.get(def.id);
      if (!facts) {
        const path = exportPath(def);
        let names = path ? parameterNames(def) : [];
        if (path?.length === 2 && (names[0] === 'self' || names[0] === 'cls')) names = names.slice(1);
        byDef.set(def.id, (facts = { path, names }));
      }
      const path = facts.path;
      if (!path) continue;
      let value: Node = call;
      while (value.parent?.type === 'await' || value.parent?.type === 'parenthesized_expression') value = value.parent;
      const returned = value.parent?.type === 'return_statement';
      if (!returned && !runsOnEveryPath(value, body, (facts.returns ??= returnStatements(body)))) continue;
      const name = this.importedWorkspaceCallee(callee);
      if (!name) continue;
      const positional = (call.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
      for (let argument = 0; argument < positional.length; argument++) {
        const a = positional[argument];
        if (a.type === 'keyword_argument' || a.type === 'list_splat' || a.type === 'dictionary_splat') break;
        const parameter = a.type === 'identifier' ? facts.names.indexOf(a.text) : -1;
        if (parameter < 0) continue;
        out.push({ exportPath: path, functionName: path.join('.'), parameter, callee: { specifier: name, exportPath: [], display: callee.text.replace(/\s+/g, '') }, argument, returned, range: nodeRange(call) });
      }
    }
    return out;
  }




  /**
   * Does `def` release its parameter `param` on every path that returns (exceptions aside),
   * as a file, or as a descriptor (`os.close(fd)`) when `descriptor`? Keeping it counts too, as
   * for a callee of this file.
   */
  releasesParameter(def: Node, param: string, descriptor: boolean): boolean {
    return this.takesOwnership(def, param, { name: param, kind: descriptor ? 'fd' : 'file', hasPipes: false });
  }

  private takesOwnership(def: Node, param: string, subject: Subject): boolean {
    const key = `${def.id}:${param}:${subject.kind}:${subject.hasPipes}`;
    const known = this.ownerMemo.get(key);
    if (known !== undefined) return known;
    if (this.inProgress.has(key)) return false;
    this.inProgress.add(key);
    let result = false;
    try {
      const { globals, captured } = this.scopeFacts(def, new Set([param]));
      if (globals.has(param) || captured.has(param)) result = true;
      else {
        const sg = buildScopeGraph(def, this.text, { names: this.names, splitStatements: new Set(), trackedNames: new Set([param]) });
        if (!sg.truncated) {
          const inner: Subject = { name: param, kind: subject.kind, hasPipes: subject.hasPipes, releaseMethods: subject.releaseMethods };
          const effect = (node: PyNode): HandleEffect => (node.payload ? payloadEffect(node.payload, inner, this) : 'none');
          result = findLeak(sg.graph, sg.entry, param, effect, new Set<FlowExitKind>(['raise', 'process-exit'])) === null;
        }
      }
    } finally {
      this.inProgress.delete(key);
    }
    this.ownerMemo.set(key, result);
    return result;
  }

  /** See {@link PythonHandleRun.lookups}. */
  readonly lookups: { at: number; name: string }[] = [];

  /**
   * Definitions named `name` in this file (functions, methods and classes), found by a line
   * regex and confirmed on the tree; cached per name. `at`: where the call or callee that asks starts.
   */
  private definitions(name: string, at: number): DefIndex {
    this.lookups.push({ at, name });
    let found = this.defs.get(name);
    if (found) return found;
    found = { functions: [], methods: [], classes: [] };
    const root = this.tree.rootNode;
    for (const header of (this.headers ??= definitionHeaders(this.text))) {
      if (!this.text.startsWith(name, header.nameAt) || !wordEndsAt(this.text, header.nameAt + name.length)) continue;
      const keyword = root.descendantForPosition(this.positionOf(header.keywordAt));
      const node = keyword?.parent;
      if (!node || node.childForFieldName('name')?.text !== name) continue;
      if (node.type === 'class_definition') found.classes.push(node);
      else if (node.type === 'function_definition') (isMethod(node) ? found.methods : found.functions).push(node);
    }
    this.defs.set(name, found);
    return found;
  }
}

const COMPOUND_TYPES = new Set([
  'if_statement',
  'for_statement',
  'while_statement',
  'try_statement',
  'with_statement',
  'match_statement',
  'function_definition',
  'class_definition',
  'decorated_definition',
]);

/** The statement that contains `node` (the nearest ancestor directly inside a block or the module). */
function statementOf(node: Node): Node {
  let cur = node;
  while (cur.parent && cur.parent.type !== 'block' && cur.parent.type !== 'module') cur = cur.parent;
  return cur;
}

function enclosingScope(node: Node): Node {
  let cur = node.parent;
  while (cur) {
    if (SCOPE_TYPES.has(cur.type)) return cur;
    cur = cur.parent;
  }
  return node.tree.rootNode;
}

function insideError(node: Node): boolean {
  for (let cur = node.parent; cur; cur = cur.parent) if (cur.type === 'ERROR') return true;
  return false;
}

function insideLoop(stmt: Node, scope: Node): boolean {
  for (let cur = stmt.parent; cur && cur.id !== scope.id; cur = cur.parent) if (LOOP_TYPES.has(cur.type)) return true;
  return false;
}

function hasPipeArgument(call: Node): boolean {
  const args = call.childForFieldName('arguments');
  for (const a of args?.namedChildren ?? []) {
    if (!a || a.type !== 'keyword_argument') continue;
    const name = a.childForFieldName('name')?.text ?? '';
    const value = a.childForFieldName('value')?.text ?? '';
    if (PROCESS_PIPE_KEYWORDS.has(name) && /(^|\.)PIPE$/.test(value)) return true;
  }
  return false;
}

/**
 * The opener is replaced by a mock here: `with mock.patch('builtins.open', ...)` around it, or
 * a `@patch(...open...)` decorator on its function.
 */
function underMockPatch(call: Node, word: string): boolean {
  const mentions = (text: string) => /\bpatch(?:\.object|\.dict)?\s*\(/.test(text) && text.includes(word);
  for (let cur = call.parent; cur; cur = cur.parent) {
    if (cur.type === 'with_statement') {
      const clause = cur.namedChildren.find((c) => c?.type === 'with_clause');
      if (clause && mentions(clause.text)) return true;
    } else if (cur.type === 'decorated_definition') {
      for (const d of cur.namedChildren) if (d?.type === 'decorator' && mentions(d.text)) return true;
    }
  }
  return false;
}

/**
 * Flags that mirror whether a handle is open (ElementTree's `close_source`, shutil's
 * `fd_closed`):
 * - `f = open(p)` followed at once by `flag = True`, nothing else setting it True: where the
 *   flag is false, `f` was never opened;
 * - `fd = os.open(p)` followed at once by `flag = False`, and every `flag = True` right after a
 *   release of `fd`: where the flag is true, `fd` was released.
 */
function flagGuards(scope: Node, tracked: Tracked[]): Map<string, FlagGuard> {
  const out = new Map<string, FlagGuard>();
  const text = scope.text;
  for (const t of tracked) {
    if (t.arm) {
      armGuard(t.variable, t.arm, text, out);
      continue;
    }
    let next = t.stmt.nextNamedSibling;
    while (next && next.type === 'comment') next = next.nextNamedSibling;
    const m = next && next.type === 'expression_statement' ? /^([A-Za-z_]\w*)\s*=\s*(True|False)$/.exec(next.text) : null;
    if (!m) continue;
    const [, flag, value] = m;
    const sets = [...text.matchAll(new RegExp(`(?<![\\w.])${escapeRegExp(flag)}\\s*=\\s*True\\b`, 'g'))];
    const guard = out.get(flag) ?? { whenTrue: [], whenFalse: [] };
    if (value === 'True') {
      // only this open sets it
      if (sets.length !== 1) continue;
      guard.whenFalse.push(t.variable);
    } else {
      const v = escapeRegExp(t.variable);
      // `os.close(fd)`, `f.close()`, or a closing helper given only the handle (`_sync_close(f)`).
      const release = new RegExp(`(?:\\bos\\.close\\(\\s*${v}\\s*\\)|\\b${v}\\.close\\(\\s*\\)|\\b[\\w.]*close\\w*\\(\\s*${v}\\s*\\))[ \\t]*(?:#.*)?\\r?\\n[ \\t]*$`);
      if (sets.length === 0 || !sets.every((s) => release.test(text.slice(0, s.index)))) continue;
      guard.whenTrue.push(t.variable);
    }
    out.set(flag, guard);
  }
  return out;
}

/**
 * `f = open(p) if c else sys.stdin`: where a later test of the same condition (same text,
 * `not` peeled off) says the other arm was taken, `f` holds no handle of this scope. Kept only
 * when no name the condition reads is assigned anywhere in the scope.
 */
function armGuard(variable: string, arm: OpenedArm, scopeText: string, out: Map<string, FlagGuard>): void {
  let cond = arm.condition;
  let when = arm.when;
  for (;;) {
    if (cond.type === 'parenthesized_expression' && cond.namedChildCount === 1 && cond.namedChild(0)) cond = cond.namedChild(0)!;
    else if (cond.type === 'not_operator' && cond.childForFieldName('argument')) {
      cond = cond.childForFieldName('argument')!;
      when = !when;
    } else break;
  }
  if (/\(/.test(cond.text)) return; // a call may answer differently the second time
  const names = new Set([cond, ...cond.descendantsOfType('identifier')].filter((n): n is Node => n?.type === 'identifier').map((n) => n.text));
  for (const name of names) if (new RegExp(`(?<![\\w.])${escapeRegExp(name)}\\s*(?:[-+*/|&]?=(?!=)|:[^=\\n]*=)`).test(scopeText)) return;
  const guard = out.get(cond.text) ?? { whenTrue: [], whenFalse: [] };
  (when ? guard.whenFalse : guard.whenTrue).push(variable);
  out.set(cond.text, guard);
}

/** An object that exists before the expression runs: a name, an attribute chain or a constant (`sys.stdin`, `stream`). */
function isExistingObject(node: Node): boolean {
  if (node.type === 'identifier' || node.type === 'string' || node.type === 'integer') return true;
  if (node.type === 'attribute') {
    const object = node.childForFieldName('object');
    return !!object && isExistingObject(object);
  }
  return false;
}

function expectsFailure(stmt: Node, orHandled: boolean): boolean {
  for (let cur = stmt.parent; cur && !SCOPE_TYPES.has(cur.type); cur = cur.parent) {
    if (cur.type === 'with_statement') {
      const clause = cur.namedChildren.find((c) => c?.type === 'with_clause');
      if (clause && /\b(assertRaises\w*|assertWarns\w*|raises|warns)\s*\(/.test(clause.text)) return true;
    }
    if (orHandled && cur.type === 'block' && cur.parent?.type === 'try_statement' && isField(cur.parent, 'body', cur)) {
      if (cur.parent.namedChildren.some((c) => c?.type === 'except_clause')) return true;
    }
  }
  return false;
}

function closesPipes(scopeText: string, variable: string): boolean {
  const v = escapeRegExp(variable);
  return new RegExp(`\\b${v}\\.(?:stdin|stdout|stderr)\\s*\\.\\s*close\\b|\\bwith\\b[^\\n]*\\b${v}\\.(?:stdin|stdout|stderr)\\b`).test(scopeText);
}

function isMethod(def: Node): boolean {
  let p = def.parent;
  if (p?.type === 'decorated_definition') p = p.parent;
  return p?.type === 'block' && p.parent?.type === 'class_definition';
}

function isStatic(def: Node): boolean {
  const p = def.parent;
  return p?.type === 'decorated_definition' && /@\s*staticmethod\b/.test(p.text.slice(0, def.startIndex - p.startIndex));
}

function methodOf(cls: Node, name: string): Node | null {
  const body = cls.childForFieldName('body');
  for (const child of body?.namedChildren ?? []) {
    const def = child?.type === 'decorated_definition' ? child.childForFieldName('definition') : child;
    if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === name) return def;
  }
  return null;
}

/** The parameter of `def` that receives the argument `arg` (a child of the call's argument list). */
function parameterFor(def: Node, arg: Node, offset: number): string | null {
  const params = def.childForFieldName('parameters');
  if (!params) return null;
  const positional: string[] = [];
  const all = new Set<string>();
  let open = true;
  for (const p of params.namedChildren) {
    if (!p) continue;
    let name: string | null = null;
    switch (p.type) {
      case 'identifier':
        name = p.text;
        break;
      case 'typed_parameter':
        name = p.namedChildren.find((c) => c?.type === 'identifier')?.text ?? null;
        break;
      case 'default_parameter':
      case 'typed_default_parameter':
        name = p.childForFieldName('name')?.text ?? null;
        break;
      case 'positional_separator':
        continue;
      default:
        open = false;
        continue;
    }
    if (name === null) continue;
    all.add(name);
    if (open) positional.push(name);
  }
  if (arg.type === 'keyword_argument') {
    const name = arg.childForFieldName('name')?.text ?? '';
    return all.has(name) ? name : null;
  }
  const list = arg.parent;
  if (!list || list.type !== 'argument_list') return arg.type === 'generator_expression' ? (positional[offset] ?? null) : null;
  let index = 0;
  for (const a of list.namedChildren) {
    if (!a || a.type === 'comment') continue;
    if (a.id === arg.id) break;
    if (a.type === 'list_splat' || a.type === 'dictionary_splat' || a.type === 'keyword_argument') return null;
    index++;
  }
  return positional[index + offset] ?? null;
}

