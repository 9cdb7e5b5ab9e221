// A lock file beside the embedded ClickHouse directory: one process per directory, and a
// refusal that names the process holding it. Stale locks (dead process) are taken over.

import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { LockError } from '../errors.ts';

interface LockInfo {
  pid: number;
  host: string;
  /** Kernel start time of the process (Linux), so a reused pid is not taken for the holder. */
  procStart: string | undefined;
  startedAt: string;
  command: string;
}

export interface DirLock {
  readonly path: string;
  release(): void;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counts from after the command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell: a lock from another host stands
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const start = processStart(info.pid);
  return info.procStart === undefined || start === undefined || start === info.procStart;
}

function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

function describe(info: LockInfo): string {
  const where = info.host === hostname() ? '' : ` on host ${info.host}`;
  return `process ${info.pid}${where} (${info.command}, since ${info.startedAt})`;
}

/**
 * Takes the lock at `path` for this process. Writes the lock to a private file first and
 * links it into place, so the lock appears whole or not at all.
 */
export function acquireDirLock(path: string, what: string): DirLock {
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    procStart: processStart(process.pid),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1, 3).join(' ') || 'node',
  };
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(info));
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, path);
        const mine = readLock(path);
        if (mine?.pid !== process.pid) continue;
        return {
          path,
          release: () => {
            if (readLock(path)?.pid === process.pid) unlinkSync(path);
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = readLock(path);
        if (holder && isAlive(holder)) {
          throw new LockError(
            `${what} is in use by ${describe(holder)}; stop that process or choose another data_dir (lock file ${path})`,
          );
        }
        // Stale: move it aside (atomic) and try again.
        try {
          renameSync(path, `${path}.stale`);
        } catch {
          /* another process moved it first */
        }
      }
    }
    throw new LockError(`${what}: could not take the lock ${path}`);
  } finally {
    unlinkSync(temp);
  }
}
