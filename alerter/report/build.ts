// Builds the SLO report of a period from the store: per SLO instance the attained SLI, error
// budget, burn-down, status and change from the period before, the alerts that fired with the
// budget each consumed, the label values with the most bad events, and the exclusion windows.

import { ident, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import { zonedDate, zonedDayStart } from '../../core/zoned-time.ts';
import { errorBudget } from '../slo/burn.ts';
import type { SegmentPolicy } from '../query/segments.ts';
import { measureMany, type MeasureItem } from '../slo/evaluate.ts';
import { countsEvents, type MeasuredSeries } from '../slo/events.ts';
import { excludedIntervals } from '../slo/exclusions.ts';
import type { Slo } from '../slo/model.ts';
import type { MeasureWindow, SliCounts } from '../slo/sli-query.ts';
import type {
  BudgetPoint,
  Contributor,
  ExclusionWindow,
  Incident,
  Report,
  ReportSummary,
  SloReport,
  SloStatus,
} from './model.ts';
import type { ReportsConfig } from './config.ts';
import type { ResolvedPeriod } from './period.ts';

export interface BuildOptions {
  store: Store;
  slos: readonly Slo[];
  period: ResolvedPeriod;
  /** The clock: a period that has not ended is measured up to now. */
  now: number;
  title?: string;
  /** An SLO that met its objective is at risk with less than this percent of budget left. */
  atRiskBelowPercent?: number;
  /** Label values listed per label among the top contributors. */
  contributorsPerLabel?: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Alert history read before the period, to find alerts already firing when it starts. */
const HISTORY_BEFORE_MS = 35 * DAY;
/**
 * Reports read whole minutes from the 1-minute rollups whatever the window's length (raw samples
 * only at unaligned edges): a short incident a month back is older than raw samples are kept.
 */
const REPORT_POLICY: SegmentPolicy = { minuteFromMs: 0, hourFromMs: DAY };

/** Labels never worth listing as contributors: bucket bounds, and what names the series. */
const NOT_CONTRIBUTORS = new Set(['le', '__name__', 'name', 'service', 'tier']);

/** The moments of the burn-down: the start, every local midnight (or hour) after it, the end. */
export function burnDownTicks(from: number, to: number, timeZone: string): number[] {
  const ticks = [from];
  if (to - from <= 2 * DAY) {
    for (let t = Math.floor(from / HOUR) * HOUR + HOUR; t < to; t += HOUR) ticks.push(t);
  } else {
    const first = zonedDate(timeZone, from);
    for (let d = 1; ; d++) {
      const t = zonedDayStart(timeZone, first.year, first.month, first.day + d);
      if (t >= to) break;
      ticks.push(t);
    }
  }
  if (to > from) ticks.push(to);
  return ticks;
}

interface Episode {
  alertname: string;
  slo: string;
  severity: string;
  tier: string;
  summary: string;
  labels: Record<string, string>;
  start: number;
  end: number;
  ongoing: boolean;
}

interface HistoryRow {
  fingerprint: string;
  at_ms: string;
  state: 'pending' | 'firing' | 'resolved';
  alertname: string;
  severity: string;
  slo: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Firing episodes (firing → resolved) that overlap [from, to), clipped to it. */
async function readEpisodes(store: Store, from: number, to: number): Promise<Episode[]> {
  let rows: HistoryRow[];
  try {
    rows = await store.query<HistoryRow>(
      sql`SELECT toString(fingerprint) AS fingerprint, toUnixTimestamp64Milli(ts) AS at_ms, state,
            alertname, severity, slo, labels, annotations
          FROM ${ident(store.table('alerts'))}
          WHERE ts >= ${new Date(from - HISTORY_BEFORE_MS)} AND ts < ${new Date(to)}
          ORDER BY fingerprint, at_ms`,
    );
  } catch (err) {
    throw storeError('read the alert history', err);
  }
  const episodes: Episode[] = [];
  let open: Episode | undefined;
  let openFingerprint = '';
  const close = (end: number, ongoing: boolean) => {
    if (open && open.start < to && end > from) {
      episodes.push({
        ...open,
        start: Math.max(open.start, from),
        end: Math.min(end, to),
        ongoing,
      });
    }
    open = undefined;
  };
  for (const row of rows) {
    const ts = Number(row.at_ms);
    if (row.fingerprint !== openFingerprint) {
      close(to, true);
      openFingerprint = row.fingerprint;
    }
    if (row.state === 'firing' && !open) {
      open = {
        alertname: row.alertname,
        slo: row.slo,
        severity: row.severity,
        tier: row.labels['burn_tier'] ?? '',
        summary: row.annotations['summary'] ?? '',
        labels: row.labels,
        start: ts,
        end: to,
        ongoing: false,
      };
    } else if (row.state === 'resolved' && open) {
      close(ts, false);
    }
  }
  close(to, true);
  return episodes.sort((a, b) => a.start - b.start || a.alertname.localeCompare(b.alertname));
}

/** Per SLO, what is measured: the period, the previous one, the burn-down, the incidents. */
interface Plan {
  slo: Slo;
  ticks: number[];
  incidents: Array<{ episode: Episode; window: number }>;
}

const PERIOD = 0;
const PREVIOUS = 1;
const FIRST_TICK = 2;

/** The windows of a plan; the period is measured up to `end` (now, while it runs). */
function windowsOf(plan: Plan, period: ResolvedPeriod, end: number, now: number): MeasureWindow[] {
  const { from } = period.period;
  const windows: MeasureWindow[] = [
    { from, to: end, lengthMs: end - from },
    {
      from: period.previous.from,
      to: Math.min(period.previous.to, now),
      lengthMs: period.previous.to - period.previous.from,
    },
  ];
  // Burn-down: from the start of the period to each tick after it.
  for (const t of plan.ticks.slice(1)) windows.push({ from, to: t, lengthMs: t - from });
  for (const i of plan.incidents)
    windows.push({
      from: i.episode.start,
      to: i.episode.end,
      lengthMs: i.episode.end - i.episode.start,
    });
  return windows;
}

/** Bad events per label value of each instance, from the series of an event-count SLO. */
class ContributorTally {
  readonly #bad = new Map<string, Map<string, Map<string, number>>>();

  /** The label an SLO is grouped by is its instance, never a contributor within it. */
  constructor(private readonly groupBy: string | undefined) {}

  add(s: MeasuredSeries): void {
    const value = s.sums[PERIOD] ?? 0;
    if (value === 0) return;
    // Bad events are the total less the good part, or the part itself when it counts bad ones.
    const bad = s.partIsGood ? (s.total ? value : 0) - (s.part ? value : 0) : s.part ? value : 0;
    if (bad === 0) return;
    let byLabel = this.#bad.get(s.instance);
    if (!byLabel) this.#bad.set(s.instance, (byLabel = new Map()));
    const labels: Record<string, string> = { host: s.row.host, ...s.row.labels };
    for (const [label, v] of Object.entries(labels)) {
      if (NOT_CONTRIBUTORS.has(label) || label === this.groupBy || v === '') continue;
      let values = byLabel.get(label);
      if (!values) byLabel.set(label, (values = new Map()));
      values.set(v, (values.get(v) ?? 0) + bad);
    }
  }

  /** The top values of each label that has bad events, labels by their top value's share. */
  top(instance: string, totalBad: number, perLabel: number): Contributor[] {
    const byLabel = this.#bad.get(instance);
    if (!byLabel || totalBad <= 0) return [];
    const groups = [...byLabel.entries()].map(([label, values]) =>
      [...values.entries()]
        .filter(([, bad]) => bad > 0)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, perLabel)
        .map(([value, bad]) => ({ label, value, bad, share: bad / totalBad })),
    );
    return groups
      .filter((g) => g.length > 0)
      .sort((a, b) => b[0]!.bad - a[0]!.bad || a[0]!.label.localeCompare(b[0]!.label))
      .flat();
  }
}

function statusOf(
  counts: { good: number; total: number } | undefined,
  objective: number,
  atRiskBelow: number,
): SloStatus {
  if (!counts || counts.total <= 0) return 'no data';
  const attained = (counts.good / counts.total) * 100;
  if (attained < objective) return 'breached';
  const allowed = errorBudget(objective) * counts.total;
  const remaining = allowed > 0 ? ((allowed - (counts.total - counts.good)) / allowed) * 100 : 0;
  return remaining < atRiskBelow ? 'at risk' : 'met';
}

function exclusionsOf(slo: Slo, from: number, to: number): ExclusionWindow[] {
  return slo.exclusions
    .flatMap((e) =>
      excludedIntervals([e], from, to).map((i) => ({
        from: i.from,
        to: i.to,
        reason: e.reason ?? '',
      })),
    )
    .sort((a, b) => a.from - b.from);
}

const percent = (x: number) => `${x.toFixed(1)}%`;

function summaryOf(rows: readonly SloReport[]): ReportSummary {
  const withData = rows.filter((r) => r.total > 0);
  const good = withData.reduce((n, r) => n + r.good, 0);
  const total = withData.reduce((n, r) => n + r.total, 0);
  const risks = rows
    .filter((r) => r.status === 'breached' || r.status === 'at risk')
    .sort((a, b) => (a.budget.remainingPercent ?? 0) - (b.budget.remainingPercent ?? 0))
    .map((r) => {
      const name = `${r.service} / ${r.slo}${r.instance ? ` (${r.instance})` : ''}`;
      const left = r.budget.remainingPercent ?? 0;
      const attained = `${r.attained?.toFixed(3)}% against ${r.objective}%`;
      return r.status === 'breached'
        ? `${name}: breached, ${attained}; the budget is overspent by ${percent(-left)}`
        : `${name}: at risk, only ${percent(left)} of the error budget left (${attained})`;
    });
  return {
    slosTotal: rows.length,
    slosMet: rows.filter((r) => r.status === 'met' || r.status === 'at risk').length,
    atRisk: rows.filter((r) => r.status === 'at risk').length,
    breached: rows.filter((r) => r.status === 'breached').length,
    noData: rows.filter((r) => r.status === 'no data').length,
    weightedAttainment: total > 0 ? (good / total) * 100 : null,
    risks,
  };
}

/** The instance an SLO alert belongs to: its group-by label's value. */
const instanceOf = (slo: Slo | undefined, labels: Record<string, string>) =>
  slo?.groupBy ? (labels[slo.groupBy] ?? '') : '';

/** The options `reports:` in halo.yaml sets: title and the at-risk bound. */
export function reportSettings(
  config: Pick<ReportsConfig, 'title' | 'at_risk_below_percent'>,
): Pick<BuildOptions, 'title' | 'atRiskBelowPercent'> {
  return {
    ...(config.title !== undefined ? { title: config.title } : {}),
    atRiskBelowPercent: config.at_risk_below_percent,
  };
}

/** Builds the report of a period from what the store holds. */
export async function buildReport(o: BuildOptions): Promise<Report> {
  const { store, period, now } = o;
  const { from, to } = period.period;
  const end = Math.min(to, now);
  const atRiskBelow = o.atRiskBelowPercent ?? 25;
  const perLabel = o.contributorsPerLabel ?? 3;
  const episodes = end > from ? await readEpisodes(store, from, end) : [];
  const bySlo = new Map(o.slos.map((s) => [s.name, s]));

  const plans: Plan[] = o.slos.map((slo) => ({
    slo,
    ticks: end > from ? burnDownTicks(from, end, period.period.timeZone) : [],
    incidents: [],
  }));
  for (const plan of plans) {
    const base = FIRST_TICK + Math.max(plan.ticks.length - 1, 0);
    for (const episode of episodes.filter((e) => e.slo === plan.slo.name && e.end > e.start))
      plan.incidents.push({ episode, window: base + plan.incidents.length });
  }
  const items: MeasureItem[] = plans.map((p) => ({
    slo: p.slo,
    windows: windowsOf(p, period, end, now),
  }));
  const tally = plans.map((p) => new ContributorTally(p.slo.groupBy));
  const measured =
    end > from
      ? await measureMany(store, items, (k, s) => tally[k]!.add(s), REPORT_POLICY)
      : items.map(() => new Map<string, SliCounts>());
  // Contributors of the other SLIs: the period measured again, grouped by host.
  const byHost = await hostContributors(store, plans, period, end);

  const rows: SloReport[] = [];
  const incidents: Incident[] = [];
  plans.forEach((plan, k) => {
    const { slo } = plan;
    const counts = measured[k]!;
    const instances = counts.size > 0 ? [...counts.keys()].sort() : [''];
    for (const instance of instances) {
      const c = counts.get(instance);
      const good = c?.good[PERIOD] ?? 0;
      const total = c?.total[PERIOD] ?? 0;
      const bad = Math.max(0, total - good);
      const allowed = errorBudget(slo.objective) * total;
      const status = statusOf({ good, total }, slo.objective, atRiskBelow);
      const prevCounts = c && { good: c.good[PREVIOUS] ?? 0, total: c.total[PREVIOUS] ?? 0 };
      const prevStatus = statusOf(prevCounts, slo.objective, atRiskBelow);
      const attained = total > 0 ? (good / total) * 100 : null;
      const prevAttained =
        prevCounts && prevCounts.total > 0 ? (prevCounts.good / prevCounts.total) * 100 : null;
      const burnDown: BudgetPoint[] =
        allowed > 0
          ? plan.ticks.map((t, i) => {
              const w = FIRST_TICK + i - 1;
              const badSoFar = i === 0 ? 0 : (c!.total[w] ?? 0) - (c!.good[w] ?? 0);
              return { at: t, remaining: 1 - Math.max(0, badSoFar) / allowed };
            })
          : [];
      const contributors = countsEvents(slo)
        ? tally[k]!.top(instance, bad, perLabel)
        : (byHost.get(k) ?? []).map((h) => ({ ...h, share: bad > 0 ? h.bad / bad : 0 }));
      rows.push({
        slo: slo.name,
        service: slo.service,
        instance,
        description: slo.description ?? '',
        sliKind: slo.sli.kind,
        objective: slo.objective,
        good,
        total,
        bad,
        attained,
        budget: {
          total: allowed,
          used: bad,
          remaining: allowed - bad,
          remainingPercent: allowed > 0 ? ((allowed - bad) / allowed) * 100 : null,
        },
        status,
        previous: prevCounts ? { attained: prevAttained, status: prevStatus } : null,
        change: attained !== null && prevAttained !== null ? attained - prevAttained : null,
        burnDown,
        exclusions: exclusionsOf(slo, from, to),
        contributors,
      });
      for (const { episode, window } of plan.incidents) {
        if (instanceOf(slo, episode.labels) !== instance) continue;
        const badIn = c ? Math.max(0, (c.total[window] ?? 0) - (c.good[window] ?? 0)) : 0;
        incidents.push(incidentOf(episode, instance, allowed > 0 ? badIn / allowed : null));
      }
    }
  });
  // Alerts of rules, or of SLOs not in the report: listed, no budget.
  for (const e of episodes) {
    if (bySlo.has(e.slo)) continue;
    incidents.push(incidentOf(e, instanceOf(undefined, e.labels), null));
  }
  incidents.sort((a, b) => a.start - b.start || a.alertname.localeCompare(b.alertname));
  return {
    title: o.title ?? `SLO report: ${period.period.title}`,
    generatedAt: now,
    period: period.period,
    previousPeriod: period.previous,
    summary: summaryOf(rows),
    slos: rows,
    incidents,
  };
}

function incidentOf(e: Episode, instance: string, budgetConsumed: number | null): Incident {
  return {
    alertname: e.alertname,
    slo: e.slo,
    instance: instance || (e.labels['instance'] ?? e.labels['host'] ?? ''),
    severity: e.severity,
    tier: e.tier,
    summary: e.summary,
    start: e.start,
    end: e.end,
    durationMs: e.end - e.start,
    ongoing: e.ongoing,
    budgetConsumed,
  };
}

/**
 * Hosts with the most bad events for the SLOs whose series are not counted one by one (probes,
 * logs) and that are not grouped already: each measured over the period grouped by host.
 */
async function hostContributors(
  store: Store,
  plans: readonly Plan[],
  period: ResolvedPeriod,
  end: number,
): Promise<Map<number, Array<Omit<Contributor, 'share'>>>> {
  const out = new Map<number, Array<Omit<Contributor, 'share'>>>();
  const picked = plans
    .map((p, k) => ({ p, k }))
    .filter(({ p }) => !countsEvents(p.slo) && p.slo.groupBy === undefined);
  if (picked.length === 0 || end <= period.period.from) return out;
  const window = { from: period.period.from, to: end, lengthMs: end - period.period.from };
  const measured = await measureMany(
    store,
    picked.map(({ p }) => ({ slo: { ...p.slo, groupBy: 'host' }, windows: [window] })),
    undefined,
    REPORT_POLICY,
  );
  picked.forEach(({ k }, i) => {
    const hosts = [...measured[i]!.entries()]
      .map(([host, c]) => ({
        label: 'host',
        value: host,
        bad: (c.total[0] ?? 0) - (c.good[0] ?? 0),
      }))
      .filter((h) => h.bad > 0 && h.value !== '')
      .sort((a, b) => b.bad - a.bad || a.value.localeCompare(b.value))
      .slice(0, 5);
    out.set(k, hosts);
  });
  return out;
}
