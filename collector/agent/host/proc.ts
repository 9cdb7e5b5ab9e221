// Parsers of /proc text (stat, loadavg, meminfo, diskstats, net/dev); whole disks from /sys/block.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RawSample } from '../types.ts';
import { counter, fields, gauge, num } from './kernel-files.ts';

/** The kernel's clock tick for /proc/stat (USER_HZ), 100 on every Linux ABI node_exporter knows. */
const USER_HZ = 100;
const SECTOR_BYTES = 512;

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

export async function wholeDisks(sysPath: string): Promise<Set<string> | undefined> {
  try {
    // /sys/block writes the "/" of names like cciss/c0d0 as "!".
    return new Set((await readdir(join(sysPath, 'block'))).map((n) => n.replace(/!/g, '/')));
  } catch {
    return undefined;
  }
}
