// Label matchers and metric selectors as bound SQL over the series table: which fingerprints a
// selector names, and the value of a label of a series (tier, host and service are columns).

import type { Matcher, Selector } from '../slo/model.ts';
import { PROMOTED_LABELS } from '../../core/conventions.ts';
import { ident, join, sql, type BoundQuery } from '../../core/store/sql.ts';

const PROMOTED = new Set<string>(PROMOTED_LABELS);

/** The value of a label of a series row (empty when the series has no such label). */
export function labelValue(label: string): BoundQuery {
  if (label === '__name__') return sql`name`;
  if (PROMOTED.has(label)) return { text: label, params: {} };
  return sql`labels[${label}]`;
}

/**
 * One matcher, Prometheus semantics: regular expressions match the whole value. `value` is
 * where the label is read (a series row's label by default).
 */
export function matcherCondition(m: Matcher, value: BoundQuery = labelValue(m.label)): BoundQuery {
  switch (m.op) {
    case '=':
      return sql`${value} = ${m.value}`;
    case '!=':
      return sql`${value} != ${m.value}`;
    case '=~':
      return sql`match(${value}, ${`^(?:${m.value})$`})`;
    case '!~':
      return sql`NOT match(${value}, ${`^(?:${m.value})$`})`;
  }
}

/** A selector as a condition on a series row: its metric name and every matcher. */
export function selectorCondition(selector: Selector): BoundQuery {
  return join(
    [sql`name = ${selector.metric}`, ...selector.matchers.map((m) => matcherCondition(m))],
    ' AND ',
  );
}

/**
 * One row per series of the given metrics (the series table may hold a series in several
 * partitions): fingerprint, name, tier, host, service, labels.
 */
export function seriesOf(seriesTable: string, metrics: readonly string[]): BoundQuery {
  return sql`SELECT fingerprint, any(name) AS name, any(tier) AS tier, any(host) AS host,
      any(service) AS service, any(labels) AS labels
    FROM ${ident(seriesTable)} AS s WHERE s.name IN ${param(metrics)} GROUP BY fingerprint`;
}

function param(values: readonly string[]): BoundQuery {
  return sql`${[...values]}`;
}
