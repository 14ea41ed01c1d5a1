/**
 * Rule fixtures: every file under test/fixtures/rules/<rule-id>/ is analysed and its
 * inline expectations checked (`ruleid:` = a finding of that rule starts on the next line,
 * `ok:` = none does, and no finding may start on a line without `ruleid:`). Where fixes
 * apply, `<name>.fixed.<ext>` is the expected text after fixing to a fixpoint; the fixed
 * text must parse without new errors. Plus the harness invariants (ruff `test.rs`): every
 * rule has docs and fixtures in each of its languages, and the fix applicabilities a rule
 * declares are exactly the ones its fixtures see it emit.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../server/src/engine/analyze';
import { evaluate } from '../server/src/engine/engine';
import { chooseFix, fixAll } from '../server/src/engine/fixes';
import type { FixApplicability } from '../server/src/text/edits';
import type { LanguageId } from '../server/src/text/locations';
import { languageForPath } from '../server/src/parsing/parser';
import { RULES } from '../server/src/rules/index';
import { grammarsReady, javascriptSyntaxErrors, parseExpectations } from './harness';

const ROOT = join(__dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'rules');
const DOCS = join(ROOT, 'docs', 'rules');

/** A JavaScript fixture (its text, and its fixed text, must be plain JavaScript). */
function isJavaScriptFixture(name: string): boolean {
  return /\.(?:js|mjs|cjs|jsx)$/.test(name);
}

function isFixedFile(name: string): boolean {
  return /\.fixed\.[a-z]+$/.test(name);
}

function fixedPathFor(file: string): string {
  const ext = extname(file);
  return file.slice(0, -ext.length) + '.fixed' + ext;
}

function fixtureFiles(ruleId: string): string[] {
  const dir = join(FIXTURES, ruleId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => languageForPath(n) && !isFixedFile(n))
    .sort()
    .map((n) => join(dir, n));
}

const seenApplicability = new Map<string, Set<FixApplicability>>();

before(async () => {
  await grammarsReady();
});

for (const rule of RULES) {
  const id = rule.meta.id;
  describe(`rule ${id}`, () => {
    for (const file of fixtureFiles(id)) {
      const rel = relative(ROOT, file);
      test(basename(file), () => {
        const text = readFileSync(file, 'utf8');
        if (isJavaScriptFixture(file)) assert.deepEqual(javascriptSyntaxErrors(file, text), [], `${rel}: a JavaScript fixture must be plain JavaScript`);
        const analysis = analyzeText(rel, text);
        assert.ok(analysis, `${rel}: unsupported fixture type`);
        assert.deepEqual(analysis.notes, [], `${rel}: analysis notes`);
        const findings = evaluate([analysis]).findings.filter((f) => f.ruleId === id);
        const expectations = parseExpectations(text).filter((e) => e.ruleId === id);
        const expected = new Set(expectations.filter((e) => e.kind === 'ruleid').map((e) => e.line));
        const okLines = new Set(expectations.filter((e) => e.kind === 'ok').map((e) => e.line));
        const actual = new Set(findings.map((f) => f.range.start.line));
        const problems: string[] = [];
        for (const line of expected) if (!actual.has(line)) problems.push(`line ${line + 1}: expected ${id}, got none`);
        for (const f of findings) {
          const line = f.range.start.line;
          if (!expected.has(line)) {
            problems.push(`line ${line + 1}: unexpected ${id}${okLines.has(line) ? ' (marked ok)' : ''}: ${f.message}`);
          }
        }
        assert.deepEqual(problems, [], `${rel}:\n  ${problems.join('\n  ')}`);
        assert.ok(expected.size + okLines.size > 0, `${rel}: a fixture needs at least one expectation`);
        for (const f of findings) {
          assert.ok(f.message.trim().length > 0, `${rel}: empty message`);
          assert.ok(f.related.length > 0, `${rel}:${f.range.start.line + 1}: a finding carries its evidence chain`);
          for (const fix of f.fixes) {
            if (!seenApplicability.has(id)) seenApplicability.set(id, new Set());
            seenApplicability.get(id)!.add(fix.applicability);
            assert.ok(rule.meta.fixes.includes(fix.applicability), `${rel}: fix "${fix.title}" is ${fix.applicability}, not declared by the rule`);
            assert.ok(fix.title.trim().length > 0, `${rel}: fix without a title`);
          }
        }

        const fixable = findings.some((f) => chooseFix(f, true));
        const fixedPath = fixedPathFor(file);
        if (!fixable) {
          assert.ok(!existsSync(fixedPath), `${relative(ROOT, fixedPath)} exists but no finding offers an applicable fix`);
          return;
        }
        assert.ok(existsSync(fixedPath), `${rel}: findings offer fixes, so ${relative(ROOT, fixedPath)} must hold the expected output`);
        const result = fixAll(rel, text, { includeUnsafe: true, ruleIds: new Set([id]) });
        assert.equal(result.refused, undefined, `${rel}: fix-all refused: ${result.refused}`);
        assert.ok(result.converged, `${rel}: fixes did not converge in ${result.rounds} rounds`);
        assert.ok(result.applied > 0, `${rel}: no fix was applied`);
        const fixedAnalysis = analyzeText(rel, result.text)!;
        // A fixture the parser cannot read whole on purpose (a macro statement without its
        // semicolon) is fixed where it can be read: the fixed text fails the parser where the input did, no more.
        assert.equal(fixedAnalysis.syntaxErrors.length, analysis.syntaxErrors.length, `${rel}: the fixes changed where the parser fails`);
        assert.equal(result.text, readFileSync(fixedPath, 'utf8'), `${rel}: fixed output differs from ${basename(fixedPath)}`);
        // Fixes applied to JavaScript write JavaScript: no type annotations, `as` or `!`.
        if (isJavaScriptFixture(file)) assert.deepEqual(javascriptSyntaxErrors(fixedPath, result.text), [], `${rel}: the fixed text is not plain JavaScript`);
      });
    }
  });
}

/** Per language, the dialects a rule needs a fixture in (JavaScript is analysed as `typescript`). */
const DIALECTS_BY_LANGUAGE: Record<LanguageId, { name: string; extensions: string[] }[]> = {
  c: [{ name: 'C', extensions: ['.c', '.h'] }],
  python: [{ name: 'Python', extensions: ['.py', '.pyi', '.wsgi'] }],
  typescript: [
    { name: 'TypeScript', extensions: ['.ts', '.tsx', '.mts', '.cts'] },
    { name: 'JavaScript', extensions: ['.js', '.jsx', '.mjs', '.cjs'] },
  ],
};

describe('harness invariants', () => {
  test('every rule has fixtures in each of its languages (TypeScript rules: in TypeScript and JavaScript)', () => {
    for (const rule of RULES) {
      const files = fixtureFiles(rule.meta.id);
      for (const lang of rule.meta.languages) {
        for (const dialect of DIALECTS_BY_LANGUAGE[lang]) {
          assert.ok(
            files.some((f) => dialect.extensions.includes(extname(f))),
            `${rule.meta.id} has no ${dialect.name} fixture in test/fixtures/rules/${rule.meta.id}/`,
          );
        }
      }
    }
  });

  test('the TypeScript rules have JavaScript fixtures in every JavaScript extension', () => {
    for (const rule of RULES) {
      if (!rule.meta.languages.includes('typescript')) continue;
      const exts = new Set(fixtureFiles(rule.meta.id).map((f) => extname(f)));
      for (const ext of ['.js', '.mjs', '.cjs', '.jsx']) assert.ok(exts.has(ext), `${rule.meta.id} has no ${ext} fixture`);
    }
  });

  test('the plain-JavaScript check rejects TypeScript-only syntax', () => {
    assert.deepEqual(javascriptSyntaxErrors('ok.mjs', 'export async function f(p) {\n  await using fh = await open(p);\n}\n'), []);
    for (const ts of ['function f(err: Error | null) {}\n', 'const x = y as string;\n', 'const x = y!.z;\n', "import type { A } from './a';\n"]) {
      assert.equal(javascriptSyntaxErrors('bad.js', ts).length, 1, ts);
    }
  });

  test('every rule has a docs page with the required sections', () => {
    const required = ['## What it does', '## Why is this a hazard', '## Example', '## Use instead', '## Fix safety', '## When not to use it', '## References'];
    for (const rule of RULES) {
      const page = join(DOCS, `${rule.meta.id}.md`);
      assert.ok(existsSync(page), `missing docs/rules/${rule.meta.id}.md`);
      const text = readFileSync(page, 'utf8');
      assert.ok(text.startsWith(`# ${rule.meta.id}\n`), `docs/rules/${rule.meta.id}.md must start with "# ${rule.meta.id}"`);
      for (const section of required) assert.ok(text.includes(section), `docs/rules/${rule.meta.id}.md lacks "${section}"`);
    }
  });

  test('every docs page belongs to a rule', () => {
    const ids = new Set([...RULES.map((r) => r.meta.id), 'unused-suppression']);
    for (const page of readdirSync(DOCS)) assert.ok(ids.has(page.replace(/\.md$/, '')), `docs/rules/${page} matches no rule`);
  });

  test('every fixture folder belongs to a rule', () => {
    const ids = new Set(RULES.map((r) => r.meta.id));
    for (const dir of readdirSync(FIXTURES)) assert.ok(ids.has(dir), `test/fixtures/rules/${dir} matches no rule`);
  });

  test('declared fix availability matches what the fixtures see emitted', () => {
    for (const rule of RULES) {
      const seen = seenApplicability.get(rule.meta.id) ?? new Set();
      assert.deepEqual([...seen].sort(), [...rule.meta.fixes].sort(), `${rule.meta.id}: declared fixes vs fixes seen in fixtures`);
    }
  });
});
