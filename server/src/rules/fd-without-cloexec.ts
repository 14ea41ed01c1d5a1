/**
 * fd-without-cloexec: a descriptor is created without close-on-exec in a program that may
 * fork or run another program after creating it, so every exec'd child inherits it (a
 * listening socket kept open by a helper process, a lock file held by a child, a pipe
 * whose reader never sees EOF). Only constant flag expressions are judged; the fixes ask
 * for close-on-exec atomically at creation (`O_CLOEXEC`, `SOCK_CLOEXEC`, mode `"e"`,
 * `accept4`, `pipe2`, `F_DUPFD_CLOEXEC`, `epoll_create1`, ...).
 */
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import type { Fix } from '../text/edits';
import type { RelatedLocation } from '../text/locations';
import { spanRange, type CFdOpenFact } from '../facts/c/program-types';
import { cModel, type CallSite, type CFile, type CFn, type CModel, type CProgram } from '../model/c';
import { Ordering } from '../model/c-order';
import { hostPrograms, isLibraryFile } from '../model/c-library';
import { forgottenBetween } from '../model/c-cache-reset';

export const RULE_ID = 'fd-without-cloexec';

interface ProcessSite extends CallSite {
  api: string;
  fork: boolean;
  file: CFile;
}

/** Fork and exec sites of a program, those nearest to `near` first. */
function processSites(program: CProgram, near: CFile): ProcessSite[] {
  const holding = [...program.files].filter((f) => f.forks.length > 0 || f.execs.length > 0);
  const closeness = new Map(holding.map((f) => [f, f === near ? Infinity : sharedPrefix(f.path, near.path)]));
  holding.sort((a, b) => closeness.get(b)! - closeness.get(a)!);
  const out: ProcessSite[] = [];
  for (const f of holding) {
    for (const k of f.forks) {
      const fn = f.functions[k.functionIndex];
      if (fn && k.callIndex >= 0) out.push({ fn, call: k.callIndex, api: k.api, fork: true, file: f });
    }
    for (const e of f.execs) {
      const fn = f.functions[e.functionIndex];
      if (fn) out.push({ fn, call: e.callIndex, api: e.api, fork: false, file: f });
    }
  }
  return out;
}

function sharedPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The first fork/exec site that may run after the descriptor is created, with the chain that
 * shows it. A descriptor kept in a cache that the program closes and forgets before that
 * site (`forgotten`) is not inherited there.
 */
function laterProcessSite(
  model: CModel,
  program: CProgram,
  fn: CFn,
  open: CFdOpenFact,
  sites: readonly ProcessSite[],
  forgotten: ((g: CFn, after: number, until: number) => boolean) | null,
): RelatedLocation[] | null {
  const order = new Ordering(model, program, [{ fn, call: open.callIndex, api: open.api }], {
    site: (api) => `descriptor created here by ${api}()`,
    via: (callee) => `${callee}() is called here and creates it`,
    enters: (callee) => `${callee}() is called here, after the descriptor may have been created`,
    unknown: (name) => `${name}() has no known caller in this program, so it may run after the descriptor exists`,
  });
  for (const s of sites) {
    if (!order.at(s.fn, s.call) || (forgotten && order.undoneBefore(s.fn, s.call, forgotten))) continue;
    const chain = order.chainAt(s.fn, s.call);
    const last: RelatedLocation = {
      path: s.file.path,
      range: spanRange(s.fn.fact.calls[s.call].span),
      message: s.fork ? `the program forks here (${s.api}()); a child that execs inherits the descriptor` : `the program runs another program here (${s.api}()), which inherits the descriptor`,
    };
    return [...chain, last];
  }
  return null;
}

/**
 * For a module called back through pointers (no order is known): the host's first exec, where
 * the descriptor is inherited, else its first fork.
 */
function moduleProcessSite(sites: readonly ProcessSite[]): RelatedLocation[] | null {
  const s = sites.find((x) => !x.fork) ?? sites[0];
  if (!s) return null;
  return [
    {
      path: s.file.path,
      range: spanRange(s.fn.fact.calls[s.call].span),
      message: s.fork ? `the program forks here (${s.api}()); a child that execs inherits the descriptor` : `the program runs another program here (${s.api}()), which inherits the descriptor`,
    },
  ];
}

export function checkFdWithoutCloexec(ctx: ProgramContext): RawFinding[] {
  const model = cModel(ctx);
  const out: RawFinding[] = [];
  for (const file of model.files) {
    if (file.opens.length === 0) continue;
    // A module no program calls by name (a plugin) runs in the programs whose helpers it calls.
    const hosts = model.programsOf(file).length > 0 ? [] : hostPrograms(model, file);
    const programs = hosts.length > 0 ? hosts : model.programsOf(file);
    // With `cloexecEverywhere` every descriptor needs the flag, whatever the program does.
    const everywhere = ctx.config.cloexecEverywhere;
    const library = isLibraryFile(ctx.roots, file.path);
    if (programs.length === 0 && !everywhere && !(library && file.caches.length > 0)) continue;
    const sitesByProgram = new Map<CProgram, ProcessSite[]>();
    const sitesOf = (p: CProgram): ProcessSite[] => {
      let list = sitesByProgram.get(p);
      if (!list) sitesByProgram.set(p, (list = processSites(p, file)));
      return list;
    };
    for (const open of file.opens) {
      if (open.cloexec !== 'no' || open.inChild) continue;
      const fn = file.functions[open.functionIndex];
      if (!fn || open.callIndex < 0) continue;
      let chain: RelatedLocation[] | null = null;
      const cache = file.caches.find((c) => c.functionIndex === open.functionIndex && c.callIndex === open.callIndex);
      const forgotten = cache ? forgottenBetween(model, file, cache) : null;
      for (const program of programs) {
        chain = hosts.length > 0 ? moduleProcessSite(sitesOf(program)) : laterProcessSite(model, program, fn, open, sitesOf(program), forgotten);
        if (chain) break;
      }
      const inherited = chain !== null;
      // Library code that keeps the descriptor in long-lived storage holds it for its host's
      // lifetime: whatever the host runs later inherits it, whether or not the workspace shows a fork.
      const kept = !chain && !everywhere && library ? file.caches.find((c) => c.functionIndex === open.functionIndex && c.callIndex === open.callIndex) : undefined;
      if (!chain) {
        if (!everywhere && !kept) continue;
        chain = [];
      }
      const fixes: Fix[] = open.fix
        ? [{ title: open.fix.title, applicability: open.fix.applicability, edits: open.fix.edits.map((e) => ({ range: spanRange(e.span), newText: e.newText })) }]
        : [];
      // The chain starts at the creating call, which is the finding itself.
      const first = chain[0];
      if (!first || first.path !== file.path || first.range.start.line !== open.range.start.line) {
        chain.unshift({ path: file.path, range: open.range, message: `descriptor created here by ${open.api}()` });
      }
      if (inherited && hosts.length > 0) {
        chain[0] = {
          ...chain[0],
          message: `descriptor created here by ${open.api}(); no call by name reaches this file, but it calls into the program of ${hosts[0].label} and runs in it as a module (called back through function pointers), at any time`,
        };
      }
      if (kept) {
        chain[0] = {
          ...chain[0],
          message: `descriptor created here by ${open.api}() and kept in '${kept.variable}' (${kept.storage === 'static-local' ? 'a static local' : kept.storage === 'file-static' ? 'a static file-scope variable' : 'a global variable'}); library code cannot know whether its host runs other programs`,
        };
      }
      out.push({
        ruleId: RULE_ID,
        path: file.path,
        range: open.range,
        message: inherited
          ? `${open.api}() creates a descriptor without close-on-exec, and the program may fork or run another program afterwards, so every exec'd child inherits it`
          : kept
            ? `${open.api}() creates a descriptor without close-on-exec and library code keeps it open in '${kept.variable}', so every program its host process runs later inherits it`
            : `${open.api}() creates a descriptor without close-on-exec (the cloexecEverywhere setting asks for it on every descriptor)`,
        related: chain,
        fixes,
      });
    }
  }
  return out;
}

export const fdWithoutCloexec: Rule = {
  meta: {
    id: RULE_ID,
    family: 'FD',
    languages: ['c'],
    defaultSeverity: 'warning',
    summary: 'A descriptor is opened without close-on-exec in a program that may fork or execute another program afterwards.',
    fixes: ['safe', 'unsafe'],
    tags: ['CWE-403'],
  },
  checkProgram: checkFdWithoutCloexec,
};
