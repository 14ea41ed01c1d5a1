/**
 * Analyses parsed with their ranges packed, for the worker that replays Python programs
 * (`worker.ts`). A fact's `range` is three objects (`{ start: { line, character }, end }`);
 * on the Python standard library they are two thirds of the facts' memory. Here each range
 * written in the usual form is read into a table of numbers instead, the object keeps only its
 * number in the table, and `range` is a getter of its prototype that makes the range object
 * the first time it is read and keeps it as the object's own property (reading it twice gives
 * the same object, as with plain data). The facts read the same, as long as nobody lists or copies their own
 * properties — which the program model never does (it builds new facts with `range: f.range`).
 */

import type { Range } from '../text/locations';

/** The key that stands for a packed range in the parsed objects (written `"\\u0001range"` in the JSON text). */
const PACKED = '\u0001range';

/** `"range":{"start":{"line":L,"character":C},"end":{"line":L,"character":C}}`, as `JSON.stringify` writes it. */
const RANGE_TEXT = /"range":\{"start":\{"line":(\d+),"character":(\d+)\},"end":\{"line":(\d+),"character":(\d+)\}\}/g;


/** Parses analyses with their ranges packed; one table for all of them. */
export class PackedRanges {
  private numbers = new Int32Array(4 * 1024);
  private count = 0;
  /** The prototype of every object whose range is packed. */
  private readonly proto: object;

  constructor() {
    const numbers = () => this.numbers;
    this.proto = Object.create(Object.prototype, {
      range: {
        // Made on the first read and kept as the object's own property, which hides this getter.
        get(this: Record<string, unknown>): Range {
          const n = numbers();
          const i = 4 * (this[PACKED] as number);
          const range = { start: { line: n[i], character: n[i + 1] }, end: { line: n[i + 2], character: n[i + 3] } };
          Object.defineProperty(this, 'range', { value: range, writable: true, enumerable: true, configurable: true });
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
    const stack: unknown[] = [value];
    while (stack.length > 0) {
      const current = stack.pop();
      if (Array.isArray(current)) {
        for (const item of current) if (item !== null && typeof item === 'object') stack.push(item);
      } else if (current !== null && typeof current === 'object') {
        const record = current as Record<string, unknown>;
        if (PACKED in record) Object.setPrototypeOf(record, this.proto);
        for (const key in record) {
          const item = record[key];
          if (item !== null && typeof item === 'object') stack.push(item);
        }
      }
    }
  }
}
