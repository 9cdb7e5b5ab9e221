// Whether an untyped Prometheus sample is a running total: from the metric metadata senders send
// (remote_write's metadata, a text import's # TYPE lines), else from the naming conventions.

import type { FamilyMetadataType, IntakeSeries } from './types.ts';

const MAX_FAMILIES = 100_000;

/** The family a sample belongs to, when its name has a suffix a family type gives its samples. */
function familyOf(name: string): { family: string; suffix: string } | undefined {
  for (const suffix of ['_bucket', '_count', '_sum', '_total']) {
    if (name.endsWith(suffix)) return { family: name.slice(0, -suffix.length), suffix };
  }
  return undefined;
}

export class FamilyTypes {
  readonly #types = new Map<string, FamilyMetadataType>();
  /** Families seen with `_bucket{le}` or `{quantile}` samples: their _sum and _count are totals. */
  readonly #distributions = new Set<string>();

  learn(family: string, type: FamilyMetadataType): void {
    if (this.#types.get(family) === type) return;
    if (this.#types.size >= MAX_FAMILIES) this.#types.clear();
    this.#types.set(family, type);
  }

  /** Notes the histogram and summary families of a request before its samples are typed. */
  observe(series: readonly IntakeSeries[]): void {
    for (const s of series) {
      if (s.temporality !== 'untyped') continue;
      if (s.labels['le'] !== undefined && s.name.endsWith('_bucket')) {
        this.#remember(s.name.slice(0, -'_bucket'.length));
      } else if (s.labels['quantile'] !== undefined) this.#remember(s.name);
    }
  }

  /** cumulative or gauge for one untyped sample name and its labels. */
  resolve(name: string, labels: Record<string, string>): 'cumulative' | 'gauge' {
    const own = this.#types.get(name);
    if (own === 'counter') return 'cumulative';
    // A summary's quantiles (named as the family) are values; its _sum and _count are totals.
    if (own !== undefined && own !== 'unknown') return 'gauge';
    const parts = familyOf(name);
    if (parts === undefined) return 'gauge';
    const type = this.#types.get(parts.family);
    if (type === 'counter') return parts.suffix === '_total' ? 'cumulative' : 'gauge';
    if (type === 'histogram' || type === 'summary') return 'cumulative';
    if (type !== undefined && type !== 'unknown') return 'gauge';
    // No metadata: Prometheus' naming conventions.
    if (parts.suffix === '_total') return 'cumulative';
    if (parts.suffix === '_bucket') return labels['le'] !== undefined ? 'cumulative' : 'gauge';
    return this.#distributions.has(parts.family) ? 'cumulative' : 'gauge';
  }

  #remember(family: string): void {
    if (this.#distributions.size >= MAX_FAMILIES) this.#distributions.clear();
    this.#distributions.add(family);
  }
}
