// The routing tree: continue, inheritance, fallback, matchers, group keys, `halo route test` and config errors.

import { describe, expect, it } from 'vitest';
import {
  groupKey,
  LabelArgsError,
  formatRouteTest,
  matchRoutes,
  parseLabelArgs,
  parseMatchers,
  routeTreeSchema,
  validateRoutes,
  type ResolvedRoute,
  type RouteTree,
} from '../alerter/route/index.ts';
import { loadNotify, notifyError } from './fixtures/notify/config-schema.ts';

const tree = (spec: unknown): RouteTree => routeTreeSchema.parse(spec);

const TREE = tree({
  receiver: 'default',
  group_by: ['alertname'],
  routes: [
    {
      matchers: ['severity="page"'],
      receiver: 'pagerduty',
      group_by: ['alertname', 'service'],
      group_wait: '10s',
      continue: true,
      routes: [
        { matchers: ['service=~"web|api"'], receiver: 'pagerduty-web' },
        { matchers: ['service!~"db.*"'], repeat_interval: '1h' },
      ],
    },
    { matchers: ['severity="page"'], receiver: 'slack-pages', mute_time_intervals: ['nights'] },
    {
      matchers: { team: 'db' },
      receiver: 'db-team',
      group_by: ['...'],
      mute_time_intervals: ['weekends'],
      routes: [
        { matchers: ['severity="ticket"'], receiver: 'db-tickets', mute_time_intervals: [] },
        { matchers: ['severity="info"'] },
      ],
    },
  ],
});

const receivers = (labels: Record<string, string>) =>
  matchRoutes(TREE, labels).map((r) => r.receiver);

describe('an alert takes the routes Alertmanager would send it down', () => {
  const cases: Array<[string, Record<string, string>, string[]]> = [
    [
      'a page for web goes to the web pager, and on to slack because the page route continues',
      { alertname: 'Latency', severity: 'page', service: 'web' },
      ['pagerduty-web', 'slack-pages'],
    ],
    [
      'regular expressions match the whole value: web-2 is not web',
      { alertname: 'Latency', severity: 'page', service: 'web-2' },
      ['pagerduty', 'slack-pages'],
    ],
    [
      'a page no child route takes stays on the page route itself (fallback to the parent)',
      { alertname: 'Latency', severity: 'page', service: 'db-main' },
      ['pagerduty', 'slack-pages'],
    ],
    [
      'a missing label is empty: service!~"db.*" takes a page without a service',
      { alertname: 'Latency', severity: 'page' },
      ['pagerduty', 'slack-pages'],
    ],
    [
      'without continue the first matching route ends the walk: db tickets go to db-tickets only',
      { alertname: 'DiskFull', severity: 'ticket', team: 'db' },
      ['db-tickets'],
    ],
    [
      'an alert no child route takes goes to the root receiver',
      { alertname: 'DiskFull', severity: 'ticket', team: 'web' },
      ['default'],
    ],
    [
      'a child route without a receiver inherits its parent one',
      { alertname: 'Vacuum', severity: 'info', team: 'db' },
      ['db-team'],
    ],
  ];
  it.each(cases)('%s', (_name, labels, expected) => {
    expect(receivers(labels)).toEqual(expected);
  });

  it('a route whose parent does not match is never taken, whatever its own matchers', () => {
    const t = tree({
      receiver: 'default',
      routes: [{ matchers: ['team="db"'], routes: [{ matchers: [], receiver: 'all-db' }] }],
    });
    expect(matchRoutes(t, { team: 'web' }).map((r) => r.receiver)).toEqual(['default']);
    expect(matchRoutes(t, { team: 'db' }).map((r) => r.receiver)).toEqual(['all-db']);
  });
});

describe('matchers are parsed as Alertmanager parses them', () => {
  const cases: Array<[string, string, Array<[string, string, string]>]> = [
    ['a quoted value', 'severity="page"', [['severity', '=', 'page']]],
    ['a bare value', 'severity = page', [['severity', '=', 'page']]],
    ['a negative regex', 'service!~"db.*"', [['service', '!~', 'db.*']]],
    [
      'escaped quotes and backslashes',
      String.raw`msg="say \"hi\" \\o/"`,
      [['msg', '=', 'say "hi" \\o/']],
    ],
    [
      'a spurious escape kept for the regex',
      String.raw`host=~"web\.example"`,
      [['host', '=~', 'web\\.example']],
    ],
    [
      'several in braces, a comma inside quotes kept',
      '{a="1,2", b!="x"}',
      [
        ['a', '=', '1,2'],
        ['b', '!=', 'x'],
      ],
    ],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(parseMatchers(text).map((m) => [m.label, m.op, m.value])).toEqual(expected);
  });

  it.each([
    ['no operator', 'severity', /expected a matcher like/],
    ['no label name', '="page"', /expected a label name/],
    ['an unclosed quote', 'a="page', /expected a closing "/],
    ['a quote in the middle', 'a="pa"ge"', /unescaped "/],
    ['a regex that does not compile', 'a=~"(x"', /valid regular expression for a/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseMatchers(text)).toThrow(message);
  });
});

describe('child routes inherit what they leave out', () => {
  const byReceiver = (labels: Record<string, string>, receiver: string): ResolvedRoute =>
    matchRoutes(TREE, labels).find((r) => r.receiver === receiver)!;

  it('receiver, group_by and timings come from the parent, overridden where set', () => {
    const web = byReceiver({ severity: 'page', service: 'web' }, 'pagerduty-web');
    expect(web).toMatchObject({
      groupBy: ['alertname', 'service'],
      groupWaitMs: 10_000,
      groupIntervalMs: 300_000,
      repeatIntervalMs: 4 * 3_600_000,
    });
    const other = byReceiver({ severity: 'page', service: 'cache' }, 'pagerduty');
    expect(other).toMatchObject({
      id: '{}/{severity="page"}/{service!~"db.*"}',
      groupWaitMs: 10_000,
      repeatIntervalMs: 3_600_000,
    });
  });

  it('time intervals are inherited, and an empty list clears them', () => {
    expect(byReceiver({ team: 'db', severity: 'info' }, 'db-team').muteTimeIntervals).toEqual([
      'weekends',
    ]);
    expect(byReceiver({ team: 'db', severity: 'ticket' }, 'db-tickets').muteTimeIntervals).toEqual(
      [],
    );
  });

  it("group_by ['...'] is inherited as every label", () => {
    expect(byReceiver({ team: 'db', severity: 'info' }, 'db-team')).toMatchObject({
      groupByAll: true,
      groupBy: [],
    });
  });

  it('the root has Alertmanager defaults', () => {
    expect(tree({ receiver: 'r' })).toMatchObject({
      groupBy: [],
      groupByAll: false,
      groupWaitMs: 30_000,
      groupIntervalMs: 300_000,
      repeatIntervalMs: 14_400_000,
    });
  });
});

describe('group keys', () => {
  const page = (labels: Record<string, string>) =>
    matchRoutes(TREE, { severity: 'page', ...labels })[0]!;

  it('the same labels in any order give the same key', () => {
    const a = { alertname: 'Latency', service: 'web', severity: 'page', host: 'w1' };
    const b = { host: 'w1', severity: 'page', service: 'web', alertname: 'Latency' };
    expect(groupKey(page(a), a)).toBe(groupKey(page(b), b));
    expect(groupKey(page(a), a)).toBe(
      '{}/{severity="page"}/{service=~"web|api"}:pagerduty-web:{alertname="Latency", service="web"}',
    );
  });

  it('labels outside group_by do not split a group; a missing label equals an empty one', () => {
    const route = page({ service: 'web' });
    expect(groupKey(route, { alertname: 'X', service: 'web', host: 'w1' })).toBe(
      groupKey(route, { alertname: 'X', service: 'web', host: 'w2' }),
    );
    expect(groupKey(route, { alertname: 'X' })).toBe(
      groupKey(route, { alertname: 'X', service: '' }),
    );
    expect(groupKey(route, { alertname: 'X', service: 'web' })).not.toBe(
      groupKey(route, { alertname: 'X', service: 'api' }),
    );
  });

  it("group_by ['...'] makes every label part of the key", () => {
    const route = matchRoutes(TREE, { team: 'db', severity: 'info' })[0]!;
    const key = groupKey(route, { team: 'db', severity: 'info', host: 'db1' });
    expect(key).toBe(
      '{}/{team="db"}/{severity="info"}:db-team:{host="db1", severity="info", team="db"}',
    );
    expect(groupKey(route, { severity: 'info', team: 'db', host: 'db2' })).not.toBe(key);
  });

  it('the same labels on two routes are two groups', () => {
    const labels = { alertname: 'Latency', severity: 'page', service: 'web' };
    const [first, second] = matchRoutes(TREE, labels);
    expect(groupKey(first!, labels)).not.toBe(groupKey(second!, labels));
  });

  it('route ids follow the matchers, not the order: reordering routes keeps every group', () => {
    const routes = [
      { matchers: ['severity="page"'], receiver: 'p' },
      { matchers: ['severity="ticket"'], receiver: 't' },
    ];
    const one = tree({ receiver: 'd', routes });
    const two = tree({ receiver: 'd', routes: [...routes].reverse() });
    const labels = { severity: 'ticket' };
    expect(groupKey(matchRoutes(one, labels)[0]!, labels)).toBe(
      groupKey(matchRoutes(two, labels)[0]!, labels),
    );
  });

  it('routes with the same matchers get distinct ids', () => {
    expect(TREE.routes.map((r) => r.id)).toEqual([
      '{}/{severity="page"}',
      '{}/{severity="page"}#2',
      '{}/{team="db"}',
    ]);
  });
});

describe('halo route test', () => {
  it('prints the receivers, then each route with its group and timings', () => {
    const text = formatRouteTest(
      TREE,
      parseLabelArgs(['alertname=Latency', 'severity=page', 'service=web', 'host=w1']),
    );
    expect(text).toBe(
      [
        'labels: {alertname="Latency", host="w1", service="web", severity="page"}',
        'receivers: pagerduty-web, slack-pages',
        '',
        'route.routes[0].routes[0] {}/{severity="page"}/{service=~"web|api"}',
        '  receiver: pagerduty-web',
        '  group: {alertname="Latency", service="web"} (group_by alertname, service)',
        '  timing: group_wait 10s, group_interval 5m, repeat_interval 4h',
        '',
        'route.routes[1] {}/{severity="page"}#2',
        '  receiver: slack-pages',
        '  group: {alertname="Latency"} (group_by alertname)',
        '  timing: group_wait 30s, group_interval 5m, repeat_interval 4h',
        '  muted during: nights',
        '',
      ].join('\n'),
    );
  });

  it('a label set only the root takes prints the root', () => {
    expect(formatRouteTest(TREE, { severity: 'ticket' })).toContain(
      'receivers: default\n\nroute {}\n',
    );
  });

  const good: Array<[string, string[], Record<string, string>]> = [
    ['plain pairs', ['a=1', 'b=two'], { a: '1', b: 'two' }],
    ['a value with = in it', ['q=a=b'], { q: 'a=b' }],
    ['a quoted value', ['summary="disk \\"full\\""'], { summary: 'disk "full"' }],
    ['an empty value is no label', ['a=', 'b=1'], { b: '1' }],
  ];
  it.each(good)('label arguments: %s', (_name, args, labels) => {
    expect(parseLabelArgs(args)).toEqual(labels);
  });

  const bad: Array<[string, string[], string]> = [
    ['no =', ['severity'], 'expected a label as key=value, like severity=page (got "severity")'],
    [
      'a bad name',
      ['1x=y'],
      'expected a label name of letters, digits and _ before = (got "1x=y")',
    ],
    ['a label twice', ['a=1', 'a=2'], 'expected label a once (given twice)'],
  ];
  it.each(bad)('label arguments refused: %s', (_name, args, message) => {
    expect(() => parseLabelArgs(args)).toThrow(new LabelArgsError(message));
  });
});

describe('a broken routing config gives one line naming the file, the key and what is expected', () => {
  const cases: Array<[string, string, string]> = [
    [
      'a receiver that does not exist (with the likely one)',
      'unknown-receiver.yaml',
      'unknown-receiver.yaml:10: notify.route.routes.0.receiver: got "pagerdty", expected one of the receivers defined in receivers: default, pagerduty (did you mean "pagerduty"?)',
    ],
    [
      'a matcher string without an operator',
      'bad-matcher.yaml',
      'bad-matcher.yaml:7: notify.route.routes.0.matchers.1: got "service", expected a matcher like severity="page" or service=~"web|api"',
    ],
    [
      'a regular expression that does not compile',
      'bad-regex.yaml',
      'bad-regex.yaml:7: notify.route.routes.0.matchers.0: got "service=~\\"(web|api\\"", expected a valid regular expression for service (Unterminated group)',
    ],
    [
      'a duration that is not one',
      'bad-duration.yaml',
      'bad-duration.yaml:8: notify.route.routes.0.group_wait: got "half a minute", expected a duration like "30s", "5m", "1h30m" or "7d"',
    ],
    [
      'a time interval that is not defined',
      'unknown-interval.yaml',
      'unknown-interval.yaml:11: notify.route.routes.0.active_time_intervals.0: got "office-hours", expected one of the time intervals defined in time_intervals: nights',
    ],
    [
      'a root route without a receiver',
      'root-without-receiver.yaml',
      'root-without-receiver.yaml:4: notify.route.receiver: got nothing, expected a receiver on the root route (it takes every alert no child route takes)',
    ],
    [
      'a misspelt key in a child route',
      'misspelt-route-key.yaml',
      'misspelt-route-key.yaml:8: notify.route.routes.0.recevier: unknown key (did you mean "receiver"?)',
    ],
    [
      "group_by with '...' and labels",
      'group-by-all-and-labels.yaml',
      `group-by-all-and-labels.yaml:6: notify.route.group_by: got ["...","alertname"], expected either ['...'] (every label) or label names, not both`,
    ],
  ];
  it.each(cases)('%s', (_name, file, message) => {
    expect(notifyError(file)).toBe(message);
  });

  it('a valid file loads, matchers in list and map form alike', () => {
    const { route } = loadNotify('valid.yaml');
    expect(matchRoutes(route, { severity: 'page', service: 'api' }).map((r) => r.receiver)).toEqual(
      ['pagerduty', 'slack'],
    );
  });

  it('an inherited receiver is reported once, where it is written', () => {
    const t = tree({
      receiver: 'nope',
      routes: [{ matchers: ['a="1"'], routes: [{ matchers: ['b="2"'] }] }],
    });
    expect(validateRoutes(t, ['default'], []).map((i) => i.path.join('.'))).toEqual(['receiver']);
  });
});
