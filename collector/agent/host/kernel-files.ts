// Helpers shared by the host readers: bounded kernel file reads, number parsing, sample shapes.

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { RawSample } from '../types.ts';

/** A kernel file larger than this is cut at its last whole line (a host with huge mount tables). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export const counter = (
  name: string,
  value: number,
  labels: Record<string, string> = {},
): RawSample => ({
  name,
  labels,
  value,
  type: 'counter',
});
export const gauge = (
  name: string,
  value: number,
  labels: Record<string, string> = {},
): RawSample => ({
  name,
  labels,
  value,
  type: 'gauge',
});

/** A decimal number, or undefined: Number() would take "", "0x1f" and "1e400" too. */
export function num(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

export function fields(line: string): string[] {
  return line.trim().split(/\s+/);
}

/** Reads a kernel file; undefined when it is missing or unreadable, so its series are absent. */
export async function readKernelFile(
  path: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  signal.throwIfAborted();
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO in place of a file must not block the open until a writer comes.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    signal.throwIfAborted();
    return undefined;
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      size += bytesRead;
      if (size >= MAX_FILE_BYTES) {
        truncated = true;
        break;
      }
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return truncated ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  } catch {
    signal.throwIfAborted();
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Drops repeated series (a garbage file may list cpu0 twice): the first one wins. */
export function dedupe(samples: RawSample[]): RawSample[] {
  const seen = new Set<string>();
  return samples.filter((sample) => {
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
