/**
 * The delay before a document's analysis (lsp/validation.ts): the short default debounce when
 * passes are cheap, lengthened to the last pass's cost (the document's analysis plus its
 * folder's evaluation), never beyond the cap. Timers are mocked; nothing here is timed.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { DEFAULT_DEBOUNCE_MS, Validator } from '../../server/src/lsp/validation';

function validatorWith(evaluationCost: number) {
  const started: string[] = [];
  const documents = { get: (uri: string) => ({ uri, path: `/w/${uri}`, grammar: 'python', document: { version: 1 } }) };
  const settings = {
    get: (uri: string) => {
      started.push(uri);
      return new Promise(() => undefined); // the pass goes no further
    },
  };
  const evaluator = { cost: () => evaluationCost };
  const index = { groupOf: () => 'folder' };
  const validator = new Validator(documents as never, settings as never, {} as never, {} as never, {} as never, index as never, evaluator as never);
  return { validator, started };
}

test('a cheap pass waits only the default debounce (50 ms)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(3);
  assert.equal(DEFAULT_DEBOUNCE_MS, 50);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(49);
  assert.deepEqual(started, []);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py']);
});

test('a folder whose evaluation costs 300 ms delays the next pass by that much; a newer keystroke restarts the wait', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(300);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(200);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(299);
  assert.deepEqual(started, []);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py']);
});

test('the delay is capped at two seconds', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(60_000);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(1999);
  assert.deepEqual(started, []);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py']);
  mock.reset();
});
