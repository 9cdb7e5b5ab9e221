// The alerter's leader lease against a real nats-server: one leader at a time, fast handover on
// stop, takeover only after a killed leader's key expired, and no leading without renewals.

import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease, type LeaseOptions } from '../alerter/ha/lease.ts';
import { BusError, ConfigError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { startProcess } from './helpers/process.ts';
import { until } from './helpers/wait.ts';

const root = join(import.meta.dirname, '..');
const fixture = join(import.meta.dirname, 'fixtures', 'lease-holder.ts');
const KEY = 'leader';

let nats: TestNats;
const connections: NatsConnection[] = [];
const leases: Lease[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(leases.map((lease) => lease.stop()));
  await Promise.all(connections.map((nc) => nc.close()));
  await nats?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return nc;
}

let buckets = 0;
/** Each test its own bucket, so that no lease outlives its test into the next. */
const newBucket = () => `lease_test_${++buckets}`;

/** A replica on its own connection, as in two processes. */
async function replica(
  bucket: string,
  holder: string,
  options: Partial<LeaseOptions> = {},
): Promise<Lease> {
  const lease = await Lease.open({
    nc: await connection(),
    bucket,
    ttlMs: 3000,
    holder,
    logger: silentLogger(),
    ...options,
  });
  leases.push(lease);
  return lease;
}

/** The bucket as an outsider sees it, to read or meddle with the key. */
async function rawBucket(bucket: string): Promise<KV> {
  return new Kvm(await connection()).open(bucket);
}

describe('Lease', () => {
  it('lets exactly one of two replicas lead, and holder() names it', async () => {
    const bucket = newBucket();
    const a = await replica(bucket, 'replica-a');
    const b = await replica(bucket, 'replica-b');

    const results = await Promise.all([a.tick(), b.tick()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [leader, follower] = results[0] ? [a, b] : [b, a];
    const name = results[0] ? 'replica-a' : 'replica-b';
    expect(leader.leading).toBe(true);
    expect(follower.leading).toBe(false);

    // Renewing keeps it; the follower keeps losing.
    for (let i = 0; i < 3; i++) {
      expect(await leader.tick()).toBe(true);
      expect(await follower.tick()).toBe(false);
    }
    const seenByA = await a.holder();
    const seenByB = await b.holder();
    expect(seenByA?.holder).toBe(name);
    expect(seenByB).toEqual(seenByA);
    expect(seenByA!.since).toBeLessThanOrEqual(Date.now());
    expect(seenByA!.since).toBeGreaterThan(Date.now() - 10_000);
  });

  it('hands over at once when the leader stops gracefully', async () => {
    const bucket = newBucket();
    const a = await replica(bucket, 'replica-a', { ttlMs: 10_000 });
    const b = await replica(bucket, 'replica-b', { ttlMs: 10_000 });
    expect(await a.tick()).toBe(true);
    expect(await b.tick()).toBe(false);

    const stoppedAt = performance.now();
    await a.stop();
    expect(a.leading).toBe(false);
    expect(await a.tick()).toBe(false); // a stopped lease does not take it back
    expect(await b.tick()).toBe(true);
    // Far inside the 10 s ttl: the key was released, not left to expire.
    expect(performance.now() - stoppedAt).toBeLessThan(1000);
    expect((await b.holder())?.holder).toBe('replica-b');
  });

  it('takes over from a leader killed with SIGKILL only after its key expired', async () => {
    const bucket = newBucket();
    const ttlMs = 1500;
    const period = ttlMs / 3;
    const child = await startProcess(
      process.execPath,
      ['--import', 'tsx', fixture, nats.url, bucket, String(ttlMs), 'child-replica'],
      { cwd: root, ready: /^leading$/m, timeoutMs: 20_000 },
    );
    const kv = await rawBucket(bucket);
    const lease = await replica(bucket, 'test-replica', { ttlMs });
    let tookOverAt: number | undefined;
    lease.start((leading) => {
      if (leading) tookOverAt ??= Date.now();
    });

    // While the child renews, this replica follows through several of its own ticks.
    await sleep(ttlMs);
    expect(lease.leading).toBe(false);
    expect(tookOverAt).toBeUndefined();
    expect((await lease.holder())?.holder).toBe('child-replica');

    const killedAt = Date.now();
    await child.stop('SIGKILL');
    // The child's last renewal, as the server stamped it: the key is fresh until ttl after it.
    const last = await kv.get(KEY);
    expect(last?.operation).toBe('PUT');
    const renewedAt = last!.created.getTime();
    expect(killedAt - renewedAt).toBeLessThanOrEqual(period + 100);

    await until(async () => tookOverAt !== undefined, 'the test replica to lead', 10_000);
    const takenAt = tookOverAt!;
    expect(takenAt).toBeGreaterThanOrEqual(renewedAt + ttlMs);
    // Slack for the round trip and for timers late under load.
    expect(takenAt - killedAt).toBeLessThanOrEqual(ttlMs + period + 250);
    expect(lease.leading).toBe(true);
    expect((await lease.holder())?.holder).toBe('test-replica');
  });

  it.each([
    {
      name: 'another holder overwrote the key',
      meddle: (kv: KV) =>
        kv.put(KEY, JSON.stringify({ holder: 'intruder', since: Date.now() })).then(() => {}),
      holderAfter: 'intruder',
    },
    { name: 'the key was deleted from outside', meddle: (kv: KV) => kv.delete(KEY) },
  ])('stops leading at its next tick when $name', async ({ meddle, holderAfter }) => {
    const bucket = newBucket();
    const lines: Array<{ msg: string; reason?: string }> = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const lease = await replica(bucket, 'replica-a', { logger });
    expect(await lease.tick()).toBe(true);

    await meddle(await rawBucket(bucket));
    expect(await lease.tick()).toBe(false);
    expect(lease.leading).toBe(false);
    expect((await lease.holder())?.holder).toBe(holderAfter);
    expect(lines.map((line) => line.msg)).toEqual([
      'lease acquired; leading',
      'lease lost; not leading',
    ]);
    expect(lines[1]?.reason).toMatch(holderAfter ? /held by intruder/ : /deleted/);
  });

  it('keeps the lease when a write of its own landed but the reply was lost', async () => {
    const bucket = newBucket();
    const lease = await replica(bucket, 'replica-a');
    expect(await lease.tick()).toBe(true);
    // Writing the leader's own value again moves the revision on, as a renewal whose reply timed
    // out would: the next renewal is refused, yet the key is still this replica's.
    const kv = await rawBucket(bucket);
    const entry = await kv.get(KEY);
    await kv.put(KEY, entry!.value);
    expect(await lease.tick()).toBe(true);
    expect(lease.leading).toBe(true);
    expect((await kv.get(KEY))!.revision).toBeGreaterThan(entry!.revision + 1);
  });

  it('stops leading once its last renewal is older than 2/3 of the ttl, errors or not', async () => {
    const lease = await replica(newBucket(), 'replica-a', { ttlMs: 900 });
    expect(await lease.tick()).toBe(true);
    await sleep(450);
    expect(lease.leading).toBe(true);
    await sleep(200); // 650 ms > 600 ms: no tick happened, so no renewal
    expect(lease.leading).toBe(false);
    expect(await lease.tick()).toBe(true); // the key was still ours: renewed, leading again
  });

  it('stops leading within 2/3 of the ttl when NATS stops answering', async () => {
    const ttlMs = 900;
    const lease = await replica(newBucket(), 'replica-a', { ttlMs });
    const changes: Array<{ leading: boolean; at: number }> = [];
    lease.start((leading) => changes.push({ leading, at: performance.now() }));
    await until(async () => lease.leading, 'the lease to lead', 5000);

    process.kill(nats.pid, 'SIGSTOP');
    const frozenAt = performance.now();
    try {
      await until(async () => changes.length === 2, 'the lease to stop leading', 5000);
    } finally {
      process.kill(nats.pid, 'SIGCONT');
    }
    expect(changes.map((change) => change.leading)).toEqual([true, false]);
    // The last renewal was sent before the freeze, so its validity ends by frozenAt + 600 ms.
    expect(changes[1]!.at - frozenAt).toBeLessThanOrEqual((ttlMs * 2) / 3 + 100);
    // Once NATS answers again it renews (the key never changed hands) and leads again.
    await until(async () => lease.leading, 'the lease to lead again', 5000);
  });

  it('reports false, not an error, when its connection is closed', async () => {
    const nc = await connection();
    const lease = await Lease.open({
      nc,
      bucket: newBucket(),
      ttlMs: 3000,
      holder: 'replica-a',
      logger: silentLogger(),
    });
    expect(await lease.tick()).toBe(true);
    await nc.close();
    expect(await lease.tick()).toBe(false);
    expect(lease.leading).toBe(false);
    await lease.stop(); // the release fails too, quietly
  });

  it('opens the same bucket twice, and refuses one with another ttl', async () => {
    const bucket = newBucket();
    const first = await replica(bucket, 'replica-a');
    const second = await replica(bucket, 'replica-b');
    expect(await first.tick()).toBe(true);
    expect(await second.tick()).toBe(false);

    const other = replica(bucket, 'replica-c', { ttlMs: 5000 });
    await expect(other).rejects.toThrow(BusError);
    await expect(other).rejects.toThrow(
      /exists with ttl 3000 ms but this replica asks for 5000 ms/,
    );
  });

  it.each([
    { name: 'a ttl under 300 ms', options: { ttlMs: 100 }, message: /ttlMs .* got 100/ },
    { name: 'an empty holder', options: { holder: '' }, message: /holder must be/ },
    { name: 'zero replicas', options: { replicas: 0 }, message: /replicas .* got 0/ },
  ])('refuses $name before touching NATS', async ({ options, message }) => {
    const opening = replica(newBucket(), 'replica-a', options);
    await expect(opening).rejects.toThrow(ConfigError);
    await expect(opening).rejects.toThrow(message);
  });
});
