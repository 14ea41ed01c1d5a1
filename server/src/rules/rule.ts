/**
 * What a rule is: its identity (`RuleMeta`), what a per-file check sees (`FileContext`) and
 * the checks themselves; program checks read the program model's `ProgramContext`. One
 * file per rule under `rules/`, listed explicitly in `rules/index.ts` (no glob discovery:
 * typescript-eslint `rules/index.ts`, ruff `codes.rs`).
 */
import type { GrammarName, Tree } from '../parsing/parser';
import type { Finding, Severity } from '../analysis/results';
import type { ProgramContext } from '../model/program-context';
import type { FixApplicability } from '../text/edits';
import type { LanguageId } from '../text/locations';
import type { Knowledge } from '../knowledge/knowledge';

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
  /** The built-in tables merged with the user's models (`knowledge/knowledge.ts`). */
  knowledge: Knowledge;
}

/** A finding before configuration (severity override, suppression) is applied. */
export type RawFinding = Omit<Finding, 'severity'> & { severity?: Severity };

export interface Rule {
  meta: RuleMeta;
  /** Findings that depend on this file alone; cached with the file's analysis. */
  checkFile?(ctx: FileContext): RawFinding[];
  /** Findings that need facts from several files. */
  checkProgram?(program: ProgramContext): RawFinding[];
}
