/**
 * The one walk over a Python file's tree: it visits the nodes of interest in document order
 * and collects raw records (scopes, imports, functions, classes, calls, assignments, `if`s
 * that test a fork's pid, `with` items, pending bindings and descriptor caches), pushing the
 * facts it can tell on the spot (module, imports, functions, classes, method aliases).
 * Classifying the calls is left to the phases after it.
 */
import type { Position, Range } from '../../text/locations';
import { nodeRange, type Node } from '../../parsing/parser';
import { PY_IDENTITY_FIELDS } from '../../knowledge/python-process';
import type { PyClassFact, PyFactBase, PyFunctionFact, PyImportFact, PyModuleFact, PythonFact } from './fact-types';
import type { PySourceText } from './source-text';
import {
  ASSIGN_RE,
  CALLEE_RE,
  CLASS_RE,
  DECORATOR_GAP_RE,
  DEF_RE,
  NON_REGISTERING_DECORATORS,
  argsOf,
  identifiersIn,
  isMainGuard,
  joinName,
  partsOfDotted,
  plainSegments,
  posOf,
  stringValue,
  within,
} from './syntax-helpers';
import { definedOnlyForOtherPlatforms, forkTest, loopContext, mayTestOtherPlatform, otherPlatformTest } from './branch-tests';
import { KIND_TEST_WORDS } from './value-kinds';
import { FLAG_TEST_TEXT } from './flag-values';
import { FrameStack } from './walk-frames';
import {
  classScope,
  factBase,
  withBase,
  type CollectedRecords,
  type IfRecord,
  type LoopCtx,
  type PendingCache,
  type RawCall,
  type Scope,
  type Target,
} from './walk-records';

/**
 * A function or method whose facts are taken from an earlier extraction (`incremental.ts`):
 * the walk does not enter it. `start`/`end` are its offsets (decorators included), the
 * positions are the tree's, `name` its simple name.
 */
export interface SkippedDefinition {
  start: number;
  end: number;
  startPosition: Point;
  endPosition: Point;
  name: string;
}

/** A tree position (row, column). */
type Point = Node['startPosition'];

/** Whether `src[from, to)` holds nothing but blanks, comments and line joins (no statement). */
function blankOrComment(src: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = src.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) continue;
    if (c === 35) {
      const eol = src.indexOf('\n', i);
      if (eol < 0 || eol >= to) return true;
      i = eol;
      continue;
    }
    if (c === 92 && (src.charCodeAt(i + 1) === 10 || (src.charCodeAt(i + 1) === 13 && src.charCodeAt(i + 2) === 10))) continue;
    return false;
  }
  return true;
}

const INTERESTING = new Set([
  'import_statement',
  'import_from_statement',
  'function_definition',
  'class_definition',
  'if_statement',
  'elif_clause',
  'else_clause',
  'for_statement',
  'while_statement',
  'try_statement',
  'except_clause',
  'with_statement',
  'match_statement',
  'call',
  'assignment',
  'global_statement',
  'lambda',
  'conditional_expression',
  'list_comprehension',
  'generator_expression',
  'set_comprehension',
  'dictionary_comprehension',
  'return_statement',
  'raise_statement',
]);

/** Blanks and an opening parenthesis; with `self` as the first argument. */
const BLANKS_THEN_PAREN = /\s*\(/y;
const SELF_ARGUMENT = /\s*\(\s*self\b/y;
/** Before a method name: `super(...).`, or any dotted name and its dot (`Base.`, `pkg.Base.`). */
const AFTER_SUPER = /(?<=\bsuper\s*\([^()]*\)\s*)/y;
const AFTER_NAME = /(?<=\b[A-Za-z_][\w.]*)/y;

/**
 * Whether `text` calls the method `name` of a base: `super(...).name(` or `Base.name(self`
 * (the pattern `\bsuper\s*\([^()]*\)\s*\.name\s*\(|\b[A-Za-z_][\w.]*\.name\s*\(\s*self\b`),
 * checked around each `.name` of the text instead of from every offset of it.
 */
function callsBaseMethodIn(text: string, name: string): boolean {
  const word = `.${name}`;
  for (let k = text.indexOf(word); k >= 0; k = text.indexOf(word, k + 1)) {
    const after = k + word.length;
    BLANKS_THEN_PAREN.lastIndex = after;
    if (!BLANKS_THEN_PAREN.test(text)) continue;
    AFTER_SUPER.lastIndex = k;
    if (AFTER_SUPER.test(text)) return true;
    SELF_ARGUMENT.lastIndex = after;
    if (!SELF_ARGUMENT.test(text)) continue;
    AFTER_NAME.lastIndex = k;
    if (AFTER_NAME.test(text)) return true;
  }
  return false;
}

/** What a `return` hands back: the value, through parentheses and both arms of `a if c else b`. */
function returnedValues(value: Node | null, depth = 0): Node[] {
  if (!value || depth > 4) return [];
  if (value.type === 'parenthesized_expression') return returnedValues(value.namedChild(0), depth + 1);
  if (value.type === 'conditional_expression') return [...returnedValues(value.namedChild(0), depth + 1), ...returnedValues(value.namedChild(2), depth + 1)];
  return [value];
}

export class RecordCollector implements CollectedRecords {
  readonly facts: PythonFact[] = [];
  readonly calls: RawCall[] = [];
  readonly callIndex = new Map<number, number>();
  readonly ifs: IfRecord[] = [];
  readonly kindTests: { node: Node; scope: Scope }[] = [];
  readonly flagTests: { node: Node; scope: Scope }[] = [];
  readonly branchChains: { node: Node; scope: Scope }[] = [];
  readonly loopCloses: { call: RawCall; loop: LoopCtx }[] = [];
  readonly scopes: Scope[] = [];
  private readonly module: Scope;
  readonly moduleFact: PyModuleFact;
  private readonly stack: FrameStack;
  /** The nodes the walk visits (with their types and end offsets, read once) and the index of the current one. */
  private nodes: (Node | null)[] = [];
  private types: string[] = [];
  private ends: number[] = [];
  private cur = 0;
  /** Start offset of the node being visited. */
  private curStart = 0;
  /** Start/end offsets of the function and class scopes (for names found in the text after the walk). */
  readonly scopeSpans: { scope: Scope; start: number; end: number }[] = [];
  /** The definitions this walk skipped (their facts come from an earlier extraction). */
  skippedDefinitions: readonly SkippedDefinition[] = [];
  /** Module-level import statements, last one (fast mode: the import insertion point). */
  private lastTopImport?: { node: Node; end: number };

  constructor(private readonly t: PySourceText) {
    const text = t.src;
    const root = t.tree.rootNode;
    // (A plain search for each word first: the pattern alone reads the whole text when neither is there.)
    this.mentionsIdentity = (text.includes('st_ino') || text.includes('st_dev')) && /\bst_(ino|dev)\b/.test(text);
    this.mayDecorate = text.includes('@');
    this.module = { kind: 'module', name: '', fn: '', until: 0, defs: new Set(), bindings: new Map(), end: posOf(root.endPosition) };
    this.scopes.push(this.module);
    this.stack = new FrameStack(this.module);
    this.moduleFact = {
      kind: 'py.module',
      enclosingFunction: '',
      range: { start: posOf(root.startPosition), end: posOf(root.startPosition) },
      importInsert: { line: 0, character: 0 },
    };
    this.facts.push(this.moduleFact);
  }

  /**
   * One pass over the nodes of interest. They come from a single `descendantsOfType` call
   * (one trip into WASM, in document order); nesting (scopes, conditions, loops) is rebuilt
   * from their end offsets, so no JavaScript walk over every node is needed.
   */
  walk(skipped: readonly SkippedDefinition[] = []): void {
    this.skippedDefinitions = skipped;
    const root = this.t.tree.rootNode;
    // `raise` only matters to the child of an `os.fork()` (see `childRegions`); `return` also
    // tells which calls a function hands back (`return Cls(...)`, `return helper()`).
    const types = this.t.src.includes('fork') ? [...INTERESTING] : [...INTERESTING].filter((t) => t !== 'raise_statement');
    // Without syntax errors, `st_ino`/`st_dev` are found in the text after the walk.
    if (this.mentionsIdentity && !this.t.fast) types.push('attribute');
    if (this.t.fast) types.push('future_import_statement');
    if (this.t.fast && this.mayDecorate) types.push('decorator');
    const nodes = (this.nodes = skipped.length ? this.nodesOutside(types, skipped) : root.descendantsOfType(types));
    this.types = new Array<string>(nodes.length);
    this.ends = new Array<number>(nodes.length);
    let skipUntil = -1;
    let next = 0;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (!node) continue;
      const start = node.startIndex;
      if (start < skipUntil) continue;
      while (next < skipped.length && skipped[next].start <= start) this.passSkipped(skipped[next++]);
      while (this.stack.frames.length > 1 && this.stack.frames[this.stack.frames.length - 1].until <= start) this.stack.frames.pop();
      this.cur = i;
      this.curStart = start;
      const end = this.endAt(i);
      if (!this.visit(node, this.typeAt(i), end)) skipUntil = end;
    }
    while (next < skipped.length) this.passSkipped(skipped[next++]);
    if (this.t.fast && this.mentionsIdentity) this.findIdentityFields();
    this.nodes = [];
    this.types = [];
    this.ends = [];
  }

  /**
   * The nodes of interest outside the skipped definitions, in document order: one look-up per
   * stretch of text between two of them that holds more than blanks and comments.
   */
  private nodesOutside(types: string[], skipped: readonly SkippedDefinition[]): (Node | null)[] {
    const root = this.t.tree.rootNode;
    const out: (Node | null)[] = [];
    const src = this.t.src;
    // A look-up from the root steps over every module-level statement before the stretch; one
    // from the module-level statement that holds the whole stretch (a class whose methods are
    // skipped) does not. Every node starting in the stretch is that statement or inside it.
    const tops = types.includes(root.type) ? [] : root.children;
    let top = 0;
    const holder = (from: number, to: number): Node => {
      while (top < tops.length && (tops[top]?.endIndex ?? 0) <= from) top++;
      const t = tops[top];
      return t && t.startIndex <= from && to <= t.endIndex ? t : root;
    };
    const stretch = (from: number, to: number, fromPos: Point, toPos: Point | undefined) => {
      if (from >= to || blankOrComment(src, from, to)) return;
      // Nodes overlapping the stretch come back too (the class around it): only those starting in it are new.
      for (const n of holder(from, to).descendantsOfType(types, fromPos, toPos)) if (n && n.startIndex >= from && n.startIndex < to) out.push(n);
    };
    let from = 0;
    let fromPos: Point = { row: 0, column: 0 };
    for (const s of skipped) {
      stretch(from, s.start, fromPos, s.startPosition);
      from = s.end;
      fromPos = s.endPosition;
    }
    // (No end position: to the end of the file.)
    stretch(from, src.length, fromPos, undefined);
    return out;
  }

  /**
   * A skipped definition the walk passes: it defines its name in the scope around it, where
   * it stands (later code sees it, earlier code does not), and consumes the decorators before it.
   */
  private passSkipped(s: SkippedDefinition): void {
    while (this.stack.frames.length > 1 && this.stack.frames[this.stack.frames.length - 1].until <= s.start) this.stack.frames.pop();
    this.stack.curScope().defs.add(s.name);
    this.lastDecoratorEnd = -1;
  }

  private typeAt(i: number): string {
    return (this.types[i] ??= this.nodes[i]!.type);
  }

  private endAt(i: number): number {
    return (this.ends[i] ??= this.nodes[i]!.endIndex);
  }

  private tops?: { end: number; pos: Position }[];
  /** The text may test for another platform ({@link mayTestOtherPlatform}); asked at the first definition. */
  private mayTestPlatform?: boolean;

  /** End of the module-level statement that holds the current node. */
  private topEnd(): Position {
    if (!this.tops) {
      this.tops = [];
      for (const c of this.t.tree.rootNode.children) {
        if (!c) continue;
        const end = c.endIndex;
        this.tops.push({ end, pos: this.t.posEnd(c, end) });
      }
    }
    const tops = this.tops;
    if (!tops.length) return { line: 0, character: 0 };
    // The first statement that ends after the node starts (else the last one).
    let lo = 0;
    let hi = tops.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tops[mid].end <= this.curStart) lo = mid + 1;
      else hi = mid;
    }
    return tops[lo].pos;
  }

  /**
   * Handles one node of interest; returns false to skip the nodes inside it. `until` is
   * the node's end offset: frames pushed here last until the walk passes it.
   */
  private visit(node: Node, type: string, until: number): boolean {
    const scope = this.stack.curScope();
    switch (type) {
      case 'import_statement':
      case 'import_from_statement':
        if (this.t.fast && this.stack.frames.length === 1) this.lastTopImport = { node, end: until };
        this.visitImport(node, scope);
        return false;
      case 'future_import_statement':
        if (this.stack.frames.length === 1) this.lastTopImport = { node, end: until };
        return true;
      case 'decorator':
        this.lastDecoratorEnd = until;
        return true;
      case 'function_definition':
        // `if _mswindows: def _communicate(...)`: not code that runs on the target.
        if ((this.mayTestPlatform ??= mayTestOtherPlatform(this.t.src)) && this.inOtherPlatformBranch() && definedOnlyForOtherPlatforms(node)) return false;
        this.visitFunction(node, until, scope);
        return true;
      case 'class_definition':
        this.visitClass(node, until, scope);
        return true;
      case 'if_statement':
        this.visitIf(node, until, scope);
        return true;
      case 'elif_clause': {
        this.stack.frames.push({ until, cond: true, guardOf: node, branch: this.t.rangeOf(node, until) });
        return true;
      }
      case 'with_statement':
        this.visitWith(node, scope);
        this.stack.frames.push({ until, cond: true });
        return true;
      case 'try_statement':
        this.stack.frames.push({ until, cond: true });
        return true;
      case 'except_clause':
        this.stack.frames.push({ until, cond: true, handler: true });
        return true;
      case 'else_clause':
      case 'match_statement':
      case 'lambda':
      case 'conditional_expression':
      case 'list_comprehension':
      case 'generator_expression':
      case 'set_comprehension':
      case 'dictionary_comprehension':
        this.stack.frames.push({ until, cond: true, branch: this.t.rangeOf(node, until) });
        return true;
      case 'for_statement':
      case 'while_statement': {
        const r = this.t.rangeOf(node, until);
        this.stack.frames.push({ until, cond: true, loop: loopContext(this.t, node, type, until, r), branch: r, loopRange: r });
        return true;
      }
      case 'call':
        this.visitCall(node, scope, until);
        return true;
      case 'assignment':
        this.visitAssignment(node, scope, until);
        return true;
      case 'return_statement':
      case 'raise_statement':
        (scope.leaves ??= []).push(this.t.rangeOf(node, until));
        if (type === 'return_statement' && scope.kind === 'function') {
          const value = node.namedChild(0);
          for (const v of returnedValues(value)) {
            if (v.type === 'call') this.returnedCalls.add(v.id);
            // `client = Client(); client.setup(); return client`: the model asks what `client` was bound to.
            else if (v.type === 'identifier') this.returnedNames.push({ scope, name: this.t.text(v), at: v.startIndex, base: factBase(this.t.rangeOf(node, until), this.stack.curFlags(), scope) });
            // `return self._client` (a lazy property): the model asks what `self._client` was bound to.
            else if (v.type === 'attribute' && scope.cls && v.childForFieldName('object')?.text === 'self') {
              const attr = v.childForFieldName('attribute')?.text;
              if (attr) this.returnedSelfAttributes.push({ scope, attr, base: factBase(this.t.rangeOf(node, until), this.stack.curFlags(), scope) });
            }
          }
          if (value && scope.cls && this.returnsOwnClass(value, scope)) {
            this.facts.push({ ...factBase(this.t.rangeOf(node, until), this.stack.curFlags(), scope), kind: 'py.returns-object', constructorName: scope.cls, origin: 'local' });
          }
        }
        return true;
      case 'global_statement':
        scope.globals ??= new Set();
        for (const c of node.namedChildren) if (c?.type === 'identifier') scope.globals.add(c.text);
        return false;
      case 'attribute': {
        // `st.st_ino` / `st.st_dev` (only collected when the file mentions them at all).
        const attr = node.childForFieldName('attribute');
        if (attr && PY_IDENTITY_FIELDS.has(attr.text)) scope.usesIdentityFields = true;
        return true;
      }
    }
    return true;
  }

  /**
   * Whether the innermost construct around the current node is an `if`/`elif` branch whose
   * condition tests for another platform, memoised on its frame. A definition directly in
   * such a branch has that branch's frame on top, so most definitions are ruled out here
   * without the parent look-ups of {@link definedOnlyForOtherPlatforms}.
   */
  private inOtherPlatformBranch(): boolean {
    const top = this.stack.frames[this.stack.frames.length - 1];
    if (top.otherPlatform === undefined) {
      const cond = top.guard ?? top.guardOf?.childForFieldName('condition');
      top.otherPlatform = !!cond && otherPlatformTest(cond);
    }
    return top.otherPlatform;
  }

  /**
   * `st.st_ino` / `st.st_dev` found in the text instead of visiting every attribute node:
   * each mention that is the attribute of an attribute node marks the scope around that node.
   */
  private findIdentityFields(): void {
    if (!this.scopes.some((s) => s.fstatCalls)) return; // only read next to `os.fstat` calls
    const root = this.t.tree.rootNode;
    const re = /\bst_(ino|dev)\b/g;
    for (let m = re.exec(this.t.src); m; m = re.exec(this.t.src)) {
      const start = m.index;
      const end = start + m[0].length;
      if (!PY_IDENTITY_FIELDS.has(m[0])) continue;
      const id = root.descendantForIndex(start, end);
      if (!id || id.startIndex !== start || id.endIndex !== end || id.type !== 'identifier') continue;
      const attr = id.parent;
      if (!attr || attr.type !== 'attribute' || attr.childForFieldName('attribute')?.id !== id.id) continue;
      // The innermost function or class whose definition holds the attribute node.
      const at = attr.startIndex;
      let scope = this.module;
      let best = -1;
      for (const s of this.scopeSpans) if (s.start <= at && at < s.end && s.start >= best) {
        scope = s.scope;
        best = s.start;
      }
      scope.usesIdentityFields = true;
    }
  }

  private visitImport(node: Node, scope: Scope): void {
    const flags = this.stack.curFlags();
    if (flags.typeOnly) return;
    const range = this.t.range(node);
    const b = factBase(range, flags, scope);
    const table = scope.kind === 'function' ? (scope.imports ??= new Map()) : (this.module.imports ??= new Map());
    const bind = (local: string, target: string) => table.set(local, target);
    if (node.type === 'import_statement') {
      for (const c of node.childrenForFieldName('name')) {
        if (!c) continue;
        if (c.type === 'dotted_name') {
          const mod = c.text;
          const first = mod.split('.')[0];
          bind(first, first);
          this.facts.push(withBase(b, { kind: 'py.import', module: mod, level: 0, boundName: first }));
        } else if (c.type === 'aliased_import') {
          const mod = c.childForFieldName('name')?.text ?? '';
          const alias = c.childForFieldName('alias')?.text ?? mod;
          bind(alias, mod);
          this.facts.push(withBase(b, { kind: 'py.import', module: mod, level: 0, boundName: alias }));
        }
      }
    } else {
      const modNode = node.childForFieldName('module_name');
      let level = 0;
      let mod = '';
      if (modNode?.type === 'relative_import') {
        for (const c of modNode.children) {
          if (c?.type === 'import_prefix') level = c.text.length;
          else if (c?.type === 'dotted_name') mod = c.text;
        }
      } else if (modNode) mod = modNode.text;
      const prefix = '.'.repeat(level) + mod;
      const names: { name: string; alias?: string }[] = [];
      let star = false;
      for (const c of node.children) {
        if (!c || c === modNode) continue;
        if (c.type === 'wildcard_import') star = true;
      }
      for (const c of node.childrenForFieldName('name')) {
        if (!c) continue;
        if (c.type === 'dotted_name') {
          names.push({ name: c.text });
          bind(c.text, joinName(prefix, c.text));
        } else if (c.type === 'aliased_import') {
          const n = c.childForFieldName('name')?.text ?? '';
          const alias = c.childForFieldName('alias')?.text ?? n;
          names.push({ name: n, alias });
          bind(alias, joinName(prefix, n));
        }
      }
      const fact: PyImportFact = withBase(b, { kind: 'py.import', module: mod, level, names });
      if (star) fact.star = true;
      // (Python allows `import *` at module level only.)
      if (star && scope.kind === 'module') this.module.starImports = true;
      this.facts.push(fact);
    }
  }

  /** The name of a `def`/`class` and its range: from the text when it is plain, else the `name` node. */
  private defName(node: Node, re: RegExp): { name: string; range: Range } | undefined {
    if (this.t.fast) {
      re.lastIndex = node.startIndex;
      const m = re.exec(this.t.src);
      if (m) {
        const p = node.startPosition;
        const col = p.column + m[0].length - m[1].length;
        return { name: m[1], range: { start: { line: p.row, character: col }, end: { line: p.row, character: col + m[1].length } } };
      }
    }
    const nameNode = node.childForFieldName('name');
    return nameNode ? { name: nameNode.text, range: nodeRange(nameNode) } : undefined;
  }

  private visitFunction(node: Node, until: number, parent: Scope): void {
    const nameInfo = this.defName(node, DEF_RE);
    const simple = nameInfo?.name ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.stack.curFlags();
    const fact: PyFunctionFact = withBase(factBase(nameInfo ? nameInfo.range : this.t.rangeOf(node, until), flags, parent), { kind: 'py.function', name: qual });
    const cls = parent.kind === 'class' ? parent.name : undefined;
    if (cls) fact.className = cls;
    if (cls && nameInfo && this.callsBaseMethod(node, until, simple)) fact.callsBase = true;
    // `def application(environ, start_response):` at module level is a WSGI entry point too.
    if (parent.kind === 'module' && simple === 'application' && !flags.main && !flags.cond && nameInfo) this.moduleFact.application ??= nameInfo.range;
    if (this.mayDecorate && (!this.t.fast || this.followsDecorator(node.startIndex))) {
      const p = node.parent;
      if (p?.type === 'decorated_definition' && this.isRegisteringDecorator(p)) fact.registered = true;
    }
    this.facts.push(fact);
    const scope: Scope = {
      kind: 'function',
      name: qual,
      fn: qual,
      cls,
      parent,
      until,
      defs: new Set(),
      bindings: new Map(),
      functionFact: fact,
      defNode: node,
      end: this.t.posEnd(node, until),
    };
    this.scopes.push(scope);
    this.scopeSpans.push({ scope, start: node.startIndex, end: until });
    this.stack.frames.push({ until, scope });
  }

  /**
   * Whether the method `name` defined by `node` calls the same method of a base class:
   * `super().name(` (any `super(...)`) or `Base.name(self` (also a dotted base).
   */
  private callsBaseMethod(node: Node, until: number, name: string): boolean {
    const body = this.t.exact ? this.t.src.slice(node.startIndex, until) : node.text;
    const at = body.indexOf('(');
    if (at < 0 || body.indexOf(`.${name}`, at) < 0) return false;
    return callsBaseMethodIn(body.slice(at), name.replace(/[^\w]/g, ''));
  }

  /** Whether the file has a `@` at all (decorators). */
  private readonly mayDecorate: boolean;
  /** End of the last decorator the walk passed (fast mode). */
  private lastDecoratorEnd = -1;

  /**
   * Only blanks and comments between the last decorator and `start`: a decorated definition.
   * (The first definition after decorators is theirs: it consumes them.)
   */
  private followsDecorator(start: number): boolean {
    const end = this.lastDecoratorEnd;
    this.lastDecoratorEnd = -1;
    return end >= 0 && end <= start && DECORATOR_GAP_RE.test(this.t.src.slice(end, start));
  }

  private isRegisteringDecorator(decorated: Node): boolean {
    for (const d of decorated.namedChildren) {
      if (d?.type !== 'decorator') continue;
      const expr = d.namedChild(0);
      const target = expr?.type === 'call' ? expr.childForFieldName('function') : expr;
      const name = this.t.dotted(target ?? null);
      if (name && !NON_REGISTERING_DECORATORS.test(name)) return true;
    }
    return false;
  }

  private visitClass(node: Node, until: number, parent: Scope): void {
    const nameInfo = this.defName(node, CLASS_RE);
    this.lastDecoratorEnd = -1; // a decorated class consumes its decorators
    const simple = nameInfo?.name ?? '<anonymous>';
    parent.defs.add(simple);
    const qual = parent.name ? `${parent.name}.${simple}` : simple;
    const flags = this.stack.curFlags();
    const raw: string[] = [];
    const sup = node.childForFieldName('superclasses');
    if (sup) for (const b of sup.namedChildren) {
      // `Base[T]` (a generic base) derives from `Base`.
      const d = this.t.dotted(b?.type === 'subscript' ? b.childForFieldName('value') : (b ?? null));
      if (d) raw.push(d);
    }
    const fact: PyClassFact = withBase(factBase(nameInfo ? nameInfo.range : this.t.rangeOf(node, until), flags, parent), { kind: 'py.class', name: qual, bases: [] });
    this.facts.push(fact);
    this.pendingBases.push({ fact, scope: parent, raw });
    const scope: Scope = { kind: 'class', name: qual, fn: parent.fn, cls: qual, parent, until, defs: new Set(), bindings: new Map(), end: parent.end, classFact: fact };
    this.scopes.push(scope);
    this.scopeSpans.push({ scope, start: node.startIndex, end: until });
    this.stack.frames.push({ until, scope });
  }

  readonly pendingBases: { fact: PyClassFact; scope: Scope; raw: string[] }[] = [];
  readonly pendingClassAttributes: { fact: PyClassFact; scope: Scope; name: string; raw: string }[] = [];

  /**
   * A class-body attribute that may hold a class: `job_class = Job` (a capitalised name) or
   * an annotation `job_class: type[Job]` / `type[Job[T]]`; resolved after the walk.
   */
  private noteClassAttribute(node: Node, scope: Scope, until: number): void {
    if (this.t.exact) {
      // The value names a class (a capital letter after the `=`) or the annotation spells `type[`.
      const text = this.t.src.slice(node.startIndex, until);
      const eq = text.indexOf('=');
      if (!text.includes('ype[') && (eq < 0 || !/[A-Z]/.test(text.slice(eq + 1)))) return;
    }
    const left = node.childForFieldName('left');
    if (left?.type !== 'identifier' || !scope.classFact) return;
    const right = node.childForFieldName('right');
    let raw: string | undefined;
    if (right && (right.type === 'identifier' || right.type === 'attribute')) {
      const d = this.t.dotted(right);
      if (d && /^_*[A-Z]/.test(d.slice(d.lastIndexOf('.') + 1))) raw = d;
    }
    const type = node.childForFieldName('type');
    if (!raw && type) raw = /^(?:typing\.)?[Tt]ype\[\s*([A-Za-z_][\w.]*)/.exec(this.t.text(type))?.[1];
    if (raw) this.pendingClassAttributes.push({ fact: scope.classFact, scope, name: left.text, raw });
  }

  private visitIf(node: Node, until: number, scope: Scope): void {
    const cond = node.childForFieldName('condition');
    const condText = cond ? this.t.text(cond) : '';
    // (Each test below needs its words in the condition's text: checked first, it is cheap.)
    if (scope.kind === 'module' && condText.includes('__name__') && condText.includes('__main__') && isMainGuard(cond) && !this.stack.curFlags().cond) {
      this.moduleFact.mainGuard = this.t.rangeOf(node, until);
      this.stack.frames.push({ until, main: true });
      return;
    }
    if (cond && (condText === 'TYPE_CHECKING' || condText === 'typing.TYPE_CHECKING')) {
      this.stack.frames.push({ until, cond: true, typeOnly: true });
      return;
    }
    this.stack.frames.push({ until, cond: true, guard: cond ?? undefined, branch: this.t.rangeOf(node, until) });
    if (!cond) return;
    // `if inspect.isgenerator(result):`: its branches run for some kinds of value only (`value-kinds.ts`).
    if (scope.kind === 'function' && KIND_TEST_WORDS.test(condText)) this.kindTests.push({ node, scope });
    // `if daemon:` / `if not self._daemon:`: its branches run for one truth value of the flag (`flag-values.ts`).
    if (scope.kind === 'function' && FLAG_TEST_TEXT.test(condText)) this.flagTests.push({ node, scope });
    // `if …: … else: …` outside loops: one run of the function takes one of its branches.
    // (An `if` whose text spells neither `elif` nor `else` has no alternative.)
    if (scope.kind === 'function' && this.mayHaveAlternative(node, until) && node.childrenForFieldName('alternative').length && !this.stack.curLoops()?.length) this.branchChains.push({ node, scope });
    // `if fd in keep: continue` inside a close-all loop: a keep-list.
    const loop = this.stack.curLoop();
    if (loop && condText.includes(loop.variable) && identifiersIn(cond).includes(loop.variable)) loop.keep = true;
    if (!scope.pidVars && !condText.includes('fork')) return;
    const test = forkTest(this.t, cond, scope);
    if (!test) return;
    const consequence = node.childForFieldName('consequence');
    if (!consequence) return;
    let alternative: Range | undefined;
    for (const alt of node.childrenForFieldName('alternative')) {
      if (alt?.type === 'else_clause') {
        const body = alt.childForFieldName('body');
        if (body) alternative = this.t.range(body);
      }
    }
    this.ifs.push({ node, end: until, scope, subject: test.subject, childWhenTrue: test.childWhenTrue, consequence: this.t.range(consequence), alternative });
  }

  private mayHaveAlternative(node: Node, until: number): boolean {
    if (!this.t.exact) return true;
    const text = this.t.src.slice(node.startIndex, until);
    return text.includes('else') || text.includes('elif');
  }

  private visitWith(node: Node, scope: Scope): void {
    for (const clause of node.namedChildren) {
      if (clause?.type !== 'with_clause') continue;
      for (const item of clause.namedChildren) {
        const value = item?.childForFieldName('value');
        const vt = value?.type;
        if (vt === 'call') this.withCalls.add(value!.id);
        if (vt !== 'as_pattern') continue;
        const call = value!.namedChild(0);
        const target = value!.childForFieldName('alias')?.namedChild(0);
        const ct = call?.type;
        if (ct === 'call' && target?.type === 'identifier') this.bind(scope, this.t.text(target), call!);
        if (ct === 'call') this.withCalls.add(call!.id);
      }
    }
  }

  /**
   * A method that hands out an object of its own class: `return cls(...)`, or the singleton
   * `return cls._instance` / `return Cls._instance` when the method itself stores
   * `cls._instance = cls(...)` (or `Cls._instance = Cls(...)`).
   */
  private returnsOwnClass(value: Node, scope: Scope): boolean {
    const own = scope.cls!.slice(scope.cls!.lastIndexOf('.') + 1);
    if (value.type === 'call') {
      const fn = value.childForFieldName('function');
      return fn?.type === 'identifier' && fn.text === 'cls';
    }
    if (value.type !== 'attribute' || !scope.defNode) return false;
    const parts = this.t.attrParts(value);
    if (!parts || (parts.obj !== 'cls' && parts.obj !== own)) return false;
    const stored = new RegExp(`\\b(?:cls|${own})\\.${parts.attr}\\s*=\\s*(?:cls|${own})\\s*\\(`);
    return stored.test(this.t.text(scope.defNode));
  }

  /** Calls used as `with` items: their objects are shut down when the block ends. */
  readonly withCalls = new Set<number>();

  /** Calls whose value a function returns (`return Cls(...)`). */
  readonly returnedCalls = new Set<number>();

  /** `return self.attr` in methods: the attribute and the return statement's fact base. */
  readonly returnedSelfAttributes: { scope: Scope; attr: string; base: PyFactBase }[] = [];

  /** `return name` in functions: the local name, where it is read, and the return statement's fact base. */
  readonly returnedNames: { scope: Scope; name: string; at: number; base: PyFactBase }[] = [];

  readonly pendingBindings: { scope: Scope; key: string; callId: number }[] = [];

  private bind(scope: Scope, key: string, call: Node): void {
    this.pendingBindings.push({ scope, key, callId: call.id });
  }

  /** Inner links of `a = b = c = ...` chains, already handled with the outermost one. */
  private readonly chainedAssignments = new Set<number>();

  private visitAssignment(node: Node, scope: Scope, until: number): void {
    if (this.chainedAssignments.delete(node.id)) return;
    if (scope.kind === 'class') {
      this.noteClassAttribute(node, scope, until);
      // `__enter__ = open`: the with protocol runs another method of the class.
      const alias = /^(__(?:enter|exit)__)\s*=\s*([A-Za-z_]\w*)\s*$/.exec(this.t.src.slice(node.startIndex, until));
      if (alias) this.facts.push({ ...factBase(this.t.rangeOf(node, until), this.stack.curFlags(), scope), kind: 'py.method-alias', className: scope.name, alias: alias[1], target: alias[2] });
    }
    if (this.t.fast && this.visitPlainAssignment(node, scope, until)) return;
    let right = node.childForFieldName('right');
    let rt = right?.type;
    // Only three things matter: a call on the right (caches, bindings, pids), targets a
    // function assigns through `global`/class attributes, and a module-level `application`.
    if (rt !== 'call' && rt !== 'assignment' && scope.kind === 'class') return;
    const left = node.childForFieldName('left');
    const lt = left?.type;
    if (rt !== 'call' && rt !== 'assignment' && scope.kind === 'function' && !scope.globals && lt !== 'attribute') return;
    // `a = b = call()`: every target gets the call.
    const targets: Target[] = left ? [{ node: left, type: lt! }] : [];
    while (right && rt === 'assignment') {
      this.chainedAssignments.add(right.id);
      const l = right.childForFieldName('left');
      if (l) targets.push({ node: l, type: l.type });
      right = right.childForFieldName('right');
      rt = right?.type;
    }
    const flags = this.stack.curFlags();
    for (const t of targets) {
      if (scope.kind === 'module' && !flags.main && t.type === 'identifier' && this.t.textIs(t.node!, 'application')) {
        this.moduleFact.application = this.t.range(t.node!);
      }
      if (scope.kind !== 'function') continue;
      if (t.type === 'pattern_list' || t.type === 'tuple_pattern') {
        for (const c of t.node!.namedChildren) if (c) this.noteAssignTarget({ node: c, type: c.type }, scope);
      } else this.noteAssignTarget(t, scope);
      // `global threading; threading = stdlib_threading`: a module global rebound to another name.
      if (t.type === 'identifier' && rt === 'identifier' && scope.globals?.has(this.targetText(t))) (scope.globalAliases ??= new Map()).set(this.targetText(t), right!.text);
    }
    if (scope.kind === 'module' && rt === 'string' && targets.some((t) => t.type === 'identifier' && this.t.textIs(t.node!, 'worker_class'))) {
      const v = stringValue(right)?.value;
      if (v) this.moduleFact.workerClass = v;
    }
    if (!right || rt !== 'call') return;
    // Only a fork's result makes a pid variable (its name is in the text).
    const forkCall =
      (!this.t.exact || this.t.src.slice(node.startIndex, until).includes('fork')) && /(^|\.)fork(pty)?$/.test(this.t.dotted(right.childForFieldName('function')) ?? '');
    for (const t of targets) {
      // pid variables: `pid = os.fork()`, `pid, fd = pty.fork()`.
      const pidNode = forkCall ? (t.type === 'pattern_list' || t.type === 'tuple_pattern' ? t.node!.namedChild(0) : t.node!) : null;
      this.noteCallTarget(t, right, pidNode?.type === 'identifier' ? pidNode.text : undefined, scope);
    }
  }

  /**
   * `name = ...` / `a.b = ...` read from the text (one plain target, no annotation): the
   * right side is a call when the next node of interest starts right after the `=` and
   * ends with the assignment. False when the statement has another shape (nothing done).
   */
  private visitPlainAssignment(node: Node, scope: Scope, until: number): boolean {
    const start = node.startIndex;
    ASSIGN_RE.lastIndex = start;
    const m = ASSIGN_RE.exec(this.t.src);
    if (!m) return false;
    const left = m[1];
    if (!plainSegments(left)) return false;
    const rs = start + m[0].length;
    const ch = this.t.src.charCodeAt(rs);
    // The right side starts here (not after a comment, line join or other blank).
    if (rs >= until || !(ch > 32 && ch < 127) || ch === 92 || ch === 35) return false;
    // `worker_class = "..."` at module level reads the string: left to the nodes.
    if (scope.kind === 'module' && left === 'worker_class') return false;
    const j = this.cur + 1;
    const next = this.nodes[j];
    let right: Node | undefined;
    if (next && next.startIndex === rs && this.endAt(j) === until) {
      const t = this.typeAt(j);
      if (t === 'assignment') return false; // `a = b = ...`
      if (t === 'call') right = next;
    }
    const type = left.includes('.') ? 'attribute' : 'identifier';
    if (!right && scope.kind === 'class') return true;
    if (!right && scope.kind === 'function' && !scope.globals && type !== 'attribute') return true;
    const target: Target = { type, text: left };
    if (scope.kind === 'module' && type === 'identifier' && left === 'application' && !this.stack.curFlags().main) {
      const p = node.startPosition;
      this.moduleFact.application = { start: { line: p.row, character: p.column }, end: { line: p.row, character: p.column + left.length } };
    }
    if (scope.kind === 'function') this.noteAssignTarget(target, scope);
    // `global threading; threading = stdlib_threading`: a module global rebound to another name.
    if (scope.kind === 'function' && type === 'identifier' && !right && scope.globals?.has(left)) {
      const value = this.t.src.slice(rs, until).trim();
      if (/^[A-Za-z_]\w*$/.test(value)) (scope.globalAliases ??= new Map()).set(left, value);
    }
    if (!right) return true;
    const forkCall = this.t.src.slice(start, until).includes('fork') && /(^|\.)fork(pty)?$/.test(this.t.dotted(right.childForFieldName('function')) ?? '');
    this.noteCallTarget(target, right, forkCall && type === 'identifier' ? left : undefined, scope);
    return true;
  }

  /** A target assigned a call: receiver bindings, pid variables, cache candidates. */
  private noteCallTarget(t: Target, right: Node, pid: string | undefined, scope: Scope): void {
    // Bindings for receivers (`t = Thread(...)`, `self._t = Thread(...)`, `ctx = get_context(...)`).
    if (t.type === 'identifier') this.bind(scope, this.targetText(t), right);
    else if (t.type === 'attribute' && scope.cls) {
      const parts = this.targetParts(t);
      if (parts && parts.obj === 'self') {
        const clsScope = classScope(scope);
        if (clsScope) this.bind(clsScope, `self.${parts.attr}`, right);
      }
    }
    // pid variables: `pid = os.fork()`, `pid, fd = pty.fork()`.
    if (pid !== undefined) (scope.pidVars ??= new Map()).set(pid, right.id);
    this.noteCacheCandidate(t, right, scope);
  }

  private targetText(t: Target): string {
    return (t.text ??= this.t.text(t.node!));
  }

  private targetParts(t: Target): { obj: string; attr: string } | undefined {
    return t.node ? this.t.attrParts(t.node) : partsOfDotted(t.text!);
  }

  private noteAssignTarget(t: Target, scope: Scope): void {
    if (scope.kind !== 'function') return;
    if (t.type === 'identifier' && scope.globals) {
      const name = this.targetText(t);
      if (scope.globals.has(name)) (scope.globalAssigns ??= new Set()).add(name);
    }
    if (t.type === 'attribute') {
      const parts = this.targetParts(t);
      if (!parts) return;
      const cls = parts.obj === 'cls' ? scope.cls : this.module.defs.has(parts.obj) ? parts.obj : undefined;
      if (cls) (scope.attrAssigns ??= new Set()).add(`${cls}.${parts.attr}`);
    }
  }

  private noteCacheCandidate(target: Target, call: Node, scope: Scope): void {
    let first = target;
    if (target.type === 'pattern_list' || target.type === 'tuple_pattern') {
      const n = target.node!.namedChildren.find((c): c is Node => !!c);
      if (!n) return;
      first = { node: n, type: n.type };
    }
    if (first.type === 'identifier') {
      if (scope.kind === 'module') this.addCache(call, this.targetText(first), 'module', false);
      else if (scope.kind === 'class') this.addCache(call, `${scope.name}.${this.targetText(first)}`, 'class', false);
      else if (scope.globals) {
        const t = this.targetText(first);
        if (scope.globals.has(t)) this.addCache(call, t, 'global', this.guarded(t));
      }
    } else if (first.type === 'attribute' && scope.kind === 'function') {
      const parts = this.targetParts(first);
      if (!parts) return;
      const cls = parts.obj === 'cls' ? scope.cls : this.module.defs.has(parts.obj) ? parts.obj : undefined;
      if (cls) this.addCache(call, `${cls}.${parts.attr}`, 'class', this.guarded(parts.attr));
    }
  }

  /** Opened on first use: under a condition that tests the cache itself (`if _fd is None:`). */
  private guarded(name: string): boolean {
    return this.stack.guards().some((g) => identifiersIn(g).includes(name));
  }

  private addCache(call: Node, name: string, storage: PendingCache['storage'], lazy: boolean): void {
    this.pendingCaches.push({ callId: call.id, name, storage, lazy, topStatementEnd: this.topEnd() });
  }

  readonly pendingCaches: PendingCache[] = [];

  /** Whether the file mentions `st_ino`/`st_dev` at all (cheap pre-check for re-validation). */
  private readonly mentionsIdentity: boolean;

  private visitCall(node: Node, scope: Scope, end: number): void {
    const flags = this.stack.curFlags();
    if (flags.typeOnly) return;
    const rec: RawCall = { node, end, argsAt: -1, callee: null, scope, flags, loop: this.stack.curLoop(), branches: this.stack.curBranches() };
    const loops = this.stack.curLoops();
    if (loops) rec.loops = loops;
    const start = node.startIndex;
    // `name(`, `a.b.c(`: the callee from the text, unless a call starts here too (`f(x)(y)`, `super().m(`).
    const next = this.nodes[this.cur + 1];
    let match: RegExpExecArray | null = null;
    if (this.t.fast && !(next && next.startIndex === start)) {
      CALLEE_RE.lastIndex = start;
      match = CALLEE_RE.exec(this.t.src);
    }
    const chain = match ? match[0].slice(0, -1) : undefined;
    if (chain !== undefined && plainSegments(chain)) {
      rec.callee = chain;
      rec.argsAt = start + chain.length;
      const d1 = chain.indexOf('.');
      if (d1 >= 0) {
        const last = chain.lastIndexOf('.');
        rec.method = chain.slice(last + 1);
        if (d1 === last) rec.recv = { name: chain.slice(0, d1) };
        else if (chain.indexOf('.', d1 + 1) === last && chain.slice(0, d1) === 'self') rec.recv = { selfAttr: chain.slice(d1 + 1, last) };
      }
    } else {
      const fnNode = node.childForFieldName('function');
      rec.callee = this.t.dotted(fnNode);
      if (this.t.fast && fnNode) {
        const e = fnNode.endIndex;
        if (this.t.src.charCodeAt(e) === 40) rec.argsAt = e;
      }
      if (fnNode?.type === 'attribute') {
        const obj = fnNode.childForFieldName('object');
        const attr = fnNode.childForFieldName('attribute');
        rec.method = attr?.text;
        const ot = obj?.type;
        if (ot === 'identifier') rec.recv = { name: obj!.text };
        else if (ot === 'attribute') {
          const o2 = obj!.childForFieldName('object');
          const a2 = obj!.childForFieldName('attribute');
          if (o2?.type === 'identifier' && o2.text === 'self' && a2) rec.recv = { selfAttr: a2.text };
        } else if (ot === 'call') rec.recv = { chained: obj!.id };
      }
    }
    this.callIndex.set(node.id, this.calls.length);
    this.calls.push(rec);
    // Callables passed as arguments are collected after the walk (`collectRefs`).
    // Close-one inside a loop over a descriptor range: note it against the loop.
    const loop = rec.loop;
    if (loop && rec.callee && /(^|\.)close$/.test(rec.callee)) {
      const arg = argsOf(node).positional[0];
      let v: Node | null | undefined = arg;
      if (v?.type === 'call' && this.t.dotted(v.childForFieldName('function')) === 'int') v = argsOf(v).positional[0];
      if (v?.type === 'identifier' && v.text === loop.variable) {
        // A condition on the loop variable between the loop and the close is a keep-list.
        const guards = this.stack.guards();
        for (const g of guards) {
          if (!within(this.t.range(g), loop.range) || !identifiersIn(g).includes(loop.variable)) continue;
          loop.keep = true;
          if (!(loop.keepGuards ??= []).includes(g)) loop.keepGuards.push(g);
        }
        this.loopCloses.push({ call: rec, loop });
      }
    }
    if (rec.callee && /(^|\.)fstat$/.test(rec.callee)) (scope.fstatCalls ??= []).push(rec);
    if (rec.callee && /(^|\.)closerange$/.test(rec.callee)) (scope.closeRanges ??= []).push(rec);
  }

  /** After the last module-level import (or the docstring): where a fix adds `import x`. */
  importInsertPoint(): Position {
    let after: Position | undefined;
    let first = true;
    if (this.t.fast) {
      // The walk noted the last module-level import; else the docstring, if it comes first.
      const root = this.t.tree.rootNode;
      if (this.lastTopImport) after = this.t.posEnd(this.lastTopImport.node, this.lastTopImport.end);
      else {
        let st = root.firstNamedChild;
        while (st && st.type === 'comment') st = st.nextNamedSibling;
        if (st && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string') after = posOf(st.endPosition);
      }
      return after ? { line: after.line + 1, character: 0 } : { line: 0, character: 0 };
    }
    for (const st of this.t.tree.rootNode.namedChildren) {
      if (!st) continue;
      if (st.type === 'import_statement' || st.type === 'import_from_statement' || st.type === 'future_import_statement') after = posOf(st.endPosition);
      else if (first && st.type === 'expression_statement' && st.namedChild(0)?.type === 'string') after = posOf(st.endPosition);
      if (st.type !== 'comment') first = false;
    }
    return after ? { line: after.line + 1, character: 0 } : { line: 0, character: 0 };
  }
}
