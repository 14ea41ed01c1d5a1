/**
 * The CI integrations run as CI runs them: the Action's scan step (scripts/action/scan.sh,
 * with the inputs action.yml passes) on a copy of examples/ writes the SARIF report, the
 * annotations, the step summary and its outputs, and a baseline makes it pass; action.yml
 * declares every input it uses and hands the script every variable it reads; each
 * pre-commit hook's entry is a command that works.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ensureBuilt, ROOT, runCli } from './helpers';

before(() => ensureBuilt());

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function examples(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-ci-')));
  made.push(dir);
  fs.cpSync(path.join(ROOT, 'examples'), path.join(dir, 'repo'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'repo', '.git'));
  fs.writeFileSync(path.join(dir, 'repo', '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

const SCRIPT = path.join(ROOT, 'scripts', 'action', 'scan.sh');
const BIN = path.join(ROOT, 'bin', 'hazard-lens.js');

function runAction(dir: string, inputs: Record<string, string>) {
  const output = path.join(dir, 'github-output');
  const summary = path.join(dir, 'step-summary');
  fs.writeFileSync(output, '');
  fs.writeFileSync(summary, '');
  const r = spawnSync('bash', [SCRIPT], {
    cwd: path.join(dir, 'repo'),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', HAZARD_LENS: BIN, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, HAZARD_LENS_CACHE_DIR: path.join(dir, 'cache'), ...inputs },
  });
  const outputs = Object.fromEntries(
    fs
      .readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outputs, summary: fs.readFileSync(summary, 'utf8') };
}

describe('the GitHub Action', () => {
  test('the scan step: SARIF, annotations, step summary, outputs; a baseline makes it pass', () => {
    const dir = examples();
    const r = runAction(dir, { INPUT_PATHS: '.', INPUT_SARIF_FILE: 'out/hazard-lens.sarif' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.outputs, { 'exit-code': '1', findings: '18' });
    const sarif = JSON.parse(fs.readFileSync(path.join(dir, 'repo', 'out', 'hazard-lens.sarif'), 'utf8'));
    assert.equal(sarif.runs[0].results.length, 18);
    assert.equal((r.stdout.match(/^::(error|warning|notice) file=/gm) ?? []).length, 18);
    assert.match(r.stdout, /^::warning file=c-bpipe-fork\/incident\/bpipe\.c,line=10,col=7,/m);
    assert.ok(r.summary.startsWith('## Hazard Lens\n\n18 findings (exit code 1). Findings per rule:\n\n```\n6  unreleased-file '), r.summary);

    assert.equal(runCli(['scan', '--write-baseline', 'baseline.json'], { cwd: path.join(dir, 'repo') }).status, 0);
    const passing = runAction(dir, { INPUT_PATHS: '.', INPUT_BASELINE: 'baseline.json', INPUT_ANNOTATIONS: 'false' });
    assert.deepEqual(passing.outputs, { 'exit-code': '0', findings: '0' });
    assert.equal(passing.summary, '## Hazard Lens\n\nNo findings.\n');
    assert.doesNotMatch(passing.stdout, /^::/m);
  });

  test('a usage error is exit code 2 and no summary', () => {
    const dir = examples();
    const r = runAction(dir, { INPUT_PATHS: '.', INPUT_ARGS: '--select NO-SUCH-FAMILY' });
    assert.deepEqual(r.outputs, { 'exit-code': '2', findings: '0' });
    assert.match(r.stderr, /unknown rule or family 'NO-SUCH-FAMILY'/);
    assert.equal(r.summary, '');
  });

  test('action.yml declares every input it uses and passes the script every variable it reads', () => {
    const action = fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8');
    const script = fs.readFileSync(SCRIPT, 'utf8');
    const declared = new Set([...action.matchAll(/^ {2}([a-z-]+):\n {4}description:/gm)].map((m) => m[1]));
    const inputsSection = action.slice(action.indexOf('\ninputs:'), action.indexOf('\noutputs:'));
    const inputs = new Set([...inputsSection.matchAll(/^ {2}([a-z-]+):$/gm)].map((m) => m[1]));
    for (const used of action.matchAll(/inputs\.([a-z-]+)/g)) assert.ok(inputs.has(used[1]), `inputs.${used[1]} is not declared`);
    assert.ok(declared.size > 0);
    const passed = new Set([...action.matchAll(/^ {8}([A-Z_]+): /gm)].map((m) => m[1]));
    for (const read of new Set([...script.matchAll(/\$\{?(INPUT_[A-Z_]+|HAZARD_LENS)\b/g)].map((m) => m[1]))) {
      assert.ok(passed.has(read), `${read} is read by scan.sh but not set in action.yml`);
    }
    assert.match(action, /run: bash "\$GITHUB_ACTION_PATH\/scripts\/action\/scan\.sh"/);
    assert.match(action, /uses: github\/codeql-action\/upload-sarif@v3/);
    assert.match(action, /uses: actions\/setup-node@v4/);
  });
});

describe('pre-commit', () => {
  test('each hook entry is a command the CLI runs', () => {
    const hooks = fs.readFileSync(path.join(ROOT, '.pre-commit-hooks.yaml'), 'utf8');
    const entries = [...hooks.matchAll(/^ {2}entry: hazard-lens (.*)$/gm)].map((m) => m[1].split(' '));
    assert.deepEqual(entries, [['scan'], ['scan', '--fix']]);
    assert.equal((hooks.match(/^ {2}pass_filenames: false$/gm) ?? []).length, 2);
    for (const args of entries) {
      const dir = examples();
      const r = spawnSync(process.execPath, [CLI, ...args, '--baseline', 'none.json'], { cwd: path.join(dir, 'repo'), encoding: 'utf8' });
      // The user's own args come after the entry: here a baseline that does not exist.
      assert.equal(r.status, 2);
      assert.match(r.stderr, /cannot read the baseline none\.json/);
      const ok = spawnSync(process.execPath, [CLI, ...args, 'python'], { cwd: path.join(dir, 'repo'), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      // python/ keeps a leak without a fix after --fix: both exit 1.
      assert.equal(ok.status, 1, ok.stderr);
    }
  });
});
