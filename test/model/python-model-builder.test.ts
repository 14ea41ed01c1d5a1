/**
 * model/python-model-builder.ts: the memoised call lookups. Calls with the same answer share
 * one answer (and, in a model built once, one memo): the memory of a large workspace's model,
 * where most calls run the same few functions or none. The answers read as before.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import type { PyCallFact } from '../../server/src/facts/python/program-facts';
import { ModelBuilder } from '../../server/src/model/python-model-builder';
import { indexForProgram } from '../../server/src/model/python-replay-share';
import { grammarsReady } from '../harness';

before(grammarsReady);

const APP = `from worker import Worker, run, gone, missing

def main():
    run()
    run()
    Worker()
    Worker()
    gone()
    missing()
`;
const WORKER = `class Worker:
    def __init__(self):
        pass

def run():
    pass
`;

function builderFor(tracked: boolean) {
  const files = [analyzeText('/w/app.py', APP)!, analyzeText('/w/worker.py', WORKER)!];
  const index = indexForProgram({ files, roots: ['/w'], projectFiles: [], config: DEFAULT_CONFIG }, tracked);
  const builder = new ModelBuilder(index, { ...DEFAULT_CONFIG });
  const app = index.modules.find((m) => m.path === '/w/app.py')!;
  const calls = files[0].facts.filter((f): f is PyCallFact => f.kind === 'py.call');
  const call = (callee: string, nth: number) => calls.filter((f) => f.callee === callee)[nth];
  return { builder, app, call };
}

test('calls that run the same function, or make the same class, share one answer; calls of nothing share the empty one', () => {
  const { builder, app, call } = builderFor(false);
  const run0 = builder.callInfo(app, call('worker.run', 0));
  const run1 = builder.callInfo(app, call('worker.run', 1));
  assert.deepEqual({ target: run0.target?.name, cls: run0.cls?.name }, { target: 'run', cls: undefined });
  assert.equal(run1, run0);
  const make0 = builder.callInfo(app, call('worker.Worker', 0));
  const make1 = builder.callInfo(app, call('worker.Worker', 1));
  assert.deepEqual({ target: make0.target?.name, cls: make0.cls?.name, module: make0.cls?.module.path }, { target: 'Worker.__init__', cls: 'Worker', module: '/w/worker.py' });
  assert.equal(make1, make0);
  assert.notEqual(make0, run0);
  // Names the imported module does not define: the call runs nothing of the workspace.
  const gone = builder.callInfo(app, call('worker.gone', 0));
  assert.deepEqual(gone, {});
  assert.equal(builder.callInfo(app, call('worker.missing', 0)), gone);
});

test("a model kept up to date across edits: each call's answer with the modules it read, equal to the shared one", () => {
  const { builder, app, call } = builderFor(true);
  const run0 = builder.callInfo(app, call('worker.run', 0));
  const run1 = builder.callInfo(app, call('worker.run', 1));
  assert.equal(run0.target?.name, 'run');
  assert.deepEqual(run1, run0);
  assert.equal(run0.target?.module.path, '/w/worker.py');
});
