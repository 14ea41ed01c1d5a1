/**
 * The classes the WSGI analysis's shape 5 looks at (`iterableClasses` in
 * `analysis/python/wsgi.ts`) are found from the text, not by walking every node: they must be
 * exactly the classes of a full walk that have an `__iter__`, `__next__` or `next` method of
 * their own, in the same order — on every Python fixture and after seeded random edits (syntax
 * errors included).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { editFor, parseSync, type Node, type Tree } from '../../server/src/parsing/parser';
import { iterableClasses, iteratorMethods } from '../../server/src/analysis/python/wsgi';
import { grammarsReady } from '../harness';
import { pythonFiles, random, randomEdit } from '../random-edits';

before(async () => {
  await grammarsReady();
});

/** The reference: every class of the tree with such a method directly in its body. */
function byWalk(tree: Tree): number[] {
  const out: number[] = [];
  for (const cls of tree.rootNode.descendantsOfType('class_definition')) {
    const body = cls?.childForFieldName('body');
    const methods = (body?.namedChildren ?? []).map((s) => (s?.type === 'decorated_definition' ? s.childForFieldName('definition') : s)).filter((d): d is Node => d?.type === 'function_definition');
    if (cls && methods.some((m) => /^(__iter__|__next__|next)$/.test(m.childForFieldName('name')?.text ?? ''))) out.push(cls.startIndex);
  }
  return out;
}

const ITERABLE = 'class Body:\n    def __init__(self, r):\n        self.r = r\n\n    def __iter__(self):\n        return iter(self.r)\n\n    def close(self):\n        if self.r:\n            self.r.close()\n\n\nclass Outer:\n    class Inner:\n        @property\n        def next(self):\n            return 1\n\n    def next_one(self):\n        return 2\n\n\ndef \\\n        __next__(x):\n    return x\n';

test('iterable classes from the text: the same as a full walk, on fixtures and random edits', () => {
  const files = [...pythonFiles(join(__dirname, '..', 'fixtures')), ...pythonFiles(join(__dirname, '..', '..', 'examples'))];
  const texts = [ITERABLE, ...files.map((f) => readFileSync(f, 'utf8'))];
  const first = parseSync(ITERABLE, 'python');
  assert.deepEqual(
    iterableClasses(first, ITERABLE).map((c) => c.childForFieldName('name')?.text),
    ['Body', 'Inner'],
  );
  first.delete();
  // A syntax error the parser recovers from by making a method of `def) next(...)`.
  const broken = 'class It:\n    def) next(self):\n        return 1\n';
  const brokenTree = parseSync(broken, 'python');
  assert.ok(brokenTree.rootNode.hasError);
  assert.deepEqual(byWalk(brokenTree), [0]);
  assert.deepEqual(iterableClasses(brokenTree, broken).map((c) => c.startIndex), [0]);
  brokenTree.delete();
  const next = random(5);
  let checked = 0;
  for (const original of texts) {
    const doc = { text: original, tree: parseSync(original, 'python') };
    const check = () => {
      assert.deepEqual(
        iterableClasses(doc.tree, doc.text).map((c) => c.startIndex),
        byWalk(doc.tree),
      );
      checked++;
    };
    check();
    const editable = {
      get text() {
        return doc.text;
      },
      edit(from: number, to: number, insert: string) {
        const nextText = doc.text.slice(0, from) + insert + doc.text.slice(to);
        doc.tree.edit(editFor(doc.text, from, to, insert));
        const tree = parseSync(nextText, 'python', doc.tree);
        doc.tree.delete();
        doc.tree = tree;
        doc.text = nextText;
        check();
      },
    };
    for (let k = 0; k < 6; k++) randomEdit(editable, next, ['def __iter__(self):\n{indent}    return self', 'class It:\n{indent}    def next(self):\n{indent}        return 1', 'pass']);
    doc.tree.delete();
  }
  assert.ok(checked > 100);
});

test('iterator method names are read like the pattern `\\bdef(?:[ \\t\\f]|\\\\\\r?\\n)+(__iter__|__next__|next)\\b`', () => {
  const pattern = /\bdef(?:[ \t\f]|\\\r?\n)+(__iter__|__next__|next)\b/g;
  const byPattern = (text: string) => [...text.matchAll(pattern)].map((m) => ({ at: m.index + m[0].length - m[1].length, name: m[1] }));
  const text = 'def __iter__(self): pass\nundef next\ndef\\\n  next(x)\ndef\\\r\n__next__()\ndefnext\ndef nextval\ndef  __iter__x\ndef\tnext';
  assert.deepEqual(iteratorMethods(text).map((m) => m.name), ['__iter__', 'next', '__next__', 'next']);
  assert.deepEqual(iteratorMethods(text), byPattern(text));
  const pieces = ['def', ' ', '\t', '\f', '\\\n', '\\\r\n', '\\', '\r', 'next', '__iter__', '__next__', '_', 'x', 'é', 'de', 'f', '\n', '1'];
  const rnd = random(5);
  for (let k = 0; k < 20000; k++) {
    let s = '';
    for (let j = 1 + Math.floor(rnd() * 8); j > 0; j--) s += pieces[Math.floor(rnd() * pieces.length)];
    assert.deepEqual(iteratorMethods(s), byPattern(s), JSON.stringify(s));
  }
});
