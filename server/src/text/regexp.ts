/** Text as a literal inside a regular expression (every special character escaped). */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The matches of a pattern whose matches never span lines, run only over the lines that hold
 * one of `words`: the same matches as a run over the whole text, with `offset` the start of
 * the line the match indices count from. Every match must spell one of `words`, and nothing
 * in the pattern may take a newline (`\s`, a negated class without `\n`). A pattern anchored
 * at line starts (`^…` with the `m` flag) tries every offset of a whole text; this looks
 * only at the lines a fast word search finds.
 */
export function* lineLocalMatches(text: string, pattern: RegExp, words: RegExp, within?: readonly (readonly [number, number])[]): Generator<{ m: RegExpMatchArray; offset: number }> {
  // `within`: only the lines that hold a word in one of these stretches `[from, to)` (in order,
  // each searched on its own; a word never reaches across a stretch's ends).
  let done = 0;
  for (const [from, to] of within ?? [[0, text.length]]) {
    const part = from === 0 && to === text.length ? text : text.slice(from, to);
    words.lastIndex = 0;
    for (let w = words.exec(part); w; w = words.exec(part)) {
      const at = from + w.index;
      // (A line holding words in two stretches is read once.)
      if (at < done) continue;
      const start = text.lastIndexOf('\n', at - 1) + 1;
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      pattern.lastIndex = 0;
      for (const m of text.slice(start, end).matchAll(pattern)) yield { m, offset: start };
      done = end;
      words.lastIndex = end - from;
    }
  }
}
