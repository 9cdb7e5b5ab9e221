// The prometheus source: scrapes a Prometheus or OpenMetrics text endpoint (node_exporter,
// haproxy's built-in exporter, an app's /metrics) and passes its series on, relabeled.

import { z } from 'zod';
import { byteSize, httpUrl, secret } from '../../../core/config/schema.ts';
import { fetchText, type FetchedText } from '../http.ts';
import { putLabel, scanPromText, type FamilyType, type ScanStats } from '../prom-text.ts';
import { applyRelabel, compileRelabelRules, relabelRule } from '../relabel.ts';
import type { RawSample, SampleType, Source, SourceDefinition } from '../types.ts';

export class PrometheusScrapeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrometheusScrapeError';
  }
}

/** OpenMetrics first, as Prometheus asks: it carries `_created` and exemplars apart. */
export const ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

/** Labels the agent adds itself: a target's own are kept as exported_<name>, as Prometheus does. */
const AGENT_LABELS = ['tier', 'host', 'service'] as const;

export const prometheusOptions = z
  .strictObject({
    /** The metrics endpoint, e.g. http://127.0.0.1:9100/metrics. */
    url: httpUrl('use bearer_token or headers'),
    headers: z
      .record(z.string(), z.string({ error: 'expected a header value' }), {
        error: 'expected a map of header names to values',
      })
      .optional(),
    bearer_token: secret(),
    max_bytes: byteSize('10MiB'),
    /** Keep the timestamps the target writes; else every sample is at the collection time. */
    honor_timestamps: z.boolean({ error: 'expected true or false' }).default(true),
    metric_relabel_configs: z
      .array(relabelRule, { error: 'expected a list of relabel rules' })
      .default([]),
  })
  .superRefine((options, ctx) => {
    const authorization = Object.keys(options.headers ?? {}).some(
      (name) => name.toLowerCase() === 'authorization',
    );
    if (authorization && options.bearer_token !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['bearer_token'],
        message: 'expected bearer_token or an Authorization header, not both',
      });
    }
  });

export const prometheusSource: SourceDefinition<typeof prometheusOptions> = {
  type: 'prometheus',
  options: prometheusOptions,
  create(options, deps): Source {
    const target = describeUrl(options.url);
    const relabel = compileRelabelRules(options.metric_relabel_configs);
    const headers: Record<string, string> = { Accept: ACCEPT, ...options.headers };
    const token = options.bearer_token;
    return {
      name: deps.name,
      type: 'prometheus',
      async collect(ctx) {
        let response: FetchedText;
        try {
          response = await fetchText(options.url, {
            signal: ctx.signal,
            maxBytes: options.max_bytes.bytes,
            headers: token ? { ...headers, Authorization: `Bearer ${token.reveal()}` } : headers,
          });
        } catch (err) {
          throw new PrometheusScrapeError(`scrape ${target}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (response.status !== 200) {
          throw new PrometheusScrapeError(`scrape ${target}: HTTP status ${response.status}`);
        }
        const samples: RawSample[] = [];
        const stats = scanPromText(
          response.text,
          (name, labels, value, ts, type, family) => {
            const sample: RawSample = {
              name,
              labels: withoutAgentLabels(labels),
              value,
              type: sampleType(type, name === family),
              ts: options.honor_timestamps ? ts : undefined,
            };
            if (relabel.rules.length === 0) samples.push(sample);
            else {
              const kept = applyRelabel(sample, relabel);
              if (!kept) return;
              // A rule may have written tier, host or service: those stay the agent's.
              const labels = withoutAgentLabels(kept.labels);
              samples.push(labels === kept.labels ? kept : { ...kept, labels });
            }
          },
          { openMetrics: isOpenMetrics(response.headers.get('content-type')) || undefined },
        );
        if (stats.skipped > 0) {
          if (stats.sampleCount === 0) {
            throw new PrometheusScrapeError(
              `scrape ${target}: no sample parsed from the response (${describeSkipped(stats)})`,
            );
          }
          ctx.logger.warn(
            {
              source: deps.name,
              target,
              skipped: stats.skipped,
              line: stats.firstBad?.line,
              reason: stats.firstBad?.reason,
            },
            `scrape ${target}: skipped ${describeSkipped(stats)}`,
          );
        }
        return { samples };
      },
    };
  },
};

/**
 * counter and histogram series are cumulative; a summary's quantiles (the samples named as the
 * family) are not, its _sum and _count are; gauge, gaugehistogram, info, stateset and untyped
 * series are values as they are.
 */
export function sampleType(type: FamilyType, namedAsFamily: boolean): SampleType {
  if (type === 'counter' || type === 'histogram') return 'counter';
  if (type === 'summary') return namedAsFamily ? 'gauge' : 'counter';
  return 'gauge';
}

/** Renames a target's tier, host and service to exported_…, and exported_… to exported_exported_…. */
export function withoutAgentLabels(labels: Record<string, string>): Record<string, string> {
  if (labels.tier === undefined && labels.host === undefined && labels.service === undefined) {
    return labels;
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) {
    if (!(AGENT_LABELS as readonly string[]).includes(name)) putLabel(out, name, value);
  }
  for (const name of AGENT_LABELS) {
    const value = labels[name];
    if (value === undefined) continue;
    let exported = `exported_${name}`;
    while (out[exported] !== undefined) exported = `exported_${exported}`;
    out[exported] = value;
  }
  return out;
}

function isOpenMetrics(contentType: string | null): boolean {
  return contentType?.trimStart().toLowerCase().startsWith('application/openmetrics-text') ?? false;
}

function describeSkipped(stats: ScanStats): string {
  const first = stats.firstBad;
  const lines = stats.skipped === 1 ? '1 line' : `${stats.skipped} lines`;
  return first ? `${lines} that did not parse, first line ${first.line}: ${first.reason}` : lines;
}

/** The URL for messages: scheme, host and path; a query string may hold a key, so it is left out. */
function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
