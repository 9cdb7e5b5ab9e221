// Options of the silence store: one options object, defaults filled in, refused at construction.

import type { NatsConnection } from '@nats-io/nats-core';
import { ConfigError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

export interface SilenceStoreOptions {
  nc: NatsConnection;
  /** @default 'halo_silences' */
  bucket?: string;
  /** Creations, expiries and prunes are logged at info, watch trouble at warn. */
  logger: Logger;
  /** How long an expired silence is kept for audit before prune() purges it. @default 30 days */
  retentionMs?: number;
  /**
   * How long prune() leaves the marker of a purged silence, so that a replica that was
   * disconnected meanwhile still learns of the purge when it catches up. @default 1 day
   */
  markerRetentionMs?: number;
  /** Replicas of the KV bucket. @default 1 */
  replicas?: number;
  /** How long open() waits for the copy to catch up with the bucket. @default 10000 */
  loadTimeoutMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULTS = {
  bucket: 'halo_silences',
  retentionMs: 30 * DAY_MS,
  markerRetentionMs: DAY_MS,
  replicas: 1,
  loadTimeoutMs: 10_000,
} as const;

export type SilenceStoreSettings = Required<Omit<SilenceStoreOptions, 'nc' | 'logger'>>;

export function storeSettings(options: SilenceStoreOptions): SilenceStoreSettings {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const whole = (key: keyof SilenceStoreSettings, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(
        `silences: ${key} must be a whole number from ${min} to ${max}, got ${String(value)}`,
      );
    }
  };
  if (!/^[A-Za-z0-9_-]+$/u.test(settings.bucket)) {
    throw new ConfigError(
      `silences: bucket must be letters, digits, _ and -, got ${JSON.stringify(settings.bucket)}`,
    );
  }
  whole('retentionMs', 1);
  whole('markerRetentionMs', 0);
  whole('replicas', 1, 5);
  whole('loadTimeoutMs', 1);
  return settings;
}

function definedOnly(options: SilenceStoreOptions): Partial<SilenceStoreSettings> {
  const { bucket, retentionMs, markerRetentionMs, replicas, loadTimeoutMs } = options;
  const given = { bucket, retentionMs, markerRetentionMs, replicas, loadTimeoutMs };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}
