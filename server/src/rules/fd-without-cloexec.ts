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
import { calledName, cModel, type CallSite, type CFile, type CFn, type CModel, type CProgram } from '../model/c';
import { Ordering } from '../model/c-order';
import { hostPrograms, isLibraryFile } from '../model/c-library';
import { forgottenBetween } from '../model/c-cache-reset';
import { childMayRunProgram, threadOrdering } from '../model/c-child';
import { withTransitiveCallers } from '../model/c';
import type { Range } from '../text/locations';

export const RULE_ID = 'fd-without-cloexec';

interface ProcessSite extends CallSite {
  api: string;
  fork: boolean;
  file: CFile;
}

/**
 * Fork and exec sites of a program, those nearest to `near` first. A fork counts only when its
 * child may run another program ({@link childMayRunProgram}): a child that surely ends without
 * one (it uses the descriptor, then `_exit`s or returns from `main`) hands it to no program; in
 * a program with no exec or spawn call at all, no fork counts.
 */
function processSites(model: CModel, program: CProgram, near: CFile): ProcessSite[] {
  const holding = [...program.files].filter((f) => f.forks.length > 0 || f.execs.length > 0);
  // A program that runs no other program anywhere (no exec, no spawn): what its children go on
  // to do, they do in this program, and no exec'd program inherits anything.
  if (!holding.some((f) => f.execs.length > 0)) return [];
  const closeness = new Map(holding.map((f) => [f, f === near ? Infinity : sharedPrefix(f.path, near.path)]));
  holding.sort((a, b) => closeness.get(b)! - closeness.get(a)!);
  const out: ProcessSite[] = [];
  for (const f of holding) {
    for (const k of f.forks) {
      const fn = f.functions[k.functionIndex];
      if (fn && k.callIndex >= 0 && childMayRunProgram(model, fn, k)) out.push({ fn, call: k.callIndex, api: k.api, fork: true, file: f });
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
 * A later call passes the descriptor to a function that sets that parameter's close-on-exec
 * flag (`set_cloexec(fd, 1)` with `fcntl(fd, F_SETFD, FD_CLOEXEC)` inside, in any file of the
 * program). A helper that can also clear it (`set_cloexec(fd, 0)`) counts too: either way the
 * caller chose what the exec'd child inherits.
 */
function flagDecidedByCallee(model: CModel, fn: CFn, open: CFdOpenFact): boolean {
  return (open.passedTo ?? []).some((passed) => model.resolve(fn, passed.callIndex).some((target) => target.fact.setsCloexecOf?.includes(passed.arg)));
}

/**
 * The program hands the descriptor to a program it runs by number, on purpose: its own function
 * formats the number into an environment entry or an argument (every other end of a pair closed
 * in the child, through a helper that closes its parameter where the facts could not tell), or
 * it is stored into a struct field whose number some function of the program formats that way
 * (a server's shared-table descriptors, listed in an environment variable for the binary that
 * replaces it).
 */
function handedOverByNumber(model: CModel, fn: CFn, open: CFdOpenFact, programs: readonly CProgram[], file: CFile): boolean {
  if (open.byNumber) {
    return (open.byNumber.closedInChildBy ?? []).every((calls) => calls.some((c) => model.resolve(fn, c.callIndex).some((t) => t.fact.closesParams?.includes(c.arg))));
  }
  const field = open.storedField;
  if (!field) return false;
  const files = new Set<CFile>([file, ...programs.flatMap((p) => [...p.files])]);
  return [...files].some((f) => f.functions.some((g) => g.fact.handsOverFields?.includes(field)));
}

/** Where a handle is opened: `line:character` of the opening call. */
function openKey(r: Range): string {
  return `${r.start.line}:${r.start.character}`;
}

/**
 * The descriptors that the C handle analysis saw released on every path inside the function
 * that opens them (never returned, stored or handed on), by file path and opening call, with
 * the source span of what runs while each is open.
 */
function releasedInFunction(ctx: ProgramContext): Map<string, Map<string, Range>> {
  const out = new Map<string, Map<string, Range>>();
  for (const f of ctx.files) {
    const list = f.language === 'c' ? f.handleSummary?.releasedInFunction : undefined;
    if (list?.length) out.set(f.path, new Map(list.map((r) => [openKey(r.openRange), r.heldRange])));
  }
  return out;
}

/** The functions of a program that contain one of its fork/exec sites or call (transitively) one that does. */
function processReaching(model: CModel, sites: readonly ProcessSite[]): Set<CFn> {
  return withTransitiveCallers(sites.map((s) => s.fn), (fn) => model.callers(fn));
}

/**
 * A descriptor its own function releases on every path cannot be inherited by a fork or exec
 * that runs after that function: it is closed by then. It still can be while it is open —
 * when a call made while it is open (`held`: the span of those statements) may fork or run a
 * program (in `reaching`), or when threads may be running at the open and the program may fork or run a
 * program while threads run (another thread's fork copies it).
 */
function closedBeforeAnyProcessStart(model: CModel, program: CProgram, fn: CFn, open: CFdOpenFact, held: Range, sites: readonly ProcessSite[], reaching: () => Set<CFn>): boolean {
  const threads = threadOrdering(model, program);
  if (threads.at(fn, open.callIndex) && sites.some((s) => threads.at(s.fn, s.call))) return false;
  const from = held.start;
  const until = held.end;
  const calls = fn.fact.calls;
  for (let i = 0; i < calls.length; i++) {
    if (i === open.callIndex) continue;
    const [line, character] = calls[i].span;
    const after = line > from.line || (line === from.line && character >= from.character);
    const before = line < until.line || (line === until.line && character < until.character);
    if (!after || !before) continue;
    if (sites.some((s) => s.fn === fn && s.call === i)) return false;
    if (model.resolve(fn, i).some((t) => reaching().has(t))) return false;
  }
  return true;
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
  closedBefore: (() => boolean) | null,
): RelatedLocation[] | null {
  if (closedBefore?.()) return null;
  const order = new Ordering(model, program, [{ fn, call: open.callIndex, api: open.api }], {
    site: (api) => `descriptor created here by ${api}()`,
    via: (callee) => `${callee}() is called here and creates it`,
    enters: (callee) => `${callee}() is called here, after the descriptor may have been created`,
    unknown: (name) => `${calledName(name)} has no known caller in this program, so it may run after the descriptor exists`,
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
  const released = releasedInFunction(ctx);
  const reachingByProgram = new Map<CProgram, Set<CFn>>();
  for (const file of model.files) {
    if (file.opens.length === 0) continue;
    // A module no program calls by name (a plugin) runs in the programs whose helpers it calls.
    const hosts = model.programsOf(file).length > 0 ? [] : hostPrograms(model, file);
    const programs = hosts.length > 0 ? hosts : model.programsOf(file);
    // With `cloexecEverywhere` every descriptor needs the flag, whatever the program does.
    const everywhere = ctx.config.cloexecEverywhere;
    const library = isLibraryFile(ctx.roots, file.path);
    if (programs.length === 0 && !everywhere && !(library && file.caches.length > 0)) continue;
    const releasedHere = released.get(file.path);
    const sitesByProgram = new Map<CProgram, ProcessSite[]>();
    const sitesOf = (p: CProgram): ProcessSite[] => {
      let list = sitesByProgram.get(p);
      if (!list) sitesByProgram.set(p, (list = processSites(model, p, file)));
      return list;
    };
    for (const open of file.opens) {
      if (open.cloexec !== 'no' || open.inChild) continue;
      const fn = file.functions[open.functionIndex];
      if (!fn || open.callIndex < 0 || flagDecidedByCallee(model, fn, open) || handedOverByNumber(model, fn, open, programs, file)) continue;
      let chain: RelatedLocation[] | null = null;
      const cache = file.caches.find((c) => c.functionIndex === open.functionIndex && c.callIndex === open.callIndex);
      const forgotten = cache ? forgottenBetween(model, file, cache) : null;
      const held = releasedHere?.get(openKey(open.range));
      for (const program of programs) {
        const sites = sitesOf(program);
        const reaching = () => {
          let set = reachingByProgram.get(program);
          if (!set) reachingByProgram.set(program, (set = processReaching(model, sites)));
          return set;
        };
        const closedBefore = held ? () => closedBeforeAnyProcessStart(model, program, fn, open, held, sites, reaching) : null;
        chain = hosts.length > 0 ? moduleProcessSite(sites) : laterProcessSite(model, program, fn, open, sites, forgotten, closedBefore);
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
