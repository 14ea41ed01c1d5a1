/**
 * Owned-field overwrites (`unreleased-file`, C): a struct field that holds a strong
 * reference (CPython's reference counting) owns it like a local owns a `FILE *`, and its
 * scope is the struct's life, not the function's. A function that stores a new reference
 * into such a field must drop the one the field may already hold, or a second call strands
 * it (a file object wrapped twice stays alive, with its descriptor, for the life of the
 * process).
 *
 * Per function, syntactically (both branches of `#if` count):
 * - the field `p->f` is *owned* when the function takes a new reference for it:
 *   `Py_INCREF(p->f)`, `p->f = x` with `Py_INCREF(x)` in the function, or `p->f = Py_NewRef(x)`;
 * - it is *overwritten* by `p->f = …` or by passing `&p->f` to a call that fills it
 *   (`PyArg_ParseTuple(args, "O", &p->f)`);
 * - the old value is *dropped* by `Py_DECREF`/`Py_XDECREF`/`Py_CLEAR`/`Py_SETREF(p->f…)`, or
 *   saved first (`tmp = p->f;`, to drop after the store).
 * An owned field whose first overwrite comes before any drop is reported, unless the fields
 * are known to be empty: `p` was allocated or cleared (`memset`) in this function, the
 * function is itself a constructor or initialiser (its name says `new`, `init`, `create`,
 * `alloc`), or the store sits under `if (!p->f)`. Only `->` fields: a struct the function
 * reaches through a pointer outlives the call.
 */
import { nodeRange, type Node } from '../../parsing/parser';
import { escapeRegExp } from '../../text/regexp';
import type { HandleLeak } from '../handles';
import { CLEARING_CALLS, FRESH_OBJECT_CALLEE, REFCOUNT_DECREF, REFCOUNT_INCREF, REFCOUNT_NEW_REF } from '../../knowledge/c-handles';
import { functionName, unwrapValue } from './syntax';
import { recordAnalysisFailure } from '../failures';

const PRECHECK = /\bPy_(?:X?INCREF|X?NewRef)\s*\(/;

/** `p->f` (through casts and parentheses) as one word, or undefined for anything else. */
function fieldKey(node: Node | null | undefined): string | undefined {
  if (!node) return undefined;
  const n = unwrapValue(node);
  if (n.type !== 'field_expression' || n.childForFieldName('operator')?.text !== '->') return undefined;
  return n.text.replace(/\s+/g, '');
}

function calleeName(call: Node): string | undefined {
  const f = call.childForFieldName('function');
  return f?.type === 'identifier' ? f.text : undefined;
}

function firstArgument(call: Node): Node | undefined {
  return call.childForFieldName('arguments')?.namedChildren.find((a) => a && a.type !== 'comment') ?? undefined;
}

/** The base variable of `p->f` / `p->a->f`. */
function baseVariable(key: string): string {
  return /^[A-Za-z_]\w*/.exec(key)?.[0] ?? '';
}

interface FieldFacts {
  /** Where the new reference is taken (the INCREF, or the store of a `Py_NewRef`). */
  owned?: Node;
  /** How many `Py_INCREF(p->f)` the function has. */
  increfs: number;
  /** The first overwrite (assignment, or `&field` out-parameter). */
  write?: Node;
  /** The first drop or save of the old value. */
  drop?: Node;
  /** Stores `p->f = x`, with the value's variable, to match INCREFs of `x`. */
  storedFrom: { value: string; node: Node }[];
}

/** `!p->f`, `p->f == NULL`, `NULL == p->f`, `p->f == 0`: a test that the field is empty. */
function testsEmpty(cond: Node, key: string): boolean {
  const c = unwrapValue(cond);
  if (c.type === 'unary_expression' && c.childForFieldName('operator')?.text === '!') return fieldKey(c.childForFieldName('argument')) === key;
  if (c.type === 'binary_expression' && c.childForFieldName('operator')?.text === '==') {
    const l = c.childForFieldName('left');
    const r = c.childForFieldName('right');
    const empty = (n: Node | null) => !!n && /^(?:NULL|0|nullptr)$/.test(unwrapValue(n).text);
    return (fieldKey(l) === key && empty(r)) || (fieldKey(r) === key && empty(l));
  }
  return false;
}

/** Is `store` inside the branch of an `if` taken only when the field is empty? */
function storesIntoEmpty(store: Node, key: string): boolean {
  for (let n: Node | null = store; n?.parent; n = n.parent) {
    const p: Node = n.parent;
    if (p.type === 'function_definition') return false;
    if (p.type === 'if_statement' && p.childForFieldName('consequence')?.id === n.id) {
      const cond = p.childForFieldName('condition');
      if (cond && testsEmpty(cond, key)) return true;
    }
  }
  return false;
}

function earliest(a: Node | undefined, b: Node): Node {
  return !a || b.startIndex < a.startIndex ? b : a;
}

function analyzeFunction(def: Node, out: HandleLeak[]): void {
  const body = def.childForFieldName('body');
  if (!body) return;
  // A constructor or initialiser (`foo_new`, `Foo_init`, `create_job`) fills a struct whose
  // fields hold nothing yet.
  const fnName = functionName(def);
  if (fnName && FRESH_OBJECT_CALLEE.test(fnName)) return;
  const fields = new Map<string, FieldFacts>();
  const increfOfLocal = new Map<string, { node: Node; count: number }>();
  /** Fields and locals the function returns (`return p->f;`): one reference taken for them is the caller's. */
  const returned = new Set<string>();
  const fresh = new Set<string>();
  const facts = (key: string): FieldFacts => {
    let f = fields.get(key);
    if (!f) fields.set(key, (f = { storedFrom: [], increfs: 0 }));
    return f;
  };
  const stack: Node[] = [body];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const c of n.namedChildren) if (c) stack.push(c);
    if (n.type === 'call_expression') {
      const name = calleeName(n);
      const arg = firstArgument(n);
      if (name && REFCOUNT_INCREF.has(name)) {
        const key = fieldKey(arg);
        if (key) {
          facts(key).owned = earliest(facts(key).owned, n);
          facts(key).increfs++;
        } else if (arg && unwrapValue(arg).type === 'identifier') {
          const local = unwrapValue(arg).text;
          const seen = increfOfLocal.get(local);
          increfOfLocal.set(local, { node: seen ? earliest(seen.node, n) : n, count: (seen?.count ?? 0) + 1 });
        }
      } else if (name && REFCOUNT_DECREF.has(name)) {
        const key = fieldKey(arg);
        if (key) facts(key).drop = earliest(facts(key).drop, n);
      } else if (name && CLEARING_CALLS.has(name) && arg && unwrapValue(arg).type === 'identifier') {
        fresh.add(unwrapValue(arg).text); // `memset(p, 0, sizeof *p)`: every field of *p is empty
      }
    } else if (n.type === 'pointer_expression' && n.childForFieldName('operator')?.text === '&' && n.parent?.type === 'argument_list') {
      const key = fieldKey(n.childForFieldName('argument'));
      if (key) facts(key).write = earliest(facts(key).write, n.parent.parent ?? n);
    } else if (n.type === 'assignment_expression' && n.childForFieldName('operator')?.text === '=') {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      const key = fieldKey(left);
      const value = right ? unwrapValue(right) : undefined;
      if (key && !storesIntoEmpty(n, key)) {
        const f = facts(key);
        f.write = earliest(f.write, n);
        if (value?.type === 'identifier') f.storedFrom.push({ value: value.text, node: n });
        else if (value?.type === 'call_expression' && REFCOUNT_NEW_REF.has(calleeName(value) ?? '')) f.owned = earliest(f.owned, n);
      }
      noteSavedOrFresh(left, value);
    } else if (n.type === 'return_statement') {
      const v = n.namedChild(0);
      const value = v ? unwrapValue(v) : undefined;
      const key = fieldKey(value);
      if (key) returned.add(key);
      else if (value?.type === 'identifier') returned.add(value.text);
    } else if (n.type === 'init_declarator') {
      const value = n.childForFieldName('value');
      const decl = n.childForFieldName('declarator');
      let id: Node | null | undefined = decl;
      while (id && id.type !== 'identifier') id = id.childForFieldName('declarator');
      noteSavedOrFresh(id, value ? unwrapValue(value) : undefined);
    }
  }
  function noteSavedOrFresh(target: Node | null | undefined, value: Node | undefined): void {
    if (!value) return;
    const saved = fieldKey(value);
    if (saved && target && !fieldKey(target)) facts(saved).drop = earliest(facts(saved).drop, value);
    const t = target ? unwrapValue(target) : undefined;
    if (t?.type === 'identifier' && value.type === 'call_expression') {
      const callee = value.childForFieldName('function');
      const name = callee?.type === 'field_expression' ? callee.childForFieldName('field')?.text : callee?.text;
      if (name && FRESH_OBJECT_CALLEE.test(name)) fresh.add(t.text);
    }
  }
  for (const [key, f] of fields) {
    // `Py_INCREF(p->f); return p->f;`: that reference is the caller's, not the field's.
    if (f.increfs > 0 && f.increfs <= (returned.has(key) ? 1 : 0)) f.owned = undefined;
    for (const s of f.storedFrom) {
      const inc = increfOfLocal.get(s.value);
      if (inc && inc.count > (returned.has(s.value) ? 1 : 0)) f.owned = earliest(f.owned, inc.node);
    }
    if (!f.owned || !f.write || fresh.has(baseVariable(key))) continue;
    if (f.drop && f.drop.startIndex < f.write.startIndex) continue;
    const leakRange = nodeRange(f.write);
    out.push({
      variable: key,
      api: calleeName(f.owned) ?? 'Py_INCREF',
      openRange: nodeRange(f.owned),
      leakRange,
      leakKind: 'overwrite',
      leakLine: leakRange.start.line + 1,
      steps: [
        {
          range: leakRange,
          message: `'${key}' keeps that reference after the function returns; when the function runs again, this stores over it without Py_DECREF of the old value`,
        },
      ],
      fixes: [],
    });
  }
}

/** Owned-field overwrites in the file's functions (`functionsOf` lists them; called only when the text takes a reference). */
export function ownedFieldOverwrites(text: string, functionsOf: () => readonly Node[]): HandleLeak[] {
  if (!PRECHECK.test(text)) return [];
  const out: HandleLeak[] = [];
  for (const def of functionsOf()) {
    try {
      analyzeFunction(def, out);
    } catch (err) {
      // One function's failure must not cost the rest of the file.
      recordAnalysisFailure('the owned-field analysis of one function', err);
    }
  }
  return out;
}

/**
 * A handle stored in a struct field and stored over in the same block (`c->log = fopen(a);
 * … c->log = fopen(b);`) while nothing in between looks at `c->log` or hands the struct to a
 * call (which may close it): the first handle is lost. `hits` are the text offsets of opener
 * calls (the file's opener pattern), `isOpener` tells an opener's name.
 */
export function openedFieldOverwrites(root: Node, hits: readonly number[], isOpener: (name: string) => boolean): HandleLeak[] {
  const stores: { call: Node; key: string; stmt: Node; api: string }[] = [];
  for (const at of hits) {
    let call: Node | null = root.descendantForIndex(at);
    while (call && call.type !== 'call_expression') call = call.parent;
    const api = call ? calleeName(call) : undefined;
    if (!call || !api || !isOpener(api)) continue;
    let value: Node = call;
    while (value.parent && (value.parent.type === 'parenthesized_expression' || value.parent.type === 'cast_expression')) value = value.parent;
    const assignment = value.parent;
    if (assignment?.type !== 'assignment_expression' || assignment.childForFieldName('right')?.id !== value.id || assignment.parent?.type !== 'expression_statement') continue;
    const left = assignment.childForFieldName('left');
    const key = left && unwrapValue(left).type === 'field_expression' ? unwrapValue(left).text.replace(/\s+/g, '') : undefined;
    if (key) stores.push({ call, key, stmt: assignment.parent, api });
  }
  const out: HandleLeak[] = [];
  for (const s of stores) {
    const base = baseVariable(s.key);
    const field = s.key.slice(base.length);
    const mention = new RegExp(`\\b${escapeRegExp(base)}\\s*${field.split(/(->|\.)/).filter(Boolean).map((part) => escapeRegExp(part)).join('\\s*')}\\b`);
    const handsOn = new RegExp(`[(,]\\s*&?\\s*${escapeRegExp(base)}\\s*[,)]`);
    for (let next = s.stmt.nextNamedSibling; next; next = next.nextNamedSibling) {
      const again = stores.find((o) => o.stmt.id === next!.id && o.key === s.key);
      if (again) {
        const range = nodeRange(again.stmt);
        out.push({ variable: s.key, api: s.api, openRange: nodeRange(s.call), leakRange: range, leakKind: 'overwrite', leakLine: range.start.line + 1, fixes: [] });
        break;
      }
      if (next.type !== 'comment' && (mention.test(next.text) || handsOn.test(next.text) || next.type === 'labeled_statement')) break;
    }
  }
  return out;
}
