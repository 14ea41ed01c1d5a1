/**
 * What the two fs analyses of a file — `handles.ts` (handles not released on every path) and
 * `pipes.ts` (`.pipe()` from a stream that owns a descriptor) — know before they look at
 * their calls: how `fs` was imported (`imports.ts`) and the file's functions by name (for
 * the summaries of `effects.ts`), read in ONE walk that also collects the calls the analysis
 * asks for; which local functions release a variable they capture (`cleanup()` →
 * `stream.destroy()`); and the small syntax helpers both use.
 */
import type { Node, Tree } from '../../parsing/parser';
import { collectReferences, EffectClassifier, type FunctionIndex } from './effects';
import { FsBindings } from '../../facts/typescript/imports';
import { BUILTIN_KNOWLEDGE, type TypeScriptKnowledge } from '../../knowledge/knowledge';

/** `fs . openSync` → `fs.openSync`: an expression as one word, for messages and lookups. */
export function compact(node: Node): string {
  return node.text.replace(/\s+/g, '');
}

/** A call's arguments, without comments. */
export function argumentsOf(call: Node): Node[] {
  const args = call.childForFieldName('arguments');
  const out: Node[] = [];
  if (args) for (const a of args.namedChildren) if (a && a.type !== 'comment') out.push(a);
  return out;
}

/** An arrow function or function expression (a callback, a `const f = …`). */
export function isFunctionLike(node: Node | null | undefined): node is Node {
  return !!node && (node.type === 'arrow_function' || node.type === 'function_expression');
}

function index(map: Map<string, Node[]>, name: string, node: Node): void {
  const list = map.get(name);
  if (list) list.push(node);
  else map.set(name, [node]);
}

/**
 * Which local functions count as declared in a scope: `function f`, `const f = () => …`, and
 * as the two analyses have always differed, `function* f` and functions inside class bodies
 * only for one of them each.
 */
export interface LocalFunctionOptions {
  /** `function* f() {}` declarations count (`handles.ts`). */
  generators: boolean;
  /** Functions declared inside a class body of the scope count (`pipes.ts`). */
  inClassBodies: boolean;
}

export class FileIndex {
  readonly bindings: FsBindings;
  readonly functions: FunctionIndex = { byName: new Map(), methods: new Map() };
  readonly classifier: EffectClassifier;

  /** `knowledge`: the modules and handle tables (the built-ins merged with the user's models). */
  constructor(
    private readonly tree: Tree,
    readonly knowledge: TypeScriptKnowledge = BUILTIN_KNOWLEDGE.typescript,
  ) {
    this.bindings = new FsBindings(knowledge.moduleSpecifiers);
    this.classifier = new EffectClassifier(this.bindings, this.functions, knowledge);
  }

  /**
   * The single walk: module-level `fs` imports first, then in document order nested
   * `require('fs')`, the function index, and the calls `wanted` picks (it may consult the
   * bindings read so far).
   */
  collect(wanted: (call: Node) => boolean): Node[] {
    const root = this.tree.rootNode;
    this.bindings.addModuleLevel(root);
    const calls: Node[] = [];
    const cursor = root.walk();
    try {
      for (;;) {
        switch (cursor.nodeType) {
          case 'call_expression': {
            const n = cursor.currentNode;
            if (wanted(n)) calls.push(n);
            break;
          }
          case 'variable_declarator': {
            const n = cursor.currentNode;
            const value = n.childForFieldName('value');
            const name = n.childForFieldName('name');
            if (isFunctionLike(value) && name?.type === 'identifier') index(this.functions.byName, name.text, value);
            else if (value && n.parent?.parent?.type !== 'program') this.bindings.addDeclarator(n);
            break;
          }
          case 'function_declaration':
          case 'generator_function_declaration': {
            const n = cursor.currentNode;
            const name = n.childForFieldName('name');
            if (name) index(this.functions.byName, name.text, n);
            break;
          }
          case 'public_field_definition':
          case 'field_definition':
            this.bindings.addClassField(cursor.currentNode);
            break;
          case 'method_definition': {
            const n = cursor.currentNode;
            const name = n.childForFieldName('name');
            if (name) index(this.functions.methods, name.text, n);
            break;
          }
        }
        if (cursor.gotoFirstChild()) continue;
        while (!cursor.gotoNextSibling()) {
          if (!cursor.gotoParent()) return calls;
        }
      }
    } finally {
      cursor.delete();
    }
  }

  /**
   * Functions declared under `from` that release one of `names` they capture, directly or by
   * mentioning another such function (`settle()` → `cleanup()` → `stream.destroy()`): each
   * with the names it releases.
   */
  releasingFunctions(from: Node, names: ReadonlySet<string>, options: LocalFunctionOptions): Map<string, Set<string>> {
    const local = new Map<string, Node>();
    const stack: Node[] = [from];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.type === 'function_declaration' || (options.generators && n.type === 'generator_function_declaration')) {
        const name = n.childForFieldName('name');
        if (name) local.set(name.text, n);
      } else if (n.type === 'variable_declarator') {
        const name = n.childForFieldName('name');
        const value = n.childForFieldName('value');
        if (name?.type === 'identifier' && isFunctionLike(value)) local.set(name.text, value);
      }
      if (!options.inClassBodies && n.id !== from.id && n.type === 'class_body') continue;
      for (const c of n.namedChildren) if (c) stack.push(c);
    }
    const out = new Map<string, Set<string>>();
    if (local.size === 0) return out;
    const lookFor = new Set([...names, ...local.keys()]);
    const mentions = new Map<string, Map<string, Node[]>>();
    for (const [fname, fn] of local) {
      const fbody = fn.childForFieldName('body');
      if (!fbody) continue;
      const refs = collectReferences(fbody, lookFor);
      mentions.set(fname, refs);
      for (const n of names) {
        if ((refs.get(n) ?? []).some((r) => this.classifier.classify(r) === 'release')) {
          if (!out.has(fname)) out.set(fname, new Set());
          out.get(fname)!.add(n);
        }
      }
    }
    for (let changed = true, rounds = 0; changed && rounds < 8; rounds++) {
      changed = false;
      for (const [fname, refs] of mentions) {
        for (const [callee, released] of [...out]) {
          if (callee === fname || !refs.has(callee)) continue;
          let mine = out.get(fname);
          for (const n of released) {
            if (mine?.has(n)) continue;
            if (!mine) out.set(fname, (mine = new Set()));
            mine.add(n);
            changed = true;
          }
        }
      }
    }
    return out;
  }
}
