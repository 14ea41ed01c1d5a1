/**
 * Descriptors a function hands to another program by number: it formats the descriptor with an
 * integer conversion (`snprintf(buf, n, "%d", fd)`, `ngx_sprintf(p, "%ud", grp->map_fd)`, any
 * `…sprintf`/`…snprintf`/`…strdup_printf`) into a buffer that is an environment entry or an
 * argument of a program it runs:
 * - the buffer is passed to `setenv()`/`putenv()` or to an exec/spawn call, or stored into an
 *   array element (`args[n++] = buf`) of an array passed to one;
 * - or the buffer holds environment-assignment text: the format itself, or a string another call
 *   writes into the same buffer (`p = ngx_cpymem(buf, VARNAME "=", …)`), starts with `NAME=`.
 * A cursor assigned from the buffer (`p = buf`, `p = buf + n`, `p = copy(buf, …)`, whose result
 * points into its first argument) names the same buffer. A descriptor only formatted into a log
 * line or a message buffer is not handed over.
 * The analysis is syntactic and per function; the caller links the texts it returns (`fd`,
 * `p[1]`, `grp->map_fd`) to the descriptors the function stores, and struct fields across
 * functions by {@link fieldKeyOf}.
 */
import type { Node } from '../../parsing/parser';
import { EXEC_CALLS, SPAWN_CALLS } from '../../knowledge/c-process';
import { declaratorName } from './declarators';
import { calleeName, unwrap } from './program-fork';

/** Formatting into memory: `sprintf`, `snprintf`, `asprintf`, `ngx_slprintf`, `g_strdup_printf`. */
const FORMATTER = /(?:^|_)(?:v?(?:s|sn|sl|as)printf|strdup_v?printf)$/;
/** Formatters that return the new string instead of writing into their first argument. */
const RETURNS_STRING = /strdup_v?printf$/;
/** An integer conversion: `%d`, `%5u`, `%ld`, `%ud` (nginx), `%x`. */
const INTEGER_CONVERSION = /%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|z|j|t)?[diuxX]/;
/** Environment-assignment text: an upper-case name and `=` at the start. */
const ENV_ASSIGNMENT = /^[A-Z_][A-Z0-9_]*=/;
/** Calls that take an environment entry or its value: the argument positions. */
const ENV_SETTERS: ReadonlyMap<string, number> = new Map([
  ['setenv', 1],
  ['putenv', 0],
]);

/** The names of the calls a formatted buffer is handed over by (`setenv`, `execve`, `posix_spawn`, ...), as words of a text. */
const HANDING_CALL_WORD = new RegExp(`\\b(?:${[...ENV_SETTERS.keys(), ...EXEC_CALLS, ...SPAWN_CALLS].join('|')})\\b`);

/**
 * A cheap look at a function's text before its tree is walked: nothing can be handed over
 * unless it calls an environment setter, an exec or a spawn, or writes environment-assignment
 * text (a string part that starts `NAME=` or `=`, or a string macro with `=` in it).
 */
function mayHandOver(text: string, macros: ReadonlyMap<string, string>): boolean {
  if (HANDING_CALL_WORD.test(text) || /"[A-Z0-9_]*=/.test(text)) return true;
  for (const [name, value] of macros) if (value.includes('=') && text.includes(name)) return true;
  return false;
}

/** `#define NAME "text"` definitions of a file, for string macros in concatenations (`VARNAME "="`). */
export function stringMacros(text: string): Map<string, string> {
  const out = new Map<string, string>();
  // The unanchored test finds its `#` quickly; the line-anchored one below tries every offset.
  if (!/#[ \t]*define[ \t]+\w+[ \t]+"/.test(text)) return out;
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+"((?:[^"\\\n]|\\.)*)"[ \t]*$/gm)) out.set(m[1], m[2]);
  return out;
}

/** The text of a string literal or a concatenation of literals and string macros (unknown macros stand as their name), or null. */
function literalText(node: Node, macros: ReadonlyMap<string, string>): string | null {
  const n = unwrap(node);
  if (n.type === 'string_literal') return n.namedChildren.map((c) => (c?.type === 'string_content' || c?.type === 'escape_sequence' ? c.text : '')).join('');
  if (n.type !== 'concatenated_string') return null;
  let out = '';
  for (const part of n.namedChildren) {
    if (!part) continue;
    if (part.type === 'identifier') out += macros.get(part.text) ?? part.text;
    else if (part.type === 'string_literal') out += literalText(part, macros) ?? '';
    else return null;
  }
  return out;
}

/** The buffer variable an argument names: `buf`, `&buf`, `buf + n`, `(char *) buf`. */
function bufferName(node: Node | null | undefined): string | null {
  if (!node) return null;
  let n = unwrap(node);
  if (n.type === 'pointer_expression' && n.child(0)?.type === '&') {
    const arg = n.childForFieldName('argument');
    if (!arg) return null;
    n = unwrap(arg);
  }
  if (n.type === 'binary_expression' && ['+', '-'].includes(n.childForFieldName('operator')?.type ?? '')) {
    const left = n.childForFieldName('left');
    if (!left) return null;
    n = unwrap(left);
  }
  return n.type === 'identifier' ? n.text : null;
}

/** An expression's text without whitespace, so `p [1]` and `p[1]` name the same descriptor. */
export function compactText(node: Node): string {
  return node.text.replace(/\s+/g, '');
}

function argumentsOf(call: Node): Node[] {
  const list = call.childForFieldName('arguments');
  return list ? list.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
}

/** Names of one function joined when they point into the same buffer. */
class Buffers {
  private readonly parent = new Map<string, string>();
  find(name: string): string {
    let root = name;
    for (let next = this.parent.get(root); next !== undefined && next !== root; next = this.parent.get(root)) root = next;
    this.parent.set(name, root);
    return root;
  }
  join(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/**
 * The descriptor expressions (`fd`, `pipefd[1]`, `grp->map_fd`, whitespace removed) whose number
 * the function `def` formats into an environment entry or an argument of a program it runs.
 */
export function descriptorsHandedOverByNumber(def: Node, macros: ReadonlyMap<string, string>): Set<string> {
  const out = new Set<string>();
  const body = def.childForFieldName('body');
  if (!body) return out;
  const text = body.text;
  if (!/printf/.test(text) || !mayHandOver(text, macros)) return out;
  const buffers = new Buffers();
  const formatted: { buffer: string; values: string[] }[] = [];
  const envShaped: string[] = [];
  const handedOver: string[] = [];
  /** Array name → buffers stored into its elements. */
  const arrayElements = new Map<string, string[]>();
  const handedArrays: string[] = [];
  /** `left = right`; `declared`: the name an initialised declarator declares (`char *p = buf`). */
  const assigned = (left: Node | null, right: Node | null, declared?: string): void => {
    if (!left || !right) return;
    const l = unwrap(left);
    const r = unwrap(right);
    const to = declared ?? (l.type === 'identifier' ? l.text : null);
    if (to) {
      // `p = buf`, `p = buf + n`, `p = copy(buf, …)`: a cursor into the same buffer.
      const from = r.type === 'call_expression' ? bufferName(argumentsOf(r)[0]) : bufferName(r);
      if (from) buffers.join(to, from);
      const name = r.type === 'call_expression' ? calleeName(r) : null;
      if (name && RETURNS_STRING.test(name)) formattedCall(r, to);
      return;
    }
    // `args[n++] = buf`: an element of an array that may be passed to exec.
    if (l.type === 'subscript_expression') {
      const array = l.childForFieldName('argument');
      const value = bufferName(r);
      if (array?.type === 'identifier' && value) {
        let list = arrayElements.get(array.text);
        if (!list) arrayElements.set(array.text, (list = []));
        list.push(value);
      }
    }
  };
  const formattedCall = (call: Node, into: string | null): void => {
    const args = argumentsOf(call);
    const at = args.findIndex((a) => literalText(a, macros) !== null);
    if (at < 0) return;
    const format = literalText(args[at], macros)!;
    if (!INTEGER_CONVERSION.test(format)) return;
    const buffer = into ?? (at > 0 ? bufferName(args[0]) : null);
    if (!buffer) return;
    const values = args.slice(at + 1).map((a) => unwrap(a));
    const texts = values.filter((v) => ['identifier', 'field_expression', 'subscript_expression'].includes(v.type)).map(compactText);
    if (texts.length > 0) formatted.push({ buffer, values: texts });
  };
  const visit = (node: Node): void => {
    switch (node.type) {
      case 'assignment_expression':
        if (node.childForFieldName('operator')?.type === '=') assigned(node.childForFieldName('left'), node.childForFieldName('right'));
        break;
      case 'init_declarator': {
        const name = declaratorName(node.childForFieldName('declarator'));
        const value = node.childForFieldName('value');
        if (name && value && value.type !== 'initializer_list') assigned(node.childForFieldName('declarator'), value, name);
        break;
      }
      case 'call_expression': {
        const name = calleeName(node);
        if (!name) break;
        const args = argumentsOf(node);
        if (FORMATTER.test(name) && !RETURNS_STRING.test(name)) formattedCall(node, null);
        // Any call writing environment-assignment text into a buffer (its first argument).
        const first = bufferName(args[0]);
        if (first && args.slice(1).some((a) => ENV_ASSIGNMENT.test(literalText(a, macros) ?? ''))) envShaped.push(first);
        const setter = ENV_SETTERS.get(name);
        if (setter !== undefined) {
          const b = bufferName(args[setter]);
          if (b) handedOver.push(b);
        }
        if (EXEC_CALLS.has(name) || SPAWN_CALLS.has(name)) {
          for (const a of args) {
            const b = bufferName(a);
            if (b) {
              handedOver.push(b);
              handedArrays.push(b);
            }
          }
        }
        break;
      }
    }
    for (const child of node.namedChildren) if (child) visit(child);
  };
  visit(body);
  const reaching = new Set([...envShaped, ...handedOver].map((b) => buffers.find(b)));
  for (const array of handedArrays) for (const b of arrayElements.get(array) ?? []) reaching.add(buffers.find(b));
  for (const f of formatted) if (reaching.has(buffers.find(f.buffer))) for (const v of f.values) out.add(v);
  return out;
}

/** The declared type of `name` in function `def` (its parameters and locals) or at file scope, without qualifiers: `ngx_quic_sock_group_t`, `struct conn`. */
function declaredType(name: string, def: Node | null): string | null {
  const scopes: Node[] = [];
  if (def) scopes.push(def);
  let root: Node | null = def;
  while (root?.parent) root = root.parent;
  const search = (scope: Node, topOnly: boolean): string | null => {
    const stack: Node[] = [scope];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.type === 'declaration' || n.type === 'parameter_declaration') {
        const declarators = n.type === 'declaration' ? n.childrenForFieldName('declarator') : [n.childForFieldName('declarator')];
        if (declarators.some((d) => d && declaratorName(d) === name)) {
          const type = n.childForFieldName('type');
          if (!type) return null;
          return type.type === 'struct_specifier' || type.type === 'union_specifier' ? `${type.child(0)?.text ?? ''} ${type.childForFieldName('name')?.text ?? ''}` : type.text;
        }
      }
      if (topOnly && n !== scope) continue;
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    return null;
  };
  return (def ? search(def, false) : null) ?? (root && root !== def ? search(root, true) : null);
}

/**
 * `TYPE.field` for a stored-to or formatted field (`grp->map_fd` where `grp` is declared
 * `ngx_quic_sock_group_t *grp`), so that the descriptors one function stores into a struct's field
 * are linked to another function formatting that field of a value of the same type; null when the
 * base is not a plain variable of a named type.
 */
export function fieldKeyOf(text: string, at: Node): string | null {
  const m = /^([A-Za-z_]\w*)(?:->|\.)([A-Za-z_]\w*)$/.exec(text);
  if (!m) return null;
  let def: Node | null = at;
  while (def && def.type !== 'function_definition') def = def.parent;
  const type = declaredType(m[1], def);
  return type ? `${type}.${m[2]}` : null;
}
