// Creates or updates Halo's JetStream streams idempotently, with limits and a duplicate window;
// and reads how far a durable consumer of them is behind.

import type { NatsConnection } from '@nats-io/nats-core';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { STREAM_SUBJECTS, STREAMS, type StreamKey } from '../conventions.ts';
import type { HaloConfig } from '../config/schema.ts';
import { BusError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';

const NANOS_PER_MS = 1_000_000;

type StreamSettings = Pick<
  StreamConfig,
  | 'name'
  | 'subjects'
  | 'retention'
  | 'storage'
  | 'discard'
  | 'max_age'
  | 'max_bytes'
  | 'duplicate_window'
  | 'num_replicas'
>;

const LIMIT_KEYS: Record<StreamKey, 'metrics' | 'logs' | 'dead_letters'> = {
  metrics: 'metrics',
  logs: 'logs',
  deadLetters: 'dead_letters',
};

/** The wanted settings of each stream, from config. */
export function streamSettings(config: HaloConfig): Record<StreamKey, StreamSettings> {
  const streams = config.nats.streams;
  const build = (key: StreamKey): StreamSettings => {
    const limits = streams[LIMIT_KEYS[key]];
    return {
      name: STREAMS[key],
      subjects: STREAM_SUBJECTS[key],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      // Old batches go first when full: the agent spools, so the newest data matters most.
      discard: DiscardPolicy.Old,
      max_age: limits.max_age.ms * NANOS_PER_MS,
      max_bytes: limits.max_bytes.bytes,
      duplicate_window: streams.duplicate_window.ms * NANOS_PER_MS,
      num_replicas: streams.replicas,
    };
  };
  return { metrics: build('metrics'), logs: build('logs'), deadLetters: build('deadLetters') };
}

function differs(current: StreamConfig, wanted: StreamSettings): boolean {
  return (
    current.max_age !== wanted.max_age ||
    current.max_bytes !== wanted.max_bytes ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.num_replicas !== wanted.num_replicas ||
    current.discard !== wanted.discard ||
    current.subjects.join(',') !== wanted.subjects?.join(',')
  );
}

export type StreamAction = 'created' | 'updated' | 'unchanged';

export async function ensureStreams(
  nc: NatsConnection,
  config: HaloConfig,
  logger: Logger,
): Promise<Record<StreamKey, StreamAction>> {
  const log = logger.child({ module: 'streams' });
  let jsm;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    throw new BusError(
      `nats: JetStream is not available (is the server started with -js?): ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  const result = {} as Record<StreamKey, StreamAction>;
  for (const [key, wanted] of Object.entries(streamSettings(config)) as Array<
    [StreamKey, StreamSettings]
  >) {
    let info: StreamInfo | undefined;
    try {
      info = await jsm.streams.info(wanted.name);
    } catch (err) {
      const missing =
        err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
      if (!missing)
        throw new BusError(`nats: read stream ${wanted.name}: ${errorMessage(err)}`, {
          cause: err,
        });
    }
    try {
      if (!info) {
        await jsm.streams.add(wanted);
        result[key] = 'created';
      } else if (differs(info.config, wanted)) {
        await jsm.streams.update(wanted.name, { ...info.config, ...wanted });
        result[key] = 'updated';
      } else {
        result[key] = 'unchanged';
      }
    } catch (err) {
      throw new BusError(`nats: set up stream ${wanted.name}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (result[key] !== 'unchanged')
      log.info({ stream: wanted.name, action: result[key] }, 'stream ready');
  }
  return result;
}

/**
 * The batches a durable consumer has yet to ack (not delivered, or delivered and unacked), or
 * undefined when the consumer does not exist; other failures throw.
 */
export async function consumerBacklog(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
): Promise<number | undefined> {
  try {
    const info = await jsm.consumers.info(stream, consumer);
    return info.num_pending + info.num_ack_pending;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw err;
  }
}
