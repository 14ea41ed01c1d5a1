/**
 * The baseline in the editor (`hazardLens.baseline`, a file written by `hazard-lens scan
 * --write-baseline`, relative to the workspace folder): findings it records are not shown,
 * matched as the CLI matches them (engine/baseline.ts: rule, file, whitespace-free text of the
 * finding's lines). The file is read again when its modification time changes; a file that
 * cannot be read or parsed is logged once and no finding is hidden.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseBaseline, withoutBaseline, type Baseline, type TextOf } from '../engine/baseline';
import type { Finding } from '../analysis/results';
import type { Logger } from './logger';

interface Loaded {
  stamp: string;
  baseline?: Baseline;
}

export class BaselineStore {
  private readonly loaded = new Map<string, Loaded>();
  private readonly told = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The baseline file a setting names, from the folder it is relative to; undefined when none. */
  static fileOf(setting: string, folder: string | undefined): string | undefined {
    if (!setting) return undefined;
    if (path.isAbsolute(setting)) return setting;
    return folder === undefined ? undefined : path.resolve(folder, setting);
  }

  /** The baseline of `file` and a key that changes when the file does ('' when there is none). */
  get(file: string | undefined): { baseline?: Baseline; key: string } {
    if (file === undefined) return { key: '' };
    let stamp: string;
    try {
      const st = fs.statSync(file);
      stamp = `${file}\0${st.mtimeMs}\0${st.size}`;
    } catch {
      this.tell(`${file}: the baseline file cannot be read; every finding is shown`);
      return { key: `${file}\0missing` };
    }
    const cached = this.loaded.get(file);
    if (cached?.stamp === stamp) return { baseline: cached.baseline, key: stamp };
    let baseline: Baseline | undefined;
    try {
      baseline = parseBaseline(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      this.tell(`${file}: ${e instanceof Error ? e.message : String(e)}; every finding is shown`);
    }
    this.loaded.set(file, { stamp, baseline });
    return { baseline, key: stamp };
  }

  /** The findings of one file that the baseline does not hold. */
  filter(findings: readonly Finding[], file: string | undefined, baseline: Baseline | undefined, textOf: TextOf): readonly Finding[] {
    if (!baseline || file === undefined || findings.length === 0) return findings;
    return withoutBaseline(findings, baseline, path.dirname(file), textOf).findings;
  }

  private tell(message: string): void {
    if (this.told.has(message)) return;
    this.told.add(message);
    this.logger.error(message);
  }
}
