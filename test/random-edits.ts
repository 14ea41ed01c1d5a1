/**
 * Seeded random edits of a Python document, as typing makes them (for the tests that check an
 * incremental result against a whole one after each edit: `test/facts/python-incremental.test.ts`,
 * `test/analysis/python-handles-incremental.test.ts`).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { editFor, parseSync, type Tree } from '../server/src/parsing/parser';

/** A document the edits are applied to. */
export interface EditableDocument {
  readonly text: string;
  /** Replaces [from, to) with `insert`; `what` names the edit for a failure message. */
  edit(from: number, to: number, insert: string, what?: string): void;
}

/**
 * An open Python document edited the way the language server edits it: each edit is applied
 * to the text and to the old tree, which is then re-parsed incrementally; the subclass
 * re-analyses (`reanalyse`) and checks its incremental result against a whole one.
 */
export abstract class EditedPythonDocument implements EditableDocument {
  tree: Tree;
  /** The last edit, to undo it: where, what it inserted, what it removed. */
  private last?: { from: number; inserted: string; removed: string };

  constructor(public text: string) {
    this.tree = parseSync(text, 'python');
  }

  /** Called after each edit, with the new text and tree in place; `what` names the edit. */
  protected abstract reanalyse(from: number, to: number, insert: string, what: string): void;

  /** Replaces [from, to) with `insert`, re-parses with the old tree, re-analyses. */
  edit(from: number, to: number, insert: string, what = ''): void {
    this.last = { from, inserted: insert, removed: this.text.slice(from, to) };
    const next = this.text.slice(0, from) + insert + this.text.slice(to);
    this.tree.edit(editFor(this.text, from, to, insert));
    const tree = parseSync(next, 'python', this.tree);
    this.tree.delete();
    this.tree = tree;
    this.text = next;
    this.reanalyse(from, to, insert, what);
  }

  undo(): void {
    const l = this.last;
    if (l) this.edit(l.from, l.from + l.inserted.length, l.removed, 'undo');
  }

  /** Inserts `insert` right after the first occurrence of `anchor`. */
  insertAfter(anchor: string, insert: string): void {
    const at = this.text.indexOf(anchor);
    assert.ok(at >= 0, `no ${JSON.stringify(anchor)} in the text`);
    this.edit(at + anchor.length, at + anchor.length, insert, `after ${JSON.stringify(anchor)}`);
  }

  replace(old: string, by: string): void {
    const at = this.text.indexOf(old);
    assert.ok(at >= 0, `no ${JSON.stringify(old)} in the text`);
    this.edit(at, at + old.length, by, `${JSON.stringify(old)} → ${JSON.stringify(by)}`);
  }

  dispose(): void {
    this.tree.delete();
  }
}

/** The `.py` files under `dir`, sorted. */
export function pythonFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) pythonFiles(p, out);
    else if (p.endsWith('.py')) out.push(p);
  }
  return out;
}

/** A deterministic generator (a linear congruential one: same seed, same edits). */
export function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

/** Statements inserted as a line of a function body (some share state, some do not). */
export const STATEMENTS = [
  'value = helper(1)',
  'f = open(path)',
  'pass',
  'self.t = threading.Thread(target=work)',
  'global counter',
  'time.sleep(1)',
  'pid = os.fork()',
  'return self._conn',
  'with open(p) as fh:\n{indent}    fh.read()',
  'items.append(Store(p))',
  'os.closerange(3, 100)',
  'st = os.fstat(fd)',
  'heartbeat()',
];

/** Lines inserted at module level. */
const TOP_LEVEL = ['import os', 'x = make()', 'def extra():\n    return 1', 'class Extra:\n    def m(self):\n        return 2', '@decorate\ndef extra2(a):\n    return a'];

/**
 * One random edit, as typing makes them: mostly a character typed into a word of a function
 * body, or a statement line added or deleted there; sometimes a definition renamed or added at
 * module level, a character deleted anywhere, or a random character typed anywhere (often a
 * syntax error, undone by the next edit).
 */
export function randomEdit(d: EditableDocument, next: () => number, statements: readonly string[] = STATEMENTS): void {
  const text = d.text;
  const lines = text.split('\n');
  const lineStart = (i: number) => lines.slice(0, i).reduce((n, l) => n + l.length + 1, 0);
  const bodyLines: number[] = [];
  for (let i = 0; i < lines.length; i++) if (/^[ \t]+\S/.test(lines[i]) && !/^\s*(def|class|@)/.test(lines[i])) bodyLines.push(i);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const r = next();
  if (bodyLines.length && r < 0.45) {
    // A character typed after a letter of a body line.
    const i = pick(bodyLines);
    const letters = [...lines[i].matchAll(/[A-Za-z_]/g)].map((m) => m.index);
    if (!letters.length) return;
    const at = lineStart(i) + pick(letters) + 1;
    d.edit(at, at, pick(['x', 'e', '_', '1']), 'typed in a body');
  } else if (bodyLines.length && r < 0.65) {
    // A statement line added after a body line, with its indentation.
    const i = pick(bodyLines);
    const indent = /^[ \t]*/.exec(lines[i])![0];
    const at = lineStart(i) + lines[i].length;
    d.edit(at, at, `\n${indent}${pick(statements).replace('{indent}', indent)}`, 'statement added');
  } else if (bodyLines.length && r < 0.75) {
    const i = pick(bodyLines);
    const at = lineStart(i);
    d.edit(at, Math.min(text.length, at + lines[i].length + 1), '', 'line deleted');
  } else if (r < 0.82) {
    const defs = [...text.matchAll(/\bdef ([A-Za-z_]\w*)/g)];
    if (!defs.length) return;
    const m = pick(defs);
    const at = m.index + 4 + Math.floor(next() * m[1].length);
    d.edit(at, at, 'r', 'definition renamed');
  } else if (r < 0.9) {
    const tops = lines.map((l, i) => (/^\S/.test(l) ? i : -1)).filter((i) => i >= 0);
    const at = tops.length ? lineStart(pick(tops)) : 0;
    d.edit(at, at, `${pick(TOP_LEVEL)}\n`, 'module-level line added');
  } else if (r < 0.95) {
    const at = Math.floor(next() * text.length);
    d.edit(at, Math.min(text.length, at + 1), '', 'character deleted');
  } else {
    const at = Math.floor(next() * (text.length + 1));
    d.edit(at, at, pick(['(', ')', ':', '"', '\n', ' ', '#']), 'random character');
  }
}

