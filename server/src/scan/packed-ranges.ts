/**
 * Analyses parsed with their ranges packed: for the worker that replays Python programs
 * (`worker.ts`), and for the Python facts a scan holds (`scanner.ts`). A fact's `range` is
 * three objects (`{ start: { line, character }, end }`); on the Python standard library they
 * are half of the facts' memory. Here each range written in the usual form is read into a
 * table of numbers instead, the object keeps only its number in the table, and `range` is a
 * getter of its prototype that makes the range object when it is read. By default it keeps it
 * as the object's own property (reading it twice gives the same object, as with plain data);
 * with `keep: false` the object does not keep it (only the last {@link RECENT} ranges made are
 * reused), so that a range read once (the replays read most call facts' ranges for their
 * evidence chains) does not stay in memory with the fact.
 * The facts read the same, as long as nobody lists, copies or assigns their own properties,
 * nor compares ranges by identity — which the program model and the rules never do (they
 * build new facts and steps with `range: f.range`, and compare positions by value).
 */

import type { Range } from '../text/locations';

/** The key that stands for a packed range in the parsed objects (written `"\\u0001range"` in the JSON text). */
const PACKED = '\u0001range';

/** `"range":{"start":{"line":L,"character":C},"end":{"line":L,"character":C}}`, as `JSON.stringify` writes it. */
const RANGE_TEXT = /"range":\{"start":\{"line":(\d+),"character":(\d+)\},"end":\{"line":(\d+),"character":(\d+)\}\}/g;


/** Where an analysis's facts start, and where its language is said to be Python (before that). */
const FACTS = '"facts":[';
const PYTHON = '"language":"python"';
/** What follows an analysis's facts: its handle summary, else its syntax errors (`analyze.ts`). */
const AFTER_FACTS = ['],"handleSummary":', '],"syntaxErrors":'];

/** How many ranges made last are kept when ranges are not kept with their objects (a power of 2). */
const RECENT = 8192;

/** Parses analyses with their ranges packed; one table for all of them. */
export class PackedRanges {
  private numbers = new Int32Array(4 * 1024);
  private count = 0;
  /** The prototype of every object whose range is packed. */
  private readonly proto: object;

  constructor(options: { keep?: boolean } = {}) {
    const numbers = () => this.numbers;
    const keep = options.keep ?? true;
    // Not kept: the ranges made last, by their slot (a range's number modulo the size), so that
    // the replays, which read the same facts' ranges over and over, do not make a new one each time.
    const recent: (Range | undefined)[] = keep ? [] : new Array<Range | undefined>(RECENT);
    const recentIds = keep ? new Int32Array(0) : new Int32Array(RECENT).fill(-1);
    this.proto = Object.create(Object.prototype, {
      range: {
        // Kept, it is the object's own property from the first read on, which hides this getter.
        get(this: Record<string, unknown>): Range {
          const id = this[PACKED] as number;
          const slot = id & (RECENT - 1);
          if (!keep && recentIds[slot] === id) return recent[slot]!;
          const n = numbers();
          const i = 4 * id;
          const range = { start: { line: n[i], character: n[i + 1] }, end: { line: n[i + 2], character: n[i + 3] } };
          if (keep) Object.defineProperty(this, 'range', { value: range, writable: true, enumerable: true, configurable: true });
          else {
            recent[slot] = range;
            recentIds[slot] = id;
          }
          return range;
        },
        configurable: false,
        enumerable: false,
      },
    }) as object;
  }

  /** `JSON.parse(text)`, with every range written in the usual form packed. */
  parse(text: string): unknown {
    const before = this.count;
    const packed = text.replace(RANGE_TEXT, (_all, a: string, b: string, c: string, d: string) => `"\\u0001range":${this.add(+a, +b, +c, +d)}`);
    const value: unknown = JSON.parse(packed);
    if (this.count > before) this.adopt(value);
    return value;
  }

  /**
   * An analysis's JSON text (`JSON.stringify` of a `FileAnalysis`, as a worker sends it) parsed
   * with the ranges of its facts packed, when it is a Python file's; everything else (findings,
   * suppressions, summaries) parsed as plain JSON, so that it can be copied and listed freely.
   */
  parseAnalysis(text: string): unknown {
    const start = text.indexOf(FACTS);
    const language = text.indexOf(PYTHON);
    if (start < 0 || language < 0 || language > start) return JSON.parse(text);
    // The keys after the facts (`analyze.ts` writes them in this order); a key cannot be
    // written this way inside a string (its quotes would be escaped).
    let end = text.indexOf(AFTER_FACTS[0], start);
    if (end < 0) end = text.indexOf(AFTER_FACTS[1], start);
    if (end < 0) return JSON.parse(text);
    const before = this.count;
    const facts = text.slice(start, end).replace(RANGE_TEXT, (_all, a: string, b: string, c: string, d: string) => `"\\u0001range":${this.add(+a, +b, +c, +d)}`);
    const value = JSON.parse(text.slice(0, start) + facts + text.slice(end)) as Record<string, unknown>;
    if (this.count > before) {
      // Only the facts were packed: anything else holding a packed range means the text was
      // not laid out as expected, and it is read again as plain JSON.
      const rest = { ...value, facts: [] };
      if (this.holdsPacked(rest)) return JSON.parse(text);
      this.adopt(value.facts);
    }
    return value;
  }

  /** Some object under `value` holds a packed range. */
  private holdsPacked(value: unknown): boolean {
    return visitPackedHolders(value, () => true);
  }

  private add(a: number, b: number, c: number, d: number): number {
    if (4 * (this.count + 1) > this.numbers.length) {
      const more = new Int32Array(this.numbers.length * 2);
      more.set(this.numbers);
      this.numbers = more;
    }
    const i = 4 * this.count;
    this.numbers[i] = a;
    this.numbers[i + 1] = b;
    this.numbers[i + 2] = c;
    this.numbers[i + 3] = d;
    return this.count++;
  }

  /** Gives every object holding a packed range the prototype that reads it. */
  private adopt(value: unknown): void {
    visitPackedHolders(value, (record) => {
      Object.setPrototypeOf(record, this.proto);
      return false;
    });
  }
}

/**
 * Calls `visit` on each object under `value` (arrays and objects, depth first) that holds a
 * packed range, before going into it; true from `visit` stops the walk, and is returned.
 */
function visitPackedHolders(value: unknown, visit: (record: Record<string, unknown>) => boolean): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (Array.isArray(current)) {
      for (const item of current) if (item !== null && typeof item === 'object') stack.push(item);
    } else if (current !== null && typeof current === 'object') {
      const record = current as Record<string, unknown>;
      if (PACKED in record && visit(record)) return true;
      for (const key in record) {
        const item = record[key];
        if (item !== null && typeof item === 'object') stack.push(item);
      }
    }
  }
  return false;
}
