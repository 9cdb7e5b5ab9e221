// Streams a text import's body through ImportLines: read as it arrives, decoded chunk by chunk,
// cut at line ends, never held whole; paused while the ingesters are behind, cut off past the
// size limit.

import { MAX_LINE_LENGTH } from '../agent/prom-text.ts';
import type { ImportLines } from './import-lines.ts';
import { IntakeError } from './types.ts';

export interface ImportStreamOptions {
  maxBytes: number;
  /** Resolves when the pipeline can take more; called every few MiB. */
  waitWhileBehind: () => Promise<void>;
}

/** The 413 of an import past intake.limits.max_import, declared or streamed. */
export function importTooLarge(maxBytes: number): IntakeError {
  return new IntakeError(
    413,
    `import: the body is larger than intake.limits.max_import (${maxBytes} bytes)`,
  );
}

const CHECK_EVERY_BYTES = 4 * 1024 * 1024;

export async function importStream(
  body: AsyncIterable<Uint8Array>,
  lines: ImportLines,
  options: ImportStreamOptions,
): Promise<void> {
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  /** Inside a line too long to read: dropped up to its newline. */
  let skipping = false;
  let bytes = 0;
  let nextCheck = CHECK_EVERY_BYTES;
  for await (const value of body) {
    bytes += value.byteLength;
    if (bytes > options.maxBytes) {
      throw importTooLarge(options.maxBytes);
    }
    let text = carry + decoder.decode(value, { stream: true });
    carry = '';
    if (skipping) {
      const newline = text.indexOf('\n');
      if (newline < 0) continue;
      skipping = false;
      text = text.slice(newline + 1);
    }
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      carry = text;
    } else {
      await lines.read(text, 0, last + 1);
      carry = text.slice(last + 1);
    }
    if (carry.length > MAX_LINE_LENGTH) {
      lines.bad('line longer than 64 KiB');
      carry = '';
      skipping = true;
    }
    if (bytes >= nextCheck) {
      nextCheck = bytes + CHECK_EVERY_BYTES;
      await options.waitWhileBehind();
    }
  }
  const rest = carry + decoder.decode();
  if (!skipping && rest.length > 0) await lines.read(rest, 0, rest.length);
}
