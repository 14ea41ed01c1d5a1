/**
 * The report formats on a hand-made scan result, with exact expected output: these do not
 * depend on what the analysers find today.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import type { Finding } from '../../server/src/analysis/results';
import { escapeData, escapeProperty } from '../../server/src/scan/reporters/github';
import { formatReport, type ReportData } from '../../server/src/scan/reporters/index';
import { summaryLine } from '../../server/src/scan/reporters/text';
import { buildSarif, FINGERPRINT_KEY } from '../../server/src/scan/reporters/sarif';
import { findingFingerprint } from '../../server/src/engine/baseline';
import { makeWorkspace, multitoolAvailable, removeWorkspace, validateSarif } from './helpers';
import { RULES } from '../../server/src/rules/index';

const r = (sl: number, sc: number, el: number, ec: number) => ({ start: { line: sl, character: sc }, end: { line: el, character: ec } });

const CWD = '/ws';
const DOCS = 'https://github.com/hazard-lens/hazard-lens/blob/main/docs/rules';

const leak: Finding = {
  ruleId: 'unreleased-file',
  path: '/ws/src/a.py',
  range: r(1, 9, 1, 16),
  message: "Handle 'fh' from open() is not released on every path: it leaks at the return on line 4",
  severity: 'error',
  related: [
    { path: '/ws/src/a.py', range: r(1, 9, 1, 16), message: 'opened here by open()' },
    { path: '/ws/src/a.py', range: r(3, 8, 3, 19), message: 'returns here with the handle still open' },
  ],
  fixes: [
    { title: "Rewrite into 'with open(p) as fh:'", applicability: 'safe', edits: [{ range: r(1, 4, 1, 16), newText: 'with open(p) as fh:' }] },
    { title: 'See the documentation', applicability: 'display-only', edits: [] },
  ],
};

const odd: Finding = {
  ruleId: 'unused-suppression',
  path: '/ws/src/b, c.py',
  range: r(0, 0, 0, 30),
  message: "100% unused: a, b\r\nsecond line",
  severity: 'hint',
  related: [],
  fixes: [],
};

const outside: Finding = {
  ruleId: 'unreleased-file',
  path: '/other/lib.c',
  range: r(4, 2, 6, 1),
  message: "Handle 'fp' from fopen() is not released on every path: it leaks at the end of its scope on line 7",
  severity: 'warning',
  related: [{ path: '/other/lib.c', range: r(6, 0, 6, 1), message: 'scope ends here with the handle still open' }],
  fixes: [{ title: "Close 'fp' with fclose() before the end of its scope", applicability: 'unsafe', edits: [{ range: r(6, 0, 6, 0), newText: '    fclose(fp);\n' }] }],
};

const data: ReportData = {
  analyses: [1, 2, 3],
  findings: [leak, odd, outside],
  skipped: [{ path: '/ws/big.py', reason: 'file is 2048 KB, over the 1024 KB limit (maxFileSizeKb)' }],
};

const ctx = { cwd: CWD, config: DEFAULT_CONFIG, version: '9.9.9' };

describe('text format', () => {
  test('findings, evidence chain, fixes and summary', () => {
    assert.equal(
      formatReport('text', data, ctx),
      [
        "src/a.py:2:10: error unreleased-file Handle 'fh' from open() is not released on every path: it leaks at the return on line 4",
        '  src/a.py:2:10: opened here by open()',
        '  src/a.py:4:9: returns here with the handle still open',
        "  fix (safe): Rewrite into 'with open(p) as fh:'",
        '  fix (display-only): See the documentation',
        'src/b, c.py:1:1: hint unused-suppression 100% unused: a, b\r\nsecond line',
        "../other/lib.c:5:3: warning unreleased-file Handle 'fp' from fopen() is not released on every path: it leaks at the end of its scope on line 7",
        '  ../other/lib.c:7:1: scope ends here with the handle still open',
        "  fix (unsafe): Close 'fp' with fclose() before the end of its scope",
        '',
        '3 findings (1 error, 1 warning, 0 info, 1 hint) in 3 files analysed, 1 skipped. 1 finding can be fixed with --fix.',
        '',
      ].join('\n'),
    );
  });

  test('no findings; quiet drops the summary', () => {
    const empty: ReportData = { analyses: [1], findings: [], skipped: [] };
    assert.equal(formatReport('text', empty, ctx), 'No findings in 1 file analysed.\n');
    const partly = { ...empty, notes: [{ path: '/ws/a.c', note: 'partly analysed: the C handle analysis failed (boom); findings in this file may be missing' }] };
    assert.equal(formatReport('text', partly, ctx), 'No findings in 1 file analysed (1 only partly).\n');
    assert.equal(formatReport('text', empty, { ...ctx, summary: false }), '');
    const full = formatReport('text', data, ctx);
    assert.equal(formatReport('text', data, { ...ctx, summary: false }), full.slice(0, full.indexOf('\n\n') + 1));
  });
});

describe('json format', () => {
  test('stable schema with 1-based positions', () => {
    const notes = [
      { path: '/ws/src/a.py', note: 'partly analysed: the C handle analysis failed (the code is nested too deeply for this analysis); findings in this file may be missing' },
      { path: '', note: 'rule x failed on the program' },
    ];
    const json = JSON.parse(formatReport('json', { ...data, notes, fixed: [{ path: '/ws/src/a.py', applied: 2 }] }, ctx)) as unknown;
    assert.deepEqual(json, {
      version: 1,
      tool: { name: 'hazard-lens', version: '9.9.9' },
      findings: [
        {
          ruleId: 'unreleased-file',
          severity: 'error',
          path: 'src/a.py',
          range: { start: { line: 2, column: 10 }, end: { line: 2, column: 17 } },
          message: leak.message,
          related: [
            { path: 'src/a.py', range: { start: { line: 2, column: 10 }, end: { line: 2, column: 17 } }, message: 'opened here by open()' },
            { path: 'src/a.py', range: { start: { line: 4, column: 9 }, end: { line: 4, column: 20 } }, message: 'returns here with the handle still open' },
          ],
          fixes: [
            { title: "Rewrite into 'with open(p) as fh:'", applicability: 'safe' },
            { title: 'See the documentation', applicability: 'display-only' },
          ],
          docsUrl: `${DOCS}/unreleased-file.md`,
        },
        {
          ruleId: 'unused-suppression',
          severity: 'hint',
          path: 'src/b, c.py',
          range: { start: { line: 1, column: 1 }, end: { line: 1, column: 31 } },
          message: odd.message,
          related: [],
          fixes: [],
          docsUrl: `${DOCS}/unused-suppression.md`,
        },
        {
          ruleId: 'unreleased-file',
          severity: 'warning',
          path: '../other/lib.c',
          range: { start: { line: 5, column: 3 }, end: { line: 7, column: 2 } },
          message: outside.message,
          related: [{ path: '../other/lib.c', range: { start: { line: 7, column: 1 }, end: { line: 7, column: 2 } }, message: 'scope ends here with the handle still open' }],
          fixes: [{ title: "Close 'fp' with fclose() before the end of its scope", applicability: 'unsafe' }],
          docsUrl: `${DOCS}/unreleased-file.md`,
        },
      ],
      skipped: [{ path: 'big.py', reason: 'file is 2048 KB, over the 1024 KB limit (maxFileSizeKb)' }],
      notes: [
        { path: 'src/a.py', note: 'partly analysed: the C handle analysis failed (the code is nested too deeply for this analysis); findings in this file may be missing' },
        { path: '', note: 'rule x failed on the program' },
      ],
      fixed: [{ path: 'src/a.py', applied: 2 }],
      summary: { files: 3, partlyAnalysed: 1, skipped: 1, findings: 3, bySeverity: { error: 1, warning: 1, info: 0, hint: 1 } },
    });
  });

  test('docs URLs follow docsUrlTemplate', () => {
    const config = { ...DEFAULT_CONFIG, docsUrlTemplate: 'https://docs.example/{id}' };
    const json = JSON.parse(formatReport('json', data, { ...ctx, config })) as { findings: { docsUrl: string }[] };
    assert.equal(json.findings[0].docsUrl, 'https://docs.example/unreleased-file');
  });
});

describe('github format', () => {
  test('escaping of data and properties', () => {
    assert.equal(escapeData('50% a:b,c\r\nd'), '50%25 a:b,c%0D%0Ad');
    assert.equal(escapeProperty('50% a:b,c\r\nd'), '50%25 a%3Ab%2Cc%0D%0Ad');
  });

  test('one workflow command per finding', () => {
    assert.equal(
      formatReport('github', data, ctx),
      [
        "::error file=src/a.py,line=2,col=10,endLine=2,endColumn=17,title=unreleased-file::Handle 'fh' from open() is not released on every path: it leaks at the return on line 4%0A  src/a.py:2:10: opened here by open()%0A  src/a.py:4:9: returns here with the handle still open",
        '::notice file=src/b%2C c.py,line=1,col=1,endLine=1,endColumn=31,title=unused-suppression::100%25 unused: a, b%0D%0Asecond line',
        "::warning file=../other/lib.c,line=5,endLine=7,title=unreleased-file::Handle 'fp' from fopen() is not released on every path: it leaks at the end of its scope on line 7%0A  ../other/lib.c:7:1: scope ends here with the handle still open",
        '',
      ].join('\n'),
    );
  });

  test('nothing to annotate prints nothing', () => {
    assert.equal(formatReport('github', { analyses: [], findings: [], skipped: [] }, ctx), '');
  });

  test('a newline or a byte that is not UTF-8 in a file name keeps each annotation on one line', () => {
    const at = (p: string): Finding => ({ ...leak, path: p, related: [{ path: p, range: r(1, 9, 1, 16), message: 'opened here by open()' }], fixes: [] });
    const out = formatReport('github', { analyses: [1, 2], findings: [at('/ws/new\nline.py'), at('/ws/caf\udce9.py')], skipped: [] }, ctx);
    assert.equal(
      out,
      [
        "::error file=new%0Aline.py,line=2,col=10,endLine=2,endColumn=17,title=unreleased-file::Handle 'fh' from open() is not released on every path: it leaks at the return on line 4%0A  \"new\\nline.py\":2:10: opened here by open()",
        "::error file=\"caf\\xe9.py\",line=2,col=10,endLine=2,endColumn=17,title=unreleased-file::Handle 'fh' from open() is not released on every path: it leaks at the return on line 4%0A  \"caf\\xe9.py\":2:10: opened here by open()",
        '',
      ].join('\n'),
    );
  });
});

describe('file names with control characters or bytes that are not UTF-8', () => {
  const at = (p: string): Finding => ({ ...leak, path: p, related: [{ path: p, range: r(1, 9, 1, 16), message: 'opened here by open()' }], fixes: [] });
  test('text: the path is quoted with escapes, each finding stays on its lines', () => {
    const out = formatReport('text', { analyses: [1], findings: [at('/ws/new\nline.py')], skipped: [] }, { ...ctx, summary: false });
    assert.equal(
      out,
      '"new\\nline.py":2:10: error unreleased-file Handle \'fh\' from open() is not released on every path: it leaks at the return on line 4\n  "new\\nline.py":2:10: opened here by open()\n',
    );
  });
  test('SARIF: URIs percent-encode the bytes; JSON keeps the name (the byte as \\udcXX)', () => {
    const log = buildSarif({ analyses: [1], findings: [at('/ws/caf\udce9.py'), at('/elsewhere/d\udcff/a b.py')], skipped: [] }, ctx);
    const uris = log.runs[0].results.map((res) => res.locations[0].physicalLocation.artifactLocation.uri);
    assert.deepEqual(uris, ['caf%E9.py', 'file:///elsewhere/d%FF/a%20b.py']);
    const json = JSON.parse(formatReport('json', { analyses: [1], findings: [at('/ws/caf\udce9.py')], skipped: [] }, ctx)) as { findings: { path: string }[] };
    assert.equal(json.findings[0].path, 'caf\udce9.py');
  });
});

describe('sarif format', () => {
  test('a chain across files is also given as a codeFlow, in order', () => {
    const fork: Finding = {
      ruleId: 'fork-in-threaded-program',
      path: '/ws/src/spawn.py',
      range: r(4, 4, 4, 13),
      message: 'os.fork() runs in a program that has already started a thread',
      severity: 'warning',
      related: [
        { path: '/ws/src/worker.py', range: r(2, 0, 2, 20), message: 'thread started here' },
        { path: '/ws/src/spawn.py', range: r(0, 0, 0, 13), message: 'imported from here' },
        { path: '/ws/src/spawn.py', range: r(4, 4, 4, 13), message: 'fork here' },
      ],
      fixes: [],
    };
    const result = buildSarif({ ...data, findings: [fork, leak] }, ctx).runs[0].results;
    assert.deepEqual(
      result[0].codeFlows?.[0].threadFlows[0].locations.map((l) => [l.location.physicalLocation.artifactLocation.uri, l.location.physicalLocation.region?.startLine, l.location.message.text]),
      [
        ['src/worker.py', 3, 'thread started here'],
        ['src/spawn.py', 1, 'imported from here'],
        ['src/spawn.py', 5, 'fork here'],
      ],
    );
    // A two-step chain inside one file stays related locations only.
    assert.equal(result[1].codeFlows, undefined);
  });

  test('driver, rules, results, related locations, fixes, notifications', () => {
    const log = buildSarif({ ...data, notes: [{ path: '/ws/src/a.py', note: 'rule x failed on this file: boom' }] }, ctx);
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0];
    const driver = run.tool.driver;
    assert.equal(driver.name, 'Hazard Lens');
    assert.equal(driver.version, '9.9.9');
    assert.equal(driver.informationUri, 'https://github.com/hazard-lens/hazard-lens');
    assert.deepEqual(
      driver.rules.map((x) => x.id),
      [...RULES.map((r) => r.meta.id), 'unused-suppression'],
    );
    const rule = driver.rules[0];
    assert.equal(rule.helpUri, `${DOCS}/unreleased-file.md`);
    assert.equal(rule.defaultConfiguration.level, 'warning');
    assert.equal(rule.shortDescription.text, 'A file, socket, process or stream handle is not released on every path out of its scope.');
    assert.ok(rule.fullDescription.text.startsWith(rule.shortDescription.text));
    assert.deepEqual(rule.properties.tags, ['LEAK', 'CWE-775', 'CWE-404', 'external/cwe/cwe-775', 'external/cwe/cwe-404']);
    assert.deepEqual(run.originalUriBaseIds, { '%SRCROOT%': { uri: 'file:///ws/' } });
    // Code scanning: a severity per rule, the documentation page as help, the run's category.
    assert.equal(rule.properties['security-severity'], '5.0');
    assert.ok(rule.help.markdown?.startsWith('# unreleased-file\n'), rule.help.markdown?.slice(0, 40));
    assert.deepEqual(run.automationDetails, { id: 'hazard-lens/' });
    assert.deepEqual(run.results[0], {
      ruleId: 'unreleased-file',
      ruleIndex: 0,
      level: 'error',
      message: { text: leak.message },
      locations: [
        { physicalLocation: { artifactLocation: { uri: 'src/a.py', uriBaseId: '%SRCROOT%' }, region: { startLine: 2, startColumn: 10, endLine: 2, endColumn: 17 } } },
      ],
      relatedLocations: [
        {
          id: 1,
          physicalLocation: { artifactLocation: { uri: 'src/a.py', uriBaseId: '%SRCROOT%' }, region: { startLine: 2, startColumn: 10, endLine: 2, endColumn: 17 } },
          message: { text: 'opened here by open()' },
        },
        {
          id: 2,
          physicalLocation: { artifactLocation: { uri: 'src/a.py', uriBaseId: '%SRCROOT%' }, region: { startLine: 4, startColumn: 9, endLine: 4, endColumn: 20 } },
          message: { text: 'returns here with the handle still open' },
        },
      ],
      fixes: [
        {
          description: { text: "Rewrite into 'with open(p) as fh:' (safe fix)" },
          artifactChanges: [
            {
              artifactLocation: { uri: 'src/a.py', uriBaseId: '%SRCROOT%' },
              replacements: [{ deletedRegion: { startLine: 2, startColumn: 5, endLine: 2, endColumn: 17 }, insertedContent: { text: 'with open(p) as fh:' } }],
            },
          ],
        },
      ],
      // Without the file's text (a report built in memory) the fingerprint hashes the rule alone.
      partialFingerprints: { [FINGERPRINT_KEY]: findingFingerprint(leak, undefined) },
      properties: { severity: 'error' },
    });
    // A hint is a SARIF note; a name with a space and a comma is percent-encoded.
    assert.equal(run.results[1].level, 'note');
    assert.equal(run.results[1].ruleIndex, RULES.length);
    assert.deepEqual(run.results[1].locations[0].physicalLocation.artifactLocation, { uri: 'src/b%2C%20c.py', uriBaseId: '%SRCROOT%' });
    // Outside %SRCROOT%: an absolute file URI.
    assert.deepEqual(run.results[2].locations[0].physicalLocation.artifactLocation, { uri: 'file:///other/lib.c' });
    assert.deepEqual(run.invocations[0].toolExecutionNotifications, [
      {
        level: 'note',
        message: { text: 'Skipped: file is 2048 KB, over the 1024 KB limit (maxFileSizeKb).' },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'big.py', uriBaseId: '%SRCROOT%' } } }],
      },
      {
        level: 'warning',
        message: { text: 'rule x failed on this file: boom.' },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'src/a.py', uriBaseId: '%SRCROOT%' } } }],
      },
    ]);
  });

  test('a rule switched off is disabled in its default configuration', () => {
    const config = { ...DEFAULT_CONFIG, rules: { 'unreleased-file': 'off' as const } };
    const log = buildSarif({ analyses: [], findings: [], skipped: [] }, { ...ctx, config });
    assert.deepEqual(log.runs[0].tool.driver.rules[0].defaultConfiguration, { level: 'warning', enabled: false });
  });

  test('the SARIF Multitool finds no error in the log', (t) => {
    if (!multitoolAvailable()) {
      t.skip('the SARIF Multitool for this platform is not installed');
      return;
    }
    const dir = makeWorkspace();
    try {
      const file = path.join(dir, 'report.sarif');
      fs.writeFileSync(file, formatReport('sarif', { ...data, notes: [{ path: '', note: 'rule y failed: boom' }] }, { ...ctx, cwd: dir }));
      const { errors } = validateSarif(file);
      assert.deepEqual(errors, []);
    } finally {
      removeWorkspace(dir);
    }
  });
});

describe('gitlab and junit formats', () => {
  const text = 'import os\ndef f(p):\n    fh = open(p)\n';
  const textOf = (p: string) => (p === '/ws/src/a.py' ? text : undefined);

  test('gitlab: Code Quality issues with the baseline fingerprint, one-based lines, GitLab severities', () => {
    const issues = JSON.parse(formatReport('gitlab', data, { ...ctx, textOf })) as Record<string, unknown>[];
    assert.deepEqual(issues[0], {
      description: `unreleased-file: ${leak.message}`,
      check_name: 'unreleased-file',
      fingerprint: findingFingerprint(leak, text),
      severity: 'critical',
      location: { path: 'src/a.py', lines: { begin: 2, end: 2 } },
    });
    assert.deepEqual(
      issues.map((i) => i.severity),
      ['critical', 'info', 'major'],
    );
  });

  test('junit: a failing test case per finding, grouped by file, escaped', () => {
    const xml = formatReport('junit', data, ctx);
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="hazard-lens" tests="3" failures="3" errors="0">\n'), xml);
    assert.ok(xml.includes('<testsuite name="src/a.py" tests="1" failures="1" errors="0">'));
    assert.ok(xml.includes('<testcase classname="src/a.py" name="unreleased-file at line 2" file="src/a.py" line="2">'));
    assert.ok(xml.includes(`<failure type="unreleased-file" message="Handle 'fh' from open() is not released on every path: it leaks at the return on line 4">`));
    assert.ok(xml.includes('message="100% unused: a, b\r\nsecond line"'));
    assert.ok(xml.includes('\n  src/a.py:4:9: returns here with the handle still open'.replace('\n  ', '\n')));
    assert.equal((xml.match(/<testcase /g) ?? []).length, 3);
    const empty = formatReport('junit', { analyses: [1, 2], findings: [], skipped: [] }, ctx);
    assert.ok(empty.includes('<testcase classname="hazard-lens" name="no findings in 2 files"/>'), empty);
  });
});

describe('colours in the text format', () => {
  const colors = { bold: (s: string) => `<b>${s}</b>`, dim: (s: string) => `<d>${s}</d>`, red: (s: string) => `<r>${s}</r>`, yellow: (s: string) => `<y>${s}</y>`, blue: (s: string) => `<bl>${s}</bl>`, cyan: (s: string) => `<c>${s}</c>`, green: (s: string) => `<g>${s}</g>` };
  test('styles wrap words and change no character of the text', () => {
    const coloured = formatReport('text', data, { ...ctx, colors });
    assert.ok(coloured.startsWith("<b>src/a.py:2:10</b>: <b><r>error</r></b> <c>unreleased-file</c> Handle 'fh'"), coloured.slice(0, 80));
    assert.ok(coloured.includes('\n  <d>src/a.py:4:9</d>: returns here'));
    assert.equal(coloured.replace(/<\/?[a-z]+>/g, ''), formatReport('text', data, ctx));
  });
});

describe('the summary after --fix', () => {
  test('a safe fix still offered after --fix was refused: the summary says so instead of offering --fix again', () => {
    assert.equal(
      summaryLine(data, true),
      '3 findings (1 error, 1 warning, 0 info, 1 hint) in 3 files analysed, 1 skipped. 1 safe fix could not be applied (see the notes).',
    );
  });
});
