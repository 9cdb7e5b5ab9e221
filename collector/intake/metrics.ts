// The intake's own Prometheus metrics: requests by route and status, what was taken and refused,
// and how long a request takes until its batches are on the bus.

import { Counter, Histogram, type Registry } from 'prom-client';

export type IntakeMetrics = ReturnType<typeof intakeMetrics>;

export function intakeMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'halo_intake_requests_total',
      help: 'Intake requests by route and HTTP status.',
      labelNames: ['route', 'code'],
      registers,
    }),
    samples: new Counter({
      name: 'halo_intake_accepted_total',
      help: 'Samples and log records the intake put on the bus.',
      labelNames: ['route'],
      registers,
    }),
    refused: new Counter({
      name: 'halo_intake_refused_total',
      help: 'Samples, lines and log records the intake refused.',
      labelNames: ['route'],
      registers,
    }),
    seconds: new Histogram({
      name: 'halo_intake_request_seconds',
      help: 'Time to take one intake request, until its batches are on the bus.',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
}
