/**
 * The cache checks an entry's shape with plain predicates (`isFileAnalysisShape` in
 * engine/cache.ts: zod is not loaded for a scan), a facts file with the zod shape of
 * scan/facts-file.ts (its messages name the key). The two must accept the same analyses: real
 * ones of every language, and each broken copy below is refused by both.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { isFileAnalysisShape } from '../../server/src/engine/cache';
import { fileAnalysisSchema } from '../../server/src/scan/facts-file';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

const EXAMPLES = join(__dirname, '..', '..', 'examples');

function analysisOf(file: string): FileAnalysis {
  const analysis = analyzeText(file, readFileSync(join(EXAMPLES, file), 'utf8'));
  assert.ok(analysis, file);
  return JSON.parse(JSON.stringify(analysis)) as FileAnalysis;
}

/** Copies of `a` broken in one place each, named by what was broken. */
function brokenCopies(a: FileAnalysis): [string, unknown][] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- copies broken on purpose
  type Loose = Record<string, any>;
  const copy = () => JSON.parse(JSON.stringify(a)) as Loose;
  const out: [string, unknown][] = [];
  const with_ = (name: string, change: (c: Loose) => void) => {
    const c = copy();
    change(c);
    out.push([name, c]);
  };
  with_('no path', (c) => delete c.path);
  with_('language unknown', (c) => (c.language = 'rust'));
  with_('content hash in capitals', (c) => (c.contentHash = c.contentHash.toUpperCase().replace(/^[0-9]/, 'A')));
  with_('content hash short', (c) => (c.contentHash = c.contentHash.slice(1)));
  with_('syntax errors not an array', (c) => (c.syntaxErrors = {}));
  with_('a syntax error with a negative line', (c) => (c.syntaxErrors = [{ start: { line: -1, character: 0 }, end: { line: 0, character: 0 } }]));
  with_('a syntax error with a fractional column', (c) => (c.syntaxErrors = [{ start: { line: 1, character: 0.5 }, end: { line: 1, character: 2 } }]));
  with_('a suppression of another scope', (c) => (c.suppressions = [{ scope: 'block', ruleIds: [], range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, targetLine: 0 }]));
  with_('a fact without a kind', (c) => (c.facts = [{ name: 'x' }]));
  with_('a fact that is a string', (c) => (c.facts = ['x']));
  with_('notes with a number', (c) => (c.notes = [1]));
  with_('handle summary without pending leaks', (c) => (c.handleSummary = { returnedHandles: [] }));
  with_('handle summary null', (c) => (c.handleSummary = null));
  with_('an array', () => undefined);
  out[out.length - 1][1] = [a];
  if (a.localFindings.length > 0) {
    with_('a finding of unknown severity', (c) => (c.localFindings[0].severity = 'fatal'));
    with_('a finding without related', (c) => delete c.localFindings[0].related);
    with_('a fix of unknown applicability', (c) => (c.localFindings[0].fixes = [{ title: 't', applicability: 'maybe', edits: [] }]));
    with_('a fix edit without text', (c) => (c.localFindings[0].fixes = [{ title: 't', applicability: 'safe', edits: [{ range: c.localFindings[0].range }] }]));
  }
  return out;
}

describe('cache entry shape', () => {
  const files = ['python/static_files.py', 'c/config_reader.c', 'typescript/download.ts', 'py-eventlet-heartbeat-wsgi/incident/compute_api/amqp.py'];
  test('real analyses pass both checks, with unknown keys too', () => {
    const zodShape = fileAnalysisSchema();
    for (const file of files) {
      const a = analysisOf(file);
      assert.equal(isFileAnalysisShape(a), true, file);
      assert.equal(zodShape.safeParse(a).success, true, file);
      const extra = { ...a, notAnalysed: 'x', somethingNew: 1 };
      assert.equal(isFileAnalysisShape(extra), true, file);
      assert.equal(zodShape.safeParse(extra).success, true, file);
    }
  });

  test('each broken copy is refused by both checks', () => {
    const zodShape = fileAnalysisSchema();
    for (const file of files) {
      const a = analysisOf(file);
      for (const [name, broken] of brokenCopies(a)) {
        assert.equal(zodShape.safeParse(broken).success, false, `${file}: zod accepts ${name}`);
        assert.equal(isFileAnalysisShape(broken), false, `${file}: the cache accepts ${name}`);
      }
    }
  });
});
