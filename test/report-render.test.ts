// The SLO report's renderers: the HTML page, its burn-down SVG, the Markdown, and the formats.

import { describe, expect, it } from 'vitest';
import {
  burnDownText,
  escapeHtml,
  formatAttainment,
  formatChange,
  formatCount,
  formatDateTime,
  formatDuration,
  formatShare,
} from '../alerter/report/format.ts';
import { renderHtml } from '../alerter/report/html.ts';
import { renderMarkdown } from '../alerter/report/markdown.ts';
import type { Incident } from '../alerter/report/model.ts';
import { burnDownSvg } from '../alerter/report/svg.ts';
import { MALICIOUS_VALUE, PERIOD_FROM, PERIOD_TO, sampleReport } from './helpers/report-fixture.ts';

const report = sampleReport();
const html = renderHtml(report);
const md = renderMarkdown(report);
const period = report.period;

const count = (text: string, part: string) => text.split(part).length - 1;

/** The <tr> holding a text. */
function rowWith(text: string): string {
  const at = html.indexOf(text);
  expect(at).toBeGreaterThan(-1);
  return html.slice(html.lastIndexOf('<tr>', at), html.indexOf('</tr>', at));
}

/** x,y pairs of an SVG path's d attribute. */
function pathPoints(svg: string, cls: string): Array<[number, number]> {
  const d = new RegExp(`<path class="${cls}" d="([^"]+)"`).exec(svg)?.[1];
  expect(d).toBeDefined();
  return [...d!.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

function attr(svg: string, element: string, name: string): number {
  const tag = new RegExp(`<${element}[^>]*>`).exec(svg)?.[0];
  expect(tag).toBeDefined();
  const value = new RegExp(` ${name}="(-?[\\d.]+)"`).exec(tag!)?.[1];
  expect(value).toBeDefined();
  return Number(value);
}

describe('the HTML report', () => {
  it('is one HTML5 document', () => {
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(count(html, '<html')).toBe(1);
    expect(count(html, '<body')).toBe(1);
    expect(count(html, '<style>')).toBe(1);
    expect(html).toContain('<meta charset="utf-8">');
  });

  it('runs no script and loads nothing from elsewhere', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(|@import|<link|<img|<iframe/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('opens with the executive summary on #0b3d91', () => {
    const summary = html.indexOf('<section id="summary" style="background:#0b3d91;color:#ffffff"');
    expect(summary).toBeGreaterThan(-1);
    expect(summary).toBeLessThan(html.indexOf('<table'));
    expect(html).toContain('#summary { background: #0b3d91; color: #ffffff;');
    const block = html.slice(summary, html.indexOf('</section>', summary));
    expect(block).toContain('SLOs met: 1 of 4');
    expect(block).toContain('Overall attainment: <strong>99.804%</strong>');
    expect(block).toContain('At risk: <strong>1</strong>');
    expect(block).toContain('Breached: <strong>1</strong>');
    expect(block).toContain('No data: <strong>1</strong>');
    expect(block).toContain(
      '<li>search-latency is at risk: 12% of its error budget left, 99.120% against 99%.</li>',
    );
  });

  it('says so when no SLO is at risk and no alert fired', () => {
    const calm = sampleReport({
      summary: { ...report.summary, risks: [] },
      incidents: [],
    });
    const page = renderHtml(calm);
    expect(page).toContain('<p>No SLO at risk</p>');
    expect(page).toContain('No alert fired in this period.');
  });

  it('draws one chart per SLO, a line for each with data', () => {
    expect(count(html, '<svg class="burn-down"')).toBe(4);
    expect(count(html, '<path class="line"')).toBe(3);
    const noData = html.slice(html.indexOf('id="slo-4"'));
    expect(noData).toContain('>no data</text>');
  });

  it('escapes the values it is given', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(rowWith(escapeHtml(MALICIOUS_VALUE))).toContain('<td>user_agent</td>');
  });

  it('shows each status in its colour', () => {
    const badge = (cls: string, bg: string, fg: string, text: string) =>
      `<span class="badge badge-${cls}" style="background:${bg};color:${fg}">${text}</span>`;
    expect(html).toContain(badge('met', '#2e7d32', '#ffffff', 'Met'));
    expect(html).toContain(badge('at-risk', '#f9a825', '#1a1a1a', 'At risk'));
    expect(html).toContain(badge('breached', '#c62828', '#ffffff', 'Breached'));
    expect(html).toContain(badge('no-data', '#757575', '#ffffff', 'No data'));
  });

  it('lists each SLO with its budget, status and change', () => {
    const checkout = rowWith('<a href="#slo-1">checkout-availability</a>');
    expect(checkout).toContain('<td class="num">99.9%</td><td class="num">99.960%</td>');
    expect(checkout).toContain(
      '<td class="num">12,450</td><td class="num">4,980</td><td class="num">7,470</td><td class="num">60.0%</td>',
    );
    expect(checkout).toContain('<span class="change up">▲ +0.019 pp</span>');
    expect(checkout).toContain('previous 99.941%');
    const breached = rowWith('<a href="#slo-3">payments-availability (eu-central)</a>');
    expect(breached).toContain('<td class="num">-380</td><td class="num">-38.0%</td>');
    expect(breached).toContain('<span class="change down">▼ -0.031 pp</span>');
    const noData = rowWith('<a href="#slo-4">payments-availability (us-east)</a>');
    expect(noData).toContain('new this period');
    expect(noData).toContain('<td class="num">—</td>');
    expect(html).toContain('Change vs September 2026');
  });

  it('gives each SLO its numbers, exclusions and contributors', () => {
    expect(html).toContain('<dd>12,445,020 / 12,450,000</dd>');
    expect(html).toContain('<dd>-380 (-38.0%)</dd>');
    expect(rowWith('Planned database migration (CHG-1042)')).toContain(
      '<td>2026-10-18 02:00</td><td>2026-10-18 04:00</td><td class="num">2h</td>',
    );
    expect(rowWith('/pay|refund')).toContain('<td class="num">207</td>');
    const search = html.slice(html.indexOf('id="slo-2"'), html.indexOf('id="slo-3"'));
    expect(search).toContain('<h3>Exclusion windows</h3>\n<p>None.</p>');
    const noData = html.slice(html.indexOf('id="slo-4"'));
    expect(noData).toContain('No bad events in this period.');
  });

  it('lists the incidents, the ongoing one as such', () => {
    const done = rowWith('checkout-availability burns its error budget');
    expect(done).toContain('<td class="num">2026-10-13 14:05</td><td class="num">2h 15m</td>');
    expect(done).toContain('<td class="num">9.0%</td>');
    expect(done).not.toContain('ongoing');
    const ongoing = rowWith('payments 5xx above 0.3% | eu-central');
    expect(ongoing).toContain('<td class="num">2026-10-30 21:40</td>');
    expect(ongoing).toContain('1d 2h <strong>ongoing</strong>');
    expect(ongoing).toContain('<td>payments-availability (eu-central)</td>');
  });

  it('shows a dash for a rule alert, which burns no budget', () => {
    const rule: Incident = {
      alertname: 'HostDiskFilling',
      slo: '',
      instance: '',
      severity: 'ticket',
      tier: '',
      summary: 'disk /var & /data > 90%',
      start: PERIOD_FROM + 3_600_000,
      end: PERIOD_FROM + 3_600_000 + 45_000,
      durationMs: 45_000,
      ongoing: false,
      budgetConsumed: null,
    };
    const page = renderHtml(sampleReport({ incidents: [rule] }));
    const at = page.indexOf('HostDiskFilling');
    const row = page.slice(page.lastIndexOf('<tr>', at), page.indexOf('</tr>', at));
    expect(row).toBe(
      '<tr><td>HostDiskFilling</td><td>—</td><td>ticket</td><td>—</td><td class="num">2026-10-01 01:00</td><td class="num">45s</td><td class="num">—</td><td>disk /var &amp; /data &gt; 90%</td>',
    );
  });

  it('prints on A4 with its colours, keeping rows and charts whole', () => {
    const print = html.slice(html.indexOf('@media print'));
    expect(print).toContain('size: A4');
    expect(print).toContain('-webkit-print-color-adjust: exact; print-color-adjust: exact;');
    expect(print).toMatch(/tr, figure, svg[^{]*\{ break-inside: avoid;/);
  });
});

describe('the burn-down chart', () => {
  const points = [
    { at: PERIOD_FROM, remaining: 1 },
    { at: PERIOD_FROM + (PERIOD_TO - PERIOD_FROM) / 2, remaining: 0 },
    { at: PERIOD_TO, remaining: -0.5 },
  ];
  const svg = burnDownSvg(points, period, { title: 'Budget of checkout' });

  it('puts 100% at the top and 0% on the red line, and goes below it when overspent', () => {
    const [first, middle, last] = pathPoints(svg, 'line') as Array<[number, number]>;
    const top = attr(svg, 'rect class="plot"', 'y');
    const left = attr(svg, 'rect class="plot"', 'x');
    const width = attr(svg, 'rect class="plot"', 'width');
    const zero = attr(svg, 'line class="zero"', 'y1');
    expect(first).toEqual([left, top]);
    expect(middle![1]).toBe(zero);
    expect(middle![0]).toBeCloseTo(left + width / 2, 0);
    expect(last![0]).toBe(left + width);
    expect(last![1]).toBeGreaterThan(zero);
    expect(svg).toMatch(/<line class="zero"[^>]* stroke="#c62828"/);
    expect(svg).toContain('>-50%</text>');
  });

  it('draws the line in #1f77b4 over an area of the same colour', () => {
    expect(svg).toMatch(
      /<path class="line" d="[^"]+" fill="none" stroke="#1f77b4" stroke-width="2.5"/,
    );
    expect(svg).toMatch(/<path class="area" d="[^"]+" fill="#1f77b4" fill-opacity="0.15"/);
    expect(svg).not.toMatch(/<script|href=/);
  });

  it('is titled and ticked with dates in the period’s time zone', () => {
    expect(svg).toContain(
      '<title>Budget of checkout, October 2026: 100% at 2026-10-01 00:00, -50% at 2026-11-01 00:00</title>',
    );
    const ticks = [...svg.matchAll(/text-anchor="middle">(\d+ \w+)<\/text>/g)].map((m) => m[1]);
    expect(ticks).toEqual(['1 Oct', '8 Oct', '15 Oct', '22 Oct', '29 Oct']);
  });

  it('starts each fixture SLO at the top of its chart', () => {
    const svgs = html.split('<svg class="burn-down"').slice(1);
    const [line] = pathPoints(svgs[0]!, 'line');
    expect(line![1]).toBe(attr(svgs[0]!, 'rect class="plot"', 'y'));
  });

  it('shows an empty frame with no data for 0 or 1 points', () => {
    for (const few of [[], [{ at: PERIOD_FROM, remaining: 1 }]]) {
      const empty = burnDownSvg(few, period);
      expect(empty).toContain('<rect class="plot"');
      expect(empty).toContain('>no data</text>');
      expect(empty).not.toContain('<path');
      expect(empty).toContain('<title>Error budget remaining, October 2026: no data</title>');
    }
  });

  it('adds the SVG namespace only when standalone', () => {
    expect(svg).not.toContain('xmlns');
    expect(burnDownSvg(points, period, { standalone: true })).toContain(
      '<svg xmlns="http://www.w3.org/2000/svg" class="burn-down"',
    );
  });
});

describe('the Markdown report', () => {
  it('puts the summary before the first table', () => {
    const summary = md.indexOf('**SLOs met: 1 of 4**');
    expect(summary).toBeGreaterThan(-1);
    expect(summary).toBeLessThan(md.indexOf('\n| '));
    expect(md).toContain('- Overall attainment: **99.804%**');
    expect(md).toContain('- payments-availability (eu-central) is breached');
  });

  it('keeps every table row as wide as its header', () => {
    const unescapedPipes = (line: string) => line.replace(/\\\|/g, '').split('|').length - 1;
    const lines = md.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line.startsWith('| ')) continue;
      let head = i;
      while (lines[head - 1]?.startsWith('| ')) head--;
      expect(unescapedPipes(line), line).toBe(unescapedPipes(lines[head]!));
    }
  });

  it('escapes pipes, line breaks and markup in cells', () => {
    expect(md).toContain('| route | /pay\\|refund | 207 | 15.0% |');
    expect(md).toContain('payments 5xx above 0.3% \\| eu-central |');
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\<script\\>alert("x")\\</script\\>');
    const multi = sampleReport();
    multi.incidents[0]!.summary = 'first line\nsecond | line';
    expect(renderMarkdown(multi)).toContain('| first line<br>second \\| line |');
  });

  it('has the SLO table, the burn-down line and the incidents table', () => {
    expect(md).toContain(
      '| checkout | checkout-availability | 99.9% | 99.960% | 12,450 | 4,980 | 7,470 | 60.0% | Met | ▲ +0.019 pp (previous 99.941%) |',
    );
    expect(md).toContain('- budget left: 100% → 93% → 77% → 70% → 63% → 60% (weekly)');
    expect(md).toContain('- budget left: no data');
    expect(md).toContain(
      '| Alert | SLO | Severity | Tier | Start | Duration | Budget consumed | Summary |',
    );
    expect(md).toContain(
      '| payments-availability | payments-availability (eu-central) | page | page-slow | 2026-10-30 21:40 | 1d 2h **ongoing** | 45.0% |',
    );
    expect(md).toContain(
      '| 2026-10-18 02:00 | 2026-10-18 04:00 | 2h | Planned database migration (CHG-1042) |',
    );
    expect(md.indexOf('## Incidents')).toBeGreaterThan(
      md.indexOf('### payments-availability (us-east)'),
    );
  });
});

describe('the report formats', () => {
  it.each([
    [45_000, '45s'],
    [999, '<1s'],
    [2 * 3_600_000 + 15 * 60_000 + 59_000, '2h 15m'],
    [3 * 86_400_000 + 4 * 3_600_000, '3d 4h'],
    [3 * 86_400_000 + 5 * 60_000, '3d'],
  ])('prints %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('truncates attainment so that just below the objective never reads as met', () => {
    expect(formatAttainment(99.8996)).toBe('99.899%');
    expect(formatAttainment(99.96)).toBe('99.960%');
    expect(formatAttainment(97.256)).toBe('97.25%');
    expect(formatAttainment(85.07)).toBe('85.0%');
    expect(formatAttainment(100)).toBe('100%');
    expect(formatAttainment(null)).toBe('—');
  });

  it('prints counts, shares and changes', () => {
    expect(formatCount(12_450_000)).toBe('12,450,000');
    expect(formatCount(-380)).toBe('-380');
    expect(formatCount(12.45)).toBe('12.5');
    expect(formatShare(0.0042)).toBe('0.42%');
    expect(formatShare(-0.0001)).toBe('-0.01%');
    expect(formatChange(0.0002)).toBe('0.000 pp');
    expect(formatChange(-1.25)).toBe('▼ -1.250 pp');
  });

  it('prints times in the zone, across the end of summer time', () => {
    expect(formatDateTime(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe(
      '2026-10-25 02:30',
    );
    expect(formatDateTime(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe(
      '2026-10-25 02:30',
    );
    expect(formatDateTime(PERIOD_TO, 'Europe/Berlin')).toBe('2026-11-01 00:00');
    expect(formatDateTime(PERIOD_TO, 'America/New_York')).toBe('2026-10-31 19:00');
  });

  it('samples the burn-down daily for a short period', () => {
    const week = { ...period, from: PERIOD_FROM, to: PERIOD_FROM + 3 * 86_400_000 };
    const points = [0, 1, 2, 3].map((d) => ({
      at: PERIOD_FROM + d * 86_400_000,
      remaining: 1 - d / 10,
    }));
    expect(burnDownText(points, week)).toBe('budget left: 100% → 90% → 80% → 70% (daily)');
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;',
    );
  });
});
