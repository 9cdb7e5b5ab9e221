// The alert state machine (pure, time passed in), the alert history on real chDB (transitions
// written, open alerts read back), the evaluation schedule and the `alerter:` config section.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { Alerter, cronFor } from '../alerter/alerter.ts';
import { alerterConfigSchema } from '../alerter/config.ts';
import { openAlerts, writeTransitions } from '../alerter/state/history.ts';
import {
  AlertBook,
  alertFingerprint,
  RESOLVED_RETENTION_MS,
  type Alert,
  type Transition,
} from '../alerter/state/machine.ts';
import type { Candidate, RuleEvaluation, Timing } from '../alerter/state/types.ts';
import { haloConfigSchema } from '../cli/config-schema.ts';
import { loadConfig } from '../core/config/load.ts';
import { ConfigError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { openTestStore } from './helpers/store.ts';
import { tempDir } from './helpers/temp.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const T = Date.UTC(2025, 5, 2, 10, 0, 0);

const candidate = (labels: Record<string, string>, value = 1): Candidate => ({
  labels,
  annotations: { summary: `value ${value}` },
  value,
});

function evaluation(rule: string, timing: Timing, active: Candidate[]): RuleEvaluation {
  return { rule, timing, active };
}

const HOST_DOWN = { alertname: 'HostDown', host: 'web-1', severity: 'page' };
const summary = (ts: Transition[]) => ts.map((t) => [t.from, t.to, t.at]);

describe('AlertBook', () => {
  const timing: Timing = { forMs: 2 * MIN, keepFiringForMs: 0 };
  const on = (book: AlertBook, at: number, value = 1) =>
    book.apply(evaluation('rule:HostDown', timing, [candidate(HOST_DOWN, value)]), at);
  const off = (book: AlertBook, at: number, t: Timing = timing) =>
    book.apply(evaluation('rule:HostDown', t, []), at);

  it('goes inactive → pending → firing exactly when the condition held for `for`', () => {
    const book = new AlertBook();
    expect(summary(on(book, T))).toEqual([['inactive', 'pending', T]]);
    expect(on(book, T + MIN)).toEqual([]);
    expect(on(book, T + 2 * MIN - 1)).toEqual([]);
    expect(book.alerts().map((a) => a.state)).toEqual(['pending']);
    const fired = on(book, T + 2 * MIN, 7);
    expect(summary(fired)).toEqual([['pending', 'firing', T + 2 * MIN]]);
    const alert = fired[0]!.alert;
    expect(alert).toMatchObject({
      fingerprint: alertFingerprint(HOST_DOWN),
      rule: 'rule:HostDown',
      labels: HOST_DOWN,
      annotations: { summary: 'value 7' },
      state: 'firing',
      value: 7,
      activeSince: T,
      lastActive: T + 2 * MIN,
      firedAt: T + 2 * MIN,
    });
    expect(alert.resolvedAt).toBeUndefined();
    // Staying active changes nothing but the value and lastActive.
    expect(on(book, T + 3 * MIN, 9)).toEqual([]);
    expect(book.get(alert.fingerprint)).toMatchObject({
      state: 'firing',
      value: 9,
      lastActive: T + 3 * MIN,
      firedAt: T + 2 * MIN,
    });
  });

  it('a pending alert whose condition stops before `for` resolves from pending and is forgotten', () => {
    const book = new AlertBook();
    on(book, T);
    on(book, T + MIN);
    const stopped = off(book, T + MIN + 15 * SEC);
    expect(summary(stopped)).toEqual([['pending', 'resolved', T + MIN + 15 * SEC]]);
    expect(stopped[0]!.alert.firedAt).toBeUndefined();
    expect(book.alerts()).toEqual([]);
    expect(book.get(alertFingerprint(HOST_DOWN))).toBeUndefined();
    // Nothing left to resolve again.
    expect(off(book, T + 2 * MIN)).toEqual([]);
    // It comes back as a new pending alert, counting `for` from scratch.
    expect(summary(on(book, T + 3 * MIN))).toEqual([['inactive', 'pending', T + 3 * MIN]]);
    expect(on(book, T + 4 * MIN)).toEqual([]);
    expect(summary(on(book, T + 5 * MIN))).toEqual([['pending', 'firing', T + 5 * MIN]]);
  });

  it('firing → resolved when the condition stops; the resolved alert is kept', () => {
    const book = new AlertBook();
    on(book, T);
    on(book, T + 2 * MIN);
    const resolved = off(book, T + 2 * MIN + 15 * SEC);
    expect(summary(resolved)).toEqual([['firing', 'resolved', T + 2 * MIN + 15 * SEC]]);
    expect(resolved[0]!.alert).toMatchObject({
      state: 'resolved',
      activeSince: T,
      firedAt: T + 2 * MIN,
      resolvedAt: T + 2 * MIN + 15 * SEC,
    });
    expect(book.alerts().map((a) => a.state)).toEqual(['resolved']);
    expect(off(book, T + 3 * MIN)).toEqual([]);
  });

  it('keep_firing_for keeps a firing alert firing that long after the first evaluation that found it inactive', () => {
    const keep: Timing = { forMs: 0, keepFiringForMs: 5 * MIN };
    const book = new AlertBook();
    const apply = (at: number, active: boolean) =>
      book.apply(evaluation('rule:HostDown', keep, active ? [candidate(HOST_DOWN)] : []), at);
    expect(summary(apply(T, true))).toEqual([['inactive', 'firing', T]]);
    expect(apply(T + MIN, true)).toEqual([]);
    expect(book.alerts()[0]!.keepFiringSince).toBeUndefined();
    // Last held at T + 1m, first found inactive at T + 2m: kept firing until T + 7m (as
    // Prometheus counts), not T + 6m.
    for (const at of [T + 2 * MIN, T + 4 * MIN, T + 6 * MIN, T + 7 * MIN - 1]) {
      expect(apply(at, false)).toEqual([]);
      expect(book.alerts()[0]).toMatchObject({
        state: 'firing',
        lastActive: T + MIN,
        keepFiringSince: T + 2 * MIN,
      });
    }
    const resolved = apply(T + 7 * MIN, false);
    expect(summary(resolved)).toEqual([['firing', 'resolved', T + 7 * MIN]]);
    expect(resolved[0]!.alert).toMatchObject({ firedAt: T, resolvedAt: T + 7 * MIN });
    expect(book.alerts()[0]).toMatchObject({ state: 'resolved', resolvedAt: T + 7 * MIN });
    expect(apply(T + 8 * MIN, false)).toEqual([]);
  });

  it('keep_firing_for resolves at the first inactive evaluation at or after its end', () => {
    const keep: Timing = { forMs: 0, keepFiringForMs: 5 * MIN };
    const book = new AlertBook();
    const apply = (at: number, active: boolean) =>
      book.apply(evaluation('rule:HostDown', keep, active ? [candidate(HOST_DOWN)] : []), at);
    apply(T, true);
    // Evaluations 3 minutes apart: inactive from T + 3m, so the end is T + 8m; the evaluation
    // at T + 6m keeps it, the one at T + 9m resolves it.
    expect(apply(T + 3 * MIN, false)).toEqual([]);
    expect(apply(T + 6 * MIN, false)).toEqual([]);
    expect(summary(apply(T + 9 * MIN, false))).toEqual([['firing', 'resolved', T + 9 * MIN]]);
  });

  it('keep_firing_for restarts when the condition comes back while the alert is kept firing', () => {
    const keep: Timing = { forMs: 0, keepFiringForMs: 5 * MIN };
    const book = new AlertBook();
    const apply = (at: number, active: boolean) =>
      book.apply(evaluation('rule:HostDown', keep, active ? [candidate(HOST_DOWN)] : []), at);
    apply(T, true);
    expect(apply(T + 3 * MIN, false)).toEqual([]);
    expect(book.alerts()[0]!.keepFiringSince).toBe(T + 3 * MIN);
    // Active again: no transition, the alert is not a new one, and the count is reset.
    expect(apply(T + 4 * MIN, true)).toEqual([]);
    expect(book.alerts()[0]).toMatchObject({ state: 'firing', activeSince: T, firedAt: T });
    expect(book.alerts()[0]!.keepFiringSince).toBeUndefined();
    // T + 8m would have ended the first count; the new one runs from T + 9m to T + 14m.
    expect(apply(T + 8 * MIN + 30 * SEC, true)).toEqual([]);
    expect(apply(T + 9 * MIN, false)).toEqual([]);
    expect(apply(T + 14 * MIN - 1, false)).toEqual([]);
    expect(book.alerts()[0]!.keepFiringSince).toBe(T + 9 * MIN);
    expect(summary(apply(T + 14 * MIN, false))).toEqual([['firing', 'resolved', T + 14 * MIN]]);
  });

  it('keep_firing_for does not hold a pending alert', () => {
    const keep: Timing = { forMs: 2 * MIN, keepFiringForMs: 10 * MIN };
    const book = new AlertBook();
    book.apply(evaluation('rule:HostDown', keep, [candidate(HOST_DOWN)]), T);
    const stopped = book.apply(evaluation('rule:HostDown', keep, []), T + MIN);
    expect(summary(stopped)).toEqual([['pending', 'resolved', T + MIN]]);
    expect(book.alerts()).toEqual([]);
  });

  it('a resolved alert that comes back starts pending again with a new activeSince', () => {
    const book = new AlertBook();
    on(book, T);
    on(book, T + 2 * MIN);
    off(book, T + 3 * MIN);
    const back = on(book, T + 5 * MIN);
    expect(summary(back)).toEqual([['resolved', 'pending', T + 5 * MIN]]);
    expect(back[0]!.alert.activeSince).toBe(T + 5 * MIN);
    expect(back[0]!.alert.firedAt).toBeUndefined();
    expect(back[0]!.alert.resolvedAt).toBeUndefined();
    expect(book.alerts()).toHaveLength(1);
    expect(on(book, T + 7 * MIN - 1)).toEqual([]);
    expect(summary(on(book, T + 7 * MIN))).toEqual([['pending', 'firing', T + 7 * MIN]]);
    expect(book.alerts()[0]).toMatchObject({ activeSince: T + 5 * MIN, firedAt: T + 7 * MIN });
  });

  it('`for: 0` fires at the first evaluation', () => {
    const book = new AlertBook();
    const now: Timing = { forMs: 0, keepFiringForMs: 0 };
    const out = book.apply(evaluation('rule:Now', now, [candidate({ alertname: 'Now' })]), T);
    expect(summary(out)).toEqual([['inactive', 'firing', T]]);
    expect(out[0]!.alert).toMatchObject({ state: 'firing', activeSince: T, firedAt: T });
  });

  it("one rule's evaluation leaves another rule's alerts alone", () => {
    const book = new AlertBook();
    const now: Timing = { forMs: 0, keepFiringForMs: 0 };
    const a = { alertname: 'A', host: 'web-1' };
    const b = { alertname: 'B', host: 'web-1' };
    book.apply(evaluation('rule:A', now, [candidate(a)]), T);
    book.apply(evaluation('rule:B', now, [candidate(b)]), T);
    // Rule A stops: only its alert resolves.
    const out = book.apply(evaluation('rule:A', now, []), T + MIN);
    expect(out.map((t) => [t.alert.labels['alertname'], t.to])).toEqual([['A', 'resolved']]);
    expect(book.get(alertFingerprint(b))).toMatchObject({ state: 'firing', rule: 'rule:B' });
    // Rule B evaluated with nothing of A: A stays resolved, B untouched by A's absence.
    expect(book.apply(evaluation('rule:B', now, [candidate(b)]), T + 2 * MIN)).toEqual([]);
    expect(book.get(alertFingerprint(a))).toMatchObject({ state: 'resolved' });
  });

  it('several alerts of one rule move independently', () => {
    const book = new AlertBook();
    const web1 = { alertname: 'HostDown', host: 'web-1' };
    const web2 = { alertname: 'HostDown', host: 'web-2' };
    const t: Timing = { forMs: MIN, keepFiringForMs: 0 };
    book.apply(evaluation('rule:HostDown', t, [candidate(web1)]), T);
    const second = book.apply(
      evaluation('rule:HostDown', t, [candidate(web1), candidate(web2)]),
      T + MIN,
    );
    expect(second.map((x) => [x.alert.labels['host'], x.from, x.to])).toEqual([
      ['web-1', 'pending', 'firing'],
      ['web-2', 'inactive', 'pending'],
    ]);
    const third = book.apply(evaluation('rule:HostDown', t, [candidate(web2)]), T + 2 * MIN);
    expect(third.map((x) => [x.alert.labels['host'], x.from, x.to])).toEqual([
      ['web-2', 'pending', 'firing'],
      ['web-1', 'firing', 'resolved'],
    ]);
  });

  it('prune() forgets resolved alerts RESOLVED_RETENTION_MS after they resolved, and only those', () => {
    const book = new AlertBook();
    const now: Timing = { forMs: 0, keepFiringForMs: 0 };
    const gone = { alertname: 'Gone' };
    const stays = { alertname: 'Stays' };
    book.apply(evaluation('rule:Gone', now, [candidate(gone)]), T);
    book.apply(evaluation('rule:Gone', now, []), T + MIN);
    book.apply(evaluation('rule:Stays', now, [candidate(stays)]), T);
    book.prune(T + MIN + RESOLVED_RETENTION_MS - 1);
    expect(book.get(alertFingerprint(gone))?.state).toBe('resolved');
    book.prune(T + MIN + RESOLVED_RETENTION_MS);
    expect(book.get(alertFingerprint(gone))).toBeUndefined();
    // A firing alert is never pruned, however old.
    book.prune(T + 100 * RESOLVED_RETENTION_MS);
    expect(book.alerts().map((a) => a.labels['alertname'])).toEqual(['Stays']);
  });

  it('the fingerprint depends on the labels, not their order', () => {
    const one = alertFingerprint({ alertname: 'A', host: 'web-1', severity: 'page' });
    const two = alertFingerprint({ severity: 'page', host: 'web-1', alertname: 'A' });
    expect(one).toBe(two);
    expect(one).toMatch(/^\d+$/);
    expect(BigInt(one) < 2n ** 64n).toBe(true);
    expect(alertFingerprint({ alertname: 'A', host: 'web-2', severity: 'page' })).not.toBe(one);
    // Keys and values cannot run into each other.
    expect(alertFingerprint({ a: 'bc' })).not.toBe(alertFingerprint({ ab: 'c' }));
    // Candidates with reordered labels are the same alert.
    const book = new AlertBook();
    const t: Timing = { forMs: MIN, keepFiringForMs: 0 };
    book.apply(evaluation('r', t, [candidate({ alertname: 'A', host: 'web-1' })]), T);
    const out = book.apply(
      evaluation('r', t, [candidate({ host: 'web-1', alertname: 'A' })]),
      T + MIN,
    );
    expect(summary(out)).toEqual([['pending', 'firing', T + MIN]]);
    expect(book.alerts()).toHaveLength(1);
  });
});

describe('alert history', () => {
  let store: Store;
  beforeAll(async () => {
    ({ store } = await openTestStore());
  });
  afterAll(async () => {
    await store?.close();
  });

  // Recent enough for the history's retention (rows past it are dropped on insert).
  const H = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000 + 123;
  const alert = (
    labels: Record<string, string>,
    rule: string,
    state: Alert['state'],
    activeSince: number,
    extra: Partial<Alert> = {},
  ): Alert => ({
    fingerprint: alertFingerprint(labels),
    rule,
    labels,
    annotations: { summary: `${labels['alertname']} is on` },
    state,
    value: 2.5,
    activeSince,
    lastActive: activeSince,
    ...extra,
  });
  const tr = (at: number, a: Alert, from: Transition['from'], to: Alert['state']): Transition => ({
    at,
    alert: { ...a, state: to },
    from,
    to,
  });

  const firing = { alertname: 'HighLatency', service: 'checkout', severity: 'page' };
  const pending = { alertname: 'DiskFilling', host: 'db-1', severity: 'ticket' };
  const resolved = { alertname: 'HostDown', host: 'web-9', severity: 'page' };
  const later = { alertname: 'Later', severity: 'ticket' };
  const refired = { alertname: 'Flappy', severity: 'page', slo: 'flappy' };

  it('writes transitions and reads back exactly the open alerts at a time', async () => {
    const f = alert(firing, 'rule:HighLatency', 'firing', H);
    const p = alert(pending, 'rule:DiskFilling', 'pending', H + 2 * MIN);
    const r = alert(resolved, 'rule:HostDown', 'firing', H);
    const l = alert(later, 'rule:Later', 'pending', H + 20 * MIN);
    const x1 = alert(refired, 'slo:flappy:page-fast', 'firing', H);
    const x2 = alert(refired, 'slo:flappy:page-fast', 'pending', H + 6 * MIN);
    await writeTransitions(store, [
      tr(H, f, 'inactive', 'pending'),
      tr(H + 5 * MIN, f, 'pending', 'firing'),
      tr(H + 2 * MIN, p, 'inactive', 'pending'),
      tr(H, r, 'inactive', 'firing'),
      tr(H + 3 * MIN, r, 'firing', 'resolved'),
      tr(H + 20 * MIN, l, 'inactive', 'pending'),
      tr(H, x1, 'inactive', 'firing'),
      tr(H + 4 * MIN, x1, 'firing', 'resolved'),
      tr(H + 6 * MIN, x2, 'resolved', 'pending'),
      tr(H + 8 * MIN, x2, 'pending', 'firing'),
    ]);
    expect(await writeTransitions(store, [])).toBeUndefined();
    const [count] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${ident(store.table('alerts'))}`,
    );
    expect(Number(count!.n)).toBe(10);

    const at = H + 10 * MIN;
    const open = (await openAlerts(store, at)).sort((a, b) =>
      a.labels['alertname']!.localeCompare(b.labels['alertname']!),
    );
    expect(open).toEqual([
      {
        fingerprint: alertFingerprint(pending),
        rule: 'rule:DiskFilling',
        labels: pending,
        annotations: { summary: 'DiskFilling is on' },
        state: 'pending',
        value: 2.5,
        activeSince: H + 2 * MIN,
        lastActive: H + 2 * MIN,
      },
      {
        fingerprint: alertFingerprint(refired),
        rule: 'slo:flappy:page-fast',
        labels: refired,
        annotations: { summary: 'Flappy is on' },
        state: 'firing',
        value: 2.5,
        activeSince: H + 6 * MIN,
        lastActive: H + 8 * MIN,
        firedAt: H + 8 * MIN,
      },
      {
        fingerprint: alertFingerprint(firing),
        rule: 'rule:HighLatency',
        labels: firing,
        annotations: { summary: 'HighLatency is on' },
        state: 'firing',
        value: 2.5,
        activeSince: H,
        lastActive: H + 5 * MIN,
        firedAt: H + 5 * MIN,
      },
    ]);
    for (const a of open) expect(a.labels).not.toHaveProperty('__rule__');
  });

  it('ignores transitions after `at`: the state then is what it was', async () => {
    // Before the resolution of HostDown and before HighLatency fired.
    const open = await openAlerts(store, H + 2 * MIN);
    const byName = new Map(open.map((a) => [a.labels['alertname'], a]));
    expect([...byName.keys()].sort()).toEqual(['DiskFilling', 'Flappy', 'HighLatency', 'HostDown']);
    expect(byName.get('HighLatency')).toMatchObject({ state: 'pending', activeSince: H });
    expect(byName.get('HighLatency')!.firedAt).toBeUndefined();
    expect(byName.get('HostDown')).toMatchObject({ state: 'firing', firedAt: H });
    expect(byName.get('Flappy')).toMatchObject({ state: 'firing', activeSince: H, firedAt: H });
    // Exactly at a transition's time it counts.
    const atResolution = await openAlerts(store, H + 3 * MIN);
    expect(atResolution.map((a) => a.labels['alertname'])).not.toContain('HostDown');
    // Before anything: nothing open.
    expect(await openAlerts(store, H - 1)).toEqual([]);
  });

  it('an alert restored from the history continues in the state machine without a new transition', async () => {
    const book = new AlertBook();
    book.restore(await openAlerts(store, H + 10 * MIN));
    const t: Timing = { forMs: 5 * MIN, keepFiringForMs: 0 };
    // Still active: no transition (it was firing already).
    const still = book.apply(
      evaluation('rule:HighLatency', t, [candidate(firing)]),
      H + 10 * MIN + 15 * SEC,
    );
    expect(still).toEqual([]);
    // DiskFilling has been pending since H + 2m: it fires once `for` is over.
    const fired = book.apply(
      evaluation('rule:DiskFilling', t, [candidate(pending)]),
      H + 10 * MIN + 15 * SEC,
    );
    expect(summary(fired)).toEqual([['pending', 'firing', H + 10 * MIN + 15 * SEC]]);
  });

  it('Alerter.resume() restores the open alerts active until then; keep_firing_for counts from the first inactive evaluation', async () => {
    const keep: Timing = { forMs: 0, keepFiringForMs: 5 * MIN };
    const alerter = new Alerter({
      store,
      logger: silentLogger(),
      registry: new Registry(),
      slos: [],
      // HighLatency's condition no longer holds.
      rules: async () => [evaluation('rule:HighLatency', keep, [])],
      intervalMs: MIN,
    });
    const resumedAt = H + 10 * MIN;
    expect(await alerter.resume(resumedAt)).toBe(3);
    const restored = new Map(alerter.book.alerts().map((a) => [a.labels['alertname'], a]));
    expect([...restored.keys()].sort()).toEqual(['DiskFilling', 'Flappy', 'HighLatency']);
    // The history last saw HighLatency at H + 5m (when it fired): active until the resume.
    for (const a of restored.values()) expect(a.lastActive).toBe(resumedAt);
    expect(restored.get('HighLatency')).toMatchObject({ state: 'firing', firedAt: H + 5 * MIN });
    expect(restored.get('HighLatency')!.keepFiringSince).toBeUndefined();
    // First found inactive at H + 11m: kept firing until H + 16m.
    expect(await alerter.evaluate(H + 11 * MIN)).toEqual([]);
    expect(await alerter.evaluate(H + 16 * MIN - 1)).toEqual([]);
    const resolved = await alerter.evaluate(H + 16 * MIN);
    expect(resolved.map((t) => [t.alert.labels['alertname'], t.from, t.to, t.at])).toEqual([
      ['HighLatency', 'firing', 'resolved', H + 16 * MIN],
    ]);
    // Written to the history: no longer open.
    const open = await openAlerts(store, H + 16 * MIN);
    expect(open.map((a) => a.labels['alertname']).sort()).toEqual(['DiskFilling', 'Flappy']);
  });
});

describe('evaluation schedule', () => {
  it('cronFor() gives a node-cron schedule aligned to the clock', () => {
    expect(cronFor(15 * SEC)).toBe('*/15 * * * * *');
    expect(cronFor(30 * SEC)).toBe('*/30 * * * * *');
    expect(cronFor(SEC)).toBe('* * * * * *');
    expect(cronFor(MIN)).toBe('0 * * * * *');
    expect(cronFor(5 * MIN)).toBe('0 */5 * * * *');
    expect(cronFor(30 * MIN)).toBe('0 */30 * * * *');
    expect(cronFor(60 * MIN)).toBe('0 0 * * * *');
  });

  it('cronFor() refuses an interval that divides neither a minute nor an hour', () => {
    for (const ms of [7 * SEC, 90 * SEC, 1500, 7 * MIN, 45 * MIN, 61 * MIN, 2 * 60 * MIN, 0]) {
      expect(() => cronFor(ms)).toThrow(
        `an evaluation interval must divide a minute or an hour evenly (got ${ms} ms)`,
      );
    }
  });
});

describe('alerter config', () => {
  it('has defaults: 15s interval, 10s lease, no files', () => {
    const config = alerterConfigSchema.parse(undefined);
    expect(config.interval.ms).toBe(15_000);
    expect(config.interval.text).toBe('15s');
    expect(config.lease.ttl.ms).toBe(10_000);
    expect(config.lease.bucket).toBe('halo_alerter_lease');
    expect(config.slos).toEqual([]);
    expect(config.rules).toEqual([]);
    const set = alerterConfigSchema.parse({ interval: '1m', slos: ['slos/*.yaml'] });
    expect(set.interval.ms).toBe(MIN);
    expect(set.slos).toEqual(['slos/*.yaml']);
    expect(alerterConfigSchema.parse({ interval: '1h' }).interval.ms).toBe(60 * MIN);
  });

  it('refuses an interval of 7s with a message that says what is expected', () => {
    const result = alerterConfigSchema.safeParse({ interval: '7s' });
    expect(result.success).toBe(false);
    expect(result.error!.issues).toHaveLength(1);
    expect(result.error!.issues[0]).toMatchObject({
      path: ['interval'],
      message: 'expected an interval that divides a minute or an hour evenly (15s, 30s, 1m, 5m…)',
    });
  });

  it('names the file, line and key in halo.yaml', () => {
    const dir = tempDir('halo-alerter-config-');
    const file = join(dir, 'halo.yaml');
    const load = (text: string) => {
      writeFileSync(file, text);
      return loadConfig({ schema: haloConfigSchema, path: file, env: {} });
    };
    const message = (text: string) => {
      try {
        load(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message.replace(`${file}:`, 'halo.yaml:');
      }
      throw new Error('expected a ConfigError');
    };
    expect(message('alerter:\n  interval: 7s\n')).toBe(
      'halo.yaml:2: alerter.interval: got "7s", expected an interval that divides a minute or an hour evenly (15s, 30s, 1m, 5m…)',
    );
    expect(message('alerter:\n  interval: 500ms\n')).toBe(
      'halo.yaml:2: alerter.interval: got "500ms", expected at least 1s',
    );
    const loaded = load('alerter:\n  interval: 30s\n  lease: { ttl: 45s }\n');
    expect(loaded.config.alerter.interval.ms).toBe(30_000);
    expect(loaded.config.alerter.lease.ttl.ms).toBe(45_000);
    expect(load('log: { level: info }\n').config.alerter.interval.ms).toBe(15_000);
  });
});
