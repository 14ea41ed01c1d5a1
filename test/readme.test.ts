import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withTable } from '../scripts/rules-table';

test('README rule table matches the registry (regenerate with `npm run docs:rules`)', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const table = (text: string) => text.slice(text.indexOf('<!-- rules-table:start -->'), text.indexOf('<!-- rules-table:end -->'));
  assert.equal(table(readme), table(withTable(readme)));
});
