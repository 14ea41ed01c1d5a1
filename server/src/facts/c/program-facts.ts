/**
 * C program facts: one walk over each file's tree collects what the program model and the
 * FORK/FD rules need (see `program-types.ts` for the fact kinds): function definitions
 * and their calls in evaluation order, fork sites with their child regions, thread
 * starts, exec calls, close-all idioms, at-fork registrations, descriptors cached in
 * long-lived storage, descriptor-producing calls with their close-on-exec judgement, and
 * `fstat` re-validations. Nothing here throws on odd code; unrecognised shapes are skipped.
 */
import type { Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import {
  ATFORK_CALLS,
  CLOSE_ALL_CALLS,
  CLOSE_ONE,
  CLOSE_RANGE_CLOEXEC,
  EXEC_CALLS,
  FD_PRODUCERS,
  FD_SOURCES,
  FORK_CALLS,
  FSTAT_CALLS,
  LIBRARY_FD_CACHES,
  SPAWN_CALLS,
  THREAD_STARTS,
} from '../../knowledge/c-process';
import { TRANSPARENT_WRAPPERS } from '../../knowledge/c-handles';
import { judgeFdCall } from './program-fd';
import { calleeName, EXEC_IN_EVERY_BRANCH, forkShapeAt, regionEndOf, unwrap, type PendingRegion } from './program-fork';
import { declaratorName } from './declarators';
import type {
  CacheStorage,
  CCall,
  CChildRegion,
  CFact,
  CFdOpenFact,
  CForkFact,
  CFunctionFact,
  Span,
} from './program-types';
import { WordPositions } from '../../text/positions';

export type { CFact } from './program-types';
export * from './program-types';

function spanOf(node: Node): Span {
  return [node.startPosition.row, node.startPosition.column, node.endPosition.row, node.endPosition.column];
}

interface FileVar {
  isStatic: boolean;
  declSpan: Span;
  init?: string;
}

/** A child region being filled while the walk is inside it. */
interface ActiveRegion {
  region: CChildRegion;
  /** Conditional depth at the region's start: calls at this depth are unconditional in it. */
  baseCond: number;
  ended: boolean;
}

interface FunctionState {
  fact: CFunctionFact;
  /** Parameters and local variables (flat per function: block scoping is not modelled). */
  locals: Set<string>;
  staticLocals: Set<string>;
  refs: Set<string>;
  assigns: Set<string>;
  fstatVars: Map<string, Range>;
  checksInode: boolean;
}

/** Loop recognised as closing every descriptor from a bound on. */
interface CloseAllLoop {
  loop: Node;
  keepList: boolean;
  from?: string;
}

const LOOP_TYPES = new Set(['for_statement', 'while_statement', 'do_statement']);

/**
 * Expression nodes whose subtree can be skipped when its text shows no call/assignment/inode
 * field (not those whose own syntax always holds a `(`: parentheses, casts, compound literals).
 */
const PRUNABLE: ReadonlySet<string> = new Set([
  'binary_expression',
  'unary_expression',
  'pointer_expression',
  'subscript_expression',
  'update_expression',
  'sizeof_expression',
  'comma_expression',
  'conditional_expression',
  'field_expression',
  'initializer_list',
  'initializer_pair',
  'concatenated_string',
  'argument_list',
  'char_literal',
]);

class Extractor {
  readonly facts: CFact[] = [];
  private readonly fileVars = new Map<string, FileVar>();
  private readonly hasGnuSource: boolean;
  private fn: FunctionState | null = null;
  private functionCount = 0;
  private cond = 0;
  private regions: ActiveRegion[] = [];
  /** Region starts keyed by node id (branches and `case`s taken only by the child). */
  private pendingBlocks = new Map<number, CChildRegion>();
  /** Fork facts waiting for their call to be recorded, keyed by the call node's id. */
  private pendingForks = new Map<number, CForkFact>();
  /** `close(fd)` calls that are the body of a close-all loop, keyed by call node id. */
  private pendingCloseAll = new Map<number, CloseAllLoop>();
  /** Calls that are an entire expression statement: call node id → deletion span. */
  private statementCalls = new Map<number, Span>();
  /** Statement text of whole-line call statements (call node id → text). */
  private statementTexts = new Map<number, string>();

  constructor(private readonly text: string) {
    this.hasGnuSource = /^[ \t]*#[ \t]*define[ \t]+_GNU_SOURCE\b/m.test(text);
  }

  private readonly includes: { headers: string[]; first: Range | null; insertLine: number } = { headers: [], first: null, insertLine: 0 };

  /** The branch depth (`cond`) of each call of the current function, by call index. */
  private callConds: number[] = [];

  /** Descriptor opens without close-on-exec, keyed `function index:stored-to text`, that a later `fcntl(F_SETFD, FD_CLOEXEC)` may mark. */
  private readonly opensWithoutCloexec: { fact: CFdOpenFact; key: string }[] = [];
  /** `function index:descriptor text` of `fcntl(fd, F_SETFD, ... FD_CLOEXEC ...)` calls. */
  private readonly cloexecSetLater = new Set<string>();

  run(root: Node): void {
    this.topLevel(root);
    // `fd = open(...); fcntl(fd, F_SETFD, flags | FD_CLOEXEC);` in the same function: the older
    // idiom, judged as requested (a thread forking between the two calls is not modelled).
    for (const { fact, key } of this.opensWithoutCloexec) {
      if (!this.cloexecSetLater.has(key)) continue;
      fact.cloexec = 'yes';
      delete fact.fix;
    }
    const start = { line: 0, character: 0 };
    this.facts.unshift({
      kind: 'c.includes',
      range: this.includes.first ?? { start, end: start },
      headers: this.includes.headers,
      insertLine: this.includes.insertLine,
    });
  }

  // ---------------------------------------------------------------------------------
  // File scope
  // ---------------------------------------------------------------------------------

  private topLevel(node: Node): void {
    for (const child of node.namedChildren) {
      if (!child) continue;
      switch (child.type) {
        case 'function_definition':
          this.functionDefinition(child);
          break;
        case 'declaration':
          this.fileDeclaration(child);
          break;
        case 'preproc_include': {
          const p = child.childForFieldName('path');
          if (p) this.includes.headers.push(p.text.replace(/^[<"]|[>"]$/g, ''));
          this.includes.first ??= nodeRange(child);
          // The include node ends at the start of the next line.
          if (node.type === 'translation_unit') this.includes.insertLine = child.endPosition.column === 0 ? child.endPosition.row : child.endPosition.row + 1;
          break;
        }
        case 'preproc_if':
        case 'preproc_ifdef':
        case 'preproc_else':
        case 'preproc_elif':
        case 'preproc_elifdef':
        case 'linkage_specification':
        case 'declaration_list':
        case 'ERROR':
          this.topLevel(child);
          break;
        default:
          break;
      }
    }
  }

  private fileDeclaration(decl: Node): void {
    const isStatic = this.isStatic(decl);
    for (const d of decl.childrenForFieldName('declarator')) {
      if (!d) continue;
      const name = declaratorName(d);
      if (!name) continue;
      const value = d.type === 'init_declarator' ? d.childForFieldName('value') : null;
      this.fileVars.set(name, { isStatic, declSpan: spanOf(decl), init: value && value.text.length < 40 ? value.text : undefined });
    }
  }

  /** A `static` storage class among the node's children (the text must mention it first). */
  private isStatic(node: Node): boolean {
    if (!this.occursIn('static', node.startIndex, node.endIndex)) return false;
    return node.namedChildren.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
  }

  private functionDefinition(def: Node): void {
    const nameNode = functionNameNode(def);
    const body = def.childForFieldName('body');
    if (!nameNode || !body) return;
    const isStatic = this.isStatic(def);
    const fact: CFunctionFact = {
      kind: 'c.function',
      range: nodeRange(def),
      name: cppQualifiedName(def, nameNode) ?? nameNode.text,
      isStatic,
      nameSpan: spanOf(nameNode),
      index: this.functionCount++,
      calls: [],
      loops: [],
      references: [],
      assigns: [],
    };
    this.facts.push(fact);
    const state: FunctionState = {
      fact,
      locals: new Set(parameterNames(def)),
      staticLocals: new Set(),
      refs: new Set(),
      assigns: new Set(),
      fstatVars: new Map(),
      checksInode: false,
    };
    this.fn = state;
    this.cond = 0;
    this.callConds = [];
    this.regions = [];
    try {
      this.visit(body);
    } finally {
      this.fn = null;
    }
    fact.references = [...state.refs];
    fact.assigns = [...state.assigns];
    if (state.checksInode) {
      for (const [variable, range] of state.fstatVars) this.facts.push({ kind: 'c.fdCheck', range, variable });
    }
  }

  // ---------------------------------------------------------------------------------
  // Function bodies
  // ---------------------------------------------------------------------------------

  /** `bound`: an offset at or after the node's end (the next sibling's start), when known. */
  private visit(node: Node, type?: string, bound?: number): void {
    const pending = this.pendingBlocks.size > 0 ? this.pendingBlocks.get(node.id) : undefined;
    if (pending) {
      this.pendingBlocks.delete(node.id);
      // A region made of several nodes (a `case` and the siblings that follow it) spans them all.
      const span = spanOf(node);
      pending.span = pending.span.some((v) => v !== 0) ? [pending.span[0], pending.span[1], span[2], span[3]] : span;
      this.regions.push({ region: pending, baseCond: this.cond, ended: false });
      try {
        this.visitInner(node, type ?? node.type, bound);
      } finally {
        this.regions.pop();
      }
      return;
    }
    this.visitInner(node, type ?? node.type, bound);
  }

  private visitInner(node: Node, type: string, bound?: number): void {
    const fn = this.fn!;
    // An expression with no call, no assignment and no inode field in its text holds nothing
    // the walk collects (statements always matter: declarations, loops, returns, blocks).
    // For expressions: the node's end, or an offset after it (decisions stay conservative).
    let end = -1;
    if (PRUNABLE.has(type)) {
      end = bound ?? node.endIndex;
      if (!this.mayHoldEffect(node.startIndex, end)) return;
    }
    switch (type) {
      case 'compound_statement':
      case 'case_statement':
        this.block(node);
        return;
      case 'call_expression':
        this.call(node);
        return;
      case 'if_statement': {
        const cond = node.childForFieldName('condition');
        if (cond) this.visit(cond);
        if (this.visitBranches(node)) this.recordExecInEveryBranch(node);
        return;
      }
      case 'for_statement':
      case 'while_statement':
      case 'do_statement': {
        fn.fact.loops.push(spanOf(node));
        this.detectCloseAllLoop(node);
        const body = node.childForFieldName('body');
        const update = node.childForFieldName('update');
        for (const child of node.namedChildren) {
          if (!child) continue;
          const inBody = child.id === body?.id || update?.id === child.id;
          if (inBody) this.cond++;
          this.visit(child);
          if (inBody) this.cond--;
        }
        return;
      }
      case 'switch_statement': {
        const cond = node.childForFieldName('condition');
        if (cond) this.visit(cond);
        const body = node.childForFieldName('body');
        this.cond++;
        if (body) this.visit(body);
        this.cond--;
        return;
      }
      case 'conditional_expression': {
        const cond = node.childForFieldName('condition');
        if (cond) this.visit(cond);
        this.cond++;
        for (const f of ['consequence', 'alternative']) {
          const c = node.childForFieldName(f);
          if (c) this.visit(c);
        }
        this.cond--;
        return;
      }
      case 'binary_expression': {
        const left = node.childForFieldName('left');
        const right = node.childForFieldName('right');
        // An operand whose text (up to the next operand) shows no effect is skipped unvisited.
        if (left && (!right || this.mayHoldEffect(left.startIndex, right.startIndex))) this.visit(left, undefined, right ? right.startIndex : undefined);
        if (right && this.mayHoldEffect(right.startIndex, end)) {
          const op = node.childForFieldName('operator')?.type;
          if (op === '&&' || op === '||') this.cond++;
          this.visit(right, undefined, end);
          if (op === '&&' || op === '||') this.cond--;
        }
        return;
      }
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_else':
      case 'preproc_elif':
      case 'preproc_elifdef':
        // Either branch may be the one compiled: treat the contents as conditional.
        this.cond++;
        this.block(node);
        this.cond--;
        return;
      case 'declaration':
        this.localDeclaration(node);
        return;
      case 'assignment_expression':
        this.assignment(node);
        return;
      case 'return_statement':
      case 'goto_statement':
        // `return 0;`, `goto out;`: nothing to visit inside.
        if (this.mayHoldEffect(node.startIndex, node.endIndex)) for (const child of node.namedChildren) if (child) this.visit(child);
        this.endRegions('return');
        return;
      case 'field_expression': {
        const field = node.childForFieldName('field');
        if (field) {
          const at = field.startIndex;
          if (this.text.startsWith('st_ino', at) || this.text.startsWith('st_dev', at)) {
            const name = field.text;
            if (name === 'st_ino' || name === 'st_dev') fn.checksInode = true;
          }
        }
        const arg = node.childForFieldName('argument');
        // `p->x`: the object before the field, skipped when its text shows no effect.
        if (arg && (!field || this.mayHoldEffect(arg.startIndex, field.startIndex))) this.visit(arg, undefined, field ? field.startIndex : undefined);
        return;
      }
      case 'identifier':
      case 'number_literal':
      case 'string_literal':
      case 'comment':
      case 'type_identifier':
      case 'primitive_type':
      case 'field_identifier':
      case 'char_literal':
      case 'true':
      case 'false':
      case 'null':
      case 'sized_type_specifier':
      case 'type_descriptor':
      case 'struct_specifier':
      case 'enum_specifier':
      case 'union_specifier':
        return;
      default: {
        const kids = node.namedChildren;
        if (end < 0) {
          for (const child of kids) if (child) this.visit(child);
          return;
        }
        // Children of an expression (never a statement expression: those sit in parentheses,
        // which always hold a `(`): skip a child whose text up to the next one shows no effect.
        for (let i = 0; i < kids.length; i++) {
          const child = kids[i];
          if (!child) continue;
          const next = i + 1 < kids.length ? kids[i + 1] : null;
          const childBound = next ? next.startIndex : end;
          if (this.mayHoldEffect(child.startIndex, childBound)) this.visit(child, undefined, childBound);
        }
      }
    }
  }

  /** Statements in order; a fork among them may open child regions over later statements. */
  private block(node: Node): void {
    const stmts: Node[] = [];
    const types: string[] = [];
    for (const c of node.namedChildren) {
      if (!c) continue;
      const t = c.type;
      if (t === 'comment') continue;
      stmts.push(c);
      types.push(t);
    }
    /** `after` regions of forks in this block, by the index of their first statement. */
    const afters: { from: number; region: CChildRegion }[] = [];
    let pushed = 0;
    for (let i = 0; i < stmts.length; i++) {
      const stmt = stmts[i];
      for (const a of afters) {
        if (a.from === i) {
          this.regions.push({ region: a.region, baseCond: this.cond, ended: false });
          pushed++;
        }
      }
      if (this.mayHoldFork(stmt)) {
        const shape = forkShapeAt(node, stmts, i);
        // A fork already recognised from an enclosing statement (`if (…) pid = forkpty(…);
        // else pid = fork();` followed by the tests) keeps that shape.
        if (shape && !this.pendingForks.has(shape.call.id)) {
          const fact = this.newForkFact(shape.call, shape.known, shape.regions, stmts, node);
          const after = shape.regions.find((r) => r.shape === 'after');
          const region = fact.regions.find((r) => r.shape === 'after');
          if (after && region && after.fromIndex! > i) afters.push({ from: after.fromIndex!, region });
        }
      }
      if (types[i] === 'expression_statement') this.statementCallOf(stmt);
      this.visit(stmt, types[i]);
    }
    for (; pushed > 0; pushed--) this.regions.pop();
  }

  /** Prefix counts of `(`, `=` and `st_ino`/`st_dev` starts (code-unit offsets, as node indices). */
  private effectCounts: Int32Array | null = null;

  private mayHoldEffect(start: number, end: number): boolean {
    let counts = this.effectCounts;
    if (!counts) {
      const text = this.text;
      const n = text.length;
      counts = new Int32Array(n + 1);
      let c = 0;
      for (let k = 0; k < n; k++) {
        counts[k] = c;
        const ch = text.charCodeAt(k);
        // `(`, an assignment's `=` (not `==`, `!=`, `<=`, `>=`), `st_ino`/`st_dev`
        if (ch === 40 || (ch === 61 && assignmentEquals(text, k)) || (ch === 115 && (text.startsWith('st_ino', k) || text.startsWith('st_dev', k)))) c++;
      }
      counts[n] = c;
      this.effectCounts = counts;
    }
    if (start < 0 || end > counts.length - 1 || end < start) return true;
    return counts[end] - counts[start] > 0;
  }

  private mayHoldFork(stmt: Node): boolean {
    return this.occursIn('ork', stmt.startIndex, stmt.endIndex);
  }

  /** Where words occur in the file, for text pre-checks of node ranges. */
  private words?: WordPositions;

  private occursIn(word: string, start: number, end: number): boolean {
    this.words ??= new WordPositions(this.text);
    return this.words.occursIn(word, start, end);
  }

  private newForkFact(call: Node, known: boolean, pending: PendingRegion[], stmts: readonly Node[], block: Node): CForkFact {
    const regions: CChildRegion[] = [];
    for (const p of pending) {
      if (p.shape === 'block') {
        // The span is set when the walk meets the node.
        const region: CChildRegion = { shape: 'block', span: [0, 0, 0, 0], calls: [] };
        regions.push(region);
        this.pendingBlocks.set(p.nodeId, region);
        for (const id of p.alsoNodeIds ?? []) this.pendingBlocks.set(id, region);
      } else {
        const first = stmts[p.fromIndex!];
        const endPos = block.endPosition;
        // Up to the block's closing brace.
        regions.push({ shape: 'after', span: [first.startPosition.row, first.startPosition.column, endPos.row, Math.max(0, endPos.column - 1)], calls: [] });
      }
    }
    const fact: CForkFact = {
      kind: 'c.fork',
      range: nodeRange(call),
      api: calleeName(call) ?? 'fork',
      forkKind: 'fork',
      functionIndex: this.fn!.fact.index,
      callIndex: -1,
      regions,
      childKnown: known,
    };
    const before = this.statementStart(call);
    if (before) fact.before = before;
    this.pendingForks.set(call.id, fact);
    return fact;
  }

  /** Remembers the deletion span of a statement that is nothing but a call. */
  private statementCallOf(stmt: Node): void {
    const e = stmt.namedChild(0);
    if (!e) return;
    let inner = e;
    let innerType = inner.type;
    // `(void) closelog();`
    if (innerType === 'cast_expression') {
      const v = inner.childForFieldName('value');
      if (v) {
        inner = v;
        innerType = v.type;
      }
    }
    if (innerType !== 'call_expression') return;
    const s = spanOf(stmt);
    const lines = this.lineInfo(stmt);
    this.statementCalls.set(inner.id, lines ?? s);
    if (lines) this.statementTexts.set(inner.id, this.text.slice(stmt.startIndex, stmt.endIndex));
  }

  /** Line and indentation of the statement that holds `node`, when that statement begins its line. */
  private statementStart(node: Node): { line: number; indent: string } | null {
    let stmt: Node | null = node;
    while (stmt && !/(_statement|^declaration)$/.test(stmt.type)) stmt = stmt.parent;
    if (!stmt) return null;
    let a = stmt.startIndex;
    while (a > 0 && (this.text[a - 1] === ' ' || this.text[a - 1] === '\t')) a--;
    if (a > 0 && this.text[a - 1] !== '\n') return null;
    return { line: stmt.startPosition.row, indent: this.text.slice(a, stmt.startIndex) };
  }

  /** The whole lines of a statement when nothing else shares them, as a deletion span. */
  private lineInfo(stmt: Node): Span | null {
    const start = stmt.startIndex;
    const end = stmt.endIndex;
    let a = start;
    while (a > 0 && (this.text[a - 1] === ' ' || this.text[a - 1] === '\t')) a--;
    if (a > 0 && this.text[a - 1] !== '\n') return null;
    let b = end;
    while (b < this.text.length && (this.text[b] === ' ' || this.text[b] === '\t' || this.text[b] === '\r')) b++;
    if (b < this.text.length && this.text[b] !== '\n') return null;
    if (b >= this.text.length) return null;
    return [stmt.startPosition.row, 0, stmt.endPosition.row + 1, 0];
  }

  private endRegions(kind: 'return' | 'exec' | 'safe-exit' | 'unsafe-exit'): void {
    for (const r of this.regions) {
      if (!r.ended && this.cond === r.baseCond) {
        r.ended = true;
        r.region.end = kind;
      }
    }
  }

  private localDeclaration(decl: Node): void {
    const fn = this.fn!;
    const declarators = decl.childrenForFieldName('declarator');
    // Storage classes precede the declarators.
    const first = declarators.length > 0 ? declarators[0] : null;
    const isStatic = first ? this.occursIn('static', decl.startIndex, first.startIndex) && this.isStatic(decl) : this.isStatic(decl);
    for (const d of declarators) {
      if (!d) continue;
      const name = declaratorName(d);
      if (name) {
        fn.locals.add(name);
        if (isStatic) fn.staticLocals.add(name);
      }
      if (d.type === 'init_declarator') {
        const value = d.childForFieldName('value');
        if (value) {
          const t = value.type;
          this.visit(value, t);
          this.noteRef(value, t);
        }
      }
    }
  }

  private assignment(node: Node): void {
    const fn = this.fn!;
    const left = node.childForFieldName('left');
    const right = node.childForFieldName('right');
    if (right) {
      const t = right.type;
      this.visit(right, t);
      this.noteRef(right, t);
    }
    if (left) this.visit(left);
    if (!left || node.childForFieldName('operator')?.type !== '=') return;
    const target = storageTarget(left);
    if (!target) return;
    const local = fn.locals.has(target.base) && !fn.staticLocals.has(target.base);
    if (local) return;
    fn.assigns.add(target.text);
    if (!right) return;
    const source = fdSourceCall(right);
    if (!source) return;
    let storage: CacheStorage;
    if (fn.staticLocals.has(target.base)) storage = 'static-local';
    else storage = this.fileVars.get(target.base)?.isStatic ? 'file-static' : 'global';
    const fileVar = this.fileVars.get(target.base);
    const index = fn.fact.calls.findIndex((c) => c.span[0] === source.startPosition.row && c.span[1] === source.startPosition.column);
    this.facts.push({
      kind: 'c.fdCache',
      range: nodeRange(source),
      variable: target.text,
      storage,
      api: calleeName(source) ?? '',
      functionIndex: fn.fact.index,
      callIndex: index,
      declarationSpan: storage !== 'static-local' && fileVar && target.base === target.text ? fileVar.declSpan : undefined,
      declarationInitializer: storage !== 'static-local' && fileVar ? fileVar.init : undefined,
    });
  }

  private noteRef(value: Node, type: string): void {
    let n = value;
    let t = type;
    if (t === 'parenthesized_expression' || t === 'cast_expression') {
      n = unwrap(value);
      t = n.type;
    }
    let id: Node | null = n;
    if (t === 'pointer_expression') {
      id = n.childForFieldName('argument');
      t = id ? id.type : '';
    }
    if (id === null || t !== 'identifier') return;
    const text = id.text;
    if (!this.fn!.locals.has(text) && !/^[A-Z_][A-Z0-9_]*$/.test(text)) this.fn!.refs.add(text);
  }

  /**
   * Visits the branches of an `if` (and of its `else if` chain); true when it has an `else`
   * and every branch calls an `exec*()` at its own top level (not in a nested branch or loop).
   */
  private visitBranches(node: Node): boolean {
    const fn = this.fn!;
    const inside = this.cond + 1;
    const execsIn = (from: number): boolean => {
      for (let k = from; k < fn.fact.calls.length; k++) if (this.callConds[k] === inside && regionEndOf(fn.fact.calls[k].name) === 'exec') return true;
      return false;
    };
    this.cond++;
    let every = true;
    const cons = node.childForFieldName('consequence');
    const before = fn.fact.calls.length;
    if (cons) this.visit(cons);
    every = every && execsIn(before);
    const alt = node.childForFieldName('alternative');
    const altBody = alt?.namedChildren.find((c) => c && c.type !== 'comment') ?? null;
    if (altBody?.type === 'if_statement') {
      // `else if`: its condition and branches, one level deeper.
      const c = altBody.childForFieldName('condition');
      if (c) this.visit(c);
      const nested = this.visitBranches(altBody);
      every = every && nested;
    } else if (alt) {
      const at = fn.fact.calls.length;
      this.visit(alt);
      every = every && altBody !== null && execsIn(at);
    } else every = false;
    this.cond--;
    return every;
  }

  /** After an `if`/`else` that execs in every branch: the call that ends the sequence there. */
  private recordExecInEveryBranch(node: Node): void {
    const fn = this.fn!;
    const s = spanOf(node);
    const record: CCall = { name: EXEC_IN_EVERY_BRANCH, span: s };
    if (this.cond === 0) record.unconditional = 1;
    this.callConds[fn.fact.calls.length] = this.cond;
    fn.fact.calls.push(record);
    for (const r of this.regions) {
      if (r.ended) continue;
      const rc: CCall = { name: EXEC_IN_EVERY_BRANCH, span: s };
      if (this.cond === r.baseCond) rc.unconditional = 1;
      r.region.calls.push(rc);
    }
    this.endRegions('exec');
  }

  private call(node: Node): void {
    const fn = this.fn!;
    const callee = node.childForFieldName('function');
    const args = node.childForFieldName('arguments');
    const calleeType = callee ? callee.type : '';
    if (callee && calleeType !== 'identifier') this.visit(callee, calleeType);
    if (args) {
      const list = args.namedChildren;
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (!a) continue;
        // An argument such as `"text"`, `0` or `-1` (up to the next one: no call, no
        // assignment; not a name, `&x` or `*p`) is neither visited nor a reference.
        const next = i + 1 < list.length ? list[i + 1] : null;
        if (next && !mayName(this.text.charCodeAt(a.startIndex)) && !this.mayHoldEffect(a.startIndex, next.startIndex)) continue;
        const t = a.type;
        this.visit(a, t, next ? next.startIndex : undefined);
        this.noteRef(a, t);
      }
    }
    if (!callee || calleeType !== 'identifier') return;
    const name = callee.text;
    const s = spanOf(node);
    const record: CCall = { name, span: s };
    if (this.cond === 0) record.unconditional = 1;
    const del = this.statementCalls.get(node.id);
    if (del) record.deleteSpan = del;
    const index = fn.fact.calls.length;
    this.callConds[index] = this.cond;
    fn.fact.calls.push(record);
    const end = regionEndOf(name);
    for (const r of this.regions) {
      if (r.ended) continue;
      const rc: CCall = { name, span: s };
      if (this.cond === r.baseCond) rc.unconditional = 1;
      if (del) rc.deleteSpan = del;
      const stmtText = this.statementTexts.get(node.id);
      if (stmtText !== undefined) rc.statementText = stmtText;
      r.region.calls.push(rc);
    }
    if (end) this.endRegions(end);
    this.classify(name, node, index, args, s);
  }

  private classify(name: string, node: Node, index: number, args: Node | null, s: Span): void {
    const fn = this.fn!;
    // The call's range, from its span (same positions as `nodeRange`).
    const range: Range = { start: { line: s[0], character: s[1] }, end: { line: s[2], character: s[3] } };
    const pendingFork = this.pendingForks.get(node.id);
    if (pendingFork) {
      pendingFork.callIndex = index;
      this.pendingForks.delete(node.id);
      this.facts.push(pendingFork);
    } else {
      const forkKind = FORK_CALLS.get(name);
      if (forkKind) {
        this.facts.push({ kind: 'c.fork', range, api: name, forkKind, functionIndex: fn.fact.index, callIndex: index, regions: [], childKnown: false });
      }
    }
    const thread = THREAD_STARTS.get(name);
    if (thread) {
      let routine: string | undefined;
      if (thread.routineArg !== undefined) {
        const a = argAtOf(args, thread.routineArg);
        const n = a ? unwrap(a) : null;
        const id = n?.type === 'pointer_expression' ? n.childForFieldName('argument') : n;
        if (id?.type === 'identifier') routine = id.text;
      }
      this.facts.push({ kind: 'c.threadStart', range, api: name, functionIndex: fn.fact.index, callIndex: index, routine });
    }
    if (EXEC_CALLS.has(name) || SPAWN_CALLS.has(name)) {
      this.facts.push({ kind: 'c.exec', range, api: name, functionIndex: fn.fact.index, callIndex: index });
    }
    if (CLOSE_ALL_CALLS.has(name)) {
      const flags = name.includes('close_range') ? argAtOf(args, 2) : null;
      const from = argAtOf(args, 0);
      this.facts.push({
        kind: 'c.closeAll',
        range,
        api: name,
        functionIndex: fn.fact.index,
        callIndex: index,
        keepList: false,
        cloexecOnly: flags !== null && flags.text.includes(CLOSE_RANGE_CLOEXEC),
        from: from?.text,
      });
    }
    const loop = this.pendingCloseAll.get(node.id);
    if (loop) {
      this.pendingCloseAll.delete(node.id);
      this.facts.push({ kind: 'c.closeAll', range: nodeRange(loop.loop), api: 'loop', functionIndex: fn.fact.index, callIndex: index, keepList: loop.keepList, cloexecOnly: false, from: loop.from });
    }
    const atfork = ATFORK_CALLS.get(name);
    if (atfork !== undefined) {
      const a = argAtOf(args, atfork);
      const n = a ? unwrap(a) : null;
      const id = n?.type === 'pointer_expression' ? n.childForFieldName('argument') : n;
      this.facts.push({ kind: 'c.atfork', range, child: id?.type === 'identifier' && id.text !== 'NULL' ? id.text : undefined });
    }
    if (FD_PRODUCERS.has(name)) {
      const judged = judgeFdCall(name, node, spanOf, this.hasGnuSource);
      if (judged) {
        const fact: CFdOpenFact = {
          kind: 'c.fdOpen',
          range,
          api: name,
          functionIndex: fn.fact.index,
          callIndex: index,
          cloexec: judged.cloexec,
          inChild: this.regions.length > 0,
          fix: judged.fix,
        };
        this.facts.push(fact);
        const parent = node.parent;
        const stored = parent?.type === 'assignment_expression' ? parent.childForFieldName('left') : parent?.type === 'init_declarator' ? parent.childForFieldName('declarator') : null;
        const target = stored ? storageTarget(stored) : null;
        if (target && judged.cloexec !== 'yes') this.opensWithoutCloexec.push({ fact, key: `${fn.fact.index}:${target.text}` });
      }
    }
    if (name === 'fcntl') {
      const cmd = argAtOf(args, 1);
      const value = argAtOf(args, 2);
      const target = argAtOf(args, 0);
      const stored = target ? storageTarget(target) : null;
      if (stored && cmd?.text === 'F_SETFD' && value && /\bFD_CLOEXEC\b/.test(value.text)) this.cloexecSetLater.add(`${fn.fact.index}:${stored.text}`);
    }
    if (FSTAT_CALLS.has(name)) {
      const a = argAtOf(args, name === 'fstatat' || name === 'statx' ? 0 : 0);
      const target = a ? storageTarget(unwrap(a)) : null;
      if (target) fn.fstatVars.set(target.text, range);
    }
    if (LIBRARY_FD_CACHES.has(name)) {
      this.facts.push({ kind: 'c.libraryCache', range, api: name, functionIndex: fn.fact.index, callIndex: index });
    }
  }

  /** `for (fd = 3; fd < max; fd++) close(fd);` and its descending and `while` variants. */
  private detectCloseAllLoop(loop: Node): void {
    const body = loop.childForFieldName('body');
    const cond = loop.childForFieldName('condition');
    if (!body || !cond) return;
    // Cheap pre-check on the text before looking at the tree.
    if (!this.occursIn('close', body.startIndex, body.endIndex)) return;
    const close = findCloseOfVariable(body);
    if (!close) return;
    const variable = close.variable;
    if (!mentions(cond, variable)) return;
    let from: string | undefined;
    const init = loop.childForFieldName('initializer');
    if (init) {
      if (init.type === 'declaration') {
        for (const d of init.childrenForFieldName('declarator')) {
          if (d?.type === 'init_declarator' && declaratorName(d) === variable) from = d.childForFieldName('value')?.text;
        }
      } else if (init.type === 'assignment_expression' && init.childForFieldName('left')?.text === variable) {
        from = init.childForFieldName('right')?.text;
      }
    }
    // `for (i = 0; i < 2; i++) close(i)` closes a known pair, not "everything".
    const c = unwrap(cond);
    if (c.type === 'binary_expression') {
      const right = c.childForFieldName('right');
      const op = c.childForFieldName('operator')?.type;
      if (right?.type === 'number_literal' && (op === '<' || op === '<=') && Number(right.text) <= 3) return;
    }
    this.pendingCloseAll.set(close.call.id, { loop, keepList: close.keepList, from });
  }
}

/** Whether an expression starting with this character may be a name, `&x`, `*p`, `(…)`. */
function mayName(ch: number): boolean {
  return (ch >= 65 && ch <= 90) || (ch >= 97 && ch <= 122) || ch === 95 || ch === 36 || ch === 38 || ch === 42 || ch === 40 || ch >= 128 || ch === 92;
}

/** The k-th argument of a call (comments skipped). */
function argAtOf(args: Node | null, k: number): Node | null {
  const list = args ? args.namedChildren.filter((a): a is Node => a !== null && a.type !== 'comment') : [];
  return list[k] ?? null;
}

/** Whether the `=` at `k` may belong to an assignment operator (`=`, `+=`, `<<=`…), not a comparison. */
function assignmentEquals(text: string, k: number): boolean {
  const next = text.charCodeAt(k + 1);
  if (next === 61) return false; // `==`
  const prev = text.charCodeAt(k - 1);
  if (prev === 61 || prev === 33) return false; // `==`, `!=`
  // `<=` / `>=`, but `<<=` / `>>=` assign.
  if ((prev === 60 || prev === 62) && text.charCodeAt(k - 2) !== prev) return false;
  return true;
}

/** Whether an identifier with the name occurs in the subtree. */
function mentions(node: Node, name: string, depth = 0): boolean {
  if (depth > 10) return false;
  if (node.type === 'identifier') return node.text === name;
  for (const c of node.namedChildren) if (c && mentions(c, name, depth + 1)) return true;
  return false;
}

/**
 * In a loop body, a `close(v)` whose argument is a plain variable, and whether the body
 * skips some values (`if (v == keep) continue;`, `if (v != log_fd) close(v);`).
 */
function findCloseOfVariable(body: Node): { call: Node; variable: string; keepList: boolean } | null {
  let found: { call: Node; variable: string } | null = null;
  const ifConditions: Node[] = [];
  const walk = (n: Node, depth: number): void => {
    if (LOOP_TYPES.has(n.type) && depth > 0) return;
    if (n.type === 'if_statement') {
      const c = n.childForFieldName('condition');
      if (c) ifConditions.push(c);
    }
    if (n.type === 'call_expression' && !found) {
      const name = calleeName(n);
      if (name && CLOSE_ONE.has(name)) {
        const args = n.childForFieldName('arguments')?.namedChildren.filter((a) => a && a.type !== 'comment') ?? [];
        const a = args.length === 1 && args[0] ? unwrap(args[0]) : null;
        if (a?.type === 'identifier') found = { call: n, variable: a.text };
      }
    }
    if (depth > 8) return;
    for (const c of n.namedChildren) if (c) walk(c, depth + 1);
  };
  walk(body, 0);
  if (!found) return null;
  const f: { call: Node; variable: string } = found;
  const keepList = ifConditions.some((c) => mentions(c, f.variable));
  return { call: f.call, variable: f.variable, keepList };
}

/** `fd`, `state.fd`, `g->fd`: the stored-to expression's text and its base identifier. */
function storageTarget(node: Node): { text: string; base: string } | null {
  const n = unwrap(node);
  if (n.type === 'identifier') return { text: n.text, base: n.text };
  if (n.type === 'field_expression') {
    const arg = n.childForFieldName('argument');
    const field = n.childForFieldName('field');
    const a = arg ? unwrap(arg) : null;
    if (a?.type === 'identifier' && field) return { text: `${a.text}${n.text.includes('->') ? '->' : '.'}${field.text}`, base: a.text };
  }
  return null;
}

/** The fd-producing call an expression's value comes from (through parens, casts and wrappers). */
function fdSourceCall(node: Node): Node | null {
  let n = unwrap(node);
  for (let i = 0; i < 4; i++) {
    if (n.type !== 'call_expression') return null;
    const name = calleeName(n);
    if (!name) return null;
    // `fcntl(fd, F_GETFL)` returns flags: only the F_DUPFD commands make a descriptor.
    if (name === 'fcntl') return /^F_DUPFD/.test(n.childForFieldName('arguments')?.namedChild(1)?.text ?? '') ? n : null;
    if (FD_SOURCES.has(name)) return n;
    if (!TRANSPARENT_WRAPPERS.has(name)) return null;
    const first = n.childForFieldName('arguments')?.namedChild(0);
    if (!first) return null;
    n = unwrap(first);
  }
  return null;
}

/** The identifier node naming a function definition. */
function functionNameNode(def: Node): Node | null {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && i < 8; i++) {
    if (decl.type === 'function_declarator') {
      let inner = decl.childForFieldName('declarator');
      while (inner && inner.type === 'parenthesized_declarator') inner = inner.namedChild(0);
      return inner?.type === 'identifier' ? inner : null;
    }
    decl = decl.childForFieldName('declarator');
  }
  return null;
}

/**
 * `BSOCK::close` for a C++ method defined in a file parsed as C (the C grammar leaves
 * `BSOCK::` as an error before the declarator), so that the method is never taken for the
 * C function `close()` of the same name; null for a plain C function.
 */
function cppQualifiedName(def: Node, nameNode: Node): string | null {
  const declarator = def.childForFieldName('declarator');
  if (!declarator) return null;
  for (const child of def.children) {
    if (!child || child.startIndex >= declarator.startIndex) break;
    if (child.type === 'ERROR' && child.text.includes('::')) return `${child.text.replace(/\s+/g, '')}${nameNode.text}`;
  }
  // `BSOCK ::close()` and qualified names the grammar keeps inside the declarator.
  const between = def.text.slice(0, nameNode.startIndex - def.startIndex);
  const m = /([A-Za-z_]\w*(?:<[^<>]*>)?\s*::\s*)+$/.exec(between.trimEnd());
  return m ? `${m[0].replace(/\s+/g, '')}${nameNode.text}` : null;
}

function parameterNames(def: Node): string[] {
  let decl = def.childForFieldName('declarator');
  for (let i = 0; decl && decl.type !== 'function_declarator' && i < 8; i++) decl = decl.childForFieldName('declarator');
  const list = decl?.childForFieldName('parameters');
  const out: string[] = [];
  if (!list) return out;
  for (const p of list.namedChildren) {
    if (!p) continue;
    if (p.type === 'parameter_declaration') {
      const name = declaratorName(p.childForFieldName('declarator'));
      if (name) out.push(name);
    } else if (p.type === 'identifier') out.push(p.text);
  }
  // K&R definitions declare parameters between the declarator and the body.
  for (const c of def.namedChildren) {
    if (c?.type !== 'declaration') continue;
    for (const d of c.childrenForFieldName('declarator')) {
      const name = d ? declaratorName(d) : null;
      if (name) out.push(name);
    }
  }
  return out;
}


/** Extracts the program facts of one C file. */
export function extractCFacts(tree: Tree, text: string, _path: string): CFact[] {
  const extractor = new Extractor(text);
  extractor.run(tree.rootNode);
  return extractor.facts;
}
