// HALO_* environment overrides: which variable sets which config key, and how its text is read.

export interface EnvBinding {
  /** Variables read, first set wins: the HALO_ name, then a conventional alias. */
  names: readonly string[];
  path: readonly string[];
  kind: 'string' | 'number' | 'secret';
}

export const ENV_BINDINGS: readonly EnvBinding[] = [
  { names: ['HALO_DATA_DIR'], path: ['data_dir'], kind: 'string' },
  { names: ['HALO_LOG_LEVEL'], path: ['log', 'level'], kind: 'string' },
  { names: ['HALO_HTTP_ADDRESS'], path: ['http', 'address'], kind: 'string' },
  { names: ['HALO_HTTP_PORT'], path: ['http', 'port'], kind: 'number' },
  { names: ['HALO_CLICKHOUSE_URL', 'CLICKHOUSE_URL'], path: ['clickhouse', 'url'], kind: 'string' },
  {
    names: ['HALO_CLICKHOUSE_USER', 'CLICKHOUSE_USER'],
    path: ['clickhouse', 'username'],
    kind: 'string',
  },
  {
    names: ['HALO_CLICKHOUSE_PASSWORD', 'CLICKHOUSE_PASSWORD'],
    path: ['clickhouse', 'password'],
    kind: 'secret',
  },
  { names: ['HALO_CLICKHOUSE_DATABASE'], path: ['clickhouse', 'database'], kind: 'string' },
  { names: ['HALO_CLICKHOUSE_CLUSTER'], path: ['clickhouse', 'cluster'], kind: 'string' },
  { names: ['HALO_NATS_URL', 'NATS_URL'], path: ['nats', 'url'], kind: 'string' },
  { names: ['HALO_NATS_USER'], path: ['nats', 'user'], kind: 'string' },
  { names: ['HALO_NATS_PASSWORD'], path: ['nats', 'password'], kind: 'secret' },
  { names: ['HALO_NATS_TOKEN'], path: ['nats', 'token'], kind: 'secret' },
  { names: ['HALO_NATS_NKEY_SEED'], path: ['nats', 'nkey_seed'], kind: 'secret' },
  { names: ['HALO_NATS_CREDS_FILE'], path: ['nats', 'creds_file'], kind: 'string' },
];

/** The variables a secret binding also reads from a file: HALO_NATS_TOKEN_FILE and so on. */
export function fileVariable(name: string): string {
  return `${name}_FILE`;
}
