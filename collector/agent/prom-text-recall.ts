// A per-slot cache of strings read from a prom-text body, so repeated names and values are shared.

/**
 * Strings read from the body, one per slot (a label's index in its line). Lines of a family
 * repeat their names and most label values: a repeat is recognised with one slice and a native
 * comparison instead of a scan character by character, and its string is shared by the samples.
 */
export class Recall {
  private readonly text: string;
  private readonly strings: string[] = [];
  private readonly raws: string[] = [];

  constructor(text: string) {
    this.text = text;
  }

  /** The length of the slot's raw text when the body repeats it at start, else -1. */
  repeatAt(slot: number, start: number, end: number): number {
    const raw = this.raws[slot];
    if (raw === undefined) return -1;
    const length = raw.length;
    if (start + length > end || this.text.slice(start, start + length) !== raw) return -1;
    return length;
  }

  /** The string of the slot (after repeatAt found it). */
  last(slot: number): string {
    return this.strings[slot]!;
  }

  /** Keeps value, read from the raw text at [start, end), as the slot's string. */
  remember(slot: number, start: number, end: number, value: string): void {
    if (slot >= 64) return;
    this.strings[slot] = value;
    this.raws[slot] = value.length === end - start ? value : this.text.slice(start, end);
  }

  clear(): void {
    this.raws.length = 0;
  }
}
