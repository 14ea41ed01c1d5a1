/**
 * Python modules of the workspace and how names resolve between them: packages
 * (`__init__.py`), namespace packages (directories without one), `src/` layouts, relative
 * imports, re-exports through a package's imports, and class bases across files.
 *
 * A file may be known under several dotted names (relative to each source root that holds
 * it); an absolute import is looked up by name, preferring the candidate that shares the
 * importer's source root. Relative imports are resolved by directory, as Python does.
 */
import * as nodePath from 'node:path';
import type { FileAnalysis } from '../analysis/results';
import type { ProgramDependencies } from './program-context';
import type { Range } from '../text/locations';
import type {
  PyClassFact,
  PyFunctionFact,
  PyImportFact,
  PyModuleFact,
  PythonFact,
} from '../facts/python/program-facts';

export interface PyModule {
  /** The path as given to the engine (used in findings). */
  path: string;
  /** Normalised absolute path. */
  abs: string;
  /** Dotted names it is known by (may be several, or none for stray scripts). */
  names: string[];
  isPackage: boolean;
  /** Enclosing package `__init__` modules, outermost first (run before this module). */
  parents: PyModule[];
  /** The source root it was named from (for ties between candidates). */
  sourceRoot: string;
  /** Content hash of the analysis the facts came from (identity for the incremental model). */
  contentHash: string;
  facts: readonly PythonFact[];
  moduleFact?: PyModuleFact;
  /** Steps (facts) per executing function, in source order; `''` = module level. */
  bodies: Map<string, PythonFact[]>;
  functions: Map<string, PyFunctionFact>;
  classes: Map<string, PyClassFact>;
  /** Methods defined directly in each class (qualified function names). */
  methods: Map<string, string[]>;
  /** Special methods bound to another method in the class body: `Cls.__enter__` → `Cls.open`. */
  methodAliases: Map<string, string>;
  /** Module-level import bindings: local name → canonical (absolute or `.rel`). */
  bindings: Map<string, string>;
  /** Prefixes of `from m import *` (canonical). */
  stars: string[];
  /**
   * The installed distribution this module comes from (`oslo.messaging`), for a module of the
   * Python environment joined as a read-only program part; absent for the workspace's own.
   */
  dependency?: string;
}

export type PySymbol =
  | { kind: 'module'; module: PyModule }
  | { kind: 'function'; module: PyModule; name: string; fact: PyFunctionFact }
  | { kind: 'class'; module: PyModule; name: string; fact: PyClassFact };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function joinCanonical(prefix: string, name: string): string {
  if (!prefix) return name;
  return prefix.endsWith('.') ? prefix + name : `${prefix}.${name}`;
}

/**
 * Records which modules' facts a computation read, so the incremental model knows what a
 * program's replay depends on. `begin`/`end` bracket a computation (nestable: a memoised
 * lookup inside a replay); `touch` adds a module to every open computation; a memo hit adds
 * what the memoised computation had read (`add`), so sharing memos between programs loses
 * nothing. Reads that depend only on paths (module names, packages) are not recorded: a
 * change of the set of paths rebuilds the whole model.
 */
export class TouchTracker {
  private readonly stack: TouchedSoFar[] = [];
  /** False for {@link UntrackedReads}: callers may skip work whose only use is what they would add. */
  readonly records: boolean = true;

  /** Opens a computation; returns its level, for {@link endAt}. */
  begin(): number {
    this.stack.push({ modules: new Set(), lists: undefined });
    return this.stack.length - 1;
  }

  end(): PyModule[] {
    const open = this.stack.pop();
    return open ? [...open.modules] : [];
  }

  /** Closes the computation opened at `level` and any left open above it (after an exception). */
  endAt(level: number): PyModule[] {
    const open = this.stack[level];
    this.stack.length = Math.min(this.stack.length, level);
    return open ? [...open.modules] : [];
  }

  touch(m: PyModule): void {
    for (const s of this.stack) s.modules.add(m);
  }

  /**
   * Adds a memo's modules to every open computation. Memos share their lists (every answer of
   * one reachability search holds the search's list), so a list already added to a
   * computation is not walked again: on a re-evaluation this was 40 % of the replays' time.
   */
  add(modules: readonly PyModule[]): void {
    if (!modules.length) return;
    for (const s of this.stack) {
      if (s.lists?.has(modules)) continue;
      (s.lists ??= new Set()).add(modules);
      for (const m of modules) s.modules.add(m);
    }
  }
}

/** One open computation of a {@link TouchTracker}: the modules it read, and the memo lists already added (never changed once made). */
interface TouchedSoFar {
  modules: Set<PyModule>;
  lists: Set<readonly PyModule[]> | undefined;
}

const NO_MODULES: readonly PyModule[] = Object.freeze([]);

const FUNCTION_KEYS = new WeakMap<PyModule, Map<string, string>>();

/**
 * `abs#name`, the key of a function (or class) of a module in the replays' sets and memos,
 * built once per module and name: the replays ask for the same keys millions of times, and a
 * string built anew must be flattened and hashed at every lookup.
 */
export function functionKey(m: PyModule, name: string): string {
  let keys = FUNCTION_KEYS.get(m);
  if (!keys) FUNCTION_KEYS.set(m, (keys = new Map()));
  let key = keys.get(name);
  if (key === undefined) keys.set(name, (key = `${m.abs}#${name}`));
  return key;
}

/**
 * A {@link TouchTracker} that records nothing, for a model built once and never updated (a
 * scan): every computation read no module. On the Python standard library the modules each
 * memoised lookup read are a fifth of the model's memory (~50 MB per thread that builds it).
 */
export class UntrackedReads extends TouchTracker {
  override readonly records = false;
  override begin(): number {
    return 0;
  }
  override end(): PyModule[] {
    return NO_MODULES as PyModule[];
  }
  override endAt(_level: number): PyModule[] {
    return NO_MODULES as PyModule[];
  }
  override touch(_m: PyModule): void {}
  override add(_modules: readonly PyModule[]): void {}
}

export class PyModuleIndex {
  readonly modules: PyModule[] = [];
  /** Set by the program model while it wants to know which modules' facts were read. */
  tracker: TouchTracker | undefined;
  private readonly byAbs = new Map<string, PyModule>();
  private readonly byName = new Map<string, PyModule[]>();

  private readonly plugins = new Map<PyModule, { to: PyModule; edge: Range; group: string }[]>();

  constructor(files: readonly FileAnalysis[], roots: readonly string[], extraSourceDirs: readonly string[] = [], dependencies?: ProgramDependencies) {
    if (dependencies) files = [...files, ...dependencies.files];
    const py = files.filter((f) => f.language === 'python' && !/\.pyi$/i.test(f.path));
    const absOf = (p: string) => nodePath.resolve(p);
    const dirsWithInit = new Set<string>();
    for (const f of py) if (nodePath.basename(f.path) === '__init__.py') dirsWithInit.add(nodePath.dirname(absOf(f.path)));

    // Source roots: the workspace roots (or the files' common directory), their `src/`,
    // project-file directories, and the directory above each file's outermost package.
    const sourceRoots = new Set<string>();
    const rootList = roots.length ? roots.map(absOf) : [commonDir(py.map((f) => absOf(f.path)))];
    for (const r of rootList) {
      sourceRoots.add(r);
      sourceRoots.add(nodePath.join(r, 'src'));
    }
    for (const d of extraSourceDirs) {
      sourceRoots.add(absOf(d));
      sourceRoots.add(nodePath.join(absOf(d), 'src'));
    }
    const topOf = (abs: string) => {
      let dir = nodePath.dirname(abs);
      while (dirsWithInit.has(dir)) dir = nodePath.dirname(dir);
      return dir;
    };
    for (const f of py) sourceRoots.add(topOf(absOf(f.path)));
    // The source roots a file is inside: its directories that are source roots (looked up
    // from the file up, not every root tried against every file; Windows paths compare
    // without case, as `path.relative` does there).
    const fold = nodePath.sep === '\\' ? (d: string) => d.toLowerCase() : (d: string) => d;
    const rootsByKey = new Map<string, string[]>();
    for (const r of sourceRoots) {
      const list = rootsByKey.get(fold(r)) ?? [];
      list.push(r);
      rootsByKey.set(fold(r), list);
    }
    const rootsAbove = (abs: string): string[] => {
      const out: string[] = [];
      for (let dir = nodePath.dirname(abs); ; dir = nodePath.dirname(dir)) {
        const found = rootsByKey.get(fold(dir));
        if (found) out.push(...found);
        if (nodePath.dirname(dir) === dir) return out;
      }
    };

    for (const f of py) {
      const abs = absOf(f.path);
      const isPackage = nodePath.basename(abs) === '__init__.py';
      const names = new Set<string>();
      let sourceRoot = topOf(abs);
      // A `#!` script without an extension is run, never imported: it has no module name.
      for (const r of nodePath.extname(abs) === '' ? [] : rootsAbove(abs)) {
        const rel = nodePath.relative(r, abs);
        if (!rel || rel.startsWith('..') || nodePath.isAbsolute(rel)) continue;
        const parts = rel.replace(/\.(py|wsgi)$/i, '').split(nodePath.sep);
        if (parts[parts.length - 1] === '__init__') parts.pop();
        if (!parts.length || !parts.every((p) => IDENT.test(p))) continue;
        names.add(parts.join('.'));
      }
      const ordered = [...names].sort((a, b) => a.split('.').length - b.split('.').length || (a < b ? -1 : 1));
      // The name from the outermost package wins ties for `sourceRoot`.
      if (!ordered.length) sourceRoot = nodePath.dirname(abs);
      const m: PyModule = {
        path: f.path,
        abs,
        names: ordered,
        isPackage,
        parents: [],
        sourceRoot,
        contentHash: f.contentHash,
        facts: f.facts as readonly PythonFact[],
        bodies: new Map(),
        functions: new Map(),
        classes: new Map(),
        methods: new Map(),
        methodAliases: new Map(),
        bindings: new Map(),
        stars: [],
      };
      this.indexFacts(m);
      this.modules.push(m);
      this.byAbs.set(abs, m);
      for (const n of ordered) {
        const list = this.byName.get(n) ?? [];
        list.push(m);
        this.byName.set(n, list);
      }
    }
    for (const m of this.modules) {
      let dir = nodePath.dirname(m.abs);
      if (m.isPackage) dir = nodePath.dirname(dir);
      const chain: PyModule[] = [];
      while (dirsWithInit.has(dir)) {
        const init = this.byAbs.get(nodePath.join(dir, '__init__.py'));
        if (init) chain.unshift(init);
        dir = nodePath.dirname(dir);
      }
      m.parents = chain;
    }
    if (dependencies) this.joinDependencies(dependencies);
  }

  /** Marks the environment's modules with their distribution and records the plugin links. */
  private joinDependencies(dependencies: ProgramDependencies): void {
    const paths = new Set(dependencies.files.map((f) => nodePath.resolve(f.path)));
    for (const m of this.modules) {
      if (!paths.has(m.abs)) continue;
      // The top-level package is the first folder under site-packages (a namespace package's
      // modules are also known by shorter names, relative to their own folder).
      const sitePackages = dependencies.sitePackages.map((sp) => nodePath.resolve(sp)).find((sp) => m.abs.startsWith(sp + nodePath.sep));
      const top = sitePackages ? nodePath.relative(sitePackages, m.abs).split(nodePath.sep)[0].replace(/\.py$/, '') : nodePath.basename(m.abs);
      const owner = dependencies.distributions.find((d) => nodePath.resolve(d.sitePackages) === sitePackages && d.topLevel.includes(top));
      m.dependency = owner?.name ?? top;
    }
    for (const link of dependencies.pluginLinks) {
      const from = this.byAbs.get(nodePath.resolve(link.from));
      if (!from) continue;
      const list = this.plugins.get(from) ?? [];
      for (const name of link.modules) {
        const to = this.moduleByName(name);
        if (to && to !== from) list.push({ to, edge: link.range, group: link.group });
      }
      this.plugins.set(from, list);
    }
  }

  /** Plugin modules that `m` loads by an entry-point group's name (installed libraries only). */
  pluginEdges(m: PyModule): readonly { to: PyModule; edge: Range; group: string }[] {
    return this.plugins.get(m) ?? [];
  }

  /**
   * Replaces the facts of a module in place (same path, new content): the module object
   * keeps its identity, so what other modules and cached program results hold of it stays
   * valid. The name resolutions that read the module's old facts are dropped; the others
   * are kept when a tracker records what each read (a model updated in place always has one).
   */
  updateFacts(m: PyModule, analysis: FileAnalysis): void {
    m.contentHash = analysis.contentHash;
    m.facts = analysis.facts as readonly PythonFact[];
    m.moduleFact = undefined;
    m.bodies = new Map();
    m.functions = new Map();
    m.classes = new Map();
    m.methods = new Map();
    m.methodAliases = new Map();
    m.bindings = new Map();
    m.stars = [];
    this.indexFacts(m);
    this.dropResolutionsReading(m);
  }

  /** Drops the memoised resolutions whose computation read `m` (all of them when reads are not recorded). */
  private dropResolutionsReading(m: PyModule): void {
    if (this.untrackedResolutions) {
      this.resolveMemo.clear();
      this.untrackedResolutions = false;
      return;
    }
    for (const memos of this.resolveMemo.values()) {
      for (const byName of [memos.import, memos.local]) {
        for (const [name, known] of byName) if (!known || known.touched.includes(m)) byName.delete(name);
      }
    }
  }

  private indexFacts(m: PyModule): void {
    for (const f of m.facts) {
      if (!f.kind.startsWith('py.')) continue;
      const list = m.bodies.get(f.enclosingFunction) ?? [];
      list.push(f);
      m.bodies.set(f.enclosingFunction, list);
      switch (f.kind) {
        case 'py.module':
          m.moduleFact = f;
          break;
        case 'py.function':
          m.functions.set(f.name, f);
          if (f.className) {
            const list = m.methods.get(f.className) ?? [];
            list.push(f.name);
            m.methods.set(f.className, list);
          }
          break;
        case 'py.class':
          m.classes.set(f.name, f);
          break;
        case 'py.method-alias':
          m.methodAliases.set(`${f.className}.${f.alias}`, `${f.className}.${f.target}`);
          break;
        case 'py.import':
          if (f.enclosingFunction === '') this.bindImport(m, f);
          break;
      }
    }
  }

  private bindImport(m: PyModule, f: PyImportFact): void {
    const prefix = '.'.repeat(f.level) + f.module;
    if (f.boundName !== undefined) {
      // `import a.b` binds `a` (the package); `import a.b as c` binds `c` to `a.b`.
      m.bindings.set(f.boundName, f.boundName === f.module.split('.')[0] ? f.boundName : f.module);
      return;
    }
    for (const n of f.names ?? []) m.bindings.set(n.alias ?? n.name, joinCanonical(prefix, n.name));
    if (f.star) m.stars.push(prefix);
  }

  byPath(path: string): PyModule | undefined {
    return this.byAbs.get(nodePath.resolve(path));
  }

  /** Module by absolute dotted name, preferring one under the same source root as `from`. */
  moduleByName(name: string, from?: PyModule): PyModule | undefined {
    const list = this.byName.get(name);
    if (!list?.length) return undefined;
    if (list.length === 1 || !from) return list[0];
    return list.find((m) => m.sourceRoot === from.sourceRoot) ?? list.find((m) => m.names[0] === name) ?? list[0];
  }

  /**
   * The workspace modules a name computed at run time can denote: the module of that name, or
   * (`prefix`) every module whose name starts with it — those the rest of the name completes
   * with one segment first (`plugins.` + `stats`: what a plugin name usually is), then the
   * deeper ones, each in path order; at most `limit`.
   */
  modulesNamed(name: string, prefix: boolean, from?: PyModule, limit = 64): PyModule[] {
    if (!prefix) {
      const m = this.moduleByName(name, from);
      return m ? [m] : [];
    }
    const depth = (m: PyModule) => Math.min(...m.names.filter((n) => n.startsWith(name)).map((n) => n.slice(name.length).split('.').length));
    const out = this.modules.filter((m) => m.names.some((n) => n.startsWith(name))).map((m) => ({ m, d: depth(m) }));
    out.sort((a, b) => a.d - b.d || (a.m.path < b.m.path ? -1 : a.m.path > b.m.path ? 1 : 0));
    return out.slice(0, limit).map((x) => x.m);
  }

  /** Module for a relative reference: `level` dots from `from`'s package, then `segments`. */
  moduleRelative(from: PyModule, level: number, segments: readonly string[]): PyModule | undefined {
    let dir = nodePath.dirname(from.abs);
    for (let i = 1; i < level; i++) dir = nodePath.dirname(dir);
    const base = nodePath.join(dir, ...segments);
    if (!segments.length) return this.byAbs.get(nodePath.join(dir, '__init__.py'));
    return this.byAbs.get(base + '.py') ?? this.byAbs.get(nodePath.join(base, '__init__.py'));
  }

  /**
   * The modules an import statement runs, in order (parents first are added by the caller's
   * module runner): `import a.b` → a.b; `from m import x` → m, then m.x when x is a submodule.
   */
  importTargets(from: PyModule, f: PyImportFact): PyModule[] {
    const segs = f.module ? f.module.split('.') : [];
    const out: PyModule[] = [];
    const base = f.level > 0 ? this.moduleRelative(from, f.level, segs) : segs.length ? this.moduleByName(f.module, from) : undefined;
    if (base) out.push(base);
    for (const n of f.names ?? []) {
      const sub = f.level > 0 ? this.moduleRelative(from, f.level, [...segs, n.name]) : this.moduleByName(joinCanonical(f.module, n.name), from);
      if (sub && sub !== base) out.push(sub);
    }
    return out;
  }

  /**
   * Resolves a canonical name used in `from` (as the extractor spelled it) to a workspace
   * module, function or class. `depth` bounds re-export chasing.
   */
  resolve(from: PyModule, name: string, origin: 'import' | 'local' | 'builtin', depth = 0): PySymbol | undefined {
    if (depth > 8 || origin === 'builtin') return undefined;
    // Memoised: star imports and re-exports between packages form cycles and wide fans
    // (asyncio's `__init__` star-imports twenty submodules that import each other).
    // By module, then by name (one map per origin): a key holding the module's path would be
    // a long string built, flattened and hashed anew at every call.
    let byName = this.resolveMemo.get(from)?.[origin];
    if (!byName) {
      let memos = this.resolveMemo.get(from);
      if (!memos) this.resolveMemo.set(from, (memos = { import: new Map(), local: new Map() }));
      byName = memos[origin];
    }
    const known = byName.get(name);
    // In progress: a cycle resolves to nothing. (Only `member` of this module resolves
    // inside a resolution, and it records its module as read: an edit of this module drops
    // the answers computed with the cut.)
    if (known === null) return undefined;
    if (known) {
      this.tracker?.add(known.touched);
      return known.symbol ?? undefined;
    }
    byName.set(name, null);
    if (!this.tracker?.records) this.untrackedResolutions = true;
    this.tracker?.begin();
    const result = this.resolveUncached(from, name, origin, depth);
    byName.set(name, { symbol: result ?? null, touched: this.tracker ? this.tracker.end() : NO_MODULES });
    return result;
  }

  /** Some memoised resolution was computed without a recording tracker: what it read is not known. */
  private untrackedResolutions = false;

  /** Resolutions, with the modules each one read (`null` while being computed). */
  private readonly resolveMemo = new Map<PyModule, Record<'import' | 'local', Map<string, { symbol: PySymbol | null; touched: readonly PyModule[] } | null>>>();

  private resolveUncached(from: PyModule, name: string, origin: 'import' | 'local', depth: number): PySymbol | undefined {
    if (origin === 'local') return this.member(from, name.split('.'), depth);
    const level = /^\.*/.exec(name)![0].length;
    const segs = name.slice(level).split('.').filter(Boolean);
    for (let i = segs.length; i >= (level > 0 ? 0 : 1); i--) {
      const mod = level > 0 ? this.moduleRelative(from, level, segs.slice(0, i)) : this.moduleByName(segs.slice(0, i).join('.'), from);
      if (!mod) continue;
      const rest = segs.slice(i);
      if (!rest.length) return { kind: 'module', module: mod };
      const sym = this.member(mod, rest, depth + 1);
      if (sym) return sym;
    }
    return undefined;
  }

  /** `segments` inside module `m`: a def/class (possibly `Class.method`), or a re-exported import. */
  member(m: PyModule, segments: readonly string[], depth = 0): PySymbol | undefined {
    if (!segments.length) return { kind: 'module', module: m };
    this.tracker?.touch(m);
    for (let i = segments.length; i >= 1; i--) {
      const q = segments.slice(0, i).join('.');
      const fn = m.functions.get(q);
      if (fn && i === segments.length) return { kind: 'function', module: m, name: q, fact: fn };
      const cls = m.classes.get(q);
      if (cls) {
        if (i === segments.length) return { kind: 'class', module: m, name: q, fact: cls };
        const meth = i === segments.length - 1 ? this.method(m, q, segments[i], depth) : undefined;
        if (meth) return meth;
        // `Cls.job_class(...)` / `Cls.job_class.make(...)`: a class-body attribute holding a class.
        const held = this.classAttribute(m, q, segments[i], depth);
        if (!held || i + 1 === segments.length) return held;
        return i + 2 === segments.length ? this.method(held.module, held.name, segments[i + 1], depth + 1) : undefined;
      }
    }
    const bound = m.bindings.get(segments[0]);
    if (bound !== undefined && depth < 8) {
      const rest = segments.slice(1).join('.');
      return this.resolve(m, rest ? `${bound}.${rest}` : bound, 'import', depth + 1);
    }
    // `from x import *` brings in top-level names only: look the first segment up there.
    for (const star of m.stars) {
      const sym = this.resolve(m, joinCanonical(star, segments[0]), 'import', depth + 1);
      if (!sym || sym.kind === 'module') continue;
      if (segments.length === 1) return sym;
      if (sym.kind === 'class' && segments.length === 2) return this.method(sym.module, sym.name, segments[1], depth + 1);
    }
    return undefined;
  }

  /** The workspace class a class-body attribute holds (`job_class: type[Job]`), looked up along the bases. */
  classAttribute(m: PyModule, cls: string, attr: string, depth = 0, seen = new Set<string>()): (PySymbol & { kind: 'class' }) | undefined {
    const key = `${m.abs}#${cls}`;
    if (seen.has(key) || depth > 10) return undefined;
    seen.add(key);
    this.tracker?.touch(m);
    const entry = m.classes.get(cls)?.classAttributes?.find((a) => a.name === attr);
    if (entry) {
      const sym = this.resolve(m, entry.value, entry.origin, depth + 1);
      return sym?.kind === 'class' ? sym : undefined;
    }
    for (const base of this.bases(m, cls, depth)) {
      if (base.kind !== 'class') continue;
      const found = this.classAttribute(base.module, base.name, attr, depth + 1, seen);
      if (found) return found;
    }
    return undefined;
  }

  /** What calling `sym` runs: a workspace function itself, or a workspace class's `__init__`. */
  runs(sym: PySymbol | undefined): (PySymbol & { kind: 'function' }) | undefined {
    const target = sym?.kind === 'class' ? this.method(sym.module, sym.name, '__init__') : sym;
    return target?.kind === 'function' ? target : undefined;
  }

  /** The workspace function a call of `name` in `from` runs (a class call runs its `__init__`). */
  callTarget(from: PyModule, name: string, origin: 'import' | 'local' | 'builtin'): (PySymbol & { kind: 'function' }) | undefined {
    return this.runs(this.resolve(from, name, origin));
  }

  /** A method looked up along the workspace bases of a class (a simple MRO: depth first). */
  method(m: PyModule, cls: string, name: string, depth = 0, seen = new Set<string>()): PySymbol | undefined {
    const key = `${m.abs}#${cls}`;
    if (seen.has(key) || depth > 10) return undefined;
    seen.add(key);
    this.tracker?.touch(m);
    const fn = m.functions.get(`${cls}.${name}`);
    if (fn) return { kind: 'function', module: m, name: `${cls}.${name}`, fact: fn };
    const alias = m.methodAliases.get(`${cls}.${name}`);
    const aliased = alias ? m.functions.get(alias) : undefined;
    if (alias && aliased) return { kind: 'function', module: m, name: alias, fact: aliased };
    for (const base of this.bases(m, cls, depth)) {
      if (base.kind !== 'class') continue;
      const found = this.method(base.module, base.name, name, depth + 1, seen);
      if (found) return found;
    }
    return undefined;
  }

  /** Bases of a workspace class: resolved symbols, or the canonical name when outside the workspace. */
  bases(m: PyModule, cls: string, depth = 0): (PySymbol | { kind: 'external'; name: string })[] {
    this.tracker?.touch(m);
    const fact = m.classes.get(cls);
    if (!fact) return [];
    return fact.bases.map((b) => this.resolve(m, b.name, b.origin, depth + 1) ?? { kind: 'external' as const, name: b.name });
  }

  /** Methods of a workspace class and of its workspace bases. */
  allMethods(m: PyModule, cls: string, depth = 0, seen = new Set<string>()): { module: PyModule; name: string }[] {
    const key = `${m.abs}#${cls}`;
    if (seen.has(key) || depth > 10) return [];
    seen.add(key);
    this.tracker?.touch(m);
    const out = (m.methods.get(cls) ?? []).map((name) => ({ module: m, name }));
    for (const b of this.bases(m, cls, depth)) if (b.kind === 'class') out.push(...this.allMethods(b.module, b.name, depth + 1, seen));
    return out;
  }

  /**
   * Walks a class's ancestry; returns the first external (non-workspace) base for which
   * `test` holds, e.g. `threading.Thread`.
   */
  externalAncestor(m: PyModule, cls: string, test: (name: string) => boolean, depth = 0, seen = new Set<string>()): string | undefined {
    const key = `${m.abs}#${cls}`;
    if (seen.has(key) || depth > 10) return undefined;
    seen.add(key);
    for (const b of this.bases(m, cls, depth)) {
      if (b.kind === 'external') {
        if (test(b.name)) return b.name;
      } else if (b.kind === 'class') {
        // A workspace class may itself be a known library class (the stdlib as workspace).
        const qualified = b.module.names.length ? `${b.module.names[0]}.${b.name}` : b.name;
        if (test(qualified)) return qualified;
        const found = this.externalAncestor(b.module, b.name, test, depth + 1, seen);
        if (found) return found;
      }
    }
    return undefined;
  }
}

function commonDir(paths: readonly string[]): string {
  if (!paths.length) return nodePath.resolve('.');
  let dir = nodePath.dirname(paths[0]);
  for (const p of paths) {
    while (dir !== nodePath.dirname(dir) && !(p === dir || p.startsWith(dir + nodePath.sep))) dir = nodePath.dirname(dir);
  }
  return dir;
}
