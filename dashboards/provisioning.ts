// Grafana provisioning files for Halo, as text: the ClickHouse datasource, the dashboard provider
// and the SQL that creates the read-only user the datasource queries as.

import { Document } from 'yaml';
import { redactUrl } from '../core/config/secret.ts';
import { ConfigError } from '../core/errors.ts';
import { CLICKHOUSE_DATASOURCE_TYPE, DEFAULT_DATASOURCE_UID } from './clickhouse-query.ts';

/** The environment variable Grafana reads the read-only user's password from. */
export const GRAFANA_PASSWORD_ENV = 'HALO_GRAFANA_PASSWORD';

export const DATASOURCE_NAME = 'Halo ClickHouse';
export const DASHBOARD_FOLDER = 'Halo';

/** ClickHouse as Grafana reaches it: the plugin's connection keys. */
export interface ClickHouseConnection {
  protocol: 'http' | 'native';
  host: string;
  port: number;
  secure: boolean;
  /** The HTTP path without its leading slash, when ClickHouse sits under one (e.g. a proxy). */
  path?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A ClickHouse user, database or cluster name that is safe to write into SQL unquoted. */
export function checkIdentifier(key: string, value: string, what: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new ConfigError(
      `${key}: got ${JSON.stringify(value)}, expected a ${what} of letters, digits and _ that starts with a letter or _ (at most 63)`,
    );
  }
  return value;
}

const DEFAULT_PORTS = {
  http: { plain: 8123, secure: 8443 },
  native: { plain: 9000, secure: 9440 },
} as const;

/**
 * `http://host:8123`, `https://host:8443/path` or, for the native protocol,
 * `clickhouse://host:9000` (`?secure=true` for TLS, as in clickhouse-go's DSN).
 * `key` names the option or config key in errors; the URL is printed without credentials.
 */
export function parseClickHouseUrl(key: string, url: string): ClickHouseConnection {
  const expected =
    'expected http://host:8123, https://host:8443 or clickhouse://host:9000 (native protocol, ?secure=true for TLS)';
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const scheme = parsed?.protocol;
  if (
    parsed === undefined ||
    (scheme !== 'http:' && scheme !== 'https:' && scheme !== 'clickhouse:') ||
    parsed.hostname === ''
  ) {
    throw new ConfigError(`${key}: got ${JSON.stringify(redactUrl(url))}, ${expected}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError(
      `${key}: got ${JSON.stringify(redactUrl(url))}, expected a URL without user or password (the datasource uses --user and ${GRAFANA_PASSWORD_ENV})`,
    );
  }
  const protocol = scheme === 'clickhouse:' ? 'native' : 'http';
  const secure = scheme === 'https:' || parsed.searchParams.get('secure') === 'true';
  const defaults = DEFAULT_PORTS[protocol];
  // URL drops a scheme's own port (http://proxy:80 has port ''), which is not ClickHouse's default.
  const written = /^[a-z]+:\/\/(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(url)?.[1];
  const port = written !== undefined ? Number(written) : secure ? defaults.secure : defaults.plain;
  // The plugin wants the bare host; URL keeps an IPv6 address in brackets.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const path = protocol === 'http' ? parsed.pathname.replace(/^\/+/, '') : '';
  return { protocol, host, port, secure, ...(path !== '' ? { path } : {}) };
}

function yamlFile(header: string, value: unknown): string {
  const doc = new Document(value);
  doc.commentBefore = header;
  return doc.toString({ lineWidth: 0 });
}

export interface DatasourceOptions {
  connection: ClickHouseConnection;
  user: string;
  database: string;
}

/** `provisioning/datasources/halo-clickhouse.yaml`. The password is an env lookup, never a value. */
export function datasourceYaml({ connection, user, database }: DatasourceOptions): string {
  const header = [
    ' Halo ClickHouse datasource, written by `halo dashboards build`: rebuild rather than edit.',
    ' jsonData keys of grafana-clickhouse-datasource v4: host, port, protocol (native or http),',
    ' secure, username, defaultDatabase, and path for HTTP without its leading slash',
    ' (https://grafana.com/docs/plugins/grafana-clickhouse-datasource/latest/configure/,',
    ' https://clickhouse.com/docs/integrations/grafana/config "All YAML options").',
    ` The password is not in this file: Grafana replaces the lookup of ${GRAFANA_PASSWORD_ENV}`,
    ' with that variable of its own environment when it provisions',
    ' (https://grafana.com/docs/grafana/latest/administration/provisioning/ "Use environment variables").',
    ' Panels name this datasource by its uid.',
  ].join('\n');
  return yamlFile(header, {
    apiVersion: 1,
    datasources: [
      {
        name: DATASOURCE_NAME,
        type: CLICKHOUSE_DATASOURCE_TYPE,
        uid: DEFAULT_DATASOURCE_UID,
        editable: false,
        jsonData: {
          host: connection.host,
          port: connection.port,
          protocol: connection.protocol,
          secure: connection.secure,
          ...(connection.path !== undefined ? { path: connection.path } : {}),
          username: checkIdentifier('--user', user, 'ClickHouse user name'),
          defaultDatabase: checkIdentifier('clickhouse.database', database, 'database name'),
        },
        secureJsonData: { password: `\${${GRAFANA_PASSWORD_ENV}}` },
      },
    ],
  });
}

/** `provisioning/dashboards/halo.yaml`: Grafana loads every JSON file under `path` into folder Halo. */
export function dashboardProviderYaml(path: string): string {
  const header = [
    ' Halo dashboards provider, written by `halo dashboards build`: rebuild rather than edit.',
    ' The dashboards are code: Grafana may not save changes to them (allowUiUpdates: false),',
    ' nor delete them (disableDeletion: true); it reloads the files every 30 s.',
    ' https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards',
  ].join('\n');
  return yamlFile(header, {
    apiVersion: 1,
    providers: [
      {
        name: 'Halo',
        orgId: 1,
        folder: DASHBOARD_FOLDER,
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path, foldersFromFilesStructure: false },
      },
    ],
  });
}

export interface ReadonlyUserOptions {
  user: string;
  database: string;
  /** `clickhouse.cluster`: the user and the grant are made ON CLUSTER. */
  cluster?: string;
}

/** `provisioning/clickhouse-readonly-user.sql`: the statements an operator runs once. */
export function readonlyUserSql({ user, database, cluster }: ReadonlyUserOptions): string {
  const name = checkIdentifier('--user', user, 'ClickHouse user name');
  const db = checkIdentifier('clickhouse.database', database, 'database name');
  const onCluster =
    cluster !== undefined
      ? ` ON CLUSTER ${checkIdentifier('clickhouse.cluster', cluster, 'cluster name')}`
      : '';
  return [
    `-- The read-only ClickHouse user of Grafana's "${DATASOURCE_NAME}" datasource, written by`,
    '-- `halo dashboards build`. Run it once as an administrator, with the password Grafana will read:',
    '--',
    `--   clickhouse-client <connection flags> --param_password="$${GRAFANA_PASSWORD_ENV}" \\`,
    '--     --queries-file provisioning/clickhouse-readonly-user.sql',
    '--',
    '-- The password is a query parameter, so it is in no file; without --param_password the',
    '-- CREATE USER fails ("Substitution `password` is not set") rather than make a user anyone can guess.',
    '-- IF NOT EXISTS: running it again changes nothing; ALTER USER changes an existing user.',
    '--',
    '-- readonly = 1: SELECT only; no SET, no temporary tables, no writes. The plugin sets',
    '-- max_execution_time (its query timeout) on every query, so that one setting stays changeable:',
    '-- the plugin docs advise this over readonly = 2, which lets a user change any setting',
    '-- (https://grafana.com/docs/plugins/grafana-clickhouse-datasource/latest/configure/).',
    `CREATE USER IF NOT EXISTS ${name}${onCluster}`,
    '  IDENTIFIED WITH sha256_password BY {password:String}',
    `  DEFAULT DATABASE ${db}`,
    '  SETTINGS readonly = 1, max_execution_time CHANGEABLE_IN_READONLY;',
    '',
    `GRANT${onCluster} SELECT ON ${db}.* TO ${name};`,
    '',
  ].join('\n');
}
