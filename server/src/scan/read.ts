/**
 * Reading a source file for analysis, or saying why it is not analysed.
 *
 * Encodings, in the order they are tried:
 * - a UTF-16 byte order mark (`FF FE`, `FE FF`): UTF-16LE/BE (must decode without error and
 *   hold no U+0000);
 * - a NUL in the first 8 KB: a binary file, skipped;
 * - UTF-8 (a UTF-8 byte order mark declares it: such a file that is not valid UTF-8 is skipped);
 * - anything else without a NUL anywhere: Windows-1252 (a superset of Latin-1 for printable
 *   text; old C trees hold accented names in comments). Every byte decodes to one UTF-16
 *   code unit and back, so positions are those of the decoded text (what an editor that
 *   opened the file as Windows-1252 shows) and `--fix` can write the same bytes back.
 * Nothing is decoded with replacement characters: `--fix` would write them back and destroy
 * the original bytes. A byte order mark is removed for analysis (as editors do) and restored
 * on write; a fixed text is written in the encoding it was read in, or not at all.
 *
 * NOTE: Node 20's `TextDecoder('windows-1252')` decodes as ISO-8859-1 (0x80 → U+0080, not
 * U+20AC), so the 32 bytes where the two differ are mapped here with the WHATWG table.
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { describeFsError } from '../engine/fs-errors';
import { fsPath } from '../text/file-names';

/** How many leading bytes are searched for a NUL to call a file binary (as git does). */
export const BINARY_SNIFF_BYTES = 8192;

/** How a source file's bytes were decoded. */
export type SourceEncoding = 'utf-8' | 'windows-1252' | 'utf-16le' | 'utf-16be';

/** The encoding's name in messages ("decoded as Windows-1252: path"). */
export const ENCODING_LABELS: Record<SourceEncoding, string> = {
  'utf-8': 'UTF-8',
  'windows-1252': 'Windows-1252',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
};

export type ReadOutcome = { ok: true; text: string; bom: boolean; encoding: SourceEncoding } | { ok: false; reason: string };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Windows-1252 bytes 0x80–0x9F (WHATWG Encoding Standard; the five unassigned bytes map to C1 controls). */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
].map((c) => String.fromCharCode(c));

let cp1252Encode: Map<number, number> | undefined;

function cp1252Table(): Map<number, number> {
  if (!cp1252Encode) {
    cp1252Encode = new Map();
    for (let b = 0; b < 256; b++) cp1252Encode.set(b >= 0x80 && b < 0xa0 ? CP1252_HIGH[b - 0x80].charCodeAt(0) : b, b);
  }
  return cp1252Encode;
}

/** Windows-1252 bytes → text (one UTF-16 code unit per byte). */
export function decodeWindows1252(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length)
    .toString('latin1')
    .replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]);
}

/** 1-based line and column (in UTF-16 code units) of offset `i` of `text`. */
function lineCol(text: string, i: number): string {
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return `line ${line}, column ${i - before.lastIndexOf('\n')}`;
}

function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Text → the bytes of `encoding` (with its byte order mark when `bom`), or the reason it
 * cannot be represented there (the first character that has no byte in Windows-1252).
 */
export function encodeSource(text: string, encoding: SourceEncoding, bom: boolean): { ok: true; bytes: Buffer } | { ok: false; reason: string } {
  switch (encoding) {
    case 'utf-8':
      return { ok: true, bytes: Buffer.from(bom ? `\uFEFF${text}` : text, 'utf8') };
    case 'utf-16le':
    case 'utf-16be': {
      const le = Buffer.from(bom ? `\uFEFF${text}` : text, 'utf16le');
      return { ok: true, bytes: encoding === 'utf-16le' ? le : le.swap16() };
    }
    case 'windows-1252': {
      const table = cp1252Table();
      const out = Buffer.allocUnsafe(text.length);
      for (let i = 0; i < text.length; i++) {
        const b = table.get(text.charCodeAt(i));
        if (b === undefined) {
          const cp = text.codePointAt(i)!;
          return { ok: false, reason: `the fixed text has ${codePointName(cp)} '${String.fromCodePoint(cp)}' (${lineCol(text, i)}), which Windows-1252, the file's encoding, cannot represent` };
        }
        out[i] = b;
      }
      return { ok: true, bytes: out };
    }
  }
}

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

function decodeUtf16(buf: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): string | undefined {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(buf.subarray(2));
  } catch {
    return undefined;
  }
}

export type CheckedSource = { ok: true; bom: boolean; start: number; encoding: SourceEncoding; text?: string } | { ok: false; reason: string };

/**
 * {@link decodeSource}'s checks, decoding only what is not UTF-8: the reason the bytes are not
 * analysable text, or the encoding and where the text starts (after a byte order mark). For
 * UTF-8 the bytes from `start` on are exactly the UTF-8 encoding of the decoded text, so they
 * can be hashed in its place; other encodings come with their decoded `text`.
 */
export function checkSource(buf: Uint8Array): CheckedSource {
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) {
    const encoding = buf[0] === 0xff ? 'utf-16le' : 'utf-16be';
    const text = decodeUtf16(buf, encoding);
    if (text === undefined) return { ok: false, reason: `not valid ${ENCODING_LABELS[encoding]} (it starts with a ${ENCODING_LABELS[encoding]} byte order mark)` };
    if (text.includes('\0')) return { ok: false, reason: `binary file (NUL character in ${ENCODING_LABELS[encoding]} text)` };
    return { ok: true, bom: true, start: 2, encoding, text };
  }
  const sniff = buf.subarray(0, BINARY_SNIFF_BYTES);
  if (sniff.includes(0)) return { ok: false, reason: 'binary file (NUL byte in the first 8 KB)' };
  const bom = buf.length >= 3 && buf[0] === UTF8_BOM[0] && buf[1] === UTF8_BOM[1] && buf[2] === UTF8_BOM[2];
  const start = bom ? 3 : 0;
  // Native check first (fast); the JS scan only runs to name the offending byte.
  if (isUtf8(buf.subarray(start))) return { ok: true, bom, start, encoding: 'utf-8' };
  if (bom) {
    const bad = firstInvalidUtf8(buf, start);
    return { ok: false, reason: `not valid UTF-8 although it starts with a UTF-8 byte order mark (invalid byte 0x${buf[bad].toString(16).padStart(2, '0')} on line ${lineOfOffset(buf, bad)})` };
  }
  if (buf.includes(0)) return { ok: false, reason: 'binary file (not UTF-8, and a NUL byte)' };
  return { ok: true, bom: false, start: 0, encoding: 'windows-1252', text: decodeWindows1252(buf) };
}

/** Decodes file bytes, or gives the reason they are not analysable text. */
export function decodeSource(buf: Uint8Array): ReadOutcome {
  const checked = checkSource(buf);
  if (!checked.ok) return checked;
  const { start, bom, encoding } = checked;
  const text = checked.text ?? Buffer.from(buf.buffer, buf.byteOffset + start, buf.length - start).toString('utf8');
  return { ok: true, text, bom, encoding };
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

type BytesOutcome = { ok: true; bytes: Buffer } | { ok: false; reason: string };

// The decisions of both read paths (`readSourceFileBytes`, `readSourceFileBytesSync`), which
// differ only in their I/O.

/** The first look at the path (the stat, or the open) failed. */
function notReached(err: unknown): { ok: false; reason: string } {
  const code = (err as NodeJS.ErrnoException).code;
  return { ok: false, reason: code === 'ENOENT' ? 'no such file or directory (removed during the scan, or a broken symbolic link)' : describeFsError(err) };
}

/** A later step (open, fstat, read) failed. */
function failed(err: unknown): { ok: false; reason: string } {
  return { ok: false, reason: describeFsError(err) };
}

/** Why a file with these stats is not read: not a regular file, or over the size limit. */
function statProblem(st: fs.Stats, maxBytes: number): { ok: false; reason: string } | undefined {
  if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
  return sizeProblem(st.size, maxBytes);
}

function sizeProblem(size: number, maxBytes: number): { ok: false; reason: string } | undefined {
  return size > maxBytes ? { ok: false, reason: `file is ${formatKb(size)}, over the ${formatKb(maxBytes)} limit (maxFileSizeKb)` } : undefined;
}

/** The bytes read: over the limit when the file grew after its stat. */
function bytesRead(buf: Buffer, maxBytes: number): BytesOutcome {
  return sizeProblem(buf.length, maxBytes) ?? { ok: true, bytes: buf };
}

/** The bytes of a file, with {@link readSourceFile}'s checks except the decoding. */
export async function readSourceFileBytes(filePath: string, maxBytes: number): Promise<BytesOutcome> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(fsPath(filePath));
  } catch (err) {
    return notReached(err);
  }
  const problem = statProblem(st, maxBytes);
  if (problem) return problem;
  let handle: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: if the file was swapped for a FIFO since the stat, opening must not hang.
    handle = await fs.promises.open(fsPath(filePath), fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return failed(err);
  }
  try {
    return statProblem(await handle.stat(), maxBytes) ?? bytesRead(await handle.readFile(), maxBytes);
  } catch (err) {
    return failed(err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * {@link readSourceFileBytes}, synchronously: for worker threads (and the main thread of a
 * `--jobs 0` scan, which yields between files), where a file's five round trips through
 * libuv's thread pool cost more than the reads themselves.
 */
export function readSourceFileBytesSync(filePath: string, maxBytes: number): BytesOutcome {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO (or a file swapped for one) must not hang the open.
    fd = fs.openSync(fsPath(filePath), fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return notReached(err);
  }
  try {
    return statProblem(fs.fstatSync(fd), maxBytes) ?? bytesRead(fs.readFileSync(fd), maxBytes);
  } catch (err) {
    return failed(err);
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/**
 * Writes fixed text back in the encoding it was read in, restoring the byte order mark the
 * file had. Throws (writing nothing) when the text has a character that encoding cannot
 * represent; the message says which and where.
 */
export async function writeSourceFile(filePath: string, text: string, bom: boolean, encoding: SourceEncoding = 'utf-8'): Promise<void> {
  const encoded = encodeSource(text, encoding, bom);
  if (!encoded.ok) throw new Error(`${encoded.reason}; the file was left unchanged`);
  await fs.promises.writeFile(fsPath(filePath), encoded.bytes);
}
