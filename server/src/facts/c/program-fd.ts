/**
 * Judging whether a descriptor-producing call asks for close-on-exec, and building the safe
 * fix. Only constant flag expressions are judged: identifiers in capitals (macros), integer
 * literals and `|` between them; anything else (a variable, a call, `?:`) is `unknown`.
 */
import type { Node } from '../../parsing/parser';
import { FD_PRODUCERS, type FdProducerSpec } from '../../knowledge/c-process';
import type { CFdOpenFact, Span } from './program-types';
import { unwrap } from './program-fork';

export type SpanOf = (node: Node) => Span;

/** Collects the constants of a `|` expression; null when it is not constant. */
function constantFlags(node: Node, out: string[], depth = 0): boolean {
  if (depth > 16) return false;
  const n = node.type === 'parenthesized_expression' ? node.namedChild(0) : node;
  if (!n) return false;
  switch (n.type) {
    case 'identifier':
      if (!/^[A-Z_][A-Z0-9_]*$/.test(n.text)) return false;
      out.push(n.text);
      return true;
    case 'number_literal':
      out.push(n.text);
      return true;
    case 'parenthesized_expression':
      return constantFlags(n, out, depth + 1);
    case 'binary_expression': {
      if (n.childForFieldName('operator')?.type !== '|') return false;
      const l = n.childForFieldName('left');
      const r = n.childForFieldName('right');
      return l !== null && r !== null && constantFlags(l, out, depth + 1) && constantFlags(r, out, depth + 1);
    }
    default:
      return false;
  }
}

/** A plain string literal's content node (no concatenation, no macros), or null. */
function plainString(node: Node): { literal: Node; content: string } | null {
  const n = unwrap(node);
  if (n.type !== 'string_literal') return null;
  let content = '';
  for (const c of n.namedChildren) {
    if (!c) continue;
    if (c.type === 'string_content') content += c.text;
    else return null;
  }
  return { literal: n, content };
}

/** Side-effect-free operand that a rewrite may drop (`epoll_create(10)` → `epoll_create1(...)`). */
function droppable(node: Node): boolean {
  const n = unwrap(node);
  return n.type === 'number_literal' || n.type === 'identifier';
}

export interface FdJudgement {
  cloexec: CFdOpenFact['cloexec'];
  fix?: CFdOpenFact['fix'];
}

const NEEDS_GNU_SOURCE = new Set(['accept4', 'pipe2', 'mkostemp', 'dup3']);

/**
 * Judges one call. Returns null when the call produces no descriptor after all
 * (`fcntl` with another command).
 * `hasGnuSource`: the file defines `_GNU_SOURCE`, which `pipe2`/`accept4`/`mkostemp` need;
 * without it their fix also adds the definition and is only `unsafe` (it changes which
 * variants of some functions, e.g. `strerror_r`, the headers declare).
 */
export function judgeFdCall(name: string, call: Node, spanOf: SpanOf, hasGnuSource: boolean): FdJudgement | null {
  const spec: FdProducerSpec | undefined = FD_PRODUCERS.get(name);
  if (!spec) return null;
  const argList = call.childForFieldName('arguments');
  const args = argList ? argList.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
  switch (spec.style) {
    case 'flag-arg': {
      const arg = spec.arg !== undefined ? args[spec.arg] : undefined;
      if (!arg) return { cloexec: 'unknown' };
      const flags: string[] = [];
      if (!constantFlags(arg, flags)) return { cloexec: 'unknown' };
      const accepted = [spec.flag!, ...(spec.alsoAccepted ?? [])];
      if (flags.some((f) => accepted.includes(f))) return { cloexec: 'yes' };
      const isZero = flags.length === 1 && /^0+[uUlL]*$/.test(flags[0]);
      const s = spanOf(arg);
      return {
        cloexec: 'no',
        fix: {
          title: `Add ${spec.flag} to the flags of ${name}()`,
          applicability: 'safe',
          edits: isZero ? [{ span: s, newText: spec.flag! }] : [{ span: [s[2], s[3], s[2], s[3]], newText: ` | ${spec.flag!}` }],
        },
      };
    }
    case 'mode-e': {
      const arg = spec.arg !== undefined ? args[spec.arg] : undefined;
      const str = arg ? plainString(arg) : null;
      if (!str) return { cloexec: 'unknown' };
      if (str.content.includes('e')) return { cloexec: 'yes' };
      // Leave modes with escapes or odd characters alone.
      if (!/^[rwa+bxt,=a-zA-Z0-9-]*$/.test(str.content) || str.content.includes('ccs')) return { cloexec: 'no' };
      const s = spanOf(str.literal);
      return {
        cloexec: 'no',
        fix: {
          title: `Open with mode "${str.content}e" (close-on-exec)`,
          applicability: 'safe',
          edits: [{ span: [s[2], s[3] - 1, s[2], s[3] - 1], newText: 'e' }],
        },
      };
    }
    case 'fcntl-dupfd': {
      const cmd = args[1] ? unwrap(args[1]) : null;
      if (!cmd || cmd.type !== 'identifier') return null;
      if (cmd.text === 'F_DUPFD_CLOEXEC') return { cloexec: 'yes' };
      if (cmd.text !== 'F_DUPFD') return null;
      return {
        cloexec: 'no',
        fix: { title: 'Use F_DUPFD_CLOEXEC instead of F_DUPFD', applicability: 'safe', edits: [{ span: spanOf(cmd), newText: 'F_DUPFD_CLOEXEC' }] },
      };
    }
    case 'replace': {
      const template = spec.replacement!;
      if (args.length !== (spec.arity ?? 0)) return { cloexec: 'no' };
      for (let k = 0; k < args.length; k++) {
        if (!template.includes(`$${k}`) && !droppable(args[k])) return { cloexec: 'no' };
      }
      const newText = template.replace(/\$(\d)/g, (_m, d: string) => args[Number(d)]?.text ?? '');
      const replacementName = template.slice(0, template.indexOf('('));
      const needsGnu = NEEDS_GNU_SOURCE.has(replacementName) && !hasGnuSource;
      const edits: { span: Span; newText: string }[] = [{ span: spanOf(call), newText }];
      if (needsGnu) edits.unshift({ span: [0, 0, 0, 0], newText: '#define _GNU_SOURCE\n' });
      return {
        cloexec: 'no',
        fix: {
          title: needsGnu ? `Use ${replacementName}() with close-on-exec (defines _GNU_SOURCE)` : `Use ${replacementName}() with close-on-exec instead of ${name}()`,
          applicability: needsGnu ? 'unsafe' : 'safe',
          edits,
        },
      };
    }
  }
}
