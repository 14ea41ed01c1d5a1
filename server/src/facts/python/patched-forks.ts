/**
 * Tests that replace the fork call with a mock: `@mock.patch("os.fork")` (on the test or on
 * its class), `with mock.patch("os.fork"):`, `mock.patch.object(os, "fork")`,
 * `monkeypatch.setattr(os, "fork", ...)` / `monkeypatch.setattr("os.fork", ...)`. The forks
 * such a test reaches never happen; the function facts say which fork calls are patched. The
 * same patches of a workspace function or method (`@mock.patch("app.Arbiter.spawn_worker")`,
 * `mock.patch.object(worker, "execute")` on an instance a factory made) replace it with a mock
 * while the test runs: what it would do does not happen either.
 */
import type { Node } from '../../parsing/parser';
import { PY_FORK_CALLS, PY_PATCHERS } from '../../knowledge/python-process';
import type { PySourceText } from './source-text';
import { argsOf, stringValue } from './syntax-helpers';
import { ValueOrigins } from './value-origins';
import type { ValueKinds } from './value-kinds';
import { resolve, type CollectedRecords, type RawCall, type Scope } from './walk-records';

/**
 * Fills `patchedForks` of the functions (and methods of classes) a fork patch covers, and
 * `patchedCallables` with the other dotted targets they patch (`app.arbiter.Arbiter.spawn_worker`):
 * a workspace function or method so patched is a mock while the test runs. True when an
 * instance's class was traced through other definitions (`value-origins.ts`): the facts then
 * depend on those definitions too.
 */
export function emitPatchedForks(rec: CollectedRecords, t: PySourceText, kinds: ValueKinds): boolean {
  if (!t.src.includes('patch') && !t.src.includes('setattr')) return false;
  let origins: ValueOrigins | undefined;
  let tracedStandIn = false;
  const instanceClass = (owner: string, scope: Scope) => classOfInstance(owner, scope, (origins ??= new ValueOrigins(rec, t)));
  for (const c of rec.calls) {
    const target = patchedTarget(c, t, instanceClass);
    if (!target) continue;
    const fork = PY_FORK_CALLS.has(target);
    // `side_effect=fake_execute` / `new=fake_execute`: what the stand-in (a function of this file) gives is what the patched call gives.
    const a = fork ? undefined : argsOf(c.node).keywords;
    const given = a?.get('side_effect') ?? a?.get('new');
    const standIn = given ? kinds.outcomeOfName(given, c.scope) : undefined;
    if (standIn) tracedStandIn = true;
    for (const s of coveredScopes(c, rec.scopes)) {
      const fn = s.functionFact;
      if (!fn) continue;
      if (fork) {
        if (!fn.patchedForks?.includes(target)) (fn.patchedForks ??= []).push(target);
      } else if (!fn.patchedCallables?.includes(target)) (fn.patchedCallables ??= []).push(target);
      if (!fork && standIn && !fn.patchedResults?.some((r) => r.target === target)) (fn.patchedResults ??= []).push({ target, ...standIn });
    }
  }
  return origins !== undefined || tracedStandIn;
}

/**
 * The class of the object a plain local name holds, when the calls that made it include a
 * class's constructor (`worker = make_worker()` with `make_worker` returning `Worker(...)`):
 * `patch.object(worker, "run")` then replaces `Worker.run` for the calls the test makes.
 */
function classOfInstance(owner: string, scope: Scope, origins: ValueOrigins): string | undefined {
  if (owner.includes('.')) return undefined;
  for (const made of origins.callsBehind(owner, scope)) {
    const name = made.resolved?.name;
    if (name && made.resolved?.origin !== 'builtin' && /^_*[A-Z]/.test(name.slice(name.lastIndexOf('.') + 1))) return name;
  }
  return undefined;
}

/** The last names of the patchers (`patch`, `object`, `setattr`). */
const PATCHER_LAST_NAMES: ReadonlySet<string> = new Set([...PY_PATCHERS.keys()].map((k) => k.slice(k.lastIndexOf('.') + 1)));

/** The dotted name a patching call replaces (`os.fork`, `app.jobs.Runner.spawn`), if any. */
function patchedTarget(c: RawCall, t: PySourceText, instanceClass: (owner: string, scope: Scope) => string | undefined): string | undefined {
  if (!c.callee) return undefined;
  // A dotted callee keeps its last name when resolved, and it is the method's name too.
  const dot = c.callee.lastIndexOf('.');
  if (dot >= 0 && !PATCHER_LAST_NAMES.has(c.callee.slice(dot + 1))) return undefined;
  const how = PY_PATCHERS.get(resolve(c.callee, c.scope).name) ?? (c.method ? PY_PATCHERS.get(`.${c.method}`) : undefined);
  if (!how) return undefined;
  const a = argsOf(c.node).positional;
  let name: string | undefined;
  if (how === 'target') name = stringValue(a[0])?.value;
  else {
    // `patch.object(os, "fork")`, `monkeypatch.setattr(os, "fork", ...)`, `monkeypatch.setattr("os.fork", ...)`.
    const first = stringValue(a[0])?.value;
    const owner = first === undefined ? t.dotted(a[0] ?? null) : undefined;
    const attr = stringValue(a[1])?.value;
    // An instance (`patch.object(worker, "execute")`) stands for its class's method.
    const resolved = owner ? resolve(owner, c.scope) : undefined;
    const ownerName = owner && resolved ? (resolved.origin === 'import' ? resolved.name : (instanceClass(owner, c.scope) ?? resolved.name)) : undefined;
    name = first ?? (ownerName && attr ? `${ownerName}.${attr}` : undefined);
  }
  return name && name.includes('.') ? name : undefined;
}

/** The functions a patching call covers: the decorated test (every method of a decorated class), or the function it is in. */
function coveredScopes(c: RawCall, scopes: readonly Scope[]): Scope[] {
  let n: Node | null = c.node.parent;
  while (n && n.type !== 'decorator' && n.type !== 'function_definition' && n.type !== 'class_definition') n = n.parent;
  if (n?.type !== 'decorator') return c.scope.kind === 'function' ? [c.scope] : [];
  const def = n.parent?.childForFieldName('definition');
  if (!def) return [];
  if (def.type === 'function_definition') return scopes.filter((s) => s.defNode?.id === def.id);
  const cls = scopes.find((s) => s.kind === 'class' && s.parent && within(def, s));
  return cls ? scopes.filter((s) => s.kind === 'function' && s.cls === cls.cls) : [];
}

/** The class scope `s` is the one `def` (a `class` node) opened: same name, in its text. */
function within(def: Node, s: Scope): boolean {
  const name = def.childForFieldName('name')?.text;
  return !!name && (s.name === name || s.name.endsWith(`.${name}`));
}
