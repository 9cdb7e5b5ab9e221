// The halo/v1 SLO spec: its zod schema, the typed model, and a YAML loader whose errors name file:line, key, value and what is expected.

import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { z } from 'zod';
import { allowedKeys, unknownKeyHint } from '../../core/config/shape.ts';
import { SEVERITIES, type Severity } from '../../core/conventions.ts';
import { ConfigError } from '../../core/errors.ts';
import { parseDuration } from '../../core/units.ts';
import type { BurnRateTier } from './windows.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}
export interface Selector {
  metric: string;
  matchers: Matcher[];
}
export interface LogMatcher {
  service?: string;
  severity?: Severity;
  attributes: Matcher[];
  bodyContains?: string;
}
export type Sli =
  | { kind: 'ratio'; good?: Selector; bad?: Selector; total: Selector }
  | { kind: 'latency'; metric: string; thresholdSeconds: number; matchers: Matcher[] }
  | {
      kind: 'probe';
      metric: string;
      matchers: Matcher[];
      sliceMs: number;
      goodWhen: { op: '>=' | '>' | '<=' | '<' | '=='; value: number };
    }
  | { kind: 'log_ratio'; good?: LogMatcher; bad?: LogMatcher; total: LogMatcher };
export type SloWindow =
  | { kind: 'rolling'; periodMs: number }
  | { kind: 'calendar'; unit: 'month' | 'quarter'; timeZone: string };
export type Exclusion =
  | { kind: 'once'; from: string; to: string; reason?: string }
  | {
      kind: 'recurring';
      cron?: string;
      days?: Weekday[];
      start?: string;
      durationMs: number;
      timeZone: string;
      reason?: string;
    };
export type Weekday = (typeof WEEKDAYS)[number];

/** One SLO, validated; durations are milliseconds. */
export interface Slo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  service: string;
  description?: string;
  /** Percent of good events, 0 < objective < 100. */
  objective: number;
  window: SloWindow;
  sli: Sli;
  groupBy?: string;
  minEvents?: number;
  exclusions: Exclusion[];
  alerting: {
    pageLabels: Record<string, string>;
    ticketLabels: Record<string, string>;
    annotations: Record<string, string>;
  };
  /** Replaces the default tier table when set; windows are used as written, not scaled. */
  burnRateTiers?: BurnRateTier[];
  /** Where the SLO was defined, "file:line". */
  source: string;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DURATION_TEXT = 'a duration like "5m", "1h" or "28d"';

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const name = z
  .string({ error: 'expected a name of lowercase letters, digits and -' })
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: 'expected a name of lowercase letters, digits and - (at most 63)',
  });
const metricName = z
  .string({ error: 'expected a metric name' })
  .regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/, { error: 'expected a metric name like http_requests' });
const labelName = z
  .string({ error: 'expected a label name' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a label name of letters, digits and _' });
const text = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
const stringMap = z.record(z.string(), z.string({ error: 'expected a string' }));
const labelMap = z.record(labelName, z.string({ error: 'expected a label value (a string)' }));
const timeZone = z
  .string({ error: 'expected an IANA time zone like "Europe/Berlin" or "UTC"' })
  .refine(isTimeZone, { error: 'expected an IANA time zone like "Europe/Berlin" or "UTC"' });
const duration = (min = 1) =>
  z.string({ error: `expected ${DURATION_TEXT}` }).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_TEXT}`, input: value });
      return z.NEVER;
    }
    return ms;
  });

const matcherValue = z.preprocess(
  (value) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? { op: '=', value: String(value) }
      : value,
  z
    .strictObject(
      {
        op: z.enum(['=', '!=', '=~', '!~'], { error: 'expected one of =, !=, =~, !~' }),
        value: z.string({ error: 'expected a string' }),
      },
      { error: 'expected a label value or { op, value }' },
    )
    .superRefine((matcher, ctx) => {
      if (matcher.op !== '=~' && matcher.op !== '!~') return;
      try {
        new RegExp(`^(?:${matcher.value})$`);
      } catch (err) {
        const why = (err as Error).message.replace(/^Invalid regular expression: .*\/: /, '');
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: `expected a valid regular expression (${why})`,
          input: matcher.value,
        });
      }
    }),
);
const matchers = z
  .record(labelName, matcherValue)
  .default({})
  .transform((map): Matcher[] =>
    Object.entries(map).map(([label, m]) => ({ label, op: m.op, value: m.value })),
  );

/** A metric and its label matchers (`{ metric, matchers }`), as written in YAML. */
export const selectorSchema = z.strictObject({ metric: metricName, matchers });
const selector = selectorSchema;
/** A log matcher (`{ service, severity, attributes, body_contains }`), as written in YAML. */
export const logMatcherSchema = z.strictObject({
  service: text('a service name').optional(),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(', ')}` }).optional(),
  attributes: matchers,
  body_contains: text('a non-empty string').optional(),
});

/** Exactly one of `keys` set in `value`, or an issue at the object. */
function exactlyOne(value: object, keys: readonly string[], ctx: z.RefinementCtx): void {
  const set = keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined);
  if (set.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected exactly one of ${keys.join(', ')}${set.length > 1 ? ` (got ${set.join(' and ')})` : ''}`,
      input: value,
    });
  }
}

const goodWhen = z.string({ error: 'expected a threshold like ">= 1"' }).transform((value, ctx) => {
  const match = /^\s*(>=|>|<=|<|==)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected a threshold like ">= 1"', input: value });
    return z.NEVER;
  }
  return { op: match[1] as '>=' | '>' | '<=' | '<' | '==', value: Number(match[2]) };
});

const sli = z
  .strictObject({
    ratio: z
      .strictObject({ good: selector.optional(), bad: selector.optional(), total: selector })
      .superRefine((v, ctx) => exactlyOne(v, ['good', 'bad'], ctx))
      .optional(),
    latency: z
      .strictObject({
        metric: metricName,
        threshold_seconds: z
          .number({ error: 'expected a positive number of seconds' })
          .positive({ error: 'expected a positive number of seconds' }),
        matchers,
      })
      .optional(),
    probe: z
      .strictObject({
        metric: metricName,
        matchers,
        slice: duration(1000).prefault('1m'),
        good_when: goodWhen.prefault('>= 1'),
      })
      .optional(),
    log_ratio: z
      .strictObject({
        good: logMatcherSchema.optional(),
        bad: logMatcherSchema.optional(),
        total: logMatcherSchema,
      })
      .superRefine((v, ctx) => exactlyOne(v, ['good', 'bad'], ctx))
      .optional(),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['ratio', 'latency', 'probe', 'log_ratio'], ctx));

const window = z
  .strictObject({
    rolling: duration(3_600_000).optional(),
    calendar: z
      .strictObject({
        unit: z.enum(['month', 'quarter'], { error: 'expected month or quarter' }),
        time_zone: timeZone,
      })
      .optional(),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['rolling', 'calendar'], ctx));

const isoTime = z
  .string({ error: 'expected an ISO time like "2025-12-24T18:00:00Z"' })
  .refine(
    (value) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
      !Number.isNaN(Date.parse(value)),
    { error: 'expected an ISO time with a zone, like "2025-12-24T18:00:00Z"' },
  );

const exclusion = z
  .strictObject({
    reason: text('a reason').optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    cron: z
      .string({ error: 'expected a cron expression' })
      .refine(isCron, { error: 'expected a cron expression like "0 2 * * sat"' })
      .optional(),
    days: z
      .array(z.enum(WEEKDAYS, { error: `expected one of ${WEEKDAYS.join(', ')}` }))
      .min(1, { error: 'expected at least one day' })
      .optional(),
    start: z
      .string({ error: 'expected a time of day like "02:00"' })
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day like "02:00"' })
      .optional(),
    duration: duration(60_000).optional(),
    time_zone: timeZone.optional(),
  })
  .superRefine((v, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, input: v });
    if (v.from !== undefined || v.to !== undefined) {
      if (v.from === undefined || v.to === undefined) return issue('expected both from and to');
      if (v.cron ?? v.days ?? v.start ?? v.duration ?? v.time_zone) {
        return issue('expected either { from, to } or a recurring exclusion, not both');
      }
      if (Date.parse(v.to) <= Date.parse(v.from)) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: 'expected a time after from',
          input: v.to,
        });
      }
      return;
    }
    if ((v.cron === undefined) === (v.days === undefined)) {
      return issue('expected { from, to }, { cron, duration, time_zone } or { days, start, ... }');
    }
    if (v.days !== undefined && v.start === undefined) return issue('expected start with days');
    if (v.cron !== undefined && v.start !== undefined)
      return issue('expected start only with days');
    if (v.duration === undefined || v.time_zone === undefined) {
      issue('expected duration and time_zone for a recurring exclusion');
    }
  });

const tier = z
  .strictObject({
    name,
    severity: z.enum(['page', 'ticket'], { error: 'expected page or ticket' }),
    factor: z
      .number({ error: 'expected a burn rate factor above 0' })
      .positive({ error: 'expected a burn rate factor above 0' }),
    long_window: duration(60_000),
    short_window: duration(1000),
  })
  .superRefine((v, ctx) => {
    if (v.short_window >= v.long_window) {
      ctx.addIssue({
        code: 'custom',
        path: ['short_window'],
        message: 'expected a short window shorter than long_window',
        input: v.short_window,
      });
    }
  });

export const sloDocumentSchema = z.strictObject({
  apiVersion: z.literal('halo/v1', { error: 'expected "halo/v1"' }),
  kind: z.literal('SLO', { error: 'expected "SLO"' }),
  metadata: z.strictObject({
    name,
    labels: labelMap.default({}),
    annotations: stringMap.default({}),
  }),
  spec: z.strictObject({
    service: text('a service name'),
    description: z.string({ error: 'expected a string' }).optional(),
    objective: z
      .number({ error: 'expected a percentage like 99.9' })
      .gt(0, { error: 'expected a percentage above 0 and below 100, like 99.9' })
      .lt(100, { error: 'expected a percentage above 0 and below 100, like 99.9' }),
    window,
    sli,
    group_by: labelName.optional(),
    min_events: z
      .number({ error: 'expected a whole number of events above 0' })
      .int({ error: 'expected a whole number of events above 0' })
      .positive({ error: 'expected a whole number of events above 0' })
      .optional(),
    exclusions: z.array(exclusion, { error: 'expected a list of exclusions' }).default([]),
    alerting: z
      .strictObject({
        page_labels: labelMap.default({}),
        ticket_labels: labelMap.default({}),
        annotations: stringMap.default({}),
      })
      .prefault({}),
    burn_rate_tiers: z
      .array(tier, { error: 'expected a list of tiers' })
      .min(1, { error: 'expected at least one tier' })
      .superRefine((tiers, ctx) => {
        const seen = new Set<string>();
        tiers.forEach((t, i) => {
          if (seen.has(t.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: 'expected a unique tier name',
              input: t.name,
            });
          }
          seen.add(t.name);
        });
      })
      .optional(),
  }),
});
type SloDocument = z.output<typeof sloDocumentSchema>;

const CRON_FIELDS: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** A five-field cron expression (minute hour day-of-month month day-of-week). */
function isCron(value: string): boolean {
  const fields = value.trim().toLowerCase().split(/\s+/);
  if (fields.length !== 5) return false;
  return fields.every((field, i) => {
    const [min, max] = CRON_FIELDS[i]!;
    const num = (part: string) => {
      const day = i === 4 ? ['sun', ...WEEKDAYS].indexOf(part as Weekday) : -1;
      const n = day >= 0 ? day : /^\d+$/.test(part) ? Number(part) : NaN;
      return n >= min && n <= max;
    };
    return field.split(',').every((item) => {
      const [range, step] = item.split('/');
      if (step !== undefined && !/^[1-9]\d*$/.test(step)) return false;
      if (range === '*') return true;
      const ends = (range ?? '').split('-');
      return ends.length <= 2 && ends.every(num);
    });
  });
}

function toSlo(doc: SloDocument, source: string): Slo {
  const { metadata, spec } = doc;
  const log = (m: z.output<typeof logMatcherSchema> | undefined): LogMatcher | undefined =>
    m && {
      service: m.service,
      severity: m.severity,
      attributes: m.attributes,
      bodyContains: m.body_contains,
    };
  const s = spec.sli;
  const sliOut: Sli = s.ratio
    ? { kind: 'ratio', ...s.ratio }
    : s.latency
      ? {
          kind: 'latency',
          metric: s.latency.metric,
          thresholdSeconds: s.latency.threshold_seconds,
          matchers: s.latency.matchers,
        }
      : s.probe
        ? {
            kind: 'probe',
            metric: s.probe.metric,
            matchers: s.probe.matchers,
            sliceMs: s.probe.slice,
            goodWhen: s.probe.good_when,
          }
        : {
            kind: 'log_ratio',
            good: log(s.log_ratio!.good),
            bad: log(s.log_ratio!.bad),
            total: log(s.log_ratio!.total)!,
          };
  const w = spec.window;
  return {
    name: metadata.name,
    labels: metadata.labels,
    annotations: metadata.annotations,
    service: spec.service,
    description: spec.description,
    objective: spec.objective,
    window: w.calendar
      ? { kind: 'calendar', unit: w.calendar.unit, timeZone: w.calendar.time_zone }
      : { kind: 'rolling', periodMs: w.rolling! },
    sli: sliOut,
    groupBy: spec.group_by,
    minEvents: spec.min_events,
    exclusions: spec.exclusions.map((e): Exclusion =>
      e.from !== undefined
        ? { kind: 'once', from: e.from, to: e.to!, reason: e.reason }
        : {
            kind: 'recurring',
            cron: e.cron,
            days: e.days,
            start: e.start,
            durationMs: e.duration!,
            timeZone: e.time_zone!,
            reason: e.reason,
          },
    ),
    alerting: {
      pageLabels: spec.alerting.page_labels,
      ticketLabels: spec.alerting.ticket_labels,
      annotations: spec.alerting.annotations,
    },
    burnRateTiers: spec.burn_rate_tiers?.map((t) => ({
      name: t.name,
      severity: t.severity,
      factor: t.factor,
      longWindowMs: t.long_window,
      shortWindowMs: t.short_window,
    })),
    source,
  };
}

/** A parsed YAML document with what error messages need to point at a line. */
export interface YamlDoc {
  raw: unknown;
  doc: Document;
  lines: LineCounter;
  label: string;
}

/** Splits a multi-document YAML text; a syntax error names label:line:col. Empty documents are dropped. */
export function readYamlDocuments(text: string, label: string): YamlDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const list = Array.isArray(docs) ? docs : [];
  const out: YamlDoc[] = [];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      const message = first.message.split('\n')[0];
      throw new ConfigError(`${label}:${pos.line}:${pos.col}: invalid YAML: ${message}`);
    }
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) continue;
    out.push({ raw, doc, lines, label });
  }
  return out;
}

/** label:line of the deepest node of `path` that the document has. */
export function positionOf(y: YamlDoc, path: readonly PropertyKey[]): string {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? y.doc.contents : y.doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    let range: [number, number, number] | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
      range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    } else if (isSeq(parent)) {
      range = (parent.items[Number(key)] as { range?: [number, number, number] } | undefined)
        ?.range;
    }
    if (range) return `${y.label}:${y.lines.linePos(range[0]).line}`;
  }
  const start = (y.doc.contents as { range?: [number, number, number] } | null)?.range;
  return start ? `${y.label}:${y.lines.linePos(start[0]).line}` : y.label;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function showValue(value: unknown): string | undefined {
  if (value === undefined) return 'nothing';
  if (typeof value === 'object' && value !== null) return undefined;
  const shown = JSON.stringify(value) ?? String(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/**
 * Validates `value` (found at `base` in the YAML document) with a schema, or throws a
 * ConfigError with one line per issue: "file:line: key.path: got VALUE, expected …".
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  y: YamlDoc,
  base: readonly PropertyKey[] = [],
  value: unknown = valueAt(y.raw, base),
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const messages = result.error.issues.map((issue) => {
    const local = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((key) => {
          const full = [...base, ...local, key];
          const expected = unknownKeyHint(key, allowedKeys(local.map(String), schema));
          return `${positionOf(y, full)}: ${full.join('.')}: unknown key${expected}`;
        })
        .join('\n');
    }
    const full = [...base, ...local];
    const found = valueAt(value, local);
    const shown = showValue(found);
    const keys = allowedKeys(local.map(String), schema);
    const message =
      issue.code === 'invalid_type' && issue.expected === 'object' && keys.length > 0
        ? `expected a mapping with ${keys.join(', ')}`
        : issue.message.replace(/^Invalid input: /, '');
    const subject = full.length === 0 ? '(top level)' : full.join('.');
    const got = found === undefined ? 'missing, ' : shown === undefined ? '' : `got ${shown}, `;
    return `${positionOf(y, full)}: ${subject}: ${got}${message}`;
  });
  throw new ConfigError(messages.join('\n'));
}

/** Parses every `---` document of a halo/v1 SLO file; `label` names the file in errors. */
export function parseSlos(text: string, label: string): Slo[] {
  const slos: Slo[] = [];
  const seen = new Map<string, string>();
  for (const y of readYamlDocuments(text, label)) {
    const source = positionOf(y, []);
    if (typeof y.raw !== 'object' || Array.isArray(y.raw)) {
      throw new ConfigError(`${source}: expected a mapping with apiVersion, kind, metadata, spec`);
    }
    const { apiVersion, kind } = y.raw as Record<string, unknown>;
    if (apiVersion !== 'halo/v1' || kind !== 'SLO') {
      const key = apiVersion !== 'halo/v1' ? 'apiVersion' : 'kind';
      const hint = apiVersion === 'openslo/v1' ? ' (import OpenSLO documents with openslo.ts)' : '';
      const got = showValue((y.raw as Record<string, unknown>)[key]) ?? 'a mapping';
      const expected = key === 'apiVersion' ? '"halo/v1"' : '"SLO"';
      throw new ConfigError(
        `${positionOf(y, [key])}: ${key}: got ${got}, expected ${expected}${hint}`,
      );
    }
    const doc = parseWith(sloDocumentSchema, y);
    const where = positionOf(y, ['metadata', 'name']);
    const previous = seen.get(doc.metadata.name);
    if (previous !== undefined) {
      throw new ConfigError(
        `${where}: metadata.name: got "${doc.metadata.name}", expected a name not used before (${previous})`,
      );
    }
    seen.set(doc.metadata.name, where);
    slos.push(toSlo(doc, source));
  }
  return slos;
}

/** Validates a halo/v1 SLO document built in code (the OpenSLO import); errors point into `y`. */
export function buildSlo(value: unknown, y: YamlDoc, source: string): Slo {
  return toSlo(parseWith(sloDocumentSchema, y, [], value), source);
}

/** Reads and parses a halo/v1 SLO file. */
export function loadSloFile(path: string): Slo[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError(`${path}: cannot read SLO file: ${why}`, { cause: err });
  }
  return parseSlos(text, path);
}
