/**
 * wsgi-response-not-closed only looks at the functions whose text holds every token of one of
 * its shapes (`WSGI_SHAPE_TOKENS`), found from the token positions: these tests pin that the
 * selection maps positions to the right functions (nested, methods, after non-ASCII text, whose
 * string indices are not byte offsets), keeps the rule's scopes (a lambda is not visited), and
 * that the keyword prefilter stays consistent with the conjunctions.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { RULE_KEYWORDS, ruleMayApply } from '../../server/src/engine/prefilter';
import { analyzeWsgiStrict } from '../../server/src/analysis/python/wsgi';
import { WSGI_KEYWORDS, WSGI_SHAPE_TOKENS } from '../../server/src/knowledge/python-wsgi';
import { parseSync } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

const ID = 'wsgi-response-not-closed';

before(async () => {
  await grammarsReady();
});

function found(lines: string[]): string[] {
  const text = lines.join('\n');
  const tree = parseSync(text, 'python');
  try {
    return analyzeWsgiStrict(tree, text).map((i) => `${i.kind}:${i.range.start.line + 1}:${i.range.start.character}`);
  } finally {
    tree.delete();
  }
}

const MODULE = [
  '# Grüße 😀😀😀 — text before the functions whose UTF-8 length differs from its length in JS',
  'def unrelated(a, b):',
  '    return a + b  # 😀 environ',
  '',
  'class Middleware:',
  '    def __call__(self, environ, start_response):',
  '        body = self.app(environ, start_response)',
  '        return [b"".join(body)]',
  '',
  'def outer(app):',
  '    label = "ü"',
  '    def inner(env, start_response):',
  '        for chunk in app(env, start_response):',
  '            pass',
  '        return []',
  '    return inner',
  '',
  'def lines(handle):',
  '    for line in handle:',
  '        yield line',
  '    handle.close()',
  '',
];

describe('function selection', () => {
  test('methods, nested functions and generators after non-ASCII text are all found, in order', () => {
    assert.deepEqual(found(MODULE), ['iterated:7:15', 'iterated:13:21', 'close-after-loop:21:4']);
  });

  test('the same functions are found after a long non-ASCII prefix and between other functions', () => {
    const pad = Array.from({ length: 40 }, (_, i) => `def pad${i}(x):  # ${'é😀'.repeat(i)}\n    return x`);
    const shifted = found([...pad, ...MODULE, ...pad]).map((k) => k.replace(/:(\d+):/, (_, l: string) => `:${Number(l) - 80}:`));
    assert.deepEqual(shifted, ['iterated:7:15', 'iterated:13:21', 'close-after-loop:21:4']);
  });

  test('a generator needs its own yield and close: split across two functions, nothing', () => {
    assert.deepEqual(found(['def a(h):', '    for x in h:', '        yield x', '', 'def b(h):', '    for x in h:', '        pass', '    h.close()', '']), []);
  });

  test('an application call inside a lambda is not in any function body the rule visits', () => {
    assert.deepEqual(found(['def mw(app):', '    return lambda environ, start_response: list(app(environ, start_response))', '']), []);
    assert.deepEqual(found(['def mw(app, environ, start_response):', '    return list(app(environ, start_response))', '']), ['iterated:2:16']);
  });

  test('environ names in strings and comments only do not make a finding', () => {
    assert.deepEqual(found(['def f(app):', '    # app(environ, start_response)', '    return "environ, start_response"', '']), []);
  });
});

describe('quick check and keyword prefilter', () => {
  test('every shape has a prefilter keyword among its tokens (the prefilter can only say "any of")', () => {
    assert.deepEqual(RULE_KEYWORDS[ID]?.python, WSGI_KEYWORDS);
    for (const all of WSGI_SHAPE_TOKENS) assert.ok(all.some((t) => WSGI_KEYWORDS.includes(t)), `no prefilter keyword for ${all.join(' + ')}`);
  });

  test('`yield` alone lets a file past the prefilter but not past the rule, which also needs `close`', () => {
    const gen = ['def lines(handle):', '    for line in handle:', '        yield line', '    handle.shutdown()', ''];
    assert.equal(ruleMayApply(ID, 'python', gen.join('\n')), true);
    assert.deepEqual(found(gen), []);
    assert.deepEqual(found(gen.map((l) => l.replace('shutdown', 'close'))), ['close-after-loop:4:4']);
  });
});
