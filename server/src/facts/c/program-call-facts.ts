/**
 * The facts a single recorded call gives besides its place in the call sequence: forks,
 * thread starts, exec/spawn, close-all calls and loops, at-fork registrations, descriptor
 * opens with their close-on-exec judgement (marked as requested when a later
 * `fcntl(F_SETFD, FD_CLOEXEC)` or `ioctl(FIOCLEX)` in the same function sets it, and with the
 * later calls that pass them, for a helper that marks its parameter), the parameters a function
 * marks close-on-exec, `fstat` targets and library descriptor caches.
 */
import type { Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import {
  ATFORK_CALLS,
  CLOSE_ALL_CALLS,
  CLOSE_RANGE_CLOEXEC,
  EXEC_CALLS,
  FD_PRODUCERS,
  FSTAT_CALLS,
  LIBRARY_FD_CACHES,
  SPAWN_CALLS,
} from '../../knowledge/c-process';
import type { CKnowledge } from '../../knowledge/knowledge';
import { judgeFdCall } from './program-fd';
import { compactText, fieldKeyOf } from './fd-by-number';
import { parameterPositions } from './function-names';
import { storageTarget } from './program-fd-storage';
import { unwrap } from './program-fork';
import { returnsOnSuccess } from './close-all-fallback';
import { spanOf } from './source-text';
import type { CloseAllLoop } from './program-close-all';
import type { CFact, CFdOpenFact, CForkFact, CFunctionFact, Span } from './program-types';

/** A call the walk has just recorded, with what its facts need from the walk. */
export interface CallSite {
  name: string;
  node: Node;
  args: Node | null;
  span: Span;
  /** The call's index in its function's calls. */
  index: number;
  fn: CFunctionFact;
  /** `fstat`-family targets of the function so far: descriptor text → call range (added to here). */
  fstatVars: Map<string, Range>;
  /** Whether the call lies in a fork's child region. */
  inChild: boolean;
  /** The fork fact recognised for this call from its statements, if any. */
  fork?: CForkFact;
  /** The close-all loop whose `close()` this call is, if any. */
  closeAllLoop?: CloseAllLoop;
  /** Variables set just above what a keep-list loop of the function spared (`begin = end + 1`). */
  aboveKeepList?: ReadonlySet<string>;
  /** The types of `args.namedChildren`, in order ('' for a missing child), read once by the walk. */
  argTypes?: readonly string[];
  /** The text of each bare-name (`identifier`) argument, in the same order. */
  argNames?: readonly (string | undefined)[];
}

/** Calls that store their descriptors into an array argument (its index): both ends are open. */
const OUT_ARRAY_ARGUMENT: ReadonlyMap<string, number> = new Map([
  ['pipe', 0],
  ['pipe2', 0],
  ['socketpair', 3],
]);

/**
 * `flags |= FD_CLOEXEC; fcntl(fd, F_SETFD, flags);`: the value is a variable that the
 * enclosing function ORs the flag into (or assigns an expression naming it).
 */
function flagsVariableWithCloexec(value: Node, call: Node): boolean {
  const v = unwrap(value);
  if (v.type !== 'identifier') return false;
  let fn: Node | null = call.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  if (!fn) return false;
  const name = v.text.replace(/[$]/g, '\\$&');
  return new RegExp(`\\b${name}\\s*(?:\\|=|=(?!=))[^;]*\\bFD_CLOEXEC\\b`).test(fn.text);
}

export class CallFacts {
  /** Descriptor opens without close-on-exec, keyed `function index:stored-to text` (both ends of an out-array), that a later `fcntl(F_SETFD, FD_CLOEXEC)` may mark. */
  private readonly opensWithoutCloexec: { fact: CFdOpenFact; keys: string[] }[] = [];
  /** `function index:descriptor text` of `fcntl(fd, F_SETFD, ... FD_CLOEXEC ...)` calls. */
  private readonly cloexecSetLater = new Set<string>();
  /** `function index:descriptor text` → the calls passing it (call index, argument position). */
  private readonly passedToCalls = new Map<string, { callIndex: number; arg: number }[]>();
  /** `function index:descriptor text` whose number the function hands to a program it runs. */
  private readonly byNumber = new Set<string>();
  /** `function index:descriptor text` closed by `close()` in a fork child region. */
  private readonly closedInChild = new Set<string>();
  /** `function index:descriptor text` → the calls of a fork child region that pass it (call index, argument position). */
  private readonly childPasses = new Map<string, { callIndex: number; arg: number }[]>();

  /**
   * `facts`: where the facts go, in the order found. `hasGnuSource`: the file defines
   * `_GNU_SOURCE`. `knowledge`: the fork and thread tables (with the user's models).
   */
  constructor(
    private readonly facts: CFact[],
    private readonly hasGnuSource: boolean,
    private readonly knowledge: CKnowledge,
  ) {}

  /** After the walk: marks the opens a later `fcntl` in the same function made close-on-exec. */
  finish(): void {
    // `fd = open(...); fcntl(fd, F_SETFD, flags | FD_CLOEXEC);` in the same function: the older
    // idiom, judged as requested (a thread forking between the two calls is not modelled).
    for (const { fact, keys } of this.opensWithoutCloexec) {
      this.judgeByNumber(fact, keys);
      if (!keys.every((key) => this.cloexecSetLater.has(key))) {
        // A single descriptor passed on later: a helper may mark it (the model decides).
        const passed = keys.length === 1 ? this.passedToCalls.get(keys[0])?.filter((c) => c.callIndex > fact.callIndex) : undefined;
        if (passed?.length) fact.passedTo = passed;
        continue;
      }
      fact.cloexec = 'yes';
      delete fact.fix;
    }
  }

  /** The descriptors (`fd`, `p[1]`, `grp->map_fd`) whose number function `fnIndex` hands to a program it runs (`fd-by-number.ts`). */
  handedOverByNumber(fnIndex: number, texts: Iterable<string>): void {
    for (const t of texts) this.byNumber.add(`${fnIndex}:${t}`);
  }

  /**
   * Marks an open whose number the function hands over: one of its keys is, and every other end
   * of a pair is marked close-on-exec, closed with `close()` in a fork child, or passed there to a
   * call the model checks (`closedInChildBy`). The end the child keeps is the one it was meant to get.
   * A pair with an end left open in the child stays reported, without the fix.
   */
  private judgeByNumber(fact: CFdOpenFact, keys: readonly string[]): void {
    if (!keys.some((k) => this.byNumber.has(k))) return;
    const others = keys.filter((k) => !this.byNumber.has(k) && !this.cloexecSetLater.has(k) && !this.closedInChild.has(k));
    const closedBy = others.map((k) => this.childPasses.get(k)?.filter((c) => c.callIndex > fact.callIndex) ?? []);
    if (closedBy.some((list) => list.length === 0)) {
      // The other end leaks, but `pipe2(p, O_CLOEXEC)` would also close the end the child is told to use.
      delete fact.fix;
      return;
    }
    fact.byNumber = closedBy.length > 0 ? { closedInChildBy: closedBy } : {};
  }

  /** In a fork child region: `close(p[0])` closes that end; another call passing it may (the model decides). */
  private rememberChildUses(fn: CFunctionFact, name: string, index: number, args: Node | null): void {
    const list = args ? args.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
    list.forEach((a, arg) => {
      const n = unwrap(a);
      if (!['identifier', 'field_expression', 'subscript_expression'].includes(n.type)) return;
      const key = `${fn.index}:${compactText(n)}`;
      if (name === 'close') {
        this.closedInChild.add(key);
        return;
      }
      let calls = this.childPasses.get(key);
      if (!calls) this.childPasses.set(key, (calls = []));
      calls.push({ callIndex: index, arg });
    });
  }

  /** `fcntl(fd, F_SETFD, flags)` / `ioctl(fd, FIOCLEX)` on `target`: marked, and a parameter whose flag the function sets. */
  private markedCloexec(fn: CFunctionFact, key: string, target: Node, call: Node): void {
    this.cloexecSetLater.add(`${fn.index}:${key}`);
    const t = unwrap(target);
    const param = t.type === 'identifier' ? parameterPositionOf(call, t.text) : -1;
    if (param >= 0 && !fn.setsCloexecOf?.includes(param)) (fn.setsCloexecOf ??= []).push(param);
  }

  /** Remembers the call's arguments that name a descriptor store (`fd`, `c->fd`), for {@link finish}. */
  private rememberPassed(fn: CFunctionFact, index: number, args: Node | null, argTypes: readonly string[] | undefined, argNames: readonly (string | undefined)[] | undefined): void {
    if (!args) return;
    const list = args.namedChildren;
    let arg = 0;
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (!a) continue;
      const type = argTypes ? argTypes[i] : a.type;
      if (type === 'comment') continue;
      const known = argNames?.[i];
      const target = known !== undefined ? known : storageTarget(a, type)?.text;
      if (target !== undefined) {
        const key = `${fn.index}:${target}`;
        let calls = this.passedToCalls.get(key);
        if (!calls) this.passedToCalls.set(key, (calls = []));
        calls.push({ callIndex: index, arg });
      }
      arg++;
    }
  }

  record(site: CallSite): void {
    const { name, node, args, index, fn } = site;
    const s = site.span;
    // The call's range, from its span (same positions as `nodeRange`).
    const range: Range = { start: { line: s[0], character: s[1] }, end: { line: s[2], character: s[3] } };
    const pendingFork = site.fork;
    if (pendingFork) {
      pendingFork.callIndex = index;
      this.facts.push(pendingFork);
    } else {
      const forkKind = this.knowledge.forkCalls.get(name);
      if (forkKind) {
        this.facts.push({ kind: 'c.fork', range, api: name, forkKind, functionIndex: fn.index, callIndex: index, regions: [], childKnown: false });
      }
    }
    const thread = this.knowledge.threadStarts.get(name);
    if (thread) {
      const routine = thread.routineArg !== undefined ? functionNamed(args, thread.routineArg) : undefined;
      this.facts.push({ kind: 'c.threadStart', range, api: name, functionIndex: fn.index, callIndex: index, routine });
    }
    if (EXEC_CALLS.has(name) || SPAWN_CALLS.has(name)) {
      this.facts.push({ kind: 'c.exec', range, api: name, functionIndex: fn.index, callIndex: index });
    }
    // `close_range(0, 2, 0)` closes the standard streams only: not a close-all.
    if (CLOSE_ALL_CALLS.has(name) && !(name.includes('close_range') && closesStdioOnly(argAtOf(args, 1)))) {
      const flags = name.includes('close_range') ? argAtOf(args, 2) : null;
      const from = argAtOf(args, 0);
      this.facts.push({
        kind: 'c.closeAll',
        range,
        api: name,
        functionIndex: fn.index,
        callIndex: index,
        // `close_range(end + 1, ~0U, 0)` after a keep-list loop up to `end` continues that keep-list.
        keepList: from !== null && (site.aboveKeepList?.has(from.text) ?? false),
        cloexecOnly: flags !== null && flags.text.includes(CLOSE_RANGE_CLOEXEC),
        from: from?.text,
        ...(returnsOnSuccess(node) ? { returnsWhenDone: 1 as const } : {}),
      });
    }
    const loop = site.closeAllLoop;
    if (loop) {
      this.facts.push({
        kind: 'c.closeAll',
        range: nodeRange(loop.loop),
        api: 'loop',
        functionIndex: fn.index,
        callIndex: index,
        keepList: loop.keepList,
        ...(loop.keeps ? { keeps: loop.keeps } : {}),
        cloexecOnly: false,
        from: loop.from,
      });
    }
    const atfork = ATFORK_CALLS.get(name);
    if (atfork !== undefined) {
      const child = functionNamed(args, atfork);
      this.facts.push({ kind: 'c.atfork', range, child: child !== 'NULL' ? child : undefined });
    }
    if (FD_PRODUCERS.has(name)) {
      const judged = judgeFdCall(name, node, spanOf, this.hasGnuSource);
      if (judged) {
        const fact: CFdOpenFact = {
          kind: 'c.fdOpen',
          range,
          api: name,
          functionIndex: fn.index,
          callIndex: index,
          cloexec: judged.cloexec,
          inChild: site.inChild,
          fix: judged.fix,
        };
        this.facts.push(fact);
        const parent = node.parent;
        const stored = parent?.type === 'assignment_expression' ? parent.childForFieldName('left') : parent?.type === 'init_declarator' ? parent.childForFieldName('declarator') : null;
        const target = stored ? storageTarget(stored) : null;
        const field = target && judged.cloexec !== 'yes' && target.text !== target.base ? fieldKeyOf(target.text, node) : null;
        if (field) fact.storedField = field;
        if (target && judged.cloexec !== 'yes') this.opensWithoutCloexec.push({ fact, keys: [`${fn.index}:${target.text}`] });
        // `pipe(p)`, `socketpair(…, sv)`: both ends, `p[0]` and `p[1]`, must be marked later.
        const outArray = OUT_ARRAY_ARGUMENT.get(name);
        const array = outArray !== undefined ? argAtOf(args, outArray) : null;
        if (array && judged.cloexec !== 'yes') {
          const text = compactText(unwrap(array));
          this.opensWithoutCloexec.push({ fact, keys: [`${fn.index}:${text}[0]`, `${fn.index}:${text}[1]`] });
        }
      }
    }
    if (name === 'fcntl') {
      const cmd = argAtOf(args, 1);
      const value = argAtOf(args, 2);
      const target = argAtOf(args, 0);
      const stored = target ? storageTarget(target) : null;
      // An end of an out-array (`p[1]`, `procs[i].channel[0]`) is keyed by its whole text.
      const element = target && unwrap(target).type === 'subscript_expression' ? compactText(unwrap(target)) : undefined;
      const key = stored?.text ?? element;
      if (key !== undefined && target && cmd?.text === 'F_SETFD' && value && (/\bFD_CLOEXEC\b/.test(value.text) || flagsVariableWithCloexec(value, node))) this.markedCloexec(fn, key, target, node);
    } else if (name === 'ioctl') {
      // `ioctl(fd, FIOCLEX)`, also `ioctl(fd, set ? FIOCLEX : FIONCLEX)`.
      const target = argAtOf(args, 0);
      const stored = target ? storageTarget(target) : null;
      if (target && stored && /\bFIOCLEX\b/.test(argAtOf(args, 1)?.text ?? '')) this.markedCloexec(fn, stored.text, target, node);
    } else if (name !== 'close') {
      this.rememberPassed(fn, index, args, site.argTypes, site.argNames);
    } else {
      const closed = argAtOf(args, 0);
      const c = closed ? unwrap(closed) : null;
      const param = c?.type === 'identifier' ? parameterPositionOf(node, c.text) : -1;
      if (param >= 0 && !fn.closesParams?.includes(param)) (fn.closesParams ??= []).push(param);
    }
    if (site.inChild) this.rememberChildUses(fn, name, index, args);
    if (FSTAT_CALLS.has(name)) {
      const a = argAtOf(args, name === 'fstatat' || name === 'statx' ? 0 : 0);
      const target = a ? storageTarget(unwrap(a)) : null;
      if (target) site.fstatVars.set(target.text, range);
    }
    if (LIBRARY_FD_CACHES.has(name)) {
      this.facts.push({ kind: 'c.libraryCache', range, api: name, functionIndex: fn.index, callIndex: index });
    }
  }
}

/** An upper bound at or below standard error: `2`, `STDERR_FILENO`, `STDIN_FILENO`. */
function closesStdioOnly(upper: Node | null): boolean {
  const n = upper ? unwrap(upper) : null;
  if (!n) return false;
  if (n.type === 'number_literal') return Number(n.text) <= 2;
  return /^STD(IN|OUT|ERR)_FILENO$/.test(n.text);
}

/** The position of parameter `name` of the function definition around `node`, or -1. */
function parameterPositionOf(node: Node, name: string): number {
  let fn: Node | null = node.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  return fn ? (parameterPositions(fn).get(name) ?? -1) : -1;
}

/** The k-th argument of a call (comments skipped). */
function argAtOf(args: Node | null, k: number): Node | null {
  const list = args ? args.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
  return list[k] ?? null;
}

/** The function the k-th argument names (`routine`, `&routine`, `(void *) routine`), if a plain name. */
function functionNamed(args: Node | null, k: number): string | undefined {
  const a = argAtOf(args, k);
  const n = a ? unwrap(a) : null;
  const id = n?.type === 'pointer_expression' ? n.childForFieldName('argument') : n;
  return id?.type === 'identifier' ? id.text : undefined;
}
