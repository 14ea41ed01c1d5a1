/**
 * Python facts reused across edits (`facts/python/incremental.ts`): after each edit, the
 * incremental extraction (from the previous version's state, on an incrementally re-parsed
 * tree, as the language server does it) must give exactly the facts of a whole extraction.
 * Key cases one by one (which edits reuse and which fall back), then seeded random edits of
 * every Python fixture and of all of them joined into one long module.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { extractPythonFacts } from '../../server/src/facts/python/program-facts';
import { extractPythonFactsIncrementally, type PythonFactState } from '../../server/src/facts/python/incremental';
import { grammarsReady } from '../harness';
import { EditedPythonDocument, pythonFiles, random, randomEdit } from '../random-edits';

before(async () => {
  await grammarsReady();
});

const PATH = '/work/app/jobs.py';

/** An open document: text, tree and fact state, edited the way the server edits them. */
class Doc extends EditedPythonDocument {
  state: PythonFactState | undefined;
  reused = 0;

  constructor(
    text: string,
    readonly path = PATH,
  ) {
    super(text);
    this.state = extractPythonFactsIncrementally(this.tree, text, path).state;
  }

  /** Re-extracts from the previous state; checks against a whole extraction. */
  protected reanalyse(from: number, to: number, insert: string, what: string): void {
    const tree = this.tree;
    const next = this.text;
    const r = extractPythonFactsIncrementally(tree, next, this.path, undefined, this.state);
    this.state = r.state;
    this.reused = r.reused;
    const whole = extractPythonFacts(tree, next, this.path);
    if (JSON.stringify(r.facts) !== JSON.stringify(whole)) {
      const a = r.facts.map((f) => JSON.stringify(f));
      const b = whole.map((f) => JSON.stringify(f));
      assert.fail(
        `${this.path}: ${what} (at ${from}, replacing ${to - from} with ${JSON.stringify(insert)}, ${r.reused} reused)\n` +
          `only incremental:\n  ${a.filter((x) => !b.includes(x)).slice(0, 4).join('\n  ')}\nonly whole:\n  ${b.filter((x) => !a.includes(x)).slice(0, 4).join('\n  ')}` +
          (a.length === b.length && a.every((x) => b.includes(x)) ? '\n(same facts, another order)' : ''),
      );
    }
  }
}

const MODULE = [
  'import os',
  'import threading',
  'from app.store import Store',
  '',
  'LOCK = threading.Lock()',
  '',
  '',
  'def helper(path):',
  '    data = Store(path).read()',
  '    return data',
  '',
  '',
  '@register',
  'def decorated(name):',
  '    value = helper(name)',
  '    return value',
  '',
  '',
  'class Worker:',
  '    limit = 3',
  '',
  '    def __init__(self, path):',
  '        self.path = path',
  '        self.thread = threading.Thread(target=self.run)',
  '',
  '    def run(self):',
  '        items = helper(self.path)',
  '        return items',
  '',
  '    def start(self):',
  '        self.thread.start()',
  '',
  '    class Inner:',
  '        def poll(self):',
  '            count = helper("x")',
  '            return count',
  '',
  '',
  'def main():',
  '    w = Worker(os.environ["P"])',
  '    w.start()',
  '',
  '',
  "if __name__ == '__main__':",
  '    main()',
  '',
].join('\n');

describe('Python facts reused across edits: key cases', () => {
  test('an edit inside a function body keeps the other functions\' facts', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    data = Store(path).read()', '\n    extra = helper(path)');
    assert.ok(d.reused > 0, 'the other functions were not reused');
    d.replace('    items = helper(self.path)', '    items = helperx(self.path)');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('a module imported by computed name: edits that route it into another definition, or away, give the same facts', () => {
    const text = [
      'import importlib',
      '',
      '',
      'def run_check(check):',
      '    return check.probe()',
      '',
      '',
      'def load(name):',
      '    mod = importlib.import_module("app.checks." + name)',
      '    return mod',
      '',
      '',
      'def report(rows):',
      '    rows.sort()',
      '    return rows',
      '',
    ].join('\n');
    const d = new Doc(text);
    const traced = () => extractPythonFacts(d.tree, d.text, PATH).filter((f) => f.kind === 'py.method-call').length;
    assert.equal(traced(), 0, 'nothing hands the module to run_check yet');
    // An edit of `report` alone: no name that may hold the module has a method called on it.
    d.replace('    rows.sort()', '    rows.reverse()');
    assert.ok(d.reused > 0, 'a file whose computed import reaches no method call is reused');
    // `load` now hands the module to `run_check`, whose facts were kept from before: the
    // method call on its parameter is traced now, so the file is extracted whole.
    d.replace('    return mod', '    return run_check(mod)');
    assert.equal(d.reused, 0);
    assert.equal(traced(), 1);
    d.replace('    return run_check(mod)', '    return mod');
    assert.equal(traced(), 0);
    // An import whose name cannot be read leads nowhere: edits are reused again.
    d.replace('importlib.import_module("app.checks." + name)', 'importlib.import_module(name)');
    d.replace('    rows.reverse()', '    rows.sort()');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  /** A generator function and one that returns what calling it gives (`return chunks(rows)`). */
  const CHUNKS_AND_STREAM = ['def chunks(rows):', '    for r in rows:', '        yield r', '', '', 'def stream(rows):', '    return chunks(rows)', '', ''];

  test('what calling a function gives, read from another definition: edits of either keep the reader right', () => {
    const text = [
      ...CHUNKS_AND_STREAM,
      'def plain(rows):',
      '    total = len(rows)',
      '    return total',
      '',
      '',
      'def other(rows):',
      '    count = 0',
      '    return count',
      '',
      '',
      'def more(rows):',
      '    yield from rows',
      '',
    ].join('\n');
    const d = new Doc(text);
    const outcome = (name: string) => extractPythonFacts(d.tree, d.text, PATH).find((f) => f.kind === 'py.function' && f.name === name);
    assert.deepEqual((outcome('stream') as { outcome?: unknown }).outcome, { gives: 'generator' });
    // An edit elsewhere reuses the others; `stream` and `chunks` are walked every time (the Doc
    // checks every edit against a whole extraction).
    d.replace('    count = 0', '    count = 1');
    assert.ok(d.reused > 0, 'the definitions that read no other are still reused');
    // `chunks` stops yielding: `stream`, which reads it, is walked with it and follows; the
    // definitions linked to neither are reused.
    d.replace('        yield r', '        print(r)');
    assert.equal(d.reused, 3);
    assert.equal((outcome('stream') as { outcome?: unknown }).outcome, undefined);
    d.replace('        print(r)', '        yield r');
    d.replace('    count = 1', '    count = 2');
    assert.ok(d.reused > 0);
    // `plain` now returns what `more` gives, a generator no one read before, skipped by the
    // walk: that edit is extracted whole.
    d.replace('    return total', '    return more(rows)');
    assert.equal(d.reused, 0);
    assert.deepEqual((outcome('plain') as { outcome?: unknown }).outcome, { gives: 'generator' });
    d.dispose();
  });

  test('what calling a function gives, through a chain of definitions: an edit walks the whole chain and no other', () => {
    const text = [
      ...CHUNKS_AND_STREAM,
      'def outer(rows):',
      '    return stream(rows)',
      '',
      '',
      'def ticks():',
      '    yield 1',
      '',
      '',
      'def clock():',
      '    return ticks()',
      '',
      '',
      'def unrelated(rows):',
      '    count = 0',
      '    return count',
      '',
    ].join('\n');
    const d = new Doc(text);
    const outcome = (name: string) => (extractPythonFacts(d.tree, d.text, PATH).find((f) => f.kind === 'py.function' && f.name === name) as { outcome?: unknown }).outcome;
    assert.deepEqual(outcome('outer'), { gives: 'generator' });
    // An edit of a definition linked to none reuses every other one, the linked ones included.
    d.replace('    count = 0', '    count = 1');
    assert.equal(d.reused, 5);
    // `chunks` stops yielding: `outer` reads it through `stream`; `ticks` and `clock` are reused.
    d.replace('        yield r', '        print(r)');
    assert.equal(d.reused, 3);
    assert.equal(outcome('outer'), undefined);
    // Back again, from the middle of the chain's other end.
    d.replace('        print(r)', '        yield r');
    assert.equal(d.reused, 3);
    assert.deepEqual(outcome('outer'), { gives: 'generator' });
    // `clock` now returns what `stream` gives: its chain joins the other, read where it was not walked (whole).
    d.replace('    return ticks()', '    return stream(0)');
    assert.equal(d.reused, 0);
    // From now on an edit of `chunks` walks `clock` too; `ticks`, read by no one, is reused.
    d.replace('        yield r', '        yield (r)');
    assert.equal(d.reused, 2);
    d.replace('    yield 1', '    yield 2');
    assert.equal(d.reused, 5);
    d.dispose();
  });

  test('attribute writes and container stores are read from the text around the skipped definitions only', () => {
    const text = [
      'import settings',
      '',
      'settings.debug = True',
      '',
      '',
      'def first(self):',
      '    \'\'\'Docstring: x.hidden = 1, an odd quote \' and # a hash.\'\'\'',
      '    self.a = 1',
      '    self.conf["k"] = 2',
      '',
      '',
      'class Holder:',
      '    settings.verbose = False  # x.note = 1',
      '',
      '    def run(self):',
      '        self.b = 2',
      '        self.opts["x"] = 3',
      '',
      '    def other(self):',
      '        total = 0',
      '        return total',
      '',
      '',
      'settings.level = "high"',
      '',
    ].join('\n');
    const d = new Doc(text);
    const facts = () => extractPythonFacts(d.tree, d.text, PATH);
    const writes = (name?: string) => (facts().find((f) => (name ? f.kind === 'py.function' && f.name === name : f.kind === 'py.module')) as { attributeWrites?: string[] }).attributeWrites;
    assert.deepEqual(writes(), ['debug', 'verbose', 'level']);
    // Edits in `other` skip `first` and `run`; a line added moves their stores (the Doc checks each against a whole extraction).
    d.replace('        total = 0', '        total = 0\n        total += 1');
    assert.equal(d.reused, 2);
    d.replace('        total += 1', '        total += 12');
    assert.equal(d.reused, 2);
    assert.deepEqual(writes('Holder.run'), ['b']);
    assert.deepEqual(
      facts().filter((f) => f.kind === 'py.store').map((f) => [f.enclosingFunction, (f as { key: string }).key, f.range.start.line]),
      [['first', 'conf[k]', 8], ['Holder.run', 'opts[x]', 16]],
    );
    d.dispose();
  });

  test('for and del targets before a skipped definition: read up to `in` or the end of their line', () => {
    const text = [
      'import settings',
      '',
      'del settings.cache',
      'for settings.item in range(3):',
      '    pass',
      'names = [n for n',
      '         in settings.names]',
      'del settings.old   ',
      'def first(self):',
      '    self.a = 1',
      '',
      '',
      'def other(self):',
      '    total = 0',
      '    return total',
      '',
    ].join('\n');
    const d = new Doc(text);
    const writes = () => (extractPythonFacts(d.tree, d.text, PATH).find((f) => f.kind === 'py.module') as { attributeWrites?: string[] }).attributeWrites;
    assert.deepEqual(writes(), ['cache', 'item', 'old']);
    // `first` is skipped: the blank stretch in its place follows the last `del` line (the Doc checks each edit against a whole extraction).
    d.replace('    total = 0', '    total = 0\n    total += 1');
    assert.equal(d.reused, 1);
    d.replace('    total += 1', '    total += 12');
    assert.equal(d.reused, 1);
    assert.deepEqual(writes(), ['cache', 'item', 'old']);
    d.dispose();
  });

  test('same-named methods of two classes are edited in place; a getter and its setter are not', () => {
    const text = [
      'import os',
      '',
      '',
      'class Reader:',
      '    def close(self):',
      '        handle = self.handle',
      '        return handle',
      '',
      '    @property',
      '    def size(self):',
      '        return self._size',
      '',
      '    @size.setter',
      '    def size(self, value):',
      '        checked = int(value)',
      '        return checked',
      '',
      '',
      'class Writer:',
      '    def close(self):',
      '        handle = self.out',
      '        return handle',
      '',
    ].join('\n');
    const d = new Doc(text);
    // Four definitions: Reader.close, Reader.size twice, Writer.close.
    d.insertAfter('        handle = self.hand', 'x');
    assert.equal(d.reused, 1, 'Writer.close is reused while Reader.close is edited (the two size definitions are walked)');
    d.insertAfter('        handle = self.o', 'x');
    assert.equal(d.reused, 1);
    d.insertAfter('        checked = in', 'x');
    assert.equal(d.reused, 0, 'an edit in one of two definitions named Reader.size extracts the whole file');
    d.dispose();
  });

  test('words of shared state in a comment do not stop the reuse; in the code they do', () => {
    const text = [
      'import os',
      '',
      'counter = None',
      '',
      '',
      'def setup():',
      '    global counter  # set before the fork',
      '    counter = os.open("/dev/null", os.O_RDONLY)',
      '',
      '',
      'def child():',
      '    # after os.fork() the original descriptor is shared',
      '    data = os.read(counter, 10)',
      '    return data',
      '',
      '',
      'def other():',
      '    total = 0',
      '    return total',
      '',
    ].join('\n');
    const d = new Doc(text);
    // `child` is skipped, `setup` (a `global` before its comment) walked.
    d.replace('    total = 0', '    total = 1');
    assert.equal(d.reused, 1);
    d.replace('os.read(counter, 10)', 'os.read(counter, 11)');
    assert.equal(d.reused, 1);
    d.replace('    counter = os.open', '    counter = os.openx');
    assert.equal(d.reused, 0, 'an edit of a definition with a global extracts the whole file');
    // The word moves into the code: `child` forks now, and is walked from then on.
    d.replace('    data = os.read(counter, 11)', '    data = os.read(counter, 11)\n    os.fork()');
    assert.equal(d.reused, 0);
    d.replace('    total = 1', '    total = 2');
    assert.equal(d.reused, 0);
    d.dispose();
  });

  test('a typed and deleted character leaves the facts as they were', () => {
    const d = new Doc(MODULE);
    const before = JSON.stringify(extractPythonFacts(d.tree, d.text, PATH));
    d.insertAfter('    count = hel', 'x');
    assert.ok(d.reused > 0);
    d.replace('helxper("x")', 'helper("x")');
    assert.ok(d.reused > 0);
    assert.equal(JSON.stringify(d.state?.facts), before);
    d.dispose();
  });

  test('an edit at module level extracts the whole file', () => {
    const d = new Doc(MODULE);
    d.insertAfter('import os\n', 'import helper_module as helper\n');
    assert.equal(d.reused, 0);
    d.replace('LOCK = threading.Lock()', 'LOCK = threading.RLock()');
    assert.equal(d.reused, 0);
    d.dispose();
  });

  test('renaming, adding and removing functions extracts the whole file', () => {
    const d = new Doc(MODULE);
    d.replace('def helper(path):', 'def helper2(path):');
    assert.equal(d.reused, 0);
    d.insertAfter('    return value\n', '\n\ndef added():\n    return helper2("y")\n');
    assert.equal(d.reused, 0);
    d.replace('\n\ndef added():\n    return helper2("y")\n', '');
    assert.equal(d.reused, 0);
    // Back to a plain body edit: reuse again.
    d.insertAfter('    w.start()', '\n    w.run()');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('decorators: an edit in the decorated body reuses, one in the decorator does not', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    value = helper(name)', '\n    other = helper(value)');
    assert.ok(d.reused > 0);
    d.replace('@register', '@registerx');
    assert.equal(d.reused, 0);
    d.replace('@registerx', '@functools.lru_cache');
    d.dispose();
  });

  test('nested classes: a method of an inner class is a definition of its own', () => {
    const d = new Doc(MODULE);
    d.insertAfter('            count = helper("x")', '\n            more = helper(count)');
    assert.ok(d.reused > 0);
    d.replace('    class Inner:', '    class Inner2:');
    assert.equal(d.reused, 0);
    d.dispose();
  });

  test('a method that binds self.x to a call, or uses global, is never skipped nor edited in place', () => {
    const d = new Doc(MODULE);
    // __init__ binds `self.thread` (read by `start`): editing it re-extracts the whole file.
    d.insertAfter('        self.path = path', '\n        self.count = 0');
    assert.equal(d.reused, 0);
    // A body edit elsewhere still reuses the rest.
    d.insertAfter('        items = helper(self.path)', '\n        items2 = helper(self.path)');
    assert.ok(d.reused > 0);
    // Making `run` share state (`global`) falls back, and so does undoing it.
    d.insertAfter('    def run(self):', '\n        global LOCK');
    assert.equal(d.reused, 0);
    d.replace('\n        global LOCK', '');
    assert.equal(d.reused, 0);
    d.dispose();
  });

  test('facts after the edit move by the lines it added or removed', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    data = Store(path).read()', '\n\n\n    a = 1\n    b = 2');
    assert.ok(d.reused > 0);
    d.replace('\n\n\n    a = 1\n    b = 2', '');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('a syntax error extracts the whole file until it is gone', () => {
    const d = new Doc(MODULE);
    d.insertAfter('    items = helper(self.path', '(');
    assert.equal(d.reused, 0);
    assert.equal(d.state, undefined);
    d.replace('helper(self.path(', 'helper(self.path');
    assert.equal(d.reused, 0);
    d.insertAfter('    items = hel', 'x');
    assert.ok(d.reused > 0);
    d.dispose();
  });

  test('a file whose facts trace received values back to other definitions is always extracted whole', () => {
    const text = [
      'import multiprocessing',
      '',
      '',
      'def make(job):',
      '    return job, multiprocessing.Process(target=print)',
      '',
      '',
      'def launch(worker):',
      '    worker.start()',
      '',
      '',
      'def handle(job):',
      '    name, worker = make(job)',
      '    launch(worker)',
      '',
    ].join('\n');
    const d = new Doc(text);
    assert.ok(d.state?.facts.some((f) => f.kind === 'py.fork' && f.range.start.line === 8));
    // The factory now makes a spawned process: `launch`'s fork changes with it.
    d.replace('multiprocessing.Process(', 'multiprocessing.get_context("spawn").Process(');
    assert.equal(d.reused, 0);
    assert.ok(d.state?.facts.some((f) => f.kind === 'py.fork' && f.range.start.line === 8 && f.startMethod === 'spawn'));
    d.dispose();
  });

  test('a file with a heartbeat loop is always extracted whole', () => {
    const d = new Doc(`${MODULE}\ndef beat(conn):\n    while True:\n        conn.heartbeat_check()\n        wait_a_bit()\n\n\ndef wait_a_bit():\n    pause()\n`);
    d.insertAfter('    count = hel', 'x');
    assert.equal(d.reused, 0);
    d.dispose();
  });
});

describe('Python facts reused across edits: seeded random edits', () => {
  const fixtures = [...pythonFiles(join(__dirname, '..', 'fixtures')), ...pythonFiles(join(__dirname, '..', '..', 'examples'))];

  test('every Python fixture, 12 edits each: the same facts as a whole extraction', () => {
    // (Small files: this checks shapes; the joined module below checks reuse at scale.)
    const next = random(14);
    let reused = 0;
    for (const file of fixtures) {
      const d = new Doc(readFileSync(file, 'utf8'), file);
      for (let k = 0; k < 12; k++) {
        randomEdit(d, next);
        if (d.reused) reused++;
        // An edit that broke the syntax is undone (the edits after it would all start from no state).
        if (!d.state && k % 3 !== 2) d.undo();
      }
      d.dispose();
    }
    assert.ok(reused > 50, `only ${reused} edits reused facts`);
  });

  test('fixtures without heartbeat calls joined into one module, 160 edits: the same facts as a whole extraction', () => {
    const next = random(1417);
    // (A heartbeat call anywhere makes every edit a whole extraction, and so does a value traced
    // back to other definitions: modules imported by computed name, process starters' methods
    // called on received values, the class of an instance patched by method.) `from __future__`
    // only at a module's top.
    const parts = fixtures
      .map((f) => readFileSync(f, 'utf8'))
      .filter((t) => !/heartbeat|keepalive|keep_alive|\bping\b/i.test(t) && !/import_module|__import__|multiprocessing|sslyze|patch\.object\((?!os\b)[a-z_]\w*,/.test(t));
    const text = parts
      .slice(0, 60)
      .map((t) => t.replace(/^from __future__ import .*$/gm, ''))
      .join('\n\n');
    const d = new Doc(text, '/work/app/everything.py');
    let reused = 0;
    for (let k = 0; k < 160; k++) {
      randomEdit(d, next);
      if (d.reused) reused++;
      if (!d.state) d.undo();
    }
    d.dispose();
    assert.ok(reused >= 8, `only ${reused} edits reused facts`);
  });
});
