/**
 * Console-script entry points declared in project metadata, read without executing or fully
 * parsing anything: `pyproject.toml` (`[project.scripts]`, `[project.gui-scripts]`,
 * `[tool.poetry.scripts]`, and the inline `scripts = { ... }` form under `[project]`) and
 * `setup.cfg` (`[options.entry_points]` → `console_scripts` / `gui_scripts`).
 *
 * NOTE: this is a small reader for just those tables (keys, basic and literal strings,
 * one-line inline tables, comments), not a TOML parser: multi-line strings and arrays of
 * tables never hold entry points, and a value it cannot read is skipped, never guessed.
 */
import type { Range } from '../engine/types';

export interface ConsoleScript {
  /** The command name (`myapp`). */
  name: string;
  /** Dotted module (`myapp.cli`). */
  module: string;
  /** Dotted object inside the module (`main`, `App.run`); empty when only a module is named. */
  object: string;
  /** The project file and the line that declares it (evidence). */
  path: string;
  range: Range;
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

const SCRIPT_TABLES = new Set(['project.scripts', 'project.gui-scripts', 'tool.poetry.scripts']);

export function pyprojectScripts(path: string, text: string): ConsoleScript[] {
  const out: ConsoleScript[] = [];
  let table = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = stripComment(raw).trim();
    if (!line) continue;
    const header = /^\[\s*([^[\]]+?)\s*\]$/.exec(line);
    if (header) {
      table = header[1].replace(/\s*\.\s*/g, '.').replace(/"/g, '');
      continue;
    }
    if (line.startsWith('[[')) {
      table = '';
      continue;
    }
    const k = readKey(line);
    if (!k) continue;
    const afterEq = k.rest.trimStart();
    if (!afterEq.startsWith('=')) continue;
    const valueText = afterEq.slice(1).trim();
    const add = (name: string, value: string) => {
      const ref = parseEntryReference(value);
      if (ref) out.push({ name, ...ref, path, range: lineRange(i, raw) });
    };
    if (SCRIPT_TABLES.has(table)) {
      const s = readString(valueText);
      if (s) add(k.key, s.value);
      else {
        // Poetry: `name = { callable = "pkg.mod:func" }`
        const inline = readInlineTable(valueText);
        const callable = inline?.find(([key]) => key === 'callable' || key === 'reference');
        if (callable) add(k.key, callable[1]);
      }
    } else if (table === 'project' && (k.key === 'scripts' || k.key === 'gui-scripts')) {
      for (const [name, value] of readInlineTable(valueText) ?? []) add(name, value);
    }
  }
  return out;
}

export function setupCfgScripts(path: string, text: string): ConsoleScript[] {
  const out: ConsoleScript[] = [];
  let section = '';
  let inScripts = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (/^\s*[#;]/.test(raw) || !raw.trim()) continue;
    const header = /^\[([^\]]+)\]\s*$/.exec(raw.trim());
    if (header && !/^\s/.test(raw)) {
      section = header[1].trim();
      inScripts = false;
      continue;
    }
    if (section !== 'options.entry_points') continue;
    const indented = /^\s/.test(raw);
    if (!indented) {
      const m = /^([\w.-]+)\s*[=:]\s*(.*)$/.exec(raw.trim());
      if (!m) {
        inScripts = false;
        continue;
      }
      inScripts = m[1] === 'console_scripts' || m[1] === 'gui_scripts';
      if (inScripts && m[2].trim()) {
        const e = /^([\w.-]+)\s*=\s*(.+)$/.exec(m[2].trim());
        const ref = e ? parseEntryReference(e[2]) : undefined;
        if (e && ref) out.push({ name: e[1], ...ref, path, range: lineRange(i, raw) });
      }
      continue;
    }
    if (!inScripts) continue;
    const e = /^([\w.-]+)\s*=\s*(.+)$/.exec(raw.trim());
    const ref = e ? parseEntryReference(e[2]) : undefined;
    if (e && ref) out.push({ name: e[1], ...ref, path, range: lineRange(i, raw) });
  }
  return out;
}

/** Console scripts declared by any project file. */
export function consoleScripts(projectFiles: readonly { path: string; text: string }[]): ConsoleScript[] {
  const out: ConsoleScript[] = [];
  for (const f of projectFiles) {
    const base = f.path.replace(/\\/g, '/').split('/').pop();
    if (base === 'pyproject.toml') out.push(...pyprojectScripts(f.path, f.text));
    else if (base === 'setup.cfg') out.push(...setupCfgScripts(f.path, f.text));
  }
  return out;
}
