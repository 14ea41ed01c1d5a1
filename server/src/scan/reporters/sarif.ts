/**
 * SARIF 2.1.0 (OASIS), as GitHub code scanning and other viewers read it: the rules'
 * metadata on `tool.driver`, one result per finding with its evidence chain as
 * `relatedLocations`, paths relative to `%SRCROOT%` (the scan's cwd), fixes with edits.
 * Skipped files and analysis notes are `toolExecutionNotifications` of the invocation.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileUriOf, uriSegment } from '../../text/file-names';
import { docsUrl } from '../../engine/config';
import { UNUSED_SUPPRESSION_ID } from '../../engine/engine';
import type { Range } from '../../text/locations';
import type { Severity } from '../../analysis/results';
import { RULES } from '../../rules/index';
import { fingerprintOf, PRODUCT_COMMAND, PRODUCT_NAME, PRODUCT_URI, PRODUCT_VERSION, type ReportContext, type ReportInput } from './common';
import { ruleDocText } from '../rule-docs';

/** The key of the finding fingerprint in `partialFingerprints` (the one baselines match on). */
export const FINGERPRINT_KEY = 'hazardLensFingerprint/v1';

/**
 * GitHub code scanning's `security-severity` (CVSS-like, 0.1–10) per default severity: it
 * sorts the alerts as critical (9+), high (7+), medium (4+) or low.
 */
const SECURITY_SEVERITY: Record<Severity, string> = { error: '7.5', warning: '5.0', info: '3.0', hint: '1.0' };

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const SRCROOT = '%SRCROOT%';

type SarifLevel = 'error' | 'warning' | 'note';

const LEVELS: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note', hint: 'note' };

const LANGUAGE_NAMES: Record<string, string> = { c: 'C', python: 'Python', typescript: 'TypeScript' };

export interface SarifRegion {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}

export interface SarifArtifactLocation {
  uri: string;
  uriBaseId?: string;
}

export interface SarifPhysicalLocation {
  artifactLocation: SarifArtifactLocation;
  region?: SarifRegion;
}

export interface SarifMessage {
  text: string;
}

export interface SarifReportingDescriptor {
  id: string;
  name: string;
  shortDescription: SarifMessage;
  fullDescription: SarifMessage;
  helpUri: string;
  help: SarifMessage & { markdown?: string };
  defaultConfiguration: { level: SarifLevel; enabled?: boolean };
  properties: { tags: string[]; precision?: string; family?: string; 'security-severity'?: string };
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  locations: { physicalLocation: SarifPhysicalLocation }[];
  relatedLocations?: { id: number; physicalLocation: SarifPhysicalLocation; message: SarifMessage }[];
  codeFlows?: { message: SarifMessage; threadFlows: { locations: { location: { physicalLocation: SarifPhysicalLocation; message: SarifMessage } }[] }[] }[];
  fixes?: {
    description: SarifMessage;
    artifactChanges: { artifactLocation: SarifArtifactLocation; replacements: { deletedRegion: SarifRegion; insertedContent: { text: string } }[] }[];
  }[];
  partialFingerprints: Record<string, string>;
  properties: { severity: Severity };
}

export interface SarifNotification {
  level: SarifLevel;
  message: SarifMessage;
  locations?: { physicalLocation: SarifPhysicalLocation }[];
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; semanticVersion: string; informationUri: string; rules: SarifReportingDescriptor[] } };
    originalUriBaseIds: Record<string, { uri: string; description?: SarifMessage }>;
    columnKind: 'utf16CodeUnits';
    invocations: { executionSuccessful: boolean; toolExecutionNotifications: SarifNotification[] }[];
    automationDetails: { id: string };
    results: SarifResult[];
  }[];
}

/** `unreleased-file` → `UnreleasedFile` (SARIF wants a readable identifier in `name`). */
function pascalName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

function withPeriod(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Tags as given, plus GitHub code scanning's spelling of CWE ids (`external/cwe/cwe-775`). */
function sarifTags(family: string, tags: readonly string[]): string[] {
  const out = [family, ...tags];
  for (const t of tags) {
    const cwe = /^CWE-(\d+)$/i.exec(t);
    if (cwe) out.push(`external/cwe/cwe-${cwe[1]}`);
  }
  return out;
}

function describeRules(ctx: ReportContext): SarifReportingDescriptor[] {
  const out: SarifReportingDescriptor[] = RULES.map((r) => {
    const langs = r.meta.languages.map((l) => LANGUAGE_NAMES[l] ?? l).join(', ');
    const fixes = r.meta.fixes.length ? ` Fixes offered: ${r.meta.fixes.join(', ')}.` : '';
    const configured = ctx.config.rules[r.meta.id];
    const level = configured && configured !== 'off' ? configured : r.meta.defaultSeverity;
    return {
      id: r.meta.id,
      name: pascalName(r.meta.id),
      shortDescription: { text: withPeriod(r.meta.summary) },
      fullDescription: { text: `${withPeriod(r.meta.summary)} Languages: ${langs}.${fixes}${r.meta.preview ? ' Preview quality.' : ''}` },
      helpUri: docsUrl(r.meta.id, ctx.config),
      help: {
        text: `${withPeriod(r.meta.summary)} Documentation: ${docsUrl(r.meta.id, ctx.config)}`,
        markdown: ruleDocText(r.meta.id) ?? `${withPeriod(r.meta.summary)} [Documentation](${docsUrl(r.meta.id, ctx.config)})`,
      },
      defaultConfiguration: { level: LEVELS[level], ...(configured === 'off' ? { enabled: false } : {}) },
      properties: {
        tags: sarifTags(r.meta.family, r.meta.tags),
        precision: r.meta.preview ? 'medium' : 'high',
        family: r.meta.family,
        'security-severity': SECURITY_SEVERITY[r.meta.defaultSeverity],
      },
    };
  });
  out.push({
    id: UNUSED_SUPPRESSION_ID,
    name: pascalName(UNUSED_SUPPRESSION_ID),
    shortDescription: { text: 'A hazard-lens suppression comment suppresses nothing.' },
    fullDescription: {
      text: 'A hazard-lens suppression comment suppresses nothing: no finding of the rules it names is on the line (or in the file) it covers, or it names an unknown rule.',
    },
    helpUri: docsUrl(UNUSED_SUPPRESSION_ID, ctx.config),
    help: { text: `Remove the comment, or correct the rule id. Documentation: ${docsUrl(UNUSED_SUPPRESSION_ID, ctx.config)}` },
    defaultConfiguration: { level: 'note', ...(ctx.config.reportUnusedSuppressions ? {} : { enabled: false }) },
    properties: { tags: ['maintainability'], precision: 'very-high' },
  });
  return out;
}

function region(r: Range): SarifRegion {
  return { startLine: r.start.line + 1, startColumn: r.start.character + 1, endLine: r.end.line + 1, endColumn: r.end.character + 1 };
}

function artifact(ctx: ReportContext, filePath: string): SarifArtifactLocation {
  const rel = path.relative(ctx.cwd, filePath);
  if (rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)) {
    return { uri: rel.split(path.sep).map(uriSegment).join('/'), uriBaseId: SRCROOT };
  }
  return { uri: fileUriOf(filePath) };
}

function directoryUri(dir: string): string {
  const href = pathToFileURL(dir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

export function buildSarif(input: ReportInput, ctx: ReportContext): SarifLog {
  const rules = describeRules(ctx);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results: SarifResult[] = input.findings.map((f) => {
    const result: SarifResult = {
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId) ?? -1,
      level: LEVELS[f.severity],
      message: { text: f.message },
      locations: [{ physicalLocation: { artifactLocation: artifact(ctx, f.path), region: region(f.range) } }],
      partialFingerprints: { [FINGERPRINT_KEY]: fingerprintOf(ctx, f) },
      properties: { severity: f.severity },
    };
    if (f.related.length) {
      result.relatedLocations = f.related.map((r, i) => ({
        id: i + 1,
        physicalLocation: { artifactLocation: artifact(ctx, r.path), region: region(r.range) },
        message: { text: r.message },
      }));
    }
    // NOTE: an evidence chain of three or more steps, or one that crosses files, is an ordered
    // path through the program (thread start -> import -> fork -> child call); SARIF viewers
    // show a codeFlow as a step-by-step trace, so it is given as one besides the related locations.
    if (f.related.length >= 3 || f.related.some((r) => r.path !== f.path)) {
      result.codeFlows = [
        {
          message: { text: f.message },
          threadFlows: [
            {
              locations: f.related.map((r) => ({
                location: { physicalLocation: { artifactLocation: artifact(ctx, r.path), region: region(r.range) }, message: { text: r.message } },
              })),
            },
          ],
        },
      ];
    }
    const fixes = f.fixes.filter((x) => x.applicability !== 'display-only' && x.edits.length > 0);
    if (fixes.length) {
      result.fixes = fixes.map((x) => ({
        description: { text: `${x.title} (${x.applicability} fix)` },
        artifactChanges: [
          {
            artifactLocation: artifact(ctx, f.path),
            replacements: x.edits.map((e) => ({ deletedRegion: region(e.range), insertedContent: { text: e.newText } })),
          },
        ],
      }));
    }
    return result;
  });
  const notifications: SarifNotification[] = [
    ...input.skipped.map((s) => ({
      level: 'note' as const,
      message: { text: `Skipped: ${s.reason}.` },
      locations: [{ physicalLocation: { artifactLocation: artifact(ctx, s.path) } }],
    })),
    ...(input.notes ?? []).map((n) => ({
      level: 'warning' as const,
      message: { text: withPeriod(n.note) },
      ...(n.path ? { locations: [{ physicalLocation: { artifactLocation: artifact(ctx, n.path) } }] } : {}),
    })),
  ];
  const version = ctx.version ?? PRODUCT_VERSION;
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: PRODUCT_NAME, version, semanticVersion: version, informationUri: PRODUCT_URI, rules } },
        originalUriBaseIds: { [SRCROOT]: { uri: directoryUri(ctx.cwd) } },
        columnKind: 'utf16CodeUnits',
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: notifications }],
        // The run's category: code scanning keeps one set of alerts per category.
        automationDetails: { id: `${PRODUCT_COMMAND}/` },
        results,
      },
    ],
  };
}

export function formatSarif(input: ReportInput, ctx: ReportContext): string {
  return `${JSON.stringify(buildSarif(input, ctx), null, 2)}\n`;
}
