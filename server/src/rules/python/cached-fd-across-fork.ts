/**
 * Python side of `cached-fd-across-fork`: a socket, file or `os.open` descriptor kept in
 * module, class or `global` storage, created before a fork whose child keeps running.
 * Caches that are re-validated (`os.fstat` + `st_dev`/`st_ino`) or reset in an
 * `os.register_at_fork(after_in_child=...)` handler are left out by the model.
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix } from '../../text/edits';
import type { RelatedLocation } from '../../text/locations';
import type { PyFdCacheFact } from '../../facts/python/program-facts';
import { pythonModel, type PyCacheAcrossFork } from '../../model/python';
import { ensureImport, joinedChain, where } from '../../model/python-evidence';

const RULE_ID = 'cached-fd-across-fork';

function storageWords(f: PyFdCacheFact): string {
  switch (f.storage) {
    case 'module':
      return `Module-level ${f.what} '${f.name}'`;
    case 'class':
      return `Class attribute ${f.what} '${f.name}'`;
    case 'global':
      return `Global ${f.what} '${f.name}'`;
    case 'registry':
      return `Logging handler '${f.name}' (${f.what}), registered on a logger,`;
    case 'pool':
      return `Pool '${f.name}' of ${f.what}`;
  }
}

function message(h: PyCacheAcrossFork): string {
  const c = h.cache.fact;
  const at = h.cache.module.path;
  if (c.storage === 'pool') {
    return `${storageWords(c)} outlives a fork of the process that filled it: the process id is read once, at ${where(h.fork, at)}, and never compared again, so a forked child keeps using the parent's descriptors`;
  }
  const fork = `${h.fork.fact.api} at ${where(h.fork, at)}`;
  const tail = h.closeAll
    ? `, and the child closes every descriptor at ${where(h.closeAll, at)}: the cached number goes stale and a later open reuses it`
    : `, where the child keeps running and shares it with the parent`;
  return `${storageWords(c)} from ${c.api} is created before the fork by ${fork}${tail}`;
}

function identifierFor(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
}

function fixes(h: PyCacheAcrossFork): Fix[] {
  const m = h.cache.module;
  const c = h.cache.fact;
  const out: Fix[] = [];
  const at = c.topStatementEnd;
  const os = ensureImport(m, 'os');
  const handler = `_reopen_${identifierFor(c.name)}_after_fork`;
  // Re-open (or forget, when it is opened lazily) in the child; the old number may already
  // belong to someone else after a close-all, so it is not closed here.
  // A registered handler is reached through the logger, a pool through its container: no
  // name a handler could re-assign.
  const value = c.storage === 'registry' || c.storage === 'pool' ? undefined : c.storage === 'global' && c.lazy ? 'None' : c.storage === 'global' ? undefined : c.rightHandSide;
  if (value !== undefined) {
    const body = c.storage === 'class' ? `    ${c.name} = ${value}\n` : `    global ${c.name}\n    ${c.name} = ${value}\n`;
    out.push({
      title: `Re-open '${c.name}' in the child with ${os.name}.register_at_fork(after_in_child=...)`,
      applicability: 'unsafe',
      edits: [
        ...os.edits,
        { range: { start: at, end: at }, newText: `\n\n\ndef ${handler}():\n${body}\n\n${os.name}.register_at_fork(after_in_child=${handler})` },
      ],
    });
  }
  if (c.storage === 'pool') {
    out.push({
      title: `Compare the process id with os.getpid() before each use of '${c.name}' and, in a new process, close and empty it (or reset it with os.register_at_fork(after_in_child=...))`,
      applicability: 'display-only',
      edits: [],
    });
    return out;
  }
  if (c.storage === 'registry') {
    out.push({
      title: `Create the handler '${c.name}' after the fork (or keep its descriptor in the close-all's keep-list and re-open it in the child)`,
      applicability: 'display-only',
      edits: [],
    });
    return out;
  }
  const fdExpr = c.api === 'os.open()' || c.api === 'os.dup()' ? c.name : `${c.name}.fileno()`;
  out.push({
    title: `Re-validate '${c.name}' before each use: compare os.fstat(${fdExpr}) st_dev/st_ino with the values saved at open`,
    applicability: 'display-only',
    edits: [],
  });
  return out;
}

export function checkPythonCachedFdAcrossFork(ctx: ProgramContext): RawFinding[] {
  if (!ctx.files.some((f) => f.language === 'python')) return [];
  const model = pythonModel(ctx);
  return model.cachesAcrossFork.map((h) => {
    const related: RelatedLocation[] =
      h.cache.fact.storage === 'pool'
        ? [
            { path: h.cache.module.path, range: h.cache.fact.range, message: `descriptor pooled here (${h.cache.fact.api})` },
            { path: h.fork.module.path, range: h.fork.fact.range, message: 'process id read once here, when the function is defined' },
          ]
        : joinedChain(h.cache, `descriptor cached here (${h.cache.fact.api})`, h.fork, `fork here (${h.fork.fact.api}); the child keeps running`);
    if (h.closeAll) related.push({ path: h.closeAll.module.path, range: h.closeAll.fact.range, message: `fds closed here (${h.closeAll.fact.api}), the cached one included` });
    if (h.reuse) related.push({ path: h.reuse.module.path, range: h.reuse.fact.range, message: `opened after the close-all: may be given the cached number (${h.reuse.fact.api})` });
    return {
      ruleId: RULE_ID,
      path: h.cache.module.path,
      range: h.cache.fact.range,
      message: message(h),
      severity: h.closeAll ? ('error' as const) : undefined,
      related,
      fixes: fixes(h),
    };
  });
}
