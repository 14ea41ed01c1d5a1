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
