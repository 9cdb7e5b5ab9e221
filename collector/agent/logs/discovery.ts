// Finding files: what the globs match, by identity; where each starts; rotated files found again.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { glob } from 'tinyglobby';
import type { SourceContext } from '../types.ts';
import { replayable, type Checkpoint } from './checkpoint.ts';
import { LineSplitter } from './line-splitter.ts';
import { RecordAssembler } from './records.ts';
import { LogsSourceError, errorCode, warnOnce, type TailState, type TrackedFile } from './state.ts';
import { findInode, headMatches, lineStartBefore, seek } from './tail.ts';

export async function discover(state: TailState, ctx: SourceContext, now: number): Promise<void> {
  const found = await scan(state, ctx.signal);
  const first = !state.scanned;
  for (const file of state.tracked.values()) {
    const path = found.get(file.key);
    if (path !== undefined) {
      file.path = path;
      if (file.checkpoint) file.checkpoint.path = path;
      file.goneSince = undefined;
    } else if (file.binary) {
      state.tracked.delete(file.key);
      state.warned.delete(`binary:${file.key}`);
    } else {
      file.goneSince ??= now;
    }
  }
  const failures: string[] = [];
  for (const [key, path] of found) {
    if (state.tracked.has(key)) continue;
    const failure = await track(state, path, first ? 'first' : 'later', undefined);
    if (failure) failures.push(failure);
  }
  if (first) await adoptRotated(state, now);
  state.scanned = true;
  if (failures.length > 0 && failures.length === found.size) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    throw new LogsSourceError(`open log file ${failures[0]}${more}`);
  }
}

/** The files the globs match now, by identity. */
async function scan(state: TailState, signal: AbortSignal): Promise<Map<string, string>> {
  let paths: string[];
  try {
    paths = await glob(state.options.paths, {
      cwd: '/',
      absolute: true,
      ignore: state.excludes,
      expandDirectories: false,
      followSymbolicLinks: true,
      signal,
    });
  } catch (err) {
    const reason = signal.aborted ? 'timed out' : errorCode(err);
    throw new LogsSourceError(`list log files: ${reason}`, { cause: err });
  }
  // An aborted crawl may return a partial list, which would make files look rotated away.
  if (signal.aborted) throw new LogsSourceError('list log files: timed out');
  paths.sort();
  const stats = await Promise.all(paths.map((path) => stat(path).catch(() => undefined)));
  const found = new Map<string, string>();
  paths.forEach((path, i) => {
    const s = stats[i];
    if (!s?.isFile()) return;
    const key = `${s.dev}:${s.ino}`;
    if (!found.has(key)) found.set(key, path);
  });
  return found;
}

/**
 * Opens a file and decides where to read it from: its checkpoint, or for a file without one,
 * start_at for files there at the first start and the beginning for files that appeared later.
 * A file adopted from outside the globs is read only to finish its checkpoint.
 * Returns "path: reason" when it cannot be opened.
 */
async function track(
  state: TailState,
  path: string,
  found: 'first' | 'later' | 'adopt',
  goneSince: number | undefined,
): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    warnOnce(state, `open:${path}`, { path, err }, 'cannot open log file');
    return `${path}: ${errorCode(err)}`;
  }
  let s: Awaited<ReturnType<FileHandle['stat']>>;
  try {
    s = await handle.stat();
  } catch (err) {
    await handle.close().catch(() => undefined);
    return `${path}: ${errorCode(err)}`;
  }
  const key = `${s.dev}:${s.ino}`;
  if (!s.isFile() || state.tracked.has(key)) {
    await handle.close();
    return undefined;
  }
  const file: TrackedFile = {
    key,
    dev: s.dev,
    ino: s.ino,
    path,
    handle,
    binary: false,
    probed: 0,
    readOffset: 0,
    emitOffset: 0,
    lines: new LineSplitter(state.options.max_line_bytes.bytes, 0),
    records: new RecordAssembler(state.multiline),
    replay: [],
    goneSince,
    closing: false,
    checkpoint: undefined,
  };
  const saved = state.store.entries.get(key) ?? movedDevice(state, path, s.ino);
  let checkpoint = saved && (await headMatches(handle, saved, s.size)) ? saved : undefined;
  if (!checkpoint && found === 'adopt') {
    await handle.close();
    return undefined;
  }
  if (checkpoint) {
    file.replay = replayable(checkpoint.pending);
    checkpoint.pending = [...file.replay];
  } else {
    const start = await startOffset(state, handle, s, found === 'first');
    checkpoint = { path, committed: start, pending: [], headLen: 0, headHash: '', closed: false };
  }
  forgetCheckpoint(state, saved);
  state.store.entries.set(key, checkpoint);
  state.dirty = true;
  checkpoint.path = path;
  file.checkpoint = checkpoint;
  seek(file, file.replay[0]?.start ?? checkpoint.committed);
  state.tracked.set(key, file);
  return undefined;
}

/** A checkpoint saved under another device number (device numbers can change on reboot). */
function movedDevice(state: TailState, path: string, ino: number): Checkpoint | undefined {
  for (const [key, checkpoint] of state.store.entries) {
    if (checkpoint.path === path && key.endsWith(`:${ino}`) && !state.tracked.has(key))
      return checkpoint;
  }
  return undefined;
}

export function forgetCheckpoint(state: TailState, checkpoint: Checkpoint | undefined): void {
  if (!checkpoint) return;
  for (const [key, c] of state.store.entries) {
    if (c === checkpoint) state.store.entries.delete(key);
  }
}

async function startOffset(
  state: TailState,
  handle: FileHandle,
  s: { size: number; birthtimeMs: number; ctimeMs: number },
  first: boolean,
): Promise<number> {
  if (state.options.start_at === 'beginning' || !first) return 0;
  // A file made while the agent was down is new: its first lines are not old news.
  const born = s.birthtimeMs > 0 ? s.birthtimeMs : s.ctimeMs;
  if (state.store.existed && born >= state.store.savedAt) return 0;
  return lineStartBefore(handle, s.size);
}

/**
 * After a restart, a checkpointed file the globs no longer match may have been rotated to a
 * name they miss (access.log → access.log.1): look for its inode next to where it was, and
 * read what is left. Checkpoints of files that are gone are dropped.
 */
async function adoptRotated(state: TailState, now: number): Promise<void> {
  for (const [key, checkpoint] of [...state.store.entries]) {
    if (state.tracked.has(key)) continue;
    const path = await findInode(dirname(checkpoint.path), key);
    if (path !== undefined) await track(state, path, 'adopt', now);
    if (state.tracked.has(key)) continue;
    if (checkpoint.pending.length > 0) {
      state.logger.warn(
        { path: checkpoint.path, chunks: checkpoint.pending.length },
        'log file gone with uncommitted chunks; what they held and was not yet published is lost',
      );
    }
    forgetCheckpoint(state, checkpoint);
    state.dirty = true;
  }
}
