// `halo demo-app`: the demo's shop app on its own, as a real HTTP service behind real web servers
// (compose/'s example stack): the shop's routes with the demo's statuses and latencies, its
// Prometheus /metrics and JSON log lines, and optionally the demo's traffic sent to a URL.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Hono } from 'hono';
import type { Logger } from '../../core/logger.ts';
import { serveHttp, type HttpServer } from '../../core/http/serve.ts';
import { sleep } from '../../core/sleep.ts';
import { appLogLine } from './formats.ts';
import { LogFile } from './log-file.ts';
import { createRandom } from './random.ts';
import { ROUTES, type RouteSpec } from './routes.ts';
import { FAULT_RATE } from './shop.ts';
import { appState } from './state.ts';

const LOG_MAX_BYTES = 64 * 1024 * 1024;
const WEIGHTED = ROUTES.map((value) => ({ value, weight: value.weight }));

export interface DemoAppOptions {
  address: string;
  port: number;
  /** Where the JSON log lines go; none when undefined. */
  logFile?: string;
  /** Send the demo's traffic to this base URL (a load balancer), `rps` requests a second. */
  traffic?: string;
  rps: number;
  logger: Logger;
  seed?: number;
}

export interface DemoApp {
  url: string;
  stop(): Promise<void>;
}

/** The route serving a request: its own path, or a path below it (`/api/products/12`). */
function routeOf(method: string, path: string): RouteSpec | undefined {
  const bare = path.split('?')[0]!;
  const serves = (r: RouteSpec) =>
    r.method === method &&
    (bare === r.route || (r.route !== '/' && bare.startsWith(`${r.route}/`)));
  return ROUTES.filter(serves).sort((a, b) => b.route.length - a.route.length)[0];
}

export async function startDemoApp(o: DemoAppOptions): Promise<DemoApp> {
  const log = o.logger.child({ module: 'demo-app' });
  const random = createRandom(o.seed ?? Date.now());
  const state = appState();
  let file: LogFile | undefined;
  if (o.logFile !== undefined) {
    mkdirSync(dirname(o.logFile), { recursive: true });
    file = new LogFile(o.logFile, LOG_MAX_BYTES, log);
  }

  const app = new Hono();
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/metrics', async (c) =>
    c.body(await state.registry.metrics(), 200, { 'Content-Type': state.registry.contentType }),
  );
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const path = `${url.pathname}${url.search}`;
    const spec = routeOf(c.req.method, path);
    if (!spec) return c.text('not found', 404);
    let status = spec.okStatus;
    let seconds = random.skewed(0.04, 0.3);
    let error: string | undefined;
    if (random.chance(FAULT_RATE)) {
      [status, error] = [500, 'upstream request timeout: payments'];
    } else if (random.chance(spec.clientError.rate)) {
      status = spec.clientError.status;
      seconds = random.skewed(0.004, 0.03);
    }
    await sleep(seconds * 1000);
    state.requests.inc({ method: spec.method, code: String(status), route: spec.route });
    state.duration.observe({ method: spec.method, route: spec.route }, seconds);
    file?.append([
      appLogLine({
        ts: Date.now(),
        method: spec.method,
        path,
        route: spec.route,
        status,
        duration: seconds,
        traceId: random.hex(16),
        ...(error !== undefined ? { error } : {}),
      }),
    ]);
    const size = status < 400 ? random.int(spec.bytes[0], spec.bytes[1]) : 80;
    return c.text('x'.repeat(size), status as 200);
  });

  const server: HttpServer = await serveHttp(app, o.address, o.port);
  const stopping = new AbortController();
  const sending =
    o.traffic !== undefined ? sendTraffic(o.traffic, o.rps, stopping.signal) : undefined;
  log.info({ url: server.url, traffic: o.traffic ?? null, rps: o.rps }, 'demo app started');
  return {
    url: server.url,
    stop: async () => {
      stopping.abort();
      await sending;
      await server.close();
      file?.close();
    },
  };

  /** The demo's route mix, `rps` a second, each request on its own (a slow one holds no other). */
  async function sendTraffic(base: string, rps: number, signal: AbortSignal): Promise<void> {
    const gap = 1000 / rps;
    let failures = 0;
    while (!signal.aborted) {
      const spec = random.weighted(WEIGHTED);
      const target = new URL(spec.path(random), base);
      fetch(target, { method: spec.method, signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          await r.arrayBuffer();
          failures = 0;
        })
        .catch((err: unknown) => {
          // Logged once per run of failures: the load balancer may not be up yet.
          if (failures++ === 0) log.warn({ err, target: base }, 'demo traffic: request failed');
        });
      await sleep(gap, signal).catch(() => undefined);
    }
  }
}
