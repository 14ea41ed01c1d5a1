/**
 * Server logging goes to the client's output channel through the connection; the console is
 * the transport in stdio mode, so writing to it would corrupt the protocol stream.
 */
import { MessageType, ShowMessageNotification, type Connection, type RemoteConsole } from 'vscode-languageserver';

export interface Logger {
  error(message: string, err?: unknown): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A readable one-liner for anything thrown, with the stack for real errors. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export function createLogger(remote: RemoteConsole, verbose = false): Logger {
  // Logging must never be the thing that throws out of a handler (e.g. once the pipe is gone).
  const safe = (write: (m: string) => void, message: string) => {
    try {
      write(message);
    } catch {
      // nothing sensible left to report to
    }
  };
  return {
    error: (message, err) => safe((m) => remote.error(m), err === undefined ? message : `${message}: ${describeError(err)}`),
    warn: (message) => safe((m) => remote.warn(m), message),
    info: (message) => safe((m) => remote.info(m), message),
    debug: (message) => {
      if (verbose) safe((m) => remote.log(m), message);
    },
  };
}

/** Runs a promise whose result nobody waits for, logging instead of leaving a rejection unhandled. */
export function fireAndForget(promise: PromiseLike<unknown>, logger: Logger, what: string): void {
  Promise.resolve(promise).catch((err: unknown) => logger.error(`${what} failed`, err));
}

/**
 * Shows a message to the user as a `window/showMessage` notification. NOTE: not through
 * `connection.window.show*Message`, which sends a request (for action buttons) whose promise
 * the typings hide, and which would reject unobserved if the client went away.
 */
export function showMessage(connection: Connection, type: 'error' | 'warning' | 'info', message: string, logger: Logger): void {
  const kind = type === 'error' ? MessageType.Error : type === 'warning' ? MessageType.Warning : MessageType.Info;
  fireAndForget(connection.sendNotification(ShowMessageNotification.type, { type: kind, message }), logger, 'showing a message');
}
