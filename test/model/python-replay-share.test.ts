/**
 * Sharing the Python program replays with a helper (`model/python-replay-share.ts`) builds
 * exactly the model a single pass builds: the helper's logs travel by position (it works on
 * its own copy of the facts, as a worker thread does), each is checked against the
 * later-phase replays the programs before it made, and a log guessed wrong is replayed again.
 * The helper runs in this thread here, on a share fixed in advance, with its facts read as the
 * worker reads them (`scan/packed-ranges.ts`); `test/scan/pipeline.test.ts` runs it in a real worker.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import type { FileAnalysis } from '../../server/src/analysis/results';
import { MapModelCache, type ProgramContext } from '../../server/src/model/program-context';
import { PythonModelCache, pythonModelOnce } from '../../server/src/model/python';
import { maxPrograms, replayClaims, replayShare } from '../../server/src/model/python-replay-share';
import { StringInterner } from '../../server/src/scan/intern';
import { PackedRanges } from '../../server/src/scan/packed-ranges';
import { grammarsReady, loadWorkspace } from '../harness';

const ROOT = join(__dirname, '..', '..');

before(async () => {
  await grammarsReady();
});

/** Every program fixture in one workspace (many programs), and the examples in another. */
const WORKSPACES = [join(ROOT, 'test', 'fixtures', 'programs'), join(ROOT, 'examples')];

describe('shared program replays build the single-pass model', () => {
  for (const dir of WORKSPACES) {
    const ws = () => loadWorkspace(dir, ROOT);
    for (const block of [1, 3]) {
      test(`${dir.slice(ROOT.length + 1)}: helper blocks of ${block}, every split point`, async () => {
        const { files, projectFiles } = ws();
        const roots = [dir];
        const base: ProgramContext = { files, roots, projectFiles, config: DEFAULT_CONFIG };
        const serial = new PythonModelCache().model(base);
        const expected = JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots, projectFiles }));
        const n = serial.programs.length;
        assert.ok(n >= 5, `${n} programs`);
        let helped = 0;
        let again = 0;
        for (const first of [0, 1, Math.floor(n / 3), n - 1]) {
          // The helper's own copy of the facts, as a worker has it (ranges packed, strings interned).
          const ranges = new PackedRanges();
          const interner = new StringInterner();
          const copy = files.map((f) => interner.internStrings(ranges.parse(JSON.stringify(f)) as FileAnalysis));
          const claims = replayClaims(maxPrograms(files.length, projectFiles.length));
          claims[0] = n;
          // Programs before `first` are this thread's: the helper claims from the end down to them.
          for (let i = 0; i < first; i++) claims[1 + i] = 1;
          const sent = replayShare({ ...base, files: copy }, claims, block);
          assert.equal(sent.logs.length, n - first);
          const models = new MapModelCache();
          const model = await pythonModelOnce({ ...base, cache: models }, { claims, result: Promise.resolve(sent) });
          const shared = model.stats.phases.shared!;
          assert.equal(shared.helperPrograms + shared.replayedAgain, n - first);
          helped += shared.helperPrograms;
          again += shared.replayedAgain;
          assert.deepEqual([model.stats.functionRuns, model.stats.laterRuns], [serial.stats.functionRuns, serial.stats.laterRuns]);
          assert.equal(JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots, projectFiles, cache: models })), expected);
        }
        // Most helper logs are taken as they are.
        assert.ok(helped > again, `${helped} taken, ${again} replayed again`);
      });
    }
  }

  test('a model built once (untracked, no logs kept) is the tracked model; a build with other files after it starts over', async () => {
    const { files, projectFiles } = loadWorkspace(WORKSPACES[0], ROOT);
    const roots = [WORKSPACES[0]];
    const base: ProgramContext = { files, roots, projectFiles, config: DEFAULT_CONFIG };
    const tracked = new PythonModelCache().model(base);
    const models = new MapModelCache();
    const once = await pythonModelOnce({ ...base, cache: models });
    assert.deepEqual(
      [once.stats.programs, once.stats.functionRuns, once.stats.laterRuns, once.forkAfterThreads.length, once.cachesAcrossFork.length, once.closeAllsWithoutExec.length],
      [tracked.stats.programs, tracked.stats.functionRuns, tracked.stats.laterRuns, tracked.forkAfterThreads.length, tracked.cachesAcrossFork.length, tracked.closeAllsWithoutExec.length],
    );
    assert.equal(JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots, projectFiles, cache: models })), JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots, projectFiles })));
    // The same paths with new fact objects (an edit), then one file fewer: each evaluation in
    // the same cache gives what a fresh one gives, and nothing is reused from the untracked build.
    const edited = files.map((f) => JSON.parse(JSON.stringify(f)) as FileAnalysis);
    const python = edited.findIndex((f) => f.language === 'python');
    const fewer = edited.filter((_, i) => i !== python);
    for (const next of [edited, fewer]) {
      const fresh = JSON.stringify(evaluate(next, DEFAULT_CONFIG, { roots, projectFiles }));
      assert.equal(JSON.stringify(evaluate(next, DEFAULT_CONFIG, { roots, projectFiles, cache: models })), fresh);
    }
    const again = new PythonModelCache();
    await again.modelOnce(base);
    assert.equal(again.model({ ...base, files: edited }).stats.reusedPrograms, 0);
  });

  test('a helper that built another index (or failed) leaves every program to this thread', async () => {
    const { files, projectFiles } = loadWorkspace(WORKSPACES[0], ROOT);
    const base: ProgramContext = { files, roots: [WORKSPACES[0]], projectFiles, config: DEFAULT_CONFIG };
    const expected = JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots: base.roots, projectFiles }));
    for (const answer of [() => Promise.resolve({ modules: -1, logs: [] }), () => Promise.reject(new Error('worker died'))]) {
      const result = answer();
      const claims = replayClaims(maxPrograms(files.length, projectFiles.length));
      // The helper claimed everything, then had nothing usable to give.
      claims.fill(2, 1);
      const models = new MapModelCache();
      const model = await pythonModelOnce({ ...base, cache: models }, { claims, result });
      assert.equal(model.stats.phases.shared?.helperPrograms, 0);
      assert.equal(JSON.stringify(evaluate(files, DEFAULT_CONFIG, { roots: base.roots, projectFiles, cache: models })), expected);
    }
  });
});
