// The state the parts of the logs source share: settings, checkpoints, tracked files, warnings.

import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../../../core/logger.ts';
import type { AccessInfo } from '../log-parsers.ts';
import type { LogsOptions } from '../sources/logs.ts';
import type { LogChunk } from '../types.ts';
import type { Checkpoint, CheckpointStore, Range } from './checkpoint.ts';
import type { LineSplitter } from './line-splitter.ts';
import type { Multiline, RecordAssembler } from './records.ts';

export class LogsSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogsSourceError';
  }
}

export interface TrackedFile {
  key: string;
  dev: number;
  ino: number;
  path: string;
  handle: FileHandle | undefined;
  binary: boolean;
  /** Bytes of the head already checked for NUL. */
  probed: number;
  /** Next byte to read; ahead of emitOffset by the lines of an unfinished record. */
  readOffset: number;
  /** End of the last chunk handed out. */
  emitOffset: number;
  lines: LineSplitter;
  records: RecordAssembler;
  /** Ranges handed out by an earlier run and not committed: read again first, as they were. */
  replay: Range[];
  goneSince: number | undefined;
  closing: boolean;
  checkpoint: Checkpoint | undefined;
}

/** What a collection changed, to undo it when the collection is abandoned. */
export interface Undo {
  files: Map<TrackedFile, { emitOffset: number; replay: Range[] }>;
  added: Array<{ checkpoint: Checkpoint; range: Range }>;
}

/** One collection: its clock, what to undo, the requests seen and the chunks made. */
export interface Pass {
  now: number;
  undo: Undo;
  requests: AccessInfo[];
  chunks: LogChunk[];
}

/** The source's settings and what it keeps between collections. */
export interface TailState {
  readonly options: LogsOptions;
  readonly logger: Logger;
  readonly store: CheckpointStore;
  readonly multiline: Multiline | undefined;
  /** The exclude globs, anchored: one without a leading / matches at any depth. */
  readonly excludes: string[];
  readonly tracked: Map<string, TrackedFile>;
  /** Keys of the warnings logged, so each is logged once until its cause goes away. */
  readonly warned: Set<string>;
  /** Whether the globs were listed once: files found then are there "at the first start". */
  scanned: boolean;
  /** The checkpoints changed and must be saved. */
  dirty: boolean;
}

export const errorCode = (err: unknown) =>
  (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));

export function warnOnce(
  state: TailState,
  key: string,
  fields: Record<string, unknown>,
  message: string,
): void {
  if (state.warned.has(key)) return;
  state.warned.add(key);
  state.logger.warn(fields, message);
}
