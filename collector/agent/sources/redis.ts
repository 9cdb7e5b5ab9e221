// Redis source: reads INFO over a plain RESP connection (TCP, TLS or a unix socket) and turns
// its sections into role, client, memory, keyspace, replication and persistence series.

import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { secret } from '../../../core/config/schema.ts';
import type { Secret } from '../../../core/config/secret.ts';
import type { RawSample, SampleType, SourceContext, SourceDefinition } from '../types.ts';

/** INFO of a busy server is a few KiB; anything near this is not a Redis reply we can use. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** A status or error line longer than this is garbage. */
const MAX_LINE_BYTES = 64 * 1024;

const ADDRESS = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/;

export const redisOptions = z.strictObject({
  /** Used unless `socket` is set. */
  address: z
    .string({ error: 'expected host:port like 127.0.0.1:6379' })
    .refine((value) => parseAddress(value) !== undefined, {
      error: 'expected host:port like 127.0.0.1:6379',
    })
    .default('127.0.0.1:6379'),
  socket: z
    .string({ error: 'expected the path of a unix socket' })
    .min(1, { error: 'expected the path of a unix socket' })
    .optional(),
  username: z
    .string({ error: 'expected a user name' })
    .min(1, { error: 'expected a user name' })
    .optional(),
  password: secret(),
  tls: z.boolean({ error: 'expected true or false' }).default(false),
});

type RedisOptions = z.output<typeof redisOptions>;

export function parseAddress(value: string): { host: string; port: number } | undefined {
  const match = ADDRESS.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

export class RedisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisError';
  }
}

// ---------------------------------------------------------------------------------------------
// RESP: just enough of the protocol to send commands and read status, error, integer and bulk
// string replies.

type Reply =
  | { kind: 'status'; text: string }
  | { kind: 'error'; text: string }
  | { kind: 'integer'; value: number }
  | { kind: 'bulk'; text: string | null };

/** The first bytes of the replies we read: + - : $ */
const REPLY_TYPES = new Set([0x2b, 0x2d, 0x3a, 0x24]);

export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/** One reply from the front of the buffer: the reply and the bytes it used, or undefined if incomplete. */
export function parseReply(buffer: Buffer): { reply: Reply; used: number } | undefined {
  if (buffer.length === 0) return undefined;
  // Checked before waiting for a line end, so that garbage fails at once instead of at the timeout.
  if (!REPLY_TYPES.has(buffer[0] ?? 0))
    throw new RedisError('malformed reply: not RESP (is this a Redis server?)');
  const eol = buffer.indexOf('\r\n');
  if (eol < 0) {
    if (buffer.length > MAX_LINE_BYTES) throw new RedisError('malformed reply: line too long');
    return undefined;
  }
  const line = buffer.subarray(1, eol).toString('utf8');
  switch (buffer[0]) {
    case 0x2b: // +
      return { reply: { kind: 'status', text: line }, used: eol + 2 };
    case 0x2d: // -
      return { reply: { kind: 'error', text: line }, used: eol + 2 };
    case 0x3a: // :
      return { reply: { kind: 'integer', value: Number(line) }, used: eol + 2 };
    case 0x24: {
      // $
      const length = Number(line);
      if (length === -1) return { reply: { kind: 'bulk', text: null }, used: eol + 2 };
      if (!Number.isInteger(length) || length < 0)
        throw new RedisError('malformed reply: bad bulk length');
      if (length > MAX_REPLY_BYTES)
        throw new RedisError(`reply of ${length} bytes is larger than the limit`);
      const end = eol + 2 + length;
      if (buffer.length < end + 2) return undefined;
      return {
        reply: { kind: 'bulk', text: buffer.subarray(eol + 2, end).toString('utf8') },
        used: end + 2,
      };
    }
    default:
      throw new RedisError('malformed reply: unexpected reply type');
  }
}

function openSocket(options: RedisOptions): Socket {
  if (options.socket !== undefined) return netConnect({ path: options.socket });
  const { host, port } = parseAddress(options.address) ?? { host: '127.0.0.1', port: 6379 };
  if (!options.tls) return netConnect({ host, port });
  // SNI takes a host name only; Node warns when it is given an IP address.
  return tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}) });
}

/** Sends the commands pipelined and reads one reply for each, bounded by the signal. */
function exchange(
  options: RedisOptions,
  commands: readonly (readonly string[])[],
  signal: AbortSignal,
): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new RedisError('timed out'));
    const socket = openSocket(options);
    const replies: Reply[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    let done = false;
    let connected = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('data');
      socket.on('error', () => {});
      socket.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const onAbort = () => finish(new RedisError('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once(options.tls && options.socket === undefined ? 'secureConnect' : 'connect', () => {
      connected = true;
      socket.write(Buffer.concat(commands.map(encodeCommand)));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      try {
        for (let parsed = parseReply(buffer); parsed; parsed = parseReply(buffer)) {
          replies.push(parsed.reply);
          buffer = buffer.subarray(parsed.used);
          if (replies.length === commands.length) return finish();
          if (buffer.length === 0) break;
        }
        if (buffer.length > MAX_REPLY_BYTES + MAX_LINE_BYTES)
          finish(new RedisError('reply is larger than the limit'));
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const stage = connected ? 'read' : 'connect';
      finish(new RedisError(`${stage}: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.once('close', () => finish(new RedisError('connection closed before the reply')));
  });
}

/** Server errors do not echo the password, but a reply must never be the way one leaks. */
function redact(text: string, password: Secret | undefined): string {
  const value = password?.reveal();
  return value ? text.split(value).join('<secret>') : text;
}

function authError(reply: Reply & { kind: 'error' }, options: RedisOptions): RedisError {
  const text = redact(reply.text, options.password);
  if (text.startsWith('NOAUTH'))
    return new RedisError('authentication required: set password (and username for an ACL user)');
  if (text.startsWith('WRONGPASS') || /invalid (username-)?password/i.test(text))
    return new RedisError(`authentication failed: ${text}`);
  return new RedisError(`server error: ${text}`);
}

async function readInfo(options: RedisOptions, signal: AbortSignal): Promise<string> {
  const commands: string[][] = [];
  if (options.password !== undefined) {
    commands.push(
      options.username !== undefined
        ? ['AUTH', options.username, options.password.reveal()]
        : ['AUTH', options.password.reveal()],
    );
  }
  commands.push(['INFO']);
  const replies = await exchange(options, commands, signal);
  for (const reply of replies) if (reply.kind === 'error') throw authError(reply, options);
  const info = replies[replies.length - 1];
  if (info?.kind !== 'bulk' || info.text === null) throw new RedisError('unexpected reply to INFO');
  return info.text;
}

// ---------------------------------------------------------------------------------------------
// INFO parsing: pure functions from the text to samples.

/** INFO fields that map one to one onto a series. */
const FIELDS: Record<string, { name: string; type: SampleType }> = {
  uptime_in_seconds: { name: 'redis_uptime_seconds', type: 'gauge' },
  connected_clients: { name: 'redis_connected_clients', type: 'gauge' },
  blocked_clients: { name: 'redis_blocked_clients', type: 'gauge' },
  used_memory: { name: 'redis_memory_used_bytes', type: 'gauge' },
  maxmemory: { name: 'redis_memory_max_bytes', type: 'gauge' },
  mem_fragmentation_ratio: { name: 'redis_memory_fragmentation_ratio', type: 'gauge' },
  rdb_changes_since_last_save: { name: 'redis_rdb_changes_since_last_save', type: 'gauge' },
  aof_enabled: { name: 'redis_aof_enabled', type: 'gauge' },
  total_connections_received: { name: 'redis_connections_received_total', type: 'counter' },
  total_commands_processed: { name: 'redis_commands_processed_total', type: 'counter' },
  instantaneous_ops_per_sec: { name: 'redis_instantaneous_ops_per_second', type: 'gauge' },
  total_net_input_bytes: { name: 'redis_net_input_bytes_total', type: 'counter' },
  total_net_output_bytes: { name: 'redis_net_output_bytes_total', type: 'counter' },
  rejected_connections: { name: 'redis_rejected_connections_total', type: 'counter' },
  expired_keys: { name: 'redis_expired_keys_total', type: 'counter' },
  evicted_keys: { name: 'redis_evicted_keys_total', type: 'counter' },
  keyspace_hits: { name: 'redis_keyspace_hits_total', type: 'counter' },
  keyspace_misses: { name: 'redis_keyspace_misses_total', type: 'counter' },
  connected_slaves: { name: 'redis_connected_replicas', type: 'gauge' },
  master_repl_offset: { name: 'redis_master_repl_offset_bytes', type: 'gauge' },
};

/** The key:value lines of INFO; section headers, blank and malformed lines are skipped. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** "keys=1,expires=0,avg_ttl=0" → { keys: '1', … } */
function parsePairs(value: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) pairs.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return pairs;
}

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

export function infoSamples(text: string): RawSample[] {
  const fields = parseInfo(text);
  const samples: RawSample[] = [];
  const add = (name: string, value: number | undefined, type: SampleType, labels = {}) => {
    if (value !== undefined) samples.push({ name, labels, value, type });
  };
  for (const [key, value] of fields) {
    const field = FIELDS[key];
    if (field) add(field.name, toNumber(value), field.type);
    if (/^db\d+$/.test(key)) {
      const pairs = parsePairs(value);
      add('redis_db_keys', toNumber(pairs.get('keys')), 'gauge', { db: key });
      add('redis_db_expiring_keys', toNumber(pairs.get('expires')), 'gauge', { db: key });
    }
  }
  const bgsave = fields.get('rdb_last_bgsave_status');
  if (bgsave !== undefined) add('redis_rdb_last_bgsave_ok', bgsave === 'ok' ? 1 : 0, 'gauge');
  samples.push(...replicationSamples(fields));
  return samples;
}

function replicationSamples(fields: Map<string, string>): RawSample[] {
  const role = fields.get('role');
  if (role === undefined) return [];
  const replica = role === 'slave' || role === 'replica';
  const gauge = (name: string, value: number, labels: Record<string, string> = {}): RawSample => ({
    name,
    labels,
    value,
    type: 'gauge',
  });
  // Both roles always, so that a failover shows as one series going to 0 and the other to 1.
  const samples = [
    gauge('redis_role', replica ? 0 : 1, { role: 'master' }),
    gauge('redis_role', replica ? 1 : 0, { role: 'replica' }),
  ];
  const ownOffset = toNumber(fields.get('master_repl_offset'));
  if (replica) {
    const link = fields.get('master_link_status');
    if (link !== undefined) samples.push(gauge('redis_master_link_up', link === 'up' ? 1 : 0));
    const applied = toNumber(fields.get('slave_repl_offset'));
    if (ownOffset !== undefined && applied !== undefined)
      samples.push(gauge('redis_replication_lag_bytes', Math.max(0, ownOffset - applied)));
    // -1 while the link is down: no meaningful age then.
    const lastIo = toNumber(fields.get('master_last_io_seconds_ago'));
    if (lastIo !== undefined && lastIo >= 0)
      samples.push(gauge('redis_master_last_io_seconds', lastIo));
  }
  // A replica lists its own replicas too when they are chained.
  for (const [key, value] of fields) {
    if (!/^slave\d+$/.test(key)) continue;
    const pairs = parsePairs(value);
    const ip = pairs.get('ip');
    const port = pairs.get('port');
    if (ip === undefined || port === undefined) continue;
    const labels = { replica: `${ip}:${port}` };
    const offset = toNumber(pairs.get('offset'));
    if (ownOffset !== undefined && offset !== undefined)
      samples.push(gauge('redis_replica_lag_bytes', Math.max(0, ownOffset - offset), labels));
    const lag = toNumber(pairs.get('lag'));
    if (lag !== undefined && lag >= 0)
      samples.push(gauge('redis_replica_lag_seconds', lag, labels));
    samples.push(gauge('redis_replica_online', pairs.get('state') === 'online' ? 1 : 0, labels));
  }
  return samples;
}

export const redisSource: SourceDefinition<typeof redisOptions> = {
  type: 'redis',
  options: redisOptions,
  create(options, deps) {
    // Checked here rather than with a refine on the schema, which would stop the agent from
    // extending it with the common keys (zod refuses to extend a refined object).
    if (options.username !== undefined && options.password === undefined)
      throw new RedisError(
        'redis: username is set without password: expected both (AUTH needs both)',
      );
    const target = options.socket ?? options.address;
    return {
      name: deps.name,
      type: 'redis',
      async collect(ctx: SourceContext) {
        let text: string;
        try {
          text = await readInfo(options, ctx.signal);
        } catch (err) {
          const message = redact((err as Error).message, options.password);
          throw new RedisError(`redis ${target}: ${message}`, { cause: err });
        }
        return { samples: infoSamples(text) };
      },
    };
  },
};
