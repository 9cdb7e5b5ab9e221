// Starts a real Halo for intake tests: `halo up` without the demo in a temp dir (embedded chDB,
// a local nats-server, the ingester and the intake routes), with a token for any tier and one
// bound to tier `web`. Queries read the Halo's own database; table names are unqualified.

import { randomBytes } from 'node:crypto';
import { haloConfigSchema, type FullConfig } from '../../cli/config-schema.ts';
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
  config: FullConfig;
  running: Running;
  /**
   * Rows of a query on the Halo's database: write `samples`, `logs`, … unqualified, they are
   * qualified here ({name:Type} parameters are bound).
   */
  query<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  stop(): Promise<void>;
}

const TABLES = /\b(FROM|JOIN)\s+(samples|logs|series|samples_1m|samples_5m|samples_1h)\b/g;
const database = (store: Store) => store.table('samples').split('.')[0]!;

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
    config,
    running,
    async query<T>(sql: string, params: Record<string, unknown> = {}) {
      const qualified = sql.replace(
        TABLES,
        (_m, kw: string, table: string) => `${kw} ${database(store)}.${table}`,
      );
      const result = await store.client.query({
        query: qualified,
        format: 'JSONEachRow',
        query_params: params,
      });
      return result.json<T>();
    },
    stop: () => running.stop(),
  };
}
