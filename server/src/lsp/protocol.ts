/**
 * Names and shapes shared by the language server and the VS Code client. Dependency-free so
 * the client bundle can import it without pulling in the engine.
 */

/** Client id; also the prefix of the `<id>.trace.server` setting vscode-languageclient reads. */
export const CLIENT_ID = 'hazardLens';

/** The settings section, and `source` of every diagnostic. */
export const SETTINGS_SECTION = 'hazardLens';
export const DIAGNOSTIC_SOURCE = 'hazard-lens';

export const COMMANDS = {
  scanWorkspace: 'hazardLens.scanWorkspace',
  showOutput: 'hazardLens.showOutput',
  restartServer: 'hazardLens.restartServer',
  showDocumentation: 'hazardLens.showDocumentation',
  /** Applies every safe fix in the active editor's file (the `source.fixAll.hazardLens` action). */
  fixAll: 'hazardLens.fixAll',
} as const;

/** Code action kind of "apply every safe fix in this file". */
export const FIX_ALL_KIND = 'source.fixAll.hazardLens';

/** Server → client notification with the totals the status bar shows. */
export const STATUS_NOTIFICATION = 'hazardLens/status';

export interface StatusParams {
  /** Findings over every file with published diagnostics (unused-suppression hints excluded). */
  findings: number;
  errors: number;
  warnings: number;
  /** Files with at least one finding. */
  files: number;
  /** True while a workspace scan runs. */
  scanning: boolean;
}

/** What `hazardLens.scanWorkspace` returns. */
export interface ScanSummary {
  /** Files analysed. */
  files: number;
  findings: number;
  skipped: number;
  cancelled: boolean;
  /** Set when the scan could not run at all. */
  error?: string;
}

/** `initializationOptions` understood by the server; every field is optional. */
export interface InitializationOptions {
  /**
   * The client registers the server's commands itself (so they exist from activation), so the
   * server must not list them in `executeCommandProvider` (vscode-languageclient would register
   * them a second time and fail).
   */
  clientRegistersCommands?: boolean;
  /** Replaces the `hazardLens.debounceMs` setting of every document (tests, benchmarks); see `passDelay` in validation.ts. */
  debounceMs?: number;
  /** Log debug messages (per-document timings, skipped files) to the output channel. */
  verbose?: boolean;
  /** Settings for clients without `workspace/configuration` (same shape as the `hazardLens` section). */
  settings?: unknown;
  /**
   * Milliseconds the background indexing runs before its "Indexing" progress is shown
   * (default 500): a small workspace is indexed without a progress bar flashing by.
   */
  indexProgressDelayMs?: number;
  /** Workspace folders with more supported files than this are not indexed (default 20000). */
  maxIndexedFiles?: number;
}

/**
 * Request (server-side diagnostics aid, used by the tests): the state of the workspace index.
 * Not part of the client's API.
 */
export const INDEX_STATS_REQUEST = 'hazardLens/indexStats';

export interface IndexStats {
  folders: {
    uri: string;
    ready: boolean;
    files: number;
    /** Indexed files that are not UTF-8, with the encoding they were decoded from (`windows-1252`, `utf-16le`, `utf-16be`). */
    decoded: { path: string; encoding: string }[];
    projectFiles: string[];
  }[];
  /** Open documents whose analysis overrides the disk. */
  open: number;
  /** Texts parsed and analysed (disk files and open documents) since the server started. */
  parsed: number;
  /** Disk reads whose content hash matched an analysis already held (no parse). */
  reused: number;
}
