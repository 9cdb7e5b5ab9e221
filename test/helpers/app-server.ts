// A small application server for the app tier: it answers requests (some with 500) and counts
// them on /metrics as an instrumented app would, with a request counter and a latency histogram.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';

export interface AppServer {
  /** http://127.0.0.1:PORT, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Paths it answers: /fail is a 500, /missing a 404, anything else a 200. */
export async function startAppServer(): Promise<AppServer> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests answered, by method and status code.',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request.',
    labelNames: ['method'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      });
      return;
    }
    const end = duration.startTimer({ method: req.method ?? 'GET' });
    const code = req.url === '/fail' ? 500 : req.url === '/missing' ? 404 : 200;
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(code === 200 ? 'ok\n' : 'no\n');
    end();
    requests.inc({ method: req.method ?? 'GET', code: String(code) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
