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
  api: BlockingApi;
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

/** `new Worker(…)`, resolved once the file's `worker_threads` imports are known. */
export interface RawWorker {
  node: Node;
  base: TsFactBase;
}
