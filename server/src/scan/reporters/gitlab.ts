/**
 * GitLab Code Quality (a subset of the Code Climate format): a JSON array with one issue per
 * finding, its `fingerprint` the one baselines match on (so GitLab tells new issues from old
 * in merge requests), `location.lines.begin` one-based, severities mapped to GitLab's names.
 */
import type { Severity } from '../../analysis/results';
import { displayPath, fingerprintOf, type ReportContext, type ReportInput } from './common';

const SEVERITIES: Record<Severity, 'critical' | 'major' | 'minor' | 'info'> = { error: 'critical', warning: 'major', info: 'minor', hint: 'info' };

export function formatGitlab(input: ReportInput, ctx: ReportContext): string {
  const issues = input.findings.map((f) => ({
    description: `${f.ruleId}: ${f.message}`,
    check_name: f.ruleId,
    fingerprint: fingerprintOf(ctx, f),
    severity: SEVERITIES[f.severity],
    location: { path: displayPath(ctx.cwd, f.path), lines: { begin: f.range.start.line + 1, end: f.range.end.line + 1 } },
  }));
  return `${JSON.stringify(issues, null, 2)}\n`;
}
