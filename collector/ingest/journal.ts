// The ingester's journal: before an insert, which stream messages it holds and under which
// deduplication token. A redelivered message is stored again as part of the same group under the
// same token, so ClickHouse drops it if the first insert committed and stores it if it did not.

import { createHash } from 'node:crypto';
import { TABLES } from '../../core/conventions.ts';
import { ident, param, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';

export interface JournalEntry {
  stream: string;
  token: string;
  /** Stream sequences of the messages in the insert, ascending. */
  members: number[];
}

/** A token names the stream and, through a hash, exactly the messages of the insert. */
export function groupToken(stream: string, members: readonly number[]): string {
  const hash = createHash('sha256').update(members.join(',')).digest('hex').slice(0, 24);
  return `${stream}:${members[0] ?? 0}+${members.length}:${hash}`;
}

function table(store: Store): string {
  return `${store.database}.${TABLES.ingestJournal}`;
}

/** Records the entry; the insert it describes may only start once this has returned. */
export async function recordGroup(store: Store, entry: JournalEntry): Promise<void> {
  const first = entry.members[0] ?? 0;
  const last = entry.members[entry.members.length - 1] ?? 0;
  try {
    await store.command(
      sql`INSERT INTO ${ident(table(store))} (stream, token, first_seq, last_seq, members)
          VALUES (${entry.stream}, ${entry.token}, ${param(first, 'UInt64')}, ${param(last, 'UInt64')},
                  ${param(entry.members, 'Array(UInt64)')})`,
    );
  } catch (err) {
    throw storeError(`record an insert of ${entry.members.length} messages in the journal`, err);
  }
}

/**
 * The latest entry holding each of the given sequences. A sequence may be in more than one entry
 * when a group the store refused was split; the later entry is the one that was inserted since.
 */
export async function lookupGroups(
  store: Store,
  stream: string,
  seqs: readonly number[],
): Promise<Map<number, JournalEntry>> {
  const found = new Map<number, JournalEntry>();
  if (seqs.length === 0) return found;
  const min = Math.min(...seqs);
  const max = Math.max(...seqs);
  let rows: Array<{ token: string; members: Array<string | number> }>;
  try {
    rows = await store.query(
      sql`SELECT token, members FROM ${ident(table(store))}
          WHERE stream = ${stream} AND last_seq >= ${param(min, 'UInt64')} AND first_seq <= ${param(max, 'UInt64')}
            AND hasAny(members, ${param(seqs, 'Array(UInt64)')})
          ORDER BY written, token`,
    );
  } catch (err) {
    throw storeError(`look up ${seqs.length} redelivered messages in the journal`, err);
  }
  const wanted = new Set(seqs);
  for (const row of rows) {
    const entry: JournalEntry = { stream, token: row.token, members: row.members.map(Number) };
    // Rows come oldest first: a later entry replaces an earlier one.
    for (const seq of entry.members) if (wanted.has(seq)) found.set(seq, entry);
  }
  return found;
}

/** The highest sequence any entry of the stream holds: messages up to it may have been stored. */
export async function journalWatermark(store: Store, stream: string): Promise<number> {
  try {
    const [row] = await store.query<{ last: string | number }>(
      sql`SELECT max(last_seq) AS last FROM ${ident(table(store))} WHERE stream = ${stream}`,
    );
    return Number(row?.last ?? 0);
  } catch (err) {
    throw storeError('read the journal', err);
  }
}
