// Tailing: reading a tracked file's bytes into records (new bytes, replayed ranges) and probing it.

import { createHash } from 'node:crypto';
import { readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint, Range } from './checkpoint.ts';
import type { Group, Multiline } from './records.ts';
import type { TrackedFile } from './state.ts';

/** How far back from the end to look for a line start when starting at the end. */
const TAIL_PROBE_BYTES = 64 * 1024;
/** Entries of a folder searched for a rotated file after a restart. */
const MAX_DIR_ENTRIES = 10_000;

export const hashOf = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');

export function seek(file: TrackedFile, offset: number): void {
  file.readOffset = offset;
  file.emitOffset = offset;
  file.lines.reset(offset);
  file.records.clear();
}

/** Reads up to max_read_bytes after readOffset and returns the records it completes. */
export async function readMore(
  file: TrackedFile,
  handle: FileHandle,
  size: number,
  now: number,
  maxReadBytes: number,
  multiline: Multiline | undefined,
): Promise<Group[]> {
  const groups: Group[] = [];
  const length = Math.min(size - file.readOffset, maxReadBytes);
  if (length > 0) {
    const bytes = await readAt(handle, file.readOffset, length);
    for (const line of file.lines.push(bytes, file.readOffset))
      groups.push(...file.records.push(line, now));
    file.readOffset += bytes.length;
  }
  if (multiline && file.records.expired(now)) groups.push(file.records.flush()!);
  return groups;
}

/** Reads a range handed out before a restart exactly as it was: same lines, same records. */
export async function readRange(
  file: TrackedFile,
  handle: FileHandle,
  range: Range,
  maxReadBytes: number,
): Promise<Group[]> {
  seek(file, range.start);
  const groups: Group[] = [];
  while (file.readOffset < range.end) {
    const length = Math.min(range.end - file.readOffset, maxReadBytes);
    const bytes = await readAt(handle, file.readOffset, length);
    if (bytes.length === 0) break;
    for (const line of file.lines.push(bytes, file.readOffset))
      groups.push(...file.records.push(line, 0));
    file.readOffset += bytes.length;
  }
  const last = file.lines.flush(file.readOffset);
  if (last) groups.push(...file.records.push(last, 0));
  const open = file.records.flush();
  if (open) groups.push(open);
  seek(file, range.end);
  return groups;
}

export async function readAt(
  handle: FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled < length ? buffer.subarray(0, filled) : buffer;
}

export async function headMatches(handle: FileHandle, checkpoint: Checkpoint, size: number) {
  if (checkpoint.headLen === 0) return true;
  if (size < checkpoint.headLen) return false;
  const head = await readAt(handle, 0, checkpoint.headLen);
  return hashOf(head) === checkpoint.headHash;
}

/** Where the last complete line ends, so starting at the end never starts mid-line. */
export async function lineStartBefore(handle: FileHandle, size: number): Promise<number> {
  const from = Math.max(0, size - TAIL_PROBE_BYTES);
  const tail = await readAt(handle, from, size - from);
  const nl = tail.lastIndexOf(10);
  return nl === -1 ? size : from + nl + 1;
}

export async function findInode(dir: string, key: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir)).slice(0, MAX_DIR_ENTRIES);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s?.isFile() && `${s.dev}:${s.ino}` === key) return path;
  }
  return undefined;
}
