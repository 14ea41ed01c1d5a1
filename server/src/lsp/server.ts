/**
 * The Hazard Lens language server: wires the connection's handlers to the document store,
 * the validator, the workspace index and its evaluator, code actions, hover and the
 * workspace scan. Every handler catches and logs:
 * an exception must never reach the connection (vscode-languageserver would answer with an
 * internal error, and a throwing notification handler can leave state half-updated).
 */
import * as nodePath from 'node:path';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  ProposedFeatures,
  TextDocumentSyncKind,
  createConnection,
  type ClientCapabilities,
  type CodeAction,
  type Connection,
  type FileEvent,
  type Hover,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { provideCodeActions } from './code-actions';
import { DocumentStore } from './documents';
import { GroupEvaluator } from './evaluation';
import { hoverAt } from './hover';
import { createLogger, fireAndForget, type Logger } from './logger';
import { uriToPath } from './paths';
import { COMMANDS, FIX_ALL_KIND, INDEX_STATS_REQUEST, type IndexStats, type InitializationOptions, type ScanSummary } from './protocol';
import { Publisher } from './publisher';
import { Settings } from './settings';
import { Validator } from './validation';
import { fileWatchers } from './watchers';
import { WorkspaceIndex, type GroupKey } from './workspace-index';
import { WorkspaceScan } from './workspace-scan';
import { WorkspaceFolders } from './workspace';

/** Delay that merges a burst of disk changes (a checkout, a formatter run) into one evaluation. */
const DISK_CHANGE_DELAY_MS = 50;
const DEFAULT_MAX_INDEXED_FILES = 20_000;

function readOptions(raw: unknown): InitializationOptions {
  if (!raw || typeof raw !== 'object') return {};
  const o = raw as Record<string, unknown>;
  const options: InitializationOptions = {};
  if (typeof o.clientRegistersCommands === 'boolean') options.clientRegistersCommands = o.clientRegistersCommands;
  if (typeof o.debounceMs === 'number' && Number.isFinite(o.debounceMs) && o.debounceMs >= 0) options.debounceMs = o.debounceMs;
  if (typeof o.verbose === 'boolean') options.verbose = o.verbose;
  if ('settings' in o) options.settings = o.settings;
  const count = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (count(o.indexProgressDelayMs)) options.indexProgressDelayMs = o.indexProgressDelayMs as number;
  if (count(o.maxIndexedFiles)) options.maxIndexedFiles = o.maxIndexedFiles as number;
  return options;
}

interface Services {
  documents: DocumentStore;
  settings: Settings;
  folders: WorkspaceFolders;
  publisher: Publisher;
  validator: Validator;
  index: WorkspaceIndex;
  evaluator: GroupEvaluator;
  scanner: WorkspaceScan;
  capabilities: ClientCapabilities;
}

/** Splits watched-file events into paths changed (or created) and deleted, and `.gitignore` files touched. */
function classify(changes: readonly FileEvent[]): { changed: string[]; deleted: string[]; ignoreFiles: string[] } {
  const changed: string[] = [];
  const deleted: string[] = [];
  const ignoreFiles: string[] = [];
  for (const c of changes) {
    if (!c.uri.startsWith('file:')) continue;
    const p = uriToPath(c.uri);
    if (nodePath.basename(p) === '.gitignore') {
      ignoreFiles.push(p);
      continue;
    }
    if (c.type === FileChangeType.Deleted) deleted.push(p);
    else changed.push(p);
  }
  return { changed, deleted, ignoreFiles };
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
    const settings = new Settings(connection, logger, capabilities.workspace?.configuration === true, options.settings, folders);
    const publisher = new Publisher(connection, logger);
    // The index reports changes made outside a validator pass (disk, builds); they are evaluated shortly after.
    const onIndexChange = (group: GroupKey) => void services?.evaluator.schedule(group, {}, DISK_CHANGE_DELAY_MS);
    const index = new WorkspaceIndex(folders, settings, logger, { maxFiles: options.maxIndexedFiles ?? DEFAULT_MAX_INDEXED_FILES }, onIndexChange);
    const evaluator = new GroupEvaluator(index, documents, settings, publisher, logger);
    const validator = new Validator(documents, settings, folders, publisher, logger, index, evaluator, options.debounceMs);
    const scanner = new WorkspaceScan(connection, folders, index, evaluator, publisher, logger, options.indexProgressDelayMs);
    services = { documents, settings, folders, publisher, validator, index, evaluator, scanner, capabilities };
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
            // Exclude patterns are relative to the folders, and files may change folder
            // (a folder added inside another): re-index all (unchanged files cost a stat).
            s2.validator.revalidateAll();
            fireAndForget(s2.scanner.indexInBackground(), logger, 'indexing the workspace');
          }),
        );
      }
      if (s.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration) {
        await connection.client.register(DidChangeConfigurationNotification.type, { section: ['hazardLens', 'files.exclude'] });
      }
      if (s.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration) {
        await connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: fileWatchers() });
      }
      logger.info('Hazard Lens language server started');
      fireAndForget(s.scanner.indexInBackground(), logger, 'indexing the workspace');
    }),
  );

  connection.onDidChangeConfiguration(
    notify('didChangeConfiguration', (params, s) => {
      s.settings.invalidate(params.settings);
      s.validator.revalidateAll();
      // Excludes and the size limit decide which files are indexed.
      fireAndForget(s.scanner.indexInBackground(), logger, 're-indexing the workspace');
    }),
  );

  connection.onDidChangeWatchedFiles(
    notify('didChangeWatchedFiles', (params, s) => {
      const all = classify(params.changes);
      const { ignoreFiles } = all;
      // A `.hazard-lens.json` (the project's or a nested one) changed: read the configuration
      // again and analyse everything with it (as after a settings change).
      const configFiles = [...all.changed, ...all.deleted].filter((p) => s.settings.isConfigFile(p));
      const changed = all.changed.filter((p) => !configFiles.includes(p));
      const deleted = all.deleted.filter((p) => !configFiles.includes(p));
      if (configFiles.length > 0) {
        logger.info(`${configFiles.join(', ')} changed: reading the configuration again`);
        s.settings.invalidate();
        s.validator.revalidateAll();
        fireAndForget(s.scanner.indexInBackground(), logger, 're-indexing the workspace');
      }
      if (changed.length > 0 || deleted.length > 0) s.index.onDiskChanges(changed, deleted);
      if (ignoreFiles.length > 0) {
        const folders = s.index.needsRebuild(ignoreFiles);
        if (folders.length > 0) fireAndForget(s.scanner.indexInBackground(folders), logger, 're-indexing after a .gitignore change');
      }
    }),
  );

  connection.onDidOpenTextDocument(
    notify('didOpen', (params, s) => {
      const doc = s.documents.open(params);
      if (doc.grammar) s.validator.schedule(doc.uri, 'open');
    }),
  );

  connection.onDidChangeTextDocument(
    notify('didChange', (params, s) => {
      const doc = s.documents.change(params);
      if (!doc?.grammar) return;
      s.validator.schedule(doc.uri, 'change');
      // The parse the pass needs, done while the pass waits for the debounce.
      s.documents.parseAhead(doc);
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
      // The disk file takes the document's place in the index: when it is indexed, its
      // findings stay visible (unversioned), and other files are re-evaluated against it.
      s.evaluator.forget(doc.path);
      const group = s.index.removeOpen(doc.path);
      if (group) await s.evaluator.schedule(group);
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
        published: s.publisher.get(doc.uri)?.diagnostics,
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

  connection.onRequest(
    INDEX_STATS_REQUEST,
    request('indexStats', null as IndexStats | null, (_params: unknown, s) => s.index.stats()),
  );

  connection.onShutdown(() => {
    try {
      services?.validator.dispose();
      services?.evaluator.dispose();
      services?.index.dispose();
      documents.dispose();
    } catch (err) {
      logger.error('shutdown failed', err);
    }
  });

  connection.listen();
  return connection;
}
