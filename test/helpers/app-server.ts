// A small application server for the app tier: it answers requests (some with 500), counts them
// on /metrics as an instrumented app would (a request counter and a latency histogram) and writes
// a JSON log line per request (level error for a 500), as a structured application log.

import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { tempDir } from './temp.ts';

export interface AppServer {
  /** http://127.0.0.1:PORT, without a trailing slash. */
  url: string;
  /** Its JSON log: one line per request with level, msg, method, path, status and trace_id. */
  logFile: string;
  close(): Promise<void>;
}

/** Paths it answers: /fail is a 500, /missing a 404, anything else a 200. */
export async function startAppServer(): Promise<AppServer> {
  const logFile = join(tempDir('halo-app-'), 'app.log');
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
    const line = {
      ts: new Date().toISOString(),
      level: code >= 500 ? 'error' : 'info',
      msg: code >= 500 ? `checkout failed: ${req.url}` : `served ${req.url}`,
      method: req.method,
      path: req.url,
      status: code,
      trace_id: randomBytes(16).toString('hex'),
    };
    appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logFile,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
