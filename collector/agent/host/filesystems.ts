// Filesystems: the mounts worth measuring from /proc/mounts, and statfs bounded in time per mount.

import type { StatsFs } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Logger } from '../../../core/logger.ts';
import type { RawSample } from '../types.ts';
import { fields, gauge } from './kernel-files.ts';

/** The filesystems options that choose the mounts. */
export interface MountFilter {
  exclude_types: string[];
  exclude_mounts: RegExp | undefined;
}

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
  readonly: boolean;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (\040). */
const unescapeMount = (text: string) =>
  text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mounts to measure: filtered, and one per filesystem (a bind mount repeats its device). */
export function parseMounts(text: string, options: MountFilter): Mount[] {
  const mounts: Mount[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const [device, mountpoint, fstype, flags] = fields(line).map(unescapeMount);
    if (!device || !mountpoint?.startsWith('/') || !fstype || flags === undefined) continue;
    if (options.exclude_types.includes(fstype) || options.exclude_mounts?.test(mountpoint))
      continue;
    // Names like "tmpfs" or "overlay" are shared by unrelated filesystems; paths (/dev/sda1,
    // server:/export) name one filesystem.
    const key = device.includes('/') ? device : `${device}\n${mountpoint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    mounts.push({ device, mountpoint, fstype, readonly: flags.split(',').includes('ro') });
  }
  return mounts;
}

/**
 * statfs within a time bound. A call that does not return (a hung NFS server) still holds one of
 * libuv's few threads, so while it is pending the mount is skipped rather than asked again.
 */
export async function boundedStatfs(
  mountpoint: string,
  options: { timeoutMs: number; signal: AbortSignal; pending: Set<string>; logger: Logger },
  call: (path: string) => Promise<StatsFs> = (path) => statfs(path),
): Promise<StatsFs | undefined> {
  if (options.pending.has(mountpoint)) {
    options.logger.debug({ mountpoint }, 'statfs still pending from an earlier collection');
    return undefined;
  }
  options.pending.add(mountpoint);
  const result = call(mountpoint).finally(() => options.pending.delete(mountpoint));
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const bound = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    onAbort = () => resolve('timeout');
    options.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const outcome = await Promise.race([result, bound]);
    if (outcome !== 'timeout') return outcome;
    options.logger.warn({ mountpoint }, `statfs did not answer in ${options.timeoutMs} ms`);
    return undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
  }
}

export function filesystemSamples(mount: Mount, fs: StatsFs): RawSample[] {
  const labels = { device: mount.device, fstype: mount.fstype, mountpoint: mount.mountpoint };
  return [
    gauge('node_filesystem_size_bytes', fs.blocks * fs.bsize, labels),
    gauge('node_filesystem_free_bytes', fs.bfree * fs.bsize, labels),
    gauge('node_filesystem_avail_bytes', fs.bavail * fs.bsize, labels),
    gauge('node_filesystem_files', fs.files, labels),
    gauge('node_filesystem_files_free', fs.ffree, labels),
    gauge('node_filesystem_readonly', mount.readonly ? 1 : 0, labels),
  ];
}
