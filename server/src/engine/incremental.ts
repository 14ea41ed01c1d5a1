/**
 * Incremental evaluation of one workspace (a language server folder): holds the current
 * analyses, and after some of them changed recomputes only what depends on them. Gives the
 * findings `evaluate()` (engine.ts) gives over the same files, in the same order.
 *
 * What is reused between two evaluations:
 * - per-file findings: they live in each {@link FileAnalysis} (computed once per content);
 * - a program rule's whole result, while no file of its `meta.languages` changed (and the
 *   roots, project files and configuration did not): a C edit does not rerun Python rules;
 * - inside a rule that reruns, the program models' own caches ({@link ModelCache}): the
 *   Python model replays only the programs whose modules can reach an edited module
 *   (`model/python.ts` `PythonModelCache`), the C model is rebuilt only when a C file changed.
 * Configured severities, suppressions and the final sort are redone each time (linear, cheap).
 *
 * Use (the language server, the benchmark, tests):
 *
 * ```ts
 * const ev = new IncrementalEvaluator(config, { roots: [folder], projectFiles });
 * for (const a of analyses) ev.update(a);      // or ev.setFiles(analyses)
 * ev.evaluate();                                // first evaluation: a full build
 * ev.update(analyzeText(path, editedText)!);    // one file edited (same path: keeps its place)
 * const r = ev.evaluate();                      // r.findings, r.byPath, r.changed, r.stats.ms
 * ev.remove(path);                              // a file deleted
 * ```
 *
 * To see inside the Python model's share of an evaluation (programs replayed and reused,
 * time per phase): `pythonModel({ files: ev.files(), roots, projectFiles, config, cache: ev.models }).stats`
 * right after `ev.evaluate()` (the same model object, not rebuilt).
 *
 * `r.changed` holds the paths whose findings differ from the previous evaluation (files that
 * were removed included), which is what a language server republishes. `r.stats` says what the
 * evaluation cost and what it reused.
 */
import { entryPointNotes } from '../model/python-project';
import { RULES } from '../rules/index';
import type { HazardLensConfig } from './config';
import { DEFAULT_CONFIG, ruleOffEverywhere } from './config';
import { finishFindings, runProgramRule, type Evaluation } from './engine';
import { MapModelCache, type ProgramContext, type ProgramDependencies, type ProjectFile } from '../model/program-context';
import type { FileAnalysis, Finding } from '../analysis/results';
import type { LanguageId } from '../text/locations';

export interface IncrementalResult extends Evaluation {
  /** Findings by path (paths without findings are absent). */
  byPath: ReadonlyMap<string, readonly Finding[]>;
  /** Paths whose findings changed since the previous evaluation (removed files included). */
  changed: ReadonlySet<string>;
  stats: {
    /** Wall time of this `evaluate()` call. */
    ms: number;
    files: number;
    /** Program rules that ran, and those whose previous result was reused. */
    rulesRun: string[];
    rulesReused: string[];
  };
}

interface RuleResult {
  stamp: string;
  findings: Finding[];
  note?: string;
}

export class IncrementalEvaluator {
  private readonly analyses = new Map<string, FileAnalysis>();
  private filesArray: FileAnalysis[] | undefined;
  /** Bumped when a file of the language is added, removed or changed. */
  private readonly versions = new Map<LanguageId, number>();
  /** Bumped when something every rule reads changes (roots, project files, configuration, file order). */
  private globalVersion = 0;
  private readonly ruleResults = new Map<string, RuleResult>();
  /**
   * The program models' caches of this workspace. Asking a model for `files()` with this cache
   * after `evaluate()` returns the model that evaluation used (no rebuild), e.g. for its stats:
   * `pythonModel({ files: ev.files(), roots, projectFiles, config, cache: ev.models }).stats`.
   */
  readonly models = new MapModelCache();
  private previous = new Map<string, readonly Finding[]>();
  /** The files the last `evaluate()` read. */
  private evaluated: readonly FileAnalysis[] | undefined;
  private roots: readonly string[];
  private projectFiles: readonly ProjectFile[];
  private dependencies: ProgramDependencies | undefined;

  constructor(
    private config: HazardLensConfig = DEFAULT_CONFIG,
    workspace: { roots?: readonly string[]; projectFiles?: readonly ProjectFile[] } = {},
  ) {
    this.roots = workspace.roots ?? [];
    this.projectFiles = workspace.projectFiles ?? [];
  }

  private bump(language: LanguageId): void {
    this.versions.set(language, (this.versions.get(language) ?? 0) + 1);
    this.filesArray = undefined;
  }

  /** Adds or replaces the analysis of a file (a replaced file keeps its place in the order). */
  update(analysis: FileAnalysis): void {
    const old = this.analyses.get(analysis.path);
    if (old === analysis) return;
    this.analyses.set(analysis.path, analysis);
    if (old && old.language !== analysis.language) this.bump(old.language);
    this.bump(analysis.language);
  }

  /** Forgets a file (deleted, excluded); its model caches go with the next evaluation. */
  remove(path: string): void {
    const old = this.analyses.get(path);
    if (!old) return;
    this.analyses.delete(path);
    this.bump(old.language);
  }

  /** Makes the held files exactly `files`, in that order (an unchanged file costs a lookup). */
  setFiles(files: readonly FileAnalysis[]): void {
    const paths = new Set(files.map((f) => f.path));
    for (const p of [...this.analyses.keys()]) if (!paths.has(p)) this.remove(p);
    for (const f of files) this.update(f);
    let i = 0;
    let sameOrder = true;
    for (const p of this.analyses.keys()) if (p !== files[i++].path) sameOrder = false;
    if (!sameOrder) {
      // Order is part of the input (ties in module lookup follow it): hold them in the new order.
      this.analyses.clear();
      for (const f of files) this.analyses.set(f.path, f);
      this.globalVersion++;
      this.filesArray = undefined;
    }
  }

  setProjectFiles(projectFiles: readonly ProjectFile[]): void {
    if (projectFiles === this.projectFiles) return;
    this.projectFiles = projectFiles;
    this.globalVersion++;
  }

  /** The installed packages joined to the program (a Python environment), or none. */
  setDependencies(dependencies: ProgramDependencies | undefined): void {
    if (dependencies === this.dependencies) return;
    this.dependencies = dependencies;
    this.globalVersion++;
  }

  setRoots(roots: readonly string[]): void {
    if (roots.length === this.roots.length && roots.every((r, i) => r === this.roots[i])) return;
    this.roots = roots;
    this.globalVersion++;
  }

  setConfig(config: HazardLensConfig): void {
    if (config === this.config) return;
    this.config = config;
    this.globalVersion++;
  }

  /**
   * What the last `evaluate()` said about one file: the analysis it evaluated and the raw
   * findings the program rules gave for it (before configuration and suppressions), so an
   * editor can publish a new version's own findings with these before evaluating again.
   */
  lastEvaluated(path: string): { analysis: FileAnalysis; programFindings: Finding[] } | undefined {
    const analysis = this.evaluated?.find((f) => f.path === path);
    if (!analysis) return undefined;
    const programFindings: Finding[] = [];
    for (const r of this.ruleResults.values()) for (const f of r.findings) if (f.path === path) programFindings.push(f);
    return { analysis, programFindings };
  }

  /** The held analyses, in order (the same array until something changes). */
  files(): readonly FileAnalysis[] {
    this.filesArray ??= [...this.analyses.values()];
    return this.filesArray;
  }

  /** Evaluates the held files, reusing what the changes since the last call did not touch. */
  evaluate(): IncrementalResult {
    const started = performance.now();
    const files = this.files();
    this.evaluated = files;
    const config = this.config;
    const program: ProgramContext = { files, roots: this.roots, projectFiles: this.projectFiles, config, cache: this.models, dependencies: this.dependencies };
    const raw: Finding[] = [];
    const notes: string[] = [];
    for (const f of files) raw.push(...f.localFindings);
    const rulesRun: string[] = [];
    const rulesReused: string[] = [];
    for (const rule of RULES) {
      if (!rule.checkProgram) continue;
      if (ruleOffEverywhere(config, rule.meta.id)) {
        this.ruleResults.delete(rule.meta.id);
        continue;
      }
      const stamp = `${this.globalVersion}|${rule.meta.languages.map((l) => this.versions.get(l) ?? 0).join(',')}`;
      let result = this.ruleResults.get(rule.meta.id);
      if (result?.stamp === stamp) rulesReused.push(rule.meta.id);
      else {
        result = { stamp, ...runProgramRule(rule, program) };
        this.ruleResults.set(rule.meta.id, result);
        rulesRun.push(rule.meta.id);
      }
      raw.push(...result.findings);
      if (result.note) notes.push(result.note);
    }
    notes.push(...entryPointNotes(this.projectFiles, files));
    // Installed packages are read, never reported on (as in `evaluate`).
    const inDependency = new Set(this.dependencies?.files.map((f) => f.path));
    const findings = finishFindings(inDependency.size ? raw.filter((f) => !inDependency.has(f.path)) : raw, files, config);
    const byPath = new Map<string, Finding[]>();
    for (const f of findings) {
      let list = byPath.get(f.path);
      if (!list) byPath.set(f.path, (list = []));
      list.push(f);
    }
    const changed = new Set<string>();
    for (const [p, list] of byPath) if (!sameFindings(this.previous.get(p), list)) changed.add(p);
    for (const p of this.previous.keys()) if (!byPath.has(p)) changed.add(p);
    this.previous = byPath;
    return { findings, notes, byPath, changed, stats: { ms: performance.now() - started, files: files.length, rulesRun, rulesReused } };
  }
}

function sameFindings(a: readonly Finding[] | undefined, b: readonly Finding[]): boolean {
  if (!a || a.length !== b.length) return false;
  if (a.every((f, i) => f === b[i])) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
