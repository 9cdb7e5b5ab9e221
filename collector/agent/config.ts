// The `agent:` section of halo.yaml: who this host is, how often to collect, batching, the spool,
// and the list of sources, each a type with its own keys plus the common ones.

import { hostname } from 'node:os';
import { z } from 'zod';
import { LABEL_NAME_RE } from '../../core/batch.ts';
import { TIER_NAME_RE } from '../../core/conventions.ts';
import { byteSize, duration, optionalDuration } from '../../core/config/schema.ts';
import { unknownKeyHint } from '../../core/config/shape.ts';
import type { SourceDefinition } from './types.ts';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const RESERVED = new Set(['tier', 'host', 'service']);

const labels = z
  .record(z.string(), z.string({ error: 'expected a string label value' }))
  .superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (!LABEL_NAME_RE.test(key) || RESERVED.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            'expected a label name of letters, digits and _, other than tier, host and service',
        });
      }
    }
  })
  .default({});

/** Keys every source has, whatever its type. */
export const commonSourceShape = {
  name: z
    .string({ error: 'expected a source name' })
    .regex(NAME_RE, { error: 'expected a name of letters, digits, _ . and -' })
    .optional(),
  interval: optionalDuration({ ms: 100, text: '100ms' }),
  timeout: optionalDuration({ ms: 10, text: '10ms' }),
  service: z.string({ error: 'expected a service name' }).optional(),
  labels,
};

/**
 * The list of sources. Each entry is parsed by its type's own schema — the common keys plus the
 * type's options, refinements included — so a source's checks (e.g. "url or socket, not both")
 * run; a discriminated union over the option shapes alone would drop them.
 */
function sourcesSchema(definitions: readonly SourceDefinition[]) {
  const byType = new Map(definitions.map((d) => [d.type, d]));
  const types = definitions.map((d) => d.type).join(', ');
  const common = z.strictObject({ type: z.string(), ...commonSourceShape });
  return z.array(z.unknown(), { error: 'expected a list of sources' }).transform((list, ctx) => {
    const parsed: Array<Record<string, unknown>> = [];
    list.forEach((raw, i) => {
      const report = (issues: readonly z.core.$ZodIssue[]) => {
        for (const issue of issues) {
          if (issue.code === 'unrecognized_keys') {
            const allowed = [
              ...Object.keys(commonSourceShape),
              'type',
              ...Object.keys(
                byType.get(String((raw as { type?: unknown }).type))?.options.shape ?? {},
              ),
            ];
            for (const key of issue.keys) {
              ctx.addIssue({
                code: 'custom',
                path: [i, ...issue.path, key],
                message: `unknown key of this source type${unknownKeyHint(key, allowed)}`,
              });
            }
          } else {
            ctx.addIssue({ code: 'custom', path: [i, ...issue.path], message: issue.message });
          }
        }
      };
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: 'expected a source: a mapping with a type',
        });
        return;
      }
      const definition = byType.get(String((raw as { type?: unknown }).type));
      if (!definition) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'type'],
          message: `expected type to be one of ${types}`,
        });
        return;
      }
      const record = raw as Record<string, unknown>;
      const commonKeys = new Set(['type', ...Object.keys(commonSourceShape)]);
      const own = Object.fromEntries(
        Object.entries(record).filter(([key]) => !commonKeys.has(key)),
      );
      const shared = Object.fromEntries(
        Object.entries(record).filter(([key]) => commonKeys.has(key)),
      );
      const sharedResult = common.safeParse(shared);
      const ownResult = definition.options.safeParse(own);
      if (!sharedResult.success) report(sharedResult.error.issues);
      if (!ownResult.success) report(ownResult.error.issues);
      if (sharedResult.success && ownResult.success) {
        parsed.push({ ...(ownResult.data as Record<string, unknown>), ...sharedResult.data });
      }
    });
    return parsed;
  });
}

export function agentConfigSchema(definitions: readonly SourceDefinition[]) {
  return z
    .strictObject({
      tier: z
        .string({ error: 'expected the tier of this host, e.g. lb, web, cache, db, mq, app' })
        .regex(TIER_NAME_RE, {
          error: 'expected a tier name of lowercase letters, digits, _ and -',
        }),
      host: z
        .string({ error: 'expected a host name' })
        .min(1)
        .max(253)
        .default(() => hostname()),
      service: z.string({ error: 'expected a service name' }).default(''),
      labels,
      interval: duration('10s', { ms: 100, text: '100ms' }),
      timeout: duration('5s', { ms: 10, text: '10ms' }),
      batch: z
        .strictObject({
          max_samples: z
            .number({ error: 'expected a whole number from 1 to 1000000' })
            .int()
            .min(1)
            .max(1_000_000)
            .default(10_000),
          /** Kept under the NATS server's max_payload (1 MiB by default). */
          max_bytes: byteSize('512KiB'),
          max_age: duration('1s', { ms: 10, text: '10ms' }),
        })
        .prefault({}),
      spool: z
        .strictObject({
          /** Default: <data_dir>/agent/spool. */
          dir: z.string({ error: 'expected a folder path' }).min(1).optional(),
          max_bytes: byteSize('256MiB'),
          fsync: z.boolean({ error: 'expected true or false' }).default(true),
        })
        .prefault({}),
      /** Default: <data_dir>/agent/state (log checkpoints). */
      state_dir: z.string({ error: 'expected a folder path' }).min(1).optional(),
      sources: sourcesSchema(definitions).default([]),
    })
    .superRefine((agent, ctx) => {
      const seen = new Set<string>();
      agent.sources.forEach((s, i) => {
        const name = (s as { name?: string }).name ?? (s as { type: string }).type;
        if (seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'name'],
            message: `expected a name unique among the sources (another source is named ${name}; set name:)`,
          });
        }
        seen.add(name);
      });
    });
}

export type AgentConfig = z.output<ReturnType<typeof agentConfigSchema>>;

/** One configured source with the common keys resolved against the agent's defaults. */
export interface ResolvedSource {
  type: string;
  name: string;
  intervalMs: number;
  timeoutMs: number;
  service: string;
  labels: Record<string, string>;
  options: Record<string, unknown>;
}

export function resolveSources(agent: AgentConfig): ResolvedSource[] {
  return agent.sources.map((raw) => {
    const {
      type,
      name,
      interval,
      timeout,
      service,
      labels: extra,
      ...options
    } = raw as Record<string, unknown> & {
      type: string;
      name?: string;
      interval?: { ms: number };
      timeout?: { ms: number };
      service?: string;
      labels: Record<string, string>;
    };
    const intervalMs = interval?.ms ?? agent.interval.ms;
    return {
      type,
      name: name ?? type,
      intervalMs,
      // A collection must end before the next one is due.
      timeoutMs: Math.min(timeout?.ms ?? agent.timeout.ms, intervalMs),
      service: service ?? agent.service,
      labels: { ...agent.labels, ...extra },
      options,
    };
  });
}
