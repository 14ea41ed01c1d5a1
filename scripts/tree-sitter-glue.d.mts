// Types of tree-sitter-glue.mjs (read by the tests).
export const TREE_SITTER_EDITS: readonly (readonly [string, string])[];
export function editTreeSitterGlue(text: string): string;
export const treeSitterGluePlugin: import('esbuild').Plugin;
