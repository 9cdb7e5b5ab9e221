// cgroup v2: one cgroup directory's cpu, memory and io files as cAdvisor-named series.

import type { RawSample } from '../types.ts';
import { counter, fields, gauge, num } from './kernel-files.ts';

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
export function ownCgroup(text: string | undefined): string | undefined {
  const line = text?.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}
