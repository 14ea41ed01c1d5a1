/**
 * fork-in-threaded-program: a fork runs in a program that may already have started threads
 * (incident 1: Bacula's storage daemon forked from a helper while another thread held
 * glibc's syslog lock; the child blocked forever in `closelog()`).
 *
 * This file owns the rule's identity; the evidence comes from each language's program model
 * through its checker in `rules/<lang>/fork-in-threaded-program.ts`.
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import { checkPythonForkInThreadedProgram } from './python/fork-in-threaded-program';
import { checkCForkInThreadedProgram } from './c/fork-in-threaded-program';

/** Per-language checkers, run in turn. The C checker (rules/c/fork-in-threaded-program.ts) is added here. */
const CHECKERS: readonly ((ctx: ProgramContext) => RawFinding[])[] = [
  checkPythonForkInThreadedProgram,
  checkCForkInThreadedProgram,
];

export const forkInThreadedProgram: Rule = {
  meta: {
    id: 'fork-in-threaded-program',
    family: 'FORK',
    languages: ['c', 'python'],
    defaultSeverity: 'warning',
    summary: 'A process forks after the program may have started threads; the child inherits locks that no thread will ever release.',
    fixes: ['unsafe', 'display-only'],
    tags: ['CWE-667'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    return CHECKERS.flatMap((check) => check(ctx));
  },
};
