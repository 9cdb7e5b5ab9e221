// Migration 6: the ingester's journal, which names the stream messages each insert holds so a
// redelivered message is stored again under the same deduplication token (see collector/ingest).

import { TABLES } from '../../conventions.ts';
import { createTable } from '../ddl.ts';
import type { Migration } from './types.ts';

export const migration: Migration = {
  version: 6,
  name: 'ingest journal',
  statements: (ctx) =>
    createTable(ctx, {
      name: TABLES.ingestJournal,
      columns: [
        'stream LowCardinality(String)',
        'token String',
        'first_seq UInt64',
        'last_seq UInt64',
        'members Array(UInt64) CODEC(Delta, ZSTD(1))',
        "written DateTime64(3, 'UTC') DEFAULT now64(3)",
      ],
      engine: 'MergeTree',
      partitionBy: 'toDate(written)',
      orderBy: '(stream, last_seq)',
      ttl: 'toDateTime(written)',
      shardBy: 'cityHash64(stream, token)',
    }),
};
