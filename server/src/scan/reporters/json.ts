/**
 * The JSON format: a stable, documented schema (bump `version` on any incompatible change).
 * Lines and columns are 1-based; columns count UTF-16 code units; `end` is exclusive.
 *
 *   { version: 1, tool: { name, version },
 *     findings: [{ ruleId, severity, path, range: { start: { line, column }, end: { line, column } },
 *                  message, related: [{ path, range, message }], fixes: [{ title, applicability }], docsUrl }],
 *     skipped: [{ path, reason }], fixed?: [{ path, applied }],
 *     summary: { files, skipped, findings, bySeverity: { error, warning, info, hint } } }
 */
import { docsUrl } from '../../engine/config';
import type { FixApplicability } from '../../text/edits';
import type { Range } from '../../text/locations';
import type { Severity } from '../../analysis/results';
import { countBySeverity, displayPath, partlyAnalysedFiles, PRODUCT_COMMAND, PRODUCT_VERSION, type ReportContext, type ReportInput } from './common';

export const JSON_REPORT_VERSION = 1;

export interface JsonRange {
  start: { line: number; column: number };
  end: { line: number; column: number };
}

export interface JsonFinding {
  ruleId: string;
  severity: Severity;
  path: string;
  range: JsonRange;
  message: string;
  related: { path: string; range: JsonRange; message: string }[];
  fixes: { title: string; applicability: FixApplicability }[];
  docsUrl: string;
}

export interface JsonReport {
  version: number;
  tool: { name: string; version: string };
  findings: JsonFinding[];
  skipped: { path: string; reason: string }[];
  /** Problems met while analysing (`path` is empty for the whole program); "partly analysed: ..." names a file whose findings may be incomplete. */
  notes: { path: string; note: string }[];
  fixed?: { path: string; applied: number }[];
  /** `partlyAnalysed`: files counted in `files` whose analysis stopped short somewhere. */
  summary: { files: number; partlyAnalysed: number; skipped: number; findings: number; bySeverity: Record<Severity, number> };
}

function jsonRange(r: Range): JsonRange {
  return {
    start: { line: r.start.line + 1, column: r.start.character + 1 },
    end: { line: r.end.line + 1, column: r.end.character + 1 },
  };
}

export function buildJsonReport(input: ReportInput, ctx: ReportContext): JsonReport {
  const rel = (p: string) => displayPath(ctx.cwd, p);
  const report: JsonReport = {
    version: JSON_REPORT_VERSION,
    tool: { name: PRODUCT_COMMAND, version: ctx.version ?? PRODUCT_VERSION },
    findings: input.findings.map((f) => ({
      ruleId: f.ruleId,
      severity: f.severity,
      path: rel(f.path),
      range: jsonRange(f.range),
      message: f.message,
      related: f.related.map((r) => ({ path: rel(r.path), range: jsonRange(r.range), message: r.message })),
      fixes: f.fixes.map((x) => ({ title: x.title, applicability: x.applicability })),
      docsUrl: docsUrl(f.ruleId, ctx.config),
    })),
    skipped: input.skipped.map((s) => ({ path: rel(s.path), reason: s.reason })),
    notes: (input.notes ?? []).map((n) => ({ path: n.path ? rel(n.path) : '', note: n.note })),
    ...(input.fixed ? { fixed: input.fixed.map((x) => ({ path: rel(x.path), applied: x.applied })) } : {}),
    summary: {
      files: input.analyses.length,
      partlyAnalysed: partlyAnalysedFiles(input).length,
      skipped: input.skipped.length,
      findings: input.findings.length,
      bySeverity: countBySeverity(input.findings),
    },
  };
  return report;
}

export function formatJson(input: ReportInput, ctx: ReportContext): string {
  return `${JSON.stringify(buildJsonReport(input, ctx), null, 2)}\n`;
}
