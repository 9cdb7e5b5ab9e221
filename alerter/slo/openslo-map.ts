// Maps one OpenSLO SLO document (objectives, labels, time window) to halo/v1 SLOs, one per objective.

import { buildSlo } from './spec.ts';
import type { Slo } from './model.ts';
import { convertPolicies } from './openslo-alerts.ts';
import {
  fail,
  OPENSLO_DURATION,
  slug,
  type Found,
  type Index,
  type Meta,
  type Objective,
  type Path,
  type SloSpec,
} from './openslo-schema.ts';
import { convertSli, type SliRef } from './openslo-sli.ts';
import { positionOf, type YamlDoc } from './yaml-docs.ts';

export function convertSlo({ y, doc }: Found<SloSpec>, index: Index, warnings: string[]): Slo[] {
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
