/**
 * The file watchers the server registers (`workspace/didChangeWatchedFiles`, dynamic
 * registration): every supported source file, the project files the program model reads,
 * `.gitignore` files (which decide what is indexed) and every `.hazard-lens.json` (the
 * configuration, the project's and nested ones).
 */
import type { FileSystemWatcher } from 'vscode-languageserver';
import { CONFIG_FILE_NAME } from '../engine/config';
import { PROJECT_FILE_EXTENSIONS, PROJECT_FILE_NAMES, PROJECT_METADATA_DIR_SUFFIXES } from '../model/program-context';
import { SUPPORTED_EXTENSIONS } from '../parsing/parser';

function alternatives(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `{${items.join(',')}}`;
}

/** Glob patterns, e.g. `**\/*.{c,h,py,pyi,wsgi,ts,mts,cts,tsx}`. */
export function watchedGlobs(): string[] {
  const strip = (ext: string) => ext.replace(/^\./, '');
  return [
    `**/*.${alternatives(SUPPORTED_EXTENSIONS.map(strip))}`,
    `**/${alternatives(PROJECT_FILE_NAMES)}`,
    `**/*.${alternatives(PROJECT_FILE_EXTENSIONS.map(strip))}`,
    `**/*.${alternatives(PROJECT_METADATA_DIR_SUFFIXES.map(strip))}/entry_points.txt`,
    '**/.gitignore',
    `**/${CONFIG_FILE_NAME}`,
  ];
}

export function fileWatchers(): FileSystemWatcher[] {
  // No `kind`: create, change and delete are all wanted.
  return watchedGlobs().map((globPattern) => ({ globPattern }));
}
