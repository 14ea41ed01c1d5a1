/**
 * Suppression comments, found on comment nodes of the tree (never by scanning raw text, so a
 * string that happens to contain the marker is not a suppression):
 *   `# hazard-lens: ignore[rule-id, other-id]`       next line that holds code (own-line comment)
 *                                                    or this line (trailing comment)
 *   `// hazard-lens: ignore-file[rule-id]`           the whole file
 * `ignore[*]` covers every rule. A marker that names no rule (`hazard-lens: ignore`, or
 * `ignore[]`) suppresses nothing and is always reported: a blanket suppression would hide
 * hazards found later on the line, and a silent no-op would look like one.
 */
import { nodeRange, walkTree, type Node, type Tree } from '../parsing/parser';
import type { Finding, Suppression } from '../analysis/results';

const MARKER = /hazard-lens:\s*ignore(-file)?(?:\[([^\]]*)\]|(?![\w[-]))/g;

/** A line marker with its rule list (group 1), as the editor's quick fixes edit it: `hazard-lens: ignore[a, b]`. */
export const LINE_MARKER_WITH_RULES = /hazard-lens:\s*ignore\[([^\]]*)\]/;
/** A file marker with its rule list (group 1): `hazard-lens: ignore-file[a, b]`. */
export const FILE_MARKER_WITH_RULES = /hazard-lens:\s*ignore-file\[([^\]]*)\]/;

/** Reads suppressions from the comment nodes of a tree. */
export function collectSuppressions(tree: Tree, text: string): Suppression[] {
  const out: Suppression[] = [];
  // Every marker contains this literal, and a comment's text is a slice of the file's text.
  if (!text.includes('hazard-lens:')) return out;
  const lines = text.split('\n');
  const visitComment = (node: Node) => {
    const commentText = node.text;
    MARKER.lastIndex = 0;
    for (let m = MARKER.exec(commentText); m; m = MARKER.exec(commentText)) {
      const ruleIds = (m[2] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const range = nodeRange(node);
      const line = range.start.line;
      const before = lines[line]?.slice(0, range.start.character) ?? '';
      const ownLine = before.trim().length === 0;
      let targetLine = line;
      if (ownLine) {
        // The next line that is neither blank nor only a comment.
        // Skips blank lines and further comment lines; in C a `#` line is code (preprocessor).
        const commentLine = commentText.startsWith('#') ? /^\s*(#|$)/ : /^\s*(\/\/|\/\*|$)/;
        targetLine = range.end.line + 1;
        while (targetLine < lines.length && commentLine.test(lines[targetLine])) targetLine++;
      }
      out.push({ scope: m[1] ? 'file' : 'line', ruleIds, range, targetLine });
    }
  };
  // Comments can sit anywhere, so this is a walk over the whole tree (pre-order, not into
  // comments), with a cursor: no node objects except for the comments themselves.
  walkTree(tree, (cursor) => {
    if (cursor.nodeType !== 'comment') return true;
    visitComment(cursor.currentNode);
    return false;
  });
  return out;
}

function covers(s: Suppression, f: Finding): boolean {
  if (!s.ruleIds.includes(f.ruleId) && !s.ruleIds.includes('*')) return false;
  return s.scope === 'file' || s.targetLine === f.range.start.line;
}

/** A suppression (or one of its rule ids) that suppressed nothing. */
export interface UnusedSuppression {
  path: string;
  suppression: Suppression;
  /** The rule id that covered nothing (empty when the marker names no rule). */
  ruleId: string;
  /** The id is not a rule's. */
  unknown: boolean;
  /** The marker names no rule at all (`hazard-lens: ignore`): reported whatever the settings. */
  namesNoRule: boolean;
}

/**
 * Drops suppressed findings and reports, per file, the suppressions that covered nothing.
 * Unknown rule ids in a suppression are reported too (a typo silently suppresses nothing).
 */
export function applySuppressions(
  findings: Finding[],
  suppressionsByPath: Map<string, Suppression[]>,
  knownRuleIds: ReadonlySet<string>,
): { kept: Finding[]; unused: UnusedSuppression[] } {
  const used = new Set<Suppression>();
  const usedIds = new Map<Suppression, Set<string>>();
  const kept: Finding[] = [];
  for (const f of findings) {
    const sups = suppressionsByPath.get(f.path) ?? [];
    const hit = sups.find((s) => covers(s, f));
    if (hit) {
      used.add(hit);
      if (!usedIds.has(hit)) usedIds.set(hit, new Set());
      usedIds.get(hit)!.add(f.ruleId);
    } else kept.push(f);
  }
  const unused: UnusedSuppression[] = [];
  for (const [path, sups] of suppressionsByPath) {
    for (const s of sups) {
      if (s.ruleIds.length === 0) unused.push({ path, suppression: s, ruleId: '', unknown: false, namesNoRule: true });
      const hitIds = usedIds.get(s) ?? new Set<string>();
      for (const id of s.ruleIds) {
        if (id === '*' ? used.has(s) : hitIds.has(id)) continue;
        unused.push({ path, suppression: s, ruleId: id, unknown: id !== '*' && !knownRuleIds.has(id), namesNoRule: false });
      }
    }
  }
  return { kept, unused };
}
