// Chunks: finished records handed out as chunks with stable ids, each range pending until commit.

import { createHash } from 'node:crypto';
import type { LogChunk } from '../types.ts';
import type { Checkpoint, CheckpointStore, Range } from './checkpoint.ts';
import { toRecord, type Group, type RecordOptions } from './records.ts';
import type { Pass, TrackedFile, Undo } from './state.ts';
import { seek } from './tail.ts';

/** A chunk is published as one message: keep it well under NATS's default 1 MiB payload. */
const CHUNK_MAX_RECORDS = 500;
const CHUNK_MAX_BYTES = 256 * 1024;

/** What making chunks needs from the source. */
export interface ChunkContext {
  /** The source's name, the first part of every chunk id. */
  name: string;
  store: CheckpointStore;
  parse: RecordOptions;
  /** The checkpoints changed and must be saved. */
  markDirty(): void;
}

/**
 * Hands out finished records as chunks after emitOffset, each at most CHUNK_MAX_RECORDS
 * records and CHUNK_MAX_BYTES of lines so that one chunk fits one message; each range is
 * recorded as pending before the chunk leaves.
 */
export function emit(ctx: ChunkContext, file: TrackedFile, groups: Group[], pass: Pass): void {
  const checkpoint = file.checkpoint!;
  let from = 0;
  while (from < groups.length) {
    const start = file.emitOffset;
    let to = from + 1;
    while (
      to < groups.length &&
      to - from < CHUNK_MAX_RECORDS &&
      groups[to]!.end - start <= CHUNK_MAX_BYTES
    )
      to++;
    const range = { start, end: groups[to - 1]!.end };
    checkpoint.pending.push(range);
    pass.undo.added.push({ checkpoint, range });
    file.emitOffset = range.end;
    ctx.markDirty();
    pass.chunks.push(chunk(ctx, file, groups.slice(from, to), range, pass));
    from = to;
  }
}

/** A range handed out before a restart goes out again as one chunk, with its old id. */
export function emitReplayed(
  ctx: ChunkContext,
  file: TrackedFile,
  groups: Group[],
  range: Range,
  pass: Pass,
): void {
  const checkpoint = file.checkpoint!;
  if (groups.length > 0) pass.chunks.push(chunk(ctx, file, groups, range, pass));
  else {
    // Only a changed file reads back nothing; the range has nothing left to publish.
    const at = checkpoint.pending.indexOf(range);
    if (at >= 0) checkpoint.pending.splice(at, 1);
  }
}

/** The id is the file, the byte range and a hash of the lines: the same bytes, the same id. */
function chunk(
  ctx: ChunkContext,
  file: TrackedFile,
  groups: Group[],
  range: Range,
  pass: Pass,
): LogChunk {
  const checkpoint = file.checkpoint!;
  const hash = createHash('sha1');
  const records = groups.map((group) => {
    for (const line of group.lines) hash.update(line).update('\n');
    hash.update('\u0000');
    return toRecord(file.path, group, pass, ctx.parse);
  });
  const digest = hash.digest('hex').slice(0, 16);
  let committed = false;
  return {
    id: `${ctx.name}:${file.dev}:${file.ino}:${range.start}-${range.end}:${digest}`,
    records,
    commit: async () => {
      if (committed) return;
      committed = true;
      await commit(ctx.store, checkpoint, file.key, range);
    },
  };
}

async function commit(
  store: CheckpointStore,
  checkpoint: Checkpoint,
  key: string,
  range: Range,
): Promise<void> {
  checkpoint.committed = range.end;
  const at = checkpoint.pending.indexOf(range);
  if (at >= 0) checkpoint.pending.splice(0, at + 1);
  if (checkpoint.closed && checkpoint.pending.length === 0) {
    if (store.entries.get(key) === checkpoint) store.entries.delete(key);
  }
  await store.save();
}

/** Puts read positions back to the last chunk handed out, as if this collection never ran. */
export function undoPass(undo: Undo): void {
  for (const { checkpoint, range } of undo.added) {
    const at = checkpoint.pending.indexOf(range);
    if (at >= 0) checkpoint.pending.splice(at, 1);
  }
  for (const [file, before] of undo.files) {
    file.replay = before.replay;
    file.closing = false;
    seek(file, before.replay[0]?.start ?? before.emitOffset);
  }
}
