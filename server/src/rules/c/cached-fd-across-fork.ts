/**
 * C checker of `cached-fd-across-fork`: a descriptor kept in `static` or file-scope storage
 * (`static int fd = -2; ... fd = open("/dev/urandom", O_RDONLY);`) in a program that forks
 * and keeps running (daemonizes), when the cache may be filled before the fork. Incident 2:
 * libuuid cached its /dev/urandom fd, Celery's daemonizer closed every fd after forking,
 * the number went to a statsd socket, and libuuid read from the socket.
 * Silent when the cache is re-validated (`fstat` + `st_dev`/`st_ino`), reset in a
 * `pthread_atfork` child handler, or only filled after the fork in program order.
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix } from '../../text/edits';
import type { RelatedLocation } from '../../text/locations';
import type { CFdCacheFact } from '../../facts/c/program-types';
import { calledName, cModel, type CFile, type CFn, type CModel, type CProgram } from '../../model/c';
import { cacheSurvivesFork, callKey, childWalks, eventOrdering, forkSites, runsProgramAfter, forkSiteLabel, type ForkSite } from '../../model/c-child';
import type { Ordering } from '../../model/c-order';
import { cacheResetInChild, forgottenBetween, forkOffWhenCached } from '../../model/c-cache-reset';
import { isLibraryFile } from '../../model/c-library';

const RULE_ID = 'cached-fd-across-fork';

/** The close-all sites a continuing child of this fork reaches. */
function closeAllsOf(model: CModel, site: ForkSite): RelatedLocation[] {
  const wanted = new Map<string, { file: CFile; range: RelatedLocation['range'] }>();
  for (const f of site.program.files) {
    for (const c of f.closeAlls) {
      const fn = f.functions[c.functionIndex];
      const call = fn?.fact.calls[c.callIndex];
      if (fn && call && !c.keepList && !c.cloexecOnly) wanted.set(callKey(fn, call), { file: f, range: c.range });
    }
  }
  const out: RelatedLocation[] = [];
  for (const walk of childWalks(model, site)) {
    walk.events.forEach((e, index) => {
      const hit = wanted.get(callKey(e.owner, e.call));
      if (hit && runsProgramAfter(walk, index, model.knowledge)) out.push({ path: hit.file.path, range: hit.range, message: 'descriptors closed here in the child, the cached one included; its number is free for the next open' });
    });
  }
  return out;
}

function identifierFor(variable: string): string {
  return variable.replace(/->|\./g, '_').replace(/[^A-Za-z0-9_]/g, '');
}

/** The at-fork reset fix: a child handler registered by a constructor, inserted after the declaration. */
function atForkFix(file: CFile, cache: CFdCacheFact): Fix | undefined {
  if (!cache.declarationSpan || cache.storage === 'static-local' || /^f(d)?open/.test(cache.api)) return undefined;
  const id = identifierFor(cache.variable);
  const notOpen = cache.declarationInitializer && /^-?\d+$/.test(cache.declarationInitializer) ? cache.declarationInitializer : '-1';
  const line = cache.declarationSpan[2] + 1;
  const code =
    `\n/* Forget the cached descriptor in a forked child: after a fork the number may be closed and reused. */\n` +
    `static void reset_${id}_after_fork(void)\n{\n  if (${cache.variable} >= 0)\n    close(${cache.variable});\n  ${cache.variable} = ${notOpen};\n}\n\n` +
    `__attribute__((constructor)) static void register_${id}_reset(void)\n{\n  pthread_atfork(NULL, NULL, reset_${id}_after_fork);\n}\n`;
  const edits = [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: code }];
  const headers = file.includes?.headers ?? [];
  const insertLine = file.includes?.insertLine ?? 0;
  const missing = ['pthread.h', 'unistd.h'].filter((h) => !headers.includes(h));
  if (missing.length > 0 && insertLine <= cache.declarationSpan[0]) {
    edits.unshift({ range: { start: { line: insertLine, character: 0 }, end: { line: insertLine, character: 0 } }, newText: missing.map((h) => `#include <${h}>\n`).join('') });
  }
  return { title: `Reset '${cache.variable}' in a pthread_atfork() child handler (the child re-opens it when needed)`, applicability: 'unsafe', edits };
}

const REVALIDATE_FIX: Fix = {
  title: 'Re-validate the cached descriptor before each use: fstat() it and compare st_dev/st_ino with the values saved when it was opened; re-open on mismatch',
  applicability: 'display-only',
  edits: [],
};

/** How a message names where the descriptor is cached. */
function storageWords(cache: CFdCacheFact): string {
  return cache.storage === 'static-local' ? 'a static local variable' : cache.storage === 'file-static' ? 'a static file-scope variable' : 'a global variable';
}

/** A static or file-scope descriptor cache in library code that nothing re-validates or resets at fork. */
function libraryCacheFinding(model: CModel, file: CFile, cache: CFdCacheFact): RawFinding | undefined {
  const hosts = model.programsOf(file);
  const scope: CProgram = { id: -1, label: 'library', files: new Set([file, ...hosts.flatMap((p) => [...p.files])]), mains: [] };
  if (cacheSurvivesFork(model, scope, file, cache)) return undefined;
  const storage = storageWords(cache);
  const fixes: Fix[] = [];
  const reset = atForkFix(file, cache);
  if (reset) fixes.push(reset);
  fixes.push(REVALIDATE_FIX);
  return {
    ruleId: RULE_ID,
    path: file.path,
    range: cache.range,
    message:
      `'${cache.variable}' caches a descriptor from ${cache.api}() in ${storage} of library code, which cannot know its host: ` +
      `a host that forks and closes every descriptor (a daemonizer) frees the number, the next open reuses it, and '${cache.variable}' silently reads or writes the wrong file`,
    related: [
      { path: file.path, range: cache.range, message: `descriptor cached in '${cache.variable}' here; nothing re-validates it (fstat st_dev/st_ino) or resets it in a pthread_atfork() child handler` },
    ],
    fixes,
  };
}

export function checkCCachedFdAcrossFork(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const found = new Map<string, RawFinding>();
  for (const program of model.programs()) {
    const continuing = forkSites(model, program).filter((s) => s.continues);
    if (continuing.length === 0) continue;
    for (const file of program.files) {
      for (const cache of file.caches) {
        const key = `${file.path}:${cache.range.start.line}:${cache.range.start.character}`;
        if (found.has(key)) continue;
        if (cacheSurvivesFork(model, program, file, cache)) continue;
        const fn: CFn | undefined = file.functions[cache.functionIndex];
        if (!fn) continue;
        const order: Ordering | null =
          cache.callIndex >= 0
            ? eventOrdering(model, program, `cache:${key}`, () => [{ fn, call: cache.callIndex, api: cache.api }], {
                site: (api) => `'${cache.variable}' is filled here from ${api}()`,
                via: (callee) => `${callee}() is called here and fills the cache`,
                enters: (callee) => `${callee}() is called here, after the descriptor may have been cached`,
                unknown: (name) => `${calledName(name)} has no known caller in this program, so it may run after the cache is filled`,
              })
            : null;
        // A child that resets the cache (after any close-all) never relies on the inherited number.
        // Nor does a fork that the code filling the cache turns off whenever it is filled.
        // Nor one the parent closes and forgets before the fork: the child inherits nothing.
        const forgotten = forgottenBetween(model, file, cache);
        const site = continuing.find(
          (s) =>
            (order ? order.at(s.fn, s.fact.callIndex) && !order.undoneBefore(s.fn, s.fact.callIndex, forgotten) : true) &&
            !cacheResetInChild(model, s, file, cache) &&
            !forkOffWhenCached(model, s, file, cache),
        );
        if (!site) continue;
        const chain = order ? order.chainAt(site.fn, site.fact.callIndex) : [];
        // The chain starts at the cache site, which the finding already shows first.
        const rest = chain.filter((r) => !(r.path === file.path && r.range.start.line === cache.range.start.line && r.range.start.character === cache.range.start.character));
        const closes = closeAllsOf(model, site);
        const storage = storageWords(cache);
        const forkWhere = forkSiteLabel(site);
        const consequence =
          closes.length > 0
            ? `the child then closes descriptors wholesale, so the number is reused by the next open and '${cache.variable}' silently reads or writes the wrong file`
            : `parent and child share the descriptor (and its offset) and a close-all in the child would leave '${cache.variable}' pointing at whatever reuses the number`;
        const fixes: Fix[] = [];
        const reset = atForkFix(file, cache);
        if (reset) fixes.push(reset);
        fixes.push(REVALIDATE_FIX);
        found.set(key, {
          ruleId: RULE_ID,
          path: file.path,
          range: cache.range,
          // Like the Python side: a close-all in the child makes the reuse certain, not possible.
          ...(closes.length > 0 ? { severity: 'error' as const } : {}),
          message: `'${cache.variable}' caches a descriptor from ${cache.api}() in ${storage}, and the program forks and keeps running (${site.fact.api}() at ${forkWhere}): ${consequence}`,
          related: [
            { path: file.path, range: cache.range, message: `descriptor cached in '${cache.variable}' here` },
            ...rest,
            { path: site.fn.file.path, range: site.fact.range, message: `${site.fact.api}() here; the child keeps running with the cached descriptor` },
            ...closes,
          ],
          fixes,
        });
      }
    }
  }
  // Library code is judged by itself: its hosts are not in the workspace.
  for (const file of model.files) {
    if (!isLibraryFile(ctx.roots, file.path)) continue;
    const variables = new Set<string>();
    for (const cache of file.caches) {
      const key = `${file.path}:${cache.range.start.line}:${cache.range.start.character}`;
      // One finding per cache: `fd = open(a); if (fd < 0) fd = open(b);` fills the same one.
      const variable = `${cache.functionIndex}:${cache.variable}`;
      if (found.has(key) || variables.has(variable)) continue;
      variables.add(variable);
      const finding = libraryCacheFinding(model, file, cache);
      if (finding) found.set(key, finding);
    }
  }
  return [...found.values()];
}
