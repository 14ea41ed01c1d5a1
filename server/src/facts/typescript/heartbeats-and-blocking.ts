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
import { HEARTBEAT_BODY_PATTERN, HEARTBEAT_FILE_PATTERN, HEARTBEAT_NAME_PATTERN, builtinModule, type BlockingApi, type HeartbeatLibrary } from '../../knowledge/typescript-heartbeat';
import type { TypeScriptKnowledge } from '../../knowledge/knowledge';
import { FileImports } from './import-fix';
import type { FileSymbols } from './file-symbols';
import type { TsBlockingFact, TsFact, TsHeartbeatFact, TsRegisterFact, TsWorkerFact } from './fact-types';
import type { RawBlocking, RawLibCall, RawRegister, RawWorker } from './raw-records';
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
    private readonly knowledge: TypeScriptKnowledge,
  ) {}

  resolveRegister(r: RawRegister): void {
    const cb = this.symbols.callbackOf(r.arg, r.base.enclosingFunction, r.cls);
    if (r.timer) {
      const bodyText = cb?.node?.text ?? '';
      const isBeat =
        HEARTBEAT_BODY_PATTERN.test(bodyText) ||
        (this.knowledge.pingPattern?.test(bodyText) ?? false) ||
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

  /** Which of the APIs a blocking-looking call is: the built-in bound to its module, or a user's model whose module the file binds it to. */
  private blockingApi(b: RawBlocking): BlockingApi | undefined {
    for (const api of b.apis) {
      if (api.declared === undefined) return api;
      if (api.declared === 'method') {
        if (b.method && [...this.symbols.bindings.values()].some((v) => v.specifier === api.module)) return api;
        continue;
      }
      const bound = b.via !== undefined ? this.symbols.bindings.get(b.via) : undefined;
      if (bound?.specifier !== api.module) continue;
      if (b.method ? bound.name === '*' || bound.name === 'default' : bound.name === api.name) return api;
    }
    return undefined;
  }

  resolveBlocking(b: RawBlocking): void {
    const api = this.blockingApi(b);
    if (!api) return;
    let apiText = `${api.name}()`;
    if (api.module === 'Atomics') apiText = 'Atomics.wait()';
    else if (api.module === '') apiText = 'busy-wait loop';
    else if (api.declared !== undefined) apiText = `${api.name}() of ${api.module}`;
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
      const fix = this.asyncFix(b, api);
      if (fix) fact.fix = fix;
    }
    this.facts.push(fact);
  }

  /** The non-blocking variant of a call in an async function, or undefined when the names do not line up. */
  private asyncFix(b: RawBlocking, api: BlockingApi): { title: string; edits: TextEdit[] } | undefined {
    const variant = api.variant!;
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
      const module = api.module;
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

  /** The library rows of a module specifier (built-in first, then the user's). */
  private librariesFor(specifier: string): HeartbeatLibrary[] {
    return this.knowledge.heartbeatLibraries.filter((l) => l.module === specifier);
  }

  /** A row whose `members` holds `method`, of a module the file imports. */
  private memberLibrary(method: string): HeartbeatLibrary | undefined {
    return this.knowledge.heartbeatLibraries.find((x) => x.members?.includes(method) && [...this.symbols.bindings.values()].some((v) => v.specifier === x.module));
  }

  resolveLibrary(l: RawLibCall): void {
    let lib: HeartbeatLibrary | undefined;
    let api = '';
    const ref = l.ref;
    if (ref.kind === 'require') {
      const prop = ref.prop;
      lib = this.librariesFor(ref.specifier).find((x) => (prop ? x.calls?.includes(prop) || (l.isNew && x.ctors?.includes(prop)) : x.callableDefault));
      if (!lib) return;
      api = `${lib.module}${prop ? `.${prop}` : ''}()`;
    } else if (ref.kind === 'ident') {
      const b = this.symbols.bindings.get(ref.name);
      if (!b) return;
      lib = this.librariesFor(b.specifier).find((x) => (l.isNew ? x.ctors?.includes(b.name) : x.calls?.includes(b.name) || ((b.name === '*' || b.name === 'default') && x.callableDefault)));
      if (!lib) return;
      api = b.name === '*' || b.name === 'default' ? `${lib.module}()` : `${l.isNew ? 'new ' : ''}${b.name}() from ${lib.module}`;
    } else if (ref.kind === 'member') {
      const b = this.symbols.bindings.get(ref.obj);
      lib = b && (b.name === '*' || b.name === 'default') ? this.librariesFor(b.specifier).find((x) => (l.isNew ? x.ctors?.includes(ref.prop) : x.calls?.includes(ref.prop))) : undefined;
      if (lib) api = `${l.isNew ? 'new ' : ''}${lib.module}.${ref.prop}()`;
      else {
        lib = this.memberLibrary(ref.prop);
        if (!lib || l.isNew) return;
        api = `${ref.prop}() of ${lib.module}`;
      }
    } else {
      lib = this.memberLibrary(ref.prop);
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

  /** `new Worker(…)` of `worker_threads`, or a user's thread starter bound to its module; the script argument's target. */
  resolveWorker(w: RawWorker): void {
    const { node, base } = w;
    const callee = w.isNew ? node.childForFieldName('constructor') : node.childForFieldName('function');
    if (!callee) return;
    const ref = calleeRef(callee);
    if (!ref) return;
    const b = ref.kind === 'ident' ? this.symbols.bindings.get(ref.name) : ref.kind === 'member' ? this.symbols.bindings.get(ref.obj) : undefined;
    if (!b) return;
    const exported = ref.kind === 'ident' ? b.name : b.name === '*' || b.name === 'default' ? ref.kind === 'member' ? ref.prop : undefined : undefined;
    let scriptArgument = 0;
    if (w.isNew && builtinModule(b.specifier) === 'worker_threads') {
      if (ref.kind === 'ident' && b.name !== 'Worker') return;
    } else {
      const starter = this.knowledge.threadStarters.find((t) => t.module === b.specifier && t.name === exported && (t.how === 'new') === w.isNew);
      if (!starter) return;
      scriptArgument = starter.scriptArgument;
    }
    const arg0 = node.childForFieldName('arguments')?.namedChildren.filter((c) => c && c.type !== 'comment')[scriptArgument];
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
