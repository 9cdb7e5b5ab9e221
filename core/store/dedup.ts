// Insert deduplication settings shared by every batch write: a token per batch, also applied to
// the rollups fed by materialized views.

import { randomUUID } from 'node:crypto';
import type { ClickHouseSettings } from '@clickhouse/client';

export interface DedupOptions {
  /**
   * Identity of the batch: ClickHouse drops a later insert with the same token (within the
   * table's deduplication window), so a batch redelivered after a crash is not stored twice.
   */
  dedupToken?: string;
}

export function dedupSettings(options: DedupOptions): ClickHouseSettings {
  return {
    insert_deduplicate: 1,
    // Without a token of the caller's, a fresh one: two different batches can aggregate into
    // equal rollup blocks, and content-hash deduplication would drop the second. (A setting
    // cannot turn that off on every ClickHouse version; a unique token can.)
    insert_deduplication_token: options.dedupToken ?? `once-${randomUUID()}`,
    // The rollups must not count a deduplicated block twice either.
    deduplicate_blocks_in_dependent_materialized_views: 1,
  };
}
