// `halo route test` and `halo silence add|list|expire` as the CLI runs them, silences against a real nats-server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haloConfigSchema, type FullConfig } from '../cli/config-schema.ts';
import { routeTest } from '../cli/route.ts';
import {
  defaultAuthor,
  silenceAdd,
  silenceExpire,
  silenceList,
  type SilenceContext,
} from '../cli/silence.ts';
import { ConfigError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

const hook = (name: string) => ({
  name,
  webhook_configs: [{ url: `http://127.0.0.1:9/${name}` }],
});

const config = (raw: Record<string, unknown> = {}): FullConfig => haloConfigSchema.parse(raw);

const NOTIFY = {
  receivers: [hook('default'), hook('pager'), hook('slack')],
  route: {
    receiver: 'default',
    group_by: ['alertname'],
    routes: [
      {
        matchers: ['severity="page"'],
        receiver: 'pager',
        group_wait: '10s',
        continue: true,
      },
      { matchers: ['severity=~"page|ticket"'], receiver: 'slack', group_by: ['service'] },
    ],
  },
};

/** The message of the ConfigError that `run` throws or rejects with. */
async function configError(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('halo route test', () => {
  const withNotify = config({ notify: NOTIFY });

  it('lists the receivers a page reaches through a continuing route, and each route', () => {
    expect(routeTest(withNotify, ['alertname=Latency', 'severity=page', 'service=web'])).toBe(
      [
        'labels: {alertname="Latency", service="web", severity="page"}',
        'receivers: pager, slack',
        '',
        'route.routes[0] {}/{severity="page"} (continue)',
        '  receiver: pager',
        '  group: {alertname="Latency"} (group_by alertname)',
        '  timing: group_wait 10s, group_interval 5m, repeat_interval 4h',
        '',
        'route.routes[1] {}/{severity=~"page|ticket"}',
        '  receiver: slack',
        '  group: {service="web"} (group_by service)',
        '  timing: group_wait 30s, group_interval 5m, repeat_interval 4h',
        '',
      ].join('\n'),
    );
  });

  it('an alert no child route takes goes to the root receiver', () => {
    expect(routeTest(withNotify, ['alertname=DiskFull'])).toBe(
      [
        'labels: {alertname="DiskFull"}',
        'receivers: default',
        '',
        'route {}',
        '  receiver: default',
        '  group: {alertname="DiskFull"} (group_by alertname)',
        '  timing: group_wait 30s, group_interval 5m, repeat_interval 4h',
        '',
      ].join('\n'),
    );
  });

  it('refuses label arguments that are not key=value', async () => {
    expect(await configError(() => routeTest(withNotify, ['severity']))).toBe(
      'expected a label as key=value, like severity=page (got "severity")',
    );
    expect(await configError(() => routeTest(withNotify, ['9x=1']))).toBe(
      'expected a label name of letters, digits and _ before = (got "9x=1")',
    );
    expect(await configError(() => routeTest(withNotify, ['a=1', 'a=2']))).toBe(
      'expected label a once (given twice)',
    );
  });

  it('without a notify section says what is missing', async () => {
    expect(await configError(() => routeTest(config(), ['severity=page']))).toBe(
      'notify.route: missing: halo route test needs a notify section with receivers and a route in halo.yaml',
    );
  });
});

describe('halo silence', () => {
  let nats: TestNats;
  let ctx: (now: number) => SilenceContext;

  beforeAll(async () => {
    nats = await startNatsServer();
    const cfg = config({ nats: { url: nats.url } });
    ctx = (now) => ({ config: cfg, logger: silentLogger(), now, bucket: 'silences_cli_test' });
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('add prints the id, list shows it active, expire ends it, list shows it expired', async () => {
    const added = await silenceAdd(ctx(T0), ['alertname=HostDown', 'instance=~"db-.*"'], {
      duration: '2h',
      comment: 'replacing the disk of db-1',
      author: 'alice',
    });
    expect(added).toMatch(/^[0-9a-f-]{36}\n$/);
    const id = added.trim();

    expect(await silenceList(ctx(T0 + HOUR))).toBe(
      [
        'ID                                    STATE   MATCHERS                                   STARTS                    ENDS                      AUTHOR  COMMENT',
        `${id}  active  {alertname="HostDown", instance=~"db-.*"}  2030-01-01T00:00:00.000Z  2030-01-01T02:00:00.000Z  alice   replacing the disk of db-1`,
        '',
      ].join('\n'),
    );
    expect(await silenceList(ctx(T0 + HOUR), { state: 'expired' })).toBe('no expired silences\n');

    expect(await silenceExpire(ctx(T0 + HOUR), id)).toBe(
      `silence ${id} expired at 2030-01-01T01:00:00.000Z ({alertname="HostDown", instance=~"db-.*"})\n`,
    );
    expect(await silenceList(ctx(T0 + HOUR + 1), { state: 'expired' })).toBe(
      [
        'ID                                    STATE    MATCHERS                                   STARTS                    ENDS                      AUTHOR  COMMENT',
        `${id}  expired  {alertname="HostDown", instance=~"db-.*"}  2030-01-01T00:00:00.000Z  2030-01-01T01:00:00.000Z  alice   replacing the disk of db-1`,
        '',
      ].join('\n'),
    );
    const json = JSON.parse(await silenceList(ctx(T0 + HOUR + 1), { json: true })) as unknown;
    expect(json).toEqual([
      {
        id,
        state: 'expired',
        matchers: [
          { label: 'alertname', op: '=', value: 'HostDown' },
          { label: 'instance', op: '=~', value: 'db-.*' },
        ],
        startsAt: '2030-01-01T00:00:00.000Z',
        endsAt: '2030-01-01T01:00:00.000Z',
        createdBy: 'alice',
        comment: 'replacing the disk of db-1',
        createdAt: '2030-01-01T00:00:00.000Z',
        updatedAt: '2030-01-01T01:00:00.000Z',
      },
    ]);

    expect(await configError(() => silenceExpire(ctx(T0 + 2 * HOUR), id))).toBe(
      `silence ${id} is already expired (it ended at 2030-01-01T01:00:00.000Z)`,
    );
  });

  it('a pending silence with --start and --end, and the default author', async () => {
    const id = (
      await silenceAdd(ctx(T0), ['service=web'], {
        start: '2030-01-02T00:00:00Z',
        end: '2030-01-02T02:00:00Z',
        comment: 'deploy window',
      })
    ).trim();
    const list = await silenceList(ctx(T0), { state: 'pending' });
    expect(list).toContain(id);
    expect(list).toContain(defaultAuthor());
    expect(list).toContain('2030-01-02T02:00:00.000Z');
  });

  it('refuses bad input with one-line messages', async () => {
    const add = (matchers: string[], options: Parameters<typeof silenceAdd>[2]) =>
      configError(() => silenceAdd(ctx(T0), matchers, options));
    expect(await add(['alertname'], { duration: '2h', comment: 'x' })).toBe(
      'matcher "alertname": expected an operator (=, !=, =~, !~) after the label alertname, like alertname="HostDown"',
    );
    expect(await add(['instance=~"db-("'], { duration: '2h', comment: 'x' })).toBe(
      'matcher "instance=~\\"db-(\\"": invalid regular expression "db-(" (Unterminated group)',
    );
    expect(await add(['alertname=HostDown'], { duration: '2h' })).toBe(
      '--comment: missing: say why the silence exists (e.g. --comment "replacing the disk of db-1")',
    );
    expect(await add(['alertname=HostDown'], { duration: '2h', comment: '  ' })).toBe(
      '--comment: missing: say why the silence exists (e.g. --comment "replacing the disk of db-1")',
    );
    expect(await add(['alertname=HostDown'], { duration: 'soon', comment: 'x' })).toBe(
      '--duration: got "soon", expected a duration like 2h or 1h30m',
    );
    expect(await add(['alertname=HostDown'], { comment: 'x' })).toBe(
      'expected either --duration (e.g. 2h) or --end (an ISO 8601 time)',
    );
    expect(await add(['alertname=HostDown'], { end: '2029-12-31T00:00:00Z', comment: 'x' })).toBe(
      'silence endsAt: must be in the future (endsAt 2029-12-31T00:00:00.000Z, now 2030-01-01T00:00:00.000Z)',
    );
    expect(await add(['alertname=~".*"'], { duration: '2h', comment: 'x' })).toBe(
      'silence matchers: at least one matcher must not match the empty string',
    );
    expect(await configError(() => silenceList(ctx(T0), { state: 'done' }))).toBe(
      '--state: got "done", expected one of active, pending, expired',
    );
    expect(
      await configError(() => silenceExpire(ctx(T0), '00000000-0000-4000-8000-000000000000')),
    ).toBe('silence 00000000-0000-4000-8000-000000000000 not found');
    expect(await configError(() => silenceExpire(ctx(T0), 'abc'))).toBe(
      'silence id "abc": expected a UUID',
    );
  });

  it('without nats.url says how to reach the server `halo up` runs', async () => {
    expect(
      await configError(() => silenceList({ config: config(), logger: silentLogger(), now: T0 })),
    ).toBe(
      'nats.url: missing: halo silence keeps silences in NATS KV (set nats.url or HALO_NATS_URL); with `halo up`, set nats.local.port (e.g. 4222: by default its nats-server takes a free port) and run HALO_NATS_URL=nats://127.0.0.1:4222 halo silence … (nats.url in halo.yaml would stop `halo up` starting its own server)',
    );
  });
});
