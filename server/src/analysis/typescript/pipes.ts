/**
 * `.pipe()` from a stream that owns a file descriptor, with nothing that destroys the
 * source when the destination fails (the `stream-pipe-leak` rule).
 *
 * `Readable.prototype.pipe()` forwards data and the end of the source, but not failure
 * of the destination: when `dest` errors or closes early (an HTTP client aborts a
 * download), the source is unpiped and paused, never ends, never destroyed, and an fs
 * stream only closes its descriptor when it ends or is destroyed.
 *
 * 1. A textual pre-check skips files that never name the fs module, `.pipe` or a stream opener.
 * 2. One walk (`file-index.ts`) records how `fs` was imported, the file's functions (for
 *    the effect summaries of `effects.ts`) and every `.pipe(…)` call.
 * 3. Each outermost `.pipe()` call is unrolled into its chain (`a.pipe(b).pipe(c)`) and the
 *    chain's first source is resolved — inline or through a local variable — to an opener
 *    that owns a descriptor: `fs.createReadStream` or a `FileHandle`'s `createReadStream()`.
 * 4. The source's other mentions decide: a release anywhere but in the source's own
 *    listeners (`res.on('close', () => src.destroy())`, `finished(res, …)`, a local
 *    `cleanup()` that destroys it) or a hand-over (returned, stored, passed to a function
 *    that takes it) silences the finding, as in `unreleased-file`.
 * 5. Findings carry the `pipeline(src, …, dest, cb)` rewrite (`pipeline-fix.ts`).
 * Nothing here throws: a file that trips the analyser yields no findings.
 */
import type { Fix } from '../../text/edits';
import type { Range } from '../../text/locations';
import { isJavaScriptPath, nodeRange, type Node, type Tree } from '../../parsing/parser';
import { FUNCTION_TYPES, MODULE_TYPES } from './cfg';
import { collectReferences, parametersOf, parameterName, type EffectClassifier } from './effects';
import { FileIndex, argumentsOf, compact } from './file-index';
import type { FsBindings } from '../../facts/typescript/imports';
import {
  CONSUMING_EVENTS,
  FS_PIPE_SOURCES,
  FS_SPECIFIER_PATTERN,
  HANDLE_METHODS,
  LISTENER_METHODS,
  NEVER_FAILING_SINKS,
  PIPE_EXEMPT_DESTINATIONS,
  PIPE_SOURCE_NAME_PATTERN,
} from '../../knowledge/typescript-handles';
import { pipelineFix } from './pipeline-fix';
import { ReturnSummaries, type FreshHandle } from './returns';

/** "`getStreamFor()` → `getFileStream()` returns the stream from fs.createReadStream() opened here". */
function returnedByMessage(fresh: FreshHandle): string {
  const chain = fresh.via.map((v) => `${v}()`).join(' → ');
  const element = fresh.tupleIndex !== undefined ? ` as element ${fresh.tupleIndex} of its result` : '';
  return `${chain} returns the stream from ${fresh.api}() opened here${element}`;
}
import { fsFunctionThroughDefaults } from './fs-defaults';
import { recordAnalysisFailure } from '../failures';

/** One link `x.pipe(dest)` of a chain. */
export interface PipeLink {
  /** The whole call expression. */
  call: Node;
  /** From the `pipe` property to the closing parenthesis: what the evidence points at. */
  range: Range;
  dest: Node;
  /** Short label for messages: `'res'`, or `the destination` for a long expression. */
  destLabel: string;
}

/** What the finding reports: one outermost `.pipe()` chain whose first source owns an fd. */
export interface PipeLeak {
  /** The outermost pipe call (the finding's range). */
  range: Range;
  /** The variable the source is held in, or `''` when it is opened inline. */
  variable: string;
  /** The producing call as written, e.g. `fs.createReadStream`, `fh.createReadStream`. */
  api: string;
  openRange: Range;
  links: { range: Range; destLabel: string }[];
  /** Where the final destination comes from: its declaration, or the argument itself. */
  dest: { label: string; range: Range; declared: boolean };
  /** Steps between the open and the pipe (a helper of this file that returns the stream). */
  steps?: { range: Range; message: string }[];
  fixes: Fix[];
}

/** What the chain's first source turned out to be. */
interface OwnedSource {
  api: string;
  open: Node;
  /** Variables whose release or hand-over also frees the descriptor (stream, FileHandle). */
  names: { name: string; scope: Node }[];
  /** Set when a helper of this file returned the stream. */
  returnedBy?: FreshHandle;
}

const TRANSPARENT = new Set(['parenthesized_expression', 'non_null_expression', 'as_expression', 'satisfies_expression', 'type_assertion']);

const MAX_LABEL = 32;

function strip(node: Node, alsoAwait = false): Node {
  let n = node;
  for (;;) {
    if (TRANSPARENT.has(n.type) || (alsoAwait && n.type === 'await_expression')) {
      const inner = n.namedChild(0);
      if (!inner) return n;
      n = inner;
    } else return n;
  }
}

/** `x.m(…)` → `m`, when the callee is a plain member access. */
function methodName(call: Node): string | undefined {
  if (call.type !== 'call_expression') return undefined;
  const f = call.childForFieldName('function');
  if (f?.type !== 'member_expression') return undefined;
  return f.childForFieldName('property')?.text;
}

function receiverOf(call: Node): Node | null {
  return call.childForFieldName('function')?.childForFieldName('object') ?? null;
}

/** Skips calls that return their receiver (`.on(…)`, `.setEncoding(…)`) and wrappers. */
function stripChain(node: Node): Node {
  let n = strip(node);
  for (let guard = 0; guard < 64; guard++) {
    const m = methodName(n);
    const recv = receiverOf(n);
    if (!m || !recv || HANDLE_METHODS[m] !== 'chain') return n;
    n = strip(recv);
  }
  return n;
}

function insideFunction(node: Node): boolean {
  for (let n = node.parent; n; n = n.parent) {
    if (FUNCTION_TYPES.has(n.type)) return true;
    if (MODULE_TYPES.has(n.type) && n.type !== 'internal_module') return false;
  }
  return false;
}

/** `{ autoClose: false }` among the arguments: the stream does not own the descriptor then. */
function disablesAutoClose(call: Node): boolean {
  for (const a of argumentsOf(call)) {
    if (a.type !== 'object') continue;
    for (const p of a.namedChildren) {
      if (p?.type !== 'pair') continue;
      if (p.childForFieldName('key')?.text === 'autoClose' && p.childForFieldName('value')?.text === 'false') return true;
    }
  }
  return false;
}

interface Declaration {
  /** `variable_declarator`, or the parameter node. */
  node: Node;
  /** The node whose subtree holds every mention of the name (function or block). */
  scope: Node;
  kind: 'variable' | 'parameter';
  /** The name is element `tupleIndex` of an array pattern (`const [stream, size] = …`). */
  tupleIndex?: number;
}

/** `name`'s position in `const [a, name] = …`, if the declarator binds it that way. */
function arrayPatternIndex(declarator: Node, name: string): number | undefined {
  const pattern = declarator.childForFieldName('name');
  if (pattern?.type !== 'array_pattern') return undefined;
  const elements = pattern.namedChildren.filter((c) => c && c.type !== 'comment');
  const i = elements.findIndex((e) => e?.type === 'identifier' && e.text === name);
  return i >= 0 ? i : undefined;
}

/** The innermost declaration of `name` visible at `from` (block-scoped, parameters, top level). */
function findDeclaration(name: string, from: Node): Declaration | undefined {
  for (let a: Node | null = from.parent; a; a = a.parent) {
    if (FUNCTION_TYPES.has(a.type)) {
      for (const p of parametersOf(a)) if (parameterName(p) === name) return { node: p, scope: a, kind: 'parameter' };
      continue;
    }
    if (a.type === 'statement_block' || a.type === 'program' || a.type === 'switch_case' || a.type === 'switch_default' || a.type === 'for_statement' || a.type === 'for_in_statement') {
      const candidates: Node[] = [];
      if (a.type === 'for_statement') {
        const init = a.childForFieldName('initializer');
        if (init) candidates.push(init);
      } else if (a.type !== 'for_in_statement') {
        for (const c of a.namedChildren) if (c) candidates.push(c.type === 'export_statement' ? (c.childForFieldName('declaration') ?? c) : c);
      }
      for (const stmt of candidates) {
        if (stmt.type !== 'lexical_declaration' && stmt.type !== 'variable_declaration') continue;
        for (const d of stmt.namedChildren) {
          if (d?.type === 'variable_declarator' && d.childForFieldName('name')?.type === 'identifier' && d.childForFieldName('name')?.text === name) {
            return { node: d, scope: a, kind: 'variable' };
          }
          const tupleIndex = d?.type === 'variable_declarator' ? arrayPatternIndex(d, name) : undefined;
          if (d && tupleIndex !== undefined) return { node: d, scope: a, kind: 'variable', tupleIndex };
        }
      }
    }
  }
  return undefined;
}

/** `x = <value>` assignments to `name` inside `scope`, skipping functions that redeclare it. */
function assignedValues(name: string, scope: Node): Node[] {
  const out: Node[] = [];
  const refs = collectReferences(scope, new Set([name])).get(name) ?? [];
  for (const r of refs) {
    const p = r.parent;
    if (p?.type === 'assignment_expression' && p.childForFieldName('left')?.id === r.id) {
      const right = p.childForFieldName('right');
      if (right) out.push(right);
    }
  }
  return out;
}

/**
 * Walks up from a value (a stream expression or a reference to one) through wrappers and the
 * method calls it is the receiver of: `verdict` answers for each call (method name, call),
 * or lets the walk go on through a chaining method (`s.on(…).setEncoding(…)`). Anything
 * else ends it: false.
 */
function receiverChain(node: Node, verdict: (method: string, call: Node) => boolean | undefined): boolean {
  let cur = node;
  for (let guard = 0; guard < 64; guard++) {
    const p = cur.parent;
    if (!p) return false;
    if (TRANSPARENT.has(p.type)) {
      cur = p;
      continue;
    }
    if (p.type !== 'member_expression' || p.childForFieldName('object')?.id !== cur.id) return false;
    const call = p.parent;
    if (call?.type !== 'call_expression' || call.childForFieldName('function')?.id !== p.id) return false;
    const m = p.childForFieldName('property')?.text ?? '';
    const v = verdict(m, call);
    if (v !== undefined) return v;
    if (HANDLE_METHODS[m] !== 'chain') return false;
    cur = call;
  }
  return false;
}

/** Does this value end up as the receiver of a `.pipe()` call, possibly through chaining methods (`s.on(...).pipe(d)`)? */
function feedsPipe(node: Node): boolean {
  return receiverChain(node, (m) => (m === 'pipe' ? true : undefined));
}

class PipeAnalysis {
  private readonly file: FileIndex;
  private readonly bindings: FsBindings;
  private readonly classifier: EffectClassifier;
  private returns!: ReturnSummaries;

  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    private readonly path: string,
  ) {
    this.file = new FileIndex(tree);
    this.bindings = this.file.bindings;
    this.classifier = this.file.classifier;
  }

  run(): PipeLeak[] {
    const pipes = this.file.collect((n) => methodName(n) === 'pipe');
    if (this.bindings.isEmpty || pipes.length === 0) return [];
    this.returns = new ReturnSummaries(this.file, this.tree);
    const out: PipeLeak[] = [];
    for (const call of pipes) {
      if (feedsPipe(call)) continue; // the receiver of a later `.pipe()`: an inner link
      try {
        const leak = this.check(call);
        if (leak) out.push(leak);
      } catch (err) {
        // One chain's failure must not cost the rest of the file.
        recordAnalysisFailure('the analysis of one .pipe() chain', err);
      }
    }
    out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
    return out;
  }

  /** Unrolls `a.pipe(b).on(…).pipe(c)` from its outermost call: the base source and the links in order. */
  private unroll(outer: Node): { source: Node; links: PipeLink[]; pure: boolean } | undefined {
    const links: PipeLink[] = [];
    let pure = true;
    let cur: Node = outer;
    for (let guard = 0; guard < 64; guard++) {
      const args = argumentsOf(cur);
      const fn = cur.childForFieldName('function');
      const prop = fn?.childForFieldName('property');
      const recv = fn?.childForFieldName('object');
      if (!prop || !recv || args.length === 0) return undefined;
      if (args.length !== 1 || args[0].type === 'spread_element' || cur.childForFieldName('arguments')?.namedChildren.some((c) => c?.type === 'comment')) pure = false;
      links.unshift({
        call: cur,
        range: { start: { line: prop.startPosition.row, character: prop.startPosition.column }, end: nodeRange(cur).end },
        dest: args[0],
        destLabel: label(args[0]),
      });
      // `a.pipe(b).on(…).pipe(c)`: the next link lies under chain methods, which the
      // rewrite cannot keep. Chain methods on the base source are kept (it is passed as written).
      let r = strip(recv);
      if (this.hasPipeBelow(r)) {
        while (methodName(r) !== 'pipe') {
          pure = false;
          const inner = receiverOf(r);
          if (!inner) return undefined;
          r = strip(inner);
        }
        cur = r;
        continue;
      }
      return { source: recv, links, pure };
    }
    return undefined;
  }

  private hasPipeBelow(node: Node): boolean {
    let r = strip(node);
    for (let g = 0; g < 64; g++) {
      const m = methodName(r);
      if (m === 'pipe') return true;
      const inner = receiverOf(r);
      if (!m || !inner || HANDLE_METHODS[m] !== 'chain') return false;
      r = strip(inner);
    }
    return false;
  }

  private check(outer: Node): PipeLeak | undefined {
    if (!insideFunction(outer)) return undefined; // at most one descriptor, for the life of a script
    const chain = this.unroll(outer);
    if (!chain) return undefined;
    const last = chain.links[chain.links.length - 1];
    if (PIPE_EXEMPT_DESTINATIONS.has(compact(last.dest))) return undefined;
    if (chain.links.every((l) => this.neverFails(l.dest))) return undefined;
    const owned = this.ownedSource(chain.source);
    if (!owned) return undefined;
    const pipeCalls = new Set(chain.links.map((l) => l.call.id));
    for (const { name, scope } of owned.names) if (this.releasedOrHandedOn(name, scope, outer, pipeCalls)) return undefined;

    const dest = this.destination(last.dest);
    const variable = strip(chain.source).type === 'identifier' ? strip(chain.source).text : '';
    let fixes: Fix[] = [];
    // A tee (`src.pipe(res); src.pipe(cache)`): one pipeline per branch would let either
    // destination kill the other; which failure should win is a design choice, not a rewrite.
    const tee = variable !== '' && owned.names.some(({ name, scope }) => name === variable && this.pipedElsewhere(name, scope, pipeCalls));
    if (chain.pure && !tee) {
      try {
        fixes = pipelineFix({
          text: this.text,
          root: this.tree.rootNode,
          outer,
          source: chain.source,
          dests: chain.links.map((l) => l.dest),
          typescript: !isJavaScriptPath(this.path),
          path: this.path,
        });
      } catch (err) {
        recordAnalysisFailure('the fix of a .pipe() chain', err);
        fixes = [];
      }
    }
    return {
      range: nodeRange(outer),
      variable,
      api: owned.api,
      openRange: nodeRange(owned.open),
      links: chain.links.map((l) => ({ range: l.range, destLabel: l.destLabel })),
      dest,
      steps: owned.returnedBy ? [{ range: nodeRange(owned.returnedBy.open), message: returnedByMessage(owned.returnedBy) }] : undefined,
      fixes,
    };
  }

  /** A destination that is an in-memory sink which never fails (`crypto.createHash()`), inline or via a `const`. */
  private neverFails(dest: Node): boolean {
    let n = stripChain(dest);
    if (n.type === 'identifier') {
      const d = findDeclaration(n.text, n);
      const v = d?.kind === 'variable' ? d.node.childForFieldName('value') : null;
      if (!v || d?.node.parent?.child(0)?.type !== 'const') return false;
      n = stripChain(v);
    }
    if (n.type !== 'call_expression') return false;
    const callee = n.childForFieldName('function');
    return !!callee && NEVER_FAILING_SINKS.includes(compact(callee));
  }

  private destination(dest: Node): PipeLeak['dest'] {
    const n = strip(dest);
    const text = label(dest);
    if (n.type === 'identifier') {
      const d = findDeclaration(n.text, n);
      if (d) {
        const nameNode = d.kind === 'variable' ? d.node.childForFieldName('name') : (d.node.childForFieldName('pattern') ?? d.node);
        if (nameNode) return { label: text, range: nodeRange(nameNode), declared: true };
      }
    }
    return { label: text, range: nodeRange(dest), declared: false };
  }

  /** Does the chain's first source own a descriptor? Inline opener or a variable bound to one. */
  private ownedSource(source: Node): OwnedSource | undefined {
    const n = stripChain(source);
    if (n.type === 'identifier') {
      const d = findDeclaration(n.text, n);
      if (!d || d.kind !== 'variable') return undefined;
      const values: Node[] = [];
      const init = d.node.childForFieldName('value');
      if (d.tupleIndex !== undefined) {
        const helper = init ? this.helperStream(init, d.tupleIndex) : undefined;
        return helper ? { ...helper, names: [{ name: n.text, scope: d.scope }] } : undefined;
      }
      if (init) values.push(init);
      values.push(...assignedValues(n.text, d.scope));
      for (const v of values) {
        // `stream = await handlers.createReadStream(p)`: awaiting a stream yields the stream.
        const open = this.openerCall(strip(v, true)) ?? this.helperStream(v);
        if (open) return { ...open, names: [{ name: n.text, scope: d.scope }, ...open.names] };
      }
      return undefined;
    }
    return this.openerCall(source) ?? this.helperStream(source);
  }

  /**
   * A call of a function of this file that returns a new fs read stream (as element
   * `tupleIndex` of an array when given): `const [stream, size] = await getStreamFor(id)`.
   */
  private helperStream(expr: Node, tupleIndex?: number): OwnedSource | undefined {
    const n = strip(stripChain(expr), true);
    if (n.type !== 'call_expression') return undefined;
    const fresh = this.returns.ofCall(n);
    if (!fresh || fresh.via.length === 0 || fresh.tupleIndex !== tupleIndex || fresh.ownerClass || fresh.kind !== 'read-stream') return undefined;
    if (disablesAutoClose(fresh.open)) return undefined;
    return { api: compact(n.childForFieldName('function')!), open: n, names: [], returnedBy: fresh };
  }

  /** `fs.createReadStream(…)` or `<FileHandle>.createReadStream(…)`, through chains and wrappers. */
  private openerCall(expr: Node): OwnedSource | undefined {
    const n = stripChain(expr);
    if (n.type !== 'call_expression' && n.type !== 'new_expression') return undefined;
    const callee = n.childForFieldName(n.type === 'new_expression' ? 'constructor' : 'function');
    if (!callee) return undefined;
    if (disablesAutoClose(n)) return undefined;
    const fsFn = this.bindings.resolveCallee(callee) ?? (n.type === 'call_expression' ? fsFunctionThroughDefaults(callee, this.bindings, this.file.functions) : undefined);
    if (fsFn) {
      if (fsFn.module !== 'fs' || !FS_PIPE_SOURCES.has(fsFn.name)) return undefined;
      return { api: n.type === 'new_expression' ? `new ${compact(callee)}` : compact(callee), open: n, names: [] };
    }
    if (n.type !== 'call_expression') return undefined;
    if (callee.type !== 'member_expression' || callee.childForFieldName('property')?.text !== 'createReadStream') return undefined;
    const obj = callee.childForFieldName('object');
    if (!obj) return undefined;
    const fh = this.fileHandle(obj);
    if (!fh) return undefined;
    const api = strip(obj).type === 'identifier' ? `${strip(obj).text}.createReadStream` : 'FileHandle.createReadStream';
    return { api, open: n, names: fh };
  }

  /**
   * Is `expr` a FileHandle this code opened? `(await open(p))`, a variable bound to
   * `await open(p)`, or the parameter of `open(p).then((fh) => …)`. Returns the names
   * through which it can be released (empty for an inline one).
   */
  private fileHandle(expr: Node): { name: string; scope: Node }[] | undefined {
    const n = strip(expr);
    if (n.type === 'await_expression') return this.isFileHandleOpen(strip(n, true)) ? [] : undefined;
    if (n.type !== 'identifier') return undefined;
    const d = findDeclaration(n.text, n);
    if (!d) return undefined;
    if (d.kind === 'variable') {
      const v = d.node.childForFieldName('value');
      if (!v) return undefined;
      const sv = strip(v);
      return sv.type === 'await_expression' && this.isFileHandleOpen(strip(sv, true)) ? [{ name: n.text, scope: d.scope }] : undefined;
    }
    // `open(p).then((fh) => …)`: the first parameter of the `then` callback.
    const fn = d.scope;
    if (parametersOf(fn)[0]?.id !== d.node.id) return undefined;
    let c: Node = fn;
    while (c.parent && TRANSPARENT.has(c.parent.type)) c = c.parent;
    const args = c.parent;
    const then = args?.type === 'arguments' ? args.parent : null;
    if (!then || argumentsOf(then)[0]?.id !== c.id || methodName(then) !== 'then') return undefined;
    const recv = receiverOf(then);
    return recv && this.isFileHandleOpen(strip(recv)) ? [{ name: n.text, scope: fn }] : undefined;
  }

  private isFileHandleOpen(call: Node): boolean {
    if (call.type !== 'call_expression') return false;
    const callee = call.childForFieldName('function');
    const fsFn = callee ? this.bindings.resolveCallee(callee) : undefined;
    return fsFn?.module === 'fs/promises' && fsFn.name === 'open';
  }

  /**
   * Is the stream (or FileHandle) held in `name` destroyed or handed on somewhere other
   * than in the pipe chain itself and its own listeners?
   */
  private releasedOrHandedOn(name: string, scope: Node, outer: Node, pipeCalls: ReadonlySet<number>): boolean {
    const refs = collectReferences(scope, new Set([name])).get(name) ?? [];
    const releasing = this.releasingFunctions(scope, name);
    for (const r of refs) {
      if (this.isDeclarationName(r)) continue;
      if (this.isPipeReceiver(r, pipeCalls)) continue;
      if (this.isFileHandleStreamReceiver(r)) continue;
      // Piping it elsewhere too, `resume()`, a 'data' listener: still flowing from here, not handed on.
      if (this.isConsumed(r)) continue;
      const e = this.classifier.classify(r);
      if (e === 'release' && !this.inOwnListener(r, name) && !runsBefore(r, outer)) return true;
      if (e === 'escape') return true;
    }
    // A local function that destroys it (`cleanup`), mentioned anywhere but its own declaration.
    if (releasing.size > 0) {
      const fnRefs = collectReferences(scope, releasing);
      for (const [, list] of fnRefs) {
        for (const r of list) if (!this.isDeclarationName(r) && !this.inOwnListener(r, name) && !runsBefore(r, outer)) return true;
      }
    }
    return false;
  }

  /** Is `name` also the source of a `.pipe()` outside this chain? */
  private pipedElsewhere(name: string, scope: Node, pipeCalls: ReadonlySet<number>): boolean {
    const refs = collectReferences(scope, new Set([name])).get(name) ?? [];
    return refs.some((r) => !this.isPipeReceiver(r, pipeCalls) && feedsPipe(r));
  }

  /** The receiver (through chain methods) of `.pipe(…)`, `.resume()` or a 'data'/'readable' listener. */
  private isConsumed(ref: Node): boolean {
    return receiverChain(ref, (m, call) => {
      if (m === 'pipe' || m === 'resume') return true;
      if (LISTENER_METHODS.has(m)) {
        const ev = argumentsOf(call)[0];
        if (ev?.type === 'string' && CONSUMING_EVENTS.has(ev.text.slice(1, -1))) return true;
      }
      return undefined;
    });
  }

  private isDeclarationName(id: Node): boolean {
    const p = id.parent;
    if (!p) return false;
    if (p.type === 'variable_declarator' || p.type === 'function_declaration' || p.type === 'generator_function_declaration') {
      return p.childForFieldName('name')?.id === id.id;
    }
    if (p.type === 'required_parameter' || p.type === 'optional_parameter') return p.childForFieldName('pattern')?.id === id.id;
    if (p.type === 'array_pattern') return p.parent?.type === 'variable_declarator' && p.parent.childForFieldName('name')?.id === p.id; // `const [s, n] = …`
    if (p.type === 'arrow_function') return p.childForFieldName('parameter')?.id === id.id; // `x => …`
    if (p.type === 'formal_parameters') return true;
    return false;
  }

  /** The mention is the start of one of the reported chain's links (`src.pipe(res)`, `src.on(…).pipe(res)`). */
  private isPipeReceiver(ref: Node, pipeCalls: ReadonlySet<number>): boolean {
    return receiverChain(ref, (_m, call) => (pipeCalls.has(call.id) ? true : undefined));
  }

  /** `fh.createReadStream()`: the FileHandle mention that opens the piped stream itself. */
  private isFileHandleStreamReceiver(ref: Node): boolean {
    const p = ref.parent;
    return p?.type === 'member_expression' && p.childForFieldName('object')?.id === ref.id && p.childForFieldName('property')?.text === 'createReadStream';
  }

  /** Inside a listener registered on the stream itself (`src.on('error', () => src.destroy())`): no help when the destination fails. */
  private inOwnListener(ref: Node, name: string): boolean {
    for (let n = ref.parent; n; n = n.parent) {
      if (!FUNCTION_TYPES.has(n.type)) continue;
      let c: Node = n;
      while (c.parent && TRANSPARENT.has(c.parent.type)) c = c.parent;
      const args = c.parent;
      const call = args?.type === 'arguments' ? args.parent : null;
      const m = call ? methodName(call) : undefined;
      if (!call || !m || !LISTENER_METHODS.has(m)) continue;
      const recv = receiverOf(call);
      if (recv && stripChain(recv).type === 'identifier' && stripChain(recv).text === name) return true;
    }
    return false;
  }

  /** Functions declared in `scope` (names) whose body destroys `name`, directly or through one another. */
  private releasingFunctions(scope: Node, name: string): Set<string> {
    return new Set(this.file.releasingFunctions(scope, new Set([name]), { generators: false, inClassBodies: true }).keys());
  }
}

function innermostFunction(node: Node): Node | null {
  for (let n = node.parent; n; n = n.parent) if (FUNCTION_TYPES.has(n.type)) return n;
  return null;
}

/**
 * Straight-line code of the piping function that comes before the pipe (an early
 * `catch { src.destroy(); return; }`): it cannot react to the destination failing later.
 */
function runsBefore(ref: Node, outer: Node): boolean {
  return innermostFunction(ref)?.id === innermostFunction(outer)?.id && ref.startIndex < outer.startIndex;
}

/** `'res'` or `'createGzip()'` for a short expression, `the destination` otherwise. */
function label(dest: Node): string {
  const t = compact(strip(dest));
  if (t.length > MAX_LABEL) return 'the destination';
  return !t.includes('(') || /^[\w$.]+\(\)$/.test(t) ? `'${t}'` : 'the destination';
}

/** Finds `.pipe()` chains from a descriptor-owning fs stream that nothing destroys when a destination fails. */
export function analyzeTypeScriptPipes(tree: Tree, text: string, path: string): PipeLeak[] {
  if (!text.includes('.pipe') || !FS_SPECIFIER_PATTERN.test(text) || !PIPE_SOURCE_NAME_PATTERN.test(text)) return [];
  try {
    return new PipeAnalysis(tree, text, path).run();
  } catch (err) {
    recordAnalysisFailure('the stream pipe analysis', err);
    return [];
  }
}
