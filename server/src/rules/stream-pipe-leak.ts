/**
 * stream-pipe-leak: `src.pipe(dest)` from a stream that owns a file descriptor, with
 * nothing that destroys `src` when `dest` errors or closes early — one leaked descriptor
 * per aborted download (the Node shape of incident 3). The analysis lives in
 * `analysis/typescript/pipes.ts`; this file owns the rule's identity and its wording.
 */
import type { FileContext, RawFinding, Rule } from './rule';
import type { RelatedLocation } from '../text/locations';
import { analyzeTypeScriptPipes, type PipeLeak } from '../analysis/typescript/pipes';

/** The one-line message: the source, the destination(s), what goes wrong. */
export function pipeLeakMessage(leak: PipeLeak): string {
  const what = leak.variable ? `Read stream '${leak.variable}' from ${leak.api}()` : `The read stream from ${leak.api}()`;
  const labels = leak.links.map((l) => l.destLabel);
  const last = labels[labels.length - 1];
  const through = labels.length > 1 ? ` through ${labels.slice(0, -1).join(', ')}` : '';
  const who = labels.length > 1 ? 'any of them' : last;
  const it = leak.variable ? `'${leak.variable}'` : 'the stream';
  return `${what} is piped${through} into ${last} with .pipe(): if ${who} errors or closes early, nothing destroys ${it} and its file descriptor leaks`;
}

function evidence(path: string, leak: PipeLeak): RelatedLocation[] {
  const out: RelatedLocation[] = [{ path, range: leak.openRange, message: `opened here by ${leak.api}(); only ending or destroying the stream closes its descriptor` }];
  for (const s of leak.steps ?? []) out.push({ path, range: s.range, message: s.message });
  leak.links.forEach((l, i) => {
    const final = i === leak.links.length - 1;
    out.push({
      path,
      range: l.range,
      message: final ? `piped into ${l.destLabel} here; .pipe() does not destroy the source when ${l.destLabel} fails` : `piped into ${l.destLabel} here`,
    });
  });
  out.push({
    path,
    range: leak.dest.range,
    message: leak.dest.declared
      ? `${leak.dest.label} is declared here; an error or early close on it is not passed back to the source`
      : `an error or early close on ${leak.dest.label} is not passed back to the source`,
  });
  return out;
}

export const streamPipeLeak: Rule = {
  meta: {
    id: 'stream-pipe-leak',
    family: 'LEAK',
    languages: ['typescript'],
    defaultSeverity: 'warning',
    summary: 'A file stream is piped with .pipe(), which leaks its descriptor when the destination fails or closes early.',
    fixes: ['unsafe'],
    tags: ['CWE-775', 'CWE-404'],
  },
  checkFile(ctx: FileContext): RawFinding[] {
    return analyzeTypeScriptPipes(ctx.tree, ctx.text, ctx.path).map((leak) => ({
      ruleId: 'stream-pipe-leak',
      path: ctx.path,
      range: leak.range,
      message: pipeLeakMessage(leak),
      related: evidence(ctx.path, leak),
      fixes: leak.fixes,
    }));
  },
};
