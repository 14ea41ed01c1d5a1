/**
 * The terminal format, one finding per line in the shape compilers use so editors and
 * terminals turn it into links:
 *
 *   app/read.py:2:10: warning unreleased-file Handle 'fh' from open() is not released ...
 *     app/read.py:2:10: opened here by open()
 *     app/read.py:4:9: returns here with the handle still open
 *     fix (safe): ...
 *
 * then a summary line with the counts per severity. A path with a newline or another control
 * character (or bytes that are not UTF-8) is shown quoted with escapes, so every finding
 * stays on its own lines.
 */
import { chooseFix } from '../../engine/fixes';
import type { Finding } from '../../analysis/results';
import { shownPath } from '../../text/file-names';
import type { Severity } from '../../analysis/results';
import { countBySeverity, displayPath, partlyAnalysedFiles, plural, type Colors, type ReportContext, type ReportInput } from './common';

function location(ctx: ReportContext, filePath: string, line: number, character: number): string {
  return `${shownPath(displayPath(ctx.cwd, filePath))}:${line + 1}:${character + 1}`;
}

function severityColor(c: Colors, severity: Severity): (s: string) => string {
  return severity === 'error' ? (s) => c.bold(c.red(s)) : severity === 'warning' ? (s) => c.bold(c.yellow(s)) : severity === 'info' ? c.blue : c.dim;
}

/** The lines of one finding; colour changes no character of the text, only adds escapes around words. */
export function formatFinding(ctx: ReportContext, f: Finding): string {
  const c = ctx.colors;
  const where = location(ctx, f.path, f.range.start.line, f.range.start.character);
  const lines = [
    c ? `${c.bold(where)}: ${severityColor(c, f.severity)(f.severity)} ${c.cyan(f.ruleId)} ${f.message}` : `${where}: ${f.severity} ${f.ruleId} ${f.message}`,
  ];
  for (const r of f.related) {
    const at = location(ctx, r.path, r.range.start.line, r.range.start.character);
    lines.push(`  ${c ? c.dim(at) : at}: ${r.message}`);
  }
  for (const fix of f.fixes) lines.push(c ? `  ${c.green(`fix (${fix.applicability})`)}: ${fix.title}` : `  fix (${fix.applicability}): ${fix.title}`);
  return lines.join('\n');
}

/** `fixRan`: the scan ran with `--fix`; fixes still offered then were refused (a note says why), not promised. */
export function summaryLine(input: ReportInput, fixRan = false): string {
  const counts = countBySeverity(input.findings);
  const partly = partlyAnalysedFiles(input).length;
  const files = `${plural(input.analyses.length, 'file')} analysed${partly ? ` (${partly} only partly)` : ''}${input.skipped.length ? `, ${input.skipped.length} skipped` : ''}`;
  const parts: string[] = [];
  if (input.findings.length === 0) parts.push(`No findings in ${files}.`);
  else {
    parts.push(
      `${plural(input.findings.length, 'finding')} (${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ` +
        `${counts.info} info, ${plural(counts.hint, 'hint')}) in ${files}.`,
    );
  }
  const fixable = input.findings.filter((f) => chooseFix(f, false)?.edits.length).length;
  if (fixable > 0) parts.push(fixRan ? `${plural(fixable, 'safe fix', 'safe fixes')} could not be applied (see the notes).` : `${plural(fixable, 'finding')} can be fixed with --fix.`);
  return parts.join(' ');
}

export function formatText(input: ReportInput, ctx: ReportContext): string {
  const blocks = input.findings.map((f) => formatFinding(ctx, f));
  if (ctx.summary !== false) {
    if (blocks.length > 0) blocks.push('');
    const line = summaryLine(input, ctx.fixRan === true);
    blocks.push(ctx.colors ? ctx.colors.bold(line) : line);
  }
  return blocks.length ? `${blocks.join('\n')}\n` : '';
}
