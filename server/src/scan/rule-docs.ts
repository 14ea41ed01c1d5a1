/**
 * The rule documentation pages (`docs/rules/<id>.md`) as text, for `hazard-lens rules <id>`
 * and SARIF's `help.markdown`. They are read from the package folder (found upward from this
 * bundle or source file); a build or install without them gets undefined, and callers fall
 * back to the rule's summary and documentation URL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let docsFolder: string | null | undefined;

function findDocsFolder(): string | null {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'docs', 'rules');
    if (fs.existsSync(path.join(candidate, 'unreleased-file.md'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** The markdown page of a rule, or undefined when the documentation is not installed. */
export function ruleDocText(id: string): string | undefined {
  if (!/^[a-z0-9-]+$/.test(id)) return undefined;
  docsFolder ??= findDocsFolder();
  if (!docsFolder) return undefined;
  try {
    return fs.readFileSync(path.join(docsFolder, `${id}.md`), 'utf8');
  } catch {
    return undefined;
  }
}
