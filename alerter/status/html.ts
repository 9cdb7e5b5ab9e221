// Renders the status page and an alert's silence form as server-side HTML, every printed string escaped.

import { formatDuration as windowName } from '../../core/units.ts';
import type { SloInstanceStatus, SloStatusJson, SloTierStatus } from '../api.ts';
import {
  NO_VALUE,
  escapeHtml as esc,
  formatAttainment,
  formatDuration,
  formatObjective,
  formatShare,
} from '../report/format.ts';
import type { Matcher, Slo } from '../slo/model.ts';
import type { Alert } from '../state/machine.ts';
import { instanceKey, type BurnHistory, type ChartedWindow, type TierHealth } from './data.ts';
import { budgetBarSvg, formatFactor, sparklineSvg } from './svg.ts';

/** How long a silence made here lasts: the form offers these and the handler accepts no other. */
export const SILENCE_DURATIONS: ReadonlyMap<string, number> = new Map([
  ['1h', 3_600_000],
  ['4h', 4 * 3_600_000],
  ['24h', 24 * 3_600_000],
]);
export const COMMENT_MAX = 1000;
export const AUTHOR_MAX = 256;

/** The page refreshes itself this often (seconds); the silence form does not. */
export const REFRESH_SECONDS = 15;

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 16px 24px; color: #1a1a1a; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 22px 0 6px; }
h2 .muted { font-weight: 400; font-size: 13px; margin-left: 6px; }
.meta { margin: 0 0 8px; color: #424242; }
.banner { padding: 8px 12px; border-radius: 6px; margin: 8px 0; border-left: 4px solid; }
.banner.notice { background: #e8f5e9; border-color: #2e7d32; }
.banner.warn { background: #fff8e1; border-color: #f9a825; }
.banner.error { background: #ffebee; border-color: #c62828; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f8; font-weight: 600; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
ul.burn, ul.tiers, ul.labels { list-style: none; margin: 0; padding: 0; }
ul.burn li { display: inline-block; margin-right: 8px; white-space: nowrap; font-variant-numeric: tabular-nums; }
ul.labels li { display: inline-block; margin: 0 4px 2px 0; }
.label { background: #eef1f5; border-radius: 4px; padding: 0 5px; font: 12px ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
.instance { font: 12px ui-monospace, Menlo, Consolas, monospace; color: #424242; }
.muted { color: #616161; font-size: 12px; }
.chip { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; white-space: nowrap; color: #fff; background: #757575; }
.chip.inactive { background: #e0e0e0; color: #424242; }
.chip.pending, .chip.degraded { background: #f9a825; color: #1a1a1a; }
.chip.firing, .chip.down { background: #c62828; }
.chip.ok { background: #2e7d32; }
.chip.silenced, .chip.inhibited { background: #5c6bc0; }
tr.pending td { color: #757575; }
tr.silenced td { background: #f7f7fb; }
svg { vertical-align: middle; }
a.button, button { display: inline-block; padding: 3px 10px; border: 1px solid #1f5fa8; border-radius: 4px; background: #1f5fa8; color: #fff; text-decoration: none; font: inherit; cursor: pointer; }
form.silence { display: grid; grid-template-columns: max-content minmax(240px, 480px); gap: 8px 12px; align-items: center; margin: 12px 0; }
form.silence input, form.silence select, form.silence textarea { font: inherit; padding: 3px 6px; width: 100%; }
form.silence .full { grid-column: 1 / -1; }
dl.alert { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; }
dl.alert dt { color: #616161; }
dl.alert dd { margin: 0; }
footer { margin-top: 24px; padding-top: 8px; border-top: 1px solid #e0e0e0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .action, a.button, form, footer a { display: none; }
  tr { break-inside: avoid; }
}
`;

/** "2030-01-01 12:00:05 UTC". */
export const utcTime = (at: number): string =>
  `${new Date(at).toISOString().replace('T', ' ').slice(0, 19)} UTC`;

const ago = (now: number, at: number): string =>
  at <= now ? `${formatDuration(now - at)} ago` : `in ${formatDuration(at - now)}`;

const time = (now: number, at: number): string =>
  `<time datetime="${new Date(at).toISOString()}">${esc(utcTime(at))}</time> <span class="muted">(${esc(ago(now, at))})</span>`;

/** Whether silences can be made here, and if not, why (said on the page). */
export type Silencing = { enabled: true } | { enabled: false; reason: string };

/** A silence covering an alert, as the page names it. */
export interface CoveringSilence {
  id: string;
  endsAt: number | undefined;
  createdBy: string | undefined;
}

export interface AlertView {
  alert: Alert;
  silencedBy: CoveringSilence[];
  inhibitedBy: string | undefined;
}

export interface SloView {
  slo: Slo;
  status: SloStatusJson;
}

export interface StatusView {
  title: string;
  now: number;
  leading: boolean;
  evaluatedAt: number | undefined;
  /** Said at the top after a redirect (a silence was created). */
  notice?: string;
  slos: SloView[];
  charted: ReadonlyMap<string, ChartedWindow>;
  chart: { from: number; to: number; bucketMs: number };
  burn: BurnHistory | { error: string };
  alerts: AlertView[];
  silencing: Silencing;
  tiers: TierHealth[] | { error: string };
  renderedInMs?: number;
}

function layout(title: string, body: string, refresh: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${refresh ? `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">\n` : ''}<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>${body}</body></html>
`;
}

function header(v: StatusView): string {
  const evaluated =
    v.evaluatedAt === undefined
      ? 'not evaluated yet'
      : `evaluated at ${time(v.now, v.evaluatedAt)}`;
  const role = v.leading
    ? '<span class="chip ok">this alerter leads</span>'
    : '<span class="chip pending">standing by: another alerter leads</span>';
  const banners: string[] = [];
  if (v.notice) banners.push(`<p class="banner notice" role="status">${esc(v.notice)}</p>`);
  if (v.evaluatedAt === undefined) {
    banners.push(
      `<p class="banner warn">Nothing has been evaluated yet${v.leading ? ': the first evaluation has not finished' : ': this alerter stands by, and the one that leads evaluates'}. SLO figures and tier states appear after ${v.leading ? 'it' : 'this alerter takes over'}; the charts come from the store.</p>`,
    );
  }
  return `<header><h1>${esc(v.title)}</h1>
<p class="meta">${evaluated} · ${role} · page of ${esc(utcTime(v.now))}, refreshes every ${REFRESH_SECONDS} s</p>
${banners.join('\n')}</header>`;
}

function windowText(slo: Slo): string {
  const w = slo.window;
  return w.kind === 'rolling'
    ? `${windowName(w.periodMs)} rolling`
    : `calendar ${w.unit} (${w.timeZone})`;
}

function tierChip(t: SloTierStatus): string {
  const windows = t.longWindow && t.shortWindow ? ` over ${t.longWindow} and ${t.shortWindow}` : '';
  const held = t.held ? ` <span class="muted">(held: ${esc(t.held)})</span>` : '';
  return `<li><span class="chip ${t.alert}" title="${esc(`${t.severity}: ${t.factor}×${windows}`)}">${esc(t.name)}: ${t.alert}</span>${held}</li>`;
}

function burnList(rates: Record<string, number>): string {
  const items = Object.entries(rates)
    .filter(([name]) => name !== 'period')
    .map(([name, rate]) => `<li>${esc(name)} <b>${esc(formatFactor(rate))}</b></li>`);
  return `<ul class="burn">${items.join('')}</ul>`;
}

function chartCell(v: StatusView, slo: Slo, instance: string): string {
  const charted = v.charted.get(slo.name);
  if ('error' in v.burn) return `<span class="muted">chart unavailable</span>`;
  if (!charted) return `<span class="muted">${NO_VALUE}</span>`;
  const points = v.burn.get(instanceKey(slo.name, instance)) ?? [];
  return sparklineSvg(points, {
    from: v.chart.from,
    to: v.chart.to,
    title: `Burn rate over ${charted.window}, last ${formatDuration(v.chart.to - v.chart.from)}`,
    marks: [1, charted.factor],
    maxGapMs: 3 * v.chart.bucketMs,
  });
}

function sloRow(v: StatusView, s: SloView, instance: string, i?: SloInstanceStatus): string {
  const { slo } = s;
  const name = `<b>${esc(slo.name)}</b>${instance ? ` <span class="instance">${esc(`${slo.groupBy ?? 'instance'}=${instance}`)}</span>` : ''}${slo.description ? `<br><span class="muted">${esc(slo.description)}</span>` : ''}`;
  const cells = i
    ? [
        `<td class="num">${esc(formatAttainment(i.sli === null ? null : i.sli * 100))}${i.excluded ? '<br><span class="muted">excluded now</span>' : ''}</td>`,
        `<td class="num">${esc(formatShare(i.budgetRemaining))}<br>${budgetBarSvg(i.budgetRemaining)}</td>`,
        `<td>${burnList(i.burnRates)}</td>`,
        `<td><ul class="tiers">${i.tiers.map(tierChip).join('')}</ul></td>`,
      ]
    : [`<td class="muted" colspan="4">no evaluation yet</td>`];
  return `<tr data-slo="${esc(slo.name)}" data-instance="${esc(instance)}">
<td>${name}</td><td>${esc(slo.service)}</td><td class="num">${esc(formatObjective(slo.objective))}<br><span class="muted">${esc(windowText(slo))}</span></td>
${cells.join('')}<td>${chartCell(v, slo, instance)}</td></tr>`;
}

function sloSection(v: StatusView): string {
  if (v.slos.length === 0)
    return `<section id="slos"><h2>SLOs</h2><p class="muted">No SLO is configured.</p></section>`;
  const rows = v.slos.flatMap((s) => {
    if (s.status.instances.length > 0)
      return s.status.instances.map((i) => sloRow(v, s, i.instance, i));
    // Not evaluated here (yet): the instances the store has a history for, or one empty row.
    const prefix = instanceKey(s.slo.name, '');
    const known = 'error' in v.burn ? [] : [...v.burn.keys()].filter((k) => k.startsWith(prefix));
    const instances = known.length > 0 ? known.map((k) => k.slice(prefix.length)) : [''];
    return instances.map((instance) => sloRow(v, s, instance));
  });
  const error =
    'error' in v.burn ? `<p class="banner error">Burn-rate history: ${esc(v.burn.error)}</p>` : '';
  return `<section id="slos"><h2>SLOs</h2>${error}
<table><thead><tr><th>SLO</th><th>Service</th><th class="num">Objective</th><th class="num">SLI</th><th class="num">Budget left</th><th>Burn rate</th><th>Tiers</th><th>Burn rate, last ${esc(formatDuration(v.chart.to - v.chart.from))}</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></section>`;
}

const SEVERITY_RANK: Record<string, number> = {
  critical: 0,
  page: 1,
  error: 2,
  warning: 3,
  ticket: 4,
};

/** Firing before pending, then by severity, then the oldest first. */
function alertOrder(a: AlertView, b: AlertView): number {
  const state = (x: AlertView) => (x.alert.state === 'firing' ? 0 : 1);
  const severity = (x: AlertView) => SEVERITY_RANK[x.alert.labels['severity'] ?? ''] ?? 5;
  return (
    state(a) - state(b) || severity(a) - severity(b) || a.alert.activeSince - b.alert.activeSince
  );
}

/** Labels that tell this alert from others of its rule: all but alertname and severity. */
const identifying = (alert: Alert) =>
  Object.entries(alert.labels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));

function labelChips(alert: Alert): string {
  const chips = identifying(alert).map(
    ([k, val]) => `<li><span class="label">${esc(k)}="${esc(val)}"</span></li>`,
  );
  return `<ul class="labels">${chips.join('')}</ul>`;
}

function suppression(now: number, a: AlertView): string {
  const out = a.silencedBy.map(
    (s) =>
      `<span class="chip silenced">silenced</span> by <code>${esc(s.id)}</code>${s.createdBy ? ` (${esc(s.createdBy)})` : ''}${s.endsAt !== undefined ? ` until ${time(now, s.endsAt)}` : ''}`,
  );
  if (a.inhibitedBy !== undefined)
    out.push(`<span class="chip inhibited">inhibited</span> by rule ${esc(a.inhibitedBy)}`);
  return out.length > 0 ? out.join('<br>') : '<span class="muted">not muted</span>';
}

function alertRow(v: StatusView, a: AlertView): string {
  const { alert } = a;
  const since = alert.state === 'firing' ? (alert.firedAt ?? alert.activeSince) : alert.activeSince;
  const summary = alert.annotations['summary'] ?? alert.annotations['description'] ?? '';
  const action = v.silencing.enabled
    ? `<a class="button" href="/status/alerts/${encodeURIComponent(alert.fingerprint)}">Silence…</a>`
    : '';
  const muted = a.silencedBy.length > 0 ? ' silenced' : '';
  return `<tr class="${alert.state}${muted}" data-fingerprint="${esc(alert.fingerprint)}">
<td><b>${esc(alert.labels['alertname'] ?? alert.rule)}</b><br><span class="chip ${alert.state}">${alert.state}</span></td>
<td>${esc(alert.labels['severity'] ?? NO_VALUE)}</td><td>${labelChips(alert)}</td><td>${alert.state} since ${time(v.now, since)}</td>
<td>${esc(summary)}</td><td>${suppression(v.now, a)}</td><td class="action">${action}</td></tr>`;
}

function alertsSection(v: StatusView): string {
  const firing = v.alerts.filter((a) => a.alert.state === 'firing').length;
  const pending = v.alerts.filter((a) => a.alert.state === 'pending').length;
  const off = v.silencing.enabled
    ? ''
    : `<p class="banner warn">No Silence button: ${esc(v.silencing.reason)}</p>`;
  const body =
    v.alerts.length === 0
      ? '<p class="muted">No alert is firing or pending.</p>'
      : `<table><thead><tr><th>Alert</th><th>Severity</th><th>Labels</th><th>Since</th><th>Summary</th><th>Muted</th><th class="action"></th></tr></thead>
<tbody>${[...v.alerts]
          .sort(alertOrder)
          .map((a) => alertRow(v, a))
          .join('\n')}</tbody></table>`;
  return `<section id="alerts"><h2>Alerts <span class="muted">${firing} firing, ${pending} pending</span></h2>${off}${body}</section>`;
}

function groupHealth(min: number, healthy: number): 'ok' | 'degraded' | 'down' {
  return healthy >= min ? 'ok' : healthy === 0 ? 'down' : 'degraded';
}

function tierSection(v: StatusView): string {
  if ('error' in v.tiers)
    return `<section id="tiers"><h2>Tier health</h2><p class="banner error">${esc(v.tiers.error)}</p></section>`;
  if (v.tiers.length === 0)
    return `<section id="tiers"><h2>Tier health</h2><p class="muted">No redundancy rule is configured.</p></section>`;
  const rows = v.tiers.flatMap((t) => {
    const rule = `<td><b>${esc(t.rule)}</b><br><span class="muted">${esc(t.source)}</span></td>`;
    if (t.error)
      return [`<tr>${rule}<td colspan="3" class="banner error">${esc(t.error)}</td></tr>`];
    if (t.groups.length === 0)
      return [
        `<tr>${rule}<td colspan="3" class="muted">no member seen in the last ${esc(formatDuration(t.condition.lookbackMs))}</td></tr>`,
      ];
    return t.groups.map((g) => {
      const health = groupHealth(g.min, g.healthy);
      const group =
        Object.entries(g.labels)
          .map(([k, val]) => `${k}=${val}`)
          .join(', ') || '(all)';
      return `<tr data-rule="${esc(t.rule)}" data-group="${esc(group)}">${rule}<td>${esc(group)}</td>
<td class="num"><b>${g.healthy} / ${g.min}</b> <span class="muted">healthy / needed; ${g.members} seen</span></td><td><span class="chip ${health}">${health}</span></td></tr>`;
    });
  });
  return `<section id="tiers"><h2>Tier health</h2>
<table><thead><tr><th>Rule</th><th>Group</th><th class="num">Members</th><th>Health</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></section>`;
}

function footer(v: StatusView): string {
  const took = v.renderedInMs === undefined ? '' : ` in ${Math.round(v.renderedInMs)} ms`;
  return `<footer><a href="/api/v1/slos">/api/v1/slos</a> · <a href="/api/v1/alerts">/api/v1/alerts</a> · <a href="/metrics">/metrics</a>
<span class="muted"> · read${took}</span></footer>`;
}

/** The status page: header, SLOs, alerts, tier health, links. Refreshes itself. */
export function renderStatusPage(v: StatusView): string {
  const body = [header(v), sloSection(v), alertsSection(v), tierSection(v), footer(v)].join('\n');
  return layout(v.title, body, true);
}

/** A page that says what went wrong (401, 403, 404…), with a way back. */
export function renderMessagePage(title: string, heading: string, message: string): string {
  return layout(
    title,
    `<header><h1>${esc(heading)}</h1></header><p class="banner error">${esc(message)}</p><p><a href="/status">Back to the status page</a></p>`,
    false,
  );
}

export interface AlertPageView {
  title: string;
  now: number;
  alert: AlertView;
  silencing: Silencing;
  /** What the form held when it was refused (never the token), and why. */
  form?: { duration: string; comment: string; author: string };
  error?: string;
}

/** The matchers a silence of this alert gets: every label, equal. */
export const silenceMatchers = (alert: Alert): Matcher[] =>
  Object.entries(alert.labels)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([label, value]) => ({ label, op: '=' as const, value }));

function silenceForm(v: AlertPageView): string {
  if (!v.silencing.enabled)
    return `<p class="banner warn">No Silence button: ${esc(v.silencing.reason)}</p>`;
  const f = v.form ?? { duration: '1h', comment: '', author: '' };
  const options = [...SILENCE_DURATIONS.keys()]
    .map((d) => `<option value="${d}"${d === f.duration ? ' selected' : ''}>${d}</option>`)
    .join('');
  const matchers = silenceMatchers(v.alert.alert)
    .map((m) => `<li><span class="label">${esc(m.label)}="${esc(m.value)}"</span></li>`)
    .join('');
  return `<h2>Silence it</h2>
<p>The silence will mute every alert with exactly these labels:</p><ul class="labels">${matchers}</ul>
<form class="silence" method="post" action="/status/silence" autocomplete="off">
<input type="hidden" name="fingerprint" value="${esc(v.alert.alert.fingerprint)}">
<label for="duration">Duration</label><select id="duration" name="duration">${options}</select>
<label for="comment">Comment</label><textarea id="comment" name="comment" rows="2" maxlength="${COMMENT_MAX}" required>${esc(f.comment)}</textarea>
<label for="author">Author</label><input id="author" name="author" maxlength="${AUTHOR_MAX}" value="${esc(f.author)}" placeholder="the name of your token if empty">
<label for="token">API write token</label><input id="token" name="token" type="password" required>
<div class="full"><button type="submit">Silence</button> <a href="/status">Cancel</a></div>
</form>`;
}

/** One alert with its labels and annotations, and the form that silences it. Does not refresh. */
export function renderAlertPage(v: AlertPageView): string {
  const { alert } = v.alert;
  const rows = (entries: Array<[string, string]>) =>
    entries.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(val)}</dd>`).join('');
  const since = alert.firedAt ?? alert.activeSince;
  const body = `<header><h1>${esc(alert.labels['alertname'] ?? alert.rule)} <span class="chip ${alert.state}">${alert.state}</span></h1>
<p class="meta"><a href="/status">Back to the status page</a></p></header>
${v.error ? `<p class="banner error" role="alert">${esc(v.error)}</p>` : ''}
<dl class="alert"><dt>since</dt><dd>${time(v.now, since)}</dd><dt>value</dt><dd>${esc(String(alert.value))}</dd>
<dt>muted</dt><dd>${suppression(v.now, v.alert)}</dd><dt>fingerprint</dt><dd><code>${esc(alert.fingerprint)}</code></dd></dl>
<h2>Labels</h2><dl class="alert">${rows(Object.entries(alert.labels))}</dl>
<h2>Annotations</h2>${Object.keys(alert.annotations).length > 0 ? `<dl class="alert">${rows(Object.entries(alert.annotations))}</dl>` : '<p class="muted">none</p>'}
${silenceForm(v)}`;
  return layout(`${v.title}: ${alert.labels['alertname'] ?? alert.rule}`, body, false);
}
