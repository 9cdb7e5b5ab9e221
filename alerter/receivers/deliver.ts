// Delivery of one notification over HTTP: a POST with a timeout, retried with exponential backoff
// and full jitter on 429, 5xx and network errors (honouring Retry-After), given up after a time.
// Results, errors and log lines name the target ("slack webhook #1 of receiver ops"), never a URL.

import type { Logger } from '../../core/logger.ts';
import { formatDuration } from '../../core/units.ts';
import type { DeliveryConfig } from './config.ts';
import type { DeliveryResult } from './types.ts';

export interface DeliverySettings {
  timeoutMs: number;
  giveUpAfterMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = {
  timeoutMs: 10_000,
  giveUpAfterMs: 10 * 60_000,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
};

export function deliverySettings(config: DeliveryConfig): DeliverySettings {
  return {
    timeoutMs: config.timeout.ms,
    giveUpAfterMs: config.give_up_after.ms,
    initialBackoffMs: config.initial_backoff.ms,
    maxBackoffMs: config.max_backoff.ms,
  };
}

/** What delivery needs from outside; clock, sleep and random are injected so tests run fast. */
export interface DeliveryRuntime {
  logger: Logger;
  settings: DeliverySettings;
  clock: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter. */
  random: () => number;
  userAgent: string;
}

export interface DeliveryRequest {
  /** Safe name for logs and errors. */
  target: string;
  url: string;
  body: string;
  /** Extra headers of an attempt (signatures carry the time of the attempt). */
  headers?: (now: number) => Record<string, string>;
  /** Text that must never appear in a message, e.g. the URL or a key echoed in a response. */
  secrets: readonly string[];
  /** Awaited before every attempt, e.g. a per-webhook rate limit. */
  beforeAttempt?: () => Promise<void>;
  /** Called after every attempt with its HTTP status, or "error" / "timeout". */
  onAttempt?: (code: string) => void;
}

type Attempt =
  | { kind: 'sent'; status: number }
  | { kind: 'failed'; status: number; reason: string }
  | { kind: 'retry'; status?: number; reason: string; retryAfterMs?: number };

/** How an HTTP status is handled: 2xx sent, 429 and 5xx retried, anything else (3xx, 4xx) failed. */
export function classifyStatus(status: number): 'sent' | 'retry' | 'failed' {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 429 || status >= 500) return 'retry';
  return 'failed';
}

/** Retry-After in ms from now: delay-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Full jitter: uniformly random up to min(max, initial × 2^(retry−1)). */
export function backoffMs(retry: number, settings: DeliverySettings, random: () => number): number {
  const cap = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

/** Replaces every secret (and its URL- and JSON-escaped forms) in a text with <secret>. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    for (const form of new Set([s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)])) {
      out = out.split(form).join('<secret>');
    }
  }
  return out;
}

/** POSTs the request until it is sent, fails for good, or the give-up time passes. */
export async function deliver(
  request: DeliveryRequest,
  runtime: DeliveryRuntime,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  const { settings, clock, logger } = runtime;
  const log = logger.child({ target: request.target });
  const deadline = clock() + settings.giveUpAfterMs;
  let attempts = 0;
  for (;;) {
    if (signal?.aborted) return stopped(request, attempts);
    await request.beforeAttempt?.();
    attempts += 1;
    const result = await attemptOnce(request, runtime, signal);
    if (result.kind === 'sent') {
      log.debug({ attempts, status: result.status }, 'notification sent');
      return { outcome: 'sent', attempts, status: result.status };
    }
    const status = result.status !== undefined ? { status: result.status } : {};
    if (result.kind === 'failed') {
      const error = `${request.target}: ${result.reason}`;
      log.error({ attempts, ...status }, `notification failed, not retried: ${error}`);
      return { outcome: 'failed', attempts, ...status, error };
    }
    if (signal?.aborted) return stopped(request, attempts, status);
    const waitMs = result.retryAfterMs ?? backoffMs(attempts, settings, runtime.random);
    if (clock() + waitMs > deadline) {
      const error =
        `${request.target}: gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} ` +
        `(give_up_after ${formatDuration(settings.giveUpAfterMs)}): ${result.reason}`;
      log.error({ attempts, ...status }, `notification given up: ${error}`);
      return { outcome: 'gave_up', attempts, ...status, error };
    }
    log.warn(
      { attempts, ...status, wait_ms: waitMs },
      `notification attempt failed, retrying: ${request.target}: ${result.reason}`,
    );
    await runtime.sleep(waitMs, signal);
  }
}

function stopped(
  request: DeliveryRequest,
  attempts: number,
  status: { status?: number } = {},
): DeliveryResult {
  return {
    outcome: 'gave_up',
    attempts,
    ...status,
    error: `${request.target}: stopped before the notification was sent`,
  };
}

async function attemptOnce(
  request: DeliveryRequest,
  runtime: DeliveryRuntime,
  signal: AbortSignal | undefined,
): Promise<Attempt> {
  const timeout = AbortSignal.timeout(runtime.settings.timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const timedOut = `timed out after ${formatDuration(runtime.settings.timeoutMs)}`;
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': runtime.userAgent,
        ...request.headers?.(runtime.clock()),
      },
      body: request.body,
      // A redirect is answered as a failure, not followed: the body (a routing key) and the
      // signature would otherwise go wherever the Location header says.
      redirect: 'manual',
      signal: both,
    });
  } catch (err) {
    request.onAttempt?.(timeout.aborted ? 'timeout' : 'error');
    // Only the error's code is used: fetch's messages can hold the URL.
    return { kind: 'retry', reason: timeout.aborted ? timedOut : networkReason(err) };
  }
  request.onAttempt?.(String(response.status));
  const body = await snippet(response, request.secrets);
  const reason = `HTTP ${response.status}${body === '' ? '' : `: ${body}`}`;
  const kind = classifyStatus(response.status);
  if (kind === 'sent') return { kind, status: response.status };
  if (kind === 'failed') return { kind, status: response.status, reason };
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), runtime.clock());
  return {
    kind,
    status: response.status,
    reason,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
};

function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === undefined) return 'network error';
  return `${NETWORK_CODES[code] ?? 'network error'} (${code})`;
}

/** The start of a response body on one line, secrets scrubbed; the rest is not read. */
async function snippet(response: Response, secrets: readonly string[]): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= 4096) {
        cut = true;
        break;
      }
    }
  } catch {
    cut = true;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  let text = scrub(Buffer.concat(chunks).toString('utf8'), secrets);
  // A body cut short may end in the first part of a secret: that part goes too.
  if (cut) text = scrubTail(text, secrets);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** Removes an end of the text that is the start of a secret (4 characters or more). */
function scrubTail(text: string, secrets: readonly string[]): string {
  for (const s of secrets) {
    for (let n = Math.min(s.length, text.length); n >= 4; n--) {
      if (text.endsWith(s.slice(0, n))) return `${text.slice(0, -n)}<secret>`;
    }
  }
  return text;
}

/** Counters an integration reports to; see metrics.ts. */
export interface DeliveryObserver {
  attempt(code: string): void;
  outcome(outcome: DeliveryResult['outcome'] | 'skipped'): void;
}

/** What every integration is built with: where it sits, and how it delivers. */
export interface IntegrationContext {
  receiver: string;
  /** 1-based position among the receiver's integrations of its kind. */
  index: number;
  runtime: DeliveryRuntime;
  observer?: DeliveryObserver;
}

/** deliver() for an integration: attempts and the outcome are counted by its observer. */
export async function deliverFor(
  context: IntegrationContext,
  request: Omit<DeliveryRequest, 'onAttempt'>,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  const { observer } = context;
  const result = await deliver(
    observer ? { ...request, onAttempt: (code) => observer.attempt(code) } : request,
    context.runtime,
    signal,
  );
  observer?.outcome(result.outcome);
  return result;
}
