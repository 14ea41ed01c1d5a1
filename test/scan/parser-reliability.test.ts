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
import { analyzeText, MAX_BRACKET_NESTING, nestingOverBudget } from '../../server/src/engine/analyze';
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
    assert.equal(nestingOverBudget('('.repeat(MAX_BRACKET_NESTING)), undefined);
    const analysis = analyzeText('/w/deep.c', leakInC(nestedIfs(1000)));
    assert.equal(analysis?.notAnalysed, 'brackets are nested 1001 levels deep, over the 256 levels the analyses handle (generated code?)');
    assert.deepEqual(analysis?.localFindings, []);
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
