/**
 * Whether a forked child forgets or replaces a cached descriptor before relying on it: the
 * child calls a workspace function that sets the cache, outside any branch, to a constant
 * (`log_close()` doing `log_file = NULL`) or to a fresh descriptor (`fd = -1;
 * reopen()`), after the last close-all of its walk. Such a child never uses the inherited
 * number. Used by the FD rules next to `cacheSurvivesFork` (re-validation, at-fork handlers).
 */
import type { CFdCacheFact } from '../facts/c/program-types';
import type { CFile, CFn, CModel } from './c';
import { callKey, childWalks, runsProgramAfter, walkAfter, type ChildWalk, type ForkSite } from './c-child';

/** A function whose call resets the cache: it is the cache's own storage that the function sets. */
function resets(target: CFn, file: CFile, cache: CFdCacheFact): boolean {
  if (!target.fact.resets?.includes(cache.variable)) return false;
  if (cache.storage === 'global') return true;
  if (target.file !== file) return false;
  return cache.storage === 'file-static' || target.fact.index === cache.functionIndex;
}

/** Index of the first event after `from` whose call resets the cache, or -1. */
export function resetIndexAfter(walk: ChildWalk, from: number, file: CFile, cache: CFdCacheFact): number {
  for (let i = from + 1; i < walk.events.length; i++) {
    if (walk.events[i].targets.some((t) => resets(t, file, cache))) return i;
  }
  return -1;
}

/**
 * The walks of what the child of a site runs. A `daemon()` child runs on after the call and,
 * when its function returns, in the caller after the call (a daemonizing helper returns into
 * the code that runs as the daemon), as the region walks of a `fork()` already do.
 */
function continuationWalks(model: CModel, site: ForkSite): ChildWalk[] {
  const walks = childWalks(model, site);
  if (site.fact.forkKind !== 'daemon') return walks;
  return walks.map((w) => {
    if (w.end) return w;
    const caller = model.callers(site.fn).find((c) => site.program.files.has(c.fn.file) && c.fn !== site.fn);
    if (!caller) return w;
    const rest = walkAfter(model, caller.fn, caller.call);
    return { events: [...w.events, ...rest.events], end: rest.end };
  });
}

/**
 * True when every child of the site that keeps running the program resets the cache after its
 * last close-all (or, without one, at all): the child never relies on the inherited number.
 */
export function cacheResetInChild(model: CModel, site: ForkSite, file: CFile, cache: CFdCacheFact): boolean {
  const closing = new Set<string>();
  for (const f of site.program.files) {
    for (const c of f.closeAlls) {
      const fn = f.functions[c.functionIndex];
      const call = fn?.fact.calls[c.callIndex];
      if (fn && call && !c.cloexecOnly) closing.add(callKey(fn, call));
    }
  }
  let running = 0;
  for (const walk of continuationWalks(model, site)) {
    if (!runsProgramAfter(walk, -1, model.knowledge)) continue;
    running++;
    let lastClose = -1;
    walk.events.forEach((e, i) => {
      if (closing.has(callKey(e.owner, e.call))) lastClose = i;
    });
    if (resetIndexAfter(walk, lastClose, file, cache) < 0) return false;
  }
  return running > 0;
}
