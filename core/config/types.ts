// Value types of the config whose text is kept for printing: durations and byte sizes.

import { formatDuration } from '../units.ts';

/** A parsed duration: `ms` for the code, the text as written for `halo config check`. */
export class Duration {
  constructor(
    readonly ms: number,
    readonly text: string = formatDuration(ms),
  ) {}
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** A parsed byte size. */
export class ByteSize {
  constructor(
    readonly bytes: number,
    readonly text: string = String(bytes),
  ) {}
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}
