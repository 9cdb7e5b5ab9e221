// The agent's own Prometheus metrics: what it collected, batched, spooled, published and dropped.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface AgentMetrics {
  samples: Counter<'source'>;
  invalidSamples: Counter<'source'>;
  sourceErrors: Counter<'source'>;
  batches: Counter<'outcome'>;
  logRecords: Counter<'source'>;
}

export function createAgentMetrics(
  registry: Registry,
  spool: () => { bytes: number; length: number },
): AgentMetrics {
  const registers = [registry];
  new Gauge({
    name: 'halo_agent_spool_bytes',
    help: 'Bytes of batches in the spool, waiting for JetStream.',
    registers,
    collect() {
      this.set(spool().bytes);
    },
  });
  new Gauge({
    name: 'halo_agent_spool_batches',
    help: 'Batches in the spool, waiting for JetStream.',
    registers,
    collect() {
      this.set(spool().length);
    },
  });
  return {
    samples: new Counter({
      name: 'halo_agent_samples_total',
      help: 'Samples collected and handed to the batcher (after counter deltas).',
      labelNames: ['source'],
      registers,
    }),
    invalidSamples: new Counter({
      name: 'halo_agent_invalid_samples_total',
      help: 'Samples dropped at the agent because the ingester would refuse them (bad name or labels).',
      labelNames: ['source'],
      registers,
    }),
    sourceErrors: new Counter({
      name: 'halo_agent_source_errors_total',
      help: 'Collections of a source that failed (up = 0).',
      labelNames: ['source'],
      registers,
    }),
    batches: new Counter({
      name: 'halo_agent_batches_total',
      help: 'Batches by outcome: spooled, published, duplicate (already in JetStream), dropped (spool full), rejected (refused by the server), lost (could not be spooled).',
      labelNames: ['outcome'],
      registers,
    }),
    logRecords: new Counter({
      name: 'halo_agent_log_records_total',
      help: 'Log records spooled.',
      labelNames: ['source'],
      registers,
    }),
  };
}
