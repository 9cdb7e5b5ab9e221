// The notification log: what was last sent to each receiver integration for each alert group,
// kept in ClickHouse (notification_log) so a restarted or standby alerter does not send the same
// notification twice, and knows when a repeat is due.

import { TABLES } from '../../core/conventions.ts';
import { ident, param, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';

export type Outcome = 'sent' | 'failed' | 'gave_up';

/** One delivery of a group to one integration of a receiver. */
export interface NflogEntry {
  receiver: string;
  integration: string;
  groupKey: string;
  /** Fingerprints of the alerts notified as firing and as resolved, sorted. */
  firing: string[];
  resolved: string[];
  at: number;
}

const keyOf = (receiver: string, integration: string, groupKey: string) =>
  `${receiver}\u0000${integration}\u0000${groupKey}`;

const datetime = (ms: number) =>
  param(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''), "DateTime64(3, 'UTC')");

export class NotificationLog {
  readonly #store: Store;
  readonly #sent = new Map<string, NflogEntry>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Reads the last successful delivery of every group still within its retention at `at`. */
  async load(at: number): Promise<number> {
    let rows: Array<{
      receiver: string;
      integration: string;
      group_key: string;
      firing: string[];
      resolved: string[];
      at: string;
    }>;
    try {
      rows = await this.#store.query(
        sql`SELECT receiver, integration, group_key,
              argMax(arrayMap(x -> toString(x), firing_alerts), ts) AS firing,
              argMax(arrayMap(x -> toString(x), resolved_alerts), ts) AS resolved,
              toUnixTimestamp64Milli(max(ts)) AS at
            FROM ${ident(this.#store.table('notifications'))}
            WHERE outcome = 'sent' AND ts <= ${datetime(at)} AND expires_at > ${datetime(at)}
            GROUP BY receiver, integration, group_key`,
      );
    } catch (err) {
      throw storeError('read the notification log', err);
    }
    this.#sent.clear();
    for (const r of rows) {
      this.#sent.set(keyOf(r.receiver, r.integration, r.group_key), {
        receiver: r.receiver,
        integration: r.integration,
        groupKey: r.group_key,
        firing: r.firing,
        resolved: r.resolved,
        at: Number(r.at),
      });
    }
    return rows.length;
  }

  /** The last successful delivery of a group to an integration, if any. */
  last(receiver: string, integration: string, groupKey: string): NflogEntry | undefined {
    return this.#sent.get(keyOf(receiver, integration, groupKey));
  }

  /**
   * Records a delivery attempt (every outcome, for the audit); a sent one becomes the last.
   * `retentionMs` is how long it matters (at least the group's repeat interval).
   */
  async record(
    entry: NflogEntry,
    outcome: { outcome: Outcome; attempts: number; error?: string },
    retentionMs: number,
  ): Promise<void> {
    try {
      await this.#store.client.insert({
        table: `${this.#store.database}.${TABLES.notifications}`,
        format: 'JSONEachRow',
        values: [
          {
            ts: entry.at,
            receiver: entry.receiver,
            integration: entry.integration,
            group_key: entry.groupKey,
            firing_alerts: entry.firing,
            resolved_alerts: entry.resolved,
            outcome: outcome.outcome,
            attempts: outcome.attempts,
            error: outcome.error ?? '',
            expires_at: entry.at + retentionMs,
          },
        ],
      });
    } catch (err) {
      throw storeError(`record a notification to ${entry.receiver}`, err);
    }
    if (outcome.outcome === 'sent')
      this.#sent.set(keyOf(entry.receiver, entry.integration, entry.groupKey), entry);
  }
}
