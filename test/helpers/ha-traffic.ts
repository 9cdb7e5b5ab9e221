// Traffic for the HA stack while its agents collect: HTTP through haproxy (with 404s and 5xx) and
// to the app, redis hits and misses, postgres commits and rollbacks, JetStream messages.

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import pg from 'pg';
import { redisCommand } from './data-servers.ts';

export interface TrafficTargets {
  /** haproxy's frontend, http://127.0.0.1:PORT */
  frontend: string;
  /** The app server, http://127.0.0.1:PORT */
  app: string;
  redis: { port: number; password: string };
  postgres: { socketDir: string; port: number };
  /** The bus, nats://127.0.0.1:PORT */
  nats: string;
}

/** Requests of one round through haproxy: mostly 200s, a 404 and a 500, a 503 every other. */
const FRONTEND_PATHS = ['/', '/', '/api/orders', '/api/orders', '/missing', '/boom'];
const APP_PATHS = ['/', '/', '/', '/missing', '/fail'];

async function get(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
}

/** Runs rounds of every kind of traffic, one every roundMs, for `seconds`. */
export async function runTraffic(
  targets: TrafficTargets,
  seconds: number,
  roundMs = 250,
): Promise<{ rounds: number }> {
  const db = new pg.Client({
    host: targets.postgres.socketDir,
    port: targets.postgres.port,
    user: 'postgres',
    database: 'shop',
  });
  await db.connect();
  const nc = await natsConnect({ servers: targets.nats });
  try {
    await db.query('CREATE TABLE IF NOT EXISTS orders (id int, at timestamptz DEFAULT now())');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], max_msgs: 10_000 });
    const js = jetstream(nc);
    const end = Date.now() + seconds * 1000;
    let rounds = 0;
    while (Date.now() < end) {
      const began = Date.now();
      const paths = rounds % 2 === 0 ? [...FRONTEND_PATHS, '/unavailable'] : FRONTEND_PATHS;
      const { port, password } = targets.redis;
      await Promise.all([
        ...paths.map((path) => get(`${targets.frontend}${path}`)),
        ...APP_PATHS.map((path) => get(`${targets.app}${path}`)),
        redisCommand(
          port,
          ['AUTH', password],
          ['SET', `order:${rounds}`, String(rounds), 'EX', '3600'],
          ['GET', `order:${rounds}`],
          ['GET', 'order:0'],
          ['GET', `missing:${rounds}`],
        ),
        (async () => {
          await db.query('INSERT INTO orders (id) VALUES ($1)', [rounds]);
          await db.query('BEGIN');
          await db.query('INSERT INTO orders (id) VALUES ($1)', [-rounds]);
          await db.query('ROLLBACK');
        })(),
        ...[1, 2, 3].map((n) => js.publish(`orders.new`, `order ${rounds}.${n}`)),
      ]);
      rounds++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, roundMs - (Date.now() - began))),
      );
    }
    return { rounds };
  } finally {
    await db.end();
    await nc.drain();
  }
}
