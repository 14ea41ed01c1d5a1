/**
 * The HEARTBEAT classification of one TypeScript/JavaScript file, once its walk is done and
 * its names are known: which registrations really register a callback (and which timers are
 * heartbeats), which blocking-looking calls are the built-ins (with the non-blocking rewrite
 * for calls in async functions; the imports it needs come from `import-fix.ts`), which
 * library calls open a self-heartbeating connection, and which `new Worker(…)` start a
 * `worker_threads` script the model can find.
 */
import type { TextEdit } from '../../text/edits';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import { HEARTBEAT_BODY_PATTERN, HEARTBEAT_FILE_PATTERN, HEARTBEAT_LIBRARIES, HEARTBEAT_NAME_PATTERN, builtinModule, type HeartbeatLibrary } from '../../knowledge/typescript-heartbeat';
import { FileImports } from './import-fix';
import type { FileSymbols } from './file-symbols';
import type { TsBlockingFact, TsFact, TsFactBase, TsHeartbeatFact, TsRegisterFact, TsWorkerFact } from './fact-types';
import type { RawBlocking, RawLibCall, RawRegister } from './raw-records';
import { REQUIRE_LOCAL_PREFIX, calleeRef, stringValue, unwrap } from './syntax';

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

/** Turns the walk's raw hazard records into facts, appending them to `facts`. */
export class HazardResolver {
  /** The file's imports, read for the first fix that adds one. */
  private imports?: FileImports;

  constructor(
    private readonly symbols: FileSymbols,
    private readonly facts: TsFact[],
    private readonly tree: Tree,
    private readonly text: string,
    private readonly path: string,
  ) {}

  resolveRegister(r: RawRegister): void {
    const cb = this.symbols.callbackOf(r.arg, r.base.enclosingFunction, r.cls);
    if (r.timer) {
      const bodyText = cb?.node?.text ?? '';
      const isBeat =
        HEARTBEAT_BODY_PATTERN.test(bodyText) ||
        (cb?.name !== undefined && HEARTBEAT_NAME_PATTERN.test(cb.name)) ||
        (r.timer.holder !== undefined && HEARTBEAT_NAME_PATTERN.test(r.timer.holder)) ||
        (r.timer.api === 'setInterval()' && HEARTBEAT_FILE_PATTERN.test(this.path));
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
        for (let id: string | undefined = r.base.enclosingFunction; id; id = this.symbols.functions.get(id)?.fact.parent) if (id === cb.target) recursive = true;
        if (!recursive) return;
      }
    }
    if (!cb || (!cb.target && !cb.callee)) return;
    const f: TsRegisterFact = { kind: 'ts.register', ...r.base, context: r.context, api: r.api };
    if (cb.target) f.target = cb.target;
    else if (cb.callee) f.callee = cb.callee;
    this.facts.push(f);
  }

  resolveBlocking(b: RawBlocking): void {
    const api = b.api;
    let apiText = `${api.name}()`;
    if (api.module === 'Atomics') apiText = 'Atomics.wait()';
    else if (api.module === '') apiText = 'busy-wait loop';
    else if (b.via !== undefined) {
      // Only a name the file imports from the API's own module is the built-in: a local
      // function or a workspace wrapper of the same name is not.
      const bound = this.symbols.bindings.get(b.via);
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
      let fnExpr = this.symbols.localFor('fs/promises', variant.name);
      if (!fnExpr) {
        const ns = this.symbols.localFor('fs/promises', '*');
        if (ns) fnExpr = `${ns}.${variant.name}`;
      }
      if (!fnExpr) {
        const fsNs = receiverName && this.symbols.builtinBinding(receiverName)?.module === 'fs' ? receiverName : this.symbols.localFor('fs', '*');
        if (fsNs) fnExpr = `${fsNs}.promises.${variant.name}`;
      }
      fnExpr ??= imports.name('fs/promises', variant.name);
      expr = `await ${fnExpr}${args.text}`;
      title = `Use the non-blocking variant: await ${fnExpr}(…)`;
    } else {
      const module = b.api.module;
      let fnExpr = this.symbols.localFor(module, variant.name);
      if (!fnExpr) {
        const ns = receiverName && this.symbols.builtinBinding(receiverName)?.module === module ? receiverName : this.symbols.localFor(module, '*');
        if (ns) fnExpr = `${ns}.${variant.name}`;
      }
      fnExpr ??= imports.name(module, variant.name);
      let promisify = this.symbols.localFor('util', 'promisify');
      if (!promisify) {
        const util = this.symbols.localFor('util', '*');
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

  resolveLibrary(l: RawLibCall): void {
    let lib: HeartbeatLibrary | undefined;
    let api = '';
    const ref = l.ref;
    if (ref.kind === 'require') {
      lib = this.libraryFor(ref.specifier);
      if (!lib) return;
      if (ref.prop ? !(lib.calls?.includes(ref.prop) || (l.isNew && lib.ctors?.includes(ref.prop))) : !lib.callableDefault) return;
      api = `${lib.module}${ref.prop ? `.${ref.prop}` : ''}()`;
    } else if (ref.kind === 'ident') {
      const b = this.symbols.bindings.get(ref.name);
      lib = b ? this.libraryFor(b.specifier) : undefined;
      if (!lib || !b) return;
      const ok = l.isNew ? lib.ctors?.includes(b.name) : lib.calls?.includes(b.name) || ((b.name === '*' || b.name === 'default') && lib.callableDefault);
      if (!ok) return;
      api = b.name === '*' || b.name === 'default' ? `${lib.module}()` : `${l.isNew ? 'new ' : ''}${b.name}() from ${lib.module}`;
    } else if (ref.kind === 'member') {
      const b = this.symbols.bindings.get(ref.obj);
      lib = b && (b.name === '*' || b.name === 'default') ? this.libraryFor(b.specifier) : undefined;
      if (lib && (l.isNew ? lib.ctors?.includes(ref.prop) : lib.calls?.includes(ref.prop))) api = `${l.isNew ? 'new ' : ''}${lib.module}.${ref.prop}()`;
      else {
        lib = HEARTBEAT_LIBRARIES.find((x) => x.members?.includes(ref.prop) && [...this.symbols.bindings.values()].some((v) => v.specifier === x.module));
        if (!lib || l.isNew) return;
        api = `${ref.prop}() of ${lib.module}`;
      }
    } else {
      lib = HEARTBEAT_LIBRARIES.find((x) => x.members?.includes(ref.prop) && [...this.symbols.bindings.values()].some((v) => v.specifier === x.module));
      if (!lib || l.isNew) return;
      api = `${ref.prop}() of ${lib.module}`;
    }
    if (lib.disabledBy) {
      const re = new RegExp(`\\b${lib.disabledBy}\\s*:\\s*(?:0|false)\\b`);
      if (re.test(l.node.childForFieldName('arguments')?.text ?? '')) return;
    }
    const hb: TsHeartbeatFact = { kind: 'ts.heartbeat', ...l.base, api, note: lib.note };
    if (lib.codeShowsKeepAlive) hb.library = lib.module;
    this.facts.push(hb);
  }

  resolveWorker(node: Node, base: TsFactBase): void {
    const ctor = node.childForFieldName('constructor');
    if (!ctor) return;
    const ref = calleeRef(ctor);
    if (!ref) return;
    const b = ref.kind === 'ident' ? this.symbols.bindings.get(ref.name) : ref.kind === 'member' ? this.symbols.bindings.get(ref.obj) : undefined;
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
