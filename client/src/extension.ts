/**
 * The VS Code side of Hazard Lens: starts the bundled language server (unless
 * `hazardLens.enable` is false, and again when it is switched back on), registers the
 * commands, shows the finding count in the status bar. It never runs workspace code (the
 * manifest declares untrusted workspaces supported): it only reads files through the server.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { leveledChannel } from './log-channel';
import {
  ExecuteCommandRequest,
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  CLIENT_ID,
  COMMANDS,
  FIX_ALL_KIND,
  SETTINGS_SECTION,
  STATUS_NOTIFICATION,
  type InitializationOptions,
  type ScanSummary,
  type StatusParams,
} from '../../server/src/lsp/protocol';

// JavaScript is analysed like TypeScript. VS Code gives an extensionless file with a
// `#!/usr/bin/env python3` or `node` line the `python`/`javascript` language id, so such
// scripts are covered by these ids too.
const LANGUAGES = ['c', 'python', 'typescript', 'typescriptreact', 'javascript', 'javascriptreact'];
const RULE_ID = /^[a-z0-9][a-z0-9-]*$/;
/** publisher.name in package.json. */
const EXTENSION_ID = 'hazard-lens.hazard-lens';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  // A log channel: VS Code's "Set Log Level" filters the server's and the client's messages.
  const output = vscode.window.createOutputChannel('Hazard Lens', { log: true });
  context.subscriptions.push(output);

  const status = vscode.window.createStatusBarItem('hazardLens.status', vscode.StatusBarAlignment.Left, 10);
  status.name = 'Hazard Lens';
  status.command = 'workbench.actions.view.problems';
  status.text = '$(shield) Hazard Lens';
  status.tooltip = 'Hazard Lens: starting';
  status.show();
  context.subscriptions.push(status);

  const serverModule = context.asAbsolutePath('dist/server/server.js');
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const initializationOptions: InitializationOptions = { clientRegistersCommands: true };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.map((language) => ({ scheme: 'file', language })),
    outputChannel: leveledChannel(output),
    initializationOptions,
    middleware: {
      workspace: {
        // The server layers the editor's settings over the project's .hazard-lens.json, so it
        // must hear only the settings the user set: VS Code's own answer fills in every
        // package.json default, which would hide every value of the file.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) return answers;
          return params.items.map((item, i) => (item.section === SETTINGS_SECTION ? explicitSettings(item.scopeUri) : answers[i]));
        },
      },
    },
  };
  const languageClient = new LanguageClient(CLIENT_ID, 'Hazard Lens', serverOptions, clientOptions);
  client = languageClient;

  context.subscriptions.push(
    languageClient.onNotification(STATUS_NOTIFICATION, (params: StatusParams) => showStatus(status, params)),
    languageClient.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        status.text = '$(shield) Hazard Lens: stopped';
        status.tooltip = 'Hazard Lens: the language server is not running (see Hazard Lens: Show Output)';
      }
    }),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show(true)),
    vscode.commands.registerCommand(COMMANDS.restartServer, () =>
      reportFailure(output, 'restarting the server', async () => {
        output.info('Restarting the Hazard Lens server');
        await languageClient.restart();
      }),
    ),
    vscode.commands.registerCommand(COMMANDS.showDocumentation, (ruleId: unknown, url: unknown) =>
      reportFailure(output, 'showing the documentation', () => showDocumentation(context, ruleId, url)),
    ),
    vscode.commands.registerCommand(COMMANDS.scanWorkspace, () => reportFailure(output, 'scanning the workspace', () => scanWorkspace(languageClient))),
    vscode.commands.registerCommand(COMMANDS.fixAll, () => reportFailure(output, 'fixing the file', () => fixAllInActiveEditor())),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(`${SETTINGS_SECTION}.enable`)) return;
      void reportFailure(output, 'switching Hazard Lens on or off', async () => {
        if (enabled() && !languageClient.isRunning()) await startServer(languageClient, output);
        else if (!enabled() && languageClient.isRunning()) {
          output.info('hazardLens.enable is false: stopping the language server');
          await languageClient.stop();
          status.text = '$(shield) Hazard Lens: off';
          status.tooltip = 'Hazard Lens is switched off (hazardLens.enable)';
        }
      });
    }),
  );

  if (!enabled()) {
    output.info('hazardLens.enable is false: the language server is not started');
    status.text = '$(shield) Hazard Lens: off';
    status.tooltip = 'Hazard Lens is switched off (hazardLens.enable)';
    return;
  }
  await startServer(languageClient, output);
}

function enabled(): boolean {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<boolean>('enable', true);
}

async function startServer(languageClient: LanguageClient, output: vscode.LogOutputChannel): Promise<void> {
  try {
    await languageClient.start();
  } catch (err) {
    output.error(`Hazard Lens: the language server did not start: ${err instanceof Error ? err.message : String(err)}`);
    void vscode.window.showErrorMessage('Hazard Lens: the language server did not start. See "Hazard Lens: Show Output".');
  }
}

/** Applies the file's safe fixes through the `source.fixAll.hazardLens` code action. */
async function fixAllInActiveEditor(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !LANGUAGES.includes(editor.document.languageId)) {
    void vscode.window.showInformationMessage('Hazard Lens: open a C, Python, TypeScript or JavaScript file to fix.');
    return;
  }
  await vscode.commands.executeCommand('editor.action.sourceAction', { kind: FIX_ALL_KIND, apply: 'first' });
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c?.isRunning()) await c.stop();
}

/**
 * The `hazardLens` settings the user set (user, workspace or folder level; the most specific
 * wins), without the defaults of the settings left alone.
 */
function explicitSettings(scopeUri: string | undefined): Record<string, unknown> {
  const scope = scopeUri ? vscode.Uri.parse(scopeUri) : undefined;
  const section = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  const properties = (vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as { contributes?: { configuration?: { properties?: Record<string, unknown> } } } | undefined)
    ?.contributes?.configuration?.properties ?? {};
  const result: Record<string, unknown> = {};
  for (const full of Object.keys(properties)) {
    const key = full.slice(SETTINGS_SECTION.length + 1);
    if (key.includes('.')) continue; // trace.server: the client's own
    const seen = section.inspect(key);
    const value = seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue;
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/** Runs a command body; a failure is logged and shown instead of surfacing as a raw command error. */
async function reportFailure(output: vscode.LogOutputChannel, what: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.error(`Hazard Lens: ${what} failed: ${message}`);
    void vscode.window.showErrorMessage(`Hazard Lens: ${what} failed: ${message}`);
  }
}

function showStatus(item: vscode.StatusBarItem, s: StatusParams): void {
  const icon = s.scanning ? '$(sync~spin)' : s.findings > 0 ? '$(warning)' : '$(shield)';
  item.text = `${icon} Hazard Lens: ${s.findings}`;
  const parts = [`${s.findings} finding${s.findings === 1 ? '' : 's'} in ${s.files} file${s.files === 1 ? '' : 's'}`];
  if (s.errors > 0 || s.warnings > 0) parts.push(`${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}`);
  if (s.scanning) parts.push('scanning the workspace…');
  item.tooltip = `Hazard Lens: ${parts.join('; ')}. Click to open the Problems panel.`;
}

/** Opens the bundled rule page in the Markdown preview, or the online page when it is not bundled. */
async function showDocumentation(context: vscode.ExtensionContext, ruleId: unknown, url: unknown): Promise<void> {
  if (typeof ruleId !== 'string' || !RULE_ID.test(ruleId)) {
    void vscode.window.showWarningMessage('Hazard Lens: no rule given to show documentation for.');
    return;
  }
  const local = context.asAbsolutePath(`docs/rules/${ruleId}.md`);
  if (fs.existsSync(local)) {
    await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(local));
    return;
  }
  if (typeof url === 'string' && /^https?:\/\//.test(url)) {
    await vscode.env.openExternal(vscode.Uri.parse(url));
    return;
  }
  void vscode.window.showWarningMessage(`Hazard Lens: no documentation found for ${ruleId}.`);
}

async function scanWorkspace(languageClient: LanguageClient): Promise<void> {
  if (!vscode.workspace.workspaceFolders?.length) {
    void vscode.window.showInformationMessage('Hazard Lens: open a folder to scan.');
    return;
  }
  if (!languageClient.isRunning()) await languageClient.start();
  // The server reports progress itself (window/workDoneProgress) and publishes the diagnostics.
  const summary = (await languageClient.sendRequest(ExecuteCommandRequest.type, {
    command: COMMANDS.scanWorkspace,
    arguments: [],
  })) as ScanSummary | null;
  if (!summary) return;
  if (summary.error) {
    void vscode.window.showErrorMessage(`Hazard Lens: the scan failed: ${summary.error.split('\n')[0]}`);
    return;
  }
  const what = `${summary.findings} finding${summary.findings === 1 ? '' : 's'} in ${summary.files} file${summary.files === 1 ? '' : 's'}`;
  void vscode.window.showInformationMessage(summary.cancelled ? `Hazard Lens: scan cancelled (${what} so far).` : `Hazard Lens: scan finished: ${what}.`);
}
