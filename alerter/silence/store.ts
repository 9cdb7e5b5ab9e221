// Silences shared by every alerter replica: one NATS KV key per silence (`s.<id>`), and a watched
// in-memory copy that answers silencedBy() without a round trip.

import { randomUUID } from 'node:crypto';
import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Bucket, Kvm, type KV, type KvEntry, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/nats-core';
import { BusError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { SilenceCopy } from './copy.ts';
import { storeSettings, type SilenceStoreOptions, type SilenceStoreSettings } from './options.ts';
import { SilenceExpiredError, SilenceNotFoundError, SilenceValidationError } from './errors.ts';
import { formatMatchers, type LabelSet } from './matcher.ts';
import {
  isoTime,
  parseSilence,
  parseSilenceInput,
  silenceState,
  type Silence,
  type SilenceInput,
  type SilenceState,
  type SilenceWithState,
} from './model.ts';

const KEY_PREFIX = 's.';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
/** A compare-and-set that lost to another replica is retried this many times in all. */
const ATTEMPTS = 3;

/** The server refused a compare-and-set: the key is not at the revision we named. */
function isWrongSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** The key of a silence; an id that is not a UUID could name a wildcard or another key. */
function keyOf(id: string): string {
  if (!UUID.test(id)) {
    throw new SilenceValidationError(`silence id ${JSON.stringify(id)}: expected a UUID`);
  }
  return `${KEY_PREFIX}${id.toLowerCase()}`;
}

function decode(entry: KvEntry): Silence {
  let value: unknown;
  try {
    value = entry.json();
  } catch (err) {
    throw new SilenceValidationError(`silence ${entry.key}: not JSON`, { cause: err });
  }
  const silence = parseSilence(value);
  if (`${KEY_PREFIX}${silence.id}` !== entry.key) {
    throw new SilenceValidationError(`silence ${entry.key}: holds the id ${silence.id}`);
  }
  return silence;
}

/**
 * Alertmanager-style silences in a NATS KV bucket (nats-server 2.9+: plain keys, compare-and-set
 * and purges, no per-message TTLs).
 *
 * Consistency: create, expire and prune write to NATS; expire and prune are compare-and-set on
 * the key's revision, so two replicas expiring or pruning one silence at once cannot overwrite
 * each other. get, list and silencedBy read this replica's copy, which holds its own writes as
 * soon as NATS acknowledged them and other replicas' writes once the watch delivers them: within
 * milliseconds normally, and after a disconnection as soon as the connection is back (the watch
 * resumes where it stopped). Until then a silence made on another replica may not yet mute an
 * alert here. open() returns only once the copy has caught up with the bucket.
 */
export class SilenceStore {
  readonly #kv: KV;
  readonly #nc: NatsConnection;
  readonly #settings: SilenceStoreSettings;
  readonly #log: Logger;
  readonly #copy = new SilenceCopy();
  #watch: QueuedIterator<KvWatchEntry> | undefined;
  #following: Promise<void> = Promise.resolve();
  #closed = false;
  #caughtUp = false;
  #onCaughtUp: () => void = () => undefined;
  #restartTimer: NodeJS.Timeout | undefined;

  private constructor(kv: KV, nc: NatsConnection, settings: SilenceStoreSettings, logger: Logger) {
    this.#kv = kv;
    this.#nc = nc;
    this.#settings = settings;
    this.#log = logger.child({ module: 'silences', bucket: settings.bucket });
  }

  /** Creates the bucket or binds to it, and loads the copy. Throws a BusError when NATS refuses. */
  static async open(options: SilenceStoreOptions): Promise<SilenceStore> {
    const settings = storeSettings(options);
    let kv: KV;
    try {
      kv = await new Kvm(jetstream(options.nc)).create(settings.bucket, {
        history: 1,
        replicas: settings.replicas,
        description: 'Halo alerter silences',
      });
    } catch (err) {
      throw new BusError(`silence bucket ${settings.bucket}: ${errorMessage(err)}`, { cause: err });
    }
    const store = new SilenceStore(kv, options.nc, settings, options.logger);
    await store.#load();
    return store;
  }

  /**
   * Validates (at run time too: input may come from an API) and stores a new silence. A startsAt
   * before `now` becomes `now`, as in Alertmanager: a silence cannot mute the past.
   */
  async create(input: SilenceInput, now: number = Date.now()): Promise<SilenceWithState> {
    const given = parseSilenceInput(input);
    const startsAt = Math.max(given.startsAt ?? now, now);
    if (given.endsAt <= now) {
      throw new SilenceValidationError(
        `silence endsAt: must be in the future (endsAt ${isoTime(given.endsAt)}, now ${isoTime(now)})`,
      );
    }
    const silence: Silence = {
      id: randomUUID(),
      matchers: given.matchers,
      startsAt,
      endsAt: given.endsAt,
      createdBy: given.createdBy,
      comment: given.comment,
      createdAt: now,
      updatedAt: now,
    };
    let revision: number;
    try {
      revision = await this.#kv.create(keyOf(silence.id), JSON.stringify(silence));
    } catch (err) {
      throw new BusError(`create silence: ${errorMessage(err)}`, { cause: err });
    }
    this.#copy.put(silence, revision);
    this.#log.info(
      { id: silence.id, matchers: formatMatchers(silence.matchers), createdBy: silence.createdBy },
      'silence created',
    );
    return { ...silence, state: silenceState(silence, now) };
  }

  /** A silence with its state at `at`, or undefined when no silence has this id. */
  get(id: string, at: number = Date.now()): SilenceWithState | undefined {
    return UUID.test(id) ? this.#copy.get(id.toLowerCase(), at) : undefined;
  }

  /** All silences (or those in one state) at `at`: active, then pending, then expired ones. */
  list(options: { state?: SilenceState; at?: number } = {}): SilenceWithState[] {
    return this.#copy.list(options.at ?? Date.now(), options.state);
  }

  /** Ids of the silences active at `at` whose matchers all match `labels` (a missing label is ''). */
  silencedBy(labels: LabelSet, at: number = Date.now()): string[] {
    return this.#copy.silencedBy(labels, at);
  }

  /**
   * Ends a pending or active silence at `now`; the silence stays in the bucket, expired, for
   * audit. Throws SilenceNotFoundError or SilenceExpiredError, and BusError when NATS refuses.
   */
  async expire(id: string, now: number = Date.now()): Promise<SilenceWithState> {
    const key = keyOf(id);
    for (let attempt = 1; ; attempt += 1) {
      let entry: KvEntry | null;
      try {
        entry = await this.#kv.get(key);
      } catch (err) {
        throw new BusError(`expire silence ${id}: ${errorMessage(err)}`, { cause: err });
      }
      if (entry?.operation !== 'PUT') throw new SilenceNotFoundError(`silence ${id} not found`);
      const current = decode(entry);
      if (silenceState(current, now) === 'expired') {
        throw new SilenceExpiredError(
          `silence ${id} is already expired (it ended at ${isoTime(current.endsAt)})`,
        );
      }
      // A pending silence ends before it began: it never muted anything.
      const next = { ...current, startsAt: Math.min(current.startsAt, now), endsAt: now };
      next.updatedAt = now;
      try {
        const revision = await this.#kv.update(key, JSON.stringify(next), entry.revision);
        this.#copy.put(next, revision);
      } catch (err) {
        if (isWrongSequence(err) && attempt < ATTEMPTS) continue; // changed meanwhile: look again
        throw new BusError(`expire silence ${id}: ${errorMessage(err)}`, { cause: err });
      }
      this.#log.info({ id, matchers: formatMatchers(next.matchers) }, 'silence expired');
      return { ...next, state: 'expired' };
    }
  }

  /**
   * Purges the silences that ended at least retentionMs before `now`, then the markers of earlier
   * purges older than markerRetentionMs (by the clock). Returns the ids purged. Meant to run now
   * and then on one replica (the leader), but safe on several.
   */
  async prune(now: number = Date.now()): Promise<string[]> {
    const cutoff = now - this.#settings.retentionMs;
    const purged: string[] = [];
    for (const { silence, revision } of this.#copy.held()) {
      if (silence.endsAt > cutoff) continue;
      try {
        await this.#kv.purge(keyOf(silence.id), { previousSeq: revision });
      } catch (err) {
        if (isWrongSequence(err)) continue; // changed meanwhile; the next prune looks again
        throw new BusError(`prune silence ${silence.id}: ${errorMessage(err)}`, { cause: err });
      }
      this.#copy.remove(silence.id, revision);
      purged.push(silence.id);
    }
    if (this.#kv instanceof Bucket) {
      try {
        await this.#kv.purgeDeletes(this.#settings.markerRetentionMs);
      } catch (err) {
        throw new BusError(`prune silence markers: ${errorMessage(err)}`, { cause: err });
      }
    }
    if (purged.length > 0) {
      this.#log.info({ count: purged.length, ids: purged }, 'expired silences pruned');
    }
    return purged;
  }

  /** Stops the watch; the connection stays open (its owner closes it). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#watch?.stop();
    await this.#following;
  }

  /** Starts the watch and waits until it delivered every key the bucket held at its start. */
  async #load(): Promise<void> {
    const caughtUp = new Promise<void>((resolve) => {
      this.#onCaughtUp = resolve;
    });
    try {
      await this.#startWatch();
      // An empty bucket delivers nothing to say it is done; a write since then would (delta 0).
      if ((await this.#kv.status()).values === 0) this.#markCaughtUp();
    } catch (err) {
      await this.close();
      throw new BusError(`silence bucket ${this.#settings.bucket}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#settings.loadTimeoutMs);
    });
    const outcome = await Promise.race([caughtUp, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      await this.close();
      throw new BusError(
        `silence bucket ${this.#settings.bucket}: the silences did not load within ${this.#settings.loadTimeoutMs} ms`,
      );
    }
  }

  async #startWatch(): Promise<void> {
    const watch = await this.#kv.watch();
    this.#watch = watch;
    this.#following = this.#follow(watch);
  }

  async #follow(watch: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const entry of watch) this.#apply(entry);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'silence watch failed');
    }
    if (this.#closed) return;
    if (this.#nc.isClosed()) {
      this.#log.warn('silence watch ended: the NATS connection is closed; silences may be stale');
      return;
    }
    this.#log.warn('silence watch ended; restarting it');
    this.#restart(1000);
  }

  #restart(delayMs: number): void {
    this.#restartTimer = setTimeout(() => {
      if (this.#closed) return;
      this.#startWatch().catch((err: unknown) => {
        this.#log.warn({ err: errorMessage(err) }, 'silence watch restart failed; trying again');
        this.#restart(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    this.#restartTimer.unref();
  }

  #apply(entry: KvWatchEntry): void {
    if (entry.key.startsWith(KEY_PREFIX)) {
      const id = entry.key.slice(KEY_PREFIX.length);
      if (entry.operation !== 'PUT') {
        this.#copy.settled(id, entry.revision);
      } else if (entry.revision > this.#copy.revision(id)) {
        try {
          this.#copy.put(decode(entry), entry.revision);
        } catch (err) {
          this.#copy.remove(id, entry.revision);
          this.#log.warn({ key: entry.key, err: errorMessage(err) }, 'ignoring an invalid silence');
        }
      }
    }
    if (entry.delta === 0) this.#markCaughtUp();
  }

  #markCaughtUp(): void {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#onCaughtUp();
  }
}
