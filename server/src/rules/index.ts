/**
 * The explicit rule registry. Adding a rule = one file named after its id, one line here,
 * one docs page `docs/rules/<id>.md`, fixtures under `test/fixtures/rules/<id>/`.
 */
import type { Rule } from './rule';
import { unreleasedFile } from './unreleased-file';
import { unsafeCallInForkChild } from './unsafe-call-in-fork-child';
import { fdWithoutCloexec } from './fd-without-cloexec';
import { forkInThreadedProgram } from './fork-in-threaded-program';
import { cachedFdAcrossFork } from './cached-fd-across-fork';
import { closeAllFdsWithoutExec } from './close-all-fds-without-exec';
import { greenHeartbeat } from './green-heartbeat';
import { lateMonkeyPatch } from './late-monkey-patch';
import { streamPipeLeak } from './stream-pipe-leak';
import { heartbeatStarvedByBlockingCall } from './heartbeat-starved-by-blocking-call';
import { wsgiResponseNotClosed } from './wsgi-response-not-closed';

export const RULES: readonly Rule[] = [unreleasedFile, unsafeCallInForkChild, fdWithoutCloexec, forkInThreadedProgram, cachedFdAcrossFork, closeAllFdsWithoutExec, streamPipeLeak, greenHeartbeat, lateMonkeyPatch, heartbeatStarvedByBlockingCall, wsgiResponseNotClosed];

const BY_ID = new Map(RULES.map((r) => [r.meta.id, r]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}

/** The ids of the registered rules (what configuration may name). */
export const RULE_IDS: readonly string[] = RULES.map((r) => r.meta.id);
