// `halo agent` as an operator runs it: log lines through rotation, truncation and SIGKILLs arrive
// in JetStream exactly once; the agent's own endpoints answer.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatch, type LogBatch } from '../core/batch.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');
const logger = silentLogger();
let nats: TestNats;
let nc: NatsConnection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  const config = testConfig({ nats: { url: nats.url } });
  nc = await connectBus({ config, logger });
  await ensureStreams(nc, config, logger);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await nc?.close();
  await nats?.stop();
});

async function logBodies(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.logs);
  const bodies: string[] = [];
  for (
    let seq = info.state.first_seq;
    info.state.messages > 0 && seq <= info.state.last_seq;
    seq++
  ) {
    const msg = await jsm.streams.getMessage(STREAMS.logs, { seq });
    if (!msg) continue;
    const decoded = decodeBatch(msg.data);
    if (!decoded.ok) throw new Error(decoded.reason);
    bodies.push(...(decoded.batch as LogBatch).records.map((r) => r.body));
  }
  return bodies;
}

const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i} "quoted" ✓\n`).join('');

describe('halo agent', () => {
  it('publishes every log line exactly once through rotation, truncation and SIGKILL', async () => {
    const dir = tempDir();
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const log = join(logs, 'app.log');
    const port = await freePort();
    writeFileSync(
      join(dir, 'halo.yaml'),
      [
        `data_dir: ${join(dir, 'data')}`,
        `http: { port: ${port} }`,
        `nats: { url: "${nats.url}" }`,
        'agent:',
        '  tier: app',
        '  host: app-1',
        '  interval: 200ms',
        '  batch: { max_age: 100ms }',
        '  sources:',
        '    - type: logs',
        `      paths: ["${logs}/*.log"]`,
        '      start_at: beginning',
        '      rotate_wait: 1s',
        '',
      ].join('\n'),
    );
    const start = () => {
      const child = spawn(process.execPath, [bin, '--config', join(dir, 'halo.yaml'), 'agent'], {
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    };
    const kill = async (child: ChildProcess) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    const distinct = async (n: number) => new Set(await logBodies()).size >= n;

    writeFileSync(log, lines(1, 100));
    let agent = start();
    await until(() => distinct(100), 'the first 100 lines');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/halo_agent_log_records_total\{source="logs",role="agent"\} \d+/);

    appendFileSync(log, lines(101, 200));
    await kill(agent); // wherever it was: reading, spooling or publishing
    renameSync(log, `${log}.1`); // rotated while the agent is down
    writeFileSync(log, lines(201, 300));
    agent = start();
    await until(() => distinct(300), 'lines up to 300');

    // Truncated in place once read, then written again; killed again right after.
    truncateSync(log, 0);
    appendFileSync(log, lines(301, 350));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await kill(agent);
    agent = start();
    await until(() => distinct(350), 'lines up to 350');
    const stopped = new Promise((resolve) => agent.once('exit', resolve));
    agent.kill('SIGTERM');
    await stopped;

    const bodies = await logBodies();
    const expected = lines(1, 350).split('\n').filter(Boolean);
    expect(bodies.sort()).toEqual(expected.sort());
  }, 90_000);
});
