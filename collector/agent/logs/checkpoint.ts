// Checkpoints: per file identity, the committed offset and the pending ranges, in one JSON file.

import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../core/logger.ts';

export interface Range {
  start: number;
  end: number;
}

export interface Checkpoint {
  path: string;
  /** Bytes before this offset are published. */
  committed: number;
  /** Ranges handed out and not yet committed, in order; read again after a restart. */
  pending: Range[];
  /** A hash of the first headLen bytes, to tell a truncated or reused file. */
  headLen: number;
  headHash: string;
  /** The file is closed: the entry goes once its pending ranges are committed. */
  closed: boolean;
}

const STATE_FILE = 'logs-checkpoints.json';

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Checkpoints by file identity ("dev:ino") in one JSON file, replaced atomically. */
export class CheckpointStore {
  readonly entries = new Map<string, Checkpoint>();
  /**
   * Whether an earlier run left a state file, and when it last wrote it: the file's mtime, from
   * the same (coarse) kernel clock as the birth times it is compared with.
   */
  existed = false;
  savedAt = 0;
  #chain: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
      this.savedAt = (await stat(file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.existed = true;
    try {
      const state = JSON.parse(text) as { files?: Record<string, unknown> };
      for (const [key, value] of Object.entries(state.files ?? {})) {
        const checkpoint = toCheckpoint(value);
        if (checkpoint && /^\d+:\d+$/.test(key)) this.entries.set(key, checkpoint);
      }
    } catch (err) {
      this.logger.warn({ err }, 'log checkpoints unreadable; starting without them');
    }
  }

  /** Writes the current entries; calls made while a write waits share it. */
  save(): Promise<void> {
    if (this.#queued) return this.#queued;
    const run = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#write();
    });
    this.#queued = run;
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #write(): Promise<void> {
    const files: Record<string, unknown> = {};
    for (const [key, c] of this.entries) {
      files[key] = {
        path: c.path,
        committed: c.committed,
        pending: c.pending.map((r) => [r.start, r.end]),
        head_len: c.headLen,
        head_hash: c.headHash,
      };
    }
    const file = join(this.dir, STATE_FILE);
    const tmp = `${file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ v: 1, files }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    await syncDir(this.dir);
  }
}

function toCheckpoint(value: unknown): Checkpoint | undefined {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || typeof v['path'] !== 'string') return undefined;
  if (!isCount(v['committed']) || !isCount(v['head_len']) || typeof v['head_hash'] !== 'string')
    return undefined;
  const pending = Array.isArray(v['pending']) ? v['pending'] : [];
  const ranges = pending
    .filter((r): r is [number, number] => Array.isArray(r) && isCount(r[0]) && isCount(r[1]))
    .map(([start, end]) => ({ start, end }));
  return {
    path: v['path'],
    committed: v['committed'],
    pending: ranges,
    headLen: v['head_len'],
    headHash: v['head_hash'],
    closed: false,
  };
}

/** Makes a rename durable; some file systems cannot sync a folder, which is fine. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/** Pending ranges that can still be read again: those after the last truncation. */
export function replayable(pending: Range[]): Range[] {
  let from = 0;
  for (let i = 1; i < pending.length; i++) {
    if (pending[i]!.start < pending[i - 1]!.end) from = i;
  }
  return pending.slice(from);
}
