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

/** Callers that hand a handle over to definitions of the file, reached in the ways the analysis looks them up. */
const OWNERS = [
  'import os',
  '',
  '',
  'def close_it(f):',
  '    f.close()',
  '',
  '',
  'def pass_on(f):',
  '    close_it(f)',
  '',
  '',
  'def via_helper(p):',
  '    f = open(p)',
  '    pass_on(f)',
  '',
  '',
  'class Sink:',
  '    def __init__(self, f):',
  '        f.close()',
  '',
  '    def shut(self, f):',
  '        f.close()',
  '',
  '    def via_self(self, p):',
  '        f = open(p)',
  '        self.shut(f)',
  '',
  '    def via_class(self, p):',
  '        f = open(p)',
  '        Sink.shut(self, f)',
  '',
  '',
  'def via_constructor(p):',
  '    f = open(p)',
  '    Sink(f)',
  '',
  '',
  'def via_other(p, items):',
  '    f = open(p)',
  '    try:',
  '        items.shut(f)  # shut(f) and close_it(f) in words only',
  '        """pass_on(f) in words only"""',
  '    finally:',
  '        f.close()',
  '',
].join('\n');

describe('Python handle analysis reused across edits: what an edit pulls in', () => {
  test('an owner edited to stop closing: the callers that looked it up are analysed again, through a chain of helpers', () => {
    const d = new Doc(OWNERS);
    assert.deepEqual(d.leaks(), []);
    d.replace('def close_it(f):\n    f.close()', 'def close_it(f):\n    f.flush()');
    // close_it ← pass_on ← via_helper (pass_on kept nothing of its own); via_other only spells them.
    assert.deepEqual(d.leaks(), ['13: f open end@14']);
    assert.equal(d.reused, 6);
    d.undo();
    assert.deepEqual(d.leaks(), []);
    d.dispose();
  });

  test('a method edited to stop closing: callers through self and the class are analysed again, a call on another object is not', () => {
    const d = new Doc(OWNERS);
    d.replace('    def shut(self, f):\n        f.close()', '    def shut(self, f):\n        f.flush()');
    assert.deepEqual(d.leaks(), ['25: f open end@26', '29: f open end@30']);
    // Kept: close_it, pass_on, via_helper, __init__, via_constructor, via_other (`items.shut(f)`, a comment).
    // (The seeded random edits below check that keeping them gives the whole analysis's result.)
    assert.equal(d.reused, 6);
    d.dispose();
  });

  test('__init__ edited to stop closing: the callers of the class are analysed again', () => {
    const d = new Doc(OWNERS);
    d.replace('    def __init__(self, f):\n        f.close()', '    def __init__(self, f):\n        f.flush()');
    assert.deepEqual(d.leaks(), ['34: f open end@35']);
    d.dispose();
  });

  test('an unchanged import or column-0 line in the edited body keeps the rest; editing it analyses the whole file', () => {
    const text = ['def reader(p):', '    import io', '    doc = """', 'plain words', '"""', '    f = io.open(p)', '    return f.read()', '', '', 'def other(p):', '    g = open(p)', '    return g.read()', '', '', 'def third(p):', '    h = io2.open(p)', '    return h.read()', ''].join('\n');
    const d = new Doc(text);
    assert.deepEqual(d.leaks(), ['6: f io.open return@7', '11: g open return@12']);
    d.insertAfter('    return f.read()', '\n    n = 1');
    assert.equal(d.reused, 2);
    // The import binds `io2` for the whole file: `third` opens a file now.
    d.replace('    import io', '    import io as io2');
    assert.equal(d.reused, 0);
    assert.deepEqual(d.leaks(), ['6: f io.open return@7', '12: g open return@13', '17: h io2.open return@18']);
    d.replace('    import io as io2', '    import io');
    // A line at column 0 that binds `open` for the names table (it reads such lines anywhere).
    d.replace('plain words', 'open = 1');
    assert.equal(d.reused, 0);
    assert.deepEqual(d.leaks(), ['6: f io.open return@7']);
    d.replace('open = 1', 'plain words');
    d.insertAfter('    n = 1', '\n    import os');
    assert.equal(d.reused, 0);
    assert.deepEqual(d.leaks(), ['6: f io.open return@7', '13: g open return@14']);
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
