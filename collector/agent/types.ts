// The agent's contract with its sources: what a source is, what it returns each time it is
// collected, and how a source type declares its config keys.

import type { z } from 'zod';
import type { Severity } from '../../core/conventions.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * counter: a cumulative count as the target reports it; the agent turns it into a delta per
 * interval (a reset counts from zero, the first scrape of a series publishes nothing).
 * gauge: a value as it is. Histogram buckets (`le` label), `_sum` and `_count` are counters.
 */
export type SampleType = 'counter' | 'gauge';

export interface RawSample {
  /** Prometheus-style name: [a-zA-Z_:][a-zA-Z0-9_:]* */
  name: string;
  /** Never tier, host or service: those come from the agent and the source config. */
  labels: Record<string, string>;
  value: number;
  type: SampleType;
  /** An explicit timestamp in ms (a Prometheus sample may carry one); else the collection time. */
  ts?: number;
}

export interface RawLogRecord {
  ts: number;
  severity: Severity;
  body: string;
  attributes: Record<string, string>;
  traceId?: string;
}

/** Log records read in one go from one file, with an identity that survives a restart. */
export interface LogChunk {
  /** The same lines read again give the same id (file identity and byte offsets). */
  id: string;
  records: RawLogRecord[];
  /** Called once the chunk is durably handed off (published or spooled): checkpoint here. */
  commit(): Promise<void>;
}

export interface Collection {
  samples: RawSample[];
  logChunks?: LogChunk[];
}

export interface SourceContext {
  /** Aborted when the source's timeout passes: stop and return or throw. */
  signal: AbortSignal;
  /** The agent's clock (injected in tests). */
  now: () => number;
  logger: Logger;
}

export interface Source {
  readonly name: string;
  readonly type: string;
  /** Throws when the target cannot be read: the agent reports up=0 with the reason. */
  collect(ctx: SourceContext): Promise<Collection>;
  close?(): Promise<void>;
}

export interface SourceDeps {
  /** The source's name in the config (unique in the agent). */
  name: string;
  logger: Logger;
  /** A folder of the source's own under the agent's state dir (checkpoints, …). */
  stateDir: string;
  now: () => number;
}

/** One source type: its config keys (a z.strictObject) and how to build it. */
export interface SourceDefinition<Options extends z.ZodObject = z.ZodObject> {
  type: string;
  options: Options;
  create(options: z.output<Options>, deps: SourceDeps): Source;
}
