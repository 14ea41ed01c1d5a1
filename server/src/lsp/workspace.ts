/** The client's workspace folders, kept current through `didChangeWorkspaceFolders`. */
import type { WorkspaceFolder } from 'vscode-languageserver';
import { relativePosix, uriToPath } from './paths';

export interface Folder {
  uri: string;
  name: string;
  path: string;
}

export class WorkspaceFolders {
  private folders: Folder[] = [];

  set(folders: readonly WorkspaceFolder[]): void {
    this.folders = folders.map((f) => ({ uri: f.uri, name: f.name, path: uriToPath(f.uri) }));
  }

  add(added: readonly WorkspaceFolder[], removed: readonly WorkspaceFolder[]): void {
    const gone = new Set(removed.map((f) => f.uri));
    this.folders = this.folders.filter((f) => !gone.has(f.uri));
    for (const f of added) {
      if (!this.folders.some((known) => known.uri === f.uri)) this.folders.push({ uri: f.uri, name: f.name, path: uriToPath(f.uri) });
    }
  }

  list(): readonly Folder[] {
    return this.folders;
  }

  /** The innermost folder holding `path`, and the path relative to it (posix). */
  folderOf(path: string): { folder: Folder; relative: string } | undefined {
    let best: { folder: Folder; relative: string } | undefined;
    for (const folder of this.folders) {
      const relative = relativePosix(folder.path, path);
      if (relative !== undefined && (!best || folder.path.length > best.folder.path.length)) best = { folder, relative };
    }
    return best;
  }
}
