/**
 * Contract between the per-language handle-lifetime analysers (`analysis/<lang>/handles.ts`)
 * and the `unreleased-file` rule. Plain data only.
 */
import type { Fix } from '../text/edits';
import type { Range } from '../text/locations';
import { nodeRange, type Node, type Tree } from '../parsing/parser';
import type { Knowledge } from '../knowledge/knowledge';

/** Where and how a handle escapes release. */
export type LeakKind =
  /** an explicit `return` (C, Python, TS) reached with the handle open */
  | 'return'
  /** falling off the end of the owning function/module block */
  | 'end'
  /** an exception/throw leaves the owner while the handle is open */
  | 'raise'
  /** C `goto` to an error label whose code path does not release it */
  | 'goto'
  /** the variable is overwritten (often in a loop) while still holding the handle */
  | 'overwrite'
  /** the handle is never bound to anything (`open(p).read()`) and so never closed */
  | 'unbound'
  /** C: released by the wrong call (`fclose()` on a `popen()` stream, `close()` on a `DIR *`) */
  | 'wrong-release'
  /** kept in an object's field that the object's own release method never releases */
  | 'owner-keeps';

export interface HandleLeak {
  /** The name the handle is held in, e.g. `f`, `fd`, `this.x` is never reported (escape). `''` when unbound. */
  variable: string;
  /** The producing API as written, e.g. `open`, `fopen`, `fs.openSync`, `socket.socket`. */
  api: string;
  /** Range of the producing call expression (the finding's primary range). */
  openRange: Range;
  /** Range of the statement where the handle is lost (the return, the raising call, the closing brace, ...). */
  leakRange: Range;
  leakKind: LeakKind;
  /** 1-based line of the leak, for the message. */
  leakLine: number;
  /** Extra evidence between open and leak (e.g. "branch taken here"), optional. */
  steps?: { range: Range; message: string }[];
  /** For `owner-keeps`: the method that releases the object but not this field (`Log.close`). */
  owner?: string;
  /** For `wrong-release`: the call used and the one the opener's handle needs. */
  wrongRelease?: { used: string; expected: string; reason: string };
  /** Quick fixes, already computed against the analysed text. */
  fixes: Fix[];
}

/** A language front end: the whole file's tree and text in, every leak found out. */
/**
 * `path` tells JavaScript from TypeScript (fixes write no type syntax into JavaScript);
 * `knowledge` holds the opener and release tables (default: the built-in ones).
 */
export type HandleAnalyzer = (tree: Tree, text: string, path?: string, knowledge?: Knowledge) => HandleLeak[];

/**
 * A handle held in an object's field (`self.f`, `this.fd`) that a later store replaces while
 * it is still open: the leak at the second store, optionally with the step that explains it.
 */
export function fieldOverwriteLeak(field: { variable: string; api: string; call: Node }, second: Node, message?: string): HandleLeak {
  const range = nodeRange(second);
  return {
    variable: field.variable,
    api: field.api,
    openRange: nodeRange(field.call),
    leakRange: range,
    leakKind: 'overwrite',
    leakLine: range.start.line + 1,
    ...(message ? { steps: [{ range, message }] } : {}),
    fixes: [],
  };
}

/**
 * A handle held in an object's field that the owner's release method (`releaser`, a method
 * definition) never releases: the leak at that method's name, `owner` naming `Class.method`.
 */
export function ownerKeepsLeak(field: { variable: string; api: string; call: Node }, releaser: Node, owner: string): HandleLeak {
  const range = nodeRange(releaser.childForFieldName('name') ?? releaser);
  return {
    variable: field.variable,
    api: field.api,
    openRange: nodeRange(field.call),
    leakRange: range,
    leakKind: 'owner-keeps',
    leakLine: range.start.line + 1,
    owner,
    fixes: [],
  };
}
