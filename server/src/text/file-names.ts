/**
 * File names as text: names whose bytes are not UTF-8, and names with characters that would
 * break a line-based report.
 *
 * Node gives file names as strings decoded from UTF-8, with U+FFFD for every byte that is not
 * UTF-8, so such a name cannot be opened again ("no such file"). Paths here keep those bytes
 * the way Python's `surrogateescape` does (PEP 383): a byte 0x80–0xFF that is not part of a
 * UTF-8 sequence becomes the lone surrogate U+DC80–U+DCFF. A valid UTF-8 name never decodes to
 * a lone surrogate, so the form is unambiguous and reversible without any table, and it
 * crosses worker threads as a plain string. {@link fsPath} turns such a path back into the
 * bytes to give to `fs`; {@link shownPath} writes a path for a terminal, with escapes.
 */

import * as nodePath from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Lone surrogates U+DC80–U+DCFF: escaped bytes 0x80–0xFF. */
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** A name read from the file system as bytes → its text, escaping the bytes that are not UTF-8. */
export function nameFromBytes(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.every((b) => b < 0x80)) return buf.toString('latin1');
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const length = utf8SequenceLength(buf, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + buf[i]);
      i++;
    } else {
      out += buf.toString('utf8', i, i + length);
      i += length;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (1–4), or 0 when the byte there starts none. */
function utf8SequenceLength(buf: Uint8Array, i: number): number {
  const b = buf[i];
  if (b < 0x80) return 1;
  let need: number;
  let min: number;
  if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
  else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
  else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
  else return 0;
  let cp = b & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const c = buf[i + k];
    if (c === undefined || (c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  return need + 1;
}

/** Does this path hold bytes that are not UTF-8 (escaped by {@link nameFromBytes})? */
export function hasEscapedBytes(p: string): boolean {
  return ESCAPED_BYTE.test(p);
}

/** The bytes of a path, escaped bytes restored. */
export function pathBytes(p: string): Buffer {
  if (!hasEscapedBytes(p)) return Buffer.from(p, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    const lone = c >= 0xdc80 && c <= 0xdcff && !(i > 0 && p.charCodeAt(i - 1) >= 0xd800 && p.charCodeAt(i - 1) <= 0xdbff);
    if (!lone) {
      run += p[i];
      continue;
    }
    if (run) parts.push(Buffer.from(run, 'utf8'));
    run = '';
    parts.push(Buffer.of(c - 0xdc00));
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** What to give `fs` for a path: the string itself, or its bytes when it holds escaped bytes. */
export function fsPath(p: string): string | Buffer {
  return hasEscapedBytes(p) ? pathBytes(p) : p;
}

/** A path returned by `fs` as bytes (`{ encoding: 'buffer' }`) → the form used everywhere else. */
export function pathFromFs(p: string | Buffer): string {
  return typeof p === 'string' ? p : nameFromBytes(p);
}

/**
 * Characters a path may hold that would break or disguise a line of a terminal report: C0 and
 * C1 controls and DEL (a newline in a name starts a new report line), Unicode line and
 * paragraph separators, bidirectional controls (they reorder what is shown), lone surrogates
 * (escaped bytes and others), and the quote and backslash that the escaped form itself uses.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NEEDS_QUOTING = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"\\]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/**
 * A path for a line of text (the terminal report, messages, GitHub annotations): unchanged when
 * it is plain; otherwise in double quotes with C escapes, as git shows such names:
 * `"new\nline.py"`, `"caf\xe9.py"` (a byte that is not UTF-8), `"\u202eevil.py"`.
 */
export function shownPath(p: string): string {
  if (!NEEDS_QUOTING.test(p)) return p;
  let out = '"';
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    const c = p.charCodeAt(i);
    const next = p.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      // A well-formed surrogate pair (an emoji, say) is shown as it is.
      out += p.slice(i, i + 2);
      i++;
    } else if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else if (NEEDS_QUOTING.test(ch)) out += c < 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * The `file:` URI of an absolute path. A path with escaped bytes gets each segment's bytes
 * percent-encoded (RFC 3986), so the URI names the same file (`pathToFileURL` would turn those
 * bytes into U+FFFD); other paths go through `pathToFileURL`.
 */
export function fileUriOf(filePath: string): string {
  if (!hasEscapedBytes(filePath)) return pathToFileURL(filePath).href;
  return `file://${filePath.split(nodePath.sep).map(uriSegment).join('/')}`;
}

/** One path segment of a URI: its bytes percent-encoded (RFC 3986), escaped bytes included. */
export function uriSegment(segment: string): string {
  if (!hasEscapedBytes(segment)) return encodeURIComponent(segment);
  let out = '';
  for (const b of pathBytes(segment)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The path of a `file:` URI, its percent-encoded bytes that are not UTF-8 kept as escaped
 * bytes ({@link fileUriOf}'s inverse on POSIX); `fileURLToPath` otherwise, and on Windows.
 */
export function pathOfFileUri(uri: string): string {
  if (process.platform !== 'win32' && /%[89A-Fa-f][0-9A-Fa-f]/.test(uri)) {
    const url = new URL(uri);
    if (url.host === '') {
      const bytes: number[] = [];
      const raw = url.pathname;
      for (let i = 0; i < raw.length; i++) {
        if (raw[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
          bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(...Buffer.from(raw[i], 'utf8'));
      }
      return nameFromBytes(Uint8Array.from(bytes));
    }
  }
  return fileURLToPath(uri);
}