// The dispatcher and the notification log, on a timeline with an injected clock: group_wait,
// group_interval, repeat_interval, resolution, suppression, a failed delivery tried again, and
// no duplicate after a restart in the middle of a group (the log is read back from ClickHouse).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  needsUpdate,
  type DispatchAlert,
  type DispatchRoute,
  type GroupNotification,
} from '../alerter/dispatch/dispatcher.ts';
import { NotificationLog, type Outcome } from '../alerter/nflog/nflog.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { openTestStore } from './helpers/store.ts';

const S = 1000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);
const ROUTE: DispatchRoute = {
  id: 'root/0',
  receiver: 'oncall',
  groupBy: ['alertname'],
  groupWaitMs: 30 * S,
  groupIntervalMs: 300 * S,
  repeatIntervalMs: 4 * 3600 * S,
};

let store: Store;
beforeAll(async () => {
  ({ store } = await openTestStore());
});
afterAll(async () => {
  await store?.close();
});

function alert(fp: string, host: string, status: 'firing' | 'resolved' = 'firing'): DispatchAlert {
  return {
    fingerprint: fp,
    labels: { alertname: 'HostDown', host },
    annotations: { summary: `${host} is down` },
    status,
    startsAt: T0,
  };
}

interface Sent {
  at: number;
  integration: string;
  n: GroupNotification;
}

function dispatcher(nflog: NotificationLog, clock: { now: number }, outcomes: Outcome[] = []) {
  const sent: Sent[] = [];
  const silenced = new Set<string>();
  const d = new Dispatcher({
    routes: () => [ROUTE],
    suppressed: (a) => silenced.has(a.fingerprint),
    muted: () => false,
    integrations: () => [{ name: 'webhook/0', sendResolved: true }],
    send: async (integration, n) => {
      sent.push({ at: clock.now, integration, n });
      const outcome = outcomes.shift() ?? 'sent';
      return { outcome, attempts: 1, ...(outcome === 'sent' ? {} : { error: 'HTTP 500' }) };
    },
    nflog,
    logger: silentLogger(),
  });
  return { d, sent, silenced };
}

/** Plays the dispatcher every second from `from` to `to`. */
async function play(d: Dispatcher, clock: { now: number }, from: number, to: number) {
  for (let t = from; t <= to; t += S) {
    clock.now = t;
    await d.flushDue(t);
  }
}

const fps = (n: GroupNotification) => n.alerts.map((a) => `${a.fingerprint}:${a.status}`);

describe('the dispatcher', () => {
  it('waits group_wait, then tells new alerts at group_interval, repeats, and tells the resolution', async () => {
    const nflog = new NotificationLog(store);
    const clock = { now: T0 };
    const { d, sent } = dispatcher(nflog, clock);
    d.update([alert('1', 'a')], T0);
    d.update([alert('2', 'b')], T0 + 10 * S);
    await play(d, clock, T0, T0 + 29 * S);
    expect(sent).toEqual([]);
    await play(d, clock, T0 + 30 * S, T0 + 30 * S);
    expect(sent.map((s) => [s.at - T0, fps(s.n)])).toEqual([[30 * S, ['1:firing', '2:firing']]]);
    // A third host joins: told at the next group_interval, not before.
    d.update([alert('3', 'c')], T0 + 60 * S);
    await play(d, clock, T0 + 31 * S, T0 + 329 * S);
    expect(sent).toHaveLength(1);
    await play(d, clock, T0 + 330 * S, T0 + 330 * S);
    expect(fps(sent[1]!.n)).toEqual(['1:firing', '2:firing', '3:firing']);
    // Nothing changes: quiet until repeat_interval after the last notification.
    const lastAt = sent[1]!.at;
    for (let t = lastAt + 300 * S; t < lastAt + ROUTE.repeatIntervalMs; t += 300 * S) {
      clock.now = t;
      await d.flushDue(t);
    }
    expect(sent).toHaveLength(2);
    const repeatAt = lastAt + ROUTE.repeatIntervalMs;
    clock.now = repeatAt;
    await d.flushDue(repeatAt);
    expect(sent).toHaveLength(3);
    // Host b recovers: the resolution goes out at the next flush, with what still fires.
    d.update([alert('2', 'b', 'resolved')], repeatAt + 10 * S);
    await play(d, clock, repeatAt + 300 * S, repeatAt + 300 * S);
    expect(fps(sent[3]!.n)).toEqual(['1:firing', '3:firing', '2:resolved']);
    expect(sent[3]!.n.status).toBe('firing');
    // The group key is stable and names the route.
    expect(new Set(sent.map((s) => s.n.groupKey)).size).toBe(1);
    expect(sent[0]!.n.groupKey).toMatch(/^root\/0:[0-9a-f]{16}$/);
    expect(sent[0]!.n.groupLabels).toEqual({ alertname: 'HostDown' });
  });

  it('leaves silenced alerts out, and does not notify a group whose only alert is silenced', async () => {
    const nflog = new NotificationLog(store);
    const clock = { now: T0 };
    const { d, sent, silenced } = dispatcher(nflog, clock);
    silenced.add('11');
    d.update([alert('11', 'x'), alert('12', 'y')], T0);
    await play(d, clock, T0 + 30 * S, T0 + 30 * S);
    expect(fps(sent[0]!.n)).toEqual(['12:firing']);
    const other = dispatcher(new NotificationLog(store), clock);
    other.silenced.add('21');
    other.d.update([{ ...alert('21', 'z'), labels: { alertname: 'Other', host: 'z' } }], T0);
    await play(other.d, clock, T0 + 30 * S, T0 + 30 * S);
    expect(other.sent).toEqual([]);
  });

  it('tries a failed delivery again at the next group_interval, and logs every attempt', async () => {
    const nflog = new NotificationLog(store);
    const clock = { now: T0 };
    const { d, sent } = dispatcher(nflog, clock, ['gave_up']);
    const a = { ...alert('31', 'f'), labels: { alertname: 'Flaky', host: 'f' } };
    d.update([a], T0);
    await play(d, clock, T0 + 30 * S, T0 + 30 * S);
    await play(d, clock, T0 + 330 * S, T0 + 330 * S);
    expect(sent.map((s) => s.at - T0)).toEqual([30 * S, 330 * S]);
    const rows = await store.query<{ outcome: string }>(
      sql`SELECT outcome FROM ${ident(store.table('notifications'))}
          WHERE has(firing_alerts, toUInt64(31)) ORDER BY ts`,
    );
    expect(rows.map((r) => r.outcome)).toEqual(['gave_up', 'sent']);
  });

  it('after a restart in the middle of a group, the log read back keeps it from sending again', async () => {
    const clock = { now: T0 };
    const first = dispatcher(new NotificationLog(store), clock);
    const a = { ...alert('41', 'r'), labels: { alertname: 'Restart', host: 'r' } };
    first.d.update([a], T0);
    await play(first.d, clock, T0 + 30 * S, T0 + 30 * S);
    expect(first.sent).toHaveLength(1);
    // A new alerter (or the standby) starts: same alerts, the log read from ClickHouse.
    const nflog = new NotificationLog(store);
    expect(await nflog.load(T0 + 60 * S)).toBeGreaterThan(0);
    const second = dispatcher(nflog, clock);
    second.d.update([a], T0 + 60 * S);
    await play(second.d, clock, T0 + 60 * S, T0 + 600 * S);
    expect(second.sent).toEqual([]);
    // Without the log it would have sent the same notification again.
    const amnesiac = dispatcher(new NotificationLog(store), clock);
    amnesiac.d.update([a], T0 + 60 * S);
    await play(amnesiac.d, clock, T0 + 90 * S, T0 + 90 * S);
    expect(amnesiac.sent).toHaveLength(1);
  });
});

describe('needsUpdate (Alertmanager DedupStage)', () => {
  const last = {
    receiver: 'r',
    integration: 'i',
    groupKey: 'g',
    firing: ['1', '2'],
    resolved: [],
    at: T0,
  };
  const f = (fp: string) => alert(fp, fp);
  const r = (fp: string) => alert(fp, fp, 'resolved');
  const cases: Array<[string, Parameters<typeof needsUpdate>, boolean]> = [
    ['a group never told, firing, is told', [undefined, [f('1')], [], true, T0, ROUTE], true],
    [
      'a group never told, only resolved, is not',
      [undefined, [], [r('1')], true, T0, ROUTE],
      false,
    ],
    ['a new firing alert is told', [last, [f('1'), f('3')], [], true, T0, ROUTE], true],
    ['fewer firing, resolved sent, is told', [last, [f('1')], [r('2')], true, T0, ROUTE], true],
    [
      'fewer firing, resolved not sent, waits for the repeat',
      [last, [f('1')], [r('2')], false, T0, ROUTE],
      false,
    ],
    [
      'nothing firing any more is told even without send_resolved',
      [last, [], [r('1'), r('2')], false, T0, ROUTE],
      true,
    ],
    [
      'the same firing set waits for the repeat',
      [last, [f('1'), f('2')], [], true, T0 + 1000, ROUTE],
      false,
    ],
    [
      'the same firing set after repeat_interval is told again',
      [last, [f('1'), f('2')], [], true, T0 + ROUTE.repeatIntervalMs, ROUTE],
      true,
    ],
  ];
  it.each(cases)('%s', (_name, args, expected) => {
    expect(needsUpdate(...args)).toBe(expected);
  });
});
