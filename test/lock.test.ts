// One process per embedded data dir: a second one is refused with the holder's pid; a dead
// holder's lock is taken over.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { openStore } from '../core/store/store.ts';
import { testConfig } from './helpers/config.ts';
import { tempDir } from './helpers/temp.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function holdStore(dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'hold-store.ts'), dataDir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

describe('the embedded data dir lock', () => {
  it('refuses a second process and names the one that holds the directory', async () => {
    const dataDir = tempDir();
    const holder = await holdStore(dataDir);
    const attempt = openStore({
      config: testConfig({ data_dir: dataDir }),
      logger: silentLogger(),
    });
    await expect(attempt).rejects.toBeInstanceOf(LockError);
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `embedded ClickHouse directory .*clickhouse is in use by process ${holder.pid} \\(`,
      ),
    );
  });

  it('takes over the lock of a process that died without releasing it', async () => {
    const dataDir = tempDir();
    const holder = await holdStore(dataDir);
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    expect(existsSync(join(dataDir, 'clickhouse.lock'))).toBe(true);
    const store = await openStore({
      config: testConfig({ data_dir: dataDir }),
      logger: silentLogger(),
    });
    expect(await store.ping()).toBe(true);
    await store.close();
    expect(existsSync(join(dataDir, 'clickhouse.lock'))).toBe(false);
  });

  it('does not take a reused pid for the holder', async () => {
    const dataDir = tempDir();
    // Our own pid, but a start time that is not ours: the process that wrote it is gone.
    writeFileSync(
      join(dataDir, 'clickhouse.lock'),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        procStart: '1',
        startedAt: 'then',
        command: 'old',
      }),
    );
    const store = await openStore({
      config: testConfig({ data_dir: dataDir }),
      logger: silentLogger(),
    });
    await store.close();
  });
});
