// The nginx source: reads the stub_status page and reports connections by state and the
// accepted, handled and request counters.

import { z } from 'zod';
import { httpUrl } from '../../../core/config/schema.ts';
import { redactUrl } from '../../../core/config/secret.ts';
import { fetchText } from '../http.ts';
import type { RawSample, Source, SourceDefinition } from '../types.ts';

export class NginxStatusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NginxStatusError';
  }
}

export const nginxOptions = z.strictObject({
  /** The stub_status location, e.g. http://127.0.0.1:8080/stub_status. */
  url: httpUrl(),
});

/** stub_status is four short lines: anything much larger is not it. */
const MAX_BYTES = 64 * 1024;

export const nginxSource: SourceDefinition<typeof nginxOptions> = {
  type: 'nginx',
  options: nginxOptions,
  create(options, deps): Source {
    const target = redactUrl(options.url);
    return {
      name: deps.name,
      type: 'nginx',
      async collect(ctx) {
        let text: string;
        try {
          const response = await fetchText(options.url, {
            signal: ctx.signal,
            maxBytes: MAX_BYTES,
          });
          if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
          text = response.text;
        } catch (err) {
          throw new NginxStatusError(`read nginx stub_status from ${target}: ${message(err)}`, {
            cause: err,
          });
        }
        const status = parseStubStatus(text);
        if (!status) {
          throw new NginxStatusError(
            `read nginx stub_status from ${target}: expected stub_status output ` +
              `("Active connections: …"), got ${preview(text)}`,
          );
        }
        return { samples: toSamples(status) };
      },
    };
  },
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const preview = (text: string) =>
  JSON.stringify(text.slice(0, 40).replace(/[^\x20-\x7e]/g, '?') + (text.length > 40 ? '…' : ''));

export interface StubStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

// The layout is fixed in ngx_http_stub_status_module.c; each part is matched on its own so
// that extra whitespace or line endings do not matter.
const ACTIVE = /^Active connections:\s*(\d+)\s*$/m;
const COUNTERS = /^server accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)\s*$/m;
const STATES = /^Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)\s*$/m;

/** The numbers of a stub_status page, or undefined when the text is not one. */
export function parseStubStatus(text: string): StubStatus | undefined {
  const normalised = text.replace(/\r\n/g, '\n');
  const active = ACTIVE.exec(normalised);
  const counters = COUNTERS.exec(normalised);
  const states = STATES.exec(normalised);
  if (!active || !counters || !states) return undefined;
  return {
    active: Number(active[1]),
    accepted: Number(counters[1]),
    handled: Number(counters[2]),
    requests: Number(counters[3]),
    reading: Number(states[1]),
    writing: Number(states[2]),
    waiting: Number(states[3]),
  };
}

export function toSamples(status: StubStatus): RawSample[] {
  const gauge = (name: string, value: number): RawSample => ({
    name,
    labels: {},
    value,
    type: 'gauge',
  });
  const counter = (name: string, value: number): RawSample => ({
    name,
    labels: {},
    value,
    type: 'counter',
  });
  return [
    gauge('nginx_connections_active', status.active),
    gauge('nginx_connections_reading', status.reading),
    gauge('nginx_connections_writing', status.writing),
    gauge('nginx_connections_waiting', status.waiting),
    counter('nginx_connections_accepted_total', status.accepted),
    counter('nginx_connections_handled_total', status.handled),
    counter('nginx_http_requests_total', status.requests),
  ];
}
