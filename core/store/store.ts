// The ClickHouse store: embedded chDB in <data_dir>/clickhouse by default, a server when
// clickhouse.url is set; the same @clickhouse/client code serves both.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  createClient,
  type ClickHouseClient,
  type ClickHouseSettings,
  type ErrorLogParams,
  type Logger as ClientLogger,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import { TABLES, type TableKey } from '../conventions.ts';
import type { HaloConfig } from '../config/schema.ts';
import { redactUrl } from '../config/secret.ts';
import { StartupError, StoreError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { acquireDirLock, type DirLock } from './lock.ts';
import type { BoundQuery } from './sql.ts';

export type StoreMode = 'embedded' | 'server';

/** The embedded engine's own query call (chdb/connection's `.chdb`), for its faster insert path. */
export interface ChdbEngine {
  queryAsync(sql: string, opts?: { format?: string }): Promise<unknown>;
}

export interface Store {
  readonly client: ClickHouseClient;
  /** The embedded engine, in embedded mode only. */
  readonly engine: ChdbEngine | undefined;
  readonly mode: StoreMode;
  readonly database: string;
  readonly cluster: string | undefined;
  /** Where the store is, fit for logs: the embedded path or the server URL without credentials. */
  readonly location: string;
  /** `database.table` of a Halo table. */
  table(key: TableKey): string;
  query<T>(query: BoundQuery, settings?: ClickHouseSettings): Promise<T[]>;
  command(query: BoundQuery | string, settings?: ClickHouseSettings): Promise<void>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Settings every query runs with, whatever the server's defaults. */
const BASE_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
};

/**
 * Routes the client's own log lines into ours. Its errors reach the caller as exceptions (and
 * are reported there), so here they are debug lines; arguments are left out: they may hold queries.
 */
function clientLoggerClass(log: Logger): new () => ClientLogger {
  return class implements ClientLogger {
    trace(p: LogParams) {
      log.trace({ client: p.module }, p.message);
    }
    debug(p: LogParams) {
      log.debug({ client: p.module }, p.message);
    }
    info(p: LogParams) {
      log.debug({ client: p.module }, p.message);
    }
    warn(p: WarnLogParams) {
      log.warn({ client: p.module, err: p.err ? errorMessage(p.err) : undefined }, p.message);
    }
    error(p: ErrorLogParams) {
      log.debug({ client: p.module, err: errorMessage(p.err) }, p.message);
    }
  };
}

export interface OpenStoreOptions {
  config: HaloConfig;
  logger: Logger;
}

/** Wraps a ClickHouse error with context, keeping its code and type. */
export function storeError(context: string, err: unknown): StoreError {
  // @clickhouse/client errors carry the server's code as `code`; chDB's own carry it as
  // `clickhouseCode` (their `code` is chDB's name for the error).
  const raw = err as { code?: string; type?: string; clickhouseCode?: number };
  const ch = {
    code: raw.clickhouseCode !== undefined ? String(raw.clickhouseCode) : raw.code,
    type: raw.type,
  };
  return new StoreError(`${context}: ${errorMessage(err)}`, {
    cause: err,
    ...(ch.code !== undefined ? { serverCode: ch.code } : {}),
    ...(ch.type !== undefined ? { serverType: ch.type } : {}),
  });
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { config, logger } = options;
  const ch = config.clickhouse;
  const log = logger.child({ module: 'store' });
  let lock: DirLock | undefined;
  let client: ClickHouseClient;
  let mode: StoreMode;
  let location: string;
  let engine: ChdbEngine | undefined;

  if (ch.url === undefined) {
    mode = 'embedded';
    location = join(config.data_dir, 'clickhouse');
    try {
      mkdirSync(location, { recursive: true });
    } catch (err) {
      throw new StartupError(`data dir ${config.data_dir} is not writable: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    lock = acquireDirLock(`${location}.lock`, `embedded ClickHouse directory ${location}`);
    try {
      // Loaded only in embedded mode: the native engine is large and server mode needs none of it.
      const { createChdbConnection } = await import('chdb/connection');
      const connection = createChdbConnection({ path: location });
      engine = connection.chdb as unknown as ChdbEngine;
      client = createClient({
        connection,
        // chDB keeps a call's settings on its session: an insert's deduplication token would
        // stay for the next, tokenless insert, which ClickHouse would then drop as a duplicate.
        // Every call that does not set its own token clears it.
        clickhouse_settings: { ...BASE_SETTINGS, insert_deduplication_token: '' },
        log: { LoggerClass: clientLoggerClass(log) },
      } as Parameters<typeof createClient>[0]);
    } catch (err) {
      lock.release();
      throw storeError(`open embedded ClickHouse at ${location}`, err);
    }
  } else {
    mode = 'server';
    location = redactUrl(ch.url);
    client = createClient({
      url: ch.url,
      username: ch.username,
      password: ch.password?.reveal() ?? '',
      request_timeout: ch.request_timeout.ms,
      clickhouse_settings: BASE_SETTINGS,
      application: 'halo',
      log: { LoggerClass: clientLoggerClass(log) },
    });
  }

  const store: Store = {
    client,
    engine,
    mode,
    database: ch.database,
    cluster: ch.cluster,
    location,
    table: (key) => `${ch.database}.${TABLES[key]}`,
    async query<T>(query: BoundQuery, settings?: ClickHouseSettings): Promise<T[]> {
      const result = await client.query({
        query: query.text,
        query_params: query.params,
        format: 'JSONEachRow',
        ...(settings ? { clickhouse_settings: settings } : {}),
      });
      return result.json<T>();
    },
    async command(query: BoundQuery | string, settings?: ClickHouseSettings): Promise<void> {
      const bound = typeof query === 'string' ? { text: query, params: {} } : query;
      await client.command({
        query: bound.text,
        query_params: bound.params,
        ...(settings ? { clickhouse_settings: settings } : {}),
      });
    },
    async ping(): Promise<boolean> {
      try {
        await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
        return true;
      } catch {
        return false;
      }
    },
    async close(): Promise<void> {
      try {
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };

  try {
    await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json());
  } catch (err) {
    await store.close().catch(() => undefined);
    const what =
      mode === 'embedded' ? `embedded ClickHouse at ${location}` : `ClickHouse at ${location}`;
    throw storeError(`${what} is unreachable`, err);
  }
  log.info({ mode, location, database: ch.database, cluster: ch.cluster }, 'store open');
  return store;
}
