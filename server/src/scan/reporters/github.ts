/**
 * GitHub Actions workflow commands: one annotation per finding,
 *   ::warning file=app/read.py,line=2,col=10,endLine=2,endColumn=14,title=unreleased-file::message
 * with the evidence chain on the following lines of the message. Errors become `::error`,
 * warnings `::warning`, info and hints `::notice`. Columns are only given for one-line
 * ranges (GitHub ignores them on multi-line annotations). The `file=` property carries the
 * real name (escaped as a property); the paths of the evidence lines are shown quoted with
 * escapes when they hold control characters, as in the text report.
 */
import type { Finding, Severity } from '../../analysis/results';
import { hasEscapedBytes, shownPath } from '../../text/file-names';
import { displayPath, type ReportContext, type ReportInput } from './common';

const COMMANDS: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice', hint: 'notice' };

/** Escaping of a command's message (the part after `::`). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escaping of a property value (`file=`, `title=`): the message escapes plus `:` and `,`. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function formatAnnotation(ctx: ReportContext, f: Finding): string {
  const start = f.range.start;
  const end = f.range.end;
  // A name that is not UTF-8 cannot be given to GitHub as it is: it is shown with escapes.
  const file = displayPath(ctx.cwd, f.path);
  const props: string[] = [`file=${escapeProperty(hasEscapedBytes(file) ? shownPath(file) : file)}`, `line=${start.line + 1}`];
  if (start.line === end.line) props.push(`col=${start.character + 1}`);
  props.push(`endLine=${end.line + 1}`);
  if (start.line === end.line) props.push(`endColumn=${end.character + 1}`);
  props.push(`title=${escapeProperty(f.ruleId)}`);
  const body = [
    f.message,
    ...f.related.map((r) => `  ${shownPath(displayPath(ctx.cwd, r.path))}:${r.range.start.line + 1}:${r.range.start.character + 1}: ${r.message}`),
  ].join('\n');
  return `::${COMMANDS[f.severity]} ${props.join(',')}::${escapeData(body)}`;
}

export function formatGithub(input: ReportInput, ctx: ReportContext): string {
  return input.findings.map((f) => `${formatAnnotation(ctx, f)}\n`).join('');
}
