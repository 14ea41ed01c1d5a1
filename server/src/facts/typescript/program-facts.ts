/**
 * TypeScript/JavaScript program facts: what one file contributes to the program model
 * (`model/typescript.ts`) — its imports (ES `import`/`export … from`, `require`, literal
 * dynamic `import()`, `import x = require()`), its functions and exports, the calls that may
 * reach other workspace code, and the HEARTBEAT evidence: heartbeat starts (timers that
 * ping, library connections that keep themselves alive), blocking calls (sync child
 * processes, sync file I/O, CPU-bound sync crypto/zlib, `Atomics.wait`, busy waits) with the
 * long-running loop they sit in, the registrations that make a callback run again and again
 * (request handlers, message consumers, intervals), and `worker_threads` Workers.
 *
 * The nodes of interest come from ONE `descendantsOfType` call (one trip into WASM, in
 * document order); nesting (functions, classes, loops, `isMainThread` branches) is rebuilt
 * from end offsets. Names are resolved against the file's own imports and functions in a
 * pass over the collected records, not over the tree. The knowledge lives in
 * `knowledge/typescript-heartbeat.ts`.
 *
 * Every fact carries `enclosingFunction`: the id of the function whose body runs it (`''` for module level).
 * Function ids are qualified names (`start`, `Server.handle`, `start.inner`) or, for
 * anonymous functions, `@line:column` of the function (zero-based).
 */
import type { Position, Range } from '../../text/locations';
import type { TextEdit } from '../../text/edits';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  BLOCKING_BY_NAME,
  BLOCKING_PATTERN,
  CLOCK_PATTERN,
  CONSUMER_METHODS,
  HANDLER_PROPERTIES,
  HEARTBEAT_BODY_PATTERN,
  HEARTBEAT_LIBRARIES,
  HEARTBEAT_NAME_PATTERN,
  HOT_EVENTS,
  LISTENER_METHODS,
  ROUTE_METHODS,
  SERVER_FACTORIES,
  builtinModule,
  type BlockingApi,
  type BlockingCategory,
  type HeartbeatLibrary,
  type HotContext,
} from '../../knowledge/typescript-heartbeat';
import { WordPositions } from '../../text/positions';
import { FileImports } from './import-fix';

// ---------------------------------------------------------------------------------------
// Fact shapes (plain JSON)
// ---------------------------------------------------------------------------------------

interface TsFactBase {
  range: Range;
  /** Id of the function whose body runs this (`''`: module level). */
  enclosingFunction: string;
  /** Inside an `isMainThread` branch: runs only on the main thread, or only in a Worker. */
  thread?: 'main' | 'worker';
}

/** A local name bound by an import: `name` is the exported name, `*` the namespace, `default`. */
export interface TsBinding {
  local: string;
  name: string;
}

export interface TsImportFact extends TsFactBase {
  kind: 'ts.import';
  specifier: string;
  bindings: TsBinding[];
  /** `export { a as b } from 'x'` → [{name: a, as: b}]. */
  reexports?: { name: string; as: string }[];
  /** `export * from 'x'`. */
  star?: boolean;
}

export interface TsFunctionFact extends TsFactBase {
  kind: 'ts.function';
  id: string;
  /** Simple name (declarations, `const f = () => …`, methods), when it has one. */
  name?: string;
  /** Id of the lexically enclosing function (`''`: module level). */
  parent: string;
  className?: string;
  async?: boolean;
  /** Names it is exported under (`default` for the default export / `module.exports = f`). */
  exports?: string[];
  /** A method of an exported class (part of the module's API). */
  exportedClassMethod?: boolean;
}

/** `export { local as name }`, `export default local`, `module.exports = { name: local }`. */
export interface TsExportFact extends TsFactBase {
  kind: 'ts.export';
  name: string;
  local: string;
}

/**
 * A call (or a function passed as an argument) that may run workspace code: `target` is a
 * function of this file, `callee` an imported name (`f`, `ns.f`) the model resolves.
 */
export interface TsCallFact extends TsFactBase {
  kind: 'ts.call';
  target?: string;
  callee?: string;
  /** The function is passed as an argument rather than called here. */
  passedAsArgument?: boolean;
  /** `new X()`: `callee` names a class, whose constructor runs. */
  constructorCall?: boolean;
}

/** A callback registered to run per request, per message, or on an interval. */
export interface TsRegisterFact extends TsFactBase {
  kind: 'ts.register';
  context: HotContext;
  /** How it was registered, for messages: `app.get()`, `http.createServer()`, `on('message')`. */
  api: string;
  target?: string;
  callee?: string;
}

export interface TsHeartbeatFact extends TsFactBase {
  kind: 'ts.heartbeat';
  /** `setInterval()`, `amqplib.connect()`, … */
  api: string;
  /** What keeps the connection alive, for messages. */
  note: string;
  /** The timer callback (a blocking call there does not starve this heartbeat). */
  callback?: string;
}

export interface TsBlockingFact extends TsFactBase {
  kind: 'ts.blocking';
  /** `execSync()`, `fs.readFileSync()`, `Atomics.wait()`, `busy-wait loop`. */
  api: string;
  category: BlockingCategory | 'busy-wait';
  /** The long-running loop of its function it sits in (`while (true)`, `for await`). */
  loop?: { range: Range; label: string };
  /** The non-blocking variant, when the call is in an async function and one exists. */
  fix?: { title: string; edits: TextEdit[] };
}

/** `new Worker(…)` of `worker_threads` with a script the model can find. */
export interface TsWorkerFact extends TsFactBase {
  kind: 'ts.worker';
  specifier?: string;
  /** `file`: relative to this file (`new URL(…, import.meta.url)`, `__dirname`); `cwd`: a plain string. */
  base?: 'file' | 'cwd';
  /** `new Worker(__filename)`: this file again, in a Worker. */
  self?: boolean;
}

export type TsFact =
  | TsImportFact
  | TsFunctionFact
  | TsExportFact
  | TsCallFact
  | TsRegisterFact
  | TsHeartbeatFact
  | TsBlockingFact
  | TsWorkerFact;

// ---------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------

const FUNCTION_NODE_TYPES: ReadonlySet<string> = new Set([
  'function_declaration',
  'generator_function_declaration',
  'function_expression',
  'generator_function',
  'arrow_function',
  'method_definition',
]);

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

/** How a call names what it calls. */
type CalleeRef = { kind: 'ident'; name: string } | { kind: 'member'; obj: string; prop: string } | { kind: 'this'; prop: string };

interface RawCall {
  node: Node;
  /** `base.range` is filled from this node when the call resolves. */
  base: TsFactBase;
  rangeNode?: Node;
  ref: CalleeRef;
  isRef: boolean;
  isNew?: boolean;
  /** The class of the method the call sits in (for `this.m()`). */
  cls?: string;
}

interface RawBlocking {
  node: Node;
  base: TsFactBase;
  api: BlockingApi;
  callee: Node;
  /** The identifier/namespace the call goes through (to rule out workspace wrappers). */
  via?: string;
  asyncFn: boolean;
  loop?: { range: Range; label: string };
}

interface RawRegister {
  base: TsFactBase;
  context: HotContext;
  api: string;
  arg: Node;
  cls?: string;
  /** A `setInterval`/`setTimeout` timer: may turn out to be a heartbeat. */
  timer?: { api: string; holder?: string };
}

interface RawLibCall {
  node: Node;
  base: TsFactBase;
  ref: CalleeRef | { kind: 'require'; specifier: string; prop?: string };
  isNew: boolean;
}

function stringValue(node: Node | null | undefined, type?: string): string | undefined {
  if (!node) return undefined;
  const nt = type ?? node.type;
  if (nt === 'string') {
    const t = node.text;
    return t.length >= 2 ? t.slice(1, -1) : undefined;
  }
  if (nt === 'template_string' && node.namedChildCount === 0) return node.text.slice(1, -1);
  return undefined;
}

/** The type of the node the last `unwrap`/`unbind` returned (saves asking WASM again). */
let lastType = '';

function unwrap(node: Node, type?: string): Node {
  let n = node;
  let t = type ?? n.type;
  for (;;) {
    if (t === 'parenthesized_expression' || t === 'non_null_expression' || t === 'as_expression' || t === 'satisfies_expression' || t === 'await_expression') {
      const inner = n.namedChild(0);
      if (!inner) break;
      n = inner;
      t = n.type;
    } else break;
  }
  lastType = t;
  return n;
}

/** Is one of the first `limit` children the keyword `type`? (Keywords lead: `async`, `await`, `default`.) */
function hasAnonChild(node: Node, type: string, limit = 4): boolean {
  const n = Math.min(node.childCount, limit);
  for (let i = 0; i < n; i++) {
    const c = node.child(i);
    if (c && !c.isNamed && c.type === type) return true;
  }
  return false;
}

function anonId(node: Node): string {
  return `@${node.startPosition.row}:${node.startPosition.column}`;
}

function rangeBetween(start: Node, end: Node): Range {
  return {
    start: { line: start.startPosition.row, character: start.startPosition.column },
    end: { line: end.endPosition.row, character: end.endPosition.column },
  };
}

function calleeRef(fn: Node, type?: string): CalleeRef | undefined {
  const n = unwrap(fn, type);
  const t = lastType;
  if (t === 'identifier') return { kind: 'ident', name: n.text };
  if (t === 'member_expression') {
    const obj = n.childForFieldName('object');
    const prop = n.childForFieldName('property');
    if (!obj || !prop || prop.type !== 'property_identifier') return undefined;
    const o = unwrap(obj);
    if (lastType === 'this') return { kind: 'this', prop: prop.text };
    if (lastType === 'call_expression') {
      const local = requireLocal(o);
      if (local) return { kind: 'member', obj: local, prop: prop.text };
    }
    return { kind: 'member', obj: o.text, prop: prop.text };
  }
  if (t === 'call_expression') {
    const local = requireLocal(n);
    if (local) return { kind: 'ident', name: local };
  }
  return undefined;
}

/**
 * The name an unbound `require('x')` call is known by (`require('./a').f()`,
 * `require('./a')()`): `require@line:column` of the call, which no identifier can spell; the
 * import fact binds it like `const a = require('./a')` would bind `a`.
 */
function requireLocal(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  if (f?.type !== 'identifier' || f.text !== 'require') return undefined;
  const arg = call.childForFieldName('arguments')?.namedChild(0);
  if (arg?.type !== 'string') return undefined;
  return `${REQUIRE_LOCAL_PREFIX}${call.startPosition.row}:${call.startPosition.column}`;
}

const REQUIRE_LOCAL_PREFIX = 'require@';

/** A callee object the call graph may follow: a plain name, or an unbound `require()`. */
function followableObj(obj: string): boolean {
  return /^[\w$]+$/.test(obj) || obj.startsWith(REQUIRE_LOCAL_PREFIX);
}

/** `x.bind(this)` → `x` (sets `lastType`). */
function unbind(node: Node, type?: string): Node {
  const n = unwrap(node, type);
  const t = lastType;
  if (t !== 'call_expression') return n;
  const f = n.childForFieldName('function');
  if (f?.type === 'member_expression' && f.childForFieldName('property')?.text === 'bind') return unwrap(f.childForFieldName('object') ?? n);
  lastType = t;
  return n;
}

/** `fillRange(base, node)`: the base with its range set from the node when still unset. */
function fillRange(base: TsFactBase, node: Node): TsFactBase {
  if (base.range === undefined) base.range = nodeRange(node);
  return base;
}

/** A function, or a name/member that may denote one (through `.bind`). */
function isFunctionLike(a: Node, type?: string): boolean {
  unbind(a, type);
  const t = lastType;
  return FUNCTION_NODE_TYPES.has(t) || t === 'identifier' || t === 'member_expression';
}

/** The callee names `registrations` acts on apart from handler-property objects. */
const MAY_REGISTER: ReadonlySet<string> = new Set(['setInterval', 'setTimeout', ...SERVER_FACTORIES, ...LISTENER_METHODS, ...ROUTE_METHODS, ...CONSUMER_METHODS]);

/** The same base at another range (key order as `{ ...base, range }`). */
function withRange(base: TsFactBase, range: Range): TsFactBase {
  const b: TsFactBase = { range, enclosingFunction: base.enclosingFunction };
  if ('thread' in base) b.thread = base.thread;
  return b;
}

const EXPORTS_TARGET = /^(?:module\.)?exports(?:\.([A-Za-z_$][\w$]*))?$/;

/** Parents under which `await x` needs no parentheses. */
const SAFE_PARENTS: ReadonlySet<string> = new Set([
  'expression_statement',
  'variable_declarator',
  'arguments',
  'return_statement',
  'parenthesized_expression',
  'pair',
  'array',
  'template_substitution',
  'assignment_expression',
]);

class Extractor {
  private readonly facts: TsFact[] = [];
  private readonly frames: Frame[] = [];
  private readonly functions = new Map<string, { fact: TsFunctionFact; node: Node }>();
  private readonly byName = new Map<string, TsFunctionFact[]>();
  private readonly byStart = new Map<number, string>();
  private readonly classes = new Set<string>();
  private readonly exportedClasses = new Set<string>();
  /** Local name → (module specifier, exported name) for every import of the file. */
  private readonly bindings = new Map<string, { specifier: string; name: string }>();
  private readonly calls: RawCall[] = [];
  private readonly blocking: RawBlocking[] = [];
  private readonly registers: RawRegister[] = [];
  private readonly libCalls: RawLibCall[] = [];
  private readonly workers: { node: Node; base: TsFactBase }[] = [];
  /** The file's imports, read for the first fix that adds one. */
  private imports?: FileImports;
  private lastImportLine = -1;
  private sawEsm = false;
  private sawRequire = false;
  private readonly mentionsLibrary: boolean;
  private readonly mentionsHandlerProperty: boolean;
  /** The file mentions `export` (an `export_statement` may hold a declaration). */
  private readonly mayExport: boolean;

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    private readonly path: string,
  ) {
    this.mentionsLibrary = HEARTBEAT_LIBRARIES.some((l) => text.includes(l.module));
    this.mentionsHandlerProperty = Object.keys(HANDLER_PROPERTIES).some((k) => text.includes(k));
    this.mayExport = text.includes('export');
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
    return this.facts;
  }

  /**
   * The node types this file needs: loops matter only around blocking calls, assignments
   * only for CommonJS exports, `if` only for `isMainThread` branches (fewer nodes cross from
   * WASM into JavaScript).
   */
  private nodeTypes(): string[] {
    const types = [...INTERESTING_ALWAYS];
    if (BLOCKING_PATTERN.test(this.text)) types.push(...LOOP_TYPES);
    if (/\bexports\b/.test(this.text)) types.push('assignment_expression');
    if (this.text.includes('isMainThread')) types.push('if_statement');
    return types;
  }

  // --- scope --------------------------------------------------------------------------

  private fnId(): string {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i];
      if (f.kind === 'fn') return f.id;
    }
    return '';
  }

  private className(): string | undefined {
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

  private base(node: Node): TsFactBase {
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
    return id !== '' && !!this.functions.get(id)?.fact.async;
  }

  // --- visiting -----------------------------------------------------------------------

  private visit(node: Node, type: string): boolean {
    if (FUNCTION_NODE_TYPES.has(type)) {
      this.visitFunction(node);
      return true;
    }
    switch (type) {
      case 'class_declaration':
      case 'abstract_class_declaration':
      case 'class': {
        const name = node.childForFieldName('name')?.text ?? anonId(node);
        this.classes.add(name);
        if (node.parent?.type === 'export_statement') {
          this.exportedClasses.add(name);
          this.facts.push({ kind: 'ts.export', ...this.base(node), range: nodeRange(node.childForFieldName('name') ?? node), name: hasAnonChild(node.parent, 'default') ? 'default' : name, local: name });
        }
        this.frames.push({ kind: 'class', until: node.endIndex, name });
        return true;
      }
      case 'import_statement':
        this.visitImport(node);
        return false;
      case 'export_statement':
        this.visitExport(node);
        return true;
      case 'call_expression':
        this.visitCall(node);
        return true;
      case 'new_expression':
        this.visitNew(node);
        return true;
      case 'assignment_expression':
        this.visitAssignment(node);
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

  private qualify(name: string): string {
    const parent = this.fnId();
    return parent ? `${parent}.${name}` : name;
  }

  private visitFunction(node: Node): void {
    const parentId = this.fnId();
    let name: string | undefined;
    let id: string | undefined;
    let cls: string | undefined;
    const exports: string[] = [];
    let api = false;
    const parent = node.parent;
    const parentType = parent ? parent.type : undefined;
    const type = node.type;
    if (type === 'function_declaration' || type === 'generator_function_declaration') {
      name = node.childForFieldName('name')?.text;
      if (name) id = this.qualify(name);
      if (parent && parentType === 'export_statement' && name) exports.push(hasAnonChild(parent, 'default') ? 'default' : name);
    } else if (type === 'method_definition') {
      name = node.childForFieldName('name')?.text;
      const c = parentType === 'class_body' ? this.className() : undefined;
      if (c && name) {
        cls = c;
        id = `${c}.${name}`;
        api = this.exportedClasses.has(c);
      } else if (parent && name && parentType === 'object') this.objectExport(parent, name, exports);
    } else if (parent) {
      // Function and arrow expressions take the name of what holds them.
      if (parentType === 'variable_declarator') {
        const n = parent.childForFieldName('name');
        if (n?.type === 'identifier') {
          name = n.text;
          id = this.qualify(name);
          if (this.mayExport && parent.parent?.parent?.type === 'export_statement') exports.push(name);
        }
      } else if (parentType === 'public_field_definition') {
        const c = this.className();
        const n = parent.childForFieldName('name')?.text;
        if (c && n) {
          name = n;
          cls = c;
          id = `${c}.${n}`;
          api = this.exportedClasses.has(c);
        }
      } else if (parentType === 'assignment_expression') {
        const m = EXPORTS_TARGET.exec(parent.childForFieldName('left')?.text ?? '');
        if (m) {
          if (m[1]) {
            name = m[1];
            id = m[1];
          }
          exports.push(m[1] ?? 'default');
        }
      } else if (parentType === 'pair') {
        const key = parent.childForFieldName('key')?.text;
        if (key && parent.parent?.type === 'object') this.objectExport(parent.parent, key, exports);
      }
    }
    if (parent && !exports.length && parentType === 'export_statement' && hasAnonChild(parent, 'default')) exports.push('default');
    if (!id || this.functions.has(id)) id = id ? `${id}${anonId(node)}` : anonId(node);
    const fact: TsFunctionFact = { kind: 'ts.function', ...this.base(node), id, parent: parentId };
    if (name) fact.name = name;
    if (cls) fact.className = cls;
    const end = node.endIndex;
    // `async` is a keyword child: only look when the word occurs in the function's text.
    if (this.occursIn('async', node.startIndex, end) && hasAnonChild(node, 'async')) fact.async = true;
    if (exports.length) fact.exports = exports;
    if (api) fact.exportedClassMethod = true;
    // The fact's range is the function's head (up to its body), not the whole body.
    const body = node.childForFieldName('body');
    if (body) fact.range = { start: fact.range.start, end: { line: body.startPosition.row, character: body.startPosition.column } };
    this.facts.push(fact);
    this.functions.set(id, { fact, node });
    this.byStart.set(node.startIndex, id);
    if (name) {
      const list = this.byName.get(name) ?? [];
      list.push(fact);
      this.byName.set(name, list);
    }
    this.frames.push({ kind: 'fn', until: end, id });
  }

  /** Where words occur in the file, for text pre-checks of node ranges. */
  private words?: WordPositions;

  private occursIn(word: string, start: number, end: number): boolean {
    this.words ??= new WordPositions(this.text);
    return this.words.occursIn(word, start, end);
  }

  /** A method or property of the object assigned to `module.exports` is exported under its key. */
  private objectExport(obj: Node, key: string, exports: string[]): void {
    const a = obj.parent;
    if (a?.type === 'assignment_expression' && /^(?:module\.)?exports$/.test(a.childForFieldName('left')?.text ?? '')) exports.push(key);
  }

  private noteImportLine(node: Node): void {
    if (node.parent?.type === 'program' || node.parent?.parent?.type === 'program') this.lastImportLine = Math.max(this.lastImportLine, node.endPosition.row);
  }

  private visitImport(node: Node): void {
    this.sawEsm = true;
    this.noteImportLine(node);
    const bindings: TsBinding[] = [];
    let specifier: string | undefined;
    for (const c of node.children) {
      if (!c) continue;
      if (c.type === 'type' && !c.isNamed) return; // `import type …` loads nothing at run time
      if (c.type === 'import_require_clause') {
        const id = c.namedChild(0);
        specifier = stringValue(c.childForFieldName('source'));
        if (id?.type === 'identifier') bindings.push({ local: id.text, name: '*' });
      } else if (c.type === 'import_clause') {
        for (const k of c.namedChildren) {
          if (!k) continue;
          if (k.type === 'identifier') bindings.push({ local: k.text, name: 'default' });
          else if (k.type === 'namespace_import') {
            const id = k.namedChild(0);
            if (id) bindings.push({ local: id.text, name: '*' });
          } else if (k.type === 'named_imports') {
            const specs = k.namedChildren;
            let kEnd = -1;
            for (let i = 0; i < specs.length; i++) {
              const s = specs[i];
              if (s?.type !== 'import_specifier') continue;
              // `import { type T }`: look for the keyword only when the word is there.
              const next = i + 1 < specs.length ? specs[i + 1] : null;
              const bound = next ? next.startIndex : kEnd < 0 ? (kEnd = k.endIndex) : kEnd;
              if (this.occursIn('type', s.startIndex, bound) && hasAnonChild(s, 'type')) continue;
              const n = s.childForFieldName('name');
              const a = s.childForFieldName('alias') ?? n;
              if (n && a) bindings.push({ local: a.text, name: n.text });
            }
          }
        }
      }
    }
    specifier ??= stringValue(node.childForFieldName('source'));
    if (specifier === undefined) return;
    this.addImport(node, specifier, bindings);
  }

  private addImport(node: Node, specifier: string, bindings: TsBinding[], extra: Partial<TsImportFact> = {}): void {
    for (const b of bindings) this.bindings.set(b.local, { specifier, name: b.name });
    this.facts.push({ kind: 'ts.import', ...this.base(node), specifier, bindings, ...extra });
  }

  private visitExport(node: Node): void {
    if (hasAnonChild(node, 'type')) return;
    const source = stringValue(node.childForFieldName('source'));
    const clause = node.namedChildren.find((c) => c?.type === 'export_clause') ?? null;
    if (source !== undefined) {
      this.sawEsm = true;
      this.noteImportLine(node);
      if (!clause) {
        const ns = node.namedChildren.find((c) => c?.type === 'namespace_export');
        this.addImport(node, source, [], ns ? {} : { star: true });
        return;
      }
      const reexports: { name: string; as: string }[] = [];
      for (const s of clause.namedChildren) {
        if (s?.type !== 'export_specifier') continue;
        const n = s.childForFieldName('name');
        const a = s.childForFieldName('alias') ?? n;
        if (n && a) reexports.push({ name: n.text, as: a.text });
      }
      this.addImport(node, source, [], { reexports });
      return;
    }
    if (clause) {
      this.sawEsm = true;
      for (const s of clause.namedChildren) {
        if (s?.type !== 'export_specifier') continue;
        const n = s.childForFieldName('name');
        const a = s.childForFieldName('alias') ?? n;
        if (n && a) this.facts.push({ kind: 'ts.export', ...this.base(s), name: a.text, local: n.text });
      }
      return;
    }
    const value = node.childForFieldName('value');
    if (value?.type === 'identifier' && hasAnonChild(node, 'default')) this.facts.push({ kind: 'ts.export', ...this.base(value), name: 'default', local: value.text });
  }

  private visitAssignment(node: Node): void {
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    if (!left || !right) return;
    const m = EXPORTS_TARGET.exec(left.text);
    if (!m) return;
    const r = unwrap(right);
    if (r.type === 'identifier') {
      this.facts.push({ kind: 'ts.export', ...this.base(node), name: m[1] ?? 'default', local: r.text });
    } else if (r.type === 'object' && !m[1]) {
      for (const p of r.namedChildren) {
        if (!p) continue;
        if (p.type === 'shorthand_property_identifier') this.facts.push({ kind: 'ts.export', ...this.base(p), name: p.text, local: p.text });
        else if (p.type === 'pair') {
          const key = p.childForFieldName('key');
          const val = p.childForFieldName('value');
          if (key && val?.type === 'identifier') this.facts.push({ kind: 'ts.export', ...this.base(p), name: key.text, local: val.text });
        }
      }
    }
  }

  private visitLoop(node: Node): void {
    const type = node.type;
    const cond = node.childForFieldName('condition');
    const body = node.childForFieldName('body');
    // A busy wait: a loop on the clock with nothing in its body.
    if (cond && CLOCK_PATTERN.test(cond.text) && body && (body.type === 'empty_statement' || (body.type === 'statement_block' && body.namedChildren.every((c) => !c || c.type === 'comment')))) {
      const range = type === 'do_statement' ? nodeRange(node) : rangeBetween(node, cond);
      const api: BlockingApi = { module: '', name: 'busy-wait loop', category: 'cpu' };
      this.blocking.push({ node, base: { ...this.base(node), range }, api, callee: node, asyncFn: false, loop: this.loop() });
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
      if (spec !== undefined) this.visitRequire(node, spec, fnType === 'import');
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
    const blocking = BLOCKING_BY_NAME.get(name);
    if (blocking || (ref.kind === 'member' && ref.obj === 'Atomics' && ref.prop === 'wait')) {
      this.blocking.push({
        node,
        base: fillRange(base, node),
        api: blocking ?? { module: 'Atomics', name: 'wait', category: 'atomics', variant: { style: 'member', name: 'waitAsync', suffix: '.value' } },
        callee: fn,
        via: ref.kind === 'ident' ? ref.name : ref.kind === 'member' ? ref.obj : undefined,
        asyncFn: this.isAsyncFn(),
        loop: this.loop(),
      });
    }
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
    // The call graph.
    if (ref.kind !== 'member' || followableObj(ref.obj)) this.calls.push({ node, base, ref, isRef: false, cls, rangeNode: node });
    for (let i = 0; i < argList.length; i++) {
      const u = unbind(argList[i], argTypes[i]);
      const ut = lastType;
      if (ut === 'identifier' || ut === 'member_expression') {
        const r = calleeRef(u, ut);
        if (r && (r.kind !== 'member' || followableObj(r.obj))) this.calls.push({ node: u, base: withRange(base, undefined as unknown as Range), ref: r, isRef: true, cls, rangeNode: u });
      }
    }
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
    if (!this.mentionsHandlerProperty && !MAY_REGISTER.has(name)) return;
    const recv = ref.kind === 'member' ? `${ref.obj.length > 20 ? '…' : ref.obj}.` : ref.kind === 'this' ? 'this.' : '';
    this.registerBase = undefined;
    const push = (context: HotContext, api: string, arg: Node, timer?: RawRegister['timer']): void => {
      this.registerBase ??= withRange(callBase, this.calleeRangeOf(fn));
      this.registers.push({ base: this.registerBase, context, api, arg, cls, timer });
    };
    const isFnAt = (i: number): boolean => isFunctionLike(args[i], argTypes[i]);
    const isFn = isFunctionLike;
    if ((name === 'setInterval' || name === 'setTimeout') && (ref.kind === 'ident' || ['timers', 'global', 'globalThis', 'window'].includes(ref.kind === 'member' ? ref.obj : ''))) {
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

  private visitRequire(node: Node, specifier: string, dynamic: boolean): void {
    if (!dynamic) this.sawRequire = true;
    let p = node.parent;
    while (p && (p.type === 'await_expression' || p.type === 'parenthesized_expression' || p.type === 'as_expression')) p = p.parent;
    const bindings: TsBinding[] = [];
    let stmt: Node | null = null;
    let extra: Partial<TsImportFact> = {};
    if (p?.type === 'variable_declarator') {
      const n = p.childForFieldName('name');
      if (n?.type === 'identifier') bindings.push({ local: n.text, name: '*' });
      else if (n?.type === 'object_pattern') {
        for (const c of n.namedChildren) {
          if (c?.type === 'shorthand_property_identifier_pattern') bindings.push({ local: c.text, name: c.text });
          else if (c?.type === 'pair_pattern') {
            const k = c.childForFieldName('key');
            const v = c.childForFieldName('value');
            if (k && v?.type === 'identifier') bindings.push({ local: v.text, name: k.text });
          }
        }
      }
      stmt = p.parent;
    } else if (p?.type === 'member_expression' && p.parent?.type === 'variable_declarator') {
      const prop = p.childForFieldName('property')?.text;
      const n = p.parent.childForFieldName('name');
      if (prop && n?.type === 'identifier') bindings.push({ local: n.text, name: prop });
      stmt = p.parent.parent;
    } else if (p?.type === 'expression_statement') stmt = p;
    else if (!dynamic && p?.type === 'assignment_expression' && p.childForFieldName('right')?.id === node.id) {
      // `module.exports = require('./impl')` re-exports everything; `exports.f = require('./f')` one name.
      const m = EXPORTS_TARGET.exec(p.childForFieldName('left')?.text ?? '');
      if (m) extra = m[1] ? { reexports: [{ name: 'default', as: m[1] }] } : { star: true };
    } else if (!dynamic && p && (p.type === 'member_expression' || p.type === 'call_expression')) {
      // `require('./a').f()`, `require('./a')()`: the call graph knows the module by a made-up name.
      const local = requireLocal(node);
      if (local) bindings.push({ local, name: '*' });
    }
    if (stmt && !dynamic) this.noteImportLine(stmt);
    this.addImport(node, specifier, bindings, dynamic ? {} : extra);
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
    if (name === 'Worker' && args) this.workers.push({ node, base });
    // `new X()` runs X's constructor (a workspace class, local or imported).
    if (ref.kind !== 'this' && (ref.kind === 'ident' || /^[\w$]+$/.test(ref.obj))) this.calls.push({ node, base: { ...base, range: rangeBetween(node, ctor) }, ref, isRef: false, isNew: true, cls: this.className() });
  }

  // --- after the walk -----------------------------------------------------------------

  private importInsert(): Position {
    if (this.lastImportLine >= 0) return { line: this.lastImportLine + 1, character: 0 };
    // After a shebang and a 'use strict' prologue.
    let line = 0;
    const lines = this.text.split('\n', 4);
    if (lines[0]?.startsWith('#!')) line = 1;
    if (/^\s*['"]use strict['"];?\s*$/.test(lines[line] ?? '')) line++;
    return { line, character: 0 };
  }

  private builtinBinding(local: string): { module: string; name: string } | undefined {
    const b = this.bindings.get(local);
    if (!b) return undefined;
    const module = builtinModule(b.specifier);
    if (!module) return undefined;
    return { module, name: b.name === 'default' ? '*' : b.name };
  }

  /** A local name bound to `module` (namespace when `name` is `*`). */
  private localFor(module: string, name: string): string | undefined {
    for (const [local, b] of this.bindings) {
      // An unbound `require()` has no name a fix could write.
      if (local.startsWith(REQUIRE_LOCAL_PREFIX)) continue;
      const m = builtinModule(b.specifier);
      if (m === module && (b.name === name || (name === '*' && b.name === 'default'))) return local;
    }
    return undefined;
  }

  /** Resolves a callee against this file's functions: the function id, or the import-bound callee text. */
  private resolveRef(ref: CalleeRef, fn: string, cls: string | undefined): { target?: string; callee?: string } | undefined {
    if (ref.kind === 'this') {
      const c = cls ?? this.classOf(fn);
      if (c && this.functions.has(`${c}.${ref.prop}`)) return { target: `${c}.${ref.prop}` };
      return undefined;
    }
    if (ref.kind === 'member') {
      if (this.classes.has(ref.obj) && this.functions.has(`${ref.obj}.${ref.prop}`)) return { target: `${ref.obj}.${ref.prop}` };
      if (this.bindings.has(ref.obj) && !builtinModule(this.bindings.get(ref.obj)!.specifier)) return { callee: `${ref.obj}.${ref.prop}` };
      return undefined;
    }
    const candidates = this.byName.get(ref.name);
    if (candidates) {
      for (let scope: string | undefined = fn; scope !== undefined; scope = scope === '' ? undefined : this.functions.get(scope)?.fact.parent ?? '') {
        const hit = candidates.find((c) => c.parent === scope && !c.className);
        if (hit) return { target: hit.id };
      }
    }
    if (this.bindings.has(ref.name) && !builtinModule(this.bindings.get(ref.name)!.specifier)) return { callee: ref.name };
    return undefined;
  }

  /** `new X()`: the constructor of a class of this file, or an imported class the model resolves. */
  private resolveNew(ref: CalleeRef): Partial<TsCallFact> | undefined {
    if (ref.kind === 'ident' && this.classes.has(ref.name)) return this.functions.has(`${ref.name}.constructor`) ? { target: `${ref.name}.constructor`, constructorCall: true } : undefined;
    const head = ref.kind === 'ident' ? ref.name : ref.kind === 'member' ? ref.obj : undefined;
    if (head === undefined) return undefined;
    const b = this.bindings.get(head);
    if (!b || builtinModule(b.specifier)) return undefined;
    return { callee: ref.kind === 'ident' ? ref.name : `${head}.${(ref as { prop: string }).prop}`, constructorCall: true };
  }

  private classOf(fn: string): string | undefined {
    for (let id = fn; id; id = this.functions.get(id)?.fact.parent ?? '') {
      const c = this.functions.get(id)?.fact.className;
      if (c) return c;
      if (!this.functions.has(id)) break;
    }
    return undefined;
  }

  private resolve(): void {
    for (const c of this.calls) {
      if (c.isNew) {
        const r = this.resolveNew(c.ref);
        if (r) this.facts.push({ kind: 'ts.call', ...c.base, ...r });
        continue;
      }
      const r = this.resolveRef(c.ref, c.base.enclosingFunction, c.cls);
      if (!r) continue;
      if (c.base.range === undefined && c.rangeNode) c.base.range = nodeRange(c.rangeNode);
      const f: TsCallFact = { kind: 'ts.call', ...c.base, ...r };
      if (c.isRef) f.passedAsArgument = true;
      this.facts.push(f);
    }
    for (const r of this.registers) this.resolveRegister(r);
    for (const b of this.blocking) this.resolveBlocking(b);
    for (const l of this.libCalls) this.resolveLibrary(l);
    for (const w of this.workers) this.resolveWorker(w.node, w.base);
  }

  private callbackOf(arg: Node, fn: string, cls: string | undefined): { target?: string; callee?: string; node?: Node; name?: string } | undefined {
    const u = unbind(arg);
    if (FUNCTION_NODE_TYPES.has(u.type)) {
      return { target: this.byStart.get(u.startIndex) ?? anonId(u), node: u };
    }
    const ref = calleeRef(u);
    if (!ref) return undefined;
    const r = this.resolveRef(ref, fn, cls);
    if (!r) return undefined;
    const name = ref.kind === 'ident' ? ref.name : ref.prop;
    return { ...r, node: r.target ? this.functions.get(r.target)?.node : undefined, name };
  }

  private resolveRegister(r: RawRegister): void {
    const cb = this.callbackOf(r.arg, r.base.enclosingFunction, r.cls);
    if (r.timer) {
      const bodyText = cb?.node?.text ?? '';
      const isBeat =
        HEARTBEAT_BODY_PATTERN.test(bodyText) ||
        (cb?.name !== undefined && HEARTBEAT_NAME_PATTERN.test(cb.name)) ||
        (r.timer.holder !== undefined && HEARTBEAT_NAME_PATTERN.test(r.timer.holder));
      if (isBeat) {
        const hb: TsHeartbeatFact = { kind: 'ts.heartbeat', ...r.base, api: r.timer.api, note: r.timer.api === 'setInterval()' ? 'a timer that sends heartbeats' : 'a re-armed timeout that sends heartbeats' };
        if (cb?.target) hb.callback = cb.target;
        this.facts.push(hb);
        return;
      }
      // setTimeout re-armed from its own callback (`function poll() { …; setTimeout(poll) }`) is an interval.
      if (r.timer.api === 'setTimeout()') {
        if (!cb?.target || cb.node === undefined) return;
        let recursive = false;
        for (let id: string | undefined = r.base.enclosingFunction; id; id = this.functions.get(id)?.fact.parent) if (id === cb.target) recursive = true;
        if (!recursive) return;
      }
    }
    if (!cb || (!cb.target && !cb.callee)) return;
    const f: TsRegisterFact = { kind: 'ts.register', ...r.base, context: r.context, api: r.api };
    if (cb.target) f.target = cb.target;
    else if (cb.callee) f.callee = cb.callee;
    this.facts.push(f);
  }

  private resolveBlocking(b: RawBlocking): void {
    const api = b.api;
    let apiText = `${api.name}()`;
    if (api.module === 'Atomics') apiText = 'Atomics.wait()';
    else if (api.module === '') apiText = 'busy-wait loop';
    else if (b.via !== undefined) {
      // Only a name the file imports from the API's own module is the built-in: a local
      // function or a workspace wrapper of the same name is not.
      const bound = this.bindings.get(b.via);
      if (!bound || builtinModule(bound.specifier) !== api.module) return;
      const callee = unwrap(b.callee);
      if (b.via.startsWith(REQUIRE_LOCAL_PREFIX)) apiText = `require('${bound.specifier}').${api.name}()`;
      else if (callee.type === 'member_expression') apiText = `${b.via.length > 20 ? '…' : b.via}.${api.name}()`;
    }
    const fact: TsBlockingFact = { kind: 'ts.blocking', ...b.base, api: apiText, category: api.module === '' ? 'busy-wait' : api.category };
    if (b.loop) fact.loop = b.loop;
    if (b.asyncFn && api.variant && b.node.type === 'call_expression') {
      const fix = this.asyncFix(b);
      if (fix) fact.fix = fix;
    }
    this.facts.push(fact);
  }

  /** The non-blocking variant of a call in an async function, or undefined when the names do not line up. */
  private asyncFix(b: RawBlocking): { title: string; edits: TextEdit[] } | undefined {
    const variant = b.api.variant!;
    const call = b.node;
    const args = call.childForFieldName('arguments');
    if (!args) return undefined;
    const callee = unwrap(b.callee);
    const receiver = callee.type === 'member_expression' ? unwrap(callee.childForFieldName('object') ?? callee) : undefined;
    const receiverName = receiver?.type === 'identifier' ? receiver.text : undefined;
    // Names to import are planned with the rest of the fix (`import-fix.ts` aliases a taken one).
    const imports = (this.imports ??= new FileImports(this.tree.rootNode, this.text, this.path)).plan();
    let expr: string;
    let title: string;
    const parent = call.parent;
    const discarded = parent?.type === 'expression_statement';
    if (variant.style === 'member') {
      if (!receiver) return undefined;
      expr = `await ${receiver.text}.${variant.name}${args.text}${variant.suffix}`;
      title = `Wait without blocking: await ${receiver.text}.${variant.name}(…)${variant.suffix}`;
    } else if (variant.style === 'promises') {
      let fnExpr = this.localFor('fs/promises', variant.name);
      if (!fnExpr) {
        const ns = this.localFor('fs/promises', '*');
        if (ns) fnExpr = `${ns}.${variant.name}`;
      }
      if (!fnExpr) {
        const fsNs = receiverName && this.builtinBinding(receiverName)?.module === 'fs' ? receiverName : this.localFor('fs', '*');
        if (fsNs) fnExpr = `${fsNs}.promises.${variant.name}`;
      }
      fnExpr ??= imports.name('fs/promises', variant.name);
      expr = `await ${fnExpr}${args.text}`;
      title = `Use the non-blocking variant: await ${fnExpr}(…)`;
    } else {
      const module = b.api.module;
      let fnExpr = this.localFor(module, variant.name);
      if (!fnExpr) {
        const ns = receiverName && this.builtinBinding(receiverName)?.module === module ? receiverName : this.localFor(module, '*');
        if (ns) fnExpr = `${ns}.${variant.name}`;
      }
      fnExpr ??= imports.name(module, variant.name);
      let promisify = this.localFor('util', 'promisify');
      if (!promisify) {
        const util = this.localFor('util', '*');
        if (util) promisify = `${util}.promisify`;
      }
      promisify ??= imports.name('util', 'promisify');
      const awaited = `await ${promisify}(${fnExpr})${args.text}`;
      expr = variant.result && !discarded ? `(${awaited}).${variant.result}` : awaited;
      title = `Use the non-blocking variant: await ${promisify}(${fnExpr})(…)${variant.result && !discarded ? `.${variant.result}` : ''}`;
    }
    if (!expr.startsWith('(') && parent && !SAFE_PARENTS.has(parent.type)) expr = `(${expr})`;
    if (parent?.type === 'assignment_expression' && parent.childForFieldName('right')?.id !== call.id) return undefined;
    const edits = imports.edits();
    if (!edits) return undefined;
    edits.push({ range: nodeRange(call), newText: expr });
    return { title, edits };
  }

  private libraryFor(specifier: string): HeartbeatLibrary | undefined {
    return HEARTBEAT_LIBRARIES.find((l) => l.module === specifier);
  }

  private resolveLibrary(l: RawLibCall): void {
    let lib: HeartbeatLibrary | undefined;
    let api = '';
    const ref = l.ref;
    if (ref.kind === 'require') {
      lib = this.libraryFor(ref.specifier);
      if (!lib) return;
      if (ref.prop ? !(lib.calls?.includes(ref.prop) || (l.isNew && lib.ctors?.includes(ref.prop))) : !lib.callableDefault) return;
      api = `${lib.module}${ref.prop ? `.${ref.prop}` : ''}()`;
    } else if (ref.kind === 'ident') {
      const b = this.bindings.get(ref.name);
      lib = b ? this.libraryFor(b.specifier) : undefined;
      if (!lib || !b) return;
      const ok = l.isNew ? lib.ctors?.includes(b.name) : lib.calls?.includes(b.name) || ((b.name === '*' || b.name === 'default') && lib.callableDefault);
      if (!ok) return;
      api = b.name === '*' || b.name === 'default' ? `${lib.module}()` : `${l.isNew ? 'new ' : ''}${b.name}() from ${lib.module}`;
    } else if (ref.kind === 'member') {
      const b = this.bindings.get(ref.obj);
      lib = b && (b.name === '*' || b.name === 'default') ? this.libraryFor(b.specifier) : undefined;
      if (lib && (l.isNew ? lib.ctors?.includes(ref.prop) : lib.calls?.includes(ref.prop))) api = `${l.isNew ? 'new ' : ''}${lib.module}.${ref.prop}()`;
      else {
        lib = HEARTBEAT_LIBRARIES.find((x) => x.members?.includes(ref.prop) && [...this.bindings.values()].some((v) => v.specifier === x.module));
        if (!lib || l.isNew) return;
        api = `${ref.prop}() of ${lib.module}`;
      }
    } else {
      lib = HEARTBEAT_LIBRARIES.find((x) => x.members?.includes(ref.prop) && [...this.bindings.values()].some((v) => v.specifier === x.module));
      if (!lib || l.isNew) return;
      api = `${ref.prop}() of ${lib.module}`;
    }
    if (lib.disabledBy) {
      const re = new RegExp(`\\b${lib.disabledBy}\\s*:\\s*(?:0|false)\\b`);
      if (re.test(l.node.childForFieldName('arguments')?.text ?? '')) return;
    }
    this.facts.push({ kind: 'ts.heartbeat', ...l.base, api, note: lib.note });
  }

  private resolveWorker(node: Node, base: TsFactBase): void {
    const ctor = node.childForFieldName('constructor');
    if (!ctor) return;
    const ref = calleeRef(ctor);
    if (!ref) return;
    const b = ref.kind === 'ident' ? this.bindings.get(ref.name) : ref.kind === 'member' ? this.bindings.get(ref.obj) : undefined;
    if (!b || builtinModule(b.specifier) !== 'worker_threads') return;
    if (ref.kind === 'ident' && b.name !== 'Worker') return;
    const arg0 = node.childForFieldName('arguments')?.namedChildren.find((c) => c && c.type !== 'comment');
    if (!arg0) return;
    const a = unwrap(arg0);
    const fact: TsWorkerFact = { kind: 'ts.worker', ...base };
    if (a.type === 'identifier' && a.text === '__filename') fact.self = true;
    else if (a.type === 'string') {
      fact.specifier = stringValue(a);
      fact.base = 'cwd';
    } else if (a.type === 'new_expression' && a.childForFieldName('constructor')?.text === 'URL') {
      const [s, m] = (a.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is Node => !!c);
      if (m?.text === 'import.meta.url' && s?.type === 'string') {
        fact.specifier = stringValue(s);
        fact.base = 'file';
      } else return;
    } else if (a.type === 'call_expression' && /(?:^|\.)(?:join|resolve)$/.test(a.childForFieldName('function')?.text ?? '')) {
      const parts = (a.childForFieldName('arguments')?.namedChildren ?? []).filter((c): c is Node => !!c);
      if (parts[0]?.text !== '__dirname' || parts.length < 2) return;
      const rest = parts.slice(1).map((p) => stringValue(p));
      if (rest.some((r) => r === undefined)) return;
      fact.specifier = `./${rest.join('/')}`.replace(/\/\.\//g, '/').replace(/^\.\/\.\.\//, '../');
      fact.base = 'file';
    } else return;
    this.facts.push(fact);
  }
}

/** Extracts the program facts of one TypeScript/JavaScript file. */
export function extractTypeScriptFacts(tree: Tree, text: string, path: string): TsFact[] {
  return new Extractor(tree, text, path).run();
}
