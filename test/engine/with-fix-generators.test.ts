/**
 * The Python `with` fix across `yield` and `await` keeps behaviour: the fixture
 * test/fixtures/rules/unreleased-file/python-generators.py and its `.fixed.py` (what the fix
 * writes, checked by test/rules.test.ts) are run by Python side by side. For each generator,
 * run to its end, the file is open or closed at every `yield` and at the end exactly as
 * before; closed early (after its first value) the fixed one has closed its file and the
 * original has not. A generator that never closed its file (first_two) now closes it after
 * its last use, where the original kept it until garbage collection. The coroutine returns the same text and ends with its file closed; when
 * it is cancelled at its `await`, only the fixed one closes the file.
 * Skipped, with the reason printed, when no python3 is on PATH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'rules', 'unreleased-file');

/** Runs a fixture's functions with `open` recorded; prints one JSON line of what it saw. */
const HARNESS = String.raw`
import asyncio, builtins, importlib.util, json, sys

opened = []
real_open = builtins.open
def recording_open(*args, **kwargs):
    f = real_open(*args, **kwargs)
    opened.append(f)
    return f
builtins.open = recording_open

spec = importlib.util.spec_from_file_location("fixture", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
data = sys.argv[2]

def state():
    return [f.closed for f in opened]

out = {}
for name in ["header_and_body", "each_line", "first_two", "closed_before_last_yield"]:
    opened.clear()
    gen = getattr(module, name)(data)
    trace = []
    for value in gen:
        trace.append([value, state()])
    trace.append(["end", state()])
    opened.clear()
    early = getattr(module, name)(data)
    next(early)
    early.close()
    out[name] = {"run": trace, "closed early": state()}
    for f in opened:
        f.close()

opened.clear()
result = asyncio.run(module.read_slowly(data))
out["read_slowly"] = {"run": [result, state()]}

async def cancel_at_await():
    task = asyncio.ensure_future(module.read_slowly(data))
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
opened.clear()
asyncio.run(cancel_at_await())
out["read_slowly"]["cancelled"] = state()
for f in opened:
    f.close()
print(json.dumps(out))
`;

function python(): string | undefined {
  const r = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'python3' : undefined;
}

test('the with fix across yield and await keeps what each generator and coroutine does', (t) => {
  const py = python();
  if (!py) {
    t.diagnostic('skipped: no python3 on PATH to run the fixture and its fixed version');
    t.skip('no python3 on PATH');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-with-fix-'));
  try {
    const harness = path.join(dir, 'harness.py');
    const data = path.join(dir, 'data.txt');
    fs.writeFileSync(harness, HARNESS);
    fs.writeFileSync(data, 'first\nsecond\nthird\n');
    const run = (file: string) => {
      const r = spawnSync(py, [harness, path.join(FIXTURES, file), data], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, { run: unknown; 'closed early'?: boolean[]; cancelled?: boolean[] }>;
    };
    const before = run('python-generators.py');
    const after = run('python-generators.fixed.py');
    for (const name of ['header_and_body', 'each_line', 'closed_before_last_yield', 'read_slowly']) {
      assert.deepEqual(after[name].run, before[name].run, `${name}: the same values, with the file open and closed at the same points`);
    }
    // first_two never closed its file: the same at each yield; at the end the fixed one has closed it.
    assert.deepEqual(before.first_two.run, [['first\n', [false]], ['second\n', [false]], ['end', [false]]]);
    assert.deepEqual(after.first_two.run, [['first\n', [false]], ['second\n', [false]], ['end', [true]]]);
    // What the fix changes: a generator closed early, or a coroutine cancelled, closes its file.
    for (const name of ['header_and_body', 'each_line', 'first_two', 'closed_before_last_yield']) {
      assert.deepEqual(before[name]['closed early'], [false], `${name}: the original leaves its file open when closed early`);
      assert.deepEqual(after[name]['closed early'], [true], `${name}: the fixed one closes it`);
    }
    assert.deepEqual(before.read_slowly.cancelled, [false]);
    assert.deepEqual(after.read_slowly.cancelled, [true]);
    // Spot checks of the traces themselves: open at each yield, closed at the end.
    assert.deepEqual(before.header_and_body.run, [['first\n', [false]], ['second\nthird\n', [false]], ['end', [true]]]);
    assert.deepEqual(before.closed_before_last_yield.run, [['first\n', [false]], ['done', [true]], ['end', [true]]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
