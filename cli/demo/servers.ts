// The demo members' listeners: each one serves its state in its real server's format over HTTP
// (haproxy stats, stub_status, /metrics, nats monitoring) or RESP (redis), on 127.0.0.1.

import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import type { Server } from 'node:net';
import { haproxyCsv, stubStatus } from './formats.ts';
import { natsJsz, natsVarz, postgresMetrics } from './formats-data.ts';
import { redisInfo } from './formats-redis.ts';
import { createRespServer } from './resp.ts';
import type { Kind } from './state.ts';
import type { DemoState } from './traffic.ts';

interface Reply {
  status: number;
  type: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const PROM_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

const notFound = (): Reply => ({ status: 404, type: TEXT, body: 'not found\n' });
const json = (value: unknown): Reply => ({
  status: 200,
  type: JSON_TYPE,
  body: `${JSON.stringify(value, null, 2)}\n`,
});

function httpServer(route: (url: URL) => Reply | Promise<Reply>): Server {
  return createHttpServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (reply: Reply) => {
      res.writeHead(reply.status, {
        'content-type': reply.type,
        'content-length': Buffer.byteLength(reply.body),
      });
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    };
    Promise.resolve()
      .then(() => route(url))
      .then(send, (err: unknown) =>
        send({ status: 500, type: TEXT, body: `${(err as Error).message}\n` }),
      );
  });
}

export interface ServerDeps {
  state: DemoState;
  clock: () => number;
  /** The port of this member's listener, once bound (nats reports its own). */
  port: () => number;
}

/** A factory of the listener for one member: called again each time it comes back from down. */
export function serverFor(kind: Kind, host: string, deps: ServerDeps): () => Server {
  const { state, clock } = deps;
  switch (kind) {
    case 'haproxy':
      return () =>
        httpServer((url) => {
          // haproxy finds `;csv` anywhere after its stats uri.
          if (!url.pathname.startsWith('/stats')) return notFound();
          if (!`${url.pathname}${url.search}`.includes(';csv')) {
            const body = '<html><body>demo haproxy: add ;csv to the stats uri</body></html>\n';
            return { status: 200, type: 'text/html', body };
          }
          return { status: 200, type: TEXT, body: haproxyCsv(state.haproxy, clock()) };
        });
    case 'nginx':
      return () =>
        httpServer((url) => {
          const nginx = state.nginx.get(host);
          if (url.pathname !== '/stub_status' || !nginx) return notFound();
          return { status: 200, type: 'text/plain', body: stubStatus(nginx) };
        });
    case 'app':
      return () =>
        httpServer(async (url) => {
          if (url.pathname === '/healthz') return { status: 200, type: TEXT, body: 'ok\n' };
          if (url.pathname !== '/metrics') return notFound();
          const registry = state.app.registry;
          return { status: 200, type: registry.contentType, body: await registry.metrics() };
        });
    case 'postgres':
      return () =>
        httpServer((url) =>
          url.pathname === '/metrics'
            ? { status: 200, type: PROM_TEXT, body: postgresMetrics(state.postgres) }
            : notFound(),
        );
    case 'nats':
      return () =>
        httpServer((url) => {
          if (url.pathname === '/varz') return json(natsVarz(state.nats, clock(), deps.port()));
          if (url.pathname === '/jsz') return json(natsJsz(state.nats, clock(), url.searchParams));
          if (url.pathname === '/healthz') return json({ status: 'ok' });
          return notFound();
        });
    case 'redis':
      return () =>
        createRespServer({
          info: (sections) => redisInfo(state.redis, clock(), sections),
          onConnection: () => {
            state.redis.connectionsReceived++;
          },
          onCommand: (_name, bytesIn, bytesOut) => {
            state.redis.commands++;
            state.redis.netIn += bytesIn;
            state.redis.netOut += bytesOut;
          },
        });
  }
}
