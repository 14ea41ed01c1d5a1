/**
 * The C program model: which files form one program, the call graph across translation
 * units, entry points, and the order in which things may happen ("daemonize, then start
 * threads" versus "start threads, then fork").
 *
 * - Programs. With `compile_commands.json` files in the workspace, each one's listed
 *   sources form a program (plus the headers their calls reach). Other files are grouped
 *   by the workspace call graph: every file defining `main()` starts a program holding the
 *   files its calls reach (directed); files no `main` reaches form programs by connected
 *   components (a library, whose host is unknown).
 * - Calls resolve by name: a definition in the calling file first (`static` functions are
 *   file-local), else the non-static definitions of the program, the nearest directory
 *   winning (two example programs side by side may both define `spawn_helper`).
 * - A spawn helper's call of its function-pointer parameter in the child of its own fork
 *   (`case 0: proc(cycle, data);`) runs what its callers pass there by name
 *   (`spawn(cycle, worker_loop, ...)`): the process bodies of a pre-fork server.
 * - Only programs holding a fork or an exec are built in full (every FORK/FD rule needs
 *   one); the rest are never materialised, which keeps a glibc-sized workspace cheap.
 *
 * Memoised per evaluation (in `ctx.cache`, else keyed by the `files` array) so the rules
 * share one model; kept across evaluations while no C file changed ({@link CModelCache}).
 */
import * as path from 'node:path';
import type { ProgramContext, ProjectFile } from './program-context';
import type { FileAnalysis } from '../analysis/results';
import { BUILTIN_KNOWLEDGE, type CKnowledge, type Knowledge } from '../knowledge/knowledge';
import type {
  CAtForkFact,
  CCloseAllFact,
  CDispatchTableFact,
  CExecFact,
  CFact,
  CFdCacheFact,
  CFdCheckFact,
  CFdOpenFact,
  CForkFact,
  CFunctionFact,
  CIncludesFact,
  CLibraryCacheFact,
  CThreadStartFact,
} from '../facts/c/program-types';
import { DEFAULT_C_PLATFORM, platformsOfPath, POSIX_PLATFORMS, type CPlatform } from '../knowledge/c-platforms';
import { RUN_ONCE_CALLS } from '../knowledge/c-process';
import type { CCall } from '../facts/c/program-types';
import { commonPrefixLength, isTestPath } from './paths';
import { closure } from './program-graph';
import { EffectSummaryCache } from './call-effects';

export interface CFile {
  path: string;
  /** Absolute, normalised path used to match compile_commands.json entries. */
  keys: string[];
  dir: string;
  functions: CFn[];
  forks: CForkFact[];
  threads: CThreadStartFact[];
  execs: CExecFact[];
  closeAlls: CCloseAllFact[];
  atforks: CAtForkFact[];
  caches: CFdCacheFact[];
  opens: CFdOpenFact[];
  checks: CFdCheckFact[];
  libraryCaches: CLibraryCacheFact[];
  includes?: CIncludesFact;
  /** Names the file stores as values (file-scope initializers, assignments into fields and globals). */
  storedNames?: string[];
  /** The file's dispatch tables by variable name (`cmds[i].func(jcr)` calls one of their functions). */
  tables?: Map<string, CDispatchTableFact>;
  /** Functions by name (more than one under `#if` alternatives). */
  byName: Map<string, CFn[]>;
  /** Group (compile_commands.json) the file belongs to; -1 for the call-graph fallback. */
  group: number;
  /** Its path in the workspace names a test file (`test/test-fork.c`, `tests/check_queue.c`). */
  testFile: boolean;
}

export interface CFn {
  id: number;
  file: CFile;
  fact: CFunctionFact;
}

export interface CallSite {
  fn: CFn;
  call: number;
}

export interface CProgram {
  id: number;
  /** What defines the program, for messages: a compile_commands.json or the file of `main`. */
  label: string;
  files: Set<CFile>;
  /** `main` functions of the program. */
  mains: CFn[];
}

export class CModel {
  readonly files: CFile[] = [];
  readonly fns: CFn[] = [];
  /** Non-static definitions by name. */
  private readonly globalDefs = new Map<string, CFn[]>();
  private readonly resolvedByFile = new Map<CFile, Map<string, CFn[]>>();
  private readonly calleeLists: CFn[][][] = [];
  private readonly namedCalleeLists: CFn[][][] = [];
  private callersIndex: Map<CFn, CallSite[]> | null = null;
  private programList: CProgram[] | null = null;
  private readonly programsByFile = new Map<CFile, CProgram[]>();
  readonly groups: { label: string; files: Set<CFile> }[] = [];

  /** The tables the child-region verdicts read (the built-ins merged with the user's models). */
  readonly knowledge: CKnowledge;

  /** Call-effect summaries of the previous model, which `c-effects.ts` reuses for unchanged functions. */
  effectCache?: EffectSummaryCache;

  constructor(
    analyses: readonly FileAnalysis[],
    roots: readonly string[],
    projectFiles: readonly ProjectFile[],
    knowledge: Knowledge = BUILTIN_KNOWLEDGE,
    /** The platform the code is judged for (setting `targetPlatform`): code only compiled elsewhere is left out. */
    readonly platform: CPlatform = DEFAULT_C_PLATFORM,
  ) {
    this.knowledge = knowledge.c;
    for (const a of analyses) {
      if (a.language !== 'c') continue;
      // `src/win/thread.c`, `aix.c`: a file its path gives to other platforms is not built here.
      const inWorkspace = pathInWorkspace(a.path, roots);
      const named = platformsOfPath(inWorkspace);
      if (named && !named.includes(platform)) continue;
      this.addFile(a, roots, isTestPath(inWorkspace));
    }
    this.readCompileCommands(projectFiles, roots);
    this.linkForkWrappers();
  }

  /**
   * Calls of fork wrappers (`pid = xfork(); if (pid == 0) …` where `xfork()` does
   * `return fork();`) are forks with the caller's child regions; a possible wrapper that is
   * not one is dropped. The wrapper's own `return fork()` is then not a fork site of its own
   * (its child is the callers'; reporting it would say nothing about what the child does).
   */
  private linkForkWrappers(): void {
    const wrapped = new Set<CFn>();
    for (const file of this.files) {
      if (!file.forks.some((f) => f.wrapper)) continue;
      file.forks = file.forks.filter((f) => {
        if (!f.wrapper) return true;
        const targets = this.resolveName(file, f.api).filter((t) => t.fact.returnsFork);
        for (const t of targets) wrapped.add(t);
        return targets.length > 0;
      });
    }
    for (const fn of wrapped) fn.file.forks = fn.file.forks.filter((f) => f.functionIndex !== fn.fact.index || f.regions.length > 0);
  }

  private addFile(a: FileAnalysis, roots: readonly string[], testFile: boolean): CFile {
    const keys = new Set<string>([path.resolve(a.path)]);
    for (const r of roots) keys.add(path.resolve(r, a.path));
    const file: CFile = {
      path: a.path,
      keys: [...keys],
      dir: path.dirname(path.resolve(a.path)),
      functions: [],
      forks: [],
      threads: [],
      execs: [],
      closeAlls: [],
      atforks: [],
      caches: [],
      opens: [],
      checks: [],
      libraryCaches: [],
      byName: new Map(),
      group: -1,
      testFile,
    };
    for (const f of a.facts as CFact[]) {
      switch (f.kind) {
        case 'c.function': {
          const fn: CFn = { id: this.fns.length, file, fact: f };
          this.fns.push(fn);
          file.functions[f.index] = fn;
          // A definition the target does not compile is kept (facts refer to it by index) but never called.
          if (f.notOn?.includes(this.platform)) break;
          push(file.byName, f.name, fn);
          if (!f.isStatic) push(this.globalDefs, f.name, fn);
          break;
        }
        case 'c.fork':
          file.forks.push(f);
          break;
        case 'c.threadStart':
          file.threads.push(f);
          break;
        case 'c.exec':
          file.execs.push(f);
          break;
        case 'c.closeAll':
          file.closeAlls.push(f);
          break;
        case 'c.atfork':
          file.atforks.push(f);
          break;
        case 'c.fdCache':
          file.caches.push(f);
          break;
        case 'c.fdOpen':
          file.opens.push(f);
          break;
        case 'c.fdCheck':
          file.checks.push(f);
          break;
        case 'c.libraryCache':
          file.libraryCaches.push(f);
          break;
        case 'c.includes':
          file.includes = f;
          break;
        case 'c.storedNames':
          file.storedNames = f.names;
          break;
        case 'c.dispatchTable':
          (file.tables ??= new Map()).set(f.variable, f);
          break;
        default:
          break;
      }
    }
    // Forks, thread starts, execs… whose call the target does not compile do not happen.
    const compiledSite = (x: { functionIndex: number; callIndex: number }) => {
      const call = file.functions[x.functionIndex]?.fact.calls[x.callIndex];
      return !call || this.compiled(call);
    };
    file.forks = file.forks.filter(compiledSite);
    file.threads = file.threads.filter(compiledSite);
    file.execs = file.execs.filter(compiledSite);
    file.closeAlls = file.closeAlls.filter(compiledSite);
    file.caches = file.caches.filter(compiledSite);
    file.opens = file.opens.filter(compiledSite);
    file.libraryCaches = file.libraryCaches.filter(compiledSite);
    this.files.push(file);
    return file;
  }

  /** Whether the target platform compiles a call (no enclosing `#if` branch is false there). */
  compiled(call: CCall): boolean {
    return !call.notOn?.includes(this.platform);
  }

  /** Whether a call runs every time its sequence runs, on the target platform. */
  runsAlways(call: CCall): boolean {
    return call.unconditional === 1 || (call.takenOn?.includes(this.platform) ?? false);
  }

  // ---------------------------------------------------------------------------------
  // compile_commands.json
  // ---------------------------------------------------------------------------------

  private readCompileCommands(projectFiles: readonly ProjectFile[], roots: readonly string[]): void {
    const byKey = new Map<string, CFile>();
    for (const f of this.files) for (const k of f.keys) byKey.set(k, f);
    for (const pf of projectFiles) {
      if (path.basename(pf.path) !== 'compile_commands.json') continue;
      let entries: unknown;
      try {
        entries = JSON.parse(pf.text);
      } catch {
        continue;
      }
      if (!Array.isArray(entries)) continue;
      // The project file's path may be relative to the working directory or to a root.
      let members = new Set<CFile>();
      for (const candidate of [path.resolve(pf.path), ...roots.map((r) => path.resolve(r, pf.path))]) {
        const found = this.compileCommandsMembers(entries as unknown[], path.dirname(candidate), byKey);
        if (found.size > members.size) members = found;
      }
      if (members.size === 0) continue;
      const id = this.groups.length;
      for (const m of members) m.group = id;
      this.groups.push({ label: pf.path, files: members });
    }
  }

  private compileCommandsMembers(entries: readonly unknown[], base: string, byKey: Map<string, CFile>): Set<CFile> {
    const members = new Set<CFile>();
    for (const e of entries) {
      if (!e || typeof e !== 'object') continue;
      const entry = e as { directory?: unknown; file?: unknown };
      if (typeof entry.file !== 'string') continue;
      const dir = typeof entry.directory === 'string' ? path.resolve(base, entry.directory) : base;
      const file = byKey.get(path.resolve(dir, entry.file));
      if (file && file.group < 0) members.add(file);
    }
    return members;
  }

  // ---------------------------------------------------------------------------------
  // Call resolution
  // ---------------------------------------------------------------------------------

  /** Workspace functions a call of `fn` may reach (empty for library functions). */
  resolve(fn: CFn, callIndex: number): CFn[] {
    return this.callees(fn)[callIndex] ?? NONE;
  }

  resolveName(file: CFile, name: string): CFn[] {
    const local = file.byName.get(name);
    if (local) return local;
    const defs = this.globalDefs.get(name);
    if (!defs) return NONE;
    // `poll()` defined in `compat/`: a stand-in for systems without it; the target's C
    // library provides the async-signal-safe functions, and that is what the call links to.
    if (POSIX_PLATFORMS.has(this.platform) && this.knowledge.signalSafe.has(name)) return NONE;
    let perFile = this.resolvedByFile.get(file);
    if (!perFile) this.resolvedByFile.set(file, (perFile = new Map()));
    const cached = perFile.get(name);
    if (cached) return cached;
    // Same group (or a header, shared by all), nearest directory.
    let best: CFn[] = [];
    let bestScore = -1;
    for (const d of defs) {
      if (d.file.group !== file.group && !isHeader(d.file.path)) continue;
      const score = commonPrefixLength(d.file.dir, file.dir);
      if (score > bestScore) {
        best = [d];
        bestScore = score;
      } else if (score === bestScore) best.push(d);
    }
    perFile.set(name, best);
    return best;
  }

  /** The workspace functions a call through a table's field may reach: those its entries store there. */
  private resolveTable(file: CFile, via: { table: string; field: string }): CFn[] {
    const names = file.tables?.get(via.table)?.fields.find((f) => f.field === via.field)?.names;
    if (!names) return NONE;
    const out = new Set<CFn>();
    for (const n of names) for (const t of this.resolveName(file, n)) out.add(t);
    return [...out];
  }

  /** Call sites by callee over calls by name and through tables (not through fields): what field resolution follows. */
  private namedCallersIndex: Map<CFn, CallSite[]> | null = null;

  private namedCallers(fn: CFn): CallSite[] {
    if (!this.namedCallersIndex) {
      const index = new Map<CFn, CallSite[]>();
      for (const f of this.fns) {
        f.fact.calls.forEach((c, i) => {
          if (c.field || !this.compiled(c) || this.spawnsBody(f, c)) return;
          for (const target of c.via ? this.resolveTable(f.file, c.via) : this.resolveName(f.file, c.name)) {
            let list = index.get(target);
            if (!list) index.set(target, (list = []));
            list.push({ fn: f, call: i });
          }
        });
      }
      this.namedCallersIndex = index;
    }
    return this.namedCallersIndex.get(fn) ?? [];
  }

  /**
   * The workspace functions a call through a struct field may reach: what the file's own
   * functions store into that field, by name, or through their function-pointer parameter
   * from what their callers pass there (followed up to four callers up:
   * `main` → `serve(handle_request)` → `pool_init(p, handler)` → `p->engine = engine`).
   */
  private resolveField(file: CFile, field: string): CFn[] {
    const out = new Set<CFn>();
    for (const g of file.functions) {
      for (const store of g?.fact.fieldStores ?? []) {
        if (store.field !== field) continue;
        if (store.name !== undefined) for (const t of this.resolveName(file, store.name)) out.add(t);
        else if (store.param !== undefined) this.passedAt(g!, store.param, 0, new Set(), out);
      }
    }
    return [...out];
  }

  /**
   * The workspace functions the callers of `g` pass as its parameter `param`, by name, or
   * through their own function-pointer parameter from what their callers pass there (up to
   * four callers up).
   */
  private passedAt(g: CFn, param: number, depth: number, seen: Set<string>, out: Set<CFn>): void {
    if (depth > 4) return;
    for (const c of this.namedCallers(g)) {
      const key = `${c.fn.id}:${c.call}:${param}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const p of c.fn.fact.passes ?? []) {
        if (p.call !== c.call || p.arg !== param) continue;
        if (p.name !== undefined) for (const t of this.resolveName(c.fn.file, p.name)) out.add(t);
        else if (p.param !== undefined) this.passedAt(c.fn, p.param, depth + 1, seen, out);
      }
    }
  }

  /**
   * A call of a function-pointer parameter made in the child of a fork in the same function: a
   * spawn helper running the process body it was given (`case 0: proc(cycle, data);`). Only
   * these parameter calls are resolved to what the callers pass (other callbacks, a sort's
   * comparison or an iterator's visitor, are left as before: linking every callback to every
   * caller of a generic helper would merge unrelated programs).
   */
  private spawnsBody(fn: CFn, call: CCall): boolean {
    return call.param !== undefined && childOnlyCallSpans(fn).has(call.span.join(','));
  }

  /** What a spawn helper's call through its parameter `param` runs: the functions its callers pass there (`spawn(cycle, run_worker)`). */
  private resolveParam(fn: CFn, param: number): CFn[] {
    const out = new Set<CFn>();
    this.passedAt(fn, param, 0, new Set(), out);
    return out.size > 0 ? [...out] : NONE;
  }

  private fieldsCalledThrough: Set<string> | null = null;

  /**
   * Whether a function's pointer, received as parameter `param` of `g`, is only called where the
   * model sees it called: `g` calls it, tests it, passes it on to workspace functions that do the
   * same, or stores it into struct fields that no function of the workspace calls through. It
   * escapes when `g` keeps it anywhere else, passes it to code outside the workspace, or when a
   * field it is stored in is called through (up to four calls deep; deeper counts as escaping).
   */
  private paramStaysKnown(g: CFn, param: number, depth: number, seen: Set<string>): boolean {
    if (depth > 4) return false;
    const key = `${g.id}:${param}`;
    if (seen.has(key)) return true;
    seen.add(key);
    if (g.fact.paramEscapes?.includes(param)) return false;
    // A call of it the model does not resolve (outside a fork child) runs it at an unknown place.
    if (g.fact.calls.some((c) => c.param === param && !this.spawnsBody(g, c))) return false;
    if (g.fact.fieldStores?.some((s) => s.param === param)) {
      if (!this.fieldsCalledThrough) {
        this.fieldsCalledThrough = new Set();
        for (const f of this.fns) for (const name of f.fact.fieldCalls ?? []) this.fieldsCalledThrough.add(name);
      }
      if (g.fact.fieldStores.some((s) => s.param === param && this.fieldsCalledThrough!.has(s.field))) return false;
    }
    for (const p of g.fact.passes ?? []) {
      if (p.param !== param) continue;
      // Run right there (`pthread_once(guard, init)` in a wrapper `uv_once(guard, init)`), kept nowhere.
      if (this.runsArgument(g, p.call, p.arg, depth + 1)) continue;
      const targets = this.namedCallees(g)[p.call] ?? NONE;
      if (targets.length === 0 || !targets.every((t) => this.paramStaysKnown(t, p.arg, depth + 1, seen))) return false;
    }
    return true;
  }

  /**
   * Whether call `k` of `fn` runs the function passed as its argument `arg` before it returns,
   * keeping no pointer to it: a run-once call (`pthread_once(&once, init)`, `RUN_ONCE_CALLS`),
   * or a workspace function that hands that parameter to one and lets it go nowhere else
   * (`uv_once(guard, cb)` calling `pthread_once(guard, cb)`; up to four wrappers deep).
   */
  private runsArgument(fn: CFn, k: number, arg: number, depth = 0): boolean {
    const call = fn.fact.calls[k];
    if (!call || call.via || call.field || call.param !== undefined) return false;
    if (RUN_ONCE_CALLS.get(call.name) === arg) return true;
    if (depth > 4) return false;
    const targets = this.resolveName(fn.file, call.name);
    return targets.length > 0 && targets.every((t) => this.runsParameter(t, arg, depth + 1));
  }

  private readonly runsParameterMemo = new Map<string, boolean>();

  /** Whether `g` hands its parameter `param` to a call that runs it (`runsArgument`) and keeps it nowhere else. */
  private runsParameter(g: CFn, param: number, depth: number): boolean {
    const key = `${g.id}:${param}`;
    const memo = this.runsParameterMemo.get(key);
    if (memo !== undefined) return memo;
    // A wrapper that reaches itself again is not taken to run it (answered false while asked).
    this.runsParameterMemo.set(key, false);
    const ok =
      (g.fact.passes ?? []).some((p) => p.param === param && this.runsArgument(g, p.call, p.arg, depth)) && this.paramStaysKnown(g, param, depth, new Set());
    this.runsParameterMemo.set(key, ok);
    return ok;
  }

  /**
   * The workspace functions that call `k` of `fn` runs through its arguments: those named as an
   * argument it runs before returning (`init` in `pthread_once(&once, init)` or in a workspace
   * wrapper's `uv_once(&guard, init)`). They are called there, like a call by name.
   */
  private runThrough(fn: CFn, k: number): CFn[] {
    const out = new Set<CFn>();
    for (const p of fn.fact.passes ?? []) {
      if (p.call === k && p.name !== undefined && this.runsArgument(fn, k, p.arg)) for (const t of this.resolveName(fn.file, p.name)) out.add(t);
    }
    return out.size > 0 ? [...out] : NONE;
  }

  private readonly passedOnlyMemo = new Map<string, boolean>();

  /**
   * Whether `fn` uses the function named `name` as a value only by passing it to workspace
   * functions that call it (or pass it on, or keep it in a field no one calls through)
   * (`spawn(cycle, run_worker)` where `spawn` calls `proc(cycle, data)`): then it runs only where
   * those calls are, which the call graph shows, and not at unknown times like a callback.
   */
  onlyPassedToCallers(fn: CFn, name: string): boolean {
    const key = `${fn.id}:${name}`;
    const memo = this.passedOnlyMemo.get(key);
    if (memo !== undefined) return memo;
    let ok = fn.fact.passedOnly?.includes(name) ?? false;
    if (ok) {
      const passes = (fn.fact.passes ?? []).filter((p) => p.name === name);
      ok =
        passes.length > 0 &&
        passes.every((p) => {
          if (this.runsArgument(fn, p.call, p.arg)) return true;
          const targets = this.namedCallees(fn)[p.call] ?? NONE;
          return targets.length > 0 && targets.every((t) => this.paramStaysKnown(t, p.arg, 0, new Set()));
        });
    }
    this.passedOnlyMemo.set(key, ok);
    return ok;
  }

  /**
   * The workspace functions each call of `fn` resolves to, by call index (computed once per
   * function): the callee itself and what the call runs through its arguments (`runThrough`).
   */
  callees(fn: CFn): readonly CFn[][] {
    let list = this.calleeLists[fn.id];
    if (!list) {
      list = this.namedCallees(fn).map((named, k) => {
        const run = this.compiled(fn.fact.calls[k]) ? this.runThrough(fn, k) : NONE;
        return run.length === 0 ? named : [...named, ...run.filter((t) => !named.includes(t))];
      });
      this.calleeLists[fn.id] = list;
    }
    return list;
  }

  /** The functions each call of `fn` calls itself (by name, through a table, a field or a spawn helper's parameter), without what it runs through its arguments. */
  private namedCallees(fn: CFn): readonly CFn[][] {
    let list = this.namedCalleeLists[fn.id];
    if (!list) {
      list = fn.fact.calls.map((c) =>
        !this.compiled(c)
          ? NONE
          : c.via
            ? this.resolveTable(fn.file, c.via)
            : c.field
              ? this.resolveField(fn.file, c.field)
              : this.spawnsBody(fn, c)
                ? this.resolveParam(fn, c.param!)
                : this.resolveName(fn.file, c.name),
      );
      this.namedCalleeLists[fn.id] = list;
    }
    return list;
  }

  /** Call sites that reach each function (built once). */
  callers(fn: CFn): CallSite[] {
    if (!this.callersIndex) {
      const index = new Map<CFn, CallSite[]>();
      for (const f of this.fns) {
        const callees = this.callees(f);
        for (let i = 0; i < callees.length; i++) {
          for (const target of callees[i]) {
            let list = index.get(target);
            if (!list) index.set(target, (list = []));
            list.push({ fn: f, call: i });
          }
        }
      }
      this.callersIndex = index;
    }
    return this.callersIndex.get(fn) ?? [];
  }

  // ---------------------------------------------------------------------------------
  // Programs
  // ---------------------------------------------------------------------------------

  /** Programs holding a fork or an exec (the only ones any FORK/FD rule looks at). */
  programs(): CProgram[] {
    if (this.programList) return this.programList;
    const list: CProgram[] = [];
    const relevant = (f: CFile) => f.forks.length > 0 || f.execs.length > 0;
    // Groups from compile_commands.json, plus the headers their calls reach.
    for (let gid = 0; gid < this.groups.length; gid++) {
      const g = this.groups[gid];
      const files = this.closure([...g.files], (f) => f.group === gid || isHeader(f.path));
      if (![...files].some(relevant)) continue;
      list.push({ id: list.length, label: g.label, files, mains: this.mainsOf(files) });
    }
    // Fallback: the call graph.
    const loose = this.files.filter((f) => f.group < 0);
    const fileGraph = this.fileEdges(loose);
    const reachesRelevant = this.closure(loose.filter(relevant), () => true, fileGraph.reverse);
    const covered = new Set<CFile>();
    const mainFiles = loose.filter((f) => f.functions.some((fn) => fn && isMain(fn)));
    for (const mf of mainFiles) {
      const files = this.closure([mf], () => true, fileGraph.forward);
      for (const f of files) covered.add(f);
      if (!reachesRelevant.has(mf)) continue;
      list.push({ id: list.length, label: mf.path, files, mains: this.mainsOf(new Set([mf])) });
    }
    // Files no main reaches: connected components.
    const seen = new Set<CFile>(covered);
    for (const f of loose) {
      if (seen.has(f)) continue;
      const component = new Set<CFile>();
      const stack = [f];
      seen.add(f);
      while (stack.length) {
        const cur = stack.pop()!;
        component.add(cur);
        for (const n of [...(fileGraph.forward.get(cur) ?? []), ...(fileGraph.reverse.get(cur) ?? [])]) {
          if (seen.has(n) || covered.has(n)) continue;
          seen.add(n);
          stack.push(n);
        }
      }
      if (![...component].some(relevant)) continue;
      // A library component uses the files it calls into, even those a main also reaches.
      const files = this.closure([...component], () => true, fileGraph.forward);
      list.push({ id: list.length, label: [...component][0].path, files, mains: [] });
    }
    for (const p of list) {
      for (const f of p.files) push(this.programsByFile, f, p);
    }
    this.programList = list;
    return list;
  }

  /** The (fork- or exec-holding) programs a file belongs to. */
  programsOf(file: CFile): CProgram[] {
    this.programs();
    return this.programsByFile.get(file) ?? [];
  }

  private mainsOf(files: Set<CFile>): CFn[] {
    const out: CFn[] = [];
    for (const f of files) for (const fn of f.functions) if (fn && isMain(fn)) out.push(fn);
    return out;
  }

  /** File-level call edges among the given files (and the headers they call into). */
  private fileEdges(files: readonly CFile[]): { forward: Map<CFile, Set<CFile>>; reverse: Map<CFile, Set<CFile>> } {
    const forward = new Map<CFile, Set<CFile>>();
    const reverse = new Map<CFile, Set<CFile>>();
    const inScope = new Set(files);
    for (const f of files) {
      for (const fn of f.functions) {
        if (!fn) continue;
        for (const t of this.callees(fn).flat()) {
          {
            if (t.file === f || (!inScope.has(t.file) && !isHeader(t.file.path))) continue;
            addTo(forward, f, t.file);
            addTo(reverse, t.file, f);
          }
        }
      }
    }
    return { forward, reverse };
  }

  /** Files reachable from `start` through calls (or along `edges`), limited to files passing `accept`. */
  private closure(start: readonly CFile[], accept: (f: CFile) => boolean, edges?: Map<CFile, Set<CFile>>): Set<CFile> {
    return closure(start, (cur) => [...(edges ? (edges.get(cur) ?? []) : this.calledFiles(cur))].filter(accept));
  }

  private calledFiles(file: CFile): Set<CFile> {
    const out = new Set<CFile>();
    for (const fn of file.functions) {
      if (!fn) continue;
      for (const t of this.callees(fn).flat()) if (t.file !== file) out.add(t.file);
    }
    return out;
  }
}

const NONE: CFn[] = [];

/** Each function's place among its file's functions is fixed by the fact index; holes are impossible but guarded. */
export function isMain(fn: CFn): boolean {
  return fn.fact.name === 'main' && !fn.fact.isStatic;
}

/** `fns` and every function that calls one of them (as `callersOf` lists a function's callers), at any depth. */
export function withTransitiveCallers(fns: Iterable<CFn>, callersOf: (fn: CFn) => readonly CallSite[]): Set<CFn> {
  const out = new Set<CFn>(fns);
  const queue = [...out];
  for (let i = 0; i < queue.length; i++) {
    for (const c of callersOf(queue[i])) {
      if (out.has(c.fn)) continue;
      out.add(c.fn);
      queue.push(c.fn);
    }
  }
  return out;
}

/**
 * A test's body: a function whose head a macro writes (`TEST_IMPL(fork_child) { ... }`,
 * `START_TEST(name)`) in a test file. Its runner calls it through a table the model does not
 * read, and (libuv's runner, Check by default) runs each test in a process of its own, so
 * the body runs first in its process, like `main` (see `c-order.ts`).
 */
export function isTestEntry(fn: CFn): boolean {
  return fn.fact.definer !== undefined && fn.file.testFile;
}

/** A function's name as a call, for messages: `run_alert()`, and `TEST_IMPL(fork_child)` as written. */
export function calledName(name: string): string {
  return name.endsWith(')') ? name : `${name}()`;
}

export function isHeader(p: string): boolean {
  return p.endsWith('.h');
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

const MODELS = new WeakMap<readonly FileAnalysis[], CModelCache>();

/**
 * Keeps the C model while no C file (and neither roots nor project files) changed: a Python
 * or TypeScript edit then costs nothing here, and what the model memoises lazily (call
 * resolution, callers, programs, the orderings and child walks in `c-child.ts`/`c-order.ts`,
 * keyed by its objects) is kept too. Any C change rebuilds it (about 0.75 s on glibc).
 */
export class CModelCache {
  private cFiles: FileAnalysis[] = [];
  private roots: readonly string[] = [];
  private projectFiles: readonly ProjectFile[] = [];
  private current: CModel | undefined;
  private lastFiles: readonly FileAnalysis[] | undefined;
  private knowledge: Knowledge | undefined;
  private platform: CPlatform | undefined;
  /** Call-effect summaries (`c-effects.ts`) kept across rebuilt models. */
  private readonly effects = new EffectSummaryCache();

  model(ctx: ProgramContext): CModel {
    const knowledge = ctx.config.knowledge ?? BUILTIN_KNOWLEDGE;
    const platform = ctx.config.targetPlatform ?? DEFAULT_C_PLATFORM;
    if (this.current && this.lastFiles === ctx.files && this.roots === ctx.roots && this.projectFiles === ctx.projectFiles && this.knowledge === knowledge && this.platform === platform) return this.current;
    const c = ctx.files.filter((f) => f.language === 'c');
    const same =
      this.current &&
      this.roots.length === ctx.roots.length &&
      this.roots.every((r, i) => r === ctx.roots[i]) &&
      this.projectFiles === ctx.projectFiles &&
      this.knowledge === knowledge &&
      this.platform === platform &&
      c.length === this.cFiles.length &&
      c.every((f, i) => f === this.cFiles[i]);
    if (!same || !this.current) {
      // The first model solves its summaries without keys (a one-shot scan never reuses them);
      // from the first rebuild on (an editor session), they are kept and reused.
      const rebuilt = this.current !== undefined;
      this.current = new CModel(c, ctx.roots, ctx.projectFiles, knowledge, platform);
      if (rebuilt) this.current.effectCache = this.effects;
    }
    this.knowledge = knowledge;
    this.platform = platform;
    this.cFiles = c;
    this.roots = ctx.roots;
    this.projectFiles = ctx.projectFiles;
    this.lastFiles = ctx.files;
    return this.current;
  }
}

/** The C model of an evaluation, built once and shared by the rules (kept across evaluations in `ctx.cache`). */
export function cModel(ctx: ProgramContext): CModel {
  if (ctx.cache) return ctx.cache.get('model:c', () => new CModelCache()).model(ctx);
  let cache = MODELS.get(ctx.files);
  if (!cache) MODELS.set(ctx.files, (cache = new CModelCache()));
  return cache.model(ctx);
}

/**
 * Spans (`line,col,...`) of the calls of a function that only the child of a fork made in that
 * same function runs. A walk that enters the function is the process that called it, which
 * comes out of that fork as the parent: those calls belong to another process (a grandchild
 * of the walk's fork, judged by that fork's own walk), not to the walk. Likewise a descriptor
 * created or a cache filled through such a call exists in that child only (`c-order.ts`).
 */
const CHILD_ONLY_CALLS = new WeakMap<CFn, Set<string>>();

export function childOnlyCallSpans(fn: CFn): Set<string> {
  let spans = CHILD_ONLY_CALLS.get(fn);
  if (!spans) {
    spans = new Set();
    for (const fork of fn.file.forks) {
      if (fork.functionIndex !== fn.fact.index) continue;
      for (const region of fork.regions) for (const c of region.calls) spans.add(c.span.join(','));
    }
    CHILD_ONLY_CALLS.set(fn, spans);
  }
  return spans;
}

/** A file's path below the workspace folder that holds it (folders above it say nothing about the code). */
function pathInWorkspace(file: string, roots: readonly string[]): string {
  const absolute = path.resolve(file);
  for (const r of roots) {
    const rel = path.relative(path.resolve(r), absolute);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return path.isAbsolute(file) ? path.basename(file) : file;
}
