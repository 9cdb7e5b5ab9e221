// The in-memory copy of the silence bucket that one replica reads from: fed by its own writes and
// by the bucket's watch, ordered by KV revision so that a late echo never undoes a newer change.

import type { Matcher } from '../slo/model.ts';
import { compileMatcher, type LabelSet } from './matcher.ts';
import { silenceState, type Silence, type SilenceState, type SilenceWithState } from './model.ts';

interface Held {
  silence: Silence;
  revision: number;
  tests: ((labels: LabelSet) => boolean)[];
}

const ORDER: Record<SilenceState, number> = { active: 0, pending: 1, expired: 2 };

/** Active ones ending soonest first, then pending ones starting soonest, then the latest expired. */
function compare(a: SilenceWithState, b: SilenceWithState): number {
  if (a.state !== b.state) return ORDER[a.state] - ORDER[b.state];
  if (a.state === 'active') return a.endsAt - b.endsAt || a.id.localeCompare(b.id);
  if (a.state === 'pending') return a.startsAt - b.startsAt || a.id.localeCompare(b.id);
  return b.endsAt - a.endsAt || a.id.localeCompare(b.id);
}

export class SilenceCopy {
  readonly #silences = new Map<string, Held>();
  /**
   * Revisions of silences removed here before the watch delivered their removal, so that the
   * older value, still on its way through the watch, does not bring them back.
   */
  readonly #removed = new Map<string, number>();

  /** The revision this copy holds for a silence id (also for a removed one), or 0. */
  revision(id: string): number {
    return this.#silences.get(id)?.revision ?? this.#removed.get(id) ?? 0;
  }

  /** Takes a silence at a revision; an older revision than the one held is ignored. */
  put(silence: Silence, revision: number): void {
    if (revision <= this.revision(silence.id)) return;
    this.#removed.delete(silence.id);
    const tests = silence.matchers.map((m: Matcher) => compileMatcher(m));
    this.#silences.set(silence.id, { silence, revision, tests });
  }

  /** Drops a silence removed at `revision`, or whose value at `revision` is not valid. */
  remove(id: string, revision: number): void {
    if (revision < this.revision(id)) return;
    this.#silences.delete(id);
    this.#removed.set(id, revision);
  }

  /**
   * The watch delivered the removal marker of `id`: nothing older of that key can follow, so the
   * id need not be remembered any longer.
   */
  settled(id: string, revision: number): void {
    if (revision >= this.revision(id)) {
      this.#silences.delete(id);
      this.#removed.delete(id);
    }
  }

  get(id: string, at: number): SilenceWithState | undefined {
    const held = this.#silences.get(id);
    return held && { ...held.silence, state: silenceState(held.silence, at) };
  }

  /** Silences with their revision, for pruning with compare-and-set. */
  held(): { silence: Silence; revision: number }[] {
    return [...this.#silences.values()].map(({ silence, revision }) => ({ silence, revision }));
  }

  list(at: number, state?: SilenceState): SilenceWithState[] {
    const all: SilenceWithState[] = [];
    for (const { silence } of this.#silences.values()) {
      const current = silenceState(silence, at);
      if (state === undefined || state === current) all.push({ ...silence, state: current });
    }
    return all.sort(compare);
  }

  /** Ids, sorted, of the silences active at `at` whose every matcher matches `labels`. */
  silencedBy(labels: LabelSet, at: number): string[] {
    const ids: string[] = [];
    for (const { silence, tests } of this.#silences.values()) {
      if (at < silence.startsAt || at >= silence.endsAt) continue;
      if (tests.every((test) => test(labels))) ids.push(silence.id);
    }
    return ids.sort();
  }

  get size(): number {
    return this.#silences.size;
  }
}
