// OpenSLO v1 zod schemas, the types derived from them, and what every importer step shares (fail, slug, durations).

import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import { positionOf, type YamlDoc } from './yaml-docs.ts';

const str = z.string({ error: 'expected a string' });
const metadata = z.strictObject({
  name: str,
  displayName: str.optional(),
  labels: z.record(z.string(), z.union([str, z.array(str)])).optional(),
  annotations: z.record(z.string(), str).optional(),
});
export const metricSource = z.strictObject({
  metricSourceRef: str.optional(),
  type: str.optional(),
  spec: z.record(z.string(), z.unknown()).optional(),
});
const sliSpec = z.strictObject({
  description: str.optional(),
  thresholdMetric: z.strictObject({ metricSource }).optional(),
  ratioMetric: z
    .strictObject({
      counter: z.boolean({ error: 'expected true or false' }).optional(),
      good: z.strictObject({ metricSource }).optional(),
      bad: z.strictObject({ metricSource }).optional(),
      total: z.strictObject({ metricSource }).optional(),
      rawType: str.optional(),
      raw: z.strictObject({ metricSource }).optional(),
    })
    .optional(),
});
const ref = (key: string) => z.strictObject({ [key]: str });
const conditionSpec = z.strictObject({
  description: str.optional(),
  severity: str,
  condition: z.strictObject({
    kind: str,
    op: str,
    threshold: z.number({ error: 'expected a number' }),
    lookbackWindow: str,
    alertAfter: str.optional(),
  }),
});
const conditionDoc = z.strictObject({
  apiVersion: z.literal('openslo/v1').optional(),
  kind: z.literal('AlertCondition', { error: 'expected "AlertCondition"' }),
  metadata,
  spec: conditionSpec,
});
const policySpec = z.strictObject({
  description: str.optional(),
  alertWhenNoData: z.boolean().optional(),
  alertWhenResolved: z.boolean().optional(),
  alertWhenBreaching: z.boolean().optional(),
  conditions: z.array(z.union([conditionDoc, ref('conditionRef')])),
  notificationTargets: z.array(z.unknown()).optional(),
});
const policyDoc = z.strictObject({
  apiVersion: z.literal('openslo/v1').optional(),
  kind: z.literal('AlertPolicy', { error: 'expected "AlertPolicy"' }),
  metadata,
  spec: policySpec,
});
const objective = z.strictObject({
  name: str.optional(),
  displayName: str.optional(),
  op: z.enum(['lte', 'gte', 'lt', 'gt'], { error: 'expected lte, gte, lt or gt' }).optional(),
  value: z.number({ error: 'expected a number' }).optional(),
  target: z.number({ error: 'expected a number' }).optional(),
  targetPercent: z.number({ error: 'expected a number' }).optional(),
  timeSliceTarget: z.number({ error: 'expected a number' }).optional(),
  timeSliceWindow: z.union([str, z.number()]).optional(),
  indicator: z.unknown().optional(),
  indicatorRef: str.optional(),
  compositeWeight: z.number().optional(),
});
const sloSpec = z.strictObject({
  description: str.optional(),
  service: str,
  indicator: z.strictObject({ metadata, spec: sliSpec }).optional(),
  indicatorRef: str.optional(),
  timeWindow: z
    .array(
      z.strictObject({
        duration: str,
        isRolling: z.boolean({ error: 'expected true or false' }).optional(),
        calendar: z.strictObject({ startTime: str.optional(), timeZone: str }).optional(),
      }),
    )
    .length(1, { error: 'expected exactly one time window' }),
  budgetingMethod: z.enum(['Occurrences', 'Timeslices', 'RatioTimeslices'], {
    error: 'expected Occurrences, Timeslices or RatioTimeslices',
  }),
  objectives: z.array(objective).min(1, { error: 'expected at least one objective' }),
  alertPolicies: z.array(z.union([policyDoc, ref('alertPolicyRef')])).optional(),
});
const envelope = (kind: string, spec: z.ZodType) =>
  z.strictObject({ apiVersion: z.literal('openslo/v1'), kind: z.literal(kind), metadata, spec });
export const SCHEMAS: Record<string, z.ZodType> = {
  SLO: envelope('SLO', sloSpec),
  SLI: envelope('SLI', sliSpec),
  AlertPolicy: envelope('AlertPolicy', policySpec),
  AlertCondition: envelope('AlertCondition', conditionSpec),
  Service: envelope('Service', z.strictObject({ description: str.optional() })),
};

export type Meta = z.output<typeof metadata>;
export type SliSpec = z.output<typeof sliSpec>;
export type SloSpec = z.output<typeof sloSpec>;
export type Objective = z.output<typeof objective>;
export type PolicyDoc = z.output<typeof policyDoc>;
export type ConditionDoc = z.output<typeof conditionDoc>;
export interface Found<T> {
  y: YamlDoc;
  doc: { metadata: Meta; spec: T };
}
export type Path = Array<string | number>;

/** Throws a ConfigError for document `y` at `path`, "file:line: SLO name: a.b: message". */
export function fail(y: YamlDoc, what: string, path: Path, message: string): never {
  throw new ConfigError(`${positionOf(y, path)}: ${what}: ${path.join('.')}: ${message}`);
}

export const OPENSLO_DURATION = /^(\d+)([smhdwMQY])$/;

/** Everything an SLO document needs from the others in the file. */
export interface Index {
  sli: Map<string, Found<SliSpec>>;
  policy: Map<string, Found<PolicyDoc['spec']>>;
  condition: Map<string, Found<ConditionDoc['spec']>>;
}

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
