// `halo up --backfill`: history before the demo's first live data, made inside ClickHouse from the
// live series' own figures (samples, shop log lines; traffic-shaped, with incidents), then the demo
// SLOs replayed over it by the alerter's own code (SLO evaluations, alert history).

import { sloAlerts } from '../../alerter/slo/alerts.ts';
import { evaluateSlos, writeEvaluations, type SloEvaluation } from '../../alerter/slo/evaluate.ts';
import { writeTransitions } from '../../alerter/state/history.ts';
import { AlertBook, type Transition } from '../../alerter/state/machine.ts';
import { HaloError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import { ident, sql } from '../../core/store/sql.ts';
import { storeError } from '../../core/store/store.ts';
import {
  BackfillError,
  DAY,
  HOUR,
  INGEST_LAG_MS,
  MINUTE,
  SERIES_PER_INSERT,
  WRITE_BATCH,
  chunks,
  demoIncidents,
  strings,
  type BackfillIncident,
  type BackfillOptions,
  type BackfillResult,
  type Chunk,
  type Plan,
} from './backfill-plan.ts';
import { instant, planSeries, readLive } from './backfill-series.ts';
import {
  attachStaging,
  createStaging,
  dropStaging,
  insertSettings,
  registerHistory,
  sampleSelect,
  stageRollups,
} from './backfill-samples.ts';
import { logCounts, logSelect, logTarget, logsRetentionMs } from './backfill-logs.ts';

/**
 * Each hour over (from, to), and each minute from 10 minutes before to 30 after an incident; all
 * after the first sample (at the first minute from `from`), so that every step has data.
 */
function replaySteps(from: number, to: number, incidents: readonly BackfillIncident[]): number[] {
  const first = Math.ceil(from / MINUTE) * MINUTE;
  const steps = new Set<number>();
  for (let t = (Math.floor(first / HOUR) + 1) * HOUR; t < to; t += HOUR) steps.add(t);
  for (const i of incidents) {
    const end = Math.min(to, i.to + 30 * MINUTE);
    for (let t = Math.ceil((i.from - 10 * MINUTE) / MINUTE) * MINUTE; t < end; t += MINUTE)
      if (t > first) steps.add(t);
  }
  return [...steps].sort((a, b) => a - b);
}

/**
 * The demo SLOs evaluated at each step as the alerter would (alerter/slo/backtest.ts), the
 * evaluations and the book's transitions written. Alerts still open after the last step are
 * followed minute by minute up to `to`, then resolved there: the live alerter starts with its
 * own state and would never close them.
 */
async function replay(
  o: BackfillOptions,
  plan: Plan,
  progress: (what: string) => void,
): Promise<{ evaluations: number; transitions: number }> {
  const { store, slos } = o;
  const book = new AlertBook();
  let evaluations: SloEvaluation[] = [];
  let transitions: Transition[] = [];
  let written = { evaluations: 0, transitions: 0 };
  const flush = async () => {
    await writeEvaluations(store, evaluations);
    await writeTransitions(store, transitions);
    written = {
      evaluations: written.evaluations + evaluations.length,
      transitions: written.transitions + transitions.length,
    };
    evaluations = [];
    transitions = [];
  };
  const step = async (at: number, active = true) => {
    const measured = active ? await evaluateSlos(store, slos, at) : [];
    evaluations.push(...measured);
    for (const rule of sloAlerts(slos, measured, at)) transitions.push(...book.apply(rule, at));
    book.prune(at);
    if (evaluations.length >= WRITE_BATCH) await flush();
  };
  const open = () => book.alerts().some((a) => a.state !== 'resolved');
  const steps = replaySteps(plan.from, plan.to, plan.incidents);
  let day = steps.length > 0 ? Math.floor(steps[0]! / DAY) : 0;
  let last = plan.from;
  for (const at of steps) {
    o.signal?.throwIfAborted();
    if (Math.floor(at / DAY) !== day) {
      progress(`SLO replay ${new Date(day * DAY).toISOString().slice(0, 10)}`);
      day = Math.floor(at / DAY);
    }
    await step(at);
    last = at;
  }
  for (let at = last + MINUTE; open() && at < plan.to; at += MINUTE) {
    o.signal?.throwIfAborted();
    await step(at);
    last = at;
  }
  if (open()) {
    o.logger.warn(
      { at: new Date(last).toISOString() },
      'demo backfill: alerts still open at the end: resolved',
    );
    await step(last, false);
  }
  await flush();
  if (steps.length > 0) progress(`SLO replay ${new Date(day * DAY).toISOString().slice(0, 10)}`);
  return written;
}

// ------------------------------------------------------------------------------ the backfill

function validate(o: BackfillOptions): Plan {
  const { from, to } = o;
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to)) {
    throw new BackfillError(
      `backfill: from ${from} and to ${to}: expected times in ms with from before to`,
    );
  }
  if (o.hosts.length === 0 || o.hosts.some((h) => typeof h !== 'string' || h === '')) {
    throw new BackfillError('backfill: hosts is empty: expected the demo members to extend back');
  }
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new BackfillError(`backfill: seed ${seed}: expected a whole number from 0`);
  }
  for (const i of o.incidents ?? []) {
    if (!(i.from < i.to) || !(i.errorShare >= 0 && i.errorShare < 1)) {
      throw new BackfillError(
        `backfill: incident ${JSON.stringify(i)}: expected from before to and an error share from 0 to below 1`,
      );
    }
  }
  const incidents = (o.incidents ?? demoIncidents(from, to))
    .filter((i) => i.to > from && i.from < to)
    .map((i) => ({ ...i }));
  return { from, to, seed, incidents };
}

/** Waits (at most liveMs and a little) until the live data of [to, to + liveMs) should be stored. */
async function awaitLive(o: BackfillOptions, liveMs: number, log: Logger): Promise<void> {
  const wait = Math.min(o.to + liveMs + INGEST_LAG_MS - Date.now(), liveMs + INGEST_LAG_MS);
  if (wait <= 0) return;
  log.info({ wait_s: Math.round(wait / 1000) }, 'demo backfill: waiting for live rates');
  await sleep(wait, o.signal);
  o.signal?.throwIfAborted();
}

export async function backfillDemo(o: BackfillOptions): Promise<BackfillResult> {
  const began = performance.now();
  const plan = validate(o);
  const { store } = o;
  const log = o.logger.child({ module: 'demo-backfill' });
  const liveMs = o.liveMs ?? 60_000;
  await awaitLive(o, liveMs, log);

  const [existing] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('samples'))}
      WHERE host IN ${strings(o.hosts)} AND ts >= ${instant(plan.from)} AND ts < ${instant(plan.to)}`,
  );
  if (Number(existing?.n ?? 0) > 0) {
    throw new BackfillError(
      `backfill: ${o.hosts.join(', ')} already have ${existing?.n} samples between ` +
        `${instant(plan.from).toISOString()} and ${instant(plan.to).toISOString()}: history is written into an empty range only`,
    );
  }
  const plans = planSeries(await readLive(store, o.hosts, plan.to, plan.to + liveMs));
  if (plans.length === 0) {
    throw new BackfillError(
      `backfill: no series with live samples for ${o.hosts.join(', ')} from ` +
        `${instant(plan.to).toISOString()}: nothing to extend back (is the demo's data in ${store.database}?)`,
    );
  }
  const days = chunks(plan.from, plan.to, plan);
  const target = await logTarget(store, o.hosts, plan.to);
  const logsFrom = Math.max(plan.from, plan.to - (await logsRetentionMs(store)) + HOUR);
  const logDays = target && logsFrom < plan.to ? chunks(logsFrom, plan.to, plan) : [];
  const replayDays = new Set(
    replaySteps(plan.from, plan.to, plan.incidents).map((t) => Math.floor(t / DAY)),
  );
  const total = days.length + logDays.length + replayDays.size;
  let done = 0;
  const progress = (what: string) => o.onProgress?.(++done, total, what);
  const dayName = (c: Chunk) => new Date(c.start).toISOString().slice(0, 10);
  log.info(
    { series: plans.length, days: days.length, incidents: plan.incidents.length },
    'demo backfill: writing samples',
  );

  // Samples: staged and attached on one node; through the rollup views on a cluster.
  let phase = performance.now();
  const staging = store.cluster === undefined ? await createStaging(store) : undefined;
  let samples = 0;
  try {
    for (const chunk of days) {
      o.signal?.throwIfAborted();
      for (let i = 0; i < plans.length; i += SERIES_PER_INSERT) {
        const part = plans.slice(i, i + SERIES_PER_INSERT);
        const into = staging?.samples ?? store.table('samples');
        await store.command(
          sql`INSERT INTO ${ident(into)} (name, tier, host, service, labels, ts, value) ${insertSettings()}
            SELECT name, tier, host, service, labels, ts, value FROM (${sampleSelect(part, chunk, plan)})`,
        );
        samples += part.length * chunk.minutes;
      }
      if (staging) await stageRollups(store, staging, chunk);
      progress(`samples ${dayName(chunk)}`);
    }
    await registerHistory(store, plans, days[0]?.start ?? plan.from);
    if (staging) await attachStaging(store, staging);
  } catch (err) {
    throw o.signal?.aborted || err instanceof HaloError ? err : storeError('backfill samples', err);
  } finally {
    if (staging) await dropStaging(store, staging).catch(() => undefined);
  }
  const samplesSeconds = (performance.now() - phase) / 1000;

  phase = performance.now();
  let logLines = 0;
  const logMinutes = logDays.flatMap((c) => c.traffic);
  const meanTraffic = logMinutes.reduce((sum, x) => sum + x, 0) / Math.max(1, logMinutes.length);
  for (const chunk of logDays) {
    o.signal?.throwIfAborted();
    const counts = logCounts(chunk, plan.to, meanTraffic, plan.seed);
    try {
      await store.command(
        sql`INSERT INTO ${ident(store.table('logs'))}
            (ts, tier, host, service, severity, body, attributes, trace_id) ${insertSettings()}
          SELECT ts, ${target!.tier}, ${target!.host}, ${target!.service}, severity, body, attributes, trace_id
          FROM (${logSelect(target!, chunk, counts, plan)})`,
      );
    } catch (err) {
      throw storeError(`backfill log lines of ${dayName(chunk)}`, err);
    }
    logLines += counts.reduce((sum, n) => sum + n, 0);
    progress(`logs ${dayName(chunk)}`);
  }
  const logsSeconds = (performance.now() - phase) / 1000;

  phase = performance.now();
  const replayed = await replay(o, plan, progress);
  const replaySeconds = (performance.now() - phase) / 1000;
  const result: BackfillResult = {
    series: plans.length,
    samples,
    logLines,
    evaluations: replayed.evaluations,
    transitions: replayed.transitions,
    incidents: plan.incidents,
    seconds: (performance.now() - began) / 1000,
    phases: { samples: samplesSeconds, logs: logsSeconds, replay: replaySeconds },
  };
  log.info({ ...result, incidents: result.incidents.length }, 'demo backfill: written');
  return result;
}

export {
  BASELINE_ERROR_SHARE,
  BackfillError,
  demoIncidents,
  trafficShape,
  type BackfillIncident,
  type BackfillOptions,
  type BackfillResult,
} from './backfill-plan.ts';
