/**
 * wsgi-response-not-closed: WSGI code that loses the `close()` duty of PEP 3333 — a
 * `wsgi.file_wrapper` applied to a response that may already be wrapped (incident 3: Bottle's
 * `_cast()` re-wrapping a mounted application's response under uWSGI), middleware that iterates
 * or replaces the inner response without closing it (or closes it outside `finally`),
 * generators that close what they own only after full iteration, close() looked up on
 * `iter(x)` instead of `x`, and close() forwarded only when the response is truthy. The
 * analysis lives in `analysis/python/wsgi.ts`.
 */
import type { FileContext, RawFinding, Rule } from './rule';
import { analyzeWsgi } from '../analysis/python/wsgi';

export const wsgiResponseNotClosed: Rule = {
  meta: {
    id: 'wsgi-response-not-closed',
    family: 'LEAK',
    languages: ['python'],
    defaultSeverity: 'warning',
    summary: "A WSGI response's close() is lost: wrapped twice by wsgi.file_wrapper, dropped by middleware, skipped when a generator is closed early or the body raises, or looked up on the wrong object.",
    fixes: ['safe', 'unsafe', 'display-only'],
    tags: ['CWE-775', 'CWE-404'],
  },
  checkFile(ctx: FileContext): RawFinding[] {
    if (ctx.language !== 'python') return [];
    return analyzeWsgi(ctx.tree, ctx.text).map((issue) => ({
      ruleId: 'wsgi-response-not-closed',
      path: ctx.path,
      range: issue.range,
      message: issue.message,
      related: issue.steps.map((s) => ({ path: ctx.path, range: s.range, message: s.message })),
      fixes: issue.fixes,
    }));
  },
};
