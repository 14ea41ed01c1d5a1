/**
 * The nesting bound the editor keeps across edits (`engine/nesting.ts` `nestingAfterEdit`): it
 * is never below the text's own nesting, so a bound within the budget always means a text
 * within the budget, and typical keystrokes keep it there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PYTHON_INDENT_COLUMNS, nestingAfterEdit, nestingOf, nestingReason, type Nesting } from '../../server/src/engine/nesting';

/** A small deterministic generator, so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

test('after any sequence of edits the bound is at least the text\'s own nesting, and within the budget only when the text is', () => {
  const random = rng(5);
  const pieces = ['(', ')', '[', ']', '{', '}', 'x', ' ', '\t', '\n', '\r', '\r\n', ' '.repeat(40), '\t'.repeat(20), '('.repeat(60), ')'.repeat(60)];
  const some = (n: number) => Array.from({ length: n }, () => pieces[random(pieces.length)]).join('');
  const counts = { withinBoth: 0, overBoth: 0, boundOnly: 0 };
  for (let doc = 0; doc < 150; doc++) {
    for (const language of ['python', 'c'] as const) {
      let text = some(random(40));
      let bound: Nesting = nestingOf(text, language);
      for (let edit = 0; edit < 40; edit++) {
        const start = random(text.length + 1);
        const end = start + random(Math.min(20, text.length - start) + 1);
        const inserted = some(random(4));
        const removed = text.slice(start, end);
        text = text.slice(0, start) + inserted + text.slice(end);
        bound = nestingAfterEdit(bound, text, start, removed, inserted, language);
        const exact = nestingOf(text, language);
        const where = JSON.stringify({ text: text.slice(0, 120), start, removed, inserted });
        assert.ok(bound.brackets >= exact.brackets, `brackets ${bound.brackets} < ${exact.brackets}: ${where}`);
        if (exact.indentColumns > MAX_PYTHON_INDENT_COLUMNS) assert.ok(bound.indentColumns >= exact.indentColumns, `indent ${bound.indentColumns} < ${exact.indentColumns}: ${where}`);
        const boundOver = nestingReason(bound, language) !== undefined;
        const exactOver = nestingReason(exact, language) !== undefined;
        if (!boundOver) assert.equal(exactOver, false, where);
        counts[!boundOver ? 'withinBoth' : exactOver ? 'overBoth' : 'boundOnly']++;
        // The editor measures again once the bound is over the budget.
        if (boundOver) bound = exact;
      }
    }
  }
  // Every case is reached, many times.
  for (const [name, n] of Object.entries(counts)) assert.ok(n >= 100, `${name}: ${n}`);
});

test('a keystroke raises the bound by what it types or deletes, and indentation only by the lines it touches', () => {
  const text = 'def f(a):\n    return (a + [1, 2])\n';
  const before = nestingOf(text, 'python');
  assert.deepEqual(before, { brackets: 2, indentColumns: 0 });
  // Typing a letter: nothing changes.
  const typed = text.replace('return', 'returnx');
  assert.deepEqual(nestingAfterEdit(before, typed, text.indexOf('return') + 6, '', 'x', 'python'), before);
  // Typing an opening bracket, or deleting a closing one: one level more at most.
  assert.equal(nestingAfterEdit(before, text.replace('(a', '((a'), text.indexOf('(a'), '', '(', 'python').brackets, 3);
  assert.equal(nestingAfterEdit(before, text.replace('2]', '2'), text.indexOf(']'), ']', '', 'python').brackets, 3);
  // A line indented past the budget on the edited line is seen without measuring the rest.
  const deep = `${' '.repeat(300)}`;
  const at = text.indexOf('return') - 4;
  const indented = text.slice(0, at) + deep + text.slice(at);
  const after = nestingAfterEdit(before, indented, at, '', deep, 'python');
  assert.equal(after.indentColumns, 304);
  assert.equal(nestingReason(after, 'python'), 'a line is indented 304 columns deep, over the 256 columns the Python parser handles safely (generated code?)');
  // Not for C, whose parser has no indentation limit.
  assert.equal(nestingReason(nestingAfterEdit(nestingOf(text, 'c'), indented, at, '', deep, 'c'), 'c'), undefined);
});
