// The prometheus source against a real prometheus-node-exporter, and against local HTTP servers
// playing the targets that are tricky, huge, slow, failing or OpenMetrics.

import { createServer, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../core/logger.ts';
import {
  ACCEPT,
  prometheusOptions,
  prometheusSource,
} from '../collector/agent/sources/prometheus.ts';
import type { RawSample, SourceContext } from '../collector/agent/types.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import { startNodeExporter } from './helpers/tier-servers.ts';

const TOKEN = 'tok-3f9a-very-secret';

const stateDir = tempDir('halo-state-');

const context = (timeoutMs = 5000, logger: Logger = silentLogger()): SourceContext => ({
  signal: AbortSignal.timeout(timeoutMs),
  now: Date.now,
  logger,
});

function createSource(options: Record<string, unknown>) {
  return prometheusSource.create(prometheusOptions.parse(options), {
    name: 'app',
    logger: silentLogger(),
    stateDir,
    now: Date.now,
  });
}

async function scrape(options: Record<string, unknown>, timeoutMs?: number) {
  return (await createSource(options).collect(context(timeoutMs))).samples;
}

/** A logger that keeps its lines, to check what a collection logged. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const closers: Array<() => void> = [];
afterAll(() => {
  for (const close of closers.splice(0)) close();
});

/** A local HTTP target on a free loopback port; closed when the file ends. */
async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `http://127.0.0.1:${port}/metrics`;
}

/** A target that answers every request with this body (and records the request headers). */
async function serveBody(body: string, contentType = 'text/plain; version=0.0.4') {
  const requests: IncomingHttpHeaders[] = [];
  const url = await serve((req, res) => {
    requests.push(req.headers);
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
  });
  return { url, requests };
}

const find = (samples: RawSample[], name: string) => samples.filter((s) => s.name === name);

describe('the prometheus source against node_exporter', () => {
  let url = '';

  beforeAll(async () => {
    const textfiles = tempDir('halo-textfile-');
    // The textfile collector passes these through node_exporter's own parser and writer.
    writeFileSync(
      join(textfiles, 'app.prom'),
      [
        '# HELP app_latency_seconds Request latency.',
        '# TYPE app_latency_seconds histogram',
        'app_latency_seconds_bucket{le="0.1"} 3',
        'app_latency_seconds_bucket{le="1"} 7',
        'app_latency_seconds_bucket{le="+Inf"} 9',
        'app_latency_seconds_sum 4.5',
        'app_latency_seconds_count 9',
        '# HELP app_jobs_total Jobs run.',
        '# TYPE app_jobs_total counter',
        'app_jobs_total{tier="batch",host="worker-1",queue="say \\"hi\\"\\nC:\\\\tmp"} 42',
        '',
      ].join('\n'),
    );
    // Only collectors that work in a container, to keep the scrape small and quiet.
    ({ url } = await startNodeExporter(
      ['cpu', 'meminfo', 'loadavg', 'textfile'],
      [`--collector.textfile.directory=${textfiles}`],
    ));
  });

  it('reports CPU seconds as counters by cpu and mode', async () => {
    const cpu = find(await scrape({ url }), 'node_cpu_seconds_total');
    expect(cpu.length).toBeGreaterThanOrEqual(8);
    for (const sample of cpu) {
      expect(sample.type).toBe('counter');
      expect(Object.keys(sample.labels).sort()).toEqual(['cpu', 'mode']);
      expect(sample.value).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(cpu.map((s) => s.labels.mode))).toContain('idle');
    expect(cpu.find((s) => s.labels.mode === 'idle')!.value).toBeGreaterThan(0);
  });

  it('reports memory and load as gauges', async () => {
    const samples = await scrape({ url });
    const [memTotal] = find(samples, 'node_memory_MemTotal_bytes');
    expect(memTotal).toMatchObject({ type: 'gauge', labels: {} });
    expect(memTotal!.value).toBeGreaterThan(1024 * 1024);
    expect(find(samples, 'node_load1')[0]?.type).toBe('gauge');
  });

  it('reports a histogram as counters and a summary as quantile gauges and counters', async () => {
    const samples = await scrape({ url });
    const buckets = find(samples, 'app_latency_seconds_bucket');
    expect(buckets.map((s) => [s.labels.le, s.value, s.type])).toEqual([
      ['0.1', 3, 'counter'],
      ['1', 7, 'counter'],
      ['+Inf', 9, 'counter'],
    ]);
    expect(find(samples, 'app_latency_seconds_sum')[0]).toMatchObject({
      value: 4.5,
      type: 'counter',
    });
    expect(find(samples, 'app_latency_seconds_count')[0]).toMatchObject({
      value: 9,
      type: 'counter',
    });
    const gc = find(samples, 'go_gc_duration_seconds');
    expect(gc.length).toBeGreaterThan(0);
    expect(gc.every((s) => s.type === 'gauge' && s.labels.quantile !== undefined)).toBe(true);
    expect(find(samples, 'go_gc_duration_seconds_count')[0]?.type).toBe('counter');
  });

  it('keeps a target label named tier or host as exported_tier and exported_host', async () => {
    const samples = await scrape({ url });
    expect(find(samples, 'app_jobs_total')).toEqual([
      {
        name: 'app_jobs_total',
        labels: { exported_tier: 'batch', exported_host: 'worker-1', queue: 'say "hi"\nC:\\tmp' },
        value: 42,
        type: 'counter',
        ts: undefined,
      },
    ]);
    for (const sample of samples) {
      expect(Object.keys(sample.labels)).not.toContain('tier');
      expect(Object.keys(sample.labels)).not.toContain('host');
      expect(Object.keys(sample.labels)).not.toContain('service');
    }
  });

  it('applies metric_relabel_configs: keep, drop and replace', async () => {
    const samples = await scrape({
      url,
      metric_relabel_configs: [
        {
          source_labels: ['__name__'],
          regex: 'node_(cpu_seconds_total|memory_MemTotal_bytes)',
          action: 'keep',
        },
        { source_labels: ['mode'], regex: 'idle|iowait', action: 'drop' },
        { source_labels: ['cpu'], regex: '(.+)', target_label: 'core', replacement: 'core-$1' },
        { regex: 'cpu', action: 'labeldrop' },
      ],
    });
    const names = new Set(samples.map((s) => s.name));
    expect([...names].sort()).toEqual(['node_cpu_seconds_total', 'node_memory_MemTotal_bytes']);
    const cpu = find(samples, 'node_cpu_seconds_total');
    expect(cpu.length).toBeGreaterThan(0);
    for (const sample of cpu) {
      expect(['idle', 'iowait']).not.toContain(sample.labels.mode);
      expect(sample.labels.core).toMatch(/^core-\d+$/);
      expect(sample.labels.cpu).toBeUndefined();
      expect(sample.type).toBe('counter');
    }
  });
});

describe('the prometheus source against local targets', () => {
  it('round-trips tricky label values exactly', async () => {
    const { url, requests } = await serveBody(
      [
        '# TYPE tricky gauge',
        String.raw`tricky{q="say \"hi\"",bs="C:\\dir\\",nl="a\nb",brace="}{",comma=",=,",uni="Zürich 東京 🚀"} 1`,
        String.raw`tricky{q="",esc="\t stays"} 2`,
      ].join('\n'),
    );
    const samples = await scrape({ url });
    expect(samples).toEqual([
      {
        name: 'tricky',
        labels: {
          q: 'say "hi"',
          bs: 'C:\\dir\\',
          nl: 'a\nb',
          brace: '}{',
          comma: ',=,',
          uni: 'Zürich 東京 🚀',
        },
        value: 1,
        type: 'gauge',
        ts: undefined,
      },
      { name: 'tricky', labels: { esc: '\\t stays' }, value: 2, type: 'gauge', ts: undefined },
    ]);
    expect(requests[0]?.accept).toBe(ACCEPT);
  });

  it('reads OpenMetrics with timestamps in seconds as milliseconds, and drops _created', async () => {
    const { url } = await serveBody(
      [
        '# TYPE jobs counter',
        'jobs_total 5 1700000000.250',
        'jobs_created 1690000000',
        '# TYPE temp gauge',
        'temp 21.5 1700000001',
        '# EOF',
        '',
      ].join('\n'),
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    expect(await scrape({ url })).toEqual([
      { name: 'jobs_total', labels: {}, value: 5, type: 'counter', ts: 1700000000250 },
      { name: 'temp', labels: {}, value: 21.5, type: 'gauge', ts: 1700000001000 },
    ]);
    const [first] = await scrape({ url, honor_timestamps: false });
    expect(first?.ts).toBeUndefined();
  });

  it('reads Prometheus text timestamps as milliseconds', async () => {
    const { url } = await serveBody('a_total 1 1700000000250\n');
    expect((await scrape({ url }))[0]?.ts).toBe(1700000000250);
  });

  it('sends the bearer token and the extra headers', async () => {
    const { url, requests } = await serveBody('a 1\n');
    await scrape({ url, bearer_token: TOKEN, headers: { 'X-Scope': 'tier-a' } });
    expect(requests[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(requests[0]?.['x-scope']).toBe('tier-a');
  });

  const failures: {
    name: string;
    handler: RequestListener;
    message: RegExp;
    timeoutMs?: number;
  }[] = [
    {
      name: 'a 500 status',
      handler: (_req, res) => res.writeHead(500).end('a 1\n'),
      message: /^scrape http:\/\/127\.0\.0\.1:\d+\/metrics: HTTP status 500$/,
    },
    {
      name: 'a 401 status (the token refused)',
      handler: (_req, res) => res.writeHead(401).end(`bad token ${TOKEN}`),
      message: /HTTP status 401/,
    },
    {
      name: 'an HTML page',
      handler: (_req, res) => res.writeHead(200).end('<html>\n<body>Login</body>\n</html>\n'),
      message:
        /no sample parsed from the response \(3 lines that did not parse, first line 1: expected a metric name\)/,
    },
    {
      name: 'binary garbage',
      handler: (_req, res) => res.writeHead(200).end(Buffer.from([0, 159, 146, 150, 10, 255, 1])),
      message: /no sample parsed/,
    },
    {
      name: 'a body declared as 50 MB',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-length': String(50_000_000) });
        res.write('a 1\n');
      },
      message: /response of 50000000 bytes is larger than the limit of 1048576/,
    },
    {
      name: 'a target that does not answer before the timeout',
      handler: () => undefined,
      message: /timed out/,
      timeoutMs: 300,
    },
    {
      name: 'a target that stops sending half-way before the timeout',
      handler: (_req, res) => {
        res.writeHead(200);
        res.write('a 1\nb{x="');
      },
      message: /timed out/,
      timeoutMs: 300,
    },
  ];

  it.each(failures)(
    'fails with a clear message on $name',
    async ({ handler, message, timeoutMs }) => {
      const url = await serve(handler);
      const started = Date.now();
      const error = await createSource({ url, bearer_token: TOKEN, max_bytes: '1MiB' })
        .collect(context(timeoutMs ?? 5000))
        .then(
          () => undefined,
          (err: unknown) => err as Error,
        );
      expect(error?.name).toBe('PrometheusScrapeError');
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain(TOKEN);
      expect(inspect(error, { depth: 5 })).not.toContain(TOKEN);
      if (timeoutMs) expect(Date.now() - started).toBeLessThan(timeoutMs + 1500);
    },
  );

  it('fails when the target is down, without the token in the error', async () => {
    const url = `http://127.0.0.1:${await freePort()}/metrics`;
    const error = await createSource({ url, bearer_token: TOKEN })
      .collect(context())
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    expect(error?.message).toMatch(/^scrape http:\/\/127\.0\.0\.1:\d+\/metrics: ECONNREFUSED$/);
    expect(inspect(error, { depth: 5 })).not.toContain(TOKEN);
  });

  it('refuses a 50 MB streamed body at the byte limit, without reading it all', async () => {
    let sent = 0;
    const chunk = Buffer.from('filler{x="0123456789"} 1\n'.repeat(2600));
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const pump = () => {
        while (sent < 50_000_000 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const error = await createSource({ url, max_bytes: '1MiB' })
      .collect(context())
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    expect(error?.message).toBe(
      `scrape ${url}: response is larger than the limit of 1048576 bytes`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // What is sent past the limit is only what the socket buffers held.
    expect(sent).toBeLessThan(16_000_000);
  });

  it('logs skipped lines once per collection, with the first bad line and its reason', async () => {
    const { url } = await serveBody('good 1\nbad{ 2\nalso_good 3\nworse 4 5 6\n');
    const { logger, lines } = capturingLogger();
    const samples = (await createSource({ url }).collect(context(5000, logger))).samples;
    expect(samples.map((s) => s.name)).toEqual(['good', 'also_good']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      source: 'app',
      skipped: 2,
      line: 2,
      reason: expect.stringMatching(/label/),
    });
  });

  it('accepts a body of comments only as no samples', async () => {
    const { url } = await serveBody('# HELP x X.\n# TYPE x gauge\n');
    expect(await scrape({ url })).toEqual([]);
  });

  it('renames exported_ labels out of the way of the agent’s', async () => {
    const { url } = await serveBody('a{service="api",exported_service="old",tier="t"} 1\n');
    const [sample] = await scrape({
      url,
      metric_relabel_configs: [{ source_labels: ['exported_tier'], target_label: 'host' }],
    });
    expect(sample?.labels).toEqual({
      exported_service: 'old',
      exported_exported_service: 'api',
      exported_tier: 't',
      exported_host: 't',
    });
  });
});

describe('the prometheus source options', () => {
  const invalid: { name: string; options: Record<string, unknown>; message: RegExp }[] = [
    { name: 'a URL that is not http', options: { url: 'ftp://x/metrics' }, message: /http:\/\// },
    {
      name: 'a URL with a password',
      options: { url: 'http://u:p@127.0.0.1/metrics' },
      message: /without user or password/,
    },
    {
      name: 'a bearer token and an Authorization header',
      options: { url: 'http://x/m', bearer_token: 't', headers: { authorization: 'Basic x' } },
      message: /bearer_token or an Authorization header/,
    },
    { name: 'a bad size', options: { url: 'http://x/m', max_bytes: 'lots' }, message: /size/ },
    {
      name: 'a bad relabel rule',
      options: { url: 'http://x/m', metric_relabel_configs: [{ action: 'keep', regex: '[' }] },
      message: /regular expression/,
    },
    {
      name: 'an unknown key',
      options: { url: 'http://x/m', honour_timestamps: true },
      message: /honour_timestamps/,
    },
  ];

  it.each(invalid)('refuses $name', ({ options, message }) => {
    const result = prometheusOptions.safeParse(options);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });

  it('fills the defaults and keeps the token secret', () => {
    const options = prometheusOptions.parse({
      url: 'http://127.0.0.1:9100/metrics',
      bearer_token: TOKEN,
    });
    expect(options.max_bytes.bytes).toBe(10 * 1024 * 1024);
    expect(options.honor_timestamps).toBe(true);
    expect(options.metric_relabel_configs).toEqual([]);
    expect(JSON.stringify(options)).not.toContain(TOKEN);
    expect(inspect(options)).not.toContain(TOKEN);
  });
});
