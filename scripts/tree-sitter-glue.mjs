/**
 * Two edits to web-tree-sitter's JavaScript glue, applied to our bundles by `build.mjs`, for
 * speed only. Every node a query reads (`type`, a child, a field) is first copied into wasm
 * memory with five `setValue(…, "i32")` calls, and every node returned is read back with
 * `getValue`; those Emscripten helpers test the type name with `endsWith("*")` before their
 * switch. The edits:
 * - `"i32"` is tested first in `setValue` and `getValue`;
 * - a `Node` keeps its wasm handle in a named property (`wasmOther`) rather than the declared
 *   indexed field `[0]`: an indexed property gives each of the millions of nodes a scan makes
 *   an elements store, and defining it was the costliest line of a node's construction. The
 *   handle is read back in `marshalNode` only.
 * On a walk of glibc's malloc.c that reads each node's type, named children and callee, the
 * edited glue took about 0.7 of the time (interleaved in one process).
 *
 * NOTE: chosen over patch-package, which rewrites node_modules at install for every consumer
 * (the tests run the library as published); here only the bundles change, and each edit must
 * apply exactly once or the build stops, so an upgrade that moves the code is noticed.
 * `test/package/tree-sitter-glue.test.ts` checks that the edited glue reads trees the same.
 */

import { readFileSync } from 'node:fs';

/** [text in the published glue, its replacement]. */
export const TREE_SITTER_EDITS = [
  [
    '        function setValue(ptr, value, type = "i8") {\n',
    '        function setValue(ptr, value, type = "i8") {\n          if (type === "i32") {\n            LE_HEAP_STORE_I32((ptr >> 2) * 4, value);\n            return;\n          }\n',
  ],
  ['        function getValue(ptr, type = "i8") {\n', '        function getValue(ptr, type = "i8") {\n          if (type === "i32") return LE_HEAP_LOAD_I32((ptr >> 2) * 4);\n'],
  ['var Node = class {\n  static {\n    __name(this, "Node");\n  }\n  /** @internal */\n  // @ts-expect-error: never read\n  [0] = 0;\n', 'var Node = class {\n  static {\n    __name(this, "Node");\n  }\n'],
  ['    assertInternal(internal);\n    this[0] = other;\n', '    assertInternal(internal);\n    this.wasmOther = other;\n'],
  ['  C.setValue(address, node[0], "i32");\n}\n__name(marshalNode, "marshalNode");\n', '  C.setValue(address, node.wasmOther, "i32");\n}\n__name(marshalNode, "marshalNode");\n'],
];

/** The glue's text with the edits made; throws when one does not apply exactly once. */
export function editTreeSitterGlue(text) {
  for (const [from, to] of TREE_SITTER_EDITS) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) {
      throw new Error(`web-tree-sitter's glue changed: this edit (scripts/tree-sitter-glue.mjs) no longer applies exactly once:\n${from}`);
    }
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  return text;
}

/** The esbuild plugin that makes the edits as a bundle takes in the glue (`build.mjs`, the bench's in-process bundle). */
export const treeSitterGluePlugin = {
  name: 'tree-sitter-glue',
  setup(build) {
    build.onLoad({ filter: /web-tree-sitter[\\/]tree-sitter\.cjs$/ }, (args) => ({ contents: editTreeSitterGlue(readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};
