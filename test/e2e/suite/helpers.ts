/**
 * Shared helpers of the integration suite. Every wait is on an editor event
 * (`onDidChangeDiagnostics` above all) with a timeout whose message says what was awaited
 * and what was seen instead; no fixed sleeps.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'hazard-lens.hazard-lens';
export const SOURCE = 'hazard-lens';
export const DOCS_BASE = 'https://github.com/hazard-lens/hazard-lens/blob/main/docs/rules/';
/** How long to wait for the server to (re)publish diagnostics. */
export const DIAGNOSTICS_TIMEOUT_MS = 30_000;

/** Logs through the suite's console (see test/e2e/index.ts): one line per call. */
export function log(...args: unknown[]): void {
  const sink = (globalThis as { hazardLensE2eLog?: (...a: unknown[]) => void }).hazardLensE2eLog;
  (sink ?? console.log)(...args);
}

export function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the suite needs a workspace folder (a copy of examples/)');
  return folder.uri;
}

export function fileUri(relative: string): vscode.Uri {
  return vscode.Uri.joinPath(workspaceRoot(), ...relative.split('/'));
}

/** The extension's own diagnostics for a file. */
export function hazardDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === SOURCE);
}

/** The rule id of a diagnostic (`code` may be a plain value or `{ value, target }`). */
export function ruleId(d: vscode.Diagnostic): string | undefined {
  if (d.code === undefined) return undefined;
  if (typeof d.code === 'object') return String(d.code.value);
  return String(d.code);
}

/** The docs link of a diagnostic, whichever way the client carried it. */
export function docsHref(d: vscode.Diagnostic): string | undefined {
  if (d.code !== undefined && typeof d.code === 'object') return d.code.target.toString(true);
  return undefined;
}

export function describe(diagnostics: readonly vscode.Diagnostic[]): string {
  if (diagnostics.length === 0) return '(none)';
  return diagnostics
    .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${vscode.DiagnosticSeverity[d.severity]} [${ruleId(d) ?? '-'}] ${d.message}`)
    .join('\n    ');
}

/**
 * Resolves with the file's hazard diagnostics as soon as `accept` returns true for them: checks
 * the current set first, then on every `onDidChangeDiagnostics` event naming the file.
 */
export function waitForDiagnostics(
  uri: vscode.Uri,
  accept: (diagnostics: vscode.Diagnostic[]) => boolean,
  what: string,
  timeoutMs = DIAGNOSTICS_TIMEOUT_MS,
): Promise<vscode.Diagnostic[]> {
  const current = hazardDiagnostics(uri);
  if (accept(current)) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    const key = uri.toString();
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${vscode.workspace.asRelativePath(uri)}; diagnostics now:\n    ${describe(hazardDiagnostics(uri))}`));
    }, timeoutMs);
    const subscription = vscode.languages.onDidChangeDiagnostics((event) => {
      if (!event.uris.some((u) => u.toString() === key)) return;
      const diagnostics = hazardDiagnostics(uri);
      if (!accept(diagnostics)) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(diagnostics);
    });
  });
}

/**
 * Runs `action`, then resolves on the first diagnostics event for `uri` that `accept` takes
 * (the current state does not count: the point is to see the effect of `action`).
 */
export async function diagnosticsAfter(
  uri: vscode.Uri,
  action: () => Thenable<unknown> | Promise<unknown>,
  accept: (diagnostics: vscode.Diagnostic[]) => boolean,
  what: string,
  timeoutMs = DIAGNOSTICS_TIMEOUT_MS,
): Promise<vscode.Diagnostic[]> {
  const key = uri.toString();
  let subscription: vscode.Disposable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<vscode.Diagnostic[]>((resolve, reject) => {
    timer = setTimeout(() => {
      subscription?.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${vscode.workspace.asRelativePath(uri)}; diagnostics now:\n    ${describe(hazardDiagnostics(uri))}`));
    }, timeoutMs);
    subscription = vscode.languages.onDidChangeDiagnostics((event) => {
      if (!event.uris.some((u) => u.toString() === key)) return;
      const diagnostics = hazardDiagnostics(uri);
      if (!accept(diagnostics)) return;
      clearTimeout(timer);
      subscription?.dispose();
      resolve(diagnostics);
    });
  });
  try {
    await action();
  } catch (err) {
    clearTimeout(timer);
    subscription?.dispose();
    throw err;
  }
  return seen;
}

/** Opens a workspace file in an editor. */
export async function openFile(relative: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(fileUri(relative));
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** Activates the extension (or waits for its activation) and returns it. */
export async function activeExtension(): Promise<vscode.Extension<unknown>> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  await ext.activate();
  return ext;
}

/** Resolves when `ext` becomes active: activation happens asynchronously after its trigger. */
export function waitForActivation(ext: vscode.Extension<unknown>, what: string, timeoutMs = 20_000): Promise<void> {
  if (ext.isActive) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`the extension did not activate within ${timeoutMs} ms after ${what}`));
    }, timeoutMs);
    // Activation completes on the extension host's event loop; extension-change events are
    // not fired for it, so each editor/diagnostic event re-checks the flag.
    const check = () => {
      if (!ext.isActive) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve();
    };
    const subscription = vscode.Disposable.from(
      vscode.languages.onDidChangeDiagnostics(check),
      vscode.window.onDidChangeActiveTextEditor(check),
      vscode.window.onDidChangeVisibleTextEditors(check),
      vscode.extensions.onDidChange(check),
    );
    check();
  });
}

/** Settings section of the extension, at workspace level (written to .vscode/settings.json). */
export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('hazardLens').update(key, value, vscode.ConfigurationTarget.Workspace);
}

/** Replaces a document's whole text and saves it (used to restore files between tests). */
export async function setText(uri: vscode.Uri, text: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
  assert.ok(await vscode.workspace.applyEdit(edit), 'could not edit the document');
  await doc.save();
}

/** The quick fixes the editor offers for a diagnostic (the same request the lightbulb makes). */
export async function quickFixes(uri: vscode.Uri, diagnostic: vscode.Diagnostic): Promise<vscode.CodeAction[]> {
  const actions = await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
    'vscode.executeCodeActionProvider',
    uri,
    diagnostic.range,
    vscode.CodeActionKind.QuickFix.value,
  );
  return (actions ?? []).filter((a): a is vscode.CodeAction => 'title' in a && !('command' in a && typeof a.command === 'string'));
}

/** Applies a code action the way the editor does: its edit, then its command. */
export async function applyAction(action: vscode.CodeAction): Promise<void> {
  if (action.edit) assert.ok(await vscode.workspace.applyEdit(action.edit), `the edit of "${action.title}" was not applied`);
  if (action.command) await vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
}

/**
 * Process ids of the language servers the extension host started: children of this process
 * (the tests run inside the extension host) running the bundled server.
 */
export function serverPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes('dist/server/server.js')) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}
