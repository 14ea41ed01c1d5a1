/**
 * The explicit rule registry. Adding a rule = one file named after its id, one line here,
 * one docs page `docs/rules/<id>.md`, fixtures under `test/fixtures/rules/<id>/`.
 */
import type { Rule } from '../engine/rule';
import { unreleasedFile } from './unreleased-file';

export const RULES: readonly Rule[] = [unreleasedFile];

const BY_ID = new Map(RULES.map((r) => [r.meta.id, r]));

export function ruleById(id: string): Rule | undefined {
  return BY_ID.get(id);
}
