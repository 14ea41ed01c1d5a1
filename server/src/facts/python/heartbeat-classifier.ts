/**
 * The green-thread side of the Python facts: from the collected calls it tells monkey
 * patches (and whether they patch threads), heartbeat connections, hub drivers, primitives
 * reached through unpatched originals, and functions that keep a connection alive (a loop
 * that pings and waits, or a call that drives the connection).
 */
import type { Position } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import {
  PY_CONNECTION_DRIVERS,
  PY_EXECUTOR_HUB_DRIVERS,
  PY_HEARTBEAT_CONNECTIONS,
  PY_HEARTBEAT_NAME,
  PY_HUB_DRIVERS,
  PY_MONKEY_PATCHERS,
  PY_NATIVE_PRIMITIVES,
  PY_ORIGINAL_GETTERS,
  PY_TRANSPORT_OPENERS,
  PY_TRANSPORT_USERS,
} from '../../knowledge/python-heartbeat';
import { BUILTIN_KNOWLEDGE, type PythonKnowledge } from '../../knowledge/knowledge';
import { STDLIB_MODULES } from '../../knowledge/python-handles';
import type { PyFactBase, PyMonkeyPatchFact } from './fact-types';
import type { PySourceText } from './source-text';
import { runsOnlyOnOtherPlatforms } from './branch-tests';
import { argsOf, keywordInsert, posOf, stringValue, within } from './syntax-helpers';
import { callBase, classScope, factBase, pickBinding, resolve, type CollectedRecords, type RawCall, type Resolved, type Scope } from './walk-records';

/** Every name `classifyHeartbeat` looks up. */
const HEARTBEAT_NAMES: ReadonlySet<string> = new Set([
  ...PY_MONKEY_PATCHERS.keys(),
  ...PY_HEARTBEAT_CONNECTIONS.keys(),
  ...PY_HUB_DRIVERS.keys(),
  ...PY_EXECUTOR_HUB_DRIVERS.keys(),
  ...PY_NATIVE_PRIMITIVES.keys(),
]);

/** Every method that uses some transport user, and every method that derives one from another. */
const TRANSPORT_USE_METHODS: ReadonlySet<string> = new Set([...PY_TRANSPORT_USERS.values()].flatMap((u) => [...u.uses.keys()]));
const TRANSPORT_DERIVE_METHODS: ReadonlySet<string> = new Set([...PY_TRANSPORT_USERS.values()].flatMap((u) => [...u.derives]));

/** What a value was made by, as far as this file tells: a transport user, a transport, or a call of some other function. */
type MadeBy = { user: string } | { transport: string } | { producer: Resolved };

export class HeartbeatClassifier {
  /** `knowledge`: the ping and wait tables (the built-ins merged with the user's keep-alive models). */
  constructor(
    private readonly rec: CollectedRecords,
    private readonly t: PySourceText,
    private readonly knowledge: PythonKnowledge = BUILTIN_KNOWLEDGE.python,
  ) {}

  /** What an original getter call returns: `threading` (module form) or `threading.Thread` (attribute form). */
  originalTarget(c: RawCall): string | undefined {
    const form = c.resolved ? PY_ORIGINAL_GETTERS.get(c.resolved.name) : undefined;
    if (!form) return undefined;
    const a = argsOf(c.node);
    const mod = stringValue(a.positional[0] ?? a.keywords.get('modname') ?? a.keywords.get('mod_name'))?.value;
    if (!mod) return undefined;
    if (form === 'module') return mod;
    const attr = stringValue(a.positional[1] ?? a.keywords.get('item_name'))?.value;
    return attr ? `${mod}.${attr}` : undefined;
  }

  /** Names bound to original getters (`th = eventlet.patcher.original('threading')`), per scope. */
  resolveOriginals(): void {
    let any = false;
    for (const c of this.rec.calls) {
      if (!c.callee || !/(^|\.)(original|get_original)$/.test(c.callee)) continue;
      c.resolved = resolve(c.callee, c.scope);
      if (PY_ORIGINAL_GETTERS.has(c.resolved.name)) any = true;
    }
    if (!any) return;
    for (const s of this.rec.scopes) {
      for (const [key, list] of s.bindings) {
        if (key.includes('.')) continue;
        for (const call of list) {
          const t = this.originalTarget(call);
          if (t) (s.originals ??= new Map()).set(key, t);
        }
      }
    }
    // A function that rebinds an imported module global to a module-level original
    // (`global threading; threading = stdlib_threading`) makes the module's uses of that
    // name native: resolved as the original before the import.
    const module = this.rec.scopes.find((s) => s.kind === 'module');
    if (!module?.originals) return;
    for (const s of this.rec.scopes) {
      for (const [name, value] of s.globalAliases ?? []) {
        const target = module.originals.get(value);
        if (target !== undefined && module.imports?.get(name) === target) (module.rebindsToOriginal ??= new Map()).set(name, target);
      }
    }
  }


  /** Monkey patches, heartbeat connections, hub drivers and native primitives. */
  classifyHeartbeat(c: RawCall): void {
    const r = c.resolved;
    if (!r || r.origin === 'builtin') return;
    const name = r.name;
    if (r.origin === 'import' && HEARTBEAT_NAMES.has(name)) {
      const patcher = PY_MONKEY_PATCHERS.get(name);
      if (patcher) {
        this.pushMonkeyPatch(c, name, patcher.lib, patcher.threads, patcher.threadKeyword, callBase(c, this.t));
        return;
      }
      const conn = PY_HEARTBEAT_CONNECTIONS.get(name);
      if (conn) {
        if (!conn.background) {
          const a = argsOf(c.node);
          let v: Node | undefined;
          for (const k of [conn.keyword, ...(conn.aliases ?? [])]) if (k && a.keywords.has(k)) v = a.keywords.get(k);
          if (!v || v.type === 'none' || v.type === 'false' || /^0+(\.0*)?$/.test(v.text)) return;
        }
        this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.hb-connection', api: `${name}()`, library: conn.lib, background: conn.background, ...(conn.onUse ? { onUse: true, usedBy: conn.usedBy ?? 'any' } : {}), note: conn.note });
        return;
      }
      const hub = PY_HUB_DRIVERS.get(name);
      if (hub) {
        this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.hub-driver' });
        return;
      }
      const byExecutor = PY_EXECUTOR_HUB_DRIVERS.get(name);
      if (byExecutor) {
        const a = argsOf(c.node);
        if (stringValue(a.keywords.get('executor') ?? a.positional[byExecutor.position])?.value === 'eventlet') {
          this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.hub-driver' });
        }
        return;
      }
      const prim = PY_NATIVE_PRIMITIVES.get(name);
      if (prim && !r.native) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.native-primitive', api: `${name}()`, what: prim });
    }
  }

  /**
   * Uses of an oslo.messaging transport (`py.transport-use`): a send or start on what a
   * transport user made (`client.prepare(...).cast()`), or on what a function of the
   * workspace returned (`rpc.get_client(...)`: the model checks that function), and the
   * transport internals that connect (`transport._driver._get_connection()`). Also
   * `py.returns-transport-user` for functions that return such an object.
   */
  classifyTransportUse(c: RawCall): void {
    if (this.usesTransportUsers() && this.rec.returnedCalls.has(c.node.id)) {
      const made = this.madeBy(c);
      if (made && 'user' in made) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.returns-transport-user', user: made.user });
    }
    const dot = c.callee?.indexOf('.') ?? -1;
    const openerPath = dot > 0 ? c.callee!.slice(dot + 1) : '';
    if (PY_TRANSPORT_OPENERS.has(openerPath)) {
      const made = this.madeByName(c.callee!.slice(0, dot), c.scope, c.node.startIndex);
      if (made && 'transport' in made) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.transport-use', call: `${this.calleeText(c)}()`, method: openerPath, user: 'transport' });
      return;
    }
    if (!c.method || !c.recv) return;
    if (!TRANSPORT_USE_METHODS.has(c.method)) return;
    const recv = this.receiverCall(c);
    const made = recv ? this.madeBy(recv) : this.selfAttributeProduct(c);
    if (!made || 'transport' in made) return;
    if ('user' in made) {
      if (PY_TRANSPORT_USERS.get(made.user)?.uses.has(c.method)) this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.transport-use', call: `${this.calleeText(c)}()`, method: c.method, user: made.user });
      return;
    }
    // A standard-library product (`logging.getLogger(...)` then `log.info()`) is never a transport user.
    if (made.producer.origin === 'import' && STDLIB_MODULES.has(made.producer.name.split('.')[0])) return;
    this.rec.facts.push({ ...callBase(c, this.t), kind: 'py.transport-use', call: `${this.calleeText(c)}()`, method: c.method, producer: { name: made.producer.name, origin: made.producer.origin } });
  }

  private transportUsers: boolean | undefined;

  /**
   * Whether some call of the file makes a transport user (asked once): what a call gives is
   * one only through such a call, so without one no returned call is looked at.
   */
  private usesTransportUsers(): boolean {
    return (this.transportUsers ??= this.rec.calls.some((x) => x.resolved?.origin === 'import' && PY_TRANSPORT_USERS.has(x.resolved.name)));
  }

  /**
   * `return self._client` in a method (a lazy property): the method hands out a transport user
   * when `self._client` was bound to one in its class.
   */
  emitReturnedSelfAttributes(): void {
    for (const r of this.rec.returnedSelfAttributes) {
      const b = pickBinding(classScope(r.scope)?.bindings.get(`self.${r.attr}`), Number.MAX_SAFE_INTEGER);
      const made = b && this.madeBy(b);
      if (made && 'user' in made) this.rec.facts.push({ ...r.base, kind: 'py.returns-transport-user', user: made.user });
    }
  }

  /**
   * `self.client.cast()` where the class binds no `self.client` in this file: the attribute
   * may be a property of the class or of a base (`@property def client(self)`), which the
   * model looks up as the producer `Cls.client`.
   */
  private selfAttributeProduct(c: RawCall): MadeBy | undefined {
    const r = c.recv;
    if (!r || !('selfAttr' in r) || !c.scope.cls) return undefined;
    return { producer: { name: `${c.scope.cls}.${r.selfAttr}`, origin: 'local' } };
  }

  /** The callee as written, on one line and shortened (`rpc.get_notifier("x").info`). */
  private calleeText(c: RawCall): string {
    const fn = c.node.childForFieldName('function');
    const text = (fn ? this.t.text(fn) : (c.callee ?? c.method ?? '')).replace(/\s+/g, '');
    return text.length > 60 ? `…${text.slice(-59)}` : text;
  }

  /** The call that made what `c` is called on: `x = make(); x.m()`, `self.x.m()`, `make().m()`. */
  private receiverCall(c: RawCall): RawCall | undefined {
    const r = c.recv;
    if (!r) return undefined;
    if ('chained' in r) {
      const idx = this.rec.callIndex.get(r.chained);
      return idx === undefined ? undefined : this.rec.calls[idx];
    }
    if ('selfAttr' in r) return pickBinding(classScope(c.scope)?.bindings.get(`self.${r.selfAttr}`), c.node.startIndex);
    return this.nameBinding(r.name, c.scope, c.node.startIndex);
  }

  /**
   * The call last assigned to a name seen from `scope`: a local, an enclosing function's, or a
   * module global (also one a function assigns through `global`, as set-up functions do).
   */
  private nameBinding(name: string, scope: Scope, pos: number): RawCall | undefined {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.kind === 'class' && s !== scope) continue;
      if (s.globals?.has(name)) break;
      const b = pickBinding(s.bindings.get(name), pos);
      if (b) return b;
    }
    if (this.globalBindings.has(name)) return this.globalBindings.get(name);
    let found: RawCall | undefined;
    for (const s of this.rec.scopes) {
      if (s.kind !== 'module' && !s.globals?.has(name)) continue;
      const list = s.bindings.get(name);
      if (list?.length) {
        found = list[list.length - 1];
        break;
      }
    }
    this.globalBindings.set(name, found);
    return found;
  }

  /** The call last assigned to a module global, by name (the same for every scope: asked once per name). */
  private readonly globalBindings = new Map<string, RawCall | undefined>();

  private madeByName(name: string, scope: Scope, pos: number): MadeBy | undefined {
    if (name === 'self' || name.includes('.')) {
      const attr = /^self\.(\w+)$/.exec(name)?.[1];
      const b = attr ? pickBinding(classScope(scope)?.bindings.get(`self.${attr}`), pos) : undefined;
      return b && this.madeBy(b);
    }
    const b = this.nameBinding(name, scope, pos);
    return b && this.madeBy(b);
  }

  /** What a call gives: a transport user (through `prepare`-like derivations), a transport, or the product of another function. */
  private madeBy(call: RawCall, depth = 0): MadeBy | undefined {
    if (depth > 6) return undefined;
    const r = call.resolved;
    if (r?.origin === 'import') {
      if (PY_TRANSPORT_USERS.has(r.name)) return { user: r.name };
      if (PY_HEARTBEAT_CONNECTIONS.get(r.name)?.onUse) return { transport: r.name };
    }
    const inner = call.method && call.recv ? this.receiverCall(call) : undefined;
    const made = inner ? this.madeBy(inner, depth + 1) : call.method ? this.selfAttributeProduct(call) : undefined;
    if (made) {
      if ('transport' in made) return undefined;
      if ('user' in made) return PY_TRANSPORT_USERS.get(made.user)?.derives.has(call.method!) ? made : undefined;
      return TRANSPORT_DERIVE_METHODS.has(call.method!) ? made : undefined;
    }
    if (inner) return undefined;
    if (r && r.origin !== 'builtin' && !('chained' in (call.recv ?? {}))) return { producer: r };
    return undefined;
  }

  private pushMonkeyPatch(c: RawCall, api: string, lib: 'eventlet' | 'gevent', how: 'eventlet' | 'gevent-all' | 'always', threadKeyword: string | undefined, base: PyFactBase): void {
    // A patch that only another platform runs (`elif os.name == "nt":`) does not patch this one.
    if (runsOnlyOnOtherPlatforms(c.node)) return;
    const a = argsOf(c.node);
    const lit = (n: Node | undefined): boolean | undefined => (n?.type === 'true' ? true : n?.type === 'false' ? false : undefined);
    const splat = !!a.node?.namedChildren.some((n) => n?.type === 'dictionary_splat' || n?.type === 'list_splat');
    let threads: PyMonkeyPatchFact['threads'] = 'yes';
    const tk = threadKeyword ? a.keywords.get(threadKeyword) : undefined;
    if (how === 'eventlet') {
      // eventlet: a keyword set to True selects only the modules so named; False leaves one out.
      let anyTrue = false;
      let unknown = splat || a.positional.length > 0;
      for (const [k, v] of a.keywords) {
        const l = lit(v);
        if (l === undefined) {
          if (k === threadKeyword || k === 'all') unknown = true;
          else if (!tk) unknown = true;
        } else if (l && k !== 'all') anyTrue = true;
      }
      const all = lit(a.keywords.get('all'));
      const t = lit(tk);
      if (t === true || all === true) threads = 'yes';
      else if (t === false) threads = 'no';
      else if (unknown) threads = 'unknown';
      else threads = anyTrue ? 'no' : 'yes';
    } else if (how === 'gevent-all') {
      const t = lit(tk);
      threads = t === false ? 'no' : tk && t === undefined ? 'unknown' : splat && !tk ? 'unknown' : 'yes';
    }
    const fact: PyMonkeyPatchFact = { ...base, kind: 'py.monkey-patch', api: `${api}()`, library: lib, threads, firstStatement: this.firstStatementPos(), localName: (c.callee ?? api).split('.')[0] };
    if (threadKeyword && threads === 'yes' && how !== 'always') {
      if (tk) {
        if (tk.type === 'true') fact.threadFix = { kind: 'replace', range: this.t.range(tk), keyword: threadKeyword };
      } else if (!splat) {
        const ins = keywordInsert(a.node, threadKeyword);
        if (ins) fact.threadFix = { kind: 'insert', ...ins };
      }
    }
    const st = c.node.parent;
    if (st?.type === 'expression_statement' && st.parent?.type === 'module' && st.startPosition.column === 0) {
      const endLine = st.endPosition.row;
      const lines = this.t.tree.rootNode.text.split('\n', endLine + 2);
      const rest = (lines[endLine] ?? '').slice(st.endPosition.column);
      if (/^\s*(#.*)?$/.test(rest)) {
        fact.statement = { range: { start: { line: st.startPosition.row, character: 0 }, end: { line: endLine + 1, character: 0 } }, text: st.text };
      }
    }
    this.rec.facts.push(fact);
  }

  private firstStatement?: Position;

  /** Start of the first statement that is not the docstring or a `from __future__` import. */
  private firstStatementPos(): Position {
    if (this.firstStatement) return this.firstStatement;
    let pos: Position = posOf(this.t.tree.rootNode.endPosition);
    let first = true;
    for (const st of this.t.tree.rootNode.namedChildren) {
      if (!st || st.type === 'comment') continue;
      const docstring = first && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string';
      first = false;
      if (docstring || st.type === 'future_import_statement') continue;
      pos = { line: st.startPosition.row, character: 0 };
      break;
    }
    this.firstStatement = pos;
    return pos;
  }

  /** Last segment of what a call names: `conn.heartbeat_check()` → `heartbeat_check`. */
  private lastName(c: RawCall): string | undefined {
    if (c.method) return c.method;
    const n = c.resolved?.name ?? c.callee;
    return n ? n.slice(n.lastIndexOf('.') + 1) : undefined;
  }

  /** A call that waits or sleeps: `time.sleep(n)`, `event.wait(timeout)`, `cond.wait(5)`. */
  private isWait(c: RawCall): boolean {
    if (c.resolved && this.knowledge.sleepCalls.has(c.resolved.name)) return true;
    return !!c.method && this.knowledge.waitMethods.has(c.method) && (argsOf(c.node).positional.length > 0 || argsOf(c.node).keywords.has('timeout'));
  }

  /**
   * The function of this file a call runs, by qualified scope name: `self.m()`/`cls.m()` in a
   * method is the class's `m`, a plain `f()` a module-level function; undefined otherwise.
   */
  private sameFileTarget(c: RawCall, functions: ReadonlyMap<string, Scope>): Scope | undefined {
    const fnText = c.node.childForFieldName('function')?.text ?? '';
    const self = /^(self|cls)\.([A-Za-z_]\w*)$/.exec(fnText);
    if (self) {
      let cls: Scope | undefined = c.scope;
      while (cls && cls.kind !== 'class') cls = cls.parent;
      return cls ? functions.get(`${cls.name}.${self[2]}`) : undefined;
    }
    return /^[A-Za-z_]\w*$/.test(fnText) ? functions.get(fnText) : undefined;
  }

  /**
   * Functions of this file (by qualified name) that wait, themselves or through the functions
   * of this file they call (a fixpoint over same-file calls), each with the wait it reaches.
   */
  private waitingFunctions(functions: ReadonlyMap<string, Scope>): Map<Scope, RawCall> {
    const waiting = new Map<Scope, RawCall>();
    for (const c of this.rec.calls) if (c.scope.kind === 'function' && !waiting.has(c.scope) && this.isWait(c)) waiting.set(c.scope, c);
    for (let round = 0, changed = true; changed && round < 4; round++) {
      changed = false;
      for (const c of this.rec.calls) {
        if (c.scope.kind !== 'function' || waiting.has(c.scope)) continue;
        const target = this.sameFileTarget(c, functions);
        const wait = target && target !== c.scope ? waiting.get(target) : undefined;
        if (wait) {
          waiting.set(c.scope, wait);
          changed = true;
        }
      }
    }
    return waiting;
  }

  /** One `py.keepalive` per function: a loop that sends a heartbeat and waits, or a call that drives a connection. */
  emitKeepAlives(): void {
    const byScope = new Map<Scope, { pings: RawCall[]; waits: RawCall[]; drives: RawCall[]; inLoops: RawCall[] }>();
    const entry = (s: Scope) => {
      let e = byScope.get(s);
      if (!e) byScope.set(s, (e = { pings: [], waits: [], drives: [], inLoops: [] }));
      return e;
    };
    for (const c of this.rec.calls) {
      if (c.scope.kind !== 'function') continue;
      const last = this.lastName(c);
      if (!last) continue;
      const driver = PY_CONNECTION_DRIVERS.get(last);
      if (driver) {
        if (driver.loops || c.loops) entry(c.scope).drives.push(c);
        if (argsOf(c.node).positional.length || argsOf(c.node).keywords.size) entry(c.scope).waits.push(c);
        continue;
      }
      if (!c.loops) continue;
      entry(c.scope).inLoops.push(c);
      if (this.knowledge.heartbeatCalls.has(last) || PY_HEARTBEAT_NAME.test(last)) entry(c.scope).pings.push(c);
      else if (this.isWait(c)) entry(c.scope).waits.push(c);
    }
    const text = (c: RawCall) => `${c.node.childForFieldName('function')?.text ?? this.lastName(c)}()`;
    let functions: Map<string, Scope> | undefined;
    let waiting: Map<Scope, RawCall> | undefined;
    for (const [scope, e] of byScope) {
      let done = false;
      // Names from the table (`_heartbeat_check` → heartbeat_check) before mere look-alikes (`for_heartbeat`).
      const exact = (c: RawCall) => this.knowledge.heartbeatCalls.has((this.lastName(c) ?? '').replace(/^_+/, ''));
      e.pings.sort((x, y) => Number(exact(y)) - Number(exact(x)));
      for (const p of e.pings) {
        for (const loop of p.loops ?? []) {
          if (!e.waits.some((w) => within(this.t.rangeOf(w.node, w.end), loop))) continue;
          this.rec.facts.push({ ...factBase(loop, p.flags, scope), kind: 'py.keepalive', how: 'loop', call: text(p) });
          done = true;
          break;
        }
        if (done) break;
      }
      // The loop pings but waits in a function of this file that it calls (the ping itself, or
      // a helper): `while ...: self._heartbeat_check()` where `_heartbeat_check` sleeps.
      if (!done && e.pings.length) {
        functions ??= new Map([...this.rec.scopes].filter((s) => s.kind === 'function').map((s) => [s.name, s]));
        waiting ??= this.waitingFunctions(functions);
        for (const p of e.pings) {
          for (const loop of p.loops ?? []) {
            let wait: RawCall | undefined;
            const through = e.inLoops.find((c) => {
              if (!within(this.t.rangeOf(c.node, c.end), loop)) return false;
              const target = this.sameFileTarget(c, functions!);
              wait = target && target !== scope ? waiting!.get(target) : undefined;
              return wait !== undefined;
            });
            if (!through || !wait) continue;
            this.rec.facts.push({
              ...factBase(loop, p.flags, scope),
              kind: 'py.keepalive',
              how: 'loop',
              call: text(p),
              waitsThrough: { call: text(through), wait: text(wait), line: wait.node.startPosition.row },
            });
            done = true;
            break;
          }
          if (done) break;
        }
      }
      if (done || !e.drives.length) continue;
      const d = e.drives[0];
      this.rec.facts.push({ ...factBase(d.loops?.[d.loops.length - 1] ?? this.t.rangeOf(d.node, d.end), d.flags, scope), kind: 'py.keepalive', how: 'drive', call: text(d) });
    }
  }
}
