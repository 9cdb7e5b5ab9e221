// The types a prom-text scan returns, and the sample suffixes each family type allows.

export type FamilyType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'untyped'
  | 'unknown';

export interface PromSample {
  name: string;
  /** Without empty values: as in Prometheus, `a=""` is the same as no label a. */
  labels: Record<string, string>;
  value: number;
  /** The sample's own timestamp in ms, when it has one. */
  ts: number | undefined;
  /** The type declared by `# TYPE` for the family, else untyped (unknown in OpenMetrics). */
  type: FamilyType;
  /** The family the sample belongs to: `x` for `x_bucket`, `x_sum`, …; else the name itself. */
  family: string;
}

export type SampleVisitor = (
  name: string,
  labels: Record<string, string>,
  value: number,
  ts: number | undefined,
  type: FamilyType,
  family: string,
) => void;

export interface BadLine {
  /** 1-based. */
  line: number;
  reason: string;
}

export interface ScanStats {
  /** Samples passed to the visitor (not counting dropped `_created` ones). */
  sampleCount: number;
  /** Lines that did not parse and were left out. */
  skipped: number;
  firstBad: BadLine | undefined;
  openMetrics: boolean;
}

export interface ScanOptions {
  /** OpenMetrics (float-second timestamps, `# EOF`); detected from a final `# EOF` when unset. */
  openMetrics?: boolean;
}

/** Sample suffixes of each family type; `_created` samples are dropped (a start time, not data). */
export const SUFFIXES: Record<FamilyType, readonly string[]> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
  gauge: [],
  stateset: [],
  untyped: [],
  unknown: [],
};

export const FAMILY_TYPES = new Set<string>(Object.keys(SUFFIXES));
