/**
 * Which parameters a Python function keeps (`unreleased-file` summaries): a helper that
 * stores what it is given in long-lived storage — a container it does not create
 * (`_registry.append(f)`, `OPEN[key] = f`), an object's field (`self.f = f`, `owner.f = f`),
 * or a module global (`global CURRENT; CURRENT = f`) — takes the handle over, so a caller that
 * passes a handle to it is not leaking it. Syntactic and per function: the parameter itself
 * must be the stored value (not something computed from it). Methods count their parameters
 * after `self`/`cls`, as their callers pass them.
 */
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { UsedOnlyParameters } from '../summaries';

/** Container methods that keep their argument. */
const STORING_METHODS = new Set(['append', 'appendleft', 'add', 'insert', 'extend', 'put', 'put_nowait', 'setdefault', 'register', 'push']);

/** A cheap pre-check: the text may store a name somewhere that outlives the call. */
const STORE_CHECK = /\.(?:append|appendleft|add|insert|put|put_nowait|setdefault|register|push)\(|\]\s*=\s*[A-Za-z_]|\bglobal\s|\.[A-Za-z_]\w*\s*=\s*[A-Za-z_]\w*\s*$/m;

function parameterNames(def: Node): string[] {
  const out: string[] = [];
  for (const p of def.childForFieldName('parameters')?.namedChildren ?? []) {
    if (!p) continue;
    const id = p.type === 'identifier' ? p : p.type === 'default_parameter' || p.type === 'typed_parameter' || p.type === 'typed_default_parameter' ? (p.childForFieldName('name') ?? p.namedChild(0)) : null;
    if (id?.type === 'identifier') out.push(id.text);
    else break; // `*args`, `**kw`, `/`, `*`: positions after them are not plain
  }
  return out;
}

function unparenthesized(node: Node): Node {
  let n = node;
  while (n.type === 'parenthesized_expression' && n.namedChild(0)) n = n.namedChild(0)!;
  return n;
}

/** The parameters (by name) that `body` stores. */
function storedNames(body: Node, params: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const globals = new Set(body.descendantsOfType('global_statement').flatMap((g) => g?.namedChildren.map((c) => c?.text ?? '') ?? []));
  for (const a of body.descendantsOfType('assignment')) {
    const right = a?.childForFieldName('right');
    const left = a?.childForFieldName('left');
    const value = right ? unparenthesized(right) : undefined;
    if (!left || value?.type !== 'identifier' || !params.has(value.text)) continue;
    if (left.type === 'attribute' || left.type === 'subscript' || (left.type === 'identifier' && globals.has(left.text))) out.add(value.text);
  }
  for (const call of body.descendantsOfType('call')) {
    const fn = call?.childForFieldName('function');
    if (fn?.type !== 'attribute' || !STORING_METHODS.has(fn.childForFieldName('attribute')?.text ?? '')) continue;
    for (const arg of call?.childForFieldName('arguments')?.namedChildren ?? []) {
      const v = arg ? unparenthesized(arg) : undefined;
      if (v?.type === 'identifier' && params.has(v.text)) out.add(v.text);
    }
  }
  return out;
}

/**
 * The module-level functions and methods of module-level classes that keep some of their
 * parameters. `exportPathOf` names a def as other modules reach it (`['track']`, `['Pool', 'adopt']`).
 */
export function storedParameters(tree: Tree, text: string, exportPathOf: (def: Node) => string[] | undefined): UsedOnlyParameters[] {
  if (!STORE_CHECK.test(text)) return [];
  const out: UsedOnlyParameters[] = [];
  for (const def of tree.rootNode.descendantsOfType('function_definition')) {
    const path = def ? exportPathOf(def) : undefined;
    const body = def?.childForFieldName('body');
    if (!def || !path || !body || !STORE_CHECK.test(text.slice(body.startIndex, body.endIndex))) continue;
    let names = parameterNames(def);
    if (path.length === 2 && (names[0] === 'self' || names[0] === 'cls')) names = names.slice(1);
    if (names.length === 0) continue;
    const stored = storedNames(body, new Set(names));
    if (stored.size === 0) continue;
    const nameNode = def.childForFieldName('name') ?? def;
    out.push({ exportPath: path, functionName: path.join('.'), parameters: names.flatMap((n, i) => (stored.has(n) ? [i] : [])), range: nodeRange(nameNode) });
  }
  return out;
}
