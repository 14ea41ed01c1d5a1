/**
 * Handle-lifetime analysis for C (`unreleased-file`): a `FILE *`, `DIR *` or descriptor
 * obtained from an opener in `knowledge.ts` must be released, returned or handed on along
 * every path out of the function that holds it.
 *
 * Per file: a text pre-check finds the functions that mention an opener; only those get a
 * control-flow graph (`cfg.ts`). For each opener whose result is bound to a local, the
 * shared path search (`analysis/flow.ts`) looks for a path to an exit on which the handle is
 * neither released nor handed over. Functions of the same file are summarised on demand
 * (does it take over parameter i on every path? does it never return?).
 *
 * Silent by design: handles returned or stored (struct field, global, array, `*out`),
 * handed to a same-file function that releases them, passed to an unknown function (see
 * `cfg-facts.ts`), still open when `main()` returns (the OS reclaims them), and paths that end in
 * `exit()`/`abort()`/`err()`.
 */
import { findLeak, type FlowExitKind } from '../flow';
import type { Fix } from '../../text/edits';
import type { Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import type { HandleAnalyzer, HandleLeak, LeakKind } from '../handles';
import type { FileHandleSummary, PendingLeak, ReleasedInFunction, SummaryCondition, UsedOnlyParameters } from '../summaries';
import { buildFunctionGraph } from './cfg';
import { effectOf, neverReturns, ownsParameter, type CFunctionGraph, type CNode, type OpenSite } from './cfg-graph';
import { NodeFactScanner, type FileContextForCfg } from './cfg-facts';
import { functionName, parameterNames, unwrapValue } from './syntax';
import { chooseFixSite, insertBeforeClosingBrace, insertBeforeStatement, SourceLines, type FixSite } from './fix';
import { BUILTIN_KNOWLEDGE, type CKnowledge } from '../../knowledge/knowledge';
import { RELEASE_FAMILIES, WRONG_RELEASE_REASONS } from '../../knowledge/c-handles';
import { openedFieldOverwrites, ownedFieldOverwrites } from './owned-fields';
import { recordAnalysisFailure } from '../failures';
import { exportedReturnsOf, forwardedParametersOf, helperOpenerCalls, localOpenerCalls, localOpeners, passThroughCalls, returnedHandlesOf, returnedParametersOf, type HelperOpenerCall, type LocalOpener, type PassThroughCall } from './helper-openers';
import { escapeRegExp } from '../../text/regexp';
import { branchCondition, platformsWhere } from '../../facts/c/preprocessor';
import { C_PLATFORMS } from '../../knowledge/c-platforms';
const NORETURN_MARKER = /\b(?:_Noreturn|noreturn|__noreturn__|attribute_noreturn|__attribute_noreturn__)\b/;

const DEFAULT_IGNORED: ReadonlySet<FlowExitKind> = new Set(['process-exit']);
/** In `main()` the process ends at every exit: the OS reclaims what is still open. */
const MAIN_IGNORED: ReadonlySet<FlowExitKind> = new Set(['process-exit', 'return', 'end']);

/**
 * The top-level definitions and declarations of a file that some platform compiles, looking
 * through top-level `#if` blocks and `extern "C"` blocks. A branch that no platform compiles
 * (`#if 0`, a debug-build macro) is skipped, and so is the `#else` of a branch that every
 * platform compiles (`preprocessor.ts` decides).
 */
function compiledTopLevel(root: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node): void => {
    const conditional = isConditional(n) ? branchCondition(n) : undefined;
    const dead = conditional !== undefined && platformsWhere(conditional, 'F').length === C_PLATFORMS.length;
    const alwaysCompiled = conditional !== undefined && platformsWhere(conditional, 'T').length === C_PLATFORMS.length;
    const alternative = conditional !== undefined ? n.childForFieldName('alternative') : null;
    for (const c of n.namedChildren) {
      if (!c) continue;
      const isAlternative = alternative !== null && c.startIndex === alternative.startIndex && c.type === alternative.type;
      if (isAlternative ? alwaysCompiled : dead) continue;
      if (c.type === 'function_definition' || c.type === 'declaration') out.push(c);
      else if (isConditional(c) || c.type === 'preproc_else' || c.type === 'linkage_specification' || c.type === 'declaration_list') visit(c);
    }
  };
  visit(root);
  return out;
}

/** The function definitions of a file that some platform compiles ({@link compiledTopLevel}). */
function topLevelFunctions(root: Node): Node[] {
  return compiledTopLevel(root).filter((n) => n.type === 'function_definition');
}

function isConditional(n: Node): boolean {
  return n.type.startsWith('preproc_if') || n.type.startsWith('preproc_elif');
}

/** Per-file knowledge: graphs, ownership and no-return summaries of the file's functions. */
class FileModel implements FileContextForCfg {
  private readonly byName = new Map<string, Node>();
  private readonly graphs = new Map<number, CFunctionGraph | null>();
  private readonly noreturnMemo = new Map<string, boolean>();
  private readonly ownsMemo = new Map<string, boolean>();
  private readonly declaredNoreturn = new Set<string>();
  readonly takesOwnership = (callee: string, index: number): boolean => this.owns(callee, index);

  constructor(
    readonly text: string,
    readonly functions: Node[],
    root: Node,
    readonly knowledge: CKnowledge,
  ) {
    for (const f of functions) {
      const name = functionName(f);
      if (name && !this.byName.has(name)) this.byName.set(name, f);
    }
    if (NORETURN_MARKER.test(text)) this.collectNoreturnDeclarations(root);
  }

  /** Functions a compiled top-level declaration or definition marks as never returning. */
  private collectNoreturnDeclarations(root: Node): void {
    for (const c of compiledTopLevel(root)) {
      if (c.type === 'function_definition') {
        const body = c.childForFieldName('body');
        const head = this.text.slice(c.startIndex, body ? body.startIndex : c.endIndex);
        const name = functionName(c);
        if (name && NORETURN_MARKER.test(head)) this.declaredNoreturn.add(name);
        continue;
      }
      if (!NORETURN_MARKER.test(this.text.slice(c.startIndex, c.endIndex))) continue;
      for (const d of c.childrenForFieldName('declarator')) {
        let cur: Node | null = d;
        while (cur && cur.type !== 'function_declarator') cur = cur.childForFieldName('declarator');
        const inner = cur?.childForFieldName('declarator');
        if (inner?.type === 'identifier') this.declaredNoreturn.add(inner.text);
      }
    }
  }

  graph(definition: Node): CFunctionGraph | null {
    const key = definition.startIndex;
    if (this.graphs.has(key)) return this.graphs.get(key) ?? null;
    this.graphs.set(key, null); // recursion guard while building
    const g = buildFunctionGraph(definition, this, this.text);
    this.graphs.set(key, g);
    return g;
  }

  isLocalFunction(name: string): boolean {
    return this.byName.has(name) || this.declaredNoreturn.has(name);
  }

  isNoreturn(name: string): boolean {
    if (this.declaredNoreturn.has(name)) return true;
    const memo = this.noreturnMemo.get(name);
    if (memo !== undefined) return memo;
    this.noreturnMemo.set(name, false); // recursion: assume it returns
    const def = this.byName.get(name);
    const g = def ? this.graph(def) : null;
    const result = g ? neverReturns(g) : false;
    this.noreturnMemo.set(name, result);
    return result;
  }

  private owns(name: string, index: number): boolean {
    const key = `${name}#${index}`;
    const memo = this.ownsMemo.get(key);
    if (memo !== undefined) return memo;
    this.ownsMemo.set(key, true); // recursion: assume it takes the handle over
    const def = this.byName.get(name);
    const g = def ? this.graph(def) : null;
    const result = g ? ownsParameter(g, index, this.takesOwnership) : true;
    this.ownsMemo.set(key, result);
    return result;
  }
}

/**
 * Where the handle is lost on the leak path, and where a release could go.
 *
 * The reported place is the first of: a forward `goto` (the classic `goto err;` to a label
 * that does not release), the end of the block that declares the variable or a
 * `break`/`continue`/`goto` leaving that block; otherwise the exit itself (or the overwrite).
 */
function describePath(
  fn: CFunctionGraph,
  site: OpenSite,
  path: CNode[],
  end: CNode,
  overwrite: boolean,
): { kind: LeakKind; range: Range; candidates: FixSite[]; exitRange: Range | null } {
  const jumps: FixSite[] = [];
  const blockEnds: FixSite[] = [];
  let reported: { kind: LeakKind; range: Range } | null = null;
  const insideScope = (index: number | undefined) => index !== undefined && index >= site.scope.start && index < site.scope.end;
  for (const n of path) {
    const p = n.payload;
    if (!p || !n.range) continue;
    if (p.kind === 'goto' && p.tree) {
      const target = p.label ? fn.labelStarts.get(p.label) : undefined;
      jumps.push({ node: n, statement: p.tree, kind: 'goto' });
      // A backward goto that re-runs the open shows up as an overwrite; any other goto on a
      // path that ends at an exit is where the handle is dropped (`goto no_info;`).
      const forward = target !== undefined && target > p.tree.startIndex;
      if (!reported && (forward || !overwrite || (target !== undefined && !insideScope(target)))) reported = { kind: 'goto', range: n.range };
    } else if ((p.kind === 'break' || p.kind === 'continue') && p.tree) {
      jumps.push({ node: n, statement: p.tree, kind: p.kind });
      if (!reported && !insideScope(p.leaves)) reported = { kind: 'end', range: n.range };
    } else if (p.kind === 'block-end' && p.site && p.leaves === site.scope.start) {
      blockEnds.push({ node: n, statement: p.site, kind: 'end' });
      if (!reported) reported = { kind: 'end', range: n.range };
    }
  }
  const candidates: FixSite[] = [...blockEnds];
  let exitRange: Range | null = null;
  if (!overwrite) {
    exitRange = end.range ?? nodeRange(fn.body);
    if (end.exit === 'return') {
      const returnNode = [...path].reverse().find((n) => n.payload?.kind === 'return');
      const stmt = end.payload?.site;
      if (returnNode && stmt) candidates.push({ node: returnNode, statement: stmt, kind: 'return' });
    } else if (end.exit === 'end') {
      const brace = end.payload?.site;
      if (brace) candidates.push({ node: end, statement: brace, kind: 'end' });
    }
  }
  candidates.push(...jumps);
  if (reported) return { ...reported, candidates, exitRange: reported.kind === 'goto' ? exitRange : null };
  if (overwrite) return { kind: 'overwrite', range: end.range ?? nodeRange(site.call), candidates, exitRange: null };
  const range = exitRange ?? nodeRange(fn.body);
  return { kind: end.exit === 'return' ? 'return' : 'end', range, candidates, exitRange };
}

function fixTitle(fn: CFunctionGraph, variable: string, release: string, site: FixSite): string {
  const line = site.statement.startPosition.row + 1;
  const owner = site.statement.parent?.startIndex === fn.body.startIndex ? 'function' : 'block';
  const where = site.kind === 'end' ? `at the end of the ${owner} (line ${line})` : `before the ${site.kind} on line ${line}`;
  return `Close '${variable}' with ${release}() ${where}`;
}

/**
 * The effect of each statement on handle `v`, where a stream that adopted it (`f =
 * fdopen(v, …)`) takes it over only when it succeeds: the adoption itself is no hand-over,
 * and from there releasing or handing on the stream releases or hands on `v` too. On the
 * branch where the stream is null, `v` is still open and must be closed.
 */
function adoptionAwareEffect(fn: CFunctionGraph, v: string, takesOwnership: (callee: string, index: number) => boolean): (n: CNode) => ReturnType<typeof effectOf> {
  const adopters = new Set<string>();
  for (const id of fn.reachable) for (const a of fn.graph.nodes[id].payload?.facts?.adopts ?? []) if (a.variable === v) adopters.add(a.by);
  if (adopters.size === 0) return (n) => effectOf(n, v, takesOwnership);
  return (n) => {
    const adoptsHere = n.payload?.facts?.adopts.some((a) => a.variable === v) ?? false;
    const own = effectOf(n, v, takesOwnership);
    if (own !== 'none' && !(adoptsHere && own === 'escape')) return own;
    for (const by of adopters) {
      const e = effectOf(n, by, takesOwnership);
      if (e === 'release' || e === 'escape') return e;
    }
    return 'none';
  };
}

/**
 * A handle released by a call of another family than its opener's (`fclose()` on a
 * `popen()` stream): the first such release after the open, as a finding whose fix
 * calls the right releaser (unsafe: `pclose()` also waits for the child).
 */
function wrongRelease(fn: CFunctionGraph, site: OpenSite): HandleLeak | undefined {
  const expectedFamily = RELEASE_FAMILIES.get(site.spec.release);
  if (!expectedFamily) return undefined;
  const seen = new Set<number>([site.held.id]);
  const queue = [site.held];
  while (queue.length > 0) {
    const n = queue.shift()!;
    const facts = n.payload?.facts;
    const released = facts?.releasedBy.get(site.variable);
    if (released && n.id !== site.held.id) {
      const family = RELEASE_FAMILIES.get(released.callee);
      if (!family || family === expectedFamily) continue;
      const callee = released.call.childForFieldName('function');
      const range = nodeRange(released.call);
      return {
        variable: site.variable,
        api: site.api,
        openRange: nodeRange(site.call),
        leakRange: range,
        leakKind: 'wrong-release',
        leakLine: range.start.line + 1,
        wrongRelease: { used: released.callee, expected: site.spec.release, reason: WRONG_RELEASE_REASONS[expectedFamily] },
        fixes: callee
          ? [{ title: `Release '${site.variable}' with ${site.spec.release}()`, applicability: 'unsafe', edits: [{ range: nodeRange(callee), newText: site.spec.release }] }]
          : [],
      };
    }
    if (facts?.assigns.has(site.variable) && n.id !== site.held.id) continue;
    for (const e of n.succ) {
      if (e.exceptional || seen.has(e.to)) continue;
      seen.add(e.to);
      queue.push(fn.graph.nodes[e.to]);
    }
  }
  return undefined;
}

/**
 * A leak hidden only by passing the handle to functions this file does not define
 * (`slurp_fd(fd)` in another file): searched again with those calls read as uses, and kept
 * as pending on their summaries — each must only use the handle (see `model/handle-summaries.ts`).
 */
function presumedHandOverLeak(
  fn: CFunctionGraph,
  site: OpenSite,
  effect: (n: CNode) => ReturnType<typeof effectOf>,
  ignored: ReadonlySet<FlowExitKind>,
): PendingLeak | undefined {
  const v = site.variable;
  const presumedAt = (n: CNode) => {
    const facts = n.payload?.facts;
    if (!facts || facts.firmEscapes.has(v) || facts.releases.has(v)) return undefined;
    const calls = facts.presumed.filter((p) => p.variable === v);
    return calls.length > 0 ? calls : undefined;
  };
  let any = false;
  for (const id of fn.reachable) if (presumedAt(fn.graph.nodes[id])) any = true;
  if (!any) return undefined;
  const optimistic = (n: CNode) => (presumedAt(n) ? 'none' : effect(n));
  const leak = findLeak(fn.graph, site.held, v, optimistic, ignored);
  if (!leak) return undefined;
  const conditions: SummaryCondition[] = [];
  for (const n of leak.path) {
    for (const p of presumedAt(n) ?? []) conditions.push({ kind: 'only-uses', callee: { specifier: '', exportPath: [p.callee], display: p.callee }, argument: p.index });
  }
  if (conditions.length === 0) return undefined;
  const described = describePath(fn, site, leak.path, leak.node, leak.kind === 'overwrite');
  return {
    leak: leakAt(site, described, [], []),
    requires: conditions.length === 1 ? conditions[0] : { kind: 'all-of', conditions },
  };
}

/**
 * `g = checked_fd(fd)` read as an open of `g` (the callee a pass-through candidate): the
 * handle of this function passed as an argument there, if one is — a site opened before the
 * call whose variable is the plain argument and is not named again after the statement (then
 * `g` is the one name left holding it).
 */
function passedThrough(fn: CFunctionGraph, site: OpenSite): { from: OpenSite; argument: number } | undefined {
  const args = (site.call.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
  let stmt: Node = site.call;
  while (stmt.parent && stmt.parent.type !== 'compound_statement') stmt = stmt.parent;
  const rest = fn.body.text.slice(Math.max(0, stmt.endIndex - fn.body.startIndex));
  for (let i = 0; i < args.length; i++) {
    const a = unwrapValue(args[i]);
    if (a.type !== 'identifier' || a.text === site.variable) continue;
    const from = fn.openSites.find((o) => o !== site && o.variable === a.text && o.call.endIndex <= site.call.startIndex && o.spec.release === site.spec.release);
    if (!from || new RegExp(`\\b${escapeRegExp(a.text)}\\b`).test(rest)) continue;
    return { from, argument: i };
  }
  return undefined;
}

/**
 * When `site`'s handle is released on every path before the function returns — not returned,
 * stored or handed on anywhere, and not kept open until `main()` returns — the source span of
 * the statements that run while it is open (from the first to the last in the source, the
 * releases and process exits included); otherwise null. A path that ends the process
 * (`exit()`) ends the handle too.
 */
function releasedOnEveryPath(fn: CFunctionGraph, site: OpenSite, effect: (n: CNode) => ReturnType<typeof effectOf>): Range | null {
  const v = site.variable;
  // A hand-over ends the search as a leak would: the handle outlives the function.
  const strict = (n: CNode) => {
    const e = effect(n);
    return e === 'escape' ? 'overwrite' : e;
  };
  if (findLeak(fn.graph, site.held, v, strict, DEFAULT_IGNORED)) return null;
  let held: Range = nodeRange(site.call);
  let released = false;
  const seen = new Set<number>([site.held.id]);
  const queue: CNode[] = [site.held];
  while (queue.length > 0) {
    const n = queue.shift()!;
    if (n.range) held = spanOf(held, n.range);
    if (n !== site.held && effect(n) === 'release') {
      released = true;
      continue;
    }
    for (const e of n.succ) {
      if (e.nullVars?.includes(v) || seen.has(e.to)) continue;
      seen.add(e.to);
      queue.push(fn.graph.nodes[e.to]);
    }
  }
  return released ? held : null;
}

function spanOf(a: Range, b: Range): Range {
  const before = (x: Range['start'], y: Range['start']) => x.line < y.line || (x.line === y.line && x.character < y.character);
  return { start: before(b.start, a.start) ? b.start : a.start, end: before(a.end, b.end) ? b.end : a.end };
}

/** The leak of `site` where `described` says the handle is lost. */
function leakAt(site: OpenSite, described: { range: Range; kind: LeakKind }, steps: { range: Range; message: string }[], fixes: Fix[]): HandleLeak {
  return {
    variable: site.variable,
    api: site.api,
    openRange: nodeRange(site.call),
    leakRange: described.range,
    leakKind: described.kind,
    leakLine: described.range.start.line + 1,
    ...(steps.length > 0 ? { steps } : {}),
    fixes,
  };
}

/** Parameters that may hold a handle, by their declaration: `FILE *`, `DIR *`, an `int` fd. */
/** A cheap pre-check for {@link helperOpenerCalls}: the file releases a plain local with a known releaser. */
const HELPER_RESULT_RELEASED = /\b(?:f?close|closedir|pclose)\s*\(\s*[A-Za-z_]\w*\s*\)/;

const HANDLE_PARAMETER = /\b(?:FILE|DIR)\s*\*|\bint\s+\w*(?:fd|sock|desc)\w*\b/i;

/**
 * Functions of this file with external linkage that only use some of their handle-like
 * parameters: on no path do they close, keep or hand on what they are given there.
 */
function usedOnlyParameters(model: FileModel, functions: Node[]): UsedOnlyParameters[] {
  const out: UsedOnlyParameters[] = [];
  // Flow-insensitive on purpose: one scan of the whole body (no graph) says whether any
  // statement closes, keeps or hands on the parameter.
  const scanner = new NodeFactScanner(model, model.text, () => null);
  for (const def of functions) {
    const declarator = def.childForFieldName('declarator');
    const body = def.childForFieldName('body');
    if (!declarator || !body || !HANDLE_PARAMETER.test(declarator.text)) continue;
    if (def.children.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static')) continue;
    const name = functionName(def);
    if (!name) continue;
    const facts = scanner.scan(body);
    const used: number[] = [];
    parameterNames(def).forEach((p, i) => {
      // Handed to another function of this file: not followed here (it would cost its graph).
      if (!p || facts.releases.has(p) || facts.escapes.has(p) || facts.assigns.has(p) || facts.localCalls.some((c) => c.variable === p)) return;
      used.push(i);
    });
    const nameNode = declarator.childForFieldName('declarator') ?? declarator;
    if (used.length > 0) out.push({ exportPath: [name], functionName: name, parameters: used, range: nodeRange(nameNode) });
  }
  return out;
}

/**
 * `helpers`: names of other files' functions read as openers here (`helper-openers.ts`); a
 * leak through one of them is pending on its summary ("returns a fresh handle").
 */
function analyzeFunction(
  model: FileModel,
  fn: CFunctionGraph,
  src: SourceLines,
  out: HandleLeak[],
  pending: PendingLeak[],
  helpers: ReadonlySet<string> = new Set(),
  ownOpeners: ReadonlyMap<string, { range: Range; message: string }> = new Map(),
  released?: ReleasedInFunction[],
  passThroughs: ReadonlySet<string> = new Set(),
): void {
  const isMain = fn.name === 'main';
  const ignored = isMain ? MAIN_IGNORED : DEFAULT_IGNORED;
  for (const site of fn.openSites) {
    if (!fn.reachable.has(site.held.id)) continue;
    const v = site.variable;
    const through = passThroughs.has(site.api) ? passedThrough(fn, site) : undefined;
    if (through) {
      const effect = adoptionAwareEffect(fn, v, model.takesOwnership);
      const leak = findLeak(fn.graph, site.held, v, effect, ignored);
      const returns: SummaryCondition = { kind: 'returns-parameter', callee: { specifier: '', exportPath: [site.api], display: site.api }, argument: through.argument };
      const requires: SummaryCondition = helpers.has(site.api) ? { kind: 'any-of', conditions: [returns, { kind: 'returns-handle', callee: returns.callee }] } : returns;
      if (leak) {
        const at = leakAt(site, describePath(fn, site, leak.path, leak.node, leak.kind === 'overwrite'), [{ range: nodeRange(site.call), message: `the handle goes on as '${v}' here: ${site.api}() returns it` }], []);
        pending.push({ leak: { ...at, api: through.from.api, openRange: nodeRange(through.from.call) }, requires });
      }
      continue;
    }
    if (passThroughs.has(site.api) && !helpers.has(site.api)) continue;
    if (helpers.has(site.api)) {
      const returns: SummaryCondition = { kind: 'returns-handle', callee: { specifier: '', exportPath: [site.api], display: site.api } };
      const effect = adoptionAwareEffect(fn, v, model.takesOwnership);
      const leak = findLeak(fn.graph, site.held, v, effect, ignored);
      if (leak) pending.push({ leak: leakAt(site, describePath(fn, site, leak.path, leak.node, leak.kind === 'overwrite'), [], []), requires: returns });
      else {
        const maybe = presumedHandOverLeak(fn, site, effect, ignored);
        if (maybe) pending.push({ leak: maybe.leak, requires: { kind: 'all-of', conditions: [returns, maybe.requires] } });
      }
      continue;
    }
    const wrong = wrongRelease(fn, site);
    if (wrong) {
      out.push(wrong);
      continue;
    }
    const effect = adoptionAwareEffect(fn, v, model.takesOwnership);
    const leak = findLeak(fn.graph, site.held, v, effect, ignored);
    if (!leak) {
      const maybe = presumedHandOverLeak(fn, site, effect, ignored);
      if (maybe) pending.push(maybe);
      else if (released) {
        const held = releasedOnEveryPath(fn, site, effect);
        if (held) released.push({ openRange: nodeRange(site.call), heldRange: held });
      }
      continue;
    }
    const described = describePath(fn, site, leak.path, leak.node, leak.kind === 'overwrite');
    const fixes: Fix[] = [];
    const fixSite = chooseFixSite(fn, site, described.candidates, effect);
    if (fixSite) {
      const call = `${site.spec.release}(${v});`;
      const block = fixSite.statement.parent;
      const edits =
        fixSite.kind === 'end'
          ? insertBeforeClosingBrace(block ?? fn.body, fixSite.statement, call, src)
          : insertBeforeStatement(fixSite.statement, call, src);
      fixes.push({ title: fixTitle(fn, v, site.spec.release, fixSite), applicability: 'unsafe', edits });
    }
    const steps: { range: Range; message: string }[] = [];
    const returnedBy = ownOpeners.get(site.api);
    if (returnedBy) steps.push(returnedBy);
    const adoption = leak.path.find((n) => n.range && n.payload?.facts?.adopts.some((a) => a.variable === v));
    const adopter = adoption?.payload?.facts?.adopts.find((a) => a.variable === v);
    if (adoption?.range && adopter) {
      const api = adoption.payload?.facts?.opens.find((o) => o.variable === adopter.by)?.api ?? 'the wrapping call';
      steps.push({ range: adoption.range, message: `${api}() takes '${v}' over only if it succeeds; on this path '${adopter.by}' is null and '${v}' is still open` });
    }
    if (described.kind === 'goto' && described.exitRange) steps.push({ range: described.exitRange, message: 'the jump leads here, where the function ends without releasing it' });
    out.push(leakAt(site, described, steps, fixes));
  }
  if (isMain) return;
  for (const u of fn.unboundSites) {
    if (!fn.reachable.has(u.evalNode.id) || helpers.has(u.api) || ownOpeners.has(u.api) || passThroughs.has(u.api)) continue;
    const range = nodeRange(u.call);
    out.push({ variable: '', api: u.api, openRange: range, leakRange: range, leakKind: 'unbound', leakLine: range.start.line + 1, fixes: [] });
  }
}

/**
 * Like {@link analyzeCHandles}, but reports a failure in one function through `onError`
 * (the scratch benchmarks use it) instead of swallowing it; the other functions still run.
 */
export function collectCHandleLeaks(
  tree: Tree,
  text: string,
  onError?: (error: unknown, functionName: string) => void,
  knowledge: CKnowledge = BUILTIN_KNOWLEDGE.c,
): HandleLeak[] {
  return collectCHandles(tree, text, onError, knowledge).leaks;
}

/** A file's leaks and what other files need to know about its handles. */
export interface CHandleResult {
  leaks: HandleLeak[];
  summary: FileHandleSummary;
}

function collectCHandles(tree: Tree, text: string, onError: ((error: unknown, functionName: string) => void) | undefined, knowledge: CKnowledge): CHandleResult {

  const openerPattern = knowledge.openerPattern;
  openerPattern.lastIndex = 0;
  const hits: number[] = [];
  for (let m = openerPattern.exec(text); m; m = openerPattern.exec(text)) hits.push(m.index);
  let listed: Node[] | undefined;
  const functionsOf = () => (listed ??= topLevelFunctions(tree.rootNode));
  const out: HandleLeak[] = ownedFieldOverwrites(text, functionsOf);
  const pending: PendingLeak[] = [];
  const summary: FileHandleSummary = { returnedHandles: [], pendingLeaks: pending };
  const mayUseOnly = HANDLE_PARAMETER.test(text);
  if (hits.length > 0) out.push(...openedFieldOverwrites(tree.rootNode, hits, (name) => knowledge.openers.has(name)));
  // Calls of other files' helpers that may return a handle: read as openers, leaks through them pending.
  let helperCalls: HelperOpenerCall[] = [];
  if (HELPER_RESULT_RELEASED.test(text)) {
    const functions = functionsOf();
    const local = new Set(functions.map((f) => functionName(f)).filter((n): n is string => !!n));
    helperCalls = helperOpenerCalls(text, local, knowledge).filter((c) => {
      const def = functions.find((f) => f.startIndex <= c.offset && c.offset < f.endIndex);
      return !!def && new RegExp(`\\b${escapeRegExp(c.spec.release)}\\s*\\(\\s*${escapeRegExp(c.variable)}\\s*\\)`).test(def.text);
    });
  }
  // Calls that may hand an opened handle back through another file's function (`g = checked_fd(fd)`).
  let passThrough: PassThroughCall[] = [];
  if (hits.length > 0) {
    const functions = functionsOf();
    passThrough = passThroughCalls(text, new Set(functions.map((f) => functionName(f)).filter((n): n is string => !!n)), knowledge);
  }
  if (hits.length === 0 && !mayUseOnly && helperCalls.length === 0) return { leaks: out.sort(byOpenPosition), summary };
  const functions = functionsOf();
  const helpers = new Set(helperCalls.map((c) => c.name));
  const passThroughs = new Set(passThrough.map((c) => c.name));
  // This file's own functions that return a fresh handle: openers at their call sites here.
  let own: LocalOpener[] = [];
  if (hits.length > 0) {
    try {
      own = localOpeners(functions, knowledge, hits).filter((o) => !knowledge.openers.has(o.name));
      const returned = returnedHandlesOf(own);
      if (returned.length > 0) summary.returnedHandles = returned;
    } catch (error) {
      onError?.(error, '(summaries)');
    }
  }
  let fileKnowledge = knowledge;
  if (helperCalls.length > 0 || own.length > 0 || passThrough.length > 0) {
    const openers = new Map(knowledge.openers);
    for (const c of passThrough) openers.set(c.name, { ...c.spec, derived: true });
    for (const c of helperCalls) openers.set(c.name, { ...c.spec, derived: true });
    for (const o of own) openers.set(o.name, { ...o.spec, derived: true });
    fileKnowledge = { ...knowledge, openers };
    hits.push(...helperCalls.map((c) => c.offset), ...passThrough.map((c) => c.offset), ...localOpenerCalls(text, own));
    hits.sort((a, b) => a - b);
  }
  const ownSteps = new Map(own.map((o) => [o.name, { range: nodeRange(o.open), message: `${o.name}() returns a new handle from ${o.api}() here` }]));
  const model = new FileModel(text, functions, tree.rootNode, fileKnowledge);
  if (mayUseOnly) {
    try {
      const used = usedOnlyParameters(model, functions);
      if (used.length > 0) summary.parametersUsedOnly = used;
      const withHandles = functions.filter((f) => HANDLE_PARAMETER.test(f.childForFieldName('declarator')?.text ?? ''));
      const exported = exportedReturnsOf(withHandles);
      const returnedParameters = returnedParametersOf(exported);
      if (returnedParameters.length > 0) summary.parametersReturned = returnedParameters;
      const forwarded = forwardedParametersOf(exported);
      if (forwarded.length > 0) summary.parametersForwarded = forwarded;
    } catch (error) {
      onError?.(error, '(summaries)');
    }
  }
  const src = new SourceLines(text);
  const released: ReleasedInFunction[] = [];
  for (const def of functions) {
    if (hits.length === 0) break;
    // hits are sorted: binary search for the first one at or after the definition's start
    let lo = 0;
    let hi = hits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (hits[mid] < def.startIndex) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= hits.length || hits[lo] >= def.endIndex) continue;
    try {
      const fn = model.graph(def);
      if (fn) analyzeFunction(model, fn, src, out, pending, helpers, ownSteps, released, passThroughs);
    } catch (error) {
      onError?.(error, functionName(def) ?? '?');
    }
  }
  if (released.length > 0) summary.releasedInFunction = released;
  return { leaks: out.sort(byOpenPosition), summary };
}

function byOpenPosition(a: HandleLeak, b: HandleLeak): number {
  return a.openRange.start.line - b.openRange.start.line || a.openRange.start.character - b.openRange.start.character;
}

const LAST = new WeakMap<Tree, { text: string; knowledge: CKnowledge; result: CHandleResult }>();
const EMPTY: CHandleResult = { leaks: [], summary: { returnedHandles: [], pendingLeaks: [] } };

/** Both halves, once per tree (the rule asks for the leaks, the engine for the summary); never throws. */
export function analyzeCFile(tree: Tree, text: string, knowledge: CKnowledge = BUILTIN_KNOWLEDGE.c): CHandleResult {
  const hit = LAST.get(tree);
  if (hit && hit.text === text && hit.knowledge === knowledge) return hit.result;
  let result: CHandleResult;
  try {
    result = collectCHandles(tree, text, (error, name) => recordAnalysisFailure(`the C handle analysis of ${name}()`, error), knowledge);
  } catch (err) {
    recordAnalysisFailure('the C handle analysis', err);
    result = EMPTY;
  }
  LAST.set(tree, { text, knowledge, result });
  return result;
}

/** The C front end of `unreleased-file`. Never throws: a function that fails is skipped. */
export const analyzeCHandles: HandleAnalyzer = (tree, text, _path, knowledge = BUILTIN_KNOWLEDGE) => analyzeCFile(tree, text, knowledge.c).leaks;

/** What other files need to know about this one's handles (see `analysis/summaries.ts`). */
export function summarizeCHandles(tree: Tree, text: string, knowledge: CKnowledge = BUILTIN_KNOWLEDGE.c): FileHandleSummary {
  return analyzeCFile(tree, text, knowledge).summary;
}
