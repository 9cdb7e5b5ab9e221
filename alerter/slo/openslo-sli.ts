// Maps an OpenSLO SLI (ratioMetric or thresholdMetric with halo metric sources) to a halo/v1 sli.

import type { z } from 'zod';
import {
  fail,
  type metricSource,
  type Objective,
  type Path,
  type SliSpec,
  type SloSpec,
} from './openslo-schema.ts';
import { logMatcherSchema, selectorSchema } from './spec-fields.ts';
import { parseWith, type YamlDoc } from './yaml-docs.ts';

export interface SliRef {
  y: YamlDoc;
  /** Key path of the SLI spec within y. */
  base: Path;
  spec: SliSpec;
  what: string;
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

export function convertSli(
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
