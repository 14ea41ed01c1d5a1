/**
 * C helpers that return a fresh handle, across files (`unreleased-file`):
 *
 * - the helper's side: a function with external linkage whose body returns an opener's
 *   result (`return open(p, O_RDONLY);`, or a local every assignment of which is an opener
 *   call of one family: `int fd = open(p, …); if (fd < 0) return -1; … return fd;`) is
 *   recorded in the file's summary as returning a handle;
 * - the caller's side: `x = helper(…)` where `helper` is not defined in this file and the
 *   function releases `x` itself somewhere (`close(x)`): the call is read as an opener of the
 *   family that release belongs to, and what leaks through it is a pending leak that waits
 *   on the helper's summary (`model/handle-summaries.ts` links it by name).
 */
import { nodeRange, type Node } from '../../parsing/parser';
import type { ForwardedParameter, ReturnedHandle, UsedOnlyParameters } from '../summaries';
import type { CKnowledge } from '../../knowledge/knowledge';
import type { OpenerSpec } from '../../knowledge/c-handles';
import { functionName, parameterNames, unwrapValue } from './syntax';
import { escapeRegExp } from '../../text/regexp';

function calleeOf(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  return f?.type === 'identifier' ? f.text : undefined;
}

function isStatic(def: Node): boolean {
  return def.children.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
}

/** The family of an opener: its releaser (`fclose`, `close`, `closedir`, `pclose`). */
function releaseOf(call: Node | undefined, knowledge: CKnowledge): string | undefined {
  const name = call?.type === 'call_expression' ? calleeOf(call) : undefined;
  const spec = name ? knowledge.openers.get(name) : undefined;
  return spec && spec.consumesArg === undefined ? spec.release : undefined;
}

/** Is `name` declared among a body's `declarations` as an automatic (not `static`) variable? */
function declaredLocal(declarations: readonly (Node | null)[], name: string): boolean {
  for (const d of declarations) {
    if (!d || d.children.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static')) continue;
    for (const decl of d.childrenForFieldName('declarator')) {
      let id: Node | null | undefined = decl;
      while (id && id.type !== 'identifier') id = id.childForFieldName('declarator');
      if (id?.text === name) return true;
    }
  }
  return false;
}

/**
 * The return statements of a function body (its text `bodyText`), in document order: found
 * from the `return` words of the text, each confirmed as the keyword of a return statement,
 * instead of a search of every node of the body.
 */
function returnStatements(body: Node, bodyText: string): Node[] {
  const out: Node[] = [];
  const start = body.startIndex;
  for (let i = bodyText.indexOf('return'); i >= 0; i = bodyText.indexOf('return', i + 6)) {
    const keyword = body.descendantForIndex(start + i, start + i + 6);
    const ret = keyword?.parent;
    if (keyword?.type === 'return' && ret?.type === 'return_statement' && ret.startIndex === start + i) out.push(ret);
  }
  return out;
}

/** What a function returns when every `return <local>` returns a local opened by one family. */
function returnedOpen(body: Node, bodyText: string, knowledge: CKnowledge): Node | undefined {
  let found: Node | undefined;
  // The body's declarations and stores, read once for all its returns; and the locals already
  // found to hold one family's opener (another `return fd;` gives the same answer).
  let declarations: (Node | null)[] | undefined;
  let initDeclarators: (Node | null)[] | undefined;
  let assignments: (Node | null)[] | undefined;
  const accepted = new Set<string>();
  for (const ret of returnStatements(body, bodyText)) {
    const v = ret?.namedChild(0);
    const value = v ? unwrapValue(v) : undefined;
    if (!value) continue;
    if (value.type === 'call_expression' && releaseOf(value, knowledge)) {
      found ??= value;
      continue;
    }
    // A plain local of the function (not a global or a `static` cache that keeps the handle).
    if (value.type !== 'identifier') continue; // `return -1;`, `return NULL;`, a computed status
    if (accepted.has(value.text)) continue;
    if (!declaredLocal((declarations ??= body.descendantsOfType('declaration')), value.text)) return undefined;
    // Every value the local gets is an opener call of one family.
    const opens: Node[] = [];
    let other = false;
    for (const d of (initDeclarators ??= body.descendantsOfType('init_declarator'))) {
      let id: Node | null | undefined = d?.childForFieldName('declarator');
      while (id && id.type !== 'identifier') id = id.childForFieldName('declarator');
      if (id?.text !== value.text) continue;
      const init = d?.childForFieldName('value');
      if (init && releaseOf(unwrapValue(init), knowledge)) opens.push(unwrapValue(init));
      else if (init) other = true;
    }
    for (const a of (assignments ??= body.descendantsOfType('assignment_expression'))) {
      const left = a?.childForFieldName('left');
      if (!left || unwrapValue(left).text !== value.text) continue;
      const right = a?.childForFieldName('right');
      if (right && releaseOf(unwrapValue(right), knowledge)) opens.push(unwrapValue(right));
      else other = true;
    }
    const families = new Set(opens.map((o) => releaseOf(o, knowledge)));
    if (other || opens.length === 0 || families.size !== 1) return undefined;
    found ??= opens[0];
    accepted.add(value.text);
  }
  return found;
}

/** The body returns something named or called (not only `return;` / `return -1;`). */
const RETURNS_VALUE = /\breturn\s*\(?\s*[A-Za-z_]/;

/** A function of this file that returns a fresh handle: the opening call and its opener's spec. */
export interface LocalOpener {
  name: string;
  api: string;
  open: Node;
  spec: OpenerSpec;
  exported: boolean;
}

/** The functions of this file (`static` ones too) that return a fresh handle; `hits` are the (sorted) offsets of opener calls. */
export function localOpeners(functions: readonly Node[], knowledge: CKnowledge, hits: readonly number[]): LocalOpener[] {
  const out: LocalOpener[] = [];
  let h = 0;
  for (const def of [...functions].sort((a, b) => a.startIndex - b.startIndex)) {
    while (h < hits.length && hits[h] < def.startIndex) h++;
    if (h >= hits.length || hits[h] >= def.endIndex) continue; // no opener call inside
    const name = functionName(def);
    const body = def.childForFieldName('body');
    const bodyText = body?.text;
    if (!name || !body || !bodyText || !RETURNS_VALUE.test(bodyText)) continue;
    const open = returnedOpen(body, bodyText, knowledge);
    const api = open ? calleeOf(open) : undefined;
    const spec = api ? knowledge.openers.get(api) : undefined;
    if (open && api && spec) out.push({ name, api, open, spec, exported: !isStatic(def) });
  }
  return out;
}

/** The summary entries of the functions with external linkage among `openers`. */
export function returnedHandlesOf(openers: readonly LocalOpener[]): ReturnedHandle[] {
  return openers.filter((o) => o.exported).map((o) => ({ exportPath: [o.name], functionName: o.name, api: o.api, openRange: nodeRange(o.open) }));
}

/** Where this file calls its own openers (`fd = open_ro(p)`): text offsets of the callee names. */
export function localOpenerCalls(text: string, openers: readonly LocalOpener[]): number[] {
  if (openers.length === 0) return [];
  const re = new RegExp(`\\b(?:${openers.map((o) => escapeRegExp(o.name)).join('|')})\\s*\\(`, 'g');
  return [...text.matchAll(re)].map((m) => m.index);
}

/** A call that may be another file's helper returning a handle: where, and the family its caller releases it with. */
export interface HelperOpenerCall {
  name: string;
  /** The local the result is bound to. */
  variable: string;
  offset: number;
  spec: OpenerSpec;
}

const ASSIGNED_CALL = /\b([A-Za-z_]\w*)\s*=\s*(?:\([^()]*\)\s*)?([A-Za-z_]\w*)\s*\(/g;

/**
 * `x = helper(…)` with `helper` defined in no function of this file, not a known opener or
 * releaser, and `x` released by a known releaser somewhere in the same text: the calls, with
 * the opener family of that release (helpers bound and released two ways are left out).
 */
export function helperOpenerCalls(text: string, localFunctions: ReadonlySet<string>, knowledge: CKnowledge): HelperOpenerCall[] {
  const byRelease = new Map<string, OpenerSpec>();
  for (const spec of knowledge.openers.values()) if (spec.consumesArg === undefined && !byRelease.has(spec.release)) byRelease.set(spec.release, spec);
  // One pass for the locals released by an opener family's releaser (`close(fd)`).
  const releasedWith = new Map<string, Set<string>>();
  const release = new RegExp(`\\b(${[...byRelease.keys()].map(escapeRegExp).join('|')})\\s*\\(\\s*([A-Za-z_]\\w*)\\s*\\)`, 'g');
  for (const m of text.matchAll(release)) releasedWith.set(m[2], (releasedWith.get(m[2]) ?? new Set()).add(m[1]));
  if (releasedWith.size === 0) return [];
  const found: HelperOpenerCall[] = [];
  const families = new Map<string, Set<string>>();
  for (const m of text.matchAll(ASSIGNED_CALL)) {
    const [, variable, name] = m;
    const releases = releasedWith.get(variable);
    if (!releases || releases.size !== 1) continue;
    if (!isOtherFilesFunction(name, localFunctions, knowledge)) continue;
    const spec = byRelease.get([...releases][0]);
    if (!spec) continue;
    const paren = m.index + m[0].length - 1;
    found.push({ name, variable, offset: text.lastIndexOf(name, paren), spec });
    families.set(name, (families.get(name) ?? new Set()).add(spec.release));
  }
  return found.filter((c) => families.get(c.name)!.size === 1);
}

/** A function with external linkage that may return a value (see {@link exportedReturnsOf}). */
export interface ExportedReturns {
  def: Node;
  name: string;
  names: string[];
  returns: { ret: Node; value: Node }[];
}

/**
 * The functions with external linkage among `functions` whose body may return a value, with
 * their parameter names and each `return` that gives one (the value unwrapped of casts and
 * parentheses): what the pass-through and forwarding summaries read (one reading for both).
 */
export function exportedReturnsOf(functions: readonly Node[]): ExportedReturns[] {
  const out: ExportedReturns[] = [];
  for (const def of functions) {
    const body = def.childForFieldName('body');
    const name = functionName(def);
    const bodyText = body?.text;
    if (!body || !name || isStatic(def) || !bodyText || !RETURNS_VALUE.test(bodyText)) continue;
    const returns: { ret: Node; value: Node }[] = [];
    for (const ret of returnStatements(body, bodyText)) {
      const v = ret.namedChild(0);
      if (v) returns.push({ ret, value: unwrapValue(v) });
    }
    out.push({ def, name, names: parameterNames(def), returns });
  }
  return out;
}

/**
 * The functions among `exported` that return one of their parameters as it is
 * (`int checked_fd(int fd) { … return fd; }`): a pass-through, through which a caller's
 * handle goes on in the result. `at` is the return.
 */
export function returnedParametersOf(exported: readonly ExportedReturns[]): UsedOnlyParameters[] {
  const out: UsedOnlyParameters[] = [];
  for (const { def, name, names, returns } of exported) {
    const parameters: number[] = [];
    const at = [];
    for (const { ret, value } of returns) {
      const index = value.type === 'identifier' ? names.indexOf(value.text) : -1;
      if (index < 0 || parameters.includes(index)) continue;
      parameters.push(index);
      at.push(nodeRange(ret));
    }
    if (parameters.length === 0) continue;
    const declarator = def.childForFieldName('declarator');
    const nameNode = declarator?.childForFieldName('declarator') ?? declarator ?? def;
    out.push({ exportPath: [name], functionName: name, parameters, range: nodeRange(nameNode), at });
  }
  return out;
}

/**
 * Whether a called name may be a function of another file: defined in no function of this
 * one, not a known opener or releaser, and not a keyword that `name (` also matches.
 */
function isOtherFilesFunction(name: string, localFunctions: ReadonlySet<string>, knowledge: CKnowledge): boolean {
  return !localFunctions.has(name) && !knowledge.openers.has(name) && !knowledge.releasers.has(name) && !/^(?:if|while|for|switch|return|sizeof)$/.test(name);
}

/** A call that may pass a handle through another file's function: `g = checked_fd(fd)`. */
export interface PassThroughCall {
  /** The callee. */
  name: string;
  /** The local the result is bound to. */
  variable: string;
  offset: number;
  /** The family of the opener the argument was bound to (what `variable` holds if the callee returns it). */
  spec: OpenerSpec;
}

/**
 * `x = helper(…, v, …)` with `helper` defined in no function of this file, not a known opener
 * or releaser, and `v` bound somewhere in the text to a known opener's result (`v = open(…)`):
 * if `helper` returns that argument, `x` holds the handle (pending on its summary).
 */
export function passThroughCalls(text: string, localFunctions: ReadonlySet<string>, knowledge: CKnowledge): PassThroughCall[] {
  const openedWith = new Map<string, OpenerSpec>();
  for (const m of text.matchAll(ASSIGNED_CALL)) {
    const spec = knowledge.openers.get(m[2]);
    if (spec && spec.consumesArg === undefined && !openedWith.has(m[1])) openedWith.set(m[1], spec);
  }
  if (openedWith.size === 0) return [];
  const out: PassThroughCall[] = [];
  for (const m of text.matchAll(ASSIGNED_CALL)) {
    const [, variable, name] = m;
    if (!isOtherFilesFunction(name, localFunctions, knowledge)) continue;
    const open = m.index + m[0].length;
    const close = text.indexOf(')', open);
    if (close < 0) continue;
    const args = text.slice(open, close).split(',').map((a) => a.trim());
    const spec = args.map((a) => (a !== variable ? openedWith.get(a) : undefined)).find((s) => s !== undefined);
    if (spec) out.push({ name, variable, offset: text.lastIndexOf(name, open - 1), spec });
  }
  return out;
}

/**
 * The functions among `exported` that return another function's result with one of their
 * parameters as a plain argument (`int checked(int fd) { return check_fd(fd, 0); }`): if
 * that function returns the argument, so does this one. The callee is linked by name across
 * files (`model/handle-summaries.ts`).
 */
export function forwardedParametersOf(exported: readonly ExportedReturns[]): ForwardedParameter[] {
  const out: ForwardedParameter[] = [];
  for (const { name, names, returns } of exported) {
    for (const { value } of returns) {
      const callee = value.type === 'call_expression' ? calleeOf(value) : undefined;
      if (!callee || callee === name) continue;
      const args = (value.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
      args.forEach((a, argument) => {
        const arg = unwrapValue(a);
        const parameter = arg.type === 'identifier' ? names.indexOf(arg.text) : -1;
        if (parameter < 0) return;
        out.push({ exportPath: [name], functionName: name, parameter, callee: { specifier: '', exportPath: [callee], display: callee }, argument, returned: true, range: nodeRange(value) });
      });
    }
  }
  return out;
}
