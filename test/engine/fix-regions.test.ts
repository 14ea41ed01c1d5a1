/**
 * Fixes in files the parser cannot read whole: valid C with statement-like macros and `#if`
 * inside an expression leaves error regions in the tree. Fix-all is refused only where a fix
 * would make the parser fail somewhere it did not before, and a fix is left alone only when
 * its own edits touch a region the parser could not read.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { describeLines, fixAll, introducedErrors } from '../../server/src/engine/fixes';
import { loadAllGrammars } from '../../server/src/parsing/parser';
import type { Range } from '../../server/src/text/locations';

before(async () => {
  await loadAllGrammars();
});

// Valid C: a conditional term inside an `if`, and a tracing macro used without its semicolon.
const C_WITH_MACROS = [
  '#include <stdio.h>',
  '#define NOTE(args)',
  'static int out_of_range(int value)',
  '{',
  '    if (value < 0',
  '#ifdef NARROW_BYTES',
  '        || value > 127',
  '#endif',
  '       )',
  '        return 1;',
  '    return 0;',
  '}',
  '',
  'int peek_header(const char *name)',
  '{',
  '    FILE *in = fopen(name, "r");',
  '    int first;',
  '    if (!in)',
  '        return -1;',
  '    first = fgetc(in);',
  '    if (out_of_range(first)) {',
  '        NOTE(("bad header in %s", name))',
  '        return 0;',
  '    }',
  '    fclose(in);',
  '    return first;',
  '}',
  '',
].join('\n');

const span = (line: number, endLine = line): Range => ({ start: { line, character: 0 }, end: { line: endLine, character: 4 } });

test('a fix is applied in valid C that the parser cannot read whole (macros, #if inside a statement)', () => {
  const before = analyzeText('/w/peek.c', C_WITH_MACROS)!;
  assert.ok(before.syntaxErrors.length > 0, 'the parser fails on the #if lines and the macro line');
  const result = fixAll('/w/peek.c', C_WITH_MACROS, { includeUnsafe: true });
  assert.equal(result.refused, undefined);
  assert.equal(result.applied, 1);
  assert.equal(result.text, C_WITH_MACROS.replace('        return 0;\n', '        fclose(in);\n        return 0;\n'));
  assert.equal(analyzeText('/w/peek.c', result.text)!.syntaxErrors.length, before.syntaxErrors.length);
});

test('safe fixes only: the unsafe close is not applied without includeUnsafe', () => {
  const result = fixAll('/w/peek.c', C_WITH_MACROS);
  assert.deepEqual([result.applied, result.refused, result.text], [0, undefined, C_WITH_MACROS]);
});

test('an error region the edits moved down is the same region, not a new one', () => {
  const edit = { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, newText: 'close(fd);\n' };
  assert.deepEqual(introducedErrors([span(5)], [span(6)], [edit]), []);
  assert.deepEqual(introducedErrors([span(5)], [span(6), span(10)], [edit]), [[10, 10]]);
  // An edit inside a region grows it.
  const inside = { range: { start: { line: 5, character: 2 }, end: { line: 5, character: 2 } }, newText: 'a\nb\n' };
  assert.deepEqual(introducedErrors([span(5)], [span(7)], [inside]), []);
  // No region before: every region after is new.
  assert.deepEqual(introducedErrors([], [span(3, 4)], [edit]), [[3, 4]]);
});

test('lines are told one-based', () => {
  assert.equal(describeLines([3, 3]), 'line 4');
  assert.equal(describeLines([3, 8]), 'lines 4–9');
});
