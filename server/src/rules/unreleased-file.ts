/**
 * unreleased-file: a file, socket, process or stream handle can reach the end of its
 * owner's scope on some path without being released (incident 3: Bottle + uWSGI leaked one
 * open file per request). The path analysis lives in the language front ends
 * (`analysis/<lang>/handles.ts`); this file owns the rule's identity and its wording.
 */
import type { HandleAnalyzer, HandleLeak } from '../analysis/handles';
import { analyzeCHandles } from '../analysis/c/handles';
import { analyzePythonHandles } from '../analysis/python/handles';
import { analyzeTypeScriptHandles } from '../analysis/typescript/handles';
import type { FileContext, RawFinding, Rule } from './rule';
import type { LanguageId, RelatedLocation } from '../text/locations';
import { confirmedPendingLeaks } from '../model/handle-summaries';
import type { ProgramContext } from '../model/program-context';

const ANALYZERS: Record<LanguageId, HandleAnalyzer> = {
  c: analyzeCHandles,
  python: analyzePythonHandles,
  typescript: analyzeTypeScriptHandles,
};

function describeLeak(leak: HandleLeak): string {
  switch (leak.leakKind) {
    case 'return':
      return `the return on line ${leak.leakLine}`;
    case 'end':
      return `the end of its scope on line ${leak.leakLine}`;
    case 'raise':
      return `an exception raised on line ${leak.leakLine}`;
    case 'goto':
      return `the goto on line ${leak.leakLine}`;
    case 'overwrite':
      return `line ${leak.leakLine}, where the variable is overwritten`;
    case 'unbound':
      return `the end of the expression on line ${leak.leakLine}`;
    case 'wrong-release':
      return `line ${leak.leakLine}, where it is released by the wrong call`;
    case 'owner-keeps':
      return `${leak.owner ?? 'the owner'}() on line ${leak.leakLine}, which never releases it`;
  }
}

/** The one-line message; it names the handle, the API and where it is lost. */
export function leakMessage(leak: HandleLeak): string {
  const what = leak.variable ? `'${leak.variable}' from ${leak.api}()` : `The handle from ${leak.api}()`;
  if (leak.leakKind === 'unbound') return `${what} is never bound to a name, so nothing closes it`;
  if (leak.leakKind === 'owner-keeps') return `Handle '${leak.variable}' from ${leak.api}() is kept by the object, but ${leak.owner ?? 'its release method'}() never releases it`;
  if (leak.leakKind === 'wrong-release' && leak.wrongRelease) {
    const w = leak.wrongRelease;
    return `${leak.variable ? `Handle ${what}` : what} is released on line ${leak.leakLine} by ${w.used}() instead of ${w.expected}(): ${w.reason}`;
  }
  return `${leak.variable ? `Handle ${what}` : what} is not released on every path: it leaks at ${describeLeak(leak)}`;
}

function leakStepMessage(leak: HandleLeak): string {
  switch (leak.leakKind) {
    case 'return':
      return 'returns here with the handle still open';
    case 'end':
      return 'scope ends here with the handle still open';
    case 'raise':
      return 'an exception here leaves the handle open';
    case 'goto':
      return 'jumps away here with the handle still open';
    case 'overwrite':
      return 'overwritten here while still open';
    case 'unbound':
      return 'the handle is dropped here';
    case 'owner-keeps':
      return `${leak.owner ?? 'the release method'}() releases the object without closing '${leak.variable}'`;
    case 'wrong-release':
      return `released here by ${leak.wrongRelease?.used ?? 'another call'}() instead of ${leak.wrongRelease?.expected ?? 'its own releaser'}()`;
  }
}

/**
 * The chain in path order: the open, the steps on the way, the statement that loses the
 * handle. A `goto` is the statement that loses it, and its steps (where the jump lands)
 * come after it.
 */
function evidence(path: string, leak: HandleLeak, proof: readonly RelatedLocation[] = []) {
  const open = { path, range: leak.openRange, message: `opened here by ${leak.api}()` };
  const lost = { path, range: leak.leakRange, message: leakStepMessage(leak) };
  const steps = [...proof, ...(leak.steps ?? []).map((s) => ({ path, range: s.range, message: s.message }))];
  return leak.leakKind === 'goto' ? [open, lost, ...steps] : [open, ...steps, lost];
}

export const unreleasedFile: Rule = {
  meta: {
    id: 'unreleased-file',
    family: 'LEAK',
    languages: ['c', 'python', 'typescript'],
    defaultSeverity: 'warning',
    summary: 'A file, socket, process or stream handle is not released on every path out of its scope.',
    fixes: ['safe', 'unsafe'],
    tags: ['CWE-775', 'CWE-404'],
  },
  checkFile(ctx: FileContext): RawFinding[] {
    const leaks = ANALYZERS[ctx.language](ctx.tree, ctx.text, ctx.path, ctx.knowledge);
    return leaks.map((leak) => ({
      ruleId: 'unreleased-file',
      path: ctx.path,
      range: leak.openRange,
      message: leakMessage(leak),
      related: evidence(ctx.path, leak),
      fixes: leak.fixes,
    }));
  },
  /**
   * Leaks through another module's helper: the file recorded them as pending on that
   * helper's summary ("returns a fresh handle", "is the fs module"), and the summaries of
   * the workspace confirm them (`model/handle-summaries.ts`). The proof is in the chain.
   */
  checkProgram(program: ProgramContext): RawFinding[] {
    return confirmedPendingLeaks(program).map(({ path, leak, proof }) => ({
      ruleId: 'unreleased-file',
      path,
      range: leak.openRange,
      message: leakMessage(leak),
      related: evidence(path, leak, proof),
      fixes: [],
    }));
  },
};
