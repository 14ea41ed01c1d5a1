/**
 * C program facts: one walk over each file's tree collects what the program model and the
 * FORK/FD rules need (see `program-types.ts` for the fact kinds): function definitions
 * and their calls in evaluation order, fork sites with their child regions, thread
 * starts, exec calls, close-all idioms, at-fork registrations, descriptors cached in
 * long-lived storage, descriptor-producing calls with their close-on-exec judgement, and
 * `fstat` re-validations. This file holds the walk, its branch depth and child regions;
 * what one call yields is in `program-call-facts.ts`, close-all loops in
 * `program-close-all.ts`, descriptor storage in `program-fd-storage.ts`, text pre-checks in
 * `source-text.ts` and function names in `function-names.ts`. Nothing here throws on odd
 * code; unrecognised shapes are skipped.
 */
import { nodeRange, parseSync, type Node, type Tree } from '../../parsing/parser';
import { BUILTIN_KNOWLEDGE, type CKnowledge, type Knowledge } from '../../knowledge/knowledge';
import { calleeName, EXEC_IN_EVERY_BRANCH, forkShapeAt, HELPERS_IN_EVERY_BRANCH, isNoReturn, leaveCondition, regionEndOf, unwrap, unwrapTyped, type PendingRegion } from './program-fork';
import { declaratorName } from './declarators';
import type { Range } from '../../text/locations';
import type { CCall, CChildRegion, CFact, CForkFact, CFunctionFact, CLabel, Span } from './program-types';
import type { ForkKind } from '../../knowledge/c-process';
import { CallFacts } from './program-call-facts';
import { closeAllLoopAt, fileClosers, identifiersIn, type CloseAllLoop } from './program-close-all';
import { fdCacheFact, fdSourceCall, isResetValue, storageTarget, type FileVar } from './program-fd-storage';
import { cppQualifiedName, functionNameNode, macroDefinedHead, macroDefinedStatementHead, parameterFacts } from './function-names';
import { parameterEscapes } from './parameter-uses';
import { mayName, SourceText, spanBetween, spanOf } from './source-text';
import { reparseWithoutStatementMacros } from './statement-macros';
import { descriptorsHandedOverByNumber, fieldKeyOf, stringMacros } from './fd-by-number';
import { blankUnbalancedBranches } from './unbalanced-branches';
import { ALL_TRUE, and, branchCondition, not, onlyOn, platformsWhere, type PlatformTruth } from './preprocessor';
import { platformsOfHeader, type CPlatform } from '../../knowledge/c-platforms';

export type { CFact } from './program-types';
export * from './program-types';

/** A child region being filled while the walk is inside it. */
interface ActiveRegion {
  region: CChildRegion;
  /** Conditional depth at the region's start: calls at this depth are unconditional in it. */
  baseCond: number;
  /** Preprocessor frames open at the region's start (see `Extractor.pp`). */
  basePp: number;
  ended: boolean;
  /**
   * The region's sequence reached an `exec*()`: what follows runs only when the exec fails,
   * and is still collected (up to the exit or return that ends it).
   */
  execed?: boolean;
}

interface FunctionState {
  fact: CFunctionFact;
  /** Parameters and local variables (flat per function: block scoping is not modelled). */
  locals: Set<string>;
  staticLocals: Set<string>;
  refs: Set<string>;
  assigns: Set<string>;
  resets: Set<string>;
  forgets: { variable: string; at: Span }[];
  /** Function-pointer parameters by their declarator, with their positions. */
  pointerParams: Map<string, number>;
  /** Every parameter of the prototype by name, with its position. */
  params: Map<string, number>;
  /** Names noted as values other than as a bare argument of a recorded call (see `CFunctionFact.passedOnly`). */
  otherRefs: Set<string>;
  /** Fields the function calls through (`x->run(...)`), whether or not the file stores into them. */
  fieldCalls: Set<string>;
  fieldStores: NonNullable<CFunctionFact['fieldStores']>;
  passes: NonNullable<CFunctionFact['passes']>;
  flagSets: { test: string; flag: string }[];
  /** Upper bounds of the function's keep-list close loops so far (`end` in `fd <= end`). */
  keepListLimits: Set<string>;
  /** Variables set from such a bound (`begin = end + 1`): a close-all from there spares the kept descriptors below. */
  aboveKeepList: Set<string>;
  fstatVars: Map<string, Range>;
  checksInode: boolean;
  /** Labels whose sequence is still running (no `return`, `goto` or exit at their level yet), with that level. */
  openLabels: { label: CLabel; cond: number }[];
}

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

/** A flag's key: a variable or a field chain, white space removed (`srv->cfg.off`). `type`: the node's, if known. */
function flagKey(node: Node, type?: string): string | null {
  const { node: n, type: t } = unwrapTyped(node, type);
  return t === 'identifier' || t === 'field_expression' ? n.text.replace(/\s+/g, '') : null;
}

/** Compound assignment operators, as written between the two sides. */
const COMPOUND_ASSIGNMENTS: ReadonlySet<string> = new Set(['+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);

/** The flags a condition requires to be zero: `!x`, `x == 0`, `0 == x`, joined by `&&`. */
function zeroKeys(node: Node, depth = 0): string[] {
  if (depth > 8) return [];
  const n = unwrap(node);
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '!') {
    const arg = n.childForFieldName('argument');
    const key = arg ? flagKey(arg) : null;
    return key ? [key] : [];
  }
  if (n.type !== 'binary_expression') return [];
  const op = n.childForFieldName('operator')?.type;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (!left || !right) return [];
  if (op === '&&') return [...zeroKeys(left, depth + 1), ...zeroKeys(right, depth + 1)];
  if (op !== '==') return [];
  const l = unwrap(left);
  const r = unwrap(right);
  const key = l.type === 'number_literal' && Number(l.text) === 0 ? flagKey(r) : r.type === 'number_literal' && Number(r.text) === 0 ? flagKey(l) : null;
  return key ? [key] : [];
}

/** A number literal whose value is zero (`0`, `0x0`). */
function isZeroLiteral(node: Node, type: string): boolean {
  return type === 'number_literal' && Number(node.text) === 0;
}

/** What an `if` condition tells: see {@link conditionTests}. */
interface ConditionTests {
  /** The flags it requires to be zero (`zeroKeys`). */
  zero: string[];
  /** The variable it requires to be set (non-zero): `x`, `x != 0`, `0 != x`, `x > 0`. */
  set: string | null;
  /**
   * The storage it finds open (`fp != NULL`, `fd >= 0`, `fd != -1`, `fp`): setting it to a
   * constant inside that branch forgets it on every path.
   */
  held: string | null;
}

const NO_TESTS: ConditionTests = { zero: [], set: null, held: null };

/** The flag, set and held tests of an `if` condition, its parentheses unwrapped and its operands read once for all three. */
function conditionTests(condition: Node): ConditionTests {
  const { node: n, type } = unwrapTyped(condition);
  if (type === 'identifier') {
    const text = n.text;
    return { zero: [], set: text, held: text };
  }
  if (type === 'field_expression') return { zero: [], set: null, held: n.text.replace(/\s+/g, '') };
  if (type === 'unary_expression') return { zero: zeroKeys(n), set: null, held: null };
  if (type !== 'binary_expression') return NO_TESTS;
  const op = n.childForFieldName('operator')?.type;
  // Other operators (`<=`, `&`, `||`, `+`…) test nothing of the three: their operands stay unread.
  if (op !== '&&' && op !== '==' && op !== '!=' && op !== '>' && op !== '<' && op !== '>=') return NO_TESTS;
  const left = n.childForFieldName('left');
  const right = n.childForFieldName('right');
  if (!left || !right) return NO_TESTS;
  // `a && b`: only zero tests (of both sides) come from a conjunction.
  if (op === '&&') return { zero: [...zeroKeys(left, 1), ...zeroKeys(right, 1)], set: null, held: null };
  const { node: l, type: lType } = unwrapTyped(left);
  const { node: r, type: rType } = unwrapTyped(right);
  const lStorage = lType === 'identifier' || lType === 'field_expression';
  const rStorage = rType === 'identifier' || rType === 'field_expression';
  let zero: string[] = [];
  if (op === '==') {
    const key = isZeroLiteral(l, lType) ? (rStorage ? r.text.replace(/\s+/g, '') : null) : isZeroLiteral(r, rType) && lStorage ? l.text.replace(/\s+/g, '') : null;
    if (key) zero = [key];
  }
  let set: string | null = null;
  if ((op === '!=' || op === '>') && lType === 'identifier' && isZeroLiteral(r, rType)) set = l.text;
  else if ((op === '!=' || op === '<') && rType === 'identifier' && isZeroLiteral(l, lType)) set = r.text;
  let held: string | null = null;
  if (lStorage && (op === '!=' || op === '>=' || op === '>')) {
    const v = r.text.replace(/\s+/g, '');
    if ((op === '!=' && (v === 'NULL' || v === '0' || v === '-1')) || (op === '>=' && v === '0') || (op === '>' && v === '-1')) held = l.text.replace(/\s+/g, '');
  }
  return { zero, set, held };
}

/** The first field name a field declarator declares (`name`, `*name`, `(*name)(args)`, `name[4]`). */
function firstFieldIdentifier(node: Node, depth: number): string | null {
  if (node.type === 'field_identifier') return node.text;
  if (depth > 6) return null;
  for (const c of node.namedChildren) {
    if (!c || c.type === 'parameter_list') continue;
    const found = firstFieldIdentifier(c, depth + 1);
    if (found) return found;
  }
  return null;
}

/** A non-zero integer constant (`1`, `-1`). */
function isNonZeroConstant(node: Node): boolean {
  let n = unwrap(node);
  if (n.type === 'unary_expression' && n.childForFieldName('operator')?.type === '-') {
    const arg = n.childForFieldName('argument');
    if (!arg) return false;
    n = unwrap(arg);
  }
  return n.type === 'number_literal' && Number(n.text) !== 0;
}

/** `->name =` / `.name =` (not `==`): a field the file stores into. */
const FIELD_STORE = /(?:->|\.)\s*([A-Za-z_]\w*)\s*=(?!=)/g;

/** `#define NAME static ...`: a storage-class macro (`#define THREAD_LOCAL static __thread`). */
const STATIC_MACRO = /^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+static\b/gm;

/** {@link STATIC_MACRO} anywhere in a line: a quick necessary test before it. */
const STATIC_MACRO_ANYWHERE = /#[ \t]*define[ \t]+[A-Za-z_]\w*[ \t]+static\b/;

/** The annotation that declares the next function fork-child code: `/* hazard-lens: fork-child *\/`. */
const FORK_CHILD_MARK = /hazard-lens:\s*fork-child\b/;

class Extractor {
  readonly facts: CFact[] = [];
  private readonly fileVars = new Map<string, FileVar>();
  /** Names stored as values: file-scope initializers and assignments into non-local storage (see `CStoredNamesFact`). */
  private readonly storedNames = new Set<string>();
  private readonly source: SourceText;
  private readonly callFacts: CallFacts;
  /** `#define NAME "text"` of the file (`fd-by-number.ts`). */
  private readonly stringMacros: ReadonlyMap<string, string>;
  private fn: FunctionState | null = null;
  /** Macros the file has used to write a function's head so far (`TEST_IMPL`): see `macroDefinedHead`. */
  private readonly definers = new Set<string>();
  private functionCount = 0;
  private cond = 0;
  /**
   * The `#if` branches the walk is inside, outermost first, each with the platforms that
   * compile it (file-scope ones too). Inside a function each one also counts one level of
   * `cond`, so a call is `unconditional` only outside them; `ppAnnotate` records where such
   * a call still runs every time (every branch around it is compiled on that platform).
   */
  private pp: PlatformTruth[] = [];
  /**
   * Per frame of `pp`: the platforms that do not compile code inside it and every frame
   * around it (what `notCompiledOn` answers, worked out once per frame, not once per call).
   */
  private ppNotOn: (string[] | undefined)[] = [];
  /** `pp.length` when the current function's body started. */
  private ppAtFunction = 0;
  private regions: ActiveRegion[] = [];
  /** Region starts keyed by node id (branches and `case`s taken only by the child). */
  private pendingBlocks = new Map<number, CChildRegion>();
  /** Fork facts waiting for their call to be recorded, keyed by the call node's id. */
  private pendingForks = new Map<number, CForkFact>();
  /** Per enclosing `if`/loop: the flags its condition requires to be zero (`!quiet`, `0 == cfg->off`). */
  private zeroGuards: string[][] = [];
  /** Enclosing `if` blocks entered only when a variable is set (`if (fd)`), with the branch depth of their top level. */
  private setTests: { test: string; depth: number }[] = [];
  /** Storage the enclosing `if` branches find open (`if (fp != NULL) {`), with the branch depth. */
  private heldTests: { test: string; depth: number }[] = [];
  /** Macros the file defines as a `static` storage class (`THREAD_LOCAL`). */
  private readonly staticMacros = new Set<string>();
  /** The file's own one-descriptor closers (`#define close_it(x) close(x)`), besides `close()`. */
  private closers: ReadonlySet<string> = new Set();
  /** `close(fd)` calls that are the body of a close-all loop, keyed by call node id. */
  private pendingCloseAll = new Map<number, CloseAllLoop>();
  /** Calls that are an entire expression statement: call node id → deletion span. */
  private statementCalls = new Map<number, Span>();
  /** Statement text of whole-line call statements (call node id → text). */
  private statementTexts = new Map<number, string>();

  constructor(
    text: string,
    private readonly knowledge: CKnowledge,
  ) {
    this.source = new SourceText(text);
    this.stringMacros = stringMacros(text);
    this.callFacts = new CallFacts(this.facts, /^[ \t]*#[ \t]*define[ \t]+_GNU_SOURCE\b/m.test(text), knowledge);
  }

  private readonly includes: { headers: string[]; first: Range | null; insertLine: number } = { headers: [], first: null, insertLine: 0 };

  /** The branch depth (`cond`) of each call of the current function, by call index. */
  private callConds: number[] = [];
  /** Indices of the current function's calls that are an exec (`regionEndOf` says so), ascending. */
  private execCalls: number[] = [];

  run(root: Node): void {
    this.closers = fileClosers(root, this.source);
    for (const m of this.source.text.matchAll(FIELD_STORE)) this.storedFields.add(m[1]);
    // The unanchored test finds its `#` quickly; the line-anchored pattern tries every offset.
    if (STATIC_MACRO_ANYWHERE.test(this.source.text)) for (const m of this.source.text.matchAll(STATIC_MACRO)) this.staticMacros.add(m[1]);
    // A system header only one platform (or family) has, included outside any `#if`: the whole
    // file is compiled there alone, as if it sat in that platform's `#ifdef`.
    // The top-level children's types, read once for both.
    const types = root.namedChildren.map((c) => (c ? c.type : ''));
    const only = onlyPlatformsOf(root, types);
    if (only) this.pushPp(onlyOn(only));
    this.topLevel(root, undefined, types);
    if (only) this.popPp();
    this.callFacts.finish();
    const start = { line: 0, character: 0 };
    this.facts.unshift({
      kind: 'c.includes',
      range: this.includes.first ?? { start, end: start },
      headers: this.includes.headers,
      insertLine: this.includes.insertLine,
    });
    if (this.storedNames.size > 0) this.facts.push({ kind: 'c.storedNames', range: { start, end: start }, names: [...this.storedNames] });
  }

  // ---------------------------------------------------------------------------------
  // File scope
  // ---------------------------------------------------------------------------------

  /** `types`: those of `node.namedChildren`, when the caller has read them. */
  private topLevel(node: Node, skip?: ReadonlySet<number>, types?: readonly string[]): void {
    /** The comment just before the current child, if it follows one. */
    let comment: Node | null = null;
    const children = node.namedChildren;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (!child || skip?.has(child.id)) continue;
      const type = types ? types[i] : child.type;
      const forkChild = comment !== null && FORK_CHILD_MARK.test(comment.text);
      comment = type === 'comment' ? child : null;
      switch (type) {
        case 'function_definition':
          this.functionDefinition(child, forkChild);
          break;
        case 'expression_statement': {
          // `TEST(suite, name) { ... }`: a call missing its `;`, then a block (function-names.ts).
          const block = children[i + 1] ?? null;
          const head = block && !skip?.has(block.id) ? macroDefinedStatementHead(child, block) : null;
          if (head && block) {
            this.functionBody(block, block, { name: head.name, nameSpan: spanBetween(head.first, head.last), definer: head.definer }, forkChild, nodeRange(child).start);
            // The block is the next child (a `compound_statement`, no comment): skipped here.
            i++;
          }
          break;
        }
        case 'declaration':
          this.fileDeclaration(child);
          break;
        case 'struct_specifier':
          this.noteStructFields(child, null);
          break;
        case 'type_definition':
          this.noteStructFields(child.childForFieldName('type'), child.childForFieldName('declarator'));
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
          this.preprocChain(child, false);
          break;
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
    const isStatic = this.isStatic(decl) || this.hasStaticMacro(decl);
    const type = decl.childForFieldName('type');
    this.noteStructFields(type, null);
    for (const d of decl.childrenForFieldName('declarator')) {
      if (!d) continue;
      const name = declaratorName(d);
      if (!name) continue;
      const value = d.type === 'init_declarator' ? d.childForFieldName('value') : null;
      // The text's length from the offsets (a long initializer's text is never read).
      this.fileVars.set(name, { isStatic, declSpan: spanOf(decl), init: value && value.endIndex - value.startIndex < 40 ? value.text : undefined });
      // An initializer of numbers alone (`= { 0x1f, 10UL }`) stores no name and fills no table.
      if (value && this.source.mayHoldName(value.startIndex, value.endIndex)) {
        this.noteStoredNames(value, 0);
        this.noteDispatchTable(decl, name, type, value);
      }
    }
  }

  /** Field names in order of the structs the file declares, by `struct tag` and by typedef name. */
  private readonly structFields = new Map<string, string[]>();
  /** Fields the file assigns to (`x->engine = ...`, `s.run = ...`), read from the text before the walk. */
  private readonly storedFields = new Set<string>();
  /** Tables recorded by `noteDispatchTable`, by variable name. */
  private readonly dispatchTables = new Set<string>();

  /** Records the field order of a struct with a body (`struct cmd { const char *name; int (*run)(void); }`). */
  private noteStructFields(type: Node | null, typedefName: Node | null): void {
    if (type?.type !== 'struct_specifier') return;
    const body = type.childForFieldName('body');
    if (!body) return;
    const fields: string[] = [];
    for (const f of body.namedChildren) {
      if (f?.type !== 'field_declaration') continue;
      for (const d of f.childrenForFieldName('declarator')) {
        const id = d ? firstFieldIdentifier(d, 0) : null;
        if (id) fields.push(id);
      }
    }
    const tag = type.childForFieldName('name');
    if (tag) this.structFields.set(`struct ${tag.text}`, fields);
    if (typedefName?.type === 'type_identifier') this.structFields.set(typedefName.text, fields);
  }

  /**
   * A file-scope initializer that stores names in fields, an array of rows or one struct:
   * recorded as a `c.dispatchTable` fact, the field of each stored name taken from its
   * designator or from its position in the struct (when the struct is declared here).
   */
  private noteDispatchTable(decl: Node, variable: string, type: Node | null, value: Node): void {
    if (value.type !== 'initializer_list') return;
    const typeKey = type?.type === 'struct_specifier' ? (type.childForFieldName('name') ? `struct ${type.childForFieldName('name')!.text}` : null) : type?.type === 'type_identifier' ? type.text : null;
    const order = typeKey ? this.structFields.get(typeKey) : undefined;
    const rows = value.namedChildren.some((c) => c?.type === 'initializer_list') ? value.namedChildren.filter((c) => c?.type === 'initializer_list') : [value];
    const fields = new Map<string, Set<string>>();
    for (const row of rows) {
      let position = 0;
      for (const item of row!.namedChildren) {
        if (!item || item.type === 'comment') continue;
        let field = order?.[position] ?? `#${position}`;
        let stored: Node | null = item;
        if (item.type === 'initializer_pair') {
          const designator = item.childForFieldName('designator');
          const named = designator?.type === 'field_designator' ? designator.namedChildren.find((c) => c?.type === 'field_identifier') : null;
          if (named) {
            field = named.text;
            const at = order ? order.indexOf(field) : -1;
            if (at >= 0) position = at;
          }
          stored = item.childForFieldName('value');
        }
        position++;
        const n = stored ? unwrap(stored) : null;
        const id = n?.type === 'pointer_expression' ? n.childForFieldName('argument') : n;
        if (id?.type !== 'identifier') continue;
        let names = fields.get(field);
        if (!names) fields.set(field, (names = new Set()));
        names.add(id.text);
      }
    }
    if (fields.size === 0) return;
    this.dispatchTables.add(variable);
    this.facts.push({ kind: 'c.dispatchTable', range: nodeRange(decl), variable, fields: [...fields].map(([field, names]) => ({ field, names: [...names] })) });
  }

  /**
   * The table and field a callee reads its function pointer from, when the table is one of
   * this file's dispatch tables and not shadowed by a local: `cmds[i].func`, `(*cmds[i].func)`,
   * `ops.run`.
   */
  private tableCallee(callee: Node): { table: string; field: string } | null {
    const n = calledField(callee);
    if (!n) return null;
    const field = n.childForFieldName('field');
    let base = n.childForFieldName('argument');
    if (!field || !base) return null;
    base = unwrap(base);
    if (base.type === 'subscript_expression') base = base.childForFieldName('argument');
    if (base?.type !== 'identifier' || !this.dispatchTables.has(base.text) || this.fn?.locals.has(base.text)) return null;
    return { table: base.text, field: field.text };
  }

  /**
   * Identifiers a file-scope initializer stores (`{ .open = my_open, NULL }`, `&my_ops`), a few
   * levels deep. `type`: the value's, when the caller has read it.
   */
  private noteStoredNames(value: Node, depth: number, type?: string): void {
    if (depth > 6) return;
    const { node: n, type: t } = unwrapTyped(value, type);
    if (t === 'identifier') this.storedNames.add(n.text);
    else if (t === 'pointer_expression') {
      const arg = n.childForFieldName('argument');
      if (arg?.type === 'identifier') this.storedNames.add(arg.text);
    } else if (t === 'initializer_list' || t === 'initializer_pair') {
      for (const c of n.namedChildren) {
        if (!c) continue;
        const childType = c.type;
        if (childType !== 'field_designator' && childType !== 'subscript_designator') this.noteStoredNames(c, depth + 1, childType);
      }
    }
  }

  /** A `static` storage class among the node's children (the text must mention it first). */
  private isStatic(node: Node): boolean {
    if (!this.source.occursIn('static', node.startIndex, node.endIndex)) return false;
    return node.namedChildren.some((c) => c?.type === 'storage_class_specifier' && c.text === 'static');
  }

  /**
   * The declaration starts with a macro the file defines as a `static` storage class
   * (`#define THREAD_LOCAL static __thread`), which the parser reads as a type name.
   */
  private hasStaticMacro(decl: Node): boolean {
    if (this.staticMacros.size === 0) return false;
    const head = decl.namedChild(0);
    return head?.type === 'type_identifier' && this.staticMacros.has(head.text);
  }

  /** `forkChild`: the comment before the definition declares it fork-child code (`hazard-lens: fork-child`). */
  private functionDefinition(def: Node, forkChild = false): void {
    const body = def.childForFieldName('body');
    if (!body) return;
    // A macro's head first: after `END_TEST`, `START_TEST(name)` looks like a function named `START_TEST`.
    const macro = macroDefinedHead(def, this.definers);
    if (macro) {
      // After `END_TEST` the definition node starts at that statement macro; the function at its head.
      const start = macro.first.id === def.childForFieldName('type')?.id ? undefined : nodeRange(macro.first).start;
      this.functionBody(def, body, { name: macro.name, nameSpan: spanBetween(macro.first, macro.last), definer: macro.definer }, forkChild, start);
      return;
    }
    const nameNode = functionNameNode(def);
    if (!nameNode) return;
    // A C++ qualified name has a `::` before the body.
    const qualified = this.source.occursIn('::', def.startIndex, body.startIndex) ? cppQualifiedName(def, nameNode) : null;
    this.functionBody(def, body, { name: qualified ?? nameNode.text, nameSpan: spanOf(nameNode) }, forkChild);
  }

  /**
   * One function's facts. `def` is the definition (a `function_definition`; for a head the
   * grammar reads as a statement, `TEST(suite, name) { ... }`, the block itself, which has no
   * parameters), `start` where the definition starts when that is not `def`'s start.
   */
  private functionBody(def: Node, body: Node, head: { name: string; nameSpan: Span; definer?: string }, forkChild: boolean, start?: Range['start']): void {
    const isStatic = this.isStatic(def);
    const range = nodeRange(def);
    const fact: CFunctionFact = {
      kind: 'c.function',
      range: start ? { start, end: range.end } : range,
      name: head.name,
      isStatic,
      nameSpan: head.nameSpan,
      index: this.functionCount++,
      calls: [],
      loops: [],
      references: [],
      assigns: [],
    };
    const notOn = this.notCompiledOn();
    if (notOn) fact.notOn = notOn;
    if (forkChild) fact.forkChild = 1;
    if (head.definer) {
      fact.definer = head.definer;
      this.definers.add(head.definer);
    }
    this.facts.push(fact);
    const parameters = parameterFacts(def);
    const state: FunctionState = {
      fact,
      locals: new Set(def.type === 'function_definition' ? parameters.names : []),
      staticLocals: new Set(),
      refs: new Set(),
      assigns: new Set(),
      resets: new Set(),
      forgets: [],
      pointerParams: parameters.pointers,
      params: parameters.positions,
      otherRefs: new Set(),
      fieldCalls: new Set(),
      fieldStores: [],
      passes: [],
      flagSets: [],
      keepListLimits: new Set(),
      aboveKeepList: new Set(),
      fstatVars: new Map(),
      checksInode: false,
      openLabels: [],
    };
    this.fn = state;
    this.cond = 0;
    this.ppAtFunction = this.pp.length;
    this.callConds = [];
    this.execCalls = [];
    this.regions = [];
    try {
      this.visit(body);
    } finally {
      this.fn = null;
    }
    this.closeLabels(state, -1);
    // Only a body that formats with a `printf` can hand a descriptor over by its number.
    const byNumber = this.source.occursIn('printf', body.startIndex, body.endIndex) ? descriptorsHandedOverByNumber(def, this.stringMacros) : null;
    if (byNumber && byNumber.size > 0) {
      this.callFacts.handedOverByNumber(fact.index, byNumber);
      const fields = [...new Set([...byNumber].map((t) => fieldKeyOf(t, def)).filter((k): k is string => k !== null))];
      if (fields.length > 0) fact.handsOverFields = fields;
    }
    fact.references = [...state.refs];
    fact.assigns = [...state.assigns];
    if (state.resets.size > 0) fact.resets = [...state.resets];
    if (state.forgets.length > 0) fact.forgets = state.forgets;
    // A parameter the body calls holds a function pointer whatever its declared type.
    const called = new Set<number>();
    for (const c of fact.calls) if (c.param !== undefined) called.add(c.param);
    const callable = new Set([...state.pointerParams.values(), ...called]);
    const fieldStores = state.fieldStores.filter((f) => f.param === undefined || callable.has(f.param));
    const passes = state.passes.filter((p) => p.param === undefined || callable.has(p.param));
    if (fieldStores.length > 0) fact.fieldStores = fieldStores;
    if (passes.length > 0) fact.passes = passes;
    if (callable.size > 0) {
      const watched = new Map([...state.params].filter(([, i]) => callable.has(i)));
      const escapes = parameterEscapes(body, watched);
      if (escapes.length > 0) fact.paramEscapes = escapes;
    }
    const passedOnly = fact.references.filter((r) => !state.otherRefs.has(r));
    if (passedOnly.length > 0) fact.passedOnly = passedOnly;
    if (state.fieldCalls.size > 0) fact.fieldCalls = [...state.fieldCalls];
    if (state.flagSets.length > 0) fact.flagSets = state.flagSets;
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
      this.regions.push({ region: pending, baseCond: this.cond, basePp: this.pp.length, ended: false });
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
      if (!this.source.mayHoldEffect(node.startIndex, end)) return;
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
        if (this.visitBranches(node, cond)) this.recordExecInEveryBranch(node);
        else this.recordHelpersInEveryBranch(node);
        return;
      }
      case 'for_statement':
      case 'while_statement':
      case 'do_statement': {
        fn.fact.loops.push(spanOf(node));
        const closeAll = closeAllLoopAt(node, this.source, this.closers);
        if (closeAll) {
          // The tail of a keep-list: closes from just above what an earlier keep-list loop spared.
          if (closeAll.loop.from && fn.aboveKeepList.has(closeAll.loop.from)) closeAll.loop.keepList = true;
          if (closeAll.loop.keepList) for (const l of closeAll.loop.limits) fn.keepListLimits.add(l);
          this.pendingCloseAll.set(closeAll.call.id, closeAll.loop);
        }
        const body = node.childForFieldName('body');
        const update = node.childForFieldName('update');
        const condition = type === 'do_statement' ? null : node.childForFieldName('condition');
        for (const child of node.namedChildren) {
          if (!child) continue;
          const inBody = child.id === body?.id || update?.id === child.id;
          if (inBody) this.cond++;
          // `while (!stop) {...}`: the body runs only while the flag is zero.
          if (inBody) this.zeroGuards.push(condition ? zeroKeys(condition) : []);
          this.visit(child);
          if (inBody) this.zeroGuards.pop();
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
        if (left && (!right || this.source.mayHoldEffect(left.startIndex, right.startIndex))) this.visit(left, undefined, right ? right.startIndex : undefined);
        if (right && this.source.mayHoldEffect(right.startIndex, end)) {
          const op = node.childForFieldName('operator')?.type;
          if (op === '&&' || op === '||') this.cond++;
          this.visit(right, undefined, end);
          if (op === '&&' || op === '||') this.cond--;
        }
        return;
      }
      case 'preproc_if':
      case 'preproc_ifdef':
        this.preprocChain(node, true);
        return;
      case 'preproc_else':
      case 'preproc_elif':
      case 'preproc_elifdef':
        // Met only through `preprocChain`; on its own, a branch that may not be compiled.
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
        if (type === 'return_statement') {
          this.noteReturnedFork(node);
          // `return log_fd;`: a getter names what it returns (a keep-list may call it).
          const value = node.namedChildren.find((c) => c && c.type !== 'comment');
          if (value) this.noteRef(value, value.type);
        }
        // `return 0;`, `goto out;`: nothing to visit inside.
        if (this.source.mayHoldEffect(node.startIndex, node.endIndex)) for (const child of node.namedChildren) if (child) this.visit(child);
        if (type === 'goto_statement') this.noteGoto(node);
        this.endRegions('return');
        this.closeLabels(fn, this.cond);
        return;
      case 'labeled_statement': {
        const label = node.childForFieldName('label');
        if (label) {
          const record: CLabel = { name: label.text, span: spanOf(label), from: fn.fact.calls.length, to: fn.fact.calls.length };
          (fn.fact.labels ??= []).push(record);
          fn.openLabels.push({ label: record, cond: this.cond });
        }
        for (const child of node.namedChildren) if (child && child.id !== label?.id) this.visit(child);
        return;
      }
      case 'field_expression': {
        const field = node.childForFieldName('field');
        if (field) {
          const at = field.startIndex;
          if (this.source.text.startsWith('st_ino', at) || this.source.text.startsWith('st_dev', at)) {
            const name = field.text;
            if (name === 'st_ino' || name === 'st_dev') fn.checksInode = true;
          }
        }
        const arg = node.childForFieldName('argument');
        // `p->x`: the object before the field, skipped when its text shows no effect.
        if (arg && (!field || this.source.mayHoldEffect(arg.startIndex, field.startIndex))) this.visit(arg, undefined, field ? field.startIndex : undefined);
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
          if (this.source.mayHoldEffect(child.startIndex, childBound)) this.visit(child, undefined, childBound);
        }
      }
    }
  }

  /** Statements in order; a fork among them may open child regions over later statements. */
  private block(node: Node, skip?: ReadonlySet<number>): void {
    const stmts: Node[] = [];
    const types: string[] = [];
    for (const c of node.namedChildren) {
      if (!c || skip?.has(c.id)) continue;
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
          this.regions.push({ region: a.region, baseCond: this.cond, basePp: this.pp.length, ended: false });
          pushed++;
        }
      }
      if (this.mayHoldFork(stmt)) {
        // Known fork calls first (`if (pty) pid = fdforkpty(…); else pid = fork();` is fork()'s).
        const known = forkShapeAt(node, stmts, i, this.knowledge.forkCalls);
        const shape = known ?? (this.forkCallsHere().size > this.knowledge.forkCalls.size ? forkShapeAt(node, stmts, i, this.forkCallsHere()) : null);
        const wrapper = shape !== null && known === null;
        // A fork already recognised from an enclosing statement (`if (…) pid = forkpty(…);
        // else pid = fork();` followed by the tests) keeps that shape. A possible wrapper
        // counts only when its result is tested like a pid.
        if (shape && !this.pendingForks.has(shape.call.id) && (!wrapper || shape.regions.length > 0)) {
          const fact = this.newForkFact(shape.call, shape.known, shape.regions, stmts, node);
          if (wrapper) {
            fact.wrapper = 1;
            for (const r of fact.regions) this.wrapperRegions.add(r);
          }
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

  private forkCallsCache: ReadonlyMap<string, ForkKind> | undefined;
  /** Regions of possible wrappers: not child code for the descriptor facts until the model confirms the wrapper. */
  private readonly wrapperRegions = new Set<CChildRegion>();

  /**
   * The fork table for this file: the known fork calls, plus every other callee whose name
   * holds `fork` (`xfork()`, `fork_child()`): a possible wrapper that returns `fork()`'s
   * result. Its child regions are recorded as a `wrapper` fork fact; the model keeps one
   * only when the callee is a workspace function that returns `fork()` (`returnsFork`).
   */
  private forkCallsHere(): ReadonlyMap<string, ForkKind> {
    if (this.forkCallsCache) return this.forkCallsCache;
    const table = new Map(this.knowledge.forkCalls);
    for (const m of this.source.text.matchAll(/\b([A-Za-z_]\w*fork\w*|fork\w+)\s*\(/gi)) if (!table.has(m[1])) table.set(m[1], 'fork');
    this.forkCallsCache = table;
    return table;
  }

  /** Fork-like calls (the user's models) whose name the `ork` pre-check would miss. */
  private forkNamesWithoutOrk: string[] | undefined;

  private mayHoldFork(stmt: Node): boolean {
    if (this.source.occursIn('ork', stmt.startIndex, stmt.endIndex)) return true;
    this.forkNamesWithoutOrk ??= forkNamesWithoutOrk(this.knowledge);
    return this.forkNamesWithoutOrk.some((name) => this.source.occursIn(name, stmt.startIndex, stmt.endIndex));
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
        const region: CChildRegion = { shape: 'after', span: [first.startPosition.row, first.startPosition.column, endPos.row, Math.max(0, endPos.column - 1)], calls: [] };
        if (p.unless) region.unless = p.unless;
        regions.push(region);
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
    const before = this.source.statementStart(call);
    if (before) fact.before = before;
    this.pendingForks.set(call.id, fact);
    return fact;
  }

  /** Remembers the deletion span of a statement that is nothing but a call. */
  private statementCallOf(stmt: Node): void {
    const start = stmt.startIndex;
    const end = stmt.endIndex;
    // A call needs a `(` (which `mayHoldEffect` counts): `i++;`-like statements stop here.
    if (!this.source.mayHoldEffect(start, end)) return;
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
    const lines = this.source.lineInfo(stmt, start, end, s);
    this.statementCalls.set(inner.id, lines ?? s);
    if (lines) this.statementTexts.set(inner.id, this.source.text.slice(start, end));
  }

  /** `goto label;` after a region's exec: the failed exec goes on at that label. */
  private noteGoto(node: Node): void {
    const label = node.childForFieldName('label');
    if (!label) return;
    for (const r of this.regions) {
      if (r.ended || !r.execed) continue;
      (r.region.gotos ??= []).push({ label: label.text, span: spanOf(node) });
    }
  }

  /**
   * A `return`, `goto` or exit at nesting level `cond` ends the sequences of the labels opened
   * at that level or deeper (-1: the function's end ends them all).
   */
  private closeLabels(fn: FunctionState, cond: number): void {
    const open = fn.openLabels;
    for (let k = open.length - 1; k >= 0; k--) {
      if (cond >= 0 && open[k].cond < cond) continue;
      open[k].label.to = fn.fact.calls.length;
      open.splice(k, 1);
    }
  }

  private endRegions(kind: 'return' | 'exec' | 'safe-exit' | 'unsafe-exit'): void {
    for (const r of this.regions) {
      if (r.ended || this.cond !== r.baseCond) continue;
      // After the exec: the code run when it fails, up to the exit (the region's end stays `exec`).
      if (r.execed) {
        if (kind !== 'exec') r.ended = true;
        continue;
      }
      r.region.end = kind;
      if (kind === 'exec') r.execed = true;
      else r.ended = true;
    }
  }

  private localDeclaration(decl: Node): void {
    const fn = this.fn!;
    const declarators = decl.childrenForFieldName('declarator');
    // Storage classes precede the declarators.
    const first = declarators.length > 0 ? declarators[0] : null;
    const isStatic = (first ? this.source.occursIn('static', decl.startIndex, first.startIndex) && this.isStatic(decl) : this.isStatic(decl)) || this.hasStaticMacro(decl);
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
          if (name) this.noteAboveKeepList(name, value);
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
    if (!left) return;
    const leftType = left.type;
    this.visit(left, leftType);
    if (!this.isPlainAssignment(node, left, right)) return;
    const top = this.setTests.length > 0 ? this.setTests[this.setTests.length - 1] : null;
    const flag = flagKey(left, leftType);
    if (top && top.depth === this.cond && flag && right && isNonZeroConstant(right)) fn.flagSets.push({ test: top.test, flag });
    if (leftType === 'field_expression' && right) this.noteFieldStore(left, right);
    const target = storageTarget(left, leftType);
    if (!target) return;
    if (right) this.noteAboveKeepList(target.text, right);
    const local = fn.locals.has(target.base) && !fn.staticLocals.has(target.base);
    // `p->handler = on_request;` (a field, even of a local's pointee) or a global keeps the name.
    if (right && (!local || leftType !== 'identifier')) {
      const r = unwrap(right);
      const id = r.type === 'pointer_expression' ? r.childForFieldName('argument') : r;
      if (id?.type === 'identifier' && !fn.locals.has(id.text)) this.storedNames.add(id.text);
    }
    if (local) return;
    fn.assigns.add(target.text);
    if (!right) return;
    if (this.cond === 0 && (isResetValue(right) || fdSourceCall(right))) fn.resets.add(target.text);
    // `if (fp != NULL) { fclose(fp); fp = NULL; }`: forgotten on every path too.
    const held = this.heldTests.length > 0 ? this.heldTests[this.heldTests.length - 1] : null;
    const heldForget = held !== null && held.depth === this.cond && this.cond === 1 && held.test === target.text && isResetValue(right);
    if (heldForget) fn.resets.add(target.text);
    if (heldForget || (this.cond === 0 && isResetValue(right))) fn.forgets.push({ variable: target.text, at: spanOf(node) });
    const cache = fdCacheFact(right, target, fn.fact, fn.staticLocals.has(target.base), this.fileVars);
    if (cache) this.facts.push(cache);
  }

  /**
   * Whether an assignment's operator is a plain `=`: read from the text between its sides when
   * that is the operator alone, else from the operator node.
   */
  private isPlainAssignment(node: Node, left: Node, right: Node | null): boolean {
    if (right) {
      const between = this.source.text.slice(left.endIndex, right.startIndex).trim();
      if (between === '=') return true;
      if (COMPOUND_ASSIGNMENTS.has(between)) return false;
    }
    return node.childForFieldName('operator')?.type === '=';
  }

  /** `wq->engine = engine` (a function-pointer parameter) or `t->run = on_tick` (a name that is not a local). */
  private noteFieldStore(left: Node, right: Node): void {
    const fn = this.fn!;
    const field = left.childForFieldName('field')?.text;
    const r = unwrap(right);
    const id = r.type === 'pointer_expression' ? r.childForFieldName('argument') : r;
    if (!field || id?.type !== 'identifier') return;
    const param = fn.params.get(id.text);
    if (param !== undefined) fn.fieldStores.push({ field, param });
    else if (!fn.locals.has(id.text) && !/^[A-Z_][A-Z0-9_]*$/.test(id.text)) fn.fieldStores.push({ field, name: id.text });
  }

  /** The field a callee reads its function pointer from when the file stores into that field: `wq->engine`, `(*t->run)`. */
  private fieldCallee(callee: Node): string | null {
    const n = calledField(callee);
    if (!n) return null;
    const field = n.childForFieldName('field')?.text;
    return field && this.storedFields.has(field) ? field : null;
  }

  /**
   * Bare-name arguments (`list`, with their `types` and the `names` of the bare-name ones) of
   * call `call` that may be function pointers (`CFunctionFact.passes`).
   */
  private notePasses(list: readonly (Node | null)[], types: readonly string[], names: readonly (string | undefined)[], call: number): void {
    const fn = this.fn!;
    let arg = 0;
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (!a || types[i] === 'comment') continue;
      const { node: n, type } = unwrapTyped(a, types[i]);
      const id = type === 'pointer_expression' && n.childForFieldName('operator')?.type === '&' ? n.childForFieldName('argument') : type === 'identifier' ? n : null;
      if (id && (id === n || id.type === 'identifier')) {
        const name = id === a ? names[i]! : id.text;
        const param = fn.params.get(name);
        if (param !== undefined) fn.passes.push({ call, arg, param });
        else if (!fn.locals.has(name) && !/^[A-Z_][A-Z0-9_]*$/.test(name) && !this.fileVars.has(name)) fn.passes.push({ call, arg, name });
      }
      arg++;
    }
  }

  /** `begin = end + 1` after a keep-list loop bounded by `end`: a close-all from `begin` continues the keep-list. */
  private noteAboveKeepList(target: string, value: Node): void {
    const fn = this.fn!;
    if (fn.keepListLimits.size === 0) return;
    const used = new Set<string>();
    identifiersIn(value, used);
    if ([...used].some((u) => fn.keepListLimits.has(u))) fn.aboveKeepList.add(target);
  }

  /**
   * `asArg`: the value is an argument of a call whose bare-name arguments `notePasses` records;
   * `name`: the value's text when it is a bare name and the caller has read it.
   */
  private noteRef(value: Node, type: string, asArg = false, name?: string): void {
    const { node: n, type: t0 } = unwrapTyped(value, type);
    let t = t0;
    let id: Node | null = n;
    if (t === 'pointer_expression') {
      // `*name` as an argument is not recorded as passing `name`; `&name` is.
      if (n.childForFieldName('operator')?.type !== '&') asArg = false;
      id = n.childForFieldName('argument');
      t = id ? id.type : '';
    }
    if (id === null || t !== 'identifier') return;
    const text = id === value && name !== undefined ? name : id.text;
    if (this.fn!.locals.has(text) || /^[A-Z_][A-Z0-9_]*$/.test(text)) return;
    this.fn!.refs.add(text);
    if (!asArg) this.fn!.otherRefs.add(text);
  }

  /** Whether one of the current function's calls from index `from` on, at branch depth `depth`, is an exec. */
  private execsSince(from: number, depth: number): boolean {
    const list = this.execCalls;
    for (let j = list.length - 1; j >= 0 && list[j] >= from; j--) if (this.callConds[list[j]] === depth) return true;
    return false;
  }

  /**
   * Visits the branches of an `if` (and of its `else if` chain), `condition` being its own
   * (visited by the caller); true when it has an `else`
   * and every branch calls an `exec*()` at its own top level (not in a nested branch or loop).
   */
  private visitBranches(node: Node, condition: Node | null): boolean {
    const fn = this.fn!;
    const inside = this.cond + 1;
    const execsIn = (from: number): boolean => this.execsSince(from, inside);
    this.cond++;
    let every = true;
    const cons = node.childForFieldName('consequence');
    const before = fn.fact.calls.length;
    const tests = condition ? conditionTests(condition) : NO_TESTS;
    const zero = tests.zero;
    const test = tests.set;
    this.zeroGuards.push(zero);
    if (test) this.setTests.push({ test, depth: this.cond });
    const held = tests.held;
    if (held) this.heldTests.push({ test: held, depth: this.cond });
    try {
      if (cons) this.visit(cons);
    } finally {
      this.zeroGuards.pop();
      if (test) this.setTests.pop();
      if (held) this.heldTests.pop();
    }
    every = every && execsIn(before);
    const alt = node.childForFieldName('alternative');
    const altBody = alt?.namedChildren.find((c) => c && c.type !== 'comment') ?? null;
    if (altBody?.type === 'if_statement') {
      // `else if`: its condition and branches, one level deeper.
      const c = altBody.childForFieldName('condition');
      if (c) this.visit(c);
      const nested = this.visitBranches(altBody, c);
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
    this.ppAnnotate(record, 0, this.ppAtFunction);
    this.callConds[fn.fact.calls.length] = this.cond;
    this.execCalls.push(fn.fact.calls.length);
    fn.fact.calls.push(record);
    for (const r of this.regions) {
      if (r.ended) continue;
      const rc: CCall = { name: EXEC_IN_EVERY_BRANCH, span: s };
      this.ppAnnotate(rc, r.baseCond, r.basePp);
      r.region.calls.push(rc);
    }
    this.endRegions('exec');
  }

  /**
   * After an `if`/`else` at the top level of a child region whose every branch ends in calls
   * of functions the syntax cannot judge: a record the model reads to end the region there
   * when those never return (see `HELPERS_IN_EVERY_BRANCH`). Only in the regions, not among
   * the function's calls: the summaries judge a function's own calls.
   */
  private recordHelpersInEveryBranch(node: Node): void {
    const open = this.regions.filter((r) => !r.ended && r.baseCond === this.cond);
    if (open.length === 0) return;
    const unless = leaveCondition(node);
    if (!Array.isArray(unless)) return;
    const s = spanOf(node);
    for (const r of open) {
      const rc: CCall = { name: HELPERS_IN_EVERY_BRANCH, span: s, unless };
      this.ppAnnotate(rc, r.baseCond, r.basePp);
      r.region.calls.push(rc);
    }
  }

  /**
   * An `#if`/`#ifdef` chain: each branch is walked with the platforms that compile it (the
   * branches before it not taken, its own condition true). Inside a function a branch is one
   * level of `cond`; when the chain has an `#else` and every branch calls an `exec*()` at
   * its own top level, the child surely execs there, whichever branch is compiled.
   */
  private preprocChain(node: Node, inFunction: boolean): void {
    const fn = inFunction ? this.fn : null;
    let notBefore = ALL_TRUE;
    let every = fn !== null;
    let hasElse = false;
    for (let cur: Node | null = node; cur; ) {
      const own = branchCondition(cur);
      const alt = cur.childForFieldName('alternative');
      const skip = new Set<number>();
      for (const field of ['alternative', 'condition', 'name']) {
        const c = cur.childForFieldName(field);
        if (c) skip.add(c.id);
      }
      this.pushPp(and(notBefore, own));
      const inside = this.cond + 1;
      const before = fn ? fn.fact.calls.length : 0;
      try {
        if (fn) {
          this.cond++;
          this.block(cur, skip);
        } else this.topLevel(cur, skip);
      } finally {
        if (fn) this.cond--;
        this.popPp();
      }
      if (fn) {
        every = every && this.execsSince(before, inside);
      }
      if (cur.type === 'preproc_else') hasElse = true;
      notBefore = and(notBefore, not(own));
      cur = alt && (alt.type === 'preproc_elif' || alt.type === 'preproc_else' || alt.type === 'preproc_elifdef') ? alt : null;
    }
    if (fn && every && hasElse) this.recordExecInEveryBranch(node);
  }

  /** `return fork();`: the function hands its caller the fork's result (a fork wrapper). */
  private noteReturnedFork(ret: Node): void {
    const value = ret.namedChildren.find((c) => c && c.type !== 'comment');
    if (!value) return;
    const v = unwrap(value);
    if (v.type !== 'call_expression') return;
    const name = calleeName(v);
    if (name && this.knowledge.forkCalls.get(name) === 'fork') this.fn!.fact.returnsFork = 1;
  }

  /** Opens a preprocessor frame (see `pp`). */
  private pushPp(truth: PlatformTruth): void {
    this.pp.push(truth);
    let all = ALL_TRUE;
    for (const t of this.pp) all = and(all, t);
    const out = platformsWhere(all, 'F');
    this.ppNotOn.push(out.length ? out : undefined);
  }

  private popPp(): void {
    this.pp.pop();
    this.ppNotOn.pop();
  }

  /** Platforms on which the code at the walk's position is not compiled (an enclosing `#if` branch is false there). */
  private notCompiledOn(): string[] | undefined {
    const n = this.ppNotOn.length;
    // A copy per record: the facts never share one array.
    return n === 0 ? undefined : this.ppNotOn[n - 1]?.slice();
  }

  /**
   * Sets `unconditional` on a call relative to a sequence that started at depth `baseCond`
   * with `basePp` preprocessor frames open; when only `#if` branches opened since then make
   * it conditional, `takenOn` lists the platforms that compile all of them (it runs every
   * time there). `notOn` lists the platforms that do not compile the call at all.
   */
  private ppAnnotate(record: CCall, baseCond: number, basePp: number): void {
    if (this.cond === baseCond) record.unconditional = 1;
    const notOn = this.notCompiledOn();
    if (notOn) record.notOn = notOn;
    if (record.unconditional) return;
    // Each frame opened inside the function since the sequence started added one to `cond`.
    const opened = this.pp.length - basePp;
    if (opened <= 0 || this.cond - baseCond !== opened) return;
    let taken = ALL_TRUE;
    for (let k = basePp; k < this.pp.length; k++) taken = and(taken, this.pp[k]);
    const on = platformsWhere(taken, 'T');
    if (on.length) record.takenOn = on;
  }

  private call(node: Node): void {
    const fn = this.fn!;
    const callee = node.childForFieldName('function');
    const args = node.childForFieldName('arguments');
    const calleeType = callee ? callee.type : '';
    if (callee && calleeType !== 'identifier') this.visit(callee, calleeType);
    const via = callee && calleeType !== 'identifier' ? this.tableCallee(callee) : null;
    const field = callee && calleeType !== 'identifier' && !via ? this.fieldCallee(callee) : null;
    // Its bare-name arguments are recorded as passed (`notePasses`) when the call itself is recorded.
    const recorded = callee !== null && (calleeType === 'identifier' || via !== null || field !== null);
    const through = callee && calleeType !== 'identifier' ? calledField(callee)?.childForFieldName('field')?.text : undefined;
    if (through) fn.fieldCalls.add(through);
    // The arguments' types, and the names of bare-name ones, read once here for the visit,
    // `noteRef`, `notePasses` and the call facts.
    const list = args ? args.namedChildren : [];
    const argTypes = list.map((a) => (a ? a.type : ''));
    const argNames = list.map((a, i) => (a && argTypes[i] === 'identifier' ? a.text : undefined));
    if (args) {
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (!a) continue;
        // An argument such as `"text"`, `0` or `-1` (up to the next one: no call, no
        // assignment; not a name, `&x` or `*p`) is neither visited nor a reference.
        const next = i + 1 < list.length ? list[i + 1] : null;
        if (next && !mayName(this.source.text.charCodeAt(a.startIndex)) && !this.source.mayHoldEffect(a.startIndex, next.startIndex)) continue;
        const t = argTypes[i];
        this.visit(a, t, next ? next.startIndex : undefined);
        this.noteRef(a, t, recorded, argNames[i]);
      }
    }
    if (!callee || (calleeType !== 'identifier' && !via && !field)) return;
    const name = via ? `${via.table}.${via.field}` : field ? `->${field}` : callee.text;
    const s = spanOf(node);
    const record: CCall = { name, span: s };
    if (via) record.via = via;
    if (field) record.field = field;
    const param = calleeType === 'identifier' ? fn.params.get(name) : undefined;
    if (param !== undefined) record.param = param;
    this.notePasses(list, argTypes, argNames, fn.fact.calls.length);
    if (this.cond === 0) record.unconditional = 1;
    if (this.zeroGuards.some((g) => g.length > 0)) record.zeroGuards = [...new Set(this.zeroGuards.flat())];
    this.ppAnnotate(record, 0, this.ppAtFunction);
    const del = this.statementCalls.get(node.id);
    if (del) record.deleteSpan = del;
    const index = fn.fact.calls.length;
    this.callConds[index] = this.cond;
    fn.fact.calls.push(record);
    const end = regionEndOf(name);
    if (end === 'exec') this.execCalls.push(index);
    for (const r of this.regions) {
      if (r.ended) continue;
      const rc: CCall = { name, span: s };
      this.ppAnnotate(rc, r.baseCond, r.basePp);
      if (del) rc.deleteSpan = del;
      const stmtText = this.statementTexts.get(node.id);
      // Not for a call in an `#if` branch opened in the region: moving it out would drop its guard.
      if (stmtText !== undefined && this.pp.length === r.basePp) rc.statementText = stmtText;
      r.region.calls.push(rc);
    }
    if (end) this.endRegions(end);
    if (fn.openLabels.length > 0 && end !== 'exec' && (end || isNoReturn(name))) this.closeLabels(fn, this.cond);
    const fork = this.pendingForks.get(node.id);
    if (fork) this.pendingForks.delete(node.id);
    const closeAllLoop = this.pendingCloseAll.get(node.id);
    if (closeAllLoop) this.pendingCloseAll.delete(node.id);
    this.callFacts.record({ name, node, args, span: s, index, fn: fn.fact, fstatVars: fn.fstatVars, inChild: this.regions.some((r) => !this.wrapperRegions.has(r.region)), fork, closeAllLoop, aboveKeepList: fn.aboveKeepList, argTypes, argNames });
  }

}


/** {@link forkNamesWithoutOrk} per knowledge (one per workspace), not worked out again per file. */
const forkNamesWithoutOrkByKnowledge = new WeakMap<CKnowledge, string[]>();

/** Fork-like calls of the knowledge (the user's models) whose name holds no `ork`. */
function forkNamesWithoutOrk(knowledge: CKnowledge): string[] {
  let names = forkNamesWithoutOrkByKnowledge.get(knowledge);
  if (!names) {
    names = [...knowledge.forkCalls].filter(([name, kind]) => kind === 'fork' && !name.includes('ork')).map(([name]) => name);
    forkNamesWithoutOrkByKnowledge.set(knowledge, names);
  }
  return names;
}


/** The platforms a file's unconditional system includes confine it to (`<windows.h>`, `<sys/event.h>`), if any. */
function onlyPlatformsOf(root: Node, types: readonly string[]): readonly CPlatform[] | undefined {
  const children = root.namedChildren;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (!child || types[i] !== 'preproc_include') continue;
    const path = child.childForFieldName('path');
    if (path?.type !== 'system_lib_string') continue;
    const platforms = platformsOfHeader(path.text.slice(1, -1));
    if (platforms) return platforms;
  }
  return undefined;
}


export function extractCFacts(tree: Tree, text: string, _path: string, knowledge: Knowledge = BUILTIN_KNOWLEDGE): CFact[] {
  // `#if`/`#else` chains opening a brace in each branch derail the parse of what follows: read one branch.
  const balanced = tree.rootNode.hasError ? reparseWithOneBranch(text) : null;
  // Statement macros (`HOOK` alone on a line) derail the parse of what follows: read a parse without them.
  const reparsed = reparseWithoutStatementMacros(balanced?.tree ?? tree, balanced?.text ?? text);
  try {
    const extractor = new Extractor(reparsed?.text ?? balanced?.text ?? text, knowledge.c);
    extractor.run((reparsed?.tree ?? balanced?.tree ?? tree).rootNode);
    return extractor.facts;
  } finally {
    reparsed?.tree.delete();
    balanced?.tree.delete();
  }
}

/** A parse of the text with its brace-unbalanced `#if` chains cut to one branch, or null when it has none. */
function reparseWithOneBranch(text: string): { tree: Tree; text: string } | null {
  const blanked = blankUnbalancedBranches(text);
  if (blanked === null) return null;
  try {
    return { tree: parseSync(blanked, 'c'), text: blanked };
  } catch {
    return null;
  }
}

/** The field expression a call takes its function pointer from (`t[i].f`, `(*p->f)`), or null. */
function calledField(callee: Node): Node | null {
  let n = unwrap(callee);
  if (n.type === 'pointer_expression') {
    const arg = n.childForFieldName('argument');
    if (!arg) return null;
    n = unwrap(arg);
  }
  return n.type === 'field_expression' ? n : null;
}
