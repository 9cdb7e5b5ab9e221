// NATS source: reads the server's monitoring endpoints (/varz, /jsz) over HTTP and turns them
// into connection, traffic and JetStream stream and consumer series.

import { z } from 'zod';
import { httpUrl } from '../../../core/config/schema.ts';
import { redactUrl } from '../../../core/config/secret.ts';
import { fetchText } from '../http.ts';
import type { RawSample, SampleType, SourceContext, SourceDefinition } from '../types.ts';

/** /jsz with every consumer of a large server runs to a few MiB; /varz is a few KiB. */
const MAX_BYTES = 16 * 1024 * 1024;

export const natsOptions = z.strictObject({
  /** The monitoring base URL (nats-server -m PORT), not the client URL. */
  url: httpUrl().default('http://127.0.0.1:8222'),
});

export class NatsSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NatsSourceError';
  }
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

/** GETs a monitoring endpoint as a JSON object; undefined on 404 when the endpoint is optional. */
async function readJson(
  url: string,
  path: string,
  signal: AbortSignal,
  optional = false,
): Promise<Json | undefined> {
  const what = `read ${redactUrl(endpoint(url, path.split('?')[0] ?? path))}`;
  let response;
  try {
    response = await fetchText(endpoint(url, path), { signal, maxBytes: MAX_BYTES });
  } catch (err) {
    throw new NatsSourceError(`nats: ${what}: ${(err as Error).message}`, { cause: err });
  }
  if (response.status === 404 && optional) return undefined;
  if (response.status !== 200)
    throw new NatsSourceError(`nats: ${what}: HTTP status ${response.status}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch (err) {
    throw new NatsSourceError(`nats: ${what}: not JSON`, { cause: err });
  }
  const body = object(parsed);
  if (!body) throw new NatsSourceError(`nats: ${what}: expected a JSON object`);
  return body;
}

/** /varz fields that map one to one onto a series; cpu is handled apart (percent → ratio). */
const VARZ: Record<string, { name: string; type: SampleType }> = {
  connections: { name: 'nats_connections', type: 'gauge' },
  total_connections: { name: 'nats_connections_total', type: 'counter' },
  in_msgs: { name: 'nats_in_messages_total', type: 'counter' },
  out_msgs: { name: 'nats_out_messages_total', type: 'counter' },
  in_bytes: { name: 'nats_in_bytes_total', type: 'counter' },
  out_bytes: { name: 'nats_out_bytes_total', type: 'counter' },
  slow_consumers: { name: 'nats_slow_consumers_total', type: 'counter' },
  subscriptions: { name: 'nats_subscriptions', type: 'gauge' },
  mem: { name: 'nats_memory_bytes', type: 'gauge' },
  routes: { name: 'nats_routes', type: 'gauge' },
  leafnodes: { name: 'nats_leafnodes', type: 'gauge' },
};

export function varzSamples(varz: Json): RawSample[] {
  const samples: RawSample[] = [];
  for (const [key, { name, type }] of Object.entries(VARZ)) {
    const value = num(varz[key]);
    if (value !== undefined) samples.push({ name, labels: {}, value, type });
  }
  // nats reports cpu in percent of one core; base units make that a ratio (2 = two cores busy).
  const cpu = num(varz['cpu']);
  if (cpu !== undefined)
    samples.push({ name: 'nats_cpu_ratio', labels: {}, value: cpu / 100, type: 'gauge' });
  return samples;
}

/** /jsz top-level usage and the JetStream API counters. */
function jetstreamServerSamples(jsz: Json): RawSample[] {
  const config = object(jsz['config']) ?? {};
  const api = object(jsz['api']) ?? {};
  const fields: Array<[string, unknown, SampleType]> = [
    ['nats_jetstream_memory_used_bytes', jsz['memory'], 'gauge'],
    ['nats_jetstream_storage_used_bytes', jsz['storage'], 'gauge'],
    ['nats_jetstream_memory_max_bytes', config['max_memory'], 'gauge'],
    ['nats_jetstream_storage_max_bytes', config['max_storage'], 'gauge'],
    ['nats_jetstream_api_requests_total', api['total'], 'counter'],
    ['nats_jetstream_api_errors_total', api['errors'], 'counter'],
  ];
  return fields.flatMap(([name, raw, type]) => {
    const value = num(raw);
    return value === undefined ? [] : [{ name, labels: {}, value, type }];
  });
}

/**
 * In a cluster every server hosting a replica lists the stream, and a follower's consumer
 * numbers lag the leader's: only the leader reports, so sums over hosts stay right.
 */
function ledHere(detail: Json, serverName: string | undefined): boolean {
  const leader = str(object(detail['cluster'])?.['leader']);
  return leader === undefined || leader === '' || serverName === undefined || leader === serverName;
}

export function jszSamples(jsz: Json, serverName: string | undefined): RawSample[] {
  // A server without JetStream answers 200 with "disabled": true.
  if (jsz['disabled'] === true) return [];
  const samples = jetstreamServerSamples(jsz);
  const gauge = (name: string, raw: unknown, labels: Record<string, string>) => {
    const value = num(raw);
    if (value !== undefined) samples.push({ name, labels, value, type: 'gauge' });
  };
  for (const accountValue of list(jsz['account_details'])) {
    const account = object(accountValue);
    if (!account) continue;
    const accountName = str(account['name']) ?? str(account['id']) ?? '';
    for (const streamValue of list(account['stream_detail'])) {
      const stream = object(streamValue);
      const streamName = str(stream?.['name']);
      if (!stream || streamName === undefined) continue;
      if (ledHere(stream, serverName)) {
        const state = object(stream['state']) ?? {};
        const labels = { account: accountName, stream: streamName };
        gauge('nats_stream_messages', state['messages'], labels);
        gauge('nats_stream_bytes', state['bytes'], labels);
        gauge('nats_stream_consumers', state['consumer_count'], labels);
      }
      for (const consumerValue of list(stream['consumer_detail'])) {
        const consumer = object(consumerValue);
        const consumerName = str(consumer?.['name']);
        if (!consumer || consumerName === undefined || !ledHere(consumer, serverName)) continue;
        const labels = { account: accountName, stream: streamName, consumer: consumerName };
        gauge('nats_consumer_pending_messages', consumer['num_pending'], labels);
        gauge('nats_consumer_ack_pending_messages', consumer['num_ack_pending'], labels);
        gauge('nats_consumer_redelivered_messages', consumer['num_redelivered'], labels);
        gauge('nats_consumer_waiting_pulls', consumer['num_waiting'], labels);
      }
    }
  }
  return samples;
}

export const natsSource: SourceDefinition<typeof natsOptions> = {
  type: 'nats',
  options: natsOptions,
  create(options, deps) {
    return {
      name: deps.name,
      type: 'nats',
      async collect(ctx: SourceContext) {
        const varz = (await readJson(options.url, '/varz', ctx.signal)) ?? {};
        const samples = varzSamples(varz);
        const jsz = await readJson(
          options.url,
          '/jsz?accounts=true&streams=true&consumers=true',
          ctx.signal,
          true,
        );
        if (jsz) samples.push(...jszSamples(jsz, str(varz['server_name'])));
        return { samples };
      },
    };
  },
};
