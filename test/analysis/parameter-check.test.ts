/**
 * The text pre-check of the parameter passes (`analysis/python/stored-parameters.ts`,
 * `parameterCheck`): which names at a position may be parameters of the def around them,
 * before the tree is asked. It may say yes too often (the tree confirms), never no for a real
 * parameter: defaults with nested brackets, multi-line headers, nested defs that ended before
 * the line, `async def`, and a plain function's parameter named `cls` are read.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { exportedSignature, parameterCheck } from '../../server/src/analysis/python/stored-parameters';
import { parseSync, type Node } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

const SOURCE = [
  'def outer(stream, key=lambda s: str(len(s)), *, journal=None):',
  '    def note(message):',
  '        journal.write(message)',
  '    with lock:',
  '        stream.close()',
  '',
  'async def multi(',
  '    first,',
  '    size=(1, (2, 3)),',
  '    last=None,',
  '):',
  '    return last',
  '',
  'def plain(a):',
  '    return b',
  '',
  'def register(cls):',
  '    REGISTRY.append(cls)',
  '    return cls',
  '',
].join('\n');

/** Whether `name`, at its first occurrence after `marker`, passes the pre-check. */
function passes(marker: string, name: string): boolean {
  const at = SOURCE.indexOf(name, SOURCE.indexOf(marker));
  assert.ok(at >= 0, `${name} after ${marker}`);
  return parameterCheck(SOURCE)(at, name);
}

describe('the parameter pre-check', () => {
  test('a release after a nested def that ended is checked against the outer def', () => {
    assert.equal(passes('stream.close', 'stream'), true);
    assert.equal(passes('journal.write', 'journal'), true);
  });

  test('parameters after defaults with nested brackets, in a multi-line async header, are read', () => {
    assert.equal(passes('return last', 'last'), true);
  });

  test('a plain function whose parameter is named cls (a class decorator) has it checked like any other', () => {
    assert.equal(passes('return cls', 'cls'), true);
  });

  test('a name that is no parameter of any def around it does not pass', () => {
    assert.equal(passes('return b', 'b'), false);
    assert.equal(passes('with lock', 'lock'), false);
  });
});

describe('the parameters callers pass by position', () => {
  before(async () => {
    await grammarsReady();
  });

  /** The names of the def named `name` in `source`, as the stored and released passes number them. */
  function names(source: string, name: string, path: string[]): string[] | undefined {
    const defs = parseSync(source, 'python').rootNode.descendantsOfType('function_definition') as Node[];
    const def = defs.find((d) => d.childForFieldName('name')?.text === name)!;
    return exportedSignature(def, () => path)?.names;
  }

  test('a parameter after the positional-only marker `/` is still passed by position; none after `*args` or `*`', () => {
    assert.deepEqual(names('def keep(tag, /, handle, *rest, late=None):\n    pass\n', 'keep', ['keep']), ['tag', 'handle']);
    assert.deepEqual(names('def keep(tag, *, handle):\n    pass\n', 'keep', ['keep']), ['tag']);
  });

  test("a method's self is not counted, with or without the marker", () => {
    const source = 'class Pool:\n    def adopt(self, handle, /, note=None):\n        pass\n';
    assert.deepEqual(names(source, 'adopt', ['Pool', 'adopt']), ['handle', 'note']);
  });
});
