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
import type { FileHandleSummary, ImportedFunction, PendingLeak, SummaryCondition, UsedOnlyParameters } from '../summaries';
import { factIdOf, passThroughParameters, ReturnSummaries, type FreshHandle } from './returns';
import { buildFunctionCfg, FUNCTION_TYPES, MODULE_TYPES, splitStatement, type FunctionCfg, type TsFlowNode, type TsPayload } from './cfg';
import { collectReferences, EffectClassifier, parameterName, parametersOf, type ImportedCallAssumptions, type RefFlags } from './effects';
import { FileIndex, argumentsOf, compact, isFunctionLike } from './file-index';
import { computeFixes } from './fix';
import { fsFunctionThroughDefaults } from './fs-defaults';
import type { FsBindings } from '../../facts/typescript/imports';
import {
  CONSUMING_EVENTS,
  HANDLE_METHOD_OPENERS,
  LISTENER_METHODS,
  type HandleKind,
  type OpenerSpec,
} from '../../knowledge/typescript-handles';
import { BUILTIN_KNOWLEDGE, type Knowledge, type TypeScriptKnowledge } from '../../knowledge/knowledge';
import { escapeRegExp } from '../../text/regexp';
import { ownedFieldLeaks, type FieldStore } from './owned-fields';
import { recordAnalysisFailure } from '../failures';

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
  /**
   * For a handle followed into the callback of an fs call that uses it (a continuation,
   * `fs.futimes(fd, …, function (err) { … })`): that fs call, shown as a step.
   */
  continuedBy?: Node;
  /** A handle returned by a helper of this file: how it got here, shown as a step. */
  returnedBy?: FreshHandle;
  /** The leak is real only if this holds in another module (a pending leak). */
  requires?: SummaryCondition;
  /** Held in this field of the object literal bound to `name` (`const params = { body: open() }`). */
  field?: string;
  /** Opened as `guard && open(p)`: where `guard` is known false there is no handle. */
  guard?: Node;
  /** Followed into the result of a pass-through helper of another module (`const g = ensureOpen(fd)`; `call` is that call): the open and the helper. */
  passedFrom?: { open: Node; display: string };
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

/** A file's leaks, the leaks it has if other modules' summaries say so, and its own summary. */
export interface TypeScriptHandleResult {
  leaks: HandleLeak[];
  summary: FileHandleSummary;
}

/** How a module can hand out another module's exports as its own (see `ReturnSummaries.reexportsFs`). */
const REEXPORT_PATTERN = /\bmodule\.exports\s*=|\bObject\.assign\(\s*(?:module\.)?exports\b|\bexport\s*\*\s*from\b/;
/** A relative import or require: the file may use another module's opener. */
const RELATIVE_IMPORT_PATTERN = /(?:\bfrom\s*|\brequire\s*\(\s*)['"]\.\.?\//;

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
  private readonly pending: PendingLeak[] = [];
  private returns!: ReturnSummaries;
  /** Local names of workspace modules taken to be the fs module (pending its summary). */
  private readonly assumedFs = new Map<string, string>();
  private readonly byOwner = new Map<number, { owner: Node; handles: TrackedHandle[] }>();
  /** `this.<field> = <opener>` statements (owned fields). */
  private readonly fieldStores: FieldStore[] = [];

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    private readonly javascript: boolean,
    private readonly knowledge: TypeScriptKnowledge = BUILTIN_KNOWLEDGE.typescript,
  ) {
    this.file = new FileIndex(tree, knowledge);
    this.bindings = this.file.bindings;
    this.classifier = this.file.classifier;
  }

  run(): TypeScriptHandleResult {
    // Calls that may open a handle: a known opener's name, or a name bound to an fs function;
    // and calls of named functions, which may be helpers that return a handle.
    const helperCalls: Node[] = [];
    const candidates = this.file.collect((n) => {
      const f = n.childForFieldName('function');
      if (f?.type === 'member_expression') {
        const prop = f.childForFieldName('property');
        if (!!prop && this.knowledge.openerNames.has(prop.text)) return true;
        const obj = f.childForFieldName('object');
        if (obj?.type === 'this' && !!prop && this.bindings.fieldFunction(prop.text)) return true; // `private open = fs.openSync`
        if (obj?.type === 'identifier' || obj?.type === 'this') helperCalls.push(n);
        return false;
      }
      if (f?.type === 'call_expression' && isPromisifiedCall(f)) return true; // `promisify(fs.open)(p, 'w')`
      if (f?.type === 'identifier' && (this.knowledge.openerNames.has(f.text) || this.bindings.locals.has(f.text))) return true;
      if (f?.type === 'identifier' || f?.type === 'call_expression') helperCalls.push(n);
      return false;
    });
    this.returns = new ReturnSummaries(this.file, this.tree);
    const summary: FileHandleSummary = { returnedHandles: [], pendingLeaks: this.pending };
    try {
      summary.returnedHandles = this.returns.exportedReturns();
      const reexportsFs = this.returns.reexportsFs();
      if (reexportsFs) summary.reexportsFs = reexportsFs;
      const usedOnly = usedOnlyParameters(this.returns, this.classifier);
      if (usedOnly.length > 0) summary.parametersUsedOnly = usedOnly;
      const passedThrough = passThroughParameters(this.tree, this.text, this.returns);
      if (passedThrough.length > 0) summary.parametersReturned = passedThrough;
      const forwarded = this.returns.forwardedParameters();
      if (forwarded.length > 0) summary.parametersForwarded = forwarded;
    } catch (err) {
      recordAnalysisFailure('the handle summary of this module', err);
    }
    this.assumeWorkspaceFsModules();
    if (this.bindings.isEmpty && this.returns.imports.size === 0) return { leaks: [], summary };
    const handleMethodCalls: Node[] = [];
    for (const call of candidates) {
      const callee = call.childForFieldName('function');
      if (!callee) continue;
      const resolved = this.bindings.resolveCallee(callee) ?? fsFunctionThroughDefaults(callee, this.bindings, this.file.functions);
      const found = resolved ? this.knowledge.openers.find((o) => o.module === resolved.module && o.name === resolved.name) : undefined;
      const spec = resolved ? promisifiedOpener(found, resolved.promisified) : undefined;
      if (spec) {
        this.placeOpener(call, spec, compact(callee), this.assumedCondition(call));
        continue;
      }
      if (callee.type === 'member_expression' && callee.childForFieldName('object')?.type === 'identifier') handleMethodCalls.push(call);
      helperCalls.push(call); // `Blob.open(p)`: a helper that happens to bear an opener's name
    }
    for (const call of helperCalls) this.placeHelperCall(call);
    for (const call of handleMethodCalls) this.placeHandleMethodOpener(call);
    this.followContinuations();
    for (const { owner, handles } of this.byOwner.values()) {
      try {
        this.analyzeOwner(owner, handles);
      } catch (err) {
        // One function's failure must not cost the rest of the file.
        recordAnalysisFailure('the handle analysis of one function', err);
      }
    }
    if (this.fieldStores.length > 0) {
      try {
        this.leaks.push(...ownedFieldLeaks(this.fieldStores));
      } catch (err) {
        recordAnalysisFailure('the owned-field analysis of this module', err);
      }
    }
    this.leaks.sort((a, b) => a.openRange.start.line - b.openRange.start.line || a.openRange.start.character - b.openRange.start.character);
    // One finding per open: a handle followed into a continuation may also leak before it.
    const seen = new Set<string>();
    const leaks = this.leaks.filter((l) => {
      const key = `${l.openRange.start.line}:${l.openRange.start.character}:${l.variable}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { leaks, summary };
  }

  /**
   * `const fs = require('../fs')` where the file calls `fs.openSync(…)`: fs-extra and
   * friends wrap `fs` in a module of their own. The name is read as the fs namespace, and
   * what it opens leaks only if that module turns out to re-export fs (a pending leak).
   */
  private assumeWorkspaceFsModules(): void {
    for (const [local, imp] of this.returns.imports) {
      if (imp.exportPath.length > 1 || (imp.exportPath.length === 1 && imp.exportPath[0] !== 'default')) continue;
      if (this.bindings.locals.has(local)) continue;
      const uses = new RegExp(`\\b${local.replace(/\$/g, '\\$')}\\.(?:${[...this.knowledge.openerNames].join('|')})\\s*\\(`);
      if (!uses.test(this.text)) continue;
      this.bindings.locals.set(local, { kind: 'ns', module: 'fs' });
      this.assumedFs.set(local, imp.specifier);
    }
  }

  /** The condition under which an fs call through an assumed module opens a handle. */
  private assumedCondition(call: Node): SummaryCondition | undefined {
    const callee = call.childForFieldName('function');
    const obj = callee?.type === 'member_expression' ? callee.childForFieldName('object') : callee;
    const specifier = obj?.type === 'identifier' ? this.assumedFs.get(obj.text) : undefined;
    return specifier ? { kind: 'module-is-fs', specifier } : undefined;
  }

  /**
   * A call of a helper that returns a fresh handle: a function of this file (its summary is
   * here), or an imported function of another workspace module — then a pending leak, kept
   * only when this function releases the value somewhere itself (it treats it as a handle).
   */
  private placeHelperCall(call: Node): void {
    if (this.returns.openerCall(call)) {
      const opener = this.returns.openerCall(call)!;
      // `promisify(fs.open)(…)`: the descriptor is the awaited value.
      if (call.childForFieldName('function')?.type === 'call_expression') this.placeReturned(call, { ...opener, open: call, via: [] }, opener.api);
      return;
    }
    const fresh = this.returns.ofCall(call);
    if (fresh) {
      this.placeReturned(call, fresh, compact(call.childForFieldName('function')!));
      return;
    }
    const imported = this.returns.importedCallee(call);
    if (!imported) return;
    const place = this.placeValue(unwrapUp(call));
    if (place.kind !== 'tracked') return;
    const owner = enclosingOwner(call);
    // A pass-through (the result is the handle passed in) or, where the caller releases the
    // result itself, a helper that returns a fresh handle: each reading pends on the summary.
    this.placePassedThrough(call, imported, place, owner);
    if (!this.releasedSomewhere(owner, place.name)) return;
    this.addHandle({ name: place.name, api: imported.display, kind: 'fd', call, owner, form: place.form, declaration: place.declaration, requires: { kind: 'returns-handle', callee: imported } });
  }

  /**
   * `const g = ensureOpen(fd)` with `ensureOpen` a function of another module: if it returns
   * the argument it got `fd` as, the handle goes on as `g` (followed from this call, pending on
   * the callee's summary). The handle handed over is no longer followed as `fd`; so that `g`
   * is the one name left holding it, only where `fd` is not named again after the statement.
   */
  private placePassedThrough(call: Node, imported: ImportedFunction, place: Extract<Placement, { kind: 'tracked' }>, owner: Node): boolean {
    const handles = this.byOwner.get(owner.id)?.handles;
    if (!handles || place.field) return false;
    const args = argumentsOf(call);
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a.type !== 'identifier' || a.text === place.name) continue;
      const h = handles.find((x) => x.name === a.text && x.form !== 'param' && !x.field && !x.passedFrom && x.call.endIndex <= call.startIndex);
      if (!h) continue;
      const stmt = enclosingStatement(call);
      const body = owner.type === 'program' ? owner : owner.childForFieldName('body');
      const refs = body ? (collectReferences(body, new Set([h.name])).get(h.name) ?? []) : [];
      if (refs.some((r) => r.startIndex >= stmt.endIndex)) continue;
      const through: SummaryCondition = { kind: 'returns-parameter', callee: imported, argument: i };
      this.addHandle({
        name: place.name,
        api: h.api,
        kind: h.kind,
        call,
        owner,
        form: place.form,
        declaration: place.declaration,
        requires: h.requires ? { kind: 'all-of', conditions: [h.requires, through] } : through,
        passedFrom: { open: h.call, display: imported.display },
      });
      return true;
    }
    return false;
  }

  /** Binds a helper's fresh handle the way `placeOpener` binds an opener's (and `[a, b] = …`). */
  private placeReturned(call: Node, fresh: FreshHandle, api: string): void {
    const owner = enclosingOwner(call);
    if (fresh.tupleIndex !== undefined) {
      let value: Node = unwrapUp(call);
      if (value.parent?.type === 'await_expression') value = unwrapUp(value.parent);
      const decl = value.parent;
      const pattern = decl?.type === 'variable_declarator' && decl.childForFieldName('value')?.id === value.id ? decl.childForFieldName('name') : null;
      if (pattern?.type !== 'array_pattern') return;
      const element = pattern.namedChildren.filter((c) => c && c.type !== 'comment')[fresh.tupleIndex];
      if (element?.type !== 'identifier' || !decl?.parent) return;
      this.addHandle({ name: element.text, api, kind: fresh.kind, call, owner, form: 'declare', declaration: decl.parent, returnedBy: fresh });
      return;
    }
    const place = this.placeValue(unwrapUp(call));
    if (place.kind === 'unbound') {
      if (fresh.via.length > 0 || fresh.ownerClass) return; // a helper's result used once: its business
      this.unbound(call, api, place.at);
    } else if (place.kind === 'tracked') {
      this.addHandle({ name: place.name, api, kind: fresh.kind, call, owner, form: place.form, declaration: place.declaration, returnedBy: fresh });
    }
  }

  private optimistic: (ImportedCallAssumptions & { classifier: EffectClassifier }) | undefined;

  /** The classifier that reads calls into other workspace modules as uses (see effects.ts). */
  private optimisticClassifier(): ImportedCallAssumptions & { classifier: EffectClassifier } {
    if (!this.optimistic) {
      const assumed = new Map<string, { call: Node; callee: ImportedFunction; argument: number }>();
      const hooks: ImportedCallAssumptions = { calleeOf: (call) => this.returns.importedCallee(call), assumed };
      this.optimistic = { ...hooks, classifier: new EffectClassifier(this.bindings, this.file.functions, this.knowledge, hooks) };
    }
    return this.optimistic;
  }

  /** Is `name` passed as an argument to a function imported from another workspace module? */
  private passedToImported(owner: Node, name: string): boolean {
    if (this.returns.imports.size === 0) return false;
    const body = owner.type === 'program' ? owner : owner.childForFieldName('body');
    const refs = body ? (collectReferences(body, new Set([name])).get(name) ?? []) : [];
    return refs.some((r) => {
      let cur = r;
      while (cur.parent && (cur.parent.type === 'parenthesized_expression' || cur.parent.type === 'non_null_expression' || cur.parent.type === 'as_expression')) cur = cur.parent;
      const call = cur.parent?.type === 'arguments' ? cur.parent.parent : null;
      return call?.type === 'call_expression' && this.returns.importedCallee(call) !== undefined;
    });
  }

  /** Does `owner` release `name` anywhere (outside nested functions too)? */
  private releasedSomewhere(owner: Node, name: string): boolean {
    const body = owner.type === 'program' ? owner : owner.childForFieldName('body');
    if (!body) return false;
    const refs = collectReferences(body, new Set([name])).get(name) ?? [];
    return refs.some((r) => this.classifier.classify(r) === 'release');
  }

  /**
   * Callback-style code hands the rest of a handle's life to the callback of the fs call
   * that uses it: in `fs.futimes(fd, a, m, function (err) { if (err) return cb(err);
   * fs.close(fd, cb) })` the descriptor is still open in the callback whatever `err` says,
   * and the callback must release it on every path. The enclosing function sees the
   * release inside the callback and stops there; the callback is searched as an owner of
   * its own, starting at its entry (and so on down a chain of such callbacks).
   */
  private followContinuations(): void {
    const queue: TrackedHandle[] = [];
    for (const { handles } of this.byOwner.values()) queue.push(...handles);
    for (let guard = 0; queue.length > 0 && guard < 256; guard++) {
      const h = queue.shift()!;
      for (const cont of this.continuationsOf(h)) {
        this.addHandle(cont);
        queue.push(cont);
      }
    }
  }

  private continuationsOf(h: TrackedHandle): TrackedHandle[] {
    const body = h.owner.type === 'program' ? h.owner : h.owner.childForFieldName('body');
    if (!body) return [];
    const out: TrackedHandle[] = [];
    const names = new Set([h.name]);
    const stack: Node[] = [body];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.id !== body.id && FUNCTION_TYPES.has(n.type)) continue;
      if (n.type === 'call_expression') {
        const cont = this.continuationOf(h, n, names);
        if (cont) out.push(cont);
      }
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    return out;
  }

  /** `fsFunction(…, h, …, callback)` where the callback captures `h` and releases it. */
  private continuationOf(h: TrackedHandle, call: Node, names: ReadonlySet<string>): TrackedHandle | undefined {
    const callee = call.childForFieldName('function');
    const fsFn = callee ? this.bindings.resolveCallee(callee) : undefined;
    if (!fsFn || fsFn.module !== 'fs' || this.knowledge.argumentEffects[`fs.${fsFn.name}`]) return undefined;
    const args = argumentsOf(call);
    const cb = args[args.length - 1];
    if (!isFunctionLike(cb) || !args.some((a) => a.type === 'identifier' && a.text === h.name)) return undefined;
    if (parametersOf(cb).some((p) => parameterName(p) === h.name)) return undefined;
    const cbBody = cb.childForFieldName('body');
    const refs = cbBody ? (collectReferences(cbBody, names).get(h.name) ?? []) : [];
    if (!refs.some((r) => this.classifier.classify(r) === 'release')) return undefined;
    return { name: h.name, api: h.api, kind: h.kind, call: h.call, owner: cb, form: 'param', continuedBy: call, returnedBy: h.returnedBy, requires: h.requires };
  }

  private addHandle(h: TrackedHandle): void {
    let group = this.byOwner.get(h.owner.id);
    if (!group) this.byOwner.set(h.owner.id, (group = { owner: h.owner, handles: [] }));
    group.handles.push(h);
  }

  private unbound(call: Node, api: string, at: Node, requires?: SummaryCondition): void {
    const range = nodeRange(at);
    const leak: HandleLeak = {
      variable: '',
      api,
      openRange: nodeRange(call),
      leakRange: range,
      leakKind: 'unbound',
      leakLine: range.start.line + 1,
      fixes: [],
    };
    if (requires) this.pending.push({ leak, requires });
    else this.leaks.push(leak);
  }

  private placeOpener(call: Node, spec: OpenerSpec, api: string, requires?: SummaryCondition): void {
    if (spec.style === 'callback') {
      const args = argumentsOf(call);
      const cb = args[args.length - 1];
      if (!isFunctionLike(cb)) return;
      const params = parametersOf(cb);
      const fd = parameterName(params[1]);
      if (params.length < 2) {
        this.unbound(call, api, enclosingStatement(call), requires);
        return;
      }
      if (!fd) return;
      this.addHandle({ name: fd, api, kind: spec.kind, call, owner: cb, form: 'param', errorParam: parameterName(params[0]), requires });
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
        if (params.length === 0) this.unbound(call, api, enclosingStatement(call), requires);
        else if (fh) this.addHandle({ name: fh, api, kind: spec.kind, call, owner: cb, form: 'param', requires });
        return;
      } else {
        if (p?.type === 'expression_statement') this.unbound(call, api, p, requires);
        return; // a promise of a handle handed elsewhere
      }
    }
    const place = this.placeValue(value);
    if (place.kind === 'silent' && !requires) this.noteFieldStore(call, value, api);
    if (place.kind === 'unbound') this.unbound(call, api, place.at, requires);
    else if (place.kind === 'tracked') {
      this.addHandle({ name: place.name, api, kind: spec.kind, call, owner: enclosingOwner(call), form: place.form, declaration: place.declaration, field: place.field, guard: place.guard, requires });
    }
  }

  /** `this.fd = fs.openSync(p);` as a statement of its own: a field the object owns (see owned-fields.ts). */
  private noteFieldStore(call: Node, value: Node, api: string): void {
    const assignment = unwrapUp(value).parent;
    if (assignment?.type !== 'assignment_expression' || assignment.parent?.type !== 'expression_statement') return;
    const left = assignment.childForFieldName('left');
    const field = left?.type === 'member_expression' && left.childForFieldName('object')?.type === 'this' ? left.childForFieldName('property') : null;
    if (field?.type !== 'property_identifier') return;
    this.fieldStores.push({ call, api, field: field.text, statement: assignment.parent });
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
          const m = this.knowledge.handleMethods[prop];
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
          const effect = this.knowledge.argumentEffects[`${fsFn.module}.${fsFn.name}`];
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
    // Two readings of calls into other workspace modules: as hand-overs (what is certain
    // here), and as uses (a leak found only that way is pending on their summaries).
    const makeFlagsAt = (classifier: EffectClassifier) => {
      const flagMemo = new Map<number, Map<string, RefFlags>>();
      return (tree: Node, name: string): RefFlags | undefined => {
        let m = flagMemo.get(tree.id);
        if (!m) {
          m = new Map();
          const found = collectReferences(tree, lookFor);
          for (const [n, refs] of found) if (names.has(n)) m.set(n, classifier.flagsOf(viaField(refs, fields.get(n)), tree, n));
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
    };
    const flagsAt = makeFlagsAt(this.classifier);
    let optimisticFlagsAt: ReturnType<typeof makeFlagsAt> | undefined;
    const effectWith = (at: ReturnType<typeof makeFlagsAt>) => (h: TrackedHandle, steps: Map<number, LeakStep[]>) => (node: TsFlowNode): HandleEffect => {
      const name = h.name;
      const p: TsPayload | undefined = node.payload;
      if (!p) return 'none';
      if (p.kind === 'scope-exit') return p.names?.includes(name) ? 'overwrite' : 'none';
      if (!p.node || p.kind === 'entry') return 'none';
      // `guard && open(p)`, then `if (!guard) { … }`: no handle was opened on that branch.
      if (h.guard && whereGuardIsFalse(p.node, h.guard)) return 'release';
      const f = at(p.node, name);
      if (!f) return 'none';
      if (p.kind === 'pre') return f.assign ? 'overwrite' : 'none';
      if (f.release) return 'release';
      if (f.escape) {
        const kept = f.firmEscape || !f.loans ? undefined : this.loansKeptBy(h, cfg, node, f.loans, at);
        if (!kept) return 'escape';
        steps.set(node.id, kept);
        return 'none';
      }
      if (f.assign && !splitStarts.has(node.id)) return 'overwrite';
      return 'none';
    };
    const effectFor = effectWith(flagsAt);

    for (const h of live) {
      const start = starts.get(h);
      if (!start) continue;
      // Opened and released (or handed on) within one statement: `o = open(p), read(o), close(o)`.
      const own = start.payload?.node && h.form !== 'param' ? flagsAt(start.payload.node, h.name) : undefined;
      if (own && (own.release || own.escape)) continue;
      const loanSteps = new Map<number, LeakStep[]>();
      const effect = effectFor(h, loanSteps);
      const failed = h.requires ? undefined : this.failedHandOverLeak(h, cfg, start, effect);
      if (failed) {
        this.leaks.push(failed);
        continue;
      }
      const path = findLeak(cfg.graph, start, h.name, effect);
      if (!path) {
        // Handed to a function of another module: a leak if that function only uses it.
        if (h.requires || !this.passedToImported(owner, h.name)) continue;
        const assumptions = this.optimisticClassifier();
        optimisticFlagsAt ??= makeFlagsAt(assumptions.classifier);
        const maybe = findLeak(cfg.graph, start, h.name, effectWith(optimisticFlagsAt)(h, new Map()));
        if (!maybe) continue;
        const onPath = new Set(maybe.path.map((n) => n.payload?.node?.id).filter((id): id is number => id !== undefined));
        const conditions: SummaryCondition[] = [];
        for (const a of assumptions.assumed.values()) {
          let inPath = false;
          for (let n: Node | null = a.call; n && !inPath; n = n.parent) inPath = onPath.has(n.id);
          const arg = argumentsOf(a.call)[a.argument];
          if (inPath && arg && collectReferences(arg, new Set([h.name])).has(h.name)) conditions.push({ kind: 'only-uses', callee: a.callee, argument: a.argument });
        }
        if (conditions.length === 0) continue;
        const leak = this.describe(h, cfg, maybe);
        this.pending.push({ leak, requires: conditions.length === 1 ? conditions[0] : { kind: 'all-of', conditions } });
        continue;
      }
      const leak = this.describe(h, cfg, path);
      const steps = [...this.fieldSteps(h), ...path.path.flatMap((n) => loanSteps.get(n.id) ?? [])];
      if (steps.length > 0) leak.steps = [...(leak.steps ?? []), ...steps.map(({ range, message }) => ({ range, message }))];
      if (h.requires) {
        this.pending.push({ leak, requires: h.requires });
        continue;
      }
      // Piped into and left to the source: closing it at the end of the block would cut the
      // copy short. Held in an object's field: the fixer releases variables, not fields.
      if (steps.some((s) => s.pipe) || h.field) {
        this.leaks.push(leak);
        continue;
      }
      const plainHandle = !h.returnedBy || (h.returnedBy.tupleIndex === undefined && !h.returnedBy.ownerClass);
      if (h.form === 'declare' && h.declaration && plainHandle) {
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
        } catch (err) {
          recordAnalysisFailure(`the fix for '${h.name}'`, err);
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
    const via = h.continuedBy?.childForFieldName('function');
    const steps: { range: Range; message: string }[] = [];
    if (h.returnedBy && h.returnedBy.via.length > 0) steps.push({ range: nodeRange(h.returnedBy.open), message: returnedByMessage(h.returnedBy) });
    if (h.continuedBy && via) steps.push({ range: nodeRange(h.continuedBy), message: `'${h.name}' is still open in the callback of ${compact(via)}()` });
    if (h.passedFrom) steps.push({ range: nodeRange(h.call), message: `the handle goes on as '${h.name}' here: ${h.passedFrom.display}() returns it` });
    return {
      variable: h.field ? `${h.name}.${h.field}` : h.name,
      api: h.api,
      openRange: nodeRange(h.passedFrom?.open ?? h.call),
      leakRange,
      leakKind: kind,
      leakLine: leakRange.start.line + 1,
      ...(steps.length > 0 ? { steps } : {}),
      fixes: [],
    };
  }
}

/** "`getStreamFor()` → `getFileStream()` returns the handle from fs.createReadStream() opened here". */
function returnedByMessage(fresh: FreshHandle): string {
  const chain = fresh.via.map((v) => `${v}()`).join(' → ');
  const wrapped = fresh.ownerClass ? ` wrapped in a ${fresh.ownerClass}` : '';
  const element = fresh.tupleIndex !== undefined ? ` as element ${fresh.tupleIndex} of its result` : '';
  return `${chain} returns the handle from ${fresh.api}() opened here${wrapped}${element}`;
}

/**
 * Exported functions that only use some of their parameters — the summary a caller in
 * another module needs to see that passing its handle there was not a hand-over.
 */
function usedOnlyParameters(returns: ReturnSummaries, classifier: EffectClassifier): UsedOnlyParameters[] {
  const out: UsedOnlyParameters[] = [];
  for (const { path, fn, name } of returns.exportedFunctions()) {
    const used: number[] = [];
    parametersOf(fn).forEach((p, i) => {
      if (parameterName(p) && classifier.parameterEffect(fn, i) === 'none') used.push(i);
    });
    if (used.length > 0) out.push({ exportPath: path, functionName: name, functionId: factIdOf(fn), parameters: used, range: nodeRange(fn.childForFieldName('name') ?? fn) });
  }
  return out;
}


/** Local names bound by relative imports and requires, read from the text (a cheap pre-check). */
function relativeImportNames(text: string): Set<string> {
  const out = new Set<string>();
  const add = (clause: string) => {
    for (const part of clause.replace(/[{}]/g, ',').split(',')) {
      const m = /(?:^|\s|:)([A-Za-z_$][\w$]*)\s*$/.exec(part.trim().replace(/^\*\s+as\s+/, ''));
      if (m && m[1] !== 'type') out.add(m[1]);
    }
  };
  for (const m of text.matchAll(/\bimport\s+(?:type\s+)?([^'";]*?)\s+from\s*['"]\.\.?\//g)) add(m[1].replace(/\bas\s+/g, ' '));
  // Every such declaration spells `require`: without it the pattern (which reads on from each
  // `const`, `let` or `var`, in prose too, to the next `=` or `;`) cannot match.
  if (text.includes('require')) for (const m of text.matchAll(/\b(?:const|let|var)\s+([^=;]+?)\s*=\s*require\s*\(\s*['"]\.\.?\//g)) add(m[1]);
  return out;
}

/**
 * Can this file leak through another module's helper? Only if it calls an opener through an
 * imported module (`fs = require('../fs'); fs.openSync(…)`), or binds a call of an imported
 * function to a name it releases itself (`const b = await Blob.open(p)` … `b.close()`).
 */
function mayLeakThroughImports(text: string, imported: ReadonlySet<string>, knowledge: TypeScriptKnowledge): boolean {
  const openerNames = knowledge.openerNames;
  if (imported.size === 0) return false;
  const names = [...imported].map(escapeRegExp).join('|');
  // Anchored on the `.` before an opener's name; the object is read just before it.
  for (const m of text.matchAll(new RegExp(`\\.(?:${[...openerNames].join('|')})\\s*\\(`, 'g'))) {
    const object = /([A-Za-z_$][\w$]*)$/.exec(text.slice(Math.max(0, (m.index ?? 0) - 40), m.index));
    if (object && imported.has(object[1])) return true;
  }
  // Names the file releases itself (`x.close()`, `x.destroy()`, `x.end()`, `closeSync(x)`),
  // each scan anchored on a literal so it stays quick; names are read next to the match.
  const released = new Set<string>();
  const releaseMethods = Object.keys(knowledge.handleMethods).filter((m) => knowledge.handleMethods[m] === 'release');
  for (const m of text.matchAll(new RegExp(`\\.\\s*(?:${releaseMethods.map(escapeRegExp).join('|')})\\s*\\(`, 'g'))) {
    const object = /([A-Za-z_$][\w$]*)\s*$/.exec(text.slice(Math.max(0, (m.index ?? 0) - 40), m.index));
    if (object) released.add(object[1]);
  }
  for (const m of text.matchAll(/\bclose(?:Sync)?\s*\(\s*([A-Za-z_$][\w$]*)/g)) released.add(m[1]);
  if (released.size === 0) return false;
  const assigned = new RegExp(`=\\s*(?:await\\s+)?(?:${names})\\b[\\w$.]*\\s*\\(`, 'g');
  for (const m of text.matchAll(assigned)) {
    if (text[(m.index ?? 0) - 1] === '=' || text[(m.index ?? 0) + 1] === '=') continue;
    const before = /([A-Za-z_$][\w$]*)(?:\s*:[^=;\n(){}]*)?\s*$/.exec(text.slice(Math.max(0, (m.index ?? 0) - 80), m.index));
    if (before && released.has(before[1])) return true;
  }
  return false;
}

const EMPTY_SUMMARY: FileHandleSummary = { returnedHandles: [], pendingLeaks: [] };

/** The last result per tree: the rule asks for the leaks, the engine for the summary. */
const LAST = new WeakMap<Tree, { text: string; knowledge: Knowledge; result: TypeScriptHandleResult }>();

/**
 * Both halves of the analysis of one file, computed once per tree. A file that names
 * neither the fs module nor another workspace module has nothing to report or summarise;
 * one that names no opener and releases nothing can only re-export fs or pass another
 * module's helper on.
 */
export function analyzeTypeScriptFile(tree: Tree, text: string, path?: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): TypeScriptHandleResult {
  const hit = LAST.get(tree);
  if (hit && hit.text === text && hit.knowledge === knowledge) return hit.result;
  const k = knowledge.typescript;
  let result: TypeScriptHandleResult = { leaks: [], summary: EMPTY_SUMMARY };
  const namesFs = k.specifierPattern.test(text);
  const opens = k.openerNamePattern.test(text);
  const relative = RELATIVE_IMPORT_PATTERN.test(text);
  try {
    const imported = relative ? relativeImportNames(text) : new Set<string>();
    if ((namesFs && opens) || (relative && mayLeakThroughImports(text, imported, k))) {
      result = new TypeScriptHandleAnalysis(tree, text, path !== undefined && isJavaScriptPath(path), k).run();
    } else if (namesFs || relative) {
      // Nothing to report here, but the file may re-export fs, pass another module's helper
      // on (`return BlobFile.open(p)`) or only use a handle it is given; only what can hold
      // such a summary is read (top-level statements, exported functions).
      const mayReexport = REEXPORT_PATTERN.test(text);
      const passesOn = imported.size > 0 && new RegExp(`\\breturn\\s+(?:await\\s+)?(?:${[...imported].map(escapeRegExp).join('|')})\\b`).test(text);
      if (!namesFs && !opens && !passesOn && !mayReexport) {
        const parametersReturned = passThroughParameters(tree, text);
        if (parametersReturned.length > 0) result = { leaks: [], summary: { ...EMPTY_SUMMARY, parametersReturned } };
        LAST.set(tree, { text, knowledge, result });
        return result;
      }
      const file = new FileIndex(tree, k);
      file.bindings.addModuleLevel(tree.rootNode);
      const returns = new ReturnSummaries(file, tree);
      const reexportsFs = mayReexport ? returns.reexportsFs() : undefined;
      const returnedHandles = opens || passesOn ? returns.exportedReturns() : [];
      const parametersUsedOnly = namesFs ? usedOnlyParameters(returns, file.classifier) : [];
      const parametersReturned = passThroughParameters(tree, text, returns);
      const parametersForwarded = passesOn ? returns.forwardedParameters() : [];
      result = {
        leaks: [],
        summary: {
          returnedHandles,
          pendingLeaks: [],
          ...(reexportsFs ? { reexportsFs } : {}),
          ...(parametersUsedOnly.length > 0 ? { parametersUsedOnly } : {}),
          ...(parametersReturned.length > 0 ? { parametersReturned } : {}),
          ...(parametersForwarded.length > 0 ? { parametersForwarded } : {}),
        },
      };
    } else {
      // A module of plain helpers may hand back what it is given (`return fd`).
      const parametersReturned = passThroughParameters(tree, text);
      if (parametersReturned.length > 0) result = { leaks: [], summary: { ...EMPTY_SUMMARY, parametersReturned } };
    }
  } catch (err) {
    recordAnalysisFailure('the TypeScript/JavaScript handle analysis', err);
  }
  LAST.set(tree, { text, knowledge, result });
  return result;
}

/** Finds TypeScript file handles (fds, FileHandles, fs streams) not released on every path. */
export const analyzeTypeScriptHandles: HandleAnalyzer = (tree, text, path, knowledge = BUILTIN_KNOWLEDGE) => analyzeTypeScriptFile(tree, text, path, knowledge).leaks;

/** What other files need to know about this one's handles (see `analysis/summaries.ts`). */
export function summarizeTypeScriptHandles(tree: Tree, text: string, path?: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): FileHandleSummary {
  return analyzeTypeScriptFile(tree, text, path, knowledge).summary;
}
