// Leader lease for alerter replicas: a NATS KV key, compare-and-set, freed by the bucket's max age.

import { randomUUID } from 'node:crypto';
import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { BusError, ConfigError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

export interface LeaseOptions {
  nc: NatsConnection;
  /** @default 'halo_alerter_lease' */
  bucket?: string;
  /** @default 'leader' */
  key?: string;
  /** A lease not renewed for this long is free: the bucket's max age. At least 300. */
  ttlMs: number;
  /** This replica's id (e.g. hostname:pid:random), shown by holder(). */
  holder: string;
  /** Acquisitions and losses are logged at info, NATS failures at warn. */
  logger: Logger;
  /** Replicas of the KV bucket. @default 1 */
  replicas?: number;
}

/**
 * nats-server refuses a max age under 100 ms; below ~300 ms a tick (ttl/3) leaves no room for
 * a round trip, so such a lease would flap.
 */
export const MIN_LEASE_TTL_MS = 300;

const DEFAULTS = { bucket: 'halo_alerter_lease', key: 'leader', replicas: 1 } as const;

/** What the key holds. `session` tells this Lease object's own writes from any other's. */
interface LeaseValue {
  holder: string;
  since: number;
  session: string;
}

function decode(entry: KvEntry): LeaseValue {
  try {
    const value = entry.json<Partial<LeaseValue>>();
    if (typeof value.holder === 'string' && typeof value.since === 'number') {
      return { holder: value.holder, since: value.since, session: String(value.session ?? '') };
    }
  } catch {
    // Written by someone else than a Lease: still a holder, just not one we can name.
  }
  return { holder: entry.string().slice(0, 200), since: entry.created.getTime(), session: '' };
}

/** The server refused a compare-and-set: the key is not at the revision we named. */
function isWrongSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function validate(options: LeaseOptions): Required<Omit<LeaseOptions, 'nc' | 'logger'>> {
  const { ttlMs, holder } = options;
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_LEASE_TTL_MS) {
    throw new ConfigError(
      `lease: ttlMs must be a whole number of milliseconds >= ${MIN_LEASE_TTL_MS}, got ${String(ttlMs)}`,
    );
  }
  if (typeof holder !== 'string' || holder.trim() === '') {
    throw new ConfigError(
      `lease: holder must be a non-empty replica id, got ${JSON.stringify(holder)}`,
    );
  }
  const replicas = options.replicas ?? DEFAULTS.replicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new ConfigError(`lease: replicas must be a whole number from 1 to 5, got ${replicas}`);
  }
  return {
    bucket: options.bucket ?? DEFAULTS.bucket,
    key: options.key ?? DEFAULTS.key,
    ttlMs,
    holder,
    replicas,
  };
}

/**
 * A leader lease shared by replicas through a NATS KV key. Works on nats-server 2.9+: it relies
 * only on the bucket's max age and on compare-and-set writes, not on per-message TTLs.
 */
export class Lease {
  readonly #kv: KV;
  readonly #key: string;
  readonly #ttlMs: number;
  /** How long a renewal counts, from the moment it was sent; the rest of the ttl is the margin. */
  readonly #validMs: number;
  readonly #holder: string;
  readonly #session = randomUUID();
  readonly #log: Logger;

  /** The key's revision as we last wrote it; kept across a failed tick to resume the lease. */
  #revision: number | undefined;
  #since = 0;
  /** performance.now() when the last successful write was sent. */
  #renewedAt = Number.NEGATIVE_INFINITY;
  #held = false;
  #why = '';
  #failures = 0;
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #onChange: ((leading: boolean) => void) | undefined;
  #reported = false;

  private constructor(kv: KV, settings: ReturnType<typeof validate>, logger: Logger) {
    this.#kv = kv;
    this.#key = settings.key;
    this.#ttlMs = settings.ttlMs;
    this.#validMs = Math.floor((settings.ttlMs * 2) / 3);
    this.#holder = settings.holder;
    this.#log = logger.child({ module: 'lease', bucket: settings.bucket, key: settings.key });
  }

  /**
   * Creates the bucket, or binds to it when it exists. Throws a BusError when NATS refuses, or
   * when the bucket exists with another ttl: replicas that disagree on the ttl could both lead.
   */
  static async open(options: LeaseOptions): Promise<Lease> {
    const settings = validate(options);
    const { bucket, ttlMs } = settings;
    let existing: number;
    try {
      const kv = await new Kvm(jetstream(options.nc)).create(bucket, {
        ttl: ttlMs,
        history: 1,
        replicas: settings.replicas,
        description: 'Halo alerter leader lease',
      });
      existing = (await kv.status()).ttl;
    } catch (err) {
      throw new BusError(`lease bucket ${bucket}: ${errorMessage(err)}`, { cause: err });
    }
    if (existing !== ttlMs) {
      throw new BusError(
        `lease bucket ${bucket} exists with ttl ${existing} ms but this replica asks for ${ttlMs} ms: ` +
          `give every replica the same ttl, or delete the bucket (nats kv del ${bucket}) to recreate it`,
      );
    }
    // Lease writes get a short timeout: a renewal that hangs past a tick is as good as refused.
    const timeout = Math.min(5000, Math.floor(ttlMs / 3));
    const kv = await new Kvm(jetstream(options.nc, { timeout, checkAPI: false })).open(bucket);
    return new Lease(kv, settings, options.logger);
  }

  /** True while the last renewal is younger than 2/3 of the ttl; false once stopped. */
  get leading(): boolean {
    return this.#held && performance.now() - this.#renewedAt < this.#validMs;
  }

  /**
   * Takes the lease when free, renews it when held; returns whether this replica leads now.
   * Never throws: a lost race, a refused renewal or a NATS error all give false.
   */
  async tick(): Promise<boolean> {
    const run = this.#queue.then(() => this.#tick());
    this.#queue = run;
    return run;
  }

  /** Who holds the lease now (holder id and since when, epoch ms), or undefined when free. */
  async holder(): Promise<{ holder: string; since: number } | undefined> {
    let entry: KvEntry | null;
    try {
      entry = await this.#kv.get(this.#key);
    } catch (err) {
      throw new BusError(`lease holder: ${errorMessage(err)}`, { cause: err });
    }
    if (!entry || entry.operation !== 'PUT') return undefined;
    const { holder, since } = decode(entry);
    return { holder, since };
  }

  /** Starts ticking every ttl/3 in the background; onChange(leading) when leadership changes. */
  start(onChange?: (leading: boolean) => void): void {
    if (this.#stopped || this.#timer) return;
    this.#onChange = onChange;
    const period = Math.floor(this.#ttlMs / 3);
    const loop = () => {
      const began = performance.now();
      void this.tick().then(() => {
        if (this.#stopped) return;
        // Fixed rate, so a slow round trip does not push the next renewal out of the margin.
        this.#timer = setTimeout(loop, Math.max(0, period - (performance.now() - began)));
        this.#timer.unref();
      });
    };
    this.#timer = setTimeout(loop, 0);
    this.#timer.unref();
  }

  /** Stops ticking and releases the lease if held, so that another replica takes over at once. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#queue;
    const revision = this.#revision;
    this.#revision = undefined;
    // Stop believing first, release second: never lead while another replica may already.
    this.#held = false;
    this.#why = 'stopped';
    this.#settle();
    clearTimeout(this.#deadline);
    if (revision === undefined) return;
    try {
      await this.#kv.delete(this.#key, { previousSeq: revision });
      this.#log.info({ holder: this.#holder }, 'lease released');
    } catch (err) {
      if (isWrongSequence(err)) return; // someone else has it already
      this.#log.warn(
        { err: errorMessage(err), ttlMs: this.#ttlMs },
        'lease release failed; it frees itself after the ttl',
      );
    }
  }

  async #tick(): Promise<boolean> {
    if (this.#stopped) return false;
    const sentAt = performance.now();
    try {
      const revision = await this.#write();
      if (this.#failures > 0) {
        this.#log.info({ failures: this.#failures }, 'lease bucket reachable again');
        this.#failures = 0;
      }
      if (revision === undefined) {
        this.#held = false;
      } else {
        this.#revision = revision;
        this.#held = true;
        this.#renewedAt = sentAt;
        this.#why = 'not renewed within 2/3 of the ttl';
      }
    } catch (err) {
      // Keep #revision: if nobody wrote since, the next tick renews it and leads again.
      this.#held = false;
      this.#failures += 1;
      this.#why = `nats: ${errorMessage(err)}`;
      const fields = { err: errorMessage(err), failures: this.#failures };
      if (this.#failures === 1) this.#log.warn(fields, 'lease tick failed; not leading');
      else this.#log.debug(fields, 'lease tick failed again');
    }
    this.#settle();
    return this.leading;
  }

  /** Renews or takes the key; the new revision, or undefined when another replica holds it. */
  async #write(): Promise<number | undefined> {
    if (this.#revision !== undefined) {
      try {
        return await this.#kv.update(this.#key, this.#value(), this.#revision);
      } catch (err) {
        if (!isWrongSequence(err)) throw err;
        this.#revision = undefined;
        return this.#adopt();
      }
    }
    const since = Date.now();
    try {
      const revision = await this.#kv.create(this.#key, this.#value(since));
      this.#since = since;
      return revision;
    } catch (err) {
      if (!isWrongSequence(err)) throw err;
      return this.#adopt();
    }
  }

  /**
   * The key is not where we left it. It is still ours when a write of ours landed but its reply
   * was lost (a timeout); anything else means another replica holds it, or held it meanwhile.
   */
  async #adopt(): Promise<number | undefined> {
    const entry = await this.#kv.get(this.#key);
    if (entry?.operation !== 'PUT') {
      this.#why = 'lease released or deleted by someone else';
      return undefined;
    }
    const current = decode(entry);
    if (current.session !== this.#session) {
      this.#why = `held by ${current.holder}`;
      return undefined;
    }
    try {
      this.#since = current.since;
      return await this.#kv.update(this.#key, this.#value(), entry.revision);
    } catch (err) {
      if (!isWrongSequence(err)) throw err;
      this.#why = 'lost a race for the lease';
      return undefined;
    }
  }

  #value(since = this.#since): string {
    const value: LeaseValue = { holder: this.#holder, since, session: this.#session };
    return JSON.stringify(value);
  }

  /** Logs and reports a change of `leading`; while leading, wakes up when the renewal goes stale. */
  #settle(): void {
    clearTimeout(this.#deadline);
    const leading = this.leading;
    if (leading) {
      const left = this.#renewedAt + this.#validMs - performance.now();
      this.#deadline = setTimeout(() => this.#settle(), Math.max(0, left) + 1);
      this.#deadline.unref();
    }
    if (leading === this.#reported) return;
    this.#reported = leading;
    if (leading) {
      this.#log.info({ holder: this.#holder, since: this.#since }, 'lease acquired; leading');
    } else {
      this.#log.info({ holder: this.#holder, reason: this.#why }, 'lease lost; not leading');
    }
    try {
      this.#onChange?.(leading);
    } catch (err) {
      this.#log.error({ err: errorMessage(err) }, 'lease onChange callback threw');
    }
  }
}
