/**
 * The Hazard Lens output channel as a log channel with levels: VS Code's "Set Log Level" and
 * the level filter then apply to it. vscode-languageclient writes its own and the server's
 * messages as lines prefixed `[Error - 10:42:07 AM] ...`; this adapter gives it an output
 * channel whose `appendLine` turns such a line into a message of that level.
 */
import type { LogOutputChannel, OutputChannel } from 'vscode';

const LEVEL_PREFIX = /^\[(Error|Warn|Info|Debug|Trace)\s*- [^\]]*\] ?/;

/** An output channel that writes each line to `log` at the level its prefix names (info without one). */
export function leveledChannel(log: LogOutputChannel): OutputChannel {
  const appendLine = (line: string): void => {
    const prefix = LEVEL_PREFIX.exec(line);
    const text = prefix ? line.slice(prefix[0].length) : line;
    switch (prefix?.[1]) {
      case 'Error':
        log.error(text);
        break;
      case 'Warn':
        log.warn(text);
        break;
      case 'Debug':
        log.debug(text);
        break;
      case 'Trace':
        log.trace(text);
        break;
      default:
        log.info(text);
    }
  };
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'appendLine') return appendLine;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
