// The halo/v1 SLO spec loader: parses SLO files into the model; errors name file:line, key, value and what is expected.

import type { z } from 'zod';
import type { Exclusion, LogMatcher, Sli, Slo } from './model.ts';
import type { logMatcherSchema } from './spec-fields.ts';
import { sloDocumentSchema, type SloDocument } from './spec-schema.ts';
import { parseHaloDocuments, parseWith, readDocumentFile, type YamlDoc } from './yaml-docs.ts';

export type {
  Exclusion,
  LogMatcher,
  Matcher,
  MatchOp,
  Selector,
  Sli,
  Slo,
  SloWindow,
  Weekday,
} from './model.ts';
export { logMatcherSchema, selectorSchema } from './spec-fields.ts';
export { sloDocumentSchema } from './spec-schema.ts';
export { parseWith, positionOf, readYamlDocuments, type YamlDoc } from './yaml-docs.ts';

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

/** Parses every `---` document of a halo/v1 SLO file; `label` names the file in errors. */
export function parseSlos(text: string, label: string): Slo[] {
  return parseHaloDocuments(text, label, {
    kind: 'SLO',
    schema: sloDocumentSchema,
    hint: (raw) =>
      raw['apiVersion'] === 'openslo/v1' ? ' (import OpenSLO documents with openslo.ts)' : '',
    build: (doc, source) => toSlo(doc, source),
  });
}

/** Validates a halo/v1 SLO document built in code (the OpenSLO import); errors point into `y`. */
export function buildSlo(value: unknown, y: YamlDoc, source: string): Slo {
  return toSlo(parseWith(sloDocumentSchema, y, [], value), source);
}

/** Reads and parses a halo/v1 SLO file. */
export function loadSloFile(path: string): Slo[] {
  return parseSlos(readDocumentFile(path, 'SLO'), path);
}
