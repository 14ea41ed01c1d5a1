/**
 * Owned fields overwritten while open (`unreleased-file`, Python): `self.f = open(p)` stores a
 * handle the object owns; storing another one in `self.f` strands the first unless something
 * looked at it before. Reported:
 * - a second `self.f = <opener>` in the same block of a method, with no statement in between
 *   that mentions `self.f` or calls a method of the object;
 * - a method other than `__init__` (and other than a release method) whose body stores a fresh
 *   handle in `self.f` at its top level, where `__init__` always stores one (at its own top
 *   level), and nothing before the store mentions `self.f`, calls a method of the object or
 *   `super()`. (`reopen()` that closes first, or lazy `if self.f is None:` opens, are silent.)
 */
import type { Node } from '../../parsing/parser';
import { fieldOverwriteLeak, type HandleLeak } from '../handles';
import { OWNER_RELEASE_METHODS } from '../../knowledge/python-handles';
import { escapeRegExp } from '../../text/regexp';

/** `self.<field> = <opener>` as the handle analysis found it. */
export interface PyFieldStore {
  call: Node;
  api: string;
  field: string;
  /** The `expression_statement`. */
  stmt: Node;
  /** The method (`function_definition`) it runs in. */
  method: Node;
}

const SELF_CALL = /\bself\.[A-Za-z_]\w*\s*\(|\bsuper\(\)/;

function mentionPattern(field: string): RegExp {
  return new RegExp(`\\bself\\.${escapeRegExp(field)}\\b(?!\\s*=(?!=))`);
}

function leak(first: PyFieldStore, second: Node, message?: string): HandleLeak {
  return fieldOverwriteLeak({ variable: `self.${first.field}`, api: first.api, call: first.call }, second, message);
}

/** Stores of a field that strand the handle it still holds; at most one finding per opening call. */
export function overwrittenFields(stores: readonly PyFieldStore[]): HandleLeak[] {
  const out: HandleLeak[] = [];
  const reported = new Set<number>();
  for (const s of stores) {
    const mention = mentionPattern(s.field);
    for (let next = s.stmt.nextNamedSibling; next; next = next.nextNamedSibling) {
      const again = stores.find((o) => o.stmt.id === next!.id && o.field === s.field);
      if (again) {
        reported.add(s.call.id);
        out.push(leak(s, again.stmt));
        break;
      }
      if (mention.test(next.text) || SELF_CALL.test(next.text)) break;
    }
  }
  const bodyOf = (m: Node) => m.childForFieldName('body');
  const atTop = (s: PyFieldStore) => s.stmt.parent?.id === bodyOf(s.method)?.id;
  const inits = stores.filter((s) => s.method.childForFieldName('name')?.text === '__init__' && atTop(s));
  for (const init of inits) {
    if (reported.has(init.call.id)) continue;
    const cls = init.method.parent?.parent;
    for (const s of stores) {
      if (s.field !== init.field || s.method.id === init.method.id || !atTop(s) || s.method.parent?.parent?.id !== cls?.id) continue;
      const name = s.method.childForFieldName('name')?.text ?? '';
      const body = bodyOf(s.method);
      if (!body || OWNER_RELEASE_METHODS.has(name) || name.startsWith('__')) continue;
      const before = body.text.slice(0, s.stmt.startIndex - body.startIndex);
      if (mentionPattern(s.field).test(before) || SELF_CALL.test(before)) continue;
      reported.add(init.call.id);
      out.push(leak(init, s.stmt, `${name}() assigns self.${s.field} a new handle from ${s.api}() without releasing the one __init__ opened`));
      break;
    }
  }
  return out;
}
