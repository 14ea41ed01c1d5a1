/**
 * The edits our bundles make to web-tree-sitter's glue (`scripts/tree-sitter-glue.mjs`): they
 * apply to the installed library, a glue they no longer fit stops the build with a message,
 * and the edited glue reads trees exactly as the published one does.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { editTreeSitterGlue, TREE_SITTER_EDITS } from '../../scripts/tree-sitter-glue.mjs';

const ROOT = path.join(__dirname, '..', '..');
const requireHere = createRequire(__filename);
// The file the bundles alias the package to (scripts/build.mjs); the package does not export it.
const GLUE = path.join(ROOT, 'node_modules', 'web-tree-sitter', 'tree-sitter.cjs');
const WASM = path.join(ROOT, 'node_modules', 'web-tree-sitter', 'tree-sitter.wasm');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-glue-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

interface Glue {
  Parser: { init(options: { locateFile: () => string }): Promise<void>; new (): GlueParser };
  Language: { load(file: string): Promise<unknown> };
}
interface GlueParser {
  setLanguage(language: unknown): void;
  parse(text: string): { rootNode: GlueNode; delete(): void };
}
interface GlueNode {
  type: string;
  typeId: number;
  startIndex: number;
  endIndex: number;
  startPosition: { row: number; column: number };
  endPosition: { row: number; column: number };
  isNamed: boolean;
  hasError: boolean;
  childCount: number;
  child(i: number): GlueNode | null;
  fieldNameForChild(i: number): string | null;
  childForFieldName(name: string): GlueNode | null;
  namedChildren: GlueNode[];
  parent: GlueNode | null;
}

test('every edit applies exactly once to the installed glue', () => {
  const published = fs.readFileSync(GLUE, 'utf8');
  for (const [from] of TREE_SITTER_EDITS) assert.equal(published.split(from).length, 2, from);
  const edited = editTreeSitterGlue(published);
  assert.ok(edited.includes('if (type === "i32") return LE_HEAP_LOAD_I32((ptr >> 2) * 4);'));
  assert.ok(edited.includes('if (type === "i32") {\n            LE_HEAP_STORE_I32((ptr >> 2) * 4, value);'));
  assert.ok(!/var Node = class \{[^]{0,200}\[0\] = 0;/.test(edited), 'Node declares no [0] field');
  assert.ok(edited.includes('this.wasmOther = other;') && edited.includes('C.setValue(address, node.wasmOther, "i32");'));
  assert.ok(!edited.includes('node[0]'), 'no node handle is read by index');
});

test('a glue an edit no longer fits stops the build with a message naming the edit', () => {
  const published = fs.readFileSync(GLUE, 'utf8');
  const moved = published.replace('function getValue(ptr, type = "i8") {', 'function getValue(ptr, type) {');
  assert.throws(() => editTreeSitterGlue(moved), /web-tree-sitter's glue changed: this edit \(scripts\/tree-sitter-glue\.mjs\) no longer applies exactly once:\n {8}function getValue/);
  const twice = `${published}\n${TREE_SITTER_EDITS[0][0]}`;
  assert.throws(() => editTreeSitterGlue(twice), /no longer applies exactly once/);
});

async function load(file: string): Promise<Glue> {
  const glue = requireHere(file) as Glue;
  await glue.Parser.init({ locateFile: () => WASM });
  return glue;
}

/** Everything a walk reads of each node, in document order. */
function describeTree(node: GlueNode, out: string[] = []): string[] {
  const callee = node.type === 'call_expression' || node.type === 'call' ? node.childForFieldName('function')?.startIndex : undefined;
  out.push(
    [node.type, node.typeId, node.startIndex, node.endIndex, node.startPosition.row, node.startPosition.column, node.endPosition.row, node.endPosition.column, node.isNamed, node.hasError, node.childCount, node.namedChildren.length, node.parent?.startIndex ?? -1, callee ?? ''].join(' '),
  );
  for (let i = 0; i < node.childCount; i++) {
    out.push(`field ${node.fieldNameForChild(i) ?? ''}`);
    describeTree(node.child(i)!, out);
  }
  return out;
}

test('the edited glue reads C and Python trees exactly as the published one', async () => {
  const editedFile = path.join(work, 'tree-sitter-edited.cjs');
  fs.writeFileSync(editedFile, editTreeSitterGlue(fs.readFileSync(GLUE, 'utf8')));
  const published = await load(GLUE);
  const edited = await load(editedFile);
  const sources: [string, string][] = [
    ['tree-sitter-c.wasm', 'examples/c-bpipe-fork/incident/bpipe.c'],
    ['tree-sitter-python.wasm', 'examples/py-wsgi-double-wrap/incident/shelf/framework.py'],
  ];
  for (const [grammar, rel] of sources) {
    const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    const read = async (glue: Glue) => {
      const parser = new glue.Parser();
      parser.setLanguage(await glue.Language.load(path.join(ROOT, 'grammars', grammar)));
      const tree = parser.parse(text);
      const described = describeTree(tree.rootNode);
      tree.delete();
      return described;
    };
    const expected = await read(published);
    assert.ok(expected.length > 200, `${rel}: a real tree`);
    assert.deepEqual(await read(edited), expected, rel);
  }
});
