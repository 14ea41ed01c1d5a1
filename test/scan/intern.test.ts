/**
 * scan/intern.ts: the analyses a scan holds share one copy of each short string; the data reads
 * the same after interning (deep equality), long strings are left alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StringInterner } from '../../server/src/scan/intern';

/** A fresh copy of `text` (not the literal V8 already shares). */
const copyOf = (text: string) => JSON.parse(JSON.stringify(text)) as string;

test('equal strings in object values and array elements become one copy, and the data is unchanged', () => {
  const interner = new StringInterner();
  const first = { kind: copyOf('py.call'), facts: [{ kind: copyOf('py.call'), names: [copyOf('open'), copyOf('local')] }], line: 3, none: null };
  const second = JSON.parse(JSON.stringify(first)) as typeof first;
  const before = structuredClone(second);
  interner.internStrings(first);
  assert.equal(interner.internStrings(second), second, 'interned in place');
  assert.deepEqual(second, before);
  // Which copy a value holds cannot be seen from JavaScript (equal strings are ===); the table
  // shows that one copy per distinct text is kept.
  assert.deepEqual([...(interner as unknown as { known: Map<string, string> }).known.keys()].sort(), ['local', 'open', 'py.call']);
});

test('strings longer than 200 characters are not kept', () => {
  const interner = new StringInterner();
  const long = 'x'.repeat(201);
  const data = { message: long };
  interner.internStrings(data);
  assert.equal(data.message, long);
  assert.equal((interner as unknown as { known: Map<string, string> }).known.size, 0);
});
