/**
 * Code actions, built from the diagnostics the client sends back (their `data` holds the fixes
 * and the document version those fixes were computed for), so no cache is kept here:
 * - each applicable fix as a quick fix (`isPreferred` only when safe; unsafe ones say so);
 *   display-only fixes as disabled actions that explain why they are not applied;
 * - "Disable <rule> for this line" (a suppression comment on its own line above), and
 *   "Disable <rule> for this file" (an `ignore-file[...]` comment at the top);
 * - "Show documentation for <rule>" (a client command);
 * - for unused suppressions, "Remove unused suppression";
 * - `source.fixAll.hazardLens`: every safe fix to a fixpoint, as one whole-document edit,
 *   the fixes of the program's findings published for this version (cross-file findings)
 *   included; a fix whose edits touch lines the parser could not read is left out.
 * A diagnostic whose version is not the document's current version yields nothing.
 */
import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import type { HazardLensConfig } from '../engine/config';
import { UNUSED_SUPPRESSION_ID } from '../engine/engine';
import { contentHash } from '../engine/analyze';
import { FILE_MARKER_WITH_RULES, LINE_MARKER_WITH_RULES } from '../engine/suppressions';
import { fixAll } from '../engine/fixes';
import type { Fix } from '../text/edits';
import type { Finding } from '../analysis/results';
import type { LanguageId } from '../text/locations';
import { languageForPath, loadGrammar, type GrammarName } from '../parsing/parser';
import { isDiagnosticData, hasDocs, type DiagnosticData } from './diagnostics';
import type { OpenDocument } from './documents';
import { COMMANDS, DIAGNOSTIC_SOURCE, FIX_ALL_KIND } from './protocol';
import { docsUrl } from '../engine/config';

export interface CodeActionOptions {
  config: HazardLensConfig;
  /** Client accepts `documentChanges` (versioned edits the client refuses when stale). */
  documentChanges: boolean;
  /** Client shows `disabled` code actions. */
  disabledSupport: boolean;
  /** Why the document is not analysed (excluded, too large); no fix-all then. */
  skipReason?: string;
  /** The diagnostics last published for the document (their fixes join fix-all when of its current version). */
  published?: readonly Diagnostic[];
}

/** The published findings of the document's current version, as fix-all takes them. */
function publishedFindings(doc: OpenDocument, published: readonly Diagnostic[] | undefined): Finding[] {
  const out: Finding[] = [];
  for (const d of published ?? []) {
    const data: unknown = d.data;
    if (!isDiagnosticData(data) || data.version !== doc.document.version || data.fixes.length === 0) continue;
    out.push({ ruleId: data.ruleId, path: doc.path, range: d.range, message: d.message, severity: 'warning', related: [], fixes: data.fixes });
  }
  return out;
}

const COMMENT_PREFIX: Record<LanguageId, string> = { c: '//', python: '#', typescript: '//' };
const GRAMMAR_EXTENSION: Record<GrammarName, string> = { c: '.c', python: '.py', typescript: '.ts', tsx: '.tsx' };

/** True when an action of `kind` was asked for; no `only` means the quick-fix menu. */
export function wants(only: readonly string[] | undefined, kind: string): boolean {
  if (!only || only.length === 0) return kind === CodeActionKind.QuickFix;
  return only.some((o) => kind === o || kind.startsWith(`${o}.`));
}

function workspaceEdit(doc: OpenDocument, version: number, edits: TextEdit[], documentChanges: boolean): WorkspaceEdit {
  if (documentChanges) return { documentChanges: [{ textDocument: { uri: doc.uri, version }, edits }] };
  return { changes: { [doc.uri]: edits } };
}

function lineText(doc: OpenDocument, line: number): string {
  const text = doc.document.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } });
  return text.replace(/\r?\n$/, '');
}

function eol(doc: OpenDocument): string {
  return doc.document.getText().includes('\r\n') ? '\r\n' : '\n';
}

function fixActions(doc: OpenDocument, diagnostic: Diagnostic, fixes: Fix[], version: number, options: CodeActionOptions): CodeAction[] {
  const out: CodeAction[] = [];
  for (const fix of fixes) {
    if (fix.applicability === 'display-only') {
      // Shown so the user learns the remedy, never applied: it needs a judgement the tool cannot make.
      if (options.disabledSupport) {
        out.push({
          title: `${fix.title} (suggestion only)`,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          disabled: { reason: 'Hazard Lens shows this fix as a suggestion only; apply it by hand where it fits.' },
        });
      }
      continue;
    }
    if (fix.edits.length === 0) continue;
    const safe = fix.applicability === 'safe';
    out.push({
      title: safe ? fix.title : `${fix.title} (unsafe)`,
      kind: CodeActionKind.QuickFix,
      diagnostics: [diagnostic],
      isPreferred: safe,
      edit: workspaceEdit(
        doc,
        version,
        fix.edits.map((e) => ({ range: e.range, newText: e.newText })),
        options.documentChanges,
      ),
    });
  }
  // Preferred (safe) first, then unsafe, then suggestions.
  return out.sort((a, b) => Number(b.isPreferred ?? false) - Number(a.isPreferred ?? false) || Number(!!a.disabled) - Number(!!b.disabled));
}

/**
 * Inserts `<comment> hazard-lens: ignore[rule]` on its own line above the diagnostic's first
 * line, with that line's indentation; when a suppression comment already sits directly above,
 * the rule id is added to it instead. Lines continued with a backslash get no action: a
 * comment line there would end the macro or statement.
 */
function disableAction(doc: OpenDocument, diagnostic: Diagnostic, ruleId: string, version: number, options: CodeActionOptions): CodeAction | undefined {
  if (!doc.language) return undefined;
  const line = diagnostic.range.start.line;
  const target = lineText(doc, line);
  const above = line > 0 ? lineText(doc, line - 1) : undefined;
  if (above !== undefined && /\\\s*$/.test(above)) return undefined;
  const prefix = COMMENT_PREFIX[doc.language];
  let edit: TextEdit;
  const existing = above !== undefined && above.trimStart().startsWith(prefix) ? LINE_MARKER_WITH_RULES.exec(above) : null;
  if (existing && above !== undefined) {
    const ids = existing[1].split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.includes(ruleId) || ids.includes('*')) return undefined;
    const close = existing.index + existing[0].length - 1;
    const insert = ids.length > 0 ? `, ${ruleId}` : ruleId;
    edit = { range: { start: { line: line - 1, character: close }, end: { line: line - 1, character: close } }, newText: insert };
  } else {
    const indent = /^[ \t]*/.exec(target)?.[0] ?? '';
    edit = {
      range: { start: { line, character: 0 }, end: { line, character: 0 } },
      newText: `${indent}${prefix} hazard-lens: ignore[${ruleId}]${eol(doc)}`,
    };
  }
  return {
    title: `Disable ${ruleId} for this line`,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    edit: workspaceEdit(doc, version, [edit], options.documentChanges),
  };
}

/**
 * `Disable <rule> for this file`: adds the rule id to the file's own-line `ignore-file[...]`
 * comment when it has one, else writes one at the top, after a `#!` line and (Python) an
 * encoding declaration, which must stay first.
 */
function fileDisableAction(doc: OpenDocument, diagnostic: Diagnostic, ruleId: string, version: number, options: CodeActionOptions): CodeAction | undefined {
  if (!doc.language) return undefined;
  const prefix = COMMENT_PREFIX[doc.language];
  const lines = doc.document.getText().split(/\r?\n/);
  let edit: TextEdit | undefined;
  for (let line = 0; line < lines.length && !edit; line++) {
    const text = lines[line];
    if (!text.trimStart().startsWith(prefix)) continue;
    const existing = FILE_MARKER_WITH_RULES.exec(text);
    if (!existing) continue;
    const ids = existing[1].split(',').map((id) => id.trim()).filter(Boolean);
    if (ids.includes(ruleId) || ids.includes('*')) return undefined;
    const close = existing.index + existing[0].length - 1;
    edit = { range: { start: { line, character: close }, end: { line, character: close } }, newText: ids.length > 0 ? `, ${ruleId}` : ruleId };
  }
  if (!edit) {
    let line = 0;
    if (lines[line]?.startsWith('#!')) line++;
    if (doc.language === 'python') while (line < 2 && line < lines.length && /^[ \t\f]*#.*coding[:=]/.test(lines[line])) line++;
    edit = { range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `${prefix} hazard-lens: ignore-file[${ruleId}]${eol(doc)}` };
  }
  return {
    title: `Disable ${ruleId} for this file`,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    edit: workspaceEdit(doc, version, [edit], options.documentChanges),
  };
}

/** Removes a rule id from an unused suppression comment, or the whole comment when it was the only id. */
function removeSuppressionAction(doc: OpenDocument, diagnostic: Diagnostic, data: DiagnosticData, version: number, options: CodeActionOptions): CodeAction | undefined {
  const id = data.suppressedRuleId;
  if (!id) return undefined;
  const { start, end } = diagnostic.range;
  const comment = doc.document.getText(diagnostic.range);
  const marker = LINE_MARKER_WITH_RULES.exec(comment);
  if (!marker) return undefined;
  const ids = marker[1].split(',').map((s) => s.trim()).filter(Boolean);
  if (!ids.includes(id)) return undefined;
  const rest = ids.filter((x) => x !== id);
  let edit: TextEdit;
  if (rest.length > 0) {
    // Rewrite only the bracketed list, keeping the rest of the comment as written.
    const open = doc.document.offsetAt(start) + marker.index + marker[0].indexOf('[') + 1;
    const close = doc.document.offsetAt(start) + marker.index + marker[0].length - 1;
    edit = { range: { start: doc.document.positionAt(open), end: doc.document.positionAt(close) }, newText: rest.join(', ') };
  } else {
    const first = lineText(doc, start.line);
    const before = first.slice(0, start.character);
    const after = lineText(doc, end.line).slice(end.character);
    if (before.trim() === '' && after.trim() === '') {
      // The comment is alone on its line(s): remove the lines.
      edit = { range: { start: { line: start.line, character: 0 }, end: { line: end.line + 1, character: 0 } }, newText: '' };
    } else {
      // A trailing comment: remove it and the blanks that separate it from the code.
      const trimmed = before.replace(/[ \t]+$/, '');
      edit = { range: { start: { line: start.line, character: trimmed.length }, end }, newText: '' };
    }
  }
  return {
    title: `Remove unused suppression of ${id}`,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    isPreferred: true,
    edit: workspaceEdit(doc, version, [edit], options.documentChanges),
  };
}

function documentationAction(diagnostic: Diagnostic, ruleId: string, config: HazardLensConfig): CodeAction {
  const title = `Show documentation for ${ruleId}`;
  return {
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    command: { title, command: COMMANDS.showDocumentation, arguments: [ruleId, docsUrl(ruleId, config)] },
  };
}

/** The quick fixes for the diagnostics in the request. */
export function quickFixes(params: CodeActionParams, doc: OpenDocument, options: CodeActionOptions): CodeAction[] {
  const version = doc.document.version;
  const actions: CodeAction[] = [];
  const docs = new Map<string, CodeAction>();
  let documentHash: string | undefined;
  for (const diagnostic of params.context.diagnostics) {
    if (diagnostic.source !== DIAGNOSTIC_SOURCE || !isDiagnosticData(diagnostic.data)) continue;
    const data = diagnostic.data;
    // Fixes computed for another version are stale. Those of the file on disk (published by
    // the workspace index before the document's own pass, e.g. right after start-up) hold
    // while the document's text is the text they were computed for.
    if (data.version === undefined && data.contentHash !== undefined) {
      documentHash ??= contentHash(doc.document.getText(), options.config.knowledge);
      if (data.contentHash !== documentHash) continue;
    } else if (data.version !== version) continue;
    if (data.ruleId === UNUSED_SUPPRESSION_ID) {
      const remove = removeSuppressionAction(doc, diagnostic, data, version, options);
      if (remove) actions.push(remove);
    } else {
      actions.push(...fixActions(doc, diagnostic, data.fixes, version, options));
      const disable = disableAction(doc, diagnostic, data.ruleId, version, options);
      if (disable) actions.push(disable);
      const disableFile = fileDisableAction(doc, diagnostic, data.ruleId, version, options);
      if (disableFile) actions.push(disableFile);
    }
    if (hasDocs(data.ruleId) && !docs.has(data.ruleId)) docs.set(data.ruleId, documentationAction(diagnostic, data.ruleId, options.config));
  }
  // One documentation entry per rule, after the fixes.
  return [...actions, ...docs.values()];
}

/**
 * The path `fixAll` re-analyses under: it picks the grammar from the extension (or the `#!`
 * line), and JavaScript from TypeScript by the extension (fixes write no types into `.js`).
 */
function fixAllPath(doc: OpenDocument): string {
  if (!doc.grammar || languageForPath(doc.path, doc.document.getText())?.grammar === doc.grammar) return doc.path;
  if (doc.document.languageId.startsWith('javascript')) return `${doc.path}${doc.grammar === 'tsx' ? '.jsx' : '.js'}`;
  return `${doc.path}${GRAMMAR_EXTENSION[doc.grammar]}`;
}

/** `source.fixAll.hazardLens`, or undefined when there is nothing safe to apply or the file is refused. */
export async function fixAllAction(doc: OpenDocument, options: CodeActionOptions): Promise<CodeAction | undefined> {
  if (!doc.grammar || options.skipReason) return undefined;
  await loadGrammar(doc.grammar);
  const version = doc.document.version;
  const text = doc.document.getText();
  const result = fixAll(fixAllPath(doc), text, { config: options.config, programFindings: publishedFindings(doc, options.published) });
  if (result.refused || result.applied === 0 || result.text === text) return undefined;
  const edit: TextEdit = { range: { start: { line: 0, character: 0 }, end: doc.document.positionAt(text.length) }, newText: result.text };
  return {
    title: `Hazard Lens: apply ${result.applied} safe fix${result.applied === 1 ? '' : 'es'}`,
    kind: FIX_ALL_KIND,
    edit: workspaceEdit(doc, version, [edit], options.documentChanges),
  };
}

export async function provideCodeActions(params: CodeActionParams, doc: OpenDocument, options: CodeActionOptions): Promise<CodeAction[]> {
  const only = params.context.only;
  const actions: CodeAction[] = [];
  if (wants(only, CodeActionKind.QuickFix)) actions.push(...quickFixes(params, doc, options));
  if (only && wants(only, FIX_ALL_KIND)) {
    const all = await fixAllAction(doc, options);
    if (all) actions.push(all);
  }
  return actions;
}
