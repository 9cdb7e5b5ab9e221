// Builds the DDL of one table for the store's mode: MergeTree on one node, or
// Replicated*MergeTree `_local` tables with a Distributed table in front on a cluster.

export interface DdlContext {
  database: string;
  /** Cluster name; undefined on a single node (embedded chDB or one server). */
  cluster: string | undefined;
  /** Retention of each table in seconds, from config. */
  ttlSeconds: Record<string, number>;
}

export interface TableSpec {
  name: string;
  columns: readonly string[];
  indexes?: readonly string[];
  /** MergeTree family member without the Replicated prefix: MergeTree, AggregatingMergeTree… */
  engine: string;
  engineArgs?: string;
  partitionBy?: string;
  orderBy: string;
  /** TTL expression before the interval, e.g. "toDateTime(ts)"; the interval comes from ttlSeconds. */
  ttl?: string;
  settings?: Record<string, string | number>;
  /** Distributed sharding key on a cluster. */
  shardBy?: string;
  /** Tables receiving batch inserts keep a deduplication window (see the ingester). */
  dedupWindow?: number;
}

export function qualified(ctx: DdlContext, table: string): string {
  return `${ctx.database}.${table}`;
}

/** Name of the table that holds the rows: `<name>_local` on a cluster. */
export function storageName(ctx: DdlContext, table: string): string {
  return ctx.cluster ? `${table}_local` : table;
}

export function onCluster(ctx: DdlContext): string {
  return ctx.cluster ? ` ON CLUSTER ${ctx.cluster}` : '';
}

export function ttlClause(ctx: DdlContext, table: string, expr: string): string {
  const seconds = ctx.ttlSeconds[table];
  if (seconds === undefined) throw new Error(`no retention configured for table ${table}`);
  return `${expr} + toIntervalSecond(${seconds})`;
}

export function createTable(ctx: DdlContext, spec: TableSpec): string[] {
  const local = storageName(ctx, spec.name);
  const args = spec.engineArgs ? `, ${spec.engineArgs}` : '';
  const engine = ctx.cluster
    ? `Replicated${spec.engine}('/clickhouse/tables/{shard}/{database}/${local}', '{replica}'${args})`
    : `${spec.engine}${spec.engineArgs ? `(${spec.engineArgs})` : ''}`;
  const settings: Record<string, string | number> = { ...spec.settings };
  if (spec.ttl) settings['ttl_only_drop_parts'] = 1;
  if (spec.dedupWindow !== undefined) {
    settings[
      ctx.cluster ? 'replicated_deduplication_window' : 'non_replicated_deduplication_window'
    ] = spec.dedupWindow;
  }
  const body = [...spec.columns, ...(spec.indexes ?? []).map((index) => `INDEX ${index}`)];
  const clauses = [
    `ENGINE = ${engine}`,
    spec.partitionBy ? `PARTITION BY ${spec.partitionBy}` : undefined,
    `ORDER BY ${spec.orderBy}`,
    spec.ttl ? `TTL ${ttlClause(ctx, spec.name, spec.ttl)}` : undefined,
    Object.keys(settings).length > 0
      ? `SETTINGS ${Object.entries(settings)
          .map(([key, value]) => `${key} = ${value}`)
          .join(', ')}`
      : undefined,
  ].filter((clause) => clause !== undefined);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${qualified(ctx, local)}${onCluster(ctx)}\n(\n  ${body.join(',\n  ')}\n)\n${clauses.join('\n')}`,
  ];
  if (ctx.cluster) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${qualified(ctx, spec.name)}${onCluster(ctx)} AS ${qualified(ctx, local)}\n` +
        `ENGINE = Distributed(${ctx.cluster}, ${ctx.database}, ${local}, ${spec.shardBy ?? 'rand()'})`,
    );
  }
  return statements;
}

/** A materialized view from one storage table into another (both `_local` on a cluster). */
export function createMaterializedView(
  ctx: DdlContext,
  view: { name: string; from: string; to: string; select: (from: string) => string },
): string[] {
  const from = qualified(ctx, storageName(ctx, view.from));
  return [
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(ctx, view.name)}${onCluster(ctx)}\n` +
      `TO ${qualified(ctx, storageName(ctx, view.to))}\nAS ${view.select(from)}`,
  ];
}
