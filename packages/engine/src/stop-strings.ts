// Streaming with stop strings: text is released only once it cannot be the start of a stop string, and generation
// ends at the first complete stop string, which is never emitted.

/**
 * Holds back streamed text that could still become a stop string, and reports the first stop string completed;
 * the text before it is released, the stop string never is.
 */
export class StopStringFilter {
  private text = "";
  private emitted = 0;
  private readonly longest: number;

  // Stryker disable all: equivalent mutants (benchmarks/results/mutation/EQUIVALENT.md): `longest` only narrows the
  // search to text that can hold a new stop string; searching from 0 finds the same one.
  constructor(private readonly stops: readonly string[]) {
    this.longest = Math.max(0, ...stops.map((stop) => stop.length));
  }
  // Stryker restore all

  /** Adds decoded text; returns what may be shown now and whether a stop string was completed. */
  push(chunk: string): {
    /** Text that can be shown now. */
    text: string;
    /** True once a stop string is complete: nothing after it will be released. */
    stopped: boolean;
  } {
    this.text += chunk;
    // Stryker disable next-line ConditionalExpression: equivalent (without stop strings the general path releases everything too)
    if (this.stops.length === 0) return { text: this.release(this.text.length), stopped: false };
    // Stryker disable next-line MethodExpression: equivalent (a negative start searches from 0; see the constructor)
    const searchFrom = Math.max(0, this.emitted - this.longest);
    let stopAt = -1;
    for (const stop of this.stops) {
      if (stop.length === 0) continue;
      const index = this.text.indexOf(stop, searchFrom);
      if (index >= 0) stopAt = stopAt < 0 ? index : Math.min(stopAt, index);
    }
    if (stopAt >= 0) return { text: this.release(Math.max(stopAt, this.emitted)), stopped: true };
    return { text: this.release(this.text.length - this.heldBack()), stopped: false };
  }

  /** Releases what was held back (at the end of generation without a stop string). */
  flush(): string {
    return this.release(this.text.length);
  }

  /** All text released so far. */
  get output(): string {
    return this.text.slice(0, this.emitted);
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
  private heldBack(): number {
    let best = 0;
    for (const stop of this.stops) {
      // Stryker disable next-line MethodExpression,ArithmeticOperator,EqualityOperator: equivalent (a prefix as long as the stop string is the stop string, never a suffix here: it would have stopped; length = best finds nothing longer)
      for (let length = Math.min(stop.length - 1, this.text.length); length > best; length--) {
        if (this.text.endsWith(stop.slice(0, length))) {
          best = length;
          break;
        }
      }
    }
    return best;
  }

  private release(end: number): string {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent (end is never below emitted, and end = emitted slices "")
    if (end <= this.emitted) return "";
    const text = this.text.slice(this.emitted, end);
    this.emitted = end;
    return text;
  }
}
