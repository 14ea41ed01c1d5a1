/**
 * late-monkey-patch: the monkey-patch call runs after the program already imported or
 * created things the patch cannot convert — threads, locks, sockets, SSL state, names bound
 * with `from threading import Lock` — leaving native and green primitives mixed.
 *
 * Program order (imports first, then the module's statements, calls into workspace
 * functions) is replayed in `model/python-heartbeat.ts` up to the patch call.
 */
import * as nodePath from 'node:path';
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import type { Fix, TextEdit } from '../text/edits';
import type { RelatedLocation } from '../text/locations';
import type { PyImportFact } from '../facts/python/program-facts';
import { heartbeatModel, type LatePatch } from '../model/python-heartbeat';
import { where } from '../model/python-evidence';

const RULE_ID = 'late-monkey-patch';

function message(l: LatePatch): string {
  const c = l.cause;
  const at = where({ module: c.module, fact: { range: c.range } }, l.patch.module.path);
  return (
    `${l.patch.fact.api} runs after ${c.what} at ${at}, and ${c.why}: the program mixes native and green primitives; ` +
    `make the patch the first statement of the entry point`
  );
}

function related(l: LatePatch): RelatedLocation[] {
  const c = l.cause;
  const out: RelatedLocation[] = [...c.chain.map((s) => ({ ...s }))];
  out.push({ path: c.module.path, range: c.range, message: `${c.what} here, before the patch` });
  let common = 0;
  while (common < c.chain.length && common < l.patchChain.length && sameStep(c.chain[common], l.patchChain[common])) common++;
  for (let i = common; i < l.patchChain.length; i++) out.push({ ...l.patchChain[i] });
  out.push({ path: l.patch.module.path, range: l.patch.fact.range, message: `patch call here (${l.patch.fact.api})` });
  return out;
}

function sameStep(a: { path: string; range: { start: { line: number; character: number } } }, b: typeof a): boolean {
  return a.path === b.path && a.range.start.line === b.range.start.line && a.range.start.character === b.range.start.character;
}

/** The import statement that binds `head` in the patch's module, as a line of code. */
function importLine(l: LatePatch): string | undefined {
  const m = l.patch.module;
  const head = l.patch.fact.localName;
  const canonical = m.bindings.get(head);
  if (!canonical || canonical.startsWith('.')) return undefined;
  if (canonical === head) return `import ${head}`;
  const dot = canonical.lastIndexOf('.');
  if (dot > 0 && canonical.slice(dot + 1) === head) return `from ${canonical.slice(0, dot)} import ${head}`;
  if (dot > 0) return `from ${canonical.slice(0, dot)} import ${canonical.slice(dot + 1)} as ${head}`;
  return `import ${canonical} as ${head}`;
}

/** An import statement written back from its fact (`import gevent.monkey`, `from gevent import monkey as m`). */
function importText(f: PyImportFact): string {
  if (f.boundName !== undefined) return f.boundName === f.module.split('.')[0] ? `import ${f.module}` : `import ${f.module} as ${f.boundName}`;
  const names = (f.names ?? []).map((n) => (n.alias && n.alias !== n.name ? `${n.name} as ${n.alias}` : n.name)).join(', ');
  return `from ${'.'.repeat(f.level)}${f.module} import ${names}`;
}

function fixes(l: LatePatch): Fix[] {
  const p = l.patch.fact;
  const m = l.patch.module;
  const stmt = m === l.root && p.enclosingFunction === '' && !p.conditional && !p.underMainGuard ? p.statement : undefined;
  if (stmt) {
    // The module-level import that binds the patcher's name moves along when it binds nothing else.
    let binder: PyImportFact | undefined;
    for (const f of m.facts) {
      if (f.kind !== 'py.import' || f.enclosingFunction !== '' || f.conditional || f.underMainGuard || f.range.start.character !== 0) continue;
      if (f.range.start.line >= stmt.range.start.line) continue;
      const binds = f.boundName !== undefined ? f.boundName === p.localName : f.names?.length === 1 && (f.names[0].alias ?? f.names[0].name) === p.localName;
      if (binds) binder = f;
    }
    const imp = binder ? importText(binder) : importLine(l);
    if (imp) {
      const edits: TextEdit[] = [
        { range: { start: p.firstStatement, end: p.firstStatement }, newText: `${imp}\n${stmt.text}\n` },
        { range: stmt.range, newText: '' },
      ];
      if (binder) edits.push({ range: { start: { line: binder.range.start.line, character: 0 }, end: { line: binder.range.end.line + 1, character: 0 } }, newText: '' });
      return [{ title: `Move ${p.api} to the first statement of ${nodePath.basename(m.path)}`, applicability: 'unsafe', edits }];
    }
  }
  return [{ title: `Call ${p.api} as the first statement of the entry point ${l.root.path}`, applicability: 'display-only', edits: [] }];
}

export const lateMonkeyPatch: Rule = {
  meta: {
    id: RULE_ID,
    family: 'HEARTBEAT',
    languages: ['python'],
    defaultSeverity: 'warning',
    summary: 'A monkey-patch call runs after the program already created or imported threads, locks, sockets or SSL state, leaving native and green primitives mixed.',
    fixes: ['unsafe', 'display-only'],
    tags: ['CWE-667'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    if (!ctx.files.some((f) => f.language === 'python')) return [];
    return heartbeatModel(ctx).latePatches.map((l) => ({
      ruleId: RULE_ID,
      path: l.patch.module.path,
      range: l.patch.fact.range,
      message: message(l),
      related: related(l),
      fixes: fixes(l),
    }));
  },
};
