// The ingester on a real nats-server and real embedded ClickHouse: bad batches to the dead-letter
// stream with their reasons, good ones stored once, a store outage waited out, the series bound.

import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ingestConfigSchema } from '../collector/ingest/config.ts';
import { DEAD_LETTER_HEADERS, Ingester } from '../collector/ingest/ingester.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { encodeBatch, metricBatch, publishAll } from './helpers/batches.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { openTestStore } from './helpers/store.ts';
import { until } from './helpers/wait.ts';

const logger = silentLogger();
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

/** Fresh streams (deleted and made again) and a fresh store for each test. */
async function setup(ingest: Record<string, unknown> = {}) {
  const config = testConfig({ nats: { url: nats.url } });
  nc = await connectBus({ config, logger });
  const jsm = await jetstreamManager(nc);
  for (const stream of Object.values(STREAMS))
    await jsm.streams.delete(stream).catch(() => undefined);
  await ensureStreams(nc, config, logger);
  ({ store } = await openTestStore());
  ingester = new Ingester({
    nc,
    store,
    config: ingestConfigSchema.parse(ingest),
    logger,
    registry: new Registry(),
  });
  return { jsm };
}

const count = async (s: Store) =>
  Number(
    (await s.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(s.table('samples'))}`))[0]
      ?.n,
  );
const distinctPoints = async (s: Store) =>
  Number(
    (
      await s.query<{ n: string }>(
        sql`SELECT uniqExact(fingerprint, ts) AS n FROM ${ident(s.table('samples'))}`,
      )
    )[0]?.n,
  );

const now = Date.now();

describe('the ingester', () => {
  it('stores every good batch once and dead-letters each of 10,000 malformed ones with its reason', async () => {
    const { jsm } = await setup({ concurrency: 8 });
    const bad: Array<{ data: Uint8Array; reason: RegExp }> = [
      { data: new TextEncoder().encode('{not json'), reason: /^not a JSON batch/ },
      { data: new Uint8Array([0xff, 0xfe, 0x00, 0x01]), reason: /^not a JSON batch/ },
      {
        data: encodeBatch({ ...metricBatch('x', { series: 1, points: 1, start: now }), v: 9 as 1 }),
        reason: /unsupported batch version 9/,
      },
      {
        data: new TextEncoder().encode(
          JSON.stringify({
            ...metricBatch('x', { series: 1, points: 1, start: now }),
            series: [{ name: 'm', service: 's', labels: { a: 1 }, points: [[now, 1]] }],
          }),
        ),
        reason: /series\[0\]\.labels\.a: expected a string/,
      },
      {
        data: encodeBatch(metricBatch('x', { series: 1, points: 1, start: now - 30 * 86_400_000 })),
        reason: /is older than allowed/,
      },
      {
        data: encodeBatch(metricBatch('x', { series: 1, points: 1, start: now + 86_400_000 })),
        reason: /too far in the future/,
      },
      {
        data: new TextEncoder().encode(
          JSON.stringify({
            ...metricBatch('x', { series: 1, points: 1, start: now }),
            series: [{ name: 'bad name', service: 's', labels: {}, points: [[now, 1]] }],
          }),
        ),
        reason: /invalid metric name/,
      },
      {
        data: encodeBatch({
          ...metricBatch('x', { series: 1, points: 1, start: now }),
          series: [
            {
              name: 'm',
              service: 's',
              labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, 'v'])),
              points: [[now, 1]],
            },
          ],
        }),
        reason: /40 labels, more than 32/,
      },
    ];
    const items: Array<{ data: Uint8Array; id: string; reason?: RegExp }> = [];
    let good = 0;
    for (let i = 0; i < 10_000; i++) {
      items.push({
        data: bad[i % bad.length]!.data,
        id: `bad-${i}`,
        reason: bad[i % bad.length]!.reason,
      });
      if (i % 100 === 0) {
        items.push({
          data: encodeBatch(
            metricBatch(`good-${i}`, {
              host: `web-${i}`,
              series: 5,
              points: 10,
              start: now - 600_000,
            }),
          ),
          id: `good-${i}`,
        });
        good += 50;
      }
    }
    await publishAll(nc, items);
    await ingester!.start();
    await until(
      async () => (await jsm.streams.info(STREAMS.deadLetters)).state.messages === 10_000,
      '10,000 dead letters',
      60_000,
    );
    await until(async () => (await count(store!)) === good, 'every good sample', 60_000);
    expect(await distinctPoints(store!)).toBe(good);

    // Each dead letter keeps the batch and says why (published in order: stream seq n is item n-1).
    for (let seq = 1; seq <= 50; seq++) {
      const dead = await jsm.streams.getMessage(STREAMS.deadLetters, { seq });
      const original = items[Number(dead?.header?.get(DEAD_LETTER_HEADERS.seq)) - 1]!;
      expect(original.reason, `dead letter ${seq}`).toBeDefined();
      expect(dead?.header?.get(DEAD_LETTER_HEADERS.reason)).toMatch(original.reason!);
      expect(dead?.data).toEqual(original.data);
      expect(dead?.header?.get(DEAD_LETTER_HEADERS.stream)).toBe(STREAMS.metrics);
    }
    // Counted just after the dead letter is published: wait for the count to catch up.
    await until(
      async () => (await ingester!.metrics.deadLetters.get()).values[0]?.value === 10_000,
      'the dead-letter count',
      10_000,
    );
  }, 120_000);

  it('waits out a store that fails for 20 s, then drains the backlog with nothing lost or doubled', async () => {
    await setup({ retry: { initial: '100ms', max: '1s' } });
    const s = store!;
    await ingester!.start();
    let sent = 0;
    const publishSome = async (n: number) => {
      const items = Array.from({ length: n }, (_, i) => {
        const id = `b-${sent + i}`;
        return {
          id,
          data: encodeBatch(
            metricBatch(id, {
              series: 10,
              points: 10,
              start: now - 1_000_000 + (sent + i) * 10,
              prefix: `b${(sent + i) % 3}`,
            }),
          ),
        };
      });
      sent += n;
      await publishAll(nc, items);
    };
    await publishSome(20);
    await until(async () => (await count(s)) === 2000, 'the first batches', 60_000);
    await s.command(`DETACH TABLE ${s.table('samples')}`);
    const outageEnds = Date.now() + 20_000;
    while (Date.now() < outageEnds) {
      await publishSome(5);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect((await ingester!.metrics.insertErrors.get()).values[0]?.value).toBeGreaterThan(0);
    await s.command(`ATTACH TABLE ${s.table('samples')}`);
    await until(async () => (await count(s)) === sent * 100, 'the backlog', 60_000);
    expect(await distinctPoints(s)).toBe(sent * 100);
    const rollup = await s.query<{ n: number }>(
      sql`SELECT sum(value_count) AS n FROM ${ident(s.table('samples1m'))}`,
    );
    expect(Number(rollup[0]?.n)).toBe(sent * 100);
  }, 120_000);

  it('drops new series of a tier past its bound, counted, and keeps storing the known ones', async () => {
    await setup({ limits: { series_per_tier: 3 } });
    await ingester!.start();
    await publishAll(nc, [
      { id: 'a', data: encodeBatch(metricBatch('a', { series: 2, points: 2, start: now - 5000 })) },
      { id: 'b', data: encodeBatch(metricBatch('b', { series: 5, points: 2, start: now - 2000 })) },
    ]);
    await until(
      async () =>
        (await ingester!.metrics.batches.get()).values.reduce((n, v) => n + v.value, 0) === 2,
      'both batches',
      60_000,
    );
    // 3 series admitted (2 from a, 1 new from b); b's 2 known + 1 new are stored, 2 refused.
    expect(await count(store!)).toBe(2 * 2 + 3 * 2);
    expect((await ingester!.metrics.droppedSeries.get()).values).toEqual([
      expect.objectContaining({ labels: { tier: 'web' }, value: 2 }),
    ]);
  });

  it('shares the work between two ingesters on one consumer, each batch stored once', async () => {
    await setup({ concurrency: 2 });
    const second = new Ingester({
      nc,
      store: store!,
      config: ingestConfigSchema.parse({ concurrency: 2 }),
      logger,
      registry: new Registry(),
    });
    await ingester!.start();
    await second.start();
    try {
      await publishAll(
        nc,
        Array.from({ length: 60 }, (_, i) => ({
          id: `shared-${i}`,
          data: encodeBatch(
            metricBatch(`shared-${i}`, {
              host: `h-${i}`,
              series: 10,
              points: 10,
              start: now - 60_000,
            }),
          ),
        })),
      );
      const stored = async (i: Ingester) =>
        (await i.metrics.batches.get()).values.reduce((n, v) => n + v.value, 0);
      // Rows turn visible a moment before the inserting ingester counts them: wait for both.
      await until(
        async () =>
          (await count(store!)) === 6000 &&
          (await stored(ingester!)) + (await stored(second)) >= 60,
        'all 60 batches',
        60_000,
      );
      const [a, b] = [await stored(ingester!), await stored(second)];
      expect(a + b).toBe(60);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      expect(await distinctPoints(store!)).toBe(6000);
    } finally {
      await second.stop(2000);
    }
  });
});
