/**
 * Shared test helpers: inline-expectation parsing for fixture files (Semgrep-style
 * annotations on the line before the target) and grammar loading.
 */
import { loadAllGrammars } from '../server/src/parsing/parser';

export const ANNOTATION = /(?:#|\/\/|\/\*)\s*(ruleid|ok|todoruleid):\s*([\w-]+(?:\s*,\s*[\w-]+)*)/;

export interface Expectation {
  kind: 'ruleid' | 'ok' | 'todoruleid';
  ruleId: string;
  /** Zero-based line the expectation is about: the next line that is not itself an annotation. */
  line: number;
  /** Zero-based line of the annotation comment. */
  annotationLine: number;
}

export function parseExpectations(text: string): Expectation[] {
  const lines = text.split('\n');
  const out: Expectation[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = ANNOTATION.exec(lines[i]);
    if (!m) continue;
    let target = i + 1;
    while (target < lines.length && ANNOTATION.test(lines[target]) && lines[target].trim().match(/^(#|\/\/|\/\*)/)) target++;
    for (const id of m[2].split(',').map((s) => s.trim())) {
      out.push({ kind: m[1] as Expectation['kind'], ruleId: id, line: target, annotationLine: i });
    }
  }
  return out;
}

let grammars: Promise<void> | undefined;
export function grammarsReady(): Promise<void> {
  grammars ??= loadAllGrammars();
  return grammars;
}
