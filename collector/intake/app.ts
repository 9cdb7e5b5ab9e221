// The HTTP intake (Hono): Prometheus remote_write, Prometheus text import and OTLP/HTTP metrics
// and logs, each authenticated by a bearer token, held back with 429 while the ingesters are
// behind, and put on the bus through the intake sink like the agents' data.

import type { NatsConnection } from '@nats-io/nats-core';
import { Hono, type Context } from 'hono';
import { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { Registry } from 'prom-client';
import type { BatchLimits } from '../../core/batch.ts';
import { bearerToken, secretLookup } from '../../core/http/bearer.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import { Backpressure } from './backpressure.ts';
import {
  contentEncoding,
  decodeContent,
  notCompressed,
  readBody,
  type ContentEncoding,
} from './body.ts';
import type { IntakeConfig, IntakeToken } from './config.ts';
import { ImportLines } from './import-lines.ts';
import { importStream, importTooLarge } from './import-text.ts';
import { decodeOtlpLogs } from './otlp-logs.ts';
import { decodeOtlpMetrics, encodeOtlpResponse } from './otlp-metrics.ts';
import { otlpEncoding, otlpError } from './otlp-http.ts';
import { intakeMetrics } from './metrics.ts';
import { decodeRemoteWrite } from './remote-write.ts';
import { IntakeSink } from './sink.ts';
import { IntakeError } from './types.ts';

export const INTAKE_ROUTES = {
  remoteWrite: '/api/v1/write',
  importText: '/api/v1/import/prometheus',
  otlpMetrics: '/v1/metrics',
  otlpLogs: '/v1/logs',
} as const;

export interface IntakeAppOptions {
  config: IntakeConfig;
  limits: BatchLimits;
  nc: NatsConnection;
  /** The ingesters' durable consumer and the streams' byte limits, for the backpressure check. */
  consumer: string;
  maxStreamBytes: { metrics: number; logs: number };
  logger: Logger;
  registry: Registry;
  now?: () => number;
}

/** How long an import waits for the ingesters to catch up before it gives up with a 429. */
const IMPORT_MAX_WAIT_MS = 10 * 60_000;

export function createIntakeApp(options: IntakeAppOptions): Hono {
  const { config, logger: parent } = options;
  const log = parent.child({ module: 'intake' });
  const sink = new IntakeSink({
    nc: options.nc,
    config,
    limits: options.limits,
    ...(options.now ? { now: options.now } : {}),
  });
  const backpressure = new Backpressure({
    nc: options.nc,
    consumer: options.consumer,
    maxPendingBatches: config.backpressure.max_pending_batches,
    maxStreamBytes: options.maxStreamBytes,
    logger: log,
  });
  const metrics = intakeMetrics(options.registry);
  const findToken = secretLookup(config.tokens);
  const { limits } = config;

  function authenticate(c: Context): IntakeToken | undefined {
    const presented = bearerToken(c.req.header('Authorization'));
    if (presented !== undefined) {
      const token = findToken(presented);
      if (token !== undefined) return token;
      throw new IntakeError(401, 'the bearer token is not valid');
    }
    if (config.allow_anonymous) return undefined;
    if (config.tokens.length === 0) {
      throw new IntakeError(
        401,
        'the intake takes no data: configure intake.tokens (or intake.allow_anonymous on a trusted network)',
      );
    }
    throw new IntakeError(401, 'expected an Authorization: Bearer <token> header');
  }

  async function refuseWhileBehind(): Promise<void> {
    const lag = await backpressure.lag();
    if (lag.behind) {
      throw new IntakeError(429, `the pipeline is behind (${lag.reason}); send again later`, {
        retryAfterSeconds: sink.retryAfterSeconds,
      });
    }
  }

  /** Runs a route: auth, backpressure, the handler; errors become their status with a message. */
  function route(
    name: string,
    handler: (c: Context, token: IntakeToken | undefined) => Promise<Response>,
  ) {
    return async (c: Context): Promise<Response> => {
      const end = metrics.seconds.startTimer({ route: name });
      let caller = '-';
      try {
        const token = authenticate(c);
        caller = token?.name ?? 'anonymous';
        await refuseWhileBehind();
        const response = await handler(c, token);
        metrics.requests.inc({ route: name, code: String(response.status) });
        return response;
      } catch (err) {
        if (!(err instanceof IntakeError)) throw err;
        metrics.requests.inc({ route: name, code: String(err.status) });
        log.warn(
          { route: name, caller, status: err.status, reason: err.message },
          'intake request refused',
        );
        if (err.retryAfterSeconds !== undefined)
          c.header('Retry-After', String(err.retryAfterSeconds));
        if (name.startsWith('otlp_')) return otlpError(c, err);
        return c.json({ status: 'error', error: err.message }, err.status);
      } finally {
        end();
      }
    };
  }

  /** What a request put on the bus and what it refused, in the intake's metrics. */
  function count(name: string, accepted: number, refused: number): void {
    metrics.samples.inc({ route: name }, accepted);
    if (refused > 0) metrics.refused.inc({ route: name }, refused);
  }

  /** 400 naming the first refusal once the rest was taken; else the success response. */
  function outcome(
    c: Context,
    name: string,
    accepted: number,
    refused: number,
    first: string | undefined,
    ok: () => Response,
  ): Response {
    count(name, accepted, refused);
    if (refused === 0 || first === undefined) return ok();
    throw new IntakeError(400, `${refused} refused, the rest taken; first: ${first}`);
  }

  const app = new Hono();

  app.post(
    INTAKE_ROUTES.remoteWrite,
    route('remote_write', async (c, token) => {
      const body = await readBody(c.req.raw, limits.max_body.bytes);
      const decoded = decodeRemoteWrite(body, {
        maxDecodedBytes: limits.max_decoded.bytes,
        maxSeries: limits.max_series_per_request,
      });
      for (const { family, type } of decoded.metadata) sink.families.learn(family, type);
      // Native histograms are not stored (Halo keeps classic buckets): counted, not refused.
      if (decoded.skippedHistograms > 0) {
        metrics.refused.inc({ route: 'remote_write' }, decoded.skippedHistograms);
      }
      const request = sink.begin();
      await sink.addSeries(request, decoded.series, token);
      const result = await sink.end(request);
      return outcome(c, 'remote_write', result.accepted, result.refused, result.firstRefused, () =>
        c.body(null, 204),
      );
    }),
  );

  app.post(
    INTAKE_ROUTES.importText,
    route('import', async (c, token) => {
      const declared = Number(c.req.header('content-length') ?? NaN);
      if (declared > limits.max_import.bytes) throw importTooLarge(limits.max_import.bytes);
      const encoding = contentEncoding(c.req.header('content-encoding'));
      const request = sink.begin();
      const lines = new ImportLines(sink, request, token);
      try {
        await importStream(importBody(c, encoding), lines, {
          maxBytes: limits.max_import.bytes,
          waitWhileBehind: async () => {
            const until = Date.now() + IMPORT_MAX_WAIT_MS;
            for (;;) {
              const lag = await backpressure.lag();
              if (!lag.behind) return;
              if (Date.now() > until) await refuseWhileBehind();
              await sleep(250);
            }
          },
        });
      } catch (caught) {
        const err = isZlibError(caught) ? notCompressed(encoding, caught) : caught;
        if (!(err instanceof IntakeError)) throw err;
        // Cut short (too large, or behind for too long): what was read is still taken.
        const taken = await sink.end(request);
        count('import', taken.accepted, lines.badLines);
        throw new IntakeError(
          err.status,
          `${err.message}; the ${lines.lines} lines before were taken`,
          {
            ...(err.retryAfterSeconds !== undefined
              ? { retryAfterSeconds: err.retryAfterSeconds }
              : {}),
          },
        );
      }
      const result = await sink.end(request);
      const first = lines.firstBad && `line ${lines.firstBad.line}: ${lines.firstBad.reason}`;
      return outcome(c, 'import', result.accepted, lines.badLines, first, () => c.body(null, 204));
    }),
  );

  for (const [path, kind] of [
    [INTAKE_ROUTES.otlpMetrics, 'metrics'],
    [INTAKE_ROUTES.otlpLogs, 'logs'],
  ] as const) {
    const name = `otlp_${kind}`;
    app.post(
      path,
      route(name, async (c, token) => {
        const encoding = otlpEncoding(c.req.header('content-type'));
        const raw = await readBody(c.req.raw, limits.max_body.bytes);
        const body = await decodeContent(
          raw,
          c.req.header('content-encoding'),
          limits.max_decoded.bytes,
        );
        const request = sink.begin();
        let rejected: number;
        let firstRejected: string | undefined;
        if (kind === 'metrics') {
          const decoded = decodeOtlpMetrics(body, encoding);
          if (decoded.series.length > limits.max_series_per_request) {
            throw new IntakeError(
              413,
              `OTLP: ${decoded.series.length} series, more than intake.limits.max_series_per_request (${limits.max_series_per_request})`,
            );
          }
          await sink.addSeries(request, decoded.series, token);
          ({ rejected, firstRejected } = decoded);
        } else {
          const decoded = decodeOtlpLogs(body, encoding);
          await sink.addLogs(request, decoded.records, token);
          ({ rejected, firstRejected } = decoded);
        }
        const result = await sink.end(request);
        const refused = rejected + result.refused;
        count(name, result.accepted, refused);
        // OTLP answers 200 with partial_success for what it could not take.
        const message = firstRejected ?? result.firstRefused;
        const response = encodeOtlpResponse(
          kind,
          encoding,
          refused,
          refused > 0 ? message : undefined,
        );
        return c.body(response as Uint8Array<ArrayBuffer>, 200, {
          'Content-Type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
        });
      }),
    );
  }

  return app;
}

/**
 * A text import's body as it arrives, decompressed: from Node's request stream when the server
 * hands it over (its own buffering keeps the socket busy while lines are read), else the web
 * stream.
 */
function importBody(c: Context, encoding: ContentEncoding): AsyncIterable<Uint8Array> {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (incoming instanceof Readable) {
    if (encoding === 'identity') return incoming;
    return incoming.pipe(encoding === 'gzip' ? createGunzip() : createInflate());
  }
  const body = c.req.raw.body;
  if (body === null) return Readable.from([]);
  return encoding === 'identity' ? body : body.pipeThrough(new DecompressionStream(encoding));
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    (typeof code === 'string' && code.startsWith('Z_')) ||
    (err instanceof TypeError && /gzip|decompress/i.test(err.message))
  );
}
