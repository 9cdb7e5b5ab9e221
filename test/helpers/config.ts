// Builds a validated config for tests from a plain object, as halo.yaml would give it.

import { configSchema, type HaloConfig } from '../../core/config/schema.ts';

export function testConfig(raw: Record<string, unknown> = {}): HaloConfig {
  return configSchema.parse(raw);
}
