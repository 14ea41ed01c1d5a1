/**
 * The server's document store: incremental changes applied to the text and to the tree
 * (`tree.edit` + re-parse with the old tree) must give the same tree as parsing the final
 * text from scratch, whatever the edits (multi-line, deletions, non-BMP characters, several
 * changes in one notification, full replacements in between).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver/node';
import { DocumentStore } from '../../server/src/lsp/documents';
import { nestingOf } from '../../server/src/engine/nesting';
import { editFor, loadAllGrammars, parseSync, type GrammarName, type Node } from '../../server/src/parsing/parser';

/** Every node with its span, so positions are compared as well as shapes. */
function dump(node: Node, out: string[] = []): string[] {
  out.push(`${node.type} ${node.startIndex}-${node.endIndex} ${node.startPosition.row}:${node.startPosition.column}-${node.endPosition.row}:${node.endPosition.column}`);
  for (const child of node.children) if (child) dump(child, out);
  return out;
}

before(async () => {
  await loadAllGrammars();
});

/** A small deterministic generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function positionAt(text: string, offset: number): { line: number; character: number } {
  // LSP lines end at \n, \r\n and a lone \r.
  let line = 0;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, character: offset - lineStart };
}

const SNIPPETS: Record<GrammarName, string[]> = {
  python: ['fh = open(p)\n', '    ', 'return None\n', 'if x:\n    pass\n', '# hazard-lens: ignore[unreleased-file]\n', 'é', '😀', '(', ')', '\n', 'def g(a):\n    b = a\n', '\r', '\r\n', 'x = 1\r'],
  c: ['FILE *f = fopen(p, "r");\n', '  ', 'return -1;\n', '{', '}', 'if (x) {\n', 'é', '😀', '\n', '/* c */', '\r', '\r\n'],
  typescript: ['const fd = fs.openSync(p, "r");\n', '  ', 'return 0;\n', '{', '}', 'if (x) {\n', 'é', '😀', '\n', '`t${a}`', '\r', '\r\n'],
  tsx: ['const a = <div>{x}</div>;\n', '  ', '{', '}', '😀', '\n'],
};
const START: Record<GrammarName, string> = {
  python: 'def f(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n',
  c: '#include <stdio.h>\nint f(const char *p) {\n  FILE *fp = fopen(p, "r");\n  if (!fp) return -1;\n  fclose(fp);\n  return 0;\n}\n',
  typescript: 'import * as fs from "node:fs";\nexport function f(p: string): number {\n  const fd = fs.openSync(p, "r");\n  fs.closeSync(fd);\n  return 1;\n}\n',
  tsx: 'export const A = () => <div className="x">{1}</div>;\n',
};
const LANGUAGE_ID: Record<GrammarName, string> = { python: 'python', c: 'c', typescript: 'typescript', tsx: 'typescriptreact' };
const EXT: Record<GrammarName, string> = { python: 'py', c: 'c', typescript: 'ts', tsx: 'tsx' };

for (const grammar of ['python', 'c', 'typescript', 'tsx'] as const) {
  test(`incremental trees equal fresh parses (${grammar})`, () => {
    const random = rng(grammar.length * 7919);
    const store = new DocumentStore(4);
    const uri = `file:///work/doc.${EXT[grammar]}`;
    let text = START[grammar];
    let doc = store.open({ textDocument: { uri, languageId: LANGUAGE_ID[grammar], version: 1, text } });
    store.treeFor(doc);
    for (let version = 2; version < 120; version++) {
      const changes: TextDocumentContentChangeEvent[] = [];
      const count = 1 + Math.floor(random() * 3);
      for (let i = 0; i < count; i++) {
        if (random() < 0.03) {
          text = START[grammar];
          changes.push({ text });
          continue;
        }
        // Offsets never split a surrogate pair (an editor never produces that).
        const pick = () => {
          let o = Math.floor(random() * (text.length + 1));
          if (o > 0 && o < text.length && /[\uDC00-\uDFFF]/.test(text[o])) o--;
          if (o > 0 && text[o - 1] === '\r' && text[o] === '\n') o--; // nor a \r\n line break
          return o;
        };
        let a = pick();
        let b = random() < 0.5 ? a : pick();
        if (b < a) [a, b] = [b, a];
        const insert = random() < 0.7 ? SNIPPETS[grammar][Math.floor(random() * SNIPPETS[grammar].length)] : '';
        changes.push({ range: { start: positionAt(text, a), end: positionAt(text, b) }, text: insert });
        text = text.slice(0, a) + insert + text.slice(b);
      }
      doc = store.change({ textDocument: { uri, version }, contentChanges: changes })!;
      assert.equal(doc.document.getText(), text);
      assert.equal(doc.document.version, version);
      // Parse only now and then, so edits also pile up on one tree between parses.
      if (random() < 0.5) continue;
      const incremental = store.treeFor(doc);
      const fresh = parseSync(text, grammar);
      try {
        assert.equal(incremental.rootNode.toString(), fresh.rootNode.toString(), `version ${version}:\n${text}`);
        assert.deepEqual(dump(incremental.rootNode), dump(fresh.rootNode), `version ${version}:\n${text}`);
        assert.equal(incremental.rootNode.endIndex, text.length);
      } finally {
        fresh.delete();
      }
    }
    store.close(uri);
    assert.equal(store.get(uri), undefined);
  });
}

test('trees are kept for a bounded number of documents', () => {
  const store = new DocumentStore(2);
  const docs = [1, 2, 3].map((i) => store.open({ textDocument: { uri: `file:///w/${i}.py`, languageId: 'python', version: 1, text: `x = ${i}\n` } }));
  const trees = docs.map((d) => store.treeFor(d));
  // The first tree was evicted (and freed); asking again parses anew.
  assert.notEqual(store.treeFor(docs[0]), trees[0]);
  assert.equal(store.treeFor(docs[0]).rootNode.text, 'x = 1\n');
  store.dispose();
});

test('an edit\'s points are the rows and columns counted from the start of the text (a lone \\r ends a line, \\r\\n once)', () => {
  // Counted as the parser counts: rows at `\n` and at a `\r` not followed by `\n`; columns in UTF-16 units.
  const pointAt = (text: string, offset: number) => {
    let row = 0;
    let lineStart = 0;
    for (let i = 0; i < offset; i++) {
      if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) {
        row++;
        lineStart = i + 1;
      }
    }
    return { row, column: offset - lineStart };
  };
  const random = rng(41);
  const pieces = ['a', 'bc', '\n', '\r', '\r\n', 'é', '😀', '  '];
  const some = (n: number) => Array.from({ length: n }, () => pieces[Math.floor(random() * pieces.length)]).join('');
  let widened = 0;
  for (let k = 0; k < 3000; k++) {
    const text = some(Math.floor(random() * 30));
    const start = Math.floor(random() * (text.length + 1));
    const end = start + Math.floor(random() * (text.length - start + 1));
    const inserted = some(Math.floor(random() * 4));
    const edit = editFor(text, start, end, inserted);
    // The edit may be widened by a `\r` before it or a `\n` after it; its points are those of its own offsets.
    if (edit.startIndex !== start || edit.oldEndIndex !== end) widened++;
    const after = text.slice(0, edit.startIndex) + text.slice(edit.startIndex, start) + inserted + text.slice(end, edit.oldEndIndex) + text.slice(edit.oldEndIndex);
    assert.equal(after, text.slice(0, start) + inserted + text.slice(end));
    const where = JSON.stringify([text, start, end, inserted]);
    assert.deepEqual(edit.startPosition, pointAt(text, edit.startIndex), where);
    assert.deepEqual(edit.oldEndPosition, pointAt(text, edit.oldEndIndex), where);
    assert.deepEqual(edit.newEndPosition, pointAt(after, edit.newEndIndex), where);
  }
  assert.ok(widened > 100, `widened ${widened}`);
});

test('an edited document is parsed ahead only when it was parsed before and its nesting is known to be within the budget', () => {
  const store = new DocumentStore(4);
  const uri = 'file:///w/ahead.py';
  const text = 'def f(p):\n    fh = open(p)\n    return fh\n';
  const doc = store.open({ textDocument: { uri, languageId: 'python', version: 1, text } });
  const at = (offset: number) => doc.document.positionAt(offset);
  const edit = (version: number, from: number, to: number, insert: string) =>
    store.change({ textDocument: { uri, version }, contentChanges: [{ range: { start: at(from), end: at(to) }, text: insert }] })!;
  // Never parsed: nothing to do ahead of the pass.
  edit(2, 0, 0, '# a\n');
  assert.equal(store.parseAhead(doc), false);
  // The pass parses it and measures its nesting (validation.ts does both).
  store.treeFor(doc);
  assert.equal(doc.nesting, undefined);
  doc.nesting = nestingOf(doc.document.getText(), 'python');
  // A keystroke: parsed at once, and the pass then finds the tree of this version ready.
  edit(3, 4, 4, 'b');
  assert.deepEqual(doc.nesting, { brackets: 1, indentColumns: 0 });
  assert.equal(store.parseAhead(doc), true);
  assert.equal(store.parseAhead(doc), false, 'nothing edited since');
  assert.equal(store.treeFor(doc).rootNode.text, doc.document.getText());
  // A line indented past what the Python grammar handles: its bound says so, and it is not parsed.
  const line = doc.document.getText().indexOf('    return');
  edit(4, line, line, ' '.repeat(300));
  assert.equal(doc.nesting?.indentColumns, 304);
  assert.equal(store.parseAhead(doc), false);
  // A full replacement: the nesting is unknown again until the next pass measures it.
  store.change({ textDocument: { uri, version: 5 }, contentChanges: [{ text }] });
  assert.equal(doc.nesting, undefined);
  assert.equal(store.parseAhead(doc), false);
  store.dispose();
});
