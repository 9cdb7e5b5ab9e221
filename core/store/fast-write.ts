// The fast sample write: one batch, one insert, same table, rollups and dedup token contract as
// writeSamples; embedded chDB reads a RowBinary file, a server gets TabSeparated bytes.

import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ClickHouseSettings } from '@clickhouse/client';
import {
  SAMPLE_COLUMNS,
  SAMPLE_STRUCTURE,
  encodeSamplesRowBinary,
  encodeSamplesTsv,
} from './encode-samples.ts';
import { dedupSettings } from './dedup.ts';
import { storeError, type ChdbEngine, type Store } from './store.ts';
import type { SampleRow, WriteOptions } from './write.ts';

/** A ClickHouse string literal: backslash escapes, so any token or path stays one literal. */
export function literal(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

/** A SETTINGS clause's body: `key = value, …`, string values as literals. */
export function settingsClause(settings: ClickHouseSettings): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key} = ${typeof value === 'string' ? literal(value) : String(value)}`)
    .join(', ');
}

function embeddedEngine(store: Store): ChdbEngine | undefined {
  return store.engine;
}

/**
 * The rollup views write AggregatingMergeTree tables; merging equal keys within each insert
 * (optimize_on_insert) cost a third of a sample insert on bench/compare, and every reader sums
 * rollup rows over parts anyway, so the rows are left for the background merges.
 */
export const ROLLUP_INSERT_SETTINGS = { optimize_on_insert: 0 } as const;

const COLUMN_LIST = `(${SAMPLE_COLUMNS.join(', ')})`;

/**
 * The settings of an embedded sample insert: its dedup token, applied to the rollups too, and
 * failing rather than skipping deduplication (INSERT … SELECT would otherwise skip it).
 */
export function sampleInsertSettings(options: WriteOptions = {}): ClickHouseSettings {
  return {
    ...dedupSettings(options),
    deduplicate_insert_select: 'force_enable',
    ...ROLLUP_INSERT_SETTINGS,
  };
}

/**
 * Where sample-shaped rows go (embedded file path): a table, its columns, and the SELECT list
 * that makes them from the payload's columns (SAMPLE_STRUCTURE). Samples take them as they are.
 */
export interface SampleTarget {
  table: string;
  /** What the rows are, for errors: "samples", "series". */
  what: string;
  columns: string;
  select: string;
}

function samplesTarget(store: Store): SampleTarget {
  return { table: store.table('samples'), what: 'samples', columns: COLUMN_LIST, select: '*' };
}

/**
 * Portable: TabSeparated bytes through @clickhouse/client's exec, the statement carrying its own
 * settings. The same call serves a ClickHouse server and embedded chDB.
 */
export async function writeSamplesTsv(
  store: Store,
  rows: readonly SampleRow[],
  options: WriteOptions = {},
): Promise<void> {
  if (rows.length === 0) return;
  try {
    const body = encodeSamplesTsv(rows);
    // Text floats read back exactly only with the precise parser, not the default everywhere.
    const settings = {
      ...dedupSettings(options),
      precise_float_parsing: 1,
      ...ROLLUP_INSERT_SETTINGS,
    };
    const result = await store.client.exec({
      query:
        `INSERT INTO ${store.table('samples')} ${COLUMN_LIST} ` +
        `SETTINGS ${settingsClause(settings)} FORMAT TabSeparated`,
      values: Readable.from([body], { objectMode: false }),
    });
    result.stream.destroy();
  } catch (err) {
    throw storeError(`write ${rows.length} samples`, err);
  }
}

/**
 * Embedded only: the batch as a RowBinary file that the engine reads with file(). No text to
 * escape or parse, and the series columns arrive as String and become LowCardinality in one
 * cast per column. force_enable makes the insert fail rather than skip deduplication.
 */
export async function writeSamplesChdbFile(
  store: Store,
  rows: readonly SampleRow[],
  options: WriteOptions = {},
  target: SampleTarget = samplesTarget(store),
  settings: ClickHouseSettings = sampleInsertSettings(options),
): Promise<void> {
  if (rows.length === 0) return;
  const engine = embeddedEngine(store);
  const what = `write ${rows.length} ${target.what}`;
  if (engine === undefined) throw storeError(what, new Error('not an embedded chDB store'));
  const path = join(tmpdir(), `halo-samples-${randomUUID()}.rowbinary`);
  try {
    await writeFile(path, encodeSamplesRowBinary(rows), { flag: 'wx' });
    await engine.queryAsync(
      `INSERT INTO ${target.table} ${target.columns} SETTINGS ${settingsClause(settings)} ` +
        `SELECT ${target.select} FROM file(${literal(path)}, RowBinary, ${literal(SAMPLE_STRUCTURE)})`,
    );
  } catch (err) {
    throw storeError(what, err);
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * The samples insert of writeSamples (which registers the series first): the chDB file path
 * when embedded, TabSeparated otherwise.
 */
export async function writeSamplesFast(
  store: Store,
  rows: readonly SampleRow[],
  options: WriteOptions = {},
): Promise<void> {
  if (embeddedEngine(store) !== undefined) await writeSamplesChdbFile(store, rows, options);
  else await writeSamplesTsv(store, rows, options);
}

/** Embedded only: sample-shaped rows into another table, without deduplication (idempotent rows). */
export async function writeSampleShaped(
  store: Store,
  rows: readonly SampleRow[],
  target: SampleTarget,
): Promise<void> {
  // A fresh token: these rows are idempotent, and a repeat must not be dropped either.
  await writeSamplesChdbFile(store, rows, {}, target, dedupSettings({}));
}
