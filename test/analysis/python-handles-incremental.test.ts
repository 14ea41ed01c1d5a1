/**
 * The Python handle analysis reused across edits (`analysis/python/handles-incremental.ts`):
 * after each edit, the incremental analysis (from the previous version's state, on an
 * incrementally re-parsed tree, as the language server does it) must give exactly the findings
 * and summary of a whole analysis. Key cases one by one (which edits reuse and which fall back),
 * then seeded random edits of every Python fixture and of many of them joined into one module.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { runPythonHandles } from '../../server/src/analysis/python/handles';
import { incrementally, type PythonHandleState } from '../../server/src/analysis/python/handles-incremental';
import { takeAnalysisFailures } from '../../server/src/analysis/failures';
import { BUILTIN_KNOWLEDGE } from '../../server/src/knowledge/knowledge';
import { grammarsReady } from '../harness';
import { EditedPythonDocument, pythonFiles, random, randomEdit, STATEMENTS } from '../random-edits';

before(async () => {
  await grammarsReady();
});

const KNOWLEDGE = BUILTIN_KNOWLEDGE.python;

/** An open document: text, tree and handle state, edited the way the server edits them. */
class Doc extends EditedPythonDocument {
  state: PythonHandleState | undefined;
  reused = 0;

  constructor(
    text: string,
    readonly name = 'jobs.py',
  ) {
    super(text);
    this.state = incrementally(this.tree, text, KNOWLEDGE).state;
  }

  /** Re-analyses from the previous state; checks against a whole analysis. */
  protected reanalyse(from: number, to: number, insert: string, what: string): void {
    const tree = this.tree;
    const next = this.text;
    takeAnalysisFailures();
    const r = incrementally(tree, next, KNOWLEDGE, this.state);
    const failuresIncremental = takeAnalysisFailures();
    this.state = r.state;
    this.reused = r.reused;
    const whole = runPythonHandles(tree, next, KNOWLEDGE).result;
    const failuresWhole = takeAnalysisFailures();
    const a = JSON.stringify(r.run.result);
    const b = JSON.stringify(whole);
    if (a !== b) {
      const leaks = (x: typeof whole) => [...x.leaks.map((l) => JSON.stringify(l)), ...x.summary.pendingLeaks.map((p) => `pending ${JSON.stringify(p)}`), ...x.summary.returnedHandles.map((h) => `returns ${JSON.stringify(h)}`), ...(x.summary.parametersStored ?? []).map((s) => `stores ${JSON.stringify(s)}`)];
      const la = leaks(r.run.result);
      const lb = leaks(whole);
      assert.fail(
        `${this.name}: ${what} (at ${from}, replacing ${to - from} with ${JSON.stringify(insert)}, ${r.reused} reused)\n` +
          `only incremental:\n  ${la.filter((x) => !lb.includes(x)).slice(0, 4).join('\n  ')}\nonly whole:\n  ${lb.filter((x) => !la.includes(x)).slice(0, 4).join('\n  ')}` +
          (la.length === lb.length && la.every((x) => lb.includes(x)) ? '\n(same entries, another order)' : ''),
      );
    }
    // A reused result never hides a failure the whole analysis records.
    if (failuresWhole.length > 0) assert.ok(failuresIncremental.length > 0, `${this.name}: ${what}: the whole analysis failed (${failuresWhole[0]}), the incremental one did not`);
  }

  /** The findings as `line: message-ish` (api and variable) for the key cases. */
  leaks(): string[] {
    return (this.state?.run.result.leaks ?? []).map((l) => `${l.openRange.start.line + 1}: ${l.variable || '-'} ${l.api} ${l.leakKind}@${l.leakLine}`);
  }
}

const MODULE = [
  'import os',
  'from app.store import open_blob',
  '',
  '',
  'def read_config(path):',
  '    f = open(path)',
  '    data = f.read()',
  '    return data',
  '',
  '',
  'def fresh_log(path):',
  '    return open(path, "a")',
  '',
  '',
  'def use_log(path):',
  '    log = fresh_log(path)',
  '    log.write("x")',
  '',
  '',
  'def unrelated(a, b):',
  '    total = a + b',
  '    return total',
  '',
  '',
  'class Cache:',
  '    def __init__(self, path):',
  '        self.path = path',
  '',
  '    def load(self):',
  '        fh = open(self.path)',
  '        return fh.read()',
  '',
  '',
  'def blob(p):',
  '    b = open_blob(p)',
  '    b.close()',
  '',
].join('\n');

describe('Python handle analysis reused across edits: key cases', () => {
  test('an edit in a function nobody names keeps the other functions\' findings, moved', () => {
    const d = new Doc(MODULE);
    assert.deepEqual(d.leaks(), ['6: f open return@8', '16: log fresh_log end@17', '30: fh open return@31']);
    d.insertAfter('    total = a + b', '\n    total += 1\n    total += 2');
    assert.ok(d.reused > 0, 'nothing was reused');
    assert.deepEqual(d.leaks(), ['6: f open return@8', '16: log fresh_log end@17', '32: fh open return@33']);
    d.replace('\n    total += 1\n    total += 2', '');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('an edit in a helper that returns a handle re-analyses its callers', () => {
    const d = new Doc(MODULE);
    // `fresh_log` stops returning a fresh handle: `use_log` loses its finding.
    d.replace('    return open(path, "a")', '    return None');
    assert.deepEqual(d.leaks(), ['6: f open return@8', '30: fh open return@31']);
    d.replace('    return None', '    return open(path, "a")');
    assert.deepEqual(d.leaks(), ['6: f open return@8', '16: log fresh_log end@17', '30: fh open return@31']);
    d.dispose();
  });

  test('an edit in a function that returns what a kept helper opens analyses the whole file', () => {
    const text = ['def open_log(d):', '    f = open(d + "/log")', '    return f', '', '', 'def log_for(user):', '    f = open_log(user)', '    return f', ''].join('\n');
    const d = new Doc(text);
    d.insertAfter('    f = open_log(user)', '\n    n = 1');
    // The returned handle of log_for() is open_log()'s open, in a definition a reuse would skip.
    assert.equal(d.reused, 0);
    assert.deepEqual(
      d.state?.run.result.summary.returnedHandles.map((h) => `${h.functionName}: ${h.api}@${h.openRange.start.line + 1}`),
      ['open_log: open@2', 'log_for: open@2'],
    );
    d.dispose();
  });

  test('an import or a line at column 0 in the edited body analyses the whole file', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    total = a + b', '\n    import json');
    assert.equal(d.reused, 0);
    d.replace('\n    import json', '');
    assert.equal(d.reused, 0);
    d.insertAfter('    total = a + b', '\n    s = """\nopen = 1\n"""');
    assert.equal(d.reused, 0);
    d.dispose();
  });

  test('a field store in a class that held none analyses the whole file; in one that did, its methods go together', () => {
    const d = new Doc(MODULE);
    d.insertAfter('        self.path = path', '\n        self.log = open(path)');
    assert.equal(d.reused, 0);
    d.insertAfter('        fh = open(self.path)', '\n        n = 1');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('a syntax error analyses the whole file until it is gone', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    total = a + b', '(');
    assert.equal(d.state, undefined);
    d.replace('    total = a + b(', '    total = a + b');
    assert.equal(d.reused, 0);
    d.insertAfter('    total = a', 'x');
    assert.ok(d.reused > 0);
    d.dispose();
  });
});

/** Statements added to bodies: the facts test's, and more that open, keep, pass on and close handles. */
const HANDLE_STATEMENTS = [
  ...STATEMENTS,
  'fh = open(path)',
  'return open(path)',
  'self.log = open(path)',
  'conn = socket.socket()',
  'proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)',
  'fh.close()',
  'log = fresh_log(path)',
  'b = open_blob(p)',
  'keep(fh)',
  'return fh',
  'REGISTRY.append(item)',
  'self.items = item',
];

describe('Python handle analysis reused across edits: seeded random edits', () => {
  const fixtures = [...pythonFiles(join(__dirname, '..', 'fixtures')), ...pythonFiles(join(__dirname, '..', '..', 'examples'))];

  test('every Python fixture, 12 edits each: the same result as a whole analysis', () => {
    const next = random(17);
    let reused = 0;
    for (const file of fixtures) {
      const d = new Doc(readFileSync(file, 'utf8'), file);
      for (let k = 0; k < 12; k++) {
        randomEdit(d, next, HANDLE_STATEMENTS);
        if (d.reused) reused++;
        if (!d.state && k % 3 !== 2) d.undo();
      }
      d.dispose();
    }
    assert.ok(reused > 50, `only ${reused} edits reused findings`);
  });

  test('60 fixtures joined into one module, 200 edits: the same result as a whole analysis', () => {
    const next = random(2024);
    const text = fixtures
      .slice(0, 60)
      .map((f) => readFileSync(f, 'utf8').replace(/^from __future__ import .*$/gm, ''))
      .join('\n\n');
    const d = new Doc(text, 'everything.py');
    let reused = 0;
    for (let k = 0; k < 200; k++) {
      randomEdit(d, next, HANDLE_STATEMENTS);
      if (d.reused) reused++;
      if (!d.state) d.undo();
    }
    d.dispose();
    assert.ok(reused >= 20, `only ${reused} edits reused findings`);
  });
});
