/**
 * Shared wording and evidence-chain assembly for the Python FORK/FD checkers
 * (`rules/python/*.ts`), and the small edit helpers their fixes need.
 */
import * as nodePath from 'node:path';
import type { RelatedLocation } from '../text/locations';
import type { TextEdit } from '../text/edits';
import type { PyModule } from './python-modules';
import type { PyEvent, PyStep } from './python';

/**
 * Where a site is, for a message about a finding in `relativeTo`: `line 12` in the same
 * file, else the path relative to that file's directory (`metrics.py:15`,
 * `../service.py:5`), so the message reads the same whatever paths the engine was given.
 */
export function where(e: { module: PyModule; fact: { range: { start: { line: number } } } }, relativeTo?: string): string {
  const line = e.fact.range.start.line + 1;
  if (e.module.path === relativeTo) return `line ${line}`;
  const shown = relativeTo ? nodePath.relative(nodePath.dirname(nodePath.resolve(relativeTo)), e.module.abs) : e.module.path;
  return `${shown.split(nodePath.sep).join('/')}:${line}`;
}

function sameStep(a: PyStep, b: PyStep): boolean {
  return (
    a.path === b.path &&
    a.message === b.message &&
    a.range.start.line === b.range.start.line &&
    a.range.start.character === b.range.start.character
  );
}

/**
 * The evidence as one ordered path between two sites reached from the same entry point:
 * the steps both share (how the program started, e.g. a console script), the `first` site,
 * back up its import/call chain to where the chains part, then down the chain of `second`
 * to its site. E.g. "thread started here" → "imported from here" → "called here" →
 * "fork here".
 */
export function joinedChain(first: PyEvent, firstMessage: string, second: PyEvent, secondMessage: string): RelatedLocation[] {
  const a = first.chain;
  const b = second.chain;
  let common = 0;
  if (first.root === second.root) while (common < a.length && common < b.length && sameStep(a[common], b[common])) common++;
  const out: RelatedLocation[] = a.slice(0, common).map((s) => ({ ...s }));
  out.push({ path: first.module.path, range: first.fact.range, message: firstMessage });
  for (let i = a.length - 1; i >= common; i--) out.push({ ...a[i] });
  for (let i = common; i < b.length; i++) out.push({ ...b[i] });
  out.push({ path: second.module.path, range: second.fact.range, message: secondMessage });
  return dedupe(out);
}

/** Chain from the entry point down to a site, then the site. */
export function chainTo(e: PyEvent, message: string): RelatedLocation[] {
  return dedupe([...e.chain.map((s) => ({ ...s })), { path: e.module.path, range: e.fact.range, message }]);
}

function dedupe(list: RelatedLocation[]): RelatedLocation[] {
  const out: RelatedLocation[] = [];
  for (const r of list) if (!out.some((o) => sameStep(o, r))) out.push(r);
  return out;
}

/** The local name a module is imported under at module level (`import multiprocessing as mp` → `mp`). */
export function moduleAlias(m: PyModule, module: string): string | undefined {
  for (const [local, target] of m.bindings) if (target === module) return local;
  return undefined;
}

/** `import <module>` inserted where the file's imports end, when the module is not bound yet. */
export function ensureImport(m: PyModule, module: string): { name: string; edits: TextEdit[] } {
  const alias = moduleAlias(m, module);
  if (alias) return { name: alias, edits: [] };
  const at = m.moduleFact?.importInsert ?? { line: 0, character: 0 };
  return { name: module, edits: [{ range: { start: at, end: at }, newText: `import ${module}\n` }] };
}
