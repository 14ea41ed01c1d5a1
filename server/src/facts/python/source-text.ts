/**
 * The source text of one Python file next to its tree: node text, positions and ranges
 * computed from the text (web-tree-sitter offsets are UTF-16 units of it) instead of trips
 * into WASM, and dotted names read from the text when the tree has no syntax error.
 */
import type { Position, Range } from '../../text/locations';
import { nodeRange, type Node, type Tree } from '../../parsing/parser';
import { lineStartsOf, positionAt } from '../../text/positions';
import { DOTTED_RE, dotted, partsOfDotted, plainSegments, posOf } from './syntax-helpers';

export class PySourceText {
  readonly src: string;
  /** `src` is the tree's text (offsets and positions can be computed from it). */
  readonly exact: boolean;
  /** `exact` and the tree has no syntax error: node shapes can be read from the text. */
  readonly fast: boolean;
  private lineStarts?: number[];

  constructor(
    readonly tree: Tree,
    text: string,
    textShortcuts: boolean,
  ) {
    this.src = text;
    const root = tree.rootNode;
    this.exact = root.endIndex === text.length;
    this.fast = textShortcuts && this.exact && !root.hasError;
  }

  /** Position of a UTF-16 offset of the text (rows advance at `\n` only, as in tree-sitter). */
  posAt(index: number): Position {
    return positionAt((this.lineStarts ??= lineStartsOf(this.src)), index);
  }

  /** End position of `node`, whose end offset is `end`. */
  posEnd(node: Node, end: number): Position {
    return this.exact ? this.posAt(end) : posOf(node.endPosition);
  }

  /** Range of `node`, whose end offset is `end` (`nodeRange` without the trip into WASM). */
  rangeOf(node: Node, end: number): Range {
    if (!this.exact) return nodeRange(node);
    const p = node.startPosition;
    return { start: { line: p.row, character: p.column }, end: this.posAt(end) };
  }

  range(node: Node): Range {
    return this.exact ? this.rangeOf(node, node.endIndex) : nodeRange(node);
  }

  text(node: Node): string {
    return this.exact ? this.src.slice(node.startIndex, node.endIndex) : node.text;
  }

  /** `node.text === word`, mostly without the trip into WASM. */
  textIs(node: Node, word: string): boolean {
    if (!this.exact) return node.text === word;
    return this.src.startsWith(word, node.startIndex) && node.endIndex === node.startIndex + word.length;
  }

  /** `dotted(node)`, read from the text when it is a plain dotted name. */
  dotted(node: Node | null): string | null {
    if (!node) return null;
    if (this.fast) {
      const t = this.src.slice(node.startIndex, node.endIndex);
      if (DOTTED_RE.test(t) && plainSegments(t)) return t;
    }
    return dotted(node);
  }

  /** `x.attr` with `x` an identifier: both names (else undefined). */
  attrParts(node: Node): { obj: string; attr: string } | undefined {
    if (this.fast) {
      const t = this.src.slice(node.startIndex, node.endIndex);
      if (DOTTED_RE.test(t) && plainSegments(t)) return partsOfDotted(t);
    }
    const obj = node.childForFieldName('object');
    const attr = node.childForFieldName('attribute');
    if (!obj || !attr || obj.type !== 'identifier') return undefined;
    return { obj: obj.text, attr: attr.text };
  }
}
