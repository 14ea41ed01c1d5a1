/**
 * `#if`/`#else` chains that open a brace in every branch:
 *
 *     #if defined(_AIX)
 *       while ((ch = getopt(argc, argv, "ab:R")) != EOF) {
 *     #else
 *       while ((ch = getopt(argc, argv, "ab:")) != EOF) {
 *     #endif
 *
 * The compiler sees one of the branches; tree-sitter reads both, so the braces no longer
 * pair up and every function after the chain is lost to the fact walk (or taken for the
 * body of the one before). This finds such chains — every branch leaving the same non-zero
 * number of braces open — and blanks all of the chain but one branch (spaces, so every
 * position stays the same) for a second parse that the fact walk reads. The branch kept is
 * the one the default target platform compiles when the conditions say (`#ifdef _AIX` …
 * `#else`: the `#else`), else the `#else`, else the first.
 */
import { parseSync } from '../../parsing/parser';
import { DEFAULT_C_PLATFORM } from '../../knowledge/c-platforms';
import { branchCondition } from './preprocessor';

interface Branch {
  /** Line of the branch's directive (`#if`, `#elif`, `#else`), zero-based. */
  line: number;
  /** The directive's text (its continuation lines joined). */
  directive: string;
  /** Braces opened minus braces closed by the branch's code. */
  net: number;
}

interface Chain {
  branches: Branch[];
}

/** An `#elif…` or `#else` directive somewhere in a text. */
const ELSE_DIRECTIVE = /^[ \t]*#[ \t]*el/m;

/** A character `braceCount` acts on: a brace, or the `/` of a comment. */
const BRACE_OR_SLASH = /[{}/]/;

/** A directive's keyword: `if`, `ifdef`, `elif`, `else`, `endif`, ... */
const DIRECTIVE = /^[ \t]*#[ \t]*([a-z]+)/;

/**
 * Net braces of a code line outside comments, strings and character literals; `inComment`
 * carries an open block comment from line to line.
 */
function braceCount(line: string, state: { inComment: boolean }): number {
  let net = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state.inComment) {
      if (c === '*' && line[i + 1] === '/') {
        state.inComment = false;
        i++;
      }
      continue;
    }
    if (c === '/' && line[i + 1] === '*') {
      state.inComment = true;
      i++;
    } else if (c === '/' && line[i + 1] === '/') {
      break;
    } else if (c === '"' || c === "'") {
      for (i++; i < line.length && line[i] !== c; i++) if (line[i] === '\\') i++;
    } else if (c === '{') {
      net++;
    } else if (c === '}') {
      net--;
    }
  }
  return net;
}

/** Whether the default target platform compiles each branch ('T'/'F'/'?'), in order. */
function takenOnDefault(branches: readonly Branch[]): ('T' | 'F' | '?')[] {
  const out: ('T' | 'F' | '?')[] = [];
  let earlier: 'T' | 'F' | '?' = 'F';
  for (const b of branches) {
    let own: 'T' | 'F' | '?' = 'T';
    const keyword = DIRECTIVE.exec(b.directive)?.[1] ?? '';
    if (keyword !== 'else') {
      // A one-directive parse gives the condition node `branchCondition` reads.
      const text = (keyword.startsWith('el') ? b.directive.replace(/#[ \t]*el(if|ifdef|ifndef)/, '#$1') : b.directive) + '\n#endif\n';
      let tree;
      try {
        tree = parseSync(text, 'c');
        const node = tree.rootNode.namedChild(0);
        own = node ? branchCondition(node)[DEFAULT_C_PLATFORM] : '?';
      } catch {
        own = '?';
      } finally {
        tree?.delete();
      }
    }
    out.push(earlier === 'T' ? 'F' : earlier === 'F' ? own : own === 'F' ? 'F' : '?');
    earlier = earlier === 'T' || own === 'T' ? 'T' : earlier === 'F' && own === 'F' ? 'F' : '?';
  }
  return out;
}

/** The text with the chains that leave braces open in every branch blanked but for one branch, or null when there are none. */
export function blankUnbalancedBranches(text: string): string | null {
  // Only a chain with an `#elif` or `#else` has more than one branch.
  if (!ELSE_DIRECTIVE.test(text)) return null;
  const lines = text.split('\n');
  const blank = new Set<number>();
  const stack: { chain: Chain; start: number }[] = [];
  const state = { inComment: false };
  const addNet = (n: number) => {
    const top = stack[stack.length - 1];
    if (top) top.chain.branches[top.chain.branches.length - 1].net += n;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const keyword = state.inComment ? null : DIRECTIVE.exec(line)?.[1];
    if (!keyword) {
      // A line with no `/` leaves the comment state as it is, and one with no brace either
      // counts 0: outside every chain only comments matter.
      if (stack.length > 0 ? BRACE_OR_SLASH.test(line) : line.includes('/')) addNet(braceCount(line, state));
      continue;
    }
    // The directive and its continuation lines.
    let directive = line;
    const first = i;
    while (lines[i].endsWith('\\') && i + 1 < lines.length) directive += '\n' + lines[++i];
    if (keyword === 'if' || keyword === 'ifdef' || keyword === 'ifndef') {
      stack.push({ chain: { branches: [{ line: first, directive, net: 0 }] }, start: first });
    } else if ((keyword === 'elif' || keyword === 'elifdef' || keyword === 'elifndef' || keyword === 'else') && stack.length > 0) {
      stack[stack.length - 1].chain.branches.push({ line: first, directive, net: 0 });
    } else if (keyword === 'endif' && stack.length > 0) {
      const { chain, start } = stack.pop()!;
      const nets = chain.branches.map((b) => b.net);
      const unbalanced = chain.branches.length > 1 && nets[0] !== 0 && nets.every((n) => n === nets[0]);
      if (unbalanced) {
        const taken = takenOnDefault(chain.branches);
        let keep = taken.indexOf('T');
        if (keep < 0) keep = /^[ \t]*#[ \t]*else/.test(chain.branches[chain.branches.length - 1].directive) ? chain.branches.length - 1 : 0;
        const kept = chain.branches[keep];
        const keptEnd = keep + 1 < chain.branches.length ? chain.branches[keep + 1].line : i;
        for (let k = start; k <= i; k++) if (k < kept.line || k >= keptEnd) blank.add(k);
        // The kept branch's directive line too: its code is then plain code.
        for (let k = kept.line; k < kept.line + kept.directive.split('\n').length; k++) blank.add(k);
      }
      // The chain counts in its parent with what the compiler would see: one branch.
      addNet(nets[0] ?? 0);
    }
  }
  if (blank.size === 0) return null;
  return lines.map((l, k) => (blank.has(k) ? l.replace(/[^\s]/g, ' ') : l)).join('\n');
}
