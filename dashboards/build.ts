// Writes every Halo dashboard as JSON and the Grafana provisioning files beside them, and says
// what Grafana still needs (a reachable ClickHouse, the read-only user, its password).

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { HaloConfig } from '../core/config/schema.ts';
import { TABLES } from '../core/conventions.ts';
import { ConfigError } from '../core/errors.ts';
import { DATABASE } from './common.ts';
import { DASHBOARDS, dashboardJson, type HaloDashboard } from './index.ts';
import {
  checkIdentifier,
  dashboardProviderYaml,
  datasourceYaml,
  parseClickHouseUrl,
  readonlyUserSql,
} from './provisioning.ts';

export const DEFAULT_GRAFANA_USER = 'halo_grafana';
export const DEFAULT_GRAFANA_CLICKHOUSE_URL = 'http://localhost:8123';

/** Where each file goes, relative to the output directory. */
export const OUTPUT_PATHS = {
  dashboards: 'dashboards',
  provider: join('provisioning', 'dashboards', 'halo.yaml'),
  datasource: join('provisioning', 'datasources', 'halo-clickhouse.yaml'),
  readonlyUser: join('provisioning', 'clickhouse-readonly-user.sql'),
} as const;

export interface BuildDashboardsOptions {
  /** The directory `dashboards/` and `provisioning/` are written under; made when missing. */
  outDir: string;
  /** Halo's configuration: its clickhouse url, database and cluster. The password is never read. */
  config: Pick<HaloConfig, 'clickhouse'>;
  /** The read-only ClickHouse user Grafana queries as. @default 'halo_grafana' */
  user?: string;
  /** ClickHouse as Grafana reaches it. @default clickhouse.url, else 'http://localhost:8123' */
  clickhouseUrl?: string;
  /** Where Grafana reads the dashboard files; absolute. @default the absolute `<outDir>/dashboards` */
  dashboardsPath?: string;
  /** @default DASHBOARDS */
  dashboards?: readonly HaloDashboard[];
}

export interface BuildDashboardsResult {
  /** Every file written, `outDir` joined with its relative path. */
  files: string[];
  /** What the operator must know: embedded mode, a database the panels do not query. */
  notes: string[];
}

const TABLE_NAMES = new Set<string>(Object.values(TABLES));

/**
 * The dashboard with its queries naming `database` instead of `halo`: every `halo.<table>` of a
 * Halo table in a target's SQL or a variable's query. Other text (a label value such as
 * `halo.example.com`) is left as it is.
 */
export function inDatabase(
  json: Record<string, unknown>,
  database: string,
): Record<string, unknown> {
  if (database === DATABASE) return json;
  const rename = (sql: string) => sqlInDatabase(sql, database);
  const walk = (value: unknown, key?: string): unknown => {
    if (typeof value === 'string') {
      return key === 'rawSql' || key === 'query' || key === 'definition' ? rename(value) : value;
    }
    if (Array.isArray(value)) return value.map((v) => walk(v));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    return value;
  };
  return walk(json) as Record<string, unknown>;
}

const PREFIX = new RegExp(`\\b${DATABASE}\\.(\\w+)\\b`, 'g');

/** One query naming `database` instead of `halo` for every `halo.<table>` of a Halo table. */
export function sqlInDatabase(sql: string, database: string): string {
  return sql.replace(PREFIX, (whole, name: string) =>
    TABLE_NAMES.has(name) ? `${database}.${name}` : whole,
  );
}

/** Writes through a temporary name, so Grafana's reload never reads half a file. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Renders everything first, so a bad option writes nothing; then writes, removing nothing. */
export function buildDashboards(options: BuildDashboardsOptions): BuildDashboardsResult {
  const { clickhouse } = options.config;
  const user = checkIdentifier(
    '--user',
    options.user ?? DEFAULT_GRAFANA_USER,
    'ClickHouse user name',
  );
  const database = checkIdentifier('clickhouse.database', clickhouse.database, 'database name');
  const [urlKey, url] =
    options.clickhouseUrl !== undefined
      ? ['--clickhouse-url', options.clickhouseUrl]
      : clickhouse.url !== undefined
        ? ['clickhouse.url', clickhouse.url]
        : ['--clickhouse-url', DEFAULT_GRAFANA_CLICKHOUSE_URL];
  const connection = parseClickHouseUrl(urlKey, url);
  const dashboardsPath = options.dashboardsPath ?? resolve(options.outDir, OUTPUT_PATHS.dashboards);
  if (!isAbsolute(dashboardsPath)) {
    throw new ConfigError(
      `--dashboards-path: got ${JSON.stringify(dashboardsPath)}, expected an absolute path (where Grafana reads the dashboard files)`,
    );
  }

  const outputs: Array<[string, string]> = [
    ...(options.dashboards ?? DASHBOARDS).map((d): [string, string] => [
      join(OUTPUT_PATHS.dashboards, d.file),
      `${JSON.stringify(inDatabase(dashboardJson(d), database), null, 2)}\n`,
    ]),
    [OUTPUT_PATHS.provider, dashboardProviderYaml(dashboardsPath)],
    [OUTPUT_PATHS.datasource, datasourceYaml({ connection, user, database })],
    [
      OUTPUT_PATHS.readonlyUser,
      readonlyUserSql({
        user,
        database,
        ...(clickhouse.cluster !== undefined ? { cluster: clickhouse.cluster } : {}),
      }),
    ],
  ];
  const files = outputs.map(([relative, text]) => {
    const file = join(options.outDir, relative);
    writeAtomically(file, text);
    return file;
  });

  const notes: string[] = [];
  if (clickhouse.url === undefined) {
    notes.push(
      `clickhouse.url is not set: Halo runs ClickHouse embedded (chDB) inside its own process, where Grafana cannot reach it. ` +
        `The datasource points at ${url}${options.clickhouseUrl === undefined ? ' (the default; --clickhouse-url sets it)' : ''}, ` +
        'which serves Halo’s data once Halo runs in server mode (clickhouse.url).',
    );
  }
  return { files, notes };
}
