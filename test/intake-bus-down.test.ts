// The intake while its bus is gone: a request gets 429 with Retry-After (nothing is half taken),
// and the answer names no token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIntakeHalo, type IntakeHarness } from './helpers/intake.ts';

let halo: IntakeHarness;

beforeAll(async () => {
  halo = await startIntakeHalo();
}, 60_000);

afterAll(async () => {
  await halo?.stop();
}, 60_000);

describe('intake without its bus', () => {
  it('answers 429 with Retry-After once the nats-server is gone', async () => {
    const post = () =>
      halo.post('/api/v1/import/prometheus', `bus_down_probe{tier="web"} 1 ${Date.now()}\n`);
    expect((await post()).status).toBe(204);
    await halo.running.localNats!.stop();
    // The last reading of the lag may still be fresh: the next one finds the bus gone.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const started = Date.now();
    const response = await post();
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('5');
    const answer = (await response.json()) as { error: string };
    expect(answer.error).toBe('the pipeline is behind (the bus does not answer); send again later');
    expect(answer.error).not.toContain(halo.token);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});
