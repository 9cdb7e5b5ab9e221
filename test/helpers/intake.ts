// Starts a real Halo for intake tests: `halo up` without the demo in a temp dir (embedded chDB,
// a local nats-server, the ingester and the intake routes), with a token for any tier and one
// bound to tier `web`. Queries read the Halo's own database; table names are unqualified.
// Requests go through `post`, with the any-tier token unless told otherwise.

import { randomBytes } from 'node:crypto';
import { haloConfigSchema } from '../../cli/config-schema.ts';
import { startHalo, type Running } from '../../cli/up.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { Store } from '../../core/store/store.ts';
import { tempDir } from './temp.ts';

export interface IntakeHarness {
  /** The HTTP server, e.g. http://127.0.0.1:41234 (the intake routes are on it). */
  url: string;
  /** A token of any tier (name `any`). */
  token: string;
  /** A token bound to tier `web` (name `web-only`). */
  tierToken: string;
  store: Store;
  running: Running;
  /** Rows of a query on the Halo's database: write `samples`, `logs`, … unqualified. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** POSTs to a path of the Halo; `token` null sends no Authorization header. */
  post(
    path: string,
    body: string | Uint8Array | ReadableStream<Uint8Array>,
    token?: string | null,
    headers?: Record<string, string>,
  ): Promise<Response>;
  stop(): Promise<void>;
}

const TABLES = /\b(FROM|JOIN)\s+(samples|logs|series|samples_1m|samples_5m|samples_1h)\b/g;

export async function startIntakeHalo(
  intake: Record<string, unknown> = {},
  options: { logger?: Logger; raw?: Record<string, unknown> } = {},
): Promise<IntakeHarness> {
  const token = randomBytes(16).toString('hex');
  const tierToken = randomBytes(16).toString('hex');
  const config = haloConfigSchema.parse({
    data_dir: tempDir('halo-intake-'),
    http: { address: '127.0.0.1', port: 0 },
    nats: { local: { port: 0 } },
    agent: { tier: 'host', sources: [] },
    ...options.raw,
    intake: {
      tokens: [
        { name: 'any', token },
        { name: 'web-only', token: tierToken, tier: 'web' },
      ],
      ...intake,
    },
  });
  const running = await startHalo(config, options.logger ?? silentLogger());
  const { store } = running;
  return {
    url: running.http.url,
    token,
    tierToken,
    store,
    running,
    query: <T>(sql: string) =>
      store.query<T>({
        text: sql.replace(
          TABLES,
          (_m, kw: string, table: string) => `${kw} ${store.database}.${table}`,
        ),
        params: {},
      }),
    post: (path, body, presented = token, headers = {}) =>
      fetch(`${running.http.url}${path}`, {
        method: 'POST',
        body,
        headers: { ...(presented ? { Authorization: `Bearer ${presented}` } : {}), ...headers },
        // A streamed body needs half duplex in Node's fetch.
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit),
    stop: () => running.stop(),
  };
}

/** Samples in decoded series (a histogram point gives one per bucket plus _count and _sum). */
export function samplesIn(series: readonly { points: readonly unknown[] }[]): number {
  return series.reduce((n, s) => n + s.points.length, 0);
}
