// SLO backtests over two days of stored traffic with two incidents on a 99.8% SLO (a 10-minute
// total outage, and later two hours at 2% errors): backtest() against the detection times of
// burn.ts and a reference replay computed from the raw points, and `halo slo backtest`
// (runBacktest) printing the same firings from its own store, with its option errors.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtest, type BacktestFiring } from '../alerter/slo/backtest.ts';
import { burnRate, detectionTime, errorBudget } from '../alerter/slo/burn.ts';
import { windowStart } from '../alerter/slo/evaluate.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { tiersForSlo, type BurnRateTier } from '../alerter/slo/windows.ts';
import { runBacktest } from '../cli/backtest.ts';
import { haloConfigSchema, type FullConfig } from '../cli/config-schema.ts';
import { ConfigError } from '../core/errors.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';
import { tempDir } from './helpers/temp.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DATA_STEP = 10 * SEC;
const STEP = MIN;

// Two days of traffic, 100 requests every 10 s. The SLO's window is 7 days, so the workbook
// tiers scale by 7/30: page-fast 14m/1m10s, page-slow 1h24m/7m, ticket-fast 5h36m/28m,
// ticket-slow 16h48m/1h24m. Each incident has 17 hours of clean history before it, longer
// than every long window, so detectionTime()'s clean-history assumption holds. Windows of an
// hour or more start on the minute after at − length (see windowStart()): up to a minute
// shorter, so a tier may fire and resolve slightly earlier than with the nominal lengths.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 50 * HOUR;
const END = T0 + 48 * HOUR;
const I1 = T0 + 17 * HOUR;
const E1 = I1 + 10 * MIN;
const I2 = E1 + 17 * HOUR;
const E2 = I2 + 2 * HOUR;
const N = (END - T0) / DATA_STEP;

const errorRatioAt = (ts: number) => (ts >= I1 && ts < E1 ? 1 : ts >= I2 && ts < E2 ? 0.02 : 0);

/** Prefix sums of the bad requests of the shop service, by data point. */
const badPrefix = new Float64Array(N + 1);
for (let i = 0; i < N; i++)
  badPrefix[i + 1] = badPrefix[i]! + Math.round(100 * errorRatioAt(T0 + i * DATA_STEP));

/** Good and total requests of the shop service in [from, to), from the points written. */
function counts(from: number, to: number): { good: number; total: number } {
  const a = Math.min(N, Math.max(0, Math.ceil((from - T0) / DATA_STEP)));
  const b = Math.min(N, Math.max(0, Math.ceil((to - T0) / DATA_STEP)));
  if (b <= a) return { good: 0, total: 0 };
  const total = (b - a) * 100;
  return { good: total - (badPrefix[b]! - badPrefix[a]!), total };
}

const SLO_FILE_TEXT = `apiVersion: halo/v1
kind: SLO
metadata: { name: shop }
spec:
  service: shop
  objective: 99.8
  window: { rolling: 7d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: shop, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: shop } }
---
apiVersion: halo/v1
kind: SLO
metadata: { name: catalog }
spec:
  service: catalog
  objective: 99.8
  window: { rolling: 7d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: catalog, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: catalog } }
`;
const SLOS: Slo[] = parseSlos(SLO_FILE_TEXT, 'slos.yaml');
const SHOP = SLOS[0]!;
const BUDGET = errorBudget(99.8);
const TIERS = tiersForSlo(SHOP);
const tier = (name: string) => TIERS.find((t) => t.name === name)!;

/** The burn rate of the shop service over a window of `ms` ending at `at`, from the points. */
function rate(at: number, ms: number): number {
  const { good, total } = counts(windowStart(at, ms), at);
  return burnRate(total > 0 ? Math.max(0, total - good) / total : 0, BUDGET);
}

/**
 * The backtest replayed in memory from the points: each tier fires when both its windows burn
 * at its factor or more, and resolves at the first step they do not.
 */
function replay(from: number, to: number): BacktestFiring[] {
  const open = new Map<string, BacktestFiring>();
  const done: BacktestFiring[] = [];
  for (let at = from; at <= to; at += STEP) {
    for (const t of TIERS) {
      const long = rate(at, t.longWindowMs);
      const active = long >= t.factor && rate(at, t.shortWindowMs) >= t.factor;
      const firing = open.get(t.name);
      if (active && !firing) {
        open.set(t.name, {
          slo: 'shop',
          tier: t.name,
          severity: t.severity,
          labels: {
            alertname: 'shop',
            slo: 'shop',
            service: 'shop',
            severity: t.severity,
            burn_tier: t.name,
          },
          firedAt: at,
          peakBurnRate: long,
        });
      } else if (active && firing) {
        firing.peakBurnRate = Math.max(firing.peakBurnRate, long);
      } else if (!active && firing) {
        firing.resolvedAt = at;
        done.push(firing);
        open.delete(t.name);
      }
    }
  }
  return [...done, ...open.values()];
}

const order = (list: BacktestFiring[]) =>
  [...list].sort(
    (a, b) => a.firedAt - b.firedAt || TIERS.indexOf(tier(a.tier)) - TIERS.indexOf(tier(b.tier)),
  );

function expectSameFirings(got: BacktestFiring[], expected: BacktestFiring[]) {
  // In order of firing.
  for (let i = 1; i < got.length; i++)
    expect(got[i]!.firedAt).toBeGreaterThanOrEqual(got[i - 1]!.firedAt);
  const strip = (f: BacktestFiring) => ({ ...f, peakBurnRate: 0 });
  expect(order(got).map(strip)).toEqual(order(expected).map(strip));
  order(got).forEach((f, i) =>
    expect([f.tier, f.peakBurnRate]).toEqual([
      f.tier,
      expect.closeTo(order(expected)[i]!.peakBurnRate, 9),
    ]),
  );
}

/** value within [lo, hi], with a message naming what it is. */
function within(what: string, value: number, lo: number, hi: number) {
  expect(value, `${what}: ${value} ≥ ${lo}`).toBeGreaterThanOrEqual(lo);
  expect(value, `${what}: ${value} ≤ ${hi}`).toBeLessThanOrEqual(hi);
}

/** When a tier's short window stops burning after errors at `e` end, in ms after the end. */
const resolution = (t: BurnRateTier, e: number) => t.shortWindowMs * (1 - (t.factor * BUDGET) / e);

/** The shortest a window of `ms` can be once aligned: a minute less from 1h, an hour from 1d. */
const shortest = (ms: number) => ms - (ms >= 24 * HOUR ? HOUR : ms >= HOUR ? MIN : 0);

/** The tier with both windows at their shortest. */
const shortened = (t: BurnRateTier): BurnRateTier => ({
  ...t,
  longWindowMs: shortest(t.longWindowMs),
  shortWindowMs: shortest(t.shortWindowMs),
});

let store: Store | undefined;
let config: FullConfig;

beforeAll(async () => {
  const opened = await openTestStore();
  store = opened.store;
  config = haloConfigSchema.parse({
    data_dir: opened.config.data_dir,
    clickhouse: { database: opened.config.clickhouse.database },
  });
  const rows: SampleRow[] = [];
  for (let i = 0; i < N; i++) {
    const ts = T0 + i * DATA_STEP;
    const bad = Math.round(100 * errorRatioAt(ts));
    const shop = { name: 'http_requests_total', tier: 'web', host: 'web-1', service: 'shop' };
    const catalog = { ...shop, service: 'catalog' };
    rows.push({ ...shop, labels: { code: '200' }, ts, value: 100 - bad });
    rows.push({ ...shop, labels: { code: '503' }, ts, value: bad });
    rows.push({ ...catalog, labels: { code: '200' }, ts, value: 100 });
    rows.push({ ...catalog, labels: { code: '503' }, ts, value: 0 });
  }
  for (let i = 0; i < rows.length; i += 50_000)
    await writeSamples(store, rows.slice(i, i + 50_000));
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe('backtest()', () => {
  it('the 10-minute outage fires every tier at its detection time and resolves each', async () => {
    // Steps 17 s past the minute of the outage's start: not aligned with it.
    const from = I1 - 2 * MIN + 17 * SEC;
    const to = E1 + 85 * MIN;
    const progress: number[] = [];
    const firings = await backtest(store!, SLOS, from, to, STEP, (at) => progress.push(at));
    expect(progress).toHaveLength(Math.floor((to - from) / STEP) + 1);
    expect(progress[1]! - progress[0]!).toBe(STEP);

    expect(order(firings).map((f) => [f.slo, f.tier, f.severity])).toEqual([
      ['shop', 'page-fast', 'page'],
      ['shop', 'page-slow', 'page'],
      ['shop', 'ticket-fast', 'ticket'],
      ['shop', 'ticket-slow', 'ticket'],
    ]);
    for (const f of firings) {
      const t = tier(f.tier);
      const predicted = detectionTime(t, BUDGET, 1)!;
      const earliest = detectionTime(shortened(t), BUDGET, 1)!;
      // Within one step of the prediction for the windows' effective lengths (and one data
      // point: errors come in 10 s points).
      within(`${f.tier} fired`, f.firedAt - I1, earliest - DATA_STEP, predicted + STEP);
      expect(f.resolvedAt, `${f.tier} resolves`).toBeDefined();
      const after = resolution(t, 1);
      const soonest = resolution(shortened(t), 1);
      within(`${f.tier} resolved`, f.resolvedAt! - E1, soonest - DATA_STEP, after + STEP);
    }
    // Aligned windows are at most a minute short here (no window of a day): within a second
    // of the nominal detection time at a 100% error ratio, though ticket-slow resolves up to
    // a minute earlier.
    for (const t of TIERS)
      expect(detectionTime(t, BUDGET, 1)! - detectionTime(shortened(t), BUDGET, 1)!).toBeLessThan(
        SEC,
      );
    expect(detectionTime(tier('page-fast'), BUDGET, 1)).toBeCloseTo(24_192, 0);
    // The peak is the long window's burn rate at its highest: 10 minutes of 14 failed.
    const fast = firings.find((f) => f.tier === 'page-fast')!;
    expect(fast.peakBurnRate).toBeCloseTo(10 / 14 / BUDGET, 6);
    expectSameFirings(firings, replay(from, to));
  }, 120_000);

  it('two hours at 2% (a 10× burn) fire page-slow and the tickets, not page-fast', async () => {
    const from = I2 - 2 * MIN + 17 * SEC;
    const to = E2 + 80 * MIN;
    const firings = await backtest(store!, SLOS, from, to, STEP);
    // 14.4× is never reached; 6× after 50.4 minutes, 3× and 1× after 100.8 minutes.
    expect(detectionTime(tier('page-fast'), BUDGET, 0.02)).toBeUndefined();
    expect(order(firings).map((f) => f.tier)).toEqual(['page-slow', 'ticket-fast', 'ticket-slow']);
    // Every step is 17 s past a minute: windows from an hour are 43 s short at each.
    expect(from - windowStart(from, HOUR)).toBe(HOUR - 43 * SEC);
    for (const f of firings) {
      const t = tier(f.tier);
      const predicted = detectionTime(t, BUDGET, 0.02)!;
      const earliest = detectionTime(shortened(t), BUDGET, 0.02)!;
      expect(predicted).toBeLessThan(2 * HOUR);
      within(`${f.tier} fired`, f.firedAt - I2, earliest - DATA_STEP, predicted + STEP);
      expect(f.resolvedAt, `${f.tier} resolves`).toBeDefined();
      const after = resolution(t, 0.02);
      const soonest = resolution(shortened(t), 0.02);
      within(`${f.tier} resolved`, f.resolvedAt! - E2, soonest - DATA_STEP, after + STEP);
      // The long window's burn at its highest: 10× while within the 2 hours, else 10× over the
      // share of it they fill (the 720 points of the 2 hours among the window's points) once
      // they end, at E2 + 17 s.
      const ended = E2 + 17 * SEC;
      const { total } = counts(windowStart(ended, t.longWindowMs), ended);
      const peak = t.longWindowMs <= 2 * HOUR ? 10 : (10 * 720 * 100) / total;
      expect([f.tier, f.peakBurnRate]).toEqual([f.tier, expect.closeTo(peak, 9)]);
      expect(peak).toBeLessThanOrEqual(10);
      if (t.longWindowMs > 2 * HOUR)
        expect(peak).toBeGreaterThan(10 * ((2 * HOUR) / t.longWindowMs));
    }
    expect(detectionTime(tier('page-slow'), BUDGET, 0.02)).toBeCloseTo(50.4 * MIN, 0);
    expectSameFirings(firings, replay(from, to));
  }, 120_000);

  it('refuses a step that is not positive', async () => {
    await expect(backtest(store!, SLOS, I1, I1 + HOUR, 0)).rejects.toThrow(
      'the step must be positive',
    );
  });
});

describe('halo slo backtest', () => {
  const dir = tempDir('halo-backtest-');
  const file = join(dir, 'slos.yaml');
  writeFileSync(file, SLO_FILE_TEXT);
  const isoZ = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

  function errorOf(promise: Promise<unknown>): Promise<string> {
    return promise.then(
      () => {
        throw new Error('expected a ConfigError');
      },
      (err: unknown) => {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      },
    );
  }

  it('bad options are ConfigErrors that name the option', async () => {
    const now = END;
    const run = (opts: { from: string; to: string; step: string; slo?: string }) =>
      errorOf(runBacktest(config, [file], opts, now));
    expect(await run({ from: 'yesterday', to: '0s', step: '1m' })).toBe(
      '--from: got "yesterday", expected an ISO 8601 time like 2026-11-01T00:00:00Z or a duration ago like 7d',
    );
    expect(await run({ from: '12', to: '0s', step: '1m' })).toMatch(/^--from: got "12", expected/);
    expect(await run({ from: '2d', to: 'later', step: '1m' })).toMatch(
      /^--to: got "later", expected an ISO 8601 time/,
    );
    expect(await run({ from: '2d', to: '3d', step: '1m' })).toBe(
      `--to: got ${isoZ(now - 3 * 24 * HOUR)}, expected a time after --from (${isoZ(now - 2 * 24 * HOUR)})`,
    );
    for (const step of ['1x', '500ms', '0', 'fast']) {
      expect(await run({ from: '2d', to: '0s', step })).toBe(
        `--step: got "${step}", expected a duration of at least 1s like 1m`,
      );
    }
    expect(await run({ from: '2d', to: '0s', step: '1m', slo: 'nope' })).toBe(
      '--slo: got "nope", expected the name of an SLO in the files',
    );
    expect(
      await errorOf(
        runBacktest(config, [join(dir, 'missing.yaml')], { from: '2d', to: '0s', step: '1m' }, now),
      ),
    ).toMatch(/missing\.yaml: cannot read SLO file/);
  });

  it('prints each firing with when it fired and resolved, from the store it opens itself', async () => {
    const from = I1 - 43 * SEC;
    const now = I1 + 15 * MIN + 17 * SEC;
    const expected = order(await backtest(store!, SLOS, from, now, STEP));
    expect(expected.map((f) => [f.tier, f.resolvedAt === undefined])).toEqual([
      ['page-fast', false],
      ['page-slow', true],
      ['ticket-fast', true],
      ['ticket-slow', true],
    ]);
    // runBacktest opens the store on the same data dir: chDB allows one per process.
    await store!.close();
    store = undefined;

    const out = await runBacktest(config, [file], { from: isoZ(from), to: '0s', step: '1m' }, now);
    const lines = out.trimEnd().split('\n');
    expect(out.endsWith('\n')).toBe(true);
    expect(lines[0]).toBe(
      `backtest of 2 SLO(s) from ${isoZ(from)} to ${isoZ(now)} every 1m: 4 firing(s)`,
    );
    const line = (f: BacktestFiring) =>
      `shop ${f.tier} (${f.severity}): fired ${isoZ(f.firedAt)}, ` +
      (f.resolvedAt === undefined
        ? 'still firing'
        : `resolved ${isoZ(f.resolvedAt)} (after ${(f.resolvedAt - f.firedAt) / MIN}m)`) +
      `, peak burn ${f.peakBurnRate.toFixed(1)}×`;
    expect(lines.slice(1).sort()).toEqual(expected.map(line).sort());
    expect(lines[1]).toMatch(
      /^shop page-fast \(page\): fired \S+Z, resolved \S+Z \(after 10m\), peak burn 357\.1×$/,
    );

    // Only one SLO, with a duration ago for --from: the healthy one never fires.
    const one = await runBacktest(
      config,
      [file],
      { from: '16m', to: '0s', step: '5m', slo: 'catalog' },
      now,
    );
    expect(one).toBe(
      `backtest of 1 SLO(s) from ${isoZ(now - 16 * MIN)} to ${isoZ(now)} every 5m: 0 firing(s)\n`,
    );
  }, 120_000);
});
