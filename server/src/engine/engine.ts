/**
 * Turns per-file analyses into the findings a user sees: program-level rules, configured
 * severities, suppressions, unused-suppression hints. Used alike by the CLI, the language
 * server and the tests.
 */
import { entryPointNotes } from '../model/python-project';
import { RULES } from '../rules/index';
import type { HazardLensConfig } from './config';
import { DEFAULT_CONFIG, reportsUnusedSuppressions, ruleOffEverywhere, rulesFor } from './config';
import { MapModelCache, type ModelCache, type ProgramContext, type ProgramDependencies, type ProjectFile } from '../model/program-context';
import { type Rule } from '../rules/rule';
import { applySuppressions } from './suppressions';
import type { FileAnalysis, Finding, Suppression } from '../analysis/results';
import { SEVERITY_ORDER } from '../analysis/results';

/** Pseudo-rule id under which suppressions that suppress nothing are reported. */
export const UNUSED_SUPPRESSION_ID = 'unused-suppression';

/** Program-level rules crashed on; surfaced by callers as notes, never thrown. */
export interface Evaluation {
  findings: Finding[];
  notes: string[];
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character ||
    (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) ||
    a.message.localeCompare(b.message)
  );
}

/** The workspace part of an evaluation's input. */
export interface WorkspaceInput {
  roots?: readonly string[];
  projectFiles?: readonly ProjectFile[];
  /** Where program models keep state between evaluations; a fresh one per call when absent. */
  cache?: ModelCache;
  /** Installed packages joined as read-only program parts (a scan's Python environment). */
  dependencies?: ProgramDependencies;
}

/**
 * Evaluates the rules over a set of files that form the workspace (or one file), from
 * scratch. The language server uses `IncrementalEvaluator` (`engine/incremental.ts`), which
 * gives the same findings while reusing what did not change.
 */
export function evaluate(files: readonly FileAnalysis[], config: HazardLensConfig = DEFAULT_CONFIG, workspace: WorkspaceInput = {}): Evaluation {
  const program: ProgramContext = {
    files,
    roots: workspace.roots ?? [],
    projectFiles: workspace.projectFiles ?? [],
    config,
    cache: workspace.cache ?? new MapModelCache(),
    dependencies: workspace.dependencies,
  };
  const notes: string[] = [];
  const raw: Finding[] = [];
  for (const f of files) raw.push(...f.localFindings);
  for (const rule of RULES) {
    if (!rule.checkProgram) continue;
    if (ruleOffEverywhere(config, rule.meta.id)) continue;
    const result = runProgramRule(rule, program);
    raw.push(...result.findings);
    if (result.note) notes.push(result.note);
  }
  notes.push(...entryPointNotes(program.projectFiles, files));
  // Dependencies are read, never reported on: a rule reports at the workspace code that leads there.
  const inDependency = new Set(workspace.dependencies?.files.map((f) => f.path));
  const reported = inDependency.size ? raw.filter((f) => !inDependency.has(f.path)) : raw;
  return { findings: finishFindings(reported, files, config), notes };
}

/** One program rule's findings (default severity applied), or the note saying it crashed. */
export function runProgramRule(rule: Rule, program: ProgramContext): { findings: Finding[]; note?: string } {
  try {
    return { findings: rule.checkProgram!(program).map((r) => ({ ...r, severity: r.severity ?? rule.meta.defaultSeverity })) };
  } catch (err) {
    return { findings: [], note: `rule ${rule.meta.id} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Applies configured severities and suppressions, adds unused-suppression hints, sorts. */
export function finishFindings(raw: readonly Finding[], files: readonly FileAnalysis[], config: HazardLensConfig): Finding[] {
  const configured: Finding[] = [];
  for (const f of raw) {
    // The finding's file's settings: a nested .hazard-lens.json decides for the files under it.
    const setting = rulesFor(config, f.path)[f.ruleId];
    if (setting === 'off') continue;
    configured.push(setting ? { ...f, severity: setting } : f);
  }
  const suppressions = new Map<string, Suppression[]>();
  for (const f of files) if (f.suppressions.length) suppressions.set(f.path, f.suppressions);
  const known = new Set(RULES.map((r) => r.meta.id));
  const { kept, unused } = applySuppressions(configured, suppressions, known);
  for (const u of unused) {
    // A marker that names no rule is a mistake, not a stale suppression: always said.
    if (!reportsUnusedSuppressions(config, u.path) && !u.namesNoRule) continue;
    // A suppression for a rule switched off in the settings is not "unused": it will matter
    // again when the rule is switched back on.
    if (!u.unknown && !u.namesNoRule && rulesFor(config, u.path)[u.ruleId] === 'off') continue;
    kept.push({
      ruleId: UNUSED_SUPPRESSION_ID,
      path: u.path,
      range: u.suppression.range,
      message: u.namesNoRule
        ? `Suppression names no rule, so it suppresses nothing: write the rule ids in brackets ('hazard-lens: ignore[rule-id]'), or 'ignore[*]' for every rule`
        : u.unknown
          ? `Suppression names unknown rule '${u.ruleId}', so it suppresses nothing`
          : `Suppression of '${u.ruleId}' is unused: no such finding on the ${u.suppression.scope === 'file' ? 'file' : 'line it covers'}`,
      severity: 'hint',
      related: [],
      fixes: [],
    });
  }
  kept.sort(compareFindings);
  return kept;
}

/** True when the finding is at or above the threshold. */
export function atLeast(finding: Finding, threshold: Finding['severity']): boolean {
  return SEVERITY_ORDER[finding.severity] >= SEVERITY_ORDER[threshold];
}
