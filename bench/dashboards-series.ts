// The series a fleet of Halo agents emits, for bench/dashboards: the value model ClickHouse turns
// into samples, and the host, access-log and application families with their agent names.

/**
 * How one series' value moves over the day; bench/dashboards-data.ts evaluates it in SQL. Counters
 * are per-interval deltas (what the agent publishes), so `base` is the delta over 10 s.
 */
export interface ValueModel {
  base: number;
  /** Daily swing around `base`, as a fraction (traffic peaks in the evening, UTC). */
  amp: number;
  /** Change per day as a fraction of `base` (a filling disk). */
  trend: number;
  /** Uniform noise, ± this fraction of the value. */
  noise: number;
  /** Series sharing a group share noise and rounding: histogram buckets stay monotone. */
  group: string;
  /** Whole numbers, rounded stochastically so small rates keep their mean. */
  integer: boolean;
  /** Chance per sample of a 0 (a failed probe, a missed scrape). */
  flap: number;
  /** Factor during the incident hour. */
  incident: number;
  /** 1: the series exists only during the incident; -1: only outside it; 0: always. */
  during: -1 | 0 | 1;
}

export interface SeriesSpec extends ValueModel {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
}

export type Metric = Omit<SeriesSpec, 'tier' | 'host' | 'service'>;
export type Opts = Partial<ValueModel>;

const model = (base: number, opts: Opts): ValueModel => ({
  base,
  amp: 0,
  trend: 0,
  noise: 0,
  group: '',
  integer: false,
  flap: 0,
  incident: 1,
  during: 0,
  ...opts,
});
export const TRAFFIC = { amp: 0.45, noise: 0.15 };
/** A gauge's value. */
export const g = (
  name: string,
  labels: Record<string, string>,
  base: number,
  opts: Opts = {},
): Metric => ({
  name,
  labels,
  ...model(base, opts),
});
/** A counter's delta per 10 s for a rate per second. */
export const c = (
  name: string,
  labels: Record<string, string>,
  perSecond: number,
  opts: Opts = {},
) => g(name, labels, perSecond * 10, { integer: true, ...TRAFFIC, ...opts });

export const GiB = 2 ** 30;
const CPU_MODES: Array<[string, number]> = [
  ['user', 0.25],
  ['nice', 0.002],
  ['system', 0.08],
  ['idle', 0.63],
  ['iowait', 0.02],
  ['irq', 0.001],
  ['softirq', 0.01],
  ['steal', 0.005],
];

/** node_exporter and cAdvisor names from collector/agent/host: 56 series a host, 61 with 3 cgroups. */
export function hostSeries(load: number, cgroups: string[]): Metric[] {
  const out: Metric[] = [];
  for (const cpu of ['0', '1'])
    for (const [mode, share] of CPU_MODES) {
      const busy = mode === 'idle' ? 1 - load * 0.37 : share * load;
      out.push(c('node_cpu_seconds_total', { cpu, mode }, busy, { integer: false }));
    }
  const mem = 16 * GiB;
  out.push(
    g('node_memory_MemTotal_bytes', {}, mem),
    g('node_memory_MemAvailable_bytes', {}, mem * (0.7 - 0.3 * load), { amp: 0.1, noise: 0.02 }),
    g('node_memory_MemFree_bytes', {}, mem * 0.2, { amp: 0.1, noise: 0.03 }),
    g('node_memory_Cached_bytes', {}, mem * 0.35, { noise: 0.01 }),
    g('node_memory_Buffers_bytes', {}, mem * 0.02, { noise: 0.01 }),
    g('node_memory_SwapTotal_bytes', {}, 2 * GiB),
    g('node_memory_SwapFree_bytes', {}, 1.9 * GiB, { noise: 0.005 }),
    g('node_load1', {}, 2 * load, { ...TRAFFIC, noise: 0.3, incident: 1.6 }),
    g('node_load5', {}, 2 * load, { ...TRAFFIC, noise: 0.1, incident: 1.5 }),
    g('node_load15', {}, 2 * load, { ...TRAFFIC, noise: 0.05, incident: 1.3 }),
  );
  const mounts = [
    { device: '/dev/vda1', fstype: 'ext4', mountpoint: '/', size: 80 * GiB, used: 0.42 },
    { device: '/dev/vdb', fstype: 'xfs', mountpoint: '/var/lib', size: 200 * GiB, used: 0.55 },
  ];
  for (const { size, used, ...labels } of mounts) {
    out.push(
      g('node_filesystem_size_bytes', labels, size),
      g('node_filesystem_avail_bytes', labels, size * (1 - used), { trend: -0.01 }),
      g('node_filesystem_free_bytes', labels, size * (1.05 - used), { trend: -0.01 }),
    );
  }
  for (const device of ['vda', 'vdb']) {
    out.push(
      c('node_disk_read_bytes_total', { device }, 2e6 * load),
      c('node_disk_written_bytes_total', { device }, 5e6 * load),
      c('node_disk_io_time_seconds_total', { device }, 0.08 * load, { integer: false }),
    );
  }
  const eth0 = { device: 'eth0' };
  for (const dir of ['receive', 'transmit']) {
    out.push(
      c(`node_network_${dir}_bytes_total`, eth0, 4e6 * load),
      c(`node_network_${dir}_packets_total`, eth0, 4000 * load),
      c(`node_network_${dir}_errs_total`, eth0, 0.001),
      c(`node_network_${dir}_drop_total`, eth0, 0.02),
    );
  }
  for (const cgroup of ['/system.slice/halo-agent.service', ...cgroups]) {
    const agent = cgroup.includes('halo');
    const cpu = agent ? 0.01 : load * 0.6;
    const memory = agent ? 120e6 : 6 * GiB * load;
    out.push(
      c('container_cpu_usage_seconds_total', { cgroup }, cpu * 2, { integer: false }),
      c('container_cpu_cfs_throttled_seconds_total', { cgroup }, cpu * 0.01, { integer: false }),
      g('container_memory_usage_bytes', { cgroup }, memory, { ...TRAFFIC, amp: 0.1 }),
      g('container_memory_working_set_bytes', { cgroup }, memory * 0.8, { amp: 0.1, noise: 0.05 }),
      g('container_memory_limit_bytes', { cgroup }, agent ? 512e6 : 12 * GiB),
    );
  }
  return out;
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CDF = [0.05, 0.15, 0.4, 0.65, 0.82, 0.93, 0.97, 0.99, 0.997, 0.999, 0.9998];
const CDF_INCIDENT = [0.01, 0.04, 0.12, 0.25, 0.45, 0.7, 0.85, 0.94, 0.98, 0.995, 0.999];

/** http_request_duration_seconds: buckets (le as the agent formats them), sum and count. */
function histogram(perSecond: number, group: string, incident: boolean, labels = {}): Metric[] {
  const name = 'http_request_duration_seconds';
  const shared = { group, noise: 0.15 };
  const out = BUCKETS.map((le, i) =>
    c(`${name}_bucket`, { ...labels, le: String(le) }, perSecond * CDF[i]!, {
      ...shared,
      incident: incident ? CDF_INCIDENT[i]! / CDF[i]! : 1,
    }),
  );
  out.push(
    c(`${name}_bucket`, { ...labels, le: '+Inf' }, perSecond, shared),
    c(`${name}_sum`, labels, perSecond * 0.06, {
      ...shared,
      integer: false,
      incident: incident ? 3 : 1,
    }),
    c(`${name}_count`, labels, perSecond, shared),
  );
  return out;
}

export const share = (weights: Record<string, number>) => Object.entries(weights);

/** The access-log metrics of a web host (collector/agent/logs/access-metrics.ts): every series. */
export function accessLogSeries(perSecond: number, host: string): Metric[] {
  const methods = share({
    GET: 0.8,
    HEAD: 0.03,
    POST: 0.12,
    PUT: 0.02,
    DELETE: 0.01,
    PATCH: 0.01,
    OPTIONS: 0.01,
    OTHER: 0.0001,
  });
  const classes = share({ '1xx': 0.0001, '2xx': 0.9, '3xx': 0.06, '4xx': 0.035, '5xx': 0.004 });
  const out: Metric[] = [];
  for (const [method, m] of methods)
    for (const [status_class, s] of classes)
      out.push(
        c('http_requests_total', { status_class, method }, perSecond * m * s, {
          incident: status_class === '5xx' ? 12 : 1,
        }),
      );
  return [...out, ...histogram(perSecond, `${host}/access`, true)];
}

/** An application's own /metrics (prometheus source): requests by code and method, latency. */
export function appSeries(perSecond: number, host: string, hit: boolean): Metric[] {
  const codes = share({
    '200': 0.8,
    '201': 0.05,
    '304': 0.08,
    '400': 0.015,
    '404': 0.04,
    '500': 0.003,
    '503': 0.002,
  });
  const methods = share({ GET: 0.75, POST: 0.2, PUT: 0.05 });
  const out: Metric[] = [];
  for (const [method, m] of methods)
    for (const [code, s] of codes)
      out.push(
        c('http_requests_total', { code, method }, perSecond * m * s, {
          incident: hit && code.startsWith('5') ? 40 : 1,
        }),
      );
  out.push(
    ...histogram(perSecond, `${host}/app`, hit),
    c('process_cpu_seconds_total', {}, 0.6, { integer: false }),
    g('process_resident_memory_bytes', {}, 900e6, { noise: 0.05, amp: 0.1 }),
    g('nodejs_eventloop_lag_seconds', {}, 0.004, { noise: 0.5, incident: hit ? 5 : 1 }),
  );
  return out;
}
