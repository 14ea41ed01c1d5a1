/**
 * Generates the README's rule table from the registry (`npm run docs:rules`), so the table
 * cannot drift from the rules; test/readme.test.ts checks it is up to date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../server/src/rules/index';

// JavaScript is analysed as `typescript`: every TypeScript rule applies to it.
const LANGUAGE_NAMES = { c: 'C', python: 'Python', typescript: 'TypeScript, JavaScript' } as const;
const START = '<!-- rules-table:start -->';
const END = '<!-- rules-table:end -->';

export function rulesTable(): string {
  return RULES.map((r) => {
    const m = r.meta;
    const langs = m.languages.map((l) => LANGUAGE_NAMES[l]).join(', ');
    const fixes = m.fixes.length ? m.fixes.join(', ') : '—';
    const preview = m.preview ? ' (preview)' : '';
    return `| [\`${m.id}\`](docs/rules/${m.id}.md)${preview} | ${langs} | ${m.defaultSeverity} | ${fixes} | ${m.summary} |`;
  }).join('\n');
}

export function withTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error('README.md lacks the rules-table markers');
  return readme.slice(0, start + START.length) + '\n' + rulesTable() + '\n' + readme.slice(end);
}

if (require.main === module) {
  const path = join(__dirname, '..', 'README.md');
  writeFileSync(path, withTable(readFileSync(path, 'utf8')));
  console.log(`README.md: ${RULES.length} rules in the table`);
}
