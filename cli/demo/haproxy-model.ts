// What lb-1's haproxy does with each simulated request and health check: session and response
// counters per frontend, backend and server, UP/DOWN transitions, and the per-tick gauges.

import type { Random } from './random.ts';
import type { Outcome } from './shop.ts';
import {
  CHECK_FALL,
  proxyCounters,
  type HaproxyServer,
  type HaproxyState,
  type ProxyCounters,
  type ResponseClass,
} from './state.ts';

/** Requests seen and time spent per row (or per web server) during one tick. */
export type Window = Map<object, { count: number; busy: number }>;

export function observe(window: Window, key: object, seconds: number): void {
  const w = window.get(key) ?? { count: 0, busy: 0 };
  w.count++;
  w.busy += seconds;
  window.set(key, w);
}

/** The body sizes of nginx's and haproxy's own error pages. */
export const ERROR_PAGE_BYTES: Record<number, number> = { 502: 157, 503: 197 };

/** haproxy's own 503 when it has nowhere to send the request. */
export const haproxyError = (): Outcome => ({
  status: 503,
  seconds: 0.0002,
  bytes: ERROR_PAGE_BYTES[503]!,
});

const responseClass = (status: number): ResponseClass =>
  status >= 100 && status < 600 ? (`${Math.floor(status / 100)}xx` as ResponseClass) : 'other';

/** A request arrives at a frontend, backend or server. */
export function openSession(row: ProxyCounters, at: number, bytesIn: number): void {
  row.stot++;
  row.reqTot++;
  row.bin += bytesIn;
  row.lastSessionAt = at;
}

/** Its answer goes back through each row; timings are moving averages as haproxy keeps them. */
export function closeSession(rows: ProxyCounters[], outcome: Outcome, window: Window): void {
  const ms = outcome.seconds * 1000;
  for (const row of rows) {
    row.hrsp[responseClass(outcome.status)]++;
    row.bout += outcome.bytes + 240;
    const n = Math.min(row.reqTot, 1024);
    row.rtime += (ms - row.rtime) / n;
    row.ttime += (ms + 1.5 - row.ttime) / n;
    row.ctime += (0.3 - row.ctime) / n;
    observe(window, row, outcome.seconds);
  }
}

/**
 * The server stops answering its checks: haproxy counts `fall` failed checks and marks it DOWN,
 * and the backend too when no server is left. (The checks' few seconds are not simulated: it
 * goes DOWN at once, so no request reaches a server that is gone.)
 */
export function checkFails(h: HaproxyState, server: HaproxyServer, now: number): void {
  if (server.status === 'DOWN') return;
  Object.assign(server, { status: 'DOWN', checkStatus: 'L4CON', checkDurationMs: 0 });
  server.chkfail += CHECK_FALL;
  server.chkdown++;
  server.lastChangeAt = now;
  if (h.backend.status === 'UP' && h.servers.every((s) => s.status === 'DOWN')) {
    h.backend.status = 'DOWN';
    h.backend.chkdown++;
    h.backend.lastChangeAt = now;
  }
}

export function checkPasses(h: HaproxyState, server: HaproxyServer, now: number): void {
  if (server.status === 'UP') return;
  Object.assign(server, { status: 'UP', checkStatus: 'L7OK', checkDurationMs: 1 });
  server.lastChangeAt = now;
  if (h.backend.status === 'DOWN') {
    h.backend.status = 'UP';
    h.backend.lastChangeAt = now;
  }
}

/** Session rates and concurrency (Little's law) over the tick, downtime and check durations. */
export function settleHaproxy(h: HaproxyState, dtMs: number, window: Window, r: Random): void {
  const seconds = dtMs / 1000;
  for (const row of [h.frontend, h.backend, ...h.servers]) {
    const w = window.get(row) ?? { count: 0, busy: 0 };
    row.rate = Math.round(w.count / seconds);
    row.rateMax = Math.max(row.rateMax, row.rate);
    row.scur = Math.floor(w.busy / seconds + r.next());
    row.smax = Math.max(row.smax, row.scur);
  }
  for (const row of [h.backend, ...h.servers]) {
    if (row.status === 'DOWN') row.downtimeMs += dtMs;
  }
  for (const server of h.servers) {
    if (server.status === 'UP') server.checkDurationMs = r.int(1, 3);
  }
}

/** A restarted haproxy counts from zero; servers keep the state their checks give them. */
export function restartHaproxy(h: HaproxyState, now: number): void {
  for (const row of [h.frontend, h.backend, ...h.servers]) Object.assign(row, proxyCounters());
  for (const server of h.servers) {
    Object.assign(server, { chkfail: 0, chkdown: 0, lbtot: 0, downtimeMs: 0, lastChangeAt: now });
  }
  Object.assign(h.backend, { chkdown: 0, downtimeMs: 0, lastChangeAt: now });
}
