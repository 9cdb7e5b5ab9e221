// Redis 7's INFO text for the demo's cache-1: the sections and fields a real 7.0 server writes,
// with the simulated counters in them.

import type { RedisState } from './state.ts';

const REDIS_VERSION = '7.0.15';
const RUN_ID = '5f0c1e9d2b7a4c3e8d6f1a0b9c8e7d6f5a4b3c2d';
const REPL_ID = 'e3447be756a8a13ca0e25e9492be846ef9872544';

/** What the simulated server's memory looks like for its key count. */
export function redisMemory(r: RedisState): { used: number; rss: number } {
  const used = 1_050_000 + r.keys * 560;
  return { used, rss: Math.round(used * 1.21) + 7_340_032 };
}

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes}B` : `${value.toFixed(2)}${units[unit]}`;
}

type Section = (r: RedisState, now: number) => Array<[string, string | number]>;

const SECTIONS: Record<string, Section> = {
  server: (r, now) => {
    const uptime = Math.floor((now - r.startedAt) / 1000);
    return [
      ['redis_version', REDIS_VERSION],
      ['redis_git_sha1', '00000000'],
      ['redis_git_dirty', 0],
      ['redis_build_id', 'ae4d7c971a948f0'],
      ['redis_mode', 'standalone'],
      ['os', 'Linux 6.1.0-demo x86_64'],
      ['arch_bits', 64],
      ['monotonic_clock', 'POSIX clock_gettime'],
      ['multiplexing_api', 'epoll'],
      ['atomicvar_api', 'c11-builtin'],
      ['gcc_version', '12.2.0'],
      ['process_id', 4242],
      ['process_supervised', 'systemd'],
      ['run_id', RUN_ID],
      ['tcp_port', r.port],
      ['server_time_usec', now * 1000],
      ['uptime_in_seconds', uptime],
      ['uptime_in_days', Math.floor(uptime / 86_400)],
      ['hz', 10],
      ['configured_hz', 10],
      ['lru_clock', Math.floor(now / 1000) % 16_777_216],
      ['executable', '/usr/bin/redis-server'],
      ['config_file', '/etc/redis/redis.conf'],
      ['io_threads_active', 0],
    ];
  },
  clients: (r) => [
    ['connected_clients', r.connectedClients],
    ['cluster_connections', 0],
    ['maxclients', 10_000],
    ['client_recent_max_input_buffer', 20_480],
    ['client_recent_max_output_buffer', 0],
    ['blocked_clients', 0],
    ['tracking_clients', 0],
    ['clients_in_timeout_table', 0],
  ],
  memory: (r) => {
    const { used, rss } = redisMemory(r);
    return [
      ['used_memory', used],
      ['used_memory_human', human(used)],
      ['used_memory_rss', rss],
      ['used_memory_rss_human', human(rss)],
      ['used_memory_peak', used],
      ['used_memory_peak_human', human(used)],
      ['used_memory_overhead', 876_312],
      ['used_memory_startup', 876_040],
      ['used_memory_dataset', used - 876_312],
      ['total_system_memory', 8_331_268_096],
      ['total_system_memory_human', human(8_331_268_096)],
      ['maxmemory', r.maxmemory],
      ['maxmemory_human', human(r.maxmemory)],
      ['maxmemory_policy', 'allkeys-lru'],
      ['mem_fragmentation_ratio', (rss / used).toFixed(2)],
      ['mem_fragmentation_bytes', rss - used],
      ['mem_allocator', 'jemalloc-5.3.0'],
      ['active_defrag_running', 0],
      ['lazyfree_pending_objects', 0],
      ['lazyfreed_objects', 0],
    ];
  },
  persistence: (r) => [
    ['loading', 0],
    ['async_loading', 0],
    ['rdb_changes_since_last_save', r.changesSinceSave],
    ['rdb_bgsave_in_progress', 0],
    ['rdb_last_save_time', Math.floor(r.lastSaveAt / 1000)],
    ['rdb_last_bgsave_status', 'ok'],
    ['rdb_last_bgsave_time_sec', r.saves > 0 ? 0 : -1],
    ['rdb_current_bgsave_time_sec', -1],
    ['rdb_saves', r.saves],
    ['aof_enabled', 0],
    ['aof_rewrite_in_progress', 0],
    ['aof_rewrite_scheduled', 0],
    ['aof_last_rewrite_time_sec', -1],
    ['aof_current_rewrite_time_sec', -1],
    ['aof_last_bgrewrite_status', 'ok'],
    ['aof_last_write_status', 'ok'],
    ['module_fork_in_progress', 0],
    ['module_fork_last_cow_size', 0],
  ],
  stats: (r) => [
    ['total_connections_received', r.connectionsReceived],
    ['total_commands_processed', r.commands],
    ['instantaneous_ops_per_sec', r.opsPerSec],
    ['total_net_input_bytes', r.netIn],
    ['total_net_output_bytes', r.netOut],
    ['total_net_repl_input_bytes', 0],
    ['total_net_repl_output_bytes', 0],
    ['rejected_connections', 0],
    ['sync_full', 0],
    ['sync_partial_ok', 0],
    ['sync_partial_err', 0],
    ['expired_keys', r.expired],
    ['expired_stale_perc', '0.00'],
    ['expired_time_cap_reached_count', 0],
    ['evicted_keys', r.evicted],
    ['evicted_clients', 0],
    ['keyspace_hits', r.hits],
    ['keyspace_misses', r.misses],
    ['pubsub_channels', 0],
    ['pubsub_patterns', 0],
    ['latest_fork_usec', r.saves > 0 ? 412 : 0],
    ['total_forks', r.saves],
    ['unexpected_error_replies', 0],
    ['total_error_replies', r.errorReplies],
    ['total_reads_processed', r.commands + r.connectionsReceived],
    ['total_writes_processed', r.commands],
  ],
  replication: () => [
    ['role', 'master'],
    ['connected_slaves', 0],
    ['master_failover_state', 'no-failover'],
    ['master_replid', REPL_ID],
    ['master_replid2', '0'.repeat(40)],
    ['master_repl_offset', 0],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
    ['repl_backlog_size', 1_048_576],
    ['repl_backlog_first_byte_offset', 0],
    ['repl_backlog_histlen', 0],
  ],
  cpu: (r) => [
    ['used_cpu_sys', (r.cpuSeconds * 0.4).toFixed(6)],
    ['used_cpu_user', (r.cpuSeconds * 0.6).toFixed(6)],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
  ],
  modules: () => [],
  errorstats: (r) => (r.errorReplies > 0 ? [['errorstat_LOADING', `count=${r.errorReplies}`]] : []),
  cluster: () => [['cluster_enabled', 0]],
  keyspace: (r) => [['db0', `keys=${r.keys},expires=${r.expires},avg_ttl=1800000`]],
};

const TITLES: Record<string, string> = { cpu: 'CPU', errorstats: 'Errorstats' };

/** Sections INFO without an argument (or with default, all, everything) returns. */
const DEFAULT_SECTIONS = Object.keys(SECTIONS);

/** INFO [section …]: each section as Redis writes it, CRLF line ends; unknown sections add nothing. */
export function redisInfo(r: RedisState, now: number, sections: readonly string[] = []): string {
  const asked = sections.map((s) => s.toLowerCase());
  const names =
    asked.length === 0 || asked.some((s) => ['default', 'all', 'everything'].includes(s))
      ? DEFAULT_SECTIONS
      : DEFAULT_SECTIONS.filter((name) => asked.includes(name));
  return names
    .map((name) => {
      const title = TITLES[name] ?? name[0]!.toUpperCase() + name.slice(1);
      const lines = SECTIONS[name]!(r, now).map(([key, value]) => `${key}:${value}\r\n`);
      return `# ${title}\r\n${lines.join('')}`;
    })
    .join('\r\n');
}
