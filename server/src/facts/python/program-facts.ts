/**
 * Python program facts: what one file contributes to the whole-program model — its imports,
 * functions and classes, the calls that may reach other workspace code, and the FORK/FD
 * evidence (thread starts, fork sites, close-all sites, exec/_exit calls, descriptors cached
 * in long-lived storage, their re-validation, at-fork handlers, start-method settings).
 *
 * The tree is walked ONCE with a cursor; only the node types that matter are materialised.
 * Names are then resolved against the file's own imports in a pass over the collected
 * records (not over the tree), so `th.Thread` after `import threading as th` reads
 * `threading.Thread` and the knowledge tables (`knowledge/python-process.ts`) apply.
 *
 * Every fact carries `enclosingFunction`: the qualified name of the function whose body executes it
 * (`''` for module level, including class bodies at module level), so the program model can
 * replay a module's import-time statements and a function's body in source order.
 *
 * The work is split by job: `record-walk.ts` walks the tree once and collects raw records,
 * `process-classifier.ts` (processes, descriptors) and `heartbeat-classifier.ts` (green
 * threads) classify them into facts, `argument-refs.ts` reads the callables passed as
 * arguments, and this file runs the phases in order. The fact shapes are in `fact-types.ts`.
 */
import type { Tree } from '../../parsing/parser';
import { ArgumentRefs } from './argument-refs';
import type { PyCloseAllFact, PyExecFact, PyForkFact, PyModuleFact, PythonFact } from './fact-types';
import { BUILTIN_KNOWLEDGE, type Knowledge } from '../../knowledge/knowledge';
import { HeartbeatClassifier } from './heartbeat-classifier';
import { emitPatchedForks } from './patched-forks';
import { ProcessClassifier, type CallFacts } from './process-classifier';
import { RecordCollector, type SkippedDefinition } from './record-walk';
import { extractSetupPyEntryPoints } from './setup-py';
import { PySourceText } from './source-text';
import { ValueKinds } from './value-kinds';
import { FlagValues, type CallFact } from './flag-values';
export { awaitedKind } from './value-kinds';
import { resolve, resolveCallee, type Resolved, type Scope } from './walk-records';

export type {
  PyCallOutcome,
  PyValueGuard,
  PyFlag,
  PyFlagArgument,
  PyFlagGuard,
  PyBranch,
  PyParameter,
  PyValueKind,
  PyModuleFact,
  PyImportFact,
  PyFunctionFact,
  PyClassFact,
  PyNameOrigin,
  PyCallFact,
  PyMethodCallFact,
  PyComputedImportFact,
  PyComputedMemberCallFact,
  PyComputedModule,
  PyKeepArgument,
  PyWithEnterFact,
  PyReturnsObjectFact,
  PyMethodAliasFact,
  PyStoreFact,
  PyRefFact,
  PyThreadStartFact,
  PyMonkeyPatchFact,
  PyKeepAliveFact,
  PyHeartbeatConnectionFact,
  PyTransportUseFact,
  PyReturnsTransportUserFact,
  PyHubDriverFact,
  PyNativePrimitiveFact,
  PyObjectStartFact,
  PyForkFix,
  PyForkFact,
  PyCloseAllFact,
  PyExecFact,
  PyFdCacheFact,
  PyFdRevalidateFact,
  PyAtForkFact,
  PyResetTarget,
  PyStartMethodFact,
  PythonFact,
} from './fact-types';

/** After the walk: resolve names, classify the calls, emit the facts (sorted by position). */
function finish(rec: RecordCollector, t: PySourceText, knowledge: Knowledge, report?: PythonFactReport): void {
  const { facts, calls, callIndex } = rec;
  const processes = new ProcessClassifier(rec, t, knowledge.python);
  const heartbeats = new HeartbeatClassifier(rec, t, knowledge.python);
  rec.moduleFact.importInsert = rec.importInsertPoint();
  for (const b of rec.pendingBindings) {
    const idx = callIndex.get(b.callId);
    if (idx === undefined) continue;
    const list = b.scope.bindings.get(b.key) ?? [];
    list.push(calls[idx]);
    b.scope.bindings.set(b.key, list);
  }
  for (const p of rec.pendingBases) p.fact.bases = p.raw.map((raw) => resolve(raw, p.scope));
  for (const p of rec.pendingClassAttributes) {
    const r = resolve(p.raw, p.scope);
    if (r.origin !== 'builtin') (p.fact.classAttributes ??= []).push({ name: p.name, value: r.name, origin: r.origin });
  }
  for (const s of rec.scopes) {
    if (!s.functionFact) continue;
    if (s.globalAssigns?.size) s.functionFact.globalAssigns = [...s.globalAssigns].sort();
    if (s.attrAssigns?.size) s.functionFact.attributeAssigns = [...s.attrAssigns].sort();
  }
  heartbeats.resolveOriginals();
  // (The same callee is often called again in a scope: resolved once per scope.)
  const resolvedIn = new Map<Scope, Map<string, Resolved>>();
  for (const c of calls) {
    if (!c.callee || c.resolved) continue;
    let m = resolvedIn.get(c.scope);
    if (!m) resolvedIn.set(c.scope, (m = new Map()));
    let r = m.get(c.callee);
    if (!r) m.set(c.callee, (r = resolveCallee(c.callee, c.scope)));
    c.resolved = r;
  }
  // `eventlet.patcher.original('threading').Thread(...)`: the callee is a call of a getter.
  for (const c of calls) {
    if (c.resolved || !c.method || !c.recv || !('chained' in c.recv)) continue;
    const idx = callIndex.get(c.recv.chained);
    const getter = idx === undefined ? undefined : calls[idx];
    const target = getter ? heartbeats.originalTarget(getter) : undefined;
    if (target) c.resolved = { name: `${target}.${c.method}`, origin: 'import', native: true };
  }
  const execs: CallFacts<PyExecFact> = [];
  const forks: CallFacts<PyForkFact> = [];
  const closeAlls: CallFacts<PyCloseAllFact> = [];
  // The call, method-call and object-start facts each call made (their flag arguments are read below).
  const callFacts: CallFact[] = [];
  for (const c of calls) {
    heartbeats.classifyHeartbeat(c);
    heartbeats.classifyTransportUse(c);
    const made = facts.length;
    processes.classify(c, execs, forks, closeAlls);
    for (let i = made; i < facts.length; i++) {
      const f = facts[i];
      if ((f.kind === 'py.call' || f.kind === 'py.method-call' || f.kind === 'py.object-start') && f.range === c.base?.range) callFacts.push({ fact: f, call: c });
    }
  }
  processes.fallbackStarts(forks);
  processes.emitReturnedObjects();
  processes.emitLoopCloses(closeAlls);
  const refs = new ArgumentRefs(t);
  for (const c of calls) refs.collect(c);
  refs.emit(facts);
  processes.childRegions(forks, execs, closeAlls);
  processes.emitCaches();
  processes.emitRegisteredHandlers();
  processes.emitPooledCaches();
  processes.emitRevalidations();
  processes.resets.emitFunctionResets();
  const kinds = new ValueKinds(rec, t);
  kinds.emitFunctionOutcomes();
  const tracedPatches = emitPatchedForks(rec, t, kinds);
  heartbeats.emitKeepAlives();
  heartbeats.emitReturnedSelfAttributes();
  for (const k of rec.kindTests) kinds.emitValueGuards(k.node, k.scope, facts);
  const flags = new FlagValues(rec, t);
  flags.emitFunctionFlags();
  flags.emitCallFlags(callFacts);
  for (const k of rec.flagTests) flags.emitFlagGuards(k.node, k.scope, facts);
  flags.emitBranches(rec.branchChains, facts);
  flags.emitParameters();
  const writes = flags.moduleAttributeWrites(t.tree.rootNode);
  if (writes.length) rec.moduleFact.attributeWrites = writes;
  if (report) {
    report.tracedValues = processes.tracedValues || tracedPatches;
    if (kinds.outcomeLinks.size > 0) report.outcomeLinks = [...kinds.outcomeLinks].flatMap(([reader, read]) => [...read].map((r): [string, string] => [reader, r]));
    if (kinds.unreadLocal) report.outcomeOfUnwalkedName = true;
  }
  // Facts in source order; of two that start together the shorter first, as Python evaluates
  // the inner call of `Cls(...).start()` before the outer one (stable otherwise: insertion order).
  facts.sort(
    (a, b) =>
      a.range.start.line - b.range.start.line ||
      a.range.start.character - b.range.start.character ||
      (a.kind === 'py.object-start' || b.kind === 'py.object-start' ? a.range.end.line - b.range.end.line || a.range.end.character - b.range.end.character : 0),
  );
}

export interface PythonFactOptions {
  textShortcuts?: boolean;
  knowledge?: Knowledge;
  /**
   * Definitions not to walk (sorted, disjoint): the facts inside them are left out of the
   * result; the caller (`incremental.ts`) holds them from an earlier extraction.
   */
  skip?: readonly SkippedDefinition[];
  /** Filled with what the extraction did that an incremental one must know (`incremental.ts`). */
  report?: PythonFactReport;
}

export interface PythonFactReport {
  /**
   * Some call's facts were read from other definitions of the file: where a value a function
   * received was made (`value-origins.ts`). Such facts change when another definition does.
   */
  tracedValues?: boolean;
  /**
   * Definitions whose facts read what calling another definition gives (`value-kinds.ts`),
   * each with one it read, by qualified name: `[reader, read]`. Both are walked again whenever
   * either is.
   */
  outcomeLinks?: [reader: string, read: string][];
  /** An outcome was asked of a local name no walked function defines: perhaps a skipped definition. */
  outcomeOfUnwalkedName?: boolean;
}

/**
 * Extracts the program facts of one Python file. Never throws on odd code: unknown shapes
 * are skipped. Facts are sorted by position.
 */
/**
 * `textShortcuts: false` forces the node-reading path that files with syntax errors take, so a
 * test can check that both paths give the same facts on valid code.
 */
export function extractPythonFacts(tree: Tree, text: string, path: string, options: PythonFactOptions = {}): PythonFact[] {
  const t = new PySourceText(tree, text, options.textShortcuts ?? true);
  const ex = new RecordCollector(t);
  ex.walk(options.skip);
  finish(ex, t, options.knowledge ?? BUILTIN_KNOWLEDGE, options.report);
  if (/(^|[\\/])setup\.py$/.test(path)) {
    const eps = extractSetupPyEntryPoints(tree, text);
    const mod = ex.facts.find((f): f is PyModuleFact => f.kind === 'py.module');
    if (eps && mod) mod.setupEntryPoints = eps;
  }
  return ex.facts;
}
