// `halo silence add|list|expire`: silences in the alerters' NATS KV bucket, from the command line.

import { hostname, userInfo } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  formatMatchers,
  parseMatcher,
  SILENCE_STATES,
  SilenceExpiredError,
  SilenceNotFoundError,
  SilenceStore,
  SilenceValidationError,
  type SilenceState,
  type SilenceWithState,
} from '../alerter/silence/index.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { parseDuration } from '../core/units.ts';
import type { FullConfig } from './config-schema.ts';

export interface SilenceContext {
  config: FullConfig;
  logger: Logger;
  /** The clock, for tests. @default Date.now() */
  now?: number;
  /** The KV bucket, for tests. @default the alerter's ('halo_silences') */
  bucket?: string;
}

export interface SilenceAddOptions {
  duration?: string;
  end?: string;
  start?: string;
  comment?: string;
  author?: string;
}

export interface SilenceListOptions {
  state?: string;
  json?: boolean;
}

/** `$USER@hostname`, the author of a silence when --author is not given. */
export function defaultAuthor(env: NodeJS.ProcessEnv = process.env, host = hostname()): string {
  let user = env['USER'] ?? env['USERNAME'];
  if (user === undefined || user === '') {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${host}`;
}

/** The store's refusals are the user's to fix: one line and exit 2, like a config error. */
function asUsageError(err: unknown): unknown {
  if (
    err instanceof SilenceValidationError ||
    err instanceof SilenceNotFoundError ||
    err instanceof SilenceExpiredError
  ) {
    return new ConfigError(err.message, { cause: err });
  }
  return err;
}

function parseTime(option: string, text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw new ConfigError(
      `${option}: got ${JSON.stringify(text)}, expected an ISO 8601 time like 2026-11-01T08:00:00Z`,
    );
  }
  return ms;
}

/** Opens the bus and the silence store, runs `use`, and closes both whatever happens. */
async function withStore<T>(
  ctx: SilenceContext,
  use: (store: SilenceStore) => Promise<T> | T,
): Promise<T> {
  if (ctx.config.nats.url === undefined) {
    throw new ConfigError(
      'nats.url: missing: halo silence keeps silences in NATS KV (set nats.url or HALO_NATS_URL); ' +
        'with `halo up`, set nats.local.port (e.g. 4222: by default its nats-server takes a free port) ' +
        'and run HALO_NATS_URL=nats://127.0.0.1:4222 halo silence … (nats.url in halo.yaml would stop `halo up` starting its own server)',
    );
  }
  const nc: NatsConnection = await connectBus({ config: ctx.config, logger: ctx.logger });
  try {
    const store = await SilenceStore.open({
      nc,
      logger: ctx.logger,
      ...(ctx.bucket !== undefined ? { bucket: ctx.bucket } : {}),
    });
    try {
      return await use(store);
    } catch (err) {
      throw asUsageError(err);
    } finally {
      await store.close();
    }
  } finally {
    await nc.close();
  }
}

/** `halo silence add MATCHER… (--duration D | --end ISO) --comment TEXT`: prints the new id. */
export async function silenceAdd(
  ctx: SilenceContext,
  matcherArgs: readonly string[],
  options: SilenceAddOptions,
): Promise<string> {
  const now = ctx.now ?? Date.now();
  if (matcherArgs.length === 0) {
    throw new ConfigError('expected at least one matcher, like alertname="HostDown"');
  }
  let matchers;
  try {
    matchers = matcherArgs.map(parseMatcher);
  } catch (err) {
    throw asUsageError(err);
  }
  if (options.comment === undefined || options.comment.trim() === '') {
    throw new ConfigError(
      '--comment: missing: say why the silence exists (e.g. --comment "replacing the disk of db-1")',
    );
  }
  if ((options.duration === undefined) === (options.end === undefined)) {
    throw new ConfigError('expected either --duration (e.g. 2h) or --end (an ISO 8601 time)');
  }
  const startsAt = options.start !== undefined ? parseTime('--start', options.start) : undefined;
  let endsAt: number;
  if (options.duration !== undefined) {
    const ms = parseDuration(options.duration);
    if (ms === undefined || ms <= 0) {
      throw new ConfigError(
        `--duration: got ${JSON.stringify(options.duration)}, expected a duration like 2h or 1h30m`,
      );
    }
    endsAt = Math.max(startsAt ?? now, now) + ms;
  } else {
    endsAt = parseTime('--end', options.end!);
  }
  const createdBy = options.author ?? defaultAuthor();
  return withStore(ctx, async (store) => {
    const silence = await store.create(
      {
        matchers,
        ...(startsAt !== undefined ? { startsAt } : {}),
        endsAt,
        createdBy,
        comment: options.comment!,
      },
      now,
    );
    return `${silence.id}\n`;
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const oneLine = (text: string) => text.replace(/\s+/gu, ' ').trim();

/** Columns padded to their widest cell; the last one is not padded. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function jsonSilence(s: SilenceWithState) {
  return {
    id: s.id,
    state: s.state,
    matchers: s.matchers,
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

/** `halo silence list [--state S] [--json]`: active, then pending, then expired silences. */
export async function silenceList(
  ctx: SilenceContext,
  options: SilenceListOptions = {},
): Promise<string> {
  const now = ctx.now ?? Date.now();
  let state: SilenceState | undefined;
  if (options.state !== undefined) {
    if (!(SILENCE_STATES as readonly string[]).includes(options.state)) {
      throw new ConfigError(
        `--state: got ${JSON.stringify(options.state)}, expected one of ${SILENCE_STATES.join(', ')}`,
      );
    }
    state = options.state as SilenceState;
  }
  return withStore(ctx, (store) => {
    const silences = store.list({ at: now, ...(state !== undefined ? { state } : {}) });
    if (options.json) return `${JSON.stringify(silences.map(jsonSilence), null, 2)}\n`;
    if (silences.length === 0) return `no ${state !== undefined ? `${state} ` : ''}silences\n`;
    return table([
      ['ID', 'STATE', 'MATCHERS', 'STARTS', 'ENDS', 'AUTHOR', 'COMMENT'],
      ...silences.map((s) => [
        s.id,
        s.state,
        formatMatchers(s.matchers),
        iso(s.startsAt),
        iso(s.endsAt),
        oneLine(s.createdBy),
        oneLine(s.comment),
      ]),
    ]);
  });
}

/** `halo silence expire ID`: ends a pending or active silence now; it stays listed as expired. */
export async function silenceExpire(ctx: SilenceContext, id: string): Promise<string> {
  const now = ctx.now ?? Date.now();
  return withStore(ctx, async (store) => {
    const silence = await store.expire(id, now);
    return `silence ${silence.id} expired at ${iso(silence.endsAt)} (${formatMatchers(silence.matchers)})\n`;
  });
}
