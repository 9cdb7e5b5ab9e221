// The host source: CPU, load, memory, disks, filesystems, network and cgroup v2 figures of this
// machine, read from /proc, /sys and statfs under node_exporter's (and cAdvisor's) metric names.

import { constants, type StatsFs } from 'node:fs';
import { open, readdir, stat, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../../core/config/schema.ts';
import type { Logger } from '../../../core/logger.ts';
import type { RawSample, Source, SourceDefinition } from '../types.ts';

/** Pseudo and read-only image filesystems: no capacity worth watching. overlay is kept because
 * it is the root filesystem of a container. */
export const DEFAULT_EXCLUDED_FS_TYPES = [
  'proc',
  'sysfs',
  'tmpfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'autofs',
  'mqueue',
  'securityfs',
  'debugfs',
  'tracefs',
  'pstore',
  'bpf',
  'fusectl',
  'configfs',
  'nsfs',
  'binfmt_misc',
  'hugetlbfs',
  'rpc_pipefs',
  'squashfs',
];

/** node_exporter's default: kernel trees and the layers of container runtimes. */
const DEFAULT_EXCLUDED_MOUNTS =
  '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)';

/** The kernel's clock tick for /proc/stat (USER_HZ), 100 on every Linux ABI node_exporter knows. */
const USER_HZ = 100;
const SECTOR_BYTES = 512;
/** A kernel file larger than this is cut at its last whole line (a host with huge mount tables). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** A regular expression key; an empty string means "exclude nothing" (new RegExp('') matches all). */
const pattern = (fallback: string) =>
  z
    .string({ error: 'expected a regular expression' })
    .default(fallback)
    .transform((value, ctx) => {
      if (value === '') return undefined;
      try {
        return new RegExp(value);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a valid regular expression',
          input: value,
        });
        return z.NEVER;
      }
    });

const dirPath = (fallback: string) =>
  z
    .string({ error: 'expected a directory path' })
    .min(1, { error: 'expected a directory path' })
    .default(fallback);

/**
 * A cgroup to report: "self" is the agent's own cgroup (the `0::` line of <proc_path>/self/cgroup),
 * "." or "" the root of cgroup_path (in a container with its own cgroup namespace: the container),
 * anything else a path below cgroup_path such as "system.slice/nginx.service".
 */
const cgroupEntry = z
  .string({ error: 'expected a cgroup path below cgroup_path, "." or "self"' })
  .refine((value) => !value.split('/').includes('..'), {
    error: 'expected a cgroup path below cgroup_path, without ".."',
  });

export const hostOptions = z.strictObject({
  proc_path: dirPath('/proc'),
  sys_path: dirPath('/sys'),
  cgroup_path: dirPath('/sys/fs/cgroup'),
  filesystems: z
    .strictObject({
      exclude_types: z
        .array(z.string({ error: 'expected a filesystem type like "tmpfs"' }), {
          error: 'expected a list of filesystem types',
        })
        .default(DEFAULT_EXCLUDED_FS_TYPES),
      exclude_mounts: pattern(DEFAULT_EXCLUDED_MOUNTS),
      /** Each mount's own bound: a hung NFS server costs this much, once, then is skipped. */
      timeout: duration('2s', { ms: 10, text: '10ms' }),
    })
    .prefault({}),
  disks: z.strictObject({ exclude: pattern('^(z?ram|loop|fd)\\d+$') }).prefault({}),
  /** Loopback says nothing about the host's traffic; veth pairs come and go with containers. */
  network: z.strictObject({ exclude: pattern('^(lo|veth.*)$') }).prefault({}),
  cgroups: z.array(cgroupEntry, { error: 'expected a list of cgroup paths' }).default([]),
});

type HostOptions = z.output<typeof hostOptions>;

const counter = (name: string, value: number, labels: Record<string, string> = {}): RawSample => ({
  name,
  labels,
  value,
  type: 'counter',
});
const gauge = (name: string, value: number, labels: Record<string, string> = {}): RawSample => ({
  name,
  labels,
  value,
  type: 'gauge',
});

/** A decimal number, or undefined: Number() would take "", "0x1f" and "1e400" too. */
function num(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function fields(line: string): string[] {
  return line.trim().split(/\s+/);
}

/** Reads a kernel file; undefined when it is missing or unreadable, so its series are absent. */
export async function readKernelFile(
  path: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  signal.throwIfAborted();
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO in place of a file must not block the open until a writer comes.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    signal.throwIfAborted();
    return undefined;
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    for (;;) {
      signal.throwIfAborted();
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      size += bytesRead;
      if (size >= MAX_FILE_BYTES) {
        truncated = true;
        break;
      }
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return truncated ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  } catch {
    signal.throwIfAborted();
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

/** /proc/stat: per-CPU times (the aggregate "cpu" line is left out, as node_exporter does). */
export function parseStat(text: string): RawSample[] {
  const samples: RawSample[] = [];
  for (const line of text.split('\n')) {
    const [key = '', ...rest] = fields(line);
    const first = num(rest[0]);
    if (/^cpu\d+$/.test(key)) {
      const cpu = key.slice(3);
      CPU_MODES.forEach((mode, i) => {
        const ticks = num(rest[i]);
        if (ticks !== undefined && ticks >= 0)
          samples.push(counter('node_cpu_seconds_total', ticks / USER_HZ, { cpu, mode }));
      });
      // Guest time is already counted in user and nice; node_exporter reports it beside them.
      (['user', 'nice'] as const).forEach((mode, i) => {
        const ticks = num(rest[8 + i]);
        if (ticks !== undefined && ticks >= 0)
          samples.push(counter('node_cpu_guest_seconds_total', ticks / USER_HZ, { cpu, mode }));
      });
    } else if (first === undefined || first < 0) continue;
    else if (key === 'btime') samples.push(gauge('node_boot_time_seconds', first));
    else if (key === 'ctxt') samples.push(counter('node_context_switches_total', first));
    else if (key === 'processes') samples.push(counter('node_forks_total', first));
    else if (key === 'intr') samples.push(counter('node_intr_total', first));
    else if (key === 'procs_running') samples.push(gauge('node_procs_running', first));
    else if (key === 'procs_blocked') samples.push(gauge('node_procs_blocked', first));
  }
  return samples;
}

export function parseLoadavg(text: string): RawSample[] {
  const [one, five, fifteen] = fields(text).map(num);
  const samples: RawSample[] = [];
  if (one !== undefined) samples.push(gauge('node_load1', one));
  if (five !== undefined) samples.push(gauge('node_load5', five));
  if (fifteen !== undefined) samples.push(gauge('node_load15', fifteen));
  return samples;
}

/** /proc/meminfo, every field: "Active(anon): 12 kB" becomes node_memory_Active_anon_bytes. */
export function parseMeminfo(text: string): RawSample[] {
  const samples: RawSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z][A-Za-z0-9_()]{0,63}):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!match) continue;
    const [, key = '', digits, unit] = match;
    const value = num(digits);
    if (value === undefined) continue;
    const name = `node_memory_${key.replace(/\(/g, '_').replace(/\)/g, '')}`;
    samples.push(unit ? gauge(`${name}_bytes`, value * 1024) : gauge(name, value));
  }
  return samples;
}

/** Base units from the kernel's: sectors of 512 bytes, milliseconds. */
const fromSectors = (v: number) => v * SECTOR_BYTES;
const fromMs = (v: number) => v / 1000;
const same = (v: number) => v;

type DiskColumn = [name: string, toBase: (v: number) => number, type: RawSample['type']];

/** The columns of /proc/diskstats after major, minor and name. */
const DISK_COLUMNS: DiskColumn[] = [
  ['node_disk_reads_completed_total', same, 'counter'],
  ['node_disk_reads_merged_total', same, 'counter'],
  ['node_disk_read_bytes_total', fromSectors, 'counter'],
  ['node_disk_read_time_seconds_total', fromMs, 'counter'],
  ['node_disk_writes_completed_total', same, 'counter'],
  ['node_disk_writes_merged_total', same, 'counter'],
  ['node_disk_written_bytes_total', fromSectors, 'counter'],
  ['node_disk_write_time_seconds_total', fromMs, 'counter'],
  ['node_disk_io_now', same, 'gauge'],
  ['node_disk_io_time_seconds_total', fromMs, 'counter'],
  ['node_disk_io_time_weighted_seconds_total', fromMs, 'counter'],
];

export interface DiskFilter {
  exclude: RegExp | undefined;
  /** Whole disks (names in /sys/block); undefined when /sys cannot tell, then all are kept. */
  wholeDisks: Set<string> | undefined;
}

/** /proc/diskstats for whole disks (dm and md included), and the device names by major:minor. */
export function parseDiskstats(
  text: string,
  filter: DiskFilter,
): { samples: RawSample[]; names: Map<string, string> } {
  const samples: RawSample[] = [];
  const names = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [major, minor, device, ...rest] = fields(line);
    if (num(major) === undefined || num(minor) === undefined || !device) continue;
    names.set(`${major}:${minor}`, device);
    if (filter.exclude?.test(device) || (filter.wholeDisks && !filter.wholeDisks.has(device)))
      continue;
    DISK_COLUMNS.forEach(([name, toBase, type], i) => {
      const value = num(rest[i]);
      if (value !== undefined && value >= 0)
        samples.push({ name, labels: { device }, value: toBase(value), type });
    });
  }
  return { samples, names };
}

const NET_COLUMNS: Array<[index: number, name: string]> = [
  [0, 'node_network_receive_bytes_total'],
  [1, 'node_network_receive_packets_total'],
  [2, 'node_network_receive_errs_total'],
  [3, 'node_network_receive_drop_total'],
  [8, 'node_network_transmit_bytes_total'],
  [9, 'node_network_transmit_packets_total'],
  [10, 'node_network_transmit_errs_total'],
  [11, 'node_network_transmit_drop_total'],
];

export function parseNetDev(text: string, exclude: RegExp | undefined): RawSample[] {
  const samples: RawSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*([^\s:]+):(.*)$/.exec(line);
    if (!match) continue;
    const [, device = '', rest = ''] = match;
    if (exclude?.test(device)) continue;
    const values = fields(rest);
    for (const [index, name] of NET_COLUMNS) {
      const value = num(values[index]);
      if (value !== undefined && value >= 0) samples.push(counter(name, value, { device }));
    }
  }
  return samples;
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
export function parseMounts(text: string, options: HostOptions['filesystems']): Mount[] {
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

function filesystemSamples(mount: Mount, fs: StatsFs): RawSample[] {
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

/** "key value" lines (cpu.stat, memory.stat) as a map. */
function keyValues(text: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text?.split('\n') ?? []) {
    const [key, value] = fields(line);
    const parsed = num(value);
    if (key && parsed !== undefined && parsed >= 0) map.set(key, parsed);
  }
  return map;
}

/** cpu.stat keys with their cAdvisor names and the divisor from µs to seconds. */
const CGROUP_CPU: Array<[key: string, name: string, divisor: number]> = [
  ['usage_usec', 'container_cpu_usage_seconds_total', 1e6],
  ['user_usec', 'container_cpu_user_seconds_total', 1e6],
  ['system_usec', 'container_cpu_system_seconds_total', 1e6],
  ['nr_periods', 'container_cpu_cfs_periods_total', 1],
  ['nr_throttled', 'container_cpu_cfs_throttled_periods_total', 1],
  ['throttled_usec', 'container_cpu_cfs_throttled_seconds_total', 1e6],
];

const CGROUP_IO: Array<[key: string, name: string]> = [
  ['rbytes', 'container_fs_reads_bytes_total'],
  ['wbytes', 'container_fs_writes_bytes_total'],
  ['rios', 'container_fs_reads_total'],
  ['wios', 'container_fs_writes_total'],
];

export interface CgroupFiles {
  cpuStat?: string | undefined;
  memoryCurrent?: string | undefined;
  memoryMax?: string | undefined;
  memoryStat?: string | undefined;
  ioStat?: string | undefined;
}

/** One cgroup v2 directory's files as cAdvisor-named series; io devices named by major:minor. */
export function cgroupSamples(
  cgroup: string,
  files: CgroupFiles,
  deviceNames: Map<string, string>,
): RawSample[] {
  const labels = { cgroup };
  const samples: RawSample[] = [];
  const cpu = keyValues(files.cpuStat);
  for (const [key, name, divisor] of CGROUP_CPU) {
    const value = cpu.get(key);
    if (value !== undefined) samples.push(counter(name, value / divisor, labels));
  }
  const current = num(files.memoryCurrent?.trim());
  if (current !== undefined) samples.push(gauge('container_memory_usage_bytes', current, labels));
  // "max" means no limit: a huge number would only mislead a usage/limit ratio.
  const limit = num(files.memoryMax?.trim());
  if (limit !== undefined) samples.push(gauge('container_memory_limit_bytes', limit, labels));
  const memory = keyValues(files.memoryStat);
  const anon = memory.get('anon');
  const file = memory.get('file');
  const inactiveFile = memory.get('inactive_file');
  if (anon !== undefined) samples.push(gauge('container_memory_rss', anon, labels));
  if (file !== undefined) samples.push(gauge('container_memory_cache', file, labels));
  if (current !== undefined && inactiveFile !== undefined) {
    const workingSet = Math.max(0, current - inactiveFile);
    samples.push(gauge('container_memory_working_set_bytes', workingSet, labels));
  }
  for (const line of files.ioStat?.split('\n') ?? []) {
    const [majorMinor, ...pairs] = fields(line);
    if (!majorMinor || !/^\d+:\d+$/.test(majorMinor)) continue;
    const device = deviceNames.get(majorMinor) ?? majorMinor;
    const stats = new Map(pairs.map((pair) => pair.split('=') as [string, string | undefined]));
    for (const [key, name] of CGROUP_IO) {
      const value = num(stats.get(key));
      if (value !== undefined && value >= 0) samples.push(counter(name, value, { cgroup, device }));
    }
  }
  return samples;
}

/** The agent's own cgroup v2 path from /proc/self/cgroup ("0::/system.slice/halo.service"). */
function ownCgroup(text: string | undefined): string | undefined {
  const line = text?.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}

/** Drops repeated series (a garbage file may list cpu0 twice): the first one wins. */
function dedupe(samples: RawSample[]): RawSample[] {
  const seen = new Set<string>();
  return samples.filter((sample) => {
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function wholeDisks(sysPath: string): Promise<Set<string> | undefined> {
  try {
    // /sys/block writes the "/" of names like cciss/c0d0 as "!".
    return new Set((await readdir(join(sysPath, 'block'))).map((n) => n.replace(/!/g, '/')));
  } catch {
    return undefined;
  }
}

export const hostSource: SourceDefinition<typeof hostOptions> = {
  type: 'host',
  options: hostOptions,
  create(options, deps): Source {
    const pending = new Set<string>();
    const logger = deps.logger.child({ module: 'host', source: deps.name });
    const proc = (file: string) => join(options.proc_path, file);

    async function collectCgroups(signal: AbortSignal, deviceNames: Map<string, string>) {
      if (options.cgroups.length === 0) return [];
      // Without cgroup.controllers this is no cgroup v2 tree (v1, hybrid or hidden): no series.
      const root = options.cgroup_path;
      if ((await readKernelFile(join(root, 'cgroup.controllers'), signal)) === undefined) return [];
      const self = options.cgroups.includes('self')
        ? ownCgroup(await readKernelFile(proc('self/cgroup'), signal))
        : undefined;
      const samples: RawSample[] = [];
      for (const entry of options.cgroups) {
        const path = entry === 'self' ? self : entry;
        if (path === undefined) continue;
        const relative = path.split('/').filter((part) => part !== '' && part !== '.');
        const dir = join(root, ...relative);
        const read = (file: string) => readKernelFile(join(dir, file), signal);
        const [cpuStat, memoryCurrent, memoryMax, memoryStat, ioStat] = await Promise.all(
          ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'io.stat'].map(read),
        );
        const files = { cpuStat, memoryCurrent, memoryMax, memoryStat, ioStat };
        samples.push(...cgroupSamples(`/${relative.join('/')}`, files, deviceNames));
      }
      return samples;
    }

    async function collectFilesystems(mountsText: string | undefined, signal: AbortSignal) {
      const mounts = mountsText ? parseMounts(mountsText, options.filesystems) : [];
      const timeoutMs = options.filesystems.timeout.ms;
      const bound = { timeoutMs, signal, pending, logger };
      const results = await Promise.all(mounts.map((m) => boundedStatfs(m.mountpoint, bound)));
      return mounts.flatMap((mount, i) => {
        const fs = results[i];
        return fs ? filesystemSamples(mount, fs) : [];
      });
    }

    return {
      name: deps.name,
      type: 'host',
      async collect(ctx) {
        const procInfo = await stat(options.proc_path).catch((err: NodeJS.ErrnoException) => {
          throw new Error(`read ${options.proc_path}: ${err.code ?? err.message}`);
        });
        if (!procInfo.isDirectory()) throw new Error(`read ${options.proc_path}: not a directory`);
        const read = (file: string) => readKernelFile(proc(file), ctx.signal);
        const [statText, loadavg, meminfo, diskstats, netDev, mounts, disks] = await Promise.all([
          read('stat'),
          read('loadavg'),
          read('meminfo'),
          read('diskstats'),
          read('net/dev'),
          read('mounts'),
          wholeDisks(options.sys_path),
        ]);
        const diskFilter = { exclude: options.disks.exclude, wholeDisks: disks };
        const disk = parseDiskstats(diskstats ?? '', diskFilter);
        const [filesystems, cgroups] = await Promise.all([
          collectFilesystems(mounts, ctx.signal),
          collectCgroups(ctx.signal, disk.names),
        ]);
        const samples = [
          ...parseStat(statText ?? ''),
          ...parseLoadavg(loadavg ?? ''),
          ...parseMeminfo(meminfo ?? ''),
          ...disk.samples,
          ...parseNetDev(netDev ?? '', options.network.exclude),
          ...filesystems,
          ...cgroups,
        ];
        return { samples: dedupe(samples) };
      },
    };
  },
};
