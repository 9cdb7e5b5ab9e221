// The ingester: durable pull consumers on the metrics and logs streams; each batch is validated,
// inserted with a deduplication token made from its stream sequence, and acked only after the
// insert committed. Bad batches go to the dead-letter stream with their reason; store errors are
// retried while the batch waits in JetStream.

import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
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
import { deadLetterSubject, STREAMS } from '../../core/conventions.ts';
import { errorMessage, StoreError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import type { Store } from '../../core/store/store.ts';
import { writeLogs, writeSamples } from '../../core/store/write.ts';
import type { IngestConfig } from './config.ts';
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
 * ClickHouse error codes that say the data itself is wrong: retrying cannot help, so the batch
 * is dead-lettered. Everything else (unreachable, table missing, too many parts…) is retried.
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
  readonly #inFlight = new Set<Promise<void>>();
  #streams: ConsumerMessages[] = [];
  #loops: Promise<void>[] = [];
  #lastErrorLog = 0;

  constructor(options: IngesterOptions) {
    this.#options = options;
    this.#log = options.logger.child({ module: 'ingest' });
    const { limits } = options.config;
    this.#limits = {
      maxLabels: limits.max_labels,
      maxLabelNameLength: limits.max_label_name_length,
      maxLabelValueLength: limits.max_label_value_length,
      maxNameLength: limits.max_name_length,
      maxAgeMs: limits.max_age.ms,
      maxFutureMs: limits.max_future.ms,
      maxBodyLength: limits.max_log_body.bytes,
    };
    this.#limiter = new SeriesLimiter(limits.series_per_tier);
    this.metrics = createIngestMetrics(options.registry, () => this.pending());
  }

  /** Creates (or updates) the durable consumers and starts pulling. */
  async start(): Promise<void> {
    const { nc, config } = this.#options;
    const jsm = await jetstreamManager(nc);
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
      const consumer = await js.consumers.get(stream, config.consumer);
      const messages = await consumer.consume({ max_messages: config.concurrency * 4 });
      this.#streams.push(messages);
      this.#loops.push(this.#pull(kind, messages));
    }
    this.#log.info(
      { consumer: config.consumer, concurrency: config.concurrency },
      'ingester started',
    );
  }

  /** Batches waiting in each stream for this consumer (not yet delivered). */
  async pending(): Promise<Record<string, number>> {
    const jsm = await jetstreamManager(this.#options.nc);
    const out: Record<string, number> = {};
    for (const stream of Object.values(STREAM_OF)) {
      const info = await jsm.consumers.info(stream, this.#options.config.consumer);
      out[stream] = info.num_pending + info.num_ack_pending;
    }
    return out;
  }

  async #pull(kind: Kind, messages: ConsumerMessages): Promise<void> {
    const slots = this.#options.config.concurrency;
    for await (const msg of messages) {
      while (this.#inFlight.size >= slots) await Promise.race(this.#inFlight);
      if (this.#stop.signal.aborted) break; // not acked: delivered again to whoever pulls next
      const task = this.#handle(kind, msg).catch((err: unknown) => {
        this.#log.error(
          { err: errorMessage(err), seq: msg.seq },
          'batch handling failed; it will be delivered again',
        );
      });
      this.#inFlight.add(task);
      void task.finally(() => this.#inFlight.delete(task));
    }
  }

  async #handle(kind: Kind, msg: JsMsg): Promise<void> {
    const now = (this.#options.now ?? Date.now)();
    const decoded = decodeBatch(msg.data, now, this.#limits);
    if (!decoded.ok) return this.#dead(kind, msg, decoded.reason);
    if (decoded.batch.kind !== kind)
      return this.#dead(kind, msg, `a ${decoded.batch.kind} batch on the ${kind} stream`);
    const token = `${STREAM_OF[kind]}:${msg.seq}`;
    const { store } = this.#options;
    let rows: number;
    let insert: () => Promise<void>;
    if (kind === 'metrics') {
      const batch = decoded.batch as MetricBatch;
      const result = sampleRows(batch, this.#limiter);
      if (result.droppedSeries > 0) {
        this.metrics.droppedSeries.inc({ tier: batch.tier }, result.droppedSeries);
        this.metrics.droppedSamples.inc({ tier: batch.tier }, result.droppedSamples);
      }
      rows = result.rows.length;
      insert = () => writeSamples(store, result.rows, { dedupToken: token });
    } else {
      const logs = logRows(decoded.batch as LogBatch);
      rows = logs.length;
      insert = () => writeLogs(store, logs, { dedupToken: token });
    }
    if (!(await this.#insert(kind, msg, insert))) return;
    this.metrics.rows.inc({ kind }, rows);
    this.metrics.batchRows.observe({ kind }, rows);
    this.metrics.batches.inc({ kind, outcome: 'stored' });
    // Acked only now; a lost ack means a redelivery, which the token makes harmless.
    await msg.ackAck().catch(() => undefined);
  }

  /** Inserts until it commits; false when the batch was dead-lettered or we are stopping. */
  async #insert(kind: Kind, msg: JsMsg, insert: () => Promise<void>): Promise<boolean> {
    const { retry } = this.#options.config;
    let delay = retry.initial.ms;
    for (;;) {
      const began = performance.now();
      try {
        await insert();
        this.metrics.insertSeconds.observe({ kind }, (performance.now() - began) / 1000);
        return true;
      } catch (err) {
        if (isBadData(err)) {
          await this.#dead(kind, msg, `the store refused the batch: ${errorMessage(err)}`);
          return false;
        }
        this.metrics.insertErrors.inc({ kind });
        if (Date.now() - this.#lastErrorLog > 5000) {
          this.#lastErrorLog = Date.now();
          this.#log.warn(
            { err: errorMessage(err), retryInMs: delay },
            'insert failed; retrying (batches wait in JetStream)',
          );
        }
      }
      if (this.#stop.signal.aborted) return false;
      msg.working(); // keep the delivery ours while we wait
      await sleep(delay, this.#stop.signal);
      if (this.#stop.signal.aborted) return false;
      delay = Math.min(delay * 2, retry.max.ms);
    }
  }

  async #dead(kind: Kind, msg: JsMsg, reason: string): Promise<void> {
    const h = headers();
    h.set(DEAD_LETTER_HEADERS.reason, headerValue(reason));
    h.set(DEAD_LETTER_HEADERS.stream, STREAM_OF[kind]);
    h.set(DEAD_LETTER_HEADERS.seq, String(msg.seq));
    h.set(DEAD_LETTER_HEADERS.subject, msg.subject);
    // Its own id: a redelivered poison batch is dead-lettered once.
    await jetstream(this.#options.nc).publish(deadLetterSubject(kind), msg.data, {
      headers: h,
      msgID: `dead:${STREAM_OF[kind]}:${msg.seq}`,
    });
    this.metrics.deadLetters.inc({ kind });
    this.metrics.batches.inc({ kind, outcome: 'dead' });
    this.#log.warn(
      { kind, seq: msg.seq, reason: headerValue(reason).slice(0, 200) },
      'batch dead-lettered',
    );
    await msg.ackAck().catch(() => undefined);
  }

  /**
   * Stops pulling, lets the inserts under way finish (up to the deadline), and leaves anything
   * unacked to be delivered again.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    for (const messages of this.#streams) messages.stop();
    const deadline = sleep(deadlineMs);
    await Promise.race([Promise.all(this.#inFlight), deadline]);
    this.#stop.abort();
    await Promise.all(this.#inFlight);
    await Promise.all(this.#loops);
    this.#log.info('ingester stopped');
  }
}
