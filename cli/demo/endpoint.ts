// A member's listening socket on 127.0.0.1 that can be closed (the member is down: connections
// are refused) and opened again on the same port.

import type { Server, Socket } from 'node:net';

export class DemoEndpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DemoEndpointError';
  }
}

/** Tries to take the port back this many times, 100 ms apart, before giving up. */
const REOPEN_ATTEMPTS = 20;
const HOST = '127.0.0.1';

export class Endpoint {
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();

  constructor(
    readonly host: string,
    private readonly create: () => Server,
  ) {}

  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  /** Listens on an OS-assigned port the first time, then on that same port again. */
  async open(): Promise<void> {
    if (this.#server) return;
    const server = this.create();
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await listen(server, this.#port);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (this.#port === 0 || code !== 'EADDRINUSE' || attempt >= REOPEN_ATTEMPTS) {
          throw new DemoEndpointError(
            `demo stack: ${this.host} cannot listen on ${HOST}:${this.#port}: ${code ?? (err as Error).message}`,
            { cause: err },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const address = server.address();
    if (address !== null && typeof address === 'object') this.#port = address.port;
    this.#server = server;
  }

  /** Stops listening and drops every open connection, so the next connect is refused. */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host: HOST, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
