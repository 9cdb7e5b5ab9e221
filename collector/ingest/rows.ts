// Turns decoded batches into store rows, and bounds the number of series per tier.

import { fromWireNumber, type LogBatch, type MetricBatch } from '../../core/batch.ts';
import { seriesKey } from '../../core/store/series.ts';
import type { LogRow, SampleRow } from '../../core/store/write.ts';

/** Remembers the series seen per tier and refuses new ones past the bound. */
export class SeriesLimiter {
  readonly #limit: number;
  readonly #seen = new Map<string, Set<string>>();

  constructor(limitPerTier: number) {
    this.#limit = limitPerTier;
  }

  /** True when the series may be stored (already known, or there is room for it). */
  admit(tier: string, key: string): boolean {
    let set = this.#seen.get(tier);
    if (!set) {
      set = new Set();
      this.#seen.set(tier, set);
    }
    if (set.has(key)) return true;
    if (set.size >= this.#limit) return false;
    set.add(key);
    return true;
  }
}

export interface SampleRows {
  rows: SampleRow[];
  /** Series refused by the per-tier bound, and their samples. */
  droppedSeries: number;
  droppedSamples: number;
}

export function sampleRows(batch: MetricBatch, limiter: SeriesLimiter): SampleRows {
  const rows: SampleRow[] = [];
  let droppedSeries = 0;
  let droppedSamples = 0;
  for (const series of batch.series) {
    const key = seriesKey(series.name, batch.tier, batch.host, series.service, series.labels);
    if (!limiter.admit(batch.tier, key)) {
      droppedSeries++;
      droppedSamples += series.points.length;
      continue;
    }
    for (const [ts, value] of series.points) {
      rows.push({
        name: series.name,
        tier: batch.tier,
        host: batch.host,
        service: series.service,
        labels: series.labels,
        ts,
        value: fromWireNumber(value),
        key,
      });
    }
  }
  return { rows, droppedSeries, droppedSamples };
}

export function logRows(batch: LogBatch): LogRow[] {
  return batch.records.map((record) => ({
    ts: record.ts,
    tier: batch.tier,
    host: batch.host,
    service: record.service,
    severity: record.severity,
    body: record.body,
    attributes: record.attributes,
    ...(record.traceId !== undefined ? { traceId: record.traceId } : {}),
  }));
}
