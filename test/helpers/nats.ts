// Starts a real nats-server with JetStream on a free port in a temp dir, and stops it.

import { startLocalNats, type LocalNats } from '../../core/bus/local-server.ts';
import { silentLogger } from '../../core/logger.ts';
import { tempDir } from './temp.ts';

export interface TestNats extends LocalNats {
  readonly dir: string;
}

export async function startNatsServer(extraArgs: readonly string[] = []): Promise<TestNats> {
  const dir = tempDir('halo-nats-');
  const server = await startLocalNats({
    dir,
    binary: process.env['NATS_SERVER_BIN'] ?? 'nats-server',
    address: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    extraArgs,
  });
  return { ...server, dir };
}
