/**
 * Links the handle summaries of the workspace's files (`analysis/summaries.ts`): decides
 * which pending leaks are real because the function of another module they call returns a
 * fresh handle (bottom-up through functions that return another module's result), or the
 * module they use as `fs` re-exports it. Each confirmed leak carries the steps in the other
 * files as evidence ("`FilePoly.fileFrom()` returns a new handle from fs.open() here").
 *
 * Defaults: a specifier that resolves to no workspace module, an export without a summary
 * and a cycle of re-exports all mean "no fresh handle", so the pending leak stays silent.
 * TypeScript/JavaScript modules resolve specifiers through the TypeScript model's module
 * index, Python modules dotted names through the Python model's, and C functions by name
 * (one namespace; a name defined in two files is left unresolved).
 */
import type { FileAnalysis } from '../analysis/results';
import type { HandleLeak } from '../analysis/handles';
import type { FileHandleSummary, ImportedFunction, SummaryCondition } from '../analysis/summaries';
import type { RelatedLocation } from '../text/locations';
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

const MAX_DEPTH = 16;

class SummaryLinker {
  private readonly summaries = new Map<string, FileHandleSummary>();
  private readonly languages = new Map<string, 'c' | 'typescript' | 'python'>();
  /** C functions with external linkage by name (C has one namespace): where their summary is. */
  private readonly cFunctions = new Map<string, string[]>();
  private tsModel: TypeScriptModel | undefined;
  private pyIndex: PyModuleIndex | undefined;

  constructor(
    files: readonly FileAnalysis[],
    private readonly ctx: ProgramContext,
  ) {
    for (const f of files) {
      if (!f.handleSummary) continue;
      this.summaries.set(f.path, f.handleSummary);
      this.languages.set(f.path, f.language);
      if (f.language !== 'c') continue;
      const names = new Set([...(f.handleSummary.parametersUsedOnly ?? []), ...f.handleSummary.returnedHandles].map((u) => u.exportPath[0]));
      for (const name of names) if (name) this.cFunctions.set(name, [...(this.cFunctions.get(name) ?? []), f.path]);
    }
  }

  /**
   * The function a call in `fromPath` runs, as the file that defines it and a test that picks
   * its entry out of that file's summary: the program model's own call resolution for
   * TypeScript/JavaScript (by the function's fact id) and Python (by its qualified name),
   * the one definition of the name in C.
   */
  private callee(fromPath: string, callee: ImportedFunction): { path: string; summary: FileHandleSummary; is: (entry: { exportPath: string[]; functionId?: string }) => boolean } | undefined {
    const language = this.languages.get(fromPath);
    if (language === 'c') {
      // One definition in the workspace, or none we can trust (two programs may define it).
      const name = callee.exportPath.length === 1 ? callee.exportPath[0] : undefined;
      const paths = name ? this.cFunctions.get(name) : undefined;
      const summary = paths?.length === 1 ? this.summaries.get(paths[0]) : undefined;
      return paths && summary ? { path: paths[0], summary, is: (e) => e.exportPath.length === 1 && e.exportPath[0] === name } : undefined;
    }
    if (language === 'python') {
      this.pyIndex ??= pythonModel(this.ctx).index;
      const from = this.pyIndex.byPath(fromPath);
      const sym = from ? this.pyIndex.resolve(from, [callee.specifier, ...callee.exportPath].join('.'), 'import') : undefined;
      const summary = sym?.kind === 'function' ? this.summaries.get(sym.module.path) : undefined;
      if (sym?.kind !== 'function' || !summary) return undefined;
      const qualified = sym.name;
      return { path: sym.module.path, summary, is: (e) => e.exportPath.join('.') === qualified };
    }
    this.tsModel ??= typescriptModel(this.ctx);
    const from = this.tsModel.byPath(fromPath);
    const ref = from ? this.tsModel.resolveCallee(from, callee.display) : undefined;
    const summary = ref ? this.summaries.get(ref.module.path) : undefined;
    return ref && summary ? { path: ref.module.path, summary, is: (e) => e.functionId === ref.id } : undefined;
  }

  /** The steps that prove `callee` (called from `fromPath`) returns a fresh handle, or undefined. */
  returnsHandle(fromPath: string, callee: ImportedFunction, tupleIndex: number | undefined, depth = 0): RelatedLocation[] | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const t = this.callee(fromPath, callee);
    const found = t?.summary.returnedHandles.find(t.is);
    if (!t || !found || found.tupleIndex !== tupleIndex) return undefined;
    if (found.returnsResultOf) {
      const inner = this.returnsHandle(t.path, found.returnsResultOf, tupleIndex, depth + 1);
      if (!inner) return undefined;
      return [{ path: t.path, range: found.openRange, message: `${found.functionName}() returns what ${found.api}() returns` }, ...inner];
    }
    return [{ path: t.path, range: found.openRange, message: `${found.functionName}() returns a new handle from ${found.api}() here` }];
  }

  /** The steps that prove the module `specifier` (imported by `fromPath`) is the fs module. */
  isFsModule(fromPath: string, specifier: string, depth = 0): RelatedLocation[] | undefined {
    if (depth > MAX_DEPTH) return undefined;
    const t = this.module(fromPath, specifier);
    const re = t?.summary.reexportsFs;
    if (!t || !re) return undefined;
    const step = { path: t.path, range: re.range, message: `this module re-exports the fs module, so '${specifier}' opens real descriptors` };
    if ('direct' in re) return [step];
    const inner = this.isFsModule(t.path, re.specifier, depth + 1);
    return inner ? [step, ...inner] : undefined;
  }

  /** The step that proves `callee` only uses its parameter `argument`. */
  onlyUses(fromPath: string, callee: ImportedFunction, argument: number): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    const used = t?.summary.parametersUsedOnly?.find(t.is);
    if (!t || !used?.parameters.includes(argument)) return undefined;
    return [{ path: t.path, range: used.range, message: `${used.functionName}() only uses the handle passed to it (argument ${argument + 1}): it neither closes nor keeps it` }];
  }

  /**
   * Holds (no step) unless `callee` resolves to a function whose summary says it keeps its
   * parameter `argument`: an unresolved callee, or one without a summary, does not keep it.
   */
  notStored(fromPath: string, callee: ImportedFunction, argument: number): RelatedLocation[] | undefined {
    const t = this.callee(fromPath, callee);
    const stored = t?.summary.parametersStored?.find(t.is);
    return stored?.parameters.includes(argument) ? undefined : [];
  }

  /** The TypeScript/JavaScript module an import specifier of `fromPath` names, with its summary. */
  private module(fromPath: string, specifier: string): { path: string; summary: FileHandleSummary } | undefined {
    this.tsModel ??= typescriptModel(this.ctx);
    const from = this.tsModel.byPath(fromPath);
    const module = from ? this.tsModel.resolveSpecifier(from, specifier) : undefined;
    const summary = module ? this.summaries.get(module.path) : undefined;
    return module && summary ? { path: module.path, summary } : undefined;
  }

  holds(fromPath: string, condition: SummaryCondition): RelatedLocation[] | undefined {
    switch (condition.kind) {
      case 'returns-handle':
        return this.returnsHandle(fromPath, condition.callee, condition.tupleIndex);
      case 'module-is-fs':
        return this.isFsModule(fromPath, condition.specifier);
      case 'only-uses':
        return this.onlyUses(fromPath, condition.callee, condition.argument);
      case 'not-stored':
        return this.notStored(fromPath, condition.callee, condition.argument);
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
    const out: ConfirmedLeak[] = [];
    for (const [path, summary] of this.summaries) {
      for (const pending of summary.pendingLeaks) {
        const proof = this.holds(path, pending.requires);
        if (proof) out.push({ path, leak: pending.leak, proof });
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
