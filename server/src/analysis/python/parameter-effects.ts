/**
 * What a Python function does with the handle it is given, for callers in other modules
 * (`unreleased-file` summaries): which parameters it returns as they are (a pass-through,
 * `def ensure_open(f): … return f`) and which it releases on every path
 * (`def close_quietly(f): try: f.close() except OSError: pass`). Found from the lines of
 * the text that can show it (`return name`, `name.close(`, `closing(name)`, `with name`,
 * `os.close(name)`), only for functions other modules can name; the release is confirmed on
 * the function's flow graph by `releases` (the handle analysis's own path search).
 */
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { UsedOnlyParameters } from '../summaries';
import { inSkipped, outside, type SkippedRanges } from './skipped-ranges';
import { exportedDefEntry, parameterCheck, type ExportedDefEntry } from './stored-parameters';
import { lineLocalMatches } from '../../text/regexp';

/** `return name` on a line of its own; group 1 is the name. */
const RETURN_LINE = /^[ \t]*return[ \t]+([A-Za-z_]\w*)[ \t]*(?:#.*)?$/dgm;
/** Lines that may release a plain name; group 1, 2, 3 or 4 is the name. */
const RELEASE_LINE = /\b([A-Za-z_]\w*)[ \t]*\.[ \t]*(?:close|__exit__|__aexit__|communicate)[ \t]*\(|\bclosing\([ \t]*([A-Za-z_]\w*)[ \t]*\)|^[ \t]*(?:async[ \t]+)?with[ \t]+([A-Za-z_]\w*)[ \t]*(?::|as\b|,)|\bos\.close\([ \t]*([A-Za-z_]\w*)[ \t]*\)/dgm;

/** A function some line named, with its parameters as callers count them. */
interface Entry extends ExportedDefEntry {
  /** Parameter name → the range of the line's statement that shows the effect. */
  found: Map<string, Node>;
  /** Parameters released as descriptors (`os.close(fd)`). */
  descriptors: Set<string>;
}

/** Is `node` directly in `def` (not in a nested function, class or lambda)? */
function directlyIn(node: Node, def: Node): boolean {
  for (let n = node.parent; n && n.id !== def.id; n = n.parent) {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
  }
  return true;
}

/** Words one of which every match of {@link RELEASE_LINE} spells (`closing(` does not spell `close`). */
const RELEASE_WORDS = /clos|__exit__|__aexit__|communicate|with/g;

/** The word every match of {@link RETURN_LINE} spells: only the lines that hold it are matched (a line-anchored pattern tries every offset of the text). */
const RETURN_WORD = /return/g;

function collect(
  tree: Tree,
  text: string,
  matches: Iterable<{ m: RegExpMatchArray; offset: number }>,
  exportPathOf: (def: Node) => string[] | undefined,
  skip: SkippedRanges | undefined,
  keep: (id: Node) => Node | undefined,
  isParameter: (at: number, name: string) => boolean,
): Entry[] {
  const byDef = new Map<number, Entry>();
  const root = tree.rootNode;
  for (const { m, offset } of matches) {
    const group = m.findIndex((g, i) => i > 0 && g !== undefined);
    const name = group > 0 ? m[group] : undefined;
    const inLine = group > 0 ? m.indices?.[group]?.[0] : undefined;
    const at = inLine === undefined ? undefined : offset + inLine;
    if (!name || at === undefined || !isParameter(at, name) || inSkipped(skip, at)) continue;
    const entry = exportedDefEntry(root, at, byDef, exportPathOf, (e) => ({ ...e, found: new Map(), descriptors: new Set() }));
    if (!entry || !entry.names.includes(name) || entry.found.has(name)) continue;
    const def = entry.def;
    const id = root.descendantForIndex(at, at + name.length);
    if (id?.type !== 'identifier' || id.text !== name || !directlyIn(id, def)) continue;
    // `self.stream.close()`: `stream` names an attribute there, not the parameter.
    if (id.parent?.type === 'attribute' && id.parent.childForFieldName('attribute')?.id === id.id) continue;
    const shown = keep(id);
    if (shown) {
      entry.found.set(name, shown);
      if (group === 4) entry.descriptors.add(name);
    }
  }
  return [...byDef.values()].sort((a, b) => a.def.startIndex - b.def.startIndex);
}

function summaries(entries: Entry[], accept: (e: Entry, name: string) => boolean): UsedOnlyParameters[] {
  const out: UsedOnlyParameters[] = [];
  for (const e of entries) {
    const parameters: number[] = [];
    const at = [];
    for (let i = 0; i < e.names.length; i++) {
      const shown = e.found.get(e.names[i]);
      if (!shown || !accept(e, e.names[i])) continue;
      parameters.push(i);
      at.push(nodeRange(shown));
    }
    if (parameters.length === 0) continue;
    out.push({ exportPath: e.path, functionName: e.path.join('.'), parameters, range: nodeRange(e.def.childForFieldName('name') ?? e.def), at });
  }
  return out;
}

/**
 * The exported functions' pass-through and released parameters. `releases(def, name,
 * descriptor)` confirms that `def` releases its parameter `name` (a descriptor: `os.close`)
 * on every path; it runs only for names a release line mentions.
 */
export function parameterEffects(
  tree: Tree,
  text: string,
  exportPathOf: (def: Node) => string[] | undefined,
  releases: (def: Node, name: string, descriptor: boolean) => boolean,
  skip?: SkippedRanges,
): { returned: UsedOnlyParameters[]; released: UsedOnlyParameters[] } {
  if (!text.includes('def')) return { returned: [], released: [] };
  const words = parameterCheck(text);
  // (Only the lines outside the skipped ranges: what lies in them is not reported.)
  const within = skip && skip.length > 0 ? outside(skip, text.length) : undefined;
  const returnedEntries = text.includes('return') ? collect(tree, text, lineLocalMatches(text, RETURN_LINE, RETURN_WORD, within), exportPathOf, skip, (id) => (id.parent?.type === 'return_statement' ? id.parent : undefined), words) : [];
  const returned = summaries(returnedEntries, () => true);
  const returnedBy = new Map<number, Set<string>>();
  for (const e of returnedEntries) returnedBy.set(e.def.id, new Set(e.found.keys()));
  const releaseEntries = /clos|\bwith\b|communicate|__a?exit__/.test(text)
    ? collect(tree, text, lineLocalMatches(text, RELEASE_LINE, RELEASE_WORDS, within), exportPathOf, skip, (id) => {
        let n: Node | null = id;
        while (n && n.parent && n.parent.type !== 'block' && n.parent.type !== 'module') n = n.parent;
        return n ?? undefined;
      }, words)
    : [];
  // A parameter the function returns is passed on, not released.
  const released = summaries(releaseEntries, (e, name) => !returnedBy.get(e.def.id)?.has(name) && releases(e.def, name, e.descriptors.has(name)));
  return { returned, released };
}
