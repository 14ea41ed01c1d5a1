/**
 * URIs ⇄ the paths the engine works with. File URIs become absolute file-system paths (as the
 * scanner reports them, with bytes that are not UTF-8 kept: `text/file-names.ts`); other
 * schemes keep the URI string as their "path".
 */
import * as path from 'node:path';
import { fileUriOf, pathOfFileUri } from '../text/file-names';

export function uriToPath(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return pathOfFileUri(uri);
    } catch {
      return uri;
    }
  }
  return uri;
}

export function pathToUri(p: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) && !path.isAbsolute(p)) return p;
  return fileUriOf(p);
}

/** A path in the form `ignore` expects: relative, forward slashes; undefined when outside `root`. */
export function relativePosix(root: string, p: string): string | undefined {
  const rel = path.relative(root, p);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/** Two URIs name the same file (VS Code and Node spell drive letters and escapes differently). */
export function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  const pa = uriToPath(a);
  const pb = uriToPath(b);
  return process.platform === 'win32' ? pa.toLowerCase() === pb.toLowerCase() : pa === pb;
}
