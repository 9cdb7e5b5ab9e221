// Access-log request metrics: request counters and a duration histogram, optionally by route.

import type { AccessInfo } from '../log-parsers.ts';
import type { RawSample } from '../types.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * http_requests_total{status_class,method[,route]} and http_request_duration_seconds{[route]},
 * cumulative since the source started. Every series is there from the start at zero, so the
 * agent's first sight of a series (which publishes nothing) never swallows real requests.
 */
export class AccessMetrics {
  #requests = new Map<string, { labels: Record<string, string>; value: number }>();
  #durations = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly #routes: string[];

  constructor(
    routes: string[],
    private readonly bounds: number[],
  ) {
    this.#routes = [...routes].sort((a, b) => b.length - a.length);
    const routeValues = routes.length > 0 ? [...routes, 'other'] : [undefined];
    for (const route of routeValues) {
      for (const method of [...METHODS, 'OTHER']) {
        for (const statusClass of STATUS_CLASSES) {
          const labels: Record<string, string> = { status_class: statusClass, method };
          if (route !== undefined) labels['route'] = route;
          this.#requests.set(requestKey(labels), { labels, value: 0 });
        }
      }
      this.#durations.set(route ?? '', { counts: bounds.map(() => 0), sum: 0, count: 0 });
    }
  }

  observe(access: AccessInfo): void {
    if (!(access.status >= 100 && access.status <= 599)) return;
    const route = this.#route(access.path);
    const labels: Record<string, string> = {
      status_class: `${Math.floor(access.status / 100)}xx`,
      method: METHODS.includes(access.method) ? access.method : 'OTHER',
    };
    if (route !== undefined) labels['route'] = route;
    const series = this.#requests.get(requestKey(labels));
    if (series) series.value++;
    const seconds = access.requestTime;
    const histogram = this.#durations.get(route ?? '');
    if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0 || !histogram) return;
    this.bounds.forEach((le, i) => {
      if (seconds <= le) histogram.counts[i]!++;
    });
    histogram.sum += seconds;
    histogram.count++;
  }

  samples(): RawSample[] {
    const out: RawSample[] = [];
    for (const { labels, value } of this.#requests.values())
      out.push({ name: 'http_requests_total', labels: { ...labels }, value, type: 'counter' });
    for (const [route, h] of this.#durations) {
      const base: Record<string, string> = route === '' ? {} : { route };
      const name = 'http_request_duration_seconds';
      this.bounds.forEach((le, i) => {
        const labels = { ...base, le: String(le) };
        out.push({ name: `${name}_bucket`, labels, value: h.counts[i]!, type: 'counter' });
      });
      const inf = { ...base, le: '+Inf' };
      out.push({ name: `${name}_bucket`, labels: inf, value: h.count, type: 'counter' });
      out.push({ name: `${name}_sum`, labels: { ...base }, value: h.sum, type: 'counter' });
      out.push({ name: `${name}_count`, labels: { ...base }, value: h.count, type: 'counter' });
    }
    return out;
  }

  #route(path: string): string | undefined {
    if (this.#routes.length === 0) return undefined;
    const bare = path.split('?', 1)[0]!;
    return this.#routes.find((prefix) => bare.startsWith(prefix)) ?? 'other';
  }
}

const requestKey = (labels: Record<string, string>) =>
  `${labels['route'] ?? ''}\u0000${labels['method']}\u0000${labels['status_class']}`;
