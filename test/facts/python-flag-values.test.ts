/**
 * The flag facts of a Python file (`facts/python/flag-values.ts`): which branches test a flag
 * and for which truth value, the `if`/`else` chain each fact is in, what calls pass (literal
 * flags, the caller's parameters, reads of its own state), which call made a method call's
 * receiver, what an `__init__` keeps, and which attributes and container keys code stores.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { extractPythonFacts, type PythonFact } from '../../server/src/facts/python/program-facts';
import { parseSync } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

const SOURCE = [
  'import os', // 1
  '', // 2
  'class Server:', // 3
  '    def __init__(self, daemon=False, name=None):', // 4
  '        self.__daemon = daemon', // 5
  '        self._quiet = True', // 6
  '        self.name = name', // 7
  '        self.conf = {}', // 8
  '', // 9
  '    def start(self, force=False):', // 10
  '        if self.__daemon:', // 11
  '            os.fork()', // 12
  '        else:', // 13
  '            os.getpid()', // 14
  '        if not force:', // 15
  '            os.sync()', // 16
  '        self.conf["mode"] = "on"', // 17
  '        self.conf.update(os.environ)', // 18
  '        self.name = "x"', // 19
  '', // 20
  '    @staticmethod', // 21
  '    def direct(conf, daemon=True):', // 22
  '        server = None', // 23
  '        server = Server(daemon)', // 24
  '        server.start(conf["x"])', // 25
  '        return server', // 26
  '', // 27
  '    def launch(self):', // 28
  '        Server.direct(self.conf, False)', // 29
  '        self.spawn(self.conf["background"], detach=self.conf.get("detach", True))', // 30
  '', // 31
  '    def spawn(self, background, detach):', // 32
  '        if background:', // 33
  '            os.fork()', // 34
  '        for item in range(3):', // 35
  '            if item:', // 36
  '                os.sync()', // 37
  '            else:', // 38
  '                os.getpid()', // 39
].join('\n');

function factsOf(text: string): PythonFact[] {
  const tree = parseSync(text, 'python');
  try {
    return extractPythonFacts(tree, text, 'app/server.py');
  } finally {
    tree.delete();
  }
}

const at = (line: number) => (f: PythonFact) => f.range.start.line === line - 1;

test('branches of `if self.flag:` / `if not param:` carry the flag and truth value; if/else chains outside loops carry the branch', () => {
  const facts = factsOf(SOURCE);
  const fork = facts.find((f) => f.kind === 'py.fork' && at(12)(f))!;
  assert.deepEqual(fork.flagGuards, [{ subject: { attr: 'Server.__daemon' }, truthy: true }]);
  assert.deepEqual(fork.branches, [{ at: { line: 10, character: 8 }, index: 0 }]);
  const getpid = facts.find((f) => f.kind === 'py.call' && f.callee === 'os.getpid' && at(14)(f))!;
  assert.deepEqual(getpid.flagGuards, [{ subject: { attr: 'Server.__daemon' }, truthy: false }]);
  assert.deepEqual(getpid.branches, [{ at: { line: 10, character: 8 }, index: 1 }]);
  // `if not force:` has no `else`: a flag guard, no branch chain.
  const sync = facts.find((f) => f.kind === 'py.call' && f.callee === 'os.sync' && at(16)(f))!;
  assert.deepEqual(sync.flagGuards, [{ subject: { param: 'force' }, truthy: false }]);
  assert.equal(sync.branches, undefined);
  // `if background:` tests a parameter; the `if item:` inside the loop is no branch chain of the run.
  const spawnFork = facts.find((f) => f.kind === 'py.fork' && at(34)(f))!;
  assert.deepEqual(spawnFork.flagGuards, [{ subject: { param: 'background' }, truthy: true }]);
  assert.equal(spawnFork.branches, undefined);
  const inLoop = facts.find((f) => f.kind === 'py.call' && f.callee === 'os.sync' && at(37)(f))!;
  assert.equal(inLoop.flagGuards, undefined, 'a loop variable is no steady flag');
  assert.equal(inLoop.branches, undefined, 'a loop runs a chain more than once');
});

test('an __init__ keeps its parameter and boolean stores; functions list what they assign; container stores are facts', () => {
  const facts = factsOf(SOURCE);
  const init = facts.find((f) => f.kind === 'py.function' && f.name === 'Server.__init__');
  assert.ok(init?.kind === 'py.function');
  assert.deepEqual(init.flagStores, [
    { attr: 'Server.__daemon', param: 'daemon' },
    { attr: '_quiet', value: true },
    { attr: 'name', param: 'name' },
  ]);
  assert.deepEqual(init.params, [{ name: 'daemon', default: false }, { name: 'name', default: null }]);
  assert.deepEqual(init.attributeWrites, ['conf']);
  const start = facts.find((f) => f.kind === 'py.function' && f.name === 'Server.start');
  assert.ok(start?.kind === 'py.function');
  assert.deepEqual(start.attributeWrites, ['name']);
  assert.deepEqual(start.params, [{ name: 'force', default: false }]);
  const stores = facts.filter((f) => f.kind === 'py.store').map((f) => `${f.range.start.line + 1} ${f.kind === 'py.store' ? f.key : ''}`);
  assert.deepEqual(stores, ['17 conf[mode]', '18 conf[*]']);
});

test('calls record literal flags, the caller\'s parameters and reads of its own state; a method call names the call that made its receiver', () => {
  const facts = factsOf(SOURCE);
  const direct = facts.find((f) => f.kind === 'py.function' && f.name === 'Server.direct');
  assert.ok(direct?.kind === 'py.function');
  assert.equal(direct.methodKind, 'static');
  assert.deepEqual(direct.params, [{ name: 'conf' }, { name: 'daemon', default: true }]);
  const ctor = facts.find((f) => f.kind === 'py.call' && f.callee === 'Server' && at(24)(f));
  assert.ok(ctor?.kind === 'py.call');
  assert.deepEqual(ctor.flagArgs, [{ at: 0, param: 'daemon' }]);
  const started = facts.find((f) => (f.kind === 'py.object-start' || f.kind === 'py.method-call') && at(25)(f));
  assert.ok(started && (started.kind === 'py.object-start' || started.kind === 'py.method-call'));
  assert.deepEqual(started.producerAt, { line: 23, character: 17 });
  const call29 = facts.find((f) => f.kind === 'py.call' && at(29)(f));
  assert.ok(call29?.kind === 'py.call');
  assert.deepEqual(call29.flagArgs, [{ at: 0, read: 'conf' }, { at: 1, value: false }]);
  const call30 = facts.find((f) => f.kind === 'py.call' && f.callee === 'Server.spawn');
  assert.ok(call30?.kind === 'py.call');
  assert.equal(call30.onSelf, true);
  assert.deepEqual(call30.flagArgs, [
    { at: 0, read: 'conf[background]' },
    { at: 'detach', read: 'conf[detach]' },
  ]);
});

test('a receiver bound to something else than its one constructor call has no known producer', () => {
  const facts = factsOf(SOURCE.replace('        return server', '        server = make()\n        return server'));
  const started = facts.find((f) => (f.kind === 'py.object-start' || f.kind === 'py.method-call') && at(25)(f));
  assert.ok(started && (started.kind === 'py.object-start' || started.kind === 'py.method-call'));
  assert.equal(started.producerAt, undefined);
});
