/**
 * Function summaries for handles that one file records and the program links: which
 * exported functions return a fresh handle, which modules are the `fs` module under another
 * name, and the leaks a file would have if a function of another file returned a handle
 * (pending leaks). Plain serialisable data, cached with the file's analysis; the program
 * model (`model/handle-summaries.ts`) resolves the conditions bottom-up over the imports.
 *
 * Defaults (documented in docs/rules/unreleased-file.md): an import that resolves to no
 * workspace file, an export no summary describes, and a cycle of functions that only return
 * each other's results all count as "does not return a fresh handle", so a pending leak
 * through them is never reported.
 */
import type { Range } from '../text/locations';
import type { HandleLeak } from './handles';

/** A function of another module as a call names it: `import X from './m'; X.open()`. */
export interface ImportedFunction {
  /** The import specifier as written (`'./m'`, `'../polyfill/filePoly.js'`). */
  specifier: string;
  /** Export names from the module namespace: `['default', 'open']`, `['open']`, `[]`. */
  exportPath: string[];
  /** The callee as written, for messages (`FilePoly.fileFrom`). */
  display: string;
}

/** An exported function of this file whose result is a handle the caller must release. */
export interface ReturnedHandle {
  /** How other modules reach it: `['default', 'fileFrom']`, `['openLog']`, `[]` (`module.exports = f`). */
  exportPath: string[];
  /** The function's name as written here, for messages (`FilePoly.fileFrom`). */
  functionName: string;
  /** TypeScript/JavaScript: the id of the function's `ts.function` fact, which the program model resolves calls to. */
  functionId?: string;
  /** The opener the handle comes from, as written (`fs.open`), or the imported function's name. */
  api: string;
  /** The opening call (or the return that passes an imported function's result on). */
  openRange: Range;
  /** The handle is element `tupleIndex` of a returned array (`return [stream, size]`). */
  tupleIndex?: number;
  /** The result is whatever this imported function returns (resolved by the program model). */
  returnsResultOf?: ImportedFunction;
}

/** What must hold in another module for a pending leak to be real. */
export type SummaryCondition =
  /** the imported function returns a fresh handle (at `tupleIndex` of its array result) */
  | { kind: 'returns-handle'; callee: ImportedFunction; tupleIndex?: number }
  /** the imported module's exports are the `fs` module's own (`require('../fs')` in fs-extra) */
  | { kind: 'module-is-fs'; specifier: string }
  /** the imported function only uses its parameter `argument`: it neither closes nor keeps it */
  | { kind: 'only-uses'; callee: ImportedFunction; argument: number }
  /**
   * the imported function does not keep its parameter `argument` (store it in a global, a
   * registry or an object's field). Python reads a call as a use; this is the exception. An
   * unresolved callee, or one without a summary, counts as "does not keep it" (the default).
   */
  | { kind: 'not-stored'; callee: ImportedFunction; argument: number }
  /** the imported function returns its parameter `argument` as it is (a pass-through: the handle goes on in the call's result) */
  | { kind: 'returns-parameter'; callee: ImportedFunction; argument: number }
  /** the imported function does not return its parameter `argument` (default: an unresolved callee does not) */
  | { kind: 'not-returned'; callee: ImportedFunction; argument: number }
  /** the imported function does not release its parameter `argument` (default: an unresolved callee does not) */
  | { kind: 'not-released'; callee: ImportedFunction; argument: number }
  /** every one of these holds */
  | { kind: 'all-of'; conditions: SummaryCondition[] }
  /** one of these holds (the first that does gives the proof) */
  | { kind: 'any-of'; conditions: SummaryCondition[] };

/** A leak this file has if `requires` holds; its fixes are left empty. */
export interface PendingLeak {
  leak: HandleLeak;
  requires: SummaryCondition;
}

/** How a module re-exports fs: itself (`direct`) or through another workspace module; `range` is the statement. */
export type ReexportOfFs = { direct: true; range: Range } | { specifier: string; range: Range };

/** One file's handle summaries (TypeScript and JavaScript today). */
export interface FileHandleSummary {
  returnedHandles: ReturnedHandle[];
  /**
   * The module re-exports the `fs` module (`module.exports = require('graceful-fs')`,
   * `Object.assign(exports, fs)`, `export * from 'fs'`): `'fs'`; or re-exports another
   * workspace module's exports (`module.exports = require('./fs')`): that specifier.
   */
  reexportsFs?: ReexportOfFs;
  /** Exported functions that only use some of their parameters (neither close nor keep them). */
  parametersUsedOnly?: UsedOnlyParameters[];
  /** Python: exported functions that keep some of their parameters (a global, a registry, a field). */
  parametersStored?: UsedOnlyParameters[];
  /** Exported functions that return some of their parameters as they are (pass-through helpers); `at` points at the return. */
  parametersReturned?: UsedOnlyParameters[];
  /** Python: exported functions that release some of their parameters on every path; `at` points at the release. */
  parametersReleased?: UsedOnlyParameters[];
  /**
   * Exported functions that pass a parameter on to a function of another module: returning
   * that call's result as it is (`return util.ensure_open(f)`), or (Python) in a call that,
   * if it released the parameter, would release it on every path (`io_util.close_quietly(f)`).
   * The program links them, so a pass-through or a release is followed through any number of
   * modules.
   */
  parametersForwarded?: ForwardedParameter[];
  pendingLeaks: PendingLeak[];
  /**
   * C: handles opened into a local variable and released on every path before the function
   * returns — never returned, stored or handed on (a process exit also ends them). Such a
   * descriptor is not alive once its function is left.
   */
  releasedInFunction?: ReleasedInFunction[];
}

/** A C handle its function releases on every path (see {@link FileHandleSummary.releasedInFunction}). */
export interface ReleasedInFunction {
  /** The opening call. */
  openRange: Range;
  /**
   * The source span of every statement that runs while the handle is open, from the first to
   * the last in the source (releases and process exits included).
   */
  heldRange: Range;
}

/** An exported function and the indices of the parameters it only uses (or, for `parametersStored`, keeps). */
export interface UsedOnlyParameters {
  exportPath: string[];
  functionName: string;
  /** TypeScript/JavaScript: the id of the function's `ts.function` fact. */
  functionId?: string;
  parameters: number[];
  /** The function's name (the evidence points there). */
  range: Range;
  /** Per entry of `parameters`: the statement that shows the effect (a `return p`, a `p.close()`), when there is one. */
  at?: Range[];
}

/** A parameter an exported function passes on to a function of another module (see {@link FileHandleSummary.parametersForwarded}). */
export interface ForwardedParameter {
  exportPath: string[];
  functionName: string;
  /** TypeScript/JavaScript: the id of the function's `ts.function` fact. */
  functionId?: string;
  /** The function's parameter (0-based, as callers count them). */
  parameter: number;
  /** The function of another module it is passed to, and as which argument (0-based). */
  callee: ImportedFunction;
  argument: number;
  /** The function returns the call's result as it is. */
  returned: boolean;
  /** The call. */
  range: Range;
}
