// The haproxy source: reads the stats CSV (from the stats page over HTTP or from the stats
// socket) and reports each frontend, backend and server: state, sessions, bytes, responses by
// class, errors, queue, health checks, and how many servers of each backend are up.

import { connect } from 'node:net';
import { z } from 'zod';
import { byteSize, httpUrl, secret } from '../../../core/config/schema.ts';
import { redactUrl } from '../../../core/config/secret.ts';
import { fetchText } from '../http.ts';
import { parseStats, type StatsTable } from '../haproxy-csv.ts';
import { toSamples } from '../haproxy-series.ts';
import type { Source, SourceContext, SourceDefinition } from '../types.ts';

export { parseCsv, parseStats, type StatsRow, type StatsTable } from '../haproxy-csv.ts';
export { isUp, toSamples } from '../haproxy-series.ts';

export class HaproxyStatsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HaproxyStatsError';
  }
}

export const haproxyOptions = z
  .strictObject({
    /** The stats page; `;csv` is appended to the path unless the path already holds it. */
    url: httpUrl('use username and password').optional(),
    /** The stats socket (`stats socket …` in haproxy's global section), any level. */
    socket: z
      .string({ error: 'expected a unix socket path' })
      .min(1, { error: 'expected a unix socket path' })
      .optional(),
    username: z
      .string({ error: 'expected a user name' })
      .min(1, { error: 'expected a user name' })
      .optional(),
    password: secret(),
    max_bytes: byteSize('10MiB'),
  })
  .superRefine((options, ctx) => {
    if ((options.url === undefined) === (options.socket === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of url and socket' });
    }
    if ((options.username === undefined) !== (options.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [options.username === undefined ? 'username' : 'password'],
        message: 'expected username and password together',
      });
    }
    if (options.socket !== undefined && options.username !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'expected username and password only with url (the socket has no login)',
      });
    }
  });

type HaproxyOptions = z.output<typeof haproxyOptions>;

/**
 * The CSV export of the stats page. haproxy looks for `;csv` anywhere after its `stats uri`,
 * which may hold a query (`stats uri /haproxy?stats`), so it goes at the very end.
 */
export function csvUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  if ((parsed.pathname + parsed.search).includes(';csv')) return parsed.toString();
  if (parsed.search !== '') parsed.search += ';csv';
  else parsed.pathname += ';csv';
  return parsed.toString();
}

export const haproxySource: SourceDefinition<typeof haproxyOptions> = {
  type: 'haproxy',
  options: haproxyOptions,
  create(options, deps): Source {
    const target = options.url ? redactUrl(csvUrl(options.url)) : `socket ${options.socket}`;
    return {
      name: deps.name,
      type: 'haproxy',
      async collect(ctx) {
        const text = await readStats(options, ctx).catch((err: unknown) => {
          throw new HaproxyStatsError(`read haproxy stats from ${target}: ${message(err)}`, {
            cause: err,
          });
        });
        let table: StatsTable;
        try {
          table = parseStats(text);
        } catch (err) {
          throw new HaproxyStatsError(`parse haproxy stats from ${target}: ${message(err)}`, {
            cause: err,
          });
        }
        if (table.skipped > 0) {
          ctx.logger.warn({ module: 'source-haproxy', skipped: table.skipped }, 'skipped rows');
        }
        return { samples: toSamples(table.rows) };
      },
    };
  },
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function readStats(options: HaproxyOptions, ctx: SourceContext): Promise<string> {
  if (options.socket !== undefined) {
    return readSocket(options.socket, 'show stat\n', ctx.signal, options.max_bytes.bytes);
  }
  return readPage(options, ctx);
}

async function readPage(options: HaproxyOptions, ctx: SourceContext): Promise<string> {
  const headers: Record<string, string> = {};
  if (options.username !== undefined && options.password !== undefined) {
    const pair = `${options.username}:${options.password.reveal()}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  const response = await fetchText(csvUrl(options.url!), {
    signal: ctx.signal,
    maxBytes: options.max_bytes.bytes,
    headers,
  });
  if (response.status === 401) {
    throw new Error(
      options.username === undefined
        ? 'HTTP 401: the stats page asks for a login (set username and password)'
        : 'HTTP 401: the stats page refused the username and password',
    );
  }
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return response.text;
}

/** Sends one command to a unix socket and reads the answer until haproxy closes it. */
export function readSocket(
  path: string,
  command: string,
  signal: AbortSignal,
  maxBytes: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('timed out'));
    const chunks: Buffer[] = [];
    let size = 0;
    const socket = connect({ path });
    const fail = (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes)
        return fail(new Error(`answer is larger than the limit of ${maxBytes} bytes`));
      chunks.push(chunk);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => fail(new Error(err.code ?? err.message)));
    socket.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}
