/**
 * The TypeScript (Node) program model: which files run together in one process and on one
 * event loop, and which of their code runs again and again once the program is up.
 *
 * - **Modules** are the workspace's TypeScript and JavaScript files (`.js`, `.mjs`, `.cjs`,
 *   `.jsx`, and `#!` Node scripts without an extension). Specifiers resolve inside the
 *   workspace only: relative paths with extension and `index` resolution (TypeScript sources
 *   first, then JavaScript: `require('./a')` finds `a.ts`, else `a.js`), the `.js`→`.ts`
 *   mapping of compiled imports (`./util.js` → `./util.ts` when only the source exists), and
 *   bare specifiers naming a workspace package (its `package.json` `name`). CommonJS counts:
 *   `require()` binds like an import, `module.exports`/`exports.x` export like `export`.
 * - A **program** starts at an entry point — `main`, `module`, `bin` and `exports` of a
 *   `package.json` (build output such as `dist/x.js` maps back to `src/x.ts`), else an
 *   `index.ts`/`src/index.ts` next to it, a `#!` script (any extension) or a file that runs
 *   itself when started directly (`require.main === module`), or the script of a `worker_threads` Worker — and
 *   spans its import closure (static, `require`, literal dynamic `import()`). A Worker script
 *   is a program of its own: it has its own event loop. A module no entry reaches is a
 *   **library root** with what it imports.
 * - **Reached** code: every module's top level, what it calls, anonymous functions of reached
 *   code, the callbacks it registers; for `main`/`exports`/`index`/library roots also the
 *   root module's exported functions (its API may be called by anyone). A `bin` script runs
 *   its top level only.
 * - **Hot** code runs repeatedly after start-up: the callbacks of reached registrations
 *   (request handlers, message consumers, intervals) and everything they call; a blocking
 *   call in a long-running loop (`while (true)`, `for await`) of reached code is hot too; so
 *   is a heartbeat timer's own callback, for the program's other heartbeats. Calls follow
 *   methods of object literals with their holder, and a method called on a table lookup
 *   (`checks[kind].run()`) into the workspace overrides of a base class's method.
 *   Top-level code and functions only start-up reaches (a CLI command's action) are not;
 *   neither are constructors a hot path calls (`new X()` there mostly builds a singleton once).
 *
 * - **Installed packages** (`ctx.dependencies`, the `node_modules` files the workspace's
 *   imports reach: `scan/node-dependencies.ts`) join as read-only modules: bare specifiers
 *   resolve into them as the scan resolved them, their code is followed like the workspace's,
 *   but they are never roots and their blocking calls are not reported. A keep-alive timer
 *   in a package counts for a program when the program's code reaches it through calls (it is
 *   reported with the workspace call that leads into the package), or when the program makes
 *   a modelled connection of that package (`amqplib.connect()`): with the package installed,
 *   its own code decides — a modelled call whose package holds no keep-alive timer is silent;
 *   without `node_modules` the model of the call stands in.
 *
 * - **Effects**: which heartbeats and blocking calls a program reaches, and which a hot path
 *   reaches, is asked of the call-effect summaries (`typescript-effects.ts` over
 *   `call-effects.ts`): the walks follow only calls whose callee's summary `pings` or
 *   `blocksEventLoop`, and each step says so ("`render()` blocks the event loop here
 *   (execFileSync())"). Reached code above stays the program's structure (registrations).
 *
 * The heartbeat-starved-by-blocking-call rule reads {@link TypeScriptModel.starved}.
 */
import * as nodePath from 'node:path';
import type { ProgramContext, ProgramDependencies, ProjectFile } from './program-context';
import type { FileAnalysis } from '../analysis/results';
import type { Range } from '../text/locations';
import type {
  TsBlockingFact,
  TsCallFact,
  TsEntryFact,
  TsFact,
  TsFunctionFact,
  TsHeartbeatFact,
  TsImportFact,
  TsRegisterFact,
  TsWorkerFact,
} from '../facts/typescript/program-facts';
import { closure, libraryRootOrder, push, reach, siteKey, toSteps, type ChainNode, type ProgramStep } from './program-graph';
import type { EffectKind } from './call-effects';
import { TsCallEffects, effectStepWords, type Thread } from './typescript-effects';

export type TsStep = ProgramStep;

export interface TsModule {
  path: string;
  abs: string;
  facts: TsFact[];
  functions: Map<string, TsFunctionFact>;
  imports: TsImportFact[];
  bindings: Map<string, { imp: TsImportFact; name: string }>;
  /** For a file of an installed package (`node_modules`): the package's name. */
  dependency?: string;
}

export type TsRootKind = 'main' | 'module' | 'bin' | 'exports' | 'index' | 'script' | 'worker' | 'library';

export interface TsRoot {
  module: TsModule;
  kind: TsRootKind;
  /** Where the entry is declared (`package.json` key, the `new Worker()` call), when it is. */
  declared?: TsStep;
  /** The thread this program is: a Worker skips `isMainThread` branches and vice versa. */
  thread: 'main' | 'worker';
}

export interface TsProgram {
  root: TsRoot;
  modules: Set<TsModule>;
}

export interface TsEvent<F extends TsFact = TsFact> {
  module: TsModule;
  fact: F;
  /** How the program got there, from its entry: not including the site. */
  chain: TsStep[];
}

/** Why a blocking call runs after start-up. */
export type TsHotReason = { kind: 'registered'; register: TsEvent<TsRegisterFact> } | { kind: 'loop'; loop: { range: Range; label: string } };

/** A heartbeat; for a keep-alive timer inside an installed package, the workspace code that sets it up. */
export interface TsHeartbeatEvent extends TsEvent<TsHeartbeatFact> {
  installed?: {
    /** The package the timer lives in. */
    package: string;
    /** The workspace step that leads there: the modelled connection call, or the call (or import) into the package. */
    anchor: TsStep;
    /** What keeps the connection alive, for the message. */
    note: string;
  };
}

export interface TsStarvedHeartbeat {
  program: TsProgram;
  heartbeat: TsHeartbeatEvent;
  blocking: TsEvent<TsBlockingFact>;
  reason: TsHotReason;
}

export interface TypeScriptModel {
  modules: TsModule[];
  programs: TsProgram[];
  starved: TsStarvedHeartbeat[];
  byPath(path: string): TsModule | undefined;
  /** Resolves an import specifier of `from` to a workspace module. */
  resolveSpecifier(from: TsModule, specifier: string): TsModule | undefined;
  /**
   * The workspace function a callee written in `from` runs (`openBlob`, `ns.f`, `Cls.staticMethod`):
   * through its imports, ESM and CommonJS, re-exports and default-exported classes.
   */
  resolveCallee(from: TsModule, callee: string): { module: TsModule; id: string } | undefined;
  /** The call-effect summaries of the workspace's functions on a thread (`typescript-effects.ts`), solved on first use. */
  callEffects(thread: Thread): TsCallEffects<TsModule>;
  stats: { modules: number; programs: number; ms: number };
}

// ---------------------------------------------------------------------------------------
// Module index and resolution
// ---------------------------------------------------------------------------------------

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
const JS_TO_TS: Readonly<Record<string, string[]>> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};
/** Build output folders a `package.json` entry may point into, mapped back to sources. */
const OUT_DIRS = /^(?:\.\/)?(?:dist|lib|build|out|bin)\//;

interface WorkspacePackage {
  dir: string;
  name?: string;
  file: ProjectFile;
  entries: { kind: TsRootKind; target: string; key: string }[];
}

function parsePackage(pf: ProjectFile): WorkspacePackage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(pf.text);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object') return undefined;
  const pkg = json as Record<string, unknown>;
  const entries: WorkspacePackage['entries'] = [];
  if (typeof pkg.main === 'string') entries.push({ kind: 'main', target: pkg.main, key: 'main' });
  if (typeof pkg.module === 'string') entries.push({ kind: 'module', target: pkg.module, key: 'module' });
  if (typeof pkg.bin === 'string') entries.push({ kind: 'bin', target: pkg.bin, key: 'bin' });
  else if (pkg.bin && typeof pkg.bin === 'object') for (const v of Object.values(pkg.bin)) if (typeof v === 'string') entries.push({ kind: 'bin', target: v, key: 'bin' });
  const walk = (v: unknown, depth: number): void => {
    if (depth > 6) return;
    if (typeof v === 'string') {
      if (!v.endsWith('.d.ts') && !v.includes('*')) entries.push({ kind: 'exports', target: v, key: 'exports' });
    } else if (Array.isArray(v)) for (const x of v) walk(x, depth + 1);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'types') walk(x, depth + 1);
  };
  walk(pkg.exports, 0);
  return { dir: nodePath.dirname(nodePath.resolve(pf.path)), name: typeof pkg.name === 'string' ? pkg.name : undefined, file: pf, entries };
}

/** The range of `"key"` in a package.json text (for the evidence chain). */
function keyRange(text: string, key: string, value?: string): Range {
  let idx = text.indexOf(`"${key}"`);
  if (value !== undefined) {
    const v = text.indexOf(JSON.stringify(value), idx < 0 ? 0 : idx);
    if (v >= 0) idx = v;
  }
  if (idx < 0) idx = 0;
  const before = text.slice(0, idx);
  const line = before.split('\n').length - 1;
  const character = idx - (before.lastIndexOf('\n') + 1);
  const len = value !== undefined && text.startsWith(JSON.stringify(value), idx) ? JSON.stringify(value).length : key.length + 2;
  return { start: { line, character }, end: { line, character: character + len } };
}

/** JSON with comments and trailing commas (tsconfig.json) → plain JSON text. */
function stripJsonc(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/** `compilerOptions.paths` / `baseUrl` of a tsconfig.json (its `extends` is not followed). */
interface PathMapping {
  dir: string;
  baseUrl?: string;
  paths: { prefix: string; suffix: string; star: boolean; targets: string[] }[];
}

function parseTsconfig(pf: ProjectFile): PathMapping | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stripJsonc(pf.text));
  } catch {
    return undefined;
  }
  const options = (json as { compilerOptions?: { baseUrl?: unknown; paths?: unknown } } | null)?.compilerOptions;
  if (!options) return undefined;
  const dir = nodePath.dirname(nodePath.resolve(pf.path));
  const baseUrl = typeof options.baseUrl === 'string' ? nodePath.resolve(dir, options.baseUrl) : undefined;
  const paths: PathMapping['paths'] = [];
  if (options.paths && typeof options.paths === 'object') {
    for (const [pattern, targets] of Object.entries(options.paths as Record<string, unknown>)) {
      if (!Array.isArray(targets)) continue;
      const star = pattern.indexOf('*');
      paths.push({
        prefix: star < 0 ? pattern : pattern.slice(0, star),
        suffix: star < 0 ? '' : pattern.slice(star + 1),
        star: star >= 0,
        targets: targets.filter((t): t is string => typeof t === 'string' && !t.endsWith('.d.ts')),
      });
    }
  }
  if (!baseUrl && !paths.length) return undefined;
  return { dir, baseUrl, paths };
}

class ModuleIndex {
  readonly modules: TsModule[] = [];
  private readonly byAbs = new Map<string, TsModule>();
  readonly packages: WorkspacePackage[] = [];
  private readonly mappings: PathMapping[] = [];
  private readonly resolveMemo = new Map<string, TsModule | null>();

  /** `from`'s absolute path and a bare specifier → the installed file it loads (as the scan resolved it). */
  private readonly installed = new Map<string, string>();

  constructor(files: readonly FileAnalysis[], projectFiles: readonly ProjectFile[], dependencies?: ProgramDependencies) {
    const packages = [...(dependencies?.nodePackages ?? [])].sort((a, b) => b.dir.length - a.dir.length);
    const owner = (abs: string) => packages.find((p) => abs.startsWith(p.dir + nodePath.sep))?.name;
    const dependencyFiles = packages.length ? dependencies!.files : [];
    for (const r of dependencies?.nodeResolutions ?? []) this.installed.set(`${r.from}\0${r.specifier}`, r.to);
    for (const f of [...files, ...dependencyFiles]) {
      if (f.language !== 'typescript') continue;
      const abs = nodePath.resolve(f.path);
      const facts = f.facts as TsFact[];
      const m: TsModule = { path: f.path, abs, facts, functions: new Map(), imports: [], bindings: new Map() };
      if (dependencyFiles.length) {
        const pkg = owner(abs);
        if (pkg !== undefined) {
          if (this.byAbs.has(abs)) continue;
          m.dependency = pkg;
        }
      }
      for (const x of facts) {
        if (x.kind === 'ts.function') m.functions.set(x.id, x);
        else if (x.kind === 'ts.import') {
          m.imports.push(x);
          for (const b of x.bindings) m.bindings.set(b.local, { imp: x, name: b.name });
        }
      }
      this.modules.push(m);
      this.byAbs.set(abs, m);
    }
    this.modules.sort((a, b) => (a.abs < b.abs ? -1 : a.abs > b.abs ? 1 : 0));
    for (const pf of projectFiles) {
      const base = nodePath.basename(pf.path);
      if (base === 'package.json') {
        const pkg = parsePackage(pf);
        if (pkg) this.packages.push(pkg);
      } else if (base === 'tsconfig.json') {
        const mapping = parseTsconfig(pf);
        if (mapping) this.mappings.push(mapping);
      }
    }
    this.mappings.sort((a, b) => b.dir.length - a.dir.length);
    this.packages.sort((a, b) => b.dir.length - a.dir.length || (a.dir < b.dir ? -1 : 1));
  }

  byPath(p: string): TsModule | undefined {
    return this.byAbs.get(nodePath.resolve(p));
  }

  /** A file path as written (with or without extension) → the workspace module. */
  file(base: string): TsModule | undefined {
    const hit = this.byAbs.get(base);
    if (hit) return hit;
    const ext = nodePath.extname(base);
    for (const alt of JS_TO_TS[ext] ?? []) {
      const m = this.byAbs.get(base.slice(0, -ext.length) + alt);
      if (m) return m;
    }
    for (const e of SOURCE_EXTENSIONS) {
      const m = this.byAbs.get(base + e);
      if (m) return m;
    }
    for (const e of SOURCE_EXTENSIONS) {
      const m = this.byAbs.get(nodePath.join(base, 'index' + e));
      if (m) return m;
    }
    return undefined;
  }

  /** A `package.json` entry (maybe build output) → the source module. */
  entry(pkg: WorkspacePackage, target: string): TsModule | undefined {
    const direct = this.file(nodePath.resolve(pkg.dir, target));
    if (direct) return direct;
    if (OUT_DIRS.test(target)) {
      const rest = target.replace(OUT_DIRS, '');
      return this.file(nodePath.resolve(pkg.dir, 'src', rest)) ?? this.file(nodePath.resolve(pkg.dir, rest));
    }
    return undefined;
  }

  private readonly edgeMemo = new Map<TsModule, { to: TsModule; edge: TsImportFact }[]>();

  /** The workspace modules `m` imports, with the import that loads each (resolved once). */
  edges(m: TsModule): { to: TsModule; edge: TsImportFact }[] {
    let out = this.edgeMemo.get(m);
    if (!out) {
      out = [];
      for (const imp of m.imports) {
        const t = this.resolve(m, imp.specifier);
        if (t && t !== m) out.push({ to: t, edge: imp });
      }
      this.edgeMemo.set(m, out);
    }
    return out;
  }

  /** A bare specifier through the nearest tsconfig.json `paths` (then `baseUrl`). */
  private mapped(mapping: PathMapping, specifier: string): TsModule | undefined {
    const base = mapping.baseUrl ?? mapping.dir;
    for (const p of mapping.paths) {
      let middle: string;
      if (p.star) {
        if (!specifier.startsWith(p.prefix) || !specifier.endsWith(p.suffix) || specifier.length < p.prefix.length + p.suffix.length) continue;
        middle = specifier.slice(p.prefix.length, specifier.length - p.suffix.length);
      } else if (specifier === p.prefix) middle = '';
      else continue;
      for (const t of p.targets) {
        const m = this.file(nodePath.resolve(base, t.replace('*', middle)));
        if (m) return m;
      }
    }
    return mapping.baseUrl ? this.file(nodePath.resolve(mapping.baseUrl, specifier)) : undefined;
  }

  resolve(from: TsModule, specifier: string): TsModule | undefined {
    const relative = specifier.startsWith('.') || specifier.startsWith('/');
    const mapping = relative ? undefined : this.mappings.find((x) => from.abs.startsWith(x.dir + nodePath.sep));
    const key = relative ? `${nodePath.dirname(from.abs)}\0${specifier}` : `${mapping?.dir ?? ''}\0${specifier}`;
    const memo = this.resolveMemo.get(key);
    if (memo !== undefined) return memo ?? (relative ? undefined : this.installedModule(from, specifier));
    let out: TsModule | undefined;
    if (specifier.startsWith('.') || specifier.startsWith('/')) out = this.file(nodePath.resolve(nodePath.dirname(from.abs), specifier));
    else if (!specifier.startsWith('node:')) {
      for (const pkg of this.packages) {
        if (!pkg.name || !(specifier === pkg.name || specifier.startsWith(pkg.name + '/'))) continue;
        const sub = specifier.slice(pkg.name.length + 1);
        if (!sub) {
          for (const e of pkg.entries) if (e.kind !== 'bin' && (out = this.entry(pkg, e.target))) break;
          out ??= this.file(nodePath.join(pkg.dir, 'src', 'index')) ?? this.file(nodePath.join(pkg.dir, 'index'));
        } else out = this.entry(pkg, sub) ?? this.file(nodePath.join(pkg.dir, 'src', sub));
        break;
      }
      if (!out && mapping) out = this.mapped(mapping, specifier);
    }
    this.resolveMemo.set(key, out ?? null);
    return out ?? (relative ? undefined : this.installedModule(from, specifier));
  }

  /** The installed module a bare specifier of `from` loads (workspace packages and `paths` come first). */
  private installedModule(from: TsModule, specifier: string): TsModule | undefined {
    const to = this.installed.get(`${from.abs}\0${specifier}`);
    return to === undefined ? undefined : this.byAbs.get(nodePath.resolve(to));
  }
}

// ---------------------------------------------------------------------------------------
// Symbols: which function a call or a registered callback runs
// ---------------------------------------------------------------------------------------

interface FnRef {
  module: TsModule;
  id: string;
}

class Symbols {
  private readonly memo = new Map<string, FnRef | null>();

  constructor(private readonly index: ModuleIndex) {}

  /** `callee` is a name bound in `m` by an import (`f`, `ns.f`); with `ctor`, a class whose constructor runs. */
  callee(m: TsModule, callee: string, depth = 0, ctor = false): FnRef | undefined {
    const dot = callee.indexOf('.');
    const head = dot < 0 ? callee : callee.slice(0, dot);
    const prop = dot < 0 ? undefined : callee.slice(dot + 1);
    const b = m.bindings.get(head);
    if (!b || depth > 12) return undefined;
    const target = this.index.resolve(m, b.imp.specifier);
    if (!target) return undefined;
    const ns = b.name === '*' || b.name === 'default';
    if (prop === undefined) {
      const name = b.name === '*' ? 'default' : b.name;
      return ctor ? this.method(this.exportedClass(target, name, depth + 1), 'constructor') : this.exported(target, name, depth + 1);
    }
    if (ctor) return ns ? this.method(this.exportedClass(target, prop, depth + 1), 'constructor') : undefined;
    if (ns) {
      // `ns.f()`; for a default import also CommonJS interop (`import m from './cjs'; m.f()`)
      // and a static method of a default-exported class.
      return this.exported(target, prop, depth + 1) ?? this.method(this.exportedClass(target, 'default', depth + 1), prop);
    }
    return this.method(this.exportedClass(target, b.name, depth + 1), prop); // `Cls.staticMethod()`
  }

  /** The workspace class a name written in `m` denotes (`Base`, `ns.Base`): a class of `m`, or an imported one. */
  classNamed(m: TsModule, written: string): { module: TsModule; name: string } | undefined {
    const dot = written.indexOf('.');
    if (dot < 0 && [...m.functions.values()].some((f) => f.className === written)) return { module: m, name: written };
    const head = dot < 0 ? written : written.slice(0, dot);
    const prop = dot < 0 ? undefined : written.slice(dot + 1);
    const b = m.bindings.get(head);
    const target = b ? this.index.resolve(m, b.imp.specifier) : undefined;
    if (!b || !target) return undefined;
    if (prop === undefined) return this.exportedClass(target, b.name === '*' ? 'default' : b.name);
    return b.name === '*' || b.name === 'default' ? this.exportedClass(target, prop) : undefined;
  }

  private method(cls: { module: TsModule; name: string } | undefined, method: string): FnRef | undefined {
    if (!cls) return undefined;
    const id = `${cls.name}.${method}`;
    return cls.module.functions.has(id) ? { module: cls.module, id } : undefined;
  }

  private readonly classMemo = new Map<string, { module: TsModule; name: string } | null>();

  /** The class `m` exports under `name` (a class of `m`, or one it re-exports). */
  exportedClass(m: TsModule, name: string, depth = 0): { module: TsModule; name: string } | undefined {
    return this.memoised(this.classMemo, m, name, depth, () => {
      for (const x of m.facts) {
        if (x.kind !== 'ts.export' || x.name !== name) continue;
        let out: { module: TsModule; name: string } | undefined;
        if ([...m.functions.values()].some((f) => f.className === x.local)) out = { module: m, name: x.local };
        else {
          const b = m.bindings.get(x.local);
          const t = b ? this.index.resolve(m, b.imp.specifier) : undefined;
          if (b && t) out = this.exportedClass(t, b.name === '*' ? 'default' : b.name, depth + 1);
        }
        if (out) return out;
      }
      return this.reexported(m, name, (t, n) => this.exportedClass(t, n, depth + 1));
    });
  }

  /** The function `m` exports under `name`. */
  exported(m: TsModule, name: string, depth = 0): FnRef | undefined {
    return this.memoised(this.memo, m, name, depth, () => {
      for (const f of m.functions.values()) if (f.exports?.includes(name)) return { module: m, id: f.id };
      for (const x of m.facts) {
        if (x.kind !== 'ts.export' || x.name !== name) continue;
        const out = this.local(m, x.local, depth + 1);
        if (out) return out;
      }
      return this.reexported(m, name, (t, n) => this.exported(t, n, depth + 1));
    });
  }

  /** A lookup of `name` in `m`, memoised per module and name (a lookup still open, in a cycle, finds nothing). */
  private memoised<T>(memo: Map<string, T | null>, m: TsModule, name: string, depth: number, find: () => T | undefined): T | undefined {
    const key = `${m.abs}\0${name}`;
    const known = memo.get(key);
    if (known !== undefined) return known ?? undefined;
    if (depth > 12) return undefined;
    memo.set(key, null);
    const out = find();
    memo.set(key, out ?? null);
    return out;
  }

  /** What `find` finds for `name` in the modules `m` re-exports it from (`export { a as name } from`, `export * from`). */
  private reexported<T>(m: TsModule, name: string, find: (t: TsModule, name: string) => T | undefined): T | undefined {
    for (const imp of m.imports) {
      const r = imp.reexports?.find((r) => r.as === name);
      if (!r && !(imp.star && name !== 'default')) continue;
      const t = this.index.resolve(m, imp.specifier);
      const out = t ? find(t, r ? r.name : name) : undefined;
      if (out) return out;
    }
    return undefined;
  }

  /** A module-level name of `m`: one of its functions, or an imported name. */
  local(m: TsModule, name: string, depth = 0): FnRef | undefined {
    const f = m.functions.get(name);
    if (f && f.parent === '') return { module: m, id: f.id };
    return this.callee(m, name, depth + 1);
  }

  target(m: TsModule, fact: { target?: string; callee?: string; constructorCall?: boolean }): FnRef | undefined {
    if (fact.target !== undefined) return { module: m, id: fact.target };
    if (fact.callee !== undefined) return this.callee(m, fact.callee, 0, fact.constructorCall === true);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------

const ROOT_LABEL: Record<TsRootKind, string> = {
  main: 'program entry point (package.json "main")',
  module: 'program entry point (package.json "module")',
  bin: 'program entry point (package.json "bin")',
  exports: 'program entry point (package.json "exports")',
  index: 'program entry point (index file of the package)',
  script: 'program entry point (a script whose #! line runs node)',
  worker: 'runs as a worker_threads Worker started here',
  library: '',
};

function workerTarget(index: ModuleIndex, m: TsModule, w: TsWorkerFact): TsModule | undefined {
  if (w.self) return m;
  if (!w.specifier) return undefined;
  const fromFile = index.file(nodePath.resolve(nodePath.dirname(m.abs), w.specifier));
  if (fromFile || w.base === 'file') return fromFile;
  // A plain string is relative to the working directory: try the package directories.
  for (const pkg of index.packages) if (m.abs.startsWith(pkg.dir + nodePath.sep)) return index.file(nodePath.resolve(pkg.dir, w.specifier));
  return undefined;
}

function buildPrograms(index: ModuleIndex, roots: readonly string[]): TsProgram[] {
  const imported = (m: TsModule) => index.edges(m).map((e) => e.to);
  const entries: TsRoot[] = [];
  const seenRoot = new Set<string>();
  const addRoot = (r: TsRoot) => {
    const key = `${r.module.abs}\0${r.thread}`;
    if (seenRoot.has(key)) return;
    seenRoot.add(key);
    entries.push(r);
  };
  const packageDirs = new Set<string>();
  for (const pkg of index.packages) {
    packageDirs.add(pkg.dir);
    let any = false;
    for (const e of pkg.entries) {
      const m = index.entry(pkg, e.target);
      if (!m) continue;
      any = true;
      addRoot({ module: m, kind: e.kind, thread: 'main', declared: { path: pkg.file.path, range: keyRange(pkg.file.text, e.key, e.target), message: ROOT_LABEL[e.kind] } });
    }
    if (!any) {
      const m = index.file(nodePath.join(pkg.dir, 'index')) ?? index.file(nodePath.join(pkg.dir, 'src', 'index'));
      if (m) addRoot({ module: m, kind: 'index', thread: 'main' });
    }
  }
  // A file without an extension is only analysed for its `#!` line: a script Node runs. A file
  // with an extension runs as a program when its `#!` line starts a runtime or it runs itself
  // when started directly (`require.main === module`, `import.meta.main`).
  for (const m of index.modules) {
    // An installed package's scripts and self-starting files are its own programs, not the workspace's.
    if (m.dependency !== undefined) continue;
    if (nodePath.extname(m.abs) === '') addRoot({ module: m, kind: 'script', thread: 'main', declared: { path: m.path, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 2 } }, message: ROOT_LABEL.script } });
    else {
      const entry = m.facts.find((f): f is TsEntryFact => f.kind === 'ts.entry');
      if (entry) addRoot({ module: m, kind: 'script', thread: 'main', declared: { path: m.path, range: entry.range, message: entry.how === 'shebang' ? `program entry point (its #! line runs it: ${entry.text.slice(2).trim()})` : `program entry point (it runs itself when started directly: ${entry.text})` } });
    }
  }
  for (const r of roots) {
    const dir = nodePath.resolve(r);
    if (packageDirs.has(dir)) continue;
    const m = index.file(nodePath.join(dir, 'index')) ?? index.file(nodePath.join(dir, 'src', 'index'));
    if (m) addRoot({ module: m, kind: 'index', thread: 'main' });
  }
  entries.sort((a, b) => (a.module.abs < b.module.abs ? -1 : a.module.abs > b.module.abs ? 1 : 0));
  const programs: TsProgram[] = [];
  const reached = new Set<TsModule>();
  const workers: TsRoot[] = [];
  const addProgram = (root: TsRoot) => {
    const modules = closure(root.module, imported);
    for (const x of modules) reached.add(x);
    programs.push({ root, modules });
    for (const x of modules) {
      for (const f of x.facts) {
        if (f.kind !== 'ts.worker') continue;
        const t = workerTarget(index, x, f);
        if (t) workers.push({ module: t, kind: 'worker', thread: 'worker', declared: { path: x.path, range: f.range, message: ROOT_LABEL.worker } });
      }
    }
  };
  for (const e of entries) addProgram(e);
  const selfWorkers = new Set<TsModule>();
  const drainWorkers = () => {
    for (let w = workers.shift(); w; w = workers.shift()) {
      if (w.declared && w.module.path === w.declared.path) selfWorkers.add(w.module);
      const key = `${w.module.abs}\0worker`;
      if (seenRoot.has(key)) continue;
      seenRoot.add(key);
      addProgram(w);
    }
  };
  drainWorkers();
  // Library roots: unreached modules no other unreached module imports first, then the rest.
  const rest = index.modules.filter((m) => !reached.has(m) && m.dependency === undefined);
  for (const m of libraryRootOrder(rest, imported)) {
    if (reached.has(m)) continue;
    addProgram({ module: m, kind: 'library', thread: 'main' });
    drainWorkers();
  }
  // A Worker script found only from a library root got a library program of its own first:
  // it runs only as a Worker (unless it starts itself with `new Worker(__filename)`).
  const workerRoots = new Set(programs.filter((p) => p.root.kind === 'worker').map((p) => p.root.module));
  return programs.filter((p) => !(p.root.kind === 'library' && workerRoots.has(p.root.module) && !selfWorkers.has(p.root.module)));
}

// ---------------------------------------------------------------------------------------
// Reached and hot code of one program
// ---------------------------------------------------------------------------------------

const API_ROOTS: ReadonlySet<TsRootKind> = new Set(['main', 'module', 'exports', 'index', 'library']);

function key(m: TsModule, id: string): string {
  return `${m.abs}#${id}`;
}

function threadOk(program: TsProgram, f: { thread?: 'main' | 'worker' }): boolean {
  return !f.thread || f.thread === program.root.thread;
}

interface Spread<P> {
  chain: ChainNode | undefined;
  payload: P;
}

/** Facts by the function that runs them, for the whole workspace (built once, shared by every program). */
class FunctionIndex {
  readonly factsByFn = new Map<string, { module: TsModule; fact: TsFact }[]>();
  readonly anonChildren = new Map<string, { module: TsModule; id: string }[]>();
  readonly heartbeatCallbacks = new Set<string>();
  private readonly targets = new Map<TsFact, FnRef | null>();

  constructor(
    modules: readonly TsModule[],
    private readonly symbols: Symbols,
  ) {
    for (const m of modules) {
      for (const f of m.facts) {
        if (f.kind === 'ts.function') {
          // Anonymous functions run when (and where) the code that holds them runs; so do the
          // methods of object literals (`new ReadableStream({ start(c) { … } })`), which have a
          // name but no id of their own.
          if (!f.name || (f.id.startsWith('@') && !f.className)) {
            const k = key(m, f.parent);
            const list = this.anonChildren.get(k) ?? [];
            list.push({ module: m, id: f.id });
            this.anonChildren.set(k, list);
          }
          continue;
        }
        const k = key(m, f.enclosingFunction);
        const list = this.factsByFn.get(k) ?? [];
        list.push({ module: m, fact: f });
        this.factsByFn.set(k, list);
        if (f.kind === 'ts.heartbeat' && f.callback) this.heartbeatCallbacks.add(key(m, f.callback));
      }
    }
  }

  private overridesByMethod?: Map<string, FnRef[]>;

  /**
   * The methods named `method` that a workspace class declares over a workspace base class
   * that declares it too (`class Ping extends Check { run() … }` over `Check.run`): what a call
   * of `method` on an object taken from a lookup table may run.
   */
  overrides(modules: readonly TsModule[], method: string): FnRef[] {
    if (!this.overridesByMethod) {
      this.overridesByMethod = new Map();
      for (const m of modules) {
        for (const f of m.facts) {
          if (f.kind !== 'ts.class') continue;
          const base = this.symbols.classNamed(m, f.base);
          if (!base) continue;
          for (const fn of m.functions.values()) {
            if (fn.className !== f.name || !fn.name || fn.name === 'constructor' || !base.module.functions.has(`${base.name}.${fn.name}`)) continue;
            const list = this.overridesByMethod.get(fn.name) ?? [];
            list.push({ module: m, id: fn.id });
            this.overridesByMethod.set(fn.name, list);
          }
        }
      }
    }
    return this.overridesByMethod.get(method) ?? [];
  }

  factsOf(k: string): readonly { module: TsModule; fact: TsFact }[] {
    return this.factsByFn.get(k) ?? [];
  }

  anonymousOf(k: string): readonly FnRef[] {
    return this.anonChildren.get(k) ?? [];
  }

  /** The function a call or registration runs, resolved once per fact. */
  target(m: TsModule, f: TsCallFact | TsRegisterFact): FnRef | undefined {
    let t = this.targets.get(f);
    if (t === undefined) {
      t = this.symbols.target(m, f) ?? null;
      this.targets.set(f, t);
    }
    return t ?? undefined;
  }
}

/** A registration that made code hot; its chain is turned into steps only for a finding. */
interface HotRegister {
  module: TsModule;
  fact: TsRegisterFact;
  chain: ChainNode | undefined;
  /** A heartbeat timer's own callback: hot for every heartbeat of the program but this one. */
  own?: { module: TsModule; fact: TsHeartbeatFact };
}

class ProgramRun {
  /** Function key → how the program reaches it. */
  readonly reached = new Map<string, Spread<null>>();
  /** Function key → how the program reaches it along calls whose callee may arm a keep-alive (its summary `pings`). */
  readonly beating = new Map<string, Spread<null>>();
  /** Function key → how the program reaches it along calls whose callee may block the event loop. */
  readonly blocking = new Map<string, Spread<null>>();
  /** Function key → how it became hot (registration and calls). */
  readonly hot = new Map<string, Spread<HotRegister>>();
  /** Function key → how a heartbeat timer's callback reaches it (functions not otherwise hot). */
  readonly hotBeat = new Map<string, Spread<HotRegister>>();
  private readonly factsByFn: FunctionIndex['factsByFn'];
  private readonly anonChildren: FunctionIndex['anonChildren'];
  private readonly heartbeatCallbacks: FunctionIndex['heartbeatCallbacks'];

  constructor(
    private readonly program: TsProgram,
    private readonly index: ModuleIndex,
    private readonly fns: FunctionIndex,
    private readonly effects: TsCallEffects<TsModule>,
  ) {
    this.factsByFn = fns.factsByFn;
    this.anonChildren = fns.anonChildren;
    this.heartbeatCallbacks = fns.heartbeatCallbacks;
  }

  run(): void {
    const { program } = this;
    const root = program.root;
    const start = root.declared ? push(undefined, root.declared) : undefined;
    // Module top levels, in the order imports reach them (breadth first: shortest chains).
    const r = reach(root.module, (m) => this.index.edges(m).filter((e) => program.modules.has(e.to) && threadOk(program, e.edge)));
    const moduleChain = new Map<TsModule, ChainNode | undefined>();
    const work: { m: TsModule; id: string; chain: ChainNode | undefined; payload: null }[] = [];
    for (const m of r.order) {
      const v = r.via.get(m);
      const chain = v ? push(moduleChain.get(v.from), { path: v.from.path, range: v.edge.range, message: 'imported from here' }) : start;
      moduleChain.set(m, chain);
      work.push({ m, id: '', chain, payload: null });
    }
    if (API_ROOTS.has(root.kind)) {
      for (const f of root.module.functions.values()) {
        if (!f.exports?.length && !f.exportedClassMethod) continue;
        const step = { path: root.module.path, range: f.range, message: `exported: ${f.name ?? f.exports?.[0] ?? 'function'} may be called by users of the module` };
        work.push({ m: root.module, id: f.id, chain: push(start, step), payload: null });
      }
    }
    this.spread(work, this.reached, true);
    // The heartbeats and the blocking calls the program reaches, along the calls whose callee's
    // summary has the effect (the same first chains as above, worded through the summaries).
    this.spread(work, this.beating, true, 'pings');
    this.spread(work, this.blocking, true, 'blocksEventLoop');
    // Hot: the callbacks of reached registrations, and what they call.
    const hotWork: { m: TsModule; id: string; chain: ChainNode | undefined; payload: HotRegister }[] = [];
    for (const [k, { chain }] of this.reached) {
      for (const { module: m, fact } of this.factsByFn.get(k) ?? []) {
        if (fact.kind !== 'ts.register' || !threadOk(program, fact)) continue;
        const t = this.fns.target(m, fact);
        if (!t || this.heartbeatCallbacks.has(key(t.module, t.id))) continue;
        const register: HotRegister = { module: m, fact, chain };
        hotWork.push({ m: t.module, id: t.id, chain: push(chain, { path: m.path, range: fact.range, message: registeredWords(fact) }), payload: register });
      }
    }
    // Constructors are not followed here: what a hot path constructs is mostly created once
    // (singletons, lazy initialisation) and its constructor's start-up reads are not hot.
    this.spread(hotWork, this.hot, false, 'blocksEventLoop');
    // A heartbeat timer's callback runs again and again too: a blocking call there holds the
    // loop for the program's other heartbeats (a monitor's re-armed check beside socket.io).
    const beatWork: { m: TsModule; id: string; chain: ChainNode | undefined; payload: HotRegister }[] = [];
    for (const [k, { chain }] of this.reached) {
      for (const { module: m, fact } of this.factsByFn.get(k) ?? []) {
        if (fact.kind !== 'ts.heartbeat' || !fact.callback || !threadOk(program, fact)) continue;
        const register: TsRegisterFact = { kind: 'ts.register', range: fact.range, enclosingFunction: fact.enclosingFunction, context: 'interval', api: fact.api, target: fact.callback };
        const payload: HotRegister = { module: m, fact: register, chain, own: { module: m, fact } };
        beatWork.push({ m, id: fact.callback, chain: push(chain, { path: m.path, range: fact.range, message: registeredWords(register) }), payload });
      }
    }
    if (beatWork.length) {
      this.spread(beatWork, this.hotBeat, false, 'blocksEventLoop');
      for (const k of this.hot.keys()) this.hotBeat.delete(k);
    }
  }

  /**
   * Breadth-first spread along calls and anonymous children; keeps the first chain per function.
   * With `effect`, only into callees whose call-effect summary has it, each step saying so.
   */
  private spread<P>(start: { m: TsModule; id: string; chain: ChainNode | undefined; payload: P }[], into: Map<string, Spread<P>>, constructors: boolean, effect?: EffectKind): void {
    const effects = this.effects;
    const follows = (t: FnRef) => effect === undefined || effects.has(key(t.module, t.id), effect);
    const words = (fact: TsCallFact, t: FnRef, plain: string) => (effect === undefined ? plain : (effectStepWords(effects, fact, t, effect) ?? plain));
    const queue: { m: TsModule; id: string; chain: ChainNode | undefined; payload: P }[] = [];
    const add = (m: TsModule, id: string, chain: ChainNode | undefined, payload: P) => {
      const k = key(m, id);
      if (into.has(k) || !this.program.modules.has(m)) return;
      into.set(k, { chain, payload });
      queue.push({ m, id, chain, payload });
    };
    for (const w of start) add(w.m, w.id, w.chain, w.payload);
    for (let i = 0; i < queue.length; i++) {
      const w = queue[i];
      const k = key(w.m, w.id);
      for (const { module: m, fact } of this.factsByFn.get(k) ?? []) {
        if (fact.kind !== 'ts.call' || !threadOk(this.program, fact) || (fact.constructorCall && !constructors)) continue;
        if (fact.dispatch !== undefined) {
          for (const t of this.fns.overrides(this.index.modules, fact.dispatch)) {
            if (follows(t)) add(t.module, t.id, push(w.chain, { path: m.path, range: fact.range, message: words(fact, t, `called here on an object taken from a table: may run ${t.id}`) }), w.payload);
          }
          continue;
        }
        const t = this.fns.target(m, fact);
        if (t && follows(t)) add(t.module, t.id, push(w.chain, { path: m.path, range: fact.range, message: words(fact, t, fact.passedAsArgument ? 'passed here; it may be called later' : fact.constructorCall ? 'object created here' : 'called here') }), w.payload);
      }
      for (const c of this.anonChildren.get(k) ?? []) if (follows(c)) add(c.module, c.id, w.chain, w.payload);
    }
  }

  factsOf(k: string): { module: TsModule; fact: TsFact }[] {
    return this.factsByFn.get(k) ?? [];
  }
}

function registeredWords(f: TsRegisterFact): string {
  switch (f.context) {
    case 'request':
      return `request handler registered here (${f.api})`;
    case 'message':
      return `message handler registered here (${f.api})`;
    case 'interval':
      return `timer callback registered here (${f.api})`;
  }
}

// ---------------------------------------------------------------------------------------

/** The workspace's function index and call-effect summaries, built on first use (once per model). */
class LazyEffects {
  private fnIndex?: FunctionIndex;
  private readonly byThread = new Map<Thread, TsCallEffects<TsModule>>();

  constructor(
    private readonly index: ModuleIndex,
    private readonly symbols: Symbols,
  ) {}

  functions(): FunctionIndex {
    return (this.fnIndex ??= new FunctionIndex(this.index.modules, this.symbols));
  }

  /** The summaries of the functions on `thread` (facts of the other thread's `isMainThread` branch left out). */
  of(thread: Thread): TsCallEffects<TsModule> {
    let effects = this.byThread.get(thread);
    if (!effects) {
      const fns = this.functions();
      const modules = this.index.modules;
      effects = new TsCallEffects<TsModule>({ modules, factsOf: (k) => fns.factsOf(k), anonymousOf: (k) => fns.anonymousOf(k), target: (m, f) => fns.target(m, f), overrides: (method) => fns.overrides(modules, method) }, thread);
      this.byThread.set(thread, effects);
    }
    return effects;
  }
}

function analyse(index: ModuleIndex, programs: TsProgram[], lazy: LazyEffects): TsStarvedHeartbeat[] {
  const out = new Map<string, TsStarvedHeartbeat>();
  const beats = new Set<TsModule>();
  const blocks = new Set<TsModule>();
  const installed = new Set<string>();
  const dependencyPaths = new Set<string>();
  for (const m of index.modules) {
    if (m.dependency === undefined) continue;
    installed.add(m.dependency);
    dependencyPaths.add(m.path);
  }
  for (const m of index.modules) for (const f of m.facts) {
    if (f.kind === 'ts.heartbeat') beats.add(m);
    else if (f.kind === 'ts.blocking') blocks.add(m);
  }
  for (const program of programs) {
    // Cheap exit: a program without heartbeat or blocking facts has nothing to report.
    let hasBeat = false;
    let hasBlock = false;
    for (const m of program.modules) {
      hasBeat ||= beats.has(m);
      hasBlock ||= blocks.has(m);
    }
    if (!hasBeat || !hasBlock) continue;
    const run = new ProgramRun(program, index, lazy.functions(), lazy.of(program.root.thread));
    run.run();
    const heartbeats: TsHeartbeatEvent[] = [];
    for (const [k, { chain }] of run.beating) {
      for (const { module: m, fact } of run.factsOf(k)) {
        if (fact.kind !== 'ts.heartbeat' || !threadOk(program, fact)) continue;
        const steps = toSteps(chain);
        if (m.dependency !== undefined) {
          // A package's keep-alive the program's calls reach: reported with the workspace step that leads in.
          const step = [...steps].reverse().find((s) => !dependencyPaths.has(s.path));
          if (!step) continue;
          const how = step.message === 'imported from here' ? 'imports' : 'calls into';
          const anchor: TsStep = { ...step, message: `connection set up here: ${how} the installed package ${m.dependency}` };
          heartbeats.push({ module: m, fact, chain: steps, installed: { package: m.dependency, anchor, note: fact.note } });
          continue;
        }
        const pkg = fact.library !== undefined && fact.callback === undefined ? packageOfSpecifier(fact.library) : undefined;
        if (pkg !== undefined && installed.has(pkg)) {
          // With the package installed its own code decides: the keep-alive timer it holds.
          const timer = packageTimer(index, program, pkg, installed);
          if (!timer) continue;
          const anchor: TsStep = { path: m.path, range: fact.range, message: `connection created here (${fact.api})` };
          heartbeats.push({ module: timer.module, fact: timer.fact, chain: [...steps, anchor], installed: { package: pkg, anchor, note: fact.note } });
          continue;
        }
        heartbeats.push({ module: m, fact, chain: steps });
      }
    }
    // A connection's keep-alive first (a library's, modelled or installed: it is a heartbeat
    // whatever the code around it does), then the workspace's timers; each in source order.
    const rank = (h: TsHeartbeatEvent) => (h.installed || h.fact.callback === undefined ? 0 : 1);
    heartbeats.sort((a, b) => rank(a) - rank(b) || (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    const heartbeat: TsHeartbeatEvent | undefined = heartbeats[0];
    /** The first heartbeat that another timer's callback can starve (not one that runs that callback). */
    const otherThan = (own: { module: TsModule; fact: TsHeartbeatFact }) =>
      heartbeats.find((h) => h.fact !== own.fact && !(h.module === own.module && h.fact.callback !== undefined && h.fact.callback === own.fact.callback));
    if (!heartbeat) continue;
    for (const [k, { chain }] of run.blocking) {
      let hot = run.hot.get(k);
      let starved = heartbeat;
      if (!hot) {
        const beat = run.hotBeat.get(k);
        const other = beat?.payload.own ? otherThan(beat.payload.own) : undefined;
        if (beat && other) {
          hot = beat;
          starved = other;
        }
      }
      for (const { module: m, fact } of run.factsOf(k)) {
        // An installed package's own blocking calls are not the program's to fix.
        if (fact.kind !== 'ts.blocking' || !threadOk(program, fact) || m.dependency !== undefined) continue;
        const site = siteKey(m, fact);
        if (out.has(site)) continue;
        if (hot) {
          out.set(site, { program, heartbeat: starved, blocking: { module: m, fact, chain: toSteps(hot.chain) }, reason: { kind: 'registered', register: { module: hot.payload.module, fact: hot.payload.fact, chain: toSteps(hot.payload.chain) } } });
        } else if (fact.loop) {
          out.set(site, { program, heartbeat, blocking: { module: m, fact, chain: toSteps(chain) }, reason: { kind: 'loop', loop: fact.loop } });
        }
      }
    }
  }
  return [...out.values()];
}

/** The package a specifier of the knowledge tables names (`amqplib/callback_api` → `amqplib`, `@scope/x/y` → `@scope/x`). */
function packageOfSpecifier(specifier: string): string {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/**
 * The first keep-alive (in source order) in the code an installed package loads in this
 * program: its own files and the packages they import (a connection manager over the client
 * that holds the timer). A modelled library call inside those files stands in for a package
 * that is not installed.
 */
function packageTimer(index: ModuleIndex, program: TsProgram, pkg: string, installed: ReadonlySet<string>): { module: TsModule; fact: TsHeartbeatFact } | undefined {
  const start = [...program.modules].filter((m) => m.dependency === pkg);
  const seen = new Set<TsModule>(start);
  for (let i = 0; i < start.length; i++) {
    for (const e of index.edges(start[i])) {
      if (e.to.dependency === undefined || seen.has(e.to)) continue;
      seen.add(e.to);
      start.push(e.to);
    }
  }
  let best: { module: TsModule; fact: TsHeartbeatFact } | undefined;
  for (const m of seen) {
    for (const f of m.facts) {
      if (f.kind !== 'ts.heartbeat') continue;
      if (f.callback === undefined && (f.library === undefined || installed.has(packageOfSpecifier(f.library)))) continue;
      const e = { module: m, fact: f, chain: [] };
      if (!best || before(e, { ...best, chain: [] })) best = { module: m, fact: f };
    }
  }
  return best;
}

function before(a: TsEvent, b: TsEvent): boolean {
  if (a.module.abs !== b.module.abs) return a.module.abs < b.module.abs;
  return a.fact.range.start.line - b.fact.range.start.line < 0 || (a.fact.range.start.line === b.fact.range.start.line && a.fact.range.start.character < b.fact.range.start.character);
}

// ---------------------------------------------------------------------------------------

const CACHE = new WeakMap<readonly unknown[], { key: string; model: TypeScriptModel }>();

function contextKey(ctx: ProgramContext): string {
  return [ctx.roots.join('\u0001'), ctx.projectFiles.filter((p) => nodePath.basename(p.path) === 'package.json').map((p) => `${p.path}:${p.text}`).join('\u0001'), dependencyKey(ctx.dependencies)].join('\u0002');
}

/** What identifies the installed Node packages joined to the program (computed once per joined set). */
function dependencyKey(dependencies: ProgramDependencies | undefined): string {
  if (!dependencies?.nodePackages?.length) return '';
  let key = DEPENDENCY_KEYS.get(dependencies);
  if (key === undefined) {
    key = [...dependencies.files.map((f) => `${f.path}:${f.contentHash}`), ...(dependencies.nodeResolutions ?? []).map((r) => `${r.from}>${r.specifier}>${r.to}`)].join('\u0001');
    DEPENDENCY_KEYS.set(dependencies, key);
  }
  return key;
}

const DEPENDENCY_KEYS = new WeakMap<ProgramDependencies, string>();

/** The TypeScript model of a workspace, built once per evaluation (memoised on the context's `files` array). */
export function typescriptModel(ctx: ProgramContext): TypeScriptModel {
  const k = contextKey(ctx);
  const hit = CACHE.get(ctx.files);
  if (hit && hit.key === k) return hit.model;
  const model = buildTypeScriptModel(ctx);
  CACHE.set(ctx.files, { key: k, model });
  return model;
}

export function buildTypeScriptModel(ctx: ProgramContext): TypeScriptModel {
  const started = Date.now();
  const index = new ModuleIndex(ctx.files, ctx.projectFiles, ctx.dependencies);
  const symbols = new Symbols(index);
  const programs = index.modules.length ? buildPrograms(index, ctx.roots) : [];
  const lazy = new LazyEffects(index, symbols);
  const starved = analyse(index, programs, lazy);
  return {
    modules: index.modules,
    programs,
    starved,
    byPath: (p) => index.byPath(p),
    resolveSpecifier: (from, spec) => index.resolve(from, spec),
    resolveCallee: (from, callee) => symbols.callee(from, callee),
    callEffects: (thread) => lazy.of(thread),
    stats: { modules: index.modules.length, programs: programs.length, ms: Date.now() - started },
  };
}
