/**
 * Links the handle summaries of the workspace's files (`analysis/summaries.ts`) through the
 * shared call-effect solver (`handle-effects.ts`): decides which pending leaks are real
 * because the function of another module they call returns a fresh handle (bottom-up through
 * functions that return another module's result), the module they use as `fs` re-exports
 * it, or the helper they pass the handle to only uses it or does not keep it. Each confirmed
 * leak carries the steps in the other files as evidence ("`FilePoly.fileFrom()` returns a new
 * handle from fs.open() here").
 *
 * This file only builds the solver's graph out of the files' summaries and words the
 * witnesses: the graph's functions are the summarised functions the pending leaks call (and
 * what their returned results reach), plus the modules they import as `fs` (and the modules
 * those re-export); a function's returned call runs the function of another module it
 * returns the result of, a module's re-export runs the module it names.
 *
 * Resolution: TypeScript/JavaScript modules resolve specifiers and callees through the
 * TypeScript model's module index (a callee by the function's fact id), Python modules
 * dotted names through the Python model's (by the function's qualified name), and C functions
 * by name (one namespace; a name defined in two files is left unresolved). A function's
 * summary is the first entry of each list that names it.
 *
 * Defaults (those of `handle-effects.ts`): a specifier that resolves to no workspace module,
 * an export without a summary and a cycle of re-exports or returned results all mean "no fresh
 * handle" (the pending leak stays silent); a callee without a summary does not keep the handle
 * it is given. A returned result is followed only to a callee whose handle sits where the
 * caller's entry says (the whole result, or the same element of an array result).
 */
import type { FileAnalysis } from '../analysis/results';
import type { HandleLeak } from '../analysis/handles';
import type { FileHandleSummary, ForwardedParameter, ImportedFunction, ReexportOfFs, ReturnedHandle, SummaryCondition, UsedOnlyParameters } from '../analysis/summaries';
import type { RelatedLocation } from '../text/locations';
import { EffectSummaryCache } from './call-effects';
import { summarizeHandleEffects, type HandleCall, type HandleGraph, type HandleSummaries, type OwnHandleFacts } from './handle-effects';
import type { ProgramContext } from './program-context';
import { typescriptModel, type TypeScriptModel } from './typescript';
import { pythonModel } from './python';
import type { PyModuleIndex } from './python-modules';

/** A pending leak whose condition holds, with the proof from the other modules. */
export interface ConfirmedLeak {
  path: string;
  leak: HandleLeak;
  /** Steps in other files, in the order the handle travels (innermost open last). */
  proof: RelatedLocation[];
}

/** A node of the handle graph: a summarised function of one file, or a module's exports. */
interface HandleFn {
  /** `<path>\0<function key>` (a module node: `<path>\0\0module`). */
  id: string;
  path: string;
  /** The first entries of the file's summary lists that name the function (none for a module node). */
  returned?: ReturnedHandle;
  usedOnly?: UsedOnlyParameters;
  stored?: UsedOnlyParameters;
  /** Parameters it returns as they are (a pass-through) and parameters it releases on every path. */
  passedThrough?: UsedOnlyParameters;
  released?: UsedOnlyParameters;
  /** Parameters it passes on to functions of other modules (each a call of the graph, after the returned result's). */
  forwards?: ForwardedParameter[];
  /** A module node: how the module re-exports fs. */
  reexport?: ReexportOfFs;
}

/** Summaries of the last link, by content, so that an edit re-solves only what changed. */
const CACHE = new EffectSummaryCache();

class SummaryLinker {
  private readonly summaries = new Map<string, FileHandleSummary>();
  private readonly languages = new Map<string, 'c' | 'typescript' | 'python'>();
  /** C functions with external linkage by name (C has one namespace): where their summary is. */
  private readonly cFunctions = new Map<string, string[]>();
  private tsModel: TypeScriptModel | undefined;
  private pyIndex: PyModuleIndex | undefined;
  /** The graph's nodes by id. */
  private readonly nodes = new Map<string, HandleFn>();
  /** Resolved callees by the calling file and the callee as written (each condition is resolved twice: for the roots, then for the proof). */
  private readonly resolved = new Map<string, HandleFn | undefined>();
  private readonly calleeMemo = new Map<HandleFn, readonly (readonly HandleFn[])[]>();
  private solved: HandleSummaries<HandleFn> | undefined;

  constructor(
    files: readonly FileAnalysis[],
    private readonly ctx: ProgramContext,
  ) {
    for (const f of files) {
      if (!f.handleSummary) continue;
      this.summaries.set(f.path, f.handleSummary);
      this.languages.set(f.path, f.language);
      if (f.language !== 'c') continue;
      const s = f.handleSummary;
      const names = new Set([...(s.parametersUsedOnly ?? []), ...(s.parametersReturned ?? []), ...(s.parametersForwarded ?? []), ...s.returnedHandles].map((u) => u.exportPath[0]));
      for (const name of names) if (name) this.cFunctions.set(name, [...(this.cFunctions.get(name) ?? []), f.path]);
    }
  }

  /**
   * The function a call in `fromPath` runs, as a node of the graph: the program model's own
   * call resolution for TypeScript/JavaScript (by the function's fact id) and Python (by its
   * qualified name), the one definition of the name in C.
   */
  private callee(fromPath: string, callee: ImportedFunction): HandleFn | undefined {
    const memo = `${fromPath}\0${callee.specifier}\0${callee.exportPath.join('\0')}\0${callee.display}`;
    if (this.resolved.has(memo)) return this.resolved.get(memo);
    const found = this.resolve(fromPath, callee);
    this.resolved.set(memo, found);
    return found;
  }

  private resolve(fromPath: string, callee: ImportedFunction): HandleFn | undefined {
    const language = this.languages.get(fromPath);
    if (language === 'c') {
      // One definition in the workspace, or none we can trust (two programs may define it).
      const name = callee.exportPath.length === 1 ? callee.exportPath[0] : undefined;
      const paths = name ? this.cFunctions.get(name) : undefined;
      return paths?.length === 1 ? this.node(paths[0], (e) => e.exportPath.length === 1 && e.exportPath[0] === name, name!) : undefined;
    }
    if (language === 'python') {
      this.pyIndex ??= pythonModel(this.ctx).index;
      const from = this.pyIndex.byPath(fromPath);
      const sym = from ? this.pyIndex.resolve(from, [callee.specifier, ...callee.exportPath].join('.'), 'import') : undefined;
      if (sym?.kind !== 'function') return undefined;
      const qualified = sym.name;
      return this.node(sym.module.path, (e) => e.exportPath.join('.') === qualified, qualified);
    }
    this.tsModel ??= typescriptModel(this.ctx);
    const from = this.tsModel.byPath(fromPath);
    const ref = from ? this.tsModel.resolveCallee(from, callee.display) : undefined;
    return ref ? this.node(ref.module.path, (e) => e.functionId === ref.id, ref.id) : undefined;
  }

  /** The node of the function of `path` that `is` picks out of its summary (undefined when the file has none). */
  private node(path: string, is: (entry: { exportPath: string[]; functionId?: string }) => boolean, key: string): HandleFn | undefined {
    const summary = this.summaries.get(path);
    if (!summary) return undefined;
    const id = `${path}\0${key}`;
    let n = this.nodes.get(id);
    if (!n) {
      n = {
        id,
        path,
        returned: summary.returnedHandles.find(is),
        usedOnly: summary.parametersUsedOnly?.find(is),
        stored: summary.parametersStored?.find(is),
        passedThrough: summary.parametersReturned?.find(is),
        released: summary.parametersReleased?.find(is),
        forwards: summary.parametersForwarded?.filter(is),
      };
      this.nodes.set(id, n);
    }
    return n;
  }

  /** The TypeScript/JavaScript module an import specifier of `fromPath` names, as a module node. */
  private module(fromPath: string, specifier: string): HandleFn | undefined {
    this.tsModel ??= typescriptModel(this.ctx);
    const from = this.tsModel.byPath(fromPath);
    const module = from ? this.tsModel.resolveSpecifier(from, specifier) : undefined;
    const summary = module ? this.summaries.get(module.path) : undefined;
    if (!module || !summary) return undefined;
    const id = `${module.path}\0\0module`;
    let n = this.nodes.get(id);
    if (!n) this.nodes.set(id, (n = { id, path: module.path, reexport: summary.reexportsFs }));
    return n;
  }

  /** The graph's one call of a node: the function whose result it returns, or the module it re-exports. */
  private callees(fn: HandleFn): readonly (readonly HandleFn[])[] {
    let out = this.calleeMemo.get(fn);
    if (out) return out;
    out = [];
    const inner = fn.returned?.returnsResultOf;
    if (inner) {
      const t = this.callee(fn.path, inner);
      // Followed only to a callee whose handle sits where this entry says.
      out = [t?.returned && t.returned.tupleIndex === fn.returned!.tupleIndex ? [t] : []];
    } else if (fn.reexport && !('direct' in fn.reexport)) {
      const t = this.module(fn.path, fn.reexport.specifier);
      out = [t ? [t] : []];
    }
    for (const { target } of this.forwardCalls(fn)) out = [...out, [target]];
    this.calleeMemo.set(fn, out);
    return out;
  }

  private readonly forwardMemo = new Map<HandleFn, { forward: ForwardedParameter; target: HandleFn }[]>();

  /**
   * The forwards of `fn` whose callee is a summarised function of the workspace, in order: the
   * graph's calls after the returned result's. A forward to anything else (`read(fd, …)`, a
   * library) says nothing more than the file's own facts.
   */
  private forwardCalls(fn: HandleFn): { forward: ForwardedParameter; target: HandleFn }[] {
    let out = this.forwardMemo.get(fn);
    if (!out) {
      out = [];
      for (const forward of fn.forwards ?? []) {
        const target = this.callee(fn.path, forward.callee);
        if (target) out.push({ forward, target });
      }
      this.forwardMemo.set(fn, out);
    }
    return out;
  }

  private own(fn: HandleFn): OwnHandleFacts {
    const own: { -readonly [K in keyof OwnHandleFacts]: OwnHandleFacts[K] } = {};
    if (fn.returned && !fn.returned.returnsResultOf) own.opens = { slot: fn.returned.tupleIndex };
    if (fn.reexport && 'direct' in fn.reexport) own.exportsFs = true;
    if (fn.usedOnly) own.usesOnly = fn.usedOnly.parameters;
    if (fn.stored) own.stores = fn.stored.parameters;
    if (fn.passedThrough) own.returnsParameters = fn.passedThrough.parameters;
    if (fn.released) own.releases = fn.released.parameters;
    const calls: HandleCall[] = fn.returned?.returnsResultOf || (fn.reexport && !('direct' in fn.reexport)) ? [{ returned: true }] : [];
    for (const { forward: f } of this.forwardCalls(fn)) calls.push({ returned: f.returned, passes: [{ parameter: f.parameter, argument: f.argument }], parametersOnly: true });
    if (calls.length > 0) own.calls = calls;
    return own;
  }

  /** The nodes a condition asks about. */
  private roots(fromPath: string, condition: SummaryCondition, out: HandleFn[]): void {
    if (condition.kind === 'all-of' || condition.kind === 'any-of') {
      for (const c of condition.conditions) this.roots(fromPath, c, out);
      return;
    }
    const n = condition.kind === 'module-is-fs' ? this.module(fromPath, condition.specifier) : this.callee(fromPath, condition.callee);
    if (n) out.push(n);
  }

  private solve(roots: readonly HandleFn[]): HandleSummaries<HandleFn> {
    const graph: HandleGraph<HandleFn> = {
      functions: roots,
      callees: (fn) => this.callees(fn),
      own: (fn) => this.own(fn),
      contentKey: (fn) => `${fn.id}\0${JSON.stringify([fn.returned, fn.usedOnly, fn.stored, fn.reexport, fn.passedThrough, fn.released, fn.forwards])}`,
    };
    return summarizeHandleEffects(graph, CACHE);
  }

  /** The steps that prove `callee` (called from `fromPath`) returns a fresh handle (at `tupleIndex`), or undefined. */
  private returnsHandle(fromPath: string, callee: ImportedFunction, tupleIndex: number | undefined): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    const fresh = t && this.solved!.of(t).returnsFreshHandle;
    if (!t || !fresh || fresh.slot !== tupleIndex) return undefined;
    return this.solved!.chain(t, 'returnsFreshHandle').map(({ fn, call }) => {
      const r = fn.returned!;
      const message = call !== undefined ? `${r.functionName}() returns what ${r.api}() returns` : `${r.functionName}() returns a new handle from ${r.api}() here`;
      return { path: fn.path, range: r.openRange, message };
    });
  }

  /** The steps that prove the module `specifier` (imported by `fromPath`) is the fs module. */
  private isFsModule(fromPath: string, specifier: string): RelatedLocation[] | undefined {
    const t = this.module(fromPath, specifier);
    if (!t || !this.solved!.of(t).exportsFs) return undefined;
    // Each step names the module by the specifier it was reached through.
    let through = specifier;
    return this.solved!.chain(t, 'exportsFs').map(({ fn }) => {
      const re = fn.reexport!;
      const step = { path: fn.path, range: re.range, message: `this module re-exports the fs module, so '${through}' opens real descriptors` };
      if (!('direct' in re)) through = re.specifier;
      return step;
    });
  }

  /** The step that proves `callee` only uses its parameter `argument`. */
  private onlyUses(fromPath: string, callee: ImportedFunction, argument: number): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    const used = t?.usedOnly;
    if (!t || !used || !this.solved!.of(t).onlyUses?.[argument]) return undefined;
    return [{ path: t.path, range: used.range, message: `${used.functionName}() only uses the handle passed to it (argument ${argument + 1}): it neither closes nor keeps it` }];
  }

  /**
   * Holds (no step) unless `callee` resolves to a function whose summary says it keeps its
   * parameter `argument`: an unresolved callee, or one without a summary, does not keep it.
   */
  private notStored(fromPath: string, callee: ImportedFunction, argument: number): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    return t && this.solved!.of(t).storesParameter?.[argument] ? undefined : [];
  }

  /**
   * The step that proves `callee` returns its parameter `argument` as it is ("`ensure_open()`
   * returns its argument here", at the return in its own file).
   */
  private returnsParameter(fromPath: string, callee: ImportedFunction, argument: number): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    if (!t || !this.solved!.of(t).returnsParameter?.[argument]) return undefined;
    const steps: RelatedLocation[] = [];
    for (const { fn, call, parameter = argument } of this.solved!.parameterChain(t, 'returnsParameter', argument)) {
      if (call === undefined) {
        const through = fn.passedThrough;
        if (!through) return undefined;
        const range = through.at?.[through.parameters.indexOf(parameter)] ?? through.range;
        steps.push({ path: fn.path, range, message: `${through.functionName}() returns its argument ${parameter + 1} here, so the handle goes on in its result` });
        continue;
      }
      // Call 0 is the returned result's when the function has one (see `own`); forwards follow.
      const offset = fn.returned?.returnsResultOf || (fn.reexport && !('direct' in fn.reexport)) ? 1 : 0;
      const f = this.forwardCalls(fn)[call - offset]?.forward;
      if (!f) return undefined;
      steps.push({ path: fn.path, range: f.range, message: `${f.functionName}() returns what ${f.callee.display}() returns for its argument ${parameter + 1}` });
    }
    return steps;
  }

  /** Holds (no step) unless `callee` resolves to a function whose summary has `fact` for its parameter `argument`. */
  private lacks(fromPath: string, callee: ImportedFunction, argument: number, fact: 'returnsParameter' | 'releasesParameter'): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    return t && this.solved!.of(t)[fact]?.[argument] ? undefined : [];
  }

  private holds(fromPath: string, condition: SummaryCondition): RelatedLocation[] | undefined {
    switch (condition.kind) {
      case 'returns-handle':
        return this.returnsHandle(fromPath, condition.callee, condition.tupleIndex);
      case 'module-is-fs':
        return this.isFsModule(fromPath, condition.specifier);
      case 'only-uses':
        return this.onlyUses(fromPath, condition.callee, condition.argument);
      case 'not-stored':
        return this.notStored(fromPath, condition.callee, condition.argument);
      case 'returns-parameter':
        return this.returnsParameter(fromPath, condition.callee, condition.argument);
      case 'not-returned':
        return this.lacks(fromPath, condition.callee, condition.argument, 'returnsParameter');
      case 'not-released':
        return this.lacks(fromPath, condition.callee, condition.argument, 'releasesParameter');
      case 'any-of': {
        for (const c of condition.conditions) {
          const p = this.holds(fromPath, c);
          if (p) return p;
        }
        return undefined;
      }
      case 'all-of': {
        const proof: RelatedLocation[] = [];
        for (const c of condition.conditions) {
          const p = this.holds(fromPath, c);
          if (!p) return undefined;
          proof.push(...p);
        }
        return proof;
      }
    }
  }

  confirmed(): ConfirmedLeak[] {
    const roots: HandleFn[] = [];
    for (const [path, summary] of this.summaries) for (const pending of summary.pendingLeaks) this.roots(path, pending.requires, roots);
    this.solved = this.solve([...new Set(roots)]);
    const out: ConfirmedLeak[] = [];
    for (const [path, summary] of this.summaries) {
      // A leak may be pending on several alternatives (paths through different calls): one finding per handle.
      const reported = new Set<string>();
      for (const pending of summary.pendingLeaks) {
        const { start } = pending.leak.openRange;
        const key = `${start.line}:${start.character}:${pending.leak.variable}`;
        if (reported.has(key)) continue;
        const proof = this.holds(path, pending.requires);
        if (!proof) continue;
        reported.add(key);
        out.push({ path, leak: pending.leak, proof });
      }
    }
    return out;
  }
}

const MEMO = new WeakMap<readonly FileAnalysis[], ConfirmedLeak[]>();

/** The workspace's pending leaks that the summaries of other modules confirm. */
export function confirmedPendingLeaks(ctx: ProgramContext): ConfirmedLeak[] {
  const hit = MEMO.get(ctx.files);
  if (hit) return hit;
  let result: ConfirmedLeak[] = [];
  if (ctx.files.some((f) => f.handleSummary && f.handleSummary.pendingLeaks.length > 0)) {
    result = new SummaryLinker(ctx.files, ctx).confirmed();
  }
  MEMO.set(ctx.files, result);
  return result;
}
