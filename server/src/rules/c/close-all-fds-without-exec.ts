/**
 * C checker of `close-all-fds-without-exec`: a forked child closes descriptors wholesale
 * (`for (fd = 3; fd < max; fd++) close(fd)`, `closefrom`, `close_range` without
 * `CLOSE_RANGE_CLOEXEC`) and then keeps running the program instead of exec'ing. Any
 * descriptor a library cached (syslog's socket, libuuid's /dev/urandom fd) is closed under
 * it, and the next open reuses the number (incident 2). Silent when an exec (or an exit)
 * follows — also an exec helper that returns when its exec fails, with an exit right after
 * it (`model/c-child.ts` `execsAfter`) — and for loops with a keep-list that spares every
 * descriptor the program cached (a keep-list that compares the descriptor with other values
 * is reported, naming the cached descriptors it closes). A close-all that returns when it
 * worked leaves the rest of its function as a fallback, not as what the child runs after it.
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix } from '../../text/edits';
import type { RelatedLocation } from '../../text/locations';
import { FD_SOURCES, LIBRARY_FD_CACHES } from '../../knowledge/c-process';
import type { CCloseAllFact } from '../../facts/c/program-types';
import { calledName, cModel, type CFile, type CFn, type CProgram } from '../../model/c';
import { resetIndexAfter } from '../../model/c-cache-reset';
import { cacheSurvivesFork, callKey, callLocation, childWalks, eventOrdering, execsAfter, forkSiteLabel, forkSites, lastInOwnFunction, runsProgramAfter, surelyAfter, type ChildWalk } from '../../model/c-child';
import type { CKnowledge } from '../../knowledge/knowledge';

const RULE_ID = 'close-all-fds-without-exec';

const FIXES: Fix[] = [
  {
    title: 'Keep the descriptors that must survive (log sockets, random-device fds): skip them in the loop, or close only the ones this program opened',
    applicability: 'display-only',
    edits: [],
  },
  {
    title: 'If the child is meant to run another program: mark descriptors close-on-exec with close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) and exec it',
    applicability: 'display-only',
    edits: [],
  },
];

/**
 * Whether a keep-list spares the cache `variable`: it compares the descriptor with that
 * variable, or with a call of a program function that returns or passes it on (a getter).
 */
function keptBy(program: CProgram, keeps: ReadonlySet<string>, variable: string): boolean {
  if (keeps.has(variable)) return true;
  for (const k of keeps) {
    if (!k.endsWith('()')) continue;
    const name = k.slice(0, -2);
    for (const f of program.files) {
      for (const fn of f.functions) if (fn && fn.fact.name === name && fn.fact.references.includes(variable)) return true;
    }
  }
  return false;
}

/** Whether some function of the program resets the storage (`fd = -1`, `fp = NULL`, also after a test that it is open). */
function forgotten(program: CProgram, variable: string): boolean {
  for (const f of program.files) for (const fn of f.functions) if (fn?.fact.resets?.includes(variable)) return true;
  return false;
}

/** Reasons a call is not async-signal-safe that still never read or write a descriptor (`knowledge/c-process.ts`). */
const TOUCHES_NO_DESCRIPTOR: ReadonlySet<string> = new Set(['heap', 'format']);

/**
 * Whether the child goes on running program code after event `from` (`runsProgramAfter`,
 * with allocating and formatting into memory before `_exit()` left alone: a test child that
 * frees its buffers touches no descriptor). A walk that ended at or before `from` ended inside
 * what was skipped (the close-all's fallback): what the child does next is unseen.
 */
function runsProgramAfterClose(walk: ChildWalk, from: number, knowledge: CKnowledge): boolean {
  if (walk.end && walk.end.kind !== 'exec' && walk.events.indexOf(walk.end.event) <= from) return true;
  return runsProgramAfter(walk, from, knowledge, TOUCHES_NO_DESCRIPTOR);
}

export function checkCCloseAllFdsWithoutExec(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, RawFinding>();
  for (const program of model.programs()) {
    const closeAlls = new Map<string, { file: CFile; fn: CFn; fact: CCloseAllFact }>();
    for (const f of program.files) {
      for (const c of f.closeAlls) {
        const fn = f.functions[c.functionIndex];
        const call = fn?.fact.calls[c.callIndex];
        // A keep-list is judged by what it keeps (below) when it names the values it spares.
        if (fn && call && (!c.keepList || c.keeps) && !c.cloexecOnly) closeAlls.set(callKey(fn, call), { file: f, fn, fact: c });
      }
    }
    if (closeAlls.size === 0) continue;
    for (const site of forkSites(model, program)) {
      for (const walk of childWalks(model, site)) {
        walk.events.forEach((event, index) => {
          const hit = closeAlls.get(callKey(event.owner, event.call));
          if (!hit) return;
          // A close-all that returns when it worked: the rest of its function is its fallback.
          const from = hit.fact.returnsWhenDone && event.path.length > 0 ? lastInOwnFunction(walk, index) : index;
          if (!runsProgramAfterClose(walk, from, model.knowledge)) return;
          // Closing everything and then exec'ing (with an exit when the exec fails) is hygiene.
          if (execsAfter(model, walk, index)) return;
          const key = `${hit.file.path}:${hit.fact.range.start.line}:${hit.fact.range.start.character}`;
          if (found.has(key)) return;
          const related: RelatedLocation[] = [
            { path: site.fn.file.path, range: site.fact.range, message: `${site.fact.api}() here; the child keeps running the program` },
            ...event.path.map((p) => callLocation(p.owner, p.call, `${p.target.fact.name}() is called in the child here`)),
            { path: hit.file.path, range: hit.fact.range, message: 'descriptors closed here; the child goes on without exec' },
          ];
          const keeps = hit.fact.keepList ? new Set(hit.fact.keeps) : null;
          /** Caches a keep-list closes: those it does not compare the descriptor with. */
          const destroyed: string[] = [];
          // Caches the close destroys: workspace fd caches and library caches filled before the fork.
          for (const f of program.files) {
            for (const cache of f.caches) {
              // A keep-list is not charged with a cache the program forgets again (`fp = NULL`
              // after closing it): the forgetting is not ordered against the fork.
              if (keeps && (keptBy(program, keeps, cache.variable) || forgotten(program, cache.variable))) continue;
              const fn = f.functions[cache.functionIndex];
              if (!fn || cache.callIndex < 0 || cacheSurvivesFork(model, program, f, cache)) continue;
              // Re-opened or forgotten by the child after this close: its number is not relied on.
              if (resetIndexAfter(walk, index, f, cache) >= 0) continue;
              const order = eventOrdering(model, program, `cache:${f.path}:${cache.range.start.line}:${cache.range.start.character}`, () => [{ fn, call: cache.callIndex, api: cache.api }], {
                site: (api) => `'${cache.variable}' is filled here from ${api}()`,
                via: (callee) => `${callee}() is called here and fills the cache`,
                enters: (callee) => `${callee}() is called here, after the descriptor may have been cached`,
                unknown: (name) => `${calledName(name)} has no known caller in this program, so it may run after the cache is filled`,
              });
              if (order.at(site.fn, site.fact.callIndex)) {
                related.push({ path: f.path, range: cache.range, message: `'${cache.variable}' caches a descriptor here; the close-all frees its number` });
                destroyed.push(cache.variable);
              }
            }
            // A keep-list is not judged for library caches: their descriptors have no name to keep.
            if (keeps) continue;
            for (const lib of f.libraryCaches) {
              const fn = f.functions[lib.functionIndex];
              // A workspace function of the same name is not the library.
              if (!fn || model.resolve(fn, lib.callIndex).length > 0) continue;
              const order = eventOrdering(model, program, `lib:${f.path}:${lib.range.start.line}:${lib.range.start.character}`, () => [{ fn, call: lib.callIndex, api: lib.api }], {
                site: (api) => `${api}() here`,
                via: (callee) => `${callee}() is called here`,
                enters: (callee) => `${callee}() is called here`,
                unknown: (name) => `${calledName(name)} may run first`,
              });
              if (order.at(site.fn, site.fact.callIndex)) {
                related.push({ path: f.path, range: lib.range, message: `${lib.api}() here makes the library cache ${LIBRARY_FD_CACHES.get(lib.api) ?? 'a descriptor'}; the close-all frees its number` });
              }
            }
          }
          // A keep-list that spares every cached descriptor is what a daemon should do.
          if (keeps && destroyed.length === 0) return;
          // The first descriptor surely opened after the close gets one of the freed numbers.
          const reuse = surelyAfter(model, walk, from, (e) => FD_SOURCES.has(e.call.name));
          if (reuse) related.push(callLocation(reuse.owner, reuse.call, `${reuse.call.name}() here gets one of the freed numbers`));
          const what = hit.fact.api === 'loop' ? `This loop closes every descriptor${hit.fact.from ? ` from ${hit.fact.from}` : ''}` : `${hit.fact.api}() closes every descriptor${hit.fact.from ? ` from ${hit.fact.from}` : ''}`;
          const message = keeps
            ? `This loop keeps ${[...keeps].join(', ')} but closes every other descriptor${hit.fact.from ? ` from ${hit.fact.from}` : ''} in a forked child that keeps running instead of exec'ing (${site.fact.api}() at ${forkSiteLabel(site)}): the cached ${destroyed.map((v) => `'${v}'`).join(', ')} ${destroyed.length > 1 ? 'are' : 'is'} closed under the program and ${destroyed.length > 1 ? 'their numbers' : 'its number'} reused by the next open`
            : `${what} in a forked child that keeps running instead of exec'ing (${site.fact.api}() at ${forkSiteLabel(site)}): descriptors cached by libraries or by this program are closed under them and their numbers reused by the next open`;
          found.set(key, {
            ruleId: RULE_ID,
            path: hit.file.path,
            range: hit.fact.range,
            message,
            related,
            fixes: FIXES.map((f) => ({ ...f, edits: [] })),
          });
        });
      }
    }
  }
  return [...found.values()];
}
