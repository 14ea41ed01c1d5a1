/**
 * Positions with every kind of line end: `\n`, `\r\n` and a lone `\r` (old Mac files) are all
 * line breaks, as in the LSP, in the CLI's report, in findings' ranges and in fixes.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { fixAll } from '../../server/src/engine/fixes';
import { loadAllGrammars, parseSync } from '../../server/src/parsing/parser';
import { lineStartsOf } from '../../server/src/text/positions';

before(async () => {
  await loadAllGrammars();
});

const PYTHON = ['import os', 'def f(p):', '    fh = open(p)', '    return fh.read()', ''];
const C = ['#include <stdio.h>', 'int f(const char *p) {', '  FILE *fp = fopen(p, "r");', '  if (!fp) return -1;', '  return 0;', '}', ''];
const TS = ['import * as fs from "node:fs";', 'export function f(p: string): number {', '  const fd = fs.openSync(p, "r");', '  return 1;', '}', ''];

for (const [eol, name] of [['\n', 'LF'], ['\r\n', 'CRLF'], ['\r', 'lone CR']] as const) {
  test(`findings land on the right line with ${name} line ends`, () => {
    const starts = (path: string, lines: string[]) =>
      analyzeText(path, lines.join(eol))!.localFindings.map((f) => `${f.ruleId}@${f.range.start.line}:${f.range.start.character}-${f.range.end.line}:${f.range.end.character}`);
    assert.deepEqual(starts('/w/a.py', PYTHON), ['unreleased-file@2:9-2:16']);
    assert.deepEqual(starts('/w/b.c', C), ['unreleased-file@2:13-2:26']);
    assert.deepEqual(starts('/w/c.ts', TS), ['unreleased-file@2:13-2:32']);
  });
}

test('the parser counts a lone \\r as a line break', () => {
  const tree = parseSync('a = 1\rb = 2\r\nc = 3\n', 'python');
  assert.deepEqual(
    tree.rootNode.children.map((n) => `${n!.startPosition.row}:${n!.startPosition.column}`),
    ['0:0', '1:0', '2:0'],
  );
  tree.delete();
});

test('lineStartsOf breaks at \\n, \\r\\n and a lone \\r', () => {
  assert.deepEqual(lineStartsOf('a\nb\r\nc\rd'), [0, 2, 5, 7]);
  assert.deepEqual(lineStartsOf('\r\r\n\n'), [0, 1, 3, 4]);
});

test('a fix in a file with lone \\r line ends edits the right lines and parses', () => {
  const text = PYTHON.join('\r');
  const result = fixAll('/w/a.py', text);
  assert.equal(result.applied, 1);
  assert.equal(result.text, 'import os\rdef f(p):\r    with open(p) as fh:\n        return fh.read()\r');
});
