/**
 * Writes `schemas/hazard-lens.schema.json`, the JSON schema of `.hazard-lens.json` generated
 * from the zod shapes the engine validates with (`server/src/engine/config.ts`). VS Code uses
 * it through the `jsonValidation` contribution; `test/engine/knowledge.test.ts` checks that the
 * committed file is up to date. Run: `npm run schema` (`--check`: fail when it is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchemaText } from '../server/src/engine/config';

const file = join(__dirname, '..', 'schemas', 'hazard-lens.schema.json');
const text = configSchemaText();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    process.stderr.write(`${file} is out of date: run npm run schema\n`);
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
}
