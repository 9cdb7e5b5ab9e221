// Registers the series of sample writes in the series table: each series once, and again about
// each hour it is still written (so last_seen moves and the table's TTL can drop dead series). A
// cache per store remembers what was registered; a series it forgot is registered again, which
// changes nothing (the table keeps any(labels), min(first_seen), max(last_seen)).

import { dedupSettings } from './dedup.ts';
import { writeSampleShaped } from './fast-write.ts';
import { storeError, type Store } from './store.ts';
import type { SampleRow } from './write.ts';

const HOUR_MS = 3_600_000;
/** Series remembered per store; past this the oldest are forgotten (and registered again). */
export const SERIES_CACHE_SIZE = 1_000_000;

interface SeriesCache {
  /**
   * Series key → until when (sample time, ms) its registration stands. Oldest first (a Map
   * keeps order). Each lasts between half an hour and an hour, at random, so a fleet's series
   * do not all come due in the same insert.
   */
  until: Map<string, number>;
}

const caches = new WeakMap<Store, SeriesCache>();

function cacheOf(store: Store): SeriesCache {
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = { until: new Map() }));
  return cache;
}

/**
 * Name, tier, host, service and the labels in key order: one string per series. Every field is
 * length-prefixed, so no label value, whatever it holds, can make two series one key.
 */
export function seriesKey(
  name: string,
  tier: string,
  host: string,
  service: string,
  labels: Record<string, string>,
): string {
  const keys = Object.keys(labels).sort();
  let out = `${name.length}:${name}${tier.length}:${tier}${host.length}:${host}${service.length}:${service}`;
  for (const key of keys) {
    const value = labels[key] ?? '';
    out += `${key.length}:${key}${value.length}:${value}`;
  }
  return out;
}

interface Pending {
  key: string;
  row: SampleRow;
  first: number;
  last: number;
}

/**
 * Inserts a series row for each series of `rows` not registered for its hour yet. Called before
 * the samples are inserted, so a stored sample always has its series; a failure throws and
 * leaves the cache as it was.
 */
export async function registerSeries(store: Store, rows: readonly SampleRow[]): Promise<number> {
  const cache = cacheOf(store);
  const pending = new Map<string, Pending>();
  let previous: SampleRow | undefined;
  let previousKey = '';
  for (const row of rows) {
    // Points of one series usually come together, sharing one labels object.
    const key =
      row.key ??
      (previous !== undefined &&
      row.labels === previous.labels &&
      row.name === previous.name &&
      row.host === previous.host &&
      row.tier === previous.tier &&
      row.service === previous.service
        ? previousKey
        : seriesKey(row.name, row.tier, row.host, row.service, row.labels));
    previous = row;
    previousKey = key;
    const until = cache.until.get(key);
    if (until !== undefined && row.ts < until) continue;
    const seen = pending.get(key);
    if (!seen) pending.set(key, { key, row, first: row.ts, last: row.ts });
    else {
      seen.first = Math.min(seen.first, row.ts);
      seen.last = Math.max(seen.last, row.ts);
    }
  }
  if (pending.size === 0) return 0;
  await insertSeries(store, [...pending.values()]);
  for (const p of pending.values()) {
    cache.until.delete(p.key);
    cache.until.set(p.key, p.last + HOUR_MS * (0.5 + Math.random() / 2));
  }
  while (cache.until.size > SERIES_CACHE_SIZE) {
    const oldest = cache.until.keys().next().value as string;
    cache.until.delete(oldest);
  }
  return pending.size;
}

/** 'YYYY-MM-DD hh:mm:ss' in UTC, for a DateTime column. */
function dateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Embedded: the samples' RowBinary file path (ts carries first seen, value last seen). A server:
 * JSONEachRow, portable and plenty for rows written once per series and hour.
 */
async function insertSeries(store: Store, pending: readonly Pending[]): Promise<void> {
  if (store.engine !== undefined) {
    await writeSampleShaped(
      store,
      pending.map((p) => ({ ...p.row, ts: p.first, value: p.last })),
      {
        table: store.table('series'),
        what: 'series',
        columns: '(name, tier, host, service, labels, first_seen, last_seen)',
        select:
          "name, tier, host, service, labels, toDateTime(ts, 'UTC'), " +
          "toDateTime(intDiv(toInt64(value), 1000), 'UTC')",
      },
    );
    return;
  }
  try {
    await store.client.insert({
      table: store.table('series'),
      columns: ['name', 'tier', 'host', 'service', 'labels', 'first_seen', 'last_seen'],
      values: pending.map((p) => ({
        name: p.row.name,
        tier: p.row.tier,
        host: p.row.host,
        service: p.row.service,
        labels: p.row.labels,
        first_seen: dateTime(p.first),
        last_seen: dateTime(p.last),
      })),
      format: 'JSONEachRow',
      // Idempotent rows; a fresh token keeps a repeat from being dropped on any version.
      clickhouse_settings: dedupSettings({}),
    });
  } catch (err) {
    throw storeError(`register ${pending.length} series`, err);
  }
}
