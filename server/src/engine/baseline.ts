/**
 * Baselines: the findings a project accepts for now (legacy code), so that only new findings
 * fail CI. A finding is matched by its rule, its file (relative to the baseline's folder) and a
 * fingerprint of the text of its line(s) with all whitespace removed: edits elsewhere in the
 * file that move it up or down, or re-indent it, do not make it new. Matching counts: a
 * baseline that holds a fingerprint twice absorbs two findings with it, not a third.
 * The same fingerprint is SARIF's `partialFingerprints` (reporters/sarif.ts).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Finding } from '../analysis/results';

export const BASELINE_VERSION = 1;

export interface BaselineEntry {
  rule: string;
  /** Relative to the baseline file's folder, with `/`. */
  path: string;
  fingerprint: string;
  /** One-based line when written (for people reading the file; not used to match). */
  line?: number;
  message?: string;
}

export interface Baseline {
  version: number;
  findings: BaselineEntry[];
}

/** The text of a file by path, or undefined when it cannot be read. */
export type TextOf = (file: string) => string | undefined;

/** The fingerprint of a finding: its rule and the text of its lines, whitespace removed. */
export function findingFingerprint(finding: Pick<Finding, 'ruleId' | 'range'>, text: string | undefined): string {
  const lines = text === undefined ? [] : text.split(/\r\n|\r|\n/).slice(finding.range.start.line, finding.range.end.line + 1);
  const content = lines.join('\n').replace(/\s+/g, '');
  return createHash('sha256').update(`${finding.ruleId}\0${content}`).digest('hex').slice(0, 32);
}

function relativeKey(base: string, file: string): string {
  return path.relative(base, file).split(path.sep).join('/');
}

const keyOf = (rule: string, file: string, fingerprint: string) => `${rule}\0${file}\0${fingerprint}`;

/** A baseline of `findings`, paths relative to `base` (the baseline file's folder). */
export function buildBaseline(findings: readonly Finding[], base: string, textOf: TextOf): Baseline {
  return {
    version: BASELINE_VERSION,
    findings: findings.map((f) => ({
      rule: f.ruleId,
      path: relativeKey(base, f.path),
      fingerprint: findingFingerprint(f, textOf(f.path)),
      line: f.range.start.line + 1,
      message: f.message,
    })),
  };
}

export function baselineText(baseline: Baseline): string {
  return `${JSON.stringify(baseline, null, 2)}\n`;
}

/** Reads a baseline document; throws an Error naming what is wrong. */
export function parseBaseline(text: string): Baseline {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const doc = data as { version?: unknown; findings?: unknown };
  if (typeof doc !== 'object' || doc === null || doc.version !== BASELINE_VERSION || !Array.isArray(doc.findings)) {
    throw new Error(`expected {"version": ${BASELINE_VERSION}, "findings": [...]} as written by --write-baseline`);
  }
  doc.findings.forEach((e: unknown, i: number) => {
    const entry = e as Partial<BaselineEntry> | null;
    if (!entry || typeof entry.rule !== 'string' || typeof entry.path !== 'string' || typeof entry.fingerprint !== 'string') {
      throw new Error(`findings[${i}]: expected "rule", "path" and "fingerprint" strings`);
    }
  });
  return doc as Baseline;
}

/** The findings the baseline does not hold (each baseline entry absorbs one finding), and how many it absorbed. */
export function withoutBaseline(findings: readonly Finding[], baseline: Baseline, base: string, textOf: TextOf): { findings: Finding[]; absorbed: number } {
  const left = new Map<string, number>();
  for (const e of baseline.findings) {
    const key = keyOf(e.rule, e.path, e.fingerprint);
    left.set(key, (left.get(key) ?? 0) + 1);
  }
  const out: Finding[] = [];
  let absorbed = 0;
  for (const f of findings) {
    const key = keyOf(f.ruleId, relativeKey(base, f.path), findingFingerprint(f, textOf(f.path)));
    const n = left.get(key) ?? 0;
    if (n > 0) {
      left.set(key, n - 1);
      absorbed++;
    } else out.push(f);
  }
  return { findings: out, absorbed };
}
