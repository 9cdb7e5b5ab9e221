// A real local HTTP receiver for notification tests: it records every request (with the time it
// arrived) and answers from a script of responses, then 200 once the script runs out.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './ports.ts';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the whole body had arrived. */
  at: number;
}

export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer with the request's method, path and body, as some servers quote a bad request. */
  echo?: boolean;
  /** Answer only after this long (for timeouts). */
  delayMs?: number;
}

export interface ReceiverServer {
  /** http://127.0.0.1:PORT + path */
  url(path?: string): string;
  requests: ReceivedRequest[];
  /** Responses for the next requests, in order. */
  script(...responses: ScriptedResponse[]): void;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, on `port` when given (e.g. one a test first found closed). */
export async function startReceiverServer(port?: number): Promise<ReceiverServer> {
  const requests: ReceivedRequest[] = [];
  const queue: ScriptedResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const next = queue.shift() ?? { status: 200, body: 'ok' };
      const request = requests.at(-1)!;
      const body = next.echo
        ? `got ${request.method} ${request.path}: ${request.body}`
        : (next.body ?? '');
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers });
        res.end(body);
      };
      if (next.delayMs) setTimeout(answer, next.delayMs).unref();
      else answer();
    });
  });
  const listenOn = port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(listenOn, '127.0.0.1', resolve));
  return {
    url: (path = '/') => `http://127.0.0.1:${listenOn}${path}`,
    requests,
    script: (...responses) => queue.push(...responses),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
