// The logs source: one collection at a time finds files, reads them and hands out their chunks.

import type { FileHandle } from 'node:fs/promises';
import { ACCESS_FORMATS, type AccessInfo } from '../log-parsers.ts';
import type { LogsOptions } from '../sources/logs.ts';
import type { LogChunk, RawSample, Source, SourceContext, SourceDeps } from '../types.ts';
import { AccessMetrics } from './access-metrics.ts';
import { CheckpointStore } from './checkpoint.ts';
import { emit, emitReplayed, undoPass, type ChunkContext } from './chunks.ts';
import { discover, forgetCheckpoint } from './discovery.ts';
import {
  LogsSourceError,
  errorCode,
  warnOnce,
  type Pass,
  type TailState,
  type TrackedFile,
} from './state.ts';
import { hashOf, readAt, readMore, readRange, seek } from './tail.ts';

/** First bytes looked at for NUL (binary) and hashed to recognise a file. */
const BINARY_PROBE_BYTES = 4096;
const HEAD_BYTES = 1024;
/** Chunks handed out and not committed, per file, before reading it pauses. */
const MAX_PENDING_CHUNKS = 256;

export class LogsSource implements Source {
  readonly name: string;
  readonly type = 'logs';
  readonly #state: TailState;
  readonly #metrics: AccessMetrics | undefined;
  readonly #rotateWaitMs: number;
  readonly #chunks: ChunkContext;
  #loaded: Promise<void> | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #reported = false;

  constructor(options: LogsOptions, deps: SourceDeps) {
    this.name = deps.name;
    const logger = deps.logger.child({ module: 'logs-source', source: deps.name });
    const m = options.multiline;
    this.#state = {
      options,
      logger,
      store: new CheckpointStore(deps.stateDir, logger),
      multiline: m && {
        pattern: new RegExp(m.start_pattern),
        maxLines: m.max_lines,
        timeoutMs: m.timeout.ms,
      },
      excludes: options.exclude.map((p) => (p.startsWith('/') ? p : `**/${p}`)),
      tracked: new Map(),
      warned: new Set(),
      scanned: false,
      dirty: false,
    };
    this.#metrics =
      ACCESS_FORMATS.has(options.format) && options.access_log.metrics
        ? new AccessMetrics(options.access_log.route_label, options.access_log.buckets)
        : undefined;
    this.#rotateWaitMs = options.rotate_wait.ms;
    this.#chunks = {
      name: this.name,
      store: this.#state.store,
      parse: options,
      markDirty: () => {
        this.#state.dirty = true;
      },
    };
  }

  collect(ctx: SourceContext): Promise<{ samples: RawSample[]; logChunks: LogChunk[] }> {
    // One collection at a time, even if the agent gave up waiting for the one before.
    const run = this.#busy.then(() => this.#collect(ctx));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#busy;
    for (const file of this.#state.tracked.values())
      await file.handle?.close().catch(() => undefined);
    this.#state.tracked.clear();
    if (this.#loaded) await this.#state.store.save().catch(() => undefined);
  }

  async #collect(ctx: SourceContext): Promise<{ samples: RawSample[]; logChunks: LogChunk[] }> {
    this.#loaded ??= this.#state.store.load();
    try {
      await this.#loaded;
    } catch (err) {
      this.#loaded = undefined;
      throw new LogsSourceError(
        `read log checkpoints in ${this.#state.store.dir}: ${errorCode(err)}`,
      );
    }
    const now = ctx.now();
    await discover(this.#state, ctx, now);
    const pass: Pass = { now, undo: { files: new Map(), added: [] }, requests: [], chunks: [] };
    for (const file of [...this.#state.tracked.values()]) {
      if (ctx.signal.aborted) break;
      pass.undo.files.set(file, { emitOffset: file.emitOffset, replay: [...file.replay] });
      try {
        await this.#readFile(file, pass);
      } catch (err) {
        warnOnce(this.#state, `read:${file.key}`, { path: file.path, err }, 'cannot read log file');
      }
    }
    if (!ctx.signal.aborted && this.#state.dirty) {
      this.#state.dirty = false;
      await this.#state.store.save().catch((err: unknown) => {
        this.#state.dirty = true;
        this.#state.logger.warn({ err }, 'cannot write log checkpoints');
      });
    }
    if (ctx.signal.aborted) {
      undoPass(pass.undo);
      throw new LogsSourceError('read log files: timed out');
    }
    await this.#closeDrained();
    return { samples: this.#samples(pass.requests), logChunks: pass.chunks };
  }

  /** Counters as they were before this collection the first time, so the agent sees a zero. */
  #samples(requests: AccessInfo[]): RawSample[] {
    if (!this.#metrics) return [];
    const first = this.#reported ? undefined : this.#metrics.samples();
    this.#reported = true;
    for (const request of requests) this.#metrics.observe(request);
    return first ?? this.#metrics.samples();
  }

  // ------------------------------------------------------------ reading

  async #readFile(file: TrackedFile, pass: Pass): Promise<void> {
    const handle = file.handle;
    if (!handle) return;
    const size = (await handle.stat()).size;
    // Every time, not only when the size changed: a copytruncate can bring back the same size.
    const head = await this.#probeHead(file, handle, size);
    if (head === 'binary') return;
    if (head === 'changed') this.#truncated(file, pass);
    const lastPending = file.replay[file.replay.length - 1];
    if (size < file.readOffset || (lastPending && lastPending.end > size))
      this.#truncated(file, pass);
    while (file.replay.length > 0) {
      const range = file.replay[0]!;
      const groups = await readRange(file, handle, range, this.#state.options.max_read_bytes.bytes);
      file.replay.shift();
      emitReplayed(this.#chunks, file, groups, range, pass);
    }
    if (file.checkpoint!.pending.length >= MAX_PENDING_CHUNKS) {
      // The agent is not committing: stop reading rather than pile up chunks (and state).
      warnOnce(
        this.#state,
        `pending:${file.key}`,
        { path: file.path },
        'log chunks not committed; waiting',
      );
      return;
    }
    this.#state.warned.delete(`pending:${file.key}`);
    const maxReadBytes = this.#state.options.max_read_bytes.bytes;
    const groups = await readMore(
      file,
      handle,
      size,
      pass.now,
      maxReadBytes,
      this.#state.multiline,
    );
    const expired = file.goneSince !== undefined && pass.now - file.goneSince >= this.#rotateWaitMs;
    if (expired && file.readOffset >= size) {
      // Gone for good and read to the end: its last line needs no newline now.
      const last = file.lines.flush(file.readOffset);
      if (last) groups.push(...file.records.push(last, pass.now));
      const open = file.records.flush();
      if (open) groups.push(open);
      file.closing = true;
    }
    emit(this.#chunks, file, groups, pass);
  }

  /** Checks the head for NUL bytes and for a change (truncated, or a new file on the inode). */
  async #probeHead(
    file: TrackedFile,
    handle: FileHandle,
    size: number,
  ): Promise<'ok' | 'binary' | 'changed'> {
    const checkpoint = file.checkpoint!;
    const probing = file.probed < BINARY_PROBE_BYTES;
    const head = await readAt(handle, 0, Math.min(size, probing ? BINARY_PROBE_BYTES : HEAD_BYTES));
    if (probing && head.includes(0)) {
      warnOnce(this.#state, `binary:${file.key}`, { path: file.path }, 'skipping binary file');
      file.binary = true;
      file.handle = undefined;
      await handle.close();
      forgetCheckpoint(this.#state, checkpoint);
      this.#state.dirty = true;
      return 'binary';
    }
    file.probed = Math.max(file.probed, head.length);
    const known = checkpoint.headLen;
    const changed =
      known > 0 && (head.length < known || hashOf(head.subarray(0, known)) !== checkpoint.headHash);
    const headLen = changed ? 0 : known;
    if (headLen < HEAD_BYTES && head.length > headLen) {
      checkpoint.headLen = Math.min(head.length, HEAD_BYTES);
      checkpoint.headHash = hashOf(head.subarray(0, checkpoint.headLen));
      this.#state.dirty = true;
    }
    return changed ? 'changed' : 'ok';
  }

  /** The file was truncated (or copytruncated): finish the record in hand and start over. */
  #truncated(file: TrackedFile, pass: Pass): void {
    this.#state.logger.info({ path: file.path }, 'log file truncated; reading it from the start');
    const open = file.records.flush();
    emit(this.#chunks, file, open ? [open] : [], pass);
    file.replay = [];
    seek(file, 0);
  }

  async #closeDrained(): Promise<void> {
    for (const file of [...this.#state.tracked.values()]) {
      if (!file.closing) continue;
      this.#state.tracked.delete(file.key);
      this.#state.warned.delete(`read:${file.key}`);
      await file.handle?.close().catch(() => undefined);
      const checkpoint = file.checkpoint!;
      checkpoint.closed = true;
      if (checkpoint.pending.length === 0) forgetCheckpoint(this.#state, checkpoint);
      this.#state.dirty = true;
    }
  }
}
