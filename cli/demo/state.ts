// The simulated members of the demo stack and the counters each one keeps, as plain data: the
// traffic model writes them, the format renderers read them.

import { Counter, Histogram, Registry } from 'prom-client';

export const MODES = ['healthy', 'errors', 'down'] as const;
export type Mode = (typeof MODES)[number];
export type Kind = 'haproxy' | 'nginx' | 'app' | 'redis' | 'postgres' | 'nats';

export interface MemberSpec {
  host: string;
  tier: string;
  service: string;
  kind: Kind;
}

/** Who is in the demo stack: host name, tier, the service its sources report, what it runs. */
export const MEMBER_SPECS: readonly MemberSpec[] = [
  { host: 'lb-1', tier: 'lb', service: 'haproxy', kind: 'haproxy' },
  { host: 'web-1', tier: 'web', service: 'nginx', kind: 'nginx' },
  { host: 'web-2', tier: 'web', service: 'nginx', kind: 'nginx' },
  { host: 'app-1', tier: 'app', service: 'shop', kind: 'app' },
  { host: 'cache-1', tier: 'cache', service: 'redis', kind: 'redis' },
  { host: 'db-1', tier: 'db', service: 'postgres', kind: 'postgres' },
  { host: 'mq-1', tier: 'mq', service: 'nats', kind: 'nats' },
];

export const WEB_HOSTS = MEMBER_SPECS.filter((m) => m.kind === 'nginx').map((m) => m.host);

// ------------------------------------------------------------------------------------ haproxy

export const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
export type ResponseClass = (typeof RESPONSE_CLASSES)[number];

/** What haproxy counts for a frontend, a backend and a server alike. */
export interface ProxyCounters {
  stot: number;
  bin: number;
  bout: number;
  reqTot: number;
  hrsp: Record<ResponseClass, number>;
  /** Sessions open now, and the most seen. */
  scur: number;
  smax: number;
  /** Sessions per second over the last tick, and the most seen. */
  rate: number;
  rateMax: number;
  /** Averages in ms over recent requests, as haproxy reports them (its window is 1024). */
  qtime: number;
  ctime: number;
  rtime: number;
  ttime: number;
  /** Time of the last session, for `lastsess` (-1 before any). */
  lastSessionAt: number | undefined;
}

/** Up/down bookkeeping of a server or a backend. */
export interface Availability {
  status: 'UP' | 'DOWN';
  /** Transitions to DOWN. */
  chkdown: number;
  lastChangeAt: number;
  downtimeMs: number;
}

export interface HaproxyServer extends ProxyCounters, Availability {
  name: string;
  /** Failed checks while the server was up: haproxy counts `fall` of them per transition. */
  chkfail: number;
  checkStatus: 'L7OK' | 'L4CON';
  checkDurationMs: number;
  /** Times the load balancer picked this server. */
  lbtot: number;
}

export interface HaproxyState {
  frontendName: string;
  backendName: string;
  frontend: ProxyCounters;
  backend: ProxyCounters & Availability;
  servers: HaproxyServer[];
}

/** How many failed checks take a server DOWN (haproxy's `fall`), and how many bring it back. */
export const CHECK_FALL = 3;
export const CHECK_RISE = 2;

export function proxyCounters(): ProxyCounters {
  return {
    stot: 0,
    bin: 0,
    bout: 0,
    reqTot: 0,
    hrsp: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
    scur: 0,
    smax: 0,
    rate: 0,
    rateMax: 0,
    qtime: 0,
    ctime: 0,
    rtime: 0,
    ttime: 0,
    lastSessionAt: undefined,
  };
}

export function haproxyState(servers: readonly string[], now: number): HaproxyState {
  const up = (): Availability => ({ status: 'UP', chkdown: 0, lastChangeAt: now, downtimeMs: 0 });
  return {
    frontendName: 'www',
    backendName: 'web',
    frontend: proxyCounters(),
    backend: { ...proxyCounters(), ...up() },
    servers: servers.map((name) => ({
      ...proxyCounters(),
      ...up(),
      name,
      chkfail: 0,
      checkStatus: 'L7OK',
      checkDurationMs: 1,
      lbtot: 0,
    })),
  };
}

// -------------------------------------------------------------------------------------- nginx

export interface NginxState {
  accepted: number;
  handled: number;
  requests: number;
  active: number;
  reading: number;
  writing: number;
  waiting: number;
}

export const nginxState = (): NginxState => ({
  accepted: 0,
  handled: 0,
  requests: 0,
  active: 1,
  reading: 0,
  writing: 1,
  waiting: 0,
});

// ---------------------------------------------------------------------------------------- app

export interface AppState {
  registry: Registry;
  requests: Counter<'method' | 'code' | 'route'>;
  duration: Histogram<'method' | 'route'>;
}

/** The app's own instrumentation, as a Node service using prom-client would expose it. */
export function appState(): AppState {
  const registry = new Registry();
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'Requests answered, by method, status code and route.',
      labelNames: ['method', 'code', 'route'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer a request, by method and route.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

// -------------------------------------------------------------------------------------- redis

export interface RedisState {
  startedAt: number;
  port: number;
  keys: number;
  expires: number;
  maxmemory: number;
  hits: number;
  misses: number;
  expired: number;
  evicted: number;
  commands: number;
  connectionsReceived: number;
  connectedClients: number;
  netIn: number;
  netOut: number;
  opsPerSec: number;
  errorReplies: number;
  changesSinceSave: number;
  lastSaveAt: number;
  saves: number;
  cpuSeconds: number;
}

export const redisState = (now: number): RedisState => ({
  startedAt: now,
  port: 0,
  keys: 4_000,
  expires: 3_900,
  maxmemory: 256 * 1024 * 1024,
  hits: 0,
  misses: 0,
  expired: 0,
  evicted: 0,
  commands: 0,
  connectionsReceived: 8,
  connectedClients: 8,
  netIn: 0,
  netOut: 0,
  opsPerSec: 0,
  errorReplies: 0,
  changesSinceSave: 0,
  lastSaveAt: now,
  saves: 0,
  cpuSeconds: 0,
});

// ----------------------------------------------------------------------------------- postgres

export interface DatabaseCounters {
  xact_commit: number;
  xact_rollback: number;
  deadlocks: number;
  conflicts: number;
  temp_bytes: number;
  temp_files: number;
  blks_read: number;
  blks_hit: number;
  tup_returned: number;
  tup_fetched: number;
  tup_inserted: number;
  tup_updated: number;
  tup_deleted: number;
  size_bytes: number;
}

export interface PostgresState {
  maxConnections: number;
  /** The app's connection pool on database shop. */
  poolSize: number;
  active: number;
  idleInTransaction: number;
  databases: Record<'postgres' | 'shop', DatabaseCounters>;
}

const database = (size: number): DatabaseCounters => ({
  xact_commit: 0,
  xact_rollback: 0,
  deadlocks: 0,
  conflicts: 0,
  temp_bytes: 0,
  temp_files: 0,
  blks_read: 0,
  blks_hit: 0,
  tup_returned: 0,
  tup_fetched: 0,
  tup_inserted: 0,
  tup_updated: 0,
  tup_deleted: 0,
  size_bytes: size,
});

export const postgresState = (): PostgresState => ({
  maxConnections: 100,
  poolSize: 10,
  active: 0,
  idleInTransaction: 0,
  databases: { postgres: database(7_631_663), shop: database(48 * 1024 * 1024) },
});

// --------------------------------------------------------------------------------------- nats

export interface NatsState {
  startedAt: number;
  serverName: string;
  serverId: string;
  connections: number;
  totalConnections: number;
  subscriptions: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  slowConsumers: number;
  memBytes: number;
  cpuPercent: number;
  apiTotal: number;
  apiErrors: number;
  /** A work-queue stream: a message is removed once the consumer acknowledges it. */
  stream: {
    name: string;
    createdAt: number;
    lastSeq: number;
    /** When the oldest message still held was stored, and the newest. */
    firstTs: number;
    lastTs: number;
  };
  consumer: {
    name: string;
    createdAt: number;
    /** Stream sequence delivered up to, and acknowledged up to. */
    delivered: number;
    ackFloor: number;
    redelivered: number;
    /** Pull requests waiting for messages. */
    waiting: number;
  };
}

export const natsState = (now: number): NatsState => ({
  startedAt: now,
  serverName: 'mq-1',
  serverId: 'NDEMO7HALOMQ1SIMULATEDSERVERQ5M3ZC7ORDERSSTREAM2XJQ4E5KWY',
  connections: 3,
  totalConnections: 3,
  subscriptions: 48,
  inMsgs: 0,
  outMsgs: 0,
  inBytes: 0,
  outBytes: 0,
  slowConsumers: 0,
  memBytes: 14_200_000,
  cpuPercent: 0.5,
  apiTotal: 4,
  apiErrors: 0,
  stream: { name: 'ORDERS', createdAt: now, lastSeq: 0, firstTs: 0, lastTs: 0 },
  consumer: {
    name: 'fulfilment',
    createdAt: now,
    delivered: 0,
    ackFloor: 0,
    redelivered: 0,
    waiting: 1,
  },
});

/** Bytes a stored order message takes in the stream (subject, headers, payload). */
export const ORDER_MESSAGE_BYTES = 412;
