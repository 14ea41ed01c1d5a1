/**
 * Findings → LSP diagnostics. Each diagnostic carries its fixes and the document version they
 * were computed for in `data` (ruff `AssociatedDiagnosticData`), so code actions are built from
 * the diagnostic the client sends back, with no server-side cache to keep in step.
 */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver';
import { docsUrl, type HazardLensConfig } from '../engine/config';
import { UNUSED_SUPPRESSION_ID } from '../engine/engine';
import type { Finding, Severity } from '../analysis/results';
import type { Fix } from '../text/edits';
import { ruleById } from '../rules/index';
import { pathToUri } from './paths';
import { DIAGNOSTIC_SOURCE } from './protocol';

export interface DiagnosticData {
  ruleId: string;
  /** Version of the document the fixes' edits apply to; undefined for files that are not open. */
  version?: number;
  fixes: Fix[];
  /** For unused suppressions: the rule id the comment names. */
  suppressedRuleId?: string;
  /**
   * For a file analysed from disk (no version): the content hash of the text its fixes apply
   * to, so an open document whose text is still that text gets them before its own pass.
   */
  contentHash?: string;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function isDiagnosticData(value: unknown): value is DiagnosticData {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.ruleId === 'string' &&
    Array.isArray(v.fixes) &&
    (v.version === undefined || typeof v.version === 'number') &&
    (v.contentHash === undefined || typeof v.contentHash === 'string')
  );
}

/** Rule ids that have a documentation page: every registered rule and the engine's own hint. */
export function hasDocs(ruleId: string): boolean {
  return ruleId === UNUSED_SUPPRESSION_ID || ruleById(ruleId) !== undefined;
}

/**
 * Converts one finding. `uriOf` maps a finding path to a URI (the open document's own URI for
 * its path, so related locations point at the buffer the user sees).
 */
export function toDiagnostic(
  finding: Finding,
  config: HazardLensConfig,
  version: number | undefined,
  uriOf: (path: string) => string,
  contentHash?: string,
): Diagnostic {
  const unused = finding.ruleId === UNUSED_SUPPRESSION_ID;
  const data: DiagnosticData = { ruleId: finding.ruleId, version, fixes: finding.fixes };
  if (version === undefined && contentHash !== undefined) data.contentHash = contentHash;
  if (unused) {
    // NOTE: the engine words both unused-suppression messages with the rule id as the first
    // quoted name; the finding has no separate field for it.
    const named = /'([^']+)'/.exec(finding.message);
    if (named) data.suppressedRuleId = named[1];
  }
  const related: DiagnosticRelatedInformation[] = finding.related.map((r) => ({
    location: { uri: uriOf(r.path), range: r.range },
    message: r.message || 'related location',
  }));
  const diagnostic: Diagnostic = {
    range: finding.range,
    severity: unused ? DiagnosticSeverity.Hint : SEVERITY[finding.severity],
    code: finding.ruleId,
    source: DIAGNOSTIC_SOURCE,
    message: finding.message.trim() || `${finding.ruleId}: hazard found here`,
    data,
  };
  if (hasDocs(finding.ruleId)) diagnostic.codeDescription = { href: docsUrl(finding.ruleId, config) };
  if (related.length > 0) diagnostic.relatedInformation = related;
  if (unused) diagnostic.tags = [DiagnosticTag.Unnecessary];
  return diagnostic;
}

/**
 * Converts the findings of one file; related paths equal to `path` map to `uri`, others
 * through `uriOfOther` (the open document's URI for an open file), by default `pathToUri`.
 */
export function toDiagnostics(
  findings: readonly Finding[],
  path: string,
  uri: string,
  config: HazardLensConfig,
  version?: number,
  uriOfOther: (path: string) => string = pathToUri,
  contentHash?: string,
): Diagnostic[] {
  const uriOf = (p: string) => (p === path ? uri : uriOfOther(p));
  return findings.map((f) => toDiagnostic(f, config, version, uriOf, contentHash));
}

/** Counts for the status bar: unused-suppression hints are housekeeping, not findings. */
export function countFindings(diagnostics: readonly Diagnostic[]): { findings: number; errors: number; warnings: number } {
  let findings = 0;
  let errors = 0;
  let warnings = 0;
  for (const d of diagnostics) {
    if (d.code === UNUSED_SUPPRESSION_ID) continue;
    findings++;
    if (d.severity === DiagnosticSeverity.Error) errors++;
    else if (d.severity === DiagnosticSeverity.Warning) warnings++;
  }
  return { findings, errors, warnings };
}
