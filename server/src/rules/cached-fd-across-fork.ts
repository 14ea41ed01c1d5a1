/**
 * cached-fd-across-fork: a descriptor cached in long-lived storage outlives a fork whose
 * child keeps running (incident 2: libuuid kept `/dev/urandom` in a static fd; Celery's
 * daemonizer closed every fd, the number went to a statsd socket, and `celery beat` hung
 * reading from it).
 *
 * This file owns the rule's identity; the evidence comes from each language's program model
 * through its checker in `rules/<lang>/cached-fd-across-fork.ts`.
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import { checkPythonCachedFdAcrossFork } from './python/cached-fd-across-fork';
import { checkCCachedFdAcrossFork } from './c/cached-fd-across-fork';

/** Per-language checkers, run in turn. The C checker (rules/c/cached-fd-across-fork.ts) is added here. */
const CHECKERS: readonly ((ctx: ProgramContext) => RawFinding[])[] = [
  checkPythonCachedFdAcrossFork,
  checkCCachedFdAcrossFork,
];

export const cachedFdAcrossFork: Rule = {
  meta: {
    id: 'cached-fd-across-fork',
    family: 'FD',
    languages: ['c', 'python'],
    defaultSeverity: 'warning',
    summary: 'A descriptor cached in module, class, static or global storage outlives a fork whose child keeps running.',
    fixes: ['unsafe', 'display-only'],
    tags: ['CWE-403', 'CWE-672'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    return CHECKERS.flatMap((check) => check(ctx));
  },
};
