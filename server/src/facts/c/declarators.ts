/**
 * C declarators: the name a (possibly nested) declarator declares. Shared by the C fact
 * extractor and the C flow-graph builder.
 */
import type { Node } from '../../parsing/parser';

/** The identifier node a declarator declares (`*fp`, `fp[2]`, `(fp)`), or null for function declarators. */
export function declaratorIdentifier(node: Node | null): Node | null {
  let cur = node;
  while (cur) {
    switch (cur.type) {
      case 'identifier':
        return cur;
      case 'init_declarator':
      case 'pointer_declarator':
      case 'array_declarator':
      case 'attributed_declarator':
        cur = cur.childForFieldName('declarator');
        continue;
      case 'parenthesized_declarator':
        cur = cur.namedChild(0);
        continue;
      default:
        return null;
    }
  }
  return null;
}

/** The name a declarator declares, or null for function declarators. */
export function declaratorName(node: Node | null): string | null {
  return declaratorIdentifier(node)?.text ?? null;
}
