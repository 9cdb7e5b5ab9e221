// The payload of bench/compare: host-agent Prometheus text with timestamps, scrape-major like
// concatenated scrapes, half counters and half gauges per host, written to a file as it is made.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface PayloadShape {
  hosts: number;
  seriesPerHost: number;
  scrapes: number;
  /** Milliseconds between scrapes; scrape i (0-based) is at now − (scrapes − i) × interval. */
  intervalMs?: number;
}

export interface Payload {
  bytes: number;
  samples: number;
  /** Counter series: Halo stores nothing for the first point of each (its baseline). */
  counterSeries: number;
}

const TIERS = ['web', 'app', 'db', 'cache'];
const CPU_MODES = ['user', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
const MEMORY_FIELDS = [
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'Buffers',
  'Cached',
  'SwapCached',
  'Active',
  'Inactive',
  'Dirty',
  'Writeback',
  'AnonPages',
  'Mapped',
  'Shmem',
  'Slab',
  'SReclaimable',
  'SUnreclaim',
  'KernelStack',
  'PageTables',
  'Committed_AS',
  'VmallocUsed',
];

interface Series {
  /** `{tier=…,host=…,service=…,…}` rendered once per host. */
  labels: string;
  base: number;
  /** Counters: increase per second; gauges: amplitude of the swing. */
  rate: number;
  phase: number;
}

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  series: Series[];
  /** The value of a series of this family at `uptime` seconds. */
  value: (s: Series, uptime: number) => string;
}

/** A deterministic pseudo-random number in [0, 1) from two integers. */
function noise(a: number, b: number): number {
  let x = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x27d4eb2f, 0xc2b2ae35);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  return (x >>> 0) / 2 ** 32;
}

const seconds = (s: Series, uptime: number) => (s.base + s.rate * uptime).toFixed(2);
const bytes = (s: Series, uptime: number) => String(Math.round(s.base + s.rate * uptime));
const gauge = (s: Series, uptime: number) =>
  String(Math.round(s.base + s.rate * Math.sin(uptime / 300 + s.phase)));

/** The families of one host: `counters` counter series and `gauges` gauge series. */
function hostFamilies(host: number, counters: number, gauges: number): Family[] {
  const common = `tier="${TIERS[host % TIERS.length]}",host="host-${String(host).padStart(3, '0')}",service="node"`;
  const make = (k: number, extra: string, base: number, rate: number): Series => ({
    labels: extra ? `{${common},${extra}}` : `{${common}}`,
    base,
    rate,
    phase: noise(host, k) * 6.28,
  });
  const cpu: Series[] = [];
  const rx: Series[] = [];
  const tx: Series[] = [];
  const disk: Series[] = [];
  for (let k = 0; k < counters; k++) {
    const r = noise(host, k);
    const slot = Math.floor(k / 4);
    if (k % 4 === 0) {
      const mode = CPU_MODES[slot % CPU_MODES.length]!;
      const extra = `cpu="${Math.floor(slot / CPU_MODES.length)}",mode="${mode}"`;
      cpu.push(make(k, extra, 1e5 * r, mode === 'idle' ? 0.8 : 0.05 * r));
    } else if (k % 4 === 1) rx.push(make(k, `device="eth${slot}"`, 1e12 * r, 1e6 * r));
    else if (k % 4 === 2) tx.push(make(k, `device="eth${slot}"`, 5e11 * r, 4e5 * r));
    else disk.push(make(k, `device="sd${slot}"`, 1e11 * r, 2e5 * r));
  }
  const memory: Family[] = [];
  const fsAvail: Series[] = [];
  const fsFiles: Series[] = [];
  for (let k = 0; k < gauges; k++) {
    const r = noise(host + 7919, k);
    const field = MEMORY_FIELDS[k];
    if (field !== undefined && k < gauges / 4) {
      memory.push({
        name: `node_memory_${field}_bytes`,
        type: 'gauge',
        series: [make(k, '', 4e9 + 8e9 * r, 2e8 * r)],
        value: gauge,
      });
    } else if (k % 2 === 0) {
      const extra = `mountpoint="/data/${k}",device="/dev/vd${k}"`;
      fsAvail.push(make(k, extra, 1e11 * r + 1e10, 1e9 * r));
    } else {
      const extra = `mountpoint="/data/${k}",device="/dev/vd${k}"`;
      fsFiles.push(make(k, extra, 1e7 * r + 1e6, 1e5 * r));
    }
  }
  const families: Family[] = [
    { name: 'node_cpu_seconds_total', type: 'counter', series: cpu, value: seconds },
    { name: 'node_network_receive_bytes_total', type: 'counter', series: rx, value: bytes },
    { name: 'node_network_transmit_bytes_total', type: 'counter', series: tx, value: bytes },
    { name: 'node_disk_read_bytes_total', type: 'counter', series: disk, value: bytes },
    ...memory,
    { name: 'node_filesystem_avail_bytes', type: 'gauge', series: fsAvail, value: gauge },
    { name: 'node_filesystem_files_free', type: 'gauge', series: fsFiles, value: gauge },
  ];
  return families.filter((f) => f.series.length > 0);
}

/** Writes the payload to `path`, one host's scrape at a time, and says what it holds. */
export async function writePayload(path: string, shape: PayloadShape): Promise<Payload> {
  const { hosts, seriesPerHost, scrapes } = shape;
  const intervalMs = shape.intervalMs ?? 15_000;
  const counters = Math.ceil(seriesPerHost / 2);
  const perHost = Array.from({ length: hosts }, (_, h) =>
    hostFamilies(h, counters, seriesPerHost - counters),
  );
  const out = createWriteStream(path);
  const now = Date.now();
  // The hosts booted 30 days ago: counters count from there.
  const boot = now - 30 * 86_400_000;
  let samples = 0;
  for (let i = 0; i < scrapes; i++) {
    const ts = now - (scrapes - i) * intervalMs;
    const uptime = (ts - boot) / 1000;
    for (const families of perHost) {
      let chunk = '';
      for (const f of families) {
        chunk += `# TYPE ${f.name} ${f.type}\n`;
        for (const s of f.series) chunk += `${f.name}${s.labels} ${f.value(s, uptime)} ${ts}\n`;
        samples += f.series.length;
      }
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return { bytes: out.bytesWritten, samples, counterSeries: hosts * counters };
}
