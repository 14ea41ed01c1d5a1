/**
 * Open documents and their syntax trees. Text follows the client with incremental sync;
 * each content change is also applied to the document's tree with `tree.edit`, and the
 * next analysis re-parses with that edited tree, so tree-sitter re-uses everything the
 * change did not touch (vscode-anycode `trees.ts`).
 *
 * NOTE: edits are applied eagerly on every change, and so is the re-parse of a document the
 * analysis parsed before (`parseAhead`): the debounce's wait is idle time, and the pass that
 * follows finds its tree ready. Before any parse, the document's nesting must be within the
 * budget (`engine/nesting.ts`); each edit keeps a bound on it, so a keystroke needs no pass
 * over the whole text for that. Trees are kept in a bounded least-recently-used map; an
 * evicted document is parsed from scratch the next time it is analysed.
 */
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { DidChangeTextDocumentParams, DidOpenTextDocumentParams } from 'vscode-languageserver';
import type { LanguageId } from '../text/locations';
import { editFor, languageForPath, parseSync, type GrammarName, type Tree } from '../parsing/parser';
import { knownWithinBudget, nestingAfterEdit, type Nesting } from '../engine/nesting';
import { uriToPath } from './paths';

/** LSP language ids Hazard Lens analyses, with the grammar each one is parsed with. */
const LANGUAGE_IDS: Record<string, { language: LanguageId; grammar: GrammarName }> = {
  c: { language: 'c', grammar: 'c' },
  python: { language: 'python', grammar: 'python' },
  typescript: { language: 'typescript', grammar: 'typescript' },
  typescriptreact: { language: 'typescript', grammar: 'tsx' },
  javascript: { language: 'typescript', grammar: 'typescript' },
  javascriptreact: { language: 'typescript', grammar: 'tsx' },
};

export interface OpenDocument {
  uri: string;
  /** The path findings are reported under (absolute file path for `file:` URIs). */
  path: string;
  document: TextDocument;
  /** Undefined for documents Hazard Lens does not analyse (they are still tracked). */
  language?: LanguageId;
  grammar?: GrammarName;
  /** At most how deeply the current text nests: measured by a pass, then bounded after each edit (`nestingAfterEdit`); undefined until measured, and after a full replacement. */
  nesting?: Nesting;
}

interface TreeEntry {
  tree: Tree;
  /** Document version the tree was last parsed for. */
  parsedVersion: number;
  /** Edits were applied since the last parse. */
  edited: boolean;
}

/**
 * The language of a document: from its language id, else from its file extension, else
 * (a file without an extension) from its `#!` line. JavaScript is analysed as `typescript`.
 */
export function languageOf(languageId: string, path: string, text?: string): { language: LanguageId; grammar: GrammarName } | undefined {
  return LANGUAGE_IDS[languageId] ?? languageForPath(path, text);
}

export class DocumentStore {
  private readonly docs = new Map<string, OpenDocument>();
  /** Insertion order is recency order (least recently used first). */
  private readonly trees = new Map<string, TreeEntry>();

  constructor(private readonly maxTrees = 64) {}

  get(uri: string): OpenDocument | undefined {
    return this.docs.get(uri);
  }

  all(): OpenDocument[] {
    return [...this.docs.values()];
  }

  open(params: DidOpenTextDocumentParams): OpenDocument {
    const { uri, languageId, version, text } = params.textDocument;
    this.dropTree(uri);
    const path = uriToPath(uri);
    const lang = languageOf(languageId, path, text);
    const doc: OpenDocument = {
      uri,
      path,
      document: TextDocument.create(uri, languageId, version, text),
      language: lang?.language,
      grammar: lang?.grammar,
    };
    this.docs.set(uri, doc);
    return doc;
  }

  /** Applies the changes to the text and the tree; returns undefined for an unknown document. */
  change(params: DidChangeTextDocumentParams): OpenDocument | undefined {
    const doc = this.docs.get(params.textDocument.uri);
    if (!doc) return undefined;
    let current = doc.document;
    for (const change of params.contentChanges) {
      // Looked up per change: a full replacement earlier in the batch drops the tree.
      const entry = this.trees.get(doc.uri);
      let edit: { start: number; removed: string } | undefined;
      if ('range' in change) {
        const oldText = current.getText();
        const start = current.offsetAt(change.range.start);
        const end = current.offsetAt(change.range.end);
        edit = { start, removed: oldText.slice(start, end) };
        if (entry) {
          entry.tree.edit(editFor(oldText, start, end, change.text));
          entry.edited = true;
        }
      } else {
        // A full replacement leaves nothing for an incremental parse to re-use.
        this.dropTree(doc.uri);
      }
      // One change at a time: each change's range is relative to the text after the previous one.
      current = TextDocument.update(current, [change], params.textDocument.version);
      doc.nesting = edit && doc.nesting ? nestingAfterEdit(doc.nesting, current.getText(), edit.start, edit.removed, change.text, doc.language) : undefined;
    }
    doc.document = TextDocument.update(current, [], params.textDocument.version);
    return doc;
  }

  /**
   * Re-parses an edited document now rather than when its pass asks (the pass waits for the
   * debounce): only a document the analysis parsed before (its tree is kept) whose nesting is
   * known to be within the budget. A parse that fails is left for the pass, which parses again
   * and reports it. True when it parsed.
   */
  parseAhead(doc: OpenDocument): boolean {
    const entry = this.trees.get(doc.uri);
    if (!entry?.edited || !knownWithinBudget(doc.nesting, doc.language)) return false;
    try {
      this.treeFor(doc);
      return true;
    } catch {
      // (treeFor dropped the tree; the pass parses from scratch.)
      return false;
    }
  }

  /** Whether `tree` is still the document's tree (not replaced by a parse of a later version, nor evicted). */
  holdsTree(doc: OpenDocument, tree: Tree): boolean {
    return this.trees.get(doc.uri)?.tree === tree;
  }

  close(uri: string): void {
    this.dropTree(uri);
    this.docs.delete(uri);
  }

  /**
   * The document's tree for its current text, parsed incrementally when an edited tree is at
   * hand. The grammar must be loaded. The store owns the tree: callers use it synchronously
   * and never delete it. Throws what `parseSync` throws (a parse time-out).
   */
  treeFor(doc: OpenDocument): Tree {
    if (!doc.grammar) throw new Error(`no grammar for ${doc.uri}`);
    const version = doc.document.version;
    const entry = this.trees.get(doc.uri);
    if (entry) {
      this.trees.delete(doc.uri);
      this.trees.set(doc.uri, entry);
      if (!entry.edited && entry.parsedVersion === version) return entry.tree;
      let next: Tree;
      try {
        next = parseSync(doc.document.getText(), doc.grammar, entry.tree);
      } catch (err) {
        // The old tree may be what the failed parse left corrupt: the next edit parses afresh.
        this.dropTree(doc.uri);
        throw err;
      }
      entry.tree.delete();
      entry.tree = next;
      entry.parsedVersion = version;
      entry.edited = false;
      return next;
    }
    const tree = parseSync(doc.document.getText(), doc.grammar);
    this.trees.set(doc.uri, { tree, parsedVersion: version, edited: false });
    this.evict();
    return tree;
  }

  /** Frees every tree (server shutdown). */
  dispose(): void {
    for (const uri of [...this.trees.keys()]) this.dropTree(uri);
    this.docs.clear();
  }

  private evict(): void {
    while (this.trees.size > this.maxTrees) {
      const oldest = this.trees.keys().next().value;
      if (oldest === undefined) break;
      this.dropTree(oldest);
    }
  }

  private dropTree(uri: string): void {
    const entry = this.trees.get(uri);
    if (!entry) return;
    this.trees.delete(uri);
    entry.tree.delete();
  }
}
