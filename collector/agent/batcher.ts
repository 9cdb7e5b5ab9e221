// Gathers samples into metric batches, grouped by series, and hands each batch to the spool when
// it is full or old enough. Batch ids are unique per agent run and stay with the batch on disk.

import { randomBytes } from 'node:crypto';
import { BATCH_VERSION, metricsSubject } from '../../core/conventions.ts';
import { encodeBatch, toWireNumber, type MetricBatch, type WireSeries } from '../../core/batch.ts';
import { seriesKey } from './deltas.ts';
import type { Spool } from './spool.ts';

export interface PublishSample {
  name: string;
  service: string;
  labels: Record<string, string>;
  ts: number;
  value: number;
}

export interface BatcherOptions {
  tier: string;
  host: string;
  spool: Spool;
  maxSamples: number;
  /** Flush before the encoded batch could pass this size (NATS refuses payloads over max_payload, 1 MiB by default). */
  maxBytes?: number;
  maxAgeMs: number;
  onSpooled?: (samples: number) => void;
  /** A batch that could not be written (disk full, …): it is lost, the next ones are not. */
  onSpoolError?: (err: unknown, samples: number) => void;
}

export class Batcher {
  readonly #options: BatcherOptions;
  readonly #run = randomBytes(6).toString('hex');
  #seq = 0;
  #series = new Map<string, WireSeries>();
  #count = 0;
  /** An upper estimate of the encoded size, so a batch never outgrows the server's max payload. */
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Flushes run one after another, so batches reach the spool in the order they were made. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  add(samples: readonly PublishSample[]): void {
    for (const sample of samples) {
      const key = `${sample.service}\u0002${seriesKey(sample.name, sample.labels)}`;
      let series = this.#series.get(key);
      if (!series) {
        series = { name: sample.name, service: sample.service, labels: sample.labels, points: [] };
        this.#series.set(key, series);
        // Key text plus JSON punctuation; escapes can at most double a string.
        this.#bytes += 2 * key.length + 64;
      }
      series.points.push([sample.ts, toWireNumber(sample.value)]);
      this.#bytes += 40; // [13-digit ts, value up to 24 characters]
      this.#count++;
      if (
        this.#count >= this.#options.maxSamples ||
        this.#bytes >= (this.#options.maxBytes ?? 512 * 1024)
      ) {
        void this.flush();
      }
    }
    if (this.#count > 0 && !this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#options.maxAgeMs);
    }
  }

  /** Sends what is pending to the spool; resolves when it (and every earlier batch) is there. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#count > 0) {
      const batch: MetricBatch = {
        v: BATCH_VERSION,
        kind: 'metrics',
        id: `${this.#options.host}:${this.#run}:${++this.#seq}`,
        tier: this.#options.tier,
        host: this.#options.host,
        series: [...this.#series.values()],
      };
      const samples = this.#count;
      this.#series = new Map();
      this.#count = 0;
      this.#bytes = 0;
      this.#chain = this.#chain
        .then(async () => {
          await this.#options.spool.append(
            { id: batch.id, subject: metricsSubject(batch.tier, batch.host), samples },
            encodeBatch(batch),
          );
          this.#options.onSpooled?.(samples);
        })
        .catch((err: unknown) => this.#options.onSpoolError?.(err, samples));
    }
    return this.#chain;
  }
}
