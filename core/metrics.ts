// The process's Prometheus registry: default Node metrics, build info, and one gauge per readiness check.

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { VERSION } from './version.ts';

export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: 'halo_' });
  new Gauge({
    name: 'halo_build_info',
    help: 'Always 1; the labels say which Halo and Node.js run.',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: VERSION, node: process.version }, 1);
  return registry;
}

/** `halo_check_up{check="store"}` is 1 when the check passes at scrape time, else 0. */
export function registerChecks(
  registry: Registry,
  checks: () => Record<string, () => Promise<boolean>>,
): void {
  new Gauge({
    name: 'halo_check_up',
    help: 'Whether a dependency of this process answers (1) or not (0), checked at scrape time.',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      const entries = Object.entries(checks());
      const results = await Promise.all(entries.map(([, check]) => check().catch(() => false)));
      this.reset();
      entries.forEach(([name], i) => this.set({ check: name }, results[i] ? 1 : 0));
    },
  });
}
