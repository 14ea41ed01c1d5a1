/**
 * What a rule is. One file per rule under `rules/`, listed explicitly in `rules/index.ts`
 * (no glob discovery: typescript-eslint `rules/index.ts`, ruff `codes.rs`).
 */
import type { GrammarName, Tree } from '../parsing/parser';
import type { HazardLensConfig } from './config';
import type { FileAnalysis, Finding, FixApplicability, LanguageId, Severity } from './types';

export type RuleFamily = 'FORK' | 'FD' | 'LEAK' | 'HEARTBEAT';

export interface RuleMeta {
  /** Stable public id: docs URL, suppression comments, SARIF, settings. */
  id: string;
  family: RuleFamily;
  languages: LanguageId[];
  defaultSeverity: Severity;
  /** One sentence for hover, SARIF `shortDescription`, the README table. */
  summary: string;
  /** Fix applicabilities the rule can offer (declared; the test harness checks them). */
  fixes: FixApplicability[];
  /** CWE ids and other tags, e.g. `CWE-775`. */
  tags: string[];
  /** Shipped as preview quality (said so in its docs). */
  preview?: boolean;
}

/** Everything a per-file check may look at. The tree is only valid during the call. */
export interface FileContext {
  path: string;
  language: LanguageId;
  grammar: GrammarName;
  text: string;
  tree: Tree;
}

/** A finding before configuration (severity override, suppression) is applied. */
export type RawFinding = Omit<Finding, 'severity'> & { severity?: Severity };

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
  config: HazardLensConfig;
}

/** A non-source file of the workspace that the program model reads. */
export interface ProjectFile {
  path: string;
  text: string;
}

/** File names (basenames) collected as {@link ProjectFile}s; extensions via {@link PROJECT_FILE_EXTENSIONS}. */
export const PROJECT_FILE_NAMES = ['pyproject.toml', 'setup.cfg', 'compile_commands.json', 'package.json'];
export const PROJECT_FILE_EXTENSIONS = ['.ini', '.conf'];

export interface Rule {
  meta: RuleMeta;
  /** Findings that depend on this file alone; cached with the file's analysis. */
  checkFile?(ctx: FileContext): RawFinding[];
  /** Findings that need facts from several files. */
  checkProgram?(program: ProgramContext): RawFinding[];
}
