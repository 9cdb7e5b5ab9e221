// A panel target for the official grafana-clickhouse-datasource plugin, which the SDK has no type for.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';

export const CLICKHOUSE_DATASOURCE_TYPE = 'grafana-clickhouse-datasource';

/**
 * How the backend shapes the result frame. The plugin reads `format` into sqlds'
 * `sqlutil.FormatQueryOption` (grafana-plugin-sdk-go data/sqlutil/query.go), an iota enum:
 * `FormatOptionTimeSeries = iota` (0), `FormatOptionTable` (1), `FormatOptionLogs` (2),
 * `FormatOptionTrace` (3), `FormatOptionMulti` (4). So 0 is time series, not table.
 */
export const FORMAT = {
  timeSeries: 0,
  table: 1,
  logs: 2,
  traces: 3,
} as const;
export type ClickHouseFormat = (typeof FORMAT)[keyof typeof FORMAT];

/**
 * The plugin's `QueryType` enum (grafana/clickhouse-datasource src/types/sql.ts):
 * `Table = 'table'`, `Logs = 'logs'`, `TimeSeries = 'timeSeries'`, `Traces = 'traces'`.
 * Note the camel case of 'timeSeries': 'timeseries' matches no member.
 */
export const QUERY_TYPE = {
  table: 'table',
  timeSeries: 'timeSeries',
  logs: 'logs',
  traces: 'traces',
} as const;
export type ClickHouseQueryType = (typeof QUERY_TYPE)[keyof typeof QUERY_TYPE];

export interface ClickHouseDatasourceRef {
  type: typeof CLICKHOUSE_DATASOURCE_TYPE;
  uid: string;
}

/** The target as the plugin stores it in dashboard JSON (its `CHSqlQuery`). */
export interface ClickHouseQuery {
  refId: string;
  datasource: ClickHouseDatasourceRef;
  editorType: 'sql';
  rawSql: string;
  format: ClickHouseFormat;
  queryType: ClickHouseQueryType;
  pluginVersion?: string;
  // Marks the object as a cog.Dataquery; a function, so JSON.stringify leaves it out.
  _implementsDataqueryVariant(): void;
}

/** Default datasource uid: the provisioned datasource YAML uses the same one. */
export const DEFAULT_DATASOURCE_UID = 'halo-clickhouse';

export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor(rawSql = '') {
    this.internal = {
      refId: 'A',
      datasource: { type: CLICKHOUSE_DATASOURCE_TYPE, uid: DEFAULT_DATASOURCE_UID },
      editorType: 'sql',
      rawSql,
      format: FORMAT.table,
      queryType: QUERY_TYPE.table,
      _implementsDataqueryVariant() {},
    };
  }

  build(): ClickHouseQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(uid: string): this {
    this.internal.datasource = { type: CLICKHOUSE_DATASOURCE_TYPE, uid };
    return this;
  }

  rawSql(rawSql: string): this {
    this.internal.rawSql = rawSql;
    return this;
  }

  format(format: ClickHouseFormat): this {
    this.internal.format = format;
    return this;
  }

  queryType(queryType: ClickHouseQueryType): this {
    this.internal.queryType = queryType;
    return this;
  }

  pluginVersion(version: string): this {
    this.internal.pluginVersion = version;
    return this;
  }
}

export type ClickHouseQueryKind = 'table' | 'timeseries' | 'logs' | 'traces';

// Each kind sets the pair the plugin's own editor sets together.
const KINDS: Record<ClickHouseQueryKind, [ClickHouseFormat, ClickHouseQueryType]> = {
  table: [FORMAT.table, QUERY_TYPE.table],
  timeseries: [FORMAT.timeSeries, QUERY_TYPE.timeSeries],
  logs: [FORMAT.logs, QUERY_TYPE.logs],
  traces: [FORMAT.traces, QUERY_TYPE.traces],
};

/** A raw-SQL target of one kind; chain `.refId()` / `.datasource()` to change the defaults. */
export function clickhouseQuery(sql: string, kind: ClickHouseQueryKind): ClickHouseQueryBuilder {
  const [format, queryType] = KINDS[kind];
  return new ClickHouseQueryBuilder(sql).format(format).queryType(queryType);
}
