/**
 * C checker of `fork-in-threaded-program`: a `fork()`/`forkpty()`/`daemon()` that may run
 * while other threads exist (a thread start comes earlier in program order, the fork runs
 * in a thread, or in a callback of a threaded program). Silent when the child only makes
 * async-signal-safe calls and then execs or `_exit`s: that is what `posix_spawn` does.
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix } from '../../text/edits';
import type { RelatedLocation } from '../../text/locations';
import { cModel, type CModel } from '../../model/c';
import type { Ordering } from '../../model/c-order';
import type { CKnowledge } from '../../knowledge/knowledge';
import { callLocation, childWalks, forkLeadChain, forkSites, isCleanSpawn, judge, threadOrdering, type ChildWalk, type ForkSite } from '../../model/c-child';

const RULE_ID = 'fork-in-threaded-program';

/** What makes this child unsafe, for the message. */
function childProblem(site: ForkSite, walks: ChildWalk[], knowledge: CKnowledge): string {
  if (site.fact.forkKind === 'daemon') return `the daemonized process keeps running with only the calling thread`;
  if (!site.fact.childKnown || walks.length === 0) return 'the child cannot be shown to exec right away';
  for (const w of walks) {
    if (!w.end) return 'the child keeps running the program with only the forking thread';
    const end = w.end;
    const bad = w.events.find((e) => e !== end.event && judge(e, knowledge).kind === 'unsafe');
    if (bad) return `the child calls ${bad.call.name}() before ${end.kind === 'exec' ? 'exec' : 'it exits'}`;
    if (end.kind === 'unsafe-exit') return `the child ends with ${end.event.call.name}(), which runs atexit handlers and flushes stdio`;
    const unknown = w.events.find((e) => judge(e, knowledge).kind === 'unknown');
    if (unknown) return `the child calls ${unknown.call.name}(), which is not known to be async-signal-safe, before exec`;
    const failed = (w.failedExec ?? []).find((e) => judge(e, knowledge).kind !== 'safe' && judge(e, knowledge).kind !== 'workspace');
    if (failed) return `the child calls ${failed.call.name}() when ${end.event.call.name}() fails`;
  }
  return 'the child is not limited to async-signal-safe calls';
}

/** At most this many threaded callers of the forking function are named in one finding's chain. */
export const MAX_THREADED_CALLERS = 16;

interface Pending {
  finding: RawFinding;
  /** Locations already in the chain (`path:line:character`). */
  named: Set<string>;
  /** The chain's tail: further threaded callers of the forking function. */
  callers: RelatedLocation[];
}

function locationKey(r: RelatedLocation): string {
  return `${r.path}:${r.range.start.line}:${r.range.start.character}`;
}

/**
 * A fork helper (`open_bpipe()`, `run_command()`) called from many places: the chain of the
 * first program shows one way threads reach the fork, and every other direct call of the
 * forking function that may run while threads are running, in any program, is named after
 * it ("open_bpipe() is also called here while threads may be running, in release_device()"):
 * that call is where a caller decides to fork from a threaded context.
 */
function addThreadedCallers(model: CModel, site: ForkSite, order: Ordering, pending: Pending): void {
  const onThread: RelatedLocation[] = [];
  for (const c of model.callers(site.fn)) {
    if (pending.callers.length + onThread.length >= MAX_THREADED_CALLERS) break;
    if (c.fn === site.fn || !site.program.files.has(c.fn.file) || !order.at(c.fn, c.call)) continue;
    // A caller that runs on a thread (its callers lead up to a thread's start routine, through
    // dispatch tables and stored function pointers too) is named with that thread, first.
    const thread = order.threadAbove(c.fn);
    const text = thread
      ? `${c.fn.fact.name}() runs on the ${thread.routine.fact.name}() thread and calls ${site.fn.fact.name}() here`
      : `${site.fn.fact.name}() is also called here while threads may be running, in ${c.fn.fact.name}()`;
    const loc = callLocation(c.fn, c.fn.fact.calls[c.call], text);
    const key = locationKey(loc);
    if (pending.named.has(key)) continue;
    pending.named.add(key);
    (thread ? onThread : pending.callers).push(loc);
  }
  pending.callers.unshift(...onThread);
}

export function checkCForkInThreadedProgram(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, Pending>();
  for (const program of model.programs()) {
    const sites = forkSites(model, program);
    if (sites.length === 0) continue;
    const order = threadOrdering(model, program);
    if (!order.hasEvents) continue;
    for (const site of sites) {
      if (!site.threaded) continue;
      const walks = childWalks(model, site);
      if (site.fact.forkKind === 'fork' && site.fact.childKnown && walks.length > 0 && walks.every((w) => isCleanSpawn(w, model.knowledge))) continue;
      const key = `${site.fn.file.path}:${site.fact.range.start.line}:${site.fact.range.start.character}`;
      const known = found.get(key);
      if (known) {
        addThreadedCallers(model, site, order, known);
        continue;
      }
      // The best chain among the programs holding the fork: a helper's leads with its caller on a thread.
      const chain = forkLeadChain(model, site);
      const related: RelatedLocation[] = [
        ...chain,
        { path: site.fn.file.path, range: site.fact.range, message: `${site.fact.api}() here copies only the calling thread` },
      ];
      const fixes: Fix[] = [];
      if (site.fact.forkKind === 'fork' && walks.some((w) => w.end?.kind === 'exec')) {
        fixes.push({
          title: 'Start the program with posix_spawn() (file actions for dup2/close, attributes for signals) instead of fork() + exec',
          applicability: 'display-only',
          edits: [],
        });
      }
      const pending: Pending = {
        finding: {
          ruleId: RULE_ID,
          path: site.fn.file.path,
          range: site.fact.range,
          message: `${site.fact.api}() may run while other threads are running, and ${childProblem(site, walks, model.knowledge)}: locks held by other threads (malloc, stdio, syslog) stay locked forever in the child`,
          related,
          fixes,
        },
        named: new Set(related.map(locationKey)),
        callers: [],
      };
      addThreadedCallers(model, site, order, pending);
      found.set(key, pending);
    }
  }
  return [...found.values()].map((p) => ({ ...p.finding, related: [...p.finding.related, ...p.callers] }));
}
