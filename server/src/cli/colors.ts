/**
 * Whether the CLI colours its output, and the colours (picocolors). Colour is for a person at
 * a terminal: on when the stream is a TTY (and TERM is not `dumb`), off when `NO_COLOR` is set
 * to anything but the empty string (no-color.org; it wins), on when `FORCE_COLOR` is set to
 * anything but `0`/`false` (CI logs that render escapes).
 */
import { createColors } from 'picocolors';
import type { Colors } from '../scan/reporters/common';

export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function colorsFor(enabled: boolean): Colors | undefined {
  if (!enabled) return undefined;
  const c = createColors(true);
  return { bold: c.bold, dim: c.dim, red: c.red, yellow: c.yellow, blue: c.blue, cyan: c.cyan, green: c.green };
}
