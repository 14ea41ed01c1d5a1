/**
 * TypeScript/JavaScript program facts: what one file contributes to the program model
 * (`model/typescript.ts`) — its imports, functions and exports, the calls that may reach
 * other workspace code, and the HEARTBEAT evidence: heartbeat starts (timers that ping,
 * library connections that keep themselves alive), blocking calls (sync child processes,
 * sync file I/O, CPU-bound sync crypto/zlib, `Atomics.wait`, busy waits) with the
 * long-running loop they sit in, the registrations that make a callback run again and again
 * (request handlers, message consumers, intervals), and `worker_threads` Workers.
 *
 * This file is the walk: the nodes of interest come from ONE `descendantsOfType` call (one
 * trip into WASM, in document order); nesting (functions, classes, loops, `isMainThread`
 * branches) is rebuilt from end offsets. It reads calls, loops and registrations itself and
 * hands imports, exports, functions and classes to `module-structure.ts`. Names are resolved
 * against the file's own imports and functions (`file-symbols.ts`) in a pass over the
 * collected records (`raw-records.ts`), not over the tree; `heartbeats-and-blocking.ts`
 * classifies the hazard records. The fact shapes are in `fact-types.ts` (re-exported here);
 * the knowledge lives in `knowledge/typescript-heartbeat.ts`.
 *
 * Every fact carries `enclosingFunction`: the id of the function whose body runs it (`''` for module level).
 * Function ids are qualified names (`start`, `Server.handle`, `start.inner`) or, for
 * anonymous functions, `@line:column` of the function (zero-based).
 */
import type { Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  CLOCK_PATTERN,
  CONSUMER_METHODS,
  HANDLER_PROPERTIES,
  HOT_EVENTS,
  LISTENER_METHODS,
  ROUTE_METHODS,
  SERVER_FACTORIES,
  type BlockingApi,
  type HotContext,
} from '../../knowledge/typescript-heartbeat';
import { BUILTIN_KNOWLEDGE, type Knowledge, type TypeScriptKnowledge } from '../../knowledge/knowledge';
import type { TsCallFact, TsFact, TsFactBase } from './fact-types';
import { FileSymbols } from './file-symbols';
import { HazardResolver } from './heartbeats-and-blocking';
import { ModuleStructure, type Scope } from './module-structure';
import type { RawBlocking, RawCall, RawLibCall, RawRegister, RawWorker } from './raw-records';
import {
  FUNCTION_NODE_TYPES,
  REQUIRE_LOCAL_PREFIX,
  calleeRef,
  fillRange,
  followableObj,
  hasAnonChild,
  isFunctionLike,
  lastType,
  rangeBetween,
  stringValue,
  unbind,
  unwrap,
  withRange,
  type CalleeRef,
} from './syntax';

/** The fact shapes, importable from here as before. */
export type * from './fact-types';

const INTERESTING_ALWAYS: readonly string[] = [
  ...FUNCTION_NODE_TYPES,
  'class_declaration',
  'abstract_class_declaration',
  'class',
  'import_statement',
  'export_statement',
  'call_expression',
  'new_expression',
];

const LOOP_TYPES: readonly string[] = ['while_statement', 'do_statement', 'for_statement', 'for_in_statement'];

type Frame =
  | { kind: 'fn'; until: number; id: string }
  | { kind: 'class'; until: number; name: string }
  | { kind: 'loop'; until: number; range: Range; label: string }
  | { kind: 'thread'; until: number; split: number; before: 'main' | 'worker' };

/** A module that runs itself when started directly: `require.main === module`, `import.meta.main`. */
const MAIN_GUARD = /\brequire\.main\s*===?\s*module\b|\bmodule\s*===?\s*require\.main\b|\bimport\.meta\.main\b/;

/** `const x = a.b[key]` (a declaration whose value is a table lookup). */
const LOOKUP_DECLARATION = /\b(?:const|let|var)\s+([\w$]+)\s*=\s*(?:this\.)?[\w$.]+\[[^\]\n]+\]\s*(?:;|\r?\n)/g;

/** The callee names `registrations` acts on apart from handler-property objects. */
const MAY_REGISTER: ReadonlySet<string> = new Set(['setInterval', 'setTimeout', ...SERVER_FACTORIES, ...LISTENER_METHODS, ...ROUTE_METHODS, ...CONSUMER_METHODS]);

/** Whether `text` names the module `specifier` in quotes (an import or `require` of it). */
function mentionsSpecifier(text: string, specifier: string): boolean {
  return text.includes(`'${specifier}'`) || text.includes(`"${specifier}"`) || text.includes(`\`${specifier}\``);
}

class Extractor implements Scope {
  private readonly facts: TsFact[] = [];
  private readonly frames: Frame[] = [];
  private readonly symbols = new FileSymbols();
  private readonly structure: ModuleStructure;
  private readonly calls: RawCall[] = [];
  private readonly blocking: RawBlocking[] = [];
  private readonly registers: RawRegister[] = [];
  private readonly libCalls: RawLibCall[] = [];
  private readonly workers: RawWorker[] = [];
  private readonly forks: { node: Node; base: TsFactBase; via: string; member: boolean }[] = [];
  private readonly mentionsLibrary: boolean;
  private readonly mentionsHandlerProperty: boolean;
  /** The user's handler methods this file may register with (those of a module it names, or of any). */
  private readonly userHandlers: ReadonlyMap<string, readonly { context: HotContext; module?: string }[]>;

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    private readonly path: string,
    private readonly knowledge: TypeScriptKnowledge,
  ) {
    this.mentionsLibrary = knowledge.heartbeatLibraries.some((l) => text.includes(l.module));
    this.userHandlers = knowledge.handlerMethods;
    this.mentionsHandlerProperty = Object.keys(HANDLER_PROPERTIES).some((k) => text.includes(k));
    this.structure = new ModuleStructure(this, this.symbols, this.facts, text);
  }

  run(): TsFact[] {
    const root = this.tree.rootNode;
    let skipUntil = -1;
    for (const node of root.descendantsOfType(this.nodeTypes())) {
      if (!node) continue;
      const start = node.startIndex;
      if (start < skipUntil) continue;
      const type = node.type;
      while (this.frames.length && this.frames[this.frames.length - 1].until <= start) this.frames.pop();
      if (!this.visit(node, type)) skipUntil = node.endIndex;
    }
    this.resolve();
    this.entry();
    return this.facts;
  }

  /** A `#!` line that starts a JavaScript runtime, else a main-module test: the file runs as a program. */
  private entry(): void {
    const shebang = /^#!.*\b(?:node|nodejs|bun|deno|tsx|ts-node)\b.*/.exec(this.text);
    if (shebang) {
      this.facts.push({ kind: 'ts.entry', range: { start: { line: 0, character: 0 }, end: { line: 0, character: shebang[0].length } }, enclosingFunction: '', how: 'shebang', text: shebang[0] });
      return;
    }
    const guard = MAIN_GUARD.exec(this.text);
    if (!guard) return;
    const before = this.text.slice(0, guard.index);
    const line = before.split('\n').length - 1;
    const character = guard.index - (before.lastIndexOf('\n') + 1);
    this.facts.push({ kind: 'ts.entry', range: { start: { line, character }, end: { line, character: character + guard[0].length } }, enclosingFunction: '', how: 'main-guard', text: guard[0] });
  }

  /**
   * The node types this file needs: loops matter only around blocking calls, assignments
   * only for CommonJS exports, `if` only for `isMainThread` branches (fewer nodes cross from
   * WASM into JavaScript).
   */
  private nodeTypes(): string[] {
    const types = [...INTERESTING_ALWAYS];
    if (this.knowledge.blockingPattern.test(this.text)) types.push(...LOOP_TYPES);
    if (/\bexports\b/.test(this.text)) types.push('assignment_expression');
    if (this.text.includes('isMainThread')) types.push('if_statement');
    return types;
  }

  // --- scope --------------------------------------------------------------------------

  fnId(): string {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === 'fn') return f.id;
    }
    return '';
  }

  className(): string | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === 'class') return f.name;
    }
    return undefined;
  }

  /** The innermost long-running loop of the current function. */
  private loop(): { range: Range; label: string } | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === 'fn') return undefined;
      if (f.kind === 'loop') return { range: f.range, label: f.label };
    }
    return undefined;
  }

  base(node: Node): TsFactBase {
    return this.baseAt(node, nodeRange(node));
  }

  /** A base whose range the caller fills (`undefined` until then, keeping the key first). */
  private baseAt(node: Node, range: Range | undefined): TsFactBase {
    const b: TsFactBase = { range: range as Range, enclosingFunction: this.fnId() };
    const start = node.startIndex;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === 'thread') {
        b.thread = start < f.split ? f.before : f.before === 'main' ? 'worker' : 'main';
        break;
      }
    }
    return b;
  }

  private isAsyncFn(): boolean {
    const id = this.fnId();
    return id !== '' && !!this.symbols.functions.get(id)?.fact.async;
  }

  // --- visiting -----------------------------------------------------------------------

  private visit(node: Node, type: string): boolean {
    if (FUNCTION_NODE_TYPES.has(type)) {
      const id = this.structure.visitFunction(node);
      this.frames.push({ kind: 'fn', until: node.endIndex, id });
      return true;
    }
    switch (type) {
      case 'class_declaration':
      case 'abstract_class_declaration':
      case 'class': {
        const name = this.structure.visitClass(node);
        this.frames.push({ kind: 'class', until: node.endIndex, name });
        return true;
      }
      case 'import_statement':
        this.structure.visitImport(node);
        return false;
      case 'export_statement':
        this.structure.visitExport(node);
        return true;
      case 'call_expression':
        this.visitCall(node);
        return true;
      case 'new_expression':
        this.visitNew(node);
        return true;
      case 'assignment_expression':
        this.structure.visitAssignment(node);
        return true;
      case 'while_statement':
      case 'do_statement':
      case 'for_statement':
      case 'for_in_statement':
        this.visitLoop(node);
        return true;
      case 'if_statement':
        this.visitIf(node);
        return true;
    }
    return true;
  }

  private visitLoop(node: Node): void {
    const type = node.type;
    const cond = node.childForFieldName('condition');
    const body = node.childForFieldName('body');
    // A busy wait: a loop on the clock with nothing in its body.
    if (cond && CLOCK_PATTERN.test(cond.text) && body && (body.type === 'empty_statement' || (body.type === 'statement_block' && body.namedChildren.every((c) => !c || c.type === 'comment')))) {
      const range = type === 'do_statement' ? nodeRange(node) : rangeBetween(node, cond);
      const api: BlockingApi = { module: '', name: 'busy-wait loop', category: 'cpu' };
      this.blocking.push({ node, base: { ...this.base(node), range }, apis: [api], method: false, callee: node, asyncFn: false, loop: this.loop() });
    }
    let label: string | undefined;
    if (type === 'for_in_statement') {
      if (hasAnonChild(node, 'await')) label = 'for await';
    } else if (type === 'for_statement') {
      if (!cond || cond.type === 'empty_statement' || cond.text.trim() === ';') label = 'for (;;)';
    } else if (cond) {
      let c = unwrap(cond);
      if (c.type === 'unary_expression' && c.text.startsWith('!')) c = unwrap(c.namedChild(0) ?? c);
      if (c.type === 'true' || (c.type === 'number' && c.text !== '0') || c.type === 'identifier' || c.type === 'member_expression') {
        label = `${type === 'do_statement' ? 'do … while' : 'while'} ${cond.text.length > 40 ? '(…)' : cond.text}`;
      }
    }
    if (label) {
      const head = type === 'do_statement' ? nodeRange(node) : body ? { start: nodeRange(node).start, end: { line: body.startPosition.row, character: body.startPosition.column } } : nodeRange(node);
      this.frames.push({ kind: 'loop', until: node.endIndex, range: head, label });
    }
  }

  private visitIf(node: Node): void {
    const cond = node.childForFieldName('condition');
    if (!cond) return;
    const m = /^\(\s*(!)?\s*(?:[\w$]+\.)?isMainThread\s*\)$/.exec(cond.text);
    if (!m) return;
    const alt = node.childForFieldName('alternative');
    this.frames.push({ kind: 'thread', until: node.endIndex, split: alt ? alt.startIndex : node.endIndex, before: m[1] ? 'worker' : 'main' });
  }

  private visitCall(node: Node): void {
    const fn = node.childForFieldName('function');
    const args = node.childForFieldName('arguments');
    // The `arguments` field is an `arguments` list, which opens with `(`, or a tagged template.
    if (!fn || !args || this.text.charCodeAt(args.startIndex) !== 40) return;
    const argList: Node[] = [];
    const argTypes: string[] = [];
    for (const c of args.namedChildren) {
      if (!c) continue;
      const t = c.type;
      if (t === 'comment') continue;
      argList.push(c);
      argTypes.push(t);
    }
    const fnType = fn.type;
    const fnText = fnType === 'identifier' ? fn.text : undefined;
    // require('x') / import('x')
    if (fnType === 'import' || fnText === 'require') {
      const spec = stringValue(argList[0], argTypes[0]);
      if (spec !== undefined) this.structure.visitRequire(node, spec, fnType === 'import');
      return;
    }
    const ref: CalleeRef | undefined = fnText !== undefined ? { kind: 'ident', name: fnText } : calleeRef(fn, fnType);
    if (!ref) return;
    // The range is filled on demand: most calls never become facts.
    const base = this.baseAt(node, undefined);
    this.calleeRange = undefined;
    const cls = this.className();
    const name = ref.kind === 'ident' ? ref.name : ref.prop;
    // Blocking calls.
    const blocking = this.knowledge.blockingByName.get(name);
    if (blocking || (ref.kind === 'member' && ref.obj === 'Atomics' && ref.prop === 'wait')) {
      this.blocking.push({
        node,
        base: fillRange(base, node),
        apis: blocking ?? [{ module: 'Atomics', name: 'wait', category: 'atomics', variant: { style: 'member', name: 'waitAsync', suffix: '.value' } }],
        method: ref.kind !== 'ident',
        callee: fn,
        via: ref.kind === 'ident' ? ref.name : ref.kind === 'member' ? ref.obj : undefined,
        asyncFn: this.isAsyncFn(),
        loop: this.loop(),
      });
    }
    // `child_process.fork()`, checked against the file's imports once they are known.
    if (name === 'fork' && ref.kind !== 'this') this.forks.push({ node, base: fillRange(base, node), via: ref.kind === 'ident' ? ref.name : ref.obj, member: ref.kind === 'member' });
    // Library heartbeats.
    if (this.mentionsLibrary) {
      const f = unwrap(fn, fnType);
      const ft = lastType;
      const obj = ft === 'member_expression' ? unwrap(f.childForFieldName('object') ?? f) : undefined;
      const objType = obj ? lastType : undefined;
      if (obj && objType === 'call_expression' && obj.childForFieldName('function')?.text === 'require') {
        const spec = stringValue(obj.childForFieldName('arguments')?.namedChild(0));
        if (spec) this.libCalls.push({ node, base: fillRange(base, node), ref: { kind: 'require', specifier: spec, prop: ref.kind === 'member' ? ref.prop : undefined }, isNew: false });
      } else if (ft === 'call_expression' && f.childForFieldName('function')?.text === 'require') {
        const spec = stringValue(f.childForFieldName('arguments')?.namedChild(0));
        if (spec) this.libCalls.push({ node, base: fillRange(base, node), ref: { kind: 'require', specifier: spec }, isNew: false });
      } else this.libCalls.push({ node, base: withRange(base, this.calleeRangeOf(fn)), ref, isNew: false });
    }
    // Registrations (shown at the callee: `app.get`, `setInterval`).
    this.registrations(node, fn, ref, argList, argTypes, base, cls);
    // A user's thread starter called like a function (`startPool('./job.js')`).
    if (this.knowledge.threadStarters.some((t) => t.how === 'call' && t.name === name)) this.workers.push({ node, base: fillRange(base, node), name, isNew: false });
    // The call graph.
    if (ref.kind !== 'member' || followableObj(ref.obj)) this.calls.push({ node, base, ref, isRef: false, cls, rangeNode: node });
    if (ref.kind === 'member' && (ref.obj.endsWith(']') || this.lookupBound().has(ref.obj))) this.facts.push({ kind: 'ts.call', ...fillRange(base, node), dispatch: ref.prop });
    for (let i = 0; i < argList.length; i++) {
      const u = unbind(argList[i], argTypes[i]);
      const ut = lastType;
      if (ut === 'identifier' || ut === 'member_expression') {
        const r = calleeRef(u, ut);
        if (r && (r.kind !== 'member' || followableObj(r.obj))) this.calls.push({ node: u, base: withRange(base, undefined as unknown as Range), ref: r, isRef: true, cls, rangeNode: u });
      }
    }
  }

  private lookupNames?: Set<string>;

  /** Names declared from a table lookup (`const handler = handlers[kind]`), read once per file. */
  private lookupBound(): Set<string> {
    if (!this.lookupNames) {
      this.lookupNames = new Set();
      for (const m of this.text.matchAll(LOOKUP_DECLARATION)) this.lookupNames.add(m[1]);
    }
    return this.lookupNames;
  }

  /** The range of the current call's callee, computed once per call. */
  private calleeRange: Range | undefined;
  /** The base shared by the current call's registrations (at the callee), made on the first. */
  private registerBase: TsFactBase | undefined;

  private calleeRangeOf(fn: Node): Range {
    return (this.calleeRange ??= nodeRange(fn));
  }

  private registrations(node: Node, fn: Node, ref: CalleeRef, args: Node[], argTypes: string[], callBase: TsFactBase, cls: string | undefined): void {
    const name = ref.kind === 'ident' ? ref.name : ref.prop;
    // Cheap exits first: most calls register nothing.
    const userHandlers = ref.kind !== 'ident' ? this.userHandlers.get(name) : undefined;
    if (!this.mentionsHandlerProperty && !MAY_REGISTER.has(name) && !userHandlers) return;
    const recv = ref.kind === 'member' ? `${ref.obj.length > 20 ? '…' : ref.obj}.` : ref.kind === 'this' ? 'this.' : '';
    this.registerBase = undefined;
    const push = (context: HotContext, api: string, arg: Node, timer?: RawRegister['timer']): void => {
      this.registerBase ??= withRange(callBase, this.calleeRangeOf(fn));
      this.registers.push({ base: this.registerBase, context, api, arg, cls, timer });
    };
    const isFnAt = (i: number): boolean => isFunctionLike(args[i], argTypes[i]);
    const isFn = isFunctionLike;
    // A user's handler method (`bus.subscribe('orders', onOrder)`): its last function argument.
    const declared = userHandlers?.find((h) => h.module === undefined || mentionsSpecifier(this.text, h.module));
    if (declared) {
      const last = args.length - 1;
      if (last >= 0 && isFnAt(last)) push(declared.context, `${recv}${name}()`, args[last]);
      return;
    }
    // `setInterval(f)`, and on any receiver: `timers.setInterval(f)`, an injected clock's `clock.setInterval(f)`.
    if (name === 'setInterval' || (name === 'setTimeout' && (ref.kind === 'ident' || ['timers', 'global', 'globalThis', 'window'].includes(ref.kind === 'member' ? ref.obj : '')))) {
      if (args[0]) push('interval', `${name}()`, args[0], { api: `${name}()`, holder: this.holderName(node) });
      return;
    }
    if (SERVER_FACTORIES.has(name)) {
      for (let i = 0; i < args.length; i++) if (isFnAt(i)) push('request', `${recv}${name}()`, args[i]);
      return;
    }
    if (ref.kind !== 'ident' && LISTENER_METHODS.has(name)) {
      const ev = stringValue(args[0], argTypes[0]);
      const ctx = ev !== undefined ? HOT_EVENTS[ev] : undefined;
      if (ctx && args[1] && isFnAt(1)) push(ctx, `${recv}${name}('${ev}')`, args[1]);
      return;
    }
    if (ref.kind !== 'ident' && ROUTE_METHODS.has(name)) {
      let firstType: string | undefined;
      if (args[0]) {
        unwrap(args[0], argTypes[0]);
        firstType = lastType;
      }
      const pathLike = firstType === 'string' || firstType === 'template_string' || firstType === 'regex' || firstType === 'array';
      if (!pathLike && name !== 'use') return;
      for (let i = pathLike ? 1 : 0; i < args.length; i++) if (isFnAt(i)) push('request', `${recv}${name}()`, args[i]);
      return;
    }
    if (ref.kind !== 'ident' && CONSUMER_METHODS.has(name) && !(ref.kind === 'member' && ref.obj === 'process')) {
      const last = args[args.length - 1];
      if (last && args.length >= (name === 'consume' ? 2 : 1) && isFnAt(args.length - 1)) push('message', `${recv}${name}()`, last);
    }
    if (!this.mentionsHandlerProperty) return;
    for (let i = 0; i < args.length; i++) {
      const o = unwrap(args[i], argTypes[i]);
      if (lastType !== 'object') continue;
      for (const p of o.namedChildren) {
        if (!p) continue;
        const pt = p.type;
        const key = pt === 'pair' ? p.childForFieldName('key')?.text : pt === 'method_definition' ? p.childForFieldName('name')?.text : undefined;
        const ctx = key ? HANDLER_PROPERTIES[key] : undefined;
        if (!ctx || !key) continue;
        const val = pt === 'pair' ? p.childForFieldName('value') : p;
        if (val && (pt === 'method_definition' || isFn(val))) push(ctx, `${recv}${name}({ ${key} })`, val);
      }
    }
  }

  /** The variable or property a timer handle is stored in (`this.heartbeatTimer = setInterval(…)`). */
  private holderName(call: Node): string | undefined {
    let p = call.parent;
    while (p && (p.type === 'parenthesized_expression' || p.type === 'as_expression' || p.type === 'non_null_expression')) p = p.parent;
    if (p?.type === 'variable_declarator') return p.childForFieldName('name')?.text;
    if (p?.type === 'assignment_expression') return p.childForFieldName('left')?.text;
    if (p?.type === 'public_field_definition') return p.childForFieldName('name')?.text;
    return undefined;
  }

  private visitNew(node: Node): void {
    const ctor = node.childForFieldName('constructor');
    const args = node.childForFieldName('arguments');
    if (!ctor) return;
    const ref = calleeRef(ctor);
    if (!ref) return;
    const base = this.base(node);
    if (this.mentionsLibrary) this.libCalls.push({ node, base: { ...base, range: rangeBetween(node, ctor) }, ref, isNew: true });
    const name = ref.kind === 'ident' ? ref.name : ref.prop;
    if ((name === 'Worker' || this.knowledge.threadStarters.some((t) => t.how === 'new' && t.name === name)) && args) this.workers.push({ node, base, name, isNew: true });
    // `new X()` runs X's constructor (a workspace class, local or imported).
    if (ref.kind !== 'this' && (ref.kind === 'ident' || /^[\w$]+$/.test(ref.obj))) this.calls.push({ node, base: { ...base, range: rangeBetween(node, ctor) }, ref, isRef: false, isNew: true, cls: this.className() });
  }

  // --- after the walk -----------------------------------------------------------------

  /**
   * `monitor.start()` where nothing says what `monitor` holds, but the file knows a class
   * named after it (`Monitor`: declared here or imported): the variable is taken to hold an
   * instance of that class (objects an ORM or a registry hands back), and the call runs its method.
   */
  private namedInstanceCall(ref: CalleeRef): { target?: string; callee?: string } | undefined {
    if (ref.kind !== 'member' || !/^[a-z][\w$]*$/.test(ref.obj)) return undefined;
    const cls = ref.obj[0].toUpperCase() + ref.obj.slice(1);
    if (!this.symbols.classes.has(cls) && !this.symbols.bindings.has(cls)) return undefined;
    return this.symbols.resolveRef({ kind: 'member', obj: cls, prop: ref.prop }, '', undefined);
  }

  private resolve(): void {
    for (const c of this.calls) {
      if (c.isNew) {
        const r = this.symbols.resolveNew(c.ref);
        if (r) this.facts.push({ kind: 'ts.call', ...c.base, ...r });
        continue;
      }
      const r = this.symbols.resolveRef(c.ref, c.base.enclosingFunction, c.cls) ?? (c.isRef ? undefined : this.namedInstanceCall(c.ref));
      if (!r) continue;
      if (c.base.range === undefined && c.rangeNode) c.base.range = nodeRange(c.rangeNode);
      const f: TsCallFact = { kind: 'ts.call', ...c.base, ...r };
      if (c.isRef) f.passedAsArgument = true;
      this.facts.push(f);
    }
    const hazards = new HazardResolver(this.symbols, this.facts, this.tree, this.text, this.path, this.knowledge);
    for (const r of this.registers) hazards.resolveRegister(r);
    for (const b of this.blocking) hazards.resolveBlocking(b);
    for (const l of this.libCalls) hazards.resolveLibrary(l);
    for (const w of this.workers) hazards.resolveWorker(w);
    for (const f of this.forks) {
      const bound = this.symbols.builtinBinding(f.via);
      if (bound?.module !== 'child_process' || bound.name !== (f.member ? '*' : 'fork')) continue;
      this.facts.push({ kind: 'ts.fork', ...f.base, api: f.via.startsWith(REQUIRE_LOCAL_PREFIX) ? 'child_process.fork()' : bound.name === '*' ? `${f.via}.fork()` : 'fork()' });
    }
  }
}

/** Extracts the program facts of one TypeScript/JavaScript file (`knowledge`: the built-in tables merged with the user's models). */
export function extractTypeScriptFacts(tree: Tree, text: string, path: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): TsFact[] {
  return new Extractor(tree, text, path, knowledge.typescript).run();
}
