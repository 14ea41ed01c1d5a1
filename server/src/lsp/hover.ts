/**
 * Hover over a diagnostic's range: what the rule is about (its summary), the severity it is
 * reported with, the remedies Hazard Lens suggests but never applies (display-only fixes: the
 * quick-fix menu hides the disabled actions that carry them), and a link to its documentation.
 * The diagnostic's own message is already in the editor's hover, so it is not repeated.
 */
import { DiagnosticSeverity, MarkupKind, type Diagnostic, type Hover, type Position, type Range } from 'vscode-languageserver';
import { docsUrl, type HazardLensConfig } from '../engine/config';
import { UNUSED_SUPPRESSION_ID } from '../engine/engine';
import { ruleById } from '../rules/index';
import { hasDocs, type DiagnosticData } from './diagnostics';
import { DIAGNOSTIC_SOURCE } from './protocol';

const SEVERITY_NAME: Record<DiagnosticSeverity, string> = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

export function contains(range: Range, position: Position): boolean {
  return before(range.start, position) && before(position, range.end);
}

function summaryOf(ruleId: string): string {
  if (ruleId === UNUSED_SUPPRESSION_ID) return 'A `hazard-lens: ignore[...]` comment that suppresses nothing: stale, or naming an unknown rule.';
  return ruleById(ruleId)?.meta.summary ?? 'A hazard found by Hazard Lens.';
}

function section(diagnostic: Diagnostic, config: HazardLensConfig): string {
  const ruleId = String(diagnostic.code);
  const severity = diagnostic.severity ? SEVERITY_NAME[diagnostic.severity] : 'warning';
  const lines = [`**Hazard Lens** \`${ruleId}\` (${severity})`, '', summaryOf(ruleId)];
  const remedies = ((diagnostic.data as Partial<DiagnosticData> | undefined)?.fixes ?? []).filter((f) => f.applicability === 'display-only');
  if (remedies.length > 0) {
    lines.push('', 'Remedies to apply by hand (they need a judgement Hazard Lens cannot make):');
    for (const fix of remedies) lines.push(`- ${fix.title}`);
  }
  if (hasDocs(ruleId)) lines.push('', `[Documentation for ${ruleId}](${docsUrl(ruleId, config)})`);
  return lines.join('\n');
}

/** The hover for `position`, from the diagnostics published for the document's current version. */
export function hoverAt(diagnostics: readonly Diagnostic[], position: Position, config: HazardLensConfig): Hover | null {
  const hits = diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE && d.code !== undefined && contains(d.range, position));
  if (hits.length === 0) return null;
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const d of hits) {
    const key = `${String(d.code)}:${d.severity ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    parts.push(section(d, config));
  }
  // The innermost range reads best when several overlap.
  const range = hits.reduce((a, b) => (before(a.range.start, b.range.start) && before(b.range.end, a.range.end) ? b : a)).range;
  return { contents: { kind: MarkupKind.Markdown, value: parts.join('\n\n---\n\n') }, range };
}
