/**
 * Entry points a Python project declares, read statically (nothing is executed):
 * - `pyproject.toml`: `[project.scripts]`, `[project.gui-scripts]` (also inline under
 *   `[project]`), `[project.entry-points."group"]` (also `[project.entry-points]` with inline
 *   tables), `[tool.poetry.scripts]`, `[tool.poetry.plugins."group"]`;
 * - `setup.cfg`: `[options.entry_points]` (setuptools) and `[entry_points]` (pbr), each group
 *   as `group =` followed by indented `name = module:attr` lines (or one on the same line);
 * - `setup.py`: the literal `entry_points=` of `setup(...)`, extracted from its syntax tree
 *   with the file's other facts (`facts/python/setup-py.ts`);
 * - `*.egg-info/entry_points.txt`, `*.dist-info/entry_points.txt`: INI, `[group]` sections.
 *
 * What a group means: `console_scripts`/`gui_scripts` are programs whose main is the named
 * function; `wsgi_scripts` (pbr) are WSGI applications: pbr generates a script that imports
 * the module and calls `attr()` to get the application, which a WSGI server embeds; any
 * other group is a plugin group, whose modules a host program imports.
 *
 * NOTE: the TOML reader is a small one for just these tables (keys, basic and literal
 * strings, one-line inline tables, comments), not a TOML parser: multi-line strings and
 * arrays of tables never hold entry points. No TOML parser is a dependency of the project
 * and none is needed for this. A value it cannot read is never guessed: the declaration is
 * left out with a note (malformed files give notes, never an exception).
 */
import * as nodePath from 'node:path';
import type { Range } from '../text/locations';
import type { PySetupEntryPoints } from '../facts/python/setup-py';

/** What the group of an entry point makes of it. */
export type EntryKind = 'console' | 'gui' | 'wsgi' | 'plugin';

export interface EntryPoint {
  /** The group as declared (`console_scripts`, `wsgi_scripts`, `oslo.messaging.drivers`). */
  group: string;
  kind: EntryKind;
  /** The entry's name (the command name for scripts: `myapp`). */
  name: string;
  /** Dotted module (`myapp.cli`). */
  module: string;
  /** Dotted object inside the module (`main`, `App.run`); empty when only a module is named. */
  object: string;
  /** The project file and the line that declares it (evidence). */
  path: string;
  range: Range;
}

/** What one file declares, and what in it could not be read. */
export interface EntryPointsRead {
  entries: EntryPoint[];
  notes: string[];
}

export function kindOfGroup(group: string): EntryKind {
  if (group === 'console_scripts') return 'console';
  if (group === 'gui_scripts') return 'gui';
  if (group === 'wsgi_scripts') return 'wsgi';
  return 'plugin';
}

/** Parses `pkg.mod:func.attr [extra1,extra2]`. */
export function parseEntryReference(value: string): { module: string; object: string } | undefined {
  const v = value.replace(/\[.*\]\s*$/, '').trim();
  const m = /^([A-Za-z_][\w.]*)\s*(?::\s*([A-Za-z_][\w.]*))?$/.exec(v);
  if (!m) return undefined;
  return { module: m[1], object: m[2] ?? '' };
}

/** Removes a trailing `# comment` that is outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') return line.slice(0, i);
  }
  return line;
}

/** Reads one TOML key (bare or quoted) at the start of `s`; returns it and the rest. */
function readKey(s: string): { key: string; rest: string } | undefined {
  const t = s.trimStart();
  const quoted = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(t);
  if (quoted) return { key: quoted[1] ?? quoted[2], rest: t.slice(quoted[0].length) };
  const bare = /^[A-Za-z0-9_.-]+/.exec(t);
  if (!bare) return undefined;
  return { key: bare[0], rest: t.slice(bare[0].length) };
}

/** Reads a TOML basic or literal string at the start of `s`. */
function readString(s: string): { value: string; rest: string } | undefined {
  const t = s.trimStart();
  const basic = /^"((?:[^"\\]|\\.)*)"/.exec(t);
  if (basic) return { value: basic[1].replace(/\\(["\\])/g, '$1'), rest: t.slice(basic[0].length) };
  const literal = /^'([^']*)'/.exec(t);
  if (literal) return { value: literal[1], rest: t.slice(literal[0].length) };
  return undefined;
}

/** `{ a = "x", b = "y" }` on one line → pairs; undefined when it is not that shape. */
function readInlineTable(s: string): [string, string][] | undefined {
  let t = s.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return undefined;
  t = t.slice(1, -1);
  const out: [string, string][] = [];
  while (t.trim()) {
    const k = readKey(t);
    if (!k) return undefined;
    const eq = k.rest.trimStart();
    if (!eq.startsWith('=')) return undefined;
    const v = readString(eq.slice(1));
    if (!v) return undefined;
    out.push([k.key, v.value]);
    t = v.rest.trimStart();
    if (t.startsWith(',')) t = t.slice(1);
    else if (t.trim()) return undefined;
  }
  return out;
}

function lineRange(line: number, text: string): Range {
  return { start: { line, character: 0 }, end: { line, character: text.length } };
}

function shortName(path: string): string {
  const parts = path.replace(/\\/g, '/').split('/');
  // `pkg.egg-info/entry_points.txt` names its folder too.
  return parts.length > 1 && parts[parts.length - 1] === 'entry_points.txt' ? parts.slice(-2).join('/') : parts[parts.length - 1];
}

/** Collects entries and notes of one file. */
class Collector {
  readonly entries: EntryPoint[] = [];
  readonly notes: string[] = [];
  constructor(private readonly path: string) {}

  /** `value` is `module:attr [extras]`; a note when it is not that shape. */
  add(group: string, name: string, value: string, line: number, raw: string, range?: Range): void {
    const ref = parseEntryReference(value);
    if (!ref) {
      this.note(line, `entry point '${name}' of group '${group}' has the value '${value.trim()}', which is not 'module:attr'; not read`);
      return;
    }
    this.entries.push({ group, kind: kindOfGroup(group), name, ...ref, path: this.path, range: range ?? lineRange(line, raw) });
  }

  note(line: number, text: string): void {
    this.notes.push(`${shortName(this.path)}:${line + 1}: ${text}`);
  }

  result(): EntryPointsRead {
    return { entries: this.entries, notes: this.notes };
  }
}

/** Splits a TOML table header's dotted key into its parts (`project.entry-points."a.b"` → 3). */
function headerKeys(header: string): string[] | undefined {
  const out: string[] = [];
  let t = header.trim();
  while (t) {
    const quoted = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(t);
    const bare = quoted ? undefined : /^[A-Za-z0-9_-]+/.exec(t);
    if (!quoted && !bare) return undefined;
    out.push(quoted ? (quoted[1] ?? quoted[2]) : bare![0]);
    t = t.slice((quoted ?? bare)![0].length).trimStart();
    if (!t) break;
    if (!t.startsWith('.')) return undefined;
    t = t.slice(1);
  }
  return out;
}

/** The group of an entry-point table (`[project.entry-points."g"]`), or undefined. */
function tableGroup(keys: readonly string[]): string | undefined {
  const k = keys.join('\u0000');
  if (k === 'project\u0000scripts' || k === 'tool\u0000poetry\u0000scripts') return 'console_scripts';
  if (k === 'project\u0000gui-scripts') return 'gui_scripts';
  if (keys.length === 3 && keys[0] === 'project' && keys[1] === 'entry-points') return keys[2];
  if (keys.length === 4 && keys[0] === 'tool' && keys[1] === 'poetry' && keys[2] === 'plugins') return keys[3];
  return undefined;
}

/** Entry points of a `pyproject.toml`. */
export function pyprojectEntryPoints(path: string, text: string): EntryPointsRead {
  const c = new Collector(path);
  let keys: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = stripComment(raw).trim();
    if (!line) continue;
    if (line.startsWith('[[')) {
      keys = [];
      continue;
    }
    const header = /^\[(.*)\]$/.exec(line) ?? /^\[([^\]=]*)$/.exec(line);
    if (header) {
      const parsed = headerKeys(header[1]);
      if (!parsed) {
        keys = [];
        if (/entry-points|scripts|plugins/.test(header[1])) c.note(i, `table header ${line} cannot be read; its entries are not read`);
      } else keys = parsed;
      continue;
    }
    const k = readKey(line);
    if (!k) continue;
    const afterEq = k.rest.trimStart();
    if (!afterEq.startsWith('=')) continue;
    const valueText = afterEq.slice(1).trim();
    const group = tableGroup(keys);
    if (group !== undefined) {
      const s = readString(valueText);
      if (s) c.add(group, k.key, s.value, i, raw);
      else {
        // Poetry: `name = { callable = "pkg.mod:func" }`
        const inline = readInlineTable(valueText);
        const callable = inline?.find(([key]) => key === 'callable' || key === 'reference');
        if (callable) c.add(group, k.key, callable[1], i, raw);
        else c.note(i, `entry point '${k.key}' of group '${group}' is not a string (or a table with callable =); not read`);
      }
    } else if (keys.length === 1 && keys[0] === 'project' && (k.key === 'scripts' || k.key === 'gui-scripts')) {
      const pairs = readInlineTable(valueText);
      if (!pairs) c.note(i, `project.${k.key} is not a one-line table of strings; not read`);
      for (const [name, value] of pairs ?? []) c.add(k.key === 'scripts' ? 'console_scripts' : 'gui_scripts', name, value, i, raw);
    } else if (keys.length === 2 && keys[0] === 'project' && keys[1] === 'entry-points') {
      // [project.entry-points] with `"group" = { name = "mod:attr" }`
      const pairs = readInlineTable(valueText);
      if (!pairs) c.note(i, `entry-point group '${k.key}' is not a one-line table of strings; not read`);
      for (const [name, value] of pairs ?? []) c.add(k.key, name, value, i, raw);
    } else if (keys.length === 3 && keys[0] === 'tool' && keys[1] === 'poetry' && keys[2] === 'plugins') {
      const pairs = readInlineTable(valueText);
      if (!pairs) c.note(i, `poetry plugin group '${k.key}' is not a one-line table of strings; not read`);
      for (const [name, value] of pairs ?? []) c.add(k.key, name, value, i, raw);
    }
  }
  return c.result();
}

/**
 * Entry points of INI text: `setup.cfg` (`sections`: the sections that hold groups as keys)
 * or `entry_points.txt` (`sections` undefined: each section is a group).
 */
function iniEntryPoints(path: string, text: string, sections: ReadonlySet<string> | undefined): EntryPointsRead {
  const c = new Collector(path);
  let section = '';
  /** setup.cfg: the group whose indented lines follow. */
  let group: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (/^\s*[#;]/.test(raw) || !raw.trim()) continue;
    const indented = /^\s/.test(raw);
    const header = /^\[([^\]]+)\]\s*$/.exec(raw.trim());
    if (header && !indented) {
      section = header[1].trim();
      group = undefined;
      continue;
    }
    const body = raw.trim().replace(/\s+[#;].*$/, '');
    if (sections === undefined) {
      // entry_points.txt: `name = value` lines under `[group]`.
      if (!section) continue;
      const e = /^([^=]+?)\s*=\s*(.*)$/.exec(body);
      if (!e) c.note(i, `'${body}' in group '${section}' is not 'name = module:attr'; not read`);
      else c.add(section, e[1], e[2], i, raw);
      continue;
    }
    if (!sections.has(section)) continue;
    if (!indented) {
      const m = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(body);
      if (!m) {
        group = undefined;
        c.note(i, `'${body}' in [${section}] is not 'group =' followed by entry points; not read`);
        continue;
      }
      group = m[1];
      if (m[2].trim()) {
        const e = /^([^=]+?)\s*=\s*(.+)$/.exec(m[2].trim());
        if (e) c.add(group, e[1], e[2], i, raw);
        else c.note(i, `'${m[2].trim()}' in group '${group}' is not 'name = module:attr'; not read`);
      }
      continue;
    }
    if (group === undefined) continue;
    const e = /^([^=]+?)\s*=\s*(.+)$/.exec(body);
    if (e) c.add(group, e[1], e[2], i, raw);
    else c.note(i, `'${body}' in group '${group}' is not 'name = module:attr'; not read`);
  }
  return c.result();
}

const SETUP_CFG_SECTIONS = new Set(['options.entry_points', 'entry_points']);

/** Entry points of a `setup.cfg`: `[options.entry_points]` (setuptools) and `[entry_points]` (pbr). */
export function setupCfgEntryPoints(path: string, text: string): EntryPointsRead {
  return iniEntryPoints(path, text, SETUP_CFG_SECTIONS);
}

/** Entry points of an installed or built distribution's `entry_points.txt`. */
export function entryPointsTxt(path: string, text: string): EntryPointsRead {
  return iniEntryPoints(path, text, undefined);
}

/** Entry points of a `setup.py`, from the facts extracted from its tree. */
export function setupPyEntryPoints(path: string, found: PySetupEntryPoints): EntryPointsRead {
  const c = new Collector(path);
  for (const e of found.entries) c.add(e.group, e.name, e.value, e.range.start.line, '', e.range);
  return { entries: c.entries, notes: [...found.notes.map((n) => `${nodePath.basename(path)}: ${n.replace(/^setup\.py: /, '')}`), ...c.notes] };
}

/** True for the `entry_points.txt` of an `*.egg-info` or `*.dist-info` folder. */
export function isEntryPointsTxt(path: string): boolean {
  return /(^|[\\/])[^\\/]+\.(egg|dist)-info[\\/]entry_points\.txt$/.test(path);
}

/** A source file's facts, for the `setup.py` entry points (structurally: `FileAnalysis`). */
interface SetupSource {
  path: string;
  language: string;
  facts: readonly unknown[];
}

function setupFacts(f: SetupSource): PySetupEntryPoints | undefined {
  if (f.language !== 'python' || !/(^|[\\/])setup\.py$/.test(f.path)) return undefined;
  for (const fact of f.facts as { kind?: string; setupEntryPoints?: PySetupEntryPoints }[]) if (fact.kind === 'py.module') return fact.setupEntryPoints;
  return undefined;
}

/**
 * Every entry point the project declares, from its project files and `setup.py` files. The
 * same declaration read twice (a `setup.cfg` and the `entry_points.txt` generated from it)
 * counts once, with the evidence of the declaration the project wrote (generated metadata
 * comes last).
 */
export function projectEntryPoints(projectFiles: readonly { path: string; text: string }[], files: readonly SetupSource[] = []): EntryPointsRead {
  const reads: { generated: boolean; read: EntryPointsRead }[] = [];
  for (const f of projectFiles) {
    const base = f.path.replace(/\\/g, '/').split('/').pop();
    if (base === 'pyproject.toml') reads.push({ generated: false, read: pyprojectEntryPoints(f.path, f.text) });
    else if (base === 'setup.cfg') reads.push({ generated: false, read: setupCfgEntryPoints(f.path, f.text) });
    else if (isEntryPointsTxt(f.path)) reads.push({ generated: true, read: entryPointsTxt(f.path, f.text) });
  }
  for (const f of files) {
    const found = setupFacts(f);
    if (found) reads.push({ generated: false, read: setupPyEntryPoints(f.path, found) });
  }
  const ordered = [...reads.filter((r) => !r.generated), ...reads.filter((r) => r.generated)];
  const seen = new Set<string>();
  const entries: EntryPoint[] = [];
  const notes: string[] = [];
  for (const { read } of ordered) {
    notes.push(...read.notes);
    for (const e of read.entries) {
      const key = `${e.group}\u0000${e.name}\u0000${e.module}\u0000${e.object}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entries.push(e);
    }
  }
  return { entries, notes };
}

/**
 * What the entry-point declarations of a workspace hold that could not be read (malformed
 * lines, values that are not literals), as notes for the user; cheap enough to compute on
 * every evaluation (a few small project files, and the facts of `setup.py` files).
 */
export function entryPointNotes(projectFiles: readonly { path: string; text: string }[], files: readonly SetupSource[]): string[] {
  // The language server asks on every evaluation: only the setup.py files are looked at, and
  // the answer is kept while the project files and those facts are the same objects.
  const setups = files.filter((f) => f.path.endsWith('setup.py') && setupFacts(f)?.notes.length);
  const facts = setups.map((f) => setupFacts(f));
  if (lastNotes && lastNotes.projectFiles === projectFiles && lastNotes.facts.length === facts.length && lastNotes.facts.every((x, i) => x === facts[i])) return lastNotes.notes;
  const relevant = projectFiles.filter((f) => /(^|[\\/])(pyproject\.toml|setup\.cfg)$/.test(f.path) || isEntryPointsTxt(f.path));
  const notes = !relevant.length && !setups.length ? [] : projectEntryPoints(relevant, setups).notes.map((n) => `entry points: ${n}`);
  lastNotes = { projectFiles, facts, notes };
  return notes;
}

let lastNotes: { projectFiles: readonly unknown[]; facts: (PySetupEntryPoints | undefined)[]; notes: string[] } | undefined;
