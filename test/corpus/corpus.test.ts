/**
 * The real-world corpus without its mirrors: cases.tsv must parse, cover every rule and
 * language with hazards and clean counterparts, and the scorer of `npm run corpus` must
 * count a hazard found at its lines or through its chain, and a clean case flagged only
 * where a finding starts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { entryPointsOfSetupCfg, FAMILIES, LANGS, readCases, readEnvironments, scoreCase, type CorpusCase, type ReportFinding } from '../../scripts/corpus';
import { RULES } from '../../server/src/rules';

const CASES = join(__dirname, 'cases.tsv');
const HEADER = 'id\trepo\tcommit\tproject\tpath\tlines\tverdict\trules\tlang\treference\twhy';
const SHA = 'a'.repeat(40);

function one(row: string): CorpusCase {
  return readCases(`${HEADER}\n${row}\n`)[0];
}

function finding(ruleId: string, path: string, line: number, chain: [string, number][] = []): ReportFinding {
  return {
    ruleId,
    path,
    message: 'm',
    range: { start: { line, column: 1 } },
    related: chain.map(([p, l]) => ({ path: p, range: { start: { line: l } }, message: 'step' })),
  };
}

describe('cases.tsv', () => {
  const cases = readCases(readFileSync(CASES, 'utf8'));

  test('at least 80 cases: 50 hazards and 30 clean', () => {
    assert.ok(cases.length >= 80, `${cases.length} cases`);
    assert.ok(cases.filter((c) => c.verdict === 'hazard').length >= 50);
    assert.ok(cases.filter((c) => c.verdict === 'clean').length >= 30);
  });

  test('every rule has hazards and clean counterparts, every language has cases', () => {
    for (const rule of RULES) {
      const id = rule.meta.id;
      assert.ok(FAMILIES[id], `${id} has no family in scripts/corpus.ts`);
      assert.ok(cases.some((c) => c.verdict === 'hazard' && c.ruleIds.includes(id)), `no hazard case for ${id}`);
      assert.ok(cases.some((c) => c.verdict === 'clean' && c.ruleIds.includes(id)), `no clean case for ${id}`);
    }
    for (const lang of LANGS) assert.ok(cases.some((c) => c.lang === lang), `no ${lang} case`);
  });

  test('every case names a reference and says why', () => {
    for (const c of cases) {
      assert.ok(c.reference.length > 0, `${c.id}: no reference`);
      assert.ok(c.why.length > 10, `${c.id}: no reason`);
    }
  });
});

describe('readCases', () => {
  test('a malformed row stops the run with its line number', () => {
    assert.throws(() => readCases(`${HEADER}\nx\tr/n\tabc\t.\tf.c\t1\thazard\tunreleased-file\tc\tref\twhy\n`), /line 2: commit must be 40 hex digits/);
    assert.throws(() => readCases(`${HEADER}\nx\tr/n\t${SHA}\t.\tf.c\t9-3\thazard\tunreleased-file\tc\tref\twhy\n`), /line 2: lines run backwards/);
    assert.throws(() => readCases(`${HEADER}\nx\tr/n\t${SHA}\t.\tf.c\t3\thazard\tno-such-rule\tc\tref\twhy\n`), /line 2: unknown rule no-such-rule/);
    assert.throws(() => readCases(`id\trepo\n`), /header/);
  });

  test('comments and blank lines are skipped; the project folder loses its trailing slash', () => {
    const cases = readCases(`${HEADER}\n# a comment\n\nx\to/r\t${SHA}\tpkg/a/\tpkg/a/f.ts\t4-6\tclean\tstream-pipe-leak,unreleased-file\ttypescript\tref\twhy\n`);
    assert.equal(cases.length, 1);
    assert.deepEqual([cases[0].project, cases[0].first, cases[0].last, cases[0].ruleIds], ['pkg/a', 4, 6, ['stream-pipe-leak', 'unreleased-file']]);
  });
});

describe('scoreCase', () => {
  const hazard = one(`h\to/r\t${SHA}\tsub\tsub/src/a.c\t10-12\thazard\tunsafe-call-in-fork-child,fork-in-threaded-program\tc\tref\twhy`);

  test('a hazard is found at its lines, in the project folder the scan ran in', () => {
    const score = scoreCase(hazard, [finding('unsafe-call-in-fork-child', 'src/a.c', 11), finding('fork-in-threaded-program', 'src/b.c', 3, [['src/a.c', 12]])]);
    assert.deepEqual(score, {
      'unsafe-call-in-fork-child': { ok: true, result: 'found' },
      'fork-in-threaded-program': { ok: true, result: 'found (chain)' },
    });
  });

  test('a finding of another rule, another file or other lines does not count', () => {
    const score = scoreCase(hazard, [finding('unreleased-file', 'src/a.c', 11), finding('unsafe-call-in-fork-child', 'src/a.c', 13), finding('fork-in-threaded-program', 'a.c', 11)]);
    assert.deepEqual(score, {
      'unsafe-call-in-fork-child': { ok: false, result: 'missed' },
      'fork-in-threaded-program': { ok: false, result: 'missed' },
    });
  });

  test('a clean case is flagged only by a finding of its rule that starts in its lines', () => {
    const clean = one(`c\to/r\t${SHA}\t.\tapp.py\t5\tclean\tgreen-heartbeat\tpython\tref\twhy`);
    assert.deepEqual(scoreCase(clean, [finding('green-heartbeat', 'other.py', 1, [['app.py', 5]]), finding('late-monkey-patch', 'app.py', 5)]), {
      'green-heartbeat': { ok: true, result: 'silent' },
    });
    assert.deepEqual(scoreCase(clean, [finding('green-heartbeat', 'app.py', 5)]), { 'green-heartbeat': { ok: false, result: 'FLAGGED' } });
  });
});

describe('environments.tsv', () => {
  const cases = readCases(readFileSync(CASES, 'utf8'));
  const ids = new Set(cases.map((c) => c.id));

  test('every row names a case, a repository at a commit and the packages to install; each incident-4 verdict has one', () => {
    const envs = readEnvironments(readFileSync(join(__dirname, 'environments.tsv'), 'utf8'), ids);
    assert.deepEqual(
      envs.map((e) => `${e.case} ${e.repo}@${e.commit.slice(0, 7)} ${e.packages.join(',')} ${e.distribution}==${e.version}`),
      [
        'nova-api-installed-oslo-green-heartbeat openstack/oslo.messaging@fe0ac31 oslo_messaging oslo.messaging==9.7.0',
        'nova-api-installed-oslo-native-heartbeat openstack/oslo.messaging@add5ab4 oslo_messaging oslo.messaging==12.3.0',
      ],
    );
    const verdicts = envs.map((e) => cases.find((c) => c.id === e.case)!.verdict);
    assert.deepEqual(verdicts, ['hazard', 'clean']);
  });

  test('a row for an unknown case or a malformed commit stops the run with its line number', () => {
    const header = 'case\trepo\tcommit\tpackages\tdistribution\tversion';
    assert.throws(() => readEnvironments(`${header}\nno-such-case\ta/b\t${SHA}\tpkg\tpkg\t1.0\n`, ids), /environments\.tsv line 2: no case no-such-case/);
    const id = [...ids][0];
    assert.throws(() => readEnvironments(`${header}\n${id}\ta/b\tabc\tpkg\tpkg\t1.0\n`, ids), /line 2: commit must be 40 hex digits/);
    assert.throws(() => readEnvironments(`${header}\n${id}\ta/b\t${SHA}\tpkg.sub\tpkg\t1.0\n`, ids), /line 2: packages must be top-level package names/);
  });

  test('an npm:<name> row lays one folder of the repository into node_modules/<name>', () => {
    const header = 'case\trepo\tcommit\tpackages\tdistribution\tversion';
    const id = [...ids][0];
    const [row] = readEnvironments(`${header}\n${id}\tamqp-node/amqplib\t${SHA}\t.\tnpm:amqplib\t0.10.3\n`, ids);
    assert.deepEqual([row.npm, row.distribution, row.packages, row.version], [true, 'amqplib', ['.'], '0.10.3']);
    assert.equal(readEnvironments(`${header}\n${id}\ta/b\t${SHA}\tpackages/client\tnpm:@acme/client\t1.0.0\n`, ids)[0].packages[0], 'packages/client');
    assert.throws(() => readEnvironments(`${header}\n${id}\ta/b\t${SHA}\t../up\tnpm:x\t1.0\n`, ids), /line 2: packages must be the package's folder/);
  });

  test("a setup.cfg's entry points become entry_points.txt (pbr and setuptools sections)", () => {
    const cfg = '[metadata]\nname = x\n\n[entry_points]\nconsole_scripts =\n    x-send = x.cli:main\nx.drivers =\n    fast = x._drivers.fast:Driver\n\n[options.entry_points]\nx.more = a = x.more:A\n';
    assert.equal(entryPointsOfSetupCfg(cfg), '[console_scripts]\nx-send = x.cli:main\n\n[x.drivers]\nfast = x._drivers.fast:Driver\n\n[x.more]\na = x.more:A\n');
  });
});
