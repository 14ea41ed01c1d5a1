/**
 * The incremental evaluator and the incremental program models give exactly the findings
 * of a fresh evaluation: random (seeded) edit sequences over every multi-file program
 * fixture and example workspace, compared after each edit with `evaluate()` from scratch;
 * `changed` names exactly the paths whose findings differ from the previous evaluation; and
 * the Python model really reuses the replays of programs an edit cannot reach.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { DEFAULT_CONFIG } from '../../server/src/engine/config';
import { evaluate } from '../../server/src/engine/engine';
import { IncrementalEvaluator } from '../../server/src/engine/incremental';
import { MapModelCache, PROJECT_FILE_NAMES, type ProjectFile } from '../../server/src/model/program-context';
import type { FileAnalysis, Finding } from '../../server/src/analysis/results';
import { pythonModel, PythonModelCache } from '../../server/src/model/python';
import { grammarsReady, listFiles } from '../harness';

const ROOT = join(__dirname, '..', '..');

interface Workspace {
  dir: string;
  texts: Map<string, string>;
  projectFiles: ProjectFile[];
}

function load(dir: string): Workspace {
  const texts = new Map<string, string>();
  const projectFiles: ProjectFile[] = [];
  for (const abs of listFiles(dir)) {
    const rel = relative(ROOT, abs);
    const text = readFileSync(abs, 'utf8');
    if (PROJECT_FILE_NAMES.includes(basename(abs))) projectFiles.push({ path: rel, text });
    if (/\.(py|c|h)$/.test(abs)) texts.set(rel, text);
  }
  return { dir, texts, projectFiles };
}

/** Every workspace: the program fixtures, and each example (its incident/ and fixed/ apart). */
function workspaces(): Workspace[] {
  const out: Workspace[] = [];
  const programs = join(ROOT, 'test', 'fixtures', 'programs');
  for (const name of readdirSync(programs).sort()) out.push(load(join(programs, name)));
  const examples = join(ROOT, 'examples');
  for (const name of readdirSync(examples).sort()) {
    const dir = join(examples, name);
    if (!statSync(dir).isDirectory()) continue;
    const parts = readdirSync(dir);
    if (parts.includes('incident')) for (const p of ['incident', 'fixed']) out.push(load(join(dir, p)));
    else out.push(load(dir));
  }
  return out.filter((w) => w.texts.size > 0);
}

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PY_SNIPPETS = [
  'import threading\nthreading.Thread(target=print).start()\n',
  'import os\nif os.fork() == 0:\n    os._exit(0)\n',
  'import os\nos.closerange(3, 1024)\n',
  '_fd = open("/dev/urandom", "rb")\n',
  '# a comment that moves every range below\n',
  'if __name__ == "__main__":\n    pass\n',
  'def _leak(p):\n    fh = open(p)\n    if not p:\n        return None\n    fh.close()\n',
];
const C_SNIPPETS = [
  '/* a comment that moves every range below */\n',
  'static int spare_fd = -1;\n',
  '#include <unistd.h>\n',
  'int hl_leak(const char *p) { FILE *f = fopen(p, "r"); if (!p) return -1; fclose(f); return 0; }\n',
];

/** One random edit of one file: delete, duplicate or insert a line, add a snippet, or restore the original. */
function edit(text: string, original: string, isPython: boolean, rand: () => number): string {
  const lines = text.split('\n');
  const at = Math.floor(rand() * lines.length);
  const snippets = isPython ? PY_SNIPPETS : C_SNIPPETS;
  switch (Math.floor(rand() * 5)) {
    case 0:
      lines.splice(at, 1);
      return lines.join('\n');
    case 1:
      lines.splice(at, 0, lines[at] ?? '');
      return lines.join('\n');
    case 2: {
      const snippet = snippets[Math.floor(rand() * snippets.length)];
      // Python snippets go where a top-level statement may start (before an unindented line).
      const tops = lines.map((l, i) => (isPython ? (/^\S/.test(l) ? i : -1) : i)).filter((i) => i >= 0);
      const where = tops.length ? tops[Math.floor(rand() * tops.length)] : lines.length;
      lines.splice(where, 0, snippet.replace(/\n$/, ''));
      return lines.join('\n');
    }
    case 3:
      return text + snippets[Math.floor(rand() * snippets.length)];
    default:
      return original;
  }
}

function byPath(findings: readonly Finding[]): Map<string, string> {
  const out = new Map<string, Finding[]>();
  for (const f of findings) out.set(f.path, [...(out.get(f.path) ?? []), f]);
  return new Map([...out].map(([p, list]) => [p, JSON.stringify(list)]));
}

before(async () => {
  await grammarsReady();
});

describe('incremental evaluation equals a fresh evaluation', () => {
  for (const ws of workspaces()) {
    const name = relative(ROOT, ws.dir);
    test(`${name}: 40 random edits`, () => {
      const rand = rng(name.length * 7919 + 17);
      const current = new Map(ws.texts);
      const analyses = new Map<string, FileAnalysis>();
      for (const [p, t] of current) analyses.set(p, analyzeText(p, t)!);
      const ev = new IncrementalEvaluator(DEFAULT_CONFIG, { roots: [ws.dir], projectFiles: ws.projectFiles });
      ev.setFiles([...analyses.values()]);
      let previous = byPath(ev.evaluate().findings);
      const paths = [...current.keys()];
      let changedSeen = 0;
      for (let step = 0; step < 40; step++) {
        const p = paths[Math.floor(rand() * paths.length)];
        const text = edit(current.get(p)!, ws.texts.get(p)!, p.endsWith('.py'), rand);
        current.set(p, text);
        const a = analyzeText(p, text)!;
        ev.update(a);
        const got = ev.evaluate();
        const fresh = evaluate(ev.files(), DEFAULT_CONFIG, { roots: [ws.dir], projectFiles: ws.projectFiles });
        assert.deepEqual(got.findings, fresh.findings, `step ${step}: edit of ${p}\n${text}`);
        assert.deepEqual(got.notes, fresh.notes);
        const now = byPath(fresh.findings);
        const expected = new Set<string>();
        for (const [q, json] of now) if (previous.get(q) !== json) expected.add(q);
        for (const q of previous.keys()) if (!now.has(q)) expected.add(q);
        assert.deepEqual([...got.changed].sort(), [...expected].sort(), `step ${step}: changed paths after editing ${p}`);
        changedSeen += expected.size;
        previous = now;
      }
      // The sequence must exercise something: findings moved or changed at least once.
      assert.ok(changedSeen > 0, 'no edit changed any finding');
    });
  }

  test('removing and re-adding files, and a file order change, keep the results equal', () => {
    const ws = load(join(ROOT, 'test', 'fixtures', 'programs', 'py-thread-at-import'));
    const analyses = [...ws.texts].map(([p, t]) => analyzeText(p, t)!);
    const ev = new IncrementalEvaluator(DEFAULT_CONFIG, { roots: [ws.dir] });
    ev.setFiles(analyses);
    const full = ev.evaluate();
    assert.ok(full.findings.some((f) => f.ruleId === 'fork-in-threaded-program'));
    const metrics = analyses.find((a) => a.path.endsWith('metrics.py'))!;
    ev.remove(metrics.path);
    const without = ev.evaluate();
    assert.deepEqual(without.findings, evaluate(ev.files(), DEFAULT_CONFIG, { roots: [ws.dir] }).findings);
    assert.ok(!without.findings.some((f) => f.ruleId === 'fork-in-threaded-program'));
    assert.ok(without.changed.has(analyses.find((a) => a.path.endsWith('spawner.py'))!.path));
    ev.setFiles([...analyses].reverse());
    const reversed = ev.evaluate();
    assert.deepEqual(reversed.findings, evaluate([...analyses].reverse(), DEFAULT_CONFIG, { roots: [ws.dir] }).findings);
    assert.deepEqual(reversed.findings, full.findings);
  });
});

describe('the incremental Python model', () => {
  test('an edit replays only the programs that can reach the edited module, with a fresh build\'s results', () => {
    // Two independent programs plus a shared helper module.
    const dir = join(ROOT, 'test', 'fixtures', 'programs', 'py-thread-at-import');
    const files = new Map<string, string>([
      [join(dir, 'one.py'), 'import threading\nimport os\n\ndef main():\n    threading.Thread(target=print).start()\n    os.fork()\n\nif __name__ == "__main__":\n    main()\n'],
      [join(dir, 'two.py'), 'import os\n\ndef main():\n    os.fork()\n\nif __name__ == "__main__":\n    main()\n'],
      [join(dir, 'three.py'), 'import helper\n\nif __name__ == "__main__":\n    helper.go()\n'],
      [join(dir, 'helper.py'), 'import os\n\ndef go():\n    os.fork()\n'],
    ]);
    const analyses = [...files].map(([p, t]) => analyzeText(p, t)!);
    const cache = new MapModelCache();
    const ctx = { roots: [dir], projectFiles: [], config: DEFAULT_CONFIG, cache };
    const first = pythonModel({ ...ctx, files: analyses });
    assert.equal(first.stats.programs, 3);
    assert.equal(first.stats.reusedPrograms, 0);
    // helper.py gains a thread start before its fork: only three.py's program replays.
    const helperPath = join(dir, 'helper.py');
    const edited = analyses.map((a) =>
      a.path === helperPath ? analyzeText(helperPath, 'import os\nimport threading\n\ndef go():\n    threading.Thread(target=print).start()\n    os.fork()\n')! : a,
    );
    const second = pythonModel({ ...ctx, files: edited });
    assert.equal(second.stats.changedModules, 1);
    assert.equal(second.stats.reusedPrograms, 2);
    const fresh = new PythonModelCache().model({ ...ctx, cache: undefined, files: edited });
    const sites = (m: typeof second) => m.forkAfterThreads.map((r) => `${basename(r.fork.module.path)}:${r.fork.fact.range.start.line} ${r.fork.chain.map((s) => `${basename(s.path)}:${s.range.start.line}`).join(' ')}`).sort();
    assert.deepEqual(sites(second), sites(fresh));
    assert.deepEqual(sites(second), ['helper.py:5 three.py:3', 'one.py:5 one.py:8']);
    // The same files again: the same model object.
    assert.equal(pythonModel({ ...ctx, files: edited }), second);
  });
});
