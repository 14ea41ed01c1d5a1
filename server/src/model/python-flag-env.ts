/**
 * The flags a replayed Python call runs with (issue #9): the parameters a call binds to
 * literal `True`/`False`/`None` (directly, through the caller's own parameters, or through
 * literal defaults) and the attributes an object's `__init__` stored from them, so that one
 * replayed path takes each `if flag:` one way only. `Server(False).start()` does not run the
 * branch of `if self._daemon:`; a function called with `daemon=False` does not run the branch
 * of `if daemon:` — and their `else` branches do not run when the flag is known true.
 *
 * Bounds (what keeps it sound and cheap): values are literals only, carried through calls the
 * replay follows (one environment per call, no path splitting); an attribute counts only when
 * nothing in the whole workspace assigns it other than that `__init__` statement (a computed
 * `setattr` makes every attribute but class-private ones unknown); a flag whose value is not
 * known takes every branch, as before.
 */
import type { PyFlag, PyFlagArgument, PyFlagGuard, PyFunctionFact } from '../facts/python/program-facts';
import type { PyModuleIndex } from './python-modules';

/** What the function being replayed knows of its flags. */
export interface FlagEnv {
  /** Its parameters bound to literals. */
  params?: ReadonlyMap<string, PyFlag>;
  /** Attributes of its `self` known from the call that made the object. */
  self?: ReadonlyMap<string, PyFlag>;
  /** Which object its `self` is, when the replay saw the call that made it (`python-simulation.ts`). */
  selfId?: number;
  /**
   * Parameters bound to a read of the caller's own state (`self.conf["k"]`): the value the read
   * gave, named so that another read of the same state with no store between gives the same name.
   */
  reads?: ReadonlyMap<string, number>;
}

/** Whether a fact guarded by `guards` may run: no guard's flag is known to have the other truth value. */
export function guardsHold(guards: readonly PyFlagGuard[], env: FlagEnv | undefined): boolean {
  if (!env) return true;
  for (const g of guards) {
    const v = 'param' in g.subject ? env.params?.get(g.subject.param) : env.self?.get(g.subject.attr);
    if (v !== undefined && !!v !== g.truthy) return false;
  }
  return true;
}

/**
 * The callee's parameters a call binds to literals. `positional`: the call's positional
 * arguments fill the callee's parameters in order (false for `Cls.method(obj, …)`, where the
 * object may come first); then only keywords bind, and no default is known to hold.
 */
/** The argument of a call that fills the callee's parameter `i` (`p`), if any; see {@link bindCall} for `positional`. */
function argumentFor(args: readonly PyFlagArgument[], p: { name: string; keywordOnly?: boolean }, i: number, positional: boolean): PyFlagArgument | undefined {
  return args.find((a) => a.at === p.name) ?? (positional && !p.keywordOnly ? args.find((a) => a.at === i) : undefined);
}

/** The callee's parameters a call binds to reads of the caller's state, with the value names `name` gives those reads. */
export function bindReads(args: readonly PyFlagArgument[] | undefined, callee: PyFunctionFact | undefined, positional: boolean, name: (read: string) => number | undefined): Map<string, number> | undefined {
  const params = callee?.params;
  if (!args || !params || !args.some((a) => a.read !== undefined)) return undefined;
  const out = new Map<string, number>();
  params.forEach((p, i) => {
    const read = argumentFor(args, p, i, positional)?.read;
    const id = read === undefined ? undefined : name(read);
    if (id !== undefined) out.set(p.name, id);
  });
  return out.size ? out : undefined;
}

export function bindCall(args: readonly PyFlagArgument[] | undefined, callee: PyFunctionFact | undefined, caller: FlagEnv | undefined, positional: boolean): Map<string, PyFlag> | undefined {
  const params = callee?.params;
  if (!args || !params) return undefined;
  const anyPositional = args.some((a) => typeof a.at === 'number');
  const out = new Map<string, PyFlag>();
  params.forEach((p, i) => {
    const arg = argumentFor(args, p, i, positional);
    let v: PyFlag | undefined;
    if (arg) v = arg.value !== undefined ? arg.value : arg.param !== undefined ? caller?.params?.get(arg.param) : undefined;
    else if (positional || !anyPositional) v = p.default;
    if (v !== undefined) out.set(p.name, v);
  });
  return out.size ? out : undefined;
}

/** The attributes an object has after `init` ran with `params`: its literal flag stores no other code changes. */
export function objectFlags(init: PyFunctionFact | undefined, params: ReadonlyMap<string, PyFlag> | undefined, steady: (attr: string) => boolean): Map<string, PyFlag> | undefined {
  if (!init?.flagStores) return undefined;
  const out = new Map<string, PyFlag>();
  for (const s of init.flagStores) {
    const v = s.param !== undefined ? params?.get(s.param) : s.value;
    if (v !== undefined && steady(s.attr)) out.set(s.attr, v);
  }
  return out.size ? out : undefined;
}

/** A class-private attribute (`Server.__daemon`, as `flag-values.ts` keys them): no computed name reaches it. */
function classPrivate(attr: string): boolean {
  return attr.includes('.');
}

/**
 * The attributes some code of the workspace assigns besides an `__init__`'s flag stores
 * (`*`: some code assigns a computed name), memoised per index: a stored flag is steady when
 * its attribute is not among them.
 */
export class AttributeWrites {
  private written: Set<string> | undefined;
  constructor(private readonly index: PyModuleIndex) {}

  steady(attr: string): boolean {
    if (!this.written) {
      const w = new Set<string>();
      for (const m of this.index.modules) {
        for (const a of m.moduleFact?.attributeWrites ?? []) w.add(a);
        for (const f of m.functions.values()) for (const a of f.attributeWrites ?? []) w.add(a);
      }
      this.written = w;
    }
    return !this.written.has(attr) && (classPrivate(attr) || !this.written.has('*'));
  }
}

/**
 * The stores that may change a read of `read` (`conf[k]` or `flag`), as `python-simulation.ts`
 * indexes them: the attribute re-bound (on any object), the key stored in a container held in
 * that attribute (any object's), a computed key, a computed attribute name. Stores through
 * another name for the same container (`conf = self.conf; conf["k"] = …`) are not seen.
 */
export function storesAffecting(read: string): string[] {
  const open = read.indexOf('[');
  if (open < 0) return [read, '*', `${read}[]`];
  const attr = read.slice(0, open);
  return [attr, read, `${attr}[*]`, '*'];
}

/** The index entries one store goes under (see {@link storesAffecting}). */
export function storeEntries(key: string): string[] {
  const open = key.indexOf('[');
  return open < 0 ? [key] : [key, `${key.slice(0, open)}[]`];
}

/** The environment as a memo key (`''`: nothing known). */
export function envKey(env: FlagEnv | undefined): string {
  if (!env) return '';
  const part = (m: ReadonlyMap<string, PyFlag> | undefined) => (m ? [...m].map(([k, v]) => `${k}=${v === null ? 'N' : v ? 'T' : 'F'}`).sort().join(',') : '');
  const p = part(env.params);
  const s = part(env.self);
  return p || s ? `${p};${s}` : '';
}
