// The process's Prometheus registry: default Node metrics plus what each component registers.

import { collectDefaultMetrics, Registry } from 'prom-client';

export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'halo_' });
  return registry;
}
