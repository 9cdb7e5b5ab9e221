// The agent: section of halo.yaml: one fixture per failure case, and how sources resolve.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSources } from '../collector/agent/config.ts';
import { agentSchema, haloConfigSchema } from '../cli/config-schema.ts';
import { loadConfig } from '../core/config/load.ts';
import { ConfigError } from '../core/errors.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'agent', name);

describe('a broken agent section names the source, the key and what is expected', () => {
  it.each([
    [
      'an unknown source type lists the known ones',
      'unknown-type.yaml',
      'unknown-type.yaml:4: agent.sources.0.type: got "nginxx", expected type to be one of host, prometheus, haproxy, nginx, redis, postgres, nats, probe, logs',
    ],
    [
      'a misspelt key of a source suggests the right one',
      'misspelt-key.yaml',
      'misspelt-key.yaml:5: agent.sources.0.ulr: got "http://127.0.0.1/stub_status", unknown key of this source type (did you mean "url"?)',
    ],
    [
      'a source type’s own checks run',
      'source-refinement.yaml',
      'source-refinement.yaml:4: agent.sources.0: expected exactly one of url and socket',
    ],
    [
      'two sources of one name are refused',
      'duplicate-names.yaml',
      'duplicate-names.yaml:5: agent.sources.1.name: got nothing, expected a name unique among the sources',
    ],
    [
      'a tier must be a plain name',
      'bad-tier.yaml',
      'bad-tier.yaml:2: agent.tier: got "Web Tier", expected a tier name of lowercase letters',
    ],
    [
      'a per-source interval must be a duration',
      'bad-interval.yaml',
      'bad-interval.yaml:6: agent.sources.0.interval: got "soon", expected a duration',
    ],
  ])('%s', (_name, file, expected) => {
    let message = '';
    try {
      loadConfig({ schema: haloConfigSchema, path: fixture(file), env: {} });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(expected);
  });
});

describe('resolving sources', () => {
  it('fills name, interval, timeout, service and labels from the agent, and keeps the timeout within the interval', () => {
    const agent = agentSchema.parse({
      tier: 'web',
      host: 'web-1',
      service: 'shop',
      labels: { env: 'prod' },
      interval: '10s',
      timeout: '5s',
      sources: [
        { type: 'nginx', url: 'http://127.0.0.1:8080/stub_status' },
        {
          type: 'probe',
          name: 'front',
          target: 'https://shop.example/',
          interval: '2s',
          service: 'front',
          labels: { env: 'edge', probe: 'https' },
        },
      ],
    });
    const [nginx, probe] = resolveSources(agent);
    expect(nginx).toMatchObject({
      type: 'nginx',
      name: 'nginx',
      intervalMs: 10_000,
      timeoutMs: 5000,
      service: 'shop',
      labels: { env: 'prod' },
    });
    expect(nginx?.options).toMatchObject({ url: 'http://127.0.0.1:8080/stub_status' });
    expect(probe).toMatchObject({
      name: 'front',
      intervalMs: 2000,
      timeoutMs: 2000,
      service: 'front',
      labels: { env: 'edge', probe: 'https' },
    });
  });
});
