// Members of a tier kind for the overview: hosts seen, hosts up at the end of the range, redundancy.

import { TABLES } from '../core/conventions.ts';
import { RECENT, SEEN_IN_RANGE, table, inSelection } from './common.ts';
import { quoteLiteral } from './macros.ts';

export interface Membership {
  /** `halo_source_up{type}` values that make a host a member. */
  types: readonly string[];
  /**
   * Only sources that also export one of these metrics (by the `source` label), e.g. the
   * `prometheus` sources that scrape an application's `http_requests_total` and not node_exporter.
   */
  exporting?: readonly string[];
}

const list = (values: readonly string[]): string => values.map(quoteLiteral).join(', ');

/** The member sources seen in the range: `tier`, `host`, `source`. */
function memberSources(m: Membership): string {
  const exporting = m.exporting
    ? `\n      AND (tier, host, labels['source']) IN (\n` +
      `        SELECT tier, host, labels['source'] FROM ${table(TABLES.series)}\n` +
      `        WHERE name IN (${list(m.exporting)}) AND ${inSelection('tier', 'tier')} AND ${SEEN_IN_RANGE}\n` +
      `      )`
    : '';
  return (
    `SELECT DISTINCT tier, host, labels['source'] AS source\n` +
    `    FROM ${table(TABLES.series)}\n` +
    `    WHERE name = 'halo_source_up' AND labels['type'] IN (${list(m.types)})\n` +
    `      AND ${inSelection('tier', 'tier')} AND ${SEEN_IN_RANGE}${exporting}`
  );
}

/** Sources whose latest collection in the last five minutes of the range succeeded. */
function upSources(m: Membership): string {
  return (
    `SELECT tier, host, source FROM (\n` +
    `        SELECT tier, host, labels['source'] AS source, argMax(value, ts) AS latest\n` +
    `        FROM ${table(TABLES.samples)}\n` +
    `        WHERE name = 'halo_source_up' AND labels['type'] IN (${list(m.types)})\n` +
    `          AND ${inSelection('tier', 'tier')} AND ${RECENT}\n` +
    `        GROUP BY tier, host, source\n` +
    `      ) WHERE latest = 1`
  );
}

/**
 * One row, `up` and `total`: member hosts seen in the range, and those with at least one source
 * of the kind up in its latest collection of the range's last five minutes. Reads the series
 * table and five minutes of raw samples, whatever the range.
 */
export function membersSql(m: Membership): string {
  return `SELECT toUInt32(countIf(host_up)) AS up, toUInt32(count()) AS total
FROM (
  SELECT tier, host, max((tier, host, source) IN (
      ${upSources(m)}
    )) AS host_up
  FROM (
    ${memberSources(m)}
  )
  GROUP BY tier, host
)`;
}

/** The redundancy states, as the stat's value mappings: value, text, colour. */
export const REDUNDANCY: ReadonlyArray<readonly [number, string, string]> = [
  [0, 'no members', 'text'],
  [1, 'down', 'red'],
  [2, 'no redundancy', 'yellow'],
  [3, 'single point of failure', 'orange'],
  [4, 'redundant, degraded', 'yellow'],
  [5, 'redundant', 'green'],
];

/** One row, `state`: a REDUNDANCY value from the members up and seen. */
export function redundancySql(m: Membership): string {
  return `SELECT toUInt8(multiIf(total = 0, 0, up = 0, 1, total = 1, 2, up = 1, 3, up < total, 4, 5)) AS state
FROM (
${membersSql(m)}
)`;
}
