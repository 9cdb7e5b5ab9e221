// Compose's one-shot before the alerters start: creates (or scales up) their NATS KV buckets, the lease and the silences, with nats.streams.replicas replicas.
//
//   node --import tsx compose/halo/nats-buckets.ts ALERTER_CONFIG_TEMPLATE
//
// `halo alert` creates a missing bucket with one replica, and binds to one that exists as it is:
// made here first with three, the lease and the silences survive the loss of a NATS node. It runs
// as the alerter's NATS user, with the alerter's own config (lease bucket and ttl).

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Lease } from '../../alerter/ha/lease.ts';
import { SilenceStore } from '../../alerter/silence/index.ts';
import { haloConfigSchema, type FullConfig } from '../../cli/config-schema.ts';
import { connectBus } from '../../core/bus/connect.ts';
import { loadConfig } from '../../core/config/load.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import { expandTemplate } from './env-config.ts';

/** The silences' bucket: SilenceStore's default, which `halo alert` uses. */
export const SILENCES_BUCKET = 'halo_silences';

export interface BucketState {
  bucket: string;
  replicas: number;
  action: 'ready' | 'scaled';
}

/** The KV stream behind a bucket gets `replicas` replicas when it has fewer. */
async function scaleUp(nc: NatsConnection, bucket: string, replicas: number): Promise<BucketState> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(`KV_${bucket}`);
  if (info.config.num_replicas >= replicas) {
    return { bucket, replicas: info.config.num_replicas, action: 'ready' };
  }
  await jsm.streams.update(`KV_${bucket}`, { ...info.config, num_replicas: replicas });
  return { bucket, replicas, action: 'scaled' };
}

/** Opens both buckets as `halo alert` does, with the config's replicas, then closes them. */
export async function replicateAlerterBuckets(options: {
  nc: NatsConnection;
  config: FullConfig;
  logger: Logger;
}): Promise<BucketState[]> {
  const { nc, config, logger } = options;
  const replicas = config.nats.streams.replicas;
  const { bucket, ttl } = config.alerter.lease;
  // Refuses a lease bucket made with another ttl, as every alerter would.
  await Lease.open({ nc, bucket, ttlMs: ttl.ms, holder: 'nats-buckets', replicas, logger });
  const silences = await SilenceStore.open({ nc, bucket: SILENCES_BUCKET, replicas, logger });
  await silences.close();
  return [await scaleUp(nc, bucket, replicas), await scaleUp(nc, SILENCES_BUCKET, replicas)];
}

async function main(template: string | undefined): Promise<void> {
  if (template === undefined) throw new Error('usage: nats-buckets.ts ALERTER_CONFIG_TEMPLATE');
  const rendered = join(tmpdir(), `halo-nats-buckets-${process.pid}.yaml`);
  writeFileSync(rendered, expandTemplate(readFileSync(template, 'utf8'), process.env), {
    mode: 0o600,
  });
  let config: FullConfig;
  try {
    ({ config } = loadConfig({ schema: haloConfigSchema, path: rendered }));
  } finally {
    rmSync(rendered, { force: true });
  }
  const logger = createLogger({ level: config.log.level });
  const nc = await connectBus({ config, logger });
  try {
    for (const state of await replicateAlerterBuckets({ nc, config, logger })) {
      logger.info(state, 'alerter bucket ready');
    }
  } finally {
    await nc.drain();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2]).catch((err: unknown) => {
    process.stderr.write(
      `halo: nats buckets: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
