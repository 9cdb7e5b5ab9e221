// The HTTP intake's text import and what every route shares, against a real Halo (embedded
// chDB, local nats-server, ingester): timestamps, counters as deltas, a bad line mid-import,
// tokens and tier binding, size limits, 429 while the store is away, nothing secret logged.

import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startIntakeHalo, type IntakeHarness } from './helpers/intake.ts';
import { until } from './helpers/wait.ts';

let halo: IntakeHarness;
let logLines: string[];
const MINUTE = 60_000;
/** Whole minutes, a little in the past: within the ingester's age limit. */
const base = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;

beforeAll(async () => {
  const captured = capturedLogger('info');
  logLines = captured.lines;
  halo = await startIntakeHalo(
    {
      limits: { max_import: '64KiB', max_body: '16KiB' },
      backpressure: { max_pending_batches: 10 },
    },
    { logger: captured.logger },
  );
}, 60_000);

afterAll(async () => {
  await halo?.stop();
});

/** halo_intake_accepted_total of the text import, from Halo's /metrics. */
async function importAccepted(): Promise<number> {
  const text = await (await fetch(`${halo.url}/metrics`)).text();
  const line = /^halo_intake_accepted_total\{[^}]*route="import"[^}]*\} (\S+)$/m.exec(text);
  return Number(line?.[1] ?? 0);
}

const count = async (sql: string) => Number((await halo.query<{ n: string }>(sql))[0]?.n ?? 0);

describe('text import', () => {
  it('stores samples at their own timestamps, counters as deltas, gauges as they are', async () => {
    const lines = ['# HELP t1_requests_total Requests.', '# TYPE t1_requests_total counter'];
    for (let i = 0; i < 5; i++) {
      lines.push(
        `t1_requests_total{tier="web",host="web-1",job="shop",code="200"} ${100 + i * 10} ${base + i * 15_000}`,
      );
    }
    lines.push('# TYPE t1_temperature gauge');
    for (let i = 0; i < 5; i++)
      lines.push(`t1_temperature{host="web-1",tier="web"} ${20 + i} ${base + i * 15_000}`);
    const response = await halo.post('/api/v1/import/prometheus', lines.join('\n') + '\n');
    expect(response.status).toBe(204);
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name LIKE 't1_%'`)) === 9,
      't1 rows',
    );
    const counter = await halo.query<{
      tier: string;
      host: string;
      service: string;
      labels: Record<string, string>;
      ts: string;
      value: number;
    }>(
      `SELECT tier, host, service, labels, toUnixTimestamp64Milli(ts) AS ts, value FROM samples WHERE name = 't1_requests_total' ORDER BY ts`,
    );
    // The first point is the baseline; each later one the increase since the one before.
    expect(counter.map((r) => r.value)).toEqual([10, 10, 10, 10]);
    expect(counter.map((r) => Number(r.ts))).toEqual([1, 2, 3, 4].map((i) => base + i * 15_000));
    expect(counter[0]).toMatchObject({
      tier: 'web',
      host: 'web-1',
      service: 'shop',
      labels: { code: '200' },
    });
    const gauge = await halo.query<{ value: number }>(
      `SELECT value FROM samples WHERE name = 't1_temperature' ORDER BY ts`,
    );
    expect(gauge.map((r) => r.value)).toEqual([20, 21, 22, 23, 24]);
  });

  it('takes lines without a timestamp at the time of the import, and untyped _total as a counter', async () => {
    const before = Date.now();
    expect(
      (
        await halo.post(
          '/api/v1/import/prometheus',
          't2_jobs_total{tier="app"} 5\nt2_jobs_total{tier="app"} 7 ' + (before + 1000) + '\n',
        )
      ).status,
    ).toBe(204);
    await until(
      async () =>
        (await count(`SELECT count() AS n FROM samples WHERE name = 't2_jobs_total'`)) === 1,
      't2 rows',
    );
    const rows = await halo.query<{ value: number; host: string }>(
      `SELECT value, host FROM samples WHERE name = 't2_jobs_total'`,
    );
    expect(rows).toEqual([{ value: 2, host: 'unknown' }]);
  });

  it('names the first bad line with a 400 and still takes every good line, streamed in pieces', async () => {
    const good = (i: number) => `t3_level{tier="db",host="db-1",n="${i}"} ${i} ${base + i}\n`;
    const text = [
      good(1),
      good(2),
      't3_level{tier="db" 3\n',
      good(4),
      'not a sample at all\n',
      good(5),
    ].join('');
    // Cut mid-line, so lines span the pieces of the body as they would over a slow network.
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
        controller.close();
      },
    });
    const response = await halo.post('/api/v1/import/prometheus', body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: string };
    expect(answer.error).toContain('2 refused');
    expect(answer.error).toContain('line 3: unterminated label set');
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name = 't3_level'`)) === 4,
      't3 rows',
    );
    const values = await halo.query<{ value: number }>(
      `SELECT value FROM samples WHERE name = 't3_level' ORDER BY value`,
    );
    expect(values.map((r) => r.value)).toEqual([1, 2, 4, 5]);
  });

  it('takes a gzip- or deflate-compressed import, and refuses an encoding it cannot undo', async () => {
    const text = Array.from(
      { length: 100 },
      (_, i) => `t9_zipped{tier="web",n="${i}"} ${i} ${base}\n`,
    ).join('');
    const response = await halo.post('/api/v1/import/prometheus', gzipSync(text), halo.token, {
      'Content-Encoding': 'gzip',
    });
    expect(response.status).toBe(204);
    await until(
      async () =>
        (await count(`SELECT count() AS n FROM samples WHERE name = 't9_zipped'`)) === 100,
      't9 rows',
    );
    expect(await count(`SELECT sum(value) AS n FROM samples WHERE name = 't9_zipped'`)).toBe(4950);
    const broken = await halo.post(
      '/api/v1/import/prometheus',
      gzipSync(text).subarray(0, 40),
      halo.token,
      {
        'Content-Encoding': 'gzip',
      },
    );
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toContain('not valid gzip');
    const unknown = await halo.post('/api/v1/import/prometheus', text, halo.token, {
      'Content-Encoding': 'br',
    });
    expect(unknown.status).toBe(415);
    expect(((await unknown.json()) as { error: string }).error).toBe(
      'Content-Encoding "br" is not supported (gzip, deflate or none)',
    );
    const deflated = text.replaceAll('t9_zipped', 't9_deflated');
    const inflated = await halo.post(
      '/api/v1/import/prometheus',
      deflateSync(deflated),
      halo.token,
      {
        'Content-Encoding': 'deflate',
      },
    );
    expect(inflated.status).toBe(204);
    await until(
      async () =>
        (await count(`SELECT count() AS n FROM samples WHERE name = 't9_deflated'`)) === 100,
      't9_deflated rows',
    );
  });

  it('refuses samples older than the ingester keeps, naming the line', async () => {
    const old = Date.now() - 30 * 86_400_000;
    const response = await halo.post(
      '/api/v1/import/prometheus',
      `t4_old{tier="web"} 1 ${old}\nt4_new{tier="web"} 1 ${base}\n`,
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /line 1: t4_old: timestamp .* older than ingest.limits.max_age/,
    );
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name = 't4_new'`)) === 1,
      't4 rows',
    );
  });

  it('stops at intake.limits.max_import with a 413, keeping the lines before', async () => {
    const line = (i: number) => `t5_big{tier="web",n="${i % 50}"} ${i} ${base + i}\n`;
    const text = Array.from({ length: 2000 }, (_, i) => line(i)).join('');
    expect(text.length).toBeGreaterThan(64 * 1024);
    // Declared up front: refused before anything is read.
    const declared = await halo.post('/api/v1/import/prometheus', text);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toContain(
      'intake.limits.max_import',
    );
    // Streamed without a length: cut where the limit is passed.
    const bytes = new TextEncoder().encode(text);
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16 * 1024)
          controller.enqueue(bytes.slice(i, i + 16 * 1024));
        controller.close();
      },
    });
    const acceptedBefore = await importAccepted();
    const response = await halo.post('/api/v1/import/prometheus', streamed);
    expect(response.status).toBe(413);
    const taken = Number(
      /the (\d+) lines before were taken/.exec(
        ((await response.json()) as { error: string }).error,
      )?.[1],
    );
    // Whole 16 KiB pieces up to the limit: at least three of them, never past 64 KiB.
    expect(taken).toBeGreaterThan(1000);
    expect(taken).toBeLessThan(2000);
    // The intake's own metrics count what it took, cut short or not.
    expect((await importAccepted()) - acceptedBefore).toBe(taken);
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name = 't5_big'`)) === taken,
      't5 rows',
    );
  });
});

describe('bounds the ingester keeps', () => {
  it('keeps a log record with too many or too long attribute names, trimmed, rather than lose its batch', async () => {
    const attributes = [
      { key: 'x'.repeat(200), value: { stringValue: 'too long a name' } },
      ...Array.from({ length: 40 }, (_, i) => ({
        key: `attr.${i}`,
        value: { intValue: String(i) },
      })),
    ];
    const response = await halo.post(
      '/v1/logs',
      JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bounds' } }] },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: String(BigInt(base) * 1_000_000n),
                    body: { stringValue: 'many attributes' },
                    attributes,
                  },
                ],
              },
            ],
          },
        ],
      }),
      halo.token,
      { 'Content-Type': 'application/json' },
    );
    expect(response.status).toBe(200);
    await until(
      async () => (await count(`SELECT count() AS n FROM logs WHERE service = 'bounds'`)) === 1,
      'the record',
    );
    const [row] = await halo.query<{ n: string; first: string }>(
      `SELECT length(attributes) AS n, attributes['attr_0'] AS first FROM logs WHERE service = 'bounds'`,
    );
    expect(row).toEqual({ n: '32', first: '0' });
  });
});

describe('tokens', () => {
  it('refuses a request without a token, or with a wrong one, and logs neither', async () => {
    const none = await halo.post('/api/v1/import/prometheus', 't6{tier="web"} 1\n', null);
    expect(none.status).toBe(401);
    const wrong = await halo.post(
      '/api/v1/import/prometheus',
      't6{tier="web"} 1\n',
      'not-the-token-0123456789',
    );
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('the bearer token is not valid');
    const text = logLines.join('\n');
    expect(text).toContain('intake request refused');
    expect(text).not.toContain('not-the-token-0123456789');
    expect(text).not.toContain(halo.token);
  });

  it('a token bound to a tier stores untiered data in its tier and refuses other tiers', async () => {
    const response = await halo.post(
      '/api/v1/import/prometheus',
      `t7_up{host="web-9"} 1 ${base}\nt7_up{tier="db",host="db-9"} 1 ${base}\n`,
      halo.tierToken,
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain(
      'tier "db" is not the tier of token "web-only" (web)',
    );
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name = 't7_up'`)) === 1,
      't7 rows',
    );
    expect(await halo.query(`SELECT tier, host FROM samples WHERE name = 't7_up'`)).toEqual([
      { tier: 'web', host: 'web-9' },
    ]);
  });
});

describe('backpressure', () => {
  it('answers 429 with Retry-After while the store is away, and takes data again once it is back', async () => {
    const samples = (tag: string) =>
      Array.from(
        { length: 30 },
        (_, i) => `t8_${tag}{tier="web",host="h-${i}"} ${i} ${base + i}\n`,
      ).join('');
    await halo.store.command(`DETACH TABLE ${halo.store.table('samples')}`);
    try {
      // Each host is its own batch: the ingester holds them unacked while inserts fail.
      expect((await halo.post('/api/v1/import/prometheus', samples('a'))).status).toBe(204);
      let refused: Response | undefined;
      await until(
        async () => {
          const probe = await halo.post('/api/v1/import/prometheus', samples('b'));
          if (probe.status === 429) refused = probe;
          else void probe.body?.cancel();
          return refused !== undefined;
        },
        'a 429',
        30_000,
      );
      expect(refused!.headers.get('retry-after')).toBe('5');
      expect(((await refused!.json()) as { error: string }).error).toMatch(
        /batches wait for the ingesters/,
      );
    } finally {
      await halo.store.command(`ATTACH TABLE ${halo.store.table('samples')}`);
    }
    await until(
      async () => (await halo.post('/api/v1/import/prometheus', samples('c'))).status === 204,
      'a 204 again',
      60_000,
    );
    await until(
      async () => (await count(`SELECT count() AS n FROM samples WHERE name = 't8_a'`)) === 30,
      't8_a rows',
      60_000,
    );
  }, 120_000);
});
