// The intake's pure parts: cumulative series made deltas (baselines, resets, repeats, start
// times, commit only once published), tier/host/service mapping with tier-bound tokens, and how
// untyped Prometheus samples are typed.

import { describe, expect, it } from 'vitest';
import { intakeConfigSchema } from '../collector/intake/config.ts';
import { CounterState } from '../collector/intake/counters.ts';
import { Mapper } from '../collector/intake/mapping.ts';
import { FamilyTypes } from '../collector/intake/temporality.ts';
import { Secret } from '../core/config/secret.ts';

describe('CounterState', () => {
  it('gives nothing for a baseline, then increases, and counts a reset from zero', () => {
    const state = new CounterState({ ttlMs: 60_000, now: () => 1_000 });
    const tx = state.begin();
    expect(tx.delta('a', { ts: 10, value: 100 })).toBeUndefined();
    expect(tx.delta('a', { ts: 20, value: 130 })).toBe(30);
    expect(tx.delta('a', { ts: 30, value: 5 })).toBe(5);
    // A repeat or an older point makes nothing.
    expect(tx.delta('a', { ts: 30, value: 9 })).toBeUndefined();
    expect(tx.delta('a', { ts: 25, value: 9 })).toBeUndefined();
    expect(tx.delta('a', { ts: 40, value: NaN })).toBeUndefined();
  });

  it("keeps a request's state to itself until it commits, so a failed request sent again makes the same deltas", () => {
    const state = new CounterState({ ttlMs: 60_000, now: () => 1_000 });
    const first = state.begin();
    first.delta('a', { ts: 10, value: 100 });
    first.commit();
    const failed = state.begin();
    expect(failed.delta('a', { ts: 20, value: 150 })).toBe(50);
    // Not committed: the retry sees the same previous point.
    const retry = state.begin();
    expect(retry.delta('a', { ts: 20, value: 150 })).toBe(50);
    retry.commit();
    expect(state.begin().delta('a', { ts: 20, value: 150 })).toBeUndefined();
  });

  it('counts from zero a series that started after this process, and a restart by its start time', () => {
    let now = 1_000_000;
    const state = new CounterState({ ttlMs: 60_000, now: () => now });
    const tx = state.begin();
    // Started before Halo did: its total holds counts from before, so it is a baseline.
    expect(tx.delta('old', { ts: 1_000_500, value: 40, startTs: 900_000 })).toBeUndefined();
    expect(tx.delta('new', { ts: 1_000_500, value: 7, startTs: 1_000_100 })).toBe(7);
    // Restarted (a later start time) with a total that is still higher: the new total counts.
    expect(tx.delta('new', { ts: 1_001_000, value: 9, startTs: 1_000_900 })).toBe(9);
    tx.commit();
    expect(state.size).toBe(2);
    now += 120_000;
    // Forgotten after the TTL (swept on a later commit).
    state.begin().commit();
    expect(state.size).toBe(0);
  });
});

describe('Mapper', () => {
  const config = intakeConfigSchema.parse({});
  const mapper = new Mapper(config);
  const webToken = { name: 'web-only', token: new Secret('x'), tier: 'web' };

  it('takes tier, host and service from the first candidate label and leaves it out of the labels', () => {
    expect(
      mapper.place({ instance: 'node-1:9100', job: 'node', mode: 'idle' }, undefined, undefined),
    ).toEqual({
      tier: 'external',
      host: 'node-1:9100',
      service: 'node',
      labels: { mode: 'idle' },
    });
    // host wins over instance; instance then stays a label.
    expect(
      mapper.place({ tier: 'db', host: 'db-1', instance: 'db-1:9187' }, undefined, undefined),
    ).toMatchObject({
      tier: 'db',
      host: 'db-1',
      service: 'unknown',
      labels: { instance: 'db-1:9187' },
    });
  });

  it('reads OTLP resource attributes', () => {
    expect(
      mapper.place(
        { route: '/cart' },
        { 'service.name': 'shop', 'host.name': 'app-1', 'halo.tier': 'app' },
        undefined,
      ),
    ).toEqual({ tier: 'app', host: 'app-1', service: 'shop', labels: { route: '/cart' } });
  });

  it('binds a token to its tier', () => {
    expect(mapper.place({}, undefined, webToken)).toMatchObject({ tier: 'web' });
    expect(mapper.place({ tier: 'web' }, undefined, webToken)).toMatchObject({ tier: 'web' });
    expect(mapper.place({ tier: 'db' }, undefined, webToken)).toBe(
      'tier "db" is not the tier of token "web-only" (web)',
    );
    expect(mapper.place({ tier: 'Web Servers' }, undefined, undefined)).toMatch(
      /is not a tier name/,
    );
  });

  it('promotes configured resource attributes to labels', () => {
    const promoting = new Mapper(
      intakeConfigSchema.parse({
        mapping: { promote_resource_attributes: ['deployment.environment'] },
      }),
    );
    expect(promoting.place({}, { 'deployment.environment': 'prod' }, undefined)).toMatchObject({
      labels: { deployment_environment: 'prod' },
    });
  });
});

describe('FamilyTypes', () => {
  it('types by metadata first, then by naming conventions', () => {
    const types = new FamilyTypes();
    expect(types.resolve('http_requests_total', {})).toBe('cumulative');
    expect(types.resolve('queue_length', {})).toBe('gauge');
    expect(types.resolve('latency_bucket', { le: '0.5' })).toBe('cumulative');
    // _count alone is not enough: it could be a gauge.
    expect(types.resolve('latency_count', {})).toBe('gauge');
    types.observe([
      { name: 'latency_bucket', labels: { le: '1' }, temporality: 'untyped', points: [] },
    ]);
    expect(types.resolve('latency_count', {})).toBe('cumulative');
    types.learn('odd_total', 'gauge');
    expect(types.resolve('odd_total', {})).toBe('gauge');
    types.learn('rpc', 'summary');
    expect(types.resolve('rpc', { quantile: '0.9' })).toBe('gauge');
    expect(types.resolve('rpc_sum', {})).toBe('cumulative');
  });
});
