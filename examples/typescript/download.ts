import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Leaks the FileHandle when stat() throws or the file is empty. */
export async function firstBytes(path: string): Promise<Buffer | null> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  if (size === 0) return null;
  const buf = Buffer.alloc(Math.min(size, 16));
  await fh.read(buf, 0, buf.length, 0);
  await fh.close();
  return buf;
}

/** The corrected version: the handle is closed on every path. */
export async function firstBytesFixed(path: string): Promise<Buffer | null> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return null;
    const buf = Buffer.alloc(Math.min(size, 16));
    await fh.read(buf, 0, buf.length, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

/** The stream (and its fd) is dropped when the name is rejected. */
export function sendFile(path: string, res: ServerResponse): void {
  const stream = createReadStream(path);
  if (path.includes('..')) {
    res.statusCode = 400;
    res.end();
    return;
  }
  stream.pipe(res);
}
