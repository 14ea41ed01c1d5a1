/** The report formats, by the name the CLI's `--format` takes. */
import type { ReportContext, ReportInput } from './common';
import { formatGithub } from './github';
import { formatGitlab } from './gitlab';
import { formatJunit } from './junit';
import { formatJson } from './json';
import { formatSarif } from './sarif';
import { formatText } from './text';

export const REPORT_FORMATS = ['text', 'json', 'sarif', 'github', 'gitlab', 'junit'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type ReportData = ReportInput;

/** Renders a scan result in the given format (the whole document, ending with a newline unless empty). */
export function formatReport(format: ReportFormat, input: ReportData, ctx: ReportContext): string {
  switch (format) {
    case 'text':
      return formatText(input, ctx);
    case 'json':
      return formatJson(input, ctx);
    case 'sarif':
      return formatSarif(input, ctx);
    case 'github':
      return formatGithub(input, ctx);
    case 'gitlab':
      return formatGitlab(input, ctx);
    case 'junit':
      return formatJunit(input, ctx);
  }
}

export type { ReportContext, ReportInput } from './common';
