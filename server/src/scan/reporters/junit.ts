/**
 * JUnit XML, as CI servers show test results: one test suite per file with findings, one
 * failing test case per finding (named by rule and line, the evidence chain in the body),
 * and a single passing case when there is no finding at all.
 */
import { displayPath, PRODUCT_COMMAND, type ReportContext, type ReportInput } from './common';
import type { Finding } from '../../analysis/results';

/** Escapes text for XML content and attributes; drops characters XML 1.0 cannot hold. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function testCase(ctx: ReportContext, file: string, f: Finding): string {
  const where = `${file}:${f.range.start.line + 1}:${f.range.start.character + 1}`;
  const chain = f.related.map((r) => `${displayPath(ctx.cwd, r.path)}:${r.range.start.line + 1}:${r.range.start.character + 1}: ${r.message}`);
  const body = [`${where}: ${f.severity} ${f.ruleId} ${f.message}`, ...chain].join('\n');
  return (
    `    <testcase classname="${xmlEscape(file)}" name="${xmlEscape(`${f.ruleId} at line ${f.range.start.line + 1}`)}" file="${xmlEscape(file)}" line="${f.range.start.line + 1}">\n` +
    `      <failure type="${xmlEscape(f.ruleId)}" message="${xmlEscape(f.message)}">${xmlEscape(body)}</failure>\n` +
    `    </testcase>\n`
  );
}

export function formatJunit(input: ReportInput, ctx: ReportContext): string {
  const byFile = new Map<string, Finding[]>();
  for (const f of input.findings) {
    const file = displayPath(ctx.cwd, f.path);
    byFile.set(file, [...(byFile.get(file) ?? []), f]);
  }
  const total = input.findings.length;
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${PRODUCT_COMMAND}" tests="${Math.max(total, 1)}" failures="${total}" errors="0">\n`;
  if (total === 0) {
    xml += `  <testsuite name="${PRODUCT_COMMAND}" tests="1" failures="0" errors="0">\n    <testcase classname="${PRODUCT_COMMAND}" name="no findings in ${input.analyses.length} files"/>\n  </testsuite>\n`;
  }
  for (const [file, findings] of byFile) {
    xml += `  <testsuite name="${xmlEscape(file)}" tests="${findings.length}" failures="${findings.length}" errors="0">\n`;
    for (const f of findings) xml += testCase(ctx, file, f);
    xml += `  </testsuite>\n`;
  }
  xml += `</testsuites>\n`;
  return xml;
}
