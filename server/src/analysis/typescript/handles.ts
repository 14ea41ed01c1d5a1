/**
 * Handle-lifetime analysis for TypeScript (and JavaScript parsed as TypeScript/TSX).
 *
 * 1. A textual pre-check skips files that never name the `fs` module.
 * 2. One walk over the tree (`file-index.ts`) records how `fs` was imported, the file's
 *    functions (for summaries of helpers that close what they are given) and the calls
 *    that may open a handle (`knowledge.ts`).
 * 3. Each opening call is placed: bound to a local (tracked), dropped (an `unbound` leak),
 *    or handed on / stored / returned / kept at module level (silent).
 * 4. For every function that holds a tracked handle — and only those — a control-flow
 *    graph is built (`cfg.ts`) and `findLeak` looks for a path to an exit, an overwrite or
 *    the end of the variable's block on which the handle is neither released nor handed on.
 * 5. Leaks carry quick fixes (`fix.ts`).
 * Nothing here throws: a file (or function) that trips the analyser yields no findings.
 */
import { findLeak, type HandleEffect, type LeakPath } from '../flow';
import type { Range } from '../../text/locations';
import { isJavaScriptPath, nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { HandleAnalyzer, HandleLeak, LeakKind } from '../handles';
import { buildFunctionCfg, FUNCTION_TYPES, MODULE_TYPES, splitStatement, type FunctionCfg, type TsFlowNode, type TsPayload } from './cfg';
import { collectReferences, parameterName, parametersOf, type EffectClassifier, type RefFlags } from './effects';
import { FileIndex, argumentsOf, compact, isFunctionLike } from './file-index';
import { computeFixes } from './fix';
import { fsFunctionThroughDefaults } from './fs-defaults';
import type { FsBindings } from '../../facts/typescript/imports';
import {
  CONSUMING_EVENTS,
  FS_ARGUMENT_EFFECTS,
  FS_SPECIFIER_PATTERN,
  HANDLE_METHOD_OPENERS,
  HANDLE_METHODS,
  LISTENER_METHODS,
  OPENER_NAMES,
  OPENER_NAME_PATTERN,
  findOpener,
  type HandleKind,
  type OpenerSpec,
} from '../../knowledge/typescript-handles';

/** Evidence for a call that received the handle without taking it (see `loansKeptBy`). */
interface LeakStep {
  ref: Node;
  range: Range;
  message: string;
  /** A `.pipe()` destination left to its source. */
  pipe?: boolean;
}

/** The call whose argument `ref` is (through wrappers). */
function callOfArgument(ref: Node): Node | undefined {
  let cur = ref;
  while (cur.parent && (cur.parent.type === 'parenthesized_expression' || cur.parent.type === 'non_null_expression' || cur.parent.type === 'as_expression' || cur.parent.type === 'satisfies_expression' || cur.parent.type === 'await_expression')) cur = cur.parent;
  const call = cur.parent?.type === 'arguments' ? cur.parent.parent : null;
  return call?.type === 'call_expression' ? call : undefined;
}

/** For a handle held in `field` of an object: `obj.field` stands for the handle (`obj.field.destroy()`). */
function viaField(refs: Node[], field: string | undefined): Node[] {
  if (!field) return refs;
  return refs.map((r) => {
    const p = r.parent;
    return p?.type === 'member_expression' && p.childForFieldName('object')?.id === r.id && p.childForFieldName('property')?.text === field ? p : r;
  });
}

/** The `key: value` pair whose value holds `call` (through wrappers and `&&`). */
function enclosingPair(call: Node): Node | undefined {
  for (let n: Node | null = call.parent; n; n = n.parent) {
    if (n.type === 'pair') return n;
    if (n.type !== 'parenthesized_expression' && n.type !== 'binary_expression' && n.type !== 'await_expression' && n.type !== 'as_expression') return undefined;
  }
  return undefined;
}

/** Unwraps `( … )`. */
function unparenthesized(node: Node): Node {
  let n = node;
  while (n.type === 'parenthesized_expression' && n.namedChild(0)) n = n.namedChild(0)!;
  return n;
}

/** `!x` ↔ `x`: the text of one condition is the negation of the other's. */
function negates(a: Node, b: Node): boolean {
  const neg = (n: Node): string | undefined => {
    const u = unparenthesized(n);
    return u.type === 'unary_expression' && u.child(0)?.type === '!' && u.childForFieldName('argument') ? compact(unparenthesized(u.childForFieldName('argument')!)) : undefined;
  };
  const ta = compact(unparenthesized(a));
  const tb = compact(unparenthesized(b));
  return neg(a) === tb || neg(b) === ta;
}

/** Is `tree` in the consequence of an `if` whose condition is the negation of `guard`? */
function whereGuardIsFalse(tree: Node, guard: Node): boolean {
  for (let n: Node | null = tree; n?.parent; n = n.parent) {
    const p: Node = n.parent;
    if (p.type === 'if_statement' && p.childForFieldName('consequence')?.id === n.id) {
      const cond = p.childForFieldName('condition');
      if (cond && negates(cond, guard)) return true;
    }
    if (FUNCTION_TYPES.has(p.type)) return false;
  }
  return false;
}

/** Is `ref` inside a function defined under `root`? */
function insideFunctionBelow(ref: Node, root: Node): boolean {
  for (let n = ref.parent; n && n.id !== root.id; n = n.parent) if (FUNCTION_TYPES.has(n.type)) return true;
  return false;
}

/** A handle bound to a local variable of `owner`, whose paths we search. */
interface TrackedHandle {
  name: string;
  api: string;
  kind: HandleKind;
  call: Node;
  owner: Node;
  /** `declare`: `const x = open()`; `assign`: `x = open()`; `param`: callback parameter. */
  form: 'declare' | 'assign' | 'param';
  /** The declaring statement for `declare`. */
  declaration?: Node;
  /** For callback handles: the error parameter whose truthiness means "no handle". */
  errorParam?: string;
  /** Held in this field of the object literal bound to `name` (`const params = { body: open() }`). */
  field?: string;
  /** Opened as `guard && open(p)`: where `guard` is known false there is no handle. */
  guard?: Node;
}

type Placement =
  | { kind: 'tracked'; name: string; form: 'declare' | 'assign'; declaration?: Node; field?: string; guard?: Node }
  | { kind: 'unbound'; at: Node }
  | { kind: 'silent' };

const STATEMENT_PARENTS: ReadonlySet<string> = new Set(['program', 'statement_block', 'switch_case', 'switch_default', 'else_clause']);

function unwrapUp(node: Node): Node {
  let cur = node;
  for (let p = cur.parent; p; p = cur.parent) {
    if (p.type === 'parenthesized_expression' || p.type === 'non_null_expression' || p.type === 'as_expression' || p.type === 'satisfies_expression') cur = p;
    else break;
  }
  return cur;
}

function enclosingOwner(node: Node): Node {
  for (let n = node.parent; n; n = n.parent) if (FUNCTION_TYPES.has(n.type) || MODULE_TYPES.has(n.type)) return n;
  return node.tree.rootNode;
}

function enclosingStatement(node: Node): Node {
  let cur = node;
  for (let p = cur.parent; p; p = cur.parent) {
    if (STATEMENT_PARENTS.has(p.type) || FUNCTION_TYPES.has(p.type)) return cur;
    cur = p;
  }
  return cur;
}

/** The name in `function f() {}` / `const f = …`: a declaration, not a use. */
function isDeclarationName(id: Node): boolean {
  const p = id.parent;
  if (!p) return false;
  if (p.type === 'variable_declarator' || p.type === 'function_declaration' || p.type === 'generator_function_declaration') {
    return p.childForFieldName('name')?.id === id.id;
  }
  return false;
}

/** Is `decl` (a declaration statement) a module-level binding of a module-like owner? */
function isModuleLevel(decl: Node, owner: Node): boolean {
  if (!MODULE_TYPES.has(owner.type)) return false;
  if (decl.type === 'variable_declaration') return true; // `var` outside any function
  let p = decl.parent;
  if (p?.type === 'export_statement') p = p.parent;
  if (!p) return false;
  if (p.type === 'program') return true;
  return p.type === 'statement_block' && p.parent?.type === 'internal_module';
}

/** `promisify(x)(…)` / `util.promisify(x)(…)`: the callee is itself a promisify call. */
function isPromisifiedCall(callee: Node): boolean {
  const f = callee.childForFieldName('function');
  if (f?.type === 'identifier') return f.text === 'promisify';
  return f?.type === 'member_expression' && f.childForFieldName('property')?.text === 'promisify';
}

/**
 * A promisified callback opener (`promisify(fs.open)`) returns a promise of what its
 * callback would have received: the same handle, awaited. Other openers are unchanged.
 */
function promisifiedOpener(spec: OpenerSpec | undefined, promisified: boolean | undefined): OpenerSpec | undefined {
  if (!spec || !promisified) return spec;
  return spec.style === 'callback' ? { ...spec, style: 'awaited' } : undefined;
}

class TypeScriptHandleAnalysis {
  private readonly file: FileIndex;
  private readonly bindings: FsBindings;
  private readonly classifier: EffectClassifier;
  private readonly leaks: HandleLeak[] = [];
  private readonly byOwner = new Map<number, { owner: Node; handles: TrackedHandle[] }>();

  constructor(
    tree: Tree,
    private readonly text: string,
    private readonly javascript: boolean,
  ) {
    this.file = new FileIndex(tree);
    this.bindings = this.file.bindings;
    this.classifier = this.file.classifier;
  }

  run(): HandleLeak[] {
    // Calls that may open a handle: a known opener's name, or a name bound to an fs function.
    const candidates = this.file.collect((n) => {
      const f = n.childForFieldName('function');
      if (f?.type === 'member_expression') {
        const prop = f.childForFieldName('property');
        return !!prop && OPENER_NAMES.has(prop.text);
      }
      if (f?.type === 'call_expression') return isPromisifiedCall(f); // `promisify(fs.open)(p, 'w')`
      return f?.type === 'identifier' && (OPENER_NAMES.has(f.text) || this.bindings.locals.has(f.text));
    });
    if (this.bindings.isEmpty) return [];
    const handleMethodCalls: Node[] = [];
    for (const call of candidates) {
      const callee = call.childForFieldName('function');
      if (!callee) continue;
      const resolved = this.bindings.resolveCallee(callee) ?? fsFunctionThroughDefaults(callee, this.bindings, this.file.functions);
      const spec = resolved ? promisifiedOpener(findOpener(resolved.module, resolved.name), resolved.promisified) : undefined;
      if (spec) this.placeOpener(call, spec, compact(callee));
      else if (callee.type === 'member_expression' && callee.childForFieldName('object')?.type === 'identifier') handleMethodCalls.push(call);
    }
    for (const call of handleMethodCalls) this.placeHandleMethodOpener(call);
    for (const { owner, handles } of this.byOwner.values()) {
      try {
        this.analyzeOwner(owner, handles);
      } catch {
        // NOTE: an unexpected shape in one function must not cost the rest of the file.
      }
    }
    this.leaks.sort((a, b) => a.openRange.start.line - b.openRange.start.line || a.openRange.start.character - b.openRange.start.character);
    return this.leaks;
  }

  private addHandle(h: TrackedHandle): void {
    let group = this.byOwner.get(h.owner.id);
    if (!group) this.byOwner.set(h.owner.id, (group = { owner: h.owner, handles: [] }));
    group.handles.push(h);
  }

  private unbound(call: Node, api: string, at: Node): void {
    const range = nodeRange(at);
    this.leaks.push({
      variable: '',
      api,
      openRange: nodeRange(call),
      leakRange: range,
      leakKind: 'unbound',
      leakLine: range.start.line + 1,
      fixes: [],
    });
  }

  private placeOpener(call: Node, spec: OpenerSpec, api: string): void {
    if (spec.style === 'callback') {
      const args = argumentsOf(call);
      const cb = args[args.length - 1];
      if (!isFunctionLike(cb)) return;
      const params = parametersOf(cb);
      const fd = parameterName(params[1]);
      if (params.length < 2) {
        this.unbound(call, api, enclosingStatement(call));
        return;
      }
      if (!fd) return;
      this.addHandle({ name: fd, api, kind: spec.kind, call, owner: cb, form: 'param', errorParam: parameterName(params[0]) });
      return;
    }
    let value: Node = unwrapUp(call);
    if (spec.style === 'awaited') {
      const p = value.parent;
      if (p?.type === 'await_expression') value = p;
      else if (p?.type === 'member_expression' && p.childForFieldName('property')?.text === 'then' && p.parent?.type === 'call_expression') {
        const cb = argumentsOf(p.parent)[0];
        if (!isFunctionLike(cb)) return;
        const params = parametersOf(cb);
        const fh = parameterName(params[0]);
        if (params.length === 0) this.unbound(call, api, enclosingStatement(call));
        else if (fh) this.addHandle({ name: fh, api, kind: spec.kind, call, owner: cb, form: 'param' });
        return;
      } else {
        if (p?.type === 'expression_statement') this.unbound(call, api, p);
        return; // a promise of a handle handed elsewhere
      }
    }
    const place = this.placeValue(value);
    if (place.kind === 'unbound') this.unbound(call, api, place.at);
    else if (place.kind === 'tracked') {
      this.addHandle({ name: place.name, api, kind: spec.kind, call, owner: enclosingOwner(call), form: place.form, declaration: place.declaration, field: place.field, guard: place.guard });
    }
  }

  /** `fh.createReadStream()` on a tracked FileHandle opens a stream that now owns `fh`. */
  private placeHandleMethodOpener(call: Node): void {
    const callee = call.childForFieldName('function');
    const method = callee?.childForFieldName('property')?.text;
    const recv = callee?.childForFieldName('object')?.text;
    if (!callee || !method || !recv) return;
    const owner = enclosingOwner(call);
    const group = this.byOwner.get(owner.id);
    const holder = group?.handles.find((h) => h.name === recv);
    if (!holder) return;
    const spec = HANDLE_METHOD_OPENERS.find((o) => o.on === holder.kind && o.method === method);
    if (!spec) return;
    const api = compact(callee);
    const place = this.placeValue(unwrapUp(call));
    if (place.kind === 'unbound') this.unbound(call, api, place.at);
    else if (place.kind === 'tracked') {
      this.addHandle({ name: place.name, api, kind: spec.kind, call, owner, form: place.form, declaration: place.declaration });
    }
  }

  /** Where does the value of an opening expression go? */
  private placeValue(start: Node): Placement {
    let cur = start;
    let condition: Node | undefined;
    for (let guard = 0; guard < 64; guard++) {
      const p = cur.parent;
      if (!p) return { kind: 'silent' };
      switch (p.type) {
        case 'parenthesized_expression':
        case 'non_null_expression':
        case 'as_expression':
        case 'satisfies_expression':
        case 'await_expression':
          cur = p;
          continue;
        case 'ternary_expression':
          if (p.childForFieldName('condition')?.id === cur.id) return { kind: 'silent' };
          cur = p;
          continue;
        case 'binary_expression': {
          const op = p.childForFieldName('operator')?.type;
          if (op === '||' || op === '??' || (op === '&&' && p.childForFieldName('right')?.id === cur.id)) {
            if (op === '&&') condition = p.childForFieldName('left') ?? undefined;
            cur = p;
            continue;
          }
          return { kind: 'silent' };
        }
        case 'member_expression': {
          if (p.childForFieldName('object')?.id !== cur.id) return { kind: 'silent' };
          const call = p.parent;
          if (!call || call.type !== 'call_expression' || call.childForFieldName('function')?.id !== p.id) {
            return { kind: 'unbound', at: enclosingStatement(p) };
          }
          const prop = p.childForFieldName('property')?.text ?? '';
          const m = HANDLE_METHODS[prop];
          if (m === 'release' || m === 'handoff') return { kind: 'silent' };
          if (m === 'chain') {
            if (LISTENER_METHODS.has(prop)) {
              const first = argumentsOf(call)[0];
              if (first?.type === 'string' && CONSUMING_EVENTS.has(first.text.slice(1, -1))) return { kind: 'silent' };
            }
            cur = call;
            continue;
          }
          if (prop === 'then' || prop === 'catch' || prop === 'finally') return { kind: 'silent' };
          // Used once and dropped: `createWriteStream(p).write(x)`, `(await open(p)).stat()`.
          return { kind: 'unbound', at: enclosingStatement(call) };
        }
        case 'variable_declarator': {
          if (p.childForFieldName('value')?.id !== cur.id) return { kind: 'silent' };
          const name = p.childForFieldName('name');
          const decl = p.parent;
          if (name?.type !== 'identifier' || !decl) return { kind: 'silent' };
          return { kind: 'tracked', name: name.text, form: 'declare', declaration: decl, guard: condition };
        }
        case 'pair':
          return this.placeInLocalObject(p, cur, condition);
        case 'assignment_expression': {
          if (p.childForFieldName('right')?.id !== cur.id) return { kind: 'silent' };
          if (p.child(0)?.type === 'using') return { kind: 'silent' }; // `using` / `await using`
          const left = p.childForFieldName('left');
          if (left?.type !== 'identifier') return { kind: 'silent' }; // stored in a property/element
          return { kind: 'tracked', name: left.text, form: 'assign' };
        }
        case 'expression_statement':
          return { kind: 'unbound', at: p };
        case 'arguments': {
          const call = p.parent;
          if (!call || call.type !== 'call_expression') return { kind: 'silent' };
          const callee = call.childForFieldName('function');
          const fsFn = callee ? this.bindings.resolveCallee(callee) : undefined;
          if (!fsFn) return { kind: 'silent' };
          const effect = fsFn.module === 'fs' ? FS_ARGUMENT_EFFECTS[`fs.${fsFn.name}`] : undefined;
          if (effect) return { kind: 'silent' }; // `fs.closeSync(fs.openSync(p, 'w'))` (touch)
          return { kind: 'unbound', at: enclosingStatement(call) }; // `fs.fstatSync(fs.openSync(p))`
        }
        case 'for_in_statement':
          return { kind: 'silent' }; // `for await (const chunk of createReadStream(p))` consumes it
        default:
          // returned, yielded, stored in an object/array/field, passed on, exported, …
          return { kind: 'silent' };
      }
    }
    return { kind: 'silent' };
  }

  /**
   * `const params = { body: open(p), … }`: a field of an object literal bound to a local.
   * The object holds the handle for the function; it is tracked under the object's name.
   */
  private placeInLocalObject(pair: Node, value: Node, condition: Node | undefined): Placement {
    const key = pair.childForFieldName('key');
    const object = pair.parent;
    const declarator = object?.parent;
    if (pair.childForFieldName('value')?.id !== value.id || key?.type !== 'property_identifier' || object?.type !== 'object') return { kind: 'silent' };
    if (declarator?.type !== 'variable_declarator' || declarator.childForFieldName('value')?.id !== object.id) return { kind: 'silent' };
    const name = declarator.childForFieldName('name');
    const decl = declarator.parent;
    if (name?.type !== 'identifier' || !decl) return { kind: 'silent' };
    return { kind: 'tracked', name: name.text, form: 'declare', declaration: decl, field: key.text, guard: condition };
  }

  /** Names declared in `owner` itself (parameters and declarators outside nested functions). */
  private declaredIn(owner: Node, names: ReadonlySet<string>): Map<string, Node> {
    const out = new Map<string, Node>();
    if (!MODULE_TYPES.has(owner.type)) {
      for (const p of parametersOf(owner)) {
        const n = parameterName(p);
        if (n && names.has(n)) out.set(n, p);
      }
    }
    const body = owner.type === 'program' ? owner : owner.childForFieldName('body');
    if (!body) return out;
    const stack: Node[] = [body];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.id !== body.id && (FUNCTION_TYPES.has(n.type) || n.type === 'internal_module' || n.type === 'class_body')) continue;
      if (n.type === 'variable_declarator') {
        const name = n.childForFieldName('name');
        if (name?.type === 'identifier' && names.has(name.text) && !out.has(name.text)) out.set(name.text, n);
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    return out;
  }

  private analyzeOwner(owner: Node, handles: TrackedHandle[]): void {
    const names = new Set(handles.map((h) => h.name));
    const declared = this.declaredIn(owner, names);
    const live: TrackedHandle[] = [];
    for (const h of handles) {
      if (h.form === 'declare') {
        if (!h.declaration || isModuleLevel(h.declaration, owner)) continue;
      } else if (h.form === 'assign') {
        const d = declared.get(h.name);
        // Assigned to a variable of an enclosing function or the module: that scope owns it.
        if (!d || d.type !== 'variable_declarator' || !d.parent || isModuleLevel(d.parent, owner)) continue;
      }
      live.push(h);
    }
    if (live.length === 0) return;

    const errorAliases = new Map<string, string[]>();
    for (const h of live) if (h.errorParam) errorAliases.set(h.errorParam, [...(errorAliases.get(h.errorParam) ?? []), h.name]);
    const cfg = buildFunctionCfg(owner, names, errorAliases);

    // Split the opening statements first: effects are memoised per tree node afterwards.
    const starts = new Map<TrackedHandle, TsFlowNode>();
    const splits = new Map<number, TsFlowNode>();
    for (const h of live) {
      if (h.form === 'param') {
        starts.set(h, cfg.entry);
        continue;
      }
      const node = this.locate(cfg, h.call, owner);
      if (!node) continue;
      let start = splits.get(node.id);
      if (!start) {
        start = splitStatement(cfg, node);
        splits.set(node.id, start);
      }
      starts.set(h, start);
    }
    const splitStarts = new Set([...splits.values()].map((n) => n.id));

    // Handles held in a field of a local object: `params.body.destroy()` releases, `params.access = …` does not touch it.
    const fields = new Map<string, string>();
    for (const h of live) if (h.field) fields.set(h.name, h.field);
    const releasers = this.releasingFunctions(owner, names);
    const lookFor = new Set([...names, ...releasers.keys()]);
    const flagMemo = new Map<number, Map<string, RefFlags>>();
    const flagsAt = (tree: Node, name: string): RefFlags | undefined => {
      let m = flagMemo.get(tree.id);
      if (!m) {
        m = new Map();
        const found = collectReferences(tree, lookFor);
        for (const [n, refs] of found) if (names.has(n)) m.set(n, this.classifier.flagsOf(viaField(refs, fields.get(n)), tree, n));
        // Mentioning a local function that closes the handle (`cleanup()`, `.once('end', cleanup)`).
        for (const [fn, released] of releasers) {
          const refs = (found.get(fn) ?? []).filter((r) => !isDeclarationName(r));
          if (refs.length === 0) continue;
          for (const n of released) {
            const f = m.get(n) ?? { release: false, escape: false, assign: false };
            f.release = true;
            m.set(n, f);
          }
        }
        flagMemo.set(tree.id, m);
      }
      return m.get(name);
    };
    const effectFor = (h: TrackedHandle, steps: Map<number, LeakStep[]>) => (node: TsFlowNode): HandleEffect => {
      const name = h.name;
      const p: TsPayload | undefined = node.payload;
      if (!p) return 'none';
      if (p.kind === 'scope-exit') return p.names?.includes(name) ? 'overwrite' : 'none';
      if (!p.node || p.kind === 'entry') return 'none';
      // `guard && open(p)`, then `if (!guard) { … }`: no handle was opened on that branch.
      if (h.guard && whereGuardIsFalse(p.node, h.guard)) return 'release';
      const f = flagsAt(p.node, name);
      if (!f) return 'none';
      if (p.kind === 'pre') return f.assign ? 'overwrite' : 'none';
      if (f.release) return 'release';
      if (f.escape) {
        const kept = f.firmEscape || !f.loans ? undefined : this.loansKeptBy(h, cfg, node, f.loans, flagsAt);
        if (!kept) return 'escape';
        steps.set(node.id, kept);
        return 'none';
      }
      if (f.assign && !splitStarts.has(node.id)) return 'overwrite';
      return 'none';
    };

    for (const h of live) {
      const start = starts.get(h);
      if (!start) continue;
      // Opened and released (or handed on) within one statement: `o = open(p), read(o), close(o)`.
      const own = start.payload?.node && h.form !== 'param' ? flagsAt(start.payload.node, h.name) : undefined;
      if (own && (own.release || own.escape)) continue;
      const loanSteps = new Map<number, LeakStep[]>();
      const effect = effectFor(h, loanSteps);
      const failed = this.failedHandOverLeak(h, cfg, start, effect);
      if (failed) {
        this.leaks.push(failed);
        continue;
      }
      const path = findLeak(cfg.graph, start, h.name, effect);
      if (!path) continue;
      const leak = this.describe(h, cfg, path);
      const steps = [...this.fieldSteps(h), ...path.path.flatMap((n) => loanSteps.get(n.id) ?? [])];
      if (steps.length > 0) leak.steps = steps.map(({ range, message }) => ({ range, message }));
      // Piped into and left to the source: closing it at the end of the block would cut the
      // copy short. Held in an object's field: the fixer releases variables, not fields.
      if (steps.some((s) => s.pipe) || h.field) {
        this.leaks.push(leak);
        continue;
      }
      if (h.form === 'declare' && h.declaration) {
        try {
          leak.fixes = computeFixes({
            text: this.text,
            name: h.name,
            kind: h.kind,
            declaration: h.declaration,
            classifier: this.classifier,
            bindings: this.bindings,
            namespace: this.namespaceOfCall(h.call),
            javascript: this.javascript,
            lent: new Set([...loanSteps.values()].flat().map((s) => s.ref.id)),
          });
        } catch {
          leak.fixes = [];
        }
      }
      this.leaks.push(leak);
    }
  }

  /** Evidence that the handle went into a field of a local object. */
  private fieldSteps(h: TrackedHandle): LeakStep[] {
    if (!h.field) return [];
    const pair = h.call.parent && enclosingPair(h.call);
    return pair ? [{ ref: pair, range: nodeRange(pair), message: `stored in '${h.name}.${h.field}' here` }] : [];
  }

  /**
   * A hand-over whose failure this function handles (`send(s).catch((err) => …)`) and whose
   * handler leaves the handle open: reported in preference to other paths, as the way the
   * handle is lost. The search ends at the first statement that hands the handle to a
   * function nothing is known of inside the receiver of `.catch(h)` / `.then(…, h)`;
   * every exit before it is some other story.
   */
  private failedHandOverLeak(h: TrackedHandle, cfg: FunctionCfg, start: TsFlowNode, effect: (node: TsFlowNode) => HandleEffect): HandleLeak | undefined {
    const found = new Map<number, { call: Node; handler: Node }>();
    const probe = (node: TsFlowNode): HandleEffect => {
      const tree = node.payload?.kind === 'entry' ? null : node.payload?.node;
      const failed = tree ? this.failureHandledHandOver(tree, h) : undefined;
      if (failed) {
        found.set(node.id, failed);
        return 'overwrite';
      }
      const e = effect(node);
      return e === 'overwrite' ? 'release' : e;
    };
    const every = new Set<'return' | 'end' | 'raise' | 'process-exit'>(['return', 'end', 'raise', 'process-exit']);
    const path = findLeak(cfg.graph, start, h.name, probe, every);
    const hit = path ? found.get(path.node.id) : undefined;
    if (!path || !hit) return undefined;
    const range = nodeRange(hit.call);
    const callee = hit.call.childForFieldName('function');
    const label = callee && compact(callee).length <= 40 ? `${compact(callee)}()` : 'the call';
    const what = h.field ? `${h.name}.${h.field}` : h.name;
    const steps: LeakStep[] = [
      ...this.fieldSteps(h),
      { ref: hit.handler, range: nodeRange(hit.handler), message: `this handler runs when ${label} fails; nothing in it closes '${what}', which a call that failed has not consumed` },
    ];
    return {
      variable: what,
      api: h.api,
      openRange: nodeRange(h.call),
      leakRange: range,
      leakKind: 'raise',
      leakLine: range.start.line + 1,
      steps: steps.map(({ range: r, message }) => ({ range: r, message })),
      fixes: [],
    };
  }

  /**
   * In `tree`, a mention of the handle passed to a function nothing is known of, inside the
   * receiver of `.catch(handler)` or `.then(onValue, handler)` (a function written there)
   * that does not release it.
   */
  private failureHandledHandOver(tree: Node, h: TrackedHandle): { call: Node; handler: Node } | undefined {
    if (!tree.text.includes('.catch') && !tree.text.includes('.then')) return undefined;
    const refs = viaField(collectReferences(tree, new Set([h.name])).get(h.name) ?? [], h.field);
    for (const ref of refs) {
      if (this.classifier.presumedHandOver(ref) !== 'argument') continue;
      const call = callOfArgument(ref);
      if (!call) continue;
      for (let n: Node = call; n.parent && n.id !== tree.id; n = n.parent) {
        const member = n.parent;
        if (member.type !== 'member_expression' || member.childForFieldName('object')?.id !== n.id) continue;
        const method = member.childForFieldName('property')?.text;
        const outer = member.parent;
        if ((method !== 'catch' && method !== 'then') || outer?.type !== 'call_expression') continue;
        const handler = argumentsOf(outer)[method === 'catch' ? 0 : 1];
        if (!isFunctionLike(handler)) continue;
        const inHandler = viaField(collectReferences(handler, new Set([h.name])).get(h.name) ?? [], h.field);
        if (inHandler.some((r) => this.classifier.classify(r) === 'release')) return undefined;
        return { call, handler };
      }
    }
    return undefined;
  }

  /**
   * The mentions in `loans` (arguments to functions nothing is known of) at `node` did not
   * hand the handle over when each is either
   * - the destination of `src.pipe(ws)` for a write stream: `.pipe()` ends it only when the
   *   source ends, so a failing source leaves it open unless this function releases it; or
   * - followed, on the normal path from `node`, by a release in this function itself: a
   *   callee that took the handle would not leave it to its caller to close, so the call
   *   only used it (and a throw from it leaves the handle open).
   * Returns the evidence for each, or undefined when one of them is a real hand-over.
   */
  private loansKeptBy(h: TrackedHandle, cfg: FunctionCfg, node: TsFlowNode, loans: readonly Node[], flagsAt: (tree: Node, name: string) => RefFlags | undefined): LeakStep[] | undefined {
    const out: LeakStep[] = [];
    let releaseLine: number | null | undefined;
    for (const ref of loans) {
      const call = callOfArgument(ref);
      if (!call) return undefined;
      const callee = call.childForFieldName('function');
      if (this.classifier.presumedHandOver(ref) === 'pipe-destination' && h.kind === 'write-stream') {
        const src = callee?.childForFieldName('object');
        const from = src && compact(src).length <= 32 ? `'${compact(src)}'` : 'the source';
        out.push({
          ref,
          pipe: true,
          range: nodeRange(call),
          message: `piped into from ${from} here: .pipe() ends '${h.name}' only when ${from} ends; if ${from} fails, nothing ends or destroys it`,
        });
        continue;
      }
      if (releaseLine === undefined) releaseLine = this.releasedLater(cfg, node, h.name, flagsAt);
      if (releaseLine === null) return undefined;
      const label = callee && compact(callee).length <= 40 ? `${compact(callee)}()` : 'the function';
      out.push({
        ref,
        range: nodeRange(call),
        message: `passed to ${label} here, which does not take it over: this function releases it afterwards (line ${releaseLine}), so if the call throws it stays open`,
      });
    }
    return out;
  }

  /**
   * The 1-based line of the first statement reachable from `from` along normal (not
   * exceptional) edges that releases `name` itself, not in a callback; null when none does
   * before the variable is rebound.
   */
  private releasedLater(cfg: FunctionCfg, from: TsFlowNode, name: string, flagsAt: (tree: Node, name: string) => RefFlags | undefined): number | null {
    const seen = new Set<number>([from.id]);
    const queue = from.succ.filter((e) => !e.exceptional).map((e) => e.to);
    for (let guard = 0; queue.length > 0 && guard < 4096; guard++) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const n = cfg.graph.nodes[id];
      const tree = n.payload?.node;
      if (tree && n.payload?.kind !== 'entry') {
        const f = flagsAt(tree, name);
        if (f?.release && this.releasesDirectly(tree, name)) return tree.startPosition.row + 1;
        if (f?.assign) continue;
      }
      for (const e of n.succ) if (!e.exceptional) queue.push(e.to);
    }
    return null;
  }

  /** Does `tree` release `name` in its own code, not in a function it defines? */
  private releasesDirectly(tree: Node, name: string): boolean {
    const refs = collectReferences(tree, new Set([name])).get(name) ?? [];
    return refs.some((r) => !insideFunctionBelow(r, tree) && this.classifier.classify(r) === 'release');
  }

  /**
   * Functions declared inside `owner` that release one of `names` they capture, directly or
   * by mentioning another such function (`settle()` → `cleanup()` → `stream.destroy()`).
   */
  private releasingFunctions(owner: Node, names: ReadonlySet<string>): Map<string, Set<string>> {
    const body = owner.type === 'program' ? owner : owner.childForFieldName('body');
    if (!body) return new Map();
    return this.file.releasingFunctions(body, names, { generators: true, inClassBodies: false });
  }

  /** `fs` in `fs.openSync(…)`: the release a fix writes goes through the same name. */
  private namespaceOfCall(call: Node): string | undefined {
    const callee = call.childForFieldName('function');
    const obj = callee?.type === 'member_expression' ? callee.childForFieldName('object') : null;
    return obj?.type === 'identifier' && this.bindings.namespaceOf(obj) === 'fs' ? obj.text : undefined;
  }

  /** The flow node that evaluates the statement holding `call`. */
  private locate(cfg: FunctionCfg, call: Node, owner: Node): TsFlowNode | undefined {
    for (let n: Node | null = call; n && n.id !== owner.id; n = n.parent) {
      const f = cfg.byTreeNode.get(n.id);
      if (f) return f;
    }
    return undefined;
  }

  private describe(h: TrackedHandle, cfg: FunctionCfg, path: LeakPath<TsPayload>): HandleLeak {
    let kind: LeakKind;
    let range: Range | null = null;
    const nodes = path.path;
    if (path.exceptional) {
      kind = 'raise';
      for (let k = 0; k + 1 < nodes.length; k++) {
        const edges = nodes[k].succ.filter((e) => e.to === nodes[k + 1].id);
        if (edges.length > 0 && edges.every((e) => e.exceptional)) {
          range = nodes[k].range;
          break;
        }
      }
    } else if (path.kind === 'exit') {
      if (path.node.exit === 'return') {
        kind = 'return';
        for (let k = nodes.length - 1; k >= 0 && !range; k--) if (nodes[k].payload?.node?.type === 'return_statement') range = nodes[k].range;
      } else {
        kind = 'end';
        range = cfg.endRange;
      }
    } else if (path.node.payload?.kind === 'scope-exit') {
      kind = 'end';
      range = path.node.range;
      // Left the block by break/continue: report the jump.
      if (!range && nodes.length >= 2) range = nodes[nodes.length - 2].range;
    } else {
      kind = 'overwrite';
      range = path.node.range;
    }
    const leakRange = range ?? path.node.range ?? cfg.endRange;
    return {
      variable: h.field ? `${h.name}.${h.field}` : h.name,
      api: h.api,
      openRange: nodeRange(h.call),
      leakRange,
      leakKind: kind,
      leakLine: leakRange.start.line + 1,
      fixes: [],
    };
  }
}

/** Finds TypeScript file handles (fds, FileHandles, fs streams) not released on every path. */
export const analyzeTypeScriptHandles: HandleAnalyzer = (tree, text, path) => {
  if (!FS_SPECIFIER_PATTERN.test(text) || !OPENER_NAME_PATTERN.test(text)) return [];
  try {
    return new TypeScriptHandleAnalysis(tree, text, path !== undefined && isJavaScriptPath(path)).run();
  } catch {
    return [];
  }
};
