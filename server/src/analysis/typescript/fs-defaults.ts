/**
 * fs functions reached through a table of injectable defaults: a module that lets its
 * caller replace how it touches the disk builds an object whose members default to fs's
 * own functions, and calls through it.
 *
 *     const getHandlers = (overrides) => Object.assign({ createReadStream, stat }, overrides);
 *     const handlers = getHandlers(methods);
 *     const stream = handlers.createReadStream(p);   // fs.createReadStream unless overridden
 *
 * `handlers.createReadStream(p)` is read as the fs function the object holds by default:
 * the default is what runs unless a caller opts out, and a replacement has the same
 * contract (it returns a stream the caller must end or destroy).
 *
 * Recognised: `obj.name(…)` where `obj` is a local declared with a value that is an object
 * literal, `Object.assign(<object literal>, …)`, or a call to a function of this file that
 * returns one of those (an arrow's expression body, or the single `return` of its body);
 * the literal's member `name` is an fs function (shorthand `{ createReadStream }`, or
 * `name: fs.createReadStream`). Parameters are not followed.
 */
import type { Node } from '../../parsing/parser';
import type { FsBindings, FsFunction } from '../../facts/typescript/imports';
import type { FunctionIndex } from './effects';
import { unwrap } from '../../facts/typescript/syntax';

/** `unwrap` of an optional node. */
function strip(node: Node | null | undefined): Node | undefined {
  return node ? unwrap(node) : undefined;
}

/** The initializer of the nearest declaration of `name` in the blocks enclosing `from` (not a parameter). */
function declaredValue(name: string, from: Node): Node | undefined {
  for (let a: Node | null = from.parent; a; a = a.parent) {
    if (a.type !== 'statement_block' && a.type !== 'program') continue;
    for (const stmt of a.namedChildren) {
      if (!stmt || (stmt.type !== 'lexical_declaration' && stmt.type !== 'variable_declaration')) continue;
      for (const d of stmt.namedChildren) {
        if (d?.type !== 'variable_declarator') continue;
        const id = d.childForFieldName('name');
        if (id?.type === 'identifier' && id.text === name) return d.childForFieldName('value') ?? undefined;
      }
    }
    const fn = a.parent;
    if (fn && a.type === 'statement_block' && fn.childForFieldName('body')?.id === a.id && fn.childForFieldName('parameters')) {
      // A parameter of that name hides any outer declaration.
      const params = fn.childForFieldName('parameters');
      if (params?.namedChildren.some((p) => p?.text === name || p?.childForFieldName('pattern')?.text === name)) return undefined;
    }
  }
  return undefined;
}

/** What a function of this file returns, when that is one expression. */
function returnedExpression(fn: Node): Node | undefined {
  const body = fn.childForFieldName('body');
  if (!body) return undefined;
  if (body.type !== 'statement_block') return body;
  const returns = body.namedChildren.filter((s) => s?.type === 'return_statement');
  return returns.length === 1 ? (returns[0]?.namedChild(0) ?? undefined) : undefined;
}

/** The object literal holding the defaults, from a value: a literal, `Object.assign(literal, …)`, or a local function's result. */
function defaultsObject(value: Node | undefined, functions: FunctionIndex, depth = 0): Node | undefined {
  const n = strip(value);
  if (!n || depth > 2) return undefined;
  if (n.type === 'object') return n;
  if (n.type !== 'call_expression') return undefined;
  const callee = n.childForFieldName('function');
  const first = n.childForFieldName('arguments')?.namedChildren.find((a) => a && a.type !== 'comment');
  if (callee?.text === 'Object.assign') return strip(first)?.type === 'object' ? strip(first) : undefined;
  if (callee?.type !== 'identifier') return undefined;
  const fns = functions.byName.get(callee.text);
  if (fns?.length !== 1 || !fns[0]) return undefined;
  return defaultsObject(returnedExpression(fns[0]), functions, depth + 1);
}

/** `handlers.createReadStream` → `fs.createReadStream`, when `handlers` holds fs's function by default. */
export function fsFunctionThroughDefaults(callee: Node, bindings: FsBindings, functions: FunctionIndex): FsFunction | undefined {
  if (callee.type !== 'member_expression') return undefined;
  const obj = callee.childForFieldName('object');
  const prop = callee.childForFieldName('property');
  if (obj?.type !== 'identifier' || prop?.type !== 'property_identifier') return undefined;
  const object = defaultsObject(declaredValue(obj.text, callee), functions);
  if (!object) return undefined;
  for (const member of object.namedChildren) {
    if (!member) continue;
    if (member.type === 'shorthand_property_identifier' && member.text === prop.text) {
      const b = bindings.locals.get(member.text);
      return b?.kind === 'member' ? { module: b.module, name: b.name, ...(b.promisified ? { promisified: true } : {}) } : undefined;
    }
    if (member.type === 'pair' && member.childForFieldName('key')?.text === prop.text) {
      const v = member.childForFieldName('value');
      return v ? bindings.resolveFunctionValue(v) : undefined;
    }
  }
  return undefined;
}
