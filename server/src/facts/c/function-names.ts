/**
 * The names a C function definition declares: the identifier naming the function (through
 * pointer and parenthesized declarators), the `Class::` qualification a C++ method keeps
 * when its file is parsed as C, the parameters (prototype and K&R style), and the head of a
 * function a macro writes (`TEST_IMPL(name) { ... }`).
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
  return parameterFacts(def).names;
}

/**
 * The function-pointer parameters of a definition by name, with their positions:
 * `void *(*engine)(void *)` is parameter 1 of `pool_init(pool_t *p, void *(*engine)(void *))`.
 */
export function functionPointerParameters(def: Node): Map<string, number> {
  return parameterFacts(def).pointers;
}

/**
 * The parameters of a definition's prototype by name, with their positions (K&R declarations
 * add no positions). Which of them hold function pointers is known from the declarator
 * (`functionPointerParameters`) or from the body calling them.
 */
export function parameterPositions(def: Node): Map<string, number> {
  return parameterFacts(def).positions;
}

/** What {@link parameterNames}, {@link parameterPositions} and {@link functionPointerParameters} say of one definition. */
export interface ParameterFacts {
  names: string[];
  positions: Map<string, number>;
  pointers: Map<string, number>;
}

/**
 * The parameters of a definition in one pass over them (each parameter's type and declarator
 * read once): their names (K&R declarations included), their positions in the prototype (a
 * function-pointer declarator names its parameter inside, `void (*run)(void *)`), and which
 * of them are function pointers.
 */
export function parameterFacts(def: Node): ParameterFacts {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && decl.type !== 'function_declarator' && i < 8; i++) decl = decl.childForFieldName('declarator');
  const list = decl?.childForFieldName('parameters');
  const names: string[] = [];
  const positions = new Map<string, number>();
  const pointers = new Map<string, number>();
  if (list) {
    let position = 0;
    for (const p of list.namedChildren) {
      if (!p) continue;
      const type = p.type;
      if (type === 'parameter_declaration') {
        const declarator = p.childForFieldName('declarator');
        const name = declaratorName(declarator);
        if (name) {
          names.push(name);
          positions.set(name, position);
        }
        let d: Node | null = declarator;
        while (d?.type === 'pointer_declarator') d = d.childForFieldName('declarator');
        if (d?.type === 'function_declarator') {
          let inner = d.childForFieldName('declarator');
          while (inner?.type === 'parenthesized_declarator' || inner?.type === 'pointer_declarator') inner = inner.type === 'parenthesized_declarator' ? inner.namedChild(0) : inner.childForFieldName('declarator');
          if (inner?.type === 'identifier') pointers.set(inner.text, position);
        }
      } else if (type === 'identifier') {
        const name = p.text;
        names.push(name);
        positions.set(name, position);
      } else continue;
      position++;
    }
    for (const [name, at] of pointers) positions.set(name, at);
  }
  // K&R definitions declare parameters between the declarator and the body.
  for (const c of def.namedChildren) {
    if (c?.type !== 'declaration') continue;
    for (const d of c.childrenForFieldName('declarator')) {
      const name = d ? declaratorName(d) : null;
      if (name) names.push(name);
    }
  }
  return { names, positions, pointers };
}

/**
 * A function whose head a macro writes (a definer): `TEST_IMPL(fork_child) { ... }` in libuv,
 * `START_TEST(name) { ... }` in Check, `MU_TEST(name)`, `TEST(suite, name) { ... }`. The
 * expansion (`int run_test_fork_child(void)`) is in a header the file walk does not see, so
 * the function is named by the invocation as written, white space removed:
 * `TEST_IMPL(fork_child)`. No call can name it that way; what matters is that its body is a
 * function whose calls are calls.
 */
export interface MacroDefinedHead {
  /** The invocation as written, white space removed: `TEST_IMPL(fork_child)`. */
  name: string;
  /** The macro: `TEST_IMPL`. */
  definer: string;
  /** First and last node of the invocation (for the name's span). */
  first: Node;
  last: Node;
}

/** A name written like a macro: capitals, digits and underscores (`TEST_IMPL`, `MU_TEST`). */
const MACRO_LIKE = /^[A-Z][A-Z0-9_]*[A-Z0-9]$/;

/**
 * How tree-sitter-c reads a macro-defined function at file scope, by the invocation's shape.
 *
 * 1. One argument, `TEST_IMPL(name) { ... }`: a `function_definition` whose type is the macro
 *    (a `type_identifier`) and whose declarator is a `parenthesized_declarator`. A
 *    parenthesized declarator never defines a function in C (the declarator of a definition
 *    must have a parameter list), so this shape is a macro whatever the case of its name.
 * 2. After a statement macro on its own line (`END_TEST` closing the previous Check test), the
 *    next `START_TEST(name) { ... }` is read as a function named `START_TEST` whose type is
 *    `END_TEST`, its argument taken for an unnamed parameter's type. Taken as a definer when
 *    the "type" is written like a macro on an earlier line, every parameter is a bare type
 *    name without a declarator, and the file has already used the "function"'s name as a
 *    definer (`known`: the first test of a Check file has shape 1). An old-style definition reads the same (`STATUS` on one line, `DOIT(handle)` with an
 *    implicit-`int` parameter on the next): without an earlier `DOIT(x) { ... }` of shape 1
 *    it stays the function `DOIT`.
 *
 * The third shape, `TEST(suite, name) { ... }` with two or more arguments, is not a definition
 * to the grammar at all (an expression statement, then a block): see
 * {@link macroDefinedStatementHead}. Null for an ordinary definition.
 */
export function macroDefinedHead(def: Node, known: ReadonlySet<string>): MacroDefinedHead | null {
  const type = def.childForFieldName('type');
  const declarator = def.childForFieldName('declarator');
  if (!type || !declarator || type.type !== 'type_identifier') return null;
  if (declarator.type === 'parenthesized_declarator') {
    const inner = declarator.namedChild(0);
    if (inner?.type !== 'identifier' || declarator.namedChildCount !== 1) return null;
    return { name: `${type.text}(${inner.text})`, definer: type.text, first: type, last: declarator };
  }
  if (declarator.type !== 'function_declarator' || !MACRO_LIKE.test(type.text) || type.endPosition.row >= declarator.startPosition.row) return null;
  const name = declarator.childForFieldName('declarator');
  const params = declarator.childForFieldName('parameters');
  if (name?.type !== 'identifier' || !known.has(name.text) || !params) return null;
  const args = params.namedChildren.filter((p): p is Node => p !== null && p.type !== 'comment');
  const bare = (p: Node) => p.type === 'parameter_declaration' && !p.childForFieldName('declarator') && p.childForFieldName('type')?.type === 'type_identifier' && p.namedChildCount === 1;
  if (args.length === 0 || !args.every(bare)) return null;
  return { name: `${name.text}(${args.map((a) => a.text).join(',')})`, definer: name.text, first: name, last: declarator };
}

/**
 * The third shape: `TEST(suite, name) { ... }`, which tree-sitter-c reads as an expression
 * statement (a call with its `;` missing) followed by a block, both at file scope. Neither is
 * C at file scope, so the pair is a function whose head a macro writes, or an old-style
 * definition with an implicit `int` (`count(a, b) { ... }`, `main(argc, argv) int argc; ...`).
 * The decision: a callee written in capitals (`TEST`, `CTEST`, `TEST_F`) is a definer and the
 * block its body; any other callee (lower case, mixed case such as Criterion's `Test`) is left
 * as before, not recorded: an implicit-`int` function must not be renamed after its call
 * text, and telling it from a definer in lower case would take the macro's definition (the
 * trade: an implicit-`int` function named in capitals is taken for a definer). A call
 * ended by its own `;` (`DECLARE_HOOK(x);`) followed by a block is a statement and a stray
 * block, not a definition, and is left alone too.
 */
export function macroDefinedStatementHead(stmt: Node, next: Node | null): MacroDefinedHead | null {
  if (stmt.type !== 'expression_statement' || next?.type !== 'compound_statement') return null;
  if (stmt.text.trimEnd().endsWith(';') || stmt.namedChildCount !== 1) return null;
  const call = stmt.namedChild(0);
  const callee = call?.type === 'call_expression' ? call.childForFieldName('function') : null;
  const args = call?.childForFieldName('arguments');
  if (!call || callee?.type !== 'identifier' || !MACRO_LIKE.test(callee.text) || !args) return null;
  return { name: `${callee.text}${args.text.replace(/\s+/g, '')}`, definer: callee.text, first: callee, last: args };
}
