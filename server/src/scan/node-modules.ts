/**
 * The `node_modules` folders a Node project's bare imports load from, and how a specifier
 * resolves there (issue #10, the Node half of "dependencies are program parts"): the program
 * model joins the installed packages the workspace's imports reach as read-only parts, the
 * way `python-environment.ts` joins a virtualenv's. Nothing is executed and no package is
 * listed wholesale: a specifier is looked up the way Node looks it up (the `node_modules`
 * folder of the importing file's folder and of each folder above it), and a package's entry
 * comes from its `package.json` (`exports`, else `main`, else `module`, else `index`).
 *
 * Only files that some import reaches are followed (`node-dependencies.ts` analyses them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';

/** The setting value that turns `node_modules` off. */
export const NO_NODE_MODULES = 'none';
/** At most this many dependency files are analysed for one scan (a note says when the closure was cut). */
export const MAX_NODE_DEPENDENCY_FILES = 2000;

/** Where bare specifiers are looked up. */
export interface NodeModulesLayout {
  /**
   * `detected`: as Node does, the `node_modules` of each folder from the importing file up to
   * the top of the file system; `setting`: only the folder the setting names (and the
   * `node_modules` nested in its packages).
   */
  foundBy: 'detected' | 'setting';
  /** With `setting`: the folder (absolute). */
  folder?: string;
  /** The `node_modules` folders that exist in or above the scanned roots (for notes and the evaluation cache). */
  folders: string[];
}

export type NodeModulesLookup = { layout?: NodeModulesLayout; error?: undefined } | { layout?: undefined; error: string };

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The `node_modules` folders in a root and above it, nearest first. */
function foldersAbove(root: string): string[] {
  const out: string[] = [];
  for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const nm = path.join(dir, 'node_modules');
      if (isDirectory(nm)) out.push(nm);
    }
    if (path.dirname(dir) === dir) break;
  }
  return out;
}

/**
 * Finds where bare imports load from: the setting (`nodeModules`, `--node-modules`) when given —
 * `none` turns it off, any other value must be a folder (an error otherwise, never ignored) —,
 * else Node's own lookup from each file upward. Undefined layout: nothing to join (no
 * `node_modules` in or above any root).
 */
export function findNodeModules(setting: string, roots: readonly string[], cwd: string): NodeModulesLookup {
  if (setting === NO_NODE_MODULES) return {};
  if (setting) {
    const folder = path.resolve(cwd, setting);
    if (!isDirectory(folder)) return { error: `the node_modules folder ${setting} is not a folder` };
    return { layout: { foundBy: 'setting', folder, folders: [folder] } };
  }
  const folders = [...new Set(roots.flatMap(foldersAbove))];
  return folders.length ? { layout: { foundBy: 'detected', folders } } : {};
}

/** A time stamp per `node_modules` folder: installing or removing a package changes it (the evaluation cache's key). */
export function nodeModulesFingerprint(layout: NodeModulesLayout): string {
  return layout.folders
    .map((f) => {
      try {
        return `${f}:${fs.statSync(f).mtimeMs}`;
      } catch {
        return `${f}:gone`;
      }
    })
    .join('\u0001');
}

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** `@scope/name/sub/path` → `{ name: '@scope/name', sub: 'sub/path' }`; undefined for relative, absolute, `node:` and built-in specifiers. */
export function bareSpecifier(specifier: string): { name: string; sub: string } | undefined {
  if (!specifier || specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#') || /^[a-z][\w+.-]*:/i.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const n = specifier.startsWith('@') ? 2 : 1;
  if (parts.length < n || parts.slice(0, n).some((p) => !p)) return undefined;
  const name = parts.slice(0, n).join('/');
  if (BUILTINS.has(name) || BUILTINS.has(specifier)) return undefined;
  return { name, sub: parts.slice(n).join('/') };
}

/** Extensions tried for a path written without one: JavaScript sources first, then TypeScript (never `.d.ts`). */
const EXTENSIONS = ['.js', '.cjs', '.mjs', '.jsx', '.ts', '.mts', '.cts', '.tsx'];
/** Files worth analysing: sources, not declarations, JSON or assets. */
const SOURCE = /\.(?:[cm]?js|jsx|[cm]?ts|tsx)$/;

function isSource(p: string): boolean {
  return SOURCE.test(p) && !/\.d\.[cm]?ts$/.test(p);
}

/** A path as a module file: itself, with an extension, or its folder's `index`. */
export function moduleFile(base: string): string | undefined {
  if (isSource(base) && isFile(base)) return base;
  for (const e of EXTENSIONS) if (isFile(base + e)) return base + e;
  for (const e of EXTENSIONS) {
    const f = path.join(base, 'index' + e);
    if (isFile(f)) return f;
  }
  return undefined;
}

/** Conditions read in `exports`, in the order a Node program meets them. */
const CONDITIONS = ['node', 'require', 'import', 'module', 'default'];

/** The target an `exports` value gives for one subpath key (conditions and arrays taken in order), or undefined. */
function conditional(v: unknown, depth = 0): string | undefined {
  if (depth > 8) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    for (const x of v) {
      const t = conditional(x, depth + 1);
      if (t) return t;
    }
    return undefined;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const c of CONDITIONS) {
      if (!(c in o)) continue;
      const t = conditional(o[c], depth + 1);
      if (t && isSource(t)) return t;
    }
    // Another condition (`browser`, `worker`, a bundler's): anything but types.
    for (const [k, x] of Object.entries(o)) {
      if (k === 'types' || CONDITIONS.includes(k)) continue;
      const t = conditional(x, depth + 1);
      if (t && isSource(t)) return t;
    }
  }
  return undefined;
}

/** The target `exports` maps `./sub` (or `.`) to, with `*` patterns. */
function exportsTarget(exports: unknown, sub: string): string | undefined {
  const key = sub ? `./${sub}` : '.';
  if (typeof exports === 'string' || Array.isArray(exports)) return key === '.' ? conditional(exports) : undefined;
  if (!exports || typeof exports !== 'object') return undefined;
  const map = exports as Record<string, unknown>;
  const keys = Object.keys(map);
  // A conditions object (no key starts with '.') stands for ".".
  if (!keys.some((k) => k.startsWith('.'))) return key === '.' ? conditional(map) : undefined;
  if (key in map) return conditional(map[key]);
  for (const k of keys.sort((a, b) => b.length - a.length)) {
    const star = k.indexOf('*');
    if (star < 0) continue;
    const prefix = k.slice(0, star);
    const suffix = k.slice(star + 1);
    if (!key.startsWith(prefix) || !key.endsWith(suffix) || key.length < prefix.length + suffix.length) continue;
    const t = conditional(map[k]);
    if (t) return t.split('*').join(key.slice(prefix.length, key.length - suffix.length));
  }
  return undefined;
}

/** What a package's `package.json` says (read once per folder for a run). */
export interface InstalledPackage {
  /** The package folder (as found, not the real path). */
  dir: string;
  /** Its `package.json`, when it has one. */
  manifest?: string;
  name: string;
  version: string;
  exports?: unknown;
  main?: string;
  module?: string;
}

/** Reads `node_modules/<name>/package.json` and resolves its files, memoising folder and file lookups for one run. */
export class NodeResolver {
  private readonly packages = new Map<string, InstalledPackage | null>();
  private readonly lookups = new Map<string, string | null>();

  constructor(private readonly layout: NodeModulesLayout) {}

  /** The package installed in folder `dir` (a `node_modules/<name>`), or undefined. */
  packageAt(dir: string, name: string): InstalledPackage | undefined {
    let p = this.packages.get(dir);
    if (p === undefined) {
      p = null;
      if (isDirectory(dir)) {
        const manifest = path.join(dir, 'package.json');
        let json: Record<string, unknown> = {};
        let has = false;
        try {
          json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
          has = true;
        } catch {
          // no (readable) package.json: the folder's index is the entry
        }
        p = {
          dir,
          manifest: has ? manifest : undefined,
          name: typeof json.name === 'string' ? json.name : name,
          version: typeof json.version === 'string' ? json.version : '0.0.0',
          exports: json.exports,
          main: typeof json.main === 'string' ? json.main : undefined,
          module: typeof json.module === 'string' ? json.module : undefined,
        };
      }
      this.packages.set(dir, p);
    }
    return p ?? undefined;
  }

  /** The `node_modules` folders a file looks in, nearest first (see {@link NodeModulesLayout.foundBy}). */
  private searchFolders(fromFile: string): string[] {
    const out: string[] = [];
    const limit = this.layout.folder;
    for (let dir = path.dirname(path.resolve(fromFile)); ; dir = path.dirname(dir)) {
      if (path.basename(dir) !== 'node_modules') {
        const nm = path.join(dir, 'node_modules');
        if (!limit || nm === limit || nm.startsWith(limit + path.sep)) out.push(nm);
      }
      if (path.dirname(dir) === dir) break;
    }
    if (limit && !out.includes(limit)) out.push(limit);
    return out;
  }

  /** The installed package a bare specifier written in `fromFile` names, or undefined. */
  findPackage(fromFile: string, name: string): InstalledPackage | undefined {
    for (const nm of this.searchFolders(fromFile)) {
      const p = this.packageAt(path.join(nm, name), name);
      if (p) return p;
    }
    return undefined;
  }

  /** The file a bare specifier written in `fromFile` loads (a source file), or undefined. */
  resolve(fromFile: string, specifier: string): { file: string; pkg: InstalledPackage } | undefined {
    const bare = bareSpecifier(specifier);
    if (!bare) return undefined;
    const pkg = this.findPackage(fromFile, bare.name);
    if (!pkg) return undefined;
    const key = `${pkg.dir}\0${bare.sub}`;
    let file = this.lookups.get(key);
    if (file === undefined) {
      file = this.entry(pkg, bare.sub) ?? null;
      this.lookups.set(key, file);
    }
    return file ? { file, pkg } : undefined;
  }

  private entry(pkg: InstalledPackage, sub: string): string | undefined {
    if (pkg.exports !== undefined) {
      const t = exportsTarget(pkg.exports, sub);
      // A package with `exports` exposes nothing else (Node refuses other subpaths).
      return t ? moduleFile(path.resolve(pkg.dir, t)) : undefined;
    }
    if (sub) return moduleFile(path.resolve(pkg.dir, sub));
    for (const t of [pkg.main, pkg.module]) {
      if (!t) continue;
      const f = moduleFile(path.resolve(pkg.dir, t));
      if (f) return f;
    }
    return moduleFile(path.join(pkg.dir, 'index'));
  }
}

/** The package folder a dependency file belongs to: the innermost `node_modules/<name>` (or `@scope/<name>`) above it. */
export function packageDirOf(file: string): string | undefined {
  const parts = path.resolve(file).split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length - 1) return undefined;
  const n = parts[at + 1].startsWith('@') ? 2 : 1;
  if (at + n >= parts.length - 1) return undefined;
  return parts.slice(0, at + 1 + n).join(path.sep);
}
