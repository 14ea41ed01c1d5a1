/**
 * The Python fact extractor reads most node shapes from the source text when the tree has no
 * syntax error (fast path) and from the tree's nodes otherwise (the path every file being
 * typed takes). Both must give the same facts: this extracts every Python fixture and
 * example both ways and compares them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';
import { extractPythonFacts } from '../../server/src/facts/python/program-facts';
import { parseSync } from '../../server/src/parsing/parser';
import { grammarsReady, listFiles } from '../harness';

const ROOT = join(__dirname, '..', '..');
const FILES = [join(ROOT, 'test', 'fixtures'), join(ROOT, 'examples')].flatMap((d) => listFiles(d)).filter((f) => f.endsWith('.py'));

before(async () => {
  await grammarsReady();
});

test('Python facts: the text shortcuts and the node path agree on every fixture and example', () => {
  assert.ok(FILES.length > 100, `expected the Python fixtures, found ${FILES.length} files`);
  let compared = 0;
  let withFacts = 0;
  for (const file of FILES) {
    const text = readFileSync(file, 'utf8');
    const tree = parseSync(text, 'python');
    try {
      if (tree.rootNode.hasError) continue; // both calls take the node path anyway
      const rel = relative(ROOT, file);
      const fast = extractPythonFacts(tree, text, rel);
      const slow = extractPythonFacts(tree, text, rel, { textShortcuts: false });
      assert.deepEqual(fast, slow, `${rel}: facts differ between the text shortcuts and the node path`);
      compared++;
      if (fast.some((f) => f.kind === 'py.call' || f.kind === 'py.thread-start')) withFacts++;
    } finally {
      tree.delete();
    }
  }
  // The comparison must have covered real code, not only files without calls.
  assert.ok(compared > 100 && withFacts > 50, `compared ${compared} files, ${withFacts} with call facts`);
});
