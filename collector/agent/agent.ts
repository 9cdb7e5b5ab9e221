// The agent: collects each source on its own schedule, turns counters into deltas, batches the
// samples into the spool, and publishes the spool to JetStream. One failing source never stops
// the others; an unreachable NATS only grows the spool.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { checkSeries, encodeBatch, type LogBatch } from '../../core/batch.ts';
import { BATCH_VERSION, logsSubject } from '../../core/conventions.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { Batcher, type PublishSample } from './batcher.ts';
import { resolveSources, type AgentConfig, type ResolvedSource } from './config.ts';
import { DeltaTracker } from './deltas.ts';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import { Publisher } from './publisher.ts';
import { Spool } from './spool.ts';
import type { Collection, LogChunk, RawSample, Source, SourceDefinition } from './types.ts';

export interface AgentOptions {
  config: AgentConfig;
  /** Default home of the spool and state dirs: <dataDir>/agent. */
  dataDir: string;
  definitions: readonly SourceDefinition[];
  /** The current NATS connection, or undefined while there is none. */
  connection: () => NatsConnection | undefined;
  logger: Logger;
  registry?: Registry;
  now?: () => number;
}

interface Running {
  spec: ResolvedSource;
  source: Source;
  deltas: DeltaTracker;
  timer: NodeJS.Timeout | undefined;
  /** The collection under way, so that stop() can wait for it. */
  current: Promise<void> | undefined;
  warnedInvalid: boolean;
}

export class Agent {
  readonly spool: Spool;
  readonly metrics: AgentMetrics;
  readonly #options: AgentOptions;
  readonly #batcher: Batcher;
  readonly #publisher: Publisher;
  readonly #sources: Running[];
  readonly #now: () => number;
  readonly #log: Logger;
  #stopped = false;

  private constructor(
    options: AgentOptions,
    spool: Spool,
    sources: Running[],
    metrics: AgentMetrics,
  ) {
    this.#options = options;
    this.spool = spool;
    this.metrics = metrics;
    this.#sources = sources;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ module: 'agent' });
    const { config } = options;
    this.#batcher = new Batcher({
      tier: config.tier,
      host: config.host,
      spool,
      maxSamples: config.batch.max_samples,
      maxBytes: config.batch.max_bytes.bytes,
      maxAgeMs: config.batch.max_age.ms,
      onSpooled: () => metrics.batches.inc({ outcome: 'spooled' }),
      onSpoolError: (err, samples) => {
        metrics.batches.inc({ outcome: 'lost' });
        this.#log.error(
          { err: errorMessage(err), samples },
          'could not write a batch to the spool; it is lost',
        );
      },
    });
    this.#publisher = new Publisher({
      spool,
      connection: options.connection,
      logger: options.logger.child({ module: 'publisher' }),
      onPublished: (_entry, duplicate) =>
        metrics.batches.inc({ outcome: duplicate ? 'duplicate' : 'published' }),
      onRejected: () => metrics.batches.inc({ outcome: 'rejected' }),
    });
  }

  static async create(options: AgentOptions): Promise<Agent> {
    const { config, dataDir, logger } = options;
    const registry = options.registry ?? new Registry();
    const byType = new Map(options.definitions.map((d) => [d.type, d]));
    const stateDir = config.state_dir ?? join(dataDir, 'agent', 'state');
    const now = options.now ?? Date.now;
    // The spool reports drops from the start; the metrics that count them need the spool.
    const late: { metrics?: AgentMetrics } = {};
    const spool = await Spool.open({
      dir: config.spool.dir ?? join(dataDir, 'agent', 'spool'),
      maxBytes: config.spool.max_bytes.bytes,
      fsync: config.spool.fsync,
      logger: logger.child({ module: 'spool' }),
      onDrop: (entry) => {
        late.metrics?.batches.inc({ outcome: 'dropped' });
        logger.warn(
          { batch: entry.id, samples: entry.samples },
          'spool full: dropped the oldest batch',
        );
      },
    });
    const metrics = createAgentMetrics(registry, () => ({
      bytes: spool.bytes,
      length: spool.length,
    }));
    late.metrics = metrics;
    const sources: Running[] = [];
    for (const spec of resolveSources(config)) {
      const definition = byType.get(spec.type);
      if (!definition) throw new Error(`agent: no source type ${spec.type}`);
      const dir = join(stateDir, spec.name);
      await mkdir(dir, { recursive: true });
      const source = definition.create(spec.options as never, {
        name: spec.name,
        logger: logger.child({ module: 'source', source: spec.name }),
        stateDir: dir,
        now,
      });
      sources.push({
        spec,
        source,
        deltas: new DeltaTracker(),
        timer: undefined,
        current: undefined,
        warnedInvalid: false,
      });
    }
    const agent = new Agent(options, spool, sources, metrics);
    // What an earlier run left in the spool goes out as soon as there is a connection.
    agent.#publisher.start();
    return agent;
  }

  get sourceNames(): string[] {
    return this.#sources.map((s) => s.spec.name);
  }

  /** Starts every source's schedule (the publisher runs from creation). */
  start(): void {
    for (const running of this.#sources) this.#schedule(running, 0);
    this.#log.info(
      {
        tier: this.#options.config.tier,
        host: this.#options.config.host,
        sources: this.sourceNames,
      },
      'agent started',
    );
  }

  #schedule(running: Running, delayMs: number): void {
    if (this.#stopped) return;
    running.timer = setTimeout(() => {
      const started = Date.now();
      running.current = this.#collect(running).finally(() => {
        running.current = undefined;
        // The next collection is due one interval after this one began, never overlapping.
        this.#schedule(running, Math.max(0, running.spec.intervalMs - (Date.now() - started)));
      });
    }, delayMs);
  }

  /** Collects one source now (tests drive the agent with this and flush()). */
  async collect(name: string): Promise<void> {
    const running = this.#sources.find((s) => s.spec.name === name);
    if (!running) throw new Error(`agent: no source named ${name}`);
    await this.#collect(running);
  }

  /** Sends pending samples to the spool now. */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async #collect(running: Running): Promise<void> {
    const { spec, source } = running;
    const ts = this.#now();
    const began = performance.now();
    let collection: Collection | undefined;
    try {
      collection = await source.collect({
        signal: AbortSignal.timeout(spec.timeoutMs),
        now: this.#now,
        logger: this.#options.logger.child({ module: 'source', source: spec.name }),
      });
    } catch (err) {
      this.metrics.sourceErrors.inc({ source: spec.name });
      this.#log.warn(
        { source: spec.name, type: spec.type, err: errorMessage(err) },
        'source failed',
      );
    }
    const seconds = (performance.now() - began) / 1000;
    const own: RawSample[] = [
      {
        name: 'halo_source_up',
        labels: { source: spec.name, type: spec.type },
        value: collection ? 1 : 0,
        type: 'gauge',
      },
      {
        name: 'halo_source_duration_seconds',
        labels: { source: spec.name, type: spec.type },
        value: seconds,
        type: 'gauge',
      },
    ];
    const samples = collection ? running.deltas.apply(collection.samples) : [];
    this.#batcher.add(this.#prepare(running, [...own, ...samples], ts));
    if (collection?.logChunks) await this.#spoolLogs(running, collection.logChunks);
  }

  /** Adds the configured labels and checks each sample as the ingester will. */
  #prepare(running: Running, samples: RawSample[], ts: number): PublishSample[] {
    const { spec } = running;
    const out: PublishSample[] = [];
    for (const sample of samples) {
      // `source` tells apart two sources of one type (two probes, two redis), as Prometheus's job does.
      const labels = { ...sample.labels, source: spec.name, ...spec.labels };
      const problem = checkSeries(sample.name, labels);
      if (problem) {
        this.metrics.invalidSamples.inc({ source: spec.name });
        if (!running.warnedInvalid) {
          running.warnedInvalid = true;
          this.#log.warn(
            { source: spec.name, reason: problem },
            'dropping samples the ingester would refuse (logged once)',
          );
        }
        continue;
      }
      out.push({
        name: sample.name,
        service: spec.service,
        labels,
        ts: sample.ts ?? ts,
        value: sample.value,
      });
    }
    this.metrics.samples.inc({ source: spec.name }, out.length);
    return out;
  }

  /** One batch per chunk, with the chunk's own id, so a re-read after a crash is a duplicate. */
  async #spoolLogs(running: Running, chunks: LogChunk[]): Promise<void> {
    const { config } = this.#options;
    const { spec } = running;
    for (const chunk of chunks) {
      if (chunk.records.length > 0) {
        const batch: LogBatch = {
          v: BATCH_VERSION,
          kind: 'logs',
          id: `${config.host}:${chunk.id}`,
          tier: config.tier,
          host: config.host,
          records: chunk.records.map((r) => ({
            ts: r.ts,
            service: spec.service,
            severity: r.severity,
            body: r.body,
            attributes: { ...r.attributes, ...spec.labels },
            ...(r.traceId ? { traceId: r.traceId } : {}),
          })),
        };
        try {
          await this.spool.append(
            {
              id: batch.id,
              subject: logsSubject(config.tier, config.host),
              samples: batch.records.length,
            },
            encodeBatch(batch),
          );
        } catch (err) {
          // Not committed: the lines are read again on the next start.
          this.#log.error(
            { source: spec.name, err: errorMessage(err) },
            'could not spool log records; they will be read again',
          );
          return;
        }
        this.metrics.batches.inc({ outcome: 'spooled' });
        this.metrics.logRecords.inc({ source: spec.name }, chunk.records.length);
      }
      await chunk.commit();
    }
  }

  /**
   * Stops the schedules, lets running collections end, spools what is pending, gives the
   * publisher until the deadline to empty the spool, and closes the sources. What is still in
   * the spool is sent by the next run.
   */
  async stop(drainMs = 5000): Promise<void> {
    this.#stopped = true;
    for (const running of this.#sources) clearTimeout(running.timer);
    await Promise.all(this.#sources.map((s) => s.current));
    await this.#batcher.flush();
    await this.#publisher.drain(drainMs);
    await this.#publisher.stop();
    for (const { source } of this.#sources) await source.close?.();
    this.#log.info({ spooled: this.spool.length }, 'agent stopped');
  }
}
