/**
 * File discovery for the workspace scan.
 *
 * NOTE: this is a small walker of its own rather than a fast-glob pattern: a scan has to
 * prune directories named in nested `.gitignore` files before entering them, report
 * directories it cannot read (fast-glob either throws on the first one or drops it
 * silently) and stop at symbolic link loops, and all three need a hook on every directory.
 *
 * Rules, in order of precedence:
 * - paths named explicitly (a file or a directory given to the scan) are always taken, even
 *   when an ignore pattern matches them (ruff without `--force-exclude`, and what the editor
 *   does for the file you opened); `forceExclude` applies the patterns to them too;
 * - under a directory: `node_modules`, `.git`, `.hg`, `.svn` and Python environments (a folder
 *   holding `pyvenv.cfg`: its packages join as dependencies) are never entered; the scan's
 *   `exclude` patterns (gitignore syntax, relative to `excludeBase`) drop what they match;
 *   `.gitignore` files — in the walked directories and in their parents up to the repository
 *   root (the directory holding `.git`; without one, up to `cwd`) — and `.git/info/exclude`
 *   are honoured with git's precedence (a deeper file overrides a shallower one, a file in
 *   an ignored directory cannot be re-included);
 * - files are taken by extension; a file without one (`bin/deploy`) is taken when its first
 *   line (at most 256 bytes are read, binaries are left alone) is a `#!` line that runs
 *   Python or Node;
 * - symbolic links are followed while they stay inside the scanned directories (a link out of
 *   them is skipped with a reason unless `followExternalSymlinks`); every real directory and
 *   every real file is visited once.
 *   Real entries win over links to them, a link back to one of its own ancestors is
 *   reported as a loop, so a walk always ends;
 * - directories are read as bytes: a name that is not UTF-8 is kept with its bytes escaped
 *   (`text/file-names.ts`), so the file is opened and reported, not lost as "no such file".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { languageForFileAsync, languageForPath, SUPPORTED_EXTENSIONS } from '../parsing/parser';
import { mayBeScript } from '../parsing/shebang';
import { describeFsError } from '../engine/fs-errors';
import { fsPath, nameFromBytes, pathFromFs, shownPath } from '../text/file-names';
import { isPythonEnvironmentFolder } from './python-environment';

/** Directory names never entered below a scanned directory. */
export const ALWAYS_SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules', '.git', '.hg', '.svn']);

export interface WalkOptions {
  /** Absolute paths of the files and directories to scan. */
  roots: string[];
  cwd: string;
  respectGitignore: boolean;
  /** Patterns in gitignore syntax, relative to `excludeBase`. */
  excludes: string[];
  excludeBase: string;
  /** Apply ignore patterns to explicitly named paths as well. */
  forceExclude: boolean;
  /**
   * Follow symbolic links whose target lies outside every scanned directory (default: such a
   * link is skipped and reported, so a link to `/root` cannot make a scan read files there).
   */
  followExternalSymlinks?: boolean;
  signal?: AbortSignal;
}

export interface WalkResult {
  /** Absolute paths of the files to analyse, sorted. */
  files: string[];
  /** Entries that were not taken, with a reason (absolute paths, in walk order). */
  skipped: { path: string; reason: string }[];
}

/** A `.gitignore`-like file, anchored at the directory it applies to. */
interface Layer {
  base: string;
  matcher: Ignore;
  /** The file's lines; rules carry their line index as `mark`. */
  lines: string[];
  /** `exclude`: the scan's own patterns, which a `.gitignore` negation cannot undo. */
  kind: 'gitignore' | 'exclude';
}

function buildLayer(base: string, lines: string[], kind: Layer['kind'], without: ReadonlySet<number> = new Set()): Layer {
  const patterns = lines.flatMap((pattern, i) => (without.has(i) ? [] : [{ pattern, mark: String(i) }]));
  return { base, lines, kind, matcher: newMatcher().add(patterns) };
}

/**
 * The layer without the rules that ignore `dir` (itself or through a parent), so that a
 * directory named explicitly is scanned although an ignore file above it ignores it (a
 * scratch directory listed in the repository's .gitignore, say) while the file's other
 * rules (`*.gen.py`) still apply inside it.
 */
function layerVisibleFor(layer: Layer, dir: string): Layer {
  const rel = relativeInside(layer.base, dir);
  if (rel === undefined) return layer;
  const without = new Set<number>();
  let current = layer;
  for (let guard = 0; guard <= layer.lines.length; guard++) {
    const result = current.matcher.test(`${rel}/`);
    const mark = result.rule?.mark;
    if (!result.ignored || mark === undefined) return current;
    without.add(Number(mark));
    current = buildLayer(layer.base, layer.lines, layer.kind, without);
  }
  return current;
}

const CASE_INSENSITIVE_FS = process.platform === 'darwin' || process.platform === 'win32';

function newMatcher(): Ignore {
  return ignore({ ignorecase: CASE_INSENSITIVE_FS });
}

/** Path of `target` relative to `base` in the form `ignore` expects, or undefined when outside. */
function relativeInside(base: string, target: string): string | undefined {
  const rel = path.relative(base, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * Git's decision over stacked ignore files: the deepest file with an opinion wins. The
 * scan's own exclude patterns win over all of them.
 */
function ignoredByLayers(layers: readonly Layer[], target: string, isDirectory: boolean): boolean {
  let ignored = false;
  for (const layer of layers) {
    const rel = relativeInside(layer.base, target);
    if (rel === undefined) continue;
    const result = layer.matcher.test(isDirectory ? `${rel}/` : rel);
    if (layer.kind === 'exclude') {
      if (result.ignored) return true;
      continue;
    }
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

// The file system calls of the walk, on paths that may hold escaped bytes (`text/file-names.ts`).
const lstat = (p: string) => fs.promises.lstat(fsPath(p));
const stat = (p: string) => fs.promises.stat(fsPath(p));
const exists = (p: string) => fs.existsSync(fsPath(p));
async function realpath(p: string): Promise<string> {
  return pathFromFs(await fs.promises.realpath(fsPath(p), { encoding: 'buffer' }));
}

/** What a path that is not a regular file or directory is, from its stats or its directory entry. */
function kindOf(entry: Pick<fs.Stats | fs.Dirent, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>): string {
  if (entry.isFIFO()) return 'a named pipe (FIFO)';
  if (entry.isSocket()) return 'a socket';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

interface Candidate {
  path: string;
  real: string;
  viaLink: boolean;
}

interface PendingLink {
  path: string;
  /** Real path of the directory that holds the link. */
  parentReal: string;
  layers: Layer[];
}

class Walker {
  readonly skipped: { path: string; reason: string }[] = [];
  private readonly candidates: Candidate[] = [];
  private readonly visitedDirs = new Map<string, string>();
  private readonly pendingLinks: PendingLink[] = [];
  private readonly excludeLayer: Layer | undefined;
  /** Real paths of the scanned directories: where a followed link may lead. */
  private readonly rootDirectories: string[] = [];

  constructor(private readonly options: WalkOptions) {
    const patterns = options.excludes.filter((p) => p.trim().length > 0);
    this.excludeLayer = patterns.length ? buildLayer(options.excludeBase, patterns, 'exclude') : undefined;
  }

  private skip(p: string, reason: string): void {
    this.skipped.push({ path: p, reason });
  }

  private display(p: string): string {
    const rel = path.relative(this.options.cwd, p);
    return shownPath(rel === '' ? '.' : rel);
  }

  /** With `forceExclude`: a named path under `node_modules`, `.git`, ... (below cwd) is dropped too. */
  private insideSkippedDirectory(target: string): boolean {
    const rel = relativeInside(this.options.cwd, target);
    return rel !== undefined && rel.split('/').some((segment) => ALWAYS_SKIPPED_DIRECTORIES.has(segment));
  }

  private excluded(target: string, isDirectory: boolean, layers: readonly Layer[]): boolean {
    return ignoredByLayers(layers, target, isDirectory);
  }

  private async readLayer(file: string, base: string): Promise<Layer | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(fsPath(file), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') {
        this.skip(file, `cannot read it (${describeFsError(err)}); its patterns were not applied`);
      }
      return undefined;
    }
    return buildLayer(base, text.split(/\r?\n/), 'gitignore');
  }

  /**
   * Ignore files of the directories above a scan root, outermost first. For a directory
   * root, the rules that would ignore the root itself are left out (see {@link layerVisibleFor}).
   */
  private async ancestorLayers(dir: string, isDirectory: boolean): Promise<Layer[]> {
    const layers = this.excludeLayer ? [this.excludeLayer] : [];
    if (this.options.respectGitignore) layers.push(...(await this.gitignoreLayers(dir)));
    return isDirectory ? layers.map((layer) => layerVisibleFor(layer, dir)) : layers;
  }

  private async gitignoreLayers(dir: string): Promise<Layer[]> {
    const chain: string[] = [];
    let repoRoot: string | undefined;
    for (let d = path.dirname(dir); ; d = path.dirname(d)) {
      chain.push(d);
      if (exists(path.join(d, '.git'))) {
        repoRoot = d;
        break;
      }
      if (path.dirname(d) === d) break;
    }
    let dirs: string[];
    if (repoRoot !== undefined) dirs = chain;
    else {
      // Outside a repository, only the directories between cwd and the root count.
      const cwd = this.options.cwd;
      dirs = chain.filter((d) => d === cwd || relativeInside(cwd, d) !== undefined);
    }
    // A scan root that is itself the repository root has no parents to read.
    if (exists(path.join(dir, '.git'))) {
      dirs = [];
      repoRoot = dir;
    }
    const layers: Layer[] = [];
    if (repoRoot !== undefined) {
      const info = await this.readLayer(path.join(repoRoot, '.git', 'info', 'exclude'), repoRoot);
      if (info) layers.push(info);
    }
    for (const d of dirs.reverse()) {
      const layer = await this.readLayer(path.join(d, '.gitignore'), d);
      if (layer) layers.push(layer);
    }
    return layers;
  }

  async walkRoot(root: string): Promise<void> {
    let lst: fs.Stats;
    try {
      lst = await lstat(root);
    } catch (err) {
      this.skip(root, describeFsError(err));
      return;
    }
    let st = lst;
    if (lst.isSymbolicLink()) {
      try {
        st = await stat(root);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        this.skip(root, code === 'ENOENT' ? 'broken symbolic link' : describeFsError(err));
        return;
      }
    }
    let real: string;
    try {
      real = await realpath(root);
    } catch (err) {
      this.skip(root, describeFsError(err));
      return;
    }
    if (st.isDirectory()) {
      if (this.options.forceExclude && (this.insideSkippedDirectory(root) || this.excluded(root, true, await this.ancestorLayers(root, false)))) return;
      const layers = await this.ancestorLayers(root, true);
      if (this.visitedDirs.has(real)) return;
      this.visitedDirs.set(real, root);
      await this.walkDirectory(root, real, layers);
      return;
    }
    if (!st.isFile()) {
      this.skip(root, kindOf(st));
      return;
    }
    if (!(await languageForFileAsync(root))) {
      this.skip(root, `unsupported file type (analysed: ${supportedList()}, and scripts whose #! line runs python or node)`);
      return;
    }
    if (this.options.forceExclude) {
      if (this.insideSkippedDirectory(root) || this.excluded(root, false, await this.ancestorLayers(root, false))) return;
    }
    this.candidates.push({ path: root, real, viaLink: lst.isSymbolicLink() });
  }

  private async walkDirectory(dir: string, dirReal: string, inherited: Layer[]): Promise<void> {
    if (this.options.signal?.aborted) return;
    let entries: { name: string; entry: fs.Dirent<Buffer> }[];
    try {
      const read = await fs.promises.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' });
      entries = read.map((entry) => ({ name: nameFromBytes(entry.name), entry }));
    } catch (err) {
      this.skip(dir, `cannot read directory (${describeFsError(err)})`);
      return;
    }
    let layers = inherited;
    if (this.options.respectGitignore && entries.some((e) => e.name === '.gitignore' && !e.entry.isDirectory())) {
      const layer = await this.readLayer(path.join(dir, '.gitignore'), dir);
      if (layer) layers = [...inherited, layer];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirectories: { path: string; real: string }[] = [];
    for (const { name, entry } of entries) {
      const full = path.join(dir, name);
      if (entry.isSymbolicLink()) {
        await this.visitLink(full, dirReal, layers);
        continue;
      }
      if (entry.isDirectory()) {
        if (ALWAYS_SKIPPED_DIRECTORIES.has(name) || this.excluded(full, true, layers)) continue;
        // A Python environment's packages are the program's dependencies, not its sources.
        if (isPythonEnvironmentFolder(full)) continue;
        const real = path.join(dirReal, name);
        if (this.visitedDirs.has(real)) continue;
        this.visitedDirs.set(real, full);
        subdirectories.push({ path: full, real });
        continue;
      }
      const script = !languageForPath(full) && mayBeScript(full);
      if ((!script && !languageForPath(full)) || this.excluded(full, false, layers)) continue;
      if (script && !(entry.isFile() && (await languageForFileAsync(full)))) continue;
      if (entry.isFile()) {
        this.candidates.push({ path: full, real: path.join(dirReal, name), viaLink: false });
      } else {
        // Reading a FIFO would block the scan forever; devices and sockets are not source.
        this.skip(full, kindOf(entry));
      }
    }
    for (const sub of subdirectories) await this.walkDirectory(sub.path, sub.real, layers);
  }

  /** Records the real path of every scanned directory, before any link is judged against them. */
  async findRootDirectories(roots: readonly string[]): Promise<void> {
    for (const root of roots) {
      try {
        if ((await stat(root)).isDirectory()) this.rootDirectories.push(await realpath(root));
      } catch {
        // NOTE: walkRoot reports a root it cannot read.
      }
    }
  }

  /**
   * Whether a link's target leaves every scanned directory, in which case it is skipped with a
   * reason (unless `followExternalSymlinks`); the link path is what the reason names.
   */
  private leavesScannedFolders(link: string, real: string): boolean {
    if (this.options.followExternalSymlinks) return false;
    if (this.rootDirectories.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep))) return false;
    this.skip(link, `symbolic link to '${shownPath(real)}', outside the scanned folder (not followed; --follow-external-symlinks follows it)`);
    return true;
  }

  /** A symbolic link met inside a walked directory. Directories it points to are walked last. */
  private async visitLink(full: string, parentReal: string, layers: Layer[]): Promise<void> {
    let st: fs.Stats;
    try {
      st = await stat(full);
    } catch (err) {
      // A dangling link is reported only when it would have been analysed (by its extension).
      if (!languageForPath(full) || this.excluded(full, false, layers)) return;
      const code = (err as NodeJS.ErrnoException).code;
      this.skip(full, code === 'ENOENT' ? 'broken symbolic link' : describeFsError(err));
      return;
    }
    if (st.isDirectory()) {
      const name = path.basename(full);
      if (ALWAYS_SKIPPED_DIRECTORIES.has(name) || this.excluded(full, true, layers) || isPythonEnvironmentFolder(full)) return;
      this.pendingLinks.push({ path: full, parentReal, layers });
      return;
    }
    const script = !languageForPath(full) && mayBeScript(full);
    if ((!script && !languageForPath(full)) || this.excluded(full, false, layers)) return;
    if (!st.isFile()) {
      if (!script) this.skip(full, kindOf(st));
      return;
    }
    if (script && !(await languageForFileAsync(full))) return;
    let real: string;
    try {
      real = await realpath(full);
    } catch (err) {
      this.skip(full, describeFsError(err));
      return;
    }
    if (this.leavesScannedFolders(full, real)) return;
    this.candidates.push({ path: full, real, viaLink: true });
  }

  /** Follows the directory links collected so far (and those found inside them). */
  async followLinks(): Promise<void> {
    while (this.pendingLinks.length > 0) {
      if (this.options.signal?.aborted) return;
      this.pendingLinks.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const link = this.pendingLinks.shift()!;
      let real: string;
      try {
        real = await realpath(link.path);
      } catch (err) {
        this.skip(link.path, describeFsError(err));
        continue;
      }
      if (link.parentReal === real || link.parentReal.startsWith(real + path.sep) || real === path.parse(real).root) {
        this.skip(link.path, `symbolic link loop: it points to '${this.display(real)}', a directory that contains it`);
        continue;
      }
      if (this.leavesScannedFolders(link.path, real)) continue;
      const seenAs = this.visitedDirs.get(real);
      if (seenAs !== undefined) {
        this.skip(link.path, `symbolic link to a directory already scanned as '${this.display(seenAs)}'`);
        continue;
      }
      this.visitedDirs.set(real, link.path);
      await this.walkDirectory(link.path, real, link.layers);
    }
  }

  /** The files to analyse: one path per real file, real entries preferred over links. */
  result(): string[] {
    const byPath = (a: Candidate, b: Candidate) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
    const sorted = [...this.candidates].sort((a, b) => Number(a.viaLink) - Number(b.viaLink) || byPath(a, b));
    const chosen = new Map<string, Candidate>();
    const taken = new Set<string>();
    for (const c of sorted) {
      if (taken.has(c.path)) continue;
      taken.add(c.path);
      const first = chosen.get(c.real);
      if (first) {
        this.skip(c.path, `same file as '${this.display(first.path)}' (reached through a symbolic link)`);
        continue;
      }
      chosen.set(c.real, c);
    }
    return [...chosen.values()].map((c) => c.path).sort();
  }
}

function supportedList(): string {
  return SUPPORTED_EXTENSIONS.join(' ');
}

/** Finds the files a scan analyses, with the reasons for what it leaves out. */
export async function discoverFiles(options: WalkOptions): Promise<WalkResult> {
  const walker = new Walker(options);
  await walker.findRootDirectories(options.roots);
  for (const root of options.roots) {
    if (options.signal?.aborted) break;
    await walker.walkRoot(root);
  }
  await walker.followLinks();
  const files = walker.result();
  return { files, skipped: walker.skipped };
}
