// Label matchers evaluated in memory on series rows read from the series table, with the same
// meaning as their SQL form (selector.ts): a missing label is the empty string, and regular
// expressions must match the whole value.

import { PROMOTED_LABELS } from '../../core/conventions.ts';
import type { Matcher, Selector } from '../slo/model.ts';

/** A series as the series table holds it. */
export interface SeriesRow {
  fingerprint: string;
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
}

const PROMOTED = new Set<string>(PROMOTED_LABELS);

export function labelOf(series: SeriesRow, label: string): string {
  if (label === '__name__') return series.name;
  if (PROMOTED.has(label)) return series[label as 'tier' | 'host' | 'service'];
  return series.labels[label] ?? '';
}

const compiled = new Map<string, RegExp>();

/** The anchored regular expression of a =~ or !~ matcher, compiled once; throws when invalid. */
export function matcherRegex(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(`^(?:${source})$`, 'u');
    compiled.set(source, re);
  }
  return re;
}

/** Whether a label's value (the empty string when missing) passes the matcher. */
export function valueMatches(value: string, m: Matcher): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return matcherRegex(m.value).test(value);
    case '!~':
      return !matcherRegex(m.value).test(value);
  }
}

export function matches(series: SeriesRow, m: Matcher): boolean {
  return valueMatches(labelOf(series, m.label), m);
}

export function selects(series: SeriesRow, selector: Selector): boolean {
  return series.name === selector.metric && selector.matchers.every((m) => matches(series, m));
}
