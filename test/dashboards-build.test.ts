// `halo dashboards build` as an operator runs it: the dashboard JSON and the Grafana provisioning
// files it writes, what it says about embedded mode, and that no secret of the config leaks.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { query as chdbQuery } from 'chdb';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_DATASOURCE_UID } from '../dashboards/clickhouse-query.ts';
import { DASHBOARDS, dashboardJson } from '../dashboards/index.ts';
import { inDatabase } from '../dashboards/build.ts';
import { parseClickHouseUrl, type ClickHouseConnection } from '../dashboards/provisioning.ts';
import { tempDir } from './helpers/temp.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');
const CH_SECRET = 'ch-Secret-7f3a9c';
const NATS_SECRET = 'nats-Secret-2b8e1d';

/** The environment without HALO_* or CLICKHOUSE_* variables, which would override the file. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('HALO_') || key.startsWith('CLICKHOUSE_') || key === 'NATS_URL') {
      delete env[key];
    }
  }
  return env;
}

function halo(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A folder with a halo.yaml holding the given clickhouse section and secrets to look for. */
function project(clickhouse: Record<string, unknown> = {}): string {
  const cwd = tempDir('halo-dashboards-');
  const yaml = [
    'clickhouse:',
    ...Object.entries({ ...clickhouse, password: CH_SECRET }).map(([k, v]) => `  ${k}: ${v}`),
    'nats:',
    '  user: halo',
    `  password: ${NATS_SECRET}`,
    '',
  ].join('\n');
  writeFileSync(join(cwd, 'halo.yaml'), yaml);
  return cwd;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

const EXPECTED_FILES = (out: string) => [
  ...DASHBOARDS.map((d) => join(out, 'dashboards', d.file)),
  join(out, 'provisioning', 'dashboards', 'halo.yaml'),
  join(out, 'provisioning', 'datasources', 'halo-clickhouse.yaml'),
  join(out, 'provisioning', 'clickhouse-readonly-user.sql'),
];

interface Datasource {
  name: string;
  type: string;
  uid: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, unknown>;
}

const readDatasource = (out: string): { apiVersion: number; datasources: Datasource[] } =>
  parse(readFileSync(join(out, 'provisioning', 'datasources', 'halo-clickhouse.yaml'), 'utf8'));

interface Panel {
  targets?: Array<{ datasource?: { uid?: string } }>;
  panels?: Panel[];
}
const allPanels = (panels: Panel[] = []): Panel[] =>
  panels.flatMap((p) => [p, ...allPanels(p.panels)]);

/** The SQL statements of the file, comments dropped. */
const statements = (sql: string): string[] =>
  sql
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');

describe('halo dashboards build', () => {
  it('in embedded mode writes every dashboard and provisioning file, keeps other files, and says Grafana cannot reach the embedded ClickHouse', () => {
    const cwd = project();
    mkdirSync(join(cwd, 'grafana', 'dashboards'), { recursive: true });
    writeFileSync(join(cwd, 'grafana', 'dashboards', 'mine.json'), '{}\n');

    const run = halo(['dashboards', 'build'], cwd);
    expect(run.stderr).toContain('halo: note: clickhouse.url is not set');
    expect(run.stderr).toContain('Grafana cannot reach it');
    expect(run.code).toBe(0);
    const out = 'grafana';
    expect(run.stdout).toBe(
      EXPECTED_FILES(out)
        .map((f) => `wrote ${f}\n`)
        .join(''),
    );
    expect(existsSync(join(cwd, out, 'dashboards', 'mine.json'))).toBe(true);

    for (const d of DASHBOARDS) {
      expect(d.file).toMatch(/^[a-z0-9-]+\.json$/);
      const text = readFileSync(join(cwd, out, 'dashboards', d.file), 'utf8');
      expect(text.endsWith('}\n')).toBe(true);
      const json = JSON.parse(text) as { uid?: string; panels?: Panel[] };
      expect(json.uid).toBe(dashboardJson(d)['uid']);
      expect(json.uid).toMatch(/^[\w-]{1,40}$/);
      const uids = allPanels(json.panels).flatMap((p) =>
        (p.targets ?? []).map((t) => t.datasource?.uid),
      );
      expect(uids.length).toBeGreaterThan(0);
      expect(new Set(uids)).toEqual(new Set([DEFAULT_DATASOURCE_UID]));
    }

    const provider = parse(
      readFileSync(join(cwd, out, 'provisioning', 'dashboards', 'halo.yaml'), 'utf8'),
    );
    expect(provider).toEqual({
      apiVersion: 1,
      providers: [
        {
          name: 'Halo',
          orgId: 1,
          folder: 'Halo',
          type: 'file',
          disableDeletion: true,
          allowUiUpdates: false,
          updateIntervalSeconds: 30,
          options: { path: resolve(cwd, out, 'dashboards'), foldersFromFilesStructure: false },
        },
      ],
    });

    const datasources = readDatasource(join(cwd, out));
    expect(datasources).toEqual({
      apiVersion: 1,
      datasources: [
        {
          name: 'Halo ClickHouse',
          type: 'grafana-clickhouse-datasource',
          uid: DEFAULT_DATASOURCE_UID,
          editable: false,
          jsonData: {
            host: 'localhost',
            port: 8123,
            protocol: 'http',
            secure: false,
            username: 'halo_grafana',
            defaultDatabase: 'halo',
          },
          secureJsonData: { password: '${HALO_GRAFANA_PASSWORD}' },
        },
      ],
    });

    const sql = readFileSync(
      join(cwd, out, 'provisioning', 'clickhouse-readonly-user.sql'),
      'utf8',
    );
    expect(statements(sql)).toEqual([
      'CREATE USER IF NOT EXISTS halo_grafana\n' +
        '  IDENTIFIED WITH sha256_password BY {password:String}\n' +
        '  DEFAULT DATABASE halo\n' +
        '  SETTINGS readonly = 1, max_execution_time CHANGEABLE_IN_READONLY',
      'GRANT SELECT ON halo.* TO halo_grafana',
    ]);

    for (const file of filesUnder(join(cwd, out))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(CH_SECRET);
      expect(text, file).not.toContain(NATS_SECRET);
    }
    expect(run.stdout + run.stderr).not.toContain(CH_SECRET);
    expect(run.stdout + run.stderr).not.toContain(NATS_SECRET);
  });

  it('in server mode takes host, port, protocol, secure and path from clickhouse.url, and puts the cluster in the SQL', () => {
    const cwd = project({
      url: 'https://ch.internal:9443/clickhouse/',
      username: 'halo_writer',
      database: 'halo',
      cluster: 'ha',
    });
    const run = halo(
      [
        'dashboards',
        'build',
        '--out',
        'out',
        '--user',
        'grafana_ro',
        '--dashboards-path',
        '/var/lib/grafana/dashboards/halo',
      ],
      cwd,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      EXPECTED_FILES('out')
        .map((f) => `wrote ${f}\n`)
        .join(''),
    );

    const [datasource] = readDatasource(join(cwd, 'out')).datasources;
    expect(datasource?.jsonData).toEqual({
      host: 'ch.internal',
      port: 9443,
      protocol: 'http',
      secure: true,
      path: 'clickhouse/',
      username: 'grafana_ro',
      defaultDatabase: 'halo',
    });
    const provider = readFileSync(
      join(cwd, 'out', 'provisioning', 'dashboards', 'halo.yaml'),
      'utf8',
    );
    expect(parse(provider).providers[0].options.path).toBe('/var/lib/grafana/dashboards/halo');

    const sql = readFileSync(
      join(cwd, 'out', 'provisioning', 'clickhouse-readonly-user.sql'),
      'utf8',
    );
    expect(statements(sql)).toEqual([
      expect.stringMatching(/^CREATE USER IF NOT EXISTS grafana_ro ON CLUSTER ha\n/),
      'GRANT ON CLUSTER ha SELECT ON halo.* TO grafana_ro',
    ]);
    for (const file of filesUnder(join(cwd, 'out'))) {
      expect(readFileSync(file, 'utf8'), file).not.toContain(CH_SECRET);
    }
  });

  it('writes SQL that real ClickHouse parses, and whose CREATE USER refuses to run without the password parameter', () => {
    const cwd = project({ cluster: 'ha' });
    expect(halo(['dashboards', 'build'], cwd).code).toBe(0);
    const sql = readFileSync(
      join(cwd, 'grafana', 'provisioning', 'clickhouse-readonly-user.sql'),
      'utf8',
    );
    for (const statement of statements(sql)) {
      const literal = `'${statement.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
      expect(chdbQuery(`SELECT formatQuery(${literal})`, 'TSVRaw')).toMatch(
        /^(CREATE USER|GRANT) /,
      );
    }
    const createUser = statements(sql)[0]!;
    expect(() => chdbQuery(createUser.replace(' ON CLUSTER ha', ''), 'CSV')).toThrow(
      /Substitution `password` is not set/,
    );
  });

  const refusals: Array<{ name: string; args: string[]; message: RegExp }> = [
    {
      name: 'a user name with SQL in it is refused',
      args: ['--user', 'x; DROP USER default'],
      message:
        /^halo: --user: got "x; DROP USER default", expected a ClickHouse user name of letters, digits and _/,
    },
    {
      name: 'a user name starting with a digit is refused',
      args: ['--user', '1grafana'],
      message: /^halo: --user: got "1grafana", expected/,
    },
    {
      name: 'a URL of another scheme is refused',
      args: ['--clickhouse-url', 'ftp://ch:21'],
      message: /^halo: --clickhouse-url: got "ftp:\/\/ch:21", expected http:\/\/host:8123/,
    },
    {
      name: 'a URL with credentials is refused without printing them',
      args: ['--clickhouse-url', `http://admin:${CH_SECRET}@ch:8123`],
      message:
        /^halo: --clickhouse-url: got "http:\/\/ch:8123\/", expected a URL without user or password/,
    },
    {
      name: 'a relative dashboards path is refused',
      args: ['--dashboards-path', 'dashboards'],
      message: /^halo: --dashboards-path: got "dashboards", expected an absolute path/,
    },
  ];
  it.each(refusals)('$name, with exit code 2 and no file written', ({ args, message }) => {
    const cwd = project();
    const run = halo(['dashboards', 'build', ...args], cwd);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toContain(CH_SECRET);
    expect(existsSync(join(cwd, 'grafana'))).toBe(false);
  });
});

describe('inDatabase', () => {
  it('names the configured database in every query, and leaves other text alone', () => {
    const json = {
      panels: [
        {
          targets: [
            {
              rawSql:
                "SELECT * FROM halo.samples JOIN halo.series USING x WHERE host = 'halo.example'",
            },
          ],
          title: 'halo.samples',
        },
      ],
      templating: {
        list: [{ query: 'SELECT DISTINCT slo FROM halo.slo_evaluations', definition: 'halo.logs' }],
      },
    };
    expect(inDatabase(json, 'obs')).toEqual({
      panels: [
        {
          targets: [
            {
              rawSql:
                "SELECT * FROM obs.samples JOIN obs.series USING x WHERE host = 'halo.example'",
            },
          ],
          title: 'halo.samples',
        },
      ],
      templating: {
        list: [{ query: 'SELECT DISTINCT slo FROM obs.slo_evaluations', definition: 'obs.logs' }],
      },
    });
    expect(inDatabase(json, 'halo')).toBe(json);
  });
});

describe('parseClickHouseUrl', () => {
  const cases: Array<{ name: string; url: string; expected: ClickHouseConnection }> = [
    {
      name: 'plain HTTP without a port uses 8123',
      url: 'http://ch',
      expected: { protocol: 'http', host: 'ch', port: 8123, secure: false },
    },
    {
      name: 'HTTPS without a port uses 8443 and is secure',
      url: 'https://ch.example.com',
      expected: { protocol: 'http', host: 'ch.example.com', port: 8443, secure: true },
    },
    {
      name: 'an HTTP path is kept without its leading slash',
      url: 'http://proxy:80/ch/api',
      expected: { protocol: 'http', host: 'proxy', port: 80, secure: false, path: 'ch/api' },
    },
    {
      name: 'a port written out is kept even when it is the scheme’s own',
      url: 'https://ch:443',
      expected: { protocol: 'http', host: 'ch', port: 443, secure: true },
    },
    {
      name: 'clickhouse:// is the native protocol on 9000',
      url: 'clickhouse://10.0.0.5',
      expected: { protocol: 'native', host: '10.0.0.5', port: 9000, secure: false },
    },
    {
      name: 'clickhouse:// with secure=true uses 9440 and TLS',
      url: 'clickhouse://ch?secure=true',
      expected: { protocol: 'native', host: 'ch', port: 9440, secure: true },
    },
    {
      name: 'an IPv6 host loses its brackets',
      url: 'http://[::1]:8123',
      expected: { protocol: 'http', host: '::1', port: 8123, secure: false },
    },
  ];
  it.each(cases)('$name', ({ url, expected }) => {
    expect(parseClickHouseUrl('--clickhouse-url', url)).toEqual(expected);
  });
});
