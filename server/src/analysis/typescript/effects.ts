/**
 * What one mention of a handle's variable does to the handle: releases it, hands it on
 * (escape), rebinds the variable, or only uses it. Decided from the syntax around the
 * identifier and the tables in `knowledge.ts`.
 *
 * NOTE (precision choice): passing a handle to a function we know nothing about — not an
 * fs function, not a listed non-owning helper, not a function of this file — counts as
 * handing it on. Libraries routinely take ownership (`res.send(stream)`, `new Foo(fd)`,
 * `resolve(fh)`, `map.set(k, fd)`), and reporting those would bury the real leaks; the
 * cost is missing a leak whose only use is an unknown helper that does not close.
 * Functions of the same file are summarised instead (does the parameter get closed,
 * stored, or only used?), and fs functions that take an fd or FileHandle are uses.
 */
import type { Node } from '../../parsing/parser';
import { FUNCTION_TYPES } from './cfg';
import type { FsBindings } from '../../facts/typescript/imports';
import type { ImportedFunction } from '../summaries';
import { CONSUMING_EVENTS, LISTENER_METHODS, NON_OWNING_CALLEES, STREAM_TAKEOVER_FUNCTIONS, SYNC_CALLBACK_METHODS } from '../../knowledge/typescript-handles';
import { BUILTIN_KNOWLEDGE, type TypeScriptKnowledge } from '../../knowledge/knowledge';

export type RefEffect = 'release' | 'escape' | 'assign' | 'none';

export interface RefFlags {
  release: boolean;
  escape: boolean;
  assign: boolean;
  /**
   * The escaping mentions that are only presumed hand-overs (`presumedHandOver`): passed to
   * a function we know nothing about. Set when there is at least one.
   */
  loans?: Node[];
  /** Some escaping mention is a definite hand-over (returned, stored, captured by a closure that outlives the statement, …). */
  firmEscape?: boolean;
}

/**
 * Why an escaping mention is only presumed to hand the handle on:
 * - `argument`: passed to a function we know nothing about (the default of `argumentEffect`);
 * - `pipe-destination`: the destination of `src.pipe(x)`, which ends `x` when `src` ends but
 *   neither ends nor destroys it when `src` fails.
 */
export type PresumedHandOver = 'argument' | 'pipe-destination';

const TRANSPARENT: ReadonlySet<string> = new Set([
  'parenthesized_expression',
  'non_null_expression',
  'as_expression',
  'satisfies_expression',
  'type_assertion',
  'await_expression',
]);

const USE_ONLY_PARENTS: ReadonlySet<string> = new Set([
  'expression_statement',
  'if_statement',
  'while_statement',
  'do_statement',
  'for_statement',
  'switch_statement',
  'switch_case',
  'unary_expression',
  'update_expression',
  'augmented_assignment_expression',
  'template_substitution',
  'call_expression',
  'new_expression',
  'type_query',
]);

/** Same-file functions, so a call to a helper that closes its parameter counts as a release. */
export interface FunctionIndex {
  /** Functions declared (or bound to a `const`) by name; several with one name are ambiguous. */
  byName: Map<string, Node[]>;
  /** Class methods by name, for `this.m(fd)`. */
  methods: Map<string, Node[]>;
}

/** Matches a callee text (`console.log`) against the non-owning list. */
function isNonOwning(calleeText: string): boolean {
  for (const pattern of NON_OWNING_CALLEES) {
    if (pattern.endsWith('.*')) {
      const recv = pattern.slice(0, -2);
      if (calleeText.startsWith(`${recv}.`)) return true;
    } else if (calleeText === pattern) return true;
  }
  return false;
}

function compactText(node: Node): string {
  return node.text.replace(/\s+/g, '');
}

function stringLiteral(node: Node | null): string | undefined {
  if (!node || node.type !== 'string') return undefined;
  return node.text.slice(1, -1);
}

function paramIdentifier(param: Node): Node | null {
  if (param.type === 'identifier') return param;
  if (param.type === 'required_parameter' || param.type === 'optional_parameter') {
    const p = param.childForFieldName('pattern');
    return p?.type === 'identifier' ? p : null;
  }
  return null;
}

/** The parameter nodes of a function-like node, in order (comments and `this:` skipped). */
export function parametersOf(fn: Node): Node[] {
  const single = fn.childForFieldName('parameter');
  if (single) return [single];
  const params = fn.childForFieldName('parameters');
  if (!params) return [];
  const out: Node[] = [];
  for (const p of params.namedChildren) {
    if (!p || p.type === 'comment') continue;
    const id = paramIdentifier(p);
    if (id?.text === 'this') continue;
    out.push(p);
  }
  return out;
}

export function parameterName(param: Node | undefined): string | undefined {
  return param ? paramIdentifier(param)?.text : undefined;
}

/** Names a nested function declares itself (parameters and its own declarations), among `names`. */
function shadowedIn(fn: Node, names: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const p of parametersOf(fn)) {
    const n = parameterName(p);
    if (n && names.has(n)) out.add(n);
    else if (!n) {
      // Destructured parameters: any identifier in the pattern.
      const stack: Node[] = [p];
      while (stack.length > 0) {
        const x = stack.pop()!;
        if ((x.type === 'identifier' || x.type === 'shorthand_property_identifier_pattern') && names.has(x.text)) out.add(x.text);
        for (const c of x.namedChildren) if (c) stack.push(c);
      }
    }
  }
  const body = fn.childForFieldName('body');
  if (!body) return out;
  const stack: Node[] = [body];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.id !== body.id && FUNCTION_TYPES.has(x.type)) continue;
    if (x.type === 'variable_declarator') {
      const n = x.childForFieldName('name');
      if (n?.type === 'identifier' && names.has(n.text)) out.add(n.text);
    }
    for (const c of x.namedChildren) if (c) stack.push(c);
  }
  return out;
}

/**
 * Every mention of one of `names` under `root`, including inside closures (a callback that
 * closes the handle releases it) but not inside functions that declare the same name.
 */
export function collectReferences(root: Node, names: ReadonlySet<string>): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  const visit = (node: Node, hidden: ReadonlySet<string>) => {
    const stack: Node[] = [node];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const t = n.type;
      if (t === 'identifier' || t === 'shorthand_property_identifier') {
        const name = n.text;
        if (names.has(name) && !hidden.has(name)) {
          let list = out.get(name);
          if (!list) out.set(name, (list = []));
          list.push(n);
        }
        continue;
      }
      if (n.id !== root.id && FUNCTION_TYPES.has(t)) {
        const shadow = shadowedIn(n, names);
        if (shadow.size > 0) {
          const merged = new Set([...hidden, ...shadow]);
          if ([...names].every((x) => merged.has(x))) continue;
          for (const c of n.namedChildren) if (c) visit(c, merged);
          continue;
        }
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
  };
  visit(root, new Set());
  return out;
}

/**
 * Optimistic reading of calls into other workspace modules: passing the handle to such a
 * function counts as a use, and the call is recorded, so the leak found that way can be
 * confirmed later by that function's summary ("only uses parameter i").
 */
export interface ImportedCallAssumptions {
  /** The imported function a call runs, if it is one. */
  calleeOf(call: Node): ImportedFunction | undefined;
  /** Filled in: the calls read as uses, by `callId:argumentIndex`. */
  readonly assumed: Map<string, { call: Node; callee: ImportedFunction; argument: number }>;
}

export class EffectClassifier {
  private readonly summaries = new Map<string, RefEffect>();

  /** `knowledge`: the handle-method and argument tables (the built-ins merged with the user's models). */
  constructor(
    private readonly bindings: FsBindings,
    private readonly functions: FunctionIndex,
    private readonly knowledge: TypeScriptKnowledge = BUILTIN_KNOWLEDGE.typescript,
    private readonly assumptions?: ImportedCallAssumptions,
  ) {}

  /** What a function does to its parameter `index`: releases it, keeps it (escape), or only uses it (`none`). */
  parameterEffect(fn: Node, index: number): RefEffect {
    return this.effectOnParameter(fn, index, 0);
  }

  /** What the mention `ref` does to the handle held in its variable. */
  classify(ref: Node, depth = 0): RefEffect {
    if (ref.type === 'shorthand_property_identifier') return 'escape';
    let cur = ref;
    for (let guard = 0; guard < 64; guard++) {
      const p = cur.parent;
      if (!p) return 'none';
      const t = p.type;
      if (TRANSPARENT.has(t)) {
        cur = p;
        continue;
      }
      switch (t) {
        case 'ternary_expression':
          if (p.childForFieldName('condition')?.id === cur.id) return 'none';
          cur = p;
          continue;
        case 'binary_expression': {
          const op = p.childForFieldName('operator')?.type;
          if (op === '||' || op === '??') {
            cur = p;
            continue;
          }
          if (op === '&&' && p.childForFieldName('right')?.id === cur.id) {
            cur = p;
            continue;
          }
          return 'none';
        }
        case 'sequence_expression':
          if (p.lastNamedChild?.id === cur.id) {
            cur = p;
            continue;
          }
          return 'none';
        case 'member_expression': {
          if (p.childForFieldName('object')?.id !== cur.id) return 'none';
          const call = p.parent;
          if (!call || call.type !== 'call_expression' || call.childForFieldName('function')?.id !== p.id) return 'none';
          const prop = p.childForFieldName('property')?.text ?? '';
          const m = this.knowledge.handleMethods[prop];
          if (m === 'release') return 'release';
          if (m === 'handoff') return 'escape';
          if (m === 'chain') {
            if (LISTENER_METHODS.has(prop)) {
              const ev = stringLiteral(call.childForFieldName('arguments')?.namedChild(0) ?? null);
              if (ev !== undefined && CONSUMING_EVENTS.has(ev)) return 'escape';
            }
            cur = call; // returns the handle itself
            continue;
          }
          return 'none';
        }
        case 'subscript_expression': {
          if (p.childForFieldName('object')?.id !== cur.id) return 'none';
          const index = p.childForFieldName('index');
          const call = p.parent;
          if (index && /^Symbol\.(asyncDispose|dispose)$/.test(compactText(index)) && call?.type === 'call_expression') return 'release';
          return 'none';
        }
        case 'arguments': {
          const call = p.parent;
          if (!call) return 'escape';
          let index = 0;
          for (const a of p.namedChildren) {
            if (!a || a.type === 'comment') continue;
            if (a.id === cur.id) break;
            index++;
          }
          return this.argumentEffect(call, index, depth);
        }
        case 'assignment_expression': {
          if (p.childForFieldName('left')?.id === cur.id) return 'assign';
          if (p.child(0)?.type === 'using') return 'release';
          return 'escape';
        }
        case 'variable_declarator': {
          if (p.childForFieldName('name')?.id === cur.id) return 'assign';
          const name = p.childForFieldName('name');
          return name?.type === 'identifier' ? 'escape' : 'none';
        }
        case 'pair':
          return p.childForFieldName('value')?.id === cur.id ? 'escape' : 'none';
        case 'for_in_statement': {
          if (p.childForFieldName('left')?.id === cur.id) return 'assign';
          if (p.childForFieldName('right')?.id !== cur.id) return 'none';
          // `for await (… of stream)` consumes it; leaving the loop early destroys it.
          return p.children.some((c) => c?.type === 'await' && !c.isNamed) ? 'release' : 'none';
        }
        default:
          if (USE_ONLY_PARENTS.has(t)) return 'none';
          // Returned, yielded, thrown, spread, put in an array, an arrow's value, a JSX
          // attribute, exported, a class field, …: someone else holds it now.
          return 'escape';
      }
    }
    return 'escape';
  }

  /** Passing the handle as argument `index` of `call`. */
  private argumentEffect(call: Node, index: number, depth: number): RefEffect {
    if (call.type === 'new_expression') {
      // `new Wrapper(fd)` keeps it; a Promise executor runs at once and keeps nothing.
      return call.childForFieldName('constructor')?.text === 'Promise' ? 'none' : 'escape';
    }
    if (call.type !== 'call_expression') return 'escape';
    const callee = call.childForFieldName('function');
    if (!callee) return 'escape';
    const fsFn = this.bindings.resolveCallee(callee);
    if (fsFn) {
      const e = this.knowledge.argumentEffects[`${fsFn.module}.${fsFn.name}`];
      if (e === 'release') return index === 0 ? 'release' : 'none';
      return e ?? 'none';
    }
    if (isNonOwning(compactText(callee))) return 'none';
    const summary = this.summaryOf(callee, index, depth);
    if (summary === undefined && this.assumptions) {
      const imported = this.assumptions.calleeOf(call);
      if (imported) {
        this.assumptions.assumed.set(`${call.id}:${index}`, { call, callee: imported, argument: index });
        return 'none';
      }
    }
    return summary ?? 'escape';
  }

  private summaryOf(callee: Node, index: number, depth: number): RefEffect | undefined {
    if (depth > 3) return undefined;
    let candidates: Node[] | undefined;
    if (callee.type === 'identifier') candidates = this.functions.byName.get(callee.text);
    else if (callee.type === 'member_expression' && callee.childForFieldName('object')?.type === 'this') {
      candidates = this.functions.methods.get(callee.childForFieldName('property')?.text ?? '');
    }
    if (!candidates || candidates.length !== 1) return undefined;
    return this.effectOnParameter(candidates[0], index, depth);
  }

  private effectOnParameter(fn: Node, index: number, depth: number): RefEffect {
    const key = `${fn.id}:${index}`;
    const memo = this.summaries.get(key);
    if (memo) return memo;
    this.summaries.set(key, 'escape'); // recursion: assume it keeps the handle
    const params = parametersOf(fn);
    const param = params[index];
    const name = parameterName(param);
    let result: RefEffect;
    if (!param || !name) result = params.length <= index ? 'none' : 'escape';
    else {
      const body = fn.childForFieldName('body');
      const refs = body ? (collectReferences(body, new Set([name])).get(name) ?? []) : [];
      let release = false;
      let escape = false;
      for (const r of refs) {
        const e = this.classify(r, depth + 1);
        if (e === 'release') release = true;
        else if (e === 'escape' || (body && this.capturedByEscapingClosure(r, body, name))) escape = true;
      }
      result = release ? 'release' : escape ? 'escape' : 'none';
    }
    this.summaries.set(key, result);
    return result;
  }

  /**
   * Is this mention, which `classify` counts as an escape, only a presumed hand-over? It is
   * when it is an argument of a call to a function nothing is known of (not fs, not listed,
   * not summarised from this file): callers decide from the rest of the function whether
   * that function really took the handle (see `handles.ts`).
   */
  presumedHandOver(ref: Node): PresumedHandOver | undefined {
    let cur = ref;
    while (cur.parent && TRANSPARENT.has(cur.parent.type)) cur = cur.parent;
    const args = cur.parent;
    const call = args?.type === 'arguments' ? args.parent : null;
    if (!args || call?.type !== 'call_expression') return undefined;
    const callee = call.childForFieldName('function');
    if (!callee || this.bindings.resolveCallee(callee) || isNonOwning(compactText(callee))) return undefined;
    let index = 0;
    for (const a of args.namedChildren) {
      if (!a || a.type === 'comment') continue;
      if (a.id === cur.id) break;
      index++;
    }
    if (this.summaryOf(callee, index, 0) !== undefined) return undefined;
    const last = callee.type === 'member_expression' ? callee.childForFieldName('property')?.text : callee.text;
    if (last && STREAM_TAKEOVER_FUNCTIONS.has(last)) return undefined;
    if (index === 0 && callee.type === 'member_expression' && callee.childForFieldName('property')?.text === 'pipe') return 'pipe-destination';
    return 'argument';
  }

  /**
   * Combined effect of every mention in `refs`, all found under `root` (a statement).
   * A mention inside a closure that outlives the statement (registered as a callback,
   * stored, returned) hands the handle on with the closure, unless it releases it.
   */
  flagsOf(refs: readonly Node[], root: Node, name: string): RefFlags {
    const flags: RefFlags = { release: false, escape: false, assign: false };
    for (const r of refs) {
      let e = this.classify(r);
      let captured = false;
      if (e !== 'release' && e !== 'escape' && this.capturedByEscapingClosure(r, root, name)) {
        e = 'escape';
        captured = true;
      }
      if (e === 'release') flags.release = true;
      else if (e === 'escape') {
        flags.escape = true;
        if (!captured && !this.capturedByEscapingClosure(r, root, name) && this.presumedHandOver(r)) (flags.loans ??= []).push(r);
        else flags.firmEscape = true;
      } else if (e === 'assign') flags.assign = true;
    }
    return flags;
  }

  private capturedByEscapingClosure(ref: Node, root: Node, name: string): boolean {
    // The functions between `ref` and `root` are the nested functions of `root` whose range
    // holds `ref`: found by range, because each step up the parent chain costs tree-sitter a
    // walk down from the root (cubic time on a long `else if` chain).
    for (const fn of this.nestedFunctions(root)) {
      if (fn.startIndex <= ref.startIndex && ref.endIndex <= fn.endIndex && this.closureEscapes(fn, name)) return true;
    }
    return false;
  }

  private readonly nestedFunctionsOf = new Map<number, Node[]>();

  /** The function nodes inside `root` (not `root` itself), listed once per root. */
  private nestedFunctions(root: Node): Node[] {
    let list = this.nestedFunctionsOf.get(root.id);
    if (!list) {
      list = root.descendantsOfType([...FUNCTION_TYPES]).filter((n): n is Node => !!n && n.id !== root.id);
      this.nestedFunctionsOf.set(root.id, list);
    }
    return list;
  }

  /** Does this function value outlive the statement that creates it? */
  private closureEscapes(fn: Node, name: string): boolean {
    let cur = fn;
    while (cur.parent && (cur.parent.type === 'parenthesized_expression' || cur.parent.type === 'as_expression')) cur = cur.parent;
    const p = cur.parent;
    if (!p) return false;
    if (p.type === 'call_expression' && p.childForFieldName('function')?.id === cur.id) return false; // IIFE
    if (p.type === 'arguments') {
      const call = p.parent;
      if (call?.type === 'new_expression') return call.childForFieldName('constructor')?.text !== 'Promise';
      const callee = call?.childForFieldName('function');
      if (callee?.type === 'member_expression') {
        const prop = callee.childForFieldName('property')?.text ?? '';
        if (SYNC_CALLBACK_METHODS.has(prop)) return false;
        // A listener on the handle itself lives and dies with the handle.
        const obj = callee.childForFieldName('object');
        if (obj?.type === 'identifier' && obj.text === name) return false;
      }
    }
    if (fn.type === 'function_declaration' || fn.type === 'generator_function_declaration') return false;
    return this.classify(cur) === 'escape';
  }
}
