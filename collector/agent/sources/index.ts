// Every source type the agent knows, for its config schema and for building sources.

import type { SourceDefinition } from '../types.ts';
import { haproxySource } from './haproxy.ts';
import { hostSource } from './host.ts';
import { logsSource } from './logs.ts';
import { natsSource } from './nats.ts';
import { nginxSource } from './nginx.ts';
import { postgresSource } from './postgres.ts';
import { probeSource } from './probe.ts';
import { prometheusSource } from './prometheus.ts';
import { redisSource } from './redis.ts';

export const SOURCE_DEFINITIONS: readonly SourceDefinition[] = [
  hostSource,
  prometheusSource,
  haproxySource,
  nginxSource,
  redisSource,
  postgresSource,
  natsSource,
  probeSource,
  logsSource,
] as unknown as readonly SourceDefinition[];
