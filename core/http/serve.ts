// Serves a Hono app on Node's HTTP server (a port in use is a clear StartupError, not a crash),
// and hands requests to apps made after the port was taken.

import { createAdaptorServer } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../errors.ts';

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function serveHttp(app: Hono, address: string, port: number): Promise<HttpServer> {
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new StartupError(
            `http: port ${port} on ${address} is already in use (set http.port or HALO_HTTP_PORT)`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(new StartupError(`http: no permission to listen on ${address}:${port}`));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new StartupError(`http: address ${address} is not available on this machine`));
      } else {
        reject(
          new StartupError(`http: cannot listen on ${address}:${port}: ${err.message}`, {
            cause: err,
          }),
        );
      }
    });
    server.listen(port, address, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    port: bound,
    url: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server)
          (server as { closeAllConnections(): void }).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A handler for routes whose app exists only once something has started (the port is taken
 * first): the request and its Node bindings (c.env) go to `app()`, and `starting` answers until
 * there is one.
 */
export function lateApp(
  app: () => Hono | undefined,
  starting: (c: Context) => Response,
): (c: Context) => Response | Promise<Response> {
  return (c) => {
    const started = app();
    return started ? started.fetch(c.req.raw, c.env) : starting(c);
  };
}
