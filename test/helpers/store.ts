// Opens a real embedded ClickHouse (chDB) store in a temp dir, migrated, one database per test.
// chDB allows one data directory per process, so a test file keeps one and closes each store.

import { randomBytes } from 'node:crypto';
import type { HaloConfig } from '../../core/config/schema.ts';
import { silentLogger } from '../../core/logger.ts';
import { migrate } from '../../core/store/migrate.ts';
import { openStore, type Store } from '../../core/store/store.ts';
import { testConfig } from './config.ts';
import { tempDir } from './temp.ts';

let dataDir: string | undefined;

export interface TestStore {
  store: Store;
  config: HaloConfig;
}

/** A migrated store on this file's data dir, in a database of its own. */
export async function openTestStore(raw: Record<string, unknown> = {}): Promise<TestStore> {
  dataDir ??= tempDir('halo-store-');
  const database = `t_${randomBytes(6).toString('hex')}`;
  const config = testConfig({
    ...raw,
    data_dir: dataDir,
    clickhouse: { database, ...(raw['clickhouse'] as object | undefined) },
  });
  const store = await openStore({ config, logger: silentLogger() });
  await migrate(store, config, silentLogger());
  return { store, config };
}
