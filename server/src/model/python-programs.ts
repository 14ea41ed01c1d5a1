/**
 * The programs of a Python workspace: its entry points (main blocks, `__main__.py`, scripts,
 * WSGI files and applications, declared console and WSGI scripts), each with the modules it
 * can import, then the library roots no entry point reaches; static import edges and
 * closures are cached between builds.
 */
import * as nodePath from 'node:path';
import type { ProgramContext } from './program-context';
import type { Range } from '../text/locations';
import type { PyModule, PyModuleIndex } from './python-modules';
import { projectEntryPoints, type EntryPoint } from './python-project';
import { closure, libraryRootOrder } from './program-graph';
import type { PyProgram, PyRoot } from './python-types';

const NO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/**
 * What running `m` imports, with where: its packages' `__init__` modules (at the module
 * itself), then the targets of each import statement in order.
 */
export function* importEdges(index: PyModuleIndex, m: PyModule): Generator<{ to: PyModule; edge: Range }> {
  for (const p of m.parents) yield { to: p, edge: m.moduleFact?.range ?? NO_RANGE };
  for (const f of m.facts) if (f.kind === 'py.import') for (const t of index.importTargets(m, f)) yield { to: t, edge: f.range };
  // An installed library that loads the plugins of an entry-point group by its name.
  for (const p of index.pluginEdges(m)) yield { to: p.to, edge: p.edge };
}

export function staticImports(index: PyModuleIndex, m: PyModule): PyModule[] {
  return Array.from(importEdges(index, m), (e) => e.to);
}

/** The declared entry points: project files, and the `setup.py` facts of the indexed modules. */
function declaredEntryPoints(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): EntryPoint[] {
  const setups = index.modules.filter((m) => m.moduleFact?.setupEntryPoints).map((m) => ({ path: m.path, language: 'python', facts: [m.moduleFact!] }));
  return projectEntryPoints(projectFiles, setups).entries;
}

function entryPoints(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles']): PyRoot[] {
  const roots: PyRoot[] = [];
  for (const m of index.modules) {
    // Installed packages run only as the workspace's code imports them.
    if (m.dependency) continue;
    const base = nodePath.basename(m.abs);
    if (base === '__main__.py') roots.push({ module: m, kind: 'dunder-main', asMain: true });
    else if (/\.wsgi$/i.test(base)) roots.push({ module: m, kind: 'wsgi', asMain: false });
    else if (m.moduleFact?.mainGuard) roots.push({ module: m, kind: 'main', asMain: true });
    // Only a `#!` line makes a file without an extension Python: it is run, not imported.
    else if (nodePath.extname(base) === '') roots.push({ module: m, kind: 'script', asMain: true });
    else if (m.moduleFact?.application) roots.push({ module: m, kind: 'application', asMain: false });
  }
  for (const script of declaredEntryPoints(index, projectFiles)) {
    if (script.kind === 'plugin') continue;
    const m = index.moduleByName(script.module);
    if (m) roots.push({ module: m, kind: script.kind === 'wsgi' ? 'wsgi-script' : 'console-script', asMain: false, script });
  }
  return roots;
}

/** pytest's default test files (`python_files`): `test_*.py` and `*_test.py`. */
const PYTEST_FILE = /^(test_.*|.*_test)\.py$/;

/**
 * pytest sessions: one per `conftest.py` with no `conftest.py` in a directory above it; the
 * session holds every conftest and every test module below that directory, in path order.
 * Test modules outside any conftest's directory stay library roots.
 */
function testSessions(index: PyModuleIndex): PyRoot[] {
  const byPath = index.modules.filter((m) => !m.dependency).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const conftests = byPath.filter((m) => nodePath.basename(m.abs) === 'conftest.py');
  const under = (dir: string, m: PyModule) => m.abs.startsWith(dir + nodePath.sep);
  const tops = conftests.filter((c) => !conftests.some((o) => o !== c && under(nodePath.dirname(o.abs), c)));
  const roots: PyRoot[] = [];
  for (const top of tops) {
    const dir = nodePath.dirname(top.abs);
    const tests = byPath.filter((m) => under(dir, m) && PYTEST_FILE.test(nodePath.basename(m.abs)));
    if (!tests.length) continue;
    roots.push({ module: top, kind: 'tests', asMain: false, session: { conftests: conftests.filter((c) => c === top || under(dir, c)), tests } });
  }
  return roots;
}

/**
 * Static import edges and closures kept between builds; `forget` drops what a changed module
 * invalidates (its edges, and every closure holding it).
 */
export class ClosureCache {
  readonly edges = new Map<PyModule, PyModule[]>();
  private readonly closures = new Map<PyModule, Set<PyModule>>();

  /** The static imports of `m`, computed once while it is unchanged. */
  imports(index: PyModuleIndex, m: PyModule): PyModule[] {
    let next = this.edges.get(m);
    if (!next) this.edges.set(m, (next = staticImports(index, m)));
    return next;
  }

  closure(index: PyModuleIndex, start: PyModule): Set<PyModule> {
    let c = this.closures.get(start);
    if (!c) this.closures.set(start, (c = closure(start, (m) => this.imports(index, m))));
    return c;
  }

  forget(changed: ReadonlySet<PyModule>): void {
    if (!changed.size) return;
    for (const m of changed) this.edges.delete(m);
    for (const [start, c] of this.closures) {
      for (const m of changed) {
        if (c.has(m)) {
          this.closures.delete(start);
          break;
        }
      }
    }
  }
}

export function buildPrograms(index: PyModuleIndex, projectFiles: ProgramContext['projectFiles'], cache = new ClosureCache()): PyProgram[] {
  const entries = entryPoints(index, projectFiles).sort((a, b) => (a.module.path < b.module.path ? -1 : a.module.path > b.module.path ? 1 : 0));
  const programs: PyProgram[] = entries.map((root) => ({ root, modules: cache.closure(index, root.module) }));
  for (const root of testSessions(index)) {
    const modules = new Set<PyModule>();
    for (const m of [...root.session!.conftests, ...root.session!.tests]) for (const x of cache.closure(index, m)) modules.add(x);
    programs.push({ root, modules });
  }
  const reached = new Set<PyModule>();
  for (const p of programs) for (const m of p.modules) reached.add(m);
  // Library roots: unreached modules that no other unreached module imports; then whatever
  // is left (import cycles), in path order.
  const rest = index.modules.filter((m) => !reached.has(m) && !m.dependency).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const m of libraryRootOrder(rest, (x) => cache.imports(index, x))) {
    if (reached.has(m)) continue;
    const root: PyRoot = { module: m, kind: 'library', asMain: false };
    const mods = cache.closure(index, m);
    for (const x of mods) reached.add(x);
    programs.push({ root, modules: mods });
  }
  return programs;
}
