/**
 * `--select`/`--ignore`: which rules run, by rule id or family (FORK, FD, HEARTBEAT, LEAK, as
 * in each rule's metadata), as ruff selects by code prefix. The rules left out are switched
 * `off` in the configuration, so they neither report nor offer fixes. `unused-suppression`
 * is selected by its id (it follows the configuration's `reportUnusedSuppressions`).
 */
import type { HazardLensConfig } from '../engine/config';
import { UNUSED_SUPPRESSION_ID } from '../engine/engine';
import { RULES } from '../rules/index';

export class SelectionError extends Error {}

function expand(selector: string, flag: string): string[] {
  const byId = RULES.find((r) => r.meta.id === selector);
  if (byId) return [byId.meta.id];
  if (selector === UNUSED_SUPPRESSION_ID) return [UNUSED_SUPPRESSION_ID];
  const family = RULES.filter((r) => r.meta.family === selector.toUpperCase());
  if (family.length > 0) return family.map((r) => r.meta.id);
  if (selector.toUpperCase() === 'ALL') return [...RULES.map((r) => r.meta.id), UNUSED_SUPPRESSION_ID];
  const families = [...new Set(RULES.map((r) => r.meta.family))];
  throw new SelectionError(
    `${flag}: unknown rule or family '${selector}' (families: ${families.join(', ')}; rules: ${[...RULES.map((r) => r.meta.id), UNUSED_SUPPRESSION_ID].join(', ')})`,
  );
}

/** The configuration with only the selected rules on; `select` undefined means every rule. */
export function selectRules(config: HazardLensConfig, select: readonly string[] | undefined, ignore: readonly string[]): HazardLensConfig {
  const chosen = new Set(select === undefined ? [...RULES.map((r) => r.meta.id), UNUSED_SUPPRESSION_ID] : select.flatMap((s) => expand(s, '--select')));
  for (const id of ignore.flatMap((s) => expand(s, '--ignore'))) chosen.delete(id);
  const rules = { ...config.rules };
  for (const r of RULES) if (!chosen.has(r.meta.id)) rules[r.meta.id] = 'off';
  return { ...config, rules, reportUnusedSuppressions: config.reportUnusedSuppressions && chosen.has(UNUSED_SUPPRESSION_ID) };
}
