/**
 * The delay before a document's analysis (lsp/validation.ts): the `hazardLens.debounceMs`
 * setting (default 50 ms) when passes are cheap, lengthened to half the last pass's cost (the
 * document's analysis plus its folder's evaluation) when that is longer, never beyond the cap;
 * the setting is validated. Timers are mocked; nothing here is timed.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { DEFAULT_CONFIG, parseConfig } from '../../server/src/engine/config';
import { DEFAULT_DEBOUNCE_MS, passDelay, Validator } from '../../server/src/lsp/validation';

function validatorWith(evaluationCost: number, settingsOf?: { debounceMs: number }) {
  const started: string[] = [];
  const documents = { get: (uri: string) => ({ uri, path: `/w/${uri}`, grammar: 'python', document: { version: 1 } }) };
  const settings = {
    get: (uri: string) => {
      started.push(uri);
      // With settings: `onSave`, so a `change` pass stops right after reading them.
      if (settingsOf) return Promise.resolve({ ...DEFAULT_CONFIG, ...settingsOf, run: 'onSave' });
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

test('a pass that cost up to twice the debounce starts after the debounce alone', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(100);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(49);
  assert.deepEqual(started, []);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py']);
});

test('a folder whose evaluation costs 300 ms delays the next pass by half that; a newer keystroke restarts the wait', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(300);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(100);
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(149);
  assert.deepEqual(started, []);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py']);
});

test('hazardLens.debounceMs replaces the default once a pass has read the settings', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { validator, started } = validatorWith(3, { debounceMs: 200 });
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(50);
  assert.deepEqual(started, ['a.py']);
  await new Promise((resolve) => setImmediate(resolve)); // the pass reads its settings
  validator.schedule('a.py', 'change');
  t.mock.timers.tick(199);
  assert.deepEqual(started, ['a.py']);
  t.mock.timers.tick(1);
  assert.deepEqual(started, ['a.py', 'a.py']);
});

test('passDelay: the debounce, or half the last cost, at most two seconds', () => {
  assert.equal(passDelay(50, 0), 50);
  assert.equal(passDelay(50, 100), 50);
  assert.equal(passDelay(50, 101), 51);
  assert.equal(passDelay(0, 30), 15);
  assert.equal(passDelay(50, 10_000), 2000);
  assert.equal(passDelay(2000, 10_000), 2000);
});

test('hazardLens.debounceMs is validated: a whole number of milliseconds from 0 to 2000', () => {
  assert.equal(DEFAULT_CONFIG.debounceMs, 50);
  assert.equal(parseConfig({ debounceMs: 0 }, []).config.debounceMs, 0);
  assert.equal(parseConfig({ debounceMs: 120 }, []).config.debounceMs, 120);
  for (const bad of [-1, 2001, 12.5, '50', null]) {
    const parsed = parseConfig({ debounceMs: bad }, []);
    assert.equal(parsed.config.debounceMs, 50, JSON.stringify(bad));
    assert.match(parsed.settingErrors.join('\n'), /"debounceMs" is invalid/, JSON.stringify(bad));
  }
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
