// The agent's write-ahead spool: every batch is written to disk before it is published and
// removed once JetStream acknowledged it, so an outage or a restart loses nothing. Bounded in
// bytes: past the bound the oldest batches are dropped, and counted.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.ts';

export interface SpoolEntry {
  readonly seq: number;
  readonly id: string;
  readonly subject: string;
  readonly samples: number;
  readonly bytes: number;
}

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  /** fdatasync each batch before it counts as spooled (a power cut then loses nothing). */
  fsync: boolean;
  logger: Logger;
  /** Called for every batch dropped to keep within maxBytes. */
  onDrop?: (entry: SpoolEntry) => void;
}

const SUFFIX = '.batch';

function fileName(seq: number): string {
  return `${String(seq).padStart(16, '0')}${SUFFIX}`;
}

/** File layout: one JSON header line (id, subject, samples), then the payload bytes. */
function encode(
  entry: { id: string; subject: string; samples: number },
  payload: Uint8Array,
): Buffer {
  const header = Buffer.from(
    `${JSON.stringify({ id: entry.id, subject: entry.subject, samples: entry.samples })}\n`,
  );
  return Buffer.concat([header, payload]);
}

function decode(data: Buffer): {
  header: { id: string; subject: string; samples: number };
  payload: Uint8Array;
} {
  const newline = data.indexOf(10);
  if (newline < 0) throw new Error('no header line');
  const header = JSON.parse(data.subarray(0, newline).toString('utf8')) as {
    id: string;
    subject: string;
    samples: number;
  };
  if (typeof header.id !== 'string' || typeof header.subject !== 'string')
    throw new Error('bad header');
  return { header, payload: data.subarray(newline + 1) };
}

export class Spool {
  readonly #options: SpoolOptions;
  readonly #entries: SpoolEntry[] = [];
  #nextSeq = 1;
  #bytes = 0;
  #waiters: Array<() => void> = [];

  private constructor(options: SpoolOptions) {
    this.#options = options;
  }

  /** Opens the spool dir and indexes what an earlier run left, oldest first. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).filter((n) => n.endsWith(SUFFIX)).sort();
    for (const name of names) {
      const path = join(options.dir, name);
      try {
        const data = await readFile(path);
        const { header } = decode(data);
        const seq = Number(name.slice(0, -SUFFIX.length));
        spool.#entries.push({
          seq,
          id: header.id,
          subject: header.subject,
          samples: header.samples,
          bytes: data.length,
        });
        spool.#bytes += data.length;
        spool.#nextSeq = Math.max(spool.#nextSeq, seq + 1);
      } catch (err) {
        // A batch cut short by a crash mid-write never finished spooling: it was not handed off.
        options.logger.warn(
          { file: name, err: (err as Error).message },
          'spool: removing an unreadable batch file',
        );
        await rm(path, { force: true });
      }
    }
    // Leftover temp files from a crash during a write.
    for (const name of (await readdir(options.dir)).filter((n) => n.endsWith('.tmp'))) {
      await rm(join(options.dir, name), { force: true });
    }
    return spool;
  }

  get length(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Writes one batch; it is durable (and ordered after every earlier one) when this resolves. */
  async append(
    entry: { id: string; subject: string; samples: number },
    payload: Uint8Array,
  ): Promise<SpoolEntry> {
    const seq = this.#nextSeq++;
    const data = encode(entry, payload);
    const final = join(this.#options.dir, fileName(seq));
    const temp = `${final}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      if (this.#options.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, final);
    const spooled: SpoolEntry = {
      seq,
      id: entry.id,
      subject: entry.subject,
      samples: entry.samples,
      bytes: data.length,
    };
    this.#entries.push(spooled);
    this.#bytes += data.length;
    await this.#enforceBound();
    for (const wake of this.#waiters.splice(0)) wake();
    return spooled;
  }

  /** The oldest `n` entries, in order. */
  head(n: number): SpoolEntry[] {
    return this.#entries.slice(0, n);
  }

  async payload(entry: SpoolEntry): Promise<Uint8Array> {
    return decode(await readFile(join(this.#options.dir, fileName(entry.seq)))).payload;
  }

  /** Removes a published entry. */
  async remove(entry: SpoolEntry): Promise<void> {
    const index = this.#entries.findIndex((e) => e.seq === entry.seq);
    if (index < 0) return;
    this.#entries.splice(index, 1);
    this.#bytes -= entry.bytes;
    await rm(join(this.#options.dir, fileName(entry.seq)), { force: true });
  }

  /** Resolves when the spool holds something (at once if it already does). */
  async waitForData(signal?: AbortSignal): Promise<void> {
    if (this.#entries.length > 0 || signal?.aborted) return;
    // The signal lives as long as the agent: its listener goes when the wait ends, else one
    // would pile up per wait.
    let onAbort: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      onAbort = () => resolve();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }

  async #enforceBound(): Promise<void> {
    // The newest batch always stays, even alone over the bound: dropping it would drop data
    // we could still send.
    while (this.#bytes > this.#options.maxBytes && this.#entries.length > 1) {
      const oldest = this.#entries[0]!;
      await this.remove(oldest);
      this.#options.onDrop?.(oldest);
    }
  }

  /** Size on disk, for checks. */
  static async sizeOf(dir: string): Promise<number> {
    let total = 0;
    for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
    return total;
  }
}
