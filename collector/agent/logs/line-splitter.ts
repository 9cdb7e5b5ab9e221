// Splits the bytes of a file into lines with their byte ranges, cutting over-long lines.

/** One complete line and the bytes it covers, newline included. */
export interface RawLine {
  start: number;
  end: number;
  text: string;
  truncated: boolean;
}

/** Drops a character cut in two at the end, so a cut line still decodes cleanly. */
function trimPartialChar(bytes: Buffer): Buffer {
  let i = bytes.length - 1;
  while (i > 0 && i > bytes.length - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return bytes;
  const lead = bytes[i]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + size > bytes.length ? bytes.subarray(0, i) : bytes;
}

function decode(bytes: Buffer): string {
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  // NUL runs come from a writer that kept its offset over a copytruncate: holes, not text.
  return text.includes('\0') ? text.replace(/\0+/g, '') : text;
}

/** Splits the bytes of a file into lines, keeping at most maxBytes of a line in memory. */
export class LineSplitter {
  #start = 0;
  #parts: Buffer[] = [];
  #kept = 0;
  #dropped = false;

  constructor(
    readonly maxBytes: number,
    offset: number,
  ) {
    this.reset(offset);
  }

  reset(offset: number): void {
    this.#start = offset;
    this.#parts = [];
    this.#kept = 0;
    this.#dropped = false;
  }

  /** The complete lines in bytes read at `offset`, which must follow what was pushed before. */
  push(buf: Buffer, offset: number): RawLine[] {
    const lines: RawLine[] = [];
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      if (this.#kept === 0 && !this.#dropped && nl - from <= this.maxBytes) {
        const end = offset + nl + 1;
        lines.push({
          start: this.#start,
          end,
          text: decode(buf.subarray(from, nl)),
          truncated: false,
        });
        this.#start = end;
      } else {
        this.#keep(buf.subarray(from, nl));
        lines.push(this.#take(offset + nl + 1));
      }
      from = nl + 1;
    }
    this.#keep(buf.subarray(from));
    return lines;
  }

  /** The partial line as a line of its own: only for a file that grows no more. */
  flush(end: number): RawLine | undefined {
    return end > this.#start ? this.#take(end) : undefined;
  }

  #keep(bytes: Buffer): void {
    const room = this.maxBytes - this.#kept;
    if (bytes.length > room) this.#dropped = true;
    const part = bytes.subarray(0, Math.max(0, room));
    if (part.length === 0) return;
    this.#parts.push(Buffer.from(part));
    this.#kept += part.length;
  }

  #take(end: number): RawLine {
    const bytes = Buffer.concat(this.#parts);
    const line = {
      start: this.#start,
      end,
      text: decode(this.#dropped ? trimPartialChar(bytes) : bytes),
      truncated: this.#dropped,
    };
    this.reset(end);
    return line;
  }
}
