/**
 * The stack of open constructs during the Python fact walk (scopes, conditions, loops, the
 * main guard) and what it says about the node being visited: its scope, its flags, the
 * loop, branches and guards around it. Answers are memoised on the top frame.
 */
import type { Range } from '../../text/locations';
import type { Node } from '../../parsing/parser';
import type { Flags, LoopCtx, Scope } from './walk-records';


export interface Frame {
  until: number;
  scope?: Scope;
  cond?: boolean;
  main?: boolean;
  typeOnly?: boolean;
  /** An `except` clause. */
  handler?: boolean;
  loop?: LoopCtx;
  /** The condition/guard expression of a conditional (to tell lazy caches). */
  guard?: Node;
  /** A branching construct: code under it may not run. */
  branch?: Range;
  /** A `for`/`while` loop (its range). */
  loopRange?: Range;
  /** An `elif` whose condition is the guard (looked up only when a guard is needed). */
  guardOf?: Node;
  /** An `if`/`elif` branch whose condition tests for another platform (unset until asked). */
  otherPlatform?: boolean;
  /** What the walk derives from the frames while this one is on top (null: none). */
  memoScope?: Scope;
  memoFlags?: Flags;
  memoLoop?: LoopCtx | null;
  memoBranches?: Range[];
  memoLoops?: Range[] | null;
}

export class FrameStack {
  readonly frames: Frame[] = [];

  constructor(private readonly module: Scope) {
    this.frames.push({ until: 0, scope: module });
  }

  /**
   * What the frames say about the current node, memoised on the top frame (the frames
   * under it do not change while it is on top).
   */
  curScope(): Scope {
    const top = this.frames[this.frames.length - 1];
    return (top.memoScope ??= this.scope());
  }

  curFlags(): Flags {
    const top = this.frames[this.frames.length - 1];
    return (top.memoFlags ??= this.flags());
  }

  curLoop(): LoopCtx | undefined {
    const top = this.frames[this.frames.length - 1];
    if (top.memoLoop === undefined) top.memoLoop = this.loop() ?? null;
    return top.memoLoop ?? undefined;
  }

  curBranches(): Range[] {
    const top = this.frames[this.frames.length - 1];
    return (top.memoBranches ??= this.branches());
  }

  curLoops(): Range[] | undefined {
    const top = this.frames[this.frames.length - 1];
    if (top.memoLoops === undefined) top.memoLoops = this.loopRanges() ?? null;
    return top.memoLoops ?? undefined;
  }

  private scope(): Scope {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const s = this.frames[i].scope;
      if (s) return s;
    }
    return this.module;
  }

  private flags(): Flags {
    const f: Flags = {};
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.main) f.main = true;
      if (fr.typeOnly) f.typeOnly = true;
      if (fr.scope) break;
      if (fr.cond) f.cond = true;
      if (fr.handler) f.handler = true;
    }
    // The main guard sits at module level; a class body inside it still counts.
    if (!f.main) for (const fr of this.frames) if (fr.main) f.main = true;
    return f;
  }

  private loop(): LoopCtx | undefined {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.loop) return fr.loop;
      if (fr.scope) return undefined;
    }
    return undefined;
  }

  private branches(): Range[] {
    const out: Range[] = [];
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.branch) out.push(fr.branch);
      if (fr.scope) break;
    }
    return out;
  }

  /** Ranges of the `for`/`while` loops around the current node in its scope, innermost first. */
  private loopRanges(): Range[] | undefined {
    let out: Range[] | undefined;
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.loopRange) (out ??= []).push(fr.loopRange);
      if (fr.scope) break;
    }
    return out;
  }

  guards(): Node[] {
    const out: Node[] = [];
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const fr = this.frames[i];
      if (fr.guardOf) {
        fr.guard = fr.guardOf.childForFieldName('condition') ?? undefined;
        fr.guardOf = undefined;
      }
      if (fr.guard) out.push(fr.guard);
      if (fr.scope) break;
    }
    return out;
  }
}
