// The shop app behind the web servers: each request's route, its cache, database and queue
// work, and the counters that work advances on app-1, cache-1, db-1 and mq-1.

import { appLogLine } from './formats.ts';
import type { Random } from './random.ts';
import { ROUTES, type RouteSpec } from './routes.ts';
import {
  ORDER_MESSAGE_BYTES,
  type AppState,
  type Mode,
  type NatsState,
  type PostgresState,
  type RedisState,
} from './state.ts';

const WEIGHTED = ROUTES.map((value) => ({ value, weight: value.weight }));

/** Unexpected 500s of a healthy app (~0.05 %). */
export const FAULT_RATE = 0.0005;
const CACHE_HIT_RATE = 0.9;
/** Cached keys live this long, so the key count settles. */
const KEY_TTL_MS = 3_600_000;
/** Orders the fulfilment worker takes off the queue per second at most. */
const CONSUMER_RATE = 30;

export interface ShopRequest {
  spec: RouteSpec;
  path: string;
  bytesIn: number;
}

export interface Outcome {
  status: number;
  /** Time to answer, in seconds. */
  seconds: number;
  bytes: number;
}

export interface ShopState {
  app: AppState;
  redis: RedisState;
  postgres: PostgresState;
  nats: NatsState;
}

type Downstream = 'ok' | 'unavailable' | 'error';

export class Shop {
  /** Work done since the last settle, for the gauges. */
  #dbSeconds = 0;
  #cacheOps = 0;

  constructor(
    private readonly random: Random,
    private readonly state: ShopState,
    private readonly mode: (host: string) => Mode,
    private readonly log: (line: string) => void,
  ) {}

  request(): ShopRequest {
    const spec = this.random.weighted(WEIGHTED);
    const bytesIn =
      spec.method === 'POST' ? this.random.int(600, 1_400) : this.random.int(350, 700);
    return { spec, path: spec.path(this.random), bytesIn };
  }

  /** Serves one request; undefined when the app is down (the web server answers 502 then). */
  handle(req: ShopRequest, at: number): Outcome | undefined {
    const mode = this.mode('app-1');
    if (mode === 'down') return undefined;
    const r = this.random;
    const { spec } = req;
    let status = spec.okStatus;
    let seconds = r.skewed(0.04, 0.3);
    let error: string | undefined;
    let cache: string | undefined;
    if (mode === 'errors') {
      status = 500;
      seconds = r.skewed(0.006, 0.04);
      error = "TypeError: Cannot read properties of undefined (reading 'price')";
    } else {
      const clientError = r.chance(spec.clientError.rate) ? spec.clientError.status : undefined;
      const fault = r.chance(FAULT_RATE);
      if (clientError === 401 || clientError === 400) {
        status = clientError;
        seconds = r.skewed(0.004, 0.03);
      } else {
        let readDb = spec.db === 'read';
        if (spec.cached) {
          cache = this.#cacheGet();
          readDb ||= cache !== 'hit';
        }
        let published: Downstream = 'ok';
        if (spec.publish && clientError === undefined && !fault) published = this.#publish(at);
        const rollback = clientError === 409 || fault || published !== 'ok';
        let db: Downstream = 'ok';
        if (spec.db === 'write') db = this.#db('write', !rollback);
        else if (readDb) db = this.#db('read', !fault);
        if (db === 'ok' && readDb && cache === 'miss') this.#cacheSet();
        if (db === 'ok' && spec.db === 'write' && !rollback) {
          if (spec.publish) this.#cacheDel();
          else this.#cacheSet();
        }
        if (db === 'unavailable') {
          [status, error] = [503, 'database unavailable: connect ECONNREFUSED db-1:5432'];
        } else if (db === 'error') {
          [status, error] = [500, 'database error: could not extend file: No space left on device'];
        } else if (published === 'unavailable') {
          [status, error] = [503, 'publish order: nats: no responders available for request'];
        } else if (published === 'error') {
          [status, error] = [500, 'publish order: nats: insufficient resources'];
        } else if (fault) {
          [status, error] = [500, 'upstream request timeout: payments'];
        } else if (clientError !== undefined) status = clientError;
        if (db !== 'ok' || published !== 'ok') seconds = r.skewed(0.003, 0.02);
        if (readDb && db === 'ok') seconds += 0.004;
      }
    }
    const bytes = status < 400 ? r.int(spec.bytes[0], spec.bytes[1]) : r.int(60, 140);
    const method = spec.method;
    this.state.app.requests.inc({ method, code: String(status), route: spec.route });
    this.state.app.duration.observe({ method, route: spec.route }, seconds);
    this.log(
      appLogLine({
        ts: at + seconds * 1000,
        method,
        path: req.path,
        route: spec.route,
        status,
        duration: seconds,
        traceId: r.hex(16),
        ...(error !== undefined ? { error } : {}),
        ...(cache !== undefined ? { cache } : {}),
      }),
    );
    return { status, seconds, bytes };
  }

  // ------------------------------------------------------------------------------ cache-1

  #cacheGet(): 'hit' | 'miss' | 'unavailable' | 'error' {
    const mode = this.mode('cache-1');
    if (mode === 'down') return 'unavailable';
    const redis = this.state.redis;
    redis.netIn += 46;
    if (mode === 'errors') {
      // LOADING: the server answers, but every command is refused.
      redis.errorReplies++;
      redis.netOut += 52;
      return 'error';
    }
    redis.commands++;
    this.#cacheOps++;
    if (this.random.chance(CACHE_HIT_RATE)) {
      redis.hits++;
      redis.netOut += this.random.int(200, 900);
      return 'hit';
    }
    redis.misses++;
    redis.netOut += 5;
    return 'miss';
  }

  #cacheSet(): void {
    if (this.mode('cache-1') !== 'healthy') return;
    const redis = this.state.redis;
    redis.commands++;
    this.#cacheOps++;
    redis.netIn += this.random.int(300, 1_000);
    redis.netOut += 5;
    redis.changesSinceSave++;
    if (this.random.chance(0.5)) {
      redis.keys++;
      redis.expires++;
    }
  }

  #cacheDel(): void {
    if (this.mode('cache-1') !== 'healthy') return;
    const redis = this.state.redis;
    redis.commands++;
    this.#cacheOps++;
    redis.netIn += 40;
    redis.netOut += 4;
    if (redis.keys > 0 && this.random.chance(0.8)) {
      redis.keys--;
      redis.expires = Math.max(0, redis.expires - 1);
      redis.changesSinceSave++;
    }
  }

  // --------------------------------------------------------------------------------- db-1

  #db(kind: 'read' | 'write', commit: boolean): Downstream {
    const mode = this.mode('db-1');
    if (mode === 'down') return 'unavailable';
    const shop = this.state.postgres.databases.shop;
    const r = this.random;
    if (mode === 'errors') {
      shop.xact_rollback++;
      return 'error';
    }
    this.#dbSeconds += r.skewed(0.002, 0.02);
    if (commit) shop.xact_commit++;
    else shop.xact_rollback++;
    const rows = kind === 'read' ? r.int(1, 20) : r.int(1, 4);
    shop.blks_hit += rows + r.int(3, 12);
    if (r.chance(0.02)) shop.blks_read += r.int(1, 4);
    if (kind === 'read') {
      shop.tup_returned += rows * r.int(2, 12);
      shop.tup_fetched += rows;
    } else if (commit) {
      shop.tup_inserted += rows;
      shop.tup_updated += 1;
      if (r.chance(0.3)) shop.tup_deleted += r.int(1, 3);
      shop.size_bytes += rows * 180;
    }
    return 'ok';
  }

  // --------------------------------------------------------------------------------- mq-1

  #publish(at: number): Downstream {
    const mode = this.mode('mq-1');
    if (mode === 'down') return 'unavailable';
    const nats = this.state.nats;
    nats.inMsgs++;
    nats.inBytes += ORDER_MESSAGE_BYTES;
    nats.outMsgs++;
    if (mode === 'errors') {
      nats.outBytes += 96;
      return 'error';
    }
    nats.outBytes += 44;
    if (nats.stream.lastSeq === nats.consumer.ackFloor) nats.stream.firstTs = at;
    nats.stream.lastSeq++;
    nats.stream.lastTs = at;
    return 'ok';
  }

  // ------------------------------------------------------------------------------- gauges

  /** Background work and gauges of the data tier for the tick that just ended. */
  settle(now: number, dtMs: number): void {
    const r = this.random;
    const dt = dtMs / 1000;
    const { redis, postgres } = this.state;
    if (this.mode('cache-1') !== 'down') {
      const expiring = Math.floor((redis.keys * dtMs) / KEY_TTL_MS + r.next());
      redis.keys -= expiring;
      redis.expires = Math.max(0, redis.expires - expiring);
      redis.expired += expiring;
      redis.opsPerSec = Math.round(this.#cacheOps / dt);
      redis.cpuSeconds += dt * (0.002 + this.#cacheOps * 0.00001);
      redis.connectedClients = 8 + (r.chance(0.2) ? 1 : 0);
      // save 300 1
      if (now - redis.lastSaveAt >= 300_000 && redis.changesSinceSave > 0) {
        redis.lastSaveAt = now;
        redis.saves++;
        redis.changesSinceSave = 0;
      }
    }
    if (this.mode('db-1') !== 'down') {
      postgres.active = Math.min(postgres.poolSize, Math.floor(this.#dbSeconds / dt + r.next()));
      postgres.idleInTransaction = r.chance(0.05) ? 1 : 0;
      const system = postgres.databases.postgres;
      const background = Math.floor(0.2 * dt + r.next());
      system.xact_commit += background;
      system.blks_hit += background * 12;
      system.tup_returned += background * 40;
      system.tup_fetched += background * 6;
      // A report now and then sorts on disk.
      if (r.chance(dt / 120)) {
        postgres.databases.shop.temp_files++;
        postgres.databases.shop.temp_bytes += r.int(4, 16) * 1_048_576;
      }
    }
    if (this.mode('mq-1') !== 'down') this.#consume(now, dt);
    this.#dbSeconds = 0;
    this.#cacheOps = 0;
  }

  /** The fulfilment worker pulls and acknowledges orders, one left in flight while busy. */
  #consume(now: number, dt: number): void {
    const nats = this.state.nats;
    const c = nats.consumer;
    const backlog = nats.stream.lastSeq - c.ackFloor;
    const done = Math.min(backlog, Math.floor(CONSUMER_RATE * dt + this.random.next()));
    if (done > 0) {
      c.ackFloor += done;
      if (this.random.chance(0.002 * done)) c.redelivered++;
      nats.outMsgs += done;
      nats.outBytes += done * ORDER_MESSAGE_BYTES;
      nats.inMsgs += done * 2;
      nats.inBytes += done * 120;
      if (nats.stream.lastSeq > c.ackFloor) nats.stream.firstTs = now;
    }
    c.delivered = Math.max(c.delivered, c.ackFloor + Math.min(1, nats.stream.lastSeq - c.ackFloor));
    c.waiting = nats.stream.lastSeq > c.delivered ? 0 : 1;
    nats.cpuPercent = Math.round((0.4 + done / dt / 20 + this.random.next() * 0.3) * 100) / 100;
    nats.memBytes = 14_200_000 + Math.round(this.random.next() * 400_000);
  }
}
