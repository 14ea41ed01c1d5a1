/**
 * Owned fields (`unreleased-file`, TypeScript/JavaScript): a class that keeps a handle in
 * `this.<field>` (`this.fd = fs.openSync(p)`) owns it for the object's life. Two ways to lose it:
 *
 * - **overwritten while open**: a second `this.fd = <opener>` with nothing in between that
 *   looks at `this.fd` or calls a method of the object (in one block of one method), or a
 *   method other than the constructor that stores a fresh handle where the constructor always
 *   stores one, without first looking at the field or calling a method of the object;
 * - **kept by its owner**: the class has a release method (`close`, `dispose`, `destroy`, …,
 *   `OWNER_RELEASE_METHODS`) that never mentions the field, directly or through the class's
 *   own methods it calls (`this.cleanup()`); setting it to `undefined` does not count.
 *
 * Left alone (mirrors the Python owner check): fields released anywhere else in the class
 * (`fs.closeSync(this.fd)`, `this.fd.close()` in another method), fields named in a string
 * (`this['fd']`, a key list), classes that extend another and call `super.` in the release
 * method (the base may release it), and stores inside nested functions (callbacks).
 */
import type { Node } from '../../parsing/parser';
import { fieldOverwriteLeak, ownerKeepsLeak, type HandleLeak } from '../handles';
import { OWNER_RELEASE_METHODS } from '../../knowledge/typescript-handles';
import { escapeRegExp } from '../../text/regexp';

/** `this.<field> = <opener call>` found by the handle analysis. */
export interface FieldStore {
  /** The opening call. */
  call: Node;
  /** The opener as written (`fs.openSync`). */
  api: string;
  field: string;
  /** The `expression_statement` of the assignment. */
  statement: Node;
}

const FUNCTION_TYPES = new Set(['function_expression', 'arrow_function', 'function_declaration', 'generator_function', 'generator_function_declaration']);

/** The method a store runs in, or undefined inside a nested function (a callback's `this`). */
function enclosingMethod(node: Node): Node | undefined {
  for (let cur = node.parent; cur; cur = cur.parent) {
    if (cur.type === 'method_definition') return cur;
    if (FUNCTION_TYPES.has(cur.type) || cur.type === 'class_body') return undefined;
  }
  return undefined;
}

function classOf(method: Node): Node | undefined {
  const body = method.parent;
  const cls = body?.type === 'class_body' ? body.parent : null;
  return cls && (cls.type === 'class_declaration' || cls.type === 'class' || cls.type === 'abstract_class_declaration') ? cls : undefined;
}

function methodsOf(cls: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const m of cls.childForFieldName('body')?.namedChildren ?? []) {
    const name = m?.type === 'method_definition' ? m.childForFieldName('name')?.text : undefined;
    if (m && name && !out.has(name)) out.set(name, m);
  }
  return out;
}

/** A mention of `this.<field>` that is not the target of a plain assignment. */
function mentionPattern(field: string): RegExp {
  return new RegExp(`\\bthis\\s*\\.\\s*${escapeRegExp(field)}\\b(?!\\s*=(?!=))`);
}

const SELF_CALL = /\bthis\s*\.\s*[A-Za-z_$][\w$]*\s*\(/;

export function ownedFieldLeaks(stores: readonly FieldStore[]): HandleLeak[] {
  const out: HandleLeak[] = [];
  const byClass = new Map<number, { cls: Node; stores: (FieldStore & { method: Node })[] }>();
  for (const s of stores) {
    const method = enclosingMethod(s.statement);
    const cls = method ? classOf(method) : undefined;
    if (!method || !cls) continue;
    let group = byClass.get(cls.id);
    if (!group) byClass.set(cls.id, (group = { cls, stores: [] }));
    group.stores.push({ ...s, method });
  }
  for (const { cls, stores: classStores } of byClass.values()) {
    const methods = methodsOf(cls);
    const bodyText = cls.childForFieldName('body')?.text ?? '';
    const reported = new Set<number>();
    for (const leak of overwrites(classStores)) {
      reported.add(leak.call.id);
      out.push(leak.leak);
    }
    const keptFields = new Set<string>();
    for (const s of classStores) {
      if (keptFields.has(s.field) || reported.has(s.call.id)) continue;
      const leak = keptByOwner(s, cls, methods, bodyText);
      if (leak) {
        keptFields.add(s.field);
        out.push(leak);
      }
    }
  }
  return out;
}

function overwriteLeak(first: FieldStore, second: Node, message?: string): HandleLeak {
  return fieldOverwriteLeak({ variable: `this.${first.field}`, api: first.api, call: first.call }, second, message);
}

/** Stores that replace a handle the field still holds (see the file comment). */
function overwrites(stores: readonly (FieldStore & { method: Node })[]): { call: Node; leak: HandleLeak }[] {
  const out: { call: Node; leak: HandleLeak }[] = [];
  for (const s of stores) {
    const mention = mentionPattern(s.field);
    // The next store of the field in the same block, with nothing in between that looks at it.
    for (let next = s.statement.nextNamedSibling; next; next = next.nextNamedSibling) {
      const again = stores.find((o) => o.statement.id === next!.id && o.field === s.field);
      if (again) {
        out.push({ call: s.call, leak: overwriteLeak(s, again.statement) });
        break;
      }
      if (mention.test(next.text) || SELF_CALL.test(next.text)) break;
    }
  }
  // A method that replaces what the constructor always opened, without looking at it first.
  const constructorStores = stores.filter((s) => s.method.childForFieldName('name')?.text === 'constructor' && s.statement.parent?.id === s.method.childForFieldName('body')?.id);
  for (const c of constructorStores) {
    for (const s of stores) {
      if (s.field !== c.field || s.method.id === c.method.id) continue;
      const name = s.method.childForFieldName('name')?.text ?? '';
      const body = s.method.childForFieldName('body');
      if (OWNER_RELEASE_METHODS.has(name) || !body || s.statement.parent?.id !== body.id) continue;
      const before = body.text.slice(0, s.statement.startIndex - body.startIndex);
      if (mentionPattern(s.field).test(before) || SELF_CALL.test(before) || /\bsuper\s*\./.test(before)) continue;
      if (out.some((o) => o.call.id === c.call.id)) continue;
      out.push({ call: c.call, leak: overwriteLeak(c, s.statement, `${name}() assigns this.${s.field} a new handle by ${s.api}() without releasing the one the constructor opened`) });
    }
  }
  return out;
}

/** The release method that never reaches the field, or undefined (see the file comment). */
function keptByOwner(s: FieldStore & { method: Node }, cls: Node, methods: ReadonlyMap<string, Node>, classText: string): HandleLeak | undefined {
  const storeIn = s.method.childForFieldName('name')?.text ?? '';
  if (OWNER_RELEASE_METHODS.has(storeIn)) return undefined;
  const releasers = [...methods.entries()].filter(([name]) => OWNER_RELEASE_METHODS.has(name));
  if (releasers.length === 0) return undefined;
  const f = escapeRegExp(s.field);
  // Released elsewhere in the class, or named in a string: the class manages it another way.
  if (new RegExp(`\\bthis\\s*\\.\\s*${f}\\s*\\??\\.\\s*(?:close|destroy|end|release|dispose)\\w*\\s*\\(|\\bclose\\w*\\(\\s*this\\s*\\.\\s*${f}\\b|['"\`]${f}['"\`]`).test(classText)) return undefined;
  const extendsBase = cls.namedChildren.some((c) => c?.type === 'class_heritage');
  const mention = mentionPattern(s.field);
  const reaches = (start: Node): boolean => {
    const seen = new Set<string>();
    const queue = [start];
    while (queue.length > 0) {
      const def = queue.shift()!;
      const text = def.childForFieldName('body')?.text ?? '';
      if (mention.test(text)) return true;
      if (extendsBase && /\bsuper\s*\./.test(text)) return true;
      for (const m of text.matchAll(/\bthis\s*\.\s*([A-Za-z_$][\w$]*)\s*\(/g)) {
        const next = methods.get(m[1]);
        if (next && !seen.has(m[1])) {
          seen.add(m[1]);
          queue.push(next);
        }
      }
    }
    return false;
  };
  const className = cls.childForFieldName('name')?.text ?? 'the class';
  for (const [name, def] of releasers) {
    if (reaches(def)) continue;
    return ownerKeepsLeak({ variable: `this.${s.field}`, api: s.api, call: s.call }, def, `${className}.${name}`);
  }
  return undefined;
}
