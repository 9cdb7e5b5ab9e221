// The probe source: an HTTP(S) request or a TCP (optionally TLS) connection from this host to one
// target, reported as success, duration, status code and time left on the peer's certificate.

import { lookup } from 'node:dns/promises';
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { z } from 'zod';
import { byteSize } from '../../../core/config/schema.ts';
import { Secret } from '../../../core/config/secret.ts';
import type { RawSample, Source, SourceDefinition } from '../types.ts';

export const FAILURE_REASONS = [
  'timeout',
  'refused',
  'status',
  'body',
  'tls',
  'dns',
  'other',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that must not follow a redirect to another origin (what fetch drops too). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** A probe that did not pass, with the reason reported as probe_failure{reason}. */
export class ProbeFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProbeFailure';
  }
}

/** "host:port" or "[v6]:port"; undefined when it is not one. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

const STATUS_ERROR =
  'expected a status code like 200, a class like "2xx" or a range like "200-299"';

/** One accepted status: a code, a class ("2xx") or a range ("200-204"). */
const statusRange = z
  .union([z.number(), z.string()], { error: STATUS_ERROR })
  .transform((value, ctx) => {
    const text = String(value).trim();
    const cls = /^([1-5])xx$/i.exec(text);
    if (cls) return { min: Number(cls[1]) * 100, max: Number(cls[1]) * 100 + 99 };
    const range = /^(\d{3})(?:-(\d{3}))?$/.exec(text);
    const min = Number(range?.[1]);
    const max = Number(range?.[2] ?? range?.[1]);
    if (range && min >= 100 && max <= 599 && min <= max) return { min, max };
    ctx.addIssue({ code: 'custom', message: STATUS_ERROR, input: value });
    return z.NEVER;
  });

const regex = z.string({ error: 'expected a regular expression' }).transform((value, ctx) => {
  try {
    return new RegExp(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a valid regular expression', input: value });
    return z.NEVER;
  }
});

const LINE_BREAK = 'expected a header value without line breaks';

/** Header values may carry tokens: kept as Secrets so that printing the options hides them. */
const headerValue = z
  .union([z.string().regex(/^[^\r\n\0]*$/, { error: LINE_BREAK }), z.instanceof(Secret)], {
    error: LINE_BREAK,
  })
  .transform((value) => (value instanceof Secret ? value : new Secret(value)));

const isHttpUrl = (value: string) => /^https?:\/\/[^/]/.test(value) && URL.canParse(value);

export const probeOptions = z
  .strictObject({
    kind: z.enum(['http', 'tcp'], { error: 'expected http or tcp' }).default('http'),
    target: z
      .string({ error: 'expected a URL (kind http) or host:port (kind tcp)' })
      .min(1, { error: 'expected a URL (kind http) or host:port (kind tcp)' }),
    method: z
      .string({ error: 'expected an HTTP method like GET' })
      .regex(/^[A-Za-z]+$/, { error: 'expected an HTTP method like GET' })
      .default('GET')
      .transform((value) => value.toUpperCase()),
    headers: z
      .record(
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected a header name' }),
        headerValue,
        { error: 'expected a map of header names to values' },
      )
      .optional(),
    expect_status: z
      .array(statusRange, { error: 'expected a list of status codes or classes' })
      .min(1, { error: 'expected at least one status code or class' })
      .prefault(['2xx', '3xx']),
    body_match: regex.optional(),
    body_not_match: regex.optional(),
    /** kind tcp only: a TLS handshake after connecting (http takes TLS from the URL scheme). */
    tls: z.boolean({ error: 'expected true or false' }).optional(),
    tls_insecure: z.boolean({ error: 'expected true or false' }).default(false),
    /** A larger body fails the probe (reason body) rather than being read on. */
    max_bytes: byteSize('1MiB'),
  })
  .superRefine((options, ctx) => {
    // No input in the issue: a target may hold a password, and issues get printed.
    const issue = (key: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [key], message });
    if (options.kind === 'http') {
      if (!isHttpUrl(options.target)) issue('target', 'expected an http:// or https:// URL');
      else if (new URL(options.target).username !== '' || new URL(options.target).password)
        issue('target', 'expected a URL without user or password (send them in headers)');
      if (options.tls !== undefined)
        issue('tls', 'expected tls only with kind tcp (http takes it from the URL scheme)');
      return;
    }
    if (!parseHostPort(options.target)) issue('target', 'expected host:port like db-1:5432');
    for (const key of ['headers', 'body_match', 'body_not_match'] as const)
      if (options[key] !== undefined) issue(key, `expected ${key} only with kind http`);
  });

type ProbeOptions = z.output<typeof probeOptions>;

/** One collection's open sockets, what it saw, and its time bound. */
interface Run {
  signal: AbortSignal;
  sockets: Set<Socket>;
  insecure: boolean;
  status?: number;
  /** notAfter of the last TLS peer certificate, in ms. */
  certNotAfter?: number;
}

const errorCode = (err: unknown) =>
  (err as { code?: string }).code ?? (err as Error).message ?? String(err);

/** Settles with the promise, or rejects as soon as the signal aborts (dns.lookup cannot stop). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new ProbeFailure('timeout', 'timed out'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function resolveHost(host: string, run: Run): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await untilAborted(lookup(host), run.signal)).address;
  } catch (err) {
    throw new ProbeFailure('dns', `resolve ${host}: ${errorCode(err)}`, { cause: err });
  }
}

function connectTcp(address: string, port: number, run: Run): Promise<Socket> {
  const socket = netConnect({ host: address, port });
  run.sockets.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.on('error', (err) => {
      const reason = errorCode(err) === 'ECONNREFUSED' ? 'refused' : 'other';
      reject(
        new ProbeFailure(reason, `connect to port ${port}: ${errorCode(err)}`, { cause: err }),
      );
    });
  });
}

/**
 * The handshake never rejects the certificate itself, so that its expiry is reported even when it
 * is not trusted; the verdict is applied after, before a byte of the request is sent.
 */
async function startTls(socket: Socket, host: string, run: Run): Promise<TLSSocket> {
  const secure = tlsConnect({
    socket,
    ...(isIP(host) ? {} : { servername: host }),
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  // The TLS socket takes over the TCP handle: destroying the TCP socket under it as well would
  // free the handle twice (Node 20 crashes with a segmentation fault).
  run.sockets.delete(socket);
  run.sockets.add(secure);
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.on('error', (err) =>
      reject(new ProbeFailure('tls', `TLS handshake: ${errorCode(err)}`, { cause: err })),
    );
  });
  const notAfter = Date.parse(secure.getPeerCertificate().valid_to ?? '');
  if (Number.isFinite(notAfter)) run.certNotAfter = notAfter;
  if (!secure.authorized && !run.insecure)
    throw new ProbeFailure('tls', `certificate not trusted: ${String(secure.authorizationError)}`);
  return secure;
}

async function openConnection(host: string, port: number, tls: boolean, run: Run) {
  run.certNotAfter = undefined;
  const socket = await connectTcp(await resolveHost(host, run), port, run);
  return tls ? startTls(socket, host, run) : socket;
}

function sendRequest(
  socket: Socket,
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({
      method,
      path: `${url.pathname}${url.search}`,
      headers: { host: url.host, ...headers },
      createConnection: () => socket,
    });
    req.once('response', resolve);
    req.on('error', (err) =>
      reject(new ProbeFailure('other', `HTTP request: ${errorCode(err)}`, { cause: err })),
    );
    req.end();
  });
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      res.destroy();
      reject(new ProbeFailure('body', `body is larger than the limit of ${maxBytes} bytes`));
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', (err) =>
      reject(new ProbeFailure('other', `reading the body: ${errorCode(err)}`, { cause: err })),
    );
    res.once('close', () => reject(new ProbeFailure('other', 'connection closed mid-body')));
  });
}

type HeaderMap = Record<string, string>;

/** The next hop of a redirect, with the method and headers it is sent with. */
function redirect(from: URL, location: string, status: number, method: string, headers: HeaderMap) {
  const to = URL.canParse(location, from.href) ? new URL(location, from) : undefined;
  if (!to || !/^https?:$/.test(to.protocol))
    throw new ProbeFailure('other', 'redirect to a location that is not an http(s) URL');
  const toGet = status === 303 || ((status === 301 || status === 302) && method === 'POST');
  const nextMethod = toGet && method !== 'HEAD' ? 'GET' : method;
  const nextHeaders =
    to.origin === from.origin
      ? headers
      : Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k)));
  return { url: to, method: nextMethod, headers: nextHeaders };
}

async function probeHttp(options: ProbeOptions, run: Run): Promise<void> {
  let url = new URL(options.target);
  let method = options.method;
  let headers: HeaderMap = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.reveal()]),
  );
  for (let hop = 0; ; hop++) {
    const tls = url.protocol === 'https:';
    const port = Number(url.port || (tls ? 443 : 80));
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = await openConnection(host, port, tls, run);
    const res = await sendRequest(socket, url, method, headers);
    const status = res.statusCode ?? 0;
    run.status = status;
    const location = res.headers.location;
    if (REDIRECT_STATUSES.has(status) && location) {
      res.destroy();
      socket.destroy();
      if (hop >= MAX_REDIRECTS)
        throw new ProbeFailure('other', `more than ${MAX_REDIRECTS} redirects`);
      ({ url, method, headers } = redirect(url, location, status, method, headers));
      continue;
    }
    if (!options.expect_status.some((r) => status >= r.min && status <= r.max)) {
      res.destroy();
      throw new ProbeFailure('status', `status ${status} is not expected`);
    }
    const body = await readBody(res, options.max_bytes.bytes);
    if (options.body_match && !options.body_match.test(body))
      throw new ProbeFailure('body', 'body does not match body_match');
    if (options.body_not_match?.test(body))
      throw new ProbeFailure('body', 'body matches body_not_match');
    return;
  }
}

async function probeTcp(options: ProbeOptions, run: Run): Promise<void> {
  const target = parseHostPort(options.target);
  if (!target) throw new ProbeFailure('other', 'expected host:port');
  await openConnection(target.host, target.port, options.tls ?? false, run);
}

function classify(err: unknown, signal: AbortSignal): ProbeFailure {
  if (signal.aborted) return new ProbeFailure('timeout', 'timed out', { cause: err });
  if (err instanceof ProbeFailure) return err;
  return new ProbeFailure('other', (err as Error).message ?? String(err), { cause: err });
}

export const probeSource: SourceDefinition<typeof probeOptions> = {
  type: 'probe',
  options: probeOptions,
  create(options, deps): Source {
    const logger = deps.logger.child({ module: 'probe', source: deps.name });
    return {
      name: deps.name,
      type: 'probe',
      async collect(ctx) {
        const run: Run = { signal: ctx.signal, sockets: new Set(), insecure: options.tls_insecure };
        // Destroying the sockets makes every pending step reject at once.
        const onAbort = () => run.sockets.forEach((socket) => socket.destroy());
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        const started = performance.now();
        let failure: ProbeFailure | undefined;
        try {
          ctx.signal.throwIfAborted();
          await (options.kind === 'http' ? probeHttp(options, run) : probeTcp(options, run));
        } catch (err) {
          failure = classify(err, ctx.signal);
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          run.sockets.forEach((socket) => socket.destroy());
        }
        const seconds = (performance.now() - started) / 1000;
        if (failure) logger.debug({ reason: failure.reason, err: failure.message }, 'probe failed');
        const samples = [
          gauge('probe_success', failure ? 0 : 1),
          gauge('probe_duration_seconds', seconds),
        ];
        if (run.status !== undefined) samples.push(gauge('probe_http_status_code', run.status));
        if (run.certNotAfter !== undefined) {
          const left = (run.certNotAfter - ctx.now()) / 1000;
          samples.push(gauge('probe_tls_cert_expiry_seconds', left));
        }
        if (failure) samples.push(gauge('probe_failure', 1, { reason: failure.reason }));
        return { samples };
      },
    };
  },
};

function gauge(name: string, value: number, labels: Record<string, string> = {}): RawSample {
  return { name, labels, value, type: 'gauge' };
}
