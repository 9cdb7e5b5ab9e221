// The demo's traffic model: about `rps` requests a second arrive at lb-1, go round-robin to the
// web servers haproxy has UP and on to the shop app; each tick advances every member's counters
// and writes the access and app log lines. No real HTTP request is made per simulated request.

import type { Logger } from '../../core/logger.ts';
import { nginxAccessLine } from './formats.ts';
import {
  ERROR_PAGE_BYTES,
  checkFails,
  checkPasses,
  closeSession,
  haproxyError,
  observe,
  openSession,
  restartHaproxy,
  settleHaproxy,
  type Window,
} from './haproxy-model.ts';
import { createRandom, type Random } from './random.ts';
import { Shop, type Outcome, type ShopRequest } from './shop.ts';
import {
  MEMBER_SPECS,
  WEB_HOSTS,
  appState,
  haproxyState,
  natsState,
  nginxState,
  postgresState,
  redisState,
  type AppState,
  type HaproxyServer,
  type HaproxyState,
  type Mode,
  type NatsState,
  type NginxState,
  type PostgresState,
  type RedisState,
} from './state.ts';

export interface DemoState {
  haproxy: HaproxyState;
  nginx: Map<string, NginxState>;
  app: AppState;
  redis: RedisState;
  postgres: PostgresState;
  nats: NatsState;
}

export interface TrafficOptions {
  /** Requests per second at the front door. @default 20 */
  rps?: number;
  /** Seed of the pseudo-random source: the same seed gives the same traffic. @default 1 */
  seed?: number;
  /** @default Date.now */
  clock?: () => number;
  /** How often the timer ticks, in ms. @default 500 */
  tickMs?: number;
  /** Receives each host's log lines once per tick (access log of web-N, app log of app-1). */
  sink: (host: string, lines: readonly string[]) => void;
  logger?: Logger;
}

/** A longer gap (a suspended laptop) is simulated as this much traffic, not as a flood. */
const MAX_STEP_MS = 60_000;
const LB = 'lb-1';
const APP = 'app-1';

const CLIENTS = Array.from({ length: 48 }, (_, i) =>
  i % 2 === 0 ? `198.51.100.${17 + i * 3}` : `203.0.113.${9 + i * 5}`,
);
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'shop-ios/4.12.0 (iPhone; iOS 17.5)',
];

function validRps(rps: number): number {
  if (!Number.isFinite(rps) || rps < 0 || rps > 10_000) {
    throw new RangeError(`demo stack: rps is ${rps}: expected a number from 0 to 10000`);
  }
  return rps;
}

function validTick(ms: number): number {
  if (!Number.isInteger(ms) || ms < 10 || ms > 60_000) {
    throw new RangeError(
      `demo stack: tickMs is ${ms}: expected whole milliseconds from 10 to 60000`,
    );
  }
  return ms;
}

export class TrafficModel {
  readonly state: DemoState;
  readonly rps: number;
  readonly tickMs: number;
  readonly clock: () => number;
  readonly #random: Random;
  readonly #shop: Shop;
  readonly #sink: TrafficOptions['sink'];
  readonly #logger: Logger | undefined;
  readonly #modes = new Map<string, Mode>(MEMBER_SPECS.map((m) => [m.host, 'healthy']));
  readonly #lines = new Map<string, string[]>();
  #last: number;
  #carry = 0;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TrafficOptions) {
    this.rps = validRps(options.rps ?? 20);
    this.tickMs = validTick(options.tickMs ?? 500);
    this.clock = options.clock ?? Date.now;
    this.#random = createRandom(options.seed ?? 1);
    this.#sink = options.sink;
    this.#logger = options.logger;
    const now = this.clock();
    this.#last = now;
    this.state = {
      haproxy: haproxyState(WEB_HOSTS, now),
      nginx: new Map(WEB_HOSTS.map((host) => [host, nginxState()])),
      app: appState(),
      redis: redisState(now),
      postgres: postgresState(),
      nats: natsState(now),
    };
    this.#shop = new Shop(
      this.#random,
      this.state,
      (host) => this.mode(host),
      (line) => this.#line(APP, line),
    );
  }

  mode(host: string): Mode {
    return this.#modes.get(host) ?? 'healthy';
  }

  /** Changes what a member does from now on; a member back from down restarts (fresh counters). */
  setMode(host: string, mode: Mode, now = this.clock()): void {
    const before = this.#modes.get(host);
    if (before === undefined) {
      throw new Error(
        `demo stack: no member ${host} (expected one of ${[...this.#modes.keys()].join(', ')})`,
      );
    }
    if (before === mode) return;
    this.#modes.set(host, mode);
    const server = this.state.haproxy.servers.find((s) => s.name === host);
    if (server && mode === 'down') checkFails(this.state.haproxy, server, now);
    if (server && before === 'down') checkPasses(this.state.haproxy, server, now);
    if (before === 'down') this.#restart(host, now);
  }

  /** Advances every counter to `now`: the requests that arrived since the last tick, then gauges. */
  tick(now = this.clock()): void {
    if (!(now > this.#last)) return;
    const dt = Math.min(now - this.#last, MAX_STEP_MS);
    const from = now - dt;
    this.#last = now;
    const window: Window = new Map();
    const expected = ((this.rps * dt) / 1000) * (0.85 + 0.3 * this.#random.next()) + this.#carry;
    const count = Math.floor(expected);
    this.#carry = expected - count;
    for (let i = 0; i < count; i++) this.#serve(from + ((i + 0.5) * dt) / count, window);
    this.#settle(dt, window);
    this.#shop.settle(now, dt);
    for (const [host, lines] of this.#lines) {
      if (lines.length > 0) this.#sink(host, lines);
    }
    this.#lines.clear();
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.#logger?.error({ err }, 'demo traffic tick failed');
      }
    }, this.tickMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  // ------------------------------------------------------------------------------ lb-1

  #serve(at: number, window: Window): void {
    const lb = this.mode(LB);
    if (lb === 'down') return; // clients are refused: nobody counts anything
    const h = this.state.haproxy;
    const req = this.#shop.request();
    openSession(h.frontend, at, req.bytesIn);
    if (lb === 'errors') return closeSession([h.frontend], haproxyError(), window);
    const server = this.#pick();
    openSession(h.backend, at, req.bytesIn);
    if (!server) return closeSession([h.backend, h.frontend], haproxyError(), window);
    server.lbtot++;
    openSession(server, at, req.bytesIn);
    const outcome = this.#web(server.name, req, at, window);
    closeSession([server, h.backend, h.frontend], outcome, window);
  }

  /** Round robin over the servers haproxy has UP. */
  #pick(): HaproxyServer | undefined {
    const up = this.state.haproxy.servers.filter((s) => s.status === 'UP');
    if (up.length === 0) return undefined;
    return up[this.#next++ % up.length];
  }

  // ----------------------------------------------------------------------------- web-N

  #web(host: string, req: ShopRequest, at: number, window: Window): Outcome {
    const r = this.#random;
    const nginx = this.state.nginx.get(host)!;
    // haproxy keeps connections to its servers open: few requests need a new one.
    if (r.chance(0.25)) {
      nginx.accepted++;
      nginx.handled++;
    }
    nginx.requests++;
    let outcome: Outcome;
    if (this.mode(host) === 'errors') {
      const status = r.chance(0.7) ? 502 : 503;
      outcome = { status, seconds: r.skewed(0.002, 0.02), bytes: ERROR_PAGE_BYTES[status]! };
    } else {
      const app = this.#shop.handle(req, at);
      outcome = app
        ? { ...app, seconds: app.seconds + 0.0004 }
        : { status: 502, seconds: r.skewed(0.001, 0.004), bytes: ERROR_PAGE_BYTES[502]! };
    }
    observe(window, nginx, outcome.seconds);
    this.#line(
      host,
      nginxAccessLine({
        ts: at + outcome.seconds * 1000,
        remoteAddr: r.pick(CLIENTS),
        method: req.spec.method,
        path: req.path,
        status: outcome.status,
        bytes: outcome.bytes,
        referer: r.chance(0.6) ? 'https://shop.example.com/' : '-',
        userAgent: r.pick(USER_AGENTS),
        requestTime: outcome.seconds,
      }),
    );
    return outcome;
  }

  // -------------------------------------------------------------------------- per tick

  #settle(dt: number, window: Window): void {
    const seconds = dt / 1000;
    const r = this.#random;
    settleHaproxy(this.state.haproxy, dt, window, r);
    for (const [host, nginx] of this.state.nginx) {
      if (this.mode(host) === 'down') continue;
      const w = window.get(nginx) ?? { count: 0, busy: 0 };
      // The stub_status request itself is one connection being written.
      nginx.writing = 1 + Math.floor(w.busy / seconds + r.next());
      nginx.reading = r.chance(0.15) ? 1 : 0;
      nginx.waiting = r.int(3, 6);
      nginx.active = nginx.reading + nginx.writing + nginx.waiting;
    }
  }

  /** A member back from down is a restarted process: its own counters start again. */
  #restart(host: string, now: number): void {
    const s = this.state;
    if (s.nginx.has(host)) s.nginx.set(host, nginxState());
    if (host === APP) s.app.registry.resetMetrics();
    if (host === 'cache-1') {
      const { port, keys, expires } = s.redis;
      Object.assign(s.redis, redisState(now), { port, keys, expires });
    }
    if (host === 'mq-1') {
      const { stream, consumer } = s.nats;
      Object.assign(s.nats, natsState(now), { stream, consumer });
    }
    if (host === LB) restartHaproxy(s.haproxy, now);
  }

  #line(host: string, line: string): void {
    const lines = this.#lines.get(host);
    if (lines) lines.push(line);
    else this.#lines.set(host, [line]);
  }
}
