/**
 * Bad arguments are answered before the analyser is loaded (`cli/arguments.ts`, issue #17
 * start-up): `main.ts` rejects what the option tables alone show — an unknown command or
 * option, an option without its value — with exactly the message and exit code `runCli` gives,
 * and without importing the rest of the CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { earlyUsageProblem } from '../../server/src/cli/arguments';
import { EXIT_USAGE, runCli } from '../../server/src/cli/cli';
import { ROOT } from './helpers';

async function cliAnswer(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: () => true }, stderr: { write: (s: string) => ((stderr += s), true) }, cwd: ROOT });
  return { code, stderr };
}

const BAD = [['scan', '--bogus'], ['scan', '-f'], ['scan', '--fix=yes'], ['scan', '-x', 'src'], ['rules', '--nope'], ['lsp', '--stdio', '--extra'], ['frob'], ['--bogus']];

test('what the option tables reject gets runCli\'s own message and exit code', async () => {
  for (const argv of BAD) {
    const early = earlyUsageProblem(argv);
    assert.ok(early, argv.join(' '));
    const { code, stderr } = await cliAnswer(argv);
    assert.equal(code, EXIT_USAGE, argv.join(' '));
    assert.equal(`hazard-lens: ${early}\n`, stderr, argv.join(' '));
  }
});

test('arguments that need more than the tables (values, paths, help) are left to runCli', () => {
  for (const argv of [['scan'], ['scan', '--format', 'bogus', 'src'], ['scan', '-j', '2', '--no-cache', 'a.py'], ['rules', 'unreleased-file'], ['lsp', '--stdio'], ['help', 'scan'], ['--help'], ['-V'], ['toString'], []]) {
    assert.equal(earlyUsageProblem(argv), argv[0] === 'toString' ? earlyUsageProblem(['frob'])!.replace('frob', 'toString') : undefined, argv.join(' '));
  }
});

test('`scan --bogus` is rejected without loading the rest of the CLI; a scan loads it', () => {
  // main.ts from source: which of the CLI's and the engine's modules were loaded by the end.
  const probe = (args: string[]) => {
    const script = `process.argv = [process.argv[0], 'main', ...${JSON.stringify(args)}];
      require(${JSON.stringify(`${ROOT}/server/src/cli/main.ts`)});
      process.on('exit', () => process.stderr.write('LOADED ' + Object.keys(require.cache).filter((k) => /server[\\\\/]src[\\\\/](engine|cli[\\\\/]cli\\.ts)/.test(k)).length + '\\n'));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    return { status: r.status, loaded: Number(/LOADED (\d+)/.exec(r.stderr)?.[1] ?? -1), stderr: r.stderr };
  };
  const bogus = probe(['scan', '--bogus']);
  assert.equal(bogus.status, EXIT_USAGE);
  assert.match(bogus.stderr, /^hazard-lens: unknown option '--bogus'\nRun 'hazard-lens scan --help' for usage\.\n/);
  assert.equal(bogus.loaded, 0, bogus.stderr);
  // The control: a scan (of a path that does not exist) loads them, so the count above means something.
  const scan = probe(['scan', '/nonexistent/hazard-lens-probe']);
  assert.ok(scan.loaded > 0, scan.stderr);
});
