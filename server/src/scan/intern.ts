/**
 * One copy of each short string across the analyses a scan holds. An analysis that comes from
 * a worker (a structured clone) or from the cache (JSON) carries its own copy of every string —
 * fact kinds (`py.call`), origins (`local`), enclosing functions, callee and module names —
 * where one per distinct text would do: on the Python standard library, 10 strings in 11 are
 * such repeats (issue #17, peak memory). {@link StringInterner.internStrings} swaps, in place,
 * each string value for the first equal one it has seen; the data reads exactly the same.
 */

/** Longer strings (messages, source texts) rarely repeat; they are left as they are. */
const MAX_INTERNED_LENGTH = 200;

export class StringInterner {
  private readonly known = new Map<string, string>();

  /** The first string equal to `text` that this interner saw. */
  intern(text: string): string {
    if (text.length > MAX_INTERNED_LENGTH) return text;
    const seen = this.known.get(text);
    if (seen !== undefined) return seen;
    this.known.set(text, text);
    return text;
  }

  /**
   * Replaces every short string under `value` (property values of plain objects, elements of
   * arrays) with its interned equal, in place, and returns `value`. Plain data only (what an
   * analysis is): no cycles, no class instances with setters.
   */
  internStrings<T>(value: T): T {
    const stack: unknown[] = [value];
    while (stack.length > 0) {
      const current = stack.pop();
      if (Array.isArray(current)) {
        for (let i = 0; i < current.length; i++) {
          const item: unknown = current[i];
          if (typeof item === 'string') current[i] = this.intern(item);
          else if (item !== null && typeof item === 'object') stack.push(item);
        }
      } else if (current !== null && typeof current === 'object') {
        const record = current as Record<string, unknown>;
        for (const key in record) {
          const item = record[key];
          // Always stored: equal strings compare equal, so which copy is held cannot be tested.
          if (typeof item === 'string') record[key] = this.intern(item);
          else if (item !== null && typeof item === 'object') stack.push(item);
        }
      }
    }
    return value;
  }
}
