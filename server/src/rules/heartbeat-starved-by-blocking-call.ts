/**
 * heartbeat-starved-by-blocking-call: the Node analogue of incident 4 (nova-api's
 * RabbitMQ heartbeat stopped because nothing ran it between requests). In Node a heartbeat
 * driven by the event loop — a `setInterval` that pings, an amqplib/mqtt/socket.io/kafkajs
 * connection — runs only when the loop is free; a synchronous call on a hot path (a request
 * or message handler, an interval, a long-running loop) holds the loop, and a long one makes
 * the peer drop the connection.
 *
 * The program model (`model/typescript.ts`) finds the programs, what runs after start-up and
 * the heartbeat; this file words the findings and offers the fixes.
 */
import * as nodePath from 'node:path';
import type { ProgramContext } from '../model/program-context';
import type { RawFinding, Rule } from './rule';
import type { Fix } from '../text/edits';
import type { RelatedLocation } from '../text/locations';
import { typescriptModel, type TsEvent, type TsStarvedHeartbeat, type TsStep } from '../model/typescript';

const RULE_ID = 'heartbeat-starved-by-blocking-call';

/** `line 12` in the same file, else the path relative to the finding's directory and the line. */
function where(e: TsEvent, relativeTo: string): string {
  return whereAt(e.module.path, e.fact.range.start.line, relativeTo);
}

function whereAt(path: string, line0: number, relativeTo: string): string {
  const line = line0 + 1;
  if (path === relativeTo) return `line ${line}`;
  const shown = nodePath.relative(nodePath.dirname(nodePath.resolve(relativeTo)), nodePath.resolve(path));
  return `${shown.split(nodePath.sep).join('/')}:${line}`;
}

function place(s: TsStarvedHeartbeat): string {
  if (s.reason.kind === 'loop') return `a long-running loop (${s.reason.loop.label})`;
  const r = s.reason.register.fact;
  const what = r.context === 'request' ? 'a request handler' : r.context === 'message' ? 'a message handler' : 'a timer callback';
  return `${what} (${r.api})`;
}

function message(s: TsStarvedHeartbeat): string {
  const b = s.blocking.fact;
  const what = b.category === 'busy-wait' ? 'A busy-wait loop' : b.api;
  const hb = s.heartbeat;
  const at = s.blocking.module.path;
  const beat = hb.installed
    ? `${hb.fact.api} of the installed package ${hb.installed.package} at ${where(hb, at)}, for the connection set up at ${whereAt(hb.installed.anchor.path, hb.installed.anchor.range.start.line, at)}: ${hb.installed.note}`
    : `${hb.fact.api} at ${where(hb, at)}: ${hb.fact.note}`;
  return `${what} blocks the event loop in ${place(s)} of a program whose heartbeat runs on the same loop (${beat}); while it runs no heartbeat is sent and the peer may drop the connection`;
}

function sameSite(a: TsStep, b: TsStep): boolean {
  return a.path === b.path && a.range.start.line === b.range.start.line && a.range.start.character === b.range.start.character;
}

function same(a: TsStep, b: TsStep): boolean {
  return a.path === b.path && a.message === b.message && a.range.start.line === b.range.start.line && a.range.start.character === b.range.start.character;
}

/**
 * Heartbeat start, back up its import chain to where it meets the blocking call's chain, then
 * the shared start (the entry point), then down to the handler registration and the calls
 * that reach the blocking call. A keep-alive inside an installed package starts with the
 * workspace code that sets up the connection, then the package's timer.
 */
function chain(s: TsStarvedHeartbeat): RelatedLocation[] {
  const a = s.heartbeat.chain;
  const b = s.blocking.chain;
  let common = 0;
  // Shared steps are the same sites (the words differ: the heartbeat's chain says which callee
  // arms the keep-alive, the blocking call's which callee blocks); they are shown once, as the
  // blocking call's chain words them.
  while (common < a.length && common < b.length && sameSite(a[common], b[common])) common++;
  const hb = s.heartbeat;
  const out: RelatedLocation[] = hb.installed
    ? [
        { ...hb.installed.anchor },
        { path: hb.module.path, range: hb.fact.range, message: `keep-alive timer of the installed package ${hb.installed.package} started here (${hb.fact.api})` },
      ]
    : [{ path: hb.module.path, range: hb.fact.range, message: `heartbeat started here (${hb.fact.api})` }];
  for (let i = a.length - 1; i >= common; i--) if (!hb.installed || !sameSite(a[i], hb.installed.anchor)) out.push({ ...a[i] });
  for (let i = 0; i < common; i++) out.push({ ...b[i] });
  for (let i = common; i < b.length; i++) out.push({ ...b[i] });
  if (s.reason.kind === 'loop') out.push({ path: s.blocking.module.path, range: s.reason.loop.range, message: `long-running loop here (${s.reason.loop.label})` });
  const f = s.blocking.fact;
  out.push({ path: s.blocking.module.path, range: f.range, message: `blocks the event loop here (${f.category === 'busy-wait' ? 'busy wait' : f.api})` });
  const deduped: RelatedLocation[] = [];
  for (const r of out) if (!deduped.some((d) => same(d, r))) deduped.push(r);
  return deduped;
}

function fixes(s: TsStarvedHeartbeat): Fix[] {
  const out: Fix[] = [];
  const f = s.blocking.fact;
  if (f.fix) out.push({ title: f.fix.title, applicability: 'unsafe', edits: f.fix.edits });
  out.push({
    title: s.heartbeat.installed
      ? `Move the blocking work to a worker_threads Worker (or use the asynchronous API): the keep-alive timer of ${s.heartbeat.installed.package} runs on this event loop`
      : 'Run the heartbeat in a worker_threads Worker, which has its own event loop that blocking calls here cannot hold',
    applicability: 'display-only',
    edits: [],
  });
  return out;
}

export const heartbeatStarvedByBlockingCall: Rule = {
  meta: {
    id: RULE_ID,
    family: 'HEARTBEAT',
    languages: ['typescript'],
    defaultSeverity: 'warning',
    summary: 'A synchronous call on a hot path holds the event loop that a heartbeat or keep-alive of the same program needs.',
    fixes: ['unsafe', 'display-only'],
    tags: ['CWE-400', 'CWE-667'],
  },
  checkProgram(ctx: ProgramContext): RawFinding[] {
    if (!ctx.files.some((f) => f.language === 'typescript')) return [];
    return typescriptModel(ctx).starved.map((s) => ({
      ruleId: RULE_ID,
      path: s.blocking.module.path,
      range: s.blocking.fact.range,
      message: message(s),
      related: chain(s),
      fixes: fixes(s),
    }));
  },
};
