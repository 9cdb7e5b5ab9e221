// /healthz, /readyz and /metrics, called in process with app.request().

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHealthApp } from '../core/http/health.ts';
import { createRegistry } from '../core/metrics.ts';

describe('the health app', () => {
  it('is ready only when every check passes', async () => {
    let storeUp = true;
    const app = createHealthApp({
      registry: new Registry(),
      checks: () => ({ store: async () => storeUp, bus: async () => true }),
    });
    expect((await app.request('/healthz')).status).toBe(200);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { store: 'ok', bus: 'ok' } });
    storeUp = false;
    const notReady = await app.request('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      ready: false,
      checks: { store: 'failing', bus: 'ok' },
    });
  });

  it('counts a check that throws or hangs as failing, and still answers', async () => {
    const app = createHealthApp({
      registry: new Registry(),
      checkTimeoutMs: 50,
      checks: () => ({
        store: () => new Promise<boolean>(() => undefined),
        bus: async () => {
          throw new Error('boom');
        },
      }),
    });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      checks: { store: 'failing', bus: 'failing' },
    });
  });

  it('serves Prometheus metrics about the process', async () => {
    const app = createHealthApp({ registry: createRegistry('test'), checks: () => ({}) });
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toMatch(/^halo_process_resident_memory_bytes\{role="test"\} \d+/m);
  });
});
