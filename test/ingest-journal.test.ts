// The ingester's exactly-once protocol, crash moments played by hand on a real nats-server and
// embedded ClickHouse: a group journaled and committed but never acked, a group journaled and
// never inserted, members acked before the crash, and a consumer made again from scratch.

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ingestConfigSchema } from '../collector/ingest/config.ts';
import { Ingester } from '../collector/ingest/ingester.ts';
import { groupToken, lookupGroups, recordGroup } from '../collector/ingest/journal.ts';
import { sampleRows, SeriesLimiter } from '../collector/ingest/rows.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples } from '../core/store/write.ts';
import { encodeBatch, metricBatch, publishAll } from './helpers/batches.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { openTestStore } from './helpers/store.ts';
import { until } from './helpers/wait.ts';

const logger = silentLogger();
const CONSUMER = 'halo-ingest';
let nats: TestNats;
let nc: NatsConnection;
let store: Store | undefined;
let ingester: Ingester | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
});
afterEach(async () => {
  await ingester?.stop(2000);
  ingester = undefined;
  await nc?.close();
  await store?.close();
  store = undefined;
});
afterAll(async () => {
  await nats?.stop();
});

const start = Date.now() - 600_000;
const batch = (i: number) =>
  metricBatch(`j-${i}`, { host: `host-${i}`, series: 10, points: 10, start });

/** Fresh streams and store; six batches of 100 samples published (stream sequences 1 to 6). */
async function setup() {
  const config = testConfig({ nats: { url: nats.url } });
  nc = await connectBus({ config, logger });
  const jsm = await jetstreamManager(nc);
  for (const stream of Object.values(STREAMS))
    await jsm.streams.delete(stream).catch(() => undefined);
  await ensureStreams(nc, config, logger);
  ({ store } = await openTestStore());
  await publishAll(
    nc,
    Array.from({ length: 6 }, (_, i) => ({ id: `j-${i + 1}`, data: encodeBatch(batch(i + 1)) })),
  );
  return { jsm, store };
}

/** What a crashed ingester did before dying: journal a group and, maybe, insert it. */
async function crashedInsert(s: Store, members: number[], committed: boolean): Promise<void> {
  const entry = { stream: STREAMS.metrics, token: groupToken(STREAMS.metrics, members), members };
  await recordGroup(s, entry);
  if (!committed) return;
  const limiter = new SeriesLimiter(1_000_000);
  const rows = members.flatMap((seq) => sampleRows(batch(seq), limiter).rows);
  await writeSamples(s, rows, { dedupToken: entry.token });
}

function newIngester(s: Store, registry: Registry, ack_wait = '60s'): Ingester {
  return new Ingester({
    nc,
    store: s,
    config: ingestConfigSchema.parse({ ack_wait, insert: { max_wait: '50ms' } }),
    logger,
    registry,
  });
}

async function drained(jsm: Awaited<ReturnType<typeof jetstreamManager>>): Promise<void> {
  await until(async () => {
    const info = await jsm.consumers.info(STREAMS.metrics, CONSUMER);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'the ingester to ack every batch');
}

async function stored(s: Store): Promise<{ rows: number; points: number; rollup: number }> {
  const [row] = await s.query<{ rows: string; points: string }>(
    sql`SELECT count() AS rows, uniqExact(fingerprint, ts) AS points FROM ${ident(s.table('samples'))}`,
  );
  const [rollup] = await s.query<{ n: string }>(
    sql`SELECT sum(value_count) AS n FROM ${ident(s.table('samples1m'))}`,
  );
  return { rows: Number(row?.rows), points: Number(row?.points), rollup: Number(rollup?.n) };
}

const redelivered = async (registry: Registry) =>
  (await registry.getSingleMetric('halo_ingest_redelivered_total')?.get())?.values.reduce(
    (n, v) => n + v.value,
    0,
  ) ?? 0;

describe('the ingest journal', () => {
  it('records a group and finds each member in it, the latest entry winning', async () => {
    const { store: s } = await setup();
    const group = {
      stream: STREAMS.metrics,
      token: groupToken(STREAMS.metrics, [2, 4, 9]),
      members: [2, 4, 9],
    };
    await recordGroup(s, group);
    const split = {
      stream: STREAMS.metrics,
      token: groupToken(STREAMS.metrics, [4]),
      members: [4],
    };
    await recordGroup(s, split);
    const found = await lookupGroups(s, STREAMS.metrics, [2, 4, 5, 9]);
    expect(found.get(2)?.token).toBe(group.token);
    expect(found.get(9)?.members).toEqual([2, 4, 9]);
    expect(found.get(4)?.token).toBe(split.token);
    expect(found.has(5)).toBe(false);
    expect((await lookupGroups(s, STREAMS.logs, [2])).size).toBe(0);
    // The token names exactly the members.
    expect(groupToken(STREAMS.metrics, [2, 4, 9])).not.toBe(groupToken(STREAMS.metrics, [2, 4]));
  });

  it('stores redelivered batches once, whether their insert committed or not', async () => {
    const { jsm, store: s } = await setup();
    // The crashed ingester's consumer: it took the six batches and acked only 2 and 5.
    await jsm.consumers.add(STREAMS.metrics, {
      durable_name: CONSUMER,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 1_000_000_000,
      max_ack_pending: 10_000,
      max_deliver: -1,
    });
    const consumer = await jetstream(nc).consumers.get(STREAMS.metrics, CONSUMER);
    const taken = await consumer.fetch({ max_messages: 6, expires: 2000 });
    for await (const msg of taken) if (msg.seq === 2 || msg.seq === 5) await msg.ackAck();

    const registry = new Registry();
    ingester = newIngester(s, registry, '1s');
    await ingester.start();
    // Inserted and committed, acks lost (but for 2); journaled and never inserted (5 acked
    // anyway, so it is read back from the stream); 6 was never in an insert.
    await crashedInsert(s, [1, 2, 3], true);
    await crashedInsert(s, [4, 5], false);

    await drained(jsm);
    expect(await stored(s)).toEqual({ rows: 600, points: 600, rollup: 600 });
    expect(await redelivered(registry)).toBe(4);
  });

  it('stores batches a consumer made again delivers once more, once', async () => {
    const { jsm, store: s } = await setup();
    await crashedInsert(s, [1, 2, 3], true);
    await crashedInsert(s, [4, 5], false);
    // No consumer yet: every batch comes as a first delivery, 1 to 5 below the journal's mark.
    const registry = new Registry();
    ingester = newIngester(s, registry);
    await ingester.start();
    await drained(jsm);
    expect(await stored(s)).toEqual({ rows: 600, points: 600, rollup: 600 });
    expect(await redelivered(registry)).toBe(5);

    // Delete the consumer and start again from the first message: nothing is stored twice.
    await ingester.stop(2000);
    await jsm.consumers.delete(STREAMS.metrics, CONSUMER);
    ingester = newIngester(s, new Registry());
    await ingester.start();
    await drained(jsm);
    expect(await stored(s)).toEqual({ rows: 600, points: 600, rollup: 600 });
  });
});
