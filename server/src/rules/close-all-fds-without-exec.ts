/**
 * close-all-fds-without-exec: a forked child closes every descriptor and then keeps running
 * the program instead of exec'ing (the application half of incident 2: Celery's daemonizer
 * destroyed libuuid's cached `/dev/urandom` descriptor).
 *
 * This file owns the rule's identity; the evidence comes from each language's program model
 * through its checker in `rules/<lang>/close-all-fds-without-exec.ts`.
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import { checkPythonCloseAllFdsWithoutExec } from './python/close-all-fds-without-exec';
import { checkCCloseAllFdsWithoutExec } from './c/close-all-fds-without-exec';

/** Per-language checkers, run in turn. The C checker (rules/c/close-all-fds-without-exec.ts) is added here. */
const CHECKERS: readonly ((ctx: ProgramContext) => RawFinding[])[] = [
  checkPythonCloseAllFdsWithoutExec,
  checkCCloseAllFdsWithoutExec,
];

export const closeAllFdsWithoutExec: Rule = {
  meta: {
    id: 'close-all-fds-without-exec',
    family: 'FD',
    languages: ['c', 'python'],
    defaultSeverity: 'warning',
    summary: 'A forked child closes every descriptor and keeps running without exec, destroying descriptors that libraries cached.',
    fixes: ['display-only'],
    tags: ['CWE-672'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    return CHECKERS.flatMap((check) => check(ctx));
  },
};
