/**
 * The whole program as the model and the program rules see it: every file's analysis, the
 * workspace roots, the project metadata files, the settings that change what the model
 * concludes, and the store where models keep what they computed between evaluations.
 */
import type { FileAnalysis } from '../analysis/results';
import type { Knowledge } from '../knowledge/knowledge';
import type { CPlatform } from '../knowledge/c-platforms';
import type { Range } from '../text/locations';

/**
 * The part of the user's configuration that the program model and the program rules read
 * (the engine's `HazardLensConfig` has these fields and more).
 */
export interface ProgramSettings {
  /** The Python version the code runs on, e.g. "3.12" (multiprocessing's default start method). */
  pythonVersion: string;
  /** Treat every program as possibly multi-threaded. */
  assumeMultithreaded: boolean;
  /** Report every descriptor opened without close-on-exec. */
  cloexecEverywhere: boolean;
  /** The platform C code is judged for: `#if` branches only compiled elsewhere are left out. */
  targetPlatform: CPlatform;
  /** The built-in tables merged with the user's models (`knowledge/knowledge.ts`). */
  knowledge: Knowledge;
}

/** Facts of the whole program (the workspace), for rules that connect evidence across files. */
export interface ProgramContext {
  files: readonly FileAnalysis[];
  /** Workspace roots (absolute) used to resolve imports; empty means "derive from the files". */
  roots: readonly string[];
  /**
   * Project metadata the program model reads besides source files: `pyproject.toml`,
   * `setup.cfg`, `compile_commands.json`, `package.json`, Apache/uWSGI configs. Collected by
   * the scanner (or the language server's workspace index); never executed.
   */
  projectFiles: readonly ProjectFile[];
  /** The settings the program model and the program rules read. */
  config: ProgramSettings;
  /**
   * The installed packages the workspace's code reaches (its Python environment): read-only
   * program parts. Their modules join the program model, but no finding is reported in
   * them; a rule whose evidence runs into a dependency reports at the workspace code that
   * leads there. Absent when the scan has no environment.
   */
  dependencies?: ProgramDependencies;
  /**
   * Where program models keep what they computed, across evaluations of the same workspace
   * (see {@link ModelCache}). Absent when a caller evaluates once without one.
   */
  cache?: ModelCache;
}

/**
 * A store for program models, owned by whoever evaluates: the batch `evaluate` makes one
 * per call (so the rules of that evaluation share each model), the language server's
 * `IncrementalEvaluator` keeps one per workspace folder for its whole life.
 *
 * How a model becomes incremental (the Python model, `model/python.ts` `PythonModelCache`,
 * is the worked example):
 * 1. Keep its state in the cache: `ctx.cache?.get('model:<name>', () => new MyModelCache())`;
 *    without a cache, build from scratch (memoised on `ctx.files`).
 * 2. Return the same model while `ctx.files` is the same array (several rules ask for it in
 *    one evaluation); on a new array, compare each file's `contentHash` (and `facts` identity)
 *    with the previous build to find the changed files.
 * 3. Key each derived part on the content hashes of exactly what it read (a module's own
 *    facts; a program's replay on the modules its root can reach), reuse parts whose inputs
 *    are unchanged, and recompute the rest. Anything that depends on the whole workspace (the
 *    set of paths, roots, project files, configuration) invalidates everything when it changes.
 * 4. Test that an incremental result equals a fresh build on edit sequences
 *    (`test/model/incremental.test.ts`).
 *
 * Rules built on a model get the benefit for free. A rule's whole `checkProgram` result is
 * also reused by the incremental evaluator while no file of the rule's `meta.languages`
 * changed: a program rule must read only the facts of the languages it declares.
 */
export interface ModelCache {
  /** The value stored under `key`, made by `make` the first time. */
  get<T>(key: string, make: () => T): T;
}

/** A {@link ModelCache} backed by a map. */
export class MapModelCache implements ModelCache {
  private readonly values = new Map<string, unknown>();
  get<T>(key: string, make: () => T): T {
    if (!this.values.has(key)) this.values.set(key, make());
    return this.values.get(key) as T;
  }
  clear(): void {
    this.values.clear();
  }
}

/**
 * The part of a Python environment (`scan/python-environment.ts`) and of a Node project's
 * `node_modules` (`scan/node-modules.ts`) a scan joined to the program.
 */
export interface ProgramDependencies {
  /** Analyses of the dependency files reached from the workspace's imports (Python and Node). */
  files: readonly FileAnalysis[];
  /** The environment's `site-packages` folders (source roots of the dependency modules). */
  sitePackages: readonly string[];
  distributions: readonly DependencyDistribution[];
  pluginLinks: readonly DependencyPluginLink[];
  /** The `node_modules` packages whose files are among {@link files}; absent without Node dependencies. */
  nodePackages?: readonly NodeDependencyPackage[];
  /** How the bare specifiers of workspace and dependency files resolved into those packages. */
  nodeResolutions?: readonly NodeResolution[];
}

/** An installed npm package, from its `package.json`. */
export interface NodeDependencyPackage {
  name: string;
  version: string;
  /** Its folder (absolute, as found: `…/node_modules/<name>`). */
  dir: string;
}

/** `from` (absolute) loads `to` (absolute, a file of a {@link NodeDependencyPackage}) by the bare `specifier`. */
export interface NodeResolution {
  from: string;
  specifier: string;
  to: string;
}

/**
 * One set of dependencies from a Python join and a Node join (either may be absent); the same
 * object again for the same two parts, so an evaluator that compares by identity sees no change.
 */
export function combinedDependencies(python: ProgramDependencies | undefined, node: ProgramDependencies | undefined): ProgramDependencies | undefined {
  if (!python || !node) return python ?? node;
  const held = COMBINED.get(python);
  if (held?.node === node) return held.value;
  const value: ProgramDependencies = { ...python, files: [...python.files, ...node.files], nodePackages: node.nodePackages, nodeResolutions: node.nodeResolutions };
  COMBINED.set(python, { node, value });
  return value;
}

const COMBINED = new WeakMap<ProgramDependencies, { node: ProgramDependencies; value: ProgramDependencies }>();

/** An installed distribution, from its `*.dist-info` (or `*.egg-info`) folder. */
export interface DependencyDistribution {
  /** As declared in its metadata (`oslo.messaging`). */
  name: string;
  version: string;
  sitePackages: string;
  metadataDir: string;
  /** The top-level packages and modules it installs (`oslo_messaging`). */
  topLevel: string[];
  /** Its plugin entry points (groups other than scripts): what a host loads by group name. */
  plugins: { group: string; name: string; module: string }[];
}

/** A file that names an entry-point group, so the group's plugin modules load in its program. */
export interface DependencyPluginLink {
  /** The file (absolute) that spells the group's name. */
  from: string;
  group: string;
  /** Where it spells it. */
  range: Range;
  /** Dotted modules that declare themselves for the group. */
  modules: string[];
}

/** The name a distribution is compared by (PEP 503: case and `-_.` runs do not matter). */
export function normalisedDistributionName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** A non-source file of the workspace that the program model reads. */
export interface ProjectFile {
  path: string;
  text: string;
}

/** File names (basenames) collected as {@link ProjectFile}s; extensions via {@link PROJECT_FILE_EXTENSIONS}. */
export const PROJECT_FILE_NAMES = ['pyproject.toml', 'setup.cfg', 'compile_commands.json', 'package.json'];
export const PROJECT_FILE_EXTENSIONS = ['.ini', '.conf'];
/** Folders whose `entry_points.txt` is a {@link ProjectFile} (built or installed Python distributions). */
export const PROJECT_METADATA_DIR_SUFFIXES = ['.egg-info', '.dist-info'];

