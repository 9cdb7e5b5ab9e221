// /healthz, /readyz and /metrics for every Halo process, as a Hono app to mount with app.route().

import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/** A readiness check: resolves true when the dependency answers. */
export type ReadyCheck = () => Promise<boolean>;

export interface HealthAppOptions {
  registry: Registry;
  /** Named checks, e.g. { store: …, bus: … }; /readyz is 200 only when all pass. */
  checks: () => Record<string, ReadyCheck>;
  /** Per-check time limit; a check slower than this counts as failed. */
  checkTimeoutMs?: number;
}

async function withTimeout(check: ReadyCheck, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHealthApp(options: HealthAppOptions): Hono {
  const app = new Hono();
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  app.get('/healthz', (c) => c.text('ok\n'));

  app.get('/readyz', async (c) => {
    const checks = options.checks();
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => withTimeout(checks[name]!, timeoutMs)));
    const status = Object.fromEntries(
      names.map((name, i) => [name, results[i] ? 'ok' : 'failing']),
    );
    const ready = names.length > 0 && results.every(Boolean);
    return c.json({ ready, checks: status }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const body = await options.registry.metrics();
    return c.body(body, 200, { 'Content-Type': options.registry.contentType });
  });

  return app;
}
