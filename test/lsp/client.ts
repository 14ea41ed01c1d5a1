/**
 * A small LSP client for the server tests: spawns the built server (`dist/server/server.js
 * --stdio`, or `$HAZARD_LENS_SERVER`), speaks JSON-RPC over its stdio, answers the requests a
 * real client answers (configuration, progress creation, registrations) and records every
 * notification, so tests wait on events ("diagnostics for this URI at this version") instead
 * of sleeping.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type ClientCapabilities,
  type CodeAction,
  type CodeActionContext,
  type Diagnostic,
  type Hover,
  type InitializeResult,
  type MessageConnection,
  type Position,
  type PublishDiagnosticsParams,
  type Range,
  type TextDocumentContentChangeEvent,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_TIMEOUT_MS = 15_000;

export interface ShowMessage {
  type: number;
  message: string;
}

export interface ProgressEvent {
  token: string | number;
  value: { kind: 'begin' | 'report' | 'end'; title?: string; message?: string; percentage?: number; cancellable?: boolean };
}

export interface StartOptions {
  /** Workspace folder (absolute path); none when omitted. */
  rootPath?: string;
  /** Value of the `hazardLens` section answered to `workspace/configuration`. */
  settings?: Record<string, unknown>;
  /** Value of the `files.exclude` section. */
  filesExclude?: Record<string, boolean>;
  initializationOptions?: Record<string, unknown>;
  /** Workspace folders (absolute paths) instead of `rootPath` alone. */
  folders?: string[];
  /** Extra `workspace` client capabilities (e.g. `didChangeWatchedFiles`), merged over the defaults. */
  workspaceCapabilities?: ClientCapabilities['workspace'];
  /**
   * The server's analysis cache folder. Default: a fresh temporary folder per client, removed
   * on `stop()`, so tests neither read nor write the user's cache and each starts cold.
   */
  cacheDir?: string;
}

export interface Registration {
  id: string;
  method: string;
  registerOptions?: unknown;
}

/** A recorded stream of events that can be waited on. */
class Recorder<T> {
  readonly events: T[] = [];
  private waiters: { predicate: (e: T) => boolean; resolve: (e: T) => void }[] = [];

  push(event: T): void {
    this.events.push(event);
    const ready = this.waiters.filter((w) => w.predicate(event));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(event);
  }

  /** The first event (already recorded from index `from`, or future) that matches. */
  waitFor(predicate: (e: T) => boolean, description: string, timeoutMs = DEFAULT_TIMEOUT_MS, from = 0): Promise<T> {
    const seen = this.events.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      const done = (e: T) => {
        clearTimeout(timer);
        resolve(e);
      };
      this.waiters.push({ predicate, resolve: done });
    });
  }
}

const CAPABILITIES: ClientCapabilities = {
  workspace: {
    configuration: true,
    workspaceFolders: true,
    didChangeConfiguration: { dynamicRegistration: true },
    workspaceEdit: { documentChanges: true },
    executeCommand: { dynamicRegistration: false },
  },
  textDocument: {
    synchronization: { didSave: true, dynamicRegistration: false },
    publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true, tagSupport: { valueSet: [1, 2] } },
    codeAction: {
      codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'source', 'source.fixAll'] } },
      isPreferredSupport: true,
      disabledSupport: true,
      dataSupport: true,
    },
    hover: { contentFormat: ['markdown', 'plaintext'] },
  },
  window: { workDoneProgress: true, showMessage: {} },
};

export class TestClient {
  readonly diagnostics = new Recorder<PublishDiagnosticsParams>();
  readonly messages = new Recorder<ShowMessage>();
  readonly progress = new Recorder<ProgressEvent>();
  readonly status = new Recorder<unknown>();
  readonly registrations = new Recorder<Registration>();
  readonly logs: string[] = [];
  /** The server's log messages (`window/logMessage`) as events, to wait for one. */
  readonly logEvents = new Recorder<string>();
  /** Diagnostics and log messages in the order they arrived: `diagnostics <uri> v<version>` or `log <message>`. */
  readonly arrivals: string[] = [];
  readonly progressTokens: (string | number)[] = [];
  settings: Record<string, unknown>;
  /** Settings per resource (`scopeUri`), for multi-root tests; `undefined` falls back to `settings`. */
  scopedSettings: ((scopeUri: string | undefined) => Record<string, unknown> | undefined) | undefined;
  filesExclude: Record<string, boolean>;
  initializeResult!: InitializeResult;
  private readonly versions = new Map<string, number>();
  private readonly texts = new Map<string, string>();

  /** The temporary cache folder this client made (removed on stop). */
  private ownCache: string | undefined;

  private constructor(
    private readonly process: ChildProcessWithoutNullStreams,
    readonly connection: MessageConnection,
    options: StartOptions,
  ) {
    this.settings = options.settings ?? {};
    this.filesExclude = options.filesExclude ?? {};
  }

  static async start(options: StartOptions = {}): Promise<TestClient> {
    const serverPath = process.env.HAZARD_LENS_SERVER ?? path.join(REPO_ROOT, 'dist', 'server', 'server.js');
    const ownCache = options.cacheDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'hl-lsp-cache-')) : undefined;
    const env = { ...process.env, HAZARD_LENS_CACHE_DIR: options.cacheDir ?? ownCache };
    const child = spawn(process.execPath, [serverPath, '--stdio'], { cwd: REPO_ROOT, stdio: 'pipe', env });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const client = new TestClient(child, connection, options);
    client.ownCache = ownCache;
    client.listen();
    connection.listen();
    const rootPath = options.rootPath ?? options.folders?.[0];
    const rootUri = rootPath ? uriOf(rootPath) : null;
    const folders = options.folders ?? (rootPath ? [rootPath] : []);
    const capabilities: ClientCapabilities = { ...CAPABILITIES, workspace: { ...CAPABILITIES.workspace, ...options.workspaceCapabilities } };
    client.initializeResult = await connection.sendRequest<InitializeResult>('initialize', {
      processId: process.pid,
      rootUri,
      capabilities,
      workspaceFolders: folders.length > 0 ? folders.map((f) => ({ uri: uriOf(f), name: path.basename(f) })) : null,
      initializationOptions: options.initializationOptions,
    });
    await connection.sendNotification('initialized', {});
    return client;
  }

  private listen(): void {
    const c = this.connection;
    let stderr = '';
    this.process.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      this.logs.push(`[stderr] ${chunk.toString()}`);
    });
    this.process.on('exit', (code) => {
      if (code) this.logs.push(`[exit ${code}] ${stderr}`);
    });
    c.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.arrivals.push(`diagnostics ${p.uri} v${p.version}`);
      this.diagnostics.push(p);
    });
    c.onNotification('window/showMessage', (p: ShowMessage) => this.messages.push(p));
    c.onNotification('window/logMessage', (p: ShowMessage) => {
      this.arrivals.push(`log ${p.message}`);
      this.logs.push(p.message);
      this.logEvents.push(p.message);
    });
    c.onNotification('$/progress', (p: ProgressEvent) => this.progress.push(p));
    c.onNotification('hazardLens/status', (p: unknown) => this.status.push(p));
    c.onRequest('workspace/configuration', (p: { items: { section?: string; scopeUri?: string }[] }) =>
      p.items.map((item) =>
        item.section === 'hazardLens' ? (this.scopedSettings?.(item.scopeUri) ?? this.settings) : item.section === 'files.exclude' ? this.filesExclude : null,
      ),
    );
    c.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
      this.progressTokens.push(p.token);
      return null;
    });
    c.onRequest('client/registerCapability', (p: { registrations: Registration[] }) => {
      for (const r of p.registrations) this.registrations.push(r);
      return null;
    });
    c.onRequest('client/unregisterCapability', () => null);
    c.onRequest('window/showMessageRequest', () => null);
  }

  /** Opens a document at version 1. */
  async open(uri: string, languageId: string, text: string): Promise<void> {
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Sends incremental changes (each relative to the text after the previous one); returns the new version. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    let text = this.texts.get(uri) ?? '';
    for (const ch of changes) text = 'range' in ch ? applyTextEdits(text, [{ range: ch.range, newText: ch.text }]) : ch.text;
    this.texts.set(uri, text);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  /** Applies text edits (relative to the current text) as incremental changes, last edit first. */
  async applyEdits(uri: string, edits: readonly TextEdit[]): Promise<number> {
    const ordered = [...edits].sort((a, b) => comparePos(b.range.start, a.range.start));
    return this.change(
      uri,
      ordered.map((e) => ({ range: e.range, text: e.newText })),
    );
  }

  async save(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didSave', { textDocument: { uri } });
  }

  async close(uri: string): Promise<void> {
    this.versions.delete(uri);
    this.texts.delete(uri);
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  text(uri: string): string {
    return this.texts.get(uri) ?? '';
  }

  version(uri: string): number {
    return this.versions.get(uri) ?? 0;
  }

  /** Resolves when a workspace indexing progress that began at or after progress event `from` has ended. */
  async indexingDone(from = 0): Promise<void> {
    const begin = await this.progress.waitFor((e) => e.value.kind === 'begin' && /indexing/.test(e.value.title ?? ''), 'indexing to begin', undefined, from);
    await this.progress.waitFor((e) => e.token === begin.token && e.value.kind === 'end', 'indexing to end', undefined, from);
  }

  async changeSettings(settings: Record<string, unknown>): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  }

  /**
   * The first publish for `uri` at `version` (`undefined`: an unversioned publish, `'any'`: any)
   * whose diagnostics satisfy `predicate`, among those recorded from index `from` on or yet to come.
   */
  waitForDiagnostics(
    uri: string,
    version: number | undefined | 'any',
    predicate: (d: Diagnostic[]) => boolean = () => true,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<PublishDiagnosticsParams> {
    return this.diagnostics.waitFor(
      (p) => p.uri === uri && (version === 'any' || p.version === version) && predicate(p.diagnostics),
      `diagnostics for ${uri} at version ${String(version)}`,
      options.timeoutMs,
      options.from,
    );
  }

  codeActions(uri: string, range: Range, context: CodeActionContext): Promise<CodeAction[] | null> {
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context });
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position });
  }

  executeCommand<R>(command: string, args: unknown[] = []): Promise<R> {
    return this.connection.sendRequest('workspace/executeCommand', { command, arguments: args });
  }

  async stop(): Promise<void> {
    try {
      await withTimeout(this.connection.sendRequest('shutdown'), 5000);
      await this.connection.sendNotification('exit');
    } catch {
      // the process is killed below either way
    }
    this.connection.dispose();
    if (this.process.exitCode === null) this.process.kill();
    if (this.ownCache) fs.rmSync(this.ownCache, { recursive: true, force: true });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function uriOf(p: string): string {
  return pathToFileURL(p).href;
}

function comparePos(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

function offsetOf(text: string, pos: Position): number {
  let offset = 0;
  for (let line = 0; line < pos.line; line++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const lineEnd = text.indexOf('\n', offset);
  return Math.min(offset + pos.character, lineEnd < 0 ? text.length : lineEnd);
}

/** Applies non-overlapping edits that are all relative to `text`. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const resolved = edits
    .map((e) => ({ start: offsetOf(text, e.range.start), end: offsetOf(text, e.range.end), newText: e.newText }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of resolved) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/** The text edits a code action makes to `uri` (documentChanges or changes form). */
export function editsFor(edit: WorkspaceEdit | undefined, uri: string): TextEdit[] {
  if (!edit) return [];
  const out: TextEdit[] = [];
  for (const dc of edit.documentChanges ?? []) {
    if ('textDocument' in dc && dc.textDocument.uri === uri) out.push(...dc.edits.filter((e): e is TextEdit => 'range' in e));
  }
  out.push(...(edit.changes?.[uri] ?? []));
  return out;
}
