// The ingester: durable pull consumers on the metrics and logs streams. Batches are validated and
// gathered into large inserts; each insert is journaled with a deduplication token naming its
// messages, and its messages are acked only after it committed. A redelivered message is stored
// again in its journaled group under the same token, so ClickHouse keeps it exactly once. Bad
// batches go to the dead-letter stream with their reason; store errors are retried while the
// batches wait in JetStream.

import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import {
  decodeBatch,
  type BatchLimits,
  type LogBatch,
  type MetricBatch,
} from '../../core/batch.ts';
import { consumerBacklog } from '../../core/bus/streams.ts';
import { deadLetterSubject, STREAMS } from '../../core/conventions.ts';
import { errorMessage, StoreError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import type { Store } from '../../core/store/store.ts';
import { writeLogs, writeSamples, type LogRow, type SampleRow } from '../../core/store/write.ts';
import { batchLimitsOf, type IngestConfig } from './config.ts';
import {
  groupToken,
  journalWatermark,
  lookupGroups,
  recordGroup,
  type JournalEntry,
} from './journal.ts';
import { createIngestMetrics, type IngestMetrics } from './metrics.ts';
import { logRows, sampleRows, SeriesLimiter } from './rows.ts';

type Kind = 'metrics' | 'logs';
const STREAM_OF: Record<Kind, string> = { metrics: STREAMS.metrics, logs: STREAMS.logs };

/** Headers a dead letter carries besides the original payload. */
export const DEAD_LETTER_HEADERS = {
  reason: 'Halo-Reason',
  stream: 'Halo-Stream',
  seq: 'Halo-Seq',
  subject: 'Halo-Subject',
} as const;

/**
 * ClickHouse error codes that say the data itself is wrong: retrying cannot help, so the insert
 * is split and the batch at fault dead-lettered. Everything else (unreachable, table missing,
 * too many parts…) is retried.
 */
const BAD_DATA_CODES = new Set(['6', '26', '27', '38', '41', '53', '69', '70', '72', '117', '131']);

function isBadData(err: unknown): boolean {
  return (
    err instanceof StoreError && err.serverCode !== undefined && BAD_DATA_CODES.has(err.serverCode)
  );
}

/** NATS header values are one line. */
function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 1024);
}

/** Redelivered messages are looked up in the journal together, up to this many or this long. */
const RECOVERY_BATCH = 512;
const RECOVERY_WAIT_MS = 50;
/** Messages a pull asks for at once, and the longest the pull loop works before yielding. */
const PULL_MESSAGES = 256;
const PULL_SLICE_MS = 20;

type Outcome = { stored: true } | { refused: string } | { stopped: true };

/** Thrown by a store step cut short because the ingester stops. */
class Stopping extends Error {}

/** One decoded batch: its rows, and the deliveries of it to ack once they are stored. */
interface Item {
  seq: number;
  subject: string;
  data: Uint8Array;
  rows: SampleRow[] | LogRow[];
  /** Deliveries of this message to this process; none when it was read back from the stream. */
  msgs: JsMsg[];
}

/** Per stream: the insert being gathered, redeliveries waiting for the journal, what is held. */
interface Lane {
  kind: Kind;
  stream: string;
  gathering: Item[];
  gatheringRows: number;
  gatheringBytes: number;
  timer: NodeJS.Timeout | undefined;
  recovering: Item[];
  recoveryTimer: NodeJS.Timeout | undefined;
  /** Messages of this stream held by this process (gathering, recovering or inserting). */
  held: Map<number, Item>;
  /** Sequences up to this may be in the journal even on a first delivery (consumer reset). */
  watermark: number;
}

export interface IngesterOptions {
  nc: NatsConnection;
  store: Store;
  config: IngestConfig;
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

export class Ingester {
  readonly metrics: IngestMetrics;
  readonly #options: IngesterOptions;
  readonly #log: Logger;
  readonly #limits: BatchLimits;
  readonly #limiter: SeriesLimiter;
  readonly #stop = new AbortController();
  /** Inserts, lookups and dead letters under way. */
  readonly #tasks = new Set<Promise<void>>();
  /** Inserts under way (at most config.concurrency), and inserts waiting for a slot. */
  #inserting = 0;
  #queued = 0;
  readonly #slotFreed: Array<() => void> = [];
  readonly #lanes = new Map<Kind, Lane>();
  #jsm: JetStreamManager | undefined;
  #streams: ConsumerMessages[] = [];
  #loops: Promise<void>[] = [];
  #lastErrorLog = 0;

  constructor(options: IngesterOptions) {
    this.#options = options;
    this.#log = options.logger.child({ module: 'ingest' });
    const { limits } = options.config;
    this.#limits = batchLimitsOf(options.config);
    this.#limiter = new SeriesLimiter(limits.series_per_tier);
    this.metrics = createIngestMetrics(options.registry, () => this.pending());
  }

  /** Creates (or updates) the durable consumers and starts pulling. */
  async start(): Promise<void> {
    const { nc, config } = this.#options;
    const jsm = await jetstreamManager(nc);
    this.#jsm = jsm;
    const js = jetstream(nc);
    for (const kind of ['metrics', 'logs'] as const) {
      const stream = STREAM_OF[kind];
      const wanted = {
        durable_name: config.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: config.ack_wait.ms * 1_000_000,
        max_ack_pending: config.max_ack_pending,
        max_deliver: -1,
      };
      const existing = await jsm.consumers.info(stream, config.consumer).catch(() => undefined);
      if (!existing) await jsm.consumers.add(stream, wanted);
      else if (
        existing.config.ack_wait !== wanted.ack_wait ||
        existing.config.max_ack_pending !== wanted.max_ack_pending
      ) {
        await jsm.consumers.update(stream, config.consumer, {
          ack_wait: wanted.ack_wait,
          max_ack_pending: wanted.max_ack_pending,
        });
      }
      const lane: Lane = {
        kind,
        stream,
        gathering: [],
        gatheringRows: 0,
        gatheringBytes: 0,
        timer: undefined,
        recovering: [],
        recoveryTimer: undefined,
        held: new Map(),
        watermark: await this.#retry('read the journal', () =>
          journalWatermark(this.#options.store, stream),
        ),
      };
      this.#lanes.set(kind, lane);
    }
    // Every consumer is ready before any message flows: a busy pull must not delay the set-up.
    const consumers = [];
    for (const lane of this.#lanes.values())
      consumers.push({ lane, consumer: await js.consumers.get(lane.stream, config.consumer) });
    for (const { lane, consumer } of consumers) {
      const messages = await consumer.consume({ max_messages: PULL_MESSAGES });
      this.#streams.push(messages);
      this.#loops.push(this.#pull(lane, messages));
    }
    this.#log.info(
      { consumer: config.consumer, concurrency: config.concurrency },
      'ingester started',
    );
  }

  /** Batches waiting in each stream for this consumer (not yet delivered, or not yet acked). */
  async pending(): Promise<Record<string, number>> {
    const jsm = await jetstreamManager(this.#options.nc);
    const out: Record<string, number> = {};
    for (const stream of Object.values(STREAM_OF)) {
      const backlog = await consumerBacklog(jsm, stream, this.#options.config.consumer);
      if (backlog !== undefined) out[stream] = backlog;
    }
    return out;
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => {
      if (err instanceof Stopping) return;
      this.#log.error(
        { err: errorMessage(err) },
        'batch handling failed; the batches will be delivered again',
      );
    });
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }

  async #pull(lane: Lane, messages: ConsumerMessages): Promise<void> {
    let slice = performance.now();
    for await (const msg of messages) {
      if (this.#stop.signal.aborted) break; // not acked: delivered again to whoever pulls next
      // Buffered messages come without a turn of the event loop: give timers and sockets theirs.
      if (performance.now() - slice > PULL_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      const held = lane.held.get(msg.seq);
      if (held) {
        // Delivered again while we still hold it: acked with the first delivery.
        held.msgs.push(msg);
        continue;
      }
      const item = this.#decode(lane, msg);
      if (!item) continue;
      lane.held.set(item.seq, item);
      if (msg.info.deliveryCount > 1 || msg.seq <= lane.watermark) {
        this.metrics.redelivered.inc({ kind: lane.kind });
        lane.recovering.push(item);
        if (lane.recovering.length >= RECOVERY_BATCH) this.#recover(lane);
        else lane.recoveryTimer ??= setTimeout(() => this.#recover(lane), RECOVERY_WAIT_MS);
        continue;
      }
      this.#gather(lane, item);
      // Back-pressure: while a full insert already waits for a slot, stop pulling.
      while (this.#queued > 0 && !this.#stop.signal.aborted) {
        await new Promise<void>((resolve) => this.#slotFreed.push(resolve));
      }
    }
  }

  /** The batch's rows, or undefined when it went to the dead-letter stream. */
  #decode(lane: Lane, msg: JsMsg): Item | undefined {
    const item = this.#rows(lane.kind, msg.seq, msg.subject, msg.data);
    if (typeof item === 'string') {
      this.#track(this.#dead(lane, msg.seq, msg.subject, msg.data, [msg], item));
      return undefined;
    }
    item.msgs.push(msg);
    return item;
  }

  /** Decodes and validates one batch into rows, or says why it is bad. */
  #rows(kind: Kind, seq: number, subject: string, data: Uint8Array): Item | string {
    const now = (this.#options.now ?? Date.now)();
    const decoded = decodeBatch(data, now, this.#limits);
    if (!decoded.ok) return decoded.reason;
    if (decoded.batch.kind !== kind) return `a ${decoded.batch.kind} batch on the ${kind} stream`;
    let rows: SampleRow[] | LogRow[];
    if (kind === 'metrics') {
      const batch = decoded.batch as MetricBatch;
      const result = sampleRows(batch, this.#limiter);
      if (result.droppedSeries > 0) {
        this.metrics.droppedSeries.inc({ tier: batch.tier }, result.droppedSeries);
        this.metrics.droppedSamples.inc({ tier: batch.tier }, result.droppedSamples);
      }
      rows = result.rows;
    } else {
      rows = logRows(decoded.batch as LogBatch);
    }
    return { seq, subject, data, rows, msgs: [] };
  }

  #gather(lane: Lane, item: Item): void {
    const { insert } = this.#options.config;
    lane.gathering.push(item);
    lane.gatheringRows += item.rows.length;
    lane.gatheringBytes += item.data.length;
    if (lane.gatheringRows >= insert.max_rows || lane.gatheringBytes >= insert.max_bytes.bytes)
      this.#flush(lane);
    else lane.timer ??= setTimeout(() => this.#flush(lane), insert.max_wait.ms);
  }

  /** Starts the insert of what has been gathered. */
  #flush(lane: Lane): void {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    const items = lane.gathering;
    if (items.length === 0) return;
    lane.gathering = [];
    lane.gatheringRows = 0;
    lane.gatheringBytes = 0;
    this.#track(this.#store(lane, items, undefined));
  }

  /** Looks the redelivered messages up in the journal and stores each in its group again. */
  #recover(lane: Lane): void {
    clearTimeout(lane.recoveryTimer);
    lane.recoveryTimer = undefined;
    const items = lane.recovering;
    if (items.length === 0) return;
    lane.recovering = [];
    this.#track(this.#recoverItems(lane, items));
  }

  async #recoverItems(lane: Lane, items: Item[]): Promise<void> {
    const found = await this.#retry('look up redelivered batches', () =>
      lookupGroups(
        this.#options.store,
        lane.stream,
        items.map((item) => item.seq),
      ),
    );
    if (this.#stop.signal.aborted) return;
    const groups = new Map<string, { entry: JournalEntry; items: Item[] }>();
    for (const item of items) {
      const entry = found.get(item.seq);
      // Never in an insert: a first delivery in all but name.
      if (!entry) this.#gather(lane, item);
      else {
        let group = groups.get(entry.token);
        if (!group) groups.set(entry.token, (group = { entry, items: [] }));
        group.items.push(item);
      }
    }
    for (const { entry, items: held } of groups.values()) {
      const members = await this.#readMembers(lane, entry, held);
      this.#track(this.#store(lane, members, entry));
    }
  }

  /**
   * Every message of a journaled group, held or read back from the stream, so the insert holds
   * the same batches as the first one. A member the stream no longer has is left out: either it
   * was acked (then the first insert committed and this one is dropped as a duplicate) or the
   * stream discarded it.
   */
  async #readMembers(lane: Lane, entry: JournalEntry, held: Item[]): Promise<Item[]> {
    const bySeq = new Map(held.map((item) => [item.seq, item]));
    const out: Item[] = [];
    for (const seq of entry.members) {
      const mine = bySeq.get(seq);
      if (mine) {
        out.push(mine);
        continue;
      }
      const stored = await this.#jsm!.streams.getMessage(lane.stream, { seq }).catch(() => null);
      if (!stored) continue;
      const item = this.#rows(lane.kind, seq, stored.subject, stored.data);
      // A member that does not decode now never went into an insert; nothing to repeat.
      if (typeof item !== 'string') out.push(item);
    }
    return out;
  }

  async #slot(): Promise<void> {
    if (this.#inserting >= this.#options.config.concurrency) {
      this.#queued++;
      while (this.#inserting >= this.#options.config.concurrency && !this.#stop.signal.aborted) {
        await new Promise<void>((resolve) => this.#slotFreed.push(resolve));
      }
      this.#queued--;
    }
    this.#inserting++;
  }

  #release(): void {
    this.#inserting--;
    for (const resolve of this.#slotFreed.splice(0)) resolve();
  }

  /**
   * Journals (unless it is a journaled group again) and inserts the items as one insert, then
   * acks them. A refused insert is split into one insert per batch, so only the bad one goes to
   * the dead-letter stream.
   */
  async #store(lane: Lane, items: Item[], journaled: JournalEntry | undefined): Promise<void> {
    items.sort((a, b) => a.seq - b.seq);
    const members = items.map((item) => item.seq);
    const entry = journaled ?? {
      stream: lane.stream,
      token: groupToken(lane.stream, members),
      members,
    };
    let outcome: Outcome = { stopped: true };
    await this.#slot();
    try {
      if (this.#stop.signal.aborted) return;
      if (!journaled) {
        await this.#retry('record an insert in the journal', () =>
          recordGroup(this.#options.store, entry),
        );
      }
      outcome = await this.#insert(lane.kind, items, entry.token);
    } finally {
      this.#release();
      // Not stored and not split: let a later delivery of these messages be handled afresh.
      if (!('stored' in outcome) && !('refused' in outcome)) {
        for (const item of items) lane.held.delete(item.seq);
      }
    }
    if ('refused' in outcome) {
      if (items.length > 1) {
        this.#log.warn(
          { kind: lane.kind, batches: items.length },
          'the store refused an insert; inserting its batches one by one',
        );
        await Promise.all(items.map((item) => this.#store(lane, [item], undefined)));
        return;
      }
      const [item] = items as [Item];
      try {
        await this.#dead(lane, item.seq, item.subject, item.data, item.msgs, outcome.refused);
      } finally {
        lane.held.delete(item.seq);
      }
      return;
    }
    if (!('stored' in outcome)) return;
    const rows = items.reduce((n, item) => n + item.rows.length, 0);
    this.metrics.rows.inc({ kind: lane.kind }, rows);
    this.metrics.insertRows.observe({ kind: lane.kind }, rows);
    this.metrics.insertBatches.observe({ kind: lane.kind }, items.length);
    this.metrics.batches.inc({ kind: lane.kind, outcome: 'stored' }, items.length);
    // Acked only now; a lost ack means a redelivery, which the journal makes harmless.
    for (const item of items) {
      for (const msg of item.msgs) msg.ack();
      lane.held.delete(item.seq);
    }
  }

  /** Inserts until it commits, or until the store refuses the data or we stop. */
  async #insert(kind: Kind, items: Item[], token: string): Promise<Outcome> {
    const { store } = this.#options;
    const { retry } = this.#options.config;
    const options = { dedupToken: token };
    const insert =
      kind === 'metrics'
        ? () =>
            writeSamples(
              store,
              items.flatMap((item) => item.rows as SampleRow[]),
              options,
            )
        : () =>
            writeLogs(
              store,
              items.flatMap((item) => item.rows as LogRow[]),
              options,
            );
    let delay = retry.initial.ms;
    for (;;) {
      const began = performance.now();
      try {
        await insert();
        this.metrics.insertSeconds.observe({ kind }, (performance.now() - began) / 1000);
        return { stored: true };
      } catch (err) {
        if (isBadData(err)) return { refused: `the store refused the batch: ${errorMessage(err)}` };
        this.metrics.insertErrors.inc({ kind });
        this.#warn(err, delay, 'insert failed; retrying (batches wait in JetStream)');
      }
      if (!(await this.#wait(delay, items))) return { stopped: true };
      delay = Math.min(delay * 2, retry.max.ms);
    }
  }

  #warn(err: unknown, delay: number, message: string): void {
    if (Date.now() - this.#lastErrorLog > 5000) {
      this.#lastErrorLog = Date.now();
      this.#log.warn({ err: errorMessage(err), retryInMs: delay }, message);
    }
  }

  /** Waits before another attempt, keeping the deliveries ours; false when stopping. */
  async #wait(delay: number, items: readonly Item[]): Promise<boolean> {
    if (this.#stop.signal.aborted) return false;
    for (const item of items) for (const msg of item.msgs) msg.working();
    await sleep(delay, this.#stop.signal);
    return !this.#stop.signal.aborted;
  }

  /** Runs a store step until it succeeds (or we stop: then the result is never used). */
  async #retry<T>(what: string, step: () => Promise<T>): Promise<T> {
    const { retry } = this.#options.config;
    let delay = retry.initial.ms;
    for (;;) {
      try {
        return await step();
      } catch (err) {
        this.metrics.insertErrors.inc({ kind: 'journal' });
        this.#warn(err, delay, `${what} failed; retrying`);
      }
      if (this.#stop.signal.aborted) throw new Stopping('stopping');
      await sleep(delay, this.#stop.signal);
      if (this.#stop.signal.aborted) throw new Stopping('stopping');
      delay = Math.min(delay * 2, retry.max.ms);
    }
  }

  async #dead(
    lane: Lane,
    seq: number,
    subject: string,
    data: Uint8Array,
    msgs: readonly JsMsg[],
    reason: string,
  ): Promise<void> {
    const h = headers();
    h.set(DEAD_LETTER_HEADERS.reason, headerValue(reason));
    h.set(DEAD_LETTER_HEADERS.stream, lane.stream);
    h.set(DEAD_LETTER_HEADERS.seq, String(seq));
    h.set(DEAD_LETTER_HEADERS.subject, subject);
    // Its own id: a redelivered poison batch is dead-lettered once.
    await jetstream(this.#options.nc).publish(deadLetterSubject(lane.kind), data, {
      headers: h,
      msgID: `dead:${lane.stream}:${seq}`,
    });
    this.metrics.deadLetters.inc({ kind: lane.kind });
    this.metrics.batches.inc({ kind: lane.kind, outcome: 'dead' });
    this.#log.warn(
      { kind: lane.kind, seq, reason: headerValue(reason).slice(0, 200) },
      'batch dead-lettered',
    );
    for (const msg of msgs) msg.ack();
  }

  /**
   * Stops pulling, inserts what was gathered, lets the inserts under way finish (up to the
   * deadline), and leaves anything unacked to be delivered again.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    for (const messages of this.#streams) messages.stop();
    await Promise.all(this.#loops);
    for (const lane of this.#lanes.values()) {
      this.#flush(lane);
      this.#recover(lane);
    }
    const deadline = sleep(deadlineMs);
    while (this.#tasks.size > 0) {
      const done = await Promise.race([
        Promise.all(this.#tasks).then(() => true),
        deadline.then(() => false),
      ]);
      if (!done) break;
    }
    this.#stop.abort();
    for (const resolve of this.#slotFreed.splice(0)) resolve();
    await Promise.all(this.#tasks);
    await this.#options.nc.flush().catch(() => undefined);
    this.#log.info('ingester stopped');
  }
}
