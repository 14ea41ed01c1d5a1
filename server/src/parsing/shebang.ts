/**
 * Extensionless scripts: which language a `#!` line names (`#!/usr/bin/env python3`,
 * `#!/usr/bin/node`, `#!/usr/bin/env -S node --flag`), and a bounded read of a file's first
 * line to find out. Only files without an extension are ever asked about; a head that holds
 * a NUL byte is a binary and names no language.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsPath } from '../text/file-names';

export type ShebangLanguage = 'python' | 'javascript';

/** How many bytes of a file are read to find its `#!` line. */
export const SHEBANG_READ_BYTES = 256;

const INTERPRETERS: Readonly<Record<string, ShebangLanguage>> = {
  python: 'python',
  python2: 'python',
  python3: 'python',
  pypy: 'python',
  pypy3: 'python',
  node: 'javascript',
  nodejs: 'javascript',
};

/**
 * The language a file's first line names, or undefined. `env` (with its options, `-S`
 * included) is skipped; versioned interpreters (`python3.12`) count.
 */
export function shebangLanguage(head: string | Uint8Array): ShebangLanguage | undefined {
  let text: string;
  if (typeof head === 'string') text = head.slice(0, SHEBANG_READ_BYTES);
  else {
    const bytes = head.subarray(0, SHEBANG_READ_BYTES);
    if (bytes.includes(0)) return undefined;
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.startsWith('#!') || text.includes('\0')) return undefined;
  const nl = text.search(/[\r\n]/);
  const words = (nl < 0 ? text.slice(2) : text.slice(2, nl)).trim().split(/\s+/);
  let i = 0;
  if (path.posix.basename(words[0] ?? '') === 'env') {
    i = 1;
    // `env -S node --flag`, `env -u VAR python3`, `env NAME=value node`.
    while (i < words.length && (words[i].startsWith('-') || words[i].includes('='))) {
      if (/^-[uCP]$|^--(?:unset|chdir)$/.test(words[i])) i++;
      i++;
    }
  }
  const interpreter = path.posix.basename(words[i] ?? '').replace(/(?<=\d)\.\d+$/, '');
  return INTERPRETERS[interpreter];
}

/** Is this a name the scanner may look into for a `#!` line (no extension, not a dotfile)? */
export function mayBeScript(filePath: string): boolean {
  const base = path.basename(filePath);
  return base.length > 0 && !base.includes('.');
}

/** Reads at most {@link SHEBANG_READ_BYTES} bytes of a file; undefined when it cannot be read. */
export function readHeadSync(filePath: string): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(fsPath(filePath), fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const buf = Buffer.alloc(SHEBANG_READ_BYTES);
    const n = fs.readSync(fd, buf, 0, SHEBANG_READ_BYTES, 0);
    return buf.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Async form of {@link readHeadSync} (the workspace walk). */
export async function readHead(filePath: string): Promise<Uint8Array | undefined> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(fsPath(filePath), fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    if (!(await fh.stat()).isFile()) return undefined;
    const buf = Buffer.alloc(SHEBANG_READ_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SHEBANG_READ_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}
