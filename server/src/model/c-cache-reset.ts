/**
 * Forks a cached descriptor never crosses in a way that matters. A forked child that forgets
 * or replaces the cache before relying on it: the child calls a workspace function that sets
 * the cache, outside any branch, to a constant (`log_close()` doing `log_file = NULL`) or to a
 * fresh descriptor (`fd = -1; reopen()`), after the last close-all of its walk. And a fork
 * turned off whenever the cache is filled: the function that fills it sets a flag when it is
 * set (`if (inherited_fd) no_daemon = 1;`), and every call there that leads to the fork runs
 * only while that flag is zero (`if (!no_daemon) daemonize();`). And a cache the parent closes
 * and forgets before it forks (`if (fp != NULL) { fclose(fp); fp = NULL; }` between the open
 * and the fork): nothing is inherited. Used by the FD rules next to
 * `cacheSurvivesFork` (re-validation, at-fork handlers).
 */
import type { CFdCacheFact, Span } from '../facts/c/program-types';
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

/** How deep calls are followed from the filling function towards the fork. */
const REACH_DEPTH = 4;

/** Whether `from` reaches `target` through workspace calls (itself included). */
function reaches(model: CModel, from: CFn, target: CFn, depth: number, seen: Set<CFn>): boolean {
  if (from === target) return true;
  if (depth >= REACH_DEPTH || seen.has(from)) return false;
  seen.add(from);
  return model.callees(from).some((list) => list.some((t) => reaches(model, t, target, depth + 1, seen)));
}

/**
 * True when the function that fills the cache turns the fork off whenever the cache is set: it
 * sets a flag inside `if (cache)`, and each of its calls after the fill that leads to the fork
 * (or the fork call itself) requires that flag to be zero. A fork reached otherwise (from a
 * caller, after the function returned) is not judged here. Later writes to the flag are not
 * followed.
 */
export function forkOffWhenCached(model: CModel, site: ForkSite, file: CFile, cache: CFdCacheFact): boolean {
  const fn = file.functions[cache.functionIndex];
  const flags = new Set((fn?.fact.flagSets ?? []).filter((f) => f.test === cache.variable).map((f) => f.flag));
  if (!fn || flags.size === 0 || cache.callIndex < 0) return false;
  let leading = 0;
  for (let i = cache.callIndex + 1; i < fn.fact.calls.length; i++) {
    const call = fn.fact.calls[i];
    const leads = site.fn === fn ? i === site.fact.callIndex : model.resolve(fn, i).some((t) => reaches(model, t, site.fn, 1, new Set()));
    if (!leads) continue;
    leading++;
    if (!(call.zeroGuards ?? []).some((g) => flags.has(g))) return false;
  }
  return leading > 0;
}

function before(a: Span, b: Span): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Whether `target` forgets the cache's own storage (a global, or this file's static). */
function forgetsOf(target: CFn, file: CFile, cache: CFdCacheFact): readonly Span[] {
  const own = cache.storage === 'global' || (target.file === file && (cache.storage === 'file-static' || target.fact.index === cache.functionIndex));
  if (!own) return [];
  return (target.fact.forgets ?? []).filter((f) => f.variable === cache.variable).map((f) => f.at);
}

/**
 * The undo test for `Ordering.undoneBefore` on a cache: between call `after` (-1: the start)
 * and call `until` of `g`, the cache's storage is forgotten on every path, by `g` itself (see
 * `CFunctionFact.forgets`) or by a workspace function that `g` calls every time
 * (`close_output()` doing `out = NULL`). The parent then holds no cached descriptor when it
 * forks, and the child inherits none.
 */
export function forgottenBetween(model: CModel, file: CFile, cache: CFdCacheFact): (g: CFn, after: number, until: number) => boolean {
  return (g, after, until) => {
    const from = after >= 0 ? g.fact.calls[after]?.span : undefined;
    const to = g.fact.calls[until]?.span;
    if (!to || (after >= 0 && !from)) return false;
    const between = (s: Span) => (!from || before(from, s)) && before(s, to);
    if (forgetsOf(g, file, cache).some(between)) return true;
    for (let i = 0; i < g.fact.calls.length; i++) {
      const call = g.fact.calls[i];
      if (i === until || !call.unconditional || !between(call.span)) continue;
      if (model.resolve(g, i).some((t) => t !== g && forgetsOf(t, file, cache).length > 0)) return true;
    }
    return false;
  };
}
