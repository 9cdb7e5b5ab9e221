// The halo/v1 SLO spec: a valid file with every SLI kind and option, and one fixture per failure case with its message.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSloFile, parseSlos } from '../alerter/slo/spec.ts';
import { ConfigError } from '../core/errors.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'slo', name);

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.replaceAll(
      join(import.meta.dirname, 'fixtures', 'slo') + '/',
      '',
    );
  }
  throw new Error('expected a ConfigError');
}

describe('a valid SLO file', () => {
  const slos = loadSloFile(fixture('valid.yaml'));

  it('holds one SLO per document, each with the line it starts on', () => {
    expect(slos.map((s) => [s.name, s.sli.kind, s.source.split('/').pop()])).toEqual([
      ['checkout-availability', 'ratio', 'valid.yaml:2'],
      ['checkout-latency', 'latency', 'valid.yaml:50'],
      ['homepage-probe', 'probe', 'valid.yaml:79'],
      ['worker-errors', 'log_ratio', 'valid.yaml:94'],
    ]);
  });

  it('a ratio SLI keeps its matchers in order, with = for plain values', () => {
    expect(slos[0]).toMatchObject({
      objective: 99.9,
      window: { kind: 'rolling', periodMs: 30 * 86_400_000 },
      groupBy: 'region',
      minEvents: 1000,
      annotations: { runbook: 'https://runbooks.example.com/checkout' },
      alerting: {
        pageLabels: { team: 'payments-oncall' },
        ticketLabels: { queue: 'payments' },
        annotations: { summary: 'Checkout is failing' },
      },
      sli: {
        bad: {
          metric: 'http_requests_total',
          matchers: [
            { label: 'service', op: '=', value: 'checkout' },
            { label: 'code', op: '=~', value: '5..' },
          ],
        },
      },
    });
  });

  it('exclusions are one-off spans, weekly spans and cron spans', () => {
    expect(slos[0]?.exclusions).toEqual([
      {
        kind: 'once',
        from: '2025-11-28T00:00:00Z',
        to: '2025-11-28T06:00:00+01:00',
        reason: 'Black Friday load test',
      },
      {
        kind: 'recurring',
        days: ['sat', 'sun'],
        start: '02:00',
        durationMs: 7_200_000,
        timeZone: 'Europe/Berlin',
        reason: 'weekly maintenance',
        cron: undefined,
      },
      {
        kind: 'recurring',
        cron: '30 3 1 * *',
        durationMs: 1_800_000,
        timeZone: 'UTC',
        days: undefined,
        start: undefined,
        reason: undefined,
      },
    ]);
  });

  it('a latency SLI on a calendar month with its own burn-rate tiers', () => {
    expect(slos[1]).toMatchObject({
      window: { kind: 'calendar', unit: 'month', timeZone: 'Europe/Berlin' },
      sli: { kind: 'latency', thresholdSeconds: 0.3 },
      burnRateTiers: [
        {
          name: 'page',
          severity: 'page',
          factor: 10,
          longWindowMs: 3_600_000,
          shortWindowMs: 300_000,
        },
        {
          name: 'ticket',
          severity: 'ticket',
          factor: 2,
          longWindowMs: 86_400_000,
          shortWindowMs: 7_200_000,
        },
      ],
    });
  });

  it('a probe SLI gets a one-minute slice and ">= 1" by default', () => {
    expect(slos[2]?.sli).toMatchObject({
      kind: 'probe',
      sliceMs: 60_000,
      goodWhen: { op: '>=', value: 1 },
    });
  });

  it('a log ratio matches service, severity, attributes and body text', () => {
    expect(slos[3]?.sli).toEqual({
      kind: 'log_ratio',
      bad: {
        service: 'worker',
        severity: 'error',
        attributes: [{ label: 'job', op: '!~', value: 'test-.*' }],
        bodyContains: 'failed',
      },
      good: undefined,
      total: { service: 'worker', attributes: [], severity: undefined, bodyContains: undefined },
    });
  });

  it('an empty text holds no SLO', () => {
    expect(parseSlos('# nothing yet\n', 'empty.yaml')).toEqual([]);
  });
});

describe('a broken SLO file gives a line naming file:line, the key, the value and what is expected', () => {
  const cases: Array<[string, string, string]> = [
    [
      'YAML that does not parse points at line and column',
      'broken-yaml.yaml',
      'broken-yaml.yaml:5:1: invalid YAML: All mapping items must start at the same column',
    ],
    [
      'an OpenSLO document is pointed at the importer',
      'wrong-api-version.yaml',
      'wrong-api-version.yaml:1: apiVersion: got "openslo/v1", expected "halo/v1" (import OpenSLO documents with openslo.ts)',
    ],
    [
      'a misspelt key suggests the right one, and the missing key is named',
      'unknown-key.yaml',
      'unknown-key.yaml:10: spec.sli.ratio.total: missing, expected a mapping with metric, matchers\nunknown-key.yaml:12: spec.sli.ratio.totl: unknown key (did you mean "total"?)',
    ],
    [
      'an objective of 100% leaves no error budget',
      'objective-out-of-range.yaml',
      'objective-out-of-range.yaml:7: spec.objective: got 100, expected a percentage above 0 and below 100, like 99.9',
    ],
    [
      'a regular expression that does not compile',
      'bad-regex.yaml',
      'bad-regex.yaml:14: spec.sli.ratio.bad.matchers.code.value: got "5(0", expected a valid regular expression (Unterminated group)',
    ],
    [
      'a time zone Intl does not know',
      'bad-time-zone.yaml',
      'bad-time-zone.yaml:11: spec.window.calendar.time_zone: got "Europe/Atlantis", expected an IANA time zone like "Europe/Berlin" or "UTC"',
    ],
    [
      'a duration in words',
      'bad-duration.yaml',
      'bad-duration.yaml:9: spec.window.rolling: got "30 days", expected a duration like "5m", "1h" or "28d"',
    ],
    [
      'two SLI kinds at once',
      'two-sli-kinds.yaml',
      'two-sli-kinds.yaml:9: spec.sli: expected exactly one of ratio, latency, probe, log_ratio (got latency and probe)',
    ],
    [
      'a ratio with both good and bad',
      'good-and-bad.yaml',
      'good-and-bad.yaml:10: spec.sli.ratio: expected exactly one of good, bad (got good and bad)',
    ],
    [
      'an exclusion that ends before it starts',
      'exclusion-backwards.yaml',
      'exclusion-backwards.yaml:13: spec.exclusions.0.to: got "2025-11-28T00:00:00Z", expected a time after from',
    ],
    [
      'a cron minute out of range',
      'bad-cron.yaml',
      'bad-cron.yaml:12: spec.exclusions.0.cron: got "61 2 * * sat", expected a cron expression like "0 2 * * sat"',
    ],
    [
      'a probe threshold in words',
      'bad-good-when.yaml',
      'bad-good-when.yaml:10: spec.sli.probe.good_when: got "at least 1", expected a threshold like ">= 1"',
    ],
    [
      'a tier whose short window is the longer one',
      'tier-short-longer.yaml',
      'tier-short-longer.yaml:16: spec.burn_rate_tiers.0.short_window: got "1h", expected a short window shorter than long_window',
    ],
    [
      'two SLOs with one name',
      'duplicate-name.yaml',
      'duplicate-name.yaml:14: metadata.name: got "checkout", expected a name not used before (duplicate-name.yaml:3)',
    ],
    [
      'every issue of a document is reported, here an unknown severity and a missing total',
      'missing-total.yaml',
      'missing-total.yaml:11: spec.sli.log_ratio.bad.severity: got "critical", expected one of trace, debug, info, warn, error, fatal\nmissing-total.yaml:10: spec.sli.log_ratio.total: missing, expected a mapping with service, severity, attributes, body_contains',
    ],
  ];
  it.each(cases)('%s', (_name, file, expected) => {
    expect(errorOf(() => loadSloFile(fixture(file)))).toBe(expected);
  });

  it('a file that does not exist', () => {
    expect(errorOf(() => loadSloFile('/nonexistent/slo.yaml'))).toBe(
      '/nonexistent/slo.yaml: cannot read SLO file: no such file',
    );
  });
});
