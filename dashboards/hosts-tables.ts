// Current-state tables of the Hosts dashboard, read from the last five minutes of raw samples.

import { TABLES } from '../core/conventions.ts';
import { SEEN_IN_RANGE, table, inSelection } from './common.ts';
import { recentWhere } from './tier-tables.ts';

const SAMPLES = table(TABLES.samples);

/** Per host, the largest over its sources (a host may run the host source and node_exporter). */
const perSource = (value: string, names: readonly string[], extra = '') =>
  `SELECT tier, host, max(v) AS v FROM (
      SELECT tier, host, ${value} AS v
      FROM ${SAMPLES}
      WHERE ${recentWhere(names)}${extra}
      GROUP BY tier, host, labels['source']
    ) GROUP BY tier, host`;

/**
 * One row per host seen in the range with node_* series or a host source: CPU busy over the last
 * five minutes, and the latest memory used, fullest filesystem, load1 and host-source state.
 * Columns are NULL (not 0) where a host sent nothing recent.
 */
export function hostTableSql(): string {
  const join = (sql: string, alias: string) =>
    `LEFT JOIN (\n    ${sql}\n  ) AS ${alias} ON ${alias}.tier = h.tier AND ${alias}.host = h.host`;
  const cpu = perSource(
    `sumIf(value, labels['mode'] NOT IN ('idle', 'iowait')) / nullIf(sum(value), 0)`,
    ['node_cpu_seconds_total'],
  );
  const memory = perSource(
    `1 - argMaxIfOrNull(value, ts, name = 'node_memory_MemAvailable_bytes') / nullIf(argMaxIf(value, ts, name = 'node_memory_MemTotal_bytes'), 0)`,
    ['node_memory_MemAvailable_bytes', 'node_memory_MemTotal_bytes'],
  );
  const filesystems = `SELECT tier, host, max(v) AS v FROM (
      SELECT tier, host, 1 - argMaxIfOrNull(value, ts, name = 'node_filesystem_avail_bytes') / nullIf(argMaxIf(value, ts, name = 'node_filesystem_size_bytes'), 0) AS v
      FROM ${SAMPLES}
      WHERE ${recentWhere(['node_filesystem_avail_bytes', 'node_filesystem_size_bytes'])}
      GROUP BY tier, host, labels['source'], labels['mountpoint']
    ) GROUP BY tier, host`;
  const load = perSource('argMax(value, ts)', ['node_load1']);
  const up = perSource(
    'argMax(value, ts)',
    ['halo_source_up'],
    `\n      AND labels['type'] = 'host'`,
  );
  return `SELECT h.host AS host, h.tier AS tier, c.v AS cpu_busy, m.v AS mem_used,
  f.v AS fs_max_used, l.v AS load1, u.v AS up
FROM (
  SELECT DISTINCT tier, host FROM ${table(TABLES.series)}
  WHERE (startsWith(name, 'node_') OR (name = 'halo_source_up' AND labels['type'] = 'host'))
    AND ${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')} AND ${SEEN_IN_RANGE}
) AS h
${join(cpu, 'c')}
${join(memory, 'm')}
${join(filesystems, 'f')}
${join(load, 'l')}
${join(up, 'u')}
ORDER BY cpu_busy DESC, host
SETTINGS join_use_nulls = 1`;
}

/** One row per host and mountpoint: latest size, used, available and used share. */
export function filesystemTableSql(): string {
  return `SELECT host, mountpoint, device, fstype, size, size - avail AS used, avail,
  1 - avail / size AS used_ratio
FROM (
  SELECT host, labels['mountpoint'] AS mountpoint, any(labels['device']) AS device,
    any(labels['fstype']) AS fstype,
    argMaxIfOrNull(value, ts, name = 'node_filesystem_size_bytes') AS size,
    argMaxIfOrNull(value, ts, name = 'node_filesystem_avail_bytes') AS avail
  FROM ${SAMPLES}
  WHERE ${recentWhere(['node_filesystem_size_bytes', 'node_filesystem_avail_bytes'])}
  GROUP BY host, mountpoint
)
WHERE size > 0
ORDER BY used_ratio DESC, host, mountpoint
LIMIT 1000`;
}
