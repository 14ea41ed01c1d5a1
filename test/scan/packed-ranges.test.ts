/**
 * scan/packed-ranges.ts: analyses parsed with their ranges packed read exactly as plain JSON
 * does — every range value, the same range object on every read — and text that is not a
 * range in the usual form is left as it was.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PackedRanges } from '../../server/src/scan/packed-ranges';

const range = (a: number, b: number, c: number, d: number) => ({ start: { line: a, character: b }, end: { line: c, character: d } });

/** `value` as plain data, each `range` read through the object (getter or own property). */
function read(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(read);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (key !== '\u0001range') out[key] = read(record[key]);
  if ('range' in record) out.range = read(record.range);
  return out;
}

test('ranges read the same as parsed JSON, nested ones too, and a range read twice is the same object', () => {
  const facts = [
    { kind: 'py.call', range: range(3, 4, 3, 19), callee: 'os.fork', enclosingFunction: '' },
    { kind: 'py.fork', range: range(10, 0, 12, 1), fix: { kind: 'insert', range: range(10, 8, 10, 8) }, guards: [{ range: range(1, 2, 3, 4) }] },
  ];
  const text = JSON.stringify(facts);
  const ranges = new PackedRanges();
  const parsed = ranges.parse(text) as typeof facts;
  assert.deepEqual(read(parsed), JSON.parse(text));
  const first = parsed[1].fix!.range;
  assert.equal(parsed[1].fix!.range, first);
  assert.deepEqual(first, range(10, 8, 10, 8));
  // A second analysis through the same table.
  const more = ranges.parse(JSON.stringify([{ kind: 'py.ref', range: range(7, 1, 7, 9) }])) as { range: unknown }[];
  assert.deepEqual(more[0].range, range(7, 1, 7, 9));
  assert.deepEqual(parsed[0].range, range(3, 4, 3, 19));
});

test('a range in another form, and text that only looks like one inside a string, stay as they are', () => {
  const other = '{"range":{"end":{"line":2,"character":0},"start":{"line":1,"character":0}},"message":"\\"range\\":{\\"start\\":{\\"line\\":1,\\"character\\":2},\\"end\\":{\\"line\\":3,\\"character\\":4}}"}';
  const parsed = new PackedRanges().parse(other) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['range', 'message']);
  assert.deepEqual(parsed, JSON.parse(other));
});

/** An analysis as `analyze.ts` lays it out (facts, then the handle summary, then the rest), as JSON text. */
function analysisText(language: string, withSummary: boolean): string {
  const finding = { ruleId: 'unreleased-file', path: '/w/a.py', range: range(4, 0, 4, 9), message: 'm', related: [{ path: '/w/a.py', range: range(1, 0, 1, 2), message: 'r' }] };
  return JSON.stringify({
    path: '/w/a.py',
    language,
    contentHash: 'h',
    facts: [
      { range: range(3, 4, 3, 19), enclosingFunction: '', kind: 'py.call', callee: 'os.fork', origin: 'import' },
      { kind: 'py.module', enclosingFunction: '', range: range(0, 0, 9, 0), importInsert: { line: 1, character: 0 } },
    ],
    ...(withSummary ? { handleSummary: { returnedHandles: [{ name: 'f', range: range(2, 0, 2, 5) }] } } : {}),
    syntaxErrors: [range(5, 0, 5, 1)],
    suppressions: [],
    localFindings: [finding],
    notes: [],
  });
}

test('parseAnalysis packs the ranges of a Python analysis\'s facts only: findings and summaries stay plain data', () => {
  for (const withSummary of [true, false]) {
    const text = analysisText('python', withSummary);
    const parsed = new PackedRanges().parseAnalysis(text) as Record<string, unknown> & { facts: Record<string, unknown>[]; localFindings: Record<string, unknown>[] };
    // The facts' ranges are packed (not own properties until read) ...
    assert.deepEqual(Object.keys(parsed.facts[0]), ['\u0001range', 'enclosingFunction', 'kind', 'callee', 'origin']);
    assert.deepEqual(read(parsed), JSON.parse(text));
    assert.deepEqual(parsed.facts[0].range, range(3, 4, 3, 19));
    // ... the rest is what JSON.parse gives: a copy of a finding keeps its range, in its place.
    assert.deepEqual(Object.keys({ ...parsed.localFindings[0] }), ['ruleId', 'path', 'range', 'message', 'related']);
    const plain = JSON.parse(text) as typeof parsed;
    assert.deepEqual(parsed.localFindings, plain.localFindings);
    assert.deepEqual(parsed.handleSummary, plain.handleSummary);
    assert.deepEqual(parsed.syntaxErrors, plain.syntaxErrors);
  }
});

test('parseAnalysis reads other languages and texts laid out otherwise as plain JSON', () => {
  const c = analysisText('c', true);
  assert.deepEqual(Object.keys((new PackedRanges().parseAnalysis(c) as { facts: object[] }).facts[0])[0], 'range');
  // Keys in another order: the facts are not where the layout says, and nothing is packed.
  const reordered = JSON.stringify({ ...(JSON.parse(analysisText('python', true)) as object), facts: undefined, extra: [{ range: range(1, 1, 1, 1) }] }).replace('"extra"', '"facts"');
  const parsed = new PackedRanges().parseAnalysis(reordered) as { facts: object[]; localFindings: object[] };
  assert.deepEqual(parsed, JSON.parse(reordered));
  assert.deepEqual(Object.keys(parsed.facts[0]), ['range']);
});

test('with keep: false the fact does not hold its range: a range read again soon is the same object, read after many others an equal new one', () => {
  const ranges = new PackedRanges({ keep: false });
  const parsed = ranges.parseAnalysis(analysisText('python', true)) as { facts: { range: unknown }[] };
  const first = parsed.facts[0].range;
  assert.deepEqual(first, range(3, 4, 3, 19));
  assert.equal(parsed.facts[0].range, first);
  assert.equal(Object.keys(parsed.facts[0]).includes('range'), false);
  // Ranges enough to take every slot of the recent ones.
  const many = Array.from({ length: 9000 }, (_, k) => ({ range: range(k, 0, k, 1), enclosingFunction: '', kind: 'py.ref' }));
  const more = ranges.parseAnalysis(JSON.stringify({ path: '/w/b.py', language: 'python', contentHash: 'h', facts: many, syntaxErrors: [] })) as { facts: { range: unknown }[] };
  for (const f of more.facts) assert.ok(f.range);
  assert.deepEqual(more.facts[8999].range, range(8999, 0, 8999, 1));
  const again = parsed.facts[0].range;
  assert.deepEqual(again, first);
  assert.notEqual(again, first);
});
