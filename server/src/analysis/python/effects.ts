/**
 * What a statement does to a tracked Python handle: each occurrence of the handle's name is
 * classified by where it stands in the tree (`f.close()` releases, `self.f = f` hands it on,
 * `f = None` overwrites it, `json.load(f)` only uses it), and a graph node's effect combines the
 * occurrences in its subtrees.
 */
import type { HandleEffect } from '../flow';
import type { Node } from '../../parsing/parser';
import type { PyPayload } from './cfg';
import {
  BORROWING_CLASSES,
  CLOSER_ATTRIBUTES,
  DETACH_METHODS,
  FD_OWNER_CALLS,
  FD_RELEASE_CALLS,
  LENDING_GENERATOR_DECORATORS,
  PASSTHROUGH_CALLS,
  PROCESS_RELEASE_WHEN_NO_PIPES,
  RELEASE_METHODS,
  type PyHandleKind,
} from '../../knowledge/python-handles';
import type { PyNames } from '../../facts/python/names';
import type { PythonKnowledge } from '../../knowledge/knowledge';

/** The handle being followed. */
export interface Subject {
  name: string;
  kind: PyHandleKind;
  /** A Popen created with a `PIPE`: `wait()` does not release it. */
  hasPipes: boolean;
  /** Release methods besides those of its kind (an opener the user declared). */
  releaseMethods?: ReadonlySet<string>;
}

/** What a same-file callee does with a parameter: closes or keeps it (`owner`), only uses it (`borrower`), or we cannot tell. */
export type CalleeRole = 'owner' | 'borrower' | 'unknown';

export interface EffectEnv {
  names: PyNames;
  /** The owner and releaser tables (the built-ins merged with the user's models). */
  knowledge: PythonKnowledge;
  /** Resolves `call` to functions of this file and says what they do with the argument `arg`. */
  sameFileCallee(call: Node, arg: Node, subject: Subject): CalleeRole;
}

/**
 * - `release`: closes it; `escape`: ownership leaves (returned, stored, handed to an owner);
 * - `overwrite`: the name is rebound to something else; `rebind`: the name is rebound to a
 *   wrapper that owns the handle (`f = io.TextIOWrapper(f)`), so following the name goes on;
 * - `use`: any other read; `skip`: not a reference (an attribute or keyword name).
 */
export type Occurrence = 'release' | 'escape' | 'overwrite' | 'rebind' | 'use' | 'skip';

/** Wrapper calls that own what they wrap and return the wrapper (rather than a closer or a container). */
function isWrapperCall(q: string): boolean {
  return q.startsWith('io.') || q.startsWith('codecs.');
}

const CONTAINER_TYPES: ReadonlySet<string> = new Set([
  'parenthesized_expression',
  'tuple',
  'list',
  'set',
  'expression_list',
  'dictionary',
  'pair',
  'list_splat',
  'dictionary_splat',
  'parenthesized_list_splat',
  'boolean_operator',
  'await',
  'keyword_argument',
  'generator_expression',
  'list_comprehension',
  'set_comprehension',
  'dictionary_comprehension',
]);

function isField(parent: Node, field: string, child: Node): boolean {
  const f = parent.childForFieldName(field);
  return f !== null && f.id === child.id;
}

/** Classifies one identifier node whose text is the subject's name. */
export function classifyOccurrence(n: Node, subject: Subject, env: EffectEnv): Occurrence {
  const p = n.parent;
  if (!p) return 'use';
  switch (p.type) {
    case 'attribute':
      // `x.f` names an attribute, not our variable; `f.x` is a use of the handle.
      if (n.startIndex !== p.startIndex) return 'skip';
      return attributeUse(p, subject, env);
    case 'keyword_argument':
      if (isField(p, 'name', n)) return 'skip';
      return valueFlow(n, subject, env);
    case 'global_statement':
    case 'nonlocal_statement':
      return 'escape';
    case 'dotted_name':
    case 'aliased_import':
    case 'import_statement':
    case 'import_from_statement':
    case 'parameters':
    case 'lambda_parameters':
    case 'typed_parameter':
    case 'list_splat_pattern':
    case 'dictionary_splat_pattern':
    case 'keyword_pattern':
    case 'class_pattern':
      return 'skip';
    case 'default_parameter':
    case 'typed_default_parameter':
      return isField(p, 'value', n) ? 'escape' : 'skip';
    case 'function_definition':
    case 'class_definition':
      return isField(p, 'name', n) ? 'overwrite' : 'skip';
    case 'as_pattern_target':
      return 'overwrite';
    case 'for_statement':
      return isField(p, 'left', n) ? 'overwrite' : 'use';
    case 'for_in_clause':
      if (isField(p, 'left', n)) return 'skip';
      return valueFlow(n, subject, env);
    case 'named_expression':
      return isField(p, 'name', n) ? 'overwrite' : valueFlow(n, subject, env);
    case 'assignment':
      if (isField(p, 'left', n)) return p.childForFieldName('right') ? 'overwrite' : 'use';
      return valueFlow(n, subject, env);
    case 'augmented_assignment':
      if (isField(p, 'left', n)) return 'use';
      return valueFlow(n, subject, env);
    case 'pattern_list':
    case 'tuple_pattern':
    case 'list_pattern':
      return targetOfPattern(p);
    default:
      return valueFlow(n, subject, env);
  }
}

/** A name inside a destructuring target: rebinding, unless it is a comprehension's own variable. */
function targetOfPattern(pattern: Node): Occurrence {
  let cur: Node | null = pattern;
  while (cur && (cur.type === 'pattern_list' || cur.type === 'tuple_pattern' || cur.type === 'list_pattern' || cur.type === 'list_splat_pattern')) {
    cur = cur.parent;
  }
  if (!cur || cur.type === 'for_in_clause') return 'skip';
  return 'overwrite';
}

/** `f.something`: a method call or attribute read on the handle. */
function attributeUse(attr: Node, subject: Subject, env: EffectEnv): Occurrence {
  const name = attr.childForFieldName('attribute')?.text ?? '';
  const gp = attr.parent;
  const called = gp !== null && gp.type === 'call' && isField(gp, 'function', attr);
  if (called) {
    if (RELEASE_METHODS[subject.kind].has(name) || subject.releaseMethods?.has(name)) return 'release';
    if (subject.kind === 'process' && !subject.hasPipes && PROCESS_RELEASE_WHEN_NO_PIPES.has(name)) return 'release';
    if ((subject.kind === 'file' || subject.kind === 'socket') && DETACH_METHODS.has(name)) return 'escape';
    // `p = p.__enter__()` returns the handle itself.
    if (name === '__enter__' && gp !== null) {
      const p = gp.parent;
      const left = p?.type === 'assignment' && isField(p, 'right', gp) ? p.childForFieldName('left') : null;
      if (left && left.type === 'identifier' && left.text === subject.name) return 'rebind';
    }
    return 'use';
  }
  // `stack.callback(f.close)`, `self.addCleanup(f.close)`: someone else will close it.
  if (CLOSER_ATTRIBUTES.has(name)) return 'escape';
  // A bound method handed to a keeper (`trace.setwriter(f.write)`) keeps the handle alive there.
  if (gp !== null && (gp.type === 'argument_list' || gp.type === 'keyword_argument')) {
    return valueFlow(attr, subject, env) === 'escape' ? 'escape' : 'use';
  }
  return 'use';
}

/** Follows the value of `n` outwards through containers to where it ends up. */
function valueFlow(n: Node, subject: Subject, env: EffectEnv): Occurrence {
  let cur = n;
  for (;;) {
    const p = cur.parent;
    if (!p) return 'use';
    if (CONTAINER_TYPES.has(p.type)) {
      cur = p;
      continue;
    }
    switch (p.type) {
      case 'conditional_expression': {
        // children: consequence `if` condition `else` alternative
        if (p.namedChild(1)?.id === cur.id) return 'use';
        cur = p;
        continue;
      }
      case 'for_in_clause':
        if (isField(p, 'left', cur)) return 'skip';
        // Iterating inside a generator expression keeps the handle alive in the generator.
        if (p.parent?.type === 'generator_expression') {
          cur = p.parent;
          continue;
        }
        return 'use';
      case 'as_pattern':
        if (p.namedChild(0)?.id === cur.id) {
          cur = p;
          continue;
        }
        return 'overwrite';
      case 'with_item':
        return 'release';
      case 'yield':
        return lendingGenerator(p, env.names) ? 'use' : 'escape';
      case 'return_statement':
      case 'lambda':
        return 'escape';
      case 'default_parameter':
      case 'typed_default_parameter':
        return 'escape';
      case 'assignment':
      case 'augmented_assignment': {
        if (!isField(p, 'right', cur)) return 'use';
        const left = p.childForFieldName('left');
        if (p.type === 'assignment' && left && left.type === 'identifier') return left.text === subject.name ? 'rebind' : 'escape';
        if (p.type === 'augmented_assignment' && left && left.type === 'identifier') return 'use';
        return 'escape';
      }
      case 'named_expression':
        return 'escape';
      case 'argument_list': {
        const call = p.parent;
        return call && call.type === 'call' ? callSink(call, cur, subject, env) : 'use';
      }
      case 'call':
        // `g(x for x in f)`
        return cur.type === 'generator_expression' ? callSink(p, cur, subject, env) : 'use';
      default:
        return 'use';
    }
  }
}

/**
 * The handle (or a container holding it) is an argument of `call`. Closers and owners take it;
 * a class constructor is taken to keep it (a wrapper) unless known to borrow; a plain function
 * only uses it (`json.load(f)`), unless it is defined in this file and closes or keeps it.
 */
export function callSink(call: Node, arg: Node, subject: Subject, env: EffectEnv): Occurrence {
  const fn = call.childForFieldName('function');
  if (!fn) return 'use';
  // A callee computed at run time (`environ.get("wsgi.file_wrapper", FileWrapper)(f)`) may be anything.
  if (fn.type === 'call' || fn.type === 'subscript') return 'escape';
  const q = env.names.qualify(fn);
  // `typing.cast(T, f)` is the handle itself.
  if (q !== null && PASSTHROUGH_CALLS.has(q)) return valueFlow(call, subject, env);
  const method = fn.type === 'attribute' ? (fn.childForFieldName('attribute')?.text ?? null) : null;
  const last = method ?? (fn.type === 'identifier' ? fn.text : null);
  if (subject.kind === 'fd' && q !== null) {
    if (FD_RELEASE_CALLS.has(q)) return 'release';
    if (FD_OWNER_CALLS.has(q)) return /\bclosefd\s*=\s*False\b/.test(call.text) ? 'use' : wrapped(call, subject, env);
  }
  if (q !== null && env.knowledge.releaseCalls.has(q)) return 'release';
  if (q !== null && env.knowledge.ownerCalls.has(q)) return isWrapperCall(q) ? wrapped(call, subject, env) : 'escape';
  if (method !== null && env.knowledge.ownerMethods.has(method)) return 'escape';
  // Setters (`source.setByteStream(f)`, `obj.set_file(f)`) keep what they are given.
  if (method !== null && /^set(?!default$)/.test(method)) return 'escape';
  const role = env.sameFileCallee(call, arg, subject);
  if (role === 'owner') return 'release';
  if (role === 'borrower') return 'use';
  // `self._setup(sock)` with the method defined in a base class elsewhere: objects usually keep
  // what their own methods are given (test assertions only look at it).
  if (role === 'unknown' && method !== null && /^(self|cls)$/.test(fn.childForFieldName('object')?.text ?? '') && !/^(assert|fail)/.test(method)) {
    return 'escape';
  }
  if (last !== null && /^_?[A-Z]/.test(last) && !(q !== null && BORROWING_CLASSES.has(q))) return wrapped(call, subject, env);
  return 'use';
}

/** The handle went into a wrapper `call`: if the wrapper is bound to the same name we go on following it, otherwise ownership left. */
function wrapped(call: Node, subject: Subject, env: EffectEnv): Occurrence {
  const outcome = valueFlow(call, subject, env);
  return outcome === 'rebind' ? 'rebind' : 'escape';
}

/**
 * Whether `yieldNode` is in a generator decorated as a context manager or fixture
 * ({@link LENDING_GENERATOR_DECORATORS}), which only lends what it yields.
 */
export function lendingGenerator(yieldNode: Node, names: PyNames): boolean {
  let fn = yieldNode.parent;
  while (fn && fn.type !== 'function_definition' && fn.type !== 'lambda') fn = fn.parent;
  const decorated = fn?.type === 'function_definition' ? fn.parent : null;
  if (decorated?.type !== 'decorated_definition') return false;
  for (const decorator of decorated.namedChildren) {
    if (decorator?.type !== 'decorator') continue;
    let expression = decorator.namedChild(0);
    if (expression?.type === 'call') expression = expression.childForFieldName('function');
    const name = expression ? names.qualify(expression) : null;
    if (name !== null && LENDING_GENERATOR_DECORATORS.has(name)) return true;
  }
  return false;
}

const identifierCache = new WeakMap<PyPayload, Node[]>();

/** Identifiers in a node's subtrees (computed once per node). */
export function identifiersOf(payload: PyPayload): Node[] {
  let ids = identifierCache.get(payload);
  if (!ids) {
    ids = [];
    for (const root of payload.roots) {
      if (root.type === 'identifier') ids.push(root);
      else for (const d of root.descendantsOfType('identifier')) if (d) ids.push(d);
    }
    identifierCache.set(payload, ids);
  }
  return ids;
}

/** The effect of one graph node on the subject. */
export function payloadEffect(payload: PyPayload, subject: Subject, env: EffectEnv): HandleEffect {
  if (payload.kind === 'entry' || payload.kind === 'join') return 'none';
  let release = false;
  let escape = false;
  let overwrite = payload.binds?.includes(subject.name) ?? false;
  let rebind = false;
  for (const id of identifiersOf(payload)) {
    if (id.text !== subject.name) continue;
    switch (classifyOccurrence(id, subject, env)) {
      case 'release':
        release = true;
        break;
      case 'escape':
        escape = true;
        break;
      case 'overwrite':
        overwrite = true;
        break;
      case 'rebind':
        rebind = true;
        break;
      default:
        break;
    }
  }
  if (escape) return 'escape';
  if (release) return 'release';
  if (overwrite && !rebind) return 'overwrite';
  return 'none';
}
