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
import { cModel } from '../../model/c';
import type { CKnowledge } from '../../knowledge/knowledge';
import { childWalks, forkSites, isCleanSpawn, judge, threadOrdering, type ChildWalk, type ForkSite } from '../../model/c-child';

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
  }
  return 'the child is not limited to async-signal-safe calls';
}

export function checkCForkInThreadedProgram(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, RawFinding>();
  for (const program of model.programs()) {
    const order = threadOrdering(model, program);
    if (!order.hasEvents) continue;
    for (const site of forkSites(model, program)) {
      if (!site.threaded) continue;
      const walks = childWalks(model, site);
      if (site.fact.forkKind === 'fork' && site.fact.childKnown && walks.length > 0 && walks.every((w) => isCleanSpawn(w, model.knowledge))) continue;
      const key = `${site.fn.file.path}:${site.fact.range.start.line}:${site.fact.range.start.character}`;
      if (found.has(key)) continue;
      const chain = order.chainAt(site.fn, site.fact.callIndex);
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
      found.set(key, {
        ruleId: RULE_ID,
        path: site.fn.file.path,
        range: site.fact.range,
        message: `${site.fact.api}() may run while other threads are running, and ${childProblem(site, walks, model.knowledge)}: locks held by other threads (malloc, stdio, syslog) stay locked forever in the child`,
        related,
        fixes,
      });
    }
  }
  return [...found.values()];
}
