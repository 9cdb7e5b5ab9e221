// Child process for lock tests: opens the embedded store in the data dir given, says "ready", waits.

import { silentLogger } from '../../core/logger.ts';
import { openStore } from '../../core/store/store.ts';
import { testConfig } from './config.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: hold-store.ts DATA_DIR');
const store = await openStore({
  config: testConfig({ data_dir: dataDir }),
  logger: silentLogger(),
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void store.close().then(() => process.exit(0));
});
setInterval(() => undefined, 60_000);
