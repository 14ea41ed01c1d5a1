/**
 * The index of one Python file that every shape of the WSGI analysis asks: its functions,
 * classes and identifiers by name, the nodes of each function's own scope, who calls whom,
 * and the recognisers of what matters to WSGI (a `wsgi.file_wrapper` application, an
 * application called with environ and start_response, a generator, a same-file callee, a call
 * through a local value). Everything is computed on first use and kept for the file.
 */
import type { Node, Tree } from '../../parsing/parser';
import { ENVIRON_BUILDER, ENVIRON_NAMES, FILE_WRAPPER_KEY, START_RESPONSE_PATTERN } from '../../knowledge/python-wsgi';
import { children, collectOwn, enclosingFunction, isMethod, isStringLiteral, lastComponent, parameterNames, positionalArgs, unparen, type OwnNodes } from './wsgi-syntax';

const DATA_METHODS: ReadonlySet<string> = new Set(['next', '__next__', 'read', 'readline', 'readlines', 'get', 'pop', 'popleft', 'copy', 'send', 'items', 'keys', 'values', 'split', 'strip', 'encode', 'decode', 'format', 'join']);

export class WsgiIndex {
  private linesCache: string[] | null = null;
  private functionsCache: Node[] | null = null;
  private classesCache: Map<string, Node> | null = null;
  private byNameCache: Map<string, Node[]> | null = null;
  /** Per function id: the nodes of its own scope (see {@link collectOwn}). */
  private readonly ownCache = new Map<number, OwnNodes>();
  private idsByName: Map<string, Node[]> | null = null;
  private callers: Map<number, { call: Node; caller: Node }[]> | null = null;

  constructor(
    readonly tree: Tree,
    readonly text: string,
  ) {}

  /** Every function of the file, in document order (one search of the whole tree: only asked for by the cross-function steps). */
  get functions(): Node[] {
    if (!this.functionsCache) {
      this.functionsCache = [];
      for (const n of this.tree.rootNode.descendantsOfType('function_definition')) if (n) this.functionsCache.push(n);
      this.functionsCache.sort((a, b) => a.startIndex - b.startIndex);
    }
    return this.functionsCache;
  }

  get lines(): string[] {
    return (this.linesCache ??= this.text.split('\n'));
  }

  /** Classes of the file by name (the last definition of a name wins). */
  get classes(): Map<string, Node> {
    if (!this.classesCache) {
      this.classesCache = new Map();
      for (const n of this.tree.rootNode.descendantsOfType('class_definition')) if (n) this.classesCache.set(n.childForFieldName('name')?.text ?? '', n);
    }
    return this.classesCache;
  }

  /** Functions of the file by name, in document order. */
  get byName(): Map<string, Node[]> {
    if (!this.byNameCache) {
      this.byNameCache = new Map();
      for (const n of this.functions) {
        const name = n.childForFieldName('name')?.text ?? '';
        let list = this.byNameCache.get(name);
        if (!list) this.byNameCache.set(name, (list = []));
        list.push(n);
      }
    }
    return this.byNameCache;
  }

  /**
   * Whether the file defines a function named `name` (the same answer as `byName.has(name)`):
   * until the name index is built, the name's occurrences in the text are looked up on the
   * tree instead of listing every function of the file. Kept per name.
   */
  definesFunction(name: string): boolean {
    if (this.byNameCache) return this.byNameCache.has(name);
    let known = this.definedMemo.get(name);
    if (known === undefined) this.definedMemo.set(name, (known = this.definitionInText(name)));
    return known;
  }

  private readonly definedMemo = new Map<string, boolean>();

  /** Some occurrence of `name` in the text is the name of a function definition. */
  private definitionInText(name: string): boolean {
    if (name === '') return this.functions.some((f) => (f.childForFieldName('name')?.text ?? '') === '');
    const root = this.tree.rootNode;
    for (let at = this.text.indexOf(name); at >= 0; at = this.text.indexOf(name, at + 1)) {
      // The smallest node over the occurrence, widened to the largest with the same span (a
      // keyword spelled as a name is a token inside its identifier).
      let node: Node | null = root.descendantForIndex(at, at + name.length);
      if (!node || node.startIndex !== at || node.endIndex !== at + name.length) continue;
      while (node.parent && node.parent.type !== 'function_definition' && node.parent.startIndex === at && node.parent.endIndex === at + name.length) node = node.parent;
      const def = node.parent;
      if (def?.type === 'function_definition' && def.childForFieldName('name')?.id === node.id && node.text === name) return true;
    }
    return false;
  }

  /** The nodes of `fn`'s own scope, cached: the analysis asks about the same functions many times. */
  own(fn: Node): OwnNodes {
    let own = this.ownCache.get(fn.id);
    if (!own) this.ownCache.set(fn.id, (own = collectOwn(fn)));
    return own;
  }

  /** Identifiers of the whole file by name (one tree walk for the file). */
  identifiers(name: string): Node[] {
    if (!this.idsByName) {
      this.idsByName = new Map();
      for (const id of this.tree.rootNode.descendantsOfType('identifier')) {
        if (!id) continue;
        let list = this.idsByName.get(id.text);
        if (!list) this.idsByName.set(id.text, (list = []));
        list.push(id);
      }
    }
    return this.idsByName.get(name) ?? [];
  }

  /** The calls of the file that may reach `fn` by name, with the function that makes each. */
  callersOf(fn: Node): { call: Node; caller: Node }[] {
    if (!this.callers) {
      this.callers = new Map();
      for (const caller of this.functions) {
        for (const n of this.own(caller).calls) {
          for (const d of this.calleeDefs(n)) {
            let list = this.callers.get(d.id);
            if (!list) this.callers.set(d.id, (list = []));
            list.push({ call: n, caller });
          }
        }
      }
    }
    return this.callers.get(fn.id) ?? [];
  }

  // ---- recognisers ------------------------------------------------------------------------

  /** `X['wsgi.file_wrapper'](arg)`, `X.get('wsgi.file_wrapper')(arg)`, `fw(arg)` with `fw` bound from either. */
  wrapArgument(call: Node, fn: Node): Node | null {
    const callee = call.childForFieldName('function');
    if (!callee) return null;
    const args = positionalArgs(call);
    const first = args?.[0] ?? children(call.childForFieldName('arguments') ?? call).find((c) => c.type !== 'keyword_argument' && c.type !== 'comment');
    if (!first) return null;
    if (this.isFileWrapperExpr(callee)) return first;
    if (callee.type === 'identifier') {
      const name = callee.text;
      for (const n of this.own(fn).assignments) {
        const left = n.childForFieldName('left');
        if (left?.type !== 'identifier' || left.text !== name) continue;
        const right = n.childForFieldName('right');
        if (right && this.isFileWrapperExpr(right)) return first;
      }
    }
    return null;
  }

  private isFileWrapperExpr(n: Node): boolean {
    const e = unparen(n);
    if (e.type === 'subscript') {
      const idx = e.childForFieldName('subscript');
      return idx !== null && isStringLiteral(idx, FILE_WRAPPER_KEY);
    }
    if (e.type === 'call') {
      const callee = e.childForFieldName('function');
      const args = children(e.childForFieldName('arguments') ?? e);
      return callee?.type === 'attribute' && lastComponent(callee) === 'get' && args.length > 0 && isStringLiteral(args[0], FILE_WRAPPER_KEY);
    }
    if (e.type === 'boolean_operator') return children(e).some((c) => this.isFileWrapperExpr(c));
    return false;
  }

  /** `app(environ, start_response)`: two positional arguments, an environ and a start_response. */
  isAppCall(call: Node, fn: Node): boolean {
    const args = positionalArgs(call);
    if (!args || args.length !== 2) return false;
    const callee = call.childForFieldName('function');
    if (!callee || START_RESPONSE_PATTERN.test(lastComponent(callee))) return false;
    const [env, sr] = args;
    if (!this.isEnviron(env)) return false;
    if (!this.isStartResponse(sr, fn)) return false;
    // A class called like an application builds an object; it is not a response.
    return !(callee.type === 'identifier' && this.classes.has(callee.text));
  }

  /**
   * An environ argument: a name (`environ`, `request.environ`), or a call that builds one
   * (`WSGIContainer.environ(request)`, `self.make_environ()`, `get_environ(req)`).
   */
  private isEnviron(env: Node): boolean {
    if (env.type === 'identifier' || env.type === 'attribute') return ENVIRON_NAMES.has(lastComponent(env));
    if (env.type !== 'call') return false;
    const callee = env.childForFieldName('function');
    if (!callee) return false;
    const last = lastComponent(callee);
    return ENVIRON_NAMES.has(last) || ENVIRON_BUILDER.test(last);
  }

  private isStartResponse(sr: Node, fn: Node): boolean {
    if (sr.type === 'lambda') return true;
    if (sr.type !== 'identifier' && sr.type !== 'attribute') return false;
    if (START_RESPONSE_PATTERN.test(lastComponent(sr))) return true;
    // A start_response written as a nested function of an enclosing function.
    for (let f: Node | null = fn; f; f = enclosingFunction(f)) {
      if (this.own(f).scopes.some((n) => n.type === 'function_definition' && n.childForFieldName('name')?.text === sr.text)) return true;
    }
    return false;
  }

  isGenerator(fn: Node): boolean {
    return this.own(fn).yields.length > 0;
  }

  yields(fn: Node): Node[] {
    return this.own(fn).yields;
  }

  /** In-file functions a call may reach by name: `f(...)`, `self.f(...)`, `cls.f(...)`. */
  calleeDefs(call: Node): Node[] {
    const callee = call.childForFieldName('function');
    if (!callee) return [];
    if (callee.type === 'identifier') return (this.byName.get(callee.text) ?? []).filter((f) => !isMethod(f));
    if (callee.type === 'attribute') {
      const obj = callee.childForFieldName('object');
      if (obj?.type === 'identifier' && (obj.text === 'self' || obj.text === 'cls')) {
        return (this.byName.get(lastComponent(callee)) ?? []).filter((f) => isMethod(f));
      }
    }
    return [];
  }

  qualifiedCallee(call: Node): string {
    return (call.childForFieldName('function')?.text ?? '').replace(/\s+/g, '');
  }

  /** A call through a value the file does not define: `route.call(**args)`, `handler(req)`. */
  isDynamicCall(call: Node, fn: Node): boolean {
    const callee = call.childForFieldName('function');
    if (!callee) return false;
    let base: Node | null = callee;
    if (callee.type === 'attribute') base = callee.childForFieldName('object');
    if (!base || base.type !== 'identifier') return false;
    // Protocol methods of iterators, files and containers return data, not handlers' results.
    if (callee.type === 'attribute' && DATA_METHODS.has(lastComponent(callee))) return false;
    const name = base.text;
    if (name === 'self' || name === 'cls') return false;
    if (callee.type === 'identifier' && /^[A-Z]/.test(name)) return false;
    // A parameter or local of the function (it shadows a module-level function of that name).
    return parameterNames(fn).includes(name) || this.isLocal(fn, name);
  }

  /** Bound in `fn` by an assignment (plain or unpacking) or a `for` target. */
  private isLocal(fn: Node, name: string): boolean {
    const own = this.own(fn);
    for (const n of [...own.assignments, ...own.fors]) {
      const target = n.childForFieldName('left');
      if (!target) continue;
      if (target.type === 'identifier' ? target.text === name : target.descendantsOfType('identifier').some((d) => d?.text === name)) return true;
    }
    return false;
  }

}
