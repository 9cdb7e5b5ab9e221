// Alert rules as code: the AlertRule loader, and threshold, absence and redundancy rules evaluated on real chDB.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { evaluateRule, evaluateRules, loadRuleFile, parseRules } from '../alerter/rules/index.ts';
import type { AlertRule } from '../alerter/rules/index.ts';
import { ConfigError } from '../core/errors.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// Three hours back and 30.5 s past a minute: windows have ragged edges, and rows stay within
// every retention.
const AT = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 30_500;

const fixtures = join(import.meta.dirname, 'fixtures', 'rules');
const fixture = (name: string) => join(fixtures, name);

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.replaceAll(fixtures + '/', '');
  }
  throw new Error('expected a ConfigError');
}

let open: Store | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function fresh(): Promise<Store> {
  open = (await openTestStore()).store;
  return open;
}

interface SeriesSpec {
  name: string;
  tier?: string;
  host?: string;
  service?: string;
  labels?: Record<string, string>;
}

/** Samples of one series every `step` ms in [from, to), valued by their time. */
function points(
  s: SeriesSpec,
  from: number,
  to: number,
  value: (ts: number, i: number) => number,
  step = 10 * SEC,
): SampleRow[] {
  const labels = s.labels ?? {};
  const rows: SampleRow[] = [];
  for (let ts = from, i = 0; ts < to; ts += step, i++) {
    rows.push({
      name: s.name,
      tier: s.tier ?? '',
      host: s.host ?? '',
      service: s.service ?? '',
      labels,
      ts,
      value: value(ts, i),
    });
  }
  return rows;
}

function rule(yaml: string): AlertRule {
  const [r] = parseRules(`apiVersion: halo/v1\nkind: AlertRule\n${yaml}`, 'test.yaml');
  return r!;
}

const labelsOf = (e: { active: Array<{ labels: Record<string, string> }> }) =>
  e.active.map((c) => c.labels);

describe('a valid rule file', () => {
  const rules = loadRuleFile(fixture('valid.yaml'));

  it('holds one rule per document, each with the line it starts on', () => {
    expect(rules.map((r) => [r.name, r.condition.kind, r.source.split('/').pop()])).toEqual([
      ['web-cpu-hot', 'threshold', 'valid.yaml:2'],
      ['slow-queries', 'threshold', 'valid.yaml:23'],
      ['agent-silent', 'absence', 'valid.yaml:38'],
      ['backend-degraded', 'redundancy', 'valid.yaml:47'],
      ['web-tier-thin', 'redundancy', 'valid.yaml:61'],
    ]);
  });

  it('a metric threshold keeps its matchers, grouping and timing', () => {
    expect(rules[0]).toMatchObject({
      labels: { severity: 'page', team: 'web' },
      forMs: 5 * MIN,
      keepFiringForMs: 2 * MIN,
      condition: {
        query: {
          kind: 'metric',
          metric: 'cpu_usage',
          aggregation: 'avg',
          by: ['host'],
          matchers: [
            { label: 'tier', op: '=', value: 'web' },
            { label: 'mode', op: '!=', value: 'idle' },
          ],
        },
        overMs: 5 * MIN,
        op: '>',
        value: 0.9,
      },
    });
  });

  it('an SQL threshold loses its trailing semicolon', () => {
    const c = rules[1]!.condition;
    expect(c.kind === 'threshold' && c.query.kind === 'sql' && c.query.sql).toMatch(
      /GROUP BY host$/,
    );
    expect(c).toMatchObject({ overMs: 10 * MIN, op: '>=', value: 5 });
  });

  it('absence and redundancy fill their defaults', () => {
    expect(rules[2]).toMatchObject({
      forMs: 0,
      keepFiringForMs: 0,
      condition: { scope: 'host', silentForMs: 5 * MIN, lookbackMs: DAY },
    });
    expect(rules[4]!.condition).toEqual({
      kind: 'redundancy',
      matchers: [{ label: 'tier', op: '=', value: 'web' }],
      member: 'host',
      by: ['tier'],
      healthyWhen: { op: '>=', value: 1 },
      windowMs: 2 * MIN,
      lookbackMs: DAY,
      min: 3,
    });
  });
});

describe('a broken rule file gives a line naming file:line, the key, the value and what is expected', () => {
  const cases: Array<[string, string, string]> = [
    [
      'a misspelt key suggests the right one',
      'unknown-key.yaml',
      'unknown-key.yaml:9: spec.threshold.ovr: unknown key (did you mean "over"?)',
    ],
    [
      'two kinds of condition at once',
      'two-kinds.yaml',
      'two-kinds.yaml:5: spec: expected exactly one of threshold, absence, redundancy (got threshold and absence)',
    ],
    [
      'an operator that is not one',
      'bad-op.yaml',
      'bad-op.yaml:9: spec.threshold.op: got "=>", expected one of >, >=, <, <=, ==, !=',
    ],
    [
      'a duration in words',
      'bad-duration.yaml',
      'bad-duration.yaml:8: spec.absence.silent_for: got "ten minutes", expected a duration like "5m", "1h" or "28d"',
    ],
    [
      'two rules with one name',
      'duplicate-name.yaml',
      'duplicate-name.yaml:11: metadata.name: got "agent-silent", expected a name not used before (duplicate-name.yaml:4)',
    ],
    [
      'a metric threshold without an aggregation',
      'missing-aggregation.yaml',
      'missing-aggregation.yaml:6: spec.threshold.aggregation: missing, expected one of avg, sum, min, max, last, count, rate, increase',
    ],
    [
      'an SQL threshold with an aggregation of a metric',
      'sql-with-aggregation.yaml',
      'sql-with-aggregation.yaml:8: spec.threshold.aggregation: got "sum", expected no aggregation with sql (the query does its own)',
    ],
    [
      'an SQL threshold with a parameter nobody binds',
      'sql-unknown-param.yaml',
      'sql-unknown-param.yaml:7: spec.threshold.sql: got "SELECT count() AS value FROM logs WHERE host = {host:String}", expected only the parameters {at:DateTime64(3)} and {from:DateTime64(3)} (got {host:…})',
    ],
    [
      'a Go template where only $labels and $value are known',
      'bad-template.yaml',
      'bad-template.yaml:6: metadata.annotations.summary: got "CPU on {{ .Labels.host }} is high", expected only {{ $labels.<name> }} and {{ $value }} in a template (got {{ .Labels.host }})',
    ],
    [
      'a lookback shorter than the silence it looks for',
      'lookback-too-short.yaml',
      'lookback-too-short.yaml:8: spec.absence.lookback: got "30m", expected a lookback longer than silent_for',
    ],
    [
      'every issue is reported: healthy_when without a metric, and a min of 0',
      'healthy-when-without-metric.yaml',
      'healthy-when-without-metric.yaml:9: spec.redundancy.min: got 0, expected a whole number of members above 0\nhealthy-when-without-metric.yaml:8: spec.redundancy.healthy_when: got ">= 1", expected healthy_when only with metric (without one, a member is healthy when it reports)',
    ],
    [
      'an SLO document in a rule file',
      'wrong-kind.yaml',
      'wrong-kind.yaml:2: kind: got "SLO", expected "AlertRule" (SLOs are loaded by the SLO spec loader)',
    ],
  ];
  it.each(cases)('%s', (_name, file, expected) => {
    expect(errorOf(() => loadRuleFile(fixture(file)))).toBe(expected);
  });

  it('a file that does not exist', () => {
    expect(errorOf(() => loadRuleFile('/nonexistent/rules.yaml'))).toBe(
      '/nonexistent/rules.yaml: cannot read rule file: no such file',
    );
  });
});

describe('threshold rules', () => {
  it('avg over 5m by host fires only for the hot host, with its annotations filled in', async () => {
    const store = await fresh();
    const cpu = (host: string, mode: string): SeriesSpec => ({
      name: 'cpu_usage',
      tier: 'web',
      host,
      labels: { mode },
    });
    await writeSamples(store, [
      // web-1 is hot in the window; its two modes average to 0.94.
      ...points(cpu('web-1', 'user'), AT - 5 * MIN, AT, () => 0.95),
      ...points(cpu('web-1', 'system'), AT - 5 * MIN, AT, () => 0.93),
      // web-2 was hot before the window, is cool in it, and its idle series is left out.
      ...points(cpu('web-2', 'user'), AT - 15 * MIN, AT - 5 * MIN, () => 0.99),
      ...points(cpu('web-2', 'user'), AT - 5 * MIN, AT, () => 0.5),
      ...points(cpu('web-2', 'idle'), AT - 5 * MIN, AT, () => 0.99),
      // Another tier's hot host is not selected; a point at `at` itself is not in the window.
      ...points({ ...cpu('db-1', 'user'), tier: 'db' }, AT - 5 * MIN, AT, () => 0.99),
      ...points(cpu('web-2', 'user'), AT, AT + MIN, () => 100),
    ]);
    const [r] = loadRuleFile(fixture('valid.yaml'));
    const evaluation = await evaluateRule(store, r!, AT);
    expect(evaluation.rule).toBe('rule:web-cpu-hot');
    expect(evaluation.timing).toEqual({ forMs: 5 * MIN, keepFiringForMs: 2 * MIN });
    expect(evaluation.active).toHaveLength(1);
    const [hot] = evaluation.active;
    expect(hot!.labels).toEqual({
      alertname: 'web-cpu-hot',
      severity: 'page',
      team: 'web',
      host: 'web-1',
    });
    expect(hot!.value).toBeCloseTo(0.94, 9);
    expect(hot!.annotations).toEqual({ summary: 'CPU on web-1 is 0.94' });
  });

  it('rate and increase of counter deltas, per series with the series labels', async () => {
    const store = await fresh();
    const requests = (code: string): SeriesSpec => ({
      name: 'http_requests_total',
      tier: 'app',
      host: 'app-1',
      service: 'checkout',
      labels: { code },
    });
    await writeSamples(store, [
      // 30 deltas of 50 in 5 minutes: 1500 requests, 5 per second.
      ...points(requests('200'), AT - 5 * MIN, AT, () => 50),
      // 30 deltas of 10: 1 per second.
      ...points(requests('500'), AT - 5 * MIN, AT, () => 10),
    ]);
    const rate = rule(`metadata: { name: busy }
spec:
  threshold: { metric: http_requests_total, aggregation: rate, op: '>', value: 4 }
`);
    const evaluation = await evaluateRule(store, rate, AT);
    expect(evaluation.active).toEqual([
      {
        labels: {
          alertname: 'busy',
          tier: 'app',
          host: 'app-1',
          service: 'checkout',
          code: '200',
        },
        annotations: {},
        value: 5,
      },
    ]);
    const increase = rule(`metadata: { name: many }
spec:
  threshold: { metric: http_requests_total, aggregation: increase, over: 5m, op: '>=', value: 300, by: [service] }
`);
    const grouped = await evaluateRule(store, increase, AT);
    expect(grouped.active.map((c) => [c.labels, c.value])).toEqual([
      [{ alertname: 'many', service: 'checkout' }, 1800],
    ]);
    // `by: []` sums everything into one instance that has no label but its name.
    const total = rule(`metadata: { name: total }
spec:
  threshold: { metric: http_requests_total, aggregation: count, by: [], op: '==', value: 60 }
`);
    expect((await evaluateRule(store, total, AT)).active.map((c) => [c.labels, c.value])).toEqual([
      [{ alertname: 'total' }, 60],
    ]);
  });

  it('over 2h reads the rollups and agrees with the raw rows for every aggregation', async () => {
    const store = await fresh();
    const rows = [
      ...points(
        { name: 'queue_depth', tier: 'mq', host: 'mq-1' },
        AT - 3 * HOUR,
        AT,
        (ts, i) => ((i * 37) % 101) + (ts % 7) / 10,
        7 * SEC,
      ),
      ...points(
        { name: 'queue_depth', tier: 'mq', host: 'mq-2' },
        AT - 3 * HOUR,
        AT - 20 * MIN,
        (_ts, i) => Math.sin(i) * 50,
        13 * SEC,
      ),
    ];
    await writeSamples(store, rows);
    const from = AT - 2 * HOUR;
    const reference = (host: string) => {
      const values = rows
        .filter((r) => r.host === host && r.ts >= from && r.ts < AT)
        .map((r) => r.value);
      const sum = values.reduce((a, b) => a + b, 0);
      return {
        avg: sum / values.length,
        sum,
        min: Math.min(...values),
        max: Math.max(...values),
        last: values[values.length - 1]!,
        count: values.length,
        rate: sum / 7200,
        increase: sum,
      };
    };
    // Raw rows of the whole minutes inside the window go; their rollups stay. Reading raw rows
    // there would miss them.
    await store.command(
      sql`ALTER TABLE ${ident(store.table('samples'))} DELETE WHERE ts >= ${new Date(from + 2 * MIN)} AND ts < ${new Date(AT - 2 * MIN)}`,
      { mutations_sync: '1' },
    );
    for (const aggregation of ['avg', 'sum', 'min', 'max', 'last', 'count', 'rate', 'increase']) {
      const r = rule(`metadata: { name: depth }
spec:
  threshold: { metric: queue_depth, aggregation: ${aggregation}, over: 2h, by: [host], op: '>', value: -1e9 }
`);
      const { active } = await evaluateRule(store, r, AT);
      const got = Object.fromEntries(active.map((c) => [c.labels['host'], c.value]));
      for (const host of ['mq-1', 'mq-2']) {
        const expected = reference(host)[aggregation as 'avg'];
        const error = Math.abs((got[host] ?? NaN) - expected);
        expect(error, `${aggregation} of ${host}`).toBeLessThanOrEqual(1e-9 * Math.abs(expected));
      }
    }
  });

  it('an SQL threshold binds {at} and {from}, and its other columns become labels', async () => {
    const store = await fresh();
    const depth = (host: string) => ({ name: 'queue_depth', tier: 'mq', host });
    await writeSamples(store, [
      ...points(depth('mq-1'), AT - 5 * MIN, AT, (_ts, i) => 100 + i),
      ...points(depth('mq-2'), AT - 5 * MIN, AT, () => 50),
      // Before {from} and after {at}: both outside the query's window.
      ...points(depth('mq-2'), AT - 30 * MIN, AT - 10 * MIN, () => 900),
      ...points(depth('mq-2'), AT, AT + 5 * MIN, () => 900),
    ]);
    const r = rule(`metadata:
  name: queue-deep
  annotations: { summary: '{{ $labels.host }} holds {{ $value }} messages' }
spec:
  threshold:
    sql: >
      SELECT host, tier, max(value) AS value FROM ${store.table('samples')}
      WHERE name = 'queue_depth' AND ts >= {from:DateTime64(3)} AND ts < {at:DateTime64(3)}
      GROUP BY host, tier
    over: 5m
    op: '>'
    value: 100
`);
    const { active } = await evaluateRule(store, r, AT);
    expect(active).toEqual([
      {
        labels: { alertname: 'queue-deep', host: 'mq-1', tier: 'mq' },
        annotations: { summary: 'mq-1 holds 129 messages' },
        value: 129,
      },
    ]);
  });

  it('a label value with quotes in it is matched, grouped on and shown as it is', async () => {
    const store = await fresh();
    const path = `/say "hi" it's {x}`;
    const hits = (p: string): SeriesSpec => ({ name: 'http_hits', labels: { path: p } });
    await writeSamples(store, [
      ...points(hits(path), AT - 5 * MIN, AT, () => 10),
      ...points(hits('/other'), AT - 5 * MIN, AT, () => 10),
    ]);
    const r = rule(`metadata:
  name: hot-path
  annotations: { summary: 'path {{ $labels.path }}' }
spec:
  threshold:
    metric: http_hits
    matchers: { path: ${JSON.stringify(path)} }
    aggregation: sum
    by: [path]
    op: '>'
    value: 100
`);
    const { active } = await evaluateRule(store, r, AT);
    expect(active).toEqual([
      {
        labels: { alertname: 'hot-path', path },
        annotations: { summary: `path ${path}` },
        value: 300,
      },
    ]);
  });
});

describe('absence rules', () => {
  it('a host silent for 10 minutes fires with its silence; reporting and long-gone hosts do not', async () => {
    const store = await fresh();
    const up = (tier: string, host: string) => ({ name: 'agent_up', tier, host });
    await writeSamples(store, [
      ...points(up('web', 'web-a'), AT - HOUR, AT, () => 1),
      // Its last sample exactly 600 s before `at`, in a minute the rollups answer for.
      ...points(up('web', 'web-b'), AT - HOUR, AT - 600 * SEC + 1, () => 1),
      // Silent for longer than the lookback: forgotten.
      ...points(up('web', 'web-c'), AT - 2 * DAY, AT - 2 * DAY + HOUR, () => 1),
      // Silent too, but not selected by the matchers.
      ...points(up('db', 'db-1'), AT - HOUR, AT - 20 * MIN, () => 1),
    ]);
    const r = rule(`metadata:
  name: host-silent
  annotations: { summary: '{{ $labels.host }} silent for {{ $value }}s' }
spec:
  absence: { scope: host, matchers: { tier: web } }
`);
    const { active } = await evaluateRule(store, r, AT);
    expect(active).toEqual([
      {
        labels: { alertname: 'host-silent', tier: 'web', host: 'web-b' },
        annotations: { summary: 'web-b silent for 600s' },
        value: 600,
      },
    ]);
  });

  it('a silence seen through hour rollups is still measured to the sample', async () => {
    const store = await fresh();
    const last = AT - 5 * HOUR - 17 * MIN - 4321;
    await writeSamples(store, [
      ...points({ name: 'agent_up', tier: 'web', host: 'web-a' }, AT - HOUR, AT, () => 1),
      ...points({ name: 'agent_up', tier: 'web', host: 'web-b' }, last - HOUR, last + 1, () => 1),
    ]);
    const r = rule(`metadata: { name: host-silent }
spec:
  absence: { silent_for: 10m }
`);
    const { active } = await evaluateRule(store, r, AT);
    expect(active.map((c) => [c.labels['host'], c.value])).toEqual([['web-b', (AT - last) / 1000]]);
  });

  it('a whole tier gone quiet is caught by scope tier', async () => {
    const store = await fresh();
    const up = (tier: string, host: string, until: number) =>
      points({ name: 'agent_up', tier, host }, AT - HOUR, until, () => 1);
    await writeSamples(store, [
      ...up('web', 'web-1', AT),
      ...up('web', 'web-2', AT - 30 * MIN),
      ...up('cache', 'cache-1', AT - 20 * MIN + 1),
      ...up('cache', 'cache-2', AT - 25 * MIN),
    ]);
    const r = rule(`metadata: { name: tier-silent }
spec:
  absence: { scope: tier, silent_for: 10m }
`);
    const { active } = await evaluateRule(store, r, AT);
    expect(active.map((c) => [c.labels, c.value])).toEqual([
      [{ alertname: 'tier-silent', tier: 'cache' }, 1200],
    ]);
  });

  it('scope source finds the one source of a host that stopped, while the host still reports', async () => {
    const store = await fresh();
    const from = (source: string, name: string) => ({
      name,
      tier: 'web',
      host: 'web-1',
      labels: { source },
    });
    await writeSamples(store, [
      ...points(from('nginx', 'nginx_requests_total'), AT - HOUR, AT, () => 3),
      ...points(from('redis', 'redis_connected_clients'), AT - HOUR, AT - 15 * MIN + 1, () => 3),
    ]);
    const bySource = rule(`metadata: { name: source-silent }
spec:
  absence: { scope: source }
`);
    expect(
      (await evaluateRule(store, bySource, AT)).active.map((c) => [c.labels, c.value]),
    ).toEqual([[{ alertname: 'source-silent', tier: 'web', host: 'web-1', source: 'redis' }, 900]]);
    const byHost = rule(`metadata: { name: host-silent }
spec:
  absence: { scope: host }
`);
    expect((await evaluateRule(store, byHost, AT)).active).toEqual([]);
  });
});

describe('redundancy rules', () => {
  it('haproxy backends with fewer than 2 healthy servers: degraded and gone dark', async () => {
    const store = await fresh();
    const server = (proxy: string, name: string): SeriesSpec => ({
      name: 'haproxy_server_up',
      tier: 'lb',
      host: 'lb-1',
      service: 'haproxy',
      labels: { proxy, server: name, source: 'haproxy' },
    });
    const down = AT - 3 * MIN;
    await writeSamples(store, [
      // app: three servers, two of them down for the last three minutes.
      ...points(server('app', 's1'), AT - 30 * MIN, AT, () => 1),
      ...points(server('app', 's2'), AT - 30 * MIN, AT, (ts) => (ts < down ? 1 : 0)),
      ...points(server('app', 's3'), AT - 30 * MIN, AT, (ts) => (ts < down ? 1 : 0)),
      // api: both servers stopped reporting ten minutes ago.
      ...points(server('api', 'a1'), AT - 30 * MIN, AT - 10 * MIN, () => 1),
      ...points(server('api', 'a2'), AT - 30 * MIN, AT - 10 * MIN, () => 1),
      // static: two of two healthy.
      ...points(server('static', 'st1'), AT - 30 * MIN, AT, () => 1),
      ...points(server('static', 'st2'), AT - 30 * MIN, AT, () => 1),
    ]);
    const [, , , r] = loadRuleFile(fixture('valid.yaml'));
    const evaluation = await evaluateRule(store, r!, AT);
    expect(evaluation.timing).toEqual({ forMs: MIN, keepFiringForMs: 0 });
    expect(evaluation.active.map((c) => [c.labels, c.value])).toEqual([
      [{ alertname: 'backend-degraded', proxy: 'api' }, 0],
      [{ alertname: 'backend-degraded', proxy: 'app' }, 1],
    ]);
  });

  it('without a metric, the agents of a tier that report are its healthy members', async () => {
    const store = await fresh();
    const host = (tier: string, name: string, until: number) => [
      ...points({ name: 'agent_up', tier, host: name }, AT - HOUR, until, () => 1),
      ...points({ name: 'cpu_usage', tier, host: name }, AT - HOUR, until, () => 0.2),
    ];
    await writeSamples(store, [
      ...host('web', 'web-1', AT),
      ...host('web', 'web-2', AT),
      ...host('web', 'web-3', AT - 10 * MIN),
      ...host('db', 'db-1', AT),
    ]);
    const needs = (min: number) =>
      rule(`metadata: { name: web-thin }
spec:
  redundancy: { matchers: { tier: web }, min: ${min} }
`);
    expect(
      (await evaluateRule(store, needs(3), AT)).active.map((c) => [c.labels, c.value]),
    ).toEqual([[{ alertname: 'web-thin', tier: 'web' }, 2]]);
    expect((await evaluateRule(store, needs(2), AT)).active).toEqual([]);
  });
});

describe('evaluating many rules', () => {
  it('a failing rule is reported by name and does not hold up the others', async () => {
    const store = await fresh();
    await writeSamples(
      store,
      points({ name: 'agent_up', tier: 'web', host: 'web-1' }, AT - HOUR, AT - 20 * MIN, () => 1),
    );
    const broken = rule(`metadata: { name: broken }
spec:
  threshold: { sql: 'SELECT 1 AS value FROM no_such_table', op: '>', value: 0 }
`);
    const silent = rule(`metadata: { name: host-silent }
spec:
  absence: {}
`);
    const { evaluations, failures } = await evaluateRules(store, [broken, silent], AT);
    expect(evaluations.map((e) => [e.rule, labelsOf(e)])).toEqual([
      ['rule:host-silent', [{ alertname: 'host-silent', tier: 'web', host: 'web-1' }]],
    ]);
    expect(failures.map((f) => f.rule)).toEqual(['rule:broken']);
    expect(failures[0]!.error.message).toMatch(
      /^evaluate rule broken \(test\.yaml:1\): .*no_such_table/s,
    );
  });
});
