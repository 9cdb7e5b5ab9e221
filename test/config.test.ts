// Config loading: one fixture per failure case with its message, env overrides, secrets from files.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haloConfigSchema } from '../cli/config-schema.ts';
import { loadConfig } from '../core/config/load.ts';
import { allowedKeys } from '../core/config/shape.ts';
import { Secret } from '../core/config/secret.ts';
import { ConfigError } from '../core/errors.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'config');
const fixture = (name: string) => join(fixtures, name);

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('a broken config file gives one line naming the file, the key, the value and what is expected', () => {
  const cases: Array<[string, string, string]> = [
    [
      'YAML that does not parse points at the line and column',
      'broken-yaml.yaml',
      'broken-yaml.yaml:2:9: invalid YAML: Nested mappings are not allowed',
    ],
    [
      'a key given twice is refused',
      'duplicate-key.yaml',
      'duplicate-key.yaml:3:1: invalid YAML: Map keys must be unique',
    ],
    [
      'a list at the top level is refused',
      'top-level-list.yaml',
      'top-level-list.yaml: expected a mapping of keys at the top level',
    ],
    [
      'a string where a port belongs',
      'wrong-type.yaml',
      'wrong-type.yaml:4: http.port: got "abc", expected a port number from 0 to 65535',
    ],
    [
      'a port out of range',
      'port-out-of-range.yaml',
      'port-out-of-range.yaml:2: http.port: got 70000, expected a port number from 0 to 65535',
    ],
    [
      'a misspelt key suggests the right one',
      'unknown-key.yaml',
      'unknown-key.yaml:2: clickhouse.pasword: unknown key (did you mean "password"?)',
    ],
    [
      'an unknown key far from any lists the allowed ones',
      'unknown-top-level-key.yaml',
      'unknown-top-level-key.yaml:1: metrics: unknown key (expected one of: data_dir, log, http, clickhouse, nats)',
    ],
    [
      'a duration that does not parse',
      'bad-duration.yaml',
      'bad-duration.yaml:3: clickhouse.retention.samples: got "5q", expected a duration like "30s", "5m", "1h30m" or "7d"',
    ],
    [
      'a retention shorter than an hour',
      'retention-too-short.yaml',
      'retention-too-short.yaml:3: clickhouse.retention.logs: got "10m", expected at least 1h',
    ],
    [
      'a byte size that does not parse',
      'bad-size.yaml',
      'bad-size.yaml:4: nats.streams.metrics.max_bytes: got "lots", expected a size like "512MiB" or "1GB"',
    ],
    [
      'a URL without a scheme',
      'bad-url.yaml',
      'bad-url.yaml:2: clickhouse.url: got "localhost:8123", expected an http:// or https:// URL',
    ],
    [
      'a password inside a URL is refused and not repeated',
      'url-with-password.yaml',
      'url-with-password.yaml:2: clickhouse.url: got "http://db.internal:8123/", expected a URL without user or password',
    ],
    [
      'a NATS URL list with an http URL in it',
      'bad-nats-url.yaml',
      'bad-nats-url.yaml:2: nats.url: got "nats://127.0.0.1:4222, http://nats:8222", expected a NATS URL',
    ],
    [
      'two ways to authenticate to NATS',
      'two-auth-methods.yaml',
      'two-auth-methods.yaml:1: nats: expected one way to authenticate, got user/password and token',
    ],
    [
      'a NATS user without a password',
      'user-without-password.yaml',
      'user-without-password.yaml:1: nats.password: got nothing, expected user and password together',
    ],
    [
      'a secret and its _file together',
      'secret-and-file.yaml',
      'secret-and-file.yaml:3: clickhouse.password_file: expected either password or password_file, not both',
    ],
    [
      'a secret file that does not exist',
      'missing-secret-file.yaml',
      'missing-secret-file.yaml:2: clickhouse.password_file: cannot read secret file',
    ],
    [
      'a duplicate window longer than a stream keeps messages',
      'duplicate-window-too-long.yaml',
      'duplicate-window-too-long.yaml:3: nats.streams.duplicate_window: got "2d", expected at most metrics.max_age (24h)',
    ],
    [
      'stream replicas must be odd',
      'bad-replicas.yaml',
      'bad-replicas.yaml:3: nats.streams.replicas: got 2, expected 1, 3 or 5',
    ],
    [
      'a cluster name with a space',
      'bad-cluster-name.yaml',
      'bad-cluster-name.yaml:2: clickhouse.cluster: got "my cluster", expected a name of letters, digits and _',
    ],
    [
      'a log level that does not exist',
      'bad-log-level.yaml',
      'bad-log-level.yaml:2: log.level: got "loud", expected one of trace, debug, info',
    ],
    [
      'a TLS certificate without its key',
      'tls-cert-without-key.yaml',
      'tls-cert-without-key.yaml:2: nats.tls: expected cert_file and key_file together',
    ],
  ];
  it.each(cases)('%s', (_name, file, expected) => {
    const err = errorOf(() => loadConfig({ path: fixture(file), env: {} }));
    expect(err.message.split('\n')[0]).toContain(expected);
  });

  it('a secret of the wrong type is reported without its value', () => {
    const err = errorOf(() => loadConfig({ path: fixture('secret-wrong-type.yaml'), env: {} }));
    expect(err.message).toContain('nats.password: got <secret>, expected a non-empty string');
    expect(err.message).not.toContain('123456');
  });

  it('two auth methods are named, their secrets are not', () => {
    const err = errorOf(() => loadConfig({ path: fixture('two-auth-methods.yaml'), env: {} }));
    expect(err.message).toContain('expected one way to authenticate, got user/password and token');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('a config file named on the command line must exist', () => {
    const err = errorOf(() => loadConfig({ path: 'nope.yaml', cwd: fixtures, env: {} }));
    expect(err.message).toBe('nope.yaml: cannot read config file: no such file');
  });
});

describe('defaults, environment overrides and secret files', () => {
  it('no file at all gives the embedded defaults, with data_dir made absolute', () => {
    const { config, file } = loadConfig({ cwd: '/tmp', env: {} });
    expect(file).toBeUndefined();
    expect(config.data_dir).toBe('/tmp/data');
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.nats.url).toBeUndefined();
    expect(config.http.port).toBe(8750);
    expect(config.clickhouse.retention.samples.ms).toBe(30 * 86_400_000);
    expect(config.nats.streams.metrics.max_bytes.bytes).toBe(2 ** 30);
  });

  it('HALO_* variables override the file and are reported as the source of a bad value', () => {
    const env = {
      HALO_HTTP_PORT: '9999',
      HALO_NATS_URL: 'nats://10.0.0.1:4222',
      CLICKHOUSE_URL: 'http://ch:8123',
    };
    const { config, fromEnv } = loadConfig({ path: fixture('secrets-from-files.yaml'), env });
    expect(config.http.port).toBe(9999);
    expect(config.nats.url).toBe('nats://10.0.0.1:4222');
    expect(config.clickhouse.url).toBe('http://ch:8123');
    expect(fromEnv).toEqual({
      'http.port': 'HALO_HTTP_PORT',
      'nats.url': 'HALO_NATS_URL',
      'clickhouse.url': 'CLICKHOUSE_URL',
    });

    const err = errorOf(() => loadConfig({ cwd: '/tmp', env: { HALO_HTTP_PORT: 'eighty' } }));
    expect(err.message).toBe(
      'env HALO_HTTP_PORT: http.port: got "eighty", expected a port number from 0 to 65535',
    );
  });

  it('*_file keys read secrets relative to the config file, and they never print', () => {
    const { config } = loadConfig({ path: fixture('secrets-from-files.yaml'), env: {} });
    expect(config.clickhouse.password).toBeInstanceOf(Secret);
    expect(config.clickhouse.password?.reveal()).toBe('from-a-file-only');
    expect(config.nats.password?.reveal()).toBe('from-a-file-only');
    const printed =
      JSON.stringify(config) + String(config.nats.password) + `${config.clickhouse.password}`;
    expect(printed).not.toContain('from-a-file-only');
    expect(printed).toContain('<secret>');
  });

  it('a secret can come from an environment variable or the file it names', () => {
    const { config } = loadConfig({
      cwd: '/tmp',
      env: { HALO_NATS_TOKEN_FILE: fixture('secret.txt'), HALO_CLICKHOUSE_PASSWORD: 'env-pass' },
    });
    expect(config.nats.token?.reveal()).toBe('from-a-file-only');
    expect(config.clickhouse.password?.reveal()).toBe('env-pass');
  });
});

describe('halo.example.yaml', () => {
  const examplePath = join(import.meta.dirname, '..', 'halo.example.yaml');

  it('is a valid config', () => {
    expect(() =>
      loadConfig({ schema: haloConfigSchema, path: examplePath, env: {} }),
    ).not.toThrow();
  });

  it('documents every key of the schema', () => {
    const text = readFileSync(examplePath, 'utf8');
    const missing: string[] = [];
    const walk = (path: string[]) => {
      for (const key of allowedKeys(path, haloConfigSchema)) {
        // A key is documented when it appears as a YAML key, set or commented out (once or twice).
        if (!new RegExp(`^\\s*(#\\s*){0,2}${key}(_file)?:`, 'm').test(text))
          missing.push([...path, key].join('.'));
        walk([...path, key]);
      }
    };
    walk([]);
    expect(allowedKeys(['ingest', 'limits'], haloConfigSchema)).toContain('series_per_tier');
    expect(allowedKeys(['agent', 'spool'], haloConfigSchema)).toContain('max_bytes');
    expect(allowedKeys(['nats', 'tls'])).toContain('ca_file');
    expect(missing).toEqual([]);
  });
});
