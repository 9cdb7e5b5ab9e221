// `halo ingest` killed with SIGKILL at random moments while 1,000,000 samples stream in, and
// restarted each time: at the end ClickHouse holds exactly the samples sent, none twice.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';
import { encodeBatch, metricBatch, publishAll } from './helpers/batches.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');
const logger = silentLogger();
let nats: TestNats | undefined;
let nc: NatsConnection | undefined;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await nc?.close();
  await nats?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('halo ingest under SIGKILL', () => {
  it('stores exactly the samples sent', async () => {
    nats = await startNatsServer();
    const config = testConfig({ nats: { url: nats.url } });
    nc = await connectBus({ config, logger });
    await ensureStreams(nc, config, logger);
    const dir = tempDir();
    writeFileSync(
      join(dir, 'halo.yaml'),
      [
        `data_dir: ${join(dir, 'data')}`,
        'log: { level: warn }',
        `http: { port: ${await freePort()} }`,
        `nats: { url: "${nats.url}" }`,
        // A short ack wait, so the batches a killed ingester held come back quickly.
        'ingest: { ack_wait: 2s, concurrency: 4 }',
        '',
      ].join('\n'),
    );
    const start = () => {
      const child = spawn(process.execPath, [bin, '--config', join(dir, 'halo.yaml'), 'ingest'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    };

    // 200 batches of 5,000 samples (50 series × 100 points), each series its own.
    const batches = 200;
    const base = Date.now() - 3_600_000;
    const payload = (i: number) => ({
      id: `crash-${i}`,
      data: encodeBatch(
        metricBatch(`crash-${i}`, { host: `host-${i}`, series: 50, points: 100, start: base }),
      ),
    });
    let ingester = start();
    const publishing = (async () => {
      for (let i = 0; i < batches; i += 10) {
        await publishAll(
          nc!,
          Array.from({ length: 10 }, (_, k) => payload(i + k)),
        );
        await sleep(150);
      }
    })();
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let kill = 0; kill < 4; kill++) {
      await sleep(1500 + random() * 2500);
      const exited = new Promise((resolve) => ingester.once('exit', resolve));
      ingester.kill('SIGKILL');
      await exited;
      ingester = start();
    }
    await publishing;

    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const info = await jsm.consumers.info(STREAMS.metrics, 'halo-ingest').catch(() => undefined);
      if (info && info.num_pending === 0 && info.num_ack_pending === 0) break;
      if (Date.now() > deadline) throw new Error('the ingester did not drain the stream');
      await sleep(250);
    }
    const stopped = new Promise((resolve) => ingester.once('exit', resolve));
    ingester.kill('SIGTERM');
    await stopped;

    const store = await openStore({ config: testConfig({ data_dir: join(dir, 'data') }), logger });
    try {
      const [row] = await store.query<{ n: string; distinct: string }>(
        sql`SELECT count() AS n, uniqExact(fingerprint, ts) AS distinct FROM ${ident(store.table('samples'))}`,
      );
      expect(Number(row?.n)).toBe(1_000_000);
      expect(Number(row?.distinct)).toBe(1_000_000);
      const [rollup] = await store.query<{ n: string }>(
        sql`SELECT sum(value_count) AS n FROM ${ident(store.table('samples1m'))}`,
      );
      expect(Number(rollup?.n)).toBe(1_000_000);
    } finally {
      await store.close();
    }
  }, 240_000);
});
