// Silences against a real nats-server: shared by replicas through KV and its watch, their states
// over time, matching, validation messages, audit of expired ones, pruning, and matcher parsing.

import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import {
  formatMatcher,
  formatMatchers,
  parseMatcher,
  SilenceExpiredError,
  SilenceNotFoundError,
  SilenceStore,
  SilenceValidationError,
  type Matcher,
  type SilenceInput,
  type SilenceStoreOptions,
} from '../alerter/silence/index.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { until } from './helpers/wait.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

let nats: TestNats;
const connections: NatsConnection[] = [];
const stores: SilenceStore[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await Promise.all(connections.map((nc) => nc.close()));
  await nats?.stop();
});

async function connection(): Promise<NatsConnection> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return nc;
}

let buckets = 0;
/** Each test its own bucket, so that no silence leaks into the next test. */
const newBucket = () => `silences_test_${++buckets}`;

/** A replica on its own connection, as in another process. */
async function replica(
  bucket: string,
  options: Partial<SilenceStoreOptions> = {},
): Promise<SilenceStore> {
  const store = await SilenceStore.open({
    nc: await connection(),
    bucket,
    logger: silentLogger(),
    ...options,
  });
  stores.push(store);
  return store;
}

const hostDown: Matcher = { label: 'alertname', op: '=', value: 'HostDown' };

function input(overrides: Partial<SilenceInput> = {}): SilenceInput {
  return {
    matchers: [hostDown],
    startsAt: T0,
    endsAt: T0 + HOUR,
    createdBy: 'alice',
    comment: 'replacing the disk of db-1',
    ...overrides,
  };
}

describe('SilenceStore across replicas', () => {
  it('shows a silence made on one replica on another, which can expire it for both', async () => {
    const bucket = newBucket();
    const a = await replica(bucket);
    const b = await replica(bucket);

    const created = await a.create(input(), T0);
    expect(created).toMatchObject({ state: 'active', createdBy: 'alice', createdAt: T0 });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);

    await until(
      async () => b.get(created.id, T0) !== undefined,
      'replica b to see the silence',
      3000,
    );
    expect(b.get(created.id, T0)).toEqual(created);
    expect(b.list({ at: T0 })).toEqual([created]);
    expect(b.silencedBy({ alertname: 'HostDown' }, T0)).toEqual([created.id]);

    const expired = await b.expire(created.id, T0 + MINUTE);
    expect(expired).toMatchObject({
      state: 'expired',
      endsAt: T0 + MINUTE,
      updatedAt: T0 + MINUTE,
    });
    await until(
      async () => a.get(created.id, T0 + MINUTE)?.state === 'expired',
      'replica a to see the expiry',
      3000,
    );
    expect(a.silencedBy({ alertname: 'HostDown' }, T0 + MINUTE)).toEqual([]);

    const late = await replica(bucket);
    expect(late.get(created.id, T0 + MINUTE)).toEqual(expired);
  });

  it('lets only one of two replicas expire a silence when both try at once', async () => {
    const bucket = newBucket();
    const a = await replica(bucket);
    const b = await replica(bucket);
    const { id } = await a.create(input(), T0);
    await until(async () => b.get(id) !== undefined, 'replica b to see the silence', 3000);

    const results = await Promise.allSettled([a.expire(id, T0 + 1000), b.expire(id, T0 + 1000)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(SilenceExpiredError);
  });

  it('refuses to expire a silence twice, an unknown id or something that is not an id', async () => {
    const store = await replica(newBucket());
    const { id } = await store.create(input(), T0);
    await store.expire(id, T0 + MINUTE);

    await expect(store.expire(id, T0 + 2 * MINUTE)).rejects.toThrow(
      new SilenceExpiredError(
        `silence ${id} is already expired (it ended at 2030-01-01T00:01:00.000Z)`,
      ),
    );
    const unknown = randomUUID();
    await expect(store.expire(unknown, T0)).rejects.toThrow(
      new SilenceNotFoundError(`silence ${unknown} not found`),
    );
    await expect(store.expire('s.>', T0)).rejects.toThrow(
      new SilenceValidationError('silence id "s.>": expected a UUID'),
    );
    expect(store.get('nope')).toBeUndefined();
  });

  it('keeps expired silences for audit and lists them as expired, newest first', async () => {
    const bucket = newBucket();
    const store = await replica(bucket);
    const first = await store.create(input({ comment: 'first' }), T0);
    const second = await store.create(input({ comment: 'second' }), T0);
    const kept = await store.create(input({ comment: 'still on', endsAt: T0 + DAY }), T0);
    await store.expire(first.id, T0 + MINUTE);
    await store.expire(second.id, T0 + 2 * MINUTE);

    const at = T0 + 3 * MINUTE;
    const reopened = await replica(bucket);
    for (const view of [store, reopened]) {
      expect(view.list({ at }).map((s) => [s.comment, s.state])).toEqual([
        ['still on', 'active'],
        ['second', 'expired'],
        ['first', 'expired'],
      ]);
      expect(view.list({ at, state: 'expired' }).map((s) => s.id)).toEqual([second.id, first.id]);
      expect(view.list({ at, state: 'active' }).map((s) => s.id)).toEqual([kept.id]);
      expect(view.get(first.id, at)).toMatchObject({
        createdBy: 'alice',
        comment: 'first',
        matchers: [hostDown],
        startsAt: T0,
        endsAt: T0 + MINUTE,
        createdAt: T0,
        updatedAt: T0 + MINUTE,
        state: 'expired',
      });
    }
  });

  it('purges silences expired for longer than the retention, on every replica', async () => {
    const bucket = newBucket();
    const a = await replica(bucket, { retentionMs: 30 * DAY });
    const b = await replica(bucket);
    const old = await a.create(input(), T0);
    await a.expire(old.id, T0 + MINUTE);
    const recent = await a.create(input({ endsAt: T0 + 2 * DAY }), T0);
    await until(async () => b.list().length === 2, 'replica b to see both silences', 3000);

    expect(await a.prune(T0 + MINUTE + 30 * DAY - 1)).toEqual([]);
    expect(await a.prune(T0 + MINUTE + 30 * DAY)).toEqual([old.id]);
    expect(a.get(old.id)).toBeUndefined();
    expect(a.list({ at: T0 + 31 * DAY }).map((s) => [s.id, s.state])).toEqual([
      [recent.id, 'expired'],
    ]);
    await until(async () => b.get(old.id) === undefined, 'replica b to see the purge', 3000);
    expect((await replica(bucket)).list().map((s) => s.id)).toEqual([recent.id]);
  });

  it('removes the markers of purged silences once they are older than markerRetentionMs', async () => {
    const bucket = newBucket();
    const store = await replica(bucket, { retentionMs: 1, markerRetentionMs: 0 });
    const { id } = await store.create(input(), T0);
    await store.expire(id, T0 + 1);
    expect(await store.prune(T0 + 2)).toEqual([id]);

    const raw = await new Kvm(await connection()).open(bucket);
    expect((await raw.status()).values).toBe(0);
    expect((await replica(bucket)).list()).toEqual([]);
  });

  it('ignores a value in the bucket that is not a valid silence', async () => {
    const bucket = newBucket();
    const store = await replica(bucket);
    const raw = await new Kvm(await connection()).open(bucket);
    await raw.put(`s.${randomUUID()}`, '{"matchers": []}');
    await raw.put('unrelated', 'hello');
    const { id } = await store.create(input(), T0);

    expect((await replica(bucket)).list({ at: T0 }).map((s) => s.id)).toEqual([id]);
  });

  it('refuses options out of range with the key and the value', async () => {
    const nc = await connection();
    const logger = silentLogger();
    await expect(SilenceStore.open({ nc, logger, retentionMs: 0 })).rejects.toThrow(
      new ConfigError(
        'silences: retentionMs must be a whole number from 1 to 9007199254740991, got 0',
      ),
    );
    await expect(SilenceStore.open({ nc, logger, bucket: 'a.b' })).rejects.toThrow(
      new ConfigError('silences: bucket must be letters, digits, _ and -, got "a.b"'),
    );
  });
});

describe('silence states over time', () => {
  it('is pending before its start, active until its end and expired from its end on', async () => {
    const store = await replica(newBucket());
    const { id } = await store.create(input({ startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR }), T0);
    const timeline: [number, string, string[]][] = [
      [T0, 'pending', []],
      [T0 + HOUR - 1, 'pending', []],
      [T0 + HOUR, 'active', [id]],
      [T0 + 2 * HOUR - 1, 'active', [id]],
      [T0 + 2 * HOUR, 'expired', []],
    ];
    for (const [at, state, silencing] of timeline) {
      expect(store.get(id, at)?.state, new Date(at).toISOString()).toBe(state);
      expect(store.silencedBy({ alertname: 'HostDown' }, at)).toEqual(silencing);
      expect(store.list({ at, state: state as 'pending' }).map((s) => s.id)).toEqual([id]);
    }
  });

  it('starts a silence whose start lies in the past now, as Alertmanager does', async () => {
    const store = await replica(newBucket());
    const created = await store.create(input({ startsAt: T0 - HOUR }), T0);
    expect(created).toMatchObject({ startsAt: T0, state: 'active' });
    const defaulted = await store.create(input({ startsAt: undefined }), T0 + 5);
    expect(defaulted.startsAt).toBe(T0 + 5);
  });

  it('ends a pending silence that is expired before it began at the moment of expiry', async () => {
    const store = await replica(newBucket());
    const { id } = await store.create(input({ startsAt: T0 + HOUR, endsAt: T0 + 2 * HOUR }), T0);
    const expired = await store.expire(id, T0 + MINUTE);
    expect(expired).toMatchObject({ startsAt: T0 + MINUTE, endsAt: T0 + MINUTE, state: 'expired' });
    expect(store.silencedBy({ alertname: 'HostDown' }, T0 + HOUR)).toEqual([]);
  });
});

describe('silencedBy', () => {
  const matchers: Matcher[] = [
    { label: 'alertname', op: '=', value: 'HostDown' },
    { label: 'tier', op: '!=', value: 'db' },
    { label: 'host', op: '=~', value: 'web-\\d+' },
    { label: 'severity', op: '!~', value: 'info|debug' },
  ];
  const base = { alertname: 'HostDown', tier: 'web', host: 'web-1', severity: 'page' };
  const cases: [string, Record<string, string>, boolean][] = [
    ['mutes an alert that every matcher matches', base, true],
    ['spares an alert whose = label differs', { ...base, alertname: 'DiskFull' }, false],
    ['spares an alert whose = label is missing', { ...base, alertname: '' }, false],
    ['spares an alert whose != label has the excluded value', { ...base, tier: 'db' }, false],
    ['mutes an alert without the != label, which counts as ""', omit(base, 'tier'), true],
    ['spares an alert whose =~ label does not match', { ...base, host: 'db-1' }, false],
    ['matches =~ on the whole value only', { ...base, host: 'web-1-old' }, false],
    ['spares an alert without the =~ label', omit(base, 'host'), false],
    ['spares an alert whose !~ label matches', { ...base, severity: 'info' }, false],
    ['matches !~ on the whole value only', { ...base, severity: 'information' }, true],
    ['mutes an alert without the !~ label', omit(base, 'severity'), true],
  ];

  let store: SilenceStore;
  let id: string;
  beforeAll(async () => {
    store = await replica(newBucket());
    ({ id } = await store.create(input({ matchers, endsAt: T0 + DAY }), T0));
  });

  it.each(cases)('%s', (_name, labels, muted) => {
    expect(store.silencedBy(labels, T0 + HOUR)).toEqual(muted ? [id] : []);
  });

  it('names every active silence that matches, sorted by id', async () => {
    const other = await store.create(input({ matchers: [hostDown], endsAt: T0 + DAY }), T0);
    expect(store.silencedBy(base, T0 + HOUR)).toEqual([id, other.id].sort());
    expect(store.silencedBy(base, T0 + DAY)).toEqual([]);
  });
});

function omit(labels: Record<string, string>, key: string): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k !== key));
}

describe('silence validation', () => {
  const cases: [string, Partial<SilenceInput> | Record<string, unknown>, string][] = [
    [
      'refuses a silence without matchers',
      { matchers: [] },
      'silence matchers: expected at least one matcher',
    ],
    [
      'refuses matchers that all match the empty string',
      {
        matchers: [
          { label: 'team', op: '=', value: '' },
          { label: 'env', op: '!=', value: 'prod' },
          { label: 'host', op: '=~', value: '.*' },
          { label: 'tier', op: '!~', value: 'db' },
        ],
      },
      'silence matchers: at least one matcher must not match the empty string',
    ],
    [
      'refuses a regular expression that does not compile',
      { matchers: [hostDown, { label: 'service', op: '=~', value: 'web|(api' }] },
      'silence matchers[1].value: invalid regular expression "web|(api" (Unterminated group)',
    ],
    [
      'refuses an end before the start',
      { startsAt: T0 + HOUR, endsAt: T0 },
      'silence endsAt: must be after startsAt (endsAt 2030-01-01T00:00:00.000Z, startsAt 2030-01-01T01:00:00.000Z)',
    ],
    [
      'refuses an end equal to the start',
      { startsAt: T0 + HOUR, endsAt: T0 + HOUR },
      'silence endsAt: must be after startsAt (endsAt 2030-01-01T01:00:00.000Z, startsAt 2030-01-01T01:00:00.000Z)',
    ],
    [
      'refuses an end in the past',
      { startsAt: undefined, endsAt: T0 - 1 },
      'silence endsAt: must be in the future (endsAt 2029-12-31T23:59:59.999Z, now 2030-01-01T00:00:00.000Z)',
    ],
    [
      'refuses a blank author and comment',
      { createdBy: ' ', comment: '' },
      "silence createdBy: expected the author's name, not an empty string; comment: expected a comment saying why, not an empty string",
    ],
    [
      'refuses an unknown key',
      { endAt: T0 },
      'silence unknown key "endAt" (expected matchers, startsAt, endsAt, createdBy, comment)',
    ],
    [
      'refuses a bad label name',
      { matchers: [{ label: 'alert-name', op: '=', value: 'x' }] },
      'silence matchers[0].label: expected a label name of letters, digits and _',
    ],
  ];

  let store: SilenceStore;
  beforeAll(async () => {
    store = await replica(newBucket());
  });

  it.each(cases)('%s', async (_name, overrides, message) => {
    const given = { ...input(), ...overrides } as SilenceInput;
    await expect(store.create(given, T0)).rejects.toThrow(new SilenceValidationError(message));
    expect(store.list()).toEqual([]);
  });
});

describe('parseMatcher', () => {
  const good: [string, string, Matcher][] = [
    ['reads an unquoted equality', 'severity=page', m('severity', '=', 'page')],
    ['reads a quoted equality', 'alertname="HostDown"', m('alertname', '=', 'HostDown')],
    ['reads an unquoted regex', 'service=~web|api', m('service', '=~', 'web|api')],
    ['reads a quoted regex', 'service=~"web|api"', m('service', '=~', 'web|api')],
    ['reads !=', 'severity!=ticket', m('severity', '!=', 'ticket')],
    ['reads !~', 'host!~"db-.*"', m('host', '!~', 'db-.*')],
    ['allows spaces around the operator', '  env = "prod"  ', m('env', '=', 'prod')],
    [
      'keeps spaces inside quotes',
      'summary="disk full on db 1"',
      m('summary', '=', 'disk full on db 1'),
    ],
    [
      'unescapes quotes and backslashes',
      String.raw`msg="say \"hi\" \\ bye"`,
      m('msg', '=', 'say "hi" \\ bye'),
    ],
    ['reads \\n as a newline', String.raw`msg="a\nb"`, m('msg', '=', 'a\nb')],
    [
      'keeps other backslashes for regexes',
      String.raw`path=~"/api/\d+"`,
      m('path', '=~', '/api/\\d+'),
    ],
    ['reads an empty quoted value', 'team=""', m('team', '=', '')],
    ['reads an empty unquoted value', 'team=', m('team', '=', '')],
    ['reads = inside a quoted value', 'q="a=b"', m('q', '=', 'a=b')],
  ];
  it.each(good)('%s: %s', (_name, text, expected) => {
    expect(parseMatcher(text)).toEqual(expected);
  });

  const bad: [string, string, string][] = [
    [
      'refuses an empty string',
      '',
      'expected a label, an operator (=, !=, =~, !~) and a value, like alertname="HostDown"',
    ],
    [
      'refuses a missing label',
      '="x"',
      'expected a label, an operator (=, !=, =~, !~) and a value, like alertname="HostDown"',
    ],
    [
      'refuses a label starting with a digit',
      '1host=a',
      'label "1host" must be letters, digits and _, not starting with a digit',
    ],
    [
      'refuses a label with a dash',
      'alert-name=a',
      'label "alert-name" must be letters, digits and _, not starting with a digit',
    ],
    [
      'refuses a label alone',
      'alertname',
      'expected an operator (=, !=, =~, !~) after the label alertname, like alertname="HostDown"',
    ],
    [
      'refuses an unknown operator',
      'alertname~HostDown',
      'expected an operator (=, !=, =~, !~) after the label alertname, like alertname="HostDown"',
    ],
    ['refuses an unclosed quote', 'a="b', 'the quoted value has no closing quote'],
    [
      'refuses a closing quote that is escaped',
      String.raw`a="b\"`,
      'the quoted value has no closing quote',
    ],
    [
      'refuses text after the closing quote',
      'a="b"c',
      'unexpected text after the closing quote: "c"',
    ],
    [
      'refuses spaces in an unquoted value',
      'a=b c',
      `put the value in double quotes when it holds spaces or any of " ' \\ , { }`,
    ],
    [
      'refuses a comma in an unquoted value',
      'a=b,c=d',
      `put the value in double quotes when it holds spaces or any of " ' \\ , { }`,
    ],
    [
      'refuses a regex that does not compile',
      'a=~"(x"',
      'invalid regular expression "(x" (Unterminated group)',
    ],
  ];
  it.each(bad)('%s: %s', (_name, text, why) => {
    expect(() => parseMatcher(text)).toThrow(
      new SilenceValidationError(`matcher ${JSON.stringify(text)}: ${why}`),
    );
  });

  it('reads back what formatMatcher wrote', () => {
    const matchers = [
      m('alertname', '=', 'HostDown'),
      m('msg', '!=', 'say "hi" \\ bye\nnext line'),
      m('path', '=~', '/api/\\d+|/v2/.*'),
      m('team', '=', ''),
    ];
    for (const matcher of matchers) expect(parseMatcher(formatMatcher(matcher))).toEqual(matcher);
    expect(formatMatchers(matchers)).toBe(
      String.raw`{alertname="HostDown", msg!="say \"hi\" \\ bye\nnext line", path=~"/api/\\d+|/v2/.*", team=""}`,
    );
  });
});

function m(label: string, op: Matcher['op'], value: string): Matcher {
  return { label, op, value };
}
