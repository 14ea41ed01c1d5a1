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
import { cModel, type CModel } from '../model/c';
import { callLocation, declaredChildSites, forkSiteLabel, forkSites, judge, threadOrdering, type ChildEvent, type DeclaredChildSite, type ForkSite } from '../model/c-child';

export const RULE_ID = 'unsafe-call-in-fork-child';


function message(event: ChildEvent, reason: string, site: ForkSite, threaded: boolean, execs: boolean, failedExec?: string): string {
  const name = event.call.name;
  const via = event.path.length > 0 ? ` (reached through ${event.path.map((p) => `${p.target.fact.name}()`).join(' → ')})` : '';
  const at = event.goto ? ` (at its error label ${event.goto.label})` : '';
  const when = failedExec ? ` when ${failedExec}() fails${at}` : '';
  const head = `${name}() runs in the child of the ${site.fact.api}() at ${forkSiteLabel(site)}${when}${via} but is not async-signal-safe: it ${reason}`;
  if (threaded) return `${head}; threads may be running at the fork, so the child can deadlock${execs ? ' before it execs' : ''}`;
  return `${head}; this is only safe while the process has a single thread when it forks`;
}

function fixesFor(event: ChildEvent, site: ForkSite, afterExec: boolean): Fix[] {
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
  // Not for the error path after a failed exec: it reports that failure, which the parent cannot.
  if (!afterExec && call.name !== 'exit' && call.deleteSpan && call.statementText !== undefined && before && before.line < call.span[0]) {
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

/**
 * The steps from a failed exec to the call: the exec, and when the child jumped to an error
 * label, the `goto` and the label.
 */
function failedExecChain(exec: ChildEvent, event: ChildEvent): RelatedLocation[] {
  const jump = event.goto;
  if (!jump) return [callLocation(exec.owner, exec.call, `${exec.call.name}() here returns only when it fails; the child goes on below`)];
  return [
    callLocation(exec.owner, exec.call, `${exec.call.name}() here returns only when it fails`),
    { path: jump.fn.file.path, range: spanRange(jump.span), message: `goto ${jump.label} here: the child goes on at that label` },
    { path: jump.fn.file.path, range: spanRange(jump.labelSpan), message: `${jump.label}: the error path the child runs` },
  ];
}

/**
 * The calls that lead from the child to the event. The walk's own steps say "called in the
 * child"; the steps of a helper's summary (deeper than the walk follows) say which function
 * calls which ("log_line() calls emit() here, which leads to syslog()").
 */
function pathChain(event: ChildEvent): RelatedLocation[] {
  return event.path.map((p) =>
    p.summary
      ? callLocation(p.owner, p.call, `${p.owner.fact.name}() calls ${p.target.fact.name}() here, which leads to ${event.call.name}()`)
      : callLocation(p.owner, p.call, `${p.target.fact.name}() is called in the child here`),
  );
}

/** The unsafe call itself; reached through a summary, with the function that makes it. */
function unsafeLocation(event: ChildEvent): RelatedLocation {
  const text = event.summary
    ? `${event.owner.fact.name}() calls ${event.call.name}() here, which is not async-signal-safe`
    : `${event.call.name}() here is not async-signal-safe`;
  return callLocation(event.owner, event.call, text);
}

/** At most this many further child calls are named in one finding's chain (see {@link alsoReached}). */
export const MAX_OTHER_ENTRIES = 16;

/**
 * The call written in the child region (or, for a walk continued in the caller, the first
 * call of that walk) through which the child reaches `event`: where the fix belongs when a
 * helper such as `fatal()` or `die_errno()` is called at several places of the child.
 */
function entryOf(event: ChildEvent): { owner: ChildEvent['owner']; call: ChildEvent['call']; name: string } | null {
  const first = event.path[0];
  return first ? { owner: first.owner, call: first.call, name: first.target.fact.name } : null;
}

/**
 * The same unsafe call is reached again, through another call of the child (a second
 * `fatal()` on another error path): the finding already sits on the unsafe call, so its
 * chain gains that entry ("fatal() is also called in the child here and reaches
 * snprintf()"), once per entry location and up to {@link MAX_OTHER_ENTRIES}.
 */
function alsoReached(existing: Pending, event: ChildEvent, site: ForkSite): void {
  const entry = entryOf(event);
  if (!entry) return;
  const key = `${entry.owner.file.path}:${entry.call.span[0]}:${entry.call.span[1]}`;
  if (existing.entries.has(key) || existing.entries.size > MAX_OTHER_ENTRIES) return;
  existing.entries.add(key);
  const label = forkSiteLabel(site);
  const child = label === existing.forkLabel ? 'the child' : `the child of the ${site.fact.api}() at ${label}`;
  existing.extras.push(callLocation(entry.owner, entry.call, `${entry.name}() is also called in ${child} here and reaches ${event.call.name}()`));
}

interface Pending {
  finding: RawFinding;
  /** Entry calls already named in the chain (the first path's included), by location. */
  entries: Set<string>;
  /** The chain's tail: the further entries, in the order the walks met them. */
  extras: RelatedLocation[];
  /** The fork the finding's message names (`bpipe.c:12`). */
  forkLabel: string;
}

export function checkUnsafeCallInForkChild(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, Pending>();
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
        const execEvent = execs ? walk.end!.event : undefined;
        // What runs when the exec fails is a process of its own in a single-threaded program
        // (reporting the failure there is the norm); with threads it can deadlock like the rest.
        const failed = new Set(threaded ? (walk.failedExec ?? []) : []);
        let threadChain: RelatedLocation[] | null = null;
        for (const event of [...walk.events, ...failed]) {
          const verdict = judge(event, model.knowledge);
          if (verdict.kind !== 'unsafe') continue;
          const key = `${event.owner.file.path}:${event.call.span[0]}:${event.call.span[1]}`;
          const severity = threaded ? 'error' : 'warning';
          const existing = found.get(key);
          if (existing && (existing.finding.severity === 'error' || severity === 'warning')) {
            alsoReached(existing, event, site);
            continue;
          }
          threadChain ??= site.threaded ? order.chainAt(site.fn, site.fact.callIndex) : [];
          const reason = UNSAFE_REASON_TEXT[verdict.reason as UnsafeReason] ?? verdict.reason;
          const afterExec = failed.has(event) && execEvent ? execEvent : undefined;
          const related: RelatedLocation[] = [
            ...threadChain,
            { path: site.fn.file.path, range: site.fact.range, message: `${site.fact.api}() here; the child starts below` },
            ...pathChain(event),
            ...(afterExec ? failedExecChain(afterExec, event) : []),
            unsafeLocation(event),
          ];
          const entry = entryOf(event);
          const pending: Pending = {
            finding: {
              ruleId: RULE_ID,
              path: event.owner.file.path,
              range: spanRange(event.call.span),
              message: message(event, reason, site, threaded, execs, afterExec?.call.name),
              severity,
              related,
              fixes: fixesFor(event, site, afterExec !== undefined),
            },
            entries: new Set(entry ? [`${entry.owner.file.path}:${entry.call.span[0]}:${entry.call.span[1]}`] : []),
            extras: [],
            forkLabel: forkSiteLabel(site),
          };
          // A threaded walk replacing a warning keeps the entries the warning had named.
          if (existing) {
            for (const k of existing.entries) pending.entries.add(k);
            pending.extras.push(...existing.extras);
          }
          found.set(key, pending);
        }
      });
    }
  }
  for (const declared of declaredChildSites(model)) checkDeclared(model, declared, found);
  return [...found.values()].map((p) => ({ ...p.finding, related: [...(p.finding.related ?? []), ...p.extras] }));
}

/**
 * A function declared fork-child code (`hazard-lens: fork-child`, or a `forkChildFunctions`
 * model): its host may be threaded, so every unsafe call it makes — through helpers too — is
 * an error, reported unless a real fork's walk reported it already.
 */
function checkDeclared(model: CModel, site: DeclaredChildSite, found: Map<string, Pending>): void {
  const fn = site.fn;
  const declaredBy = site.how === 'annotation' ? 'the hazard-lens: fork-child comment' : 'forkChildFunctions in .hazard-lens.json';
  const events = [...site.walk.events, ...(site.walk.failedExec ?? [])];
  for (const event of events) {
    const verdict = judge(event, model.knowledge);
    if (verdict.kind !== 'unsafe') continue;
    const key = `${event.owner.file.path}:${event.call.span[0]}:${event.call.span[1]}`;
    if (found.has(key)) continue;
    const reason = UNSAFE_REASON_TEXT[verdict.reason as UnsafeReason] ?? verdict.reason;
    const via = event.path.length > 0 ? ` (reached through ${event.path.map((p) => `${p.target.fact.name}()`).join(' → ')})` : '';
    found.set(key, {
      finding: {
        ruleId: RULE_ID,
        path: event.owner.file.path,
        range: spanRange(event.call.span),
        message: `${event.call.name}() runs in ${fn.fact.name}()${via}, which is declared to run in a fork child before exec (${declaredBy}), but is not async-signal-safe: it ${reason}; when the host program has threads, the child can deadlock`,
        severity: 'error',
        related: [
          { path: fn.file.path, range: spanRange(fn.fact.nameSpan), message: `${fn.fact.name}() is declared to run in a fork child here` },
          ...pathChain(event),
          unsafeLocation(event),
        ],
        fixes: [],
      },
      entries: new Set(),
      extras: [],
      forkLabel: '',
    });
  }
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
