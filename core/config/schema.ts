// The configuration schema (zod): every key of halo.yaml, its default, and what it accepts.
// halo.example.yaml documents the same keys; a test keeps the two in step.

import { z } from 'zod';
import { parseByteSize, parseDuration } from '../units.ts';
import { Secret } from './secret.ts';
import { ByteSize, Duration } from './types.ts';

function parseDurationValue(
  value: string | Duration,
  ctx: z.RefinementCtx,
  min?: { ms: number; text: string },
): Duration {
  if (value instanceof Duration) return value;
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a duration like "30s", "5m", "1h30m" or "7d"',
      input: value,
    });
    return z.NEVER;
  }
  if (min && ms < min.ms) {
    ctx.addIssue({ code: 'custom', message: `expected at least ${min.text}`, input: value });
    return z.NEVER;
  }
  return new Duration(ms, value);
}

const durationInput = z.union([z.string(), z.instanceof(Duration)], {
  error: 'expected a duration like "30s", "5m", "1h30m" or "7d"',
});

/** A duration key with a default, parsed to a Duration; min bounds it from below. */
export const duration = (fallback: string, min?: { ms: number; text: string }) =>
  durationInput.default(fallback).transform((value, ctx) => parseDurationValue(value, ctx, min));

/** A duration key without a default: undefined when absent. */
export const optionalDuration = (min?: { ms: number; text: string }) =>
  durationInput
    .optional()
    .transform((value, ctx) =>
      value === undefined ? undefined : parseDurationValue(value, ctx, min),
    );

/** A byte-size key with a default, parsed to a ByteSize. */
export const byteSize = (fallback: string) =>
  z
    .union([z.string(), z.number()], { error: 'expected a size like "512MiB" or "1GB"' })
    .default(fallback)
    .transform((value, ctx) => {
      const bytes = parseByteSize(String(value));
      if (bytes === undefined || bytes <= 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a size like "512MiB" or "1GB"',
          input: value,
        });
        return z.NEVER;
      }
      return new ByteSize(bytes, String(value));
    });

/** A whole-number key from 1 to max, with a default. */
export const wholeNumber = (fallback: number, max: number) =>
  z
    .number({ error: `expected a whole number from 1 to ${max}` })
    .int({ error: `expected a whole number from 1 to ${max}` })
    .min(1, { error: `expected a whole number from 1 to ${max}` })
    .max(max, { error: `expected a whole number from 1 to ${max}` })
    .default(fallback);

/** The name of a token's holder: logged instead of the token itself. */
export const holderName = () =>
  z
    .string({ error: 'expected the name of the token holder' })
    .trim()
    .min(1, { error: 'expected the name of the token holder, not an empty string' });

/** Adds an issue for each entry whose name an earlier entry has (token lists and the like). */
export function refineUniqueNames(
  entries: ReadonlyArray<{ name: string }>,
  ctx: z.RefinementCtx,
  key: string,
  what: string,
): void {
  const names = new Set<string>();
  entries.forEach((entry, i) => {
    if (names.has(entry.name)) {
      ctx.addIssue({
        code: 'custom',
        path: [key, i, 'name'],
        message: `duplicate ${what} name ${JSON.stringify(entry.name)}; each ${what} needs its own name`,
        input: entry.name,
      });
    }
    names.add(entry.name);
  });
}

/** An optional secret key: a Secret that prints as <secret>. */
export const secret = () =>
  z
    .union([z.string().min(1), z.instanceof(Secret)], { error: 'expected a non-empty string' })
    .transform((value) => (value instanceof Secret ? value : new Secret(value)))
    .optional();

export const port = (fallback: number) =>
  z
    .number({ error: 'expected a port number from 0 to 65535' })
    .int({ error: 'expected a port number from 0 to 65535' })
    .min(0, { error: 'expected a port number from 0 to 65535' })
    .max(65535, { error: 'expected a port number from 0 to 65535' })
    .default(fallback);

const identifier = z
  .string({ error: 'expected a name of letters, digits and _' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, {
    error: 'expected a name of letters, digits and _ that starts with a letter or _',
  });

const path = z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path' });

/** Credentials in a URL would be printed and logged with it: they belong in their own keys. */
const hasCredentials = (value: string) =>
  URL.canParse(value) && (new URL(value).username !== '' || new URL(value).password !== '');

/** An http(s) URL without credentials; `where` says where they go instead, e.g. "use username". */
export const httpUrl = (where?: string) =>
  z
    .string({ error: 'expected an http:// or https:// URL' })
    .refine((value) => /^https?:\/\/[^/]/.test(value) && URL.canParse(value), {
      error: 'expected an http:// or https:// URL',
    })
    .refine((value) => !hasCredentials(value), {
      error: `expected a URL without user or password${where ? ` (${where})` : ''}`,
    });

const natsUrls = z
  .string({ error: 'expected a NATS URL like nats://host:4222 (several separated by commas)' })
  .refine(
    (value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .every((part) => /^(nats|tls|ws|wss):\/\/[^/]/.test(part) && URL.canParse(part)),
    { error: 'expected a NATS URL like nats://host:4222 (several separated by commas)' },
  )
  .refine((value) => !value.split(',').some((part) => hasCredentials(part.trim())), {
    error:
      'expected URLs without user or password (use nats.user and nats.password, or nats.token)',
  });

const streamLimits = (maxAge: string, maxBytes: string) =>
  z
    .strictObject({
      max_age: duration(maxAge, { ms: 60_000, text: '1m' }),
      max_bytes: byteSize(maxBytes),
    })
    .prefault({});

const retention = (fallback: string) => duration(fallback, { ms: 3_600_000, text: '1h' });

/** The keys every Halo process reads; roles add their own sections with extendConfigSchema. */
export const coreShape = {
  data_dir: path.default('./data'),
  log: z
    .strictObject({
      level: z
        .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
          error: 'expected one of trace, debug, info, warn, error, fatal, silent',
        })
        .default('info'),
    })
    .prefault({}),
  http: z
    .strictObject({
      address: z.string({ error: 'expected an IP address or host name' }).default('127.0.0.1'),
      port: port(8750),
    })
    .prefault({}),
  clickhouse: z
    .strictObject({
      url: httpUrl('use clickhouse.username and clickhouse.password').optional(),
      username: z.string({ error: 'expected a user name' }).default('default'),
      password: secret(),
      database: identifier.default('halo'),
      cluster: identifier.optional(),
      request_timeout: duration('30s', { ms: 1000, text: '1s' }),
      retention: z
        .strictObject({
          samples: retention('30d'),
          rollups_1m: retention('90d'),
          rollups_1h: retention('730d'),
          logs: retention('14d'),
          alerts: retention('365d'),
          notifications: retention('90d'),
          slo_evaluations: retention('400d'),
        })
        .prefault({}),
    })
    .prefault({}),
  nats: z
    .strictObject({
      url: natsUrls.optional(),
      name: z.string({ error: 'expected a client name' }).default('halo'),
      user: z.string({ error: 'expected a user name' }).min(1).optional(),
      password: secret(),
      token: secret(),
      nkey_seed: secret(),
      creds_file: path.optional(),
      tls: z
        .strictObject({
          ca_file: path.optional(),
          cert_file: path.optional(),
          key_file: path.optional(),
          handshake_first: z.boolean({ error: 'expected true or false' }).default(false),
        })
        .optional(),
      connect_timeout: duration('5s', { ms: 100, text: '100ms' }),
      local: z
        .strictObject({
          binary: path.default('nats-server'),
          address: z.string({ error: 'expected an IP address' }).default('127.0.0.1'),
          port: port(0),
        })
        .prefault({}),
      streams: z
        .strictObject({
          replicas: z
            .number({ error: 'expected 1, 3 or 5' })
            .int({ error: 'expected 1, 3 or 5' })
            .refine((n) => n === 1 || n === 3 || n === 5, { error: 'expected 1, 3 or 5' })
            .default(1),
          duplicate_window: duration('10m', { ms: 1000, text: '1s' }),
          metrics: streamLimits('24h', '1GiB'),
          logs: streamLimits('24h', '1GiB'),
          dead_letters: streamLimits('7d', '256MiB'),
        })
        .prefault({})
        .superRefine((streams, ctx) => {
          for (const key of ['metrics', 'logs', 'dead_letters'] as const) {
            if (streams.duplicate_window.ms > streams[key].max_age.ms) {
              ctx.addIssue({
                code: 'custom',
                path: ['duplicate_window'],
                message: `expected at most ${key}.max_age (${streams[key].max_age.text})`,
                input: streams.duplicate_window.text,
              });
            }
          }
        }),
    })
    .prefault({})
    .superRefine((nats, ctx) => {
      const methods = [
        nats.user !== undefined || nats.password !== undefined ? 'user/password' : undefined,
        nats.token !== undefined ? 'token' : undefined,
        nats.nkey_seed !== undefined ? 'nkey_seed' : undefined,
        nats.creds_file !== undefined ? 'creds_file' : undefined,
      ].filter((m) => m !== undefined);
      if (methods.length > 1) {
        ctx.addIssue({
          code: 'custom',
          message: `expected one way to authenticate, got ${methods.join(' and ')}`,
        });
      }
      if ((nats.user === undefined) !== (nats.password === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [nats.user === undefined ? 'user' : 'password'],
          message: 'expected user and password together',
        });
      }
      if (nats.tls && (nats.tls.cert_file === undefined) !== (nats.tls.key_file === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls'],
          message: 'expected cert_file and key_file together',
        });
      }
    }),
};

export const configSchema = z.strictObject(coreShape).prefault({});

/** The core keys plus a role's sections, e.g. { agent: agentConfigSchema.optional() }. */
export function extendConfigSchema<T extends z.ZodRawShape>(extra: T) {
  // Every key of the extended shape has a default or is optional, as in the core one.
  return z.strictObject({ ...coreShape, ...extra }).prefault({} as never);
}

/** Any schema built by extendConfigSchema (or the core one). */
export type ConfigSchema = z.ZodType<HaloConfig, unknown>;

export type HaloConfig = z.output<typeof configSchema>;

/** Keys that hold secrets and may instead be read from a file named by `<key>_file`. */
export const SECRET_KEYS: ReadonlyArray<readonly string[]> = [
  ['clickhouse', 'password'],
  ['nats', 'password'],
  ['nats', 'token'],
  ['nats', 'nkey_seed'],
];

/** Keys holding file paths: in a config file they are relative to that file's folder. */
export const PATH_KEYS: ReadonlyArray<readonly string[]> = [
  ['data_dir'],
  ['nats', 'creds_file'],
  ['nats', 'tls', 'ca_file'],
  ['nats', 'tls', 'cert_file'],
  ['nats', 'tls', 'key_file'],
];
