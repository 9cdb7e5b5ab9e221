// The agent runtime on a real nats-server: deltas, batches in JetStream with ids, failing sources,
// the spool across an outage and a restart, and its bounds.

import { getEventListeners } from 'node:events';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../collector/agent/agent.ts';
import { agentConfigSchema } from '../collector/agent/config.ts';
import { DeltaTracker } from '../collector/agent/deltas.ts';
import { Spool } from '../collector/agent/spool.ts';
import { decodeBatch, fromWireNumber, type MetricBatch } from '../core/batch.ts';
import { BusLink } from '../core/bus/link.ts';
import { startLocalNats, type LocalNats } from '../core/bus/local-server.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { testConfig } from './helpers/config.ts';
import { sequenceSource, sequenceStates } from './helpers/fixture-sources.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';

const logger = silentLogger();
const definitions = [sequenceSource];
const agentSchema = agentConfigSchema(definitions);

describe('counter deltas', () => {
  it.each([
    ['the first sight of a counter publishes nothing', [[10]], [[]]],
    ['later collections publish the increase', [[10], [15], [15]], [[], [5], [0]]],
    ['a reset counts from zero', [[10], [3]], [[], [3]]],
    [
      'a counter that vanished starts over when it returns',
      [[10], [], [12], [13]],
      [[], [], [], [1]],
    ],
  ])('%s', (_name, collections, expected) => {
    const tracker = new DeltaTracker();
    const out = collections.map((values) =>
      tracker
        .apply(
          values.map((value) => ({
            name: 'c_total',
            labels: { a: '1' },
            value,
            type: 'counter' as const,
          })),
        )
        .map((s) => s.value),
    );
    expect(out).toEqual(expected);
  });

  it('passes gauges through and skips counters that are not finite', () => {
    const tracker = new DeltaTracker();
    tracker.apply([{ name: 'c', labels: {}, value: 1, type: 'counter' }]);
    const out = tracker.apply([
      { name: 'g', labels: {}, value: NaN, type: 'gauge' },
      { name: 'c', labels: {}, value: NaN, type: 'counter' },
    ]);
    expect(out.map((s) => s.name)).toEqual(['g']);
  });
});

describe('the spool', () => {
  it('keeps batches in order across a reopen and drops the oldest past its bound, counted', async () => {
    const dir = tempDir();
    const dropped: string[] = [];
    const open = (maxBytes: number) =>
      Spool.open({ dir, maxBytes, fsync: false, logger, onDrop: (e) => dropped.push(e.id) });
    const spool = await open(10_000);
    for (let i = 1; i <= 5; i++)
      await spool.append({ id: `b${i}`, subject: 's', samples: 1 }, new Uint8Array(1000));
    writeFileSync(join(dir, '0000000000000099.batch'), 'cut short by a crash');
    const again = await open(3500);
    expect(again.head(10).map((e) => e.id)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect(readdirSync(dir)).not.toContain('0000000000000099.batch');
    await again.append({ id: 'b6', subject: 's', samples: 1 }, new Uint8Array(1000));
    expect(again.head(10).map((e) => e.id)).toEqual(['b4', 'b5', 'b6']);
    expect(dropped).toEqual(['b1', 'b2', 'b3']);
    expect(again.bytes).toBeLessThanOrEqual(3500);
  });

  it('leaves no listener on the stop signal after each wait for data', async () => {
    const spool = await Spool.open({ dir: tempDir(), maxBytes: 1e6, fsync: false, logger });
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) {
      const waiting = spool.waitForData(stop.signal);
      await spool.append({ id: `b${i}`, subject: 's', samples: 1 }, new Uint8Array(10));
      await waiting;
      await spool.remove(spool.head(1)[0]!);
    }
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});

async function readStream(
  nc: NatsConnection,
  stream: string,
): Promise<Array<{ seq: number; id: string; batch: MetricBatch }>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const out: Array<{ seq: number; id: string; batch: MetricBatch }> = [];
  for (
    let seq = info.state.first_seq;
    seq <= info.state.last_seq && info.state.messages > 0;
    seq++
  ) {
    const msg = await jsm.streams.getMessage(stream, { seq });
    if (!msg) continue;
    const decoded = decodeBatch(msg.data);
    if (!decoded.ok) throw new Error(decoded.reason);
    out.push({
      seq,
      id: msg.header?.get('Nats-Msg-Id') ?? '',
      batch: decoded.batch as MetricBatch,
    });
  }
  return out;
}

function points(batches: MetricBatch[], name: string): Array<[number, number]> {
  return batches.flatMap((b) =>
    b.series
      .filter((s) => s.name === name)
      .flatMap((s) => s.points.map(([ts, v]) => [ts, fromWireNumber(v)] as [number, number])),
  );
}

describe('the agent on a real nats-server', () => {
  const servers: LocalNats[] = [];
  const links: BusLink[] = [];
  afterAll(async () => {
    for (const link of links) await link.close();
    for (const s of servers) await s.stop();
  });

  async function nats(dir: string, port = 0): Promise<LocalNats> {
    const server = await startLocalNats({
      dir,
      binary: 'nats-server',
      address: '127.0.0.1',
      port,
      logger,
    });
    servers.push(server);
    return server;
  }

  it('publishes labelled samples with counter deltas, and reports a failing source as up 0', async () => {
    const server = await nats(tempDir());
    const config = testConfig({ nats: { url: server.url } });
    const link = new BusLink({ config, logger });
    links.push(link);
    const nc = await link.ready();
    await ensureStreams(nc, config, logger);
    const agentConfig = agentSchema.parse({
      tier: 'web',
      host: 'web-1.example.com',
      service: 'shop',
      labels: { env: 'test' },
      spool: { fsync: false },
      sources: [
        { type: 'sequence', name: 'ok', labels: { team: 'a' } },
        { type: 'sequence', name: 'broken', fail: true },
      ],
    });
    const agent = await Agent.create({
      config: agentConfig,
      dataDir: tempDir(),
      definitions,
      connection: () => link.current(),
      logger,
    });
    for (let i = 0; i < 3; i++) {
      await agent.collect('ok');
      await agent.collect('broken');
    }
    await agent.stop(5000);
    expect(agent.spool.length).toBe(0);

    const stored = await readStream(nc, STREAMS.metrics);
    const batches = stored.map((s) => s.batch);
    expect(stored.every((s) => s.id === s.batch.id && s.id.startsWith('web-1.example.com:'))).toBe(
      true,
    );
    expect(batches.every((b) => b.tier === 'web' && b.host === 'web-1.example.com')).toBe(true);
    const seq = batches.flatMap((b) => b.series.filter((s) => s.name === 'test_seq'));
    expect(seq[0]).toMatchObject({
      service: 'shop',
      labels: { quote: 'say "hi"\n✓', team: 'a', env: 'test' },
    });
    expect(points(batches, 'test_seq').map(([, v]) => v)).toEqual([1, 2, 3]);
    // The counter grows by 2 each time: nothing the first time, then deltas of 2.
    expect(points(batches, 'test_requests_total').map(([, v]) => v)).toEqual([2, 2]);
    const up = batches.flatMap((b) => b.series.filter((s) => s.name === 'halo_source_up'));
    const upBy = (source: string) =>
      up.filter((s) => s.labels['source'] === source).flatMap((s) => s.points.map(([, v]) => v));
    expect(upBy('ok')).toEqual([1, 1, 1]);
    expect(upBy('broken')).toEqual([0, 0, 0]);
    expect(await agent.metrics.sourceErrors.get()).toMatchObject({
      values: [{ labels: { source: 'broken' }, value: 3 }],
    });
  });

  it('keeps every sample through a 30 s NATS outage and an agent restart, once and in order', async () => {
    const natsDir = tempDir();
    const port = await freePort();
    const server = await nats(natsDir, port);
    const config = testConfig({ nats: { url: server.url, connect_timeout: '500ms' } });
    const setup = new BusLink({ config, logger });
    links.push(setup);
    await ensureStreams(await setup.ready(), config, logger);

    const dataDir = mkdtempSync(join(tempDir(), 'agent-'));
    const agentConfig = agentSchema.parse({
      tier: 'app',
      host: 'app-1',
      interval: '200ms',
      batch: { max_age: '100ms' },
      spool: { fsync: false },
      sources: [{ type: 'sequence', name: 'seq' }],
    });
    const start = async () => {
      const link = new BusLink({ config, logger, maxBackoffMs: 500 });
      links.push(link);
      const agent = await Agent.create({
        config: agentConfig,
        dataDir,
        definitions,
        connection: () => link.current(),
        logger,
      });
      agent.start();
      // As when the process exits: the agent stops, then its connection goes with it.
      return {
        agent,
        stop: async (drainMs: number) => {
          await agent.stop(drainMs);
          await link.close();
        },
      };
    };
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    let run = await start();
    await sleep(1500);
    await server.stop(); // outage begins
    await sleep(15_000);
    await run.stop(200); // restarted in the middle of the outage
    run = await start();
    await sleep(15_000);
    expect(run.agent.spool.length).toBeGreaterThan(0);
    await nats(natsDir, port); // outage ends, on the same port and store
    await sleep(3000);
    await run.stop(10_000);
    expect(run.agent.spool.length).toBe(0);

    const reader = new BusLink({ config, logger });
    links.push(reader);
    const stored = await readStream(await reader.ready(), STREAMS.metrics);
    const seqPoints = points(
      stored.map((s) => s.batch),
      'test_seq',
    );
    // Two agent runs: the gauge counts from 1 in each; every collection appears exactly once.
    const runs = sequenceStates.filter((s) => s.name === 'seq').map((s) => s.state);
    expect(runs).toHaveLength(2);
    const collected = runs.flatMap((r) => r.collected);
    expect(collected.length).toBeGreaterThan(100);
    expect(seqPoints.map(([ts]) => ts)).toEqual(collected);
    expect(seqPoints.map(([, v]) => v)).toEqual(
      runs.flatMap((r) => r.collected.map((_, i) => i + 1)),
    );
    // In order: timestamps never go back in stream order.
    expect(seqPoints.every(([ts], i) => i === 0 || ts > seqPoints[i - 1]![0])).toBe(true);
  }, 60_000);
});

describe('batches', () => {
  it('stay under the NATS payload limit however many samples they are allowed', async () => {
    const { Batcher } = await import('../collector/agent/batcher.ts');
    const spool = await Spool.open({ dir: tempDir(), maxBytes: 1e9, fsync: false, logger });
    const batcher = new Batcher({
      tier: 'web',
      host: 'h',
      spool,
      maxSamples: 1_000_000,
      maxBytes: 256 * 1024,
      maxAgeMs: 60_000,
    });
    const long = 'x'.repeat(200);
    batcher.add(
      Array.from({ length: 20_000 }, (_, i) => ({
        name: 'm',
        service: 's',
        labels: { path: `${long}"\\${i}` },
        ts: 1_700_000_000_000 + i,
        value: Math.PI * i,
      })),
    );
    await batcher.flush();
    const sizes = spool.head(1000).map((e) => e.bytes);
    expect(sizes.length).toBeGreaterThan(10);
    expect(Math.max(...sizes)).toBeLessThan(256 * 1024 + 1024);
    expect(spool.head(1000).reduce((n, e) => n + e.samples, 0)).toBe(20_000);
  });
});
