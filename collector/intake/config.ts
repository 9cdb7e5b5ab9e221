// The `intake:` section of halo.yaml: the HTTP intake for Prometheus remote_write, text import
// and OTLP — who may send (bearer tokens, optionally bound to a tier), how tier/host/service are
// found in the sender's labels or resource attributes, and the limits that protect the pipeline.

import { z } from 'zod';
import { TIER_NAME_RE } from '../../core/conventions.ts';
import {
  byteSize,
  duration,
  holderName,
  refineUniqueNames,
  secret,
  wholeNumber,
} from '../../core/config/schema.ts';

const tierName = z
  .string({ error: 'expected a tier name' })
  .regex(TIER_NAME_RE, { error: 'expected a tier name: lowercase letters, digits, _ and -' });

const tokenSchema = z.strictObject({
  /** Who holds the token; logged instead of the token itself. */
  name: holderName(),
  token: secret().unwrap(),
  /** Everything sent with this token belongs to this tier; data naming another is refused. */
  tier: tierName.optional(),
});

export type IntakeToken = z.output<typeof tokenSchema>;

/** Label or resource attribute names tried in order; the first one present gives the value. */
const candidates = (fallback: string[]) =>
  z
    .array(z.string({ error: 'expected a label or attribute name' }).min(1), {
      error: 'expected a list of label or attribute names',
    })
    .default(fallback);

export const intakeConfigSchema = z
  .strictObject({
    /** Serve the intake routes (halo ingest and halo up). */
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    tokens: z.array(tokenSchema, { error: 'expected a list of tokens' }).default([]),
    /** Take data without a token (a trusted network only); tokens still bind tiers when sent. */
    allow_anonymous: z.boolean({ error: 'expected true or false' }).default(false),
    /**
     * Where tier, host and service come from: Prometheus labels (remote_write, text import) or
     * OTLP resource attributes, first present wins. The label used is not kept as a label.
     */
    mapping: z
      .strictObject({
        tier: candidates(['tier', 'halo.tier']),
        host: candidates(['host', 'instance', 'host.name', 'service.instance.id']),
        service: candidates(['service', 'job', 'service.name']),
        /** OTLP resource attributes copied to every series as labels (dots become _). */
        promote_resource_attributes: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    /** The tier of data that names none and whose token is not bound to one. */
    default_tier: tierName.default('external'),
    /** The host and service of data that names none. */
    default_host: z.string().min(1).default('unknown'),
    default_service: z.string().min(1).default('unknown'),
    limits: z
      .strictObject({
        /** A remote_write or OTLP body as sent (compressed). */
        max_body: byteSize('32MiB'),
        /** The same body after snappy or gzip. */
        max_decoded: byteSize('256MiB'),
        /** One text import, streamed (it is never held in memory whole). */
        max_import: byteSize('16GiB'),
        /** Series in one remote_write or OTLP request. */
        max_series_per_request: wholeNumber(200_000, 10_000_000),
      })
      .prefault({}),
    /** While the ingesters have this many batches waiting, new requests get 429 and Retry-After. */
    backpressure: z
      .strictObject({
        max_pending_batches: wholeNumber(20_000, 10_000_000),
        retry_after: duration('5s', { ms: 1000, text: '1s' }),
      })
      .prefault({}),
    /** A counter series not seen for this long is forgotten: its next sample is a new baseline. */
    counter_ttl: duration('30m', { ms: 60_000, text: '1m' }),
    /** Batches on the bus: at most this many samples or log records, under NATS' max_payload. */
    batch: z
      .strictObject({
        max_items: wholeNumber(20_000, 1_000_000),
        max_bytes: byteSize('900KiB'),
      })
      .prefault({}),
  })
  .superRefine((intake, ctx) => refineUniqueNames(intake.tokens, ctx, 'tokens', 'token'))
  .prefault({});

export type IntakeConfig = z.output<typeof intakeConfigSchema>;
