/**
 * Python side of `close-all-fds-without-exec`: `os.closerange`, a loop of `os.close` over a
 * descriptor range, or a daemonizer without a keep-list, in a forked child that keeps
 * running the program (no `exec*`/`os._exit` follows in the function or its callers).
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix } from '../../text/edits';
import type { RelatedLocation } from '../../text/locations';
import { pythonModel, type PyCloseAllWithoutExec } from '../../model/python';
import { chainTo, where } from '../../model/python-evidence';

const RULE_ID = 'close-all-fds-without-exec';

function message(h: PyCloseAllWithoutExec): string {
  const at = h.closeAll.module.path;
  const hit = h.caches.length
    ? `; it destroys ${h.caches.length === 1 ? 'the descriptor' : `${h.caches.length} descriptors`} cached at ${h.caches.map((c) => where(c, at)).join(', ')}`
    : '; descriptors that libraries cached (urandom, syslog, logging, sockets) go stale and later opens reuse their numbers';
  const fork = h.fork && h.fork.fact !== undefined && h.fork.fact.via !== 'daemonizer' ? ` after ${h.fork.fact.api} at ${where(h.fork, at)}` : '';
  const f = h.closeAll.fact;
  const param = f.keepParameter;
  const kept = (list: readonly string[]) => list.map((k) => `'${k}'`);
  let spared = '';
  if (param) spared = h.kept?.length ? ` (its caller's '${param}' spares only ${kept(h.kept).join(', ')})` : ` (its caller's '${param}' spares at most stdin, stdout and stderr)`;
  else if (f.keepNames) {
    const what = [...kept(f.keepNames), ...(f.keepFromCaller ? ['what its caller passed in'] : [])];
    spared = ` (its keep condition spares only ${what.length ? what.join(' and ') : 'stdin, stdout and stderr'})`;
  }
  return `${f.api}${spared} closes every descriptor in a forked child${fork} that keeps running without exec${hit}`;
}

function fixes(h: PyCloseAllWithoutExec): Fix[] {
  const f = h.closeAll.fact;
  const sameFile = h.caches.filter((c) => c.module === h.closeAll.module && c.fact.storage === 'module').map((c) => c.fact.name);
  if (f.keepInsert) {
    const list = sameFile.length ? sameFile.join(', ') : '...';
    return [
      {
        title: `Keep the descriptors the program still needs: ${f.keepInsert.keyword}=[${list}]`,
        applicability: 'display-only',
        edits: [{ range: { start: f.keepInsert.insertAt, end: f.keepInsert.insertAt }, newText: `${f.keepInsert.needsComma ? ', ' : ''}${f.keepInsert.keyword}=[${list}]` }],
      },
    ];
  }
  return [
    {
      title: 'Close only descriptors you own, with a keep-list of those to preserve (or exec a fresh program after closing)',
      applicability: 'display-only',
      edits: [],
    },
  ];
}

export function checkPythonCloseAllFdsWithoutExec(ctx: ProgramContext): RawFinding[] {
  if (!ctx.files.some((f) => f.language === 'python')) return [];
  const model = pythonModel(ctx);
  return model.closeAllsWithoutExec.map((h) => {
    const related: RelatedLocation[] = [];
    if (h.fork && h.fork.fact.via !== 'daemonizer') related.push(...chainTo(h.fork, `fork here (${h.fork.fact.api}); the child keeps running`));
    related.push(...chainTo(h.closeAll, `fds closed here (${h.closeAll.fact.api})`).filter((r) => !related.some((o) => o.path === r.path && o.range.start.line === r.range.start.line && o.message === r.message)));
    for (const c of h.caches) related.push({ path: c.module.path, range: c.fact.range, message: `descriptor cached here (${c.fact.api}) is closed by it` });
    return { ruleId: RULE_ID, path: h.closeAll.module.path, range: h.closeAll.fact.range, message: message(h), related, fixes: fixes(h) };
  });
}
