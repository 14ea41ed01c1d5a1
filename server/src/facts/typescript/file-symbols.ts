/**
 * What the names of one TypeScript/JavaScript file mean: its functions (by id, simple name and
 * start offset), its classes, and the local names its imports bind. The walk fills these in;
 * afterwards they resolve a callee to a function of this file or to an imported name the
 * model follows, and find the local name a fix can use for a built-in module's export.
 */
import type { Node } from '../../parsing/parser';
import { builtinModule } from '../../knowledge/typescript-heartbeat';
import type { TsCallFact, TsFunctionFact } from './fact-types';
import { FUNCTION_NODE_TYPES, REQUIRE_LOCAL_PREFIX, anonId, calleeRef, unbind, type CalleeRef } from './syntax';

export class FileSymbols {
  readonly functions = new Map<string, { fact: TsFunctionFact; node: Node }>();
  readonly byName = new Map<string, TsFunctionFact[]>();
  readonly byStart = new Map<number, string>();
  readonly classes = new Set<string>();
  readonly exportedClasses = new Set<string>();
  /** Function id → its parameters whose default value names a function (`run = defaultRun`). */
  readonly parameterDefaults = new Map<string, Map<string, Node>>();
  /** Local name → (module specifier, exported name) for every import of the file. */
  readonly bindings = new Map<string, { specifier: string; name: string }>();

  /** Records a function: by id, by start offset, and by simple name when it has one. */
  addFunction(fact: TsFunctionFact, node: Node): void {
    this.functions.set(fact.id, { fact, node });
    this.byStart.set(node.startIndex, fact.id);
    const name = fact.name;
    if (name) {
      const list = this.byName.get(name) ?? [];
      list.push(fact);
      this.byName.set(name, list);
    }
  }

  builtinBinding(local: string): { module: string; name: string } | undefined {
    const b = this.bindings.get(local);
    if (!b) return undefined;
    const module = builtinModule(b.specifier);
    if (!module) return undefined;
    return { module, name: b.name === 'default' ? '*' : b.name };
  }

  /** A local name bound to `module` (namespace when `name` is `*`). */
  localFor(module: string, name: string): string | undefined {
    for (const [local, b] of this.bindings) {
      // An unbound `require()` has no name a fix could write.
      if (local.startsWith(REQUIRE_LOCAL_PREFIX)) continue;
      const m = builtinModule(b.specifier);
      if (m === module && (b.name === name || (name === '*' && b.name === 'default'))) return local;
    }
    return undefined;
  }

  /** Resolves a callee against this file's functions: the function id, or the import-bound callee text. */
  resolveRef(ref: CalleeRef, fn: string, cls: string | undefined, depth = 0): { target?: string; callee?: string } | undefined {
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
    for (let scope: string | undefined = fn; scope !== undefined; scope = scope === '' ? undefined : this.functions.get(scope)?.fact.parent ?? '') {
      const byDefault = this.parameterDefaults.get(scope)?.get(ref.name);
      if (byDefault) return depth < 4 ? this.resolveDefault(byDefault, scope, cls, depth + 1) : undefined;
      const hit = candidates?.find((c) => c.parent === scope && !c.className);
      if (hit) return { target: hit.id };
    }
    if (this.bindings.has(ref.name) && !builtinModule(this.bindings.get(ref.name)!.specifier)) return { callee: ref.name };
    return undefined;
  }

  /** What a parameter's default value (`run = defaultRun`) runs, looked up where the function is declared. */
  private resolveDefault(value: Node, fn: string, cls: string | undefined, depth: number): { target?: string; callee?: string } | undefined {
    if (FUNCTION_NODE_TYPES.has(value.type)) {
      const id = this.byStart.get(value.startIndex);
      return id ? { target: id } : undefined;
    }
    const ref = calleeRef(value);
    return ref ? this.resolveRef(ref, this.functions.get(fn)?.fact.parent ?? '', cls, depth) : undefined;
  }

  /** `new X()`: the constructor of a class of this file, or an imported class the model resolves. */
  resolveNew(ref: CalleeRef): Partial<TsCallFact> | undefined {
    if (ref.kind === 'ident' && this.classes.has(ref.name)) return this.functions.has(`${ref.name}.constructor`) ? { target: `${ref.name}.constructor`, constructorCall: true } : undefined;
    const head = ref.kind === 'ident' ? ref.name : ref.kind === 'member' ? ref.obj : undefined;
    if (head === undefined) return undefined;
    const b = this.bindings.get(head);
    if (!b || builtinModule(b.specifier)) return undefined;
    return { callee: ref.kind === 'ident' ? ref.name : `${head}.${(ref as { prop: string }).prop}`, constructorCall: true };
  }

  classOf(fn: string): string | undefined {
    for (let id = fn; id; id = this.functions.get(id)?.fact.parent ?? '') {
      const c = this.functions.get(id)?.fact.className;
      if (c) return c;
      if (!this.functions.has(id)) break;
    }
    return undefined;
  }

  callbackOf(arg: Node, fn: string, cls: string | undefined): { target?: string; callee?: string; node?: Node; name?: string } | undefined {
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
}
