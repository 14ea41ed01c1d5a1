/**
 * The raw records the TypeScript/JavaScript walk collects for what it cannot decide on the
 * spot: calls, blocking calls, registrations, library calls and `new Worker(…)` wait here
 * until the whole file's imports and functions are known, then become facts (or nothing).
 */
import type { Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import type { BlockingApi, HotContext } from '../../knowledge/typescript-heartbeat';
import type { TsFactBase } from './fact-types';
import type { CalleeRef } from './syntax';

export interface RawCall {
  node: Node;
  /** `base.range` is filled from this node when the call resolves. */
  base: TsFactBase;
  rangeNode?: Node;
  ref: CalleeRef;
  isRef: boolean;
  isNew?: boolean;
  /** The class of the method the call sits in (for `this.m()`). */
  cls?: string;
}

export interface RawBlocking {
  node: Node;
  base: TsFactBase;
  /** The APIs the callee's name may be (the built-in one, or the user's of that name); the first whose module the file binds it to wins. */
  apis: readonly BlockingApi[];
  /** Called on a receiver (`x.name()`), not as a bare name. */
  method: boolean;
  callee: Node;
  /** The identifier/namespace the call goes through (to rule out workspace wrappers). */
  via?: string;
  asyncFn: boolean;
  loop?: { range: Range; label: string };
}

export interface RawRegister {
  base: TsFactBase;
  context: HotContext;
  api: string;
  arg: Node;
  cls?: string;
  /** A `setInterval`/`setTimeout` timer: may turn out to be a heartbeat. */
  timer?: { api: string; holder?: string };
}

export interface RawLibCall {
  node: Node;
  base: TsFactBase;
  ref: CalleeRef | { kind: 'require'; specifier: string; prop?: string };
  isNew: boolean;
}

/** `new Worker(…)` (or a user's thread starter), resolved once the file's imports are known. */
export interface RawWorker {
  node: Node;
  base: TsFactBase;
  /** The constructor or function name as written (`Worker`, `WorkerPool`). */
  name: string;
  isNew: boolean;
}
