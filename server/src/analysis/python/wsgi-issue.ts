/**
 * What the WSGI response analysis (`wsgi.ts`) reports: an issue of one of its shapes, the steps
 * that lead to it, and the fixes offered.
 */
import type { Fix } from '../../text/edits';
import type { Range } from '../../text/locations';

export type WsgiIssueKind = 'double-wrap' | 'iterated' | 'dropped' | 'lost-in-wrapper' | 'close-after-loop' | 'close-not-in-finally' | 'wrong-object' | 'closed-if-truthy';

export interface WsgiStep {
  range: Range;
  message: string;
}

export interface WsgiIssue {
  kind: WsgiIssueKind;
  range: Range;
  message: string;
  steps: WsgiStep[];
  fixes: Fix[];
}
