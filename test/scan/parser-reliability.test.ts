/**
 * The parser never silently loses findings: a file that makes the Python grammar trap (deep
 * indentation with a string at that depth corrupts its external scanner) is reported as not
 * analysed, and every later file still parses — in the CLI with and without workers, and in
 * the language server. The parse budget is counted work, never time, so a loaded machine
 * gives the same verdict as an idle one. Nesting beyond what the analyses handle is reported,
 * and an analysis that fails part-way says so instead of passing for a clean file.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeFailure } from '../../server/src/analysis/failures';
import { analyzeText } from '../../server/src/engine/analyze';
import { MAX_BRACKET_NESTING, nestingOf, nestingReason } from '../../server/src/engine/nesting';
import { loadAllGrammars, parseBudgetFor, ParseBudgetError, parserRestartCount, parseSync } from '../../server/src/parsing/parser';
import { runCli } from '../cli/helpers';
import { TestClient, uriOf } from '../lsp/client';

/** 600 nested `if` blocks and an f-string at the bottom: the shape that traps tree-sitter-python 0.25. */
function deepPython(levels = 600): string {
  const lines: string[] = [];
  for (let i = 0; i < levels; i++) lines.push(`${' '.repeat(i)}if x:`);
  lines.push(`${' '.repeat(levels)}s = f"hello {x} " "abc"`);
  return `${lines.join('\n')}\n`;
}

const LEAK = 'def read_all(p):\n    fh = open(p)\n    return fh.read()\n';
const LEAKING_FILES = 5;

function workspace(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hl-parser-')));
  // Names sort the deep file first: every leaking file is parsed after it.
  fs.writeFileSync(path.join(dir, 'a_deep.py'), deepPython());
  for (let i = 0; i < LEAKING_FILES; i++) fs.writeFileSync(path.join(dir, `b_leak${i}.py`), LEAK);
  return dir;
}

before(async () => {
  await loadAllGrammars();
});

describe('a file that crashes the parser', () => {
  let dir: string;
  before(() => {
    dir = workspace();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the parser: a trap throws the parser away, and the next parse gets a fresh one', () => {
    const restarts = parserRestartCount();
    assert.throws(() => parseSync(deepPython(), 'python'), { name: 'Error', message: 'the python parser crashed on this file; it was restarted for the next file' });
    assert.equal(parserRestartCount(), restarts + 2);
    const tree = parseSync(LEAK, 'python');
    assert.equal(tree.rootNode.toString().startsWith('(module (function_definition'), true);
    tree.delete();
  });

  test('in process: the deep file is not analysed (not even parsed), and the files after it are', () => {
    const deep = analyzeText(path.join(dir, 'a_deep.py'), deepPython());
    assert.equal(deep?.notAnalysed, 'a line is indented 600 columns deep, over the 256 columns the Python parser handles safely (generated code?)');
    for (let i = 0; i < LEAKING_FILES; i++) {
      const leak = analyzeText(path.join(dir, `b_leak${i}.py`), LEAK);
      assert.deepEqual(
        leak?.localFindings.map((f) => `${f.ruleId}@${f.range.start.line}:${f.range.start.character}`),
        ['unreleased-file@1:9'],
      );
    }
  });

  for (const jobs of ['0', '2']) {
    test(`CLI with -j ${jobs}: every leak is reported and the crashed file is counted as not analysed`, () => {
      const r = runCli(['scan', '.', '-j', jobs, '--no-cache', '--format', 'json'], { cwd: dir });
      assert.equal(r.status, 1, r.stderr);
      const report = JSON.parse(r.stdout) as { findings: { ruleId: string; path: string }[]; skipped: { path: string; reason: string }[]; summary: { files: number; skipped: number } };
      assert.deepEqual(
        report.findings.map((f) => `${f.ruleId} ${f.path}`).sort(),
        Array.from({ length: LEAKING_FILES }, (_, i) => `unreleased-file b_leak${i}.py`),
      );
      assert.equal(report.skipped.length, 1);
      assert.equal(report.skipped[0].path, 'a_deep.py');
      assert.equal(report.skipped[0].reason, 'not analysed: a line is indented 600 columns deep, over the 256 columns the Python parser handles safely (generated code?)');
      assert.deepEqual([report.summary.files, report.summary.skipped], [LEAKING_FILES, 1]);
    });
  }

  test('CLI text report: the summary says a file was skipped and why', () => {
    const r = runCli(['scan', '.', '-j', '0', '--no-cache'], { cwd: dir });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /skipped a_deep\.py: not analysed: a line is indented 600 columns deep/);
    assert.match(r.stdout, /5 findings .* in 5 files analysed, 1 skipped\./);
  });

  test('language server: documents opened after the crashing one still get their diagnostics', async () => {
    const client = await TestClient.start({ rootPath: dir });
    try {
      await client.open(uriOf(path.join(dir, 'a_deep.py')), 'python', deepPython());
      const leakUri = uriOf(path.join(dir, 'b_leak0.py'));
      await client.open(leakUri, 'python', LEAK);
      const { diagnostics } = await client.waitForDiagnostics(leakUri, 1, (d) => d.length > 0);
      assert.deepEqual(
        diagnostics.map((d) => `${String(d.code)}@${d.range.start.line}:${d.range.start.character}`),
        ['unreleased-file@1:9'],
      );
      assert.ok(
        client.logs.some((l) => l.includes('a_deep.py') && l.includes('not analysed')),
        `the output channel must say the deep file was not analysed:\n${client.logs.join('\n')}`,
      );
    } finally {
      await client.stop();
    }
  });
});

describe('the parse budget', () => {
  test('is counted work: a clock that races ahead changes nothing', () => {
    const realNow = Date.now;
    let fake = realNow();
    // Every look at the clock sees ten more seconds pass, as on a machine under heavy load.
    Date.now = () => (fake += 10_000);
    try {
      const tree = parseSync(LEAK.repeat(200), 'python');
      assert.equal(tree.rootNode.type, 'module');
      assert.equal(tree.rootNode.hasError, false);
      tree.delete();
    } finally {
      Date.now = realNow;
    }
  });

  test('a file over its budget is reported as not analysed, the same way every time', () => {
    const text = LEAK.repeat(200);
    const verdicts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const analysis = analyzeText('/w/big.py', text, 10);
      verdicts.add(String(analysis?.notAnalysed));
      assert.deepEqual(analysis?.localFindings, []);
    }
    assert.deepEqual([...verdicts], ['the parser gave up after 10 progress checks, far more work than a file of this size needs (a construct the grammar handles in exponential time?)']);
    assert.throws(() => parseSync(text, 'python', null, 10), ParseBudgetError);
  });

  test('grows with the size of the file', () => {
    assert.equal(parseBudgetFor(0), 20_000);
    assert.equal(parseBudgetFor(1_000_000), 520_000);
  });
});

describe('deep nesting', () => {
  const leakInC = (body: string) => `#include <stdio.h>\nint f(const char *p, int x) {\n  FILE *fp = fopen(p, "r");\n  if (!fp) return -1;\n${body}  return 0;\n}\n`;
  const nestedIfs = (n: number) => `${'if (x) {\n'.repeat(n)}x++;\n${'}\n'.repeat(n)}`;

  test('brackets nested beyond the budget: the file is not analysed, and says why', () => {
    assert.equal(nestingReason(nestingOf('('.repeat(MAX_BRACKET_NESTING))), undefined);
    const analysis = analyzeText('/w/deep.c', leakInC(nestedIfs(1000)));
    assert.equal(analysis?.notAnalysed, 'brackets are nested 1001 levels deep, over the 256 levels the analyses handle (generated code?)');
    assert.deepEqual(analysis?.localFindings, []);
  });

  test('the nesting check answers as a character-by-character count does, on texts made of brackets, blanks and line breaks', () => {
    // The reference: every character read in turn, lines ending at `\n` or `\r`.
    const reference = (text: string, python: boolean): string | undefined => {
      let depth = 0;
      let deepest = 0;
      let indent = 0;
      let deepestIndent = 0;
      let atLineStart = true;
      for (const ch of text) {
        if (atLineStart && (ch === ' ' || ch === '\t')) {
          indent = ch === ' ' ? indent + 1 : indent + 8 - (indent % 8);
          continue;
        }
        if (atLineStart && ch !== '\n' && ch !== '\r') deepestIndent = Math.max(deepestIndent, indent);
        atLineStart = false;
        if (ch === '\n' || ch === '\r') {
          atLineStart = true;
          indent = 0;
        } else if ('([{'.includes(ch)) deepest = Math.max(deepest, ++depth);
        else if (')]}'.includes(ch) && depth > 0) depth--;
      }
      if (deepest > MAX_BRACKET_NESTING) return `brackets:${deepest}`;
      if (python && deepestIndent > 256) return `indent:${deepestIndent}`;
      return undefined;
    };
    const ours = (text: string, python: boolean): string | undefined => {
      const language = python ? 'python' : 'c';
      const why = nestingReason(nestingOf(text, language), language);
      if (!why) return undefined;
      const n = /(\d+) (?:levels|columns) deep/.exec(why)![1];
      return why.startsWith('brackets') ? `brackets:${n}` : `indent:${n}`;
    };
    // A small deterministic generator (no dependency on Math.random): runs of one piece each.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [' ', '\t', '\n', '\r', '\r\n', '(', ')', '[', ']', '{', '}', 'x', '\f', '#'];
    let over = { brackets: 0, indent: 0, neither: 0 };
    for (let k = 0; k < 600; k++) {
      const parts: string[] = [];
      // Every fourth text has few closing brackets, so that some nest past the budget.
      const choices = k % 4 === 1 ? [' ', '\n', '(', '[', '{', 'x', ')'] : pieces;
      for (let i = 0; i < 40; i++) parts.push(choices[next(choices.length)].repeat(1 + next(k % 4 === 1 ? 100 : k % 3 === 0 ? 300 : 40)));
      const text = parts.join('');
      for (const python of [true, false]) {
        const want = reference(text, python);
        assert.equal(ours(text, python), want, JSON.stringify(text.slice(0, 200)));
        if (python) over = { ...over, [want?.split(':')[0] ?? 'neither']: over[(want?.split(':')[0] ?? 'neither') as keyof typeof over] + 1 };
      }
    }
    // The generated texts reach every answer, each many times.
    for (const [answer, count] of Object.entries(over)) assert.ok(count >= 30, `${answer}: ${count}`);
    // At the line and just past it.
    assert.equal(ours(`${' '.repeat(256)}x\n`, true), undefined);
    assert.equal(ours(`y\r${'\t'.repeat(32)} x`, true), 'indent:257');
    assert.equal(ours(`${' '.repeat(300)}\n`, true), undefined);
    assert.equal(ours(`${' '.repeat(300)}x`, false), undefined);
  });

  test('nesting within the budget is analysed in full', () => {
    const analysis = analyzeText('/w/nested.c', leakInC(nestedIfs(250)));
    assert.equal(analysis?.notAnalysed, undefined);
    assert.deepEqual(analysis?.notes, []);
    assert.deepEqual(analysis?.localFindings.map((f) => `${f.ruleId}@${f.range.start.line}`), ['unreleased-file@2']);
  });

  test('an analysis that runs out of stack is reported as partial, never as a clean file', () => {
    // 12,000 `else if`s: no deep brackets, but a syntax tree 24,000 levels deep.
    const chain = `  if (x == 0) { x = 1; }\n${Array.from({ length: 12_000 }, (_, i) => `  else if (x == ${i + 1}) { x = ${i + 2}; }\n`).join('')}`;
    const analysis = analyzeText('/w/chain.c', leakInC(chain))!;
    assert.equal(analysis.notAnalysed, undefined);
    assert.ok(analysis.notes.length > 0, 'a failure was swallowed');
    for (const note of analysis.notes) assert.match(note, /^partly analysed: .*\(the code is nested too deeply for this analysis\)/);
    // What did complete is still reported.
    assert.deepEqual(analysis.localFindings.map((f) => `${f.ruleId}@${f.range.start.line}`), ['unreleased-file@2']);
  });

  test('a failure is described in words', () => {
    assert.equal(describeFailure(new RangeError('Maximum call stack size exceeded')), 'the code is nested too deeply for this analysis');
    assert.equal(describeFailure(new Error('boom')), 'boom');
  });
});
