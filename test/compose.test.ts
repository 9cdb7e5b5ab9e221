// compose/: every compose file passes `docker-compose config`, every Halo config in it loads, and
// its NATS config runs as a real three-node JetStream cluster on loopback with per-role users.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Lease } from '../alerter/ha/lease.ts';
import { SilenceStore } from '../alerter/silence/index.ts';
import { expandFiles, loadSlos } from '../alerter/slo/load.ts';
import { haloConfigSchema, type FullConfig } from '../cli/config-schema.ts';
import { loadRules } from '../cli/rules.ts';
import { Ingester } from '../collector/ingest/ingester.ts';
import { expandTemplate, placeholders } from '../compose/halo/env-config.ts';
import { replicateAlerterBuckets, SILENCES_BUCKET } from '../compose/halo/nats-buckets.ts';
import { encodeBatch } from '../core/batch.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { metricsSubject, STREAMS } from '../core/conventions.ts';
import { loadConfig } from '../core/config/load.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { metricBatch } from './helpers/batches.ts';
import { freePort } from './helpers/ports.ts';
import { startProcess, type Started } from './helpers/process.ts';
import { openTestStore } from './helpers/store.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

const COMPOSE = resolve(import.meta.dirname, '../compose');
const ENV_EXAMPLE = join(COMPOSE, '.env.example');
const logger = silentLogger();

/** compose/.env.example as docker-compose reads it: KEY=VALUE lines, # comments. */
function envExample(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}
const secrets = envExample();

function dockerCompose(args: string[]): { status: number; stdout: string; stderr: string } {
  const run = spawnSync('docker-compose', args, { cwd: COMPOSE, encoding: 'utf8', env: {} });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      "docker-compose is not installed: apt-get install docker-compose (Debian's package; `docker-compose config` needs no engine)",
    );
  }
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

const composeFiles = readdirSync(COMPOSE).filter((f) => /^docker-compose.*\.ya?ml$/.test(f));

/** Images as the house rules pin them: a major (or major.minor) version, never latest. */
const PINNED = [
  /^clickhouse\/clickhouse-server:2[45]\.\d+$/,
  /^clickhouse\/clickhouse-keeper:2[45]\.\d+$/,
  /^nats:2\.10-alpine$/,
  /^grafana\/grafana:11\.\d+\.\d+$/,
  /^haproxy:2\.8$/,
  /^nginx:1\.27$/,
  /^redis:7$/,
  /^postgres:16$/,
  /^halo:local$/,
];

interface ComposeService {
  image?: string;
  restart?: string;
  mem_limit?: string | number;
  cpus?: number;
  healthcheck?: unknown;
  volumes?: string[];
}

describe('the compose files', () => {
  it('finds the cluster and the example stack', () => {
    expect(composeFiles).toEqual(['docker-compose.example.yml', 'docker-compose.yml']);
  });

  it.each(composeFiles)('%s passes docker-compose config with .env.example', (file) => {
    const run = dockerCompose(['--env-file', ENV_EXAMPLE, '-f', file, 'config', '-q']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(composeFiles)('%s refuses to run with a secret missing, naming it', (file) => {
    const empty = join(tempDir('halo-compose-env-'), '.env');
    writeFileSync(empty, '');
    const run = dockerCompose(['--env-file', empty, '-f', file, 'config', '-q']);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('see .env.example');
  });

  it.each(composeFiles)(
    '%s pins its images, limits and restarts every service, and mounts files read-only',
    (file) => {
      const run = dockerCompose(['--env-file', ENV_EXAMPLE, '-f', file, 'config']);
      const { services } = parse(run.stdout) as { services: Record<string, ComposeService> };
      for (const [name, service] of Object.entries(services)) {
        expect(
          PINNED.some((p) => p.test(service.image ?? '')),
          `${name}: ${service.image}`,
        ).toBe(true);
        expect(service.restart, name).toMatch(/^(unless-stopped|on-failure|no)$/);
        expect(service.mem_limit, name).toBeDefined();
        expect(service.cpus, name).toBeGreaterThan(0);
        if (service.restart === 'unless-stopped') expect(service.healthcheck, name).toBeDefined();
        for (const volume of service.volumes ?? []) {
          // A host path is a config file or folder of compose/, read-only; data is in named volumes.
          if (volume.startsWith('/')) expect(volume, name).toMatch(/:ro$/);
        }
      }
    },
  );

  it('lists every secret the compose files use in .env.example', () => {
    const used = new Set<string>();
    for (const file of composeFiles) {
      const text = readFileSync(join(COMPOSE, file), 'utf8');
      for (const m of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)) used.add(m[1]!);
    }
    expect([...used].filter((name) => !(name in secrets))).toEqual([]);
    for (const [name, value] of Object.entries(secrets)) {
      // Placeholders, never a real secret; and values nats.conf reads as text, not as a number.
      expect(value, name).toMatch(/^change-me-[a-z-]+$/);
    }
  });
});

describe('the Halo configs of compose', () => {
  /** The environment compose gives each role: its own passwords under Halo's variable names. */
  const roleEnv = (clickhouse: string | undefined, nats: string | undefined) => ({
    ...(clickhouse ? { HALO_CLICKHOUSE_PASSWORD: secrets[clickhouse] } : {}),
    ...(nats ? { HALO_NATS_PASSWORD: secrets[nats] } : {}),
    HALO_API_WRITE_TOKEN: secrets['HALO_API_WRITE_TOKEN'],
    HALO_API_READ_TOKEN: secrets['HALO_API_READ_TOKEN'],
    HALO_INTAKE_TOKEN: secrets['HALO_INTAKE_TOKEN'],
  });

  const alerterEnv = roleEnv('CLICKHOUSE_HALO_ALERTER_PASSWORD', 'NATS_ALERTER_PASSWORD');
  const ingesterEnv = roleEnv('CLICKHOUSE_HALO_INGESTER_PASSWORD', 'NATS_INGESTER_PASSWORD');

  const load = (file: string, env: Record<string, string | undefined>): FullConfig => {
    const dir = tempDir('halo-compose-config-');
    const rendered = join(dir, 'halo.yaml');
    writeFileSync(rendered, expandTemplate(readFileSync(file, 'utf8'), env));
    return loadConfig({ schema: haloConfigSchema, path: rendered, env }).config;
  };

  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['halo/ingester.yaml', 'CLICKHOUSE_HALO_INGESTER_PASSWORD', 'NATS_INGESTER_PASSWORD'],
    ['halo/alerter.yaml', 'CLICKHOUSE_HALO_ALERTER_PASSWORD', 'NATS_ALERTER_PASSWORD'],
    ['halo/migrate.yaml', 'CLICKHOUSE_HALO_ADMIN_PASSWORD', undefined],
    ['halo/agent-mq.yaml', undefined, 'NATS_AGENT_MQ_PASSWORD'],
    ...readdirSync(join(COMPOSE, 'example/agents')).map((f): [string, undefined, string] => [
      `example/agents/${f}`,
      undefined,
      `NATS_AGENT_${f.replace(/-\d+\.yaml$/, '').toUpperCase()}_PASSWORD`,
    ]),
  ];

  it.each(cases)('%s loads as halo would load it in its container', (file, ch, nats) => {
    const config = load(join(COMPOSE, file), roleEnv(ch, nats));
    if (ch) {
      expect(config.clickhouse.url).toBe('http://clickhouse-lb:8123');
      expect(config.clickhouse.cluster).toBe('halo');
      expect(config.clickhouse.password?.reveal()).toBe(secrets[ch]);
    }
    if (nats) {
      expect(config.nats.url).toBe('nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222');
      expect(config.nats.password?.reveal()).toBe(secrets[nats]);
      // Each tier's agent publishes as that tier's NATS user.
      if (config.agent) expect(config.nats.user).toBe(`agent_${config.agent.tier}`);
    }
  });

  it('fills the alerter template from the environment, refusing what is missing or unsafe', () => {
    const template = readFileSync(join(COMPOSE, 'halo/alerter.yaml'), 'utf8');
    expect(placeholders(template).sort()).toEqual(['HALO_API_READ_TOKEN', 'HALO_API_WRITE_TOKEN']);
    const config = load(join(COMPOSE, 'halo/alerter.yaml'), alerterEnv);
    expect(config.api.tokens.map((t) => [t.name, t.scope, t.token.reveal()])).toEqual([
      ['oncall', 'write', secrets['HALO_API_WRITE_TOKEN']],
      ['viewer', 'read', secrets['HALO_API_READ_TOKEN']],
    ]);
    expect(() => expandTemplate(template, { HALO_API_WRITE_TOKEN: 'x' })).toThrow(
      '${HALO_API_READ_TOKEN}: neither HALO_API_READ_TOKEN nor HALO_API_READ_TOKEN_FILE is set',
    );
    const unsafe = expandTemplate.bind(null, template, {
      HALO_API_WRITE_TOKEN: "it's",
      HALO_API_READ_TOKEN: 'x',
    });
    expect(unsafe).toThrow('${HALO_API_WRITE_TOKEN}: expected letters');
    expect(unsafe).not.toThrow("it's");
  });

  it("loads the example stack's SLOs and rules the alerters read", () => {
    const { slos } = loadSlos(expandFiles([join(COMPOSE, 'halo/slos.yaml')]));
    expect(slos.map((s) => s.name)).toEqual([
      'front-door-availability',
      'shop-latency',
      'shop-log-availability',
    ]);
    expect(loadRules([join(COMPOSE, 'halo/rules.yaml')]).length).toBeGreaterThanOrEqual(5);
  });

  it('names the consumer and the lease bucket nats.conf grants', () => {
    const nats = readFileSync(join(COMPOSE, 'nats/nats.conf'), 'utf8');
    const ingest = load(join(COMPOSE, 'halo/ingester.yaml'), ingesterEnv).ingest.consumer;
    const lease = load(join(COMPOSE, 'halo/alerter.yaml'), alerterEnv).alerter.lease.bucket;
    for (const stream of [STREAMS.metrics, STREAMS.logs]) {
      expect(nats).toContain(`"$JS.API.CONSUMER.MSG.NEXT.${stream}.${ingest}"`);
    }
    expect(nats).toContain(`"$KV.${lease}.>"`);
    expect(nats).toContain(`"$KV.${SILENCES_BUCKET}.>"`);
  });

  it('ships haproxy and nginx configs the real servers accept', () => {
    for (const file of [
      'clickhouse/haproxy.cfg',
      'halo/intake-haproxy.cfg',
      'example/haproxy.cfg',
    ]) {
      const run = spawnSync('haproxy', ['-c', '-f', join(COMPOSE, file)], { encoding: 'utf8' });
      expect(run.status, `${file}: ${run.stderr}`).toBe(0);
    }
    // nginx -t opens the log and pid files: a copy with those under a temp dir.
    const dir = tempDir('halo-compose-nginx-');
    const conf = readFileSync(join(COMPOSE, 'example/nginx.conf'), 'utf8')
      .replace('/var/log/halo-nginx', dir)
      .replace('error_log /dev/stderr', `error_log ${join(dir, 'error.log')}`)
      .replace('/tmp/nginx.pid', join(dir, 'nginx.pid'));
    writeFileSync(join(dir, 'nginx.conf'), conf);
    const run = spawnSync(
      'nginx',
      ['-t', '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'e.log')],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// compose/nats/nats.conf, three times, on loopback: only the ports and the store dir rewritten.

interface Node {
  name: string;
  client: number;
  monitor: number;
  route: number;
  process?: Started;
}

const nodes: Node[] = [];
let servers: string;

/** The shipped config with its ports and store dir moved; each rewrite must hit exactly once. */
function localConfig(node: Node, dir: string): string {
  let text = readFileSync(join(COMPOSE, 'nats/nats.conf'), 'utf8');
  const rewrite = (from: string, to: string) => {
    expect(text.split(from).length - 1, from).toBe(1);
    text = text.replace(from, to);
  };
  rewrite('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${node.client}`);
  rewrite('http: 0.0.0.0:8222', `http: 127.0.0.1:${node.monitor}`);
  rewrite('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${node.route}`);
  rewrite('store_dir: /data', `store_dir: ${join(dir, 'store')}`);
  return text;
}

async function monitor<T>(node: Node, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${node.monitor}${path}`);
  return (await res.json()) as T;
}

const connections: NatsConnection[] = [];
/** A connection as a compose user, with that user's password from .env.example. */
async function connectAs(user: string, passwordVar: string, raw: Record<string, unknown> = {}) {
  const config = loadConfig({
    schema: haloConfigSchema,
    env: {},
    defaults: {
      ...raw,
      nats: {
        url: servers,
        user,
        password: secrets[passwordVar],
        ...(raw['nats'] as object | undefined),
      },
    },
  }).config;
  const nc = await connectBus({ config, logger });
  connections.push(nc);
  return { nc, config };
}

beforeAll(async () => {
  for (const name of ['nats-1', 'nats-2', 'nats-3']) {
    nodes.push({
      name,
      client: await freePort(),
      monitor: await freePort(),
      route: await freePort(),
    });
  }
  servers = nodes.map((n) => `nats://127.0.0.1:${n.client}`).join(',');
  const routes = Object.fromEntries(
    nodes.map((n, i) => [
      `NATS_ROUTE_${i + 1}`,
      `nats-route://route:${secrets['NATS_ROUTE_PASSWORD']}@127.0.0.1:${n.route}`,
    ]),
  );
  await Promise.all(
    nodes.map(async (node) => {
      const dir = tempDir(`halo-${node.name}-`);
      writeFileSync(join(dir, 'nats.conf'), localConfig(node, dir));
      node.process = await startProcess(
        process.env['NATS_SERVER_BIN'] ?? 'nats-server',
        ['-c', join(dir, 'nats.conf')],
        {
          env: { PATH: process.env['PATH'], ...secrets, ...routes, NATS_SERVER_NAME: node.name },
          ready: /Server is ready/,
        },
      );
    }),
  );
});

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.process?.stop()));
});

describe("compose's NATS cluster", () => {
  it('forms a three-node JetStream cluster with a meta leader', async () => {
    for (const node of nodes) {
      await until(
        async () => (await monitor<{ num_routes: number }>(node, '/routez')).num_routes >= 2,
        `${node.name} routed to the other two`,
      );
    }
    await until(async () => {
      const jsz = await monitor<{ meta_cluster?: { leader?: string; cluster_size?: number } }>(
        nodes[0]!,
        '/jsz',
      );
      return jsz.meta_cluster?.cluster_size === 3 && (jsz.meta_cluster.leader ?? '') !== '';
    }, 'a JetStream meta leader of three');
  });

  it("creates Halo's streams at three replicas as the ingester, with ensureStreams", async () => {
    const { nc, config } = await connectAs('ingester', 'NATS_INGESTER_PASSWORD', {
      nats: { streams: { replicas: 3 } },
    });
    await until(
      async () => Object.values(await ensureStreams(nc, config, logger)).length === 3,
      'the streams',
    );
    const jsm = await jetstreamManager(nc);
    for (const name of Object.values(STREAMS)) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas, name).toBe(3);
      expect(info.cluster?.replicas, name).toHaveLength(2);
    }
  });

  it("takes a web agent's batch (once) through the R3 stream, and the ingester stores it", async () => {
    const { nc: agent } = await connectAs('agent_web', 'NATS_AGENT_WEB_PASSWORD');
    const batch = metricBatch('compose-web-1', {
      tier: 'web',
      host: 'web-1',
      series: 3,
      points: 4,
      start: Date.now() - 60_000,
    });
    const js = jetstream(agent);
    const subject = metricsSubject('web', 'web-1');
    const first = await js.publish(subject, encodeBatch(batch), { msgID: batch.id });
    expect(first).toMatchObject({ stream: STREAMS.metrics, duplicate: false });
    const again = await js.publish(subject, encodeBatch(batch), { msgID: batch.id });
    expect(again).toMatchObject({ stream: STREAMS.metrics, seq: first.seq, duplicate: true });

    const { nc } = await connectAs('ingester', 'NATS_INGESTER_PASSWORD');
    let store: Store | undefined;
    let ingester: Ingester | undefined;
    try {
      ({ store } = await openTestStore());
      const { ingest } = loadConfig({
        schema: haloConfigSchema,
        path: join(COMPOSE, 'halo/ingester.yaml'),
        env: { HALO_NATS_PASSWORD: secrets['NATS_INGESTER_PASSWORD'] },
      }).config;
      ingester = new Ingester({ nc, store, config: ingest, logger, registry: new Registry() });
      await ingester.start();
      const s = store;
      await until(async () => {
        const [row] = await s.query<{ n: string }>(
          sql`SELECT count() AS n FROM ${ident(s.table('samples'))}`,
        );
        return Number(row?.n) === 12;
      }, 'the 12 samples in ClickHouse');
      const running = ingester;
      await until(
        async () => (await running.pending())[STREAMS.metrics] === 0,
        'the batch acked after its insert',
      );
    } finally {
      await ingester?.stop(2000);
      await store?.close();
    }
  });

  it.each([
    [
      'a web agent on a db-tier subject',
      'agent_web',
      'NATS_AGENT_WEB_PASSWORD',
      metricsSubject('db', 'db-1'),
    ],
    [
      'a web agent on web logs of another root',
      'agent_web',
      'NATS_AGENT_WEB_PASSWORD',
      'halo.dead.metrics',
    ],
    [
      'a db agent on a web-tier subject',
      'agent_db',
      'NATS_AGENT_DB_PASSWORD',
      'halo.logs.web.web-1',
    ],
    [
      'a web agent on the JetStream API',
      'agent_web',
      'NATS_AGENT_WEB_PASSWORD',
      '$JS.API.STREAM.DELETE.HALO_METRICS',
    ],
    [
      'the ingester on the lease bucket',
      'ingester',
      'NATS_INGESTER_PASSWORD',
      '$KV.halo_alerter_lease.leader',
    ],
    [
      'the alerter deleting a stream',
      'alerter',
      'NATS_ALERTER_PASSWORD',
      '$JS.API.STREAM.DELETE.HALO_METRICS',
    ],
  ])('refuses %s (permissions violation)', async (_what, user, password, subject) => {
    const { nc } = await connectAs(user, password);
    const err = await nc.request(subject, new TextEncoder().encode('{}'), { timeout: 3000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`Permissions Violation for Publish to "${subject}"`);
  });

  it("lets the ingester user publish the HTTP intake's batches to any tier", async () => {
    const { nc } = await connectAs('ingester', 'NATS_INGESTER_PASSWORD');
    const ack = await jetstream(nc).publish(
      'halo.metrics.external.intake-host',
      encodeBatch(
        metricBatch('compose-intake-1', {
          host: 'intake-host',
          tier: 'external',
          series: 1,
          points: 1,
          start: Date.now(),
        }),
      ),
      { msgID: 'compose-intake-1' },
    );
    expect(ack.stream).toBe('HALO_METRICS');
  });

  it('refuses an agent that subscribes to the batches of others', async () => {
    const { nc } = await connectAs('agent_web', 'NATS_AGENT_WEB_PASSWORD');
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
    })();
    nc.subscribe('halo.metrics.>');
    await nc.flush();
    await until(async () => errors.length > 0, 'the server to refuse the subscription');
    expect(errors[0]).toContain('Permissions Violation for Subscription to "halo.metrics.>"');
  });

  it("makes the alerters' KV buckets at three replicas; `halo alert` binds to them and leads", async () => {
    const template = readFileSync(join(COMPOSE, 'halo/alerter.yaml'), 'utf8');
    const dir = tempDir('halo-compose-alerter-');
    writeFileSync(join(dir, 'alerter.yaml'), expandTemplate(template, secrets));
    const { config: alerterConfig } = loadConfig({
      schema: haloConfigSchema,
      path: join(dir, 'alerter.yaml'),
      env: { HALO_NATS_PASSWORD: secrets['NATS_ALERTER_PASSWORD'] },
    });
    const { nc } = await connectAs('alerter', 'NATS_ALERTER_PASSWORD');
    const states = await replicateAlerterBuckets({ nc, config: alerterConfig, logger });
    expect(states).toEqual([
      { bucket: 'halo_alerter_lease', replicas: 3, action: 'ready' },
      { bucket: SILENCES_BUCKET, replicas: 3, action: 'ready' },
    ]);
    // As cli/alert.ts opens them: without replicas, bound to what exists.
    const lease = await Lease.open({
      nc,
      bucket: alerterConfig.alerter.lease.bucket,
      ttlMs: alerterConfig.alerter.lease.ttl.ms,
      holder: 'alerter-1',
      logger,
    });
    lease.start();
    await until(async () => lease.leading, 'alerter-1 to lead');
    await lease.stop();
    const silences = await SilenceStore.open({ nc, logger });
    const now = Date.now();
    const created = await silences.create(
      {
        matchers: [{ label: 'alertname', op: '=', value: 'web-redundancy' }],
        endsAt: now + 3_600_000,
        createdBy: 'compose test',
        comment: 'drill',
      },
      now,
    );
    expect((await silences.expire(created.id, now + 1000)).state).toBe('expired');
    // Expired silences are purged after their retention, which the alerter user may do too.
    expect(await silences.prune(now + 31 * 86_400_000)).toEqual([created.id]);
    await silences.close();
    const jsm = await jetstreamManager(nc);
    for (const bucket of [alerterConfig.alerter.lease.bucket, SILENCES_BUCKET]) {
      expect((await jsm.streams.info(`KV_${bucket}`)).config.num_replicas, bucket).toBe(3);
    }
  });
});
