/**
 * Reading a source file for analysis, or saying why it is not analysed.
 *
 * NOTE: text that is not valid UTF-8 is skipped with a reason rather than decoded with
 * replacement characters: positions would no longer match what an editor shows, and
 * `--fix` would write the replacement characters back and destroy the original bytes.
 * A UTF-8 byte order mark is removed for analysis (as editors do) and restored on write.
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { describeFsError } from './walk';

/** How many leading bytes are searched for a NUL to call a file binary (as git does). */
export const BINARY_SNIFF_BYTES = 8192;

export type ReadOutcome = { ok: true; text: string; bom: boolean } | { ok: false; reason: string };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(buf: Uint8Array, from = 0): number {
  let i = from;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

function lineOfOffset(buf: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (buf[i] === 10) line++;
  return line;
}

/**
 * {@link decodeSource}'s checks without the decoding: the reason the bytes are not analysable
 * text, or where the text starts (after a byte order mark). The bytes from `start` on are
 * exactly the UTF-8 encoding of the decoded text, so they can be hashed in its place.
 */
export function checkSource(buf: Uint8Array): { ok: true; bom: boolean; start: number } | { ok: false; reason: string } {
  const sniff = buf.subarray(0, BINARY_SNIFF_BYTES);
  if (sniff.includes(0)) return { ok: false, reason: 'binary file (NUL byte in the first 8 KB)' };
  const bom = buf.length >= 3 && buf[0] === UTF8_BOM[0] && buf[1] === UTF8_BOM[1] && buf[2] === UTF8_BOM[2];
  const start = bom ? 3 : 0;
  // Native check first (fast); the JS scan only runs to name the offending byte.
  const bad = isUtf8(buf.subarray(start)) ? -1 : firstInvalidUtf8(buf, start);
  if (bad >= 0) {
    return { ok: false, reason: `not valid UTF-8 (invalid byte 0x${buf[bad].toString(16).padStart(2, '0')} on line ${lineOfOffset(buf, bad)})` };
  }
  return { ok: true, bom, start };
}

/** Decodes file bytes, or gives the reason they are not analysable text. */
export function decodeSource(buf: Uint8Array): ReadOutcome {
  const checked = checkSource(buf);
  if (!checked.ok) return checked;
  const { start, bom } = checked;
  return { ok: true, text: Buffer.from(buf.buffer, buf.byteOffset + start, buf.length - start).toString('utf8'), bom };
}

function formatKb(bytes: number): string {
  return `${Math.ceil(bytes / 1024)} KB`;
}

/**
 * Reads a file for analysis. Never throws and never blocks on special files: the file is
 * opened non-blocking and must be a regular file no larger than `maxBytes`.
 */
export async function readSourceFile(filePath: string, maxBytes: number): Promise<ReadOutcome> {
  const read = await readSourceFileBytes(filePath, maxBytes);
  return read.ok ? decodeSource(read.bytes) : read;
}

/** The bytes of a file, with {@link readSourceFile}'s checks except the decoding. */
export async function readSourceFileBytes(filePath: string, maxBytes: number): Promise<{ ok: true; bytes: Buffer } | { ok: false; reason: string }> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(filePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'no such file or directory (removed during the scan, or a broken symbolic link)' : describeFsError(err) };
  }
  if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
  if (st.size > maxBytes) return { ok: false, reason: `file is ${formatKb(st.size)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` };
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: if the file was swapped for a FIFO since the stat, opening must not hang.
    handle = await fs.promises.open(filePath, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  }
  try {
    const hst = await handle.stat();
    if (!hst.isFile()) return { ok: false, reason: 'not a regular file' };
    if (hst.size > maxBytes) return { ok: false, reason: `file is ${formatKb(hst.size)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` };
    const buf = await handle.readFile();
    if (buf.length > maxBytes) return { ok: false, reason: `file is ${formatKb(buf.length)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` };
    return { ok: true, bytes: buf };
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * {@link readSourceFileBytes}, synchronously: for worker threads (and the main thread of a
 * `--jobs 0` scan, which yields between files), where a file's five round trips through
 * libuv's thread pool cost more than the reads themselves.
 */
export function readSourceFileBytesSync(filePath: string, maxBytes: number): { ok: true; bytes: Buffer } | { ok: false; reason: string } {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO (or a file swapped for one) must not hang the open.
    fd = fs.openSync(filePath, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'no such file or directory (removed during the scan, or a broken symbolic link)' : describeFsError(err) };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
    if (st.size > maxBytes) return { ok: false, reason: `file is ${formatKb(st.size)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` };
    const buf = fs.readFileSync(fd);
    if (buf.length > maxBytes) return { ok: false, reason: `file is ${formatKb(buf.length)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` };
    return { ok: true, bytes: buf };
  } catch (err) {
    return { ok: false, reason: describeFsError(err) };
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Writes fixed text back, restoring the byte order mark the file had. */
export async function writeSourceFile(filePath: string, text: string, bom: boolean): Promise<void> {
  await fs.promises.writeFile(filePath, bom ? `\uFEFF${text}` : text, 'utf8');
}
