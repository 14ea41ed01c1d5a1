/**
 * The Hazard Lens language server: wires the connection's handlers to the document store,
 * the validator, code actions, hover and the workspace scan. Every handler catches and logs:
 * an exception must never reach the connection (vscode-languageserver would answer with an
 * internal error, and a throwing notification handler can leave state half-updated).
 */
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  ProposedFeatures,
  TextDocumentSyncKind,
  createConnection,
  type ClientCapabilities,
  type CodeAction,
  type Connection,
  type Hover,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { provideCodeActions } from './code-actions';
import { DocumentStore } from './documents';
import { hoverAt } from './hover';
import { createLogger, type Logger } from './logger';
import { COMMANDS, FIX_ALL_KIND, type InitializationOptions, type ScanSummary } from './protocol';
import { Publisher } from './publisher';
import { Settings } from './settings';
import { Validator } from './validation';
import { WorkspaceScan } from './workspace-scan';
import { WorkspaceFolders } from './workspace';

function readOptions(raw: unknown): InitializationOptions {
  if (!raw || typeof raw !== 'object') return {};
  const o = raw as Record<string, unknown>;
  const options: InitializationOptions = {};
  if (typeof o.clientRegistersCommands === 'boolean') options.clientRegistersCommands = o.clientRegistersCommands;
  if (typeof o.debounceMs === 'number' && Number.isFinite(o.debounceMs) && o.debounceMs >= 0) options.debounceMs = o.debounceMs;
  if (typeof o.verbose === 'boolean') options.verbose = o.verbose;
  if ('settings' in o) options.settings = o.settings;
  return options;
}

interface Services {
  documents: DocumentStore;
  settings: Settings;
  folders: WorkspaceFolders;
  publisher: Publisher;
  validator: Validator;
  scanner: WorkspaceScan;
  capabilities: ClientCapabilities;
}

/**
 * Starts the server on `connection` (by default one created from the process arguments:
 * `--stdio`, `--node-ipc` or `--socket=<port>`) and returns it.
 */
export function startServer(connection: Connection = createConnection(ProposedFeatures.all)): Connection {
  let logger: Logger = createLogger(connection.console);
  let services: Services | undefined;
  const documents = new DocumentStore();

  /** Wraps a notification handler: nothing thrown or rejected escapes. */
  const notify =
    <P>(name: string, fn: (params: P, s: Services) => void | Promise<void>) =>
    (params: P): void => {
      if (!services) return;
      try {
        const result = fn(params, services);
        if (result) result.catch((err: unknown) => logger.error(`${name} failed`, err));
      } catch (err) {
        logger.error(`${name} failed`, err);
      }
    };

  /** Wraps a request handler: failures are logged and answered with `fallback`. */
  const request =
    <P, R, T extends unknown[]>(name: string, fallback: R, fn: (params: P, s: Services, ...rest: T) => R | Promise<R>) =>
    async (params: P, ...rest: T): Promise<R> => {
      if (!services) return fallback;
      try {
        return await fn(params, services, ...rest);
      } catch (err) {
        logger.error(`${name} failed`, err);
        return fallback;
      }
    };

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    try {
      return initialize(params);
    } catch (err) {
      // Still answer: a server without features is better than a client stuck in start-up.
      logger.error('initialize failed', err);
      return { capabilities: {}, serverInfo: { name: 'hazard-lens' } };
    }
  });

  const initialize = (params: InitializeParams): InitializeResult => {
    const options = readOptions(params.initializationOptions);
    logger = createLogger(connection.console, options.verbose ?? false);
    const capabilities = params.capabilities;
    const folders = new WorkspaceFolders();
    if (params.workspaceFolders) folders.set(params.workspaceFolders);
    else if (params.rootUri) folders.set([{ uri: params.rootUri, name: 'root' }]);
    const settings = new Settings(connection, logger, capabilities.workspace?.configuration === true, options.settings);
    const publisher = new Publisher(connection, logger);
    const validator = new Validator(documents, settings, folders, publisher, logger, options.debounceMs);
    const scanner = new WorkspaceScan(connection, documents, settings, folders, publisher, logger);
    services = { documents, settings, folders, publisher, validator, scanner, capabilities };
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: { includeText: false } },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND], resolveProvider: false },
        hoverProvider: true,
        executeCommandProvider: { commands: options.clientRegistersCommands ? [] : [COMMANDS.scanWorkspace] },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'hazard-lens' },
    };
  };

  connection.onInitialized(
    notify('initialized', async (_params, s) => {
      if (s.capabilities.workspace?.workspaceFolders) {
        connection.workspace.onDidChangeWorkspaceFolders(
          notify('didChangeWorkspaceFolders', (event, s2) => {
            s2.folders.add(event.added, event.removed);
            // Exclude patterns are relative to the folders.
            s2.validator.revalidateAll();
          }),
        );
      }
      if (s.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration) {
        await connection.client.register(DidChangeConfigurationNotification.type, { section: ['hazardLens', 'files.exclude'] });
      }
      logger.info('Hazard Lens language server started');
    }),
  );

  connection.onDidChangeConfiguration(
    notify('didChangeConfiguration', (params, s) => {
      s.settings.invalidate(params.settings);
      s.validator.revalidateAll();
    }),
  );

  connection.onDidOpenTextDocument(
    notify('didOpen', (params, s) => {
      const doc = s.documents.open(params);
      s.scanner.onOpen(doc);
      if (doc.grammar) s.validator.schedule(doc.uri, 'open');
    }),
  );

  connection.onDidChangeTextDocument(
    notify('didChange', (params, s) => {
      const doc = s.documents.change(params);
      if (doc?.grammar) s.validator.schedule(doc.uri, 'change');
    }),
  );

  connection.onDidSaveTextDocument(
    notify('didSave', (params, s) => {
      const doc = s.documents.get(params.textDocument.uri);
      if (doc?.grammar) s.validator.schedule(doc.uri, 'save');
    }),
  );

  connection.onDidCloseTextDocument(
    notify('didClose', async (params, s) => {
      const uri = params.textDocument.uri;
      const doc = s.documents.get(uri);
      s.validator.cancel(uri);
      s.documents.close(uri);
      if (!doc?.grammar) return;
      s.publisher.publish(uri, []);
      await s.scanner.onClose(doc.path, uri);
    }),
  );

  connection.onCodeAction(
    request('codeAction', [] as CodeAction[], async (params, s) => {
      const doc = s.documents.get(params.textDocument.uri);
      if (!doc?.grammar) return [];
      const config = await s.settings.get(doc.uri);
      const textDocument = s.capabilities.textDocument;
      return provideCodeActions(params, doc, {
        config,
        documentChanges: s.capabilities.workspace?.workspaceEdit?.documentChanges === true,
        disabledSupport: textDocument?.codeAction?.disabledSupport === true,
        skipReason: s.validator.skipReason(doc, config),
      });
    }),
  );

  connection.onHover(
    request('hover', null as Hover | null, async (params, s) => {
      const doc = s.documents.get(params.textDocument.uri);
      const published = s.publisher.get(params.textDocument.uri);
      // Ranges of an older version may no longer match the text under the cursor.
      if (!doc || !published || published.version !== doc.document.version) return null;
      const config = await s.settings.get(doc.uri);
      return hoverAt(published.diagnostics, params.position, config);
    }),
  );

  connection.onExecuteCommand(
    request('executeCommand', null as ScanSummary | null, async (params, s, token) => {
      if (params.command === COMMANDS.scanWorkspace) return s.scanner.run(token);
      logger.warn(`unknown command ${params.command}`);
      return null;
    }),
  );

  connection.onShutdown(() => {
    try {
      services?.validator.dispose();
      documents.dispose();
    } catch (err) {
      logger.error('shutdown failed', err);
    }
  });

  connection.listen();
  return connection;
}
