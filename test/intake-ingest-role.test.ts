// `halo ingest` as a process serves the intake on its HTTP port: a text import and an OTLP/JSON
// log record land in its store, /v1/* reaches the intake, and the token never reaches its log.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';
import { testConfig } from './helpers/config.ts';
import { haloEnv } from './helpers/halo-process.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');
const TOKEN = 'ingest-role-token-5f2a9c1e7b';
let nats: TestNats | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await nats?.stop();
});

describe('halo ingest', () => {
  it('takes a text import and OTLP logs over HTTP into its store', async () => {
    nats = await startNatsServer();
    const dir = tempDir('halo-intake-role-');
    const port = await freePort();
    writeFileSync(
      join(dir, 'halo.yaml'),
      [
        `data_dir: ${join(dir, 'data')}`,
        'log: { level: info }',
        `http: { address: 127.0.0.1, port: ${port} }`,
        `nats: { url: "${nats.url}" }`,
        `intake: { tokens: [{ name: ci, token: ${TOKEN} }] }`,
        '',
      ].join('\n'),
    );
    let output = '';
    child = spawn(process.execPath, [bin, '--config', join(dir, 'halo.yaml'), 'ingest'], {
      env: haloEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const ts = Date.now() - 60_000;
    await until(
      async () =>
        (
          await fetch(`${url}/api/v1/import/prometheus`, {
            method: 'POST',
            headers: auth,
            body: `role_import_level{tier="web",host="web-1"} 3.5 ${ts}\n`,
          })
        ).status === 204,
      'the import to be taken',
      60_000,
    );
    const logs = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'shop' } },
                { key: 'host.name', value: { stringValue: 'app-1' } },
              ],
            },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: String(BigInt(ts) * 1_000_000n),
                    severityNumber: 17,
                    body: { stringValue: 'payment declined' },
                    attributes: [{ key: 'order.id', value: { intValue: '42' } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(logs.status).toBe(200);
    const wrong = await fetch(`${url}/api/v1/import/prometheus`, {
      method: 'POST',
      headers: { Authorization: 'Bearer wrong-token-0000' },
      body: 'x 1\n',
    });
    expect(wrong.status).toBe(401);
    // Give the ingester its insert wait, then stop it and read its store.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    expect(output).toContain('intake request refused');
    expect(output).not.toContain(TOKEN);
    expect(output).not.toContain('wrong-token-0000');

    const store = await openStore({
      config: testConfig({ data_dir: join(dir, 'data') }),
      logger: silentLogger(),
    });
    try {
      const samples = await store.query<{ tier: string; host: string; value: number }>(
        sql`SELECT tier, host, value FROM ${ident(store.table('samples'))} WHERE name = 'role_import_level'`,
      );
      expect(samples).toEqual([{ tier: 'web', host: 'web-1', value: 3.5 }]);
      const records = await store.query<{
        host: string;
        service: string;
        severity: string;
        body: string;
        attributes: Record<string, string>;
      }>(sql`SELECT host, service, severity, body, attributes FROM ${ident(store.table('logs'))}`);
      expect(records).toEqual([
        {
          host: 'app-1',
          service: 'shop',
          severity: 'error',
          body: 'payment declined',
          attributes: { order_id: '42' },
        },
      ]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
