/**
 * The problem matcher contributed for VS Code tasks (`contributes.problemMatchers`, used as
 * `"problemMatcher": "$hazard-lens"`) reads the CLI's text format: its pattern, applied as
 * VS Code applies it (one line at a time), finds every finding of a real scan of examples/
 * with the right file, line, column, severity, rule and message, and no evidence-chain,
 * fix or summary line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { ensureBuilt, ROOT, runCli } from './helpers';

before(() => ensureBuilt());

interface Matcher {
  name: string;
  owner: string;
  fileLocation: string[];
  pattern: { regexp: string; file: number; line: number; column: number; severity: number; code: number; message: number };
}

test('the problem matcher reads every finding of the text format and nothing else', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { problemMatchers: Matcher[] } };
  const [matcher] = manifest.contributes.problemMatchers;
  assert.equal(matcher.name, 'hazard-lens');
  const pattern = new RegExp(matcher.pattern.regexp);
  const cwd = path.join(ROOT, 'examples');
  const text = runCli(['scan', '--no-cache', '.'], { cwd });
  const json = runCli(['scan', '--no-cache', '-f', 'json', '.'], { cwd });
  const expected = (
    JSON.parse(json.stdout) as { findings: { path: string; ruleId: string; severity: string; message: string; range: { start: { line: number; column: number } } }[] }
  ).findings.map((f) => ({ file: f.path, line: String(f.range.start.line), column: String(f.range.start.column), severity: f.severity, code: f.ruleId, message: f.message }));
  const matched = [];
  for (const line of text.stdout.split('\n')) {
    const m = pattern.exec(line);
    if (!m) continue;
    const p = matcher.pattern;
    matched.push({ file: m[p.file], line: m[p.line], column: m[p.column], severity: m[p.severity], code: m[p.code], message: m[p.message] });
  }
  assert.equal(matched.length, 18);
  assert.deepEqual(matched, expected);
});
