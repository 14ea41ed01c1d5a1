/**
 * unsafe-call-in-fork-child: a call that is not async-signal-safe runs in the child of a
 * fork before `exec*`/`_exit` (incident 1: Bacula's `open_bpipe()` child called
 * `closelog()` while another thread held syslog's lock at the fork, and hung for a week).
 * The child is followed into workspace functions, so the unsafe call may sit two or three
 * functions away from the fork, in another file.
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import type { Fix } from '../text/edits';
import type { RelatedLocation } from '../text/locations';
import { REMOVABLE_IN_CHILD, UNSAFE_REASON_TEXT, type UnsafeReason } from '../knowledge/c-process';
import { spanRange } from '../facts/c/program-types';
import { cModel } from '../model/c';
import { callLocation, forkSiteLabel, forkSites, judge, threadOrdering, type ChildEvent, type ForkSite } from '../model/c-child';

export const RULE_ID = 'unsafe-call-in-fork-child';


function message(event: ChildEvent, reason: string, site: ForkSite, threaded: boolean, execs: boolean): string {
  const name = event.call.name;
  const via = event.path.length > 0 ? ` (reached through ${event.path.map((p) => `${p.target.fact.name}()`).join(' → ')})` : '';
  const head = `${name}() runs in the child of the ${site.fact.api}() at ${forkSiteLabel(site)}${via} but is not async-signal-safe: it ${reason}`;
  if (threaded) return `${head}; threads may be running at the fork, so the child can deadlock${execs ? ' before it execs' : ''}`;
  return `${head}; this is only safe while the process has a single thread when it forks`;
}

function fixesFor(event: ChildEvent, site: ForkSite): Fix[] {
  if (event.path.length > 0) return [];
  const call = event.call;
  const fixes: Fix[] = [];
  if (call.name === 'exit') {
    fixes.push({
      title: 'Use _exit() in the child (skips atexit handlers and stdio flushing, which belong to the parent)',
      applicability: 'safe',
      edits: [{ range: { start: { line: call.span[0], character: call.span[1] }, end: { line: call.span[0], character: call.span[1] + 4 } }, newText: '_exit' }],
    });
  }
  if (REMOVABLE_IN_CHILD.has(call.name) && call.deleteSpan) {
    fixes.push({
      title: `Remove ${call.name}() from the child (the exec'd program opens its own syslog connection)`,
      applicability: 'unsafe',
      edits: [{ range: spanRange(call.deleteSpan), newText: '' }],
    });
  }
  // Moving the call before the fork runs it once in the parent instead of in the child:
  // unsafe, since it then also runs when fork() fails and its effects stay in the parent.
  const before = site.fact.before;
  if (call.name !== 'exit' && call.deleteSpan && call.statementText !== undefined && before && before.line < call.span[0]) {
    const at = { line: before.line, character: 0 };
    fixes.push({
      title: `Move ${call.name}() before the ${site.fact.api}() call (it then runs in the parent)`,
      applicability: 'unsafe',
      edits: [
        { range: { start: at, end: at }, newText: `${before.indent}${call.statementText}\n` },
        { range: spanRange(call.deleteSpan), newText: '' },
      ],
    });
  }
  return fixes;
}

export function checkUnsafeCallInForkChild(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, RawFinding>();
  for (const program of model.programs()) {
    const order = threadOrdering(model, program);
    for (const site of forkSites(model, program)) {
      if (site.fact.forkKind !== 'fork') continue;
      const threaded = ctx.config.assumeMultithreaded || site.threaded;
      site.walks.forEach((walk) => {
        // A child that keeps running the program (a daemon, or a worker that runs program
        // functions and then exits) is a whole process of its own; its calls only matter
        // when threads may have been running at the fork. Set-up code that ends in exec, or
        // a short inline child, is judged either way.
        const worker = walk.end?.kind !== 'exec' && walk.events.some((e) => e.path.length === 0 && e.targets.length > 0);
        if (!threaded && (!walk.end || worker)) return;
        const execs = walk.end?.kind === 'exec';
        let threadChain: RelatedLocation[] | null = null;
        for (const event of walk.events) {
          const verdict = judge(event, model.knowledge);
          if (verdict.kind !== 'unsafe') continue;
          const key = `${event.owner.file.path}:${event.call.span[0]}:${event.call.span[1]}`;
          const severity = threaded ? 'error' : 'warning';
          const existing = found.get(key);
          if (existing && (existing.severity === 'error' || severity === 'warning')) continue;
          threadChain ??= site.threaded ? order.chainAt(site.fn, site.fact.callIndex) : [];
          const reason = UNSAFE_REASON_TEXT[verdict.reason as UnsafeReason] ?? verdict.reason;
          const related: RelatedLocation[] = [
            ...threadChain,
            { path: site.fn.file.path, range: site.fact.range, message: `${site.fact.api}() here; the child starts below` },
            ...event.path.map((p) => callLocation(p.owner, p.call, `${p.target.fact.name}() is called in the child here`)),
            callLocation(event.owner, event.call, `${event.call.name}() here is not async-signal-safe`),
          ];
          found.set(key, {
            ruleId: RULE_ID,
            path: event.owner.file.path,
            range: spanRange(event.call.span),
            message: message(event, reason, site, threaded, execs),
            severity,
            related,
            fixes: fixesFor(event, site),
          });
        }
      });
    }
  }
  return [...found.values()];
}

export const unsafeCallInForkChild: Rule = {
  meta: {
    id: RULE_ID,
    family: 'FORK',
    languages: ['c'],
    defaultSeverity: 'error',
    summary: 'A fork child calls a function that is not async-signal-safe (malloc, printf, syslog, exit, ...) before exec or _exit.',
    fixes: ['safe', 'unsafe'],
    tags: ['CWE-479', 'CWE-667'],
  },
  checkProgram: checkUnsafeCallInForkChild,
};
