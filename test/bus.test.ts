// The bus on a real nats-server: idempotent streams, limits updated on config change,
// duplicate window, authentication errors without secrets, and the local server's own errors.

import { createServer } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus } from '../core/bus/connect.ts';
import { startLocalNats } from '../core/bus/local-server.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { MSG_ID_HEADER, metricsSubject, STREAMS } from '../core/conventions.ts';
import { BusError, StartupError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';

let server: TestNats;
let authServer: TestNats;
beforeAll(async () => {
  [server, authServer] = await Promise.all([
    startNatsServer(),
    startNatsServer(['--user', 'halo', '--pass', 'Sup3r-s3cret']),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), authServer?.stop()]);
});

const logger = silentLogger();

describe('JetStream streams', () => {
  it('are created once, left alone when unchanged, and updated when their limits change', async () => {
    const config = testConfig({ nats: { url: server.url } });
    const nc = await connectBus({ config, logger });
    try {
      expect(await ensureStreams(nc, config, logger)).toEqual({
        metrics: 'created',
        logs: 'created',
        deadLetters: 'created',
      });
      expect(await ensureStreams(nc, config, logger)).toEqual({
        metrics: 'unchanged',
        logs: 'unchanged',
        deadLetters: 'unchanged',
      });

      const changed = testConfig({
        nats: {
          url: server.url,
          streams: { duplicate_window: '1m', metrics: { max_age: '2h', max_bytes: '64MiB' } },
        },
      });
      expect(await ensureStreams(nc, changed, logger)).toEqual({
        metrics: 'updated',
        logs: 'updated',
        deadLetters: 'updated',
      });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(STREAMS.metrics);
      expect(info.config.max_age).toBe(2 * 3600 * 1e9);
      expect(info.config.max_bytes).toBe(64 * 2 ** 20);
      expect(info.config.duplicate_window).toBe(60 * 1e9);
      expect(info.config.subjects).toEqual(['halo.metrics.>']);
      expect((await jsm.streams.info(STREAMS.deadLetters)).config.max_age).toBe(7 * 86400 * 1e9);
    } finally {
      await nc.drain();
    }
  });

  it('drop a batch published twice with the same Nats-Msg-Id', async () => {
    const config = testConfig({ nats: { url: server.url } });
    const nc = await connectBus({ config, logger });
    try {
      await ensureStreams(nc, config, logger);
      const js = jetstream(nc);
      const subject = metricsSubject('web', 'web-1.example.com');
      const h = headers();
      h.set(MSG_ID_HEADER, 'web-1:batch-42');
      const first = await js.publish(subject, 'batch', { headers: h });
      const second = await js.publish(subject, 'batch', { headers: h });
      expect(first.duplicate).toBe(false);
      expect(second.duplicate).toBe(true);
      expect(second.seq).toBe(first.seq);
    } finally {
      await nc.drain();
    }
  });
});

describe('connection errors are one clear line, without secrets', () => {
  it('wrong credentials are an authorization error that does not repeat the password', async () => {
    const config = testConfig({
      nats: { url: authServer.url, user: 'halo', password: 'Wr0ng-s3cret' },
    });
    const err = await connectBus({ config, logger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusError);
    expect((err as Error).message).toBe(
      `nats at ${authServer.url} refused the credentials (authorization violation)`,
    );
    expect(JSON.stringify(err) + String((err as Error).stack)).not.toContain('Wr0ng-s3cret');
  });

  it('the right credentials connect', async () => {
    const config = testConfig({
      nats: { url: authServer.url, user: 'halo', password: 'Sup3r-s3cret' },
    });
    const nc = await connectBus({ config, logger });
    await nc.close();
  });

  it('a server that is not there is unreachable', async () => {
    const port = await freePort();
    const config = testConfig({ nats: { url: `nats://127.0.0.1:${port}`, connect_timeout: '1s' } });
    await expect(connectBus({ config, logger })).rejects.toThrow(
      `nats at nats://127.0.0.1:${port} is unreachable`,
    );
  });
});

describe('the local nats-server', () => {
  it('that is not installed says how to install it', async () => {
    const start = startLocalNats({
      dir: tempDir(),
      binary: 'nats-server-not-here',
      address: '127.0.0.1',
      port: 0,
      logger,
    });
    await expect(start).rejects.toBeInstanceOf(StartupError);
    await expect(start).rejects.toThrow(
      'nats-server-not-here is not installed: install it with `apt-get install nats-server` (Debian/Ubuntu) or `brew install nats-server`',
    );
  });

  it('on a port in use fails with the server’s reason', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => {
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port));
    });
    try {
      const start = startLocalNats({
        dir: tempDir(),
        binary: 'nats-server',
        address: '127.0.0.1',
        port,
        logger,
      });
      await expect(start).rejects.toThrow(
        /nats-server exited during start .*address already in use/,
      );
    } finally {
      blocker.close();
    }
  });

  it('stops an orphan left running on the same store by a killed Halo', async () => {
    const dir = tempDir();
    const first = await startLocalNats({
      dir,
      binary: 'nats-server',
      address: '127.0.0.1',
      port: 0,
      logger,
    });
    // As if Halo had been killed: nobody calls first.stop(). A new start must clear it away.
    const second = await startLocalNats({
      dir,
      binary: 'nats-server',
      address: '127.0.0.1',
      port: 0,
      logger,
    });
    expect(() => process.kill(first.pid, 0)).toThrow();
    await second.stop();
    expect(() => process.kill(second.pid, 0)).toThrow();
  });
});

describe('the local nats-server when Halo is killed outright', () => {
  it('stops with its parent (parent-death signal)', async () => {
    const dir = tempDir();
    const script = `
      import { startLocalNats } from ${JSON.stringify(new URL('../core/bus/local-server.ts', import.meta.url).pathname)};
      import { silentLogger } from ${JSON.stringify(new URL('../core/logger.ts', import.meta.url).pathname)};
      const s = await startLocalNats({ dir: ${JSON.stringify(dir)}, binary: 'nats-server', address: '127.0.0.1', port: 0, logger: silentLogger() });
      process.stdout.write(String(s.pid) + '\\n');
      setInterval(() => undefined, 1000);
    `;
    const { spawn } = await import('node:child_process');
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const natsPid = await new Promise<number>((resolve) =>
      parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    expect(() => process.kill(natsPid, 0)).not.toThrow();
    parent.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        process.kill(natsPid, 0);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });
});
