// Imports OpenSLO v1 documents (SLO, SLI, AlertPolicy, AlertCondition) into halo/v1 SLOs; what halo cannot express is an error.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import {
  buildSlo,
  logMatcherSchema,
  parseWith,
  positionOf,
  readYamlDocuments,
  selectorSchema,
  type Slo,
  type YamlDoc,
} from './spec.ts';

export interface OpenSloImport {
  slos: Slo[];
  /** Constructs accepted but without effect in halo (notification targets, alertAfter, …). */
  warnings: string[];
}

const str = z.string({ error: 'expected a string' });
const metadata = z.strictObject({
  name: str,
  displayName: str.optional(),
  labels: z.record(z.string(), z.union([str, z.array(str)])).optional(),
  annotations: z.record(z.string(), str).optional(),
});
const metricSource = z.strictObject({
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
const SCHEMAS: Record<string, z.ZodType> = {
  SLO: envelope('SLO', sloSpec),
  SLI: envelope('SLI', sliSpec),
  AlertPolicy: envelope('AlertPolicy', policySpec),
  AlertCondition: envelope('AlertCondition', conditionSpec),
  Service: envelope('Service', z.strictObject({ description: str.optional() })),
};

type Meta = z.output<typeof metadata>;
type SliSpec = z.output<typeof sliSpec>;
type SloSpec = z.output<typeof sloSpec>;
type Objective = z.output<typeof objective>;
type PolicyDoc = z.output<typeof policyDoc>;
type ConditionDoc = z.output<typeof conditionDoc>;
interface Found<T> {
  y: YamlDoc;
  doc: { metadata: Meta; spec: T };
}
type Path = Array<string | number>;

/** Throws a ConfigError for document `y` at `path`, "file:line: SLO name: a.b: message". */
function fail(y: YamlDoc, what: string, path: Path, message: string): never {
  throw new ConfigError(`${positionOf(y, path)}: ${what}: ${path.join('.')}: ${message}`);
}

const OPENSLO_DURATION = /^(\d+)([smhdwMQY])$/;

/** Everything an SLO document needs from the others in the file. */
interface Index {
  sli: Map<string, Found<SliSpec>>;
  policy: Map<string, Found<PolicyDoc['spec']>>;
  condition: Map<string, Found<ConditionDoc['spec']>>;
}

/** Converts the OpenSLO documents of a file; `label` names the file in errors. */
export function parseOpenSlo(text: string, label: string): OpenSloImport {
  const index: Index = { sli: new Map(), policy: new Map(), condition: new Map() };
  const slos: Array<Found<SloSpec>> = [];
  for (const y of readYamlDocuments(text, label)) {
    const raw = y.raw as Record<string, unknown>;
    if (raw['apiVersion'] !== 'openslo/v1') {
      fail(
        y,
        'document',
        ['apiVersion'],
        `got ${JSON.stringify(raw['apiVersion'])}, expected "openslo/v1"`,
      );
    }
    const kind = String(raw['kind']);
    const schema = SCHEMAS[kind];
    if (!schema) {
      fail(
        y,
        'document',
        ['kind'],
        `got ${JSON.stringify(raw['kind'])}, expected one of ${Object.keys(SCHEMAS).join(', ')} (DataSource and the others are not expressible in halo/v1)`,
      );
    }
    const doc = parseWith(schema, y) as Found<never>['doc'];
    const found = { y, doc };
    if (kind === 'SLO') slos.push(found as Found<SloSpec>);
    if (kind === 'SLI') index.sli.set(doc.metadata.name, found);
    if (kind === 'AlertPolicy') index.policy.set(doc.metadata.name, found);
    if (kind === 'AlertCondition') index.condition.set(doc.metadata.name, found);
  }
  const warnings: string[] = [];
  const out = slos.flatMap((found) => convertSlo(found, index, warnings));
  return { slos: out, warnings };
}

/** Reads and converts an OpenSLO file. */
export function loadOpenSloFile(path: string): OpenSloImport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read OpenSLO file: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseOpenSlo(text, path);
}

function convertSlo({ y, doc }: Found<SloSpec>, index: Index, warnings: string[]): Slo[] {
  const what = `SLO ${doc.metadata.name}`;
  const spec = doc.spec;
  const sli = resolveSli(y, what, spec, index);
  const window = convertWindow(y, what, spec);
  const tiers = convertPolicies(y, what, spec, index, warnings);
  const several = spec.objectives.length > 1;
  return spec.objectives.map((o, i) => {
    const at: Path = ['spec', 'objectives', i];
    const suffix = o.name ?? o.displayName;
    if (several && suffix === undefined) {
      fail(y, what, at, 'expected a name or displayName: the SLO has several objectives');
    }
    for (const key of ['indicator', 'indicatorRef', 'compositeWeight'] as const) {
      if (o[key] !== undefined) {
        fail(y, what, [...at, key], 'not expressible: halo/v1 has no composite SLOs');
      }
    }
    const name = several ? `${doc.metadata.name}-${slug(suffix!)}` : doc.metadata.name;
    const halo = {
      apiVersion: 'halo/v1',
      kind: 'SLO',
      metadata: {
        name,
        labels: convertLabels(y, what, doc.metadata),
        annotations: {
          ...doc.metadata.annotations,
          ...(doc.metadata.displayName ? { display_name: doc.metadata.displayName } : {}),
        },
      },
      spec: {
        service: spec.service,
        ...(spec.description !== undefined ? { description: spec.description } : {}),
        objective: objectivePercent(y, what, at, o),
        window,
        sli: convertSli(y, what, spec.budgetingMethod, sli, o, at),
        ...(tiers ? { burn_rate_tiers: tiers } : {}),
      },
    };
    return buildSlo(halo, y, positionOf(y, []));
  });
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function convertLabels(y: YamlDoc, what: string, meta: Meta): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    if (typeof value === 'string') out[key] = value;
    else if (value.length === 1) out[key] = value[0]!;
    else fail(y, what, ['metadata', 'labels', key], 'expected one value: halo labels have one');
  }
  return out;
}

function objectivePercent(y: YamlDoc, what: string, at: Path, o: Objective): number {
  if ((o.target === undefined) === (o.targetPercent === undefined)) {
    fail(y, what, at, 'expected exactly one of target, targetPercent');
  }
  const percent = o.targetPercent ?? Number((o.target! * 100).toPrecision(12));
  if (!(percent > 0 && percent < 100)) {
    const key = o.target !== undefined ? 'target' : 'targetPercent';
    const range = key === 'target' ? 'between 0 and 1, like 0.999' : 'between 0 and 100, like 99.9';
    fail(y, what, [...at, key], `got ${o[key]}, expected a number ${range} (exclusive)`);
  }
  return percent;
}

interface SliRef {
  y: YamlDoc;
  /** Key path of the SLI spec within y. */
  base: Path;
  spec: SliSpec;
  what: string;
}

function resolveSli(y: YamlDoc, what: string, spec: SloSpec, index: Index): SliRef {
  if ((spec.indicator === undefined) === (spec.indicatorRef === undefined)) {
    fail(y, what, ['spec'], 'expected exactly one of indicator, indicatorRef');
  }
  if (spec.indicator)
    return { y, base: ['spec', 'indicator', 'spec'], spec: spec.indicator.spec, what };
  const found = index.sli.get(spec.indicatorRef!);
  if (!found) {
    fail(
      y,
      what,
      ['spec', 'indicatorRef'],
      `got "${spec.indicatorRef}", expected the name of an SLI document in the file`,
    );
  }
  return { y: found.y, base: ['spec'], spec: found.doc.spec, what: `SLI ${spec.indicatorRef}` };
}

function convertWindow(y: YamlDoc, what: string, spec: SloSpec): unknown {
  const w = spec.timeWindow[0]!;
  const at: Path = ['spec', 'timeWindow', 0];
  const match = OPENSLO_DURATION.exec(w.duration);
  if (!match)
    fail(y, what, [...at, 'duration'], `got "${w.duration}", expected a duration like 28d or 1M`);
  const [, amount, unit] = match;
  if (w.isRolling !== false) {
    if ('MQY'.includes(unit!)) {
      fail(
        y,
        what,
        [...at, 'duration'],
        `got "${w.duration}", expected a rolling window in s, m, h, d or w (months vary in length)`,
      );
    }
    return { rolling: `${amount}${unit}` };
  }
  const calendarUnit = w.duration === '1M' ? 'month' : w.duration === '1Q' ? 'quarter' : undefined;
  if (!calendarUnit) {
    fail(
      y,
      what,
      [...at, 'duration'],
      `got "${w.duration}", expected 1M or 1Q for a calendar window`,
    );
  }
  if (!w.calendar) fail(y, what, at, 'expected calendar with timeZone for a calendar window');
  const start = w.calendar.startTime;
  if (start !== undefined) {
    const m = /^\d{4}-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/.exec(start);
    const aligned =
      m &&
      m[2] === '01' &&
      m[3] === '00' &&
      m[4] === '00' &&
      m[5] === '00' &&
      (calendarUnit === 'month' || (Number(m[1]) - 1) % 3 === 0);
    if (!aligned) {
      fail(
        y,
        what,
        [...at, 'calendar', 'startTime'],
        `got "${start}", expected midnight on the first day of a ${calendarUnit}: halo calendar windows follow the calendar`,
      );
    }
  }
  return { calendar: { unit: calendarUnit, time_zone: w.calendar.timeZone } };
}

/** The Halo selector or log matcher a metricSource holds; anything else is an error. */
function metricSourceSpec(sli: SliRef, key: string): { type: 'halo' | 'halo-logs'; spec: unknown } {
  const path: Path = [...sli.base, ...key.split('.'), 'metricSource'];
  const source = (
    key
      .split('.')
      .reduce<unknown>((node, k) => (node as Record<string, unknown>)?.[k], sli.spec) as {
      metricSource: z.output<typeof metricSource>;
    }
  ).metricSource;
  if (source.metricSourceRef !== undefined) {
    fail(
      sli.y,
      sli.what,
      [...path, 'metricSourceRef'],
      'not expressible: halo has no DataSource documents; write type: halo with spec { metric, matchers }',
    );
  }
  const type = source.type?.toLowerCase();
  if (type !== 'halo' && type !== 'halo-logs') {
    fail(
      sli.y,
      sli.what,
      [...path, 'type'],
      `got ${JSON.stringify(source.type)}, expected "halo" with spec { metric, matchers } or "halo-logs" with spec { service, severity, attributes, body_contains } (a query such as PromQL is not expressible in halo/v1)`,
    );
  }
  const schema = type === 'halo' ? selectorSchema : logMatcherSchema;
  parseWith(schema, sli.y, [...path, 'spec']);
  return { type, spec: source.spec ?? {} };
}

function convertSli(
  y: YamlDoc,
  what: string,
  method: SloSpec['budgetingMethod'],
  sli: SliRef,
  o: Objective,
  at: Path,
): unknown {
  const { spec } = sli;
  if (method === 'RatioTimeslices') {
    fail(
      y,
      what,
      ['spec', 'budgetingMethod'],
      'got "RatioTimeslices", not expressible: halo counts events (Occurrences) or probe slices (Timeslices on a thresholdMetric)',
    );
  }
  if ((spec.ratioMetric === undefined) === (spec.thresholdMetric === undefined)) {
    fail(sli.y, sli.what, sli.base, 'expected exactly one of ratioMetric, thresholdMetric');
  }
  if (spec.ratioMetric) {
    const r = spec.ratioMetric;
    const base = [...sli.base, 'ratioMetric'];
    if (method === 'Timeslices') {
      fail(
        y,
        what,
        ['spec', 'budgetingMethod'],
        'got "Timeslices", not expressible for a ratioMetric: halo slices judge one probe metric (use Occurrences)',
      );
    }
    if (r.rawType !== undefined || r.raw !== undefined) {
      fail(
        sli.y,
        sli.what,
        [...base, r.raw ? 'raw' : 'rawType'],
        'not expressible: halo computes the ratio from good or bad and total counters',
      );
    }
    if (r.counter === false)
      fail(
        sli.y,
        sli.what,
        [...base, 'counter'],
        'got false, expected true: halo ratios are counter deltas',
      );
    if ((r.good === undefined) === (r.bad === undefined) || !r.total) {
      fail(sli.y, sli.what, base, 'expected total and exactly one of good, bad');
    }
    const side = r.good ? 'good' : 'bad';
    const part = metricSourceSpec(sli, `ratioMetric.${side}`);
    const total = metricSourceSpec(sli, 'ratioMetric.total');
    if (part.type !== total.type) {
      fail(
        sli.y,
        sli.what,
        [...base, 'total', 'metricSource', 'type'],
        `expected the same type as ${side} (${part.type})`,
      );
    }
    const kind = part.type === 'halo' ? 'ratio' : 'log_ratio';
    return { [kind]: { [side]: part.spec, total: total.spec } };
  }
  const source = metricSourceSpec(sli, 'thresholdMetric');
  if (source.type !== 'halo') {
    fail(
      sli.y,
      sli.what,
      [...sli.base, 'thresholdMetric', 'metricSource', 'type'],
      'expected "halo": a threshold on logs is not expressible',
    );
  }
  const { metric, matchers } = source.spec as { metric: string; matchers?: unknown };
  if (o.op === undefined || o.value === undefined)
    fail(y, what, at, 'expected op and value for a thresholdMetric');
  if (method === 'Occurrences') {
    if (o.op !== 'lte' && o.op !== 'lt') {
      fail(
        y,
        what,
        [...at, 'op'],
        `got "${o.op}", expected lte or lt: a thresholdMetric counts only as latency under a threshold (histogram buckets)`,
      );
    }
    return { latency: { metric, threshold_seconds: o.value, ...(matchers ? { matchers } : {}) } };
  }
  if (o.timeSliceTarget !== undefined && o.timeSliceTarget !== 1) {
    fail(
      y,
      what,
      [...at, 'timeSliceTarget'],
      `got ${o.timeSliceTarget}, expected 1: a halo slice is good when its value meets the threshold`,
    );
  }
  if (o.timeSliceWindow === undefined) fail(y, what, at, 'expected timeSliceWindow for Timeslices');
  const ops = { gte: '>=', gt: '>', lte: '<=', lt: '<' } as const;
  const slice = typeof o.timeSliceWindow === 'number' ? `${o.timeSliceWindow}s` : o.timeSliceWindow;
  return {
    probe: {
      metric,
      ...(matchers ? { matchers } : {}),
      slice,
      good_when: `${ops[o.op]} ${o.value}`,
    },
  };
}

function convertPolicies(
  y: YamlDoc,
  what: string,
  spec: SloSpec,
  index: Index,
  warnings: string[],
): unknown[] | undefined {
  if (!spec.alertPolicies || spec.alertPolicies.length === 0) return undefined;
  const tiers: unknown[] = [];
  spec.alertPolicies.forEach((entry, i) => {
    let policy: Found<PolicyDoc['spec']>;
    let base: Path;
    if ('alertPolicyRef' in entry) {
      const found = index.policy.get(entry['alertPolicyRef']!);
      if (!found)
        fail(
          y,
          what,
          ['spec', 'alertPolicies', i, 'alertPolicyRef'],
          `got "${entry['alertPolicyRef']}", expected the name of an AlertPolicy document in the file`,
        );
      policy = found;
      base = ['spec'];
    } else {
      policy = { y, doc: entry as PolicyDoc };
      base = ['spec', 'alertPolicies', i, 'spec'];
    }
    const pwhat = `AlertPolicy ${policy.doc.metadata.name}`;
    const p = policy.doc.spec;
    if (p.alertWhenBreaching === false)
      fail(
        policy.y,
        pwhat,
        [...base, 'alertWhenBreaching'],
        'got false, expected true: a halo tier alerts when it burns',
      );
    if (p.alertWhenNoData)
      warnings.push(
        `${positionOf(policy.y, [...base, 'alertWhenNoData'])}: ${pwhat}: alertWhenNoData is not applied; use an absence rule`,
      );
    if (p.notificationTargets?.length)
      warnings.push(
        `${positionOf(policy.y, [...base, 'notificationTargets'])}: ${pwhat}: notificationTargets are not applied; route alerts with halo's routing tree`,
      );
    p.conditions.forEach((c, j) => {
      let cond: Found<ConditionDoc['spec']>;
      let cbase: Path;
      if ('conditionRef' in c) {
        const found = index.condition.get(c['conditionRef']!);
        if (!found)
          fail(
            policy.y,
            pwhat,
            [...base, 'conditions', j, 'conditionRef'],
            `got "${c['conditionRef']}", expected the name of an AlertCondition document in the file`,
          );
        cond = found;
        cbase = ['spec'];
      } else {
        cond = { y: policy.y, doc: c as ConditionDoc };
        cbase = [...base, 'conditions', j, 'spec'];
      }
      tiers.push(convertCondition(cond, cbase, warnings));
    });
  });
  return tiers;
}

function convertCondition(
  { y, doc }: Found<ConditionDoc['spec']>,
  base: Path,
  warnings: string[],
): unknown {
  const what = `AlertCondition ${doc.metadata.name}`;
  const c = doc.spec.condition;
  const at = [...base, 'condition'];
  if (c.kind !== 'burnrate') fail(y, what, [...at, 'kind'], `got "${c.kind}", expected burnrate`);
  if (c.op !== 'gte' && c.op !== 'gt')
    fail(
      y,
      what,
      [...at, 'op'],
      `got "${c.op}", expected gte: a tier fires when the burn rate reaches its threshold`,
    );
  const severity = doc.spec.severity.toLowerCase();
  if (severity !== 'page' && severity !== 'ticket') {
    fail(y, what, [...base, 'severity'], `got "${doc.spec.severity}", expected page or ticket`);
  }
  const long = OPENSLO_DURATION.exec(c.lookbackWindow);
  if (!long || 'MQY'.includes(long[2]!))
    fail(
      y,
      what,
      [...at, 'lookbackWindow'],
      `got "${c.lookbackWindow}", expected a duration like 1h`,
    );
  if (c.alertAfter !== undefined && !/^0[smh]?$/.test(c.alertAfter)) {
    warnings.push(
      `${positionOf(y, [...at, 'alertAfter'])}: ${what}: alertAfter ${c.alertAfter} is not applied; halo confirms a burn with a short window of lookbackWindow/12`,
    );
  }
  const seconds = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[long[2] as 's'] * Number(long[1]);
  return {
    name: slug(doc.metadata.name),
    severity,
    factor: c.threshold,
    long_window: c.lookbackWindow,
    short_window: `${Math.max(1, Math.round(seconds / 12))}s`,
  };
}
