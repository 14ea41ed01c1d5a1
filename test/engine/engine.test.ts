import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG, docsUrl, parseConfig } from '../../server/src/engine/config';
import { evaluate, UNUSED_SUPPRESSION_ID } from '../../server/src/engine/engine';
import { applyEdits } from '../../server/src/engine/fixes';
import { FlowGraph, findLeak } from '../../server/src/analysis/flow';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { parseSync, syntaxErrorRanges, editFor } from '../../server/src/parsing/parser';
import { grammarsReady, parseExpectations } from '../harness';
import { RULE_IDS } from '../../server/src/rules/index';

before(async () => {
  await grammarsReady();
});

const r = (line: number, a: number, b: number) => ({ start: { line, character: a }, end: { line, character: b } });

function fakeAnalysis(path: string, lines: number[], suppressions: FileAnalysis['suppressions'] = []): FileAnalysis {
  return {
    path,
    language: 'python',
    contentHash: 'x',
    syntaxErrors: [],
    suppressions,
    facts: [],
    notes: [],
    localFindings: lines.map((line) => ({ ruleId: 'unreleased-file', path, range: r(line, 4, 10), message: `leak ${line}`, severity: 'warning', related: [], fixes: [] })),
  };
}

describe('config', () => {
  test('defaults when nothing is set', () => {
    assert.deepEqual(parseConfig(undefined, RULE_IDS), { config: DEFAULT_CONFIG, problems: [], errors: [], settingErrors: [], set: new Set() });
  });
  test('each bad value becomes a setting error naming its key, and its default; good values survive', () => {
    const { config, problems, settingErrors } = parseConfig({ rules: 42, run: 'sometimes', maxFileSizeKb: 10, bogus: 1 }, RULE_IDS);
    assert.equal(config.run, 'onType');
    assert.deepEqual(config.rules, {});
    assert.equal(config.maxFileSizeKb, 10);
    assert.deepEqual(problems, ['settings: unknown setting "bogus" ignored']);
    assert.equal(settingErrors.length, 2);
    assert.match(settingErrors.join('\n'), /"rules" is invalid/);
    assert.match(settingErrors.join('\n'), /"run" is invalid/);
  });
  test('unknown rule ids are reported and dropped', () => {
    const { config, problems } = parseConfig({ rules: { 'no-such-rule': 'off', 'unreleased-file': 'error' } }, RULE_IDS);
    assert.deepEqual(config.rules, { 'unreleased-file': 'error' });
    assert.match(problems[0], /unknown rule "no-such-rule"/);
  });
  test('a non-object is rejected as a whole', () => {
    assert.match(parseConfig([1, 2], RULE_IDS).settingErrors[0], /expected an object, got an array/);
  });
  test('a docs URL template must be a web page or a file: script URLs never reach SARIF or the editor', () => {
    for (const template of ['javascript:alert("{id}")', 'data:text/html,{id}', 'vscode://x/{id}', '{id}']) {
      const { config, settingErrors } = parseConfig({ docsUrlTemplate: template }, RULE_IDS);
      assert.equal(config.docsUrlTemplate, DEFAULT_CONFIG.docsUrlTemplate, template);
      assert.match(settingErrors.join('\n'), /"docsUrlTemplate" is invalid \(must start with https:\/\/, http:\/\/ or file:\/\/\)/, template);
    }
    for (const template of ['https://x.test/{id}', 'HTTP://x.test/{id}', 'file:///opt/docs/{id}.md']) {
      assert.deepEqual(parseConfig({ docsUrlTemplate: template }, RULE_IDS).problems, [], template);
    }
  });
  test('docs URLs derive from the template', () => {
    assert.equal(docsUrl('unreleased-file', { docsUrlTemplate: 'https://x.test/{id}.html' }), 'https://x.test/unreleased-file.html');
  });
});

describe('evaluate', () => {
  test('severity override and off', () => {
    const a = fakeAnalysis('a.py', [1]);
    assert.equal(evaluate([a], { ...DEFAULT_CONFIG, rules: { 'unreleased-file': 'error' } }).findings[0].severity, 'error');
    assert.deepEqual(evaluate([a], { ...DEFAULT_CONFIG, rules: { 'unreleased-file': 'off' } }).findings, []);
  });
  test('line and file suppressions, unused and unknown ones reported as hints', () => {
    const sup = (scope: 'line' | 'file', ids: string[], targetLine: number) => ({ scope, ruleIds: ids, range: r(targetLine - 1, 0, 30), targetLine });
    const a = fakeAnalysis('a.py', [1, 5], [sup('line', ['unreleased-file'], 1), sup('line', ['unreleased-file'], 3), sup('line', ['typo-rule'], 7)]);
    const { findings } = evaluate([a]);
    assert.deepEqual(
      findings.map((f) => [f.ruleId, f.range.start.line, f.severity]),
      [
        [UNUSED_SUPPRESSION_ID, 2, 'hint'],
        ['unreleased-file', 5, 'warning'],
        [UNUSED_SUPPRESSION_ID, 6, 'hint'],
      ],
    );
    assert.match(findings[2].message, /unknown rule 'typo-rule'/);
    const fileWide = fakeAnalysis('b.py', [1, 5], [sup('file', ['unreleased-file'], 0)]);
    assert.deepEqual(evaluate([fileWide]).findings, []);
    assert.equal(evaluate([a], { ...DEFAULT_CONFIG, reportUnusedSuppressions: false }).findings.length, 1);
  });
  test('suppression comments are read from comment nodes, not strings', () => {
    const text = 's = "# hazard-lens: ignore[unreleased-file]"\n# hazard-lens: ignore[unreleased-file]\n\nx = 1  # hazard-lens: ignore-file[*]\n';
    const analysis = analyzeText('s.py', text)!;
    assert.deepEqual(
      analysis.suppressions.map((s) => [s.scope, s.ruleIds, s.targetLine]),
      [
        ['line', ['unreleased-file'], 3],
        ['file', ['*'], 3],
      ],
    );
    const c = analyzeText('s.c', '/* hazard-lens: ignore[unreleased-file] */\nint x;\n')!;
    assert.deepEqual(c.suppressions.map((s) => s.targetLine), [1]);
  });
  test('a marker that names no rule suppresses nothing and is reported, whatever reportUnusedSuppressions says', () => {
    const text = 'def read(p):\n    fh = open(p)  # hazard-lens: ignore\n    return fh.read()\n# hazard-lens: ignored files are listed in the docs\n';
    const analysis = analyzeText('bare.py', text)!;
    // `ignored` is prose, not a marker.
    assert.deepEqual(analysis.suppressions.map((s) => [s.scope, s.ruleIds, s.targetLine]), [['line', [], 1]]);
    for (const reportUnusedSuppressions of [true, false]) {
      const { findings } = evaluate([analysis], { ...DEFAULT_CONFIG, reportUnusedSuppressions });
      assert.deepEqual(
        findings.map((f) => [f.ruleId, f.range.start.line, f.range.start.character]),
        [
          ['unreleased-file', 1, 9],
          [UNUSED_SUPPRESSION_ID, 1, 18],
        ],
      );
      assert.equal(
        findings[1].message,
        "Suppression names no rule, so it suppresses nothing: write the rule ids in brackets ('hazard-lens: ignore[rule-id]'), or 'ignore[*]' for every rule",
      );
    }
  });
});

describe('fixes', () => {
  test('applyEdits applies in any order and rejects overlaps', () => {
    const text = 'abc\ndef\n';
    assert.equal(applyEdits(text, [{ range: r(1, 0, 1), newText: 'D' }, { range: r(0, 1, 2), newText: 'B' }]), 'aBc\nDef\n');
    assert.throws(() => applyEdits(text, [{ range: r(0, 0, 2), newText: '' }, { range: r(0, 1, 3), newText: '' }]), /overlapping/);
  });
});

describe('flow', () => {
  test('normal-path leaks are found before exception paths, null guards prune', () => {
    const g = new FlowGraph<string>();
    const open = g.add(r(0, 0, 1), 'open');
    const guard = g.add(r(1, 0, 1), 'if');
    const ret = g.add(r(2, 0, 1), 'return', 'return');
    const use = g.add(r(3, 0, 1), 'use');
    const close = g.add(r(4, 0, 1), 'close');
    const raise = g.add(null, 'raise', 'raise');
    const end = g.add(null, 'end', 'end');
    g.edge(open, guard);
    g.edge(guard, ret, { nullVars: ['f'] });
    g.edge(guard, use);
    g.edge(use, raise, { exceptional: true });
    g.edge(use, close);
    g.edge(close, end);
    const effect = (n: { payload?: string }) => (n.payload === 'close' ? 'release' : 'none');
    const leak = findLeak(g, open, 'f', effect);
    assert.ok(leak);
    assert.equal(leak.node.exit, 'raise');
    assert.equal(leak.exceptional, true);
    assert.deepEqual(leak.path.map((n) => n.payload), ['open', 'if', 'use', 'raise']);
    g.edge(guard, ret);
    assert.equal(findLeak(g, open, 'f', effect)?.node.exit, 'return');
  });
});

describe('parsing', () => {
  test('incremental re-parse after an edit gives the same tree as a fresh parse', () => {
    const before = 'def f():\n    x = 1\n';
    const after = 'def f():\n    x = open(p)\n';
    const tree = parseSync(before, 'python');
    const start = before.indexOf('1');
    tree.edit(editFor(before, start, start + 1, 'open(p)'));
    const again = parseSync(after, 'python', tree);
    assert.equal(again.rootNode.toString(), parseSync(after, 'python').rootNode.toString());
    tree.delete();
    again.delete();
  });
  test('syntax errors are located and the rest of the file is still parsed', () => {
    const tree = parseSync('def f(:\n    pass\n\ndef g():\n    return 1\n', 'python');
    assert.ok(syntaxErrorRanges(tree).length > 0);
    assert.ok(tree.rootNode.descendantsOfType('function_definition').length >= 1);
    tree.delete();
  });
  test('expectation annotations target the next non-annotation line', () => {
    const ex = parseExpectations('x\n# ruleid: a, b\n# ok: c\ny\n');
    assert.deepEqual(ex.map((e) => [e.kind, e.ruleId, e.line]), [['ruleid', 'a', 3], ['ruleid', 'b', 3], ['ok', 'c', 3]]);
  });
});

describe('settings that change program rules', () => {
  test('cloexecEverywhere reports descriptors without close-on-exec in a program that never forks', () => {
    const text = '#include <fcntl.h>\nint open_log(void) {\n    return open("/var/log/x", O_WRONLY | O_APPEND);\n}\n';
    const analysis = analyzeText('lib.c', text)!;
    const ids = (config: typeof DEFAULT_CONFIG) => evaluate([analysis], config).findings.map((f) => `${f.ruleId}:${f.range.start.line + 1}`);
    assert.deepEqual(ids(DEFAULT_CONFIG), []);
    const everywhere = evaluate([analysis], { ...DEFAULT_CONFIG, cloexecEverywhere: true }).findings;
    assert.deepEqual(everywhere.map((f) => `${f.ruleId}:${f.range.start.line + 1}`), ['fd-without-cloexec:3']);
    assert.match(everywhere[0].message, /cloexecEverywhere/);
    assert.equal(everywhere[0].fixes[0]?.applicability, 'safe');
  });
});
