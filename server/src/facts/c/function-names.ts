/**
 * The names a C function definition declares: the identifier naming the function (through
 * pointer and parenthesized declarators), the `Class::` qualification a C++ method keeps
 * when its file is parsed as C, and the parameters (prototype and K&R style).
 */
import type { Node } from '../../parsing/parser';
import { declaratorName } from './declarators';

/** The identifier node naming a function definition. */
export function functionNameNode(def: Node): Node | null {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && i < 8; i++) {
    if (decl.type === 'function_declarator') {
      let inner = decl.childForFieldName('declarator');
      while (inner && inner.type === 'parenthesized_declarator') inner = inner.namedChild(0);
      return inner?.type === 'identifier' ? inner : null;
    }
    decl = decl.childForFieldName('declarator');
  }
  return null;
}

/**
 * `BSOCK::close` for a C++ method defined in a file parsed as C (the C grammar leaves
 * `BSOCK::` as an error before the declarator), so that the method is never taken for the
 * C function `close()` of the same name; null for a plain C function.
 */
export function cppQualifiedName(def: Node, nameNode: Node): string | null {
  const declarator = def.childForFieldName('declarator');
  if (!declarator) return null;
  for (const child of def.children) {
    if (!child || child.startIndex >= declarator.startIndex) break;
    if (child.type === 'ERROR' && child.text.includes('::')) return `${child.text.replace(/\s+/g, '')}${nameNode.text}`;
  }
  // `BSOCK ::close()` and qualified names the grammar keeps inside the declarator.
  const between = def.text.slice(0, nameNode.startIndex - def.startIndex);
  const m = /([A-Za-z_]\w*(?:<[^<>]*>)?\s*::\s*)+$/.exec(between.trimEnd());
  return m ? `${m[0].replace(/\s+/g, '')}${nameNode.text}` : null;
}

/** Parameter names of a function definition, prototype or K&R style. */
export function parameterNames(def: Node): string[] {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && decl.type !== 'function_declarator' && i < 8; i++) decl = decl.childForFieldName('declarator');
  const list = decl?.childForFieldName('parameters');
  const out: string[] = [];
  if (!list) return out;
  for (const p of list.namedChildren) {
    if (!p) continue;
    if (p.type === 'parameter_declaration') {
      const name = declaratorName(p.childForFieldName('declarator'));
      if (name) out.push(name);
    } else if (p.type === 'identifier') out.push(p.text);
  }
  // K&R definitions declare parameters between the declarator and the body.
  for (const c of def.namedChildren) {
    if (c?.type !== 'declaration') continue;
    for (const d of c.childrenForFieldName('declarator')) {
      const name = d ? declaratorName(d) : null;
      if (name) out.push(name);
    }
  }
  return out;
}

/**
 * The function-pointer parameters of a definition by name, with their positions:
 * `void *(*engine)(void *)` is parameter 1 of `pool_init(pool_t *p, void *(*engine)(void *))`.
 */
export function functionPointerParameters(def: Node): Map<string, number> {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && decl.type !== 'function_declarator' && i < 8; i++) decl = decl.childForFieldName('declarator');
  const list = decl?.childForFieldName('parameters');
  const out = new Map<string, number>();
  if (!list) return out;
  let position = 0;
  for (const p of list.namedChildren) {
    if (!p || (p.type !== 'parameter_declaration' && p.type !== 'identifier')) continue;
    if (p.type === 'parameter_declaration') {
      let d: Node | null = p.childForFieldName('declarator');
      while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
      if (d?.type === 'function_declarator') {
        let inner = d.childForFieldName('declarator');
        while (inner?.type === 'parenthesized_declarator' || inner?.type === 'pointer_declarator') inner = inner.type === 'parenthesized_declarator' ? inner.namedChild(0) : inner.childForFieldName('declarator');
        if (inner?.type === 'identifier') out.set(inner.text, position);
      }
    }
    position++;
  }
  return out;
}

/**
 * The parameters of a definition's prototype by name, with their positions (K&R declarations
 * add no positions). Which of them hold function pointers is known from the declarator
 * (`functionPointerParameters`) or from the body calling them.
 */
export function parameterPositions(def: Node): Map<string, number> {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && decl.type !== 'function_declarator' && i < 8; i++) decl = decl.childForFieldName('declarator');
  const list = decl?.childForFieldName('parameters');
  const all = new Map<string, number>();
  if (!list) return all;
  let position = 0;
  for (const p of list.namedChildren) {
    if (!p || (p.type !== 'parameter_declaration' && p.type !== 'identifier')) continue;
    const name = p.type === 'identifier' ? p.text : declaratorName(p.childForFieldName('declarator'));
    if (name) all.set(name, position);
    position++;
  }
  // A function-pointer declarator names its parameter inside (`void (*run)(void *)`).
  for (const [name, at] of functionPointerParameters(def)) all.set(name, at);
  return all;
}
